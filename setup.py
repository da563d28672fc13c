"""Build the csoftmax extension: one Cython module over the C kernels in src_c/.

Flags: -O3 on the portable baseline of the target architecture. The AVX2 and
AVX-512 kernels are compiled in their own files under `#pragma GCC target`, so
no global -m flag leaks into the baseline code, and are only called after the
runtime CPU check. CSOFTMAX_NATIVE=1 adds -march=native for a local build
that will only run on the machine that built it. CSOFTMAX_NO_OPENMP=1 builds
without threads. CSOFTMAX_SANITIZE=1 builds with AddressSanitizer and UBSan.
Never -ffast-math: it breaks inf/NaN handling that the kernels rely on.
"""
import os
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

compile_args = ["-O3", "-std=gnu11", "-Wall", "-Wextra", "-fno-math-errno"]
link_args = []
if os.environ.get("CSOFTMAX_NO_OPENMP") != "1" and sys.platform != "darwin":
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")
if os.environ.get("CSOFTMAX_NATIVE") == "1":
    compile_args.append("-march=native")
if os.environ.get("CSOFTMAX_SANITIZE") == "1":
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
    compile_args = [a for a in compile_args if a != "-O3"] + san
    link_args += ["-fsanitize=address,undefined"]

extensions = [
    Extension(
        "csoftmax._kernels",
        sources=[
            "csoftmax/_kernels.pyx",
            "src_c/dispatch.c",
            "src_c/kernels_scalar.c",
            "src_c/kernels_avx2.c",
            "src_c/kernels_avx512.c",
            "src_c/losses_dispatch.c",
            "src_c/losses_scalar.c",
            "src_c/losses_avx2.c",
            "src_c/losses_avx512.c",
        ],
        include_dirs=["src_c", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        depends=[
            "src_c/csoftmax.h",
            "src_c/csoftmax_internal.h",
            "src_c/exp_impl.h",
            "src_c/kernels_body.h",
            "src_c/kernels_instance.h",
            "src_c/losses.h",
            "src_c/losses_body.h",
            "csoftmax/_losses.pxi",
            "src_c/simd_avx2.h",
            "src_c/simd_avx512.h",
            "src_c/simd_body.h",
            "src_c/simd_instance.h",
            "src_c/simd_undef.h",
        ],
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}))
