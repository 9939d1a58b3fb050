#!/usr/bin/env bash
# A bounded, schema-driven fuzz run of the server's HTTP API with Schemathesis: starts
# `aisle-server serve` on a free port with a throwaway data directory, makes a tenant, a
# warehouse, an enrollment code and an ERP API key with the admin CLI, enrolls a device for a
# token, then runs Schemathesis once per credential. Any 5xx or response that breaks the
# OpenAPI document fails the run.
#
# Usage: scripts/fuzz-api.sh [MAX_EXAMPLES]   (default 20 per operation)
# Schemathesis is installed into a venv under ~/.cache (AISLE_SCHEMATHESIS_VENV), once.
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples="${1:-20}"
venv="${AISLE_SCHEMATHESIS_VENV:-$HOME/.cache/aisle-schemathesis}"
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

cargo build --quiet -p aisle-server --bin aisle-server
server="${CARGO_TARGET_DIR:-$PWD/target}/debug/aisle-server"

data="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$data"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
admin() { "$server" --data "$data" "$@"; }

tenant="$(admin tenant add fuzz | tail -n 1)"
admin warehouse add "$tenant" main >/dev/null
code="$(admin enroll-code "$tenant" main | tail -n 1)"
api_key="$(admin api-key add "$tenant" --scope master:write --scope stock:read --name fuzz | tail -n 1)"

# --max-live-waits 0: a pull with `wait=` answers at once (as beyond the live budget), so the
# fuzzer's 10 s read timeout tests the pull itself instead of waiting out a 25 s long-poll with
# nothing pushed. The wait itself is tested in crates/aisle-server/tests/it/live.rs.
"$server" --data "$data" serve --listen "127.0.0.1:$port" --max-live-waits 0 >"$data/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl --silent --fail "$base/readyz" >/dev/null && break
    sleep 0.1
done

enrolled="$(curl --silent --fail -H 'Content-Type: application/json' \
    -d "{\"code\": \"$code\", \"device_name\": \"fuzz\"}" "$base/v1/enroll")"
device_token="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$enrolled")"

# Every tenant route names the tenant in its path: pin it to ours, or every case is a 403.
printf '[parameters]\n"path.tenant" = "%s"\n' "$tenant" >"$data/schemathesis.toml"

status=0
for token in "$device_token" "$api_key"; do
    "$venv/bin/schemathesis" --config-file "$data/schemathesis.toml" run "$base/v1/openapi.json" \
        --checks not_a_server_error,response_schema_conformance \
        --max-examples "$max_examples" --seed 1 \
        -H "Authorization: Bearer $token" || status=1
done
if [ "$status" -ne 0 ]; then
    echo "server log: (last 40 lines)" >&2
    tail -n 40 "$data/server.log" >&2
fi
exit "$status"
