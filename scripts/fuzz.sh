#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) from seed corpora
# built from testdata/. Installs cargo-fuzz if it is missing. Stable
# toolchain: cargo-fuzz needs nightly flags, allowed here by RUSTC_BOOTSTRAP.
#
#   scripts/fuzz.sh                 CI mode: every target for FUZZ_SECONDS (default 20 s)
#   scripts/fuzz.sh --long          every target for FUZZ_SECONDS (default 600 s), with AddressSanitizer
#   scripts/fuzz.sh [--long] NAME.. only the named targets
#
# Environment: FUZZ_SECONDS (time per target), FUZZ_SANITIZER (none or
# address; CI mode defaults to none, --long to address), FUZZ_JOBS (parallel
# fuzzing processes per target, default 1).
#
# A crash, panic, timeout or out-of-memory in any target fails the script;
# libFuzzer leaves the input in fuzz/artifacts/<target>/. Corpora grow in
# fuzz/corpus/<target>/ (not committed) and are reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2

long=0
targets=()
for arg in "$@"; do
    case "$arg" in
        --long) long=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) echo "unknown option $arg" >&2; exit 2 ;;
        *) targets+=("$arg") ;;
    esac
done
if [ "$long" = 1 ]; then
    seconds=${FUZZ_SECONDS:-600}
    sanitizer=${FUZZ_SANITIZER:-address}
else
    seconds=${FUZZ_SECONDS:-20}
    sanitizer=${FUZZ_SANITIZER:-none}
fi
jobs=${FUZZ_JOBS:-1}

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION =="
    cargo install --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi

if [ ${#targets[@]} = 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building the fuzz targets (sanitizer: $sanitizer) =="
cargo fuzz build --sanitizer "$sanitizer"

echo "== building the seed corpora from testdata/ =="
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
cargo run --quiet --manifest-path fuzz/Cargo.toml -p strongroom-fuzz-seeds -- "$seeds"

failed=()
for t in "${targets[@]}"; do
    echo "== fuzzing $t for ${seconds}s =="
    corpus=fuzz/corpus/$t
    mkdir -p "$corpus"
    # Seeds go in as a read-only second corpus: new finds land in $corpus.
    parallel=()
    [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
    if ! cargo fuzz run --sanitizer "$sanitizer" "$t" "$corpus" "$seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${parallel[@]}"; then
        failed+=("$t")
    fi
done

# Every crash reproducer kept under fuzz/regressions/ must still pass.
for f in fuzz/regressions/*/*; do
    [ -f "$f" ] || continue
    t=$(basename "$(dirname "$f")")
    echo "== regression $f =="
    cargo fuzz run --sanitizer "$sanitizer" "$t" "$f" -- -runs=1 || failed+=("regression $f")
done

if [ ${#failed[@]} != 0 ]; then
    echo "fuzzing FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzzing passed: ${targets[*]}"
