"""The oracle itself: csoftmax.reference against SciPy and independent
formulas, its non-finite semantics, and its doctests."""
import doctest
import math
import warnings

import numpy as np
import pytest

from csoftmax import reference


def test_doctests():
    result = doctest.testmod(reference, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_all_names():
    assert set(reference.__all__) == {"softmax", "log_softmax", "logsumexp", "cross_entropy",
                                      "cross_entropy_with_grad"}


def test_extended_precision_available():
    """The oracle's claim: on x86-64 Linux np.longdouble has a 64-bit significand."""
    if np.finfo(np.longdouble).nmant < 63:
        pytest.skip("np.longdouble is float64 here: the oracle is only float64-careful")
    assert np.finfo(np.longdouble).eps < np.finfo(np.float64).eps / 1000


def test_against_scipy(rng):
    special = pytest.importorskip("scipy.special")
    x = rng.normal(0, 5, (50, 17))
    np.testing.assert_allclose(reference.softmax(x), special.softmax(x, axis=-1), rtol=1e-14)
    np.testing.assert_allclose(reference.log_softmax(x), special.log_softmax(x, axis=-1),
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(reference.logsumexp(x), special.logsumexp(x, axis=-1), rtol=1e-14)


def test_against_math_fsum():
    """Independent check with Python's exactly rounded fsum and math.exp."""
    row = [0.25, -3.0, 1.5, 1.5, -20.0]
    m = max(row)
    s = math.fsum(math.exp(v - m) for v in row)
    expected = [math.exp(v - m) / s for v in row]
    np.testing.assert_allclose(reference.softmax(row), expected, rtol=4e-16)
    assert reference.logsumexp(row) == pytest.approx(m + math.log(s), rel=4e-16)


def test_log1p_form_and_seed_numbers():
    assert reference.log_softmax([0.0, -40.0])[0] == -4.248354255291589e-18
    np.testing.assert_allclose(reference.softmax([1, 3, 2]), [0.09003057, 0.66524096, 0.24472847],
                               atol=5e-9, rtol=0)
    np.testing.assert_array_equal(reference.softmax([1000, 3000, 2000]), [0.0, 1.0, 0.0])


def test_nonfinite_semantics_and_no_warnings():
    inf, nan = np.inf, np.nan
    x = np.array([[inf, 1.0], [-inf, -inf], [nan, 1.0], [inf, nan], [-inf, 1.0], [1e308, -1e308]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            sm = reference.softmax(x)
            ls = reference.log_softmax(x)
            lse = reference.logsumexp(x)
            loss, grad = reference.cross_entropy_with_grad(x, [0, 1, 1, 0, 1, 0], reduction="none")
            empty = reference.logsumexp(np.zeros((2, 0)))
    assert np.isnan(sm[:4]).all() and np.isnan(ls[:4]).all()
    np.testing.assert_array_equal(sm[4:], [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(ls[4], [-inf, 0.0])
    np.testing.assert_array_equal(lse[:5], [inf, -inf, nan, nan, 1.0])
    assert np.isnan(loss[:4]).all() and np.isnan(grad[:4]).all()
    assert loss[4] == 0.0 and np.isfinite(grad[4:]).all()
    np.testing.assert_array_equal(empty, [-inf, -inf])


def test_dtype_policy():
    assert reference.softmax(np.zeros(3, np.float32)).dtype == np.float32
    assert reference.softmax(np.zeros(3, np.float16)).dtype == np.float16
    assert reference.softmax(np.zeros(3, np.uint8)).dtype == np.float64
    assert reference.softmax(np.zeros(3), dtype=np.longdouble).dtype == np.longdouble
    np.testing.assert_allclose(reference.softmax(np.array([0, 255], np.uint8)),
                               [math.exp(-255) / (1 + math.exp(-255)), 1.0], rtol=1e-15)
    with pytest.raises(TypeError, match="complex"):
        reference.softmax(np.zeros(3, complex))


def test_gradient_target_near_one():
    _, grad = reference.cross_entropy_with_grad([[0.0, -40.0]], [0], reduction="sum")
    assert grad[0, 0] == -4.248354255291589e-18
