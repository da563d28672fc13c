/*
 * One side of benchmarks/kernel_ab.py: the AVX2 kernels of one source tree
 * (KSRC, its src_c/kernels_avx2.c) behind wrappers named with the prefix PFX
 * (old_ or new_), so that two trees link into one program. Compiled twice.
 * The wrappers call the kernels' internal entry points: both trees must have
 * the signatures used here.
 */
#define CSM_KAB_CAT_(a, b) a##b
#define CSM_KAB_CAT(a, b) CSM_KAB_CAT_(a, b)
/* the table fillers are the trees' only external symbols */
#define csm_fill_table_avx2 CSM_KAB_CAT(PFX, fill_table)
#define csm_fill_losses_avx2 CSM_KAB_CAT(PFX, fill_losses)
#include KSRC
#include "kab.h"

#define KAB_WRAP(name, call) \
    void CSM_KAB_CAT(PFX, name)(const kab_args *a) { call; }
#define X (a->x)
#define R (a->rows)
#define C (a->cols)
#define S (1.0 / (double)a->rows)

KAB_WRAP(softmax_f32, simd_softmax_rows_f32_avx2(X, C, a->y, C, R, C))
KAB_WRAP(softmax_f64, simd_softmax_rows_f64_avx2(a->xd, C, a->yd, C, R, C))
KAB_WRAP(log_softmax_f32, simd_log_softmax_rows_f32_avx2(X, C, a->y, C, R, C))
KAB_WRAP(log_softmax_f64, simd_log_softmax_rows_f64_avx2(a->xd, C, a->yd, C, R, C))
KAB_WRAP(logsumexp_f32, simd_logsumexp_rows_f32_avx2(X, C, a->loss, R, C))
KAB_WRAP(xent_f32, simd_cross_entropy_rows_f32_avx2(X, C, a->t, a->loss, a->y, C, R, C, S))
KAB_WRAP(xent_f64, simd_cross_entropy_rows_f64_avx2(a->xd, C, a->t, a->lossd, a->yd, C, R, C, S))
KAB_WRAP(xent_weight_f32, simd_xent_class_rows_f32_avx2(X, C, a->t, a->w, -100, 0.0, 1.0, a->loss,
                                                        a->y, C, R, C, S))
KAB_WRAP(xent_smoothing_f32, simd_xent_class_rows_f32_avx2(X, C, a->t, NULL, -100, 0.1, 1.0,
                                                           a->loss, a->y, C, R, C, S))
KAB_WRAP(xent_temperature_f32, simd_xent_class_rows_f32_avx2(X, C, a->t, NULL, -100, 0.0, 0.5,
                                                             a->loss, a->y, C, R, C, S))
KAB_WRAP(xent_prob_f32, simd_xent_prob_rows_f32_avx2(X, C, a->q, C, NULL, 0.0, 1.0, a->loss, a->y,
                                                     C, R, C, S))
KAB_WRAP(bce_f32, simd_bce_rows_f32_avx2(X, C, a->q, C, NULL, 0, 0, NULL, 0, 0, NULL, 0,
                                         a->row_loss, a->y, C, R, C, S))
KAB_WRAP(bce_f64, simd_bce_rows_f64_avx2(a->xd, C, a->qd, C, NULL, 0, 0, NULL, 0, 0, NULL, 0,
                                         a->row_loss, a->yd, C, R, C, S))
KAB_WRAP(softmax_backward_f32, simd_softmax_backward_rows_f32_avx2(a->q, C, X, C, a->y, C, R, C))
KAB_WRAP(softmax_backward_f64, simd_softmax_backward_rows_f64_avx2(a->qd, C, a->xd, C, a->yd, C, R,
                                                                   C))
KAB_WRAP(log_softmax_backward_f32, simd_log_softmax_backward_rows_f32_avx2(a->q, C, X, C, a->y, C,
                                                                           R, C))
KAB_WRAP(log_softmax_backward_f64, simd_log_softmax_backward_rows_f64_avx2(a->qd, C, a->xd, C,
                                                                           a->yd, C, R, C))
KAB_WRAP(sigmoid_f32, simd_sigmoid_rows_f32_avx2(X, C, a->y, C, R, C))
KAB_WRAP(log_sigmoid_f32, simd_log_sigmoid_rows_f32_avx2(X, C, a->y, C, R, C))
KAB_WRAP(log_sigmoid_f64, simd_log_sigmoid_rows_f64_avx2(a->xd, C, a->yd, C, R, C))
