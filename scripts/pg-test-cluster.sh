#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests (CTest fixture `pg_cluster`, tests/CMakeLists.txt).
#
#   scripts/pg-test-cluster.sh start DIR   initdb in DIR/data, serve on a unix socket in DIR only
#                                          (no TCP), port 5432; prints the conninfo
#   scripts/pg-test-cluster.sh stop DIR    stop it (immediate) and remove DIR
#
# PG_EXTRA_OPTS: more server settings for `start` (e.g. scripts/run-load.sh --pg loads
# pg_stat_statements and a larger shared_buffers), as "-c name=value ...".
#
# initdb refuses to run as root: as root the cluster is made and run by the `postgres` user
# (Debian's postgresql-15 package creates it) in a DIR it owns.  Without PostgreSQL installed,
# `start` fails when CI=true and otherwise exits 0 with a warning (the PostgreSQL tests then skip).
set -euo pipefail

action=${1:-}
dir=${2:-}
if [ -z "$action" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

find_bin() {
  local name=$1 found
  if found=$(command -v "$name" 2>/dev/null); then
    echo "$found"
    return 0
  fi
  for found in /usr/lib/postgresql/*/bin/"$name"; do
    if [ -x "$found" ]; then
      echo "$found"
      return 0
    fi
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    if ! initdb=$(find_bin initdb) || ! pg_ctl=$(find_bin pg_ctl); then
      if [ "${CI:-}" = "true" ]; then
        echo "pg-test-cluster: PostgreSQL is not installed (scripts/install-deps.sh installs postgresql-15)" >&2
        exit 1
      fi
      echo "pg-test-cluster: PostgreSQL not installed; the PostgreSQL tests will skip" >&2
      exit 0
    fi
    # A cluster left behind by an interrupted run.
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    as_owner "$initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # Durable as in production (fsync on), small, quiet; unix socket only.
    as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=5432 \
          -c max_connections=100 -c shared_buffers=32MB -c log_min_messages=warning \
          ${PG_EXTRA_OPTS:-}" \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    chmod 755 "$dir"  # the socket: reachable by the tests' user
    echo "host=$dir port=5432 user=postgres dbname=postgres"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ] && pg_ctl=$(find_bin pg_ctl); then
      as_owner "$pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
