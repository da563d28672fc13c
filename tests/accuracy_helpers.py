"""Error measures shared by the accuracy tests (not a test module).

Errors are counted in ulps of the result dtype at the reference value, where
the reference is csoftmax.reference computed in extended precision and NOT
rounded (``dtype=np.longdouble``). For subnormal and zero references the ulp
is the smallest subnormal, so the measure is an absolute one there.

Inputs whose ``x - max`` is not exact in the working precision carry an
unavoidable error of about ``|x - max| * u`` (the problem's condition, the same
for SciPy and PyTorch); ``conditioned=True`` adds that term to the bound.
"""
import numpy as np

from csoftmax import reference

LD = np.longdouble

# Stated bounds, in ulps of the result dtype (measured maxima in the README /
# closing note are well below these; float16 is computed in float32 and
# rounded once, so 1 ulp).
ULPS = {
    "softmax": {np.float16: 1, np.float32: 8, np.float64: 16},
    "log_softmax": {np.float16: 1, np.float32: 4, np.float64: 8},
    "logsumexp": {np.float16: 1, np.float32: 2, np.float64: 2},
}


LSE_L_UNITS = 8


def compute_dtype(dtype):
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def ulp_errors(actual, expected_ld, dtype, extra=0):
    """|actual - expected| - extra, in ulps of `dtype` at `expected`. NaN/inf
    positions must agree exactly (checked here); they count as 0."""
    dtype = np.dtype(dtype)
    actual = np.asarray(actual)
    expected_ld = np.asarray(expected_ld, dtype=LD)
    assert actual.shape == expected_ld.shape, (actual.shape, expected_ld.shape)
    with np.errstate(over="ignore"):
        rounded = expected_ld.astype(dtype)   # may overflow to +-inf: then so must actual
    finite = np.isfinite(rounded)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected_ld),
                                  err_msg="NaN positions differ from the reference")
    np.testing.assert_array_equal(actual[~finite], rounded[~finite],
                                  err_msg="infinities differ from the reference")
    magnitude = np.abs(np.where(finite, rounded, 1))
    with np.errstate(over="ignore"):  # spacing(max) is inf: use the gap below max there
        spacing = np.asarray(np.spacing(magnitude))
    top = np.isinf(spacing)
    spacing[top] = magnitude[top] - np.nextafter(magnitude[top], 0)
    spacing = spacing.astype(LD)
    with np.errstate(invalid="ignore"):  # inf - inf at the (checked) infinite positions
        err = (np.abs(actual.astype(LD) - expected_ld) - extra) / spacing
    return np.where(finite, np.maximum(err, 0), 0)


def _condition_terms(x, axis, dtype):
    """(|z_i|, sum_j p_j |z_j|) * u with z = x - max, for the conditioned bound."""
    u = LD(np.finfo(compute_dtype(dtype)).eps) / 2
    xl = np.moveaxis(np.asarray(x, dtype=LD), axis, -1)
    with np.errstate(all="ignore"):
        z = np.abs(xl - np.max(xl, axis=-1, keepdims=True))
        p = reference.softmax(xl, dtype=LD)
        weighted = np.nansum(np.where(np.isfinite(z), p * z, 0), axis=-1)
    z = np.where(np.isfinite(z), z, 0)
    return np.moveaxis(z * u, -1, axis), weighted * u


def max_ulp_error(name, actual, x, dtype, axis=-1, conditioned=False):
    """The largest error of csoftmax.<name>(x) against the reference, in ulps."""
    expected = getattr(reference, name)(x, axis=axis, dtype=LD)
    extra = 0
    if name == "logsumexp":
        # logsumexp = m + L with L = log(sum(exp(x - m))) in [0, log n]: L carries
        # an absolute error of a few u * L (the exps' ulps), and m + L may cancel
        # (m < 0): allow LSE_L_UNITS * u * L beyond the ulp bound (SciPy and
        # PyTorch cancel alike: ~50 ulp on near-zero results of 3-column rows).
        u = LD(np.finfo(compute_dtype(dtype)).eps) / 2
        xl = np.asarray(x, dtype=LD)
        with np.errstate(all="ignore"):
            m = np.max(xl, axis=axis) if xl.shape[axis] else np.full(expected.shape, -np.inf, LD)
            level = np.abs(expected - m)
        extra = LSE_L_UNITS * u * np.where(np.isfinite(level), level, 0)
    if conditioned:
        zu, wu = _condition_terms(x, axis, dtype)
        if name == "softmax":
            extra = np.abs(expected) * (zu + np.expand_dims(wu, axis))
        elif name == "log_softmax":
            extra = zu + np.expand_dims(wu, axis)
        else:
            extra = extra + wu
    err = ulp_errors(actual, expected, dtype, extra)
    return float(err.max()) if err.size else 0.0


def assert_ulps(name, actual, x, dtype, axis=-1, conditioned=False, bound=None):
    bound = ULPS[name][np.dtype(dtype).type] if bound is None else bound
    worst = max_ulp_error(name, actual, x, dtype, axis=axis, conditioned=conditioned)
    assert worst <= bound, (f"{name} {np.dtype(dtype)}: max error {worst:.3g} ulp "
                            f"> stated bound {bound} ulp")
    return worst


def dyadic(rng, shape, dtype, low=-20.0, high=20.0):
    """Multiples of 1/64 in [low, high): exact in float16 and above, and so is
    every x - max, so any error is the kernel's own."""
    k = rng.integers(int(low * 64), int(high * 64), size=shape)
    return (k / 64).astype(dtype)
