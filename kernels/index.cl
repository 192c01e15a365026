// index.cl: gathers and scatters along one axis, for integer-array indexing, take,
// take_along_axis and boolean masks (after their indices are known).
// The source x is viewed as C-contiguous (P, N, Q): P = product of the axes before the indexed
// axis, N = its length, Q = product of the axes after it. Indices are int64; negative ones
// count from the end; out-of-range ones are clamped (the standard leaves them unspecified and a
// kernel cannot raise).
// Options: -DT=uchar|ushort|uint|ulong   element type (the unsigned type of the dtype's width)
// Kernels:
//   index_take(n, out, x, x_off, idx, idx_off, N, J, Q)         out (P, J, Q) = x[:, idx, :]
//   index_take_along(n, out, x, x_off, idx, idx_off, N, J, Q)   out[p, j, q] = x[p, idx[p, j, q], q]
//   index_put(n, x, x_off, idx, idx_off, N, J, Q, v, v_off)     x[:, idx, :] = v (P, J, Q)
#ifndef T
#define T uint
#endif

static inline long wrap_index(long k, const long N) {
    if (k < 0) k += N;
    return clamp(k, 0L, N - 1);
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
    out[i] = x[x_off + (p * N + k) * Q + q];
}

__kernel void index_take_along(const long n, __global T *out, __global const T *x,
                               const long x_off, __global const long *idx, const long idx_off,
                               const long N, const long J, const long Q) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long q = i % Q;
    const long p = i / Q / J;
    const long k = wrap_index(idx[idx_off + i], N);
    out[i] = x[x_off + (p * N + k) * Q + q];
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
    x[x_off + (p * N + k) * Q + q] = v[v_off + i];
}
