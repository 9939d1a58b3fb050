#!/usr/bin/env bash
# A PostgreSQL cluster of your own for development, in a directory you choose, on loopback.
#
# Usage: bash scripts/pg.sh start DIR [PORT]   # creates DIR/data on first start; prints the URL
#        bash scripts/pg.sh stop DIR
#
# Trust authentication, superuser `aisle`, a database `aisle`; listens on 127.0.0.1:PORT
# (default 55432) and on a unix socket in DIR. As root the PostgreSQL programs run as the
# `postgres` system user (initdb refuses root), the way the tests' aisle-pgtest does. Needs
# the `postgresql` package (scripts/setup.sh installs it); no system service is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  echo "usage: bash scripts/pg.sh start DIR [PORT] | stop DIR" >&2
  exit 2
}
[ "$#" -ge 2 ] || usage
action=$1
dir=$2
port=${3:-55432}

# The server programs: pg_ctl on PATH, else the newest /usr/lib/postgresql/*/bin (Debian's).
bin_dir=""
if [ -n "${AISLE_PG_BIN:-}" ]; then
  bin_dir=$AISLE_PG_BIN
elif command -v pg_ctl >/dev/null 2>&1; then
  bin_dir="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
else
  bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1 || true)"
fi
if [ -z "$bin_dir" ] || [ ! -x "$bin_dir/pg_ctl" ] || [ ! -x "$bin_dir/initdb" ]; then
  echo "error: PostgreSQL's initdb and pg_ctl were not found: install the 'postgresql' package (bash scripts/setup.sh does)" >&2
  exit 1
fi

# Runs a server program as `postgres` when we are root, else as ourselves.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "error: running as root but there is no 'postgres' user: install the 'postgresql' package" >&2
      exit 1
    fi
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

case "$action" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$dir"
      if ! runuser -u postgres -- test -x "$dir"; then
        echo "error: the postgres user cannot reach $dir (a parent directory is closed to it); choose one under /tmp or /var/tmp" >&2
        exit 1
      fi
    fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_server_user "$bin_dir/initdb" -D "$dir/data" -U aisle --auth=trust --encoding=UTF8 \
        --locale=C --no-instructions >/dev/null
      {
        echo "# scripts/pg.sh"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
      } >>"$dir/data/postgresql.conf"
    fi
    as_server_user "$bin_dir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port" start >/dev/null
    if [ "$("$bin_dir/psql" -X -A -t -h 127.0.0.1 -p "$port" -U aisle -d postgres \
      -c "SELECT count(*) FROM pg_database WHERE datname = 'aisle'")" = "0" ]; then
      "$bin_dir/psql" -X -q -h 127.0.0.1 -p "$port" -U aisle -d postgres -c "CREATE DATABASE aisle"
    fi
    echo "postgres://aisle@127.0.0.1:$port/aisle"
    ;;
  stop)
    dir="$(cd "$dir" && pwd)"
    as_server_user "$bin_dir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    echo "stopped $dir"
    ;;
  *)
    usage
    ;;
esac
