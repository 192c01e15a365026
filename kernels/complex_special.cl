// complex_special.cl: the special values of the complex functions that complexes.py computes
// by formulas (exp, expm1, log1p, sinh, cosh, tanh, asinh, acos, acosh, atanh, sqrt): infinities,
// NaNs and signed zeros, as C99 Annex G and the array API standard list them. The formula's
// result is computed first; this kernel overwrites the elements whose input is special.
//   complex_special(n, fn, out, out_off, in, in_off): out and in are contiguous (re, im) pairs
//     of n elements; fn picks the function (complexes.py: SPECIAL_FUNCTIONS).
// Each function's table is written for a >= 0 and/or b >= 0 (a = real, b = imaginary part) and
// extended by its symmetries: every one has f(conj z) = conj f(z); sinh, tanh, asinh and atanh
// are odd (f(-z) = -f(z)), cosh is even.
// Options: -DREAL=float|double.
#ifndef REAL
#define REAL float
#endif
#if REAL_IS_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define PI M_PI
#else
#define PI M_PI_F
#endif

#define SP_EXP 0
#define SP_EXPM1 1
#define SP_LOG1P 2
#define SP_SINH 3
#define SP_COSH 4
#define SP_TANH 5
#define SP_ASINH 6
#define SP_ACOS 7
#define SP_ACOSH 8
#define SP_ATANH 9
#define SP_SQRT 10

#define SET(r, i) do { *re = (r); *im = (i); return 1; } while (0)
#define INF ((REAL)INFINITY)
#define QNAN ((REAL)NAN)

static inline int notfin(REAL v) { return !isfinite(v); }  // inf or NaN

// exp and expm1 (by the conjugate symmetry, b >= 0)
static int sp_exp(REAL a, REAL b, int minus_one, REAL *re, REAL *im) {
    const REAL off = minus_one ? (REAL)1 : (REAL)0;
    if (a == 0 && b == 0) SET((REAL)1 - off, 0);
    if (isfinite(a) && notfin(b)) SET(QNAN, QNAN);
    if (a == INF && b == 0) SET(INF, 0);
    if (a == -INF && notfin(b)) SET(minus_one ? (REAL)-1 : (REAL)0, 0);
    if (a == INF && notfin(b)) SET(INF, QNAN);
    if (isnan(a) && b == 0) SET(QNAN, 0);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

// The rows that log1p and acosh share (b >= 0): at infinities and NaNs both behave as log.
static int sp_log_tail(REAL a, REAL b, REAL *re, REAL *im) {
    if (isfinite(a) && b == INF) SET(INF, PI / 2);
    if (isfinite(a) && isnan(b)) SET(QNAN, QNAN);
    if (a == -INF && isfinite(b)) SET(INF, PI);
    if (a == INF && isfinite(b)) SET(INF, 0);
    if (a == -INF && b == INF) SET(INF, 3 * PI / 4);
    if (a == INF && b == INF) SET(INF, PI / 4);
    if (isinf(a) && isnan(b)) SET(INF, QNAN);
    if (isnan(a) && b == INF) SET(INF, QNAN);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

// log1p (b >= 0)
static int sp_log1p(REAL a, REAL b, REAL *re, REAL *im) {
    if (a == -1 && b == 0) SET(-INF, 0);
    return sp_log_tail(a, b, re, im);
}

// sinh and cosh (a >= 0, b >= 0): they differ on the imaginary axis only
static int sp_sinh_cosh(REAL a, REAL b, int is_cosh, REAL *re, REAL *im) {
    if (a == 0 && b == 0) SET(is_cosh ? 1 : 0, 0);
    if (a == 0 && notfin(b)) SET(is_cosh ? QNAN : 0, is_cosh ? 0 : QNAN);
    if (isfinite(a) && notfin(b)) SET(QNAN, QNAN);
    if (a == INF && b == 0) SET(INF, 0);
    if (a == INF && notfin(b)) SET(INF, QNAN);
    if (isnan(a) && b == 0) SET(QNAN, 0);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

// tanh (a >= 0, b >= 0)
static int sp_tanh(REAL a, REAL b, REAL *re, REAL *im) {
    if (a == 0 && b == 0) SET(0, 0);
    if (a == 0 && notfin(b)) SET(0, QNAN);
    if (isfinite(a) && notfin(b)) SET(QNAN, QNAN);
    if (a == INF) SET(1, 0);
    if (isnan(a) && b == 0) SET(QNAN, 0);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

// asinh (a >= 0, b >= 0)
static int sp_asinh(REAL a, REAL b, REAL *re, REAL *im) {
    if (a == 0 && b == 0) SET(0, 0);
    if (isfinite(a) && b == INF) SET(INF, PI / 2);
    if (isfinite(a) && isnan(b)) SET(QNAN, QNAN);
    if (a == INF && isfinite(b)) SET(INF, 0);
    if (a == INF && b == INF) SET(INF, PI / 4);
    if (a == INF && isnan(b)) SET(INF, QNAN);
    if (isnan(a) && b == 0) SET(QNAN, 0);
    if (isnan(a) && b == INF) SET(INF, QNAN);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

// acos (b >= 0)
static int sp_acos(REAL a, REAL b, REAL *re, REAL *im) {
    if (a == 0 && b == 0) SET(PI / 2, -(REAL)0);
    if (a == 0 && isnan(b)) SET(PI / 2, QNAN);
    if (isfinite(a) && b == INF) SET(PI / 2, -INF);
    if (isfinite(a) && isnan(b)) SET(QNAN, QNAN);
    if (a == -INF && isfinite(b)) SET(PI, -INF);
    if (a == INF && isfinite(b)) SET(0, -INF);
    if (a == -INF && b == INF) SET(3 * PI / 4, -INF);
    if (a == INF && b == INF) SET(PI / 4, -INF);
    if (isinf(a) && isnan(b)) SET(QNAN, INF);
    if (isnan(a) && b == INF) SET(QNAN, -INF);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

// acosh (b >= 0)
static int sp_acosh(REAL a, REAL b, REAL *re, REAL *im) {
    if (a == 0 && b == 0) SET(0, PI / 2);
    if (a == 0 && isnan(b)) SET(QNAN, PI / 2);
    return sp_log_tail(a, b, re, im);
}

// atanh (a >= 0, b >= 0)
static int sp_atanh(REAL a, REAL b, REAL *re, REAL *im) {
    if (a == 0 && b == 0) SET(0, 0);
    if (a == 0 && isnan(b)) SET(0, QNAN);
    if (a == 1 && b == 0) SET(INF, 0);
    if (isfinite(a) && b == INF) SET(0, PI / 2);
    if (isfinite(a) && isnan(b)) SET(QNAN, QNAN);
    if (a == INF && !isnan(b)) SET(0, PI / 2);
    if (a == INF) SET(0, QNAN);
    if (isnan(a) && b == INF) SET(0, PI / 2);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

// sqrt (b >= 0)
static int sp_sqrt(REAL a, REAL b, REAL *re, REAL *im) {
    if (a == 0 && b == 0) SET(0, 0);
    if (b == INF) SET(INF, INF);  // whatever a is, NaN included
    if (isfinite(a) && isnan(b)) SET(QNAN, QNAN);
    if (a == -INF && isfinite(b)) SET(0, INF);
    if (a == INF && isfinite(b)) SET(INF, 0);
    if (a == -INF && isnan(b)) SET(QNAN, INF);
    if (a == INF && isnan(b)) SET(INF, QNAN);
    if (isnan(a)) SET(QNAN, QNAN);
    return 0;
}

__kernel void complex_special(const long n, const int fn, __global REAL *out, const long out_off,
                              __global const REAL *in, const long in_off) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const REAL a0 = in[in_off + 2 * i];
    const REAL b0 = in[in_off + 2 * i + 1];
    const int real_axis = fn == SP_EXP || fn == SP_EXPM1 || fn == SP_SINH || fn == SP_COSH;
    if (real_axis && isfinite(a0) && a0 != 0 && b0 == 0) {
        // On the real axis the imaginary part is an exact zero (the formula's overflowed
        // factor times sin(0) would make it NaN): b's sign, times a's for cosh.
        out[out_off + 2 * i + 1] = fn == SP_COSH && signbit(a0) ? -b0 : b0;
        return;
    }
    if (isfinite(a0) && isfinite(b0) && !(a0 == 0 && b0 == 0) &&
        !(fn == SP_LOG1P && a0 == -1 && b0 == 0) && !(fn == SP_ATANH && fabs(a0) == 1 && b0 == 0))
        return;  // not special: the formula's value stands
    const int odd = fn == SP_SINH || fn == SP_TANH || fn == SP_ASINH || fn == SP_ATANH;
    const int even = fn == SP_COSH;
    const int fold_a = odd || even;  // the table is written for a >= 0
    const REAL a = fold_a ? fabs(a0) : a0;
    const REAL b = fabs(b0);
    REAL re = 0, im = 0;
    int hit = 0;
    switch (fn) {
        case SP_EXP: hit = sp_exp(a, b, 0, &re, &im); break;
        case SP_EXPM1: hit = sp_exp(a, b, 1, &re, &im); break;
        case SP_LOG1P: hit = sp_log1p(a, b, &re, &im); break;
        case SP_SINH: hit = sp_sinh_cosh(a, b, 0, &re, &im); break;
        case SP_COSH: hit = sp_sinh_cosh(a, b, 1, &re, &im); break;
        case SP_TANH: hit = sp_tanh(a, b, &re, &im); break;
        case SP_ASINH: hit = sp_asinh(a, b, &re, &im); break;
        case SP_ACOS: hit = sp_acos(a, b, &re, &im); break;
        case SP_ACOSH: hit = sp_acosh(a, b, &re, &im); break;
        case SP_ATANH: hit = sp_atanh(a, b, &re, &im); break;
        case SP_SQRT: hit = sp_sqrt(a, b, &re, &im); break;
    }
    if (!hit) return;
    // Back from the folded quadrant: conj symmetry flips im with b's sign; an odd function
    // flips re with a's sign; an even one flips im with a's sign (f(-z) = f(z) = conj f(-conj z)).
    if (signbit(b0)) im = -im;
    if (odd && signbit(a0)) re = -re;
    if (even && signbit(a0)) im = -im;
    out[out_off + 2 * i] = re;
    out[out_off + 2 * i + 1] = im;
}
