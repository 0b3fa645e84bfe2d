"""Shared fixtures: fast keyrings, the repository's testdata, PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

import strongroom

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"

#: The Argon2id floor: tests stay fast; never use it for real data.
FAST = strongroom.KdfParams(memory_kib=8 * 1024, iterations=1, parallelism=1)
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def keyring(tmp_path: Path) -> Iterator[strongroom.Keyring]:
    with strongroom.Keyring.create(tmp_path / "app.srk", PASSPHRASE, kdf=FAST) as kr:
        yield kr


@pytest.fixture
def env_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[strongroom.Keyring]:
    """A keyring opened from an environment variable, so it pickles."""
    monkeypatch.setenv("SR_TEST_PASSPHRASE", PASSPHRASE)
    path = tmp_path / "env.srk"
    strongroom.Keyring.create(path, PASSPHRASE, kdf=FAST).close()
    with strongroom.Keyring.open(path, strongroom.EnvSecret("SR_TEST_PASSPHRASE")) as kr:
        yield kr


def postgres_dsn() -> str:
    return os.environ.get("STRONGROOM_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")


def require_postgres() -> str:
    """The DSN of the test server; without it the test fails under CI=true
    and is skipped otherwise."""
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover
        if os.environ.get("CI") == "true":
            pytest.fail(f"psycopg is required under CI: {e}")
        pytest.skip(f"psycopg not installed: {e}")
    dsn = postgres_dsn()
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            pass
    except psycopg.OperationalError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {dsn!r} is required under CI=true but unreachable: {e}")
        pytest.skip(f"PostgreSQL at {dsn!r} unreachable (set CI=true to make this a failure): {e}")
    return dsn
