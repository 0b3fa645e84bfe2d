#!/usr/bin/env bash
# Encrypt a ROWS-row text column (default 1 000 000) per engine with
# `strongroom db encrypt` (release build) and with python_encrypt.py, and on
# PostgreSQL with pgcrypto's pgp_sym_encrypt; on SQLite also the floor
# (db/examples/sqlite_floor.rs: the same reads and compare-and-swap UPDATEs
# with token-sized text and no encryption, what SQLite itself costs);
# prints rows per second. BATCH (default 5000) is every tool's rows per
# transaction; PGCRYPTO=0 skips pgcrypto (about 1 500 rows/s). Needs the
# servers of scripts/test-db.sh; a venv is made under target/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-1000000}
BATCH=${BATCH:-5000}
PG=${STRONGROOM_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
MY=${STRONGROOM_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
VENV=target/db-bench-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import cryptography, psycopg, pymysql' 2>/dev/null ||
    "$VENV/bin/pip" install --quiet cryptography 'psycopg[binary]' PyMySQL
cargo build --release --quiet -p strongroom-cli
cargo build --release --quiet -p strongroom-db --example sqlite_floor
SR=$PWD/target/release/strongroom
FLOOR=$PWD/target/release/examples/sqlite_floor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export STRONGROOM_KEYRING=$tmp/k.srk STRONGROOM_KEYRING_PASSPHRASE=bench
"$SR" keyring init --argon2-memory-mib 8 --argon2-time 1 >/dev/null 2>&1
SQLITE=sqlite:$tmp/bench.db
python3 -c "import sqlite3; sqlite3.connect('$tmp/bench.db').close()"

fill() { # url
    local v="'customer-' || g || '@example.com'"
    case $1 in
    sqlite:*) python3 - "$tmp/bench.db" "$ROWS" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
c.execute("DROP TABLE IF EXISTS db_bench"); c.execute("CREATE TABLE db_bench (id INTEGER PRIMARY KEY, email TEXT)")
c.executemany("INSERT INTO db_bench VALUES (?, ?)", ((i, f"customer-{i}@example.com") for i in range(1, n + 1))); c.commit()
PY
    ;;
    postgres*) psql -q "$1" -c "DROP TABLE IF EXISTS db_bench; CREATE TABLE db_bench (id bigint PRIMARY KEY, email text);
        INSERT INTO db_bench SELECT g, $v FROM generate_series(1, $ROWS) g;" -c "VACUUM ANALYZE db_bench" ;;
    mysql*) mysql -h 127.0.0.1 -u root test -e "DROP TABLE IF EXISTS db_bench; CREATE TABLE db_bench (id BIGINT PRIMARY KEY, email VARCHAR(200)) DEFAULT CHARSET=utf8mb4;
        INSERT INTO db_bench SELECT seq, CONCAT('customer-', seq, '@example.com') FROM seq_1_to_$ROWS;" ;;
    esac
    sync # the fill's dirty pages are not flushed during the measured run
}

echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
for url in ${ENGINES:-sqlite "$PG" "$MY"}; do
    [ "$url" = sqlite ] && url=$SQLITE
    name=${url%%:*}
    fill "$url"
    start=$(date +%s.%N)
    "$SR" --no-progress --quiet db encrypt --url "$url" --table db_bench --column email --batch-size "$BATCH"
    end=$(date +%s.%N)
    echo "$name strongroom db encrypt (batch $BATCH): $(python3 -c "print(f'{$ROWS / ($end - $start):.0f}')") rows/s"
    fill "$url"
    echo -n "$name python (cryptography AESGCM, executemany): "
    "$VENV/bin/python" benches/db/python_encrypt.py "$url" db_bench email "$BATCH"
    if [ "$name" = sqlite ]; then
        fill "$url"
        echo -n "sqlite floor (no encryption, compare-and-swap UPDATE): "
        "$FLOOR" "$tmp/bench.db" db_bench email "$BATCH" cas
    fi
    if [ "$name" = postgres ] && [ "${PGCRYPTO:-1}" = 1 ]; then
        fill "$url"
        psql -q "$url" -c "CREATE EXTENSION IF NOT EXISTS pgcrypto" >/dev/null
        start=$(date +%s.%N)
        psql -q "$url" -c "UPDATE db_bench SET email = encode(pgp_sym_encrypt(email, 'bench key'), 'base64')" >/dev/null
        end=$(date +%s.%N)
        echo "postgres pgcrypto pgp_sym_encrypt: $(python3 -c "print(f'{$ROWS / ($end - $start):.0f}')") rows/s"
    fi
done
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
