#!/usr/bin/env bash
# C API benchmarks (release builds; figures in benches/README.md):
#
#  1. fields: a single 32-byte value encrypted and decrypted through the C
#     API (field_bench.c) against the same calls in Rust (field_bench.rs),
#     and a batch of 10 000 values per value; ROUNDS runs of each,
#     alternating, best kept;
#  2. whole file: SIZE_MIB (default 1024) of random data encrypted to a
#     keyring through the C API (ffi/examples/encrypt_file.c) and with the
#     command line (strongroom encrypt), alternating, RUNS times each.
#
# Usage: benches/c_api/run.sh   (env: ROUNDS=5 RUNS=3 SIZE_MIB=1024 N=200000)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
N=${N:-200000}
prefix=$root/target/c-prefix-release
out=$root/target/bench-c
mkdir -p "$out"

PREFIX=$prefix PROFILE=release scripts/install-c.sh
cargo build --locked --release -q -p strongroom-cli
cargo build --locked --release -q -p strongroom-ffi --example field_bench
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
gcc -O2 -std=c99 benches/c_api/field_bench.c -o "$out/field_bench" $(pkg-config --cflags --libs strongroom-static)
gcc -O2 -std=c99 ffi/examples/encrypt_file.c -o "$out/encrypt_file" $(pkg-config --cflags --libs strongroom-static)
gcc -O2 -std=c99 ffi/tests/make_keyring.c -o "$out/make_keyring" $(pkg-config --cflags --libs strongroom-static)

echo "== fields: C API vs Rust (best of $ROUNDS, N=$N) =="
: > "$out/fields.txt"
for _ in $(seq "$ROUNDS"); do
    "$out/field_bench" "$N" >> "$out/fields.txt"
    "$root/target/release/examples/field_bench" "$N" >> "$out/fields.txt"
done
python3 - "$out/fields.txt" <<'PY'
import sys, collections
best = collections.defaultdict(lambda: float("inf"))
for line in open(sys.argv[1]):
    lang, name, ns, _ = line.split()
    best[(lang, name)] = min(best[(lang, name)], float(ns))
names = sorted({n for _, n in best})
print(f"{'operation':34} {'C API ns':>10} {'Rust ns':>10} {'C/Rust':>8}")
for n in names:
    c, r = best[("c", n)], best[("rust", n)]
    print(f"{n:34} {c:10.1f} {r:10.1f} {c / r:8.3f}")
PY

echo "== whole file: ${SIZE_MIB} MiB, C API vs command line ($RUNS runs each, alternating) =="
rm -f "$out"/k.srk "$out"/k.srk.lock
"$out/make_keyring" "$out/k.srk" "bench pass"
if [ ! -f "$out/plain-$SIZE_MIB" ]; then
    head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$out/plain-$SIZE_MIB"
fi
export STRONGROOM_KEYRING_PASSPHRASE="bench pass"
: > "$out/file.txt"
for _ in $(seq "$RUNS"); do
    rm -f "$out/c.srf" "$out/cli.srf"
    sync
    s=$(date +%s.%N); "$out/encrypt_file" encrypt "$out/plain-$SIZE_MIB" "$out/c.srf" --keyring "$out/k.srk" 2>/dev/null; e=$(date +%s.%N)
    echo "c $(echo "$e - $s" | bc)" >> "$out/file.txt"
    sync
    s=$(date +%s.%N); "$root/target/release/strongroom" --keyring "$out/k.srk" --no-progress -q encrypt "$out/plain-$SIZE_MIB" -o "$out/cli.srf"; e=$(date +%s.%N)
    echo "cli $(echo "$e - $s" | bc)" >> "$out/file.txt"
done
rm -f "$out/c.srf" "$out/cli.srf"
python3 - "$out/file.txt" "$SIZE_MIB" <<'PY'
import sys, statistics
t = {"c": [], "cli": []}
for line in open(sys.argv[1]):
    k, v = line.split()
    t[k].append(float(v))
mib = int(sys.argv[2])
for k in ("c", "cli"):
    print(f"{k:4} best {min(t[k]):7.3f} s ({mib / min(t[k]):7.1f} MiB/s)  median {statistics.median(t[k]):7.3f} s")
print(f"C API / command line (best): {min(t['c']) / min(t['cli']):.3f}")
PY
