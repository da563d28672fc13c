"""csoftmax.special against scipy.special: values, shapes, dtypes, result types, errors.

Tolerances are stated in units of the result dtype's machine epsilon (`eps`):
an element passes when ``|ours - oracle| <= k * eps * (|oracle| + scale)``,
where `scale` is 0 for softmax (a relative bound) and the size of the terms
that cancel otherwise (see each test). The oracle is SciPy evaluated in a
wider dtype than the one under test (float64 for float32/float16/integers,
longdouble for float64), so SciPy's own rounding does not enter the bound.
"""
import doctest

import numpy as np
import pytest

import csoftmax
import csoftmax._api
import csoftmax.special as special

scipy_special = pytest.importorskip("scipy.special")

try:
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

NAMES = ["softmax", "log_softmax", "logsumexp"]
LONG = np.longdouble


def scipy_call(name, *args, **kwargs):
    """SciPy's result; its RuntimeWarnings for non-finite input are not under test."""
    with np.errstate(all="ignore"):
        return getattr(scipy_special, name)(*args, **kwargs)


def ours(name, *args, **kwargs):
    return getattr(special, name)(*args, **kwargs)


def wider(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return np.dtype(np.clongdouble)
    if dtype == np.float64 or dtype == LONG:
        return np.dtype(LONG)
    return np.dtype(np.float64)


def tolerance_scale(name, x, axes_size):
    """Absolute part of the bound: the magnitude of terms that cancel in the result."""
    if name == "softmax":
        return 0.0
    finite = np.abs(np.asarray(x, dtype=np.complex128 if np.iscomplexobj(x) else np.float64))
    finite = finite[np.isfinite(finite)]
    biggest = float(finite.max()) if finite.size else 0.0
    return biggest + np.log(max(axes_size, 1)) + 1.0


def assert_close(actual, expected, dtype, k, scale=0.0):
    """Same NaN/inf pattern; finite entries within k * eps(dtype) * (|expected| + scale)
    (+ k subnormal spacings)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape
    eps = float(np.finfo(dtype).eps)
    a = actual.astype(np.clongdouble if actual.dtype.kind == "c" else LONG)
    e = expected.astype(a.dtype)
    for part in ((np.real, np.imag) if a.dtype.kind == "c" else (lambda z: z,)):
        pa, pe = part(a), part(e)
        np.testing.assert_array_equal(np.isnan(pa), np.isnan(pe))
        np.testing.assert_array_equal(np.isinf(pa) * np.sign(pa), np.isinf(pe) * np.sign(pe))
    finite = np.isfinite(e)
    error = np.abs(a[finite] - e[finite])
    # plus the spacing of subnormals: results below the normal range round absolutely
    scale = np.broadcast_to(np.asarray(scale, dtype=LONG), e.shape)[finite]
    bound = k * eps * (np.abs(e[finite]) + scale) + k * float(np.finfo(dtype).smallest_subnormal)
    worst = (error / bound).max() if error.size else 0.0
    assert worst <= 1.0, f"error {worst:.3g} x the bound of {k} eps (dtype {np.dtype(dtype)})"


def assert_same_kind_of_result(result, reference):
    """ndarray vs NumPy scalar, dtype and shape as SciPy returns them."""
    assert isinstance(result, np.ndarray) == isinstance(reference, np.ndarray)
    assert isinstance(result, np.generic) == isinstance(reference, np.generic)
    assert result.dtype == reference.dtype
    assert np.shape(result) == np.shape(reference)


def reduced_size(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return int(np.prod([shape[i] for i in axes])) if shape else 1


# ---------------------------------------------------------------------------
# shapes x axes x dtype x ISA

SHAPE_AXES = [
    ((), None), ((), 0), ((), -1), ((), ()),
    ((1,), None), ((7,), 0), ((17,), -1), ((5,), ()),
    ((3, 5), None), ((3, 5), 0), ((3, 5), 1), ((3, 5), -2), ((3, 5), (0, 1)), ((3, 5), (1, 0)),
    ((3, 5), ()),
    ((2, 3, 4), None), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, -3)),
    ((2, 3, 4), (1, 2)),
    ((2, 3, 2, 5), None), ((2, 3, 2, 5), 2), ((2, 3, 2, 5), (0, 3)), ((2, 3, 2, 5), (1, -2)),
    ((2, 3, 2, 5), (0, 1, 2, 3)), ((1, 33, 1, 2), -3),
]


@pytest.mark.parametrize("shape, axis", SHAPE_AXES, ids=[f"{s}-{a}" for s, a in SHAPE_AXES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_matches_scipy_shapes_and_axes(name, dtype, shape, axis, isa, rng):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    if shape and shape[-1] > 1:
        x = x[..., ::-1]  # a strided view: layout must not matter
    kwargs = {"axis": axis}
    result = ours(name, x, **kwargs)
    reference = scipy_call(name, x, **kwargs)
    assert_same_kind_of_result(result, reference)
    oracle = scipy_call(name, x.astype(wider(dtype)), **kwargs)
    scale = tolerance_scale(name, x, reduced_size(shape, axis))
    assert_close(result, oracle, dtype, k=32, scale=scale)


@pytest.mark.parametrize("shape, axis", [((2, 3, 4), None), ((2, 3, 4), (0, 2)), ((3, 5), 1),
                                         ((), None), ((4,), ())])
@pytest.mark.parametrize("return_sign", [False, True])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_keepdims_and_sign_match_scipy(shape, axis, keepdims, return_sign, rng):
    x = rng.standard_normal(shape) * 4
    kwargs = {"axis": axis, "keepdims": keepdims, "return_sign": return_sign}
    result = special.logsumexp(x, **kwargs)
    reference = scipy_call("logsumexp", x, **kwargs)
    if not return_sign:
        result, reference = (result,), (reference,)
    assert len(result) == len(reference)
    for mine, theirs in zip(result, reference):
        assert_same_kind_of_result(mine, theirs)
    oracle = scipy_call("logsumexp", x.astype(LONG), **kwargs)
    oracle = oracle if return_sign else (oracle,)
    scale = tolerance_scale("logsumexp", x, reduced_size(shape, axis))
    assert_close(result[0], oracle[0], np.float64, k=16, scale=scale)
    if return_sign:
        np.testing.assert_array_equal(result[1], reference[1])


# ---------------------------------------------------------------------------
# dtypes

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
ALL_DTYPES = INT_DTYPES + [np.bool_, np.float16, np.float32, np.float64, LONG,
                           np.complex64, np.complex128]


def sample(rng, dtype, shape):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind == "u":
        return rng.integers(0, 12, shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(-10, 12, shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) * 3 + 1j * rng.uniform(-3, 3, shape)).astype(dtype)
    return (rng.standard_normal(shape) * 3).astype(dtype)


def result_eps_dtype(result):
    return result.real.dtype if np.iscomplexobj(result) else result.dtype


@pytest.mark.parametrize("axis", [None, 1, (0, 2)])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_dtypes_match_scipy(name, dtype, axis, rng):
    x = sample(rng, dtype, (3, 4, 5))
    if name != "logsumexp" and np.dtype(dtype).kind == "b":
        with pytest.raises(TypeError):
            scipy_call(name, x, axis=axis)
        with pytest.raises(TypeError, match="boolean"):
            ours(name, x, axis=axis)
        return
    result = ours(name, x, axis=axis)
    reference = scipy_call(name, x, axis=axis)  # the result type; values may wrap (uint)
    assert_same_kind_of_result(result, reference)
    # the oracle: SciPy on the exactly converted values in a wider type
    exact = x.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    oracle = scipy_call(name, exact.astype(wider(exact.dtype)), axis=axis)
    scale = tolerance_scale(name, exact, reduced_size(x.shape, axis))
    # float16 results: rounded once from float32 (0.5 eps) plus float32 error in eps16 units
    k = 2 if result_eps_dtype(result) == np.float16 else 32
    assert_close(result, oracle, result_eps_dtype(result), k=k, scale=scale)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex128],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_byte_swapped_input_gives_scipys_native_dtype(name, dtype, rng):
    x = sample(rng, dtype, (3, 4))
    swapped = x.astype(np.dtype(dtype).newbyteorder("S"))
    result = ours(name, swapped, axis=1)
    assert_same_kind_of_result(result, scipy_call(name, swapped, axis=1))
    assert np.asarray(result).dtype.isnative
    np.testing.assert_array_equal(result, ours(name, x, axis=1))


@pytest.mark.parametrize("a_dtype", [np.float16, np.float32, np.float64, np.int16, np.complex64])
@pytest.mark.parametrize("b", [2, 2.0, 2j, np.float32(2), np.array(2, np.int8), [2.0],
                               np.array([1, 2, 3], np.float32), np.array([1, 2, 3], np.int64)],
                         ids=["int", "float", "complex", "f32scalar", "i8-0d", "list", "f32", "i64"])
def test_logsumexp_weight_dtypes_match_scipy(a_dtype, b, rng):
    a = sample(rng, a_dtype, (4, 3))
    for return_sign in (False, True):
        result = special.logsumexp(a, b=b, axis=1, return_sign=return_sign)
        reference = scipy_call("logsumexp", a, b=b, axis=1, return_sign=return_sign)
        if return_sign:
            assert_same_kind_of_result(result[0], reference[0])
            assert_same_kind_of_result(result[1], reference[1])
        else:
            assert_same_kind_of_result(result, reference)


def test_python_and_numpy_scalars_match_scipy():
    for value in (3, 3.0, True, np.float32(3.0), np.float16(2.0), np.int8(3), 2 + 1j):
        for name in NAMES:
            if name != "logsumexp" and isinstance(value, (bool, np.bool_)):
                continue
            result = ours(name, value)
            reference = scipy_call(name, value)
            assert_same_kind_of_result(result, reference)
            np.testing.assert_allclose(result, reference, rtol=1e-3)


def test_unsigned_integers_do_not_wrap_around():
    x = np.array([1, 0, 1], dtype=np.uint8)
    expected = special.softmax(x.astype(np.float64)).astype(np.float16)
    result = special.softmax(x)
    assert result.dtype == np.float16
    np.testing.assert_array_equal(result, expected)
    assert np.isfinite(special.log_softmax(np.array([0, 2**32 - 1], dtype=np.uint32))).all()
    big = np.array([-2**63, 2**63 - 1], dtype=np.int64)  # x - max overflows in int64
    np.testing.assert_array_equal(special.softmax(big), [0.0, 1.0])


def test_log_softmax_of_the_largest_entry_is_accurate():
    # the value; SciPy returns 0.0 here
    assert special.log_softmax([0.0, -40.0])[0] == -4.248354255291589e-18
    assert special.log_softmax(np.float32([0.0, -40.0]))[0] < 0


# ---------------------------------------------------------------------------
# non-finite values

@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("name", NAMES)
def test_non_finite_values_match_scipy(name, dtype, axis, rng):
    for trial in range(12):
        x = sample(rng, dtype, (5, 6))
        count = rng.integers(1, 6)
        flat = x.reshape(-1)
        flat[rng.choice(flat.size, count, replace=False)] = rng.choice(
            [np.inf, -np.inf, np.nan], count)
        if trial == 0:
            x[1] = -np.inf  # a slice of only -inf
        if trial == 1:
            x[:, 2] = np.inf
        result = ours(name, x, axis=axis)  # filterwarnings=error: no RuntimeWarning
        reference = scipy_call(name, x, axis=axis)
        assert_same_kind_of_result(result, reference)
        scale = tolerance_scale(name, x, reduced_size(x.shape, axis))
        assert_close(result, reference, result_eps_dtype(result), k=32, scale=scale)


def test_log_softmax_with_plus_inf_follows_scipy():
    x = np.array([[np.inf, 1.0, -np.inf], [np.inf, np.nan, 0.0], [-np.inf, -np.inf, -np.inf],
                  [1.0, 2.0, 3.0]])
    result = special.log_softmax(x, axis=1)
    np.testing.assert_array_equal(result[0], [np.nan, -np.inf, -np.inf])
    assert np.isnan(result[1]).all() and np.isnan(result[2]).all()
    reference = scipy_call("log_softmax", x, axis=1)
    np.testing.assert_array_equal(result[:3], reference[:3])
    assert_close(result[3], reference[3], np.float64, k=4, scale=1.0)


# ---------------------------------------------------------------------------
# logsumexp with weights b=

B_CASES = [
    ((3, 4), (3, 4), 1), ((3, 4), (4,), 0), ((3, 4), (1, 4), None), ((3, 4), (3, 1), (0, 1)),
    ((3, 4), (), 1), ((2, 3, 4), (5, 2, 1, 4), (1, 3)), ((), (6,), None), ((4,), (2, 4), -1),
    ((1, 5), (3, 1), 0),
]


@pytest.mark.parametrize("a_shape, b_shape, axis", B_CASES, ids=[str(c) for c in B_CASES])
@pytest.mark.parametrize("weights", ["positive", "zeros", "mixed_sign"])
@pytest.mark.parametrize("return_sign", [False, True])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_weights_match_scipy(a_shape, b_shape, axis, weights, return_sign,
                                       keepdims, rng):
    a = rng.standard_normal(a_shape) * 3
    b = rng.uniform(0.1, 2.0, b_shape)
    if weights == "zeros":
        b = np.where(rng.random(b_shape) < 0.4, 0.0, b)
    elif weights == "mixed_sign":
        b = np.where(rng.random(b_shape) < 0.5, -b, b)
    kwargs = {"axis": axis, "b": b, "keepdims": keepdims, "return_sign": return_sign}
    result = special.logsumexp(a, **kwargs)
    reference = scipy_call("logsumexp", a, **kwargs)
    oracle = scipy_call("logsumexp", a.astype(LONG), **{**kwargs, "b": b.astype(LONG)})
    if not return_sign:
        result, reference, oracle = (result,), (reference,), (oracle,)
    for mine, theirs in zip(result, reference):
        assert_same_kind_of_result(mine, theirs)
    # condition number of log|sum b e^a|: sum |b e^a| / |sum b e^a|
    aa, bb = np.broadcast_arrays(np.atleast_1d(a).astype(LONG), np.atleast_1d(b).astype(LONG))
    red = tuple(range(aa.ndim)) if axis is None else axis
    magnitude = np.sum(np.abs(bb) * np.exp(aa), axis=red, keepdims=keepdims)
    with np.errstate(invalid="ignore"):  # 0/0 where every weight is zero: result -inf
        condition = magnitude / np.abs(np.sum(bb * np.exp(aa), axis=red, keepdims=keepdims))
    condition = np.nan_to_num(np.asarray(condition), nan=0.0)
    good = condition < 1e6
    value, expected = np.asarray(result[0]), np.asarray(oracle[0])
    scale = np.abs(a).max() + np.log(aa.size) + 1
    assert_close(value[good], expected[good], np.float64, k=16,
                 scale=scale + condition[good])
    if return_sign:
        np.testing.assert_array_equal(np.asarray(result[1])[good], np.asarray(oracle[1])[good])


@pytest.mark.parametrize("weight", [1.0, -1.0, 1e-3])
def test_logsumexp_weights_keep_accuracy_near_zero(weight):
    # log(1 + w e^-40) taken through log1p: the relative accuracy of a result near 0
    expected = np.log1p(weight * np.exp(-40.0))
    result = special.logsumexp([0.0, -40.0, -np.inf], b=[1.0, weight, 5.0])
    assert abs(result - expected) <= 4 * np.finfo(np.float64).eps * abs(expected)


def test_logsumexp_zero_weight_drops_non_finite_terms():
    a = np.array([[np.inf, 1.0], [np.nan, 1.0], [np.inf, -np.inf], [np.inf, np.inf]])
    b = np.array([0.0, 1.0])
    result = special.logsumexp(a, b=b, axis=1)
    np.testing.assert_array_equal(result, [1.0, 1.0, -np.inf, np.inf])
    # where SciPy's sum of the other terms is finite it agrees
    np.testing.assert_array_equal(result[:2], scipy_call("logsumexp", a[:2], b=b, axis=1))


@pytest.mark.parametrize("return_sign", [False, True])
def test_logsumexp_weights_with_non_finite_values_match_scipy(return_sign):
    inf, nan = np.inf, np.nan
    cases = [([inf, 1.0], [-1, 1]), ([inf, inf], [-1, 1]), ([1.0, 1.0], [1, -1]),
             ([1.0, 1.0], [nan, 1]), ([1.0, 1.0], [inf, 1]), ([1.0, 1.0], [inf, -inf]),
             ([1000.0, 1000.0], [2, -1]), ([-inf, -inf], [1, 1]), ([1.0, 2.0], [0, 0]),
             ([nan, 1.0], [1, 1]), ([1.0, 1.0, 0.0], [1, -1, 1])]
    for a, b in cases:
        result = special.logsumexp(a, b=b, return_sign=return_sign)
        reference = scipy_call("logsumexp", a, b=b, return_sign=return_sign)
        np.testing.assert_allclose(result, reference, rtol=1e-15, atol=0, err_msg=str((a, b)))


# ---------------------------------------------------------------------------
# complex logsumexp

@pytest.mark.parametrize("axis", [None, 1, (0, 2)])
@pytest.mark.parametrize("weights", [None, "real", "complex"])
@pytest.mark.parametrize("return_sign", [False, True])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_logsumexp_matches_scipy(dtype, return_sign, weights, axis, rng):
    a = sample(rng, dtype, (3, 4, 5))
    a.imag *= 3  # phases beyond (-pi, pi]
    b = None
    if weights == "real":
        b = rng.uniform(-1, 2, (4, 5))
    elif weights == "complex":
        b = rng.standard_normal((3, 4, 5)) + 1j * rng.standard_normal((3, 4, 5))
    kwargs = {"axis": axis, "b": b, "return_sign": return_sign}
    result = special.logsumexp(a, **kwargs)
    reference = scipy_call("logsumexp", a, **kwargs)
    exact_b = None if b is None else np.asarray(b).astype(np.clongdouble)
    oracle = scipy_call("logsumexp", a.astype(np.clongdouble), **{**kwargs, "b": exact_b})
    eps_dtype = np.finfo(dtype).dtype
    k = 64
    if return_sign:
        for mine, theirs in zip(result, reference):
            assert_same_kind_of_result(mine, theirs)
        assert_close(result[0], oracle[0], eps_dtype, k=k, scale=np.abs(a).max() + 4)
        assert_close(result[1], oracle[1], eps_dtype, k=k, scale=1.0)
    else:
        assert_same_kind_of_result(result, reference)
        imag = np.asarray(result).imag
        assert np.all((imag > -np.pi) & (imag <= np.pi))
        # compare the sums themselves (branch-free): exp(result - oracle) == 1
        ratio = np.exp(np.asarray(result).astype(np.clongdouble) - np.asarray(oracle))
        assert_close(ratio, np.ones_like(ratio), eps_dtype, k=k, scale=np.abs(a).max() + 4)


def test_complex_logsumexp_imaginary_part_on_the_branch_cut():
    # sum = -1 - 0j: log has imaginary part -pi in NumPy; SciPy wraps it to +pi
    result = special.logsumexp([0.0 - np.pi * 1j + 0j, -np.inf], b=[1, 1])
    reference = scipy_call("logsumexp", [0.0 - np.pi * 1j + 0j, -np.inf], b=[1, 1])
    assert abs(result.imag - reference.imag) < 1e-15 and result.imag > 0


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 0, (0, 1)])
def test_complex_softmax_matches_scipy(name, axis, rng):
    x = sample(rng, np.complex128, (4, 5))
    result = ours(name, x, axis=axis)
    reference = scipy_call(name, x, axis=axis)
    assert_same_kind_of_result(result, reference)
    assert_close(result, reference, np.float64, k=8, scale=1.0)


# ---------------------------------------------------------------------------
# empty input, long rows

@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), 0), ((0, 3), 1), ((3, 0), 1),
                                         ((3, 0), None), ((2, 0, 4), (0, 2)), ((2, 0), ())])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.complex128])
def test_empty_input(shape, axis, dtype):
    x = np.empty(shape, dtype=dtype)
    for name in ("softmax", "log_softmax"):
        result = ours(name, x, axis=axis)
        assert result.shape == shape
        assert result.dtype == special._softmax_dtype(np.dtype(dtype))
    out, sign = special.logsumexp(x, axis=axis, return_sign=True)
    axes = tuple(range(len(shape))) if axis is None else axis
    expected_shape = tuple(n for i, n in enumerate(shape) if i not in np.atleast_1d(axes))
    assert np.shape(out) == expected_shape and np.shape(sign) == expected_shape
    np.testing.assert_array_equal(np.real(out), -np.inf)
    np.testing.assert_array_equal(sign, 0)
    if axis == ():  # SciPy returns shape (1, 1) here (it indexes shape[()] = 1)
        return
    try:  # where SciPy answers, the values agree (its sign there is -1: not compared)
        reference = scipy_call("logsumexp", x, axis=axis)
    except (ValueError, IndexError):
        return
    assert_same_kind_of_result(special.logsumexp(x, axis=axis), reference)
    np.testing.assert_array_equal(special.logsumexp(x, axis=axis), reference)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_long_arrays_whole_array_reduction(name, dtype, rng):
    x = (rng.standard_normal((10, 100_000)) * 3).astype(dtype)
    result = ours(name, x)
    oracle = scipy_call(name, x.astype(wider(dtype)))
    assert_close(result, oracle, dtype, k=64, scale=tolerance_scale(name, x, x.size))


# ---------------------------------------------------------------------------
# errors: the exception type SciPy raises

ERROR_CASES = [
    ("softmax", (np.ones(3),), {"axis": 1}, AxisError),
    ("log_softmax", (np.ones((2, 3)),), {"axis": -3}, AxisError),
    ("logsumexp", (np.ones((2, 3)),), {"axis": (0, 2)}, AxisError),
    ("softmax", (3.0,), {"axis": (0,)}, AxisError),
    ("logsumexp", (3.0,), {"axis": 1}, AxisError),
    ("softmax", (np.ones((2, 3)),), {"axis": (1, -1)}, ValueError),
    ("logsumexp", (np.ones((2, 3)),), {"axis": (0, 0)}, ValueError),
    ("log_softmax", (np.ones(3),), {"axis": 1.0}, TypeError),
    ("softmax", (np.ones((2, 3)),), {"axis": [0, 1]}, TypeError),
    ("logsumexp", (np.ones((2, 3)),), {"axis": "a"}, TypeError),
    ("logsumexp", (np.ones((2, 3)),), {"axis": True}, TypeError),
    ("logsumexp", ([1.0, 2.0, 3.0],), {"b": [1.0, 2.0]}, ValueError),
    ("logsumexp", (np.ones((2, 3)),), {"b": np.ones((3, 2))}, ValueError),
    ("softmax", (np.array([True, False]),), {}, TypeError),
    ("log_softmax", (True,), {}, TypeError),
    ("softmax", (np.array([1, 2], dtype=object),), {}, TypeError),
    ("log_softmax", (np.array([1, 2], dtype=object),), {}, TypeError),
    ("logsumexp", (np.array([1, 2], dtype=object),), {}, TypeError),
    ("softmax", (np.array(["1", "2"]),), {}, TypeError),
    ("softmax", (None,), {}, TypeError),
    ("logsumexp", ([[1, 2], [3]],), {}, ValueError),
]


@pytest.mark.parametrize("name, args, kwargs, exception", ERROR_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(ERROR_CASES)])
def test_errors_match_scipy(name, args, kwargs, exception):
    with pytest.raises(exception):
        scipy_call(name, *args, **kwargs)
    with pytest.raises(exception) as info:
        ours(name, *args, **kwargs)
    message = str(info.value)
    named = [key for key in ("axis", "b", "x", "a") if key in message]
    assert named, f"the message does not name the argument: {message!r}"


# ---------------------------------------------------------------------------
# inputs, fast path, docs

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.complex128])
def test_inputs_are_not_modified(dtype, rng):
    x = sample(rng, dtype, (3, 4))
    x[0, 0] = np.inf if np.dtype(dtype).kind in "fc" else x[0, 0]
    b = rng.uniform(-1, 1, (3, 4))
    x_copy, b_copy = x.copy(), b.copy()
    x.setflags(write=False)
    b.setflags(write=False)
    special.softmax(x, axis=1)
    special.log_softmax(x, axis=(0, 1))
    special.logsumexp(x, axis=0)
    special.logsumexp(x, b=b, axis=1, return_sign=True)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(b, b_copy)


@pytest.mark.parametrize("dtype, axis, uses_kernels", [
    (np.float32, (0, 2), True), (np.float64, None, True), (np.int8, 1, True),
    (np.float16, -1, True), (np.complex128, 1, False), (LONG, 1, False)])
@pytest.mark.parametrize("name", NAMES)
def test_real_input_goes_to_the_kernels(name, dtype, axis, uses_kernels, monkeypatch, rng):
    """Real input reaches the compiled kernels: csoftmax's function over 2-D
    rows, or the fast path (float32 / float64 over the last axis or all of
    a C-contiguous array: _fast_rows returns the result); the other input
    never does."""
    calls, fast = [], []
    original = getattr(csoftmax._api, name)
    original_fast = special._fast_rows

    def recording(x, *args, **kwargs):
        calls.append(x.shape)
        return original(x, *args, **kwargs)

    def recording_fast(op, x, axis):
        y = original_fast(op, x, axis)
        if y is not None:
            fast.append(x.shape)
        return y

    monkeypatch.setattr(csoftmax._api, name, recording)
    monkeypatch.setattr(special, "_fast_rows", recording_fast)
    x = sample(rng, dtype, (2, 3, 4))
    ours(name, x, axis=axis)
    assert bool(calls or fast) == uses_kernels
    assert len(calls) + len(fast) <= 1
    if calls:
        assert len(calls[0]) == 2  # one call over 2-D rows
    # float64 reduced over all of a C-contiguous array: the fast path
    assert bool(fast) == (dtype == np.float64 and axis is None)
    if name == "logsumexp":
        calls.clear()
        fast.clear()
        special.logsumexp(x, axis=axis, b=np.ones(4))
        assert not calls and not fast  # weights: the NumPy path


def test_module_docstrings_run():
    failures, attempted = doctest.testmod(special, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 5 and failures == 0


def test_importing_does_not_import_scipy():
    import subprocess
    import sys
    code = ("import sys, csoftmax; csoftmax.special.softmax([1.0, 2.0]); "
            "sys.exit(3 if 'scipy' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_signatures_match_scipy():
    import inspect
    for name in NAMES:
        mine = inspect.signature(getattr(special, name))
        theirs = inspect.signature(getattr(scipy_special, name))
        assert list(mine.parameters) == list(theirs.parameters)
        for key, parameter in mine.parameters.items():
            assert parameter.default == theirs.parameters[key].default


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 4)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", NAMES)
def test_fast_path_matches_general_path(name, shape, dtype, rng):
    """float32 / float64 over the last axis (or all of a C-contiguous array)
    take the compiled fast path; a strided view of the same values takes the
    general one. Both give the same bits, dtype, shape and type (a NumPy
    scalar from a full reduction), with +inf and NaN rows among them."""
    x = sample(rng, dtype, shape)
    flat = x.reshape(-1)
    flat[0] = np.inf
    if flat.size > 8:
        flat[7] = np.nan
    spread = np.zeros(shape[:-1] + (2 * shape[-1],), dtype)
    spread[..., ::2] = x
    strided = spread[..., ::2]
    assert not strided.flags.c_contiguous and np.array_equal(strided, x, equal_nan=True)
    for axis in (None, -1, len(shape) - 1):
        fast, general = ours(name, x, axis=axis), ours(name, strided, axis=axis)
        assert type(fast) is type(general), axis
        assert fast.dtype == general.dtype and np.shape(fast) == np.shape(general), axis
        assert np.asarray(fast).tobytes() == np.asarray(general).tobytes(), axis
        want = scipy_call(name, x, axis=axis)
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(want))


def test_nan_row_starts(rng):
    from csoftmax import _kernels
    for dtype in (np.float32, np.float64):
        y = rng.standard_normal((4, 3)).astype(dtype)
        assert not _kernels.nan_row_starts(y)
        y[2, 1] = np.nan  # not at a row's start
        assert not _kernels.nan_row_starts(y)
        y[3, 0] = np.nan
        assert _kernels.nan_row_starts(y)
        assert _kernels.nan_row_starts(y[3])
        assert not _kernels.nan_row_starts(y[:0])
    for bad in (np.zeros((3, 4))[:, ::2], np.zeros(3, np.float16), np.ones(())):
        with pytest.raises(ValueError, match="nan_row_starts"):
            _kernels.nan_row_starts(bad)
