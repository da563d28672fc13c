/*
 * log1p in double without libm, for the kernels' t = sum - 1 of a row's (or a
 * column's) exponentials: csm_log1p2 (as hi + lo), csm_log1p, and the
 * branch-free csm_log1p2_nobranch / csm_log1p_nobranch for loops that the
 * compiler vectorises. Included by simd_body.h and columns_body.h, in files
 * compiled with FMA (fma() is an instruction there).
 */
#ifndef CSOFTMAX_LOG1P_IMPL_H
#define CSOFTMAX_LOG1P_IMPL_H

#include <math.h>
#include <stdint.h>

#include "exp_impl.h" /* csm_bits_from_f64, csm_f64_from_bits */

/* log1p(t) in double as hi + *lo (|*lo| about an ulp of hi), for the row
 * kernels' t = sum - 1 of a row's exponentials (t >= 0, or a rounding below
 * 0; NaN and +inf returned as they are): u = 1 + t with its exact rounding
 * error (TwoSum), u = f 2^e with f in [sqrt(1/2), sqrt(2)) taken from u's
 * bits without a branch, log f = 2 atanh(z), z = (f - 1) / (f + 1) as q + dz
 * (f - 1 and the residual of q exact), the series of atanh to z^21 (a term
 * below 2^-60 of the result left), e ln 2 in two parts. hi + lo is within
 * 0.5001 ulp of log1p(t), its rounded sum within 0.66 ulp (10^7 random t in
 * [0, 7e10], against quad-precision log1pq; glibc's log1p: 0.85). In place
 * of libm's log1p (40 % of perf's samples of float32 cross-entropy on rows of
 * 32 columns, its branches on the range of t mispredicted row after row).
 * Uses fma(), an instruction in these layers (FMA is part of each).
 * csm_log1p2_finite assumes 1 + t finite; csm_log1p2 checks. */
static inline __attribute__((always_inline)) double csm_log1p2_finite(double t, double *lo,
                                                                       const int vec)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double two52 = 4503599627370496.0; /* 2^52 */
    const uint64_t sqrt_half = 0x3FE6A09E667F3BCDull;  /* bits of sqrt(1/2) */
    double u = 1.0 + t;
    double um1 = u - 1.0;
    double err = (1.0 - (u - um1)) + (t - um1);  /* 1 + t - u, exact */
    uint64_t b = csm_bits_from_f64(u) + (0x3FF0000000000000ull - sqrt_half);
    /* the exponent: an int64 conversion (scalar code: fewer operations,
     * float32 8192 x 128 label-smoothed cross-entropy 1.03x the time
     * without), or (`vec`) the bits of 2^52 + the biased exponent (below
     * 2^11) less 2^52, exact too, for loops that vectorise where there is no
     * vector int64 conversion (AVX2) */
    double e = vec ? (csm_f64_from_bits((b >> 52) | csm_bits_from_f64(two52)) - two52) - 1023.0
                   : (double)((int64_t)(b >> 52) - 1023);
    double f = csm_f64_from_bits((b & 0x000FFFFFFFFFFFFFull) + sqrt_half);
    double fm1 = f - 1.0;                         /* exact */
    double g = f + 1.0, gerr = f - (g - 1.0);     /* f + 1 = g + gerr, exact */
    double rg = 1.0 / g, q = fm1 * rg;
    double r = fma(-q, g, fm1);                   /* fm1 - q g, exact */
    double dz = fma(-q, gerr, r) * rg;            /* z = q + dz */
    double z2 = q * q, z4 = z2 * z2, z8 = z4 * z4, twoq = q + q;
    /* (atanh(z) - z) / z^3 = 1/3 + z2/5 + ... + z2^9/21, Estrin's scheme */
    double a0 = fma(z2, 1.0 / 5, 1.0 / 3), a1 = fma(z2, 1.0 / 9, 1.0 / 7);
    double a2 = fma(z2, 1.0 / 13, 1.0 / 11), a3 = fma(z2, 1.0 / 17, 1.0 / 15);
    double a4 = fma(z2, 1.0 / 21, 1.0 / 19);
    double p = fma(z8, fma(z8, a4, fma(z4, a3, a2)), fma(z4, a1, a0));
    double a = e * ln2_hi;                        /* exact */
    double hi = a + twoq;
    double hi_err = twoq - (hi - a);              /* exact: |a| >= |2q| or a = 0 */
    *lo = hi_err + (fma(twoq * z2, p, dz + dz) + fma(e, ln2_lo, err / u));
    return hi;
}

static inline double csm_log1p2(double t, double *lo)
{
    if (!(1.0 + t < INFINITY)) {
        *lo = 0.0;
        return t;
    }
    return csm_log1p2_finite(t, lo, 0);
}

static inline double csm_log1p(double t)
{
    double lo, hi = csm_log1p2(t, &lo);
    return hi + lo;
}

/* csm_log1p2 and csm_log1p without a branch, for loops that vectorise
 * (simd_lossq_flush, the grouped log_softmax and logsumexp rows): +inf and
 * NaN chosen by masks of bits (a conditional, even a select, let GCC put
 * the arithmetic under a branch, which kept such loops scalar on AVX2:
 * floating-point operations "may trap"). Same values as csm_log1p2 and
 * csm_log1p. */
static inline double csm_log1p2_nobranch(double t, double *lo)
{
    double l, hi = csm_log1p2_finite(t, &l, 1);
    const uint64_t keep = (uint64_t)0 - (uint64_t)(1.0 + t < INFINITY);
    *lo = csm_f64_from_bits(csm_bits_from_f64(l) & keep);
    return csm_f64_from_bits((csm_bits_from_f64(hi) & keep) | (csm_bits_from_f64(t) & ~keep));
}

static inline double csm_log1p_nobranch(double t)
{
    double lo, hi = csm_log1p2_nobranch(t, &lo);
    return hi + lo;
}
#endif /* CSOFTMAX_LOG1P_IMPL_H */
