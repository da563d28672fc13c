"""Speed-up of two threads over one: the kernels' own OpenMP threads, and Python threads.

Kernel threads (issue 3): one call on one array, ``csoftmax.set_num_threads(1)``
against ``set_num_threads(2)``. The two settings are timed alternately, one
after the other, many times; each pair gives a ratio (1-thread time / 2-thread
time) and the script prints the median of the per-call times and the median
of the ratios, so that the load of other processes on this shared machine
falls on both sides alike. Small inputs stay below the size threshold and
must show a ratio of about 1 (never much below).

Python threads: the kernels' threads set to 1, two Python threads each
calling csoftmax on its own array; the GIL is released in the kernels, so two
threads should do the same work in about half the time.

    python scripts/thread_scaling.py [--repeats 41] [--mode kernel|python|both]
"""
import argparse
import statistics
import threading
import time

import numpy as np

import csoftmax


# ---------------------------------------------------------------------------
# kernel (OpenMP) threads


def kernel_cases(rng):
    """name -> zero-argument call, on inputs allocated once."""
    cases = {}

    def rowwise(function, shape, dtype):
        x = rng.standard_normal(shape).astype(dtype)
        out = np.empty_like(x)
        return lambda: function(x, out=out)

    def cross_entropy(shape, dtype):
        x = rng.standard_normal(shape).astype(dtype)
        target = rng.integers(0, shape[1], shape[0])
        return lambda: csoftmax.cross_entropy_with_grad(x, target)

    def logsumexp(shape, dtype):
        x = rng.standard_normal(shape).astype(dtype)
        return lambda: csoftmax.logsumexp(x)

    cases["softmax 4096x1000 f32"] = rowwise(csoftmax.softmax, (4096, 1000), np.float32)
    cases["log_softmax 4096x1000 f64"] = rowwise(csoftmax.log_softmax, (4096, 1000), np.float64)
    cases["logsumexp 4096x1000 f32"] = logsumexp((4096, 1000), np.float32)
    cases["cross_entropy_with_grad 4096x1000 f32"] = cross_entropy((4096, 1000), np.float32)
    cases["softmax 256x32000 f32"] = rowwise(csoftmax.softmax, (256, 32000), np.float32)
    cases["softmax 1000000x3 f32"] = rowwise(csoftmax.softmax, (1_000_000, 3), np.float32)
    cases["softmax 65536x10 f32"] = rowwise(csoftmax.softmax, (65536, 10), np.float32)
    cases["softmax 16384x10 f32"] = rowwise(csoftmax.softmax, (16384, 10), np.float32)
    cases["softmax 1000x10 f32"] = rowwise(csoftmax.softmax, (1000, 10), np.float32)
    cases["softmax 64x100 f32"] = rowwise(csoftmax.softmax, (64, 100), np.float32)
    cases["softmax 8x8192 f32"] = rowwise(csoftmax.softmax, (8, 8192), np.float32)
    return cases


def time_calls(call, calls):
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def kernel_threads(args, rng):
    cases = kernel_cases(rng)
    print(f"kernel threads: csoftmax.set_num_threads(1) vs (2), alternated; median of "
          f"{args.repeats} pairs; each sample lasts >= {args.sample_ms} ms")
    print(f"{'case':42s} {'1 thread':>10s} {'2 threads':>10s} {'ratio':>7s} "
          f"{'(q25-q75)':>13s}")
    try:
        for name, call in cases.items():
            csoftmax.set_num_threads(1)
            call()
            start = time.perf_counter()
            call()
            once = time.perf_counter() - start
            calls = max(1, int(args.sample_ms * 1e-3 / max(once, 1e-7)))
            times = {1: [], 2: []}
            ratios = []
            for k in range(args.repeats):
                pair = {}
                for threads in ((1, 2) if k % 2 == 0 else (2, 1)):
                    csoftmax.set_num_threads(threads)
                    call()                                      # warm this setting
                    pair[threads] = time_calls(call, calls)
                    times[threads].append(pair[threads])
                ratios.append(pair[1] / pair[2])
            q = np.quantile(ratios, [0.25, 0.5, 0.75])
            t1, t2 = statistics.median(times[1]), statistics.median(times[2])
            print(f"{name:42s} {t1 * 1e6:8.1f}us {t2 * 1e6:8.1f}us {q[1]:6.2f}x "
                  f"({q[0]:4.2f}-{q[2]:4.2f})", flush=True)
    finally:
        csoftmax.set_num_threads(0)


# ---------------------------------------------------------------------------
# Python threads


def run(threads, calls, function, inputs):
    per = calls // threads
    barrier = threading.Barrier(threads + 1)

    def worker(k):
        x, out = inputs[k]
        barrier.wait()
        for _ in range(per):
            function(x, out)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    return time.perf_counter() - start


def python_threads(args, rng):
    csoftmax.set_num_threads(1)
    cases = {
        "softmax 4096x1000 f32": (lambda x, o: csoftmax.softmax(x, out=o), (4096, 1000), np.float32),
        "log_softmax 4096x1000 f64": (lambda x, o: csoftmax.log_softmax(x, out=o), (4096, 1000),
                                      np.float64),
        "softmax 1000000x3 f32": (lambda x, o: csoftmax.softmax(x, out=o), (1_000_000, 3),
                                  np.float32),
        "cross_entropy_with_grad 4096x1000 f32": (
            lambda x, o: csoftmax.cross_entropy_with_grad(x, o), (4096, 1000), np.float32),
    }
    print(f"Python threads: kernel threads 1, {args.calls} calls per measurement, median of "
          f"{args.repeats} alternated pairs")
    print(f"{'case':42s} {'1 thread':>10s} {'2 threads':>10s} {'ratio':>7s}")
    try:
        for name, (function, shape, dtype) in cases.items():
            inputs = []
            for _ in range(2):
                x = rng.standard_normal(shape).astype(dtype)
                if name.startswith("cross_entropy"):
                    o = rng.integers(0, shape[1], shape[0])
                else:
                    o = np.empty_like(x)
                inputs.append((x, o))
            times = {1: [], 2: []}
            ratios = []
            for _ in range(args.repeats):
                pair = {threads: run(threads, args.calls, function, inputs) for threads in (1, 2)}
                for threads, value in pair.items():
                    times[threads].append(value)
                ratios.append(pair[1] / pair[2])
            t1, t2 = statistics.median(times[1]), statistics.median(times[2])
            print(f"{name:42s} {t1 * 1e3:8.1f}ms {t2 * 1e3:8.1f}ms "
                  f"{statistics.median(ratios):6.2f}x", flush=True)
    finally:
        csoftmax.set_num_threads(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41)
    parser.add_argument("--calls", type=int, default=16,
                        help="calls per measurement (Python threads)")
    parser.add_argument("--sample-ms", type=float, default=20.0,
                        help="least duration of one timed sample (kernel threads)")
    parser.add_argument("--mode", choices=("kernel", "python", "both"), default="kernel")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"csoftmax {csoftmax.__version__}, isa {csoftmax.config()['isa']}, "
          f"openmp {csoftmax.config()['openmp']}, default threads {csoftmax.get_num_threads()}")
    if args.mode in ("kernel", "both"):
        kernel_threads(args, rng)
    if args.mode in ("python", "both"):
        python_threads(args, rng)


if __name__ == "__main__":
    main()
