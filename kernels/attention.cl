// attention.cl: scaled dot-product attention, out = softmax(q kᵀ · scale + mask) v, without the
// Lq x Lk score matrix. Host side: backends/opencl/attention.py. Operands are contiguous and
// batched over g = batch·head: q is (G, Lq, HEAD_DIM), k is (G, Lk, HEAD_DIM), v is
// (G, Lk, VALUE_DIM). Work-item (w, g) takes ROWS consecutive rows of head g, one per lane of a
// REALV vector (query rows forward and for dq, key rows for dk/dv); it holds them transposed
// (element d of every row in one vector), so each step is a broadcast FMA of one shared key or
// query element over all lanes, as in the CPU GEMM. A work-group is a block of consecutive rows
// of one head: the rows its work-items all read (k and v forward, q and grad for dk/dv) are
// shared in cache. No local memory and no barriers; each work-item keeps its rows, its
// accumulators and at most one block of ROWS x BLOCK_N scores in private memory. Lanes past the
// last row compute on zeros and are never stored.
//   attention_forward: online softmax over key blocks of BLOCK_N: a running maximum m, a running
//     sum l of exp(s - m) and the running weighted sum of v rows, rescaled by exp(m_old - m_new)
//     once per block. out = acc / l and lse = m + log(l), the row's log-sum-exp. A row whose
//     every key is masked has l = 0: out = 0/0 = NaN and lse = -inf, as the composed softmax
//     gives NaN weights there.
//   attention_backward_dq: recompute p = exp(s - lse) key by key; with delta = Σ grad·out over
//     the row, ds = p (grad·v_j - delta) and dq = scale Σ_j ds k_j; delta is written for the
//     next kernel.
//   attention_backward_dkdv: per key row j, over the query rows i: dv_j = Σ_i p_ij grad_i and
//     dk_j = scale Σ_i ds_ij q_i. Each key row is summed by one lane of one work-item: no
//     atomics, and the result does not depend on scheduling.
// Masks (runtime switches, so one build serves all): `keep` (bytes, 0 masks the score out),
// `bias` (added to the score), each (Lq, Lk) per head at offset g·*_g (*_g = 0: one mask for
// every head); `causal` masks key j > query i.
// Options: -DREAL=float|double, -DFP64 with double, -DHEAD_DIM, -DVALUE_DIM (the row lengths
// of q/k and of v), -DROWS=1|2|4|8|16 (rows per work-item: the vector width; 1 on GPUs),
// -DBLOCK_N (keys per score block).
#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#ifndef REAL
#define REAL float
#endif
#ifndef HEAD_DIM
#define HEAD_DIM 64
#endif
#ifndef VALUE_DIM
#define VALUE_DIM HEAD_DIM
#endif
#ifndef ROWS
#define ROWS 16
#endif
#ifndef BLOCK_N
#define BLOCK_N 16
#endif

#define ATTENTION_CAT(a, b) a##b
#define ATTENTION_VEC(name, n) ATTENTION_CAT(name, n)
#if ROWS == 1
#define REALV REAL
#define LOAD_ROWS(p) (*(p))
#define STORE_ROWS(x, p) (*(p) = (x))
#else
#define REALV ATTENTION_VEC(REAL, ROWS)
#define LOAD_ROWS(p) ATTENTION_VEC(vload, ROWS)(0, p)
#define STORE_ROWS(x, p) ATTENTION_VEC(vstore, ROWS)(x, 0, p)
#endif

#define MASK_PARAMS                                                                     \
    __global const uchar *keep, const long keep_off, const long keep_g, const int use_keep, \
        __global const REAL *bias, const long bias_off, const long bias_g, const int use_bias
#define MASK_ARGS keep, keep_off, keep_g, use_keep, bias, bias_off, bias_g, use_bias

// Rows r0 .. r0 + ROWS - 1 of `src` (rows of n entries), transposed: out[d] holds element d of
// each row, one row per lane; rows at or past `rows` read as 0.
inline void attention_load_rows(REALV *out, __global const REAL *src, const long r0,
                                const long rows, const int n) {
    for (int d = 0; d < n; ++d) {
        REAL lanes[ROWS];
        for (int r = 0; r < ROWS; ++r) {
            lanes[r] = r0 + r < rows ? src[(r0 + r) * n + d] : 0;
        }
        out[d] = LOAD_ROWS(lanes);
    }
}

// The inverse for output: dst row r0 + r = lanes r of acc · factor, for the rows below `rows`.
inline void attention_store_rows(__global REAL *dst, const REALV *acc, const REALV factor,
                                 const long r0, const long rows, const int n) {
    for (int d = 0; d < n; ++d) {
        REAL lanes[ROWS];
        STORE_ROWS(acc[d] * factor, lanes);
        for (int r = 0; r < ROWS && r0 + r < rows; ++r) dst[(r0 + r) * n + d] = lanes[r];
    }
}

// Per lane r: the value of row r0 + r of a length-`rows` vector (0 past the end).
inline REALV attention_load_lanes(__global const REAL *src, const long r0, const long rows) {
    REAL lanes[ROWS];
    for (int r = 0; r < ROWS; ++r) lanes[r] = r0 + r < rows ? src[r0 + r] : 0;
    return LOAD_ROWS(lanes);
}

inline void attention_store_lanes(__global REAL *dst, const REALV x, const long r0,
                                  const long rows) {
    REAL lanes[ROWS];
    STORE_ROWS(x, lanes);
    for (int r = 0; r < ROWS && r0 + r < rows; ++r) dst[r0 + r] = lanes[r];
}

// Σ_d rows[d] · b[d] per lane: one broadcast FMA per element of the shared row b.
inline REALV attention_dot(const REALV *rows, __global const REAL *b, const int n) {
    REALV sum = 0;
    for (int d = 0; d < n; ++d) sum = fma(rows[d], (REALV)(b[d]), sum);
    return sum;
}

// acc[d] += a · b[d] per lane.
inline void attention_axpy(REALV *acc, const REALV a, __global const REAL *b, const int n) {
    for (int d = 0; d < n; ++d) acc[d] = fma(a, (REALV)(b[d]), acc[d]);
}

inline void attention_zero(REALV *acc, const int n) {
    for (int d = 0; d < n; ++d) acc[d] = 0;
}

// The scores of query i0 + r·di and key j0 + r·dj in lane r (lanes run along the queries or
// along the keys): dot · scale plus the masks; -INFINITY where masked.
inline REALV attention_masked(const REALV dot, const REAL scale, const REALV lane, const long i0,
                              const long di, const long j0, const long dj, const long lq,
                              const long lk, const long g, const int causal, MASK_PARAMS) {
    REALV s = dot * scale;
    if (causal) {
        const REALV i = (REAL)i0 + lane * (REAL)di;
        const REALV j = (REAL)j0 + lane * (REAL)dj;
        s = j > i ? (REALV)(-INFINITY) : s;
    }
    if (use_bias || use_keep) {
        REAL lanes[ROWS];
        STORE_ROWS(s, lanes);
        for (int r = 0; r < ROWS; ++r) {
            const long i = i0 + r * di;
            const long j = j0 + r * dj;
            if (i >= lq || j >= lk) continue;
            if (use_bias) lanes[r] += bias[bias_off + g * bias_g + i * lk + j];
            if (use_keep && !keep[keep_off + g * keep_g + i * lk + j]) lanes[r] = -INFINITY;
        }
        s = LOAD_ROWS(lanes);
    }
    return s;
}

// 0, 1, ..., ROWS - 1: the lane numbers.
inline REALV attention_lanes(void) {
    REAL lanes[ROWS];
    for (int r = 0; r < ROWS; ++r) lanes[r] = r;
    return LOAD_ROWS(lanes);
}

__kernel void attention_forward(const long lq, const long lk, const REAL scale, const int causal,
                                __global const REAL *q, const long q_off,
                                __global const REAL *k, const long k_off,
                                __global const REAL *v, const long v_off, MASK_PARAMS,
                                __global REAL *out, __global REAL *lse) {
    const long i0 = get_global_id(0) * ROWS;
    const long g = get_global_id(1);
    if (i0 >= lq) return;
    __global const REAL *kg = k + k_off + g * lk * HEAD_DIM;
    __global const REAL *vg = v + v_off + g * lk * VALUE_DIM;
    const REALV lane = attention_lanes();
    REALV qt[HEAD_DIM];
    attention_load_rows(qt, q + q_off + g * lq * HEAD_DIM, i0, lq, HEAD_DIM);
    REALV acc[VALUE_DIM];
    attention_zero(acc, VALUE_DIM);
    REALV m = -INFINITY;
    REALV l = 0;
    const long end = causal ? min(lk, i0 + ROWS) : lk;
    for (long j0 = 0; j0 < end; j0 += BLOCK_N) {
        const int n = (int)min((long)BLOCK_N, end - j0);
        REALV s[BLOCK_N];
        REALV block_max = -INFINITY;
        for (int t = 0; t < n; ++t) {
            const REALV dot = attention_dot(qt, kg + (j0 + t) * HEAD_DIM, HEAD_DIM);
            s[t] = attention_masked(dot, scale, lane, i0, 1, j0 + t, 0, lq, lk, g, causal,
                                    MASK_ARGS);
            block_max = fmax(block_max, s[t]);
        }
        const REALV m_new = fmax(m, block_max);
        // While every score of a row is masked, shift by 0: exp(-inf - 0) = 0, not inf - inf.
        const REALV shift = m_new == (REALV)(-INFINITY) ? (REALV)0 : m_new;
        const REALV alpha = exp(m - shift);
        l *= alpha;
        for (int c = 0; c < VALUE_DIM; ++c) acc[c] *= alpha;
        for (int t = 0; t < n; ++t) {
            const REALV p = exp(s[t] - shift);
            l += p;
            attention_axpy(acc, p, vg + (j0 + t) * VALUE_DIM, VALUE_DIM);
        }
        m = m_new;
    }
    attention_store_rows(out + g * lq * VALUE_DIM, acc, 1 / l, i0, lq, VALUE_DIM);
    attention_store_lanes(lse + g * lq, m + log(l), i0, lq);
}

__kernel void attention_backward_dq(const long lq, const long lk, const REAL scale,
                                    const int causal, __global const REAL *q, const long q_off,
                                    __global const REAL *k, const long k_off,
                                    __global const REAL *v, const long v_off, MASK_PARAMS,
                                    __global const REAL *out, const long out_off,
                                    __global const REAL *grad, const long grad_off,
                                    __global const REAL *lse, const long lse_off,
                                    __global REAL *delta, __global REAL *dq) {
    const long i0 = get_global_id(0) * ROWS;
    const long g = get_global_id(1);
    if (i0 >= lq) return;
    __global const REAL *kg = k + k_off + g * lk * HEAD_DIM;
    __global const REAL *vg = v + v_off + g * lk * VALUE_DIM;
    const REALV lane = attention_lanes();
    REALV qt[HEAD_DIM];
    REALV dqt[HEAD_DIM];
    attention_load_rows(qt, q + q_off + g * lq * HEAD_DIM, i0, lq, HEAD_DIM);
    attention_zero(dqt, HEAD_DIM);
    REALV gt[VALUE_DIM];
    attention_load_rows(gt, grad + grad_off + g * lq * VALUE_DIM, i0, lq, VALUE_DIM);
    REALV di = 0;
    for (int c = 0; c < VALUE_DIM; ++c) {  // delta = Σ grad·out, row by row in the lanes
        REAL lanes[ROWS];
        for (int r = 0; r < ROWS; ++r) {
            const long i = i0 + r;
            lanes[r] = i < lq ? out[out_off + (g * lq + i) * VALUE_DIM + c] : 0;
        }
        di = fma(gt[c], LOAD_ROWS(lanes), di);
    }
    attention_store_lanes(delta + g * lq, di, i0, lq);
    const REALV li = attention_load_lanes(lse + lse_off + g * lq, i0, lq);
    const long end = causal ? min(lk, i0 + ROWS) : lk;
    for (long j = 0; j < end; ++j) {
        __global const REAL *kj = kg + j * HEAD_DIM;
        const REALV dot = attention_dot(qt, kj, HEAD_DIM);
        const REALV s =
            attention_masked(dot, scale, lane, i0, 1, j, 0, lq, lk, g, causal, MASK_ARGS);
        const REALV p = exp(s - li);
        const REALV dp = attention_dot(gt, vg + j * VALUE_DIM, VALUE_DIM);
        attention_axpy(dqt, p * (dp - di), kj, HEAD_DIM);
    }
    attention_store_rows(dq + g * lq * HEAD_DIM, dqt, (REALV)(scale), i0, lq, HEAD_DIM);
}

__kernel void attention_backward_dkdv(const long lq, const long lk, const REAL scale,
                                      const int causal, __global const REAL *q, const long q_off,
                                      __global const REAL *k, const long k_off,
                                      __global const REAL *v, const long v_off, MASK_PARAMS,
                                      __global const REAL *grad, const long grad_off,
                                      __global const REAL *lse, const long lse_off,
                                      __global const REAL *delta, __global REAL *dk,
                                      __global REAL *dv) {
    const long j0 = get_global_id(0) * ROWS;
    const long g = get_global_id(1);
    if (j0 >= lk) return;
    __global const REAL *qg = q + q_off + g * lq * HEAD_DIM;
    __global const REAL *gg = grad + grad_off + g * lq * VALUE_DIM;
    const REALV lane = attention_lanes();
    REALV kt[HEAD_DIM];
    REALV dkt[HEAD_DIM];
    attention_load_rows(kt, k + k_off + g * lk * HEAD_DIM, j0, lk, HEAD_DIM);
    attention_zero(dkt, HEAD_DIM);
    REALV vt[VALUE_DIM];
    REALV dvt[VALUE_DIM];
    attention_load_rows(vt, v + v_off + g * lk * VALUE_DIM, j0, lk, VALUE_DIM);
    attention_zero(dvt, VALUE_DIM);
    for (long i = causal ? j0 : 0; i < lq; ++i) {
        __global const REAL *qi = qg + i * HEAD_DIM;
        __global const REAL *gi = gg + i * VALUE_DIM;
        const REALV dot = attention_dot(kt, qi, HEAD_DIM);
        const REALV s =
            attention_masked(dot, scale, lane, i, 0, j0, 1, lq, lk, g, causal, MASK_ARGS);
        const REALV p = exp(s - lse[lse_off + g * lq + i]);
        const REALV dp = attention_dot(vt, gi, VALUE_DIM);
        attention_axpy(dvt, p, gi, VALUE_DIM);
        attention_axpy(dkt, p * (dp - delta[g * lq + i]), qi, HEAD_DIM);
    }
    attention_store_rows(dk + g * lk * HEAD_DIM, dkt, (REALV)(scale), j0, lk, HEAD_DIM);
    attention_store_rows(dv + g * lk * VALUE_DIM, dvt, (REALV)(1), j0, lk, VALUE_DIM);
}
