# Included at the end of _kernels.pyx: the fast path of csoftmax.sample
# (csoftmax/_inference.py), the general path's steps in C on the common case.


cdef int _sample_probs(int typenum, const void *x, void *p, int64_t rows,
                       int64_t cols) noexcept nogil:
    if typenum == cnp.NPY_FLOAT:
        return csoftmax_softmax_f32(<const float *>x, cols, <float *>p, cols, rows, cols)
    return csoftmax_softmax_f64(<const double *>x, cols, <double *>p, cols, rows, cols)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline double _sample_max(const floating *xr, int64_t cols) noexcept nogil:
    """The row's maximum (NaN if it holds one), as np.max takes it."""
    cdef double m = xr[0]
    cdef int64_t j
    for j in range(cols):
        if xr[j] != xr[j]:
            return NAN
        if xr[j] > m:
            m = xr[j]
    return m


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _sample_shift(const floating *xr, double m, double T, double *out,
                               int64_t cols) noexcept nogil:
    """(x - max) in float64, clipped below at -1000 T, then / T: the general
    path's NumPy steps, elementwise, with the same roundings."""
    cdef double floor_ = -1000.0 * T
    cdef double d
    cdef int64_t j
    for j in range(cols):
        d = <double>xr[j] - m
        if not (d >= floor_):  # np.maximum(d, floor_): floor_ unless d >= floor_ (d is not NaN)
            d = floor_
        out[j] = d / T


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline int64_t _sample_pick(const floating *pr, int64_t cols, double u) noexcept nogil:
    """The class whose cumulative sum (float64, term after term as np.cumsum)
    first exceeds u times the row's total; where u * total rounds up to the
    total, the last class of positive probability."""
    cdef double total = 0.0, target
    cdef int64_t j, count = 0
    for j in range(cols):
        total += <double>pr[j]
    target = u * total
    # count of cdf[j] <= target: cdf is non-decreasing, so the first cdf[j] > target
    total = 0.0
    for j in range(cols):
        total += <double>pr[j]
        if total <= target:
            count += 1
        else:
            break
    if count < cols:
        return count
    j = cols - 1
    while j > 0 and not (pr[j] > 0):
        j -= 1
    return j


cdef enum:
    _SAMPLE_BAD_ROW = -1000  # (not a kernel status)


cdef int _sample_prepare(int typenum, const void *x, int64_t rows, int64_t cols, double T,
                         double *maxima, double *shifted, void *probs) noexcept nogil:
    """Each row's maximum (_SAMPLE_BAD_ROW at the first not finite), then the
    probabilities into `probs`: softmax of x (T = 1; `maxima` and `shifted`
    NULL) or of (x - max) / T in float64 (rows x cols `shifted`, `maxima` one
    per row). Returns the kernel's status."""
    cdef const float *xf = <const float *>x
    cdef const double *xd = <const double *>x
    cdef int64_t r
    cdef double m
    for r in range(rows):
        m = _sample_max(xf + r * cols, cols) if typenum == cnp.NPY_FLOAT \
            else _sample_max(xd + r * cols, cols)
        if not (-INFINITY < m < INFINITY):
            return _SAMPLE_BAD_ROW
        if maxima != NULL:
            maxima[r] = m
    if maxima == NULL:
        return _sample_probs(typenum, x, probs, rows, cols)
    for r in range(rows):
        if typenum == cnp.NPY_FLOAT:
            _sample_shift(xf + r * cols, maxima[r], T, shifted + r * cols, cols)
        else:
            _sample_shift(xd + r * cols, maxima[r], T, shifted + r * cols, cols)
    return _sample_probs(cnp.NPY_DOUBLE, shifted, probs, rows, cols)


cdef void _sample_picks(int ptype, const void *probs, int64_t rows, int64_t cols,
                        const double *u, int64_t *out) noexcept nogil:
    """Each row's draw from its probabilities and uniform number (_sample_pick)."""
    cdef int64_t r
    for r in range(rows):
        if ptype == cnp.NPY_FLOAT:
            out[r] = _sample_pick(<const float *>probs + r * cols, cols, u[r])
        else:
            out[r] = _sample_pick(<const double *>probs + r * cols, cols, u[r])


def sample_fast(object x, double T, object generator):
    """csoftmax.sample's common case: `x` exactly a numpy.ndarray, float32 or
    float64, native byte order, C-contiguous and aligned, at least 1-D and
    not empty, the classes along its last axis; `T` the temperature (checked:
    finite, > 0); `generator` a numpy.random.Generator. Returns the int64
    draws (x's shape without the last axis; 0-d for 1-D x), drawn as the
    general path draws them (the same probabilities, cumulative sums, one
    generator.random(rows) call: the same draws for the same generator
    state); None when the call is not that case, or when a row has no finite
    maximum (the general path then raises its error, the generator not
    advanced)."""
    if type(x) is not cnp.ndarray:
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef int typenum = cnp.PyArray_TYPE(a)
    if nd < 1 or (typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE):
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISBEHAVED_RO(a)):
        return None
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(a)
    if n == 0 or not (0.0 < T < INFINITY):
        return None
    cdef int64_t cols = cnp.PyArray_DIM(a, nd - 1)
    cdef int64_t rows = n // cols
    cdef int ptype = typenum if T == 1.0 else cnp.NPY_DOUBLE
    cdef cnp.npy_intp dims[2]
    dims[0] = rows
    dims[1] = cols
    cdef cnp.ndarray probs = _new_output(2, dims, ptype)
    cdef cnp.ndarray maxima = None, shifted = None
    cdef double *mp = NULL
    cdef double *sp = NULL
    if T != 1.0:
        maxima = cnp.PyArray_EMPTY(1, dims, cnp.NPY_DOUBLE, 0)
        mp = <double *>cnp.PyArray_DATA(maxima)
        shifted = _new_output(2, dims, cnp.NPY_DOUBLE)
        sp = <double *>cnp.PyArray_DATA(shifted)
    cdef const void *xp = cnp.PyArray_DATA(a)
    cdef void *pp = cnp.PyArray_DATA(probs)
    cdef int status
    if n >= _NOGIL_MIN_ELEMENTS:
        with nogil:
            status = _sample_prepare(typenum, xp, rows, cols, T, mp, sp, pp)
    else:
        status = _sample_prepare(typenum, xp, rows, cols, T, mp, sp, pp)
    if status == _SAMPLE_BAD_ROW:
        return None
    if status != CSOFTMAX_OK:
        _check(status)
    # one uniform per row, as the general path draws them; one row (an
    # agent's step) takes a NumPy Generator's scalar draw, the same number
    # as random(1)'s from the same state (half the call's time)
    cdef cnp.ndarray uniforms = None
    cdef double u_one
    cdef const double *u = &u_one
    if rows == 1 and type(generator) is _np.random.Generator:
        u_one = generator.random()
    else:
        uniforms = _np.ascontiguousarray(generator.random(rows), dtype=_np.float64)
        if cnp.PyArray_SIZE(uniforms) != rows:
            raise ValueError(f"generator.random({rows}) returned {cnp.PyArray_SIZE(uniforms)} "
                             "numbers")
        u = <const double *>cnp.PyArray_DATA(uniforms)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(nd - 1, cnp.PyArray_DIMS(a), cnp.NPY_INT64, 0)
    cdef int64_t *op = <int64_t *>cnp.PyArray_DATA(out)
    if n >= _NOGIL_MIN_ELEMENTS:
        with nogil:
            _sample_picks(ptype, pp, rows, cols, u, op)
    else:
        _sample_picks(ptype, pp, rows, cols, u, op)
    return out


def one_hot_fast(object labels, int64_t classes, object dtype):
    """csoftmax.one_hot's common case: `labels` exactly a numpy.ndarray of
    int64 (native byte order, C-contiguous, aligned), `classes` >= 1 and
    `dtype` a numpy.dtype of float32, float64, bool or int64. Returns the
    one-hot array (labels.shape + (classes,)); None when the call is not that
    case or a label is out of range (the general path then raises its
    error)."""
    if type(labels) is not cnp.ndarray or classes < 1:
        return None
    cdef cnp.ndarray t = <cnp.ndarray>labels
    if (cnp.PyArray_TYPE(t) != cnp.NPY_INT64 or not cnp.PyArray_IS_C_CONTIGUOUS(t)
            or not cnp.PyArray_ISBEHAVED_RO(t)):
        return None
    cdef int typenum = (<cnp.dtype>dtype).type_num if isinstance(dtype, _np.dtype) else -1
    if (typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_BOOL
            and typenum != cnp.NPY_INT64) or not (<cnp.dtype>dtype).isnative:
        return None
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(t)
    cdef const int64_t *lab = <const int64_t *>cnp.PyArray_DATA(t)
    cdef cnp.npy_intp i
    for i in range(n):
        if lab[i] < 0 or lab[i] >= classes:
            return None
    cdef int nd = cnp.PyArray_NDIM(t)
    if nd >= 32:
        return None
    cdef cnp.npy_intp dims[32]
    for i in range(nd):
        dims[i] = cnp.PyArray_DIM(t, i)
    dims[nd] = classes
    cdef cnp.ndarray out = cnp.PyArray_ZEROS(nd + 1, dims, typenum, 0)
    cdef char *base = <char *>cnp.PyArray_DATA(out)
    for i in range(n):
        if typenum == cnp.NPY_FLOAT:
            (<float *>base)[i * classes + lab[i]] = 1.0
        elif typenum == cnp.NPY_DOUBLE:
            (<double *>base)[i * classes + lab[i]] = 1.0
        elif typenum == cnp.NPY_BOOL:
            (<uint8_t *>base)[i * classes + lab[i]] = 1
        else:
            (<int64_t *>base)[i * classes + lab[i]] = 1
    return out
