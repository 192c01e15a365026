// reduction.cl: reductions, arg-reductions, cumulative sums and nonzero over a strided view.
//
// The host views the input as x[o, r, i] = x[x_off + o*s_o + r*s_r + i*s_i] with o < n_outer,
// r < n_red (the reduced axis or axes, collapsed) and i < n_inner, and writes one value per
// output j = o*n_inner + i. Strides are in elements and may be 0 or negative.
//
// Long reductions are split into n_chunks chunks per output: chunk c covers
// r = c*c_step + k*k_step for k < chunk (CPU: contiguous chunks, c_step = chunk, k_step = 1;
// GPU: interleaved, c_step = 1, k_step = n_chunks). Pass 1 writes partials[j*n_chunks + c] in
// ACC_T; pass 2 reduces each row of partials (IN_T = ACC_T, MAP_ID) and applies FINAL.
//
// Options (all -D):
//   IN_T, ACC_T     OpenCL C types of the input and of the accumulator/output
//   OP              OP_SUM | OP_PROD | OP_MAX | OP_MIN | OP_ALL | OP_ANY | OP_ARGMAX | OP_ARGMIN
//   MAPK            MAP_ID | MAP_NONZERO (x != 0) | MAP_SQDEV ((x - center[j])^2, for var/std)
//   FINALK          FINAL_ID | FINAL_SCALE (acc * scale) | FINAL_SQRT (sqrt(acc * scale))
//   IS_FLOAT        1 when ACC_T is float or double (NaN-propagating max/min)
//   VW              vector width of the contiguous path (16 for <= 4-byte types, 8 for 8-byte)
//   BLOCK           vectors (or scalars) summed into a block before joining the running total:
//                   blocked partial sums keep float32 rounding error near (BLOCK + n/BLOCK) eps
//                   instead of n eps.
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#include "lines.h"

#define OP_SUM 0
#define OP_PROD 1
#define OP_MAX 2
#define OP_MIN 3
#define OP_ALL 4
#define OP_ANY 5
#define OP_ARGMAX 6
#define OP_ARGMIN 7

#define MAP_ID 0
#define MAP_NONZERO 1
#define MAP_SQDEV 2

#define FINAL_ID 0
#define FINAL_SCALE 1
#define FINAL_SQRT 2

#ifndef IN_T
#define IN_T float
#endif
#ifndef ACC_T
#define ACC_T float
#endif
#ifndef OP
#define OP OP_SUM
#endif
#ifndef MAPK
#define MAPK MAP_ID
#endif
#ifndef FINALK
#define FINALK FINAL_ID
#endif
#ifndef IS_FLOAT
#define IS_FLOAT 1
#endif
#ifndef VW
#define VW 16
#endif
#ifndef BLOCK
#define BLOCK 64
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define IN_V CAT(IN_T, VW)
#define ACC_V CAT(ACC_T, VW)
#define VLOAD CAT(vload, VW)
#define VSTORE CAT(vstore, VW)
#define CONVERT_ACC_V CAT(convert_, ACC_V)

#define IS_ARG (OP == OP_ARGMAX || OP == OP_ARGMIN)

// ---- the operation ----------------------------------------------------------------------
// COMBINE works on scalars, COMBINE_V on vectors. IDEMPOTENT ops (max, min) start from the
// first element instead of an identity, so integer max/min need no type limits.
#if OP == OP_SUM
#define IDEMPOTENT 0
#define IDENTITY ((ACC_T)0)
#define COMBINE(a, b) ((a) + (b))
#define COMBINE_V(a, b) ((a) + (b))
#elif OP == OP_PROD
#define IDEMPOTENT 0
#define IDENTITY ((ACC_T)1)
#define COMBINE(a, b) ((a) * (b))
#define COMBINE_V(a, b) ((a) * (b))
#elif OP == OP_ALL
#define IDEMPOTENT 0
#define IDENTITY ((ACC_T)1)
#define COMBINE(a, b) ((a) & (b))
#define COMBINE_V(a, b) ((a) & (b))
#elif OP == OP_ANY
#define IDEMPOTENT 0
#define IDENTITY ((ACC_T)0)
#define COMBINE(a, b) ((a) | (b))
#define COMBINE_V(a, b) ((a) | (b))
#elif OP == OP_MAX || OP == OP_ARGMAX
#define IDEMPOTENT 1
#if IS_FLOAT
// NaN wins, like numpy.max: a is kept when it is NaN or larger, else b (NaN or not).
#define COMBINE(a, b) (((a) > (b) || isnan(a)) ? (a) : (b))
#define COMBINE_V(a, b) select((b), (a), ((a) > (b)) | isnan(a))
#else
#define COMBINE(a, b) max((a), (b))
#define COMBINE_V(a, b) max((a), (b))
#endif
#elif OP == OP_MIN || OP == OP_ARGMIN
#define IDEMPOTENT 1
#if IS_FLOAT
#define COMBINE(a, b) (((a) < (b) || isnan(a)) ? (a) : (b))
#define COMBINE_V(a, b) select((b), (a), ((a) < (b)) | isnan(a))
#else
#define COMBINE(a, b) min((a), (b))
#define COMBINE_V(a, b) min((a), (b))
#endif
#else
#error "reduction.cl: unknown OP"
#endif

// ---- the map applied to each input element (pass 1 only) --------------------------------
#if MAPK == MAP_ID
#define MAP(v, c) ((ACC_T)(v))
#define MAP_V(v, c) CONVERT_ACC_V(v)
#define HAS_VECTOR_PATH 1
#elif MAPK == MAP_NONZERO
#define MAP(v, c) ((ACC_T)((v) != (IN_T)0))
// Vector comparisons give -1 (all bits) for true: keep the low bit to get 1. (Negating the
// comparison would work too, but oclgrind 21.10 gets -(int16) of a comparison wrong: 255.)
#define MAP_V(v, c) (CONVERT_ACC_V((v) != (IN_V)(0)) & (ACC_V)(1))
#define HAS_VECTOR_PATH 1
#elif MAPK == MAP_SQDEV
#define MAP(v, c) (((ACC_T)(v) - (c)) * ((ACC_T)(v) - (c)))
#define MAP_V(v, c) ((CONVERT_ACC_V(v) - (ACC_V)(c)) * (CONVERT_ACC_V(v) - (ACC_V)(c)))
#define HAS_VECTOR_PATH 1
#else
#error "reduction.cl: unknown MAPK"
#endif

// ---- the final transform of each output ---------------------------------------------------
#if FINALK == FINAL_ID
#define FINAL(acc, s) (acc)
#elif FINALK == FINAL_SCALE
#define FINAL(acc, s) ((acc) * (s))
#elif FINALK == FINAL_SQRT
#define FINAL(acc, s) sqrt((acc) * (s))
#else
#error "reduction.cl: unknown FINALK"
#endif

// Number of k < chunk with c*c_step + k*k_step < n_red.
inline long chunk_count(long c, long n_red, long chunk, long c_step, long k_step) {
    long first = c * c_step;
    if (first >= n_red) {
        return 0;
    }
    long n = (n_red - first + k_step - 1) / k_step;
    return n < chunk ? n : chunk;
}

#if !IS_ARG

// Reduce `count` elements x[start + k*inc], k < count, with blocked partial results.
inline ACC_T reduce_range(__global const IN_T *x, long start, long inc, long count, ACC_T c) {
#if IDEMPOTENT
    ACC_T acc = MAP(x[start], c);  // count >= 1 is guaranteed by the host for max/min
#else
    ACC_T acc = IDENTITY;
#endif
    long k = 0;
#if HAS_VECTOR_PATH
    if (inc == 1 && count >= VW) {
        __global const IN_T *p = x + start;
        long nv = count / VW;
        ACC_V total = (ACC_V)(acc);
        long v = 0;
        while (v < nv) {
            long vend = v + BLOCK < nv ? v + BLOCK : nv;
#if IDEMPOTENT
            ACC_V blk = total;
#else
            ACC_V blk = (ACC_V)(IDENTITY);
#endif
            for (; v < vend; ++v) {
                blk = COMBINE_V(blk, MAP_V(VLOAD(v, p), c));
            }
            total = COMBINE_V(total, blk);
        }
        // Horizontal combine as a tree (pairwise), then the scalar tail.
        ACC_T lanes[VW];
        VSTORE(total, 0, lanes);
        for (int width = VW / 2; width > 0; width /= 2) {
            for (int l = 0; l < width; ++l) {
                lanes[l] = COMBINE(lanes[l], lanes[l + width]);
            }
        }
        acc = lanes[0];
        k = nv * VW;
    }
#endif
    long idx = start + k * inc;
    while (k < count) {
        long kend = k + BLOCK * VW < count ? k + BLOCK * VW : count;
#if IDEMPOTENT
        ACC_T blk = acc;
#else
        ACC_T blk = IDENTITY;
#endif
        for (; k < kend; ++k, idx += inc) {
            blk = COMBINE(blk, MAP(x[idx], c));
        }
        acc = COMBINE(acc, blk);
    }
    return acc;
}

inline void reduce_one(__global const IN_T *x, long x_off, long n_inner, long s_o, long s_i,
                       long n_red, long s_r, long n_chunks, long chunk, long c_step,
                       long k_step, __global ACC_T *out, long out_off,
                       __global const ACC_T *center, ACC_T scale, long j, long c) {
    long count = chunk_count(c, n_red, chunk, c_step, k_step);
#if MAPK == MAP_SQDEV
    ACC_T cv = center[j];
#else
    ACC_T cv = (ACC_T)0;
#endif
    long start = line_start(j, n_inner, x_off, s_o, s_i) + c * c_step * s_r;
    ACC_T acc = reduce_range(x, start, k_step * s_r, count, cv);
    out[out_off + j * n_chunks + c] = FINAL(acc, scale);
}

// Work-item (j, c) with c fastest: used when the reduced axis is the contiguous one.
__kernel void reduction_rows(__global const IN_T *x, long x_off, long n_out, long n_inner,
                             long s_o, long s_i, long n_red, long s_r, long n_chunks,
                             long chunk, long c_step, long k_step, __global ACC_T *out,
                             long out_off, __global const ACC_T *center, ACC_T scale) {
    long gid = get_global_id(0);
    if (gid >= n_out * n_chunks) {
        return;
    }
    long j = gid / n_chunks;
    reduce_one(x, x_off, n_inner, s_o, s_i, n_red, s_r, n_chunks, chunk, c_step, k_step, out,
               out_off, center, scale, j, gid - j * n_chunks);
}

// Work-item (j, c) with j fastest: neighbouring work-items read neighbouring inner elements,
// which PoCL's work-item loop vectoriser turns into SIMD loads.
__kernel void reduction_cols(__global const IN_T *x, long x_off, long n_out, long n_inner,
                             long s_o, long s_i, long n_red, long s_r, long n_chunks,
                             long chunk, long c_step, long k_step, __global ACC_T *out,
                             long out_off, __global const ACC_T *center, ACC_T scale) {
    long gid = get_global_id(0);
    if (gid >= n_out * n_chunks) {
        return;
    }
    long c = gid / n_out;
    reduce_one(x, x_off, n_inner, s_o, s_i, n_red, s_r, n_chunks, chunk, c_step, k_step, out,
               out_off, center, scale, gid - c * n_out, c);
}

// CPU version of reduction_cols for a contiguous inner axis (s_i == 1): each work-item reduces
// VW neighbouring outputs at once with vector loads, walking the reduced axis row by row, so
// every cache line it touches is used whole. (A scalar work-item per column would walk one
// column at a time under PoCL's work-item loops, touching each line VW times.)
__kernel void reduction_cols_vec(__global const IN_T *x, long x_off, long n_out, long n_inner,
                                 long s_o, long s_i, long n_red, long s_r, long n_chunks,
                                 long chunk, long c_step, long k_step, __global ACC_T *out,
                                 long out_off, __global const ACC_T *center, ACC_T scale) {
    long n_strips = (n_inner + VW - 1) / VW;
    long n_outer = n_out / n_inner;
    long per_chunk = n_outer * n_strips;
    long gid = get_global_id(0);
    if (gid >= per_chunk * n_chunks) {
        return;
    }
    long c = gid / per_chunk;
    long rem = gid - c * per_chunk;
    long o = rem / n_strips;
    long i0 = (rem - o * n_strips) * VW;
    long j0 = o * n_inner + i0;
    if (i0 + VW > n_inner) {
        for (long j = j0; j < o * n_inner + n_inner; ++j) {
            reduce_one(x, x_off, n_inner, s_o, s_i, n_red, s_r, n_chunks, chunk, c_step,
                       k_step, out, out_off, center, scale, j, c);
        }
        return;
    }
    long count = chunk_count(c, n_red, chunk, c_step, k_step);
#if MAPK == MAP_SQDEV
    ACC_V cv = VLOAD(0, center + j0);
#else
    ACC_V cv = (ACC_V)(0);
#endif
    __global const IN_T *p = x + x_off + o * s_o + i0 + c * c_step * s_r;
    long inc = k_step * s_r;
#if IDEMPOTENT
    ACC_V acc = MAP_V(VLOAD(0, p), cv);
#else
    ACC_V acc = (ACC_V)(IDENTITY);
#endif
    long k = 0;
    while (k < count) {
        long kend = k + BLOCK < count ? k + BLOCK : count;
#if IDEMPOTENT
        ACC_V blk = acc;
#else
        ACC_V blk = (ACC_V)(IDENTITY);
#endif
        for (; k < kend; ++k, p += inc) {
            blk = COMBINE_V(blk, MAP_V(VLOAD(0, p), cv));
        }
        acc = COMBINE_V(acc, blk);
    }
    ACC_V res = FINAL(acc, scale);
    if (n_chunks == 1) {
        VSTORE(res, 0, out + out_off + j0);
    } else {
        ACC_T lanes[VW];
        VSTORE(res, 0, lanes);
        for (int l = 0; l < VW; ++l) {
            out[out_off + (j0 + l) * n_chunks + c] = lanes[l];
        }
    }
}

#if OP == OP_SUM || OP == OP_PROD
// Inclusive scan (running sum or product) of each line along r, in chunks: chunk c of line j
// starts from start[j*(n_chunks+1) + c] when use_start (the exclusive scan of the chunk totals),
// else from IDENTITY.
// out is contiguous (n_outer, n_red + incl, n_inner); incl = 1 writes a leading IDENTITY.
__kernel void reduction_scan(__global const IN_T *x, long x_off, long n_lines, long n_inner,
                             long s_o, long s_i, long n_red, long s_r, long n_chunks,
                             long chunk, __global ACC_T *out, long out_off, long incl,
                             __global const ACC_T *start, int use_start) {
    long gid = get_global_id(0);
    if (gid >= n_lines * n_chunks) {
        return;
    }
    long c = gid / n_lines;
    long j = gid - c * n_lines;
    long r0 = c * chunk;
    long count = chunk_count(c, n_red, chunk, chunk, 1);
    long out_len = n_red + incl;
    long dst = out_off + line_out(j, r0 + incl, out_len, n_inner);
    if (incl && c == 0) {
        out[out_off + line_out(j, 0, out_len, n_inner)] = IDENTITY;
    }
    ACC_T acc = use_start ? start[j * (n_chunks + 1) + c] : IDENTITY;
    long src = line_start(j, n_inner, x_off, s_o, s_i) + r0 * s_r;
    for (long k = 0; k < count; ++k, src += s_r, dst += n_inner) {
        acc = COMBINE(acc, (ACC_T)x[src]);
        out[dst] = acc;
    }
}
#endif

#if MAPK == MAP_NONZERO && OP == OP_SUM
// Flat indices of the nonzero elements of a contiguous x, chunk by chunk: chunk c (elements
// [c*chunk, (c+1)*chunk)) writes from position offsets[c], the exclusive scan of the counts.
__kernel void reduction_nonzero_flat(__global const IN_T *x, long x_off, long n, long chunk,
                                     long n_chunks, __global const long *offsets,
                                     __global long *out) {
    long c = get_global_id(0);
    if (c >= n_chunks) {
        return;
    }
    long pos = offsets[c];
    long end = (c + 1) * chunk < n ? (c + 1) * chunk : n;
    for (long f = c * chunk; f < end; ++f) {
        if (x[x_off + f] != (IN_T)0) {
            out[pos++] = f;
        }
    }
}

// out[k] = (flat[k] / step) % dim: one coordinate of each nonzero element.
__kernel void reduction_unravel(__global const long *flat, long n, long step, long dim,
                                __global long *out) {
    long k = get_global_id(0);
    if (k < n) {
        out[k] = (flat[k] / step) % dim;
    }
}
#endif

#else  // IS_ARG

// Whether (v, iv) beats (best, ibest): larger (smaller) wins, NaN beats numbers like numpy's
// argmax, and ties go to the smaller index (first occurrence).
inline int arg_better(IN_T v, long iv, IN_T best, long ibest) {
#if IS_FLOAT
    if (isnan(best)) {
        return isnan(v) && iv < ibest;
    }
    if (isnan(v)) {
        return 1;
    }
#endif
#if OP == OP_ARGMAX
    return v > best || (v == best && iv < ibest);
#else
    return v < best || (v == best && iv < ibest);
#endif
}

// Pass 1 (use_idx = 0): the index along r is r itself. Pass 2 (use_idx = 1): x holds partial
// values and idx_in the matching indices. Outputs vals/idx at [j*n_chunks + c].
__kernel void reduction_arg(__global const IN_T *x, long x_off, long n_out, long n_inner,
                            long s_o, long s_i, long n_red, long s_r, long n_chunks,
                            long chunk, long c_step, long k_step,
                            __global const long *idx_in, int use_idx, __global IN_T *vals,
                            __global long *idx) {
    long gid = get_global_id(0);
    if (gid >= n_out * n_chunks) {
        return;
    }
    long c = gid / n_out;
    long j = gid - c * n_out;
    long count = chunk_count(c, n_red, chunk, c_step, k_step);
    long base = line_start(j, n_inner, x_off, s_o, s_i);
    long r = c * c_step;
    IN_T best = x[base + r * s_r];
    long ibest = use_idx ? idx_in[base + r * s_r] : r;
    for (long k = 1; k < count; ++k) {
        r += k_step;
        IN_T v = x[base + r * s_r];
        long iv = use_idx ? idx_in[base + r * s_r] : r;
        if (arg_better(v, iv, best, ibest)) {
            best = v;
            ibest = iv;
        }
    }
    vals[j * n_chunks + c] = best;
    idx[j * n_chunks + c] = ibest;
}

#endif  // IS_ARG
