"""predict, one_hot, sample, mixture_softmax (issue 5).

Oracles are independent: np.argmax / np.eye for predict and one_hot, a plain
float64 NumPy softmax plus scipy.stats.chisquare for the sampler, and a
direct float64 sum over components (plus scipy.special.logsumexp for extreme
inputs) for the mixture.
"""
import doctest

import numpy as np
import pytest

import csoftmax
from csoftmax import _inference

@pytest.fixture
def seed(rng):
    """An int seed derived from conftest's CSOFTMAX_TEST_SEED-seeded generator."""
    return int(rng.integers(2**63))


def reference_softmax(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def test_doctests():
    result = doctest.testmod(_inference, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_names():
    for name in ("predict", "one_hot", "sample", "mixture_softmax"):
        assert name in csoftmax.__all__
        assert getattr(csoftmax, name) is getattr(_inference, name)


# ---------------------------------------------------------------------------
# predict


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("shape,axis", [((7,), -1), ((5, 3), -1), ((5, 3), 0), ((2, 4, 6), 1),
                                        ((2, 4, 6), -1), ((3, 1), 1)])
def test_predict_matches_argmax(rng, dtype, shape, axis):
    x = (rng.normal(size=shape) * 50).astype(dtype) if np.dtype(dtype).kind == "f" else \
        rng.integers(0, 100, size=shape).astype(dtype)
    before = x.copy()
    y = csoftmax.predict(x, axis=axis)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, np.argmax(x, axis=axis))
    np.testing.assert_array_equal(x, before)


def test_predict_same_on_logits_probs_logprobs(rng):
    x = rng.normal(size=(50, 9))
    expected = csoftmax.predict(x)
    np.testing.assert_array_equal(csoftmax.predict(csoftmax.softmax(x)), expected)
    np.testing.assert_array_equal(csoftmax.predict(csoftmax.log_softmax(x)), expected)


def test_predict_ties_and_nan():
    x = np.array([[1.0, 3.0, 3.0], [np.nan, 2.0, np.nan], [0.0, np.nan, 5.0], [-np.inf, -np.inf, 0.0]])
    # ties -> lowest index; NaN counts as the largest (first NaN), as np.argmax / torch.argmax
    np.testing.assert_array_equal(csoftmax.predict(x), [1, 0, 1, 2])


def test_predict_list_input_and_errors():
    assert csoftmax.predict([0.1, 0.7, 0.2]) == 1
    one = csoftmax.predict(np.array([0.1, 0.7, np.nan, 0.7]))  # the small-input shortcut
    assert type(one) is np.int64 and one == 2
    with pytest.raises(np.exceptions.AxisError, match="0-d"):
        csoftmax.predict(np.array(3.0))
    with pytest.raises(ValueError, match="empty class axis"):
        csoftmax.predict(np.zeros((0, 3, 0)))
    with pytest.raises(np.exceptions.AxisError, match="0-d"):
        csoftmax.predict(3.0)
    with pytest.raises(np.exceptions.AxisError, match="axis=2"):
        csoftmax.predict(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="empty class axis"):
        csoftmax.predict(np.zeros((4, 0)))
    with pytest.raises(TypeError, match="complex"):
        csoftmax.predict(np.ones(3, dtype=complex))
    with pytest.raises(TypeError, match="axis must be an integer"):
        csoftmax.predict(np.ones(3), axis=0.5)


def _argmax_cases(rng, dtype):
    """Arrays for predict in every layout: short rows (in the kernel's lanes,
    with rows left over), rows the kernel leaves to np.argmax, column blocks
    (wider than a block, with a tail of fewer than a vector), with ties, NaNs,
    infinities and all--inf rows. (The kernel's long rows, which predict
    does not send it, are test_argmax_kernel_rows's.)"""
    shapes = [((37, 3), -1), ((5, 1), -1), ((9, 31), -1), ((6, 129), -1), ((3, 1000), -1),
              ((2, 4099), -1), ((4, 7, 1300), 1), ((3, 5, 9), 0), ((1200, 3), 0), ((2, 3, 17), 1)]
    for shape, axis in shapes:
        for kind in ("normal", "ties", "nan", "inf"):
            x = rng.normal(size=shape).astype(dtype)
            if kind == "ties":
                x = rng.integers(-2, 3, size=shape).astype(dtype)
            elif kind == "nan":
                x[rng.random(shape) < 0.02] = np.nan
            elif kind == "inf":
                x[rng.random(shape) < 0.3] = -np.inf
                x[rng.random(shape) < 0.01] = np.inf
                x[0] = -np.inf
            yield x, axis


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_kernel_matches_argmax_in_every_layout(rng, isa, dtype):
    for x, axis in _argmax_cases(rng, dtype):
        views = [x, np.asfortranarray(x), x[::-1], x[..., ::2] if x.shape[-1] > 1 else x,
                 np.moveaxis(x, 0, -1).copy().swapaxes(0, -1)]
        for view in views:
            got = csoftmax.predict(view, axis=axis)
            np.testing.assert_array_equal(got, np.argmax(view, axis=axis))
            assert got.dtype == np.int64 and got.shape == np.argmax(view, axis=axis).shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_argmax_kernel_rows(rng, isa, dtype):
    """The kernel on rows (inner == 1) of every length: in lanes (short or
    strided), four vectors a step (long and contiguous: the merge of the four
    accumulators, the tail, a NaN's second scan), contiguous, strided and
    reversed, against np.argmax."""
    for n in (1, 2, 3, 15, 16, 31, 32, 63, 64, 65, 127, 128, 129, 200, 1000, 4099):
        for kind in ("normal", "ties", "nan", "late nan", "inf"):
            x = rng.normal(size=(19, 2 * n)).astype(dtype)
            if kind == "ties":
                x = rng.integers(-2, 3, size=x.shape).astype(dtype)
                x[0] = 0.0
                x[0, 1::2] = -0.0  # -0.0 and 0.0 tie: the first
            elif kind == "nan":
                x[rng.random(x.shape) < 0.01] = np.nan
                x[1, :] = np.nan
            elif kind == "late nan":
                x[:, -1] = np.nan
            elif kind == "inf":
                x[rng.random(x.shape) < 0.5] = -np.inf
                x[2] = -np.inf
                x[3, -2:] = np.inf
            for rows in (x[:, :n], x[:, ::2], x[:, ::-2], x[::-1, n:]):
                out = np.full((rows.shape[0], 1), -7, np.int64)
                _inference._kernels.argmax(rows[:, :, None], out)
                np.testing.assert_array_equal(out[:, 0], np.argmax(rows, axis=1), err_msg=f"{n} {kind}")


def test_predict_kernel_layouts_reach_the_kernel(rng, monkeypatch):
    """The C-ordered rows, the columns (C and Fortran order) go through the
    kernel, not np.argmax (whose answer the other tests compare with)."""
    calls = []
    kernel = _inference._kernels.argmax
    monkeypatch.setattr(_inference._kernels, "argmax",
                        lambda x3, out: (calls.append(x3.shape), kernel(x3, out)))
    x = rng.normal(size=(200, 30, 8))
    f = np.asfortranarray(rng.normal(size=(40, 30, 200)))
    views = [(x, -1), (x, 1), (x, 0), (np.asfortranarray(x), 1), (x[:, 0], -1), (f, -1), (f, 0),
             (np.asfortranarray(rng.normal(size=(3, 2000))), 0)]
    for view, axis in views:
        np.testing.assert_array_equal(csoftmax.predict(view, axis=axis), np.argmax(view, axis=axis))
    assert len(calls) == 8
    # NumPy's: strided 3-D rows, rows of more than 64 classes, fewer than 1,024 elements
    for view in (x[:, :, ::2], rng.normal(size=(20, 65)), x[0, :8]):
        np.testing.assert_array_equal(csoftmax.predict(view), np.argmax(view, axis=-1))
    assert len(calls) == 8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_wide_rows_reach_the_kernel_with_threads(rng, monkeypatch, dtype):
    """Rows of more than 64 classes go to the kernel from
    _ARGMAX_THREADED_MIN elements when there are threads to share them (C
    last axis, Fortran first axis), to np.argmax otherwise; the same answers
    (ties, -0.0 / 0.0, NaN rows) either way."""
    calls = []
    kernel = _inference._kernels.argmax
    monkeypatch.setattr(_inference._kernels, "argmax",
                        lambda x3, out: (calls.append(x3.shape), kernel(x3, out)))
    x = rng.integers(-3, 4, size=(1024, 1024)).astype(dtype)
    x[5, 7] = np.nan
    x[6] = -0.0
    x[6, 9] = 0.0
    x[7] = -np.inf
    assert x.size == _inference._ARGMAX_THREADED_MIN
    before = csoftmax.get_num_threads()
    try:
        for threads, reached in ((2, 2), (1, 0)):
            csoftmax.set_num_threads(threads)
            calls.clear()
            np.testing.assert_array_equal(csoftmax.predict(x), np.argmax(x, axis=-1))
            f = np.asfortranarray(x.T)
            np.testing.assert_array_equal(csoftmax.predict(f, axis=0), np.argmax(f, axis=0))
            assert len(calls) == reached, threads
        csoftmax.set_num_threads(2)
        calls.clear()
        small = x[:-1]  # one element under the threshold: NumPy's
        np.testing.assert_array_equal(csoftmax.predict(small), np.argmax(small, axis=-1))
        assert calls == []
    finally:
        csoftmax.set_num_threads(before)


@pytest.mark.parametrize("dtype", [">f4", ">f8", "<f4", "<f8"])
def test_predict_byte_order_read_only_and_unaligned(rng, dtype):
    x = rng.integers(-3, 4, size=(500, 7)).astype(dtype)
    x[3, 2] = np.nan
    x.flags.writeable = False
    np.testing.assert_array_equal(csoftmax.predict(x), np.argmax(x, axis=-1))
    np.testing.assert_array_equal(csoftmax.predict(x, axis=0), np.argmax(x, axis=0))
    raw = np.zeros(x.nbytes + 1, np.uint8)[1:].view(x.dtype).reshape(x.shape)
    raw[...] = x
    assert not raw.flags.aligned
    np.testing.assert_array_equal(csoftmax.predict(raw), np.argmax(x, axis=-1))


def test_predict_kernel_threads_give_the_same_answer(rng):
    # 1,024,000 elements: both layouts above the kernels' threading threshold
    x = rng.integers(-3, 4, size=(128, 1000, 8)).astype(np.float32)
    x[rng.random(x.shape) < 1e-4] = np.nan
    before = csoftmax.get_num_threads()
    try:
        csoftmax.set_num_threads(1)
        one = [csoftmax.predict(x, axis=a) for a in (1, 2)]
        csoftmax.set_num_threads(2)
        two = [csoftmax.predict(x, axis=a) for a in (1, 2)]
    finally:
        csoftmax.set_num_threads(before)
    for a, b, axis in zip(one, two, (1, 2)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, np.argmax(x, axis=axis))


def test_argmax_kernel_errors():
    out = np.empty((2, 3), np.int64)
    with pytest.raises(ValueError, match="out has shape"):
        _inference._kernels.argmax(np.zeros((2, 4, 2)), out)
    with pytest.raises(ValueError, match="empty class axis"):
        _inference._kernels.argmax(np.zeros((2, 0, 3)), out)
    with pytest.raises(ValueError, match="contiguous columns"):
        _inference._kernels.argmax(np.zeros((2, 4, 6))[:, :, ::2], out)
    before = out.copy()
    with pytest.raises(ValueError):
        _inference._kernels.argmax(np.zeros((2, 0, 3)), out)
    np.testing.assert_array_equal(out, before)


# ---------------------------------------------------------------------------
# one_hot


@pytest.mark.parametrize("label_dtype", [np.int8, np.int32, np.int64, np.uint16, np.uint64])
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64, np.int64, np.uint8, bool])
@pytest.mark.parametrize("shape", [(0,), (1,), (17,), (3, 4)])
def test_one_hot_matches_eye(rng, label_dtype, out_dtype, shape):
    classes = 6
    labels = rng.integers(0, classes, size=shape).astype(label_dtype)
    encoded = csoftmax.one_hot(labels, classes, dtype=out_dtype)
    assert encoded.dtype == np.dtype(out_dtype)
    assert encoded.shape == shape + (classes,)
    np.testing.assert_array_equal(encoded, np.eye(classes, dtype=out_dtype)[labels.astype(np.intp)])
    if labels.size:
        np.testing.assert_array_equal(csoftmax.predict(encoded), labels)


def test_one_hot_default_dtype_and_scalar():
    assert csoftmax.one_hot([0, 1], 2).dtype == np.float32
    np.testing.assert_array_equal(csoftmax.one_hot(2, 4), [0, 0, 1, 0])
    np.testing.assert_array_equal(csoftmax.one_hot(np.array([0]), 1), [[1.0]])


@pytest.mark.parametrize("label", [2, np.int64(2), np.uint8(2), np.int32(2), np.array(2)],
                         ids=["int", "int64", "uint8", "int32", "0-d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, bool, np.int16])
def test_one_hot_of_one_label(label, dtype):
    """One label (a Python or NumPy integer, or a 0-d array) gives a 1-D
    row, as np.eye(classes)[label] does, in the dtype asked for."""
    got = csoftmax.one_hot(label, 5, dtype=dtype)
    assert got.shape == (5,) and got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.eye(5, dtype=dtype)[int(label)])


@pytest.mark.parametrize("label", [5, -1, np.int64(7), np.uint16(300), 2**70])
def test_one_hot_of_one_label_out_of_range(label):
    with pytest.raises(IndexError, match=rf"labels\[\] = {int(label)} is out of range for "
                                         r"num_classes=5 \(expected 0 <= label < 5\)"):
        csoftmax.one_hot(label, 5)


@pytest.mark.parametrize("label", [True, np.bool_(False), 1.0, np.float64(1.0)])
def test_one_hot_of_one_non_integer_label(label):
    with pytest.raises(TypeError, match="labels must hold integer"):
        csoftmax.one_hot(label, 3)


@pytest.mark.parametrize("labels,message", [
    ([0, 3, 1], r"labels\[1\] = 3 is out of range for num_classes=3"),
    ([[0, 1], [2, -1]], r"labels\[1, 1\] = -1 is out of range"),
])
def test_one_hot_out_of_range(labels, message):
    with pytest.raises(IndexError, match=message):
        csoftmax.one_hot(labels, 3)
    with pytest.raises(IndexError, match=message):  # int64 labels: the fast path declines
        csoftmax.one_hot(np.array(labels, dtype=np.int64), 3)


def test_one_hot_fast_path(rng):
    """int64 labels (an ndarray, C-contiguous) and a float32 / float64 /
    bool / int64 result take the compiled fast path, which gives what the
    general path gives; other cases decline to it."""
    labels = rng.integers(0, 7, size=(5, 3))
    for dtype in (np.float32, np.float64, bool, np.int64):
        fast = csoftmax._kernels.one_hot_fast(labels, 7, np.dtype(dtype))
        assert fast is not None and fast.dtype == np.dtype(dtype) and fast.shape == (5, 3, 7)
        np.testing.assert_array_equal(fast, np.eye(7, dtype=dtype)[labels])
    for args in ((labels.astype(np.int32), 7, np.dtype(np.float32)),
                 (labels[:, ::2], 7, np.dtype(np.float32)),
                 (labels, 7, np.dtype(np.float16)),
                 (labels, 7, np.dtype(">f8")),
                 (np.array([0, 7]), 7, np.dtype(np.float32)),  # out of range: the general error
                 (np.array([-1, 0]), 7, np.dtype(np.float32)),
                 (labels, 0, np.dtype(np.float32)),
                 (list(labels.ravel()), 7, np.dtype(np.float32))):
        assert csoftmax._kernels.one_hot_fast(*args) is None


@pytest.mark.parametrize("labels", [[0.0, 1.0], [True, False], ["a"]])
def test_one_hot_rejects_non_integer_labels(labels):
    with pytest.raises(TypeError, match="labels must hold integer"):
        csoftmax.one_hot(labels, 3)


@pytest.mark.parametrize("num_classes,error,message", [
    (0, ValueError, "num_classes must be >= 1, got 0"),
    (-2, ValueError, "got -2"),
    (2.0, TypeError, "num_classes must be an integer, got 2.0"),
    (None, TypeError, "got None"),
])
def test_one_hot_num_classes(num_classes, error, message):
    with pytest.raises(error, match=message):
        csoftmax.one_hot([0], num_classes)


@pytest.mark.parametrize("dtype", [np.complex64, object, "U3"])
def test_one_hot_rejects_dtype(dtype):
    with pytest.raises(TypeError, match="dtype"):
        csoftmax.one_hot([0], 2, dtype=dtype)


# ---------------------------------------------------------------------------
# sample


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.5])
def test_sample_chi_square(seed, dtype, temperature):
    """Draw counts over 200k rows against exp(x / T) / sum, Pearson's chi-square."""
    stats = pytest.importorskip("scipy.stats")
    logits = np.array([1.2, -0.3, 0.0, 2.1, -1.5, 0.7, -np.inf, 1.9], dtype=dtype)
    n = 200_000
    draws = csoftmax.sample(np.broadcast_to(logits, (n, logits.size)), rng=seed,
                            temperature=temperature)
    assert draws.shape == (n,) and draws.dtype == np.int64
    counts = np.bincount(draws, minlength=logits.size)
    assert counts[6] == 0  # -inf: never drawn
    finite = np.isfinite(logits)
    expected = reference_softmax(logits[finite].astype(np.float64) / temperature) * n
    result = stats.chisquare(counts[finite], expected)
    assert result.pvalue > 1e-4, (counts, expected)


def test_sample_chi_square_per_row_distributions(rng, isa):
    """Different rows, different distributions: each row of a tiled block is tested."""
    stats = pytest.importorskip("scipy.stats")
    rows, classes, repeats = 4, 5, 40_000
    logits = rng.normal(size=(rows, classes)) * 2
    draws = csoftmax.sample(np.tile(logits, (repeats, 1)), rng=rng)
    draws = draws.reshape(repeats, rows)
    probs = reference_softmax(logits)
    for r in range(rows):
        counts = np.bincount(draws[:, r], minlength=classes)
        assert stats.chisquare(counts, probs[r] * repeats).pvalue > 1e-4


def test_sample_detects_a_wrong_distribution(seed):
    """The chi-square check above can fail: the same draws against T=1 when T=2 was used."""
    stats = pytest.importorskip("scipy.stats")
    logits = np.array([1.2, -0.3, 0.0, 2.1])
    n = 200_000
    draws = csoftmax.sample(np.broadcast_to(logits, (n, 4)), rng=seed, temperature=2.0)
    counts = np.bincount(draws, minlength=4)
    assert stats.chisquare(counts, reference_softmax(logits) * n).pvalue < 1e-10


def test_sample_reproducible_with_seed_and_generator(rng):
    logits = rng.normal(size=(300, 7))
    a = csoftmax.sample(logits, rng=123)
    b = csoftmax.sample(logits, rng=123)
    np.testing.assert_array_equal(a, b)
    g1, g2 = np.random.default_rng(123), np.random.default_rng(123)
    first = csoftmax.sample(logits, rng=g1)
    np.testing.assert_array_equal(first, csoftmax.sample(logits, rng=g2))
    np.testing.assert_array_equal(first, a)  # an int seed is default_rng(seed)
    second = csoftmax.sample(logits, rng=g1)  # the Generator has advanced
    assert np.any(second != first)
    np.testing.assert_array_equal(
        csoftmax.sample(logits, rng=np.random.SeedSequence(5)),
        csoftmax.sample(logits, rng=np.random.PCG64(5)))


@pytest.mark.parametrize("shape,axis", [((6, 4), 0), ((3, 5, 4), 1), ((3, 5, 4), -1), ((9,), 0)])
def test_sample_axis_and_shape(rng, shape, axis):
    logits = rng.normal(size=shape).astype(np.float32)
    draws = csoftmax.sample(logits, rng=7, axis=axis)
    expected_shape = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
    assert draws.shape == expected_shape
    moved = np.moveaxis(logits, axis, -1)
    np.testing.assert_array_equal(draws, csoftmax.sample(moved, rng=7))
    assert np.all((draws >= 0) & (draws < shape[axis]))


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_sample_of_one_row_is_an_int64_scalar_as_predict(temperature):
    """1-D logits: one np.int64, as predict and np.argmax return, the same
    draw as the row's in a batch of one."""
    logits = np.log([0.1, 0.2, 0.7])
    draw = csoftmax.sample(logits, rng=3, temperature=temperature)
    assert type(draw) is np.int64
    assert type(csoftmax.predict(logits)) is type(np.argmax(logits)) is np.int64
    batch = csoftmax.sample(logits[np.newaxis], rng=3, temperature=temperature)
    assert type(batch) is np.ndarray and batch.shape == (1,) and batch[0] == draw


def test_sample_temperature_equals_divided_logits(rng):
    logits = rng.normal(size=(2000, 6)) * 3
    for temperature in (0.3, 4.0):
        np.testing.assert_array_equal(
            csoftmax.sample(logits, rng=11, temperature=temperature),
            csoftmax.sample(logits / temperature, rng=11))


def test_sample_zero_probability_never_drawn(rng):
    logits = np.full((50_000, 6), -np.inf)
    logits[:, 1] = 0.0
    logits[:, 4] = rng.normal(size=50_000)
    logits[::2, 5] = -800.0  # exp(-800) underflows to 0 in float64 after the shift
    draws = csoftmax.sample(logits, rng=3)
    assert set(np.unique(draws)) == {1, 4}


def test_sample_small_and_large_temperatures():
    logits = np.array([[1e300, -1e300, 0.0], [3.0, 2.999, -5.0]])
    # T -> 0: the argmax, with no overflow warning (warnings are errors here)
    np.testing.assert_array_equal(csoftmax.sample(np.tile(logits, (100, 1)), rng=0, temperature=1e-300),
                                  np.tile([0, 0], 100))
    draws = csoftmax.sample(np.broadcast_to([5.0, -5.0], (20_000, 2)), rng=0, temperature=1e6)
    assert 0.48 < draws.mean() < 0.52  # T -> inf: uniform


def test_sample_spill_to_last_positive_class():
    """If u * total rounds up to the total, the draw is the last class with p > 0, never a -inf class."""

    class AlmostOne(np.random.Generator):
        def random(self, size=None):
            return np.full(size, np.nextafter(1.0, 0.0))

    logits = np.array([[0.1, 0.2, 0.35, -np.inf, -np.inf]] * 3)
    draws = csoftmax.sample(logits, rng=AlmostOne(np.random.PCG64(0)))
    np.testing.assert_array_equal(draws, [2, 2, 2])


def test_sample_empty_and_input_untouched(rng):
    assert csoftmax.sample(np.zeros((0, 3)), rng=0).shape == (0,)
    assert csoftmax.sample(np.zeros((2, 0, 3)), rng=0, axis=-1).shape == (2, 0)
    x = rng.normal(size=(10, 4)).astype(np.float32)
    before = x.copy()
    csoftmax.sample(x, rng=0, temperature=0.7)
    csoftmax.sample(x, rng=0)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("temperature,error", [
    (0.0, ValueError), (-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
    ("2", TypeError), (True, TypeError), (None, TypeError), (1j, TypeError)])
def test_sample_bad_temperature(temperature, error):
    with pytest.raises(error, match="temperature"):
        csoftmax.sample([0.0, 1.0], rng=0, temperature=temperature)


@pytest.mark.parametrize("row,shown", [([np.nan, 0.0], "nan"), ([np.inf, 0.0], "inf"),
                                      ([-np.inf, -np.inf], "-inf")])
def test_sample_bad_rows(row, shown):
    logits = np.array([[0.0, 1.0], row, [2.0, 2.0]])
    with pytest.raises(ValueError, match=rf"logits row \[1\] has no finite maximum \(max = {shown}\)"):
        csoftmax.sample(logits, rng=0)


def test_sample_other_errors():
    with pytest.raises(TypeError, match="rng must be"):
        csoftmax.sample([0.0, 1.0], rng="seed")
    with pytest.raises(TypeError, match="rng must be"):
        csoftmax.sample([0.0, 1.0], rng=1.5)
    with pytest.raises(ValueError, match="empty class axis"):
        csoftmax.sample(np.zeros((3, 0)), rng=0)
    with pytest.raises(np.exceptions.AxisError):
        csoftmax.sample(1.0, rng=0)
    with pytest.raises(TypeError, match="complex"):
        csoftmax.sample(np.zeros(3, dtype=complex), rng=0)


# ---------------------------------------------------------------------------
# mixture_softmax


def reference_mixture(logits, mix_logits):
    """sum_k softmax(mix)_k softmax(logits_k) in float64, class axis last, components at -2."""
    weights = reference_softmax(mix_logits)
    components = reference_softmax(logits)
    return np.sum(weights[..., np.newaxis] * components, axis=-2)


# relative tolerances: a few ulps of the compute dtype times the number of passes
RTOL = {np.float32: 2e-6, np.float64: 1e-14}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,mix_shape", [((1, 4), (1,)), ((3, 5), (3,)), ((6, 3, 5), (6, 3)),
                                             ((6, 3, 5), (3,)), ((2, 6, 4, 17), (2, 6, 4)),
                                             ((2, 6, 4, 17), (1, 1, 4))])
def test_mixture_matches_reference(rng, isa, dtype, shape, mix_shape):
    logits = (rng.normal(size=shape) * 4).astype(dtype)
    mix = (rng.normal(size=mix_shape) * 2).astype(dtype)
    before = logits.copy(), mix.copy()
    y = csoftmax.mixture_softmax(logits, mix)
    assert y.dtype == dtype
    assert y.shape == shape[:-2] + shape[-1:]
    np.testing.assert_allclose(y, reference_mixture(logits, mix), rtol=RTOL[dtype], atol=0)
    np.testing.assert_allclose(np.sum(y, axis=-1, dtype=np.float64), 1.0, rtol=10 * RTOL[dtype])
    np.testing.assert_array_equal(logits, before[0])
    np.testing.assert_array_equal(mix, before[1])


def test_mixture_single_component_is_softmax(rng):
    x = rng.normal(size=(5, 1, 9))
    np.testing.assert_allclose(csoftmax.mixture_softmax(x, np.zeros((5, 1))),
                               csoftmax.softmax(x[:, 0]), rtol=1e-14)


def test_mixture_equal_components(rng):
    x = np.repeat(rng.normal(size=(4, 1, 6)), 3, axis=1)
    np.testing.assert_allclose(csoftmax.mixture_softmax(x, rng.normal(size=(4, 3))),
                               reference_softmax(x[:, 0]), rtol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_mixture_axis(rng, axis):
    """axis is the class axis; the component axis is the last axis other than axis."""
    logits = rng.normal(size=(3, 4, 5))
    classes_last = np.moveaxis(logits, axis, -1)  # (..., K, C)
    mix = rng.normal(size=classes_last.shape[:-1])
    y = csoftmax.mixture_softmax(logits, mix, axis=axis)
    ax = axis % 3
    component = 2 if ax != 2 else 1
    assert y.shape == tuple(s for i, s in enumerate(logits.shape) if i != component)
    expected = reference_mixture(classes_last, mix)  # class axis last
    np.testing.assert_allclose(np.moveaxis(y, ax if ax < component else ax - 1, -1), expected,
                               rtol=1e-14)


def test_mixture_extreme_inputs_stay_accurate():
    special = pytest.importorskip("scipy.special")
    logits = np.array([[[0.0, -1000.0, -2000.0], [-3000.0, 0.0, -1.0]]])
    mix = np.array([[0.0, -700.0]])
    y = csoftmax.mixture_softmax(logits, mix)
    # independent log-space formula with scipy's logsumexp
    log_w = mix - special.logsumexp(mix, axis=-1, keepdims=True)
    log_p = logits - special.logsumexp(logits, axis=-1, keepdims=True)
    expected = np.exp(special.logsumexp(log_w[..., None] + log_p, axis=-2))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    assert y[0, 1] > 0  # exp(-700) * p is tiny but representable, not flushed to 0 early


def test_mixture_masked_component():
    logits = np.array([[1.0, 2.0, 3.0], [5.0, -1.0, 0.0]])
    y = csoftmax.mixture_softmax(logits, [0.0, -np.inf])
    np.testing.assert_allclose(y, reference_softmax(logits[0]), rtol=1e-15)


def test_mixture_float16_and_promotion(rng):
    logits = rng.normal(size=(2, 3, 4))
    y16 = csoftmax.mixture_softmax(logits.astype(np.float16), np.zeros((2, 3), np.float16))
    assert y16.dtype == np.float16
    y = csoftmax.mixture_softmax(logits.astype(np.float32), np.zeros((2, 3)))
    assert y.dtype == np.float64
    assert csoftmax.mixture_softmax(np.zeros((3, 2), int), [0, 0, 0]).dtype == np.float64


@pytest.mark.parametrize("logits_shape,mix_shape,message", [
    ((5,), (1,), "at least two dimensions"),
    ((4, 3, 5), (4, 5), r"mix_logits has shape \(4, 5\), which does not broadcast to \(4, 3\)"),
    ((4, 3, 5), (2, 3), "does not broadcast"),
    ((3, 5), (1, 3), "does not broadcast"),  # would broadcast the wrong way round
    ((3, 5), (), "0-d"),
    ((0, 5), (0,), "at least one component"),
    ((3, 0), (3,), "one class"),
])
def test_mixture_shape_errors(logits_shape, mix_shape, message):
    with pytest.raises(ValueError, match=message):
        csoftmax.mixture_softmax(np.zeros(logits_shape), np.zeros(mix_shape))


def test_mixture_type_errors():
    with pytest.raises(TypeError, match="logits"):
        csoftmax.mixture_softmax(np.zeros((2, 2), complex), np.zeros(2))
    with pytest.raises(TypeError, match="mix_logits"):
        csoftmax.mixture_softmax(np.zeros((2, 2)), np.array(["a", "b"]))


def test_strided_inputs(rng):
    wide = rng.normal(size=(6, 3, 8))
    logits = wide[:, :, :5]  # rows contiguous, row stride != row length
    np.testing.assert_allclose(csoftmax.mixture_softmax(logits, wide[:, :, 7]),
                               reference_mixture(logits, wide[:, :, 7]), rtol=1e-14)
    np.testing.assert_array_equal(csoftmax.sample(logits[:, 0], rng=1),
                                  csoftmax.sample(np.ascontiguousarray(logits[:, 0]), rng=1))


@pytest.mark.parametrize("make", [lambda: np.zeros((4, 8))[:, :3],
                                  lambda: np.broadcast_to(np.arange(3.0), (4, 3))],
                         ids=["slice", "broadcast"])
def test_softmax_strided_rows(make):
    x = make()
    np.testing.assert_allclose(csoftmax.softmax(x), reference_softmax(x), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(10,), (8, 10), (1000, 3), (5, 1), (64, 1000), (2, 3, 4)],
                         ids=lambda s: "x".join(map(str, s)))
def test_sample_fast_path_draws_as_the_general_path(dtype, shape, isa, monkeypatch):
    """float32 / float64 logits: the fast path (_kernels.sample_fast: the
    general path's probabilities, float64 cumulative sums and one
    generator.random(rows) call, in C; other layouts and axes through a
    C-contiguous copy with the classes last) draws what the general path
    (the NumPy steps, sample_fast declining) draws from the same generator
    state, at every temperature, with -inf classes, for C-contiguous rows,
    strided rows and the classes on the first axis; and the general path's
    NumPy steps do not run."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    if shape[-1] > 1:
        x[..., 1] = -np.inf
    temperatures = (1.0, 0.3, 2.0, 1e-6, 1e300)
    with monkeypatch.context() as m:
        m.setattr(csoftmax._kernels, "sample_fast", lambda *args: None)
        general = [csoftmax.sample(x, rng=np.random.default_rng(5), temperature=t)
                   for t in temperatures]
    strided = np.repeat(x[..., None], 2, axis=-1)[..., 0]
    first = np.moveaxis(x, -1, 0)  # the classes on axis 0 (a view)

    def refuse(*args, **kwargs):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(csoftmax._api, "softmax", refuse)
    for t, want in zip(temperatures, general):
        for logits, axis in ((x, -1), (strided, -1), (first, 0)):
            got = csoftmax.sample(logits, rng=np.random.default_rng(5), temperature=t, axis=axis)
            assert type(got) is type(want) and np.array_equal(got, want), (t, axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_sample_one_row_at_a_time_draws_as_a_batch(dtype, temperature):
    """An agent's loop: one row per call from one generator draws what one
    call on the stacked rows draws (the one-row call takes the generator's
    scalar draw, the batch random(rows): the same numbers in turn), and
    leaves the generator where the batch leaves it."""
    logits = (np.random.default_rng(2).standard_normal((200, 6)) * 2).astype(dtype)
    g_one, g_batch = np.random.default_rng(9), np.random.default_rng(9)
    one = [csoftmax.sample(row, rng=g_one, temperature=temperature) for row in logits]
    assert all(type(d) is np.int64 for d in one)
    np.testing.assert_array_equal(one, csoftmax.sample(logits, rng=g_batch,
                                                       temperature=temperature))
    assert g_one.bit_generator.state == g_batch.bit_generator.state


def test_sample_generator_subclass_gets_random_of_rows():
    """A Generator subclass is asked for random(rows), as the general path
    asks, even for one row."""
    calls = []

    class Recording(np.random.Generator):
        def random(self, *args, **kwargs):
            calls.append(args)
            return super().random(*args, **kwargs)

    x = np.array([0.0, 1.0, 2.0])
    draw = csoftmax.sample(x, rng=Recording(np.random.PCG64(4)))
    assert calls == [(1,)]
    assert draw == csoftmax.sample(x, rng=np.random.default_rng(4))


def test_sample_bad_row_leaves_the_generator_alone():
    """A row without a finite maximum is refused before any draw: the fast
    path hands it to the general path's error, the generator not advanced."""
    g = np.random.default_rng(3)
    state = g.bit_generator.state
    logits = np.array([[0.0, 1.0], [np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"logits row \[1\] has no finite maximum"):
        csoftmax.sample(logits, rng=g)
    assert g.bit_generator.state == state
    assert csoftmax._kernels.sample_fast(logits, 1.0, g) is None
    assert g.bit_generator.state == state
