/*
 * benchmarks/kernel_ab.py's timing program: each kernel of the old and the
 * new tree (kernels.c, compiled twice) on the same data, alternating, in
 * batches of about 2 ms, `rounds` times; prints the best batch of each per
 * call and their ratio new / old. One thread, data made once: shapes that
 * fit in cache time the kernels' compute alone. Streaming stores are off
 * unless KAB_STREAM=1 is in the environment (then the package's per-thread
 * hint is set, as the package sets it for outputs of 8 MiB and more); long
 * rows streamed keep their exponentials in scratch rows unless KAB_SCRATCH=0
 * (the package's default on Intel CPUs only: csm_scratch_rows, dispatch.c).
 *
 *     [KAB_STREAM=1] [KAB_SCRATCH=0] kernel_ab ROWS COLS [ROUNDS [SUBSTRING]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kab.h"

/* what the kernels' translation units expect from the rest of the package */
_Thread_local int csm_stream_hint = 0;
int csm_scratch_rows = 1;

#define K(name) void old_##name(const kab_args *a); void new_##name(const kab_args *a);
KAB_KERNELS
#undef K

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *buffer(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "kernel_ab: out of memory\n");
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: kernel_ab ROWS COLS [ROUNDS [SUBSTRING]]\n");
        return 2;
    }
    const int64_t rows = atoll(argv[1]), cols = atoll(argv[2]);
    const int rounds = argc > 3 ? atoi(argv[3]) : 40;
    const char *only = argc > 4 ? argv[4] : "";
    const char *stream = getenv("KAB_STREAM");
    csm_stream_hint = stream != NULL && strcmp(stream, "1") == 0;
    const char *scratch = getenv("KAB_SCRATCH");
    csm_scratch_rows = !(scratch != NULL && strcmp(scratch, "0") == 0);
    if (rows < 1 || cols < 1 || rounds < 1) {
        fprintf(stderr, "kernel_ab: ROWS, COLS and ROUNDS must be positive\n");
        return 2;
    }
    const size_t n = (size_t)rows * (size_t)cols;
    float *x = buffer(n * 4), *q = buffer(n * 4), *w = buffer((size_t)cols * 4);
    double *xd = buffer(n * 8), *qd = buffer(n * 8);
    int64_t *t = buffer((size_t)rows * 8);
    kab_args a = {x, q, w, xd, qd, buffer(n * 4), buffer((size_t)rows * 4), buffer(n * 8),
                  buffer((size_t)rows * 8), buffer((size_t)rows * 8), t, rows, cols};
    uint64_t state = 88172645463325252ull; /* xorshift64: the same data every run */
    for (size_t i = 0; i < n; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        double u = (double)(state >> 11) / 9007199254740992.0;
        xd[i] = (u - 0.5) * 6.0;
        x[i] = (float)xd[i];
        q[i] = (float)(1.0 / (double)cols);
        qd[i] = 1.0 / (double)cols;
    }
    for (int64_t j = 0; j < cols; j++) w[j] = 0.5f + 0.25f * (float)(j % 7);
    for (int64_t r = 0; r < rows; r++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        t[r] = (int64_t)(state % (uint64_t)cols);
    }
    long reps = (long)(2e6 / (double)n);
    if (reps < 1) reps = 1;
    printf("%-22s %13s %12s %12s %9s\n", "kernel", "shape", "old us", "new us", "new/old");
    int matched = 0;
#define K(name)                                                                          \
    if (strstr(#name, only) != NULL) {                                                   \
        double best_old = 1e30, best_new = 1e30;                                         \
        for (int r = 0; r < rounds; r++) {                                               \
            double t0 = now();                                                           \
            for (long k = 0; k < reps; k++) old_##name(&a);                              \
            double t1 = now();                                                           \
            for (long k = 0; k < reps; k++) new_##name(&a);                              \
            double t2 = now();                                                           \
            if (t1 - t0 < best_old) best_old = t1 - t0;                                  \
            if (t2 - t1 < best_new) best_new = t2 - t1;                                  \
        }                                                                                \
        char shape[48];                                                                  \
        snprintf(shape, sizeof shape, "%lldx%lld", (long long)rows, (long long)cols);    \
        printf("%-22s %13s %12.2f %12.2f %9.3f\n", #name, shape, best_old / reps * 1e6,  \
               best_new / reps * 1e6, best_new / best_old);                              \
        matched++;                                                                       \
    }
    KAB_KERNELS
#undef K
    if (!matched) {
        fprintf(stderr, "kernel_ab: no kernel name contains '%s'\n", only);
        return 2;
    }
    return 0;
}
