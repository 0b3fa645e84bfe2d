"""Encrypt one column of a partitioned Parquet dataset on a Dask cluster,
then decrypt it back.

The cipher travels to the workers by pickle as a *reference*: the
keyring's path and the name of the environment variable holding its
passphrase. Each worker process opens the keyring once, on first use.

    STRONGROOM_PASSPHRASE=... python examples/dask_column.py KEYRING SRC DST
"""

from __future__ import annotations

import sys
from typing import Any

import dask.dataframe as dd
from distributed import Client, LocalCluster

import strongroom


def encrypt_partition(df: Any, cipher: strongroom.FieldCipher[Any], column: str) -> Any:
    out = df.copy()
    # The text form of tokens ("sr1." + base64url) keeps the column a string column.
    out[column] = cipher.encrypt_many(df[column].tolist(), df["id"].tolist(), text=True)
    return out


def decrypt_partition(df: Any, cipher: strongroom.FieldCipher[Any], column: str) -> Any:
    out = df.copy()
    out[column] = cipher.decrypt_many(df[column].tolist(), df["id"].tolist())
    return out


def encrypt_column(keyring_path: str, src: str, dst: str, column: str = "email") -> None:
    """Reads the Parquet dataset ``src``, encrypts ``column`` (rows bound by
    ``id``) and writes the dataset ``dst``."""
    ring = strongroom.Keyring.open(keyring_path, strongroom.EnvSecret("STRONGROOM_PASSPHRASE"))
    cipher = strongroom.FieldCipher(ring, "people", column, str)
    df = dd.read_parquet(src)
    df.map_partitions(encrypt_partition, cipher, column, meta=df._meta).to_parquet(dst, write_index=False)


def decrypt_column(keyring_path: str, src: str, column: str = "email") -> Any:
    """The dataset ``src`` with ``column`` decrypted, as a pandas frame."""
    ring = strongroom.Keyring.open(keyring_path, strongroom.EnvSecret("STRONGROOM_PASSPHRASE"))
    cipher = strongroom.FieldCipher(ring, "people", column, str)
    df = dd.read_parquet(src)
    return df.map_partitions(decrypt_partition, cipher, column, meta=df._meta).compute()


def main(argv: list[str]) -> None:
    keyring_path, src, dst = argv[1:4]
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1)  # type: ignore[no-untyped-call]
    with cluster, Client(cluster):  # type: ignore[no-untyped-call]
        encrypt_column(keyring_path, src, dst)
        print(decrypt_column(keyring_path, dst).head())


if __name__ == "__main__":
    main(sys.argv)
