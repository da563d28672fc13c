"""csoftmax losses without PyTorch: finite-difference gradients, semantics,
errors, dtypes, layouts and ISA agreement.

Finite differences: central differences of the float64 loss with step 1e-6;
the analytic gradient must agree to 1e-6 relative to the largest gradient
entry (the truncation + rounding error of the difference is ~1e-9).
"""
import itertools
import math

import numpy as np
import pytest

import csoftmax
from csoftmax import _kernels, _losses, reference
from conftest import ISAS, general_targets

FD_STEP = 1e-6
FD_TOL = 1e-6


def _fd_grad(f, x):
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + FD_STEP
        up = float(np.sum(f(x)))
        flat[i] = keep - FD_STEP
        down = float(np.sum(f(x)))
        flat[i] = keep
        gflat[i] = (up - down) / (2 * FD_STEP)
    return g


def _assert_fd(analytic, numeric):
    scale = max(float(np.max(np.abs(numeric))), 1e-12)
    err = float(np.max(np.abs(analytic - numeric))) / scale
    assert err <= FD_TOL, err


@pytest.mark.parametrize("use_weight,ignore,smoothing,reduction,temperature,probabilities",
                         [c for c in itertools.product([False, True], [False, True],
                                                       [0.0, 0.3], ["mean", "sum", "none"],
                                                       [1.0, 0.6], [False, True])
                          if not (c[5] and c[1])])
def test_cross_entropy_gradient_fd(rng, use_weight, ignore, smoothing, reduction, temperature,
                                   probabilities):
    x = rng.standard_normal((5, 6)) * 2
    if probabilities:
        target = rng.random((5, 6))
        target /= target.sum(axis=1, keepdims=True)
    else:
        target = rng.integers(0, 6, 5)
        if ignore:
            target[1] = -100
    weight = rng.uniform(0.2, 2.0, 6) if use_weight else None
    opts = dict(weight=weight, label_smoothing=smoothing, reduction=reduction,
                temperature=temperature)
    _, grad = csoftmax.cross_entropy_with_grad(x, target, **opts)
    numeric = _fd_grad(lambda z: csoftmax.cross_entropy(z, target, **opts), x.copy())
    _assert_fd(grad, numeric)
    if ignore:
        assert np.array_equal(grad[1], np.zeros(6))


@pytest.mark.parametrize("weight_kind,pos,reduction", list(itertools.product(
    [None, "full", "col"], [False, True], ["mean", "sum", "none"])))
def test_binary_cross_entropy_gradient_fd(rng, weight_kind, pos, reduction):
    x = rng.standard_normal((4, 5)) * 3
    y = rng.random((4, 5))
    w = {None: None, "full": rng.uniform(0, 2, (4, 5)), "col": rng.uniform(0, 2, 5)}[weight_kind]
    p = rng.uniform(0.5, 3, 5) if pos else None
    opts = dict(weight=w, pos_weight=p, reduction=reduction)
    _, grad = csoftmax.binary_cross_entropy_with_grad(x, y, **opts)
    numeric = _fd_grad(lambda z: csoftmax.binary_cross_entropy(z, y, **opts), x.copy())
    _assert_fd(grad, numeric)


BCE_FAST_CODES = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM,
                  "none": _kernels.XENT_NONE}


def _strided_copy(a):
    """A non-contiguous view holding a's values (the fast path declines it)."""
    return np.stack([a, a], axis=-1)[..., 0]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(10,), (1, 10), (33, 3), (3, 4, 5), (7, 1000), (1000, 3),
                                   (1024, 2), (2, 1024)],
                         ids=lambda s: "x".join(map(str, s)))
def test_bce_fast_path_matches_general_path(shape, dtype, reduction, isa, rng):
    """The small-batch fast path of binary cross-entropy (arrays of one float
    dtype and shape, no weight) gives what the general path gives on the same
    values: the same elementwise losses and gradient, the same result types,
    the same reduced losses bit for bit (both sum the row sums with
    _kernels.loss_total; the general path's np.sum differed by an ulp before
    2026-12-02); the public functions take it."""
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = rng.random(shape).astype(dtype)
    y.reshape(-1)[::3] = np.round(y.reshape(-1)[::3])  # hard labels too
    code = BCE_FAST_CODES[reduction]
    fast_loss, fast_grad = _kernels.binary_cross_entropy_fast(x, y, code, True)
    fast_only = _kernels.binary_cross_entropy_fast(x, y, code, False)
    assert _kernels.binary_cross_entropy_fast(x, _strided_copy(y), code, True) is None
    loss, grad = csoftmax.binary_cross_entropy_with_grad(x, _strided_copy(y), reduction=reduction)
    assert type(fast_loss) is type(loss) and type(fast_only) is type(loss)
    assert np.asarray(fast_loss).dtype == dtype and fast_grad.dtype == dtype
    assert fast_grad.shape == shape
    np.testing.assert_array_equal(fast_grad, grad)
    if reduction != "none":  # partial sums of rows or of runs (bce_sum_rows): compensated
        each = csoftmax.binary_cross_entropy(x, y, reduction="none").astype(np.float64)
        exact = math.fsum(each.reshape(-1)) / (each.size if reduction == "mean" else 1)
        assert float(fast_loss) == pytest.approx(exact, rel=float(np.finfo(dtype).eps), abs=0)
    if reduction == "none":
        assert fast_loss.shape == shape
        np.testing.assert_array_equal(fast_loss, loss)
        np.testing.assert_array_equal(fast_only, loss)
    else:
        assert fast_loss.tobytes() == loss.tobytes(), (fast_loss, loss)
        assert fast_only == fast_loss
    public = csoftmax.binary_cross_entropy_with_grad(x, y, reduction=reduction)
    np.testing.assert_array_equal(public[1], fast_grad)
    np.testing.assert_array_equal(public[0], fast_loss)
    np.testing.assert_array_equal(csoftmax.binary_cross_entropy(x, y, reduction=reduction),
                                  fast_only)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("cols", [1, 2, 3, 7, 16, 17, 32, 33, 100, 256, 257, 511, 512, 513])
def test_bce_short_rows_grouped_as_row_by_row(cols, dtype, isa):
    """Short rows go through the binary cross-entropy kernel a group at a
    time (up to 1,024 elements as one run, when every operand's rows follow
    one another): elementwise losses and gradients bit for bit those of each
    row alone (one row: row by row); the per-row sums within an ulp of
    math.fsum of the stored losses for float64, and for float32 bit for bit
    the same whether taken alone, grouped, or without the elementwise losses
    (the same additions in double, in the same order; the portable kernels
    add the losses before their rounding to float32: within 2^-23 there);
    weights and positive weights elementwise, scalar, per row and per column
    (the last two taken row by row)."""
    rows = 37
    rng = np.random.default_rng(cols)
    x = (rng.standard_normal((rows, cols)) * 5).astype(dtype)
    x.flat[3::29] = np.resize([np.inf, -np.inf, 40.0, -0.0], x.flat[3::29].shape)
    y = rng.random((rows, cols)).astype(dtype)
    full = rng.uniform(0.2, 2.0, (rows, cols)).astype(dtype)
    kinds = {
        "none": None,
        "elementwise": full,
        "scalar": np.broadcast_to(full[:1, :1], (rows, cols)),
        "per row": np.broadcast_to(full[:, :1], (rows, cols)),
        "per column": np.broadcast_to(full[:1], (rows, cols)),
    }

    def run(r0, r1, w, p, want):
        loss = np.full((r1 - r0, cols), np.nan, dtype) if "loss" in want else None
        sums = np.full(r1 - r0, np.nan) if "sums" in want else None
        grad = np.full((r1 - r0, cols), np.nan, dtype) if "grad" in want else None
        _kernels.bce_2d(x[r0:r1], y[r0:r1], None if w is None else w[r0:r1],
                        None if p is None else p[r0:r1], loss, sums, grad, 0.5)
        return loss, sums, grad

    for (wk, w), (pk, p) in itertools.product(kinds.items(), [("none", None),
                                                              ("elementwise", full[::-1].copy())]):
        tag = str((wk, pk))
        loss, sums, grad = run(0, rows, w, p, ("loss", "sums", "grad"))
        only_sums = run(0, rows, w, p, ("sums",))[1]
        only_grad = run(0, rows, w, p, ("grad",))[2]
        np.testing.assert_array_equal(only_grad, grad, err_msg=tag)
        exact = np.array([math.fsum(r) for r in loss.astype(np.float64)])
        simd32 = dtype == np.float32 and isa != "scalar"
        rtol = 2.3e-16 if dtype == np.float64 else 2.3e-16 if simd32 else 2.0 ** -23
        for got in (sums, only_sums):
            np.testing.assert_allclose(got, exact, rtol=rtol, atol=0, err_msg=tag)
        if simd32:
            np.testing.assert_array_equal(only_sums, sums, err_msg=tag)
        for r in range(rows):
            l1, s1, g1 = run(r, r + 1, w, p, ("loss", "sums", "grad"))
            np.testing.assert_array_equal(l1[0], loss[r], err_msg=tag)
            np.testing.assert_array_equal(g1[0], grad[r], err_msg=tag)
            assert s1[0] == pytest.approx(exact[r], rel=rtol, abs=0), (tag, r)
            if simd32:
                assert s1[0] == sums[r], (tag, r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(16389, 3), (2, 8200, 10), (16384, 17), (7, 5, 33)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("kind", ["per column", "scalar", "per row", "elementwise"])
def test_bce_weighted_reductions_sum_runs_of_rows(shape, dtype, kind, isa):
    """Weighted binary cross-entropy reductions whose weights are the same in
    every row (per column, or one value) add partial sums over runs of whole
    rows, the weights repeated over each run (csoftmax._losses._bce_runs;
    from _BCE_RUNS_MIN_ROWS rows on); other weights, row by row. Either way: the reduced loss within an ulp of
    math.fsum of the elementwise losses, and the gradient bit for bit the one
    taken row by row."""
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = rng.random(shape).astype(dtype)
    cols = shape[-1]
    weights = {"per column": rng.uniform(0.5, 2.0, cols), "scalar": np.float64(1.7),
               "per row": rng.uniform(0.5, 2.0, shape[:-1] + (1,)),
               "elementwise": rng.uniform(0.5, 2.0, shape)}
    w = np.asarray(weights[kind]).astype(dtype)
    p = rng.uniform(0.5, 2.0, cols).astype(dtype)
    each = csoftmax.binary_cross_entropy(x, y, weight=w, pos_weight=p, reduction="none")
    exact = math.fsum(each.astype(np.float64).reshape(-1))
    eps = float(np.finfo(dtype).eps)
    for reduction, divide in (("sum", 1), ("mean", x.size)):
        loss, grad = csoftmax.binary_cross_entropy_with_grad(x, y, weight=w, pos_weight=p,
                                                             reduction=reduction)
        assert float(loss) == pytest.approx(exact / divide, rel=eps, abs=0), reduction
        _, row_by_row = _losses._bce_arrays(x, y, w, p, 1.0 / divide, False, True)
        assert grad.shape == shape
        np.testing.assert_array_equal(grad, row_by_row, err_msg=reduction)


def test_bce_fast_path_declines_what_it_does_not_handle(rng):
    """None (the general path then runs) outside the fast path's case; the
    general path still answers those calls and raises their errors."""
    x = rng.standard_normal((4, 5))
    y = rng.random((4, 5))
    mean = _kernels.XENT_MEAN
    assert _kernels.binary_cross_entropy_fast(x, y, mean, True) is not None
    declined = [
        (x.astype(np.float16), y.astype(np.float16)), (x.astype(np.float32), y),
        (x, y.astype(np.float32)), (x, (y > 0.5).astype(np.int64)), (x[:, ::2], y[:, ::2]),
        (np.asfortranarray(x), y), (x, y[:3]), (x, y.reshape(5, 4)), (x, y.reshape(20)),
        (x[:0], y[:0]), (np.float64(0.5), np.float64(1.0)), (x.tolist(), y), (x, y.tolist()),
        (x.astype(x.dtype.newbyteorder()), y),
    ]
    for logits, target in declined:
        assert _kernels.binary_cross_entropy_fast(logits, target, mean, True) is None
    with pytest.raises(ValueError, match="reduction code"):
        _kernels.binary_cross_entropy_fast(x, y, 7, True)
    # the general path answers the declined calls as before
    x32 = x.astype(np.float32)
    mixed = csoftmax.binary_cross_entropy(x32, y)  # the logits' dtype, y rounded to it
    fast32 = _kernels.binary_cross_entropy_fast(x32, y.astype(np.float32), mean, False)
    assert mixed.dtype == np.float32 and abs(mixed - fast32) <= 2 * np.spacing(fast32)
    assert np.isnan(csoftmax.binary_cross_entropy(x[:0], y[:0]))
    assert csoftmax.binary_cross_entropy(x[:0], y[:0], reduction="sum") == 0
    with pytest.raises(ValueError, match="target has shape"):
        csoftmax.binary_cross_entropy(x, y[:3])
    with pytest.raises(ValueError, match="reduction"):
        csoftmax.binary_cross_entropy(x, y, reduction="avg")


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape,axis", [((3, 7), -1), ((4, 3, 2), 1), ((1, 40), -1)])
def test_backward_passes_fd(rng, log, shape, axis):
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    forward = csoftmax.log_softmax if log else csoftmax.softmax
    backward = csoftmax.log_softmax_backward if log else csoftmax.softmax_backward
    got = backward(g, forward(x, axis=axis), axis=axis)
    numeric = _fd_grad(lambda z: g * forward(z, axis=axis), x.copy())
    _assert_fd(got, numeric)


BACKWARD = {"softmax_backward": (csoftmax.softmax_backward, csoftmax.softmax),
            "log_softmax_backward": (csoftmax.log_softmax_backward, csoftmax.log_softmax)}


@pytest.mark.parametrize("name", sorted(BACKWARD))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cols", [3, 4, 8, 10, 15, 16, 17, 24, 31, 32, 48, 63, 64, 65])
def test_backward_short_rows_together_equal_rows_alone(isa, rng, name, dtype, cols):
    """Short rows in the tiny tiles (an instance per column count; float32
    rows of 16 columns row by row on AVX2) and beyond them (float64 on AVX2:
    four rows a group, their sums reduced across lanes together): every row of a batch (a
    partial last group, strided rows) is bitwise the row alone, and each
    output is within 8 u x its condition of the long-double formula, with
    the row's sum made to cancel (a term dropped, or taken from another row
    or lane, is off by far more)."""
    backward, forward = BACKWARD[name]
    rows = 11
    y = forward(rng.standard_normal((rows, 2 * cols)).astype(dtype))[:, ::2]
    g = rng.standard_normal((rows, 2 * cols)).astype(dtype)[:, ::2]
    # the first term cancels the rest of the row's sum (of g y, or of g)
    weight = np.ones_like(y) if name == "log_softmax_backward" else y
    rest = np.sum(g[:, 1:].astype(np.longdouble) * weight[:, 1:], axis=1)
    g[:, 0] = -rest / weight[:, 0]
    out = backward(g, y)
    for r in range(rows):
        alone = backward(g[r:r + 1], y[r:r + 1])[0]
        assert alone.tobytes() == out[r].tobytes(), r
    gl, yl = g.astype(np.longdouble), y.astype(np.longdouble)
    u = np.longdouble(np.finfo(dtype).eps) / 2
    if name == "log_softmax_backward":
        p = np.exp(yl)
        ref = gl - p * np.sum(gl, axis=1, keepdims=True)
        condition = u * (np.abs(gl) + p * np.sum(np.abs(gl), axis=1, keepdims=True))
    else:
        ref = yl * (gl - np.sum(gl * yl, axis=1, keepdims=True))
        condition = u * yl * (np.abs(gl) + np.sum(np.abs(gl * yl), axis=1, keepdims=True))
    worst = float(np.max(np.abs(out - ref) / condition))
    assert worst <= 8, worst


@pytest.mark.parametrize("name", sorted(BACKWARD))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 3), (50, 10), (33, 64), (20, 128), (9, 1000),
                                   (3, 3001), (2, 40000)], ids=lambda s: "x".join(map(str, s)))
def test_backward_out_and_in_place(isa, rng, name, dtype, shape):
    """out= on every kernel path (tiles of tiny and short rows, mid rows, rows
    whose output pass runs inside the next row's sum): the same bits as a
    new array, into out, into grad_output and into output (in place)."""
    backward, forward = BACKWARD[name]
    g = rng.standard_normal(shape).astype(dtype)
    y = forward(rng.standard_normal(shape).astype(dtype))
    want = backward(g, y)
    out = np.full(shape, np.nan, dtype=dtype)
    assert backward(g, y, out=out) is out
    assert out.tobytes() == want.tobytes()
    g_in, y_in = g.copy(), y.copy()
    assert backward(g_in, y, out=g_in) is g_in
    assert g_in.tobytes() == want.tobytes()
    assert backward(g, y_in, out=y_in) is y_in
    assert y_in.tobytes() == want.tobytes()


@pytest.mark.parametrize("name", sorted(BACKWARD))
def test_backward_out_layouts_and_casting(rng, name):
    backward, forward = BACKWARD[name]
    g = rng.standard_normal((4, 6, 5))
    y = forward(rng.standard_normal((4, 6, 5)), axis=1)
    want = backward(g, y, axis=1)
    out = np.empty((5, 6, 4)).transpose()  # Fortran order
    assert backward(g, y, axis=1, out=out) is out
    assert np.array_equal(out, want)
    half = np.empty(g.shape, dtype=np.float16)  # float64 result, same_kind cast
    assert backward(g, y, axis=1, out=half) is half
    assert np.array_equal(half, want.astype(np.float16))
    # out overlapping grad_output one element off: through a new array
    buffer = np.zeros(g.size + 1)
    g_view = buffer[1:].reshape(g.shape)
    g_view[...] = g
    out_view = buffer[:-1].reshape(g.shape)
    assert backward(g_view, y, axis=1, out=out_view) is out_view
    assert np.array_equal(out_view, want)
    # an empty array
    empty = np.empty((0, 3))
    assert backward(np.ones((0, 3)), np.ones((0, 3)), out=empty) is empty


@pytest.mark.parametrize("name", sorted(BACKWARD))
@pytest.mark.parametrize("out,exc,match", [
    (np.empty((3, 5)), ValueError, r"out has shape \(3, 5\), expected \(3, 4\)"),
    (np.empty((3, 4), dtype=np.int64), TypeError, "out has dtype int64"),
    ([[0.0] * 4] * 3, TypeError, "out must be a numpy.ndarray, got list"),
])
def test_backward_out_errors(rng, name, out, exc, match):
    backward, _ = BACKWARD[name]
    g, y = rng.standard_normal((3, 4)), rng.random((3, 4))
    with pytest.raises(exc, match=match):
        backward(g, y, out=out)
    read_only = np.zeros((3, 4))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        backward(g, y, out=read_only)
    # an error in the other arguments leaves out as it was
    out = np.full((3, 4), 7.0)
    with pytest.raises(ValueError, match="grad_output has shape"):
        backward(g[:, :3], y, out=out)
    with pytest.raises(np.exceptions.AxisError):
        backward(g, y, axis=2, out=out)
    assert (out == 7.0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 3), (50, 10), (33, 64), (20, 128), (9, 1000),
                                   (2, 40000)], ids=lambda s: "x".join(map(str, s)))
def test_cross_entropy_out(isa, rng, dtype, shape):
    """The gradient into out= (every kernel path and option): the same bits
    as a new array; out may be the logits themselves (through a copy)."""
    rows, cols = shape
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, cols, rows)
    t[::4] = -100
    q = rng.random(shape).astype(dtype)
    q /= q.sum(axis=1, keepdims=True)
    w = rng.uniform(0.5, 2.0, cols).astype(dtype)
    for target, kw in [(t, {}), (t, {"weight": w, "ignore_index": -100}),
                       (t, {"label_smoothing": 0.1, "reduction": "none"}),
                       (t, {"temperature": 0.5, "reduction": "sum"}), (q, {})]:
        loss, grad = csoftmax.cross_entropy_with_grad(x, target, **kw)
        out = np.full(shape, np.nan, dtype=dtype)
        loss_out, grad_out = csoftmax.cross_entropy_with_grad(x, target, out=out, **kw)
        assert grad_out is out and out.tobytes() == grad.tobytes(), kw
        assert np.asarray(loss_out).tobytes() == np.asarray(loss).tobytes(), kw
        logits = x.copy()
        loss_in, grad_in = csoftmax.cross_entropy_with_grad(logits, target, out=logits, **kw)
        assert grad_in is logits and logits.tobytes() == grad.tobytes(), kw
        assert np.asarray(loss_in).tobytes() == np.asarray(loss).tobytes(), kw


def test_cross_entropy_out_layouts_and_errors(rng):
    x = rng.standard_normal((4, 5, 3))  # classes on axis 1
    t = rng.integers(0, 5, (4, 3))
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, axis=1)
    out = np.empty((3, 5, 4)).transpose()
    assert csoftmax.cross_entropy_with_grad(x, t, axis=1, out=out)[1] is out
    assert np.array_equal(out, grad)
    half = np.empty(x.shape, dtype=np.float16)
    assert csoftmax.cross_entropy_with_grad(x, t, axis=1, out=half)[1] is half
    assert np.array_equal(half, grad.astype(np.float16))
    x2, t2 = x[:, :, 0], t[:, 0]
    for bad, exc, match in [(np.empty((4, 4)), ValueError, r"out has shape \(4, 4\)"),
                            (np.empty((4, 5), dtype=np.int32), TypeError, "out has dtype int32"),
                            ([[0.0] * 5] * 4, TypeError, "out must be a numpy.ndarray")]:
        with pytest.raises(exc, match=match):
            csoftmax.cross_entropy_with_grad(x2, t2, out=bad)
    # errors in the other arguments leave out as it was
    out = np.full((4, 5), 7.0)
    with pytest.raises(IndexError):
        csoftmax.cross_entropy_with_grad(x2, t2 + 5, out=out)
    with pytest.raises(ValueError, match="label_smoothing"):
        csoftmax.cross_entropy_with_grad(x2, t2, label_smoothing=2.0, out=out)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        csoftmax.cross_entropy_with_grad(x2, t2, out=out)
    out.flags.writeable = True
    assert (out == 7.0).all()


def test_sigmoid_derivative_fd(rng):
    x = rng.standard_normal(50) * 5
    s = csoftmax.sigmoid(x)
    numeric = (csoftmax.sigmoid(x + FD_STEP) - csoftmax.sigmoid(x - FD_STEP)) / (2 * FD_STEP)
    _assert_fd(s * (1 - s), numeric)
    numeric = (csoftmax.log_sigmoid(x + FD_STEP) - csoftmax.log_sigmoid(x - FD_STEP)) / (2 * FD_STEP)
    _assert_fd(1 - s, numeric)


# ---------------------------------------------------------------------------
# semantics checked against formulas written independently in NumPy (float64)


def _np_log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-13)])
def test_cross_entropy_formula(isa, rng, dtype, tol):
    x = (rng.standard_normal((40, 11)) * 4).astype(dtype)
    t = rng.integers(0, 11, 40)
    t[::7] = 5000  # used as ignore_index below
    w = rng.uniform(0.1, 3, 11).astype(dtype)
    e, temp = 0.2, 1.7
    loss = csoftmax.cross_entropy(x, t, weight=w, ignore_index=5000, label_smoothing=e,
                                  temperature=temp, reduction="none")
    lp = _np_log_softmax(x.astype(np.float64) / temp)
    kept = t != 5000
    tk = np.where(kept, t, 0)
    expected = ((1 - e) * w[tk] * -lp[np.arange(40), tk]
                + e / 11 * -(lp * w.astype(np.float64)).sum(axis=1)) * kept
    assert np.max(np.abs(loss - expected)) <= tol * np.max(np.abs(expected))
    mean = csoftmax.cross_entropy(x, t, weight=w, ignore_index=5000, label_smoothing=e,
                                  temperature=temp)
    assert abs(mean - expected.sum() / w[t[kept]].astype(np.float64).sum()) <= tol * abs(mean)


def test_all_ignored_is_nan_and_zero_gradient():
    loss, grad = csoftmax.cross_entropy_with_grad(np.ones((2, 3)), [-100, -100])
    assert np.isnan(loss)
    assert np.array_equal(grad, np.zeros((2, 3)))
    assert np.isnan(csoftmax.nll_loss(np.zeros((2, 3)), [-100, -100]))
    assert csoftmax.cross_entropy(np.ones((2, 3)), [-100, -100], reduction="sum") == 0


@pytest.mark.filterwarnings("error")
def test_reduced_loss_edges_without_warnings():
    """A loss beyond the result dtype's range is inf (float16 logits, float32
    compute), a mean over a zero weight sum is NaN (0 / 0) or an infinity
    (weights of both signs), all without a RuntimeWarning."""
    x = np.array([[65504.0, -65504.0]] * 2, dtype=np.float16)
    for reduction in ("none", "sum", "mean"):
        loss = csoftmax.cross_entropy(x, [1, 1], reduction=reduction)
        assert np.asarray(loss).dtype == np.float16
        assert np.all(np.asarray(loss) == np.inf), reduction
    assert csoftmax.cross_entropy(x, [0, 0], reduction="sum") == 0
    w = np.array([1.0, -1.0])
    logits = np.array([[0.0, 1.0], [0.0, 1.0]])
    mean = csoftmax.cross_entropy(logits, [0, 1], weight=w)
    per_row = csoftmax.cross_entropy(logits, [0, 1], weight=w, reduction="none")
    assert per_row.sum() != 0 and mean == np.copysign(np.inf, per_row.sum())
    assert np.isnan(csoftmax.cross_entropy(logits, [0, 0], weight=np.array([0.0, 1.0])))


def test_zero_probability_of_minus_inf_logit_contributes_zero():
    x = np.array([[0.0, -np.inf, 1.0]])
    q = np.array([[0.5, 0.0, 0.5]])
    loss, grad = csoftmax.cross_entropy_with_grad(x, q)
    expected = -(0.5 * _np_log_softmax(np.array([[0.0, 1.0]]))).sum()
    assert np.isfinite(loss) and abs(loss - expected) <= 1e-15
    assert grad[0, 1] == 0
    # a positive target probability on a -inf logit is a genuinely infinite loss
    assert csoftmax.cross_entropy(x, [[0.4, 0.2, 0.4]]) == np.inf
    assert csoftmax.cross_entropy(x, [1]) == np.inf


def test_zero_weight_drops_infinities_but_not_nan():
    """A zero class weight at a target whose log-probability is -inf gives 0
    (0 log 0); at a NaN it stays NaN (PyTorch: NaN both), as cross_entropy
    keeps a NaN row NaN whatever the weights. Likewise binary cross-entropy's
    element weight: 0 at an infinite logit, NaN at a NaN logit or target."""
    w = np.array([0.0, 1.0, 1.0])
    lp = np.array([[-np.inf, -1.0, -2.0], [np.nan, -1.0, -2.0], [-0.5, -1.0, -2.0]])
    loss = csoftmax.nll_loss(lp, [0, 0, 1], weight=w, reduction="none")
    assert loss[0] == 0.0 and np.isnan(loss[1]) and loss[2] == 1.0
    assert np.isnan(csoftmax.nll_loss(lp, [0, 0, 1], weight=w))
    x = np.array([[np.nan, 1.0, np.inf, -np.inf, 0.5]] * 2)
    y = np.array([[0.0, 1.0, 0.0, 1.0, np.nan]] * 2)
    bw = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
    for dtype in (np.float32, np.float64):
        for cols in (5, 40):  # one partial vector; several, on the SIMD kernels
            xs = np.tile(x, (1, 8))[:, :cols].astype(dtype)
            ys = np.tile(y, (1, 8))[:, :cols].astype(dtype)
            ws = np.tile(bw, 8)[:cols].astype(dtype)
            el, grad = csoftmax.binary_cross_entropy_with_grad(xs, ys, weight=ws, reduction="none")
            el2 = csoftmax.binary_cross_entropy(xs, ys, weight=ws, reduction="none")
            nan = np.isnan(xs) | np.isnan(ys)
            assert np.array_equal(np.isnan(el), nan) and np.array_equal(np.isnan(el2), nan)
            assert np.all(el[(ws == 0) & ~nan] == 0)
            assert np.array_equal(np.isnan(grad), nan)
            assert np.isnan(csoftmax.binary_cross_entropy(xs, ys, weight=ws))


def test_nll_loss_matches_cross_entropy(rng):
    x = rng.standard_normal((9, 4))
    t = rng.integers(0, 4, 9)
    w = rng.uniform(0.5, 2, 4)
    lp = csoftmax.log_softmax(x)
    for reduction in ("mean", "sum", "none"):
        a = csoftmax.nll_loss(lp, t, weight=w, reduction=reduction)
        b = csoftmax.cross_entropy(x, t, weight=w, reduction=reduction)
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_axis_and_layouts_agree(rng):
    x = rng.standard_normal((3, 5, 4))
    t = rng.integers(0, 5, (3, 4))
    loss1, grad1 = csoftmax.cross_entropy_with_grad(x, t, axis=1, reduction="none",
                                                    label_smoothing=0.1)
    xm = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    loss2, grad2 = csoftmax.cross_entropy_with_grad(xm, t, reduction="none", label_smoothing=0.1)
    np.testing.assert_allclose(loss1, loss2, rtol=1e-14)
    np.testing.assert_allclose(grad1, np.moveaxis(grad2, -1, 1), rtol=1e-14)
    # a sliced (row-strided) input gives the same as its copy
    big = rng.standard_normal((10, 12))
    view = big[::2, :7]
    tv = rng.integers(0, 7, 5)
    a = csoftmax.cross_entropy_with_grad(view, tv, weight=np.arange(1.0, 8.0))
    b = csoftmax.cross_entropy_with_grad(view.copy(), tv, weight=np.arange(1.0, 8.0))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("name", ["xent", "xent_prob", "bce", "sigmoid", "log_sigmoid",
                                  "softmax_backward", "log_softmax_backward"])
@pytest.mark.parametrize("cols", [1, 3, 7, 8, 9, 16, 17, 37, 1030])
def test_isas_agree(rng, name, cols):
    """Every ISA gives the default ISA's result to a few ulps (float32), for
    rows shorter than a vector, with a tail, and longer than a block."""
    x = (rng.standard_normal((33, cols)) * 5).astype(np.float32)
    y = rng.random((33, cols)).astype(np.float32)
    t = rng.integers(0, cols, 33)
    w = rng.uniform(0.1, 2.0, cols).astype(np.float32)
    sm, lsm = csoftmax.softmax(x), csoftmax.log_softmax(x)
    calls = {
        "xent": lambda: np.concatenate([
            csoftmax.cross_entropy_with_grad(x, t, label_smoothing=0.1, weight=w,
                                             temperature=0.7, reduction="none")[1],
            csoftmax.cross_entropy_with_grad(x, t, label_smoothing=0.1, reduction="none")[1],
            csoftmax.cross_entropy(x, t, weight=w, reduction="none")[:, None]], axis=1),
        "xent_prob": lambda: np.concatenate([
            csoftmax.cross_entropy_with_grad(x, y / y.sum(1, keepdims=True), weight=w,
                                             label_smoothing=0.2, reduction="none")[1],
            csoftmax.cross_entropy(x, y / y.sum(1, keepdims=True), reduction="none")[:, None]],
            axis=1),
        "bce": lambda: np.concatenate([
            csoftmax.binary_cross_entropy_with_grad(x, y, reduction="sum")[1],
            csoftmax.binary_cross_entropy_with_grad(x, y, weight=w, pos_weight=w[::-1].copy(),
                                                    reduction="none")[1],
            csoftmax.binary_cross_entropy(x, y, reduction="none")], axis=1),
        "sigmoid": lambda: csoftmax.sigmoid(x),
        "log_sigmoid": lambda: csoftmax.log_sigmoid(x),
        # the same forward output for every ISA: only the backward kernel varies
        "softmax_backward": lambda: csoftmax.softmax_backward(y, sm),
        "log_softmax_backward": lambda: csoftmax.log_softmax_backward(y, lsm),
    }
    previous = _kernels.get_isa()
    results = {}
    try:
        for level in _kernels.available_isas():
            _kernels.set_isa(level)
            results[level] = calls[name]().astype(np.float64)
    finally:
        _kernels.set_isa(previous)
    ref = results[previous]
    for level, got in results.items():
        # (one column: every gradient is exactly zero)
        err = np.max(np.abs(got - ref)) / (np.max(np.abs(ref)) or 1.0)
        assert err <= 8 * np.finfo(np.float32).eps, (level, err)


@pytest.mark.parametrize("dtype,result", [(np.float16, np.float16), (np.int32, np.float64),
                                          (np.float32, np.float32)])
def test_dtype_policy(dtype, result):
    x = np.array([[1, 3, 2], [0, 1, 0]], dtype=dtype)
    loss, grad = csoftmax.cross_entropy_with_grad(x, [1, 2])
    assert np.asarray(loss).dtype == result and grad.dtype == result
    l2, g2 = csoftmax.binary_cross_entropy_with_grad(x, np.ones(x.shape))
    assert np.asarray(l2).dtype == result and g2.dtype == result
    assert csoftmax.sigmoid(x).dtype == result


def test_inputs_not_modified(rng):
    x = rng.standard_normal((6, 5))
    q = rng.random((6, 5))
    w = rng.random(5)
    copies = [a.copy() for a in (x, q, w)]
    csoftmax.cross_entropy_with_grad(x, q, weight=w, label_smoothing=0.2)
    csoftmax.binary_cross_entropy_with_grad(x, q, weight=w, pos_weight=w)
    csoftmax.softmax_backward(q, x)
    for a, b in zip((x, q, w), copies):
        assert np.array_equal(a, b)


def test_sigmoid_extremes_and_out():
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4])
    assert np.array_equal(csoftmax.sigmoid(x)[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(csoftmax.log_sigmoid(x)[:2], [-1e4, -100.0], rtol=1e-15)
    out = np.empty(5)
    assert csoftmax.sigmoid(x, out=out) is out
    assert float(csoftmax.sigmoid(0.0)) == 0.5


@pytest.mark.parametrize("call,exc,match", [
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], label_smoothing=1.5), ValueError,
     "label_smoothing"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], label_smoothing=-0.1), ValueError,
     "label_smoothing"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], temperature=0.0), ValueError,
     "temperature"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], temperature=np.inf), ValueError,
     "temperature"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [2]), IndexError, r"target\[0\] = 2"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [-1]), IndexError, "ignore_index"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], weight=[1.0]), ValueError, "weight"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [[0.5, 0.5]], ignore_index=1), ValueError,
     "ignore_index"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [[0.5, 0.5, 0.0]]), ValueError, "shape"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], reduction="avg"), ValueError,
     "reduction"),
    (lambda: csoftmax.nll_loss([[1.0, 2.0]], [0.5]), TypeError, "integer"),
    (lambda: csoftmax.softmax_backward(np.ones(3), np.ones(4)), ValueError, "grad_output"),
    (lambda: csoftmax.binary_cross_entropy([1.0, 2.0], [1.0]), ValueError, "target"),
    (lambda: csoftmax.binary_cross_entropy([1.0, 2.0], [1.0, 0.0], weight=[1.0, 2.0, 3.0]),
     ValueError, "weight"),
    (lambda: csoftmax.binary_cross_entropy([1.0, 2.0], [1.0, 0.0], reduction="max"), ValueError,
     "reduction"),
    (lambda: csoftmax.sigmoid(np.ones(2, dtype=complex)), TypeError, "complex"),
    # checked as softmax checks them (these were accepted, or failed in the kernel)
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], temperature=1e-320), ValueError,
     r"temperature=1e-320 is too small: 1 / temperature overflows float64"),
    (lambda: csoftmax.cross_entropy_with_grad([[1.0, 2.0]], [0], temperature=True), TypeError,
     "temperature must be a real number, got True"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], temperature="2"), TypeError,
     "temperature must be a real number, got '2'"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], temperature=np.array(2.0)), TypeError,
     "temperature must be a real number"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], label_smoothing=True), TypeError,
     "label_smoothing must be a real number, got True"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], label_smoothing="0.1"), TypeError,
     "label_smoothing must be a real number, got '0.1'"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], ignore_index=2**70), ValueError,
     r"ignore_index=1180591620717411303424 is outside the int64 range"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], ignore_index=2**70, label_smoothing=0.1),
     ValueError, "ignore_index=.* is outside the int64 range"),
    (lambda: csoftmax.nll_loss([[1.0, 2.0]], [0], ignore_index=-2**63 - 1), ValueError,
     "ignore_index=.* is outside the int64 range"),
    (lambda: csoftmax.cross_entropy([[1.0, 2.0]], [0], ignore_index=True), TypeError,
     "ignore_index must be an integer, got True"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_numpy_scalar_options_are_accepted():
    x = np.array([[1.0, 2.0, 0.5]])
    want = csoftmax.cross_entropy(x, [1], temperature=2.0, label_smoothing=0.25, ignore_index=7)
    got = csoftmax.cross_entropy(x, [1], temperature=np.float32(2.0),
                                 label_smoothing=np.float64(0.25), ignore_index=np.int16(7))
    assert got == want


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignore_index_inside_the_class_range(rng, reduction):
    """An ignore_index that is also a valid class (here 2) drops the rows that
    hold it, even though every target passes the range check."""
    x = rng.standard_normal((6, 4))
    t = np.array([0, 2, 1, 2, 3, 1])
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, ignore_index=2, reduction=reduction)
    kept = t != 2
    want_loss, want_grad = reference.cross_entropy_with_grad(x[kept], t[kept], reduction=reduction)
    if reduction == "none":
        np.testing.assert_allclose(loss[kept], want_loss, rtol=1e-14)
        assert np.array_equal(loss[~kept], np.zeros(2))
    else:
        np.testing.assert_allclose(loss, want_loss, rtol=1e-14)
    np.testing.assert_allclose(grad[kept], want_grad, rtol=1e-13, atol=1e-16)
    assert np.array_equal(grad[~kept], np.zeros((2, 4)))
    nll = csoftmax.nll_loss(csoftmax.log_softmax(x), t, ignore_index=2, reduction=reduction)
    np.testing.assert_allclose(nll, loss, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("cols", [7, 37, 3001])
def test_loss_same_with_or_without_gradient(isa, rng, dtype, cols):
    """The loss alone and the loss beside its gradient come from different
    passes of the kernels (probability targets take sum(a z) in the gradient
    pass when there is one, src_c/simd_losses_body.h): bitwise the same loss,
    for every option, across blocks of 1024 and with vector tails."""
    x = (rng.standard_normal((6, cols)) * 3).astype(dtype)
    q = rng.random((6, cols)).astype(dtype)
    q[1, ::3] = 0.0
    q /= q.sum(axis=1, keepdims=True)
    t = rng.integers(0, cols, 6)
    w = rng.uniform(0.5, 2.0, cols).astype(dtype)
    for target in (q, t):
        for options in ({}, {"weight": w}, {"label_smoothing": 0.2}, {"temperature": 0.7},
                        {"weight": w, "label_smoothing": 0.1, "temperature": 1.5}):
            for reduction in ("none", "sum"):
                alone = csoftmax.cross_entropy(x, target, reduction=reduction, **options)
                loss, _ = csoftmax.cross_entropy_with_grad(x, target, reduction=reduction, **options)
                assert np.array_equal(alone, loss), (target.dtype, options, reduction)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 63, 1000, 100003])
def test_loss_total_is_compensated(n, rng, isa):
    """_kernels.loss_total (the reduced losses' sum on every path) of float64
    terms is compensated (eight TwoSum lanes, joined by Neumaier steps): on
    terms that cancel down to a small total, within a few ulps of math.fsum's
    correctly rounded sum, where a plain double sum loses most digits; of
    float32 terms, the double sum of the widened terms."""
    big = rng.standard_normal(n) * 1e12
    small = rng.random(n)
    v = np.empty(2 * n)
    v[0::2], v[1::2] = big + small, -big  # sum(small), buried under +-1e12
    rng.shuffle(v)
    exact = math.fsum(v)
    got = _kernels.loss_total(v)
    assert abs(got - exact) <= 4 * np.spacing(abs(exact)), (got, exact)
    v32 = (rng.random(n) * 3).astype(np.float32)
    assert _kernels.loss_total(v32) == pytest.approx(math.fsum(v32.astype(np.float64)), rel=1e-15)


@pytest.mark.parametrize("n", [1, 9, 1000, 100003])
def test_loss_total_same_bits_under_every_kernel_set(n, rng):
    """Each instruction set runs its own copy of the same operations
    (src_c/loss_sum.h): the same bits under each, so that a reduced loss does
    not depend on the CPU that computed it."""
    v = rng.standard_normal(n) * 10.0 ** rng.integers(-12, 13, n)
    v32 = v.astype(np.float32)
    previous = _kernels.get_isa()
    got = {}
    try:
        for name in ISAS:
            _kernels.set_isa(name)
            got[name] = (_kernels.loss_total(v), _kernels.loss_total(v32))
    finally:
        _kernels.set_isa(previous)
    first = got[ISAS[0]]
    assert all(g == first for g in got.values()), got
    assert first[0] == pytest.approx(math.fsum(v), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("special, expected", [
    ([1.0, np.inf, 2.0], np.inf), ([np.inf, -np.inf], np.nan), ([1.0, np.nan], np.nan),
    ([1e308, 1e308] + [0.0] * 9, np.inf), ([-np.inf] * 10, -np.inf)])
def test_loss_total_non_finite(special, expected, isa):
    """An infinite total stays infinite (its compensation, inf - inf, is
    dropped), NaN stays NaN, overflow gives inf, as np.sum gives them."""
    got = _kernels.loss_total(np.array(special, dtype=np.float64))
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(10,), (7, 3), (33, 64), (3, 4, 50), (5, 3000)],
                         ids=lambda s: "x".join(map(str, s)))
def test_backward_and_sigmoid_fast_paths(isa, rng, dtype, shape, monkeypatch):
    """softmax_backward, log_softmax_backward, sigmoid and log_sigmoid of
    C-contiguous arrays of one float dtype take the fast paths (new array,
    out= apart from the inputs, in place over either input): the same bits
    as the general path (taken by views whose last axis is strided: their
    rows are copied for the row kernels; a Fortran-ordered array would take
    the column kernels, whose sums run in another order); the public calls
    never reach the general path then."""
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = csoftmax.softmax(x)
    lp = csoftmax.log_softmax(x)
    g = rng.standard_normal(shape).astype(dtype)

    def f(a):  # a's values, every second element of a doubled last axis
        return np.repeat(a, 2, axis=-1)[..., ::2]
    cases = {
        "softmax_backward": (csoftmax.softmax_backward, (g, y), (f(g), f(y))),
        "log_softmax_backward": (csoftmax.log_softmax_backward, (g, lp), (f(g), f(lp))),
        "sigmoid": (csoftmax.sigmoid, (x,), (f(x),)),
        "log_sigmoid": (csoftmax.log_sigmoid, (x,), (f(x),)),
    }
    expected = {name: np.ascontiguousarray(fn(*general)) for name, (fn, _, general)
                in cases.items()}
    monkeypatch.setattr(_losses, "_backward", None)  # the general paths would raise TypeError
    monkeypatch.setattr(_losses, "_elementwise", None)
    for name, (fn, args, _) in cases.items():
        want = expected[name].tobytes()
        got = fn(*args)
        assert got.tobytes() == want and got.flags.owndata, name
        out = np.full(shape, np.nan, dtype=dtype)
        assert fn(*args, out=out) is out and out.tobytes() == want, name
        for k in range(len(args)):  # in place over each input
            inputs = [a.copy() for a in args]
            assert fn(*inputs, out=inputs[k]) is inputs[k], name
            assert inputs[k].tobytes() == want, name
        assert all(a.tobytes() == b.tobytes() for a, b in zip(args, cases[name][1])), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("shape", "axis"), [((6, 5), 0), ((3, 4, 50), 1), ((3, 4, 50), -3),
                                             ((4, 5, 1), 1), ((2, 3, 4, 5), 2),
                                             ((2, 21, 4096), 1)],
                         ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else str(v))
def test_backward_fast_path_other_axes(isa, rng, dtype, shape, axis):
    """Along an axis other than the last of C-ordered arrays the fast path
    calls the column kernels as the general path does: the same bits, into
    a new array, into out, in place over either input; the inputs kept."""
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    for op, fn, kernel, y in (
            (_kernels.BACKWARD_SOFTMAX, csoftmax.softmax_backward,
             _kernels.softmax_backward_2d, csoftmax.softmax(x, axis=axis)),
            (_kernels.BACKWARD_LOG_SOFTMAX, csoftmax.log_softmax_backward,
             _kernels.log_softmax_backward_2d, csoftmax.log_softmax(x, axis=axis))):
        before = (g.copy(), y.copy())
        want = _losses._backward(kernel, g, y, axis)
        got = _kernels.backward_fast(op, g, y, axis)
        assert got is not None and got.tobytes() == want.tobytes()
        assert g.tobytes() == before[0].tobytes() and y.tobytes() == before[1].tobytes()
        out = np.full(shape, np.nan, dtype=dtype)
        assert fn(g, y, axis=axis, out=out) is out and out.tobytes() == want.tobytes()
        for k in range(2):
            inputs = [g.copy(), y.copy()]
            assert _kernels.backward_fast(op, *inputs, axis, inputs[k]) is inputs[k]
            assert inputs[k].tobytes() == want.tobytes()
        # against the definition, in float64
        g64, y64 = g.astype(np.float64), y.astype(np.float64)
        if op == _kernels.BACKWARD_SOFTMAX:
            ref = y64 * (g64 - np.sum(g64 * y64, axis=axis, keepdims=True))
        else:
            ref = g64 - np.exp(y64) * np.sum(g64, axis=axis, keepdims=True)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_backward_fast_path_declines(rng):
    """Mixed dtypes or shapes, another axis, other layouts, an out that
    partly overlaps an input or cannot take the result: None, with out as it
    was; the public calls still give the general path's results and errors."""
    x = rng.standard_normal((6, 5))
    y = csoftmax.softmax(x)
    g = rng.standard_normal((6, 5))
    op = _kernels.BACKWARD_SOFTMAX
    assert _kernels.backward_fast(op, g, y) is not None
    buf = np.zeros(40)
    read_only = np.zeros((6, 5))
    read_only.flags.writeable = False
    declined = [
        ((g.astype(np.float32), y), {}), ((g, y[:5]), {}), ((g, y), {"axis": 2}),
        ((g, y), {"axis": -3}), ((np.asfortranarray(g), y), {"axis": 0}),
        ((g, y), {"axis": np.int64(-1)}), ((np.asfortranarray(g), y), {}),
        ((g[:, ::-1], y), {}), ((g.tolist(), y), {}), ((g, y.astype(np.float16)), {}),
        ((g, y), {"out": np.empty((6, 5), np.float32)}), ((g, y), {"out": read_only}),
        ((g, y), {"out": np.empty((5, 6)).T}), ((g[:0], y[:0]), {}),
    ]
    for args, kw in declined:
        assert _kernels.backward_fast(op, *args, **kw) is None, kw
    # an out sharing part of an input's bytes: through the general path's new array
    g2 = buf[:30].reshape(6, 5)
    g2[...] = g
    shifted = buf[5:35].reshape(6, 5)
    assert _kernels.backward_fast(op, g2, y, -1, shifted) is None
    expected = csoftmax.softmax_backward(g, y)
    assert csoftmax.softmax_backward(g2, y, out=shifted) is shifted
    np.testing.assert_array_equal(shifted, expected)
    with pytest.raises(ValueError, match="unknown backward operation"):
        _kernels.backward_fast(7, g, y)
    with pytest.raises(ValueError, match="out is read-only"):
        csoftmax.softmax_backward(g, y, out=read_only)
    assert not read_only.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_fast_path(isa, rng, dtype, reduction, monkeypatch):
    """nll_loss of 2-D log-probabilities and int64 targets (-100 ignored, a
    float weight) takes the fast path: the general path's bits (taken by
    byte-swapped targets); a bad index, another ignore_index or other arguments
    decline to the general path and its errors."""
    x = (rng.standard_normal((41, 9)) * 3).astype(dtype)
    lp = csoftmax.log_softmax(x)
    t = rng.integers(0, 9, 41)
    t[[0, 5]] = -100
    w = rng.uniform(0.5, 2.0, 9)
    code = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM, "none": _kernels.XENT_NONE}
    for weight in (None, w, w.astype(dtype)):
        expected = csoftmax.nll_loss(lp, general_targets(t), weight=weight, reduction=reduction)
        got = _kernels.nll_fast(lp, t, code[reduction], weight)
        assert type(got) is type(expected)
        assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()
    for target, weight in [(np.where(t == 1, 9, t), None), (general_targets(t), None),
                           (t, w[:8]), (t, w.tolist()), (t[:40], None)]:
        assert _kernels.nll_fast(lp, target, code[reduction], weight) is None
    assert _kernels.nll_fast(np.asfortranarray(lp), t, code[reduction]) is None
    with pytest.raises(IndexError, match="target"):
        csoftmax.nll_loss(lp, np.where(t == 1, 9, t), reduction=reduction)
    expected = csoftmax.nll_loss(lp, general_targets(t), reduction=reduction)
    monkeypatch.setattr(_losses, "_class_targets", None)  # the general path would raise
    assert (np.asarray(csoftmax.nll_loss(lp, t, reduction=reduction)).tobytes()
            == np.asarray(expected).tobytes())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(8, 10), (3, 4, 17), (50, 600), (16384, 3)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_fast_path_takes_column_weights(dtype, shape, reduction, isa, rng, monkeypatch):
    """weight and pos_weight of one value per column (1-D arrays, any float
    dtype) stay on the fast path: the general path's bits (taken through
    lists); reductions of 16384 rows or more of short rows, which the general
    path sums in runs of rows, and weights of other shapes decline."""
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = rng.random(shape).astype(dtype)
    cols = shape[-1]
    w = rng.uniform(0.5, 2.0, cols)
    p = rng.uniform(0.5, 3.0, cols).astype(np.float32)
    code = BCE_FAST_CODES[reduction]
    runs = reduction != "none" and x.size // cols >= 16384 and 2 * cols <= 1024
    for weight, pos_weight in [(w, None), (None, p), (w.astype(dtype), p)]:
        got = _kernels.binary_cross_entropy_fast(x, y, code, True, weight, pos_weight)
        expected = csoftmax.binary_cross_entropy_with_grad(
            x, y, weight=None if weight is None else weight.tolist(),
            pos_weight=None if pos_weight is None else pos_weight.tolist(), reduction=reduction)
        if runs:
            assert got is None
            continue
        assert type(got[0]) is type(expected[0])
        assert np.asarray(got[0]).tobytes() == np.asarray(expected[0]).tobytes()
        assert got[1].tobytes() == expected[1].tobytes()
        only = _kernels.binary_cross_entropy_fast(x, y, code, False, weight, pos_weight)
        assert np.asarray(only).tobytes() == np.asarray(expected[0]).tobytes()
    for bad in (w[:-1], w.reshape(1, cols), w.tolist(), np.ones(cols, dtype=np.int64)):
        assert _kernels.binary_cross_entropy_fast(x, y, code, True, bad) is None
        assert _kernels.binary_cross_entropy_fast(x, y, code, True, None, bad) is None
    if not runs:
        expected = csoftmax.binary_cross_entropy_with_grad(x, y, weight=w.tolist(),
                                                           reduction=reduction)
        monkeypatch.setattr(_losses, "_bce_arrays", None)  # the general path would raise
        got = csoftmax.binary_cross_entropy_with_grad(x, y, weight=w, reduction=reduction)
        assert got[1].tobytes() == expected[1].tobytes()
        assert np.asarray(got[0]).tobytes() == np.asarray(expected[0]).tobytes()
