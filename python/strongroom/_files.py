"""Encrypted files: whole files, file objects, archives."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Callable, List, Literal, Optional, Sequence, Union, overload

from . import _native
from ._errors import error
from ._keyring import KdfBudget, KdfParams, Keyring, PathLike, Secret, budget_tuple, kdf_tuple, resolve

__all__ = [
    "encrypt_file",
    "decrypt_file",
    "encrypt_bytes",
    "decrypt_bytes",
    "inspect",
    "FileInfo",
    "StanzaInfo",
    "rekey_file",
    "rewrap_file",
    "open",
    "EncryptedReader",
    "EncryptedWriter",
    "encrypt_directory",
    "extract_archive",
]

#: ``progress(done, total)``: bytes done so far and the total.
Progress = Callable[[int, int], object]

_BUFFER = 1 << 20


def _secrets(passphrase: Optional[Secret], passphrases: Sequence[Secret]) -> List[Union[str, bytes, bytearray]]:
    out = [resolve(p) for p in passphrases]
    if passphrase is not None:
        out.insert(0, resolve(passphrase))
    return out


def _native_ring(keyring: Optional[Keyring]) -> Optional[_native.Keyring]:
    return None if keyring is None else keyring._native


def encrypt_file(src: PathLike, dst: PathLike, *, keyring: Optional[Keyring] = None,
                 passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = (),
                 kdf: Optional[KdfParams] = None, overwrite: bool = False,
                 progress: Optional[Progress] = None) -> int:
    """Encrypts the file ``src`` to ``dst`` for the keyring's primary key
    and/or passphrases, on all cores with the GIL released. ``dst``
    appears only when complete; on any error, or Ctrl-C
    (``KeyboardInterrupt``), or an exception raised by ``progress``, it
    does not exist. Returns the plaintext length."""
    return _native.encrypt_file(os.fspath(src), os.fspath(dst), _native_ring(keyring),
                                _secrets(passphrase, passphrases), kdf_tuple(kdf), overwrite, progress)


def decrypt_file(src: PathLike, dst: PathLike, *, keyring: Optional[Keyring] = None,
                 passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = (),
                 overwrite: bool = False, progress: Optional[Progress] = None,
                 kdf_budget: Optional[KdfBudget] = None) -> int:
    """Decrypts ``src`` to ``dst``. ``dst`` appears only once the whole
    file authenticated; on any error nothing is left. Returns the plaintext
    length. ``kdf_budget`` (default :class:`KdfBudget()`) bounds the
    Argon2id work spent on the file's passphrase stanzas; raise it only for
    a file you trust."""
    return _native.decrypt_file(os.fspath(src), os.fspath(dst), _native_ring(keyring),
                                _secrets(passphrase, passphrases), overwrite, progress, budget_tuple(kdf_budget))


@dataclass(frozen=True)
class StanzaInfo:
    """One recipient of a file: ``kind`` is ``"keyring"`` (with
    ``keyring_id`` and ``key_version``), ``"passphrase"`` (with its
    Argon2id ``kdf``) or ``"unknown"`` (a kind this version does not use)."""

    kind: str
    keyring_id: Optional[bytes] = None
    key_version: Optional[int] = None
    kdf: Optional[KdfParams] = None


@dataclass(frozen=True)
class FileInfo:
    """What an encrypted file's header says. Nothing here is
    authenticated: that needs the file key."""

    format_version: int
    suite: str
    file_id: bytes
    header_len: int
    payload_len: Optional[int]
    #: The plaintext length the payload length implies (``None`` for an
    #: impossible length: a truncated file).
    plaintext_len: Optional[int]
    stanzas: List[StanzaInfo]


def inspect(path: PathLike) -> FileInfo:
    """Reads the header of the encrypted file at ``path`` without any key:
    who can open it (keyring id and key version, passphrase with its
    Argon2id cost) and its lengths."""
    version, suite, file_id, header_len, payload_len, plaintext_len, stanzas = _native.inspect(os.fspath(path))
    return FileInfo(version, suite, bytes(file_id), header_len, payload_len, plaintext_len, [
        StanzaInfo(kind, None if kid is None else bytes(kid), kv, None if kdf is None else KdfParams(*kdf))
        for kind, kid, kv, kdf in stanzas
    ])


#: What :func:`encrypt_bytes` and :func:`decrypt_bytes` take.
BytesLike = Union[bytes, bytearray, memoryview]


def encrypt_bytes(data: BytesLike, *, keyring: Optional[Keyring] = None, passphrase: Optional[Secret] = None,
                  passphrases: Sequence[Secret] = (), kdf: Optional[KdfParams] = None) -> bytes:
    """Encrypts data already in memory into a complete encrypted file (the
    format of :func:`encrypt_file`: it decrypts with :func:`decrypt_file`,
    ``strongroom.open`` and the command line), for the keyring's primary
    key and/or passphrases, on all cores with the GIL released."""
    return _native.encrypt_bytes(_as_bytes(data), _native_ring(keyring), _secrets(passphrase, passphrases),
                                 kdf_tuple(kdf))


def decrypt_bytes(data: BytesLike, *, keyring: Optional[Keyring] = None, passphrase: Optional[Secret] = None,
                  passphrases: Sequence[Secret] = (), kdf_budget: Optional[KdfBudget] = None) -> bytes:
    """Decrypts a complete encrypted file held in memory. The plaintext is
    returned only once the whole file, final chunk included,
    authenticated; a damaged or truncated file raises and returns
    nothing. ``kdf_budget`` as for :func:`decrypt_file`."""
    return _native.decrypt_bytes(_as_bytes(data), _native_ring(keyring), _secrets(passphrase, passphrases),
                                 budget_tuple(kdf_budget))


def _as_bytes(data: BytesLike) -> Union[bytes, bytearray]:
    if isinstance(data, (bytes, bytearray)):
        return data
    if isinstance(data, memoryview):
        return data.tobytes()
    raise error("InvalidArgument", f"data is bytes, bytearray or memoryview, not {type(data).__name__}")


def rekey_file(src: PathLike, dst: Optional[PathLike] = None, *, keyring: Optional[Keyring] = None,
               passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = (),
               to_keyring: Optional[Keyring] = None, to_passphrases: Sequence[Secret] = (),
               kdf: Optional[KdfParams] = None, overwrite: bool = False,
               progress: Optional[Progress] = None, kdf_budget: Optional[KdfBudget] = None) -> int:
    """Re-encrypts ``src`` under a new file key for exactly ``to_keyring``
    (its primary key) and/or ``to_passphrases``, after opening it with
    ``keyring`` and/or ``passphrase``/``passphrases``. With neither
    ``to_keyring`` nor ``to_passphrases``, the new file is for ``keyring``.

    This revokes: no old protector, nor any copy of the old header, opens
    the result. With ``dst`` ``None`` the file is replaced in place
    (atomically, keeping its permission bits); otherwise ``dst`` is written
    (refused if it exists unless ``overwrite``). The result appears only
    once the whole source authenticated; on any error, Ctrl-C or an
    exception from ``progress``, ``src`` is intact and nothing is left.
    Returns the plaintext length."""
    if to_keyring is None and not to_passphrases:
        to_keyring = keyring
    return _native.rekey_file(os.fspath(src), None if dst is None else os.fspath(dst), _native_ring(keyring),
                              _secrets(passphrase, passphrases), _native_ring(to_keyring),
                              [resolve(p) for p in to_passphrases], kdf_tuple(kdf), overwrite, progress,
                              budget_tuple(kdf_budget))


def rewrap_file(path: PathLike, *, keyring: Optional[Keyring] = None, passphrase: Optional[Secret] = None,
                passphrases: Sequence[Secret] = (), to_primary: Optional[Keyring] = None,
                remove_keyrings: bool = False, add_passphrases: Sequence[Secret] = (),
                remove_passphrases: Sequence[Secret] = (), remove_all_passphrases: bool = False,
                kdf: Optional[KdfParams] = None, progress: Optional[Progress] = None,
                kdf_budget: Optional[KdfBudget] = None) -> int:
    """Changes who can open the file at ``path`` without re-encrypting its
    payload, after opening it with ``keyring`` and/or
    ``passphrase``/``passphrases``: ``to_primary`` replaces that keyring's
    stanzas with one for its current primary version (adding it if the file
    had none), ``remove_keyrings`` drops every keyring's stanzas,
    ``add_passphrases`` adds one stanza each (derived with ``kdf``),
    ``remove_passphrases`` drops the stanzas each of them opens (each must
    open one) and ``remove_all_passphrases`` drops them all. The file is
    replaced atomically.

    This revokes nothing: the file key is unchanged, so a copy of the old
    header still opens it with a removed protector; use :func:`rekey_file`
    to revoke. Returns the plaintext length."""
    return _native.rewrap_file(os.fspath(path), _native_ring(keyring), _secrets(passphrase, passphrases),
                               _native_ring(to_primary), remove_keyrings, [resolve(p) for p in add_passphrases],
                               [resolve(p) for p in remove_passphrases], remove_all_passphrases,
                               kdf_tuple(kdf), progress, budget_tuple(kdf_budget))


class _RawReader(io.RawIOBase):
    def __init__(self, native: _native.Reader, name: str) -> None:
        super().__init__()
        self._n = native
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._n.seekable

    def readinto(self, b: Any) -> int:
        # Python 3.11 and later: decrypted straight into the caller's buffer.
        n = self._n.readinto(b)
        if n is not None:
            return n
        view = memoryview(b).cast("B")
        data = self._n.read(len(view))
        n = len(data)
        view[:n] = data
        return n

    def read(self, size: Optional[int] = -1) -> bytes:
        return self._n.read(-1 if size is None else size)

    def readall(self) -> bytes:
        return self._n.read(-1)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self._n.seekable:
            raise io.UnsupportedOperation("this encrypted stream is not seekable")
        return self._n.seek(offset, whence)

    def tell(self) -> int:
        if not self._n.seekable:
            raise io.UnsupportedOperation("this encrypted stream is not seekable")
        return self._n.seek(0, io.SEEK_CUR)

    def close(self) -> None:
        if not self.closed:
            self._n.close()
        super().close()


class _RawWriter(io.RawIOBase):
    def __init__(self, native: _native.Writer, name: str) -> None:
        super().__init__()
        self._n = native
        self.name = name

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return self._n.write(b if isinstance(b, bytes) else bytes(b))

    def abort(self) -> None:
        if not self.closed:
            self._n.abort()
        super().close()

    def close(self) -> None:
        if not self.closed:
            try:
                self._n.finish()
            finally:
                super().close()


# The buffered classes are generic in their raw stream for type checkers
# only (not subscriptable at run time before Python 3.14).
if TYPE_CHECKING:
    _BufferedReader = io.BufferedReader[_RawReader]
    _BufferedWriter = io.BufferedWriter[_RawWriter]
else:
    _BufferedReader = io.BufferedReader
    _BufferedWriter = io.BufferedWriter


class EncryptedReader(_BufferedReader):
    """A decrypting binary file: plaintext is handed out only after its
    chunk authenticated, and the end of the file is reported only once the
    whole file did. Seekable when opened from a path or a seekable file
    object (random access through the chunk index)."""

    def __init__(self, raw: _RawReader, buffer_size: int = _BUFFER) -> None:
        super().__init__(raw, buffer_size)

    def authenticated_length(self) -> int:
        """The plaintext length, after authenticating the final chunk."""
        raw = self.raw
        assert isinstance(raw, _RawReader)
        return raw._n.length()


class EncryptedWriter(_BufferedWriter):
    """An encrypting binary file. :meth:`close` (or leaving a ``with``
    block normally) writes the final chunk; a file at a path appears only
    then. Leaving a ``with`` block by an exception, or dropping the object
    unclosed, abandons the file: a path is never created, and a file object
    holds a truncated file that readers refuse."""

    def __init__(self, raw: _RawWriter, buffer_size: int = _BUFFER) -> None:
        super().__init__(raw, buffer_size)
        self._direct = buffer_size
        self._native_write = raw._n.write

    def write(self, b: Any) -> int:
        # Large bytes objects go straight to the native stream (after what
        # is buffered), saving the copy the buffered path would make.
        if type(b) is bytes and len(b) >= self._direct and not self.closed:
            self.flush()
            return self._native_write(b)
        return super().write(b)

    def abort(self) -> None:
        """Abandons the file (see the class documentation)."""
        raw = self.raw
        assert isinstance(raw, _RawWriter)
        raw.abort()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
            return
        self.close()

    def __del__(self) -> None:
        try:
            if not self.raw.closed:
                self.abort()
        except Exception:
            pass


#: What :func:`open` takes: a path or a binary file object.
FileArg = Union[PathLike, bytes, IO[bytes], io.RawIOBase, io.BufferedIOBase]


@overload
def open(file: FileArg, mode: Literal["rb"] = "rb", *, keyring: Optional[Keyring] = None,
         passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = (),
         kdf: Optional[KdfParams] = None, overwrite: bool = False,
         buffer_size: int = _BUFFER, kdf_budget: Optional[KdfBudget] = None) -> EncryptedReader: ...


@overload
def open(file: FileArg, mode: Literal["wb"], *, keyring: Optional[Keyring] = None,
         passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = (),
         kdf: Optional[KdfParams] = None, overwrite: bool = False,
         buffer_size: int = _BUFFER, kdf_budget: Optional[KdfBudget] = None) -> EncryptedWriter: ...


def open(file: FileArg, mode: str = "rb", *, keyring: Optional[Keyring] = None,
         passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = (),
         kdf: Optional[KdfParams] = None, overwrite: bool = False,
         buffer_size: int = _BUFFER, kdf_budget: Optional[KdfBudget] = None) -> Union[EncryptedReader, EncryptedWriter]:
    """Opens an encrypted file as a binary file object.

    ``file`` is a path or a binary file object. ``"rb"`` returns an
    :class:`EncryptedReader` (seekable for paths and seekable file
    objects), ``"wb"`` an :class:`EncryptedWriter` that encrypts for the
    keyring and/or passphrases. ``"wb"`` on a path refuses an existing file
    unless ``overwrite``. ``kdf_budget`` (``"rb"``) as for
    :func:`decrypt_file`."""
    secrets = _secrets(passphrase, passphrases)
    ring = _native_ring(keyring)
    if mode == "rb":
        if isinstance(file, (str, bytes, os.PathLike)):
            path = os.fspath(file)
            name = path if isinstance(path, str) else path.decode()
            native_r = _native.Reader(name, None, True, ring, secrets, budget_tuple(kdf_budget))
        else:
            seekable = bool(getattr(file, "seekable", lambda: False)())
            name = str(getattr(file, "name", "<stream>"))
            native_r = _native.Reader(None, file, seekable, ring, secrets, budget_tuple(kdf_budget))
        return EncryptedReader(_RawReader(native_r, name), buffer_size)
    if mode == "wb":
        if isinstance(file, (str, bytes, os.PathLike)):
            path = os.fspath(file)
            name = path if isinstance(path, str) else path.decode()
            native_w = _native.Writer(name, None, ring, secrets, kdf_tuple(kdf), overwrite)
        else:
            name = str(getattr(file, "name", "<stream>"))
            native_w = _native.Writer(None, file, ring, secrets, kdf_tuple(kdf), overwrite)
        return EncryptedWriter(_RawWriter(native_w, name), buffer_size)
    raise error("InvalidArgument", f"mode must be 'rb' or 'wb', not {mode!r}")


def encrypt_directory(src_dir: PathLike, dst: PathLike, *, keyring: Optional[Keyring] = None,
                      passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = (),
                      kdf: Optional[KdfParams] = None, overwrite: bool = False,
                      arcname: Optional[str] = None) -> None:
    """Encrypts the directory ``src_dir`` into one encrypted tar file
    ``dst``. ``dst`` appears only when complete.

    By default the directory's entries are at the archive's top level (as
    ``tar -C src_dir -c .`` stores them, without the ``./``), so
    :func:`extract_archive` puts them straight into its destination. With
    ``arcname`` they are under that folder name instead: ``arcname=
    os.path.basename(src_dir)`` stores ``project/...`` as ``tar -c
    project/`` does."""
    src = os.fspath(src_dir)
    if not os.path.isdir(src):
        raise error("InvalidArgument", f"{src} is not a directory")
    if arcname is not None and (not arcname or os.path.isabs(arcname) or ".." in arcname.split("/")):
        raise error("InvalidArgument", "arcname is a relative folder name without '..'")
    with open(dst, "wb", keyring=keyring, passphrase=passphrase, passphrases=passphrases,
              kdf=kdf, overwrite=overwrite) as f:
        with tarfile.open(fileobj=f, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            if arcname is not None:
                tar.add(src, arcname=arcname, recursive=False)
            for entry in sorted(os.listdir(src)):
                name = entry if arcname is None else f"{arcname}/{entry}"
                tar.add(os.path.join(src, entry), arcname=name)


def extract_archive(src: PathLike, dest_dir: PathLike, *, keyring: Optional[Keyring] = None,
                    passphrase: Optional[Secret] = None, passphrases: Sequence[Secret] = ()) -> List[str]:
    """Extracts an encrypted tar file into ``dest_dir`` safely, with
    tarfile's ``data`` filter (no absolute paths, no links or paths that
    escape, no devices, no setuid bits). Nothing appears in ``dest_dir``
    unless the whole archive authenticated and extracted; an entry that
    already exists there is refused. Returns the names extracted at the top
    level."""
    dest = os.fspath(dest_dir)
    os.makedirs(dest, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".strongroom-extract-", dir=dest)
    try:
        with open(src, "rb", keyring=keyring, passphrase=passphrase, passphrases=passphrases) as f:
            with tarfile.open(fileobj=f, mode="r|") as tar:
                tar.extractall(staging, filter="data")
            # Reading to the end authenticates the final chunk.
            while f.read(_BUFFER):
                pass
        names = sorted(os.listdir(staging))
        for name in names:
            if os.path.lexists(os.path.join(dest, name)):
                raise error("AlreadyExists", f"{name} already exists in the destination; refusing to overwrite it")
        for name in names:
            os.rename(os.path.join(staging, name), os.path.join(dest, name))
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)
