//! The canonical text form of field values, for command lines, CSV files
//! and other text interfaces: [`Value::parse`] and [`Value::to_text`].
//!
//! | type | written as | also read |
//! |---|---|---|
//! | bytes | lower-case hex (`00ff`) | upper-case hex; a `\x` prefix (PostgreSQL `bytea` output) |
//! | text | the text, as is | |
//! | int | decimal (`-42`) | a leading `+`, leading zeros |
//! | float | Rust's shortest round-trip form (`1.0`, `-0.0`, `1e300`, `NaN`, `inf`, `-inf`) | what `f64::from_str` reads (`1E5`, `.5`, `Infinity`, any case), except finite numbers beyond the range of `f64` |
//! | bool | `true`, `false` | `t`, `f`, `1`, `0`; any case |
//! | date | `YYYY-MM-DD`, proleptic Gregorian, 0001-01-01 to 9999-12-31 | |
//! | timestamp | `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, UTC, six fraction digits only when non-zero | `t` or a space for `T`; `z`; 1 to 6 fraction digits; an offset `±HH:MM`, `±HHMM` or `±HH` instead of `Z` (converted to UTC) |
//! | decimal | as given | (the grammar of [`Value::decimal`]) |
//!
//! Parsing the written form gives the same value back, with one exception:
//! the text form of a float NaN is `NaN`, whatever its sign and payload.
//! Dates and timestamps outside years 0001 to 9999 have no text form.
//!
//! Errors are [`Error::InvalidValue`], naming the type and what is wrong;
//! they never quote the input, which may be secret.

use super::value::{Value, ValueType};
use crate::error::{Error, Result};
use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
use std::fmt::Write as _;
use zeroize::Zeroizing;

/// Days from 1970-01-01 to 0001-01-01 (negative).
const MIN_DAYS: i64 = -719_162;
/// Days from 1970-01-01 to 9999-12-31.
const MAX_DAYS: i64 = 2_932_896;
/// Microseconds in a day.
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// 0001-01-01T00:00:00Z in microseconds since the epoch.
const MIN_MICROS: i64 = MIN_DAYS * MICROS_PER_DAY;
/// 9999-12-31T23:59:59.999999Z in microseconds since the epoch.
const MAX_MICROS: i64 = (MAX_DAYS + 1) * MICROS_PER_DAY - 1;

const HEX_DIGITS: &str = "expected hex digits (0-9, a-f, optionally after \\x)";
const HEX_ODD: &str = "an odd number of hex digits";
const INT_SHAPE: &str = "expected a decimal integer";
const INT_RANGE: &str = "outside the range of a 64-bit signed integer";
const FLOAT_SHAPE: &str = "expected a decimal number, NaN, inf or -inf";
const FLOAT_RANGE: &str = "outside the range of a 64-bit float";
const BOOL_SHAPE: &str = "expected true or false (or t, f, 1, 0)";
const DECIMAL_SHAPE: &str = "expected -?[0-9]+(.[0-9]+)? (no exponent, no spaces)";
const DATE_SHAPE: &str = "expected YYYY-MM-DD";
const DATE_RANGE: &str = "outside 0001-01-01 to 9999-12-31";
const YEAR_RANGE: &str = "the year must be 0001 to 9999";
const MONTH_RANGE: &str = "the month must be 01 to 12";
const DAY_RANGE: &str = "no such day in that month";
const TIMESTAMP_SHAPE: &str = "expected YYYY-MM-DDTHH:MM:SS[.ffffff] and Z or an offset such as +02:00";
const TIME_RANGE: &str = "the hour, minute or second is out of range";
const FRACTION_LEN: &str = "more than 6 fraction digits (the precision is one microsecond)";
const OFFSET_RANGE: &str = "the UTC offset is out of range";
const TIMESTAMP_RANGE: &str = "outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z";

impl ValueType {
    /// Parses [`ValueType::name`] ("bytes", "text", "int", ...).
    pub fn from_name(name: &str) -> Option<Self> {
        ValueType::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl Value {
    /// Reads the text form of a value of type `ty` (see the
    /// [module documentation](super::text) for each type's grammar).
    /// [`Error::InvalidValue`] if `s` is not one.
    pub fn parse(ty: ValueType, s: &str) -> Result<Value> {
        let invalid = |reason| invalid(ty, reason);
        Ok(match ty {
            ValueType::Bytes => Value::Bytes(parse_hex(s).map_err(invalid)?),
            ValueType::Text => Value::Text(s.to_owned()),
            ValueType::Int => Value::Int(parse_int(s).map_err(invalid)?),
            ValueType::Float => Value::Float(parse_float(s).map_err(invalid)?),
            ValueType::Bool => Value::Bool(parse_bool(s).map_err(invalid)?),
            ValueType::Date => {
                Value::Date(parse_date(s.as_bytes()).map_err(|b| invalid(b.reason(DATE_SHAPE)))?)
            }
            ValueType::Timestamp => Value::Timestamp(parse_timestamp(s.as_bytes()).map_err(invalid)?),
            ValueType::Decimal => Value::decimal(s).map_err(|_| invalid(DECIMAL_SHAPE))?,
        })
    }

    /// The text form of this value, in a buffer that is wiped on drop.
    /// [`Error::InvalidValue`] for a date or timestamp outside years 0001
    /// to 9999, which have no text form.
    pub fn to_text(&self) -> Result<Zeroizing<String>> {
        // Sized up front so that the buffer never reallocates (which would
        // leave an unwiped copy behind).
        let capacity = match self {
            Value::Bytes(b) => 2 * b.len(),
            Value::Text(s) | Value::Decimal(s) => s.len(),
            _ => 32,
        };
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        match self {
            Value::Bytes(b) => HEXLOWER.encode_append(b, &mut out),
            Value::Text(s) | Value::Decimal(s) => out.push_str(s),
            Value::Int(v) => write!(out, "{v}").expect("writing to a String"),
            Value::Float(v) => write!(out, "{v:?}").expect("writing to a String"),
            Value::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
            Value::Date(d) => write_date(&mut out, i64::from(*d)).map_err(|r| invalid(ValueType::Date, r))?,
            Value::Timestamp(t) => {
                write_timestamp(&mut out, *t).map_err(|r| invalid(ValueType::Timestamp, r))?
            }
        }
        Ok(out)
    }
}

fn invalid(ty: ValueType, reason: &'static str) -> Error {
    Error::InvalidValue {
        value_type: ty.name(),
        reason,
    }
}

/// Hex, either case, with an optional `\x` prefix.
fn parse_hex(s: &str) -> Result<Vec<u8>, &'static str> {
    let digits = s.strip_prefix("\\x").unwrap_or(s);
    if !digits.len().is_multiple_of(2) {
        return Err(HEX_ODD);
    }
    HEXLOWER_PERMISSIVE
        .decode(digits.as_bytes())
        .map_err(|_| HEX_DIGITS)
}

fn parse_int(s: &str) -> Result<i64, &'static str> {
    use std::num::IntErrorKind;
    s.parse::<i64>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => INT_RANGE,
        _ => INT_SHAPE,
    })
}

fn parse_float(s: &str) -> Result<f64, &'static str> {
    let v = s.parse::<f64>().map_err(|_| FLOAT_SHAPE)?;
    if v.is_infinite() {
        // `f64::from_str` rounds finite numbers beyond the range to
        // infinity; only a spelled-out infinity is one.
        let word = s.trim_start_matches(['+', '-']);
        if !(word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity")) {
            return Err(FLOAT_RANGE);
        }
    }
    Ok(v)
}

fn parse_bool(s: &str) -> Result<bool, &'static str> {
    let is = |words: [&str; 3]| words.iter().any(|w| s.eq_ignore_ascii_case(w));
    if is(["true", "t", "1"]) {
        Ok(true)
    } else if is(["false", "f", "0"]) {
        Ok(false)
    } else {
        Err(BOOL_SHAPE)
    }
}

/// Why a date did not parse: its shape (reported in the words of the
/// caller's grammar) or one of its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadDate {
    Shape,
    Field(&'static str),
}

impl BadDate {
    fn reason(self, shape: &'static str) -> &'static str {
        match self {
            BadDate::Shape => shape,
            BadDate::Field(reason) => reason,
        }
    }
}

/// `YYYY-MM-DD` to days since 1970-01-01.
fn parse_date(b: &[u8]) -> Result<i32, BadDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(BadDate::Shape);
    }
    let (Some(y), Some(m), Some(d)) = (digits(&b[..4]), digits(&b[5..7]), digits(&b[8..])) else {
        return Err(BadDate::Shape);
    };
    if y == 0 {
        return Err(BadDate::Field(YEAR_RANGE));
    }
    if !(1..=12).contains(&m) {
        return Err(BadDate::Field(MONTH_RANGE));
    }
    if d == 0 || d > days_in_month(y, m) {
        return Err(BadDate::Field(DAY_RANGE));
    }
    let days = days_from_civil(i64::from(y), m, d);
    Ok(i32::try_from(days).expect("years 1 to 9999 fit"))
}

/// RFC 3339 (with the relaxations of the module documentation) to
/// microseconds since the epoch.
fn parse_timestamp(b: &[u8]) -> Result<i64, &'static str> {
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return Err(TIMESTAMP_SHAPE);
    }
    let days = parse_date(&b[..10]).map_err(|e| e.reason(TIMESTAMP_SHAPE))?;
    let (Some(h), Some(m), Some(s)) = (digits(&b[11..13]), digits(&b[14..16]), digits(&b[17..19])) else {
        return Err(TIMESTAMP_SHAPE);
    };
    if h > 23 || m > 59 || s > 59 {
        return Err(TIME_RANGE);
    }
    let (fraction, zone) = split_fraction(&b[19..])?;
    let offset = parse_offset(zone)?;
    let secs = i64::from(h * 3600 + m * 60 + s) - offset;
    let micros = i64::from(days) * MICROS_PER_DAY + secs * 1_000_000 + fraction;
    if !(MIN_MICROS..=MAX_MICROS).contains(&micros) {
        return Err(TIMESTAMP_RANGE);
    }
    Ok(micros)
}

/// An optional `.f` to `.ffffff` at the start of `b`: the microseconds and
/// the rest.
fn split_fraction(b: &[u8]) -> Result<(i64, &[u8]), &'static str> {
    let Some(rest) = b.strip_prefix(b".") else {
        return Ok((0, b));
    };
    let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    match n {
        0 => Err(TIMESTAMP_SHAPE),
        1..=6 => {
            let value = digits(&rest[..n]).expect("checked digits");
            Ok((i64::from(value) * 10i64.pow(6 - n as u32), &rest[n..]))
        }
        _ => Err(FRACTION_LEN),
    }
}

/// `Z`, `z`, `±HH:MM`, `±HHMM` or `±HH` to an offset in seconds east of UTC.
fn parse_offset(zone: &[u8]) -> Result<i64, &'static str> {
    let (sign, rest) = match zone {
        [b'Z' | b'z'] => return Ok(0),
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return Err(TIMESTAMP_SHAPE),
    };
    let (h, m) = match rest {
        [h1, h2] => (digits(&[*h1, *h2]), Some(0)),
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (digits(&[*h1, *h2]), digits(&[*m1, *m2])),
        _ => return Err(TIMESTAMP_SHAPE),
    };
    let (Some(h), Some(m)) = (h, m) else {
        return Err(TIMESTAMP_SHAPE);
    };
    if h > 23 || m > 59 {
        return Err(OFFSET_RANGE);
    }
    Ok(sign * i64::from(h * 3600 + m * 60))
}

/// ASCII digits (at most 9, so no overflow) as a number.
fn digits(b: &[u8]) -> Option<u32> {
    debug_assert!(b.len() <= 9);
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
}

fn write_date(out: &mut String, days: i64) -> Result<(), &'static str> {
    if !(MIN_DAYS..=MAX_DAYS).contains(&days) {
        return Err(DATE_RANGE);
    }
    let (y, m, d) = civil_from_days(days);
    write!(out, "{y:04}-{m:02}-{d:02}").expect("writing to a String");
    Ok(())
}

fn write_timestamp(out: &mut String, micros: i64) -> Result<(), &'static str> {
    if !(MIN_MICROS..=MAX_MICROS).contains(&micros) {
        return Err(TIMESTAMP_RANGE);
    }
    write_date(out, micros.div_euclid(MICROS_PER_DAY)).expect("in range");
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let (secs, fraction) = (in_day / 1_000_000, in_day % 1_000_000);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    write!(out, "T{h:02}:{m:02}:{s:02}").expect("writing to a String");
    if fraction != 0 {
        write!(out, ".{fraction:06}").expect("writing to a String");
    }
    out.push('Z');
    Ok(())
}

fn is_leap(y: u32) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Days <-> proleptic Gregorian civil date, after Howard Hinnant's
// "chrono-Compatible Low-Level Date Algorithms": eras of 400 years
// (146 097 days), years starting on March 1 so that the leap day is last.

/// Days since 1970-01-01 of a proleptic Gregorian date (`m` 1..=12,
/// `d` valid for the month).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day count since
/// 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Value) -> String {
        v.to_text().unwrap().as_str().to_owned()
    }

    /// `s` parses to `v`, which is written back as `s`.
    #[track_caller]
    fn canonical(ty: ValueType, s: &str, v: Value) {
        let parsed = Value::parse(ty, s).unwrap();
        assert!(parsed == v, "{s} parsed to another value");
        assert_eq!(text(&v), s);
    }

    #[track_caller]
    fn rejects(ty: ValueType, s: &str, reason: &str) {
        match Value::parse(ty, s) {
            Err(Error::InvalidValue {
                value_type,
                reason: r,
            }) => {
                assert_eq!((value_type, r), (ty.name(), reason), "input {s:?}");
            }
            other => panic!("{s:?}: {other:?}"),
        }
    }

    #[test]
    fn calendar_constants() {
        assert_eq!(days_from_civil(1, 1, 1), MIN_DAYS);
        assert_eq!(days_from_civil(9999, 12, 31), MAX_DAYS);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in (MIN_DAYS..=MAX_DAYS)
            .step_by(997)
            .chain([MIN_DAYS, -1, 0, MAX_DAYS])
        {
            let (y, m, d) = civil_from_days(days);
            assert!(d <= days_in_month(y as u32, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn type_names_round_trip() {
        for ty in ValueType::ALL {
            assert_eq!(ValueType::from_name(ty.name()), Some(ty));
        }
        assert_eq!(ValueType::from_name("Text"), None);
    }

    #[test]
    fn bytes() {
        canonical(ValueType::Bytes, "", Value::Bytes(vec![]));
        canonical(ValueType::Bytes, "00ff10", Value::Bytes(vec![0, 255, 16]));
        assert!(Value::parse(ValueType::Bytes, "\\x00FF").unwrap() == Value::Bytes(vec![0, 255]));
        rejects(ValueType::Bytes, "abc", HEX_ODD);
        rejects(ValueType::Bytes, "zz", HEX_DIGITS);
        rejects(ValueType::Bytes, "0x00", HEX_DIGITS);
        rejects(ValueType::Bytes, " 00 ", HEX_DIGITS);
    }

    #[test]
    fn text_and_decimal() {
        canonical(ValueType::Text, "", Value::Text(String::new()));
        canonical(ValueType::Text, " Héllo\t", Value::Text(" Héllo\t".into()));
        canonical(
            ValueType::Decimal,
            "-0012.50",
            Value::decimal("-0012.50").unwrap(),
        );
        rejects(ValueType::Decimal, "1e3", DECIMAL_SHAPE);
        rejects(ValueType::Decimal, "", DECIMAL_SHAPE);
    }

    #[test]
    fn int() {
        canonical(ValueType::Int, "0", Value::Int(0));
        canonical(ValueType::Int, "-9223372036854775808", Value::Int(i64::MIN));
        canonical(ValueType::Int, "9223372036854775807", Value::Int(i64::MAX));
        assert!(Value::parse(ValueType::Int, "+007").unwrap() == Value::Int(7));
        rejects(ValueType::Int, "9223372036854775808", INT_RANGE);
        rejects(ValueType::Int, "-9223372036854775809", INT_RANGE);
        for bad in ["", "-", "1.0", " 1", "1 ", "1_000", "0x10"] {
            rejects(ValueType::Int, bad, INT_SHAPE);
        }
    }

    #[test]
    fn float() {
        let cases = [
            ("0.0", 0.0),
            ("-0.0", -0.0),
            ("1.5", 1.5),
            ("0.1", 0.1),
            ("1e300", 1e300),
            ("5e-324", 5e-324),
            ("-1.7976931348623157e308", f64::MIN),
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
        ];
        for (s, v) in cases {
            let parsed = Value::parse(ValueType::Float, s).unwrap().as_f64().unwrap();
            assert_eq!(parsed.to_bits(), v.to_bits(), "{s}");
            assert_eq!(text(&Value::Float(v)), s);
        }
        assert!(
            Value::parse(ValueType::Float, "NaN")
                .unwrap()
                .as_f64()
                .unwrap()
                .is_nan()
        );
        assert_eq!(text(&Value::Float(f64::NAN)), "NaN");
        for other in ["Infinity", "-INF", "1E5", ".5", "+2"] {
            assert!(Value::parse(ValueType::Float, other).is_ok(), "{other}");
        }
        rejects(ValueType::Float, "1e400", FLOAT_RANGE);
        rejects(ValueType::Float, "-1e400", FLOAT_RANGE);
        for bad in ["", "one", "1,5", " 1", "0x1p3", "infinite"] {
            rejects(ValueType::Float, bad, FLOAT_SHAPE);
        }
    }

    #[test]
    fn bool() {
        canonical(ValueType::Bool, "true", Value::Bool(true));
        canonical(ValueType::Bool, "false", Value::Bool(false));
        for (s, v) in [
            ("T", true),
            ("TRUE", true),
            ("1", true),
            ("f", false),
            ("False", false),
            ("0", false),
        ] {
            assert!(Value::parse(ValueType::Bool, s).unwrap() == Value::Bool(v), "{s}");
        }
        for bad in ["", "yes", "2", " true"] {
            rejects(ValueType::Bool, bad, BOOL_SHAPE);
        }
    }

    #[test]
    fn date() {
        canonical(ValueType::Date, "1970-01-01", Value::Date(0));
        canonical(ValueType::Date, "1969-12-31", Value::Date(-1));
        canonical(ValueType::Date, "0001-01-01", Value::Date(-719_162));
        canonical(ValueType::Date, "9999-12-31", Value::Date(2_932_896));
        canonical(ValueType::Date, "2000-02-29", Value::Date(11_016));
        canonical(ValueType::Date, "2024-01-01", Value::Date(19_723));
        rejects(ValueType::Date, "1900-02-29", DAY_RANGE);
        rejects(ValueType::Date, "2023-02-29", DAY_RANGE);
        rejects(ValueType::Date, "2024-04-31", DAY_RANGE);
        rejects(ValueType::Date, "2024-01-00", DAY_RANGE);
        rejects(ValueType::Date, "2024-13-01", MONTH_RANGE);
        rejects(ValueType::Date, "2024-00-01", MONTH_RANGE);
        rejects(ValueType::Date, "0000-01-01", YEAR_RANGE);
        for bad in [
            "",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "2024-01-01 ",
            "+2024-01-01",
            "-001-01-01",
        ] {
            rejects(ValueType::Date, bad, DATE_SHAPE);
        }
        for out_of_range in [i32::MIN, i32::MAX, -719_163, 2_932_897] {
            match Value::Date(out_of_range).to_text() {
                Err(Error::InvalidValue {
                    value_type: "date",
                    reason,
                }) => assert_eq!(reason, DATE_RANGE),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn timestamp() {
        let ts = ValueType::Timestamp;
        canonical(ts, "1970-01-01T00:00:00Z", Value::Timestamp(0));
        canonical(ts, "1969-12-31T23:59:59.999999Z", Value::Timestamp(-1));
        canonical(ts, "1969-12-31T23:59:59Z", Value::Timestamp(-1_000_000));
        canonical(
            ts,
            "1900-01-01T12:00:00.500000Z",
            Value::Timestamp(-2_208_945_599_500_000),
        );
        canonical(
            ts,
            "2023-11-14T22:13:20.123456Z",
            Value::Timestamp(1_700_000_000_123_456),
        );
        canonical(
            ts,
            "2000-02-29T00:00:00.000001Z",
            Value::Timestamp(951_782_400_000_001),
        );
        canonical(ts, "0001-01-01T00:00:00Z", Value::Timestamp(MIN_MICROS));
        canonical(ts, "9999-12-31T23:59:59.999999Z", Value::Timestamp(MAX_MICROS));
        let same = [
            "2023-11-14 22:13:20Z",
            "2023-11-14t22:13:20z",
            "2023-11-14T22:13:20.0Z",
            "2023-11-14T22:13:20+00:00",
            "2023-11-14T22:13:20-00:00",
            "2023-11-14 23:13:20+01",
            "2023-11-15T00:43:20+0230",
            "2023-11-14T12:13:20-10:00",
        ];
        for s in same {
            assert!(
                Value::parse(ts, s).unwrap() == Value::Timestamp(1_700_000_000_000_000),
                "{s}"
            );
        }
        assert!(
            Value::parse(ts, "2023-11-14T22:13:20.12Z").unwrap() == Value::Timestamp(1_700_000_000_120_000)
        );
        rejects(ts, "2023-11-14T22:13:20", TIMESTAMP_SHAPE);
        rejects(ts, "2023-11-14", TIMESTAMP_SHAPE);
        rejects(ts, "2023-11-14T22:13Z", TIMESTAMP_SHAPE);
        rejects(ts, "2023-11-14T22:13:20.Z", TIMESTAMP_SHAPE);
        rejects(ts, "2023-11-14T22:13:20+1", TIMESTAMP_SHAPE);
        rejects(ts, "2023-11-14T22:13:20 Z", TIMESTAMP_SHAPE);
        rejects(ts, "2023-11-14T22:13:20ZZ", TIMESTAMP_SHAPE);
        rejects(ts, "2023-1-14T22:13:20Z", TIMESTAMP_SHAPE);
        rejects(ts, "2023-11-14T22:13:20.1234567Z", FRACTION_LEN);
        rejects(ts, "2023-11-14T24:00:00Z", TIME_RANGE);
        rejects(ts, "2023-11-14T23:59:60Z", TIME_RANGE);
        rejects(ts, "2023-11-14T23:60:00Z", TIME_RANGE);
        rejects(ts, "2023-11-14T22:13:20+24:00", OFFSET_RANGE);
        rejects(ts, "2023-11-14T22:13:20+01:60", OFFSET_RANGE);
        rejects(ts, "2023-02-29T00:00:00Z", DAY_RANGE);
        rejects(ts, "0001-01-01T00:00:00+00:01", TIMESTAMP_RANGE);
        rejects(ts, "9999-12-31T23:59:59-00:01", TIMESTAMP_RANGE);
        for out_of_range in [i64::MIN, i64::MAX, MIN_MICROS - 1, MAX_MICROS + 1] {
            match Value::Timestamp(out_of_range).to_text() {
                Err(Error::InvalidValue {
                    value_type: "timestamp",
                    reason,
                }) => {
                    assert_eq!(reason, TIMESTAMP_RANGE)
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn errors_do_not_quote_the_input() {
        let secret = "2024-02-30-secret";
        for ty in ValueType::ALL {
            if let Err(e) = Value::parse(ty, secret) {
                assert!(!e.to_string().contains("secret"), "{e}");
                assert_eq!(e.kind(), crate::ErrorKind::Usage);
            }
        }
        let e = Value::parse(ValueType::Date, "2024-02-30").unwrap_err();
        assert_eq!(e.to_string(), "not a valid date value: no such day in that month");
    }
}
