"""Side-by-side ratio table of csoftmax against PyTorch, onnxruntime, SciPy and np.copyto.

Usage::

    python benchmarks/ratios.py [--quick] [--json] [--plot FILE.png] [--only REGEX]

For every benchmark case of contenders.py (one per function, dtype, shape and
thread count) all its contenders are timed in the same loop: each round runs
one timed sample of every contender, in an order that rotates from round to
round, so that a noisy neighbour on this shared machine slows them alike. A
sample repeats the call enough times to last ``min_seconds``; the median of
the rounds is kept (``--statistic min`` for the best). The thread counts are
pinned before every sample, outside the timing (one thread, except in the
two-thread groups).

It prints Markdown: the time per element of each contender; the ratios
csoftmax / best anchor (the faster of PyTorch and onnxruntime), / torch,
/ onnxruntime, / scipy, / np.copyto, and the group's own ratio
(cross-entropy: / csoftmax.softmax; call overhead: / np.add; two threads:
speed-up over one thread); and the targets of issue 3 with PASS or FAIL.
Ratios below 1 mean csoftmax is faster. ``--json`` prints the same as JSON;
``--plot`` saves a bar chart of every contender's time over np.copyto's.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import contenders  # noqa: E402
import csoftmax  # noqa: E402
from csoftmax._platform import cpu_model  # noqa: E402

MODES = {
    "full": {"repeats": 11, "min_seconds": 0.02},
    "quick": {"repeats": 5, "min_seconds": 0.005},
}
# the ratio columns (csoftmax time / the other's time)
RATIO_COLUMNS = ("best anchor", "torch", "onnxruntime", "scipy", "np.copyto")
EXTRA = {  # the group's own comparison: (contender, label)
    "cross_entropy": ("csoftmax.softmax", "/ csoftmax.softmax"),
    "overhead": ("np.add", "/ np.add"),
    "threads": ("csoftmax-1thread", "speed-up over 1 thread"),
}
ROW_FUNCTIONS = ("softmax", "log_softmax")


def _extra_kind(function: str, kind: str, threads: int):
    """Which EXTRA comparison a group has, if any."""
    if threads != 1:
        return "threads"
    if function == "cross_entropy_with_grad":
        return "cross_entropy"
    if kind == "overhead":
        return "overhead"
    return None


def _extra_kind_of(r: dict):
    return _extra_kind(r["function"], r["kind"], r["threads"])


# ---------------------------------------------------------------------------
# timing


def _sample(call, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def measure(case, scale: str, repeats: int, min_seconds: float, statistic: str, log) -> dict:
    """Time every contender of `case` interleaved; return the case's result dict."""
    inputs = contenders.make_inputs(case, scale)
    benches, skipped, wrong = {}, {}, {}
    for name in contenders.CONTENDERS:
        if not contenders.applies(name, case):
            continue
        try:
            bench = contenders.make_bench(name, case, inputs)
            bench.setup()
            contenders.check(name, case, inputs, bench.call())  # also the warm-up
        except contenders.Unavailable as exc:
            skipped[name] = str(exc)
            continue
        except AssertionError as exc:  # timed all the same, but left out of the ratios
            wrong[name] = str(exc).strip().splitlines()[0]
            log(f"  WRONG RESULT from {name} on {case.id}: {wrong[name]}")
        benches[name] = bench
    numbers = {}
    for name, bench in benches.items():
        bench.setup()
        once = min(_sample(bench.call, 1) for _ in range(2))
        numbers[name] = max(1, math.ceil(min_seconds / max(once, 1e-9)))
    samples = {name: [] for name in benches}
    names = list(benches)
    gc_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for r in range(repeats):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                benches[name].setup()
                samples[name].append(_sample(benches[name].call, numbers[name]))
    finally:
        if gc_enabled:
            gc.enable()
        contenders.pin_single_thread()
    reduce = np.median if statistic == "median" else np.min
    seconds = {name: float(reduce(values)) for name, values in samples.items()}
    elements = int(inputs.x.size)
    result = {
        "id": case.id, "group": case.group(scale), "function": case.function,
        "dtype": case.dtype, "shape": list(case.shape(scale)), "label": case.label,
        "kind": case.kind, "threads": case.threads, "elements": elements,
        "seconds": seconds,
        "ns_per_element": {n: s / elements * 1e9 for n, s in seconds.items()},
        "skipped": skipped, "wrong": wrong, "ratios": {},
    }
    valid = {n: s for n, s in seconds.items() if n not in wrong}
    if "csoftmax" in valid:
        mine = valid["csoftmax"]
        ratios = {n: mine / valid[n] for n in RATIO_COLUMNS if n in valid}
        anchors = [valid[a] for a in contenders.ANCHORS if a in valid]
        if anchors:
            ratios["best anchor"] = mine / min(anchors)
        if "reference" in valid:
            ratios["reference"] = mine / valid["reference"]
        extra = _extra_kind(case.function, case.kind, case.threads)
        if extra is not None:
            other, _ = EXTRA[extra]
            if other in valid:
                # the speed-up is the other way round: 1-thread time / 2-thread time
                ratios[other] = valid[other] / mine if extra == "threads" else mine / valid[other]
        result["ratios"] = ratios
    return result


# ---------------------------------------------------------------------------
# the targets of issue 3


def _target_rows(results: list) -> list:
    rows = []

    def add(target, r, key, limit, at_most=True):
        value = r["ratios"].get(key)
        if value is None:
            status = "n/a"
        else:
            status = "PASS" if (value <= limit if at_most else value >= limit) else "FAIL"
        rows.append({"target": target, "group": r["group"], "value": value,
                     "limit": f"{'<=' if at_most else '>='} {limit:g}", "status": status})

    for r in results:
        f, kind, one = r["function"], r["kind"], r["threads"] == 1
        if one and f in ROW_FUNCTIONS and kind == "wide":
            add("wide rows: <= 0.8x best anchor", r, "best anchor", 0.8)
            if r["dtype"] == "float32":
                add("wide rows float32: <= 1.5x np.copyto", r, "np.copyto", 1.5)
        if one and f in ROW_FUNCTIONS and kind == "tiny":
            add("tiny rows: <= 0.5x best anchor", r, "best anchor", 0.5)
        if one and f == "cross_entropy_with_grad":
            add("cross_entropy_with_grad: <= 1.6x csoftmax.softmax", r, "csoftmax.softmax", 1.6)
            add("cross_entropy_with_grad: <= 0.2x torch fwd+bwd", r, "torch", 0.2)
        if r["threads"] == 2 and kind == "wide":
            add("2 threads: >= 1.5x faster than 1 thread", r, "csoftmax-1thread", 1.5,
                at_most=False)
        if r["threads"] == 2 and kind == "small":
            # "never slower than single-threaded", with 10 % allowed for noise
            add("2 threads, small input: not slower (>= 0.9x)", r, "csoftmax-1thread", 0.9,
                at_most=False)
        if f == "softmax" and kind == "overhead":
            add("call overhead: <= 3x np.add", r, "np.add", 3.0)
    return rows


# ---------------------------------------------------------------------------
# output


def _group_cells(r) -> list:
    threads = f", {r['threads']} threads" if r["threads"] != 1 else ""
    return [r["dtype"], contenders.shape_text(r["shape"]) + threads]


def _fmt(value, digits=3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def format_markdown(report: dict) -> str:
    results = report["results"]
    lines = [f"# csoftmax {report['csoftmax']} side by side ({report['date']})", "",
             f"CPU: {report['cpu']} ({report['cores']} cores), kernel {report['isa']}, "
             f"mode {report['mode']}, {report['scale']} shapes: {report['statistic']} of "
             f"{report['repeats']} interleaved rounds, samples of at least "
             f"{report['min_seconds'] * 1e3:g} ms; 1 thread per library except where marked. "
             "Ratios are csoftmax's time over the other's: below 1, csoftmax is faster "
             "(the speed-up column is the other way round)."]
    for function in contenders.FUNCTIONS:
        rows = [r for r in results if r["function"] == function]
        if not rows:
            continue
        names = [n for n in contenders.CONTENDERS if any(n in r["seconds"] for r in rows)]
        lines += ["", f"## {function}", "", "Time per element, ns (lower is better):", "",
                  "| dtype | shape | " + " | ".join(names) + " |",
                  "|---|---|" + "---:|" * len(names)]
        for r in rows:
            cells = [_fmt(r["ns_per_element"].get(n)) + (" (wrong)" if n in r["wrong"] else "")
                     for n in names]
            lines.append("| " + " | ".join(_group_cells(r) + cells) + " |")
        extras = sorted({EXTRA[k][1] for k in (_extra_kind_of(r) for r in rows) if k})
        columns = [c for c in RATIO_COLUMNS if any(c in r["ratios"] for r in rows)]
        if any("reference" in r["ratios"] for r in rows):
            columns.append("reference")
        lines += ["", "csoftmax / other:", "",
                  "| dtype | shape | csoftmax µs/call | "
                  + " | ".join(f"/ {c}" for c in columns)
                  + "".join(f" | {e}" for e in extras) + " |",
                  "|---|---|---:|" + "---:|" * (len(columns) + len(extras))]
        for r in rows:
            cells = [_fmt(r["seconds"].get("csoftmax", float("nan")) * 1e6)]
            cells += [_fmt(r["ratios"].get(c), 2) for c in columns]
            kind = _extra_kind_of(r)
            for e in extras:
                if kind and EXTRA[kind][1] == e:
                    cells.append(_fmt(r["ratios"].get(EXTRA[kind][0]), 2))
                else:
                    cells.append("")
            lines.append("| " + " | ".join(_group_cells(r) + cells) + " |")
    targets = report["targets"]
    if targets:
        passed = sum(t["status"] == "PASS" for t in targets)
        lines += ["", f"## Targets of issue 3: {passed} of {len(targets)} pass", "",
                  "| target | group | measured | limit | result |", "|---|---|---:|---|---|"]
        for t in targets:
            lines.append(f"| {t['target']} | {t['group']} | {_fmt(t['value'], 3)} | "
                         f"{t['limit']} | {t['status']} |")
    skipped = {}
    for r in results:
        for name, reason in r["skipped"].items():
            skipped.setdefault((name, reason), []).append(r["id"])
    if skipped:
        lines += ["", "Left out:"]
        for (name, reason), ids in skipped.items():
            where = ids[0] if len(ids) == 1 else f"{len(ids)} groups"
            lines.append(f"- {name} ({where}): {reason}")
    for r in results:
        for name, message in r["wrong"].items():
            lines.append(f"- WRONG RESULT, left out of the ratios: {name} on {r['id']}: {message}")
    if report.get("extension_rebuilt_during_run"):
        lines.append("- WARNING: the csoftmax extension file changed during the run (rebuilt?): "
                     "the timings may mix two builds; run again.")
    lines += ["", f"Run time: {report['run_seconds']:.0f} s."]
    return "\n".join(lines)


def plot(report: dict, path: str) -> None:
    """Bars of each contender's time over np.copyto's (log scale), one panel per function."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("csoftmax", "csoftmax-1thread", "onnxruntime", "torch", "scipy")
    functions = [f for f in contenders.FUNCTIONS
                 if any(r["function"] == f for r in report["results"])]
    fig, axes = plt.subplots(len(functions), 1, figsize=(12, 3.4 * len(functions)), squeeze=False)
    colors = {"csoftmax": "C0", "csoftmax-1thread": "C9", "onnxruntime": "C2",
              "torch": "C3", "scipy": "C7"}
    for ax, function in zip(axes[:, 0], functions):
        rows = [r for r in report["results"]
                if r["function"] == function and "np.copyto" in r["seconds"]]
        names = [n for n in shown if any(n in r["seconds"] for r in rows)]
        width = 0.8 / max(1, len(names))
        positions = np.arange(len(rows))
        for k, name in enumerate(names):
            values = [r["seconds"][name] / r["seconds"]["np.copyto"] if name in r["seconds"]
                      else np.nan for r in rows]
            ax.bar(positions + (k - (len(names) - 1) / 2) * width, values, width,
                   label=name, color=colors[name])
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(positions, ["\n".join(_group_cells(r)).replace(" threads", " thr")
                                for r in rows], fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("time / np.copyto")
        ax.set_title(f"{function}")
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=len(names), loc="upper left")
    fig.suptitle(f"csoftmax {report['csoftmax']} vs anchors, relative to np.copyto "
                 f"(lower is better): {report['cpu']}, kernel {report['isa']}, {report['date']}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------


def _extension_stamp():
    """Modification time of the loaded extension module (to notice a rebuild mid-run)."""
    try:
        return os.path.getmtime(csoftmax._kernels.__file__)
    except (AttributeError, OSError):
        return None


def run(mode: str = "full", scale: str = "full", only: str | None = None,
        statistic: str = "median", repeats: int | None = None, log=lambda m: None) -> dict:
    settings = dict(MODES[mode])
    if repeats is not None:
        settings["repeats"] = repeats
    case_list = contenders.cases()
    if only:
        pattern = re.compile(only)
        case_list = [c for c in case_list if pattern.search(c.id)]
    started = time.perf_counter()
    stamp = _extension_stamp()
    threads_before = csoftmax.get_num_threads()
    results = []
    try:
        for index, case in enumerate(case_list, 1):
            r = measure(case, scale, settings["repeats"], settings["min_seconds"], statistic, log)
            results.append(r)
            summary = "  ".join(f"{n} {v:.3g}" for n, v in r["ns_per_element"].items())
            log(f"[{index}/{len(case_list)}] {r['group']}: ns/element {summary}")
    finally:
        csoftmax.set_num_threads(threads_before)
    return {
        "csoftmax": csoftmax.__version__,
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model() or platform.machine(), "cores": os.cpu_count(), "machine": platform.machine(),
        "isa": csoftmax.config().get("isa"),
        "mode": mode, "scale": scale, "statistic": statistic,
        "repeats": settings["repeats"], "min_seconds": settings["min_seconds"],
        "run_seconds": time.perf_counter() - started,
        "extension_rebuilt_during_run": _extension_stamp() != stamp,
        "results": results,
        "targets": _target_rows(results),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer, shorter rounds (same shapes)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--plot", metavar="FILE.png", help="save a bar chart (needs matplotlib)")
    parser.add_argument("--only", metavar="REGEX",
                        help="only the cases whose id matches, e.g. 'softmax-float32'")
    parser.add_argument("--small", action="store_true",
                        help="the small shapes of the CI smoke run (the targets then mean little)")
    parser.add_argument("--statistic", choices=("median", "min"), default="median")
    parser.add_argument("--repeats", type=int, help="rounds per case (default: 11, --quick 5)")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib (pip install matplotlib)")

    def log(message):
        print(message, file=sys.stderr, flush=True)

    report = run("quick" if args.quick else "full", "small" if args.small else "full",
                 args.only, args.statistic, args.repeats, log)
    if args.plot:
        plot(report, args.plot)
        log(f"bar chart saved to {args.plot}")
    print(json.dumps(report, indent=1) if args.json else format_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
