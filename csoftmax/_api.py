"""NumPy-facing functions: input policy, checks, axis handling, `out=`.

Everything that can be wrong with the input is caught here, before any byte of
`out` is written, with an error naming the argument and the offending value.
The kernels (csoftmax._kernels) then see 2-D arrays with contiguous rows.
"""
from __future__ import annotations

import math
import numbers
import operator
import os

import numpy as np

from . import _kernels
from ._version import __version__

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "cross_entropy",
    "cross_entropy_with_grad",
    "config",
    "show_config",
    "set_num_threads",
    "get_num_threads",
]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_F16 = np.dtype(np.float16)
_F32_MAX = float(np.finfo(np.float32).max)


def _widened(compute: np.dtype, inverse_t: float) -> np.dtype:
    """The compute dtype for a temperature: float32 arrays whose 1 / T
    overflows float32 (T below about 2.9e-39) are computed in float64, whose
    range holds (x - max) / T, and rounded back to the result's dtype."""
    return _F64 if compute == _F32 and inverse_t > _F32_MAX else compute


# set_num_threads' ceiling (the kernels take a C int; far beyond any machine)
_MAX_THREADS = 65536


def _configure_from_environment():
    requested = os.environ.get("CSOFTMAX_ISA", "").strip().lower()
    if requested:
        available = _kernels.available_isas()
        if requested not in _kernels.ISA_NAMES:
            raise ValueError(
                f"CSOFTMAX_ISA={requested!r} is not an instruction-set level; "
                f"expected one of {_kernels.ISA_NAMES}")
        if requested not in available:
            raise RuntimeError(
                f"CSOFTMAX_ISA={requested!r} asks for kernels this CPU cannot run; "
                f"available here: {available}")
        _kernels.set_isa(requested)
    threads = os.environ.get("CSOFTMAX_NUM_THREADS", "").strip()
    if threads:
        try:
            n = int(threads)
        except ValueError:
            n = 0
        if not 1 <= n <= _MAX_THREADS:
            raise ValueError(f"CSOFTMAX_NUM_THREADS={threads!r} must be an integer from 1 to "
                             f"{_MAX_THREADS}")
        _kernels.set_num_threads(n)


_configure_from_environment()


# ---------------------------------------------------------------------------
# input policy


def _dtypes(dtype: np.dtype, name: str):
    """(compute dtype, result dtype) for an input dtype, or TypeError. Byte
    order does not matter: a byte-swapped float32 ('>f4' on this machine) is
    computed and returned as the native float32, as NumPy's ufuncs do."""
    if not dtype.isnative:
        dtype = dtype.newbyteorder("=")
    if dtype == _F64 or dtype == _F32:
        return dtype, dtype
    if dtype == _F16:
        return _F32, _F16
    kind = dtype.kind
    if kind == "f":  # longdouble: computed and returned in float64
        return _F64, _F64
    if kind in "biu":  # promoted before any arithmetic: no uint8 wrap-around
        return _F64, _F64
    if kind == "c":
        raise TypeError(f"{name} has complex dtype {dtype}; csoftmax works on real numbers "
                        "(csoftmax.special.logsumexp accepts complex input like SciPy)")
    raise TypeError(f"{name} has unsupported dtype {dtype}; expected a real floating, "
                    "integer or boolean array")


def _is_dask(x) -> bool:
    """True for Dask collections (without importing Dask)."""
    return not isinstance(x, np.ndarray) and hasattr(x, "__dask_graph__")


def _dask():
    from . import _dask as module  # imported only when given a Dask array
    return module


def _as_array(x, name: str) -> np.ndarray:
    if type(x) is np.ndarray:
        return x
    if isinstance(x, np.ma.MaskedArray) and np.ma.getmaskarray(x).any():
        # its data under the mask would be computed as if unmasked
        raise TypeError(f"{name} is a masked array with masked entries, which csoftmax does "
                        "not read as masked: pass where=~mask (softmax, log_softmax, "
                        "logsumexp) or filled values")
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} cannot be converted to an array: {exc}") from exc


def _index(value, name: str) -> int:
    """operator.index(value), refusing booleans as NumPy does (operator.index(True)
    is 1); TypeError naming `name` else."""
    try:
        if isinstance(value, (bool, np.bool_)):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None


def _normalize_axis(axis, ndim: int, name: str = "axis") -> int:
    axis = _index(axis, name)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{name}={axis} is out of bounds for an array of "
                                      f"dimension {ndim}")
    return axis % ndim


def _rows(a: np.ndarray, axis: int) -> np.ndarray:
    """A C-contiguous, aligned 2-D (rows, cols) array over `a` with `axis` last:
    a view when the layout allows it, else a copy."""
    if axis != a.ndim - 1:
        a = np.moveaxis(a, axis, -1)
    cols = a.shape[-1]
    x2 = a.reshape(-1, cols) if a.ndim != 2 else a
    if not (x2.flags.c_contiguous and x2.flags.aligned):
        # np.ascontiguousarray keeps a contiguous but misaligned array as it is
        x2 = np.require(x2, requirements=("C", "A"))
    return x2


def _cols(a: np.ndarray, axis: int):
    """`a` as an (outer, n, inner) array whose axis 1 is `axis` and whose
    inner axis is contiguous, for the column kernels (src_c/columns.h), when
    `axis` is not the last one and the last axis is contiguous (C order,
    rows of a C-ordered array included), or `axis` is not the first one and
    the first axis is contiguous (Fortran order, through ``a.T``), but not
    for contiguous rows along the last axis (the row kernels, which the fast
    path takes for them: the two paths give the same bits): (the 3-D array,
    "C" or "F"), a view where the layout allows (else a copy); None
    otherwise (the row kernels' way)."""
    if a.ndim < 2 or not a.flags.aligned:
        return None
    if axis == a.ndim - 1 and (a.strides[-1] == a.itemsize or a.shape[-1] == 1):
        return None  # contiguous rows: the row kernels, as on the fast path
    if axis != a.ndim - 1 and (a.strides[-1] == a.itemsize or a.flags.c_contiguous):
        t, order = a, "C"
    elif axis != 0 and (a.strides[0] == a.itemsize or a.flags.f_contiguous):
        t, order, axis = a.T, "F", a.ndim - 1 - axis
    else:
        return None
    t = t.reshape(math.prod(t.shape[:axis]), t.shape[axis], math.prod(t.shape[axis + 1:]))
    if t.shape[2] > 1 and t.strides[2] != t.itemsize:
        return None
    return t, order


def _check_out(out, shape, result_dtype: np.dtype) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, expected {shape}")
    if not np.can_cast(result_dtype, out.dtype, casting="same_kind"):
        raise TypeError(f"out has dtype {out.dtype}, which cannot hold the {result_dtype} "
                        "result under the same_kind casting rule")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    return out


def _inverse_temperature(temperature) -> float:
    """1 / temperature for a finite temperature > 0; TypeError / ValueError else."""
    if type(temperature) is not float:
        if (isinstance(temperature, (bool, np.bool_))
                or not isinstance(temperature, numbers.Real)):
            raise TypeError(f"temperature must be a real number, got {temperature!r}")
    value = float(temperature)
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    inverse = 1.0 / value
    if not math.isfinite(inverse):
        raise ValueError(f"temperature={temperature!r} is too small: 1 / temperature "
                         "overflows float64")
    return inverse


def _fast_inverse(temperature) -> float:
    """1 / temperature (a float or an int: 1.0 / float(T), as the general
    path forms it) for the fast path; 0.0, which it declines, for a
    temperature the general path refuses (with its own error), one of 1e308
    and more (an int beyond the float range among them) or one whose inverse
    overflows."""
    return 1.0 / temperature if 0 < temperature < 1e308 else 0.0


def _mask_rows(where, shape, axis: int, out=None) -> np.ndarray:
    """`where` as the (rows, cols) uint8 view the masked kernels take: broadcast
    to `shape` with `axis` last, columns contiguous. A view (row stride 0 for a
    mask broadcast along the rows) where the layout allows it; a copy only when
    the mask is not contiguous along `axis`, when its leading axes do not
    collapse into one row stride, or when it overlaps `out`."""
    w = where if isinstance(where, np.ndarray) else _as_array(where, "where")
    if w.dtype != np.bool_:
        raise TypeError(f"where must be a boolean array (numpy.bool_), got dtype {w.dtype}")
    try:
        b = np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"where has shape {w.shape}, which cannot be broadcast to "
                         f"x's shape {tuple(shape)}") from None
    if axis != b.ndim - 1:
        b = np.moveaxis(b, axis, -1)
    cols = shape[axis]
    rows = b.size // cols if cols else 0
    m2 = b.reshape(rows, cols)      # a view whenever the leading axes collapse
    if cols > 1 and m2.strides[1] != 1:
        if rows > 1 and m2.strides[0] == 0:      # one row for all: copy that row only
            m2 = np.broadcast_to(np.ascontiguousarray(m2[0]), (rows, cols))
        else:
            m2 = np.ascontiguousarray(m2)
    if out is not None and np.may_share_memory(m2, out):
        m2 = m2.copy()
    return m2.view(np.uint8)


# the column kernels of the row kernels _rowwise is given (src_c/columns.h)
_COLS_KERNELS = {_kernels.softmax_2d: _kernels.softmax_cols,
                 _kernels.log_softmax_2d: _kernels.log_softmax_cols}


def _colwise(cols_kernel, a, ax, c, out, compute, result):
    """_rowwise's way for an axis the column kernels take (_cols(a, ax) is c):
    the result in `a`'s memory order, into `out` directly where it has that
    layout and the compute dtype (x itself included)."""
    x3, order = c
    if out is not None and out.dtype == compute and out.flags.writeable:
        o = _cols(out, ax)
        # a view of out (not a copy), which is x3 itself or does not overlap it
        if (o is not None and o[1] == order and o[0].shape == x3.shape
                and np.may_share_memory(o[0], out)):
            o3 = o[0]
            same = (o3.__array_interface__["data"][0] == x3.__array_interface__["data"][0]
                    and o3.strides == x3.strides)
            if same or not np.may_share_memory(o3, x3):
                cols_kernel(x3, o3)
                return out
    y = np.empty(a.shape, dtype=compute, order=order)
    cols_kernel(x3, (y if order == "C" else y.T).reshape(x3.shape))  # views of y
    return _deliver(y, out, result)


def _deliver(y, out, result: np.dtype):
    """The computed `y` copied into `out` (and `out` returned), or `y` as the
    result dtype. A float16 result beyond float16's range becomes +-inf, as
    NumPy's own float16 arithmetic does, without an overflow warning from the
    cast."""
    with np.errstate(over="ignore"):
        if out is not None:
            np.copyto(out, y, casting="same_kind")
            return out
        if result != y.dtype:
            y = y.astype(result)
    return y


def _rowwise(kernel, x, axis, out, name="x", temperature=1.0, where=None,
             masked_kernel=None):
    a = _as_array(x, name)
    compute, result = _dtypes(a.dtype, name)
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for a 0-d array; "
                                      f"{name} must have at least one dimension")
    ax = _normalize_axis(axis, a.ndim)
    inverse_t = _inverse_temperature(temperature)
    compute = _widened(compute, inverse_t)
    if out is not None:
        _check_out(out, a.shape, result)
    mask = None
    if where is not None:
        mask = _mask_rows(where, a.shape, ax, out)
    if where is not None or inverse_t != 1.0:
        # temperature and mask fused in the masked kernels (src_c/masked.h)
        def kernel(x2, y2, _masked=masked_kernel, _mask=mask, _inverse=inverse_t):
            _masked(x2, _mask, _inverse, y2)
    if a.dtype != compute:
        a = a.astype(compute)
    if a.size == 0:
        if out is not None:
            return out
        return np.empty(a.shape, dtype=result)

    cols_kernel = _COLS_KERNELS.get(kernel) if mask is None and inverse_t == 1.0 else None
    if cols_kernel is not None:
        c = _cols(a, ax)
        if c is not None:
            return _colwise(cols_kernel, a, ax, c, out, compute, result)
    x2 = _rows(a, ax)
    if (out is not None and out.dtype == compute):
        o2 = _rows(out, ax)
        direct = np.may_share_memory(o2, out) and o2.flags.writeable
        if direct and np.may_share_memory(o2, x2):
            # in place is fine only when rows coincide exactly
            direct = (o2.__array_interface__["data"][0] == x2.__array_interface__["data"][0]
                      and o2.strides == x2.strides)
        if direct:
            kernel(x2, o2)
            return out
    y2 = np.empty(x2.shape, dtype=compute)
    kernel(x2, y2)
    moved = list(a.shape)
    moved.append(moved.pop(ax))
    y = y2.reshape(moved)
    if ax != a.ndim - 1:
        y = np.moveaxis(y, -1, ax)
    return _deliver(y, out, result)


# ---------------------------------------------------------------------------
# public functions


def softmax(x, axis=-1, *, out=None, temperature=1.0, where=None):
    """Softmax along an axis: ``exp(x - max) / sum(exp(x - max))``.

    Parameters
    ----------
    x : array_like
        Logits. float32 and float64 are computed in their own precision,
        float16 in float32 (returned as float16); integer and boolean input
        is promoted to float64 first. Complex input raises TypeError.
    axis : int, default -1
        The axis along which the values sum to one.
    out : ndarray, optional
        Where to write the result; must have ``x``'s shape and a dtype that
        can hold the result under NumPy's ``same_kind`` rule. May be ``x``
        itself (in place).
    temperature : float, default 1.0
        Computes ``softmax(x / temperature)``; a finite number > 0, else
        ValueError (TypeError for a non-number). The scaling is fused in the
        kernel as ``(x - max) * (1 / temperature)``: ``x / temperature`` is
        never formed, so a small temperature cannot overflow it. (Logits
        whose spread ``max - x`` itself overflows the dtype, beyond 3.4e38 in
        float32, give -inf there before any scaling, as without a
        temperature: for log_softmax and the losses with ``temperature > 1``
        that is -inf / inf where the exact result is finite.)
    where : array_like of bool, optional
        A boolean mask broadcastable to ``x``: only entries where it is True
        take part. Masked-out entries get exactly 0, and their values (NaN and
        infinities included) are ignored; a row with every entry masked out
        gives all zeros (no NaN). A non-boolean mask raises TypeError.

    Returns
    -------
    ndarray
        Same shape as ``x``; ``out`` when given.

    Notes
    -----
    A row holding +inf, a row of only -inf, and a row holding NaN give NaN
    across that row (as SciPy and PyTorch); other rows are unaffected. With
    ``where``, the same holds for the kept entries of a row alone, and the
    masked-out entries stay 0.

    Examples
    --------
    >>> import csoftmax
    >>> csoftmax.softmax([1.0, 3.0, 2.0])
    array([0.09003057, 0.66524096, 0.24472847])
    >>> csoftmax.softmax([1000.0, 3000.0, 2000.0])
    array([0., 1., 0.])
    >>> csoftmax.softmax([1.0, 3.0, 2.0], temperature=2.0)
    array([0.18632372, 0.50648039, 0.30719589])
    >>> csoftmax.softmax([[1.0, 3.0, 2.0], [0.0, 0.0, 5.0]], where=[True, False, True])
    array([[0.26894142, 0.        , 0.73105858],
           [0.00669285, 0.        , 0.99330715]])
    >>> csoftmax.softmax([1.0, 2.0], where=[False, False])
    array([0., 0.])
    """
    if ((type(temperature) is float or type(temperature) is int)
            and (where is None or type(where) is np.ndarray)):
        # the common cases, with or without out=, a temperature or a boolean
        # mask of x's shape or of one row: straight to the kernels
        inverse = 1.0 if temperature == 1 else _fast_inverse(temperature)
        y = _kernels.rowwise_fast(_kernels.FAST_SOFTMAX, x, axis, out, inverse, where)
        if y is not None:  # None: not handled
            return y
    if _is_dask(x):
        return _dask().softmax(x, axis=axis, out=out, temperature=temperature, where=where)
    return _rowwise(_kernels.softmax_2d, x, axis, out, temperature=temperature, where=where,
                    masked_kernel=_kernels.masked_softmax_2d)


def log_softmax(x, axis=-1, *, out=None, temperature=1.0, where=None):
    """Logarithm of the softmax along an axis, ``(x - max) - log(sum(exp(x - max)))``.

    The log of the sum is taken as ``log1p`` of the terms other than the
    maximum, so the largest entry keeps its exact small negative value where
    ``log(softmax(x))`` would round it to zero.

    Parameters
    ----------
    x : array_like
        Logits; the dtype policy is that of :func:`softmax`.
    axis : int, default -1
        The axis to normalise over.
    out : ndarray, optional
        As for :func:`softmax`.
    temperature : float, default 1.0
        Computes ``log_softmax(x / temperature)``, fused as in :func:`softmax`.
    where : array_like of bool, optional
        As for :func:`softmax`; masked-out entries get -inf, and a row with
        every entry masked out is all -inf.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import csoftmax
    >>> float(csoftmax.log_softmax([0.0, -40.0])[0])
    -4.248354255291589e-18
    >>> csoftmax.log_softmax([1.0, 3.0, 2.0])
    array([-2.40760596, -0.40760596, -1.40760596])
    >>> csoftmax.log_softmax([1.0, 3.0, 2.0], temperature=2.0, where=[True, True, False])
    array([-1.31326169, -0.31326169,        -inf])
    """
    if ((type(temperature) is float or type(temperature) is int)
            and (where is None or type(where) is np.ndarray)):
        # the common cases, with or without out=, a temperature or a boolean
        # mask of x's shape or of one row: straight to the kernels
        inverse = 1.0 if temperature == 1 else _fast_inverse(temperature)
        y = _kernels.rowwise_fast(_kernels.FAST_LOG_SOFTMAX, x, axis, out, inverse, where)
        if y is not None:  # None: not handled
            return y
    if _is_dask(x):
        return _dask().log_softmax(x, axis=axis, out=out, temperature=temperature,
                                   where=where)
    return _rowwise(_kernels.log_softmax_2d, x, axis, out, temperature=temperature,
                    where=where, masked_kernel=_kernels.masked_log_softmax_2d)


def logsumexp(x, axis=-1, *, keepdims=False, temperature=1.0, where=None):
    """``log(sum(exp(x)))`` along an axis, computed without overflow.

    Parameters
    ----------
    x : array_like
        Values; the dtype policy is that of :func:`softmax`.
    axis : int, default -1
        The axis to reduce.
    keepdims : bool, default False
        Keep the reduced axis with length one.
    temperature : float, default 1.0
        Computes ``logsumexp(x / temperature)`` (note: not multiplied back by
        ``temperature``), fused in the kernel as for :func:`softmax`. This
        goes beyond ``scipy.special.logsumexp``, which has no temperature.
    where : array_like of bool, optional
        A boolean mask broadcastable to ``x``: only entries where it is True
        are summed (their values, NaN and infinities included, are ignored);
        a row with every entry masked out gives -inf.

    Returns
    -------
    ndarray or NumPy scalar
        ``x``'s shape without ``axis``; for a 1-D ``x`` (without ``keepdims``)
        a NumPy scalar of the result dtype (``np.float64``, ``np.float32``,
        ...), as ``np.max`` and ``scipy.special.logsumexp`` return. An empty
        axis gives -inf; a row of -inf gives -inf, a row holding +inf gives
        +inf, a NaN gives NaN.

    Examples
    --------
    >>> import csoftmax
    >>> float(csoftmax.logsumexp([1000.0, 1000.0]))
    1000.6931471805599
    >>> csoftmax.logsumexp([[0.0, 0.0], [1.0, -1.0]], keepdims=True)
    array([[0.69314718],
           [1.12692801]])
    >>> float(csoftmax.logsumexp([2.0, 2.0], temperature=2.0))
    1.6931471805599454
    >>> csoftmax.logsumexp([[0.0, 0.0], [1.0, np.nan]], where=[True, False])
    array([0., 1.])
    """
    if (keepdims is False and (type(temperature) is float or type(temperature) is int)
            and (where is None or type(where) is np.ndarray)):
        # the common cases (softmax's): straight to the kernels
        inverse = 1.0 if temperature == 1 else _fast_inverse(temperature)
        y = _kernels.rowwise_fast(_kernels.FAST_LOGSUMEXP, x, axis, None, inverse, where)
        if y is not None:  # None: not handled
            return y if y.ndim else y[()]
    if _is_dask(x):
        return _dask().logsumexp(x, axis=axis, keepdims=keepdims, temperature=temperature,
                                 where=where)
    a = _as_array(x, "x")
    compute, result = _dtypes(a.dtype, "x")
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for a 0-d array; "
                                      "x must have at least one dimension")
    ax = _normalize_axis(axis, a.ndim)
    inverse_t = _inverse_temperature(temperature)
    compute = _widened(compute, inverse_t)
    mask = None
    if where is not None:
        mask = _mask_rows(where, a.shape, ax)
    if a.dtype != compute:
        a = a.astype(compute)
    lead = a.shape[:ax] + a.shape[ax + 1:]
    rows = int(np.prod(lead, dtype=np.int64))
    c = _cols(a, ax) if where is None and inverse_t == 1.0 else None
    if c is not None:
        # down the columns (src_c/columns.h): the result in a's memory order
        x3, order = c
        y = np.empty((x3.shape[0], x3.shape[2]), dtype=compute)
        _kernels.logsumexp_cols(x3, y)
        y = y.reshape(lead[::-1]).T if order == "F" else y.reshape(lead)
    else:
        y = np.empty(rows, dtype=compute)
    if rows and c is None:
        if a.shape[ax] == 0:
            y.fill(-np.inf)
        elif where is not None or inverse_t != 1.0:
            # temperature and mask fused in the masked kernels (src_c/masked.h)
            _kernels.masked_logsumexp_2d(_rows(a, ax), mask, inverse_t, y)
        else:
            _kernels.logsumexp_2d(_rows(a, ax), y)
    y = y.reshape(lead)
    if keepdims:
        y = np.expand_dims(y, ax)
    if result != compute:
        with np.errstate(over="ignore"):
            y = y.astype(result)
    return y if y.ndim else y[()]  # a vector's: a NumPy scalar, as NumPy's reductions


def set_num_threads(n: int) -> None:
    """Use at most ``n`` threads for large calls (``n <= 0``: OpenMP's default).

    A cap, not an override: OpenMP's own limit (``OMP_NUM_THREADS``, or a
    ``threadpoolctl.threadpool_limits`` block) still applies, and the smaller
    of the two is what :func:`get_num_threads` reports and a large call uses.
    """
    n = _index(n, "n")
    if n > _MAX_THREADS:
        raise ValueError(f"n={n} threads is more than csoftmax can use (at most {_MAX_THREADS})")
    _kernels.set_num_threads(max(n, 0))


def get_num_threads() -> int:
    """The number of threads a large call uses."""
    return _kernels.get_num_threads()


def config() -> dict:
    """The build and run-time configuration as a dict.

    ``"build"`` is what setup.py recorded when it built the extension (compiler,
    flags, per-ISA flags, Cython and NumPy versions), or None for a build that
    recorded nothing.
    """
    import copy
    try:
        from ._build_info import build_info
    except ImportError:
        build_info = None
    return {
        "version": __version__,
        "isa": _kernels.get_isa(),
        "isa_best": _kernels.best_isa(),
        "isa_available": list(_kernels.available_isas()),
        "threads": _kernels.get_num_threads(),
        "openmp": _kernels.openmp_enabled(),
        "forked_single_thread": _kernels.forked_single_thread(),
        "cpu_vendor": _kernels.cpu_vendor(),
        "scratch_rows": _kernels.scratch_rows(),
        "numpy": np.__version__,
        "build": copy.deepcopy(build_info),
    }


def show_config() -> None:
    """Print :func:`config` one key per line."""
    for key, value in config().items():
        print(f"{key:14s} {value}")
