// products.cl: integer matrix products, exact in the integer dtype (wrapping on overflow, as
// numpy does), for matmul of integer arrays: GEMM computes in floating point, which is exact
// only below 2**24 (float32) or 2**53 (float64). Not tuned: integer products are rare.
// Options: -DT=char|uchar|short|ushort|int|uint|long|ulong   the element type
// Kernels:
//   products_matmul_int(total, out, a, a_off, a_sb, a_sm, a_sk, b, b_off, b_sb, b_sk, b_sn, m, n, k)
//     out (batch, m, n) C-contiguous = a (batch, m, k) @ b (batch, k, n); strides in elements;
//     one work-item per output element.
#ifndef T
#define T long
#endif

__kernel void products_matmul_int(const long total, __global T *out, __global const T *a,
                                const long a_off, const long a_sb, const long a_sm,
                                const long a_sk, __global const T *b, const long b_off,
                                const long b_sb, const long b_sk, const long b_sn, const long m,
                                const long n, const long k) {
    const long i = get_global_id(0);
    if (i >= total) return;
    const long col = i % n;
    const long row = (i / n) % m;
    const long batch = i / n / m;
    __global const T *pa = a + a_off + batch * a_sb + row * a_sm;
    __global const T *pb = b + b_off + batch * b_sb + col * b_sn;
    T acc = 0;
    for (long j = 0; j < k; j++) acc += pa[j * a_sk] * pb[j * b_sk];
    out[i] = acc;
}
