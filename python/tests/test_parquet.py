"""Parquet modular encryption with the keyring's KMS client: pyarrow writes
and reads (whole, some columns, a dataset), keys rotate, another keyring is
refused; the wrapped-key format against its vectors."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pe = pytest.importorskip("pyarrow.parquet.encryption")
ds = pytest.importorskip("pyarrow.dataset")

import strongroom  # noqa: E402
import strongroom.hazmat  # noqa: E402
import strongroom.parquet  # noqa: E402
from conftest import FAST, PASSPHRASE, TESTDATA  # noqa: E402
from strongroom.parquet import _unwrap, _wrap  # noqa: E402

CONFIG = pe.KmsConnectionConfig()


def people() -> Any:
    return pa.table({
        "id": pa.array(range(1, 201), pa.int64()),
        "email": [f"user{i}@example.com" for i in range(1, 201)],
        "ssn": [f"{i:09d}" for i in range(1, 201)],
        "amount": [i * 1.5 for i in range(1, 201)],
    })


def encryption(**kw: Any) -> Any:
    return pe.EncryptionConfiguration(footer_key="footer", column_keys={"pii": ["email", "ssn"]}, **kw)


def write(path: Path, ring: strongroom.Keyring, table: Any, **kw: Any) -> None:
    factory = strongroom.parquet.crypto_factory(ring)
    if kw.get("internal_key_material") is False:
        props = factory.file_encryption_properties(CONFIG, encryption(**kw), str(path))
    else:
        props = factory.file_encryption_properties(CONFIG, encryption(**kw))
    with pq.ParquetWriter(str(path), table.schema, encryption_properties=props) as w:
        w.write_table(table)


def read(path: Path, ring: strongroom.Keyring, *, external: bool = False, **kw: Any) -> Any:
    # A fresh factory each time: pyarrow caches unwrapped keys per factory.
    factory = strongroom.parquet.crypto_factory(ring)
    if external:
        props = factory.file_decryption_properties(CONFIG, pe.DecryptionConfiguration(), str(path))
    else:
        props = factory.file_decryption_properties(CONFIG)
    return pq.read_table(str(path), decryption_properties=props, **kw)


def test_write_read_and_read_some_columns(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    table = people()
    write(path, keyring, table)
    raw = path.read_bytes()
    assert raw[:4] == b"PARE" and b"user7@example.com" not in raw
    assert read(path, keyring).equals(table)
    assert read(path, keyring, columns=["id", "email"]).equals(table.select(["id", "email"]))
    assert read(path, keyring, columns=["amount"]).equals(table.select(["amount"]))
    with pytest.raises(OSError, match="no decryption"):
        pq.read_table(str(path))


def test_another_keyring_is_refused(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    write(path, keyring, people())
    with strongroom.Keyring.create(tmp_path / "other.srk", PASSPHRASE, kdf=FAST) as other:
        with pytest.raises(strongroom.KeyAccessError) as info:
            read(path, other)
    assert info.value.name == "WrongKeyring"


def test_a_dataset_written_and_read_by_pyarrow(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    factory = strongroom.parquet.crypto_factory(keyring)
    fmt = ds.ParquetFileFormat()
    options = fmt.make_write_options(encryption_config=ds.ParquetEncryptionConfig(factory, CONFIG, encryption()))
    table = people()
    ds.write_dataset(table, str(tmp_path / "ds"), format=fmt, file_options=options,
                     max_rows_per_file=64, max_rows_per_group=64)
    files = sorted((tmp_path / "ds").iterdir())
    assert len(files) == 4 and all(f.read_bytes()[:4] == b"PARE" for f in files)
    scan = ds.ParquetFragmentScanOptions(
        decryption_config=ds.ParquetDecryptionConfig(factory, CONFIG, pe.DecryptionConfiguration()))
    dataset = ds.dataset(str(tmp_path / "ds"), format=ds.ParquetFileFormat(default_fragment_scan_options=scan))
    back = dataset.to_table(columns=["id", "ssn"]).sort_by("id")
    assert back.equals(table.select(["id", "ssn"]))


def wrapped_versions(material: Path) -> set[int]:
    """The key versions of the strongroom-wrapped keys in a key material file."""
    versions = set()
    for token in re.findall(r"strongroom-kms-v1:[0-9a-f]{32}:sr1\.([A-Za-z0-9_-]+)", material.read_text()):
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        versions.add(int.from_bytes(raw[2:6], "big"))
    return versions


def test_rotation_rewraps_external_key_material(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    table = people()
    rotated, kept = tmp_path / "rotated.parquet", tmp_path / "kept.parquet"
    write(rotated, keyring, table, internal_key_material=False)
    write(kept, keyring, table, internal_key_material=False)
    material = tmp_path / "_KEY_MATERIAL_FOR_rotated.parquet.json"
    assert wrapped_versions(material) == {1}
    keyring.add_key(promote=True)
    # New files wrap under the new version; the old ones still open.
    write(tmp_path / "new.parquet", keyring, table, internal_key_material=False)
    assert wrapped_versions(tmp_path / "_KEY_MATERIAL_FOR_new.parquet.json") == {2}
    assert read(kept, keyring, external=True).equals(table)
    # Rotating a file rewraps its keys under version 2 (the data is not rewritten).
    data = rotated.read_bytes()
    strongroom.parquet.crypto_factory(keyring).rotate_master_keys(CONFIG, str(rotated))
    assert rotated.read_bytes() == data and wrapped_versions(material) == {2}
    keyring.disable(1)
    assert read(rotated, keyring, external=True).equals(table)
    with pytest.raises(strongroom.KeyAccessError) as info:
        read(kept, keyring, external=True)
    assert info.value.name == "KeyVersionUnusable"


def test_wrapped_key_vectors() -> None:
    doc = json.loads((TESTDATA / "parquet-kms" / "vectors.json").read_text())
    keys = tuple(bytes.fromhex(doc["purpose_keys"][k]) for k in ("field", "deterministic", "blind_index"))
    keyring_id = bytes.fromhex(doc["keyring_id"])
    assert len(doc["wrapped"]) >= 2
    for v in doc["wrapped"]:
        cipher = strongroom.hazmat.field_cipher_from_keys(
            strongroom.parquet.KMS_TABLE, v["master_key_id"], "bytes", doc["key_version"], keys)  # type: ignore[arg-type]
        assert _unwrap(cipher, keyring_id, v["wrapped"]) == bytes.fromhex(v["key"])
        assert _unwrap(cipher, keyring_id, _wrap(cipher, keyring_id, b"k" * 16)) == b"k" * 16
        # Another master key name, another keyring id, a flipped bit: refused.
        other = strongroom.hazmat.field_cipher_from_keys(
            strongroom.parquet.KMS_TABLE, v["master_key_id"] + "x", "bytes", doc["key_version"], keys)  # type: ignore[arg-type]
        with pytest.raises(strongroom.AuthenticationError):
            _unwrap(other, keyring_id, v["wrapped"])
        with pytest.raises(strongroom.KeyAccessError):
            _unwrap(cipher, bytes(16), v["wrapped"])
        flipped = v["wrapped"][:-3] + ("A" if v["wrapped"][-3] != "A" else "B") + v["wrapped"][-2:]
        with pytest.raises(strongroom.AuthenticationError):
            _unwrap(cipher, keyring_id, flipped)
        with pytest.raises(strongroom.FormatError):
            _unwrap(cipher, keyring_id, "something else")
