"""The implementation of :mod:`strongroom.sqlalchemy` (see there)."""

from __future__ import annotations

import weakref
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import LargeBinary, event, false, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapper, attributes, mapped_column
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseElement, ColumnElement, Null
from sqlalchemy.sql.expression import Select, Update
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

    def __init__(self, cipher: FieldCipher[Any], index_column: Optional[str] = None) -> None:
        super().__init__()
        self.cipher = cipher
        self.index_column = index_column

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[bytes]:
        token = self.cipher.encrypt(value)
        return None if token is None else bytes(token)

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
            if op in (operators.eq, operators.ne):
                value = _plain_value(other[0])
                if value is _SQL:
                    # Another column or SQL expression: compared as tokens
                    # (SQLAlchemy itself compares columns this way when it
                    # looks them up in its own dictionaries).
                    return super().operate(op, *other, **kwargs)
                if value is None:
                    return self.expr.is_(None) if op is operators.eq else self.expr.is_not(None)
                match = self._match([value])
                return match if op is operators.eq else ~match
            if op is operators.in_op:
                values = list(other[0])
                if any(_plain_value(v) is _SQL for v in values):
                    raise error("InvalidArgument", "in_() on an encrypted column takes plain values")
                return self._match([_plain_value(v) for v in values]) if values else false()
            if op in (operators.is_, operators.is_not):
                return super().operate(op, *other, **kwargs)
            raise error("InvalidArgument", f"encrypted columns support ==, != and in_ only, not {op.__name__}: "
                                           "the database holds only tokens")


#: Marks an operand that is SQL (a column, an expression), not a value.
_SQL: Any = object()


def _plain_value(other: Any) -> Any:
    """The Python value of a comparison operand: itself, the value of a
    literal bind parameter, ``None`` for SQL NULL, or :data:`_SQL`."""
    if isinstance(other, Null):
        return None
    if isinstance(other, BindParameter):
        if other.callable is None and not other.required:
            return other.value
        return _SQL
    if isinstance(other, ClauseElement) or hasattr(other, "__clause_element__"):
        return _SQL  # SQL, or an ORM attribute standing for a column
    return other


def blind_index_column(cipher: FieldCipher[Any], source: str, **kw: Any) -> Any:
    """The companion column of the encrypted column ``source``. It is kept
    in step with ``source`` on every write: ORM inserts and flushes, Core
    ``insert()`` (from the statement's ``source`` value), and ``update()``
    statements, ORM or Core, that set ``source`` without setting the
    companion (the term is computed from the new value; an update that
    sets ``source`` to a SQL expression is refused)."""
    if not cipher.has_blind_index:
        raise error("InvalidArgument", "the cipher has no blind index")

    def compute(ctx: Any) -> Optional[bytes]:
        return cipher.index(ctx.get_current_parameters().get(source))

    kw.setdefault("index", True)
    kw.setdefault("nullable", True)
    return mapped_column(LargeBinary, default=compute, **kw)


# -- keeping companions in step ------------------------------------------------

#: (encrypted column key, companion column key, cipher) per table.
_TABLES: "weakref.WeakKeyDictionary[Any, List[Tuple[str, str, FieldCipher[Any]]]]" = weakref.WeakKeyDictionary()


def _table_companions(table: Any) -> List[Tuple[str, str, FieldCipher[Any]]]:
    found = _TABLES.get(table)
    if found is None:
        found = []
        for col in getattr(table, "c", ()):
            typ = getattr(col, "type", None)
            if isinstance(typ, Encrypted) and typ.cipher.has_blind_index:
                name = typ.index_column or (col.key + INDEX_SUFFIX)
                if name in table.c:
                    found.append((col.key, name, typ.cipher))
        _TABLES[table] = found
    return found


_MAPPERS: "weakref.WeakKeyDictionary[Any, List[Tuple[str, str, FieldCipher[Any]]]]" = weakref.WeakKeyDictionary()


def _mapper_companions(mapper: Any) -> List[Tuple[str, str, FieldCipher[Any]]]:
    """(encrypted attribute, companion attribute, cipher) of a mapper."""
    found = _MAPPERS.get(mapper)
    if found is None:
        table = mapper.local_table
        found = [(mapper.get_property_by_column(table.c[col_key]).key,
                  mapper.get_property_by_column(table.c[companion]).key, cipher)
                 for col_key, companion, cipher in _table_companions(table)]
        _MAPPERS[mapper] = found
    return found


def _fill(insert: bool) -> Any:
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        for attr, companion, cipher in _mapper_companions(mapper):
            if insert or attributes.get_history(target, attr).has_changes():
                setattr(target, companion, cipher.index(getattr(target, attr)))
    return listener


event.listen(Mapper, "before_insert", _fill(True))
event.listen(Mapper, "before_update", _fill(False))


def _key(column: Any) -> str:
    return column if isinstance(column, str) else str(column.key)


def _with_terms(params: Any, col: str, companion: str, cipher: FieldCipher[Any]) -> Any:
    """Parameter sets with the companion's term added where ``col`` is set
    and the companion is not."""
    if isinstance(params, Mapping):
        if col in params and companion not in params:
            return {**params, companion: cipher.index(params[col])}
        return params
    if isinstance(params, (list, tuple)):
        return type(params)(_with_terms(p, col, companion, cipher) for p in params)
    return params


def _keep_index(conn: Any, stmt: Any, multiparams: Any, params: Any, execution_options: Any) -> Any:
    """``before_execute``: an UPDATE that sets an encrypted column but not
    its blind-index companion gets the companion's new term, so the index
    never goes stale (a forgotten companion left the old value findable
    and the new one not)."""
    if not isinstance(stmt, Update):
        return stmt, multiparams, params
    table = stmt.table
    pairs = _table_companions(table)
    if not pairs:
        return stmt, multiparams, params
    # ordered_values(): SQLAlchemy 2.1 keeps them in _values, older ones apart.
    older = getattr(stmt, "_ordered_values", None) or ()
    ordered = bool(older) or bool(getattr(stmt, "_maintain_values_ordering", False))
    values: Dict[str, Any] = {_key(k): v for k, v in [*(stmt._values or {}).items(), *older]}
    for col, companion, cipher in pairs:
        if companion in values:
            continue
        if ordered and col in values:
            raise error("InvalidArgument", f"this UPDATE sets {col} with ordered_values() but not its blind "
                                           f"index {companion}: add {companion} to the ordered values")
        if col not in values:
            multiparams = _with_terms(multiparams, col, companion, cipher)
            params = _with_terms(params, col, companion, cipher)
            continue
        value = values[col]
        plain = _plain_value(value)
        if plain is not _SQL:
            stmt = stmt.values({table.c[companion]: cipher.index(plain)})
        elif isinstance(value, BindParameter) and value.callable is None:
            # A named parameter (executemany): its term under a name of ours.
            name = f"{value.key}__strongroom_{companion}"
            stmt = stmt.values({table.c[companion]: BindParameter(name, type_=LargeBinary())})
            multiparams = _with_named_terms(multiparams, value.key, name, cipher)
            params = _with_named_terms(params, value.key, name, cipher)
        else:
            raise error("InvalidArgument", f"this UPDATE sets {col} to a SQL expression, so its blind index "
                                           f"{companion} cannot be kept in step: set {companion} in the same "
                                           f"statement, or set {col} to a value")
    return stmt, multiparams, params


def _with_named_terms(params: Any, source: str, name: str, cipher: FieldCipher[Any]) -> Any:
    if isinstance(params, Mapping):
        return {**params, name: cipher.index(params[source])} if source in params else params
    if isinstance(params, (list, tuple)):
        return type(params)(_with_named_terms(p, source, name, cipher) for p in params)
    return params


event.listen(Engine, "before_execute", _keep_index, retval=True)


# -- refusing ORDER BY -----------------------------------------------------------

def _encrypted_in(clause: Any) -> Optional[str]:
    """The name of an encrypted column that ``clause`` orders by, if any
    (a NULL test, ``col IS NULL``, orders by nothing secret)."""
    stack = [clause]
    while stack:
        element = stack.pop()
        if isinstance(element, BinaryExpression) and element.operator in (operators.is_, operators.is_not):
            continue
        if isinstance(element, ColumnElement) and isinstance(getattr(element, "type", None), Encrypted):
            return str(getattr(element, "key", None) or element)
        stack.extend(element.get_children())
    return None


@compiles(Select)
def _refuse_ordering(select: Any, compiler: Any, **kw: Any) -> Any:
    """Refuses ORDER BY an encrypted column before the query runs: the
    database would sort ciphertext, an order that means nothing."""
    for clause in select._order_by_clauses:
        name = _encrypted_in(clause)
        if name is not None:
            raise error("InvalidArgument", f"ORDER BY the encrypted column {name} would sort its tokens, "
                                           "not its values: sort after decrypting")
    return compiler.visit_select(select, **kw)

