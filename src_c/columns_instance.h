/*
 * The column kernels with a vector layer: columns_simd.h for float32 and
 * float64 over CSMC_SIMD_LAYER (simd_avx2.h or simd_avx512.h), then
 * columns_body.h, which calls it. Set CSMC_ISA and CSMC_SIMD_LAYER first
 * (columns_avx2.c, columns_avx512.c).
 */
#define CSMC_TYPES_ONLY
#include "columns_body.h" /* CSMC_CAT3 */
#undef CSMC_TYPES_ONLY
/* the exponential pass on whole vectors: the vector layer's exp (columns_simd.h) */
#include "csoftmax_internal.h"
#define CSM_F32
#include CSMC_SIMD_LAYER
#include "columns_simd.h"
#include "simd_undef.h"
#undef CSM_F32
#include CSMC_SIMD_LAYER
#include "columns_simd.h"
#include "simd_undef.h"
#define CSMC_HAVE_SIMD 1
#include "columns_body.h"
