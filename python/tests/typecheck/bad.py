"""Mistakes `mypy --strict` must report, each on the line marked with
`# E: <error code>` and nowhere else (checked by tests/test_typing.py).
Never run: it only has to type-check."""

from __future__ import annotations

import strongroom


def mistakes(ring: strongroom.Keyring) -> None:
    email = strongroom.FieldCipher(ring, "users", "email", str)
    email.encrypt(42)  # E: call-overload
    age: int = email.decrypt(b"token")  # E: assignment
    text: str = email.encrypt("a@b.c")  # E: assignment
    raw: bytes = email.encrypt("a@b.c", text=True)  # E: assignment
    name: str = email.decrypt(b"token")  # E: assignment
    email.encrypt_many(["a", 2])  # E: list-item
    ages = strongroom.FieldCipher(ring, "users", "age", int)
    ages.encrypt("42")  # E: call-overload
    writer: strongroom.EncryptedWriter = strongroom.open("a.srf", "rb", keyring=ring)  # E: assignment
    strongroom.open("a.srf", "r", keyring=ring)  # E: call-overload
    strongroom.encrypt_bytes("text", keyring=ring)  # E: arg-type
    strongroom.Keyring.open("k.srk", 42)  # E: arg-type
    strongroom.FieldCipher("k.srk", "users", "email", str)  # E: call-overload


def internals() -> None:
    strongroom.Keyring("k.srk", None, "k.srk", None)  # E: arg-type
