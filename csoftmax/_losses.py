"""Training losses and backward passes over the fused C kernels (src_c/losses.h).

PyTorch's semantics (``torch.nn.functional.cross_entropy``, ``nll_loss``,
``binary_cross_entropy_with_logits``, ``logsigmoid``, the softmax backward
formulas), with one deliberate difference: where a term's coefficient is
exactly zero (a class weight, a target probability, a smoothing share) the
term contributes exactly zero even when its log-probability is -inf, which is
the limit of the loss; PyTorch computes ``0 * -inf = NaN`` there.

Every input check happens here, before the kernels run; each loss and its
gradient come out of one fused pass over the logits.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import _kernels
from ._api import (_as_array, _check_out, _cols, _dask, _deliver, _dtypes, _index,
                   _inverse_temperature, _is_dask, _normalize_axis, _rows, _rowwise, _widened)

__all__ = [
    "cross_entropy",
    "cross_entropy_with_grad",
    "nll_loss",
    "softmax_backward",
    "log_softmax_backward",
    "sigmoid",
    "log_sigmoid",
    "binary_cross_entropy",
    "binary_cross_entropy_with_grad",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------
# argument checks


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


_INT64 = np.iinfo(np.int64)


def _check_index(value, name):
    """An int64 index (class indices are int64 in the kernels); TypeError /
    ValueError naming the argument else."""
    index = _index(value, name)
    if not _INT64.min <= index <= _INT64.max:
        raise ValueError(f"{name}={index} is outside the int64 range of class indices")
    return index


def _check_smoothing(label_smoothing):
    if (isinstance(label_smoothing, (bool, np.bool_))
            or not isinstance(label_smoothing, numbers.Real)):
        raise TypeError(f"label_smoothing must be a real number, got {label_smoothing!r}")
    e = float(label_smoothing)
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing!r}")
    return e


def _check_temperature(temperature):
    """The temperature as a float, checked as softmax checks it (a real
    number, finite, > 0, and 1 / T finite in float64)."""
    _inverse_temperature(temperature)
    return float(temperature)


def _class_weight(weight, classes: int, compute: np.dtype):
    """Per-class weights as a contiguous 1-D array of the compute dtype, or None."""
    if weight is None:
        return None
    w = _as_array(weight, "weight")
    _dtypes(w.dtype, "weight")  # TypeError for complex / object
    if w.shape != (classes,):
        raise ValueError(f"weight has shape {w.shape}, expected ({classes},) "
                         "(one weight per class)")
    return np.ascontiguousarray(w, dtype=compute)


def _class_targets(target, shape, classes: int, ignore_index: int = -100):
    """Validated int64 class indices flattened in row order, and whether any
    row is ignored. Indices equal to ``ignore_index`` are allowed whatever
    their value."""
    t = _as_array(target, "target")
    if t.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {t.dtype}")
    if t.shape != shape:
        raise ValueError(f"target has shape {t.shape}, expected {shape} "
                         "(the logits' shape without the class axis)")
    ignored = False
    # two reductions without temporaries decide the common case (every index
    # in range); the element-wise test runs only when one is not
    if t.size and not (0 <= t.min() and t.max() < classes):
        is_ignored = t == ignore_index
        bad = ((t < 0) | (t >= classes)) & ~is_ignored
        if bad.any():
            pos = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), t.shape)
            position = tuple(int(p) for p in pos)
            raise IndexError(f"target{list(position)} = {t[position]} is out of range for "
                             f"{classes} classes (expected 0 <= target < {classes}, or "
                             f"target == ignore_index = {ignore_index})")
        ignored = bool(is_ignored.any())
    elif t.size and 0 <= ignore_index < classes:
        ignored = bool(np.any(t == ignore_index))
    t64 = t.reshape(-1)
    if t64.dtype != np.int64 or not (t64.flags.c_contiguous and t64.flags.aligned):
        t64 = np.ascontiguousarray(t64, dtype=np.int64)
    return t64, ignored


def _mean_denominator(t, w, ignored, ignore_index):
    """What a "mean" of class-target losses divides by: the number of rows not
    ignored, or (with weights) the sum of their targets' weights, compensated,
    as cross_entropy_fast forms it (the gradient is scaled by its inverse)."""
    if w is None:
        return float(np.count_nonzero(t != ignore_index) if ignored else t.size)
    return _kernels.class_weight_sum(w, t, ignore_index) if t.size else 0.0


def _restore(y2, lead, classes, ax, ndim):
    """(rows, classes) kernel output back to the caller's layout."""
    y = y2.reshape(lead + (classes,))
    if ax != ndim - 1:
        y = np.moveaxis(y, -1, ax)
    return y


def _reduce(loss, reduction, denominator, lead, result):
    # a loss beyond the result's range is inf (as in PyTorch), not a warning;
    # 0 / 0 for a mean over no counted rows is NaN, as in PyTorch. (One
    # errstate, the ndarray method and Python floats: a small batch's call is
    # dominated by such overheads.)
    if reduction == "none":
        if loss.dtype == result:
            return loss.reshape(lead)
        with np.errstate(over="ignore"):
            return loss.reshape(lead).astype(result)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # summed as the fast paths sum (the same bits on every path)
        total = np.float64(_kernels.loss_total(np.ascontiguousarray(loss).reshape(-1)))
        if reduction == "mean":
            total = total / np.float64(denominator)
        return result.type(total)


# ---------------------------------------------------------------------------
# cross-entropy


_FAST_REDUCTIONS = {"mean": _kernels.XENT_MEAN, "sum": _kernels.XENT_SUM,
                    "none": _kernels.XENT_NONE}


def _cross_entropy(logits, target, axis, reduction, want_grad, weight=None,
                   ignore_index=-100, label_smoothing=0.0, temperature=1.0, out=None):
    # a small batch's call is dominated by argument handling: the common case
    # (float32 / float64 logits with the classes on the last axis or on axis
    # 1 of (N, C, d...), or one sample's 1-D logits; integer
    # targets, int64 or narrower, in range or -100, or probabilities of the
    # logits' dtype; at most a float weight array; label_smoothing and
    # temperature floats, or ints of a float's value; no out or a contiguous
    # one of the logits' dtype apart from the inputs) goes straight to the
    # kernel; anything else (or None back) takes the path below
    if (type(reduction) is str and type(axis) is int
            and type(ignore_index) is int and ignore_index == -100
            and (type(label_smoothing) is float
                 or (type(label_smoothing) is int and 0 <= label_smoothing <= 1))
            and (type(temperature) is float
                 or (type(temperature) is int and 0 < temperature < 2**53))):
        # (an int smoothing or temperature as the float of the same value)
        label_smoothing, temperature = float(label_smoothing), float(temperature)
        code = _FAST_REDUCTIONS.get(reduction)
        one = type(logits) is np.ndarray and logits.ndim == 1
        fast = None
        if code is not None and one and axis in (-1, 0):
            fast = _one_sample_fast(logits, target, code, want_grad, weight, out,
                                    label_smoothing, temperature)
        elif code is not None and not one:
            fast = _kernels.cross_entropy_fast(logits, target, code, want_grad, weight, out,
                                               label_smoothing, temperature, axis)
        if fast is not None:
            return fast
    _check_reduction(reduction)
    ignore_index = _check_index(ignore_index, "ignore_index")
    e = _check_smoothing(label_smoothing)
    temp = _check_temperature(temperature)
    a = _as_array(logits, "logits")
    compute, result = _dtypes(a.dtype, "logits")
    compute = _widened(compute, 1.0 / temp)
    if a.ndim == 0:
        raise ValueError("logits must have at least one dimension (the class axis)")
    ax = _normalize_axis(axis, a.ndim)
    classes = a.shape[ax]
    lead = a.shape[:ax] + a.shape[ax + 1:]
    t = _as_array(target, "target")
    probabilities = t.dtype.kind == "f"
    ignored = False
    if probabilities:
        _dtypes(t.dtype, "target")
        if t.shape != a.shape:
            raise ValueError(f"target has shape {t.shape}; probability targets (a floating "
                             f"array) must have the logits' shape {a.shape}")
        if ignore_index != -100:
            raise ValueError(f"ignore_index={ignore_index} is not supported with probability "
                             "(floating point) targets")
    else:
        t, ignored = _class_targets(t, lead, classes, ignore_index)
    w = _class_weight(weight, classes, compute)
    if out is not None:
        _check_out(out, a.shape, result)
    if a.dtype != compute:
        a = a.astype(compute)
    rows = math.prod(lead)
    if rows and classes == 0:
        raise ValueError("logits have an empty class axis")

    if probabilities:
        denominator = float(rows)
    else:
        denominator = _mean_denominator(t, w, ignored, ignore_index)
    scale = 1.0
    if reduction == "mean":
        scale = 1.0 / denominator if denominator != 0 else math.inf

    loss, grad = _xent_rows(a, ax, t, probabilities, ignored, w, ignore_index, e, temp, scale,
                            want_grad, out)
    value = _reduce(loss, reduction, denominator, lead, result)
    if not want_grad:
        return value
    if out is not None:
        if not np.may_share_memory(grad, out):  # a new array, not a view of out
            with np.errstate(over="ignore"):
                np.copyto(out, grad, casting="same_kind")
        return value, out
    return value, grad.astype(result, copy=False)


def _one_sample_fast(logits, target, code, want_grad, weight, out, e, temp):
    """cross_entropy_fast for one sample: 1-D logits (the classes) and a
    Python int or 0-d integer class index (int64 or narrower), or 1-D
    probabilities of the logits' dtype (an agent's step), as one row; the results in the sample's shapes
    (a 0-d loss for "none", a 1-D gradient, or `out` itself). None where the
    fast path declines (the general path then runs)."""
    if type(target) is int:
        if not (0 <= target < logits.shape[0] or target == -100):
            return None  # the general path's IndexError
        t2 = np.array([target], dtype=np.int64)
    elif type(target) is np.ndarray and (target.ndim == 0 or target.shape == logits.shape):
        t2 = target.reshape(1, -1) if target.ndim else target.reshape(1)
    else:
        return None
    out2 = None
    if out is not None:
        if type(out) is not np.ndarray or out.shape != logits.shape:
            return None
        out2 = out.reshape(1, -1)
        if not np.may_share_memory(out2, out):  # not a view of out
            return None
    fast = _kernels.cross_entropy_fast(logits.reshape(1, -1), t2, code, want_grad, weight,
                                       out2, e, temp)
    if fast is None:
        return None
    if not want_grad:
        return fast.reshape(()) if code == _kernels.XENT_NONE else fast
    value, grad = fast
    if code == _kernels.XENT_NONE:
        value = value.reshape(())
    return value, (out if out is not None else grad.reshape(logits.shape))


def _xent_rows(a, ax, t, probabilities, ignored, w, ignore_index, e, temp, scale, want_grad,
               out=None):
    """The cross-entropy's kernel call for logits `a` (already of the compute
    dtype) with the class axis `ax`: the per-row losses (1-D, in row order)
    and, with `want_grad`, the gradient times `scale` in `a`'s layout (else
    None): written straight into `out` (a checked array of `a`'s shape) when
    its dtype and layout allow and it overlaps no input, else a new array.
    `t`: int64 class indices flattened in row order, validated (`ignored`:
    whether any equals ignore_index), or probabilities of `a`'s shape. Shared
    with the Dask blocks (csoftmax._dask), which pass the whole array's
    scale."""
    compute = a.dtype
    classes = a.shape[ax]
    lead = a.shape[:ax] + a.shape[ax + 1:]
    rows = math.prod(lead)
    loss = np.empty(rows, dtype=compute)
    if rows and classes and math.isfinite(scale):
        c = _cols(a, ax)
        if c is not None and c[1] == "C":
            return _xent_cols(a, ax, c[0], t, probabilities, w, ignore_index, e, temp, scale,
                              want_grad, out, loss)
    grad2 = None
    if want_grad and out is not None and out.dtype == compute and rows:
        # the kernels read a row's logits after writing part of its gradient:
        # never in place
        o2 = _rows(out, ax)
        if (np.may_share_memory(o2, out) and o2.flags.writeable
                and not any(np.may_share_memory(o2, v) for v in (a, t, w) if v is not None)):
            grad2 = o2
    if want_grad and grad2 is None:
        grad2 = np.empty((rows, classes), dtype=compute)
    if rows:
        x2 = _rows(a, ax)
        if probabilities:
            q2 = _rows(t.astype(compute, copy=False), ax)
            _kernels.xent_prob_2d(x2, q2, w, e, 1.0 / temp, loss, grad2, scale)
        else:
            _class_rows(x2, t, w, ignored, ignore_index, e, temp, loss, grad2, scale)
    if not want_grad:
        return loss, None
    return loss, _restore(grad2, lead, classes, ax, a.ndim)


def _class_rows(x2, t, w, ignored, ignore_index, e, temp, loss, grad2, scale):
    """The class-target cross-entropy of the rows x2 into loss (and grad2)."""
    if w is None and e == 0.0 and temp == 1.0 and not ignored:
        # the plain case (no option in use, no ignored row): the SIMD kernel
        _kernels.cross_entropy_2d(x2, t, loss, grad2, scale)
    else:
        _kernels.xent_class_2d(x2, t, w, ignore_index, e, 1.0 / temp, loss, grad2, scale)


def _xent_cols(a, ax, x3, t, probabilities, w, ignore_index, e, temp, scale, want_grad, out,
               loss):
    """_xent_rows when the class axis is not the last one of C-ordered logits
    (PyTorch's (N, C, d) input with axis=1): the column kernel
    (src_c/columns.h), every option included, goes down the classes where
    they lie, the gradient written in `a`'s layout (into `out` when its
    layout and dtype allow and it overlaps no input). Columns whose maximum
    is not finite come back with a NaN loss and are computed again by the
    row kernels (their non-finite semantics)."""
    compute = a.dtype
    shape2 = (x3.shape[0], x3.shape[2])
    t2 = q = q3 = None
    if probabilities:
        q = t.astype(compute, copy=False)
        qc = _cols(q, ax)
        if qc is None or qc[1] != "C":
            q = np.ascontiguousarray(q)
            qc = _cols(q, ax)
        q3 = qc[0]
    else:
        t2 = np.ascontiguousarray(t, dtype=np.int64).reshape(shape2)
    grad = g3 = None
    if want_grad:
        if out is not None and out.dtype == compute and out.flags.writeable:
            o = _cols(out, ax)
            if (o is not None and o[1] == "C" and o[0].shape == x3.shape
                    and np.may_share_memory(o[0], out)
                    and not any(np.may_share_memory(out, v) for v in (a, t, w) if v is not None)):
                grad, g3 = out, o[0]
        if grad is None:
            grad = np.empty(a.shape, dtype=compute)
            g3 = grad.reshape(x3.shape)
    _kernels.xent_cols(x3, t2, q3, w, ignore_index, e, 1.0 / temp, scale, loss.reshape(shape2),
                       g3)
    if np.isnan(loss).any():
        _xent_cols_fixup(a, ax, q if probabilities else t, probabilities, w, ignore_index, e,
                         temp, scale, want_grad, loss, grad)
    return loss, grad


def _xent_cols_fixup(a, ax, t, probabilities, w, ignore_index, e, temp, scale, want_grad, loss,
                     grad):
    """After the column kernel (_xent_cols, and cross_entropy_fast along axis
    1): the samples it left with a NaN loss (a non-finite maximum, or a NaN
    loss indeed) computed again by the row kernels, their losses into `loss`
    (1-D, in sample order) and with `want_grad` their gradients into `grad`
    (`a`'s layout). `t`: the flattened int64 class indices, or the
    probabilities (`a`'s dtype and shape)."""
    bad = np.flatnonzero(np.isnan(loss))
    at = np.unravel_index(bad, a.shape[:ax] + a.shape[ax + 1:])
    xb = np.ascontiguousarray(np.moveaxis(a, ax, -1)[at])
    lb = np.empty(bad.size, dtype=a.dtype)
    gb = np.empty_like(xb) if want_grad else None
    if probabilities:
        qb = np.ascontiguousarray(np.moveaxis(t, ax, -1)[at])
        _kernels.xent_prob_2d(xb, qb, w, e, 1.0 / temp, lb, gb, scale)
    else:
        tb = np.ascontiguousarray(t.reshape(-1)[bad], dtype=np.int64)
        _class_rows(xb, tb, w, bool(np.any(tb == ignore_index)), ignore_index, e, temp, lb, gb,
                    scale)
    loss[bad] = lb
    if want_grad:
        np.moveaxis(grad, ax, -1)[at] = gb


def _dask_route(name, logits, target, axis, reduction, weight, ignore_index,
                label_smoothing, temperature):
    return getattr(_dask(), name)(logits, target, axis=axis, weight=weight,
                                  ignore_index=ignore_index, label_smoothing=label_smoothing,
                                  reduction=reduction, temperature=temperature)


def cross_entropy(logits, target, *, axis=-1, weight=None, ignore_index=-100,
                  label_smoothing=0.0, reduction="mean", temperature=1.0):
    """Cross-entropy of softmax(logits / temperature) against class or probability targets.

    PyTorch's ``torch.nn.functional.cross_entropy`` (LogSoftmax + NLLLoss) with
    the class axis ``axis``. With ``lp = log_softmax(logits / temperature)``,
    ``C`` classes, ``e = label_smoothing`` and ``w = weight`` (ones if None):

    - class targets ``t``: ``loss_i = (1 - e) * w[t_i] * -lp_i[t_i]
      + (e / C) * sum_c w[c] * -lp_i[c]``; rows with ``t_i == ignore_index``
      contribute 0. ``"mean"`` divides the sum by ``sum_i w[t_i]`` over the
      non-ignored rows (the number of non-ignored rows without weights); an
      all-ignored mean is NaN.
    - probability targets ``q`` (a floating array of the logits' shape):
      ``loss_i = -sum_c w[c] * ((1 - e) * q_i[c] + e / C) * lp_i[c]``;
      ``"mean"`` divides by the number of rows.

    Where a term's coefficient is exactly zero (zero weight, zero target
    probability) it contributes 0 even if its logit is -inf: the limit of the
    loss, where PyTorch returns NaN (0 * log 0). A row whose logits hold +inf,
    or only -inf / NaN, has a NaN loss.

    Parameters
    ----------
    logits : array_like
        Unnormalised scores; float32/float64 kept, float16 computed in float32,
        integers promoted to float64.
    target : array_like
        Integer class indices shaped like ``logits`` without ``axis``, or
        floating class probabilities shaped like ``logits``. Indices outside
        ``[0, classes)`` other than ``ignore_index`` raise IndexError.
    axis : int, default -1
        The class axis (PyTorch's dim 1: use ``axis=1`` for (N, C, d) input).
    weight : array_like, optional
        One weight per class, shape ``(classes,)``.
    ignore_index : int, default -100
        Class-index value whose rows are skipped (class targets only).
    label_smoothing : float in [0, 1], default 0
        Targets become ``(1 - e) * onehot + e / C``; outside [0, 1] is ValueError.
    reduction : {"mean", "sum", "none"}
    temperature : float > 0, default 1
        The logits are divided by it.

    Returns
    -------
    loss : NumPy scalar, or ndarray for ``reduction="none"`` (the logits'
        shape without ``axis``).

    Examples
    --------
    >>> import csoftmax
    >>> round(float(csoftmax.cross_entropy([[1.0, 3.0, 2.0]], [1])), 8)
    0.40760596
    >>> round(float(csoftmax.cross_entropy([[1.0, 3.0, 2.0], [0.0, 0.0, 0.0]], [1, -100],
    ...                                    label_smoothing=0.1)), 8)
    0.50760596
    """
    if _is_dask(logits) or _is_dask(target) or _is_dask(weight):
        return _dask_route("cross_entropy", logits, target, axis, reduction, weight,
                           ignore_index, label_smoothing, temperature)
    return _cross_entropy(logits, target, axis, reduction, False, weight, ignore_index,
                          label_smoothing, temperature)


def cross_entropy_with_grad(logits, target, *, axis=-1, weight=None, ignore_index=-100,
                            label_smoothing=0.0, reduction="mean", temperature=1.0, out=None):
    """Cross-entropy and its gradient with respect to the logits, in one fused pass.

    Same arguments and semantics as :func:`cross_entropy`. The gradient is
    ``d loss / d logits`` with respect to the *unscaled* logits (it includes
    the ``1 / temperature`` factor and the ``"mean"`` denominator); for
    ``"none"`` it is the gradient of the sum of the per-row losses. Ignored
    rows get a zero gradient. Where the loss's denominator is zero the
    gradient follows PyTorch: zero on ignored rows, NaN on the others.

    ``out`` (optional) is where the gradient is written, and the ``grad``
    returned: an ndarray of the logits' shape whose dtype can hold the
    gradient under NumPy's ``same_kind`` rule (it may be the logits
    themselves, through a temporary array). A training loop that passes the
    same ``out`` every step writes into memory it already has, where a new
    array's pages are zeroed by the operating system at each call.

    Returns
    -------
    loss : NumPy scalar, or ndarray for ``reduction="none"``
    grad : ndarray shaped like ``logits``

    Examples
    --------
    >>> import csoftmax
    >>> loss, grad = csoftmax.cross_entropy_with_grad([[1.0, 3.0, 2.0]], [1])
    >>> grad.round(8)
    array([[ 0.09003057, -0.33475904,  0.24472847]])
    """
    if _is_dask(logits) or _is_dask(target) or _is_dask(weight):
        if out is not None:
            raise TypeError("out= is not supported for Dask input to "
                            "csoftmax.cross_entropy_with_grad (got out of type "
                            f"{type(out).__name__}); Dask arrays are immutable and lazy: use "
                            "the returned gradient, or da.store() it into a target")
        return _dask_route("cross_entropy_with_grad", logits, target, axis, reduction, weight,
                           ignore_index, label_smoothing, temperature)
    return _cross_entropy(logits, target, axis, reduction, True, weight, ignore_index,
                          label_smoothing, temperature, out)


# ---------------------------------------------------------------------------
# nll_loss


def nll_loss(log_probs, target, *, axis=-1, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class targets given log-probabilities.

    PyTorch's ``nll_loss``: ``loss_i = -w[t_i] * log_probs_i[t_i]``, 0 for
    rows with ``t_i == ignore_index``; ``"mean"`` divides by ``sum_i w[t_i]``
    over the non-ignored rows (NaN when all are ignored). A zero weight gives
    0 even for a -inf log-probability (PyTorch: NaN).

    Parameters
    ----------
    log_probs : array_like
        Log-probabilities with the class axis ``axis``.
    target : array_like of int
        Shaped like ``log_probs`` without ``axis``.
    axis : int, default -1
    weight : array_like, optional
        Shape ``(classes,)``.
    ignore_index : int, default -100
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import csoftmax, numpy as np
    >>> float(csoftmax.nll_loss(np.log([[0.25, 0.75], [0.5, 0.5]]), [1, -100]))
    0.2876820724517809
    """
    if (type(reduction) is str and type(axis) is int and axis in (-1, 1)
            and type(ignore_index) is int and ignore_index == -100):
        code = _FAST_REDUCTIONS.get(reduction)
        if code is not None:
            fast = _kernels.nll_fast(log_probs, target, code, weight)
            if fast is not None:
                return fast
    if _is_dask(log_probs) or _is_dask(target) or _is_dask(weight):
        return _dask().nll_loss(log_probs, target, axis=axis, weight=weight,
                                ignore_index=ignore_index, reduction=reduction)
    _check_reduction(reduction)
    ignore_index = _check_index(ignore_index, "ignore_index")
    a = _as_array(log_probs, "log_probs")
    compute, result = _dtypes(a.dtype, "log_probs")
    if a.ndim == 0:
        raise ValueError("log_probs must have at least one dimension (the class axis)")
    ax = _normalize_axis(axis, a.ndim)
    classes = a.shape[ax]
    lead = a.shape[:ax] + a.shape[ax + 1:]
    t, ignored = _class_targets(target, lead, classes, ignore_index)
    w = _class_weight(weight, classes, compute)
    if a.dtype != compute:
        a = a.astype(compute)
    rows = t.size
    if rows and classes == 0:
        raise ValueError("log_probs have an empty class axis")
    denominator = _mean_denominator(t, w, ignored, ignore_index)
    loss = np.empty(rows, dtype=compute)
    if rows:
        moved = np.moveaxis(a, ax, -1)
        if moved.flags.c_contiguous and moved.flags.aligned:
            _kernels.nll_2d(moved.reshape(rows, classes), t, w, ignore_index, loss)
        elif (c := _cols(a, ax)) is not None and c[1] == "C":
            # the classes down the columns: each row's one element read where it lies
            x3 = c[0]
            _kernels.nll_cols(x3, t.reshape(x3.shape[0], x3.shape[2]), w, ignore_index,
                              loss.reshape(x3.shape[0], x3.shape[2]))
        else:
            # other layouts: the targets' entries gathered by NumPy (no copy of the rest)
            _nll_gathered(moved, t, w, ignored, ignore_index, loss)
    return _reduce(loss, reduction, denominator, lead, result)


def _nll_gathered(moved, t, w, ignored, ignore_index, loss):
    """nll_2d's losses, -w[t] * lp[t] (0 where ignored, and where the weight
    is 0 and lp[t] is not NaN), from the target entries of `moved` (the
    classes on its last axis, any layout) gathered by NumPy: the kernel's
    arithmetic (one rounded product) without copying the other classes."""
    tc = np.where(t == ignore_index, 0, t) if ignored else t
    lpt = np.take_along_axis(moved, tc.reshape(moved.shape[:-1] + (1,)), axis=-1).reshape(-1)
    if w is None:
        v = -lpt
    else:
        wt = w[tc]
        with np.errstate(invalid="ignore"):
            v = -wt * lpt
        v = np.where((wt == 0) & (lpt == lpt), 0, v)
    if ignored:
        v = np.where(t == ignore_index, 0, v)
    loss[...] = v


# ---------------------------------------------------------------------------
# backward passes


def _backward_checks(g, y, axis):
    """(compute dtype, result dtype, normalised axis) of a backward pass's
    grad_output `g` and output `y` (ndarrays, or Dask arrays), or the error."""
    compute_g, result_g = _dtypes(g.dtype, "grad_output")
    compute_y, result_y = _dtypes(y.dtype, "output")
    if g.shape != y.shape:
        raise ValueError(f"grad_output has shape {g.shape}, expected output's shape {y.shape}")
    if y.ndim == 0:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for a 0-d array; "
                                      "output must have at least one dimension")
    return (np.promote_types(compute_g, compute_y), np.promote_types(result_g, result_y),
            _normalize_axis(axis, y.ndim))


def _same_rows(a2, b2):
    """Whether two (rows, cols) arrays are the same memory in the same layout."""
    return (a2.__array_interface__["data"][0] == b2.__array_interface__["data"][0]
            and a2.strides == b2.strides)


def _backward(kernel, grad_output, output, axis, out=None):
    g = _as_array(grad_output, "grad_output")
    y = _as_array(output, "output")
    compute, result, ax = _backward_checks(g, y, axis)
    if out is not None:
        _check_out(out, y.shape, result)
    g = g.astype(compute, copy=False)
    y = y.astype(compute, copy=False)
    if y.size == 0:
        return out if out is not None else np.empty(y.shape, dtype=result)
    cy = _cols(y, ax)
    if cy is not None:
        return _backward_cols(kernel is _kernels.log_softmax_backward_2d, g, y, ax, cy, out,
                              compute, result)
    g2, y2 = _rows(g, ax), _rows(y, ax)
    if out is not None and out.dtype == compute:
        # straight into out when its rows are a view of it; over an input
        # only when they coincide with that input's rows (each element read
        # before it is written), otherwise through a new array
        o2 = _rows(out, ax)
        direct = np.may_share_memory(o2, out) and o2.flags.writeable
        for a2 in (g2, y2):
            if direct and np.may_share_memory(o2, a2):
                direct = _same_rows(o2, a2)
        if direct:
            kernel(g2, y2, o2)
            return out
    out2 = np.empty(y2.shape, dtype=compute)
    kernel(g2, y2, out2)
    lead = tuple(np.delete(np.array(y.shape, dtype=np.int64), ax))
    res = _restore(out2, lead, y.shape[ax], ax, y.ndim)
    if out is not None:
        with np.errstate(over="ignore"):
            np.copyto(out, res, casting="same_kind")
        return out
    return res.astype(result, copy=False)


def _backward_cols(log, g, y, ax, cy, out, compute, result):
    """_backward for an axis the column kernels take (_cols(y, ax) is cy):
    the sums down the columns where they lie (src_c/columns.h), grad_output
    brought to output's memory order if it has another, the result in that
    order, into `out` directly where it has that layout and the compute dtype
    and is either input exactly or overlaps neither."""
    y3, order = cy
    cg = _cols(g, ax)
    if cg is None or cg[1] != order:
        g = np.asarray(g, order=order)
        cg = _cols(g, ax)
    g3 = cg[0]
    if out is not None and out.dtype == compute and out.flags.writeable:
        o = _cols(out, ax)
        if (o is not None and o[1] == order and o[0].shape == y3.shape
                and np.may_share_memory(o[0], out)
                and all(_same_rows(o[0], a3) or not np.may_share_memory(o[0], a3)
                        for a3 in (g3, y3))):
            _kernels.backward_cols(log, g3, y3, o[0])
            return out
    res = np.empty(y.shape, dtype=compute, order=order)
    _kernels.backward_cols(log, g3, y3, (res if order == "C" else res.T).reshape(y3.shape))
    return _deliver(res, out, result)


_OUT_DOC = """
    ``out`` (optional) is where the result is written and returned: an
    ndarray of ``output``'s shape whose dtype can hold the result under
    NumPy's ``same_kind`` rule; it may be ``grad_output`` or ``output``
    itself (in place). A training loop that passes the same ``out`` every
    step writes into memory it already has, where a new array's pages are
    zeroed by the operating system at each call.
"""


def softmax_backward(grad_output, output, axis=-1, *, out=None):
    """Gradient through softmax: ``output * (grad_output - sum(grad_output * output))``.

    ``output`` is the forward result ``softmax(x, axis)`` and ``grad_output``
    the gradient with respect to it; returns the gradient with respect to
    ``x`` (PyTorch's ``_softmax_backward_data``). One C pass per row.
    {out}
    Examples
    --------
    >>> import csoftmax, numpy as np
    >>> y = csoftmax.softmax([0.0, 0.0])
    >>> csoftmax.softmax_backward([1.0, 0.0], y)
    array([ 0.25, -0.25])
    """
    fast = _kernels.backward_fast(_kernels.BACKWARD_SOFTMAX, grad_output, output, axis, out)
    if fast is not None:
        return fast
    if _is_dask(grad_output) or _is_dask(output):
        return _dask().softmax_backward(grad_output, output, axis=axis, out=out)
    return _backward(_kernels.softmax_backward_2d, grad_output, output, axis, out)


def log_softmax_backward(grad_output, output, axis=-1, *, out=None):
    """Gradient through log_softmax: ``grad_output - exp(output) * sum(grad_output)``.

    ``output`` is the forward result ``log_softmax(x, axis)``; returns the
    gradient with respect to ``x`` (PyTorch's ``_log_softmax_backward_data``).
    {out}
    Examples
    --------
    >>> import csoftmax, numpy as np
    >>> y = csoftmax.log_softmax([0.0, 0.0])
    >>> csoftmax.log_softmax_backward([1.0, 0.0], y)
    array([ 0.5, -0.5])
    """
    fast = _kernels.backward_fast(_kernels.BACKWARD_LOG_SOFTMAX, grad_output, output, axis, out)
    if fast is not None:
        return fast
    if _is_dask(grad_output) or _is_dask(output):
        return _dask().log_softmax_backward(grad_output, output, axis=axis, out=out)
    return _backward(_kernels.log_softmax_backward_2d, grad_output, output, axis, out)


softmax_backward.__doc__ = softmax_backward.__doc__.format(out=_OUT_DOC)
log_softmax_backward.__doc__ = log_softmax_backward.__doc__.format(out=_OUT_DOC)


# ---------------------------------------------------------------------------
# sigmoid family


def _elementwise(kernel, x, out):
    a = _as_array(x, "x")
    if a.ndim == 0:  # as one element of a 1-D array; out (0-d too) checked as for any shape
        if out is None:
            return _rowwise(kernel, a.reshape(1), -1, None).reshape(())[()]
        _check_out(out, (), _dtypes(a.dtype, "x")[1])
        _rowwise(kernel, a.reshape(1), -1, out.reshape(1))
        return out
    return _rowwise(kernel, a, -1, out)


def sigmoid(x, *, out=None):
    """The logistic function ``1 / (1 + exp(-x))``, elementwise.

    Computed as ``1 / (1 + exp(-|x|))`` or ``exp(-|x|) / (1 + exp(-|x|))`` by
    sign, so it never overflows; float dtype policy of :func:`csoftmax.softmax`.

    Examples
    --------
    >>> import csoftmax
    >>> csoftmax.sigmoid([0.0, 1e4, -1e4])
    array([0.5, 1. , 0. ])
    """
    fast = _kernels.rowwise_fast(_kernels.FAST_SIGMOID, x, -1, out)
    if fast is not None:
        return fast
    if _is_dask(x):
        return _dask().sigmoid(x, out=out)
    return _elementwise(_kernels.sigmoid_2d, x, out)


def log_sigmoid(x, *, out=None):
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``, elementwise, stable for any x.

    Examples
    --------
    >>> import csoftmax
    >>> csoftmax.log_sigmoid([-1e4, -1.0, 0.0, 1e4])
    array([-1.00000000e+04, -1.31326169e+00, -6.93147181e-01,  0.00000000e+00])
    """
    fast = _kernels.rowwise_fast(_kernels.FAST_LOG_SIGMOID, x, -1, out)
    if fast is not None:
        return fast
    if _is_dask(x):
        return _dask().log_sigmoid(x, out=out)
    return _elementwise(_kernels.log_sigmoid_2d, x, out)


# ---------------------------------------------------------------------------
# binary cross-entropy with logits


def _broadcast_2d(values, name, shape, rows, cols, compute):
    """``values`` broadcast to ``shape`` as a (rows, cols) view whose column
    stride is 0 or one element (copied only when no such view exists)."""
    if values is None:
        return None
    v = _as_array(values, name)
    _dtypes(v.dtype, name)
    v = v.astype(compute, copy=False)
    try:
        b = np.broadcast_to(v, shape)
    except ValueError:
        raise ValueError(f"{name} with shape {v.shape} cannot be broadcast to the logits' "
                         f"shape {shape}") from None
    b2 = b.reshape(rows, cols)
    item = b2.itemsize
    if (b2.strides[1] not in (0, item) or b2.strides[0] % item or not b2.flags.aligned):
        b2 = np.ascontiguousarray(b2)
    return b2


def _bce(logits, target, weight, pos_weight, reduction, want_grad):
    # the common case (float32 / float64 arrays of one dtype and shape, no
    # weights or one per column) straight to the kernel, as in _cross_entropy
    if type(reduction) is str:
        code = _FAST_REDUCTIONS.get(reduction)
        if code is not None:
            fast = _kernels.binary_cross_entropy_fast(logits, target, code, want_grad, weight,
                                                      pos_weight)
            if fast is not None:
                return fast
    if _is_dask(logits) or _is_dask(target) or _is_dask(weight) or _is_dask(pos_weight):
        return _dask()._bce(logits, target, weight, pos_weight, reduction, want_grad)
    _check_reduction(reduction)
    a = _as_array(logits, "logits")
    compute, result = _dtypes(a.dtype, "logits")
    t = _as_array(target, "target")
    _dtypes(t.dtype, "target")
    if t.shape != a.shape:
        raise ValueError(f"target has shape {t.shape}, expected the logits' shape {a.shape}")
    n = a.size
    scale = 1.0 / n if (reduction == "mean" and n) else 1.0
    loss, grad = _bce_arrays(a.astype(compute, copy=False), t, weight, pos_weight, scale,
                             reduction == "none", want_grad, sum_runs=True)
    if reduction == "none":
        value = loss.astype(result, copy=False)
    else:
        total = np.float64(_kernels.loss_total(loss)) if n else 0.0  # as the fast path
        if reduction == "mean":
            total = total / n if n else np.nan
        value = result.type(total)
    if not want_grad:
        return value
    return value, grad.astype(result, copy=False)


# Weighted binary cross-entropy reductions take runs of rows (_bce_runs) from
# this many rows on (the fast path leaves those to this path)
_BCE_RUNS_MIN_ROWS = _kernels.BCE_RUNS_MIN_ROWS


def _bce_arrays(a, t, weight, pos_weight, scale, elementwise, want_grad, sum_runs=False):
    """Binary cross-entropy's kernel call for logits `a` (already of the
    compute dtype) and targets `t` of its shape, `weight` / `pos_weight`
    broadcastable to it (or None): the elementwise losses (`elementwise`,
    `a`'s shape) or the per-row sums of the last axis (float64, to be summed
    with loss_total), and with `want_grad` the gradient times `scale` (else
    None). With `sum_runs` and neither weight, partial sums over the runs of
    elements the fast path takes (_kernels.bce_sum_rows) instead of the
    rows, so that both reduce to the same bits. Shared with the Dask blocks
    (csoftmax._dask), which keep the rows."""
    compute = a.dtype
    shape = a.shape
    cols = shape[-1] if a.ndim else 1
    rows = a.size // cols if cols else 0
    if sum_runs and not elementwise and weight is None and pos_weight is None and rows:
        run_rows, run_cols, rest = _kernels.bce_sum_rows(rows, cols)
        if run_cols != cols:
            return _bce_runs(a, t.astype(compute, copy=False), None, None, scale, want_grad,
                             run_rows, run_cols, rest)
    x2 = _rows(a.reshape(rows, cols), 1)
    y2 = _rows(t.astype(compute, copy=False).reshape(rows, cols), 1)
    w2 = _broadcast_2d(weight, "weight", shape, rows, cols, compute)
    p2 = _broadcast_2d(pos_weight, "pos_weight", shape, rows, cols, compute)
    per_column = all(v is None or v.strides[0] == 0 for v in (w2, p2))
    if (sum_runs and not elementwise and per_column and rows >= _BCE_RUNS_MIN_ROWS
            and 2 * cols <= _kernels.BCE_SUM_COLS):
        # weights the same in every row (per column, or one value): partial
        # sums over runs of whole rows, the weights repeated over each run
        k = _kernels.BCE_SUM_COLS // cols
        sums, grad = _bce_runs(x2, y2, None if w2 is None else w2[0],
                               None if p2 is None else p2[0], scale, want_grad, rows // k,
                               k * cols, rows % k * cols)
        return sums, (None if grad is None else grad.reshape(shape))
    loss2 = np.empty((rows, cols), dtype=compute) if elementwise else None
    row_loss = np.empty(rows, dtype=np.float64) if not elementwise else None
    grad2 = np.empty((rows, cols), dtype=compute) if want_grad else None
    if a.size:
        _kernels.bce_2d(x2, y2, w2, p2, loss2, row_loss, grad2, scale)
    loss = loss2.reshape(shape) if elementwise else row_loss
    return loss, (grad2.reshape(shape) if want_grad else None)


def _bce_runs(a, t, w_row, p_row, scale, want_grad, run_rows, run_cols, rest):
    """_bce_arrays with its partial sums over run_rows runs of run_cols
    elements and one of `rest` (0: none) after them: (sums, gradient or
    None). `w_row` / `p_row` (or None): the weights of one row, the same in
    every row; run_cols and rest are then whole rows."""
    x = np.ascontiguousarray(a).reshape(-1)
    y = np.ascontiguousarray(t).reshape(-1)
    sums = np.empty(run_rows + (rest > 0), dtype=np.float64)
    grad = np.empty(x.size, dtype=x.dtype) if want_grad else None

    def tiled(row, n_rows, n_cols):
        if row is None:
            return None
        return np.broadcast_to(np.tile(row, n_cols // row.shape[0]), (n_rows, n_cols))

    done = run_rows * run_cols
    for start, n_rows, n_cols, at in ((0, run_rows, run_cols, 0), (done, 1, rest, run_rows)):
        if n_rows and n_cols:
            end = start + n_rows * n_cols
            part = None if grad is None else grad[start:end].reshape(n_rows, n_cols)
            _kernels.bce_2d(x[start:end].reshape(n_rows, n_cols),
                            y[start:end].reshape(n_rows, n_cols),
                            tiled(w_row, n_rows, n_cols), tiled(p_row, n_rows, n_cols), None,
                            sums[at:at + n_rows], part, scale)
    return sums, (grad.reshape(a.shape) if want_grad else None)


def binary_cross_entropy(logits, target, *, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(logits)`` against targets in [0, 1].

    PyTorch's ``binary_cross_entropy_with_logits``, elementwise:
    ``l = -w * (p * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x)))``,
    formed without cancellation as ``c * |x| + (1 + (p - 1) * y) *
    log1p(exp(-|x|))`` with ``c = 1 - y`` for ``x >= 0`` and ``p * y``
    otherwise. ``"mean"`` divides by the number of elements. A term with a
    zero coefficient contributes 0 even at infinite logits (``x = -inf,
    y = 0`` gives 0, where PyTorch gives NaN).

    Parameters
    ----------
    logits : array_like
    target : array_like
        Same shape as ``logits`` (probabilities; any real values are used as is).
    weight : array_like, optional
        Broadcastable to the logits' shape.
    pos_weight : array_like, optional
        Weight of the positive term, broadcastable to the logits' shape
        (per class: shape ``(classes,)`` over the last axis).
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import csoftmax
    >>> round(float(csoftmax.binary_cross_entropy([0.0, 2.0], [1.0, 0.0])), 7)
    1.4100376
    """
    return _bce(logits, target, weight, pos_weight, reduction, False)


def binary_cross_entropy_with_grad(logits, target, *, weight=None, pos_weight=None,
                                   reduction="mean"):
    """:func:`binary_cross_entropy` and its gradient with respect to the logits, fused.

    ``d l / d x = w * ((1 + (p - 1) * y) * sigmoid(x) - p * y)``, divided by
    the number of elements for ``"mean"``.

    Returns
    -------
    loss : NumPy scalar, or ndarray for ``reduction="none"``
    grad : ndarray shaped like ``logits``

    Examples
    --------
    >>> import csoftmax
    >>> loss, grad = csoftmax.binary_cross_entropy_with_grad([0.0, 2.0], [1.0, 0.0])
    >>> grad.round(8)
    array([-0.25      ,  0.44039854])
    """
    return _bce(logits, target, weight, pos_weight, reduction, True)
