/*
 * argmax kernels (argmax.h), written once in portable C and instantiated per
 * (dtype, instruction set) with GCC / Clang generic vectors, which the
 * compiler lowers to the ISA of the including file: each lane keeps the
 * largest value it has seen and that value's index (an integer lane as wide
 * as the value's), replaced only by a larger value or by a NaN where it holds
 * none, so each lane holds the first of its maxima (or its first NaN); the
 * lanes are then compared by value, ties and NaNs going to the lower index.
 *
 * A per-ISA file (argmax_scalar.c, argmax_avx2.c, argmax_avx512.c) sets its
 * `#pragma GCC target`, defines CSMA_ISA (name suffix) and CSMA_VEC_BYTES,
 * and includes this header once: the header then includes itself for float
 * and double (CSMA_T defined) and defines csma_fill_table_<CSMA_ISA>(). With
 * CSMA_TYPES_ONLY defined it only declares the kernel table (for
 * argmax_dispatch.c).
 */

/* ------------------------------------------------------------------------ */
/* Kernel table (once).                                                      */
#ifndef CSMA_TABLE_TYPES
#define CSMA_TABLE_TYPES
#include "argmax.h"
#include <stdint.h>
#include <string.h>

/* A kernel: `outer` slabs (argmax.h's layout), out[o * inner + j]. */
#define CSMA_DECLARE_TYPES(T, S)                                                           \
    typedef void (*csma_argmax_##S)(const T *, int64_t, int64_t, int64_t *, int64_t,       \
                                    int64_t, int64_t);

CSMA_DECLARE_TYPES(float, f32)
CSMA_DECLARE_TYPES(double, f64)

typedef struct {
    csma_argmax_f32 argmax_f32;
    csma_argmax_f64 argmax_f64;
} csma_kernel_table;

void csma_fill_table_scalar(csma_kernel_table *table);
#if defined(__x86_64__) || defined(_M_X64)
void csma_fill_table_avx2(csma_kernel_table *table);
void csma_fill_table_avx512(csma_kernel_table *table);
#endif

#define CSMA_CAT3_(a, b, c) a##_##b##_##c
#define CSMA_CAT3(a, b, c) CSMA_CAT3_(a, b, c)
/* the widest block of columns a column kernel call keeps in its lanes */
#define CSMA_W 512
#define CSMA_INLINE static inline __attribute__((always_inline))
#endif /* CSMA_TABLE_TYPES */

#if !defined(CSMA_TYPES_ONLY)
#if !defined(CSMA_T)
/* ------------------------------------------------------------------------ */
/* Instantiation for float and double, then the table for this ISA.          */

#define CSMA_T float
#define CSMA_SIZEOF_T 4
#define CSMA_SFX f32
#include "argmax_body.h"
#undef CSMA_T
#undef CSMA_SIZEOF_T
#undef CSMA_SFX

#define CSMA_T double
#define CSMA_SIZEOF_T 8
#define CSMA_SFX f64
#include "argmax_body.h"
#undef CSMA_T
#undef CSMA_SIZEOF_T
#undef CSMA_SFX

#define CSMA_TABLE_FN_(isa) csma_fill_table_##isa
#define CSMA_TABLE_FN(isa) CSMA_TABLE_FN_(isa)

void CSMA_TABLE_FN(CSMA_ISA)(csma_kernel_table *t)
{
    t->argmax_f32 = CSMA_CAT3(csma_argmax, f32, CSMA_ISA);
    t->argmax_f64 = CSMA_CAT3(csma_argmax, f64, CSMA_ISA);
}

#else /* CSMA_T defined: the kernel bodies for one dtype */
/* ------------------------------------------------------------------------ */

#define CSMA_FN(op) CSMA_CAT3(op, CSMA_SFX, CSMA_ISA)
#define T CSMA_T
#define V CSMA_FN(csma_vec)
#define IV CSMA_FN(csma_ivec)
#define I CSMA_FN(csma_index)
#define VN ((int)(CSMA_VEC_BYTES / sizeof(T)))
typedef T V __attribute__((vector_size(CSMA_VEC_BYTES)));
#if CSMA_SIZEOF_T == 4
typedef int32_t I;
#else
typedef int64_t I;
#endif
typedef I IV __attribute__((vector_size(CSMA_VEC_BYTES)));

CSMA_INLINE V CSMA_FN(csma_load)(const T *p)
{
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* All lanes -1 where v should replace b (v > b, or v is NaN and b is not),
 * 0 elsewhere. */
CSMA_INLINE IV CSMA_FN(csma_takes)(V v, V b)
{
    return (IV)((v > b) | ((v != v) & (b == b)));
}

CSMA_INLINE V CSMA_FN(csma_pick)(IV take, V v, V b)
{
    return (V)(((IV)v & take) | ((IV)b & ~take));
}

CSMA_INLINE IV CSMA_FN(csma_pick_index)(IV take, IV i, IV bi)
{
    return (i & take) | (bi & ~take);
}

/* Whether any lane of t is set. */
CSMA_INLINE int CSMA_FN(csma_any)(IV t)
{
    uint64_t u[sizeof(IV) / 8], acc = 0;
    memcpy(u, &t, sizeof t);
    for (int k = 0; k < (int)(sizeof(IV) / 8); k++) acc |= u[k];
    return acc != 0;
}

/* The argmax of n elements at stride s, one at a time (short or strided
 * rows, a row's last elements). b, bi: the best so far, from elements whose
 * indices are all below `from`; returns the new best index (*b its value). */
CSMA_INLINE I CSMA_FN(csma_scan)(const T *x, int64_t s, int64_t from, int64_t n, T *b, I bi)
{
    T best = *b;
    for (int64_t j = from; j < n; j++) {
        T v = x[j * s];
        /* indices above every earlier one: only a strictly larger value,
         * or a first NaN, replaces the best */
        if ((v > best) | ((v != v) & (best == best))) {
            best = v;
            bi = (I)j;
        }
    }
    *b = best;
    return bi;
}

/* The first NaN of a contiguous row known to hold one. */
CSMA_INLINE int64_t CSMA_FN(csma_first_nan)(const T *x, int64_t n)
{
    int64_t j = 0;
    while (j < n && x[j] == x[j]) j++;
    return j;
}

/* The first maximum of lanes (b, bi) holding no NaN: the largest value, the
 * lowest index among its lanes; *best receives the value. */
CSMA_INLINE I CSMA_FN(csma_lanes_first_max)(V b, IV bi, T *best)
{
    T m = b[0];
    for (int k = 1; k < VN; k++) m = b[k] > m ? b[k] : m;
    IV eq = (IV)(b == (V){0} + m);
    IV cand = CSMA_FN(csma_pick_index)(eq, bi, (IV){0} + (I)(sizeof(I) == 4 ? INT32_MAX : INT64_MAX));
    I at = cand[0];
    for (int k = 1; k < VN; k++) at = cand[k] < at ? cand[k] : at;
    *best = m;
    return at;
}

/* A contiguous row of n >= 4 VN elements: four vectors a step, each lane
 * keeping its first maximum (only a strictly larger value replaces it: a
 * compare and a select per step on the dependency chain) with the index of
 * its vector, and, apart, whether it met a NaN; the four accumulators are
 * then merged lane by lane (the larger value, or the lower index of equal
 * ones), the lanes reduced, the row's last elements scanned. A row holding a
 * NaN is scanned again for its first one. */
CSMA_INLINE int64_t CSMA_FN(csma_row_lanes)(const T *x, int64_t n)
{
    IV lane;
    for (int k = 0; k < VN; k++) lane[k] = (I)k;
    V b[4];
    IV bi[4], nan = (IV){0};
    for (int u = 0; u < 4; u++) {
        b[u] = CSMA_FN(csma_load)(x + u * VN);
        bi[u] = (IV){0} + (I)(u * VN);
        nan |= (IV)(b[u] != b[u]);
    }
    int64_t j = 4 * VN;
    for (; j + 4 * VN <= n; j += 4 * VN) {
        for (int u = 0; u < 4; u++) {
            V v = CSMA_FN(csma_load)(x + j + u * VN);
            IV t = (IV)(v > b[u]);
            b[u] = CSMA_FN(csma_pick)(t, v, b[u]);
            bi[u] = CSMA_FN(csma_pick_index)(t, (IV){0} + (I)(j + u * VN), bi[u]);
            nan |= (IV)(v != v);
        }
    }
    if (CSMA_FN(csma_any)(nan)) return CSMA_FN(csma_first_nan)(x, n);
    V bm = b[0];
    IV im = bi[0] + lane;
    for (int u = 1; u < 4; u++) {
        IV iu = bi[u] + lane;
        IV t = (IV)(b[u] > bm) | ((IV)(b[u] == bm) & (iu < im));
        bm = CSMA_FN(csma_pick)(t, b[u], bm);
        im = CSMA_FN(csma_pick_index)(t, iu, im);
    }
    T best;
    I at = CSMA_FN(csma_lanes_first_max)(bm, im, &best);
    return (int64_t)CSMA_FN(csma_scan)(x, 1, j, n, &best, at);
}

/* One row of n elements at stride s. */
CSMA_INLINE int64_t CSMA_FN(csma_row)(const T *x, int64_t s, int64_t n)
{
    if (s == 1 && n >= 8 * VN) return CSMA_FN(csma_row_lanes)(x, n);
    T b = x[0];
    return (int64_t)CSMA_FN(csma_scan)(x, s, 1, n, &b, 0);
}

/* VN rows (row stride xo, element stride s, n elements each), one per lane:
 * their argmaxes into out[0], out[os], ... */
CSMA_INLINE void CSMA_FN(csma_rows_in_lanes)(const T *x, int64_t xo, int64_t s, int64_t n,
                                             int64_t *out, int64_t os)
{
    V b;
    IV bi = (IV){0};
    for (int k = 0; k < VN; k++) b[k] = x[k * xo];
    for (int64_t c = 1; c < n; c++) {
        V v;
        for (int k = 0; k < VN; k++) v[k] = x[k * xo + c * s];
        IV t = CSMA_FN(csma_takes)(v, b);
        b = CSMA_FN(csma_pick)(t, v, b);
        bi = CSMA_FN(csma_pick_index)(t, (IV){0} + (I)c, bi);
    }
    for (int k = 0; k < VN; k++) out[k * os] = (int64_t)bi[k];
}

/* The argmax down the n rows of w columns (w <= CSMA_W, a multiple of VN
 * but for the last block) at x, row stride xr, into out[0 .. w). */
CSMA_INLINE void CSMA_FN(csma_block)(const T *x, int64_t xr, int64_t *out, int64_t n, int64_t w)
{
    V b[CSMA_W / (CSMA_VEC_BYTES / sizeof(T))];
    IV bi[CSMA_W / (CSMA_VEC_BYTES / sizeof(T))];
    const int64_t nv = w / VN;
    for (int64_t v = 0; v < nv; v++) {
        b[v] = CSMA_FN(csma_load)(x + v * VN);
        bi[v] = (IV){0};
    }
    for (int64_t i = 1; i < n; i++) {
        const T *xi = x + i * xr;
        const IV at = (IV){0} + (I)i;
        for (int64_t v = 0; v < nv; v++) {
            V e = CSMA_FN(csma_load)(xi + v * VN);
            IV t = CSMA_FN(csma_takes)(e, b[v]);
            b[v] = CSMA_FN(csma_pick)(t, e, b[v]);
            bi[v] = CSMA_FN(csma_pick_index)(t, at, bi[v]);
        }
    }
    for (int64_t v = 0; v < nv; v++)
        for (int k = 0; k < VN; k++) out[v * VN + k] = (int64_t)bi[v][k];
    for (int64_t j = nv * VN; j < w; j++) out[j] = CSMA_FN(csma_row)(x + j, xr, n);
}

static void CSMA_FN(csma_argmax)(const T *x, int64_t xo, int64_t xr, int64_t *out,
                                 int64_t outer, int64_t n, int64_t inner)
{
    for (int64_t o = 0; o < outer; o++) {
        const T *xs = x + o * xo;
        int64_t *os = out + o * inner;
        if (inner == 1) {
            /* rows: VN at a time in the lanes unless long and contiguous (from
             * 8 VN elements a row in vectors is faster) */
            if ((xr != 1 || n < 8 * VN) && o + VN <= outer) {
                CSMA_FN(csma_rows_in_lanes)(xs, xo, xr, n, os, inner);
                o += VN - 1;
            } else {
                os[0] = CSMA_FN(csma_row)(xs, xr, n);
            }
            continue;
        }
        for (int64_t j = 0; j < inner; j += CSMA_W) {
            int64_t w = inner - j < CSMA_W ? inner - j : CSMA_W;
            CSMA_FN(csma_block)(xs + j, xr, os + j, n, w);
        }
    }
}

#undef V
#undef IV
#undef I
#undef VN
#undef T
#undef CSMA_FN
#endif /* CSMA_T */
#endif /* CSMA_TYPES_ONLY */
