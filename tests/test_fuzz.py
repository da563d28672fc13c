"""Property-based tests (hypothesis): random shapes, memory layouts, dtypes and
values -- inf, NaN, huge, subnormal -- against csoftmax.reference, and every
error path with random bad arguments.

The accuracy measure is that of tests/accuracy_helpers.py: ulps of the result
dtype at the extended-precision reference, NaN and inf positions exactly
equal, plus the problem's own condition term (|x - max| * u) where ``x - max``
is not exact in the working precision. Examples are bounded (max_examples)
and deadline=None, so the module runs in well under a minute.
"""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import csoftmax  # noqa: E402
from csoftmax import reference  # noqa: E402
from accuracy_helpers import ULPS, _condition_terms, max_ulp_error, ulp_errors  # noqa: E402

LD = np.longdouble
FLOATS = [np.float16, np.float32, np.float64]
OTHERS = [np.int8, np.int32, np.uint8, np.int64, np.bool_]
FUZZ = settings(max_examples=40, deadline=None, derandomize=True)
FEW = settings(max_examples=15, deadline=None, derandomize=True)


def element_strategy(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return hnp.from_dtype(dtype)
    info = np.finfo(dtype)
    width = dtype.itemsize * 8
    special = st.sampled_from([np.inf, -np.inf, np.nan, 0.0, -0.0, float(info.max),
                               float(-info.max), float(info.smallest_subnormal),
                               float(-info.smallest_subnormal), float(info.tiny)])
    ordinary = st.floats(-30, 30, width=width)
    anything = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True,
                         width=width)
    subnormal = st.floats(-float(info.tiny), float(info.tiny), width=width,
                          allow_subnormal=True)
    return st.one_of(ordinary, ordinary, ordinary, special, anything, subnormal)


@st.composite
def layouts(draw, dtypes=FLOATS + OTHERS, min_side=0, min_dims=1, max_dims=3):
    """(array, axis): an array of random dtype, values and memory layout."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                  max_side=24))
    x = draw(hnp.arrays(dtype, shape, elements=element_strategy(dtype)))
    kind = draw(st.sampled_from(["contiguous", "transposed", "strided", "fortran",
                                 "reversed", "readonly", "unaligned", "broadcast"]))
    if kind == "transposed" and x.ndim > 1:
        x = np.transpose(x, draw(st.permutations(range(x.ndim))))
    elif kind == "strided":
        step = draw(st.integers(2, 3))
        big = np.repeat(x, step, axis=-1)
        x = big[..., ::step]
    elif kind == "fortran":
        x = np.asfortranarray(x)
    elif kind == "reversed":
        x = x[..., ::-1]
    elif kind == "readonly":
        x = x.copy()
        x.flags.writeable = False
    elif kind == "unaligned" and dtype.itemsize > 1:
        raw = np.empty(x.nbytes + 1, dtype=np.uint8)
        y = raw[1:].view(dtype).reshape(x.shape)
        y[...] = x
        assert y.flags.aligned == (x.size == 0)
        x = y
    elif kind == "broadcast" and x.ndim == 1:
        x = np.broadcast_to(x, (3,) + x.shape)      # zero stride, read-only
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, axis


def snapshot(x):
    return np.array(x, copy=True)


def assert_unmodified(x, before):
    np.testing.assert_array_equal(x, before)
    assert x.tobytes() == before.tobytes()


def result_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize <= 8:
        return dtype
    return np.dtype(np.float64)


# ---------------------------------------------------------------------------
# values against the reference


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@FUZZ
@given(data=layouts())
def test_rowwise_against_reference(name, data):
    x, axis = data
    before = snapshot(x)
    y = getattr(csoftmax, name)(x, axis=axis)
    assert_unmodified(x, before)
    rdt = result_dtype(x.dtype)
    assert y.dtype == rdt
    want_shape = x.shape if name != "logsumexp" else x.shape[:axis % x.ndim] + x.shape[axis % x.ndim + 1:]
    assert y.shape == want_shape
    if x.size == 0:    # empty: empty out; logsumexp over an empty axis is -inf
        assert (y == -np.inf).all()
        return
    worst = max_ulp_error(name, y, x, rdt, axis=axis, conditioned=True)
    assert worst <= ULPS[name][rdt.type], f"{name}: {worst:.3g} ulp"


@FUZZ
@given(data=layouts(dtypes=[np.float32, np.float64], min_side=1), keepdims=st.booleans())
def test_logsumexp_keepdims_and_consistency(data, keepdims):
    """keepdims, and log_softmax == x - logsumexp where both are finite."""
    x, axis = data
    lse = csoftmax.logsumexp(x, axis=axis, keepdims=keepdims)
    kept = lse if keepdims else np.expand_dims(lse, axis)
    assert kept.shape[axis] == 1
    np.testing.assert_array_equal(kept, csoftmax.logsumexp(x, axis=axis, keepdims=True))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@FUZZ
@given(data=layouts(dtypes=[np.float32, np.float64], min_side=1, min_dims=2),
       seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_against_reference(reduction, data, seed):
    x, axis = data
    ax = axis % x.ndim
    classes = x.shape[ax]
    lead = x.shape[:ax] + x.shape[ax + 1:]
    target = np.random.default_rng(seed).integers(0, classes, lead)
    if x.size == 0:
        return
    before = snapshot(x)
    loss, grad = csoftmax.cross_entropy_with_grad(x, target, axis=axis, reduction=reduction)
    loss_only = csoftmax.cross_entropy(x, target, axis=axis, reduction=reduction)
    assert_unmodified(x, before)
    want_loss, want_grad = reference.cross_entropy_with_grad(x, target, axis=axis,
                                                             reduction=reduction, dtype=LD)
    rdt = result_dtype(x.dtype)
    assert np.asarray(loss).dtype == rdt and grad.dtype == rdt and grad.shape == x.shape
    np.testing.assert_array_equal(np.asarray(loss_only), np.asarray(loss))
    # the loss: log1p(t) + (m - x_target), both >= 0 (no cancellation); the
    # condition term is |m - x_target| * u, already a relative error of the loss
    loss_bound = 4 if reduction == "none" else 4 + 2 * np.log2(max(np.size(target), 2))
    assert ulp_errors(np.asarray(loss), np.asarray(want_loss), rdt).max(initial=0) <= loss_bound
    # the gradient: softmax's bound plus the condition term p * (|z| + sum p|z|) * u
    # (absolute, scaled by 1/N for the mean), as for softmax in accuracy_helpers
    zu, wu = _condition_terms(x, axis, rdt)
    p = reference.softmax(x, axis=axis, dtype=LD)
    n = np.size(target) if reduction == "mean" else 1
    with np.errstate(invalid="ignore"):
        extra = np.where(np.isfinite(p), np.abs(p) * (zu + np.expand_dims(wu, axis)), 0) / n
    err = ulp_errors(grad, want_grad, rdt, extra)
    bound = ULPS["softmax"][rdt.type]
    assert err.max(initial=0) <= bound, f"gradient error {err.max():.3g} ulp > {bound}"


# ---------------------------------------------------------------------------
# out= and aliasing


@FUZZ
@given(data=layouts(dtypes=[np.float32, np.float64]), in_place=st.booleans())
def test_out_argument(data, in_place):
    x, axis = data
    for name in ("softmax", "log_softmax"):
        function = getattr(csoftmax, name)
        want = function(x, axis=axis)
        if in_place:
            out = np.array(x, copy=True, order="K")
            # out's own layout (x's may be strided): the same kernel in place
            # as out of place (two layouts may differ in the last bit)
            want = function(out.copy(order="K"), axis=axis)
            got = function(out, axis=axis, out=out)
        else:
            out = np.empty(x.shape, dtype=np.float64)   # wider dtype: same_kind cast
            got = function(x, axis=axis, out=out)
        assert got is out
        np.testing.assert_array_equal(out, want.astype(out.dtype))


# ---------------------------------------------------------------------------
# error paths: each raises the documented type, names the argument, writes nothing


ROWWISE = ["softmax", "log_softmax", "logsumexp"]


@pytest.mark.parametrize("name", ROWWISE)
@FEW
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_axis_errors(name, shape, data):
    x = np.zeros(shape)
    bad = data.draw(st.one_of(st.integers(len(shape), 40), st.integers(-40, -len(shape) - 1)))
    with pytest.raises(np.exceptions.AxisError, match=f"axis={bad}"):
        getattr(csoftmax, name)(x, axis=bad)
    with pytest.raises(TypeError, match="axis must be an integer"):
        getattr(csoftmax, name)(x, axis=data.draw(st.sampled_from([1.0, "0", None, (0,)])))


@pytest.mark.parametrize("name", ROWWISE)
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, object, "U3", "M8[s]"])
def test_dtype_errors(name, dtype):
    x = np.zeros((2, 3), dtype=dtype)
    with pytest.raises(TypeError, match="x has (complex|unsupported) dtype"):
        getattr(csoftmax, name)(x)


@pytest.mark.parametrize("name", ROWWISE)
def test_zero_dim_error(name):
    with pytest.raises(np.exceptions.AxisError, match="0-d"):
        getattr(csoftmax, name)(np.float64(1.0))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@FEW
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data())
def test_out_errors_write_nothing(name, shape, data):
    function = getattr(csoftmax, name)
    x = np.ones(shape)
    wrong_shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
                            .filter(lambda s: s != shape))
    out = np.full(wrong_shape, 7.0)
    with pytest.raises(ValueError, match="out has shape"):
        function(x, out=out)
    assert (out == 7.0).all()
    out = np.full(shape, 7, dtype=data.draw(st.sampled_from([np.int64, np.int8, np.bool_])))
    before = out.copy()
    with pytest.raises(TypeError, match="out has dtype"):
        function(x, out=out)
    assert out.tobytes() == before.tobytes()
    out = np.full(shape, 7.0)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        function(x, out=out)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        function(x, out=[0.0] * x.size)


@pytest.mark.parametrize("function", [csoftmax.cross_entropy, csoftmax.cross_entropy_with_grad])
@FEW
@given(rows=st.integers(1, 30), classes=st.integers(1, 9), data=st.data())
def test_target_errors(function, rows, classes, data):
    logits = np.zeros((rows, classes))
    target = np.zeros(rows, dtype=data.draw(st.sampled_from([np.int8, np.int32, np.int64,
                                                              np.uint16])))
    position = data.draw(st.integers(0, rows - 1))
    info = np.iinfo(target.dtype)
    bad = data.draw(st.one_of(st.integers(classes, min(info.max, classes + 1000)),
                              st.integers(max(info.min, -1000), -1).filter(lambda v: v != -100)
                              if info.min < 0 else st.just(classes)))
    target[position] = bad
    with pytest.raises(IndexError, match=rf"target\[{position}\] = {bad} is out of range "
                                         rf"for {classes} classes"):
        function(logits, target)
    with pytest.raises(ValueError, match="target has shape"):
        function(logits, np.zeros(rows + 1, dtype=np.int64))
    with pytest.raises(ValueError, match="reduction must be one of"):
        function(logits, np.zeros(rows, dtype=np.int64),
                 reduction=data.draw(st.text(max_size=6).filter(
                     lambda r: r not in ("mean", "sum", "none"))))
    with pytest.raises(np.exceptions.AxisError):
        function(logits, np.zeros(rows, dtype=np.int64), axis=2)
    with pytest.raises(TypeError, match="complex"):
        function(logits.astype(np.complex128), np.zeros(rows, dtype=np.int64))
    with pytest.raises(ValueError, match="at least one dimension"):
        function(np.float64(0.0), np.int64(0))
