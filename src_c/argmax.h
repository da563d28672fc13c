/*
 * csoftmax argmax kernels: the index of the largest entry along axis 1 of an
 * (outer, n, inner) array, for csoftmax.predict (the predicted class).
 *
 * Element (o, i, j) is at x + o * x_outer + i * x_row + j (strides in
 * elements); out[o * inner + j] receives the index i of the largest x(o, i, j)
 * over i in [0, n). inner == 1 covers rows (the classes along the last axis,
 * x_row == 1 when they are contiguous); inner > 1 needs contiguous columns
 * (the classes down the columns: PyTorch's (N, C, d) layout).
 *
 * Semantics are NumPy's and PyTorch's argmax: the first of equal maxima; a NaN
 * counts as larger than every number, so the first NaN wins; -inf rows give 0.
 *
 * Conventions are those of csoftmax.h: an int status (CSOFTMAX_OK or a
 * negative CSOFTMAX_ERR_*), no allocation, no Python; the instruction set is
 * the one csoftmax_get_isa() reports, threads as csoftmax_set_num_threads()
 * allows (whole slabs per thread: the result does not depend on the count).
 * n must be at least 1 (an empty class axis has no argmax) and, for float32,
 * at most INT32_MAX (the kernels keep indices in lanes as wide as the
 * values): CSOFTMAX_ERR_ARGUMENT otherwise, nothing written.
 */
#ifndef CSOFTMAX_ARGMAX_H
#define CSOFTMAX_ARGMAX_H

#include "csoftmax.h"

#ifdef __cplusplus
extern "C" {
#endif

int csoftmax_argmax_f32(const float *x, int64_t x_outer, int64_t x_row, int64_t *out,
                        int64_t outer, int64_t n, int64_t inner);
int csoftmax_argmax_f64(const double *x, int64_t x_outer, int64_t x_row, int64_t *out,
                        int64_t outer, int64_t n, int64_t inner);

#ifdef __cplusplus
}
#endif
#endif /* CSOFTMAX_ARGMAX_H */
