"""strongroom: encryption of files and database fields, with keys handled
properly.

- :class:`Keyring`: versioned keys behind passphrases and recovery keys.
- :func:`encrypt_file`, :func:`decrypt_file`, :func:`open`: encrypted
  files (random access when reading), :func:`encrypt_bytes` and
  :func:`decrypt_bytes` for data in memory, :func:`encrypt_directory` and
  :func:`extract_archive` for encrypted tar archives.
- :class:`FieldCipher`: per-column field encryption with blind indexes;
  :mod:`strongroom.sqlite`, :mod:`strongroom.psycopg` and
  :mod:`strongroom.sqlalchemy` for databases.
- :mod:`strongroom.hazmat`: the standard constructions underneath.
- Errors: :class:`StrongroomError` and one subclass per class of the
  error table, each instance carrying ``code`` and ``name``.
- :func:`set_threads` and :func:`thread_count`: the size of the worker
  pool that files and batches run on.
"""

from ._errors import (
    TABLE,
    AuthenticationError,
    ConflictError,
    FormatError,
    InternalError,
    KdfBudgetExceededError,
    KdfLimitsError,
    KeyAccessError,
    OperationCancelledError,
    StrongroomError,
    StrongroomIOError,
    UsageError,
)
from ._fields import FieldCipher
from ._files import (
    EncryptedReader,
    EncryptedWriter,
    FileInfo,
    StanzaInfo,
    decrypt_bytes,
    decrypt_file,
    encrypt_bytes,
    encrypt_directory,
    encrypt_file,
    extract_archive,
    inspect,
    rekey_file,
    rewrap_file,
)
# Public, called qualified (``strongroom.open``, as ``gzip.open``): left
# out of ``__all__`` so that ``from strongroom import *`` keeps the builtin;
# the ``as`` form exports it explicitly for type checkers.
from ._files import open as open
from ._keyring import (
    EnvSecret,
    FdSecret,
    FileSecret,
    KdfBudget,
    KdfParams,
    Keyring,
    KeyVersion,
    Protector,
    Reenrollment,
    Revocation,
    SecretSource,
    SeenRecordOption,
    Upgrade,
)
from . import _native
from ._native import MAX_THREADS, __version__


def set_threads(threads: int) -> None:
    """Sets the number of worker threads of strongroom's pool (one pool
    per process, shared by every file and batch operation) for work that
    starts afterwards: 1 runs single-threaded, 0 returns to the default
    (the ``STRONGROOM_THREADS`` environment variable, else
    ``RAYON_NUM_THREADS``, else one per CPU). Work already running
    finishes on the pool it started on. A negative number or more than
    :data:`MAX_THREADS` raises :class:`UsageError` (``InvalidArgument``)
    and changes nothing."""
    _native.set_threads(threads)


def thread_count() -> int:
    """The number of worker threads strongroom's pool has, or will have
    when it next starts (see :func:`set_threads`). Starts nothing."""
    return _native.thread_count()


__all__ = [
    "__version__",
    "MAX_THREADS",
    "set_threads",
    "thread_count",
    "TABLE",
    "AuthenticationError",
    "ConflictError",
    "FormatError",
    "InternalError",
    "KdfLimitsError",
    "KdfBudgetExceededError",
    "KeyAccessError",
    "OperationCancelledError",
    "StrongroomError",
    "StrongroomIOError",
    "UsageError",
    "FieldCipher",
    "EncryptedReader",
    "EncryptedWriter",
    "FileInfo",
    "StanzaInfo",
    "inspect",
    "decrypt_file",
    "encrypt_bytes",
    "decrypt_bytes",
    "rekey_file",
    "rewrap_file",
    "encrypt_directory",
    "encrypt_file",
    "extract_archive",
    "EnvSecret",
    "FileSecret",
    "FdSecret",
    "KdfBudget",
    "KdfParams",
    "Keyring",
    "KeyVersion",
    "Protector",
    "Reenrollment",
    "Revocation",
    "SecretSource",
    "SeenRecordOption",
    "Upgrade",
]
