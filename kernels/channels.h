// channels.h: per-channel sums over NCHW-like arrays, one work-group per channel. Included by
// fused.cl (a bias gradient) and norm.cl (batch normalisation's statistics). The array is
// contiguous, `images` x `channels` planes of `inner` elements; the includer defines REAL, RUN
// (elements per run: 16 on CPUs, 1 on GPUs) and LWS (the work-group size, a power of two), and
// launches a grid of LWS x channels work-items with a local size of LWS x 1.
#ifndef AXONCL_CHANNELS_H
#define AXONCL_CHANNELS_H

// A kernel of one work-group per channel, with CHANNEL_SETUP first in its body.
#define CHANNEL_STATS_KERNEL(NAME) \
    __kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void NAME
#define CHANNEL_SETUP                                                                          \
    __local REAL scratch[LWS];                                                                 \
    const long c = get_global_id(1);                                                           \
    const long runs = (inner + RUN - 1) / RUN;                                                 \
    const REAL count = (REAL)(images * inner);                                                 \
    REAL part;

// RESULT = this work-item's sum over channel c of F(a[i], b[i]) (b is read only when USE_B):
// runs of RUN contiguous elements, one accumulator per lane of a run, so that the lanes
// vectorise without reassociation. group_sum() then adds the work-items' results as a tree.
#define CHANNEL_SUM(RESULT, USE_B, F)                                                          \
    {                                                                                          \
        REAL lane[RUN];                                                                        \
        for (int q = 0; q < RUN; ++q) lane[q] = (REAL)0;                                       \
        for (long t = get_local_id(0); t < images * runs; t += LWS) {                          \
            const long img = t / runs;                                                         \
            const long j0 = (t - img * runs) * RUN;                                            \
            const long base = (img * channels + c) * inner + j0;                               \
            __global const REAL *ap = a + a_off + base;                                        \
            __global const REAL *bp = b + b_off + (USE_B ? base : 0);                          \
            if (j0 + RUN <= inner) {                                                           \
                for (int q = 0; q < RUN; ++q) lane[q] += F(ap[q], (USE_B ? bp[q] : (REAL)0));  \
            } else {                                                                           \
                for (int q = 0; q < inner - j0; ++q)                                           \
                    lane[q] += F(ap[q], (USE_B ? bp[q] : (REAL)0));                            \
            }                                                                                  \
        }                                                                                      \
        REAL total = (REAL)0;                                                                  \
        for (int q = 0; q < RUN; ++q) total += lane[q];                                        \
        RESULT = total;                                                                        \
    }

// The group's sum of every work-item's `mine`; every work-item gets it.
inline REAL group_sum(REAL mine, __local REAL *scratch) {
    const int w = get_local_id(0);
    scratch[w] = mine;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = LWS / 2; span > 0; span /= 2) {
        if (w < span) scratch[w] += scratch[w + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const REAL total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);  // scratch is reused by the next call
    return total;
}

#define F_VALUE(x, y) (x)

#endif
