"""Rows of a few dozen columns (a classifier with 17 to 256 classes), where the
issues set no target: csoftmax's time over PyTorch's and onnxruntime's for
softmax, over PyTorch's forward + backward for the fused cross-entropy, and
over ``torch._softmax_backward_data`` for softmax_backward, one thread each,
on 2**20 elements per shape.

    python benchmarks/short_rows.py [--cols 16 17 24 32 48 64 100 256] [--repeat 15]

The calls of one row are interleaved sample by sample and the fastest sample
of each is kept (this machine is shared and noisy: compare ratios, not
times). Needs torch and onnxruntime (``pip install torch onnxruntime onnx``).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import csoftmax
import contenders


def _fastest(calls: dict, repeat: int) -> dict:
    best = {name: float("inf") for name in calls}
    names = list(calls)
    for i in range(repeat):
        for name in (names if i % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            calls[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def measure(cols: int, dtype, repeat: int, elements: int = 2**20) -> dict:
    import torch
    import torch.nn.functional as F

    rows = elements // cols
    rng = np.random.default_rng(cols)
    x = (rng.standard_normal((rows, cols)) * 2).astype(dtype)
    target = rng.integers(0, cols, rows)
    g = rng.standard_normal((rows, cols)).astype(dtype)
    y = csoftmax.softmax(x)
    out = np.empty_like(x)
    xt, tt, gt, yt = (torch.from_numpy(a) for a in (x, target, g, y))
    session = contenders.onnxruntime_session("softmax", np.dtype(dtype).name, 2)

    def torch_xent():
        leaf = xt.clone().requires_grad_()
        F.cross_entropy(leaf, tt).backward()

    t = _fastest({
        "softmax": lambda: csoftmax.softmax(x, out=out),
        "torch softmax": lambda: torch.softmax(xt, -1),
        "onnxruntime softmax": lambda: session.run(None, {"x": x}),
        "copy": lambda: np.copyto(out, x),
        "xent": lambda: csoftmax.cross_entropy_with_grad(x, target),
        "torch xent": torch_xent,
        "backward": lambda: csoftmax.softmax_backward(g, y),
        "torch backward": lambda: torch._softmax_backward_data(gt, yt, -1, xt.dtype),
    }, repeat)
    return {
        "shape": f"{rows}x{cols}",
        "softmax / torch": t["softmax"] / t["torch softmax"],
        "softmax / onnxruntime": t["softmax"] / t["onnxruntime softmax"],
        "softmax / copy": t["softmax"] / t["copy"],
        "xent+grad / torch fwd+bwd": t["xent"] / t["torch xent"],
        "softmax_backward / torch": t["backward"] / t["torch backward"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cols", type=int, nargs="+", default=[16, 17, 24, 32, 48, 64, 100, 256])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    csoftmax.set_num_threads(1)
    for dtype in (np.float32, np.float64):
        rows = [measure(c, dtype, args.repeat) for c in args.cols]
        keys = [k for k in rows[0] if k != "shape"]
        print(f"\n{np.dtype(dtype).name}: csoftmax time / other time (fastest of {args.repeat})")
        print("| shape | " + " | ".join(keys) + " |")
        print("| --- |" + " ---: |" * len(keys))
        for r in rows:
            print(f"| {r['shape']} | " + " | ".join(f"{r[k]:.2f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
