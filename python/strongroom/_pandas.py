"""pandas Series helpers of :class:`strongroom.FieldCipher` (imported on
first use, so pandas stays optional)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

import pandas

if TYPE_CHECKING:
    from ._fields import FieldCipher


def _row_keys(rows: Any) -> Optional[List[Any]]:
    if rows is None:
        return None
    keys: List[Any] = rows.tolist() if hasattr(rows, "tolist") else list(rows)
    return keys


def _values(series: pandas.Series[Any]) -> List[Any]:
    """The Series as Python scalars (numpy ones converted in C), what
    pandas counts as missing (``isna``: NaN in a float Series too) as
    ``None``."""
    missing = series.isna()
    values: List[Any]
    if missing.any():
        values = series.astype(object).where(~missing, None).tolist()
    else:
        values = series.tolist()
    return values


def encrypt_series(cipher: FieldCipher[Any], series: pandas.Series[Any], rows: Any,
                   text: bool) -> pandas.Series[Any]:
    tokens = cipher.encrypt_many(_values(series), _row_keys(rows), text=text)
    return pandas.Series(tokens, index=series.index, name=series.name, dtype=object)


def index_series(cipher: FieldCipher[Any], series: pandas.Series[Any]) -> pandas.Series[Any]:
    terms = cipher.index_many(_values(series))
    return pandas.Series(terms, index=series.index, name=series.name, dtype=object)


#: The natural dtype of each column type: (without missing values, with them).
_DTYPES = {
    "int": ("int64", "Int64"),
    "float": ("float64", "float64"),
    "bool": ("bool", "boolean"),
    "bytes": (object, object),
    "date": (object, object),
    "decimal": (object, object),
}


def decrypt_series(cipher: FieldCipher[Any], series: pandas.Series[Any], rows: Any,
                   dtype: Any) -> pandas.Series[Any]:
    tokens = [None if _missing(t) else t for t in series.tolist()]
    values = cipher.decrypt_many(tokens, _row_keys(rows))
    if dtype is None:
        kind = cipher.value_type
        if kind == "timestamp":
            stamps = pandas.to_datetime(pandas.Series(values, dtype=object), utc=True)
            return pandas.Series(stamps.array, index=series.index, name=series.name)
        if kind == "text":
            # pandas' own choice for strings (its string dtype where that
            # is the default, object before).
            return pandas.Series(values, index=series.index, name=series.name)
        plain, with_missing = _DTYPES[kind]
        dtype = with_missing if any(v is None for v in values) else plain
    return pandas.Series(values, index=series.index, name=series.name, dtype=dtype)


def _missing(token: Any) -> bool:
    """A missing token in a Series: None, NaN (object columns) or pd.NA."""
    return token is None or token is pandas.NA or (isinstance(token, float) and token != token)
