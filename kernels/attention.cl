// attention.cl: scaled dot-product attention, out = softmax(q kᵀ · scale + mask) v, without the
// Lq x Lk score matrix. Host side: backends/opencl/attention.py. Operands are contiguous and
// batched over g = batch·head: q is (G, Lq, HEAD_DIM), k is (G, Lk, HEAD_DIM), v is
// (G, Lk, VALUE_DIM). Work-item (r, g) takes row r of head g (a query row forward and for dq,
// a key row for dk/dv); a work-group is a block of consecutive rows of one head, so the rows
// that all its work-items read (k and v forward, q and grad for dk/dv) are shared in cache.
// No local memory and no barriers: each work-item keeps its row, its accumulators and at most
// one block of BLOCK_N scores in private memory.
//   attention_forward: online softmax over key blocks of BLOCK_N: a running maximum m, a running
//     sum l of exp(s - m) and the running weighted sum of v rows, rescaled by exp(m_old - m_new)
//     whenever the maximum grows. out = acc / l and lse = m + log(l), the row's logsumexp. A row
//     whose every key is masked has l = 0: out = 0/0 = NaN and lse = -inf, as the composed
//     softmax gives NaN weights there.
//   attention_backward_dq: recompute p = exp(s - lse) key by key; with delta = Σ grad·out over
//     the row, ds = p (grad·v_j - delta) and dq = scale Σ_j ds k_j; delta is written for the
//     next kernel.
//   attention_backward_dkdv: per key row j, over the query rows i: dv_j = Σ_i p_ij grad_i and
//     dk_j = scale Σ_i ds_ij q_i. Each key row is summed by one work-item: no atomics, and the
//     result does not depend on scheduling.
// Masks (runtime switches, so one build serves all): `keep` (bytes, 0 masks the score out),
// `bias` (added to the score), each (Lq, Lk) per head at offset g·*_g (*_g = 0: one mask for
// every head); `causal` masks key j > query i.
// Options: -DREAL=float|double, -DFP64 with double, -DHEAD_DIM, -DVALUE_DIM (the row lengths
// of q/k and of v), -DBLOCK_N (keys per score block).
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
#ifndef BLOCK_N
#define BLOCK_N 16
#endif

#define MASK_PARAMS                                                                     \
    __global const uchar *keep, const long keep_off, const long keep_g, const int use_keep, \
        __global const REAL *bias, const long bias_off, const long bias_g, const int use_bias
#define MASK_ARGS keep, keep_off, keep_g, use_keep, bias, bias_off, bias_g, use_bias

#define REAL4 ATTENTION_VEC(REAL, 4)
#define REAL8 ATTENTION_VEC(REAL, 8)
#define ATTENTION_VEC(type, n) ATTENTION_CAT(type, n)
#define ATTENTION_CAT(a, b) a##b

// Σ a[d] b[d] over n entries (HEAD_DIM or VALUE_DIM, known when compiling): eight partial sums
// in one vector register, then the tail. `a` is a row the work-item holds in private memory.
inline REAL attention_dot(const REAL *a, __global const REAL *b, const int n) {
    REAL sum = 0;
    int d = 0;
    if (n >= 8) {
        REAL8 acc = (REAL8)(0);
        for (; d + 8 <= n; d += 8) {
            acc = fma(vload8(0, a + d), vload8(0, b + d), acc);
        }
        const REAL4 h = acc.lo + acc.hi;
        sum = (h.x + h.y) + (h.z + h.w);
    }
    for (; d < n; ++d) {
        sum = fma(a[d], b[d], sum);
    }
    return sum;
}

// Private rows: row = src, row = 0, row += a · src, dst = row · factor (n entries each).
inline void attention_load(REAL *row, __global const REAL *src, const int n) {
    for (int d = 0; d < n; ++d) row[d] = src[d];
}

inline void attention_zero(REAL *row, const int n) {
    for (int d = 0; d < n; ++d) row[d] = 0;
}

inline void attention_axpy(REAL *row, const REAL a, __global const REAL *src, const int n) {
    for (int d = 0; d < n; ++d) row[d] = fma(a, src[d], row[d]);
}

inline void attention_store(__global REAL *dst, const REAL *row, const REAL factor, const int n) {
    for (int d = 0; d < n; ++d) dst[d] = row[d] * factor;
}

// The score of query i and key j of head g: dot · scale plus the masks; -INFINITY if masked.
inline REAL attention_masked(REAL dot, REAL scale, long i, long j, long lk, long g,
                             MASK_PARAMS) {
    const long at = i * lk + j;
    REAL s = dot * scale;
    if (use_bias) {
        s += bias[bias_off + g * bias_g + at];
    }
    if (use_keep && !keep[keep_off + g * keep_g + at]) {
        s = -INFINITY;
    }
    return s;
}

__kernel void attention_forward(const long lq, const long lk, const REAL scale, const int causal,
                                __global const REAL *q, const long q_off,
                                __global const REAL *k, const long k_off,
                                __global const REAL *v, const long v_off, MASK_PARAMS,
                                __global REAL *out, __global REAL *lse) {
    const long i = get_global_id(0);
    const long g = get_global_id(1);
    if (i >= lq) return;
    __global const REAL *qi = q + q_off + (g * lq + i) * HEAD_DIM;
    __global const REAL *kg = k + k_off + g * lk * HEAD_DIM;
    __global const REAL *vg = v + v_off + g * lk * VALUE_DIM;
    REAL qr[HEAD_DIM];
    attention_load(qr, qi, HEAD_DIM);
    REAL acc[VALUE_DIM];
    attention_zero(acc, VALUE_DIM);
    REAL m = -INFINITY;
    REAL l = 0;
    const long end = causal ? min(lk, i + 1) : lk;
    for (long j0 = 0; j0 < end; j0 += BLOCK_N) {
        const int n = (int)min((long)BLOCK_N, end - j0);
        REAL s[BLOCK_N];
        REAL block_max = -INFINITY;
        for (int t = 0; t < n; ++t) {
            const REAL dot = attention_dot(qr, kg + (j0 + t) * HEAD_DIM, HEAD_DIM);
            s[t] = attention_masked(dot, scale, i, j0 + t, lk, g, MASK_ARGS);
            block_max = fmax(block_max, s[t]);
        }
        const REAL m_new = fmax(m, block_max);
        // While every score so far is masked, shift by 0: exp(-inf - 0) = 0, never inf - inf.
        const REAL shift = m_new == -INFINITY ? (REAL)0 : m_new;
        const REAL alpha = exp(m - shift);
        l *= alpha;
        for (int c = 0; c < VALUE_DIM; ++c) acc[c] *= alpha;
        for (int t = 0; t < n; ++t) {
            const REAL p = exp(s[t] - shift);
            l += p;
            attention_axpy(acc, p, vg + (j0 + t) * VALUE_DIM, VALUE_DIM);
        }
        m = m_new;
    }
    attention_store(out + (g * lq + i) * VALUE_DIM, acc, 1 / l, VALUE_DIM);
    lse[g * lq + i] = m + log(l);
}

__kernel void attention_backward_dq(const long lq, const long lk, const REAL scale,
                                    const int causal, __global const REAL *q, const long q_off,
                                    __global const REAL *k, const long k_off,
                                    __global const REAL *v, const long v_off, MASK_PARAMS,
                                    __global const REAL *out, const long out_off,
                                    __global const REAL *grad, const long grad_off,
                                    __global const REAL *lse, const long lse_off,
                                    __global REAL *delta, __global REAL *dq) {
    const long i = get_global_id(0);
    const long g = get_global_id(1);
    if (i >= lq) return;
    const long row = g * lq + i;
    __global const REAL *kg = k + k_off + g * lk * HEAD_DIM;
    __global const REAL *vg = v + v_off + g * lk * VALUE_DIM;
    REAL qr[HEAD_DIM];
    REAL dqr[HEAD_DIM];
    attention_load(qr, q + q_off + row * HEAD_DIM, HEAD_DIM);
    attention_zero(dqr, HEAD_DIM);
    REAL gr[VALUE_DIM];
    attention_load(gr, grad + grad_off + row * VALUE_DIM, VALUE_DIM);
    const REAL di = attention_dot(gr, out + out_off + row * VALUE_DIM, VALUE_DIM);
    delta[row] = di;
    const REAL li = lse[lse_off + row];
    const long end = causal ? min(lk, i + 1) : lk;
    for (long j = 0; j < end; ++j) {
        const REAL dot = attention_dot(qr, kg + j * HEAD_DIM, HEAD_DIM);
        const REAL p = exp(attention_masked(dot, scale, i, j, lk, g, MASK_ARGS) - li);
        const REAL dp = attention_dot(gr, vg + j * VALUE_DIM, VALUE_DIM);
        attention_axpy(dqr, p * (dp - di), kg + j * HEAD_DIM, HEAD_DIM);
    }
    attention_store(dq + row * HEAD_DIM, dqr, scale, HEAD_DIM);
}

__kernel void attention_backward_dkdv(const long lq, const long lk, const REAL scale,
                                      const int causal, __global const REAL *q, const long q_off,
                                      __global const REAL *k, const long k_off,
                                      __global const REAL *v, const long v_off, MASK_PARAMS,
                                      __global const REAL *grad, const long grad_off,
                                      __global const REAL *lse, const long lse_off,
                                      __global const REAL *delta, __global REAL *dk,
                                      __global REAL *dv) {
    const long j = get_global_id(0);
    const long g = get_global_id(1);
    if (j >= lk) return;
    const long row = g * lk + j;
    __global const REAL *qg = q + q_off + g * lq * HEAD_DIM;
    __global const REAL *gg = grad + grad_off + g * lq * VALUE_DIM;
    REAL kr[HEAD_DIM];
    REAL dkr[HEAD_DIM];
    attention_load(kr, k + k_off + row * HEAD_DIM, HEAD_DIM);
    attention_zero(dkr, HEAD_DIM);
    REAL vr[VALUE_DIM];
    REAL dvr[VALUE_DIM];
    attention_load(vr, v + v_off + row * VALUE_DIM, VALUE_DIM);
    attention_zero(dvr, VALUE_DIM);
    for (long i = causal ? j : 0; i < lq; ++i) {
        __global const REAL *qi = qg + i * HEAD_DIM;
        __global const REAL *gi = gg + i * VALUE_DIM;
        const REAL dot = attention_dot(kr, qi, HEAD_DIM);
        const REAL s = attention_masked(dot, scale, i, j, lk, g, MASK_ARGS);
        const REAL p = exp(s - lse[lse_off + g * lq + i]);
        const REAL dp = attention_dot(vr, gi, VALUE_DIM);
        attention_axpy(dvr, p, gi, VALUE_DIM);
        attention_axpy(dkr, p * (dp - delta[g * lq + i]), qi, HEAD_DIM);
    }
    attention_store(dk + row * HEAD_DIM, dkr, scale, HEAD_DIM);
    attention_store(dv + row * VALUE_DIM, dvr, 1, VALUE_DIM);
}
