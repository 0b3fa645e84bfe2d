"""The exceptions of strongroom.

One base class, :class:`StrongroomError`, and one subclass per class of the
core's error table (docs/ERRORS.md). Every exception carries the stable
``code`` (e.g. 503) and ``name`` (e.g. ``"ChunkAuthFailed"``) of its row;
batch calls add ``index``, the position of the failing item. Match on
classes, codes or names, never on messages. No message contains a secret,
a plaintext value or key material.

The numbers and names come from the native module's copy of the table
(:data:`TABLE`); the class of each row is chosen by the row's class name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Dict, Optional, Tuple, Type

from . import _native

__all__ = [
    "StrongroomError",
    "InternalError",
    "UsageError",
    "StrongroomIOError",
    "FormatError",
    "KdfLimitsError",
    "AuthenticationError",
    "KeyAccessError",
    "ConflictError",
    "OperationCancelledError",
    "ErrorRow",
    "TABLE",
    "CLASSES",
]


@dataclass(frozen=True)
class ErrorRow:
    """One row of the error table."""

    code: int
    name: str
    kind: str
    kind_number: int
    summary: str
    binding_only: bool


#: Every row of the error table, by number.
TABLE: Dict[int, ErrorRow] = {
    row[0]: ErrorRow(*row) for row in _native.error_table()
}

_KIND_NUMBERS: Dict[str, int] = {name: number for number, name in _native.error_kinds()}


class StrongroomError(Exception):
    """Base class of every strongroom error."""

    #: The error-table class this exception class stands for ("integrity", ...).
    kind: ClassVar[str] = ""
    #: The stable number of that class (1 to 8), from the error table.
    kind_number: ClassVar[int] = 0

    code: int
    name: str
    index: Optional[int]

    def __init__(self, message: str, *, code: int, name: str, index: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.index = index

    @property
    def message(self) -> str:
        """The human-readable message (may change between releases)."""
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> Tuple[object, Tuple[int, str, str, Optional[int]]]:
        return (_rebuild, (self.code, self.name, self.message, self.index))

    def __repr__(self) -> str:
        at = "" if self.index is None else f", index={self.index}"
        return f"{type(self).__name__}({self.message!r}, code={self.code}, name={self.name!r}{at})"


class InternalError(StrongroomError):
    """A bug: a panic caught at the boundary, or an unexpected failure."""

    kind = "internal"


class UsageError(StrongroomError):
    """A request refused as invalid: bad argument, wrong value type."""

    kind = "usage"


class StrongroomIOError(StrongroomError):
    """The operating system reported an I/O failure (not found, permission...)."""

    kind = "io"


class FormatError(StrongroomError):
    """The input is not well-formed: bad magic, truncation, malformed header."""

    kind = "format"


class KdfLimitsError(FormatError):
    """Argon2id parameters in a file or keyring outside the documented bounds
    (``KdfParams``, refused before any work)."""


class AuthenticationError(StrongroomError):
    """Authentication failed: the data was modified or belongs elsewhere."""

    kind = "integrity"


class KeyAccessError(StrongroomError):
    """No usable key: wrong passphrase or keyring, unknown or retired version."""

    kind = "key"


class ConflictError(StrongroomError):
    """The destination exists, or the keyring is locked by another process."""

    kind = "conflict"


class OperationCancelledError(StrongroomError):
    """The operation was cancelled; it left no output."""

    kind = "cancelled"


#: The exception class of every error-table class name.
CLASSES: Dict[str, Type[StrongroomError]] = {
    cls.kind: cls
    for cls in (
        InternalError,
        UsageError,
        StrongroomIOError,
        FormatError,
        AuthenticationError,
        KeyAccessError,
        ConflictError,
        OperationCancelledError,
    )
}

for _kind, _cls in CLASSES.items():
    _cls.kind_number = _KIND_NUMBERS[_kind]
KdfLimitsError.kind_number = FormatError.kind_number

#: Rows with a more specific class than their table class.
_SPECIFIC: Dict[str, Type[StrongroomError]] = {"KdfParams": KdfLimitsError}


def class_for(code: int) -> Type[StrongroomError]:
    """The exception class raised for the error-table row ``code``."""
    row = TABLE[code]
    return _SPECIFIC.get(row.name, CLASSES[row.kind])


def error(name: str, message: str, index: Optional[int] = None) -> StrongroomError:
    """A new exception for the row called ``name`` (for the Python layer)."""
    for row in TABLE.values():
        if row.name == name:
            return class_for(row.code)(message, code=row.code, name=row.name, index=index)
    raise LookupError(f"no error-table row is called {name!r}")


def _from_native(code: int, name: str, message: str, index: Optional[int]) -> StrongroomError:
    return class_for(code)(message, code=code, name=name, index=index)


def _rebuild(code: int, name: str, message: str, index: Optional[int]) -> StrongroomError:
    return _from_native(code, name, message, index)
