"""Encrypted tar archives of a directory, extracted safely."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

import strongroom


def make_tree(root: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "top.txt").write_text("top")
    (root / "a" / "b" / "deep.bin").write_bytes(bytes(range(256)) * 300)
    (root / "a" / "link").symlink_to("b/deep.bin")


def test_directory_round_trip(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    strongroom.encrypt_directory(tmp_path / "src", tmp_path / "backup.tar.srf", keyring=keyring)
    names = strongroom.extract_archive(tmp_path / "backup.tar.srf", tmp_path / "out", keyring=keyring)
    assert names == ["a", "top.txt"]
    assert (tmp_path / "out" / "top.txt").read_text() == "top"
    assert (tmp_path / "out" / "a" / "b" / "deep.bin").read_bytes() == bytes(range(256)) * 300
    assert (tmp_path / "out" / "a" / "link").is_symlink()
    with pytest.raises(strongroom.ConflictError):
        strongroom.extract_archive(tmp_path / "backup.tar.srf", tmp_path / "out", keyring=keyring)


def test_arcname_stores_the_folder_as_tar_does(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    make_tree(tmp_path / "project")
    strongroom.encrypt_directory(tmp_path / "project", tmp_path / "p.tar.srf", keyring=keyring, arcname="project")
    with strongroom.open(tmp_path / "p.tar.srf", "rb", keyring=keyring) as f, tarfile.open(fileobj=f) as tar:
        names = tar.getnames()
    assert names[0] == "project" and "project/a/b/deep.bin" in names and "top.txt" not in names
    assert strongroom.extract_archive(tmp_path / "p.tar.srf", tmp_path / "out", keyring=keyring) == ["project"]
    assert (tmp_path / "out" / "project" / "top.txt").read_text() == "top"
    with pytest.raises(strongroom.UsageError):
        strongroom.encrypt_directory(tmp_path / "project", tmp_path / "q.tar.srf", keyring=keyring, arcname="../x")


def write_evil(path: Path, keyring: strongroom.Keyring, member: tarfile.TarInfo) -> None:
    with strongroom.open(path, "wb", keyring=keyring) as f:
        with tarfile.open(fileobj=f, mode="w|") as tar:
            ok = tarfile.TarInfo("fine.txt")
            ok.size = 2
            tar.addfile(ok, io.BytesIO(b"ok"))
            if member.isreg():
                tar.addfile(member, io.BytesIO(b"x" * member.size))
            else:
                tar.addfile(member)


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "escaping-symlink", "device"])
def test_unsafe_members_are_refused(keyring: strongroom.Keyring, tmp_path: Path, kind: str) -> None:
    if kind == "absolute":
        m = tarfile.TarInfo(str(tmp_path / "pwned"))
        m.size = 1
    elif kind == "dotdot":
        m = tarfile.TarInfo("../pwned")
        m.size = 1
    elif kind == "escaping-symlink":
        m = tarfile.TarInfo("link")
        m.type = tarfile.SYMTYPE
        m.linkname = "../../etc/passwd"
    else:
        m = tarfile.TarInfo("dev")
        m.type = tarfile.CHRTYPE
        m.devmajor, m.devminor = 1, 3
    write_evil(tmp_path / "evil.srf", keyring, m)
    if kind == "absolute":
        # The data filter strips the leading slash: the member lands inside.
        strongroom.extract_archive(tmp_path / "evil.srf", tmp_path / "out", keyring=keyring)
        assert not (tmp_path / "pwned").exists()
        assert (tmp_path / "out" / str(tmp_path).lstrip("/") / "pwned").exists()
        return
    with pytest.raises(tarfile.FilterError):
        strongroom.extract_archive(tmp_path / "evil.srf", tmp_path / "out", keyring=keyring)
    assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "pwned").exists()


def test_tampered_archive_extracts_nothing(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    strongroom.encrypt_directory(tmp_path / "src", tmp_path / "b.srf", keyring=keyring)
    raw = bytearray((tmp_path / "b.srf").read_bytes())
    raw[-40] ^= 1
    (tmp_path / "bad.srf").write_bytes(bytes(raw))
    with pytest.raises(strongroom.AuthenticationError):
        strongroom.extract_archive(tmp_path / "bad.srf", tmp_path / "out", keyring=keyring)
    assert list((tmp_path / "out").iterdir()) == []
