#!/usr/bin/env bash
# Installs every build and test dependency of breachwatch from Debian bookworm packages.
# Run as root (or with sudo). Safe to run again: apt-get skips what is already there.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E bash "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake pkg-config git
  libboost1.81-dev libboost-json1.81-dev   # Asio, Beast, Geometry (headers) and Boost.JSON
  libzmq3-dev cppzmq-dev                   # ZeroMQ transport and its C++ binding
  libsqlite3-dev sqlite3                   # the embedded store (and its shell, for audit tests)
  libpq-dev postgresql-15                  # the PostgreSQL store (docs/ha.md); its tests' throw-away cluster
  libsodium-dev                            # SHA-256 for the audit log's hash chain; argon2id console passwords
  libspdlog-dev libfmt-dev                 # logging
  libtomlplusplus-dev                      # TOML config parser
  libcli11-dev                             # command-line parsing
  libhowardhinnant-date-dev tzdata         # IANA time zones (curfews are Europe/London wall clock)
  libsystemd-dev systemd                   # sd_notify; systemd-analyze for unit checks
  googletest libgtest-dev libgmock-dev     # unit and integration tests
  libbenchmark-dev                         # micro-benchmarks
  clang-14 libclang-rt-14-dev llvm-14      # libFuzzer + ASan/UBSan and llvm-symbolizer (scripts/fuzz.sh)
  python3                                  # demo and helper scripts
  gnuplot-nox                              # the pictures of scripts/run-load.sh (docs/benchmarks/)
  libssl-dev openssl                       # HTTPS of breachwatch-console (Beast + OpenSSL); test certificates
  libjs-leaflet                            # the console's map (served locally, no CDN)
  chromium chromium-driver python3-selenium  # the console's browser test (headless Chromium)
)
# apt lists may be missing on a fresh machine; refresh once if a package cannot be found.
if ! apt-get install -y --no-install-recommends "${packages[@]}" >/tmp/breachwatch-apt.log 2>&1; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${packages[@]}"
fi
echo "install-deps: all dependencies present"
