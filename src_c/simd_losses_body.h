/*
 * Explicit-SIMD loss kernels: cross-entropy with PyTorch's options (class
 * targets with weight / ignore_index / label smoothing / temperature, and
 * probability targets) and the softmax / log_softmax backward passes.
 *
 * Included by simd_instance.h after simd_body.h, once per dtype, over the same
 * vector layer; the functions have the signatures of the portable loss kernels
 * (losses_body.h's kernel table), whose entries csm_fill_losses_<isa>()
 * replaces. Semantics and numerics are those of losses_body.h: rows shifted by
 * their maximum (times 1 / T); exponential sums in lanes biased to 1 with
 * Fast2Sum, other sums with TwoSum, blocks of CSM_BLOCK flushed into a
 * Neumaier pair in double; the loss from non-negative parts (log(s) and
 * -(z - max)); a term whose coefficient is exactly zero contributes zero, even
 * where its log-probability is -inf. Rows are handled one at a time (any
 * length; a row shorter than a vector is one masked tail).
 */

/* ---- helpers -------------------------------------------------------------- */

/* Lanes set where the lane index is below k (1 <= k <= VN). */
static inline VM CSM_FN(simdl_tail_mask)(int k)
{
    CSM_T ones[VN];
    for (int i = 0; i < VN; i++) ones[i] = (CSM_T)1;
    return v_gt(v_load_tail(ones, k, v_zero()), v_zero());
}

/* TwoSum: a term of any sign added to a lane hi + lo, its rounding error
 * kept in lo. */
static inline void CSM_FN(simdl_add_any)(V *hi, V *lo, V a)
{
    V t = v_add(*hi, a);
    V b = v_sub(t, *hi);
    *lo = v_add(*lo, v_add(v_sub(*hi, v_sub(t, b)), v_sub(a, b)));
    *hi = t;
}

/* (s, c) += the lanes hi + lo (lanes started from 0; simd_lanes_acc). */
static inline void CSM_FN(simdl_flush0)(double *s, double *c, V hi, V lo)
{
    CSM_FN(simd_lanes_acc)(s, c, hi, lo);
}

/* The value of a Neumaier pair; an infinite sum leaves a NaN compensation
 * (inf - inf), and is then s itself. */
static inline double CSM_FN(simdl_total)(double s, double c)
{
    return s - s == 0.0 ? s + c : s;
}

/* 1 / T in the dtype; beyond its range (float32, T < 1 / FLT_MAX) the largest
 * finite value, which gives the same limit (0 at the maximum, -inf below). */
static inline CSM_T CSM_FN(simdl_inv_t)(double inv_temperature)
{
    const double big = sizeof(CSM_T) == 4 ? (double)FLT_MAX : DBL_MAX;
    return (CSM_T)(inv_temperature < big ? inv_temperature : big);
}

/* ---- tiny rows, soft targets ---------------------------------------------- */

/* The gradient of a probability-target row at one vector, g0 holding the
 * exponentials e: unit (p sum(a) - a) = unit (e sum(a) - a s) / s, formed as
 * ((a - e sum(a)) + a t) (-unit / s) (s = 1 + t, nscale = -unit / s): one
 * rounding for e sum(a) - a, none for a t. At the maximal entries (e = 1)
 * this is ((sum(a) - a) - a t) / s, free of the cancellation of
 * (1 / s) sum(a) - a; elsewhere its error is about an ulp of p sum(a) plus
 * one of a, as for p sum(a) - a. No compare, no branch (which the maximal
 * entries' own formula took per vector before). */
static inline __attribute__((always_inline)) V
CSM_FN(simdl_xp_grad)(V av, V g0, V tt, V sa, V nscale)
{
    return v_mul(v_fmadd(av, tt, v_fnmadd(g0, sa, av)), nscale);
}

/* 1 in the lanes of a tile whose row is ignored (target == ignore_index) or
 * past its nr valid rows, 0 elsewhere. */
static inline V CSM_FN(simdl_ignored_lanes)(const int64_t *target, int nr, int64_t ignore_index)
{
    CSM_T flag[VN];
    for (int i = 0; i < VN; i++)
        flag[i] = (i >= nr || target[i] == ignore_index) ? (CSM_T)1 : (CSM_T)0;
    return v_load(flag);
}

/* Cross-entropy against soft targets on U (1 or 2) tiles of tiny rows (nr
 * rows valid in the last), one row per lane, as simdl_xent_prob_row does a
 * row: a_c = (c_q q_c + c_0) w_c, loss sum(a) log s - sum(a z) (a z taken as
 * 0 where a is 0, even at a -inf logit), gradient columns into xv: unit
 * (p_c sum(a) - a_c) as simdl_xp_grad forms it. q is the target
 * tile qv (probability targets) or, with `onehot`, the one-hot rows of the
 * class targets vk (label smoothing: c_q = 1 - e, c_0 = e / C), whose ignored
 * lanes (ig 1) get a zero loss and gradient; qv then only holds the a_c. With
 * has_w the class weights w (column c: w[c] in every lane); with `scaled`,
 * z = (x - m) vt (vt = 1 / T, unit includes it). */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_soft_tiles)(V xv[][CSM_TINY_MAX + VG], V ev[][CSM_TINY_MAX + VG],
                         V qv[][CSM_TINY_MAX + VG], const V *m, const V *vk, const V *ig,
                         const CSM_T *w, CSM_T c_q, CSM_T c_0, CSM_T *loss, int nr, int64_t cols,
                         const int has_grad, CSM_T unit, V vt, const int onehot, const int has_w,
                         const int scaled, const int U)
{
    const V zero = v_zero(), one = v_set1((CSM_T)1), vcq = v_set1(c_q), vc0 = v_set1(c_0);
    V t[2], sa[2], saz[2];
    CSM_FN(simd_tiny_sums_minus_one)(xv, m, cols, ev, vt, scaled, t, U);
    for (int u = 0; u < U; u++) sa[u] = saz[u] = zero;
    for (int64_t c = 0; c < cols; c++) {
        const V wc = has_w ? v_set1(w[c]) : one;
        for (int u = 0; u < U; u++) {
            V q = onehot ? v_blend(v_eq(vk[u], v_set1((CSM_T)c)), zero, one) : qv[u][c];
            V a = v_fmadd(vcq, q, vc0);
            if (has_w) a = v_mul(a, wc);
            if (onehot) a = v_blend(v_eq(ig[u], one), a, zero);
            V z = v_sub(xv[u][c], m[u]);
            if (scaled) z = v_mul(z, vt);
            sa[u] = v_add(sa[u], a);
            saz[u] = v_add(saz[u], v_blend(v_eq(a, zero), v_mul(a, z), zero));
            qv[u][c] = a;
        }
    }
    for (int u = 0; u < U; u++) {
        /* sum(a) log s is 0 where sum(a) is (log s is finite but in rows
         * holding a NaN) */
        V lv = CSM_FN(simd_nan_if_inf)(m[u], v_sub(v_mul(sa[u], CSM_FN(simd_log1p)(t[u])), saz[u]));
        if (onehot) lv = v_blend(v_eq(ig[u], one), lv, zero);
        if (u < U - 1 || nr == VN) v_store(loss + u * VN, lv);
        else v_store_tail(loss + u * VN, nr, lv);
    }
    if (!has_grad) return;
    V nscale[2];
    for (int u = 0; u < U; u++)
        nscale[u] = v_div(v_set1(-unit), CSM_FN(simd_nan_if_inf)(m[u], v_add(one, t[u])));
    for (int64_t c = 0; c < cols; c++) {
        for (int u = 0; u < U; u++) {
            V g = CSM_FN(simdl_xp_grad)(qv[u][c], ev[u][c], t[u], sa[u], nscale[u]);
            xv[u][c] = onehot ? v_blend(v_eq(ig[u], one), g, zero) : g;
        }
    }
}

/* Cross-entropy of tiny rows (simd_tiny_ok) against soft targets, tiles of
 * VN rows, two per step (simdl_soft_tiles): probability targets q (row
 * stride qs), or with `onehot` the class targets `target` (label smoothing,
 * ignore_index). */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_xent_soft_tiny_rows)(const CSM_T *x, int64_t xs, const CSM_T *q, int64_t qs,
                                  const int64_t *target, int64_t ignore_index, const CSM_T *w,
                                  CSM_T c_q, CSM_T c_0, CSM_T inv_t, CSM_T *loss, CSM_T *grad,
                                  int64_t gs, int64_t rows, int64_t cols, CSM_T unit,
                                  const int onehot, const int has_w, const int scaled)
{
    const V vt = v_set1(inv_t);
    const int64_t gstride = grad == NULL ? cols : gs;
    VI ix = vi_lanes_times(xs), ig = vi_lanes_times(gstride), iq = vi_lanes_times(onehot ? 0 : qs);
    V xv[2][CSM_TINY_MAX + VG], ev[2][CSM_TINY_MAX + VG], qv[2][CSM_TINY_MAX + VG];
    V m[2], vk[2] = {v_zero(), v_zero()}, iv[2] = {v_zero(), v_zero()};
    CSM_FN(simd_plan) plan;
    CSM_FN(simd_plan_build)(&plan, cols,
                            CSM_FN(simd_use_permutes)(rows, cols, xs, gstride) &&
                                (onehot || qs == cols));
    int64_t r = 0;
    while (r < rows) {
        const int U = rows - r >= 2 * VN ? 2 : 1;
        const int nr = U == 2 || rows - r >= VN ? VN : (int)(rows - r);
        for (int u = 0; u < U; u++) {
            const int64_t ru = r + u * VN;
            m[u] = CSM_FN(simd_tiny_load)(&plan, x + ru * xs, ix, nr, (rows - ru) * cols, xv[u]);
            if (onehot) {
                vk[u] = v_load_targets(target + ru, nr);
                iv[u] = CSM_FN(simdl_ignored_lanes)(target + ru, nr, ignore_index);
            } else {
                (void)CSM_FN(simd_tiny_load)(&plan, q + ru * qs, iq, nr, (rows - ru) * cols,
                                             qv[u]);
            }
        }
#define CSM_SOFT(UU)                                                                        \
    CSM_FN(simdl_soft_tiles)(xv, ev, qv, m, vk, iv, w, c_q, c_0, loss + r, nr, cols,         \
                             grad != NULL, unit, vt, onehot, has_w, scaled, UU)
        if (U == 2) CSM_SOFT(2);
        else CSM_SOFT(1);
#undef CSM_SOFT
        if (grad != NULL)
            for (int u = 0; u < U; u++)
                CSM_FN(simd_tiny_store)(&plan, grad + (r + u * VN) * gs, ig, nr, xv[u]);
        r += U * VN;
    }
}

/* ---- cross-entropy, class targets ---------------------------------------- */

/* U (<= 4) vectors of a class-target row with label smoothing, side by side:
 * x0[u] (masked-off lanes the maximum), tm the lanes in the row (tail), w0[u]
 * the class weights. Sets ex[u] to the exponentials (1 at the maximal entries
 * and in masked-off lanes; stored at g + u VN with has_grad, kk lanes of a tail)
 * and wz[u] to w_j z_j; the U exponentials in lock step (v_exp_nonpos_n). */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_xc_terms)(V *ex, V *wz, const V *x0, const V *w0, VM tm, V vm, V vinv_t, CSM_T *g,
                       int kk, const int has_w, const int has_grad, const int tail,
                       const int scaled, const int U)
{
    const V zero = v_zero();
    V z[4];
    for (int u = 0; u < U; u++) {
        z[u] = scaled ? v_mul(v_sub(x0[u], vm), vinv_t) : v_sub(x0[u], vm);
        ex[u] = z[u];
    }
    v_exp_nonpos_n(ex, ex, 0, U);
    for (int u = 0; u < U; u++) {
        if (has_grad) {
            if (tail) v_store_tail(g, kk, ex[u]);
            else v_store(g + u * VN, ex[u]);
        }
        V t = z[u];
        if (has_w) t = v_blend(v_eq(w0[u], zero), v_mul(w0[u], z[u]), zero);
        if (tail) t = v_blend(tm, zero, t);
        wz[u] = t;
    }
}

/* A class-target row with label smoothing e > 0 (rows without it are
 * simd_body.h's simd_xent_row): the loss (1 - e) w_k (log s - z_k)
 * + (e / n) sum_j w_j (log s - z_j) and its gradient. The row's maximum m is
 * given; returns the next row xn's when xn is not NULL (found by the
 * gradient's pass when there is one: the largest number or a NaN, as
 * log_softmax's). */
static inline __attribute__((always_inline)) CSM_T
CSM_FN(simdl_xent_smooth_row)(const CSM_T *xr, int64_t k, const CSM_T *w, double w_sum,
                              double e, CSM_T inv_t, CSM_T *loss, CSM_FN(simd_lossq) *lq,
                              CSM_T *gr, int64_t n,
                              double scale, CSM_FN(simd_pf) pf, CSM_T m, const CSM_T *xn,
                              CSM_T *scratch, const int has_w, const int has_grad,
                              const int scaled)
{
    /* the exponentials in the gradient row, or in the scratch row
     * (simd_scratch_rows), whence the gradient pass streams its row */
    CSM_T *er = has_grad && scratch != NULL ? scratch : gr;
    if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
        *loss = (CSM_T)NAN;
        if (has_grad) CSM_FN(simd_fill)(gr, n, (CSM_T)NAN);
        return xn != NULL ? CSM_FN(simd_row_max)(xn, n) : m;
    }
    const V vm = v_set1(m), vinv_t = v_set1(inv_t), ninf = v_set1((CSM_T)-INFINITY);
    const V allw = v_set1((CSM_T)1);
    const VM all = v_eq(vm, vm); /* every lane (m is finite) */
    double s_e = 0.0, c_e = 0.0, s_z = 0.0, c_z = 0.0;
    for (int64_t b = 0; b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        /* exponentials, the maximal ones (1) included, each through a
         * Fast2Sum into lanes biased to 4, four errors summed before they
         * join lo (simd_lane_add4s, as simd_row_sum_minus_one); w z terms
         * four vectors at a time into TwoSum lanes */
        const V four = v_set1((CSM_T)4);
        V h = four, l = v_zero(), zh = v_zero(), zl = v_zero();
        int fill = 0;
#define CSM_XC_TERMS(E, ZW, X, W, TM, J, KK, TAIL, U)                                   \
    CSM_FN(simdl_xc_terms)(E, ZW, X, W, TM, vm, vinv_t, has_grad ? er + (J) : NULL, KK,  \
                           has_w, has_grad, TAIL, scaled, U)
#define CSM_W(J) (has_w ? v_load(w + (J)) : allw)
        int64_t j = b;
        for (; j + 4 * VN <= end; j += 4 * VN) {
            V x4[4], w4[4], e[4], z[4];
            for (int u = 0; u < 4; u++) {
                x4[u] = v_load(xr + j + u * VN);
                w4[u] = CSM_W(j + u * VN);
            }
            CSM_XC_TERMS(e, z, x4, w4, all, j, VN, 0, 4);
            CSM_FN(simd_lane_add4s)(&h, &l, e[0], e[1], e[2], e[3]);
            CSM_FN(simd_pf_block)(pf, j);
            CSM_FN(simdl_add_any)(&zh, &zl, v_add(v_add(z[0], z[1]), v_add(z[2], z[3])));
        }
        for (; j < end; j += VN) {
            int kk = end - j < VN ? (int)(end - j) : VN;
            V e0, z0;
            if (kk == VN) {
                V x0 = v_load(xr + j), w0 = CSM_W(j);
                CSM_XC_TERMS(&e0, &z0, &x0, &w0, all, j, VN, 0, 1);
            } else {
                /* the maximum in the masked-off lanes: their terms are exp(0) = 1,
                 * taken off after the flush, as in simd_row_exp_store (a -inf
                 * filler sent the vector down the exponential's checked path) */
                V x0 = v_load_tail(xr + j, kk, vm);
                V w0 = has_w ? v_load_tail(w + j, kk, v_zero()) : allw;
                CSM_XC_TERMS(&e0, &z0, &x0, &w0, CSM_FN(simdl_tail_mask)(kk), j, kk, 1, 1);
                fill = VN - kk;
            }
            CSM_FN(simd_lane_add)(&h, &l, e0);
            CSM_FN(simdl_add_any)(&zh, &zl, z0);
        }
#undef CSM_XC_TERMS
#undef CSM_W
        CSM_FN(simd_lanes_flush_biased)(&s_e, &c_e, h, l, (CSM_T)4);
        s_e -= (double)fill; /* the tail's filler terms, exactly */
        CSM_FN(simdl_flush0)(&s_z, &c_z, zh, zl);
    }
    /* row sum of exp(z - max z), minus one: s_e - 1 is exact below 2, and
     * the small terms keep their relative accuracy (log1p) */
    const double t = (s_e - 1.0) + c_e;
    double wz = CSM_FN(simdl_total)(s_z, c_z);
    double zk = csm_rounded((double)((xr[k] - m) * inv_t));
    double wk = has_w ? (double)w[k] : 1.0;
    double c_nll = (1.0 - e) * wk;
    double share = e / (double)n;
    /* the loss (1 - e) w_k (log s - z_k) + share (w_sum log s - wz), queued
     * (simd_lossq, whose flush writes it) */
    CSM_FN(simd_lossq_push)(lq, loss, t, zk, c_nll, wz);
    if (!has_grad) return xn != NULL ? CSM_FN(simd_row_max)(xn, n) : m;
    double s = 1.0 + t;
    double a = c_nll + share * w_sum; /* sum of the target weights */
    double pk_minus_one = ((xr[k] == m) ? -t : (double)er[k] - s) / s;
    double unit = scale * (double)inv_t;
    const V factor = v_set1((CSM_T)(unit * a / s));
    const V sub = v_set1((CSM_T)(unit * share));
    V an = ninf;
#define CSM_NEXT_MAX (xn != NULL ? (void)(an = v_max(an, SIMD_LD(xn, ninf))) : (void)0)
    if (has_w)
        SIMD_ROW_OUT_AND(gr, n, er != gr,
                         v_fnmadd(sub, SIMD_LD(w, v_zero()), v_mul(SIMD_LD(er, v_zero()), factor)),
                         CSM_NEXT_MAX);
    else
        SIMD_ROW_OUT_AND(gr, n, er != gr, v_sub(v_mul(SIMD_LD(er, v_zero()), factor), sub),
                         CSM_NEXT_MAX);
#undef CSM_NEXT_MAX
    gr[k] = (CSM_T)(unit * (a * pk_minus_one + share * (w_sum - wk)));
    return xn != NULL ? v_hmax(an) : m;
}

/* The soft-target wrappers' switch: XS(onehot, has_w, scaled) for the
 * options in use (w, inv_t and onehot in scope). */
#define SIMDL_SOFT_SWITCH(XS)                                                   \
    switch ((w != NULL) | ((inv_t != (CSM_T)1) << 1) | ((onehot != 0) << 2)) { \
    case 0: XS(0, 0, 0); break;                                                 \
    case 1: XS(0, 1, 0); break;                                                 \
    case 2: XS(0, 0, 1); break;                                                 \
    case 3: XS(0, 1, 1); break;                                                 \
    case 4: XS(1, 0, 0); break;                                                 \
    case 5: XS(1, 1, 0); break;                                                 \
    case 6: XS(1, 0, 1); break;                                                 \
    default: XS(1, 1, 1); break;                                                \
    }

/* simdl_xent_soft_tiny_rows for every option: class targets with label
 * smoothing (onehot) or probability targets, weights or not, a temperature
 * or not. Not inlined into the row kernels' functions (see
 * simdl_xent_class_tiny). */
static __attribute__((noinline, flatten)) void
CSM_FN(simdl_xent_soft_tiny)(const CSM_T *x, int64_t xs, const CSM_T *q, int64_t qs,
                             const int64_t *target, int64_t ignore_index, const CSM_T *w,
                             CSM_T c_q, CSM_T c_0, CSM_T inv_t, CSM_T *loss, CSM_T *grad,
                             int64_t gs, int64_t rows, int64_t cols, CSM_T unit, int onehot)
{
#define CSM_XS(O, W, S)                                                                      \
    CSM_FN(simdl_xent_soft_tiny_rows)(x, xs, q, qs, target, ignore_index, w, c_q, c_0, inv_t,   \
                                      loss, grad, gs, rows, cols, unit, O, W, S)
    SIMDL_SOFT_SWITCH(CSM_XS)
#undef CSM_XS
}

/* Cross-entropy against soft targets on short rows (simd_short_ok), tiles of
 * VN rows loaded as columns (simd_short_load), the formulation of
 * simdl_soft_tiles: a_c = (c_q q_c + c_0) w_c, loss sum(a) log1p(t) -
 * sum(a z), gradient unit (p_c sum(a) - a_c) as simdl_xp_grad forms it;
 * probability targets q or, with `onehot`, the class targets (label
 * smoothing; ignored rows get a zero loss and gradient). The exponentials'
 * sum compensated per term as the short class-target tiles' (t = sum - 1
 * exact below 2), sum(a) and sum(a z) four columns at a time into TwoSum
 * lanes as the wide rows take them. Row by row, 32768 x 32 float32 took
 * 0.63x PyTorch's time with either, against 0.25x for the class-target
 * tiles' options. */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_xent_soft_short_rows)(const CSM_T *x, int64_t xs, const CSM_T *q, int64_t qs,
                                   const int64_t *target, int64_t ignore_index, const CSM_T *w,
                                   CSM_T c_q, CSM_T c_0, CSM_T inv_t, CSM_T *loss, CSM_T *grad,
                                   int64_t gs, int64_t rows, int64_t cols, CSM_T unit,
                                   const int onehot, const int has_w, const int scaled)
{
    V xv[CSM_SHORT_MAX + VN], ev[CSM_SHORT_MAX + VN], av[CSM_SHORT_MAX + VN];
    const V zero = v_zero(), one = v_set1((CSM_T)1), vcq = v_set1(c_q), vc0 = v_set1(c_0);
    const V vt = v_set1(inv_t), nunit = v_set1(-unit);
    const CSM_T *gpf = CSM_FN(simd_short_out_pf)(grad, gs, cols);
    for (int64_t r = 0; r < rows; r += VN) {
        CSM_FN(simd_tpf) pf;
        const int nr = CSM_FN(simd_short_rows)(x, xs, gpf, gs, r, rows, cols, &pf);
        V vk = zero, ig = zero;
        V m = CSM_FN(simd_short_load)(x + r * xs, xs, nr, cols, xv, 0);
        if (onehot) {
            vk = v_load_targets(target + r, nr);
            ig = CSM_FN(simdl_ignored_lanes)(target + r, nr, ignore_index);
        } else {
            CSM_FN(simd_tpf_set)(&pf, 1, q + (r + VN) * qs, qs, rows - r - VN, cols);
            (void)CSM_FN(simd_short_load)(q + r * qs, qs, nr, cols, av, 0);
        }
        V hi, lo, tl;
        if (scaled) {  /* z in xv, then exp(z - 0) */
            for (int64_t c = 0; c < cols; c++) xv[c] = v_mul(v_sub(xv[c], m), vt);
            CSM_FN(simd_short_exp_sum)(xv, zero, cols, ev, &hi, &lo, 1, 0, &pf);
        } else {
            CSM_FN(simd_short_exp_sum)(xv, m, cols, ev, &hi, &lo, 1, 0, &pf);
        }
        const V t = CSM_FN(simd_short_minus_one)(hi, lo, &tl);
        const V mz = scaled ? zero : m;
        V ah = zero, al = zero, zh = zero, zl = zero;
        for (int64_t c0 = 0; c0 < cols; c0 += 4) {
            V a4 = zero, z4 = zero;
            for (int64_t c = c0; c < c0 + 4 && c < cols; c++) {
                V qc = onehot ? v_blend(v_eq(vk, v_set1((CSM_T)c)), zero, one) : av[c];
                V a = v_fmadd(vcq, qc, vc0);
                if (has_w) a = v_fmadd(a, v_set1(w[c]), zero); /* as simdl_xp_a */
                if (onehot) a = v_blend(v_eq(ig, one), a, zero);
                a4 = v_add(a4, a);
                z4 = v_add(z4, v_blend(v_eq(a, zero), v_mul(a, v_sub(xv[c], mz)), zero));
                av[c] = a;
            }
            CSM_FN(simdl_add_any)(&ah, &al, a4);
            CSM_FN(simdl_add_any)(&zh, &zl, z4);
        }
        /* hi + lo where hi is finite; an infinite hi (a -inf logit with a
         * nonzero a) leaves a NaN lo and is the sum itself (simdl_total) */
        const V sa = v_blend(v_eq(v_sub(ah, ah), zero), ah, v_add(ah, al));
        const V saz = v_blend(v_eq(v_sub(zh, zh), zero), zh, v_add(zh, zl));
        /* sum(a) log s is 0 where sum(a) is (log s is finite but in rows
         * holding a NaN) */
        V lv = CSM_FN(simd_nan_if_inf)(m, v_sub(v_mul(sa, CSM_FN(simd_log1p)(t)), saz));
        if (onehot) lv = v_blend(v_eq(ig, one), lv, zero);
        if (nr == VN) v_store(loss + r, lv);
        else v_store_tail(loss + r, nr, lv);
        if (grad == NULL) continue;
        const V nscale = v_div(nunit, CSM_FN(simd_nan_if_inf)(m, v_add(one, t)));
        for (int64_t c = 0; c < cols; c++) {
            V g = CSM_FN(simdl_xp_grad)(av[c], ev[c], t, sa, nscale);
            ev[c] = onehot ? v_blend(v_eq(ig, one), g, zero) : g;
        }
        CSM_FN(simd_short_store)(grad + r * gs, gs, nr, cols, ev, CSM_SHORT_MUL, one, one, one);
    }
}

/* simdl_xent_soft_short_rows for every option (as simdl_xent_soft_tiny). */
static __attribute__((noinline, flatten)) void
CSM_FN(simdl_xent_soft_short)(const CSM_T *x, int64_t xs, const CSM_T *q, int64_t qs,
                              const int64_t *target, int64_t ignore_index, const CSM_T *w,
                              CSM_T c_q, CSM_T c_0, CSM_T inv_t, CSM_T *loss, CSM_T *grad,
                              int64_t gs, int64_t rows, int64_t cols, CSM_T unit, int onehot)
{
#define CSM_XS(O, W, S)                                                                       \
    CSM_FN(simdl_xent_soft_short_rows)(x, xs, q, qs, target, ignore_index, w, c_q, c_0, inv_t,  \
                                       loss, grad, gs, rows, cols, unit, O, W, S)
    SIMDL_SOFT_SWITCH(CSM_XS)
#undef CSM_XS
}
#undef SIMDL_SOFT_SWITCH

/* Class-target rows of at most CSM_TINY_MAX columns (simd_tiny_ok) with any
 * option, in tiles of rows in SIMD lanes (row by row, 4096 x 10 float32 took
 * 10x the plain kernel's time with `weight` or label smoothing). Without
 * smoothing: the plain kernel's tiles, weights and ignored rows per lane;
 * with it: the probability-target tiles, the targets one-hot per lane. Not
 * inlined into simd_xent_class_rows (flattened with the row kernels): kernel_ab
 * 4096 x 10 float32, weight and temperature 0.93-0.97 of the time there. */
static __attribute__((noinline, flatten)) void
CSM_FN(simdl_xent_class_tiny)(const CSM_T *x, int64_t xs, const int64_t *target, const CSM_T *w,
                              int64_t ignore_index, double e, CSM_T inv_t, CSM_T *loss,
                              CSM_T *grad, int64_t gs, int64_t rows, int64_t cols, double unit)
{
    if (e != 0.0) {
        CSM_FN(simdl_xent_soft_tiny)(x, xs, NULL, 0, target, ignore_index, w, (CSM_T)(1.0 - e),
                                     (CSM_T)(e / (double)cols), inv_t, loss, grad, gs, rows, cols,
                                     (CSM_T)unit, 1);
    } else if (inv_t == (CSM_T)1) {
        CSM_FN(simd_xent_tiny_rows)(x, xs, target, w, ignore_index, loss, grad, gs, rows, cols,
                                    unit, inv_t, 1, 0);
    } else {
        CSM_FN(simd_xent_tiny_rows)(x, xs, target, w, ignore_index, loss, grad, gs, rows, cols,
                                    unit, inv_t, 1, 1);
    }
}

static __attribute__((flatten)) void
CSM_FN(simd_xent_class_rows)(const CSM_T *x, int64_t xs, const int64_t *target, const CSM_T *w,
                             int64_t ignore_index, double e, double inv_temperature, CSM_T *loss,
                             CSM_T *grad, int64_t gs, int64_t rows, int64_t cols, double scale)
{
    double w_sum = (double)cols;
    if (w != NULL) {
        double acc = 0.0, comp = 0.0;
        for (int64_t j = 0; j < cols; j++) CSM_FN(simd_acc)(&acc, &comp, (double)w[j]);
        w_sum = (double)(CSM_T)CSM_FN(simdl_total)(acc, comp);
    }
    CSM_T inv_t = CSM_FN(simdl_inv_t)(inv_temperature);
    const double unit = scale * (double)inv_t;
    int mode = (w != NULL) | ((grad != NULL) << 1) | ((inv_t != (CSM_T)1) << 2);
    if (CSM_FN(simd_tiny_ok)(cols, xs, grad == NULL ? cols : gs)) {
        CSM_FN(simdl_xent_class_tiny)(x, xs, target, w, ignore_index, e, inv_t, loss, grad, gs,
                                      rows, cols, unit);
        return;
    }
    if (e != 0.0 && CSM_FN(simd_short_ok)(cols)) {
        CSM_FN(simdl_xent_soft_short)(x, xs, NULL, 0, target, ignore_index, w, (CSM_T)(1.0 - e),
                                      (CSM_T)(e / (double)cols), inv_t, loss, grad, gs, rows, cols,
                                      (CSM_T)unit, 1);
        return;
    }
    if (e == 0.0 && (inv_t == (CSM_T)1 ? CSM_FN(simd_short_wide_ok)(cols)
                                       : CSM_FN(simd_short_ok)(cols))) {
        /* short rows in tiles, as the plain kernel's (kernel_ab float32 with
         * weights: 32768x32 0.42, 61680x17 0.33 of the row-by-row time; with
         * a temperature: 32768x32 0.51, 61680x17 0.31, 16384x64 0.73) */
        CSM_FN(simd_xent_short_opts)(x, xs, target, w, ignore_index, loss, grad, gs, rows, cols,
                                     unit, inv_t);
        return;
    }
    /* the exponentials in scratch rows for large gradients
     * (simd_scratch_rows): two for the pipelined rows without smoothing (the
     * pending row's and the current one's, simd_xent_row), one with it */
    CSM_T *scratch = grad != NULL ? CSM_FN(simd_scratch_rows)(cols, e == 0.0 ? 2 : 1) : NULL;
    const int64_t ss = CSM_FN(simd_scratch_stride)(cols);
    const int pipe = e == 0.0 && CSM_FN(simd_pipe)(cols);
    CSM_FN(simd_side) sd = CSM_FN(simd_side_new)(grad, scratch != NULL);
    /* each row's pass finds the maximum of the next row unless that row is
     * ignored (simd_xent_row, simdl_xent_smooth_row) */
    CSM_FN(simd_lossq) lq = CSM_FN(simd_lossq_new)(e != 0.0 ? SIMD_LOSSQ_SMOOTH : SIMD_LOSSQ_CLASS,
                                                   e / (double)cols, w_sum);
    CSM_T m = (CSM_T)0;
    int have_m = 0;
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *gr = grad == NULL ? NULL : grad + r * gs;
        int64_t k = target[r];
        if (k == ignore_index) {
            /* the pending row first: the scratch rows alternate by row */
            CSM_FN(simd_side_flush)(&sd, cols, SIMD_SIDE_MUL);
            loss[r] = (CSM_T)0;
            if (gr != NULL) CSM_FN(simd_fill)(gr, cols, (CSM_T)0);
            continue;
        }
        CSM_FN(simd_pf) pf = CSM_FN(simd_pipe_pf)(xr, xs, gr, gs, r, rows, cols, pipe);
        const CSM_T *xn = r + 1 < rows && target[r + 1] != ignore_index ? xr + xs : NULL;
        if (!have_m) m = CSM_FN(simd_row_max)(xr, cols);
        have_m = xn != NULL;
        if (e == 0.0) {
            /* the plain kernel's row, the weight applied per row */
            const double wk = w != NULL ? (double)w[k] : 1.0;
            CSM_T *er = scratch != NULL ? scratch + (r & 1) * ss : gr;
            if (inv_t == (CSM_T)1)
                m = CSM_FN(simd_xent_row)(xr, k, loss + r, &lq, gr, cols, inv_t, 0, wk, unit,
                                          pf, m, xn, er, &sd, pipe);
            else
                m = CSM_FN(simd_xent_row)(xr, k, loss + r, &lq, gr, cols, inv_t, 1, wk, unit,
                                          pf, m, xn, er, &sd, pipe);
            continue;
        }
#define CSM_XC(W, G, S)                                                                   \
    m = CSM_FN(simdl_xent_smooth_row)(xr, k, w, w_sum, e, inv_t, loss + r, &lq, gr, cols, scale, \
                                      pf, m, xn, scratch, W, G, S)
        switch (mode) {
        case 0: CSM_XC(0, 0, 0); break;
        case 1: CSM_XC(1, 0, 0); break;
        case 2: CSM_XC(0, 1, 0); break;
        case 3: CSM_XC(1, 1, 0); break;
        case 4: CSM_XC(0, 0, 1); break;
        case 5: CSM_XC(1, 0, 1); break;
        case 6: CSM_XC(0, 1, 1); break;
        default: CSM_XC(1, 1, 1); break;
        }
#undef CSM_XC
    }
    CSM_FN(simd_side_flush)(&sd, cols, SIMD_SIDE_MUL);
    CSM_FN(simd_lossq_flush)(&lq);
    CSM_FN(simd_scratch_done)(scratch);
}

/* ---- cross-entropy, probability targets ----------------------------------- */

/* a_j = (c_q q_j + c_0) w_j of one vector of a probability-target row (0 in
 * masked-off lanes). The product by w_j is an FMA with a zero addend (the
 * rounded product itself): a multiplication whose result had one use could
 * be fused by the compiler into the addition of sum(a) (GCC contracts
 * across statements), so that sum(a) rounded differently in the kernel's
 * instances with and without the gradient (1 ulp apart in the loss). */
static inline __attribute__((always_inline)) V
CSM_FN(simdl_xp_a)(V q0, V w0, VM tm, V vcq, V vc0, const int has_w, const int tail)
{
    V av = v_fmadd(vcq, q0, vc0);
    if (has_w) av = v_fmadd(av, w0, v_zero());
    return tail ? v_blend(tm, v_zero(), av) : av;
}

/* a at elements [j, j + kk) of the row (kk < VN: a tail, lanes past it 0). */
static inline __attribute__((always_inline)) V
CSM_FN(simdl_xp_a_at)(const CSM_T *qr, const CSM_T *w, int64_t j, int kk, VM all, V vcq, V vc0,
                      const int has_w)
{
    if (kk == VN)
        return CSM_FN(simdl_xp_a)(v_load(qr + j), has_w ? v_load(w + j) : v_zero(), all, vcq,
                                  vc0, has_w, 0);
    return CSM_FN(simdl_xp_a)(v_load_tail(qr + j, kk, v_zero()),
                              has_w ? v_load_tail(w + j, kk, v_zero()) : v_zero(),
                              CSM_FN(simdl_tail_mask)(kk), vcq, vc0, has_w, 1);
}

/* a_j z_j, 0 where a_j is 0 (even at a -inf logit). */
static inline __attribute__((always_inline)) V CSM_FN(simdl_xp_az)(V av, V z)
{
    return v_blend(v_eq(av, v_zero()), v_mul(av, z), v_zero());
}

/* a_j z_j as a plain product (NaN where a_j = 0 meets z_j = -inf: see
 * simdl_xp_az_exact), rounded by itself: an FMA with a zero addend, which
 * GCC does not contract into the sums' additions (a multiplication it
 * would, differently in the instances with and without the gradient). */
static inline __attribute__((always_inline)) V CSM_FN(simdl_xp_az_fast)(V av, V z)
{
    return v_fmadd(av, z, v_zero());
}

static inline __attribute__((always_inline)) V
CSM_FN(simdl_xp_z)(V x0, V vm, V vinv_t, const int scaled)
{
    return scaled ? v_mul(v_sub(x0, vm), vinv_t) : v_sub(x0, vm);
}

/* The row's maximum (as simd_row_max: the same lanes in the same order) and,
 * in the same pass, sum(a) as *s_a + *c_a: the maximum's pass only loads and
 * compares, so reading q there costs less than in the exponentials' pass,
 * whose vector units are busy. */
static inline __attribute__((always_inline)) CSM_T
CSM_FN(simdl_xp_max_asum)(const CSM_T *xr, const CSM_T *qr, const CSM_T *w, int64_t n, V vcq,
                          V vc0, double *s_a, double *c_a, const int has_w)
{
    const V ninf = v_set1((CSM_T)-INFINITY);
    const VM all = v_eq(vcq, vcq); /* every lane (c_q is finite) */
    V m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    for (int64_t b = 0; b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        V ah = v_zero(), al = v_zero();
        int64_t j = b;
        for (; j + 4 * VN <= end; j += 4 * VN) {
            m0 = v_max(m0, v_load(xr + j));
            m1 = v_max(m1, v_load(xr + j + VN));
            m2 = v_max(m2, v_load(xr + j + 2 * VN));
            m3 = v_max(m3, v_load(xr + j + 3 * VN));
            V a[4];
            for (int u = 0; u < 4; u++)
                a[u] = CSM_FN(simdl_xp_a_at)(qr, w, j + u * VN, VN, all, vcq, vc0, has_w);
            CSM_FN(simdl_add_any)(&ah, &al, v_add(v_add(a[0], a[1]), v_add(a[2], a[3])));
        }
        for (; j < end; j += VN) {
            const int kk = end - j < VN ? (int)(end - j) : VN;
            if (kk == VN) m0 = v_max(m0, v_load(xr + j));
            else m1 = v_max(m1, v_load_tail(xr + j, kk, ninf));
            CSM_FN(simdl_add_any)(&ah, &al,
                                  CSM_FN(simdl_xp_a_at)(qr, w, j, kk, all, vcq, vc0, has_w));
        }
        CSM_FN(simdl_flush0)(s_a, c_a, ah, al);
    }
    return v_hmax(v_max(v_max(m0, m1), v_max(m2, m3)));
}

/* sum(a z) of a row, a z = 0 where a = 0 (simdl_xp_az), in the blocks,
 * steps and order in which simdl_xent_prob_row's passes sum a z as plain
 * products (a multiplication instead of a compare, a multiplication and a
 * blend per vector: kernel_ab float32 64x1000 0.93-0.94x the time in three
 * of four runs): their sum is NaN where a = 0 meets z = -inf (a -inf logit
 * with no target mass), and is then taken again here. The plain products
 * equal the blended ones everywhere else (a zero a times a finite z is a
 * zero, whose sign the sums, started from +0, do not keep), so the loss is
 * the same as if blended throughout. */
static __attribute__((noinline)) double
CSM_FN(simdl_xp_az_exact)(const CSM_T *xr, const CSM_T *qr, const CSM_T *w, int64_t n, CSM_T m,
                          CSM_T inv_t, CSM_T c_q, CSM_T c_0, const int has_w, const int scaled)
{
    const V vcq = v_set1(c_q), vc0 = v_set1(c_0), vm = v_set1(m), vinv_t = v_set1(inv_t);
    const V ninf = v_set1((CSM_T)-INFINITY);
    const VM all = v_eq(vcq, vcq); /* every lane (c_q is finite) */
    double s_z = 0.0, c_z = 0.0;
    for (int64_t b = 0; b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        V zh = v_zero(), zl = v_zero(), az[4];
        int64_t j = b;
        for (; j + 4 * VN <= end; j += 4 * VN) {
            for (int u = 0; u < 4; u++) {
                V a0 = CSM_FN(simdl_xp_a_at)(qr, w, j + u * VN, VN, all, vcq, vc0, has_w);
                az[u] = CSM_FN(simdl_xp_az)(
                    a0, CSM_FN(simdl_xp_z)(v_load(xr + j + u * VN), vm, vinv_t, scaled));
            }
            CSM_FN(simdl_add_any)(&zh, &zl, v_add(v_add(az[0], az[1]), v_add(az[2], az[3])));
        }
        for (; j < end; j += VN) {
            const int kk = end - j < VN ? (int)(end - j) : VN;
            V x0 = kk < VN ? v_load_tail(xr + j, kk, ninf) : v_load(xr + j);
            V a0 = CSM_FN(simdl_xp_a_at)(qr, w, j, kk, all, vcq, vc0, has_w);
            CSM_FN(simdl_add_any)(
                &zh, &zl, CSM_FN(simdl_xp_az)(a0, CSM_FN(simdl_xp_z)(x0, vm, vinv_t, scaled)));
        }
        CSM_FN(simdl_flush0)(&s_z, &c_z, zh, zl);
    }
    return CSM_FN(simdl_total)(s_z, c_z);
}

/* simd_row_sum_minus_one_side without a side, for simdl_xent_prob_row: a
 * function of its own (not inlined), whose registers are allocated for its
 * loop alone. Inlined into the flattened probability-target kernel, beside
 * the other passes' constants and sums live across it, its loop kept its lo
 * lane sum on the stack (a chain through a store and a load every step). */
static __attribute__((noinline)) double
CSM_FN(simdl_xp_sums)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m, CSM_FN(simd_pf) pf)
{
    return CSM_FN(simd_row_sum_minus_one_side)(x, y, n, m, (CSM_T)1, 0, pf, NULL, SIMD_SIDE_MUL);
}

/* simdl_xp_sums with a temperature (z = (x - m) inv_t). */
static __attribute__((noinline)) double
CSM_FN(simdl_xp_sums_scaled)(const CSM_T *x, CSM_T *y, int64_t n, CSM_T m, CSM_T inv_t,
                             CSM_FN(simd_pf) pf)
{
    return CSM_FN(simd_row_sum_minus_one_side)(x, y, n, m, inv_t, 1, pf, NULL, SIMD_SIDE_MUL);
}

/* The gradient pass of a probability-target row whose exponentials are in
 * its gradient row gr (simdl_xent_prob_row): g = (a t + (a - e sum(a))) nscale
 * in place, and sum(a z) returned (z = (x - m) inv_t with `scaled`), taken
 * in the blocks, steps and order of the loss-only instances (the same
 * bits); the targets of the next row prefetched as pfq says. A function of
 * its own for each kind of row (simdl_xp_grad_pass*), whose registers are
 * allocated for its loop alone: inlined into the flattened kernel it kept
 * its lo lane sum on the stack, a chain through a store and a load every
 * step. */
static inline __attribute__((always_inline)) double
CSM_FN(simdl_xp_grad_body)(const CSM_T *xr, const CSM_T *qr, const CSM_T *w, CSM_T *gr, int64_t n,
                           CSM_T m, CSM_T inv_t, CSM_T c_q, CSM_T c_0, CSM_T t_, CSM_T asum,
                           CSM_T nscale_, CSM_FN(simd_pf) pfq, const int has_w, const int scaled)
{
    const V vcq = v_set1(c_q), vc0 = v_set1(c_0), vm = v_set1(m), vinv_t = v_set1(inv_t);
    const V tt = v_set1(t_), sa = v_set1(asum), nscale = v_set1(nscale_);
    const VM all = v_eq(vm, vm); /* every lane (m is finite) */
    double s_z = 0.0, c_z = 0.0;
    for (int64_t b = 0; b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        V zh = v_zero(), zl = v_zero();
        V az[4];
        int64_t j = b;
        for (; j + 4 * VN <= end; j += 4 * VN) {
            for (int u = 0; u < 4; u++) {
                const int64_t ju = j + u * VN;
                V x0 = v_load(xr + ju);
                V a0 = CSM_FN(simdl_xp_a_at)(qr, w, ju, VN, all, vcq, vc0, has_w);
                az[u] = CSM_FN(simdl_xp_az_fast)(a0, CSM_FN(simdl_xp_z)(x0, vm, vinv_t,
                                                                      scaled));
                v_store(gr + ju,
                        CSM_FN(simdl_xp_grad)(a0, v_load(gr + ju), tt, sa, nscale));
            }
            CSM_FN(simd_pf_block)(pfq, j);
            CSM_FN(simdl_add_any)(&zh, &zl,
                                  v_add(v_add(az[0], az[1]), v_add(az[2], az[3])));
        }
        for (; j < end; j += VN) {
            const int kk = end - j < VN ? (int)(end - j) : VN;
            const int tail = kk < VN;
            /* a tail's masked-off lanes filled with the maximum: z = 0 there,
             * and a z = 0 (a -inf filler made it 0 * -inf = NaN, and so sent
             * every row whose length is not a multiple of VN to
             * simdl_xp_az_exact: 16 % of the kernel's time on AVX-512 rows
             * of 1,000) */
            V x0 = tail ? v_load_tail(xr + j, kk, vm) : v_load(xr + j);
            V a0 = CSM_FN(simdl_xp_a_at)(qr, w, j, kk, all, vcq, vc0, has_w);
            V z0 = CSM_FN(simdl_xp_z)(x0, vm, vinv_t, scaled);
            CSM_FN(simdl_add_any)(&zh, &zl, CSM_FN(simdl_xp_az_fast)(a0, z0));
            V g0 = tail ? v_load_tail(gr + j, kk, v_zero()) : v_load(gr + j);
            V gv = CSM_FN(simdl_xp_grad)(a0, g0, tt, sa, nscale);
            if (tail) v_store_tail(gr + j, kk, gv);
            else v_store(gr + j, gv);
        }
        CSM_FN(simdl_flush0)(&s_z, &c_z, zh, zl);
    }
    return CSM_FN(simdl_total)(s_z, c_z);
}

#define CSM_XP_GRAD_PASS(NAME, W, S)                                                              \
    static __attribute__((noinline)) double CSM_FN(NAME)(                                        \
        const CSM_T *xr, const CSM_T *qr, const CSM_T *w, CSM_T *gr, int64_t n, CSM_T m,         \
        CSM_T inv_t, CSM_T c_q, CSM_T c_0, CSM_T t_, CSM_T asum, CSM_T nscale_,                 \
        CSM_FN(simd_pf) pfq)                                                                     \
    {                                                                                            \
        return CSM_FN(simdl_xp_grad_body)(xr, qr, w, gr, n, m, inv_t, c_q, c_0, t_, asum,        \
                                          nscale_, pfq, W, S);                                   \
    }
CSM_XP_GRAD_PASS(simdl_xp_grad_pass, 0, 0)
CSM_XP_GRAD_PASS(simdl_xp_grad_pass_w, 1, 0)
CSM_XP_GRAD_PASS(simdl_xp_grad_pass_s, 0, 1)
CSM_XP_GRAD_PASS(simdl_xp_grad_pass_ws, 1, 1)
#undef CSM_XP_GRAD_PASS

/* Rows of more than this many bytes take sum(a) in the maximum's pass
 * (simdl_xp_max_asum; kernel_ab float32 against the exponential pass taking
 * it, with the next row's targets prefetched: 512x2000 0.92, 4096x1000
 * 0.86, 2048x512 0.95, 8192x128 0.99, 16384x64 1.03, 32768x32 1.07). */
#define SIMDL_XP_EARLY_A_BYTES 512

/* A probability-target row: loss sum(a) log s - sum(a z) (z = (x - max) / T,
 * s = sum exp z) and, with has_grad, the gradient. Passes: the maximum (and
 * sum(a) on rows of more than SIMDL_XP_EARLY_A_BYTES); the exponentials
 * (stored in the gradient row), their sum (and sum(a) on shorter rows); then,
 * with has_grad, the gradient, which also takes sum(a z) (it holds z and a
 * anyway, and the exponential pass, holding three compensated sums, spilled
 * registers on AVX2); without, the exponential pass takes it. Both sum a z
 * in the same blocks, steps and order, as plain products (simdl_xp_az_fast;
 * simdl_xp_az_exact where they meet 0 * -inf): the loss is the same either
 * way. */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_xent_prob_row)(const CSM_T *xr, const CSM_T *qr, const CSM_T *w, CSM_T c_q,
                            CSM_T c_0, CSM_T inv_t, CSM_T *loss, CSM_FN(simd_lossq) *lq,
                            CSM_T *gr, int64_t n,
                            double scale, CSM_FN(simd_pf) pf, CSM_FN(simd_pf) pfq,
                            CSM_T *scratch, const int has_w, const int has_grad,
                            const int scaled)
{
    const V vcq = v_set1(c_q), vc0 = v_set1(c_0);
    double s_e = 0.0, c_e = 0.0, s_a = 0.0, c_a = 0.0, s_z = 0.0, c_z = 0.0;
    const int early_a = n * (int64_t)sizeof(CSM_T) > SIMDL_XP_EARLY_A_BYTES;
    /* with a scratch row (simd_scratch_rows: large gradients of long rows)
     * the exponentials go there and the exponential pass takes sum(a z), as
     * it does without the gradient (the same blocks and order: the same
     * loss); the gradient pass then reads no logits and streams its row */
    CSM_T *er = has_grad && scratch != NULL ? scratch : gr;
    const int az_early = !has_grad || er != gr;
    const int need_a = !early_a || az_early;
    CSM_T m = early_a ? CSM_FN(simdl_xp_max_asum)(xr, qr, w, n, vcq, vc0, &s_a, &c_a, has_w)
                      : CSM_FN(simd_row_max)(xr, n);
    if (m == (CSM_T)INFINITY || m == (CSM_T)-INFINITY) {
        *loss = (CSM_T)NAN;
        if (has_grad) CSM_FN(simd_fill)(gr, n, (CSM_T)NAN);
        return;
    }
    const V vm = v_set1(m), vinv_t = v_set1(inv_t);
    const VM all = v_eq(vm, vm); /* every lane (m is finite) */
    /* t = s - 1 */
    double t = 0.0;
    if (!need_a)
        /* the exponentials alone (into the gradient row; sum(a) came with
         * the maximum): class-target cross-entropy's row sum, in the steps,
         * blocks and order of the loop below (the same bits), whose loop
         * holds its lane sums alone and takes the exponential's constants
         * from memory (v_exp_nonpos_n_mem); the next row's targets are then
         * prefetched by the gradient pass. The loop below, its other sums
         * kept for the rows that take them, spilled a lane sum to the stack
         * here (perf annotate, Zen 3): kernel_ab against it, three runs,
         * in cache 0.90-0.98x the time (float32 64x1000, 32x4000, 128x300;
         * float64 and weight + smoothing + temperature alike); 4096x1000
         * and 256x32000 (memory-bound) 0.94-1.08x, as noisy as an A/A.
         * Inlined here it still kept its lo on the stack: it is called
         * (simdl_xp_sums), kernel_ab float32 against the inlined loop
         * 64x1000 0.92-0.96, 8192x1000 0.96, 256x32000 0.93-0.97. */
        t = scaled ? CSM_FN(simdl_xp_sums_scaled)(xr, er, n, m, inv_t, pf)
                   : CSM_FN(simdl_xp_sums)(xr, er, n, m, pf);
    for (int64_t b = 0; need_a && b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        /* exponentials as in simd_row_sum_minus_one (simd_lane_add4s);
         * a (unless early_a) and a z (without the gradient) four vectors at
         * a time into TwoSum lanes */
        const V four = v_set1((CSM_T)4);
        V h = four, l = v_zero();
        V ah = v_zero(), al = v_zero(), zh = v_zero(), zl = v_zero();
        V e[4], z[4];
        int fill = 0;
        int64_t j = b;
        for (; j + 4 * VN <= end; j += 4 * VN) {
            for (int u = 0; u < 4; u++) {
                z[u] = CSM_FN(simdl_xp_z)(v_load(xr + j + u * VN), vm, vinv_t, scaled);
                e[u] = z[u];
            }
            v_exp_nonpos_n(e, e, 0, 4);
            if (has_grad)
                for (int u = 0; u < 4; u++) v_store(er + j + u * VN, e[u]);
            CSM_FN(simd_lane_add4s)(&h, &l, e[0], e[1], e[2], e[3]);
            CSM_FN(simd_pf_block)(pf, j);
            CSM_FN(simd_pf_block)(pfq, j);
            if (need_a) {
                V a[4];
                for (int u = 0; u < 4; u++)
                    a[u] = CSM_FN(simdl_xp_a_at)(qr, w, j + u * VN, VN, all, vcq, vc0, has_w);
                if (!early_a)
                    CSM_FN(simdl_add_any)(&ah, &al,
                                          v_add(v_add(a[0], a[1]), v_add(a[2], a[3])));
                if (az_early)
                    CSM_FN(simdl_add_any)(&zh, &zl,
                                          v_add(v_add(CSM_FN(simdl_xp_az_fast)(a[0], z[0]),
                                                      CSM_FN(simdl_xp_az_fast)(a[1], z[1])),
                                                v_add(CSM_FN(simdl_xp_az_fast)(a[2], z[2]),
                                                      CSM_FN(simdl_xp_az_fast)(a[3], z[3]))));
            }
        }
        for (; j < end; j += VN) {
            const int kk = end - j < VN ? (int)(end - j) : VN;
            const int tail = kk < VN;
            /* the maximum in a tail's masked-off lanes: z = 0 there, whose
             * exp(0) = 1 is taken off after the flush (as in
             * simd_row_exp_store; a -inf filler sent the vector down the
             * exponential's checked path), and whose a z = 0 z = 0 */
            V z0 = CSM_FN(simdl_xp_z)(tail ? v_load_tail(xr + j, kk, vm) : v_load(xr + j), vm,
                                      vinv_t, scaled);
            if (tail) fill = VN - kk;
            V e0 = v_exp_nonpos(z0);
            if (has_grad) {
                if (tail) v_store_tail(er + j, kk, e0);
                else v_store(er + j, e0);
            }
            CSM_FN(simd_lane_add)(&h, &l, e0);
            if (need_a) {
                V a0 = CSM_FN(simdl_xp_a_at)(qr, w, j, kk, all, vcq, vc0, has_w);
                if (!early_a) CSM_FN(simdl_add_any)(&ah, &al, a0);
                if (az_early) CSM_FN(simdl_add_any)(&zh, &zl, CSM_FN(simdl_xp_az_fast)(a0, z0));
            }
        }
        CSM_FN(simd_lanes_flush_biased)(&s_e, &c_e, h, l, (CSM_T)4);
        s_e -= (double)fill; /* the tail's filler terms, exactly */
        if (!early_a) CSM_FN(simdl_flush0)(&s_a, &c_a, ah, al);
        if (az_early) CSM_FN(simdl_flush0)(&s_z, &c_z, zh, zl);
    }
    double asum = CSM_FN(simdl_total)(s_a, c_a);
    if (need_a) t = (s_e - 1.0) + c_e; /* as simd_row_sum_minus_one_side forms it */
    if (has_grad) {
        const CSM_T ns = (CSM_T)(-(scale * (double)inv_t) / (1.0 + t));
        if (er != gr) {
            /* the gradient from the scratch row's exponentials, streamed */
            const V nscale = v_set1(ns), tt = v_set1((CSM_T)t), sa = v_set1((CSM_T)asum);
            SIMD_ROW_OUT(gr, n, 1,
                         CSM_FN(simdl_xp_grad)(CSM_FN(simdl_xp_a_at)(qr, w, j, kk, all, vcq,
                                                                     vc0, has_w),
                                               SIMD_LD(er, v_zero()), tt, sa, nscale));
        } else {
            /* sum(a z) in this pass (simdl_xp_grad_pass); the next row's
             * targets prefetched there unless the exponentials' pass did */
            const CSM_FN(simd_pf) none = {NULL, NULL, 0};
#define CSM_XP_GRAD_ARGS                                                                         \
    xr, qr, w, gr, n, m, inv_t, c_q, c_0, (CSM_T)t, (CSM_T)asum, ns, need_a ? none : pfq
            s_z = has_w ? (scaled ? CSM_FN(simdl_xp_grad_pass_ws)(CSM_XP_GRAD_ARGS)
                                  : CSM_FN(simdl_xp_grad_pass_w)(CSM_XP_GRAD_ARGS))
                        : (scaled ? CSM_FN(simdl_xp_grad_pass_s)(CSM_XP_GRAD_ARGS)
                                  : CSM_FN(simdl_xp_grad_pass)(CSM_XP_GRAD_ARGS));
#undef CSM_XP_GRAD_ARGS
            c_z = 0.0;
        }
    }
    double az = CSM_FN(simdl_total)(s_z, c_z);
    if (az != az) /* a 0 * -inf product (or a NaN input, which gives NaN again) */
        az = CSM_FN(simdl_xp_az_exact)(xr, qr, w, n, m, inv_t, c_q, c_0, has_w, scaled);
    /* the loss sum(a) log s - sum(a z), queued (simd_lossq) */
    CSM_FN(simd_lossq_push)(lq, loss, t, az, asum, 0.0);
}

static __attribute__((flatten)) void
CSM_FN(simd_xent_prob_rows)(const CSM_T *x, int64_t xs, const CSM_T *q, int64_t qs, const CSM_T *w,
                            double e, double inv_temperature, CSM_T *loss, CSM_T *grad, int64_t gs,
                            int64_t rows, int64_t cols, double scale)
{
    CSM_T c_q = (CSM_T)(1.0 - e), c_0 = (CSM_T)(e / (double)cols);
    CSM_T inv_t = CSM_FN(simdl_inv_t)(inv_temperature);
    int mode = (w != NULL) | ((grad != NULL) << 1) | ((inv_t != (CSM_T)1) << 2);
    if (CSM_FN(simd_tiny_ok)(cols, xs, grad == NULL ? cols : gs) &&
        CSM_FN(simd_tiny_ok)(cols, qs, qs)) {
        /* (row by row, 4096 x 10 float32 took 13x the plain class-target
         * kernel's time) */
        CSM_FN(simdl_xent_soft_tiny)(x, xs, q, qs, NULL, 0, w, c_q, c_0, inv_t, loss, grad, gs,
                                     rows, cols, (CSM_T)(scale * (double)inv_t), 0);
        return;
    }
    if (CSM_FN(simd_short_ok)(cols)) {
        CSM_FN(simdl_xent_soft_short)(x, xs, q, qs, NULL, 0, w, c_q, c_0, inv_t, loss, grad, gs,
                                      rows, cols, (CSM_T)(scale * (double)inv_t), 0);
        return;
    }
    /* the exponentials in a scratch row for large gradients (simd_scratch_rows) */
    CSM_T *scratch = grad != NULL ? CSM_FN(simd_scratch_rows)(cols, 1) : NULL;
    CSM_FN(simd_lossq) lq = CSM_FN(simd_lossq_new)(SIMD_LOSSQ_PROB, 0.0, 0.0);
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs, *qr = q + r * qs;
        CSM_T *gr = grad == NULL ? NULL : grad + r * gs;
        CSM_FN(simd_pf) pf =
            CSM_FN(simd_pf_next)(xr + xs, gr == NULL ? NULL : gr + gs, r, rows, cols);
        /* the next row's targets too: the maximum's pass reads them */
        CSM_FN(simd_pf) pfq = CSM_FN(simd_pf_next)(qr + qs, NULL, r, rows, cols);
#define CSM_XP(W, G, S)                                                                  \
    CSM_FN(simdl_xent_prob_row)(xr, qr, w, c_q, c_0, inv_t, loss + r, &lq, gr, cols, scale, pf, \
                                pfq, scratch, W, G, S)
        switch (mode) {
        case 0: CSM_XP(0, 0, 0); break;
        case 1: CSM_XP(1, 0, 0); break;
        case 2: CSM_XP(0, 1, 0); break;
        case 3: CSM_XP(1, 1, 0); break;
        case 4: CSM_XP(0, 0, 1); break;
        case 5: CSM_XP(1, 0, 1); break;
        case 6: CSM_XP(0, 1, 1); break;
        default: CSM_XP(1, 1, 1); break;
        }
#undef CSM_XP
    }
    CSM_FN(simd_lossq_flush)(&lq);
    CSM_FN(simd_scratch_done)(scratch);
}

/* ---- backward passes ------------------------------------------------------ */

/* float32 sums in double: each vector's lanes widened to double and added
 * there (exact conversions; binary cross-entropy's loss sums, the backward
 * passes' short-row sums). */
#if defined(CSM_F32) && VN == 8
typedef __m256d CSM_FN(simdl_vd);
#define SIMDL_VD_ZERO _mm256_setzero_pd
#define SIMDL_VD_ADD_LO(acc, l) _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(l)))
#define SIMDL_VD_ADD_HI(acc, l) _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)))
#define SIMDL_VD_N 4
#elif defined(CSM_F32) && VN == 16
typedef __m512d CSM_FN(simdl_vd);
#define SIMDL_VD_ZERO _mm512_setzero_pd
#define SIMDL_VD_ADD_LO(acc, l) _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(l)))
#define SIMDL_VD_ADD_HI(acc, l)                                                 \
    _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_castpd_ps(                        \
                           _mm512_extractf64x4_pd(_mm512_castps_pd(l), 1))))
#define SIMDL_VD_N 8
#endif

#ifdef SIMDL_VD_N
/* The lanes of two double accumulators added in registers, (d0 + d1) halved
 * and added down to one: through the stack, the store's forwarding
 * lengthened each row's chain of latency. */
static inline double CSM_FN(simdl_vd_sum)(CSM_FN(simdl_vd) d0, CSM_FN(simdl_vd) d1)
{
#if VN == 8
    __m256d a4 = _mm256_add_pd(d0, d1);
#else
    __m512d a8 = _mm512_add_pd(d0, d1);
    __m256d a4 = _mm256_add_pd(_mm512_castpd512_pd256(a8), _mm512_extractf64x4_pd(a8, 1));
#endif
    __m128d a2 = _mm_add_pd(_mm256_castpd256_pd128(a4), _mm256_extractf128_pd(a4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(a2, _mm_unpackhi_pd(a2, a2)));
}

/* sum_j a_j b_j (b == NULL: sum_j a_j) of a short float32 row: the products
 * (each rounded once in float32, as in simdl_dot) widened to double and
 * summed there plainly, two accumulators, one horizontal sum at the end:
 * rounding errors of at most n 2^-53 of sum |a_j b_j|, far below the float32
 * result's, with no compensation chain to flush per row (a short row's time
 * went to simdl_dot's lane sums and their flush). For rows of up to
 * SIMDL_DOT_VD_MAX elements: on longer ones the chain of additions into two
 * accumulators is the slower (64 x 1000: 1.03-1.05x the time). */
#define SIMDL_DOT_VD_MAX 256
static inline __attribute__((always_inline)) double
CSM_FN(simdl_dot_vd)(const CSM_T *a, const CSM_T *b, int64_t n)
{
    CSM_FN(simdl_vd) d0 = SIMDL_VD_ZERO(), d1 = SIMDL_VD_ZERO();
    int64_t j = 0;
    for (; j + 2 * VN <= n; j += 2 * VN) {
        V p0 = b != NULL ? v_mul(v_load(a + j), v_load(b + j)) : v_load(a + j);
        V p1 = b != NULL ? v_mul(v_load(a + j + VN), v_load(b + j + VN)) : v_load(a + j + VN);
        d0 = SIMDL_VD_ADD_LO(d0, p0);
        d1 = SIMDL_VD_ADD_HI(d1, p0);
        d0 = SIMDL_VD_ADD_LO(d0, p1);
        d1 = SIMDL_VD_ADD_HI(d1, p1);
    }
    for (; j < n; j += VN) {
        int kk = n - j < VN ? (int)(n - j) : VN;
        V p = kk == VN ? v_load(a + j) : v_load_tail(a + j, kk, v_zero());
        if (b != NULL) p = v_mul(p, kk == VN ? v_load(b + j) : v_load_tail(b + j, kk, v_zero()));
        d0 = SIMDL_VD_ADD_LO(d0, p);
        d1 = SIMDL_VD_ADD_HI(d1, p);
    }
    return CSM_FN(simdl_vd_sum)(d0, d1);
}
#endif

/* The output pass of a backward row, done a step at a time beside the next
 * row's sum (simdl_dot): o[j] = f(g[j], y[j]) for j in [j, end) (whole lines
 * of o, which are streamed with `stream`), 4 VN elements per step. */
typedef struct {
    const CSM_T *g, *y;
    CSM_T *o;
    int64_t j, end;
    V d;
    int stream;
} CSM_FN(simdl_bw_out);

static inline __attribute__((always_inline)) V CSM_FN(simdl_bw_value)(V g, V y, V d,
                                                                      const int is_log)
{
    return is_log ? v_fnmadd(v_exp(y), d, g) : v_mul(y, v_sub(g, d));
}

static inline __attribute__((always_inline)) void
CSM_FN(simdl_bw_step)(CSM_FN(simdl_bw_out) *s, const int is_log)
{
    if (s == NULL || s->j + 4 * VN > s->end) return;
    for (int u = 0; u < 4; u++) {
        const int64_t j = s->j + u * VN;
        V v = CSM_FN(simdl_bw_value)(v_load(s->g + j), v_load(s->y + j), s->d, is_log);
        if (s->stream) CSM_FN(simd_stream)(s->o + j, v);
        else v_store(s->o + j, v);
    }
    s->j += 4 * VN;
}

/* sum_j a_j b_j (b == NULL: sum_j a_j): four terms per lane added pairwise,
 * then once into TwoSum lanes; blocks flushed into a Neumaier pair. With
 * `side`, a step of that output pass per four vectors. */
static inline __attribute__((always_inline)) double
CSM_FN(simdl_dot)(const CSM_T *a, const CSM_T *b, int64_t n, CSM_FN(simdl_bw_out) *side,
                  const int is_log)
{
    double s = 0.0, c = 0.0;
    for (int64_t j0 = 0; j0 < n; j0 += CSM_BLOCK) {
        int64_t end = n - j0 < CSM_BLOCK ? n : j0 + CSM_BLOCK;
        V h0 = v_zero(), l0 = v_zero(), h1 = v_zero(), l1 = v_zero();
        int64_t j = j0;
        if (b != NULL) {
            for (; j + 4 * VN <= end; j += 4 * VN) {
                V p0 = v_mul(v_load(a + j), v_load(b + j));
                V p1 = v_mul(v_load(a + j + VN), v_load(b + j + VN));
                p0 = v_fmadd(v_load(a + j + 2 * VN), v_load(b + j + 2 * VN), p0);
                p1 = v_fmadd(v_load(a + j + 3 * VN), v_load(b + j + 3 * VN), p1);
                CSM_FN(simdl_add_any)(&h0, &l0, p0);
                CSM_FN(simdl_add_any)(&h1, &l1, p1);
                CSM_FN(simdl_bw_step)(side, is_log);
            }
            for (; j < end; j += VN) {
                int kk = end - j < VN ? (int)(end - j) : VN;
                V p = kk == VN ? v_mul(v_load(a + j), v_load(b + j))
                               : v_mul(v_load_tail(a + j, kk, v_zero()),
                                       v_load_tail(b + j, kk, v_zero()));
                CSM_FN(simdl_add_any)(&h0, &l0, p);
            }
        } else {
            for (; j + 4 * VN <= end; j += 4 * VN) {
                V p0 = v_add(v_load(a + j), v_load(a + j + 2 * VN));
                V p1 = v_add(v_load(a + j + VN), v_load(a + j + 3 * VN));
                CSM_FN(simdl_add_any)(&h0, &l0, p0);
                CSM_FN(simdl_add_any)(&h1, &l1, p1);
                CSM_FN(simdl_bw_step)(side, is_log);
            }
            for (; j < end; j += VN) {
                int kk = end - j < VN ? (int)(end - j) : VN;
                V p = kk == VN ? v_load(a + j) : v_load_tail(a + j, kk, v_zero());
                CSM_FN(simdl_add_any)(&h0, &l0, p);
            }
        }
        CSM_FN(simdl_flush0)(&s, &c, h0, l0);
        CSM_FN(simdl_flush0)(&s, &c, h1, l1);
    }
    return CSM_FN(simdl_total)(s, c);
}

#ifndef SIMDL_ROW_TOTAL_SCALAR_MAX
#define SIMDL_ROW_TOTAL_SCALAR_MAX 16
#endif
/* sum_j a_j over a row of elementwise losses: plainly in double for short
 * float32 rows (simdl_dot_vd), compensated (simdl_dot) otherwise. */
static inline double CSM_FN(simdl_row_total)(const CSM_T *a, int64_t n)
{
#ifdef SIMDL_VD_N
    if (n <= SIMDL_DOT_VD_MAX) return CSM_FN(simdl_dot_vd)(a, NULL, n);
#else
    if (n <= SIMDL_ROW_TOTAL_SCALAR_MAX) {
        double s = 0.0, c = 0.0;
        for (int64_t j = 0; j < n; j++) {  /* TwoSum: no branch on the terms' sizes */
            const double b = (double)a[j], t = s + b, bb = t - s;
            c += (s - (t - bb)) + (b - bb);
            s = t;
        }
        return CSM_FN(simdl_total)(s, c);
    }
#endif
    return CSM_FN(simdl_dot)(a, NULL, n, NULL, 0);
}

/* softmax_backward's output pass of a row (g, y, o; d = its sum) done a step
 * at a time inside the sum of the next row (gn, yn), which it returns. Kept
 * out of line: inlined, it made the other rows' loops slower (1.12-1.14x on
 * 64 x 1000 float32, in cache). */
static __attribute__((noinline)) double
CSM_FN(simdl_softmax_backward_overlapped)(const CSM_T *g, const CSM_T *y, CSM_T *o,
                                          const CSM_T *gn, const CSM_T *yn, int64_t n, V d,
                                          int stream)
{
    /* whole lines of o from s.j to s.end (streamed), ordinary stores around */
    const int64_t h = CSM_FN(simd_head)(o, n);
    CSM_FN(simdl_bw_out) s = {g, y, o, h, h + (n - h) / SIMD_LINE * SIMD_LINE, d, stream};
#define CSM_OUT(AT) CSM_FN(simdl_bw_value)(SIMD_LD(g + (AT), v_zero()), \
                                           SIMD_LD(y + (AT), v_zero()), d, 0)
    SIMD_ROW_OUT(o, h, 0, CSM_OUT(0));
    const double next = CSM_FN(simdl_dot)(gn, yn, n, &s, 0);
    for (; s.j < s.end; s.j += VN) {
        V v = CSM_FN(simdl_bw_value)(v_load(g + s.j), v_load(y + s.j), d, 0);
        if (stream) CSM_FN(simd_stream)(o + s.j, v);
        else v_store(o + s.j, v);
    }
    SIMD_ROW_OUT(o + s.end, n - s.end, 0, CSM_OUT(s.end));
#undef CSM_OUT
    return next;
}

/* The backward passes on rows of at most CSM_TINY_MAX columns (simd_tiny_ok
 * for all three arrays): VN rows per tile, one per lane, loaded, transposed
 * and stored as the forward kernels' tiles (simd_tiny_load / _store, one plan
 * for the three arrays: permutes where all are contiguous, gathers and
 * scatters otherwise). The row's sum, of g y (is_log = 0) or of g (is_log =
 * 1), term after term with TwoSum, the errors summed apart and added once (an
 * infinite sum is itself, as simdl_total); then the outputs. Row by row, a
 * 10-column float32 row took 4.4 ns per element, 4.8x PyTorch's. */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_backward_tiny)(const CSM_T *g, int64_t gs, const CSM_T *y, int64_t ys, CSM_T *out,
                            int64_t os, int64_t rows, int64_t cols, const int is_log)
{
    VI ig = vi_lanes_times(gs), iy = vi_lanes_times(ys), io = vi_lanes_times(os);
    V gv[CSM_TINY_MAX + VG], yv[CSM_TINY_MAX + VG];
    CSM_FN(simd_plan) plan;
    CSM_FN(simd_plan_build)(&plan, cols,
                            CSM_FN(simd_use_permutes)(rows, cols, gs, ys) && os == cols);
    for (int64_t r = 0; r < rows; r += VN) {
        const int nr = rows - r < VN ? (int)(rows - r) : VN;
        const int64_t avail = (rows - r) * cols;
        (void)CSM_FN(simd_tiny_load)(&plan, g + r * gs, ig, nr, avail, gv);
        (void)CSM_FN(simd_tiny_load)(&plan, y + r * ys, iy, nr, avail, yv);
        V hi = v_zero(), lo = v_zero();
        for (int64_t c = 0; c < cols; c++)
            CSM_FN(simdl_add_any)(&hi, &lo, is_log ? gv[c] : v_mul(gv[c], yv[c]));
        /* hi + lo where hi is finite; an infinite hi leaves a NaN lo */
        const V d = v_blend(v_eq(v_sub(hi, hi), v_zero()), hi, v_add(hi, lo));
        for (int64_t c = 0; c < cols; c++)
            gv[c] = CSM_FN(simdl_bw_value)(gv[c], yv[c], d, is_log);
        CSM_FN(simd_tiny_store)(&plan, out + r * os, io, nr, gv);
    }
}

/* float64 rows of up to SIMDL_BW_GROUP_BYTES, beyond the tiny tiles, go
 * through the backward passes VN rows at a time (simdl_backward_group) on
 * AVX2. kernel_ab on Zen 3 against row by row, 80 batches: softmax_backward
 * 65536x17 0.58x the time, 2048x24 0.60, 1024x32 0.69, 32768x32 0.74 (0.73-0.95
 * over four runs),
 * 4096x48 0.72, 1024x64 0.83, 16384x64 0.90; log_softmax_backward (whose
 * exponentials are most of its time) 0.83-0.97. At 128 columns and more the
 * group was slower out of cache (8192x128 1.06-1.22x). float32 rows, whose
 * sums the row kernel takes in double without a compensation (simdl_dot_vd),
 * took 1.07-1.39x the time so at 24-32 columns, and 0.85-1.16x (as noisy
 * as an A/A) with simdl_dot_vd's sums of four rows ended together across
 * the lanes: they stay row by row. Not measured on AVX-512 (eight rows a
 * group): off there. */
#define SIMDL_BW_GROUP (sizeof(CSM_T) == 8 && VN == 4)
/* float32 rows of two whole AVX2 vectors (16 columns) go row by row
 * (simdl_dot_vd's sums in double) instead of through the tiny tiles:
 * kernel_ab on Zen 3, 32768x16, softmax_backward 0.55x the tiles' time,
 * log_softmax_backward 0.61. At 8-12 columns the rows' tails made row by
 * row the slower (10 and 12 columns 1.3-1.4x). Not measured on AVX-512
 * (where 16 columns are one vector): off there. */
#define SIMDL_BW_ROWS_AT(cols) (sizeof(CSM_T) == 4 && VN == 8 && (cols) == 2 * VN)
#define SIMDL_BW_GROUP_BYTES 512

/* The backward passes of nr <= VN short rows: each row's sum (of g y, or of
 * g with is_log) in two pairs of TwoSum lanes, joined lane by lane; then the
 * rows' lanes transposed (row i in lane i) and added pairwise by TwoSum
 * across the rows at once, the lanes' rounding errors and lo lanes summed
 * apart and added once (an infinite sum is itself, as simdl_total); then
 * each row's output. Row by row, each short row's sum ended in a chain of
 * horizontal additions and scalar TwoSum steps (float64) that the next
 * row's work could not overlap. */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_backward_group)(const CSM_T *g, int64_t gs, const CSM_T *y, int64_t ys, CSM_T *out,
                             int64_t os, int nr, int64_t cols, int stream, const int is_log)
{
    const V zero = v_zero();
    V hs[VN], ls[VN];
    for (int i = 0; i < VN; i++) {
        if (i >= nr) {
            hs[i] = zero;
            ls[i] = zero;
            continue;
        }
        const CSM_T *a = g + i * gs, *b = y + i * ys;
        V h0 = zero, l0 = zero, h1 = zero, l1 = zero;
        int64_t j = 0;
        /* four vectors a step, added in pairs (as simdl_dot) */
        for (; j + 4 * VN <= cols; j += 4 * VN) {
            V p0, p1;
            if (is_log) {
                p0 = v_add(v_load(a + j), v_load(a + j + 2 * VN));
                p1 = v_add(v_load(a + j + VN), v_load(a + j + 3 * VN));
            } else {
                p0 = v_fmadd(v_load(a + j + 2 * VN), v_load(b + j + 2 * VN),
                             v_mul(v_load(a + j), v_load(b + j)));
                p1 = v_fmadd(v_load(a + j + 3 * VN), v_load(b + j + 3 * VN),
                             v_mul(v_load(a + j + VN), v_load(b + j + VN)));
            }
            CSM_FN(simdl_add_any)(&h0, &l0, p0);
            CSM_FN(simdl_add_any)(&h1, &l1, p1);
        }
        for (; j + 2 * VN <= cols; j += 2 * VN) {
            V p0 = is_log ? v_load(a + j) : v_mul(v_load(a + j), v_load(b + j));
            V p1 = is_log ? v_load(a + j + VN) : v_mul(v_load(a + j + VN), v_load(b + j + VN));
            CSM_FN(simdl_add_any)(&h0, &l0, p0);
            CSM_FN(simdl_add_any)(&h1, &l1, p1);
        }
        if (j < cols) {
            const int kk = cols - j < VN ? (int)(cols - j) : VN;
            V p = kk == VN ? v_load(a + j) : v_load_tail(a + j, kk, zero);
            if (!is_log)
                p = v_mul(p, kk == VN ? v_load(b + j) : v_load_tail(b + j, kk, zero));
            CSM_FN(simdl_add_any)(&h1, &l1, p);
            j += kk;
        }
        if (j < cols) { /* at most one more, a tail */
            const int kk = (int)(cols - j);
            V p = v_load_tail(a + j, kk, zero);
            if (!is_log) p = v_mul(p, v_load_tail(b + j, kk, zero));
            CSM_FN(simdl_add_any)(&h0, &l0, p);
        }
        V h = v_add(h0, h1), bb = v_sub(h, h0);
        V err = v_add(v_sub(h0, v_sub(h, bb)), v_sub(h1, bb));
        hs[i] = h;
        ls[i] = v_add(v_add(l0, l1), err);
    }
    v_transpose(hs);
    v_transpose(ls);
    V err = ls[0];
    for (int k = 1; k < VN; k++) err = v_add(err, ls[k]);
    for (int w = VN / 2; w >= 1; w /= 2)
        for (int k = 0; k < w; k++) {
            V a = hs[k], b = hs[k + w], t = v_add(a, b), bb = v_sub(t, a);
            err = v_add(err, v_add(v_sub(a, v_sub(t, bb)), v_sub(b, bb)));
            hs[k] = t;
        }
    /* hi + lo where hi is finite; an infinite hi leaves a NaN lo */
    const V dv = v_blend(v_eq(v_sub(hs[0], hs[0]), zero), hs[0], v_add(hs[0], err));
    CSM_T dl[VN];
    v_store(dl, dv);
    for (int i = 0; i < nr; i++) {
        const CSM_T *gr = g + i * gs, *yr = y + i * ys;
        const V d = v_set1(dl[i]);
        SIMD_ROW_OUT(out + i * os, cols, stream,
                     CSM_FN(simdl_bw_value)(SIMD_LD(gr, zero), SIMD_LD(yr, zero), d, is_log));
    }
}

/* softmax_backward (is_log = 0): y (g - sum(g y)); log_softmax_backward
 * (is_log = 1): g - exp(y) sum(g). Each output element is written once
 * (streamed for large outputs). A row's sum, then its output pass, which
 * prefetches the next row of g and y (when large inputs are streamed
 * through) into L1 for rows of up to CSM_PF_L1_BYTES, into L2 beyond. Longer
 * rows of softmax_backward instead run the output pass of row r a step at a
 * time inside the sum of row r + 1: the reads of the next row from memory,
 * the reads of this row from L2 and the writes overlap instead of following
 * one another (0.71-0.76x the time on 256 x 32000 float32 and float64;
 * log_softmax_backward's output pass, with its exponential, ran 1.02-1.26x
 * slower so). */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_backward_rows)(const CSM_T *g, int64_t gs, const CSM_T *y, int64_t ys, CSM_T *out,
                            int64_t os, int64_t rows, int64_t cols, const int is_log)
{
    /* (float64 log_softmax_backward rows of 16 columns, four whole vectors
     * each, stay out of the tiles: the tiles took 1.16x the row kernel's
     * time, 0.81-0.93x at 8-14 columns; kernel_ab, 4096 rows. They go to
     * simdl_backward_group: 0.78x the row kernel's time at 4096x16, 0.89x
     * at 65536x16) */
    if (CSM_FN(simd_tiny_ok)(cols, gs, ys) && CSM_FN(simd_tiny_ok)(cols, os, os) &&
        !(is_log && sizeof(CSM_T) == 8 && cols == 4 * VN) && !SIMDL_BW_ROWS_AT(cols)) {
        /* one instance per column count: its loops unrolled, the tile's
         * vectors in registers (with cols known only at run time GCC kept
         * gv and yv on the stack). kernel_ab on Zen 3 against the one
         * instance, softmax_backward float32 / float64: 262144x3 0.82 / 0.64,
         * 131072x4 0.94 / 0.54, 65536x10 0.63 / 0.89, 65536x15 0.71 / 0.97;
         * log_softmax_backward 0.67-1.02 */
        switch (cols) {
#define SIMDL_BW_TINY_CASE(C)                                                             \
    case C: CSM_FN(simdl_backward_tiny)(g, gs, y, ys, out, os, rows, C, is_log); return;
        SIMDL_BW_TINY_CASE(1) SIMDL_BW_TINY_CASE(2) SIMDL_BW_TINY_CASE(3)
        SIMDL_BW_TINY_CASE(4) SIMDL_BW_TINY_CASE(5) SIMDL_BW_TINY_CASE(6)
        SIMDL_BW_TINY_CASE(7) SIMDL_BW_TINY_CASE(8) SIMDL_BW_TINY_CASE(9)
        SIMDL_BW_TINY_CASE(10) SIMDL_BW_TINY_CASE(11) SIMDL_BW_TINY_CASE(12)
        SIMDL_BW_TINY_CASE(13) SIMDL_BW_TINY_CASE(14) SIMDL_BW_TINY_CASE(15)
        SIMDL_BW_TINY_CASE(16)
#undef SIMDL_BW_TINY_CASE
        default: CSM_FN(simdl_backward_tiny)(g, gs, y, ys, out, os, rows, cols, is_log); return;
        }
    }
    const int stream = csm_stream_hint;
    if (SIMDL_BW_GROUP && cols * (int64_t)sizeof(CSM_T) <= SIMDL_BW_GROUP_BYTES) {
        for (int64_t r = 0; r < rows; r += VN)
            CSM_FN(simdl_backward_group)(g + r * gs, gs, y + r * ys, ys, out + r * os, os,
                                         rows - r < VN ? (int)(rows - r) : VN, cols, stream,
                                         is_log);
        CSM_FN(simd_stream_end)(stream);
        return;
    }
    const int l1 = cols * (int64_t)sizeof(CSM_T) <= CSM_PF_L1_BYTES;
#ifdef SIMDL_VD_N
#define CSM_DOT(R, SIDE)                                                                 \
    (cols <= SIMDL_DOT_VD_MAX                                                            \
         ? CSM_FN(simdl_dot_vd)(g + (R) * gs, is_log ? NULL : y + (R) * ys, cols)        \
         : CSM_FN(simdl_dot)(g + (R) * gs, is_log ? NULL : y + (R) * ys, cols, SIDE, is_log))
#else
#define CSM_DOT(R, SIDE) \
    CSM_FN(simdl_dot)(g + (R) * gs, is_log ? NULL : y + (R) * ys, cols, SIDE, is_log)
#endif
    double next = 0.0; /* the sum of row r, when the previous row took it */
    int have_next = 0;
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *gr = g + r * gs, *yr = y + r * ys;
        CSM_T *o = out + r * os;
        const V d = v_set1((CSM_T)(have_next ? next : CSM_DOT(r, NULL)));
        have_next = 0;
#define CSM_BW CSM_FN(simdl_bw_value)(SIMD_LD(gr, v_zero()), SIMD_LD(yr, v_zero()), d, is_log)
        if (!is_log && !l1 && r + 1 < rows) {
            next = CSM_FN(simdl_softmax_backward_overlapped)(gr, yr, o, g + (r + 1) * gs,
                                                              y + (r + 1) * ys, cols, d, stream);
            have_next = 1;
            continue;
        }
        const char *pg = stream && r + 1 < rows ? (const char *)(gr + gs) : NULL;
        const char *py = (const char *)(yr + ys);
#define CSM_PF(HINT) (_mm_prefetch(pg + j * (int64_t)sizeof(CSM_T), HINT), \
                      _mm_prefetch(py + j * (int64_t)sizeof(CSM_T), HINT))
        if (pg == NULL)
            SIMD_ROW_OUT(o, cols, stream, CSM_BW);
        else if (l1)
            SIMD_ROW_OUT(o, cols, stream, (CSM_PF(_MM_HINT_T0), CSM_BW));
        else
            SIMD_ROW_OUT(o, cols, stream, (CSM_PF(_MM_HINT_T1), CSM_BW));
#undef CSM_PF
#undef CSM_BW
    }
#undef CSM_DOT
    CSM_FN(simd_stream_end)(stream);
}

static __attribute__((flatten)) void
CSM_FN(simd_softmax_backward_rows)(const CSM_T *g, int64_t gs, const CSM_T *y, int64_t ys,
                                   CSM_T *out, int64_t os, int64_t rows, int64_t cols)
{
    CSM_FN(simdl_backward_rows)(g, gs, y, ys, out, os, rows, cols, 0);
}

static __attribute__((flatten)) void
CSM_FN(simd_log_softmax_backward_rows)(const CSM_T *g, int64_t gs, const CSM_T *y, int64_t ys,
                                       CSM_T *out, int64_t os, int64_t rows, int64_t cols)
{
    CSM_FN(simdl_backward_rows)(g, gs, y, ys, out, os, rows, cols, 1);
}

/* ---- sigmoid family and binary cross-entropy with logits ---------------- */

/* sigmoid(v) = 1 / (1 + e) for v >= 0, e / (1 + e) below, e = exp(-|v|). */
static inline V CSM_FN(simdl_sigmoid)(V v, V ex)
{
    const V one = v_set1((CSM_T)1);
    V num = v_blend(v_gt(v_zero(), v), one, ex); /* v < 0: e; else (and NaN) 1 */
    return v_div(num, v_add(one, ex));
}

static inline V CSM_FN(simdl_abs)(V v)
{
    return v_max(v, v_sub(v_zero(), v)); /* NaN stays NaN (v_max returns its 2nd operand) */
}

static inline V CSM_FN(simdl_sigmoid_v)(V v)
{
    return CSM_FN(simdl_sigmoid)(v, v_exp_nonpos(v_sub(v_zero(), CSM_FN(simdl_abs)(v))));
}

/* The line of x at element j + CSM_BLOCK (4 KiB of float32 ahead, 8 of
 * float64) into L2 where that element is below `limit`, for the elementwise
 * kernels (sigmoid, log_sigmoid, binary cross-entropy): from memory, the
 * hardware's streams (which stop at each 4 KiB page) left them waiting on
 * their input (kernel_ab.py --isa avx512 with streamed output,
 * against none: float64 sigmoid 256x32000 0.56x the time, 4096x1000 0.68x,
 * log_sigmoid 0.73x / 0.77x; float32 log_sigmoid 0.78x / 0.97x, sigmoid
 * 0.95x / 1.02x; in cache, 64x1000, 0.99-1.01x). */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_pf_ahead)(const CSM_T *x, int64_t j, int64_t limit)
{
    if (j + CSM_BLOCK < limit) _mm_prefetch((const char *)(x + j + CSM_BLOCK), _MM_HINT_T1);
}

static __attribute__((flatten)) void
CSM_FN(simd_sigmoid_rows)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys, int64_t rows,
                          int64_t cols)
{
    const int stream = csm_stream_hint;
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *yr = y + r * ys;
        const int64_t limit = xs == cols ? (rows - r) * cols : cols;
        SIMD_ROW_OUT_AND(yr, cols, stream, CSM_FN(simdl_sigmoid_v)(SIMD_LD(xr, v_zero())),
                         CSM_FN(simdl_pf_ahead)(xr, j, limit));
    }
    CSM_FN(simd_stream_end)(stream);
}

/* e[0..n) = exp(-|x|) of x[0..n) (n <= CSM_BLOCK; e vector-aligned, and
 * whole vectors written: past n the exponentials of 0), four vectors in lock
 * step: the first of two loops over a block for the functions whose
 * exponential starts a long chain of dependent operations (binary
 * cross-entropy, log_sigmoid). */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_exp_neg_abs)(const CSM_T *x, CSM_T *e, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 * VN <= n; i += 4 * VN) {
        V e4[4];
        for (int u = 0; u < 4; u++)
            e4[u] = v_sub(v_zero(), CSM_FN(simdl_abs)(v_load(x + i + u * VN)));
        v_exp_nonpos_n(e4, e4, 0, 4);
        for (int u = 0; u < 4; u++) v_store(e + i + u * VN, e4[u]);
    }
    for (; i < n; i += VN) {
        int kk = n - i < VN ? (int)(n - i) : VN;
        V xv = kk == VN ? v_load(x + i) : v_load_tail(x + i, kk, v_zero());
        v_store(e + i, v_exp_nonpos(v_sub(v_zero(), CSM_FN(simdl_abs)(xv))));
    }
}

/* log sigmoid(v) = min(v, 0) - log1p(exp(-|v|)), given ex = exp(-|v|) */
static inline V CSM_FN(simdl_log_sigmoid_e)(V v, V ex)
{
    V neg = v_blend(v_gt(v_zero(), v), v_zero(), v); /* v < 0: v; else 0 (NaN: below) */
    return v_sub(neg, CSM_FN(simd_log1p)(ex));
}

/* Block by block: the exponentials first (simdl_exp_neg_abs), then log1p
 * (kernel_ab.py against both in one loop: float32 64 x 1000 0.67x the time,
 * 4096 x 1000 0.75x, 256 x 32000 0.72x; float64 0.63-0.67x; sigmoid, whose
 * chain is shorter, gained nothing so: 0.99-1.01x). */
static __attribute__((flatten)) void
CSM_FN(simd_log_sigmoid_rows)(const CSM_T *x, int64_t xs, CSM_T *y, int64_t ys, int64_t rows,
                              int64_t cols)
{
    const int stream = csm_stream_hint;
    CSM_T eb[CSM_BLOCK] __attribute__((aligned(64)));
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs;
        CSM_T *yr = y + r * ys;
        for (int64_t b = 0; b < cols; b += CSM_BLOCK) {
            const int64_t nb = cols - b < CSM_BLOCK ? cols - b : CSM_BLOCK;
            const CSM_T *xb = xr + b;
            CSM_FN(simdl_exp_neg_abs)(xb, eb, nb);
            /* eb read as x is (SIMD_LD): with streaming stores the output's
             * line boundaries set the steps, so the last one can start at
             * any element, and a whole vector there read past eb's end */
            const int64_t limit = xs == cols ? (rows - r) * cols - b : cols - b;
            SIMD_ROW_OUT_AND(yr + b, nb, stream,
                             CSM_FN(simdl_log_sigmoid_e)(SIMD_LD(xb, v_zero()),
                                                         SIMD_LD(eb, v_zero())),
                             CSM_FN(simdl_pf_ahead)(xb, j, limit));
        }
    }
    CSM_FN(simd_stream_end)(stream);
}

/* log1p(e) for e = exp(-|v|) in [0, 1] (or NaN) given rB = 1 / (2 + e):
 * 2 atanh(s) = 2s (1 + z P(z)), s = e / (2 + e) <= 1/3, z = s^2 <= 1/9, P a
 * polynomial fitted for this project (scripts/fit_log1p_unit.py: Remez, the
 * relative error of the whole weighted in) in place of atanh's series:
 * float32 degree 3, relative error 5.4e-9 (2^-27.5) with the coefficients
 * rounded to float, where the series to 1/13 had 1.5e-8 in two multiply-adds
 * more; float64 degree 9, 2.5e-18 (2^-58.5), where the series to 1/31 had
 * 1.8e-17 in five more. */
static inline V CSM_FN(simdl_log1p_unit)(V e, V rB)
{
    V s = v_mul(e, rB);
    V z = v_mul(s, s);
#ifdef CSM_F32
    V p = v_set1(0.14005993f);
    p = v_fmadd(p, z, v_set1(0.14000903f));
    p = v_fmadd(p, z, v_set1(0.20010763f));
    p = v_fmadd(p, z, v_set1(0.3333321f));
#else
    V p = v_set1(0.08504877500614118);
    p = v_fmadd(p, z, v_set1(0.04172486037031279));
    p = v_fmadd(p, z, v_set1(0.060524724321763666));
    p = v_fmadd(p, z, v_set1(0.06650560684333566));
    p = v_fmadd(p, z, v_set1(0.07693274197525883));
    p = v_fmadd(p, z, v_set1(0.09090872239431977));
    p = v_fmadd(p, z, v_set1(0.11111111976828092));
    p = v_fmadd(p, z, v_set1(0.14285714274058883));
    p = v_fmadd(p, z, v_set1(0.20000000000077559));
    p = v_fmadd(p, z, v_set1(0.33333333333333154));
#endif
    V s2 = v_add(s, s);
    return v_fmadd(v_mul(s2, z), p, s2);
}

/* U vectors (1 or 2) of binary cross-entropy given their e = exp(-|v|): the
 * losses into l[] and, with has_grad, the gradient times w * scale into g[].
 * One division gives both 1 / (1 + e) (the sigmoid) and 1 / (2 + e) (the
 * log1p): r = 1 / (A B). Written stage by stage over the U vectors: each
 * vector's chain (division, log1p series) is long and its operations depend
 * on one another, and two chains interleaved in the instruction stream keep
 * the FMA units busier than one after the other (with the exponentials in
 * the chain: 0.75-0.82x the time of one vector per step; four vectors
 * spilled registers, 1.06-1.08x of two). */
static inline __attribute__((always_inline)) void
CSM_FN(simdl_bce_steps)(const V *v, const V *y, const V *w, const V *p, const V *e, V vscale,
                        V *l, V *g, const int U, const int has_grad, const int has_w,
                        const int has_p)
{
    const V one = v_set1((CSM_T)1), zero = v_zero();
    const V *ex = e;
    V av[2], A[2], B[2], r[2], sp[2];
    for (int u = 0; u < U; u++) av[u] = CSM_FN(simdl_abs)(v[u]);
    for (int u = 0; u < U; u++) {
        A[u] = v_add(one, ex[u]);
        B[u] = v_add(v_set1((CSM_T)2), ex[u]);
    }
    for (int u = 0; u < U; u++) r[u] = v_div(one, v_mul(A[u], B[u]));
    for (int u = 0; u < U; u++) sp[u] = CSM_FN(simdl_log1p_unit)(ex[u], v_mul(A[u], r[u]));
    /* without pos_weight (p = 1: lw = 1, py = y) and without weight (w = 1)
     * the same values with fewer operations */
    for (int u = 0; u < U; u++) {
        V lw = has_p ? v_fmadd(v_sub(p[u], one), y[u], one) : one; /* 1 + (p - 1) y */
        V py = has_p ? v_mul(p[u], y[u]) : y[u];
        VM pos = v_eq(v_max(v[u], zero), v[u]);      /* v >= 0 (false for NaN) */
        V omy = v_sub(one, y[u]);
        V c = v_blend(pos, py, omy);
        V ca = v_blend(v_eq(c, zero), v_mul(c, av[u]), zero);
        V lu = has_p ? v_fmadd(lw, sp[u], ca) : v_add(sp[u], ca);
        /* a zero weight gives 0 where lu is infinite (0 * inf), not where it is NaN */
        l[u] = has_w ? v_blend(v_eq(w[u], zero), v_mul(w[u], lu),
                               v_blend(v_isnan(lu), zero, lu))
                     : lu;
        if (has_grad) {
            V sn = v_mul(ex[u], v_mul(B[u], r[u]));
            V gd = has_p ? v_blend(pos, v_fmadd(lw, sn, v_sub(zero, py)), v_fnmadd(lw, sn, omy))
                         : v_blend(pos, v_sub(sn, y[u]), v_sub(omy, sn));
            g[u] = has_w ? v_mul(v_mul(w[u], vscale), gd) : v_mul(vscale, gd);
        }
    }
}

static inline __attribute__((always_inline)) void
CSM_FN(simdl_bce_row)(const CSM_T *xr, const CSM_T *yr, const CSM_T *wr, const CSM_T *pr,
                      CSM_T *lr, double *row_loss, CSM_T *gr, int64_t n, int64_t pf_n, V vscale,
                      int64_t w_step, int64_t p_step, const int has_w, const int has_p,
                      const int has_loss, const int has_grad)
{
    const V one = v_set1((CSM_T)1);
    const V w_all = w_step ? one : v_set1(wr[0]), p_all = p_step ? one : v_set1(pr[0]);
    double s = 0.0, c = 0.0;
    CSM_T eb[CSM_BLOCK] __attribute__((aligned(64)));
    for (int64_t b = 0; b < n; b += CSM_BLOCK) {
        int64_t end = n - b < CSM_BLOCK ? n : b + CSM_BLOCK;
        V h = v_zero(), lo = v_zero();
#ifdef SIMDL_VD_N
        CSM_FN(simdl_vd) d0 = SIMDL_VD_ZERO(), d1 = SIMDL_VD_ZERO();
#endif
        /* the block's exponentials first (simdl_exp_neg_abs), then the rest:
         * with the exponentials in the same loop each vector's chain (exp,
         * division, log1p, some 100 operations) was too long for the
         * out-of-order window to overlap more than a few vectors
         * (kernel_ab.py float32: 64 x 1000 0.70x the time, 4096 x 1000
         * 0.81-0.85x, 256 x 32000 0.83-0.88x; a division in the first loop
         * too, or 1 or 4 vectors per step in the second: no better) */
        CSM_FN(simdl_exp_neg_abs)(xr + b, eb, end - b);
        int64_t j = b;
        for (; j + 2 * VN <= end; j += 2 * VN) {
            V v[2], y[2], w[2] = {w_all, w_all}, p[2] = {p_all, p_all}, l[2], g[2];
            const V e2[2] = {v_load(eb + (j - b)), v_load(eb + (j - b) + VN)};
            /* the next block's logits and targets (simdl_pf_ahead): the
             * exponentials' pass of each block reads the logits, and this
             * one the targets, in bursts (kernel_ab.py --isa avx512, row
             * sums and gradient: float32 256x32000 0.65-0.69x the time,
             * 4096x1000 0.75x, 1000000x3 0.82x; float64 0.82x, 0.67x, 0.96x;
             * in cache 0.98-1.0x) */
            for (int k = 0; k < 2 * VN; k += (int)SIMD_LINE) {
                CSM_FN(simdl_pf_ahead)(xr, j + k, pf_n);
                CSM_FN(simdl_pf_ahead)(yr, j + k, pf_n);
            }
            for (int u = 0; u < 2; u++) {
                v[u] = v_load(xr + j + u * VN);
                y[u] = v_load(yr + j + u * VN);
                if (w_step) w[u] = v_load(wr + j + u * VN);
                if (p_step) p[u] = v_load(pr + j + u * VN);
            }
            CSM_FN(simdl_bce_steps)(v, y, w, p, e2, vscale, l, g, 2, has_grad, has_w, has_p);
            for (int u = 0; u < 2; u++) {
                if (has_loss) {
                    v_store(lr + j + u * VN, l[u]);
                } else {
#ifdef SIMDL_VD_N
                    d0 = SIMDL_VD_ADD_LO(d0, l[u]);
                    d1 = SIMDL_VD_ADD_HI(d1, l[u]);
#else
                    CSM_FN(simdl_add_any)(&h, &lo, l[u]);
#endif
                }
                if (has_grad) v_store(gr + j + u * VN, g[u]);
            }
        }
        for (; j < end; j += VN) {
            int kk = end - j < VN ? (int)(end - j) : VN;
            V v, y, w = w_all, p = p_all, g;
            if (kk == VN) {
                v = v_load(xr + j);
                y = v_load(yr + j);
                if (w_step) w = v_load(wr + j);
                if (p_step) p = v_load(pr + j);
            } else {
                v = v_load_tail(xr + j, kk, v_zero());
                y = v_load_tail(yr + j, kk, v_zero());
                if (w_step) w = v_load_tail(wr + j, kk, v_zero());
                else w = v_blend(CSM_FN(simdl_tail_mask)(kk), v_zero(), w);
                if (p_step) p = v_load_tail(pr + j, kk, one);
            }
            V l;
            const V e1 = v_load(eb + (j - b));
            CSM_FN(simdl_bce_steps)(&v, &y, &w, &p, &e1, vscale, &l, &g, 1, has_grad, 1, has_p);
            if (has_loss) {
                if (kk == VN) v_store(lr + j, l);
                else v_store_tail(lr + j, kk, l);
            } else { /* tail lanes: w = 0, l = 0 */
#ifdef SIMDL_VD_N
                d0 = SIMDL_VD_ADD_LO(d0, l);
                d1 = SIMDL_VD_ADD_HI(d1, l);
#else
                CSM_FN(simdl_add_any)(&h, &lo, l);
#endif
            }
            if (has_grad) {
                if (kk == VN) v_store(gr + j, g);
                else v_store_tail(gr + j, kk, g);
            }
        }
#ifdef SIMDL_VD_N
        /* the block's lanes added plainly (simdl_vd_sum: rounding errors of
         * at most CSM_BLOCK 2^-53 of the block's sum of |l|, far below the
         * float32 result's), the blocks compensated; the lanes one by one
         * into (s, c), each a dependent Neumaier step, took a row of 32
         * columns 4x the time of its elements' own work */
        if (!has_loss) CSM_FN(simd_acc)(&s, &c, CSM_FN(simdl_vd_sum)(d0, d1));
        (void)h;
        (void)lo;
#else
        if (!has_loss) CSM_FN(simdl_flush0)(&s, &c, h, lo);
#endif
    }
    /* with per-element losses stored, their sum is taken from them */
    if (row_loss != NULL)
        *row_loss = has_loss ? CSM_FN(simdl_row_total)(lr, n) : CSM_FN(simdl_total)(s, c);
}

/* simdl_bce_row's sixteen instances, by the bits of `mode`: has_w 1, has_p 2,
 * has_loss 4, has_grad 8 (CSM_B(HW, HP, HL, HG), defined where it is used,
 * makes the call). */
#define SIMDL_BCE_SWITCH(mode)                                                               \
    switch (mode) {                                                                          \
    case 0: CSM_B(0, 0, 0, 0); break;                                                        \
    case 1: CSM_B(1, 0, 0, 0); break;                                                        \
    case 2: CSM_B(0, 1, 0, 0); break;                                                        \
    case 3: CSM_B(1, 1, 0, 0); break;                                                        \
    case 4: CSM_B(0, 0, 1, 0); break;                                                        \
    case 5: CSM_B(1, 0, 1, 0); break;                                                        \
    case 6: CSM_B(0, 1, 1, 0); break;                                                        \
    case 7: CSM_B(1, 1, 1, 0); break;                                                        \
    case 8: CSM_B(0, 0, 0, 1); break;                                                        \
    case 9: CSM_B(1, 0, 0, 1); break;                                                        \
    case 10: CSM_B(0, 1, 0, 1); break;                                                       \
    case 11: CSM_B(1, 1, 0, 1); break;                                                       \
    case 12: CSM_B(0, 0, 1, 1); break;                                                       \
    case 13: CSM_B(1, 0, 1, 1); break;                                                       \
    case 14: CSM_B(0, 1, 1, 1); break;                                                       \
    default: CSM_B(1, 1, 1, 1); break;                                                       \
    }

/* Short rows, stored one after the other (and so are every operand's): a
 * group of them, up to CSM_BLOCK elements, goes through simdl_bce_row as
 * one run with the elementwise losses stored (in `loss`, else in a
 * buffer), and each row's sum is then taken from them (simdl_row_total).
 * Row by row, each short row's chain (exponential, division, log1p, the
 * sum's reduction) was too short for the out-of-order window to overlap
 * with the next: float32 rows of 32 columns took 2.1 ns per element against
 * 0.6 on rows of 1,000 (kernel_ab --isa avx512: grouped, 0.27-0.31x the
 * time at 32 columns, 0.11x at 10, 0.09x at 3). The losses are
 * elementwise, so their values are the same whichever rows are grouped.
 * w and p: NULL-free here (simd_bce_rows), per element, scalar, or per
 * column (a row's worth repeated over the group's rows in a buffer, the
 * same for every group). Its own function: inlined beside the row-by-row
 * loop, the latter's float64 rows of 32 columns took 1.2x the time. */
static __attribute__((noinline, flatten)) void
CSM_FN(simd_bce_grouped)(const CSM_T *x, const CSM_T *y, const CSM_T *w, int64_t ws,
                         int64_t w_step, const CSM_T *p, int64_t ps, int64_t p_step,
                         CSM_T *loss, double *row_loss, CSM_T *grad, int64_t rows, int64_t cols,
                         int64_t group, V vscale, int mode)
{
    CSM_T lb[CSM_BLOCK] __attribute__((aligned(64)));
    CSM_T wb[CSM_BLOCK] __attribute__((aligned(64))), pb[CSM_BLOCK] __attribute__((aligned(64)));
    const int64_t span = (rows < group ? rows : group) * cols;
    if (w_step && ws == 0) {
        for (int64_t k = 0; k < span; k++) wb[k] = w[k % cols];
        w = wb;
    }
    if (p_step && ps == 0) {
        for (int64_t k = 0; k < span; k++) pb[k] = p[k % cols];
        p = pb;
    }
    mode = (mode & ~4) | ((loss != NULL || row_loss != NULL) << 2);
    for (int64_t r = 0; r < rows; r += group) {
        const int64_t nr = rows - r < group ? rows - r : group;
        CSM_T *lr = loss != NULL ? loss + r * cols : lb;
        CSM_T *gr = grad == NULL ? NULL : grad + r * cols;
#define CSM_B(HW, HP, HL, HG)                                                               \
    CSM_FN(simdl_bce_row)(x + r * cols, y + r * cols, w + r * ws, p + r * ps, lr, NULL, gr,  \
                          nr * cols, (rows - r) * cols, vscale, w_step, p_step, HW, HP, HL, HG)
        SIMDL_BCE_SWITCH(mode)
#undef CSM_B
        if (row_loss != NULL)
            for (int64_t i = 0; i < nr; i++)
                row_loss[r + i] = CSM_FN(simdl_row_total)(lr + i * cols, cols);
    }
}

static __attribute__((flatten)) void
CSM_FN(simd_bce_rows)(const CSM_T *x, int64_t xs, const CSM_T *y, int64_t ys, const CSM_T *w,
                      int64_t ws, int64_t w_step, const CSM_T *p, int64_t ps, int64_t p_step,
                      CSM_T *loss, int64_t ls, double *row_loss, CSM_T *grad, int64_t gs,
                      int64_t rows, int64_t cols, double scale)
{
    static const CSM_T one = (CSM_T)1;
    /* no weight / no pos_weight: the kernels that skip them (has_w, has_p 0) */
    int mode = (w != NULL) | ((p != NULL) << 1) | ((loss != NULL) << 2) | ((grad != NULL) << 3);
    if (w == NULL) { w = &one; ws = 0; w_step = 0; }
    if (p == NULL) { p = &one; ps = 0; p_step = 0; }
    const V vscale = v_set1((CSM_T)scale);
    /* short rows a group at a time (simd_bce_grouped); float64 rows whose
     * sums simdl_dot takes (longer than SIMDL_ROW_TOTAL_SCALAR_MAX) stay
     * row by row: grouped, the stores and the second reading of the losses
     * made 32 columns 1.16x the time (benchmarks/ab.py) */
    int64_t group = CSM_BLOCK / cols;
#ifndef SIMDL_VD_N
    if (row_loss != NULL && cols > SIMDL_ROW_TOTAL_SCALAR_MAX) group = 0;
#endif
    /* weights per element (step 1, stride cols), per column (step 1, stride
     * 0) or one value (step 0, stride 0); per row (step 0, a stride) is not */
    if (group >= 2 && rows >= 2 && xs == cols && ys == cols && (loss == NULL || ls == cols) &&
        (grad == NULL || gs == cols) && (ws == 0 || (w_step && ws == cols)) &&
        (ps == 0 || (p_step && ps == cols))) {
        CSM_FN(simd_bce_grouped)(x, y, w, ws, w_step, p, ps, p_step, loss, row_loss, grad, rows,
                                 cols, group, vscale, mode);
        return;
    }
    /* the prefetch runs on into the next rows where x and y are contiguous,
     * and the rows not short (float64 rows of 24-64 columns, which come this
     * way, took 1.01-1.05x the time with it, 128 columns 0.91x) */
    const int contiguous = xs == cols && ys == cols && cols * (int64_t)sizeof(CSM_T) >= 512;
    for (int64_t r = 0; r < rows; r++) {
        const CSM_T *xr = x + r * xs, *yr = y + r * ys, *wr = w + r * ws, *pr = p + r * ps;
        CSM_T *lr = loss == NULL ? NULL : loss + r * ls;
        CSM_T *gr = grad == NULL ? NULL : grad + r * gs;
        double *rl = row_loss == NULL ? NULL : row_loss + r;
        const int64_t pf_n = contiguous ? (rows - r) * cols : cols;
#define CSM_B(HW, HP, HL, HG)                                                                 \
    CSM_FN(simdl_bce_row)(xr, yr, wr, pr, lr, rl, gr, cols, pf_n, vscale, w_step, p_step, HW, HP, \
                          HL, HG)
        SIMDL_BCE_SWITCH(mode)
#undef CSM_B
    }
}
#undef SIMDL_BCE_SWITCH

#ifdef SIMDL_VD_N
#undef SIMDL_VD_ZERO
#undef SIMDL_VD_ADD_LO
#undef SIMDL_VD_ADD_HI
#undef SIMDL_VD_N
#undef SIMDL_DOT_VD_MAX
#endif
#undef SIMDL_BW_GROUP
#undef SIMDL_BW_GROUP_BYTES
