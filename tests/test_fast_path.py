"""The call-overhead fast path (csoftmax._kernels.rowwise_fast).

softmax / log_softmax / logsumexp of an exact ndarray, float32 or float64,
C-contiguous, aligned, native byte order, over its last axis, without out= or
options, skip the Python input policy and go straight to the C kernel. Checked:

- on every input it takes, it gives bitwise the general path's result (same
  kernels, same rows), dtype and shape, in a new C-contiguous writeable array;
  the input is not modified;
- it declines (returns None) everything else: float16, integers, booleans,
  longdouble, complex, Fortran order, strided and misaligned views,
  byte-swapped arrays, subclasses, non-arrays, 0-d and empty arrays, another
  axis, a non-int axis; and the public functions then give what the general
  path gives (values, dtype, errors);
- large calls release the GIL (tests/test_threads.py checks the harness).
"""
import numpy as np
import pytest

import csoftmax
from csoftmax import _api, _kernels

SEED = 20241105
OPS = {
    "softmax": _kernels.FAST_SOFTMAX,
    "log_softmax": _kernels.FAST_LOG_SOFTMAX,
    "logsumexp": _kernels.FAST_LOGSUMEXP,
}
SHAPES = [(1,), (2,), (10,), (33,), (1000,), (1, 10), (7, 1), (5, 3), (64, 17), (300, 1000),
          (2, 3, 4), (3, 1, 40_000), (70_000, 10)]


def rng():
    return np.random.default_rng(SEED)


def general(name, x, axis=-1):
    """The general (Python policy) path on the same input."""
    if name == "softmax":
        return _api._rowwise(_kernels.softmax_2d, x, axis, None)
    if name == "log_softmax":
        return _api._rowwise(_kernels.log_softmax_2d, x, axis, None)
    ax = axis % np.ndim(x)
    return np.squeeze(csoftmax.logsumexp(x, axis=axis, keepdims=True), axis=ax)


def assert_same(got, want):
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.fixture(params=_kernels.available_isas())
def isa(request):
    previous = _kernels.get_isa()
    _kernels.set_isa(request.param)
    yield request.param
    _kernels.set_isa(previous)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_taken_cases_equal_general_path(isa, name, dtype, shape):
    x = (rng().standard_normal(shape) * 6).astype(dtype)
    x.flat[::7] = np.array([np.inf, -np.inf, np.nan, 0.0])[np.arange(x.flat[::7].size) % 4]
    before = x.copy()
    got = _kernels.rowwise_fast(OPS[name], x)
    assert got is not None, "the fast path declined a case it must take"
    want = general(name, x)
    assert_same(got, want)
    assert got.flags.c_contiguous and got.flags.writeable and got.flags.owndata
    assert not np.shares_memory(got, x)
    assert x.tobytes() == before.tobytes(), "input modified"
    # the public function on the same input (fast path) agrees too
    assert_same(getattr(csoftmax, name)(x), want)
    assert_same(getattr(csoftmax, name)(x, axis=x.ndim - 1), want)


@pytest.mark.parametrize("name", sorted(OPS))
def test_read_only_input_is_taken(name):
    x = rng().standard_normal((4, 9))
    x.flags.writeable = False
    got = _kernels.rowwise_fast(OPS[name], x)
    assert got is not None and got.flags.writeable
    assert_same(got, general(name, x))


class Subclass(np.ndarray):
    """An ndarray subclass: the fast path takes exact ndarrays only."""


def declined_inputs():
    """(label, input, axis) the fast path must decline."""
    r = rng()
    base = r.standard_normal((6, 10))
    big = r.standard_normal((6, 21))
    raw = np.zeros(6 * 10 * 8 + 1, dtype=np.uint8)
    misaligned = raw[1:].view(np.float64).reshape(6, 10)
    misaligned[...] = base
    cases = [
        ("float16", base.astype(np.float16), -1),
        ("int64", (base * 10).astype(np.int64), -1),
        ("int8", (base * 10).astype(np.int8), -1),
        ("uint8", (np.abs(base) * 10).astype(np.uint8), -1),
        ("bool", base > 0, -1),
        ("longdouble", base.astype(np.longdouble), -1),
        ("fortran", np.asfortranarray(base), -1),
        ("fortran f32", np.asfortranarray(base.astype(np.float32)), -1),
        ("strided columns", big[:, ::2], -1),
        ("strided rows", big[::2, :10], -1),
        ("transposed", base.T, -1),
        ("broadcast", np.broadcast_to(base[0], (6, 10)), -1),
        ("misaligned", misaligned, -1),
        ("byte-swapped", base.astype(base.dtype.newbyteorder()), -1),
        ("byte-swapped f32", base.astype(np.dtype(">f4") if np.little_endian
                                         else np.dtype("<f4")), -1),
        ("subclass", base.view(Subclass), -1),
        ("list", base.tolist(), -1),
        ("tuple", tuple(base[0]), -1),
        ("python float", 1.5, -1),
        ("0-d", np.array(2.0), -1),
        ("empty rows", np.empty((0, 10)), -1),
        ("empty columns", np.empty((6, 0)), -1),
        ("empty 1-d", np.empty(0, dtype=np.float32), -1),
        ("axis 0", base, 0),
        ("axis -2", base, -2),
        ("axis numpy int", base, np.int64(-1)),
        ("axis float", base, -1.0),
        ("axis None", base, None),
        ("axis out of range", base, 5),
        ("axis huge", base, 10**30),
    ]
    return cases


DECLINED = declined_inputs()


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize(("label", "x", "axis"), DECLINED, ids=[c[0] for c in DECLINED])
def test_declined_cases(name, label, x, axis):
    assert _kernels.rowwise_fast(OPS[name], x, axis) is None


def public_or_error(function, x, axis):
    try:
        return "ok", function(x, axis=axis)
    except Exception as exc:  # the error type and message are part of the API
        return "error", (type(exc), str(exc))


def general_or_error(name, x, axis):
    """The general path run explicitly: the public function with the fast path
    made to decline everything."""
    try:
        a = np.asarray(x) if not isinstance(x, np.ndarray) else x
        if name in ("softmax", "log_softmax"):
            kernel = getattr(_kernels, f"{name}_2d")
            return "ok", _api._rowwise(kernel, x, axis, None)
        if a.ndim == 0 or not isinstance(axis, (int, np.integer)):
            return public_or_error(csoftmax.logsumexp, x, axis)
        ax = axis % a.ndim if -a.ndim <= axis < a.ndim else axis
        kept = csoftmax.logsumexp(x, axis=axis, keepdims=True)
        return "ok", np.squeeze(kept, axis=ax)
    except Exception as exc:
        return "error", (type(exc), str(exc))


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize(("label", "x", "axis"), DECLINED, ids=[c[0] for c in DECLINED])
def test_declined_cases_keep_general_behaviour(name, label, x, axis):
    kind, got = public_or_error(getattr(csoftmax, name), x, axis)
    want_kind, want = general_or_error(name, x, axis)
    assert kind == want_kind, f"{label}: public {kind} {got!r}, general {want_kind} {want!r}"
    if kind == "error":
        assert got == want
    else:
        assert type(got) is np.ndarray
        assert_same(got, want)


def test_errors_the_general_path_raises_still_raised():
    with pytest.raises(np.exceptions.AxisError):
        csoftmax.softmax(np.array(1.0))
    with pytest.raises(TypeError, match="complex"):
        csoftmax.softmax(np.ones(3, dtype=complex))
    with pytest.raises(np.exceptions.AxisError):
        csoftmax.log_softmax(np.ones((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        csoftmax.logsumexp(np.ones((2, 3)), axis=1.0)


def test_out_and_keepdims_take_the_general_path():
    x = rng().standard_normal((5, 7))
    out = np.empty_like(x)
    assert csoftmax.softmax(x, out=out) is out
    assert csoftmax.log_softmax(x, out=out) is out
    kept = csoftmax.logsumexp(x, keepdims=True)
    assert kept.shape == (5, 1)
    assert_same(kept[:, 0], csoftmax.logsumexp(x))


def test_unknown_operation_raises():
    with pytest.raises(ValueError, match="unknown fast-path operation"):
        _kernels.rowwise_fast(7, np.ones(3))


def test_logsumexp_of_a_vector_is_a_0d_array_like_the_general_path():
    x = np.array([1000.0, 1000.0])
    got = csoftmax.logsumexp(x)
    assert type(got) is np.ndarray and got.shape == () and got.dtype == np.float64
    assert float(got) == 1000.6931471805599


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threaded_sizes(dtype):
    """Above the GIL-release and thread thresholds: still the general path's result."""
    x = rng().standard_normal((2048, 300)).astype(dtype)
    for name, op in OPS.items():
        assert_same(_kernels.rowwise_fast(op, x), general(name, x))


def _has_options(function):
    import inspect
    parameters = inspect.signature(function).parameters
    return "temperature" in parameters and "where" in parameters


@pytest.mark.parametrize("name", sorted(OPS))
def test_options_are_not_taken_by_the_fast_path(name):
    """temperature= and where= (when the API has them) change the result: the
    fast path must not answer those calls."""
    function = getattr(csoftmax, name)
    if not _has_options(function):
        pytest.skip(f"csoftmax.{name} has no temperature= / where= yet")
    x = rng().standard_normal((6, 9))
    plain = function(x)
    tempered = function(x, temperature=2.0)
    assert not np.array_equal(tempered, plain)
    np.testing.assert_allclose(tempered, function(x / 2.0), rtol=1e-12, atol=1e-12)
    mask = np.ones(x.shape, dtype=bool)
    mask[:, 0] = False
    masked = function(x, where=mask)
    assert not np.array_equal(masked, plain)
    np.testing.assert_allclose(masked, _masked_reference(name, x, mask), rtol=1e-12,
                               atol=1e-12)
    # default-valued options given explicitly: the same result as the plain call
    for options in ({"temperature": 1.0}, {"temperature": 1}, {"where": None},
                    {"temperature": np.float64(1.0)}):
        assert_same(function(x, **options), plain)


def _masked_reference(name, x, mask):
    """The result on the unmasked columns (here: all but column 0), computed
    on those columns alone, with the masked places as the API defines them."""
    kept = x[:, 1:]
    if name == "logsumexp":
        return general(name, np.ascontiguousarray(kept))
    inner = general(name, np.ascontiguousarray(kept))
    fill = 0.0 if name == "softmax" else -np.inf
    return np.concatenate([np.full((x.shape[0], 1), fill), inner], axis=1)
