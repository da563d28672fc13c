# Included at the end of _kernels.pyx: the Cython boundary of the column
# kernels (src_c/columns.h), which reduce down the columns of (outer, n,
# inner) arrays whose inner axis is contiguous (any outer and row strides):
# softmax(x, axis=k) for an axis k that is not the last one, without moving it
# last (a transposed copy in and out). Same rules as the rest of the module:
# preallocated outputs, one C call with the GIL released, no loops.

cdef extern from "columns.h" nogil:
    int csoftmax_softmax_cols_f32(const float *x, int64_t xo, int64_t xs, float *y,
                                  int64_t yo, int64_t ys, int64_t outer, int64_t n,
                                  int64_t inner)
    int csoftmax_softmax_cols_f64(const double *x, int64_t xo, int64_t xs, double *y,
                                  int64_t yo, int64_t ys, int64_t outer, int64_t n,
                                  int64_t inner)
    int csoftmax_log_softmax_cols_f32(const float *x, int64_t xo, int64_t xs, float *y,
                                      int64_t yo, int64_t ys, int64_t outer, int64_t n,
                                      int64_t inner)
    int csoftmax_log_softmax_cols_f64(const double *x, int64_t xo, int64_t xs, double *y,
                                      int64_t yo, int64_t ys, int64_t outer, int64_t n,
                                      int64_t inner)
    int csoftmax_logsumexp_cols_f32(const float *x, int64_t xo, int64_t xs, float *out,
                                    int64_t outer, int64_t n, int64_t inner)
    int csoftmax_logsumexp_cols_f64(const double *x, int64_t xo, int64_t xs, double *out,
                                    int64_t outer, int64_t n, int64_t inner)


cdef int _fast_cols_kernel(int op, int typenum, const void *x, void *y, int64_t outer,
                           int64_t n, int64_t inner) noexcept nogil:
    """rowwise_fast's softmax, log_softmax or logsumexp over axis 1 of the
    C-contiguous (outer, n, inner) x, into the C-contiguous y."""
    if typenum == cnp.NPY_FLOAT:
        if op == _OP_SOFTMAX:
            return csoftmax_softmax_cols_f32(<const float *>x, n * inner, inner, <float *>y,
                                             n * inner, inner, outer, n, inner)
        if op == _OP_LOG_SOFTMAX:
            return csoftmax_log_softmax_cols_f32(<const float *>x, n * inner, inner,
                                                 <float *>y, n * inner, inner, outer, n, inner)
        return csoftmax_logsumexp_cols_f32(<const float *>x, n * inner, inner, <float *>y,
                                           outer, n, inner)
    if op == _OP_SOFTMAX:
        return csoftmax_softmax_cols_f64(<const double *>x, n * inner, inner, <double *>y,
                                         n * inner, inner, outer, n, inner)
    if op == _OP_LOG_SOFTMAX:
        return csoftmax_log_softmax_cols_f64(<const double *>x, n * inner, inner,
                                             <double *>y, n * inner, inner, outer, n, inner)
    return csoftmax_logsumexp_cols_f64(<const double *>x, n * inner, inner, <double *>y,
                                       outer, n, inner)


cdef int _cols_shape(const Py_ssize_t *xshape, const Py_ssize_t *yshape) except -1:
    if (xshape[0] != yshape[0] or xshape[1] != yshape[1] or xshape[2] != yshape[2]):
        raise ValueError(f"out has shape {(yshape[0], yshape[1], yshape[2])}, "
                         f"expected {(xshape[0], xshape[1], xshape[2])}")
    return 0


cdef int _cols_inner(const Py_ssize_t *shape, const Py_ssize_t *strides, Py_ssize_t size,
                     str name) except -1:
    if shape[2] > 1 and strides[2] != size:
        raise ValueError(f"{name} must have contiguous columns (stride {size} bytes on its "
                         f"last axis), got stride {strides[2]}")
    return 0


def softmax_cols(const floating[:, :, :] x not None, floating[:, :, :] out not None):
    """softmax over axis 1 of the (outer, n, inner) x, into out (both with
    contiguous columns)."""
    _cols_shape(x.shape, out.shape)
    _cols_inner(x.shape, x.strides, sizeof(floating), "x")
    _cols_inner(out.shape, out.strides, sizeof(floating), "out")
    cdef int64_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef int64_t xo = x.strides[0] // sizeof(floating), xs = x.strides[1] // sizeof(floating)
    cdef int64_t yo = out.strides[0] // sizeof(floating), ys = out.strides[1] // sizeof(floating)
    cdef int status = 0
    if outer == 0 or n == 0 or inner == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_softmax_cols_f32(&x[0, 0, 0], xo, xs, &out[0, 0, 0], yo, ys,
                                               outer, n, inner)
        else:
            status = csoftmax_softmax_cols_f64(&x[0, 0, 0], xo, xs, &out[0, 0, 0], yo, ys,
                                               outer, n, inner)
    _check(status)


def log_softmax_cols(const floating[:, :, :] x not None, floating[:, :, :] out not None):
    """log_softmax over axis 1 of the (outer, n, inner) x, into out (both with
    contiguous columns)."""
    _cols_shape(x.shape, out.shape)
    _cols_inner(x.shape, x.strides, sizeof(floating), "x")
    _cols_inner(out.shape, out.strides, sizeof(floating), "out")
    cdef int64_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef int64_t xo = x.strides[0] // sizeof(floating), xs = x.strides[1] // sizeof(floating)
    cdef int64_t yo = out.strides[0] // sizeof(floating), ys = out.strides[1] // sizeof(floating)
    cdef int status = 0
    if outer == 0 or n == 0 or inner == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_log_softmax_cols_f32(&x[0, 0, 0], xo, xs, &out[0, 0, 0], yo, ys,
                                                   outer, n, inner)
        else:
            status = csoftmax_log_softmax_cols_f64(&x[0, 0, 0], xo, xs, &out[0, 0, 0], yo, ys,
                                                   outer, n, inner)
    _check(status)


def logsumexp_cols(const floating[:, :, :] x not None, floating[:, ::1] out not None):
    """logsumexp over axis 1 of the (outer, n, inner) x (contiguous columns),
    into the C-contiguous (outer, inner) out; -inf where n is 0."""
    if out.shape[0] != x.shape[0] or out.shape[1] != x.shape[2]:
        raise ValueError(f"out has shape {(out.shape[0], out.shape[1])}, "
                         f"expected {(x.shape[0], x.shape[2])}")
    _cols_inner(x.shape, x.strides, sizeof(floating), "x")
    cdef int64_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef int64_t xo = x.strides[0] // sizeof(floating), xs = x.strides[1] // sizeof(floating)
    cdef int status = 0
    cdef const floating *xp = NULL
    if outer == 0 or inner == 0:
        return
    if n > 0:
        xp = &x[0, 0, 0]
    with nogil:
        if floating is float:
            status = csoftmax_logsumexp_cols_f32(xp, xo, xs, &out[0, 0], outer, n, inner)
        else:
            status = csoftmax_logsumexp_cols_f64(xp, xo, xs, &out[0, 0], outer, n, inner)
    _check(status)


cdef extern from "columns.h" nogil:
    int csoftmax_cross_entropy_cols_f32(const float *x, int64_t xo, int64_t xs,
                                        const int64_t *target, const float *q, int64_t qo,
                                        int64_t qs, const float *weight, int64_t ignore_index,
                                        double label_smoothing, double inv_temperature,
                                        double scale, float *loss, float *grad, int64_t go,
                                        int64_t gs, int64_t outer, int64_t n, int64_t inner)
    int csoftmax_cross_entropy_cols_f64(const double *x, int64_t xo, int64_t xs,
                                        const int64_t *target, const double *q, int64_t qo,
                                        int64_t qs, const double *weight, int64_t ignore_index,
                                        double label_smoothing, double inv_temperature,
                                        double scale, double *loss, double *grad, int64_t go,
                                        int64_t gs, int64_t outer, int64_t n, int64_t inner)


cdef int _xent_cols_kernel(int typenum, const void *x, const int64_t *target, const void *q,
                           bint prob, const void *weight, double e, double inv_t, double scale,
                           void *loss, void *grad, int64_t outer, int64_t n,
                           int64_t inner) noexcept nogil:
    """cross_entropy_fast's column kernel over axis 1 of the C-contiguous
    (outer, n, inner) x: class targets `target`, or with `prob` the
    probabilities `q` in x's layout; the gradient (or NULL) in x's layout
    too; ignore_index -100."""
    cdef int64_t s = n * inner
    if prob:
        target = NULL
    else:
        q = NULL
    if typenum == cnp.NPY_FLOAT:
        return csoftmax_cross_entropy_cols_f32(<const float *>x, s, inner, target,
                                               <const float *>q, s, inner,
                                               <const float *>weight, -100, e, inv_t, scale,
                                               <float *>loss, <float *>grad, s, inner, outer,
                                               n, inner)
    return csoftmax_cross_entropy_cols_f64(<const double *>x, s, inner, target,
                                           <const double *>q, s, inner,
                                           <const double *>weight, -100, e, inv_t, scale,
                                           <double *>loss, <double *>grad, s, inner, outer, n,
                                           inner)


def xent_cols(const floating[:, :, :] x not None, const int64_t[:, ::1] target,
              const floating[:, :, :] q, const floating[::1] weight, int64_t ignore_index,
              double label_smoothing, double inv_temperature, double scale,
              floating[:, ::1] loss not None, floating[:, :, :] grad):
    """Cross-entropy over axis 1 of the (outer, n, inner) x (contiguous
    columns) against class targets (`target`, (outer, inner); q None) or
    probability targets (`q`, x's shape, contiguous columns; target None),
    with weights (None: 1), label smoothing and 1 / temperature: the (outer,
    inner) losses (0 where ignored, NaN in the columns the row kernels must
    take: src_c/columns.h), and with grad (x's shape, contiguous columns, or
    None) the gradient times scale."""
    cdef int64_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    if (target is None) == (q is None):
        raise ValueError("exactly one of target and q is needed")
    if loss.shape[0] != outer or loss.shape[1] != inner:
        raise ValueError(f"loss must have shape {(outer, inner)}, got "
                         f"{(loss.shape[0], loss.shape[1])}")
    if target is not None and (target.shape[0] != outer or target.shape[1] != inner):
        raise ValueError(f"target must have shape {(outer, inner)}, got "
                         f"{(target.shape[0], target.shape[1])}")
    _cols_inner(x.shape, x.strides, sizeof(floating), "x")
    cdef const floating *qp = NULL
    cdef int64_t qo = 0, qs = 0
    if q is not None:
        _cols_shape(x.shape, q.shape)
        _cols_inner(q.shape, q.strides, sizeof(floating), "q")
        qo = q.strides[0] // sizeof(floating)
        qs = q.strides[1] // sizeof(floating)
    cdef const floating *wp = NULL
    if weight is not None:
        if weight.shape[0] != n:
            raise ValueError(f"weight has {weight.shape[0]} entries, expected {n}")
        if n > 0:
            wp = &weight[0]
    cdef floating *gp = NULL
    cdef int64_t go = 0, gs = 0
    if grad is not None:
        _cols_shape(x.shape, grad.shape)
        _cols_inner(grad.shape, grad.strides, sizeof(floating), "grad")
        go = grad.strides[0] // sizeof(floating)
        gs = grad.strides[1] // sizeof(floating)
    cdef int status = 0
    if outer == 0 or inner == 0:
        return
    if n == 0:
        raise ValueError("logits have an empty class axis")
    cdef const int64_t *tp = NULL
    if target is not None:
        tp = &target[0, 0]
    if q is not None:
        qp = &q[0, 0, 0]
    if grad is not None:
        gp = &grad[0, 0, 0]
    with nogil:
        if floating is float:
            status = csoftmax_cross_entropy_cols_f32(
                &x[0, 0, 0], x.strides[0] // sizeof(float), x.strides[1] // sizeof(float), tp,
                qp, qo, qs, wp, ignore_index, label_smoothing, inv_temperature, scale,
                &loss[0, 0], gp, go, gs, outer, n, inner)
        else:
            status = csoftmax_cross_entropy_cols_f64(
                &x[0, 0, 0], x.strides[0] // sizeof(double), x.strides[1] // sizeof(double), tp,
                qp, qo, qs, wp, ignore_index, label_smoothing, inv_temperature, scale,
                &loss[0, 0], gp, go, gs, outer, n, inner)
    _check(status)


cdef extern from "columns.h" nogil:
    int csoftmax_softmax_backward_cols_f32(const float *g, int64_t go, int64_t gs,
                                           const float *y, int64_t yo, int64_t ys, float *out,
                                           int64_t oo, int64_t os, int64_t outer, int64_t n,
                                           int64_t inner)
    int csoftmax_softmax_backward_cols_f64(const double *g, int64_t go, int64_t gs,
                                           const double *y, int64_t yo, int64_t ys, double *out,
                                           int64_t oo, int64_t os, int64_t outer, int64_t n,
                                           int64_t inner)
    int csoftmax_log_softmax_backward_cols_f32(const float *g, int64_t go, int64_t gs,
                                               const float *y, int64_t yo, int64_t ys,
                                               float *out, int64_t oo, int64_t os,
                                               int64_t outer, int64_t n, int64_t inner)
    int csoftmax_log_softmax_backward_cols_f64(const double *g, int64_t go, int64_t gs,
                                               const double *y, int64_t yo, int64_t ys,
                                               double *out, int64_t oo, int64_t os,
                                               int64_t outer, int64_t n, int64_t inner)


cdef int _backward_cols_kernel(int op, int typenum, const void *g, const void *y, void *o,
                               int64_t outer, int64_t n, int64_t inner) noexcept nogil:
    """backward_fast's softmax_backward or log_softmax_backward over axis 1
    of the C-contiguous (outer, n, inner) g and y, into the C-contiguous o."""
    cdef int64_t s = n * inner
    if typenum == cnp.NPY_FLOAT:
        if op == _BW_SOFTMAX:
            return csoftmax_softmax_backward_cols_f32(<const float *>g, s, inner,
                                                      <const float *>y, s, inner, <float *>o,
                                                      s, inner, outer, n, inner)
        return csoftmax_log_softmax_backward_cols_f32(<const float *>g, s, inner,
                                                      <const float *>y, s, inner, <float *>o,
                                                      s, inner, outer, n, inner)
    if op == _BW_SOFTMAX:
        return csoftmax_softmax_backward_cols_f64(<const double *>g, s, inner,
                                                  <const double *>y, s, inner, <double *>o, s,
                                                  inner, outer, n, inner)
    return csoftmax_log_softmax_backward_cols_f64(<const double *>g, s, inner,
                                                  <const double *>y, s, inner, <double *>o, s,
                                                  inner, outer, n, inner)


def backward_cols(bint log, const floating[:, :, :] g not None, const floating[:, :, :] y not None,
                  floating[:, :, :] out not None):
    """softmax_backward (log_softmax_backward with `log`) over axis 1 of the
    (outer, n, inner) arrays g and y, into out (all with contiguous columns;
    out may be g or y exactly)."""
    _cols_shape(y.shape, g.shape)
    _cols_shape(y.shape, out.shape)
    _cols_inner(g.shape, g.strides, sizeof(floating), "grad_output")
    _cols_inner(y.shape, y.strides, sizeof(floating), "output")
    _cols_inner(out.shape, out.strides, sizeof(floating), "out")
    cdef int64_t outer = y.shape[0], n = y.shape[1], inner = y.shape[2]
    cdef int64_t go = g.strides[0] // sizeof(floating), gs = g.strides[1] // sizeof(floating)
    cdef int64_t yo = y.strides[0] // sizeof(floating), ys = y.strides[1] // sizeof(floating)
    cdef int64_t oo = out.strides[0] // sizeof(floating), os = out.strides[1] // sizeof(floating)
    cdef int status = 0
    if outer == 0 or n == 0 or inner == 0:
        return
    with nogil:
        if floating is float:
            if log:
                status = csoftmax_log_softmax_backward_cols_f32(
                    &g[0, 0, 0], go, gs, &y[0, 0, 0], yo, ys, &out[0, 0, 0], oo, os, outer, n,
                    inner)
            else:
                status = csoftmax_softmax_backward_cols_f32(
                    &g[0, 0, 0], go, gs, &y[0, 0, 0], yo, ys, &out[0, 0, 0], oo, os, outer, n,
                    inner)
        else:
            if log:
                status = csoftmax_log_softmax_backward_cols_f64(
                    &g[0, 0, 0], go, gs, &y[0, 0, 0], yo, ys, &out[0, 0, 0], oo, os, outer, n,
                    inner)
            else:
                status = csoftmax_softmax_backward_cols_f64(
                    &g[0, 0, 0], go, gs, &y[0, 0, 0], yo, ys, &out[0, 0, 0], oo, os, outer, n,
                    inner)
    _check(status)


cdef extern from "columns.h" nogil:
    int csoftmax_nll_cols_f32(const float *lp, int64_t lo, int64_t ls, const int64_t *target,
                              const float *weight, int64_t ignore_index, float *loss,
                              int64_t outer, int64_t n, int64_t inner)
    int csoftmax_nll_cols_f64(const double *lp, int64_t lo, int64_t ls, const int64_t *target,
                              const double *weight, int64_t ignore_index, double *loss,
                              int64_t outer, int64_t n, int64_t inner)


def nll_cols(const floating[:, :, :] log_probs not None, const int64_t[:, ::1] target not None,
             const floating[::1] weight, int64_t ignore_index, floating[:, ::1] loss not None):
    """nll_loss over axis 1 of the (outer, n, inner) log_probs (contiguous
    columns): the (outer, inner) losses -weight[t] lp[t] (0 where ignored)."""
    cdef int64_t outer = log_probs.shape[0], n = log_probs.shape[1], inner = log_probs.shape[2]
    if (target.shape[0] != outer or target.shape[1] != inner
            or loss.shape[0] != outer or loss.shape[1] != inner):
        raise ValueError(f"target and loss must have shape {(outer, inner)}, got "
                         f"{(target.shape[0], target.shape[1])} and "
                         f"{(loss.shape[0], loss.shape[1])}")
    _cols_inner(log_probs.shape, log_probs.strides, sizeof(floating), "log_probs")
    cdef const floating *wp = NULL
    if weight is not None:
        if weight.shape[0] != n:
            raise ValueError(f"weight has {weight.shape[0]} entries, expected {n}")
        if n > 0:
            wp = &weight[0]
    if outer == 0 or inner == 0:
        return
    if n == 0:
        raise ValueError("log_probs have an empty class axis")
    cdef int64_t lo = log_probs.strides[0] // sizeof(floating)
    cdef int64_t ls = log_probs.strides[1] // sizeof(floating)
    cdef int status = 0
    with nogil:
        if floating is float:
            status = csoftmax_nll_cols_f32(&log_probs[0, 0, 0], lo, ls, &target[0, 0], wp,
                                           ignore_index, &loss[0, 0], outer, n, inner)
        else:
            status = csoftmax_nll_cols_f64(&log_probs[0, 0, 0], lo, ls, &target[0, 0], wp,
                                           ignore_index, &loss[0, 0], outer, n, inner)
    _check(status)
