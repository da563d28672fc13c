"""Benchmarks: csoftmax.predict (the C argmax kernel, src_c/argmax.h) against
np.argmax, torch.argmax and np.copyto of the same array.

Groups ``predict <dtype> <shape> axis <k>``: tiny and short rows (rows in
SIMD lanes), wide rows (four vectors a step), and the classes down the
columns of an (N, C, d) array and along axis 0 of a matrix (column blocks),
where np.argmax is slowest. Every contender's result is checked against
np.argmax. ``pytest benchmarks --benchmark-disable`` (CI) runs the small
shapes once.

Run as a script it prints the ratios, interleaved, min of --repeat samples,
csoftmax and torch on --threads threads (1 by default; with more, predict
sends rows of more than 64 classes to the kernel from 2**20 elements):

    python benchmarks/test_bench_predict.py [--repeat 15] [--small] [--threads 2]
"""
from __future__ import annotations

import numpy as np
import pytest

import csoftmax

# (shape, axis): full shapes, and the small ones CI runs
SHAPES = {
    "full": [((1000000, 3), -1), ((65536, 10), -1), ((32768, 32), -1), ((4096, 1000), -1),
             ((256, 32000), -1), ((8, 21, 4096), 1), ((1000, 4096), 0)],
    "small": [((1000, 3), -1), ((64, 10), -1), ((64, 32), -1), ((16, 1000), -1),
              ((2, 32000), -1), ((2, 21, 64), 1), ((100, 64), 0)],
}
CONTENDERS = ("csoftmax", "np.argmax", "torch", "np.copyto")


def make_calls(x: np.ndarray, axis: int, threads: int = 1) -> dict:
    """The contenders' calls on x (those available), torch on `threads`."""
    out = np.empty_like(x)
    calls = {"csoftmax": lambda: csoftmax.predict(x, axis=axis),
             "np.argmax": lambda: np.argmax(x, axis=axis),
             "np.copyto": lambda: np.copyto(out, x)}
    try:
        import torch
    except ImportError:
        return calls
    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)
    calls["torch"] = lambda: torch.argmax(xt, dim=axis).numpy()
    return calls


def _inputs(shape, dtype):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _scale(config) -> str:
    return "small" if config.getoption("benchmark_disable") else "full"


def pytest_generate_tests(metafunc):
    if "predict_case" in metafunc.fixturenames:
        cases = [(shape, axis, dtype, name) for shape, axis in SHAPES[_scale(metafunc.config)]
                 for dtype in ("float32", "float64") for name in CONTENDERS]
        metafunc.parametrize("predict_case", cases, ids=[
            f"{dtype}-{'x'.join(map(str, shape))}-axis{axis}-{name}"
            for shape, axis, dtype, name in cases])


def test_predict(benchmark, predict_case):
    shape, axis, dtype, name = predict_case
    x = _inputs(shape, dtype)
    calls = make_calls(x, axis)
    if name not in calls:
        pytest.skip(f"{name} is not installed")
    benchmark.group = f"predict {dtype} {'x'.join(map(str, shape))} axis {axis}"
    benchmark.name = name
    benchmark.extra_info.update(function="predict", dtype=dtype, shape=list(shape), axis=axis,
                                contender=name)
    result = benchmark(calls[name])
    if name == "np.copyto":
        return
    np.testing.assert_array_equal(result, np.argmax(x, axis=axis))
    assert np.asarray(result).dtype == np.int64


def main(argv=None) -> int:
    import argparse
    import timeit

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--small", action="store_true", help="the small shapes (smoke run)")
    parser.add_argument("--threads", type=int, default=1, help="csoftmax's and torch's threads")
    args = parser.parse_args(argv)
    csoftmax.set_num_threads(args.threads)
    print(f"csoftmax {csoftmax.__version__}, ISA {csoftmax.config()['isa']}, "
          f"{args.threads} thread(s), "
          f"min of {args.repeat} interleaved samples, ms per call")
    print(f"{'dtype':8s} {'shape':>14s} {'axis':>4s} " + " ".join(f"{c:>10s}" for c in CONTENDERS)
          + f" {'/np.argmax':>10s} {'/torch':>7s} {'/copyto':>8s}")
    for shape, axis in SHAPES["small" if args.small else "full"]:
        for dtype in ("float32", "float64"):
            calls = make_calls(_inputs(shape, dtype), axis, args.threads)
            timers = {name: timeit.Timer(call) for name, call in calls.items()}
            number = {name: max(1, timer.autorange()[0] // 5) for name, timer in timers.items()}
            best = {name: float("inf") for name in timers}
            for _ in range(args.repeat):
                for name, timer in timers.items():
                    best[name] = min(best[name], timer.timeit(number[name]) / number[name])
            ms = {name: best[name] * 1e3 for name in best}
            cells = " ".join(f"{ms[c]:10.4f}" if c in ms else f"{'-':>10s}" for c in CONTENDERS)
            ratio = {c: f"{ms['csoftmax'] / ms[c]:.3f}" if c in ms else "-"
                     for c in ("np.argmax", "torch", "np.copyto")}
            print(f"{dtype:8s} {'x'.join(map(str, shape)):>14s} {axis:4d} {cells} "
                  f"{ratio['np.argmax']:>10s} {ratio['torch']:>7s} {ratio['np.copyto']:>8s}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
