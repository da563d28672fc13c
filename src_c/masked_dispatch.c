/*
 * Public entry points of the masked / tempered kernels (masked.h): argument
 * checks, the kernel table of the instruction set csoftmax_get_isa() reports
 * (so csoftmax_set_isa() switches these kernels too), and static row
 * splitting across OpenMP threads above a size threshold, with the same
 * pattern as dispatch.c's CSM_SPLIT_ROWS.
 */
#define CSMK_TYPES_ONLY
#include "masked_body.h"

#include <stddef.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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

/* Work (elements) below which a call stays on the calling thread. */
#define CSMK_PARALLEL_MIN_ELEMENTS (1 << 16)

static int csmk_threads_for(int64_t rows, int64_t cols)
{
    int n = csoftmax_get_num_threads();
    if (n <= 1 || rows < 2 || rows * cols < CSMK_PARALLEL_MIN_ELEMENTS) return 1;
    if (n > rows) n = (int)rows;
    return n;
}

/* Run KERNEL_CALL(r0, nr) over the rows, on one thread or split statically. */
#ifdef _OPENMP
#define CSMK_SPLIT_ROWS(rows, cols, KERNEL_CALL)                                  \
    do {                                                                          \
        int nt_ = csmk_threads_for((rows), (cols));                               \
        if (nt_ <= 1) {                                                           \
            int64_t r0 = 0, nr = (rows);                                          \
            KERNEL_CALL;                                                          \
        } else {                                                                  \
            _Pragma("omp parallel for num_threads(nt_) schedule(static)")         \
            for (int t_ = 0; t_ < nt_; t_++) {                                    \
                int64_t r0 = (rows) * t_ / nt_;                                   \
                int64_t nr = (rows) * (t_ + 1) / nt_ - r0;                        \
                KERNEL_CALL;                                                      \
            }                                                                     \
        }                                                                         \
    } while (0)
#else
#define CSMK_SPLIT_ROWS(rows, cols, KERNEL_CALL)                                  \
    do {                                                                          \
        int64_t r0 = 0, nr = (rows);                                              \
        KERNEL_CALL;                                                              \
    } while (0)
#endif

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
        CSMK_SPLIT_ROWS(rows, cols,                                                        \
                        kt_.field(x + r0 * xs, xs, CSMK_MASK_AT(mask, ms, r0), ms, inv_t,  \
                                  y + r0 * ys, ys, nr, cols));                             \
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
        CSMK_SPLIT_ROWS(rows, cols,                                                        \
                        kt_.field(x + r0 * xs, xs, CSMK_MASK_AT(mask, ms, r0), ms, inv_t,  \
                                  out + r0, nr, cols));                                    \
        return CSOFTMAX_OK;                                                                \
    }

CSMK_DEFINE_REDUCE(csoftmax_masked_logsumexp_f32, float, logsumexp_f32)
CSMK_DEFINE_REDUCE(csoftmax_masked_logsumexp_f64, double, logsumexp_f64)
