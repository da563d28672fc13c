# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The Cython boundary: typed memoryviews in, one C call with the GIL released.

Callers (csoftmax._api) have already checked shapes, dtypes and labels and made
the last axis contiguous; every function here takes 2-D arrays whose rows are
contiguous (any row stride) and writes into preallocated outputs. No loops.
"""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "csoftmax.h" nogil:
    ctypedef enum csoftmax_isa:
        CSOFTMAX_ISA_SCALAR
        CSOFTMAX_ISA_AVX2
        CSOFTMAX_ISA_AVX512
    int CSOFTMAX_OK
    int CSOFTMAX_ERR_TARGET
    int CSOFTMAX_ERR_UNSUPPORTED
    int csoftmax_isa_supported(csoftmax_isa isa)
    csoftmax_isa csoftmax_best_isa()
    int csoftmax_set_isa(csoftmax_isa isa)
    csoftmax_isa csoftmax_get_isa()
    const char *csoftmax_isa_name(csoftmax_isa isa)
    void csoftmax_set_num_threads(int n)
    int csoftmax_get_num_threads()
    int csoftmax_openmp_enabled()
    int csoftmax_exp_f32(const float *x, float *y, int64_t n)
    int csoftmax_exp_f64(const double *x, double *y, int64_t n)
    int csoftmax_softmax_f32(const float *x, int64_t xs, float *y, int64_t ys,
                             int64_t rows, int64_t cols)
    int csoftmax_softmax_f64(const double *x, int64_t xs, double *y, int64_t ys,
                             int64_t rows, int64_t cols)
    int csoftmax_log_softmax_f32(const float *x, int64_t xs, float *y, int64_t ys,
                                 int64_t rows, int64_t cols)
    int csoftmax_log_softmax_f64(const double *x, int64_t xs, double *y, int64_t ys,
                                 int64_t rows, int64_t cols)
    int csoftmax_logsumexp_f32(const float *x, int64_t xs, float *out, int64_t rows, int64_t cols)
    int csoftmax_logsumexp_f64(const double *x, int64_t xs, double *out, int64_t rows, int64_t cols)
    int csoftmax_cross_entropy_f32(const float *x, int64_t xs, const int64_t *target,
                                   float *loss, float *grad, int64_t gs,
                                   int64_t rows, int64_t cols, double grad_scale)
    int csoftmax_cross_entropy_f64(const double *x, int64_t xs, const int64_t *target,
                                   double *loss, double *grad, int64_t gs,
                                   int64_t rows, int64_t cols, double grad_scale)

ISA_NAMES = ("scalar", "avx2", "avx512")


cdef int _check(int status) except -1:
    if status == CSOFTMAX_OK:
        return 0
    if status == CSOFTMAX_ERR_TARGET:
        raise IndexError("target holds a class index outside [0, number of classes)")
    raise RuntimeError(f"csoftmax kernel failed with status {status}")


def available_isas():
    """Names of the instruction sets this machine can run, lowest first."""
    return tuple(name for level, name in enumerate(ISA_NAMES)
                 if csoftmax_isa_supported(<csoftmax_isa>level))


def best_isa():
    return ISA_NAMES[<int>csoftmax_best_isa()]


def get_isa():
    return ISA_NAMES[<int>csoftmax_get_isa()]


def set_isa(str name):
    if name not in ISA_NAMES:
        raise ValueError(f"unknown instruction set {name!r}; expected one of {ISA_NAMES}")
    cdef int level = ISA_NAMES.index(name)
    if csoftmax_set_isa(<csoftmax_isa>level) != CSOFTMAX_OK:
        raise RuntimeError(
            f"instruction set {name!r} is not supported by this CPU; available: {available_isas()}")


def set_num_threads(int n):
    csoftmax_set_num_threads(n)


def get_num_threads():
    return csoftmax_get_num_threads()


def openmp_enabled():
    return bool(csoftmax_openmp_enabled())


def exp_1d(const floating[::1] x not None, floating[::1] out not None):
    """The kernels' own exp, elementwise (used to measure its accuracy)."""
    cdef int64_t n = x.shape[0]
    cdef int status = 0
    if n == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_exp_f32(&x[0], &out[0], n)
        else:
            status = csoftmax_exp_f64(&x[0], &out[0], n)
    _check(status)


def softmax_2d(const floating[:, ::1] x not None, floating[:, ::1] out not None):
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating), ys = out.strides[0] // sizeof(floating)
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_softmax_f32(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
        else:
            status = csoftmax_softmax_f64(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
    _check(status)


def log_softmax_2d(const floating[:, ::1] x not None, floating[:, ::1] out not None):
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating), ys = out.strides[0] // sizeof(floating)
    cdef int status = 0
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            status = csoftmax_log_softmax_f32(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
        else:
            status = csoftmax_log_softmax_f64(&x[0, 0], xs, &out[0, 0], ys, rows, cols)
    _check(status)


def logsumexp_2d(const floating[:, ::1] x not None, floating[::1] out not None):
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating) if cols > 0 else 0
    cdef int status = 0
    cdef const floating *xp = NULL
    if rows == 0:
        return
    if cols > 0:
        xp = &x[0, 0]
    with nogil:
        if floating is float:
            status = csoftmax_logsumexp_f32(xp, xs, &out[0], rows, cols)
        else:
            status = csoftmax_logsumexp_f64(xp, xs, &out[0], rows, cols)
    _check(status)


def cross_entropy_2d(const floating[:, ::1] x not None, const int64_t[::1] target not None,
                     floating[::1] loss not None, floating[:, ::1] grad, double grad_scale):
    """Per-row loss into `loss`; the gradient into `grad` unless it is None."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef int64_t xs = x.strides[0] // sizeof(floating)
    cdef int64_t gs = 0
    cdef floating *gp = NULL
    cdef int status = 0
    if rows == 0:
        return
    if grad is not None:
        gs = grad.strides[0] // sizeof(floating)
        gp = &grad[0, 0]
    with nogil:
        if floating is float:
            status = csoftmax_cross_entropy_f32(&x[0, 0], xs, &target[0], &loss[0], gp, gs,
                                                rows, cols, grad_scale)
        else:
            status = csoftmax_cross_entropy_f64(&x[0, 0], xs, &target[0], &loss[0], gp, gs,
                                                rows, cols, grad_scale)
    _check(status)

include "_losses.pxi"
