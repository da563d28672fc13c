/*
 * csoftmax losses: C API of the training kernels (cross-entropy with every
 * PyTorch option, nll_loss, softmax / log_softmax backward, sigmoid,
 * log_sigmoid, binary cross-entropy with logits).
 *
 * Conventions are those of csoftmax.h: `rows` rows of `cols` contiguous
 * elements, row r at `base + r * row_stride` (strides in elements), an int
 * status (CSOFTMAX_OK or a negative CSOFTMAX_ERR_*), no allocation, no Python.
 * The instruction set is the one csoftmax_get_isa() reports, so
 * csoftmax_set_isa() switches these kernels too. Outputs may alias an input
 * row exactly (in place) where noted, and must not overlap inputs otherwise.
 *
 * "0 * log 0": wherever a term's coefficient (a class weight, a target
 * probability, a smoothing share) is exactly zero, the term contributes zero
 * to the loss, even when its logarithm is -inf. This is the limit of the loss;
 * PyTorch computes 0 * -inf = NaN there.
 */
#ifndef CSOFTMAX_LOSSES_H
#define CSOFTMAX_LOSSES_H

#include "csoftmax.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Cross-entropy with class-index targets, one fused pass per row. With
 * z = x * inv_temperature, lp = log_softmax(z), e = label_smoothing,
 * w = weight (all ones when NULL), t = target[r]:
 *   loss[r] = (1 - e) * w[t] * (-lp[t]) + (e / cols) * sum_c w[c] * (-lp[c])
 *   grad[r, :] = grad_scale * d loss[r] / d x[r, :]
 * Rows with t == ignore_index get loss 0 and a zero gradient row. Any other t
 * outside [0, cols) is CSOFTMAX_ERR_TARGET (checked before anything is
 * written). A row holding +inf, or only -inf / NaN, gives NaN. `grad` may be
 * NULL (loss only); `loss` holds `rows` contiguous values.
 */
int csoftmax_xent_class_f32(const float *x, int64_t x_stride, const int64_t *target,
                            const float *weight, int64_t ignore_index,
                            double label_smoothing, double inv_temperature,
                            float *loss, float *grad, int64_t grad_stride,
                            int64_t rows, int64_t cols, double grad_scale);
int csoftmax_xent_class_f64(const double *x, int64_t x_stride, const int64_t *target,
                            const double *weight, int64_t ignore_index,
                            double label_smoothing, double inv_temperature,
                            double *loss, double *grad, int64_t grad_stride,
                            int64_t rows, int64_t cols, double grad_scale);

/*
 * Cross-entropy with probability targets q (rows x cols, row stride
 * target_stride). With a[c] = w[c] * ((1 - e) * q[c] + e / cols):
 *   loss[r] = sum_c a[c] * (-lp[c])        (a zero a[c] contributes 0)
 *   grad[r, :] = grad_scale * inv_temperature * (softmax(z) * sum(a) - a)
 */
int csoftmax_xent_prob_f32(const float *x, int64_t x_stride, const float *target,
                           int64_t target_stride, const float *weight,
                           double label_smoothing, double inv_temperature,
                           float *loss, float *grad, int64_t grad_stride,
                           int64_t rows, int64_t cols, double grad_scale);
int csoftmax_xent_prob_f64(const double *x, int64_t x_stride, const double *target,
                           int64_t target_stride, const double *weight,
                           double label_smoothing, double inv_temperature,
                           double *loss, double *grad, int64_t grad_stride,
                           int64_t rows, int64_t cols, double grad_scale);

/*
 * Negative log-likelihood of log-probabilities: loss[r] = -w[t] * lp[r, t]
 * (0 for t == ignore_index, and 0 when w[t] == 0).
 */
int csoftmax_nll_f32(const float *log_probs, int64_t lp_stride, const int64_t *target,
                     const float *weight, int64_t ignore_index, float *loss,
                     int64_t rows, int64_t cols);
int csoftmax_nll_f64(const double *log_probs, int64_t lp_stride, const int64_t *target,
                     const double *weight, int64_t ignore_index, double *loss,
                     int64_t rows, int64_t cols);

/*
 * Backward passes, given the forward output y and the incoming gradient g:
 *   softmax:     out = y * (g - sum(g * y))
 *   log_softmax: out = g - exp(y) * sum(g)
 * `out` may alias `g` or `y` exactly.
 */
int csoftmax_softmax_backward_f32(const float *g, int64_t g_stride, const float *y,
                                  int64_t y_stride, float *out, int64_t out_stride,
                                  int64_t rows, int64_t cols);
int csoftmax_softmax_backward_f64(const double *g, int64_t g_stride, const double *y,
                                  int64_t y_stride, double *out, int64_t out_stride,
                                  int64_t rows, int64_t cols);
int csoftmax_log_softmax_backward_f32(const float *g, int64_t g_stride, const float *y,
                                      int64_t y_stride, float *out, int64_t out_stride,
                                      int64_t rows, int64_t cols);
int csoftmax_log_softmax_backward_f64(const double *g, int64_t g_stride, const double *y,
                                      int64_t y_stride, double *out, int64_t out_stride,
                                      int64_t rows, int64_t cols);

/* Elementwise sigmoid(x) = 1 / (1 + exp(-x)) and log(sigmoid(x)), stable for
 * every finite x. `y` may alias `x` exactly. */
int csoftmax_sigmoid_f32(const float *x, int64_t x_stride, float *y, int64_t y_stride,
                         int64_t rows, int64_t cols);
int csoftmax_sigmoid_f64(const double *x, int64_t x_stride, double *y, int64_t y_stride,
                         int64_t rows, int64_t cols);
int csoftmax_log_sigmoid_f32(const float *x, int64_t x_stride, float *y, int64_t y_stride,
                             int64_t rows, int64_t cols);
int csoftmax_log_sigmoid_f64(const double *x, int64_t x_stride, double *y, int64_t y_stride,
                             int64_t rows, int64_t cols);

/*
 * Binary cross-entropy with logits, elementwise (PyTorch's
 * binary_cross_entropy_with_logits), for targets y, weights w and positive
 * weights p (w, p: NULL for ones; otherwise element (r, c) is at
 * base + r * row_stride + c * col_step with col_step 0 or 1, so broadcast
 * rows and columns need no copy):
 *   l = w * (-(p * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x))))
 *   d l / d x = w * ((1 + (p - 1) * y) * sigmoid(x) - p * y)
 * Outputs, each optional (NULL): `loss` the elementwise losses (row stride
 * loss_stride), `row_loss` the per-row sums in double, `grad` the gradient
 * times grad_scale.
 */
int csoftmax_bce_f32(const float *x, int64_t x_stride, const float *target,
                     int64_t target_stride, const float *weight, int64_t weight_stride,
                     int64_t weight_step, const float *pos_weight, int64_t pos_weight_stride,
                     int64_t pos_weight_step, float *loss, int64_t loss_stride,
                     double *row_loss, float *grad, int64_t grad_stride,
                     int64_t rows, int64_t cols, double grad_scale);
int csoftmax_bce_f64(const double *x, int64_t x_stride, const double *target,
                     int64_t target_stride, const double *weight, int64_t weight_stride,
                     int64_t weight_step, const double *pos_weight, int64_t pos_weight_stride,
                     int64_t pos_weight_step, double *loss, int64_t loss_stride,
                     double *row_loss, double *grad, int64_t grad_stride,
                     int64_t rows, int64_t cols, double grad_scale);

#ifdef __cplusplus
}
#endif
#endif /* CSOFTMAX_LOSSES_H */
