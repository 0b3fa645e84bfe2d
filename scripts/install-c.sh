#!/usr/bin/env bash
# Builds the C library (release) and installs it into a prefix:
#
#   PREFIX/lib/libstrongroom.so.0.1.0       shared library (soname libstrongroom.so.0)
#   PREFIX/lib/libstrongroom.so.0 -> libstrongroom.so.0.1.0
#   PREFIX/lib/libstrongroom.so   -> libstrongroom.so.0
#   PREFIX/lib/libstrongroom.a              static library (only strongroom_* global)
#   PREFIX/include/strongroom.h
#   PREFIX/lib/pkgconfig/strongroom.pc      shared (and --static: Libs.private)
#   PREFIX/lib/pkgconfig/strongroom-static.pc  links libstrongroom.a directly
#   PREFIX/share/strongroom/strongroom.supp valgrind suppressions (pkg-config
#                                           variable valgrind_suppressions)
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
# -lgcc_s is the shared unwinder, which a `-static` link cannot use. Every
# C compiler driver links the unwinder itself (libgcc_s as needed in a
# dynamic link, libgcc_eh in a static one), so it is left out; the rest
# stays as printed (-lc is implied, but harmless).
native=$(printf '%s\n' "$native" | sed 's/\(^\| \)-lgcc_s\( \|$\)/\1/; s/^ *//')

dir=target/$PROFILE
[ "$PROFILE" = dev ] && dir=target/debug
install -d "$PREFIX/lib/pkgconfig" "$PREFIX/include"
install -m 0755 "$dir/libstrongroom.so" "$PREFIX/lib/libstrongroom.so.$version"
ln -sfn "libstrongroom.so.$version" "$PREFIX/lib/libstrongroom.so.$major"
ln -sfn "libstrongroom.so.$major" "$PREFIX/lib/libstrongroom.so"
install -d "$PREFIX/share/strongroom"
install -m 0644 ffi/strongroom.supp "$PREFIX/share/strongroom/strongroom.supp"
install -m 0644 ffi/include/strongroom.h "$PREFIX/include/strongroom.h"

# The static library. Built as is, it holds the Rust standard library and
# every crate inside as global symbols, so it cannot be linked next to
# another Rust static library (hundreds of duplicate symbols). On Linux it
# is installed as one relocatable object that keeps only the C API
# (strongroom_*) global: a partial link (`ld -r`) pulls in what the API
# needs, section groups become plain sections (so no COMDAT group is
# shared with another library's objects), and objcopy makes every other
# symbol local. Elsewhere, or without GNU binutils, the archive is
# installed as built (docs/C-API.md, "Static linking").
localize_static() { # IN OUT
    local tmp
    tmp=$(mktemp -d)
    nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 && $3 ~ /^strongroom_/ { print $3 }' \
        | sort -u > "$tmp/api.txt"
    [ -s "$tmp/api.txt" ] || { echo "no strongroom_* symbols in $1" >&2; rm -rf "$tmp"; return 1; }
    # shellcheck disable=SC2046
    ld -r --force-group-allocation -o "$tmp/strongroom.o" $(sed 's/^/-u /' "$tmp/api.txt") "$1"
    # Embedded LLVM bitcode (.llvmbc/.llvmcmd, for Rust's own LTO) is of no
    # use to a C linker, and binutils with an older LLVM plugin chokes on it.
    objcopy --keep-global-symbols="$tmp/api.txt" --remove-section=.llvmbc --remove-section=.llvmcmd \
        "$tmp/strongroom.o"
    local stray
    stray=$(nm -g --defined-only "$tmp/strongroom.o" | awk 'NF == 3 && $3 !~ /^strongroom_/' | head -n 3)
    if [ -n "$stray" ]; then
        echo "global symbols other than strongroom_* remain: $stray" >&2
        rm -rf "$tmp"
        return 1
    fi
    rm -f "$2"
    ar rcs "$2" "$tmp/strongroom.o"
    rm -rf "$tmp"
}
ld_help=$(ld --help 2>/dev/null || true)
if [ "$(uname -s)" = Linux ] && command -v objcopy >/dev/null && [[ $ld_help == *--force-group-allocation* ]]; then
    localize_static "$dir/libstrongroom.a" "$PREFIX/lib/libstrongroom.a"
else
    echo "note: installing libstrongroom.a as built (its Rust symbols stay global)" >&2
    install -m 0644 "$dir/libstrongroom.a" "$PREFIX/lib/libstrongroom.a"
fi

cat > "$PREFIX/lib/pkgconfig/strongroom.pc" <<PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include
datadir=\${prefix}/share
valgrind_suppressions=\${datadir}/strongroom/strongroom.supp

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
datadir=\${prefix}/share
valgrind_suppressions=\${datadir}/strongroom/strongroom.supp

Name: strongroom-static
Description: strongroom C API, linked statically (libstrongroom.a)
Version: $version
Libs: \${libdir}/libstrongroom.a $native
Cflags: -I\${includedir}
PC

echo "installed libstrongroom $version into $PREFIX" >&2
