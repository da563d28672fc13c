#!/usr/bin/env bash
# Build csoftmax with AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer)
# in a copy of the source tree under /tmp and run the test-suite against that build.
#
#   scripts/sanitize.sh [pytest args...]      (default: tests/ -m "not slow")
#
# Environment: CC (default gcc; clang works with libclang-rt-14-dev installed),
# CSOFTMAX_ASAN_DIR (default /tmp/csoftmax-asan), PYTHON (default python3).
#
# Nothing is built in the source tree: the tree is copied (no .git, no built
# objects), built with CSOFTMAX_SANITIZE=1 (setup.py: -fsanitize=address,undefined
# -O1 -g) and imported from the copy (PYTHONPATH first; the script checks which
# csoftmax it got). Python itself is not instrumented, so the ASan runtime is
# LD_PRELOADed. PYTHONMALLOC=malloc routes every Python allocation through
# malloc so that LeakSanitizer sees objects leaked by the extension too.
#
# Verdict: any ASan/UBSan error fails the run (halt_on_error). CPython and NumPy
# keep some allocations until exit by design; LeakSanitizer reports are
# therefore written to $DIR/reports and a leak FAILS the run only when one of
# its stack frames lies in csoftmax (the _kernels extension or src_c/); the
# number of other (interpreter) leak reports is printed for information.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=${CSOFTMAX_ASAN_DIR:-/tmp/csoftmax-asan}
PY=${PYTHON:-python3}
export CC=${CC:-gcc}

rm -rf "$DIR/reports"
mkdir -p "$DIR/reports"
if [ "${CSOFTMAX_ASAN_REUSE:-0}" = 1 ] && ls "$DIR"/src/csoftmax/_kernels*.so >/dev/null 2>&1; then
    echo "== reusing the build in $DIR/src (CSOFTMAX_ASAN_REUSE=1)"
else
    echo "== copying $SRC -> $DIR/src"
    rm -rf "$DIR/src"
    mkdir -p "$DIR/src"
    tar -C "$SRC" -cf - \
        --exclude=.git --exclude=build --exclude='*.so' --exclude='csoftmax/_kernels.c' \
        --exclude='*.egg-info' --exclude=__pycache__ --exclude=.hypothesis --exclude=.pytest_cache \
        . | tar -C "$DIR/src" -xf -
    echo "== building with CSOFTMAX_SANITIZE=1 CC=$CC"
    start=$(date +%s)
    (cd "$DIR/src" && CSOFTMAX_SANITIZE=1 "$PY" setup.py -q build_ext --inplace >"$DIR/build.log" 2>&1) \
        || { tail -50 "$DIR/build.log"; exit 1; }
    echo "   built in $(( $(date +%s) - start )) s"
fi

case "$CC" in
    *clang*) ASAN_LIB=$("$CC" -print-file-name=libclang_rt.asan-x86_64.so) ;;
    *)       ASAN_LIB=$("$CC" -print-file-name=libasan.so) ;;
esac
[ -f "$ASAN_LIB" ] || { echo "ASan runtime not found ($ASAN_LIB)"; exit 1; }
SO=$(ls "$DIR"/src/csoftmax/_kernels*.so)
if ! grep -q __asan_init <(nm -D "$SO"); then
    echo "the extension is not instrumented: $SO"; exit 1
fi

cd "$DIR/src"
export PYTHONPATH="$DIR/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONMALLOC=malloc
export ASAN_OPTIONS="detect_leaks=1:malloc_context_size=30:halt_on_error=1:abort_on_error=0:exitcode=86:log_path=$DIR/reports/asan:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export LSAN_OPTIONS="exitcode=0:report_objects=0:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
# The ASan runtime is loaded first, before libpython and everything else; libstdc++
# too, or ASan's __cxa_throw interceptor finds no real function when a C++
# extension (matplotlib's ft2font, ...) throws ("CHECK failed: asan_interceptors").
STDCXX=$("$CC" -print-file-name=libstdc++.so.6)
RUN=(env LD_PRELOAD="$ASAN_LIB:$STDCXX" "$PY")

where=$("${RUN[@]}" -c "import csoftmax; print(csoftmax.__file__)")
case "$where" in
    "$DIR"/src/*) echo "== testing $where" ;;
    *) echo "imported the wrong csoftmax: $where"; exit 1 ;;
esac

# -s: sanitizer reports go to the process's stderr (UBSan ignores log_path when
# ASan is preloaded), which pytest would otherwise capture and lose on a halt;
# stderr is kept in $DIR/reports/stderr.log and searched below.
if [ $# -eq 0 ]; then set -- tests -m "not slow" -q -s -p no:cacheprovider; fi
start=$(date +%s)
set +e
"${RUN[@]}" -m pytest "$@" 2>"$DIR/reports/stderr.log"
status=$?
set -e
elapsed=$(( $(date +%s) - start ))

errors=$( (grep -h -E "ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer)|CHECK failed|runtime error:" \
         "$DIR"/reports/* 2>/dev/null || true) | wc -l)
first_error=$(grep -h -m1 -E "runtime error:|ERROR: AddressSanitizer" "$DIR"/reports/* 2>/dev/null | head -1 || true)
leak_files=$(grep -l "ERROR: LeakSanitizer" "$DIR"/reports/* 2>/dev/null || true)
ours=0
other=0
for f in $leak_files; do
    # one report per process; split it into leak blocks (blank-line separated)
    n_ours=$(awk 'BEGIN{RS=""} /(Direct|Indirect) leak/ && /(_kernels|src_c\/|csoftmax_)/ {n++} END{print n+0}' "$f")
    n_all=$(awk 'BEGIN{RS=""} /(Direct|Indirect) leak/ {n++} END{print n+0}' "$f")
    ours=$((ours + n_ours))
    other=$((other + n_all - n_ours))
done

echo "== sanitizer summary"
echo "   pytest exit status:                  $status (in ${elapsed} s)"
echo "   ASan/UBSan error reports:            $errors ${first_error:+(first: $first_error)}"
echo "   leak reports through csoftmax code:  $ours"
echo "   other leak reports (interpreter):    $other"
echo "   reports in $DIR/reports"
if [ "$errors" -ne 0 ] || [ "$ours" -ne 0 ]; then
    grep -h -A30 -E "ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer)|CHECK failed|runtime error:" \
        "$DIR"/reports/* 2>/dev/null | head -80 || true
    exit 1
fi
exit "$status"
