// linalg.cl: the small kernels of the blocked factorisations and solves, whose bulk work is our
// GEMM (host side: backends/opencl/cholesky.py, triangular.py, lu.py). Matrices are batches of
// contiguous n x n row-major blocks (batch stride n*n) from an element offset, factored in place.
//   linalg_potrf_diag: Cholesky; one work-group of LWS items per matrix factors the nb x nb
//     diagonal block at (k0, k0) by the unblocked right-looking algorithm. A pivot that is not
//     > 0 (or NaN) stores in status[b] the order of the first leading minor that is not
//     positive definite (1-based) and stops that matrix; later launches skip it.
//   linalg_trsm_rows: Cholesky; one work-item per (matrix, row i >= k0 + nb) solves
//     x L_kk^T = A[i, k0:k0+nb] in place by forward substitution: the panel below the block.
//   linalg_trsm_block, linalg_getrf_panel, linalg_laswp: triangular solves and LU, below.
// Options: -DREAL=float|double, -DLWS (work-group size of the per-matrix kernels); the hosts
// build every kernel with the same options, so each dtype is one program.
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

// linalg_trsm_block: one work-item per (matrix, column j of X) solves T_kk X_k = X_k in place by
// substitution: T_kk is the nb x nb diagonal block at (k0, k0) of T (n x n, lower, or upper with
// upper != 0, unit diagonal with unit != 0; batch stride n*n from element t_offset), X_k rows
// k0..k0+nb-1 of X (rows of ldx elements, k columns, batch stride x_batch from x_offset). The
// host orders the blocks and subtracts each solved block from the rest of X with GEMM. A zero on
// the diagonal gives inf or NaN, unchecked, as in PyTorch.
__kernel void linalg_trsm_block(
    __global const REAL *t, const long t_offset, __global REAL *bx, const long x_offset,
    const long x_batch, const long ldx, const long n, const long k, const long k0, const long nb,
    const long batch, const int upper, const int unit)
{
    const long gid = get_global_id(0);
    if (gid >= batch * k)
        return;
    const long b = gid / k;
    const long j = gid % k;
    __global const REAL *m = t + t_offset + b * n * n;
    __global REAL *x = bx + x_offset + b * x_batch + j;
    for (long s = 0; s < nb; ++s) {
        const long i = upper ? k0 + nb - 1 - s : k0 + s;
        REAL acc = x[i * ldx];
        if (upper) {
            for (long c = i + 1; c < k0 + nb; ++c)
                acc -= m[i * n + c] * x[c * ldx];
        } else {
            for (long c = k0; c < i; ++c)
                acc -= m[i * n + c] * x[c * ldx];
        }
        x[i * ldx] = unit ? acc : acc / m[i * n + i];
    }
}

// linalg_getrf_panel: one work-group of LWS items per matrix factors the n - k0 x nb panel at
// (k0, k0) of a (n x n, batch stride n*n from offset) with partial pivoting: for each column j,
// the row p >= j of largest |a[p, j]| (the first on ties, as LAPACK) is swapped with row j over
// the whole width n, piv[b, j] = p, the column below the pivot is divided by it and the rest of
// the panel gets the rank-1 update. An exact zero pivot stores j + 1 in status[b] (the first
// one only; LAPACK's info) and skips the division, as LAPACK does.
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void linalg_getrf_panel(
    __global REAL *a, const long offset, __global long *piv, __global int *status, const long n,
    const long k0, const long nb)
{
    const long b = get_group_id(0);
    const int lid = get_local_id(0);
    __global REAL *m = a + offset + b * n * n;
    __local REAL best[LWS];
    __local long where[LWS];
    const long end = k0 + nb;
    for (long j = k0; j < end; ++j) {
        REAL mine = (REAL)-1;
        long at = j;
        for (long i = j + lid; i < n; i += LWS) {
            const REAL v = fabs(m[i * n + j]);
            if (v > mine) {
                mine = v;
                at = i;
            }
        }
        best[lid] = mine;
        where[lid] = at;
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);  // the reads of column j, too
        for (int step = LWS / 2; step > 0; step >>= 1) {
            if (lid < step) {
                const REAL other = best[lid + step];
                const long other_at = where[lid + step];
                if (other > best[lid] || (other == best[lid] && other_at < where[lid])) {
                    best[lid] = other;
                    where[lid] = other_at;
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        const long p = where[0];
        if (p != j)
            for (long c = lid; c < n; c += LWS) {
                const REAL tmp = m[j * n + c];
                m[j * n + c] = m[p * n + c];
                m[p * n + c] = tmp;
            }
        if (lid == 0) {
            piv[b * n + j] = p;
            if (best[0] == (REAL)0 && status[b] == 0)  // the pivot's |value|
                status[b] = (int)(j + 1);
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        const REAL pivot = m[j * n + j];
        if (pivot != (REAL)0)
            for (long i = j + 1 + lid; i < n; i += LWS)
                m[i * n + j] /= pivot;
        barrier(CLK_GLOBAL_MEM_FENCE);
        const long w = end - j - 1;  // the panel's columns right of j
        for (long t = lid; t < (n - j - 1) * w; t += LWS) {
            const long i = j + 1 + t / w;
            const long c = j + 1 + t % w;
            m[i * n + c] -= m[i * n + j] * m[j * n + c];
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    }
}

// linalg_laswp: one work-item per (matrix, column j of X) applies the row swaps of
// linalg_getrf_panel to X (n x k, batch stride n*k from offset): rows i and piv[b, i] for i = 0
// .. n-1, in order.
__kernel void linalg_laswp(
    __global REAL *x, const long offset, __global const long *piv, const long n, const long k,
    const long batch)
{
    const long gid = get_global_id(0);
    if (gid >= batch * k)
        return;
    const long b = gid / k;
    __global REAL *col = x + offset + b * n * k + gid % k;
    for (long i = 0; i < n; ++i) {
        const long p = piv[b * n + i];
        if (p != i) {
            const REAL tmp = col[i * k];
            col[i * k] = col[p * k];
            col[p * k] = tmp;
        }
    }
}

// ---- QR (host side: backends/opencl/qr.py), LAPACK's dgeqrf/dorgqr in blocks of jb columns.
// Matrices are m x n, row-major, batch stride m*n from offset; tau holds k = min(m, n) values a
// matrix.
//   linalg_geqr2_panel: one work-group per matrix factors columns j0..j0+jb-1 (rows j0..m-1) by
//     Householder reflections H = I - tau v v^T, v[j] = 1, as LAPACK's dlarfg: beta =
//     -sign(alpha) * ||(alpha, x)|| goes to the diagonal (R), v below it; x == 0 gives tau = 0
//     (H = I, the diagonal keeps alpha). The norm is taken as amax * ||x / amax|| (no overflow);
//     NaN propagates. Each reflection is applied to the panel's later columns at once.
//   linalg_qr_v: V (batch x (m - j0) x jb) of the panel: the reflectors with their unit diagonal
//     and zeros above it, for the GEMMs of the block reflector I - V T V^T.
//   linalg_larft: T (jb x jb upper triangular) of the block reflector from S = V^T V and tau:
//     T[i, i] = tau_i, T[0:i, i] = -tau_i T[0:i, 0:i] S[0:i, i] (dlarft, forward, columnwise).
// The work-group's sum of `mine` (every work-item calls it; red is LWS long, reusable after).
static REAL linalg_local_sum(__local REAL *red, const int lid, const REAL mine)
{
    red[lid] = mine;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = LWS / 2; step > 0; step >>= 1) {
        if (lid < step)
            red[lid] += red[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return red[0];
}

__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void linalg_geqr2_panel(
    __global REAL *a, const long offset, __global REAL *tau, const long m, const long n,
    const long k, const long j0, const long jb)
{
    const long b = get_group_id(0);
    const int lid = get_local_id(0);
    __global REAL *x = a + offset + b * m * n;
    __global REAL *tb = tau + b * k;
    __local REAL red[LWS];
    __local REAL shared[2];  // the scale of v and tau of the current column
    for (long j = j0; j < j0 + jb; ++j) {
        REAL mx = (REAL)0;
        for (long i = j + 1 + lid; i < m; i += LWS) {
            const REAL v = fabs(x[i * n + j]);
            mx = (v > mx || isnan(v)) ? v : mx;  // NaN wins
        }
        red[lid] = mx;
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        for (int step = LWS / 2; step > 0; step >>= 1) {
            if (lid < step) {
                const REAL o = red[lid + step];
                if (o > red[lid] || isnan(o))
                    red[lid] = o;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        const REAL amax = red[0];
        barrier(CLK_LOCAL_MEM_FENCE);
        REAL ss = (REAL)0;
        if (amax != (REAL)0)
            for (long i = j + 1 + lid; i < m; i += LWS) {
                const REAL t = x[i * n + j] / amax;
                ss += t * t;
            }
        const REAL sumsq = linalg_local_sum(red, lid, ss);
        if (lid == 0) {
            const REAL alpha = x[j * n + j];
            const REAL xnorm = amax * sqrt(sumsq);
            REAL t = (REAL)0;
            REAL scale = (REAL)1;
            if (xnorm != (REAL)0) {  // NaN included: it propagates
                const REAL beta = -copysign(hypot(alpha, xnorm), alpha);
                t = (beta - alpha) / beta;
                scale = (REAL)1 / (alpha - beta);
                x[j * n + j] = beta;
            }
            tb[j] = t;
            shared[0] = scale;
            shared[1] = t;
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        const REAL scale = shared[0];
        const REAL t = shared[1];
        for (long i = j + 1 + lid; i < m; i += LWS)
            x[i * n + j] *= scale;
        barrier(CLK_GLOBAL_MEM_FENCE);
        for (long c = j + 1; c < j0 + jb; ++c) {  // H applied to the panel's later columns
            REAL s = (REAL)0;
            for (long i = j + 1 + lid; i < m; i += LWS)
                s += x[i * n + j] * x[i * n + c];
            const REAL w = t * (linalg_local_sum(red, lid, s) + x[j * n + c]);
            barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
            for (long i = j + 1 + lid; i < m; i += LWS)
                x[i * n + c] -= w * x[i * n + j];
            if (lid == 0)
                x[j * n + c] -= w;
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
    }
}

__kernel void linalg_qr_v(
    __global const REAL *a, const long offset, const long m, const long n, const long j0,
    const long jb, const long batch, __global REAL *v)
{
    const long gid = get_global_id(0);
    const long mp = m - j0;
    if (gid >= batch * mp * jb)
        return;
    const long b = gid / (mp * jb);
    const long r = gid - b * mp * jb;
    const long i = r / jb;
    const long c = r - i * jb;
    v[gid] = i > c ? a[offset + b * m * n + (j0 + i) * n + j0 + c] : (i == c ? (REAL)1 : (REAL)0);
}

__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void linalg_larft(
    __global const REAL *s, __global const REAL *tau, const long k, const long j0, const long jb,
    __global REAL *t)
{
    const long b = get_group_id(0);
    const int lid = get_local_id(0);
    __global const REAL *sb = s + b * jb * jb;
    __global const REAL *taub = tau + b * k + j0;
    __global REAL *tm = t + b * jb * jb;
    for (long i = 0; i < jb; ++i) {
        for (long p = lid; p < jb; p += LWS) {
            REAL v = (REAL)0;
            if (p < i) {
                REAL acc = (REAL)0;
                for (long q = p; q < i; ++q)
                    acc += tm[p * jb + q] * sb[q * jb + i];
                v = -taub[i] * acc;
            } else if (p == i) {
                v = taub[i];
            }
            tm[p * jb + i] = v;
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
}
