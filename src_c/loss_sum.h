/*
 * The sum of per-row losses in double, as every reduced loss takes it
 * (csoftmax_loss_sum_f32 / _f64; csoftmax/_kernels.pyx's loss_total and the
 * loss fast paths). Included by each kernel file, so that each instruction
 * set compiles its own copy of the same operations (the dispatch table picks
 * one): the results are the same bits under every instruction set, since
 * each lane's operations are fixed and there are no products to contract.
 *
 * float64 terms: compensated, eight interleaved pairs taking Knuth's TwoSum,
 * branch-free and exact whatever the magnitudes (the same operations on
 * eight independent lanes, which the compiler vectorises), joined at the end
 * by Neumaier steps; each pair's error is that of a compensated sum, and so
 * is the total's. (Four Neumaier pairs, whose branch does not vectorise, took
 * 0.91 ms for 10^6 terms, 15 % of a float64 1000000 x 3 cross-entropy with
 * its gradient; the eight pairs in the baseline build 0.48 ms, a tenth of
 * perf's samples there.) float32 terms: four plain double accumulators.
 * Their rounding errors add up to at most about (n / 4) 2^-53 of the sum of
 * the terms' magnitudes, while each float32 term already carries a rounding
 * of up to 2^-24 of itself: the sum's own error stays below that for chains
 * of fewer than 2^29 terms.
 */
#ifndef CSM_LOSS_SUM_H
#define CSM_LOSS_SUM_H

#include <math.h>
#include <stdint.h>

#define CSM_TWO_SUM_LANES 8

/* (s, c) += x: Neumaier's step, the rounding error of s + x kept in c. */
static inline void csm_neumaier_add(double *s, double *c, double x)
{
    const double u = *s + x;
    if (fabs(*s) >= fabs(x))
        *c += (*s - u) + x;
    else
        *c += (x - u) + *s;
    *s = u;
}

static double csm_loss_sum_f64(const double *v, int64_t n)
{
    double s[CSM_TWO_SUM_LANES], c[CSM_TWO_SUM_LANES];
    double s0 = 0.0, c0 = 0.0, c1 = 0.0;
    int64_t i = 0;
    for (int k = 0; k < CSM_TWO_SUM_LANES; k++) s[k] = c[k] = 0.0;
    for (; i + CSM_TWO_SUM_LANES <= n; i += CSM_TWO_SUM_LANES) {
        for (int k = 0; k < CSM_TWO_SUM_LANES; k++) {
            const double x = v[i + k], u = s[k] + x, b = u - s[k];
            c[k] += (s[k] - (u - b)) + (x - b);
            s[k] = u;
        }
    }
    for (int k = 0; k < CSM_TWO_SUM_LANES; k++) {
        csm_neumaier_add(&s0, &c0, s[k]);
        c1 += c[k];
    }
    for (; i < n; i++) csm_neumaier_add(&s0, &c0, v[i]);
    /* an infinite sum as is (its compensation would be NaN, inf - inf) */
    return s0 - s0 == 0.0 ? s0 + (c0 + c1) : s0;
}

static double csm_loss_sum_f32(const float *v, int64_t n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += v[i];
        s1 += v[i + 1];
        s2 += v[i + 2];
        s3 += v[i + 3];
    }
    for (; i < n; i++) s0 += v[i];
    return (s0 + s1) + (s2 + s3);
}

#endif
