// norm.cl: per-channel affine maps of NCHW-like arrays (channels on axis 1), for batch
// normalisation. Host side: backends/opencl/norm.py. The array is contiguous and seen as planes
// of `inner` elements (plane p has channel p % channels); work-item (w, p) takes a run of RUN
// elements of plane p, so the channel's coefficients are read once per run.
//   norm_channel_affine:  out = a * p[c] + r[c]
//   norm_channel_combine: out = a * p[c] + b * q[c] + r[c]
// Options: -DREAL=float|double, -DRUN=16|1 (elements per work-item: CPU | GPU).
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#ifndef REAL
#define REAL float
#endif
#ifndef RUN
#define RUN 16
#endif

#define PLANE_RUN(BODY)                                               \
    const long plane = get_global_id(1);                              \
    const long first = (long)get_global_id(0) * RUN;                  \
    if (first >= inner) return;                                       \
    const long last = min(first + (long)RUN, inner);                  \
    const long base = plane * inner;                                  \
    for (long i = base + first; i < base + last; ++i) {               \
        BODY;                                                         \
    }

__kernel void norm_channel_affine(const long inner, const long channels,
                                  __global const REAL *a, const long a_off,
                                  __global const REAL *p, __global const REAL *r,
                                  __global REAL *out) {
    const REAL pc = p[get_global_id(1) % channels];
    const REAL rc = r[get_global_id(1) % channels];
    PLANE_RUN(out[i] = a[a_off + i] * pc + rc)
}

__kernel void norm_channel_combine(const long inner, const long channels,
                                   __global const REAL *a, const long a_off,
                                   __global const REAL *b, const long b_off,
                                   __global const REAL *p, __global const REAL *q,
                                   __global const REAL *r, __global REAL *out) {
    const REAL pc = p[get_global_id(1) % channels];
    const REAL qc = q[get_global_id(1) % channels];
    const REAL rc = r[get_global_id(1) % channels];
    PLANE_RUN(out[i] = a[a_off + i] * pc + b[b_off + i] * qc + rc)
}
