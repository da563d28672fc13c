/* Explicit AVX2 + FMA kernels (simd_body.h over simd_avx2.h); only called
 * when dispatch.c has checked the CPU and the OS (cpuid and xgetbv). Empty on
 * other architectures. */
#if defined(__x86_64__) || defined(_M_X64)
#include <math.h>
#include <stdint.h>
#include <string.h>
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt")
#define CSM_ISA avx2
#define CSM_SIMD_LAYER "simd_avx2.h"
#include "simd_instance.h"
#else
typedef int csm_avx2_unused; /* ISO C forbids an empty translation unit */
#endif
