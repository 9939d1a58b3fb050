#!/usr/bin/env bash
# Sets everything up and runs the Aisle desktop app.
#
# Usage: bash scripts/run.sh [arguments for the app]
# On a machine without a display: xvfb-run -a bash scripts/run.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$REPO_ROOT/scripts/setup.sh"
cd "$REPO_ROOT"

# Demo mode: the app runs a real aisle-server on 127.0.0.1 inside itself, with a demo
# tenant (items, locations, users, pick lists, and a "dock PC" that has received opening
# stock), and enrolls this PC with it. Sign in with badge 1001 and PIN 1234 (picker) or
# 9001 and 999999 (manager). Pass --data-dir DIR to keep the demo somewhere else.
#
# The app is built exactly as scripts/test.sh builds it for the desktop end-to-end test
# (`cargo test -p aisle`, whose dev-dependencies turn on a few more features of shared
# crates such as syn and tokio). A plain `cargo build` would build those crates a second
# way, so running the app after the tests would recompile glib, gio and the rest; this way
# each command reuses what the other built.
cargo test --locked -p aisle --no-run

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cat >&2 <<'MESSAGE'
run.sh: the app is built, but no DISPLAY (or WAYLAND_DISPLAY) is set, so its window has
nowhere to open. Run it from a desktop session, or on a headless machine under a
virtual display:

    xvfb-run -a bash scripts/run.sh

MESSAGE
  exit 1
fi

exec bash "$REPO_ROOT/scripts/with-keyring.sh" "$REPO_ROOT/target/debug/aisle" --demo "$@"
