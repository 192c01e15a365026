// loss.cl: cross-entropy of logits x (n_rows x n_classes, row-major) against class indices, in
// one pass per row forward and one launch backward. Host side: backends/opencl/loss.py.
//   loss_cross_entropy_rows: per row i with label t = target[i], lse = log(sum(exp(x[i]))),
//     loss[i] = lse - x[i, t], valid[i] = 1; a row whose label is ignore_index gets loss 0 and
//     valid 0; a label outside [0, n_classes) is reported on the device's error flag
//     (errors.h: the host raises at its next read) and gets a NaN loss.
//   loss_cross_entropy_total: the same rows, then their sum (and the sum of valid) in one
//     work-group of LWS work-items, for a reduced loss in a single launch: total[0] = the sum,
//     or with mean != 0 the sum over the valid count; count[0] = the valid count (1 without).
//   loss_cross_entropy_backward: dx[i, j] = (exp(x[i, j] - lse[i]) - (j == t)) * valid[i] *
//     grad[i * grad_stride] / divisor[0] (grad_stride 0 for a reduced loss; divisor: the valid
//     count for "mean", else a 1).
// Options: -DREAL=float|double, -DLWS (work-group size of loss_cross_entropy_total: 64 unless
// the device allows fewer). One program serves every kernel here.
// Labels are int64.
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#ifndef REAL
#define REAL float
#endif

#include "errors.h"

#ifndef LWS
#define LWS 64
#endif

// Row i's loss (0 when ignored, NaN for a label out of range); writes its lse and valid flag.
inline REAL row_loss(__global const REAL *x, long x_off, long i, long n_classes,
                     __global const long *target, long t_off, long ignore_index,
                     __global long *flag, long op, __global REAL *valid, __global REAL *lse) {
    __global const REAL *row = x + x_off + i * n_classes;
    REAL m = -INFINITY;
    for (long j = 0; j < n_classes; ++j) {
        m = fmax(m, row[j]);  // NaN is skipped here and poisons the sum below
    }
    REAL s = (REAL)0;
    for (long j = 0; j < n_classes; ++j) {
        s += exp(row[j] - m);
    }
    const REAL l = isinf(m) ? m : m + log(s);
    lse[i] = l;
    const long t = target[t_off + i];
    if (t == ignore_index) {
        valid[i] = (REAL)0;
        return (REAL)0;
    }
    valid[i] = (REAL)1;
    if (t < 0 || t >= n_classes) {
        report_error(flag, ERROR_TARGET, op, t, i, n_classes);
        return (REAL)NAN;
    }
    return l - row[t];
}

__kernel void loss_cross_entropy_rows(__global const REAL *x, const long x_off, const long n_rows,
                                      const long n_classes, __global const long *target,
                                      const long t_off, const long ignore_index,
                                      __global long *flag, const long op,
                                      __global REAL *loss, __global REAL *valid,
                                      __global REAL *lse) {
    const long i = get_global_id(0);
    if (i < n_rows) {
        loss[i] = row_loss(x, x_off, i, n_classes, target, t_off, ignore_index, flag, op, valid,
                           lse);
    }
}

__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void loss_cross_entropy_total(
    __global const REAL *x, const long x_off, const long n_rows, const long n_classes,
    __global const long *target, const long t_off, const long ignore_index,
    __global long *flag, const long op, const int mean, __global REAL *total,
    __global REAL *count, __global REAL *valid, __global REAL *lse) {
    __local REAL sums[LWS];
    __local REAL counts[LWS];
    const int w = get_local_id(0);
    REAL s = (REAL)0;
    REAL c = (REAL)0;
    for (long i = w; i < n_rows; i += LWS) {
        s += row_loss(x, x_off, i, n_classes, target, t_off, ignore_index, flag, op, valid, lse);
        c += valid[i];
    }
    sums[w] = s;
    counts[w] = c;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = LWS / 2; span > 0; span /= 2) {
        if (w < span) {
            sums[w] += sums[w + span];
            counts[w] += counts[w + span];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (w == 0) {
        total[0] = mean ? sums[0] / counts[0] : sums[0];
        count[0] = mean ? counts[0] : (REAL)1;
    }
}

__kernel void loss_cross_entropy_backward(__global const REAL *x, const long x_off,
                                          const long n_rows, const long n_classes,
                                          __global const long *target, const long t_off,
                                          __global const REAL *valid, __global const REAL *lse,
                                          __global const REAL *grad, const long g_off,
                                          const long grad_stride, __global const REAL *divisor,
                                          const long d_off, __global REAL *dx) {
    const long k = get_global_id(0);
    if (k >= n_rows * n_classes) {
        return;
    }
    const long i = k / n_classes;
    const long j = k - i * n_classes;
    const REAL scale = valid[i] * (grad[g_off + i * grad_stride] / divisor[d_off]);
    const REAL p = exp(x[x_off + k] - lse[i]);
    dx[k] = (p - (j == target[t_off + i] ? (REAL)1 : (REAL)0)) * scale;
}
