// elementwise.cl: every elementwise function of the array API for one input type T.
// One program per (T, arity) holds all ops of that arity as separate kernels; kernels compile
// lazily at their first launch (PoCL), so unused ops cost almost nothing.
// Options:
//   -DT=float|double|char|uchar|short|ushort|int|uint|long|ulong   input (and usual output) type
//   -DKIND=0|1|2|3     bool (stored as uchar 0/1) | signed int | unsigned int | floating
//   -DBITS=8..64       bit width of T (shifts)
//   -DARITY=1|2        unary kernels, or binary kernels plus `where`
//   -DVEC=16|1         elements per work-item: 16 (CPU; vload16 on the contiguous path, one
//                      run along the innermost axis on the strided one), or one (GPU)
//   -DSTORAGE=0|1|2    storage.h: T elements as they are, or float16/bfloat16 storage with
//                      T = float (loads widen, stores round to nearest even)
// Kernel variants for op NAME:
//   elementwise_NAME_contig(n, out, out_off, a, a_off[, b, b_off])       all C-contiguous
//   elementwise_NAME_strided(layout, n, out, a[, b])                     any strides (0: bcast)
//   elementwise_NAME_scalar(n, out, out_off, a, a_off, s, swap)         binary: a op s (s op a)
//   elementwise_NAME_scalar_strided(layout, n, out, a, s, swap)         the same, strided
// Every launch rounds the global size up to the local size; kernels guard with `n`.

#ifndef T
#define T float
#endif
#ifndef KIND
#define KIND 3
#endif
#ifndef BITS
#define BITS 32
#endif
#ifndef ARITY
#define ARITY 2
#endif
#ifndef VEC
#define VEC 16
#endif

#define K_BOOL 0
#define K_SIGNED 1
#define K_UNSIGNED 2
#define K_FLOAT 3

#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#include "layout.h"
#include "storage.h"

#define B uchar  // the storage type of bool results

// ---- scalar ops ----------------------------------------------------------------------------
// Each op is a function of scalars; the kernel templates below apply it per element.

#if ARITY == 1

#if KIND == K_FLOAT
#define FLOAT_UNARY(NAME, EXPR) static inline T op_##NAME(T x) { return EXPR; }
FLOAT_UNARY(acos, acos(x))
FLOAT_UNARY(acosh, acosh(x))
FLOAT_UNARY(asin, asin(x))
FLOAT_UNARY(asinh, asinh(x))
FLOAT_UNARY(atan, atan(x))
FLOAT_UNARY(atanh, atanh(x))
FLOAT_UNARY(cos, cos(x))
FLOAT_UNARY(cosh, cosh(x))
FLOAT_UNARY(sin, sin(x))
FLOAT_UNARY(sinh, sinh(x))
FLOAT_UNARY(tan, tan(x))
// tanh(x) rounds to ±1 beyond 9.02 (float) and 19.1 (double); PoCL's float tanh stops one ulp
// short of 1 there (0.99999994 even at infinity), so the saturated range is written out.
#define TANH_SATURATES ((BITS) == 64 ? (T)19.5 : (T)9.1)
FLOAT_UNARY(tanh, fabs(x) > TANH_SATURATES ? copysign((T)1, x) : tanh(x))
FLOAT_UNARY(exp, exp(x))
FLOAT_UNARY(expm1, expm1(x))
FLOAT_UNARY(log, log(x))
// Below 1e-8 (float) or 1e-17 (double), log1p(x) rounds to x itself; PoCL's log1p flushes
// denormal x to 0 and drops its sign, so that range is written out.
#define LOG1P_IS_X ((BITS) == 64 ? (T)1e-17 : (T)1e-8)
FLOAT_UNARY(log1p, fabs(x) < LOG1P_IS_X ? x : log1p(x))
FLOAT_UNARY(log2, log2(x))
FLOAT_UNARY(log10, log10(x))
FLOAT_UNARY(sqrt, sqrt(x))
FLOAT_UNARY(ceil, ceil(x))
FLOAT_UNARY(floor, floor(x))
FLOAT_UNARY(trunc, trunc(x))
FLOAT_UNARY(round, rint(x))  // half to even, as the standard asks
FLOAT_UNARY(reciprocal, (T)1 / x)
FLOAT_UNARY(abs, fabs(x))
// sign keeps NaN and gives +0 for both zeros, as the standard asks.
FLOAT_UNARY(sign, x > (T)0 ? (T)1 : (x < (T)0 ? (T)-1 : (x == (T)0 ? (T)0 : x)))
static inline B op_isnan(T x) { return isnan(x) ? 1 : 0; }
static inline B op_isinf(T x) { return isinf(x) ? 1 : 0; }
static inline B op_isfinite(T x) { return isfinite(x) ? 1 : 0; }
static inline B op_signbit(T x) { return signbit(x) ? 1 : 0; }
#endif

#if KIND == K_SIGNED || KIND == K_UNSIGNED
static inline T op_bitwise_invert(T x) { return ~x; }
#if KIND == K_SIGNED
static inline T op_abs(T x) { return x < (T)0 ? (T)(-x) : x; }
static inline T op_sign(T x) { return (T)((x > (T)0) - (x < (T)0)); }
#else
static inline T op_abs(T x) { return x; }
static inline T op_sign(T x) { return (T)(x > (T)0); }
#endif
#endif

#if KIND != K_BOOL
static inline T op_negative(T x) { return (T)(-x); }
static inline T op_square(T x) { return (T)(x * x); }
#else
static inline B op_logical_not(T x) { return x ? 0 : 1; }
static inline B op_bitwise_invert(T x) { return x ? 0 : 1; }
#endif
static inline T op_positive(T x) { return x; }

#else  // ARITY == 2

#if KIND != K_BOOL
static inline T op_add(T x, T y) { return (T)(x + y); }
static inline T op_subtract(T x, T y) { return (T)(x - y); }
static inline T op_multiply(T x, T y) { return (T)(x * y); }
static inline B op_less(T x, T y) { return x < y; }
static inline B op_less_equal(T x, T y) { return x <= y; }
static inline B op_greater(T x, T y) { return x > y; }
static inline B op_greater_equal(T x, T y) { return x >= y; }
#endif
static inline B op_equal(T x, T y) { return x == y; }
static inline B op_not_equal(T x, T y) { return x != y; }

#if KIND == K_FLOAT
// NaN propagates through maximum/minimum (the standard; fmax would drop it).
static inline T op_maximum(T x, T y) { return isnan(x) || isnan(y) ? x + y : fmax(x, y); }
static inline T op_minimum(T x, T y) { return isnan(x) || isnan(y) ? x + y : fmin(x, y); }
static inline T op_divide(T x, T y) { return x / y; }
static inline T op_atan2(T x, T y) { return atan2(x, y); }
static inline T op_hypot(T x, T y) { return hypot(x, y); }
static inline T op_copysign(T x, T y) { return copysign(x, y); }
static inline T op_nextafter(T x, T y) { return nextafter(x, y); }
// numpy's npy_logaddexp: exact for equal arguments (including infinities).
static inline T op_logaddexp(T x, T y) {
    if (x == y) return x + (T)M_LN2;
    T d = x - y;
    return d > (T)0 ? x + log1p(exp(-d)) : (d <= (T)0 ? y + log1p(exp(d)) : d);
}
// numpy's npy_divmod: Python semantics, the remainder takes the divisor's sign.
static inline T op_remainder(T x, T y) {
    if (y == (T)0) return fmod(x, y);
    T m = fmod(x, y);
    if (m != (T)0) {
        if ((y < (T)0) != (m < (T)0)) m += y;
    } else {
        m = copysign((T)0, y);
    }
    return m;
}
static inline T op_floor_divide(T x, T y) {
    if (y == (T)0) return x / y;
    // One infinite operand: the standard asks for the true quotient (+-inf, or a signed zero),
    // where npy_divmod's fmod gives NaN (x infinite) or -1 (x finite, signs differ).
    if (isinf(x) != isinf(y) && !isnan(x) && !isnan(y)) return x / y;
    T m = fmod(x, y);
    T d = (x - m) / y;
    if (m != (T)0 && ((y < (T)0) != (m < (T)0))) d -= (T)1;
    T f;
    if (d != (T)0) {
        f = floor(d);
        if (d - f > (T)0.5) f += (T)1;
    } else {
        f = copysign((T)0, x / y);
    }
    return f;
}
static inline T op_pow(T x, T y) { return pow(x, y); }
#endif

#if KIND == K_SIGNED || KIND == K_UNSIGNED
static inline T op_maximum(T x, T y) { return x > y ? x : y; }
static inline T op_minimum(T x, T y) { return x < y ? x : y; }
static inline T op_bitwise_and(T x, T y) { return x & y; }
static inline T op_bitwise_or(T x, T y) { return x | y; }
static inline T op_bitwise_xor(T x, T y) { return x ^ y; }
// Shifts by >= the bit width (or by a negative amount) give what numpy gives, not C's UB.
static inline T op_bitwise_left_shift(T x, T y) {
    return (y < (T)0 || y >= (T)BITS) ? (T)0 : (T)(x << y);
}
#if KIND == K_SIGNED
static inline T op_bitwise_right_shift(T x, T y) {
    return (y < (T)0 || y >= (T)BITS) ? (x < (T)0 ? (T)-1 : (T)0) : (T)(x >> y);
}
// Integer division by zero gives 0, as numpy does (C would trap or be undefined).
static inline T op_floor_divide(T x, T y) {
    if (y == (T)0) return (T)0;
    if (y == (T)-1) return (T)(-x);  // avoids the INT_MIN / -1 trap
    T q = x / y;
    if ((x % y != (T)0) && ((x < (T)0) != (y < (T)0))) q -= (T)1;
    return q;
}
static inline T op_remainder(T x, T y) {
    if (y == (T)0 || y == (T)-1) return (T)0;
    T r = x % y;
    if (r != (T)0 && ((r < (T)0) != (y < (T)0))) r += y;
    return r;
}
#else
static inline T op_bitwise_right_shift(T x, T y) { return y >= (T)BITS ? (T)0 : (T)(x >> y); }
static inline T op_floor_divide(T x, T y) { return y == (T)0 ? (T)0 : (T)(x / y); }
static inline T op_remainder(T x, T y) { return y == (T)0 ? (T)0 : (T)(x % y); }
#endif
// Exponentiation by squaring; a negative exponent gives 0 except for bases 1 and -1.
static inline T op_pow(T x, T y) {
#if KIND == K_SIGNED
    if (y < (T)0) return x == (T)1 ? (T)1 : (x == (T)-1 ? ((y & 1) ? (T)-1 : (T)1) : (T)0);
#endif
    T r = (T)1;
    while (y != (T)0) {
        if (y & 1) r = (T)(r * x);
        x = (T)(x * x);
        y = (T)(y >> 1);
    }
    return r;
}
#endif

#if KIND == K_BOOL
static inline B op_logical_and(T x, T y) { return x && y; }
static inline B op_logical_or(T x, T y) { return x || y; }
static inline B op_logical_xor(T x, T y) { return (x != 0) != (y != 0); }
static inline B op_bitwise_and(T x, T y) { return x & y; }
static inline B op_bitwise_or(T x, T y) { return x | y; }
static inline B op_bitwise_xor(T x, T y) { return x ^ y; }
static inline B op_maximum(T x, T y) { return x | y; }
static inline B op_minimum(T x, T y) { return x & y; }
#endif

#endif  // ARITY

// ---- kernel templates ------------------------------------------------------------------------
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define T16 CAT(T, 16)

#define LANES1(r, F, v) \
    r.s0 = F(v.s0); r.s1 = F(v.s1); r.s2 = F(v.s2); r.s3 = F(v.s3); \
    r.s4 = F(v.s4); r.s5 = F(v.s5); r.s6 = F(v.s6); r.s7 = F(v.s7); \
    r.s8 = F(v.s8); r.s9 = F(v.s9); r.sa = F(v.sa); r.sb = F(v.sb); \
    r.sc = F(v.sc); r.sd = F(v.sd); r.se = F(v.se); r.sf = F(v.sf);
#define LANES2(r, F, v, w) \
    r.s0 = F(v.s0, w.s0); r.s1 = F(v.s1, w.s1); r.s2 = F(v.s2, w.s2); r.s3 = F(v.s3, w.s3); \
    r.s4 = F(v.s4, w.s4); r.s5 = F(v.s5, w.s5); r.s6 = F(v.s6, w.s6); r.s7 = F(v.s7, w.s7); \
    r.s8 = F(v.s8, w.s8); r.s9 = F(v.s9, w.s9); r.sa = F(v.sa, w.sa); r.sb = F(v.sb, w.sb); \
    r.sc = F(v.sc, w.sc); r.sd = F(v.sd, w.sd); r.se = F(v.se, w.se); r.sf = F(v.sf, w.sf);
#define LANES_SL(r, F, s, v) \
    r.s0 = F(s, v.s0); r.s1 = F(s, v.s1); r.s2 = F(s, v.s2); r.s3 = F(s, v.s3); \
    r.s4 = F(s, v.s4); r.s5 = F(s, v.s5); r.s6 = F(s, v.s6); r.s7 = F(s, v.s7); \
    r.s8 = F(s, v.s8); r.s9 = F(s, v.s9); r.sa = F(s, v.sa); r.sb = F(s, v.sb); \
    r.sc = F(s, v.sc); r.sd = F(s, v.sd); r.se = F(s, v.se); r.sf = F(s, v.sf);
#define LANES_SR(r, F, v, s) \
    r.s0 = F(v.s0, s); r.s1 = F(v.s1, s); r.s2 = F(v.s2, s); r.s3 = F(v.s3, s); \
    r.s4 = F(v.s4, s); r.s5 = F(v.s5, s); r.s6 = F(v.s6, s); r.s7 = F(v.s7, s); \
    r.s8 = F(v.s8, s); r.s9 = F(v.s9, s); r.sa = F(v.sa, s); r.sb = F(v.sb, s); \
    r.sc = F(v.sc, s); r.sd = F(v.sd, s); r.se = F(v.se, s); r.sf = F(v.sf, s);

// A kernel's output is a value (VAL: stored as S through STORE) or a bool (BOOL: uchar).
#define OUT_VAL S
#define OUT_BOOL B
#define PUT_VAL(v, p, i) STORE((v), (p), (i))
#define PUT_BOOL(v, p, i) ((p)[i] = (v))
#define PUT16_VAL(r, p) STORE16((r), (p))
#define PUT16_BOOL(r, p) vstore16((r), 0, (p))
#define VEC16_VAL T16
#define VEC16_BOOL uchar16

#define UNARY_KERNELS(NAME, OK)                                                              \
__kernel void elementwise_##NAME##_contig(const long n, __global OUT_##OK *out,              \
                                          const long out_off,                                \
                                          __global const S *a, const long a_off) {           \
    const long base = (long)get_global_id(0) * VEC;                                          \
    if (base >= n) return;                                                                    \
    __global OUT_##OK *o = out + out_off + base;                                              \
    __global const S *p = a + a_off + base;                                                   \
    if (VEC == 16 && base + 16 <= n) {                                                        \
        T16 v = LOAD16(p);                                                                    \
        VEC16_##OK r;                                                                         \
        LANES1(r, op_##NAME, v)                                                               \
        PUT16_##OK(r, o);                                                                     \
        return;                                                                               \
    }                                                                                         \
    const long m = min((long)VEC, n - base);                                                  \
    for (long i = 0; i < m; i++) PUT_##OK(op_##NAME(LOAD(p, i)), o, i);                       \
}                                                                                             \
__kernel void elementwise_##NAME##_strided(const layout_t L, const long n,                   \
                                           __global OUT_##OK *out, __global const S *a) {    \
    LAYOUT_RUN(L, n, 2, VEC, PUT_##OK(op_##NAME(LOAD(a, off[1])), out, off[0]))               \
}

#define BINARY_KERNELS(NAME, OK)                                                             \
__kernel void elementwise_##NAME##_contig(const long n, __global OUT_##OK *out,              \
                                          const long out_off,                                \
                                          __global const S *a, const long a_off,             \
                                          __global const S *b, const long b_off) {           \
    const long base = (long)get_global_id(0) * VEC;                                          \
    if (base >= n) return;                                                                    \
    __global OUT_##OK *o = out + out_off + base;                                              \
    __global const S *p = a + a_off + base;                                                   \
    __global const S *q = b + b_off + base;                                                   \
    if (VEC == 16 && base + 16 <= n) {                                                        \
        T16 v = LOAD16(p);                                                                    \
        T16 w = LOAD16(q);                                                                    \
        VEC16_##OK r;                                                                         \
        LANES2(r, op_##NAME, v, w)                                                            \
        PUT16_##OK(r, o);                                                                     \
        return;                                                                               \
    }                                                                                         \
    const long m = min((long)VEC, n - base);                                                  \
    for (long i = 0; i < m; i++) PUT_##OK(op_##NAME(LOAD(p, i), LOAD(q, i)), o, i);           \
}                                                                                             \
__kernel void elementwise_##NAME##_strided(const layout_t L, const long n,                   \
                                           __global OUT_##OK *out, __global const S *a,      \
                                           __global const S *b) {                            \
    LAYOUT_RUN(L, n, 3, VEC,                                                                  \
               PUT_##OK(op_##NAME(LOAD(a, off[1]), LOAD(b, off[2])), out, off[0]))            \
}                                                                                             \
__kernel void elementwise_##NAME##_scalar(const long n, __global OUT_##OK *out,              \
                                          const long out_off,                                \
                                          __global const S *a, const long a_off,             \
                                          const T s, const int swap) {                       \
    const long base = (long)get_global_id(0) * VEC;                                          \
    if (base >= n) return;                                                                    \
    __global OUT_##OK *o = out + out_off + base;                                              \
    __global const S *p = a + a_off + base;                                                   \
    if (VEC == 16 && base + 16 <= n) {                                                        \
        T16 v = LOAD16(p);                                                                    \
        VEC16_##OK r;                                                                         \
        if (swap) {                                                                           \
            LANES_SL(r, op_##NAME, s, v)                                                      \
        } else {                                                                              \
            LANES_SR(r, op_##NAME, v, s)                                                      \
        }                                                                                     \
        PUT16_##OK(r, o);                                                                     \
        return;                                                                               \
    }                                                                                         \
    const long m = min((long)VEC, n - base);                                                  \
    for (long i = 0; i < m; i++) {                                                            \
        const T x = LOAD(p, i);                                                               \
        PUT_##OK(swap ? op_##NAME(s, x) : op_##NAME(x, s), o, i);                             \
    }                                                                                         \
}                                                                                             \
__kernel void elementwise_##NAME##_scalar_strided(const layout_t L, const long n,            \
                                                  __global OUT_##OK *out,                    \
                                                  __global const S *a,                       \
                                                  const T s, const int swap) {               \
    LAYOUT_RUN(L, n, 2, VEC,                                                                  \
               PUT_##OK(swap ? op_##NAME(s, LOAD(a, off[1])) : op_##NAME(LOAD(a, off[1]), s), \
                        out, off[0]))                                                         \
}

// ---- the kernels -------------------------------------------------------------------------------
#if ARITY == 1

UNARY_KERNELS(positive, VAL)
#if KIND == K_FLOAT
UNARY_KERNELS(acos, VAL)
UNARY_KERNELS(acosh, VAL)
UNARY_KERNELS(asin, VAL)
UNARY_KERNELS(asinh, VAL)
UNARY_KERNELS(atan, VAL)
UNARY_KERNELS(atanh, VAL)
UNARY_KERNELS(cos, VAL)
UNARY_KERNELS(cosh, VAL)
UNARY_KERNELS(sin, VAL)
UNARY_KERNELS(sinh, VAL)
UNARY_KERNELS(tan, VAL)
UNARY_KERNELS(tanh, VAL)
UNARY_KERNELS(exp, VAL)
UNARY_KERNELS(expm1, VAL)
UNARY_KERNELS(log, VAL)
UNARY_KERNELS(log1p, VAL)
UNARY_KERNELS(log2, VAL)
UNARY_KERNELS(log10, VAL)
UNARY_KERNELS(sqrt, VAL)
UNARY_KERNELS(ceil, VAL)
UNARY_KERNELS(floor, VAL)
UNARY_KERNELS(trunc, VAL)
UNARY_KERNELS(round, VAL)
UNARY_KERNELS(reciprocal, VAL)
UNARY_KERNELS(isnan, BOOL)
UNARY_KERNELS(isinf, BOOL)
UNARY_KERNELS(isfinite, BOOL)
UNARY_KERNELS(signbit, BOOL)
#endif
#if KIND != K_BOOL
UNARY_KERNELS(abs, VAL)
UNARY_KERNELS(sign, VAL)
UNARY_KERNELS(negative, VAL)
UNARY_KERNELS(square, VAL)
#else
UNARY_KERNELS(logical_not, BOOL)
#endif
#if KIND != K_FLOAT
UNARY_KERNELS(bitwise_invert, VAL)
#endif

#else  // ARITY == 2

BINARY_KERNELS(equal, BOOL)
BINARY_KERNELS(not_equal, BOOL)
BINARY_KERNELS(maximum, VAL)
BINARY_KERNELS(minimum, VAL)
#if KIND != K_BOOL
BINARY_KERNELS(add, VAL)
BINARY_KERNELS(subtract, VAL)
BINARY_KERNELS(multiply, VAL)
BINARY_KERNELS(less, BOOL)
BINARY_KERNELS(less_equal, BOOL)
BINARY_KERNELS(greater, BOOL)
BINARY_KERNELS(greater_equal, BOOL)
BINARY_KERNELS(floor_divide, VAL)
BINARY_KERNELS(remainder, VAL)
BINARY_KERNELS(pow, VAL)
#endif
#if KIND == K_FLOAT
BINARY_KERNELS(divide, VAL)
BINARY_KERNELS(atan2, VAL)
BINARY_KERNELS(hypot, VAL)
BINARY_KERNELS(copysign, VAL)
BINARY_KERNELS(nextafter, VAL)
BINARY_KERNELS(logaddexp, VAL)
#else
BINARY_KERNELS(bitwise_and, VAL)
BINARY_KERNELS(bitwise_or, VAL)
BINARY_KERNELS(bitwise_xor, VAL)
#endif
#if KIND == K_SIGNED || KIND == K_UNSIGNED
BINARY_KERNELS(bitwise_left_shift, VAL)
BINARY_KERNELS(bitwise_right_shift, VAL)
#endif
#if KIND == K_BOOL
BINARY_KERNELS(logical_and, BOOL)
BINARY_KERNELS(logical_or, BOOL)
BINARY_KERNELS(logical_xor, BOOL)
#endif

// where(cond, a, b): cond is bool (uchar); a, b and the result are moved bit for bit as RAW.
__kernel void elementwise_where_contig(const long n, __global RAW *out, const long out_off,
                                       __global const uchar *c, const long c_off,
                                       __global const RAW *a, const long a_off,
                                       __global const RAW *b, const long b_off) {
    const long base = (long)get_global_id(0) * VEC;
    if (base >= n) return;
    const long m = min((long)VEC, n - base);
    for (long i = 0; i < m; i++) {
        const long k = base + i;
        out[out_off + k] = c[c_off + k] ? a[a_off + k] : b[b_off + k];
    }
}

__kernel void elementwise_where_strided(const layout_t L, const long n, __global RAW *out,
                                        __global const uchar *c, __global const RAW *a,
                                        __global const RAW *b) {
    LAYOUT_RUN(L, n, 4, VEC, out[off[0]] = c[off[1]] ? a[off[2]] : b[off[3]])
}

#endif  // ARITY
