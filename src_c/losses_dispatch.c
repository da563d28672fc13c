/*
 * Public entry points of the loss kernels (losses.h): argument checks, the
 * kernel table of the instruction set csoftmax_get_isa() reports (so
 * csoftmax_set_isa() switches these kernels too), and rows split across
 * OpenMP threads above a size threshold (CSM_SPLIT_ROWS, csoftmax_internal.h).
 */
#define CSL_TYPES_ONLY
#include "losses_body.h"

#include "csoftmax_internal.h"

static void csl_table(csl_kernel_table *t)
{
    switch (csoftmax_get_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    /* the explicit-SIMD kernels over the portable table: all but nll_loss
     * (a gather of one value per row, no vector code to gain) */
    case CSOFTMAX_ISA_AVX512:
        csl_fill_table_scalar(t);
        csm_fill_losses_avx512(t);
        break;
    case CSOFTMAX_ISA_AVX2:
        csl_fill_table_scalar(t);
        csm_fill_losses_avx2(t);
        break;
#endif
    default: csl_fill_table_scalar(t); break;
    }
}

static int csl_check(const void *x, const void *y, int64_t rows, int64_t cols)
{
    if (rows < 0 || cols < 0) return CSOFTMAX_ERR_ARGUMENT;
    if (rows > 0 && cols > 0 && (x == NULL || y == NULL)) return CSOFTMAX_ERR_ARGUMENT;
    return CSOFTMAX_OK;
}

static int csl_check_targets(const int64_t *target, int64_t rows, int64_t cols,
                             int64_t ignore_index)
{
    if (target == NULL) return CSOFTMAX_ERR_ARGUMENT;
    if (!csm_targets_ok(target, rows, cols, ignore_index)) return CSOFTMAX_ERR_TARGET;
    return CSOFTMAX_OK;
}

static int csl_check_options(double label_smoothing, double inv_temperature)
{
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0)) return CSOFTMAX_ERR_ARGUMENT;
    if (!(inv_temperature > 0.0 && isfinite(inv_temperature))) return CSOFTMAX_ERR_ARGUMENT;
    return CSOFTMAX_OK;
}

#define CSL_DEFINE_XENT_CLASS(name, T, field)                                                \
    int name(const T *x, int64_t xs, const int64_t *target, const T *weight,                 \
             int64_t ignore_index, double e, double inv_t, T *loss, T *grad, int64_t gs,     \
             int64_t rows, int64_t cols, double scale)                                       \
    {                                                                                        \
        int st = csl_check(x, loss, rows, cols);                                             \
        if (st == CSOFTMAX_OK) st = csl_check_options(e, inv_t);                             \
        if (st != CSOFTMAX_OK || rows == 0) return st;                                       \
        if (cols == 0) return CSOFTMAX_ERR_ARGUMENT;                                         \
        st = csl_check_targets(target, rows, cols, ignore_index);                            \
        if (st != CSOFTMAX_OK) return st;                                                    \
        csl_kernel_table kt_;                                                                 \
        csl_table(&kt_);                                                                      \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                                \
                       kt_.field(x + r0 * xs, xs, target + r0, weight, ignore_index, e,       \
                                inv_t, loss + r0, grad == NULL ? NULL : grad + r0 * gs, gs,  \
                                nr, cols, scale));                                           \
        return CSOFTMAX_OK;                                                                  \
    }

CSL_DEFINE_XENT_CLASS(csoftmax_xent_class_f32, float, xent_class_f32)
CSL_DEFINE_XENT_CLASS(csoftmax_xent_class_f64, double, xent_class_f64)

#define CSL_DEFINE_XENT_PROB(name, T, field)                                                 \
    int name(const T *x, int64_t xs, const T *q, int64_t qs, const T *weight, double e,      \
             double inv_t, T *loss, T *grad, int64_t gs, int64_t rows, int64_t cols,         \
             double scale)                                                                   \
    {                                                                                        \
        int st = csl_check(x, loss, rows, cols);                                             \
        if (st == CSOFTMAX_OK) st = csl_check(q, loss, rows, cols);                          \
        if (st == CSOFTMAX_OK) st = csl_check_options(e, inv_t);                             \
        if (st != CSOFTMAX_OK || rows == 0) return st;                                       \
        if (cols == 0) return CSOFTMAX_ERR_ARGUMENT;                                         \
        csl_kernel_table kt_;                                                                 \
        csl_table(&kt_);                                                                      \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                                \
                       kt_.field(x + r0 * xs, xs, q + r0 * qs, qs, weight, e, inv_t,          \
                                loss + r0, grad == NULL ? NULL : grad + r0 * gs, gs, nr,     \
                                cols, scale));                                               \
        return CSOFTMAX_OK;                                                                  \
    }

CSL_DEFINE_XENT_PROB(csoftmax_xent_prob_f32, float, xent_prob_f32)
CSL_DEFINE_XENT_PROB(csoftmax_xent_prob_f64, double, xent_prob_f64)

#define CSL_DEFINE_NLL(name, T, field)                                                       \
    int name(const T *lp, int64_t ls, const int64_t *target, const T *weight,                \
             int64_t ignore_index, T *loss, int64_t rows, int64_t cols)                      \
    {                                                                                        \
        int st = csl_check(lp, loss, rows, cols);                                            \
        if (st != CSOFTMAX_OK || rows == 0) return st;                                       \
        if (cols == 0) return CSOFTMAX_ERR_ARGUMENT;                                         \
        st = csl_check_targets(target, rows, cols, ignore_index);                            \
        if (st != CSOFTMAX_OK) return st;                                                    \
        csl_kernel_table kt_;                                                                 \
        csl_table(&kt_);                                                                      \
        kt_.field(lp, ls, target, weight, ignore_index, loss, rows, cols);                    \
        return CSOFTMAX_OK;                                                                  \
    }

CSL_DEFINE_NLL(csoftmax_nll_f32, float, nll_f32)
CSL_DEFINE_NLL(csoftmax_nll_f64, double, nll_f64)

#define CSL_DEFINE_BACKWARD(name, T, field)                                                  \
    int name(const T *g, int64_t gs, const T *y, int64_t ys, T *out, int64_t os,             \
             int64_t rows, int64_t cols)                                                     \
    {                                                                                        \
        int st = csl_check(g, out, rows, cols);                                              \
        if (st == CSOFTMAX_OK) st = csl_check(y, out, rows, cols);                           \
        if (st != CSOFTMAX_OK || rows == 0 || cols == 0) return st;                          \
        csl_kernel_table kt_;                                                                 \
        csl_table(&kt_);                                                                      \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                                \
                       kt_.field(g + r0 * gs, gs, y + r0 * ys, ys, out + r0 * os, os, nr,     \
                                cols));                                                      \
        return CSOFTMAX_OK;                                                                  \
    }

CSL_DEFINE_BACKWARD(csoftmax_softmax_backward_f32, float, softmax_backward_f32)
CSL_DEFINE_BACKWARD(csoftmax_softmax_backward_f64, double, softmax_backward_f64)
CSL_DEFINE_BACKWARD(csoftmax_log_softmax_backward_f32, float, log_softmax_backward_f32)
CSL_DEFINE_BACKWARD(csoftmax_log_softmax_backward_f64, double, log_softmax_backward_f64)

/* Elementwise maps. Short rows that follow one another in x and in y are
 * taken as rows of CSL_MAP_COLS elements (and one shorter row for the
 * rest): the kernels' work per row (the exponentials of a block first, then
 * the rest, and the rows' partial vectors) made float32 rows of 3 columns
 * 6.5x (sigmoid) and 9x (log_sigmoid) the time per element of rows of
 * 1,000. Each element's value does not depend on its place
 * (tests/test_long_rows.py), so the outputs are the same. */
#define CSL_MAP_COLS 4096
#define CSL_DEFINE_MAP(name, T, field)                                                       \
    int name(const T *x, int64_t xs, T *y, int64_t ys, int64_t rows, int64_t cols)           \
    {                                                                                        \
        int st = csl_check(x, y, rows, cols);                                                \
        if (st != CSOFTMAX_OK || rows == 0 || cols == 0) return st;                          \
        csl_kernel_table kt_;                                                                 \
        csl_table(&kt_);                                                                      \
        if (rows > 1 && cols < CSL_MAP_COLS && xs == cols && ys == cols) {                   \
            const int64_t n_ = rows * cols, full_ = n_ / CSL_MAP_COLS;                       \
            const int64_t rest_ = n_ - full_ * CSL_MAP_COLS;                                 \
            if (full_ > 0)                                                                   \
                CSM_SPLIT_ROWS(full_, CSL_MAP_COLS, sizeof(T),                               \
                               kt_.field(x + r0 * CSL_MAP_COLS, CSL_MAP_COLS,                \
                                         y + r0 * CSL_MAP_COLS, CSL_MAP_COLS, nr,            \
                                         CSL_MAP_COLS));                                     \
            if (rest_ > 0)                                                                   \
                kt_.field(x + full_ * CSL_MAP_COLS, rest_, y + full_ * CSL_MAP_COLS, rest_,  \
                          1, rest_);                                                         \
            return CSOFTMAX_OK;                                                              \
        }                                                                                    \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                                \
                       kt_.field(x + r0 * xs, xs, y + r0 * ys, ys, nr, cols));               \
        return CSOFTMAX_OK;                                                                  \
    }

CSL_DEFINE_MAP(csoftmax_sigmoid_f32, float, sigmoid_f32)
CSL_DEFINE_MAP(csoftmax_sigmoid_f64, double, sigmoid_f64)
CSL_DEFINE_MAP(csoftmax_log_sigmoid_f32, float, log_sigmoid_f32)
CSL_DEFINE_MAP(csoftmax_log_sigmoid_f64, double, log_sigmoid_f64)

#define CSL_DEFINE_BCE(name, T, field)                                                       \
    int name(const T *x, int64_t xs, const T *y, int64_t ys, const T *w, int64_t ws,         \
             int64_t w_step, const T *p, int64_t ps, int64_t p_step, T *loss, int64_t ls,    \
             double *row_loss, T *grad, int64_t gs, int64_t rows, int64_t cols, double scale)\
    {                                                                                        \
        int st = csl_check(x, y, rows, cols);                                                \
        if (st != CSOFTMAX_OK || rows == 0 || cols == 0) return st;                          \
        if ((w_step != 0 && w_step != 1) || (p_step != 0 && p_step != 1))                    \
            return CSOFTMAX_ERR_ARGUMENT;                                                    \
        csl_kernel_table kt_;                                                                 \
        csl_table(&kt_);                                                                      \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                                \
                       kt_.field(x + r0 * xs, xs, y + r0 * ys, ys,                            \
                                w == NULL ? NULL : w + r0 * ws, ws, w_step,                  \
                                p == NULL ? NULL : p + r0 * ps, ps, p_step,                  \
                                loss == NULL ? NULL : loss + r0 * ls, ls,                    \
                                row_loss == NULL ? NULL : row_loss + r0,                     \
                                grad == NULL ? NULL : grad + r0 * gs, gs, nr, cols, scale)); \
        return CSOFTMAX_OK;                                                                  \
    }

CSL_DEFINE_BCE(csoftmax_bce_f32, float, bce_f32)
CSL_DEFINE_BCE(csoftmax_bce_f64, double, bce_f64)
