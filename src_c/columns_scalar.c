/* Portable column kernels: the build's baseline instruction set (SSE2 on
 * x86-64, NEON on arm64), vectorised by the compiler. Runs on any CPU. */
/* Floating-point exceptions are never inspected: let GCC if-convert (and so
 * vectorise) the selects in the loops and in the exp. Results, including inf
 * and NaN, are unchanged; this is not -ffast-math. */
#pragma GCC optimize("no-trapping-math")
#define CSMC_ISA scalar
#include "columns_body.h"
