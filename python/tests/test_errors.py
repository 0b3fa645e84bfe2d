"""The exception classes follow the core's error table."""

from __future__ import annotations

import builtins
import pickle

import pytest

import strongroom
from strongroom import _errors, _native


def test_one_class_per_table_class() -> None:
    kinds = {name for _, name in _native.error_kinds()}
    assert set(_errors.CLASSES) == kinds
    for number, name in _native.error_kinds():
        cls = _errors.CLASSES[name]
        assert issubclass(cls, strongroom.StrongroomError)
        assert cls.kind_number == number
        assert getattr(strongroom, cls.__name__) is cls


def test_every_row_maps_to_its_class() -> None:
    rows = _native.error_table()
    assert len(rows) == len(_errors.TABLE) > 30
    for code, name, kind, number, summary, _ in rows:
        assert code // 100 == number
        cls = _errors.class_for(code)
        assert issubclass(cls, _errors.CLASSES[kind])
        exc = _errors.error(name, summary)
        assert isinstance(exc, cls)
        assert (exc.code, exc.name) == (code, name)


def test_kdf_limits_is_a_format_error() -> None:
    assert _errors.class_for(407) is strongroom.KdfLimitsError
    assert issubclass(strongroom.KdfLimitsError, strongroom.FormatError)


def test_no_builtin_is_shadowed() -> None:
    names = {cls.__name__ for cls in _errors.CLASSES.values()} | set(_errors.__all__)
    assert not names & set(dir(builtins))
    # strongroom.open is called qualified, as gzip.open is: a star import
    # must not replace the builtin.
    assert not set(strongroom.__all__) & set(dir(builtins))
    scope: dict[str, object] = {}
    exec("from strongroom import *", scope)
    assert "open" not in scope and "EncryptedReader" in scope


def test_exceptions_pickle_with_code_and_name() -> None:
    exc = _errors.error("ChunkAuthFailed", "chunk 3 failed authentication", index=7)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is strongroom.AuthenticationError
    assert (back.code, back.name, back.index, str(back)) == (503, "ChunkAuthFailed", 7, str(exc))


def test_a_panic_does_not_cross_the_boundary() -> None:
    with pytest.raises(strongroom.InternalError) as info:
        _native._test_panic()
    assert (info.value.code, info.value.name) == (101, "Panic")
