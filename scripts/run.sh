#!/usr/bin/env bash
# Sets everything up and runs the Aisle desktop app.
#
# Usage: bash scripts/run.sh [arguments for the app]
# On a machine without a display: xvfb-run -a bash scripts/run.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$REPO_ROOT/scripts/setup.sh"
cd "$REPO_ROOT"

# Later issues start the local demo server (aisle-server on 127.0.0.1) here, before the
# app, and stop it when the app exits.

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cargo build --locked
  cat >&2 <<'MESSAGE'
run.sh: the app is built, but no DISPLAY (or WAYLAND_DISPLAY) is set, so its window has
nowhere to open. Run it from a desktop session, or on a headless machine under a
virtual display:

    xvfb-run -a bash scripts/run.sh

MESSAGE
  exit 1
fi

exec cargo run --locked -- "$@"
