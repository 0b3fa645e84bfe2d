"""The public modules export what they document and nothing else."""

from __future__ import annotations

import importlib
import types

import pytest

import strongroom

PUBLIC_MODULES = ["strongroom", "strongroom.hazmat", "strongroom.sqlite", "strongroom.psycopg",
                  "strongroom.sqlalchemy", "strongroom.parquet"]

#: Public but left out of ``__all__`` on purpose: ``strongroom.open`` is
#: called qualified (as ``gzip.open``); a star import must not shadow the
#: builtin.
QUALIFIED_ONLY = {"strongroom": {"open"}}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_names_are_exactly_all(name: str) -> None:
    module = importlib.import_module(name)
    public = {n for n, v in vars(module).items()
              if not n.startswith("_")
              # submodules of the package appear as attributes once imported
              and not (isinstance(v, types.ModuleType) and v.__name__.startswith("strongroom."))}
    exported = {n for n in module.__all__ if not n.startswith("_")} | QUALIFIED_ONLY.get(name, set())
    assert public == exported, f"{name} leaks {sorted(public - exported)}"
    for n in module.__all__:
        assert hasattr(module, n)


def test_hazmat_does_not_leak_typing_names() -> None:
    import strongroom.hazmat

    for leaked in ("Optional", "Tuple", "annotations"):
        assert not hasattr(strongroom.hazmat, leaked)


def test_keyring_has_no_public_constructor() -> None:
    with pytest.raises(TypeError, match="Keyring.create"):
        strongroom.Keyring(object(), None, "x.srk", None)  # type: ignore[arg-type]
