//! Random field values of every type round trip through encryption and
//! decryption: random and deterministic mode, with and without a row key,
//! binary and text token forms, NULL hidden or not; and through their
//! canonical text form.

use proptest::prelude::*;
use strongroom::field::{ColumnSpec, FieldCipher, PurposeKeys, Token, Value, ValueType};
use strongroom::{Error, SecretKey};

fn cipher(ty: ValueType, deterministic: bool, hide_null: bool) -> FieldCipher {
    let keys = PurposeKeys {
        field: SecretKey::from_array([1; 32]),
        deterministic: SecretKey::from_array([2; 32]),
        blind_index: SecretKey::from_array([3; 32]),
    };
    let mut spec = ColumnSpec::new(ty);
    if deterministic {
        spec = spec.deterministic();
    }
    if hide_null {
        spec = spec.hide_null();
    }
    FieldCipher::with_keys("accounts", "secret", spec, 3, vec![(3, keys)]).unwrap()
}

/// Equality with floats compared by their bits (NaN payloads and -0.0
/// survive encryption).
fn same_bits(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
        Just(f64::MIN),
        any::<u64>().prop_map(f64::from_bits),
        any::<f64>(),
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1), any::<i64>()]
}

/// A value of any type, with its edge cases.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(Value::Bytes),
        any::<String>().prop_map(Value::Text),
        "[a-zA-Z0-9 ]{0,20}[\u{e9}\u{2713}\u{1f510}\u{0}]{0,4}".prop_map(Value::Text),
        int().prop_map(Value::Int),
        float().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(i32::MIN), Just(i32::MAX), any::<i32>()].prop_map(Value::Date),
        int().prop_map(Value::Timestamp),
        "-?[0-9]{1,30}(\\.[0-9]{1,30})?".prop_map(|s| Value::decimal(s).unwrap()),
    ]
}

fn row() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))
}

/// Decrypts `token` in both forms and checks both give `expect`.
fn decrypts_to(c: &FieldCipher, token: &Token, row: Option<&[u8]>, expect: Option<&Value>) {
    let binary = c.decrypt(token.as_bytes(), row).unwrap();
    let text = c.decrypt_text(&token.to_text(), row).unwrap();
    assert_eq!(Token::from_text(&token.to_text()).unwrap(), *token);
    for got in [binary, text] {
        match (got.as_ref(), expect) {
            (Some(g), Some(e)) => assert!(same_bits(g, e), "a {} value changed", e.value_type()),
            (None, None) => {}
            _ => panic!("NULL and a value confused"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_mode_round_trips(v in value(), row in row(), hide_null in any::<bool>()) {
        let c = cipher(v.value_type(), false, hide_null);
        let row = row.as_deref();
        let token = c.encrypt(Some(&v), row).unwrap().unwrap();
        decrypts_to(&c, &token, row, Some(&v));
        // Bound to its row: another row (or none, or one) is refused.
        let other: Option<&[u8]> = match row {
            None => Some(b"row"),
            Some(_) => None,
        };
        prop_assert!(matches!(c.decrypt(token.as_bytes(), other), Err(Error::FieldAuthFailed)), "not refused as FieldAuthFailed");
        // Fresh nonce: the same value encrypts differently.
        prop_assert_ne!(c.encrypt(Some(&v), row).unwrap().unwrap(), token);
    }

    #[test]
    fn deterministic_mode_round_trips(v in value(), hide_null in any::<bool>()) {
        let c = cipher(v.value_type(), true, hide_null);
        let token = c.encrypt(Some(&v), None).unwrap().unwrap();
        decrypts_to(&c, &token, None, Some(&v));
        // Equal values, equal tokens; deterministic tokens bind no row, so
        // a reader that binds rows refuses them.
        prop_assert_eq!(c.encrypt(Some(&v), None).unwrap().unwrap(), token.clone());
        let moved = c.decrypt(token.as_bytes(), Some(b"any row"));
        prop_assert!(matches!(moved, Err(Error::RowBindingMissing)), "not refused as RowBindingMissing");
        // A row key in a deterministic column is refused.
        let refused = c.encrypt(Some(&v), Some(b"row"));
        prop_assert!(matches!(refused, Err(Error::InvalidArgument(_))), "not refused as InvalidArgument");
    }

    #[test]
    fn null_round_trips(ty_index in 0..ValueType::ALL.len(), deterministic in any::<bool>(), row in row()) {
        let ty = ValueType::ALL[ty_index];
        let row = if deterministic { None } else { row };
        let kept = cipher(ty, deterministic, false);
        prop_assert!(kept.encrypt(None, row.as_deref()).unwrap().is_none());
        let hidden = cipher(ty, deterministic, true);
        let token = hidden.encrypt(None, row.as_deref()).unwrap().unwrap();
        decrypts_to(&hidden, &token, row.as_deref(), None);
        // A hidden NULL is as long as a value of a fixed-size type, or as
        // the empty value of a variable-length one.
        let overhead = token.info().suite.overhead();
        prop_assert_eq!(token.len(), overhead + ty.fixed_len().unwrap_or(0));
    }

    #[test]
    fn values_in_another_type_column_are_refused(v in value(), ty_index in 0..ValueType::ALL.len()) {
        let ty = ValueType::ALL[ty_index];
        prop_assume!(ty != v.value_type());
        let c = cipher(ty, false, false);
        let refused = c.encrypt(Some(&v), None);
        prop_assert!(matches!(refused, Err(Error::FieldType { .. })), "not refused as FieldType");
    }

    #[test]
    fn text_form_round_trips(v in value()) {
        let ty = v.value_type();
        match v.to_text() {
            Ok(text) => {
                let back = Value::parse(ty, &text).unwrap();
                let nan = v.as_f64().is_some_and(f64::is_nan);
                if nan {
                    // The text form of any NaN is "NaN".
                    prop_assert!(back.as_f64().unwrap().is_nan());
                    prop_assert_eq!(text.as_str(), "NaN");
                } else {
                    prop_assert!(same_bits(&back, &v), "{} {:?} changed", ty, text.as_str());
                }
                let again = back.to_text().unwrap();
                prop_assert_eq!(again.as_str(), text.as_str());
            }
            // Only dates and timestamps outside years 1 to 9999 lack a text form.
            Err(Error::InvalidValue { value_type, .. }) => {
                prop_assert!(matches!(ty, ValueType::Date | ValueType::Timestamp));
                prop_assert_eq!(value_type, ty.name());
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}
