#!/usr/bin/env bash
# The strongroom benchmarks, in one command: builds what it measures,
# installs the peers it compares with, runs the harness (benches/harness)
# and writes report.md, results.json and PNG plots into one folder.
#
# Usage: scripts/bench.sh [options]
#   --quick          small inputs, one round, no warm-up (what the test suite runs)
#   --only LIST      comma list among files,fields,keys,databases,limits (default: all)
#   --out DIR        results folder (default: bench-results/<UTC date and time>/)
#   --no-install     do not install peers (Debian packages, PyPI packages, crates);
#                    those missing are named in the report as skipped
#   --disk-dir DIR   work folder on disk (default: target/bench-work)
#   --tmpfs-dir DIR  work folder in memory (default: /dev/shm)
#   --rounds N       timed rounds (full mode: at least 5, the default)
#   -h, --help       this text
#
# The install step is idempotent: it installs only what is missing.
# Debian packages (age, argon2, gnupg, openssl, gcc, pkg-config,
# python3-venv, time) only when running as root (no sudo); the Python peers
# (benches/requirements-peers.txt) and the harness's own needs
# (benches/requirements-harness.txt: matplotlib, installed even with
# --no-install) into target/bench-venv; rage from crates.io with
# `cargo install` in the full mode only (a long build).
# The full mode needs about 4 GiB free in /dev/shm and 50 GiB on disk (the
# 16 GiB memory-growth file); it is not run by the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

QUICK=0
ONLY=""
OUT=""
INSTALL=1
DISK_DIR=""
TMPFS_DIR=/dev/shm
ROUNDS=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "bench.sh: $*" >&2; exit 2; }
note() { echo "bench.sh: $*" >&2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --only) ONLY="${2:?--only wants a list}"; shift 2 ;;
        --out) OUT="${2:?--out wants a folder}"; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --disk-dir) DISK_DIR="${2:?}"; shift 2 ;;
        --tmpfs-dir) TMPFS_DIR="${2:?}"; shift 2 ;;
        --rounds) ROUNDS="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/bench-venv
OUT=${OUT:-$root/bench-results/$(date -u +%Y-%m-%dT%H%M%SZ)}
DISK_DIR=${DISK_DIR:-$target/bench-work}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT" "$DISK_DIR"

# ------------------------------------------------------------ install
apt_install() { # packages (only the missing ones)
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        note "not root (or no apt-get): not installing ${missing[*]}; the report names what is missing"
        return 0
    fi
    note "apt-get install ${missing[*]}"
    apt-get update -qq >&2 || note "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
        note "apt-get install failed; the report names what is missing"
}

pip_install() { # requirements file
    local stamp=$venv/.$(basename "$1")
    cmp -s "$1" "$stamp" && return 0
    note "pip install -r $1"
    if "$venv/bin/python" -m pip install --quiet -r "$1" >&2; then
        cp "$1" "$stamp"
    else
        note "pip install -r $1 failed; the report names what is missing"
    fi
}

if [ "$INSTALL" = 1 ]; then
    apt_install age argon2 gnupg openssl gcc pkg-config python3-venv time
fi
if [ ! -x "$venv/bin/python" ]; then
    note "creating $venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2 || true
fi
pip_install benches/requirements-harness.txt
if [ "$INSTALL" = 1 ]; then
    pip_install benches/requirements-peers.txt
    if [ "$QUICK" = 0 ] && ! command -v rage >/dev/null && [ ! -x "$target/bench-tools/bin/rage" ]; then
        note "cargo install rage (crates.io) into $target/bench-tools"
        cargo install --quiet --locked --root "$target/bench-tools" rage >&2 || note "cargo install rage failed"
    fi
fi
export PATH="$target/bench-tools/bin:$PATH"

# ------------------------------------------------------------ build
# What is measured is built here, release profile; a part that does not
# build is reported as skipped rather than stopping the others.
bins=()
build() { # name path command...
    local name=$1 path=$2
    shift 2
    if "$@" >&2; then bins+=(--bin "$name=$path"); else note "building $name failed"; bins+=(--bin "$name="); fi
}
note "building (release)"
build strongroom "$target/release/strongroom" cargo build --release --locked -q -p strongroom-cli
build sqlite_floor "$target/release/examples/sqlite_floor" cargo build --release --locked -q -p strongroom-db --example sqlite_floor
build probe "$target/release/examples/strongroom-bench" \
    cargo build --release --locked -q -p strongroom-ffi --example strongroom-bench --example field_bench
bins+=(--bin "rust_field_bench=$target/release/examples/field_bench")

prefix=$target/c-prefix-release
cdir=$target/bench-c
mkdir -p "$cdir"
c_build() { # output source
    # shellcheck disable=SC2046 # pkg-config prints several flags
    gcc -O2 -std=c99 "$2" -o "$1" $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs strongroom-static)
}
if command -v gcc >/dev/null && command -v pkg-config >/dev/null &&
    PREFIX=$prefix PROFILE=release scripts/install-c.sh >/dev/null; then
    build c_field_bench "$cdir/field_bench" c_build "$cdir/field_bench" benches/c_api/field_bench.c
    build c_encrypt_file "$cdir/encrypt_file" c_build "$cdir/encrypt_file" ffi/examples/encrypt_file.c
else
    note "the C library or gcc/pkg-config is missing: no C API rows"
    bins+=(--bin c_field_bench= --bin c_encrypt_file=)
fi

# The Python package, as users install it: the wheel, into the harness's venv.
if wheel=$(scripts/build-wheel.sh 2>/dev/null | tail -n1) && [ -f "$wheel" ]; then
    if ! cmp -s <(sha256sum "$wheel" | cut -d' ' -f1) "$venv/.wheel" 2>/dev/null; then
        "$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel" >&2 &&
            sha256sum "$wheel" | cut -d' ' -f1 >"$venv/.wheel"
    fi
else
    note "building the Python wheel failed: no Python rows"
fi

# ------------------------------------------------------------ run
args=(--out "$OUT" --disk-dir "$DISK_DIR" --tmpfs-dir "$TMPFS_DIR" "${bins[@]}")
[ "$QUICK" = 1 ] && args+=(--quick)
[ -n "$ONLY" ] && args+=(--only "$ONLY")
[ -n "$ROUNDS" ] && args+=(--rounds "$ROUNDS")
cmdline="scripts/bench.sh"
[ "$QUICK" = 1 ] && cmdline+=" --quick"
[ -n "$ONLY" ] && cmdline+=" --only $ONLY"
[ "$INSTALL" = 0 ] && cmdline+=" --no-install"
cd "$root/benches"
PYTHONPATH="$root/benches" "$venv/bin/python" -m harness "${args[@]}" --command "$cmdline"
