/* Portable argmax kernels: the build's baseline instruction set
 * (SSE2 on x86-64, NEON on arm64), vectorised by the compiler. Runs on any CPU. */
/* Floating-point exceptions are never inspected: let GCC if-convert (and so
 * vectorise) the selects. Results, including inf
 * and NaN, are unchanged; this is not -ffast-math. */
#pragma GCC optimize("no-trapping-math")
#define CSMA_ISA scalar
#define CSMA_VEC_BYTES 16
#include "argmax_body.h"
