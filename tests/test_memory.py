"""Memory: no temporary beyond the output, no leaks, 64-bit sizes.

NumPy reports its data allocations to tracemalloc, so the peak traced during a
call is the memory the call allocated. For contiguous float input softmax,
log_softmax and the fused cross-entropy allocate their outputs and nothing of
the input's size besides (scripts/memory_peak.py measures the same as peak RSS
on a 2 GB array). The slow tests use more than 2**31 elements (~8.6 GB each;
run with ``pytest -m slow tests/test_memory.py``).
"""
import gc
import sys
import tracemalloc

import numpy as np
import pytest

import csoftmax

SEED = 20240613
SMALL = 64 * 1024        # bytes of bookkeeping allowed beyond the outputs


def allocated_peak(function):
    """(result, peak bytes traced above the level before the call)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - base


def nbytes(value):
    return sum(np.asarray(v).nbytes for v in (value if isinstance(value, tuple) else (value,)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4096, 1000), (1_000_000, 3), (3, 500_000)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "cross_entropy",
                                  "cross_entropy_with_grad"])
def test_contiguous_input_allocates_only_the_output(name, shape, dtype):
    x = np.random.default_rng(SEED).standard_normal(shape).astype(dtype)
    if name.startswith("cross_entropy"):
        target = np.random.default_rng(SEED).integers(0, shape[1], shape[0])
        call = lambda: getattr(csoftmax, name)(x, target, reduction="none")  # noqa: E731
        # targets are converted to int64 contiguous (no copy for int64 input)
    else:
        call = lambda: getattr(csoftmax, name)(x)  # noqa: E731
    result, peak = allocated_peak(call)
    out_bytes = nbytes(result)
    assert peak >= out_bytes                      # the tracking works
    # the label checks of cross-entropy make boolean masks of one byte per row
    # (not per element): allowed, two of them
    per_row = 2 * shape[0] if name.startswith("cross_entropy") else 0
    assert peak <= out_bytes * 1.05 + per_row + SMALL, (
        f"{name}{shape} {np.dtype(dtype).name}: allocated {peak} bytes, output {out_bytes}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_allocates_nothing(name):
    x = np.random.default_rng(SEED).standard_normal((2048, 1000)).astype(np.float32)
    out = np.empty_like(x)
    _, peak = allocated_peak(lambda: getattr(csoftmax, name)(x, out=out))
    assert peak <= SMALL
    _, peak = allocated_peak(lambda: getattr(csoftmax, name)(x, out=x))   # in place
    assert peak <= SMALL


CALLS = {
    "softmax": lambda x, t: csoftmax.softmax(x),
    "softmax axis 0": lambda x, t: csoftmax.softmax(x, axis=0),
    "log_softmax": lambda x, t: csoftmax.log_softmax(x),
    "logsumexp": lambda x, t: csoftmax.logsumexp(x, keepdims=True),
    "cross_entropy": lambda x, t: csoftmax.cross_entropy(x, t),
    "cross_entropy_with_grad": lambda x, t: csoftmax.cross_entropy_with_grad(x, t),
    "float16": lambda x, t: csoftmax.softmax(x.astype(np.float16)),
    "special.logsumexp": lambda x, t: __import__("csoftmax.special").special.logsumexp(x),
}


def _bad_label(x, t):
    bad = t.copy()
    bad[-1] = x.shape[1]
    with pytest.raises(IndexError):
        csoftmax.cross_entropy(x, bad)


def _bad_out(x, t):
    with pytest.raises(ValueError):
        csoftmax.softmax(x, out=np.empty((1, 1)))


CALLS["error: label"] = _bad_label
CALLS["error: out"] = _bad_out


@pytest.mark.parametrize("name", list(CALLS))
def test_no_leak_over_many_calls(name):
    """Traced memory and the input's reference count are back where they were
    after many calls (successful and failing alike)."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((64, 100))
    t = rng.integers(0, 100, 64)
    call = CALLS[name]
    for _ in range(20):           # warm up caches (hypothesis-free, deterministic)
        call(x, t)
    gc.collect()
    refs = sys.getrefcount(x), sys.getrefcount(t)
    tracemalloc.start()
    try:
        for _ in range(20):
            call(x, t)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(2000):
            call(x, t)
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (sys.getrefcount(x), sys.getrefcount(t)) == refs
    # a leak of even one small object per call would be >= 2000 * 16 bytes
    assert second - first < 16 * 1024, f"{name}: {second - first} bytes more after 2000 calls"


# ---------------------------------------------------------------------------
# more than 2**31 elements (slow, ~8.6 GB each)

BIG = 2**31 + 7


@pytest.mark.slow
def test_logsumexp_more_than_2_31_elements():
    x = np.zeros(BIG, dtype=np.float32)
    x[-1] = 30.0                 # beyond index 2**31: must be seen
    x[2**31 - 1] = 25.0
    got = csoftmax.logsumexp(x)
    want = np.logaddexp(np.logaddexp(30.0, 25.0), np.log(BIG - 2.0))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(np.float32).eps)


@pytest.mark.slow
def test_softmax_in_place_more_than_2_31_elements():
    x = np.zeros(BIG, dtype=np.float32)
    x[-1] = 20.0
    x[2**31 + 1] = -np.inf
    out = csoftmax.softmax(x, out=x)            # in place: one 8.6 GB array
    assert out is x
    s = (BIG - 2) + np.exp(20.0)                # float64, independent of the kernels
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(x[[0, 2**31 - 1, 2**31, 2**31 + 2]], 1 / s, rtol=8 * eps)
    assert x[2**31 + 1] == 0.0
    np.testing.assert_allclose(x[-1], np.exp(20.0) / s, rtol=8 * eps)
    # the sum over all 2**31 + 7 entries (float64 accumulation) is 1
    np.testing.assert_allclose(np.sum(x, dtype=np.float64), 1.0, rtol=1e-4)
