"""I/O failures are OSErrors that name their file (errno, filename, message)."""

from __future__ import annotations

import errno
import pickle
from pathlib import Path

import pytest

import strongroom
from conftest import FAST, PASSPHRASE


def check_not_found(exc: BaseException, path: Path) -> None:
    assert isinstance(exc, FileNotFoundError)
    assert isinstance(exc, strongroom.StrongroomIOError)
    assert (exc.code, exc.name) == (302, "NotFound")
    assert exc.errno == errno.ENOENT
    assert exc.filename == str(path)
    assert str(path) in str(exc)


def test_opening_a_missing_keyring_is_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "missing.srk"
    with pytest.raises(FileNotFoundError) as info:
        strongroom.Keyring.open(missing, PASSPHRASE)
    check_not_found(info.value, missing)


def test_whole_file_calls_name_the_missing_source(tmp_path: Path, keyring: strongroom.Keyring) -> None:
    missing = tmp_path / "in.tar"
    with pytest.raises(FileNotFoundError) as info:
        strongroom.encrypt_file(missing, tmp_path / "out.srf", keyring=keyring)
    check_not_found(info.value, missing)
    with pytest.raises(FileNotFoundError) as info:
        strongroom.decrypt_file(missing, tmp_path / "out", keyring=keyring)
    check_not_found(info.value, missing)
    with pytest.raises(FileNotFoundError) as info:
        strongroom.open(missing, "rb", keyring=keyring)
    check_not_found(info.value, missing)
    assert not (tmp_path / "out.srf").exists() and not (tmp_path / "out").exists()


def test_a_destination_in_a_missing_folder_names_the_folder(tmp_path: Path, keyring: strongroom.Keyring) -> None:
    src = tmp_path / "a.txt"
    src.write_bytes(b"data")
    folder = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError) as info:
        strongroom.encrypt_file(src, folder / "a.srf", keyring=keyring)
    assert info.value.filename == str(folder)
    assert info.value.errno == errno.ENOENT


def test_the_builtin_subclass_follows_errno(tmp_path: Path, keyring: strongroom.Keyring) -> None:
    # Reading a folder as a file: EISDIR, a row-301 error.
    with pytest.raises(IsADirectoryError) as info:
        strongroom.encrypt_file(tmp_path, tmp_path / "x.srf", keyring=keyring)
    exc = info.value
    assert isinstance(exc, strongroom.StrongroomIOError)
    assert (exc.code, exc.name, exc.errno, exc.filename) == (301, "Io", errno.EISDIR, str(tmp_path))


def test_io_errors_pickle_with_their_class_errno_and_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.srk"
    with pytest.raises(FileNotFoundError) as info:
        strongroom.Keyring.open(missing, PASSPHRASE)
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is type(info.value)
    check_not_found(back, missing)


def test_a_keyring_created_in_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        strongroom.Keyring.create(tmp_path / "nope" / "k.srk", PASSPHRASE, kdf=FAST)
    assert info.value.filename is not None and "nope" in info.value.filename
