#!/usr/bin/env bash
# Installs dependencies, builds everything and runs every test with CTest.
# This is the test command of the README and of CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --timeout 300
