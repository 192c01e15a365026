// fused.cl: fused elementwise chains as single kernels (one read of each operand, one write).
//   fused_multiply_add(n, out, a, b, c): out = a * b + c over n contiguous elements.
//   fused_relu_backward(n, out, g, y): out = g * (y > 0), ReLU's backward from its output y,
//     in place of a comparison, a cast and a product (g * 0 keeps NaN and signed zeros).
// Options: -DT=float|double, -DVEC=16|1 (elements per work-item: vload16 on CPUs, one on GPUs),
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

#include "storage.h"

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
