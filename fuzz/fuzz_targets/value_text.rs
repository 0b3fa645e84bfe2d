//! The text form of field values: `Value::parse` of arbitrary text for
//! every type, and `Value::to_text` of arbitrary fixed-size values. Never
//! panics; whatever parses writes back to a canonical text that parses to
//! the same value (bit for bit; a NaN stays a NaN), and the value also
//! survives encryption in its column.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use strongroom::field::{FieldCipher, Value, ValueType};
use strongroom_fuzz::fixtures;

fn ciphers() -> &'static [FieldCipher] {
    static C: OnceLock<Vec<FieldCipher>> = OnceLock::new();
    C.get_or_init(|| {
        ValueType::ALL
            .iter()
            .map(|ty| fixtures::field_cipher("fuzz", "values", *ty, false))
            .collect()
    })
}

/// Equality of values with floats compared by bits, any NaN equal to any NaN.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// `v` (of type `ty`) written as text parses back to itself, and that text
/// is a fixed point. `parsed` says whether `v` itself came from parsing
/// (then it must have a text form).
fn check_text(ty: ValueType, v: &Value, parsed: bool) {
    let text = match v.to_text() {
        Ok(t) => t,
        Err(strongroom::Error::InvalidValue { .. })
            if !parsed && matches!(ty, ValueType::Date | ValueType::Timestamp) =>
        {
            return;
        }
        Err(e) => panic!("a {ty} value has no text form: {e}"),
    };
    let back =
        Value::parse(ty, &text).unwrap_or_else(|e| panic!("the text of a {ty} value does not parse: {e}"));
    assert!(same(&back, v), "a {ty} value changed through its text form");
    let again = back.to_text().expect("parsed values have a text form");
    assert_eq!(*again, *text, "the text form of a {ty} value is not canonical");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for (i, ty) in ValueType::ALL.into_iter().enumerate() {
            let Ok(v) = Value::parse(ty, s) else {
                continue;
            };
            assert_eq!(v.value_type(), ty);
            check_text(ty, &v, true);
            let cipher = &ciphers()[i];
            let token = cipher
                .encrypt(Some(&v), None)
                .expect("encrypting a parsed value")
                .expect("not NULL");
            let back = cipher
                .decrypt(token.as_bytes(), None)
                .expect("decrypting")
                .expect("not NULL");
            assert!(same(&back, &v), "a {ty} value changed through encryption");
        }
    }
    if let Some(b) = data.get(..8) {
        let x = i64::from_be_bytes(b.try_into().expect("8 bytes"));
        check_text(ValueType::Int, &Value::Int(x), false);
        check_text(ValueType::Float, &Value::Float(f64::from_bits(x as u64)), false);
        check_text(ValueType::Timestamp, &Value::Timestamp(x), false);
        check_text(ValueType::Date, &Value::Date(x as i32), false);
        check_text(ValueType::Bytes, &Value::Bytes(data.to_vec()), false);
    }
});
