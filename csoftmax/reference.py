"""The NumPy reference path: the test oracle for every csoftmax function.

Plain, obviously correct formulas, written for clarity and not for speed:

- every value is converted to ``np.longdouble`` and computed there (80-bit
  extended precision on x86-64, 64-bit significand), so that the result,
  rounded to float64 at the end, can judge float64 output to within a
  fraction of an ulp. (Where ``np.longdouble`` is plain float64, as on
  arm64 or Windows, the oracle is only as precise as a careful float64 path.)
- rows are shifted by their maximum ``m``; with ``t`` the sum of
  ``exp(x - m)`` over the terms other than the maximum plus (number of
  maximal terms - 1), ``log(sum(exp(x - m))) = log1p(t)``. So
  ``log_softmax([0., -40.])[0]`` is ``-4.248354255291589e-18`` here too,
  where ``log(softmax(x))`` would round it to 0.
- the non-finite semantics are those of the kernels (and of SciPy and
  PyTorch): a row holding +inf, a row of only -inf, and a row holding NaN
  give NaN across that row of softmax, log_softmax and cross-entropy (loss
  and gradient), and no other row is affected; logsumexp gives NaN for a row
  holding NaN, +inf for a row holding +inf, -inf for a row of only -inf and
  for an empty axis. No floating-point warning escapes.
- ``temperature=T`` divides x by T (in extended precision) first;
  ``where=mask`` keeps only the entries where the boolean mask (broadcast to
  x) is True: the rules above apply to the kept entries of each row alone,
  masked-out entries are 0 in softmax and -inf in log_softmax, and a row with
  no kept entry gives 0 (softmax) and -inf (log_softmax, logsumexp).

The dtype policy is that of csoftmax: the result is float32 for float32
input, float16 for float16, float64 for float64, integer and boolean input
(promoted before any arithmetic). Each function also takes a keyword
``dtype=`` (not in csoftmax's signatures): ``dtype=np.longdouble`` returns
the unrounded extended-precision values, to measure errors in ulps.

It is slow (extended precision has no SIMD and every step makes a
temporary array): use it in tests, never in production.

Examples
--------
>>> from csoftmax import reference
>>> reference.softmax([1.0, 3.0, 2.0])
array([0.09003057, 0.66524096, 0.24472847])
>>> float(reference.log_softmax([0.0, -40.0])[0])
-4.248354255291589e-18
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "cross_entropy",
    "cross_entropy_with_grad",
]

_LD = np.longdouble
_REDUCTIONS = ("mean", "sum", "none")


def _result_dtype(dtype: np.dtype, name: str) -> np.dtype:
    """csoftmax's result dtype for an input dtype, or TypeError."""
    if dtype.kind == "f":
        if dtype.itemsize in (2, 4, 8):
            return dtype
        return np.dtype(np.float64)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype {dtype}; the reference works on real numbers")
    raise TypeError(f"{name} has unsupported dtype {dtype}")


def _prepare(x, axis, name):
    """(x as longdouble with `axis` last, normalised axis, result dtype)."""
    a = np.asarray(x)
    result = _result_dtype(a.dtype, name)
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for a 0-d array; "
                                      f"{name} must have at least one dimension")
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {axis!r}") from None
    if not -a.ndim <= axis < a.ndim:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for an array of "
                                      f"dimension {a.ndim}")
    axis %= a.ndim
    # integers and booleans are converted exactly (no uint8 wrap-around)
    z = np.moveaxis(a, axis, -1).astype(_LD)
    return z, axis, result


def _temperature(temperature) -> float:
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a real number, got {temperature!r}")
    value = float(temperature)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return value


def _options(z, axis, temperature, where):
    """(z / temperature, the kept-entries mask with `axis` last, or True)."""
    value = _temperature(temperature)
    if value != 1:
        z = z / _LD(value)
    if where is None:
        return z, True
    w = np.asarray(where)
    if w.dtype != np.bool_:
        raise TypeError(f"where must be a boolean array, got dtype {w.dtype}")
    shape = list(z.shape[:-1])
    shape.insert(axis, z.shape[-1])
    try:
        kept = np.broadcast_to(w, tuple(shape))
    except ValueError:
        raise ValueError(f"where has shape {w.shape}, which cannot be broadcast to "
                         f"x's shape {tuple(shape)}") from None
    return z, np.moveaxis(kept, axis, -1)


def _shifted(z, kept=True):
    """Per row (last axis) over the entries `kept` marks (all by default): the
    maximum m, x - m, log1p's argument t, a mask of rows holding a kept NaN,
    and a mask of rows whose kept maximum is not finite (+inf kept, or the
    kept entries all -inf / NaN, or none kept) or that hold a kept NaN. All
    in longdouble. Rows of the returned arrays that the last mask marks, and
    entries not kept, are meaningless and must be replaced by the caller."""
    nan_row = (np.isnan(z) & kept).any(axis=-1)
    m = np.max(np.where(np.isnan(z) | ~np.asarray(kept), -np.inf, z), axis=-1,
               initial=-np.inf)
    bad = nan_row | ~np.isfinite(m)
    m_safe = np.where(bad, 0, m)[..., None]
    shifted = z - m_safe
    is_max = (z == m_safe) & kept & ~bad[..., None]
    terms = np.where(is_max | ~np.asarray(kept), 0, np.exp(shifted))
    # t = sum(exp(x - m)) - 1, formed without adding 1 to the small terms
    t = np.sum(terms, axis=-1) + (np.sum(is_max, axis=-1) - 1)
    return m, shifted, t, nan_row, bad


def _finish(values, axis, result, dtype, out=None):
    """Move the last axis back to `axis`, round to the result dtype, honour out=."""
    values = np.moveaxis(values, -1, axis)
    target = np.dtype(dtype) if dtype is not None else result
    with np.errstate(over="ignore"):  # values beyond the dtype's range round to +-inf
        return _store(values, result, target, out)


def _store(values, result, target, out):
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
        if out.shape != values.shape:
            raise ValueError(f"out has shape {out.shape}, expected {values.shape}")
        if not np.can_cast(result, out.dtype, casting="same_kind"):
            raise TypeError(f"out has dtype {out.dtype}, which cannot hold the {result} "
                            "result under the same_kind casting rule")
        np.copyto(out, values.astype(result), casting="same_kind")
        return out
    return values.astype(target)


def softmax(x, axis=-1, *, out=None, temperature=1.0, where=None, dtype=None):
    """Reference softmax, ``exp(x - m) / (1 + t)`` in extended precision.

    Parameters
    ----------
    x : array_like
    axis : int, default -1
    out : ndarray, optional
        Receives the result rounded to csoftmax's result dtype; returned.
    temperature : float, default 1.0
        softmax of ``x / temperature``.
    where : array_like of bool, optional
        Entries kept (broadcast to x); the others give 0.
    dtype : dtype, optional
        Result dtype (default: csoftmax's); ``np.longdouble`` gives the
        unrounded values.

    Examples
    --------
    >>> from csoftmax import reference
    >>> reference.softmax([1000.0, 3000.0, 2000.0])
    array([0., 1., 0.])
    >>> reference.softmax([[1.0, 3.0, 2.0]], temperature=2.0, where=[True, False, True])
    array([[0.37754067, 0.        , 0.62245933]])
    """
    z, axis, result = _prepare(x, axis, "x")
    with np.errstate(all="ignore"):
        z, kept = _options(z, axis, temperature, where)
        if z.size == 0:
            return _finish(z, axis, result, dtype, out)
        m, shifted, t, nan_row, bad = _shifted(z, kept)
        y = np.exp(shifted) / (1 + t)[..., None]
        y[bad] = np.nan
        y = np.where(kept, y, 0)
    return _finish(y, axis, result, dtype, out)


def log_softmax(x, axis=-1, *, out=None, temperature=1.0, where=None, dtype=None):
    """Reference log_softmax, ``(x - m) - log1p(t)`` in extended precision.

    Parameters are those of :func:`softmax`; entries ``where`` leaves out
    give -inf.

    Examples
    --------
    >>> from csoftmax import reference
    >>> reference.log_softmax([1.0, 3.0, 2.0])
    array([-2.40760596, -0.40760596, -1.40760596])
    >>> reference.log_softmax([1.0, 3.0], where=[False, False])
    array([-inf, -inf])
    """
    z, axis, result = _prepare(x, axis, "x")
    with np.errstate(all="ignore"):
        z, kept = _options(z, axis, temperature, where)
        if z.size == 0:
            return _finish(z, axis, result, dtype, out)
        m, shifted, t, nan_row, bad = _shifted(z, kept)
        y = shifted - np.log1p(t)[..., None]
        y[bad] = np.nan
        y = np.where(kept, y, -np.inf)
    return _finish(y, axis, result, dtype, out)


def logsumexp(x, axis=-1, *, keepdims=False, temperature=1.0, where=None, dtype=None):
    """Reference logsumexp, ``m + log1p(t)`` in extended precision.

    A row holding NaN gives NaN; otherwise a row holding +inf gives +inf,
    a row of only -inf gives -inf, and an empty axis gives -inf. With
    ``where``, over the kept entries only (none kept: -inf).

    Parameters
    ----------
    x : array_like
    axis : int, default -1
    keepdims : bool, default False
    temperature : float, default 1.0
        logsumexp of ``x / temperature``.
    where : array_like of bool, optional
        Entries kept (broadcast to x).
    dtype : dtype, optional
        As for :func:`softmax`.

    Examples
    --------
    >>> from csoftmax import reference
    >>> float(reference.logsumexp([1000.0, 1000.0]))
    1000.6931471805599
    >>> float(reference.logsumexp([2.0, 2.0, 50.0], temperature=2.0, where=[True, True, False]))
    1.6931471805599454
    """
    z, axis, result = _prepare(x, axis, "x")
    target = np.dtype(dtype) if dtype is not None else result
    with np.errstate(all="ignore"):
        z, kept = _options(z, axis, temperature, where)
        if z.shape[-1] == 0:
            y = np.full(z.shape[:-1], -np.inf, dtype=_LD)
        else:
            m, shifted, t, nan_row, bad = _shifted(z, kept)
            y = m + np.log1p(np.where(bad, 0, t))
            y = np.where(bad, m, y)          # +inf, or -inf for a row of -inf
            y = np.where(nan_row, np.nan, y)
    if keepdims:
        y = np.expand_dims(y, axis)
    with np.errstate(over="ignore"):
        return np.asarray(y.astype(target))


def _targets(target, shape, classes):
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {t.dtype}")
    if t.shape != shape:
        raise ValueError(f"target has shape {t.shape}, expected {shape} "
                         "(the logits' shape without the class axis)")
    bad = (t < 0) | (t >= classes)
    if bad.any():
        position = tuple(int(p) for p in np.argwhere(bad)[0])
        raise IndexError(f"target{list(position)} = {t[position]} is out of range for "
                         f"{classes} classes (expected 0 <= target < {classes})")
    return t


def _cross_entropy(logits, target, axis, reduction, dtype):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if np.ndim(logits) == 0:
        raise ValueError("logits must have at least one dimension (the class axis)")
    z, axis, result = _prepare(logits, axis, "logits")
    target_dtype = np.dtype(dtype) if dtype is not None else result
    classes = z.shape[-1]
    t = _targets(target, z.shape[:-1], classes)
    rows = t.size
    with np.errstate(all="ignore"):
        if z.size == 0:
            loss = np.zeros(z.shape[:-1], dtype=_LD)
            grad = np.zeros(z.shape, dtype=_LD)
        else:
            m, shifted, s_minus_one, nan_row, bad = _shifted(z)
            onehot = np.arange(classes) == t[..., None]
            picked = np.take_along_axis(shifted, t[..., None], axis=-1)[..., 0]
            loss = np.log1p(s_minus_one) - picked
            loss[bad] = np.nan
            # p_j for j != target; 1 - p_target as the sum of the other p_j,
            # which has no cancellation when p_target is close to 1
            exps = np.exp(shifted)
            others = np.sum(np.where(onehot, 0, exps), axis=-1)
            grad = np.where(onehot, -others[..., None], exps) / (1 + s_minus_one)[..., None]
            grad[bad] = np.nan
    with np.errstate(all="ignore"):
        if reduction == "none":
            value = loss.astype(target_dtype)
        else:
            total = np.sum(loss)
            if reduction == "mean":
                total = total / rows if rows else _LD(np.nan)
                grad = grad / rows if rows else grad
            value = target_dtype.type(total)
        grad = np.moveaxis(grad, -1, axis).astype(target_dtype)
    return value, grad


def cross_entropy(logits, target, *, axis=-1, reduction="mean", dtype=None):
    """Reference cross-entropy, ``logsumexp(logits) - logits[target]`` per row.

    Parameters
    ----------
    logits : array_like
    target : array_like of int
        Class indices, shaped like ``logits`` without the class axis.
    axis : int, default -1
    reduction : {"mean", "sum", "none"}
        ``"mean"`` of an empty batch is NaN.
    dtype : dtype, optional
        As for :func:`softmax`.

    Examples
    --------
    >>> from csoftmax import reference
    >>> round(float(reference.cross_entropy([[1.0, 3.0, 2.0]], [1])), 8)
    0.40760596
    """
    return _cross_entropy(logits, target, axis, reduction, dtype)[0]


def cross_entropy_with_grad(logits, target, *, axis=-1, reduction="mean", dtype=None):
    """Reference cross-entropy and its gradient ``softmax(logits) - onehot(target)``
    (divided by the number of rows for ``reduction="mean"``).

    Examples
    --------
    >>> from csoftmax import reference
    >>> loss, grad = reference.cross_entropy_with_grad([[1.0, 3.0, 2.0]], [1])
    >>> grad.round(8)
    array([[ 0.09003057, -0.33475904,  0.24472847]])
    """
    return _cross_entropy(logits, target, axis, reduction, dtype)

