"""Drop-in replacements for ``scipy.special.softmax``, ``log_softmax`` and ``logsumexp``.

The three functions take SciPy's arguments with SciPy's defaults and meaning:
``axis=None`` reduces over the whole array, ``axis`` may be an integer or a
tuple of integers (negative allowed), ``logsumexp`` takes the weights ``b=``
(broadcast against ``a``; zero weights drop their term even where ``a`` is
infinite or NaN; negative weights allowed), ``keepdims=`` and
``return_sign=``. Results have SciPy's shapes, dtypes and types: a NumPy
scalar where SciPy returns one (a reduction to 0-d, or a 0-d input to
``softmax``), an ndarray otherwise. SciPy itself is never imported.

Which path runs
---------------
Real floating and integer input (and, for ``logsumexp``, boolean input) with
no ``b=`` goes to the compiled kernels of :mod:`csoftmax`: the reduced axes
are moved last and the array is viewed as 2-D rows (a copy only when the
layout needs one); float32 and float64 arrays reduced over their last axis
(or over all of a C-contiguous array) go straight to csoftmax's fast path,
about a microsecond a call on small arrays (10 elements: 0.8-1.1 us against
5-9 us through the general path and 11-110 us in SciPy, on this project's
AMD EPYC test machine). float32 and float64 are computed in their own precision,
float16 in float32, integers in float64. Everything else - ``b=``,
complex input, ``numpy.longdouble`` - takes a NumPy path written for
correctness, in the input's precision (float16 in float32).

Output dtypes (as SciPy)
------------------------
* ``softmax``/``log_softmax``: the input's dtype for floating and complex
  input; for integers the dtype NumPy's ``exp`` gives them: float16 for 8-bit,
  float32 for 16-bit, float64 for wider integers.
* ``logsumexp``: ``numpy.result_type(a, b, 1.0)`` (so integers and booleans
  give float64, Python scalars are weak); ``return_sign=True`` with complex
  input gives a real result and a complex sign.

Where csoftmax.special is more accurate than SciPy
--------------------------------------------------
* ``log_softmax`` computes the log of the sum as ``log1p`` of the terms other
  than the largest, so the largest entry keeps its small negative value:
  ``log_softmax([0., -40.])[0]`` is ``-4.248354255291589e-18`` (SciPy: 0).
* float16 input is computed in float32 and rounded once (SciPy computes in
  float16); integer input is converted exactly to float64 before any
  arithmetic (SciPy subtracts the maximum in the integer type first).
* ``logsumexp`` with ``b=`` takes ``log1p`` of the sum when it is close to
  one, so results near zero keep their relative accuracy.

Deliberate differences from SciPy
---------------------------------
* Unsigned integers do not wrap around: ``softmax(np.uint8([1, 0, 1]))`` is
  ``[0.4224, 0.1554, 0.4224]`` (float16), where SciPy returns
  ``[0, nan, 0]`` (``x - max(x)`` wraps in uint8). Likewise int64 input with
  a range wider than 2**63 does not overflow.
* Empty input is accepted everywhere: ``softmax``/``log_softmax`` of an array
  with no elements return an empty array of the same shape (SciPy raises
  ValueError when a reduced axis has length zero), and ``logsumexp`` over no
  elements is ``-inf`` for every ``axis`` (SciPy raises IndexError for
  ``axis=None`` with two or more dimensions) with sign 0 (SciPy gives -1:
  the sum is 0, whose sign is 0).
* A zero weight always drops its term, even where ``a`` is infinite or NaN.
  SciPy does so only while the sum of the other terms is finite; otherwise it
  falls back to ``log(sum(b * exp(a)))`` where ``0 * inf`` is NaN, so
  ``logsumexp([inf, inf], b=[0, 1])`` is NaN in SciPy and ``inf`` here, and
  ``logsumexp([inf, -inf], b=[0, 1])`` is NaN in SciPy and ``-inf`` here.
* No ``RuntimeWarning`` is emitted for non-finite input (SciPy's
  ``softmax``/``log_softmax`` warn about invalid values and overflow);
  non-finite values still give SciPy's results: a slice holding NaN gives
  NaN; a slice of only ``-inf`` gives NaN (``logsumexp``: ``-inf``); a slice
  holding ``+inf`` gives NaN from ``softmax``, ``+inf`` from ``logsumexp``,
  and from ``log_softmax`` NaN at the ``+inf`` entries and ``-inf``
  elsewhere.
* Non-numeric input (object, string, datetime) raises TypeError in all three
  functions, as booleans do in ``softmax``/``log_softmax`` (as in SciPy; for
  strings SciPy's ``logsumexp`` raises ValueError instead).

Examples
--------
>>> import numpy as np
>>> from csoftmax import special
>>> special.softmax(np.array([[1.0, 3.0, 2.0]]), axis=1)
array([[0.09003057, 0.66524096, 0.24472847]])
>>> float(special.logsumexp([1.0, 2.0]))
2.313261687518223
>>> res, sign = special.logsumexp([1.0, 2.0], b=[1, -1], return_sign=True)
>>> float(res), float(sign)
(1.5413248546129181, -1.0)
"""
from __future__ import annotations

import operator

import numpy as np

from . import _api, _kernels

try:  # NumPy >= 1.25
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover - old NumPy
    from numpy import AxisError

__all__ = ["softmax", "log_softmax", "logsumexp"]

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


# ---------------------------------------------------------------------------
# argument handling


def _as_array(x, name: str) -> np.ndarray:
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:  # the exception type SciPy raises, with the name
        raise type(exc)(f"{name} cannot be converted to an array: {exc}") from exc


def _check_numeric(dtype: np.dtype, name: str, allow_bool: bool) -> None:
    kind = dtype.kind
    if kind in "iufc" or (allow_bool and kind == "b"):
        return
    if kind == "b":
        raise TypeError(f"{name} has boolean dtype, which softmax and log_softmax do not "
                        "accept (as scipy.special); convert it to a number type first")
    raise TypeError(f"{name} has non-numeric dtype {dtype}; expected an integer, "
                    "floating or complex array")


def _axes(axis, ndim: int, zero_d_int_ok: bool = False) -> tuple:
    """`axis` (None, int or tuple of ints) as a tuple of distinct non-negative axes.

    `zero_d_int_ok`: NumPy's reductions accept an integer axis 0 or -1 on a
    0-d array (as "no axis"); scipy's softmax inherits that.
    """
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    result = []
    for item in items:
        if isinstance(item, (bool, np.bool_)):
            raise TypeError(f"axis must be None, an integer or a tuple of integers, "
                            f"got {axis!r}")
        try:
            index = operator.index(item)
        except TypeError:
            raise TypeError(f"axis must be None, an integer or a tuple of integers, "
                            f"got {axis!r}") from None
        if ndim == 0 and zero_d_int_ok and not isinstance(axis, tuple) and index in (0, -1):
            return ()
        if not -ndim <= index < ndim:
            raise AxisError(f"axis={axis!r}: axis {index} is out of bounds for an array "
                            f"of dimension {ndim}")
        result.append(index % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"axis={axis!r} names the same axis more than once")
    return tuple(result)


def _scalar_if_0d(y):
    return y[()] if isinstance(y, np.ndarray) and y.ndim == 0 else y


def _exact_layout(shape, axes):
    """(perm, kept shape, rows, cols) for moving `axes` last, kept axes first in order."""
    kept = [i for i in range(len(shape)) if i not in axes]
    reduced = sorted(axes)
    rows = 1
    for i in kept:
        rows *= shape[i]
    cols = 1
    for i in reduced:
        cols *= shape[i]
    return kept + reduced, tuple(shape[i] for i in kept), rows, cols


def _as_rows(a: np.ndarray, axes):
    """`a` with `axes` moved last, as a 2-D (rows, cols) array; plus the permutation."""
    perm, _, rows, cols = _exact_layout(a.shape, axes)
    moved = a if perm == list(range(a.ndim)) else a.transpose(perm)
    return moved.reshape(rows, cols), perm, moved.shape


def _from_rows(y2: np.ndarray, perm, moved_shape) -> np.ndarray:
    y = y2.reshape(moved_shape)
    if perm != list(range(len(perm))):
        y = y.transpose(np.argsort(perm))
    return y


def _softmax_dtype(dtype: np.dtype) -> np.dtype:
    """scipy's result dtype: that of ``exp`` applied to `dtype` (native byte order)."""
    if dtype.kind in "fc":
        return dtype.newbyteorder("=")
    return np.promote_types(dtype, _F16)


def _uses_kernels(dtype: np.dtype) -> bool:
    """Real input the compiled kernels handle (float16..float64, integers, booleans)."""
    return dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize <= 8)


# ---------------------------------------------------------------------------
# softmax and log_softmax


def _fix_log_softmax_rows(x2: np.ndarray, y2: np.ndarray) -> None:
    """SciPy's values for rows holding +inf (and no NaN): NaN at +inf, -inf elsewhere.

    The kernels give NaN across such rows; a row is a candidate only if its
    first output is NaN, so finite input costs one strided read of a column.
    """
    if x2.dtype.kind != "f" or y2.size == 0:
        return
    candidates = np.flatnonzero(np.isnan(y2[:, 0]))
    if candidates.size == 0:
        return
    xr = x2[candidates]
    plus_inf = xr == np.inf
    fix = plus_inf.any(axis=1) & ~np.isnan(xr).any(axis=1)
    if fix.any():
        y2[candidates[fix]] = np.where(plus_inf[fix], np.nan, -np.inf)


def _fast_rows(op, x, axis):
    """The compiled fast path (``_kernels.rowwise_fast``) for the common
    call: `x` exactly an ndarray of at least one dimension that the fast path
    takes (float32 or float64, C-contiguous, ...), reduced over its last axis
    (`axis` that axis as an int) or over all of it (None: as one row); else
    None (and the caller's general path, with its checks and errors, runs)."""
    if type(x) is not np.ndarray:
        return None
    if axis is None:
        if x.ndim < 2:
            return _kernels.rowwise_fast(op, x, -1)  # (declines 0-d)
        if not x.flags.c_contiguous:
            return None
        y = _kernels.rowwise_fast(op, x.reshape(-1), -1)
        return y if y is None or op == _kernels.FAST_LOGSUMEXP else y.reshape(x.shape)
    if type(axis) is not int or (axis != -1 and axis != x.ndim - 1):
        return None  # (the fast path would take another axis down the columns)
    return _kernels.rowwise_fast(op, x, axis)


def _normalize(x, axis, kernel, numpy_formula, is_log: bool):
    y = _fast_rows(_kernels.FAST_LOG_SOFTMAX if is_log else _kernels.FAST_SOFTMAX, x, axis)
    if y is not None:
        # float input, rows along the last axis: SciPy's dtype and shape; a
        # row whose first output is NaN may hold +inf (_fix_log_softmax_rows)
        if is_log:
            y2 = y.reshape(-1, y.size if axis is None else y.shape[-1])  # the rows reduced
            if _kernels.nan_row_starts(y2):
                _fix_log_softmax_rows(x.reshape(y2.shape), y2)
        return y
    a = _as_array(x, "x")
    _check_numeric(a.dtype, "x", allow_bool=False)
    axes = _axes(axis, a.ndim, zero_d_int_ok=True)
    result_dtype = _softmax_dtype(a.dtype)
    if a.size == 0:
        return np.empty(a.shape, dtype=result_dtype)
    if not _uses_kernels(a.dtype):
        with np.errstate(all="ignore"):
            y = numpy_formula(a, axes)
        return _scalar_if_0d(y)
    x2, perm, moved_shape = _as_rows(a, axes)
    y2 = kernel(x2, axis=-1)
    if is_log:
        _fix_log_softmax_rows(x2, y2)
    y = _from_rows(y2, perm, moved_shape)
    if y.dtype != result_dtype:
        y = y.astype(result_dtype)
    return _scalar_if_0d(y)


def _softmax_numpy(a: np.ndarray, axes: tuple) -> np.ndarray:
    shifted = np.exp(a - np.max(a, axis=axes, keepdims=True))
    return shifted / np.sum(shifted, axis=axes, keepdims=True)


def _log_softmax_numpy(a: np.ndarray, axes: tuple) -> np.ndarray:
    m = np.max(a, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros((), dtype=m.dtype))
    shifted = a - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))


def softmax(x, axis=None):
    """Softmax over `axis`, like ``scipy.special.softmax``.

    Parameters
    ----------
    x : array_like
        Input; integer, floating or complex (booleans raise TypeError, as in
        SciPy).
    axis : int or tuple of ints, optional
        The axis or axes over which the result sums to one. ``None``
        (default): the whole array.

    Returns
    -------
    ndarray or NumPy scalar
        Same shape as `x` (a NumPy scalar for 0-d input), in SciPy's dtype.

    Examples
    --------
    >>> from csoftmax import special
    >>> special.softmax([1.0, 3.0, 2.0])
    array([0.09003057, 0.66524096, 0.24472847])
    >>> special.softmax([[0.0, 0.0], [0.0, 0.0]], axis=(0, 1))
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    return _normalize(x, axis, _api.softmax, _softmax_numpy, is_log=False)


def log_softmax(x, axis=None):
    """Logarithm of the softmax over `axis`, like ``scipy.special.log_softmax``.

    Parameters
    ----------
    x : array_like
        Input; integer, floating or complex (booleans raise TypeError, as in
        SciPy).
    axis : int or tuple of ints, optional
        The axis or axes to normalise over. ``None`` (default): the whole
        array.

    Returns
    -------
    ndarray or NumPy scalar
        Same shape as `x` (a NumPy scalar for 0-d input), in SciPy's dtype.

    Examples
    --------
    >>> from csoftmax import special
    >>> special.log_softmax([1000.0, 1.0])
    array([   0., -999.])
    >>> float(special.log_softmax([0.0, -40.0])[0])  # SciPy returns 0.0
    -4.248354255291589e-18
    """
    return _normalize(x, axis, _api.log_softmax, _log_softmax_numpy, is_log=True)


# ---------------------------------------------------------------------------
# logsumexp


def _promoted_dtype(a, b) -> np.dtype:
    """SciPy's rule: ``result_type(a, b, 1.0)``, Python scalars weak; plus checks."""
    operands = []
    for name, value in (("a", a), ("b", b)):
        if value is None:
            continue
        if isinstance(value, (int, float, complex)) and not isinstance(value, np.generic):
            operands.append(value)  # weak Python scalar
            continue
        array = _as_array(value, name)
        _check_numeric(array.dtype, name, allow_bool=True)
        operands.append(array)
    return np.result_type(*operands, 1.0)


def _reduced_shape(shape, axes, keepdims: bool):
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _logsumexp_kernels(a: np.ndarray, axes, keepdims, return_sign, dtype):
    x2, _, _ = _as_rows(a, axes)
    out = _api.logsumexp(x2, axis=-1)
    if out.dtype != dtype:
        out = out.astype(dtype)
    out = out.reshape(_reduced_shape(a.shape, axes, keepdims))
    if not return_sign:
        return out, None
    sign = np.ones_like(out)
    sign[out == -np.inf] = 0
    sign[np.isnan(out)] = np.nan
    return out, sign


def _logsumexp_numpy(a: np.ndarray, b, axes, keepdims, return_sign):
    """log(sum(b * exp(a))) over `axes`, shifted by the largest real part.

    For real input the sum is split into the weights at the maximum (where
    exp(a - max) == 1 exactly) and the rest, so that a sum close to one is
    passed to log1p.
    """
    complex_input = a.dtype.kind == "c"
    if b is not None:
        a = np.where(b == 0, np.array(-np.inf, dtype=a.dtype), a)
    real = a.real if complex_input else a
    m = np.max(real, axis=axes, keepdims=True)
    finite = np.isfinite(m)
    m0 = np.where(finite, m, np.zeros((), dtype=m.dtype))
    terms = np.exp(a - m0)
    if b is not None:
        terms = b * terms
    if complex_input:
        total = np.sum(terms, axis=axes, keepdims=True)
        if return_sign:
            out = m0 + np.log(np.abs(total))
            sign = np.sign(total)
        else:
            out = m0 + np.log(total)
            # principal branch (-pi, pi]: log(-x - 0j) has imaginary part -pi
            minus_pi = out.imag == -np.pi
            if minus_pi.any():
                out = np.where(minus_pi, out + 2j * np.pi, out)
            sign = None
    else:
        at_max = (real == m) & finite
        weight = np.ones_like(a) if b is None else b
        at_max_sum = np.sum(np.where(at_max, weight, 0), axis=axes, keepdims=True)
        rest = np.sum(np.where(at_max, 0, terms), axis=axes, keepdims=True)
        total = at_max_sum + rest
        near_one = np.abs(total - 1) < 0.5
        log_abs = np.where(near_one, np.log1p((at_max_sum - 1) + rest), np.log(np.abs(total)))
        out = m0 + log_abs
        sign = np.sign(total)
        if not return_sign:
            out = np.where(total < 0, np.nan, out)
    if not keepdims:
        out = np.squeeze(out, axis=axes)
        sign = np.squeeze(sign, axis=axes) if sign is not None else None
    return out, sign


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` without overflow, like ``scipy.special.logsumexp``.

    Parameters
    ----------
    a : array_like
        Input; boolean, integer, floating or complex.
    axis : None or int or tuple of ints, optional
        The axis or axes to sum over; ``None`` (default): all elements.
    b : array_like, optional
        Weights for ``exp(a)``, broadcast against `a` (the result then has
        the broadcast shape's reduced shape). May be negative; a zero weight
        drops its term even where `a` is infinite or NaN.
    keepdims : bool, optional
        Keep the reduced axes with length one.
    return_sign : bool, optional
        Also return the sign of the sum (+1, 0, -1, or for complex input the
        unit complex number ``sum / |sum|``); the first result is then the log
        of the sum's absolute value. Without it a negative sum gives NaN.

    Returns
    -------
    res : ndarray or NumPy scalar
        In ``numpy.result_type(a, b, 1.0)`` (real for complex input with
        ``return_sign=True``). Complex results have their imaginary part in
        ``(-pi, pi]``.
    sgn : ndarray or NumPy scalar
        Only with ``return_sign=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from csoftmax import special
    >>> float(special.logsumexp(np.arange(10)))
    9.45862974442671
    >>> special.logsumexp([[0.0, 0.0], [1.0, -1.0]], axis=1)
    array([0.69314718, 1.12692801])
    >>> float(special.logsumexp([1.0, 2.0], b=[0.0, 1.0]))
    2.0
    """
    if b is None and not keepdims and not return_sign:
        out = _fast_rows(_kernels.FAST_LOGSUMEXP, a, axis)
        if out is not None:  # float input reduced over its last axis: a scalar from 1-D
            return _scalar_if_0d(out)
    dtype = _promoted_dtype(a, b)
    if dtype.kind not in "fc":
        raise TypeError(f"a and b promote to {dtype}, which is not a floating or complex "
                        "dtype")
    a_array = _as_array(a, "a")
    if b is None and _uses_kernels(dtype) and a_array.dtype.kind != "c":
        # real input without weights: the compiled kernels
        a_array = np.atleast_1d(a_array)
        axes = _axes(axis, a_array.ndim)
        out, sign = _logsumexp_kernels(a_array, axes, keepdims, return_sign, dtype)
    else:
        compute = _F32 if dtype == _F16 else dtype
        a_array = a_array.astype(compute, copy=False)
        b_array = None if b is None else _as_array(b, "b").astype(compute, copy=False)
        if b_array is not None and b_array.shape != a_array.shape:
            try:
                shape = np.broadcast_shapes(a_array.shape, b_array.shape)
            except ValueError:
                raise ValueError(f"b with shape {b_array.shape} cannot be broadcast "
                                 f"against a with shape {a_array.shape}") from None
            a_array = np.broadcast_to(a_array, shape)
            b_array = np.broadcast_to(b_array, shape)
        a_array = np.atleast_1d(a_array)
        b_array = None if b_array is None else np.atleast_1d(b_array)
        axes = _axes(axis, a_array.ndim)
        if a_array.size == 0:
            shape = _reduced_shape(a_array.shape, axes, keepdims)
            out = np.full(shape, -np.inf, dtype=compute)
            sign = np.zeros(shape, dtype=compute) if return_sign else None
        else:
            with np.errstate(all="ignore"):
                out, sign = _logsumexp_numpy(a_array, b_array, axes, keepdims, return_sign)
        if return_sign and compute.kind == "c":
            out = out.real
        if compute != dtype:
            out = out.astype(dtype)
            sign = None if sign is None else sign.astype(dtype)
    out = _scalar_if_0d(out)
    if return_sign:
        return out, _scalar_if_0d(sign)
    return out
