#!/usr/bin/env bash
# Builds the C library (release) and installs it into a prefix:
#
#   PREFIX/lib/libstrongroom.so.0.1.0       shared library (soname libstrongroom.so.0)
#   PREFIX/lib/libstrongroom.so.0 -> libstrongroom.so.0.1.0
#   PREFIX/lib/libstrongroom.so   -> libstrongroom.so.0
#   PREFIX/lib/libstrongroom.a              static library
#   PREFIX/include/strongroom.h
#   PREFIX/lib/pkgconfig/strongroom.pc      shared (and --static: Libs.private)
#   PREFIX/lib/pkgconfig/strongroom-static.pc  links libstrongroom.a directly
#
# Usage: PREFIX=/usr/local scripts/install-c.sh   (default PREFIX: target/c-prefix)
# Environment: PREFIX, PROFILE (release), CARGO_FLAGS (extra cargo flags,
# e.g. "--no-default-features --features aws-lc").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PREFIX=${PREFIX:-$root/target/c-prefix}
PROFILE=${PROFILE:-release}
case "$PREFIX" in /*) ;; *) PREFIX=$root/$PREFIX ;; esac

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}

# `cargo rustc` so the build also prints the native libraries a static
# link needs (Libs.private). Only the ffi crate itself sees the flag.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086
cargo rustc --locked -p strongroom-ffi --lib --profile "$PROFILE" ${CARGO_FLAGS:-} \
    -- --print native-static-libs 2>&1 | tee "$log" | grep -v '^note: \|^$' >&2 || {
    cat "$log" >&2
    exit 1
}
native=$(sed -n 's/^note: native-static-libs: //p' "$log" | tail -n1)
if [ -z "$native" ]; then
    # Fingerprint up to date: nothing printed. Linux default of the Rust std.
    native="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
fi
# -lc is implied by every C compiler driver; keep the list as printed otherwise.

dir=target/$PROFILE
[ "$PROFILE" = dev ] && dir=target/debug
install -d "$PREFIX/lib/pkgconfig" "$PREFIX/include"
install -m 0755 "$dir/libstrongroom.so" "$PREFIX/lib/libstrongroom.so.$version"
ln -sfn "libstrongroom.so.$version" "$PREFIX/lib/libstrongroom.so.$major"
ln -sfn "libstrongroom.so.$major" "$PREFIX/lib/libstrongroom.so"
install -m 0644 "$dir/libstrongroom.a" "$PREFIX/lib/libstrongroom.a"
install -m 0644 ffi/include/strongroom.h "$PREFIX/include/strongroom.h"

cat > "$PREFIX/lib/pkgconfig/strongroom.pc" <<PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: strongroom
Description: Encryption of files and database fields with sound key handling (C API)
Version: $version
Libs: -L\${libdir} -lstrongroom
Libs.private: $native
Cflags: -I\${includedir}
PC

cat > "$PREFIX/lib/pkgconfig/strongroom-static.pc" <<PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: strongroom-static
Description: strongroom C API, linked statically (libstrongroom.a)
Version: $version
Libs: \${libdir}/libstrongroom.a $native
Cflags: -I\${includedir}
PC

echo "installed libstrongroom $version into $PREFIX" >&2
