"""The float64 exp polynomial of src_c/exp_impl.h (CSM_EXP64_C2 .. C11), refitted.

    pip install mpmath && python scripts/fit_exp64.py

exp(r) ~ 1 + r + r^2 (c2 + c3 r + ... + c11 r^9) on the reduced range
[-a, a], a = 1.0002 ln2/2 (the Cody-Waite reduction's range, with margin for
the rounding of n and for the low part of x - max). The coefficients level the
relative error (p(r) - exp(r)) / exp(r) at the 11 Chebyshev extrema of [-a, a]
with alternating signs (the first step of Remez's algorithm, in 50-digit
arithmetic), which is within a few percent of the minimax error here. Prints
each coefficient as a 20-digit literal, the largest relative error on a grid of
4001 points, and whether the literals in exp_impl.h are the same doubles.
"""
import os
import re

import mpmath as mp

mp.mp.dps = 50
DEGREE = 11                # of the whole polynomial: c2 .. c11
N = DEGREE - 1             # unknown coefficients
A = mp.log(2) / 2 * mp.mpf("1.0002")


def rel_err(c, r):
    q = mp.mpf(0)
    for ck in reversed(c):
        q = q * r + ck
    return (1 + r + r * r * q - mp.exp(r)) / mp.exp(r)


def fit():
    pts = [A * mp.cos(mp.pi * (N - i) / N) for i in range(N + 1)]
    m = mp.matrix(N + 1, N + 1)
    b = mp.matrix(N + 1, 1)
    for i, r in enumerate(pts):
        er = mp.exp(r)
        for k in range(N):
            m[i, k] = r ** (k + 2) / er
        m[i, N] = (-1) ** i
        b[i] = (er - 1 - r) / er
    sol = mp.lu_solve(m, b)
    return [sol[k] for k in range(N)]


def main():
    c = fit()
    worst = max(abs(rel_err(c, -A + 2 * A * j / 4000)) for j in range(4001))
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "src_c", "exp_impl.h")) as f:
        header = dict(re.findall(r"#define CSM_EXP64_C(\d+) (\S+)", f.read()))
    same = True
    for k, ck in enumerate(c, start=2):
        lit = mp.nstr(ck, 20, min_fixed=1, max_fixed=0)
        ok = str(k) in header and float(header[str(k)]) == float(ck)
        same &= ok
        print(f"#define CSM_EXP64_C{k} {lit}{'' if ok else '   (exp_impl.h differs)'}")
    print(f"largest relative error on [-a, a]: {mp.nstr(worst, 3)} (2^{mp.nstr(mp.log(worst, 2), 3)})")
    print("exp_impl.h holds these doubles" if same else "exp_impl.h differs")


if __name__ == "__main__":
    main()
