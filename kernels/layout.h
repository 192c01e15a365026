// layout.h: the strided layout handed by value to the "_strided" kernels (elementwise, copy).
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

#endif
