"""The Argon2id budget (a stanza dearer than the budget is not tried) and
unlinkable field batches, through the Python package."""

from __future__ import annotations

from pathlib import Path

import pytest

import strongroom
from strongroom import _errors

K16 = strongroom.KdfParams(memory_kib=16 * 1024, iterations=1, parallelism=1)
SMALL = strongroom.KdfBudget(max_memory_kib=8 * 1024, max_passes=4)
ENOUGH = strongroom.KdfBudget(max_memory_kib=16 * 1024, max_passes=1)


def test_the_budget_error_is_a_usage_error() -> None:
    assert _errors.class_for(220) is strongroom.KdfBudgetExceededError
    assert issubclass(strongroom.KdfBudgetExceededError, strongroom.UsageError)
    assert strongroom.KdfBudget() == strongroom.KdfBudget(1024 * 1024, 6)
    assert strongroom.KdfBudget.unlimited().max_memory_kib == 2 * 1024 * 1024


def test_files_beyond_the_budget_are_refused_and_open_with_a_larger_one(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"attack at dawn")
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", passphrase="pw", kdf=K16)
    with pytest.raises(strongroom.KdfBudgetExceededError) as info:
        strongroom.decrypt_file(tmp_path / "enc", tmp_path / "out", passphrase="pw", kdf_budget=SMALL)
    assert (info.value.code, info.value.name) == (220, "KdfBudgetExceeded")
    assert "16 MiB and 1 passes" in str(info.value)
    assert not (tmp_path / "out").exists()
    strongroom.decrypt_file(tmp_path / "enc", tmp_path / "out", passphrase="pw", kdf_budget=ENOUGH)
    assert (tmp_path / "out").read_bytes() == b"attack at dawn"

    data = (tmp_path / "enc").read_bytes()
    with pytest.raises(strongroom.KdfBudgetExceededError):
        strongroom.decrypt_bytes(data, passphrase="pw", kdf_budget=SMALL)
    assert strongroom.decrypt_bytes(data, passphrase="pw", kdf_budget=ENOUGH) == b"attack at dawn"
    assert strongroom.decrypt_bytes(data, passphrase="pw") == b"attack at dawn"
    with pytest.raises(strongroom.KdfBudgetExceededError):
        strongroom.open(tmp_path / "enc", passphrase="pw", kdf_budget=SMALL)
    with strongroom.open(tmp_path / "enc", passphrase="pw", kdf_budget=ENOUGH) as f:
        assert f.read() == b"attack at dawn"
    with pytest.raises(strongroom.KdfBudgetExceededError):
        strongroom.rewrap_file(tmp_path / "enc", passphrase="pw", add_passphrases=["x"], kdf=K16, kdf_budget=SMALL)
    with pytest.raises(strongroom.KdfBudgetExceededError):
        strongroom.rekey_file(tmp_path / "enc", passphrase="pw", to_passphrases=["x"], kdf=K16, kdf_budget=SMALL)
    assert (tmp_path / "enc").read_bytes() == data


def test_keyrings_beyond_the_budget_are_refused_and_open_with_a_larger_one(tmp_path: Path) -> None:
    strongroom.Keyring.create(tmp_path / "k.srk", "pw", kdf=K16).close()
    with pytest.raises(strongroom.KdfBudgetExceededError):
        strongroom.Keyring.open(tmp_path / "k.srk", "pw", kdf_budget=SMALL)
    strongroom.Keyring.open(tmp_path / "k.srk", "pw", kdf_budget=ENOUGH).close()
    strongroom.Keyring.open(tmp_path / "k.srk", "pw").close()


def test_unlinkable_batches(keyring: strongroom.Keyring) -> None:
    values = [b"x" * 32 for _ in range(5)]
    shared = strongroom.FieldCipher(keyring, "t", "c", bytes)
    unlinkable = strongroom.FieldCipher(keyring, "t", "c", bytes, unlinkable_batches=True)
    assert unlinkable.unlinkable_batches and not shared.unlinkable_batches
    a = [t for t in shared.encrypt_many(values) if t is not None]
    b = [t for t in unlinkable.encrypt_many(values) if t is not None]
    assert len(a) == len(b) == 5
    assert len({bytes(t[6:18]) for t in a}) == 1
    assert len({bytes(t[6:18]) for t in b}) == 5
    for t in a + b:
        assert shared.decrypt(t) == b"x" * 32
        assert unlinkable.decrypt(t) == b"x" * 32
    with pytest.raises(strongroom.UsageError):
        strongroom.FieldCipher(keyring, "t", "c", bytes, deterministic=True, unlinkable_batches=True)
