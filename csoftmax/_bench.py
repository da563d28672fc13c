"""``python -m csoftmax bench``: csoftmax side by side with the other softmaxes.

softmax and log_softmax, float32 and float64, tiny rows (3 and 10 columns)
and wide rows (1,000 and 32,000 columns), on one thread, for:

- ``copy``: ``np.copyto(out, x)``, the floor for a one-read-one-write kernel;
- ``csoftmax``: writing into a preallocated ``out``;
- ``reference``: ``csoftmax.reference`` (the NumPy test oracle, in long double), when
  importable, timed on the first rows only (it is hundreds of times slower);
- ``scipy``: ``scipy.special``, when installed;
- ``torch``: ``torch.softmax(..., out=)`` on ``torch.from_numpy`` tensors, when installed;
- ``onnxruntime``: a one-node ``Softmax`` / ``LogSoftmax`` model, one intra-op
  thread, when onnxruntime and onnx are installed.

Every implementation of a case is timed in the same loop, interleaved (the
order rotates each repeat) so that a noisy neighbour slows all of them alike,
and the median of the repeats is kept. Times are reported per element, and
ratios are csoftmax's time divided by the other's (below 1: csoftmax faster).
"""
from __future__ import annotations

import gc
import json
import math
import platform
import sys
import time

import numpy as np

import csoftmax
from csoftmax._platform import cpu_model

FUNCTIONS = ("softmax", "log_softmax")
DTYPES = ("float32", "float64")
SHAPES = {
    "full": [(1_000_000, 3), (65536, 10), (4096, 1000), (256, 32000)],
    "quick": [(262144, 3), (65536, 10), (2048, 1000), (128, 32000)],
    "smoke": [(64, 3), (8, 1000)],
}
REPEATS = {"full": 11, "quick": 5, "smoke": 2}
# each timed sample runs the call often enough to last at least this long
MIN_SAMPLE_SECONDS = {"full": 0.02, "quick": 0.005, "smoke": 0.0}
# csoftmax.reference is the long-double test oracle, hundreds of times slower than the rest:
# it is timed on the first rows of the array only, at most this many elements
REFERENCE_MAX_ELEMENTS = {"full": 1 << 18, "quick": 1 << 16, "smoke": 1 << 16}
ANCHORS = ("torch", "onnxruntime")
ORDER = ("copy", "csoftmax", "reference", "scipy", "torch", "onnxruntime")


# ---------------------------------------------------------------------------
# implementations: each a factory (function, x, out) -> zero-argument callable


def _copy_factory():
    def make(function, x, out):
        return lambda: np.copyto(out, x)
    return make


def _csoftmax_factory():
    def make(function, x, out):
        f = getattr(csoftmax, function)
        return lambda: f(x, out=out)
    return make


def _reference_factory():
    from csoftmax import reference  # noqa: F401  (ImportError: skipped)

    def make(function, x, out):
        f = getattr(reference, function)
        return lambda: f(x, axis=-1)
    return make


def _scipy_factory():
    import scipy.special

    def make(function, x, out):
        f = getattr(scipy.special, function)
        return lambda: f(x, axis=-1)
    return make


def _torch_factory():
    import torch
    torch.set_num_threads(1)

    def make(function, x, out):
        f = getattr(torch, function)
        tx, tout = torch.from_numpy(x), torch.from_numpy(out)
        return lambda: f(tx, -1, out=tout)
    return make


def _onnxruntime_factory():
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    sessions = {}

    def session(function, dtype):
        key = (function, dtype)
        if key not in sessions:
            element = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
            op = "Softmax" if function == "softmax" else "LogSoftmax"
            graph = helper.make_graph(
                [helper.make_node(op, ["x"], ["y"], axis=-1)], "csoftmax_bench",
                [helper.make_tensor_value_info("x", element, ["rows", "cols"])],
                [helper.make_tensor_value_info("y", element, ["rows", "cols"])])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
            model.ir_version = min(model.ir_version, 9)
            sessions[key] = onnxruntime.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"])
            onnx.checker.check_model(model)
        return sessions[key]

    def make(function, x, out):
        s = session(function, x.dtype)
        feed = {"x": x}
        return lambda: s.run(None, feed)
    return make


FACTORIES = {
    "copy": _copy_factory,
    "csoftmax": _csoftmax_factory,
    "reference": _reference_factory,
    "scipy": _scipy_factory,
    "torch": _torch_factory,
    "onnxruntime": _onnxruntime_factory,
}


def available_implementations(log=None):
    """{name: factory} for the implementations that import, and {name: reason} for the rest."""
    found, skipped = {}, {}
    for name in ORDER:
        try:
            found[name] = FACTORIES[name]()
        except ImportError as exc:
            skipped[name] = f"not importable ({exc})"
        except Exception as exc:  # an installed library that fails to set up
            skipped[name] = f"{type(exc).__name__}: {exc}"
        if name in skipped and log is not None:
            log(f"skipping {name}: {skipped[name]}")
    return found, skipped


# ---------------------------------------------------------------------------
# timing


def _time_calls(call, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def measure_case(calls: dict, repeats: int, min_seconds: float) -> dict:
    """Median seconds per call of each callable, timed interleaved."""
    numbers = {}
    for name, call in calls.items():
        once = _time_calls(call, 1)  # also the warm-up
        numbers[name] = max(1, math.ceil(min_seconds / max(once, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(_time_calls(calls[name], numbers[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: float(np.median(values)) for name, values in samples.items()}


def _shape_text(shape) -> str:
    return "x".join(str(n) for n in shape)


def run(mode: str = "full", log=None, seed: int = 0) -> dict:
    """Run the benchmark; return the results dict printed by ``--json``."""
    say = log if log is not None else (lambda message: None)
    implementations, skipped = available_implementations(log=say)
    shapes = SHAPES[mode]
    repeats, min_seconds = REPEATS[mode], MIN_SAMPLE_SECONDS[mode]
    threads_before = csoftmax.get_num_threads()
    csoftmax.set_num_threads(1)
    rng = np.random.default_rng(seed)
    cases = [(f, d, s) for s in shapes for d in DTYPES for f in FUNCTIONS]
    results = []
    started = time.perf_counter()
    try:
        for index, (function, dtype, shape) in enumerate(cases, 1):
            x = (3.0 * rng.standard_normal(shape)).astype(dtype)
            out = np.empty_like(x)
            calls, elements = {}, {}
            for name, make in implementations.items():
                xi, outi = x, out
                if name == "reference":
                    rows = max(1, REFERENCE_MAX_ELEMENTS[mode] // shape[1])
                    xi, outi = x[:rows], out[:rows]
                elements[name] = xi.size
                try:
                    call = make(function, xi, outi)
                    call()
                except Exception as exc:
                    skipped.setdefault(f"{name}:{function}:{dtype}",
                                       f"{type(exc).__name__}: {exc}")
                    say(f"  {name} fails on {function} {dtype}: {type(exc).__name__}: {exc}")
                    continue
                calls[name] = call
            seconds = measure_case(calls, repeats, min_seconds)
            ns = {name: seconds[name] / elements[name] * 1e9 for name in ORDER if name in seconds}
            ratios = {}
            if "csoftmax" in ns:  # ratios of times per element
                ratios = {name: ns["csoftmax"] / ns[name]
                          for name in ORDER if name in ns and name != "csoftmax"}
                anchors = [ns[a] for a in ANCHORS if a in ns]
                if anchors:
                    ratios["best_anchor"] = ns["csoftmax"] / min(anchors)
            results.append({"function": function, "dtype": dtype, "shape": list(shape),
                            "elements": int(x.size), "ns_per_element": ns, "ratios": ratios})
            summary = "  ".join(f"{name} {value:.3g}" for name, value in ns.items())
            say(f"[{index:2d}/{len(cases)}] {function:11s} {dtype} {_shape_text(shape):>10s}  "
                f"ns/element: {summary}")
    finally:
        csoftmax.set_num_threads(threads_before)
    config = csoftmax.config()
    return {
        "csoftmax": csoftmax.__version__,
        "mode": mode,
        "isa": config.get("isa"),
        "threads": 1,
        "repeats": repeats,
        "statistic": "median of interleaved repeats",
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "implementations": [name for name in ORDER if name in implementations],
        "reference_max_elements": REFERENCE_MAX_ELEMENTS[mode],
        "skipped": skipped,
        "seconds": time.perf_counter() - started,
        "results": results,
    }


# ---------------------------------------------------------------------------
# output


def format_tables(report: dict) -> str:
    names = report["implementations"]
    lines = [f"csoftmax {report['csoftmax']} bench ({report['mode']}): kernel {report['isa']}, "
             f"1 thread, {report['cpu']}, median of {report['repeats']} interleaved repeats"]
    head = f"{'function':12s}{'dtype':9s}{'shape':>11s}"
    lines += ["", "time per element, ns (lower is better)",
              head + "".join(f"{n:>13s}" for n in names)]
    for row in report["results"]:
        cells = "".join(f"{row['ns_per_element'][n]:13.3f}" if n in row["ns_per_element"]
                        else f"{'-':>13s}" for n in names)
        lines.append(f"{row['function']:12s}{row['dtype']:9s}"
                     f"{_shape_text(row['shape']):>11s}{cells}")
    others = [n for n in names if n != "csoftmax"]
    anchors = any("best_anchor" in row["ratios"] for row in report["results"])
    columns = others + (["best_anchor"] if anchors else [])
    lines += ["", "csoftmax time / other time (below 1: csoftmax is faster; "
                  "vs copy: the cost over a plain memory copy)",
              head + "".join(f"{'vs ' + n:>15s}" for n in columns)]
    for row in report["results"]:
        cells = "".join(f"{row['ratios'][n]:14.2f}x" if n in row["ratios"] else f"{'-':>15s}"
                        for n in columns)
        lines.append(f"{row['function']:12s}{row['dtype']:9s}"
                     f"{_shape_text(row['shape']):>11s}{cells}")
    if "reference" in names:
        lines.append(f"reference: csoftmax.reference, the long-double test oracle, timed on the "
                     f"first rows only (at most {report['reference_max_elements']} elements)")
    for name, reason in report["skipped"].items():
        lines.append(f"skipped {name}: {reason}")
    lines.append(f"time: {report['seconds']:.1f} s")
    return "\n".join(lines)


def plot(report: dict, path: str) -> None:
    """Grouped bars of ns per element (log scale), one panel per function."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = report["implementations"]
    fig, axes = plt.subplots(len(FUNCTIONS), 1, figsize=(11, 3.6 * len(FUNCTIONS)), sharey=True)
    for ax, function in zip(np.atleast_1d(axes), FUNCTIONS):
        rows = [r for r in report["results"] if r["function"] == function]
        width = 0.8 / len(names)
        positions = np.arange(len(rows))
        for k, name in enumerate(names):
            values = [r["ns_per_element"].get(name, np.nan) for r in rows]
            ax.bar(positions + (k - (len(names) - 1) / 2) * width, values, width, label=name)
        ax.set_xticks(positions, [f"{r['dtype']}\n{_shape_text(r['shape'])}" for r in rows])
        ax.set_yscale("log")
        ax.set_ylabel("ns per element")
        ax.set_title(f"{function}: 1 thread, {report['cpu']}, kernel {report['isa']}")
        ax.grid(axis="y", which="both", alpha=0.3)
    np.atleast_1d(axes)[0].legend(ncol=len(names), fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args) -> int:
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("--plot needs matplotlib: pip install \"csoftmax[plot]\"", file=sys.stderr)
            return 2
    mode = "smoke" if args.smoke else ("quick" if args.quick else "full")

    def progress(message):
        print(message, file=sys.stderr, flush=True)

    report = run(mode, log=progress)
    if args.plot:
        plot(report, args.plot)
        progress(f"bar chart saved to {args.plot}")
    if args.json:
        print(json.dumps(report))
    else:
        print(format_tables(report))
    return 0
