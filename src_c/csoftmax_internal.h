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
typedef double (*csm_sum_f32)(const float *, int64_t);
typedef double (*csm_sum_f64)(const double *, int64_t);

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
    csm_sum_f32 loss_sum_f32; /* loss_sum.h */
    csm_sum_f64 loss_sum_f64;
} csm_kernel_table;

void csm_fill_table_scalar(csm_kernel_table *table);
#if defined(__x86_64__) || defined(_M_X64)
#define CSM_X86 1
void csm_fill_table_avx2(csm_kernel_table *table);
void csm_fill_table_avx512(csm_kernel_table *table);
#endif


/* ---- threads -------------------------------------------------------------
 *
 * CSM_SPLIT_ROWS(rows, cols, elem_size, KERNEL_CALL) runs KERNEL_CALL, a
 * statement using int64_t r0 (first row) and nr (row count), over all rows:
 * on the calling thread when the call is small, else over chunks of rows
 * handed out dynamically to an OpenMP team (so that a thread slowed down by
 * another process on its core takes fewer chunks instead of holding up the
 * whole call, as a static split would). Used by dispatch.c and
 * losses_dispatch.c.
 *
 * Sizes:
 * - work = rows * (cols + CSM_ROW_WORK) elements: CSM_ROW_WORK is the per-row
 *   cost (max, sum, division set-up) in element-equivalents, so tiny rows
 *   count for more than their element count.
 * - a call with work below CSM_PARALLEL_MIN_WORK stays on the calling thread
 *   (waking the team costs about as much as tens of microseconds of kernel
 *   time on a busy machine).
 * - a chunk holds about CSM_CHUNK_BYTES of input, a whole number of
 *   CSM_CHUNK_ROW_MULTIPLE rows (so the tiny-row kernels group rows into SIMD
 *   tiles exactly as on one thread: results are bitwise independent of the
 *   thread count), one row at least.
 * - oversubscription guard: a team's threads spin while they wait (OpenMP's
 *   default wait policy), so on a machine whose cores are all busy a helper
 *   thread can start a scheduler time slice (milliseconds) late and the call
 *   waits for it at the end of the parallel region, as it does for a helper
 *   descheduled in the middle of a chunk. When the helpers or the caller did
 *   less than a quarter of their share of the chunks, or the caller waited
 *   for the helpers at the end for more than a quarter of the call, large
 *   calls run on one thread for the next CSM_BACKOFF_MIN seconds, then twice
 *   as long after each such team, up to CSM_BACKOFF_MAX seconds; a team that
 *   keeps up halves the next stretch. (Each late team costs about one
 *   scheduler time slice, 10-30 ms measured with 8-10 runnable processes on
 *   2 cores; the stretches keep that to a few percent of the time.
 *   OMP_WAIT_POLICY=passive avoids most of it.)
 */
#include <stddef.h>
#include <stdlib.h> /* aligned_alloc: the SIMD kernels' scratch rows */
#ifdef _OPENMP
#include <omp.h>
#endif

#define CSM_ROW_WORK 16
#define CSM_PARALLEL_MIN_WORK ((int64_t)1 << 18)
#define CSM_CHUNK_BYTES ((int64_t)32 << 10)
#define CSM_CHUNK_ROW_MULTIPLE 64
#define CSM_BACKOFF_MIN 0.01
#define CSM_BACKOFF_MAX 2.0

/* Threads a call of rows x cols elements uses: 1 below the size threshold, or
 * while the oversubscription guard holds calls on one thread (dispatch.c). */
int csm_threads_for(int64_t rows, int64_t cols);

/* After a team of nt threads shared `chunks` chunks, `helped` of them done by
 * threads other than the caller's, the call starting at time `start`, the
 * caller running out of chunks at `caller_done` and the team ending at `end`
 * (omp_get_wtime()): when the other threads came too late to do their share,
 * or the caller waited for them longer than a quarter of the call (a thread
 * descheduled in the middle of a chunk: the machine's cores are busy
 * elsewhere), large calls run on one thread for a while, a stretch that
 * doubles while this repeats and halves after a team that keeps up. */
void csm_parallel_done(int64_t chunks, int64_t helped, int nt, double start,
                       double caller_done, double end);

/* Streaming stores. A call whose output of rows x cols elements reaches
 * CSM_STREAM_MIN_BYTES (with its input, more than the share of the last-level
 * cache one core can count on: a few MiB per core on current x86 parts; the
 * size the C library reports is unreliable on virtual machines: 256 MiB on
 * this project's 32 MiB test machine) leaves little of its result in cache
 * for the caller: kernels that support it then write whole vectors with
 * non-temporal stores, which skip the read-for-ownership of each output line
 * (a third less memory traffic for a kernel that reads one array and writes
 * one). Results are identical either way. CSM_SPLIT_ROWS sets the hint on
 * every thread that runs a kernel and clears it after. */
#define CSM_STREAM_MIN_BYTES ((int64_t)8 << 20)
extern _Thread_local int csm_stream_hint;
/* Whether long rows keep their exponentials in scratch rows (simd_scratch_rows;
 * dispatch.c: by default on Intel CPUs only). */
extern int csm_scratch_rows;
int csm_stream_for(int64_t rows, int64_t cols, size_t elem_size);

/* Whether every target is a class index in [0, cols) or equals
 * ignore_index; with `ignored` not NULL, the count of rows equal to
 * ignore_index goes there (every row is read then), else an in-range
 * ignore_index lets nothing through (pass 0 when none is ignored) and the
 * first bad block of 1,024 rows ends the scan. No branch per row: an index u
 * (unsigned: a negative one is out of range too) is in range where neither u
 * nor (cols - 1) - u has its top bit set, and is not ignore_index where
 * d = u ^ ignore_index is not 0, i.e. where d | -d has its top bit set; a
 * row is bad where both are. Subtractions, XORs, ANDs and ORs only, which
 * vectorise on any x86-64 (SSE2 has no 64-bit compare; the compare form ran
 * scalar, 1-2 cycles a row). */
static inline int csm_targets_scan(const int64_t *target, int64_t rows, int64_t cols,
                                   int64_t ignore_index, int64_t *ignored)
{
    const uint64_t last = (uint64_t)cols - 1, ig = (uint64_t)ignore_index;
    const int plain = ignored == NULL && ig < (uint64_t)cols;
    uint64_t count = 0;
    for (int64_t r0 = 0; r0 < rows; r0 += 1024) {
        const int64_t r1 = rows - r0 < 1024 ? rows : r0 + 1024;
        uint64_t bits = 0;
        if (plain) {
            for (int64_t r = r0; r < r1; r++) bits |= (uint64_t)target[r] | (last - (uint64_t)target[r]);
        } else {
            for (int64_t r = r0; r < r1; r++) {
                const uint64_t u = (uint64_t)target[r], d = u ^ ig, nz = d | (0 - d);
                count += 1 - (nz >> 63);
                bits |= (u | (last - u)) & nz;
            }
        }
        if (bits >> 63) return 0;
    }
    if (ignored != NULL) *ignored = (int64_t)count;
    return 1;
}

static inline int csm_targets_ok(const int64_t *target, int64_t rows, int64_t cols,
                                 int64_t ignore_index)
{
    return csm_targets_scan(target, rows, cols, ignore_index, NULL);
}

/* Rows per dynamically scheduled chunk. */
static inline int64_t csm_chunk_rows(int64_t cols, size_t elem_size)
{
    int64_t row_bytes = (cols > 0 ? cols : 1) * (int64_t)elem_size;
    int64_t r = CSM_CHUNK_BYTES / row_bytes;
    if (r >= CSM_CHUNK_ROW_MULTIPLE) return r - r % CSM_CHUNK_ROW_MULTIPLE;
    return r > 0 ? r : 1;
}

#ifdef _OPENMP
#define CSM_SPLIT_ROWS(rows, cols, elem_size, KERNEL_CALL)                           \
    do {                                                                             \
        const int64_t rows_ = (rows);                                                \
        int nt_ = csm_threads_for(rows_, (cols));                                    \
        const int stream_ = csm_stream_for(rows_, (cols), (elem_size));              \
        if (nt_ <= 1) {                                                              \
            int64_t r0 = 0, nr = rows_;                                              \
            csm_stream_hint = stream_;                                               \
            KERNEL_CALL;                                                             \
            csm_stream_hint = 0;                                                     \
        } else {                                                                     \
            const int64_t chunk_ = csm_chunk_rows((cols), (elem_size));              \
            const int64_t chunks_ = (rows_ + chunk_ - 1) / chunk_;                   \
            int64_t helped_ = 0;                                                     \
            double start_ = omp_get_wtime(), caller_done_ = start_;                  \
            _Pragma("omp parallel num_threads(nt_) reduction(+:helped_)")            \
            {                                                                        \
                const int me_ = omp_get_thread_num();                                \
                csm_stream_hint = stream_;                                           \
                _Pragma("omp for schedule(dynamic, 1) nowait")                       \
                for (int64_t c_ = 0; c_ < chunks_; c_++) {                           \
                    int64_t r0 = c_ * chunk_;                                        \
                    int64_t nr = rows_ - r0 < chunk_ ? rows_ - r0 : chunk_;          \
                    KERNEL_CALL;                                                     \
                    helped_ += me_ != 0;                                             \
                }                                                                    \
                csm_stream_hint = 0;                                                 \
                if (me_ == 0) caller_done_ = omp_get_wtime();                        \
            }                                                                        \
            csm_parallel_done(chunks_, helped_, nt_, start_, caller_done_,           \
                              omp_get_wtime());                                      \
        }                                                                            \
    } while (0)
#else
#define CSM_SPLIT_ROWS(rows, cols, elem_size, KERNEL_CALL)                           \
    do {                                                                             \
        int64_t r0 = 0, nr = (rows);                                                 \
        csm_stream_hint = csm_stream_for(nr, (cols), (elem_size));                   \
        KERNEL_CALL;                                                                 \
        csm_stream_hint = 0;                                                         \
    } while (0)
#endif

#endif
