#!/usr/bin/env bash
# Installs dependencies, builds, and runs the demo: breachwatchd on the shipped example config,
# the control-room console in the browser (loopback only), the feed simulator playing the
# Lewisham scenario, and a live view of the alerts as they arrive.  Run from a terminal, it keeps
# running until Enter so that the console can be looked at; otherwise it stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target breachwatchd breachctl bw-feedsim breachwatch-console

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

console_port=${BREACHWATCH_CONSOLE_PORT:-7680}
console_user=demo
console_password=breachwatch-demo
echo "== starting breachwatch-console (log in $state/console.log)"
printf '%s\n' "$console_password" |
  "$root/build/console/breachwatch-console" hash-password --username "$console_user" \
    --identity CR-LEWISHAM --role control_room --control-id E09000023 \
    >"$state/console-users.toml"
cat >"$state/console.toml" <<EOF
[http]
listen = "127.0.0.1:$console_port"
static_dir = "$root/console/static"
[daemon]
control_endpoint = "tcp://127.0.0.1:7602"
alerts_endpoint = "tcp://127.0.0.1:7601"
[users]
file = "$state/console-users.toml"
[audit]
file = "$state/console-audit.jsonl"
[map]
zones_file = "$root/config/zones/london_lad22_bgc_wgs84.geojson"
EOF
"$root/build/console/breachwatch-console" --config "$state/console.toml" >"$state/console.log" 2>&1 &
console=$!
trap 'kill -TERM $console $daemon 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "listening on" "$state/console.log" && break
  sleep 0.1
done
echo "   console: http://127.0.0.1:$console_port/  login: $console_user / $console_password"

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
if [ -t 0 ]; then
  echo "== the console is at http://127.0.0.1:$console_port/ (login $console_user / $console_password);"
  echo "   from another machine: ssh -L $console_port:127.0.0.1:$console_port this-host"
  read -r -p "   press Enter to stop the demo " _
fi
echo "== stopping breachwatch-console and breachwatchd (SIGTERM)"
kill -TERM $console
wait $console || true
kill -TERM $daemon
wait $daemon
trap - EXIT
echo "demo finished; the store is $state/breachwatch.db"
