/*
 * Runtime CPU dispatch and threading.
 *
 * The kernel table is resolved once, on first use, to the best instruction set
 * that both the CPU (cpuid) and the operating system (xgetbv: the OS saves the
 * YMM / ZMM / opmask state) support. csoftmax_set_isa() may lower it (tests,
 * CSOFTMAX_ISA) but never raise it above what the machine supports.
 *
 * Threads: when a call has enough work to pay for waking them, chunks of rows
 * are handed out dynamically to OpenMP threads, each running the
 * single-threaded row kernel on its chunk (CSM_SPLIT_ROWS in
 * csoftmax_internal.h).
 */
#include "csoftmax_internal.h"

#include <math.h>
#include <string.h>

#if defined(CSM_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

static uint64_t csm_xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int csm_detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CSOFTMAX_ISA_SCALAR;
    int has_osxsave = (c >> 27) & 1, has_avx = (c >> 28) & 1, has_fma = (c >> 12) & 1;
    if (!has_osxsave || !has_avx) return CSOFTMAX_ISA_SCALAR;
    uint64_t xcr0 = csm_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return CSOFTMAX_ISA_SCALAR;          /* XMM and YMM state */
    if (__get_cpuid_max(0, NULL) < 7) return CSOFTMAX_ISA_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    int has_avx2 = (b >> 5) & 1, has_bmi1 = (b >> 3) & 1, has_bmi2 = (b >> 8) & 1;
    if (!(has_avx2 && has_fma && has_bmi1 && has_bmi2)) return CSOFTMAX_ISA_SCALAR;
    int has_512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
    if (has_512 && (xcr0 & 0xE6) == 0xE6) return CSOFTMAX_ISA_AVX512; /* + opmask, ZMM */
    return CSOFTMAX_ISA_AVX2;
}

/* The CPU's vendor string (cpuid leaf 0: "GenuineIntel", "AuthenticAMD", ..)
 * into v[13]; "" where cpuid has none. */
static void csm_vendor(char v[13])
{
    unsigned a, b, c, d;
    v[0] = '\0';
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    memcpy(v, &b, 4);
    memcpy(v + 4, &d, 4);
    memcpy(v + 8, &c, 4);
    v[12] = '\0';
}
#else
static int csm_detect(void) { return CSOFTMAX_ISA_SCALAR; }
static void csm_vendor(char v[13]) { v[0] = '\0'; }
#endif

/* cpuid's vendor string, read once with the dispatch (csm_ensure) */
static char csm_vendor_name[13];

/* Whether the CPU's vendor is Intel. */
static int csm_intel(void)
{
    return strcmp(csm_vendor_name, "GenuineIntel") == 0;
}

static csm_kernel_table csm_table;
static int csm_best = -1;
static int csm_current = -1;
static int csm_threads = 0;

static void csm_load(int isa)
{
    csm_kernel_table t;
    switch (isa) {
#ifdef CSM_X86
    case CSOFTMAX_ISA_AVX512: csm_fill_table_avx512(&t); break;
    case CSOFTMAX_ISA_AVX2: csm_fill_table_avx2(&t); break;
#endif
    default: csm_fill_table_scalar(&t); isa = CSOFTMAX_ISA_SCALAR; break;
    }
    csm_table = t;
    csm_current = isa;
}

_Thread_local int csm_stream_hint = 0;

int csm_stream_for(int64_t rows, int64_t cols, size_t elem_size)
{
    return (double)rows * (double)cols * (double)elem_size >= (double)CSM_STREAM_MIN_BYTES;
}

/* Scratch rows for long rows' exponentials (simd_scratch_rows), by default
 * on Intel CPUs only. The project's two machines disagreed: on an Intel Xeon
 * with AVX-512 they took float32 256 x 32000 softmax from 0.569 to 0.374 ns
 * per element (the output streamed, no read for ownership of its lines); on
 * an AMD EPYC (Zen 3, AVX2) the rows without them were faster in 13 of the 14
 * 256 x 32000 calls timed (softmax, cross-entropy with each option, float32
 * and float64: 0.88-0.98x the time, medians of 12 alternating processes; float32
 * softmax into out= 1.03-1.07x). Set before the kernel table, which marks the
 * dispatch resolved. */
int csm_scratch_rows = 0;
static int csm_scratch_default(void) { return csm_intel(); }

static void csm_ensure(void)
{
    if (csm_current < 0) {
        csm_best = csm_detect();
        csm_vendor(csm_vendor_name);
        csm_scratch_rows = csm_scratch_default();
        csm_load(csm_best);
    }
}

const char *csoftmax_cpu_vendor(void)
{
    csm_ensure();
    return csm_vendor_name;
}

void csoftmax_set_scratch_rows(int on)
{
    csm_ensure();
    csm_scratch_rows = on < 0 ? csm_scratch_default() : on != 0;
}

int csoftmax_scratch_rows(void)
{
    csm_ensure();
    return csm_scratch_rows;
}

csoftmax_isa csoftmax_best_isa(void)
{
    csm_ensure();
    return (csoftmax_isa)csm_best;
}

int csoftmax_isa_supported(csoftmax_isa isa)
{
    csm_ensure();
    return (int)isa >= CSOFTMAX_ISA_SCALAR && (int)isa <= csm_best;
}

int csoftmax_set_isa(csoftmax_isa isa)
{
    if (!csoftmax_isa_supported(isa)) return CSOFTMAX_ERR_UNSUPPORTED;
    csm_load((int)isa);
    return CSOFTMAX_OK;
}

csoftmax_isa csoftmax_get_isa(void)
{
    csm_ensure();
    return (csoftmax_isa)csm_current;
}

const char *csoftmax_isa_name(csoftmax_isa isa)
{
    switch (isa) {
    case CSOFTMAX_ISA_AVX512: return "avx512";
    case CSOFTMAX_ISA_AVX2: return "avx2";
    case CSOFTMAX_ISA_SCALAR: return "scalar";
    }
    return "unknown";
}

void csoftmax_set_num_threads(int n) { csm_threads = n > 0 ? n : 0; }

/* fork(): GNU OpenMP's worker threads do not survive it, and a child whose
 * parent had started them waits for them forever in its first parallel
 * region (os.fork, multiprocessing's "fork" start method). A process forked
 * after csoftmax started a team runs on one thread from then on (a fork
 * handler marks it, as PyTorch's thread pool and Numba's OpenMP layer watch
 * for fork); a child of a parent that never started one keeps its threads. */
#if defined(_OPENMP) && !defined(_WIN32)
#include <pthread.h>
static int csm_team_started = 0; /* a parallel region was started in this process */
static int csm_forked = 0;       /* forked after that: OpenMP's pool is gone */
static void csm_after_fork_in_child(void)
{
    if (csm_team_started) csm_forked = 1;
}
static pthread_once_t csm_atfork_once = PTHREAD_ONCE_INIT;
static void csm_register_atfork(void) { pthread_atfork(NULL, NULL, csm_after_fork_in_child); }

/* Called before each parallel region. */
static void csm_note_team(void)
{
    pthread_once(&csm_atfork_once, csm_register_atfork);
#pragma omp atomic write
    csm_team_started = 1;
}

static int csm_in_forked_child(void)
{
    int forked;
#pragma omp atomic read
    forked = csm_forked;
    return forked;
}
#else
static void csm_note_team(void) {}
static int csm_in_forked_child(void) { return 0; }
#endif

int csoftmax_forked_single_thread(void) { return csm_in_forked_child(); }

int csoftmax_get_num_threads(void)
{
#ifdef _OPENMP
    if (csm_in_forked_child()) return 1;
    /* omp_get_max_threads() honours OMP_NUM_THREADS and threadpoolctl limits;
     * csoftmax_set_num_threads' n is a cap below them, not a way around them
     * (a pool limited to one thread per worker stays so). */
    int omp_max = omp_get_max_threads();
    return csm_threads > 0 && csm_threads < omp_max ? csm_threads : omp_max;
#else
    return 1;
#endif
}

int csoftmax_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* The oversubscription guard (csoftmax_internal.h): until when (omp_get_wtime)
 * large calls run on one thread, and the length of the next such stretch. */
static double csm_serial_until = 0.0;
static double csm_backoff = 0.0;

int csm_threads_for(int64_t rows, int64_t cols)
{
    int n = csoftmax_get_num_threads();
    if (n <= 1 || rows < 2) return 1;
    if (rows * (cols + CSM_ROW_WORK) < CSM_PARALLEL_MIN_WORK) return 1;
#ifdef _OPENMP
    double until;
#pragma omp atomic read
    until = csm_serial_until;
    if (until > 0.0 && omp_get_wtime() < until) return 1;
#endif
    if (n > rows) n = (int)rows;
    csm_note_team();
    return n;
}

void csm_parallel_done(int64_t chunks, int64_t helped, int nt, double start,
                       double caller_done, double end)
{
#ifdef _OPENMP
    /* fair shares: chunks * (nt - 1) / nt for the helpers, chunks / nt for the
     * caller; late when either side did less than a quarter of its share (the
     * other side was not running), or the caller waited for the helpers for
     * more than a quarter of the call */
    int late = nt > 1 && (helped * 4 * nt < chunks * (nt - 1)
                          || (chunks - helped) * 4 * nt < chunks);
    if ((end - caller_done) * 4 > end - start) late = 1;
    double backoff;
#pragma omp atomic read
    backoff = csm_backoff;
    if (!late) {
        /* a team that keeps up halves the next stretch: a busy machine has good moments */
#pragma omp atomic write
        csm_backoff = backoff / 2;
        return;
    }
    backoff = backoff < CSM_BACKOFF_MIN ? CSM_BACKOFF_MIN
              : backoff >= CSM_BACKOFF_MAX / 2 ? CSM_BACKOFF_MAX : 2 * backoff;
#pragma omp atomic write
    csm_backoff = backoff;
    end += backoff;
#pragma omp atomic write
    csm_serial_until = end;
#else
    (void)chunks;
    (void)helped;
    (void)nt;
    (void)start;
    (void)caller_done;
    (void)end;
#endif
}

static int csm_check(const void *x, const void *y, int64_t rows, int64_t cols)
{
    if (rows < 0 || cols < 0) return CSOFTMAX_ERR_ARGUMENT;
    if (rows > 0 && cols > 0 && (x == NULL || y == NULL)) return CSOFTMAX_ERR_ARGUMENT;
    return CSOFTMAX_OK;
}

#define CSM_DEFINE_ROWS(name, T, field)                                                    \
    int name(const T *x, int64_t xs, T *y, int64_t ys, int64_t rows, int64_t cols)        \
    {                                                                                      \
        int st = csm_check(x, y, rows, cols);                                              \
        if (st != CSOFTMAX_OK || rows == 0 || cols == 0) return st;                        \
        csm_ensure();                                                                      \
        csm_rows_##T##_fn k_ = csm_table.field;                                            \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                              \
                       k_(x + r0 * xs, xs, y + r0 * ys, ys, nr, cols));                    \
        return CSOFTMAX_OK;                                                                \
    }

typedef csm_rows_f32 csm_rows_float_fn;
typedef csm_rows_f64 csm_rows_double_fn;
typedef csm_reduce_f32 csm_reduce_float_fn;
typedef csm_reduce_f64 csm_reduce_double_fn;
typedef csm_xent_f32 csm_xent_float_fn;
typedef csm_xent_f64 csm_xent_double_fn;

CSM_DEFINE_ROWS(csoftmax_softmax_f32, float, softmax_f32)
CSM_DEFINE_ROWS(csoftmax_softmax_f64, double, softmax_f64)
CSM_DEFINE_ROWS(csoftmax_log_softmax_f32, float, log_softmax_f32)
CSM_DEFINE_ROWS(csoftmax_log_softmax_f64, double, log_softmax_f64)

#define CSM_DEFINE_REDUCE(name, T, field)                                                  \
    int name(const T *x, int64_t xs, T *out, int64_t rows, int64_t cols)                   \
    {                                                                                      \
        int st = csm_check(x, out, rows, cols);                                            \
        if (st != CSOFTMAX_OK || rows == 0) return st;                                     \
        if (cols == 0) {                                                                   \
            for (int64_t r = 0; r < rows; r++) out[r] = (T)-INFINITY;                      \
            return CSOFTMAX_OK;                                                            \
        }                                                                                  \
        csm_ensure();                                                                      \
        csm_reduce_##T##_fn k_ = csm_table.field;                                          \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T), k_(x + r0 * xs, xs, out + r0, nr, cols));    \
        return CSOFTMAX_OK;                                                                \
    }

CSM_DEFINE_REDUCE(csoftmax_logsumexp_f32, float, logsumexp_f32)
CSM_DEFINE_REDUCE(csoftmax_logsumexp_f64, double, logsumexp_f64)

#define CSM_DEFINE_XENT(name, T, field)                                                    \
    int name(const T *x, int64_t xs, const int64_t *target, T *loss, T *grad, int64_t gs,  \
             int64_t rows, int64_t cols, double grad_scale)                                \
    {                                                                                      \
        int st = csm_check(x, loss, rows, cols);                                           \
        if (st != CSOFTMAX_OK || rows == 0) return st;                                     \
        if (cols == 0 || target == NULL) return CSOFTMAX_ERR_ARGUMENT;                     \
        if (!csm_targets_ok(target, rows, cols, 0)) return CSOFTMAX_ERR_TARGET;            \
        csm_ensure();                                                                      \
        csm_xent_##T##_fn k_ = csm_table.field;                                            \
        CSM_SPLIT_ROWS(rows, cols, sizeof(T),                                              \
                       k_(x + r0 * xs, xs, target + r0, loss + r0,                         \
                          grad == NULL ? NULL : grad + r0 * gs, gs, nr, cols, grad_scale)); \
        return CSOFTMAX_OK;                                                                \
    }

CSM_DEFINE_XENT(csoftmax_cross_entropy_f32, float, cross_entropy_f32)
CSM_DEFINE_XENT(csoftmax_cross_entropy_f64, double, cross_entropy_f64)

double csoftmax_loss_sum_f32(const float *v, int64_t n)
{
    if (n <= 0 || v == NULL) return 0.0;
    csm_ensure();
    return csm_table.loss_sum_f32(v, n);
}

double csoftmax_loss_sum_f64(const double *v, int64_t n)
{
    if (n <= 0 || v == NULL) return 0.0;
    csm_ensure();
    return csm_table.loss_sum_f64(v, n);
}

int64_t csoftmax_count_ignored(const int64_t *target, int64_t rows, int64_t cols,
                               int64_t ignore_index)
{
    if (rows < 0 || cols < 1 || (rows > 0 && target == NULL)) return CSOFTMAX_ERR_ARGUMENT;
    int64_t n = 0;
    return csm_targets_scan(target, rows, cols, ignore_index, &n) ? n : CSOFTMAX_ERR_TARGET;
}

#define CSM_DEFINE_MAP(name, T, field)                                                     \
    int name(const T *x, T *y, int64_t n)                                                  \
    {                                                                                      \
        int st = csm_check(x, y, n, 1);                                                    \
        if (st != CSOFTMAX_OK || n == 0) return st;                                        \
        csm_ensure();                                                                      \
        csm_table.field(x, y, n);                                                          \
        return CSOFTMAX_OK;                                                                \
    }

CSM_DEFINE_MAP(csoftmax_exp_f32, float, exp_f32)
CSM_DEFINE_MAP(csoftmax_exp_f64, double, exp_f64)
