// optim.cl: multi-tensor optimizer updates. One launch updates up to TENSORS parameters of one
// dtype in place, so an optimizer step costs one launch per TENSORS parameters instead of
// several per parameter. Host side: backends/opencl/optim.py.
//
// The parameters' elements are cut into chunks of CHUNK contiguous elements; work-item w takes
// chunk w of the concatenation, finds its tensor t in the cumulative chunk counts of the
// tensors_t struct, and updates elements [c*CHUNK, min((c+1)*CHUNK, size[t])) of tensor t.
// Buffers come as separate arguments (OpenCL 1.2 has no arrays of pointers); unused slots repeat
// the first tensor's buffers and are never touched.
//
// Each update is the per-tensor formula of axoncl.optim written out in the same order, with
// FP_CONTRACT OFF and every derived scalar (1 - beta, lr / bias, ...) computed by the host in
// double precision, so it rounds like the separate elementwise kernels it replaces.
// Options: -DREAL=float|double, -DCHUNK=64 (CPU: a vectorisable loop) | 1 (GPU: coalesced),
// -DADAM_FLAGS (optim_adam's ADAM_* flags: an optimizer's flags never change, and as a
// constant the loop is compiled for that one combination: on PoCL the kernel's first launch
// took 208 ms with the flags as an argument, 102-104 ms as a constant, 2026-12-04).
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#pragma OPENCL FP_CONTRACT OFF

#ifndef REAL
#define REAL float
#endif
#ifndef CHUNK
#define CHUNK 64
#endif
#define TENSORS 8

// flags of the SGD kernel
#define SGD_MAXIMIZE 1
#define SGD_FIRST 2     // no momentum buffer yet: it starts as the gradient
#define SGD_NESTEROV 4
#define SGD_MOMENTUM 8
#define SGD_DECAY 16
// flags of the Adam kernel
#define ADAM_MAXIMIZE 1
#define ADAM_DECOUPLED 2  // AdamW: decay the weights, not the gradient
#define ADAM_DECAY 4
#define ADAM_AMSGRAD 8
#ifndef ADAM_FLAGS
#define ADAM_FLAGS 0
#endif

typedef struct {
    long chunk_end[TENSORS];  // cumulative chunk counts
    long size[TENSORS];       // elements per tensor
    long p_off[TENSORS];      // element offsets of the parameter, gradient and state arrays
    long g_off[TENSORS];
    long s_off[TENSORS];
    long v_off[TENSORS];
    long m_off[TENSORS];
} tensors_t;

#define PICK(t, x) \
    ((t) == 0 ? x##0 : (t) == 1 ? x##1 : (t) == 2 ? x##2 : (t) == 3 ? x##3 \
     : (t) == 4 ? x##4 : (t) == 5 ? x##5 : (t) == 6 ? x##6 : x##7)
#define BUFFERS(q, x) \
    q REAL *x##0, q REAL *x##1, q REAL *x##2, q REAL *x##3, q REAL *x##4, q REAL *x##5, \
    q REAL *x##6, q REAL *x##7

// The tensor of chunk c (count tensors), and the chunk's first and past-the-end elements.
inline int find_tensor(const tensors_t *T, int count, long c, long *start, long *end) {
    int t = 0;
    while (t < count - 1 && c >= T->chunk_end[t]) {
        t++;
    }
    const long first_chunk = t == 0 ? 0 : T->chunk_end[t - 1];
    *start = (c - first_chunk) * CHUNK;
    *end = min(*start + CHUNK, T->size[t]);
    return t;
}

// SGD with PyTorch's momentum convention (optim/sgd.py): g' = g (+ wd p); b = m b + (1 - d) g'
// (b = g' first); step d = g' + m b (Nesterov) or b (or g' without momentum); p = p - lr d.
__kernel void optim_sgd(const tensors_t T, const int count, const REAL lr, const REAL momentum,
                        const REAL one_minus_dampening, const REAL weight_decay, const int flags,
                        BUFFERS(__global, p), BUFFERS(__global const, g), BUFFERS(__global, b)) {
    const long c = get_global_id(0);
    if (c >= T.chunk_end[count - 1]) {
        return;
    }
    long start, end;
    const int t = find_tensor(&T, count, c, &start, &end);
    __global REAL *p = PICK(t, p) + T.p_off[t];
    __global const REAL *g = PICK(t, g) + T.g_off[t];
    __global REAL *b = PICK(t, b) + T.s_off[t];
    for (long i = start; i < end; ++i) {
        REAL grad = (flags & SGD_MAXIMIZE) ? -g[i] : g[i];
        if (flags & SGD_DECAY) {
            grad = grad + p[i] * weight_decay;
        }
        REAL d = grad;
        if (flags & SGD_MOMENTUM) {
            const REAL buf = (flags & SGD_FIRST) ? grad * (REAL)1
                                                 : b[i] * momentum + grad * one_minus_dampening;
            b[i] = buf;
            d = (flags & SGD_NESTEROV) ? grad + buf * momentum : buf;
        }
        p[i] = p[i] - d * lr;
    }
}

// Adam/AdamW (optim/adam.py): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2 (v = max(vmax, v)
// with AMSGrad); p = p - (m / (sqrt(v) * inv_bias2_sqrt + eps)) * step_size, where
// step_size = lr / (1 - b1^t), inv_bias2_sqrt = 1 / sqrt(1 - b2^t) and the decoupled decay
// factor 1 - lr wd come from the host.
__kernel void optim_adam(const tensors_t T, const int count, const REAL beta1,
                         const REAL one_minus_beta1, const REAL beta2, const REAL one_minus_beta2,
                         const REAL eps, const REAL weight_decay, const REAL decay_factor,
                         const REAL step_size, const REAL inv_bias2_sqrt,
                         BUFFERS(__global, p), BUFFERS(__global const, g), BUFFERS(__global, s),
                         BUFFERS(__global, v), BUFFERS(__global, m)) {
    const int flags = ADAM_FLAGS;
    const long c = get_global_id(0);
    if (c >= T.chunk_end[count - 1]) {
        return;
    }
    long start, end;
    const int t = find_tensor(&T, count, c, &start, &end);
    __global REAL *p = PICK(t, p) + T.p_off[t];
    __global const REAL *g = PICK(t, g) + T.g_off[t];
    __global REAL *exp_avg = PICK(t, s) + T.s_off[t];
    __global REAL *exp_avg_sq = PICK(t, v) + T.v_off[t];
    __global REAL *max_sq = PICK(t, m) + T.m_off[t];
    for (long i = start; i < end; ++i) {
        REAL grad = (flags & ADAM_MAXIMIZE) ? -g[i] : g[i];
        REAL param = p[i];
        if (flags & ADAM_DECAY) {
            if (flags & ADAM_DECOUPLED) {
                param = param * decay_factor;
            } else {
                grad = grad + param * weight_decay;
            }
        }
        const REAL mi = exp_avg[i] * beta1 + grad * one_minus_beta1;
        REAL vi = exp_avg_sq[i] * beta2 + (grad * grad) * one_minus_beta2;
        exp_avg[i] = mi;
        exp_avg_sq[i] = vi;
        if (flags & ADAM_AMSGRAD) {
            const REAL prev = max_sq[i];
            vi = isnan(prev) || isnan(vi) ? prev + vi : fmax(prev, vi);  // NaN propagates
            max_sq[i] = vi;
        }
        const REAL denom = sqrt(vi) * inv_bias2_sqrt + eps;
        p[i] = param - (mi / denom) * step_size;
    }
}
