"""softmax, log_softmax and logsumexp along an axis that is not the last one
of a C-ordered array (or the last one of a Fortran-ordered array): the column
kernels (src_c/columns.h), which reduce down the columns in place of a
transposed copy. Checked against the float64 reference and against the row
kernels on the same data moved last, under every instruction set."""
import numpy as np
import pytest

import csoftmax
from csoftmax import _api, _kernels
from csoftmax import reference as ref

FUNCS = ["softmax", "log_softmax", "logsumexp"]
SPECIAL = np.array([np.inf, np.nan, -np.inf])


def call(name, x, **kwargs):
    return getattr(csoftmax, name)(x, **kwargs)


def rows_result(name, x, axis):
    """The row kernels' result: the same data with `axis` moved last, C-ordered."""
    moved = np.ascontiguousarray(np.moveaxis(x, axis, -1))
    y = call(name, moved)
    return y if name == "logsumexp" else np.moveaxis(y, -1, axis)


def ulps(got, want, dtype):
    """The largest error of got against the float64 `want`, in units of the
    dtype's spacing at want, over the entries where want is finite."""
    fin = np.isfinite(want)
    spacing = np.spacing(np.abs(want[fin]).astype(dtype)).astype(np.float64)
    return float(np.max(np.abs(got[fin].astype(np.float64) - want[fin]) / spacing, initial=0.0))


def logits(rng, shape, dtype, scale=4.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


SHAPES = [  # (shape, axis)
    ((1000, 3), 0),       # tall, narrow (partial vectors only)
    ((7, 33), 0),         # a partial vector after whole ones
    ((300, 600), 0),      # wider than one block (512 columns)
    ((600, 40), 0),       # float32 sums flushed every 256 rows
    ((1, 50), 0),         # one row: softmax 1
    ((5, 9, 20), 1),      # 3-D, middle axis
    ((4, 6, 5), 0),       # 3-D, first axis
]


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axis"), SHAPES, ids=lambda v: str(v))
def test_matches_reference_and_the_row_kernels(isa, name, dtype, shape, axis, rng):
    x = logits(rng, shape, dtype)
    x.reshape(-1)[::29] = -np.inf            # -inf entries in finite columns: exp 0
    assert _api._cols(x, axis) is not None   # the column kernels' case
    before = x.copy()
    got = call(name, x, axis=axis)
    assert np.array_equal(x, before), "input modified"
    want = getattr(ref, name)(x.astype(np.float64), axis=axis)
    rows = rows_result(name, x, axis)
    assert got.dtype == dtype and got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got[np.isinf(want)], want[np.isinf(want)].astype(dtype))
    # no less accurate than the row kernels on the same data (softmax's float32
    # error is one rounding of x - max, which both kernels make)
    assert ulps(got, want, dtype) <= max(ulps(rows, want, dtype), 2.0) + 1.0
    np.testing.assert_allclose(got, rows, rtol=4 * np.finfo(dtype).eps * (4 if name == "softmax" else 1),
                               atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_columns_as_special_rows(isa, name, dtype):
    """A column holding +inf, NaN, only -inf, or a mix gives what the same
    values give as a row (NaN across softmax's and log_softmax's column;
    logsumexp +inf, NaN, -inf); the finite columns beside them are unaffected."""
    cols = [[np.inf, 0.0, 1.0, -2.0], [np.nan, 0.0, 1.0, 2.0], [-np.inf] * 4,
            [-np.inf, 0.0, np.inf, 1.0], [1.0, 2.0, 3.0, 4.0], [-np.inf, -np.inf, 5.0, -np.inf],
            [3e38, -3e38, 0.0, 1.0], [0.0, -1e-30, 1e-30, 0.0]]
    x = np.array(cols * 3, dtype=dtype).T.copy()      # 4 rows x 24 columns, C order
    with np.errstate(over="ignore", invalid="ignore"):
        got = call(name, x, axis=0)
        want = rows_result(name, x, 0)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    fin = np.isfinite(want)
    assert np.array_equal(got[~fin & ~np.isnan(want)], want[~fin & ~np.isnan(want)])
    np.testing.assert_allclose(got[fin], want[fin], rtol=4 * np.finfo(dtype).eps)
    # the all-finite column's result does not depend on its neighbours
    alone = call(name, np.ascontiguousarray(x[:, 4:5]), axis=0)
    assert np.array_equal(np.take(got, [4], axis=-1), alone)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_column_gives_the_same_bits_in_any_slab(isa, name, dtype, rng):
    """Every column takes the same vector operations wherever it sits in a
    block (the last partial vector too) and whatever the array's width: a
    slice of columns (a Dask chunk) gives the whole array's bits."""
    x = logits(rng, (300, 1100), dtype)
    whole = call(name, x, axis=0)
    for lo, hi in [(0, 1), (3, 16), (5, 40), (511, 530), (600, 1100)]:
        part = call(name, x[:, lo:hi], axis=0)          # a strided view, no copy
        assert np.array_equal(part, whole[..., lo:hi])
        part = call(name, np.ascontiguousarray(x[:, lo:hi]), axis=0)
        assert np.array_equal(part, whole[..., lo:hi])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_fortran_order_last_axis(name, rng):
    """The last axis of a Fortran-ordered array is a column of its transpose:
    the result keeps the input's memory order, the values of the row kernels."""
    x = np.asfortranarray(logits(rng, (40, 30), np.float64))
    assert _api._cols(x, 1) is not None
    got = call(name, x, axis=-1)
    assert got.flags.f_contiguous
    np.testing.assert_allclose(got, call(name, np.ascontiguousarray(x)), rtol=4 * np.finfo(float).eps,
                               atol=1e-300)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_and_in_place(name, rng):
    x = logits(rng, (50, 70), np.float64)
    want = call(name, x, axis=0)
    # into out directly (same layout), in place, and through a temporary for
    # another layout, another dtype or an overlapping out
    out = np.full(x.shape, 7.0)
    assert call(name, x, axis=0, out=out) is out
    assert np.array_equal(out, want)
    inplace = x.copy()
    assert call(name, inplace, axis=0, out=inplace) is inplace
    assert np.array_equal(inplace, want)
    fortran = np.asfortranarray(np.full(x.shape, 7.0))
    assert call(name, x, axis=0, out=fortran) is fortran
    assert np.array_equal(fortran, want)
    narrow = np.full(x.shape, 7.0, dtype=np.float32)
    assert call(name, x, axis=0, out=narrow) is narrow
    assert np.array_equal(narrow, want.astype(np.float32))
    big = np.zeros((51, 70))
    big[:50] = x
    shifted = big[1:]                  # overlaps the input's rows, shifted by one
    y = call(name, big[:50], axis=0, out=shifted)
    assert y is shifted
    assert np.array_equal(shifted, want)


def test_float16_and_integer_input(rng):
    x = logits(rng, (20, 12), np.float16)
    got = csoftmax.softmax(x, axis=0)
    assert got.dtype == np.float16
    assert np.array_equal(got, csoftmax.softmax(x.astype(np.float32), axis=0).astype(np.float16))
    i = rng.integers(-5, 5, (9, 10))
    assert np.array_equal(csoftmax.log_softmax(i, axis=0),
                          csoftmax.log_softmax(i.astype(np.float64), axis=0))


@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_shapes(keepdims, rng):
    x = logits(rng, (3, 4, 5, 6), np.float64)
    for axis in range(4):
        for layout in (x, np.asfortranarray(x)):
            got = csoftmax.logsumexp(layout, axis=axis, keepdims=keepdims)
            want = ref.logsumexp(x, axis=axis)
            if keepdims:
                want = np.expand_dims(want, axis)
            assert got.shape == want.shape
            # m + log(sum) may cancel: an error of an ulp or so of its terms
            np.testing.assert_allclose(got, want, rtol=4 * np.finfo(float).eps,
                                       atol=4 * np.finfo(float).eps * np.max(np.abs(x)))
    empty = np.zeros((0, 3))
    assert np.array_equal(csoftmax.logsumexp(empty, axis=0), np.full(3, -np.inf))


def test_threads_give_the_same_bits(rng):
    x = logits(rng, (700, 3000), np.float32)   # blocks handed out to threads
    previous = csoftmax.get_num_threads()
    try:
        csoftmax.set_num_threads(1)
        one = [call(name, x, axis=0) for name in FUNCS]
        csoftmax.set_num_threads(2)
        two = [call(name, x, axis=0) for name in FUNCS]
    finally:
        csoftmax.set_num_threads(previous)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


def test_kernel_boundary_errors():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"out has shape \(2, 3, 5\)"):
        _kernels.softmax_cols(x, np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="x must have contiguous columns"):
        _kernels.log_softmax_cols(np.zeros((2, 3, 8))[:, :, ::2], np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="out must have contiguous columns"):
        _kernels.softmax_cols(x, np.zeros((2, 3, 8))[:, :, ::2])
    with pytest.raises(ValueError, match=r"out has shape \(2, 3\)"):
        _kernels.logsumexp_cols(x, np.zeros((2, 3)))
    out = np.full((2, 3, 5), 7.0)
    with pytest.raises(ValueError):
        csoftmax.softmax(x, axis=0, out=out)
    assert np.all(out == 7.0), "out written on error"


# ---------------------------------------------------------------------------
# cross-entropy with the class axis before the last one ((N, C, d), axis=1)


def moved_xent(x, t, axis, **kwargs):
    """The row kernels' cross-entropy: the classes moved last, C-ordered."""
    moved = np.ascontiguousarray(np.moveaxis(x, axis, -1))
    if t.dtype.kind == "f":  # probability targets: moved alike
        t = np.ascontiguousarray(np.moveaxis(t, axis, -1))
    value = csoftmax.cross_entropy_with_grad(moved, t, **kwargs)
    return value[0], np.moveaxis(value[1], -1, axis)


def probabilities(rng, shape, dtype, axis=1, zeros=False):
    q = rng.random(shape)
    if zeros:
        q[q < 0.3] = 0.0                           # classes without target mass
    return (q / q.sum(axis=axis, keepdims=True)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [
    {}, {"weight": True}, {"ignore_index": 2}, {"weight": True, "ignore_index": -100},
    {"label_smoothing": 0.1}, {"temperature": 0.6}, {"temperature": 3.0, "weight": True},
    {"label_smoothing": 0.25, "temperature": 1.7, "weight": True, "ignore_index": -100},
    {"label_smoothing": 1.0, "ignore_index": 2}, {"probabilities": True},
    {"probabilities": True, "weight": True, "label_smoothing": 0.2, "temperature": 0.8},
], ids=lambda o: "-".join(sorted(o)) or "plain")
def test_cross_entropy_class_axis_1(isa, dtype, reduction, options, rng):
    """Every option of the (N, C, d) cross-entropy in the column kernel: the
    row kernels' values on the classes moved last, and PyTorch's semantics
    (test_losses checks the row kernels against torch)."""
    x = logits(rng, (3, 7, 37), dtype)
    t = rng.integers(0, 7, (3, 37))
    kwargs = {"reduction": reduction}
    if options.get("weight"):
        kwargs["weight"] = rng.uniform(0.5, 2.0, 7).astype(dtype)
    for key in ("label_smoothing", "temperature"):
        if key in options:
            kwargs[key] = options[key]
    if "ignore_index" in options:
        kwargs["ignore_index"] = options["ignore_index"]
        t[0, :5] = options["ignore_index"]       # ignored pixels
    if options.get("probabilities"):
        t = probabilities(rng, x.shape, dtype, zeros=True)
    assert _api._cols(x, 1) is not None
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, axis=1, **kwargs)
    want_loss, want_grad = moved_xent(x, t, 1, **kwargs)
    eps = np.finfo(dtype).eps
    assert grad.shape == x.shape and grad.dtype == dtype
    np.testing.assert_allclose(loss, want_loss, rtol=8 * eps, atol=8 * eps)
    np.testing.assert_allclose(grad, want_grad, rtol=8 * eps, atol=8 * eps * np.max(np.abs(want_grad)))
    only = csoftmax.cross_entropy(x, t, axis=1, **kwargs)
    np.testing.assert_array_equal(only, loss)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_class_axis_1_special_columns(dtype, rng):
    """Columns (pixels) whose logits hold +inf, NaN or only -inf are computed by
    the row kernels: the same values as with the classes last."""
    x = logits(rng, (2, 5, 12), dtype)
    x[0, 2, 3] = np.inf
    x[1, 4, 0] = np.nan
    x[1, :, 7] = -np.inf
    x[0, 1, 9] = -np.inf
    t = rng.integers(0, 5, (2, 12))
    t[1, 7] = -100
    with np.errstate(invalid="ignore"):
        for reduction in ("none", "sum"):
            loss, grad = csoftmax.cross_entropy_with_grad(x, t, axis=1, reduction=reduction)
            want_loss, want_grad = moved_xent(x, t, 1, reduction=reduction)
            np.testing.assert_allclose(loss, want_loss, rtol=8 * np.finfo(dtype).eps,
                                       equal_nan=True)
            np.testing.assert_allclose(grad, want_grad, rtol=8 * np.finfo(dtype).eps,
                                       atol=8 * np.finfo(dtype).eps, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{"label_smoothing": 0.1}, {"temperature": 0.5},
                                     {"probabilities": True},
                                     {"probabilities": True, "temperature": 2.0}],
                         ids=lambda o: "-".join(sorted(o)))
def test_cross_entropy_class_axis_1_special_columns_with_options(isa, dtype, options, rng):
    """-inf logits in columns whose maximum is finite (the column kernel's:
    a -inf logit without target mass contributes 0, one with target mass
    makes the loss +inf) and the non-finite columns (the row kernels'), with
    smoothing, a temperature or probability targets: the values of the
    classes moved last."""
    x = logits(rng, (2, 5, 12), dtype)
    x[0, 2, 3] = np.inf
    x[1, 4, 0] = np.nan
    x[1, :, 7] = -np.inf
    x[0, 1, 9] = -np.inf
    x[1, 0, 10] = -np.inf
    x[1, 3, 10] = -np.inf
    kwargs = {k: v for k, v in options.items() if k != "probabilities"}
    if options.get("probabilities"):
        t = probabilities(rng, x.shape, dtype)
        t[0, 1, 9] = 0.0                           # no mass on a -inf logit: its limit, 0
        t[1, :, 10] = [0.5, 0.0, 0.0, 0.0, 0.5]    # mass on one: +inf
    else:
        t = rng.integers(0, 5, (2, 12))
        t[1, 7] = -100
        t[1, 10] = 3                               # the target's logit is -inf
    with np.errstate(invalid="ignore", divide="ignore"):
        for reduction in ("none", "sum"):
            loss, grad = csoftmax.cross_entropy_with_grad(x, t, axis=1, reduction=reduction,
                                                          **kwargs)
            want_loss, want_grad = moved_xent(x, t, 1, reduction=reduction, **kwargs)
            np.testing.assert_allclose(loss, want_loss, rtol=8 * np.finfo(dtype).eps,
                                       equal_nan=True)
            np.testing.assert_allclose(grad, want_grad, rtol=8 * np.finfo(dtype).eps,
                                       atol=8 * np.finfo(dtype).eps, equal_nan=True)
    if reduction == "none":
        assert np.isposinf(loss[1, 10])
        assert np.isfinite(loss[0, 9]) and np.all(np.isfinite(grad[0, :, 9]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("temperature", [1e-30, 1e-3, 1e4, 1e30])
def test_cross_entropy_class_axis_1_extreme_temperatures(isa, dtype, temperature, rng):
    """Temperatures that send (x - max) / T to -inf (or flush it to 0): the
    row kernels' values, finite, no NaN."""
    x = logits(rng, (2, 6, 11), dtype)
    t = rng.integers(0, 6, (2, 11))
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, axis=1, reduction="none",
                                                  temperature=temperature)
    want_loss, want_grad = moved_xent(x, t, 1, reduction="none", temperature=temperature)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(loss, want_loss, rtol=16 * eps, atol=16 * eps)
    np.testing.assert_allclose(grad, want_grad, rtol=16 * eps,
                               atol=16 * eps * np.max(np.abs(want_grad)))


def test_cross_entropy_class_axis_1_probability_layouts(rng):
    """Probability targets in any layout (Fortran-ordered, strided, another
    dtype) against C-ordered logits: the targets' values, never their
    layout, decide."""
    x = logits(rng, (3, 5, 16), np.float64)
    q = probabilities(rng, x.shape, np.float64)
    want = csoftmax.cross_entropy_with_grad(x, q, axis=1, reduction="none")
    for qq in (np.asfortranarray(q), np.repeat(q, 2, axis=2)[:, :, ::2]):
        got = csoftmax.cross_entropy_with_grad(x, qq, axis=1, reduction="none")
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    got = csoftmax.cross_entropy_with_grad(x.astype(np.float32), q, axis=1, reduction="none")
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)


def test_cross_entropy_class_axis_1_out_and_errors(rng):
    x = logits(rng, (4, 6, 9), np.float64)
    t = rng.integers(0, 6, (4, 9))
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, axis=1)
    out = np.full(x.shape, 7.0)
    value, g = csoftmax.cross_entropy_with_grad(x, t, axis=1, out=out)
    assert g is out and value == loss
    np.testing.assert_array_equal(out, grad)
    before = x.copy()
    bad = t.copy()
    bad[2, 3] = 6
    out = np.full(x.shape, 7.0)
    with pytest.raises(IndexError):
        csoftmax.cross_entropy_with_grad(x, bad, axis=1, out=out)
    assert np.all(out == 7.0) and np.array_equal(x, before)
    with pytest.raises(IndexError, match="outside"):
        _kernels.xent_cols(x, bad, None, None, -100, 0.0, 1.0, 1.0, np.empty((4, 9)), None)
    with pytest.raises(ValueError, match="weight has 5 entries"):
        _kernels.xent_cols(x, t, None, np.ones(5), -100, 0.0, 1.0, 1.0, np.empty((4, 9)), None)


# ---------------------------------------------------------------------------
# backward passes along an axis that is not the last one


BACKWARD = {"softmax_backward": "softmax", "log_softmax_backward": "log_softmax"}


def moved_backward(name, g, y, axis):
    """The row kernels' backward pass: both arrays with `axis` moved last."""
    gm = np.ascontiguousarray(np.moveaxis(g, axis, -1))
    ym = np.ascontiguousarray(np.moveaxis(y, axis, -1))
    return np.moveaxis(getattr(csoftmax, name)(gm, ym), -1, axis)


@pytest.mark.parametrize("name", list(BACKWARD))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axis"), SHAPES, ids=lambda v: str(v))
def test_backward_matches_the_row_kernels(isa, name, dtype, shape, axis, rng):
    """The column kernels' sums down the columns give the row kernels'
    values on the same data moved last (to a few ulps of the largest entry:
    the sums are added in another order), and the float64 reference's."""
    x = logits(rng, shape, dtype)
    y = call(BACKWARD[name], x, axis=axis)
    g = logits(rng, shape, dtype, scale=1.0)
    assert _api._cols(y, axis) is not None
    got = getattr(csoftmax, name)(g, y, axis=axis)
    want = moved_backward(name, g, y, axis)
    assert got.dtype == dtype and got.shape == x.shape
    eps = np.finfo(dtype).eps
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=4 * eps, atol=4 * eps * scale)
    g64, y64 = g.astype(np.float64), y.astype(np.float64)
    if name == "softmax_backward":
        exact = y64 * (g64 - np.sum(g64 * y64, axis=axis, keepdims=True))
    else:
        exact = g64 - np.exp(y64) * np.sum(g64, axis=axis, keepdims=True)
    np.testing.assert_allclose(got, exact, rtol=64 * eps, atol=64 * eps * scale)


@pytest.mark.parametrize("name", list(BACKWARD))
def test_backward_layouts_out_and_in_place(name, rng):
    """Fortran order (the last axis of a Fortran array), grad_output in
    another order than output, out of either order, and in place over either
    input: the values of C-ordered arrays, inputs unchanged unless they are
    out."""
    x = logits(rng, (6, 40, 9), np.float64)
    y = call(BACKWARD[name], x, axis=1)
    g = logits(rng, x.shape, np.float64, scale=1.0)
    want = getattr(csoftmax, name)(g, y, axis=1)
    np.testing.assert_allclose(want, moved_backward(name, g, y, 1), rtol=1e-14, atol=1e-15)
    yf, gf = np.asfortranarray(y), np.asfortranarray(g)
    np.testing.assert_array_equal(getattr(csoftmax, name)(gf, yf, axis=1), want)
    np.testing.assert_array_equal(getattr(csoftmax, name)(gf, y, axis=1), want)
    np.testing.assert_array_equal(getattr(csoftmax, name)(g, yf, axis=1), want)
    for out in (np.empty_like(y), np.empty_like(yf), np.empty(x.shape, np.float32)):
        got = getattr(csoftmax, name)(g, y, axis=1, out=out)
        assert got is out
        np.testing.assert_allclose(out, want, rtol=1e-6 if out.dtype == np.float32 else 0)
    for which in ("g", "y"):
        gg, yy = g.copy(), y.copy()
        target = gg if which == "g" else yy
        got = getattr(csoftmax, name)(gg, yy, axis=1, out=target)
        assert got is target
        np.testing.assert_array_equal(target, want)
        np.testing.assert_array_equal(yy if which == "g" else gg, y if which == "g" else g)
    before_g, before_y = g.copy(), y.copy()
    getattr(csoftmax, name)(g, y, axis=1)
    np.testing.assert_array_equal(g, before_g)
    np.testing.assert_array_equal(y, before_y)
    # a partial overlap: through a new array, the same values
    buf = np.concatenate([g.ravel(), np.zeros(9)])
    gv = buf[:g.size].reshape(g.shape)
    out = buf[9:].reshape(g.shape)
    getattr(csoftmax, name)(gv, y, axis=1, out=out)
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("name", list(BACKWARD))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_special_values_as_rows(isa, name, dtype, rng):
    """inf and NaN in grad_output or output: the row kernels' values (a NaN
    or infinite sum spreads over its column as over a row)."""
    x = logits(rng, (3, 8, 20), dtype)
    y = call(BACKWARD[name], x, axis=1)
    g = logits(rng, x.shape, dtype, scale=1.0)
    g[0, 2, 3] = np.inf
    g[1, 5, 7] = np.nan
    g[2, 1, 9] = -np.inf
    y[2, 4, 11] = np.inf if name == "log_softmax_backward" else np.nan
    with np.errstate(invalid="ignore", over="ignore"):
        got = getattr(csoftmax, name)(g, y, axis=1)
        want = moved_backward(name, g, y, 1)
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps,
                               atol=4 * np.finfo(dtype).eps, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_backward_cols_kernel_errors(rng):
    g = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="out has shape"):
        _kernels.backward_cols(False, g, g, np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="grad_output must have contiguous columns"):
        _kernels.backward_cols(True, np.zeros((2, 3, 8))[:, :, ::2], g, np.zeros_like(g))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"ignore_index": 1},
                                     {"weight": True, "ignore_index": -100}],
                         ids=lambda o: "-".join(sorted(o)) or "plain")
def test_nll_loss_class_axis_1(dtype, options, rng):
    """nll_loss over axis 1 reads the targets' log-probabilities where they
    lie (the column kernel, or NumPy's gather for other layouts): the bits of
    the classes moved last (the row kernel), zero weights and ignored rows
    included, -inf and NaN entries too; an out-of-range target raises."""
    lp = csoftmax.log_softmax(logits(rng, (3, 6, 13), dtype), axis=1)
    lp[0, :, 2] = -np.inf
    lp[1, 4, 5] = np.nan
    t = rng.integers(0, 6, (3, 13))
    t[0, 2] = 3
    kwargs = {}
    if options.get("weight"):
        w = rng.uniform(0.5, 2.0, 6).astype(dtype)
        w[3] = 0.0                                  # 0 * -inf: 0
        kwargs["weight"] = w
    if "ignore_index" in options:
        kwargs["ignore_index"] = options["ignore_index"]
        t[2, :4] = options["ignore_index"]
    moved = np.ascontiguousarray(np.moveaxis(lp, 1, -1))
    # C order (the column kernel), Fortran order and a strided last axis
    # (gathered by NumPy)
    for arr in (lp, np.asfortranarray(lp), np.repeat(lp, 2, axis=2)[:, :, ::2]):
        for reduction in ("none", "sum", "mean"):
            got = csoftmax.nll_loss(arr, t, axis=1, reduction=reduction, **kwargs)
            want = csoftmax.nll_loss(moved, t, reduction=reduction, **kwargs)
            np.testing.assert_array_equal(got, want)
    before = lp.copy()
    csoftmax.nll_loss(lp, t, axis=1, **kwargs)
    np.testing.assert_array_equal(lp, before)
    bad = t.copy()
    bad[1, 3] = 6
    with pytest.raises(IndexError):
        csoftmax.nll_loss(lp, bad, axis=1, **kwargs)
    with pytest.raises(IndexError, match="outside"):
        _kernels.nll_cols(lp, bad, None, -100, np.empty((3, 13), dtype))
