"""Loss benchmarks: cases shared by test_bench_losses.py, and a script printing
csoftmax / PyTorch time ratios measured side by side.

    python benchmarks/losses_ratios.py [--repeat 15] [--small] [--statistic median|min]

Each case builds its inputs once and gives three zero-argument calls:
``csoftmax`` (the fused loss + gradient, or the backward pass), ``torch``
(``F.cross_entropy`` / ``F.binary_cross_entropy_with_logits`` forward +
``backward()``, or the backward kernel autograd runs for softmax /
log_softmax: ``torch._softmax_backward_data`` / ``_log_softmax_backward_data``)
and ``numpy floor``: a NumPy call with the kernel's memory traffic, each
full-size input read once and one array of the gradient's shape written into a
preallocated one (``np.copyto(out, logits)`` for class targets, ``np.add(a, b,
out=out)`` where the kernel reads two such arrays: probability targets, binary
cross-entropy's targets, a backward pass's grad_output and output), which no
kernel can beat by much. Both libraries are pinned to one thread. The script
interleaves the calls sample by sample, in alternating order (so machine noise
and the other calls' cache footprint hit all alike), and prints the median (or,
with --statistic min, the fastest) times, the csoftmax / PyTorch ratio and the
csoftmax / floor ratio; the issue's targets are <= 0.2 (of PyTorch) for the
fused losses and <= 0.8 for the backward passes. The backward passes are
also timed on short rows (65536 x 10, 1000000 x 3, 32768 x 32: classifiers
and policy gradients over a few classes or actions, a few dozen classes), with
every cross-entropy option, for which the issue sets no target (binary
cross-entropy is elementwise: no such case), and every case on small batches
(8 x 10, 64 x 100: an agent's step, a small classifier's minibatch), where
the call's overhead is most of the time (no target either), and the
cross-entropy and the backward passes of PyTorch's (N, C, d) input with the
classes on axis 1 (8 x 21 x 4096: per-pixel classes; no target).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import csoftmax

FULL_SHAPES = ((4096, 1000), (256, 32000))
SMALL_SHAPES = ((64, 100), (8, 3200))
# every case on short rows too, no target: tiny rows and a classifier (or a
# multi-label model) with a few dozen classes
TINY_SHAPES = ((65536, 10), (1000000, 3), (32768, 32))
# small batches: the Python call and its checks against PyTorch's dispatch and autograd
BATCH_SHAPES = ((8, 10), (64, 100))
# PyTorch's (N, C, d) input (per-pixel classes: 8 images of 64x64 pixels, 21
# classes), the class axis 1; cross-entropy only, no target
SEGMENTATION_SHAPES = ((8, 21, 4096),)

XENT_OPTIONS = {
    "plain": {},
    "weight": {"weight": True},
    "ignore_index": {"ignore": True},
    "label_smoothing": {"label_smoothing": 0.1},
    "temperature": {"temperature": 2.0},
    "prob_targets": {"probabilities": True},
    "all_options": {"weight": True, "ignore": True, "label_smoothing": 0.1, "temperature": 2.0},
}
BCE_OPTIONS = {"bce": {}, "bce_weight_pos_weight": {"weight": True, "pos_weight": True}}
BACKWARD = ("softmax_backward", "log_softmax_backward")
TARGETS = {"xent": 0.2, "bce": 0.2, "backward": 0.8}
CONTENDERS = ("csoftmax", "torch", "numpy floor")


def pin_single_thread():
    csoftmax.set_num_threads(1)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


def _xent_case(shape, options, dtype, rng):
    import torch
    import torch.nn.functional as F
    axis = 1 if len(shape) == 3 else -1  # (N, C, d): the classes on axis 1
    c = shape[axis]
    lead = tuple(k for i, k in enumerate(shape) if i != axis % len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    if options.get("probabilities"):
        q = rng.random(shape).astype(dtype)
        target = q / q.sum(axis=axis, keepdims=True)
    else:
        target = rng.integers(0, c, lead)
        if options.get("ignore"):
            target.reshape(-1)[::10] = -100
    weight = rng.uniform(0.5, 2.0, c).astype(dtype) if options.get("weight") else None
    e = options.get("label_smoothing", 0.0)
    temp = options.get("temperature", 1.0)

    def ours():
        return csoftmax.cross_entropy_with_grad(x, target, axis=axis, weight=weight,
                                                label_smoothing=e, temperature=temp)

    out = np.empty_like(x)
    floor = ((lambda: np.add(x, target, out=out)) if options.get("probabilities")
             else (lambda: np.copyto(out, x)))

    xt, tt = torch.from_numpy(x), torch.from_numpy(target)
    wt = None if weight is None else torch.from_numpy(weight)

    def theirs():
        z = xt.detach().requires_grad_(True)
        logits = z / temp if temp != 1.0 else z
        loss = F.cross_entropy(logits, tt, weight=wt, label_smoothing=e)
        loss.backward()
        return loss, z.grad

    return {"csoftmax": ours, "torch": theirs, "numpy floor": floor}


def _bce_case(shape, options, dtype, rng):
    import torch
    import torch.nn.functional as F
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    y = rng.random(shape).astype(dtype)
    w = rng.uniform(0.5, 2, shape[-1:]).astype(dtype) if options.get("weight") else None
    p = rng.uniform(0.5, 2, shape[-1:]).astype(dtype) if options.get("pos_weight") else None

    def ours():
        return csoftmax.binary_cross_entropy_with_grad(x, y, weight=w, pos_weight=p)

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    wt = None if w is None else torch.from_numpy(w)
    pt = None if p is None else torch.from_numpy(p)

    def theirs():
        z = xt.detach().requires_grad_(True)
        loss = F.binary_cross_entropy_with_logits(z, yt, weight=wt, pos_weight=pt)
        loss.backward()
        return loss, z.grad

    out = np.empty_like(x)
    return {"csoftmax": ours, "torch": theirs, "numpy floor": lambda: np.add(x, y, out=out)}


def _backward_case(shape, name, dtype, rng):
    import torch
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    log = name == "log_softmax_backward"
    axis = 1 if len(shape) == 3 else -1  # (N, C, d): the classes' axis 1
    y = csoftmax.log_softmax(x, axis=axis) if log else csoftmax.softmax(x, axis=axis)
    ours_fn = csoftmax.log_softmax_backward if log else csoftmax.softmax_backward
    gt, yt = torch.from_numpy(g), torch.from_numpy(y)
    torch_fn = torch._log_softmax_backward_data if log else torch._softmax_backward_data
    tdtype = torch.float32 if dtype == np.float32 else torch.float64

    def ours():
        return ours_fn(g, y, axis=axis)

    def theirs():
        return torch_fn(gt, yt, axis, tdtype)

    out = np.empty_like(g)
    return {"csoftmax": ours, "torch": theirs, "numpy floor": lambda: np.add(g, y, out=out)}


def cases(shapes=FULL_SHAPES, dtype=np.float32, seed=0):
    """(kind, name, shape, builder) for every case; builder() -> {contender: call}
    (CONTENDERS)."""
    out = []
    for shape in shapes:
        for name, opts in XENT_OPTIONS.items():
            out.append(("xent", name, shape,
                        lambda s=shape, o=opts: _xent_case(s, o, dtype,
                                                           np.random.default_rng(seed))))
        if len(shape) == 2:  # (N, C, d): no binary cross-entropy
            for name, opts in BCE_OPTIONS.items():
                out.append(("bce", name, shape,
                            lambda s=shape, o=opts: _bce_case(s, o, dtype,
                                                              np.random.default_rng(seed))))
        for name in BACKWARD:
            out.append(("backward", name, shape,
                        lambda s=shape, n=name: _backward_case(s, n, dtype,
                                                               np.random.default_rng(seed))))
    return out


def interleaved_times(calls, repeat, statistic="median"):
    """Times of each call over `repeat` samples taken in turn, the order
    reversed every other sample; reduced by `statistic` ("median" or "min")."""
    reduce = {"median": np.median, "min": np.min}[statistic]
    for call in calls:  # warm up
        call()
    times = [[] for _ in calls]
    for i in range(repeat):
        order = range(len(calls)) if i % 2 == 0 else range(len(calls) - 1, -1, -1)
        for k in order:
            t0 = time.perf_counter()
            calls[k]()
            times[k].append(time.perf_counter() - t0)
    return [float(reduce(t)) for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--small", action="store_true", help="small shapes (smoke run)")
    parser.add_argument("--statistic", choices=("median", "min"), default="median",
                        help="how the samples of each call are reduced (min: the least disturbed)")
    args = parser.parse_args(argv)
    pin_single_thread()
    print(f"csoftmax {csoftmax.__version__}, ISA {csoftmax.config()['isa']}, 1 thread, float32, "
          f"{args.statistic} of {args.repeat} interleaved samples")
    print(f"{'case':34s} {'shape':>12s} {'csoftmax ms':>12s} {'torch ms':>10s} "
          f"{'ratio':>7s} {'target':>7s} {'':4s} {'floor ms':>9s} {'x floor':>7s}")
    todo = cases(SMALL_SHAPES if args.small else FULL_SHAPES)
    if not args.small:
        todo += [(k, n, s, b, None)
                 for k, n, s, b in cases(TINY_SHAPES + BATCH_SHAPES + SEGMENTATION_SHAPES)]
    for kind, name, shape, build, *no_target in todo:
        calls = build()
        a, b, f = interleaved_times([calls[c] for c in CONTENDERS], args.repeat, args.statistic)
        ratio = a / b
        if no_target:
            target_txt, flag = "-", ""
        else:
            target = TARGETS[kind]
            target_txt, flag = "<=" + str(target), "ok" if ratio <= target else "MISS"
        print(f"{kind + ':' + name:34s} {'x'.join(map(str, shape)):>12s} "
              f"{a * 1e3:12.4f} {b * 1e3:10.4f} {ratio:7.3f} {target_txt:>7s} {flag:4s} "
              f"{f * 1e3:9.4f} {a / f:7.2f}")


if __name__ == "__main__":
    main()
