// fused.cl: fused elementwise chains as single kernels (one read of each operand, one write).
//   fused_multiply_add(n, out, a, b, c): out = a * b + c over n contiguous elements.
//   fused_relu(n, out, x): out = max(x, 0), NaN kept (as the namespace's maximum(x, 0)).
//   fused_channel_sum(images, channels, inner, a, out): out[c] = the sum of channel c of a
//     contiguous NCHW-like array over every other axis (a bias gradient) in one launch
//     (channels.h: one work-group of LWS work-items per channel; T = float or double only).
//   fused_column_sum(rows, cols, a, out): out[j] = the sum of column j of a contiguous rows x
//     cols matrix (a linear layer's bias gradient); a work-item sums VEC adjacent columns, one
//     accumulator each, in blocks of rows (T = float or double only).
//   fused_relu_backward(n, out, g, y): out = g * (y > 0), ReLU's backward from its output y,
//     in place of a comparison, a cast and a product (g * 0 keeps NaN and signed zeros).
//   fused_relu_backward_column_sum(rows, cols, out, g, y, sums): both of the above in one pass
//     over a contiguous rows x cols g (a linear layer's backward after its ReLU).
// Options: -DT=float|double, -DVEC=16|1 (elements per work-item: vload16 on CPUs, one on GPUs),
//   -DLWS (fused_channel_sum's work-group size, a power of two: 64 unless the device allows less),
//   -DSTORAGE=0|1|2 (storage.h: float16 or bfloat16 storage with T = float; loads widen, the
//   result is rounded once).
// The product is rounded before the add (FP_CONTRACT OFF) so results match numpy's a * b + c.
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#pragma OPENCL FP_CONTRACT OFF

#ifndef T
#define T float
#endif
#ifndef VEC
#define VEC 16
#endif

#ifndef LWS
#define LWS 64
#endif

#include "storage.h"

#define REAL T
#define RUN VEC
#include "channels.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

__kernel void fused_multiply_add(long n, __global S *out, long out_off, __global const S *a,
                                 long a_off, __global const S *b, long b_off,
                                 __global const S *c, long c_off) {
    long start = (long)get_global_id(0) * VEC;
    if (start >= n) {
        return;
    }
#if VEC > 1 && STORAGE == STORAGE_PLAIN
    if (start + VEC <= n) {
        long v = start / VEC;
        CAT(vstore, VEC)(CAT(vload, VEC)(v, a + a_off) * CAT(vload, VEC)(v, b + b_off)
                             + CAT(vload, VEC)(v, c + c_off),
                         v, out + out_off);
        return;
    }
#endif
    long end = start + VEC < n ? start + VEC : n;
    for (long k = start; k < end; ++k) {
        STORE(LOAD(a, a_off + k) * LOAD(b, b_off + k) + LOAD(c, c_off + k), out, out_off + k);
    }
}

__kernel void fused_relu(long n, __global S *out, long out_off, __global const S *x, long x_off) {
    long start = (long)get_global_id(0) * VEC;
    if (start >= n) {
        return;
    }
    long end = start + VEC < n ? start + VEC : n;
    for (long k = start; k < end; ++k) {
        const T v = LOAD(x, x_off + k);
        STORE(isnan(v) ? v : fmax(v, (T)0), out, out_off + k);
    }
}

__kernel void fused_relu_backward(long n, __global S *out, long out_off, __global const S *g,
                                  long g_off, __global const S *y, long y_off) {
    long start = (long)get_global_id(0) * VEC;
    if (start >= n) {
        return;
    }
    long end = start + VEC < n ? start + VEC : n;
    for (long k = start; k < end; ++k) {
        const T grad = LOAD(g, g_off + k);
        STORE(LOAD(y, y_off + k) > (T)0 ? grad : grad * (T)0, out, out_off + k);
    }
}

CHANNEL_STATS_KERNEL(fused_channel_sum)(const long images, const long channels, const long inner,
                                        __global const REAL *a, const long a_off,
                                        __global REAL *out, const long out_off) {
    CHANNEL_SETUP
    __global const REAL *b = a;
    const long b_off = a_off;
    (void)count;
    CHANNEL_SUM(part, 0, F_VALUE)
    const REAL sum = group_sum(part, scratch);
    if (get_local_id(0) == 0) out[out_off + c] = sum;
}

// Rows are added in blocks of COLUMN_BLOCK, each block's sum into the total: the rounding error
// grows with COLUMN_BLOCK + rows / COLUMN_BLOCK instead of rows. VALUE(i, q) is element q of
// row i of the work-item's columns (and may store it first).
#define COLUMN_BLOCK 64
#define COLUMN_SUM(VALUE)                                                           \
    const int width = j0 + VEC <= cols ? VEC : (int)(cols - j0);                   \
    T total[VEC], block[VEC];                                                      \
    for (int q = 0; q < VEC; ++q) total[q] = (T)0;                                 \
    for (long i0 = 0; i0 < rows; i0 += COLUMN_BLOCK) {                             \
        const long i1 = min(i0 + COLUMN_BLOCK, rows);                              \
        for (int q = 0; q < VEC; ++q) block[q] = (T)0;                             \
        if (width == VEC) {                                                        \
            for (long i = i0; i < i1; ++i) {                                       \
                for (int q = 0; q < VEC; ++q) block[q] += VALUE(i, q);             \
            }                                                                      \
        } else {                                                                   \
            for (long i = i0; i < i1; ++i) {                                       \
                for (int q = 0; q < width; ++q) block[q] += VALUE(i, q);           \
            }                                                                      \
        }                                                                          \
        for (int q = 0; q < VEC; ++q) total[q] += block[q];                        \
    }

__kernel void fused_column_sum(const long rows, const long cols, __global const T *a,
                               const long a_off, __global T *out, const long out_off) {
    const long j0 = (long)get_global_id(0) * VEC;
    if (j0 >= cols) {
        return;
    }
    __global const T *col = a + a_off + j0;
#define PLAIN_VALUE(i, q) col[(i) * cols + (q)]
    COLUMN_SUM(PLAIN_VALUE)
    for (int q = 0; q < width; ++q) out[out_off + j0 + q] = total[q];
}

// A linear layer's backward after its fused ReLU: masked = g * (y > 0) as fused_relu_backward
// (stored), and sums[j] = the sum of column j of masked as fused_column_sum (the bias
// gradient), in one pass over g.
inline T relu_masked(__global const T *g, __global const T *y, __global T *out, const long at) {
    const T grad = g[at];
    const T v = y[at] > (T)0 ? grad : grad * (T)0;
    out[at] = v;
    return v;
}

__kernel void fused_relu_backward_column_sum(const long rows, const long cols, __global T *out,
                                             __global const T *g, const long g_off,
                                             __global const T *y, const long y_off,
                                             __global T *sums) {
    const long j0 = (long)get_global_id(0) * VEC;
    if (j0 >= cols) {
        return;
    }
    g += g_off;
    y += y_off;
#define MASKED_VALUE(i, q) relu_masked(g, y, out, (i) * cols + j0 + (q))
    COLUMN_SUM(MASKED_VALUE)
    for (int q = 0; q < width; ++q) sums[j0 + q] = total[q];
}
