"""Command line: ``python -m csoftmax info | bench | demo``.

- ``info``: version, kernel in use and available, threads, OpenMP, build.
- ``bench [--quick] [--json] [--plot FILE.png]``: csoftmax against the NumPy
  reference, SciPy, PyTorch and onnxruntime (when installed), side by side.
- ``demo [--json] [--plot FILE.png]``: softmax regression on scikit-learn's
  digits, trained with the fused cross-entropy gradient, then calibrated.
"""
from __future__ import annotations

import argparse
import os
import sys


_BUILD_KEYS = ("build", "build_flags", "compile_args", "compiler", "cflags")


def _compiler_from_binary(path: str):
    """The compiler recorded in the extension's ELF .comment section, if any."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    found = []
    for marker in (b"GCC: (", b"clang version"):
        start = data.find(marker)
        if start >= 0:
            end = data.find(b"\0", start)
            found.append(data[start:end].decode("ascii", "replace"))
    return "; ".join(found) or None


def collect_info() -> dict:
    """csoftmax.config() plus what can be found about the platform and the build."""
    import platform

    from . import _kernels, config
    from ._platform import cpu_model
    info = dict(config())
    info.setdefault("isa_available", list(_kernels.available_isas()))
    info["python"] = platform.python_version()
    info["platform"] = f"{platform.system()} {platform.machine()}"
    info["cpu"] = cpu_model()
    info["extension"] = _kernels.__file__
    if not any(info.get(key) is not None for key in _BUILD_KEYS):
        # a build without csoftmax/_build_info.py: the compiler is still in the binary
        info.pop("build", None)
        info["compiler"] = _compiler_from_binary(_kernels.__file__)
        info["build_flags"] = None  # not recorded by this build
    return info


def _format_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) if value else "(none)"
    return str(value)


def _format_build(build: dict) -> list:
    """The recorded build as `key value` lines (every line has a value, keys are unique):
    build_flags, then build.<key>, and build.file:<source> for the per-file ISA flags."""
    lines = [f"{'build_flags':14s} {_format_value(build.get('extra_compile_args', []))}"]
    for key, value in build.items():
        if key == "flags_by_isa":
            continue  # the same flags as flags_by_file, grouped: printed once, per file
        if key == "flags_by_file":
            for name, flags in value.items():
                lines.append(f"{'build.file:' + name:36s} {_format_value(flags)}")
        else:
            lines.append(f"{'build.' + key:36s} {_format_value(value)}")
    return lines


def format_info(info: dict) -> str:
    lines = []
    for key, value in info.items():
        if key == "build" and isinstance(value, dict):
            lines.append(f"{key:14s} recorded by setup.py when the extension was built")
            lines.extend(_format_build(value))
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        if key == "build_flags" and value is None:
            value = "not recorded by this build (csoftmax.config() has no build flags)"
        lines.append(f"{key:14s} {value}")
    return "\n".join(lines)


def _info(args) -> int:
    info = collect_info()
    if args.json:
        import json
        print(json.dumps(info))
    else:
        print(format_info(info))
    return 0


def _bench(args) -> int:
    from . import _bench
    return _bench.main(args)


def _demo(args) -> int:
    from . import _demo
    return _demo.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m csoftmax",
                                     description="csoftmax command-line tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{info,bench,demo}")

    info = sub.add_parser("info", help="print the version, kernels, threads and build")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=_info)

    bench = sub.add_parser(
        "bench", help="time csoftmax against NumPy, SciPy, PyTorch and onnxruntime",
        description="Time softmax and log_softmax of csoftmax against the NumPy reference, "
                    "SciPy and, when installed, PyTorch and onnxruntime, on tiny and wide rows "
                    "in float32 and float64, one thread, interleaved, median of repeats. "
                    "Progress goes to stderr.")
    bench.add_argument("--quick", action="store_true",
                       help="smaller arrays and fewer repeats (about 30 s)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--plot", metavar="FILE.png", help="save a bar chart (matplotlib)")
    bench.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    bench.set_defaults(handler=_bench)

    demo = sub.add_parser(
        "demo", help="train softmax regression on scikit-learn's digits and calibrate it",
        description="Train a softmax-regression classifier on scikit-learn's bundled digits "
                    "with csoftmax.cross_entropy_with_grad, compare with scikit-learn's "
                    "LogisticRegression, and report NLL and ECE before and after "
                    "temperature scaling. Needs the 'demo' extra.")
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.add_argument("--plot", metavar="FILE.png", help="save a reliability diagram (matplotlib)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    plot = getattr(args, "plot", None)
    if plot is not None:  # checked before the run, not after it
        folder = os.path.dirname(os.path.abspath(plot))
        if not os.path.isdir(folder):
            parser.error(f"--plot {plot}: the directory {folder} does not exist")
        if not os.access(folder, os.W_OK):
            parser.error(f"--plot {plot}: the directory {folder} is not writable")
    try:
        return args.handler(args)
    except BrokenPipeError:
        # the reader went away (`python -m csoftmax info | head`): end quietly,
        # as other command-line tools do, with stdout pointed at /dev/null so
        # that the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
