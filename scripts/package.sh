#!/usr/bin/env bash
# Builds Aisle's installable packages into target/packages/ and prints their paths:
#   - the desktop's .deb and .rpm, with the Tauri CLI's bundler (tauri.conf.json "bundle":
#     desktop entry, icons, WebKitGTK 4.1, the keyring and Secret Service dependencies);
#   - the server's .deb, with cargo-deb (crates/aisle-server/Cargo.toml
#     [package.metadata.deb]: the binary, the systemd unit, the sample config).
#
#   bash scripts/package.sh            release builds: what a warehouse installs
#   bash scripts/package.sh --debug    the dev profile: the same bundler, configuration and
#                                      maintainer scripts in a fraction of the build time
#                                      (what CI's install test installs)
#
# AppImage, .msi and .dmg are built by .github/workflows/release.yml on hosted runners (not
# here). Runs scripts/setup.sh first, so it works on a fresh Debian 12.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

profile=release
case "${1:-}" in
  "") ;;
  --debug) profile=debug ;;
  *) echo "usage: bash scripts/package.sh [--debug]" >&2; exit 2 ;;
esac

bash scripts/setup.sh

# One product version: the desktop package, the bundle and the server must agree.
version() { sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -n 1; }
desktop_version="$(version Cargo.toml)"
server_version="$(version crates/aisle-server/Cargo.toml)"
bundle_version="$(node -p 'require("./tauri.conf.json").version')"
if [ "$desktop_version" != "$bundle_version" ] || [ "$server_version" != "$bundle_version" ]; then
  echo "error: versions differ: Cargo.toml $desktop_version, tauri.conf.json $bundle_version, aisle-server $server_version" >&2
  exit 1
fi

# Cargo's target directory (CARGO_TARGET_DIR when set, as CI may share one).
target_dir="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
out="$REPO_ROOT/target/packages"
rm -rf "$out"
mkdir -p "$out"

echo "==> desktop: tauri build ($profile) --bundles deb,rpm"
tauri_flags=(--bundles deb,rpm --ci)
[ "$profile" = debug ] && tauri_flags+=(--debug)
ui/node_modules/.bin/tauri build "${tauri_flags[@]}"
cp "$target_dir/$profile/bundle/deb/Aisle_${bundle_version}_amd64.deb" "$out/"
cp "$target_dir/$profile/bundle/rpm/Aisle-${bundle_version}-1.x86_64.rpm" "$out/"

echo "==> server: cargo deb ($profile)"
deb_flags=(-p aisle-server --locked --output "$out/")
[ "$profile" = debug ] && deb_flags+=(--profile dev)
cargo deb "${deb_flags[@]}"

echo "==> packages in $out:"
find "$out" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.rpm' \) | sort
