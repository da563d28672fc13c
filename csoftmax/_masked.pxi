# Included at the end of _kernels.pyx: the Cython boundary of the masked /
# tempered kernels (src_c/masked.h). Same rules as the rest of the module: 2-D
# arrays with contiguous rows (any row stride), preallocated outputs, one C
# call with the GIL released, no loops. The mask is uint8 (a bool array viewed
# as uint8) with contiguous columns and its own row stride, which may be 0 (a
# mask broadcast along the rows): a strided memoryview, since Cython's
# `[:, ::1]` asks for a wholly C-contiguous buffer and would refuse stride 0.
# None keeps every entry.
from libc.stdint cimport uint8_t

cdef extern from "masked.h" nogil:
    int csoftmax_masked_softmax_f32(const float *x, int64_t xs, const uint8_t *mask,
                                    int64_t ms, double inv_temperature,
                                    float *y, int64_t ys, int64_t rows, int64_t cols)
    int csoftmax_masked_softmax_f64(const double *x, int64_t xs, const uint8_t *mask,
                                    int64_t ms, double inv_temperature,
                                    double *y, int64_t ys, int64_t rows, int64_t cols)
    int csoftmax_masked_log_softmax_f32(const float *x, int64_t xs, const uint8_t *mask,
                                        int64_t ms, double inv_temperature,
                                        float *y, int64_t ys, int64_t rows, int64_t cols)
    int csoftmax_masked_log_softmax_f64(const double *x, int64_t xs, const uint8_t *mask,
                                        int64_t ms, double inv_temperature,
                                        double *y, int64_t ys, int64_t rows, int64_t cols)
    int csoftmax_masked_logsumexp_f32(const float *x, int64_t xs, const uint8_t *mask,
                                      int64_t ms, double inv_temperature,
                                      float *out, int64_t rows, int64_t cols)
    int csoftmax_masked_logsumexp_f64(const double *x, int64_t xs, const uint8_t *mask,
                                      int64_t ms, double inv_temperature,
                                      double *out, int64_t rows, int64_t cols)


cdef int _mask_args(const uint8_t[:, :] mask, int64_t rows, int64_t cols,
                    const uint8_t **mp, int64_t *ms) except -1:
    """The mask's data pointer and row stride (NULL, 0 for None), after
    checking its shape against the rows it covers."""
    if mask is None:
        mp[0] = NULL
        ms[0] = 0
        return 0
    if mask.shape[0] != rows or mask.shape[1] != cols:
        raise ValueError(f"mask has shape {(mask.shape[0], mask.shape[1])}, "
                         f"expected {(rows, cols)}")
    if cols > 1 and mask.strides[1] != 1:
        raise ValueError(f"mask columns must be contiguous (column stride 1), "
                         f"got stride {mask.strides[1]}")
    mp[0] = &mask[0, 0]
    ms[0] = mask.strides[0]
    return 0


def masked_softmax_2d(const floating[:, ::1] x not None, const uint8_t[:, :] mask,
                      double inv_temperature, floating[:, ::1] out not None):
    """softmax((x - m) * inv_temperature) over the entries `mask` keeps
    (None: all), 0 elsewhere, into `out`."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs, ys, ms = 0
    cdef const uint8_t *mp = NULL
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    if out.shape[0] != rows or out.shape[1] != cols:
        raise ValueError(f"out has shape {(out.shape[0], out.shape[1])}, expected {(rows, cols)}")
    _mask_args(mask, rows, cols, &mp, &ms)
    xs = x.strides[0] // sizeof(floating)
    ys = out.strides[0] // sizeof(floating)
    with nogil:
        if floating is float:
            status = csoftmax_masked_softmax_f32(&x[0, 0], xs, mp, ms, inv_temperature,
                                                 &out[0, 0], ys, rows, cols)
        else:
            status = csoftmax_masked_softmax_f64(&x[0, 0], xs, mp, ms, inv_temperature,
                                                 &out[0, 0], ys, rows, cols)
    _check(status)


def masked_log_softmax_2d(const floating[:, ::1] x not None, const uint8_t[:, :] mask,
                          double inv_temperature, floating[:, ::1] out not None):
    """log_softmax((x - m) * inv_temperature) over the entries `mask` keeps,
    -inf elsewhere, into `out`."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs, ys, ms = 0
    cdef const uint8_t *mp = NULL
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    if out.shape[0] != rows or out.shape[1] != cols:
        raise ValueError(f"out has shape {(out.shape[0], out.shape[1])}, expected {(rows, cols)}")
    _mask_args(mask, rows, cols, &mp, &ms)
    xs = x.strides[0] // sizeof(floating)
    ys = out.strides[0] // sizeof(floating)
    with nogil:
        if floating is float:
            status = csoftmax_masked_log_softmax_f32(&x[0, 0], xs, mp, ms, inv_temperature,
                                                     &out[0, 0], ys, rows, cols)
        else:
            status = csoftmax_masked_log_softmax_f64(&x[0, 0], xs, mp, ms, inv_temperature,
                                                     &out[0, 0], ys, rows, cols)
    _check(status)


def masked_logsumexp_2d(const floating[:, ::1] x not None, const uint8_t[:, :] mask,
                        double inv_temperature, floating[::1] out not None):
    """logsumexp(x * inv_temperature) over the entries `mask` keeps, per row,
    into `out` (-inf for a row with no kept entry)."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = 0, ms = 0
    cdef const uint8_t *mp = NULL
    cdef const floating *xp = NULL
    cdef int status = 0
    if rows == 0:
        return
    if out.shape[0] != rows:
        raise ValueError(f"out has {out.shape[0]} elements, expected {rows}")
    if cols > 0:
        _mask_args(mask, rows, cols, &mp, &ms)
        xp = &x[0, 0]
        xs = x.strides[0] // sizeof(floating)
    with nogil:
        if floating is float:
            status = csoftmax_masked_logsumexp_f32(xp, xs, mp, ms, inv_temperature,
                                                   &out[0], rows, cols)
        else:
            status = csoftmax_masked_logsumexp_f64(xp, xs, mp, ms, inv_temperature,
                                                   &out[0], rows, cols)
    _check(status)
