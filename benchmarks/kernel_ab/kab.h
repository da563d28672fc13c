/* benchmarks/kernel_ab: the arguments every wrapper takes, and the list of
 * kernels (name, then the element size of its data). */
#include <stdint.h>

typedef struct {
    const float *x, *q, *w;
    const double *xd, *qd;
    float *y, *loss;
    double *yd, *lossd, *row_loss;
    const int64_t *t;
    int64_t rows, cols;
} kab_args;

#define KAB_KERNELS                                                                      \
    K(softmax_f32) K(softmax_f64) K(log_softmax_f32) K(log_softmax_f64) K(logsumexp_f32)  \
    K(xent_f32) K(xent_f64) K(xent_weight_f32) K(xent_smoothing_f32)                      \
    K(xent_temperature_f32) K(xent_prob_f32) K(xent_prob_f64) K(xent_prob_opts_f32)       \
    K(bce_f32) K(bce_wp_f32) K(bce_f64)                                                   \
    K(softmax_backward_f32) K(softmax_backward_f64) K(log_softmax_backward_f32) K(log_softmax_backward_f64)       \
    K(sigmoid_f32) K(sigmoid_f64) K(log_sigmoid_f32) K(log_sigmoid_f64)
