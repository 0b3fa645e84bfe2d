#!/usr/bin/env bash
# Database tooling tests (strongroom-db, `strongroom db`): SQLite always;
# PostgreSQL (127.0.0.1:5432, trust auth, database `test`) and MariaDB/MySQL
# (127.0.0.1:3306, root without password, database `test`) when they answer.
# With CI=true a missing server is a failure, not a skip.
# Override the servers with STRONGROOM_TEST_PG_URL / STRONGROOM_TEST_MYSQL_URL.
# Both servers are set up for TLS first (scripts/db-tls-setup.sh: a test CA
# and certificates, PostgreSQL reloaded, MariaDB restarted once if it has no
# TLS yet); the TLS tests read the certificates from STRONGROOM_TEST_TLS_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${STRONGROOM_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
MY_URL=${STRONGROOM_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
export STRONGROOM_TEST_PG_URL=$PG_URL STRONGROOM_TEST_MYSQL_URL=$MY_URL

# host:port of a URL
hostport() { local u=${1#*://}; u=${u#*@}; echo "${u%%/*}"; }

for url in "$PG_URL" "$MY_URL"; do
    hp=$(hostport "$url")
    if ! timeout 3 bash -c "exec 3<>/dev/tcp/${hp%:*}/${hp##*:}" 2>/dev/null; then
        if [ "${CI:-}" = "true" ]; then
            echo "FAIL: CI=true and no database server at $hp" >&2
            exit 1
        fi
        echo "SKIP: no database server at $hp; its tests are skipped (set CI=true to fail instead)"
    fi
done

echo "== TLS on the test servers (scripts/db-tls-setup.sh) =="
if [ -n "${STRONGROOM_TEST_TLS_DIR:-}" ]; then
    echo "   (set up by the caller: $STRONGROOM_TEST_TLS_DIR)"
elif tls_dir=$(scripts/db-tls-setup.sh); then
    export STRONGROOM_TEST_TLS_DIR=$tls_dir
elif [ "${CI:-}" = "true" ]; then
    echo "FAIL: CI=true and the servers could not be set up for TLS" >&2
    exit 1
else
    echo "SKIP: the servers could not be set up for TLS; the TLS tests are skipped (set CI=true to fail instead)"
fi

start=$SECONDS
# scripts/test.sh passes --after-workspace: its `cargo test --workspace` has
# already run these two (the same tests, against the same servers).
if [ "${1:-}" != "--after-workspace" ]; then
    echo "== strongroom-db: every engine =="
    cargo test --locked -p strongroom-db
    echo "== strongroom db (command line): SIGKILL and resume, exit codes =="
    cargo test --locked -p strongroom-cli --test db
fi
if [ -d sqlite-ext ]; then
    echo "== SQLite extension: sqlite3 shell and Python =="
    sqlite-ext/test.sh
fi
echo "   ($(( SECONDS - start )) s)"
