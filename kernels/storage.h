// storage.h: how a kernel reads and writes elements whose storage type differs from the type it
// computes in. A kernel computes in T and keeps its data in S; LOAD widens an element to T and
// STORE narrows a T to S. Host side: storage_defines in backends/opencl/dtypes.py.
// Options:
//   -DSTORAGE=0   plain: S is T, LOAD and STORE are plain accesses
//   -DSTORAGE=1   float16: S is ushort holding IEEE binary16 bits; T must be float
//   -DSTORAGE=2   bfloat16: S is ushort holding the top 16 bits of a float; T must be float
// Single elements of both 16-bit formats are converted with integer arithmetic and selects only:
// no cl_khr_fp16, no scalar vload_half (slow on some CPU runtimes), no dependence on the
// device's denormal support; the float16 16-lane forms use vload_half16/vstore_half16_rte. Narrowing rounds to nearest even; overflow gives inf; NaN stays a quiet NaN
// (float16: 0x7e00 with the sign, as numpy; bfloat16: its top payload bits, as ml_dtypes).
// Macros: S, RAW (an integer type of S's width, to move elements bit for bit), LOAD(p, i),
// STORE(v, p, i), and the 16-lane forms LOAD16(p), STORE16(v, p) for the contiguous vector
// paths (T16 is T's 16-lane vector type). With -DFP64, f16_from_double and bf16_from_double
// narrow a double in one rounding.
#ifndef AXONCL_STORAGE_H
#define AXONCL_STORAGE_H

#define STORAGE_PLAIN 0
#define STORAGE_HALF 1
#define STORAGE_BF16 2
#ifndef STORAGE
#define STORAGE STORAGE_PLAIN
#endif

// ---- bfloat16 <-> float. Narrowing adds 0x7fff plus the lowest kept bit (ties to even); a
// NaN keeps its sign and top payload bits with the quiet bit set, so it never becomes inf.
static inline float bf16_to_float(ushort h) { return as_float((uint)h << 16); }

static inline ushort bf16_from_float(float f) {
    const uint u = as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40u);
    return (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float16 bf16_to_float16(ushort16 h) { return as_float16(convert_uint16(h) << 16); }

static inline ushort16 bf16_from_float16(float16 f) {
    const uint16 u = as_uint16(f);
    const uint16 rounded = (u + (uint16)0x7fffu + ((u >> 16) & (uint16)1u)) >> 16;
    const uint16 quiet = (u >> 16) | (uint16)0x40u;
    return convert_ushort16(select(rounded, quiet, (u & (uint16)0x7fffffffu) > (uint16)0x7f800000u));
}

// ---- float16 <-> float. Widening: normals rebias the exponent (+112 << 23), subnormals are
// their integer mantissa times 2^-24 (exact), inf/NaN get the all-ones exponent. Narrowing of
// |x| below 2^-14 adds 0.5f, which rounds x to a multiple of 2^-24 (the float16 subnormal step)
// with the float unit's own round-to-nearest-even; above, the exponent is rebiased and the
// 13 dropped bits rounded with +0xfff plus the lowest kept bit; a carry into the exponent gives
// the next binade, or inf past 65504.
#define F16_REBIAS 0x38000000u        // (127 - 15) << 23
#define F16_ROUND_NORMAL 0xc8000fffu  // -(112 << 23) + 0xfff, modulo 2^32
#define F16_MIN_NORMAL 0x38800000u    // 2^-14 as float bits
#define F16_OVERFLOW 0x47800000u      // 65536.0f: from here on (and for inf) the result is inf
#define F_HALF_BITS 0x3f000000u       // 0.5f

static inline float f16_to_float(ushort h) {
    const uint em = h & 0x7fffu;
    const uint sign = (uint)(h & 0x8000u) << 16;
    float f = em < 0x400u ? (float)em * 0x1.0p-24f : as_float((em << 13) + F16_REBIAS);
    if (em >= 0x7c00u) f = as_float((em << 13) | 0x7f800000u);
    return as_float(as_uint(f) | sign);
}

static inline ushort f16_from_float(float x) {
    uint f = as_uint(x);
    const uint sign = f & 0x80000000u;
    f ^= sign;
    uint o;
    if (f >= F16_OVERFLOW) {
        o = f > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (f < F16_MIN_NORMAL) {
        o = as_uint(as_float(f) + 0.5f) - F_HALF_BITS;
    } else {
        o = (f + F16_ROUND_NORMAL + ((f >> 13) & 1u)) >> 13;
    }
    return (ushort)(o | (sign >> 16));
}

#ifdef FP64
// double -> 16 bits in one rounding: the double is first rounded to float *to odd* (the lost
// bits become the float's last bit), which makes the second rounding give what a direct one
// would (float has more than 16 + 2 significant bits).
static inline float float_to_odd(double d) {
    float f = (float)d;
    if ((double)f != d && !isnan(d)) {
        uint u = as_uint(f);
        if (fabs((double)f) > fabs(d)) u -= 1u;  // f was rounded away from zero: step back
        f = as_float(u | 1u);
    }
    return f;
}
static inline ushort bf16_from_double(double d) { return bf16_from_float(float_to_odd(d)); }
static inline ushort f16_from_double(double d) { return f16_from_float(float_to_odd(d)); }
#endif

// One macro per storage kind, so a kernel with two storage types (copy.cl's casts) can pick
// each by number: CAT(STORAGE_LOAD_, SRC_STORAGE)(p, i).
#define STORAGE_LOAD_0(p, i) ((p)[i])
#define STORAGE_LOAD_1(p, i) f16_to_float((p)[i])
#define STORAGE_LOAD_2(p, i) bf16_to_float((p)[i])
#define STORAGE_STORE_0(v, p, i) ((p)[i] = (v))
#define STORAGE_STORE_1(v, p, i) ((p)[i] = f16_from_float(v))
#define STORAGE_STORE_2(v, p, i) ((p)[i] = bf16_from_float(v))

#if STORAGE == STORAGE_HALF
#define S ushort
#define RAW ushort
#define LOAD(p, i) STORAGE_LOAD_1(p, i)
#define STORE(v, p, i) STORAGE_STORE_1(v, p, i)
// The 16-lane forms use the built-in vload_half16/vstore_half16_rte, which CPU runtimes map to
// vector conversion instructions (3x faster on PoCL than the integer method in 16 lanes);
// p must be a __global pointer.
#define LOAD16(p) vload_half16(0, (__global const half *)(p))
#define STORE16(v, p) vstore_half16_rte((v), 0, (__global half *)(p))
#elif STORAGE == STORAGE_BF16
#define S ushort
#define RAW ushort
#define LOAD(p, i) STORAGE_LOAD_2(p, i)
#define STORE(v, p, i) STORAGE_STORE_2(v, p, i)
#define LOAD16(p) bf16_to_float16(vload16(0, (p)))
#define STORE16(v, p) vstore16(bf16_from_float16(v), 0, (p))
#else
#define S T
#define RAW T
#define LOAD(p, i) STORAGE_LOAD_0(p, i)
#define STORE(v, p, i) STORAGE_STORE_0(v, p, i)
#define LOAD16(p) vload16(0, (p))
#define STORE16(v, p) vstore16((v), 0, (p))
#endif

#endif
