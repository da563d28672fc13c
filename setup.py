"""Build the csoftmax extension: one Cython module over the C kernels in src_c/.

Flags: -O3 on the portable baseline of the target architecture. The AVX2 and
AVX-512 kernels are compiled in their own files under `#pragma GCC target`, so
no global -m flag leaks into the baseline code, and are only called after the
runtime CPU check. CSOFTMAX_NATIVE=1 adds -march=native for a local build
that will only run on the machine that built it. CSOFTMAX_NO_OPENMP=1 builds
without threads. CSOFTMAX_SANITIZE=1 builds with AddressSanitizer and UBSan.
Never -ffast-math: it breaks inf/NaN handling that the kernels rely on.

The extension's C files are compiled side by side, one per CPU this process
may run on (build_ext's --parallel / -j N, or CSOFTMAX_BUILD_JOBS=N, sets the
number; 1 compiles them in turn): setuptools' own --parallel only builds
several extensions at once, and this is one extension whose two SIMD kernel
files take most of the build (about two minutes each at -O3).

The compiler and the flags actually used are written at build time to
csoftmax/_build_info.py (generated, not in git, shipped in wheels) and shown by
csoftmax.config()["build"] and `python -m csoftmax info`.
"""
import os
import platform
import pprint
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import Cython
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

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
        # the two slowest files to compile first (they start together with -j 2)
        sources=[
            "src_c/kernels_avx2.c",
            "src_c/kernels_avx512.c",
            "csoftmax/_kernels.pyx",
            "src_c/dispatch.c",
            "src_c/kernels_scalar.c",
            "src_c/losses_dispatch.c",
            "src_c/losses_scalar.c",
            "src_c/masked_dispatch.c",
            "src_c/masked_scalar.c",
            "src_c/masked_avx2.c",
            "src_c/masked_avx512.c",
            "src_c/columns_dispatch.c",
            "src_c/columns_scalar.c",
            "src_c/columns_avx2.c",
            "src_c/columns_avx512.c",
            "src_c/argmax_dispatch.c",
            "src_c/argmax_scalar.c",
            "src_c/argmax_avx2.c",
            "src_c/argmax_avx512.c",
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
            "src_c/loss_sum.h",
            "src_c/losses.h",
            "src_c/losses_body.h",
            "src_c/masked.h",
            "src_c/masked_body.h",
            "src_c/columns.h",
            "src_c/columns_body.h",
            "src_c/columns_simd.h",
            "src_c/columns_instance.h",
            "src_c/argmax.h",
            "src_c/argmax_body.h",
            "src_c/log1p_impl.h",
            "csoftmax/_columns.pxi",
            "csoftmax/_argmax.pxi",
            "csoftmax/_losses.pxi",
            "csoftmax/_masked.pxi",
            "csoftmax/_sample.pxi",
            "csoftmax/_alloc.h",
            "src_c/simd_avx2.h",
            "src_c/simd_avx512.h",
            "src_c/simd_body.h",
            "src_c/simd_losses_body.h",
            "src_c/simd_instance.h",
            "src_c/simd_undef.h",
        ],
    )
]


# --- build info: csoftmax/_build_info.py -------------------------------------
# The ISA of the AVX2 / AVX-512 files is set by `#pragma GCC target(...)` (and
# some files add `#pragma GCC optimize(...)`) in the .c file itself, not by a
# command-line flag; the build info records those pragmas as the equivalent
# -m / -f flags, per source file and per ISA (the file-name suffix _<isa>.c).
BUILD_INFO = "_build_info.py"
_PRAGMA = re.compile(r'^[ \t]*#[ \t]*pragma[ \t]+GCC[ \t]+(target|optimize)[ \t]*\([ \t]*"([^"]*)"', re.M)
_ISA_SUFFIX = re.compile(r"_(scalar|avx2|avx512|neon|sve)\.c$")


def _pragma_flags(path):
    """`#pragma GCC target("avx2,fma")` -> ["-mavx2", "-mfma"]; optimize("no-trapping-math") -> -f..."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return []
    flags = []
    for kind, value in _PRAGMA.findall(text):
        for item in filter(None, (part.strip() for part in value.split(","))):
            if kind == "target":
                flags.append("-m" + item)
            elif re.fullmatch(r"O[0-3sgz]?|Ofast", item):
                flags.append("-" + item)
            else:
                flags.append("-f" + item)
    return flags


def _compiler_version(command):
    try:
        out = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.splitlines()[0].strip() if out.returncode == 0 and out.stdout else None


def _build_jobs(parallel):
    """How many C files to compile at once: build_ext's --parallel (-j) if given,
    else CSOFTMAX_BUILD_JOBS, else the CPUs this process may run on."""
    if parallel:
        return int(parallel)
    env = os.environ.get("CSOFTMAX_BUILD_JOBS")
    if env:
        try:
            jobs = int(env)
        except ValueError:
            raise SystemExit(f"setup.py: CSOFTMAX_BUILD_JOBS must be a positive integer, got {env!r}")
        if jobs < 1:
            raise SystemExit(f"setup.py: CSOFTMAX_BUILD_JOBS must be a positive integer, got {env!r}")
        return jobs
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _parallel_compile(compile_one, jobs):
    """A CCompiler.compile that hands each source file to compile_one (the
    compiler's own compile) in its own call, `jobs` at a time, and returns the
    objects in the sources' order; the first failure is raised."""
    def compile_all(sources, *args, **kwargs):
        if jobs <= 1 or len(sources) <= 1:
            return compile_one(sources, *args, **kwargs)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(compile_one, [src], *args, **kwargs) for src in sources]
            return [obj for future in futures for obj in future.result()]
    return compile_all


class build_ext_with_info(build_ext):
    """build_ext that compiles the extension's C files side by side (_build_jobs)
    and also writes csoftmax/_build_info.py beside the extension it builds."""

    def build_extension(self, ext):
        path = self.get_ext_fullpath(ext.name)
        before = os.path.getmtime(path) if os.path.exists(path) else None
        jobs = _build_jobs(self.parallel)
        compile_one = self.compiler.compile
        self.compiler.compile = _parallel_compile(compile_one, jobs)
        try:
            super().build_extension(ext)
        finally:
            self.compiler.compile = compile_one
        if os.path.exists(path) and os.path.getmtime(path) != before:
            self._csoftmax_built = True

    def _build_info(self):
        ext = self.extensions[0]
        command = list(getattr(self.compiler, "compiler_so", None) or [])
        # a compiler cache given as CC="ccache gcc" (the CI does so) is not the compiler
        launcher = None
        if len(command) > 1 and os.path.basename(command[0]) in ("ccache", "sccache", "distcc"):
            launcher, command = command[0], command[1:]
        per_file = {src: _pragma_flags(src) for src in ext.sources}
        per_isa = {}
        for src, flags in per_file.items():
            match = _ISA_SUFFIX.search(src)
            if match:
                per_isa.setdefault(match.group(1), {})[src] = flags
        return {
            "compiler": _compiler_version(command[0]) if command else None,
            "compiler_command": command[0] if command else getattr(self.compiler, "compiler_type", None),
            "compiler_launcher": launcher,
            "base_cflags": command[1:],            # Python's CFLAGS as used by setuptools
            "extra_compile_args": list(ext.extra_compile_args),
            "extra_link_args": list(ext.extra_link_args),
            "openmp": "-fopenmp" if "-fopenmp" in ext.extra_compile_args else None,
            "native": "-march=native" in ext.extra_compile_args,
            "sanitize": any(a.startswith("-fsanitize") for a in ext.extra_compile_args),
            "flags_by_file": per_file,             # from the files' #pragma GCC target/optimize
            "flags_by_isa": per_isa,
            "cython": Cython.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
        }

    def run(self):
        self._csoftmax_built = False
        super().run()
        targets = [os.path.join(self.build_lib, "csoftmax", BUILD_INFO)]
        if self.inplace:
            package_dir = self.get_finalized_command("build_py").get_package_dir("csoftmax")
            targets.append(os.path.join(package_dir, BUILD_INFO))
        text = None
        for target in targets:
            if not self._csoftmax_built and os.path.exists(target):
                continue  # extension up to date: keep the info of the build that made it
            if text is None:
                text = ("# Generated by setup.py (build_ext) when the extension was built: the compiler\n"
                        "# and flags actually used. Not in git; do not edit.\n"
                        f"build_info = {pprint.pformat(self._build_info(), width=100, sort_dicts=False)}\n")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)


setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
      cmdclass={"build_ext": build_ext_with_info})
