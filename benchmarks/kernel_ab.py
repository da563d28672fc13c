"""A/B of the AVX2 (or AVX-512) kernels of two source trees in one C program, for
judging a kernel change quickly (no package build, no Python in the timed loop):

    python benchmarks/kernel_ab.py HEAD --shape 64 1000 [--rounds 60] [--only xent] [--isa avx512]

The old side is ``src_c/`` at the given commit (``git archive``), the new side
this checkout's ``src_c/``; each is compiled once (``kernel_ab/kernels.c``,
the package's flags for ``kernels_avx2.c``, about a minute at -O3, the two in
parallel; ``--opt 0`` builds in seconds, for testing the harness itself),
``--isa avx512`` the AVX-512 kernels (``kernels_avx512.c``), both link into one program (``kernel_ab/main.c``) that times each kernel of
the two trees alternately on the same data, best of ``--rounds`` batches of
about 2 ms. A shape that fits in cache (64 x 1000 float32) times the kernels'
compute alone: on this project's noisy 2-core machine such ratios hold to a
few percent where whole-package A/Bs (``ab.py``) wander by 10. Streaming
stores are off unless ``--stream`` is given (the package turns them on for
outputs of 8 MiB and more: time such shapes with ``--stream``); streamed long
rows keep their exponentials in scratch rows (on by default on Intel CPUs
only: ``--no-scratch`` for the other CPUs' way).
Both trees must have the kernel signatures ``kernels.c`` calls. Needs gcc (or
``CC``) and an AVX2 CPU (AVX-512 for ``--isa avx512``).
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FLAGS = ["-std=gnu11", "-fPIC", "-fwrapv", "-fno-math-errno", "-mavx2", "-mfma", "-mbmi",
         "-mbmi2", "-mpopcnt", "-Wall", "-Wextra", "-Wno-unused-function"]
# the package's flags for each kernel file beyond FLAGS (setup.py)
ISA_FLAGS = {"avx2": [], "avx512": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl"]}


def _run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"kernel_ab.py: {' '.join(cmd[:3])} ... failed:\n{done.stderr[-3000:]}")
    return done


def compiler() -> list:
    """The C compiler's command: $CC split as a shell would (it may be a launcher and
    a compiler, "ccache gcc"), gcc without it."""
    return shlex.split(os.environ.get("CC") or "gcc")


def have_compiler() -> bool:
    cmd = compiler()
    return bool(cmd) and shutil.which(cmd[0]) is not None


def build(commit: str, workdir: str, opt: int = 3, new_cflags: tuple = (),
          isa: str = "avx2") -> str:
    """The timing program of `commit`'s kernels (old) against this checkout's (new),
    compiled at -O`opt` (3, the package's level, unless the harness itself is tested);
    `new_cflags` are added to the new side's compiler flags only; `isa` picks the
    kernel file (avx2 or avx512)."""
    old = os.path.join(workdir, "old")
    os.makedirs(old)
    tar = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", commit, "src_c"],
                         capture_output=True)
    if tar.returncode:
        raise SystemExit(f"kernel_ab.py: git archive {commit} failed: "
                         f"{tar.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", old], input=tar.stdout, check=True)
    cc = compiler()
    src = os.path.join(HERE, "kernel_ab")
    objs, procs = [], []
    for side, tree in (("old", os.path.join(old, "src_c")), ("new", os.path.join(ROOT, "src_c"))):
        obj = os.path.join(workdir, f"{side}.o")
        extra = list(new_cflags) if side == "new" else []
        cmd = [*cc, f"-O{opt}", *FLAGS, *ISA_FLAGS[isa], *extra, f"-I{tree}", f"-I{src}",
               f'-DKSRC="{tree}/kernels_{isa}.c"', f"-DKAB_ISA={isa}", f"-DPFX={side}_", "-c", os.path.join(src, "kernels.c"), "-o", obj]
        procs.append((cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True)))
        objs.append(obj)
    for cmd, proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"kernel_ab.py: compiling {cmd[-3]} failed:\n{err[-3000:]}")
    exe = os.path.join(workdir, "kernel_ab")
    _run([*cc, "-O2", "-std=gnu11", f"-I{src}", os.path.join(src, "main.c"), *objs, "-o", exe,
          "-lm"])
    return exe


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the old side: a commit (its src_c/)")
    parser.add_argument("--shape", nargs=2, type=int, default=[64, 1000],
                        metavar=("ROWS", "COLS"))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--only", default="", help="substring of the kernel names")
    parser.add_argument("--stream", action="store_true",
                        help="kernels write with streaming stores where they can, as the "
                             "package does for outputs of 8 MiB and more")
    parser.add_argument("--no-scratch", action="store_true",
                        help="long rows' exponentials in the output rows, not in scratch rows "
                             "(the package's default on CPUs other than Intel's)")
    parser.add_argument("--opt", type=int, default=3, choices=range(4),
                        help="optimisation level of both sides (default 3, the package's; "
                             "0 compiles in seconds, for testing the harness only)")
    parser.add_argument("--isa", default="avx2", choices=sorted(ISA_FLAGS),
                        help="the kernels timed (default avx2)")
    parser.add_argument("--new-cflags", default="",
                        help="compiler flags added to the new side only (e.g. a flag's A/B "
                             "on the same tree: HEAD --new-cflags=-fschedule-insns)")
    args = parser.parse_args(argv)
    if args.shape[0] < 1 or args.shape[1] < 1 or args.rounds < 1:
        raise SystemExit("kernel_ab.py: --shape and --rounds must be positive")
    if not have_compiler():
        raise SystemExit("kernel_ab.py: no C compiler (set CC)")
    with tempfile.TemporaryDirectory(prefix="kernel_ab_") as workdir:
        exe = build(args.commit, workdir, args.opt, tuple(args.new_cflags.split()), args.isa)
        done = subprocess.run([exe, str(args.shape[0]), str(args.shape[1]), str(args.rounds),
                               args.only], capture_output=True, text=True,
                              env={**os.environ, "KAB_STREAM": "1" if args.stream else "0",
                                   "KAB_SCRATCH": "0" if args.no_scratch else "1"})
    sys.stdout.write(done.stdout)
    if done.returncode:
        raise SystemExit(f"kernel_ab.py: {done.stderr.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
