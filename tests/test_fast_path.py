"""The call-overhead fast path (csoftmax._kernels.rowwise_fast).

softmax / log_softmax / logsumexp of an exact ndarray, float32 or float64,
C-contiguous, aligned, native byte order, over its last axis, without options,
skip the Python input policy and go straight to the C kernel; with out= too
when `out` is an exact ndarray of the result's dtype and shape, C-contiguous,
aligned, writeable, native byte order, and either `x` itself (in place) or
disjoint from it. Checked:

- on every input it takes, it gives bitwise the general path's result (same
  kernels, same rows), dtype and shape, in a new C-contiguous writeable array;
  the input is not modified;
- with out=: it returns `out` itself holding bitwise the general path's
  result, in place (out is x, or another array over exactly x's memory) on
  tiny and wide rows, on every ISA and on the threaded sizes; it declines every
  other `out` (wrong shape or dtype, Fortran order, strided, misaligned,
  byte-swapped, read-only, subclass, non-array, partially overlapping x, and
  logsumexp's out over x's memory) without writing to it, and the public
  functions then give the general path's result or its error, with `out`
  untouched on error;
- over another axis of C-ordered input (the (N, C, d) layout along axis 1)
  it calls the column kernels as the general path does, bitwise its result,
  with out= too (in place included); there it declines temperature, where
  and Fortran order;
- it declines (returns None) everything else: float16, integers, booleans,
  longdouble, complex, Fortran order, strided and misaligned views,
  byte-swapped arrays, subclasses, non-arrays, 0-d and empty arrays, an axis
  out of range, a non-int axis; and the public functions then give what the
  general path gives (values, dtype, errors);
- large calls release the GIL (tests/test_threads.py checks the harness).
"""
import numpy as np
import pytest

import csoftmax
from csoftmax import _api, _kernels
from conftest import general_targets

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
    # the public function on the same input (fast path) agrees too; a
    # vector's logsumexp is a NumPy scalar there
    for public in (getattr(csoftmax, name)(x), getattr(csoftmax, name)(x, axis=x.ndim - 1)):
        if want.ndim == 0:
            assert type(public) is want.dtype.type
            public = np.asarray(public)
        assert_same(public, want)


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
        ("fortran axis 0", np.asfortranarray(base), 0),
        ("strided rows axis 0", big[::2, :10], 0),
        ("axis numpy int", base, np.int64(-1)),
        ("axis float", base, -1.0),
        ("axis None", base, None),
        ("axis out of range", base, 5),
        ("axis out of range below", base, -3),
        ("axis huge", base, 10**30),
    ]
    return cases


DECLINED = declined_inputs()


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize(("label", "x", "axis"), DECLINED, ids=[c[0] for c in DECLINED])
def test_declined_cases(name, label, x, axis):
    assert _kernels.rowwise_fast(OPS[name], x, axis) is None


# (shape, axis) for the column kernels: inner 1, one slab, many slabs, an
# axis of length 1, and sizes past the GIL-release and thread thresholds
COLUMN_CASES = [((6, 10), 0), ((6, 10), -2), ((2, 3, 4), 0), ((2, 3, 4), 1), ((4, 5, 1), 1),
                ((3, 1, 7), 1), ((3, 4, 5, 6), 2), ((2, 21, 4096), 1), ((3, 1, 40_000), 0)]


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axis"), COLUMN_CASES,
                         ids=[f"{'x'.join(map(str, s))} axis {a}" for s, a in COLUMN_CASES])
def test_other_axes_taken_equal_general_path(isa, name, dtype, shape, axis):
    x = logits(shape, dtype)
    before = x.copy()
    want = general(name, x, axis)
    got = _kernels.rowwise_fast(OPS[name], x, axis)
    assert got is not None, "the fast path declined a case it must take"
    assert_same(got, want)
    assert got.flags.c_contiguous and got.flags.writeable and got.flags.owndata
    assert x.tobytes() == before.tobytes(), "input modified"
    assert_same(getattr(csoftmax, name)(x, axis=axis), want)
    # the reference (moving the axis last) agrees to rounding
    from csoftmax import reference
    np.testing.assert_allclose(want, getattr(reference, name)(x.astype(np.float64), axis=axis),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    if name == "logsumexp":
        assert _kernels.rowwise_fast(OPS[name], x, axis, np.empty(want.shape, dtype)) is None
        return  # no out= in the public logsumexp
    out = np.full(shape, SENTINEL, dtype=dtype)
    assert _kernels.rowwise_fast(OPS[name], x, axis, out) is out
    assert_same(out, want)
    y = x.copy()
    assert _kernels.rowwise_fast(OPS[name], y, axis, y) is y
    assert_same(y, want)
    public = np.full(shape, SENTINEL, dtype=dtype)
    assert getattr(csoftmax, name)(x, axis=axis, out=public) is public
    assert_same(public, want)


@pytest.mark.parametrize("name", sorted(OPS))
def test_other_axes_with_options_declined(name):
    x = logits((3, 5, 4), np.float64)
    mask = np.ones(x.shape, dtype=bool)
    assert _kernels.rowwise_fast(OPS[name], x, 1, None, 0.5) is None
    assert _kernels.rowwise_fast(OPS[name], x, 1, None, 1.0, mask) is None
    assert _kernels.rowwise_fast(OPS[name], x, 1, None, 1.0, mask[0, 0]) is None
    assert _kernels.rowwise_fast(OPS[name], x, 1) is not None


def test_other_axes_partially_overlapping_out_declined():
    buffer = np.zeros(2 * 3 * 4 + 1)
    x, out = buffer[:-1].reshape(2, 3, 4), buffer[1:].reshape(2, 3, 4)
    x[...] = logits((2, 3, 4), np.float64)
    want = general("softmax", x.copy(), 1)
    before = out.copy()
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, 1, out) is None
    assert out.tobytes() == before.tobytes()
    assert csoftmax.softmax(x, axis=1, out=out) is out
    assert_same(out, want)


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
        reduced = np.squeeze(kept, axis=ax)
        return "ok", reduced if reduced.ndim else reduced[()]
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
        assert type(got) is type(want)
        assert_same(np.asarray(got), np.asarray(want))


def test_errors_the_general_path_raises_still_raised():
    with pytest.raises(np.exceptions.AxisError):
        csoftmax.softmax(np.array(1.0))
    with pytest.raises(TypeError, match="complex"):
        csoftmax.softmax(np.ones(3, dtype=complex))
    with pytest.raises(np.exceptions.AxisError):
        csoftmax.log_softmax(np.ones((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        csoftmax.logsumexp(np.ones((2, 3)), axis=1.0)


def test_keepdims_takes_the_general_path():
    x = rng().standard_normal((5, 7))
    kept = csoftmax.logsumexp(x, keepdims=True)
    assert kept.shape == (5, 1)
    assert_same(kept[:, 0], csoftmax.logsumexp(x))


def test_unknown_operation_raises():
    with pytest.raises(ValueError, match="unknown fast-path operation"):
        _kernels.rowwise_fast(7, np.ones(3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32])
def test_logsumexp_of_a_vector_is_a_numpy_scalar_on_every_path(dtype):
    """As np.max and scipy.special.logsumexp: a scalar of the result dtype,
    from the fast path and from each general one (keepdims, temperature,
    where, an empty axis) alike; keepdims keeps an array."""
    x = np.array([3.0, 3.0]).astype(dtype)
    result = np.dtype(np.float64 if dtype == np.int32 else dtype).type
    for got in (csoftmax.logsumexp(x), csoftmax.logsumexp(x, temperature=1.0 + 0.0),
                csoftmax.logsumexp(x, temperature=2.0), csoftmax.logsumexp(x, where=[True, True]),
                csoftmax.logsumexp(x[:0].astype(dtype))):
        assert type(got) is result, (type(got), result)
        assert np.ndim(got) == 0
    assert float(csoftmax.logsumexp(x)) == pytest.approx(3.0 + np.log(2.0), rel=1e-3)
    assert csoftmax.logsumexp(x[:0]) == -np.inf
    kept = csoftmax.logsumexp(x, keepdims=True)
    assert type(kept) is np.ndarray and kept.shape == (1,)


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


# ---------------------------------------------------------------------------
# out=

ROW_OPS = {"softmax": _kernels.FAST_SOFTMAX, "log_softmax": _kernels.FAST_LOG_SOFTMAX}
SENTINEL = 12345.0
# SHAPES and more tiny rows, so that in place meets every tiny-row tile path of
# simd_body.h (gathers: few rows; permute plans: float32 with <= 4 columns and
# >= 32 rows on AVX2; in-register transposes) with partial last tiles
OUT_SHAPES = SHAPES + [(100, 3), (33, 4), (1000, 1), (13, 2), (45, 5), (9, 7), (37, 16),
                       (6, 17)]


def logits(shape, dtype):
    """Seeded logits with infinities, NaN and zeros sprinkled in."""
    x = (rng().standard_normal(shape) * 6).astype(dtype)
    x.flat[::7] = np.array([np.inf, -np.inf, np.nan, 0.0])[np.arange(x.flat[::7].size) % 4]
    return x


def general_into(name, x, out):
    """The general (Python policy) path writing into `out`."""
    return _api._rowwise(getattr(_kernels, f"{name}_2d"), x, -1, out)


def result_shape(name, x):
    return x.shape[:-1] if name == "logsumexp" else x.shape


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", OUT_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_out_taken_equals_general_path(isa, name, dtype, shape):
    x = logits(shape, dtype)
    before = x.copy()
    want = general(name, x)
    out = np.full(result_shape(name, x), SENTINEL, dtype=dtype)
    got = _kernels.rowwise_fast(OPS[name], x, -1, out)
    assert got is out, "the fast path declined an out= it must take"
    assert_same(out, want)
    assert x.tobytes() == before.tobytes(), "input modified"
    if name == "logsumexp":
        return  # no out= in the public logsumexp
    # the general path into out, forced by a subclass input of the same values
    forced = np.full(shape, SENTINEL, dtype=dtype)
    assert getattr(csoftmax, name)(x.view(Subclass), out=forced) is forced
    assert_same(forced, want)
    assert_same(general_into(name, x, np.full(shape, SENTINEL, dtype=dtype)), want)
    # the public function (fast path) with out=
    public = np.full(shape, SENTINEL, dtype=dtype)
    assert getattr(csoftmax, name)(x, out=public) is public
    assert_same(public, want)
    assert np.shares_memory(getattr(csoftmax, name)(x, axis=x.ndim - 1, out=public), public)


@pytest.mark.parametrize("name", sorted(ROW_OPS))
def test_public_out_calls_take_the_fast_path(monkeypatch, name):
    x = rng().standard_normal((4, 9))
    want = general(name, x)

    def no_general_path(*args, **kwargs):
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(_api, "_rowwise", no_general_path)
    out = np.empty_like(x)
    assert getattr(csoftmax, name)(x, out=out) is out
    assert_same(out, want)
    y = x.copy()
    assert getattr(csoftmax, name)(y, out=y) is y
    assert_same(y, want)


@pytest.mark.parametrize("name", sorted(ROW_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", OUT_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_out_is_x_in_place(isa, name, dtype, shape):
    """In place on every kernel path: tiny-row tiles (plans, transposes,
    gathers), wide rows, rows split across threads."""
    x = logits(shape, dtype)
    want = general(name, x)
    y = x.copy()
    assert _kernels.rowwise_fast(ROW_OPS[name], y, -1, y) is y
    assert_same(y, want)
    # another array object over exactly the same memory
    z = x.copy()
    alias = z.view()
    assert _kernels.rowwise_fast(ROW_OPS[name], z, -1, alias) is alias
    assert_same(z, want)
    # the public function
    w = x.copy()
    assert getattr(csoftmax, name)(w, out=w) is w
    assert_same(w, want)


@pytest.mark.parametrize("name", sorted(ROW_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_threaded_sizes(name, dtype):
    x = rng().standard_normal((2048, 300)).astype(dtype)
    want = general(name, x)
    assert _kernels.rowwise_fast(ROW_OPS[name], x, -1, x) is x
    assert_same(x, want)


def overlapping_pairs(shape, dtype):
    """(label, x, out) with out partially overlapping x: views of one buffer
    offset by one element, by one row, and x inside a larger out."""
    n = int(np.prod(shape))
    cols = shape[-1]
    pairs = []
    offsets = (1, -1, cols, -cols) if n > cols else (1, -1)
    for offset in offsets:
        buffer = np.zeros(n + abs(offset), dtype=dtype)
        lo, hi = (0, offset) if offset > 0 else (-offset, 0)
        x = buffer[lo:lo + n].reshape(shape)
        out = buffer[hi:hi + n].reshape(shape)
        pairs.append((f"offset {offset}", x, out))
    return pairs


@pytest.mark.parametrize("name", sorted(ROW_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(10,), (33,), (5, 3), (64, 17), (7, 1000), (1, 10)],
                         ids=lambda s: "x".join(map(str, s)))
def test_partially_overlapping_out_takes_the_general_path(isa, name, dtype, shape):
    for label, x, out in overlapping_pairs(shape, dtype):
        assert np.shares_memory(x, out) and x.ctypes.data != out.ctypes.data, label
        x[...] = logits(shape, dtype)
        want = general(name, x.copy())
        before = np.array(out)
        assert _kernels.rowwise_fast(ROW_OPS[name], x, -1, out) is None, label
        assert out.tobytes() == before.tobytes(), f"{label}: out written by a declined call"
        assert getattr(csoftmax, name)(x, out=out) is out, label
        assert_same(out, want)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(10,), (5, 3), (7, 1000)], ids=lambda s: "x".join(map(str, s)))
def test_adjacent_out_is_taken(name, dtype, shape):
    """out right after or right before x in one buffer: no overlap, taken."""
    x_values = logits(shape, dtype)
    want = general(name, x_values)
    n, m = x_values.size, int(np.prod(result_shape(name, x_values)))
    for x_first in (True, False):
        buffer = np.full(n + m, SENTINEL, dtype=dtype)
        if x_first:
            x, out = buffer[:n].reshape(shape), buffer[n:].reshape(result_shape(name, x_values))
        else:
            out, x = buffer[:m].reshape(result_shape(name, x_values)), buffer[m:].reshape(shape)
        x[...] = x_values
        assert not np.shares_memory(x, out)
        assert _kernels.rowwise_fast(OPS[name], x, -1, out) is out
        assert_same(out, want)
        assert x.tobytes() == x_values.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_out_over_x_is_declined(dtype):
    """logsumexp's out is shorter than x: any overlap, even the same start, is declined."""
    x = logits((6, 5), dtype)
    flat = x.reshape(-1)
    for out in (flat[:6], flat[3:9], flat[-6:]):
        before = x.copy()
        assert _kernels.rowwise_fast(_kernels.FAST_LOGSUMEXP, x, -1, out) is None
        assert x.tobytes() == before.tobytes()
    vector = logits((9,), dtype)
    assert _kernels.rowwise_fast(_kernels.FAST_LOGSUMEXP, vector, -1, vector[4:5].reshape(())) \
        is None
    scalar = np.full((), SENTINEL, dtype=dtype)
    assert _kernels.rowwise_fast(_kernels.FAST_LOGSUMEXP, vector, -1, scalar) is scalar
    assert_same(scalar, general("logsumexp", vector))


def declined_outs(x):
    """(label, out) the fast path must decline for x of shape (rows, cols), float64."""
    shape = x.shape
    big = np.full((shape[0], 2 * shape[1]), SENTINEL)
    raw = np.zeros(x.size * 8 + 1, dtype=np.uint8)
    misaligned = raw[1:].view(np.float64).reshape(shape)
    misaligned[...] = SENTINEL
    read_only = np.full(shape, SENTINEL)
    read_only.flags.writeable = False
    return [
        ("float32", np.full(shape, SENTINEL, dtype=np.float32)),
        ("float16", np.full(shape, SENTINEL, dtype=np.float16)),
        ("longdouble", np.full(shape, SENTINEL, dtype=np.longdouble)),
        ("complex", np.full(shape, SENTINEL, dtype=complex)),
        ("int64", np.zeros(shape, dtype=np.int64)),
        ("bool", np.zeros(shape, dtype=bool)),
        ("wrong shape", np.full(shape[::-1], SENTINEL)),
        ("flat", np.full(x.size, SENTINEL)),
        ("extra axis", np.full((1,) + shape, SENTINEL)),
        ("fortran", np.asfortranarray(np.full(shape, SENTINEL))),
        ("strided", big[:, ::2]),
        ("misaligned", misaligned),
        ("byte-swapped", np.full(shape, SENTINEL, dtype=x.dtype.newbyteorder())),
        ("read-only", read_only),
        ("subclass", np.full(shape, SENTINEL).view(Subclass)),
        ("list", [[SENTINEL] * shape[1]] * shape[0]),
        ("matrix-like object", object()),
    ]


DECLINED_OUT_LABELS = [label for label, _ in declined_outs(np.zeros((6, 10)))]


def snapshot(out):
    return np.array(out, copy=True) if isinstance(out, np.ndarray) else out


def public_or_error_into(name, x, out):
    try:
        return "ok", getattr(csoftmax, name)(x, out=out)
    except Exception as exc:
        return "error", (type(exc), str(exc))


def general_or_error_into(name, x, out):
    try:
        return "ok", general_into(name, x, out)
    except Exception as exc:
        return "error", (type(exc), str(exc))


@pytest.mark.parametrize("name", sorted(ROW_OPS))
@pytest.mark.parametrize("label", DECLINED_OUT_LABELS)
def test_declined_out_keeps_general_behaviour(name, label):
    x = rng().standard_normal((6, 10))
    out = dict(declined_outs(x))[label]
    before = snapshot(out)
    assert _kernels.rowwise_fast(ROW_OPS[name], x, -1, out) is None
    if isinstance(out, np.ndarray):
        assert out.tobytes() == before.tobytes(), "out written by a declined call"
    kind, got = public_or_error_into(name, x, out)
    public_out = snapshot(out)
    twin = dict(declined_outs(x))[label]  # a fresh out of the same kind
    want_kind, want = general_or_error_into(name, x, twin)
    assert kind == want_kind, f"public {kind} {got!r}, general {want_kind} {want!r}"
    if kind == "error":
        assert got == want
        if isinstance(out, np.ndarray):
            assert out.tobytes() == before.tobytes(), "out written on error"
    else:
        assert got is out
        assert type(public_out) is type(snapshot(twin))
        assert public_out.dtype == twin.dtype
        assert public_out.tobytes() == np.array(twin).tobytes()


@pytest.mark.parametrize("name", sorted(ROW_OPS))
def test_declined_x_with_out_keeps_general_behaviour(name):
    """x the fast path declines (float16, strided, subclass, another axis) with an
    out it would take: the general path's result in out."""
    base = rng().standard_normal((6, 10))
    for x, dtype, axis in ((base.astype(np.float16), np.float16, -1),
                           (np.repeat(base, 2, axis=1)[:, ::2], np.float64, -1),
                           (base.view(Subclass), np.float64, -1),
                           (base, np.float64, 0),
                           (base.tolist(), np.float64, -1)):
        out = np.full((6, 10), SENTINEL, dtype=dtype)
        twin = out.copy()
        assert getattr(csoftmax, name)(x, axis=axis, out=out) is out
        kernel = getattr(_kernels, f"{name}_2d")
        _api._rowwise(kernel, x, axis, twin)
        assert_same(out, twin)


@pytest.mark.parametrize("name", sorted(ROW_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_errors_leave_out_untouched(name, dtype):
    x = rng().standard_normal((3, 4)).astype(dtype)
    function = getattr(csoftmax, name)
    cases = [
        (np.full((4, 3), SENTINEL, dtype=dtype), ValueError, r"out has shape \(4, 3\)"),
        (np.full((3, 4, 1), SENTINEL, dtype=dtype), ValueError, "out has shape"),
        (np.zeros((3, 4), dtype=np.int64), TypeError, "out has dtype int64"),
        (np.full((3, 4), SENTINEL, dtype=dtype).view(Subclass)[:, :3], ValueError,
         "out has shape"),
    ]
    read_only = np.full((3, 4), SENTINEL, dtype=dtype)
    read_only.flags.writeable = False
    cases.append((read_only, ValueError, "out is read-only"))
    for out, error, message in cases:
        before = out.copy()
        with pytest.raises(error, match=message):
            function(x, out=out)
        assert out.tobytes() == before.tobytes()
    out = np.full((3, 4), SENTINEL, dtype=dtype)
    with pytest.raises(np.exceptions.AxisError):
        function(x, axis=2, out=out)
    with pytest.raises(TypeError, match="temperature must be a real number"):
        function(x, out=out, temperature="2")
    assert np.all(out == SENTINEL)


@pytest.mark.parametrize("name", sorted(ROW_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(10,), (4, 9), (3, 2000)], ids=lambda s: "x".join(map(str, s)))
def test_read_only_x_with_out(name, dtype, shape):
    x = logits(shape, dtype)
    x.flags.writeable = False
    want = general(name, x)
    out = np.full(shape, SENTINEL, dtype=dtype)
    assert _kernels.rowwise_fast(ROW_OPS[name], x, -1, out) is out
    assert_same(out, want)
    # out is x, read-only: declined, and the general path's error
    before = x.copy()
    assert _kernels.rowwise_fast(ROW_OPS[name], x, -1, x) is None
    with pytest.raises(ValueError, match="out is read-only"):
        getattr(csoftmax, name)(x, out=x)
    assert x.tobytes() == before.tobytes()


@pytest.mark.parametrize("name", sorted(ROW_OPS))
def test_out_with_options_takes_the_general_path(name):
    """temperature / where with out=: not the fast path, and their own result."""
    function = getattr(csoftmax, name)
    if not _has_options(function):
        pytest.skip(f"csoftmax.{name} has no temperature= / where= yet")
    x = rng().standard_normal((5, 8))
    out = np.empty_like(x)
    assert function(x, out=out, temperature=2.0) is out
    assert_same(out, function(x, temperature=2.0))
    mask = np.ones(x.shape, dtype=bool)
    mask[:, 0] = False
    assert function(x, out=out, where=mask) is out
    assert_same(out, function(x, where=mask))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5), (16, 64), (300, 7), (2, 3000)],
                         ids=lambda s: "x".join(map(str, s)))
def test_new_outputs_on_cache_lines(dtype, shape):
    """The fast paths' new outputs of 4 KiB and more (softmax, log_softmax,
    the cross-entropy and binary cross-entropy gradients) start on a 64-byte
    boundary (csoftmax/_alloc.h) and behave as any NumPy array: they own
    their data, hold the values, resize (NumPy's realloc through the same
    handler), pickle and copy; smaller ones are NumPy's own."""
    import pickle
    gen = rng()
    x = gen.standard_normal(shape).astype(dtype)
    t = gen.integers(0, shape[1], shape[0])
    y01 = (gen.random(shape) < 0.5).astype(dtype)
    outputs = {
        "softmax": csoftmax.softmax(x), "log_softmax": csoftmax.log_softmax(x),
        "cross_entropy grad": csoftmax.cross_entropy_with_grad(x, t)[1],
        "cross_entropy grad, smoothing": csoftmax.cross_entropy_with_grad(
            x, t, label_smoothing=0.1)[1],
        "bce grad": csoftmax.binary_cross_entropy_with_grad(x, y01)[1],
    }
    expected = {
        "softmax": general("softmax", x), "log_softmax": general("log_softmax", x),
        "cross_entropy grad": csoftmax.cross_entropy_with_grad(x, general_targets(t))[1],
        "cross_entropy grad, smoothing": csoftmax.cross_entropy_with_grad(
            x, general_targets(t), label_smoothing=0.1)[1],
        "bce grad": csoftmax.binary_cross_entropy_with_grad(x, y01.tolist())[1],
    }
    for name, y in outputs.items():
        assert y.flags.owndata and y.flags.c_contiguous and y.flags.writeable, name
        ours = y.nbytes >= 4096
        if ours:
            assert y.ctypes.data % 64 == 0, name
        assert y.tobytes() == expected[name].tobytes(), name
        assert pickle.loads(pickle.dumps(y)).tobytes() == y.tobytes()
        head = y.ravel()[:7].copy()
        y.resize(y.size + 1000, refcheck=False)  # grown: a new block, the old values kept
        assert y.ctypes.data % 64 == 0 or not ours, name
        assert y[:7].tobytes() == head.tobytes() and y.size == x.size + 1000
        y.resize(3, refcheck=False)
        assert y.tobytes() == head[:3].tobytes()
