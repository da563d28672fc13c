/* Portable kernels: the build's baseline instruction set (SSE2 on x86-64,
 * NEON on arm64), vectorised by the compiler. Runs on any CPU. */
#define CSM_ISA scalar
#define CSM_VEC_BYTES 16
#include "kernels_instance.h"
