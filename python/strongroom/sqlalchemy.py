"""SQLAlchemy 2: an encrypted column type with a blind-index companion, so
that queries by value work on the encrypted table::

    email_cipher = strongroom.FieldCipher(ring, "py_users", "email", str,
                                          blind_index=16, normalizer="trim-lowercase")

    class User(Base):
        __tablename__ = "py_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(Encrypted(email_cipher))
        email_bidx: Mapped[bytes] = blind_index_column(email_cipher, "email")

    session.scalars(select(User).where(User.email == "a@b.c"))

``==`` and ``!=`` (and ``in_`` for equality with several values) on an
encrypted column compare the companion column's blind-index terms (all
usable key versions), or, for a deterministic column without an index,
the column's tokens. Other comparisons and ``ORDER BY`` the column are
refused: the database sees only tokens. The companion is kept in step on
every insert and update, ORM or Core. Tokens are not bound to rows here
(the type does not know the row).

Importing this module registers, process-wide, the SQLAlchemy events
that do this (an ``Engine`` ``before_execute`` hook that completes
``UPDATE`` statements, mapper ``before_insert``/``before_update`` hooks)
and a compile hook on ``SELECT`` that refuses ordering by an encrypted
column.
"""

from ._sqlalchemy import INDEX_SUFFIX, Encrypted, blind_index_column

__all__ = ["Encrypted", "blind_index_column", "INDEX_SUFFIX"]
