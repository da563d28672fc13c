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
