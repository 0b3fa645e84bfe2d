"""Keyrings: secrets in every accepted form, versions, protectors, threads,
pickling as a reference."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest

import strongroom
from conftest import FAST, PASSPHRASE


def test_open_with_every_secret_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.srk"
    strongroom.Keyring.create(path, bytearray(PASSPHRASE.encode()), kdf=FAST).close()
    monkeypatch.setenv("SR_PW", PASSPHRASE)
    secret_file = tmp_path / "pw.txt"
    secret_file.write_text(PASSPHRASE + "\n")
    forms: list[strongroom.Keyring] = []
    for secret in (PASSPHRASE, PASSPHRASE.encode(), bytearray(PASSPHRASE.encode()), lambda: PASSPHRASE,
                   strongroom.EnvSecret("SR_PW"), strongroom.FileSecret(str(secret_file))):
        with strongroom.Keyring.open(path, secret) as kr:
            assert kr.primary_version == 1
            forms.append(kr)
    assert all(kr.closed for kr in forms)


def test_wrong_passphrase_is_a_key_error(tmp_path: Path) -> None:
    path = tmp_path / "k.srk"
    strongroom.Keyring.create(path, PASSPHRASE, kdf=FAST).close()
    with pytest.raises(strongroom.KeyAccessError) as info:
        strongroom.Keyring.open(path, "not it")
    assert (info.value.code, info.value.name) == (602, "WrongPassphrase")
    with pytest.raises(strongroom.UsageError) as usage:
        strongroom.Keyring.open(path, b"\xff\xfe")
    assert usage.value.name == "InvalidUtf8"


def test_create_refuses_an_existing_keyring(tmp_path: Path) -> None:
    path = tmp_path / "k.srk"
    strongroom.Keyring.create(path, PASSPHRASE, kdf=FAST).close()
    with pytest.raises(strongroom.ConflictError) as info:
        strongroom.Keyring.create(path, PASSPHRASE, kdf=FAST)
    assert info.value.name == "AlreadyExists"


def test_kdf_below_the_floor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(strongroom.KdfLimitsError) as info:
        strongroom.Keyring.create(tmp_path / "k.srk", PASSPHRASE, kdf=strongroom.KdfParams(1024, 1, 1))
    assert info.value.code == 407


def test_versions_recovery_key_and_rekey(keyring: strongroom.Keyring) -> None:
    assert keyring.add_key(promote=False) == 2
    assert keyring.primary_version == 1
    keyring.promote(2)
    assert [(v.version, v.status) for v in keyring.versions()] == [(1, "decrypt-only"), (2, "primary")]
    pid, text = keyring.add_recovery_key()
    kinds = {p.id: p.kind for p in keyring.protectors()}
    assert kinds[pid] == "recovery-key"
    keyring.rekey()
    with strongroom.Keyring.open(keyring.path, recovery_key=text) as again:
        assert again.primary_version == 2
        assert again.id == keyring.id == strongroom.Keyring.peek_id(keyring.path)
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.Keyring.open(keyring.path, recovery_key=text[:-4] + ("AAAA" if text[-4:] != "AAAA" else "BBBB"))


def test_repr_and_errors_hold_no_secret(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    assert PASSPHRASE not in repr(keyring)
    try:
        strongroom.Keyring.open(keyring.path, PASSPHRASE + "x")
    except strongroom.StrongroomError as e:
        assert PASSPHRASE not in str(e) and PASSPHRASE not in repr(e)


def test_closed_keyring_refuses_use(tmp_path: Path) -> None:
    kr = strongroom.Keyring.create(tmp_path / "k.srk", PASSPHRASE, kdf=FAST)
    kr.close()
    with pytest.raises(strongroom.UsageError):
        _ = kr.primary_version


def test_one_keyring_shared_by_threads(keyring: strongroom.Keyring) -> None:
    cipher = strongroom.FieldCipher(keyring, "t", "c", str)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(200):
                assert cipher.decrypt(cipher.encrypt(f"v{i}")) == f"v{i}"
                assert keyring.primary_version >= 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    keyring.add_key(promote=False)
    for t in threads:
        t.join()
    assert not errors


def test_literal_secret_keyring_refuses_pickling(keyring: strongroom.Keyring) -> None:
    with pytest.raises(TypeError, match="SecretSource"):
        pickle.dumps(keyring)


def test_pickle_is_a_reference_without_key_bytes(env_keyring: strongroom.Keyring) -> None:
    data = pickle.dumps(env_keyring)
    assert PASSPHRASE.encode() not in data
    assert b"SR_TEST_PASSPHRASE" in data and env_keyring.path.encode() in data
    back = pickle.loads(data)
    assert back.id == env_keyring.id
    # A cipher pickles as its keyring reference plus the column settings.
    cipher = strongroom.FieldCipher(env_keyring, "users", "email", str)
    token = cipher.encrypt("a@b.c", row=b"r1")
    blob = pickle.dumps(cipher)
    assert PASSPHRASE.encode() not in blob
    assert pickle.loads(blob).decrypt(token, row=b"r1") == "a@b.c"


def test_unpickled_handles_open_once_per_process(env_keyring: strongroom.Keyring) -> None:
    data = pickle.dumps(env_keyring)
    a, b = pickle.loads(data), pickle.loads(data)
    assert a._native is b._native
