#!/usr/bin/env bash
# Runs a command where the OS keyring (Secret Service) works, which Aisle needs for device
# tokens. In a desktop session that already has a session bus and a keyring, it just runs
# the command. Otherwise (a headless machine, CI, an ssh login) it starts a private session
# bus with gnome-keyring-daemon unlocked for the secrets component, and runs it inside.
#
# Usage: bash scripts/with-keyring.sh COMMAND [ARGS...]
set -euo pipefail

if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] && [ -z "${AISLE_PRIVATE_KEYRING:-}" ]; then
  exec "$@"
fi

# `--unlock` reads the login keyring's password from stdin and creates the keyring with it
# the first time; an empty password creates no default collection, so one newline it is.
# `--start` then adds the secrets component to the daemon.
exec dbus-run-session -- bash -c '
  mkdir -p "${HOME:-/root}/.cache" "${HOME:-/root}/.local/share/keyrings"
  eval "$(printf "\n" | gnome-keyring-daemon --unlock)"
  eval "$(printf "\n" | gnome-keyring-daemon --start --components=secrets)"
  export GNOME_KEYRING_CONTROL
  exec "$@"' aisle-keyring "$@"
