"""Peak resident memory of csoftmax.softmax on a 2 GB float32 array.

Runs in a fresh process: allocates and fills the input in place (no float64
temporary), resets the kernel's peak-RSS counter (``echo 5 >
/proc/self/clear_refs``, Linux), calls softmax, and compares the peak RSS
(VmHWM) with the RSS before the call plus the output's size. The issue's
bound: peak <= input + output + 5%.

    python scripts/memory_peak.py [--gigabytes 2] [--function softmax]
"""
import argparse
import os

import numpy as np


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--function", default="softmax",
                        choices=["softmax", "log_softmax", "cross_entropy_with_grad"])
    parser.add_argument("--cols", type=int, default=1000)
    args = parser.parse_args()
    import csoftmax

    n = int(args.gigabytes * 2**30) // 4
    rows = n // args.cols
    x = np.empty((rows, args.cols), dtype=np.float32)
    rng = np.random.default_rng(0)
    for start in range(0, rows, 65536):                 # fill without a big temporary
        stop = min(rows, start + 65536)
        x[start:stop] = rng.standard_normal((stop - start, args.cols), dtype=np.float32)
    target = rng.integers(0, args.cols, rows) if args.function.startswith("cross") else None

    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                                    # reset VmHWM to the current RSS
    if target is None:
        y = getattr(csoftmax, args.function)(x)
        out_bytes = y.nbytes
    else:
        loss, y = csoftmax.cross_entropy_with_grad(x, target)
        out_bytes = y.nbytes + np.asarray(loss).nbytes
    peak = status("VmHWM")
    extra = peak - before - out_bytes
    mib = 2**20
    print(f"csoftmax {csoftmax.__version__} {args.function}, isa {csoftmax.config()['isa']}, "
          f"threads {csoftmax.get_num_threads()}, pid {os.getpid()}")
    print(f"input  {x.nbytes / mib:10.1f} MiB  ({rows} x {args.cols} float32)")
    print(f"output {out_bytes / mib:10.1f} MiB")
    print(f"RSS before call          {before / mib:10.1f} MiB (input + interpreter + libraries)")
    print(f"peak RSS during call     {peak / mib:10.1f} MiB")
    print(f"peak - before - output   {extra / mib:10.1f} MiB "
          f"({100 * extra / (x.nbytes + out_bytes):.2f}% of input + output)")
    bound = peak <= before + out_bytes + 0.05 * (x.nbytes + out_bytes)
    print(f"peak <= (before) + output + 5% of (input + output): {bound}")
    return 0 if bound else 1


if __name__ == "__main__":
    raise SystemExit(main())
