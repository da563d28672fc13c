/*
 * Explicit-SIMD row kernels, written once over the small vector layer that
 * simd_avx512.h / simd_avx2.h define (V, VN, v_load, v_exp, ...), and
 * instantiated by kernels_avx512.c and kernels_avx2.c for float32 and float64.
 *
 * Wide rows (more than CSM_SHORT_MAX columns, 256 bytes): one row at a
 * time, in passes over the row while it sits in L1/L2: max; exp(x - max)
 * with its sum; scale. Tiny rows (up to CSM_TINY_MAX columns): VN rows at a
 * time, one row per SIMD lane, columns gathered; no per-row call and no
 * per-row scalar tail. Short rows (in between: softmax, log_softmax,
 * logsumexp and the plain cross-entropy) likewise, VN rows per tile,
 * transposed block by block (the backward passes' short rows stay row by
 * row: in tiles, with two inputs to transpose, they took 1.2-1.6x the time,
 * kernel_ab 32768x32).
 *
 * Numerics as in kernels_body.h: sums of exponentials in vector lanes biased
 * to 1, each addition compensated (Fast2Sum, see simd_lane_add), over blocks
 * of CSM_BLOCK elements whose lanes are added in double with Neumaier
 * compensation, so accuracy neither decays with row length nor suffers when
 * many terms round alike; log-domain results use log1p of the sum of the terms other
 * than the maximum; divisions by the sum are a reciprocal multiply corrected
 * by one fused Newton step (q + (e - q s) r), which rounds like a division in
 * all but rare ties. Tiny-row softmax takes x - max exactly (simd_diff) and
 * folds the rounding error of x - max into that division: its worst error is
 * then under half that of NumPy's and PyTorch's, which round x - max
 * (benchmarks/accuracy.py).
 */
#ifndef CSM_FN
#define CSM_CAT3_(a, b, c) a##_##b##_##c
#define CSM_CAT3(a, b, c) CSM_CAT3_(a, b, c)
#define CSM_FN(op) CSM_CAT3(op, CSM_SFX, CSM_ISA)
#define CSM_BLOCK 1024

/* v as it was rounded: the compiler cannot fuse the operation that gave v
 * with the one that uses it (GCC contracts a product and a sum into an FMA
 * across statements where FMA is in the layer: z_k = (x_k - m) inv_t, which
 * must round as the row's terms do, would be fused into log s - z_k). */
static inline double csm_rounded(double v)
{
    __asm__("" : "+x"(v));
    return v;
}

#include <string.h> /* memset */

#include "log1p_impl.h" /* csm_log1p2, csm_log1p, csm_log1p_nobranch */
#endif
#ifndef CSM_TINY_MAX
#define CSM_TINY_MAX 16
#endif
/* Layers with v_transpose (a VN x VN in-register transposition) set
 * CSM_TRANSPOSE_MIN, the row length from which contiguous tiny tiles are
 * transposed rather than permuted by a plan. */
#ifndef v_transpose
#undef CSM_TRANSPOSE_MIN
#define CSM_TRANSPOSE_MIN (CSM_TINY_MAX + 1)
#endif
/* The longest rows a permute plan serves (shorter than CSM_TRANSPOSE_MIN):
 * the plan's tables grow with its square. Layers that transpose every
 * contiguous tile (CSM_TRANSPOSE_MIN 1) have no plan code at all. */
#if CSM_TRANSPOSE_MIN > 1
#define CSM_PLAN_MAX (CSM_TRANSPOSE_MIN - 1)
#endif

/* ---- streaming stores (csm_stream_hint, csoftmax_internal.h) ------------ */

/* Non-temporal (streaming) store of a vector to a vector-aligned address. */
static inline void CSM_FN(simd_stream)(CSM_T *p, V v)
{
#if defined(CSM_F32) && VN == 8
    _mm256_stream_ps(p, v);
#elif defined(CSM_F32) && VN == 16
    _mm512_stream_ps(p, v);
#elif !defined(CSM_F32) && VN == 4
    _mm256_stream_pd(p, v);
#elif !defined(CSM_F32) && VN == 8
    _mm512_stream_pd(p, v);
#else
#error "simd_stream: unknown vector layer"
#endif
}

/* Elements per cache line (64 bytes). */
#define SIMD_LINE ((int64_t)(64 / sizeof(CSM_T)))

/* Elements before the first cache-line-aligned address at or after p (at
 * most n). */
static inline int64_t CSM_FN(simd_head)(const CSM_T *p, int64_t n)
{
    int64_t mis = (int64_t)(((uintptr_t)p / sizeof(CSM_T)) % SIMD_LINE);
    int64_t head = mis ? SIMD_LINE - mis : 0;
    return head < n ? head : n;
}

/* Writes the row o[0..n) from VAL, an expression of the vector at element j
 * with kk lanes (kk == VN: whole vector; use SIMD_LD to load inputs). With
 * `stream` (csm_stream_hint, csoftmax_internal.h) the whole cache lines of
 * the row are written with non-temporal stores and the elements before the
 * first and after the last with ordinary ones: a line written in part by
 * non-temporal stores is flushed from the write-combining buffer as a
 * partial write (two per row where rows start off a line boundary: float32
 * 4096 x 1000 softmax_backward took 1.2-1.4x, log_softmax 1.3x as long).
 * Call simd_stream_end() after the rows. SIMD_ROW_OUT_AND does statement
 * EACH (of j and kk) too at each vector written. */
#ifndef SIMD_ROW_OUT
#define SIMD_LD(p, fill) (kk == VN ? v_load((p) + j) : v_load_tail((p) + j, kk, (fill)))
#define SIMD_ROW_OUT_AND(o, n, stream, VAL, EACH)                                   \
    do {                                                                             \
        int64_t j = 0, s_ = 0, e_ = 0;                                               \
        int kk = VN;                                                                 \
        if (stream) {                                                                \
            s_ = CSM_FN(simd_head)((o), (n));                                        \
            e_ = s_ + ((n) - s_) / SIMD_LINE * SIMD_LINE;                            \
            for (; j + VN <= s_; j += VN) { v_store((o) + j, (VAL)); EACH; }         \
            if (j < s_) {                                                            \
                kk = (int)(s_ - j);                                                  \
                v_store_tail((o) + j, kk, (VAL));                                    \
                EACH;                                                                \
                kk = VN;                                                             \
                j = s_;                                                              \
            }                                                                        \
            for (; j < e_; j += VN) { CSM_FN(simd_stream)((o) + j, (VAL)); EACH; }   \
            for (; j + VN <= (n); j += VN) { v_store((o) + j, (VAL)); EACH; }        \
        } else {                                                                     \
            for (j = 0; j + VN <= (n); j += VN) { v_store((o) + j, (VAL)); EACH; }   \
        }                                                                            \
        if (j < (n)) {                                                               \
            kk = (int)((n) - j);                                                     \
            v_store_tail((o) + j, kk, (VAL));                                        \
            EACH;                                                                    \
        }                                                                            \
    } while (0)
#define SIMD_ROW_OUT(o, n, stream, VAL) SIMD_ROW_OUT_AND(o, n, stream, VAL, (void)0)
#endif

/* Orders a kernel's non-temporal stores before its return. */
static inline void CSM_FN(simd_stream_end)(int stream)
{
    if (stream) _mm_sfence();
}

/* ---- next-row prefetch ------------------------------------------------ */

/* While a row's exponentials are computed (the kernels' compute-bound pass),
 * the next row is prefetched, so that its first pass (the maximum, which
 * only loads) reads from cache instead of memory: rows of up to
 * CSM_PF_L1_BYTES have the next row's input and output lines brought into L1
 * (two rows of each fit beside one another), longer rows their input lines
 * into L2. 1.2-1.4x on 4096 x 1000 and 256 x 32000 float32 softmax. */
#define CSM_PF_L1_BYTES 8192
typedef struct {
    const char *x;  /* the next row's input, NULL: no prefetch */
    const char *y;  /* its output (L1 rows only), or NULL */
    int l1;
} CSM_FN(simd_pf);

static inline CSM_FN(simd_pf) CSM_FN(simd_pf_next)(const CSM_T *x_next, const CSM_T *y_next,
                                                    int64_t r, int64_t rows, int64_t cols)
{
    CSM_FN(simd_pf) pf = {NULL, NULL, 0};
    if (r + 1 < rows) {
        pf.x = (const char *)x_next;
        pf.l1 = cols * (int64_t)sizeof(CSM_T) <= CSM_PF_L1_BYTES;
        pf.y = pf.l1 ? (const char *)y_next : NULL;
    }
    return pf;
}

/* Prefetches the next row's lines of elements [j, j + 4 VN). Always inlined:
 * GCC takes a function holding only prefetches for one without side effects
 * (they have no memory operands for it) and drops calls to it. */
static inline __attribute__((always_inline)) void
CSM_FN(simd_pf_block)(CSM_FN(simd_pf) pf, int64_t j)
{
    if (pf.x == NULL) return;
    const int64_t at = j * (int64_t)sizeof(CSM_T);
    for (int64_t k = 0; k < 4 * VN * (int64_t)sizeof(CSM_T); k += 64) {
        if (pf.l1) {
            _mm_prefetch(pf.x + at + k, _MM_HINT_T0);
            if (pf.y != NULL) _mm_prefetch(pf.y + at + k, _MM_HINT_T0);
        } else {
            _mm_prefetch(pf.x + at + k, _MM_HINT_T1);
        }
    }
}

/* ---- wide rows -------------------------------------------------------- */

/* x - m as d + *lo exactly (TwoSum), for the exponentials of every row: the
 * rounding of x - m, up to half an ulp of |x - m|, would otherwise be an
 * error of |x - m| / 2 ulps in exp(x - m) (NumPy's and PyTorch's largest
 * error in softmax). A NaN *lo (x = -inf, or x - m overflowing to -inf, where
 * exp gives 0) becomes a finite value: v_max returns its second operand when
 * the first is NaN (x86 max). */
static inline V CSM_FN(simd_diff)(V x, V m, V *lo)
{
    V d = v_sub(x, m);
    V b = v_sub(d, x);
    V e = v_sub(v_sub(x, v_sub(d, b)), v_add(m, b));
    *lo = v_max(e, v_set1((CSM_T)-1e30));
    return d;
}

/* exp(x - m) for softmax's wide-row outputs. float64 takes x - m exactly (its
 * rounding is the largest error of softmax on long rows with spread-out
 * logits: 1 x 1000000 N(0, 10)), for 4-19 % of the kernel's time; float32
 * would pay 15-25 % and is already ahead of NumPy, SciPy and PyTorch there
 * (benchmarks/accuracy.py), so it rounds x - m. The sums of log_softmax and
 * logsumexp round it too: a term's error there is weighted by its size. */
static inline V CSM_FN(simd_exp_shifted)(V x, V vm)
{
#ifdef CSM_F32
    return v_exp_nonpos(v_sub(x, vm));
#else
    V lo;
    V d = CSM_FN(simd_diff)(x, vm, &lo);
    return v_exp_nonpos_lo(d, lo);
#endif
}

#ifndef v_exp_nonpos_n
/* v_exp_nonpos (v_exp_nonpos_lo with has_lo) of U vectors in place, one
 * after another, for vector layers without a lock-step form (simd_avx2.h's) */
static inline __attribute__((always_inline)) void
CSM_FN(simd_exp_nonpos_each)(V *x, const V *lo, const int has_lo, const int U)
{
    for (int u = 0; u < U; u++) x[u] = has_lo ? v_exp_nonpos_lo(x[u], lo[u]) : v_exp_nonpos(x[u]);
}
#define v_exp_nonpos_n CSM_FN(simd_exp_nonpos_each)
#endif
#ifndef v_exp_nonpos_n_mem
/* v_exp_nonpos_n for the wide rows' loops, where a vector layer may take its
 * constants from memory (simd_avx2.h's float32: CSM_K_F32_AVX2) */
#define v_exp_nonpos_n_mem v_exp_nonpos_n
#endif

/* e[u] = exp(xv[u] - vm) for u < 4 (e may be xv), the four exponentials in
 * lock step (v_exp_nonpos_n; v_exp_nonpos_n_mem with `wide`, in the wide
 * rows' loops); with `exact`, xv - vm taken exactly as simd_exp_shifted
 * takes it (float64 only: float32 rounds it). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_exp_shifted4)(V *e, const V *xv, V vm, const int exact, const int wide)
{
#ifdef CSM_F32
    (void)exact; /* float32 rounds x - m, as simd_exp_shifted does */
#else
    if (exact) {
        V lo[4];
        for (int u = 0; u < 4; u++) e[u] = CSM_FN(simd_diff)(xv[u], vm, &lo[u]);
        if (wide) v_exp_nonpos_n_mem(e, lo, 1, 4);
        else v_exp_nonpos_n(e, lo, 1, 4);
        return;
    }
#endif
    for (int u = 0; u < 4; u++) e[u] = v_sub(xv[u], vm);
    if (wide) v_exp_nonpos_n_mem(e, e, 0, 4);
    else v_exp_nonpos_n(e, e, 0, 4);
}

/* e / s: a reciprocal multiply corrected by one Newton step, q + (e - q s) / s. */
static inline V CSM_FN(simd_div)(V e, V vs, V vr)
{
    V q = v_mul(e, vr);
    return v_fmadd(v_fnmadd(q, vs, e), vr, q);
}

/* The maximum of x[0..n): lanes by four vectors, the rest into the first
 * two. */
static inline CSM_T CSM_FN(simd_row_max)(const CSM_T *x, int64_t n)
{
    const V ninf = v_set1((CSM_T)-INFINITY);
    V a0 = ninf, a1 = ninf, a2 = ninf, a3 = ninf;
    int64_t j = 0;
    for (; j + 4 * VN <= n; j += 4 * VN) {
        a0 = v_max(a0, v_load(x + j));
        a1 = v_max(a1, v_load(x + j + VN));
        a2 = v_max(a2, v_load(x + j + 2 * VN));
        a3 = v_max(a3, v_load(x + j + 3 * VN));
    }
    for (; j + VN <= n; j += VN) a0 = v_max(a0, v_load(x + j));
    if (j < n) a1 = v_max(a1, v_load_tail(x + j, (int)(n - j), ninf));
    return v_hmax(v_max(v_max(a0, a1), v_max(a2, a3)));
}

/* Elements from one scratch row to the next (simd_scratch_rows): rows of n
 * on their own cache lines. */
static inline int64_t CSM_FN(simd_scratch_stride)(int64_t n)
{
    return (n * (int64_t)sizeof(CSM_T) + 63) / 64 * 64 / (int64_t)sizeof(CSM_T);
}

/* Kernels that store a row's exponentials and then rewrite them as their
 * output (softmax, cross-entropy's gradient) keep them instead in a scratch
 * row, which stays in cache from row to row, when the output is large
 * (csm_stream_hint) and its rows longer than the next-row prefetch brings
 * into L1 (CSM_PF_L1_BYTES): the output row is then written once, streamed.
 * In the output row itself the exponentials cost each output line a read
 * for ownership from memory before its two writes (float32 256 x 32000
 * softmax on a Xeon with AVX-512, output not in cache: 1.5x the time of
 * log_softmax, which streams); shorter rows have their output lines
 * prefetched and were slower streamed (4096 x 1000: 1.2x). The outputs are
 * the same either way. k rows of n elements on their own cache lines,
 * simd_scratch_stride elements apart (free() them), or NULL (no scratch
 * wanted, scratch rows off on this CPU (csm_scratch_rows: an AMD EPYC Zen 3
 * was faster without them), or the allocation failed: the output rows hold
 * the exponentials then). */
static inline CSM_T *CSM_FN(simd_scratch_rows)(int64_t n, int k)
{
    if (!csm_scratch_rows || !csm_stream_hint || n * (int64_t)sizeof(CSM_T) <= CSM_PF_L1_BYTES)
        return NULL;
    return (CSM_T *)aligned_alloc(64, (size_t)k * CSM_FN(simd_scratch_stride)(n) * sizeof(CSM_T));
}

/* After rows that used simd_scratch_rows's scratch (NULL: none). */
static inline void CSM_FN(simd_scratch_done)(CSM_T *scratch)
{
    if (scratch != NULL) {
        free(scratch);
        _mm_sfence(); /* the streamed stores before the kernel's return */
    }
}

/* Neumaier step: (s, c) += b */
static inline void CSM_FN(simd_acc)(double *s, double *c, double b)
{
    double t = *s + b;
    *c += fabs(*s) >= fabs(b) ? (*s - t) + b : (b - t) + *s;
    *s = t;
}

/* *hi += a, the addition's rounding error returned (Fast2Sum: |*hi| >= |a|). */
static inline V CSM_FN(simd_f2s)(V *hi, V a)
{
    V t = v_add(*hi, a);
    V err = v_sub(a, v_sub(t, *hi));
    *hi = t;
    return err;
}

/* Terms a in [0, 1] (or NaN) added to lanes that hold 1 + their partial sums
 * as hi + lo: since hi >= 1 >= a, Fast2Sum gives the exact rounding error of
 * hi + a, which lo collects (three more vector operations per addition, off
 * the hi dependency chain). */
static inline void CSM_FN(simd_lane_add)(V *hi, V *lo, V a)
{
    *lo = v_add(*lo, CSM_FN(simd_f2s)(hi, a));
}

/* (s, c) += the lanes hi + lo in one compensated step. float32 lanes are
 * summed in double (v_hsum: each addition rounds at most 2^-53 of the sum,
 * far below a float32 result's rounding); float64 lanes pairwise by TwoSum,
 * log2(VN) steps deep, their exact errors going to the compensation with the
 * lo lanes. A chain of VN sequential Neumaier steps per flush was most of a
 * short row's time: float32 softmax_backward of 32 columns, two flushes a
 * row, ran 3x faster without it (kernel_ab 4096x32: 0.33; float64 0.60);
 * eight such steps were a tenth of perf's samples on float32 softmax rows
 * of 32 columns. An infinite lane leaves s infinite and c NaN, as the
 * sequential steps did (the sums' readers take s alone then). */
static inline void CSM_FN(simd_lanes_acc)(double *s, double *c, V hi, V lo)
{
#ifdef CSM_F32
    CSM_FN(simd_acc)(s, c, v_hsum(hi));
    *c += v_hsum(lo);
#else
    double h[VN], err = v_hsum(lo);
    v_store(h, hi);
    for (int w = VN / 2; w >= 1; w /= 2) {
        for (int k = 0; k < w; k++) {
            double a = h[k], b = h[k + w], t = a + b, bb = t - a;
            err += (a - (t - bb)) + (b - bb);
            h[k] = t;
        }
    }
    CSM_FN(simd_acc)(s, c, h[0]);
    *c += err;
#endif
}

/* (s, c) += the lanes' sums, lanes biased to `bias` (hi >= bias, a power of
 * two: each hi - bias is exact); each lo (at most CSM_BLOCK / VN rounding
 * errors, tiny) goes to the compensation. */
static inline void CSM_FN(simd_lanes_flush_biased)(double *s, double *c, V hi, V lo, CSM_T bias)
{
    CSM_FN(simd_lanes_acc)(s, c, v_sub(hi, v_set1(bias)), lo);
}

/* Two accumulator pairs biased to `bias` joined lane by lane into hi + lo
 * (unbiased): h0 - bias and h1 - bias exact, their sum's rounding error kept
 * by TwoSum, the two lo added to it. simd_lanes_flush2_biased: (s, c) += the
 * lanes' sums of two such pairs, joined first, then one flush: half
 * the sequential Neumaier steps (0.93x the time of a float32 row of 1024
 * elements' exponential pass in L1, where two flushes were 7 % of it). */
static inline void CSM_FN(simd_lanes_join2_biased)(V h0, V l0, V h1, V l1, CSM_T bias, V *hi,
                                                   V *lo)
{
    const V vb = v_set1(bias);
    V a = v_sub(h0, vb), b = v_sub(h1, vb);
    V s = v_add(a, b), bb = v_sub(s, a);
    V err = v_add(v_sub(a, v_sub(s, bb)), v_sub(b, bb));
    *hi = s;
    *lo = v_add(v_add(l0, l1), err);
}

static inline void CSM_FN(simd_lanes_flush2_biased)(double *s, double *c, V h0, V l0, V h1, V l1,
                                                    CSM_T bias)
{
    V hi, lo;
    CSM_FN(simd_lanes_join2_biased)(h0, l0, h1, l1, bias, &hi, &lo);
    CSM_FN(simd_lanes_flush_biased)(s, c, hi, lo, (CSM_T)0);
}

/* (s, c) += the lanes' sums, lanes biased to 1 (simd_lane_add). */
static inline void CSM_FN(simd_lanes_flush)(double *s, double *c, V hi, V lo)
{
    CSM_FN(simd_lanes_flush_biased)(s, c, hi, lo, (CSM_T)1);
}

/* Four terms through simd_lane_add's Fast2Sum one after the other, their
 * four rounding errors summed pairwise before they join lo: one pair of
 * accumulators (two pairs taking two terms each a step spilled three of the
 * four to the stack on AVX2, beside the exponential's constants; kernel_ab
 * 64x1000 float32 0.94-1.0) and a quarter as many roundings of lo as terms
 * (two pairs: half). */
static inline void CSM_FN(simd_lane_add4s)(V *hi, V *lo, V a, V b, V c, V d)
{
    V ea = CSM_FN(simd_f2s)(hi, a), eb = CSM_FN(simd_f2s)(hi, b);
    V ec = CSM_FN(simd_f2s)(hi, c), ed = CSM_FN(simd_f2s)(hi, d);
    *lo = v_add(*lo, v_add(v_add(ea, eb), v_add(ec, ed)));
}

/* Four vectors of terms in [0, 1] added pairwise (a sum in [0, 4]) and then,
 * compensated, into lanes biased to 4 (simd_lane_add's Fast2Sum holds since
 * hi >= 4 >= the sum): one compensated addition per four vectors, as the
 * portable kernels do. The pairwise additions' rounding errors, at most
 * 2^-p times the four terms' sum each, are left: a relative error of the
 * row sum below 2^-p, however long the row. */
static inline void CSM_FN(simd_lane_add4)(V *hi, V *lo, V a, V b, V c, V d)
{
    CSM_FN(simd_lane_add)(hi, lo, v_add(v_add(a, b), v_add(c, d)));
}

/* ---- pipelined rows: a row's output pass inside the next row's sum ------ */

/* The output pass of the pending row (src, y) and the maximum of the row
 * after the current one (xn), done a step at a time inside the current row's
 * pass of exponentials (simd_row_exp_store_side, simd_row_sum_minus_one_side):
 * 4 VN elements of each per four vectors of exponentials, over [j, end)
 * (whole output lines when streamed), the rest after the pass
 * (simd_side_finish). The output's stores and the next row's loads then
 * overlap the exponentials instead of following them. The output is
 * one of three kinds (SIMD_SIDE_*, a constant at each call): log_softmax's,
 * src - c0 - c1 (x, its maximum and log-sum); softmax's, src / c0
 * (exponentials, their sum; c1 = 1 / c0: simd_div); or cross-entropy's
 * gradient, src c0 (exponentials, the gradient's scale over their sum), whose
 * target element is then set apart (fix, fix_value) once the row is written. */
#define SIMD_SIDE_SUB 0
#define SIMD_SIDE_DIV 1
#define SIMD_SIDE_MUL 2
typedef struct {
    const CSM_T *src; /* the pending row's input, NULL: no output pending */
    CSM_T *y;         /* its output */
    const CSM_T *xn;  /* the row whose maximum is taken, NULL: none */
    V c0, c1;
    CSM_T *fix;       /* NULL, or an element of y set to fix_value after it */
    CSM_T fix_value;
    V a[4];           /* xn's maximum so far, four accumulators */
    int64_t j, end;
    int stream;
} CSM_FN(simd_side);

static inline __attribute__((always_inline)) V CSM_FN(simd_side_value)(V v, V c0, V c1,
                                                                      const int kind)
{
    return kind == SIMD_SIDE_DIV   ? CSM_FN(simd_div)(v, c0, c1)
           : kind == SIMD_SIDE_MUL ? v_mul(v, c0)
                                   : v_sub(v_sub(v, c0), c1);
}

static inline __attribute__((always_inline)) void
CSM_FN(simd_side_step)(CSM_FN(simd_side) *s, const int kind)
{
    if (s == NULL || s->j + 4 * VN > s->end) return;
    for (int u = 0; u < 4; u++) {
        const int64_t j = s->j + u * VN;
        if (s->src != NULL) {
            V v = CSM_FN(simd_side_value)(v_load(s->src + j), s->c0, s->c1, kind);
            if (s->stream) CSM_FN(simd_stream)(s->y + j, v);
            else v_store(s->y + j, v);
        }
        if (s->xn != NULL) s->a[u] = v_max(s->a[u], v_load(s->xn + j));
    }
    s->j += 4 * VN;
}

/* A row's side before its pass: the maximum of xn to be taken, and the
 * steps' range, whole lines of the pending output from its first aligned
 * address h when streamed (whole vectors from 0 otherwise); the elements
 * before h done here (ordinary stores). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_side_start)(CSM_FN(simd_side) *s, const CSM_T *xn, int64_t n, const int kind)
{
    const V ninf = v_set1((CSM_T)-INFINITY);
    const int lines = s->src != NULL && s->stream;
    const int64_t h = lines ? CSM_FN(simd_head)(s->y, n) : 0;
    const int64_t len = lines ? SIMD_LINE : VN;
    s->xn = xn;
    s->j = h;
    s->end = h + (n - h) / len * len;
    for (int u = 0; u < 4; u++) s->a[u] = ninf;
    for (int64_t j = 0; j < h; j += VN) {
        const int kk = h - j < VN ? (int)(h - j) : VN;
        if (s->src != NULL)
            v_store_tail(s->y + j, kk, CSM_FN(simd_side_value)(SIMD_LD(s->src, v_zero()), s->c0,
                                                               s->c1, kind));
        if (xn != NULL) s->a[1] = v_max(s->a[1], SIMD_LD(xn, ninf));
    }
}

/* After a row's pass: the rest of the pending output (from s->j: whole lines
 * streamed up to s->end, ordinary stores after) and of xn's maximum, which
 * is returned (-inf without xn); no output pending after. */
static inline __attribute__((always_inline)) CSM_T
CSM_FN(simd_side_finish)(CSM_FN(simd_side) *s, int64_t n, const int kind)
{
    const V ninf = v_set1((CSM_T)-INFINITY), c0 = s->c0, c1 = s->c1;
    const CSM_T *src = s->src, *xn = s->xn;
    CSM_T *y = s->y;
    const int stream = s->stream;
    const int64_t end = s->end;
    V a0 = s->a[0], a1 = s->a[1], a2 = s->a[2], a3 = s->a[3];
    int64_t j = s->j;
#define CSM_SIDE_OUT(J)                                                                    \
    do {                                                                                   \
        V v_ = CSM_FN(simd_side_value)(v_load(src + (J)), c0, c1, kind);                   \
        if (stream) CSM_FN(simd_stream)(y + (J), v_);                                      \
        else v_store(y + (J), v_);                                                         \
    } while (0)
#define CSM_SIDE_MAX4(J)                                                                   \
    (a0 = v_max(a0, v_load(xn + (J))), a1 = v_max(a1, v_load(xn + (J) + VN)),              \
     a2 = v_max(a2, v_load(xn + (J) + 2 * VN)), a3 = v_max(a3, v_load(xn + (J) + 3 * VN)))
    /* four vectors a step, each case its own loop */
    if (src != NULL && xn != NULL) {
        for (; j + 4 * VN <= end; j += 4 * VN) {
            for (int u = 0; u < 4; u++) CSM_SIDE_OUT(j + u * VN);
            CSM_SIDE_MAX4(j);
        }
    } else if (src != NULL) {
        for (; j + 4 * VN <= end; j += 4 * VN)
            for (int u = 0; u < 4; u++) CSM_SIDE_OUT(j + u * VN);
    } else if (xn != NULL) {
        for (; j + 4 * VN <= end; j += 4 * VN) CSM_SIDE_MAX4(j);
    }
    for (; j + VN <= end; j += VN) {
        if (src != NULL) CSM_SIDE_OUT(j);
        if (xn != NULL) a0 = v_max(a0, v_load(xn + j));
    }
#undef CSM_SIDE_MAX4
#undef CSM_SIDE_OUT
    for (; j < n; j += VN) {
        const int kk = n - j < VN ? (int)(n - j) : VN;
        if (src != NULL) {
            V v = CSM_FN(simd_side_value)(SIMD_LD(src, v_zero()), c0, c1, kind);
            if (kk == VN) v_store(y + j, v);
            else v_store_tail(y + j, kk, v);
        }
        if (xn != NULL) a2 = v_max(a2, SIMD_LD(xn, ninf));
    }
    if (s->fix != NULL && src != NULL) *s->fix = s->fix_value;
    s->src = NULL;
    s->fix = NULL;
    return v_hmax(v_max(v_max(a0, a1), v_max(a2, a3)));
}

/* A side with nothing pending, for outputs into y (streamed where `stream`:
 * whole lines, simd_side_start); the other members are set as it is used. */
static inline CSM_FN(simd_side) CSM_FN(simd_side_new)(CSM_T *y, int stream)
{
    CSM_FN(simd_side) s = {.y = y, .stream = stream};
    return s;
}

/* The pending output written whole, no output pending after (a row without
 * a finite maximum, whose pass is skipped, or the end). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_side_flush)(CSM_FN(simd_side) *s, int64_t n, const int kind)
{
    CSM_FN(simd_side_start)(s, NULL, n, kind);
    (void)CSM_FN(simd_side_finish)(s, n, kind);
}

/* Whether rows of n are pipelined (simd_side) by the kernels that write
 * their output after the row's sum (softmax, cross-entropy's gradient) or
 * write none (cross-entropy's loss alone): rows longer than the
 * next-row prefetch brings into L1, and on AVX-512 rows of up to
 * CSM_PIPE_SHORT_BYTES (1 KiB: there each row's chain of reductions and
 * its division, otherwise in the way of the next row, took the time;
 * kernel_ab --isa avx512, pipelined against not, in cache and out: float32
 * softmax of 80-256 columns 0.80-0.92x, cross-entropy 0.90-0.98x, float64
 * 80-128 columns 0.91-0.97x; 320 columns even, 512 and 1000 1.01-1.22x;
 * with AVX2 on the same machine 0.91-1.06x, not taken). Rows in between,
 * whose next input (and output) lines the prefetch brings into L1, were
 * slower so (softmax: simd_softmax_rows; cross-entropy with its gradient
 * 0.97-1.0x the time at 4096 x 1000, not kept). log_softmax pipelines every
 * row; logsumexp none (simd_logsumexp_rows). */
#ifndef CSM_PIPE_SHORT_BYTES
#define CSM_PIPE_SHORT_BYTES 0
#endif
static inline int CSM_FN(simd_pipe)(int64_t n)
{
    const int64_t bytes = n * (int64_t)sizeof(CSM_T);
    return bytes > CSM_PF_L1_BYTES || bytes <= CSM_PIPE_SHORT_BYTES;
}

/* The prefetch for row r of n elements: row r + 2's input when pipelined
 * (row r + 1's maximum is taken beside row r's sum), row r + 1's input and
 * output (gr, or NULL) if not. */
static inline CSM_FN(simd_pf) CSM_FN(simd_pipe_pf)(const CSM_T *xr, int64_t xs, const CSM_T *gr,
                                                    int64_t gs, int64_t r, int64_t rows,
                                                    int64_t n, const int pipe)
{
    if (pipe) return CSM_FN(simd_pf_next)(r + 2 < rows ? xr + 2 * xs : NULL, NULL, r + 1, rows, n);
    return CSM_FN(simd_pf_next)(xr + xs, gr == NULL ? NULL : gr + gs, r, rows, n);
}

/* sum(exp(x - m)) over the row, the exponentials stored in y; the next row
 * prefetched as pf says. The row's last, partial vector is loaded with m in
 * its masked-off lanes: their terms are exp(0) = 1 exactly, added exactly by
 * the compensated lane sums and taken off the double sum s after the flush
 * (exact: s >= the filler count, a small integer; taken off the compensation
 * instead, it would round the small terms there away, t = s - 1 + c in
 * simd_row_sum_minus_one_scaled); a -inf filler, whose exponential is 0,
 * sent each such vector down the exponential's checked path on AVX2 (14 %
 * of perf's samples on float32 rows of 17 columns). */
static inline __attribute__((always_inline)) double
CSM_FN(simd_row_exp_store_side)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m, CSM_FN(simd_pf) pf,
                                CSM_FN(simd_side) *side)
{
    const V vm = v_set1(m), four = v_set1((CSM_T)4);
    double s = 0.0, c = 0.0;
    for (int64_t b = 0; b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        V h0 = four, h1 = four, l0 = v_zero(), l1 = v_zero();
        int64_t j = b;
        for (; j + 4 * VN <= end; j += 4 * VN) {
            V e[4];
            for (int u = 0; u < 4; u++) e[u] = v_load(x + j + u * VN);
            CSM_FN(simd_exp_shifted4)(e, e, vm, 1, 1);
            CSM_FN(simd_pf_block)(pf, j);
            CSM_FN(simd_side_step)(side, SIMD_SIDE_DIV);
            for (int u = 0; u < 4; u++) v_store(y + j + u * VN, e[u]);
            CSM_FN(simd_lane_add4)(&h0, &l0, e[0], e[1], e[2], e[3]);
        }
        for (; j + VN <= end; j += VN) {
            V e0 = CSM_FN(simd_exp_shifted)(v_load(x + j), vm);
            v_store(y + j, e0);
            CSM_FN(simd_lane_add)(&h1, &l1, e0);
        }
        int fill = 0;
        if (j < end) {
            int k = (int)(end - j);
            V e0 = CSM_FN(simd_exp_shifted)(v_load_tail(x + j, k, vm), vm);
            v_store_tail(y + j, k, e0);
            CSM_FN(simd_lane_add)(&h1, &l1, e0);
            fill = VN - k;
        }
        CSM_FN(simd_lanes_flush2_biased)(&s, &c, h0, l0, h1, l1, (CSM_T)4);
        s -= (double)fill;  /* the tail's filler terms, exactly (simd_row_exp_store) */
    }
    return s + c;
}

static inline double CSM_FN(simd_row_exp_store)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m,
                                                 CSM_FN(simd_pf) pf)
{
    return CSM_FN(simd_row_exp_store_side)(x, y, n, m, pf, NULL);
}

/* sum(exp(x - m)) - 1 for a row with finite maximum m. Every term, the
 * maximal ones (exactly 1) included, is added with its own Fast2Sum into
 * lanes biased to 4 (simd_lane_add4s): adding a 1 is exact, and each other
 * term's rounding error, at most the term itself, goes to lo, so lo is at
 * most the sum of the terms below the maximum and its own roundings are
 * relative to that (as many as a pairwise sum of four terms would make).
 * The double accumulation (s, c) keeps the lanes' hi + lo, and s - 1 is
 * exact where the sum is below 2 (Sterbenz): t keeps the small terms'
 * relative accuracy however close to 1 the sum is (log1p(t)). (A pairwise
 * sum of four terms, as in simd_row_exp_store, would round at the scale of
 * the 1s.) When y is not NULL the exponentials are stored there; the next
 * row prefetched as pf says, and side's steps (simd_side, of side_kind)
 * taken beside the exponentials when side is not NULL. With `scaled` the
 * terms are exp((x - m) inv_t) (a temperature; inv_t > 0, so the maxima
 * still give 1). */
static inline __attribute__((always_inline)) double
CSM_FN(simd_row_sum_minus_one_side)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m, CSM_T inv_t,
                                    const int scaled, CSM_FN(simd_pf) pf,
                                    CSM_FN(simd_side) *side, const int side_kind)
{
    const V vm = v_set1(m), vt = v_set1(inv_t), four = v_set1((CSM_T)4);
#define CSM_SHIFTED(v) (scaled ? v_mul(v_sub((v), vm), vt) : v_sub((v), vm))
    double s = 0.0, c = 0.0;
    for (int64_t b = 0; b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        V h0 = four, l0 = v_zero();
        int64_t j = b;
        for (; j + 4 * VN <= end; j += 4 * VN) {
            V e[4];
            for (int u = 0; u < 4; u++) e[u] = CSM_SHIFTED(v_load(x + j + u * VN));
            v_exp_nonpos_n_mem(e, e, 0, 4);
            CSM_FN(simd_pf_block)(pf, j);
            CSM_FN(simd_side_step)(side, side_kind);
            if (y != NULL)
                for (int u = 0; u < 4; u++) v_store(y + j + u * VN, e[u]);
            CSM_FN(simd_lane_add4s)(&h0, &l0, e[0], e[1], e[2], e[3]);
        }
        int fill = 0;
        for (; j < end; j += VN) {
            int k = end - j < VN ? (int)(end - j) : VN;
            V e0 = v_exp_nonpos(CSM_SHIFTED(v_load_tail(x + j, k, vm)));
            if (y != NULL) v_store_tail(y + j, k, e0);
            CSM_FN(simd_lane_add)(&h0, &l0, e0);
            fill += VN - k;
        }
        CSM_FN(simd_lanes_flush_biased)(&s, &c, h0, l0, (CSM_T)4);
        s -= (double)fill;  /* the tail's filler terms, exactly (simd_row_exp_store) */
    }
#undef CSM_SHIFTED
    return (s - 1.0) + c;
}

static inline void CSM_FN(simd_fill)(CSM_T *y, int64_t n, CSM_T value)
{
    for (int64_t j = 0; j < n; j++) y[j] = value;
}

/* ---- tiny rows: VN rows per step, one per lane ------------------------ */

/* The series of 2 atanh(z) = log((1 + z) / (1 - z)) past its first term:
 * 2 atanh(z) = 2z + 2z z^2 P(z^2), for |z| <= 3 - 2 sqrt(2). */
static inline V CSM_FN(simd_atanh_tail)(V z2)
{
#ifdef CSM_F32
    V p = v_set1((CSM_T)(1.0 / 9));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 7)));
#else
    V p = v_set1((CSM_T)(1.0 / 21));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 19)));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 17)));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 15)));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 13)));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 11)));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 9)));
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 7)));
#endif
    p = v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 5)));
    return v_fmadd(p, z2, v_set1((CSM_T)(1.0 / 3)));
}

#ifdef CSM_F32
#define CSM_LN2_HI 0.693359375f
#define CSM_LN2_LO -2.12194440e-4f
#else
#define CSM_LN2_HI 6.93147180369123816490e-01
#define CSM_LN2_LO 1.90821492927058770002e-10
#endif

/* u = 1 + t rounded as f 2^e, f in [sqrt(1/2), sqrt(2)), and the rounding
 * error 1 + t - u (TwoSum, exact). */
static inline V CSM_FN(simd_log1p_split)(V t, V *f, V *e, V *u)
{
    const V one = v_set1((CSM_T)1);
    *u = v_add(one, t);
    V m = v_getmant(*u);
    V k = v_getexp(*u);
    VM big = v_gt(m, v_set1((CSM_T)1.41421356237309504880));
    *f = v_blend(big, m, v_mul(m, v_set1((CSM_T)0.5)));
    *e = v_blend(big, k, v_add(k, one));
    V um1 = v_sub(*u, one);                                        /* exact */
    return v_add(v_sub(one, v_sub(*u, um1)), v_sub(t, um1));
}

/* log1p(t) per lane for t >= 0 (or NaN), about an ulp: log(u) for u = 1 + t
 * rounded, plus the rounding error of 1 + t over u, a first-order
 * correction; log(u) = e ln2 + 2 atanh(z), z = (f - 1) / (f + 1), f - 1
 * exact, ln2 split in a part whose product with e is exact and the rest.
 * Where u rounds to 1 the result is t itself. (log_softmax's and
 * cross-entropy's tiny rows, whose other roundings are of that size, and
 * binary cross-entropy.) */
static inline V CSM_FN(simd_log1p)(V t)
{
    const V one = v_set1((CSM_T)1);
    V f, e, u;
    V err = CSM_FN(simd_log1p_split)(t, &f, &e, &u);
    V z = v_div(v_sub(f, one), v_add(f, one));
    V twoz = v_add(z, z);
    V logf = v_fmadd(v_mul(twoz, v_mul(z, z)), CSM_FN(simd_atanh_tail)(v_mul(z, z)), twoz);
    V low = v_fmadd(e, v_set1(CSM_LN2_LO), v_div(err, u));
    return v_fmadd(e, v_set1(CSM_LN2_HI), v_add(logf, low));
}

/* log1p(t + tl) per lane, |tl| <= ulp(t), as hi + *lo with |*lo| about an
 * ulp of hi, for logsumexp: as simd_log1p, with f + 1 exact as g + gerr
 * (Fast2Sum: f < 2), z = q + dz for q = (f - 1) (1 / g) and
 * dz = (r - q gerr) / g from the exact residual r = (f - 1) - q g (FMA);
 * hi = e ln2_hi + 2q (Fast2Sum, e ln2_hi exact), the rest, the series' tail
 * and tl included, in *lo. The caller adds *lo last (after m + hi,
 * compensated), so that the one rounding left is that of the result. */
static inline V CSM_FN(simd_log1p2)(V t, V tl, V *lo)
{
    const V one = v_set1((CSM_T)1);
    V f, e, u;
    V err = v_add(CSM_FN(simd_log1p_split)(t, &f, &e, &u), tl);
    V fm1 = v_sub(f, one);                                         /* exact */
    V g = v_add(f, one);
    V gerr = v_sub(f, v_sub(g, one));                              /* f + 1 - g */
    V rg = v_div(one, g);
    V q = v_mul(fm1, rg);
    V r = v_fnmadd(q, g, fm1);                                     /* exact */
    V dz = v_mul(v_fnmadd(q, gerr, r), rg);
    V z2 = v_mul(q, q);
    V twoq = v_add(q, q);
    V a = v_mul(e, v_set1(CSM_LN2_HI));                            /* exact */
    V hi = v_add(a, twoq);
    V hi_err = v_sub(twoq, v_sub(hi, a));                          /* exact */
    V tail = v_fmadd(v_mul(twoq, z2), CSM_FN(simd_atanh_tail)(z2), v_add(dz, dz));
    *lo = v_add(hi_err, v_add(tail, v_fmadd(e, v_set1(CSM_LN2_LO), v_div(err, u))));
    return hi;
}

/* m + log1p(t + tl) per lane: m + hi summed exactly (TwoSum), its error
 * and lo added before the one last rounding. */
static inline V CSM_FN(simd_add_log1p)(V m, V t, V tl)
{
    V lo;
    V hi = CSM_FN(simd_log1p2)(t, tl, &lo);
    V s = v_add(m, hi);
    V b = v_sub(s, m);
    V se = v_add(v_sub(m, v_sub(s, b)), v_sub(hi, b));
    return v_add(s, v_add(se, lo));
}

/* Whether the lane-gather kernels can address these strides with int32 lane
 * indices. */
static inline int CSM_FN(simd_tiny_ok)(int64_t cols, int64_t xs, int64_t ys)
{
    const int64_t lim = ((int64_t)1 << 30) / VN;
    return cols >= 1 && cols <= CSM_TINY_MAX && xs > -lim && xs < lim && ys > -lim && ys < lim;
}

/* A tile is VN rows x cols. Contiguous tiles (row stride == cols) are loaded
 * with plain vector loads and transposed in registers by a plan of permute
 * steps built once per call; strided tiles use gathers and scatters. (On
 * AMD Zen 4 gathers and scatters cost several times the permutes.) */
typedef struct {
    int64_t cols;
    int contiguous;
    int transpose;
#ifdef CSM_PLAN_MAX
    int n_load[CSM_PLAN_MAX], n_store[CSM_PLAN_MAX];
    int load_group[CSM_PLAN_MAX][CSM_PLAN_MAX], store_group[CSM_PLAN_MAX][CSM_PLAN_MAX];
    VSTEP load[CSM_PLAN_MAX][CSM_PLAN_MAX], store[CSM_PLAN_MAX][CSM_PLAN_MAX];
#endif
} CSM_FN(simd_plan);

static void CSM_FN(simd_plan_build)(CSM_FN(simd_plan) *p, int64_t cols, int contiguous)
{
    p->cols = cols;
    p->contiguous = contiguous;
    p->transpose = contiguous && cols >= CSM_TRANSPOSE_MIN;
#ifdef CSM_PLAN_MAX
    if (!contiguous || p->transpose || cols > CSM_PLAN_MAX) return; /* (the last: implied) */
    /* every step set (zero: unused), so that instances unrolled for a
     * constant cols read no uninitialised step past a column's count (GCC
     * warned of it there) */
    memset(p->load_group, 0, sizeof p->load_group);
    memset(p->load, 0, sizeof p->load);
    memset(p->store_group, 0, sizeof p->store_group);
    memset(p->store, 0, sizeof p->store);
    int C = (int)cols, groups = (C + VG - 1) / VG;
    int32_t src[VN];
    for (int c = 0; c < C; c++) {  /* column c from the loaded registers */
        p->n_load[c] = 0;
        for (int g = 0; g < groups; g++) {
            int any = 0;
            for (int i = 0; i < VN; i++) {
                int f = i * C + c - g * VG * VN;
                src[i] = (f >= 0 && f < VG * VN) ? f : -1;
                any |= src[i] >= 0;
            }
            if (any) {
                p->load_group[c][p->n_load[c]] = g * VG;
                p->load[c][p->n_load[c]++] = v_make_step(src);
            }
        }
    }
    for (int k = 0; k < C; k++) {  /* output register k from the result columns */
        p->n_store[k] = 0;
        for (int g = 0; g < groups; g++) {
            int any = 0;
            for (int j = 0; j < VN; j++) {
                int f = k * VN + j, col = f % C, row = f / C;
                src[j] = (col >= g * VG && col < g * VG + VG) ? (col - g * VG) * VN + row : -1;
                any |= src[j] >= 0;
            }
            if (any) {
                p->store_group[k][p->n_store[k]] = g * VG;
                p->store[k][p->n_store[k]++] = v_make_step(src);
            }
        }
    }
#endif
}

/* Load the tile at x (nr rows valid, avail elements readable from x) as
 * columns xv[0..cols); return the lane maxima. */
static inline V CSM_FN(simd_tiny_load)(const CSM_FN(simd_plan) *p, const CSM_T *x, VI ix,
                                       int nr, int64_t avail, V *xv)
{
    const int64_t cols = p->cols;
    V m = v_set1((CSM_T)-INFINITY);
    (void)avail;
#ifdef v_transpose
    if (p->transpose) {
        /* Row i's columns [b, b + VN) as one vector (reading on into the
         * next rows, never past avail), VN such vectors transposed. */
        for (int64_t b = 0; b < cols; b += VN) {
            V t[VN];
            for (int i = 0; i < VN; i++) {
                int64_t off = i * cols + b, left = avail - off;
                t[i] = left >= VN ? v_load(x + off)
                                  : v_load_tail(x + off, (int)(left > 0 ? left : 0), v_zero());
            }
            v_transpose(t);
            /* all VN columns of the block (xv has room for them, b + VN <=
             * CSM_TINY_MAX): a copy of a fixed count, which the compiler
             * unrolls; a copy of w became a `rep movs` where the maxima are
             * not used (the backward passes: a quarter of their time) */
            int w = cols - b < VN ? (int)(cols - b) : VN;
            for (int k = 0; k < VN; k++) xv[b + k] = t[k];
            for (int k = 0; k < w; k++) m = v_max(m, t[k]);
        }
        return m;
    }
#endif
#ifdef CSM_PLAN_MAX
    /* (not transposed: cols is below CSM_TRANSPOSE_MIN; the bound tells the
     * compiler so where cols is a constant, simdl_backward_rows' instances) */
    if (p->contiguous && cols <= CSM_PLAN_MAX) {
        V reg[CSM_PLAN_MAX + VG];
        int64_t total = (int64_t)nr * cols;
        for (int64_t k = 0; k < cols; k++) {
            int64_t left = total - k * VN;
            reg[k] = left >= VN ? v_load(x + k * VN)
                                : v_load_tail(x + k * VN, (int)(left > 0 ? left : 0), v_zero());
        }
        for (int k = 0; k < VG; k++) reg[cols + k] = v_zero();
        for (int64_t c = 0; c < cols; c++) {
            V v = v_zero();
            for (int s = 0; s < p->n_load[c]; s++)
                v = v_apply_step(v, reg + p->load_group[c][s], p->load[c][s]);
            xv[c] = v;
            m = v_max(m, v);
        }
        return m;
    }
#endif
    for (int64_t c = 0; c < cols; c++) {
        V v = nr == VN ? v_gather(x, vi_add_const(ix, c))
                       : v_gather_tail(x, vi_add_const(ix, c), nr, v_zero());
        xv[c] = v;
        m = v_max(m, v);
    }
    return m;
}

/* Store result columns val[0..cols) as the tile at y (nr rows valid). */
static inline void CSM_FN(simd_tiny_store)(const CSM_FN(simd_plan) *p, CSM_T *y, VI iy, int nr,
                                           V *val)
{
    const int64_t cols = p->cols;
#ifdef v_transpose
    if (p->transpose) {
        /* Transposed back to rows, stored row after row: a vector running
         * past its row is overwritten by the next row's store; none runs past
         * the tile. */
        V t[(CSM_TINY_MAX + VN - 1) / VN][VN];
        int nb = (int)((cols + VN - 1) / VN);
        for (int b = 0; b < nb; b++) {
            for (int k = 0; k < VN; k++) t[b][k] = b * VN + k < cols ? val[b * VN + k] : v_zero();
            v_transpose(t[b]);
        }
        int64_t total = (int64_t)nr * cols;
        for (int i = 0; i < nr; i++) {
            for (int b = 0; b < nb; b++) {
                int64_t off = i * cols + (int64_t)b * VN, left = total - off;
                if (left >= VN) v_store(y + off, t[b][i]);
                else v_store_tail(y + off, (int)left, t[b][i]);
            }
        }
        return;
    }
#endif
#ifdef CSM_PLAN_MAX
    /* (not transposed: cols is below CSM_TRANSPOSE_MIN; the bound tells the
     * compiler so where cols is a constant, simdl_backward_rows' instances) */
    if (p->contiguous && cols <= CSM_PLAN_MAX) {
        int64_t total = (int64_t)nr * cols;
        for (int k = 0; k < VG; k++) val[cols + k] = v_zero();
        for (int64_t k = 0; k < cols; k++) {
            V o = v_zero();
            for (int s = 0; s < p->n_store[k]; s++)
                o = v_apply_step(o, val + p->store_group[k][s], p->store[k][s]);
            int64_t left = total - k * VN;
            if (left >= VN) v_store(y + k * VN, o);
            else if (left > 0) v_store_tail(y + k * VN, (int)left, o);
        }
        return;
    }
#endif
    for (int64_t c = 0; c < cols; c++) {
        if (nr == VN) v_scatter(y, vi_add_const(iy, c), val[c]);
        else v_scatter_tail(y, vi_add_const(iy, c), nr, val[c]);
    }
}

/* Contiguous tiles are transposed in registers (from CSM_TRANSPOSE_MIN
 * columns on), or permuted by a plan that pays for itself over a few tiles. */
static inline int CSM_FN(simd_use_permutes)(int64_t rows, int64_t cols, int64_t xs, int64_t ys)
{
    return xs == cols && ys == cols && (rows >= 4 * VN || cols >= CSM_TRANSPOSE_MIN);
}

/* The sums over the rows minus one of U (1 or 2) tiles, per lane (terms
 * equal to the max excluded, their count minus one added), into t[u]:
 * column by column for the U tiles together (one tile's sum after the
 * other's: log_softmax float32 4096x10 1.0x-1.1x the time, kernel_ab); the
 * exponentials into ev[u] unless ev is NULL. With `scaled` the terms are
 * exp((x - m) vt) (a temperature, vt = 1 / T > 0). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_tiny_sums_minus_one)(V xv[][CSM_TINY_MAX + VG], const V *m, int64_t cols,
                                 V ev[][CSM_TINY_MAX + VG], V vt, const int scaled, V *t,
                                 const int U)
{
    const V one = v_set1((CSM_T)1), zero = v_zero();
    V cnt[2];
    for (int u = 0; u < U; u++) t[u] = cnt[u] = zero;
    for (int64_t c = 0; c < cols; c++) {
        for (int u = 0; u < U; u++) {
            V d = v_sub(xv[u][c], m[u]);
            V e = v_exp_nonpos(scaled ? v_mul(d, vt) : d);
            VM q = v_eq(xv[u][c], m[u]);
            if (ev != NULL) ev[u][c] = e;
            t[u] = v_add(t[u], v_blend(q, e, zero));
            cnt[u] = v_mask_add(cnt[u], q, one);
        }
    }
    for (int u = 0; u < U; u++) t[u] = v_add(t[u], v_sub(cnt[u], one));
}

/* exp(d + lo) for d <= 0 (or NaN), |lo| <= ulp(d) / 2, as hi + *elo with
 * |*elo| about an ulp of hi, for logsumexp's tiny rows. The same reduction
 * and series as v_exp, with the roundings the one-value exp leaves in its
 * result kept: r = d - n ln2 as r + rl (Fast2Sum of the second reduction
 * step, lo added to rl), exp(r) = 1 + r + r^2 P(r) as two Fast2Sums, the
 * small products' rounding (~0.05 ulp) left. NaN stays NaN. wide = 0
 * promises every d >= CSM_EXP_FAST_MIN or NaN: 2^n is then one normal
 * factor; otherwise (and on AVX-512, whose vscalef takes any n) d is
 * clamped where exp underflows to 0 (no lo there). */
static inline V CSM_FN(simd_exp2)(V d, V lo, V *elo, const int wide)
{
#ifdef CSM_F32
    const V lim = v_set1(-104.0f), log2e = v_set1(1.44269504088896341f);
    const V shifter = v_set1(12582912.0f);                   /* 1.5 * 2^23 */
#else
    const V lim = v_set1(-746.0), log2e = v_set1(1.4426950408889634074);
    const V shifter = v_set1(6755399441055744.0);            /* 1.5 * 2^52 */
#endif
    const V ln2_hi = v_set1(CSM_LN2_HI), ln2_lo = v_set1(CSM_LN2_LO);
    const V one = v_set1((CSM_T)1);
    /* (AVX-512 has no fast range: CSM_EXP_FAST_MIN is -inf, and it clamps) */
    const int clamp = wide || (CSM_T)CSM_EXP_FAST_MIN == -(CSM_T)INFINITY;
    V x = d;
    if (clamp) {
        x = v_max(d, lim);                      /* NaN: lim (x86 max), fixed below */
        lo = v_blend(v_gt(x, d), lo, v_zero()); /* not where clamped */
    }
    V sh = v_fmadd(x, log2e, shifter);
    V n = v_sub(sh, shifter);                   /* round(x log2 e) */
    V r1 = v_fnmadd(n, ln2_hi, x);              /* exact */
    V c = v_mul(n, ln2_lo);
    V r = v_sub(r1, c);
    V rl = v_add(v_sub(v_sub(r1, r), c), lo);
    V q = v_mul(v_mul(r, r), v_exp_tail(r));
    V h = v_add(one, r);
    V e1 = v_sub(r, v_sub(h, one));             /* exact: |r| < 1 */
    V hi = v_add(h, q);
    V e2 = v_sub(q, v_sub(hi, h));              /* exact: |q| < |h| */
    V el = v_fmadd(hi, rl, v_add(e1, e2));
    if (wide) {
        *elo = v_scale2(el, n);
        hi = v_scale2(hi, n);
    } else {
        V p2 = v_pow2_shifted(sh, n);
        *elo = v_mul(el, p2);
        hi = v_mul(hi, p2);
    }
    return clamp ? v_blend(v_isnan(d), hi, d) : hi;   /* unclamped: NaN in, NaN out */
}

/* simd_tiny_sums_minus_one for logsumexp, as t + *tlo: x - m exact
 * (simd_diff), the exponentials as simd_exp2's hi + lo, the sum exact
 * (Fast2Sum per term: started at 1, the running sum is at least every term)
 * with the errors and lo parts summed apart, so that the error of
 * log1p(t + tlo) is about a tenth of an ulp and the rounding of m + log1p(.)
 * is the one left. Terms equal to m count 1 exactly (also where m is
 * infinite: the sum is NaN only for rows holding a NaN). */
static inline V CSM_FN(simd_tiny_sum_minus_one2)(const V *xv, V m, int64_t cols, V *tlo)
{
    const V zero = v_zero(), two = v_set1((CSM_T)2);
    V t = v_set1((CSM_T)1), tl = zero, mn = xv[0];
    for (int64_t c = 1; c < cols; c++) mn = v_min(mn, xv[c]);
    /* a lane below exp's fast range (ordered compare: NaN lanes stay fast,
     * their result NaN whatever the scaling) */
    const int wide = v_any(v_gt(v_set1((CSM_T)CSM_EXP_FAST_MIN), v_sub(mn, m))) != 0;
    for (int64_t c = 0; c < cols; c++) {
        V dlo, elo;
        V d = CSM_FN(simd_diff)(xv[c], m, &dlo);
        d = v_blend(v_eq(xv[c], m), d, zero);
        V e = CSM_FN(simd_exp2)(d, dlo, &elo, wide);
        V s = v_add(t, e);
        tl = v_add(tl, v_add(v_sub(e, v_sub(s, t)), elo));
        t = s;
    }
    /* (1 + sum) - 2 = sum - 1: t >= 2, Fast2Sum */
    V s = v_sub(t, two);
    *tlo = v_add(tl, v_sub(v_sub(t, s), two));
    return s;
}

/* NaN in lanes whose maximum is +-inf (softmax's NaN rows), v elsewhere. */
static inline V CSM_FN(simd_nan_if_inf)(V m, V v)
{
    VM inf = v_isinf(m);
    return v_blend(inf, v, v_set1((CSM_T)NAN));
}

/* ---- the row kernels -------------------------------------------------- */

/* softmax of U (1 or 2) tiles of tiny rows, stage by stage: the stages of
 * one tile are a chain (maximum, sum, division), and two tiles in flight keep
 * the vector units busier than one after the other. exp(d + lo) = e (1 + lo)
 * to first order: e lo joins the division's residual. The sum as the count
 * of maximal terms (d = 0, e = 1 exactly) plus the others' sum in two
 * accumulators: were the 1s summed with the rest, each later addition would
 * round at the scale of 1, an error of 1 - y for the largest y
 * (softmax_backward's cancellation); this costs less than compensating
 * every addition. */
static inline __attribute__((always_inline)) void
CSM_FN(simd_tiny_softmax_tiles)(V xv[][CSM_TINY_MAX + VG], V ev[][CSM_TINY_MAX + VG], const V *m,
                                int64_t cols, const int U)
{
    const V one = v_set1((CSM_T)1), zero = v_zero();
    V t0[2], t1[2], cnt[2], s[2], rcp[2];
    for (int u = 0; u < U; u++) t0[u] = t1[u] = cnt[u] = zero;
    for (int64_t c = 0; c < cols; c++) {
        for (int u = 0; u < U; u++) {
            V d = CSM_FN(simd_diff)(xv[u][c], m[u], &xv[u][c]);
            VM q = v_eq(d, zero);
            ev[u][c] = v_exp_nonpos(d);
            if (c & 1) t1[u] = v_add(t1[u], v_blend(q, ev[u][c], zero));
            else t0[u] = v_add(t0[u], v_blend(q, ev[u][c], zero));
            cnt[u] = v_mask_add(cnt[u], q, one);
        }
    }
    for (int u = 0; u < U; u++) {
        s[u] = CSM_FN(simd_nan_if_inf)(m[u], v_add(cnt[u], v_add(t0[u], t1[u])));
        rcp[u] = v_div(one, s[u]);
    }
    for (int64_t c = 0; c < cols; c++) {
        for (int u = 0; u < U; u++) {
            V q = v_mul(ev[u][c], rcp[u]);
            ev[u][c] = v_fmadd(v_fmadd(ev[u][c], xv[u][c], v_fnmadd(q, s[u], ev[u][c])), rcp[u], q);
        }
    }
}

/* ---- short rows: VN rows per tile, one per lane, transposed ------------ */

/* Rows of CSM_TINY_MAX + 1 to CSM_SHORT_COLS elements (which the vector
 * layer may set; 256 bytes otherwise: float32 64, float64 32; past these
 * the row kernels were as fast or faster with AVX2: kernel_ab, 1M elements,
 * float32 128 columns 1.07-1.12x, float64 64 columns 1.10-1.26x the time on
 * AMD Zen 3, until the tiles spread their prefetches: softmax and the
 * class-target cross-entropy take float32 rows of up to CSM_SHORT_WIDE_COLS
 * = 128 there, simd_avx2.h); each row contiguous,
 * any row stride) go VN at a time through the lanes, as the tiny rows do:
 * each block of VN columns of the VN rows loaded as VN vectors and
 * transposed in registers (v_transpose), so that the maximum, the sums and
 * the divisions are vertical, with no horizontal reduction, scalar flush or
 * division per row (a float32 row of 32 columns took about 340 instructions
 * one at a time). The sums are compensated as the wide rows' are (terms in
 * [0, 1] into lanes biased to 4, simd_lane_add4 / simd_lane_add4s), so the
 * results round as theirs do. */
#ifndef CSM_SHORT_COLS
#define CSM_SHORT_COLS (256 / (int)sizeof(CSM_T))
#endif
/* the longest rows softmax and the class-target cross-entropy take in tiles
 * (simd_short_wide_ok; the vector layer may set it above CSM_SHORT_COLS) */
#ifndef CSM_SHORT_WIDE_COLS
#define CSM_SHORT_WIDE_COLS CSM_SHORT_COLS
#endif
/* the tiles' column buffers */
#define CSM_SHORT_MAX \
    ((int64_t)(CSM_SHORT_WIDE_COLS > CSM_SHORT_COLS ? CSM_SHORT_WIDE_COLS : CSM_SHORT_COLS))
#ifndef CSM_SHORT_SPREAD
#define CSM_SHORT_SPREAD 0
#endif
/* with CSM_SHORT_SPREAD, the rows longer than this many bytes spread their
 * prefetches (simd_short_spread) */
#ifndef CSM_SHORT_SPREAD_BYTES
#define CSM_SHORT_SPREAD_BYTES 0
#endif

static inline int CSM_FN(simd_short_ok)(int64_t cols)
{
    return cols > CSM_TINY_MAX && cols <= (int64_t)CSM_SHORT_COLS;
}

static inline int CSM_FN(simd_short_wide_ok)(int64_t cols)
{
    return cols > CSM_TINY_MAX && cols <= (int64_t)CSM_SHORT_WIDE_COLS;
}

/* Whether a tile of rows of `cols` spreads its next tile's prefetches over
 * its exponentials (simd_tpf) instead of issuing them at its start. */
static inline int CSM_FN(simd_short_spread)(int64_t cols)
{
    return CSM_SHORT_SPREAD && cols * (int64_t)sizeof(CSM_T) > CSM_SHORT_SPREAD_BYTES;
}

/* Loads rows x, x + xs, .. (nr of them; the other lanes get zeros, as do
 * the rows whose bit is set in `skip`, which are not read) as columns
 * xv[0 .. cols rounded up to VN) and returns the lane maxima. */
static inline V CSM_FN(simd_short_load)(const CSM_T *x, int64_t xs, int nr, int64_t cols, V *xv,
                                        unsigned skip)
{
    V m = v_set1((CSM_T)-INFINITY);
    for (int64_t b = 0; b < cols; b += VN) {
        const int w = cols - b < VN ? (int)(cols - b) : VN;
        V t[VN];
        for (int i = 0; i < VN; i++)
            t[i] = i >= nr || (skip >> i & 1u) ? v_zero()
                   : w == VN ? v_load(x + i * xs + b)
                             : v_load_tail(x + i * xs + b, w, v_zero());
        v_transpose(t);
        for (int k = 0; k < VN; k++) xv[b + k] = t[k];
        for (int k = 0; k < w; k++) m = v_max(m, t[k]);
    }
    return m;
}

/* Prefetches the lines of the next tile's rows p, p + stride, .. (n of
 * them, at most VN) into L1: the tiles read VN rows side by side, a pattern
 * the hardware prefetchers miss (float32 rows of 48 columns out of cache
 * took 1.09x the time of the row kernels without it, 0.55x in cache). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_short_pf)(const CSM_T *p, int64_t stride, int64_t n, int64_t cols)
{
    const int64_t bytes = cols * (int64_t)sizeof(CSM_T);
    const int64_t nr = n < VN ? n : VN;
    if (stride == cols) {  /* one range: each line once */
        const uintptr_t a = (uintptr_t)p & ~(uintptr_t)63, e = (uintptr_t)(p + nr * stride);
        for (uintptr_t q = a; q < e; q += 64) _mm_prefetch((const char *)q, _MM_HINT_T0);
        return;
    }
    for (int64_t i = 0; i < nr; i++) {
        const uintptr_t row = (uintptr_t)(p + i * stride);
        for (uintptr_t q = row & ~(uintptr_t)63; q < row + bytes; q += 64)
            _mm_prefetch((const char *)q, _MM_HINT_T0);
    }
}

/* The output to prefetch beside the next tile's input: y, or NULL where
 * its rows are whole 64-byte lines (aligned rows of a multiple of 64 bytes)
 * and the output is below the streaming threshold (csm_stream_hint). There
 * the prefetch of the output lines cost more than it saved on this
 * project's Xeon (AVX-512, kernel_ab.py --isa avx512, without against with):
 * float32 32768x32 softmax 0.90-0.93x the time, log_softmax 0.94-0.95x,
 * cross-entropy 0.89-0.91x; 16384x48 0.88-0.96x; 16384x64 0.92-0.96x;
 * float64 16384x32 0.91-0.94x; float32 32768x48 (6 MiB) 0.97-1.03x. Rows
 * that end inside a line (17, 79 columns: 1.01-1.19x) and outputs that
 * leave the cache (float32 262144x32: 1.05-1.12x) keep it. With the
 * prefetches spread over the tile (CSM_SHORT_SPREAD), rows of more than 128
 * bytes keep it too (with it against without: float32 16384x64 softmax
 * 0.88-0.91x, 16384x48 0.94-1.0x, float64 32768x32 0.86-0.90x; float32
 * 32768x32 1.06-1.10x, hence the limit). */
static inline const CSM_T *CSM_FN(simd_short_out_pf)(const CSM_T *y, int64_t ys, int64_t cols)
{
    const int64_t line = 64 / (int64_t)sizeof(CSM_T);
    if (!csm_stream_hint && ys % line == 0 && cols % line == 0 && ((uintptr_t)y & 63) == 0 &&
        !(CSM_FN(simd_short_spread)(cols) && cols * (int64_t)sizeof(CSM_T) > 128))
        return NULL;
    return y;
}

/* The next tile's lines of contiguous rows (slots: the logits, the
 * probability targets, the output where simd_short_out_pf keeps it),
 * prefetched a few at a time inside the tile's pass of exponentials
 * (simd_short_exp_sum) instead of all at the tile's start, where the burst
 * of 32 to 80 prefetches held back the loads behind it. AVX-512 only
 * (CSM_SHORT_SPREAD; kernel_ab, spread against burst, out of cache: float32
 * softmax 32768x32 0.86-0.89x the time, log_softmax 0.91-0.95x, cross-entropy
 * 0.92-0.97x, probability targets 0.86-0.91x, 16384x79 0.80-0.87x, 131072x32
 * 0.78-0.89x; in cache, 2048x32, 0.96-1.035x). With AVX2 it took 1.05-1.16x
 * the time in cache and out (float32 32768x32, 2048x32), as if the
 * prefetches' loop cost more than they saved; there only the float32 tiles
 * of more than 256 bytes a row (simd_short_wide_ok) spread them
 * (CSM_SHORT_SPREAD_BYTES: simd_avx2.h). */
typedef struct {
    const char *p[3];
    int64_t step[3]; /* lines per group of four columns, 0: none */
} CSM_FN(simd_tpf);

/* Sets slot i of `pf` to the VN rows from `next` (`left` of them, at most VN
 * taken) when they are contiguous, `step` lines (rounded up) prefetched per
 * group of four of the `cols` columns; prefetches rows with any other
 * stride, or all rows without CSM_SHORT_SPREAD, at once (simd_short_pf). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_tpf_set)(CSM_FN(simd_tpf) *pf, int i, const CSM_T *next, int64_t stride, int64_t left,
                     int64_t cols)
{
    pf->step[i] = 0;
    if (left <= 0) return;
    if (!CSM_FN(simd_short_spread)(cols) || stride != cols) {
        CSM_FN(simd_short_pf)(next, stride, left, cols);
        return;
    }
    const int64_t nr = left < VN ? left : VN, groups = cols / 4;
    const uintptr_t a = (uintptr_t)next & ~(uintptr_t)63;
    const uintptr_t e = (uintptr_t)(next + nr * cols);
    const int64_t lines = (int64_t)((e - a + 63) / 64);
    pf->p[i] = (const char *)a;
    pf->step[i] = (lines + groups - 1) / groups;
}

/* The prefetches of `pf` due at group g (lines past the tile's end in the
 * last groups are the next tile's or, at the array's end, harmless). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_tpf_step)(const CSM_FN(simd_tpf) *pf, int64_t g)
{
    for (int i = 0; i < 3; i++)
        for (int64_t k = 0; k < pf->step[i]; k++)
            _mm_prefetch(pf->p[i] + (g * pf->step[i] + k) * 64, _MM_HINT_T0);
}

/* The rows of the tile at row r (returned); the next tile's rows of x and
 * of y (or NULL) prefetched at once, or with `pf` set there by
 * simd_tpf_set (spread over the tile where it can, else at once). */
static inline __attribute__((always_inline)) int
CSM_FN(simd_short_rows)(const CSM_T *x, int64_t xs, const CSM_T *y, int64_t ys, int64_t r,
                        int64_t rows, int64_t cols, CSM_FN(simd_tpf) *pf)
{
    if (pf != NULL) {
        CSM_FN(simd_tpf_set)(pf, 0, x + (r + VN) * xs, xs, rows - r - VN, cols);
        pf->step[1] = pf->step[2] = 0;
        if (y != NULL) CSM_FN(simd_tpf_set)(pf, 2, y + (r + VN) * ys, ys, rows - r - VN, cols);
    } else if (r + VN < rows) {
        CSM_FN(simd_short_pf)(x + (r + VN) * xs, xs, rows - r - VN, cols);
        if (y != NULL) CSM_FN(simd_short_pf)(y + (r + VN) * ys, ys, rows - r - VN, cols);
    }
    return rows - r < VN ? (int)(rows - r) : VN;
}

/* Stores columns f(v[0 .. cols rounded up to VN)) as rows y, y + ys, ..
 * (nr), f applied block by block just before the transposition instead of
 * in a pass of its own over the stored columns: with op
 * CSM_SHORT_DIV the corrected quotient by a (a's reciprocal b, simd_div),
 * CSM_SHORT_MUL the product with a, CSM_SHORT_LOG ((v - a) - b) - c. */
#ifndef CSM_SHORT_DIV
#define CSM_SHORT_DIV 0
#define CSM_SHORT_MUL 1
#define CSM_SHORT_LOG 2
#endif
static inline __attribute__((always_inline)) void
CSM_FN(simd_short_store)(CSM_T *y, int64_t ys, int nr, int64_t cols, const V *v, const int op,
                         V a, V b, V c)
{
    for (int64_t bk = 0; bk < cols; bk += VN) {
        const int w = cols - bk < VN ? (int)(cols - bk) : VN;
        V t[VN];
        for (int k = 0; k < VN; k++) {
            V u = v[bk + k];
            t[k] = op == CSM_SHORT_DIV   ? CSM_FN(simd_div)(u, a, b)
                   : op == CSM_SHORT_MUL ? v_mul(u, a)
                                         : v_sub(v_sub(v_sub(u, a), b), c);
        }
        v_transpose(t);
        for (int i = 0; i < nr; i++) {
            CSM_T *p = y + i * ys + bk;
            if (w == VN) v_store(p, t[i]);
            else v_store_tail(p, w, t[i]);
        }
    }
}

/* sum_c exp(xv[c] - m) per lane as (hi - 4) + lo, the exponentials left in
 * ev; with `each`, every term through its own Fast2Sum (simd_lane_add4s, for
 * the sums minus one), else four at a time (simd_lane_add4). The
 * exponentials first, then the sums: taken together, the accumulators beside
 * the exponential's constants spilled on AVX2 (this and the fused store:
 * kernel_ab float32 32768x32 softmax 0.78-0.88, log_softmax 0.92-0.97,
 * 61680x17 softmax 0.91, log_softmax 0.89, xent 0.94; float64 0.87-0.98). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_short_exp_sum)(const V *xv, V m, int64_t cols, V *ev, V *hi, V *lo, const int each,
                           const int exact_diff, const CSM_FN(simd_tpf) *pf)
{
    V h = v_set1((CSM_T)4), l = v_zero();
    int64_t c = 0;
    const int spread = CSM_FN(simd_short_spread)(cols) && pf != NULL;
#define CSM_E(k) (exact_diff ? CSM_FN(simd_exp_shifted)(xv[k], m) : v_exp_nonpos(v_sub(xv[k], m)))
    int64_t k = 0;
    for (; k + 4 <= cols; k += 4) {  /* four columns' exponentials in lock step */
        CSM_FN(simd_exp_shifted4)(ev + k, xv + k, m, exact_diff, 0);
        if (spread) CSM_FN(simd_tpf_step)(pf, k / 4);
    }
    for (; k < cols; k++) ev[k] = CSM_E(k);
    /* with `each` on rows of 32 columns and more, two chains (columns c,
     * c + 1 and c + 2, c + 3), each biased to 4, every term through its own
     * Fast2Sum, the errors into l: half the one chain's latency (kernel_ab
     * float32 against one chain, three runs: cross-entropy 8192x128
     * 0.93-0.98, 16384x64 0.95-1.00, 32768x32 0.98-0.99, log_softmax
     * 16384x64 0.95-1.00; float64 0.96-1.02; rows of 17 columns, where
     * joining the chains cost more than the shorter chain saved, 0.98-1.05
     * keep the one chain) */
    const int two = each && cols >= 32;
    V h1 = h;
    for (; two && c + 4 <= cols; c += 4) {
        V e0 = CSM_FN(simd_f2s)(&h, ev[c]), e1 = CSM_FN(simd_f2s)(&h1, ev[c + 2]);
        V f0 = CSM_FN(simd_f2s)(&h, ev[c + 1]), f1 = CSM_FN(simd_f2s)(&h1, ev[c + 3]);
        l = v_add(l, v_add(v_add(e0, e1), v_add(f0, f1)));
    }
    for (; c + 4 <= cols; c += 4) {
        if (each) CSM_FN(simd_lane_add4s)(&h, &l, ev[c], ev[c + 1], ev[c + 2], ev[c + 3]);
        else CSM_FN(simd_lane_add4)(&h, &l, ev[c], ev[c + 1], ev[c + 2], ev[c + 3]);
    }
    for (; c < cols; c++) CSM_FN(simd_lane_add)(&h, &l, ev[c]);
#undef CSM_E
    for (; c % VN != 0; c++) ev[c] = v_zero(); /* the last block's unused columns */
    if (two) {
        CSM_FN(simd_lanes_join2_biased)(h, l, h1, v_zero(), (CSM_T)4, hi, lo);
        return;
    }
    *hi = v_sub(h, v_set1((CSM_T)4)); /* exact */
    *lo = l;
}

/* t = sum - 1 per lane as th + *tl exactly (the sum's hi - 1 exact, hi >= 1
 * where the maximum is finite; Fast2Sum with lo). */
static inline V CSM_FN(simd_short_minus_one)(V hi, V lo, V *tl)
{
    V a = v_sub(hi, v_set1((CSM_T)1));
    V t = v_add(a, lo);
    *tl = v_sub(lo, v_sub(t, a));
    return t;
}

/* softmax of short rows, software-pipelined: each tile's loads, exponentials
 * and sums come before the previous tile's divisions and stores (its columns
 * kept in the other half of xv), so that one tile's chain of additions and
 * its division overlap the next tile's loads and exponentials instead of
 * holding them back (kernel_ab float32 32768x32 0.90-0.95x the time, float64
 * 0.93-1.00x; 61680x17 0.88x / 0.91-0.94x). */
static __attribute__((noinline)) void
CSM_FN(simd_softmax_short)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys, int64_t rows,
                           int64_t cols)
{
    V xv[2][CSM_SHORT_MAX + VN];
    V ps = v_zero(), pr = v_zero();
    int pn = 0;
    const CSM_T *ypf = CSM_FN(simd_short_out_pf)(y, ys, cols);
    for (int64_t r = 0; r < rows; r += VN) {
        const int cur = (int)((r / VN) & 1);
        CSM_FN(simd_tpf) pf;
        const int nr = CSM_FN(simd_short_rows)(x, xs, ypf, ys, r, rows, cols, &pf);
        V m = CSM_FN(simd_short_load)(x + r * xs, xs, nr, cols, xv[cur], 0);
        V hi, lo;
        CSM_FN(simd_short_exp_sum)(xv[cur], m, cols, xv[cur], &hi, &lo, 0, 1, &pf);
        if (pn)
            CSM_FN(simd_short_store)(y + (r - VN) * ys, ys, pn, cols, xv[cur ^ 1], CSM_SHORT_DIV,
                                     ps, pr, ps);
        ps = CSM_FN(simd_nan_if_inf)(m, v_add(hi, lo));
        pr = v_div(v_set1((CSM_T)1), ps);
        pn = nr;
    }
    if (pn) {
        const int64_t r = (rows - 1) / VN * VN;
        CSM_FN(simd_short_store)(y + r * ys, ys, pn, cols, xv[(r / VN) & 1], CSM_SHORT_DIV, ps, pr,
                                 ps);
    }
}

/* log_softmax's output of a tile (nr rows at y) from its columns xv, maximum
 * m and sums hi + lo: (x - m) - log1p(t), log1p(t + tl) as hi + lo
 * (simd_log1p2). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_log_softmax_short_out)(CSM_T *y, int64_t ys, int nr, int64_t cols, const V *xv, V m,
                                   V hi, V lo)
{
    V tl, llo;
    V t = CSM_FN(simd_short_minus_one)(hi, lo, &tl);
    V lhi = CSM_FN(simd_nan_if_inf)(m, CSM_FN(simd_log1p2)(t, tl, &llo));
    CSM_FN(simd_short_store)(y, ys, nr, cols, xv, CSM_SHORT_LOG, m, lhi, llo);
}

/* log_softmax, pipelined as simd_softmax_short. */
static __attribute__((noinline)) void
CSM_FN(simd_log_softmax_short)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys, int64_t rows,
                               int64_t cols)
{
    V xv[2][CSM_SHORT_MAX + VN], ev[CSM_SHORT_MAX + VN];
    V pm = v_zero(), phi = v_zero(), plo = v_zero();
    int pn = 0;
    const CSM_T *ypf = CSM_FN(simd_short_out_pf)(y, ys, cols);
    for (int64_t r = 0; r < rows; r += VN) {
        const int cur = (int)((r / VN) & 1);
        CSM_FN(simd_tpf) pf;
        const int nr = CSM_FN(simd_short_rows)(x, xs, ypf, ys, r, rows, cols, &pf);
        V m = CSM_FN(simd_short_load)(x + r * xs, xs, nr, cols, xv[cur], 0);
        V hi, lo;
        CSM_FN(simd_short_exp_sum)(xv[cur], m, cols, ev, &hi, &lo, 1, 0, &pf);
        if (pn)
            CSM_FN(simd_log_softmax_short_out)(y + (r - VN) * ys, ys, pn, cols, xv[cur ^ 1], pm,
                                               phi, plo);
        pm = m, phi = hi, plo = lo, pn = nr;
    }
    if (pn) {
        const int64_t r = (rows - 1) / VN * VN;
        CSM_FN(simd_log_softmax_short_out)(y + r * ys, ys, pn, cols, xv[(r / VN) & 1], pm, phi,
                                           plo);
    }
}

/* One tile of simd_xent_short_body between its two halves: the sums' pass
 * done (phase A), the loss and gradient (phase B) to come. */
typedef struct {
    V m, hi, lo, xk, wk;
    int64_t r;
    unsigned skip;
    int nr;
} CSM_FN(simd_xent_tile);

static inline __attribute__((always_inline)) void
CSM_FN(simd_xent_short_b)(const CSM_FN(simd_xent_tile) *tl_, const int64_t *target, CSM_T *loss,
                          CSM_T *grad, int64_t gs, int64_t cols, const V *ev, V vscale, V vt,
                          const int opts, const int scaled)
{
    const V one = v_set1((CSM_T)1), zero = v_zero();
    const V m = tl_->m, xk = tl_->xk;
    const int64_t r = tl_->r;
    const int nr = tl_->nr;
    V tl, llo, dlo = zero; /* dlo: x_k - m's rounding error, none when scaled */
    V t = CSM_FN(simd_short_minus_one)(tl_->hi, tl_->lo, &tl);
    V zk = scaled ? v_mul(v_sub(xk, m), vt) : v_sub(xk, m);
    if (grad != NULL) {
        /* the gradient first: its stores wait on t alone, not on the log;
         * ignored lanes' scale 0 (not w_k scale = 0 inf, NaN, when a mean
         * over no counted row makes the scale inf) */
        const V ws = opts ? v_blend(v_mask_bits(tl_->skip), v_mul(vscale, tl_->wk), zero) : vscale;
        V sv = CSM_FN(simd_nan_if_inf)(m, v_add(one, t));
        V factor = v_div(ws, sv);
        V ek = v_exp_nonpos(zk);
        V diff = v_blend(v_eq(xk, m), v_sub(ek, sv), v_sub(zero, t));
        V gk = v_mul(ws, v_div(diff, sv));
        CSM_FN(simd_short_store)(grad + r * gs, gs, nr, cols, ev, CSM_SHORT_MUL, factor, factor,
                                 factor);
        CSM_T gk_l[VN];
        v_store(gk_l, gk);
        for (int i = 0; i < nr; i++)
            if (!(tl_->skip >> i & 1u)) grad[(r + i) * gs + target[r + i]] = gk_l[i];
    }
    V lhi = CSM_FN(simd_log1p2)(t, tl, &llo);
    V d = scaled ? zk : CSM_FN(simd_diff)(xk, m, &dlo);
    /* a + b: a = lhi - d, its rounding error kept (TwoSum) in b (none
     * where a is infinite: x_k = -inf) */
    V a = v_sub(lhi, d), bb = v_sub(a, lhi);
    V b = v_add(v_sub(v_sub(lhi, v_sub(a, bb)), v_add(d, bb)), v_sub(llo, dlo));
    b = v_blend(v_isinf(a), b, zero);
    V lv = v_add(a, b);
    if (opts) {  /* w_k (a + b) rounded once (with w_k = 1: a + b) */
        const V wk = tl_->wk;
        lv = v_fmadd(wk, a, v_mul(wk, b));
        lv = v_blend(v_eq(wk, zero), lv, v_blend(v_isnan(t), zero, t));
    }
    /* a NaN in the row makes t NaN, but lhi (from t's bits) finite: with
     * x_k = -inf, a = +inf and b (holding llo's NaN) blended out above */
    lv = v_blend(v_isnan(t), lv, t);
    lv = CSM_FN(simd_nan_if_inf)(m, lv);
    if (nr == VN) v_store(loss + r, lv);
    else v_store_tail(loss + r, nr, lv);
}

/* Class-target cross-entropy without smoothing or temperature
 * (simd_xent_row's semantics, as simd_xent_class_rows calls it): loss
 * w_k (log1p(t) - (x_k - m)) with x_k - m exact (simd_diff), log1p as
 * hi + lo and the product rounded once (an FMA: with w_k = 1 the plain
 * sum); the gradient e_j (scale w_k / s) and scale w_k (e_k - s) / s at the
 * target (-t / s where x_k is the maximum), as the tiny tiles round them.
 * With `opts`, w (NULL: 1) gives w_k, and rows of target ignore_index are
 * not read: zero loss and gradient (their lanes hold zeros, w_k = 0). A
 * zero w_k gives a zero loss unless the row holds a NaN. With `scaled`, a
 * temperature: z = (x - m) inv_t, rounded as simd_xent_row rounds it (the
 * terms and z_k alike; grad_scale includes inv_t).
 * Software-pipelined: each tile's sums (phase A) come before the previous
 * tile's loss and gradient (phase B, simd_xent_short_b), so that the sums'
 * chain of additions, the division and the logarithm of one tile overlap
 * the next tile's loads and exponentials instead of holding them back. */
static inline __attribute__((always_inline)) void
CSM_FN(simd_xent_short_body)(const CSM_T *x, int64_t xs, const int64_t *target, const CSM_T *w,
                             int64_t ignore_index, CSM_T *loss, CSM_T *grad, int64_t gs,
                             int64_t rows, int64_t cols, double grad_scale, CSM_T inv_t,
                             const int opts, const int scaled)
{
    V xv[CSM_SHORT_MAX + VN], ev[2][CSM_SHORT_MAX + VN];
    const V zero = v_zero(), vscale = v_set1((CSM_T)grad_scale);
    const V vt = v_set1(inv_t);
    CSM_FN(simd_xent_tile) tile[2];
    int cur = 0, have = 0;
    const int pipelined = sizeof(CSM_T) == 4;
    const CSM_T *gpf = CSM_FN(simd_short_out_pf)(grad, gs, cols);
    for (int64_t r = 0; r < rows; r += VN, cur ^= 1) {
        CSM_FN(simd_xent_tile) *p = &tile[cur];
        CSM_FN(simd_tpf) pf;
        const int nr = CSM_FN(simd_short_rows)(x, xs, gpf, gs, r, rows, cols, &pf);
        /* the targets' logits read in place and their exponentials taken
         * again, lane by lane as in the sum's pass; the target's gradient
         * written over the stored row (picked out by compares and blends on
         * every column, the tiles took 1.08-1.10x the time: kernel_ab float32
         * 32768x32 0.909, 61680x17 0.930, 16384x64 0.926) */
        CSM_T xk_l[VN], wk_l[VN];
        unsigned skip = 0;
        for (int i = 0; i < VN; i++) {
            const int64_t k = i < nr ? target[r + i] : 0;
            const int ignored = opts && i < nr && k == ignore_index;
            skip |= (unsigned)ignored << i;
            xk_l[i] = i < nr && !ignored ? x[(r + i) * xs + k] : (CSM_T)0;
            if (opts) wk_l[i] = ignored ? (CSM_T)0 : w != NULL && i < nr ? w[k] : (CSM_T)1;
        }
        p->m = CSM_FN(simd_short_load)(x + r * xs, xs, nr, cols, xv, skip);
        p->r = r;
        p->nr = nr;
        p->skip = skip;
        p->xk = v_load(xk_l);
        p->wk = opts ? v_load(wk_l) : v_set1((CSM_T)1); /* (read only with opts) */
        if (scaled) {  /* the terms' arguments z, then their exponentials exp(z - 0) */
            for (int64_t c = 0; c < cols; c++) xv[c] = v_mul(v_sub(xv[c], p->m), vt);
            CSM_FN(simd_short_exp_sum)(xv, zero, cols, ev[cur], &p->hi, &p->lo, 1, 0, &pf);
        } else {
            CSM_FN(simd_short_exp_sum)(xv, p->m, cols, ev[cur], &p->hi, &p->lo, 1, 0, &pf);
        }
        if (!pipelined)
            CSM_FN(simd_xent_short_b)(p, target, loss, grad, gs, cols, ev[cur], vscale, vt, opts,
                                      scaled);
        else if (have)
            CSM_FN(simd_xent_short_b)(&tile[cur ^ 1], target, loss, grad, gs, cols, ev[cur ^ 1],
                                      vscale, vt, opts, scaled);
        have = 1;
    }
    if (pipelined && have)
        CSM_FN(simd_xent_short_b)(&tile[cur ^ 1], target, loss, grad, gs, cols, ev[cur ^ 1], vscale,
                                  vt, opts, scaled);
}

static __attribute__((noinline)) void
CSM_FN(simd_xent_short)(const CSM_T *x, int64_t xs, const int64_t *target, CSM_T *loss,
                        CSM_T *grad, int64_t gs, int64_t rows, int64_t cols, double grad_scale)
{
    CSM_FN(simd_xent_short_body)(x, xs, target, NULL, 0, loss, grad, gs, rows, cols, grad_scale,
                                 (CSM_T)1, 0, 0);
}

/* simd_xent_short with class weights (or NULL), ignore_index and 1 / T. */
static __attribute__((noinline)) void
CSM_FN(simd_xent_short_opts)(const CSM_T *x, int64_t xs, const int64_t *target, const CSM_T *w,
                             int64_t ignore_index, CSM_T *loss, CSM_T *grad, int64_t gs,
                             int64_t rows, int64_t cols, double grad_scale, CSM_T inv_t)
{
    if (inv_t == (CSM_T)1)
        CSM_FN(simd_xent_short_body)(x, xs, target, w, ignore_index, loss, grad, gs, rows, cols,
                                     grad_scale, inv_t, 1, 0);
    else
        CSM_FN(simd_xent_short_body)(x, xs, target, w, ignore_index, loss, grad, gs, rows, cols,
                                     grad_scale, inv_t, 1, 1);
}

/* logsumexp as the tiny tiles take it (simd_tiny_sum_minus_one2: x - m
 * exact, each exponential as hi + lo; m + log1p(t + tl) rounded once); an
 * infinite maximum gives itself unless a NaN makes t NaN. */
static __attribute__((noinline)) void
CSM_FN(simd_logsumexp_short)(const CSM_T *x, int64_t xs, CSM_T *out, int64_t rows, int64_t cols)
{
    V xv[CSM_SHORT_MAX + VN];
    for (int64_t r = 0; r < rows; r += VN) {
        const int nr = CSM_FN(simd_short_rows)(x, xs, NULL, 0, r, rows, cols, NULL);
        V m = CSM_FN(simd_short_load)(x + r * xs, xs, nr, cols, xv, 0);
        V tl;
        V t = CSM_FN(simd_tiny_sum_minus_one2)(xv, m, cols, &tl);
        V lse = CSM_FN(simd_add_log1p)(m, t, tl);
        lse = v_blend(v_isinf(m), lse, v_blend(v_isnan(t), m, t));
        if (nr == VN) v_store(out + r, lse);
        else v_store_tail(out + r, nr, lse);
    }
}

static void CSM_FN(simd_softmax_rows)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys,
                                      int64_t rows, int64_t cols)
{
    if (CSM_FN(simd_tiny_ok)(cols, xs, ys)) {
        VI ix = vi_lanes_times(xs), iy = vi_lanes_times(ys);
        V xv[2][CSM_TINY_MAX + VG], ev[2][CSM_TINY_MAX + VG], m[2];
        CSM_FN(simd_plan) plan;
        CSM_FN(simd_plan_build)(&plan, cols, CSM_FN(simd_use_permutes)(rows, cols, xs, ys));
        int64_t r = 0;
        for (; r + 2 * VN <= rows; r += 2 * VN) {
            for (int u = 0; u < 2; u++)
                m[u] = CSM_FN(simd_tiny_load)(&plan, x + (r + u * VN) * xs, ix, VN,
                                              (rows - r - u * VN) * cols, xv[u]);
            CSM_FN(simd_tiny_softmax_tiles)(xv, ev, m, cols, 2);
            for (int u = 0; u < 2; u++)
                CSM_FN(simd_tiny_store)(&plan, y + (r + u * VN) * ys, iy, VN, ev[u]);
        }
        for (; r < rows; r += VN) {
            int nr = rows - r < VN ? (int)(rows - r) : VN;
            m[0] = CSM_FN(simd_tiny_load)(&plan, x + r * xs, ix, nr, (rows - r) * cols, xv[0]);
            CSM_FN(simd_tiny_softmax_tiles)(xv, ev, m, cols, 1);
            CSM_FN(simd_tiny_store)(&plan, y + r * ys, iy, nr, ev[0]);
        }
        return;
    }
    if (CSM_FN(simd_short_wide_ok)(cols)) {
        CSM_FN(simd_softmax_short)(x, xs, y, ys, rows, cols);
        return;
    }
    /* the exponentials in scratch rows for large outputs (simd_scratch_rows):
     * two, the pending row's and the current one's */
    CSM_T *scratch = CSM_FN(simd_scratch_rows)(cols, 2);
    const int64_t ss = CSM_FN(simd_scratch_stride)(cols);
    const int l1 = cols * (int64_t)sizeof(CSM_T) <= CSM_PF_L1_BYTES;
    /* Rows longer than the next-row prefetch brings into L1 are pipelined
     * (simd_side): row r's exponentials with row r - 1's division and row r +
     * 1's maximum beside them, the prefetch bringing row r + 2 (0.84-0.85x
     * the time on 256 x 32000 and 2048 x 1500 float64, 0.84 float32 256 x
     * 32000; kernel_ab). Shorter rows, whose next input and output lines
     * are prefetched into L1, were slower so (float64 4096 x 600 and
     * 4096 x 1000 1.08x, float32 4096 x 500 and 600 1.02-1.04x; 4096 x 1000
     * 0.95x): each row's division (and the next row's maximum) follows its
     * exponentials. The rows are read before any is written (in place, y's
     * row r is x's row r). Streamed from a scratch row only. */
    const int pipe = CSM_FN(simd_pipe)(cols);
    CSM_FN(simd_side) sd = CSM_FN(simd_side_new)(y, scratch != NULL);
    CSM_T m = CSM_FN(simd_row_max)(x, cols);
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *yr = y + r * ys;
        const int last = r + 1 == rows;
        const CSM_T *xn = last ? NULL : xr + xs;
        if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
            CSM_FN(simd_side_flush)(&sd, cols, SIMD_SIDE_DIV);
            CSM_FN(simd_fill)(yr, cols, (CSM_T)NAN);
            if (!last) m = CSM_FN(simd_row_max)(xn, cols);
            continue;
        }
        CSM_T *er = scratch != NULL ? scratch + (r & 1) * ss : yr;
        const CSM_T *pfx = pipe ? (r + 2 < rows ? xr + 2 * xs : NULL) : xn;
        CSM_FN(simd_pf) pf = {(const char *)pfx,
                              l1 && !last ? (const char *)(yr + ys) : NULL, l1};
        CSM_FN(simd_side_start)(&sd, pipe ? xn : NULL, cols, SIMD_SIDE_DIV);
        const CSM_T s = (CSM_T)(pipe ? CSM_FN(simd_row_exp_store_side)(xr, er, cols, m, pf, &sd)
                                     : CSM_FN(simd_row_exp_store)(xr, er, cols, m, pf));
        CSM_T mn = CSM_FN(simd_side_finish)(&sd, cols, SIMD_SIDE_DIV);
        sd.src = er;
        sd.y = yr;
        sd.c0 = v_set1(s);
        sd.c1 = v_set1((CSM_T)1 / s);
        if (!pipe) {
            CSM_FN(simd_side_start)(&sd, xn, cols, SIMD_SIDE_DIV);
            mn = CSM_FN(simd_side_finish)(&sd, cols, SIMD_SIDE_DIV);
        }
        m = mn;
    }
    CSM_FN(simd_side_flush)(&sd, cols, SIMD_SIDE_DIV);
    CSM_FN(simd_scratch_done)(scratch);
}

/* log_softmax of U (1 or 2) tiles of tiny rows in place in xv, stage by
 * stage as simd_tiny_softmax_tiles: the sums, log1p, the outputs. */
static inline __attribute__((always_inline)) void
CSM_FN(simd_tiny_log_softmax_tiles)(V xv[][CSM_TINY_MAX + VG], const V *m, int64_t cols,
                                    const int U)
{
    V t[2], lse[2];
    CSM_FN(simd_tiny_sums_minus_one)(xv, m, cols, NULL, v_zero(), 0, t, U);
    for (int u = 0; u < U; u++)
        lse[u] = CSM_FN(simd_nan_if_inf)(m[u], CSM_FN(simd_log1p)(t[u]));
    for (int64_t c = 0; c < cols; c++)
        for (int u = 0; u < U; u++) xv[u][c] = v_sub(v_sub(xv[u][c], m[u]), lse[u]);
}

/* log_softmax's rows of up to CSM_LSM_GROUP_BYTES beyond the short tiles,
 * pipelined through side (simd_side) as the longer rows are, but with each
 * row's output pass CSM_LSM_GROUP rows later: the log1p of a group of rows'
 * sums is computed at once (csm_log1p_nobranch, a loop that vectorises)
 * when the group's last sum is known, and the group's outputs are written
 * beside the next group's sums, one row each. A row's own log1p (about 45
 * scalar operations) was a fifth of the time of a float32 row of 128
 * columns (kernel_ab --isa avx512, 8192 x 128, left out: 0.78x; holding the
 * output back one row more, so that its latency was hidden, gained
 * nothing). The group's inputs stay in L1 until their outputs are written
 * (8 rows of 2 KiB). Same values as row by row (csm_log1p_nobranch is
 * csm_log1p). */
#ifndef CSM_LSM_GROUP_BYTES
#define CSM_LSM_GROUP_BYTES 2048
#endif
#define CSM_LSM_GROUP 8
static inline __attribute__((always_inline)) void
CSM_FN(simd_log_softmax_grouped)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys, int64_t rows,
                                 int64_t cols, CSM_FN(simd_side) *sd)
{
    /* two groups: [a] the rows being summed, [1 - a] the previous group,
     * whose outputs are written (src NULL: a row without output, whose
     * maximum is infinite and which was filled with NaN at once) */
    const CSM_T *src[2][CSM_LSM_GROUP] = {{NULL}};
    CSM_T *dst[2][CSM_LSM_GROUP] = {{NULL}};
    CSM_T mx[2][CSM_LSM_GROUP] = {{0}};
    double t[2][CSM_LSM_GROUP] = {{0}}, ls[2][CSM_LSM_GROUP] = {{0}};
    int a = 0, i = 0, have_prev = 0;
#define CSM_LSM_PEND(G, Q)                  \
    (sd->src = src[G][Q], sd->y = dst[G][Q], \
     sd->c0 = v_set1(mx[G][Q]), sd->c1 = v_set1((CSM_T)ls[G][Q]))
    CSM_T m = CSM_FN(simd_row_max)(x, cols);
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        const CSM_T *xn = r + 1 == rows ? NULL : xr + xs;
        if (have_prev && src[1 - a][i] != NULL) CSM_LSM_PEND(1 - a, i);
        CSM_FN(simd_side_start)(sd, xn, cols, SIMD_SIDE_SUB);
        src[a][i] = NULL;
        if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
            CSM_FN(simd_fill)(y + r * ys, cols, (CSM_T)NAN);
        } else {
            const CSM_FN(simd_pf) pf =
                CSM_FN(simd_pf_next)(r + 2 < rows ? xr + 2 * xs : NULL, NULL, r + 1, rows, cols);
            t[a][i] = CSM_FN(simd_row_sum_minus_one_side)(xr, NULL, cols, m, (CSM_T)1, 0, pf, sd,
                                                          SIMD_SIDE_SUB);
            src[a][i] = xr;
            dst[a][i] = y + r * ys;
            mx[a][i] = m;
        }
        m = CSM_FN(simd_side_finish)(sd, cols, SIMD_SIDE_SUB);
        if (++i == CSM_LSM_GROUP) {
            for (int q = 0; q < CSM_LSM_GROUP; q++) ls[a][q] = csm_log1p_nobranch(t[a][q]);
            a = 1 - a;
            i = 0;
            have_prev = 1;
        }
    }
    /* the previous group's outputs not yet written, then the last group's */
    for (int q = i; have_prev && q < CSM_LSM_GROUP; q++) {
        if (src[1 - a][q] == NULL) continue;
        CSM_LSM_PEND(1 - a, q);
        CSM_FN(simd_side_flush)(sd, cols, SIMD_SIDE_SUB);
    }
    for (int q = 0; q < CSM_LSM_GROUP; q++) ls[a][q] = csm_log1p_nobranch(t[a][q]);
    for (int q = 0; q < i; q++) {
        if (src[a][q] == NULL) continue;
        CSM_LSM_PEND(a, q);
        CSM_FN(simd_side_flush)(sd, cols, SIMD_SIDE_SUB);
    }
#undef CSM_LSM_PEND
}

static void CSM_FN(simd_log_softmax_rows)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys,
                                          int64_t rows, int64_t cols)
{
    if (CSM_FN(simd_tiny_ok)(cols, xs, ys)) {
        VI ix = vi_lanes_times(xs), iy = vi_lanes_times(ys);
        V xv[2][CSM_TINY_MAX + VG], m[2];
        CSM_FN(simd_plan) plan;
        CSM_FN(simd_plan_build)(&plan, cols, CSM_FN(simd_use_permutes)(rows, cols, xs, ys));
        int64_t r = 0;
        for (; r + 2 * VN <= rows; r += 2 * VN) {
            for (int u = 0; u < 2; u++)
                m[u] = CSM_FN(simd_tiny_load)(&plan, x + (r + u * VN) * xs, ix, VN,
                                              (rows - r - u * VN) * cols, xv[u]);
            CSM_FN(simd_tiny_log_softmax_tiles)(xv, m, cols, 2);
            for (int u = 0; u < 2; u++)
                CSM_FN(simd_tiny_store)(&plan, y + (r + u * VN) * ys, iy, VN, xv[u]);
        }
        for (; r < rows; r += VN) {
            int nr = rows - r < VN ? (int)(rows - r) : VN;
            m[0] = CSM_FN(simd_tiny_load)(&plan, x + r * xs, ix, nr, (rows - r) * cols, xv[0]);
            CSM_FN(simd_tiny_log_softmax_tiles)(xv, m, cols, 1);
            CSM_FN(simd_tiny_store)(&plan, y + r * ys, iy, nr, xv[0]);
        }
        return;
    }
    if (CSM_FN(simd_short_ok)(cols)) {
        CSM_FN(simd_log_softmax_short)(x, xs, y, ys, rows, cols);
        return;
    }
    const int stream = csm_stream_hint;
    /* Rows pipelined (simd_side): row r's sum of exponentials runs with row
     * r - 1's output pass and row r + 1's maximum (the largest number, or a
     * NaN: the row's outputs are NaN either way) beside it; the prefetch
     * brings row r + 2. */
    CSM_FN(simd_side) sd = CSM_FN(simd_side_new)(y, stream);
    if (cols * (int64_t)sizeof(CSM_T) <= CSM_LSM_GROUP_BYTES) {
        CSM_FN(simd_log_softmax_grouped)(x, xs, y, ys, rows, cols, &sd);
        CSM_FN(simd_stream_end)(stream);
        return;
    }
    CSM_T m = CSM_FN(simd_row_max)(x, cols);
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        const int last = r + 1 == rows;
        const CSM_T *xn = last ? NULL : xr + xs;
        if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
            CSM_FN(simd_side_flush)(&sd, cols, SIMD_SIDE_SUB);
            CSM_FN(simd_fill)(y + r * ys, cols, (CSM_T)NAN);
            if (!last) m = CSM_FN(simd_row_max)(xn, cols);
            continue;
        }
        CSM_FN(simd_side_start)(&sd, xn, cols, SIMD_SIDE_SUB);
        const CSM_FN(simd_pf) pf =
            CSM_FN(simd_pf_next)(r + 2 < rows ? xr + 2 * xs : NULL, NULL, r + 1, rows, cols);
        const double t =
            CSM_FN(simd_row_sum_minus_one_side)(xr, NULL, cols, m, (CSM_T)1, 0, pf, &sd,
                                                SIMD_SIDE_SUB);
        const CSM_T mn = CSM_FN(simd_side_finish)(&sd, cols, SIMD_SIDE_SUB);
        sd.src = xr;
        sd.y = y + r * ys;
        sd.c0 = v_set1(m);
        sd.c1 = v_set1((CSM_T)csm_log1p(t));
        m = mn;
    }
    CSM_FN(simd_side_flush)(&sd, cols, SIMD_SIDE_SUB);
    CSM_FN(simd_stream_end)(stream);
}

static void CSM_FN(simd_logsumexp_rows)(const CSM_T *x, int64_t xs, CSM_T *out,
                                        int64_t rows, int64_t cols)
{
    if (CSM_FN(simd_tiny_ok)(cols, xs, 1)) {
        VI ix = vi_lanes_times(xs);
        V xv[CSM_TINY_MAX + VG];
        CSM_FN(simd_plan) plan;
        CSM_FN(simd_plan_build)(&plan, cols, CSM_FN(simd_use_permutes)(rows, cols, xs, cols));
        for (int64_t r = 0; r < rows; r += VN) {
            int nr = rows - r < VN ? (int)(rows - r) : VN;
            V m = CSM_FN(simd_tiny_load)(&plan, x + r * xs, ix, nr, (rows - r) * cols, xv);
            V tl;
            V t = CSM_FN(simd_tiny_sum_minus_one2)(xv, m, cols, &tl);
            /* +-inf maximum: the result is m, unless a NaN makes t NaN */
            V lse = CSM_FN(simd_add_log1p)(m, t, tl);
            VM inf = v_isinf(m);
            V keep_m = v_blend(v_isnan(t), m, t);
            lse = v_blend(inf, lse, keep_m);
            if (nr == VN) v_store(out + r, lse);
            else v_store_tail(out + r, nr, lse);
        }
        return;
    }
    if (CSM_FN(simd_short_ok)(cols)) {
        CSM_FN(simd_logsumexp_short)(x, xs, out, rows, cols);
        return;
    }
    /* (each row's sum taking the next row's maximum beside it, simd_side,
     * was not kept: kernel_ab float32 256x32000 0.95-0.96x the time in one
     * build, 1.05-1.09x in the next; 4096x1000 1.07-1.11x). The rows' log1p
     * and last sums a group of CSM_LSM_GROUP rows at a time, in a loop that
     * vectorises, as log_softmax's (simd_log_softmax_grouped; the same
     * values as row by row). */
    double tg[CSM_LSM_GROUP] = {0};
    CSM_T mg[CSM_LSM_GROUP] = {0}, vals[CSM_LSM_GROUP];
    unsigned char fin[CSM_LSM_GROUP] = {0};
    int i = 0;
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T m = CSM_FN(simd_row_max)(xr, cols);
        fin[i] = !(m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY);
        if (!fin[i]) {
            int has_nan = 0;
            for (int64_t j = 0; j < cols; j++) has_nan |= (xr[j] != xr[j]);
            out[r] = has_nan ? (CSM_T)NAN : m;
        } else {
            CSM_FN(simd_pf) pf = CSM_FN(simd_pf_next)(xr + xs, NULL, r, rows, cols);
            tg[i] = CSM_FN(simd_row_sum_minus_one_side)(xr, NULL, cols, m, (CSM_T)1, 0, pf, NULL,
                                                        SIMD_SIDE_SUB);
            mg[i] = m;
        }
        if (++i < CSM_LSM_GROUP && r + 1 < rows) continue;
        for (int q = 0; q < CSM_LSM_GROUP; q++) {
            double lo, hi = csm_log1p2_nobranch(tg[q], &lo), mq = (double)mg[q];
            /* m + hi + lo with m + hi's rounding error kept (TwoSum): one rounding */
            double sum = mq + hi, bb = sum - mq;
            vals[q] = (CSM_T)(sum + ((mq - (sum - bb)) + (hi - bb) + lo));
        }
        for (int q = 0; q < i; q++)
            if (fin[q]) out[r + 1 - i + q] = vals[q];
        i = 0;
    }
}

/* The losses of wide class-target rows, w_k (log1p(t) - z_k), computed a
 * batch of rows at a time after their passes rather than each at the end of
 * its own: a row's scalar log1p (csm_log1p2, about 45 operations) took a
 * fifth of a short row's time (kernel_ab --isa avx512, the log1p left out:
 * float32 8192 x 128 0.80x the time, 4096 x 256 0.82x); queued, sixteen of
 * them take a few vector operations (csm_log1p_nobranch in a loop that
 * vectorises). Same function, same operands: the same bits. */
#define CSM_LOSSQ_LEN 16
typedef struct {
    CSM_T *at[CSM_LOSSQ_LEN];
    double t[CSM_LOSSQ_LEN], zk[CSM_LOSSQ_LEN], wk[CSM_LOSSQ_LEN], wz[CSM_LOSSQ_LEN];
    double share, w_sum; /* label smoothing's e / C and sum_j w_j (SIMD_LOSSQ_SMOOTH) */
    int n, kind;
} CSM_FN(simd_lossq);

/* The queue's kinds of rows: class targets without label smoothing
 * (simd_xent_row), with it (simdl_xent_smooth_row: share is e / C, w_sum the
 * classes' weights' sum), probability targets (simdl_xent_prob_row). */
#define SIMD_LOSSQ_CLASS 0
#define SIMD_LOSSQ_SMOOTH 1
#define SIMD_LOSSQ_PROB 2
static inline CSM_FN(simd_lossq) CSM_FN(simd_lossq_new)(int kind, double share, double w_sum)
{
    CSM_FN(simd_lossq) q = {.n = 0, .kind = kind, .share = share, .w_sum = w_sum};
    return q;
}

static inline void CSM_FN(simd_lossq_flush)(CSM_FN(simd_lossq) *q)
{
    double l[CSM_LOSSQ_LEN];
    /* the whole queue (entries past n hold earlier or zero t): a loop of
     * fixed length that vectorises */
    for (int i = 0; i < CSM_LOSSQ_LEN; i++) l[i] = csm_log1p_nobranch(q->t[i]);
    /* a zero w_k (with smoothing: (1 - e) w_k) drops its term, even where
     * z_k = -inf (0 log 0), unless the row holds a NaN (t NaN) */
    if (q->kind == SIMD_LOSSQ_CLASS) {
        for (int i = 0; i < q->n; i++) {
            const double t = q->t[i], wk = q->wk[i];
            *q->at[i] = (CSM_T)((wk == 0.0 && t == t) ? 0.0 : wk * (l[i] - q->zk[i]));
        }
    } else if (q->kind == SIMD_LOSSQ_PROB) {
        /* sum(a) log s - sum(a z): wk holds sum(a), zk sum(a z) */
        for (int i = 0; i < q->n; i++) {
            const double t = q->t[i], a = q->wk[i];
            *q->at[i] = (CSM_T)(((a == 0.0 && t == t) ? 0.0 : a * l[i]) - q->zk[i]);
        }
    } else {
        /* (1 - e) w_k (log s - z_k) + (e / C) (w_sum log s - sum_j w_j z_j),
         * the second term's products fused explicitly: the compiler's own
         * contraction of the expression differed between the AVX2 and
         * AVX-512 builds (float64 losses an ulp apart) */
        for (int i = 0; i < q->n; i++) {
            const double t = q->t[i], c = q->wk[i];
            double v = (c == 0.0 && t == t) ? 0.0 : c * (l[i] - q->zk[i]);
            *q->at[i] = (CSM_T)fma(q->share, fma(q->w_sum, l[i], -q->wz[i]), v);
        }
    }
    q->n = 0;
}

/* Queues a row's loss: t = s - 1, z_k, w_k (with smoothing (1 - e) w_k) and,
 * with smoothing, sum_j w_j z_j; for probability targets t, sum(a z) as zk,
 * sum(a) as wk. */
static inline void CSM_FN(simd_lossq_push)(CSM_FN(simd_lossq) *q, CSM_T *at, double t, double zk,
                                           double wk, double wz)
{
    q->at[q->n] = at;
    q->t[q->n] = t;
    q->zk[q->n] = zk;
    q->wk[q->n] = wk;
    q->wz[q->n] = wz;
    if (++q->n == CSM_LOSSQ_LEN) CSM_FN(simd_lossq_flush)(q);
}

/* One wide class-target row without label smoothing, for the plain
 * cross-entropy and for simd_losses_body.h's weight / temperature / ignore_index
 * kernel: the loss w_k (log s - z_k), z = (x - max) inv_t with inv_t = 1 / T
 * when `scaled`, and (gr not NULL) the gradient unit w_k (p - onehot_k) with
 * p = exp(z) / s, the exponentials stored in er (gr, or a scratch row:
 * simd_scratch_rows) by the sum's pass and scaled into gr. A zero w_k gives a
 * zero loss, even where z_k = -inf (0 log 0), unless the row holds a NaN; a
 * row of maximum +-inf gives NaN. The row's maximum m is given; returns the
 * maximum of the next row xn (same length) when xn is not NULL. With `pipe`
 * (simd_pipe) the rows are pipelined as log_softmax's (simd_side, kind
 * SIMD_SIDE_MUL): the row's sum runs with the pending row's gradient pass
 * and xn's maximum beside it, and its own gradient pass is left pending in
 * side (simd_side_flush after the last row); without, the gradient pass
 * follows the sum, xn's maximum beside it. The loss is queued in lq
 * (simd_lossq: written by its flush, which the caller makes after the last
 * row). */
static inline __attribute__((always_inline)) CSM_T
CSM_FN(simd_xent_row)(const CSM_T *xr, int64_t k, CSM_T *loss, CSM_FN(simd_lossq) *lq,
                      CSM_T *gr, int64_t n, CSM_T inv_t, const int scaled, double wk,
                      double unit, CSM_FN(simd_pf) pf, CSM_T m, const CSM_T *xn, CSM_T *er,
                      CSM_FN(simd_side) *side, const int pipe)
{
    if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
        CSM_FN(simd_side_flush)(side, n, SIMD_SIDE_MUL);
        *loss = (CSM_T)NAN;
        if (gr != NULL) CSM_FN(simd_fill)(gr, n, (CSM_T)NAN);
        return xn != NULL ? CSM_FN(simd_row_max)(xn, n) : (CSM_T)0;
    }
    CSM_T m_next = (CSM_T)0;
    if (pipe) CSM_FN(simd_side_start)(side, xn, n, SIMD_SIDE_MUL);
    double t = CSM_FN(simd_row_sum_minus_one_side)(xr, gr != NULL ? er : NULL, n, m, inv_t,
                                                   scaled, pf, pipe ? side : NULL, SIMD_SIDE_MUL);
    if (pipe) m_next = CSM_FN(simd_side_finish)(side, n, SIMD_SIDE_MUL);
    /* z_k as the terms have it: rounded like them when scaled, exact if not */
    double zk = scaled ? csm_rounded((double)((xr[k] - m) * inv_t))
                       : (double)xr[k] - (double)m;
    CSM_FN(simd_lossq_push)(lq, loss, t, zk, wk, 0.0);
    if (gr != NULL) {
        double s = 1.0 + t;
        /* p_k - 1 without cancellation where x_k is the maximum */
        double pk_minus_one = ((xr[k] == m) ? -t : (double)er[k] - s) / s;
        side->src = er;
        side->y = gr;
        side->c0 = v_set1((CSM_T)(unit * wk / s));
        side->fix = gr + k;
        side->fix_value = (CSM_T)(unit * (wk * pk_minus_one));
        if (!pipe) {
            CSM_FN(simd_side_start)(side, xn, n, SIMD_SIDE_MUL);
            m_next = CSM_FN(simd_side_finish)(side, n, SIMD_SIDE_MUL);
        }
    } else if (!pipe && xn != NULL) {
        m_next = CSM_FN(simd_row_max)(xn, n);
    }
    return m_next;
}

/* Cross-entropy of U (1 or 2) tiles of tiny rows (nr rows valid in the
 * last), stage by stage as simd_tiny_softmax_tiles, one row per lane: loss =
 * log1p(t) - (x_k - m) into loss[u VN ..]; with has_grad the gradient
 * columns into xv: e_j (scale / s) (two roundings, as the wide rows' e_j
 * times their factor; a corrected quotient e_j / s times scale took 1.04-1.09x
 * the time in float32, 1.00-1.07x in float64, kernel_ab 4096x10 / 16384x3 /
 * 4096x16), and scale * (e_k - s) / s at the target (-t / s exactly when x_k
 * is the maximum). With wv (has_w), per-lane class weights w_k: the loss
 * w_k (...) and the gradient scale w_k (...), as simd_xent_row (a zero w_k
 * gives a zero loss unless the row holds a NaN); lanes whose ig is 1
 * (ignored rows) get a zero loss and gradient. With
 * `scaled`, z = (x - m) vt (a temperature: vt = 1 / T; grad_scale includes
 * it), rounded as simd_xent_row rounds it. */
static inline __attribute__((always_inline)) void
CSM_FN(simd_tiny_xent_tiles)(V xv[][CSM_TINY_MAX + VG], V ev[][CSM_TINY_MAX + VG], const V *m,
                             const int64_t *target, CSM_T *loss, int nr, int64_t cols,
                             int has_grad, double grad_scale, const V *wv, const V *ig, V vt,
                             const int has_w, const int scaled, const int U)
{
    const V one = v_set1((CSM_T)1), zero = v_zero();
    V vscale[2], t[2], vk[2], xk[2], ek[2];
    for (int u = 0; u < U; u++)
        vscale[u] = has_w ? v_mul(v_set1((CSM_T)grad_scale), wv[u]) : v_set1((CSM_T)grad_scale);
    CSM_FN(simd_tiny_sums_minus_one)(xv, m, cols, ev, vt, scaled, t, U);
    for (int u = 0; u < U; u++) {
        vk[u] = v_load_targets(target + u * VN, u == U - 1 ? nr : VN);
        xk[u] = ek[u] = zero;
    }
    for (int64_t c = 0; c < cols; c++) {
        for (int u = 0; u < U; u++) {
            VM q = v_eq(vk[u], v_set1((CSM_T)c));
            xk[u] = v_blend(q, xk[u], xv[u][c]);
            ek[u] = v_blend(q, ek[u], ev[u][c]);
        }
    }
    for (int u = 0; u < U; u++) {
        V zk = scaled ? v_mul(v_sub(xk[u], m[u]), vt) : v_sub(xk[u], m[u]);
        V lv = CSM_FN(simd_nan_if_inf)(m[u], v_sub(CSM_FN(simd_log1p)(t[u]), zk));
        if (has_w) {
            /* w_k = 0: 0, or NaN where t is (a NaN in the row) or the
             * maximum infinite (NaN there whatever w_k); ignored: 0 */
            V bad = v_add(t[u], v_sub(m[u], m[u]));
            lv = v_blend(v_eq(wv[u], zero), v_mul(wv[u], lv), v_blend(v_isnan(bad), zero, bad));
            lv = v_blend(v_eq(ig[u], one), lv, zero);
        }
        if (u < U - 1 || nr == VN) v_store(loss + u * VN, lv);
        else v_store_tail(loss + u * VN, nr, lv);
    }
    if (!has_grad) return;
    V factor[2], gk[2];
    for (int u = 0; u < U; u++) {
        V sv = CSM_FN(simd_nan_if_inf)(m[u], v_add(one, t[u]));
        factor[u] = v_div(vscale[u], sv);
        V diff = v_blend(v_eq(xk[u], m[u]), v_sub(ek[u], sv), v_sub(zero, t[u]));
        gk[u] = v_mul(vscale[u], v_div(diff, sv));
    }
    for (int64_t c = 0; c < cols; c++) {
        for (int u = 0; u < U; u++) {
            V g = v_mul(ev[u][c], factor[u]);
            g = v_blend(v_eq(vk[u], v_set1((CSM_T)c)), g, gk[u]);
            xv[u][c] = has_w ? v_blend(v_eq(ig[u], one), g, zero) : g;
        }
    }
}

/* Cross-entropy of tiny rows (simd_tiny_ok), tiles of VN rows, two per step.
 * With has_w: class weights w (or NULL: 1) and ignore_index, per lane; with
 * scaled: the temperature 1 / inv_t (simd_tiny_xent_tiles). */
static inline __attribute__((always_inline)) void
CSM_FN(simd_xent_tiny_rows)(const CSM_T *x, int64_t xs, const int64_t *target, const CSM_T *w,
                            int64_t ignore_index, CSM_T *loss, CSM_T *grad, int64_t gs,
                            int64_t rows, int64_t cols, double grad_scale, CSM_T inv_t,
                            const int has_w, const int scaled)
{
    const V vt = v_set1(inv_t);
    const int64_t gstride = grad == NULL ? cols : gs;
    VI ix = vi_lanes_times(xs), ig = vi_lanes_times(gstride);
    V xv[2][CSM_TINY_MAX + VG], ev[2][CSM_TINY_MAX + VG], m[2], wv[2], iv[2];
    CSM_FN(simd_plan) plan;
    CSM_FN(simd_plan_build)(&plan, cols, CSM_FN(simd_use_permutes)(rows, cols, xs, gstride));
    /* the lanes' weights (0 where ignored) and ignore flags of the tile at row r0 */
#define CSM_LANES(u, r0, nr)                                                           \
    if (has_w) {                                                                       \
        CSM_T wl_[VN], il_[VN];                                                        \
        for (int i_ = 0; i_ < VN; i_++) {                                              \
            int64_t k_ = i_ < (nr) ? target[(r0) + i_] : ignore_index;                 \
            int ign_ = k_ == ignore_index;                                             \
            wl_[i_] = ign_ ? (CSM_T)0 : (w != NULL ? w[k_] : (CSM_T)1);                \
            il_[i_] = ign_ ? (CSM_T)1 : (CSM_T)0;                                      \
        }                                                                              \
        wv[u] = v_load(wl_);                                                           \
        iv[u] = v_load(il_);                                                           \
    }
    int64_t r = 0;
    for (; r + 2 * VN <= rows; r += 2 * VN) {
        for (int u = 0; u < 2; u++) {
            m[u] = CSM_FN(simd_tiny_load)(&plan, x + (r + u * VN) * xs, ix, VN,
                                          (rows - r - u * VN) * cols, xv[u]);
            CSM_LANES(u, r + u * VN, VN)
        }
        CSM_FN(simd_tiny_xent_tiles)(xv, ev, m, target + r, loss + r, VN, cols, grad != NULL,
                                     grad_scale, wv, iv, vt, has_w, scaled, 2);
        if (grad != NULL)
            for (int u = 0; u < 2; u++)
                CSM_FN(simd_tiny_store)(&plan, grad + (r + u * VN) * gs, ig, VN, xv[u]);
    }
    for (; r < rows; r += VN) {
        int nr = rows - r < VN ? (int)(rows - r) : VN;
        m[0] = CSM_FN(simd_tiny_load)(&plan, x + r * xs, ix, nr, (rows - r) * cols, xv[0]);
        CSM_LANES(0, r, nr)
        CSM_FN(simd_tiny_xent_tiles)(xv, ev, m, target + r, loss + r, nr, cols, grad != NULL,
                                     grad_scale, wv, iv, vt, has_w, scaled, 1);
        if (grad != NULL) CSM_FN(simd_tiny_store)(&plan, grad + r * gs, ig, nr, xv[0]);
    }
#undef CSM_LANES
}

static void CSM_FN(simd_cross_entropy_rows)(const CSM_T *x, int64_t xs, const int64_t *target,
                                            CSM_T *loss, CSM_T *grad, int64_t gs,
                                            int64_t rows, int64_t cols, double grad_scale)
{
    if (CSM_FN(simd_tiny_ok)(cols, xs, grad == NULL ? cols : gs)) {
        CSM_FN(simd_xent_tiny_rows)(x, xs, target, NULL, 0, loss, grad, gs, rows, cols, grad_scale,
                                    (CSM_T)1, 0, 0);
        return;
    }
    if (CSM_FN(simd_short_wide_ok)(cols)) {
        CSM_FN(simd_xent_short)(x, xs, target, loss, grad, gs, rows, cols, grad_scale);
        return;
    }
    /* the exponentials in scratch rows for large gradients
     * (simd_scratch_rows): two, the pending row's and the current one's */
    CSM_T *scratch = grad != NULL ? CSM_FN(simd_scratch_rows)(cols, 2) : NULL;
    const int64_t ss = CSM_FN(simd_scratch_stride)(cols);
    const int pipe = CSM_FN(simd_pipe)(cols);
    CSM_FN(simd_side) sd = CSM_FN(simd_side_new)(grad, scratch != NULL);
    CSM_FN(simd_lossq) lq = CSM_FN(simd_lossq_new)(SIMD_LOSSQ_CLASS, 0.0, 0.0);
    CSM_T m = CSM_FN(simd_row_max)(x, cols);
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *gr = grad == NULL ? NULL : grad + r * gs;
        CSM_T *er = scratch != NULL ? scratch + (r & 1) * ss : gr;
        CSM_FN(simd_pf) pf = CSM_FN(simd_pipe_pf)(xr, xs, gr, gs, r, rows, cols, pipe);
        m = CSM_FN(simd_xent_row)(xr, target[r], loss + r, &lq, gr, cols, (CSM_T)1, 0, 1.0,
                                  grad_scale, pf, m, r + 1 < rows ? xr + xs : NULL, er, &sd,
                                  pipe);
    }
    CSM_FN(simd_side_flush)(&sd, cols, SIMD_SIDE_MUL);
    CSM_FN(simd_lossq_flush)(&lq);
    CSM_FN(simd_scratch_done)(scratch);
}

static void CSM_FN(simd_exp_map)(const CSM_T *x, CSM_T *y, int64_t n)
{
    int64_t j = 0;
    for (; j + VN <= n; j += VN) v_store(y + j, v_exp(v_load(x + j)));
    if (j < n) v_store_tail(y + j, (int)(n - j), v_exp(v_load_tail(x + j, (int)(n - j), v_zero())));
}
