/*
 * Instantiates kernels_body.h for float32 and float64 under the instruction
 * set chosen by the including file, and defines csm_fill_table_<CSM_ISA>().
 * The including file sets CSM_ISA and CSM_VEC_BYTES (the vector width).
 */
#include "csoftmax_internal.h"
#include "exp_impl.h"
#include "loss_sum.h"

#define CSM_T float
#define CSM_SFX f32
#define CSM_EXP csm_exp_f32
#define CSM_LANES (2 * CSM_VEC_BYTES / 4)
#include "kernels_body.h"
#undef CSM_T
#undef CSM_SFX
#undef CSM_EXP
#undef CSM_LANES

#define CSM_T double
#define CSM_SFX f64
#define CSM_EXP csm_exp_f64
#define CSM_LANES (2 * CSM_VEC_BYTES / 8)
#include "kernels_body.h"
#undef CSM_T
#undef CSM_SFX
#undef CSM_EXP
#undef CSM_LANES

#define CSM_TABLE_FN_(isa) csm_fill_table_##isa
#define CSM_TABLE_FN(isa) CSM_TABLE_FN_(isa)

void CSM_TABLE_FN(CSM_ISA)(csm_kernel_table *table)
{
    table->exp_f32 = CSM_CAT3(csm_exp_map, f32, CSM_ISA);
    table->exp_f64 = CSM_CAT3(csm_exp_map, f64, CSM_ISA);
    table->softmax_f32 = CSM_CAT3(csm_softmax_rows, f32, CSM_ISA);
    table->softmax_f64 = CSM_CAT3(csm_softmax_rows, f64, CSM_ISA);
    table->log_softmax_f32 = CSM_CAT3(csm_log_softmax_rows, f32, CSM_ISA);
    table->log_softmax_f64 = CSM_CAT3(csm_log_softmax_rows, f64, CSM_ISA);
    table->logsumexp_f32 = CSM_CAT3(csm_logsumexp_rows, f32, CSM_ISA);
    table->logsumexp_f64 = CSM_CAT3(csm_logsumexp_rows, f64, CSM_ISA);
    table->cross_entropy_f32 = CSM_CAT3(csm_cross_entropy_rows, f32, CSM_ISA);
    table->cross_entropy_f64 = CSM_CAT3(csm_cross_entropy_rows, f64, CSM_ISA);
    table->loss_sum_f32 = csm_loss_sum_f32;
    table->loss_sum_f64 = csm_loss_sum_f64;
}
