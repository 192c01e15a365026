// copy.cl: copies, dtype casts, fills and ramps. One program per (SRC_T, DST_T).
// Options:
//   -DSRC_T=... -DDST_T=...  OpenCL C storage types (bool is uchar 0/1, float16 and bfloat16
//                            ushort); same-type copies use the unsigned type of the same width,
//                            so one program serves all dtypes
//   -DSRC_STORAGE=0|1|2      how a source element is read (storage.h: plain, float16, bfloat16)
//   -DDST_STORAGE=0|1|2      how a destination element is written; a 16-bit destination rounds
//                            to nearest even, from MID_T (double when the source is double or a
//                            64-bit integer and the device has fp64, else float)
//   -DDST_BOOL=0|1           destination is bool: store (x != 0)
//   -DACC_T=double|float     type of the ramp arithmetic in copy_iota
//   -DMID_IS_DOUBLE          defined when MID_T is double
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
#ifndef SRC_STORAGE
#define SRC_STORAGE 0
#endif
#ifndef DST_STORAGE
#define DST_STORAGE 0
#endif
#ifndef MID_T
#define MID_T float
#endif
#ifndef VEC
#define VEC 16
#endif

#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#include "layout.h"
#include "storage.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define GET(p, i) CAT(STORAGE_LOAD_, SRC_STORAGE)(p, i)

// PUT(v, p, i) writes the value v (of the source's arithmetic type) as a DST_T element.
#if DST_STORAGE == STORAGE_HALF
#if defined(MID_IS_DOUBLE)
#define PUT(v, p, i) ((p)[i] = f16_from_double((double)(v)))
#else
#define PUT(v, p, i) ((p)[i] = f16_from_float((float)(v)))
#endif
#elif DST_STORAGE == STORAGE_BF16 && defined(MID_IS_DOUBLE)
#define PUT(v, p, i) ((p)[i] = bf16_from_double((double)(v)))
#elif DST_STORAGE == STORAGE_BF16
#define PUT(v, p, i) ((p)[i] = bf16_from_float((float)(v)))
#elif DST_BOOL
#define PUT(v, p, i) ((p)[i] = (DST_T)((v) != 0))
#else
#define PUT(v, p, i) ((p)[i] = (DST_T)(v))
#endif

__kernel void copy_contig(const long n, __global DST_T *dst, const long dst_off,
                          __global const SRC_T *src, const long src_off) {
    const long base = (long)get_global_id(0) * VEC;
    if (base >= n) return;
    const long m = min((long)VEC, n - base);
    __global DST_T *d = dst + dst_off + base;
    __global const SRC_T *s = src + src_off + base;
    for (long i = 0; i < m; i++) PUT(GET(s, i), d, i);
}

__kernel void copy_strided(const layout_t L, const long n, __global DST_T *dst,
                           __global const SRC_T *src) {
    LAYOUT_RUN(L, n, 2, VEC, PUT(GET(src, off[1]), dst, off[0]))
}

// Fills move bytes (the host passes a value's bits as the unsigned type of its width), so the
// 16-bit float programs, whose DST_T is not a value type, leave this kernel out.
#if DST_STORAGE == STORAGE_PLAIN
__kernel void copy_fill_strided(const layout_t L, const long n, __global DST_T *dst,
                                const DST_T value) {
    LAYOUT_RUN(L, n, 1, VEC, dst[off[0]] = value)
}
#endif

__kernel void copy_iota(const long n, __global DST_T *dst, const long dst_off, const ACC_T start,
                        const ACC_T step) {
    const long i = get_global_id(0);
    if (i >= n) return;
    PUT(start + (ACC_T)i * step, dst, dst_off + i);
}
