#!/usr/bin/env bash
# The package install test (issue 17): the desktop's and the server's .deb, as
# scripts/package.sh made them, installed with apt into a clean Debian 12 root made with
# debootstrap, then used as an IT person would:
#   - apt resolves every dependency from Debian's archive, and both packages are installed;
#   - `aisle --version` and `aisle-server --version` start and name the product version, and
#     no shared library of either is missing;
#   - the desktop entry and icon, and the server's unit (dedicated user, StateDirectory,
#     ProtectSystem=strict, NoNewPrivileges, restart on failure), user and config are there;
#   - the installed server serves with the installed config as its user, and answers /readyz;
#   - the installed CLI makes a tenant, a warehouse and an enrollment code, and the installed
#     desktop enrolls without a window (`aisle enroll`, token in the keyring of a session
#     bus), while a second use of the same code exits non-zero with the reason;
#   - SIGTERM stops the server cleanly, and purging both packages leaves the data.
#
#   bash scripts/test-install.sh [PACKAGES_DIR]     (default target/packages)
#
# Needs root (debootstrap, chroot, mounts) and the Debian archive the machine's apt uses.
# Prints "install-test: ok" at the end, or stops at the first failed check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

packages="$(cd "${1:-$REPO_ROOT/target/packages}" && pwd)"
desktop_deb="$(find "$packages" -maxdepth 1 -name 'Aisle_*_amd64.deb' | head -n 1)"
server_deb="$(find "$packages" -maxdepth 1 -name 'aisle-server_*_amd64.deb' | head -n 1)"
if [ -z "$desktop_deb" ] || [ -z "$server_deb" ]; then
  echo "error: no Aisle_*_amd64.deb and aisle-server_*_amd64.deb in $packages: run scripts/package.sh first" >&2
  exit 1
fi
version="$(dpkg-deb -f "$desktop_deb" Version)"

fail() {
  echo "install-test: FAILED: $*" >&2
  exit 1
}
check() {
  echo "install-test: ok: $*"
}

# The Debian archive this machine's apt uses (CI reaches only the package registries).
mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
if [ -z "$mirror" ]; then
  mirror="$(sed -n 's/^deb \(http[^ ]*\) bookworm main.*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

root="$(mktemp -d /var/tmp/aisle-install.XXXXXX)"
chmod 0755 "$root" # the root of a system: its users (aisle-server, _apt) must reach /usr
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  for mount in dev/pts dev proc; do
    umount -l "$root/$mount" 2>/dev/null || true
  done
  rm -rf "$root"
}
trap cleanup EXIT
in_root() {
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

echo "==> debootstrap bookworm (minbase) from $mirror into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
  || { tail -n 20 "$root.debootstrap.log" >&2; fail "debootstrap"; }
rm -f "$root.debootstrap.log"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
# No service starts inside the chroot (there is no init in it); the unit is checked as a file.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/tmp/packages"
cp "$desktop_deb" "$server_deb" "$root/tmp/packages/"

echo "==> apt-get install the two packages"
in_root apt-get update -q >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "/tmp/packages/$(basename "$server_deb")" "/tmp/packages/$(basename "$desktop_deb")" \
  >"$root/tmp/apt.log" 2>&1 || { tail -n 30 "$root/tmp/apt.log" >&2; fail "apt-get install of the packages"; }
echo "install-test: apt installed $(grep -c '^Setting up' "$root/tmp/apt.log") packages"
for package in aisle aisle-server; do
  status="$(in_root dpkg-query -W -f='${Status} ${Version}' "$package")"
  [ "$status" = "install ok installed $version" ] || [ "$status" = "install ok installed $version-1" ] \
    || fail "$package is '$status'"
done
check "apt installed aisle and aisle-server $version with their dependencies"

[ "$(in_root aisle --version)" = "aisle $version" ] || fail "aisle --version: $(in_root aisle --version 2>&1)"
in_root aisle-server --version | grep -qx "aisle-server $version" || fail "aisle-server --version: $(in_root aisle-server --version 2>&1)"
for binary in /usr/bin/aisle /usr/bin/aisle-server; do
  if in_root ldd "$binary" | grep -q 'not found'; then
    fail "$binary misses libraries: $(in_root ldd "$binary" | grep 'not found')"
  fi
done
check "both binaries start (--version) with every shared library present"

grep -qx 'Exec=aisle' "$root/usr/share/applications/Aisle.desktop" || fail "the desktop entry"
[ -f "$root/usr/share/icons/hicolor/128x128/apps/aisle.png" ] || fail "the icon"
unit="$root/usr/lib/systemd/system/aisle-server.service"
for line in 'User=aisle-server' 'StateDirectory=aisle-server' 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'Restart=on-failure' \
  'ExecStart=/usr/bin/aisle-server --config /etc/aisle/server.toml serve'; do
  grep -qx "$line" "$unit" || fail "the unit has no '$line'"
done
in_root getent passwd aisle-server >/dev/null || fail "no aisle-server user"
config_mode="$(in_root stat -c '%a %U %G' /etc/aisle/server.toml)"
[ "$config_mode" = "640 root aisle-server" ] || fail "server.toml is $config_mode"
check "desktop entry and icon; unit, user and config of the server"

# What systemd's StateDirectory would make, then the service's command line as its user.
install -d -m 0750 "$root/var/lib/aisle-server"
in_root chown aisle-server:aisle-server /var/lib/aisle-server
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
server_log="$root/tmp/server.log"
chroot "$root" env -i PATH=/usr/bin:/bin AISLE_LISTEN="127.0.0.1:$port" \
  setpriv --reuid=aisle-server --regid=aisle-server --init-groups \
  /usr/bin/aisle-server --config /etc/aisle/server.toml serve >"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; fail "the installed server exited"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "/readyz of the installed server"
check "the installed server serves with /etc/aisle/server.toml as its user"

as_service() {
  chroot "$root" env -i PATH=/usr/bin:/bin setpriv --reuid=aisle-server --regid=aisle-server --init-groups \
    /usr/bin/aisle-server --config /etc/aisle/server.toml "$@"
}
as_service tenant add acme >/dev/null
as_service warehouse add acme north >/dev/null
code="$(as_service enroll-code acme north | tail -n 1)"
enroll() {
  in_root dbus-run-session -- sh -c '
    keyrings="$HOME/.local/share/keyrings"
    mkdir -p "$keyrings" "$HOME/.cache"
    eval "$(printf "\n" | gnome-keyring-daemon --unlock)"
    # As scripts/with-keyring.sh: --start finds this daemon by its control socket, and only
    # once the new login keyring is written.
    export GNOME_KEYRING_CONTROL
    for _ in $(seq 50); do
      [ -s "$keyrings/login.keyring" ] && ! ls "$keyrings"/*.temp-* "$keyrings"/.temp-* >/dev/null 2>&1 && break
      sleep 0.1
    done
    eval "$(printf "\n" | gnome-keyring-daemon --start --components=secrets)"
    exec aisle enroll --server "$0" --code "$1" --device-name "$2"' "http://127.0.0.1:$port" "$code" "$1"
}
enroll pc-1 >"$root/tmp/enroll.log" 2>&1 || { cat "$root/tmp/enroll.log" >&2; fail "aisle enroll"; }
as_service device list acme | grep -q 'pc-1' || fail "the server does not list pc-1"
if enroll pc-2 >"$root/tmp/enroll-again.log" 2>&1; then
  fail "a used code enrolled a second PC"
fi
grep -qi 'used' "$root/tmp/enroll-again.log" || fail "a used code's message: $(cat "$root/tmp/enroll-again.log")"
check "the installed desktop enrolls headless with the installed server's code; a used code is refused"

kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=""
[ "$server_status" -eq 0 ] || { cat "$server_log" >&2; fail "the server exited $server_status on SIGTERM"; }
check "SIGTERM stops the server cleanly"

in_root env DEBIAN_FRONTEND=noninteractive dpkg --purge aisle aisle-server >/dev/null || fail "purge"
[ ! -e "$root/usr/bin/aisle" ] && [ ! -e "$root/usr/bin/aisle-server" ] || fail "binaries left after purge"
[ -f "$root/var/lib/aisle-server/registry.sqlite3" ] || fail "the data went with the package"
check "purge removes the packages and keeps the data"

echo "install-test: ok"
