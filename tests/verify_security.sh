#!/usr/bin/env bash
# Runs `systemd-analyze security` on the shipped unit offline: the overall exposure level must be
# at most 2.0 (--threshold=20, in tenths).  Exit 77 (CTest: skipped) only when systemd-analyze is
# not installed; scripts/install-deps.sh installs systemd, so CI always runs the check.
set -euo pipefail
unit=$1
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIPPED: systemd-analyze is not installed (scripts/install-deps.sh installs systemd)"
  exit 77
fi
# --offline needs a unit file named like the unit; analyze a copy so the path is ours.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name=$(basename "$unit")
cp "$unit" "$work/$name"
status=0
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze security --offline=true --threshold=20 \
  --no-pager "$work/$name" 2>&1) || status=$?
echo "$out" | grep -E '^(✗|→)' || true
if [ "$status" -ne 0 ]; then
  echo "systemd-analyze security: exposure above 2.0 (or the analysis failed, exit $status):"
  echo "$out"
  exit 1
fi
echo "systemd-analyze security: OK (threshold 2.0)"
