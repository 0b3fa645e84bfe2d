"""A column of a partitioned Parquet dataset encrypted and decrypted on a
two-process Dask LocalCluster (the cipher pickles as a reference)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import strongroom
from conftest import FAST, PASSPHRASE

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import dask_column  # noqa: E402


@pytest.mark.slow
def test_dask_encrypts_a_parquet_column_and_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_PASSPHRASE", PASSPHRASE)
    ring_path = tmp_path / "ring.srk"
    strongroom.Keyring.create(ring_path, PASSPHRASE, kdf=FAST).close()
    df = pd.DataFrame({"id": range(2000), "email": [f"user{i}@example.com" for i in range(2000)],
                       "n": [i * 3 for i in range(2000)]})
    src = tmp_path / "src"
    src.mkdir()
    for part in range(4):
        df.iloc[part * 500:(part + 1) * 500].to_parquet(src / f"part-{part}.parquet", index=False)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, worker_dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            dask_column.encrypt_column(str(ring_path), str(src), str(tmp_path / "enc"))
            pids = set(client.run(os.getpid).values())
            assert len(pids) == 2 and os.getpid() not in pids
            back = dask_column.decrypt_column(str(ring_path), str(tmp_path / "enc"))
    stored = pd.read_parquet(tmp_path / "enc")
    assert not stored["email"].astype(str).str.contains("example.com").any()
    back = back.sort_values("id").reset_index(drop=True)
    assert back["email"].tolist() == df["email"].tolist()
    assert back["n"].tolist() == df["n"].tolist()
