# Included at the end of _kernels.pyx: the Cython boundary of the argmax
# kernels (src_c/argmax.h), for csoftmax.predict. Same rules as the rest of the
# module: a preallocated output, one C call with the GIL released, no loops.

cdef extern from "argmax.h" nogil:
    int csoftmax_argmax_f32(const float *x, int64_t xo, int64_t xr, int64_t *out,
                            int64_t outer, int64_t n, int64_t inner)
    int csoftmax_argmax_f64(const double *x, int64_t xo, int64_t xr, int64_t *out,
                            int64_t outer, int64_t n, int64_t inner)


def argmax(const floating[:, :, :] x not None, int64_t[:, ::1] out not None):
    """The index of the largest entry along axis 1 of the (outer, n, inner) x
    (contiguous columns where inner > 1; any stride along axis 1), into the
    (outer, inner) out: the first of equal maxima, the first NaN before any
    number (numpy.argmax's rule)."""
    cdef int64_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    if out.shape[0] != outer or out.shape[1] != inner:
        raise ValueError(f"out has shape {(out.shape[0], out.shape[1])}, "
                         f"expected {(outer, inner)}")
    _cols_inner(x.shape, x.strides, sizeof(floating), "x")
    if outer == 0 or inner == 0:
        return
    if n == 0:
        raise ValueError("x has an empty class axis: no argmax")
    if floating is float and n > 2147483647:
        raise ValueError(f"float32 argmax takes at most 2**31 - 1 classes, got {n}")
    cdef int64_t xo = x.strides[0] // sizeof(floating), xr = x.strides[1] // sizeof(floating)
    cdef int status = 0
    with nogil:
        if floating is float:
            status = csoftmax_argmax_f32(&x[0, 0, 0], xo, xr, &out[0, 0], outer, n, inner)
        else:
            status = csoftmax_argmax_f64(&x[0, 0, 0], xo, xr, &out[0, 0], outer, n, inner)
    _check(status)
