#!/usr/bin/env bash
# Builds the Python package's wheel: one abi3 wheel (CPython 3.9 and later)
# for Linux x86_64, with maturin, into target/wheels/ (printed at the end).
#
#   scripts/build-wheel.sh            # this machine's glibc: manylinux_2_34 on Debian 12
#   scripts/build-wheel.sh --zig      # manylinux2014 (glibc 2.17): links with zig (ziglang from PyPI)
#
# The --zig build runs in target/wheel-zig so it does not invalidate the
# normal build's cache. The wheel needs no Rust, compiler or other wheel to
# install: `pip install target/wheels/strongroom-*.whl` on any glibc Linux
# at least as new as its tag says. scripts/test-python.sh builds the
# first kind and runs the tests on it (and installs it once more, into a
# fresh virtual environment without Rust on PATH).
#
# Environment: PYTHON (python3) makes the build's virtual environment
# target/py-build-venv when it has no maturin; OUT (target/wheels).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
OUT=${OUT:-target/wheels}
MATURIN_VERSION=1.16.0
ZIGLANG_VERSION=0.15.1

zig=false
for arg in "$@"; do
    case $arg in
        --zig) zig=true ;;
        *) echo "usage: $0 [--zig]" >&2; exit 2 ;;
    esac
done

# The test environment's maturin when there is one, else a small venv of
# the build's own (pinned maturin, and ziglang for --zig).
venv=target/py-venv
if [ ! -x "$venv/bin/maturin" ]; then
    venv=target/py-build-venv
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "maturin==$MATURIN_VERSION"
fi
args=(build --release --locked -m python/Cargo.toml --out "$OUT")
env=()
if $zig; then
    "$venv/bin/python" -c "import ziglang" 2>/dev/null ||
        "$venv/bin/python" -m pip install --quiet "ziglang==$ZIGLANG_VERSION"
    args+=(--zig --compatibility manylinux2014)
    env+=(CARGO_TARGET_DIR="$PWD/target/wheel-zig")
fi
mkdir -p "$OUT"
env "${env[@]}" PATH="$PWD/$venv/bin:$PATH" "$venv/bin/maturin" "${args[@]}" >&2
wheel=$(ls -t "$OUT"/strongroom-*.whl | head -1)
case $wheel in
    *-cp39-abi3-manylinux*_x86_64.whl) ;;
    *) echo "unexpected wheel tag: $wheel (want cp39-abi3-manylinux*)" >&2; exit 1 ;;
esac
echo "$wheel"
