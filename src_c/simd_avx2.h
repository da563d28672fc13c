/*
 * AVX2 + FMA vector operations for simd_body.h, for float32 (CSM_F32 defined)
 * or float64. Included after `#pragma GCC target("avx2,fma")`.
 *
 * exp: as in simd_avx512.h. AVX2 has no vscalef: when every lane is in the
 * range where 2^n is a normal number (the usual case), 2^n is built in the
 * exponent field in one shift; otherwise (a rarely taken branch) it is
 * applied as two factors 2^(n/2) * 2^(n - n/2) so that subnormal results and
 * overflow to +inf come out of the multiplications.
 * Masks are all-ones / all-zeros lanes; tails use vmaskmov loads and stores.
 */
#include <immintrin.h>

#include "exp_impl.h" /* CSM_EXP64_C2 .. C11 */

#ifndef CSM_SIMD_AVX2_COMMON
#define CSM_SIMD_AVX2_COMMON
#define CSM_EXP_LOCKSTEP 4 /* the most vectors an exponential takes at once (v_exp_nonpos_n) */
static inline __m256i csm_tail_mask_epi32_avx2(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
}
static inline __m256i csm_tail_mask_epi64_avx2(int n)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_set_epi64x(3, 2, 1, 0));
}
#endif

#ifdef CSM_F32
#define CSM_T float
#define CSM_SFX f32
#define VN 8
typedef __m256 csm_v_f32_avx2;
#define V csm_v_f32_avx2
#define VM csm_v_f32_avx2
#define v_set1 _mm256_set1_ps
#define v_zero _mm256_setzero_ps
#define v_load _mm256_loadu_ps
#define v_store _mm256_storeu_ps
#define v_add _mm256_add_ps
#define v_sub _mm256_sub_ps
#define v_mul _mm256_mul_ps
#define v_div _mm256_div_ps
#define v_max _mm256_max_ps
#define v_min _mm256_min_ps
#define v_fmadd _mm256_fmadd_ps
#define v_fnmadd _mm256_fnmadd_ps
#define v_load_tail(p, n, fill) \
    _mm256_blendv_ps(fill, _mm256_maskload_ps(p, csm_tail_mask_epi32_avx2(n)), \
                     _mm256_castsi256_ps(csm_tail_mask_epi32_avx2(n)))
#define v_store_tail(p, n, v) _mm256_maskstore_ps(p, csm_tail_mask_epi32_avx2(n), v)
#define v_eq(a, b) _mm256_cmp_ps(a, b, _CMP_EQ_OQ)
#define v_isnan(a) _mm256_cmp_ps(a, a, _CMP_UNORD_Q)
#define v_gt(a, b) _mm256_cmp_ps(a, b, _CMP_GT_OQ)
#define v_isinf(a) _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a), _mm256_set1_ps(INFINITY), _CMP_EQ_OQ)
#define v_blend(mask, a, b) _mm256_blendv_ps(a, b, mask)
/* lanes whose bit of `bits` is set (lane i: bit i) */
#define v_mask_bits(bits)                                                                    \
    _mm256_castsi256_ps(_mm256_cmpeq_epi32(                                                  \
        _mm256_and_si256(_mm256_set1_epi32((int)(bits)), _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128)), \
        _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128)))
#define v_mask_add(a, mask, b) _mm256_add_ps(a, _mm256_and_ps(mask, b))
#define v_round(a) _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
static inline float csm_hmax_f32_avx2(__m256 a)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
#define v_hmax csm_hmax_f32_avx2
static inline double csm_hsum_f32_avx2(__m256 a)
{
    __m256d s = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)),
                              _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}
#define v_hsum csm_hsum_f32_avx2
typedef __m256i csm_vi_f32_avx2;
#define VI csm_vi_f32_avx2
#define vi_lanes_times(stride) _mm256_mullo_epi32(_mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0), _mm256_set1_epi32((int)(stride)))
#define vi_add_const(idx, c) _mm256_add_epi32(idx, _mm256_set1_epi32((int)(c)))
#define v_gather(base, idx) _mm256_i32gather_ps(base, idx, 4)
#define v_gather_tail(base, idx, n, fill) \
    _mm256_mask_i32gather_ps(fill, base, idx, _mm256_castsi256_ps(csm_tail_mask_epi32_avx2(n)), 4)
/* AVX2 has no scatter: lanes go out through a small buffer. */
static inline void csm_scatter_f32_avx2(float *base, __m256i idx, __m256 v, int n)
{
    float val[8];
    int32_t off[8];
    _mm256_storeu_ps(val, v);
    _mm256_storeu_si256((__m256i *)off, idx);
    for (int k = 0; k < n; k++) base[off[k]] = val[k];
}
#define v_scatter(base, idx, v) csm_scatter_f32_avx2(base, idx, v, 8)
#define v_scatter_tail(base, idx, n, v) csm_scatter_f32_avx2(base, idx, v, n)
static inline __m256i csm_vi_add_i64_f32_avx2(__m256i idx, const int64_t *p, int n)
{
    int32_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < n && k < 8; k++) t[k] = (int32_t)p[k];
    return _mm256_add_epi32(idx, _mm256_loadu_si256((const __m256i *)t));
}
#define vi_add_i64 csm_vi_add_i64_f32_avx2
/* In-register transposition steps: one register per step (VG = 1), lanes
 * picked by vpermps and merged under a lane mask. */
#define VG 1
typedef struct { __m256i idx; __m256 mask; } csm_step_f32_avx2;
#define VSTEP csm_step_f32_avx2
static inline VSTEP csm_make_step_f32_avx2(const int32_t *src)
{
    VSTEP st;
    __m256i s = _mm256_loadu_si256((const __m256i *)src);
    st.mask = _mm256_castsi256_ps(_mm256_cmpgt_epi32(s, _mm256_set1_epi32(-1)));
    st.idx = _mm256_and_si256(s, _mm256_set1_epi32(7));
    return st;
}
#define v_make_step csm_make_step_f32_avx2
#define v_apply_step(acc, regs, st) \
    _mm256_blendv_ps(acc, _mm256_permutevar8x32_ps((regs)[0], (st).idx), (st).mask)
/* Transposes the 8 x 8 tile r[0..8) in place (row i lane j -> row j lane i). */
static inline void csm_transpose_f32_avx2(__m256 *r)
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}
#define v_transpose csm_transpose_f32_avx2
#define CSM_TRANSPOSE_MIN 5
/* float32 softmax and class-target cross-entropy (without smoothing or a
 * temperature) take rows of up to 128 columns in the short tiles, the others
 * up to 64 (simd_short_wide_ok); the tiles of more than 256 bytes a row
 * spread their next tile's prefetches over the tile (CSM_SHORT_SPREAD_BYTES).
 * kernel_ab on Zen 3 against the row kernels, three runs of 80 batches:
 * softmax 16384x72 0.60-0.61x the time, 10922x96 0.74-0.75x, 8192x128
 * 0.82-0.95x; cross-entropy 0.61-0.63x, 0.77-0.90x, 0.77-1.08x; with weights
 * 0.64-0.75x, 0.83-0.94x, 0.91-1.09x; in cache (256x128) softmax 0.80-0.89x,
 * cross-entropy 0.80-0.82x. In such tiles log_softmax took 1.11-1.23x,
 * logsumexp 1.7-1.8x, label smoothing 1.06-1.22x and temperatures 0.85-1.22x
 * (those stay on the row kernels). Without the spread the tiles gained in
 * cache only (8192x128 softmax 0.97x, cross-entropy 1.00x, one run). */
#define CSM_SHORT_WIDE_COLS 128
#define CSM_SHORT_SPREAD 1
#define CSM_SHORT_SPREAD_BYTES 256
/* A float32 constant of the exponential: with `mem`, broadcast from memory
 * where it is used (an asm the compiler neither hoists out of a loop nor
 * merges with another), for the wide rows' loops of softmax, log_softmax,
 * logsumexp and the class-target cross-entropy (v_exp_nonpos_n_mem). With
 * the constants hoisted into registers, four exponentials in lock step and
 * their ten constants outnumber AVX2's sixteen registers, and GCC spilled the
 * loop-carried lane sums, whose chain then went through a store and a load
 * every step (perf annotate on Zen 3, float32 softmax of 8192 x 128: the
 * densest samples on those). kernel_ab float32 on Zen 3 against registers,
 * four or five runs: 8192x128 log_softmax 0.90-0.96x the time, logsumexp
 * 0.89-0.93x, softmax 0.95-0.98x in most runs, cross-entropy 0.96-0.98x;
 * 2048x512 0.92-0.99x in most. Same bits. The probability-target and
 * label-smoothing rows' loops, which hold more vectors across the loop,
 * took 0.99-1.29x and 1.04-1.17x the time so, and the short and tiny tiles
 * (their values in registers anyway) up to 1.2x in one run: those keep
 * their constants in registers. */
#define CSM_K_F32_AVX2(c, mem) ((mem) ? csm_k_f32_avx2(&(c)) : _mm256_set1_ps(c))
static inline __attribute__((always_inline)) __m256 csm_k_f32_avx2(const float *p)
{
    __m256 v;
    __asm__ volatile("vbroadcastss %1, %0" : "=x"(v) : "m"(*p));
    return v;
}
/* exp(x - n ln 2) for the integral n = round(x log2 e): r = x - n ln 2 with a
 * two-part ln 2 (Cody-Waite), exp(r) by exp_impl.h's degree-6 polynomial in
 * Horner form. */
/* p[u] = c2 + r[u] (c3 + ...) for U vectors, stage by stage: each step of
 * the U computations side by side (lock step). Written one after another,
 * each exponential a chain of some 40 cycles of latency, the four of a loop
 * step overlapped less (a stand-alone exp-and-store loop on Zen 3: 0.269
 * against 0.244 ns per float32 element in lock step, 0.82x on a busy machine;
 * pairs 0.90x). */
static inline __attribute__((always_inline)) void
csm_exp_tail_f32_avx2_n(const __m256 *r, __m256 *p, const int U, const int mem)
{
    static const float c[] = {1.3814612757e-3f, 8.3687100559e-3f, 4.1668388993e-2f,
                              1.6666521132e-1f, 4.9999994040e-1f};
    const __m256 c0 = CSM_K_F32_AVX2(c[0], mem);
    for (int u = 0; u < U; u++) p[u] = c0;
    for (int i = 1; i < 5; i++) {
        const __m256 ci = CSM_K_F32_AVX2(c[i], mem);
        for (int u = 0; u < U; u++) p[u] = _mm256_fmadd_ps(p[u], r[u], ci);
    }
}
static inline __attribute__((always_inline)) __m256
csm_exp_tail_f32_avx2(__m256 r)
{
    __m256 p;
    csm_exp_tail_f32_avx2_n(&r, &p, 1, 0);
    return p;
}
/* p[u] = exp(x[u] - n[u] ln 2 (+ lo[u])) for U vectors, stage by stage: each
 * step of the U <= CSM_EXP_LOCKSTEP computations side by side. */
static inline __attribute__((always_inline)) void
csm_exp_reduced_f32_avx2_n(const __m256 *x, const __m256 *n, const __m256 *lo, const int has_lo,
                           __m256 *p, const int U, const int mem)
{
    static const float k[] = {0.693359375f, -2.12194440e-4f, 1.0f};
    __m256 r[CSM_EXP_LOCKSTEP];
    const __m256 ln2_hi = CSM_K_F32_AVX2(k[0], mem);
    for (int u = 0; u < U; u++) r[u] = _mm256_fnmadd_ps(n[u], ln2_hi, x[u]);
    const __m256 ln2_lo = CSM_K_F32_AVX2(k[1], mem);
    for (int u = 0; u < U; u++) r[u] = _mm256_fnmadd_ps(n[u], ln2_lo, r[u]);
    if (has_lo)
        for (int u = 0; u < U; u++) r[u] = _mm256_add_ps(r[u], lo[u]);
    csm_exp_tail_f32_avx2_n(r, p, U, mem);
    const __m256 one = CSM_K_F32_AVX2(k[2], mem);
    for (int u = 0; u < U; u++) p[u] = _mm256_fmadd_ps(p[u], r[u], one);
    for (int u = 0; u < U; u++) p[u] = _mm256_fmadd_ps(p[u], r[u], one);
}
static inline __attribute__((always_inline)) __m256
csm_exp_reduced_f32_avx2(__m256 x, __m256 n, __m256 lo, const int has_lo)
{
    __m256 p;
    csm_exp_reduced_f32_avx2_n(&x, &n, &lo, has_lo, &p, 1, 0);
    return p;
}
/* y 2^n for integral n in [-151, 128], as two factors (each a normal
 * number): subnormal results are rounded twice. */
static inline __m256 csm_scale2_f32_avx2(__m256 y, __m256 n)
{
    __m256i ni = _mm256_cvtps_epi32(n);   /* NaN -> 0x80000000 */
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}
/* exp anywhere (x clamped to [-104, 89]), 2^n as two factors: the slow path
 * of the functions below, for vectors with a lane outside [-86.5, 88] or NaN. */
static inline __attribute__((always_inline)) __m256
csm_exp_f32_avx2_wide_lo(__m256 x, __m256 lo, const int has_lo)
{
    __m256 x0 = x;
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);  /* NaN stays NaN (second operand) */
    if (has_lo) lo = _mm256_and_ps(lo, _mm256_cmp_ps(x, x0, _CMP_EQ_OQ));  /* not where clamped */
    __m256 n = v_round(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)));
    __m256 p = csm_exp_reduced_f32_avx2(x, n, lo, has_lo);
    __m256 y = csm_scale2_f32_avx2(p, n);  /* NaN lanes replaced below */
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}
/* Lanes in [-86.5, 88] (or NaN): n = round(x log2 e) read from the low bits
 * of x log2(e) + 1.5 * 2^23, exp(r) = p in [0.7, 1.42] scaled by 2^n as an
 * integer addition of n to its exponent field (exact: the result, at least
 * 2^-125.5, is a normal number; an addition on the integer units instead of
 * a multiplication on the FMA ones). NaN flows through r and p. */
static inline __attribute__((always_inline)) void
csm_exp_f32_avx2_fast_n(__m256 *x, const __m256 *lo, const int has_lo, const int U,
                        const int mem)
{
    static const float k[] = {12582912.0f /* 1.5 * 2^23 */, 1.44269504088896341f};
    const __m256 shifter = CSM_K_F32_AVX2(k[0], mem), log2e = CSM_K_F32_AVX2(k[1], mem);
    __m256 t[CSM_EXP_LOCKSTEP], n[CSM_EXP_LOCKSTEP], p[CSM_EXP_LOCKSTEP];
    for (int u = 0; u < U; u++) t[u] = _mm256_fmadd_ps(x[u], log2e, shifter);
    for (int u = 0; u < U; u++) n[u] = _mm256_sub_ps(t[u], shifter);
    csm_exp_reduced_f32_avx2_n(x, n, lo, has_lo, p, U, mem);
    for (int u = 0; u < U; u++)
        x[u] = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p[u]),
                                                    _mm256_slli_epi32(_mm256_castps_si256(t[u]), 23)));
}
static inline __attribute__((always_inline)) __m256
csm_exp_f32_avx2_fast_lo(__m256 x, __m256 lo, const int has_lo)
{
    csm_exp_f32_avx2_fast_n(&x, &lo, has_lo, 1, 0);
    return x;
}
static inline __m256 csm_exp_f32_avx2_wide(__m256 x)
{
    return csm_exp_f32_avx2_wide_lo(x, x, 0);
}
static inline __m256 csm_exp_f32_avx2_fast(__m256 x)
{
    return csm_exp_f32_avx2_fast_lo(x, x, 0);
}
/* exp(x), or with has_lo exp(x + lo), for x <= 0 (or NaN) and |lo| <= ulp(x) / 2:
 * the softmax family's shifted arguments, x - max taken exactly as x + lo
 * (simd_diff), lo added to the reduced argument (exp(x + lo) = exp(x) (1 + lo)
 * to first order) on both paths, except where the slow path clamps x. */
#define CSM_EXP_FAST_MIN -86.5f
static inline __m256 csm_exp_f32_avx2_nonpos_any(__m256 x, __m256 lo, const int has_lo)
{
    if (__builtin_expect(_mm256_movemask_ps(_mm256_cmp_ps(x, _mm256_set1_ps(CSM_EXP_FAST_MIN), _CMP_NGE_UQ)), 0))
        return csm_exp_f32_avx2_wide_lo(x, lo, has_lo);
    return csm_exp_f32_avx2_fast_lo(x, lo, has_lo);
}
/* csm_exp_f32_avx2_nonpos_any of U vectors in place, in lock step unless
 * a lane needs the slow path (one check for the U) */
static inline __attribute__((always_inline)) void
csm_exp_f32_avx2_nonpos_n_k(__m256 *x, const __m256 *lo, const int has_lo, const int U,
                            const int mem)
{
    static const float fast_min = CSM_EXP_FAST_MIN;
    const __m256 vmin = CSM_K_F32_AVX2(fast_min, mem);
    __m256 out = _mm256_cmp_ps(x[0], vmin, _CMP_NGE_UQ);
    for (int u = 1; u < U; u++) out = _mm256_or_ps(out, _mm256_cmp_ps(x[u], vmin, _CMP_NGE_UQ));
    if (__builtin_expect(_mm256_movemask_ps(out), 0)) {
        for (int u = 0; u < U; u++) x[u] = csm_exp_f32_avx2_nonpos_any(x[u], has_lo ? lo[u] : x[u], has_lo);
        return;
    }
    csm_exp_f32_avx2_fast_n(x, lo, has_lo, U, mem);
}
static inline __attribute__((always_inline)) void
csm_exp_f32_avx2_nonpos_n(__m256 *x, const __m256 *lo, const int has_lo, const int U)
{
    csm_exp_f32_avx2_nonpos_n_k(x, lo, has_lo, U, 0);
}
static inline __attribute__((always_inline)) void
csm_exp_f32_avx2_nonpos_n_mem(__m256 *x, const __m256 *lo, const int has_lo, const int U)
{
    csm_exp_f32_avx2_nonpos_n_k(x, lo, has_lo, U, 1);
}
static inline __m256 csm_exp_f32_avx2_nonpos(__m256 x)
{
    return csm_exp_f32_avx2_nonpos_any(x, x, 0);
}
static inline __m256 csm_exp_f32_avx2_nonpos_lo(__m256 x, __m256 lo)
{
    return csm_exp_f32_avx2_nonpos_any(x, lo, 1);
}
static inline __m256 csm_exp_f32_avx2(__m256 x)
{
    __m256 out = _mm256_or_ps(_mm256_cmp_ps(x, _mm256_set1_ps(CSM_EXP_FAST_MIN), _CMP_NGE_UQ),
                              _mm256_cmp_ps(x, _mm256_set1_ps(88.0f), _CMP_GT_OQ));
    if (__builtin_expect(_mm256_movemask_ps(out), 0)) return csm_exp_f32_avx2_wide(x);
    return csm_exp_f32_avx2_fast(x);
}
#define v_exp csm_exp_f32_avx2
#define v_exp_nonpos csm_exp_f32_avx2_nonpos
#define v_exp_nonpos_lo csm_exp_f32_avx2_nonpos_lo
#define v_exp_nonpos_n csm_exp_f32_avx2_nonpos_n
#define v_exp_nonpos_n_mem csm_exp_f32_avx2_nonpos_n_mem
/* exp for lanes in [CSM_EXP_FAST_MIN, 0] (or NaN) only: no range check */
#define v_exp_nonpos_fast csm_exp_f32_avx2_fast
#define v_exp_tail csm_exp_tail_f32_avx2
#define v_scale2 csm_scale2_f32_avx2
/* 2^n for t = n + 1.5 * 2^23 (n integral, normal 2^n) */
#define v_pow2_shifted(t, n) _mm256_castsi256_ps(_mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23), _mm256_set1_epi32(127 << 23)))
#define v_any(mask) _mm256_movemask_ps(mask)
/* For positive normal finite a: mantissa in [1, 2) and unbiased exponent. */
static inline __m256 csm_getmant_f32_avx2(__m256 a)
{
    __m256i b = _mm256_castps_si256(a);
    b = _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F800000));
    return _mm256_castsi256_ps(b);
}
static inline __m256 csm_getexp_f32_avx2(__m256 a)
{
    __m256i e = _mm256_srli_epi32(_mm256_castps_si256(a), 23);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(e, _mm256_set1_epi32(127)));
}
#define v_getmant csm_getmant_f32_avx2
#define v_getexp csm_getexp_f32_avx2
/* Class indices t[0..nr) (int64, 0 <= t < 2^24) as floats in lanes, 0 beyond
 * nr: their low 32-bit words gathered and converted (no scalar loop, no
 * store-to-load forwarding stall). */
static inline __m256 csm_load_targets_f32_avx2(const int64_t *t, int nr)
{
    const __m256i lows = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i a, b;
    if (nr == 8) {
        a = _mm256_loadu_si256((const __m256i *)t);
        b = _mm256_loadu_si256((const __m256i *)(t + 4));
    } else {
        a = _mm256_maskload_epi64((const long long *)t, csm_tail_mask_epi64_avx2(nr));
        b = _mm256_maskload_epi64((const long long *)(t + 4), csm_tail_mask_epi64_avx2(nr - 4));
    }
    __m128i la = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(a, lows));
    __m128i lb = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, lows));
    return _mm256_cvtepi32_ps(_mm256_set_m128i(lb, la));
}
#define v_load_targets csm_load_targets_f32_avx2
#else /* float64 */
#define CSM_T double
#define CSM_SFX f64
#define VN 4
typedef __m256d csm_v_f64_avx2;
#define V csm_v_f64_avx2
#define VM csm_v_f64_avx2
#define v_set1 _mm256_set1_pd
#define v_zero _mm256_setzero_pd
#define v_load _mm256_loadu_pd
#define v_store _mm256_storeu_pd
#define v_add _mm256_add_pd
#define v_sub _mm256_sub_pd
#define v_mul _mm256_mul_pd
#define v_div _mm256_div_pd
#define v_max _mm256_max_pd
#define v_min _mm256_min_pd
#define v_fmadd _mm256_fmadd_pd
#define v_fnmadd _mm256_fnmadd_pd
#define v_load_tail(p, n, fill) \
    _mm256_blendv_pd(fill, _mm256_maskload_pd(p, csm_tail_mask_epi64_avx2(n)), \
                     _mm256_castsi256_pd(csm_tail_mask_epi64_avx2(n)))
#define v_store_tail(p, n, v) _mm256_maskstore_pd(p, csm_tail_mask_epi64_avx2(n), v)
#define v_eq(a, b) _mm256_cmp_pd(a, b, _CMP_EQ_OQ)
#define v_isnan(a) _mm256_cmp_pd(a, a, _CMP_UNORD_Q)
#define v_gt(a, b) _mm256_cmp_pd(a, b, _CMP_GT_OQ)
#define v_isinf(a) _mm256_cmp_pd(_mm256_andnot_pd(_mm256_set1_pd(-0.0), a), _mm256_set1_pd(INFINITY), _CMP_EQ_OQ)
#define v_blend(mask, a, b) _mm256_blendv_pd(a, b, mask)
#define v_mask_bits(bits)                                                                   \
    _mm256_castsi256_pd(_mm256_cmpeq_epi64(                                                 \
        _mm256_and_si256(_mm256_set1_epi64x((long long)(bits)), _mm256_setr_epi64x(1, 2, 4, 8)), \
        _mm256_setr_epi64x(1, 2, 4, 8)))
#define v_mask_add(a, mask, b) _mm256_add_pd(a, _mm256_and_pd(mask, b))
#define v_round(a) _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
static inline double csm_hmax_f64_avx2(__m256d a)
{
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    m = _mm_max_sd(m, _mm_unpackhi_pd(m, m));
    return _mm_cvtsd_f64(m);
}
#define v_hmax csm_hmax_f64_avx2
static inline double csm_hsum_f64_avx2(__m256d a)
{
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}
#define v_hsum csm_hsum_f64_avx2
typedef __m128i csm_vi_f64_avx2;
#define VI csm_vi_f64_avx2
#define vi_lanes_times(stride) _mm_mullo_epi32(_mm_set_epi32(3, 2, 1, 0), _mm_set1_epi32((int)(stride)))
#define vi_add_const(idx, c) _mm_add_epi32(idx, _mm_set1_epi32((int)(c)))
#define v_gather(base, idx) _mm256_i32gather_pd(base, idx, 8)
#define v_gather_tail(base, idx, n, fill) \
    _mm256_mask_i32gather_pd(fill, base, idx, _mm256_castsi256_pd(csm_tail_mask_epi64_avx2(n)), 8)
static inline void csm_scatter_f64_avx2(double *base, __m128i idx, __m256d v, int n)
{
    double val[4];
    int32_t off[4];
    _mm256_storeu_pd(val, v);
    _mm_storeu_si128((__m128i *)off, idx);
    for (int k = 0; k < n; k++) base[off[k]] = val[k];
}
#define v_scatter(base, idx, v) csm_scatter_f64_avx2(base, idx, v, 4)
#define v_scatter_tail(base, idx, n, v) csm_scatter_f64_avx2(base, idx, v, n)
static inline __m128i csm_vi_add_i64_f64_avx2(__m128i idx, const int64_t *p, int n)
{
    int32_t t[4] = {0, 0, 0, 0};
    for (int k = 0; k < n && k < 4; k++) t[k] = (int32_t)p[k];
    return _mm_add_epi32(idx, _mm_loadu_si128((const __m128i *)t));
}
#define vi_add_i64 csm_vi_add_i64_f64_avx2
#define VG 1
typedef struct { __m256i idx; __m256d mask; } csm_step_f64_avx2;
#define VSTEP csm_step_f64_avx2
static inline VSTEP csm_make_step_f64_avx2(const int32_t *src)
{
    VSTEP st;
    int32_t pair[8];
    for (int k = 0; k < 4; k++) {
        int32_t q = src[k] < 0 ? 0 : (src[k] & 3);
        pair[2 * k] = 2 * q;
        pair[2 * k + 1] = 2 * q + 1;
    }
    __m128i s = _mm_loadu_si128((const __m128i *)src);
    st.mask = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm_cmpgt_epi32(s, _mm_set1_epi32(-1))));
    st.idx = _mm256_loadu_si256((const __m256i *)pair);
    return st;
}
#define v_make_step csm_make_step_f64_avx2
#define v_apply_step(acc, regs, st) \
    _mm256_blendv_pd(acc, _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps((regs)[0]), (st).idx)), (st).mask)
/* Transposes the 4 x 4 tile r[0..4) in place. */
static inline void csm_transpose_f64_avx2(__m256d *r)
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}
#define v_transpose csm_transpose_f64_avx2
#define CSM_TRANSPOSE_MIN 1
/* exp(x - n ln 2) for the integral n = round(x log2 e): r = x - n ln 2 with a
 * two-part ln 2, exp(r) by exp_impl.h's degree-11 polynomial in Horner form. */
/* as csm_exp_tail_f32_avx2_n */
static inline __attribute__((always_inline)) void
csm_exp_tail_f64_avx2_n(const __m256d *r, __m256d *p, const int U)
{
    static const double c[] = {CSM_EXP64_C11, CSM_EXP64_C10, CSM_EXP64_C9, CSM_EXP64_C8,
                               CSM_EXP64_C7, CSM_EXP64_C6, CSM_EXP64_C5, CSM_EXP64_C4,
                               CSM_EXP64_C3, CSM_EXP64_C2};
    for (int u = 0; u < U; u++) p[u] = _mm256_set1_pd(c[0]);
    for (int i = 1; i < 10; i++)
        for (int u = 0; u < U; u++) p[u] = _mm256_fmadd_pd(p[u], r[u], _mm256_set1_pd(c[i]));
}
static inline __attribute__((always_inline)) __m256d
csm_exp_tail_f64_avx2(__m256d r)
{
    __m256d p;
    csm_exp_tail_f64_avx2_n(&r, &p, 1);
    return p;
}
/* as csm_exp_reduced_f32_avx2_n */
static inline __attribute__((always_inline)) void
csm_exp_reduced_f64_avx2_n(const __m256d *x, const __m256d *n, const __m256d *lo,
                           const int has_lo, __m256d *p, const int U)
{
    __m256d r[CSM_EXP_LOCKSTEP];
    for (int u = 0; u < U; u++) r[u] = _mm256_fnmadd_pd(n[u], _mm256_set1_pd(6.93147180369123816490e-01), x[u]);
    for (int u = 0; u < U; u++) r[u] = _mm256_fnmadd_pd(n[u], _mm256_set1_pd(1.90821492927058770002e-10), r[u]);
    if (has_lo)
        for (int u = 0; u < U; u++) r[u] = _mm256_add_pd(r[u], lo[u]);
    csm_exp_tail_f64_avx2_n(r, p, U);
    for (int u = 0; u < U; u++) p[u] = _mm256_fmadd_pd(p[u], r[u], _mm256_set1_pd(1.0));
    for (int u = 0; u < U; u++) p[u] = _mm256_fmadd_pd(p[u], r[u], _mm256_set1_pd(1.0));
}
static inline __attribute__((always_inline)) __m256d
csm_exp_reduced_f64_avx2(__m256d x, __m256d n, __m256d lo, const int has_lo)
{
    __m256d p;
    csm_exp_reduced_f64_avx2_n(&x, &n, &lo, has_lo, &p, 1);
    return p;
}
/* y 2^n for integral n in [-1077, 1025], as two factors (each a normal
 * number): subnormal results are rounded twice. */
static inline __m256d csm_scale2_f64_avx2(__m256d y, __m256d n)
{
    __m128i n32 = _mm256_cvtpd_epi32(n);
    __m128i h32 = _mm_srai_epi32(n32, 1);
    __m256i n1 = _mm256_cvtepi32_epi64(h32);
    __m256i n2 = _mm256_cvtepi32_epi64(_mm_sub_epi32(n32, h32));
    __m256d s1 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(n1, _mm256_set1_epi64x(1023)), 52));
    __m256d s2 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(n2, _mm256_set1_epi64x(1023)), 52));
    return _mm256_mul_pd(_mm256_mul_pd(y, s1), s2);
}
/* exp anywhere (x clamped to [-746, 710]), 2^n as two factors: the slow
 * path of the functions below, for vectors with a lane outside [-708, 709] or NaN. */
static inline __attribute__((always_inline)) __m256d
csm_exp_f64_avx2_wide_lo(__m256d x, __m256d lo, const int has_lo)
{
    __m256d x0 = x;
    x = _mm256_min_pd(_mm256_set1_pd(710.0), x);
    x = _mm256_max_pd(_mm256_set1_pd(-746.0), x);
    if (has_lo) lo = _mm256_and_pd(lo, _mm256_cmp_pd(x, x0, _CMP_EQ_OQ));  /* not where clamped */
    __m256d n = v_round(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634074)));
    __m256d p = csm_exp_reduced_f64_avx2(x, n, lo, has_lo);
    __m256d y = csm_scale2_f64_avx2(p, n);  /* n within [-1077, 1025] */
    return _mm256_blendv_pd(y, x, _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
}
/* Lanes in [-708, 709] (or NaN): as csm_exp_f32_avx2_fast (2^n (n >= -1021)
 * times p >= 0.7 is a normal number). */
static inline __attribute__((always_inline)) void
csm_exp_f64_avx2_fast_n(__m256d *x, const __m256d *lo, const int has_lo, const int U)
{
    const __m256d shifter = _mm256_set1_pd(6755399441055744.0);  /* 1.5 * 2^52 */
    __m256d t[CSM_EXP_LOCKSTEP], n[CSM_EXP_LOCKSTEP], p[CSM_EXP_LOCKSTEP];
    for (int u = 0; u < U; u++) t[u] = _mm256_fmadd_pd(x[u], _mm256_set1_pd(1.4426950408889634074), shifter);
    for (int u = 0; u < U; u++) n[u] = _mm256_sub_pd(t[u], shifter);
    csm_exp_reduced_f64_avx2_n(x, n, lo, has_lo, p, U);
    for (int u = 0; u < U; u++)
        x[u] = _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p[u]),
                                                    _mm256_slli_epi64(_mm256_castpd_si256(t[u]), 52)));
}
static inline __attribute__((always_inline)) __m256d
csm_exp_f64_avx2_fast_lo(__m256d x, __m256d lo, const int has_lo)
{
    csm_exp_f64_avx2_fast_n(&x, &lo, has_lo, 1);
    return x;
}
static inline __m256d csm_exp_f64_avx2_wide(__m256d x)
{
    return csm_exp_f64_avx2_wide_lo(x, x, 0);
}
static inline __m256d csm_exp_f64_avx2_fast(__m256d x)
{
    return csm_exp_f64_avx2_fast_lo(x, x, 0);
}
/* as csm_exp_f32_avx2_nonpos_any */
#define CSM_EXP_FAST_MIN -708.0
static inline __m256d csm_exp_f64_avx2_nonpos_any(__m256d x, __m256d lo, const int has_lo)
{
    if (__builtin_expect(_mm256_movemask_pd(_mm256_cmp_pd(x, _mm256_set1_pd(CSM_EXP_FAST_MIN), _CMP_NGE_UQ)), 0))
        return csm_exp_f64_avx2_wide_lo(x, lo, has_lo);
    return csm_exp_f64_avx2_fast_lo(x, lo, has_lo);
}
/* as csm_exp_f32_avx2_nonpos_n */
static inline __attribute__((always_inline)) void
csm_exp_f64_avx2_nonpos_n(__m256d *x, const __m256d *lo, const int has_lo, const int U)
{
    __m256d out = _mm256_cmp_pd(x[0], _mm256_set1_pd(CSM_EXP_FAST_MIN), _CMP_NGE_UQ);
    for (int u = 1; u < U; u++)
        out = _mm256_or_pd(out, _mm256_cmp_pd(x[u], _mm256_set1_pd(CSM_EXP_FAST_MIN), _CMP_NGE_UQ));
    if (__builtin_expect(_mm256_movemask_pd(out), 0)) {
        for (int u = 0; u < U; u++) x[u] = csm_exp_f64_avx2_nonpos_any(x[u], has_lo ? lo[u] : x[u], has_lo);
        return;
    }
    csm_exp_f64_avx2_fast_n(x, lo, has_lo, U);
}
static inline __m256d csm_exp_f64_avx2_nonpos(__m256d x)
{
    return csm_exp_f64_avx2_nonpos_any(x, x, 0);
}
static inline __m256d csm_exp_f64_avx2_nonpos_lo(__m256d x, __m256d lo)
{
    return csm_exp_f64_avx2_nonpos_any(x, lo, 1);
}
static inline __m256d csm_exp_f64_avx2(__m256d x)
{
    __m256d out = _mm256_or_pd(_mm256_cmp_pd(x, _mm256_set1_pd(CSM_EXP_FAST_MIN), _CMP_NGE_UQ),
                               _mm256_cmp_pd(x, _mm256_set1_pd(709.0), _CMP_GT_OQ));
    if (__builtin_expect(_mm256_movemask_pd(out), 0)) return csm_exp_f64_avx2_wide(x);
    return csm_exp_f64_avx2_fast(x);
}
#define v_exp csm_exp_f64_avx2
#define v_exp_nonpos csm_exp_f64_avx2_nonpos
#define v_exp_nonpos_lo csm_exp_f64_avx2_nonpos_lo
#define v_exp_nonpos_n csm_exp_f64_avx2_nonpos_n
#define v_exp_nonpos_fast csm_exp_f64_avx2_fast
#define v_exp_tail csm_exp_tail_f64_avx2
#define v_scale2 csm_scale2_f64_avx2
/* 2^n for t = n + 1.5 * 2^52 (n integral, normal 2^n) */
#define v_pow2_shifted(t, n) _mm256_castsi256_pd(_mm256_add_epi64(_mm256_slli_epi64(_mm256_castpd_si256(t), 52), _mm256_set1_epi64x(1023LL << 52)))
#define v_any(mask) _mm256_movemask_pd(mask)
static inline __m256d csm_getmant_f64_avx2(__m256d a)
{
    __m256i b = _mm256_castpd_si256(a);
    b = _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)),
                        _mm256_set1_epi64x(0x3FF0000000000000LL));
    return _mm256_castsi256_pd(b);
}
static inline __m256d csm_getexp_f64_avx2(__m256d a)
{
    /* exponents here are small and non-negative: via int32 */
    __m256i e = _mm256_srli_epi64(_mm256_castpd_si256(a), 52);
    __m128i e32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(e, _mm256_set_epi32(0, 0, 0, 0, 6, 4, 2, 0)));
    return _mm256_cvtepi32_pd(_mm_sub_epi32(e32, _mm_set1_epi32(1023)));
}
#define v_getmant csm_getmant_f64_avx2
#define v_getexp csm_getexp_f64_avx2
/* as for float32: t[0..nr) (0 <= t < 2^31) as doubles, 0 beyond nr */
static inline __m256d csm_load_targets_f64_avx2(const int64_t *t, int nr)
{
    __m256i a = nr == 4 ? _mm256_loadu_si256((const __m256i *)t)
                        : _mm256_maskload_epi64((const long long *)t, csm_tail_mask_epi64_avx2(nr));
    __m128i la = _mm256_castsi256_si128(
        _mm256_permutevar8x32_epi32(a, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7)));
    return _mm256_cvtepi32_pd(la);
}
#define v_load_targets csm_load_targets_f64_avx2
#endif
