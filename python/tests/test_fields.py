"""Field ciphers: every Python type, NULLs, rows, batches, blind indexes,
rotation and rewrap."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, List

import pytest

import strongroom

UTC = dt.timezone.utc

SAMPLES: List[Any] = [
    (str, "Zoë <zoe@example.com>"),
    (bytes, b"\x00\xffbinary"),
    (int, -(2**63)),
    (int, 2**63 - 1),
    (float, -0.0),
    (float, 1e308),
    (bool, False),
    (dt.date, dt.date(1969, 12, 31)),
    (dt.datetime, dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)),
    (decimal.Decimal, decimal.Decimal("-12345678901234567890.000100")),
]


@pytest.mark.parametrize("ty,value", SAMPLES, ids=[f"{t.__name__}-{i}" for i, (t, _) in enumerate(SAMPLES)])
def test_every_type_round_trips(keyring: strongroom.Keyring, ty: type, value: Any) -> None:
    c: strongroom.FieldCipher[Any] = strongroom.FieldCipher(keyring, "t", "c", ty)
    token = c.encrypt(value, row=42)
    assert isinstance(token, bytes)
    back = c.decrypt(token, row=42)
    assert type(back) is type(value) and back == value
    text = c.encrypt_text(value, row=42)
    assert text is not None and text.startswith("sr1.")
    assert c.decrypt(text, row=42) == value


def test_aware_datetimes_are_stored_as_utc(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "ts", "timestamp")
    local = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    back = c.decrypt(c.encrypt(local))
    assert isinstance(back, dt.datetime)
    assert back == local and back.tzinfo == UTC and back.hour == 19


def test_naive_datetime_is_refused_clearly(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "ts", dt.datetime)
    with pytest.raises(strongroom.UsageError, match="naive datetime") as info:
        c.encrypt(dt.datetime(2024, 1, 1))
    assert info.value.name == "InvalidValue"


def test_wrong_type_and_bad_values(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "c", int)
    with pytest.raises(strongroom.UsageError) as info:
        c.encrypt("5")  # type: ignore[call-overload]
    assert info.value.name == "FieldType"
    with pytest.raises(strongroom.UsageError) as big:
        c.encrypt(2**64)
    assert big.value.name == "InvalidValue"
    d = strongroom.FieldCipher(keyring, "t", "d", decimal.Decimal)
    with pytest.raises(strongroom.UsageError):
        d.encrypt(decimal.Decimal("NaN"))
    with pytest.raises(strongroom.UsageError) as other:
        c.encrypt(object())  # type: ignore[call-overload]
    assert other.value.name == "FieldType"


def test_null_kept_or_hidden(keyring: strongroom.Keyring) -> None:
    kept = strongroom.FieldCipher(keyring, "t", "c", str)
    assert kept.encrypt(None) is None and kept.decrypt(None) is None
    hidden = strongroom.FieldCipher(keyring, "t", "c", str, hide_null=True)
    token = hidden.encrypt(None)
    assert isinstance(token, bytes) and hidden.decrypt(token) is None


def test_tokens_are_bound_to_column_and_row(keyring: strongroom.Keyring) -> None:
    a = strongroom.FieldCipher(keyring, "users", "email", str)
    b = strongroom.FieldCipher(keyring, "users", "phone", str)
    token = a.encrypt("secret-value-42", row=b"1")
    with pytest.raises(strongroom.AuthenticationError) as info:
        b.decrypt(token, row=b"1")
    assert info.value.name == "FieldAuthFailed"
    with pytest.raises(strongroom.AuthenticationError) as moved:
        a.decrypt(token, row=b"2")
    assert moved.value.name == "FieldAuthFailed"
    assert "secret-value-42" not in repr(a) + repr(token)


def test_batches_match_single_calls(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "c", str, blind_index=16, normalizer="trim-lowercase")
    values = [f"User{i}@Example.com" if i % 7 else None for i in range(5000)]
    rows = list(range(5000))
    tokens = c.encrypt_many(values, rows)
    assert c.decrypt_many(tokens, rows) == values
    assert c.index_many(values) == [c.index(v) for v in values]
    assert c.index(" user1@example.com") == c.index("USER1@EXAMPLE.COM")
    text = c.encrypt_many(values[:10], rows[:10], text=True)
    assert all(t is None or (isinstance(t, str) and t.startswith("sr1.")) for t in text)


def test_batch_errors_carry_the_index(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "c", str)
    with pytest.raises(strongroom.UsageError) as info:
        c.encrypt_many(["a", "b", 3, "d"])  # type: ignore[list-item]
    assert (info.value.name, info.value.index) == ("FieldType", 2)
    tokens = c.encrypt_many(["a", "b", "c"])
    assert isinstance(tokens[1], bytes)
    broken = bytearray(tokens[1])
    broken[-1] ^= 1
    tokens[1] = bytes(broken)
    with pytest.raises(strongroom.AuthenticationError) as auth:
        c.decrypt_many(tokens)
    assert auth.value.index == 1
    with pytest.raises(strongroom.UsageError):
        c.encrypt_many(["a"], rows=[1, 2])


# Larger than the binding's block (8192 items): batches run in blocks.
MANY = 20_000


def test_batches_across_blocks_keep_order_rows_and_inputs(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "c", str, blind_index=8)
    values = [None if i % 5 == 0 else f"v{i}" if i % 3 else f"Zoë {i} 𝄞" for i in range(MANY)]
    rows = [f"row-{i}" for i in range(MANY)]
    tokens = c.encrypt_many(iter(values), tuple(rows))
    assert len(tokens) == MANY
    assert [t is None for t in tokens] == [v is None for v in values]
    assert c.decrypt_many(tuple(tokens), iter(rows)) == values
    # Each token is bound to its own row, also in the last block.
    assert c.decrypt(tokens[MANY - 1], row=rows[MANY - 1]) == values[MANY - 1]
    with pytest.raises(strongroom.AuthenticationError):
        c.decrypt(tokens[MANY - 1], row=rows[MANY - 2])
    assert c.index_many(values) == [c.index(v) for v in values]
    assert c.decrypt_many(c.rewrap_many(tokens, rows), rows) == values
    text = c.encrypt_many(values, rows, text=True)
    assert c.decrypt_many(text, rows) == values


def test_batch_errors_across_blocks_carry_the_index(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "c", str)
    values: List[Any] = ["x"] * MANY
    values[17_000] = 3
    with pytest.raises(strongroom.UsageError) as info:
        c.encrypt_many(values)
    assert (info.value.name, info.value.index) == ("FieldType", 17_000)
    values[17_000] = object()
    with pytest.raises(strongroom.UsageError) as info:
        c.encrypt_many(values)
    assert info.value.index == 17_000
    tokens: List[Any] = c.encrypt_many(["x"] * MANY)
    broken = bytearray(tokens[9_000])
    broken[-1] ^= 1
    tokens[9_000] = bytes(broken)
    with pytest.raises(strongroom.AuthenticationError) as auth:
        c.decrypt_many(tokens)
    assert auth.value.index == 9_000
    # An earlier failure wins over a later unreadable item.
    tokens[19_000] = 12
    with pytest.raises(strongroom.AuthenticationError) as auth:
        c.decrypt_many(tokens)
    assert auth.value.index == 9_000
    tokens[9_000] = tokens[0]
    with pytest.raises(strongroom.UsageError) as bad:
        c.decrypt_many(tokens)
    assert (bad.value.name, bad.value.index) == ("InvalidArgument", 19_000)
    with pytest.raises(strongroom.UsageError):
        c.encrypt_many(["x"] * MANY, rows=range(MANY - 1))


def test_text_values_with_surrogates_are_refused(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "c", str)
    with pytest.raises(UnicodeEncodeError):
        c.encrypt("bad \udc80")
    with pytest.raises(UnicodeEncodeError):
        c.encrypt_many(["ok", "bad \udc80"])
    assert c.decrypt(c.encrypt("Zoë ✓ 𝄞")) == "Zoë ✓ 𝄞"


def test_deterministic_lookup_tokens(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "ssn", str, deterministic=True)
    assert c.encrypt("123") == c.encrypt("123") != c.encrypt("124")
    assert c.encrypt("123") in c.lookup_tokens("123")


def test_rotation_and_rewrap(keyring: strongroom.Keyring) -> None:
    old = strongroom.FieldCipher(keyring, "t", "c", str, blind_index=8)
    tokens = old.encrypt_many(["a", "b", None], rows=[1, 2, 3])
    text = old.encrypt_text("t", row=9)
    keyring.add_key(promote=True)
    new = strongroom.FieldCipher(keyring, "t", "c", str, blind_index=8)
    assert new.primary_version == 2
    assert all(new.needs_rewrap(t) for t in tokens if t is not None)
    again = new.rewrap_many(tokens, rows=[1, 2, 3])
    assert again[2] is None
    assert not any(new.needs_rewrap(t) for t in again if t is not None)
    assert new.decrypt_many(again, rows=[1, 2, 3]) == ["a", "b", None]
    assert text is not None
    rewrapped = new.rewrap(text, row=9)
    assert isinstance(rewrapped, str) and new.decrypt(rewrapped, row=9) == "t"
    # Queries during the rotation look for both versions' terms.
    assert len(new.lookup_terms("a")) == 2 and old.index("a") in new.lookup_terms("a")
