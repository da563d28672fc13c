/*
 * Public entry points of the argmax kernels (argmax.h): argument checks, the
 * kernel table of the instruction set csoftmax_get_isa() reports, and the
 * split of the slabs across OpenMP threads above the size threshold the other
 * kernel families use (CSM_SPLIT_ROWS, csoftmax_internal.h).
 */
#define CSMA_TYPES_ONLY
#include "argmax_body.h"

#include <stddef.h>

#include "csoftmax_internal.h"

static void csma_table(csma_kernel_table *t)
{
    switch (csoftmax_get_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case CSOFTMAX_ISA_AVX512: csma_fill_table_avx512(t); break;
    case CSOFTMAX_ISA_AVX2: csma_fill_table_avx2(t); break;
#endif
    default: csma_fill_table_scalar(t); break;
    }
}

static int csma_check(const void *x, const void *out, int64_t outer, int64_t n, int64_t inner,
                      int64_t n_max)
{
    if (outer < 0 || n < 1 || n > n_max || inner < 0) return CSOFTMAX_ERR_ARGUMENT;
    if (outer > 0 && inner > 0 && (x == NULL || out == NULL)) return CSOFTMAX_ERR_ARGUMENT;
    return CSOFTMAX_OK;
}

#define CSMA_DEFINE(name, T, field, n_max)                                                 \
    int name(const T *x, int64_t xo, int64_t xr, int64_t *out, int64_t outer, int64_t n,   \
             int64_t inner)                                                                \
    {                                                                                      \
        int st = csma_check(x, out, outer, n, inner, (n_max));                            \
        if (st != CSOFTMAX_OK || outer == 0 || inner == 0) return st;                      \
        csma_kernel_table kt_;                                                             \
        csma_table(&kt_);                                                                  \
        CSM_SPLIT_ROWS(outer, n * inner, sizeof(T),                                        \
                       kt_.field(x + r0 * xo, xo, xr, out + r0 * inner, nr, n, inner));    \
        return CSOFTMAX_OK;                                                                \
    }

CSMA_DEFINE(csoftmax_argmax_f32, float, argmax_f32, (int64_t)INT32_MAX)
CSMA_DEFINE(csoftmax_argmax_f64, double, argmax_f64, INT64_MAX)
