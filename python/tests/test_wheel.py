"""The wheel scripts/build-wheel.sh made (scripts/test-python.sh builds it
before the tests) installs into a fresh virtual environment with no Rust
on PATH and works; a source build without cargo stops with a short
message saying what is needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WHEELS = REPO / "target" / "wheels"

SMOKE = r"""
import os, sys, datetime as dt
import strongroom
assert "site-packages" in strongroom.__file__, strongroom.__file__
ring = strongroom.Keyring.create("k.srk", "a passphrase", kdf=strongroom.KdfParams(8192, 1, 1))
blob = strongroom.encrypt_bytes(b"hello" * 10000, keyring=ring)
assert strongroom.decrypt_bytes(blob, keyring=ring) == b"hello" * 10000
with open("plain", "wb") as f:
    f.write(os.urandom(100000))
strongroom.encrypt_file("plain", "plain.srf", keyring=ring, passphrase="escrow")
strongroom.decrypt_file("plain.srf", "back", passphrase="escrow")
assert open("back", "rb").read() == open("plain", "rb").read()
c = strongroom.FieldCipher(ring, "t", "when", dt.datetime)
now = dt.datetime.now(dt.timezone.utc)
assert c.decrypt(c.encrypt(now, row=1), row=1) == now
try:
    strongroom.Keyring.open("missing.srk", "x")
except FileNotFoundError as e:
    assert e.filename == "missing.srk"
print("smoke ok", strongroom.__version__)
"""


def built_wheel() -> Path:
    wheels = sorted(WHEELS.glob("strongroom-*-cp39-abi3-manylinux*_x86_64.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        message = f"no wheel in {WHEELS}: run scripts/build-wheel.sh (scripts/test-python.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return wheels[-1]


def no_rust_path(bin_dir: Path) -> str:
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    assert shutil.which("cargo", path=path) is None and shutil.which("rustc", path=path) is None
    return path


@pytest.mark.slow
def test_the_wheel_installs_and_works_without_rust(tmp_path: Path) -> None:
    wheel = built_wheel()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    env = {"PATH": no_rust_path(bin_dir), "HOME": str(tmp_path), "PIP_NO_INDEX": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
                   env=env, check=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    r = subprocess.run([str(bin_dir / "python"), "-c", SMOKE], env=env, cwd=work, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "smoke ok" in r.stdout, r.stderr
    r = subprocess.run([str(bin_dir / "strongroom-py"), "--help"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "encrypt" in r.stdout


def test_a_source_build_without_cargo_says_what_is_needed(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": no_rust_path(bin_dir)}
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index",
                        "-w", str(tmp_path), str(REPO / "python")], env=env, capture_output=True, text=True,
                       timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "building from source needs a Rust toolchain" in out and "prebuilt wheel" in out
    assert "Traceback" not in out and len(out.splitlines()) < 40, out
    assert not list(tmp_path.glob("*.whl"))
