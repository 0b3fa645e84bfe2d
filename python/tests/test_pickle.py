"""Pickled references pin what the pickling process used: the keyring
(its id, at an absolute path) and, for field ciphers, the key version."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from pathlib import Path
from typing import Any, Callable, List, Tuple

import pytest

import strongroom
from conftest import FAST, PASSPHRASE


def test_a_relative_keyring_path_is_absolute_in_the_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SR_PICKLE_PASS", PASSPHRASE)
    monkeypatch.chdir(tmp_path)
    strongroom.Keyring.create("rel.srk", PASSPHRASE, kdf=FAST).close()
    ring = strongroom.Keyring.open("rel.srk", strongroom.EnvSecret("SR_PICKLE_PASS"))
    blob = pickle.dumps(ring)
    assert str(tmp_path / "rel.srk").encode() in blob
    # Another working directory (a worker's) still finds the file.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert pickle.loads(blob).id == ring.id


def test_a_different_keyring_at_the_same_path_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SR_PICKLE_PASS", PASSPHRASE)
    path = tmp_path / "swap.srk"
    strongroom.Keyring.create(path, PASSPHRASE, kdf=FAST).close()
    ring = strongroom.Keyring.open(path, strongroom.EnvSecret("SR_PICKLE_PASS"))
    cipher = strongroom.FieldCipher(ring, "t", "c", str)
    ring_blob, cipher_blob = pickle.dumps(ring), pickle.dumps(cipher)
    # Replaced by another keyring with the same passphrase.
    path.unlink()
    strongroom.Keyring.create(path, PASSPHRASE, kdf=FAST).close()
    with pytest.raises(strongroom.KeyAccessError) as info:
        _ = pickle.loads(ring_blob).id
    assert info.value.name == "WrongKeyring" and str(path) in str(info.value)
    with pytest.raises(strongroom.KeyAccessError) as info:
        pickle.loads(cipher_blob).encrypt("x")
    assert info.value.name == "WrongKeyring"


def test_a_cipher_encrypts_under_the_version_pinned_when_pickled(env_keyring: strongroom.Keyring) -> None:
    cipher = strongroom.FieldCipher(env_keyring, "t", "c", str, blind_index=16)
    assert cipher.primary_version == 1
    blob = pickle.dumps(cipher)
    token = cipher.encrypt("before")
    env_keyring.add_key(promote=True)  # rotated while the job runs
    worker = pickle.loads(blob)
    # Decrypting needs no particular version ...
    assert worker.decrypt(token) == "before"
    # ... but encrypting or indexing under version 2 would mix versions in one job.
    calls: List[Callable[[], object]] = [lambda: worker.encrypt("x"), lambda: worker.index("x"),
                                         lambda: worker.encrypt_many(["x"]), lambda: worker.index_many(["x"])]
    for call in calls:
        with pytest.raises(strongroom.KeyAccessError, match="pinned to key version 1") as info:
            call()
        assert info.value.name == "KeyVersionUnusable"
        assert "decrypt-only" in str(info.value) and env_keyring.path in str(info.value)


def test_a_worker_with_a_stale_keyring_reloads_to_the_pinned_version(env_keyring: strongroom.Keyring) -> None:
    # The worker process opened the keyring before the rotation ...
    stale = pickle.loads(pickle.dumps(env_keyring))
    assert stale.primary_version == 1
    env_keyring.add_key(promote=True)
    # ... and then receives a cipher made after it: it reads the file again.
    blob = pickle.dumps(strongroom.FieldCipher(env_keyring, "t", "c", str))
    worker = pickle.loads(blob)
    token = worker.encrypt("after")
    assert worker.primary_version == 2
    fresh = strongroom.FieldCipher(env_keyring, "t", "c", str)
    assert not fresh.needs_rewrap(token) and fresh.decrypt(token) == "after"


def _encrypt_in_worker(args: Tuple[Any, List[str]]) -> Tuple[int, List[Any]]:
    cipher, values = args
    return cipher.primary_version, cipher.encrypt_many(values)


def test_spawned_workers_use_the_pinned_version(env_keyring: strongroom.Keyring) -> None:
    if "spawn" not in multiprocessing.get_all_start_methods():
        pytest.skip("no spawn start method here")
    cipher = strongroom.FieldCipher(env_keyring, "t", "c", str)
    env_keyring.add_key(promote=False)  # a new version that is not primary
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_encrypt_in_worker, [(cipher, ["a"]), (cipher, ["b"])])
    assert [v for v, _ in results] == [1, 1]
    assert [cipher.decrypt(t) for _, tokens in results for t in tokens] == ["a", "b"]
    assert os.environ["SR_TEST_PASSPHRASE"] not in repr(results)


def test_file_secrets_are_absolute_and_descriptor_keyrings_do_not_pickle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    source = strongroom.FileSecret("pass.txt")
    assert source.path == str(tmp_path / "pass.txt") and source.read() == PASSPHRASE
    strongroom.Keyring.create("fd.srk", PASSPHRASE, kdf=FAST).close()
    r, w = os.pipe()
    os.write(w, PASSPHRASE.encode() + b"\n")
    os.close(w)
    try:
        ring = strongroom.Keyring.open("fd.srk", strongroom.FdSecret(r))
    finally:
        os.close(r)
    with pytest.raises(TypeError, match="file descriptor"):
        pickle.dumps(ring)
    # Too long a secret is refused by the core's rule (64 KiB).
    (tmp_path / "long.txt").write_bytes(b"a" * (64 * 1024 + 1))
    with pytest.raises(strongroom.UsageError, match="longer than"):
        strongroom.FileSecret("long.txt").read()
