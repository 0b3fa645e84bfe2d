#!/usr/bin/env bash
# The whole strongroom test suite: every crate on the default AEAD engine
# (ring), then the core and the testkit again on each other engine offered
# (aws-lc-rs, RustCrypto aes-gcm), so every engine passes the same vectors
# and produces byte-identical ciphertexts.
set -euo pipefail
cd "$(dirname "$0")/.."

timed() {
    local start=$SECONDS
    "$@"
    echo "   ($(( SECONDS - start )) s)"
}

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

echo "== database tooling (scripts/test-db.sh) =="
timed scripts/test-db.sh
