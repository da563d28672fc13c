/*
 * csoftmax column kernels: softmax, log_softmax and logsumexp along an axis
 * that is not the last one of a C-contiguous array (csoftmax.softmax(x,
 * axis=0), or the last axis of a Fortran-ordered array), with no transposed
 * copy.
 *
 * The array is seen as `outer` slabs of `n` rows of `inner` contiguous
 * elements; the reduction runs down each column of a slab (over the n rows):
 * element (o, i, j) at x + o * x_outer + i * x_row + j (strides in elements).
 * The output has its own strides, with contiguous columns too; it may alias x
 * exactly (in place), not otherwise. logsumexp writes `inner` contiguous values
 * per slab, slab o at out + o * inner.
 *
 * Conventions are those of csoftmax.h: an int status (CSOFTMAX_OK or a negative
 * CSOFTMAX_ERR_*), no allocation, no Python; the instruction set is the one
 * csoftmax_get_isa() reports, threads as csoftmax_set_num_threads() allows
 * (the columns are split into blocks, each computed whole by one thread, so
 * the results do not depend on the thread count).
 *
 * Numerics follow the row kernels: each column is shifted by its maximum m
 * (x - m taken exactly, its rounding error folded into the exponential, as
 * the row kernels do for float64 and for tiny float32 rows), the sum of the
 * exponentials kept with the rounding error of every addition (Fast2Sum) and
 * gathered in double, log(sum) taken as log1p(sum - 1); a
 * column holding NaN or +inf, or only -inf, gives NaN (logsumexp: NaN, +inf,
 * -inf respectively), as a row does.
 */
#ifndef CSOFTMAX_COLUMNS_H
#define CSOFTMAX_COLUMNS_H

#include "csoftmax.h"

#ifdef __cplusplus
extern "C" {
#endif

int csoftmax_softmax_cols_f32(const float *x, int64_t x_outer, int64_t x_row, float *y,
                              int64_t y_outer, int64_t y_row, int64_t outer, int64_t n,
                              int64_t inner);
int csoftmax_softmax_cols_f64(const double *x, int64_t x_outer, int64_t x_row, double *y,
                              int64_t y_outer, int64_t y_row, int64_t outer, int64_t n,
                              int64_t inner);
int csoftmax_log_softmax_cols_f32(const float *x, int64_t x_outer, int64_t x_row, float *y,
                                  int64_t y_outer, int64_t y_row, int64_t outer, int64_t n,
                                  int64_t inner);
int csoftmax_log_softmax_cols_f64(const double *x, int64_t x_outer, int64_t x_row, double *y,
                                  int64_t y_outer, int64_t y_row, int64_t outer, int64_t n,
                                  int64_t inner);
/* out[o * inner + j]; n == 0 gives -inf */
int csoftmax_logsumexp_cols_f32(const float *x, int64_t x_outer, int64_t x_row, float *out,
                                int64_t outer, int64_t n, int64_t inner);
int csoftmax_logsumexp_cols_f64(const double *x, int64_t x_outer, int64_t x_row, double *out,
                                int64_t outer, int64_t n, int64_t inner);

/* Cross-entropy, the classes down the columns (PyTorch's (N, C, d) input:
 * outer N, n = C, inner d), with class targets (target[o * inner + j], a
 * class in [0, n) or ignore_index, else CSOFTMAX_ERR_TARGET and nothing
 * written; q NULL) or probability targets (q, of x's shape, strides qo, qs,
 * contiguous columns; target NULL), weights (weight NULL: 1), label
 * smoothing e in [0, 1] and an inverse temperature inv_temperature > 0 (1:
 * none), PyTorch's semantics: with z = x inv_temperature, a_c = ((1 - e)
 * q_c + e / n) weight[c] (class targets: q one-hot; a = 0 where ignored),
 * loss[o * inner + j] = sum_c a_c (logsumexp(z) - z_c) (a z = 0 where a = 0),
 * 0 where ignored, NaN where the column's maximum is not finite (NaN, +inf,
 * or only -inf: the caller takes those columns through the row kernels);
 * grad (may be NULL; strides go, gs) = scale inv_temperature (sum(a)
 * softmax(z) - a), 0 in ignored columns. */
int csoftmax_cross_entropy_cols_f32(const float *x, int64_t x_outer, int64_t x_row,
                                    const int64_t *target, const float *q, int64_t q_outer,
                                    int64_t q_row, const float *weight, int64_t ignore_index,
                                    double label_smoothing, double inv_temperature, double scale,
                                    float *loss, float *grad, int64_t g_outer, int64_t g_row,
                                    int64_t outer, int64_t n, int64_t inner);
int csoftmax_cross_entropy_cols_f64(const double *x, int64_t x_outer, int64_t x_row,
                                    const int64_t *target, const double *q, int64_t q_outer,
                                    int64_t q_row, const double *weight, int64_t ignore_index,
                                    double label_smoothing, double inv_temperature, double scale,
                                    double *loss, double *grad, int64_t g_outer, int64_t g_row,
                                    int64_t outer, int64_t n, int64_t inner);

/* The backward passes down the columns (the classes' axis is the rows'
 * axis, as for the forward kernels): softmax's out = y (g - sum(g y)) and
 * log_softmax's out = g - exp(y) sum(g), each sum down a column; g, y and
 * out with their own strides and contiguous columns; out may be g or y
 * exactly (in place), and overlaps neither otherwise. */
#define CSMC_DECLARE_BACKWARD(name, T)                                                    \
    int name(const T *g, int64_t g_outer, int64_t g_row, const T *y, int64_t y_outer,     \
             int64_t y_row, T *out, int64_t out_outer, int64_t out_row, int64_t outer,    \
             int64_t n, int64_t inner);
CSMC_DECLARE_BACKWARD(csoftmax_softmax_backward_cols_f32, float)
CSMC_DECLARE_BACKWARD(csoftmax_softmax_backward_cols_f64, double)
CSMC_DECLARE_BACKWARD(csoftmax_log_softmax_backward_cols_f32, float)
CSMC_DECLARE_BACKWARD(csoftmax_log_softmax_backward_cols_f64, double)
#undef CSMC_DECLARE_BACKWARD

/* nll_loss with the classes down the columns: loss[o * inner + j] =
 * -weight[t] lp[o, t, j] (weight NULL: 1; t = target[o * inner + j]), 0
 * where t is ignore_index and where the weight is 0 and lp is not NaN;
 * CSOFTMAX_ERR_TARGET (nothing written) for a target outside [0, n) that
 * is not ignore_index. */
int csoftmax_nll_cols_f32(const float *log_probs, int64_t lp_outer, int64_t lp_row,
                          const int64_t *target, const float *weight, int64_t ignore_index,
                          float *loss, int64_t outer, int64_t n, int64_t inner);
int csoftmax_nll_cols_f64(const double *log_probs, int64_t lp_outer, int64_t lp_row,
                          const int64_t *target, const double *weight, int64_t ignore_index,
                          double *loss, int64_t outer, int64_t n, int64_t inner);

#ifdef __cplusplus
}
#endif
#endif /* CSOFTMAX_COLUMNS_H */
