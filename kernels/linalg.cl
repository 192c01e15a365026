// linalg.cl: the small kernels of the blocked Cholesky factorisation (host side:
// backends/opencl/cholesky.py), on a batch of contiguous n x n row-major matrices (batch
// stride n*n), in place on the lower triangle; the trailing update between blocks is our GEMM.
//   linalg_potrf_diag: one work-group of LWS items per matrix factors the nb x nb diagonal
//     block at (k0, k0) by the unblocked right-looking algorithm. A pivot that is not > 0 (or
//     NaN) stores in status[b] the order of the first leading minor that is not positive
//     definite (1-based) and stops that matrix; later launches skip it.
//   linalg_trsm_rows: one work-item per (matrix, row i >= k0 + nb) solves x L_kk^T = A[i, k0:
//     k0+nb] in place by forward substitution: the panel below the diagonal block.
// Options: -DREAL=float|double, -DLWS (work-group size of linalg_potrf_diag).
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#ifndef REAL
#define REAL float
#endif
#ifndef LWS
#define LWS 64
#endif

__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void linalg_potrf_diag(
    __global REAL *a, const long offset, __global int *status, const long n, const long k0,
    const long nb)
{
    const long b = get_group_id(0);
    const int lid = get_local_id(0);
    __global REAL *m = a + offset + b * n * n;
    if (status[b])  // failed in an earlier block: every item reads the same value
        return;
    __local int failed;
    if (lid == 0)
        failed = 0;
    const long end = k0 + nb;
    for (long j = k0; j < end; ++j) {
        if (lid == 0) {
            const REAL d = m[j * n + j];
            if (d > (REAL)0)
                m[j * n + j] = sqrt(d);
            else
                failed = (int)(j + 1);
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        if (failed) {  // written after the barrier: every item has read status[b] by then
            if (lid == 0)
                status[b] = failed;
            return;
        }
        const REAL pivot = m[j * n + j];
        for (long i = j + 1 + lid; i < end; i += LWS)
            m[i * n + j] /= pivot;
        barrier(CLK_GLOBAL_MEM_FENCE);
        const long w = end - j - 1;  // the block's trailing square: rows and columns j+1..end-1
        for (long t = lid; t < w * w; t += LWS) {
            const long i = j + 1 + t / w;
            const long c = j + 1 + t % w;
            if (c <= i)
                m[i * n + c] -= m[i * n + j] * m[c * n + j];
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
}

__kernel void linalg_trsm_rows(
    __global REAL *a, const long offset, __global const int *status, const long n, const long k0,
    const long nb, const long batch)
{
    const long gid = get_global_id(0);
    const long rows = n - k0 - nb;
    if (gid >= batch * rows)
        return;
    const long b = gid / rows;
    if (status[b])
        return;
    const long i = k0 + nb + gid % rows;
    __global REAL *m = a + offset + b * n * n;
    for (long c = k0; c < k0 + nb; ++c) {
        REAL s = m[i * n + c];
        for (long t = k0; t < c; ++t)
            s -= m[i * n + t] * m[c * n + t];
        m[i * n + c] = s / m[c * n + c];
    }
}

// linalg_trsm_block: one work-item per (matrix, column j of B) solves T_kk X = B[k0:k0+nb, j]
// in place by substitution, T_kk the nb x nb diagonal block at (k0, k0) of T (n x n, lower, or
// upper with -DUPPER=1, batch stride n*n from element t_offset); B is n x k (batch stride n*k
// from b_offset). The host orders the blocks and subtracts each solved block from the rest of
// B with GEMM. A zero on the diagonal gives inf or NaN, unchecked, as in PyTorch.
#ifndef UPPER
#define UPPER 0
#endif

__kernel void linalg_trsm_block(
    __global const REAL *t, const long t_offset, __global REAL *bx, const long b_offset,
    const long n, const long k, const long k0, const long nb, const long batch)
{
    const long gid = get_global_id(0);
    if (gid >= batch * k)
        return;
    const long b = gid / k;
    const long j = gid % k;
    __global const REAL *m = t + t_offset + b * n * n;
    __global REAL *x = bx + b_offset + b * n * k + j;
    for (long s = 0; s < nb; ++s) {
        const long i = UPPER ? k0 + nb - 1 - s : k0 + s;
        REAL acc = x[i * k];
        if (UPPER) {
            for (long c = i + 1; c < k0 + nb; ++c)
                acc -= m[i * n + c] * x[c * k];
        } else {
            for (long c = k0; c < i; ++c)
                acc -= m[i * n + c] * x[c * k];
        }
        x[i * k] = acc / m[i * n + i];
    }
}
