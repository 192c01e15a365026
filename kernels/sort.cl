// sort.cl: stable sort / argsort along one axis (merge sort), and searchsorted.
//
// Lines of length n are x[x_off + o*s_o + r*s_r + i*s_i], line j = o*n_inner + i. The sort runs
// on contiguous scratch (keys and int64 indices, line j at [j*n, (j+1)*n)):
//   sort_blocks  one work-item per BLOCK elements of a line: strided load + insertion sort;
//   sort_merge   one pass merging sorted runs of width w into runs of 2w; each work-item makes
//                SEG outputs, finding its start with a merge-path binary search, so the last
//                passes (few long runs) still spread over all compute units;
//   sort_store   writes keys (sort) or indices (argsort) back to the contiguous output.
// Stability: equal keys keep their order (left run wins ties; insertion sort moves an element
// only past strictly greater ones). Order: ascending puts NaN last; DESCENDING puts NaN first
// (numpy's order for flip-based descending sorts, as array-api-compat does).
// Options: -DKEY_T (OpenCL C type), -DIS_FLOAT, -DDESCENDING, -DBLOCK, -DSEG.
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#include "lines.h"

#ifndef KEY_T
#define KEY_T float
#endif
#ifndef IS_FLOAT
#define IS_FLOAT 1
#endif
#ifndef DESCENDING
#define DESCENDING 0
#endif
#ifndef BLOCK
#define BLOCK 16
#endif
#ifndef SEG
#define SEG 256
#endif

// BEFORE(a, b): a goes strictly before b.
#if IS_FLOAT
#if DESCENDING
#define BEFORE(a, b) ((a) > (b) || (isnan(a) && !isnan(b)))
#else
#define BEFORE(a, b) ((a) < (b) || (isnan(b) && !isnan(a)))
#endif
// Ascending order with NaN last, for searchsorted.
#define LESS(a, b) ((a) < (b) || (isnan(b) && !isnan(a)))
#else
#if DESCENDING
#define BEFORE(a, b) ((a) > (b))
#else
#define BEFORE(a, b) ((a) < (b))
#endif
#define LESS(a, b) ((a) < (b))
#endif

__kernel void sort_blocks(__global const KEY_T *x, long x_off, long n_lines, long n_inner,
                          long s_o, long s_i, long n, long s_r, __global KEY_T *keys,
                          __global long *idx) {
    long n_blocks = (n + BLOCK - 1) / BLOCK;
    long gid = get_global_id(0);
    if (gid >= n_lines * n_blocks) {
        return;
    }
    long j = gid / n_blocks;
    long b = gid - j * n_blocks;
    long r0 = b * BLOCK;
    int count = (int)(n - r0 < BLOCK ? n - r0 : BLOCK);
    KEY_T k[BLOCK];
    long id[BLOCK];
    long src = line_start(j, n_inner, x_off, s_o, s_i) + r0 * s_r;
    for (int t = 0; t < count; ++t, src += s_r) {
        KEY_T v = x[src];
        int u = t;
        while (u > 0 && BEFORE(v, k[u - 1])) {
            k[u] = k[u - 1];
            id[u] = id[u - 1];
            --u;
        }
        k[u] = v;
        id[u] = r0 + t;
    }
    long dst = j * n + r0;
    for (int t = 0; t < count; ++t) {
        keys[dst + t] = k[t];
        idx[dst + t] = id[t];
    }
}

__kernel void sort_merge(__global const KEY_T *keys, __global const long *idx, long n_lines,
                         long n, long w, __global KEY_T *keys_out, __global long *idx_out) {
    long n_segs = (n + SEG - 1) / SEG;
    long gid = get_global_id(0);
    if (gid >= n_lines * n_segs) {
        return;
    }
    long j = gid / n_segs;
    long t = gid - j * n_segs;
    long line = j * n;
    long pos = t * SEG;
    long end = pos + SEG < n ? pos + SEG : n;
    while (pos < end) {
        long ps = (pos / (2 * w)) * (2 * w);
        long mid = ps + w < n ? ps + w : n;
        long pe = ps + 2 * w < n ? ps + 2 * w : n;
        long len_l = mid - ps;
        long len_r = pe - mid;
        __global const KEY_T *L = keys + line + ps;
        __global const KEY_T *R = keys + line + mid;
        // Merge path: a = how many of the first `diag` merged outputs come from L.
        long diag = pos - ps;
        long lo = diag - len_r > 0 ? diag - len_r : 0;
        long hi = diag < len_l ? diag : len_l;
        while (lo < hi) {
            long m = (lo + hi) / 2;
            if (!BEFORE(R[diag - m - 1], L[m])) {
                lo = m + 1;
            } else {
                hi = m;
            }
        }
        long a = lo;
        long b = diag - lo;
        long stop = end < pe ? end : pe;
        for (; pos < stop; ++pos) {
            int take_l = a < len_l && (b >= len_r || !BEFORE(R[b], L[a]));
            if (take_l) {
                keys_out[line + pos] = L[a];
                idx_out[line + pos] = idx[line + ps + a];
                ++a;
            } else {
                keys_out[line + pos] = R[b];
                idx_out[line + pos] = idx[line + mid + b];
                ++b;
            }
        }
    }
}

// out is contiguous (n_outer, n, n_inner): sort stores the keys, argsort the indices.
__kernel void sort_store_keys(__global const KEY_T *keys, long n_lines, long n_inner, long n,
                              __global KEY_T *out, long out_off) {
    long gid = get_global_id(0);
    if (gid >= n_lines * n) {
        return;
    }
    long j = gid / n;
    long r = gid - j * n;
    out[out_off + line_out(j, r, n, n_inner)] = keys[gid];
}

__kernel void sort_store_index(__global const long *idx, long n_lines, long n_inner, long n,
                               __global long *out, long out_off) {
    long gid = get_global_id(0);
    if (gid >= n_lines * n) {
        return;
    }
    long j = gid / n;
    long r = gid - j * n;
    out[out_off + line_out(j, r, n, n_inner)] = idx[gid];
}

// For each v = x2[k] (contiguous), the insertion point in the ascending x1 (NaN last): the first
// position p with !(x1[p] < v) (side left, RIGHT = 0) or with v < x1[p] (side right).
// With use_sorter, x1 is read through sorter (x1[sorter[p]]).
__kernel void sort_searchsorted(__global const KEY_T *x1, long x1_off, long x1_stride, long n1,
                                __global const long *sorter, long sorter_off,
                                long sorter_stride, int use_sorter, __global const KEY_T *x2,
                                long x2_off, long n2, int right, __global long *out) {
    long k = get_global_id(0);
    if (k >= n2) {
        return;
    }
    KEY_T v = x2[x2_off + k];
    long lo = 0;
    long hi = n1;
    while (lo < hi) {
        long m = (lo + hi) / 2;
        long p = use_sorter ? sorter[sorter_off + m * sorter_stride] : m;
        KEY_T e = x1[x1_off + p * x1_stride];
        int go_right = right ? !LESS(v, e) : LESS(e, v);
        if (go_right) {
            lo = m + 1;
        } else {
            hi = m;
        }
    }
    out[k] = lo;
}
