/*
 * One side of benchmarks/kernel_ab.py: the AVX2 (or, with KAB_ISA=avx512,
 * AVX-512) kernels of one source tree (KSRC, its src_c/kernels_avx2.c or
 * kernels_avx512.c) behind wrappers named with the prefix PFX
 * (old_ or new_), so that two trees link into one program. Compiled twice.
 * The wrappers call the kernels' internal entry points: both trees must have
 * the signatures used here.
 */
#define CSM_KAB_CAT_(a, b) a##b
#define CSM_KAB_CAT(a, b) CSM_KAB_CAT_(a, b)
/* the table fillers are the trees' only external symbols */
#ifndef KAB_ISA
#define KAB_ISA avx2
#endif
#define csm_fill_table_avx2 CSM_KAB_CAT(PFX, fill_table)
#define csm_fill_losses_avx2 CSM_KAB_CAT(PFX, fill_losses)
#define csm_fill_table_avx512 CSM_KAB_CAT(PFX, fill_table)
#define csm_fill_losses_avx512 CSM_KAB_CAT(PFX, fill_losses)
#include KSRC
#include "kab.h"

#define KAB_WRAP(name, call) \
    void CSM_KAB_CAT(PFX, name)(const kab_args *a) { call; }
/* a kernel of the ISA compiled (KAB_ISA: avx2 or avx512) */
#define KAB_K(name) CSM_KAB_CAT(CSM_KAB_CAT(name, _), KAB_ISA)
#define X (a->x)
#define R (a->rows)
#define C (a->cols)
#define S (1.0 / (double)a->rows)

KAB_WRAP(softmax_f32, KAB_K(simd_softmax_rows_f32)(X, C, a->y, C, R, C))
KAB_WRAP(softmax_f64, KAB_K(simd_softmax_rows_f64)(a->xd, C, a->yd, C, R, C))
KAB_WRAP(log_softmax_f32, KAB_K(simd_log_softmax_rows_f32)(X, C, a->y, C, R, C))
KAB_WRAP(log_softmax_f64, KAB_K(simd_log_softmax_rows_f64)(a->xd, C, a->yd, C, R, C))
KAB_WRAP(logsumexp_f32, KAB_K(simd_logsumexp_rows_f32)(X, C, a->loss, R, C))
KAB_WRAP(xent_f32, KAB_K(simd_cross_entropy_rows_f32)(X, C, a->t, a->loss, a->y, C, R, C, S))
KAB_WRAP(xent_f64, KAB_K(simd_cross_entropy_rows_f64)(a->xd, C, a->t, a->lossd, a->yd, C, R, C, S))
KAB_WRAP(xent_weight_f32, KAB_K(simd_xent_class_rows_f32)(X, C, a->t, a->w, -100, 0.0, 1.0, a->loss,
                                                        a->y, C, R, C, S))
KAB_WRAP(xent_smoothing_f32, KAB_K(simd_xent_class_rows_f32)(X, C, a->t, NULL, -100, 0.1, 1.0,
                                                           a->loss, a->y, C, R, C, S))
KAB_WRAP(xent_temperature_f32, KAB_K(simd_xent_class_rows_f32)(X, C, a->t, NULL, -100, 0.0, 0.5,
                                                             a->loss, a->y, C, R, C, S))
KAB_WRAP(xent_prob_f32, KAB_K(simd_xent_prob_rows_f32)(X, C, a->q, C, NULL, 0.0, 1.0, a->loss, a->y,
                                                     C, R, C, S))
KAB_WRAP(xent_prob_f64, KAB_K(simd_xent_prob_rows_f64)(a->xd, C, a->qd, C, NULL, 0.0, 1.0, a->lossd,
                                                     a->yd, C, R, C, S))
/* weight, label smoothing and a temperature (a row's worth of q as the weights) */
KAB_WRAP(xent_prob_opts_f32, KAB_K(simd_xent_prob_rows_f32)(X, C, a->q, C, a->q, 0.1, 2.0, a->loss,
                                                          a->y, C, R, C, S))
KAB_WRAP(bce_f32, KAB_K(simd_bce_rows_f32)(X, C, a->q, C, NULL, 0, 0, NULL, 0, 0, NULL, 0,
                                         a->row_loss, a->y, C, R, C, S))
/* per-column weight and pos_weight (a row's worth of q, broadcast over the rows) */
KAB_WRAP(bce_wp_f32, KAB_K(simd_bce_rows_f32)(X, C, a->q, C, a->q, 0, 1, a->q, 0, 1, NULL, 0,
                                            a->row_loss, a->y, C, R, C, S))
KAB_WRAP(bce_f64, KAB_K(simd_bce_rows_f64)(a->xd, C, a->qd, C, NULL, 0, 0, NULL, 0, 0, NULL, 0,
                                         a->row_loss, a->yd, C, R, C, S))
KAB_WRAP(softmax_backward_f32, KAB_K(simd_softmax_backward_rows_f32)(a->q, C, X, C, a->y, C, R, C))
KAB_WRAP(softmax_backward_f64, KAB_K(simd_softmax_backward_rows_f64)(a->qd, C, a->xd, C, a->yd, C, R,
                                                                   C))
KAB_WRAP(log_softmax_backward_f32, KAB_K(simd_log_softmax_backward_rows_f32)(a->q, C, X, C, a->y, C,
                                                                           R, C))
KAB_WRAP(log_softmax_backward_f64, KAB_K(simd_log_softmax_backward_rows_f64)(a->qd, C, a->xd, C,
                                                                           a->yd, C, R, C))
KAB_WRAP(sigmoid_f32, KAB_K(simd_sigmoid_rows_f32)(X, C, a->y, C, R, C))
KAB_WRAP(sigmoid_f64, KAB_K(simd_sigmoid_rows_f64)(a->xd, C, a->yd, C, R, C))
KAB_WRAP(log_sigmoid_f32, KAB_K(simd_log_sigmoid_rows_f32)(X, C, a->y, C, R, C))
KAB_WRAP(log_sigmoid_f64, KAB_K(simd_log_sigmoid_rows_f64)(a->xd, C, a->yd, C, R, C))
