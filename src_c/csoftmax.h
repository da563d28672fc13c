/*
 * csoftmax C API.
 *
 * Every kernel works on `rows` rows of `cols` contiguous elements. Row r of an
 * array starts at `base + r * row_stride` (row strides are counted in
 * elements, may be any value, and let callers pass sliced arrays without a
 * copy). Output rows may alias input rows exactly (in-place operation), but
 * must not overlap them in any other way.
 *
 * Functions return CSOFTMAX_OK or a negative status; they allocate nothing
 * and never touch Python.
 */
#ifndef CSOFTMAX_H
#define CSOFTMAX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CSOFTMAX_OK = 0,
    CSOFTMAX_ERR_ARGUMENT = -1,     /* negative sizes, NULL pointer */
    CSOFTMAX_ERR_TARGET = -2,       /* a class index outside [0, cols) */
    CSOFTMAX_ERR_UNSUPPORTED = -3   /* ISA not available on this CPU */
};

/* Instruction-set levels, lowest first. */
typedef enum {
    CSOFTMAX_ISA_SCALAR = 0,
    CSOFTMAX_ISA_AVX2 = 1,
    CSOFTMAX_ISA_AVX512 = 2
} csoftmax_isa;

/* Dispatch and threads. */
int csoftmax_isa_supported(csoftmax_isa isa);   /* 1 when this CPU and OS can run it */
csoftmax_isa csoftmax_best_isa(void);
int csoftmax_set_isa(csoftmax_isa isa);         /* CSOFTMAX_ERR_UNSUPPORTED if not supported */
csoftmax_isa csoftmax_get_isa(void);
const char *csoftmax_isa_name(csoftmax_isa isa);
void csoftmax_set_num_threads(int n);           /* at most n (n <= 0: OpenMP's default) */
int csoftmax_get_num_threads(void);             /* threads a large call would use: min(n, OpenMP's) */
int csoftmax_openmp_enabled(void);
int csoftmax_forked_single_thread(void);  /* 1: a child forked after a parallel region, kept on one thread */
/* Long rows' exponentials in scratch rows, their output streamed once (1) or in the
 * output rows (0); on < 0 restores the CPU's default (Intel: 1). Results are the same. */
void csoftmax_set_scratch_rows(int on);
int csoftmax_scratch_rows(void);
const char *csoftmax_cpu_vendor(void);   /* cpuid's vendor string ("GenuineIntel", ..), "" if none */

/* Elementwise exp with the kernels' own vectorised exp (for accuracy tests). */
int csoftmax_exp_f32(const float *x, float *y, int64_t n);
int csoftmax_exp_f64(const double *x, double *y, int64_t n);

/* softmax / log_softmax: y[r, :] = f(x[r, :]) */
int csoftmax_softmax_f32(const float *x, int64_t x_stride, float *y, int64_t y_stride,
                         int64_t rows, int64_t cols);
int csoftmax_softmax_f64(const double *x, int64_t x_stride, double *y, int64_t y_stride,
                         int64_t rows, int64_t cols);
int csoftmax_log_softmax_f32(const float *x, int64_t x_stride, float *y, int64_t y_stride,
                             int64_t rows, int64_t cols);
int csoftmax_log_softmax_f64(const double *x, int64_t x_stride, double *y, int64_t y_stride,
                             int64_t rows, int64_t cols);

/* logsumexp: out[r] = log(sum(exp(x[r, :]))), out is contiguous (rows values) */
int csoftmax_logsumexp_f32(const float *x, int64_t x_stride, float *out,
                           int64_t rows, int64_t cols);
int csoftmax_logsumexp_f64(const double *x, int64_t x_stride, double *out,
                           int64_t rows, int64_t cols);

/*
 * Fused cross-entropy with integer class targets, one pass per row:
 *   loss[r] = logsumexp(x[r, :]) - x[r, target[r]]
 *   grad[r, c] = grad_scale * (softmax(x[r, :])[c] - (c == target[r]))
 * `grad` may be NULL (loss only). `loss` is contiguous (rows values).
 */
int csoftmax_cross_entropy_f32(const float *x, int64_t x_stride, const int64_t *target,
                               float *loss, float *grad, int64_t grad_stride,
                               int64_t rows, int64_t cols, double grad_scale);
int csoftmax_cross_entropy_f64(const double *x, int64_t x_stride, const int64_t *target,
                               double *loss, double *grad, int64_t grad_stride,
                               int64_t rows, int64_t cols, double grad_scale);

/* The sum of v[0..n) in double, as the reduced losses take it: float64 terms
 * compensated, float32 terms in double (loss_sum.h); 0 for n <= 0. The same
 * bits under every instruction set. */
double csoftmax_loss_sum_f32(const float *v, int64_t n);
double csoftmax_loss_sum_f64(const double *v, int64_t n);

/* The number of targets equal to ignore_index when every other one is a class
 * index in [0, cols); CSOFTMAX_ERR_TARGET if one is not (every row is read). */
int64_t csoftmax_count_ignored(const int64_t *target, int64_t rows, int64_t cols,
                               int64_t ignore_index);

#ifdef __cplusplus
}
#endif
#endif /* CSOFTMAX_H */
