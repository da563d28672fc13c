/* Explicit AVX-512 (F, DQ, BW, VL) kernels (simd_body.h over simd_avx512.h);
 * only called when dispatch.c has checked the CPU and the OS (cpuid and
 * xgetbv, including the opmask and ZMM state). Empty on other architectures. */
#if defined(__x86_64__) || defined(_M_X64)
#include <math.h>
#include <stdint.h>
#include <string.h>
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi,bmi2,popcnt")
#define CSM_ISA avx512
#define CSM_SIMD_LAYER "simd_avx512.h"
#include "simd_instance.h"
#else
typedef int csm_avx512_unused;
#endif
