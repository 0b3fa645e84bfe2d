"""Cross-checks of strongroom.hazmat's Cobblestone-256 with pyca/cryptography
(>= 50: cryptography.cobblestone), each side decrypting the other's output."""

from __future__ import annotations

import hashlib
import os
import zlib

import pytest

from strongroom import hazmat
from test_vectors import chunked_cases

if os.environ.get("CI") == "true":
    import cryptography.cobblestone as cobblestone  # pinned in requirements-test.txt
else:
    cobblestone = pytest.importorskip("cryptography.cobblestone", reason="needs cryptography >= 50")


@pytest.mark.parametrize("size", [0, 1, 16383, 16384, 16385, 100_000, 3 * 16384])
def test_each_side_decrypts_the_other(size: int) -> None:
    key, ctx = os.urandom(32), b"strongroom cross-check"
    msg = os.urandom(size)
    enc = cobblestone.Cobblestone256Encryptor(key, ctx)
    theirs = enc.update(msg) + enc.finalize()
    assert hazmat.cobblestone256_decrypt(key, ctx, theirs) == msg
    ours = hazmat.cobblestone256_encrypt(key, ctx, msg)
    dec = cobblestone.Cobblestone256Decryptor(key, ctx)
    assert dec.update(ours) + dec.finalize() == msg
    # Same salt, same bytes.
    assert hazmat.cobblestone256_encrypt(key, ctx, msg, salt=theirs[:24]) == theirs


def test_pyca_refuses_our_tampered_output() -> None:
    key, ctx = os.urandom(32), b"c"
    ours = bytearray(hazmat.cobblestone256_encrypt(key, ctx, b"x" * 40_000))
    ours[100] ^= 1
    dec = cobblestone.Cobblestone256Decryptor(key, ctx)
    with pytest.raises(Exception):
        dec.update(bytes(ours))
        dec.finalize()


def test_pyca_agrees_on_the_vectors() -> None:
    for case in chunked_cases():
        if case["result"] != "valid":
            continue
        key, ctx = bytes.fromhex(case["key"]), bytes.fromhex(case["ctx"])
        ct = zlib.decompress(bytes.fromhex(case["ct"]))
        dec = cobblestone.Cobblestone256Decryptor(key, ctx)
        pt = dec.update(ct) + dec.finalize()
        assert hashlib.sha512(pt).hexdigest() == case["msgSha512"]
