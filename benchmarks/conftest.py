"""pytest-benchmark harness for csoftmax: fixtures shared by the test_bench_*.py files.

``pytest benchmarks`` times every (function, dtype, shape) group on the shapes
of the speed issue; ``pytest benchmarks --benchmark-disable`` (what CI runs)
calls each contender once on small shapes of the same kinds and checks its
result, so the harness never rots. ``CSOFTMAX_BENCH_SCALE=full|small``
overrides the choice of shapes. Thread counts are pinned to one (csoftmax,
PyTorch, onnxruntime) except in the two-thread groups.
"""
from __future__ import annotations

import os

import pytest

import contenders


@pytest.fixture(scope="session")
def bench_scale(request) -> str:
    """"full" shapes when timing, "small" ones under --benchmark-disable."""
    forced = os.environ.get("CSOFTMAX_BENCH_SCALE", "").strip()
    if forced:
        if forced not in contenders.SHAPES:
            raise pytest.UsageError(f"CSOFTMAX_BENCH_SCALE={forced!r}: expected one of "
                                    f"{sorted(contenders.SHAPES)}")
        return forced
    return "small" if request.config.getoption("benchmark_disable") else "full"


@pytest.fixture(autouse=True)
def _single_thread():
    """Every benchmark starts and ends with one thread per library."""
    contenders.pin_single_thread()
    yield
    contenders.pin_single_thread()


@pytest.fixture(scope="session")
def _inputs_cache():
    return {}


@pytest.fixture
def run_contender(benchmark, bench_scale, _inputs_cache):
    """``run_contender(case, name)``: time contender `name` on `case`, then check its result."""
    def run(case, name):
        key = (case.function, case.dtype, case.label, bench_scale)
        if key not in _inputs_cache:
            _inputs_cache.clear()  # one case's inputs at a time: the full shapes are large
            _inputs_cache[key] = contenders.make_inputs(case, bench_scale)
        inputs = _inputs_cache[key]
        try:
            bench = contenders.make_bench(name, case, inputs)
        except contenders.Unavailable as exc:
            pytest.skip(str(exc))
        benchmark.group = case.group(bench_scale)
        benchmark.name = f"{name}"
        benchmark.extra_info.update(function=case.function, dtype=case.dtype,
                                    shape=list(case.shape(bench_scale)),
                                    threads=case.threads, contender=name)
        bench.setup()
        result = benchmark(bench.call)
        contenders.check(name, case, inputs, result)
        return result
    return run
