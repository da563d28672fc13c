/*
 * Instantiates simd_body.h for float32 and float64 with the vector layer
 * CSM_SIMD_LAYER (simd_avx2.h or simd_avx512.h), and defines
 * csm_fill_table_<CSM_ISA>(). Set CSM_ISA and CSM_SIMD_LAYER first.
 */
#include "csoftmax_internal.h"

#define CSM_F32
#include CSM_SIMD_LAYER
#include "simd_body.h"
#include "simd_undef.h"
#undef CSM_F32
#include CSM_SIMD_LAYER
#include "simd_body.h"
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
}
