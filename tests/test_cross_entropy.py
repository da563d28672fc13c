"""cross_entropy and cross_entropy_with_grad: against the extended-precision
reference under every ISA, reductions, target dtypes, axes, finite differences,
non-finite rows, empty batches and every error with its message."""
import warnings

import numpy as np
import pytest

import csoftmax
from csoftmax import _kernels, reference

from accuracy_helpers import LD, dyadic, ulp_errors
from conftest import general_targets

REDUCTIONS = ["mean", "sum", "none"]
# Stated bounds in ulps: per-row loss (log1p(t) - z_k, no cancellation) and
# each gradient entry (p_j * scale, or -(1 - p_k) * scale formed without
# cancellation). Reduced losses are summed in float64.
# the gradient's bound is softmax's (its sums are compensated on every path;
# see test_long_row_keeps_accuracy)
LOSS_ULPS = {np.float32: 4, np.float64: 8}
GRAD_ULPS = {np.float32: 8, np.float64: 16}


def _rows_for(n):
    return max(1, min(16, 4096 // n))


def _check_against_reference(logits, target, dtype, reduction="none", axis=-1):
    loss, grad = csoftmax.cross_entropy_with_grad(logits, target, axis=axis, reduction=reduction)
    ref_loss, ref_grad = reference.cross_entropy_with_grad(logits, target, axis=axis,
                                                           reduction=reduction, dtype=LD)
    assert grad.dtype == dtype and np.asarray(loss).dtype == dtype
    worst_loss = ulp_errors(np.asarray(loss), np.asarray(ref_loss), dtype).max()
    worst_grad = ulp_errors(grad, ref_grad, dtype).max()
    assert worst_loss <= LOSS_ULPS[dtype], f"loss error {worst_loss} ulp"
    assert worst_grad <= GRAD_ULPS[dtype], f"grad error {worst_grad} ulp"
    return loss, grad


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 64, 65, 97,
                               113, 128, 129, 1000, 100000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_matches_reference(dtype, n, isa, rng):
    rows = _rows_for(n)
    x = dyadic(rng, (rows, n), dtype)
    t = rng.integers(0, n, rows)
    t[0] = np.argmax(x[0])          # the target is the row maximum (p_k near 1)
    _check_against_reference(x, t, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_reductions(reduction, dtype, isa, rng):
    x = dyadic(rng, (12, 10), dtype)
    t = rng.integers(0, 10, 12)
    loss, grad = _check_against_reference(x, t, dtype, reduction)
    none_loss, none_grad = csoftmax.cross_entropy_with_grad(x, t, reduction="none")
    eps = np.finfo(dtype).eps
    if reduction == "none":
        assert loss.shape == (12,)
    else:
        assert np.ndim(loss) == 0
        total = np.sum(none_loss, dtype=np.float64)
        expected = total / 12 if reduction == "mean" else total
        np.testing.assert_allclose(float(loss), expected, rtol=2 * eps)
        scale = 1 / 12 if reduction == "mean" else 1.0
        np.testing.assert_allclose(grad, none_grad * dtype(scale), rtol=4 * eps, atol=0)
    assert csoftmax.cross_entropy(x, t, reduction=reduction) == pytest.approx(loss, rel=0, abs=0) \
        if reduction != "none" else np.array_equal(csoftmax.cross_entropy(x, t, reduction="none"),
                                                   loss)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(1, 10), (33, 3), (19, 32), (7, 1000)])
def test_fast_path_matches_general_path(shape, dtype, reduction, isa, rng):
    """The small-batch fast path (2-D logits, int64 targets, no option) gives
    what the general path gives (taken here through byte-swapped targets): the same
    per-row losses and gradient, the same result types, and the same reduced
    losses bit for bit (both sum with _kernels.loss_total)."""
    from csoftmax import _kernels
    x = rng.standard_normal(shape).astype(dtype)
    t = rng.integers(0, shape[1], shape[0])
    code = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM, "none": _kernels.XENT_NONE}
    fast_loss, fast_grad = _kernels.cross_entropy_fast(x, t, code[reduction], True)
    fast_only = _kernels.cross_entropy_fast(x, t, code[reduction], False)
    loss, grad = csoftmax.cross_entropy_with_grad(x, general_targets(t), reduction=reduction)
    assert type(fast_loss) is type(loss) and type(fast_only) is type(loss)
    assert np.asarray(fast_loss).dtype == dtype and fast_grad.dtype == dtype
    np.testing.assert_array_equal(fast_grad, grad)
    if reduction == "none":
        np.testing.assert_array_equal(fast_loss, loss)
        np.testing.assert_array_equal(fast_only, loss)
    else:
        assert fast_loss.tobytes() == loss.tobytes(), (fast_loss, loss)
        assert fast_only == fast_loss
    # and the public functions take it
    public = csoftmax.cross_entropy_with_grad(x, t, reduction=reduction)
    np.testing.assert_array_equal(public[1], fast_grad)
    np.testing.assert_array_equal(public[0], fast_loss)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_reduced_loss_is_the_same_bits_in_every_layout(dtype, reduction, rng):
    """C-contiguous logits with int64 targets take the fast path; Fortran
    order, reversed rows, a broadcast row or byte-swapped targets take the
    general one (uint8 targets the fast one, converted to int64). The reduced loss is the same bits on each (the general path
    summed with np.sum before 2026-12-02: 66 of 200 float64 batches of 300x10
    came out an ulp apart), with weights and nll_loss too."""
    for _ in range(40):
        x = (rng.standard_normal((300, 10)) * 3).astype(dtype)
        t = rng.integers(0, 10, 300)
        w = rng.uniform(0.5, 2.0, 10).astype(dtype)
        for kwargs in ({}, {"weight": w}):
            want = csoftmax.cross_entropy(x, t, reduction=reduction, **kwargs)
            flipped = csoftmax.cross_entropy(x[::-1], t[::-1], reduction=reduction, **kwargs)
            others = [csoftmax.cross_entropy(np.asfortranarray(x), t, reduction=reduction,
                                             **kwargs),
                      csoftmax.cross_entropy(x, general_targets(t), reduction=reduction, **kwargs),
                      csoftmax.cross_entropy(x, t.astype(np.uint8), reduction=reduction, **kwargs),
                      csoftmax.cross_entropy_with_grad(np.asfortranarray(x), t,
                                                       reduction=reduction, **kwargs)[0]]
            for got in others:
                assert type(got) is type(want) and got.tobytes() == want.tobytes(), (got, want)
            # reversing the rows changes the order of the sum, not the path's method
            assert abs(flipped - want) <= 2 * np.spacing(np.abs(want))
        logp = csoftmax.log_softmax(x)
        assert (csoftmax.nll_loss(np.asfortranarray(logp), t, reduction=reduction).tobytes()
                == csoftmax.nll_loss(logp, general_targets(t), reduction=reduction).tobytes())
    row = (rng.standard_normal(10) * 3).astype(dtype)
    t = rng.integers(0, 10, 50)
    broadcast = np.broadcast_to(row, (50, 10))
    assert (csoftmax.cross_entropy(broadcast, t, reduction=reduction).tobytes()
            == csoftmax.cross_entropy(np.ascontiguousarray(broadcast), t,
                                      reduction=reduction).tobytes())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_fast_path_reduction_is_the_rounded_exact_sum(dtype, reduction, rng):
    """The fast path's sum of 200,003 per-row losses against their exact sum
    (math.fsum): float32 losses (plain double accumulators) give the exact
    sum or mean rounded to float32, within half an ulp of it (a millionth of
    an ulp's slack for the double rounding); float64 ones (compensated
    accumulators, then the division of the mean) within 2 ulp."""
    import math
    from csoftmax import _kernels
    x = (rng.standard_normal((200_003, 3)) * 4).astype(dtype)
    t = rng.integers(0, 3, 200_003)
    code = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM}[reduction]
    rows = csoftmax.cross_entropy(x, t, reduction="none")
    exact = math.fsum(rows.astype(np.float64).tolist())
    if reduction == "mean":
        exact /= len(rows)
    got = _kernels.cross_entropy_fast(x, t, code, False)
    assert np.asarray(got).dtype == dtype
    ulp = float(np.spacing(dtype(exact)))
    bound = 0.5 * ulp * (1 + 1e-6) if dtype == np.float32 else 2 * ulp
    assert abs(float(got) - exact) <= bound, (float(got), exact)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_class_weight_sum_against_fsum(dtype, ignore_index, rng):
    """The weighted mean's denominator (both paths' class_weight_sum): the
    exact sum of weight[t] over the rows not ignored (math.fsum), within an
    ulp for float64 weights (compensated) and 1e-12 of it for float32 ones
    (plain double accumulators); every row ignored gives 0."""
    import math
    from csoftmax import _kernels
    w = rng.uniform(0.01, 100.0, 7).astype(dtype)
    t = rng.integers(0, 7, 100_003)
    t[rng.random(t.size) < 0.1] = ignore_index
    kept = t[t != ignore_index]
    exact = math.fsum(w.astype(np.float64)[kept].tolist())
    got = _kernels.class_weight_sum(w, t, ignore_index)
    if dtype == np.float64:
        assert abs(got - exact) <= np.spacing(exact)
    else:
        assert abs(got - exact) <= 1e-12 * exact
    assert _kernels.class_weight_sum(w, np.full(5, ignore_index), ignore_index) == 0.0


def test_fast_path_declines_what_it_does_not_handle(rng):
    """None (the general path then runs) for every case outside the fast
    path's; nothing raised by it."""
    from csoftmax import _kernels
    x = rng.standard_normal((4, 5))
    t = np.array([0, 1, 2, 3])
    mean = _kernels.XENT_MEAN
    assert _kernels.cross_entropy_fast(x, t, mean, True) is not None
    declined = [
        (x.astype(np.float16), t), (x, general_targets(t)), (x[:, ::2], t[:4]),
        (np.asfortranarray(x), t), (x[0], t[:1]), (x.reshape(2, 2, 5), t[:2]),
        (x, t[:3]), (x[:0], t[:0]), (x, np.array([0, 5, 1, 2])), (x, np.array([0, -1, 1, 2])),
        (x, np.array([0, -100, 5, 2])),
        (x.tolist(), t), (x, t.tolist()), (x.astype(x.dtype.newbyteorder()), t),
    ]
    for logits, target in declined:
        assert _kernels.cross_entropy_fast(logits, target, mean, True) is None
    with pytest.raises(ValueError, match="reduction code"):
        _kernels.cross_entropy_fast(x, t, 7, True)
    # the general path still answers those with the index error
    with pytest.raises(IndexError, match=r"target\[1\] = 5"):
        csoftmax.cross_entropy(x, np.array([0, 5, 1, 2]))
    with pytest.raises(IndexError, match=r"target\[2\] = 5"):
        csoftmax.cross_entropy(x, np.array([0, -100, 5, 2]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_fast_path_takes_ignored_rows(dtype, reduction, isa, rng):
    """Rows of target -100 (the default ignore_index) stay on the fast path:
    zero loss and gradient there, the mean over the other rows, as the
    general path (taken through byte-swapped targets) gives; every row ignored:
    a NaN mean, a zero sum."""
    from csoftmax import _kernels
    code = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM, "none": _kernels.XENT_NONE}
    x = rng.standard_normal((9, 7)).astype(dtype)
    t = rng.integers(0, 7, 9)
    t[[0, 4, 5]] = -100
    fast_loss, fast_grad = _kernels.cross_entropy_fast(x, t, code[reduction], True)
    loss, grad = csoftmax.cross_entropy_with_grad(x, general_targets(t), reduction=reduction)
    assert type(fast_loss) is type(loss) and fast_grad.dtype == dtype
    np.testing.assert_array_equal(fast_grad, grad)
    assert not fast_grad[[0, 4, 5]].any() and fast_grad[1].any()
    if reduction == "none":
        np.testing.assert_array_equal(fast_loss, loss)
        assert not fast_loss[[0, 4, 5]].any()
    else:
        assert abs(fast_loss - loss) <= 2 * np.spacing(np.abs(loss))
        kept = csoftmax.cross_entropy(x[t != -100], t[t != -100], reduction=reduction)
        assert abs(fast_loss - kept) <= 4 * np.spacing(np.abs(kept))
    everything = np.full(9, -100)
    value, zeros = _kernels.cross_entropy_fast(x, everything, code[reduction], True)
    assert not zeros.any()
    if reduction == "mean":
        assert np.isnan(value) and np.isnan(csoftmax.cross_entropy(x, general_targets(everything)))
    elif reduction == "sum":
        assert value == 0


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_fast_path_takes_weight(dtype, reduction, isa, rng):
    """A per-class float weight stays on the fast path (with ignored rows
    too): the same per-row losses and gradient as the general path (taken
    through byte-swapped targets; both divide the mean by class_weight_sum), reduced
    losses within 2 ulp; a weight of another float dtype or layout is rounded
    and copied as the general path does it; another shape, an integer weight or
    a list declines; zero weight sums give NaN or a signed infinity as on the
    general path."""
    from csoftmax import _kernels
    code = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM, "none": _kernels.XENT_NONE}
    x = rng.standard_normal((40, 7)).astype(dtype)
    t = rng.integers(0, 7, 40)
    t[[3, 11]] = -100
    w = rng.uniform(0.1, 3.0, 7).astype(dtype)
    fast_loss, fast_grad = _kernels.cross_entropy_fast(x, t, code[reduction], True, w)
    loss, grad = csoftmax.cross_entropy_with_grad(x, general_targets(t), weight=w,
                                                  reduction=reduction)
    assert type(fast_loss) is type(loss) and fast_grad.dtype == dtype
    np.testing.assert_array_equal(fast_grad, grad)
    if reduction == "none":
        np.testing.assert_array_equal(fast_loss, loss)
    else:
        assert abs(fast_loss - loss) <= 2 * np.spacing(np.abs(loss))
    public = csoftmax.cross_entropy_with_grad(x, t, weight=w, reduction=reduction)
    np.testing.assert_array_equal(public[1], fast_grad)
    np.testing.assert_array_equal(public[0], fast_loss)
    # against the definition: weighted rows over the kept rows' weight sum
    kept = t != -100
    rows = csoftmax.cross_entropy(x[kept], t[kept], reduction="none").astype(np.float64)
    if reduction == "mean":
        expected = np.sum(w[t[kept]] * rows) / np.sum(w[t[kept]], dtype=np.float64)
        assert abs(fast_loss - expected) <= 8 * np.spacing(np.abs(dtype(expected)))
    other = np.float32 if dtype == np.float64 else np.float64
    for same in (w.astype(other), np.repeat(w, 2)[::2], w.astype(w.dtype.newbyteorder())):
        got = _kernels.cross_entropy_fast(x, t, code[reduction], True, same)
        expected = csoftmax.cross_entropy_with_grad(x, general_targets(t), weight=same,
                                                    reduction=reduction)
        np.testing.assert_array_equal(got[1], expected[1])
        assert np.all(np.abs(got[0] - expected[0]) <= 2 * np.spacing(np.abs(expected[0])))
    for bad in (w[:6], w.tolist(), w.reshape(1, 7), np.arange(7)):
        assert _kernels.cross_entropy_fast(x, t, code[reduction], True, bad) is None
    logits = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inf = _kernels.cross_entropy_fast(logits, np.array([0, 1]), _kernels.XENT_MEAN, False,
                                          np.array([1.0, -1.0], dtype=dtype))
        nan = _kernels.cross_entropy_fast(logits, np.array([0, 0]), _kernels.XENT_MEAN, False,
                                          np.array([0.0, 1.0], dtype=dtype))
    assert np.isinf(inf) and np.isnan(nan)
    assert inf == csoftmax.cross_entropy(logits, [0, 1], weight=np.array([1.0, -1.0], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_fast_path_takes_out(dtype, isa, rng, monkeypatch):
    """A gradient out= of the logits' dtype, shape and C layout apart from the
    inputs stays on the fast path (plain, ignored rows, weights): the same
    bits as a new gradient, out returned; any other out, or an index the
    fast path declines, gives None with out as it was; the public call with
    such an out never reaches the general path's kernel call."""
    from csoftmax import _kernels, _losses
    code = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM, "none": _kernels.XENT_NONE}
    x = rng.standard_normal((37, 70)).astype(dtype)
    t = rng.integers(0, 70, 37)
    ignored = t.copy()
    ignored[[2, 9]] = -100
    w = rng.uniform(0.5, 2.0, 70).astype(dtype)
    for target, weight in [(t, None), (ignored, None), (ignored, w)]:
        for reduction, c in code.items():
            loss, grad = _kernels.cross_entropy_fast(x, target, c, True, weight)
            out = np.full(x.shape, np.nan, dtype=dtype)
            got = _kernels.cross_entropy_fast(x, target, c, True, weight, out)
            assert got[1] is out and out.tobytes() == grad.tobytes()
            assert np.asarray(got[0]).tobytes() == np.asarray(loss).tobytes()
    other = np.float32 if dtype == np.float64 else np.float64
    buf = np.zeros(2 * x.size + 8, dtype=dtype)
    shared = np.zeros(x.size + 8, dtype=dtype)
    tx = shared[:x.size].view(np.uint8)[:t.nbytes].view(np.int64)  # targets inside out's bytes
    tx[...] = t
    read_only = np.empty_like(x)
    read_only.flags.writeable = False
    wx = buf[:x.size].reshape(x.shape)  # the weight inside out's bytes below
    wx.ravel()[:70] = w
    declined = [
        (x, t, None, np.empty(x.shape, dtype=other)), (x, t, None, np.empty((37, 69), dtype)),
        (x, t, None, np.empty((70, 37), dtype).T), (x, t, None, read_only),
        (x, t, None, x.tolist()), (x, t, None, x),
        (x, tx, None, shared[:x.size].reshape(x.shape)),
        (x, t, wx.ravel()[:70], wx),
        (x, np.where(t == 0, 70, t), None, np.empty_like(x)),
    ]
    for logits, target, weight, out in declined:
        before = np.array(out, copy=True)
        assert _kernels.cross_entropy_fast(logits, target, _kernels.XENT_MEAN, True, weight,
                                           out) is None
        np.testing.assert_array_equal(np.asarray(out), before)
    # overlapping logits: out is the logits, or shares part of their bytes
    part = np.zeros(2 * x.size, dtype=dtype)
    part[:x.size] = x.ravel()
    assert _kernels.cross_entropy_fast(part[:x.size].reshape(x.shape), t, _kernels.XENT_MEAN,
                                       True, None, part[5:x.size + 5].reshape(x.shape)) is None
    out = np.empty_like(x)
    assert _kernels.cross_entropy_fast(x, t, _kernels.XENT_MEAN, False, None, out) is None
    # the public call goes through the fast path with such an out
    expected = csoftmax.cross_entropy_with_grad(x, t)
    monkeypatch.setattr(_losses, "_xent_rows", None)  # calling it would raise TypeError
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, out=out)
    assert grad is out and out.tobytes() == expected[1].tobytes() and loss == expected[0]


def _assert_fast_matches_general(x, cases, axis=-1):
    """For each (fast target, the same values for the general path, options):
    cross_entropy_fast with and without the gradient, and into out=, gives
    the general path's bits, result types and shapes under every reduction."""
    code = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM, "none": _kernels.XENT_NONE}
    lead = np.moveaxis(x, axis, -1).shape[:-1]
    for fast_target, general_target, kw in cases:
        e = kw.get("label_smoothing", 0.0)
        temp = kw.get("temperature", 1.0)
        for reduction, c in code.items():
            expected = csoftmax.cross_entropy_with_grad(x, general_target, axis=axis,
                                                        reduction=reduction, **kw)
            got = _kernels.cross_entropy_fast(x, fast_target, c, True, kw.get("weight"), None,
                                              e, temp, axis)
            assert got is not None, (kw, reduction)
            assert got[1].tobytes() == expected[1].tobytes(), (kw, reduction)
            assert got[1].shape == x.shape
            assert np.asarray(got[0]).tobytes() == np.asarray(expected[0]).tobytes()
            assert type(got[0]) is type(expected[0])
            assert np.shape(got[0]) == (lead if reduction == "none" else ())
            only = _kernels.cross_entropy_fast(x, fast_target, c, False, kw.get("weight"), None,
                                               e, temp, axis)
            assert np.asarray(only).tobytes() == np.asarray(expected[0]).tobytes()
            out = np.full(x.shape, 7.0, dtype=x.dtype)
            into = _kernels.cross_entropy_fast(x, fast_target, c, True, kw.get("weight"), out,
                                               e, temp, axis)
            assert into[1] is out and out.tobytes() == expected[1].tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(37, 5), (37, 70), (9, 1000)], ids=lambda s: "x".join(map(str, s)))
def test_fast_path_takes_options(dtype, shape, isa, rng, monkeypatch):
    """label_smoothing, temperature and probability targets (with weights,
    ignored rows, out=, every reduction) stay on the fast path: the same bits
    as the general path (taken through byte-swapped targets, or probabilities in
    Fortran order), loss only and fused alike."""
    from csoftmax import _kernels, _losses
    rows, cols = shape
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, cols, rows)
    t[[1, 7]] = -100
    q = rng.random(shape).astype(dtype)
    q /= q.sum(axis=1, keepdims=True)
    w = rng.uniform(0.5, 2.0, cols).astype(dtype)
    cases = [(t, general_targets(t), {"label_smoothing": 0.1}),
             (t, general_targets(t), {"temperature": 0.7, "weight": w}),
             (t, general_targets(t), {"label_smoothing": 1.0, "temperature": 3.0, "weight": w}),
             (q, np.asfortranarray(q), {}),
             (q, np.asfortranarray(q), {"label_smoothing": 0.2, "temperature": 2.0,
                                        "weight": w})]
    _assert_fast_matches_general(x, cases)
    # the public calls reach the fast path with these options
    expected = [csoftmax.cross_entropy_with_grad(x, general_target, **kw)
                for _, general_target, kw in cases]
    monkeypatch.setattr(_losses, "_xent_rows", None)  # calling it would raise TypeError
    for (fast_target, _, kw), (loss, grad) in zip(cases, expected):
        got = csoftmax.cross_entropy_with_grad(x, fast_target, **kw)
        assert got[1].tobytes() == grad.tobytes() and got[0] == loss
        assert csoftmax.cross_entropy(x, fast_target, **kw) == loss


ND_CASES = [((3, 5, 7), -1), ((3, 5, 7), 1), ((3, 5, 7), -2), ((2, 4, 3, 6), 1),
            ((2, 4, 3, 6), 3), ((2, 21, 300), 1), ((1, 3, 1), 1), ((4, 1, 5), 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("shape", "axis"), ND_CASES,
                         ids=[f"{'x'.join(map(str, s))} axis {a}" for s, a in ND_CASES])
def test_fast_path_takes_nd_logits(dtype, shape, axis, isa, rng, monkeypatch):
    """Logits of more than two dimensions, the classes on the last axis (a
    batch of sequences) or on axis 1 (PyTorch's (N, C, d) layout: the column
    kernel), with every option, non-finite logits (samples computed again by
    the row kernels) and out=: the fast path gives the general path's bits
    (taken through byte-swapped targets, or probabilities in Fortran
    order), and the public calls reach it."""
    from csoftmax import _losses
    ax = axis % len(shape)
    classes = shape[ax]
    lead = shape[:ax] + shape[ax + 1:]
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    moved = np.moveaxis(x, ax, -1)  # a view: samples along its last axis
    special = int(np.prod(lead)) > 3
    if special:  # one sample holding +inf, one NaN, one of only -inf
        moved[np.unravel_index(0, lead) + (0,)] = np.inf
        moved[np.unravel_index(1, lead) + (classes - 1,)] = np.nan
        moved[np.unravel_index(2, lead)] = -np.inf
    t = rng.integers(0, classes, lead)
    if t.size > 1:
        t.reshape(-1)[-1] = -100  # an ignored sample
    q = rng.random(shape).astype(dtype)
    q /= q.sum(axis=ax, keepdims=True)
    w = rng.uniform(0.5, 2.0, classes).astype(dtype)
    cases = [(t, general_targets(t), {}),
             (t, general_targets(t), {"label_smoothing": 0.1}),
             (t, general_targets(t), {"temperature": 0.7, "weight": w}),
             (t.astype(np.int32), general_targets(t), {"weight": w}),
             (q, np.asfortranarray(q), {}),
             (q, np.asfortranarray(q), {"label_smoothing": 0.2, "temperature": 2.0,
                                        "weight": w})]
    _assert_fast_matches_general(x, cases, axis)
    # the loss of a sample holding +inf is NaN there, its neighbours finite
    plain = csoftmax.cross_entropy(x, t, axis=axis, reduction="none")
    if special:
        assert np.isnan(plain.reshape(-1)[:2]).all()
        assert np.isfinite(plain.reshape(-1)[3:]).all()
    # the public calls reach the fast path
    expected = [csoftmax.cross_entropy_with_grad(x, general_target, axis=axis, **kw)
                for _, general_target, kw in cases]
    monkeypatch.setattr(_losses, "_xent_rows", None)  # calling it would raise TypeError
    for (fast_target, _, kw), (loss, grad) in zip(cases, expected):
        got = csoftmax.cross_entropy_with_grad(x, fast_target, axis=axis, **kw)
        assert got[1].tobytes() == grad.tobytes()
        assert np.asarray(got[0]).tobytes() == np.asarray(loss).tobytes()


def test_fast_path_nd_declines(rng):
    """Along axis 1: a mean over no weight (every sample ignored) declines
    (the general path gives NaN and a zero gradient, as PyTorch); targets of
    the wrong shape, a bad index, another axis: None, out untouched."""
    mean = _kernels.XENT_MEAN
    x = rng.standard_normal((2, 3, 4))
    t = rng.integers(0, 3, (2, 4))
    out = np.full(x.shape, 7.0)
    assert _kernels.cross_entropy_fast(x, t, mean, True, None, None, 0.0, 1.0, 1) is not None
    declined = [(x, np.full((2, 4), -100), 1), (x, t.T, 1), (x, t[:, :3], 1), (x, t, -1),
                (x, t, 2), (x, t.reshape(8), 1), (x, np.where(t == 0, 3, t), 1),
                (x, np.asfortranarray(rng.integers(0, 3, (2, 4))), 1),
                (x.reshape(2, 3, 2, 2), t.reshape(2, 2, 2), 0),
                (x.reshape(6, 4), t, 1)]
    for logits, target, axis in declined:
        assert _kernels.cross_entropy_fast(logits, target, mean, True, None, out, 0.0, 1.0,
                                           axis) is None, (target, axis)
        assert (out == 7.0).all()
    loss, grad = csoftmax.cross_entropy_with_grad(x, np.full((2, 4), -100), axis=1)
    assert np.isnan(loss) and not grad.any()
    with pytest.raises(IndexError, match=r"target\[0, 1\] = 3|target\[\d, \d\] = 3"):
        csoftmax.cross_entropy(x, np.where(t == 0, 3, t), axis=1)


def test_fast_path_declines_bad_options(rng):
    """Options the general path refuses or widens, and probability targets
    of another dtype or layout: None, with out as it was; the public calls
    still raise the general path's errors."""
    from csoftmax import _kernels
    mean = _kernels.XENT_MEAN
    x = rng.standard_normal((6, 5)).astype(np.float32)
    t = rng.integers(0, 5, 6)
    q = np.full(x.shape, 0.2, dtype=np.float32)
    out = np.full(x.shape, 7.0, dtype=np.float32)
    for e, temp in [(-0.1, 1.0), (1.5, 1.0), (np.nan, 1.0), (0.0, 0.0), (0.0, -1.0),
                    (0.0, np.inf), (0.0, np.nan), (0.0, 1e-39), (0.0, 5e-324)]:
        assert _kernels.cross_entropy_fast(x, t, mean, True, None, out, e, temp) is None
        assert _kernels.cross_entropy_fast(x, q, mean, True, None, out, e, temp) is None
    assert (out == 7.0).all()
    # 1 / T beyond float32's range: float64 logits stay, float32 ones are widened
    assert _kernels.cross_entropy_fast(x.astype(np.float64), t, mean, True, None, None, 0.0,
                                       1e-39) is not None
    for bad in (q.astype(np.float64), np.asfortranarray(np.full((6, 5), 0.2, np.float32)),
                q[:, :4], q[:5], q.ravel()):
        assert _kernels.cross_entropy_fast(x, bad, mean, True, None, out) is None
    assert (out == 7.0).all()
    tiny = csoftmax.cross_entropy_with_grad(x, t, temperature=1e-39)  # computed in float64
    assert tiny[1].dtype == np.float32 and not np.isnan(tiny[1]).any()
    with pytest.raises(ValueError, match="label_smoothing"):
        csoftmax.cross_entropy_with_grad(x, t, label_smoothing=1.5, out=out)
    with pytest.raises(ValueError, match="temperature"):
        csoftmax.cross_entropy_with_grad(x, q, temperature=-1.0, out=out)
    assert (out == 7.0).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_only_equals_fused_loss(reduction, rng):
    x = rng.normal(0, 3, (9, 17))
    t = rng.integers(0, 17, 9)
    loss = csoftmax.cross_entropy(x, t, reduction=reduction)
    fused, _ = csoftmax.cross_entropy_with_grad(x, t, reduction=reduction)
    np.testing.assert_array_equal(loss, fused)


def test_loss_is_logsumexp_minus_picked_logit(rng):
    x = rng.normal(0, 3, (20, 7))
    t = rng.integers(0, 7, 20)
    loss = csoftmax.cross_entropy(x, t, reduction="none")
    expected = csoftmax.logsumexp(x) - x[np.arange(20), t]
    np.testing.assert_allclose(loss, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("target_dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8,
                                          np.uint16, np.uint32, np.uint64, np.intp],
                         ids=lambda d: np.dtype(d).name)
def test_any_integer_target_dtype(target_dtype, rng):
    x = rng.normal(0, 2, (6, 5))
    t = rng.integers(0, 5, 6)
    expected = csoftmax.cross_entropy_with_grad(x, t.astype(np.int64), reduction="none")
    got = csoftmax.cross_entropy_with_grad(x, t.astype(target_dtype), reduction="none")
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    got_list = csoftmax.cross_entropy_with_grad(x.tolist(), t.tolist(), reduction="none")
    np.testing.assert_array_equal(got_list[0], expected[0])


@pytest.mark.parametrize("target_dtype", [np.int8, np.int16, np.int32, np.uint8, np.uint16,
                                          np.uint32], ids=lambda d: np.dtype(d).name)
def test_narrow_integer_targets_take_the_fast_path(target_dtype, isa, rng, monkeypatch):
    """Class indices narrower than int64 (int32 labels, ...) are converted to
    int64 inside the fast path (cross_entropy and nll_loss): the general
    path's bits, -100 ignored (signed types), a gradient out= too; the
    general path's conversion is not called. uint64 (values past 2**63 would
    wrap) and byte-swapped indices decline, as does an out= that overlaps
    the targets' own memory."""
    x = rng.normal(0, 2, (40, 7)).astype(np.float32)
    t = rng.integers(0, 7, 40)
    if np.dtype(target_dtype).kind == "i":
        t[[3, 17]] = -100
    narrow = t.astype(target_dtype)
    w = rng.uniform(0.5, 2.0, 7).astype(np.float32)
    want = [csoftmax.cross_entropy_with_grad(x, general_targets(t), weight=w),
            csoftmax.cross_entropy(x, general_targets(t), reduction="none", label_smoothing=0.2),
            csoftmax.nll_loss(csoftmax.log_softmax(x), general_targets(t), weight=w)]
    out = np.empty_like(x)
    monkeypatch.setattr(csoftmax._losses, "_class_targets", None)  # the general path would raise
    got = [csoftmax.cross_entropy_with_grad(x, narrow, weight=w, out=out),
           csoftmax.cross_entropy(x, narrow, reduction="none", label_smoothing=0.2),
           csoftmax.nll_loss(csoftmax.log_softmax(x), narrow, weight=w)]
    assert got[0][1] is out
    for g, e in zip(got, want):
        for a, b in zip(g if isinstance(g, tuple) else (g,), e if isinstance(e, tuple) else (e,)):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    code = _kernels.XENT_MEAN
    assert _kernels.cross_entropy_fast(x, t.astype(np.uint64), code, True) is None
    if narrow.itemsize > 1:  # (one byte has no byte order)
        assert _kernels.cross_entropy_fast(x, general_targets(narrow), code, True) is None
    assert _kernels.nll_fast(x, t.astype(np.uint64), code) is None
    buf = np.zeros(x.nbytes, np.uint8)
    shared_out = buf.view(np.float32).reshape(x.shape)
    shared_t = buf[:narrow.nbytes].view(target_dtype)
    shared_t[:] = np.where(narrow == np.array(-100).astype(target_dtype), 0, narrow)
    before = buf.copy()
    assert _kernels.cross_entropy_fast(x, shared_t, code, True, None, shared_out) is None
    assert buf.tobytes() == before.tobytes()


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.uint8, np.bool_],
                         ids=lambda d: np.dtype(d).name)
def test_logits_dtype_policy(dtype, rng):
    x = rng.integers(0, 2 if dtype is np.bool_ else 9, (4, 6)).astype(dtype)
    t = rng.integers(0, 6, 4)
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, reduction="none")
    expected_dtype = np.float16 if dtype == np.float16 else np.float64
    assert loss.dtype == expected_dtype and grad.dtype == expected_dtype
    compute = np.float32 if dtype == np.float16 else np.float64
    loss_c, grad_c = csoftmax.cross_entropy_with_grad(x.astype(compute), t, reduction="none")
    np.testing.assert_array_equal(loss, loss_c.astype(expected_dtype))
    np.testing.assert_array_equal(grad, grad_c.astype(expected_dtype))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_axis_not_last(reduction, rng):
    x = rng.normal(0, 2, (5, 4, 3))      # classes on axis 1
    t = rng.integers(0, 4, (5, 3))
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, axis=1, reduction=reduction)
    moved = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    loss2, grad2 = csoftmax.cross_entropy_with_grad(moved, t, reduction=reduction)
    np.testing.assert_allclose(loss, loss2, rtol=1e-15)
    np.testing.assert_allclose(grad, np.moveaxis(grad2, -1, 1), rtol=1e-15)
    assert grad.shape == x.shape
    _check_against_reference(x, t, np.float64, reduction, axis=1)


def test_three_dimensional_logits(rng):
    x = rng.normal(0, 2, (2, 3, 11)).astype(np.float32)
    t = rng.integers(0, 11, (2, 3))
    loss, grad = _check_against_reference(x, t, np.float32)
    assert loss.shape == (2, 3) and grad.shape == (2, 3, 11)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("n", [1, 2, 5, 33])
def test_gradient_matches_central_differences(reduction, n, rng):
    """float64, central differences with step h = 1e-6: truncation O(h^2) and
    rounding O(eps / h) are both below the 1e-8 tolerance."""
    x = rng.normal(0, 2, (4, n))
    t = rng.integers(0, n, 4)

    def f(z):
        return float(np.sum(csoftmax.cross_entropy(z, t, reduction=reduction)))

    _, grad = csoftmax.cross_entropy_with_grad(x, t, reduction=reduction)
    h = 1e-6
    numeric = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (f(up) - f(down)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=0, atol=1e-8)


def test_gradient_rows_sum_to_zero(isa, rng):
    x = rng.normal(0, 5, (50, 33))
    t = rng.integers(0, 33, 50)
    _, grad = csoftmax.cross_entropy_with_grad(x, t, reduction="sum")
    assert np.max(np.abs(grad.sum(axis=1))) <= 40 * np.finfo(np.float64).eps


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_nonfinite_rows(dtype, isa):
    inf, nan = np.inf, np.nan
    x = np.array([[1.0, 2.0, 3.0], [inf, 0.0, 1.0], [-inf, -inf, -inf], [nan, 0.0, 1.0],
                  [-inf, 0.0, 1.0], [0.0, 1.0, 2.0]], dtype=dtype)
    t = np.array([0, 1, 2, 1, 0, 2])
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, reduction="none")
    assert np.isnan(loss[1:4]).all() and np.isnan(grad[1:4]).all()
    assert loss[4] == np.inf           # the target's logit is -inf
    assert np.isfinite(grad[4]).all()
    assert np.isfinite(loss[[0, 5]]).all() and np.isfinite(grad[[0, 5]]).all()
    ref_loss, ref_grad = reference.cross_entropy_with_grad(x, t, reduction="none", dtype=LD)
    assert ulp_errors(loss, ref_loss, dtype).max() <= LOSS_ULPS[dtype]
    assert ulp_errors(grad, ref_grad, dtype).max() <= GRAD_ULPS[dtype]


def test_long_row_keeps_accuracy_with_options(isa):
    """As test_long_row_keeps_accuracy, through the kernel that handles the
    options (here a class weight of ones, which must not change the result)."""
    x = np.full((1, 1_000_000), -2.5)
    x[0, 0] = 0.0
    t = np.array([3])
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, reduction="sum", weight=np.ones(x.shape[1]))
    ref_loss, ref_grad = reference.cross_entropy_with_grad(x, t, reduction="sum", dtype=LD)
    worst_loss = ulp_errors(np.asarray(loss), np.asarray(ref_loss), np.float64).max()
    worst_grad = ulp_errors(grad, ref_grad, np.float64).max()
    assert worst_loss <= LOSS_ULPS[np.float64] and worst_grad <= GRAD_ULPS[np.float64], \
        f"loss {worst_loss} ulp, gradient {worst_grad} ulp"


@pytest.mark.parametrize("option", ["weight", "temperature", "label_smoothing",
                                    "small_smoothing", "probabilities"])
@pytest.mark.parametrize("n", [100, 1000, 5000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_tiny_terms_with_options_keep_log1p_accuracy(dtype, n, option, isa):
    """The options' kernels on rows of one maximum (the target) and n - 1 equal
    tiny terms: the loss is then about log1p(t) for the tiny sum t, whose
    roundings all go one way, so the row sum must keep t's relative accuracy
    (a sum rounded at the scale of the maximum's 1, or its per-term errors
    gathered one rounding at a time, loses it; with a small label smoothing
    the loss is still mostly log1p(t)). Loss and gradient within the stated
    bounds of the extended-precision values."""
    x = np.full((3, n), -20.0 if option != "temperature" else -40.0, dtype=dtype)
    x[:, 0] = 0
    x[1, 5] = -3
    x[2, 7] = -0.5
    t = np.zeros(3, dtype=np.int64)
    w = np.linspace(0.5, 2.0, n).astype(dtype)
    temperature, e = (2.0 if option == "temperature" else 1.0), 0.0
    q = np.zeros((3, n), dtype=LD)
    q[:, 0] = 1
    kwargs = {"reduction": "none"}
    if option == "weight":
        kwargs["weight"] = w
    elif option == "temperature":
        kwargs["temperature"] = temperature
    elif option in ("label_smoothing", "small_smoothing"):
        e = 0.1 if option == "label_smoothing" else 1e-6
        kwargs["label_smoothing"] = e
        q = (1 - LD(e)) * q + LD(e) / n
    if option == "probabilities":
        q = np.zeros((3, n), dtype=dtype)
        q[:, 0] = 1
        loss, grad = csoftmax.cross_entropy_with_grad(x, q, **kwargs)
    else:
        loss, grad = csoftmax.cross_entropy_with_grad(x, t, **kwargs)
    logp = reference.log_softmax(x, temperature=temperature, dtype=LD)
    p = reference.softmax(x, temperature=temperature, dtype=LD)
    scale = LD(w[0]) if option == "weight" else LD(1)
    ref_loss = -scale * np.sum(q * logp, axis=1)
    # at the target, p_0 - q_0 = (1 - q_0) - sum of the other p: no cancellation;
    # 1 - q_0 = e (n - 1) / n formed as such (1 - q_0 from q_0 near 1 would keep
    # only long double's absolute accuracy: hundreds of float64 ulp for small e)
    p[:, 0] = (LD(e) - LD(e) / n) - np.sum(p[:, 1:], axis=1)
    q[:, 0] = 0
    ref_grad = scale * (p - q) / LD(temperature)
    worst_loss = ulp_errors(loss, ref_loss, dtype).max()
    worst_grad = ulp_errors(grad, ref_grad, dtype).max()
    assert worst_loss <= LOSS_ULPS[dtype] and worst_grad <= GRAD_ULPS[dtype], \
        f"loss {worst_loss} ulp, gradient {worst_grad} ulp"


def test_long_row_keeps_accuracy(isa):
    """A row of 1e6 logits whose block sums all round the same way (the
    adversarial case for uncompensated summation): loss and gradient within
    the stated bounds."""
    x = np.full((1, 1_000_000), -2.5)
    x[0, 0] = 0.0
    t = np.array([3])
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, reduction="sum")
    ref_loss, ref_grad = reference.cross_entropy_with_grad(x, t, reduction="sum", dtype=LD)
    worst_loss = ulp_errors(np.asarray(loss), np.asarray(ref_loss), np.float64).max()
    worst_grad = ulp_errors(grad, ref_grad, np.float64).max()
    assert worst_loss <= LOSS_ULPS[np.float64] and worst_grad <= GRAD_ULPS[np.float64], \
        f"loss {worst_loss} ulp, gradient {worst_grad} ulp"


def test_seed_numbers():
    loss, grad = csoftmax.cross_entropy_with_grad([[1.0, 3.0, 2.0]], [1])
    np.testing.assert_allclose(grad, [[0.09003057, 0.66524096 - 1, 0.24472847]], rtol=0, atol=5e-9)
    assert float(loss) == pytest.approx(-np.log(0.66524096), abs=5e-8)


def test_target_is_maximum_tiny_gradient():
    """p_k - 1 for p_k close to 1 keeps its tiny value (no cancellation)."""
    _, grad = csoftmax.cross_entropy_with_grad(np.array([[0.0, -40.0]]), [0], reduction="sum")
    assert grad[0, 0] == pytest.approx(-4.248354255291589e-18, rel=4e-16)
    assert grad[0, 1] == pytest.approx(4.248354255291589e-18, rel=4e-16)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch(reduction):
    x = np.zeros((0, 4))
    t = np.zeros((0,), dtype=np.int64)
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, reduction=reduction)
    assert grad.shape == (0, 4)
    if reduction == "none":
        assert loss.shape == (0,)
    elif reduction == "sum":
        assert loss == 0.0
    else:
        assert np.isnan(loss)
    ref = reference.cross_entropy(x, t, reduction=reduction)
    np.testing.assert_array_equal(loss, ref)


def test_inputs_never_modified(rng):
    x = rng.normal(0, 3, (8, 9)).astype(np.float32)
    x[2, 2] = np.nan
    t = rng.integers(0, 9, 8).astype(np.uint8)
    x0, t0 = x.copy(), t.copy()
    for f in (csoftmax.cross_entropy, csoftmax.cross_entropy_with_grad):
        for reduction in REDUCTIONS:
            f(x, t, reduction=reduction)
            f(x.T, t, axis=0, reduction=reduction)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(t, t0)


def test_read_only_inputs(rng):
    x = rng.normal(0, 3, (5, 4))
    t = rng.integers(0, 4, 5)
    x.flags.writeable = False
    t.flags.writeable = False
    loss, grad = csoftmax.cross_entropy_with_grad(x, t)
    assert np.isfinite(grad).all()


# --------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("f", [csoftmax.cross_entropy, csoftmax.cross_entropy_with_grad])
class TestErrors:
    def test_label_too_large(self, f):
        with pytest.raises(IndexError, match=r"target\[1\] = 5 is out of range for 3 classes"):
            f(np.zeros((3, 3)), [0, 5, 1])

    def test_label_negative(self, f):
        with pytest.raises(IndexError, match=r"target\[2\] = -1 is out of range for 3 classes"):
            f(np.zeros((3, 3)), np.array([0, 2, -1], dtype=np.int8))

    def test_label_position_2d(self, f):
        t = np.zeros((2, 3), dtype=np.int64)
        t[1, 2] = 7
        with pytest.raises(IndexError, match=r"target\[1, 2\] = 7 is out of range for 4 classes"):
            f(np.zeros((2, 3, 4)), t)

    @pytest.mark.parametrize("bad", [3, -1, -101, -99, 2**62, -2**63, 2**63 - 1])
    @pytest.mark.parametrize("rows", [9, 5000])
    @pytest.mark.parametrize("ignored", [False, True])
    @pytest.mark.parametrize("ignore_index", [-100, -2**63, 1, 2**63 - 1])
    def test_label_int64_extremes(self, f, bad, rows, ignored, ignore_index):
        """int64 targets (the fast path's scan and the C-side checks, in
        blocks of 1,024 rows): any index outside [0, 3) but ignore_index is
        refused wherever it sits, with or without an ignored row elsewhere; an
        index equal to ignore_index passes."""
        t = np.arange(rows, dtype=np.int64) % 3
        x = np.zeros((rows, 3))
        if ignored:
            t[rows - 2] = ignore_index
        f(x, t, ignore_index=ignore_index)
        t[rows - 3] = bad
        if bad == ignore_index:
            f(x, t, ignore_index=ignore_index)
            return
        with pytest.raises(IndexError, match=rf"target\[{rows - 3}\] = {bad} is out of range "
                                             rf"for 3 classes"):
            f(x, t, ignore_index=ignore_index)

    def test_label_huge_uint64(self, f):
        with pytest.raises(IndexError, match=r"target\[0\] = 18446744073709551615 is out of range"):
            f(np.zeros((1, 3)), np.array([2**64 - 1], dtype=np.uint64))

    @pytest.mark.parametrize("target,dtype", [([True, False], "bool"), (["a", "b"], "<U1"),
                                              (np.array([0, 1], dtype=complex), "complex128")])
    def test_non_integer_target(self, f, target, dtype):
        with pytest.raises(TypeError, match=rf"target must hold integer class indices, "
                                            rf"got dtype {dtype}"):
            f(np.zeros((2, 3)), target)

    @pytest.mark.parametrize("target", [[0.0, 1.0], np.array([0, 1], dtype=np.float32)])
    def test_float_target_shaped_like_labels(self, f, target):
        """Floating targets are probability targets (a later issue) and must have
        the logits' shape; shaped like class labels they are refused."""
        with pytest.raises((TypeError, ValueError), match=r"target"):
            f(np.zeros((2, 3)), target)

    def test_shape_mismatch(self, f):
        with pytest.raises(ValueError, match=r"target has shape \(3,\), expected \(2,\)"):
            f(np.zeros((2, 4)), [0, 1, 2])

    def test_shape_mismatch_axis(self, f):
        with pytest.raises(ValueError, match=r"target has shape \(2,\), expected \(4,\)"):
            f(np.zeros((2, 4)), [0, 1], axis=0)

    def test_bad_reduction(self, f):
        with pytest.raises(ValueError, match=r"reduction must be one of .*got 'avg'"):
            f(np.zeros((2, 3)), [0, 1], reduction="avg")

    def test_scalar_logits(self, f):
        with pytest.raises(ValueError, match=r"logits must have at least one dimension"):
            f(np.float64(1.0), 0)

    def test_complex_logits(self, f):
        with pytest.raises(TypeError, match=r"logits has complex dtype complex128"):
            f(np.zeros((2, 3), dtype=complex), [0, 1])

    def test_axis_out_of_bounds(self, f):
        with pytest.raises(np.exceptions.AxisError, match=r"axis=2 is out of bounds"):
            f(np.zeros((2, 3)), [0, 1], axis=2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_one_sample_takes_the_fast_path(dtype, isa, rng, monkeypatch):
    """One sample's 1-D logits with a Python int, a 0-d int64 index or 1-D
    probabilities (an agent's step): the general path's types, shapes and bits
    (taken by byte-swapped indices, and by a strided view of the probabilities),
    every reduction and option, out= included, -100
    ignored; bad indices, a bool or an axis of 1 still go to the general path
    and its errors; the public call then never reaches the general path's
    kernel call."""
    from csoftmax import _losses
    x = (rng.standard_normal(7) * 3).astype(dtype)
    q = rng.random(7)
    q = (q / q.sum()).astype(dtype)
    general_q = np.repeat(q, 2)[::2]  # the same values, strided: the general path
    opts = [{}, {"reduction": "none"}, {"reduction": "sum"}, {"label_smoothing": 0.2},
            {"temperature": 0.5, "weight": rng.uniform(0.5, 2, 7).astype(dtype)}]
    cases = [(3, general_targets(np.array(3))), (np.array(5), general_targets(np.array(5))),
             (-100, general_targets(np.array(-100))), (q, general_q)]
    expected = {}
    for i, (fast_t, general_t) in enumerate(cases):
        for j, kw in enumerate(opts):
            if i == 3 and j == 4:
                continue  # probabilities with weights: below, through the same path
            expected[i, j] = (csoftmax.cross_entropy_with_grad(x, general_t, **kw),
                              csoftmax.cross_entropy(x, general_t, **kw))
    with pytest.raises(IndexError):
        csoftmax.cross_entropy_with_grad(x, 7)
    with pytest.raises(IndexError):
        csoftmax.cross_entropy_with_grad(x, -1)
    with pytest.raises(np.exceptions.AxisError):
        csoftmax.cross_entropy_with_grad(x, 3, axis=1)
    with pytest.raises(TypeError):
        csoftmax.cross_entropy_with_grad(x, True)
    monkeypatch.setattr(_losses, "_xent_rows", None)  # the general path would raise TypeError
    for (i, j), ((loss, grad), only) in expected.items():
        fast_t, kw = cases[i][0], opts[j]
        got = csoftmax.cross_entropy_with_grad(x, fast_t, **kw)
        assert type(got[0]) is type(loss) and np.shape(got[0]) == np.shape(loss) == ()
        assert np.asarray(got[0]).tobytes() == np.asarray(loss).tobytes(), (i, j)
        assert got[1].shape == x.shape and got[1].tobytes() == grad.tobytes(), (i, j)
        got_only = csoftmax.cross_entropy(x, fast_t, **kw)
        assert type(got_only) is type(only)
        assert np.asarray(got_only).tobytes() == np.asarray(only).tobytes()
        out = np.full(7, np.nan, dtype=dtype)
        into = csoftmax.cross_entropy_with_grad(x, fast_t, out=out, **kw)
        assert into[1] is out and out.tobytes() == grad.tobytes()
        assert csoftmax.cross_entropy_with_grad(x, fast_t, axis=0, **kw)[1].tobytes() \
            == grad.tobytes()


def test_int_options_take_the_fast_path(rng, monkeypatch):
    """An int temperature (and label_smoothing 0 or 1) is the float of the
    same value on the fast path; bools and out-of-range ints still reach the
    general path's errors."""
    x = rng.standard_normal((12, 5)).astype(np.float32)
    t = rng.integers(0, 5, 12)
    want = csoftmax.cross_entropy_with_grad(x, t, temperature=2.0, label_smoothing=1.0)
    plain = csoftmax.cross_entropy_with_grad(x, t, label_smoothing=0.0)
    monkeypatch.setattr(csoftmax._losses, "_check_temperature", None)  # the general path
    got = csoftmax.cross_entropy_with_grad(x, t, temperature=2, label_smoothing=1)
    got_plain = csoftmax.cross_entropy_with_grad(x, t, label_smoothing=0)
    monkeypatch.undo()
    for a, b in zip(got + got_plain, want + plain):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    with pytest.raises(ValueError, match="label_smoothing"):
        csoftmax.cross_entropy(x, t, label_smoothing=2)
    with pytest.raises(TypeError, match="temperature"):
        csoftmax.cross_entropy(x, t, temperature=True)
    with pytest.raises(ValueError, match="temperature"):
        csoftmax.cross_entropy(x, t, temperature=0)
