#!/usr/bin/env bash
# Builds the daemon, its stage tests and its integration tests with ThreadSanitizer (clang-14,
# -O1, line tables) in build-tsan and runs those tests under it; any data race (or lock-order
# inversion) TSan reports fails the run.  Run by CI (.ci/run) after scripts/test.sh.
#
# Only the targets these tests need are built (breachwatchd, breachctl, stage_tests,
# integration_tests), so the TSan build stays a fraction of CI's time.  The integration tests start
# the TSan-built breachwatchd, which inherits TSAN_OPTIONS: a race in the daemon aborts it
# (halt_on_error) and so fails the test that started it.
#
# Environment:
#   TSAN_BUILD   build directory (default build-tsan)
#   TSAN_JOBS    build parallelism (default: the number of CPUs)
#   TSAN_FILTER  gtest filter for the integration tests (default: Daemon.*).  Not yet clean under
#                TSan, hence not the default: the CURVE/ZAP tests (Security.*: messages the ZAP
#                handler's thread hands over through uninstrumented libzmq are reported as races on
#                the bytes our code reads) and tests whose 10 s waits TSan's slowdown exceeds
#                (Conditions.*).  Run with TSAN_FILTER='*' to see them.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${TSAN_BUILD:-build-tsan}
jobs=${TSAN_JOBS:-$(nproc)}
filter=${TSAN_FILTER:-Daemon.*}
start=$SECONDS
bash scripts/install-deps.sh
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
mkdir -p "$build"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DBREACHWATCH_TSAN=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  "${launcher[@]}" >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$jobs" --target breachwatchd breachctl stage_tests integration_tests
echo "tsan: built in $((SECONDS - start)) s"

export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$PWD/tests/tsan.supp}
if command -v llvm-symbolizer-14 >/dev/null; then
  export TSAN_SYMBOLIZER_PATH=${TSAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi
failed=0
for t in stage_tests integration_tests; do
  t0=$SECONDS
  args=(--gtest_brief=1)
  [ "$t" = integration_tests ] && args+=(--gtest_filter="$filter")
  if "$build/tests/$t" "${args[@]}" >"$build/$t.log" 2>&1; then
    echo "tsan: $t passed in $((SECONDS - t0)) s"
  else
    echo "tsan: $t FAILED (log: $build/$t.log):"
    grep -n -A30 "WARNING: ThreadSanitizer" "$build/$t.log" | head -n 120 || true
    tail -n 40 "$build/$t.log"
    failed=1
  fi
done
echo "tsan: done in $((SECONDS - start)) s"
exit "$failed"
