# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The Cython boundary: typed memoryviews in, one C call with the GIL released.

Callers (csoftmax._api) have already checked shapes, dtypes and labels and made
the last axis contiguous; every function here takes 2-D arrays whose rows are
contiguous (any row stride) and writes into preallocated outputs. No loops.

The exceptions are the call-overhead fast paths, :func:`rowwise_fast` (softmax /
log_softmax / logsumexp), :func:`cross_entropy_fast` and
:func:`binary_cross_entropy_fast`: each checks its common case itself with the
NumPy C API (an exact ndarray, float32 or float64, C-contiguous, aligned,
native byte order, reduced over its last axis; an `out` of the same dtype and
layout that is either the input itself or disjoint from it) and declines
anything else by returning None, so that csoftmax._api runs its general path.
"""
cimport cython
from cython cimport floating
from libc.float cimport FLT_MAX
from libc.math cimport INFINITY, NAN, fabs
from libc.stdint cimport int64_t, uint8_t, uint64_t

cimport numpy as cnp
import numpy as _np

cnp.import_array()

cdef extern from "_alloc.h":
    object csm_alloc_capsule()

cdef extern from "numpy/arrayobject.h":
    object PyDataMem_SetHandler(object handler)

# NumPy's memory handler for the fast paths' new outputs (csoftmax/_alloc.h)
cdef object _ALIGNED_HANDLER = csm_alloc_capsule()
# outputs below this many bytes keep NumPy's handler (its cache of small
# blocks; the handler switch would cost more than their stores gain)
cdef cnp.npy_intp _ALIGNED_MIN_BYTES = 4096


cdef cnp.ndarray _new_output(int nd, cnp.npy_intp *dims, int typenum):
    """A new C-contiguous array of `typenum` whose data start on a 64-byte
    boundary (a cache line) when it takes at least _ALIGNED_MIN_BYTES: the
    kernels' vector stores into NumPy's 16-byte-aligned blocks split every
    other 32-byte vector over two lines (float32 cross-entropy gradients
    of 32 to 128 columns, interleaved against the same kernel into such a
    block: 0.91-0.93x the time). It owns its data, freed by the handler it
    was made with."""
    cdef cnp.npy_intp nbytes = 8 if typenum == cnp.NPY_DOUBLE else 4  # float32 / float64 only
    cdef int k
    for k in range(nd):
        nbytes *= dims[k]
    if nbytes < _ALIGNED_MIN_BYTES:
        return cnp.PyArray_EMPTY(nd, dims, typenum, 0)
    cdef object previous = PyDataMem_SetHandler(_ALIGNED_HANDLER)
    try:
        return cnp.PyArray_EMPTY(nd, dims, typenum, 0)
    finally:
        PyDataMem_SetHandler(previous)

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
    int csoftmax_forked_single_thread()
    void csoftmax_set_scratch_rows(int on)
    int csoftmax_scratch_rows()
    const char *csoftmax_cpu_vendor()
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
    int64_t csoftmax_count_ignored(const int64_t *target, int64_t rows, int64_t cols,
                                   int64_t ignore_index)
    double csoftmax_loss_sum_f32(const float *v, int64_t n)
    double csoftmax_loss_sum_f64(const double *v, int64_t n)

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


def forked_single_thread():
    """True in a process forked after csoftmax ran a parallel region: its calls
    stay on one thread (OpenMP's threads do not survive fork)."""
    return bool(csoftmax_forked_single_thread())


def scratch_rows():
    """True where long rows keep their exponentials in scratch rows and stream
    their output once (by default on Intel CPUs only; the results are the same)."""
    return bool(csoftmax_scratch_rows())


def cpu_vendor():
    """The CPU's vendor string from cpuid ("GenuineIntel", "AuthenticAMD", ..;
    "" where there is none)."""
    return (<bytes>csoftmax_cpu_vendor()).decode("ascii", "replace")


def set_scratch_rows(flag):
    """Scratch rows on (True) or off (False), or the CPU's default (None): for
    tests and benchmarks, which compare the two ways."""
    csoftmax_set_scratch_rows(-1 if flag is None else (1 if flag else 0))


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


# ---------------------------------------------------------------------------
# the call-overhead fast path

cdef enum:
    _OP_SOFTMAX = 0
    _OP_LOG_SOFTMAX = 1
    _OP_LOGSUMEXP = 2
    _OP_SIGMOID = 3
    _OP_LOG_SIGMOID = 4

# operations of rowwise_fast
FAST_SOFTMAX = _OP_SOFTMAX
FAST_LOG_SOFTMAX = _OP_LOG_SOFTMAX
FAST_LOGSUMEXP = _OP_LOGSUMEXP
FAST_SIGMOID = _OP_SIGMOID
FAST_LOG_SIGMOID = _OP_LOG_SIGMOID

# Calls with fewer elements keep the GIL. Releasing and taking it back costs
# about as much as the kernel on ~100-300 elements (measured here: ~0.24 us
# for the pair, against ~2.4 us for softmax of 1024 float32 and ~9 us of 4096,
# all on the same loaded machine), and lets another thread take the GIL in
# between: from 4096 elements on it is a few percent of the call.
FAST_NOGIL_MIN_ELEMENTS = 4096
cdef cnp.npy_intp _NOGIL_MIN_ELEMENTS = FAST_NOGIL_MIN_ELEMENTS


cdef int _fast_kernel(int op, int typenum, const void *x, void *y,
                      int64_t rows, int64_t cols, const uint8_t *mask, int64_t ms,
                      double inv_t) noexcept nogil:
    if mask != NULL or inv_t != 1.0:
        # the masked / tempered kernels (src_c/masked.h), as the general path
        # calls them
        if typenum == cnp.NPY_FLOAT:
            if op == _OP_SOFTMAX:
                return csoftmax_masked_softmax_f32(<const float *>x, cols, mask, ms, inv_t,
                                                   <float *>y, cols, rows, cols)
            if op == _OP_LOG_SOFTMAX:
                return csoftmax_masked_log_softmax_f32(<const float *>x, cols, mask, ms, inv_t,
                                                       <float *>y, cols, rows, cols)
            return csoftmax_masked_logsumexp_f32(<const float *>x, cols, mask, ms, inv_t,
                                                 <float *>y, rows, cols)
        if op == _OP_SOFTMAX:
            return csoftmax_masked_softmax_f64(<const double *>x, cols, mask, ms, inv_t,
                                               <double *>y, cols, rows, cols)
        if op == _OP_LOG_SOFTMAX:
            return csoftmax_masked_log_softmax_f64(<const double *>x, cols, mask, ms, inv_t,
                                                   <double *>y, cols, rows, cols)
        return csoftmax_masked_logsumexp_f64(<const double *>x, cols, mask, ms, inv_t,
                                             <double *>y, rows, cols)
    if typenum == cnp.NPY_FLOAT:
        if op == _OP_SOFTMAX:
            return csoftmax_softmax_f32(<const float *>x, cols, <float *>y, cols, rows, cols)
        if op == _OP_LOG_SOFTMAX:
            return csoftmax_log_softmax_f32(<const float *>x, cols, <float *>y, cols, rows, cols)
        if op == _OP_SIGMOID:
            return csoftmax_sigmoid_f32(<const float *>x, cols, <float *>y, cols, rows, cols)
        if op == _OP_LOG_SIGMOID:
            return csoftmax_log_sigmoid_f32(<const float *>x, cols, <float *>y, cols, rows, cols)
        return csoftmax_logsumexp_f32(<const float *>x, cols, <float *>y, rows, cols)
    if op == _OP_SOFTMAX:
        return csoftmax_softmax_f64(<const double *>x, cols, <double *>y, cols, rows, cols)
    if op == _OP_LOG_SOFTMAX:
        return csoftmax_log_softmax_f64(<const double *>x, cols, <double *>y, cols, rows, cols)
    if op == _OP_SIGMOID:
        return csoftmax_sigmoid_f64(<const double *>x, cols, <double *>y, cols, rows, cols)
    if op == _OP_LOG_SIGMOID:
        return csoftmax_log_sigmoid_f64(<const double *>x, cols, <double *>y, cols, rows, cols)
    return csoftmax_logsumexp_f64(<const double *>x, cols, <double *>y, rows, cols)


cdef inline int64_t _inner_size(cnp.ndarray a, int ax) noexcept:
    """The product of a's dimensions after axis ax (1 for the last)."""
    cdef int64_t inner = 1
    cdef int k
    for k in range(ax + 1, cnp.PyArray_NDIM(a)):
        inner *= cnp.PyArray_DIM(a, k)
    return inner


cdef inline bint _same_dims(cnp.ndarray a, cnp.ndarray b, int nd) noexcept:
    """Whether the first nd dimensions of a and b are equal (b has nd dimensions)."""
    cdef int k
    if cnp.PyArray_NDIM(b) != nd:
        return False
    for k in range(nd):
        if cnp.PyArray_DIM(a, k) != cnp.PyArray_DIM(b, k):
            return False
    return True


def rowwise_fast(int op, object x, object axis=-1, object out=None, double inv_temperature=1.0,
                 object where=None):
    """softmax (op FAST_SOFTMAX), log_softmax or logsumexp of `x` over `axis`,
    or sigmoid / log_sigmoid of each element (FAST_SIGMOID, FAST_LOG_SIGMOID,
    `axis` -1), into a new array, or into `out` (and return `out`); or None
    when the call is not the common case this handles:

    - `x` exactly a numpy.ndarray (no subclass), float32 or float64 in native
      byte order, at least 1-D, not empty, C-contiguous and aligned, with
      `axis` an int naming one of its axes: the last one for the row kernels,
      another one (softmax, log_softmax and logsumexp without `where` and
      temperature) for the column kernels (src_c/columns.h), as the general
      path takes them for C-ordered input;
    - `out` None, or exactly a numpy.ndarray of `x`'s dtype (native byte
      order), of the result's shape (`x`'s; without the last axis for
      logsumexp), C-contiguous, aligned and writeable, that either is `x`'s
      memory exactly (in place: all but logsumexp; the kernels read each
      row, or tile of tiny rows, before writing it) or does not overlap `x`
      at all.

    - softmax, log_softmax and logsumexp also take `inv_temperature` (1 / T,
      checked by the caller: finite and > 0; float32 declines beyond
      FLT_MAX, where the general path computes in float64) and `where`: None,
      or exactly a numpy.ndarray of numpy.bool_, C-contiguous, of `x`'s shape
      or 1-D of its last axis's length (the same mask for every row), not
      overlapping `out`; they then go to the masked / tempered kernels.

    The caller checks its other arguments (default options) and runs its
    general path on None, which then handles, or refuses with its own error,
    everything declined here; nothing is written to `out` when None is
    returned."""
    if type(x) is not cnp.ndarray or type(axis) is not int:
        return None
    if op < _OP_SOFTMAX or op > _OP_LOG_SIGMOID:
        raise ValueError(f"unknown fast-path operation {op}")
    cdef const uint8_t *mp = NULL
    cdef int64_t ms = 0
    cdef cnp.ndarray m
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int nd = cnp.PyArray_NDIM(a), k
    if nd < 1 or not (-nd <= axis < nd):
        return None  # (an axis out of range: the general path's AxisError)
    cdef int ax = <int>axis + nd if axis < 0 else <int>axis
    if inv_temperature != 1.0 or where is not None:
        if op > _OP_LOGSUMEXP or not (0.0 < inv_temperature < INFINITY) or ax != nd - 1:
            return None
        if where is not None and type(where) is not cnp.ndarray:
            return None
    if ax != nd - 1 and (op > _OP_LOGSUMEXP or (op == _OP_LOGSUMEXP and out is not None)):
        return None
    cdef int typenum = cnp.PyArray_TYPE(a)
    if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISBEHAVED_RO(a)):
        return None
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(a)
    if n == 0:
        return None
    cdef int64_t cols = cnp.PyArray_DIM(a, nd - 1)
    cdef int64_t rows = n // cols
    # the column kernels' (outer, classes, inner) for another axis
    cdef int64_t inner = _inner_size(a, ax)
    cdef int64_t classes = cnp.PyArray_DIM(a, ax)
    cdef cnp.npy_intp lse_dims[64]
    if typenum == cnp.NPY_FLOAT and inv_temperature > FLT_MAX:
        return None
    if where is not None:
        m = <cnp.ndarray>where
        if (cnp.PyArray_TYPE(m) != cnp.NPY_BOOL or not cnp.PyArray_IS_C_CONTIGUOUS(m)):
            return None
        if cnp.PyArray_NDIM(m) == nd and _same_dims(a, m, nd):
            ms = cols
        elif cnp.PyArray_NDIM(m) == 1 and cnp.PyArray_DIM(m, 0) == cols:
            ms = 0
        else:
            return None
        mp = <const uint8_t *>cnp.PyArray_DATA(m)
    cdef int out_nd = nd - 1 if op == _OP_LOGSUMEXP else nd
    cdef cnp.ndarray y
    cdef const char *x_start
    cdef const char *y_start
    if out is None and op == _OP_LOGSUMEXP and ax != nd - 1:
        for k in range(nd - 1):
            lse_dims[k] = cnp.PyArray_DIM(a, k + (k >= ax))
        y = _new_output(out_nd, lse_dims, typenum)
    elif out is None:
        y = _new_output(out_nd, cnp.PyArray_DIMS(a), typenum)
    else:
        if type(out) is not cnp.ndarray:
            return None
        y = <cnp.ndarray>out
        if (cnp.PyArray_TYPE(y) != typenum or not _same_dims(a, y, out_nd)
                or not (cnp.PyArray_IS_C_CONTIGUOUS(y) and cnp.PyArray_ISBEHAVED(y))):
            return None
        x_start = <const char *>cnp.PyArray_DATA(a)
        y_start = <const char *>cnp.PyArray_DATA(y)
        if y_start == x_start:
            # softmax / log_softmax: same dtype, shape and C order, so the very
            # same elements (in place); logsumexp's shorter out overlaps x
            if op == _OP_LOGSUMEXP:
                return None
        elif _overlaps(a, y):
            return None  # partial overlap: the general path goes through a copy
        if mp != NULL and _overlaps(<cnp.ndarray>where, y):
            return None
    cdef const void *xp = cnp.PyArray_DATA(a)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef int status
    if ax != nd - 1:
        rows = n // (classes * inner)  # the outer slabs
        if n >= _NOGIL_MIN_ELEMENTS:
            with nogil:
                status = _fast_cols_kernel(op, typenum, xp, yp, rows, classes, inner)
        else:
            status = _fast_cols_kernel(op, typenum, xp, yp, rows, classes, inner)
    elif n >= _NOGIL_MIN_ELEMENTS:
        with nogil:
            status = _fast_kernel(op, typenum, xp, yp, rows, cols, mp, ms, inv_temperature)
    else:
        status = _fast_kernel(op, typenum, xp, yp, rows, cols, mp, ms, inv_temperature)
    if status != CSOFTMAX_OK:
        _check(status)
    return y


def nan_row_starts(cnp.ndarray y not None):
    """Whether a row (along the last axis) of `y`, a C-contiguous, aligned
    float32 or float64 array of at least one dimension such as rowwise_fast
    returns, starts with a NaN: csoftmax.special's cheap test (a NumPy
    reduction over the first column cost some 2 us) for log_softmax rows
    that may hold +inf."""
    cdef int nd = cnp.PyArray_NDIM(y)
    cdef int typenum = cnp.PyArray_TYPE(y)
    if (nd < 1 or (typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE)
            or not (cnp.PyArray_IS_C_CONTIGUOUS(y) and cnp.PyArray_ISALIGNED(y))):
        raise ValueError("nan_row_starts takes a C-contiguous, aligned float32 or float64 "
                         "array of at least one dimension")
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(y)
    if n == 0:
        return False
    cdef cnp.npy_intp cols = cnp.PyArray_DIM(y, nd - 1)
    cdef cnp.npy_intp i
    cdef const float *f = <const float *>cnp.PyArray_DATA(y)
    cdef const double *d = <const double *>cnp.PyArray_DATA(y)
    for i in range(0, n, cols):
        if (f[i] != f[i]) if typenum == cnp.NPY_FLOAT else (d[i] != d[i]):
            return True
    return False


# reductions of cross_entropy_fast and binary_cross_entropy_fast
XENT_MEAN = 0
XENT_SUM = 1
XENT_NONE = 2


cdef inline void _neumaier_add(double *s, double *c, double x) noexcept nogil:
    """(s, c) += x: Neumaier's step, the rounding error of s + x kept in c."""
    cdef double u = s[0] + x
    if fabs(s[0]) >= fabs(x):
        c[0] += (s[0] - u) + x
    else:
        c[0] += (x - u) + s[0]
    s[0] = u


cdef inline double _neumaier_total(double s, double c) noexcept nogil:
    """The value of a Neumaier pair; an infinite sum as is (its compensation
    would be NaN, inf - inf)."""
    return s + c if s - s == 0.0 else s


cdef inline double _compensated_sum(const floating *v, int64_t n) noexcept nogil:
    """The sum of v[0..n) in double, as every reduced loss takes it: float64
    terms compensated, float32 terms in double (src_c/loss_sum.h), by the
    kernel set in use (the same bits under each)."""
    if floating is float:
        return csoftmax_loss_sum_f32(v, n)
    else:
        return csoftmax_loss_sum_f64(v, n)


def loss_total(const floating[::1] v not None):
    """The sum of per-row losses in double, as the loss fast paths take it
    (_compensated_sum): the general paths reduce with it too, so that a
    reduced loss has the same bits whichever path computed it (the logits'
    layout, the targets' dtype or an option decide the path)."""
    if v.shape[0] == 0:
        return 0.0
    return _compensated_sum(&v[0], v.shape[0])


cdef bint _fast_arrays(object x, object target, int reduction) except -1:
    """The loss fast paths' first test: both arguments exact ndarrays (False:
    decline); a reduction code out of range is a ValueError."""
    if reduction < XENT_MEAN or reduction > XENT_NONE:
        raise ValueError(f"unknown reduction code {reduction}")
    return type(x) is cnp.ndarray and type(target) is cnp.ndarray


@cython.cdivision(True)
cdef object _fast_reduced(double total, double denominator, int reduction, int typenum):
    """A fast path's reduced loss: the sum `total`, or the mean total /
    denominator with IEEE division as NumPy's (0 / 0 is NaN, a nonzero total
    over a zero weight sum a signed infinity), as a NumPy scalar of the
    logits' dtype."""
    if reduction == XENT_MEAN:
        total = total / denominator
    # the C conversion rounds a float32 overflow to inf (no warning)
    return _np.float32(<float>total) if typenum == cnp.NPY_FLOAT else _np.float64(total)


cdef inline double _weight_of(const floating *w, int64_t k, int64_t ignore_index) noexcept nogil:
    """w[k], or 0 for an ignored row (whose k is not read: w[0] is, a select
    instead of a branch)."""
    cdef bint keep = k != ignore_index
    cdef double v = w[k if keep else 0]
    return v if keep else 0.0


cdef double _weight_sum(const floating *w, const int64_t *t, int64_t rows,
                        int64_t ignore_index) noexcept nogil:
    """Sum in double of w[t_i] over the rows not ignored, in four interleaved
    chains as _compensated_sum (plain double accumulators for float32
    weights, compensated pairs for float64 ones): one chain with its
    compensation spilled to the stack was a sixth of a weighted float32
    1000000 x 3 cross-entropy (perf)."""
    cdef double s0 = 0.0, c0 = 0.0, s1 = 0.0, c1 = 0.0
    cdef double s2 = 0.0, c2 = 0.0, s3 = 0.0, c3 = 0.0
    cdef int64_t i = 0
    if floating is float:
        while i + 4 <= rows:
            s0 += _weight_of(w, t[i], ignore_index)
            s1 += _weight_of(w, t[i + 1], ignore_index)
            s2 += _weight_of(w, t[i + 2], ignore_index)
            s3 += _weight_of(w, t[i + 3], ignore_index)
            i += 4
        while i < rows:
            s0 += _weight_of(w, t[i], ignore_index)
            i += 1
        return (s0 + s1) + (s2 + s3)
    else:
        while i + 4 <= rows:
            _neumaier_add(&s0, &c0, _weight_of(w, t[i], ignore_index))
            _neumaier_add(&s1, &c1, _weight_of(w, t[i + 1], ignore_index))
            _neumaier_add(&s2, &c2, _weight_of(w, t[i + 2], ignore_index))
            _neumaier_add(&s3, &c3, _weight_of(w, t[i + 3], ignore_index))
            i += 4
        while i < rows:
            _neumaier_add(&s0, &c0, _weight_of(w, t[i], ignore_index))
            i += 1
        _neumaier_add(&s0, &c0, s1)
        _neumaier_add(&s0, &c0, s2)
        _neumaier_add(&s0, &c0, s3)
        return _neumaier_total(s0, c0 + c1 + c2 + c3)


def class_weight_sum(const floating[::1] weight not None, const int64_t[::1] target not None,
                     int64_t ignore_index):
    """The weighted mean's denominator: sum of weight[t] over the targets t
    other than ignore_index (each a valid index) in double (_weight_sum); the
    general path and cross_entropy_fast form it alike, so their gradients
    (scaled by its inverse) agree bit for bit."""
    return _weight_sum(&weight[0], &target[0], target.shape[0], ignore_index)


cdef object _fast_weight(object weight, int64_t cols, cnp.ndarray a):
    """A fast path's class weights: None without, the array the kernels
    read (the logits' dtype, contiguous; a float16 / float32 / float64 weight
    rounded and copied as the general path does it: np.array([...]) is
    float64 beside float32 logits), or False to decline (not exactly an
    ndarray, another shape, another dtype)."""
    if weight is None:
        return None
    if type(weight) is not cnp.ndarray:
        return False
    cdef cnp.ndarray wa = <cnp.ndarray>weight
    if cnp.PyArray_NDIM(wa) != 1 or cnp.PyArray_DIM(wa, 0) != cols:
        return False
    if (cnp.PyArray_TYPE(wa) == cnp.PyArray_TYPE(a) and cnp.PyArray_IS_C_CONTIGUOUS(wa)
            and cnp.PyArray_ISBEHAVED_RO(wa)):
        return wa
    cdef int wtype = cnp.PyArray_TYPE(wa)
    if wtype != cnp.NPY_FLOAT16 and wtype != cnp.NPY_FLOAT and wtype != cnp.NPY_DOUBLE:
        return False
    return _np.ascontiguousarray(wa, dtype=a.dtype)


cdef object _fast_class_targets(cnp.ndarray t, int nd=1):
    """nd-D class indices as the loss fast paths read them: `t` itself when
    int64, a contiguous int64 copy of narrower integers (int32 labels:
    exact, as the general path converts them), None otherwise (uint64, whose
    values past 2**63 would wrap; floats; other dimensions)."""
    if cnp.PyArray_NDIM(t) != nd:
        return None
    if cnp.PyArray_TYPE(t) == cnp.NPY_INT64:
        return t
    if (cnp.PyArray_ISINTEGER(t) and cnp.PyArray_ITEMSIZE(t) < 8
            and cnp.PyArray_ISNOTSWAPPED(t)):
        return _np.ascontiguousarray(t, dtype=_np.int64)
    return None


cdef inline bint _overlaps(cnp.ndarray a, cnp.ndarray b):
    """Whether the byte ranges of two contiguous arrays meet."""
    cdef const char *p = <const char *>cnp.PyArray_DATA(a)
    cdef const char *q = <const char *>cnp.PyArray_DATA(b)
    return p < q + cnp.PyArray_NBYTES(b) and q < p + cnp.PyArray_NBYTES(a)


cdef double _class_denominator(const int64_t *t, int64_t rows, int64_t cols, const void *w,
                               int typenum):
    """What a class-target mean divides by: the number of rows not ignored
    (-100), or with weights `w` (the logits' dtype) their targets' weight
    sum; -1 where an index is neither in [0, cols) nor -100."""
    cdef int64_t ignored
    with nogil:
        ignored = csoftmax_count_ignored(t, rows, cols, -100)
    if ignored < 0:
        return -1.0
    if w == NULL:
        return <double>(rows - ignored)
    if typenum == cnp.NPY_FLOAT:
        return _weight_sum(<const float *>w, t, rows, -100)
    return _weight_sum(<const double *>w, t, rows, -100)


cdef bint _any_nan(const void *v, int64_t n, int typenum) noexcept nogil:
    """Whether any of the n float32 (typenum NPY_FLOAT) or float64 values is NaN."""
    cdef int64_t i
    cdef const float *f = <const float *>v
    cdef const double *d = <const double *>v
    if typenum == cnp.NPY_FLOAT:
        for i in range(n):
            if f[i] != f[i]:
                return True
        return False
    for i in range(n):
        if d[i] != d[i]:
            return True
    return False


@cython.cdivision(True)
def cross_entropy_fast(object x, object target, int reduction, bint want_grad,
                       object weight=None, object out=None, double label_smoothing=0.0,
                       double temperature=1.0, object axis=-1):
    """Cross-entropy of logits `x` over their last axis, or over axis 1 of
    logits of 3 dimensions or more (PyTorch's (N, C, d) layout), as `axis`
    (an int) says, against int64
    class indices or probabilities `target`, with any of the options but
    ignore_index (PyTorch's default -100 only): the loss reduced as
    `reduction` says (XENT_MEAN, XENT_SUM, XENT_NONE), and with `want_grad` a
    tuple (loss, gradient); or None when the call is not the common case this
    handles, and csoftmax._losses runs its general path (which raises the
    errors):

    - `x` exactly a numpy.ndarray, float32 or float64 in native byte order,
      at least 2-D and not empty, C-contiguous and aligned;
    - `target` exactly a numpy.ndarray, C-contiguous, aligned, in native byte
      order: int64 class indices (or narrower integers, converted to int64:
      int32 labels) of the logits' shape without the class axis (a "row" is
      one sample: one index along the other axes), each in [0, classes)
      or -100 (the row's loss and gradient are 0, and the mean divides by the
      other rows' count or weight; an index out of range declines); or
      probabilities of the logits' dtype and shape (the mean divides by the
      rows' count);
    - `weight` None, or exactly a numpy.ndarray of one weight per class,
      float16, float32 or float64 (rounded to the logits' dtype and made
      contiguous when it is not already; a class-target mean divides by
      class_weight_sum);
    - `label_smoothing` in [0, 1], `temperature` positive with 1 / T finite
      (in float32 too for float32 logits: else the general path computes in
      float64); anything else (NaN) declines;
    - `out` None (a new gradient), or with `want_grad` exactly a
      numpy.ndarray of the logits' dtype and shape, C-contiguous, aligned and
      writeable, sharing no byte with the logits, targets or weights: the
      gradient is written there and returned (the general path takes any
      other `out`, through a temporary where it overlaps an input). Nothing
      is written to it when None is returned: the kernels check every index
      before they write.

    The mean and sum are sums of the per-row losses in double
    (_compensated_sum); the kernels and arguments are the general path's, so
    are the bits. Along axis 1 that is the column kernel (src_c/columns.h)
    for every option (a mean over no weight declines); the samples whose
    logits' maximum is not finite come back from it with a NaN loss and are
    computed again by the row kernels, by the general path's own code."""
    if not _fast_arrays(x, target, reduction):
        return None
    if not (0.0 <= label_smoothing <= 1.0) or not (0.0 < temperature < INFINITY):
        return None
    cdef double inv_t = 1.0 / temperature
    if not inv_t < INFINITY:
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef cnp.ndarray t = <cnp.ndarray>target
    cdef int nd = cnp.PyArray_NDIM(a), k
    if nd < 2 or type(axis) is not int or not (-nd <= axis < nd):
        return None
    cdef int ax = <int>axis + nd if axis < 0 else <int>axis
    if ax != nd - 1 and ax != 1:
        return None
    cdef bint columns = ax != nd - 1  # axis 1 of 3 dimensions or more
    cdef int typenum = cnp.PyArray_TYPE(a)
    if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
        return None
    if typenum == cnp.NPY_FLOAT and inv_t > FLT_MAX:
        return None
    cdef bint prob
    # the logits' shape without the class axis: the per-sample losses' shape
    cdef cnp.npy_intp lead[64]
    for k in range(nd - 1):
        lead[k] = cnp.PyArray_DIM(a, k + (k >= ax))
    cdef cnp.ndarray target_in = t
    cdef object indices = _fast_class_targets(t, nd - 1)
    if indices is not None:
        prob = False
        t = <cnp.ndarray>indices
        for k in range(nd - 1):
            if cnp.PyArray_DIM(t, k) != lead[k]:
                return None
    elif cnp.PyArray_TYPE(t) == typenum and _same_dims(a, t, nd):
        prob = True
    else:
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISBEHAVED_RO(a)
            and cnp.PyArray_IS_C_CONTIGUOUS(t) and cnp.PyArray_ISBEHAVED_RO(t)):
        return None
    cdef int64_t cols = cnp.PyArray_DIM(a, ax)  # the classes
    if cnp.PyArray_SIZE(a) == 0:
        return None
    cdef int64_t rows = cnp.PyArray_SIZE(a) // cols  # the samples
    # along axis 1: the (outer, cols, inner) blocks of the column kernels
    cdef int64_t outer = cnp.PyArray_DIM(a, 0), inner = rows // outer
    cdef object wobj = _fast_weight(weight, cols, a)
    if wobj is False:
        return None
    cdef cnp.ndarray wa = wobj
    cdef const void *wp = NULL if wa is None else cnp.PyArray_DATA(wa)
    cdef cnp.ndarray grad = None
    if out is not None:
        if not want_grad or type(out) is not cnp.ndarray:
            return None
        grad = <cnp.ndarray>out
        if (cnp.PyArray_TYPE(grad) != typenum or not _same_dims(a, grad, nd)
                or not (cnp.PyArray_IS_C_CONTIGUOUS(grad) and cnp.PyArray_ISBEHAVED(grad))
                or _overlaps(grad, a) or _overlaps(grad, t) or _overlaps(grad, target_in)
                or (wa is not None and _overlaps(grad, wa))):
            return None
    cdef const void *tv = cnp.PyArray_DATA(t)
    cdef const int64_t *tp = <const int64_t *>tv
    cdef cnp.ndarray loss = cnp.PyArray_EMPTY(nd - 1, lead, typenum, 0)
    cdef void *gp = NULL
    if want_grad:
        if grad is None:
            grad = _new_output(nd, cnp.PyArray_DIMS(a), typenum)
        gp = cnp.PyArray_DATA(grad)
    cdef const void *xp = cnp.PyArray_DATA(a)
    cdef void *lp = cnp.PyArray_DATA(loss)
    cdef double e = label_smoothing
    cdef double denominator = <double>rows
    cdef double scale = 1.0
    if reduction == XENT_MEAN:
        scale = 1.0 / denominator
    cdef int status = CSOFTMAX_ERR_TARGET
    if columns:
        if not prob:
            denominator = _class_denominator(tp, rows, cols, wp, typenum)
            if denominator < 0.0:
                return None  # an index out of range: the general path's error
        if reduction == XENT_MEAN:
            if denominator == 0.0:
                return None  # the general path's rows (NaN over no weight)
            scale = 1.0 / denominator
        with nogil:  # (class targets tp, or probabilities tv)
            status = _xent_cols_kernel(typenum, xp, tp, tv, prob, wp, e, inv_t, scale, lp, gp,
                                       outer, cols, inner)
        _check(status)
        if _any_nan(lp, rows, typenum):
            # samples whose maximum is not finite: the general path's fix-up
            from csoftmax import _losses
            _losses._xent_cols_fixup(a, ax, target_in if prob else t.reshape(-1), prob,
                                     wa, -100, e, temperature, scale, want_grad,
                                     loss.reshape(-1), grad)
    elif prob:
        # probability targets: the mean over every row
        with nogil:
            if typenum == cnp.NPY_FLOAT:
                status = csoftmax_xent_prob_f32(<const float *>xp, cols, <const float *>tv, cols,
                                                <const float *>wp, e, inv_t, <float *>lp,
                                                <float *>gp, cols, rows, cols, scale)
            else:
                status = csoftmax_xent_prob_f64(<const double *>xp, cols, <const double *>tv,
                                                cols, <const double *>wp, e, inv_t,
                                                <double *>lp, <double *>gp, cols, rows, cols,
                                                scale)
    elif wp == NULL and e == 0.0 and inv_t == 1.0:
        # every index in [0, classes) (the plain kernel checks them all before
        # it writes anything): the mean divides by the rows' count; else
        # (-100 among them, or a bad index) the scan below decides. One pass
        # over the targets instead of two in the common case.
        with nogil:
            if typenum == cnp.NPY_FLOAT:
                status = csoftmax_cross_entropy_f32(<const float *>xp, cols, tp, <float *>lp,
                                                    <float *>gp, cols, rows, cols, scale)
            else:
                status = csoftmax_cross_entropy_f64(<const double *>xp, cols, tp, <double *>lp,
                                                    <double *>gp, cols, rows, cols, scale)
    if not prob and status == CSOFTMAX_ERR_TARGET:
        # rows ignored (-100) are not counted; another bad index declines
        denominator = _class_denominator(tp, rows, cols, wp, typenum)
        if denominator < 0.0:
            return None
        scale = 1.0
        if reduction == XENT_MEAN:  # as the general path: an infinite scale over no weight
            scale = 1.0 / denominator if denominator != 0.0 else INFINITY
        with nogil:  # the class-target kernel: weights, ignored rows, the options
            if typenum == cnp.NPY_FLOAT:
                status = csoftmax_xent_class_f32(<const float *>xp, cols, tp, <const float *>wp,
                                                 -100, e, inv_t, <float *>lp, <float *>gp, cols,
                                                 rows, cols, scale)
            else:
                status = csoftmax_xent_class_f64(<const double *>xp, cols, tp,
                                                 <const double *>wp, -100, e, inv_t,
                                                 <double *>lp, <double *>gp, cols, rows, cols,
                                                 scale)
    if status == CSOFTMAX_ERR_TARGET:
        return None
    _check(status)
    cdef object value = loss
    if reduction != XENT_NONE:
        value = _fast_reduced(_compensated_sum(<const float *>lp, rows)
                              if typenum == cnp.NPY_FLOAT
                              else _compensated_sum(<const double *>lp, rows),
                              denominator, reduction, typenum)
    return (value, grad) if want_grad else value


include "_losses.pxi"
include "_masked.pxi"
include "_sample.pxi"
include "_columns.pxi"
include "_argmax.pxi"


def binary_cross_entropy_fast(object x, object target, int reduction, bint want_grad,
                              object weight=None, object pos_weight=None):
    """Binary cross-entropy with logits `x` against `target`, reduced as
    `reduction` says (XENT_MEAN: over every element, XENT_SUM, XENT_NONE),
    and with `want_grad` a tuple (loss, gradient); or None when the call is
    not the common case this handles, and csoftmax._losses runs its general
    path (which raises the errors): `x` and `target` exactly numpy.ndarrays
    of one dtype, float32 or float64 in native byte order, of one shape with
    at least one dimension and one element, C-contiguous and aligned;
    `weight` and `pos_weight` None or one value per column of the last axis
    (exactly 1-D numpy.ndarrays, float16 / float32 / float64, rounded to the
    logits' dtype as the general path rounds them), except for reductions of
    BCE_RUNS_MIN_ROWS rows or more of at most BCE_SUM_COLS / 2 columns, whose
    general path sums runs of rows. The rows are the last axis; the outputs
    are new arrays; the mean and sum are compensated sums of partial sums in
    double: of each row, or, without weights, of runs of BCE_SUM_COLS elements
    where the rows are shorter (bce_sum_rows)."""
    if not _fast_arrays(x, target, reduction):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef cnp.ndarray t = <cnp.ndarray>target
    cdef int nd = cnp.PyArray_NDIM(a)
    if nd == 0 or cnp.PyArray_NDIM(t) != nd:
        return None
    cdef int typenum = cnp.PyArray_TYPE(a)
    if (typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE) or cnp.PyArray_TYPE(t) != typenum:
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISBEHAVED_RO(a)
            and cnp.PyArray_IS_C_CONTIGUOUS(t) and cnp.PyArray_ISBEHAVED_RO(t)
            and cnp.PyArray_SAMESHAPE(a, t)):
        return None
    cdef int64_t n = cnp.PyArray_SIZE(a)
    if n == 0:
        return None
    cdef int64_t cols = cnp.PyArray_DIM(a, nd - 1)
    cdef int64_t rows = n // cols
    cdef cnp.npy_intp nrows = <cnp.npy_intp>rows
    cdef object wobj = _fast_weight(weight, cols, a)
    cdef object pobj = _fast_weight(pos_weight, cols, a)
    if wobj is False or pobj is False:
        return None
    if wobj is not None or pobj is not None:
        if (reduction != XENT_NONE and rows >= BCE_RUNS_MIN_ROWS
                and 2 * cols <= BCE_SUM_COLS):
            return None
        return _bce_weighted(a, t, wobj, pobj, reduction, want_grad, rows, cols)
    cdef cnp.ndarray loss = None, row_loss = None, grad = None
    cdef void *lp = NULL
    cdef double *rp = NULL
    cdef void *gp = NULL
    cdef int64_t run_rows = rows, run_cols = cols, rest = 0
    if reduction == XENT_NONE:
        loss = cnp.PyArray_EMPTY(nd, cnp.PyArray_DIMS(a), typenum, 0)
        lp = cnp.PyArray_DATA(loss)
    else:
        run_rows, run_cols, rest = bce_sum_rows(rows, cols)
        nrows = <cnp.npy_intp>(run_rows + (rest > 0))
        row_loss = cnp.PyArray_EMPTY(1, &nrows, cnp.NPY_DOUBLE, 0)
        rp = <double *>cnp.PyArray_DATA(row_loss)
    if want_grad:
        grad = _new_output(nd, cnp.PyArray_DIMS(a), typenum)
        gp = cnp.PyArray_DATA(grad)
    cdef double scale = 1.0 / <double>n if reduction == XENT_MEAN else 1.0
    cdef const char *xp = <const char *>cnp.PyArray_DATA(a)
    cdef const char *tp = <const char *>cnp.PyArray_DATA(t)
    cdef size_t size = cnp.PyArray_ITEMSIZE(a)
    cdef int64_t done = run_rows * run_cols
    cdef int status
    with nogil:
        status = _bce_plain(typenum, xp, tp, lp, rp, gp, run_rows, run_cols, scale)
        if status == 0 and rest > 0:
            status = _bce_plain(typenum, xp + done * size, tp + done * size, NULL, rp + run_rows,
                                NULL if gp == NULL else <char *>gp + done * size, 1, rest, scale)
    _check(status)
    cdef object value = loss
    if reduction != XENT_NONE:
        value = _fast_reduced(_compensated_sum(rp, <int64_t>nrows), <double>n, reduction, typenum)
    return (value, grad) if want_grad else value


# Binary cross-entropy's reduced losses sum partial sums taken over runs of
# this many elements when the rows are shorter (and the logits, targets and
# gradient contiguous): each row's own sum cost as much as its elements'
# losses on rows of a few columns (float32 1000000x3: 6.0 ms, PyTorch 12.3).
BCE_SUM_COLS = 1024
# Weighted reductions take runs of rows (csoftmax._losses._bce_runs) from
# this many rows on: a row's own sum costs about 4 ns on rows of 3 float32
# columns (1000000x3 with weight and pos_weight: 6.5-7.0 ms row by row, 2.2
# in runs), the runs' set-up some 25 us (7x5x33: 0.021 -> 0.045 ms).
BCE_RUNS_MIN_ROWS = 16384


cdef object _bce_weighted(cnp.ndarray a, cnp.ndarray t, object wobj, object pobj,
                          int reduction, bint want_grad, int64_t rows, int64_t cols):
    """binary_cross_entropy_fast with per-column weights (wobj / pobj: the
    contiguous arrays of _fast_weight, or None): one kernel call over the rows
    with the weights' row stride 0, row sums for a reduction, as the general
    path's _bce_arrays makes it (the same bits)."""
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef int typenum = cnp.PyArray_TYPE(a)
    cdef cnp.ndarray wa = wobj, pa = pobj
    cdef const void *wp = NULL if wa is None else cnp.PyArray_DATA(wa)
    cdef const void *pp = NULL if pa is None else cnp.PyArray_DATA(pa)
    cdef cnp.npy_intp nrows = <cnp.npy_intp>rows
    cdef cnp.ndarray loss = None, row_loss = None, grad = None
    cdef void *lp = NULL
    cdef double *rp = NULL
    cdef void *gp = NULL
    if reduction == XENT_NONE:
        loss = cnp.PyArray_EMPTY(nd, cnp.PyArray_DIMS(a), typenum, 0)
        lp = cnp.PyArray_DATA(loss)
    else:
        row_loss = cnp.PyArray_EMPTY(1, &nrows, cnp.NPY_DOUBLE, 0)
        rp = <double *>cnp.PyArray_DATA(row_loss)
    if want_grad:
        grad = _new_output(nd, cnp.PyArray_DIMS(a), typenum)
        gp = cnp.PyArray_DATA(grad)
    cdef int64_t n = rows * cols
    cdef double scale = 1.0 / <double>n if reduction == XENT_MEAN else 1.0
    cdef const void *xp = cnp.PyArray_DATA(a)
    cdef const void *tp = cnp.PyArray_DATA(t)
    cdef int status
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            status = csoftmax_bce_f32(<const float *>xp, cols, <const float *>tp, cols,
                                      <const float *>wp, 0, 1, <const float *>pp, 0, 1,
                                      <float *>lp, cols, rp, <float *>gp, cols, rows, cols,
                                      scale)
        else:
            status = csoftmax_bce_f64(<const double *>xp, cols, <const double *>tp, cols,
                                      <const double *>wp, 0, 1, <const double *>pp, 0, 1,
                                      <double *>lp, cols, rp, <double *>gp, cols, rows, cols,
                                      scale)
    _check(status)
    cdef object value = loss
    if reduction != XENT_NONE:
        value = _fast_reduced(_compensated_sum(rp, rows), <double>n, reduction, typenum)
    return (value, grad) if want_grad else value


cpdef tuple bce_sum_rows(int64_t rows, int64_t cols):
    """(run_rows, run_cols, rest): the partial sums of a binary cross-entropy
    reduction over `rows` contiguous rows of `cols` elements, taken as
    run_rows runs of run_cols elements and one of `rest` (0: none) after
    them; the rows themselves when they are BCE_SUM_COLS long or longer."""
    if cols >= BCE_SUM_COLS or rows * cols < 2 * BCE_SUM_COLS:
        return rows, cols, 0
    cdef int64_t n = rows * cols
    return n // BCE_SUM_COLS, BCE_SUM_COLS, n % BCE_SUM_COLS


cdef int _bce_plain(int typenum, const char *xp, const char *tp, void *lp, double *rp, void *gp,
                    int64_t rows, int64_t cols, double scale) noexcept nogil:
    """Binary cross-entropy, no weight, of contiguous rows (binary_cross_entropy_fast)."""
    if typenum == cnp.NPY_FLOAT:
        return csoftmax_bce_f32(<const float *>xp, cols, <const float *>tp, cols, NULL, 0, 0,
                                NULL, 0, 0, <float *>lp, cols, rp, <float *>gp, cols, rows, cols,
                                scale)
    return csoftmax_bce_f64(<const double *>xp, cols, <const double *>tp, cols, NULL, 0, 0, NULL,
                            0, 0, <double *>lp, cols, rp, <double *>gp, cols, rows, cols, scale)
