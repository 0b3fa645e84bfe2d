"""Parquet modular encryption with master keys in a strongroom keyring.

Parquet encrypts each file's footer and columns under random data keys and
asks a key management service (KMS) to wrap those keys with named master
keys; the wrapped keys are stored in the file (or, with external key
material, next to it). :class:`KeyringKmsClient` is such a KMS for
``pyarrow.parquet.encryption``: it wraps a key as a strongroom field token
under the keyring's primary key version, bound to the master key's name
(docs/SPEC.md 5.10), so the keyring's rotation applies::

    import pyarrow.parquet as pq
    import pyarrow.parquet.encryption as pe
    import strongroom.parquet

    factory = strongroom.parquet.crypto_factory(ring)
    config = pe.KmsConnectionConfig()
    props = factory.file_encryption_properties(config, pe.EncryptionConfiguration(
        footer_key="footer", column_keys={"pii": ["email", "ssn"]}))
    with pq.ParquetWriter("people.parquet", table.schema, encryption_properties=props) as w:
        w.write_table(table)

    read = factory.file_decryption_properties(config)
    pq.read_table("people.parquet", columns=["id", "email"], decryption_properties=read)

The files are standard Parquet modular encryption (AES-GCM, ``PARE``
magic): any Parquet reader with encryption support reads them given a KMS
client that unwraps these keys, which this module provides for pyarrow.

Rotation: after ``ring.add_key(promote=True)`` new files wrap their keys
under the new version, older files keep opening while their version is
usable, and ``factory.rotate_master_keys(config, path)`` rewraps the keys
of a file written with external key material (``internal_key_material=
False``) under the new primary, without rewriting the file; then the old
version may be retired. A key wrapped by another keyring is refused
(``KeyAccessError``, ``WrongKeyring``), as is one moved to another master
key name (``AuthenticationError``, ``FieldAuthFailed``).
"""

import typing as _t

try:
    import pyarrow.parquet.encryption as _pe
except ImportError as _e:  # pragma: no cover - depends on the environment
    raise ImportError("strongroom.parquet needs pyarrow (pip install pyarrow)") from _e

from ._errors import error as _error
from ._fields import FieldCipher as _FieldCipher
from ._keyring import Keyring as _Keyring

__all__ = ["KeyringKmsClient", "crypto_factory", "WRAPPED_PREFIX", "KMS_TABLE"]

#: The start of every wrapped key this client writes.
WRAPPED_PREFIX = "strongroom-kms-v1"
#: The logical table name bound into every wrapped key (the column is the
#: master key identifier).
KMS_TABLE = "parquet-kms"


class KeyringKmsClient(_pe.KmsClient):  # type: ignore[misc]  # pyarrow is untyped here
    """A ``pyarrow.parquet.encryption.KmsClient`` whose master keys are the
    key versions of ``keyring``: ``wrap_key`` encrypts a Parquet key under
    the primary version, ``unwrap_key`` decrypts it under whichever usable
    version wrapped it. Master key identifiers are names (1 to 255 bytes of
    UTF-8) bound into each wrapped key; they need no setup.

    It follows the keyring as it changes (a key added and promoted here,
    or by another process and seen after ``keyring.reload()``)."""

    def __init__(self, keyring: _Keyring) -> None:
        _pe.KmsClient.__init__(self)
        if not isinstance(keyring, _Keyring):
            raise _error("InvalidArgument", "KeyringKmsClient needs a strongroom.Keyring")
        self._keyring = keyring
        self._ciphers: _t.Dict[str, _t.Tuple[int, "_FieldCipher[bytes]"]] = {}

    def _cipher(self, master_key_identifier: str) -> "_FieldCipher[bytes]":
        generation = self._keyring.generation
        cached = self._ciphers.get(master_key_identifier)
        if cached is None or cached[0] != generation:
            cipher = _FieldCipher(self._keyring, KMS_TABLE, master_key_identifier, bytes)
            cached = (generation, cipher)
            self._ciphers[master_key_identifier] = cached
        return cached[1]

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
        """Wraps a Parquet key under the primary key version."""
        return _wrap(self._cipher(master_key_identifier), self._keyring.id, bytes(key_bytes))

    def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
        """Unwraps a key this client (or one of the same keyring) wrapped."""
        return _unwrap(self._cipher(master_key_identifier), self._keyring.id, wrapped_key)


def _wrap(cipher: _t.Any, keyring_id: bytes, key: bytes) -> str:
    """The wrapped form of ``key`` (docs/SPEC.md 5.10)."""
    token = cipher.encrypt(key, None, text=True)
    return f"{WRAPPED_PREFIX}:{keyring_id.hex()}:{token}"


def _unwrap(cipher: _t.Any, keyring_id: bytes, wrapped: _t.Any) -> bytes:
    """The key inside ``wrapped``; refuses another keyring's key."""
    text = wrapped.decode() if isinstance(wrapped, (bytes, bytearray)) else str(wrapped)
    parts = text.split(":")
    if len(parts) != 3 or parts[0] != WRAPPED_PREFIX:
        raise _error("Malformed", f"not a key wrapped by strongroom's KMS client (expected {WRAPPED_PREFIX}:...)")
    if parts[1] != keyring_id.hex():
        raise _error("WrongKeyring", f"this Parquet key was wrapped by keyring {parts[1]}, not by this "
                                     f"keyring ({keyring_id.hex()})")
    key = cipher.decrypt(parts[2], None)
    if not isinstance(key, bytes):
        raise _error("Malformed", "the wrapped Parquet key holds no key")
    return key


def crypto_factory(keyring: _Keyring) -> _t.Any:
    """A ``pyarrow.parquet.encryption.CryptoFactory`` whose KMS client is a
    :class:`KeyringKmsClient` of ``keyring`` (for any connection config:
    ``pe.KmsConnectionConfig()`` is enough)."""
    make: _t.Callable[[_t.Any], KeyringKmsClient] = lambda _config: KeyringKmsClient(keyring)  # noqa: E731
    return _pe.CryptoFactory(make)
