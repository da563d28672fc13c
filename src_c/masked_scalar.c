/* Portable masked / tempered kernels: the build's baseline instruction set
 * (SSE2 on x86-64, NEON on arm64), vectorised by the compiler. Runs on any CPU. */
/* Floating-point exceptions are never inspected: let GCC if-convert (and so
 * vectorise) the mask selects and those in the exp. Results, including inf
 * and NaN, are unchanged; this is not -ffast-math. */
#pragma GCC optimize("no-trapping-math")
#define CSMK_ISA scalar
#define CSMK_VEC_BYTES 16
#include "masked_body.h"
