#!/usr/bin/env bash
# Run csoftmax under emulated x86-64 CPUs (qemu-user) and check that it picks
# the right kernel and computes correctly on each:
#
#   Westmere        SSE4.2, no AVX              -> isa "scalar"
#   Haswell         AVX2 + FMA, no AVX-512      -> isa "avx2"
#   Skylake-Server  AVX-512 F/DQ/BW/VL          -> isa "avx512" if this qemu emulates
#                                                  AVX-512, else "avx2" (qemu <= 9 TCG
#                                                  has no AVX-512: the CPUID bits are
#                                                  dropped with a warning, and the
#                                                  dispatcher must then choose avx2)
#
#   scripts/qemu_check.sh [--quick] [PYTHON]
#
# PYTHON: the interpreter whose csoftmax is checked (default: $VIRTUAL_ENV's
# python, else python3 on PATH). It must be an x86-64 ELF binary (or a symlink
# to one, like a venv's bin/python), not a wrapper script such as a pyenv shim.
# The csoftmax checked is the one that interpreter imports (installed, editable
# or through PYTHONPATH, which qemu passes on); the tests run from a scratch
# directory holding a copy of tests/ and pyproject.toml, so the source tree's
# csoftmax/ is never picked up by accident.
#
# Per CPU: `import csoftmax; csoftmax.config()["isa"]` is asserted, then pytest:
#   default:  tests/test_softmax.py tests/test_exp_accuracy.py tests/test_cross_entropy.py
#             -m "not slow" (every test; ~5-10 min per CPU on a 2-core machine)
#   --quick:  a selection of those tests (-k below; ~1-3 min in all), for CI
# Skylake-Server gets only the config check when qemu has no AVX-512 (its tests
# would repeat Haswell's).
#
# qemu-user is installed with apt-get when missing and we are root; when it
# cannot be, the script prints "SKIP: ..." and exits 0 (QEMU_CHECK_REQUIRED=1
# makes that a failure). Exit status 1 on any wrong kernel or failed test.
set -uo pipefail

QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ge 1 ]; then
    PY=$1
elif [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PY=$VIRTUAL_ENV/bin/python
else
    PY=$(command -v python3)
fi

skip() {
    echo "SKIP: $*"
    [ "${QEMU_CHECK_REQUIRED:-0}" = 1 ] && exit 1
    exit 0
}

[ "$(uname -m)" = x86_64 ] || skip "the host is $(uname -m), not x86_64"
if ! command -v qemu-x86_64 >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing qemu-user (apt-get)"
        { DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user >/dev/null 2>&1 \
          || { apt-get update -q >/dev/null 2>&1 \
               && DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user >/dev/null 2>&1; }; } \
          || skip "qemu-user could not be installed with apt-get"
    fi
    command -v qemu-x86_64 >/dev/null 2>&1 \
        || skip "qemu-x86_64 not found (install qemu-user; needs root and apt-get here)"
fi
if [ "$(head -c 4 "$(readlink -f "$PY")" 2>/dev/null | od -An -c | tr -d ' ')" != '177ELF' ]; then
    echo "error: $PY is not an ELF binary (a wrapper script?); pass the interpreter itself,"
    echo "       e.g. \$($PY -c 'import sys; print(sys.executable)')"
    exit 2
fi

# --quick: ~230 of the ~1100 tests (per test, qemu costs ~0.2-0.5 s): every ISA-parametrized
# kernel check at awkward lengths, layouts, non-finite values, seeds and the loss reference;
# on a CPU whose kernel is not scalar the scalar-forced variants are left out (Westmere runs them).
K_QUICK='lengths_and_tails or special_values or overflow_and_underflow or test_layouts or rows_sum_to_one or nonfinite or test_seed or (test_matches_reference and not gaussian and not exact_shift) or gradient_rows_sum_to_zero'
FILES=(tests/test_softmax.py tests/test_exp_accuracy.py tests/test_cross_entropy.py)

RUN=$(mktemp -d /tmp/csoftmax-qemu.XXXXXX)
trap 'rm -rf "$RUN"' EXIT
cp -r "$SRC/tests" "$SRC/pyproject.toml" "$RUN/"
cd "$RUN"

echo "== $(qemu-x86_64 --version | head -1)"
echo "== python: $PY; csoftmax: $("$PY" -c 'import csoftmax; print(csoftmax.__file__)')"
echo "== mode: $([ $QUICK = 1 ] && echo "quick (-k: $K_QUICK)" || echo full)"

status=0
start_all=$(date +%s)
for cpu in Westmere Haswell Skylake-Server; do
    start=$(date +%s)
    # which requested CPUID features this qemu cannot emulate (its TCG warnings)
    missing=$(qemu-x86_64 -cpu "$cpu" /bin/true 2>&1 | sed -n 's/.*requested feature: CPUID[^.]*\.[^.]*\.\([a-z0-9_]*\).*/\1/p' | tr '\n' ' ')
    case "$cpu" in
        Westmere) want=scalar ;;
        Haswell) want=avx2 ;;
        Skylake-Server)
            if [[ " $missing " == *" avx512f "* ]]; then want=avx2; else want=avx512; fi ;;
    esac
    got=$(qemu-x86_64 -cpu "$cpu" "$PY" -c 'import csoftmax; print(csoftmax.config()["isa"])' 2>/dev/null)
    rc=$?
    if [ $rc -ne 0 ] || [ "$got" != "$want" ]; then
        echo "FAIL $cpu: isa=${got:-<import failed, status $rc>} (expected $want)"
        qemu-x86_64 -cpu "$cpu" "$PY" -c 'import csoftmax; print(csoftmax.config())' 2>&1 \
            | grep -v "TCG doesn't support" | tail -5
        status=1
        continue
    fi
    line="$cpu: isa=$got (expected $want)"
    [ -n "$missing" ] && line="$line; not emulated by qemu: $missing"
    echo "== $line"
    if [ "$cpu" = Skylake-Server ] && [ "$want" != avx512 ]; then
        echo "   (no AVX-512 in this qemu: the avx512 kernels are NOT exercised; config check only)"
        continue
    fi
    args=("${FILES[@]}" -m "not slow" -q -p no:cacheprovider)
    if [ $QUICK = 1 ]; then
        if [ "$want" = scalar ]; then args+=(-k "$K_QUICK"); else args+=(-k "($K_QUICK) and not scalar"); fi
    fi
    qemu-x86_64 -cpu "$cpu" "$PY" -m pytest "${args[@]}" >"$RUN/pytest-$cpu.log" 2>&1
    rc=$?
    summary=$(grep -v "TCG doesn't support" "$RUN/pytest-$cpu.log" | tail -1)
    echo "   pytest ($(( $(date +%s) - start )) s): $summary"
    if [ "$rc" -ne 0 ]; then
        grep -E "^(FAILED|ERROR)|Illegal instruction|Fatal Python error" "$RUN/pytest-$cpu.log" | head -20
        status=1
    fi
done
echo "== qemu check: $([ $status = 0 ] && echo ok || echo FAILED) in $(( $(date +%s) - start_all )) s"
exit $status
