"""Large outputs are written with non-temporal stores (src_c/csoftmax_internal.h,
CSM_STREAM_MIN_BYTES = 8 MiB): the results must be bitwise those of the same
rows computed in calls below the threshold (regular stores), on every ISA, for
row lengths that leave each row's start misaligned (the ordinary stores before
the first cache-line-aligned address, which may cover the whole of a short
row) and a tail after the last whole line. Softmax and the class-target
cross-entropy gradients stream only rows longer than 8 KiB (from a scratch
rows of exponentials, simd_scratch_rows): 3001 and 16385 columns take that path
in float32 and float64, 1001 the regular stores of rows whose output lines are
prefetched; the losses are checked here too. Scratch rows are on by default
on Intel CPUs only (src_c/dispatch.c): the tests run with them on and off
(the `scratch` fixture), whatever this machine's default."""
import numpy as np
import pytest

import csoftmax
from csoftmax import _kernels

STREAM_MIN_BYTES = 8 << 20


@pytest.fixture(params=[True, False], ids=["scratch", "noscratch"])
def scratch(request):
    """Long rows' exponentials in scratch rows (streamed output) or in the
    output rows, restored to the previous setting afterwards."""
    previous = _kernels.scratch_rows()
    _kernels.set_scratch_rows(request.param)
    try:
        yield request.param
    finally:
        _kernels.set_scratch_rows(previous)


def _calls(rng, rows, cols, dtype):
    x = (rng.standard_normal((rows, cols)) * 3).astype(dtype)
    g = rng.standard_normal((rows, cols)).astype(dtype)
    y = rng.random((rows, cols)).astype(dtype)
    q = y / y.sum(axis=1, keepdims=True)
    t = rng.integers(0, cols, rows)
    t_plain = t.copy()
    t[::5] = -100
    x[1::7, 0] = x[1::7].max(axis=1) + 1  # the target at the maximum: p_k - 1 = -t / s
    t_plain[1::7] = 0
    t_plain[3::7] = cols - 1              # the target in the row's last vector
    w = rng.uniform(0.1, 2.0, cols).astype(dtype)
    sm, lsm = csoftmax.softmax(x), csoftmax.log_softmax(x)

    def xent(s, target, **options):
        loss, grad = csoftmax.cross_entropy_with_grad(x[s], target[s], reduction="none",
                                                      **options)
        return np.column_stack([loss, grad])

    return {
        "softmax": lambda s: csoftmax.softmax(x[s]),
        "xent_plain": lambda s: xent(s, t_plain),
        "xent_temperature": lambda s: xent(s, t_plain, temperature=0.7),
        "xent_ignore": lambda s: xent(s, t),
        "softmax_backward": lambda s: csoftmax.softmax_backward(g[s], sm[s]),
        "log_softmax_backward": lambda s: csoftmax.log_softmax_backward(g[s], lsm[s]),
        "log_softmax": lambda s: csoftmax.log_softmax(x[s]),
        "sigmoid": lambda s: csoftmax.sigmoid(x[s]),
        "log_sigmoid": lambda s: csoftmax.log_sigmoid(x[s]),
        "xent_options": lambda s: xent(s, t, weight=w, label_smoothing=0.1, temperature=1.3),
        "xent_weight": lambda s: xent(s, t, weight=w),
        "xent_prob": lambda s: csoftmax.cross_entropy_with_grad(
            x[s], q[s], weight=w, reduction="none")[1],
    }


@pytest.mark.parametrize("cols", [1001, 13, 40, 3001, 16385])  # rows start at every alignment
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_streamed_output_equals_regular_stores(isa, scratch, rng, dtype, cols):
    rows = STREAM_MIN_BYTES // (cols * np.dtype(dtype).itemsize) + 7
    assert rows * cols * np.dtype(dtype).itemsize >= STREAM_MIN_BYTES
    previous = csoftmax.get_num_threads()
    csoftmax.set_num_threads(1)
    try:
        for name, f in _calls(rng, rows, cols, dtype).items():
            whole = f(slice(None))
            parts = np.concatenate([f(slice(r, r + rows // 4 + 1))
                                    for r in range(0, rows, rows // 4 + 1)])
            assert np.array_equal(whole, parts), name
            assert np.isfinite(whole).all(), name
    finally:
        csoftmax.set_num_threads(previous)


@pytest.mark.parametrize("cols", [1001, 3001])
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_streamed_output_in_place(isa, scratch, rng, dtype, name, cols):
    """out is x: each vector is read before the streaming store to its place
    (softmax's output pass reads the next row's maximum beside it)."""
    f = getattr(csoftmax, name)
    rows = STREAM_MIN_BYTES // (cols * np.dtype(dtype).itemsize) + 3
    x = (rng.standard_normal((rows, cols)) * 3).astype(dtype)
    expected = np.concatenate([f(x[r:r + 1]) for r in range(rows)])
    assert np.array_equal(f(x), expected)
    y = x.copy()
    assert f(y, out=y) is y
    assert np.array_equal(y, expected)


@pytest.mark.parametrize("cols", [3001, 7501])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_streamed_rows_with_special_rows_equal_rows_alone(isa, scratch, rng, dtype, cols):
    """Streamed long rows are pipelined: a row's output pass runs inside the
    next row's exponentials (softmax, the class-target gradient: simd_side),
    from two scratch rows used in turn. Rows without a finite maximum (all
    -inf, a +inf, a NaN) and ignored rows among them, at the start, in the
    middle and at the end, one after another too: each row is bitwise the
    row computed alone; the probability targets' rows (one scratch row, not
    pipelined) too."""
    rows = STREAM_MIN_BYTES // (cols * np.dtype(dtype).itemsize) + 5
    x = (rng.standard_normal((rows, cols)) * 3).astype(dtype)
    x[0] = -np.inf
    x[5, 7] = np.inf
    x[6, 100] = np.nan
    x[rows // 2] = -np.inf
    x[rows - 1, cols - 1] = np.nan
    y = rng.random((rows, cols)).astype(dtype)
    q = y / y.sum(axis=1, keepdims=True)
    t = rng.integers(0, cols, rows)
    t[[3, 4, 9, rows - 2]] = -100
    w = rng.uniform(0.1, 2.0, cols).astype(dtype)
    calls = {
        "softmax": lambda s: csoftmax.softmax(x[s]),
        "xent": lambda s: np.column_stack(csoftmax.cross_entropy_with_grad(
            x[s], t[s], weight=w, reduction="none")),
        "xent_prob": lambda s: np.column_stack(csoftmax.cross_entropy_with_grad(
            x[s], q[s], reduction="none")),
        "xent_prob_weight": lambda s: np.column_stack(csoftmax.cross_entropy_with_grad(
            x[s], q[s], weight=w, temperature=0.8, reduction="none")),
    }
    previous = csoftmax.get_num_threads()
    csoftmax.set_num_threads(1)
    try:
        for name, f in calls.items():
            whole = f(slice(None))
            alone = np.concatenate([f(slice(r, r + 1)) for r in range(rows)])
            assert np.array_equal(whole, alone, equal_nan=True), name
            assert np.isnan(whole[[0, 5, 6, rows // 2, rows - 1]]).all(), name
    finally:
        csoftmax.set_num_threads(previous)
