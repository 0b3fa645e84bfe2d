"""Values as pandas and numpy hand them over, and the Series helpers."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import strongroom

UTC = dt.timezone.utc


def test_numpy_scalars_are_their_python_values(keyring: strongroom.Keyring) -> None:
    i = strongroom.FieldCipher(keyring, "t", "i", int)
    for v in (np.int64(-5), np.int32(7), np.uint8(200)):
        assert i.decrypt(i.encrypt(v)) == int(v)
    f = strongroom.FieldCipher(keyring, "t", "f", float)
    assert f.decrypt(f.encrypt(np.float64(1.25))) == 1.25
    assert f.decrypt(f.encrypt(np.float32(0.5))) == 0.5
    b = strongroom.FieldCipher(keyring, "t", "b", bool)
    assert b.decrypt(b.encrypt(np.bool_(True))) is True
    d = strongroom.FieldCipher(keyring, "t", "d", dt.date)
    assert d.decrypt(d.encrypt(np.datetime64("2024-02-29"))) == dt.date(2024, 2, 29)
    ts = strongroom.FieldCipher(keyring, "t", "ts", dt.datetime)
    stamp = pd.Timestamp("2024-03-01 12:30:00.123456", tz="Europe/Paris")
    assert ts.decrypt(ts.encrypt(stamp)) == stamp.to_pydatetime()


def test_an_int_goes_into_a_float_column_when_exact(keyring: strongroom.Keyring) -> None:
    f = strongroom.FieldCipher(keyring, "t", "f", float)
    back = f.decrypt(f.encrypt(3))
    assert back == 3.0 and isinstance(back, float)
    assert f.decrypt_many(f.encrypt_many([1, np.int64(2), 2**53])) == [1.0, 2.0, float(2**53)]
    with pytest.raises(strongroom.UsageError) as info:
        f.encrypt(2**53 + 1)
    assert info.value.name == "InvalidValue"
    # The other way round stays refused: a float is not an int.
    i = strongroom.FieldCipher(keyring, "t", "i", int)
    with pytest.raises(strongroom.UsageError) as info:
        i.encrypt(3.0)  # type: ignore[call-overload]
    assert info.value.name == "FieldType"


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.datetime64("NaT")])
def test_missing_values_are_null(keyring: strongroom.Keyring, missing: Any) -> None:
    for ty in (str, int, dt.date, dt.datetime, decimal.Decimal):
        c = strongroom.FieldCipher(keyring, "t", "c", ty)
        assert c.encrypt(missing) is None
        assert c.encrypt_many([missing, missing]) == [None, None]
        hidden = strongroom.FieldCipher(keyring, "t", "c", ty, hide_null=True)
        assert hidden.decrypt(hidden.encrypt(missing)) is None
    indexed = strongroom.FieldCipher(keyring, "t", "e", str, blind_index=8)
    assert indexed.index(missing) is None and indexed.index_many([missing]) == [None]


def test_nan_is_a_value_in_a_float_column(keyring: strongroom.Keyring) -> None:
    f = strongroom.FieldCipher(keyring, "t", "f", float)
    back = f.decrypt(f.encrypt(float("nan")))
    assert back is not None and math.isnan(back)
    assert f.encrypt(pd.NA) is None


def test_ambiguous_timestamps_are_refused(keyring: strongroom.Keyring) -> None:
    ts = strongroom.FieldCipher(keyring, "t", "ts", dt.datetime)
    for naive in (np.datetime64("2024-01-01T10:00"), pd.Timestamp("2024-01-01 10:00")):
        with pytest.raises(strongroom.UsageError) as info:
            ts.encrypt(naive)
        assert info.value.name == "InvalidValue"
        assert "time zone" in str(info.value) or "aware" in str(info.value)


def test_series_round_trips_keep_index_name_and_dtype(keyring: strongroom.Keyring) -> None:
    index = pd.Index([30, 10, 20], name="id")
    cases: list[tuple[Any, pd.Series]] = [
        (int, pd.Series([3, -1, 2**40], index=index, name="n", dtype="int64")),
        (int, pd.Series([3, None, 5], index=index, name="n", dtype="Int64")),
        (float, pd.Series([1.5, float("nan"), -0.0], index=index, name="x")),
        (bool, pd.Series([True, False, True], index=index, name="flag")),
        (str, pd.Series(["a", "b", None], index=index, name="s")),
        (dt.datetime, pd.Series(pd.to_datetime(["2024-01-01 10:00", None, "2025-06-30 00:00"]).tz_localize("UTC"),
                                index=index, name="when")),
    ]
    for ty, series in cases:
        c = strongroom.FieldCipher(keyring, "t", str(series.name), ty)
        tokens = c.encrypt_series(series, rows=series.index)
        assert tokens.index.equals(series.index) and tokens.name == series.name
        assert tokens.isna().tolist() == series.isna().tolist()
        assert all(t.startswith("sr1.") for t in tokens.dropna())
        back = c.decrypt_series(tokens, rows=series.index)
        if ty is dt.datetime:
            assert back.dtype == pd.DatetimeTZDtype("us", "UTC")
            pd.testing.assert_series_equal(back, series.astype(back.dtype))
        else:
            pd.testing.assert_series_equal(back, series)
    # Row binding: tokens moved between rows do not decrypt.
    c = strongroom.FieldCipher(keyring, "t", "s", str)
    s = pd.Series(["a", "b"], index=[1, 2])
    tokens = c.encrypt_series(s, rows=s.index)
    with pytest.raises(strongroom.AuthenticationError) as info:
        c.decrypt_series(tokens, rows=[2, 1])
    assert info.value.index == 0


def test_series_helpers_take_dtype_bytes_and_index(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "email", str, blind_index=16, normalizer="trim-lowercase")
    s = pd.Series(["A@b.c", "a@B.C ", None], index=["x", "y", "z"])
    raw = c.encrypt_series(s, text=False)
    assert isinstance(raw["x"], bytes) and raw["z"] is None
    assert c.decrypt_series(raw, dtype="string").dtype == "string"
    terms = c.index_series(s)
    assert terms["x"] == terms["y"] and terms["z"] is None and list(terms.index) == ["x", "y", "z"]
    df = pd.DataFrame({"email": s})
    df["email"] = c.encrypt_series(df["email"])
    assert c.decrypt_series(df["email"]).tolist()[:2] == ["A@b.c", "a@B.C "]
