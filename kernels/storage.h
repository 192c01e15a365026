// storage.h: how a kernel reads and writes elements whose storage type differs from the type it
// computes in. A kernel computes in T and keeps its data in S; LOAD widens an element to T and
// STORE narrows a T to S. Host side: storage_defines in backends/opencl/dtypes.py.
// Options:
//   -DSTORAGE=0   plain: S is T, LOAD and STORE are plain accesses
//   -DSTORAGE=1   float16: S is half (storage only, no cl_khr_fp16 needed): vload_half widens,
//                 vstore_half_rte narrows with round-to-nearest-even (overflow gives inf, NaN stays
//                 NaN, subnormals are kept); T must be float
//   -DSTORAGE=2   bfloat16: S is ushort holding the top 16 bits of a float; widening is a shift,
//                 narrowing rounds to nearest even and keeps NaN a (quiet) NaN; T must be float
// Macros: S, RAW (an integer type of S's width, to move elements bit for bit), LOAD(p, i), STORE(v, p, i), and the 16-lane forms LOAD16(p), STORE16(v, p) for
// the contiguous vector paths (T16 is T's 16-lane vector type). With -DFP64, bf16_from_double
// narrows a double in one rounding (vstore_half_rte takes doubles as they are).
#ifndef AXONCL_STORAGE_H
#define AXONCL_STORAGE_H

#define STORAGE_PLAIN 0
#define STORAGE_HALF 1
#define STORAGE_BF16 2
#ifndef STORAGE
#define STORAGE STORAGE_PLAIN
#endif

// bfloat16 <-> float, for single values and 16-lane vectors. Narrowing adds 0x7fff plus the
// lowest kept bit, which rounds to nearest with ties to even; a NaN keeps its sign and top
// payload bits with the quiet bit set, so it never rounds into an infinity.
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

#ifdef FP64
// double -> bfloat16 in one rounding: the double is first rounded to float *to odd* (the lost
// bits become the last bit), which makes the second rounding give what a direct one would.
static inline ushort bf16_from_double(double d) {
    float f = (float)d;
    if ((double)f != d && !isnan(d)) {
        uint u = as_uint(f);
        if (fabs((double)f) > fabs(d)) u -= 1u;  // f was rounded away from zero: step back
        f = as_float(u | 1u);
    }
    return bf16_from_float(f);
}
#endif

// One macro per storage kind, so a kernel with two storage types (copy.cl's casts) can pick
// each by number: CAT(STORAGE_LOAD_, SRC_STORAGE)(p, i).
#define STORAGE_LOAD_0(p, i) ((p)[i])
#define STORAGE_LOAD_1(p, i) vload_half((i), (p))
#define STORAGE_LOAD_2(p, i) bf16_to_float((p)[i])
#define STORAGE_STORE_0(v, p, i) ((p)[i] = (v))
#define STORAGE_STORE_1(v, p, i) vstore_half_rte((v), (i), (p))
#define STORAGE_STORE_2(v, p, i) ((p)[i] = bf16_from_float(v))

#if STORAGE == STORAGE_HALF
#define S half
#define RAW ushort
#define LOAD(p, i) STORAGE_LOAD_1(p, i)
#define STORE(v, p, i) STORAGE_STORE_1(v, p, i)
#define LOAD16(p) vload_half16(0, (p))
#define STORE16(v, p) vstore_half16_rte((v), 0, (p))
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
