/*
 * Row kernels, written once and instantiated per (dtype, instruction set).
 *
 * The including file defines:
 *   CSM_T      float or double
 *   CSM_SFX    f32 or f64
 *   CSM_ISA    scalar, avx2 or avx512 (name suffix only; the target is set by
 *              the including file with #pragma GCC target)
 *   CSM_EXP    csm_exp_f32 or csm_exp_f64
 *   CSM_LANES  number of independent accumulators: enough to fill several
 *              vector registers, so GCC turns the fixed-count inner loops into
 *              vector code without reassociating any floating-point sum.
 *
 * Numerics: every row is shifted by its maximum, x - max taken exactly (see
 * csm_exp_shifted); sums of exponentials are
 * accumulated in CSM_LANES lanes, each addition compensated (Fast2Sum, see
 * csm_lane_add), over blocks of CSM_BLOCK elements whose lanes are added in
 * double with Neumaier compensation, so accuracy neither decays with row
 * length nor suffers when many terms round alike;
 * log-domain results use log1p of the sum of the non-maximal terms, so that
 * log_softmax of the largest element keeps its tiny negative value.
 */
#include <math.h>

#ifndef CSM_FN
#define CSM_CAT3_(a, b, c) a##_##b##_##c
#define CSM_CAT3(a, b, c) CSM_CAT3_(a, b, c)
#define CSM_FN(op) CSM_CAT3(op, CSM_SFX, CSM_ISA)
#define CSM_BLOCK 1024
#endif

/* Maximum ignoring NaN (a NaN makes the later sums NaN anyway). -inf for an
 * all-NaN or all -inf row. */
static inline CSM_T CSM_FN(csm_row_max)(const CSM_T *x, int64_t n)
{
    CSM_T lane[CSM_LANES];
    for (int k = 0; k < CSM_LANES; k++) lane[k] = (CSM_T)-INFINITY;
    int64_t j = 0;
    for (; j + CSM_LANES <= n; j += CSM_LANES)
        for (int k = 0; k < CSM_LANES; k++) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
    CSM_T m = (CSM_T)-INFINITY;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    for (int k = 0; k < CSM_LANES; k++) m = lane[k] > m ? lane[k] : m;
    return m;
}

/* Neumaier step in double: (*s, *c) += b, the rounding error kept in *c. */
static inline void CSM_FN(csm_acc)(double *s, double *c, double b)
{
    double t = *s + b;
    *c += fabs(*s) >= fabs(b) ? (*s - t) + b : (b - t) + *s;
    *s = t;
}

/* exp(x - m) for the row maximum m, x - m taken exactly as d + lo (TwoSum)
 * and exp(d + lo) = e + e lo to first order: the rounding of x - m (half an
 * ulp of |x - m|, which is |x - m| / 2 ulps of the exponential) is not lost.
 * lo is NaN only where e is 0 (x = -inf, or x - m overflowing) or NaN. */
static inline CSM_T CSM_FN(csm_exp_shifted)(CSM_T x, CSM_T m)
{
    CSM_T d = x - m;
    CSM_T b = d - x;
    CSM_T lo = (x - (d - b)) - (m + b);
    CSM_T e = CSM_EXP(d);
    return lo == lo ? e + e * lo : e;
}

/* A term a in [0, 4] (or NaN) added to a lane that holds 4 + its partial
 * sum as hi + lo: since hi >= 4 >= a, Fast2Sum gives the exact rounding error
 * of hi + a, which lo collects. So every addition is compensated, whatever the
 * dtype and however alike the terms round, for three more operations. */
static inline void CSM_FN(csm_lane_add)(CSM_T *hi, CSM_T *lo, CSM_T a)
{
    CSM_T t = *hi + a;
    *lo += a - (t - *hi);
    *hi = t;
}

/* Adds to (*s, *c) the sum over one block (at most CSM_BLOCK elements) of
 * exp(x - m), leaving out the terms equal to the maximum (each exactly
 * exp(0) = 1), which are counted in *n_max instead. When `y` is not NULL every
 * exponential is stored there. Each lane's hi - 4 is exact (hi >= 4) and its
 * lo, at most CSM_BLOCK / CSM_LANES rounding errors, is tiny: the block's
 * lanes reach the double accumulator with no loss. */
static inline void CSM_FN(csm_block_expsum)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m,
                                            double *s, double *c, int64_t *n_max)
{
    CSM_T hi[CSM_LANES], lo[CSM_LANES], cnt[CSM_LANES];
    for (int k = 0; k < CSM_LANES; k++) { hi[k] = 4; lo[k] = 0; cnt[k] = 0; }
    int64_t j = 0;
    /* four terms per lane added pairwise (a sum <= 4 <= hi), then once into
     * the lane: one compensated addition per four terms */
    for (; j + 4 * CSM_LANES <= n; j += 4 * CSM_LANES)
        for (int k = 0; k < CSM_LANES; k++) {
            CSM_T a[4];
            for (int i = 0; i < 4; i++) {
                CSM_T v = x[j + i * CSM_LANES + k];
                CSM_T e = CSM_FN(csm_exp_shifted)(v, m);
                if (y != NULL) y[j + i * CSM_LANES + k] = e;
                a[i] = (v == m) ? (CSM_T)0 : e;
                cnt[k] += (v == m) ? (CSM_T)1 : (CSM_T)0;
            }
            CSM_FN(csm_lane_add)(&hi[k], &lo[k], (a[0] + a[1]) + (a[2] + a[3]));
        }
    if (y != NULL) {
        for (; j + CSM_LANES <= n; j += CSM_LANES)
            for (int k = 0; k < CSM_LANES; k++) {
                CSM_T v = x[j + k];
                CSM_T e = CSM_FN(csm_exp_shifted)(v, m);
                y[j + k] = e;
                CSM_FN(csm_lane_add)(&hi[k], &lo[k], (v == m) ? (CSM_T)0 : e);
                cnt[k] += (v == m) ? (CSM_T)1 : (CSM_T)0;
            }
    } else {
        for (; j + CSM_LANES <= n; j += CSM_LANES)
            for (int k = 0; k < CSM_LANES; k++) {
                CSM_T v = x[j + k];
                CSM_T e = CSM_FN(csm_exp_shifted)(v, m);
                CSM_FN(csm_lane_add)(&hi[k], &lo[k], (v == m) ? (CSM_T)0 : e);
                cnt[k] += (v == m) ? (CSM_T)1 : (CSM_T)0;
            }
    }
    for (int k = 0; j < n; j++, k++) {
        CSM_T v = x[j];
        CSM_T e = CSM_FN(csm_exp_shifted)(v, m);
        if (y != NULL) y[j] = e;
        CSM_FN(csm_lane_add)(&hi[k], &lo[k], (v == m) ? (CSM_T)0 : e);
        cnt[k] += (v == m) ? (CSM_T)1 : (CSM_T)0;
    }
    double count = 0.0;
    for (int k = 0; k < CSM_LANES; k++) {
        CSM_FN(csm_acc)(s, c, (double)(hi[k] - (CSM_T)4));
        *c += (double)lo[k];
        count += (double)cnt[k];
    }
    *n_max += (int64_t)count;
}

/* Sum over the whole row of the non-maximal exp(x - m), block by block
 * (Neumaier-compensated in double). Adds the count of maximal terms to *n_max. */
static inline double CSM_FN(csm_row_expsum)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m,
                                            int64_t *n_max)
{
    double s = 0.0, c = 0.0;
    for (int64_t j = 0; j < n; j += CSM_BLOCK) {
        int64_t len = n - j < CSM_BLOCK ? n - j : CSM_BLOCK;
        CSM_FN(csm_block_expsum)(x + j, y == NULL ? NULL : y + j, len, m, &s, &c, n_max);
    }
    return s + c;
}

/* t = sum(exp(x - m)) - 1, formed without computing 1 + t, for a row whose
 * maximum m is finite; log(sum(exp(x - m))) = log1p(t). */
static inline double CSM_FN(csm_row_sum_minus_one)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m)
{
    int64_t n_max = 0;
    double t = CSM_FN(csm_row_expsum)(x, y, n, m, &n_max);
    return t + (double)(n_max - 1);
}

static inline void CSM_FN(csm_fill)(CSM_T *y, int64_t n, CSM_T v)
{
    for (int64_t j = 0; j < n; j++) y[j] = v;
}

static void CSM_FN(csm_exp_map)(const CSM_T *x, CSM_T *y, int64_t n)
{
    for (int64_t j = 0; j < n; j++) y[j] = CSM_EXP(x[j]);
}

static void CSM_FN(csm_softmax_rows)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys,
                                     int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *yr = y + r * ys;
        CSM_T m = CSM_FN(csm_row_max)(xr, cols);
        if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
            /* +inf present, or every value -inf / NaN: the row is NaN. */
            CSM_FN(csm_fill)(yr, cols, (CSM_T)NAN);
            continue;
        }
        /* A NaN elsewhere in the row makes t NaN, hence the whole row NaN. */
        CSM_T s = (CSM_T)(1.0 + CSM_FN(csm_row_sum_minus_one)(xr, yr, cols, m));
        for (int64_t j = 0; j < cols; j++) yr[j] = yr[j] / s;
    }
}

static void CSM_FN(csm_log_softmax_rows)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys,
                                         int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *yr = y + r * ys;
        CSM_T m = CSM_FN(csm_row_max)(xr, cols);
        if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
            CSM_FN(csm_fill)(yr, cols, (CSM_T)NAN);
            continue;
        }
        CSM_T log_s = (CSM_T)log1p(CSM_FN(csm_row_sum_minus_one)(xr, NULL, cols, m));
        for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - m) - log_s;
    }
}

static void CSM_FN(csm_logsumexp_rows)(const CSM_T *x, int64_t xs, CSM_T *out,
                                       int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T m = CSM_FN(csm_row_max)(xr, cols);
        if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
            /* The result is m (+inf, or -inf for a row of -inf) unless the
             * row holds a NaN; x * 0 is NaN exactly for NaN and infinities. */
            int has_nan = 0;
            for (int64_t j = 0; j < cols; j++) has_nan |= (xr[j] != xr[j]);
            out[r] = has_nan ? (CSM_T)NAN : m;
            continue;
        }
        out[r] = (CSM_T)((double)m + log1p(CSM_FN(csm_row_sum_minus_one)(xr, NULL, cols, m)));
    }
}

static void CSM_FN(csm_cross_entropy_rows)(const CSM_T *x, int64_t xs, const int64_t *target,
                                           CSM_T *loss, CSM_T *grad, int64_t gs,
                                           int64_t rows, int64_t cols, double grad_scale)
{
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *gr = grad == NULL ? NULL : grad + r * gs;
        int64_t k = target[r];
        CSM_T m = CSM_FN(csm_row_max)(xr, cols);
        if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
            loss[r] = (CSM_T)NAN;
            if (gr != NULL) CSM_FN(csm_fill)(gr, cols, (CSM_T)NAN);
            continue;
        }
        /* One sweep: the exponentials go straight into the gradient row. */
        double t = CSM_FN(csm_row_sum_minus_one)(xr, gr, cols, m);
        double zk = (double)xr[k] - (double)m;
        loss[r] = (CSM_T)(log1p(t) - zk);
        if (gr != NULL) {
            double s = 1.0 + t;
            CSM_T factor = (CSM_T)(grad_scale / s);
            /* p_k - 1 = (e_k - s) / s; when x_k is the maximum e_k = 1 and
             * e_k - s = -t exactly, with no cancellation. */
            double diff = (xr[k] == m) ? -t : (double)gr[k] - s;
            for (int64_t j = 0; j < cols; j++) gr[j] = gr[j] * factor;
            gr[k] = (CSM_T)(grad_scale * (diff / s));
        }
    }
}

