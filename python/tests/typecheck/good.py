"""Correct uses of strongroom: `mypy --strict` must accept every line and
infer the types asserted (checked by tests/test_typing.py)."""

from __future__ import annotations

import datetime as dt
import decimal
import tarfile
from typing import Any, List, Optional

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from typing_extensions import assert_type

import strongroom
from strongroom.sqlalchemy import Encrypted, blind_index_column


def keyrings(path: str) -> strongroom.Keyring:
    ring = strongroom.Keyring.open(path, strongroom.EnvSecret("APP_PASSPHRASE"))
    assert_type(ring.primary_version, int)
    assert_type(ring.versions(), List[strongroom.KeyVersion])
    with strongroom.Keyring.create(path + ".new", "a passphrase", kdf=strongroom.KdfParams(8192, 1, 1)) as new:
        assert_type(new.add_key(promote=True), int)
    return ring


def files(ring: strongroom.Keyring) -> None:
    with strongroom.open("a.tar.srf", "rb", keyring=ring) as r:
        assert_type(r, strongroom.EncryptedReader)
        assert_type(r.read(10), bytes)
        r.seek(0)
        with tarfile.open(fileobj=r, mode="r:") as tar:
            tar.getnames()
    with strongroom.open("b.srf", "wb", keyring=ring, passphrase="escrow") as w:
        assert_type(w, strongroom.EncryptedWriter)
        w.write(b"data")
    assert_type(strongroom.open("a.tar.srf", keyring=ring), strongroom.EncryptedReader)
    blob = strongroom.encrypt_bytes(b"secret", keyring=ring)
    assert_type(blob, bytes)
    assert_type(strongroom.decrypt_bytes(bytearray(blob), keyring=ring), bytes)
    assert_type(strongroom.encrypt_file("a", "a.srf", keyring=ring), int)
    try:
        strongroom.decrypt_file("missing.srf", "out", keyring=ring)
    except FileNotFoundError as e:
        assert_type(e.errno, Optional[int])
        print(e.filename)
    except strongroom.AuthenticationError as e:
        assert_type(e.code, int)
        assert_type(e.name, str)


def fields(ring: strongroom.Keyring) -> None:
    email = strongroom.FieldCipher(ring, "users", "email", str, blind_index=16, normalizer="trim-lowercase")
    assert_type(email, strongroom.FieldCipher[str])
    assert_type(email.encrypt("a@b.c", row=17), bytes)
    assert_type(email.encrypt("a@b.c", row=17, text=True), str)
    assert_type(email.encrypt_text("a@b.c"), str)
    assert_type(email.encrypt(None), None)
    maybe: Optional[str] = None
    assert_type(email.encrypt(maybe), Optional[bytes])
    assert_type(email.decrypt(b"token", row=17), Optional[str])
    assert_type(email.decrypt(None), None)
    assert_type(email.index(" A@B.C"), Optional[bytes])
    assert_type(email.encrypt_many(["a", None], [1, 2]), List[Optional[bytes]])
    assert_type(email.encrypt_many(["a"], text=True), List[Optional[str]])
    assert_type(email.decrypt_many([b"t", "sr1.t", None]), List[Optional[str]])
    assert_type(email.rewrap("sr1.token"), str)
    assert_type(email.rewrap(b"token"), bytes)

    hidden = strongroom.FieldCipher(ring, "users", "age", int, hide_null=True)
    assert_type(hidden, strongroom.FieldCipher[Optional[int]])
    assert_type(hidden.encrypt(None), bytes)
    hidden.encrypt(np.int64(41))  # numpy scalars are values

    price = strongroom.FieldCipher(ring, "orders", "price", float)
    price.encrypt(3)  # an int is a float, for Python's typing and for strongroom
    total = strongroom.FieldCipher(ring, "orders", "total", decimal.Decimal)
    total.encrypt(decimal.Decimal("9.99"))
    seen = strongroom.FieldCipher(ring, "users", "seen", dt.datetime)
    seen.encrypt(dt.datetime.now(dt.timezone.utc))
    named = strongroom.FieldCipher(ring, "users", "note", "text")
    assert_type(named, strongroom.FieldCipher[Any])


def models(ring: strongroom.Keyring) -> type:
    email_cipher = strongroom.FieldCipher(ring, "py_users", "email", str, blind_index=16)

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = "py_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(Encrypted(email_cipher))
        email_bidx: Mapped[Optional[bytes]] = blind_index_column(email_cipher, "email")

    sa.select(User).where(User.email == "a@b.c")
    return User
