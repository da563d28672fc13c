"""Softmax at inference time: class predictions, one-hot targets, sampling, mixtures.

Pure Python over the csoftmax kernels (:func:`csoftmax.softmax`,
:func:`csoftmax.log_softmax`, :func:`csoftmax.logsumexp`). Every check on the
input happens before any computation, with an error naming the argument and
the offending value.
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from . import _api, _kernels

__all__ = ["predict", "one_hot", "sample", "mixture_softmax"]


# ---------------------------------------------------------------------------
# helpers


def _real_array(x, name: str) -> np.ndarray:
    """`x` as an ndarray of a dtype the kernels accept (TypeError otherwise)."""
    a = _api._as_array(x, name)
    _api._dtypes(a.dtype, name)  # TypeError for complex, object, strings, ...
    return a


def _first_position(mask: np.ndarray) -> tuple:
    """The index tuple of the first True entry of `mask` (C order)."""
    flat = int(np.flatnonzero(mask.ravel())[0])
    return tuple(int(p) for p in np.unravel_index(flat, mask.shape))


def _temperature(temperature) -> float:
    if type(temperature) is float and 0.0 < temperature < math.inf:
        return temperature  # the common case, without the checks' cost (1.5 us)
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a real number, got {temperature!r}")
    value = float(temperature)
    if not (np.isfinite(value) and value > 0.0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return value


def _generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError("rng must be None, an int seed, a numpy.random.SeedSequence, a "
                        f"BitGenerator or a numpy.random.Generator, got {rng!r}") from exc


# ---------------------------------------------------------------------------
# predict / one_hot


def predict(x, axis=-1):
    """The predicted class: the index of the largest score along ``axis``.

    Softmax is monotone, so this is the argmax of the logits (or of the
    probabilities, or of the log-probabilities: all give the same answer).

    Parameters
    ----------
    x : array_like
        Logits or probabilities, real (integer and boolean accepted; complex
        raises TypeError). The class axis must not be empty.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray of int64
        ``x``'s shape without ``axis``.

    Notes
    -----
    Ties go to the lowest index. A NaN counts as larger than every number, as
    in :func:`numpy.argmax` and :func:`torch.argmax`: a row holding a NaN
    predicts the index of its first NaN. This keeps ``predict`` consistent
    with :func:`csoftmax.softmax`, which turns such a row into NaN, and makes
    a corrupted row visible instead of silently predicting a finite class.
    Check ``np.isnan(x).any(axis)`` first if NaN rows must be rejected.

    Examples
    --------
    >>> import csoftmax
    >>> csoftmax.predict([[1.0, 3.0, 2.0], [0.5, -1.0, 0.5]])
    array([1, 0])
    """
    if (type(x) is np.ndarray and type(axis) is int and axis == -1 and x.ndim
            and 0 < x.size < _ARGMAX_MIN and x.dtype.char in "fd"):
        # an agent's one action from a small logits array: the ndarray's own
        # argmax, no more (a 10-element float64 vector: see _as_int64)
        return _as_int64(x.argmax(axis=-1))
    if _api._is_dask(x):
        return _api._dask().predict(x, axis=axis)
    a = _api._as_array(x, "x")
    ax = _predict_axis(a, axis)
    found = _argmax_kernel(a, ax)
    if found is not None:
        return found
    return _as_int64(a.argmax(axis=ax))


# NumPy's argmax gives intp, int64 on 64-bit platforms (NumPy 2 on Windows
# too): astype then only costs its call, 0.8 us of a small input's 2.4
# (np.argmax(v, axis=-1).astype(np.int64, copy=False) on a 10-element vector;
# the method v.argmax(-1) alone takes 0.3, the function np.argmax 1.5).
_INTP_IS_INT64 = np.dtype(np.intp) == np.dtype(np.int64)


def _as_int64(index):
    return index if _INTP_IS_INT64 else index.astype(np.int64)


# The kernel takes inputs of at least _ARGMAX_MIN elements (below, np.argmax's
# shorter call wins) and, along the last axis, rows of up to _ARGMAX_ROW_MAX
# classes, where np.argmax spends most of its time per row (1,000,000 x 3
# float32: 14x the kernel's time; 32768 x 32: 3.4x); on longer rows NumPy's
# own SIMD argmax is about as fast (float32 4096 x 1000: the kernel 0.99x its
# time, 256 x 32000 1.15x) and faster in cache (16 x 1000: 1.9x), where its
# shorter call counts too (docs/performance.md, 2026-12-04 afternoon).
_ARGMAX_MIN = 1024
_ARGMAX_ROW_MAX = 64
# Longer rows go to the kernel when it can share them between threads: from
# 2**20 elements with csoftmax.get_num_threads() > 1 (2 threads, AMD EPYC:
# float32 4096 x 1000 0.63-0.65 of np.argmax's time, 256 x 32000 0.47-0.52,
# 1,000,000 x 100 0.43-0.44; float64 0.51-0.64); on one thread the kernel is
# NumPy's speed out of cache (0.89-1.07) and up to 1.64x its time in it
# (docs/performance.md, 2026-12-04 evening).
_ARGMAX_THREADED_MIN = 1 << 20


def _argmax_kernel(a: np.ndarray, ax: int):
    """predict's result from the C argmax kernel (src_c/argmax.h: NumPy's
    ties and NaN rule) for float32 / float64 `a` whose classes lie down
    contiguous columns (an axis other than the contiguous one of a C- or
    Fortran-ordered array) or are contiguous rows of at most _ARGMAX_ROW_MAX
    (the last axis of a C-ordered array, the first of a Fortran-ordered one,
    a 2-D array's rows at any strides), or longer such rows when there are
    _ARGMAX_THREADED_MIN elements and more than one thread to share them;
    None for the other dtypes, sizes and layouts (np.argmax's way)."""
    if (a.size < _ARGMAX_MIN or a.dtype.char not in "fd" or not a.dtype.isnative
            or not a.flags.aligned):
        return None  # (byte-swapped: NumPy's argmax reads it as it is)
    classes = a.shape[ax]
    if a.dtype.char == "f" and classes > 2**31 - 1:
        return None  # the float32 kernel keeps indices in 32-bit lanes
    lead = a.shape[:ax] + a.shape[ax + 1:]
    columns = _api._cols(a, ax)
    if columns is not None:
        x3, order = columns
        out = np.empty((x3.shape[0], x3.shape[2]), np.int64)
        _kernels.argmax(x3, out)
        # Fortran order: x3 is a.T's, whose other axes are a's reversed
        found = out.reshape(lead) if order == "C" else np.ascontiguousarray(
            out.reshape(lead[::-1]).T)
    elif classes > _ARGMAX_ROW_MAX and (a.size < _ARGMAX_THREADED_MIN
                                        or _kernels.get_num_threads() < 2):
        return None
    elif ax == a.ndim - 1 and (a.ndim <= 2 or a.flags.c_contiguous):
        found = _argmax_rows(a.reshape(-1, classes)).reshape(lead)  # a view: no copy
    elif ax == 0 and a.flags.f_contiguous:
        # the rows of a.T (C-contiguous), whose other axes are a's reversed
        found = np.ascontiguousarray(
            _argmax_rows(a.T.reshape(-1, classes)).reshape(lead[::-1]).T)
    else:
        return None
    return found[()] if not lead else found  # one row: an np.int64, as np.argmax


def _argmax_rows(rows: np.ndarray) -> np.ndarray:
    """The kernel's argmax of each row of a 2-D array with contiguous rows."""
    out = np.empty((rows.shape[0], 1), np.int64)
    _kernels.argmax(rows[:, :, None], out)
    return out[:, 0]


def _predict_axis(a, axis) -> int:
    """predict's class axis of `a` (an ndarray, or a Dask array), normalised;
    TypeError for a dtype the kernels do not take, AxisError / ValueError for
    no class axis or an empty one."""
    _api._dtypes(a.dtype, "x")
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for a 0-d array; "
                                      "x must have at least one dimension")
    ax = _api._normalize_axis(axis, a.ndim)
    if a.shape[ax] == 0:
        raise ValueError(f"x has an empty class axis (shape {a.shape}, axis={axis}); "
                         "there is no class to predict")
    return ax


def _label_error(position, value, classes) -> IndexError:
    return IndexError(f"labels{list(position)} = {value} is out of range for "
                      f"num_classes={classes} (expected 0 <= label < {classes})")


def one_hot(labels, num_classes, dtype=np.float32):
    """One-hot encoding of integer class labels.

    Parameters
    ----------
    labels : array_like of int
        Class indices in ``[0, num_classes)``, any shape, any integer dtype.
        Floating, boolean or other dtypes raise TypeError; an index out of
        range raises IndexError naming its value and position.
    num_classes : int
        The number of classes (>= 1).
    dtype : data-type, default numpy.float32
        The result's dtype: boolean, integer or real floating.

    Returns
    -------
    ndarray
        Shape ``labels.shape + (num_classes,)``, with a 1 at each label and 0
        elsewhere.

    Examples
    --------
    >>> import csoftmax
    >>> csoftmax.one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    >>> csoftmax.one_hot([[1], [0]], 2, dtype=bool).shape
    (2, 1, 2)
    """
    try:
        classes = operator.index(num_classes)
    except TypeError:
        raise TypeError(f"num_classes must be an integer, got {num_classes!r}") from None
    if classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {classes}")
    try:
        out_dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype {dtype!r} is not a NumPy data type") from exc
    if out_dtype.kind not in "biuf":
        raise TypeError(f"dtype must be a boolean, integer or real floating type, got {out_dtype}")
    if type(labels) is int or isinstance(labels, np.integer):  # one label: no array to build
        if not 0 <= labels < classes:
            raise _label_error((), labels, classes)
        out = np.zeros(classes, dtype=out_dtype)
        out[labels] = 1
        return out
    if type(labels) is np.ndarray and classes < 2**31:
        out = _kernels.one_hot_fast(labels, classes, out_dtype)  # int64 labels: in C
        if out is not None:  # None: not handled (or a label out of range: the error below)
            return out
    if _api._is_dask(labels):
        return _api._dask().one_hot(labels, classes, out_dtype)
    t = _api._as_array(labels, "labels")
    if t.dtype.kind not in "iu":
        raise TypeError(f"labels must hold integer class indices, got dtype {t.dtype}")
    if t.size:
        bad = (t < 0) | (t >= classes)
        if bad.any():
            position = _first_position(bad)
            raise _label_error(position, t[position], classes)
    out = np.zeros(t.shape + (classes,), dtype=out_dtype)
    np.put_along_axis(out, t[..., np.newaxis].astype(np.intp), 1, axis=-1)
    return out


# ---------------------------------------------------------------------------
# sample


def sample(logits, *, rng=None, temperature=1.0, axis=-1):
    """Draw one class index per row from ``softmax(logits / temperature)``.

    The draw is by inverse CDF: one uniform number per row, compared against
    the cumulative sum (in float64) of the probabilities that
    :func:`csoftmax.softmax` computes. A class whose probability is exactly
    zero (a ``-inf`` logit, or one so far below the row's maximum that its
    probability underflows) is never drawn.

    Parameters
    ----------
    logits : array_like
        Unnormalised scores, real. Each row needs a finite maximum: a row
        holding NaN or ``+inf``, or made only of ``-inf``, raises ValueError.
    rng : None, int, numpy.random.SeedSequence, BitGenerator or numpy.random.Generator
        The source of randomness, as accepted by
        :func:`numpy.random.default_rng`. The same seed gives the same draws;
        a Generator is advanced (one uniform per row, rows in C order of
        ``logits`` with ``axis`` moved last).
    temperature : float, default 1.0
        ``T > 0`` (finite). ``T < 1`` sharpens the distribution towards the
        argmax, ``T > 1`` flattens it towards uniform.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray of int64, or numpy.int64
        ``logits``' shape without ``axis``; for 1-D ``logits`` one
        ``np.int64`` (as :func:`predict` and ``np.argmax`` return).

    Notes
    -----
    float32 and float64 logits, C-contiguous, with the classes along the last
    axis, are drawn by the same steps in compiled code (a few microseconds a
    call on an agent's batch; the same draws for the same generator state).
    For ``T != 1`` the logits are scaled here in float64 after subtracting
    each row's maximum (``(x - max) / T``, with differences below ``-1000 T``
    clipped: their probability is zero in float64 anyway), so small
    temperatures cannot overflow.

    Examples
    --------
    >>> import numpy as np
    >>> import csoftmax
    >>> logits = np.array([[np.log(0.2), np.log(0.3), np.log(0.5)], [0.0, -np.inf, -np.inf]])
    >>> draws = csoftmax.sample(np.tile(logits, (5000, 1)), rng=0)
    >>> draws.shape
    (10000,)
    >>> np.bincount(draws[1::2], minlength=3)  # log(0) = -inf: never drawn
    array([5000,    0,    0])
    >>> bool(np.all(csoftmax.sample(logits, rng=42) == csoftmax.sample(logits, rng=42)))
    True
    """
    T = _temperature(temperature)
    generator = _generator(rng)
    if type(axis) is int and type(logits) is np.ndarray and axis in (-1, logits.ndim - 1):
        # float32 / float64, C-contiguous: the same steps in C (None: not handled,
        # or a row without a finite maximum, whose error the general path gives)
        drawn = _kernels.sample_fast(logits, T, generator)
        if drawn is not None:
            return drawn if drawn.ndim else drawn[()]
    a = _real_array(logits, "logits")
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for a 0-d array; "
                                      "logits must have at least one dimension")
    ax = _api._normalize_axis(axis, a.ndim)
    classes = a.shape[ax]
    lead = a.shape[:ax] + a.shape[ax + 1:]
    if classes == 0:
        raise ValueError(f"logits has an empty class axis (shape {a.shape}, axis={axis}); "
                         "there is no class to draw")
    compute, _ = _api._dtypes(a.dtype, "logits")
    if a.size == 0:
        return np.empty(lead, dtype=np.int64)
    if a.dtype in (np.float32, np.float64):
        # another axis or layout: the classes moved last into a C-contiguous
        # copy (the rows the steps below would take, in the same order), then
        # the C steps, which draw as these do; None (a row without a finite
        # maximum) leaves the generator as it was, for the error below
        drawn = _kernels.sample_fast(np.ascontiguousarray(np.moveaxis(a, ax, -1)), T, generator)
        if drawn is not None:
            return drawn if drawn.ndim else drawn[()]

    x2 = np.moveaxis(a, ax, -1).reshape(-1, classes)
    row_max = np.max(x2, axis=1)
    bad = ~np.isfinite(row_max)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        position = tuple(int(p) for p in np.unravel_index(row, lead)) if lead else ()
        raise ValueError(f"logits row {list(position)} has no finite maximum (max = "
                         f"{row_max[row]}): a row must not hold NaN or +inf, nor be all -inf")
    if T == 1.0:
        # a C-contiguous copy: the kernels reject rows that are contiguous but
        # strided (slices, broadcasts), see the note on _api._rows in the report
        probs = _api.softmax(np.ascontiguousarray(x2, dtype=compute), axis=-1)
    else:
        # (x - max) / T in float64, as written before softmax had temperature=
        # (which rounds in the logits' precision): a seed keeps its draws
        shifted = x2.astype(np.float64) - row_max[:, np.newaxis].astype(np.float64)
        np.maximum(shifted, -1000.0 * T, out=shifted)
        shifted /= T
        probs = _api.softmax(shifted, axis=-1)

    cdf = np.cumsum(probs, axis=1, dtype=np.float64)
    target = generator.random(cdf.shape[0]) * cdf[:, -1]
    # class j is drawn when cdf[j-1] <= target < cdf[j], which needs p[j] > 0
    index = np.count_nonzero(cdf <= target[:, np.newaxis], axis=1)
    spill = index == classes  # target rounded up to the row total
    if spill.any():
        positive = probs[spill] > 0
        index[spill] = classes - 1 - np.argmax(positive[:, ::-1], axis=1)
    index = index.astype(np.int64, copy=False).reshape(lead)
    return index if lead else index[()]  # one row: an np.int64, as np.argmax


# ---------------------------------------------------------------------------
# mixture_softmax


def mixture_softmax(logits, mix_logits, axis=-1):
    """A mixture of softmaxes: ``sum_k softmax(mix_logits)_k * softmax(logits_k)``.

    Computed in log space, ``exp(logsumexp_k(log_softmax(mix)_k +
    log_softmax(logits_k)))``, so neither a very confident component nor a
    tiny mixture weight loses precision or produces NaN.

    Parameters
    ----------
    logits : array_like, shape (..., K, C)
        Per-component logits: ``axis`` is the class axis (C) and the
        component axis (K) is the last axis other than ``axis``.
    mix_logits : array_like, shape (..., K)
        Unnormalised mixture weights: shaped like ``logits`` without the class
        axis, or broadcastable to that shape (``(K,)`` shares one set of
        weights across the batch).
    axis : int, default -1
        The class axis of ``logits``.

    Returns
    -------
    ndarray
        ``logits``' shape without the component axis; sums to one along the
        class axis. Dtype by the softmax policy applied to both inputs
        (float32 when both are float32).

    Examples
    --------
    >>> import numpy as np
    >>> import csoftmax
    >>> logits = np.log([[0.9, 0.1], [0.2, 0.8]])   # K=2 components, C=2 classes
    >>> csoftmax.mixture_softmax(logits, np.log([0.5, 0.5]))
    array([0.55, 0.45])
    >>> csoftmax.mixture_softmax(np.zeros((4, 3, 5)), np.zeros(3)).shape
    (4, 5)
    """
    if _api._is_dask(logits) or _api._is_dask(mix_logits):
        return _api._dask().mixture_softmax(logits, mix_logits, axis=axis)
    a = _api._as_array(logits, "logits")
    w = _api._as_array(mix_logits, "mix_logits")
    ax, component_axis, compute, result = _mixture_checks(a, w, axis)
    moved = np.moveaxis(a, ax, -1)  # (..., K, C) with the component axis at -2
    out_shape = a.shape[:component_axis] + a.shape[component_axis + 1:]
    if a.size == 0:
        return np.empty(out_shape, dtype=result)
    log_weights = _api.log_softmax(np.ascontiguousarray(w, dtype=compute), axis=-1)
    log_components = _api.log_softmax(np.ascontiguousarray(moved, dtype=compute), axis=-1)
    joint = log_components + log_weights[..., np.newaxis]
    mixed = np.exp(_api.logsumexp(joint, axis=-2))  # (..., C), class axis last
    mixed = np.moveaxis(mixed, -1, ax if ax < component_axis else ax - 1)
    return mixed.astype(result, copy=False)


def _mixture_checks(a, w, axis):
    """(class axis, component axis, compute dtype, result dtype) of
    mixture_softmax's logits `a` and mix_logits `w` (ndarrays, or Dask
    arrays), or the error naming the argument."""
    compute_a, result_a = _api._dtypes(a.dtype, "logits")
    compute_w, result_w = _api._dtypes(w.dtype, "mix_logits")
    if a.ndim < 2:
        raise ValueError(f"logits must have at least two dimensions (components, classes), "
                         f"got shape {a.shape}")
    ax = _api._normalize_axis(axis, a.ndim)
    component_axis = a.ndim - 1 if ax != a.ndim - 1 else a.ndim - 2
    weights_shape = a.shape[:ax] + a.shape[ax + 1:]  # (..., K)
    if w.ndim == 0:
        raise ValueError("mix_logits must have at least one dimension (the components), "
                         "got a 0-d array")
    try:
        broadcast = np.broadcast_shapes(w.shape, weights_shape)
    except ValueError:
        broadcast = None
    if broadcast != weights_shape:
        raise ValueError(f"mix_logits has shape {w.shape}, which does not broadcast to "
                         f"{weights_shape} (logits' shape {a.shape} without the class "
                         f"axis {ax})")
    if weights_shape[-1] == 0 or a.shape[ax] == 0:
        raise ValueError(f"logits has shape {a.shape}: it needs at least one component and "
                         "one class")
    return (ax, component_axis, np.result_type(compute_a, compute_w),
            np.result_type(result_a, result_w))
