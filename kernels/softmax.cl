// softmax.cl: softmax, log-softmax and log-sum-exp along one axis, fused and numerically stable.
//
// The host views x as lines x[o, r, i] = x[x_off + o*s_o + r*s_r + i*s_i] (r < n along the
// axis); one work-item handles one line j = o*n_inner + i (CPU rule: one work-item per row, a
// vector loop when the axis is contiguous; with a strided axis, neighbouring work-items take
// neighbouring inner elements so PoCL's work-item loop vectorises them).
// Three sweeps per line: the max m, then s = sum(exp(x - m)), then the output; the line is
// usually still in cache for the later sweeps, and each element needs only one exp.
//   softmax:     out = exp(x - m) / s      (exp stored by sweep 2, scaled by sweep 3)
//   log_softmax: out = (x - m) - log(s)
//   logsumexp:   out[j] = m + log(s)
// A line whose max is -inf (all -inf, fully masked) gives NaN for softmax and log_softmax
// (exp(-inf - -inf) = NaN, as numpy's exp(x - max) / sum and torch give) and -inf for
// logsumexp (like scipy and torch). A +inf max gives NaN for softmax/log_softmax and +inf for
// logsumexp. NaN anywhere in a line makes its results NaN.
// Options: -DREAL=float|double, -DVW (vector width: 16 for float, 8 for double),
// -DMODE=MODE_SOFTMAX|MODE_LOG_SOFTMAX|MODE_LOGSUMEXP.
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#include "lines.h"

#define MODE_SOFTMAX 0
#define MODE_LOG_SOFTMAX 1
#define MODE_LOGSUMEXP 2

#ifndef REAL
#define REAL float
#endif
#ifndef VW
#define VW 16
#endif
#ifndef MODE
#define MODE MODE_SOFTMAX
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define REAL_V CAT(REAL, VW)
#define VLOAD CAT(vload, VW)
#define VSTORE CAT(vstore, VW)

// Max of a line, ignoring NaN (fmax); a NaN still poisons the line through exp in sweep 2.
inline REAL line_max(__global const REAL *x, long start, long inc, long n) {
    REAL m = -INFINITY;
    long k = 0;
    if (inc == 1 && n >= VW) {
        __global const REAL *p = x + start;
        REAL_V mv = (REAL_V)(-INFINITY);
        long nv = n / VW;
        for (long v = 0; v < nv; ++v) {
            mv = fmax(mv, VLOAD(v, p));
        }
        REAL lanes[VW];
        VSTORE(mv, 0, lanes);
        for (int l = 0; l < VW; ++l) {
            m = fmax(m, lanes[l]);
        }
        k = nv * VW;
    }
    for (long idx = start + k * inc; k < n; ++k, idx += inc) {
        m = fmax(m, x[idx]);
    }
    return m;
}

// sum(exp(x - m)); with STORE, exp(x - m) is also written to out (softmax only).
inline REAL line_sumexp(__global const REAL *x, long start, long inc, long n, REAL m,
                        __global REAL *out, long ostart, long oinc, int store) {
    REAL s = (REAL)0;
    long k = 0;
    if (inc == 1 && oinc == 1 && n >= VW) {
        __global const REAL *p = x + start;
        __global REAL *q = out + ostart;
        REAL_V sv = (REAL_V)(0);
        long nv = n / VW;
        for (long v = 0; v < nv; ++v) {
            REAL_V e = exp(VLOAD(v, p) - (REAL_V)(m));
            if (store) {
                VSTORE(e, v, q);
            }
            sv += e;
        }
        REAL lanes[VW];
        VSTORE(sv, 0, lanes);
        for (int width = VW / 2; width > 0; width /= 2) {
            for (int l = 0; l < width; ++l) {
                lanes[l] += lanes[l + width];
            }
        }
        s = lanes[0];
        k = nv * VW;
    }
    long idx = start + k * inc;
    long odx = ostart + k * oinc;
    for (; k < n; ++k, idx += inc, odx += oinc) {
        REAL e = exp(x[idx] - m);
        if (store) {
            out[odx] = e;
        }
        s += e;
    }
    return s;
}

// out is contiguous: (n_outer, n, n_inner) for softmax/log_softmax, (n_outer, n_inner) for
// logsumexp.
__kernel void softmax_lines(__global const REAL *x, long x_off, long n_lines, long n_inner,
                            long s_o, long s_i, long n, long s_r, __global REAL *out,
                            long out_off) {
    long j = get_global_id(0);
    if (j >= n_lines) {
        return;
    }
    long start = line_start(j, n_inner, x_off, s_o, s_i);
    REAL m = line_max(x, start, s_r, n);
#if MODE == MODE_LOGSUMEXP
    if (isinf(m)) {
        out[out_off + j] = m;  // all -inf gives -inf; a +inf gives +inf
        return;
    }
    REAL s = line_sumexp(x, start, s_r, n, m, out, 0, 0, 0);
    out[out_off + j] = m + log(s);
#else
    long ostart = out_off + line_out(j, 0, n, n_inner);
    long oinc = n_inner;
#if MODE == MODE_SOFTMAX
    REAL s = line_sumexp(x, start, s_r, n, m, out, ostart, oinc, 1);
    REAL inv = (REAL)1 / s;
    long k = 0;
    if (oinc == 1 && n >= VW) {
        __global REAL *q = out + ostart;
        long nv = n / VW;
        for (long v = 0; v < nv; ++v) {
            VSTORE(VLOAD(v, q) * inv, v, q);
        }
        k = nv * VW;
    }
    for (long odx = ostart + k * oinc; k < n; ++k, odx += oinc) {
        out[odx] *= inv;
    }
#else
    REAL s = line_sumexp(x, start, s_r, n, m, out, 0, 0, 0);
    REAL log_s = log(s);  // (x - m) - log(s) is exact-er than x - (m + log(s)) near the max
    long k = 0;
    if (s_r == 1 && oinc == 1 && n >= VW) {
        __global const REAL *p = x + start;
        __global REAL *q = out + ostart;
        long nv = n / VW;
        for (long v = 0; v < nv; ++v) {
            VSTORE((VLOAD(v, p) - (REAL_V)(m)) - (REAL_V)(log_s), v, q);
        }
        k = nv * VW;
    }
    long idx = start + k * s_r;
    for (long odx = ostart + k * oinc; k < n; ++k, idx += s_r, odx += oinc) {
        out[odx] = (x[idx] - m) - log_s;
    }
#endif
#endif
}
