#!/usr/bin/env bash
# SQLite only, alternating same-run peers for ROUNDS rounds (default 5) on
# ROWS rows (default 1 000 000), BATCH rows per transaction (default 5000):
# `strongroom db encrypt` (the job's own rows/s from its JSON summary, and
# its CPU time), OLD (optional: another strongroom binary, e.g. an earlier
# build), the floor (db/examples/sqlite_floor.rs) and python_encrypt.py.
# Take the medians. Needs the venv benches/db/run.sh makes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-1000000} BATCH=${BATCH:-5000} ROUNDS=${ROUNDS:-5}
PY=target/db-bench-venv/bin/python
cargo build --release --quiet -p strongroom-cli
cargo build --release --quiet -p strongroom-db --example sqlite_floor
SR=$PWD/target/release/strongroom FLOOR=$PWD/target/release/examples/sqlite_floor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export STRONGROOM_KEYRING=$tmp/k.srk STRONGROOM_KEYRING_PASSPHRASE=bench
"$SR" keyring init --argon2-memory-mib 8 --argon2-time 1 >/dev/null 2>&1
db=$tmp/bench.db
fill() {
    python3 - "$db" "$ROWS" <<'PYFILL'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
c.execute("DROP TABLE IF EXISTS db_bench"); c.execute("CREATE TABLE db_bench (id INTEGER PRIMARY KEY, email TEXT)")
c.executemany("INSERT INTO db_bench VALUES (?, ?)", ((i, f"customer-{i}@example.com") for i in range(1, n + 1))); c.commit()
PYFILL
    sync
}
job() { # binary
    /usr/bin/time -f "cpu %U+%S s" "$1" --no-progress --json db encrypt --url "sqlite:$db" --table db_bench \
        --column email --batch-size "$BATCH" 2>&1 | grep -o '"rows_per_second":[0-9]*\|cpu.*' | tr '\n' ' '
    echo
}
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $ROWS rows, batch $BATCH"
for _ in $(seq "$ROUNDS"); do
    fill; echo -n "strongroom: "; job "$SR"
    if [ -n "${OLD:-}" ]; then fill; echo -n "old strongroom: "; job "$OLD"; fi
    fill; echo -n "floor (no encryption): "; "$FLOOR" "$db" db_bench email "$BATCH" cas
    fill; echo -n "python: "; "$PY" benches/db/python_encrypt.py "sqlite:$db" db_bench email "$BATCH"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
