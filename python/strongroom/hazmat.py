"""Hazardous materials: the standard constructions strongroom is built on,
for interoperability and conformance tests.

Applications use :func:`strongroom.open`, :func:`strongroom.encrypt_file`
and :class:`strongroom.FieldCipher`, which choose keys, nonces, contexts
and formats. Nothing here does: reusing a nonce (or a Cobblestone-256
salt) under one key, or mixing up contexts, loses the guarantees.

- Cobblestone-256 (https://c2sp.org/chunked-encryption): chunked,
  key-committing AES-256-GCM; the payload of strongroom files.
- XAES-256-GCM (https://c2sp.org/XAES-256-GCM): 192-bit nonces.
- AES-SIV (RFC 5297) with a 512-bit key and one associated-data component.

Authentication failures raise :class:`strongroom.AuthenticationError`
(``ChunkAuthFailed``, ``CommitmentMismatch`` ... for Cobblestone-256,
``FieldAuthFailed`` for the other two).
"""

import typing as _t

from . import _native

__all__ = [
    "cobblestone256_encrypt",
    "cobblestone256_decrypt",
    "xaes256gcm_encrypt",
    "xaes256gcm_decrypt",
    "aes_siv_encrypt",
    "aes_siv_decrypt",
    "field_cipher_from_keys",
]


def cobblestone256_encrypt(key: bytes, context: bytes, plaintext: bytes, *, salt: _t.Optional[bytes] = None) -> bytes:
    """Encrypts ``plaintext`` under a 32-byte ``key`` and ``context``. The
    24-byte salt is random unless given (only for test vectors)."""
    return _native.cobblestone256_encrypt(key, context, plaintext, salt)


def cobblestone256_decrypt(key: bytes, context: bytes, ciphertext: bytes) -> bytes:
    """Decrypts a whole Cobblestone-256 message; raises unless every chunk
    (and the final one) authenticates."""
    return _native.cobblestone256_decrypt(key, context, ciphertext)


def xaes256gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """XAES-256-GCM with a 32-byte key and 24-byte nonce: ciphertext || tag."""
    return _native.xaes256gcm_encrypt(key, nonce, plaintext, aad)


def xaes256gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
    """Opens ciphertext || tag."""
    return _native.xaes256gcm_decrypt(key, nonce, ciphertext, aad)


def aes_siv_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """AES-SIV with a 64-byte key: SIV || ciphertext."""
    return _native.aes_siv_encrypt(key, plaintext, aad)


def aes_siv_decrypt(key: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
    """Opens SIV || ciphertext."""
    return _native.aes_siv_decrypt(key, ciphertext, aad)


def field_cipher_from_keys(table: str, column: str, value_type: str, key_version: int,
                           keys: _t.Tuple[bytes, bytes, bytes], *, deterministic: bool = False,
                           hide_null: bool = False, blind_index: _t.Optional[int] = None,
                           normalizer: str = "none") -> _native.FieldCipher:
    """A column cipher from raw purpose keys ``(field, deterministic,
    blind_index)``, 32 bytes each, of one key version: for the field test
    vectors and for keys held outside a keyring. It has the methods of
    :class:`strongroom.FieldCipher` (positional arguments only)."""
    bi = None if blind_index is None else (blind_index, normalizer)
    return _native.FieldCipher.with_keys(table, column, value_type, key_version, keys,
                                         deterministic, hide_null, bi)
