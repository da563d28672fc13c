/*
 * Public entry points of the masked / tempered kernels (masked.h): argument
 * checks, the kernel table of the instruction set csoftmax_get_isa() reports
 * (so csoftmax_set_isa() switches these kernels too), and row
 * splitting across OpenMP threads above a size threshold (CSM_SPLIT_ROWS,
 * csoftmax_internal.h, shared with the other kernel families).
 */
#define CSMK_TYPES_ONLY
#include "masked_body.h"

#include <stddef.h>

#include "csoftmax_internal.h"

static void csmk_table(csmk_kernel_table *t)
{
    switch (csoftmax_get_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case CSOFTMAX_ISA_AVX512: csmk_fill_table_avx512(t); break;
    case CSOFTMAX_ISA_AVX2: csmk_fill_table_avx2(t); break;
#endif
    default: csmk_fill_table_scalar(t); break;
    }
}

static int csmk_check(const void *x, const void *y, int64_t rows, int64_t cols,
                      double inv_temperature)
{
    if (rows < 0 || cols < 0) return CSOFTMAX_ERR_ARGUMENT;
    if (rows > 0 && cols > 0 && (x == NULL || y == NULL)) return CSOFTMAX_ERR_ARGUMENT;
    if (!(inv_temperature > 0.0 && isfinite(inv_temperature))) return CSOFTMAX_ERR_ARGUMENT;
    return CSOFTMAX_OK;
}

#define CSMK_MASK_AT(mask, ms, r0) ((mask) == NULL ? NULL : (mask) + (r0) * (ms))

#define CSMK_DEFINE_ROWS(name, T, field)                                                   \
    int name(const T *x, int64_t xs, const uint8_t *mask, int64_t ms, double inv_t, T *y,  \
             int64_t ys, int64_t rows, int64_t cols)                                       \
    {                                                                                      \
        int st = csmk_check(x, y, rows, cols, inv_t);                                      \
        if (st != CSOFTMAX_OK || rows == 0 || cols == 0) return st;                        \
        csmk_kernel_table kt_;                                                             \
        csmk_table(&kt_);                                                                  \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                              \
                       kt_.field(x + r0 * xs, xs, CSMK_MASK_AT(mask, ms, r0), ms, inv_t,   \
                                 y + r0 * ys, ys, nr, cols));                              \
        return CSOFTMAX_OK;                                                                \
    }

CSMK_DEFINE_ROWS(csoftmax_masked_softmax_f32, float, softmax_f32)
CSMK_DEFINE_ROWS(csoftmax_masked_softmax_f64, double, softmax_f64)
CSMK_DEFINE_ROWS(csoftmax_masked_log_softmax_f32, float, log_softmax_f32)
CSMK_DEFINE_ROWS(csoftmax_masked_log_softmax_f64, double, log_softmax_f64)

#define CSMK_DEFINE_REDUCE(name, T, field)                                                 \
    int name(const T *x, int64_t xs, const uint8_t *mask, int64_t ms, double inv_t,        \
             T *out, int64_t rows, int64_t cols)                                           \
    {                                                                                      \
        int st = csmk_check(x, out, rows, cols, inv_t);                                    \
        if (st != CSOFTMAX_OK || rows == 0) return st;                                     \
        if (out == NULL) return CSOFTMAX_ERR_ARGUMENT;                                     \
        if (cols == 0) {                                                                   \
            for (int64_t r = 0; r < rows; r++) out[r] = (T)-INFINITY;                      \
            return CSOFTMAX_OK;                                                            \
        }                                                                                  \
        csmk_kernel_table kt_;                                                             \
        csmk_table(&kt_);                                                                  \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                              \
                       kt_.field(x + r0 * xs, xs, CSMK_MASK_AT(mask, ms, r0), ms, inv_t,   \
                                 out + r0, nr, cols));                                     \
        return CSOFTMAX_OK;                                                                \
    }

CSMK_DEFINE_REDUCE(csoftmax_masked_logsumexp_f32, float, logsumexp_f32)
CSMK_DEFINE_REDUCE(csoftmax_masked_logsumexp_f64, double, logsumexp_f64)
