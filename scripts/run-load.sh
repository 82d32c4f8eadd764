#!/usr/bin/env bash
# Builds breachwatchd and bw-load in Release, runs the end-to-end load set
# against the real daemon (tcp loopback) and rewrites the load section of
# docs/benchmarks.md: only what lies between <!-- load:begin --> and
# <!-- load:end --> (appended when absent), and its pictures in
# docs/benchmarks/*.svg (gnuplot); the matcher section written by
# scripts/run-benchmarks.sh is kept.
#
#   bash scripts/run-load.sh                  # the standard set (about 45-60 minutes on the
#                                             # shared 2-core machine; see docs/benchmarks.md)
#   bash scripts/run-load.sh --quick          # a shorter set (about 10-15 minutes)
#   NO_RUN=1 bash scripts/run-load.sh         # rewrite the page from the last results
#   bash scripts/run-load.sh --pg             # the PostgreSQL backend (about 10-15 minutes):
#                                             # its own section of docs/benchmarks.md (below)
#
# The standard set (100,000 persons unless PERSONS says otherwise):
#   ladder    rates doubling from 1,000/s, then bisected: the highest rate sustained
#             with nothing lost and p99 <= 10 ms; then 3 runs of 20 s at half of it
#             (the latency targets: median and spread)
#   fixed     150,000 events/s offered for 2 s (the target): what the daemon does
#   backlog   400,000 fixes at once, drain time
#   rss       one instrument with one inline ~64-vertex zone per person: RSS/person
#   startup   stores with 100k and 1M instruments: exec to READY=1, the first start a full
#             replay, the later ones from the snapshot the daemon wrote after it
#   fault     2,000 events/s for 30 s with one commit stalled 1 s at 10 s (an fsync
#             stall): p99 before, during and after, and nothing lost
# fixed, backlog, rss and fault are each run REPEATS times (3; the page shows the
# median and the range).  --quick: 20,000 persons, shorter ladder steps, one run
# each, no 1M start-up (the page then says that target was not measured).
# Each run checks its own correctness (alerts as expected, every event stored).
#
# Environment: BUILD_DIR (build-loadrel), JOBS (2), PERSONS, REPEATS, DAEMON (a
# breachwatchd to measure instead of the one built here; DAEMON_DESC says what it
# is), LOAD_BIN (a bw-load to use; then nothing is built), NO_RUN=1,
# SKIP="startup1m ..." to leave runs out, RUN_NOTE (a sentence the page shows at
# the top, e.g. that a run was cut short), KEEP_RESULTS=1 to keep the results of
# earlier runs (by default a run starts from an empty results directory, so the
# page never mixes runs).  Raw results: $BUILD_DIR/load-results/*.json and *.log.
#
# --pg: the PostgreSQL backend (docs/ha.md) beside SQLite.  Starts a throw-away cluster
# (scripts/pg-test-cluster.sh: unix socket, fsync and synchronous_commit on as in production,
# pg_stat_statements loaded, shared_buffers 256MB), and runs with PERSONS (20,000) persons:
#   ladder-pg-N   REPEATS (3) ladders on PostgreSQL (steps of 4 s doubling from 500/s, 2
#                 bisections, one 10 s run at half the maximum): sustained events/s and p99
#   saturate-pg   20,000 events/s offered for 3 s: events handled per second, and the commit
#                 profile (batches, time in them, daemon and server CPU, WAL fsyncs, the
#                 statements' server time) that says what bounds it
#   ladder-sqlite, saturate-sqlite   the same once on SQLite, at the same time on the same
#                 machine (SKIP="sqlite" leaves them out; SKIP="ladder" or "saturate" those)
# and rewrites only what lies between <!-- load-pg:begin --> and <!-- load-pg:end --> of
# docs/benchmarks.md (appended when absent; scripts/load_pg_report.py).  Raw results:
# $PG_RESULTS (default $BUILD_DIR/load-results-pg).  BEFORE=DIR adds a before/after table
# from an earlier --pg run's results (e.g. of the daemon before a change: DAEMON=...).
# NO_REPORT=1 leaves the page alone (for such an earlier run).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--pg" ]]; then
  shift
  build=${BUILD_DIR:-build-loadrel}
  out=${PG_RESULTS:-$build/load-results-pg}
  persons=${PERSONS:-20000}
  repeats=${REPEATS:-3}
  skip=" ${SKIP:-} "
  if [[ -z "${NO_RUN:-}" ]]; then
    if [[ -n "${LOAD_BIN:-}" ]]; then
      load=("$LOAD_BIN")
    else
      cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
      cmake --build "$build" -j"${JOBS:-2}" --target breachwatchd bw-load
      load=("$build/tools/bw-load")
    fi
    [[ -n "${DAEMON:-}" ]] && load+=(--daemon "$DAEMON")
    rm -rf "$out"
    mkdir -p "$out"
    cluster=/tmp/bw-pgload-$$
    trap 'scripts/pg-test-cluster.sh stop "$cluster"' EXIT
    conninfo=$(PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements \
      -c track_wal_io_timing=on -c shared_buffers=256MB -c max_wal_size=2GB" \
      scripts/pg-test-cluster.sh start "$cluster" | tail -1)
    [[ "$conninfo" == host=* ]] || { echo "no PostgreSQL cluster: $conninfo" >&2; exit 1; }
    psql "$conninfo" -Atc "SELECT version()" >"$out/server.txt"
    psql "$conninfo" -Atc "SELECT name || ' = ' || setting FROM pg_settings WHERE name IN \
      ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'full_page_writes', \
      'wal_level', 'max_wal_size')" >>"$out/server.txt"
    echo "${DAEMON_DESC:-${DAEMON:-breachwatchd built here}} at $(git rev-parse --short HEAD)" \
      >"$out/daemon.txt"
    echo "$persons" >"$out/persons.txt"
    t0=$(date +%s)
    run() {  # file, args...
      local file=$1 before
      shift
      echo "== $file: bw-load $*"
      before=$(cut -d' ' -f1-3 /proc/loadavg)
      "${load[@]}" "$@" --json "$out/$file.json" 2>&1 | tee "$out/$file.log" || true
      echo "$file $before / $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/loadavg.txt"
    }
    ladder=(--mode ladder --persons "$persons" --ladder-start 500 --step-s 4 --bisect 2
      --latency-s 10 --latency-repeats 1)
    saturate=(--mode fixed --persons "$persons" --rate 20000 --duration-s 3)
    if [[ "$skip" != *" ladder "* ]]; then
      for ((i = 1; i <= repeats; i++)); do
        run "ladder-pg-$i" "${ladder[@]}" --pg "$conninfo"
      done
    fi
    [[ "$skip" != *" saturate "* ]] && run saturate-pg "${saturate[@]}" --pg "$conninfo" || true
    if [[ "$skip" != *" sqlite "* ]]; then
      [[ "$skip" != *" ladder "* ]] && run ladder-sqlite "${ladder[@]}" || true
      [[ "$skip" != *" saturate "* ]] && run saturate-sqlite "${saturate[@]}" || true
    fi
    echo $(( ($(date +%s) - t0 + 30) / 60 )) >"$out/minutes.txt"
  fi
  if [[ -z "${NO_REPORT:-}" ]]; then
    OUT="$out" BEFORE="${BEFORE:-}" RUN_NOTE="${RUN_NOTE:-}" python3 scripts/load_pg_report.py
    echo "wrote the PostgreSQL load section of docs/benchmarks.md"
  fi
  exit 0
fi

quick=
if [[ "${1:-}" == "--quick" ]]; then
  quick=1
  shift
fi
build=${BUILD_DIR:-build-loadrel}
jobs=${JOBS:-2}
out="$build/load-results"
skip=" ${SKIP:-} "
if [[ -n "$quick" ]]; then
  persons=${PERSONS:-20000}
  repeats=${REPEATS:-1}
  skip="$skip startup1m "
  kind=quick
else
  persons=${PERSONS:-100000}
  repeats=${REPEATS:-3}
  kind=standard
fi
command -v gnuplot >/dev/null || echo "warning: no gnuplot (apt-get install gnuplot-nox): the pictures will not be drawn" >&2
mkdir -p "$out"

minutes=
if [[ -z "${NO_RUN:-}" ]]; then
  if [[ -n "${LOAD_BIN:-}" ]]; then
    load=("$LOAD_BIN")
  else
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j"$jobs" --target breachwatchd bw-load
    load=("$build/tools/bw-load")
  fi
  [[ -n "${DAEMON:-}" ]] && load+=(--daemon "$DAEMON")
  if [[ -z "${KEEP_RESULTS:-}" ]]; then
    rm -rf "$out"
    mkdir -p "$out"
  fi
  echo "$kind" >"$out/kind.txt"
  t0=$(date +%s)
  echo "$(date -u +%FT%TZ) load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/loadavg.txt"
  run() {  # name, times, args...
    local name=$1 times=$2
    shift 2
    if [[ "$skip" == *" $name "* ]]; then
      echo "== $name skipped"
      return
    fi
    local i file before
    for ((i = 1; i <= times; i++)); do
      file=$name
      ((i > 1)) && file="$name-$i"
      echo "== $file: bw-load $*"
      before=$(cut -d' ' -f1-3 /proc/loadavg)
      "${load[@]}" "$@" --json "$out/$file.json" 2>&1 | tee "$out/$file.log" || true
      echo "$file $before / $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/loadavg.txt"
    done
  }
  if [[ -n "$quick" ]]; then
    run ladder 1 --mode ladder --persons "$persons" --ladder-start 1000 --step-s 4 --bisect 2 \
      --latency-s 10 --latency-repeats 3
    run fixed "$repeats" --mode fixed --persons "$persons" --rate 150000 --duration-s 1
    run backlog "$repeats" --mode backlog --persons "$persons" --backlog 400000
    run rss "$repeats" --mode rss --persons "$persons"
    run startup100k 1 --mode startup --instruments 100000 --restarts 2
    run fault "$repeats" --mode fault --persons "$persons" --rate 2000 --duration-s 20 \
      --stall-at-s 8 --stall-ms 1000 --stall-commits 1
  else
    run ladder 1 --mode ladder --persons "$persons" --ladder-start 1000 --step-s 8 \
      --latency-s 20 --latency-repeats 3
    run fault "$repeats" --mode fault --persons "$persons" --rate 2000 --duration-s 30 \
      --stall-at-s 10 --stall-ms 1000 --stall-commits 1
    run backlog "$repeats" --mode backlog --persons "$persons" --backlog 400000
    run rss "$repeats" --mode rss --persons "$persons"
    run fixed "$repeats" --mode fixed --persons "$persons" --rate 150000 --duration-s 2
    run startup100k 1 --mode startup --instruments 100000
    run startup1m 1 --mode startup --instruments 1000000 --restarts 2
  fi
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/loadavg.txt"
  minutes=$(( ($(date +%s) - t0 + 30) / 60 ))
  echo "$minutes" >"$out/minutes.txt"
fi

[[ -z "$minutes" && -f "$out/minutes.txt" ]] && minutes=$(cat "$out/minutes.txt")
[[ -f "$out/kind.txt" ]] && kind=$(cat "$out/kind.txt")
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- daemon handlers config tools/load.cc tools/load_population.cc \
  tools/load_population.h 2>/dev/null; then
  commit="$commit (with uncommitted changes in daemon/, handlers/, config/ or the load tool)"
fi
OUT="$out" COMMIT="$commit" COMPILER="$("${compiler:-c++}" --version | head -1)" \
  DAEMON_NOTE="${DAEMON_DESC:-${DAEMON:-}}" RUN_KIND="$kind" RUN_MINUTES="$minutes" \
  RUN_NOTE="${RUN_NOTE:-}" \
  python3 scripts/load_report.py
echo "wrote the load section of docs/benchmarks.md and its pictures in docs/benchmarks/"
