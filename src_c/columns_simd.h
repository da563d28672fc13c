/*
 * The exponential pass of the column kernels (columns_body.h) on whole
 * vectors of columns, with the vector layer (simd_avx2.h / simd_avx512.h) of
 * the including file, which includes this header once per dtype between the
 * layer and simd_undef.h (columns_avx2.c, columns_avx512.c). The layer's own
 * exponential, four vectors in lock step where it has that form, is about
 * three times as fast as the compiler's vectorisation of exp_impl.h's.
 *
 Row after row, each vector of x - m, its exponentials (stored in y for
 * softmax), added with Fast2Sum into per-column accumulators biased to 1 (hi
 * >= 1 >= every term: the rounding error of each addition is exact and kept
 * in lo). float64 accumulators hold the whole column; float32 ones are
 * flushed into the double sums (sd, cd) every CSMC_FLUSH rows, so that a long
 * column's float32 sums lose nothing to the accumulators' own size: each
 * hi - 1 is exact, added to sd by TwoSum, and its error and lo go to cd.
 */
#define CSMC_SFN(op) CSMC_CAT3(op, CSM_SFX, CSMC_ISA)
#define CSMC_FLUSH 256

#ifdef v_exp_nonpos_n
#define CSMC_EXP_N(e, lo, has_lo, U) v_exp_nonpos_n(e, lo, has_lo, U)
#else
#define CSMC_EXP_N(e, lo, has_lo, U)                                                      \
    for (int u_ = 0; u_ < (U); u_++) (e)[u_] = (has_lo) ? v_exp_nonpos_lo((e)[u_], (lo)[u_]) \
                                                        : v_exp_nonpos((e)[u_])
#endif

/* x - m's exponentials of U vectors of row xr (columns j..), into yr with
 * `store`, added into the lanes hi[j..], lo[j..] */
static inline __attribute__((always_inline)) void
CSMC_SFN(csmc_step)(const CSM_T *xr, CSM_T *yr, const CSM_T *ms, CSM_T *hi, CSM_T *lo, int64_t j,
                    V vinv, const int store, const int scaled, const int U, const int tail)
{
    V e[4];
    /* the last, partial vector (tail columns, U = 1): x's lanes past the row
     * read as 0, ms's hold 0 there (exp(0), on the fast path) */
#define CSMC_X(u) (tail ? v_load_tail(xr + j, tail, v_zero()) : v_load(xr + j + (u) * VN))
    /* x - m = e + dl exactly (TwoSum, as simd_diff: the rounding of x - m
     * would be an error of |x - m| / 2 ulps in exp(x - m); the row kernels
     * take it exactly on tiny rows, and float64 everywhere); a NaN error,
     * where x is -inf, becomes -1e30 (v_max returns its second operand).
     * With `scaled` (a temperature) both parts are multiplied by vinv: the
     * product d vinv rounds, as the row kernels' (x - m) / T does; where it
     * is -inf (x = -inf, or an overflow) the exponential's clamped path
     * drops the low part. */
    V dl[4];
    for (int u = 0; u < U; u++) {
        const V xv = CSMC_X(u), m = v_load(ms + j + u * VN);
        const V d = v_sub(xv, m), b = v_sub(d, xv);
        dl[u] = v_max(v_sub(v_sub(xv, v_sub(d, b)), v_add(m, b)), v_set1((CSM_T)-1e30));
        e[u] = d;
        if (scaled) {
            e[u] = v_mul(d, vinv);
            dl[u] = v_mul(dl[u], vinv);
        }
    }
    CSMC_EXP_N(e, dl, 1, U);
#undef CSMC_X
    for (int u = 0; u < U; u++) {
        const int64_t k = j + u * VN;
        if (store && tail) v_store_tail(yr + k, tail, e[u]);
        else if (store) v_store(yr + k, e[u]);
        const V h = v_load(hi + k), t = v_add(h, e[u]);
        v_store(lo + k, v_add(v_load(lo + k), v_sub(e[u], v_sub(t, h))));
        v_store(hi + k, t);
    }
}

/* The sums of exp(x - ms) (exp((x - ms) inv_t) with `scaled`) of the w
 * columns into sd + cd (the exponentials into y with `store`), row after
 * row (each row's columns in one contiguous run: the block may be too tall
 * for L2, and its rows then stream in from memory). Every column, the last
 * partial vector's too, takes the same vector operations, so a column's
 * result does not depend on its place in the block (nor on the array's
 * width: a Dask chunk of columns gives the bits of the whole array). ms, sd
 * and cd have room for w rounded up to whole vectors, and ms holds 0 past w. */
static inline __attribute__((always_inline)) int64_t
CSMC_SFN(csmc_exp_sum_op)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys, int64_t n, int64_t w,
                          const CSM_T *ms, CSM_T inv_t, double *sd, double *cd, const int store,
                          const int scaled)
{
    const V vinv = v_set1(inv_t);
    CSM_T hi[CSMC_W], lo[CSMC_W];
    const int64_t wv = w / VN * VN, tail = w - wv, wr = tail ? wv + VN : wv;
#ifdef CSM_F32
    const int64_t step = CSMC_FLUSH;
    for (int64_t k = 0; k < wr; k++) sd[k] = 0.0, cd[k] = 0.0;
#else
    const int64_t step = n; /* one stretch: hi - 1 is exact up to 2^53 */
#endif
    for (int64_t i0 = 0; i0 < n; i0 += step) {
        const int64_t i1 = n - i0 < step ? n : i0 + step;
        for (int64_t k = 0; k < wr; k++) hi[k] = (CSM_T)1, lo[k] = (CSM_T)0;
        for (int64_t i = i0; i < i1; i++) {
            const CSM_T *xr = x + i * xs;
            CSM_T *yr = y + i * ys;
            int64_t j = 0;
#define CSMC_STEP(U, TAIL) CSMC_SFN(csmc_step)(xr, yr, ms, hi, lo, j, vinv, store, scaled, U, TAIL)
            for (; j + 4 * VN <= wv; j += 4 * VN) CSMC_STEP(4, 0);
            for (; j < wv; j += VN) CSMC_STEP(1, 0);
            if (tail) CSMC_STEP(1, (int)tail);
#undef CSMC_STEP
        }
#ifdef CSM_F32
        for (int64_t k = 0; k < wr; k++) {
            const double a = (double)hi[k] - 1.0, s = sd[k] + a, bb = s - sd[k];
            cd[k] += ((sd[k] - (s - bb)) + (a - bb)) + (double)lo[k];
            sd[k] = s;
        }
#else
        for (int64_t k = 0; k < wr; k++) sd[k] = hi[k] - 1.0, cd[k] = lo[k];
#endif
    }
    return w;
}

static int64_t CSMC_SFN(csmc_exp_sum)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys, int64_t n,
                                      int64_t w, const CSM_T *ms, CSM_T inv_t, double *sd,
                                      double *cd, int store, int scaled)
{
#define CSMC_ES(S, SC) CSMC_SFN(csmc_exp_sum_op)(x, xs, y, ys, n, w, ms, inv_t, sd, cd, S, SC)
    if (scaled) return store ? CSMC_ES(1, 1) : CSMC_ES(0, 1);
    return store ? CSMC_ES(1, 0) : CSMC_ES(0, 0);
#undef CSMC_ES
}

/* log_softmax_backward's output down the block, o = g - exp(y) d (d: the
 * columns' sums of g), whole vectors of columns and the last partial one,
 * with the layer's exponential (any y: the portable exp_impl.h one, which
 * GCC did not vectorise for float64, took 3.5x the time of softmax's
 * backward pass on 8 x 21 x 4096 along axis 1) */
static void CSMC_SFN(csmc_lsm_bw_out)(const CSM_T *g, int64_t gs, const CSM_T *y, int64_t ys,
                                      CSM_T *o, int64_t os, int64_t n, int64_t w,
                                      const CSM_T *d)
{
    const int64_t wv = w / VN * VN;
    const int tail = (int)(w - wv);
    for (int64_t i = 0; i < n; i++) {
        const CSM_T *gr = g + i * gs, *yr = y + i * ys;
        CSM_T *or_ = o + i * os;
        int64_t j = 0;
        for (; j < wv; j += VN)
            v_store(or_ + j, v_fnmadd(v_exp(v_load(yr + j)), v_load(d + j), v_load(gr + j)));
        if (tail) {
            const V e = v_exp(v_load_tail(yr + j, tail, v_zero()));
            v_store_tail(or_ + j, tail,
                         v_fnmadd(e, v_load_tail(d + j, tail, v_zero()),
                                  v_load_tail(gr + j, tail, v_zero())));
        }
    }
}

#undef CSMC_SFN
#undef CSMC_FLUSH
#undef CSMC_EXP_N
