#!/usr/bin/env bash
# Runs aisle-server on PostgreSQL locally, in one command: installs what is missing, starts a
# PostgreSQL cluster of its own (scripts/pg.sh) under DIR (default /tmp/aisle-pg), creates
# the registry database, registers the cluster as "local", adds a tenant "demo" with a
# warehouse "main" on first run, prints an enrollment code, and serves protocol v1 with
# `aisle-server serve --database … --keep-prepared-statements` until Ctrl-C, which also
# stops the cluster.
#
# Usage: bash scripts/serve-pg.sh [DIR] [PORT]     (server on 127.0.0.1:PORT, default 8080)
#        AISLE_SERVER_BIN=target/debug/aisle-server bash scripts/serve-pg.sh   (no release build)
#        AISLE_PG_PORT=55433 …   the cluster's port (default scripts/pg.sh's, 55432)
#        AISLE_SKIP_SETUP=1 …    skip setup.sh (it has run on this machine already; the test
#                                of this script in crates/aisle-server/tests/it/pg_cli.rs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dir=${1:-/tmp/aisle-pg}
port=${2:-8080}
pg_port=${AISLE_PG_PORT:-55432}
if [ -z "${AISLE_SKIP_SETUP:-}" ]; then
  bash "$REPO_ROOT/scripts/setup.sh"
fi
cd "$REPO_ROOT"
# AISLE_SERVER_BIN runs a binary you built yourself (e.g. a debug build) instead.
server=${AISLE_SERVER_BIN:-}
if [ -z "$server" ]; then
  cargo build --locked -p aisle-server --release
  target_dir=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
  case "$target_dir" in /*) ;; *) target_dir="$REPO_ROOT/$target_dir" ;; esac
  server="$target_dir/release/aisle-server"
fi
cluster_url="$(bash "$REPO_ROOT/scripts/pg.sh" start "$dir" "$pg_port" | tail -n 1)"
base_url="${cluster_url%/*}"
trap 'bash "$REPO_ROOT/scripts/pg.sh" stop "$dir" >/dev/null || true' EXIT

# The registry's own database, beside the tenants' databases on the same cluster.
# Debian's /usr/bin/psql is a wrapper that wants a configured cluster; use the real one.
psql_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1)/psql"
if [ "$("$psql_bin" -X -A -t "$base_url/postgres" \
  -c "SELECT count(*) FROM pg_database WHERE datname = 'aisle_registry'")" = "0" ]; then
  "$psql_bin" -X -q "$base_url/postgres" -c "CREATE DATABASE aisle_registry"
fi
export AISLE_DATABASE="$base_url/aisle_registry"

if ! "$server" cluster list | grep -q '^local\b'; then
  "$server" cluster add local --url "$base_url"
fi
if ! "$server" tenant list | grep -qw 'demo'; then
  "$server" tenant add demo --cluster local
  "$server" warehouse add demo main
fi
echo "enrollment code for tenant demo, warehouse main:"
"$server" enroll-code demo main
echo "serving on http://127.0.0.1:$port (registry $AISLE_DATABASE); Ctrl-C stops it"
# The cluster is this script's own, reached directly (no PgBouncer in transaction mode), so
# statements may stay prepared on the server's connections (docs/scaling.md, "Tuning").
"$server" serve --listen "127.0.0.1:$port" --keep-prepared-statements
