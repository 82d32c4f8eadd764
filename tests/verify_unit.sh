#!/usr/bin/env bash
# Runs systemd-analyze verify on the shipped unit, with ExecStart pointed at the
# freshly built binary (verify checks that the executable exists).
set -euo pipefail
unit=$1
binary=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is not installed" >&2
  exit 1
fi
name=$(basename "$unit")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|^ExecStart=[^ ]*|ExecStart=${binary}|" "$unit" >"$work/$name"
# A user the unit names must exist for verify to be quiet; fall back to root in CI sandboxes.
user=$(sed -n 's/^User=//p' "$unit")
if [ -n "$user" ] && ! getent passwd "$user" >/dev/null; then
  sed -i 's/^User=.*/User=root/; s/^Group=.*/Group=root/' "$work/$name"
fi
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$work/$name" 2>&1) || {
  echo "$out"
  exit 1
}
# verify prints warnings without failing; treat any line about our unit as a failure.
if echo "$out" | grep -q "$name"; then
  echo "$out"
  exit 1
fi
# The daemon's unit must set the resource limits issue 12 asks for (descriptors, memory, tasks).
if [ "$name" = breachwatchd.service ]; then
  for key in LimitNOFILE MemoryMax TasksMax; do
    if ! grep -q "^${key}=" "$unit"; then
      echo "the unit sets no ${key}="
      exit 1
    fi
  done
fi
echo "systemd-analyze verify: OK"
