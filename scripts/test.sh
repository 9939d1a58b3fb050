#!/usr/bin/env bash
# Sets everything up and runs every test: the UI's unit tests, then the whole Cargo
# workspace (unit, integration and doc tests of every crate and of the app), then the
# packages built and installed on a clean Debian 12 root (scripts/package.sh --debug and
# scripts/test-install.sh, counted as one test), then a bounded Schemathesis run against the server's API (scripts/fuzz-api.sh, counted as one test), then a
# bounded coverage-guided fuzz run of the push decoder, the GS1 parser and the CSV import
# (scripts/fuzz.sh, one test per target).
#
# Every suite always runs; the script exits non-zero if any failed. The last line
# adds them up as "tests: N passed, N failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$REPO_ROOT/scripts/setup.sh"

# How long each suite took, printed before the totals (CI keeps only the log).
suite_timings=()
suite_started=$SECONDS
suite_done() {
  suite_timings+=("$1 $((SECONDS - suite_started))s")
  suite_started=$SECONDS
  echo "==> $1 done; free space: $(df -h --output=avail "$REPO_ROOT" | tail -n 1 | tr -d ' ') here, $(df -h --output=avail "${TMPDIR:-/tmp}" | tail -n 1 | tr -d ' ') in ${TMPDIR:-/tmp}"
}
suite_done setup

ui_log="$(mktemp)"
cargo_log="$(mktemp)"
trap 'rm -f "$ui_log" "$cargo_log"' EXIT

echo "==> ui: npm test (vitest)"
ui_status=0
(cd "$REPO_ROOT/ui" && NO_COLOR=1 npm test 2>&1) | tee "$ui_log" || ui_status=$?

suite_done ui

# Not --all-targets: that would also run the benches (harness = false) as tests.
# --no-fail-fast: a failing test binary does not keep the ones after it from running.
echo "==> cargo test --workspace --locked"
cargo_status=0
# Built first on its own, so the timings below tell compiling from running.
cargo_build_status=0
(cd "$REPO_ROOT" && cargo test --workspace --locked --no-run 2>&1) | tee "$cargo_log" || cargo_build_status=$?
suite_done cargo-build
# With a working OS keyring (a private session bus and an unlocked gnome-keyring), so the
# sync tests use the real Secret Service. The desktop end-to-end test runs last, in a session
# of its own: the app and WebKit under it could leave the keyring daemon of a shared session
# gone, and the sync tests after it then failed on a locked, re-activated keyring.
E2E_TEST=a_floor_day_on_the_real_app_against_a_real_server
(
  cd "$REPO_ROOT"
  status=0
  AISLE_PRIVATE_KEYRING=1 bash scripts/with-keyring.sh \
    cargo test --workspace --locked --no-fail-fast -- --skip "$E2E_TEST" 2>&1 || status=$?
  # The same package and target selection as the run above, filtered to the one test: with
  # `-p aisle --test e2e` Cargo resolved features for the desktop alone and rebuilt about a
  # hundred crates (Tauri's among them) that the run above had already built.
  echo "==> cargo test --workspace --locked --tests -- $E2E_TEST (the desktop end to end, own keyring session)"
  AISLE_PRIVATE_KEYRING=1 bash scripts/with-keyring.sh \
    cargo test --workspace --locked --tests -- "$E2E_TEST" 2>&1 || status=$?
  exit "$status"
) | tee -a "$cargo_log" || cargo_status=$?
[ "$cargo_build_status" -eq 0 ] || cargo_status=$cargo_build_status

suite_done cargo-run

# The packages: built with the dev profile (the same bundler, configuration and maintainer
# scripts as a release; a release build is `bash scripts/package.sh`), then installed with apt
# into a clean Debian 12 root and used (scripts/test-install.sh).
echo "==> scripts/package.sh --debug, then scripts/test-install.sh (the packages on a clean Debian 12)"
install_status=0
(bash "$REPO_ROOT/scripts/package.sh" --debug && as_root bash "$REPO_ROOT/scripts/test-install.sh") 2>&1 \
  || install_status=$?
install_passed=1
install_failed=0
if [ "$install_status" -ne 0 ]; then
  echo "test.sh: the package install test failed (exit $install_status)" >&2
  install_passed=0
  install_failed=1
fi

suite_done install

echo "==> scripts/fuzz-api.sh (Schemathesis against the server's OpenAPI document)"
fuzz_status=0
bash "$REPO_ROOT/scripts/fuzz-api.sh" 50 2>&1 || fuzz_status=$?
fuzz_passed=1
fuzz_failed=0
if [ "$fuzz_status" -ne 0 ]; then
  echo "test.sh: the API fuzz run failed (exit $fuzz_status)" >&2
  fuzz_passed=0
  fuzz_failed=1
fi

suite_done api-fuzz

# 30 s per target after the instrumented build (its own target directory, target/fuzz).
# A crash fails its target and leaves the input in fuzz/artifacts/TARGET/.
echo "==> scripts/fuzz.sh (cargo fuzz: push decoder, GS1 parser, CSV import)"
targets_log="$(mktemp)"
trap 'rm -f "$ui_log" "$cargo_log" "$targets_log"' EXIT
targets_status=0
bash "$REPO_ROOT/scripts/fuzz.sh" "${AISLE_FUZZ_SECONDS:-30}" 2>&1 | tee "$targets_log" || targets_status=$?
targets_passed="$(grep -c '^fuzz-target: .* ok' "$targets_log" || true)"
targets_failed="$(grep -c '^fuzz-target: .* FAILED' "$targets_log" || true)"
if [ "$targets_status" -ne 0 ]; then
  echo "test.sh: the fuzz targets failed (exit $targets_status)" >&2
  [ "$targets_failed" -gt 0 ] || targets_failed=1
fi

suite_done fuzz

# Cargo prints one "test result:" line per test binary; Vitest prints one summary line,
# "Tests  55 passed (55)" or "Tests  1 failed | 54 passed (55)" (and "Test Files ..." above it,
# which is not counted). Colour codes are stripped in case a terminal forced them on.
read -r cargo_passed cargo_failed < <(awk '
  /^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($(i + 1) ~ /^passed;?$/) passed += $i
      if ($(i + 1) ~ /^failed;?$/) failed += $i
    }
  }
  END { print passed + 0, failed + 0 }' "$cargo_log")
read -r ui_passed ui_failed < <(awk '
  { gsub(/\033\[[0-9;]*m/, "") }
  $1 == "Tests" {
    for (i = 2; i < NF; i++) {
      if ($(i + 1) == "passed") passed += $i
      if ($(i + 1) == "failed") failed += $i
    }
  }
  END { print passed + 0, failed + 0 }' "$ui_log")

# A suite that failed without a failing test (say, a compile error) still counts as one failure.
if [ "$ui_status" -ne 0 ]; then
  echo "test.sh: the UI tests failed (exit $ui_status)" >&2
  [ "$ui_failed" -gt 0 ] || ui_failed=1
fi
if [ "$cargo_status" -ne 0 ]; then
  echo "test.sh: cargo test failed (exit $cargo_status)" >&2
  [ "$cargo_failed" -gt 0 ] || cargo_failed=1
fi
echo "suite timings: $(IFS=,; echo "${suite_timings[*]}")"
echo "tests: $((cargo_passed + ui_passed + install_passed + fuzz_passed + targets_passed)) passed, $((cargo_failed + ui_failed + install_failed + fuzz_failed + targets_failed)) failed"
if [ "$ui_status" -ne 0 ] || [ "$cargo_status" -ne 0 ] || [ "$install_status" -ne 0 ] || [ "$fuzz_status" -ne 0 ] || [ "$targets_status" -ne 0 ]; then
  exit 1
fi
