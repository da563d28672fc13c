"""The polynomials P of binary cross-entropy's log1p (simdl_log1p_unit in
src_c/simd_losses_body.h), refitted.

    pip install mpmath && python scripts/fit_log1p_unit.py

log1p(e) for e in [0, 1] is 2 atanh(s) = 2s (1 + z P(z)) with s = e / (2 + e)
in [0, 1/3] and z = s^2 in [0, 1/9]. P minimises the largest relative error of
the whole, z (P(z) - f(z)) / (1 + z f(z)) with f(z) = (atanh(sqrt z) / sqrt z
- 1) / z, over (0, 1/9] (Remez exchange on a grid of 2000 points, 40-digit
arithmetic). Prints, for float32 (degree 3) and float64 (degree 9), the
coefficients from the constant term up, rounded to the type, and the largest
relative error with them rounded so, next to that of atanh's series the
kernel used before (to 1/13 and to 1/31).
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
A = mp.mpf(1) / 9
GRID = [A * j / 2000 for j in range(1, 2001)]


def f(z):
    s = mp.sqrt(z)
    return (mp.atanh(s) / s - 1) / z


def rel_err(c, z):
    p = mp.mpf(0)
    for ck in reversed(c):
        p = p * z + ck
    return z * (p - f(z)) / (1 + z * f(z))


def worst(c):
    return max(abs(rel_err(c, z)) for z in GRID)


def remez(degree, iterations=40):
    n = degree + 1
    pts = [A * (1 - mp.cos(mp.pi * (i + 1) / (n + 1))) / 2 for i in range(n + 1)]
    c = None
    for _ in range(iterations):
        m = mp.matrix(n + 1, n + 1)
        b = mp.matrix(n + 1, 1)
        for i, z in enumerate(pts):
            w = z / (1 + z * f(z))
            for k in range(n):
                m[i, k] = w * z ** k
            m[i, n] = (-1) ** i
            b[i] = w * f(z)
        sol = mp.lu_solve(m, b)
        c, level = [sol[k] for k in range(n)], abs(sol[n])
        vals = [rel_err(c, z) for z in GRID]
        runs, cur = [], (GRID[0], vals[0])
        for z, v in zip(GRID[1:], vals[1:]):
            if mp.sign(v) == mp.sign(cur[1]):
                if abs(v) > abs(cur[1]):
                    cur = (z, v)
            else:
                runs.append(cur)
                cur = (z, v)
        runs.append(cur)
        if len(runs) >= n + 1:
            pts = [r[0] for r in runs[-(n + 1):]]
        if abs(max(abs(v) for v in vals) - level) < level * mp.mpf("1e-4"):
            break
    return c


def main():
    for name, dtype, degree, series in (("float32", np.float32, 3, 13), ("float64", np.float64, 9, 31)):
        c = [dtype(float(ck)) for ck in remez(degree)]
        old = [mp.mpf(1) / k for k in range(3, series + 1, 2)]
        print(f"{name}: P from the constant term up: {[repr(float(ck)) for ck in c]}")
        print(f"  largest relative error {mp.nstr(worst([mp.mpf(float(ck)) for ck in c]), 3)}"
              f" (atanh's series to 1/{series}: {mp.nstr(worst(old), 3)})")


if __name__ == "__main__":
    main()
