"""csoftmax losses against PyTorch (CPU) on randomised configurations.

Every combination of the options is run in float32 and float64 under every
instruction set; PyTorch is the oracle, evaluated in float64 on the very same
(rounded) inputs. Tolerances: relative error of the loss and of the gradient
(measured against the largest gradient entry) below 1e-11 in float64 and
3e-6 in float32 (a few float32 ulps of accumulated rounding over rows of up
to a few hundred terms).
"""
import itertools

import numpy as np
import pytest

import csoftmax

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {np.float32: 3e-6, np.float64: 1e-11}
DTYPES = [np.float32, np.float64]


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64)).clone()


def _close(actual, expected, dtype, what):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, what
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), what
    finite = ~np.isnan(expected)
    scale = max(float(np.max(np.abs(expected[finite]), initial=0.0)), 1e-300)
    err = float(np.max(np.abs(actual[finite] - expected[finite]), initial=0.0)) / scale
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]:.1g}"


def _torch_ce(x, target, axis, weight, ignore_index, smoothing, reduction, temperature):
    xt = _t(x).requires_grad_(True)
    if axis != 1 and x.ndim > 1:
        z = torch.movedim(xt, axis, 1)
    else:
        z = xt
    tt = torch.from_numpy(target) if target.dtype.kind in "iu" else _t(target)
    if tt.dtype.is_floating_point and axis != 1 and x.ndim > 1:
        tt = torch.movedim(tt, axis, 1)
    kw = dict(weight=None if weight is None else _t(weight), label_smoothing=smoothing,
              reduction=reduction)
    if not tt.dtype.is_floating_point:
        kw["ignore_index"] = ignore_index
    loss = F.cross_entropy(z / temperature, tt, **kw)
    loss.sum().backward()
    return loss.detach().numpy(), xt.grad.numpy()


SHAPES = [((13, 7), -1), ((5, 9, 4), 1), ((3, 4, 33), -1), ((2, 300), -1)]


def _cycle_shapes(options):
    """Every option combination, each with one of SHAPES (cycled), so that every
    shape meets every value of every option without the full product."""
    return [SHAPES[i % len(SHAPES)] + combo for i, combo in enumerate(options)]


CLASS_OPTIONS = _cycle_shapes(list(itertools.product(
    [False, True],                 # weight
    [None, -100, 2],               # ignore_index (None: nothing ignored)
    [0.0, 0.1, 1.0],               # label_smoothing
    ["mean", "sum", "none"],       # reduction
    [1.0, 0.37],                   # temperature
)))
PROB_OPTIONS = _cycle_shapes(list(itertools.product(
    [False, True], [0.0, 0.25, 1.0], ["mean", "sum", "none"], [1.0, 2.5])))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,use_weight,ignore,smoothing,reduction,temperature",
                         CLASS_OPTIONS)
def test_cross_entropy_class_targets(rng, dtype, shape, axis, use_weight, ignore,
                                     smoothing, reduction, temperature):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    ax = axis % len(shape)
    classes = shape[ax]
    lead = shape[:ax] + shape[ax + 1:]
    target = rng.integers(0, classes, size=lead).astype(np.int64)
    ignore_index = -100 if ignore is None else ignore
    if ignore is not None:
        target[rng.random(lead) < 0.3] = ignore
    weight = rng.uniform(0.1, 2.0, classes).astype(dtype) if use_weight else None
    opts = dict(axis=axis, weight=weight, ignore_index=ignore_index,
                label_smoothing=smoothing, reduction=reduction, temperature=temperature)
    x_before = x.copy()
    loss, grad = csoftmax.cross_entropy_with_grad(x, target, **opts)
    loss_only = csoftmax.cross_entropy(x, target, **opts)
    assert np.array_equal(x, x_before)
    assert grad.dtype == dtype and grad.shape == x.shape
    assert np.asarray(loss).dtype == dtype
    ref_loss, ref_grad = _torch_ce(x, target, ax, weight, ignore_index, smoothing, reduction,
                                   temperature)
    _close(loss, ref_loss, dtype, "loss")
    _close(loss_only, ref_loss, dtype, "loss (no grad)")
    _close(grad, ref_grad, dtype, "grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,use_weight,smoothing,reduction,temperature", PROB_OPTIONS)
def test_cross_entropy_probability_targets(rng, dtype, shape, axis, use_weight, smoothing,
                                           reduction, temperature):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    ax = axis % len(shape)
    classes = shape[ax]
    q = rng.random(shape) ** 3
    q = (q / q.sum(axis=ax, keepdims=True)).astype(dtype)
    weight = rng.uniform(0.1, 2.0, classes).astype(dtype) if use_weight else None
    opts = dict(axis=axis, weight=weight, label_smoothing=smoothing, reduction=reduction,
                temperature=temperature)
    loss, grad = csoftmax.cross_entropy_with_grad(x, q, **opts)
    ref_loss, ref_grad = _torch_ce(x, q, ax, weight, -100, smoothing, reduction, temperature)
    _close(loss, ref_loss, dtype, "loss")
    _close(csoftmax.cross_entropy(x, q, **opts), ref_loss, dtype, "loss (no grad)")
    _close(grad, ref_grad, dtype, "grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", SHAPES)
@pytest.mark.parametrize("probabilities", [False, True])
def test_cross_entropy_every_isa(isa, rng, dtype, shape, axis, probabilities):
    """All options at once under each instruction set."""
    if probabilities:
        test_cross_entropy_probability_targets(rng, dtype, shape, axis, True, 0.25, "mean", 2.5)
    else:
        test_cross_entropy_class_targets(rng, dtype, shape, axis, True, 2, 0.1, "mean", 0.37)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_times_log_zero_is_the_limit(isa, rng, dtype):
    """A -inf logit on a class with zero target probability contributes 0
    (PyTorch: NaN); the value equals PyTorch's with the -inf replaced by a
    logit so negative that its probability is exactly zero."""
    x = rng.standard_normal((6, 5)).astype(dtype)
    x[:, 3] = -np.inf
    q = rng.random((6, 5)).astype(dtype)
    q[:, 3] = 0
    q /= q.sum(axis=1, keepdims=True)
    loss, grad = csoftmax.cross_entropy_with_grad(x, q)
    x_finite = np.where(np.isinf(x), -1e4, x)
    ref_loss, ref_grad = _torch_ce(x_finite, q, 1, None, -100, 0.0, "mean", 1.0)
    torch_inf = F.cross_entropy(_t(x), _t(q))
    assert torch.isnan(torch_inf)  # PyTorch's 0 * log 0
    _close(loss, ref_loss, dtype, "loss")
    _close(grad, ref_grad, dtype, "grad")
    # the same with class targets, a zero class weight and label smoothing
    w = np.ones(5, dtype=dtype)
    w[3] = 0
    t = np.array([0, 1, 2, 4, 0, 1])
    loss, grad = csoftmax.cross_entropy_with_grad(x, t, weight=w, label_smoothing=0.2)
    ref_loss, ref_grad = _torch_ce(x_finite, t, 1, w, -100, 0.2, "mean", 1.0)
    _close(loss, ref_loss, dtype, "loss (weighted, smoothed)")
    _close(grad, ref_grad, dtype, "grad (weighted, smoothed)")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_grad", [False, True])
def test_all_ignored_mean_is_nan(dtype, with_grad):
    x = np.zeros((3, 4), dtype=dtype)
    t = np.full(3, -100)
    xt = _t(x).requires_grad_(True)
    ref = F.cross_entropy(xt, torch.from_numpy(t))
    ref.backward()
    assert torch.isnan(ref)
    if with_grad:
        loss, grad = csoftmax.cross_entropy_with_grad(x, t)
        _close(grad, xt.grad.numpy(), dtype, "grad")
    else:
        loss = csoftmax.cross_entropy(x, t)
    assert np.isnan(loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("use_weight,ignore,reduction", list(itertools.product(
    [False, True], [-100, 1], ["mean", "sum", "none"])))
def test_nll_loss(isa, rng, dtype, use_weight, ignore, reduction):
    x = rng.standard_normal((17, 6))
    lp = (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(dtype)
    t = rng.integers(0, 6, 17)
    t[rng.random(17) < 0.3] = ignore
    w = rng.uniform(0.1, 2.0, 6).astype(dtype) if use_weight else None
    got = csoftmax.nll_loss(lp, t, weight=w, ignore_index=ignore, reduction=reduction)
    ref = F.nll_loss(_t(lp), torch.from_numpy(t), weight=None if w is None else _t(w),
                     ignore_index=ignore, reduction=reduction)
    _close(got, ref.numpy(), dtype, "nll")


BACKWARD_SHAPES = [(1, 1), (3, 5), (7, 17), (4, 33), (2, 1500), (2, 3, 9)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BACKWARD_SHAPES)
@pytest.mark.parametrize("log", [False, True])
def test_backward_passes(isa, rng, dtype, shape, log):
    x = rng.standard_normal(shape) * 2
    g = rng.standard_normal(shape).astype(dtype)
    if log:
        y = csoftmax.log_softmax(x.astype(dtype))
        got = csoftmax.log_softmax_backward(g, y)
        ref = torch._log_softmax_backward_data(_t(g), _t(y), -1, torch.float64)
    else:
        y = csoftmax.softmax(x.astype(dtype))
        got = csoftmax.softmax_backward(g, y)
        ref = torch._softmax_backward_data(_t(g), _t(y), -1, torch.float64)
    assert got.dtype == dtype
    _close(got, ref.numpy(), dtype, "backward")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_family(isa, rng, dtype):
    x = np.concatenate([rng.standard_normal(1000) * 10, rng.uniform(-1e4, 1e4, 200),
                        [0.0, -0.0, 1e4, -1e4, 88.0, -88.0, 1e-30, -1e-30,
                         np.inf, -np.inf, np.nan]]).astype(dtype)
    _close(csoftmax.sigmoid(x), torch.sigmoid(_t(x)).numpy(), dtype, "sigmoid")
    # log_sigmoid spans many magnitudes: compare elementwise relative error
    got = csoftmax.log_sigmoid(x).astype(np.float64)
    ref = F.logsigmoid(_t(x)).numpy()
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    assert np.array_equal(got[np.isinf(ref)], ref[np.isinf(ref)])
    ok = np.isfinite(ref)
    err = np.abs(got[ok] - ref[ok]) / np.maximum(np.abs(ref[ok]), np.finfo(dtype).tiny)
    assert err.max() <= 4 * np.finfo(dtype).eps, err.max()
    sig = csoftmax.sigmoid(x).astype(np.float64)
    ref_sig = torch.sigmoid(_t(x)).numpy()
    ok = ~np.isnan(ref_sig)
    assert np.array_equal(np.isnan(sig), ~ok)
    err = np.abs(sig[ok] - ref_sig[ok]) / np.maximum(ref_sig[ok], np.finfo(dtype).tiny)
    assert err.max() <= 4 * np.finfo(dtype).eps, err.max()


BCE_WEIGHTS = [None, "full", "row", "col", "scalar"]


def _bce_weight(kind, shape, rng, dtype):
    if kind is None:
        return None
    if kind == "full":
        return rng.uniform(0.0, 2.0, shape).astype(dtype)
    if kind == "row":
        return rng.uniform(0.0, 2.0, shape[:-1] + (1,)).astype(dtype)
    if kind == "col":
        return rng.uniform(0.0, 2.0, shape[-1:]).astype(dtype)
    return np.asarray(rng.uniform(0.5, 2.0), dtype=dtype)


BCE_SHAPES = [(37,), (9, 7), (3, 4, 40), ()]
BCE_OPTIONS = [(BCE_SHAPES[i % 4],) + combo for i, combo in enumerate(itertools.product(
    BCE_WEIGHTS, [None, "col", "full"], ["mean", "sum", "none"]))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,weight_kind,pos_kind,reduction", BCE_OPTIONS)
def test_binary_cross_entropy(rng, dtype, shape, weight_kind, pos_kind, reduction):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = rng.random(shape)
    y = np.where(rng.random(shape) < 0.5, np.round(y), y).astype(dtype)
    wshape = shape if shape else (1,)
    w = _bce_weight(weight_kind, wshape, rng, dtype) if shape or weight_kind in (None, "scalar") \
        else None
    p = _bce_weight(pos_kind, wshape, rng, dtype) if shape else None
    opts = dict(weight=w, pos_weight=p, reduction=reduction)
    loss, grad = csoftmax.binary_cross_entropy_with_grad(x, y, **opts)
    xt = _t(x).requires_grad_(True)
    ref = F.binary_cross_entropy_with_logits(
        xt, _t(y), weight=None if w is None else _t(w),
        pos_weight=None if p is None else _t(p), reduction=reduction)
    ref.sum().backward()
    _close(loss, ref.detach().numpy(), dtype, "loss")
    _close(csoftmax.binary_cross_entropy(x, y, **opts), ref.detach().numpy(), dtype,
           "loss (no grad)")
    _close(grad, xt.grad.numpy(), dtype, "grad")
    assert grad.dtype == dtype and grad.shape == x.shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BCE_SHAPES[:3])
def test_binary_cross_entropy_every_isa(isa, rng, dtype, shape):
    test_binary_cross_entropy(rng, dtype, shape, "row", "col", "mean")
    test_binary_cross_entropy(rng, dtype, shape, "full", None, "none")


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_infinite_logits_limit(dtype):
    """x = -inf with y = 0 and x = +inf with y = 1 contribute 0 (PyTorch: NaN)."""
    x = np.array([-np.inf, np.inf, 3.0], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0], dtype=dtype)
    loss, grad = csoftmax.binary_cross_entropy_with_grad(x, y, reduction="none")
    ref = F.binary_cross_entropy_with_logits(_t([-1e4, 1e4, 3.0]), _t(y), reduction="none")
    assert torch.isnan(F.binary_cross_entropy_with_logits(_t(x), _t(y), reduction="none")[0])
    _close(loss, ref.numpy(), dtype, "loss")
    assert np.array_equal(grad[:2], np.zeros(2, dtype=dtype))
