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
    expected = call(name, x.copy(order="K"), axis=axis)  # the same layout: the same kernel
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


# ---------------------------------------------------------------------------
# cases found by a review (2026-12-02); each failed before its fix


@pytest.mark.parametrize("name", FUNCS)
def test_bool_axis_is_refused_as_numpy_does(name):
    with pytest.raises(TypeError, match=r"axis must be an integer, got True"):
        call(name, np.zeros((2, 3)), axis=True)


@pytest.mark.parametrize("n,error,message", [
    (True, TypeError, r"n must be an integer, got True"),
    (2**31, ValueError, r"n=2147483648 threads is more than csoftmax can use"),
    (10**30, ValueError, r"threads is more than csoftmax can use"),
])
def test_set_num_threads_out_of_range(n, error, message):
    before = csoftmax.get_num_threads()
    with pytest.raises(error, match=message):
        csoftmax.set_num_threads(n)
    assert csoftmax.get_num_threads() == before


def test_set_num_threads_far_below_zero_means_default():
    try:
        csoftmax.set_num_threads(-2**40)
        default = csoftmax.get_num_threads()
        csoftmax.set_num_threads(0)
        assert csoftmax.get_num_threads() == default
    finally:
        csoftmax.set_num_threads(0)


@pytest.mark.parametrize("value", ["99999999999", "0", "-1", "1.5", "two"])
def test_bad_thread_count_environment(value):
    import os
    env = dict(os.environ, CSOFTMAX_NUM_THREADS=value)
    proc = subprocess.run([sys.executable, "-c", "import csoftmax"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr and f"CSOFTMAX_NUM_THREADS={value!r}" in proc.stderr, \
        proc.stderr[-2000:]


BYTE_SWAPPED = [(">f4" if np.little_endian else "<f4", np.float32),
                (">f2" if np.little_endian else "<f2", np.float16),
                (">f8" if np.little_endian else "<f8", np.float64)]


@pytest.mark.parametrize("swapped,native", BYTE_SWAPPED)
@pytest.mark.parametrize("name", FUNCS + ["sigmoid", "log_sigmoid"])
def test_byte_swapped_input_keeps_its_precision(name, swapped, native, rng):
    """'>f4' is float32 in the other byte order: computed and returned as the
    native float32 (as NumPy's ufuncs do), bit for bit the native result."""
    x = rng.normal(0, 3, (4, 37)).astype(native)
    got = call(name, x.astype(swapped))
    want = call(name, x)
    assert got.dtype == np.dtype(native)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("swapped,native", BYTE_SWAPPED)
def test_byte_swapped_losses_keep_their_precision(swapped, native, rng):
    x = rng.normal(0, 3, (6, 20)).astype(native)
    t = rng.integers(0, 20, 6)
    loss, grad = csoftmax.cross_entropy_with_grad(x.astype(swapped), t)
    want_loss, want_grad = csoftmax.cross_entropy_with_grad(x, t)
    assert loss.dtype == want_loss.dtype == np.dtype(native)
    assert grad.dtype == want_grad.dtype == np.dtype(native)
    assert loss == want_loss
    np.testing.assert_array_equal(grad, want_grad)


def test_masked_array_with_masked_entries_is_refused():
    x = np.ma.array([1.0, 2.0, 100.0], mask=[0, 0, 1])
    for name in FUNCS:
        with pytest.raises(TypeError, match=r"x is a masked array with masked entries"):
            call(name, x)
    with pytest.raises(TypeError, match=r"logits is a masked array"):
        csoftmax.cross_entropy(x[None], [0])
    # no entry masked: its data, as a plain array
    y = np.ma.array([1.0, 2.0, 100.0], mask=[0, 0, 0])
    got = csoftmax.softmax(y)
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, csoftmax.softmax(y.data))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_ndarray_subclasses_give_plain_arrays():
    m = np.matrix([[1.0, 2.0], [3.0, 1.0]])
    p = csoftmax.predict(m)
    assert type(p) is np.ndarray and p.shape == (2,)
    np.testing.assert_array_equal(p, [1, 0])
    s = csoftmax.softmax(m)
    assert type(s) is np.ndarray
    np.testing.assert_array_equal(s, csoftmax.softmax(np.asarray(m)))


@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid"])
@pytest.mark.parametrize("out,error,message", [
    ([0.0], TypeError, r"out must be a numpy.ndarray, got list"),
    ("int", TypeError, r"out has dtype int64, which cannot hold the float64 result"),
    ("readonly", ValueError, r"out is read-only"),
    ("shape", ValueError, r"out has shape \(3,\), expected \(\)"),
])
def test_zero_d_elementwise_out_is_checked(name, out, error, message):
    """A 0-d x takes out= through the same checks as any other shape (and a
    wrong-shape out is not broadcast into)."""
    if out == "int":
        out = np.zeros((), np.int64)
    elif out == "readonly":
        out = np.full((), SENTINEL)
        out.flags.writeable = False
    elif out == "shape":
        out = np.full(3, SENTINEL)
    with pytest.raises(error, match=message):
        getattr(csoftmax, name)(0.0, out=out)
    if isinstance(out, np.ndarray) and out.dtype == np.float64:
        assert np.all(out == SENTINEL)


@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid"])
def test_zero_d_elementwise_out_is_written(name):
    out = np.full((), SENTINEL, np.float32)
    got = getattr(csoftmax, name)(np.float32(0.5), out=out)
    assert got is out
    assert out == getattr(csoftmax, name)(np.float32(0.5))


def test_reference_is_a_package_attribute():
    assert csoftmax.reference.softmax is not None
    np.testing.assert_allclose(csoftmax.reference.softmax(np.array([0.0, 0.0])), [0.5, 0.5])
