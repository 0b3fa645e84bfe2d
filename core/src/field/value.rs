//! Typed field values and their plaintext encoding.
//!
//! Every token's plaintext is `type tag (1 byte) || body`:
//!
//! | tag | type | body |
//! |---|---|---|
//! | 0x00 | NULL (hidden) | zero bytes, as many as the column type's fixed body length (0 for variable-length types) |
//! | 0x01 | bytes | the bytes |
//! | 0x02 | text | UTF-8 |
//! | 0x03 | int | i64, big-endian two's complement |
//! | 0x04 | float | IEEE 754 binary64 bits, big-endian (NaN payloads and -0.0 kept) |
//! | 0x05 | bool | 0x00 or 0x01 |
//! | 0x06 | date | i32 days since 1970-01-01, big-endian |
//! | 0x07 | timestamp | i64 microseconds since 1970-01-01T00:00:00Z, big-endian |
//! | 0x08 | decimal | ASCII `-?[0-9]+(\.[0-9]+)?`, exactly as given |
//!
//! A hidden NULL is padded to the length of a non-NULL value of a
//! fixed-size type, so the token length does not reveal it; for
//! variable-length types it has the length of the empty value.

use crate::error::{Error, Result};
use crate::secret::wipe_vec;
use std::fmt;
use zeroize::Zeroize;

/// Tag of a hidden NULL in the plaintext encoding.
pub const NULL_TAG: u8 = 0x00;

/// The type of a column's values. Each column holds exactly one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Arbitrary bytes.
    Bytes,
    /// UTF-8 text.
    Text,
    /// 64-bit signed integer.
    Int,
    /// 64-bit IEEE 754 floating point.
    Float,
    /// Boolean.
    Bool,
    /// Calendar date: days since 1970-01-01.
    Date,
    /// Instant: microseconds since 1970-01-01T00:00:00Z.
    Timestamp,
    /// Exact decimal number kept as text (`-?[0-9]+(\.[0-9]+)?`).
    Decimal,
}

impl ValueType {
    /// Every type, in tag order.
    pub const ALL: [ValueType; 8] = [
        ValueType::Bytes,
        ValueType::Text,
        ValueType::Int,
        ValueType::Float,
        ValueType::Bool,
        ValueType::Date,
        ValueType::Timestamp,
        ValueType::Decimal,
    ];

    /// Stable lower-case name, used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Bytes => "bytes",
            ValueType::Text => "text",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Date => "date",
            ValueType::Timestamp => "timestamp",
            ValueType::Decimal => "decimal",
        }
    }

    /// The tag byte of this type in the plaintext encoding.
    pub fn tag(self) -> u8 {
        match self {
            ValueType::Bytes => 0x01,
            ValueType::Text => 0x02,
            ValueType::Int => 0x03,
            ValueType::Float => 0x04,
            ValueType::Bool => 0x05,
            ValueType::Date => 0x06,
            ValueType::Timestamp => 0x07,
            ValueType::Decimal => 0x08,
        }
    }

    /// Inverse of [`ValueType::tag`].
    pub fn from_tag(tag: u8) -> Option<Self> {
        ValueType::ALL.into_iter().find(|t| t.tag() == tag)
    }

    /// Body length of fixed-size types (`None` for bytes, text, decimal).
    pub fn fixed_len(self) -> Option<usize> {
        match self {
            ValueType::Int | ValueType::Float | ValueType::Timestamp => Some(8),
            ValueType::Date => Some(4),
            ValueType::Bool => Some(1),
            ValueType::Bytes | ValueType::Text | ValueType::Decimal => None,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed plaintext value. Text and byte contents are wiped on drop and
/// never shown by `Debug` (which prints the type only).
///
/// Because `Value` wipes itself on drop, its contents cannot be moved out
/// by pattern matching; use the accessors (`as_str`, `into_string`, ...)
/// or match on a reference.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// Arbitrary bytes (BLOB).
    Bytes(Vec<u8>),
    /// UTF-8 text.
    Text(String),
    /// 64-bit signed integer.
    Int(i64),
    /// 64-bit floating point; the exact bits round-trip.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Days since 1970-01-01 (negative before).
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z (negative before).
    Timestamp(i64),
    /// Exact decimal as text, `-?[0-9]+(\.[0-9]+)?`; checked when encrypted
    /// (see [`Value::decimal`]). "1.50" and "1.5" are different values.
    Decimal(String),
}

impl Drop for Value {
    fn drop(&mut self) {
        match self {
            Value::Bytes(b) => wipe_vec(b),
            Value::Text(s) | Value::Decimal(s) => wipe_vec(&mut std::mem::take(s).into_bytes()),
            _ => {}
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value::{}([REDACTED])", self.value_type().name())
    }
}

impl Value {
    /// A decimal value, checked against `-?[0-9]+(\.[0-9]+)?`
    /// ([`Error::InvalidArgument`] otherwise).
    pub fn decimal(text: impl Into<String>) -> Result<Value> {
        let text = text.into();
        check_decimal(&text)?;
        Ok(Value::Decimal(text))
    }

    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Bytes(_) => ValueType::Bytes,
            Value::Text(_) => ValueType::Text,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::Date(_) => ValueType::Date,
            Value::Timestamp(_) => ValueType::Timestamp,
            Value::Decimal(_) => ValueType::Decimal,
        }
    }

    /// The bytes of a `Bytes` value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text of a `Text` or `Decimal` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Decimal(s) => Some(s),
            _ => None,
        }
    }

    /// The integer of an `Int` value.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The number of a `Float` value.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(v),
            _ => None,
        }
    }

    /// The boolean of a `Bool` value.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The days since 1970-01-01 of a `Date` value.
    pub fn as_date_days(&self) -> Option<i32> {
        match *self {
            Value::Date(v) => Some(v),
            _ => None,
        }
    }

    /// The microseconds since the epoch of a `Timestamp` value.
    pub fn as_timestamp_micros(&self) -> Option<i64> {
        match *self {
            Value::Timestamp(v) => Some(v),
            _ => None,
        }
    }

    /// Moves the string out of a `Text` or `Decimal` value. The caller
    /// becomes responsible for wiping it.
    pub fn into_string(mut self) -> Option<String> {
        match &mut self {
            Value::Text(s) | Value::Decimal(s) => Some(std::mem::take(s)),
            _ => None,
        }
    }

    /// Moves the bytes out of a `Bytes` value. The caller becomes
    /// responsible for wiping them.
    pub fn into_bytes(mut self) -> Option<Vec<u8>> {
        match &mut self {
            Value::Bytes(b) => Some(std::mem::take(b)),
            _ => None,
        }
    }

    /// A borrowed view of this value (see [`ValueRef`]).
    pub fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Bytes(b) => ValueRef::Bytes(b),
            Value::Text(s) => ValueRef::Text(s),
            Value::Int(v) => ValueRef::Int(*v),
            Value::Float(v) => ValueRef::Float(*v),
            Value::Bool(v) => ValueRef::Bool(*v),
            Value::Date(v) => ValueRef::Date(*v),
            Value::Timestamp(v) => ValueRef::Timestamp(*v),
            Value::Decimal(s) => ValueRef::Decimal(s),
        }
    }

    /// Appends `tag || body` to `out`.
    #[cfg(test)]
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        self.as_value_ref().encode_into(out);
    }
}

/// A borrowed typed value: the same types as [`Value`], with text and
/// bytes borrowed from the caller, so that encrypting them copies nothing
/// but into the token (see [`FieldCipher::encrypt_ref`]). It owns no
/// plaintext, so it wipes nothing; `Debug` prints the type only.
///
/// [`FieldCipher::encrypt_ref`]: super::FieldCipher::encrypt_ref
#[derive(Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// Arbitrary bytes (BLOB).
    Bytes(&'a [u8]),
    /// UTF-8 text.
    Text(&'a str),
    /// 64-bit signed integer.
    Int(i64),
    /// 64-bit floating point.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
    /// Exact decimal as text, `-?[0-9]+(\.[0-9]+)?` (checked when
    /// encrypted).
    Decimal(&'a str),
}

impl fmt::Debug for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValueRef::{}([REDACTED])", self.value_type().name())
    }
}

impl<'a> ValueRef<'a> {
    /// The type of this value.
    pub fn value_type(self) -> ValueType {
        match self {
            ValueRef::Bytes(_) => ValueType::Bytes,
            ValueRef::Text(_) => ValueType::Text,
            ValueRef::Int(_) => ValueType::Int,
            ValueRef::Float(_) => ValueType::Float,
            ValueRef::Bool(_) => ValueType::Bool,
            ValueRef::Date(_) => ValueType::Date,
            ValueRef::Timestamp(_) => ValueType::Timestamp,
            ValueRef::Decimal(_) => ValueType::Decimal,
        }
    }

    /// An owned copy (which wipes itself on drop).
    pub fn to_value(self) -> Value {
        match self {
            ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
            ValueRef::Text(s) => Value::Text(s.to_owned()),
            ValueRef::Int(v) => Value::Int(v),
            ValueRef::Float(v) => Value::Float(v),
            ValueRef::Bool(v) => Value::Bool(v),
            ValueRef::Date(v) => Value::Date(v),
            ValueRef::Timestamp(v) => Value::Timestamp(v),
            ValueRef::Decimal(s) => Value::Decimal(s.to_owned()),
        }
    }

    /// Length of the body in the plaintext encoding.
    pub(crate) fn body_len(self) -> usize {
        match self {
            ValueRef::Bytes(b) => b.len(),
            ValueRef::Text(s) | ValueRef::Decimal(s) => s.len(),
            other => other.value_type().fixed_len().unwrap_or(0),
        }
    }

    /// Appends `tag || body` to `out`.
    pub(crate) fn encode_into(self, out: &mut Vec<u8>) {
        out.push(self.value_type().tag());
        self.encode_body(out);
    }

    /// Appends the body only.
    pub(crate) fn encode_body(self, out: &mut Vec<u8>) {
        match self {
            ValueRef::Bytes(b) => out.extend_from_slice(b),
            ValueRef::Text(s) | ValueRef::Decimal(s) => out.extend_from_slice(s.as_bytes()),
            ValueRef::Int(v) | ValueRef::Timestamp(v) => out.extend_from_slice(&v.to_be_bytes()),
            ValueRef::Float(v) => out.extend_from_slice(&v.to_bits().to_be_bytes()),
            ValueRef::Bool(v) => out.push(u8::from(v)),
            ValueRef::Date(v) => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        v.as_value_ref()
    }
}

impl<'a> From<&'a str> for ValueRef<'a> {
    fn from(s: &'a str) -> Self {
        ValueRef::Text(s)
    }
}

impl<'a> From<&'a [u8]> for ValueRef<'a> {
    fn from(b: &'a [u8]) -> Self {
        ValueRef::Bytes(b)
    }
}

impl From<i64> for ValueRef<'_> {
    fn from(v: i64) -> Self {
        ValueRef::Int(v)
    }
}

impl From<f64> for ValueRef<'_> {
    fn from(v: f64) -> Self {
        ValueRef::Float(v)
    }
}

impl From<bool> for ValueRef<'_> {
    fn from(v: bool) -> Self {
        ValueRef::Bool(v)
    }
}

/// The plaintext encoding (`tag || body`) of `value` in a column of type
/// `ty`; `None` encodes a hidden NULL. [`Error::FieldType`] if the value
/// has another type. The result holds plaintext: wipe it after use. For
/// test vectors and bindings; the cipher encodes in place.
pub fn encode_plaintext(value: Option<&Value>, ty: ValueType) -> Result<Vec<u8>> {
    let value = value.map(Value::as_value_ref);
    let mut out = Vec::with_capacity(encoded_len(value, ty));
    match value {
        Some(v) => {
            check_type(v, ty)?;
            v.encode_into(&mut out);
        }
        None => encode_null_into(ty, &mut out),
    }
    Ok(out)
}

/// Appends the encoding of a hidden NULL for a column of type `ty`.
pub(crate) fn encode_null_into(ty: ValueType, out: &mut Vec<u8>) {
    out.push(NULL_TAG);
    out.resize(out.len() + ty.fixed_len().unwrap_or(0), 0);
}

/// Length of the plaintext encoding of `value` in a column of type `ty`.
pub(crate) fn encoded_len(value: Option<ValueRef<'_>>, ty: ValueType) -> usize {
    1 + match value {
        Some(v) => v.body_len(),
        None => ty.fixed_len().unwrap_or(0),
    }
}

/// Checks that `value` may be stored in a column of type `ty`.
pub(crate) fn check_type(value: ValueRef<'_>, ty: ValueType) -> Result<()> {
    let found = value.value_type();
    if found != ty {
        return Err(Error::FieldType {
            expected: ty.name(),
            found: found.name(),
        });
    }
    if let ValueRef::Decimal(s) = value {
        check_decimal(s)?;
    }
    Ok(())
}

/// Checks the decimal grammar `-?[0-9]+(\.[0-9]+)?`.
fn check_decimal(s: &str) -> Result<()> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if all_digits(int) && frac.is_none_or(all_digits) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(
            "a decimal must match -?[0-9]+(.[0-9]+)? (no exponent, no spaces)".into(),
        ))
    }
}

/// Decodes a plaintext (`tag || body`) of a column of type `ty`, consuming
/// the buffer (which is wiped if not moved into the value). A hidden NULL
/// decodes to `None`.
pub(crate) fn decode(mut plaintext: Vec<u8>, ty: ValueType) -> Result<Option<Value>> {
    let result = decode_inner(&mut plaintext, ty);
    // Empty (unallocated) when the bytes moved into the value.
    wipe_vec(&mut plaintext);
    result
}

fn decode_inner(plaintext: &mut Vec<u8>, ty: ValueType) -> Result<Option<Value>> {
    let malformed = |detail: &str| Error::malformed("field value", detail.to_string());
    let (&tag, body) = plaintext
        .split_first()
        .ok_or_else(|| malformed("empty plaintext"))?;
    if tag == NULL_TAG {
        let pad = ty.fixed_len().unwrap_or(0);
        if body.len() != pad || body.iter().any(|&b| b != 0) {
            return Err(malformed("bad NULL padding"));
        }
        return Ok(None);
    }
    let found = ValueType::from_tag(tag).ok_or_else(|| malformed("unknown type tag"))?;
    if found != ty {
        return Err(Error::FieldType {
            expected: ty.name(),
            found: found.name(),
        });
    }
    if let Some(n) = ty.fixed_len()
        && body.len() != n
    {
        return Err(malformed("wrong body length for the type"));
    }
    let be8 = |b: &[u8]| <[u8; 8]>::try_from(b).expect("length checked");
    let value = match ty {
        ValueType::Int => Value::Int(i64::from_be_bytes(be8(body))),
        ValueType::Timestamp => Value::Timestamp(i64::from_be_bytes(be8(body))),
        ValueType::Float => Value::Float(f64::from_bits(u64::from_be_bytes(be8(body)))),
        ValueType::Date => Value::Date(i32::from_be_bytes(body.try_into().expect("length checked"))),
        ValueType::Bool => match body[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            _ => return Err(malformed("bool body is not 0 or 1")),
        },
        ValueType::Bytes | ValueType::Text | ValueType::Decimal => {
            // Move the buffer into the value without copying: drop the tag.
            plaintext.remove(0);
            let bytes = std::mem::take(plaintext);
            if ty == ValueType::Bytes {
                return Ok(Some(Value::Bytes(bytes)));
            }
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let mut bytes = e.into_bytes();
                    bytes.zeroize();
                    return Err(malformed("text is not UTF-8"));
                }
            };
            let value = if ty == ValueType::Text {
                Value::Text(text)
            } else {
                Value::Decimal(text)
            };
            if let Value::Decimal(s) = &value {
                check_decimal(s).map_err(|_| malformed("decimal does not match the grammar"))?;
            }
            value
        }
    };
    Ok(Some(value))
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Bytes(b.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(b)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: Value) {
        let ty = v.value_type();
        let mut buf = Vec::new();
        v.encode_into(&mut buf);
        assert_eq!(buf.len(), encoded_len(Some(v.as_value_ref()), ty));
        let back = decode(buf, ty).unwrap().unwrap();
        assert_eq!(back.value_type(), ty);
        match (&v, &back) {
            (Value::Float(a), Value::Float(b)) => assert_eq!(a.to_bits(), b.to_bits()),
            _ => assert!(v == back),
        }
    }

    #[test]
    fn every_type_round_trips() {
        round_trip(Value::Bytes(vec![0, 1, 255]));
        round_trip(Value::Text("héllo".into()));
        round_trip(Value::Int(i64::MIN));
        round_trip(Value::Float(f64::NAN));
        round_trip(Value::Float(-0.0));
        round_trip(Value::Bool(true));
        round_trip(Value::Date(-719_162));
        round_trip(Value::Timestamp(1_700_000_000_000_000));
        round_trip(Value::decimal("-12.50").unwrap());
    }

    #[test]
    fn nulls_are_padded() {
        for ty in ValueType::ALL {
            let mut buf = Vec::new();
            encode_null_into(ty, &mut buf);
            assert_eq!(buf.len(), encoded_len(None, ty));
            assert!(decode(buf, ty).unwrap().is_none());
        }
        assert!(decode(vec![0, 0, 0], ValueType::Int).is_err());
    }

    #[test]
    fn decimal_grammar() {
        for ok in ["0", "-1", "12.5", "-0.000", "123456789012345678901234567890"] {
            assert!(Value::decimal(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-", ".5", "5.", "1e3", " 1", "+1", "1.2.3", "١"] {
            assert!(Value::decimal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrong_type_is_reported() {
        let mut buf = Vec::new();
        Value::Int(5).encode_into(&mut buf);
        match decode(buf, ValueType::Text) {
            Err(Error::FieldType { expected, found }) => assert_eq!((expected, found), ("text", "int")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn debug_hides_contents() {
        let v = Value::Text("secret-text".into());
        assert_eq!(format!("{v:?}"), "Value::text([REDACTED])");
    }
}
