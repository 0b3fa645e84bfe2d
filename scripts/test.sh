#!/usr/bin/env bash
# The whole strongroom test suite: every crate on the default AEAD engine
# (ring), then the core and the testkit again on each other engine offered
# (aws-lc-rs, RustCrypto aes-gcm), so every engine passes the same vectors
# and produces byte-identical ciphertexts; then the C API (header, C tests
# and examples under sanitizers and valgrind), the Python package (its own
# virtual environment) and the database tooling's SQLite extension. The
# database tests run against PostgreSQL and MariaDB on 127.0.0.1; with
# CI=true a missing server fails the run instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

timed() {
    local start=$SECONDS
    "$@"
    echo "   ($(( SECONDS - start )) s)"
}

# The database tests (in the workspace run below, and scripts/test-db.sh)
# need the local servers set up for TLS first.
echo "== database servers: TLS for the tests (scripts/db-tls-setup.sh) =="
if tls_dir=$(scripts/db-tls-setup.sh); then
    export STRONGROOM_TEST_TLS_DIR=$tls_dir
elif [ "${CI:-}" = "true" ]; then
    echo "FAIL: CI=true and the database servers could not be set up for TLS" >&2
    exit 1
fi

echo "== tests, default engine (ring) =="
timed cargo test --workspace --locked

echo "== tests, aws-lc-rs engine =="
timed cargo test --locked -p strongroom -p strongroom-testkit --no-default-features --features aws-lc

echo "== tests, pure-Rust engine (RustCrypto aes-gcm) =="
timed cargo test --locked -p strongroom -p strongroom-testkit --no-default-features --features pure-rust

echo "== C API (libstrongroom): header, C tests and examples, sanitizers, valgrind =="
timed scripts/test-c.sh

echo "== Python package (scripts/test-python.sh) =="
timed scripts/test-python.sh

echo "== database tooling: servers, SQLite extension (scripts/test-db.sh) =="
timed scripts/test-db.sh --after-workspace

echo "== benchmark harness, quick mode (scripts/test-bench.sh) =="
timed scripts/test-bench.sh
