"""Field encryption: one cipher per database column."""

from __future__ import annotations

import datetime
import decimal
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Generic,
    Iterable,
    List,
    Literal,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    overload,
)

from . import _native
from ._errors import error
from ._keyring import Keyring

if TYPE_CHECKING:
    import pandas

__all__ = ["FieldCipher", "NumpyScalar", "Value", "RowKey", "Token", "VALUE_TYPES", "NORMALIZERS"]

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

#: The Python type of a column's values (``None`` included for a column
#: that hides NULLs: its tokens may hold one).
T = TypeVar("T")
V = TypeVar("V")


class NumpyScalar(Protocol):
    """A numpy scalar (``np.int64``, ``np.bool_``, ``np.datetime64`` ...),
    described by shape so that typing it needs no numpy: accepted wherever
    a value is, converted by its ``item()`` (see :class:`FieldCipher`)."""

    @property
    def dtype(self) -> Any: ...

    def item(self) -> Any: ...


#: What ``encrypt`` and ``index`` take for a column of ``T`` values.
In = Union[T, NumpyScalar, None]


def _type_name(value_type: Union[str, type]) -> str:
    if isinstance(value_type, str):
        if value_type not in VALUE_TYPES:
            raise error("InvalidArgument", f"unknown value type {value_type!r}; use one of {sorted(VALUE_TYPES)}")
        return value_type
    name = _BY_PYTYPE.get(value_type)
    if name is None:
        raise error("InvalidArgument", f"no column type for {value_type!r}")
    return name


class FieldCipher(Generic[T]):
    """Encrypts, decrypts and indexes the values of one column
    (``table.column``), every value of one type.

    - ``value_type``: the Python type (``str``, ``int`` ...) or its
      column-type name (``"text"``, ``"int"`` ...). With a Python type the
      cipher is typed: ``FieldCipher(ring, "t", "email", str)`` is a
      ``FieldCipher[str]``, whose ``encrypt`` takes ``str`` and whose
      ``decrypt`` returns ``str`` (or ``None`` for a hidden NULL).
    - ``deterministic``: equal values give equal tokens (AES-SIV), for
      equality lookups; reveals which rows are equal. Default: random
      (XAES-256-GCM).
    - ``hide_null``: encrypt ``None`` as a token instead of keeping NULL
      (the cipher's type then includes ``None``).
    - ``blind_index``: the length in bytes (2..32) of a blind index next
      to the token, with ``normalizer`` applied first (text columns).
    - ``accept``: modes also read during a migration window.
    - ``unlinkable_batches`` (random mode): every token of a batch
      (``encrypt_many``, ``encrypt_series``) gets its own random nonce
      prefix. By default the tokens of one batch call share one per 1024
      values, which tells whoever sees them that they were written
      together (nothing about the values); unlinkable batches cost one key
      derivation per value (docs/FIELDS.md).

    Values straight from pandas and numpy are taken where they are
    unambiguous: numpy integers, floats and booleans, ``datetime64`` days
    (a date), aware ``pd.Timestamp``; ``pd.NA``, ``pd.NaT``, a ``NaT``
    ``datetime64`` and ``NaN`` (outside float columns, where NaN is a
    value) are missing values, encrypted as NULL. An ``int`` in a float
    column is taken when the float holds it exactly. Naive timestamps are
    refused, as naive ``datetime`` is.

    The ``*_many`` and ``*_series`` forms release the GIL and use every
    core. A cipher is a snapshot of the keyring: after a rotation, build a
    new one. It pickles as a reference to its keyring (see
    :class:`Keyring`), its column settings and its primary key version,
    never key material, and rebuilds itself on first use in the receiving
    process, where it encrypts under that same version: a process whose
    keyring's primary is another version (rotated meanwhile) refuses to
    encrypt or index (``KeyAccessError``, ``KeyVersionUnusable``), so a
    job never mixes versions."""

    @overload
    def __init__(self: FieldCipher[V], keyring: Keyring, table: str, column: str, value_type: Type[V], *,
                 deterministic: bool = ..., hide_null: Literal[False] = ...,
                 blind_index: Optional[int] = ..., normalizer: str = ...,
                 accept: Sequence[str] = ..., allow_dropping_row_binding: bool = ...,
                 unlinkable_batches: bool = ...) -> None: ...

    @overload
    def __init__(self: FieldCipher[Optional[V]], keyring: Keyring, table: str, column: str,
                 value_type: Type[V], *, deterministic: bool = ..., hide_null: Literal[True],
                 blind_index: Optional[int] = ..., normalizer: str = ...,
                 accept: Sequence[str] = ..., allow_dropping_row_binding: bool = ...,
                 unlinkable_batches: bool = ...) -> None: ...

    @overload
    def __init__(self: FieldCipher[Any], keyring: Keyring, table: str, column: str, value_type: str, *,
                 deterministic: bool = ..., hide_null: bool = ...,
                 blind_index: Optional[int] = ..., normalizer: str = ...,
                 accept: Sequence[str] = ..., allow_dropping_row_binding: bool = ...,
                 unlinkable_batches: bool = ...) -> None: ...

    def __init__(self, keyring: Keyring, table: str, column: str, value_type: Union[str, type], *,
                 deterministic: bool = False, hide_null: bool = False,
                 blind_index: Optional[int] = None, normalizer: str = "none",
                 accept: Sequence[str] = (), allow_dropping_row_binding: bool = False,
                 unlinkable_batches: bool = False) -> None:
        if not isinstance(keyring, Keyring):
            raise error("InvalidArgument", "keyring must be a strongroom.Keyring")
        self._keyring = keyring
        self.table = table
        self.column = column
        self.value_type = _type_name(value_type)
        self._opts: Dict[str, Any] = dict(
            deterministic=deterministic, hide_null=hide_null, blind_index=blind_index,
            normalizer=normalizer, accept=tuple(accept),
            allow_dropping_row_binding=allow_dropping_row_binding,
            unlinkable_batches=unlinkable_batches,
        )
        self._native_cipher: Optional[_native.FieldCipher] = None
        self._pinned: Optional[int] = None
        self._pin_error: Optional[Tuple[str, str]] = None
        self._build()

    def _build(self) -> _native.FieldCipher:
        native = self._native_cipher
        if native is None:
            native = self._new_native()
            if self._pinned is not None and native.primary_version != self._pinned:
                native, self._pin_error = self._check_pin(native)
            self._native_cipher = native
            # Single calls go straight to the native methods (encryption
            # and indexing only when they may run here).
            d = self.__dict__
            d["decrypt"] = native.decrypt
            if self._pin_error is None:
                d["encrypt"] = native.encrypt
                d["index"] = native.index
        return native

    def _new_native(self) -> _native.FieldCipher:
        o = self._opts
        bi = None if o["blind_index"] is None else (int(o["blind_index"]), str(o["normalizer"]))
        return _native.FieldCipher(self._keyring._native, self.table, self.column, self.value_type,
                                   o["deterministic"], o["hide_null"], bi, list(o["accept"]),
                                   o["allow_dropping_row_binding"], bool(o.get("unlinkable_batches", False)))

    def _check_pin(self, native: _native.FieldCipher) -> Tuple[_native.FieldCipher, Optional[Tuple[str, str]]]:
        """The native cipher to use when its primary is not the pinned
        version, and why this process cannot encrypt under the pinned
        version (``None`` once a reload of a stale keyring fixed it)."""
        pinned = self._pinned
        assert pinned is not None
        if native.primary_version < pinned:
            # This process opened the keyring before the rotation the
            # pickling process saw: read the file again.
            self._keyring.reload()
            native = self._new_native()
            if native.primary_version == pinned:
                return native, None
        statuses = {v.version: v.status for v in self._keyring.versions()}
        where = f"in the keyring {self._keyring.path} here"
        if pinned not in statuses:
            return native, ("UnknownKeyVersion", f"this cipher for {self.table}.{self.column} was pinned to key version "
                                         f"{pinned} by the process that pickled it, and {where} has no such "
                                         f"version")
        return native, ("KeyVersionUnusable", f"this cipher for {self.table}.{self.column} was pinned to key version "
                                      f"{pinned} by the process that pickled it, but {where} version {pinned} "
                                      f"is {statuses[pinned]} and the primary is {native.primary_version}: "
                                      f"the keyring was rotated while the job ran; build the cipher again and "
                                      f"resubmit the job")

    def _writer(self) -> _native.FieldCipher:
        """The native cipher, for calls that encrypt or index (refused
        when the pinned version cannot be used here)."""
        native = self._build()
        if self._pin_error is not None:
            raise error(*self._pin_error)
        return native

    def __reduce__(self) -> Tuple[Any, Tuple[Keyring, str, str, str, Dict[str, Any], int]]:
        pinned = self._pinned if self._pinned is not None else self._build().primary_version
        return (_rebuild, (self._keyring, self.table, self.column, self.value_type, dict(self._opts), pinned))

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
    def hide_null(self) -> bool:
        """Whether ``None`` is encrypted as a token (instead of kept as NULL)."""
        return bool(self._opts["hide_null"])

    @property
    def unlinkable_batches(self) -> bool:
        """Whether every token of a batch gets its own nonce prefix."""
        return bool(self._opts.get("unlinkable_batches", False))

    @property
    def has_blind_index(self) -> bool:
        """Whether the column has a blind index."""
        return self._opts["blind_index"] is not None

    # -- one value ------------------------------------------------------------

    @overload
    def encrypt(self, value: Union[T, NumpyScalar], row: Optional[RowKey] = None, *,
                text: Literal[False] = False) -> bytes: ...

    @overload
    def encrypt(self, value: Union[T, NumpyScalar], row: Optional[RowKey] = None, *,
                text: Literal[True]) -> str: ...

    @overload
    def encrypt(self, value: Union[T, NumpyScalar], row: Optional[RowKey] = None, *, text: bool) -> Token: ...

    @overload
    def encrypt(self, value: None, row: Optional[RowKey] = None, *, text: bool = False) -> None: ...

    def encrypt(self, value: In[T], row: Optional[RowKey] = None, *, text: bool = False) -> Optional[Token]:
        """Encrypts one value (bound to ``row`` if given). ``None`` stays
        ``None`` unless the column hides NULLs. Returns bytes, or the text
        form (``str``) when ``text``."""
        result: Optional[Token] = self._writer().encrypt(value, row, text)
        return result

    @overload
    def encrypt_text(self, value: Union[T, NumpyScalar], row: Optional[RowKey] = None) -> str: ...

    @overload
    def encrypt_text(self, value: None, row: Optional[RowKey] = None) -> None: ...

    def encrypt_text(self, value: In[T], row: Optional[RowKey] = None) -> Optional[str]:
        """Encrypts one value to the token's text form."""
        result: Optional[str] = self._writer().encrypt(value, row, True)
        return result

    @overload
    def decrypt(self, token: None, row: Optional[RowKey] = None) -> None: ...

    @overload
    def decrypt(self, token: Token, row: Optional[RowKey] = None) -> Optional[T]: ...

    def decrypt(self, token: Optional[Token], row: Optional[RowKey] = None) -> Optional[T]:
        """Decrypts a token (bytes or text). ``None`` stays ``None``; a
        token may hold a hidden NULL (made by a column that hides NULLs),
        which also decrypts to ``None``."""
        result: Optional[T] = self._build().decrypt(token, row)
        return result

    def index(self, value: In[T]) -> Optional[bytes]:
        """The blind-index term of ``value``."""
        return self._writer().index(value)

    def lookup_terms(self, value: In[T]) -> List[bytes]:
        """The index terms of ``value`` under every usable key version."""
        return self._build().lookup_terms(value)

    def lookup_tokens(self, value: In[T]) -> List[bytes]:
        """The tokens of ``value`` (deterministic columns) under every usable key version."""
        return self._build().lookup_tokens(value)

    def needs_rewrap(self, token: Token) -> bool:
        """Whether ``token`` was made under an older key version or mode."""
        return self._build().needs_rewrap(token)

    @overload
    def rewrap(self, token: bytes, row: Optional[RowKey] = None) -> bytes: ...

    @overload
    def rewrap(self, token: str, row: Optional[RowKey] = None) -> str: ...

    def rewrap(self, token: Token, row: Optional[RowKey] = None) -> Token:
        """Re-encrypts ``token`` under the primary version (text in, text out)."""
        result: Token = self._writer().rewrap(token, row)
        return result

    # -- many values ------------------------------------------------------------

    @overload
    def encrypt_many(self, values: Iterable[In[T]], rows: Optional[Iterable[RowKey]] = None, *,
                     text: Literal[False] = False) -> List[Optional[bytes]]: ...

    @overload
    def encrypt_many(self, values: Iterable[In[T]], rows: Optional[Iterable[RowKey]] = None, *,
                     text: Literal[True]) -> List[Optional[str]]: ...

    @overload
    def encrypt_many(self, values: Iterable[In[T]], rows: Optional[Iterable[RowKey]] = None, *,
                     text: bool) -> Union[List[Optional[bytes]], List[Optional[str]]]: ...

    def encrypt_many(self, values: Iterable[In[T]], rows: Optional[Iterable[RowKey]] = None, *,
                     text: bool = False) -> Union[List[Optional[bytes]], List[Optional[str]]]:
        """Encrypts many values on all cores (GIL released)."""
        return self._writer().encrypt_many(values, rows, text)

    def decrypt_many(self, tokens: Iterable[Optional[Token]],
                     rows: Optional[Iterable[RowKey]] = None) -> List[Optional[T]]:
        """Decrypts many tokens on all cores; the first failure raises with
        its position in ``index``."""
        return self._build().decrypt_many(tokens, rows)

    def index_many(self, values: Iterable[In[T]]) -> List[Optional[bytes]]:
        """Blind-index terms of many values on all cores."""
        return self._writer().index_many(values)

    @overload
    def rewrap_many(self, tokens: Iterable[Optional[Token]], rows: Optional[Iterable[RowKey]] = None, *,
                    text: Literal[False] = False) -> List[Optional[bytes]]: ...

    @overload
    def rewrap_many(self, tokens: Iterable[Optional[Token]], rows: Optional[Iterable[RowKey]] = None, *,
                    text: Literal[True]) -> List[Optional[str]]: ...

    @overload
    def rewrap_many(self, tokens: Iterable[Optional[Token]], rows: Optional[Iterable[RowKey]] = None, *,
                    text: bool) -> Union[List[Optional[bytes]], List[Optional[str]]]: ...

    def rewrap_many(self, tokens: Iterable[Optional[Token]], rows: Optional[Iterable[RowKey]] = None, *,
                    text: bool = False) -> Union[List[Optional[bytes]], List[Optional[str]]]:
        """Rewraps many tokens on all cores."""
        return self._writer().rewrap_many(tokens, rows, text)

    # -- pandas -------------------------------------------------------------------

    def encrypt_series(self, series: pandas.Series[Any], rows: Any = None, *,
                       text: bool = True) -> pandas.Series[Any]:
        """Encrypts a pandas Series at batch speed, keeping its index and
        name: a Series of tokens (text form by default, so Parquet and CSV
        keep a string column; ``text=False`` gives bytes). What pandas
        counts as missing (``isna``: ``None``, ``NaN`` in any column,
        ``pd.NA``, ``pd.NaT``) stays missing, as NULL, unless the column
        hides NULLs. ``rows``: row keys
        aligned with the Series (a Series, an Index or a sequence)."""
        from . import _pandas

        return _pandas.encrypt_series(self, series, rows, text)

    def decrypt_series(self, series: pandas.Series[Any], rows: Any = None, *,
                       dtype: Any = None) -> pandas.Series[Any]:
        """Decrypts a Series of tokens at batch speed, keeping its index and
        name. The dtype is ``dtype`` if given, else the column type's
        natural one: ``int64`` (``Int64`` with missing values), ``float64``,
        ``bool`` (``boolean`` with missing values), timestamps as UTC
        ``datetime64``, pandas' string dtype for text, ``object`` for bytes,
        dates and decimals."""
        from . import _pandas

        return _pandas.decrypt_series(self, series, rows, dtype)

    def index_series(self, series: pandas.Series[Any]) -> pandas.Series[Any]:
        """The blind-index terms of a Series (bytes), same index and name."""
        from . import _pandas

        return _pandas.index_series(self, series)


def _rebuild(keyring: Keyring, table: str, column: str, value_type: str, opts: Dict[str, Any],
             pinned: Optional[int] = None) -> FieldCipher[Any]:
    c: FieldCipher[Any] = FieldCipher.__new__(FieldCipher)
    c._keyring = keyring
    c.table = table
    c.column = column
    c.value_type = value_type
    c._opts = opts
    c._native_cipher = None  # built on first use, in this process
    c._pinned = pinned
    c._pin_error = None
    return c
