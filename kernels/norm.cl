// norm.cl: per-channel statistics and affine maps of NCHW-like arrays (channels on axis 1), for
// batch normalisation and bias gradients. Host side: backends/opencl/norm.py. Arrays are
// contiguous and seen as `images` x `channels` planes of `inner` elements (plane p has channel
// p % channels); M = images * inner values per channel.
//
//   Per-channel statistics (channels.h: one work-group of LWS work-items per channel c):
//     norm_bn_stats       two passes over a = x: mean = sum(x) / M, var = sum((x - mean)^2) / M,
//                     invstd = 1 / sqrt(var + eps), scale = invstd * w[c] (w: weight, u: bias);
//                     out = [mean | var | invstd | scale | u], for y = (x - mean) * scale + u
//     norm_bn_grad_stats  a = grad, b = x, u = mean, s = invstd, w = weight:
//                     dbias = sum(grad), dweight = sum(grad * (x - mean)) * invstd, and the
//                     coefficients of dx = grad * k + (x - mean) * q + r: k = w * invstd,
//                     q = -k * invstd * dweight / M, r = -k * dbias / M;
//                     out = [dbias | dweight | k | q | r | mean]
//     (each block of `out` is `channels` long.)
//   norm_channel_affine:  out = (a - coef[m_off + c]) * coef[p_off + c] + coef[r_off + c]
//   norm_channel_combine: out = a * coef[p_off + c] + (b - coef[m_off + c]) * coef[q_off + c]
//                               + coef[r_off + c]
//     (centring before the product: x * scale + (bias - mean * scale) would cancel when the
//     mean is large next to the spread)
//     work-item (w, plane) takes a run of RUN elements of the plane, so the channel's
//     coefficients are read once per run.
//   norm_running: the running statistics after a batch, one work-item per channel:
//     out_mean = rm * keep + mean * m, out_var = rv * keep + (var * unbias) * m (keep = 1 - m),
//     each product and sum rounded as the namespace's separate operations round them.
// Options: -DREAL=float|double, -DRUN=16|1 (elements per work-item: CPU | GPU), -DLWS (work-group
// size of the statistics kernels, a power of two: 64 unless the device allows fewer).
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#ifndef REAL
#define REAL float
#endif
#ifndef RUN
#define RUN 16
#endif
#ifndef LWS
#define LWS 64
#endif

#include "channels.h"

#define F_CENTRED_SQUARE(x, y) (((x) - centre) * ((x) - centre))
#define F_CENTRED_PRODUCT(x, y) ((x) * ((y) - centre))

CHANNEL_STATS_KERNEL(norm_bn_stats)(const long images, const long channels, const long inner,
                            __global const REAL *a, const long a_off, __global const REAL *w,
                            const long w_off, __global const REAL *u, const long u_off,
                            const REAL eps, __global REAL *out) {
    CHANNEL_SETUP
    __global const REAL *b = a;
    const long b_off = a_off;
    CHANNEL_SUM(part, 0, F_VALUE)
    const REAL centre = group_sum(part, scratch) / count;
    CHANNEL_SUM(part, 0, F_CENTRED_SQUARE)
    const REAL var = group_sum(part, scratch) / count;
    if (get_local_id(0) == 0) {
        const REAL invstd = (REAL)1 / sqrt(var + eps);
        const REAL scale = invstd * w[w_off + c];
        out[c] = centre;
        out[channels + c] = var;
        out[2 * channels + c] = invstd;
        out[3 * channels + c] = scale;
        out[4 * channels + c] = u[u_off + c];
    }
}

CHANNEL_STATS_KERNEL(norm_bn_grad_stats)(const long images, const long channels, const long inner,
                                 __global const REAL *a, const long a_off,
                                 __global const REAL *b, const long b_off,
                                 __global const REAL *w, const long w_off,
                                 __global const REAL *u, const long u_off,
                                 __global const REAL *s, const long s_off, __global REAL *out) {
    CHANNEL_SETUP
    const REAL centre = u[u_off + c];
    CHANNEL_SUM(part, 0, F_VALUE)
    const REAL sum = group_sum(part, scratch);
    CHANNEL_SUM(part, 1, F_CENTRED_PRODUCT)
    const REAL dot = group_sum(part, scratch);
    if (get_local_id(0) == 0) {
        const REAL invstd = s[s_off + c];
        const REAL dweight = dot * invstd;
        const REAL k = w[w_off + c] * invstd;
        out[c] = sum;
        out[channels + c] = dweight;
        out[2 * channels + c] = k;
        out[3 * channels + c] = -(k * invstd * dweight) / count;
        out[4 * channels + c] = -k * sum / count;
        out[5 * channels + c] = centre;
    }
}

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
                                  __global const REAL *coef, const long m_off, const long p_off,
                                  const long r_off, __global REAL *out) {
    const long c = get_global_id(1) % channels;
    const REAL mc = coef[m_off + c];
    const REAL pc = coef[p_off + c];
    const REAL rc = coef[r_off + c];
    PLANE_RUN(out[i] = (a[a_off + i] - mc) * pc + rc)
}

__kernel void norm_channel_combine(const long inner, const long channels,
                                   __global const REAL *a, const long a_off,
                                   __global const REAL *b, const long b_off,
                                   __global const REAL *coef, const long m_off, const long p_off,
                                   const long q_off, const long r_off, __global REAL *out) {
    const long c = get_global_id(1) % channels;
    const REAL mc = coef[m_off + c];
    const REAL pc = coef[p_off + c];
    const REAL qc = coef[q_off + c];
    const REAL rc = coef[r_off + c];
    PLANE_RUN(out[i] = a[a_off + i] * pc + (b[b_off + i] - mc) * qc + rc)
}

__kernel void norm_running(const long channels, __global const REAL *rm, const long rm_off,
                           __global const REAL *rv, const long rv_off,
                           __global const REAL *mean, const long mean_off,
                           __global const REAL *var, const long var_off, const REAL keep,
                           const REAL m, const REAL unbias, __global REAL *out_mean,
                           __global REAL *out_var) {
#pragma OPENCL FP_CONTRACT OFF
    const long c = get_global_id(0);
    if (c >= channels) return;
    const REAL old_part = rm[rm_off + c] * keep;
    const REAL new_part = mean[mean_off + c] * m;
    out_mean[c] = old_part + new_part;
    const REAL unbiased = var[var_off + c] * unbias;
    const REAL old_var = rv[rv_off + c] * keep;
    const REAL new_var = unbiased * m;
    out_var[c] = old_var + new_var;
}
