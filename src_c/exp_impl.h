/*
 * Vectorisable exp for float32 and float64, inlined into the kernels.
 *
 * exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 computed with a
 * two-part ln 2 (Cody-Waite), exp(r) by a polynomial on [-ln2/2, ln2/2].
 * n is read from the bits of x*log2(e) + 1.5*2^(p-1) (no float->int
 * conversion, so NaN is never converted), and 2^n is applied as two factors
 * 2^(n/2) * 2^(n - n/2) so that results in the subnormal range are right and
 * +-inf come out of the arithmetic with no branch:
 *   x < lower clamp (including -inf) -> 0, x > upper clamp (including +inf)
 *   -> +inf, NaN -> NaN.
 * Only arithmetic, compares and selects: GCC vectorises loops calling these.
 * float32: a degree-6 polynomial 1 + r + c2 r^2 + ... + c6 r^6 whose c2..c6 are
 * a relative-error minimax fit (Lawson iterations on Chebyshev nodes) made for
 * this project; float64: 1 + r + c2 r^2 + ... + c11 r^11, c2..c11 fitted for
 * this project (scripts/fit_exp64.py: the relative error levelled at the
 * Chebyshev extrema of [-1.0002 ln2/2, 1.0002 ln2/2] in 50-digit arithmetic),
 * largest relative error 7.7e-18 (2^-56.8, a thirtieth of an ulp), in two
 * multiply-adds fewer than the degree-13 Taylor series used before. Both are
 * evaluated in Horner form. Accuracy measured exhaustively over all float32
 * inputs: see tests/test_exp_accuracy.py and README.md.
 */
#ifndef CSOFTMAX_EXP_IMPL_H
#define CSOFTMAX_EXP_IMPL_H

#include <stdint.h>
#include <string.h>

/* exp(r) ~ 1 + r + r^2 (C2 + r (C3 + ... + r C11)) in float64 */
#define CSM_EXP64_C2 5.0000000000000102347e-01
#define CSM_EXP64_C3 1.6666666666666674537e-01
#define CSM_EXP64_C4 4.1666666666521874914e-02
#define CSM_EXP64_C5 8.3333333333221983891e-03
#define CSM_EXP64_C6 1.3888888947856277685e-03
#define CSM_EXP64_C7 1.9841269886618210618e-04
#define CSM_EXP64_C8 2.4801487285986972534e-05
#define CSM_EXP64_C9 2.7557242305901811970e-06
#define CSM_EXP64_C10 2.7632670844749689783e-07
#define CSM_EXP64_C11 2.5110061496155075826e-08

static inline float csm_f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static inline uint32_t csm_bits_from_f32(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline double csm_f64_from_bits(uint64_t u) { double f; memcpy(&f, &u, sizeof f); return f; }
static inline uint64_t csm_bits_from_f64(double f) { uint64_t u; memcpy(&u, &f, sizeof u); return u; }

static inline float csm_exp_f32(float x)
{
    const float shifter = 12582912.0f;           /* 1.5 * 2^23 */
    float xc = x < -104.0f ? -104.0f : x;        /* exp(-104) rounds to 0 in float32 */
    xc = xc > 89.0f ? 89.0f : xc;                /* exp(89) overflows float32 */
    xc = (x == x) ? xc : 0.0f;                   /* keep NaN out of the integer path */
    float t = xc * 1.44269504088896341f + shifter;
    float n = t - shifter;
    int32_t ni = (int32_t)(csm_bits_from_f32(t) - csm_bits_from_f32(shifter));
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.3814612757e-3f;
    p = p * r + 8.3687100559e-3f;
    p = p * r + 4.1668388993e-2f;
    p = p * r + 1.6666521132e-1f;
    p = p * r + 4.9999994040e-1f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t n1 = ni >> 1;
    int32_t n2 = ni - n1;
    float s1 = csm_f32_from_bits((uint32_t)(n1 + 127) << 23);
    float s2 = csm_f32_from_bits((uint32_t)(n2 + 127) << 23);
    float y = (p * s1) * s2;
    return (x == x) ? y : x;
}

static inline double csm_exp_f64(double x)
{
    const double shifter = 6755399441055744.0;   /* 1.5 * 2^52 */
    double xc = x < -746.0 ? -746.0 : x;         /* exp(-746) rounds to 0 */
    xc = xc > 710.0 ? 710.0 : xc;                /* exp(710) overflows */
    xc = (x == x) ? xc : 0.0;
    double t = xc * 1.4426950408889634074 + shifter;
    double n = t - shifter;
    int64_t ni = (int64_t)(csm_bits_from_f64(t) - csm_bits_from_f64(shifter));
    double r = xc - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    double p = CSM_EXP64_C11;
    p = p * r + CSM_EXP64_C10;
    p = p * r + CSM_EXP64_C9;
    p = p * r + CSM_EXP64_C8;
    p = p * r + CSM_EXP64_C7;
    p = p * r + CSM_EXP64_C6;
    p = p * r + CSM_EXP64_C5;
    p = p * r + CSM_EXP64_C4;
    p = p * r + CSM_EXP64_C3;
    p = p * r + CSM_EXP64_C2;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t n1 = ni >> 1;
    int64_t n2 = ni - n1;
    double s1 = csm_f64_from_bits((uint64_t)(n1 + 1023) << 52);
    double s2 = csm_f64_from_bits((uint64_t)(n2 + 1023) << 52);
    double y = (p * s1) * s2;
    return (x == x) ? y : x;
}

#endif
