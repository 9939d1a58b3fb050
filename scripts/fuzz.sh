#!/usr/bin/env bash
# A bounded coverage-guided fuzz run (cargo fuzz + libFuzzer, on stable Rust) of the push
# decoder, the GS1 scan parser and the CSV import: the targets in fuzz/fuzz_targets.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 30 s, every target)
#
# Each target first replays its committed corpus (fuzz/corpus/TARGET, a regression suite),
# then mutates for the given time. New inputs go to a scratch folder, so a CI run leaves
# the committed corpus alone; AISLE_FUZZ_GROW=1 writes them into the committed corpus
# instead (minimise it afterwards, see fuzz/README.md). A crash fails the run and leaves the
# crashing input in fuzz/artifacts/TARGET/. Prints one "fuzz-target: NAME ok|FAILED" line
# per target, with its executions per second and coverage.
#
# Builds without a sanitizer (`-s none`): every flag cargo fuzz then passes is a stable
# rustc flag (`-Cpasses=sancov-module`, `-Cllvm-args=-sanitizer-coverage-*`), so no nightly
# toolchain and no RUSTC_BOOTSTRAP. Our crates forbid `unsafe`, which is what AddressSanitizer
# (nightly-only) would have checked. Instrumented builds go to their own target directory,
# AISLE_FUZZ_TARGET_DIR (default target/fuzz), so the normal one is not rebuilt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

seconds="${1:-30}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(push_decode gs1_scan csv_import)
fi
target_dir="${AISLE_FUZZ_TARGET_DIR:-$REPO_ROOT/target/fuzz}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo fuzz is not installed; scripts/setup.sh installs it (cargo install cargo-fuzz --locked)" >&2
    exit 1
fi
# 16 codegen units instead of cargo fuzz's default of one: the instrumented release build
# took 282 s here and 235 s with them (measured before crates/workspace-hack, whose
# dependencies the server library brings in and which add about a minute), for about a fifth
# fewer executions per second (30 s per target: push_decode 234,000 -> 187,000/s, gs1_scan
# 53,000 -> 40,000/s, csv_import 8,200 -> 7,900/s), which a bounded CI run can spare.
fuzz_args=(--fuzz-dir fuzz --sanitizer none --target-dir "$target_dir" --codegen-units 16)

echo "fuzz: building ${targets[*]} ($(cargo fuzz --version))"
if [ "$#" -eq 0 ]; then
    # One cargo invocation builds every target.
    cargo fuzz build "${fuzz_args[@]}"
else
    for target in "${targets[@]}"; do
        cargo fuzz build "${fuzz_args[@]}" "$target"
    done
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
status=0
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    corpora=("$scratch/$target" "$corpus")
    if [ "${AISLE_FUZZ_GROW:-0}" = 1 ]; then
        corpora=("$corpus")
    fi
    mkdir -p "${corpora[0]}"
    log="$scratch/$target.log"
    echo "fuzz: $target for ${seconds}s (corpus $corpus, $(find "$corpus" -type f | wc -l) inputs)"
    target_status=0
    cargo fuzz run "${fuzz_args[@]}" "$target" "${corpora[@]}" -- \
        -max_total_time="$seconds" -timeout=20 -dict="fuzz/dicts/$target.dict" \
        -print_final_stats=1 >"$log" 2>&1 || target_status=$?
    # libFuzzer's last status line ("#N DONE cov: C ft: F corp: ...") and its final stats.
    summary="$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true)"
    execs_per_sec="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    if [ "$target_status" -eq 0 ]; then
        echo "fuzz-target: $target ok: ${execs_per_sec:-?} execs/s; ${summary:-no status line}"
    else
        status=1
        tail -n 60 "$log"
        echo "fuzz-target: $target FAILED (exit $target_status); crashing input in fuzz/artifacts/$target/:"
        ls -1 "fuzz/artifacts/$target" || true
    fi
done
exit "$status"
