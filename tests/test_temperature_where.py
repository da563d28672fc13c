"""softmax / log_softmax / logsumexp with temperature= and where= (issue 5):
against csoftmax.reference (extended precision) under every ISA, dtypes, row
lengths, layouts, mask broadcast shapes, fully masked rows, masked non-finite
values, temperature extremes, out=, errors, and input / out safety."""
import numpy as np
import pytest

import csoftmax
from csoftmax import reference

from accuracy_helpers import ULPS, assert_ulps, dyadic, ulp_errors

FUNCS = ["softmax", "log_softmax", "logsumexp"]
FLOATS = [np.float16, np.float32, np.float64]
LENGTHS = [1, 2, 3, 7, 8, 9, 16, 17, 33, 1000, 100000]
LD = np.longdouble


def _rows_for(n):
    return max(1, min(16, 4096 // n))


def call(name, x, **kwargs):
    return getattr(csoftmax, name)(x, **kwargs)


def expected(name, x, **kwargs):
    return getattr(reference, name)(x, **kwargs)


def check(name, actual, x, dtype, axis=-1, bound_scale=1.0, **options):
    """`actual` against the reference with the same options: NaN / inf
    positions exactly, finite values within the ulp bound (scaled for
    tempered inputs, whose x / T is not exact in the working precision)."""
    exact = expected(name, x, axis=axis, dtype=LD, **options)
    if name == "logsumexp":
        # allow the m + L cancellation term as accuracy_helpers does
        u = LD(np.finfo(np.float32 if np.dtype(dtype) == np.float16 else dtype).eps) / 2
        shift = expected("logsumexp", np.zeros_like(np.asarray(x, dtype=np.float64)), axis=axis,
                         dtype=LD, where=options.get("where"))
        level = np.where(np.isfinite(shift), np.abs(shift), 0) + 1
        extra = 8 * u * level
    else:
        extra = 0
    err = ulp_errors(actual, exact, dtype, extra)
    bound = ULPS[name][np.dtype(dtype).type] * bound_scale
    worst = float(err.max()) if err.size else 0.0
    assert worst <= bound, f"{name} {np.dtype(dtype)} {options}: {worst:.3g} ulp > {bound}"


# --------------------------------------------------------------------------
# accuracy against the reference, dtype x ISA x row length


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCS)
def test_temperature_matches_reference(name, dtype, n, isa, rng):
    """Temperature 2 (x / 2 is exact for dyadic x): the error is the kernel's
    alone, within the stated ulp bound."""
    x = dyadic(rng, (_rows_for(n), n), dtype)
    y = call(name, x, temperature=2.0)
    assert y.dtype == dtype
    check(name, y, x, dtype, temperature=2.0)


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCS)
def test_where_matches_reference(name, dtype, n, isa, rng):
    rows = _rows_for(n)
    x = dyadic(rng, (rows, n), dtype)
    mask = rng.random((rows, n)) < 0.7
    mask[0] = False                      # one fully masked row
    if rows > 1:
        mask[1] = True                   # and one with nothing masked
    y = call(name, x, where=mask)
    assert y.dtype == dtype
    check(name, y, x, dtype, where=mask)


@pytest.mark.parametrize("n", [3, 17, 1000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("temperature", [1e-3, 0.37, 3.0, 1e3])
def test_temperature_and_where_extremes(name, temperature, dtype, n, isa, rng):
    """Temperatures 1e-3 .. 1e3 with a mask: x / T is not exact, so the bound
    grows with |x - max| / T (the problem's condition, as for plain inputs)."""
    rows = 8
    x = rng.normal(0, 4, (rows, n)).astype(dtype)
    mask = rng.random((rows, n)) < 0.6
    y = call(name, x, temperature=temperature, where=mask)
    exact = expected(name, x, dtype=LD, temperature=temperature, where=mask)
    u = LD(np.finfo(dtype).eps) / 2
    with np.errstate(all="ignore"):
        xl = np.where(mask, x.astype(LD), -np.inf)
        z = np.abs(xl - np.max(xl, axis=-1, keepdims=True)) / LD(temperature)
        z = np.where(np.isfinite(z), z, 0)
    if name == "softmax":
        extra = np.abs(exact) * (4 * z * u)
    elif name == "log_softmax":
        extra = 4 * (z + np.max(z, axis=-1, keepdims=True) + 1) * u
    else:
        extra = 4 * (np.max(z, axis=-1) + np.abs(exact) + 1) * u
    err = ulp_errors(y, exact, dtype, extra)
    assert float(err.max()) <= ULPS[name][dtype], float(err.max())


@pytest.mark.parametrize("n", [2, 3, 17, 1000])
@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "where"])
@pytest.mark.parametrize("temperature", [2.9e-39, 1e-39, 1e-44])
def test_temperature_below_one_over_float32_max(temperature, masked, dtype, n, isa):
    """1 / T beyond float32's range (T < 1 / FLT_MAX): computed in float64 and
    rounded back, so the results are the exact ones (a cast of 1 / T to
    float32 gave NaN at the maximum, its clamp to FLT_MAX wrong finite values
    wherever (x - max) / T is finite, as for logits of 1e-38)."""
    scale = 1e-38 if dtype == np.float32 else 1.0
    x = (np.tile(np.linspace(-1.0, 1.0, n), (4, 1)) * scale).astype(dtype)
    x[1] = x[1, ::-1]
    x[3] *= 0.0
    where = np.ones(x.shape, bool) if masked else None
    for name in FUNCS:
        got = call(name, x, temperature=temperature, where=where)
        want = expected(name, x, temperature=temperature, where=where)
        assert got.dtype == want.dtype == dtype
        assert not np.isnan(got).any(), name
        np.testing.assert_array_max_ulp(got, want, maxulp=1, dtype=dtype)


def test_tiny_logits_tiny_temperature_float32():
    """x / T finite while 1 / T overflows float32 (the reviewer's case)."""
    x = np.array([1e-38, -1e-38], np.float32)
    y = csoftmax.softmax(x, temperature=1e-39)
    np.testing.assert_allclose(y, [1 / (1 + np.exp(-20.0)), np.exp(-20.0) / (1 + np.exp(-20.0))],
                               rtol=2e-6)
    assert abs(float(csoftmax.logsumexp(x, temperature=1e-39)) - 10.0) < 1e-5


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCS)
def test_integer_input_promoted(name, dtype, rng):
    x = rng.integers(0, 2 if dtype is np.bool_ else 100, (5, 9)).astype(dtype)
    mask = rng.random((5, 9)) < 0.5
    y = call(name, x, temperature=4.0, where=mask)
    assert y.dtype == np.float64
    check(name, y, x, np.float64, temperature=4.0, where=mask)
    np.testing.assert_array_equal(
        y, call(name, x.astype(np.float64), temperature=4.0, where=mask))


# --------------------------------------------------------------------------
# layouts and axes


def _layouts(rng, dtype):
    base = dyadic(rng, (6, 5, 11), dtype)
    yield "c", base
    yield "fortran", np.asfortranarray(base)
    yield "strided", dyadic(rng, (12, 5, 22), dtype)[::2, :, ::2]
    yield "transposed", dyadic(rng, (11, 5, 6), dtype).T
    readonly = base.copy()
    readonly.flags.writeable = False
    yield "readonly", readonly


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCS)
def test_layouts_and_axes(name, dtype, axis, isa, rng):
    for label, x in _layouts(rng, dtype):
        mask = rng.random(x.shape) < 0.6
        for options in ({"temperature": 0.5}, {"where": mask},
                        {"temperature": 2.0, "where": np.asfortranarray(mask)}):
            y = call(name, x, axis=axis, **options)
            check(name, y, x, dtype, axis=axis, **options)
            # same result as on a C-contiguous copy
            np.testing.assert_array_equal(
                y, call(name, np.ascontiguousarray(x), axis=axis, **options), err_msg=label)


MASK_SHAPES = [(11,), (1, 11), (5, 1), (6, 1, 1), (6, 5, 1), (1, 5, 11), (6, 1, 11), (6, 5, 11),
               (), (1,)]


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("shape", MASK_SHAPES, ids=str)
@pytest.mark.parametrize("name", FUNCS)
def test_mask_broadcast_shapes(name, shape, axis, isa, rng):
    """Every broadcast shape of the mask gives what the fully materialised
    mask gives, and matches the reference."""
    x = dyadic(rng, (6, 5, 11), np.float64)
    mask = rng.random(shape) < 0.6
    full = np.ascontiguousarray(np.broadcast_to(mask, x.shape))
    y = call(name, x, axis=axis, where=mask)
    np.testing.assert_array_equal(y, call(name, x, axis=axis, where=full))
    check(name, y, x, np.float64, axis=axis, where=mask)


def test_mask_views_need_no_copy(monkeypatch):
    """On the general path (x strided), the mask reaches the kernel as a
    uint8 view of the caller's bool data: a mask broadcast along the rows
    with row stride 0, a contiguous one as is."""
    from csoftmax import _api, _kernels
    seen = []
    original = _kernels.masked_softmax_2d

    def spy(x, mask, inverse, out):
        seen.append(mask)
        return original(x, mask, inverse, out)

    monkeypatch.setattr(_kernels, "masked_softmax_2d", spy)
    x = np.zeros((4, 3, 16))[..., ::2]
    row = np.array([True, False] * 4)
    full = np.ones((4, 3, 8), dtype=bool)
    _api.softmax(x, where=row)
    _api.softmax(x, where=full)
    assert seen[0].dtype == np.uint8 and seen[0].strides == (0, 1)
    assert np.shares_memory(seen[0], row)
    assert seen[1].strides == (8, 1) and np.shares_memory(seen[1], full)


# --------------------------------------------------------------------------
# semantics


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_fully_masked_rows(dtype, isa):
    x = np.array([[1.0, 2.0, 3.0], [np.nan, np.inf, -np.inf], [4.0, 5.0, 6.0]], dtype=dtype)
    mask = np.array([[False] * 3, [False] * 3, [True, False, True]])
    sm = csoftmax.softmax(x, where=mask)
    np.testing.assert_array_equal(sm[:2], 0)
    assert not np.isnan(sm).any()
    ls = csoftmax.log_softmax(x, where=mask)
    np.testing.assert_array_equal(ls[:2], -np.inf)
    assert ls[2, 1] == -np.inf and np.isfinite(ls[2, [0, 2]]).all()
    lse = csoftmax.logsumexp(x, where=mask)
    np.testing.assert_array_equal(lse[:2], -np.inf)
    np.testing.assert_allclose(float(lse[2]), np.logaddexp(4.0, 6.0),
                               rtol=np.finfo(dtype).eps * 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_masked_nan_and_inf_are_ignored(dtype, isa):
    x = np.array([[0.0, np.nan, 1.0, np.inf, -np.inf]] * 1, dtype=dtype)
    mask = np.array([True, False, True, False, False])
    expect = np.array([1 / (1 + np.e), 0, np.e / (1 + np.e), 0, 0])
    np.testing.assert_allclose(csoftmax.softmax(x, where=mask)[0], expect, rtol=4e-7)
    ls = csoftmax.log_softmax(x, where=mask)[0]
    np.testing.assert_array_equal(ls[[1, 3, 4]], -np.inf)
    np.testing.assert_allclose(ls[[0, 2]], np.log(expect[[0, 2]]), rtol=4e-7)
    np.testing.assert_allclose(csoftmax.logsumexp(x, where=mask), [np.logaddexp(0, 1)],
                               rtol=4e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [3, 40])
def test_kept_non_finite_values(dtype, n, isa):
    """Kept NaN / +inf / only -inf follow the unmasked rules on the kept
    entries; masked-out entries stay 0 / -inf."""
    x = np.zeros((4, n), dtype=dtype)
    x[0, 1] = np.nan          # kept NaN -> kept entries NaN
    x[1, 1] = np.inf          # kept +inf -> kept entries NaN; logsumexp +inf
    x[2, :] = -np.inf         # kept all -inf -> NaN; logsumexp -inf
    x[3, 0] = np.nan          # masked NaN -> ignored
    mask = np.ones((4, n), dtype=bool)
    mask[:, 2] = False
    mask[3, 0] = False
    sm = csoftmax.softmax(x, where=mask, temperature=3.0)
    ls = csoftmax.log_softmax(x, where=mask, temperature=3.0)
    for r in range(3):
        assert np.isnan(sm[r][mask[r]]).all() and (sm[r][~mask[r]] == 0).all()
        assert np.isnan(ls[r][mask[r]]).all() and (ls[r][~mask[r]] == -np.inf).all()
    assert np.isfinite(sm[3]).all() and abs(float(sm[3].sum(dtype=np.float64)) - 1) < 1e-6
    lse = csoftmax.logsumexp(x, where=mask, temperature=3.0)
    assert np.isnan(lse[0]) and lse[1] == np.inf and lse[2] == -np.inf and np.isfinite(lse[3])
    for name in FUNCS:
        check(name, call(name, x, where=mask, temperature=3.0), x, dtype, where=mask,
              temperature=3.0)


def test_log_softmax_keeps_tiny_values():
    """The log1p form for the maximum survives the temperature and the mask."""
    y = csoftmax.log_softmax([0.0, -40.0, 7.0], where=[True, True, False])
    assert float(y[0]) == -4.248354255291589e-18
    y = csoftmax.log_softmax([0.0, -80.0], temperature=2.0)
    assert float(y[0]) == -4.248354255291589e-18


def test_defaults_are_the_plain_functions(rng):
    x = rng.normal(size=(7, 33))
    for name in FUNCS:
        plain = call(name, x)
        np.testing.assert_array_equal(call(name, x, temperature=1.0, where=None), plain)
        # an all-True mask and T = 1 go through the masked kernel: same values to an
        # ulp, plus what rounding x - max (the masked kernel) moves exp(x - max) by
        # where the plain kernel takes x - max exactly (portable kernels)
        shift = float((x.max(axis=1, keepdims=True) - x).max()) / 2
        rtol = 4e-16 + shift * np.finfo(np.float64).eps
        np.testing.assert_allclose(call(name, x, where=np.ones(33, bool)), plain, rtol=rtol)


def test_temperature_relations(rng):
    x = rng.normal(size=(5, 17))
    np.testing.assert_allclose(csoftmax.softmax(x, temperature=0.5), csoftmax.softmax(2 * x),
                               rtol=1e-14)
    np.testing.assert_allclose(csoftmax.logsumexp(x, temperature=4.0),
                               csoftmax.logsumexp(x / 4), rtol=1e-14)
    np.testing.assert_allclose(csoftmax.log_softmax(x, temperature=1e-3),
                               csoftmax.log_softmax(x * 1e3), rtol=1e-12, atol=1e-12)
    # large x / T never overflows: only differences are scaled
    big = np.array([[3e305, 2.9e305, 1.0]])
    y = csoftmax.softmax(big, temperature=1e-3)
    np.testing.assert_array_equal(y, [[1.0, 0.0, 0.0]])
    assert csoftmax.logsumexp(np.array([1e306, 1e306]), temperature=1e-3) == np.inf


def test_keepdims_and_empty(rng):
    x = rng.normal(size=(3, 4, 5))
    mask = rng.random((4, 5)) < 0.5
    y = csoftmax.logsumexp(x, axis=1, keepdims=True, temperature=2.0, where=mask[:, :1])
    assert y.shape == (3, 1, 5)
    check("logsumexp", y[:, 0, :], x, np.float64, axis=1, temperature=2.0, where=mask[:, :1])
    empty = np.empty((3, 0))
    assert csoftmax.softmax(empty, temperature=2.0, where=np.ones((3, 0), bool)).shape == (3, 0)
    np.testing.assert_array_equal(csoftmax.logsumexp(empty, where=np.ones(0, bool)),
                                  [-np.inf] * 3)
    assert csoftmax.logsumexp(np.empty((0, 4)), temperature=3.0).shape == (0,)


# --------------------------------------------------------------------------
# out=, in place, input safety


@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_with_both_options(name, out_dtype, rng):
    x = dyadic(rng, (6, 13), np.float32)
    mask = rng.random(13) < 0.5
    out = np.full(x.shape, 7.0, dtype=out_dtype)
    r = call(name, x, out=out, temperature=2.0, where=mask)
    assert r is out
    np.testing.assert_array_equal(out, call(name, x, temperature=2.0, where=mask))
    # strided out along another axis
    out2 = np.empty((13, 6), dtype=np.float32).T
    call(name, x, out=out2, where=mask)
    np.testing.assert_array_equal(out2, call(name, x, where=mask))
    # in place
    y = x.copy()
    assert call(name, y, out=y, temperature=0.5, where=mask) is y
    np.testing.assert_array_equal(y, call(name, x, temperature=0.5, where=mask))


def test_mask_overlapping_out_is_copied(rng):
    x = rng.normal(size=(4, 8))
    out = np.zeros((4, 8))
    mask = out.view(np.uint8)[:, ::8].view(bool)   # aliases out's bytes
    mask[...] = True
    expect = csoftmax.softmax(x, where=mask.copy())
    csoftmax.softmax(x, out=out, where=mask)
    np.testing.assert_array_equal(out, expect)


@pytest.mark.parametrize("name", FUNCS)
def test_inputs_never_modified(name, rng):
    x = rng.normal(size=(5, 9)).astype(np.float32)
    x[0, 0] = np.nan
    mask = rng.random((5, 9)) < 0.5
    x0, m0 = x.copy(), mask.copy()
    call(name, x, temperature=0.3, where=mask)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(mask, m0)


# --------------------------------------------------------------------------
# errors: named argument and value; nothing written to out


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("bad", [0, 0.0, -1, -1.0, np.nan, np.inf, -np.inf, 5e-324])
def test_bad_temperature_value(name, bad):
    with pytest.raises(ValueError, match="temperature") as info:
        call(name, np.zeros((2, 3)), temperature=bad)
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("bad", ["2", None, [1.0], np.array([1.0, 2.0]), True, 1 + 1j])
def test_bad_temperature_type(name, bad):
    with pytest.raises(TypeError, match="temperature must be a real number"):
        call(name, np.zeros((2, 3)), temperature=bad)


def test_numpy_scalar_temperatures_accepted():
    x = np.arange(6.0).reshape(2, 3)
    for t in (np.float32(2.0), np.float64(2.0), np.int64(2), 2):
        np.testing.assert_array_equal(csoftmax.softmax(x, temperature=t),
                                      csoftmax.softmax(x, temperature=2.0))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("bad", [np.array([1, 0, 1]), np.array([1.0, 0.0, 1.0]), [1, 0, 1],
                                 np.array(["a", "b", "c"])])
def test_where_must_be_boolean(name, bad):
    with pytest.raises(TypeError, match="where must be a boolean array"):
        call(name, np.zeros((2, 3)), where=bad)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", [(4,), (3, 3), (2, 3, 1), (2, 2)])
def test_where_unbroadcastable(name, shape):
    with pytest.raises(ValueError, match=r"where has shape .* cannot be broadcast .*\(2, 3\)"):
        call(name, np.zeros((2, 3)), where=np.ones(shape, dtype=bool))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_untouched_on_error(name):
    out = np.full((2, 3), 5.0)
    with pytest.raises(ValueError):
        call(name, np.zeros((2, 3)), out=out, temperature=0.0)
    with pytest.raises(TypeError):
        call(name, np.zeros((2, 3)), out=out, where=np.ones((2, 3)))
    with pytest.raises(ValueError):
        call(name, np.zeros((2, 3)), out=out, where=np.ones((2,), bool))
    np.testing.assert_array_equal(out, 5.0)


def test_reference_validates_like_the_api():
    with pytest.raises(ValueError, match="temperature"):
        reference.softmax([1.0, 2.0], temperature=-1.0)
    with pytest.raises(TypeError, match="where"):
        reference.logsumexp([1.0, 2.0], where=[1, 0])
    with pytest.raises(ValueError, match="where"):
        reference.log_softmax([1.0, 2.0], where=[True, False, True])


# --------------------------------------------------------------------------
# threads and Dask


def test_threaded_equals_single_thread(rng):
    x = rng.normal(size=(3000, 70)).astype(np.float32)
    mask = rng.random((3000, 70)) < 0.7
    before = csoftmax.get_num_threads()
    try:
        csoftmax.set_num_threads(1)
        single = [call(n, x, temperature=0.7, where=mask) for n in FUNCS]
        csoftmax.set_num_threads(2)
        multi = [call(n, x, temperature=0.7, where=mask) for n in FUNCS]
    finally:
        csoftmax.set_num_threads(before)
    for a, b in zip(single, multi):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("chunks", [(4, 12), (3, 5)])
@pytest.mark.parametrize("name", FUNCS)
def test_dask_temperature(name, chunks, rng):
    da = pytest.importorskip("dask.array")
    x = rng.normal(size=(8, 12))
    got = call(name, da.from_array(x, chunks=chunks), temperature=0.4).compute()
    np.testing.assert_allclose(got, call(name, x, temperature=0.4), rtol=1e-13, atol=1e-15)
    with pytest.raises(NotImplementedError, match="where="):
        call(name, da.from_array(x, chunks=chunks), where=x > 0)
    with pytest.raises(ValueError, match="temperature"):
        call(name, da.from_array(x, chunks=chunks), temperature=0)


@pytest.mark.parametrize("chunks", [(4, 12), (3, 5)])
@pytest.mark.parametrize("scale,temperature", [(1.0, 0.4), (1.0, 1e-39), (1e30, 1e-10)])
@pytest.mark.parametrize("name", FUNCS)
def test_dask_temperature_float32_where_x_over_t_overflows(name, scale, temperature, chunks, rng):
    """float32 logits whose x / T overflows float32 while (x - max) / T need
    not: the split class axis (chunks (3, 5)) divides before the reduction, in
    float64; whole rows use the fused kernels. Both as NumPy's result."""
    da = pytest.importorskip("dask.array")
    x = ((rng.normal(size=(8, 12)) * 1e-3 + 1.0) * scale).astype(np.float32)
    want = call(name, x, temperature=temperature)
    got = call(name, da.from_array(x, chunks=chunks), temperature=temperature).compute()
    assert got.dtype == want.dtype == np.float32
    assert not np.isnan(got).any()
    np.testing.assert_array_max_ulp(got, want, maxulp=4)


FAST = {"softmax": "FAST_SOFTMAX", "log_softmax": "FAST_LOG_SOFTMAX",
        "logsumexp": "FAST_LOGSUMEXP"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(FAST))
def test_fast_path_takes_temperature_and_masks(name, dtype, isa, rng, monkeypatch):
    """A float temperature and a bool mask of x's shape or of one row (an
    agent's legal actions) take the fast path, which calls the masked /
    tempered kernels as the general path does: the same bits as the general
    path (x strided), with NaN, inf and a fully masked row among the rows;
    the general path's kernels are not called."""
    from csoftmax import _kernels
    x = dyadic(rng, (7, 13), dtype)
    x[1, 3], x[2, 5], x[3, 0] = np.nan, np.inf, -np.inf
    full = rng.random(x.shape) < 0.7
    full[1, 3] = False  # the NaN masked out
    full[4] = False     # a row with nothing kept
    row = rng.random(x.shape[-1]) < 0.7
    spread = np.zeros((7, 26), dtype)
    spread[:, ::2] = x
    strided = spread[:, ::2]
    cases = [dict(temperature=0.5), dict(temperature=3.0, where=full), dict(where=row),
             dict(where=full)]
    general = {i: call(name, strided, **kw) for i, kw in enumerate(cases)}
    general_row = call(name, strided[0], where=row)

    def refuse(*args, **kwargs):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(_kernels, f"masked_{name}_2d", refuse)
    for i, kw in enumerate(cases):
        got = call(name, x, **kw)
        assert got.dtype == general[i].dtype and got.shape == general[i].shape
        assert got.tobytes() == general[i].tobytes(), kw
    if name != "logsumexp":  # out= and in place
        out = np.empty_like(x)
        assert call(name, x, out=out, **cases[1]) is out
        assert out.tobytes() == general[1].tobytes()
        inplace = x.copy()
        assert call(name, inplace, out=inplace, **cases[1]) is inplace
        assert inplace.tobytes() == general[1].tobytes()
    x1 = x[0].copy()  # one row: a 1-D mask
    assert call(name, x1, where=row).tobytes() == general_row.tobytes()


def test_fast_path_declines_other_options(rng, monkeypatch):
    """What the fast path does not take goes to the general path and its
    errors: a mask that is a list, of another dtype or a broadcast shape,
    one that overlaps out; temperatures that are not positive finite floats;
    float32 whose 1 / T overflows float32 (the general path computes it in
    float64)."""
    from csoftmax import _kernels
    x = rng.standard_normal((3, 4))
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, -1, None, 0.5, [True] * 4) is None
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, -1, None, 0.5,
                                 np.ones(4, np.uint8)) is None
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, -1, None, 0.5,
                                 np.ones((3, 1), bool)) is None
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, -1, None, 0.0) is None
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, -1, None, np.inf) is None
    assert _kernels.rowwise_fast(_kernels.FAST_SIGMOID, x, -1, None, 0.5) is None
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x.astype(np.float32), -1, None,
                                 1e39) is None
    buf = np.zeros(3 * 4 * 8 + 4, np.uint8)
    out = buf[:96].view(np.float64).reshape(3, 4)
    mask = buf[:4].view(bool)
    before = out.copy()
    assert _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, -1, out, 1.0, mask) is None
    assert out.tobytes() == before.tobytes()
    for bad, exc in ((0.0, ValueError), (-1.0, ValueError), (np.nan, ValueError),
                     (np.inf, ValueError), (5e-324, ValueError)):
        with pytest.raises(exc, match="temperature"):
            csoftmax.softmax(x, temperature=bad)
    with pytest.raises(TypeError, match="where"):
        csoftmax.softmax(x, where=np.ones(4, np.uint8))
    y = csoftmax.softmax(x.astype(np.float32), temperature=1e-39)
    assert y.dtype == np.float32 and np.array_equal(y.sum(axis=1), np.ones(3, np.float32))


@pytest.mark.parametrize("name", sorted(FAST))
def test_int_temperature_takes_the_fast_path(name, rng, monkeypatch):
    """An int temperature is the float of the same value, on the fast path
    too (the general path's masked kernels are not called); a bool or an int
    too large for a float goes to the general path and its errors."""
    from csoftmax import _kernels
    x = rng.standard_normal((6, 9))
    want = call(name, x, temperature=3.0)
    monkeypatch.setattr(_kernels, f"masked_{name}_2d", None)  # the general path would raise
    assert call(name, x, temperature=3).tobytes() == want.tobytes()
    monkeypatch.undo()
    with pytest.raises(TypeError, match="temperature"):
        call(name, x, temperature=True)
    with pytest.raises(ValueError, match="temperature"):
        call(name, x, temperature=0)
    with pytest.raises(ValueError, match="temperature"):
        call(name, x, temperature=-2)
