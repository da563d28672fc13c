/*
 * Public entry points of the column kernels (columns.h): argument checks, the
 * kernel table of the instruction set csoftmax_get_isa() reports, and the
 * split into blocks of columns, handed out to OpenMP threads above the size
 * threshold the row kernels use (csm_threads_for, with the same guard against
 * an oversubscribed machine).
 */
#define CSMC_TYPES_ONLY
#include "columns_body.h"

#include <float.h>
#include <stddef.h>

#include "csoftmax_internal.h"

static void csmc_table(csmc_kernel_table *t)
{
    switch (csoftmax_get_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case CSOFTMAX_ISA_AVX512: csmc_fill_table_avx512(t); break;
    case CSOFTMAX_ISA_AVX2: csmc_fill_table_avx2(t); break;
#endif
    default: csmc_fill_table_scalar(t); break;
    }
}

/* Columns per block: as many whole cache lines of a row as keep the block
 * (n rows of it, its input and its output) within CSMC_BLOCK_BYTES, for
 * the second and third passes to find it in L2; at most CSMC_W columns,
 * and at least CSMC_MIN_RUN bytes of each row (taller blocks leave L2, and
 * their passes then stream through memory in runs long enough for the
 * prefetchers and the TLB). */
#define CSMC_BLOCK_BYTES ((int64_t)128 << 10)
#define CSMC_MIN_RUN ((int64_t)2048)
static int64_t csmc_width(int64_t n, int64_t inner, size_t es)
{
    const int64_t line = 64 / (int64_t)es, least = CSMC_MIN_RUN / (int64_t)es;
    int64_t w = CSMC_BLOCK_BYTES / (n * (int64_t)es) / line * line;
    if (w < least) w = least;
    if (w > CSMC_W) w = CSMC_W;
    return w < inner ? w : inner;
}

/* Every block of every slab through KERNEL_CALL, a statement using o (the
 * slab), j0 (the first column) and w (the block's columns): units u_ (slab,
 * block) in order on the calling thread, or handed out to an OpenMP team. */
#define CSMC_UNIT(u_, nb_, bw_, inner, KERNEL_CALL)                                      \
    do {                                                                                  \
        const int64_t o = (u_) / (nb_), j0 = (u_) % (nb_) * (bw_);                        \
        const int64_t w = (inner) - j0 < (bw_) ? (inner) - j0 : (bw_);                    \
        KERNEL_CALL;                                                                      \
    } while (0)
#ifdef _OPENMP
#define CSMC_SPLIT(outer, n, inner, es, KERNEL_CALL)                                      \
    do {                                                                                  \
        const int64_t bw_ = csmc_width((n), (inner), (es));                               \
        const int64_t nb_ = ((inner) + bw_ - 1) / bw_, units_ = (outer) * nb_;            \
        const int nt_ = csm_threads_for(units_, (n) * bw_);                               \
        if (nt_ <= 1) {                                                                   \
            for (int64_t u_ = 0; u_ < units_; u_++)                                       \
                CSMC_UNIT(u_, nb_, bw_, inner, KERNEL_CALL);                              \
        } else {                                                                          \
            int64_t helped_ = 0;                                                          \
            double start_ = omp_get_wtime(), caller_done_ = start_;                       \
            _Pragma("omp parallel num_threads(nt_) reduction(+:helped_)")                 \
            {                                                                             \
                const int me_ = omp_get_thread_num();                                     \
                _Pragma("omp for schedule(dynamic, 1) nowait")                            \
                for (int64_t u_ = 0; u_ < units_; u_++) {                                 \
                    CSMC_UNIT(u_, nb_, bw_, inner, KERNEL_CALL);                          \
                    helped_ += me_ != 0;                                                  \
                }                                                                         \
                if (me_ == 0) caller_done_ = omp_get_wtime();                             \
            }                                                                             \
            csm_parallel_done(units_, helped_, nt_, start_, caller_done_, omp_get_wtime()); \
        }                                                                                 \
    } while (0)
#else
#define CSMC_SPLIT(outer, n, inner, es, KERNEL_CALL)                                      \
    do {                                                                                  \
        const int64_t bw_ = csmc_width((n), (inner), (es));                               \
        const int64_t nb_ = ((inner) + bw_ - 1) / bw_, units_ = (outer) * nb_;            \
        for (int64_t u_ = 0; u_ < units_; u_++)                                           \
            CSMC_UNIT(u_, nb_, bw_, inner, KERNEL_CALL);                                  \
    } while (0)
#endif

static int csmc_check(const void *x, const void *y, int64_t outer, int64_t n, int64_t inner)
{
    if (outer < 0 || n < 0 || inner < 0) return CSOFTMAX_ERR_ARGUMENT;
    if (outer > 0 && n > 0 && inner > 0 && (x == NULL || y == NULL)) return CSOFTMAX_ERR_ARGUMENT;
    return CSOFTMAX_OK;
}

#define CSMC_DEFINE(name, T, field, op)                                                   \
    int name(const T *x, int64_t xo, int64_t xs, T *y, int64_t yo, int64_t ys,           \
             int64_t outer, int64_t n, int64_t inner)                                     \
    {                                                                                     \
        int st = csmc_check(x, y, outer, n, inner);                                       \
        if (st != CSOFTMAX_OK || outer == 0 || n == 0 || inner == 0) return st;           \
        csmc_kernel_table kt_;                                                            \
        csmc_table(&kt_);                                                                 \
        CSMC_SPLIT(outer, n, inner, sizeof(T),                                            \
                   kt_.field(x + o * xo + j0, xs, y + o * yo + j0, ys, n, w, op));        \
        return CSOFTMAX_OK;                                                               \
    }

CSMC_DEFINE(csoftmax_softmax_cols_f32, float, block_f32, 0)
CSMC_DEFINE(csoftmax_softmax_cols_f64, double, block_f64, 0)
CSMC_DEFINE(csoftmax_log_softmax_cols_f32, float, block_f32, 1)
CSMC_DEFINE(csoftmax_log_softmax_cols_f64, double, block_f64, 1)

#define CSMC_DEFINE_LSE(name, T, field)                                                   \
    int name(const T *x, int64_t xo, int64_t xs, T *out, int64_t outer, int64_t n,       \
             int64_t inner)                                                               \
    {                                                                                     \
        int st = csmc_check(x, out, outer, n, inner);                                     \
        if (st != CSOFTMAX_OK || outer == 0 || inner == 0) return st;                     \
        if (out == NULL) return CSOFTMAX_ERR_ARGUMENT;                                    \
        if (n == 0) {                                                                     \
            for (int64_t k = 0; k < outer * inner; k++) out[k] = (T)-INFINITY;           \
            return CSOFTMAX_OK;                                                           \
        }                                                                                 \
        csmc_kernel_table kt_;                                                            \
        csmc_table(&kt_);                                                                 \
        CSMC_SPLIT(outer, n, inner, sizeof(T),                                            \
                   kt_.field(x + o * xo + j0, xs, out + o * inner + j0, 0, n, w, 2));     \
        return CSOFTMAX_OK;                                                               \
    }

CSMC_DEFINE_LSE(csoftmax_logsumexp_cols_f32, float, block_f32)
CSMC_DEFINE_LSE(csoftmax_logsumexp_cols_f64, double, block_f64)

/* cross-entropy: class targets checked first (each in [0, n) or
 * ignore_index), then the blocks */
#define CSMC_DEFINE_XENT(name, T, field, big)                                             \
    int name(const T *x, int64_t xo, int64_t xs, const int64_t *target, const T *q,       \
             int64_t qo, int64_t qs, const T *weight, int64_t ignore_index,               \
             double label_smoothing, double inv_temperature, double scale, T *loss,       \
             T *grad, int64_t go, int64_t gs, int64_t outer, int64_t n, int64_t inner)    \
    {                                                                                     \
        int st = csmc_check(x, loss, outer, n, inner);                                    \
        if (st != CSOFTMAX_OK || outer == 0 || inner == 0) return st;                     \
        if (n == 0 || (target == NULL) == (q == NULL)) return CSOFTMAX_ERR_ARGUMENT;      \
        if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0) || !(inv_temperature > 0.0)) \
            return CSOFTMAX_ERR_ARGUMENT;                                                 \
        if (target != NULL && !csm_targets_ok(target, outer * inner, n, ignore_index))    \
            return CSOFTMAX_ERR_TARGET;                                                   \
        const T c_q = (T)(1.0 - label_smoothing), c_0 = (T)(label_smoothing / (double)n); \
        const T inv_t = (T)(inv_temperature < (big) ? inv_temperature : (big));           \
        csmc_kernel_table kt_;                                                            \
        csmc_table(&kt_);                                                                 \
        CSMC_SPLIT(outer, n, inner, sizeof(T),                                            \
                   kt_.field(x + o * xo + j0, xs, target == NULL ? NULL : target + o * inner + j0, \
                             weight, ignore_index, q == NULL ? NULL : q + o * qo + j0, qs, c_q, \
                             c_0, inv_t, scale, loss + o * inner + j0,                    \
                             grad == NULL ? NULL : grad + o * go + j0, gs, n, w));        \
        return CSOFTMAX_OK;                                                               \
    }

CSMC_DEFINE_XENT(csoftmax_cross_entropy_cols_f32, float, xent_f32, (double)FLT_MAX)
CSMC_DEFINE_XENT(csoftmax_cross_entropy_cols_f64, double, xent_f64, DBL_MAX)

/* the backward passes: out may be g or y exactly (each element is read
 * before it is written) */
#define CSMC_DEFINE_BACKWARD(name, T, field, log)                                         \
    int name(const T *g, int64_t go, int64_t gs, const T *y, int64_t yo, int64_t ys,     \
             T *out, int64_t oo, int64_t os, int64_t outer, int64_t n, int64_t inner)    \
    {                                                                                     \
        int st = csmc_check(g, out, outer, n, inner);                                     \
        if (st != CSOFTMAX_OK || outer == 0 || n == 0 || inner == 0) return st;           \
        if (y == NULL) return CSOFTMAX_ERR_ARGUMENT;                                      \
        csmc_kernel_table kt_;                                                            \
        csmc_table(&kt_);                                                                 \
        CSMC_SPLIT(outer, n, inner, sizeof(T),                                            \
                   kt_.field(g + o * go + j0, gs, y + o * yo + j0, ys, out + o * oo + j0, os, \
                             n, w, log));                                                 \
        return CSOFTMAX_OK;                                                               \
    }

CSMC_DEFINE_BACKWARD(csoftmax_softmax_backward_cols_f32, float, backward_f32, 0)
CSMC_DEFINE_BACKWARD(csoftmax_softmax_backward_cols_f64, double, backward_f64, 0)
CSMC_DEFINE_BACKWARD(csoftmax_log_softmax_backward_cols_f32, float, backward_f32, 1)
CSMC_DEFINE_BACKWARD(csoftmax_log_softmax_backward_cols_f64, double, backward_f64, 1)

/* nll_loss down the columns: one element per column gathered, no vector
 * layer (a loss per column, read where it lies); the row kernels'
 * arithmetic (losses_body.h, csl_nll_rows) */
#define CSMC_DEFINE_NLL(name, T)                                                          \
    int name(const T *lp, int64_t lo, int64_t ls, const int64_t *target, const T *weight, \
             int64_t ignore_index, T *loss, int64_t outer, int64_t n, int64_t inner)      \
    {                                                                                     \
        int st = csmc_check(lp, loss, outer, n, inner);                                   \
        if (st != CSOFTMAX_OK || outer == 0 || inner == 0) return st;                     \
        if (n == 0 || target == NULL) return CSOFTMAX_ERR_ARGUMENT;                       \
        if (!csm_targets_ok(target, outer * inner, n, ignore_index)) return CSOFTMAX_ERR_TARGET; \
        for (int64_t o = 0; o < outer; o++) {                                             \
            const T *slab = lp + o * lo;                                                  \
            const int64_t *t = target + o * inner;                                        \
            T *l = loss + o * inner;                                                      \
            for (int64_t j = 0; j < inner; j++) {                                         \
                const int64_t k = t[j];                                                   \
                if (k == ignore_index) {                                                  \
                    l[j] = (T)0;                                                          \
                    continue;                                                             \
                }                                                                         \
                const T wk = weight == NULL ? (T)1 : weight[k], v = slab[k * ls + j];     \
                /* a zero weight drops the term, even at lp = -inf */                     \
                l[j] = (wk == (T)0 && v == v) ? (T)0 : -wk * v;                           \
            }                                                                             \
        }                                                                                 \
        return CSOFTMAX_OK;                                                               \
    }

CSMC_DEFINE_NLL(csoftmax_nll_cols_f32, float)
CSMC_DEFINE_NLL(csoftmax_nll_cols_f64, double)
