#!/usr/bin/env bash
# The benchmark harness cannot rot: runs `scripts/bench.sh --quick` into a
# temporary folder and checks what it wrote (benches/harness/check.py):
# report.md, results.json valid against the schema of benches/README.md
# with positive figures and ratios consistent with the medians, and at
# least one PNG plot. With CI=true the peers are installed first (so CI
# measures them); elsewhere `--no-install` uses what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
args=(--quick --out "$out/results" --disk-dir "$out/work")
[ "${CI:-}" = "true" ] || args+=(--no-install)
scripts/bench.sh "${args[@]}"
python3 benches/harness/check.py "$out/results"
