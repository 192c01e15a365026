// layout.h: the strided layout handed by value to the "_strided" kernels (elementwise, copy),
// and the loop those kernels run over it (LAYOUT_RUN).
// Up to LAYOUT_OPS operands share one shape (the output's, after broadcasting and merging of
// contiguous axes); each has its own element offset and element strides (0 for a broadcast
// axis, negative for a flipped one). Operand 0 is the output. Host side:
// backends/opencl/layout.py.
#ifndef AXONCL_LAYOUT_H
#define AXONCL_LAYOUT_H

#define LAYOUT_MAXDIM 8
#define LAYOUT_OPS 4

typedef struct {
    long ndim;
    long shape[LAYOUT_MAXDIM];
    long offset[LAYOUT_OPS];
    long stride[LAYOUT_OPS][LAYOUT_MAXDIM];
} layout_t;

// Element offsets of the linear (C-order) index i in the first `nops` operands. 32-bit division
// when the index fits, which is much cheaper on CPUs.
static inline void layout_offsets(const layout_t *L, long i, const int nops, long *off) {
    for (int k = 0; k < nops; k++) off[k] = L->offset[k];
    if (i < 2147483647L && L->shape[0] < 2147483647L) {
        uint j = (uint)i;
        for (int d = (int)L->ndim - 1; d >= 0; d--) {
            const uint n = (uint)L->shape[d];
            const uint idx = j % n;
            j /= n;
            for (int k = 0; k < nops; k++) off[k] += (long)idx * L->stride[k][d];
        }
    } else {
        for (int d = (int)L->ndim - 1; d >= 0; d--) {
            const long n = L->shape[d];
            const long idx = i % n;
            i /= n;
            for (int k = 0; k < nops; k++) off[k] += idx * L->stride[k][d];
        }
    }
}

// The strided kernels take RUN consecutive elements per work-item (VEC on CPUs): the offsets of
// the first are decoded with layout_start, and layout_next steps them along the innermost axis,
// decoding again only where a row ends, so most elements cost an add instead of divisions.
static inline void layout_start(const layout_t *L, long i, const int nops, long *off, long *pos) {
    layout_offsets(L, i, nops, off);
    *pos = L->ndim > 0 ? i % L->shape[L->ndim - 1] : 0;
}

// Offsets of element i, given those of element i - 1.
static inline void layout_next(const layout_t *L, long i, const int nops, long *off, long *pos) {
    const int d = (int)L->ndim - 1;
    if (d < 0) return;
    if (++*pos == L->shape[d]) {
        *pos = 0;
        layout_offsets(L, i, nops, off);
    } else {
        for (int k = 0; k < nops; k++) off[k] += L->stride[k][d];
    }
}

// Runs STATEMENT for the elements [first, first + RUN) (clipped to n) of work-item
// get_global_id(0), with off[] their operand offsets.
#define LAYOUT_RUN(L, n, NOPS, RUN, STATEMENT)                              \
    {                                                                       \
        const long first = (long)get_global_id(0) * (RUN);                  \
        if (first >= (n)) return;                                           \
        const long last = min(first + (long)(RUN), (long)(n));              \
        long off[NOPS];                                                     \
        long pos;                                                           \
        layout_start(&(L), first, NOPS, off, &pos);                          \
        for (long i = first;;) {                                            \
            STATEMENT;                                                      \
            if (++i >= last) break;                                         \
            layout_next(&(L), i, NOPS, off, &pos);                           \
        }                                                                   \
    }

#endif
