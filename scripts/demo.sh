#!/usr/bin/env bash
# Installs dependencies, builds, and runs the demo: breachwatchd on the shipped example config,
# the feed simulator playing the Lewisham scenario, and a live view of the alerts as they arrive.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target breachwatchd breachctl bw-feedsim

config="$root/config/breachwatch.example.toml"
ctl=("$root/build/tools/breachctl" --config "$config" --officer "MP-DEMO" --reason "breachwatch demo")
state="$root/demo-state"   # the example config's store path is relative: the store lands here
rm -rf "$state" && mkdir -p "$state"

echo "== starting breachwatchd (store in $state, log in $state/breachwatchd.log)"
(cd "$state" && exec "$root/build/daemon/breachwatchd" --config "$config") >"$state/breachwatchd.log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "${ctl[@]}" --timeout-ms 200 status >/dev/null 2>&1 && break
  sleep 0.1
done

echo "== live alert view (breachctl watch): waiting for 3 alerts"
"${ctl[@]}" watch --count 3 --timeout 30 &
watcher=$!
sleep 0.5

echo "== feed simulator: bail granted, check inside Lewisham, check in Greenwich"
"$root/build/tools/bw-feedsim" --config "$config" tools/scenarios/lewisham-demo.jsonl
wait $watcher

echo
echo "== what an officer sees on a person check (breachctl conditions)"
"${ctl[@]}" conditions PNC-79/123456X
echo
echo "== daemon status"
"${ctl[@]}" status
echo
echo "== stopping breachwatchd (SIGTERM)"
kill -TERM $daemon
wait $daemon
trap - EXIT
echo "demo finished; the store is $state/breachwatch.db"
