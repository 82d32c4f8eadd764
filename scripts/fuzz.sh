#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, UB aborts) in build-fuzz,
# replays every committed seed corpus (tests/fuzz/corpus/<target>/; any crash fails), then fuzzes
# each target for a bounded time.  Run by CI (.ci/run) after scripts/test.sh.
#
# Environment:
#   FUZZ_SECONDS   fuzzing time per target (default 60); 0 = replay the corpora only
#   FUZZ_PARALLEL  targets fuzzed at once (default: the number of CPUs, at most 4)
#   FUZZ_JOBS      build parallelism (default: the number of CPUs)
#   FUZZ_BUILD     build directory (default build-fuzz)
#
# New crashes (and timeouts, leaks, out-of-memory inputs) are written to
# $FUZZ_BUILD/crashes/<target>/ and fail the run; reproduce one with
#   $FUZZ_BUILD/tests/fuzz/fuzz_<target> <file>
# and turn it into a unit test named after what it reproduces.  The inputs the fuzzer found
# interesting are kept in $FUZZ_BUILD/corpus/<target>/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
cpus=$(nproc)
parallel=${FUZZ_PARALLEL:-$((cpus < 4 ? cpus : 4))}
jobs=${FUZZ_JOBS:-$cpus}
build=${FUZZ_BUILD:-build-fuzz}
targets=(event_decoder control_request config zone_index)
# -max_len per target: a little above the largest realistic input (seed corpus included).
declare -A max_len=([event_decoder]=8192 [control_request]=8192 [config]=16384 [zone_index]=16384)

start=$SECONDS
bash scripts/install-deps.sh
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# -O1 and line tables only: quick to build, fast enough to fuzz, symbolized stack traces.
mkdir -p "$build"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DBREACHWATCH_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  "${launcher[@]}" >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$jobs" --target fuzz_targets
build_s=$((SECONDS - start))
echo "fuzz: targets built in ${build_s} s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi

failed=0
rm -rf "$build/crashes" "$build/logs"
mkdir -p "$build/logs"

# 1. Replay: every committed seed, one run each.
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  seeds=(tests/fuzz/corpus/"$t"/*)
  if "$bin" -runs=0 -max_len="${max_len[$t]}" "tests/fuzz/corpus/$t" \
    >"$build/logs/$t.replay.log" 2>&1; then
    echo "fuzz: $t: replayed ${#seeds[@]} seed inputs: OK"
  else
    echo "fuzz: $t: REPLAY FAILED (a committed seed crashes):"
    tail -n 40 "$build/logs/$t.replay.log"
    failed=1
  fi
done

# 2. Fuzz each target for $seconds, $parallel at a time.
fuzz_one() {
  local t=$1
  local bin="$build/tests/fuzz/fuzz_$t"
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  "$bin" -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=25 -rss_limit_mb=2048 \
    -dict="tests/fuzz/$t.dict" -artifact_prefix="$build/crashes/$t/" -print_final_stats=1 \
    "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$build/logs/$t.fuzz.log" 2>&1
}
if [ "$seconds" -gt 0 ]; then
  pids=()
  names=()
  for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
    fuzz_one "$t" &
    pids+=($!)
    names+=("$t")
  done
  for i in "${!pids[@]}"; do
    t=${names[$i]}
    status=0
    wait "${pids[$i]}" || status=$?
    log="$build/logs/$t.fuzz.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    found=$(find "$build/crashes/$t" -type f | wc -l)
    corpus=$(find "$build/corpus/$t" -type f | wc -l)
    echo "fuzz: $t: ${execs:-?} executions (${rate:-?}/s) in ${seconds} s," \
      "working corpus $corpus inputs, $found crash(es)"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
      failed=1
      echo "fuzz: $t: FAILED (exit $status); inputs in $build/crashes/$t/:"
      find "$build/crashes/$t" -type f -printf '  %p\n'
      grep -m1 -A30 -E '^==[0-9]+==ERROR|runtime error|FUZZ_CHECK failed|ERROR: libFuzzer' "$log" || tail -n 40 "$log"
    fi
  done
fi

echo "fuzz: total ${SECONDS}s (build ${build_s} s)"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED"
  exit 1
fi
echo "fuzz: OK"
