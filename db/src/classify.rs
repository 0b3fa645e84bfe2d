//! Which values of a column are tokens, which are plaintext, and which are
//! neither: the one rule every job, `db status`, `db verify` and the live
//! reader ([`crate::live`]) follow.
//!
//! Without a key, a value is **shaped like a token** when it is the binary
//! form (text form in a text column: `sr1.` and canonical base64url) of a
//! token header that a keyring can have written: format version 1, a known
//! suite, the suite's minimum length, and a key version from 1 to
//! [`MAX_KEY_VERSION`]. Anything else is plaintext, including a photo or a
//! hash that happens to start with the bytes `01 01`: its key-version
//! field is then random, and a keyring's versions are small.
//!
//! With the column's cipher, a value counts as **encrypted** only once it
//! authenticates under the column's context (table, column, row, accepted
//! modes). A value shaped like a token that does not authenticate is a
//! token of another keyring, column or row, or a damaged one: it is never
//! encrypted again (that would hide it under a second layer); the jobs
//! count it as undecryptable and fail, and `db verify` lists it.
//!
//! A value of the wrong kind for the column (bytes in a text column, such
//! as SQLite text that is not UTF-8; text or numbers in a binary column; a
//! text that does not parse as the column's `--type`) can be neither
//! encrypted nor left alone silently: the jobs count it and fail, `db
//! verify` fails on it.

use crate::engine::{Cell, Storage};
use strongroom::field::{self, Value, ValueType};

/// The largest key version a keyring can write: a keyring numbers its
/// versions from 1, one above the highest, and holds at most 65 535 of
/// them (docs/SPEC.md, the keyring body).
pub const MAX_KEY_VERSION: u32 = 65_535;

/// What a value is, judged without a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// SQL NULL.
    Null,
    /// Shaped like a token: its binary form (authenticate it to know).
    Token(Vec<u8>),
    /// Plaintext of the column's kind.
    Plain,
    /// Neither plaintext of the column's kind nor a token: why.
    WrongKind(&'static str),
}

/// Whether `bytes` is the binary form of a token a keyring can have
/// written (see the [module](self)).
pub fn token_shaped(bytes: &[u8]) -> bool {
    field::inspect(bytes).is_ok_and(|info| (1..=MAX_KEY_VERSION).contains(&info.key_version))
}

/// The shape of a value stored in a column of `storage`.
pub fn shape(cell: &Cell, storage: Storage) -> Shape {
    match (cell, storage) {
        (Cell::Null, _) => Shape::Null,
        (Cell::Text(s), Storage::Text) => {
            if s.starts_with(field::TEXT_PREFIX)
                && let Ok(b) = field::decode_text(s)
                && token_shaped(&b)
            {
                return Shape::Token(b);
            }
            Shape::Plain
        }
        (Cell::Bytes(b), Storage::Binary) if token_shaped(b) => Shape::Token(b.to_vec()),
        (Cell::Bytes(_), Storage::Binary) => Shape::Plain,
        (Cell::Bytes(_), Storage::Text) => {
            Shape::WrongKind("bytes (or text that is not UTF-8) in a text column")
        }
        (Cell::Text(_), Storage::Binary) => Shape::WrongKind("text or a number in a binary column"),
    }
}

/// The value of a plaintext cell as the column's type, `None` when it is
/// not one (a text that does not parse as `ty`, or a cell of the wrong
/// kind).
pub fn plain_value(cell: &Cell, storage: Storage, ty: ValueType) -> Option<Value> {
    match (cell, storage) {
        (Cell::Text(s), Storage::Text) if ty == ValueType::Text => Some(Value::from(s.as_str())),
        (Cell::Text(s), Storage::Text) => Value::parse(ty, s).ok(),
        (Cell::Bytes(b), Storage::Binary) if ty == ValueType::Bytes => Some(Value::from(b.as_slice())),
        _ => None,
    }
}

/// SQL that is true for a binary value shaped like a token, exactly:
/// version 1, suite 1 or 2, key version 1 to 65 535 (big-endian bytes 2 to
/// 5: `00 00` then not `00 00`), and the shorter suite's minimum length.
/// `substr`/`length` work on bytes for binary values on every engine here
/// (PostgreSQL spells it `substring(... FROM ... FOR ...)`, given as
/// `substr`).
pub(crate) fn binary_token_sql(
    col: &str,
    substr: &str,
    length: &str,
    hex: impl Fn(&str) -> String,
) -> String {
    let min = field::Suite::Aes256Siv.min_token_len();
    format!(
        "({substr}({col}, 1, 2) IN ({}, {}) AND {substr}({col}, 3, 2) = {} AND {substr}({col}, 5, 2) <> {} AND {length}({col}) >= {min})",
        hex("0101"),
        hex("0102"),
        hex("0000"),
        hex("0000"),
    )
}

/// The text form's first nine characters of a plausible token header
/// (`sr1.` and the base64url of `01 0s 00 00`): SQL pre-filters on them,
/// and [`shape`] decides.
pub(crate) const TEXT_TOKEN_PREFIXES: [&str; 2] = ["sr1.AQEAA", "sr1.AQIAA"];

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom::field::{Suite, header};

    fn token(suite: Suite, version: u32, body: usize) -> Vec<u8> {
        let mut t = header(suite, version).to_vec();
        t.resize(suite.min_token_len() + body, 0x5a);
        t
    }

    #[test]
    fn key_versions_outside_what_a_keyring_writes_are_plaintext() {
        for suite in [Suite::Xaes256Gcm, Suite::Aes256Siv] {
            assert!(token_shaped(&token(suite, 1, 3)));
            assert!(token_shaped(&token(suite, MAX_KEY_VERSION, 0)));
            assert!(!token_shaped(&token(suite, 0, 3)));
            assert!(!token_shaped(&token(suite, MAX_KEY_VERSION + 1, 3)));
            assert!(!token_shaped(&token(suite, 0x7a3f_10c2, 30)));
        }
        // Too short for its suite, a third suite, another format version.
        let mut short = token(Suite::Xaes256Gcm, 1, 0);
        short.pop();
        assert!(!token_shaped(&short));
        assert!(!token_shaped(&[
            1, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
        assert!(!token_shaped(&[2, 1, 0, 0, 0, 1]));
    }

    #[test]
    fn shapes_by_storage() {
        let t = token(Suite::Xaes256Gcm, 2, 5);
        let text = field::encode_text(&t);
        for prefix in TEXT_TOKEN_PREFIXES {
            let other = field::encode_text(&token(
                if prefix.as_bytes()[6] == b'E' {
                    Suite::Xaes256Gcm
                } else {
                    Suite::Aes256Siv
                },
                77,
                1,
            ));
            assert!(other.starts_with(prefix), "{other}");
        }
        assert_eq!(
            shape(&Cell::text(text.as_str()), Storage::Text),
            Shape::Token(t.clone())
        );
        assert_eq!(
            shape(&Cell::bytes(t.clone()), Storage::Binary),
            Shape::Token(t.clone())
        );
        // A random-looking blob that starts like a header: plaintext.
        let mut photo = vec![0x01, 0x01, 0xd8, 0xff, 0xe0, 0x10];
        photo.extend([0x42; 100]);
        assert_eq!(shape(&Cell::bytes(photo.clone()), Storage::Binary), Shape::Plain);
        assert_eq!(
            shape(&Cell::text(field::encode_text(&photo)), Storage::Text),
            Shape::Plain
        );
        assert_eq!(shape(&Cell::text("sr1.not base64!"), Storage::Text), Shape::Plain);
        assert!(matches!(
            shape(&Cell::bytes(t), Storage::Text),
            Shape::WrongKind(_)
        ));
        assert!(matches!(
            shape(&Cell::text("5"), Storage::Binary),
            Shape::WrongKind(_)
        ));
        assert_eq!(shape(&Cell::Null, Storage::Text), Shape::Null);
    }

    #[test]
    fn plain_values_parse_as_the_column_type() {
        assert_eq!(
            plain_value(&Cell::text("42"), Storage::Text, ValueType::Int),
            Some(Value::Int(42))
        );
        assert_eq!(plain_value(&Cell::text("x"), Storage::Text, ValueType::Int), None);
        assert_eq!(
            plain_value(&Cell::bytes(vec![1]), Storage::Binary, ValueType::Bytes),
            Some(Value::from(&[1u8][..]))
        );
        assert_eq!(
            plain_value(&Cell::bytes(vec![1]), Storage::Text, ValueType::Text),
            None
        );
    }
}
