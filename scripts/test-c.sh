#!/usr/bin/env bash
# The C API's test suite (scripts/test.sh runs it; it also runs alone):
#
#  1. the committed header is what cbindgen 0.29.4 generates (any
#     difference fails), and it compiles alone as C99 (-Wall -Wextra
#     -Werror -pedantic) and as C++;
#  2. the Rust unit tests of the ffi crate (status constants against the
#     error table, version against Cargo.toml, the panic boundary);
#  3. the library is installed into target/c-prefix with
#     scripts/install-c.sh, and every C test and example is built through
#     pkg-config: shared, static, and shared with AddressSanitizer plus
#     UndefinedBehaviorSanitizer;
#  4. each build runs the C tests (ffi/tests/*.c: API round trips and error
#     paths, every testkit case, the field vectors, 8 threads, the pool's
#     size, a watcher thread on the output of failing decryptions) and the
#     examples (ffi/examples/*.c), and the non-sanitized build runs them
#     again under valgrind memcheck (--error-exitcode, --leak-check=full)
#     with the installed suppression file;
#  5. static linking: the installed libstrongroom.a exports strongroom_*
#     only, links into one program with a second Rust static library built
#     here (in either order), and a fully static program (`-static`,
#     pkg-config --static) passes the API tests;
#  6. the release build, installed as users install it, runs every C test
#     under valgrind with only the installed suppression file;
#  7. files written through the C API decrypt with the strongroom command
#     and the reverse.
#
# Installs what it needs when missing (apt: pkg-config, valgrind,
# libsqlite3-dev, g++; cargo: the pinned cbindgen). Environment:
# PROFILE (dev: the library as the other tests build it; release for
# speed figures), SKIP_VALGRIND=1 to leave valgrind (and the release
# build it runs on) out locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PROFILE=${PROFILE:-dev}
CBINDGEN_VERSION=0.29.4

timed() {
    local start=$SECONDS
    "$@"
    echo "   ($(( SECONDS - start )) s)"
}

echo "-- C API: tools"
missing=()
for pkg in pkg-config valgrind libsqlite3-dev gcc g++ python3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
# The pinned cbindgen, installed once per machine (cargo's bin directory),
# so a fresh clone does not rebuild it.
cbindgen=${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen
if ! [ -x "$cbindgen" ] || [ "$("$cbindgen" --version)" != "cbindgen $CBINDGEN_VERSION" ]; then
    cargo install cbindgen --version "=$CBINDGEN_VERSION" --locked
fi

work=$(mktemp -d "$root/target/c-test.XXXXXX")
# The command line's record of keyrings seen stays in the test's folder.
export STRONGROOM_STATE_DIR=$work/state
trap 'rm -rf "$work"' EXIT

step_header() {
    "$cbindgen" --quiet --config ffi/cbindgen.toml --crate strongroom-ffi --output "$work/strongroom.h" ffi
    if ! diff -u ffi/include/strongroom.h "$work/strongroom.h"; then
        echo "ffi/include/strongroom.h is out of date: regenerate it with" >&2
        echo "  $cbindgen --config ffi/cbindgen.toml --crate strongroom-ffi --output ffi/include/strongroom.h ffi" >&2
        return 1
    fi
    printf '#include <strongroom.h>\nint main(void) { return strongroom_version() == 0; }\n' > "$work/alone.c"
    gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iffi/include -c "$work/alone.c" -o "$work/alone_c.o"
    g++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iffi/include -x c++ -c "$work/alone.c" -o "$work/alone_cxx.o"
    echo "header up to date; compiles alone as C99 and C++"
}
echo "== C API: header =="
timed step_header

echo "== C API: Rust unit tests =="
timed cargo test --locked -p strongroom-ffi --lib -q

prefix=$root/target/c-prefix
echo "== C API: install into target/c-prefix ($PROFILE) =="
timed env PREFIX="$prefix" PROFILE="$PROFILE" scripts/install-c.sh
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
echo "== C API: the command line, for the cross checks =="
timed cargo build --locked -q -p strongroom-cli
cli=$root/target/debug/strongroom

python3 - testdata/testkit/manifest.json > "$work/cases.txt" <<'PY'
import json, re, sys
for c in json.load(open(sys.argv[1]))["cases"]:
    print(c["file"], c["opener"], re.sub(r"\(.*\)", "", c["expect"]))
PY
python3 ffi/tests/field_vectors.py testdata/field/vectors.json > "$work/vectors.txt"

tests=(test_api test_testkit test_vectors test_threads test_pool test_no_early_plaintext test_keyring make_keyring)
cflags_common=(-std=c99 -Wall -Wextra -Werror -g -D_POSIX_C_SOURCE=200809L -pthread)
examples=(encrypt_file db_fields)
cflags=("${cflags_common[@]}")

build_variant() { # NAME EXTRA_CFLAGS... -- PKG
    local name=$1; shift
    local extra=()
    while [ "$1" != "--" ]; do extra+=("$1"); shift; done
    shift
    local pkg=$1 out=$work/$name
    mkdir -p "$out"
    local libs
    # shellcheck disable=SC2207
    libs=($(pkg-config --libs "$pkg"))
    local rpath=()
    [ "$pkg" = strongroom ] && rpath=(-Wl,-rpath,"$(pkg-config --variable=libdir strongroom)")
    for t in "${tests[@]}"; do
        gcc "${cflags[@]}" "${extra[@]}" ffi/tests/$t.c -o "$out/$t" $(pkg-config --cflags "$pkg") "${libs[@]}" "${rpath[@]}"
    done
    for e in "${examples[@]}"; do
        gcc "${cflags[@]}" "${extra[@]}" ffi/examples/$e.c -o "$out/$e" \
            $(pkg-config --cflags "$pkg" sqlite3) "${libs[@]}" $(pkg-config --libs sqlite3) "${rpath[@]}"
    done
}

run_variant() { # NAME [RUNNER...]
    local name=$1; shift
    local bin=$work/$name d=$work/run-$name
    rm -rf "$d"; mkdir -p "$d"/api "$d"/kit "$d"/thr "$d"/pool "$d"/watch "$d"/ex "$d"/kr
    "$@" "$bin/test_api" "$d/api"
    "$@" "$bin/test_keyring" testdata/keyring "$d/kr"
    "$@" "$bin/test_testkit" testdata/testkit "$work/cases.txt" "$d/kit"
    "$@" "$bin/test_vectors" "$work/vectors.txt"
    "$@" "$bin/test_threads" "$d/thr"
    "$@" "$bin/test_pool" "$d/pool"
    "$@" "$bin/test_no_early_plaintext" "$d/watch"
    # The examples: a file round trip and the SQLite program.
    "$bin/make_keyring" "$d/ex/k.srk" "example keyring pass"
    head -c 300000 /dev/urandom > "$d/ex/plain"
    STRONGROOM_KEYRING_PASSPHRASE="example keyring pass" STRONGROOM_PASSPHRASE="example file pass" \
        "$@" "$bin/encrypt_file" encrypt "$d/ex/plain" "$d/ex/plain.srf" --keyring "$d/ex/k.srk" \
        --passphrase --argon2-memory-mib 8 --argon2-time 1 --argon2-lanes 1 2>/dev/null
    STRONGROOM_PASSPHRASE="example file pass" \
        "$@" "$bin/encrypt_file" decrypt "$d/ex/plain.srf" "$d/ex/plain.out" --passphrase 2>/dev/null
    cmp "$d/ex/plain" "$d/ex/plain.out"
    # A wrong passphrase: exit 6 (key class), no output.
    if STRONGROOM_PASSPHRASE="wrong" "$@" "$bin/encrypt_file" decrypt "$d/ex/plain.srf" "$d/ex/bad.out" \
        --passphrase 2>/dev/null; then
        echo "encrypt_file accepted a wrong passphrase" >&2; return 1
    else
        rc=$?; [ "$rc" -eq 6 ] || { echo "encrypt_file: exit $rc, expected 6" >&2; return 1; }
    fi
    [ ! -e "$d/ex/bad.out" ]
    STRONGROOM_KEYRING_PASSPHRASE="example keyring pass" "$@" "$bin/db_fields" "$d/ex/db.sqlite" "$d/ex/k.srk" >/dev/null
}

echo "== C API: shared library (pkg-config strongroom) =="
timed build_variant shared -- strongroom
deps=$(ldd "$work/shared/test_api")
grep -q 'libstrongroom.so.0 =>' <<<"$deps" || { echo "not linked to libstrongroom.so.0" >&2; exit 1; }
timed run_variant shared

echo "== C API: static library (pkg-config strongroom-static) =="
timed build_variant static -- strongroom-static
deps=$(readelf -d "$work/static/test_api")
if grep -q 'libstrongroom' <<<"$deps"; then
    echo "the static build depends on libstrongroom.so" >&2; exit 1
fi
timed run_variant static

echo "== C API: AddressSanitizer + UndefinedBehaviorSanitizer =="
timed build_variant asan -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -- strongroom
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 timed run_variant asan

valgrind_run() { # PKG_CONFIG_PATH must name the prefix whose suppressions apply
    local supp
    supp=$(pkg-config --variable=valgrind_suppressions strongroom)
    [ -f "$supp" ] || { echo "no installed suppression file ($supp)" >&2; return 1; }
    valgrind -q --error-exitcode=1 --leak-check=full --suppressions="$supp" "$@"
}

if [ "${SKIP_VALGRIND:-}" = 1 ] && [ "${CI:-}" != true ]; then
    echo "== C API: valgrind skipped (SKIP_VALGRIND=1) =="
else
    echo "== C API: valgrind memcheck (shared, not sanitized; installed suppressions) =="
    echo "suppressions: $(pkg-config --variable=valgrind_suppressions strongroom)"
    timed run_variant shared valgrind_run
fi

step_static_link() {
    local d=$work/static-link
    mkdir -p "$d/api" "$d/w1" "$d/w2"
    # Only the C API is global in the installed archive.
    local stray
    stray=$(nm -g --defined-only "$prefix/lib/libstrongroom.a" | awk 'NF == 3 && $3 !~ /^strongroom_/' | head -n 5)
    if [ -n "$stray" ]; then
        echo "libstrongroom.a exports more than strongroom_*:" >&2
        echo "$stray" >&2
        return 1
    fi
    # A second Rust static library, linked into one program with
    # libstrongroom.a, in both orders.
    rustc --edition 2024 --crate-type staticlib -C opt-level=2 -C panic=unwind \
        -o "$d/libother.a" ffi/tests/static/other_rust_lib.rs
    local libs
    # shellcheck disable=SC2207
    libs=($(pkg-config --libs strongroom-static))
    # shellcheck disable=SC2046
    gcc "${cflags_common[@]}" ffi/tests/test_two_rust_libs.c -o "$d/two_a" $(pkg-config --cflags strongroom-static) \
        "${libs[@]}" "$d/libother.a"
    # shellcheck disable=SC2046
    gcc "${cflags_common[@]}" ffi/tests/test_two_rust_libs.c -o "$d/two_b" $(pkg-config --cflags strongroom-static) \
        "$d/libother.a" "${libs[@]}"
    "$d/two_a" "$d/w1"
    "$d/two_b" "$d/w2"
    # A fully static program, through pkg-config --static (Libs.private).
    # shellcheck disable=SC2046
    gcc -static "${cflags_common[@]}" ffi/tests/test_api.c -o "$d/test_api_static" \
        $(pkg-config --cflags --libs --static strongroom)
    if readelf -d "$d/test_api_static" | grep -q NEEDED; then
        echo "the -static build still needs shared libraries" >&2
        return 1
    fi
    "$d/test_api_static" "$d/api"
    echo "libstrongroom.a links next to another Rust static library, and with -static"
}
echo "== C API: static linking =="
timed step_static_link

step_release_valgrind() {
    local rprefix=$root/target/c-prefix-release
    env PREFIX="$rprefix" PROFILE=release scripts/install-c.sh
    (
        export PKG_CONFIG_PATH=$rprefix/lib/pkgconfig
        echo "suppressions: $(pkg-config --variable=valgrind_suppressions strongroom)"
        build_variant release -- strongroom
        run_variant release valgrind_run
    )
}
if [ "${SKIP_VALGRIND:-}" = 1 ] && [ "${CI:-}" != true ]; then
    echo "== C API: release build under valgrind skipped (SKIP_VALGRIND=1) =="
else
    echo "== C API: the installed release library under valgrind (installed suppressions only) =="
    timed step_release_valgrind
fi

step_cli() {
    local d=$work/cli bin=$work/shared
    mkdir -p "$d"
    "$bin/make_keyring" "$d/k.srk" "cli keyring pass"
    head -c 1000000 /dev/urandom > "$d/plain"
    export STRONGROOM_KEYRING_PASSPHRASE="cli keyring pass" SR_FILE_PASS="cli file pass"
    # Written by the C API (keyring), read by the command line.
    "$bin/encrypt_file" encrypt "$d/plain" "$d/c.srf" --keyring "$d/k.srk" 2>/dev/null
    "$cli" --keyring "$d/k.srk" decrypt "$d/c.srf" -o "$d/c.out" --keyring-passphrase-env STRONGROOM_KEYRING_PASSPHRASE -q
    cmp "$d/plain" "$d/c.out"
    # Written by the command line (passphrase), read by the C API.
    "$cli" encrypt "$d/plain" -o "$d/cli.srf" --no-keyring --passphrase-env SR_FILE_PASS \
        --argon2-memory-mib 8 --argon2-time 1 --argon2-lanes 1 -q
    STRONGROOM_PASSPHRASE="cli file pass" "$bin/encrypt_file" decrypt "$d/cli.srf" "$d/cli.out" --passphrase 2>/dev/null
    cmp "$d/plain" "$d/cli.out"
    # Written by the command line (keyring), read by the C API.
    "$cli" --keyring "$d/k.srk" encrypt "$d/plain" -o "$d/cli2.srf" \
        --keyring-passphrase-env STRONGROOM_KEYRING_PASSPHRASE -q
    "$bin/encrypt_file" decrypt "$d/cli2.srf" "$d/cli2.out" --keyring "$d/k.srk" 2>/dev/null
    cmp "$d/plain" "$d/cli2.out"
    echo "C API and command line read each other's files"
}
echo "== C API: files across the C API and the command line =="
timed step_cli
