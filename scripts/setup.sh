#!/usr/bin/env bash
# Sets up a fresh Debian 12 / Ubuntu machine to build, run and test Aisle.
#
# Idempotent: system packages are installed only when one is missing, so running it
# again (run.sh and test.sh always do) costs a few seconds. It cannot download a Rust
# toolchain; it checks for one and says how to get it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Tauri 2 on Linux (WebKitGTK 4.1 and friends) plus the C toolchain. libssl-dev is also the
# libcrypto (headers and library) that SQLCipher, the workspace's SQLite (rusqlite's
# bundled-sqlcipher), compiles and links against for the encrypted device store.
APT_PACKAGES=(
  libwebkit2gtk-4.1-dev
  libayatana-appindicator3-dev
  librsvg2-dev
  libxdo-dev
  libssl-dev
  build-essential
  pkg-config
  curl
  file
)
# A virtual display, a session bus and a keyring: the end-to-end and keyring tests run headless.
APT_PACKAGES+=(xvfb xauth dbus-x11 gnome-keyring)
# The keyring crate talks to Secret Service through libdbus; serialport lists ports with libudev.
APT_PACKAGES+=(libdbus-1-dev libudev-dev)
# The UI end-to-end test (tests/e2e) drives the built app through tauri-driver, which runs
# WebKitGTK's WebDriver server, WebKitWebDriver.
APT_PACKAGES+=(webkit2gtk-driver)
# scripts/fuzz-api.sh installs Schemathesis into a venv of its own.
APT_PACKAGES+=(python3-venv)
# The PostgreSQL backend's tests start throwaway clusters of their own (crates/aisle-pgtest,
# scripts/pg.sh) with initdb and pg_ctl, and a PgBouncer in transaction mode in front of one;
# no system service is used.
APT_PACKAGES+=(postgresql pgbouncer)
# scripts/package.sh: cargo-deb reads the server's shared-library dependencies with
# dpkg-shlibdeps (dpkg-dev) and strips with binutils; the install test
# (scripts/test-install.sh) installs the packages into a clean Debian 12 root made with
# debootstrap.
APT_PACKAGES+=(dpkg-dev binutils debootstrap)

missing_packages=()
for package in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing_packages+=("$package")
  fi
done
if ! command -v node >/dev/null 2>&1; then
  missing_packages+=(nodejs npm)
fi

if [ "${#missing_packages[@]}" -gt 0 ]; then
  echo "setup: installing ${missing_packages[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing_packages[@]}"
else
  echo "setup: system packages already installed"
fi

# Installing postgresql (and pgbouncer) may have created and started Debian's default
# cluster (port 5432) and the pgbouncer service (port 6432). The tests never use them; stop
# them and keep them from starting at boot, but only when this run installed the package,
# so a developer's own cluster is left alone.
if [[ " ${missing_packages[*]:-} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null 2>&1; then
  while read -r version name _port status _; do
    if [ "$status" = online ]; then
      as_root pg_ctlcluster "$version" "$name" stop >/dev/null 2>&1 || true
    fi
    echo manual | as_root tee "/etc/postgresql/$version/$name/start.conf" >/dev/null
    echo "setup: Debian's default PostgreSQL cluster $version/$name is stopped and set to manual start"
  done < <(pg_lsclusters --no-header 2>/dev/null)
fi
if [[ " ${missing_packages[*]:-} " == *" pgbouncer "* ]]; then
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now pgbouncer >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/pgbouncer ]; then
    as_root /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
    as_root update-rc.d pgbouncer disable >/dev/null 2>&1 || true
  fi
  echo "setup: the pgbouncer service is stopped and disabled"
fi

# The UI is built with Vite 6 and tested with Vitest 3 on jsdom 26, which run on Node 18.19
# (Debian 12's and Ubuntu 24.04's apt `nodejs`), 20 and 22 or newer; this is the "engines"
# range in ui/package.json. Odd releases 19 and 21 are outside Vite 6's range.
if ! node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit((major === 18 && minor >= 19) || major === 20 || major >= 22 ? 0 : 1)'; then
  echo "error: Node $(node --version) cannot build the UI; it needs Node 18 (18.19 or later), 20, or 22 and newer (Debian 12's apt nodejs will do)" >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
  cat >&2 <<'MESSAGE'
error: cargo was not found, and this script cannot download a Rust toolchain.
Install Rust with rustup (https://rustup.rs), then open a new shell and run this again:

    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --component clippy rustfmt

MESSAGE
  exit 1
fi
echo "setup: $(cargo --version)"

# tauri-driver is the WebDriver front of the UI end-to-end test (tests/e2e); it is built once
# from crates.io and then found on PATH (cargo's bin directory is on it, see common.sh).
if command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: tauri-driver already installed"
else
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --locked
fi

# cargo-deb builds the server's .deb (scripts/package.sh); built once from crates.io. The
# desktop's .deb and .rpm come from the Tauri CLI, an npm dev dependency of ui/.
if cargo deb --version >/dev/null 2>&1; then
  echo "setup: cargo-deb already installed"
else
  echo "setup: installing cargo-deb"
  cargo install cargo-deb --locked
fi

# cargo fuzz drives the coverage-guided fuzz run (scripts/fuzz.sh, fuzz/); libFuzzer itself
# is compiled from C++ by the libfuzzer-sys crate with build-essential's g++. Built once.
if cargo fuzz --version >/dev/null 2>&1; then
  echo "setup: cargo-fuzz already installed"
else
  echo "setup: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# `npm ci` installs the UI's locked dependencies; the build then writes ui/dist, which the
# Rust build embeds at compile time, so it must exist before any cargo build, test or clippy.
#
# Both are skipped when nothing they depend on changed since they last ran, so running this
# again (run.sh and test.sh always do) costs no reinstall and no rebuild. The stamps hold a
# hash of the inputs: package-lock.json for node_modules; the UI's sources and build
# configuration for dist/.
ui_inputs_hash() {
  (cd "$REPO_ROOT/ui" && find "$@" -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
lock_hash="$(ui_inputs_hash package-lock.json package.json)"
if [ -d "$REPO_ROOT/ui/node_modules" ] && [ "$(cat "$REPO_ROOT/ui/node_modules/.aisle-stamp" 2>/dev/null)" = "$lock_hash" ]; then
  echo "setup: UI dependencies up to date"
else
  (cd "$REPO_ROOT/ui" && npm ci --no-audit --no-fund)
  echo "$lock_hash" > "$REPO_ROOT/ui/node_modules/.aisle-stamp"
fi
build_hash="$(ui_inputs_hash src index.html vite.config.ts tsconfig.json package-lock.json package.json)"
if [ -f "$REPO_ROOT/ui/dist/index.html" ] && [ "$(cat "$REPO_ROOT/ui/dist/.aisle-stamp" 2>/dev/null)" = "$build_hash" ]; then
  echo "setup: UI build up to date"
else
  (cd "$REPO_ROOT/ui" && npm run build)
  echo "$build_hash" > "$REPO_ROOT/ui/dist/.aisle-stamp"
fi

echo "setup: done"
