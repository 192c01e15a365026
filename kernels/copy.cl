// copy.cl: copies, dtype casts, fills and ramps. One program per (SRC_T, DST_T).
// Options:
//   -DSRC_T=... -DDST_T=...  OpenCL C types (bool is uchar 0/1); same-type copies use the
//                            unsigned type of the same width, so one program serves all dtypes
//   -DDST_BOOL=0|1           destination is bool: store (x != 0)
//   -DACC_T=double|float     type of the ramp arithmetic in copy_iota
//   -DVEC=16|1               elements per work-item (a vload16 or a run of the innermost axis)
// Kernels:
//   copy_contig(n, dst, dst_off, src, src_off)       both C-contiguous
//   copy_strided(layout, n, dst, src)                operands 0 (dst) and 1 (src) of the layout
//   copy_fill_strided(layout, n, dst, value)         dst[...] = value on any strided view
//   copy_iota(n, dst, dst_off, start, step)          dst[i] = start + i * step
#ifndef SRC_T
#define SRC_T float
#endif
#ifndef DST_T
#define DST_T float
#endif
#ifndef DST_BOOL
#define DST_BOOL 0
#endif
#ifndef ACC_T
#define ACC_T float
#endif
#ifndef VEC
#define VEC 16
#endif

#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#include "layout.h"

#if DST_BOOL
#define CONVERT(x) ((DST_T)((x) != (SRC_T)0))
#else
#define CONVERT(x) ((DST_T)(x))
#endif

__kernel void copy_contig(const long n, __global DST_T *dst, const long dst_off,
                          __global const SRC_T *src, const long src_off) {
    const long base = (long)get_global_id(0) * VEC;
    if (base >= n) return;
    const long m = min((long)VEC, n - base);
    __global DST_T *d = dst + dst_off + base;
    __global const SRC_T *s = src + src_off + base;
    for (long i = 0; i < m; i++) d[i] = CONVERT(s[i]);
}

__kernel void copy_strided(const layout_t L, const long n, __global DST_T *dst,
                           __global const SRC_T *src) {
    LAYOUT_RUN(L, n, 2, VEC, dst[off[0]] = CONVERT(src[off[1]]))
}

__kernel void copy_fill_strided(const layout_t L, const long n, __global DST_T *dst,
                                const DST_T value) {
    LAYOUT_RUN(L, n, 1, VEC, dst[off[0]] = value)
}

__kernel void copy_iota(const long n, __global DST_T *dst, const long dst_off, const ACC_T start,
                        const ACC_T step) {
    const long i = get_global_id(0);
    if (i >= n) return;
    dst[dst_off + i] = (DST_T)(start + (ACC_T)i * step);
}
