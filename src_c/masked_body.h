/*
 * Masked / tempered row kernels (masked.h), written once in portable C and
 * instantiated per (dtype, instruction set): flat loops that GCC vectorises,
 * and lane reductions written with generic vectors.
 *
 * A per-ISA file (masked_scalar.c, masked_avx2.c, masked_avx512.c) sets its
 * `#pragma GCC target`, defines CSMK_ISA (name suffix) and CSMK_VEC_BYTES, and
 * includes this header once: the header then includes itself for float and
 * double (CSMK_T defined) and defines csmk_fill_table_<CSMK_ISA>(). With
 * CSMK_TYPES_ONLY defined it only declares the kernel table (for
 * masked_dispatch.c).
 *
 * Numerics follow kernels_body.h: each row is shifted by the maximum m of its
 * kept entries, z = (x - m) * inv_t (so z = 0 exactly for the maximal
 * entries); the sum of exp(z) over the kept non-maximal entries is kept in
 * the lanes of a generic vector over blocks of CSMK_BLOCK elements (the
 * exponentials and selects in flat loops that GCC vectorises, the lane sums
 * in GCC / Clang vector extensions, so no floating-point sum is reassociated),
 * each lane carrying its rounding error (TwoSum) so that rows of terms that
 * round alike lose nothing; the block sums are added in double with Neumaier
 * compensation, and the maximal entries are counted, so t = sum(exp(z)) - 1
 * is formed without adding 1 to small terms and log(sum) = log1p(t).
 *
 * The mask enters every pass as a select, never as a product, so a masked-out
 * NaN or infinity never reaches a sum (0 * NaN would be NaN).
 */

/* ------------------------------------------------------------------------ */
/* Kernel table (once).                                                      */
#ifndef CSMK_TABLE_TYPES
#define CSMK_TABLE_TYPES
#include "masked.h"
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CSMK_DECLARE_TYPES(T, S)                                                           \
    typedef void (*csmk_rows_##S)(const T *, int64_t, const uint8_t *, int64_t, double,   \
                                  T *, int64_t, int64_t, int64_t);                        \
    typedef void (*csmk_reduce_##S)(const T *, int64_t, const uint8_t *, int64_t, double, \
                                    T *, int64_t, int64_t);

CSMK_DECLARE_TYPES(float, f32)
CSMK_DECLARE_TYPES(double, f64)

typedef struct {
    csmk_rows_f32 softmax_f32;
    csmk_rows_f64 softmax_f64;
    csmk_rows_f32 log_softmax_f32;
    csmk_rows_f64 log_softmax_f64;
    csmk_reduce_f32 logsumexp_f32;
    csmk_reduce_f64 logsumexp_f64;
} csmk_kernel_table;

void csmk_fill_table_scalar(csmk_kernel_table *table);
#if defined(__x86_64__) || defined(_M_X64)
void csmk_fill_table_avx2(csmk_kernel_table *table);
void csmk_fill_table_avx512(csmk_kernel_table *table);
#endif

#define CSMK_CAT3_(a, b, c) a##_##b##_##c
#define CSMK_CAT3(a, b, c) CSMK_CAT3_(a, b, c)
#define CSMK_BLOCK 1024
#define CSMK_INLINE static inline __attribute__((always_inline))
#endif /* CSMK_TABLE_TYPES */

#if !defined(CSMK_TYPES_ONLY)
#if !defined(CSMK_T)
/* ------------------------------------------------------------------------ */
/* Instantiation for float and double, then the table for this ISA.          */
#include "exp_impl.h"

#define CSMK_T float
#define CSMK_SIZEOF_T 4
#define CSMK_SFX f32
#define CSMK_EXP csm_exp_f32
#define CSMK_LANES (2 * CSMK_VEC_BYTES / 4)
#include "masked_body.h"
#undef CSMK_T
#undef CSMK_SIZEOF_T
#undef CSMK_SFX
#undef CSMK_EXP
#undef CSMK_LANES

#define CSMK_T double
#define CSMK_SIZEOF_T 8
#define CSMK_SFX f64
#define CSMK_EXP csm_exp_f64
#define CSMK_LANES (2 * CSMK_VEC_BYTES / 8)
#include "masked_body.h"
#undef CSMK_T
#undef CSMK_SIZEOF_T
#undef CSMK_SFX
#undef CSMK_EXP
#undef CSMK_LANES

#define CSMK_TABLE_FN_(isa) csmk_fill_table_##isa
#define CSMK_TABLE_FN(isa) CSMK_TABLE_FN_(isa)
#define CSMK_ENTRY(op, sfx) CSMK_CAT3(csmk_##op, sfx, CSMK_ISA)

void CSMK_TABLE_FN(CSMK_ISA)(csmk_kernel_table *t)
{
    t->softmax_f32 = CSMK_ENTRY(softmax_rows, f32);
    t->softmax_f64 = CSMK_ENTRY(softmax_rows, f64);
    t->log_softmax_f32 = CSMK_ENTRY(log_softmax_rows, f32);
    t->log_softmax_f64 = CSMK_ENTRY(log_softmax_rows, f64);
    t->logsumexp_f32 = CSMK_ENTRY(logsumexp_rows, f32);
    t->logsumexp_f64 = CSMK_ENTRY(logsumexp_rows, f64);
}

#else /* CSMK_T defined: the kernel bodies for one dtype */
/* ------------------------------------------------------------------------ */

#define CSMK_FN(op) CSMK_CAT3(op, CSMK_SFX, CSMK_ISA)
#define T CSMK_T
#define L CSMK_LANES
/* Whether element J of the row takes part (has_mask is a compile-time
 * constant in every instantiation below). */
#define CSMK_KEEP(mk, J) (has_mask ? (mk)[J] != 0 : 1)

/* The lane reductions (max, TwoSum) use GCC / Clang generic vectors of
 * CSMK_VEC_BYTES bytes: the compiler lowers them to the ISA of the including
 * file; GCC does not vectorise these reductions from plain loops without
 * reassociating them (which -ffast-math would allow, and is never used). */
#define V CSMK_FN(csmk_vec)
#define IV CSMK_FN(csmk_ivec)
#define VN ((int)(CSMK_VEC_BYTES / sizeof(T)))
typedef T V __attribute__((vector_size(CSMK_VEC_BYTES)));
#if CSMK_SIZEOF_T == 4
typedef int32_t IV __attribute__((vector_size(CSMK_VEC_BYTES)));
#else
typedef int64_t IV __attribute__((vector_size(CSMK_VEC_BYTES)));
#endif

CSMK_INLINE V CSMK_FN(csmk_vload)(const T *p)
{
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Lane-wise a > b ? a : b; keeps b where a is NaN. */
CSMK_INLINE V CSMK_FN(csmk_vmax)(V a, V b)
{
    IV gt = (IV)(a > b);
    return (V)(((IV)a & gt) | ((IV)b & ~gt));
}

/* Maximum of the kept entries, ignoring NaN (a kept NaN makes the later sum
 * NaN anyway); -inf when no entry is kept or every kept one is -inf / NaN. */
CSMK_INLINE T CSMK_FN(csmk_row_max)(const T *x, const uint8_t *mk, int64_t n,
                                    const int has_mask)
{
    T kept[has_mask ? CSMK_BLOCK : 1];
    V acc = (V){0} + (T)-INFINITY;
    T m = (T)-INFINITY;
    for (int64_t j0 = 0; j0 < n; j0 += CSMK_BLOCK) {
        int64_t len = n - j0 < CSMK_BLOCK ? n - j0 : CSMK_BLOCK;
        const T *src = x + j0;
        if (has_mask) {
            /* masked-out values become -inf (a flat, vectorised select) */
            for (int64_t i = 0; i < len; i++)
                kept[i] = mk[j0 + i] != 0 ? src[i] : (T)-INFINITY;
            src = kept;
        }
        int64_t j = 0;
        for (; j + VN <= len; j += VN) acc = CSMK_FN(csmk_vmax)(CSMK_FN(csmk_vload)(src + j), acc);
        for (; j < len; j++) m = src[j] > m ? src[j] : m;
    }
    for (int k = 0; k < VN; k++) m = acc[k] > m ? acc[k] : m;
    return m;
}

/* t = sum over the kept entries of exp((x - m) * inv_t), minus one, for a row
 * whose kept maximum m is finite. Stores every exp(z) in y unless y is NULL
 * (masked-out positions too: the caller overwrites them). */
CSMK_INLINE double CSMK_FN(csmk_row_sum_minus_one)(const T *x, const uint8_t *mk, T *y,
                                                   int64_t n, T m, T inv_t,
                                                   const int has_mask, const int store)
{
    double s = 0.0, comp = 0.0, count = 0.0;
    T summand[CSMK_BLOCK], is_max[CSMK_BLOCK];
    for (int64_t j0 = 0; j0 < n; j0 += CSMK_BLOCK) {
        int64_t len = n - j0 < CSMK_BLOCK ? n - j0 : CSMK_BLOCK;
        const T *xb = x + j0;
        const uint8_t *mb = has_mask ? mk + j0 : mk;
        /* The exponentials and the summands first, in a flat loop that GCC
         * vectorises (exp(z) into y when storing; the kept non-maximal ones,
         * else 0, into a block-sized buffer; 1 for the kept maximal ones, else
         * 0, into another), then the buffers summed in lanes. */
        T *eb = store ? y + j0 : NULL;
        for (int64_t i = 0; i < len; i++) {
            T v = xb[i];
            T e = CSMK_EXP((v - m) * inv_t);
            if (store) eb[i] = e;
            int keep = CSMK_KEEP(mb, i);
            summand[i] = (keep & (v != m)) ? e : (T)0;
            is_max[i] = (keep & (v == m)) ? (T)1 : (T)0;
        }
        V lane = (V){0}, err = (V){0}, cnt = (V){0};
        double b = 0.0;
        int64_t j = 0;
        for (; j + VN <= len; j += VN) {
            V a = CSMK_FN(csmk_vload)(summand + j);
            /* TwoSum: lane + err carries each lane's sum without rounding loss */
            V sum = lane + a;
            V ap = sum - lane;
            err += (lane - (sum - ap)) + (a - ap);
            lane = sum;
            cnt += CSMK_FN(csmk_vload)(is_max + j);
        }
        for (; j < len; j++) { b += (double)summand[j]; count += (double)is_max[j]; }
        for (int k = 0; k < VN; k++) {
            b += (double)lane[k] + (double)err[k];
            count += (double)cnt[k];
        }
        double t = s + b;
        comp += fabs(s) >= fabs(b) ? (s - t) + b : (b - t) + s;
        s = t;
    }
    return (s + comp) + (count - 1.0);
}

CSMK_INLINE void CSMK_FN(csmk_softmax_row)(const T *xr, const uint8_t *mr, T *yr, int64_t n,
                                           T inv_t, const int has_mask)
{
    T m = CSMK_FN(csmk_row_max)(xr, mr, n, has_mask);
    if (m == (T)INFINITY || m == (T)-INFINITY) {
        /* A kept +inf, or the kept entries all -inf / NaN: NaN on the kept
         * entries; no kept entry (fully masked): all zeros. */
        for (int64_t j = 0; j < n; j++) yr[j] = CSMK_KEEP(mr, j) ? (T)NAN : (T)0;
        return;
    }
    /* A kept NaN elsewhere makes t, hence every kept output, NaN. */
    T s = (T)(1.0 + CSMK_FN(csmk_row_sum_minus_one)(xr, mr, yr, n, m, inv_t, has_mask, 1));
    for (int64_t j = 0; j < n; j++) yr[j] = CSMK_KEEP(mr, j) ? yr[j] / s : (T)0;
}

CSMK_INLINE void CSMK_FN(csmk_log_softmax_row)(const T *xr, const uint8_t *mr, T *yr,
                                               int64_t n, T inv_t, const int has_mask)
{
    T m = CSMK_FN(csmk_row_max)(xr, mr, n, has_mask);
    if (m == (T)INFINITY || m == (T)-INFINITY) {
        for (int64_t j = 0; j < n; j++) yr[j] = CSMK_KEEP(mr, j) ? (T)NAN : (T)-INFINITY;
        return;
    }
    T log_s = (T)log1p(CSMK_FN(csmk_row_sum_minus_one)(xr, mr, NULL, n, m, inv_t, has_mask, 0));
    for (int64_t j = 0; j < n; j++)
        yr[j] = CSMK_KEEP(mr, j) ? (xr[j] - m) * inv_t - log_s : (T)-INFINITY;
}

CSMK_INLINE T CSMK_FN(csmk_logsumexp_row)(const T *xr, const uint8_t *mr, int64_t n,
                                          T inv_t, double inv_t_d, const int has_mask)
{
    T m = CSMK_FN(csmk_row_max)(xr, mr, n, has_mask);
    if (m == (T)INFINITY || m == (T)-INFINITY) {
        /* m (+inf, or -inf for kept entries all -inf and for a fully masked
         * row) unless a kept entry is NaN. */
        int has_nan = 0;
        for (int64_t j = 0; j < n; j++) has_nan |= CSMK_KEEP(mr, j) && (xr[j] != xr[j]);
        return has_nan ? (T)NAN : m;
    }
    double t = CSMK_FN(csmk_row_sum_minus_one)(xr, mr, NULL, n, m, inv_t, has_mask, 0);
    return (T)((double)m * inv_t_d + log1p(t));
}

/* 1 / T in the dtype; beyond its range (float32, T < 1 / FLT_MAX) the largest
 * finite value, where a cast would give inf and 0 * inf = NaN at the maximum
 * (as the loss kernels' csl_inv_t). The Python layer computes such float32
 * calls in float64 (exact there); this keeps other callers from NaN. */
static inline T CSMK_FN(csmk_inv_t)(double inv_temperature)
{
    const double big = sizeof(T) == 4 ? (double)FLT_MAX : DBL_MAX;
    return (T)(inv_temperature < big ? inv_temperature : big);
}

static void CSMK_FN(csmk_softmax_rows)(const T *x, int64_t xs, const uint8_t *mask,
                                       int64_t ms, double inv_temperature, T *y, int64_t ys,
                                       int64_t rows, int64_t cols)
{
    T inv_t = CSMK_FN(csmk_inv_t)(inv_temperature);
    for (int64_t r = 0; r < rows; r++) {
        if (mask != NULL)
            CSMK_FN(csmk_softmax_row)(x + r * xs, mask + r * ms, y + r * ys, cols, inv_t, 1);
        else
            CSMK_FN(csmk_softmax_row)(x + r * xs, NULL, y + r * ys, cols, inv_t, 0);
    }
}

static void CSMK_FN(csmk_log_softmax_rows)(const T *x, int64_t xs, const uint8_t *mask,
                                           int64_t ms, double inv_temperature, T *y,
                                           int64_t ys, int64_t rows, int64_t cols)
{
    T inv_t = CSMK_FN(csmk_inv_t)(inv_temperature);
    for (int64_t r = 0; r < rows; r++) {
        if (mask != NULL)
            CSMK_FN(csmk_log_softmax_row)(x + r * xs, mask + r * ms, y + r * ys, cols, inv_t, 1);
        else
            CSMK_FN(csmk_log_softmax_row)(x + r * xs, NULL, y + r * ys, cols, inv_t, 0);
    }
}

static void CSMK_FN(csmk_logsumexp_rows)(const T *x, int64_t xs, const uint8_t *mask,
                                         int64_t ms, double inv_temperature, T *out,
                                         int64_t rows, int64_t cols)
{
    T inv_t = CSMK_FN(csmk_inv_t)(inv_temperature);
    for (int64_t r = 0; r < rows; r++) {
        if (mask != NULL)
            out[r] = CSMK_FN(csmk_logsumexp_row)(x + r * xs, mask + r * ms, cols, inv_t,
                                                 inv_temperature, 1);
        else
            out[r] = CSMK_FN(csmk_logsumexp_row)(x + r * xs, NULL, cols, inv_t,
                                                 inv_temperature, 0);
    }
}

#undef CSMK_KEEP
#undef V
#undef IV
#undef VN
#undef T
#undef L
#undef CSMK_FN
#endif /* CSMK_T */
#endif /* CSMK_TYPES_ONLY */
