//! The C API's parsing of field values (`strongroom_field_encrypt`,
//! `strongroom_field_index`, `strongroom_field_encrypt_batch`): arbitrary
//! bytes as the C form of every value type. Never panics (no
//! `STRONGROOM_PANIC`); refuses exactly what the core's `Value::parse`
//! refuses, with its status (or `STRONGROOM_INVALID_UTF8`); an accepted
//! value decrypts to its canonical C form, gives the core's deterministic
//! token and blind index term, and a batch of the input's lines fails at
//! the first line that fails alone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, Value, ValueType};
use strongroom_ffi as c;
use strongroom_fuzz::c_api::{BatchKind, CCipher, batch, c_cipher, c_form, value_status};
use strongroom_fuzz::fixtures::{FIELD_KEY_VERSION, field_keys};

/// Per type: the C random and deterministic ciphers, and the core
/// deterministic cipher with the same settings.
fn ciphers() -> &'static [(ValueType, CCipher, CCipher, FieldCipher)] {
    static ALL: OnceLock<Vec<(ValueType, CCipher, CCipher, FieldCipher)>> = OnceLock::new();
    ALL.get_or_init(|| {
        ValueType::ALL
            .iter()
            .map(|ty| {
                let spec = ColumnSpec::new(*ty)
                    .hide_null()
                    .deterministic()
                    .with_blind_index(8, Normalizer::None);
                let core = FieldCipher::with_keys(
                    "fuzz",
                    "values",
                    spec,
                    FIELD_KEY_VERSION,
                    vec![(FIELD_KEY_VERSION, field_keys())],
                )
                .expect("fixed names and keys");
                (
                    *ty,
                    c_cipher("fuzz", "values", *ty, false),
                    c_cipher("fuzz", "values", *ty, true),
                    core,
                )
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for (ty, random, det, core) in ciphers() {
        let want = value_status(*ty, data);
        let (s, token) = random.encrypt(data);
        assert_eq!(s, want, "a {ty} value: the C API's status is not the parser's");
        let (ds, det_token) = det.encrypt(data);
        assert_eq!(ds, want);
        let (is, term) = random.index(data);
        assert_eq!(is, want);
        if want != c::STRONGROOM_OK {
            continue;
        }
        let value = match ty {
            ValueType::Bytes => Value::Bytes(data.to_vec()),
            _ => Value::parse(*ty, std::str::from_utf8(data).expect("checked")).expect("checked"),
        };
        let canonical = c_form(&value).expect("a parsed value has a C form");
        let (s, back, null) = random.decrypt(&token, None);
        assert_eq!(
            (s, back, null),
            (c::STRONGROOM_OK, Some(canonical.clone()), false)
        );
        let core_token = core
            .encrypt(Some(&value), None)
            .expect("encrypting")
            .expect("a token");
        assert_eq!(
            det_token,
            core_token.as_bytes(),
            "a {ty} value: another deterministic token"
        );
        let core_term = core.index(Some(&value)).expect("indexing").expect("a term");
        assert_eq!(
            term,
            core_term.as_bytes(),
            "a {ty} value: another blind index term"
        );
    }

    // A batch of the lines of the input, as text: it fails at the first
    // line that fails alone, and otherwise round-trips every line.
    let (_, random, _, _) = &ciphers()[1];
    let parts: Vec<&[u8]> = data.split(|b| *b == b'\n').take(64).collect();
    let first_bad = parts
        .iter()
        .position(|p| value_status(ValueType::Text, p) != c::STRONGROOM_OK);
    let (s, results, failed) = batch(random, &parts, BatchKind::Encrypt);
    match first_bad {
        Some(i) => {
            assert_eq!(s, value_status(ValueType::Text, parts[i]));
            assert_eq!(failed, Some(i), "the batch named another item");
        }
        None => {
            assert_eq!((s, failed), (c::STRONGROOM_OK, None));
            for (part, (st, token)) in parts.iter().zip(results.expect("results").entries()) {
                assert_eq!(st, c::STRONGROOM_OK);
                let (s, back, _) = random.decrypt(&token.expect("a token"), None);
                assert_eq!((s, back.as_deref()), (c::STRONGROOM_OK, Some(*part)));
            }
        }
    }
});
