"""Field encryption: one cipher per database column."""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import error
from ._keyring import Keyring

__all__ = ["FieldCipher", "Value", "RowKey", "Token", "VALUE_TYPES", "NORMALIZERS"]

#: A plaintext value of a column.
Value = Union[str, bytes, int, float, bool, datetime.date, datetime.datetime, decimal.Decimal, None]
#: A row key that binds a token to its row: bytes, str (UTF-8) or int
#: (its decimal digits).
RowKey = Union[bytes, str, int]
#: A token: bytes, or its text form (``"sr1."`` + base64url).
Token = Union[bytes, str]

#: The column types and their Python types.
VALUE_TYPES: Dict[str, type] = {
    "text": str,
    "bytes": bytes,
    "int": int,
    "float": float,
    "bool": bool,
    "date": datetime.date,
    "timestamp": datetime.datetime,
    "decimal": decimal.Decimal,
}
_BY_PYTYPE = {py: name for name, py in VALUE_TYPES.items()}

#: The blind-index normalisers.
NORMALIZERS = ("none", "trim-lowercase", "nfkc-casefold", "digits-only")


def _type_name(value_type: Union[str, type]) -> str:
    if isinstance(value_type, str):
        if value_type not in VALUE_TYPES:
            raise error("InvalidArgument", f"unknown value type {value_type!r}; use one of {sorted(VALUE_TYPES)}")
        return value_type
    name = _BY_PYTYPE.get(value_type)
    if name is None:
        raise error("InvalidArgument", f"no column type for {value_type!r}")
    return name


class FieldCipher:
    """Encrypts, decrypts and indexes the values of one column
    (``table.column``), every value of one type.

    - ``deterministic``: equal values give equal tokens (AES-SIV), for
      equality lookups; reveals which rows are equal. Default: random
      (XAES-256-GCM).
    - ``hide_null``: encrypt ``None`` as a token instead of keeping NULL.
    - ``blind_index``: the length in bytes (2..32) of a blind index next
      to the token, with ``normalizer`` applied first (text columns).
    - ``accept``: modes also read during a migration window.

    The ``*_many`` forms release the GIL and use every core. A cipher is
    a snapshot of the keyring: after a rotation, build a new one. It
    pickles as a reference to its keyring (see :class:`Keyring`) and its
    column settings, never key material, and rebuilds itself on first use
    in the receiving process."""

    def __init__(self, keyring: Keyring, table: str, column: str, value_type: Union[str, type], *,
                 deterministic: bool = False, hide_null: bool = False,
                 blind_index: Optional[int] = None, normalizer: str = "none",
                 accept: Sequence[str] = (), allow_dropping_row_binding: bool = False) -> None:
        self._keyring = keyring
        self.table = table
        self.column = column
        self.value_type = _type_name(value_type)
        self._opts: Dict[str, Any] = dict(
            deterministic=deterministic, hide_null=hide_null, blind_index=blind_index,
            normalizer=normalizer, accept=tuple(accept),
            allow_dropping_row_binding=allow_dropping_row_binding,
        )
        self._native_cipher: Optional[_native.FieldCipher] = None
        self._build()

    def _build(self) -> _native.FieldCipher:
        native = self._native_cipher
        if native is None:
            o = self._opts
            bi = None if o["blind_index"] is None else (int(o["blind_index"]), str(o["normalizer"]))
            native = _native.FieldCipher(self._keyring._native, self.table, self.column, self.value_type,
                                         o["deterministic"], o["hide_null"], bi, list(o["accept"]),
                                         o["allow_dropping_row_binding"])
            self._native_cipher = native
            # Single calls go straight to the native methods.
            d = self.__dict__
            d["encrypt"] = native.encrypt
            d["decrypt"] = native.decrypt
            d["index"] = native.index
        return native

    def __reduce__(self) -> Tuple[Any, Tuple[Keyring, str, str, str, Dict[str, Any]]]:
        return (_rebuild, (self._keyring, self.table, self.column, self.value_type, dict(self._opts)))

    def __repr__(self) -> str:
        mode = "deterministic" if self._opts["deterministic"] else "random"
        return f"<strongroom.FieldCipher {self.table}.{self.column} {self.value_type} {mode}>"

    @property
    def primary_version(self) -> int:
        """The key version new tokens are made with."""
        return self._build().primary_version

    @property
    def deterministic(self) -> bool:
        """Whether the column is in deterministic mode (its tokens bind no row)."""
        return bool(self._opts["deterministic"])

    @property
    def has_blind_index(self) -> bool:
        """Whether the column has a blind index."""
        return self._opts["blind_index"] is not None

    def encrypt(self, value: Value, row: Optional[RowKey] = None, *, text: bool = False) -> Optional[Token]:
        """Encrypts one value (bound to ``row`` if given). ``None`` stays
        ``None`` unless the column hides NULLs. Returns bytes, or the text
        form when ``text``."""
        result: Optional[Token] = self._build().encrypt(value, row, text)
        return result

    def encrypt_text(self, value: Value, row: Optional[RowKey] = None) -> Optional[str]:
        """Encrypts one value to the token's text form."""
        result: Optional[str] = self._build().encrypt(value, row, True)
        return result

    def decrypt(self, token: Optional[Token], row: Optional[RowKey] = None) -> Value:
        """Decrypts a token (bytes or text); ``None`` stays ``None``."""
        return self._build().decrypt(token, row)  # type: ignore[no-any-return]

    def index(self, value: Value) -> Optional[bytes]:
        """The blind-index term of ``value``."""
        return self._build().index(value)

    def lookup_terms(self, value: Value) -> List[bytes]:
        """The index terms of ``value`` under every usable key version."""
        return self._build().lookup_terms(value)

    def lookup_tokens(self, value: Value) -> List[bytes]:
        """The tokens of ``value`` (deterministic columns) under every usable key version."""
        return self._build().lookup_tokens(value)

    def needs_rewrap(self, token: Token) -> bool:
        """Whether ``token`` was made under an older key version or mode."""
        return self._build().needs_rewrap(token)

    def rewrap(self, token: Token, row: Optional[RowKey] = None) -> Token:
        """Re-encrypts ``token`` under the primary version (text in, text out)."""
        result: Token = self._build().rewrap(token, row)
        return result

    def encrypt_many(self, values: Iterable[Value], rows: Optional[Iterable[RowKey]] = None, *,
                     text: bool = False) -> List[Optional[Token]]:
        """Encrypts many values on all cores (GIL released)."""
        return self._build().encrypt_many(values, rows, text)

    def decrypt_many(self, tokens: Iterable[Optional[Token]],
                     rows: Optional[Iterable[RowKey]] = None) -> List[Value]:
        """Decrypts many tokens on all cores; the first failure raises with
        its position in ``index``."""
        return self._build().decrypt_many(tokens, rows)

    def index_many(self, values: Iterable[Value]) -> List[Optional[bytes]]:
        """Blind-index terms of many values on all cores."""
        return self._build().index_many(values)

    def rewrap_many(self, tokens: Iterable[Optional[Token]], rows: Optional[Iterable[RowKey]] = None, *,
                    text: bool = False) -> List[Optional[Token]]:
        """Rewraps many tokens on all cores."""
        return self._build().rewrap_many(tokens, rows, text)


def _rebuild(keyring: Keyring, table: str, column: str, value_type: str, opts: Dict[str, Any]) -> FieldCipher:
    c = FieldCipher.__new__(FieldCipher)
    c._keyring = keyring
    c.table = table
    c.column = column
    c.value_type = value_type
    c._opts = opts
    c._native_cipher = None  # built on first use, in this process
    return c
