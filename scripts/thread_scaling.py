"""Speed-up of two Python threads over one, calling csoftmax on large arrays.

The kernels' own OpenMP threads are set to 1 so that only the Python threads
run in parallel; the GIL is released in the kernels, so two threads should do
the same work in about half the time. Interleaved repetitions, best of each.

    python scripts/thread_scaling.py [--repeats 7] [--calls 16]
"""
import argparse
import threading
import time

import numpy as np

import csoftmax


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=16)
    args = parser.parse_args()
    csoftmax.set_num_threads(1)
    rng = np.random.default_rng(0)
    cases = {
        "softmax 4096x1000 f32": (lambda x, o: csoftmax.softmax(x, out=o), (4096, 1000), np.float32),
        "log_softmax 4096x1000 f64": (lambda x, o: csoftmax.log_softmax(x, out=o), (4096, 1000),
                                      np.float64),
        "softmax 1000000x3 f32": (lambda x, o: csoftmax.softmax(x, out=o), (1_000_000, 3),
                                  np.float32),
        "cross_entropy_with_grad 4096x1000 f32": (
            lambda x, o: csoftmax.cross_entropy_with_grad(x, o), (4096, 1000), np.float32),
    }
    print(f"csoftmax {csoftmax.__version__}, isa {csoftmax.config()['isa']}, kernel threads 1, "
          f"{args.calls} calls per measurement, best of {args.repeats}")
    print(f"{'case':42s} {'1 thread':>10s} {'2 threads':>10s} {'speed-up':>9s}")
    for name, (function, shape, dtype) in cases.items():
        inputs = []
        for _ in range(2):
            x = rng.standard_normal(shape).astype(dtype)
            if name.startswith("cross_entropy"):
                o = rng.integers(0, shape[1], shape[0])
            else:
                o = np.empty_like(x)
            inputs.append((x, o))
        best = {1: np.inf, 2: np.inf}
        for _ in range(args.repeats):
            for threads in (1, 2):
                best[threads] = min(best[threads], run(threads, args.calls, function, inputs))
        print(f"{name:42s} {best[1] * 1e3:8.1f}ms {best[2] * 1e3:8.1f}ms {best[1] / best[2]:8.2f}x")


if __name__ == "__main__":
    main()
