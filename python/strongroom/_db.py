"""The common part of the DB-API helpers (sqlite3, psycopg 3)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ._errors import error
from ._fields import FieldCipher, Value

__all__ = ["EncryptedTable", "INDEX_SUFFIX"]

#: The blind-index companion of column ``c`` is ``c`` + this suffix.
INDEX_SUFFIX = "_bidx"


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum() or name[0].isdigit():
        raise error("InvalidArgument", f"{name!r} is not a plain SQL identifier")
    return name


class EncryptedTable:
    """Reads and writes one table whose columns in ``ciphers`` are
    encrypted (BLOB/bytea tokens). A column whose cipher has a blind index
    gets its term in the companion column ``<column>_bidx``. Tokens are
    bound to the row by the ``row_key`` column's value (``None``: not
    bound), so a token copied to another row does not decrypt (random-mode
    columns; deterministic tokens bind no row).

    Values are passed as parameters, never spliced into SQL; table and
    column names must be plain identifiers."""

    placeholder = "?"

    def __init__(self, table: str, ciphers: Mapping[str, FieldCipher[Any]], *, row_key: Optional[str] = "id") -> None:
        self.table = _ident(table)
        self.ciphers = {_ident(k): v for k, v in ciphers.items()}
        self.row_key = None if row_key is None else _ident(row_key)

    def _row(self, row: Mapping[str, Any]) -> Any:
        if self.row_key is None:
            return None
        if row.get(self.row_key) is None:
            raise error("InvalidArgument", f"the row key column {self.row_key!r} must be set to encrypt a row")
        return row[self.row_key]

    def encrypt_rows(self, rows: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """The rows as stored: encrypted columns replaced by tokens, blind
        index terms added (one batch call per column, on all cores)."""
        out = [dict(r) for r in rows]
        keys = None if self.row_key is None else [self._row(r) for r in rows]
        for col, cipher in self.ciphers.items():
            values = [r.get(col) for r in rows]
            tokens = cipher.encrypt_many(values, None if cipher.deterministic else keys)
            for o, t in zip(out, tokens):
                o[col] = t
            if cipher.has_blind_index:
                for o, term in zip(out, cipher.index_many(values)):
                    o[col + INDEX_SUFFIX] = term
        return out

    def _needs_row_key(self, columns: Iterable[str]) -> bool:
        """Whether decrypting ``columns`` needs the row key (random mode)."""
        return self.row_key is not None and any(
            c in self.ciphers and not self.ciphers[c].deterministic for c in columns)

    def decrypt_rows(self, rows: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """Stored rows back to plaintext values (companion columns dropped).
        Only the encrypted columns a row has are decrypted: a column that
        was not selected stays absent (it is not made ``None``, which would
        read as SQL NULL)."""
        out = [dict(r) for r in rows]
        if not rows:
            return out
        present = [c for c in self.ciphers if c in rows[0]]
        keys = None
        if self._needs_row_key(present):
            assert self.row_key is not None
            if self.row_key not in rows[0]:
                raise error("InvalidArgument", f"decrypting {', '.join(present)} needs the row key column "
                                               f"{self.row_key!r} in the rows")
            keys = [r[self.row_key] for r in rows]
        for col in present:
            cipher = self.ciphers[col]
            tokens = [None if r[col] is None else bytes(r[col]) for r in rows]
            for o, v in zip(out, cipher.decrypt_many(tokens, None if cipher.deterministic else keys)):
                o[col] = v
        for o in out:
            for col in self.ciphers:
                o.pop(col + INDEX_SUFFIX, None)
        return out

    def insert(self, conn: Any, rows: Iterable[Mapping[str, Any]]) -> int:
        """Inserts rows (dicts with the same keys); returns how many."""
        rows = list(rows)
        if not rows:
            return 0
        stored = self.encrypt_rows(rows)
        cols = [_ident(c) for c in stored[0]]
        sql = (f"INSERT INTO {self.table} ({', '.join(cols)}) "
               f"VALUES ({', '.join([self.placeholder] * len(cols))})")
        cur = conn.cursor()
        try:
            cur.executemany(sql, [tuple(r[c] for c in cols) for r in stored])
        finally:
            cur.close()
        return len(rows)

    def _where(self, column: str, value: Value) -> tuple[str, List[Any]]:
        col = _ident(column)
        cipher = self.ciphers.get(col)
        if cipher is None:
            return f"{col} = {self.placeholder}", [value]
        if cipher.has_blind_index:
            terms = cipher.lookup_terms(value)
            target = col + INDEX_SUFFIX
        else:
            try:
                terms = cipher.lookup_tokens(value)
            except Exception as e:
                raise error("InvalidArgument", f"column {col} has neither a blind index nor deterministic "
                                               f"encryption, so it cannot be searched by value") from e
            target = col
        return f"{target} IN ({', '.join([self.placeholder] * len(terms))})", list(terms)

    def select(self, conn: Any, where: Optional[Mapping[str, Value]] = None,
               columns: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        """Rows matching ``where`` (column = value, ANDed; encrypted
        columns are searched by blind index, under the index's normaliser,
        or by deterministic token), decrypted. With ``columns``, each row
        has exactly those keys (the row key is fetched as well when an
        encrypted column needs it, and left out again)."""
        extra: Optional[str] = None
        if columns is None:
            cols = "*"
        else:
            wanted = [_ident(c) for c in columns]
            if self.row_key is not None and self._needs_row_key(wanted) and self.row_key not in wanted:
                extra = self.row_key
                wanted.append(extra)
            cols = ", ".join(wanted)
        sql, params = f"SELECT {cols} FROM {self.table}", []
        clauses = []
        for col, value in (where or {}).items():
            clause, p = self._where(col, value)
            clauses.append(clause)
            params.extend(p)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        cur = conn.cursor()
        try:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description]
            fetched = [dict(zip(names, r)) for r in cur.fetchall()]
        finally:
            cur.close()
        rows = self.decrypt_rows(fetched)
        if extra is not None:
            for r in rows:
                del r[extra]
        return rows
