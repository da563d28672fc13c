/* Portable loss kernels: the build's baseline instruction set (SSE2 on
 * x86-64, NEON on arm64), vectorised by the compiler. Runs on any CPU. */
#define CSL_ISA scalar
#define CSL_VEC_BYTES 16
#include "losses_body.h"
