"""The testkit of broken files: each raises its expected exception class
(number and name from the manifest), through decrypt_file, the seekable
reader and the streaming reader; nothing is left behind."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

import strongroom
from strongroom import _errors
from conftest import TESTDATA

KIT = TESTDATA / "testkit"
MANIFEST: Dict[str, Any] = json.loads((KIT / "manifest.json").read_text())
KEYRING_PASSPHRASE = "testkit keyring passphrase"
SECRETS = {"passphrase": "testkit file passphrase", "wrong-passphrase": "not the testkit passphrase"}


@pytest.fixture(scope="module")
def rings() -> Iterator[Dict[str, strongroom.Keyring]]:
    a = strongroom.Keyring.open(KIT / "keyring.srk", KEYRING_PASSPHRASE)
    b = strongroom.Keyring.open(KIT / "other.srk", KEYRING_PASSPHRASE)
    yield {"keyring": a, "other-keyring": b}
    a.close()
    b.close()


def opener(case: Dict[str, Any], rings: Dict[str, strongroom.Keyring]) -> Dict[str, Any]:
    who = case["opener"]
    if who in rings:
        return {"keyring": rings[who]}
    return {"passphrase": SECRETS[who]}


def expected(case: Dict[str, Any]) -> Optional[str]:
    if case["expect"] == "ok":
        return None
    m = re.fullmatch(r"(\w+)(?:\((\d+)\))?", case["expect"])
    assert m, case["expect"]
    return m.group(1)


def check(exc: strongroom.StrongroomError, name: str) -> None:
    row = next(r for r in _errors.TABLE.values() if r.name == name)
    assert isinstance(exc, _errors.class_for(row.code)), (type(exc), name)
    assert (exc.code, exc.name) == (row.code, name)


CASES = MANIFEST["cases"]


def test_manifest_is_complete() -> None:
    assert len(CASES) > 40
    assert {c["file"] for c in CASES} <= {p.name for p in KIT.iterdir()}


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_decrypt_file(case: Dict[str, Any], rings: Dict[str, strongroom.Keyring], tmp_path: Path) -> None:
    src = KIT / case["file"]
    before = src.read_bytes()
    name = expected(case)
    out = tmp_path / "out"
    if name is None:
        strongroom.decrypt_file(src, out, **opener(case, rings))
        data = out.read_bytes()
        assert len(data) == MANIFEST["plaintext_len"]
        assert hashlib.sha256(data).hexdigest() == MANIFEST["plaintext_sha256"]
    else:
        with pytest.raises(strongroom.StrongroomError) as info:
            strongroom.decrypt_file(src, out, **opener(case, rings))
        check(info.value, name)
        assert list(tmp_path.iterdir()) == []
    assert src.read_bytes() == before


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "streaming"])
@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_open_read(case: Dict[str, Any], seekable: bool, rings: Dict[str, strongroom.Keyring]) -> None:
    raw = (KIT / case["file"]).read_bytes()
    name = expected(case)

    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self._b = io.BytesIO(raw)

        def readable(self) -> bool:
            return True

        def readinto(self, buf: Any) -> int:
            return self._b.readinto(buf)

    source: Any = io.BytesIO(raw) if seekable else io.BufferedReader(Stream())
    got = bytearray()
    if name is None:
        with strongroom.open(source, "rb", **opener(case, rings)) as f:
            got += f.read()
        assert hashlib.sha256(got).hexdigest() == MANIFEST["plaintext_sha256"]
        return
    with pytest.raises(strongroom.StrongroomError) as info:
        with strongroom.open(source, "rb", **opener(case, rings)) as f:
            while chunk := f.read(4096):
                got += chunk
    check(info.value, name)
    # Never more than the validly encrypted leading chunks.
    if got:
        assert case["partial_plaintext"], "plaintext released for a case that allows none"
