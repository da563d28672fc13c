/* The argmax kernels compiled for AVX-512 (F, DQ, BW, VL) with
 * 512-bit vectors; only called when dispatch.c has checked the CPU and the OS.
 * Empty on other architectures. */
#if defined(__x86_64__) || defined(_M_X64)
#include <math.h>
#include <stdint.h>
#include <string.h>
/* Floating-point exceptions are never inspected: let GCC if-convert (and so
 * vectorise) the selects. Results, including inf
 * and NaN, are unchanged; this is not -ffast-math. */
#pragma GCC optimize("no-trapping-math")
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi,bmi2,popcnt,prefer-vector-width=512")
#define CSMA_ISA avx512
#define CSMA_VEC_BYTES 64
#include "argmax_body.h"
#else
typedef int csma_avx512_unused;
#endif
