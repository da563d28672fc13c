"""Accuracy of softmax, log_softmax and logsumexp: csoftmax vs NumPy, SciPy, PyTorch, onnxruntime.

Usage::

    python benchmarks/accuracy.py [--json] [--isa all|current|scalar|avx2|avx512] [--seed N]

For each dtype (float32, float64), shape (tiny rows 100000 x 3 and 10000 x 10,
wide rows 1000 x 1000 and 32 x 32000, one long row 1 x 1,000,000) and spread
(logits N(0, 1) and N(0, 10)), the logits are drawn once in that dtype and every
contender computes in that same dtype:

- ``csoftmax[<isa>]``: csoftmax with each instruction-set level the machine has
  (``--isa``), forced through ``csoftmax._kernels.set_isa``;
- ``numpy``: the textbook stable formulas in the input dtype
  (``exp(x - max) / sum``, ``(x - max) - log(sum(exp(x - max)))``,
  ``max + log(sum(exp(x - max)))``; NumPy's pairwise sums);
- ``scipy``: ``scipy.special``; ``torch``: ``torch.softmax`` / ``log_softmax`` /
  ``logsumexp`` on one thread; ``onnxruntime``: the one-node models of
  contenders.py on one thread;
- ``reference``: ``csoftmax.reference`` rounded to the dtype (its default).

The oracle is computed on the same (already rounded) logits in extended
precision: ``csoftmax.reference`` with ``dtype=np.longdouble`` when it has it,
otherwise the same formulas in ``np.longdouble`` here (x86-64: 64-bit
significand, 11 bits more than float64).

Errors, per element, with ``y`` the result and ``r`` the oracle:

- relative error ``|y - r| / max(|r|, tiny)``, ``tiny`` the dtype's smallest
  normal number: outputs that underflow (softmax of very negative logits) are
  judged in absolute terms at the scale of ``tiny`` instead of blowing up;
- ulps: ``|y - r|`` in units in the last place of ``r`` in the dtype (same
  floor); a correctly rounded result is within 0.5 ulp;
- near zero: log_softmax of a dominant logit is a tiny negative number
  (``log_softmax([0, -40])[0] = -4.2e-18``) that ``log(sum)`` rounds to 0;
  relative to ``|r|`` such a 0 is an error of 1 (it is reported as such in the
  max column). For log_softmax a further table leaves out the elements whose
  oracle magnitude is below the dtype's epsilon, to show the accuracy
  elsewhere. logsumexp = m + log(s) (m the row maximum) cancels where the
  result is near 0, and every contender (bar the reference) then loses
  relative digits: a further table gives the error relative to
  ``max(|r|, |m|)``.

The tables give, per contender, the max relative error with the max ulp error
in brackets, then the median relative error; ``csoftmax <= best?`` compares
csoftmax's worst max (over the ISA levels) with the best of numpy, scipy and
torch (issue 2: at least as accurate as the best of them).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import csoftmax  # noqa: E402

FUNCTIONS = ("softmax", "log_softmax", "logsumexp")
DTYPES = ("float32", "float64")
SHAPES = [(100_000, 3), (10_000, 10), (1_000, 1_000), (32, 32_000), (1, 1_000_000)]
SPREADS = (1.0, 10.0)
ANCHORS = ("numpy", "scipy", "torch")
LD = np.longdouble


# ---------------------------------------------------------------------------
# the oracle


def _own_oracle(function, x):
    """Extended-precision oracle: stable formulas in np.longdouble on the exact logits."""
    z = x.astype(LD)
    m = z.max(axis=-1, keepdims=True)
    s = np.sum(np.exp(z - m), axis=-1, keepdims=True)
    if function == "softmax":
        return np.exp(z - m) / s
    if function == "log_softmax":
        # the largest term contributes exactly 1 to s: log(s) = log1p(s - 1) keeps
        # the digits of a dominant logit's small log-probability
        return (z - m) - np.log1p(s - 1)
    return (m + np.log1p(s - 1))[..., 0]


def oracle_source() -> str:
    try:
        from csoftmax import reference
        y = reference.softmax(np.zeros(2), dtype=LD)
        if y.dtype == LD:
            return "csoftmax.reference(dtype=np.longdouble)"
    except (ImportError, TypeError, AttributeError):
        pass
    return "own np.longdouble formulas (accuracy.py)"


def oracle(function, x):
    if oracle_source().startswith("csoftmax.reference"):
        from csoftmax import reference
        return np.asarray(getattr(reference, function)(x, axis=-1, dtype=LD), dtype=LD)
    return _own_oracle(function, x)


# ---------------------------------------------------------------------------
# contenders: name -> f(function, x) -> result in x's dtype


def _numpy(function, x):
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    if function == "softmax":
        return e / e.sum(axis=-1, keepdims=True)
    if function == "log_softmax":
        return (x - m) - np.log(e.sum(axis=-1, keepdims=True))
    return m[..., 0] + np.log(e.sum(axis=-1))


def _contenders(isas):
    found, missing = {}, {}
    saved = csoftmax._kernels.get_isa()

    def csoftmax_with(isa):
        def run(function, x):
            csoftmax._kernels.set_isa(isa)
            try:
                return getattr(csoftmax, function)(x, axis=-1)
            finally:
                csoftmax._kernels.set_isa(saved)
        return run

    for isa in isas:
        found[f"csoftmax[{isa}]"] = csoftmax_with(isa)
    try:
        from csoftmax import reference
        found["reference"] = lambda f, x: getattr(reference, f)(x, axis=-1)
    except ImportError as exc:
        missing["reference"] = str(exc)
    found["numpy"] = _numpy
    try:
        import scipy.special as special
        found["scipy"] = lambda f, x: getattr(special, f)(x, axis=-1)
    except ImportError as exc:
        missing["scipy"] = str(exc)
    try:
        import torch
        torch.set_num_threads(1)
        found["torch"] = lambda f, x: getattr(torch, f)(torch.from_numpy(x), -1).numpy()
    except ImportError as exc:
        missing["torch"] = str(exc)
    try:
        import contenders

        def ort(function, x):
            session = contenders.onnxruntime_session(function, str(x.dtype), x.ndim)
            return session.run(None, {"x": x})[0]
        ort("softmax", np.zeros((1, 2), np.float32))
        found["onnxruntime"] = ort
    except Exception as exc:  # not installed (contenders.Unavailable) or failing
        missing["onnxruntime"] = str(exc)
    return found, missing


# ---------------------------------------------------------------------------
# errors


def errors(y, r, dtype, row_max=None) -> dict:
    """Relative and ulp errors of `y` against the extended-precision oracle `r`.

    `row_max` (logsumexp): the row maxima, for the error relative to
    ``max(|r|, |row max|)``.
    """
    info = np.finfo(dtype)
    y = np.asarray(y)
    if y.dtype != np.dtype(dtype):
        raise AssertionError(f"result dtype {y.dtype}, expected {dtype}")
    yl = y.astype(LD)
    magnitude = np.maximum(np.abs(r), LD(info.tiny))
    diff = np.abs(yl - r)
    diff = np.where(np.isnan(diff) & ~np.isnan(r), LD(np.inf), diff)
    rel = diff / magnitude
    _, exponent = np.frexp(magnitude)  # magnitude = mantissa * 2**exponent, mantissa in [0.5, 1)
    ulp = np.ldexp(LD(1), exponent - 1 - info.nmant)
    ulps = diff / ulp
    away = np.abs(r) >= LD(info.eps)
    return {
        "max_rel": float(rel.max()),
        "median_rel": float(np.median(rel)),
        "max_ulp": float(ulps.max()),
        "max_abs": float(diff.max()),
        "max_rel_away_from_zero": float(rel[away].max()) if away.any() else 0.0,
        "nonfinite": int(np.sum(~np.isfinite(y) & np.isfinite(r))),
        "max_rel_to_row_max": (float(np.max(diff / np.maximum(magnitude, np.abs(row_max))))
                               if row_max is not None else None),
    }


def run(isas, seed: int = 0, log=lambda m: None) -> dict:
    found, missing = _contenders(isas)
    rng = np.random.default_rng(seed)
    rows = []
    started = time.perf_counter()
    for dtype in DTYPES:
        for shape in SHAPES:
            for spread in SPREADS:
                x = (spread * rng.standard_normal(shape)).astype(dtype)
                for function in FUNCTIONS:
                    r = oracle(function, x)
                    row_max = x.max(axis=-1).astype(LD) if function == "logsumexp" else None
                    row = {"function": function, "dtype": dtype, "shape": list(shape),
                           "spread": spread, "errors": {}, "failed": {}}
                    for name, f in found.items():
                        try:
                            row["errors"][name] = errors(f(function, x), r, dtype, row_max)
                        except Exception as exc:
                            row["failed"][name] = f"{type(exc).__name__}: {exc}"
                    rows.append(row)
                    log(f"{function} {dtype} {shape} N(0, {spread:g}): " + "  ".join(
                        f"{n} {e['max_rel']:.2g}" for n, e in row["errors"].items()))
    return {
        "csoftmax": csoftmax.__version__, "seed": seed,
        "oracle": oracle_source(),
        "longdouble_mantissa_bits": int(np.finfo(LD).nmant) + 1,
        "contenders": list(found), "missing": missing,
        "seconds": time.perf_counter() - started, "rows": rows,
    }


# ---------------------------------------------------------------------------
# output


def _g(value) -> str:
    if value == 0:
        return "0"
    if not np.isfinite(value):
        return str(value)
    return f"{value:.2g}" if value < 1e4 else f"{value:.1e}"


def _verdict(row, key="max_rel") -> str:
    mine = [e[key] for n, e in row["errors"].items() if n.startswith("csoftmax")]
    others = [row["errors"][n][key] for n in ANCHORS if n in row["errors"]]
    if not mine or not others:
        return "-"
    worst, best = max(mine), min(others)
    if worst <= best:
        return "yes"
    return f"no ({worst / best:.3g}x)" if best > 0 else "no"


def format_markdown(report: dict) -> str:
    names = report["contenders"]
    lines = [f"# csoftmax {report['csoftmax']} accuracy (seed {report['seed']})", "",
             f"Oracle: {report['oracle']}, np.longdouble with a "
             f"{report['longdouble_mantissa_bits']}-bit significand. Relative error "
             "|y - r| / max(|r|, tiny); ulps of r in the result dtype; every contender "
             "computes in the input dtype."]
    if report["missing"]:
        missing = report["missing"].items()
        lines.append("Missing: " + "; ".join(f"{n} ({why})" for n, why in missing))
    for function in FUNCTIONS:
        for dtype in DTYPES:
            rows = [r for r in report["rows"] if r["function"] == function and r["dtype"] == dtype]
            head = "| shape | spread | " + " | ".join(names)
            rule = "|---|---|" + "---:|" * len(names)
            lines += ["", f"## {function} {dtype}", "",
                      "max relative error [max ulp]:", "",
                      head + " | csoftmax <= best? |", rule + "---|"]
            for r in rows:
                cells = [f"{_g(r['errors'][n]['max_rel'])} [{_g(r['errors'][n]['max_ulp'])}]"
                         if n in r["errors"] else "failed" for n in names]
                lines.append(f"| {'x'.join(map(str, r['shape']))} | N(0, {r['spread']:g}) | "
                             + " | ".join(cells) + f" | {_verdict(r)} |")
            lines += ["", "median relative error:", "", head + " |", rule]
            for r in rows:
                cells = [_g(r["errors"][n]["median_rel"]) if n in r["errors"] else "failed"
                         for n in names]
                lines.append(f"| {'x'.join(map(str, r['shape']))} | N(0, {r['spread']:g}) | "
                             + " | ".join(cells) + " |")
            differs = any(e["max_rel_away_from_zero"] != e["max_rel"]
                          for r in rows for e in r["errors"].values())
            if function == "logsumexp":
                lines += ["", "max |y - r| / max(|r|, |row max|) (logsumexp = m + log(s) cancels "
                          "where r is near 0):", "", head + " | csoftmax <= best? |", rule + "---|"]
                for r in rows:
                    cells = [_g(r["errors"][n]["max_rel_to_row_max"])
                             if n in r["errors"] else "failed" for n in names]
                    lines.append(f"| {'x'.join(map(str, r['shape']))} | N(0, {r['spread']:g}) | "
                                 + " | ".join(cells)
                                 + f" | {_verdict(r, 'max_rel_to_row_max')} |")
            elif function != "softmax" and differs:
                lines += ["", "max relative error over the elements with |r| >= eps "
                          "(near-zero values left out):", "",
                          head + " | csoftmax <= best? |", rule + "---|"]
                for r in rows:
                    cells = [_g(r["errors"][n]["max_rel_away_from_zero"])
                             if n in r["errors"] else "failed" for n in names]
                    lines.append(f"| {'x'.join(map(str, r['shape']))} | N(0, {r['spread']:g}) | "
                                 + " | ".join(cells)
                                 + f" | {_verdict(r, 'max_rel_away_from_zero')} |")
    for r in report["rows"]:
        for name, why in r["failed"].items():
            lines.append(f"- FAILED: {name} on {r['function']} {r['dtype']} {r['shape']}: {why}")
    lines += ["", f"Run time: {report['seconds']:.0f} s."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--isa", default="all",
                        help="csoftmax kernels to measure: all (default), current, or a name")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    available = list(csoftmax._kernels.available_isas())
    if args.isa == "all":
        isas = available
    elif args.isa == "current":
        isas = [csoftmax._kernels.get_isa()]
    elif args.isa in available:
        isas = [args.isa]
    else:
        parser.error(f"--isa {args.isa!r}: expected all, current or one of {available}")
    if np.finfo(LD).nmant <= np.finfo(np.float64).nmant:
        print("warning: np.longdouble is float64 here: the float64 errors are not resolved",
              file=sys.stderr)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    report = run(isas, args.seed, log)
    print(json.dumps(report, indent=1) if args.json else format_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
