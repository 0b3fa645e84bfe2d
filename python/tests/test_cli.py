"""python -m strongroom: the everyday file commands, their secret sources
and their exit codes (the error table's class numbers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence

import pytest

import strongroom
from conftest import PASSPHRASE

FAST = ["--argon2-memory-mib", "8", "--argon2-time", "1", "--argon2-lanes", "1"]


class Cli:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM")}
        self.env.update(STRONGROOM_KEYRING=str(tmp / "ring" / "k.srk"), STRONGROOM_KEYRING_PASSPHRASE=PASSPHRASE)

    def run(self, *args: str, stdin: bytes = b"", env: Optional[Dict[str, str]] = None,
            pass_fds: Sequence[int] = ()) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "strongroom", *args], input=stdin, capture_output=True,
                              env={**self.env, **(env or {})}, cwd=self.tmp, timeout=120, pass_fds=pass_fds)

    def ok(self, *args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
        r = self.run(*args, **kw)  # type: ignore[arg-type]
        assert r.returncode == 0, r.stderr.decode()
        return r


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(tmp_path)
    c.ok("keyring", "init", *FAST)
    return c


def test_files_round_trip_through_the_keyring(cli: Cli) -> None:
    data = os.urandom(100_000)
    (cli.tmp / "a.bin").write_bytes(data)
    cli.ok("encrypt", "a.bin")
    assert strongroom.inspect(cli.tmp / "a.bin.srf").stanzas[0].kind == "keyring"
    (cli.tmp / "a.bin").unlink()
    cli.ok("decrypt", "a.bin.srf")
    assert (cli.tmp / "a.bin").read_bytes() == data
    # The library reads what the command wrote.
    with strongroom.Keyring.open(cli.tmp / "ring" / "k.srk", PASSPHRASE) as ring:
        assert strongroom.decrypt_bytes((cli.tmp / "a.bin.srf").read_bytes(), keyring=ring) == data


def test_pipes_both_ways_and_stdin_to_a_file(cli: Cli) -> None:
    data = os.urandom(70_000)
    enc = cli.ok("encrypt", stdin=data).stdout
    assert enc[:4] == b"\x89SRF"
    assert cli.ok("decrypt", stdin=enc).stdout == data
    cli.ok("decrypt", "-", "-o", "out.bin", stdin=enc)
    assert (cli.tmp / "out.bin").read_bytes() == data
    assert not list(cli.tmp.glob(".strongroom-*"))


def test_passphrase_sources_env_file_and_descriptor(cli: Cli) -> None:
    (cli.tmp / "p.txt").write_bytes(b"file pass\n")
    (cli.tmp / "doc").write_bytes(b"hello")
    cli.ok("encrypt", "doc", "-o", "doc.srf", "--no-keyring", "--passphrase-file", "p.txt", *FAST)
    kinds = [s.kind for s in strongroom.inspect(cli.tmp / "doc.srf").stanzas]
    assert kinds == ["passphrase"]
    # The same secret from an environment variable (no newline) ...
    cli.ok("decrypt", "doc.srf", "-o", "d1", "--passphrase-env", "MY_PASS", env={"MY_PASS": "file pass"})
    # ... and from a file descriptor.
    r, w = os.pipe()
    os.write(w, b"file pass\n")
    os.close(w)
    try:
        cli.ok("decrypt", "doc.srf", "-o", "d2", "--passphrase-fd", str(r), pass_fds=[r])
    finally:
        os.close(r)
    assert (cli.tmp / "d1").read_bytes() == (cli.tmp / "d2").read_bytes() == b"hello"


def test_exit_codes_are_the_error_classes(cli: Cli) -> None:
    (cli.tmp / "doc").write_bytes(b"x" * 50_000)
    cli.ok("encrypt", "doc")
    # 2: nothing to encrypt to; an unknown option; no secret and no terminal.
    r = cli.run("encrypt", "doc", "-o", "x.srf", "--no-keyring")
    assert r.returncode == 2 and b"nothing to encrypt to" in r.stderr
    assert cli.run("encrypt", "--bogus").returncode == 2
    r = cli.run("keyring", "list", env={"STRONGROOM_KEYRING_PASSPHRASE": ""})
    assert r.returncode == 2 and b"InvalidArgument 201" in r.stderr  # an empty passphrase
    env = {k: v for k, v in cli.env.items() if k != "STRONGROOM_KEYRING_PASSPHRASE"}
    r = subprocess.run([sys.executable, "-m", "strongroom", "keyring", "list"], capture_output=True, env=env,
                       stdin=subprocess.DEVNULL, cwd=cli.tmp, timeout=60)
    assert r.returncode == 2 and b"no terminal" in r.stderr
    # 3: a missing input, named.
    r = cli.run("encrypt", "missing.bin")
    assert r.returncode == 3 and b"missing.bin" in r.stderr and b"NotFound 302" in r.stderr
    # 5: a modified file leaves no output; 4: a truncated one.
    blob = bytearray((cli.tmp / "doc.srf").read_bytes())
    blob[-100] ^= 1
    (cli.tmp / "bad.srf").write_bytes(bytes(blob))
    r = cli.run("decrypt", "bad.srf")
    assert r.returncode == 5 and not (cli.tmp / "bad").exists()
    (cli.tmp / "short.srf").write_bytes(bytes(blob[: len(blob) // 2]))
    assert cli.run("decrypt", "short.srf").returncode in (4, 5)
    assert not (cli.tmp / "short").exists()
    # To a pipe, a modified stream stops with the integrity code.
    assert cli.run("decrypt", "-", stdin=bytes(blob)).returncode == 5
    # 6: the wrong keyring passphrase.
    r = cli.run("decrypt", "doc.srf", "-o", "y", env={"STRONGROOM_KEYRING_PASSPHRASE": "wrong"})
    assert r.returncode == 6 and b"WrongPassphrase" in r.stderr
    # 7: an existing output (and a second keyring init).
    assert cli.run("decrypt", "doc.srf").returncode == 7
    assert cli.run("keyring", "init", *FAST).returncode == 7
    cli.ok("decrypt", "doc.srf", "--force")


def test_keyring_list_add_key_and_inspect(cli: Cli) -> None:
    cli.ok("keyring", "add-key", "--promote")
    listing = cli.ok("keyring", "list").stdout.decode()
    assert "version 1: decrypt-only" in listing and "version 2: primary" in listing
    (cli.tmp / "f").write_bytes(b"data")
    cli.ok("encrypt", "f")
    shown = cli.ok("inspect", "f.srf").stdout.decode()
    assert "key version 2" in shown and "nothing above is authenticated" in shown


def test_console_script_is_declared() -> None:
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert 'strongroom-py = "strongroom._cli:_entry"' in pyproject
