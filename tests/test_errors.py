"""out= semantics and every error of softmax / log_softmax / logsumexp with its
message; nothing is written to `out` when an error is raised."""
import subprocess
import sys

import numpy as np
import pytest

import csoftmax

ROWWISE = ["softmax", "log_softmax"]
FUNCS = ROWWISE + ["logsumexp"]
SENTINEL = 12345.0


def call(name, x, **kwargs):
    return getattr(csoftmax, name)(x, **kwargs)


@pytest.mark.parametrize("name", ROWWISE)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("axis", [0, -1])
def test_out_returns_out(name, order, axis, rng):
    x = rng.normal(0, 3, (5, 7))
    out = np.empty((5, 7), order=order)
    y = call(name, x, axis=axis, out=out)
    assert y is out
    assert np.shares_memory(y, out)
    np.testing.assert_array_equal(out, call(name, x, axis=axis))


@pytest.mark.parametrize("name", ROWWISE)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("axis", [0, 1])
def test_in_place(name, order, axis, rng):
    x = np.asarray(rng.normal(0, 3, (6, 9)), order=order)
    expected = call(name, x.copy(), axis=axis)
    y = call(name, x, axis=axis, out=x)
    assert y is x
    np.testing.assert_array_equal(x, expected)


@pytest.mark.parametrize("name", ROWWISE)
@pytest.mark.parametrize("x_dtype,out_dtype", [(np.float64, np.float32), (np.float32, np.float16),
                                               (np.float64, np.float16), (np.float32, np.float64),
                                               (np.float16, np.float16), (np.int64, np.float32),
                                               (np.float64, np.complex128)])
def test_out_other_dtypes(name, x_dtype, out_dtype, rng):
    x = (rng.normal(0, 3, (4, 5)) * (10 if np.dtype(x_dtype).kind == "i" else 1)).astype(x_dtype)
    out = np.full((4, 5), SENTINEL, dtype=out_dtype)
    y = call(name, x, out=out)
    assert y is out and out.dtype == out_dtype
    np.testing.assert_array_equal(out, call(name, x).astype(out_dtype))


@pytest.mark.parametrize("name", ROWWISE)
def test_out_non_contiguous_view(name, rng):
    x = rng.normal(0, 3, (4, 5))
    big = np.full((4, 10), SENTINEL)
    out = big[:, ::2]
    y = call(name, x, out=out)
    assert y is out and np.shares_memory(y, big)
    np.testing.assert_array_equal(out, call(name, x))
    assert np.all(big[:, 1::2] == SENTINEL)


def _bad_calls():
    x = np.arange(12.0).reshape(3, 4)
    return {
        "wrong-shape": (dict(x=x, out=np.full((4, 3), SENTINEL)), ValueError,
                        r"out has shape \(4, 3\), expected \(3, 4\)"),
        "int-out": (dict(x=x, out=np.zeros((3, 4), dtype=np.int64)), TypeError,
                    r"out has dtype int64, which cannot hold the float64 result"),
        "bool-out": (dict(x=x, out=np.zeros((3, 4), dtype=bool)), TypeError,
                     r"out has dtype bool, which cannot hold the float64 result"),
        "list-out": (dict(x=x, out=[[0.0] * 4] * 3), TypeError, r"out must be a numpy.ndarray, got list"),
        "read-only-out": (dict(x=x, out=_read_only(np.full((3, 4), SENTINEL))), ValueError,
                          r"out is read-only"),
        "complex-x": (dict(x=x.astype(complex), out=np.full((3, 4), SENTINEL)), TypeError,
                      r"x has complex dtype complex128"),
        "axis-out-of-bounds": (dict(x=x, axis=2, out=np.full((3, 4), SENTINEL)),
                               np.exceptions.AxisError, r"axis=2 is out of bounds for an array of dimension 2"),
        "axis-not-int": (dict(x=x, axis=1.0, out=np.full((3, 4), SENTINEL)), TypeError,
                         r"axis must be an integer, got 1.0"),
        "string-x": (dict(x=np.array([["a", "b"]]), out=np.full((1, 2), SENTINEL)), TypeError,
                     r"x has unsupported dtype <U1"),
    }


def _read_only(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("case", list(_bad_calls()))
@pytest.mark.parametrize("name", ROWWISE)
def test_errors_with_out_leave_out_untouched(name, case):
    kwargs, error, message = _bad_calls()[case]
    out = kwargs["out"]
    before = np.array(out, copy=True)
    with pytest.raises(error, match=message):
        call(name, **kwargs)
    np.testing.assert_array_equal(np.asarray(out), before)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("x,error,message", [
    (np.zeros(3, dtype=np.complex64), TypeError, r"x has complex dtype complex64"),
    (np.array([None, 1.0]), TypeError, r"x has unsupported dtype object"),
    (np.array(["1", "2"]), TypeError, r"x has unsupported dtype <U1"),
    (np.float64(3.0), np.exceptions.AxisError, r"0-d array; x must have at least one dimension"),
    ([[1.0, 2.0], [3.0]], TypeError, r"x cannot be converted to an array"),
], ids=["complex", "object", "string", "zero-d", "ragged"])
def test_bad_inputs(name, x, error, message):
    with pytest.raises(error, match=message):
        call(name, x)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis,error,message", [
    (2, np.exceptions.AxisError, r"axis=2 is out of bounds for an array of dimension 2"),
    (-3, np.exceptions.AxisError, r"axis=-3 is out of bounds for an array of dimension 2"),
    (None, TypeError, r"axis must be an integer, got None"),
    ((0, 1), TypeError, r"axis must be an integer, got \(0, 1\)"),
])
def test_bad_axis(name, axis, error, message):
    with pytest.raises(error, match=message):
        call(name, np.zeros((2, 3)), axis=axis)


def test_logsumexp_has_no_out():
    with pytest.raises(TypeError):
        csoftmax.logsumexp(np.zeros(3), out=np.zeros(()))


def test_set_num_threads_rejects_non_integer():
    with pytest.raises(TypeError, match=r"n must be an integer, got 'two'"):
        csoftmax.set_num_threads("two")


@pytest.mark.parametrize("value,message", [
    ("bogus", r"CSOFTMAX_ISA='bogus' is not an instruction-set level"),
])
def test_bad_isa_environment(value, message):
    import os
    env = dict(os.environ, CSOFTMAX_ISA=value)
    proc = subprocess.run([sys.executable, "-c", "import csoftmax"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    import re
    assert re.search(message, proc.stderr), proc.stderr[-2000:]
