"""Encrypted columns in SQLite through the standard ``sqlite3`` module.

Tokens are stored as BLOBs; see :class:`EncryptedTable` and docs/python.md.
"""

from ._db import INDEX_SUFFIX, EncryptedTable as _Base

__all__ = ["EncryptedTable", "INDEX_SUFFIX"]


class EncryptedTable(_Base):
    """:class:`strongroom._db.EncryptedTable` with ``?`` placeholders."""

    placeholder = "?"
