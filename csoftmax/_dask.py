"""Dask support: the public functions on ``dask.array`` inputs, lazily.

Imported by csoftmax._api only when it is given a Dask collection, so Dask is
never imported otherwise. Every function here returns a lazy Dask array (or a
tuple of them); nothing is computed until the caller asks.

Two cases, by how the class axis (``axis``) is chunked:

* one chunk along ``axis``: each block holds whole rows, so the NumPy API
  (the C kernels) is mapped over the blocks with ``map_blocks`` and the result
  is bitwise what NumPy gives for the same rows;
* several chunks along ``axis``: a tree reduction combines per-chunk
  ``(max, rest)`` pairs, where ``rest = sum(exp(x - max)) - 1`` excludes the
  maximum's own term, so that ``log(sum) = log1p(rest)`` keeps its relative
  accuracy when one value dominates (``log_softmax([0, -40])[0]`` is
  ``-4.25e-18``, not 0, however the row is split). The pairs are combined in
  float64. softmax, log_softmax and the cross-entropy gradient are then
  computed blockwise from ``(x - max) - log1p(rest)`` (the exp by the
  kernels' own vectorised exp); they agree with the single-chunk result to a
  few ulps, not bitwise.

The training functions: the cross-entropy with every option and nll_loss map
the NumPy path's kernel calls (``_losses._xent_rows``, ``nll_2d``) over
blocks of whole rows, with the whole array's "mean" scale computed first
(the rows counted; with weights, the exact sum of the counted rows' weights
from per-class counts, correctly rounded); a loss with its gradient is one kernel call per block (a
pair split by two getter tasks). Weights, smoothing, a temperature,
probability targets and nll_loss refuse a split class axis
(NotImplementedError naming the rechunk). Reduced losses: each block summed
by loss_total, the blocks' sums by math.fsum. The backward passes map the
kernels over whole rows, or take the row sums in float64 across chunks.
sigmoid, log_sigmoid and binary cross-entropy are elementwise: any chunks
(``weight`` / ``pos_weight`` with their length-one axes left as one chunk,
which map_blocks broadcasts). A NumPy argument beside a Dask one takes the
Dask one's row chunks, its class axis whole. predict, one_hot and
mixture_softmax (whole components and classes per block) are lazy too;
sample and the calibration functions compute a Dask input.

Non-finite values follow the NumPy API: a NaN makes its row NaN, a row holding
+inf gives NaN (logsumexp +inf), a row of only -inf gives NaN (logsumexp -inf).

Validation happens when the graph is built wherever the metadata allows it
(dtype, dimensions, axis, shapes, ``reduction``); class targets out of range
can only be seen in the data, so the IndexError is raised at compute time, by
the task that holds the offending target, naming its position in the whole
target array.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import dask.array as da

from . import _api, _inference, _kernels, _losses

__all__ = ["softmax", "log_softmax", "logsumexp", "cross_entropy", "cross_entropy_with_grad",
           "nll_loss", "softmax_backward", "log_softmax_backward", "sigmoid", "log_sigmoid",
           "binary_cross_entropy", "binary_cross_entropy_with_grad", "predict", "one_hot",
           "mixture_softmax"]

_F64 = np.dtype(np.float64)
_STATS = np.dtype([("m", _F64), ("r", _F64)])     # per chunk: max, rest
_IGNORE = -100                                     # the default ignore_index
_ROW = np.dtype([("m", _F64), ("logs", _F64)])    # per row: max, log(sum(exp(x - max)))


# ---------------------------------------------------------------------------
# checks shared by every function


def _as_dask(x, name: str):
    if isinstance(x, da.Array):
        return x
    try:
        return da.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} cannot be converted to a Dask array: {exc}") from exc


def _check_no_out(out, function: str):
    if out is not None:
        raise TypeError(f"out= is not supported for Dask input to csoftmax.{function} "
                        f"(got out of type {type(out).__name__}); Dask arrays are immutable "
                        "and lazy: use the returned array, or da.store() it into a target")


def _prepare(x, axis, name="x"):
    """(dask array, normalised axis, compute dtype, result dtype)."""
    x = _as_dask(x, name)
    compute, result = _api._dtypes(x.dtype, name)
    if x.ndim == 0:
        raise np.exceptions.AxisError(f"axis={axis} is out of bounds for a 0-d array; "
                                      f"{name} must have at least one dimension")
    ax = _api._normalize_axis(axis, x.ndim)
    return x, ax, compute, result


def _meta(ndim: int, dtype) -> np.ndarray:
    return np.empty((0,) * ndim, dtype=dtype)


def _aligned(block):
    """The block itself, or an aligned copy: arrays deserialised by distributed
    can sit at any byte offset, and the C kernels need aligned elements."""
    block = np.asarray(block)
    return block if block.flags.aligned else block.copy()


def _whole_rows_block(block, function, **kwargs):
    return getattr(_api, function)(_aligned(block), **kwargs)


def _single_chunk(x, ax: int) -> bool:
    return len(x.chunks[ax]) == 1


# ---------------------------------------------------------------------------
# the (max, rest) reduction


def _combine_pairs(m, r, axis):
    """Combine (max, rest) pairs along `axis` (keepdims); float64 arrays.

    A pair stands for the values ``m + log(1 + r)`` summed in exp-space. The
    result keeps the largest max and the sum of the other terms, scaled to it,
    with the first maximal pair's own ``1`` left out of ``rest``.
    """
    with np.errstate(all="ignore"):
        top = np.max(m, axis=axis, keepdims=True)           # NaN propagates
        finite = np.isfinite(top)
        shift = np.where(finite, top, 0.0)
        weight = np.exp(m - shift)                          # 0 for m == -inf
        contrib = weight * (1.0 + r)
        contrib = np.where(np.isneginf(m), 0.0, contrib)
        first = np.argmax(m, axis=axis, keepdims=True)
        np.put_along_axis(contrib, first, np.take_along_axis(r, first, axis=axis), axis=axis)
        rest = np.sum(contrib, axis=axis, keepdims=True)
    rest = np.where(finite, rest, 0.0)
    return top, rest


def _stats_pack(m, r):
    out = np.empty(m.shape, dtype=_STATS)
    out["m"] = m
    out["r"] = r
    return out


def _stats_chunk(x, axis, keepdims=True, computing_meta=False, **kwargs):
    if computing_meta:
        return np.empty((0,) * x.ndim, dtype=_STATS)
    m = np.asarray(x, dtype=_F64)
    if m.shape[axis[0]] == 0:
        shape = list(m.shape)
        shape[axis[0]] = 1
        return _stats_pack(np.full(shape, -np.inf), np.zeros(shape))
    return _stats_pack(*_combine_pairs(m, np.zeros_like(m), axis[0]))


def _stats_combine(pairs, axis, keepdims=True, computing_meta=False, **kwargs):
    if computing_meta:
        return pairs
    return _stats_pack(*_combine_pairs(pairs["m"], pairs["r"], axis[0]))


def _stats_aggregate(pairs, axis, keepdims=True, computing_meta=False, **kwargs):
    if computing_meta:
        return pairs
    m, r = _combine_pairs(pairs["m"], pairs["r"], axis[0])
    out = np.empty(m.shape, dtype=_ROW)
    out["m"] = m
    out["logs"] = np.log1p(r)
    return out


def _row_stats(x, ax: int):
    """Lazy keepdims structured array of (m, logs) per row: the row max and
    log(sum(exp(x - m))) = log1p(rest), in float64."""
    return da.reduction(x, _stats_chunk, _stats_aggregate, combine=_stats_combine, axis=ax,
                        keepdims=True, dtype=_ROW, concatenate=True,
                        meta=np.empty((0,) * x.ndim, dtype=_ROW))


def _shifted(x, stats, dtype):
    """``(x - m) - log(s)`` in `dtype`; NaN rows where m is not finite."""
    m = stats["m"]
    m = np.where(np.isfinite(m), m, np.nan)
    with np.errstate(all="ignore"):
        t = np.asarray(x, dtype=dtype) - m.astype(dtype)
        t -= stats["logs"].astype(dtype)
    return t


def _exp_inplace(t):
    """exp of a float32/float64 array by the kernels' vectorised exp, in place."""
    t = np.require(t, requirements="CAW")
    flat = t.reshape(-1)
    if flat.size:
        _kernels.exp_1d(flat, flat)
    return t


def _probabilities(x, stats, compute):
    """softmax of one block from the row stats: ``exp(x - m) * exp(-log(s))``,
    the exp by the kernels (error ~ that of the exp plus one rounding)."""
    m = stats["m"]
    m = np.where(np.isfinite(m), m, np.nan)
    with np.errstate(all="ignore"):
        e = np.asarray(x, dtype=compute) - m.astype(compute)
        e = _exp_inplace(e)
        e *= np.exp(-stats["logs"]).astype(compute)
    return e


def _softmax_split_block(x, stats, compute, result):
    return _probabilities(x, stats, compute).astype(result, copy=False)


def _log_softmax_split_block(x, stats, compute, result):
    # float64 arithmetic (x - m is exact there for float32 data), rounded once
    return _shifted(x, stats, _F64).astype(compute).astype(result, copy=False)


# ---------------------------------------------------------------------------
# row-wise functions


def _check_no_where(where, function: str):
    if where is not None:
        raise NotImplementedError(
            f"where= is not supported for Dask input to csoftmax.{function}; with the class "
            f"axis in one chunk, map csoftmax.{function} over matching blocks of x and the "
            "mask (da.map_blocks), or compute on NumPy arrays")


def _tempered(x, temperature, compute):
    """(x, x for the split path, kwargs for the whole-row blocks, the split
    path's compute dtype): for temperature != 1 the blocks get temperature=
    (fused in the kernels, after the shift by the maximum) and the split path
    divides x by it lazily before the (max, rest) reduction, in float64 (x / T
    of float32 data overflows float32 once |x| / T passes 3.4e38, which
    (x - max) / T need not)."""
    inverse = _api._inverse_temperature(temperature)
    if inverse == 1.0:
        return x, x, {}, compute
    return x, x.astype(_F64) / float(temperature), {"temperature": temperature}, _F64


def _rowwise(x, axis, out, function: str, temperature=1.0, where=None):
    _check_no_out(out, function)
    _check_no_where(where, function)
    x, ax, compute, result = _prepare(x, axis)
    x, scaled, options, split_compute = _tempered(x, temperature, compute)
    if _single_chunk(x, ax):
        return x.map_blocks(_whole_rows_block, function=function, axis=ax, dtype=result,
                            meta=_meta(x.ndim, result), **options)
    x = scaled
    stats = _row_stats(x, ax)
    block = _softmax_split_block if function == "softmax" else _log_softmax_split_block
    return da.map_blocks(block, x, stats, compute=split_compute, result=result, dtype=result,
                         meta=_meta(x.ndim, result))


def softmax(x, axis=-1, out=None, temperature=1.0, where=None):
    """:func:`csoftmax.softmax` of a Dask array, as a lazy Dask array
    (``where=`` raises NotImplementedError)."""
    return _rowwise(x, axis, out, "softmax", temperature, where)


def log_softmax(x, axis=-1, out=None, temperature=1.0, where=None):
    """:func:`csoftmax.log_softmax` of a Dask array, as a lazy Dask array
    (``where=`` raises NotImplementedError)."""
    return _rowwise(x, axis, out, "log_softmax", temperature, where)


def _lse_block(stats, ax, compute, result, keepdims):
    m = stats["m"]
    with np.errstate(all="ignore"):  # a result beyond the dtype's range is inf, as in NumPy
        lse = np.where(np.isfinite(m), m + stats["logs"], m)
        lse = lse.astype(compute).astype(result, copy=False)
    return lse if keepdims else np.squeeze(lse, axis=ax)


def _lse_from_stats(stats, ax, compute, result, keepdims):
    ndim = stats.ndim if keepdims else stats.ndim - 1
    kwargs = {} if keepdims else {"drop_axis": ax}
    return stats.map_blocks(_lse_block, ax=ax, compute=compute, result=result,
                            keepdims=keepdims, dtype=result, meta=_meta(ndim, result), **kwargs)


def logsumexp(x, axis=-1, keepdims=False, temperature=1.0, where=None):
    """:func:`csoftmax.logsumexp` of a Dask array, as a lazy Dask array
    (``where=`` raises NotImplementedError)."""
    _check_no_where(where, "logsumexp")
    x, ax, compute, result = _prepare(x, axis)
    x, scaled, options, split_compute = _tempered(x, temperature, compute)
    keepdims = bool(keepdims)
    if _single_chunk(x, ax):
        chunks = list(x.chunks)
        if keepdims:
            chunks[ax] = (1,)
            kwargs = {"chunks": tuple(chunks)}
            ndim = x.ndim
        else:
            kwargs = {"drop_axis": ax}
            ndim = x.ndim - 1
        return x.map_blocks(_whole_rows_block, function="logsumexp", axis=ax,
                            keepdims=keepdims, dtype=result,
                            meta=_meta(ndim, result), **kwargs, **options)
    return _lse_from_stats(_row_stats(scaled, ax), ax, split_compute, result, keepdims)


# ---------------------------------------------------------------------------
# cross-entropy


def _first_bad(bad, block_info):
    """(position in the whole array, index in the block) of a block's first
    True entry of `bad`."""
    local = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), bad.shape)
    offset = [0] * bad.ndim
    if block_info is not None and 0 in block_info:
        offset = [lo for lo, _ in block_info[0]["array-location"]]
    return [int(p) + int(o) for p, o in zip(local, offset)], local


def _checked_targets(t, classes, ignore_index, block_info=None):
    """int64 targets of one block; IndexError naming the global position."""
    t = np.asarray(t)
    if t.size:
        bad = ((t < 0) | (t >= classes)) & (t != ignore_index)
        if bad.any():
            position, local = _first_bad(bad, block_info)
            raise IndexError(f"target{position} = {t[local]} is out of range for "
                             f"{classes} classes (expected 0 <= target < {classes}, or "
                             f"target == ignore_index = {ignore_index})")
    return np.require(t, dtype=np.int64, requirements="A")


def _ce_pick_block(x, t, ax, block_info=None):
    """x[target] for the targets that fall in this class chunk, else 0 (float64)."""
    lo = block_info[0]["array-location"][ax][0]
    a = np.asarray(x, dtype=_F64)
    local = np.asarray(t, dtype=np.int64) - lo
    inside = (local >= 0) & (local < a.shape[ax])
    picked = np.take_along_axis(a, np.where(inside, local, 0), axis=ax) if a.shape[ax] else \
        np.zeros(local.shape)
    return np.where(inside, picked, 0.0)


def _ce_split_loss_block(stats, picked, t, compute, ignore_index):
    m = stats["m"]
    with np.errstate(all="ignore"):
        loss = np.where(np.isfinite(m), (m - picked) + stats["logs"], np.nan)
    loss = np.where(np.asarray(t) == ignore_index, 0.0, loss)
    return loss.astype(compute)


def _ce_split_grad_block(x, stats, t, scale, ax, compute, ignore_index, block_info=None):
    """(softmax - onehot) * scale for one class chunk; at the target, p - 1 is
    taken as expm1(log p) so that it keeps its accuracy when p is near 1."""
    lo = block_info[0]["array-location"][ax][0]
    scale = float(np.asarray(scale))
    t = np.asarray(t)
    logp = _shifted(x, stats, _F64)
    g = _probabilities(x, stats, compute)
    classes = np.arange(lo, lo + g.shape[ax]).reshape([-1 if d == ax else 1 for d in range(g.ndim)])
    onehot = classes == np.asarray(t)
    with np.errstate(all="ignore"):
        np.copyto(g, np.expm1(logp), where=onehot, casting="same_kind")
        if scale != 1.0:
            g *= compute.type(scale)
    g[np.broadcast_to(t == ignore_index, g.shape)] = 0.0
    return g


def _ce_block(x, t, scale, *w, ax, compute, want, ignore_index, e, temp, probabilities):
    """One block of whole rows through the NumPy path's kernel call
    (_losses._xent_rows) with the whole array's gradient scale (0-d, known
    only at compute time, or a float): want "loss" (per-row losses, keepdims
    along ax), "grad", or "both" (the pair, from one pass: split by
    _first / _second). Class targets come with the class axis kept (length
    one), probabilities whole; `w`: the class weights (shaped to broadcast
    along ax), if any."""
    scale = float(np.asarray(scale))
    a = _aligned(x)
    if a.dtype != compute:
        a = a.astype(compute)
    lead = a.shape[:ax] + a.shape[ax + 1:]
    if probabilities:
        tt, ignored = _aligned(t), False
    else:
        tt = np.require(np.asarray(t, dtype=np.int64).reshape(-1), requirements="CA")
        ignored = bool(np.any(tt == ignore_index))
    weight = np.ascontiguousarray(np.asarray(w[0]).reshape(-1), dtype=compute) if w else None
    loss, grad = _losses._xent_rows(a, ax, tt, probabilities, ignored, weight, ignore_index, e,
                                    temp, scale, want != "loss")
    if want == "grad":
        return grad
    loss = np.expand_dims(loss.reshape(lead), ax)
    return loss if want == "loss" else (loss, grad)


def _first(pair):
    return pair[0]


def _second(pair):
    return pair[1]


def _class_counts(t, classes, ignore_index):
    """How many of a block's targets fall in each class (ignored ones not
    counted), along a new last axis."""
    t1 = np.asarray(t, dtype=np.int64).reshape(-1)
    counts = np.bincount(t1[t1 != ignore_index], minlength=classes)
    return counts.reshape((1,) * np.ndim(t) + (classes,))


def _weighted_count(counts, w):
    """sum_c counts[c] w[c] over the classes present (counts[c] > 0),
    correctly rounded: each weight as an exact integer times a power of two,
    the sum in Python integers (a non-finite weight present: the plain sum,
    inf or NaN as NumPy's). The weighted mean's denominator, sum of w[t] over
    the rows counted."""
    present = counts > 0
    n, v = counts[present], np.asarray(w, dtype=_F64)[present]
    if not np.isfinite(v).all():
        with np.errstate(invalid="ignore"):
            return np.float64((n * v).sum())
    mantissa, exponent = np.frexp(v)                  # v = mantissa 2**exponent
    digits = (mantissa * 2.0 ** 53).astype(np.int64)  # exact integers
    exponent = exponent - 53
    low = int(exponent.min()) if v.size else 0
    total = sum((int(k) * int(d)) << int(x - low) for k, d, x in zip(n, digits, exponent))
    return np.float64(float(Fraction(total) * Fraction(2) ** low))


def _block_total(loss):
    """A block's losses summed as the NumPy path sums them (loss_total), kept
    as a one-element block."""
    v = np.ascontiguousarray(np.asarray(loss).reshape(-1))
    total = _kernels.loss_total(v) if v.size else 0.0
    return np.full((1,) * np.ndim(loss), total, dtype=_F64)


def _fsum_block(partials):
    p = np.asarray(partials, dtype=_F64).reshape(-1)
    if np.isfinite(p).all():
        return np.float64(math.fsum(p.tolist()))
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, as NumPy's sums give it quietly
        return np.float64(p.sum())


def _total(partials):
    """The sum of a Dask array of per-block totals, correctly rounded
    (math.fsum in one task), as a 0-d Dask array."""
    flat = partials.reshape(-1).rechunk(-1)
    return flat.map_blocks(_fsum_block, drop_axis=0, chunks=(), dtype=_F64, meta=_meta(0, _F64))


def _loss_total(loss):
    """A Dask array of per-row losses summed: loss_total by blocks, then the
    blocks' totals correctly rounded."""
    return _total(loss.map_blocks(_block_total, chunks=tuple((1,) * len(c) for c in loss.chunks),
                                  dtype=_F64, meta=_meta(loss.ndim, _F64)))


def _argument(values, name):
    """A Dask argument as it is (ValueError if its chunks' sizes are unknown),
    anything else as an ndarray."""
    if not isinstance(values, da.Array):
        return _api._as_array(values, name)
    if any(np.isnan(n) for n in values.shape):
        raise ValueError(f"{name} has chunks of unknown size (shape {values.shape}): call "
                         f"{name}.compute_chunk_sizes() first")
    return values


def _with_class_axis(values, name, axis):
    """(the argument (_argument), compute dtype, result dtype, class axis,
    classes, the shape without the class axis), or the NumPy path's error."""
    xa = _argument(values, name)
    compute, result = _api._dtypes(xa.dtype, name)
    if xa.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (the class axis)")
    ax = _api._normalize_axis(axis, xa.ndim)
    return xa, compute, result, ax, xa.shape[ax], xa.shape[:ax] + xa.shape[ax + 1:]


def _class_weight(weight, classes, compute):
    """Per-class weights as a one-chunk Dask array of the compute dtype (None
    for None); a Dask weight stays lazy, checked by its metadata."""
    if weight is None:
        return None
    weight = _argument(weight, "weight")
    if not isinstance(weight, da.Array):
        return da.from_array(_losses._class_weight(weight, classes, compute), chunks=-1)
    _api._dtypes(weight.dtype, "weight")
    if weight.shape != (classes,):
        raise ValueError(f"weight has shape {weight.shape}, expected ({classes},) "
                         "(one weight per class)")
    return weight.astype(compute).rechunk(-1)


def _weight_along(w, ax, ndim):
    """Class weights shaped to broadcast along axis ax of ndim dimensions."""
    return w.reshape(tuple(-1 if d == ax else 1 for d in range(ndim)))


def _rows_like(values, name, lead_chunks, ax, classes):
    """A NumPy argument with rows as a Dask array: its rows chunked as
    lead_chunks (another argument's), its class axis whole."""
    a = _api._as_array(values, name)
    return da.from_array(a, chunks=lead_chunks[:ax] + ((classes,),) + lead_chunks[ax:])


def _check_class_targets(t, lead):
    """TypeError / ValueError for class targets whose dtype or shape is wrong."""
    if t.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {t.dtype}")
    if tuple(t.shape) != lead:
        raise ValueError(f"target has shape {tuple(t.shape)}, expected {lead} "
                         "(the logits' shape without the class axis)")


def _class_target_array(t, lead_chunks, classes, ignore_index):
    """Class targets (_check_class_targets done) as a Dask int64 array chunked
    as the logits' rows, their range checked at compute time."""
    if isinstance(t, da.Array):
        if t.chunks != lead_chunks:
            t = t.rechunk(lead_chunks)
    else:
        t = da.from_array(t, chunks=lead_chunks)
    return t.map_blocks(_checked_targets, classes, ignore_index, dtype=np.int64,
                        meta=_meta(t.ndim, np.int64))


def _class_denominator(t, w, classes, ignore_index):
    """The "mean"'s denominator of class-target losses: the rows not ignored,
    or (weights w) the sum of their targets' weights (_weighted_count of the
    class counts), as a 0-d Dask array."""
    if w is None:
        return (t != ignore_index).sum(dtype=np.int64)
    counts = t.map_blocks(_class_counts, classes=classes, ignore_index=ignore_index,
                          new_axis=t.ndim, dtype=np.int64,
                          chunks=tuple((1,) * len(c) for c in t.chunks) + ((classes,),),
                          meta=_meta(t.ndim + 1, np.int64))
    counts = counts.sum(axis=tuple(range(t.ndim)), dtype=np.int64)
    return da.map_blocks(_weighted_count, counts, w, drop_axis=0, chunks=(), dtype=_F64,
                         meta=_meta(0, _F64))


def _reduced(loss, reduction, denominator, result):
    """Per-row losses (a Dask array) reduced: as they are, their sum, or the
    sum over `denominator` (0 / 0: NaN)."""
    if reduction == "none":
        return loss.astype(result)
    total = _loss_total(loss)
    if reduction == "mean":
        total = da.map_blocks(_mean, total, denominator, dtype=_F64, meta=_meta(0, _F64))
    return total.astype(result)


def _cross_entropy(name, logits, target, axis, reduction, want_grad, weight, ignore_index,
                   label_smoothing, temperature):
    _losses._check_reduction(reduction)
    ignore_index = _losses._check_index(ignore_index, "ignore_index")
    e = _losses._check_smoothing(label_smoothing)
    temp = _losses._check_temperature(temperature)
    xa, compute, result, ax, classes, lead = _with_class_axis(logits, "logits", axis)
    compute = _api._widened(compute, 1.0 / temp)
    rows = int(np.prod(lead, dtype=np.int64))
    t = _argument(target, "target")
    probabilities = t.dtype.kind == "f"
    if probabilities:
        _api._dtypes(t.dtype, "target")
        if tuple(t.shape) != tuple(xa.shape):
            raise ValueError(f"target has shape {tuple(t.shape)}; probability targets (a "
                             f"floating array) must have the logits' shape {tuple(xa.shape)}")
        if ignore_index != _IGNORE:
            raise ValueError(f"ignore_index={ignore_index} is not supported with probability "
                             "(floating point) targets")
    else:
        _check_class_targets(t, lead)
    if isinstance(xa, da.Array):
        x = xa
    elif isinstance(t, da.Array):  # NumPy logits: rows chunked as the Dask targets'
        t_lead = t.chunks[:ax] + t.chunks[ax + 1:] if probabilities else t.chunks
        x = _rows_like(xa, "logits", t_lead, ax, classes)
    else:  # only the weight is a Dask array
        x = da.from_array(xa, chunks={ax: -1})
    w = _class_weight(weight, classes, compute)
    if rows and classes == 0:
        raise ValueError("logits have an empty class axis")
    options = [option for option, used in (
        ("weight", w is not None), ("label_smoothing", e != 0.0),
        ("temperature", temp != 1.0), ("probability targets", probabilities)) if used]
    if options and not _single_chunk(x, ax):
        raise NotImplementedError(
            f"csoftmax.{name} of Dask logits with {', '.join(options)} needs the class axis "
            f"(axis {ax}) in one chunk, got chunks {x.chunks[ax]}: rechunk it first, e.g. "
            f"logits.rechunk({{{ax}: -1}})")

    if probabilities:
        t = da.asarray(t)
        if t.chunks != x.chunks:
            t = t.rechunk(x.chunks)
        t_kept = t
        denominator = da.full((), float(rows), dtype=_F64)
    else:
        t = _class_target_array(t, x.chunks[:ax] + x.chunks[ax + 1:], classes, ignore_index)
        t_kept = da.expand_dims(t, ax)  # the class axis of length one: broadcasts over blocks
        denominator = _class_denominator(t, w, classes, ignore_index)
    scale = 1.0  # the gradient's: the mean's inverse denominator, known at compute time
    if reduction == "mean" and want_grad:
        scale = da.map_blocks(_inverse, denominator, dtype=_F64, meta=_meta(0, _F64))

    grad = None
    if _single_chunk(x, ax):
        args = (x, t_kept, scale) + (() if w is None else (_weight_along(w, ax, x.ndim),))
        block = dict(ax=ax, compute=compute, ignore_index=ignore_index, e=e, temp=temp,
                     probabilities=probabilities, meta=_meta(x.ndim, compute))
        loss_chunks = list(x.chunks)
        loss_chunks[ax] = (1,)
        if want_grad:  # one pass per block: the pair, then its two halves
            pair = da.map_blocks(_ce_block, *args, want="both", dtype=compute, **block)
            loss = pair.map_blocks(_first, chunks=tuple(loss_chunks), dtype=compute,
                                   meta=_meta(x.ndim, compute))
            grad = pair.map_blocks(_second, dtype=compute, meta=_meta(x.ndim, compute))
        else:
            loss = da.map_blocks(_ce_block, *args, want="loss", dtype=compute,
                                 chunks=tuple(loss_chunks), **block)
    else:
        stats = _row_stats(x, ax)
        pick_chunks = list(x.chunks)
        pick_chunks[ax] = (1,) * len(x.chunks[ax])
        picked = da.map_blocks(_ce_pick_block, x, t_kept, ax=ax, dtype=_F64,
                               chunks=tuple(pick_chunks), meta=_meta(x.ndim, _F64))
        picked = picked.sum(axis=ax, keepdims=True, dtype=_F64)
        loss = da.map_blocks(_ce_split_loss_block, stats, picked, t_kept, compute=compute,
                             ignore_index=ignore_index, dtype=compute,
                             meta=_meta(x.ndim, compute))
        if want_grad:
            grad = da.map_blocks(_ce_split_grad_block, x, stats, t_kept, scale, ax=ax,
                                 compute=compute, ignore_index=ignore_index, dtype=compute,
                                 meta=_meta(x.ndim, compute))

    value = _reduced(da.squeeze(loss, axis=ax), reduction, denominator, result)
    if not want_grad:
        return value
    return value, grad.astype(result)


def _inverse(count):
    count = float(np.asarray(count))
    return np.asarray(1.0 / count if count else np.inf, dtype=_F64)


def _mean(total, count):
    with np.errstate(divide="ignore", invalid="ignore"):  # all ignored: 0 / 0 -> NaN
        return np.float64(total) / np.float64(count)  # a scalar, as NumPy's reductions give


def cross_entropy(logits, target, axis=-1, weight=None, ignore_index=-100, label_smoothing=0.0,
                  reduction="mean", temperature=1.0):
    """:func:`csoftmax.cross_entropy` with Dask logits and/or targets, lazily.

    Every option of the NumPy function; weights, label smoothing, a
    temperature and probability targets need the class axis in one chunk
    (NotImplementedError otherwise). With ``reduction="mean"`` or ``"sum"``
    the result is a 0-d Dask array; class targets out of range raise
    IndexError at compute time.
    """
    return _cross_entropy("cross_entropy", logits, target, axis, reduction, False, weight,
                          ignore_index, label_smoothing, temperature)


def cross_entropy_with_grad(logits, target, axis=-1, weight=None, ignore_index=-100,
                            label_smoothing=0.0, reduction="mean", temperature=1.0):
    """:func:`csoftmax.cross_entropy_with_grad` with Dask inputs: ``(loss, grad)``,
    both lazy Dask arrays."""
    return _cross_entropy("cross_entropy_with_grad", logits, target, axis, reduction, True,
                          weight, ignore_index, label_smoothing, temperature)


# ---------------------------------------------------------------------------
# nll_loss


def _nll_block(x, t, *w, ax, compute, ignore_index):
    """Per-row losses (keepdims along ax) of one block of whole rows, by the
    NumPy path's kernel (nll_2d)."""
    a = _aligned(x)
    if a.dtype != compute:
        a = a.astype(compute)
    lead = a.shape[:ax] + a.shape[ax + 1:]
    t1 = np.require(np.asarray(t, dtype=np.int64).reshape(-1), requirements="CA")
    weight = np.ascontiguousarray(np.asarray(w[0]).reshape(-1), dtype=compute) if w else None
    loss = np.empty(t1.size, dtype=compute)
    if t1.size:
        _kernels.nll_2d(_api._rows(a, ax), t1, weight, ignore_index, loss)
    return np.expand_dims(loss.reshape(lead), ax)


def nll_loss(log_probs, target, axis=-1, weight=None, ignore_index=-100, reduction="mean"):
    """:func:`csoftmax.nll_loss` with Dask log-probabilities, targets and/or
    weight, lazily; the class axis must be one chunk (NotImplementedError
    otherwise)."""
    _losses._check_reduction(reduction)
    ignore_index = _losses._check_index(ignore_index, "ignore_index")
    xa, compute, result, ax, classes, lead = _with_class_axis(log_probs, "log_probs", axis)
    t = _argument(target, "target")
    _check_class_targets(t, lead)
    if isinstance(xa, da.Array):
        x = xa
    elif isinstance(t, da.Array):
        x = _rows_like(xa, "log_probs", t.chunks, ax, classes)
    else:
        x = da.from_array(xa, chunks={ax: -1})
    t = _class_target_array(t, x.chunks[:ax] + x.chunks[ax + 1:], classes, ignore_index)
    w = _class_weight(weight, classes, compute)
    if not _single_chunk(x, ax):
        raise NotImplementedError(
            f"csoftmax.nll_loss of Dask log_probs needs the class axis (axis {ax}) in one "
            f"chunk, got chunks {x.chunks[ax]}: rechunk it first, e.g. "
            f"log_probs.rechunk({{{ax}: -1}})")
    if classes == 0 and 0 not in lead:
        raise ValueError("log_probs have an empty class axis")
    loss_chunks = list(x.chunks)
    loss_chunks[ax] = (1,)
    args = (x, da.expand_dims(t, ax)) + (() if w is None else (_weight_along(w, ax, x.ndim),))
    loss = da.map_blocks(_nll_block, *args, ax=ax, compute=compute, ignore_index=ignore_index,
                         dtype=compute, chunks=tuple(loss_chunks), meta=_meta(x.ndim, compute))
    denominator = _class_denominator(t, w, classes, ignore_index) if reduction == "mean" else None
    return _reduced(da.squeeze(loss, axis=ax), reduction, denominator, result)


# ---------------------------------------------------------------------------
# backward passes


def _backward_block(g, y, function, ax):
    return getattr(_losses, function)(_aligned(g), _aligned(y), axis=ax)


def _pair(a, a_name, b, b_name):
    """Two same-shaped arguments as Dask arrays in the chunks of the first Dask
    one (a NumPy one takes them; neither: the first's automatic chunks)."""
    a, b = _argument(a, a_name), _argument(b, b_name)
    if not isinstance(a, da.Array) and not isinstance(b, da.Array):  # a Dask weight alone
        a = da.from_array(a)
    like = a if isinstance(a, da.Array) else b
    if a.shape == b.shape:
        a = a if isinstance(a, da.Array) else da.from_array(a, chunks=like.chunks)
        b = b if isinstance(b, da.Array) else da.from_array(b, chunks=like.chunks)
        if b.chunks != a.chunks:
            b = b.rechunk(a.chunks)
    return a, b


def _backward(function, grad_output, output, axis):
    g, y = _pair(grad_output, "grad_output", output, "output")
    result, ax = _losses._backward_checks(g, y, axis)[1:]
    if _single_chunk(g, ax):  # whole rows: the kernels, as for NumPy input
        return da.map_blocks(_backward_block, g, y, function=function, ax=ax, dtype=result,
                             meta=_meta(g.ndim, result))
    # the class axis split: the row sums combined across chunks, in float64
    g64, y64 = g.astype(_F64), y.astype(_F64)
    if function == "softmax_backward":
        out = y64 * (g64 - (g64 * y64).sum(axis=ax, keepdims=True))
    else:
        out = g64 - da.exp(y64) * g64.sum(axis=ax, keepdims=True)
    return out.astype(result)


def softmax_backward(grad_output, output, axis=-1, out=None):
    """:func:`csoftmax.softmax_backward` of Dask arrays, lazily (a split class
    axis: the row sums combined across chunks in float64)."""
    _check_no_out(out, "softmax_backward")
    return _backward("softmax_backward", grad_output, output, axis)


def log_softmax_backward(grad_output, output, axis=-1, out=None):
    """:func:`csoftmax.log_softmax_backward` of Dask arrays, lazily."""
    _check_no_out(out, "log_softmax_backward")
    return _backward("log_softmax_backward", grad_output, output, axis)


# ---------------------------------------------------------------------------
# sigmoid family and binary cross-entropy: elementwise, any chunks


def _elementwise_block(block, function):
    return np.asarray(getattr(_losses, function)(_aligned(block)))


def _elementwise(function, x, out):
    _check_no_out(out, function)
    x = _as_dask(x, "x")
    result = _api._dtypes(x.dtype, "x")[1]
    return x.map_blocks(_elementwise_block, function=function, dtype=result,
                        meta=_meta(x.ndim, result))


def sigmoid(x, out=None):
    """:func:`csoftmax.sigmoid` of a Dask array, as a lazy Dask array."""
    return _elementwise("sigmoid", x, out)


def log_sigmoid(x, out=None):
    """:func:`csoftmax.log_sigmoid` of a Dask array, as a lazy Dask array."""
    return _elementwise("log_sigmoid", x, out)


def _bce_block(x, t, *wp, scale, compute, want, elementwise, has_w, has_p):
    """One block through the NumPy path's kernel call (_losses._bce_arrays):
    want "loss" (elementwise losses, or the block's total as a one-element
    block), "grad", or "both" (the pair, from one pass). `wp`: the weight
    and / or pos_weight blocks present (has_w, has_p), shaped to broadcast."""
    a = _aligned(x)
    if a.dtype != compute:
        a = a.astype(compute)
    wp = list(wp)
    w = np.asarray(wp.pop(0)) if has_w else None
    p = np.asarray(wp.pop(0)) if has_p else None
    loss, grad = _losses._bce_arrays(a, np.asarray(t), w, p, scale, elementwise, want != "loss")
    if want == "grad":
        return grad
    if not elementwise:
        total = _kernels.loss_total(loss) if loss.size else 0.0
        loss = np.full((1,) * a.ndim, total, dtype=_F64)
    return loss if want == "loss" else (loss, grad)


def _broadcast_dask(values, name, x, compute):
    """`values` (array-like or Dask) broadcastable to x's shape, as a Dask
    array of x's dimensions whose length-one axes stay one chunk (map_blocks
    broadcasts them: a per-class weight is not copied to the logits' size)."""
    v = _argument(values, name)
    _api._dtypes(v.dtype, name)
    try:
        shape = np.broadcast_shapes(v.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"{name} with shape {v.shape} cannot be broadcast to the logits' "
                         f"shape {x.shape}")
    v = da.asarray(v).astype(compute).reshape((1,) * (x.ndim - v.ndim) + tuple(v.shape))
    return v.rechunk(tuple((1,) if n == 1 else c for n, c in zip(v.shape, x.chunks)))


def _bce(logits, target, weight, pos_weight, reduction, want_grad):
    _losses._check_reduction(reduction)
    x, t = _pair(logits, "logits", target, "target")
    compute, result = _api._dtypes(x.dtype, "logits")
    _api._dtypes(t.dtype, "target")
    if t.shape != x.shape:
        raise ValueError(f"target has shape {t.shape}, expected the logits' shape {x.shape}")
    weights = [_broadcast_dask(v, name, x, compute)
               for v, name in ((weight, "weight"), (pos_weight, "pos_weight")) if v is not None]
    n = x.size
    scale = 1.0 / n if (reduction == "mean" and n) else 1.0
    elementwise = reduction == "none"
    common = dict(scale=scale, compute=compute, elementwise=elementwise,
                  has_w=weight is not None, has_p=pos_weight is not None)
    loss_chunks = x.chunks if elementwise else tuple((1,) * len(c) for c in x.chunks)
    loss_dtype = compute if elementwise else _F64
    if want_grad:  # one pass per block: the pair, then its two halves
        pair = da.map_blocks(_bce_block, x, t, *weights, want="both", dtype=compute,
                             meta=_meta(x.ndim, compute), **common)
        loss = pair.map_blocks(_first, chunks=loss_chunks, dtype=loss_dtype,
                               meta=_meta(x.ndim, loss_dtype))
        grad = pair.map_blocks(_second, dtype=compute, meta=_meta(x.ndim, compute))
    else:
        loss = da.map_blocks(_bce_block, x, t, *weights, want="loss", chunks=loss_chunks,
                             dtype=loss_dtype, meta=_meta(x.ndim, loss_dtype), **common)
    if elementwise:
        value = loss.astype(result)
    else:
        total = _total(loss)
        if reduction == "mean":
            total = total / n if n else da.full((), np.nan, dtype=_F64)
        value = total.astype(result)
    if not want_grad:
        return value
    return value, grad.astype(result)


def binary_cross_entropy(logits, target, weight=None, pos_weight=None, reduction="mean"):
    """:func:`csoftmax.binary_cross_entropy` of Dask arrays, lazily (any chunks;
    ``weight`` and ``pos_weight`` broadcast to the logits' chunks)."""
    return _bce(logits, target, weight, pos_weight, reduction, False)


def binary_cross_entropy_with_grad(logits, target, weight=None, pos_weight=None,
                                   reduction="mean"):
    """:func:`csoftmax.binary_cross_entropy_with_grad` of Dask arrays: ``(loss,
    grad)``, both lazy."""
    return _bce(logits, target, weight, pos_weight, reduction, True)


# ---------------------------------------------------------------------------
# predict and one_hot


def predict(x, axis=-1):
    """:func:`csoftmax.predict` of a Dask array, as a lazy int64 Dask array:
    csoftmax.predict on each block when the class axis is one chunk, else
    Dask's argmax, which keeps NumPy's first-maximum and NaN-first rules."""
    x = _as_dask(x, "x")
    ax = _inference._predict_axis(x, axis)
    if len(x.chunks[ax]) == 1:
        return x.map_blocks(_predict_block, axis=ax, drop_axis=ax, dtype=np.int64)
    return da.argmax(x, axis=ax).astype(np.int64)


def _predict_block(block, axis):
    return np.asarray(_inference.predict(block, axis=axis))


def _one_hot_block(t, classes, dtype, block_info=None):
    """One block's one-hot rows; IndexError naming a bad label's position in
    the whole array."""
    t = np.asarray(t)
    bad = (t < 0) | (t >= classes)
    if bad.any():
        position, local = _first_bad(bad, block_info)
        raise _inference._label_error(position, t[local], classes)
    return _inference.one_hot(t, classes, dtype)


def one_hot(labels, classes, dtype):
    """:func:`csoftmax.one_hot` of Dask labels (checked by the caller's
    arguments: `classes` >= 1, `dtype` valid), lazily: the class axis is a
    new last axis in one chunk; labels out of range raise IndexError at
    compute time, naming their position."""
    t = _as_dask(labels, "labels")
    if t.dtype.kind not in "iu":
        raise TypeError(f"labels must hold integer class indices, got dtype {t.dtype}")
    return t.map_blocks(_one_hot_block, classes, dtype, dtype=dtype, new_axis=t.ndim,
                        chunks=t.chunks + ((classes,),), meta=_meta(t.ndim + 1, dtype))


# ---------------------------------------------------------------------------
# mixture_softmax


def _mixture_block(x, w, ax):
    return _inference.mixture_softmax(_aligned(x), np.squeeze(np.asarray(w), axis=ax), axis=ax)


def mixture_softmax(logits, mix_logits, axis=-1):
    """:func:`csoftmax.mixture_softmax` with Dask logits and/or mix_logits,
    lazily: blocks holding whole components and classes (NotImplementedError
    otherwise), the batch axes chunked as the Dask argument's."""
    a, w = _argument(logits, "logits"), _argument(mix_logits, "mix_logits")
    ax, k_ax, compute, result = _inference._mixture_checks(a, w, axis)
    if not isinstance(a, da.Array):  # NumPy logits beside Dask mix_logits: their batch chunks
        lead_w = (1,) * (a.ndim - 1 - w.ndim) + tuple(w.shape)
        w_chunks = ((),) * (a.ndim - 1 - w.ndim) + tuple(w.chunks)
        lead_chunks = tuple(c if n > 1 else (m,) for n, c, m in
                            zip(lead_w, w_chunks, a.shape[:ax] + a.shape[ax + 1:]))
        chunks = list(lead_chunks[:ax] + ((a.shape[ax],),) + lead_chunks[ax:])
        chunks[k_ax] = (a.shape[k_ax],)
        a = da.from_array(a, chunks=tuple(chunks))
    for d, what in ((ax, "class"), (k_ax, "component")):
        if not _single_chunk(a, d):
            raise NotImplementedError(
                f"csoftmax.mixture_softmax of Dask logits needs the {what} axis (axis {d}) in "
                f"one chunk, got chunks {a.chunks[d]}: rechunk it first, e.g. "
                f"logits.rechunk({{{ax}: -1, {k_ax}: -1}})")
    # the mixture weights with the logits' dimensions (the class axis of length
    # one), their length-one axes one chunk: map_blocks broadcasts them
    wd = da.asarray(w).reshape((1,) * (a.ndim - 1 - w.ndim) + tuple(w.shape))
    wd = da.expand_dims(wd, ax)
    wd = wd.rechunk(tuple((1,) if n == 1 else c for n, c in zip(wd.shape, a.chunks)))
    return da.map_blocks(_mixture_block, a, wd, ax=ax, drop_axis=k_ax, dtype=result,
                         meta=_meta(a.ndim - 1, result))
