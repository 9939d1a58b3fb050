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
# `--start` then adds the secrets component to the daemon. `--unlock` returns while the new
# login keyring is still being written (an empty file beside a temporary one): the secrets
# component started before it is complete can find the collection locked and refuse to
# create items, so wait (up to 5 s) until it is written. `--start` must find that daemon by its
# control socket (GNOME_KEYRING_CONTROL, exported before it runs): without it, `--start` asks
# the session bus, where the new daemon may not be registered yet, and then starts a second
# daemon of its own, whose login keyring is locked ("Cannot create an item in a locked
# collection" in whatever test came first).
exec dbus-run-session -- bash -c '
  keyrings="${HOME:-/root}/.local/share/keyrings"
  mkdir -p "${HOME:-/root}/.cache" "$keyrings"
  eval "$(printf "\n" | gnome-keyring-daemon --unlock)"
  export GNOME_KEYRING_CONTROL
  for _ in $(seq 50); do
    [ -s "$keyrings/login.keyring" ] && ! ls "$keyrings"/*.temp-* "$keyrings"/.temp-* >/dev/null 2>&1 && break
    sleep 0.1
  done
  eval "$(printf "\n" | gnome-keyring-daemon --start --components=secrets)"
  export GNOME_KEYRING_CONTROL
  exec "$@"' aisle-keyring "$@"
