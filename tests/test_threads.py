"""Thread safety and the GIL.

- Many Python threads calling every public function at once, on different
  inputs (small rows, wide rows, and inputs large enough for the kernels' own
  OpenMP threads), get bitwise the results of the same calls made serially.
- The kernels release the GIL: while one thread is inside a kernel, another
  Python thread runs. Checked without any clock: the switch interval is set to
  1000 s, so a thread holding the GIL never hands it over unless it releases it
  itself; a spinning thread can only make progress during the kernel call if
  the call released the GIL. A pure-Python control shows the harness sees the
  difference. (The speed-up of two threads over one is measured by
  scripts/thread_scaling.py, not asserted here.)
"""
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import csoftmax
from csoftmax import _kernels

SEED = 20240612
THREADS = 8
REPEATS = 4


def _optional(name):
    return getattr(csoftmax, name, None)


def build_calls(seed):
    """[(label, zero-argument callable)] covering every public function,
    each on its own inputs."""
    rng = np.random.default_rng(seed)
    calls = []

    def add(label, function, *args, **kwargs):
        if function is not None:
            calls.append((label, lambda: function(*args, **kwargs)))

    shapes = [(257, 3), (64, 1000), (2, 100003), (1024, 1000)]   # tiny, wide, long, threaded
    for k, shape in enumerate(shapes):
        for dtype in (np.float32, np.float64):
            x = (rng.standard_normal(shape) * 4).astype(dtype)
            classes = shape[1]
            t = rng.integers(0, classes, shape[0])
            tag = f"{shape}-{np.dtype(dtype).name}"
            add(f"softmax {tag}", csoftmax.softmax, x)
            add(f"softmax axis0 {tag}", csoftmax.softmax, x, axis=0)
            add(f"log_softmax {tag}", csoftmax.log_softmax, x)
            add(f"logsumexp {tag}", csoftmax.logsumexp, x, keepdims=True)
            add(f"cross_entropy {tag}", csoftmax.cross_entropy, x, t)
            add(f"cross_entropy_with_grad {tag}", csoftmax.cross_entropy_with_grad, x, t,
                reduction="sum")
            add(f"cross_entropy options {tag}", csoftmax.cross_entropy_with_grad, x, t,
                weight=rng.random(classes).astype(dtype), label_smoothing=0.1,
                temperature=1.7)
            y = csoftmax.softmax(x)
            ly = csoftmax.log_softmax(x)
            g = rng.standard_normal(shape).astype(dtype)
            add(f"nll_loss {tag}", _optional("nll_loss"), ly, t, reduction="none")
            add(f"softmax_backward {tag}", _optional("softmax_backward"), g, y)
            add(f"log_softmax_backward {tag}", _optional("log_softmax_backward"), g, ly)
            add(f"sigmoid {tag}", _optional("sigmoid"), x)
            add(f"log_sigmoid {tag}", _optional("log_sigmoid"), x)
            bt = rng.random(shape).astype(dtype)
            add(f"binary_cross_entropy {tag}", _optional("binary_cross_entropy"), x, bt)
            add(f"binary_cross_entropy_with_grad {tag}",
                _optional("binary_cross_entropy_with_grad"), x, bt, reduction="none")
            add(f"predict {tag}", _optional("predict"), x)
            add(f"one_hot {tag}", _optional("one_hot"), t, classes)
            add(f"sample {tag}", _optional("sample"), x, rng=1000 + k)
            if shape[1] <= 1000:
                mix = rng.standard_normal(shape[:1] + (3,)).astype(dtype)
                logits3 = rng.standard_normal(shape[:1] + (3, shape[1])).astype(dtype)
                add(f"mixture_softmax {tag}", _optional("mixture_softmax"), logits3, mix)
            special = pytest.importorskip("csoftmax.special")
            add(f"special.softmax {tag}", special.softmax, x, axis=1)
            add(f"special.log_softmax {tag}", special.log_softmax, x, axis=None)
            add(f"special.logsumexp {tag}", special.logsumexp, x, axis=0, b=np.abs(g))
    return calls


def as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def assert_bitwise(label, got, want):
    got, want = as_tuple(got), as_tuple(want)
    assert len(got) == len(want), label
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, label
        # bitwise: compare the bytes (NaN payloads included)
        assert g.tobytes() == w.tobytes(), f"{label}: thread result differs from serial"


@pytest.mark.parametrize("isa", _kernels.available_isas())
def test_concurrent_calls_equal_serial(isa):
    previous = _kernels.get_isa()
    _kernels.set_isa(isa)
    try:
        calls = build_calls(SEED)
        assert len(calls) >= 100
        serial = [function() for _, function in calls]
        jobs = [i for i in range(len(calls)) for _ in range(REPEATS)]
        random.Random(SEED).shuffle(jobs)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(lambda i: (i, calls[i][1]()), jobs))
        assert len(results) == len(jobs)
        for i, value in results:
            assert_bitwise(calls[i][0], value, serial[i])
    finally:
        _kernels.set_isa(previous)


def test_concurrent_errors_do_not_interfere():
    """Threads that raise (bad labels, bad out=) next to threads that succeed."""
    rng = np.random.default_rng(SEED + 1)
    x = rng.standard_normal((512, 100))
    good = rng.integers(0, 100, 512)
    bad = good.copy()
    bad[300] = 100
    want = csoftmax.cross_entropy(x, good)

    def job(k):
        if k % 2:
            with pytest.raises(IndexError, match=r"target\[300\] = 100"):
                csoftmax.cross_entropy(x, bad)
            out = np.full((512, 99), 7.0)
            with pytest.raises(ValueError, match="out has shape"):
                csoftmax.softmax(x, out=out)
            assert (out == 7.0).all()
            return None
        return csoftmax.cross_entropy(x, good)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(job, range(64)))
    for value in results[::2]:
        assert value.tobytes() == want.tobytes()


# ---------------------------------------------------------------------------
# the GIL


def progress_of_other_thread(work, attempts=5):
    """How many times a spinning Python thread advanced while `work()` ran in
    this thread (called repeatedly for 50 ms), best of a few attempts, with the switch interval at 1000 s:
    the spinner can only run when this thread releases the GIL itself. The
    kernels run on one thread here, leaving the spinner a CPU on a 2-CPU
    machine (with the OpenMP team on both, a loaded machine once gave it
    none in all five attempts)."""
    best = 0
    old = sys.getswitchinterval()
    threads = csoftmax.get_num_threads()
    csoftmax.set_num_threads(1)
    try:
        for _ in range(attempts):
            state = {"count": 0, "stop": False}
            ready = threading.Event()

            def spin():
                ready.set()
                while not state["stop"]:
                    state["count"] += 1
                    time.sleep(1e-6)    # lets this thread go of the GIL when work() ends

            sys.setswitchinterval(1000.0)
            spinner = threading.Thread(target=spin)
            spinner.start()
            ready.wait()
            before = state["count"]
            # work() again and again for 50 ms: on a loaded machine the
            # scheduler may not run the spinner within one call's few ms (a
            # CI run beside a sanitizer build gave it none in five attempts)
            start = time.perf_counter()
            work()
            while time.perf_counter() - start < 0.05:
                work()
            during = state["count"] - before
            state["stop"] = True
            sys.setswitchinterval(old)
            spinner.join()
            best = max(best, during)
            if best > 0:
                break
    finally:
        sys.setswitchinterval(old)
        csoftmax.set_num_threads(threads)
    return best


def _python_loop():
    total = 0
    for i in range(300_000):
        total += i
    return total


def test_harness_sees_a_held_gil():
    """Control: pure Python code holds the GIL, so the spinner cannot advance."""
    assert progress_of_other_thread(_python_loop, attempts=2) == 0


@pytest.mark.parametrize("kernel", ["softmax_2d", "log_softmax_2d", "logsumexp_2d",
                                    "cross_entropy_2d"])
def test_kernels_release_the_gil(kernel):
    rng = np.random.default_rng(SEED + 2)
    x = rng.standard_normal((2000, 4000)).astype(np.float32)    # 32 MB: tens of ms
    if kernel == "logsumexp_2d":
        out = np.empty(x.shape[0], dtype=np.float32)
        args = (x, out)
    elif kernel == "cross_entropy_2d":
        target = rng.integers(0, x.shape[1], x.shape[0])
        args = (x, target, np.empty(x.shape[0], np.float32), np.empty_like(x), 1.0)
    else:
        args = (x, np.empty_like(x))
    function = getattr(_kernels, kernel)
    assert progress_of_other_thread(lambda: function(*args)) > 0


@pytest.mark.parametrize("operation", ["FAST_SOFTMAX", "FAST_LOG_SOFTMAX", "FAST_LOGSUMEXP"])
def test_fast_path_releases_the_gil_on_large_input(operation):
    x = np.random.default_rng(SEED + 6).standard_normal((2000, 4000)).astype(np.float32)
    op = getattr(_kernels, operation)
    assert progress_of_other_thread(lambda: _kernels.rowwise_fast(op, x)) > 0


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_sample_releases_the_gil_on_large_input(temperature):
    """csoftmax.sample's fast path (_kernels.sample_fast) runs its maxima,
    probabilities and draws without the GIL on large input."""
    x = np.random.default_rng(SEED + 7).standard_normal((2000, 4000)).astype(np.float32)
    g = np.random.default_rng(1)
    assert progress_of_other_thread(lambda: _kernels.sample_fast(x, temperature, g)) > 0


def test_public_call_releases_the_gil():
    x = np.random.default_rng(SEED + 3).standard_normal((2000, 4000)).astype(np.float32)
    out = np.empty_like(x)
    assert progress_of_other_thread(lambda: csoftmax.softmax(x, out=out)) > 0


# ---------------------------------------------------------------------------
# the OpenMP pool


def test_threadpoolctl_sees_and_limits_the_openmp_pool():
    """threadpoolctl finds the OpenMP runtime csoftmax runs on, and its limit is
    the number of threads csoftmax then uses (its own setting left at default)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not csoftmax.config()["openmp"]:
        pytest.skip("csoftmax built without OpenMP")
    csoftmax.set_num_threads(0)
    try:
        pools = [m for m in threadpoolctl.threadpool_info() if m["user_api"] == "openmp"]
        assert pools, "threadpoolctl does not see an OpenMP runtime"
        before = csoftmax.get_num_threads()
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            assert csoftmax.get_num_threads() == 1
            x = np.random.default_rng(SEED + 4).standard_normal((512, 1000))
            limited = csoftmax.softmax(x)
        assert csoftmax.get_num_threads() == before
        assert_bitwise("softmax under a limit of 1 thread", limited, csoftmax.softmax(x))
    finally:
        csoftmax.set_num_threads(0)


@pytest.mark.parametrize("own", [1, 2, 5])
def test_own_setting_is_a_cap_under_openmps_limit(own):
    """set_num_threads(n) caps csoftmax's threads; a threadpoolctl limit (what
    joblib and Dask workers set against oversubscription) caps them too,
    whatever n is: the smaller wins, inside the block and not after it."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not csoftmax.config()["openmp"]:
        pytest.skip("csoftmax built without OpenMP")
    try:
        csoftmax.set_num_threads(own)
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            assert csoftmax.get_num_threads() == 1
        with threadpoolctl.threadpool_limits(limits=4, user_api="openmp"):
            assert csoftmax.get_num_threads() == min(own, 4)
    finally:
        csoftmax.set_num_threads(0)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(("function", "shape"), [
    ("softmax", (70_001, 5)),         # tiny rows: chunks of whole SIMD tiles, a ragged end
    ("log_softmax", (4097, 1000)),    # wide rows, row count not a multiple of the chunk
    ("logsumexp", (33, 40_000)),      # rows wider than a chunk's bytes: one row a chunk
    ("cross_entropy_with_grad", (3001, 700)),
    ("cross_entropy_with_grad", (70_001, 7)),   # tiny rows, one row per SIMD lane
    ("log_softmax", (50_003, 16)),
    # float32 rows of 65-128 columns: short tiles with AVX2 (softmax, the
    # class-target cross-entropy), chunks ending inside a tile
    ("softmax", (20_003, 100)),
    ("cross_entropy_with_grad", (20_003, 120)),
    # outputs of 8 MiB and more with rows over 8 KiB: each thread's rows take
    # a scratch row of their own and stream their output (simd_scratch_rows;
    # turned on here, as it is by default on Intel CPUs only)
    ("softmax", (701, 3001)),
    ("cross_entropy_with_grad", (701, 3001)),
])
def test_thread_count_does_not_change_results(function, shape, threads):
    """Rows are handed out to threads in chunks; every thread count gives bitwise
    the one-thread result."""
    rng = np.random.default_rng(SEED + 5)
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    f = getattr(csoftmax, function)
    args = (x, rng.integers(0, shape[1], shape[0])) if function.startswith("cross") else (x,)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    scratch = _kernels.scratch_rows()
    try:
        _kernels.set_scratch_rows(True)
        csoftmax.set_num_threads(1)
        want = f(*args)
        csoftmax.set_num_threads(threads)
        # OpenMP's limit raised to `threads` (it caps set_num_threads; its
        # default is the core count, which may be below 3)
        with threadpoolctl.threadpool_limits(limits=threads, user_api="openmp"):
            if csoftmax.config()["openmp"]:
                assert csoftmax.get_num_threads() == threads
            got = f(*args)
    finally:
        csoftmax.set_num_threads(0)
        _kernels.set_scratch_rows(scratch)
    assert_bitwise(f"{function} {shape} on {threads} threads", got, want)
