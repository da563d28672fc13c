/*
 * Column kernels (columns.h), written once in portable C and instantiated
 * per (dtype, instruction set): every loop runs along a row's contiguous
 * columns, one column per element, so each is a flat elementwise loop that
 * the compiler vectorises with no reduction to reassociate (the reduction
 * runs down the rows, one accumulator per column).
 *
 * A per-ISA file (columns_scalar.c, columns_avx2.c, columns_avx512.c) sets its
 * `#pragma GCC target`, defines CSMC_ISA, and includes this header once: the
 * header then includes itself for float and double (CSMC_T defined) and
 * defines csmc_fill_table_<CSMC_ISA>(). With CSMC_TYPES_ONLY defined it only
 * declares the kernel table (for columns_dispatch.c).
 *
 * A kernel call takes one block: n rows of w <= CSMC_W columns, which
 * columns_dispatch.c sizes so that the block stays in L2 between its passes
 * (the maxima; the exponentials and their sums; the output).
 */

#ifndef CSMC_TABLE_TYPES
#define CSMC_TABLE_TYPES
#include "columns.h"
#include <math.h>
#include <stdint.h>

/* the widest block, in columns */
#define CSMC_W 512

/* op: 0 softmax, 1 log_softmax (into y), 2 logsumexp (w values into out) */
#define CSMC_DECLARE_TYPES(T, S)                                                         \
    typedef void (*csmc_block_##S)(const T *, int64_t, T *, int64_t, int64_t, int64_t, int); \
    typedef void (*csmc_xent_##S)(const T *, int64_t, const int64_t *, const T *, int64_t,  \
                                  const T *, int64_t, T, T, T, double, T *, T *, int64_t,   \
                                  int64_t, int64_t);                                        \
    typedef void (*csmc_backward_##S)(const T *, int64_t, const T *, int64_t, T *, int64_t, \
                                      int64_t, int64_t, int);

CSMC_DECLARE_TYPES(float, f32)
CSMC_DECLARE_TYPES(double, f64)

typedef struct {
    csmc_block_f32 block_f32;
    csmc_block_f64 block_f64;
    csmc_xent_f32 xent_f32;
    csmc_xent_f64 xent_f64;
    csmc_backward_f32 backward_f32;
    csmc_backward_f64 backward_f64;
} csmc_kernel_table;

void csmc_fill_table_scalar(csmc_kernel_table *table);
#if defined(__x86_64__) || defined(_M_X64)
void csmc_fill_table_avx2(csmc_kernel_table *table);
void csmc_fill_table_avx512(csmc_kernel_table *table);
#endif

#define CSMC_CAT3_(a, b, c) a##_##b##_##c
#define CSMC_CAT3(a, b, c) CSMC_CAT3_(a, b, c)
#define CSMC_INLINE static inline __attribute__((always_inline))
#endif /* CSMC_TABLE_TYPES */

#if !defined(CSMC_TYPES_ONLY)
#if !defined(CSMC_T)
/* ------------------------------------------------------------------------ */
/* Instantiation for float and double, then the table for this ISA.          */
#include "exp_impl.h"

#define CSMC_T float
#define CSMC_F32 1
#define CSMC_SFX f32
#define CSMC_EXP csm_exp_f32
#include "columns_body.h"
#undef CSMC_T
#undef CSMC_F32
#undef CSMC_SFX
#undef CSMC_EXP

#define CSMC_T double
#define CSMC_F32 0
#define CSMC_SFX f64
#define CSMC_EXP csm_exp_f64
#include "columns_body.h"
#undef CSMC_T
#undef CSMC_F32
#undef CSMC_SFX
#undef CSMC_EXP

#define CSMC_TABLE_FN_(isa) csmc_fill_table_##isa
#define CSMC_TABLE_FN(isa) CSMC_TABLE_FN_(isa)

void CSMC_TABLE_FN(CSMC_ISA)(csmc_kernel_table *t)
{
    t->block_f32 = CSMC_CAT3(csmc_block, f32, CSMC_ISA);
    t->block_f64 = CSMC_CAT3(csmc_block, f64, CSMC_ISA);
    t->xent_f32 = CSMC_CAT3(csmc_xent, f32, CSMC_ISA);
    t->xent_f64 = CSMC_CAT3(csmc_xent, f64, CSMC_ISA);
    t->backward_f32 = CSMC_CAT3(csmc_backward, f32, CSMC_ISA);
    t->backward_f64 = CSMC_CAT3(csmc_backward, f64, CSMC_ISA);
}

#else /* CSMC_T defined: the kernels for one dtype */
/* ------------------------------------------------------------------------ */

#define CSMC_FN(op) CSMC_CAT3(op, CSMC_SFX, CSMC_ISA)
#define T CSMC_T
#ifdef CSMC_HAVE_SIMD
/* the kernels' own log1p, branch-free: the columns' loop vectorises (libm's,
 * one call per column, took most of the time of columns of 10 rows) */
#include "log1p_impl.h"
#define CSMC_LOG1P csm_log1p_nobranch
#else
#define CSMC_LOG1P log1p /* no FMA in the portable build: libm's */
#endif

/* The first two passes over a block of n >= 1 rows by w columns (1 <= w <=
 * CSMC_W; x row i at x + i * xs): each column's maximum mt, the shift m (mt,
 * or +inf where mt is not finite; md in double), and the sum of the
 * exponentials exp(x - m) (with `scaled`, exp((x - m) inv_t): a
 * temperature), sd + cd, stored in y (row i at y + i * ys) with `store`. */
CSMC_INLINE void CSMC_FN(csmc_passes)(const T *x, int64_t xs, T *y, int64_t ys, int64_t n,
                                      int64_t w, T *m, T *mt, double *md, double *sd,
                                      double *cd, T inv_t, const int store, const int scaled)
{
    if (n < 1 || w < 1 || w > CSMC_W) __builtin_unreachable(); /* columns_dispatch.c */
    /* Pass 1: each column's maximum; a NaN stays once met (v != v), so a
     * column holding one has the maximum NaN. */
#define CSMC_MAX_STEP(u, v) ((v) > (u) || (v) != (v) ? (v) : (u))
    for (int64_t j = 0; j < w; j++) mt[j] = x[j];
    int64_t i = 1;
    /* four rows a step (mt read and written once per four; row by row, the
     * pass took a tenth of float32 8x21x4096 cross-entropy's time) */
    for (; i + 4 <= n; i += 4) {
        const T *x0 = x + i * xs, *x1 = x0 + xs, *x2 = x1 + xs, *x3 = x2 + xs;
        for (int64_t j = 0; j < w; j++) {
            T u = CSMC_MAX_STEP(mt[j], x0[j]);
            u = CSMC_MAX_STEP(u, x1[j]);
            u = CSMC_MAX_STEP(u, x2[j]);
            mt[j] = CSMC_MAX_STEP(u, x3[j]);
        }
    }
    for (; i < n; i++) {
        const T *xr = x + i * xs;
        for (int64_t j = 0; j < w; j++) mt[j] = CSMC_MAX_STEP(mt[j], xr[j]);
    }
#undef CSMC_MAX_STEP
    /* Columns whose maximum is not finite (NaN, +inf, or a column of -inf)
     * are shifted by +inf instead: their terms are 0 or NaN, and not used. */
    for (int64_t j = 0; j < w; j++) {
        m[j] = mt[j] - mt[j] == 0 ? mt[j] : (T)INFINITY;
        md[j] = (double)m[j];
    }
    /* past w up to a whole vector (columns_simd.h reads them): 0 */
    for (int64_t j = w; j < CSMC_W && (j & 63) != 0; j++) m[j] = (T)0;
    /* Pass 2: the exponentials (stored in y for softmax) and their sums,
     * sd + cd, in double: whole vectors of columns by the vector layer where
     * the ISA has one (columns_simd.h), the rest here. */
    int64_t j0 = 0;
#ifdef CSMC_HAVE_SIMD
    j0 = CSMC_FN(csmc_exp_sum)(x, xs, y, ys, n, w, m, inv_t, sd, cd, store, scaled);
#endif
    if (j0 < w) {
        double hi[CSMC_W], lo[CSMC_W];
        for (int64_t j = j0; j < w; j++) hi[j] = 1.0, lo[j] = 0.0; /* a bias: hi >= 1 >= every term */
        for (int64_t i = 0; i < n; i++) {
            const T *xr = x + i * xs;
            T *yr = y + i * ys;
            for (int64_t j = j0; j < w; j++) {
                const T v = xr[j];
                const T d = v - m[j];
                /* x - m = d + dl exactly (TwoSum); exp(d + dl) = exp(d) (1 + dl)
                 * to within the dtype's rounding. dl is NaN where x is -inf (its
                 * exponential 0 either way): 0 then. */
                const T b = d - v;
                T dl = (v - (d - b)) - (m[j] + b);
                dl = dl == dl ? dl : (T)0;
                /* a temperature: both parts times inv_t (the product rounds,
                 * as the row kernels' (x - m) / T does; no low part where it
                 * is -inf) */
                const T z = scaled ? d * inv_t : d;
                dl = !scaled ? dl : z > -(T)INFINITY ? dl * inv_t : (T)0;
                T e = CSMC_EXP(z);
                e = e + e * dl;
                if (store) yr[j] = e;
                /* Fast2Sum: exact, since hi >= 1 >= e */
                const double ed = (double)e, t = hi[j] + ed;
                lo[j] += ed - (t - hi[j]);
                hi[j] = t;
            }
        }
        for (int64_t j = j0; j < w; j++) sd[j] = hi[j] - 1.0, cd[j] = lo[j];
    }
}

/* One block of n >= 1 rows by w columns (1 <= w <= CSMC_W) for a constant
 * op; x row i at x + i * xs, y row i at y + i * ys (softmax, log_softmax) or
 * w values at y (logsumexp). */
CSMC_INLINE void CSMC_FN(csmc_block_op)(const T *x, int64_t xs, T *y, int64_t ys, int64_t n,
                                        int64_t w, const int op)
{
    T m[CSMC_W], mt[CSMC_W];
    double md[CSMC_W], sd[CSMC_W], cd[CSMC_W], ld[CSMC_W];
    CSMC_FN(csmc_passes)(x, xs, y, ys, n, w, m, mt, md, sd, cd, (T)1, op == 0, 0);
    /* sum - 1 = (sd - 1) + cd: sd - 1 is exact (sd >= 1, the maximum's term
     * being 1), and the small terms keep their relative accuracy. softmax
     * takes the sum, the others log(sum) = log1p(sum - 1); NaN for the
     * columns whose maximum is not finite. */
    for (int64_t j = 0; j < w; j++) {
        const double t = (sd[j] - 1.0) + cd[j];
        const double v = op == 0 ? t + 1.0 : CSMC_LOG1P(t);
        ld[j] = mt[j] - mt[j] == 0 ? v : (double)NAN;
    }
    if (op == 2) {
        /* logsumexp: m + log(sum), one rounding; the maximum itself where it
         * is not finite (NaN, +inf, -inf) */
        for (int64_t j = 0; j < w; j++) y[j] = mt[j] - mt[j] == 0 ? (T)(md[j] + ld[j]) : mt[j];
        return;
    }
    if (op == 0) {
        T s[CSMC_W];
        for (int64_t j = 0; j < w; j++) s[j] = (T)ld[j];
        for (int64_t i = 0; i < n; i++) {
            T *yr = y + i * ys;
            for (int64_t j = 0; j < w; j++) yr[j] = yr[j] / s[j];
        }
        return;
    }
    /* Pass 3 of log_softmax: (x - m) - log(sum) */
    for (int64_t i = 0; i < n; i++) {
        const T *xr = x + i * xs;
        T *yr = y + i * ys;
        for (int64_t j = 0; j < w; j++) {
#if CSMC_F32
            /* in double: x - m exact, one rounding at the end */
            yr[j] = (T)(((double)xr[j] - md[j]) - ld[j]);
#else
            const T v = xr[j], mm = m[j];
            const T d = v - mm, b = d - v;
            T dl = (v - (d - b)) - (mm + b);
            dl = dl == dl ? dl : (T)0;
            yr[j] = (d - (T)ld[j]) + dl;
#endif
        }
    }
}

static void CSMC_FN(csmc_block)(const T *x, int64_t xs, T *y, int64_t ys, int64_t n, int64_t w,
                                int op)
{
    if (op == 0) CSMC_FN(csmc_block_op)(x, xs, y, ys, n, w, 0);
    else if (op == 1) CSMC_FN(csmc_block_op)(x, xs, y, ys, n, w, 1);
    else CSMC_FN(csmc_block_op)(x, xs, y, ys, n, w, 2);
}

/* Cross-entropy with class targets down the columns (the class axis is the
 * rows' axis): for each of the w columns, t[j] its class (in [0, n), or
 * ignore), its loss into loss[j]: wt[t] (lse - x[t]) (wt NULL: 1), 0 where
 * ignored, NaN where the column's maximum is not finite (the caller computes
 * those columns again by the row kernels, whose non-finite semantics they
 * get); with g (row i at g + i * gs) the gradient scale wt[t] (softmax - onehot)
 * (0 in ignored columns). */
CSMC_INLINE void CSMC_FN(csmc_xent_op)(const T *x, int64_t xs, const int64_t *t, const T *wt,
                                       int64_t ignore, double scale, T *loss, T *g, int64_t gs,
                                       int64_t n, int64_t w, const int has_grad)
{
    T m[CSMC_W], mt[CSMC_W], f[CSMC_W];
    double md[CSMC_W], sd[CSMC_W], cd[CSMC_W];
    /* (without a gradient the exponentials are not stored: y is x, unwritten) */
    CSMC_FN(csmc_passes)(x, xs, has_grad ? g : (T *)(uintptr_t)x, has_grad ? gs : xs, n, w, m, mt,
                         md, sd, cd, (T)1, has_grad, 0);
    /* the targets' logits, exponentials and weights (0: ignored) gathered
     * first, so that the loop that takes them vectorises (with the gathers
     * and the ignore tests in it, GCC left it scalar: half the kernel's time
     * on float32 8x21x4096) */
    T xt[CSMC_W], et[CSMC_W];
    double wd[CSMC_W], keep[CSMC_W];
    for (int64_t j = 0; j < w; j++) {
        const int ign = t[j] == ignore;
        const int64_t tc = ign ? 0 : t[j];
        keep[j] = ign ? 0.0 : 1.0;
        wd[j] = ign ? 0.0 : (wt != NULL ? (double)wt[tc] : 1.0);
        xt[j] = x[tc * xs + j];
        if (has_grad) et[j] = g[tc * gs + j];
    }
    T gt[CSMC_W];
    for (int64_t j = 0; j < w; j++) {
        const double wj = wd[j], s1 = (sd[j] - 1.0) + cd[j];
        /* lse - x[t] = log(sum) - (x[t] - m), x[t] - m exactly (TwoSum) */
        const T v = xt[j], d = v - m[j], b = d - v;
        T dl = (v - (d - b)) - (m[j] + b);
        dl = dl == dl ? dl : (T)0;
        const double lj = (CSMC_LOG1P(s1) - (double)d) - (double)dl;
        const int finite = mt[j] - mt[j] == 0;
        loss[j] = !finite ? (T)NAN : keep[j] == 0.0 ? (T)0 : (T)(wj * lj);
        f[j] = (T)(scale * wj / (s1 + 1.0));
        /* the target's entry, scale w (p - 1) = scale w ((e - 1) - (sum - 1)) / sum,
         * from the exponential g holds, in double: e p - scale w would cancel */
        if (has_grad) gt[j] = (T)(scale * wj * ((((double)et[j] - 1.0) - s1) / (s1 + 1.0)));
    }
    if (!has_grad) return;
    for (int64_t i = 0; i < n; i++) {
        T *gr = g + i * gs;
        for (int64_t j = 0; j < w; j++) gr[j] = gr[j] * f[j];
    }
    for (int64_t j = 0; j < w; j++)
        if (t[j] != ignore) g[t[j] * gs + j] = gt[j];
}

/* a b rounded by itself: where the ISA has FMA, an FMA with a zero addend,
 * which GCC does not contract into the addition that takes it (a product
 * it would, differently in a kernel's instances with and without the
 * gradient: float64 losses 1 ulp apart). Without FMA nothing is contracted. */
#ifdef CSMC_HAVE_SIMD
#define CSMC_MUL_ROUNDED(a, b) __builtin_fma((a), (b), 0.0)
#else
#define CSMC_MUL_ROUNDED(a, b) ((a) * (b))
#endif

/* Sums in double, one per column: float32 terms added plainly (each term and
 * each rounding far below a float32 result's ulp), float64 ones with their
 * rounding errors kept (TwoSum) in lo. */
CSMC_INLINE void CSMC_FN(csmc_sum_add)(double *hi, double *lo, double a)
{
#if CSMC_F32
    (void)lo;
    *hi += a;
#else
    const double s = *hi + a, bb = s - *hi;
    *lo += (*hi - (s - bb)) + (a - bb);
    *hi = s;
#endif
}

/* hi + lo of csmc_sum_add's sums; hi alone where it is not finite (an
 * infinite term, or an overflow, leaves lo NaN) */
CSMC_INLINE double CSMC_FN(csmc_sum_total)(double hi, double lo)
{
    return hi - hi == 0.0 ? hi + lo : hi;
}

/* Cross-entropy with soft targets down the columns: probability targets q
 * (`prob`; row i of the block at q + i * qs) or class targets t with label
 * smoothing, a temperature (`scaled`: z = (x - m) inv_t), weights wt (NULL:
 * 1). With a_ij = (c_q q_ij + c_0) w_i (class targets: q the one-hot rows of
 * t, a = 0 in ignored columns) and s_j = sum_i exp z_ij, column j's loss is
 * A_j log s_j - sum_i a_ij z_ij (A_j = sum_i a_ij; a z = 0 where a = 0, even
 * at a -inf logit), NaN where the column's maximum is not finite (the
 * caller computes those again by the row kernels), 0 where ignored; its
 * gradient scale inv_t (A_j p_ij - a_ij), formed as the row kernels form it
 * (simdl_xp_grad): ((a - e A) + a (s - 1)) (-scale inv_t / s), e the
 * exponential the second pass stored in g. Passes: sum(a) (probability
 * targets), the maxima, the exponentials with their sums, then one pass
 * over x (and q) for sum(a z) and the gradient. */
CSMC_INLINE void CSMC_FN(csmc_xsoft_op)(const T *x, int64_t xs, const int64_t *t, const T *q,
                                        int64_t qs, const T *wt, int64_t ignore, T c_q, T c_0,
                                        T inv_t, double scale, T *loss, T *g, int64_t gs,
                                        int64_t n, int64_t w, const int has_grad, const int prob,
                                        const int scaled)
{
    T m[CSMC_W], mt[CSMC_W], keep[CSMC_W], at[CSMC_W], tt[CSMC_W], ns[CSMC_W];
    double md[CSMC_W], sd[CSMC_W], cd[CSMC_W], ah[CSMC_W], al[CSMC_W], zh[CSMC_W], zl[CSMC_W];
    for (int64_t j = 0; j < w; j++) ah[j] = 0.0, al[j] = 0.0, zh[j] = 0.0, zl[j] = 0.0;
    if (prob) {
        /* A = sum(a), down the columns */
        for (int64_t i = 0; i < n; i++) {
            const T *qr = q + i * qs, wi = wt != NULL ? wt[i] : (T)1;
            for (int64_t j = 0; j < w; j++) {
                const T a = (c_q * qr[j] + c_0) * wi;
                CSMC_FN(csmc_sum_add)(&ah[j], &al[j], (double)a);
            }
        }
    } else {
        /* A = w_t (c_q + c_0) + c_0 sum(w) - c_0 w_t, in double: the sum of
         * the a the last pass forms, up to their roundings */
        double wsum = 0.0;
        for (int64_t i = 0; i < n; i++) wsum += wt != NULL ? (double)wt[i] : 1.0;
        for (int64_t j = 0; j < w; j++) {
            const int ign = t[j] == ignore;
            const double wtj = ign ? 0.0 : wt != NULL ? (double)wt[t[j]] : 1.0;
            keep[j] = ign ? (T)0 : (T)1;
            ah[j] = ign ? 0.0 : wtj * (double)(c_q + c_0) + (double)c_0 * (wsum - wtj);
        }
    }
    /* (without a gradient the exponentials are not stored: y is x, unwritten) */
    CSMC_FN(csmc_passes)(x, xs, has_grad ? g : (T *)(uintptr_t)x, has_grad ? gs : xs, n, w, m, mt,
                         md, sd, cd, inv_t, has_grad, scaled);
    for (int64_t j = 0; j < w; j++) {
        const double s1 = (sd[j] - 1.0) + cd[j];
        at[j] = (T)CSMC_FN(csmc_sum_total)(ah[j], al[j]);
        tt[j] = (T)s1;
        ns[j] = (T)(-(scale * (double)inv_t) / (s1 + 1.0));
    }
    /* class targets: the target's exponential, before the gradient
     * overwrites it */
    T et[CSMC_W];
    if (!prob && has_grad)
        for (int64_t j = 0; j < w; j++) et[j] = g[(t[j] == ignore ? 0 : t[j]) * gs + j];
    /* sum(a z) and the gradient, row after row; class targets with
     * a = c_0 w_i throughout (0 in ignored columns), the targets' entries
     * set apart after */
    for (int64_t i = 0; i < n; i++) {
        const T *xr = x + i * xs, wi = wt != NULL ? wt[i] : (T)1, cw = c_0 * wi;
        const T *qr = prob ? q + i * qs : NULL;
        T *gr = has_grad ? g + i * gs : NULL;
        for (int64_t j = 0; j < w; j++) {
            const T a = prob ? (c_q * qr[j] + c_0) * wi : cw * keep[j];
            const T z = scaled ? (xr[j] - m[j]) * inv_t : xr[j] - m[j];
            CSMC_FN(csmc_sum_add)(&zh[j], &zl[j],
                                   a == (T)0 ? 0.0 : CSMC_MUL_ROUNDED((double)a, (double)z));
            if (has_grad) gr[j] = ((a - gr[j] * at[j]) + a * tt[j]) * ns[j];
        }
    }
    if (!prob) {
        for (int64_t j = 0; j < w; j++) {
            if (t[j] == ignore) continue;
            const int64_t tc = t[j];
            const T wi = wt != NULL ? wt[tc] : (T)1, a = (c_q + c_0) * wi, a0 = c_0 * wi;
            const T xt = x[tc * xs + j];
            const T z = scaled ? (xt - m[j]) * inv_t : xt - m[j];
            /* a z in place of the a0 z the pass added */
            const double da = (double)a - (double)a0;
            if (da != 0.0) CSMC_FN(csmc_sum_add)(&zh[j], &zl[j], CSMC_MUL_ROUNDED(da, (double)z));
            if (has_grad) g[tc * gs + j] = ((a - et[j] * at[j]) + a * tt[j]) * ns[j];
        }
    }
    for (int64_t j = 0; j < w; j++) {
        const double s1 = (sd[j] - 1.0) + cd[j];
        const double lj = CSMC_FN(csmc_sum_total)(ah[j], al[j]) * CSMC_LOG1P(s1) -
                          CSMC_FN(csmc_sum_total)(zh[j], zl[j]);
        const int finite = mt[j] - mt[j] == 0;
        loss[j] = !finite ? (T)NAN : !prob && t[j] == ignore ? (T)0 : (T)lj;
    }
}

/* One block of the cross-entropy (csmc_xent_op: class targets alone, no
 * smoothing nor temperature; csmc_xsoft_op: the rest) */
static void CSMC_FN(csmc_xent)(const T *x, int64_t xs, const int64_t *t, const T *wt,
                               int64_t ignore, const T *q, int64_t qs, T c_q, T c_0, T inv_t,
                               double scale, T *loss, T *g, int64_t gs, int64_t n, int64_t w)
{
    const int prob = q != NULL, scaled = inv_t != (T)1, grad = g != NULL;
    if (!prob && c_0 == (T)0 && c_q == (T)1 && !scaled) {
        if (grad) CSMC_FN(csmc_xent_op)(x, xs, t, wt, ignore, scale, loss, g, gs, n, w, 1);
        else CSMC_FN(csmc_xent_op)(x, xs, t, wt, ignore, scale, loss, NULL, 0, n, w, 0);
        return;
    }
#define CSMC_XS(G, P, S)                                                                   \
    CSMC_FN(csmc_xsoft_op)(x, xs, t, q, qs, wt, ignore, c_q, c_0, inv_t, scale, loss, g, gs, n, \
                           w, G, P, S)
    switch (grad | prob << 1 | scaled << 2) {
    case 0: CSMC_XS(0, 0, 0); break;
    case 1: CSMC_XS(1, 0, 0); break;
    case 2: CSMC_XS(0, 1, 0); break;
    case 3: CSMC_XS(1, 1, 0); break;
    case 4: CSMC_XS(0, 0, 1); break;
    case 5: CSMC_XS(1, 0, 1); break;
    case 6: CSMC_XS(0, 1, 1); break;
    default: CSMC_XS(1, 1, 1); break;
    }
#undef CSMC_XS
}

/* The backward passes down the columns of a block (n >= 1 rows by w
 * columns; g, y, o rows at g + i * gs, y + i * ys, o + i * os; o may be g or
 * y exactly): softmax's o = y (g - d), d = sum_i g y (each product rounded
 * once, as the row kernels round it), or with `log` log_softmax's
 * o = g - exp(y) d, d = sum_i g; the sums in double (csmc_sum_add), then
 * rounded to the dtype, as the row kernels' are. */
CSMC_INLINE void CSMC_FN(csmc_backward_op)(const T *g, int64_t gs, const T *y, int64_t ys, T *o,
                                           int64_t os, int64_t n, int64_t w, const int log)
{
    double dh[CSMC_W], dl[CSMC_W];
    T d[CSMC_W];
    for (int64_t j = 0; j < w; j++) dh[j] = 0.0, dl[j] = 0.0;
    /* four rows a step: the sums' arrays read and written once per four
     * terms (once per term, row after row, they were half the loads and all
     * the stores of the pass) */
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const T *g0 = g + i * gs, *g1 = g0 + gs, *g2 = g1 + gs, *g3 = g2 + gs;
        const T *y0 = y + i * ys, *y1 = y0 + ys, *y2 = y1 + ys, *y3 = y2 + ys;
        for (int64_t j = 0; j < w; j++) {
            double h = dh[j], l = dl[j];
            CSMC_FN(csmc_sum_add)(&h, &l, (double)(log ? g0[j] : g0[j] * y0[j]));
            CSMC_FN(csmc_sum_add)(&h, &l, (double)(log ? g1[j] : g1[j] * y1[j]));
            CSMC_FN(csmc_sum_add)(&h, &l, (double)(log ? g2[j] : g2[j] * y2[j]));
            CSMC_FN(csmc_sum_add)(&h, &l, (double)(log ? g3[j] : g3[j] * y3[j]));
            dh[j] = h;
            dl[j] = l;
        }
    }
    for (; i < n; i++) {
        const T *gr = g + i * gs, *yr = y + i * ys;
        for (int64_t j = 0; j < w; j++) {
            const T v = log ? gr[j] : gr[j] * yr[j];
            CSMC_FN(csmc_sum_add)(&dh[j], &dl[j], (double)v);
        }
    }
    for (int64_t j = 0; j < w; j++) d[j] = (T)CSMC_FN(csmc_sum_total)(dh[j], dl[j]);
#ifdef CSMC_HAVE_SIMD
    if (log) {
        CSMC_FN(csmc_lsm_bw_out)(g, gs, y, ys, o, os, n, w, d); /* columns_simd.h */
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) {
        const T *gr = g + i * gs, *yr = y + i * ys;
        T *or_ = o + i * os;
        for (int64_t j = 0; j < w; j++)
            or_[j] = log ? gr[j] - CSMC_EXP(yr[j]) * d[j] : yr[j] * (gr[j] - d[j]);
    }
}

static void CSMC_FN(csmc_backward)(const T *g, int64_t gs, const T *y, int64_t ys, T *o,
                                   int64_t os, int64_t n, int64_t w, int log)
{
    if (log) CSMC_FN(csmc_backward_op)(g, gs, y, ys, o, os, n, w, 1);
    else CSMC_FN(csmc_backward_op)(g, gs, y, ys, o, os, n, w, 0);
}

#undef T
#undef CSMC_FN
#undef CSMC_LOG1P
#undef CSMC_MUL_ROUNDED
#endif /* CSMC_T */
#endif /* !CSMC_TYPES_ONLY */
