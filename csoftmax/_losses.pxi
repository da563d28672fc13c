# Included at the end of _kernels.pyx: the Cython boundary of the loss kernels
# (src_c/losses.h). Same rules as the rest of the module: 2-D arrays with
# contiguous rows (any row stride), preallocated outputs, one C call with the
# GIL released, no loops. Optional arrays are None -> NULL.

cdef extern from "losses.h" nogil:
    int csoftmax_xent_class_f32(const float *x, int64_t xs, const int64_t *target,
                                const float *weight, int64_t ignore_index,
                                double label_smoothing, double inv_temperature,
                                float *loss, float *grad, int64_t gs,
                                int64_t rows, int64_t cols, double grad_scale)
    int csoftmax_xent_class_f64(const double *x, int64_t xs, const int64_t *target,
                                const double *weight, int64_t ignore_index,
                                double label_smoothing, double inv_temperature,
                                double *loss, double *grad, int64_t gs,
                                int64_t rows, int64_t cols, double grad_scale)
    int csoftmax_xent_prob_f32(const float *x, int64_t xs, const float *target, int64_t ts,
                               const float *weight, double label_smoothing,
                               double inv_temperature, float *loss, float *grad, int64_t gs,
                               int64_t rows, int64_t cols, double grad_scale)
    int csoftmax_xent_prob_f64(const double *x, int64_t xs, const double *target, int64_t ts,
                               const double *weight, double label_smoothing,
                               double inv_temperature, double *loss, double *grad, int64_t gs,
                               int64_t rows, int64_t cols, double grad_scale)
    int csoftmax_nll_f32(const float *lp, int64_t ls, const int64_t *target,
                         const float *weight, int64_t ignore_index, float *loss,
                         int64_t rows, int64_t cols)
    int csoftmax_nll_f64(const double *lp, int64_t ls, const int64_t *target,
                         const double *weight, int64_t ignore_index, double *loss,
                         int64_t rows, int64_t cols)
    int csoftmax_softmax_backward_f32(const float *g, int64_t gs, const float *y, int64_t ys,
                                      float *out, int64_t os, int64_t rows, int64_t cols)
    int csoftmax_softmax_backward_f64(const double *g, int64_t gs, const double *y, int64_t ys,
                                      double *out, int64_t os, int64_t rows, int64_t cols)
    int csoftmax_log_softmax_backward_f32(const float *g, int64_t gs, const float *y,
                                          int64_t ys, float *out, int64_t os,
                                          int64_t rows, int64_t cols)
    int csoftmax_log_softmax_backward_f64(const double *g, int64_t gs, const double *y,
                                          int64_t ys, double *out, int64_t os,
                                          int64_t rows, int64_t cols)
    int csoftmax_sigmoid_f32(const float *x, int64_t xs, float *y, int64_t ys,
                             int64_t rows, int64_t cols)
    int csoftmax_sigmoid_f64(const double *x, int64_t xs, double *y, int64_t ys,
                             int64_t rows, int64_t cols)
    int csoftmax_log_sigmoid_f32(const float *x, int64_t xs, float *y, int64_t ys,
                                 int64_t rows, int64_t cols)
    int csoftmax_log_sigmoid_f64(const double *x, int64_t xs, double *y, int64_t ys,
                                 int64_t rows, int64_t cols)
    int csoftmax_bce_f32(const float *x, int64_t xs, const float *target, int64_t ts,
                         const float *weight, int64_t ws, int64_t w_step,
                         const float *pos_weight, int64_t ps, int64_t p_step,
                         float *loss, int64_t ls, double *row_loss,
                         float *grad, int64_t gs, int64_t rows, int64_t cols, double grad_scale)
    int csoftmax_bce_f64(const double *x, int64_t xs, const double *target, int64_t ts,
                         const double *weight, int64_t ws, int64_t w_step,
                         const double *pos_weight, int64_t ps, int64_t p_step,
                         double *loss, int64_t ls, double *row_loss,
                         double *grad, int64_t gs, int64_t rows, int64_t cols, double grad_scale)


def xent_class_2d(const floating[:, ::1] x not None, const int64_t[::1] target not None,
                  const floating[::1] weight, int64_t ignore_index, double label_smoothing,
                  double inv_temperature, floating[::1] loss not None, floating[:, ::1] grad,
                  double grad_scale):
    """Cross-entropy of class targets: per-row loss, gradient unless grad is None."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating)
    cdef int64_t gs = 0
    cdef floating *gp = NULL
    cdef const floating *wp = NULL
    cdef int status = 0
    if rows == 0:
        return
    if weight is not None:
        wp = &weight[0]
    if grad is not None:
        gs = grad.strides[0] // sizeof(floating)
        gp = &grad[0, 0]
    with nogil:
        if floating is float:
            status = csoftmax_xent_class_f32(&x[0, 0], xs, &target[0], wp, ignore_index,
                                             label_smoothing, inv_temperature, &loss[0], gp, gs,
                                             rows, cols, grad_scale)
        else:
            status = csoftmax_xent_class_f64(&x[0, 0], xs, &target[0], wp, ignore_index,
                                             label_smoothing, inv_temperature, &loss[0], gp, gs,
                                             rows, cols, grad_scale)
    _check(status)


def xent_prob_2d(const floating[:, ::1] x not None, const floating[:, ::1] target not None,
                 const floating[::1] weight, double label_smoothing, double inv_temperature,
                 floating[::1] loss not None, floating[:, ::1] grad, double grad_scale):
    """Cross-entropy of probability targets: per-row loss, gradient unless grad is None."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating)
    cdef int64_t ts = target.strides[0] // sizeof(floating)
    cdef int64_t gs = 0
    cdef floating *gp = NULL
    cdef const floating *wp = NULL
    cdef int status = 0
    if rows == 0:
        return
    if weight is not None:
        wp = &weight[0]
    if grad is not None:
        gs = grad.strides[0] // sizeof(floating)
        gp = &grad[0, 0]
    with nogil:
        if floating is float:
            status = csoftmax_xent_prob_f32(&x[0, 0], xs, &target[0, 0], ts, wp, label_smoothing,
                                            inv_temperature, &loss[0], gp, gs, rows, cols,
                                            grad_scale)
        else:
            status = csoftmax_xent_prob_f64(&x[0, 0], xs, &target[0, 0], ts, wp, label_smoothing,
                                            inv_temperature, &loss[0], gp, gs, rows, cols,
                                            grad_scale)
    _check(status)


def nll_2d(const floating[:, ::1] log_probs not None, const int64_t[::1] target not None,
           const floating[::1] weight, int64_t ignore_index, floating[::1] loss not None):
    cdef int64_t rows = log_probs.shape[0], cols = log_probs.shape[1]
    cdef int64_t ls = log_probs.strides[0] // sizeof(floating)
    cdef const floating *wp = NULL
    cdef int status = 0
    if rows == 0:
        return
    if weight is not None:
        wp = &weight[0]
    with nogil:
        if floating is float:
            status = csoftmax_nll_f32(&log_probs[0, 0], ls, &target[0], wp, ignore_index,
                                      &loss[0], rows, cols)
        else:
            status = csoftmax_nll_f64(&log_probs[0, 0], ls, &target[0], wp, ignore_index,
                                      &loss[0], rows, cols)
    _check(status)


def softmax_backward_2d(const floating[:, ::1] grad_output not None,
                        const floating[:, ::1] output not None, floating[:, ::1] out not None):
    cdef int64_t rows = output.shape[0], cols = output.shape[1]
    cdef int64_t gs = grad_output.strides[0] // sizeof(floating)
    cdef int64_t ys = output.strides[0] // sizeof(floating)
    cdef int64_t os = out.strides[0] // sizeof(floating)
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_softmax_backward_f32(&grad_output[0, 0], gs, &output[0, 0], ys,
                                                   &out[0, 0], os, rows, cols)
        else:
            status = csoftmax_softmax_backward_f64(&grad_output[0, 0], gs, &output[0, 0], ys,
                                                   &out[0, 0], os, rows, cols)
    _check(status)


def log_softmax_backward_2d(const floating[:, ::1] grad_output not None,
                            const floating[:, ::1] output not None,
                            floating[:, ::1] out not None):
    cdef int64_t rows = output.shape[0], cols = output.shape[1]
    cdef int64_t gs = grad_output.strides[0] // sizeof(floating)
    cdef int64_t ys = output.strides[0] // sizeof(floating)
    cdef int64_t os = out.strides[0] // sizeof(floating)
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_log_softmax_backward_f32(&grad_output[0, 0], gs, &output[0, 0], ys,
                                                       &out[0, 0], os, rows, cols)
        else:
            status = csoftmax_log_softmax_backward_f64(&grad_output[0, 0], gs, &output[0, 0], ys,
                                                       &out[0, 0], os, rows, cols)
    _check(status)


def sigmoid_2d(const floating[:, ::1] x not None, floating[:, ::1] out not None):
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating), ys = out.strides[0] // sizeof(floating)
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_sigmoid_f32(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
        else:
            status = csoftmax_sigmoid_f64(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
    _check(status)


def log_sigmoid_2d(const floating[:, ::1] x not None, floating[:, ::1] out not None):
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating), ys = out.strides[0] // sizeof(floating)
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_log_sigmoid_f32(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
        else:
            status = csoftmax_log_sigmoid_f64(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
    _check(status)


def bce_2d(const floating[:, ::1] x not None, const floating[:, ::1] target not None,
           const floating[:, :] weight, const floating[:, :] pos_weight,
           floating[:, ::1] loss, double[::1] row_loss, floating[:, ::1] grad,
           double grad_scale):
    """Binary cross-entropy with logits. weight / pos_weight: None, or 2-D views
    whose column stride is 0 or one element (broadcast rows / columns); loss,
    row_loss (per-row sums, float64) and grad: None or preallocated outputs."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating)
    cdef int64_t ts = target.strides[0] // sizeof(floating)
    cdef int64_t ws = 0, w_step = 0, ps = 0, p_step = 0, ls = 0, gs = 0
    cdef const floating *wp = NULL
    cdef const floating *pp = NULL
    cdef floating *lp = NULL
    cdef floating *gp = NULL
    cdef double *rp = NULL
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    if weight is not None:
        wp = &weight[0, 0]
        ws = weight.strides[0] // sizeof(floating)
        w_step = weight.strides[1] // sizeof(floating)
    if pos_weight is not None:
        pp = &pos_weight[0, 0]
        ps = pos_weight.strides[0] // sizeof(floating)
        p_step = pos_weight.strides[1] // sizeof(floating)
    if loss is not None:
        lp = &loss[0, 0]
        ls = loss.strides[0] // sizeof(floating)
    if row_loss is not None:
        rp = &row_loss[0]
    if grad is not None:
        gp = &grad[0, 0]
        gs = grad.strides[0] // sizeof(floating)
    with nogil:
        if floating is float:
            status = csoftmax_bce_f32(&x[0, 0], xs, &target[0, 0], ts, wp, ws, w_step, pp, ps,
                                      p_step, lp, ls, rp, gp, gs, rows, cols, grad_scale)
        else:
            status = csoftmax_bce_f64(&x[0, 0], xs, &target[0, 0], ts, wp, ws, w_step, pp, ps,
                                      p_step, lp, ls, rp, gp, gs, rows, cols, grad_scale)
    _check(status)


# ---------------------------------------------------------------------------
# call-overhead fast paths of the backward passes and nll_loss (as
# rowwise_fast and cross_entropy_fast: the common case straight to the
# kernel, None for the general path, which raises the errors)

cdef enum:
    _BW_SOFTMAX = 0
    _BW_LOG_SOFTMAX = 1

# operations of backward_fast
BACKWARD_SOFTMAX = _BW_SOFTMAX
BACKWARD_LOG_SOFTMAX = _BW_LOG_SOFTMAX


def backward_fast(int op, object grad_output, object output, object axis=-1, object out=None):
    """softmax_backward (op BACKWARD_SOFTMAX) or log_softmax_backward
    (BACKWARD_LOG_SOFTMAX) over `axis` into a new array, or into `out` (and
    return `out`); or None when the call is not the common case this handles:

    - `grad_output` and `output` exactly numpy.ndarrays of one dtype, float32
      or float64 in native byte order, of one shape, at least 1-D, not empty,
      C-contiguous and aligned, with `axis` an int naming one of their axes
      (the last one: the row kernels; another: the column kernels,
      src_c/columns.h, as the general path takes them for C-ordered input);
    - `out` None, or exactly a numpy.ndarray of that dtype and shape,
      C-contiguous, aligned and writeable, that is either input's memory
      exactly (in place; each row is read before it is written) or overlaps
      neither.

    Nothing is written to `out` when None is returned."""
    if (type(grad_output) is not cnp.ndarray or type(output) is not cnp.ndarray
            or type(axis) is not int):
        return None
    if op != _BW_SOFTMAX and op != _BW_LOG_SOFTMAX:
        raise ValueError(f"unknown backward operation {op}")
    cdef cnp.ndarray g = <cnp.ndarray>grad_output
    cdef cnp.ndarray y = <cnp.ndarray>output
    cdef int nd = cnp.PyArray_NDIM(y)
    if nd < 1 or not (-nd <= axis < nd):
        return None  # (an axis out of range: the general path's AxisError)
    cdef int ax = <int>axis + nd if axis < 0 else <int>axis
    cdef int typenum = cnp.PyArray_TYPE(y)
    if ((typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE)
            or cnp.PyArray_TYPE(g) != typenum or not _same_dims(y, g, nd)):
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(g) and cnp.PyArray_ISBEHAVED_RO(g)
            and cnp.PyArray_IS_C_CONTIGUOUS(y) and cnp.PyArray_ISBEHAVED_RO(y)):
        return None
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(y)
    if n == 0:
        return None
    cdef int64_t cols = cnp.PyArray_DIM(y, nd - 1)
    cdef int64_t rows = n // cols
    cdef cnp.ndarray o
    if out is None:
        o = _new_output(nd, cnp.PyArray_DIMS(y), typenum)
    else:
        if type(out) is not cnp.ndarray:
            return None
        o = <cnp.ndarray>out
        if (cnp.PyArray_TYPE(o) != typenum or not _same_dims(y, o, nd)
                or not (cnp.PyArray_IS_C_CONTIGUOUS(o) and cnp.PyArray_ISBEHAVED(o))):
            return None
        if ((cnp.PyArray_DATA(o) != cnp.PyArray_DATA(g) and _overlaps(o, g))
                or (cnp.PyArray_DATA(o) != cnp.PyArray_DATA(y) and _overlaps(o, y))):
            return None  # partial overlap: the general path goes through a new array
    cdef const void *gp = cnp.PyArray_DATA(g)
    cdef const void *yp = cnp.PyArray_DATA(y)
    cdef void *op_ = cnp.PyArray_DATA(o)
    cdef int status
    cdef int64_t inner = _inner_size(y, ax), classes = cnp.PyArray_DIM(y, ax)
    if ax != nd - 1:
        rows = n // (classes * inner)  # the outer slabs
        if n >= _NOGIL_MIN_ELEMENTS:
            with nogil:
                status = _backward_cols_kernel(op, typenum, gp, yp, op_, rows, classes, inner)
        else:
            status = _backward_cols_kernel(op, typenum, gp, yp, op_, rows, classes, inner)
    elif n >= _NOGIL_MIN_ELEMENTS:
        with nogil:
            status = _backward_kernel(op, typenum, gp, yp, op_, rows, cols)
    else:
        status = _backward_kernel(op, typenum, gp, yp, op_, rows, cols)
    _check(status)
    return o


cdef int _backward_kernel(int op, int typenum, const void *g, const void *y, void *o,
                          int64_t rows, int64_t cols) noexcept nogil:
    if typenum == cnp.NPY_FLOAT:
        if op == _BW_SOFTMAX:
            return csoftmax_softmax_backward_f32(<const float *>g, cols, <const float *>y, cols,
                                                 <float *>o, cols, rows, cols)
        return csoftmax_log_softmax_backward_f32(<const float *>g, cols, <const float *>y, cols,
                                                 <float *>o, cols, rows, cols)
    if op == _BW_SOFTMAX:
        return csoftmax_softmax_backward_f64(<const double *>g, cols, <const double *>y, cols,
                                             <double *>o, cols, rows, cols)
    return csoftmax_log_softmax_backward_f64(<const double *>g, cols, <const double *>y, cols,
                                             <double *>o, cols, rows, cols)


def nll_fast(object log_probs, object target, int reduction, object weight=None):
    """nll_loss of 2-D `log_probs` over their last axis against int64 class
    indices (or narrower integers: _fast_class_targets), ignore_index -100,
    optionally class-weighted, reduced as `reduction` says (XENT_MEAN,
    XENT_SUM, XENT_NONE); or None when the call is not the common case this
    handles (cross_entropy_fast's conditions on the logits, targets and
    weights). The mean divides by the rows not
    ignored, or their targets' weight sum (class_weight_sum), as the general
    path."""
    if not _fast_arrays(log_probs, target, reduction):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>log_probs
    cdef object indices = _fast_class_targets(<cnp.ndarray>target)
    if cnp.PyArray_NDIM(a) != 2 or indices is None:
        return None
    cdef cnp.ndarray t = <cnp.ndarray>indices
    cdef int typenum = cnp.PyArray_TYPE(a)
    if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISBEHAVED_RO(a)
            and cnp.PyArray_IS_C_CONTIGUOUS(t) and cnp.PyArray_ISBEHAVED_RO(t)):
        return None
    cdef int64_t rows = cnp.PyArray_DIM(a, 0), cols = cnp.PyArray_DIM(a, 1)
    if rows == 0 or cols == 0 or cnp.PyArray_DIM(t, 0) != rows:
        return None
    cdef object wobj = _fast_weight(weight, cols, a)
    if wobj is False:
        return None
    cdef cnp.ndarray wa = wobj
    cdef const void *wp = NULL if wa is None else cnp.PyArray_DATA(wa)
    cdef const int64_t *tp = <const int64_t *>cnp.PyArray_DATA(t)
    cdef int64_t ignored
    with nogil:
        ignored = csoftmax_count_ignored(tp, rows, cols, -100)
    if ignored < 0:
        return None  # an index out of range: the general path's IndexError
    cdef double denominator = <double>(rows - ignored)
    if wp != NULL:
        denominator = (_weight_sum(<const float *>wp, tp, rows, -100)
                       if typenum == cnp.NPY_FLOAT
                       else _weight_sum(<const double *>wp, tp, rows, -100))
    cdef cnp.ndarray loss = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(a), typenum, 0)
    cdef const void *ap = cnp.PyArray_DATA(a)
    cdef void *lp = cnp.PyArray_DATA(loss)
    cdef int status
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            status = csoftmax_nll_f32(<const float *>ap, cols, tp, <const float *>wp, -100,
                                      <float *>lp, rows, cols)
        else:
            status = csoftmax_nll_f64(<const double *>ap, cols, tp, <const double *>wp, -100,
                                      <double *>lp, rows, cols)
    _check(status)
    if reduction == XENT_NONE:
        return loss
    return _fast_reduced(_compensated_sum(<const float *>lp, rows) if typenum == cnp.NPY_FLOAT
                         else _compensated_sum(<const double *>lp, rows),
                         denominator, reduction, typenum)
