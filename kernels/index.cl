// index.cl: gathers and scatters along one axis, for integer-array indexing, take,
// take_along_axis and boolean masks (after their indices are known).
// The source x is viewed as C-contiguous (P, N, Q): P = product of the axes before the indexed
// axis, N = its length, Q = product of the axes after it. Indices are int64; negative ones
// count from the end. An index outside [-N, N) is reported on the device's error flag
// (errors.h; the host raises at its next read); its gather reads 0 and its scatter writes
// nothing, so no access leaves the buffer. index_take and index_put get indices that index_wrap
// has already checked (and left out of range when they were bad).
// Options: -DT=uchar|ushort|uint|ulong   element type (the unsigned type of the dtype's width)
// Kernels:
//   index_take(n, out, x, x_off, idx, idx_off, N, J, Q)         out (P, J, Q) = x[:, idx, :]
//   index_take_along(n, out, x, x_off, idx, idx_off, N, J, Q)   out[p, j, q] = x[p, idx[p, j, q], q]
//   index_put(n, x, x_off, idx, idx_off, N, J, Q, v, v_off)     x[:, idx, :] = v (P, J, Q)
//   index_wrap(n, out, idx, idx_off, N, flag, op)               out = idx + N where idx < 0,
//                                                               checking -N <= idx < N
//   index_check_targets(n, t, t_off, N, ignore, flag, op)       checks 0 <= t < N or t == ignore
#ifndef T
#define T uint
#endif

#include "errors.h"

// k + N for a negative k that is in range; a bad k stays outside [0, N).
static inline long wrap_index(const long k, const long N) {
    return (k < 0 && k >= -N) ? k + N : k;
}

__kernel void index_take(const long n, __global T *out, __global const T *x, const long x_off,
                         __global const long *idx, const long idx_off, const long N,
                         const long J, const long Q) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long q = i % Q;
    const long t = i / Q;
    const long j = t % J;
    const long p = t / J;
    const long k = wrap_index(idx[idx_off + j], N);
    out[i] = (k >= 0 && k < N) ? x[x_off + (p * N + k) * Q + q] : (T)0;
}

__kernel void index_take_along(const long n, __global T *out, __global const T *x,
                               const long x_off, __global const long *idx, const long idx_off,
                               const long N, const long J, const long Q,
                               __global long *flag, const long op) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long q = i % Q;
    const long p = i / Q / J;
    const long raw = idx[idx_off + i];
    if (raw < -N || raw >= N) report_error(flag, ERROR_INDEX, op, raw, i, N);
    const long k = wrap_index(raw, N);
    out[i] = (k >= 0 && k < N) ? x[x_off + (p * N + k) * Q + q] : (T)0;
}

__kernel void index_put(const long n, __global T *x, const long x_off, __global const long *idx,
                        const long idx_off, const long N, const long J, const long Q,
                        __global const T *v, const long v_off) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long q = i % Q;
    const long t = i / Q;
    const long j = t % J;
    const long p = t / J;
    const long k = wrap_index(idx[idx_off + j], N);
    if (k >= 0 && k < N) x[x_off + (p * N + k) * Q + q] = v[v_off + i];
}

__kernel void index_wrap(const long n, __global long *out, __global const long *idx,
                         const long idx_off, const long N, __global long *flag, const long op) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long raw = idx[idx_off + i];
    if (raw < -N || raw >= N) report_error(flag, ERROR_INDEX, op, raw, i, N);
    out[i] = wrap_index(raw, N);
}

__kernel void index_check_targets(const long n, __global const long *t, const long t_off,
                                  const long N, const long ignore, __global long *flag,
                                  const long op) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long v = t[t_off + i];
    if ((v < 0 || v >= N) && v != ignore) report_error(flag, ERROR_TARGET, op, v, i, N);
}
