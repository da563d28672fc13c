"""Dask inputs: lazy results equal to the NumPy API, on the threaded scheduler and
on a two-process distributed.LocalCluster.

Whole rows in one chunk (class axis unsplit): map_blocks over the kernels, so
the result is bitwise the NumPy one. Class axis split: the (max, rest)
reduction, within a few ulps (tolerances below in units of the compute dtype's
epsilon).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import csoftmax  # noqa: E402

SEED = 20240607
SPLIT_RTOL_EPS = 6   # split class axis: relative error bound, in eps of the compute dtype


@pytest.fixture(scope="module")
def client():
    # distributed's nannies set OMP_NUM_THREADS & co. in this process's
    # environment for their workers and leave them set: restored afterwards,
    # so that later subprocesses (test_cli's) see the suite's environment
    environ = dict(os.environ)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=40)
    c = distributed.Client(cluster, set_as_default=False)
    c.wait_for_workers(2, timeout=120)
    yield c
    c.close()
    cluster.close()
    os.environ.clear()
    os.environ.update(environ)


@pytest.fixture
def scheduler():
    """The default (threaded) scheduler; the cluster runs every case in
    test_cluster_runs_every_case, in one graph (task start-up there costs ~ms)."""
    return "threads"


def compute(scheduler, *arrays):
    import dask
    out = dask.compute(*arrays, scheduler=scheduler)
    return out if len(out) > 1 else out[0]


def compute_eps(dtype):
    dtype = np.dtype(dtype)
    return np.finfo(np.float64 if dtype.kind in "biu" else
                    (np.float32 if dtype == np.float16 else dtype)).eps


def shift_eps(x, axis):
    """Half the largest |x - row max| over finite entries: how many eps (relative)
    one rounding of x - max moves exp(x - max). The split path rounds x - max
    (NumPy), the kernels take it exactly (portable kernels, tiny rows) or rounded
    (SIMD kernels, wide rows): their results may differ by this much more."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        d = np.max(np.where(np.isfinite(x), x, -np.inf), axis=axis, keepdims=True) - x
    d = d[np.isfinite(d)]
    return float(d.max()) / 2 if d.size else 0.0


def assert_close(actual, expected, dtype, exact, shift=0.0):
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    if exact:
        np.testing.assert_array_equal(actual, expected)
        return
    rtol = (SPLIT_RTOL_EPS + shift) * compute_eps(dtype)
    if expected.dtype == np.float16:
        rtol += np.finfo(np.float16).eps
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=np.finfo(expected.dtype).tiny,
                               equal_nan=True)


def make_logits(shape, dtype, seed=SEED, special=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 6
    if special and x.ndim >= 2 and x.shape[-1] >= 4 and x.size // x.shape[-1] >= 6:
        v = x.reshape(-1, x.shape[-1])
        v[0, 1] = np.inf                    # row of NaN (logsumexp +inf)
        v[1] = -np.inf                      # row of NaN (logsumexp -inf)
        v[2, 3] = np.nan                    # NaN row
        v[3, :] = -40.0                     # one dominant value: log_softmax[0] ~ -4e-17
        v[3, 0] = 0.0
        v[4, 2:] = -np.inf                  # partly -inf
        v[5] += 700.0                       # large but finite
    if np.dtype(dtype).kind in "iu":
        return np.clip(np.nan_to_num(x), -100, 100).astype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        return x.astype(dtype)


# (shape, chunks, axis); split = the class axis has several chunks
LAYOUTS = [
    ((40, 30), (16, 30), -1),          # whole rows
    ((40, 30), (40, 7), -1),           # split class axis
    ((40, 30), (9, 11), 1),            # both split
    ((30, 40), (30, 13), 0),           # class axis first, unsplit
    ((30, 40), (8, 13), 0),            # class axis first, split
    ((6, 9, 20), (2, 9, 6), -1),       # 3-D, split
    ((6, 20, 9), (6, 5, 4), 1),        # 3-D, middle axis split
    ((50,), (50,), 0),                 # 1-D, one chunk
    ((50,), (7,), 0),                  # 1-D, split
]
DTYPES = [np.float64, np.float32, np.float16, np.int32]


def layout_id(layout):
    shape, chunks, axis = layout
    return f"{shape}-{chunks}-ax{axis}"


def is_split(shape, chunks, axis):
    return chunks[axis] < shape[axis]


@pytest.mark.parametrize("layout", LAYOUTS, ids=layout_id)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_rowwise_functions(layout, dtype, scheduler):
    lazy, check = rowwise_case(layout, dtype)
    check(compute(scheduler, *lazy))


def rowwise_case(layout, dtype):
    shape, chunks, axis = layout
    x = make_logits(shape, dtype)
    dx = da.from_array(x, chunks=chunks)
    lazy = [csoftmax.softmax(dx, axis=axis), csoftmax.log_softmax(dx, axis=axis),
            csoftmax.logsumexp(dx, axis=axis), csoftmax.logsumexp(dx, axis=axis, keepdims=True)]
    for value in lazy:
        assert isinstance(value, da.Array)
    # the row chunking of the input is kept
    assert lazy[0].chunks == dx.chunks
    return lazy, lambda got: check_rowwise(got, x, layout, dtype)


def check_rowwise(got, x, layout, dtype):
    shape, chunks, axis = layout
    want = [csoftmax.softmax(x, axis=axis), csoftmax.log_softmax(x, axis=axis),
            csoftmax.logsumexp(x, axis=axis), csoftmax.logsumexp(x, axis=axis, keepdims=True)]
    exact = not is_split(shape, chunks, axis)
    for g, w in zip(got, want):
        assert_close(g, w, dtype, exact, shift_eps(x, axis))


@pytest.mark.parametrize("layout", [layout for layout in LAYOUTS if len(layout[0]) > 1],
                         ids=layout_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: np.dtype(d).name)
def test_cross_entropy(layout, dtype, scheduler):
    lazy, check = cross_entropy_case(layout, dtype)
    check(compute(scheduler, *lazy))


def cross_entropy_case(layout, dtype):
    shape, chunks, axis = layout
    x = make_logits(shape, dtype)
    classes = shape[axis]
    lead = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
    target = np.random.default_rng(SEED + 1).integers(0, classes, lead).astype(np.int16)
    dx = da.from_array(x, chunks=chunks)
    reductions = ["mean", "sum", "none"]
    lazy = []
    for reduction in reductions:
        lazy.append(csoftmax.cross_entropy(dx, target, axis=axis, reduction=reduction))
        lazy.extend(csoftmax.cross_entropy_with_grad(dx, target, axis=axis, reduction=reduction))
    assert all(isinstance(value, da.Array) for value in lazy)
    return lazy, lambda got: check_cross_entropy(got, x, target, layout, dtype, reductions)


def check_cross_entropy(got, x, target, layout, dtype, reductions):
    shape, chunks, axis = layout
    exact = not is_split(shape, chunks, axis)
    shift = shift_eps(x, axis)
    for k, reduction in enumerate(reductions):
        got_only, got_loss, got_grad = (np.asarray(v) for v in got[3 * k:3 * k + 3])
        want_loss, want_grad = csoftmax.cross_entropy_with_grad(x, target, axis=axis,
                                                                reduction=reduction)
        want_loss = np.asarray(want_loss)
        if reduction == "none":
            assert_close(got_loss, want_loss, dtype, exact, shift)
            assert_close(got_only, want_loss, dtype, exact, shift)
        else:
            # sums of per-row losses in another order (the special rows make both
            # NaN here; test_cross_entropy_reduction_finite checks real numbers)
            assert got_loss.dtype == want_loss.dtype and got_loss.shape == ()
            np.testing.assert_allclose(got_loss, want_loss, rtol=8 * compute_eps(dtype),
                                       equal_nan=True)
            np.testing.assert_array_equal(got_only, got_loss)
        assert_close(got_grad, want_grad, dtype, exact, shift)


@pytest.mark.parametrize("chunks", [(13, 30), (13, 8)], ids=["rows", "split"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_reduction_finite(chunks, reduction, scheduler):
    """mean = sum / N over every chunk, on finite data (a real number to compare)."""
    x = make_logits((100, 30), np.float64, special=False)
    target = np.random.default_rng(SEED + 2).integers(0, 30, 100)
    dx = da.from_array(x, chunks=chunks)
    dt = da.from_array(target, chunks=17)         # other chunks than the logits: rechunked
    got = compute(scheduler, csoftmax.cross_entropy(dx, dt, reduction=reduction))
    want = csoftmax.cross_entropy(x, target, reduction=reduction)
    rows = np.log(np.exp(x).sum(axis=1)) - x[np.arange(100), target]   # independent formula
    independent = rows.mean() if reduction == "mean" else rows.sum()
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(got, independent, rtol=1e-12)


@pytest.mark.parametrize("chunks", [(4, 6), (4, 2)], ids=["rows", "split"])
@pytest.mark.parametrize("ignored", ["some", "all"])
def test_cross_entropy_ignore_index(chunks, ignored, scheduler):
    """target == -100 (the default ignore_index) counts for nothing, as in NumPy/PyTorch;
    the mean divides by the rows kept (all ignored: NaN)."""
    x = make_logits((10, 6), np.float64, special=False)
    target = np.random.default_rng(SEED + 3).integers(0, 6, 10)
    target[[1, 5]] = -100
    if ignored == "all":
        target[:] = -100
    dx = da.from_array(x, chunks=chunks)
    lazy = []
    for reduction in ["mean", "sum", "none"]:
        lazy.extend(csoftmax.cross_entropy_with_grad(dx, target, reduction=reduction))
    got = compute(scheduler, *lazy)
    for k, reduction in enumerate(["mean", "sum", "none"]):
        want_loss, want_grad = csoftmax.cross_entropy_with_grad(x, target, reduction=reduction)
        # 2 and 4 eps, plus the rounding of x - max: the split path rounds it, and
        # under CSOFTMAX_ISA=scalar the portable kernels give the rows of a 4-row
        # chunk and of the whole array a few eps apart (see shift_eps)
        eps = np.finfo(np.float64).eps * shift_eps(x, 1)
        np.testing.assert_allclose(got[2 * k], want_loss, rtol=4e-16 + eps, equal_nan=True)
        np.testing.assert_allclose(got[2 * k + 1], want_grad, rtol=8e-16 + eps, atol=1e-300)
        assert not got[2 * k + 1][target == -100].any()


CLUSTER_LAYOUTS = [LAYOUTS[i] for i in (0, 1, 2, 4, 6, 8)]


def test_cluster_runs_every_case(client):
    """Row-wise functions and cross-entropy, whole rows and split class axes,
    float32 and float64, on two worker processes: one graph, one compute."""
    cases = []
    for layout in CLUSTER_LAYOUTS:
        for dtype in (np.float64, np.float32):
            cases.append(rowwise_case(layout, dtype))
            if len(layout[0]) > 1:
                cases.append(cross_entropy_case(layout, dtype))
    lazy = [value for values, _ in cases for value in values]
    got = compute(client, *lazy)
    # two worker processes (client.run asks each; scheduler_info() is a
    # cached copy that a slow start can leave empty: it read 0 once)
    assert len(set(client.run(os.getpid).values())) == 2
    start = 0
    for values, check in cases:
        check(list(got[start:start + len(values)]))
        start += len(values)
    assert start == len(got)


def test_cluster_target_out_of_range(client):
    x = da.from_array(make_logits((20, 6), np.float64, special=False), chunks=(5, 3))
    target = np.zeros(20, dtype=np.int64)
    target[13] = 7
    with pytest.raises(IndexError, match=r"target\[13\] = 7 is out of range for 6 classes"):
        compute(client, csoftmax.cross_entropy(x, target))


def test_dominant_value_keeps_tiny_log_softmax(scheduler):
    """log_softmax([0, -40, ...])[0] = -log1p(n exp(-40)), however the row is split."""
    x = np.full((2, 12), -40.0)
    x[:, 0] = 0.0
    want = -np.log1p(11 * np.exp(-40.0))
    for chunks in [(2, 12), (1, 1), (2, 5)]:
        got = compute(scheduler, csoftmax.log_softmax(da.from_array(x, chunks=chunks)))
        np.testing.assert_allclose(got[:, 0], want, rtol=4e-16)
        assert got[0, 0] < 0


def test_target_out_of_range_raises_at_compute(scheduler):
    x = da.from_array(make_logits((20, 6), np.float64, special=False), chunks=(5, 3))
    target = np.zeros(20, dtype=np.int64)
    target[13] = 6
    loss = csoftmax.cross_entropy(x, target)   # lazy: no error yet
    with pytest.raises(IndexError, match=r"target\[13\] = 6 is out of range for 6 classes"):
        compute(scheduler, loss)
    target[13] = -1
    with pytest.raises(IndexError, match=r"target\[13\] = -1"):
        compute(scheduler, csoftmax.cross_entropy_with_grad(x, target)[1])


def _explode(block):
    raise RuntimeError("a block was computed while building the graph")


def test_lazy_nothing_computed():
    x = da.ones((8, 6), chunks=(4, 3)).map_blocks(_explode, dtype=np.float64)
    target = da.zeros(8, dtype=np.int64, chunks=4)
    results = [csoftmax.softmax(x), csoftmax.log_softmax(x), csoftmax.logsumexp(x),
               csoftmax.cross_entropy(x, target), *csoftmax.cross_entropy_with_grad(x, target)]
    assert all(isinstance(r, da.Array) for r in results)
    with pytest.raises(RuntimeError, match="while building the graph"):
        results[0].compute(scheduler="sync")


def test_numpy_logits_dask_target(scheduler):
    x = make_logits((10, 4), np.float32, special=False)
    target = da.from_array(np.arange(10) % 4, chunks=5)
    got = compute(scheduler, csoftmax.cross_entropy(x, target, reduction="none"))
    np.testing.assert_array_equal(got, csoftmax.cross_entropy(x, np.arange(10) % 4,
                                                              reduction="none"))


def test_empty_axis():
    x = da.zeros((3, 0), chunks=(2, 0))
    np.testing.assert_array_equal(csoftmax.logsumexp(x).compute(scheduler="sync"),
                                  np.full(3, -np.inf))
    assert csoftmax.softmax(x).compute(scheduler="sync").shape == (3, 0)


# ---------------------------------------------------------------------------
# errors, raised when the graph is built


@pytest.mark.parametrize("function", [csoftmax.softmax, csoftmax.log_softmax])
def test_out_refused(function):
    x = da.ones((4, 3), chunks=2)
    with pytest.raises(TypeError, match="out= is not supported for Dask input"):
        function(x, out=np.empty((4, 3)))


def test_cross_entropy_out_refused():
    with pytest.raises(TypeError, match="out= is not supported for Dask input to "
                                        "csoftmax.cross_entropy_with_grad"):
        csoftmax.cross_entropy_with_grad(da.ones((4, 3), chunks=2), np.zeros(4, dtype=np.int64),
                                         out=np.empty((4, 3)))


@pytest.mark.parametrize("name", ["softmax_backward", "log_softmax_backward"])
def test_backward_out_refused(name):
    g = da.ones((4, 3), chunks=2)
    with pytest.raises(TypeError, match=f"out= is not supported for Dask input to csoftmax.{name}"):
        getattr(csoftmax, name)(g, np.full((4, 3), 0.25), out=np.empty((4, 3)))


@pytest.mark.parametrize("dask_target", [False, True])
@pytest.mark.parametrize("function", [csoftmax.cross_entropy, csoftmax.cross_entropy_with_grad])
def test_options_on_split_class_axis_refused_by_name(function, dask_target):
    """Probability targets, weights, smoothing and a temperature need whole rows
    per block: a split class axis is refused naming what is in use and how to
    rechunk (not as "target must hold integer class indices")."""
    q = np.full((4, 3), 1 / 3)
    target = da.from_array(q, chunks=2) if dask_target else q
    x = da.zeros((4, 3), chunks=2)
    with pytest.raises(NotImplementedError, match=r"with probability targets needs the class "
                                                  r"axis \(axis 1\) in one chunk, got chunks "
                                                  r"\(2, 1\): rechunk it first, e\.g\. "
                                                  r"logits\.rechunk\(\{1: -1\}\)"):
        function(x, target)
    with pytest.raises(NotImplementedError, match="with weight, label_smoothing, temperature "
                                                  "needs the class axis"):
        function(x, [0, 1, 2, 0], weight=[1.0, 2.0, 3.0], label_smoothing=0.1,
                 temperature=2.0)
    # the rechunked logits work
    got = function(x.rechunk({1: -1}), target)
    assert isinstance(got if function is csoftmax.cross_entropy else got[0], da.Array)


@pytest.mark.parametrize("function", [csoftmax.softmax, csoftmax.log_softmax, csoftmax.logsumexp])
def test_rowwise_errors(function):
    with pytest.raises(TypeError, match="complex"):
        function(da.ones((4, 3), chunks=2, dtype=np.complex128))
    with pytest.raises(TypeError, match="unsupported dtype"):
        function(da.from_array(np.array([["a", "b"]])))
    with pytest.raises(np.exceptions.AxisError, match="axis=2"):
        function(da.ones((4, 3), chunks=2), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        function(da.ones((4, 3), chunks=2), axis=1.5)
    with pytest.raises(np.exceptions.AxisError, match="0-d"):
        function(da.ones((), dtype=np.float64))


def test_cross_entropy_errors():
    x = da.ones((4, 3), chunks=2)
    with pytest.raises(ValueError, match="reduction must be one of"):
        csoftmax.cross_entropy(x, np.zeros(4, int), reduction="avg")
    # a floating target is read as probabilities, as for NumPy input
    with pytest.raises(ValueError, match=r"target has shape \(4,\); probability targets"):
        csoftmax.cross_entropy(x, da.zeros(4, chunks=2))
    with pytest.raises(TypeError, match="integer class indices"):
        csoftmax.cross_entropy(x, da.zeros(4, chunks=2, dtype=bool))
    with pytest.raises(ValueError, match=r"target has shape \(5,\), expected \(4,\)"):
        csoftmax.cross_entropy_with_grad(x, np.zeros(5, int))
    with pytest.raises(ValueError, match="at least one dimension"):
        csoftmax.cross_entropy(da.ones((), dtype=np.float64), np.zeros((), int))
    with pytest.raises(TypeError, match="complex"):
        csoftmax.cross_entropy(da.ones((4, 3), chunks=2, dtype=np.complex64), np.zeros(4, int))


def test_dask_not_imported_for_numpy_input():
    code = ("import sys, numpy as np, csoftmax; csoftmax.softmax(np.ones(3)); "
            "csoftmax.cross_entropy(np.ones((2, 3)), [0, 1]); "
            "print('dask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# the training functions (cross-entropy options, nll_loss, backward passes,
# sigmoid family, binary cross-entropy): lazy, and equal to the NumPy API

WHOLE_ROW_LAYOUTS = [((40, 30), (16, 30), -1), ((30, 40), (30, 13), 0),
                     ((6, 20, 9), (4, 20, 5), 1)]
XENT_OPTIONS = [
    {"weight": "w"},
    {"ignore_index": 2},
    {"ignore_index": 2, "weight": "w"},
    {"label_smoothing": 0.2},
    {"temperature": 0.7},
    {"weight": "w", "label_smoothing": 0.1, "temperature": 2.5, "ignore_index": 3},
    {"probabilities": True},
    {"probabilities": True, "weight": "w", "label_smoothing": 0.3, "temperature": 0.5},
]


def _targets_and_options(shape, axis, options, dtype):
    classes = shape[axis]
    lead = tuple(np.delete(np.array(shape), axis))
    rng = np.random.default_rng(SEED + 7)
    kwargs = {k: v for k, v in options.items() if k != "probabilities"}
    if "weight" in kwargs:
        kwargs["weight"] = rng.random(classes) + 0.25
    if options.get("probabilities"):
        target = csoftmax.softmax(rng.standard_normal(shape), axis=axis).astype(dtype)
    else:
        target = rng.integers(0, classes, lead)
        target.reshape(-1)[::5] = kwargs.get("ignore_index", -100)   # some rows ignored
    return target, kwargs


@pytest.mark.parametrize("options", XENT_OPTIONS, ids=lambda o: "-".join(o))
@pytest.mark.parametrize("layout", WHOLE_ROW_LAYOUTS, ids=layout_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: np.dtype(d).name)
def test_cross_entropy_options(options, layout, dtype, scheduler):
    """Every cross-entropy option on blocks of whole rows: per-row losses and
    gradients bitwise the NumPy API's (the same kernels, the whole array's
    mean scale; with class weights that scale's sum of weights is formed by
    blocks); reduced losses summed in another order (a few eps)."""
    shape, chunks, axis = layout
    portable = csoftmax.config()["isa"] == "scalar"
    x = make_logits(shape, dtype)
    target, kwargs = _targets_and_options(shape, axis, options, dtype)
    dx = da.from_array(x, chunks=chunks)
    dt = da.from_array(target, chunks=chunks) if target.ndim == x.ndim else target
    lazy = []
    for reduction in ("mean", "sum", "none"):
        lazy.append(csoftmax.cross_entropy(dx, dt, axis=axis, reduction=reduction, **kwargs))
        lazy.extend(csoftmax.cross_entropy_with_grad(dx, dt, axis=axis, reduction=reduction,
                                                     **kwargs))
    assert all(isinstance(value, da.Array) for value in lazy)
    got = compute(scheduler, *lazy)
    for k, reduction in enumerate(("mean", "sum", "none")):
        want_loss, want_grad = csoftmax.cross_entropy_with_grad(x, target, axis=axis,
                                                                reduction=reduction, **kwargs)
        only, loss, grad = got[3 * k:3 * k + 3]
        assert grad.dtype == want_grad.dtype
        # the weighted mean's denominator is summed by blocks: its inverse, the
        # gradient's scale, may differ from the NumPy path's in the last bit; the
        # portable kernels round some rows differently in batches of other sizes
        # (a few eps, more where x - max is large: shift_eps)
        weighted_mean = ("weight" in kwargs and reduction == "mean"
                         and not options.get("probabilities"))
        # (and p - q cancels in the gradient: the portable kernels' bound is taken
        # relative to the largest entry)
        rtol = (4 + (shift_eps(x, axis) if portable else 0)) * compute_eps(dtype)
        atol = 4 * np.finfo(dtype).smallest_subnormal
        if portable:
            atol += rtol * np.max(np.abs(want_grad), initial=0, where=np.isfinite(want_grad))
        if weighted_mean or portable:
            np.testing.assert_allclose(grad, want_grad, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(grad, want_grad)
        if reduction == "none" and portable:
            np.testing.assert_allclose(loss, want_loss, rtol=rtol, equal_nan=True)
        elif reduction == "none":
            np.testing.assert_array_equal(loss, want_loss)
        else:
            assert np.ndim(loss) == 0 and np.asarray(loss).dtype == np.asarray(want_loss).dtype
            np.testing.assert_allclose(loss, want_loss, rtol=8 * compute_eps(dtype),
                                       equal_nan=True)
        np.testing.assert_array_equal(only, loss)


@pytest.mark.parametrize("chunks", [(4, 6), (4, 2)], ids=["rows", "split"])
def test_cross_entropy_other_ignore_index(chunks, scheduler):
    """A user ignore_index (here a valid class, 2) on whole rows and on a split
    class axis: its rows count for nothing, the mean divides by the others."""
    x = make_logits((10, 6), np.float64, special=False)
    target = np.random.default_rng(SEED + 8).integers(0, 6, 10)
    target[[0, 4, 7]] = 2
    got = compute(scheduler, *csoftmax.cross_entropy_with_grad(
        da.from_array(x, chunks=chunks), target, ignore_index=2))
    want = csoftmax.cross_entropy_with_grad(x, target, ignore_index=2)
    eps = np.finfo(np.float64).eps * (4 + shift_eps(x, 1))
    np.testing.assert_allclose(got[0], want[0], rtol=eps)
    np.testing.assert_allclose(got[1], want[1], rtol=2 * eps, atol=1e-300)
    assert not got[1][target == 2].any()
    kept = target != 2
    independent = (np.log(np.exp(x).sum(axis=1)) - x[np.arange(10), target])[kept].mean()
    np.testing.assert_allclose(got[0], independent, rtol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted, scheduler):
    x = make_logits((30, 8), np.float32, special=False)
    lp = csoftmax.log_softmax(x)
    lp[1, 4] = -np.inf
    target = np.random.default_rng(SEED + 9).integers(0, 8, 30)
    target[[1, 6]] = [4, 5]
    target[9] = 5
    weight = np.linspace(0.5, 2.0, 8).astype(np.float32) if weighted else None
    if weighted:
        weight[4] = 0.0          # w = 0 at a -inf log-probability: 0, not NaN
    dlp = da.from_array(lp, chunks=(7, 8))
    lazy = csoftmax.nll_loss(dlp, da.from_array(target, chunks=11), weight=weight,
                             ignore_index=5, reduction=reduction)
    assert isinstance(lazy, da.Array)
    got = compute(scheduler, lazy)
    want = csoftmax.nll_loss(lp, target, weight=weight, ignore_index=5, reduction=reduction)
    if reduction == "none":
        np.testing.assert_array_equal(got, want)
        assert got[6] == 0 and got[9] == 0
    else:
        assert np.ndim(got) == 0 and np.asarray(got).dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=8 * compute_eps(np.float32))
    assert np.isfinite(got).all() == weighted


def test_nll_loss_all_ignored_mean_is_nan(scheduler):
    lp = da.from_array(np.log(np.full((4, 3), 1 / 3)), chunks=(2, 3))
    assert np.isnan(compute(scheduler, csoftmax.nll_loss(lp, np.full(4, -100))))


def test_nll_loss_errors(scheduler):
    lp = da.zeros((4, 3), chunks=(2, 2))
    with pytest.raises(NotImplementedError, match=r"nll_loss of Dask log_probs needs the class "
                                                  r"axis \(axis 1\) in one chunk"):
        csoftmax.nll_loss(lp, np.zeros(4, int))
    whole = da.zeros((4, 3), chunks=(2, 3))
    with pytest.raises(ValueError, match=r"target has shape \(5,\), expected \(4,\)"):
        csoftmax.nll_loss(whole, np.zeros(5, int))
    with pytest.raises(ValueError, match="weight has shape"):
        csoftmax.nll_loss(whole, np.zeros(4, int), weight=[1.0, 2.0])
    loss = csoftmax.nll_loss(whole, np.array([0, 1, 3, 0]))     # lazy: raised at compute
    with pytest.raises(IndexError, match=r"target\[2\] = 3 is out of range for 3 classes"):
        compute(scheduler, loss)


@pytest.mark.parametrize("layout", [LAYOUTS[i] for i in (0, 1, 2, 3, 4, 6)], ids=layout_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: np.dtype(d).name)
def test_backward_passes(layout, dtype, scheduler):
    """Whole rows: the kernels, bitwise. A split class axis: the row sums in
    float64 across chunks, within a few eps of the largest term."""
    shape, chunks, axis = layout
    x = make_logits(shape, dtype, special=False)
    g = np.random.default_rng(SEED + 10).standard_normal(shape).astype(dtype)
    y, lp = csoftmax.softmax(x, axis=axis), csoftmax.log_softmax(x, axis=axis)
    dg = da.from_array(g, chunks=chunks)
    lazy = [csoftmax.softmax_backward(dg, da.from_array(y, chunks=chunks), axis=axis),
            csoftmax.log_softmax_backward(dg, lp, axis=axis)]     # NumPy output: rechunked
    assert all(isinstance(v, da.Array) for v in lazy)
    got = compute(scheduler, *lazy)
    want = [csoftmax.softmax_backward(g, y, axis=axis),
            csoftmax.log_softmax_backward(g, lp, axis=axis)]
    for a, b, scale in zip(got, want, (np.abs(g * y), np.abs(g))):
        assert a.dtype == b.dtype
        if is_split(shape, chunks, axis):
            bound = 4 * compute_eps(dtype) * scale.sum(axis=axis, keepdims=True)
            assert (np.abs(a.astype(np.float64) - b) <= bound + np.abs(b) * compute_eps(dtype)).all()
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32],
                         ids=lambda d: np.dtype(d).name)
def test_sigmoid_family(dtype, scheduler):
    x = make_logits((30, 7), dtype)
    dx = da.from_array(x, chunks=(8, 3))
    lazy = [csoftmax.sigmoid(dx), csoftmax.log_sigmoid(dx), csoftmax.sigmoid(dx[0, 0])]
    assert all(isinstance(v, da.Array) for v in lazy)
    got = compute(scheduler, *lazy)
    for a, b in zip(got, [csoftmax.sigmoid(x), csoftmax.log_sigmoid(x), csoftmax.sigmoid(x[0, 0])]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="out= is not supported for Dask input to "
                                        "csoftmax.sigmoid"):
        csoftmax.sigmoid(dx, out=np.empty(x.shape))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weights", ["none", "per-class", "dask-full"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: np.dtype(d).name)
def test_binary_cross_entropy(reduction, weights, dtype, scheduler):
    rng = np.random.default_rng(SEED + 11)
    x = make_logits((30, 7), dtype)
    y = rng.random((30, 7)).astype(dtype)
    kwargs = {}
    if weights == "per-class":
        kwargs = {"weight": rng.random(7), "pos_weight": rng.random(7) * 3}
    elif weights == "dask-full":
        kwargs = {"weight": da.from_array(rng.random((30, 7)), chunks=10)}
    dx = da.from_array(x, chunks=(8, 3))
    dy = da.from_array(y, chunks=(13, 7))          # other chunks than the logits: rechunked
    lazy = [csoftmax.binary_cross_entropy(dx, dy, reduction=reduction, **kwargs),
            *csoftmax.binary_cross_entropy_with_grad(dx, dy, reduction=reduction, **kwargs)]
    assert all(isinstance(v, da.Array) for v in lazy)
    only, loss, grad = compute(scheduler, *lazy)
    numpy_kwargs = {k: np.asarray(v) for k, v in kwargs.items()}
    want_loss, want_grad = csoftmax.binary_cross_entropy_with_grad(x, y, reduction=reduction,
                                                                   **numpy_kwargs)
    np.testing.assert_array_equal(grad, want_grad)
    if reduction == "none":
        np.testing.assert_array_equal(loss, want_loss)
    else:
        assert np.ndim(loss) == 0 and np.asarray(loss).dtype == np.dtype(dtype)
        np.testing.assert_allclose(loss, want_loss, rtol=8 * compute_eps(dtype), equal_nan=True)
    np.testing.assert_array_equal(only, loss)


def test_binary_cross_entropy_errors():
    x = da.zeros((4, 3), chunks=2)
    with pytest.raises(ValueError, match=r"target has shape \(4, 2\), expected the logits' "
                                         r"shape \(4, 3\)"):
        csoftmax.binary_cross_entropy(x, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"pos_weight with shape \(2,\) cannot be broadcast"):
        csoftmax.binary_cross_entropy(x, np.zeros((4, 3)), pos_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        csoftmax.binary_cross_entropy(x, np.zeros((4, 3)), reduction="avg")
    with pytest.raises(TypeError, match="complex"):
        csoftmax.binary_cross_entropy(x, np.zeros((4, 3), dtype=np.complex64))


def test_training_functions_lazy():
    """Nothing is computed while the graphs are built."""
    x = da.ones((8, 6), chunks=(4, 6)).map_blocks(_explode, dtype=np.float64)
    target = da.zeros(8, dtype=np.int64, chunks=4)
    q = da.full((8, 6), 1 / 6, chunks=(4, 6))
    results = [
        csoftmax.cross_entropy(x, target, weight=np.ones(6), label_smoothing=0.1),
        *csoftmax.cross_entropy_with_grad(x, q, temperature=2.0),
        csoftmax.nll_loss(x, target), csoftmax.softmax_backward(x, x),
        csoftmax.log_softmax_backward(x, x), csoftmax.sigmoid(x), csoftmax.log_sigmoid(x),
        *csoftmax.binary_cross_entropy_with_grad(x, q, pos_weight=np.ones(6))]
    assert all(isinstance(r, da.Array) for r in results)
    for r in results:
        with pytest.raises(RuntimeError, match="while building the graph"):
            r.compute(scheduler="sync")


def test_cluster_training_functions(client):
    """The training functions' blocks (kernels, weights passed along) on two
    worker processes."""
    x = make_logits((40, 9), np.float32, special=False)
    rng = np.random.default_rng(SEED + 12)
    target = rng.integers(0, 9, 40)
    w = rng.random(9) + 0.5
    q = rng.random((40, 9)).astype(np.float32)
    dx = da.from_array(x, chunks=(10, 9))
    lazy = [*csoftmax.cross_entropy_with_grad(dx, target, weight=w, label_smoothing=0.1,
                                              reduction="none"),
            csoftmax.nll_loss(csoftmax.log_softmax(dx), target, weight=w, reduction="none"),
            *csoftmax.binary_cross_entropy_with_grad(dx, q, pos_weight=w, reduction="none"),
            csoftmax.softmax_backward(dx, csoftmax.softmax(dx))]
    got = compute(client, *lazy)
    want = [*csoftmax.cross_entropy_with_grad(x, target, weight=w, label_smoothing=0.1,
                                              reduction="none"),
            csoftmax.nll_loss(csoftmax.log_softmax(x), target, weight=w, reduction="none"),
            *csoftmax.binary_cross_entropy_with_grad(x, q, pos_weight=w, reduction="none"),
            csoftmax.softmax_backward(x, csoftmax.softmax(x))]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_eager_functions_return_numpy(scheduler):
    """sample and calibration compute a Dask input first (as the README says)
    and give the NumPy results."""
    x = make_logits((12, 6), np.float64, special=False)
    dx = da.from_array(x, chunks=(4, 2))
    got = [csoftmax.sample(dx, rng=1),
           csoftmax.calibration.expected_calibration_error(csoftmax.softmax(x), dx.argmax(1))]
    want = [csoftmax.sample(x, rng=1),
            csoftmax.calibration.expected_calibration_error(csoftmax.softmax(x), x.argmax(1))]
    for a, b in zip(got, want):
        assert not isinstance(a, da.Array)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", [LAYOUTS[i] for i in (0, 1, 2, 4, 6, 8)], ids=layout_id)
def test_predict(layout, scheduler):
    """argmax with NumPy's rules (first maximum; a NaN wins, the first one),
    also across class chunks."""
    shape, chunks, axis = layout
    x = make_logits(shape, np.float64)
    if x.ndim == 2:
        v = x if axis in (-1, 1) else x.T
        v[6, :] = 1.0                        # ties: the lowest index
        v[7, [2, 5]] = np.nan                # the first NaN
        v[8, [1, 4]] = np.inf
    lazy = csoftmax.predict(da.from_array(x, chunks=chunks), axis=axis)
    assert isinstance(lazy, da.Array)
    got = compute(scheduler, lazy)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argmax(x, axis=axis))


def test_predict_of_whole_class_chunks_runs_the_kernel_per_block(scheduler):
    x = make_logits((4000, 10), np.float32)
    x[5, [3, 7]] = np.nan
    lazy = csoftmax.predict(da.from_array(x, chunks=(1500, 10)))
    names = {str(key[0]).split("-")[0] for key in lazy.dask.keys()}
    assert "_predict_block" in names
    split = csoftmax.predict(da.from_array(x, chunks=(1500, 5)))  # Dask's argmax
    assert "_predict_block" not in {str(key[0]).split("-")[0] for key in split.dask.keys()}
    np.testing.assert_array_equal(compute(scheduler, split), np.argmax(x, axis=-1))
    got = compute(scheduler, lazy)
    assert got.dtype == np.int64 and got.shape == (4000,)
    np.testing.assert_array_equal(got, np.argmax(x, axis=-1))


def test_predict_errors():
    with pytest.raises(ValueError, match="empty class axis"):
        csoftmax.predict(da.zeros((3, 0), chunks=(2, 0)))
    with pytest.raises(TypeError, match="complex"):
        csoftmax.predict(da.ones((3, 2), chunks=2, dtype=np.complex64))
    with pytest.raises(np.exceptions.AxisError, match="0-d"):
        csoftmax.predict(da.ones((), dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.float32, bool, np.int8])
def test_one_hot(dtype, scheduler):
    labels = np.random.default_rng(SEED + 13).integers(0, 5, (6, 7))
    lazy = csoftmax.one_hot(da.from_array(labels, chunks=(4, 3)), 5, dtype=dtype)
    assert isinstance(lazy, da.Array) and lazy.chunks[-1] == (5,)
    got = compute(scheduler, lazy)
    want = csoftmax.one_hot(labels, 5, dtype=dtype)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    labels[5, 4] = 5
    lazy = csoftmax.one_hot(da.from_array(labels, chunks=(4, 3)), 5)   # raised at compute
    with pytest.raises(IndexError, match=r"labels\[5, 4\] = 5 is out of range for "
                                         r"num_classes=5"):
        compute(scheduler, lazy)
    with pytest.raises(TypeError, match="labels must hold integer class indices"):
        csoftmax.one_hot(da.zeros(3, chunks=2), 5)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        csoftmax.one_hot(da.zeros(3, chunks=2, dtype=int), 0)


# ---------------------------------------------------------------------------
# review findings of 2026-12-02: empty class axis, Dask weights, exact
# denominators and totals, NumPy arguments beside Dask ones, unknown chunks,
# one kernel pass per block


@pytest.mark.parametrize("function", [csoftmax.cross_entropy, csoftmax.cross_entropy_with_grad])
def test_cross_entropy_empty_class_axis(function):
    """Refused when the graph is built, with the NumPy API's error."""
    for x, target in [(np.zeros((3, 0)), np.full(3, -100)), (np.zeros(0), np.int64(-100)),
                      (np.zeros((3, 0)), np.zeros((3, 0)))]:
        with pytest.raises(ValueError, match="logits have an empty class axis"):
            function(x, target)
        with pytest.raises(ValueError, match="logits have an empty class axis"):
            function(da.from_array(x), target)


def test_dask_weight_stays_lazy(scheduler):
    """A Dask class weight is not computed while the graph is built, also beside
    NumPy logits and targets (the result is then a Dask array)."""
    x = make_logits((12, 5), np.float64, special=False)
    target = np.arange(12) % 5
    w = np.linspace(0.5, 1.5, 5)
    exploding = da.from_array(w, chunks=5).map_blocks(_explode, dtype=np.float64)
    lazy = [csoftmax.cross_entropy(x, target, weight=exploding),
            csoftmax.nll_loss(csoftmax.log_softmax(x), target, weight=exploding),
            csoftmax.binary_cross_entropy(x, np.zeros((12, 5)), weight=exploding)]
    assert all(isinstance(v, da.Array) for v in lazy)
    dw = da.from_array(w, chunks=2)
    got = compute(scheduler, *csoftmax.cross_entropy_with_grad(x, target, weight=dw),
                  csoftmax.nll_loss(csoftmax.log_softmax(x), target, weight=dw,
                                    reduction="none"))
    want = (*csoftmax.cross_entropy_with_grad(x, target, weight=w),
            csoftmax.nll_loss(csoftmax.log_softmax(x), target, weight=w, reduction="none"))
    np.testing.assert_allclose(got[0], want[0], rtol=4e-16)
    np.testing.assert_allclose(got[1], want[1], rtol=4e-16)
    np.testing.assert_array_equal(got[2], want[2])


def test_weighted_mean_denominator_and_totals_exact(scheduler):
    """The weighted mean's denominator is the correctly rounded sum of the
    counted rows' weights, however the rows are chunked (cancelling weights: a
    plain sum of per-block sums gave half the loss), and reduced losses are the
    correctly rounded sum of the blocks' totals."""
    x = np.zeros((3, 3))
    target = np.array([0, 1, 2])
    w = np.array([0.1, 0.2, -0.3])
    got = compute(scheduler, *csoftmax.cross_entropy_with_grad(
        da.from_array(x, chunks=(1, 3)), target, weight=w))
    want = csoftmax.cross_entropy_with_grad(x, target, weight=w)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-15)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-15)
    lp = np.array([[1e16], [1.0], [-1e16]])
    got = compute(scheduler, csoftmax.nll_loss(da.from_array(lp, chunks=1), [0, 0, 0],
                                               reduction="sum"))
    assert got == csoftmax.nll_loss(lp, [0, 0, 0], reduction="sum") == -1.0


def test_numpy_arguments_take_the_dask_ones_chunks(scheduler):
    """A NumPy argument beside a Dask one is chunked as the Dask one (rows) with
    its class axis whole, not by Dask's automatic rule (which split it)."""
    import dask
    x = make_logits((4, 300), np.float64, special=False)
    target = np.arange(4) * 7
    w = np.linspace(0.5, 1.5, 300)
    g = np.random.default_rng(SEED + 14).standard_normal((4, 300))
    y = csoftmax.softmax(x)
    with dask.config.set({"array.chunk-size": "1KiB"}):
        dt = da.from_array(target, chunks=2)
        lazy = [*csoftmax.cross_entropy_with_grad(x, dt, weight=w, reduction="none"),
                csoftmax.nll_loss(csoftmax.log_softmax(x), dt, reduction="none"),
                csoftmax.softmax_backward(g, da.from_array(y, chunks=(2, 300))),
                *csoftmax.binary_cross_entropy_with_grad(x, da.from_array(y, chunks=(1, 300)),
                                                         reduction="none")]
    got = compute(scheduler, *lazy)
    want = [*csoftmax.cross_entropy_with_grad(x, target, weight=w, reduction="none"),
            csoftmax.nll_loss(csoftmax.log_softmax(x), target, reduction="none"),
            csoftmax.softmax_backward(g, y),
            *csoftmax.binary_cross_entropy_with_grad(x, y, reduction="none")]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_unknown_chunk_sizes_refused():
    x = da.from_array(make_logits((10, 4), np.float64, special=False), chunks=5)
    rows = x[x[:, 0] > 0]                          # chunks of unknown size
    for call in [lambda: csoftmax.cross_entropy(rows, np.zeros(3, int)),
                 lambda: csoftmax.binary_cross_entropy_with_grad(rows, rows),
                 lambda: csoftmax.nll_loss(rows, np.zeros(3, int)),
                 lambda: csoftmax.softmax_backward(rows, rows)]:
        with pytest.raises(ValueError, match=r"has chunks of unknown size .* call "
                                             r"\w+\.compute_chunk_sizes\(\) first"):
            call()


def test_one_kernel_pass_per_block(monkeypatch):
    """cross_entropy_with_grad and binary_cross_entropy_with_grad read each block
    once: the loss and the gradient come from one kernel call."""
    from csoftmax import _losses
    calls = {"xent": 0, "bce": 0}
    xent, bce = _losses._xent_rows, _losses._bce_arrays

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(_losses, "_xent_rows", counted("xent", xent))
    monkeypatch.setattr(_losses, "_bce_arrays", counted("bce", bce))
    x = da.from_array(make_logits((40, 6), np.float64, special=False), chunks=(10, 6))
    target = np.arange(40) % 6
    compute("sync", *csoftmax.cross_entropy_with_grad(x, target, label_smoothing=0.1))
    compute("sync", *csoftmax.binary_cross_entropy_with_grad(x, x, pos_weight=np.ones(6)))
    assert calls == {"xent": 4, "bce": 4}


def test_per_class_weights_not_broadcast_to_the_logits_size():
    from csoftmax import _dask
    x = da.zeros((1000, 6), chunks=(100, 3))
    pos_weight = _dask._broadcast_dask(np.ones(6), "pos_weight", x, np.float64)
    assert pos_weight.shape == (1, 6) and pos_weight.chunks == ((1,), (3, 3))


def test_weighted_denominator_edge_cases(scheduler):
    """Second review: a non-finite weight on a class no target names counts for
    nothing (it gave NaN); float64 weights that cancel are summed exactly (the
    rounded products gave a denominator a third too large); a weight of unknown
    chunk sizes is refused as such; +inf - inf block totals give NaN without a
    warning; with an empty class axis a wrong weight is reported first, as
    NumPy reports it."""
    x = np.log(np.full((4, 3), 1 / 3))
    t = np.array([0, 1, 0, 1])
    for bad in (np.inf, np.nan):
        w = np.array([1.0, 2.0, bad])
        got = compute(scheduler, csoftmax.nll_loss(da.from_array(x, chunks=(2, 3)), t, weight=w),
                      *csoftmax.cross_entropy_with_grad(da.from_array(x, chunks=(2, 3)), t,
                                                        weight=w))
        want = (csoftmax.nll_loss(x, t, weight=w), *csoftmax.cross_entropy_with_grad(x, t, weight=w))
        for a, b in zip(got, want):
            assert np.isfinite(a).all()
            np.testing.assert_allclose(a, b, rtol=4e-16)
    x = np.zeros((6, 3))
    t = np.array([0, 0, 0, 1, 1, 1])
    w = np.array([0.1, -0.1 + 2.0 ** -56, 1.0])
    got = compute(scheduler, *csoftmax.cross_entropy_with_grad(da.from_array(x, chunks=(6, 3)),
                                                               t, weight=w))
    want = csoftmax.cross_entropy_with_grad(x, t, weight=w)
    np.testing.assert_allclose(got[0], want[0], rtol=4e-16)
    np.testing.assert_allclose(got[1], want[1], rtol=4e-16)
    y = da.from_array(np.ones(8), chunks=4)
    unknown = y[y > 0]
    for call in [lambda: csoftmax.cross_entropy(np.zeros((2, 8)), [0, 1], weight=unknown),
                 lambda: csoftmax.binary_cross_entropy(np.zeros((2, 8)), np.zeros((2, 8)),
                                                       pos_weight=unknown)]:
        with pytest.raises(ValueError, match=r"weight has chunks of unknown size"):
            call()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = compute(scheduler, csoftmax.binary_cross_entropy(
            da.from_array(np.array([[np.inf, np.inf]]), chunks=1), np.zeros((1, 2)),
            weight=[1.0, -1.0], reduction="sum"))
    assert np.isnan(got)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(0,\)"):
        csoftmax.cross_entropy(da.zeros((3, 0)), np.full(3, -100), weight=np.ones(2))


# (logits shape, class axis, mix_logits shape, logits chunks)
MIXTURES = [((10, 3, 5), -1, (3,), (4, 3, 5)), ((10, 3, 5), -1, (10, 3), (4, 3, 5)),
            ((10, 5, 3), 1, (10, 3), (3, 5, 3)), ((6, 10, 3, 5), -1, (10, 3), (2, 5, 3, 5)),
            ((3, 5), -1, (3,), (3, 5)), ((10, 3, 5), -1, (1, 3), (4, 3, 5))]


@pytest.mark.parametrize("case", MIXTURES, ids=lambda c: f"{c[0]}-ax{c[1]}-w{c[2]}")
def test_mixture_softmax(case, scheduler):
    """Blocks of whole components and classes: the NumPy function per block,
    bitwise; Dask logits, Dask mix_logits, or both."""
    shape, axis, w_shape, chunks = case
    rng = np.random.default_rng(SEED + 15)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(w_shape)
    lazy = [csoftmax.mixture_softmax(da.from_array(x, chunks=chunks), w, axis=axis),
            csoftmax.mixture_softmax(x, da.from_array(w, chunks=2), axis=axis),
            csoftmax.mixture_softmax(da.from_array(x, chunks=chunks), da.from_array(w, chunks=2),
                                     axis=axis)]
    assert all(isinstance(v, da.Array) for v in lazy)
    want = csoftmax.mixture_softmax(x, w, axis=axis)
    for got in compute(scheduler, *lazy):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_mixture_softmax_errors():
    x = da.zeros((4, 3, 5), chunks=(2, 3, 2))
    with pytest.raises(NotImplementedError, match=r"needs the class axis \(axis 2\) in one "
                                                  r"chunk, got chunks \(2, 2, 1\)"):
        csoftmax.mixture_softmax(x, np.zeros(3))
    with pytest.raises(NotImplementedError, match=r"needs the component axis \(axis 1\)"):
        csoftmax.mixture_softmax(da.zeros((4, 3, 5), chunks=(2, 2, 5)), np.zeros(3))
    with pytest.raises(ValueError, match=r"mix_logits has shape \(4,\), which does not "
                                         r"broadcast"):
        csoftmax.mixture_softmax(x, np.zeros(4))
    with pytest.raises(ValueError, match="at least two dimensions"):
        csoftmax.mixture_softmax(da.zeros(5, chunks=2), np.zeros(1))
    with pytest.raises(TypeError, match="complex"):
        csoftmax.mixture_softmax(x, np.zeros(3, dtype=np.complex64))
