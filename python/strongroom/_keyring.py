"""Keyrings, their secrets, and how handles travel to other processes."""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import error

__all__ = [
    "Keyring",
    "KdfParams",
    "KdfBudget",
    "KeyVersion",
    "Protector",
    "Revocation",
    "Upgrade",
    "Reenrollment",
    "SeenRecordOption",
    "SecretSource",
    "EnvSecret",
    "FileSecret",
    "FdSecret",
    "Secret",
    "PathLike",
]

PathLike = Union[str, "os.PathLike[str]"]

#: The record of keyrings seen to check a keyring against and raise: ``None``
#: (none, the default), ``True`` (the default location:
#: ``$STRONGROOM_STATE_DIR``, else ``$XDG_STATE_HOME/strongroom``, else
#: ``~/.local/state/strongroom``), or the path of a record file.
SeenRecordOption = Union[None, bool, PathLike]


def _seen_args(seen_record: SeenRecordOption) -> Tuple[Optional[str], bool]:
    if seen_record is None or seen_record is False:
        return None, False
    if seen_record is True:
        return None, True
    # Absolute, so that a pickle names the same record in any working directory.
    return os.path.abspath(os.fsdecode(os.fspath(seen_record))), False


class SecretSource:
    """A named place a secret is read from when needed (an environment
    variable, a file, a file descriptor). A keyring opened from one (but a
    descriptor, which is read once) can be pickled: the pickle holds the
    keyring's path and the source's *name*, never the secret, and the
    receiving process reads the secret itself.

    The built-in sources read by the core's rule, the same as the command
    line's and the C API's: at most 64 KiB of UTF-8, exactly one trailing
    newline (``\n`` or ``\r\n``) removed from files and descriptors."""

    def read(self) -> str:
        """Reads the secret."""
        raise NotImplementedError

    def __call__(self) -> str:
        return self.read()


@dataclass(frozen=True)
class EnvSecret(SecretSource):
    """The secret in the environment variable ``name``."""

    name: str

    def read(self) -> str:
        return _native.read_secret("env", self.name)


@dataclass(frozen=True)
class FileSecret(SecretSource):
    """The secret in the file at ``path`` (one trailing newline removed).
    The path is made absolute when the source is made, so a pickled
    keyring reference finds it from any working directory."""

    path: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", os.path.abspath(os.fspath(self.path)))

    def read(self) -> str:
        return _native.read_secret("file", self.path)


@dataclass(frozen=True)
class FdSecret(SecretSource):
    """The secret read from the open file descriptor ``fd`` (Unix; one
    trailing newline removed), e.g. a pipe from a secret manager. It can
    be read once: a keyring opened from it does not pickle."""

    fd: int

    def read(self) -> str:
        return _native.read_secret("fd", self.fd)


#: A passphrase or recovery key: the value itself, a callable returning it,
#: or a :class:`SecretSource`.
Secret = Union[str, bytes, bytearray, SecretSource, Callable[[], Union[str, bytes, bytearray]]]


def resolve(secret: Secret) -> Union[str, bytes, bytearray]:
    """The value of a secret argument (calls callables and sources)."""
    if isinstance(secret, (str, bytes, bytearray)):
        return secret
    if callable(secret):
        value = secret()
        if not isinstance(value, (str, bytes, bytearray)):
            raise error("InvalidArgument", "a secret callable must return str, bytes or bytearray")
        return value
    raise error("InvalidArgument", "a secret is a str, bytes, bytearray or a callable returning one")


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost of a passphrase: memory in KiB, passes and lanes. The
    default is RFC 9106's second recommendation (64 MiB, 3 passes, 4 lanes);
    the core refuses values outside its bounds (8 MiB to 2 GiB, at most 16
    passes and lanes)."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    parallelism: int = 4

    def as_tuple(self) -> Tuple[int, int, int]:
        """``(memory_kib, iterations, parallelism)``."""
        return (self.memory_kib, self.iterations, self.parallelism)


def kdf_tuple(kdf: Optional[KdfParams]) -> Optional[Tuple[int, int, int]]:
    return None if kdf is None else kdf.as_tuple()


@dataclass(frozen=True)
class KdfBudget:
    """How much Argon2id work one call may spend on the passphrase stanzas
    of a file or keyring it reads. Their cost is written in the file by
    whoever could write it; a stanza beyond the budget is not tried, and if
    nothing else opens the call raises ``KdfBudgetExceeded``
    (:class:`KdfBudgetExceededError`, a :class:`UsageError`).

    ``max_memory_kib`` bounds the memory of one run, ``max_passes`` the
    total work of the call (in passes over ``max_memory_kib``). The
    default, ``KdfBudget()``, is the library's: 1 GiB per run and six
    passes over it per call. :meth:`unlimited` allows everything the
    format's caps allow: only for files and keyrings you trust."""

    max_memory_kib: int = _native.KDF_BUDGET_DEFAULT[0]
    max_passes: int = _native.KDF_BUDGET_DEFAULT[1]

    @classmethod
    def unlimited(cls) -> "KdfBudget":
        """Everything the format's caps allow (2 GiB per run, no total)."""
        return cls(*_native.KDF_BUDGET_UNLIMITED)

    def as_tuple(self) -> Tuple[int, int]:
        """``(max_memory_kib, max_passes)``."""
        return (self.max_memory_kib, self.max_passes)


def budget_tuple(budget: Optional[KdfBudget]) -> Optional[Tuple[int, int]]:
    return None if budget is None else budget.as_tuple()


@dataclass(frozen=True)
class KeyVersion:
    """Public metadata of a key version."""

    version: int
    status: str
    created_at: int
    status_changed_at: int


@dataclass(frozen=True)
class Protector:
    """Public metadata of a protector (``kind``: ``"passphrase"``,
    ``"recovery-key"``, or ``"unknown"`` for a kind a newer release added).
    ``legacy``: still in keyring format 1 or 2 (the keyring must be
    upgraded)."""

    id: int
    kind: str
    created_at: int
    legacy: bool
    kdf: Optional[KdfParams]


@dataclass(frozen=True)
class Revocation:
    """What a removal (or a replaced recovery key) did: the protectors
    removed, the key version added and made primary (``None`` without
    rotation), and the remaining protectors whose authentication values the
    removed party may know (give them fresh ones with
    :meth:`Keyring.reenroll`)."""

    removed: List[int]
    new_primary: Optional[int]
    to_reenroll: List[int]


@dataclass(frozen=True)
class Upgrade:
    """What :meth:`Keyring.upgrade` did."""

    from_format: int
    upgraded: bool
    removed: List[int]
    new_primary: Optional[int]


@dataclass(frozen=True)
class Reenrollment:
    """What :meth:`Keyring.reenroll` did: the protectors with fresh
    authentication values, and those that kept theirs."""

    reenrolled: List[int]
    unchanged: List[int]


# One open keyring per (path, secret source, record) per process: handles
# that arrive by pickle open the keyring once, on first use, and share it.
_OPEN: Dict[Tuple[str, str, SecretSource, Tuple[Optional[str], bool]], "_native.Keyring"] = {}
_OPEN_LOCK = threading.Lock()
# Every keyring handle, so that a forked child can give each a fresh lock.
_HANDLES: "weakref.WeakSet[Keyring]" = weakref.WeakSet()


def _locks_after_fork_in_child() -> None:
    # A thread of the parent may have held these locks at fork time (while
    # opening a keyring: seconds of key derivation). That thread does not
    # exist in the child, so the locks would never come free: the child
    # starts with fresh ones. What they guard is whole: the shared table
    # and a handle are only assigned once an open has finished.
    global _OPEN_LOCK
    _OPEN_LOCK = threading.Lock()
    for handle in list(_HANDLES):
        handle._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_locks_after_fork_in_child)


class _Internal:
    """The type of the token that only this package passes to
    ``Keyring.__init__``: keyrings come from :meth:`Keyring.create` and
    :meth:`Keyring.open`."""


_INTERNAL = _Internal()


class Keyring:
    """An unlocked keyring. Use it as a context manager (or call
    :meth:`close`) to wipe its keys when done; one keyring may be used by
    many threads at once.

    Create one with :meth:`create`, open one with :meth:`open`; the
    constructor is not public.

    **Pickling.** A keyring opened from a :class:`SecretSource` pickles as
    a reference: its absolute path (resolved when it was opened), the
    source's name, the keyring id and the seen-record option, never a
    secret. The receiving process opens the file on first use and refuses
    (``KeyAccessError``, ``WrongKeyring``) a different keyring found at that
    path, even one that opens with the same passphrase."""

    def __init__(self, internal: _Internal, native: Optional[_native.Keyring], path: str,
                 ref: Optional[Tuple[str, SecretSource]],
                 seen: Tuple[Optional[str], bool] = (None, False), *,
                 pinned_id: Optional[bytes] = None) -> None:
        if internal is not _INTERNAL:
            raise TypeError("use strongroom.Keyring.create(...) or strongroom.Keyring.open(...)")
        self._native_handle = native
        self._path = path
        # What a pickle carries: the file opened, whatever the working
        # directory of the process that unpickles it.
        self._abs_path = os.path.abspath(path)
        self._ref = ref
        self._pinned_id = pinned_id
        self._seen = seen
        self._lock = threading.Lock()
        _HANDLES.add(self)

    # -- construction -------------------------------------------------

    @classmethod
    def create(cls, path: PathLike, passphrase: Secret, *, kdf: Optional[KdfParams] = None,
               seen_record: SeenRecordOption = None) -> "Keyring":
        """Creates a new keyring file at ``path`` (mode 0600) protected by
        ``passphrase``, with key version 1 as primary. With ``seen_record``
        (see :data:`SeenRecordOption`) the record of keyrings seen learns it,
        and every later change checks and raises the record."""
        p = _path_str(path)
        seen = _seen_args(seen_record)
        native = _native.Keyring.create(p, resolve(passphrase), kdf_tuple(kdf), *seen)
        return cls(_INTERNAL, native, p, _ref("passphrase", passphrase), seen)

    @classmethod
    def open(cls, path: PathLike, passphrase: Optional[Secret] = None, *,
             recovery_key: Optional[Secret] = None, seen_record: SeenRecordOption = None,
             kdf_budget: Optional[KdfBudget] = None) -> "Keyring":
        """Opens the keyring at ``path`` with a passphrase or a recovery key.

        ``kdf_budget`` (default :class:`KdfBudget()`) bounds the Argon2id
        work spent on the keyring's passphrase protectors, here and in the
        handle's later re-enrollments and upgrades; a protector beyond it
        is not tried (``KdfBudgetExceeded`` if no other opens). A handle
        re-opened after pickling uses the default.

        With ``seen_record`` (see :data:`SeenRecordOption`), a keyring older
        than a state of it seen before is refused (``KeyringRolledBack``,
        ``KeyringDowngraded``: :class:`AuthenticationError`) and the state
        opened is recorded. A keyring in format 1 or 2 opens and decrypts,
        but encrypting with it and changing it raise ``KeyringNeedsUpgrade``
        (:class:`ConflictError`) until :meth:`upgrade`."""
        p = _path_str(path)
        if (passphrase is None) == (recovery_key is None):
            raise error("InvalidArgument", "give exactly one of passphrase and recovery_key")
        seen = _seen_args(seen_record)
        if passphrase is not None:
            native = _native.Keyring.open(p, resolve(passphrase), None, *seen, budget_tuple(kdf_budget))
            ref = _ref("passphrase", passphrase)
        else:
            assert recovery_key is not None
            rk = resolve(recovery_key)
            native = _native.Keyring.open(p, None, rk.decode() if isinstance(rk, (bytes, bytearray)) else rk, *seen,
                                          budget_tuple(kdf_budget))
            ref = _ref("recovery_key", recovery_key)
        return cls(_INTERNAL, native, p, ref, seen)

    @staticmethod
    def peek_id(path: PathLike) -> bytes:
        """The keyring id of the file at ``path``, without unlocking it."""
        return bytes(_native.Keyring.peek_id(_path_str(path)))

    # -- the handle ---------------------------------------------------

    @property
    def _native(self) -> _native.Keyring:
        handle = self._native_handle
        if handle is not None:
            return handle
        with self._lock:
            if self._native_handle is None:
                if self._ref is None:
                    raise error("InvalidArgument", "the keyring is closed")
                self._native_handle = _open_shared(self._abs_path, *self._ref, self._seen,
                                                   pinned_id=self._pinned_id)
            return self._native_handle

    def __reduce__(self) -> Tuple[object, Tuple[str, str, SecretSource, Tuple[Optional[str], bool], bytes]]:
        if self._ref is None:
            raise TypeError(
                "this keyring was opened with a literal secret and cannot be pickled: "
                "open it with a SecretSource (EnvSecret, FileSecret) so the receiving "
                "process can read the secret itself"
            )
        kind, source = self._ref
        if isinstance(source, FdSecret):
            raise TypeError("this keyring was opened from a file descriptor, which is read once: "
                            "open it with EnvSecret or FileSecret to pickle it")
        pinned = self._pinned_id if self._pinned_id is not None else self.id
        return (_reopen, (self._abs_path, kind, source, self._seen, pinned))

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<strongroom.Keyring {self._path!r} ({state})>"

    def __enter__(self) -> "Keyring":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wipes the keys held in memory. A keyring that arrived by pickle
        may be reopened from its secret source on next use."""
        with self._lock:
            if self._native_handle is not None:
                self._native_handle.close()
                self._native_handle = None
            if self._ref is not None:
                with _OPEN_LOCK:
                    _OPEN.pop((self._abs_path, self._ref[0], self._ref[1], self._seen), None)
            self._ref = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._ref is None and (self._native_handle is None or self._native_handle.closed)

    # -- reading --------------------------------------------------------

    @property
    def path(self) -> str:
        """The keyring file's path."""
        return self._path

    @property
    def id(self) -> bytes:
        """The keyring id (16 bytes)."""
        return bytes(self._native.id())

    @property
    def primary_version(self) -> int:
        """The key version that encrypts new data."""
        return self._native.primary_version()

    @property
    def generation(self) -> int:
        """The change counter of the keyring file."""
        return self._native.generation()

    @property
    def format_version(self) -> int:
        """The keyring format: 3, or 1 or 2 for a keyring that cannot prove
        who wrote it and waits for :meth:`upgrade`."""
        return self._native.format_version()

    @property
    def unlocked_by(self) -> int:
        """The id of the protector that unlocked (or created) this handle."""
        return self._native.unlocked_by()

    def versions(self) -> List[KeyVersion]:
        """Every key version's public metadata."""
        return [KeyVersion(*v) for v in self._native.versions()]

    def protectors(self) -> List[Protector]:
        """Every protector's public metadata."""
        return [
            Protector(pid, kind, created, legacy, None if k is None else KdfParams(*k))
            for pid, kind, created, legacy, k in self._native.protectors()
        ]

    def reload(self) -> None:
        """Re-reads the keyring file (changes made by other processes)."""
        self._native.reload()

    # -- changes --------------------------------------------------------

    def add_key(self, promote: bool = True) -> int:
        """Adds a key version (primary if ``promote``); returns its number."""
        return self._native.add_key(promote)

    def promote(self, version: int) -> None:
        """Makes ``version`` the primary key version."""
        self._native.promote(version)

    def disable(self, version: int) -> None:
        """Disables ``version``."""
        self._native.disable(version)

    def enable(self, version: int) -> None:
        """Re-enables a disabled ``version`` (decrypt-only)."""
        self._native.enable(version)

    def destroy(self, version: int) -> None:
        """Destroys the secret of ``version`` for good."""
        self._native.destroy(version)

    def add_passphrase(self, passphrase: Secret, *, kdf: Optional[KdfParams] = None) -> int:
        """Adds a passphrase protector; returns its id."""
        return self._native.add_passphrase(resolve(passphrase), kdf_tuple(kdf))

    def add_recovery_key(self) -> Tuple[int, str]:
        """Adds a recovery key; returns ``(protector id, recovery key text)``.
        The text is the secret: hand it to whoever keeps it, once."""
        return self._native.add_recovery_key()

    def replace_recovery_key(self, *, rotate: bool = True) -> Tuple[int, str]:
        """Replaces the recovery key; returns the new ``(id, text)``. The old
        one is revoked as :meth:`remove_protectors` does (``rotate``
        included); :meth:`replace_recovery_key_with` also says what was
        revoked."""
        pid, text, _ = self._native.replace_recovery_key(rotate)
        return pid, text

    def replace_recovery_key_with(self, *, rotate: bool = True) -> Tuple[int, str, Optional[Revocation]]:
        """:meth:`replace_recovery_key`, also returning the
        :class:`Revocation` (``None`` when there was no recovery key)."""
        pid, text, revoked = self._native.replace_recovery_key(rotate)
        return pid, text, None if revoked is None else Revocation(*revoked)

    def remove_protectors(self, ids: List[int], *, rotate: bool = True) -> Revocation:
        """Removes protectors and revokes them in the same save: the master
        key is replaced and, unless ``rotate`` is false, a new key version
        is made primary, so a removed secret (even with an old copy of the
        keyring file) opens nothing encrypted from now on. Without
        rotation whoever holds a removed secret and such a copy still opens
        what is encrypted afterwards, until the next rotation."""
        return Revocation(*self._native.remove_protectors(list(ids), rotate))

    def rekey(self) -> None:
        """Replaces the master key and seals it to every protector (the one
        that unlocked gets a fresh authentication value). Key versions do
        not change."""
        self._native.rekey()

    def upgrade(self, *, passphrases: Sequence[Secret] = (), recovery_keys: Sequence[Secret] = (),
                remove: Sequence[int] = (), rotate: bool = True) -> Upgrade:
        """Upgrades a keyring in format 1 or 2 to format 3. Every protector
        that stays needs its secret: the one that unlocked is held, give
        the others in ``passphrases`` / ``recovery_keys``, or ``remove``
        them (``ProtectorsNeedUpgrade`` otherwise; nothing changes). With
        ``rotate`` a new key version is made primary.

        The upgrade cannot tell whether the old file was genuine: anyone who
        could write it could have chosen its keys and protectors. Check
        :meth:`protectors` and :meth:`versions` against what you expect."""
        keys = [_text(resolve(k)) for k in recovery_keys]
        done = self._native.upgrade([resolve(p) for p in passphrases], keys, list(remove), rotate)
        return Upgrade(*done)

    def reenroll(self, *, passphrases: Sequence[Secret] = (), recovery_keys: Sequence[Secret] = ()) -> Reenrollment:
        """Gives fresh authentication values to the protector that unlocked
        this handle and to every protector the given secrets open, and
        replaces the master key: after a removal, the removed party's
        knowledge of the old values no longer forges a keyring they open."""
        keys = [_text(resolve(k)) for k in recovery_keys]
        return Reenrollment(*self._native.reenroll([resolve(p) for p in passphrases], keys))

    def use_seen_record(self, path: Optional[PathLike] = None) -> None:
        """Checks the keyring file against the record of keyrings seen (at
        ``path``, or the default location) and keeps it for every later
        change (see :meth:`open`'s ``seen_record``)."""
        self._native.use_seen_record(None if path is None else os.fspath(path))


def _text(value: Union[str, bytes, bytearray]) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else value


def _ref(kind: str, secret: Secret) -> Optional[Tuple[str, SecretSource]]:
    return (kind, secret) if isinstance(secret, SecretSource) else None


def _path_str(path: PathLike) -> str:
    p = os.fspath(path)
    return p if isinstance(p, str) else os.fsdecode(p)


def _open_shared(path: str, kind: str, source: SecretSource,
                 seen: Tuple[Optional[str], bool], *, pinned_id: Optional[bytes]) -> _native.Keyring:
    key = (path, kind, source, seen)
    with _OPEN_LOCK:
        native = _OPEN.get(key)
        if native is None or native.closed:
            value = source.read()
            if kind == "passphrase":
                native = _native.Keyring.open(path, value, None, *seen)
            else:
                native = _native.Keyring.open(path, None, value, *seen)
            _OPEN[key] = native
    found = bytes(native.id())
    if pinned_id is not None and found != pinned_id:
        raise error("WrongKeyring", f"the keyring at {path} (id {found.hex()}) is not the one this handle was "
                                    f"made from (id {pinned_id.hex()}): the file was replaced by another "
                                    f"keyring; refusing to use it")
    return native


def _reopen(path: str, kind: str, source: SecretSource,
            seen: Tuple[Optional[str], bool] = (None, False), keyring_id: Optional[bytes] = None) -> Keyring:
    # Opened lazily, on first use, once per process.
    return Keyring(_INTERNAL, None, path, (kind, source), seen, pinned_id=keyring_id)
