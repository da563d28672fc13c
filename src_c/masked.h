/*
 * csoftmax masked kernels: softmax, log_softmax and logsumexp of x / T over
 * the entries a mask keeps (csoftmax.softmax(x, temperature=T, where=mask)).
 *
 * Conventions are those of csoftmax.h: `rows` rows of `cols` contiguous
 * elements, row r at `base + r * row_stride` (strides in elements), an int
 * status (CSOFTMAX_OK or a negative CSOFTMAX_ERR_*), no allocation, no Python.
 * The instruction set is the one csoftmax_get_isa() reports, so
 * csoftmax_set_isa() switches these kernels too.
 *
 * `mask` holds one byte per element (nonzero: the entry takes part; zero: it
 * is masked out), row r at `mask + r * mask_stride` with contiguous columns.
 * mask_stride may be 0 (one mask row shared by every row: a broadcast mask
 * needs no copy). mask == NULL keeps every entry.
 *
 * `inv_temperature` = 1 / T must be finite and > 0 (else CSOFTMAX_ERR_ARGUMENT);
 * the kernels compute z = (x - m) * inv_temperature with m the maximum of the
 * kept entries, so x / T is never formed and cannot overflow.
 *
 * Results, with K the set of kept entries of a row:
 *   softmax:     exp(z_j) / sum_K exp(z) on K, exactly 0 off K;
 *   log_softmax: z_j - log1p(sum_K exp(z) - 1) on K, exactly -inf off K;
 *   logsumexp:   m * inv_temperature + log1p(sum_K exp(z) - 1).
 * K empty (a fully masked row): softmax 0, log_softmax -inf, logsumexp -inf
 * (no NaN). Otherwise the non-finite semantics of the unmasked kernels hold on
 * K alone: a kept NaN, a kept +inf, or a K of only -inf gives NaN on K
 * (logsumexp: NaN, +inf, -inf respectively); masked-out values, NaN and
 * infinities included, are never read into the result.
 * Outputs may alias x exactly (in place); they must not overlap the mask.
 */
#ifndef CSOFTMAX_MASKED_H
#define CSOFTMAX_MASKED_H

#include "csoftmax.h"

#ifdef __cplusplus
extern "C" {
#endif

int csoftmax_masked_softmax_f32(const float *x, int64_t x_stride, const uint8_t *mask,
                                int64_t mask_stride, double inv_temperature,
                                float *y, int64_t y_stride, int64_t rows, int64_t cols);
int csoftmax_masked_softmax_f64(const double *x, int64_t x_stride, const uint8_t *mask,
                                int64_t mask_stride, double inv_temperature,
                                double *y, int64_t y_stride, int64_t rows, int64_t cols);
int csoftmax_masked_log_softmax_f32(const float *x, int64_t x_stride, const uint8_t *mask,
                                    int64_t mask_stride, double inv_temperature,
                                    float *y, int64_t y_stride, int64_t rows, int64_t cols);
int csoftmax_masked_log_softmax_f64(const double *x, int64_t x_stride, const uint8_t *mask,
                                    int64_t mask_stride, double inv_temperature,
                                    double *y, int64_t y_stride, int64_t rows, int64_t cols);
/* out[r] for r < rows (contiguous); cols == 0 gives -inf. */
int csoftmax_masked_logsumexp_f32(const float *x, int64_t x_stride, const uint8_t *mask,
                                  int64_t mask_stride, double inv_temperature,
                                  float *out, int64_t rows, int64_t cols);
int csoftmax_masked_logsumexp_f64(const double *x, int64_t x_stride, const uint8_t *mask,
                                  int64_t mask_stride, double inv_temperature,
                                  double *out, int64_t rows, int64_t cols);

#ifdef __cplusplus
}
#endif
#endif /* CSOFTMAX_MASKED_H */
