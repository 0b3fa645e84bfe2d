"""The build backend of the strongroom package: maturin's, after one check.

Building from source compiles the Rust extension, so it needs a Rust
toolchain (cargo) and a C compiler. Without cargo, maturin would try to
download a toolchain and, offline or behind a proxy, fail with a long
traceback; this stops first with a short message saying what is needed.
"""

import shutil
import sys

from maturin import *  # noqa: F401,F403 - the PEP 517 hooks
from maturin import build_editable as _build_editable
from maturin import build_wheel as _build_wheel
from maturin import get_requires_for_build_sdist as _requires_sdist
from maturin import get_requires_for_build_wheel as _requires_wheel
from maturin import prepare_metadata_for_build_wheel as _prepare_metadata

MESSAGE = """
strongroom: building from source needs a Rust toolchain (Rust 1.89 or newer,
with `cargo` on PATH) and a C compiler, and `cargo` was not found.
Either install Rust (https://rustup.rs) and a C compiler (Debian: apt install
build-essential), then run pip again, or install a prebuilt wheel instead:
`pip install strongroom-<version>-cp39-abi3-manylinux*.whl` (made by
scripts/build-wheel.sh), which needs neither.
"""


def _check() -> None:
    if shutil.which("cargo") is None:
        sys.exit(MESSAGE)


def get_requires_for_build_wheel(config_settings=None):  # type: ignore[no-untyped-def]
    _check()
    return _requires_wheel(config_settings)


def get_requires_for_build_editable(config_settings=None):  # type: ignore[no-untyped-def]
    _check()
    return _requires_wheel(config_settings)


def get_requires_for_build_sdist(config_settings=None):  # type: ignore[no-untyped-def]
    _check()
    return _requires_sdist(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):  # type: ignore[no-untyped-def]
    _check()
    return _prepare_metadata(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):  # type: ignore[no-untyped-def]
    _check()
    return _build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):  # type: ignore[no-untyped-def]
    _check()
    return _build_editable(wheel_directory, config_settings, metadata_directory)
