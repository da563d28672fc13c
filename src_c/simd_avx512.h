/*
 * AVX-512 vector operations for simd_body.h, for float32 (CSM_F32 defined) or
 * float64. Included after `#pragma GCC target("avx512f,...")`.
 *
 * exp: x * log2(e) is split into n = round(.) and r = x - n ln2 (two-part
 * ln 2), exp(r) by a polynomial, and 2^n applied by vscalef, which rounds
 * once and gives subnormal results, 0 and +inf correctly.
 */
#include <immintrin.h>

#include "exp_impl.h" /* CSM_EXP64_C2 .. C11 */

#ifdef CSM_F32
#define CSM_T float
#define CSM_SFX f32
#define VN 16
typedef __m512 csm_v_f32_avx512;
typedef __mmask16 csm_m_f32_avx512;
#define V csm_v_f32_avx512
#define VM csm_m_f32_avx512
#define v_set1 _mm512_set1_ps
#define v_zero _mm512_setzero_ps
#define v_load _mm512_loadu_ps
#define v_store _mm512_storeu_ps
#define v_add _mm512_add_ps
#define v_sub _mm512_sub_ps
#define v_mul _mm512_mul_ps
#define v_div _mm512_div_ps
#define v_max _mm512_max_ps
#define v_min _mm512_min_ps
#define v_fmadd _mm512_fmadd_ps
#define v_fnmadd _mm512_fnmadd_ps
#define v_tail_mask(n) ((__mmask16)((1u << (n)) - 1u))
#define v_load_tail(p, n, fill) _mm512_mask_loadu_ps(fill, v_tail_mask(n), p)
#define v_store_tail(p, n, v) _mm512_mask_storeu_ps(p, v_tail_mask(n), v)
#define v_eq(a, b) _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ)
#define v_isnan(a) _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q)
#define v_gt(a, b) _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ)
#define v_isinf(a) _mm512_fpclass_ps_mask(a, 0x18)
/* mask ? b : a */
#define v_blend(mask, a, b) _mm512_mask_blend_ps(mask, a, b)
#define v_mask_bits(bits) ((__mmask16)(bits)) /* lane i: bit i */
#define v_mask_add(a, mask, b) _mm512_mask_add_ps(a, mask, a, b)
#define v_round(a) _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define v_scalef _mm512_scalef_ps
#define v_hmax(a) _mm512_reduce_max_ps(a)
static inline double csm_hsum_f32_avx512(__m512 a)
{
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}
#define v_hsum csm_hsum_f32_avx512
/* 32-bit lane indices for gathers/scatters */
typedef __m512i csm_vi_f32_avx512;
#define VI csm_vi_f32_avx512
#define vi_lanes_times(stride) _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32((int)(stride)))
#define vi_add_const(idx, c) _mm512_add_epi32(idx, _mm512_set1_epi32((int)(c)))
#define v_gather(base, idx) _mm512_i32gather_ps(idx, base, 4)
#define v_gather_tail(base, idx, n, fill) _mm512_mask_i32gather_ps(fill, v_tail_mask(n), idx, base, 4)
#define v_scatter(base, idx, v) _mm512_i32scatter_ps(base, idx, v, 4)
#define v_scatter_tail(base, idx, n, v) _mm512_mask_i32scatter_ps(base, v_tail_mask(n), idx, v, 4)
/* idx + per-lane int64 offsets loaded from p (n lanes valid) */
static inline __m512i csm_vi_add_i64_f32_avx512(__m512i idx, const int64_t *p, int n)
{
    __mmask8 m0 = (__mmask8)((n >= 8) ? 0xFF : ((1u << n) - 1u));
    __mmask8 m1 = (__mmask8)((n >= 16) ? 0xFF : (n <= 8 ? 0 : ((1u << (n - 8)) - 1u)));
    __m512i a = _mm512_maskz_loadu_epi64(m0, p);
    __m512i b = _mm512_maskz_loadu_epi64(m1, p + 8);
    __m256i a32 = _mm512_cvtepi64_epi32(a), b32 = _mm512_cvtepi64_epi32(b);
    __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(a32), b32, 1);
    return _mm512_add_epi32(idx, t);
}
#define vi_add_i64 csm_vi_add_i64_f32_avx512
/* In-register transposition steps (tiny contiguous rows): a step picks lanes
 * of a group of VG consecutive registers by index and merges them under a
 * mask; built once per call from source positions (-1: lane not taken). */
#define VG 2
typedef struct { __m512i idx; __mmask16 mask; } csm_step_f32_avx512;
#define VSTEP csm_step_f32_avx512
static inline VSTEP csm_make_step_f32_avx512(const int32_t *src)
{
    VSTEP st;
    __m512i s = _mm512_loadu_si512((const void *)src);
    st.mask = _mm512_cmpge_epi32_mask(s, _mm512_setzero_si512());
    st.idx = _mm512_and_si512(s, _mm512_set1_epi32(31));
    return st;
}
#define v_make_step csm_make_step_f32_avx512
#define v_apply_step(acc, regs, st) \
    _mm512_mask_mov_ps(acc, (st).mask, _mm512_permutex2var_ps((regs)[0], (st).idx, (regs)[1]))
/* Transposes the 16 x 16 tile r[0..16) in place (row i lane j -> row j lane i):
 * pairs interleaved, then quads within 128-bit lanes, then 128-bit lanes. */
static inline void csm_transpose_f32_avx512(__m512 *r)
{
    __m512 a[16], b[16];
    for (int k = 0; k < 8; k++) {
        a[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        a[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; k++) {  /* b[4k + j], 128-bit lane L: column 4L + j of rows 4k..4k+3 */
        b[4 * k] = _mm512_shuffle_ps(a[4 * k], a[4 * k + 2], 0x44);
        b[4 * k + 1] = _mm512_shuffle_ps(a[4 * k], a[4 * k + 2], 0xEE);
        b[4 * k + 2] = _mm512_shuffle_ps(a[4 * k + 1], a[4 * k + 3], 0x44);
        b[4 * k + 3] = _mm512_shuffle_ps(a[4 * k + 1], a[4 * k + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        __m512 c0 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0x88);
        __m512 c1 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0xDD);
        __m512 c2 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0x88);
        __m512 c3 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0xDD);
        r[j] = _mm512_shuffle_f32x4(c0, c2, 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(c0, c2, 0xDD);
        r[4 + j] = _mm512_shuffle_f32x4(c1, c3, 0x88);
        r[12 + j] = _mm512_shuffle_f32x4(c1, c3, 0xDD);
    }
}
#define v_transpose csm_transpose_f32_avx512
/* From 7 columns on the 16 x 16 transpose beats the permute plan (timed on a
 * Xeon with AVX-512, benchmarks/kernel_ab.py --isa avx512, transposes against
 * plans: 10 columns softmax 0.62x the time, log_softmax 0.66x,
 * cross-entropy 0.77x; 7 columns 0.73 / 0.81 / 0.96; 6 columns mixed, 0.87
 * to 1.05; 3 and 4 columns 1.1-1.4x). It was 12, from op counts. */
#define CSM_TRANSPOSE_MIN 7
/* Rows of up to 96 columns go through the short-row tiles (simd_short_ok;
 * 64 elsewhere): kernel_ab --isa avx512 against the row kernels (softmax,
 * log_softmax, logsumexp, the cross-entropies), in cache (4096 rows) and
 * out of it (16 MiB, streamed): 65 columns 0.54-0.67x the time (65536
 * elements) and 0.73-0.86x, 72 0.69-0.86x and 0.76-0.91x, 78 0.70-0.91x and
 * 0.80-0.99x. From 80 (five whole vectors a row) the row kernels' softmax
 * and log_softmax were faster out of cache (80: 1.09-1.11x; 96: 1.12-1.26x;
 * 100 in cache 0.73-0.91x) until the tiles spread their prefetches and
 * prefetched the output of rows over 128 bytes (2026-12-03, against the
 * row kernels pipelined: 80 columns 0.56-0.77x in cache, 0.71-0.94x out;
 * 96 0.67-0.95x and 0.83-1.01x, logsumexp 1.05x; 128 columns lost out of
 * cache, 1.08-1.40x). Now 96. */
#define CSM_SHORT_COLS 96
/* The short tiles' next tile prefetched a few lines per group of four
 * columns (simd_tpf in simd_body.h), not all at the tile's start. */
#define CSM_SHORT_SPREAD 1
#define CSM_PIPE_SHORT_BYTES 1024 /* simd_pipe */
/* (exp(r) - 1 - r) / r^2 */
static inline __m512 csm_exp_tail_f32_avx512(__m512 r)
{
    __m512 p = _mm512_set1_ps(1.3814612757e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3687100559e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1668388993e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666521132e-1f));
    return _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.9999994040e-1f));
}
/* exp(x + lo) for x <= 0 (or NaN), lo the rounding error of the shifted
 * argument (simd_diff; has_lo = 0: exp(x)), added to the reduced argument
 * where x is not clamped */
static inline __m512 csm_exp_f32_avx512_nonpos_lo(__m512 x, __m512 lo, const int has_lo)
{
    __m512 x0 = x;
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x); /* NaN stays NaN (second operand) */
    /* n = round(x log2 e) from x log2(e) + 1.5 * 2^23 (one rounding, as the
     * AVX2 kernels' fast path): two operations on either FMA port, where
     * vrndscale took two on port 0 beside vscalef's one */
    const __m512 shifter = _mm512_set1_ps(12582912.0f);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), shifter),
                             shifter);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    if (has_lo) r = _mm512_add_ps(r, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, x0, _CMP_EQ_OQ), lo));
    __m512 p = _mm512_fmadd_ps(csm_exp_tail_f32_avx512(r), r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
static inline __m512 csm_exp_f32_avx512_nonpos(__m512 x)
{
    return csm_exp_f32_avx512_nonpos_lo(x, x, 0);
}
static inline __m512 csm_exp_f32_avx512_nonpos_lo1(__m512 x, __m512 lo)
{
    return csm_exp_f32_avx512_nonpos_lo(x, lo, 1);
}
static inline __m512 csm_exp_f32_avx512(__m512 x)
{
    return csm_exp_f32_avx512_nonpos(_mm512_min_ps(_mm512_set1_ps(89.0f), x)); /* NaN kept */
}
#define v_exp csm_exp_f32_avx512
#define v_exp_nonpos csm_exp_f32_avx512_nonpos
#define v_exp_nonpos_lo csm_exp_f32_avx512_nonpos_lo1
#define v_exp_nonpos_fast csm_exp_f32_avx512_nonpos  /* no range check to skip */
#define v_exp_tail csm_exp_tail_f32_avx512
#define v_scale2 _mm512_scalef_ps
#define v_pow2_shifted(t, n) _mm512_scalef_ps(v_set1(1), n)
#define v_any(mask) ((mask) != 0)
#define CSM_EXP_FAST_MIN (-INFINITY)
/* mantissa in [1, 2) and exponent, for log */
#define v_getmant(a) _mm512_getmant_ps(a, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src)
#define v_getexp(a) _mm512_getexp_ps(a)
/* Class indices t[0..nr) (int64, 0 <= t < 2^24) as floats, 0 beyond nr */
static inline __m512 csm_load_targets_f32_avx512(const int64_t *t, int nr)
{
    __mmask8 ma = (__mmask8)(nr >= 8 ? 0xFF : (1u << nr) - 1);
    __mmask8 mb = (__mmask8)(nr >= 16 ? 0xFF : nr <= 8 ? 0 : (1u << (nr - 8)) - 1);
    __m256 a = _mm512_cvtepi64_ps(_mm512_maskz_loadu_epi64(ma, t));
    __m256 b = _mm512_cvtepi64_ps(_mm512_maskz_loadu_epi64(mb, t + 8));
    return _mm512_insertf32x8(_mm512_castps256_ps512(a), b, 1);
}
#define v_load_targets csm_load_targets_f32_avx512
#else /* float64 */
#define CSM_T double
#define CSM_SFX f64
#define VN 8
typedef __m512d csm_v_f64_avx512;
typedef __mmask8 csm_m_f64_avx512;
#define V csm_v_f64_avx512
#define VM csm_m_f64_avx512
#define v_set1 _mm512_set1_pd
#define v_zero _mm512_setzero_pd
#define v_load _mm512_loadu_pd
#define v_store _mm512_storeu_pd
#define v_add _mm512_add_pd
#define v_sub _mm512_sub_pd
#define v_mul _mm512_mul_pd
#define v_div _mm512_div_pd
#define v_max _mm512_max_pd
#define v_min _mm512_min_pd
#define v_fmadd _mm512_fmadd_pd
#define v_fnmadd _mm512_fnmadd_pd
#define v_tail_mask(n) ((__mmask8)((1u << (n)) - 1u))
#define v_load_tail(p, n, fill) _mm512_mask_loadu_pd(fill, v_tail_mask(n), p)
#define v_store_tail(p, n, v) _mm512_mask_storeu_pd(p, v_tail_mask(n), v)
#define v_eq(a, b) _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ)
#define v_isnan(a) _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q)
#define v_gt(a, b) _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ)
#define v_isinf(a) _mm512_fpclass_pd_mask(a, 0x18)
#define v_blend(mask, a, b) _mm512_mask_blend_pd(mask, a, b)
#define v_mask_bits(bits) ((__mmask8)(bits))
#define v_mask_add(a, mask, b) _mm512_mask_add_pd(a, mask, a, b)
#define v_round(a) _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define v_scalef _mm512_scalef_pd
#define v_hmax(a) _mm512_reduce_max_pd(a)
#define v_hsum(a) _mm512_reduce_add_pd(a)
typedef __m256i csm_vi_f64_avx512;
#define VI csm_vi_f64_avx512
#define vi_lanes_times(stride) _mm256_mullo_epi32(_mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0), _mm256_set1_epi32((int)(stride)))
#define vi_add_const(idx, c) _mm256_add_epi32(idx, _mm256_set1_epi32((int)(c)))
#define v_gather(base, idx) _mm512_i32gather_pd(idx, base, 8)
#define v_gather_tail(base, idx, n, fill) _mm512_mask_i32gather_pd(fill, v_tail_mask(n), idx, base, 8)
#define v_scatter(base, idx, v) _mm512_i32scatter_pd(base, idx, v, 8)
#define v_scatter_tail(base, idx, n, v) _mm512_mask_i32scatter_pd(base, v_tail_mask(n), idx, v, 8)
static inline __m256i csm_vi_add_i64_f64_avx512(__m256i idx, const int64_t *p, int n)
{
    __m512i a = _mm512_maskz_loadu_epi64((__mmask8)((n >= 8) ? 0xFF : ((1u << n) - 1u)), p);
    return _mm256_add_epi32(idx, _mm512_cvtepi64_epi32(a));
}
#define vi_add_i64 csm_vi_add_i64_f64_avx512
#define VG 2
typedef struct { __m512i idx; __mmask8 mask; } csm_step_f64_avx512;
#define VSTEP csm_step_f64_avx512
static inline VSTEP csm_make_step_f64_avx512(const int32_t *src)
{
    VSTEP st;
    __m256i s = _mm256_loadu_si256((const __m256i *)src);
    st.mask = _mm256_cmpge_epi32_mask(s, _mm256_setzero_si256());
    st.idx = _mm512_and_si512(_mm512_cvtepi32_epi64(s), _mm512_set1_epi64(15));
    return st;
}
#define v_make_step csm_make_step_f64_avx512
#define v_apply_step(acc, regs, st) \
    _mm512_mask_mov_pd(acc, (st).mask, _mm512_permutex2var_pd((regs)[0], (st).idx, (regs)[1]))
/* Transposes the 8 x 8 tile r[0..8) in place. */
static inline void csm_transpose_f64_avx512(__m512d *r)
{
    __m512d a[8];
    for (int k = 0; k < 4; k++) {  /* a[2k + h], 128-bit lane L: column 2L + h of rows 2k, 2k+1 */
        a[2 * k] = _mm512_unpacklo_pd(r[2 * k], r[2 * k + 1]);
        a[2 * k + 1] = _mm512_unpackhi_pd(r[2 * k], r[2 * k + 1]);
    }
    for (int h = 0; h < 2; h++) {
        __m512d c0 = _mm512_shuffle_f64x2(a[h], a[2 + h], 0x88);
        __m512d c1 = _mm512_shuffle_f64x2(a[h], a[2 + h], 0xDD);
        __m512d c2 = _mm512_shuffle_f64x2(a[4 + h], a[6 + h], 0x88);
        __m512d c3 = _mm512_shuffle_f64x2(a[4 + h], a[6 + h], 0xDD);
        r[h] = _mm512_shuffle_f64x2(c0, c2, 0x88);
        r[4 + h] = _mm512_shuffle_f64x2(c0, c2, 0xDD);
        r[2 + h] = _mm512_shuffle_f64x2(c1, c3, 0x88);
        r[6 + h] = _mm512_shuffle_f64x2(c1, c3, 0xDD);
    }
}
#define v_transpose csm_transpose_f64_avx512
/* From 4 columns on the 8 x 8 transpose (as for float32: 4 to 7 columns
 * 0.69-0.94x the time of the plans in softmax, log_softmax and
 * cross-entropy; 3 columns 0.99-1.01x). It was 8, from op counts. */
#define CSM_TRANSPOSE_MIN 4
/* float64 rows of up to 64 columns through the short-row tiles (32
 * elsewhere), measured as for float32: 40 columns 0.63-0.75x the time in
 * cache and 0.71-0.79x out of it, 50 0.59-0.65x (65536 elements) and
 * 0.69-0.78x; 64 mixed (0.90-1.10x) until the prefetches were spread and
 * the output prefetched (2026-12-03: 56 and 64 columns 0.69-0.80x in cache,
 * 0.76-0.96x out). */
#define CSM_SHORT_COLS 64
#define CSM_SHORT_SPREAD 1
#define CSM_PIPE_SHORT_BYTES 1024 /* simd_pipe */
/* (exp(r) - 1 - r) / r^2 */
static inline __m512d csm_exp_tail_f64_avx512(__m512d r)
{
    __m512d p = _mm512_set1_pd(CSM_EXP64_C11);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C10));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C9));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C8));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C7));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C4));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C3));
    return _mm512_fmadd_pd(p, r, _mm512_set1_pd(CSM_EXP64_C2));
}
/* exp(x + lo) for x <= 0 (or NaN), lo the rounding error of the shifted
 * argument (simd_diff; has_lo = 0: exp(x)), added to the reduced argument
 * where x is not clamped */
static inline __m512d csm_exp_f64_avx512_nonpos_lo(__m512d x, __m512d lo, const int has_lo)
{
    __m512d x0 = x;
    x = _mm512_max_pd(_mm512_set1_pd(-746.0), x);
    const __m512d shifter = _mm512_set1_pd(6755399441055744.0); /* 1.5 * 2^52, as float32's */
    __m512d n = _mm512_sub_pd(_mm512_fmadd_pd(x, _mm512_set1_pd(1.4426950408889634074), shifter),
                              shifter);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), x);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
    if (has_lo) r = _mm512_add_pd(r, _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(x, x0, _CMP_EQ_OQ), lo));
    __m512d p = _mm512_fmadd_pd(csm_exp_tail_f64_avx512(r), r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    return _mm512_scalef_pd(p, n);
}
static inline __m512d csm_exp_f64_avx512_nonpos(__m512d x)
{
    return csm_exp_f64_avx512_nonpos_lo(x, x, 0);
}
static inline __m512d csm_exp_f64_avx512_nonpos_lo1(__m512d x, __m512d lo)
{
    return csm_exp_f64_avx512_nonpos_lo(x, lo, 1);
}
static inline __m512d csm_exp_f64_avx512(__m512d x)
{
    return csm_exp_f64_avx512_nonpos(_mm512_min_pd(_mm512_set1_pd(710.0), x)); /* NaN kept */
}
#define v_exp csm_exp_f64_avx512
#define v_exp_nonpos csm_exp_f64_avx512_nonpos
#define v_exp_nonpos_lo csm_exp_f64_avx512_nonpos_lo1
#define v_exp_nonpos_fast csm_exp_f64_avx512_nonpos
#define v_exp_tail csm_exp_tail_f64_avx512
#define v_scale2 _mm512_scalef_pd
#define v_pow2_shifted(t, n) _mm512_scalef_pd(v_set1(1), n)
#define v_any(mask) ((mask) != 0)
#define CSM_EXP_FAST_MIN (-INFINITY)
#define v_getmant(a) _mm512_getmant_pd(a, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src)
#define v_getexp(a) _mm512_getexp_pd(a)
/* as for float32: t[0..nr) as doubles, 0 beyond nr */
static inline __m512d csm_load_targets_f64_avx512(const int64_t *t, int nr)
{
    __mmask8 m = (__mmask8)(nr >= 8 ? 0xFF : (1u << nr) - 1);
    return _mm512_cvtepi64_pd(_mm512_maskz_loadu_epi64(m, t));
}
#define v_load_targets csm_load_targets_f64_avx512
#endif
