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
the column's tokens. Other comparisons are refused: the database sees only
tokens. Tokens are not bound to rows here (the type does not know the row).
"""

from __future__ import annotations

import weakref
from typing import Any, Optional, Sequence

from sqlalchemy import LargeBinary, event, false, type_coerce
from sqlalchemy.orm import Mapper, attributes, mapped_column
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from ._db import INDEX_SUFFIX
from ._errors import error
from ._fields import FieldCipher

__all__ = ["Encrypted", "blind_index_column", "INDEX_SUFFIX"]


class Encrypted(TypeDecorator[Any]):
    """A column encrypted by ``cipher`` (stored as binary tokens). The
    blind-index companion is ``index_column`` (default ``<name>_bidx``)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, cipher: FieldCipher, index_column: Optional[str] = None) -> None:
        super().__init__()
        self.cipher = cipher
        self.index_column = index_column

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[bytes]:
        token = self.cipher.encrypt(value)
        return None if token is None else bytes(token) if isinstance(token, (bytes, bytearray)) else token.encode()

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else self.cipher.decrypt(bytes(value))

    class comparator_factory(TypeDecorator.Comparator[Any]):  # noqa: N801 - SQLAlchemy's name
        """Equality through the blind index or deterministic tokens."""

        def _match(self, values: Sequence[Any]) -> Any:
            typ = self.type
            assert isinstance(typ, Encrypted)
            col: Any = self.expr
            if typ.cipher.has_blind_index:
                name = typ.index_column or (col.key + INDEX_SUFFIX)
                table = getattr(col, "table", None)
                if table is None or name not in table.c:
                    raise error("InvalidArgument", f"the blind-index column {name!r} is not in the table")
                terms = [t for v in values for t in typ.cipher.lookup_terms(v)]
                return table.c[name].in_(terms) if terms else false()
            try:
                tokens = [t for v in values for t in typ.cipher.lookup_tokens(v)]
            except Exception as e:
                raise error("InvalidArgument", "this encrypted column has neither a blind index nor "
                                               "deterministic encryption: it cannot be compared") from e
            return type_coerce(col, LargeBinary).in_(tokens) if tokens else false()

        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op is operators.eq:
                if other[0] is None:
                    return self.expr.is_(None)  # type: ignore[attr-defined]
                return self._match([other[0]])
            if op is operators.ne:
                if other[0] is None:
                    return self.expr.is_not(None)  # type: ignore[attr-defined]
                return ~self._match([other[0]])
            if op is operators.in_op:
                return self._match(list(other[0])) if list(other[0]) else false()
            if op in (operators.is_, operators.is_not):
                return super().operate(op, *other, **kwargs)
            raise error("InvalidArgument", f"encrypted columns support ==, != and in_ only, not {op.__name__}")


def blind_index_column(cipher: FieldCipher, source: str, **kw: Any) -> Any:
    """The companion column of the encrypted column ``source``. The ORM
    fills it on every insert and on updates that change ``source``; a Core
    ``insert()`` fills it from the statement's ``source`` value. A Core
    ``update()`` must set it itself: ``values(email=v, email_bidx=cipher.index(v))``."""
    if not cipher.has_blind_index:
        raise error("InvalidArgument", "the cipher has no blind index")

    def compute(ctx: Any) -> Optional[bytes]:
        return cipher.index(ctx.get_current_parameters().get(source))

    kw.setdefault("index", True)
    kw.setdefault("nullable", True)
    return mapped_column(LargeBinary, default=compute, **kw)


_CACHE: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _companions(mapper: Any) -> Any:
    """(encrypted attribute, companion attribute, cipher) of a mapper."""
    cached = _CACHE.get(mapper)
    if cached is not None:
        return cached
    found = []
    for prop in mapper.column_attrs:
        col = prop.columns[0]
        typ = getattr(col, "type", None)
        if isinstance(typ, Encrypted) and typ.cipher.has_blind_index:
            name = typ.index_column or (col.key + INDEX_SUFFIX)
            table = getattr(col, "table", None)
            if table is not None and name in table.c:
                companion = mapper.get_property_by_column(table.c[name]).key
                found.append((prop.key, companion, typ.cipher))
    _CACHE[mapper] = found
    return found


def _fill(insert: bool) -> Any:
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        for attr, companion, cipher in _companions(mapper):
            if insert or attributes.get_history(target, attr).has_changes():
                setattr(target, companion, cipher.index(getattr(target, attr)))
    return listener


event.listen(Mapper, "before_insert", _fill(True))
event.listen(Mapper, "before_update", _fill(False))
