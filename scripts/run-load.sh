#!/usr/bin/env bash
# Builds breachwatchd and bw-load in Release, runs the standard end-to-end load
# set against the real daemon (tcp loopback) and rewrites the load section of
# docs/benchmarks.md: only what lies between <!-- load:begin --> and
# <!-- load:end --> (appended when absent); the matcher section written by
# scripts/run-benchmarks.sh is kept.
#
#   bash scripts/run-load.sh                  # the standard set (about 15-25 minutes)
#   NO_RUN=1 bash scripts/run-load.sh         # rewrite the page from the last results
#
# The standard set (100,000 persons unless PERSONS says otherwise):
#   ladder    rates doubling from 1,000/s, then bisected: the highest rate sustained
#             with nothing lost and p99 <= 10 ms; then 20 s at half of it (latency)
#   fixed     150,000 events/s offered for 2 s (the target): what the daemon does
#   backlog   400,000 fixes at once, drain time
#   rss       one instrument with one inline ~64-vertex zone per person: RSS/person
#   startup   stores with 100k and 1M instruments: exec to first answered status
# Each run checks its own correctness (alerts as expected, every event stored).
#
# Environment: BUILD_DIR (build-loadrel), JOBS (2), PERSONS (100000), DAEMON (a
# breachwatchd to measure instead of the one built here; DAEMON_DESC says what it is), LOAD_BIN (a bw-load to use;
# then nothing is built), NO_RUN=1, SKIP="startup1m ..." to leave runs out.  Raw results: $BUILD_DIR/load-results/*.json and *.log.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build-loadrel}
jobs=${JOBS:-2}
persons=${PERSONS:-100000}
out="$build/load-results"
skip=" ${SKIP:-} "
mkdir -p "$out"

if [[ -z "${NO_RUN:-}" ]]; then
  if [[ -n "${LOAD_BIN:-}" ]]; then
    load=("$LOAD_BIN")
  else
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j"$jobs" --target breachwatchd bw-load
    load=("$build/tools/bw-load")
  fi
  [[ -n "${DAEMON:-}" ]] && load+=(--daemon "$DAEMON")
  echo "$(date -u +%FT%TZ) load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/loadavg.txt"
  run() {  # name, args...
    local name=$1
    shift
    if [[ "$skip" == *" $name "* ]]; then
      echo "== $name skipped"
      return
    fi
    echo "== $name: bw-load $*"
    local before
    before=$(cut -d' ' -f1-3 /proc/loadavg)
    "${load[@]}" "$@" --json "$out/$name.json" 2>&1 | tee "$out/$name.log" || true
    echo "$name $before / $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/loadavg.txt"
  }
  run ladder --mode ladder --persons "$persons" --ladder-start 1000 --step-s 8 --latency-s 20
  run fixed --mode fixed --persons "$persons" --rate 150000 --duration-s 2
  run backlog --mode backlog --persons "$persons" --backlog 400000
  run rss --mode rss --persons "$persons"
  run startup100k --mode startup --instruments 100000
  run startup1m --mode startup --instruments 1000000 --restarts 1
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/loadavg.txt"
fi

compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- daemon handlers config tools/load.cc tools/load_population.cc \
  tools/load_population.h 2>/dev/null; then
  commit="$commit (with uncommitted changes in daemon/, handlers/, config/ or the load tool)"
fi
OUT="$out" COMMIT="$commit" COMPILER="$("${compiler:-c++}" --version | head -1)" \
  DAEMON_NOTE="${DAEMON_DESC:-${DAEMON:-}}" python3 scripts/load_report.py
echo "wrote the load section of docs/benchmarks.md"
