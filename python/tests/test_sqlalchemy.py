"""SQLAlchemy: ordering refused, updates that keep the blind index in step
(ORM, ORM bulk, Core, executemany), comparisons inside SQLAlchemy itself."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator, Optional, Tuple

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import strongroom
from conftest import require_postgres
from strongroom.sqlalchemy import Encrypted, blind_index_column

Model = Tuple[Any, sa.Engine]


def make_model(url: str, keyring: strongroom.Keyring, name: str) -> Model:
    email_c = strongroom.FieldCipher(keyring, name, "email", str, blind_index=16, normalizer="trim-lowercase")
    ssn_c = strongroom.FieldCipher(keyring, name, "ssn", str, deterministic=True)

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = name
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[Optional[str]] = mapped_column(Encrypted(email_c))
        email_bidx: Mapped[Optional[bytes]] = blind_index_column(email_c, "email")
        ssn: Mapped[Optional[str]] = mapped_column(Encrypted(ssn_c))
        plain: Mapped[Optional[str]] = mapped_column(sa.String(50))

    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=i, email=f"u{i}@b.c", ssn=f"{i:03d}", plain=f"p{i}") for i in range(1, 6)])
        s.commit()
    return User, engine


@pytest.fixture
def model(keyring: strongroom.Keyring, tmp_path: Path) -> Iterator[Model]:
    user, engine = make_model(f"sqlite:///{tmp_path / 'sa.sqlite'}", keyring, "py_sa_people")
    yield user, engine
    engine.dispose()


def ids_by_email(engine: sa.Engine, user: Any, email: str) -> list[int]:
    with Session(engine) as s:
        return sorted(s.scalars(sa.select(user.id).where(user.email == email)))


def test_order_by_an_encrypted_column_is_refused(model: Model) -> None:
    user, engine = model
    table = user.__table__
    with Session(engine) as s:
        for query in (sa.select(user).order_by(user.email), sa.select(user.id).order_by(user.ssn, user.id),
                      sa.select(table).order_by(table.c.email), sa.select(user).order_by(sa.func.lower(user.email))):
            with pytest.raises(strongroom.UsageError, match="ORDER BY the encrypted column") as info:
                s.execute(query).all()
            assert info.value.name == "InvalidArgument"
        with pytest.raises(strongroom.UsageError):
            s.execute(sa.select(user).order_by(user.email.desc())).all()
        # Ordering by other columns, and by whether a value is NULL, is fine.
        assert [u.id for u in s.scalars(sa.select(user).order_by(user.plain.desc()))] == [5, 4, 3, 2, 1]
        assert len(s.scalars(sa.select(user).order_by(user.email.is_(None), user.id)).all()) == 5


def test_orm_update_statement_keeps_the_index_in_step(model: Model) -> None:
    user, engine = model
    with Session(engine) as s:
        # Default synchronize_session: SQLAlchemy compares columns itself.
        s.execute(sa.update(user).where(user.id == 1).values(email="new1@b.c"))
        s.execute(sa.update(user).where(user.email == "u2@b.c").values({user.email: "new2@b.c"}))
        s.execute(sa.update(user).where(user.id == 3).values(email="new3@b.c")
                  .execution_options(synchronize_session="fetch"))
        s.commit()
    assert ids_by_email(engine, user, "NEW1@b.c") == [1]
    assert ids_by_email(engine, user, "new2@b.c") == [2]
    assert ids_by_email(engine, user, "new3@b.c") == [3]
    for old in ("u1@b.c", "u2@b.c", "u3@b.c"):
        assert ids_by_email(engine, user, old) == []


def test_orm_bulk_update_by_primary_key_keeps_the_index(model: Model) -> None:
    user, engine = model
    with Session(engine) as s:
        s.execute(sa.update(user), [{"id": 4, "email": "bulk4@b.c"}, {"id": 5, "email": "bulk5@b.c"}])
        s.commit()
    assert ids_by_email(engine, user, "bulk4@b.c") == [4]
    assert ids_by_email(engine, user, "bulk5@b.c") == [5]
    assert ids_by_email(engine, user, "u4@b.c") == []


def test_core_updates_keep_the_index(model: Model) -> None:
    user, engine = model
    table = user.__table__
    with engine.begin() as c:
        c.execute(table.update().where(table.c.id == 1).values(email="core1@b.c"))
        c.execute(table.update().where(table.c.id == sa.bindparam("key")).values(email=sa.bindparam("e")),
                  [{"key": 2, "e": "many2@b.c"}, {"key": 3, "e": "many3@b.c"}])
        c.execute(table.update().where(table.c.id == 4), {"email": "param4@b.c"})
        c.execute(table.update().where(table.c.id == 5).values(email=None))
    assert ids_by_email(engine, user, "core1@b.c") == [1]
    assert ids_by_email(engine, user, "many2@b.c") == [2]
    assert ids_by_email(engine, user, "many3@b.c") == [3]
    assert ids_by_email(engine, user, "param4@b.c") == [4]
    with engine.connect() as c:
        assert c.execute(sa.select(table.c.email_bidx).where(table.c.id == 5)).scalar_one() is None


def test_an_update_to_a_sql_expression_is_refused_and_changes_nothing(model: Model) -> None:
    user, engine = model
    table = user.__table__
    with pytest.raises(strongroom.UsageError, match="blind index email_bidx cannot be kept in step"):
        with engine.begin() as c:
            c.execute(table.update().where(table.c.id == 1).values(email=table.c.ssn))
    assert ids_by_email(engine, user, "u1@b.c") == [1]
    with pytest.raises(strongroom.UsageError, match="ordered_values"):
        with engine.begin() as c:
            c.execute(table.update().where(table.c.id == 1).ordered_values((table.c.email, "o@b.c")))
    assert ids_by_email(engine, user, "u1@b.c") == [1]
    # Setting the companion in the same statement is the caller's choice.
    with engine.begin() as c:
        c.execute(table.update().where(table.c.id == 1).values(email=table.c.email, email_bidx=table.c.email_bidx))
    assert ids_by_email(engine, user, "u1@b.c") == [1]


def test_columns_compare_to_columns_as_sqlalchemy_expects(model: Model) -> None:
    user, _ = model
    # SQLAlchemy compares columns when it looks them up in dictionaries: a
    # column on the other side is an expression, never a value to encrypt.
    expr = user.__table__.c.email == user.__table__.c.ssn
    assert isinstance(expr, sa.ColumnElement)
    assert isinstance(user.email == user.ssn, sa.ColumnElement)
    with pytest.raises(strongroom.UsageError, match="plain values"):
        user.email.in_([user.ssn])


@pytest.mark.postgres
def test_updates_keep_the_index_on_postgresql(keyring: strongroom.Keyring) -> None:
    dsn = require_postgres()
    parts = dict(p.split("=", 1) for p in dsn.split())
    url = (f"postgresql+psycopg://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}:"
           f"{parts.get('port', '5432')}/{parts.get('dbname', 'test')}")
    user, engine = make_model(url, keyring, f"py_sa_upd_{uuid.uuid4().hex[:8]}")
    try:
        with Session(engine) as s:
            s.execute(sa.update(user).where(user.id == 1).values(email="pg1@b.c"))
            s.execute(sa.update(user), [{"id": 2, "email": "pg2@b.c"}])
            s.commit()
            with pytest.raises(strongroom.UsageError):
                s.execute(sa.select(user).order_by(user.email)).all()
        assert ids_by_email(engine, user, "pg1@b.c") == [1]
        assert ids_by_email(engine, user, "pg2@b.c") == [2]
        assert ids_by_email(engine, user, "u1@b.c") == []
    finally:
        user.metadata.drop_all(engine)
        engine.dispose()
