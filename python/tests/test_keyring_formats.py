"""Keyring formats and revocation from Python: the specification's worked
examples (format 3 and format 2), the upgrade, removals that rotate,
re-enrollment and the record of keyrings seen, each failure with its
specific exception, code and name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import strongroom
from conftest import FAST, PASSPHRASE, TESTDATA

EXAMPLE_RK = "SRRK-G20R5-0W4GP-38F24-9HA5R-S3CEH-Y8934-MKJJA-SD5WR-K6D9Q-74XKT-FSGD0"


def example(tmp_path: Path, name: str) -> Path:
    """The hex example `name` of testdata/keyring written as a keyring file."""
    text = (TESTDATA / "keyring" / name).read_text()
    path = tmp_path / name.replace(".hex", ".srk")
    path.write_bytes(bytes.fromhex("".join(text.split())))
    return path


def test_the_format_3_example_opens_with_either_secret(tmp_path: Path) -> None:
    path = example(tmp_path, "example.hex")
    with strongroom.Keyring.open(path, PASSPHRASE) as kr:
        assert (kr.format_version, kr.primary_version, kr.generation) == (3, 4, 5)
        assert kr.id == bytes(range(0x40, 0x50))
        assert [(p.id, p.kind, p.legacy) for p in kr.protectors()] == [
            (1, "passphrase", False),
            (2, "recovery-key", False),
        ]
        assert kr.unlocked_by == 1
    with strongroom.Keyring.open(path, recovery_key=EXAMPLE_RK) as kr:
        assert kr.unlocked_by == 2
        assert [v.status for v in kr.versions()] == ["destroyed", "disabled", "decrypt-only", "primary"]


def test_a_format_2_keyring_decrypts_but_must_be_upgraded_to_encrypt(tmp_path: Path) -> None:
    path = example(tmp_path, "example-v2.hex")
    before = path.read_bytes()
    src = tmp_path / "plain.txt"
    src.write_bytes(b"attack at dawn")
    with strongroom.Keyring.open(path, PASSPHRASE) as kr:
        assert kr.format_version == 2
        assert all(p.legacy for p in kr.protectors())
        with pytest.raises(strongroom.ConflictError) as info:
            strongroom.encrypt_file(src, tmp_path / "plain.srf", keyring=kr)
        assert (info.value.code, info.value.name) == (710, "KeyringNeedsUpgrade")
        assert not (tmp_path / "plain.srf").exists()
        with pytest.raises(strongroom.ConflictError) as info:
            kr.add_key()
        assert info.value.name == "KeyringNeedsUpgrade"
        with pytest.raises(strongroom.ConflictError) as info:
            kr.upgrade()
        assert (info.value.code, info.value.name) == (704, "ProtectorsNeedUpgrade")
        assert "protector(s) 2" in info.value.message
        with pytest.raises(strongroom.KeyAccessError) as wrong:
            kr.upgrade(passphrases=["not a protector"])
        assert wrong.value.name == "WrongPassphrase"
        assert path.read_bytes() == before
        done = kr.upgrade(recovery_keys=[EXAMPLE_RK])
        assert done == strongroom.Upgrade(from_format=2, upgraded=True, removed=[], new_primary=5)
        assert kr.format_version == 3
        strongroom.encrypt_file(src, tmp_path / "plain.srf", keyring=kr)
        assert kr.upgrade() == strongroom.Upgrade(from_format=3, upgraded=False, removed=[], new_primary=None)
    with strongroom.Keyring.open(path, recovery_key=EXAMPLE_RK) as again:
        assert again.primary_version == 5


def test_removal_rotates_unless_asked_not_to(keyring: strongroom.Keyring) -> None:
    keyring.add_passphrase("second", kdf=FAST)
    keyring.add_passphrase("third", kdf=FAST)
    revoked = keyring.remove_protectors([3])
    assert revoked == strongroom.Revocation(removed=[3], new_primary=2, to_reenroll=[2])
    assert keyring.primary_version == 2
    kept = keyring.remove_protectors([2], rotate=False)
    assert kept == strongroom.Revocation(removed=[2], new_primary=None, to_reenroll=[])
    assert keyring.primary_version == 2
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.Keyring.open(keyring.path, "third")
    with pytest.raises(strongroom.UsageError) as info:
        keyring.remove_protectors([1])
    assert info.value.name == "InvalidArgument"
    pid, text, nothing = keyring.replace_recovery_key_with()
    assert nothing is None
    newer, _, revocation = keyring.replace_recovery_key_with(rotate=False)
    assert revocation == strongroom.Revocation(removed=[pid], new_primary=None, to_reenroll=[])
    assert newer > pid
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.Keyring.open(keyring.path, recovery_key=text)


def test_reenroll_gives_fresh_values(keyring: strongroom.Keyring) -> None:
    keyring.add_passphrase("second", kdf=FAST)
    _, text = keyring.add_recovery_key()
    assert keyring.remove_protectors([3]).to_reenroll == [2]
    done = keyring.reenroll(passphrases=["second"])
    assert done == strongroom.Reenrollment(reenrolled=[1, 2], unchanged=[])
    with pytest.raises(strongroom.KeyAccessError) as info:
        keyring.reenroll(passphrases=["nobody"])
    assert info.value.name == "WrongPassphrase"
    with pytest.raises(strongroom.KeyAccessError) as info:
        keyring.reenroll(recovery_keys=[text])
    assert info.value.name == "WrongRecoveryKey"
    with strongroom.Keyring.open(keyring.path, "second") as other:
        assert other.primary_version == 2


def test_the_record_of_keyrings_seen_refuses_rollback(tmp_path: Path) -> None:
    record = tmp_path / "state" / "keyrings-seen"
    path = tmp_path / "k.srk"
    with strongroom.Keyring.create(path, PASSPHRASE, kdf=FAST, seen_record=record) as kr:
        assert record.read_text().endswith(f"{kr.id.hex()} 3 1\n")
        shutil.copy(path, tmp_path / "old.srk")
        kr.add_key()
    shutil.copy(tmp_path / "old.srk", path)
    with pytest.raises(strongroom.AuthenticationError) as info:
        strongroom.Keyring.open(path, PASSPHRASE, seen_record=record)
    assert (info.value.code, info.value.name) == (510, "KeyringRolledBack")
    # Without the record the library opens it (opt-in) ...
    with strongroom.Keyring.open(path, PASSPHRASE) as kr:
        # ... and a handle given the record later checks it too.
        with pytest.raises(strongroom.AuthenticationError) as info:
            kr.use_seen_record(record)
        assert info.value.name == "KeyringRolledBack"


def test_the_record_of_keyrings_seen_refuses_downgrade(tmp_path: Path) -> None:
    record = tmp_path / "seen"
    v3 = example(tmp_path, "example.hex")
    v2 = example(tmp_path, "example-v2.hex")
    strongroom.Keyring.open(v2, PASSPHRASE, seen_record=record).close()  # not recorded
    strongroom.Keyring.open(v3, PASSPHRASE, seen_record=record).close()
    with pytest.raises(strongroom.AuthenticationError) as info:
        strongroom.Keyring.open(v2, recovery_key=EXAMPLE_RK, seen_record=record)
    assert (info.value.code, info.value.name) == (511, "KeyringDowngraded")


def test_the_default_record_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_STATE_DIR", str(tmp_path / "state"))
    with strongroom.Keyring.create(tmp_path / "k.srk", PASSPHRASE, kdf=FAST, seen_record=True) as kr:
        assert kr.id.hex() in (tmp_path / "state" / "keyrings-seen").read_text()
