/*
 * Instantiates simd_body.h for float32 and float64 with the vector layer
 * CSM_SIMD_LAYER (simd_avx2.h or simd_avx512.h), and defines
 * csm_fill_table_<CSM_ISA>(); likewise simd_losses_body.h, and
 * csm_fill_losses_<CSM_ISA>(), which puts its kernels into the loss kernel
 * table (losses_body.h). Set CSM_ISA and CSM_SIMD_LAYER first.
 */
#include "csoftmax_internal.h"
#include "loss_sum.h"

#define CSL_TYPES_ONLY
#include "losses_body.h"

#define CSM_F32
#include CSM_SIMD_LAYER
#include "simd_body.h"
#include "simd_losses_body.h"
#include "simd_undef.h"
#undef CSM_F32
#include CSM_SIMD_LAYER
#include "simd_body.h"
#include "simd_losses_body.h"
#include "simd_undef.h"

#define CSM_TABLE_FN_(isa) csm_fill_table_##isa
#define CSM_TABLE_FN(isa) CSM_TABLE_FN_(isa)

void CSM_TABLE_FN(CSM_ISA)(csm_kernel_table *table)
{
    table->exp_f32 = CSM_CAT3(simd_exp_map, f32, CSM_ISA);
    table->exp_f64 = CSM_CAT3(simd_exp_map, f64, CSM_ISA);
    table->softmax_f32 = CSM_CAT3(simd_softmax_rows, f32, CSM_ISA);
    table->softmax_f64 = CSM_CAT3(simd_softmax_rows, f64, CSM_ISA);
    table->log_softmax_f32 = CSM_CAT3(simd_log_softmax_rows, f32, CSM_ISA);
    table->log_softmax_f64 = CSM_CAT3(simd_log_softmax_rows, f64, CSM_ISA);
    table->logsumexp_f32 = CSM_CAT3(simd_logsumexp_rows, f32, CSM_ISA);
    table->logsumexp_f64 = CSM_CAT3(simd_logsumexp_rows, f64, CSM_ISA);
    table->cross_entropy_f32 = CSM_CAT3(simd_cross_entropy_rows, f32, CSM_ISA);
    table->cross_entropy_f64 = CSM_CAT3(simd_cross_entropy_rows, f64, CSM_ISA);
    table->loss_sum_f32 = csm_loss_sum_f32;
    table->loss_sum_f64 = csm_loss_sum_f64;
}

#define CSM_LOSSES_FN_(isa) csm_fill_losses_##isa
#define CSM_LOSSES_FN(isa) CSM_LOSSES_FN_(isa)

void CSM_LOSSES_FN(CSM_ISA)(csl_kernel_table *table)
{
    table->xent_class_f32 = CSM_CAT3(simd_xent_class_rows, f32, CSM_ISA);
    table->xent_class_f64 = CSM_CAT3(simd_xent_class_rows, f64, CSM_ISA);
    table->xent_prob_f32 = CSM_CAT3(simd_xent_prob_rows, f32, CSM_ISA);
    table->xent_prob_f64 = CSM_CAT3(simd_xent_prob_rows, f64, CSM_ISA);
    table->softmax_backward_f32 = CSM_CAT3(simd_softmax_backward_rows, f32, CSM_ISA);
    table->softmax_backward_f64 = CSM_CAT3(simd_softmax_backward_rows, f64, CSM_ISA);
    table->log_softmax_backward_f32 = CSM_CAT3(simd_log_softmax_backward_rows, f32, CSM_ISA);
    table->log_softmax_backward_f64 = CSM_CAT3(simd_log_softmax_backward_rows, f64, CSM_ISA);
    table->sigmoid_f32 = CSM_CAT3(simd_sigmoid_rows, f32, CSM_ISA);
    table->sigmoid_f64 = CSM_CAT3(simd_sigmoid_rows, f64, CSM_ISA);
    table->log_sigmoid_f32 = CSM_CAT3(simd_log_sigmoid_rows, f32, CSM_ISA);
    table->log_sigmoid_f64 = CSM_CAT3(simd_log_sigmoid_rows, f64, CSM_ISA);
    table->bce_f32 = CSM_CAT3(simd_bce_rows, f32, CSM_ISA);
    table->bce_f64 = CSM_CAT3(simd_bce_rows, f64, CSM_ISA);
}
