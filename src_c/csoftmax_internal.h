/* Internal declarations shared by dispatch.c and the per-ISA kernel files. */
#ifndef CSOFTMAX_INTERNAL_H
#define CSOFTMAX_INTERNAL_H

#include "csoftmax.h"

/* Row kernels: the same signatures as the public API, run on one thread. */
typedef void (*csm_rows_f32)(const float *, int64_t, float *, int64_t, int64_t, int64_t);
typedef void (*csm_rows_f64)(const double *, int64_t, double *, int64_t, int64_t, int64_t);
typedef void (*csm_reduce_f32)(const float *, int64_t, float *, int64_t, int64_t);
typedef void (*csm_reduce_f64)(const double *, int64_t, double *, int64_t, int64_t);
typedef void (*csm_xent_f32)(const float *, int64_t, const int64_t *, float *, float *,
                             int64_t, int64_t, int64_t, double);
typedef void (*csm_xent_f64)(const double *, int64_t, const int64_t *, double *, double *,
                             int64_t, int64_t, int64_t, double);

typedef void (*csm_map_f32)(const float *, float *, int64_t);
typedef void (*csm_map_f64)(const double *, double *, int64_t);

typedef struct {
    csm_map_f32 exp_f32;
    csm_map_f64 exp_f64;
    csm_rows_f32 softmax_f32;
    csm_rows_f64 softmax_f64;
    csm_rows_f32 log_softmax_f32;
    csm_rows_f64 log_softmax_f64;
    csm_reduce_f32 logsumexp_f32;
    csm_reduce_f64 logsumexp_f64;
    csm_xent_f32 cross_entropy_f32;
    csm_xent_f64 cross_entropy_f64;
} csm_kernel_table;

void csm_fill_table_scalar(csm_kernel_table *table);
#if defined(__x86_64__) || defined(_M_X64)
#define CSM_X86 1
void csm_fill_table_avx2(csm_kernel_table *table);
void csm_fill_table_avx512(csm_kernel_table *table);
#endif

#endif
