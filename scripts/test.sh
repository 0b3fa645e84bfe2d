#!/usr/bin/env bash
# The whole strongroom test suite: every crate on the default AEAD engine
# (aws-lc-rs), then the core and the testkit again on the pure-Rust engine,
# so both engines pass the same vectors and produce identical ciphertexts.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tests, default engine (aws-lc-rs) =="
cargo test --workspace --locked

echo "== tests, pure-Rust engine (RustCrypto aes-gcm) =="
cargo test --locked -p strongroom -p strongroom-testkit --no-default-features --features pure-rust
