"""Database helpers on real SQLite and PostgreSQL: sqlite3, psycopg 3 and
the SQLAlchemy 2 column type with its blind-index companion. PostgreSQL
tests fail when CI=true and the server is missing."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import strongroom
import strongroom.sqlite
from strongroom.sqlalchemy import Encrypted, blind_index_column
from conftest import require_postgres

UTC = dt.timezone.utc


def ciphers(kr: strongroom.Keyring, table: str) -> dict[str, strongroom.FieldCipher[Any]]:
    return {
        "email": strongroom.FieldCipher(kr, table, "email", str, blind_index=16, normalizer="trim-lowercase"),
        "ssn": strongroom.FieldCipher(kr, table, "ssn", str, deterministic=True),
        "born": strongroom.FieldCipher(kr, table, "born", dt.date),
        "seen": strongroom.FieldCipher(kr, table, "seen", dt.datetime),
    }


ROWS = [
    {"id": i, "email": f"user{i}@example.com", "ssn": f"{i:09d}", "born": dt.date(1990, 1, 1 + i % 28),
     "seen": dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(hours=i), "plain": f"p{i}"}
    for i in range(1, 51)
]


def test_sqlite3_helper(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    conn.execute("CREATE TABLE py_people (id INTEGER PRIMARY KEY, email BLOB, email_bidx BLOB, ssn BLOB, "
                 "born BLOB, seen BLOB, plain TEXT)")
    conn.execute("CREATE INDEX py_people_email_bidx ON py_people(email_bidx)")
    table = strongroom.sqlite.EncryptedTable("py_people", ciphers(keyring, "py_people"))
    with conn:
        assert table.insert(conn, ROWS) == 50
    raw = conn.execute("SELECT email, ssn FROM py_people WHERE id = 7").fetchone()
    assert b"user7" not in raw[0] and isinstance(raw[0], bytes)
    assert table.select(conn, {"email": " USER7@example.com"})[0]["id"] == 7
    assert [r["id"] for r in table.select(conn, {"ssn": "000000012"})] == [12]
    assert table.select(conn, {"email": "nobody@example.com"}) == []
    everything = table.select(conn)
    assert sorted(everything, key=lambda r: r["id"]) == ROWS
    # Columns not selected are absent, not None (which would read as NULL);
    # the row key an encrypted column needs is fetched and left out again.
    assert table.select(conn, {"id": 7}, columns=["plain"]) == [{"plain": "p7"}]
    assert table.select(conn, {"id": 7}, columns=["email", "ssn"]) == [{"email": "user7@example.com",
                                                                        "ssn": "000000007"}]
    assert table.select(conn, {"id": 7}, columns=["id", "seen"]) == [{"id": 7, "seen": ROWS[6]["seen"]}]
    # A token moved to another row does not decrypt there.
    conn.execute("UPDATE py_people SET email = (SELECT email FROM py_people WHERE id = 1) WHERE id = 2")
    with pytest.raises(strongroom.AuthenticationError):
        table.select(conn, {"id": 2})


def sqlalchemy_round_trip(url: str, keyring: strongroom.Keyring, table_name: str) -> None:
    email_c = strongroom.FieldCipher(keyring, table_name, "email", str, blind_index=16, normalizer="trim-lowercase")
    ssn_c = strongroom.FieldCipher(keyring, table_name, "ssn", str, deterministic=True)
    born_c = strongroom.FieldCipher(keyring, table_name, "born", dt.date)

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = table_name
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(Encrypted(email_c))
        email_bidx: Mapped[Optional[bytes]] = blind_index_column(email_c, "email")
        ssn: Mapped[Optional[str]] = mapped_column(Encrypted(ssn_c))
        born: Mapped[Optional[dt.date]] = mapped_column(Encrypted(born_c))

    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as s:
            s.add_all([User(id=i, email=f"u{i}@b.c", ssn=f"{i:03d}", born=dt.date(2000, 1, i)) for i in range(1, 11)])
            s.add(User(id=99, email="a@b.c", ssn=None, born=None))
            s.commit()
        with Session(engine) as s:
            user = s.scalars(sa.select(User).where(User.email == "a@b.c")).one()
            assert (user.id, user.email, user.ssn, user.born) == (99, "a@b.c", None, None)
            assert s.scalars(sa.select(User).where(User.email == " A@B.C")).one().id == 99
            assert s.scalars(sa.select(User).where(User.ssn == "004")).one().born == dt.date(2000, 1, 4)
            assert sorted(s.scalars(sa.select(User.id).where(User.email.in_(["u1@b.c", "u2@b.c"])))) == [1, 2]
            assert s.scalars(sa.select(User).where(User.email == "zz@b.c")).all() == []
            assert len(s.scalars(sa.select(User).where(User.email != "a@b.c")).all()) == 10
            # An ORM update recomputes the blind index.
            user.email = "changed@b.c"
            s.commit()
        with Session(engine) as s:
            assert s.scalars(sa.select(User).where(User.email == "changed@b.c")).one().id == 99
            assert s.scalars(sa.select(User).where(User.email == "a@b.c")).all() == []
            with pytest.raises(strongroom.UsageError):
                s.scalars(sa.select(User).where(User.email > "a")).all()
        with engine.connect() as c:
            raw = c.execute(sa.text(f"SELECT email FROM {table_name} WHERE id = 99")).scalar_one()
            assert b"changed" not in bytes(raw)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


def test_sqlalchemy_on_sqlite(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    sqlalchemy_round_trip(f"sqlite:///{tmp_path / 'sa.sqlite'}", keyring, "py_sa_users")


@pytest.fixture
def pg() -> Iterator[str]:
    yield require_postgres()


@pytest.mark.postgres
def test_sqlalchemy_on_postgresql(pg: str, keyring: strongroom.Keyring) -> None:
    parts = dict(p.split("=", 1) for p in pg.split())
    url = (f"postgresql+psycopg://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}:"
           f"{parts.get('port', '5432')}/{parts.get('dbname', 'test')}")
    sqlalchemy_round_trip(url, keyring, f"py_sa_users_{uuid.uuid4().hex[:8]}")


@pytest.mark.postgres
def test_psycopg_helper(pg: str, keyring: strongroom.Keyring) -> None:
    import psycopg

    import strongroom.psycopg

    name = f"py_people_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (id integer PRIMARY KEY, email bytea, email_bidx bytea, ssn bytea, "
                     f"born bytea, seen bytea, plain text)")
        try:
            table = strongroom.psycopg.EncryptedTable(name, ciphers(keyring, name))
            with conn.transaction():
                table.insert(conn, ROWS)
            assert table.select(conn, {"email": "user9@EXAMPLE.com "})[0]["seen"] == ROWS[8]["seen"]
            assert [r["id"] for r in table.select(conn, {"ssn": "000000003"})] == [3]
            assert sorted(table.select(conn), key=lambda r: r["id"]) == ROWS
            raw: Any = conn.execute(f"SELECT email FROM {name} WHERE id = 1").fetchone()
            assert b"user1" not in bytes(raw[0])
        finally:
            conn.execute(f"DROP TABLE {name}")
