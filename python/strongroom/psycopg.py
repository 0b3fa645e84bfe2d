"""Encrypted columns in PostgreSQL through psycopg 3.

Tokens are stored as ``bytea``; see :class:`EncryptedTable` and
docs/python.md.
"""

from ._db import INDEX_SUFFIX, EncryptedTable as _Base

__all__ = ["EncryptedTable", "INDEX_SUFFIX"]


class EncryptedTable(_Base):
    """:class:`strongroom._db.EncryptedTable` with ``%s`` placeholders."""

    placeholder = "%s"
