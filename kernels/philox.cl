// philox.cl: stateless Philox4x32-10 (Salmon et al., SC'11; constants and round as in
// Random123) and the dropout that uses it. Host side: axoncl/backends/opencl/dropout.py; the
// portable twin (same bits) is axoncl/backends/primitives/random.py. Known answers
// (Random123 KAT):
// ctr 0, key 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
//
// Kernels:
//   philox_raw(n, counters, counters_off, key0, key1, out)
//       out[4i..4i+3] = philox(counters[counters_off + 4i .. +3], key)
//   philox_dropout(n, x, x_off, out, out_off, key0, key1, threshold, scale)
//       element i (C order) takes word i%4 of philox((i/4 lo, i/4 hi, 0, 0), key) and keeps
//       x[i] * scale when that word >= threshold, else writes 0. One work-item per 4 elements.
// Options: -DREAL=float|double (default float), -DFP64 when REAL is double.
#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#ifndef REAL
#define REAL float
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline uint4 philox_round(const uint4 c, const uint k0, const uint k1) {
    const uint hi0 = mul_hi(PHILOX_M0, c.x);
    const uint lo0 = PHILOX_M0 * c.x;
    const uint hi1 = mul_hi(PHILOX_M1, c.z);
    const uint lo1 = PHILOX_M1 * c.z;
    return (uint4)(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
}

static inline uint4 philox4x32_10(uint4 c, uint k0, uint k1) {
    c = philox_round(c, k0, k1);
    for (int r = 1; r < 10; r++) {
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
        c = philox_round(c, k0, k1);
    }
    return c;
}

__kernel void philox_raw(const long n, __global const uint *restrict counters,
                         const long counters_off, const uint key0, const uint key1,
                         __global uint *restrict out) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const uint4 r = philox4x32_10(vload4(i, counters + counters_off), key0, key1);
    vstore4(r, i, out);
}

__kernel void philox_dropout(const long n, __global const REAL *restrict x, const long x_off,
                             __global REAL *restrict out, const long out_off, const uint key0,
                             const uint key1, const uint threshold, const REAL scale) {
    const long block = get_global_id(0);
    const long base = block * 4;
    if (base >= n) return;
    const uint4 r = philox4x32_10((uint4)((uint)block, (uint)(block >> 32), 0u, 0u), key0, key1);
    const uint words[4] = {r.x, r.y, r.z, r.w};
    for (int lane = 0; lane < 4; lane++) {
        const long i = base + lane;
        if (i < n) out[out_off + i] = words[lane] >= threshold ? x[x_off + i] * scale : (REAL)0;
    }
}
