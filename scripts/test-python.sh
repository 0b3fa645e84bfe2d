#!/usr/bin/env bash
# The Python package's tests: creates the virtual environment under
# target/py-venv when absent, installs the pinned test dependencies
# (python/requirements-test.txt) when they changed, builds the extension
# with maturin (release profile: the 256 MiB tests stay quick, and cargo
# reuses the build between runs), then runs mypy --strict over the tests
# and examples, and pytest. With CI=true the PostgreSQL tests fail, rather
# than skip, when the server at 127.0.0.1:5432 is missing.
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

echo "== python: build (maturin develop --release) =="
timed env VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" \
    "$VENV/bin/maturin" develop --release --locked -m python/Cargo.toml --quiet

echo "== python: mypy --strict (tests, examples), stubtest of the native module =="
(cd python && timed "../$VENV/bin/mypy" && timed "../$VENV/bin/python" -m mypy.stubtest strongroom._native)

echo "== python: pytest =="
(cd python && timed "../$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@")
