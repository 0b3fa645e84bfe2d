"""The exceptions of strongroom.

One base class, :class:`StrongroomError`, and one subclass per class of the
core's error table (docs/ERRORS.md). Every exception carries the stable
``code`` (e.g. 503) and ``name`` (e.g. ``"ChunkAuthFailed"``) of its row;
batch calls add ``index``, the position of the failing item. Match on
classes, codes or names, never on messages. No message contains a secret,
a plaintext value or key material.

The numbers and names come from the native module's copy of the table
(:data:`TABLE`); the class of each row is chosen by the row's class name.

I/O errors (class ``io``) are also :class:`OSError`: the one Python's
``open`` would raise for the same OS error (``except FileNotFoundError``
works), with ``errno`` and ``filename`` set when the operating system
gave them.
"""

from __future__ import annotations

import errno as _errno
import os
from dataclasses import dataclass
from typing import ClassVar, Dict, Optional, Tuple, Type, Union

from . import _native

__all__ = [
    "StrongroomError",
    "InternalError",
    "UsageError",
    "StrongroomIOError",
    "FormatError",
    "KdfLimitsError",
    "KdfBudgetExceededError",
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

    def __reduce__(self) -> Tuple[object, Tuple[int, str, str, Optional[int], Optional[int], Optional[str]]]:
        return (_rebuild, (self.code, self.name, self.message, self.index, None, None))

    def __repr__(self) -> str:
        at = "" if self.index is None else f", index={self.index}"
        return f"{type(self).__qualname__}({self.message!r}, code={self.code}, name={self.name!r}{at})"


class InternalError(StrongroomError):
    """A bug: a panic caught at the boundary, or an unexpected failure."""

    kind = "internal"


class UsageError(StrongroomError):
    """A request refused as invalid: bad argument, wrong value type."""

    kind = "usage"


class StrongroomIOError(StrongroomError, OSError):
    """The operating system reported an I/O failure (not found, permission...).

    It is an :class:`OSError`, and the instances raised are also of the
    matching built-in subclass (:class:`FileNotFoundError`,
    :class:`PermissionError`, :class:`IsADirectoryError` ...). ``errno`` is
    the OS error number and ``filename`` the file concerned, when known;
    the message names the file too."""

    kind = "io"

    def __init__(self, message: str, *, code: int, name: str, index: Optional[int] = None,
                 errno: Optional[int] = None, filename: Optional[str] = None) -> None:
        StrongroomError.__init__(self, message, code=code, name=name, index=index)
        self.errno = errno
        self.strerror = None if errno is None else os.strerror(errno)
        self.filename = filename

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Tuple[object, Tuple[int, str, str, Optional[int], Optional[int], Optional[str]]]:
        filename = None if self.filename is None else str(self.filename)
        return (_rebuild, (self.code, self.name, self.message, self.index, self.errno, filename))


class FormatError(StrongroomError):
    """The input is not well-formed: bad magic, truncation, malformed header."""

    kind = "format"


class KdfLimitsError(FormatError):
    """Argon2id parameters in a file or keyring outside the documented bounds
    (``KdfParams``, refused before any work)."""


class KdfBudgetExceededError(UsageError):
    """A passphrase stanza of the file or keyring asks for more Argon2id
    work than the call's :class:`~strongroom.KdfBudget` allows, so it was
    not tried (``KdfBudgetExceeded``). Pass a larger ``kdf_budget`` for a
    file or keyring you trust."""


class AuthenticationError(StrongroomError):
    """Authentication failed: the data was modified or belongs elsewhere."""

    kind = "integrity"


class KeyAccessError(StrongroomError):
    """No usable key: wrong passphrase or keyring, unknown or retired version."""

    kind = "key"


class ConflictError(StrongroomError):
    """The destination exists, or the keyring or file is locked or being changed by another process."""

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
KdfBudgetExceededError.kind_number = UsageError.kind_number

#: Rows with a more specific class than their table class.
_SPECIFIC: Dict[str, Type[StrongroomError]] = {
    "KdfParams": KdfLimitsError,
    "KdfBudgetExceeded": KdfBudgetExceededError,
}


#: The built-in OSError subclass of the I/O rows when the OS gave no number.
_IO_ROWS: Dict[str, Type[OSError]] = {"NotFound": FileNotFoundError, "PermissionDenied": PermissionError}

#: ``StrongroomIOError`` combined with each built-in OSError subclass, made
#: on first use.
_IO_CLASSES: Dict[Type[OSError], Type[StrongroomIOError]] = {}


def _io_class(name: str, errno: Optional[int]) -> Type[StrongroomIOError]:
    """The class of an I/O error: :class:`StrongroomIOError` and the
    built-in subclass Python picks for ``errno`` (or for the row)."""
    builtin: Type[OSError] = OSError
    if errno is not None:
        builtin = type(OSError(errno, _errno.errorcode.get(errno, "")))
    builtin = _IO_ROWS.get(name, OSError) if builtin is OSError else builtin
    if builtin is OSError:
        return StrongroomIOError
    cls = _IO_CLASSES.get(builtin)
    if cls is None:
        cls = type(builtin.__name__, (StrongroomIOError, builtin), {
            "__module__": __name__,
            "__qualname__": f"StrongroomIOError.{builtin.__name__}",
            "__doc__": f"A strongroom I/O error that is also a {builtin.__name__}.",
        })
        _IO_CLASSES[builtin] = cls
    return cls


def class_for(code: int) -> Type[StrongroomError]:
    """The exception class raised for the error-table row ``code`` (for the
    I/O rows, the base of the classes actually raised)."""
    row = TABLE[code]
    return _SPECIFIC.get(row.name, CLASSES[row.kind])


def error(name: str, message: str, index: Optional[int] = None) -> StrongroomError:
    """A new exception for the row called ``name`` (for the Python layer)."""
    for row in TABLE.values():
        if row.name == name:
            return _from_native(row.code, row.name, message, index)
    raise LookupError(f"no error-table row is called {name!r}")


def _from_native(code: int, name: str, message: str, index: Optional[int],
                 errno: Optional[int] = None,
                 filename: Union[str, bytes, None] = None) -> StrongroomError:
    cls = class_for(code)
    if issubclass(cls, StrongroomIOError):
        fname = os.fsdecode(filename) if filename is not None else None
        return _io_class(name, errno)(message, code=code, name=name, index=index, errno=errno, filename=fname)
    return cls(message, code=code, name=name, index=index)


def _rebuild(code: int, name: str, message: str, index: Optional[int],
             errno: Optional[int] = None, filename: Optional[str] = None) -> StrongroomError:
    return _from_native(code, name, message, index, errno, filename)
