/*
 * Loss kernels, written once and instantiated per (dtype, instruction set).
 *
 * losses_scalar.c defines CSL_ISA (name suffix) and CSL_VEC_BYTES and
 * includes this header once: the header then includes itself for float and
 * double (CSL_T defined) and defines csl_fill_table_<CSL_ISA>(): the portable
 * kernels, which the AVX2 and AVX-512 tables take over but for nll_loss (their
 * other kernels are simd_losses_body.h's; the portable ones compiled for
 * those instruction sets were never called, and cost 80 s of every build). With
 * CSL_TYPES_ONLY defined it only declares the kernel table (for
 * losses_dispatch.c).
 *
 * Numerics follow kernels_body.h: rows are shifted by their maximum; sums are
 * kept in CSL_LANES independent accumulators (a fixed-count inner loop that
 * GCC turns into vector code without reassociating a floating-point sum),
 * every lane addition compensated (Fast2Sum for the exponentials, TwoSum for
 * terms of any size), over blocks of CSL_BLOCK elements (CSL_SUM_BLOCK for
 * the cross-entropy kernels' exponential sums) whose lanes are added
 * in double with Neumaier compensation, so accuracy neither decays with row
 * length nor suffers when many terms round alike; log of the row sum is
 * log1p of the non-maximal terms. Loss terms are formed as sums of
 * non-negative parts (log(s) and -(z - max)), so no cancellation against the
 * row's log-sum-exp. A term whose coefficient is exactly zero contributes
 * zero, even where its log-probability is -inf (the 0 * log 0 limit).
 */

/* ------------------------------------------------------------------------ */
/* Kernel table (once).                                                      */
#ifndef CSL_TABLE_TYPES
#define CSL_TABLE_TYPES
#include "losses.h"
#include <float.h>
#include <math.h>
#include <stdint.h>

#define CSL_DECLARE_TYPES(T, S)                                                              \
    typedef void (*csl_xent_class_##S)(const T *, int64_t, const int64_t *, const T *,      \
                                       int64_t, double, double, T *, T *, int64_t, int64_t, \
                                       int64_t, double);                                    \
    typedef void (*csl_xent_prob_##S)(const T *, int64_t, const T *, int64_t, const T *,    \
                                      double, double, T *, T *, int64_t, int64_t, int64_t,  \
                                      double);                                              \
    typedef void (*csl_nll_##S)(const T *, int64_t, const int64_t *, const T *, int64_t,    \
                                T *, int64_t, int64_t);                                     \
    typedef void (*csl_backward_##S)(const T *, int64_t, const T *, int64_t, T *, int64_t,  \
                                     int64_t, int64_t);                                     \
    typedef void (*csl_map_##S)(const T *, int64_t, T *, int64_t, int64_t, int64_t);        \
    typedef void (*csl_bce_##S)(const T *, int64_t, const T *, int64_t, const T *, int64_t, \
                                int64_t, const T *, int64_t, int64_t, T *, int64_t,         \
                                double *, T *, int64_t, int64_t, int64_t, double);

CSL_DECLARE_TYPES(float, f32)
CSL_DECLARE_TYPES(double, f64)

typedef struct {
    csl_xent_class_f32 xent_class_f32;
    csl_xent_class_f64 xent_class_f64;
    csl_xent_prob_f32 xent_prob_f32;
    csl_xent_prob_f64 xent_prob_f64;
    csl_nll_f32 nll_f32;
    csl_nll_f64 nll_f64;
    csl_backward_f32 softmax_backward_f32;
    csl_backward_f64 softmax_backward_f64;
    csl_backward_f32 log_softmax_backward_f32;
    csl_backward_f64 log_softmax_backward_f64;
    csl_map_f32 sigmoid_f32;
    csl_map_f64 sigmoid_f64;
    csl_map_f32 log_sigmoid_f32;
    csl_map_f64 log_sigmoid_f64;
    csl_bce_f32 bce_f32;
    csl_bce_f64 bce_f64;
} csl_kernel_table;

void csl_fill_table_scalar(csl_kernel_table *table);
#if defined(__x86_64__) || defined(_M_X64)
/* the explicit-SIMD loss kernels (simd_losses_body.h, built with
 * kernels_avx2.c / kernels_avx512.c) over a table filled as above */
void csm_fill_losses_avx2(csl_kernel_table *table);
void csm_fill_losses_avx512(csl_kernel_table *table);
#endif

#define CSL_CAT3_(a, b, c) a##_##b##_##c
#define CSL_CAT3(a, b, c) CSL_CAT3_(a, b, c)
#define CSL_BLOCK 1024
/* Blocks of the cross-entropy kernels' exponential sums: each lane's lo
 * collects its terms' Fast2Sum errors one by one, and on rows of many equal
 * tiny terms (each lost whole from hi, all rounding one way) lo's own
 * roundings grow with the terms per lane: blocks of 1024 elements (128
 * terms per float32 lane in the portable build) cost up to 5.8 ulp of the
 * loss (float32, 5000 columns of e^-20 beside one maximum); the flush into
 * double costs a few operations per lane per block. */
#define CSL_SUM_BLOCK 256
#define CSL_INLINE static inline __attribute__((always_inline))
#endif /* CSL_TABLE_TYPES */

#if !defined(CSL_TYPES_ONLY)
#if !defined(CSL_T)
/* ------------------------------------------------------------------------ */
/* Instantiation for float and double, then the table for this ISA.          */
#include "exp_impl.h"

#define CSL_T float
#define CSL_SFX f32
#define CSL_EXP csm_exp_f32
#define CSL_LANES (2 * CSL_VEC_BYTES / 4)
#include "losses_body.h"
#undef CSL_T
#undef CSL_SFX
#undef CSL_EXP
#undef CSL_LANES

#define CSL_T double
#define CSL_SFX f64
#define CSL_EXP csm_exp_f64
#define CSL_LANES (2 * CSL_VEC_BYTES / 8)
#include "losses_body.h"
#undef CSL_T
#undef CSL_SFX
#undef CSL_EXP
#undef CSL_LANES

#define CSL_TABLE_FN_(isa) csl_fill_table_##isa
#define CSL_TABLE_FN(isa) CSL_TABLE_FN_(isa)
#define CSL_ENTRY(op, sfx) CSL_CAT3(csl_##op, sfx, CSL_ISA)

void CSL_TABLE_FN(CSL_ISA)(csl_kernel_table *t)
{
    t->xent_class_f32 = CSL_ENTRY(xent_class_rows, f32);
    t->xent_class_f64 = CSL_ENTRY(xent_class_rows, f64);
    t->xent_prob_f32 = CSL_ENTRY(xent_prob_rows, f32);
    t->xent_prob_f64 = CSL_ENTRY(xent_prob_rows, f64);
    t->nll_f32 = CSL_ENTRY(nll_rows, f32);
    t->nll_f64 = CSL_ENTRY(nll_rows, f64);
    t->softmax_backward_f32 = CSL_ENTRY(softmax_backward_rows, f32);
    t->softmax_backward_f64 = CSL_ENTRY(softmax_backward_rows, f64);
    t->log_softmax_backward_f32 = CSL_ENTRY(log_softmax_backward_rows, f32);
    t->log_softmax_backward_f64 = CSL_ENTRY(log_softmax_backward_rows, f64);
    t->sigmoid_f32 = CSL_ENTRY(sigmoid_rows, f32);
    t->sigmoid_f64 = CSL_ENTRY(sigmoid_rows, f64);
    t->log_sigmoid_f32 = CSL_ENTRY(log_sigmoid_rows, f32);
    t->log_sigmoid_f64 = CSL_ENTRY(log_sigmoid_rows, f64);
    t->bce_f32 = CSL_ENTRY(bce_rows, f32);
    t->bce_f64 = CSL_ENTRY(bce_rows, f64);
}

#else /* CSL_T defined: the kernel bodies for one dtype */
/* ------------------------------------------------------------------------ */

#define CSL_FN(op) CSL_CAT3(op, CSL_SFX, CSL_ISA)
#define T CSL_T
#define L CSL_LANES

/* Maximum ignoring NaN; -inf for an all-NaN or all -inf row. */
CSL_INLINE T CSL_FN(csl_row_max)(const T *x, int64_t n)
{
    T lane[L];
    for (int k = 0; k < L; k++) lane[k] = (T)-INFINITY;
    int64_t j = 0;
    for (; j + L <= n; j += L)
        for (int k = 0; k < L; k++) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
    T m = (T)-INFINITY;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    for (int k = 0; k < L; k++) m = lane[k] > m ? lane[k] : m;
    return m;
}

/* ---- compensated sums ---------------------------------------------------- */

/* Neumaier step in double: (*s, *c) += b, the rounding error kept in *c. */
CSL_INLINE void CSL_FN(csl_acc)(double *s, double *c, double b)
{
    double t = *s + b;
    *c += fabs(*s) >= fabs(b) ? (*s - t) + b : (b - t) + *s;
    *s = t;
}

/* The value of a Neumaier pair. An infinite term makes the compensation NaN
 * (inf - inf): the sum is then s itself (+-inf, or NaN). */
CSL_INLINE double CSL_FN(csl_total)(double s, double c)
{
    return s - s == 0.0 ? s + c : s;
}

/* A term a in [0, 1] (or NaN) added to a lane that holds 1 + its partial sum
 * as hi + lo: hi >= 1 >= a, so Fast2Sum gives the exact rounding error of
 * hi + a, which lo collects (three more operations per term). */
CSL_INLINE void CSL_FN(csl_add_unit)(T *hi, T *lo, T a)
{
    T t = *hi + a;
    *lo += a - (t - *hi);
    *hi = t;
}

/* A term of any size and sign added to a lane hi + lo; TwoSum (branch-free,
 * five more operations per term) gives the exact rounding error of hi + a. */
CSL_INLINE void CSL_FN(csl_add_any)(T *hi, T *lo, T a)
{
    T t = *hi + a;
    T b = t - *hi;
    *lo += (*hi - (t - b)) + (a - b);
    *hi = t;
}

/* A block's lanes (hi + lo, at most CSL_BLOCK / CSL_LANES terms each, so lo
 * stays tiny and exact enough) into the row's double accumulator; `bias` is
 * the value the lanes started from (1 for csl_add_unit: hi - 1 is exact).
 * An infinite lane leaves a NaN compensation: read the pair with csl_total. */
CSL_INLINE void CSL_FN(csl_flush)(const T *hi, const T *lo, T bias, double *s, double *c)
{
    for (int q = 0; q < L; q++) {
        CSL_FN(csl_acc)(s, c, (double)(hi[q] - bias));
        *c += (double)lo[q];
    }
}

/* log1p(u) for u in [0, 1] (NaN propagates), vectorisable: v = 1 + u reduced
 * to f in [sqrt(2)/2, sqrt(2)], log f = 2 atanh(s), s = (f - 1) / (f + 1),
 * |s| <= 0.1716, by its odd series (truncation below 2^-28 for float, 2^-55
 * for double), plus the rounding of 1 + u corrected to first order. */
CSL_INLINE T CSL_FN(csl_log1p_unit)(T u)
{
    T v = (T)1 + u;
    int big = v > (T)1.41421356237309504880;
    T f = big ? v * (T)0.5 : v;
    T s = (f - (T)1) / (f + (T)1);
    T z = s * s;
    T p;
    if (sizeof(T) == 4) {
        p = (T)(1.0 / 9);
        p = p * z + (T)(1.0 / 7);
        p = p * z + (T)(1.0 / 5);
        p = p * z + (T)(1.0 / 3);
    } else {
        p = (T)(1.0 / 19);
        p = p * z + (T)(1.0 / 17);
        p = p * z + (T)(1.0 / 15);
        p = p * z + (T)(1.0 / 13);
        p = p * z + (T)(1.0 / 11);
        p = p * z + (T)(1.0 / 9);
        p = p * z + (T)(1.0 / 7);
        p = p * z + (T)(1.0 / 5);
        p = p * z + (T)(1.0 / 3);
    }
    T s2 = s + s;
    T log_f = s2 + s2 * z * p;
    T corr = (u - (v - (T)1)) / v;
    T ln2_hi = sizeof(T) == 4 ? (T)0.693359375 : (T)6.93147180369123816490e-01;
    T ln2_lo = sizeof(T) == 4 ? (T)-2.12194440e-4 : (T)1.90821492927058770002e-10;
    T k = big ? (T)1 : (T)0;
    return k * ln2_hi + (log_f + (corr + k * ln2_lo));
}

/* 1 / T in the dtype; beyond its range (float32, T < 1 / FLT_MAX) the largest
 * finite value, which gives the same limit (0 at the maximum, -inf below). */
CSL_INLINE T CSL_FN(csl_inv_t)(double inv_temperature)
{
    const double big = sizeof(T) == 4 ? (double)FLT_MAX : DBL_MAX;
    return (T)(inv_temperature < big ? inv_temperature : big);
}

/* ---- cross-entropy, class targets --------------------------------------- */

CSL_INLINE void CSL_FN(csl_xent_class_row)(const T *xr, int64_t k, const T *w, T w_sum,
                                           double e, T inv_t, T *loss, T *gr, int64_t n,
                                           double scale, const int has_w,
                                           const int has_smooth, const int has_grad)
{
    T m = CSL_FN(csl_row_max)(xr, n);
    if (m == (T)INFINITY || m == (T)-INFINITY) {
        *loss = (T)NAN;
        if (has_grad)
            for (int64_t j = 0; j < n; j++) gr[j] = (T)NAN;
        return;
    }
    /* the exponentials (but for the maximal ones, counted in lc) and, with
     * label smoothing, sum(w_j z_j), each in compensated lanes */
    double s_e = 0.0, c_e = 0.0, s_z = 0.0, c_z = 0.0, cnt = 0.0;
    for (int64_t j0 = 0; j0 < n; j0 += CSL_SUM_BLOCK) {
        int64_t len = n - j0 < CSL_SUM_BLOCK ? n - j0 : CSL_SUM_BLOCK;
        const T *xb = xr + j0;
        T *gb = has_grad ? gr + j0 : NULL;
        const T *wb = has_w ? w + j0 : NULL;
        T eh[L], el[L], lc[L], zh[L], zl[L];
        for (int q = 0; q < L; q++) { eh[q] = 1; el[q] = 0; lc[q] = 0; zh[q] = 0; zl[q] = 0; }
#define CSL_XC_ELEMENT(J, Q)                                                            \
    do {                                                                                \
        T v = xb[J];                                                                    \
        T z = (v - m) * inv_t;                                                          \
        T ex = CSL_EXP(z);                                                              \
        if (has_grad) gb[J] = ex;                                                       \
        CSL_FN(csl_add_unit)(&eh[Q], &el[Q], (v == m) ? (T)0 : ex);                     \
        lc[Q] += (v == m) ? (T)1 : (T)0;                                                \
        if (has_smooth) {                                                               \
            T wzj = has_w ? ((wb[J] == (T)0) ? (T)0 : wb[J] * z) : z;                   \
            CSL_FN(csl_add_any)(&zh[Q], &zl[Q], wzj);                                   \
        }                                                                               \
    } while (0)
        int64_t j = 0;
        for (; j + L <= len; j += L)
#pragma GCC unroll 16
            for (int q = 0; q < L; q++) CSL_XC_ELEMENT(j + q, q);
        for (int q = 0; j < len; j++, q++) CSL_XC_ELEMENT(j, q);
#undef CSL_XC_ELEMENT
        CSL_FN(csl_flush)(eh, el, (T)1, &s_e, &c_e);
        if (has_smooth) CSL_FN(csl_flush)(zh, zl, (T)0, &s_z, &c_z);
        for (int q = 0; q < L; q++) cnt += (double)lc[q];
    }
    double sum = CSL_FN(csl_total)(s_e, c_e), wz = CSL_FN(csl_total)(s_z, c_z);
    double t = sum + (cnt - 1.0);          /* row sum of exp(z - max z), minus one */
    double log_s = log1p(t);
    double zk = (double)((xr[k] - m) * inv_t);
    double wk = has_w ? (double)w[k] : 1.0;
    double c_nll = (1.0 - e) * wk;
    /* a zero coefficient drops the term, even at a -inf logit (0 log 0), but a
     * NaN in the row (t NaN) stays NaN */
    double l = (c_nll == 0.0 && t == t) ? 0.0 : c_nll * (log_s - zk);
    double share = has_smooth ? e / (double)n : 0.0;
    if (has_smooth) l += share * ((double)w_sum * log_s - wz);
    *loss = (T)l;
    if (!has_grad) return;
    double s = 1.0 + t;
    /* the sum of the target weights (w_sum, which a non-finite weight of a
     * class no row targets makes non-finite, only with smoothing) */
    double a = has_smooth ? c_nll + share * (double)w_sum : c_nll;
    double pk_minus_one = ((xr[k] == m) ? -t : (double)gr[k] - s) / s;
    double unit = scale * (double)inv_t;
    T factor = (T)(unit * a / s);
    if (has_smooth) {
        T sub = (T)(unit * share);
        if (has_w)
            for (int64_t j = 0; j < n; j++) gr[j] = gr[j] * factor - sub * w[j];
        else
            for (int64_t j = 0; j < n; j++) gr[j] = gr[j] * factor - sub;
    } else {
        for (int64_t j = 0; j < n; j++) gr[j] = gr[j] * factor;
    }
    gr[k] = (T)(unit * (has_smooth ? a * pk_minus_one + share * ((double)w_sum - wk)
                                   : a * pk_minus_one));
}

static void CSL_FN(csl_xent_class_rows)(const T *x, int64_t xs, const int64_t *target,
                                        const T *w, int64_t ignore_index, double e,
                                        double inv_temperature, T *loss, T *grad, int64_t gs,
                                        int64_t rows, int64_t cols, double scale)
{
    T w_sum = (T)cols;
    if (w != NULL) {
        double acc = 0.0, comp = 0.0;
        for (int64_t j = 0; j < cols; j++) CSL_FN(csl_acc)(&acc, &comp, (double)w[j]);
        w_sum = (T)CSL_FN(csl_total)(acc, comp);
    }
    T inv_t = CSL_FN(csl_inv_t)(inv_temperature);
    int mode = (w != NULL) | ((e != 0.0) << 1) | ((grad != NULL) << 2);
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * xs;
        T *gr = grad == NULL ? NULL : grad + r * gs;
        int64_t k = target[r];
        if (k == ignore_index) {
            loss[r] = (T)0;
            if (gr != NULL)
                for (int64_t j = 0; j < cols; j++) gr[j] = (T)0;
            continue;
        }
#define CSL_XC(W, S, G) \
    CSL_FN(csl_xent_class_row)(xr, k, w, w_sum, e, inv_t, loss + r, gr, cols, scale, W, S, G)
        switch (mode) {
        case 0: CSL_XC(0, 0, 0); break;
        case 1: CSL_XC(1, 0, 0); break;
        case 2: CSL_XC(0, 1, 0); break;
        case 3: CSL_XC(1, 1, 0); break;
        case 4: CSL_XC(0, 0, 1); break;
        case 5: CSL_XC(1, 0, 1); break;
        case 6: CSL_XC(0, 1, 1); break;
        default: CSL_XC(1, 1, 1); break;
        }
#undef CSL_XC
    }
}

/* ---- cross-entropy, probability targets --------------------------------- */

CSL_INLINE void CSL_FN(csl_xent_prob_row)(const T *xr, const T *qr, const T *w, T c_q, T c_0,
                                          T inv_t, T *loss, T *gr, int64_t n, double scale,
                                          const int has_w, const int has_grad)
{
    T m = CSL_FN(csl_row_max)(xr, n);
    if (m == (T)INFINITY || m == (T)-INFINITY) {
        *loss = (T)NAN;
        if (has_grad)
            for (int64_t j = 0; j < n; j++) gr[j] = (T)NAN;
        return;
    }
    /* the exponentials (but for the maximal ones, counted in lc), sum(a_j)
     * and sum(a_j z_j), each in compensated lanes */
    double s_e = 0.0, c_e = 0.0, s_a = 0.0, c_a = 0.0, s_z = 0.0, c_z = 0.0, cnt = 0.0;
    for (int64_t j0 = 0; j0 < n; j0 += CSL_SUM_BLOCK) {
        int64_t len = n - j0 < CSL_SUM_BLOCK ? n - j0 : CSL_SUM_BLOCK;
        const T *xb = xr + j0, *qb = qr + j0;
        const T *wb = has_w ? w + j0 : NULL;
        T *gb = has_grad ? gr + j0 : NULL;
        T eh[L], el[L], lc[L], ah[L], al[L], zh[L], zl[L];
        for (int q = 0; q < L; q++) {
            eh[q] = 1; el[q] = 0; lc[q] = 0; ah[q] = 0; al[q] = 0; zh[q] = 0; zl[q] = 0;
        }
#define CSL_XP_ELEMENT(J, Q)                                                            \
    do {                                                                                \
        T v = xb[J];                                                                    \
        T z = (v - m) * inv_t;                                                          \
        T ex = CSL_EXP(z);                                                              \
        if (has_grad) gb[J] = ex;                                                       \
        CSL_FN(csl_add_unit)(&eh[Q], &el[Q], (v == m) ? (T)0 : ex);                     \
        lc[Q] += (v == m) ? (T)1 : (T)0;                                                \
        T a = c_q * qb[J] + c_0;                                                        \
        if (has_w) a = a * wb[J];                                                       \
        CSL_FN(csl_add_any)(&ah[Q], &al[Q], a);                                         \
        CSL_FN(csl_add_any)(&zh[Q], &zl[Q], (a == (T)0) ? (T)0 : a * z);                \
    } while (0)
        int64_t j = 0;
        for (; j + L <= len; j += L)
#pragma GCC unroll 16
            for (int q = 0; q < L; q++) CSL_XP_ELEMENT(j + q, q);
        for (int q = 0; j < len; j++, q++) CSL_XP_ELEMENT(j, q);
#undef CSL_XP_ELEMENT
        CSL_FN(csl_flush)(eh, el, (T)1, &s_e, &c_e);
        CSL_FN(csl_flush)(ah, al, (T)0, &s_a, &c_a);
        CSL_FN(csl_flush)(zh, zl, (T)0, &s_z, &c_z);
        for (int q = 0; q < L; q++) cnt += (double)lc[q];
    }
    double sum = CSL_FN(csl_total)(s_e, c_e), asum = CSL_FN(csl_total)(s_a, c_a);
    double az = CSL_FN(csl_total)(s_z, c_z);
    double t = sum + (cnt - 1.0);
    double log_s = log1p(t);
    *loss = (T)(((asum == 0.0 && t == t) ? 0.0 : asum * log_s) - az);
    if (!has_grad) return;
    T inv_s = (T)(1.0 / (1.0 + t));
    T tt = (T)t;
    T sa = (T)asum;
    T unit = (T)(scale * (double)inv_t);
    for (int64_t j = 0; j < n; j++) {
        T a = c_q * qr[j] + c_0;
        if (has_w) a = a * w[j];
        /* p_j * sum(a) - a_j; for the maximal entries p_j = 1 / s and the
         * difference is formed as ((sum(a) - a_j) - a_j * t) / s. */
        T g = (xr[j] == m) ? ((sa - a) - a * tt) * inv_s : gr[j] * inv_s * sa - a;
        gr[j] = g * unit;
    }
}

static void CSL_FN(csl_xent_prob_rows)(const T *x, int64_t xs, const T *q, int64_t qs,
                                       const T *w, double e, double inv_temperature, T *loss,
                                       T *grad, int64_t gs, int64_t rows, int64_t cols,
                                       double scale)
{
    T c_q = (T)(1.0 - e), c_0 = (T)(e / (double)cols);
    T inv_t = CSL_FN(csl_inv_t)(inv_temperature);
    int mode = (w != NULL) | ((grad != NULL) << 1);
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * xs, *qr = q + r * qs;
        T *gr = grad == NULL ? NULL : grad + r * gs;
#define CSL_XP(W, G) \
    CSL_FN(csl_xent_prob_row)(xr, qr, w, c_q, c_0, inv_t, loss + r, gr, cols, scale, W, G)
        switch (mode) {
        case 0: CSL_XP(0, 0); break;
        case 1: CSL_XP(1, 0); break;
        case 2: CSL_XP(0, 1); break;
        default: CSL_XP(1, 1); break;
        }
#undef CSL_XP
    }
}

/* ---- nll ---------------------------------------------------------------- */

static void CSL_FN(csl_nll_rows)(const T *lp, int64_t ls, const int64_t *target, const T *w,
                                 int64_t ignore_index, T *loss, int64_t rows, int64_t cols)
{
    (void)cols;
    for (int64_t r = 0; r < rows; r++) {
        int64_t k = target[r];
        if (k == ignore_index) { loss[r] = (T)0; continue; }
        T wk = w == NULL ? (T)1 : w[k];
        T lpk = lp[r * ls + k];
        /* a zero weight drops the term, even at lp = -inf (0 log 0), not a NaN */
        loss[r] = (wk == (T)0 && lpk == lpk) ? (T)0 : -wk * lpk;
    }
}

/* ---- backward passes ---------------------------------------------------- */

/* sum_j a[j] * b[j] (b == NULL: sum_j a[j]) in compensated lanes, blocks
 * added in double with compensation. */
CSL_INLINE double CSL_FN(csl_dot)(const T *a, const T *b, int64_t n)
{
    double s = 0.0, c = 0.0;
    for (int64_t j0 = 0; j0 < n; j0 += CSL_BLOCK) {
        int64_t len = n - j0 < CSL_BLOCK ? n - j0 : CSL_BLOCK;
        const T *ab = a + j0;
        const T *bb = b == NULL ? NULL : b + j0;
        T hi[L], lo[L];
        for (int q = 0; q < L; q++) { hi[q] = 0; lo[q] = 0; }
        int64_t j = 0;
        /* four terms per lane added pairwise, then once into the lane */
        if (bb != NULL) {
            for (; j + 4 * L <= len; j += 4 * L)
                for (int q = 0; q < L; q++) {
                    const T *ap = ab + j + q, *bp = bb + j + q;
                    T p = (ap[0] * bp[0] + ap[L] * bp[L]) + (ap[2 * L] * bp[2 * L] + ap[3 * L] * bp[3 * L]);
                    CSL_FN(csl_add_any)(&hi[q], &lo[q], p);
                }
            for (; j + L <= len; j += L)
                for (int q = 0; q < L; q++) CSL_FN(csl_add_any)(&hi[q], &lo[q], ab[j + q] * bb[j + q]);
            for (int q = 0; j < len; j++, q++) CSL_FN(csl_add_any)(&hi[q], &lo[q], ab[j] * bb[j]);
        } else {
            for (; j + 4 * L <= len; j += 4 * L)
                for (int q = 0; q < L; q++) {
                    const T *ap = ab + j + q;
                    CSL_FN(csl_add_any)(&hi[q], &lo[q], (ap[0] + ap[L]) + (ap[2 * L] + ap[3 * L]));
                }
            for (; j + L <= len; j += L)
                for (int q = 0; q < L; q++) CSL_FN(csl_add_any)(&hi[q], &lo[q], ab[j + q]);
            for (int q = 0; j < len; j++, q++) CSL_FN(csl_add_any)(&hi[q], &lo[q], ab[j]);
        }
        CSL_FN(csl_flush)(hi, lo, (T)0, &s, &c);
    }
    return CSL_FN(csl_total)(s, c);
}

static void CSL_FN(csl_softmax_backward_rows)(const T *g, int64_t gs, const T *y, int64_t ys,
                                              T *out, int64_t os, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const T *gr = g + r * gs, *yr = y + r * ys;
        T *o = out + r * os;
        T d = (T)CSL_FN(csl_dot)(gr, yr, cols);
        for (int64_t j = 0; j < cols; j++) o[j] = yr[j] * (gr[j] - d);
    }
}

static void CSL_FN(csl_log_softmax_backward_rows)(const T *g, int64_t gs, const T *y,
                                                  int64_t ys, T *out, int64_t os,
                                                  int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const T *gr = g + r * gs, *yr = y + r * ys;
        T *o = out + r * os;
        T total = (T)CSL_FN(csl_dot)(gr, NULL, cols);
        for (int64_t j = 0; j < cols; j++) o[j] = gr[j] - CSL_EXP(yr[j]) * total;
    }
}

/* ---- sigmoid family ----------------------------------------------------- */

static void CSL_FN(csl_sigmoid_rows)(const T *x, int64_t xs, T *y, int64_t ys,
                                     int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * xs;
        T *yr = y + r * ys;
        for (int64_t j = 0; j < cols; j++) {
            T v = xr[j];
            T ex = CSL_EXP(-fabs(v));
            T num = v >= (T)0 ? (T)1 : ex;
            yr[j] = num / ((T)1 + ex);
        }
    }
}

static void CSL_FN(csl_log_sigmoid_rows)(const T *x, int64_t xs, T *y, int64_t ys,
                                         int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * xs;
        T *yr = y + r * ys;
        for (int64_t j = 0; j < cols; j++) {
            T v = xr[j];
            T ex = CSL_EXP(-fabs(v));
            T neg = v < (T)0 ? v : (T)0;
            yr[j] = neg - CSL_FN(csl_log1p_unit)(ex);
        }
    }
}

/* ---- binary cross-entropy with logits ----------------------------------- */

CSL_INLINE void CSL_FN(csl_bce_row)(const T *xr, const T *yr, const T *wr, const T *pr,
                                    T *lr, double *row_loss, T *gr, int64_t n, T scale,
                                    const int w_step, const int p_step, const int has_loss,
                                    const int has_grad)
{
    double s = 0.0, c = 0.0;
    T hi[L], lo[L];
    for (int q = 0; q < L; q++) { hi[q] = 0; lo[q] = 0; }
    int64_t j = 0;
#define CSL_BCE_ELEMENT(J, Q)                                                        \
    do {                                                                             \
        T v = xr[J], y = yr[J], w = wr[(J) * w_step], p = pr[(J) * p_step];          \
        T av = fabs(v);                                                              \
        T ex = CSL_EXP(-av);                                                         \
        T sp = CSL_FN(csl_log1p_unit)(ex);                                           \
        T lw = (T)1 + (p - (T)1) * y;                                                \
        T py = p * y;                                                                \
        int pos = v >= (T)0;                                                         \
        T c = pos ? (T)1 - y : py;                                                   \
        T l = ((c == (T)0) ? (T)0 : c * av) + lw * sp;                               \
        l = (w == (T)0 && l == l) ? (T)0 : w * l; /* 0 at +-inf; a NaN stays */      \
        if (has_loss) lr[J] = l;                                                     \
        if (!has_loss) CSL_FN(csl_add_any)(&hi[Q], &lo[Q], l);                       \
        if (has_grad) {                                                              \
            T sn = ex / ((T)1 + ex);                                                 \
            T g = pos ? ((T)1 - y) - lw * sn : lw * sn - py;                         \
            gr[J] = (w * scale) * g;                                                 \
        }                                                                            \
    } while (0)
    for (int64_t j0 = 0; j0 < n; j0 += CSL_BLOCK) {
        int64_t end = n - j0 < CSL_BLOCK ? n : j0 + CSL_BLOCK;
        for (j = j0; j + L <= end; j += L)
            for (int q = 0; q < L; q++) CSL_BCE_ELEMENT(j + q, q);
        for (int q = 0; j < end; j++, q++) CSL_BCE_ELEMENT(j, q);
        CSL_FN(csl_flush)(hi, lo, (T)0, &s, &c);
        for (int q = 0; q < L; q++) { hi[q] = 0; lo[q] = 0; }
    }
#undef CSL_BCE_ELEMENT
    /* with per-element losses stored, their sum is taken from them */
    if (row_loss != NULL) *row_loss = has_loss ? CSL_FN(csl_dot)(lr, NULL, n) : CSL_FN(csl_total)(s, c);
}

static void CSL_FN(csl_bce_rows)(const T *x, int64_t xs, const T *y, int64_t ys, const T *w,
                                 int64_t ws, int64_t w_step, const T *p, int64_t ps,
                                 int64_t p_step, T *loss, int64_t ls, double *row_loss,
                                 T *grad, int64_t gs, int64_t rows, int64_t cols,
                                 double scale)
{
    static const T one = (T)1;
    if (w == NULL) { w = &one; ws = 0; w_step = 0; }
    if (p == NULL) { p = &one; ps = 0; p_step = 0; }
    int mode = (w_step != 0) | ((p_step != 0) << 1) | ((loss != NULL) << 2) |
               ((grad != NULL) << 3);
    T sc = (T)scale;
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * xs, *yr = y + r * ys, *wr = w + r * ws, *pr = p + r * ps;
        T *lr = loss == NULL ? NULL : loss + r * ls;
        T *gr = grad == NULL ? NULL : grad + r * gs;
        double *rl = row_loss == NULL ? NULL : row_loss + r;
#define CSL_B(WS, PS, HL, HG) \
    CSL_FN(csl_bce_row)(xr, yr, wr, pr, lr, rl, gr, cols, sc, WS, PS, HL, HG)
        switch (mode) {
        case 0: CSL_B(0, 0, 0, 0); break;
        case 1: CSL_B(1, 0, 0, 0); break;
        case 2: CSL_B(0, 1, 0, 0); break;
        case 3: CSL_B(1, 1, 0, 0); break;
        case 4: CSL_B(0, 0, 1, 0); break;
        case 5: CSL_B(1, 0, 1, 0); break;
        case 6: CSL_B(0, 1, 1, 0); break;
        case 7: CSL_B(1, 1, 1, 0); break;
        case 8: CSL_B(0, 0, 0, 1); break;
        case 9: CSL_B(1, 0, 0, 1); break;
        case 10: CSL_B(0, 1, 0, 1); break;
        case 11: CSL_B(1, 1, 0, 1); break;
        case 12: CSL_B(0, 0, 1, 1); break;
        case 13: CSL_B(1, 0, 1, 1); break;
        case 14: CSL_B(0, 1, 1, 1); break;
        default: CSL_B(1, 1, 1, 1); break;
        }
#undef CSL_B
    }
}

#undef T
#undef L
#undef CSL_FN
#endif /* CSL_T */
#endif /* CSL_TYPES_ONLY */
