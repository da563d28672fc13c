"""Benchmarks: call overhead on a 10-element vector, against np.add on the same vector.

Run as a script it prints interleaved timeit ratios of the ``no out`` calls
and of their ``out=`` versions (``csoftmax.<function>(x, out=o)`` against
``np.add(x, x, out=o2)``).

Two kinds of groups:

- ``softmax float64 10`` etc. (contenders.py): every contender writing into a
  preallocated ``out`` where its API has one (csoftmax ``out=``, which takes the
  fast path too: ``out`` is a C-contiguous float64 array of x's shape, disjoint
  from x; ``np.add(x, x, out=out)``), beside the reference, SciPy, PyTorch,
  onnxruntime and ``np.copyto``. logsumexp has no ``out=``: its csoftmax call
  allocates its result.
- ``overhead <function> <dtype> <shape> no out``: the issue-3 target as stated,
  ``csoftmax.<function>(x)`` against ``np.add(x, x)``, both allocating their
  result: the fast path (csoftmax._kernels.rowwise_fast) on a 10-element
  float64 vector, a 1 x 10 matrix and float32. Target: csoftmax within 3x
  of np.add.
"""
import numpy as np
import pytest

import contenders
import csoftmax

PAIRS = contenders.pairs(contenders.cases(contenders.FUNCTIONS, kinds=("overhead",)))


@pytest.mark.parametrize(("case", "contender"), PAIRS,
                         ids=[f"{case.id}-{name}" for case, name in PAIRS])
def test_overhead(run_contender, case, contender):
    run_contender(case, contender)


# ---------------------------------------------------------------------------
# without out=: csoftmax.<function>(x) against np.add(x, x)

NO_OUT_CASES = [(function, dtype, shape)
                for function in ("softmax", "log_softmax", "logsumexp")
                for dtype, shape in (("float64", (10,)), ("float64", (1, 10)),
                                     ("float32", (10,)))]
NO_OUT_CONTENDERS = ("csoftmax", "np.add")


def _no_out_call(contender, function, x):
    if contender == "np.add":
        return lambda: np.add(x, x)
    f = getattr(csoftmax, function)
    return lambda: f(x)


def _no_out_expected(contender, function, x):
    if contender == "np.add":
        return x + x
    z = x.astype(np.float64)
    lse = np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    return {"softmax": np.exp(z - lse), "log_softmax": z - lse,
            "logsumexp": lse[..., 0]}[function]


@pytest.mark.parametrize("contender", NO_OUT_CONTENDERS)
@pytest.mark.parametrize(("function", "dtype", "shape"), NO_OUT_CASES,
                         ids=[f"{f}-{d}-{contenders.shape_text(s)}" for f, d, s in NO_OUT_CASES])
def test_overhead_no_out(benchmark, function, dtype, shape, contender):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    benchmark.group = f"overhead {function} {dtype} {contenders.shape_text(shape)} no out"
    benchmark.name = contender
    benchmark.extra_info.update(function=function, dtype=dtype, shape=list(shape),
                                contender=contender, out=False)
    result = benchmark(_no_out_call(contender, function, x))
    want = _no_out_expected(contender, function, x)
    # an array, or for a vector's logsumexp a NumPy scalar (as np.max returns)
    scalar = contender == "csoftmax" and function == "logsumexp" and x.ndim == 1
    assert isinstance(result, np.generic if scalar else np.ndarray) and result.dtype == x.dtype
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(result.astype(np.float64), want, rtol=tolerance, atol=tolerance)


# ---------------------------------------------------------------------------
# python benchmarks/test_bench_overhead.py [--repeats 201]: interleaved ratios

# with out=: csoftmax.<function>(x, out=o) against np.add(x, x, out=o2) (the
# fast path too); logsumexp has no out=
OUT_CASES = [(function, dtype, shape) for function, dtype, shape in NO_OUT_CASES
             if function != "logsumexp"]


def _out_call(contender, function, x):
    out = np.empty_like(x)
    if contender == "np.add":
        return lambda: np.add(x, x, out=out)
    f = getattr(csoftmax, function)
    return lambda: f(x, out=out)


def main():
    import argparse
    import statistics
    import timeit

    parser = argparse.ArgumentParser(
        description="csoftmax.<function>(x) / np.add(x, x) on small inputs, without and with "
                    "out=, timed alternately (timeit), median of the per-pair ratios")
    parser.add_argument("--repeats", type=int, default=201)
    parser.add_argument("--number", type=int, default=2000, help="calls per timing")
    args = parser.parse_args()
    print(f"csoftmax {csoftmax.__version__}, numpy {np.__version__}; {args.repeats} pairs of "
          f"{args.number} calls each")
    print(f"{'call':44s} {'csoftmax':>10s} {'np.add':>10s} {'ratio':>6s} {'(q25-q75)':>11s}")
    rows = [(_no_out_call, "", case) for case in NO_OUT_CASES]
    rows += [(_out_call, ", out=o", case) for case in OUT_CASES]
    for make_call, suffix, (function, dtype, shape) in rows:
        x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
        ours = timeit.Timer(make_call("csoftmax", function, x))
        numpy_add = timeit.Timer(make_call("np.add", function, x))
        times = {"csoftmax": [], "np.add": []}
        ratios = []
        for k in range(args.repeats):
            order = (("csoftmax", ours), ("np.add", numpy_add))
            pair = {name: timer.timeit(args.number) / args.number
                    for name, timer in (order if k % 2 == 0 else order[::-1])}
            for name, value in pair.items():
                times[name].append(value)
            ratios.append(pair["csoftmax"] / pair["np.add"])
        q = np.quantile(ratios, [0.25, 0.5, 0.75])
        label = f"{function}({dtype} {contenders.shape_text(shape)}{suffix})"
        print(f"{label:44s} {statistics.median(times['csoftmax']) * 1e9:8.0f}ns "
              f"{statistics.median(times['np.add']) * 1e9:8.0f}ns {q[1]:5.2f}x "
              f"({q[0]:.2f}-{q[2]:.2f})", flush=True)


if __name__ == "__main__":
    main()
