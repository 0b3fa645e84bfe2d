#!/usr/bin/env bash
# The Python package's tests: creates the virtual environment under
# target/py-venv when absent, installs the pinned test dependencies
# (python/requirements-test.txt) when they changed, builds the wheel once
# with scripts/build-wheel.sh (release profile: the 256 MiB tests stay
# quick, and cargo reuses the build between runs) and installs that wheel
# into the test environment (the tests run on what users install; one of
# them installs it again into a fresh environment without Rust on PATH),
# then runs mypy --strict over the package, the tests and the examples,
# stubtest of the native module, and pytest. With CI=true the PostgreSQL
# tests fail, rather than skip, when the server at 127.0.0.1:5432 is
# missing, and the wheel test fails if there is no wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=target/py-venv
PYTHON=${PYTHON:-python3}

timed() {
    local start=$SECONDS
    "$@"
    echo "   ($(( SECONDS - start )) s)"
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "== python: creating $VENV =="
    if ! "$PYTHON" -c "import venv, ensurepip" >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1; then
            sudo_cmd=""
            [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
            $sudo_cmd apt-get install -y python3-venv
        else
            echo "python3 venv/ensurepip is missing; install it first" >&2
            exit 1
        fi
    fi
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi

stamp="$VENV/.requirements-test.txt"
if ! cmp -s python/requirements-test.txt "$stamp"; then
    echo "== python: installing test dependencies =="
    "$VENV/bin/python" -m pip install --quiet -r python/requirements-test.txt
    cp python/requirements-test.txt "$stamp"
fi

echo "== python: build the wheel (scripts/build-wheel.sh) and install it =="
start=$SECONDS
wheel=$(scripts/build-wheel.sh)
"$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
# A native module left in the source tree by `maturin develop` would be
# imported instead of the installed one when the tests run from python/.
rm -f python/strongroom/_native*.so
echo "   $wheel ($(( SECONDS - start )) s)"

echo "== python: mypy --strict (package, tests, examples), stubtest of the installed native module =="
(cd python && timed "../$VENV/bin/mypy")
(cd target && timed "../$VENV/bin/python" -m mypy.stubtest strongroom._native)

echo "== python: pytest (on the installed wheel) =="
# PYTHONSAFEPATH: `python -c`/`-m` in child processes must not put the
# source tree (python/, the working directory) ahead of the installed
# package.
(cd python && PYTHONSAFEPATH=1 timed "../$VENV/bin/pytest" -q -p no:cacheprovider "$@")
