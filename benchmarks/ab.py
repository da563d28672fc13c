"""A/B of two builds of csoftmax's kernels in one process: for judging a kernel change.

    git worktree add /tmp/base HEAD        # the commit to compare against
    (cd /tmp/base && python setup.py build_ext --inplace -q)
    python benchmarks/ab.py /tmp/base [--only REGEX] [--rounds 40]

Cases: each operation on float32 and float64 rows (4096x1000 ... 8192x128), and
softmax, log_softmax, softmax_backward and the losses on the (N, C, d) layout
along axis 1 ("8x21x4096 axis 1", the column kernels).

The extension module of the other build (``csoftmax/_kernels*.so`` under the
directory given, or the file itself) is loaded beside the installed one, and
each case calls csoftmax's public function with one build and then the other,
in alternating order, ``--rounds`` times: both see the same machine state, so
the ratio new / base is far steadier than two ratio tables taken apart on a
noisy machine (an A/A run, the same build loaded from a copy of its file,
reads 1.00 +- 0.02). Printed: the minimum and the median of each build's
times and their ratios (below 1: the installed build is faster). One thread.
"""
from __future__ import annotations

import argparse
import glob
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import time

import numpy as np

import csoftmax
from csoftmax import _api, _kernels, _losses

_USERS = (_api, _losses)  # the modules that call csoftmax._kernels


def load_kernels(where: str):
    """The ``_kernels`` extension module of another build."""
    path = where
    if os.path.isdir(where):
        found = sorted(glob.glob(os.path.join(where, "csoftmax", "_kernels*.so")))
        if not found:
            raise SystemExit(f"ab.py: no csoftmax/_kernels*.so under {where!r} (build it first)")
        path = found[0]
    if os.path.realpath(path) == os.path.realpath(_kernels.__file__):
        raise SystemExit(f"ab.py: {path!r} is the installed build; copy the file for an A/A run")
    loader = importlib.machinery.ExtensionFileLoader("csoftmax._kernels", path)
    spec = importlib.util.spec_from_file_location("csoftmax._kernels", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    _older_fast_path(module)
    return module


def _older_fast_path(module):
    """Builds before commit a032caa: their cross_entropy_fast takes no axis
    (2-D logits along the last one only); it gets one that declines what it
    did not take, as the package of that build called it."""
    fast = module.cross_entropy_fast
    try:
        inspect.signature(fast).bind(*range(9))
        return
    except TypeError:
        pass

    def cross_entropy_fast(x, target, reduction, want_grad, weight=None, out=None,
                           label_smoothing=0.0, temperature=1.0, axis=-1):
        if np.ndim(x) != 2 or axis not in (-1, 1):
            return None
        return fast(x, target, reduction, want_grad, weight, out, label_smoothing, temperature)
    module.cross_entropy_fast = cross_entropy_fast


OPS = ("softmax", "log_softmax", "logsumexp", "cross_entropy", "cross_entropy:loss",
       "cross_entropy:weight",
       "cross_entropy:smoothing", "cross_entropy:temperature", "cross_entropy:probabilities",
       "softmax_backward", "log_softmax_backward", "binary_cross_entropy", "sigmoid",
       "log_sigmoid")


def cases(rng, pattern=""):
    """name -> zero-argument call of the public API, for the names that match
    `pattern` (inputs built once, only for the shapes selected)."""
    out = {}
    for dt in (np.float32, np.float64):
        tag = np.dtype(dt).name
        for n, c in ((4096, 1000), (256, 32000), (65536, 10), (1000000, 3), (32768, 32),
                     (8192, 128)):
            if not any(re.search(pattern, f"{op} {tag} {n}x{c}") for op in OPS):
                continue
            x = rng.standard_normal((n, c)).astype(dt)
            y = np.empty_like(x)
            t = rng.integers(0, c, n)
            w = rng.random(c).astype(dt) + 0.5
            shape = f"{tag} {n}x{c}"
            out[f"softmax {shape}"] = lambda x=x, y=y: csoftmax.softmax(x, out=y)
            out[f"log_softmax {shape}"] = lambda x=x, y=y: csoftmax.log_softmax(x, out=y)
            out[f"logsumexp {shape}"] = lambda x=x: csoftmax.logsumexp(x, axis=-1)
            out[f"cross_entropy {shape}"] = lambda x=x, t=t: csoftmax.cross_entropy_with_grad(x, t)
            out[f"cross_entropy:loss {shape}"] = lambda x=x, t=t: csoftmax.cross_entropy(x, t)
            out[f"cross_entropy:weight {shape}"] = (
                lambda x=x, t=t, w=w: csoftmax.cross_entropy_with_grad(x, t, weight=w))
            b = (rng.random((n, c)) < 0.5).astype(dt)
            out[f"binary_cross_entropy {shape}"] = (
                lambda x=x, b=b: csoftmax.binary_cross_entropy_with_grad(x, b))
            out[f"sigmoid {shape}"] = lambda x=x, y=y: csoftmax.sigmoid(x, out=y)
            out[f"log_sigmoid {shape}"] = lambda x=x, y=y: csoftmax.log_sigmoid(x, out=y)
            if c < 32:
                continue
            out[f"cross_entropy:smoothing {shape}"] = (
                lambda x=x, t=t: csoftmax.cross_entropy_with_grad(x, t, label_smoothing=0.1))
            out[f"cross_entropy:temperature {shape}"] = (
                lambda x=x, t=t: csoftmax.cross_entropy_with_grad(x, t, temperature=2.0))
            p = rng.random((n, c)).astype(dt)
            p /= p.sum(axis=1, keepdims=True)
            out[f"cross_entropy:probabilities {shape}"] = (
                lambda x=x, p=p: csoftmax.cross_entropy_with_grad(x, p))
            sm = csoftmax.softmax(x)
            lsm = csoftmax.log_softmax(x)
            go = rng.standard_normal((n, c)).astype(dt)
            out[f"softmax_backward {shape}"] = lambda go=go, sm=sm: csoftmax.softmax_backward(go, sm)
            out[f"log_softmax_backward {shape}"] = (
                lambda go=go, lsm=lsm: csoftmax.log_softmax_backward(go, lsm))
        # the (N, C, d) layout, classes on axis 1 (the column kernels)
        shape = f"{tag} 8x21x4096 axis 1"
        if not any(re.search(pattern, f"{op} {shape}") for op in OPS):
            continue
        x = rng.standard_normal((8, 21, 4096)).astype(dt)
        t = rng.integers(0, 21, (8, 4096))
        w = rng.random(21).astype(dt) + 0.5
        p = rng.random((8, 21, 4096)).astype(dt)
        p /= p.sum(axis=1, keepdims=True)
        out[f"softmax {shape}"] = lambda x=x: csoftmax.softmax(x, axis=1)
        out[f"log_softmax {shape}"] = lambda x=x: csoftmax.log_softmax(x, axis=1)
        sm = csoftmax.softmax(x, axis=1)
        go = rng.standard_normal(x.shape).astype(dt)
        out[f"softmax_backward {shape}"] = (
            lambda go=go, sm=sm: csoftmax.softmax_backward(go, sm, axis=1))
        out[f"cross_entropy {shape}"] = (
            lambda x=x, t=t: csoftmax.cross_entropy_with_grad(x, t, axis=1))
        out[f"cross_entropy:loss {shape}"] = lambda x=x, t=t: csoftmax.cross_entropy(x, t, axis=1)
        out[f"cross_entropy:weight {shape}"] = (
            lambda x=x, t=t, w=w: csoftmax.cross_entropy_with_grad(x, t, axis=1, weight=w))
        out[f"cross_entropy:smoothing {shape}"] = (
            lambda x=x, t=t: csoftmax.cross_entropy_with_grad(x, t, axis=1, label_smoothing=0.1))
        out[f"cross_entropy:probabilities {shape}"] = (
            lambda x=x, p=p: csoftmax.cross_entropy_with_grad(x, p, axis=1))
    return out


def use(module):
    for m in _USERS:
        m._kernels = module
    # softmax and log_softmax find their column kernel by the row kernel's identity
    _api._COLS_KERNELS = {module.softmax_2d: module.softmax_cols,
                          module.log_softmax_2d: module.log_softmax_cols}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="directory of the other build (or its _kernels*.so)")
    parser.add_argument("--only", default="", help="regular expression on the case names")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    base = load_kernels(args.base)
    new = _kernels
    for k in (base, new):
        k.set_num_threads(1)
    selected = {k: f for k, f in cases(np.random.default_rng(0), args.only).items()
                if re.search(args.only, k)}
    if not selected:
        raise SystemExit(f"ab.py: no case matches {args.only!r}")
    print(f"new: {new.__file__}\nbase: {base.__file__}\nISA {new.get_isa()} / {base.get_isa()}, "
          f"{args.rounds} alternating rounds")
    print(f"{'case':<56} {'base ms':>8} {'new ms':>8} {'min new/base':>13} {'median':>7}")
    try:
        for name, call in selected.items():
            times = {"new": [], "base": []}
            for i in range(args.rounds):
                order = (("new", new), ("base", base)) if i % 2 else (("base", base), ("new", new))
                for label, module in order:
                    use(module)
                    t0 = time.perf_counter()
                    call()
                    times[label].append(time.perf_counter() - t0)
            b, n = np.array(times["base"]), np.array(times["new"])
            print(f"{name:<56} {1e3 * b.min():8.3f} {1e3 * n.min():8.3f} "
                  f"{n.min() / b.min():13.3f} {np.median(n) / np.median(b):7.3f}", flush=True)
    finally:
        use(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
