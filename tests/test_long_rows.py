"""Long rows whose terms all round alike (the adversarial case for summation in
lanes): the loss kernels' row sums (src_c/losses_body.h: softmax_backward,
log_softmax_backward, binary cross-entropy with a reduction, probability-target
cross-entropy) stay accurate under every ISA. Errors are measured against an
extended-precision evaluation of the same formula on the same (rounded) inputs,
in units of u times the problem's own condition (the sum of the magnitudes
involved), so the bound does not depend on the row length."""
import numpy as np
import pytest

import csoftmax

LD = np.longdouble
N = 1_000_000
BOUND = 8     # measured maxima after the fix: <= 2.1; before: 160-1200 (float64)
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)


def _u(dtype):
    return LD(np.finfo(dtype).eps) / 2


@DTYPES
def test_softmax_backward_long_row(dtype, isa):
    y = np.full((1, N), 0.7 / N, dtype=dtype)
    y[0, 0] = 0.3
    g = np.full((1, N), 0.3, dtype=dtype)
    g[0, 0] = 1.0
    out = csoftmax.softmax_backward(g, y)
    gl, yl = g.astype(LD), y.astype(LD)
    ref = yl * (gl - np.sum(gl * yl))
    condition = _u(dtype) * yl * (np.abs(gl) + np.sum(np.abs(gl * yl)))
    worst = float(np.max(np.abs(out - ref) / condition))
    assert worst <= BOUND, f"softmax_backward error {worst:.3g} u x condition"


@DTYPES
@pytest.mark.parametrize("cols", [2100, 3001, 40000])
def test_softmax_backward_rows_together_equal_rows_alone(dtype, isa, rng, cols):
    """Rows longer than 8 KiB take their output pass inside the next row's sum
    (src_c/simd_losses_body.h, simdl_softmax_backward_overlapped): each row of
    a batch is bitwise the row computed alone, and accurate."""
    x = rng.standard_normal((5, cols)).astype(dtype)
    y = csoftmax.softmax(x)
    g = rng.standard_normal((5, cols)).astype(dtype)
    for start in (0, 1):  # rows (and the output) starting off a cache line too
        gs, ys = g[:, start:], y[:, start:]
        out = csoftmax.softmax_backward(gs, ys)
        for r in range(5):
            alone = csoftmax.softmax_backward(gs[r:r + 1], ys[r:r + 1])[0]
            assert np.array_equal(out[r], alone), (start, r)
        gl, yl = gs.astype(LD), ys.astype(LD)
        dot = np.sum(gl * yl, axis=1, keepdims=True)
        ref = yl * (gl - dot)
        condition = _u(dtype) * yl * (np.abs(gl) + np.sum(np.abs(gl * yl), axis=1, keepdims=True))
        worst = float(np.max(np.abs(out - ref) / condition))
        assert worst <= BOUND, f"softmax_backward error {worst:.3g} u x condition"


@DTYPES
def test_log_softmax_backward_long_row(dtype, isa):
    g = np.full((1, N), 0.3, dtype=dtype)
    g[0, 0] = 1.0
    log_y = np.full((1, N), np.log(0.7 / N), dtype=dtype)
    out = csoftmax.log_softmax_backward(g, log_y)
    gl, yl = g.astype(LD), np.exp(log_y.astype(LD))
    ref = gl - yl * np.sum(gl)
    condition = _u(dtype) * (np.abs(gl) + yl * np.sum(np.abs(gl)))
    worst = float(np.max(np.abs(out - ref) / condition))
    assert worst <= BOUND, f"log_softmax_backward error {worst:.3g} u x condition"


@DTYPES
def test_binary_cross_entropy_sum_long_row(dtype, isa):
    """The reduced loss is the sum of the per-element losses (which are
    checked elsewhere): compared with their extended-precision sum."""
    x = np.full((1, N), 0.37, dtype=dtype)
    t = np.full((1, N), 0.25, dtype=dtype)
    total = csoftmax.binary_cross_entropy(x, t, reduction="sum")
    terms = csoftmax.binary_cross_entropy(x, t, reduction="none")
    ref = np.sum(terms.astype(LD))
    worst = float(abs(LD(total) - ref) / (_u(dtype) * ref))
    assert worst <= BOUND, f"binary_cross_entropy sum error {worst:.3g} u x condition"


@DTYPES
def test_probability_target_cross_entropy_long_row(dtype, isa):
    x = np.full((1, N), -2.5, dtype=dtype)
    x[0, 0] = 0
    q = np.full((1, N), 0.3 / N, dtype=dtype)
    q[0, 0] = 0.7
    loss, grad = csoftmax.cross_entropy_with_grad(x, q, reduction="sum")
    xl, ql = x.astype(LD), q.astype(LD)
    z = xl - xl.max()
    lse = np.log(np.sum(np.exp(z)))
    p = np.exp(z - lse)
    ref_loss = np.sum(ql * (lse - z))
    ref_grad = p * np.sum(ql) - ql
    loss_error = float(abs(LD(loss) - ref_loss) / (_u(dtype) * ref_loss))
    grad_error = float(np.max(np.abs(grad - ref_grad) / (_u(dtype) * (p * np.sum(ql) + ql))))
    assert loss_error <= BOUND and grad_error <= BOUND, \
        f"loss error {loss_error:.3g}, gradient error {grad_error:.3g} u x condition"


@DTYPES
@pytest.mark.parametrize("c", [-1.0, -0.3, -1e-3])
def test_class_target_cross_entropy_near_constant_row(dtype, c, isa):
    """The wide-row kernels' exp sums (src_c/simd_body.h: softmax, log_softmax,
    logsumexp, cross-entropy): a row [0, c, c, ...] whose terms round alike.
    Before the SIMD lanes were compensated the gradient was off by up to 23 u
    x condition (float64, avx2); after: <= 1.4, as on the scalar kernels."""
    x = np.full((2, 100_000), c, dtype=dtype)
    x[:, 0] = 0
    target = np.array([0, 1])
    loss, grad = csoftmax.cross_entropy_with_grad(x, target, reduction="none")
    xl = x.astype(LD)
    z = xl - xl.max(axis=-1, keepdims=True)
    lse = np.log(np.sum(np.exp(z), axis=-1))
    p = np.exp(z - lse[:, None])
    onehot = np.zeros_like(p)
    onehot[[0, 1], target] = 1
    ref_loss = lse - z[[0, 1], target]
    loss_error = float(np.max(np.abs(loss - ref_loss) / (_u(dtype) * np.abs(ref_loss))))
    grad_error = float(np.max(np.abs(grad - (p - onehot)) / (_u(dtype) * (p + onehot))))
    assert loss_error <= 4 and grad_error <= 4, \
        f"loss error {loss_error:.3g}, gradient error {grad_error:.3g} u x condition"


@DTYPES
@pytest.mark.parametrize("cols", [24, 32, 65, 1001, 40000])
def test_softmax_and_cross_entropy_rows_together_equal_rows_alone(dtype, isa, rng, cols):
    """Wide rows are pipelined (src_c/simd_body.h, simd_side): a row's output
    pass (log_softmax's subtraction; softmax's division and cross-entropy's
    gradient scaling on rows longer than 8 KiB, 40000 columns here) and the
    next row's maximum run inside the sum of the row between, or the output
    pass follows its sum with the next row's maximum beside it; rows of a
    few dozen columns go in tiles of rows in lanes: each row of a batch,
    special rows among them (all -inf, a +inf, a NaN, first and last; ignored
    rows), is bitwise the row computed alone, in place too."""
    x = (rng.standard_normal((7, cols)) * 5).astype(dtype)
    x[0] = -np.inf
    x[2, cols // 2] = np.inf
    x[3, cols - 1] = np.nan
    x[6] = -np.inf
    x[6, 0] = 1.0
    x[5, cols - 1] = 40.0  # the maximum in the tail of the row
    target = rng.integers(0, cols, 7)
    target_ignored = target.copy()
    target_ignored[[1, 4]] = -100
    w = rng.random(cols).astype(dtype)
    options = [{}, {"temperature": 0.7}, {"weight": w, "ignore_index": -100},
               {"temperature": 1.6, "weight": w, "ignore_index": -100},
               {"label_smoothing": 0.2}, {"label_smoothing": 0.1, "weight": w, "ignore_index": -100}]
    for rows in (slice(0, 7), slice(1, 7), slice(0, 6), slice(4, 6)):
        xs = x[rows]
        y = csoftmax.softmax(xs)
        ly = csoftmax.log_softmax(xs)
        inplace = xs.copy()
        csoftmax.softmax(inplace, out=inplace)
        log_inplace = xs.copy()
        csoftmax.log_softmax(log_inplace, out=log_inplace)
        for r in range(xs.shape[0]):
            one = xs[r:r + 1]
            assert np.array_equal(y[r], csoftmax.softmax(one)[0], equal_nan=True), (rows, r)
            assert np.array_equal(inplace[r], y[r], equal_nan=True), (rows, r)
            assert np.array_equal(ly[r], csoftmax.log_softmax(one)[0], equal_nan=True), (rows, r)
            assert np.array_equal(log_inplace[r], ly[r], equal_nan=True), (rows, r)
        for kw in options:
            t = target_ignored[rows] if "ignore_index" in kw else target[rows]
            loss, grad = csoftmax.cross_entropy_with_grad(xs, t, reduction="none", **kw)
            loss_only = csoftmax.cross_entropy(xs, t, reduction="none", **kw)
            for r in range(xs.shape[0]):
                one = xs[r:r + 1]
                l1, g1 = csoftmax.cross_entropy_with_grad(one, t[r:r + 1], reduction="none", **kw)
                assert np.array_equal(loss[r:r + 1], l1, equal_nan=True), (kw, rows, r)
                assert np.array_equal(loss_only[r:r + 1], l1, equal_nan=True), (kw, rows, r)
                assert np.array_equal(grad[r], g1[0], equal_nan=True), (kw, rows, r)
    y = csoftmax.softmax(x)
    ok = [1, 4, 5]
    d = x[ok].astype(LD) - x[ok].max(axis=1, keepdims=True)
    ref = np.exp(d) / np.exp(d).sum(axis=1, keepdims=True)
    # float32 rounds x - max on wide rows (README): a relative error up to u |x - max|
    bound = 4 * _u(dtype) * ref * (1 + np.abs(d))
    assert np.all(np.abs(y[ok] - ref) <= bound)
    assert np.isnan(y[[0, 2, 3]]).all()  # no finite maximum, or a NaN
    assert y[6, 0] == 1 and not y[6, 1:].any()


@DTYPES
@pytest.mark.parametrize("cols", [100, 128, 200, 257, 1001])
def test_rows_in_groups_equal_rows_alone(dtype, isa, rng, cols):
    """log_softmax and logsumexp take the log1p of rows of up to 2 KiB eight
    rows at a time and write log_softmax's outputs eight rows late; the
    losses (label smoothing, probability targets too) sixteen rows at a time
    (src_c/simd_body.h: simd_log_softmax_grouped, simd_lossq). Every row of
    batches that end inside a group or on its boundary, special rows at the
    groups' edges (all -inf, +inf, NaN, a NaN row, ignored rows), is bitwise
    the row computed alone, in place too."""
    n = 37
    x = (rng.standard_normal((n, cols)) * 5).astype(dtype)
    x[0] = -np.inf
    x[7, cols // 2] = np.inf
    x[8, cols - 1] = np.nan
    x[15] = np.nan
    x[16] = -np.inf
    x[16, 3] = 2.0
    x[23, cols - 1] = 40.0
    x[31] = np.inf
    target = rng.integers(0, cols, n)
    target[[1, 8, 17, 32]] = -100
    w = rng.random(cols).astype(dtype)
    q = rng.random((n, cols)).astype(dtype)
    q /= q.sum(axis=1, keepdims=True)
    q[17] = 0.0  # a row with no target mass
    for rows in (slice(0, n), slice(1, n), slice(0, 16), slice(0, 8), slice(0, 9),
                 slice(3, 20), slice(5, 6)):
        xs = x[rows]
        ly = csoftmax.log_softmax(xs)
        lse = csoftmax.logsumexp(xs, axis=-1)
        inplace = xs.copy()
        csoftmax.log_softmax(inplace, out=inplace)
        t = target[rows]
        loss = csoftmax.cross_entropy(xs, t, reduction="none", weight=w, ignore_index=-100)
        smooth = csoftmax.cross_entropy(xs, t, reduction="none", weight=w, ignore_index=-100,
                                        label_smoothing=0.1)
        qs = q[rows]
        soft = csoftmax.cross_entropy(xs, qs, reduction="none", weight=w)
        for r in range(xs.shape[0]):
            one = xs[r:r + 1]
            assert np.array_equal(ly[r], csoftmax.log_softmax(one)[0], equal_nan=True), (rows, r)
            assert np.array_equal(inplace[r], ly[r], equal_nan=True), (rows, r)
            assert np.array_equal(lse[r:r + 1], csoftmax.logsumexp(one, axis=-1),
                                  equal_nan=True), (rows, r)
            alone = csoftmax.cross_entropy(one, t[r:r + 1], reduction="none", weight=w,
                                           ignore_index=-100)
            assert np.array_equal(loss[r:r + 1], alone, equal_nan=True), (rows, r)
            alone = csoftmax.cross_entropy(one, t[r:r + 1], reduction="none", weight=w,
                                           ignore_index=-100, label_smoothing=0.1)
            assert np.array_equal(smooth[r:r + 1], alone, equal_nan=True), (rows, r)
            alone = csoftmax.cross_entropy(one, qs[r:r + 1], reduction="none", weight=w)
            assert np.array_equal(soft[r:r + 1], alone, equal_nan=True), (rows, r)
    ly = csoftmax.log_softmax(x)
    lse = csoftmax.logsumexp(x, axis=-1)
    ok = [r for r in range(n) if np.isfinite(x[r]).all()]
    xl = x[ok].astype(LD)
    m = xl.max(axis=1, keepdims=True)
    ref_lse = m[:, 0] + np.log(np.exp(xl - m).sum(axis=1))
    ref = xl - ref_lse[:, None]
    # float32 rounds x - max on wide rows (README): up to u |x - max| more
    assert np.all(np.abs(ly[ok] - ref) <= 4 * _u(dtype) * (np.abs(ref) + np.abs(xl - m) + 1))
    assert np.all(np.abs(lse[ok] - ref_lse) <= 2 * _u(dtype) * np.abs(ref_lse))
    assert np.isnan(ly[[0, 7, 8, 15, 31]]).all() and np.isnan(lse[[8, 15]]).all()
    assert lse[0] == -np.inf and lse[7] == np.inf and lse[31] == np.inf
    assert ly[16, 3] == 0 and (ly[16, np.arange(cols) != 3] == -np.inf).all()


@DTYPES
@pytest.mark.parametrize("cols", [17, 32, 40])
def test_short_rows_in_many_tiles_equal_rows_alone(dtype, isa, rng, cols):
    """Rows of 17-64 float32 / 17-32 float64 columns go in tiles of VN rows,
    software-pipelined (src_c/simd_body.h: each tile's sums before the previous
    tile's output): in batches of several tiles, the last one partial, with
    special rows in different tiles, each row is bitwise the row alone. The
    cross-entropy's soft tiles (label smoothing, probability targets: columns
    as the class-target tiles load them, one tile at a time) too."""
    cols = min(cols, 256 // np.dtype(dtype).itemsize)
    x = (rng.standard_normal((37, cols)) * 5).astype(dtype)
    x[3] = -np.inf
    x[9, cols // 2] = np.inf
    x[17, cols - 1] = np.nan
    x[25, 0] = 200.0 if dtype == np.float64 else 90.0
    x[36] = -np.inf
    x[36, 1] = 0.5
    target = rng.integers(0, cols, 37)
    target_ignored = target.copy()
    target_ignored[[2, 11, 30]] = -100
    w = rng.random(cols).astype(dtype)
    q = rng.random((37, cols)).astype(dtype)
    q /= q.sum(axis=1, keepdims=True)
    q[5, :] = 0.0  # a row without target mass
    options = [{}, {"temperature": 0.7}, {"weight": w, "ignore_index": -100},
               {"temperature": 1.6, "weight": w, "ignore_index": -100},
               {"label_smoothing": 0.2},
               {"label_smoothing": 0.1, "weight": w, "ignore_index": -100, "temperature": 1.3},
               {"probabilities": True}, {"probabilities": True, "weight": w, "temperature": 0.8},
               {"probabilities": True, "label_smoothing": 0.3}]
    for rows in (slice(0, 37), slice(1, 37), slice(0, 33), slice(5, 22)):
        xs = x[rows]
        y, ly = csoftmax.softmax(xs), csoftmax.log_softmax(xs)
        lse = csoftmax.logsumexp(xs, axis=-1)
        inplace = xs.copy()
        csoftmax.log_softmax(inplace, out=inplace)
        assert np.array_equal(inplace, ly, equal_nan=True), rows
        results = []
        for kw in options:
            kw = dict(kw)
            t = (q[rows] if kw.pop("probabilities", False)
                 else target_ignored[rows] if "ignore_index" in kw else target[rows])
            results.append((kw, t) + csoftmax.cross_entropy_with_grad(xs, t, reduction="none", **kw))
        for r in range(xs.shape[0]):
            one = xs[r:r + 1]
            assert np.array_equal(y[r], csoftmax.softmax(one)[0], equal_nan=True), (rows, r)
            assert np.array_equal(ly[r], csoftmax.log_softmax(one)[0], equal_nan=True), (rows, r)
            assert np.array_equal(lse[r], csoftmax.logsumexp(one, axis=-1)[0], equal_nan=True)
            for kw, t, loss, grad in results:
                l1, g1 = csoftmax.cross_entropy_with_grad(one, t[r:r + 1], reduction="none", **kw)
                assert np.array_equal(loss[r:r + 1], l1, equal_nan=True), (kw, rows, r)
                assert np.array_equal(grad[r], g1[0], equal_nan=True), (kw, rows, r)
    d = x[:3].astype(LD) - x[:3].max(axis=1, keepdims=True)
    ref = np.exp(d) / np.exp(d).sum(axis=1, keepdims=True)
    assert np.all(np.abs(csoftmax.softmax(x)[:3] - ref) <= 4 * _u(dtype) * ref * (1 + np.abs(d)))


@DTYPES
@pytest.mark.parametrize("cols", [1024 + 21, 3 * 1024, 1])
def test_binary_cross_entropy_elements_do_not_depend_on_their_place(dtype, cols, isa):
    """Binary cross-entropy and log_sigmoid are elementwise: each element's
    loss and gradient (log_sigmoid) in rows of several blocks (the kernels
    take a block's exponentials in one loop, the rest in a second) are bit
    for bit those of the element alone, special values (+-inf, NaN, beyond
    the exponential's fast range) too."""
    rng = np.random.default_rng(cols)
    x = (rng.standard_normal((3, cols)) * 6).astype(dtype)
    special = [np.inf, -np.inf, np.nan, 1e4, -1e4, 95.0, -95.0, 0.0, -0.0]
    x.flat[5::37] = np.resize(special, x.flat[5::37].shape)
    y = rng.random(x.shape).astype(dtype)
    pos = rng.uniform(0.5, 2.0, cols).astype(dtype)
    log_sig = csoftmax.log_sigmoid(x)
    for r in range(x.shape[0]):
        for c in range(0, cols, 1 if cols <= 2 else 7):
            alone = csoftmax.log_sigmoid(x[r:r + 1, c:c + 1])
            assert np.array_equal(log_sig[r, c], alone[0, 0], equal_nan=True), (r, c)
    for kw in ({}, {"pos_weight": pos}):
        loss = csoftmax.binary_cross_entropy(x, y, reduction="none", **kw)
        _, grad = csoftmax.binary_cross_entropy_with_grad(x, y, reduction="sum", **kw)
        for r in range(x.shape[0]):
            for c in range(0, cols, 1 if cols <= 2 else 7):
                one = {"pos_weight": pos[c:c + 1]} if kw else {}
                xe, ye = x[r:r + 1, c:c + 1], y[r:r + 1, c:c + 1]
                le = csoftmax.binary_cross_entropy(xe, ye, reduction="none", **one)
                _, ge = csoftmax.binary_cross_entropy_with_grad(xe, ye, reduction="sum", **one)
                assert np.array_equal(loss[r, c], le[0, 0], equal_nan=True), (kw, r, c)
                assert np.array_equal(grad[r, c], ge[0, 0], equal_nan=True), (kw, r, c)


@DTYPES
@pytest.mark.parametrize("shape", [(1000, 3), (4097, 1), (3, 4095), (5, 1366), (2, 4096)])
def test_sigmoid_short_rows_taken_as_long_ones(dtype, shape, isa):
    """sigmoid and log_sigmoid take short contiguous rows as rows of 4,096
    elements and one row for the rest (src_c/losses_dispatch.c); every
    element's value is that of the element alone, in the full rows, the
    rest and across their boundaries, with one thread or two, and in place."""
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    x = (rng.standard_normal(shape) * 6).astype(dtype)
    x.flat[5::31] = np.resize([np.inf, -np.inf, np.nan, 1e4, -1e4, 95.0, -0.0],
                              x.flat[5::31].shape)
    flat = x.reshape(-1)
    picks = np.unique(np.r_[np.arange(0, flat.size, 13), np.arange(4090, 4100),
                            np.arange(max(flat.size - 40, 0), flat.size)])
    picks = picks[picks < flat.size]
    before = csoftmax.get_num_threads()
    try:
        for f in (csoftmax.sigmoid, csoftmax.log_sigmoid):
            csoftmax.set_num_threads(1)
            one = f(x)
            csoftmax.set_num_threads(2)
            assert np.array_equal(f(x), one, equal_nan=True), f.__name__
            inplace = x.copy()
            f(inplace, out=inplace)
            assert np.array_equal(inplace, one, equal_nan=True), f.__name__
            alone = np.array([f(flat[i:i + 1])[0] for i in picks])
            assert np.array_equal(one.reshape(-1)[picks], alone, equal_nan=True), f.__name__
    finally:
        csoftmax.set_num_threads(before)
