//! Behaviour of `strongroom::field`: round trips of every type, NULL
//! handling, deterministic equality, blind indexes, batches, key rotation,
//! and the negative cases (each asserting its specific error).

use strongroom::field::{
    ColumnSpec, FieldCipher, Mode, ModeSet, Normalizer, PurposeKeys, Suite, Token, Value, ValueRef,
    ValueType, inspect,
};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;
use strongroom::{Error, ErrorKind, Passphrase, SecretKey};

fn keys(seed: u8) -> PurposeKeys {
    PurposeKeys {
        field: SecretKey::from_array([seed; 32]),
        deterministic: SecretKey::from_array([seed.wrapping_add(1); 32]),
        blind_index: SecretKey::from_array([seed.wrapping_add(2); 32]),
    }
}

/// A cipher with versions 1 (primary) and 2 (decrypt-only).
fn cipher(table: &str, column: &str, spec: ColumnSpec) -> FieldCipher {
    FieldCipher::with_keys(table, column, spec, 1, vec![(1, keys(10)), (2, keys(20))]).unwrap()
}

fn samples() -> Vec<Value> {
    vec![
        Value::Bytes(vec![0, 1, 2, 255]),
        Value::Text("Zoë <zoe@example.com>".into()),
        Value::Int(-42),
        Value::Float(-1.25e-300),
        Value::Bool(true),
        Value::Date(19_723),
        Value::Timestamp(-1_234_567),
        Value::decimal("12345678901234567890.0001").unwrap(),
    ]
}

#[test]
fn every_type_round_trips_in_both_modes() {
    for v in samples() {
        let ty = v.value_type();
        for spec in [ColumnSpec::new(ty), ColumnSpec::new(ty).deterministic()] {
            let c = cipher("t", "c", spec);
            let row: Option<&[u8]> = if spec.mode == strongroom::field::Mode::Random {
                Some(b"pk=1")
            } else {
                None
            };
            let token = c.encrypt(Some(&v), row).unwrap().unwrap();
            assert_eq!(token.info().suite, spec.mode.suite());
            assert_eq!(token.len(), spec.mode.suite().overhead() + encoded_body_len(&v));
            let back = c.decrypt(token.as_bytes(), row).unwrap().unwrap();
            assert!(back == v, "{ty}");
            assert_eq!(back.value_type(), ty);
            let text = token.to_text();
            assert!(text.starts_with("sr1."));
            assert!(c.decrypt_text(&text, row).unwrap().unwrap() == v);
        }
    }
}

fn encoded_body_len(v: &Value) -> usize {
    strongroom::field::encode_plaintext(Some(v), v.value_type())
        .unwrap()
        .len()
        - 1
}

#[test]
fn nan_and_negative_zero_keep_their_bits() {
    let c = cipher("t", "f", ColumnSpec::new(ValueType::Float));
    for x in [
        f64::NAN,
        -0.0,
        f64::INFINITY,
        f64::from_bits(0x7ff8_dead_beef_0001),
    ] {
        let t = c.encrypt(Some(&Value::Float(x)), None).unwrap().unwrap();
        let back = c.decrypt(t.as_bytes(), None).unwrap().unwrap().as_f64().unwrap();
        assert_eq!(back.to_bits(), x.to_bits());
    }
}

#[test]
fn null_stays_null_unless_hidden() {
    let c = cipher("t", "c", ColumnSpec::new(ValueType::Int));
    assert!(c.encrypt(None, None).unwrap().is_none());
    let c = cipher("t", "c", ColumnSpec::new(ValueType::Int).hide_null());
    let null = c.encrypt(None, Some(b"r")).unwrap().unwrap();
    let value = c.encrypt(Some(&Value::Int(7)), Some(b"r")).unwrap().unwrap();
    assert_eq!(null.len(), value.len(), "a hidden NULL has the length of a value");
    assert!(c.decrypt(null.as_bytes(), Some(b"r")).unwrap().is_none());
    // Text: a hidden NULL is as long as the empty string.
    let c = cipher("t", "c", ColumnSpec::new(ValueType::Text).hide_null());
    let null = c.encrypt(None, None).unwrap().unwrap();
    let empty = c.encrypt(Some(&Value::from("")), None).unwrap().unwrap();
    assert_eq!(null.len(), empty.len());
    assert!(c.decrypt(empty.as_bytes(), None).unwrap().unwrap() == Value::from(""));
    assert!(c.decrypt(null.as_bytes(), None).unwrap().is_none());
    // Deterministic: NULL is one fixed token, distinct from every value.
    let c = cipher(
        "t",
        "c",
        ColumnSpec::new(ValueType::Text).deterministic().hide_null(),
    );
    let n1 = c.encrypt(None, None).unwrap().unwrap();
    assert_eq!(n1, c.encrypt(None, None).unwrap().unwrap());
    assert_ne!(n1, c.encrypt(Some(&Value::from("")), None).unwrap().unwrap());
}

#[test]
fn deterministic_mode_gives_equal_tokens_for_equal_values() {
    let c = cipher("users", "email", ColumnSpec::new(ValueType::Text).deterministic());
    let a = Value::from("alice@example.com");
    let t1 = c.encrypt(Some(&a), None).unwrap().unwrap();
    let t2 = c.encrypt(Some(&a), None).unwrap().unwrap();
    assert_eq!(t1, t2);
    assert_ne!(
        t1,
        c.encrypt(Some(&Value::from("bob@example.com")), None)
            .unwrap()
            .unwrap()
    );
    // Another column, same value: unrelated token.
    let other = cipher(
        "users",
        "backup_email",
        ColumnSpec::new(ValueType::Text).deterministic(),
    );
    assert_ne!(
        t1.as_bytes()[6..],
        other.encrypt(Some(&a), None).unwrap().unwrap().as_bytes()[6..]
    );
    // No row binding in deterministic mode.
    assert!(matches!(
        c.encrypt(Some(&a), Some(b"row")),
        Err(Error::InvalidArgument(_))
    ));
    // Random mode: equal values, unrelated tokens.
    let r = cipher("users", "email", ColumnSpec::new(ValueType::Text));
    assert_ne!(
        r.encrypt(Some(&a), None).unwrap(),
        r.encrypt(Some(&a), None).unwrap()
    );
}

#[test]
fn wrong_table_column_or_row_fails_authentication() {
    let spec = ColumnSpec::new(ValueType::Text);
    let c = cipher("users", "email", spec);
    let v = Value::from("alice@example.com");
    let t = c.encrypt(Some(&v), Some(b"17")).unwrap().unwrap();
    let auth = |r: strongroom::Result<Option<Value>>| matches!(r, Err(Error::FieldAuthFailed));
    assert!(
        auth(cipher("users", "name", spec).decrypt(t.as_bytes(), Some(b"17"))),
        "other column"
    );
    assert!(
        auth(cipher("admins", "email", spec).decrypt(t.as_bytes(), Some(b"17"))),
        "other table"
    );
    assert!(
        auth(cipher("userse", "mail", spec).decrypt(t.as_bytes(), Some(b"17"))),
        "names are length-prefixed"
    );
    assert!(auth(c.decrypt(t.as_bytes(), Some(b"18"))), "other row");
    assert!(auth(c.decrypt(t.as_bytes(), None)), "row missing");
    assert!(auth(c.decrypt(t.as_bytes(), Some(b""))), "empty row");
    let unbound = c.encrypt(Some(&v), None).unwrap().unwrap();
    assert!(
        auth(c.decrypt(unbound.as_bytes(), Some(b""))),
        "row given for an unbound token"
    );
    // Another keyring's keys (same version number).
    let stranger = FieldCipher::with_keys("users", "email", spec, 1, vec![(1, keys(99))]).unwrap();
    assert!(auth(stranger.decrypt(t.as_bytes(), Some(b"17"))), "other keys");
    let e = c.decrypt(t.as_bytes(), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
}

/// Flips every bit of a random-mode and a deterministic token and checks
/// the error each part gives.
#[test]
fn flipped_bit_in_each_part_gives_its_error() {
    for spec in [
        ColumnSpec::new(ValueType::Text),
        ColumnSpec::new(ValueType::Text).deterministic(),
    ] {
        let c = cipher("t", "c", spec);
        let t = c.encrypt(Some(&Value::from("value")), None).unwrap().unwrap();
        let bytes = t.as_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.to_vec();
                bad[i] ^= 1 << bit;
                let err = c.decrypt(&bad, None).unwrap_err();
                let ok = match i {
                    0 => {
                        matches!(err, Error::UnsupportedVersion { what: "field token", version } if version == bad[0])
                    }
                    1 => match bad[1] {
                        // 0x01 <-> 0x02 changes the suite; the token then
                        // parses under the other suite and fails to open
                        // (or is too short for it).
                        1 | 2 => matches!(err, Error::FieldAuthFailed | Error::Truncated(_)),
                        s => matches!(err, Error::UnsupportedSuite(x) if x == s),
                    },
                    // Key version 1 -> 3, 5, 9, ...: unknown; 1 -> 0 also
                    // unknown; version 2 is not reachable from 1 by one bit
                    // except bit 1 of the last byte (1 ^ 2 = 3), so always
                    // unknown here.
                    2..=5 => matches!(err, Error::UnknownKeyVersion(_)),
                    _ => matches!(err, Error::FieldAuthFailed),
                };
                assert!(ok, "{:?} byte {i} bit {bit}: {err:?}", spec.mode);
            }
        }
    }
}

#[test]
fn key_version_of_another_usable_version_fails_authentication() {
    let c = cipher("t", "c", ColumnSpec::new(ValueType::Text));
    let t = c.encrypt(Some(&Value::from("v")), None).unwrap().unwrap();
    let mut bad = t.into_bytes();
    bad[5] = 2; // version 2 exists, but its key did not encrypt this
    assert!(matches!(c.decrypt(&bad, None), Err(Error::FieldAuthFailed)));
}

#[test]
fn truncated_tokens() {
    for spec in [
        ColumnSpec::new(ValueType::Text),
        ColumnSpec::new(ValueType::Text).deterministic(),
    ] {
        let c = cipher("t", "c", spec);
        let t = c
            .encrypt(Some(&Value::from("hello world")), None)
            .unwrap()
            .unwrap();
        let min = spec.mode.suite().min_token_len();
        for len in 0..t.len() {
            let err = c.decrypt(&t.as_bytes()[..len], None).unwrap_err();
            if len < min {
                assert!(
                    matches!(err, Error::Truncated("field token")),
                    "len {len}: {err:?}"
                );
                assert!(Token::from_bytes(&t.as_bytes()[..len]).is_err());
            } else {
                assert!(matches!(err, Error::FieldAuthFailed), "len {len}: {err:?}");
            }
        }
        // Trailing garbage is a modification too.
        let mut long = t.as_bytes().to_vec();
        long.push(0);
        assert!(matches!(c.decrypt(&long, None), Err(Error::FieldAuthFailed)));
    }
}

#[test]
fn wrong_type_is_a_specific_error() {
    let text = cipher("t", "c", ColumnSpec::new(ValueType::Text));
    let err = text.encrypt(Some(&Value::Int(5)), None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FieldType {
                expected: "text",
                found: "int"
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Usage);
    // A token of the same column name decrypted with another declared type.
    let ints = cipher("t", "c", ColumnSpec::new(ValueType::Int));
    let t = ints.encrypt(Some(&Value::Int(5)), None).unwrap().unwrap();
    let err = text.decrypt(t.as_bytes(), None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FieldType {
                expected: "text",
                found: "int"
            }
        ),
        "{err:?}"
    );
    // Decimal vs text are different types.
    let dec = cipher("t", "c", ColumnSpec::new(ValueType::Decimal));
    let err = dec.encrypt(Some(&Value::from("1.5")), None).unwrap_err();
    assert!(matches!(
        err,
        Error::FieldType {
            expected: "decimal",
            found: "text"
        }
    ));
    // A malformed decimal built directly.
    let err = dec
        .encrypt(Some(&Value::Decimal("1,5".into())), None)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    // Index of a wrong type.
    let idx = cipher(
        "t",
        "c",
        ColumnSpec::new(ValueType::Text).with_blind_index(8, Normalizer::None),
    );
    assert!(matches!(
        idx.index(Some(&Value::Bool(true))),
        Err(Error::FieldType { .. })
    ));
}

#[test]
fn malformed_text_form() {
    let c = cipher("t", "c", ColumnSpec::new(ValueType::Text));
    let text = c
        .encrypt(Some(&Value::from("x")), None)
        .unwrap()
        .unwrap()
        .to_text();
    let malformed = |s: &str| {
        matches!(
            c.decrypt_text(s, None),
            Err(Error::Malformed {
                what: "field token text",
                ..
            })
        )
    };
    assert!(malformed(""), "empty");
    assert!(malformed(&text[4..]), "no prefix");
    assert!(malformed(&text.replacen("sr1.", "SR1.", 1)), "wrong prefix");
    assert!(malformed(&text.replacen("sr1.", "sr2.", 1)), "other prefix");
    assert!(malformed(&format!("{text}=")), "padding");
    assert!(malformed(&format!("{text}A")), "length not possible in base64");
    assert!(malformed(&text.replace('-', "+").replace('_', "/")) || !text.contains(['-', '_']));
    let mut chars: Vec<char> = text.chars().collect();
    chars[10] = '*';
    assert!(malformed(&chars.iter().collect::<String>()), "bad character");
    assert!(malformed(&format!(" {text}")), "leading space");
    assert!(malformed(&format!("{text}\n")), "trailing newline");
    // Non-canonical trailing bits: the last character's unused bits set.
    let last = text.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let pos = alphabet.find(last).unwrap();
    let unused_bits = match (text.len() - 4) % 4 {
        2 => 4,
        3 => 2,
        _ => 0,
    };
    if unused_bits > 0 && pos.is_multiple_of(1 << unused_bits) {
        let bumped = alphabet.as_bytes()[pos + 1] as char;
        let mut s = text.clone();
        s.pop();
        s.push(bumped);
        assert!(malformed(&s), "non-canonical trailing bits");
    }
    // Well-formed text, too short a token.
    assert!(matches!(
        c.decrypt_text("sr1.AQEAAAAB", None),
        Err(Error::Truncated("field token"))
    ));
    assert!(matches!(
        c.decrypt_text("sr1.AAEAAAAB", None),
        Err(Error::UnsupportedVersion { version: 0, .. })
    ));
    assert!(matches!(
        c.decrypt_text("sr1.AQMAAAAB", None),
        Err(Error::UnsupportedSuite(3))
    ));
    assert!(matches!(
        Token::from_text("sr1.BQEAAAAB"),
        Err(Error::UnsupportedVersion { version: 5, .. })
    ));
    // The round trip itself still works.
    assert!(c.decrypt_text(&text, None).unwrap().unwrap() == Value::from("x"));
}

#[test]
fn header_is_readable_without_keys() {
    let c = cipher("t", "c", ColumnSpec::new(ValueType::Text));
    let t = c.encrypt(Some(&Value::from("x")), None).unwrap().unwrap();
    let info = inspect(t.as_bytes()).unwrap();
    assert_eq!(
        (info.version, info.suite, info.key_version),
        (1, Suite::Xaes256Gcm, 1)
    );
    assert_eq!(c.current_token_info(), info);
    assert_eq!(&t.to_text()[..12], info.text_prefix());
    assert_eq!(info.text_prefix(), "sr1.AQEAAAAB");
    assert_eq!(&t.as_bytes()[..6], &[1, 1, 0, 0, 0, 1]);
}

#[test]
fn blind_index_normalises_and_separates_columns() {
    let spec = ColumnSpec::new(ValueType::Text).with_blind_index(8, Normalizer::TrimLowercase);
    let c = cipher("users", "email", spec);
    let a = c
        .index(Some(&Value::from("  Alice@Example.COM ")))
        .unwrap()
        .unwrap();
    let b = c.index(Some(&Value::from("alice@example.com"))).unwrap().unwrap();
    assert_eq!(a, b);
    assert_eq!(a.as_bytes().len(), 8);
    assert_eq!(a.key_version(), 1);
    assert_ne!(
        a,
        c.index(Some(&Value::from("bob@example.com"))).unwrap().unwrap()
    );
    let other = cipher("users", "login", spec);
    assert_ne!(
        a.as_bytes(),
        other
            .index(Some(&Value::from("alice@example.com")))
            .unwrap()
            .unwrap()
            .as_bytes()
    );
    assert!(c.index(None).unwrap().is_none());
    // Without an index, or with bad settings.
    let plain = cipher("users", "email", ColumnSpec::new(ValueType::Text));
    assert!(matches!(
        plain.index(Some(&Value::from("x"))),
        Err(Error::InvalidArgument(_))
    ));
    for len in [0, 1, 33] {
        let spec = ColumnSpec::new(ValueType::Text).with_blind_index(len, Normalizer::None);
        let r = FieldCipher::with_keys("t", "c", spec, 1, vec![(1, keys(1))]);
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "len {len}");
    }
    let spec = ColumnSpec::new(ValueType::Int).with_blind_index(8, Normalizer::DigitsOnly);
    assert!(matches!(
        FieldCipher::with_keys("t", "c", spec, 1, vec![(1, keys(1))]),
        Err(Error::InvalidArgument(_))
    ));
    for len in [2, 32] {
        let spec = ColumnSpec::new(ValueType::Int).with_blind_index(len, Normalizer::None);
        let c = FieldCipher::with_keys("t", "c", spec, 1, vec![(1, keys(1))]).unwrap();
        assert_eq!(
            c.index(Some(&Value::Int(5))).unwrap().unwrap().as_bytes().len(),
            len
        );
    }
}

#[test]
fn bad_configuration_is_refused() {
    let spec = ColumnSpec::new(ValueType::Text);
    assert!(matches!(
        FieldCipher::with_keys("", "c", spec, 1, vec![(1, keys(1))]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        FieldCipher::with_keys("t", "", spec, 1, vec![(1, keys(1))]),
        Err(Error::InvalidArgument(_))
    ));
    let long = "x".repeat(1025);
    assert!(matches!(
        FieldCipher::with_keys("t", &long, spec, 1, vec![(1, keys(1))]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        FieldCipher::with_keys("t", "c", spec, 2, vec![(1, keys(1))]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        FieldCipher::with_keys("t", "c", spec, 1, vec![(1, keys(1)), (1, keys(2))]),
        Err(Error::InvalidArgument(_))
    ));
    let c = cipher("t", "c", spec);
    assert!(matches!(
        c.lookup_tokens(Some(&Value::from("x"))),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn long_context_and_values_use_the_heap_path() {
    let table = "t".repeat(300);
    let c = cipher(&table, "c", ColumnSpec::new(ValueType::Bytes));
    let row = vec![7u8; 1000];
    let v = Value::Bytes(vec![1; 100_000]);
    let t = c.encrypt(Some(&v), Some(&row)).unwrap().unwrap();
    assert!(c.decrypt(t.as_bytes(), Some(&row)).unwrap().unwrap() == v);
    assert!(matches!(
        c.decrypt(t.as_bytes(), Some(&row[1..])),
        Err(Error::FieldAuthFailed)
    ));
}

#[test]
fn batches_match_single_calls() {
    let n = 3 * strongroom::field::CHUNK + 17;
    let values: Vec<Option<Value>> = (0..n)
        .map(|i| {
            if i % 10 == 3 {
                None
            } else {
                Some(Value::Text(format!("user{i}@example.com")))
            }
        })
        .collect();
    let rows_owned: Vec<Vec<u8>> = (0..n).map(|i| (i as u64).to_be_bytes().to_vec()).collect();
    let rows: Vec<&[u8]> = rows_owned.iter().map(Vec::as_slice).collect();

    let spec = ColumnSpec::new(ValueType::Text).with_blind_index(16, Normalizer::TrimLowercase);
    let c = cipher("users", "email", spec);
    let tokens = c.encrypt_batch(&values, Some(&rows)).unwrap();
    assert_eq!(tokens.len(), n);
    for (i, (t, v)) in tokens.iter().zip(&values).enumerate() {
        assert_eq!(t.is_some(), v.is_some(), "{i}");
        if let Some(t) = t {
            assert!(c.decrypt(t.as_bytes(), Some(rows[i])).unwrap() == *v, "{i}");
        }
    }
    // One nonce prefix per chunk, distinct suffixes.
    let prefix = |i: usize| tokens[i].as_ref().unwrap().as_bytes()[6..18].to_vec();
    assert_eq!(prefix(0), prefix(1));
    assert_ne!(prefix(0), prefix(strongroom::field::CHUNK));
    assert_ne!(
        tokens[0].as_ref().unwrap().as_bytes()[18..30],
        tokens[1].as_ref().unwrap().as_bytes()[18..30]
    );

    let decrypted = c.decrypt_batch(&tokens, Some(&rows)).unwrap();
    for (d, v) in decrypted.iter().zip(&values) {
        assert!(d.as_ref().unwrap() == v);
    }
    // Tokens written one by one (a nonce prefix each) decrypt in a batch too.
    let singles: Vec<Option<Token>> = values
        .iter()
        .zip(&rows)
        .take(40)
        .map(|(v, r)| c.encrypt(v.as_ref(), Some(r)).unwrap())
        .collect();
    let decrypted = c.decrypt_batch(&singles, Some(&rows[..40])).unwrap();
    for (d, v) in decrypted.iter().zip(&values) {
        assert!(d.as_ref().unwrap() == v);
    }
    // Per-token errors: a wrong row for one token only.
    let mut wrong_rows = rows.clone();
    wrong_rows[5] = b"other";
    let decrypted = c.decrypt_batch(&tokens, Some(&wrong_rows)).unwrap();
    assert!(matches!(decrypted[5], Err(Error::FieldAuthFailed)));
    assert!(decrypted[4].is_ok() && decrypted[6].is_ok());
    // Row count mismatch.
    assert!(matches!(
        c.encrypt_batch(&values, Some(&rows[1..])),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.decrypt_batch(&tokens, Some(&rows[1..])),
        Err(Error::InvalidArgument(_))
    ));
    // A wrong type anywhere fails the whole encryption batch.
    let mut mixed = values.clone();
    mixed[n - 1] = Some(Value::Int(1));
    let err = c.encrypt_batch(&mixed, None).unwrap_err();
    assert!(
        matches!(&err, Error::Batch { index, source } if *index == n - 1 && matches!(**source, Error::FieldType { .. })),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Usage, "the kind of the item's error");
    let err = c.index_batch(&mixed).unwrap_err();
    assert!(
        matches!(&err, Error::Batch { index, source } if *index == n - 1 && matches!(**source, Error::FieldType { .. })),
        "{err:?}"
    );

    let terms = c.index_batch(&values).unwrap();
    for (t, v) in terms.iter().zip(&values) {
        assert_eq!(*t, c.index(v.as_ref()).unwrap());
    }

    let det = cipher("users", "email", ColumnSpec::new(ValueType::Text).deterministic());
    let dt = det.encrypt_batch(&values, None).unwrap();
    for (t, v) in dt.iter().zip(&values) {
        assert_eq!(*t, det.encrypt(v.as_ref(), None).unwrap());
    }
    assert!(matches!(
        det.encrypt_batch(&values, Some(&rows)),
        Err(Error::Batch { index: 0, source }) if matches!(*source, Error::InvalidArgument(_))
    ));

    // Small batches take the single-thread path.
    let small = c.encrypt_batch(&values[..3], None).unwrap();
    assert!(c.decrypt(small[0].as_ref().unwrap().as_bytes(), None).unwrap() == values[0]);
    assert!(c.encrypt_batch(&[], None).unwrap().is_empty());
}

/// The nonce prefix (bytes 6..18: after the 6-byte header) of each token.
fn prefixes(tokens: &[Option<Token>]) -> Vec<[u8; 12]> {
    tokens
        .iter()
        .flatten()
        .map(|t| t.as_bytes()[6..18].try_into().unwrap())
        .collect()
}

/// By default the tokens of one batch chunk share their nonce prefix (what
/// links them); with `unlinkable_batches` no two share one. Both kinds
/// decrypt one by one, with and without row keys.
#[test]
fn unlinkable_batches_give_every_token_its_own_nonce_prefix() {
    let n = strongroom::field::CHUNK + 5;
    let values: Vec<Option<Value>> = (0..n).map(|i| Some(Value::Bytes(vec![i as u8; 32]))).collect();
    let rows_owned: Vec<Vec<u8>> = (0..n).map(|i| (i as u64).to_be_bytes().to_vec()).collect();
    let rows: Vec<&[u8]> = rows_owned.iter().map(Vec::as_slice).collect();
    for row_keys in [None, Some(&rows[..])] {
        let shared = cipher("t", "c", ColumnSpec::new(ValueType::Bytes));
        let tokens = shared.encrypt_batch(&values, row_keys).unwrap();
        let p = prefixes(&tokens);
        // The first chunk: one prefix, the same bytes in every token.
        let chunk = strongroom::field::CHUNK;
        assert!(p[..chunk].iter().all(|x| *x == p[0]), "one prefix per chunk");
        assert_ne!(p[chunk], p[0], "the next chunk draws another");

        let spec = ColumnSpec::new(ValueType::Bytes).unlinkable_batches();
        let unlinkable = cipher("t", "c", spec);
        let tokens2 = unlinkable.encrypt_batch(&values, row_keys).unwrap();
        let p2 = prefixes(&tokens2);
        let distinct: std::collections::HashSet<_> = p2.iter().collect();
        assert_eq!(distinct.len(), n, "every token has its own prefix");

        // Both decrypt through the single-value path, with either spec.
        for (i, (a, b)) in tokens.iter().zip(&tokens2).enumerate() {
            let row = row_keys.map(|r| r[i]);
            for t in [a, b] {
                let t = t.as_ref().unwrap();
                assert!(shared.decrypt(t.as_bytes(), row).unwrap() == values[i]);
                assert!(unlinkable.decrypt(t.as_bytes(), row).unwrap() == values[i]);
            }
        }
    }
    // NULLs: kept as NULL, or hidden as tokens of their own prefix.
    let spec = ColumnSpec::new(ValueType::Bytes).unlinkable_batches();
    let c = cipher("t", "c", spec);
    let with_null = vec![None, Some(Value::Bytes(vec![1; 32]))];
    let tokens = c.encrypt_batch(&with_null, None).unwrap();
    assert!(tokens[0].is_none() && tokens[1].is_some());
    let c = cipher("t", "c", spec.hide_null());
    let tokens = c.encrypt_batch(&with_null, None).unwrap();
    assert!(
        c.decrypt(tokens[0].as_ref().unwrap().as_bytes(), None)
            .unwrap()
            .is_none()
    );
    assert_ne!(prefixes(&tokens)[0], prefixes(&tokens)[1]);
    // Deterministic tokens have no nonce: the setting is refused there.
    let det = ColumnSpec::new(ValueType::Bytes)
        .deterministic()
        .unlinkable_batches();
    assert!(matches!(
        FieldCipher::with_keys("t", "c", det, 1, vec![(1, keys(10))]),
        Err(Error::InvalidArgument(ref m)) if m.contains("random-mode columns only")
    ));
}

/// Without row keys, random-mode batches finish tokens two at a time;
/// every mix of lengths (paired, too long to pair, an odd one left over),
/// NULLs kept and hidden, decrypts to its value.
#[test]
fn batches_without_rows_round_trip_every_length() {
    for hide_null in [false, true] {
        let mut spec = ColumnSpec::new(ValueType::Bytes);
        if hide_null {
            spec = spec.hide_null();
        }
        let c = cipher("t", "c", spec);
        for n in [1usize, 2, 3, 7, 2 * strongroom::field::CHUNK + 1] {
            let values: Vec<Option<Value>> = (0..n)
                .map(|i| (i % 7 != 5).then(|| Value::Bytes(vec![i as u8; (i * 13) % 90])))
                .collect();
            let tokens = c.encrypt_batch(&values, None).unwrap();
            for (i, (t, v)) in tokens.iter().zip(&values).enumerate() {
                assert_eq!(t.is_some(), v.is_some() || hide_null, "n {n} i {i}");
                if let Some(t) = t {
                    assert!(c.decrypt(t.as_bytes(), None).unwrap() == *v, "n {n} i {i}");
                    assert!(
                        matches!(c.decrypt(t.as_bytes(), Some(b"row")), Err(Error::FieldAuthFailed)),
                        "n {n} i {i}"
                    );
                }
            }
            let nonces: std::collections::HashSet<_> = tokens
                .iter()
                .flatten()
                .map(|t| t.as_bytes()[6..30].to_vec())
                .collect();
            assert_eq!(
                nonces.len(),
                tokens.iter().flatten().count(),
                "nonces are distinct"
            );
        }
    }
}

fn test_keyring(dir: &tempfile::TempDir) -> Keyring {
    let params = KdfParams {
        memory_kib: 8192,
        iterations: 1,
        parallelism: 1,
    };
    Keyring::create(&dir.path().join("ring"), &Passphrase::from("field tests"), params).unwrap()
}

#[test]
fn rotation_rewrap_and_dual_version_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let mut ring = test_keyring(&dir);
    let email = ColumnSpec::new(ValueType::Text).with_blind_index(8, Normalizer::TrimLowercase);
    let ssn = ColumnSpec::new(ValueType::Text).deterministic();
    let v = Value::from("alice@example.com");

    let c1 = FieldCipher::new(&ring, "users", "email", email).unwrap();
    let d1 = FieldCipher::new(&ring, "users", "ssn", ssn).unwrap();
    let old = c1.encrypt(Some(&v), Some(b"1")).unwrap().unwrap();
    let old_term = c1.index(Some(&v)).unwrap().unwrap();
    let old_det = d1.encrypt(Some(&v), None).unwrap().unwrap();
    assert_eq!(old.info().key_version, 1);

    let v2 = ring.add_key(true).unwrap();
    assert_eq!(v2, 2);
    let c2 = FieldCipher::new(&ring, "users", "email", email).unwrap();
    let d2 = FieldCipher::new(&ring, "users", "ssn", ssn).unwrap();
    assert_eq!(c2.primary_version(), 2);
    assert_eq!(c2.usable_versions(), vec![2, 1]);
    // Old tokens still decrypt, and are flagged for rewrap.
    assert!(c2.decrypt(old.as_bytes(), Some(b"1")).unwrap().unwrap() == v);
    assert!(c2.needs_rewrap(old.as_bytes()).unwrap());
    // Lookups during the re-encryption: both versions' terms and tokens.
    let terms = c2.lookup_terms(Some(&v)).unwrap();
    assert_eq!(
        terms.iter().map(|t| t.key_version()).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(terms[1], old_term);
    assert_eq!(terms[0], c2.index(Some(&v)).unwrap().unwrap());
    let dets = d2.lookup_tokens(Some(&v)).unwrap();
    assert_eq!(dets.len(), 2);
    assert_eq!(dets[1], old_det);
    assert_eq!(dets[0].info().key_version, 2);
    // Rewrap: new version, same value, no plaintext handed out.
    let new = c2.rewrap(old.as_bytes(), Some(b"1")).unwrap();
    assert_eq!(new.info().key_version, 2);
    assert!(!c2.needs_rewrap(new.as_bytes()).unwrap());
    assert!(c2.decrypt(new.as_bytes(), Some(b"1")).unwrap().unwrap() == v);
    assert!(matches!(
        c2.rewrap(old.as_bytes(), Some(b"2")),
        Err(Error::FieldAuthFailed)
    ));
    assert_eq!(
        c2.rewrap(new.as_bytes(), Some(b"1")).unwrap(),
        new,
        "current tokens are kept"
    );
    let (new2, term) = c2.rewrap_with_index(old.as_bytes(), Some(b"1")).unwrap();
    assert_eq!(new2.info().key_version, 2);
    assert_eq!(term.unwrap(), terms[0]);
    let d_new = d2.rewrap(old_det.as_bytes(), None).unwrap();
    assert_eq!(d_new, dets[0]);
    let batch = c2
        .rewrap_batch(&[Some(old.as_bytes()), None], Some(&[b"1", b"x"]))
        .unwrap();
    assert_eq!(batch[0].as_ref().unwrap().as_ref().unwrap().info().key_version, 2);
    assert!(batch[1].as_ref().unwrap().is_none());

    // Retire version 1: disabled, then destroyed.
    ring.disable(1).unwrap();
    let c3 = FieldCipher::new(&ring, "users", "email", email).unwrap();
    assert_eq!(c3.lookup_terms(Some(&v)).unwrap().len(), 1);
    let err = c3.decrypt(old.as_bytes(), Some(b"1")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::KeyVersionUnusable {
                version: 1,
                status: "disabled",
                operation: "decrypt"
            }
        ),
        "{err:?}"
    );
    ring.destroy(1).unwrap();
    let c4 = FieldCipher::new(&ring, "users", "email", email).unwrap();
    let err = c4.decrypt(old.as_bytes(), Some(b"1")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::KeyVersionUnusable {
                version: 1,
                status: "destroyed",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(matches!(
        c4.rewrap(old.as_bytes(), Some(b"1")),
        Err(Error::KeyVersionUnusable { .. })
    ));
    assert!(c4.decrypt(new.as_bytes(), Some(b"1")).unwrap().unwrap() == v);
    // A version the keyring never had.
    let mut unknown = new.into_bytes();
    unknown[2..6].copy_from_slice(&77u32.to_be_bytes());
    assert!(matches!(
        c4.decrypt(&unknown, Some(b"1")),
        Err(Error::UnknownKeyVersion(77))
    ));
}

#[test]
fn rewrap_converts_between_modes() {
    let keys_list = || vec![(1, keys(10))];
    let random = FieldCipher::with_keys("t", "c", ColumnSpec::new(ValueType::Int), 1, keys_list()).unwrap();
    let det = FieldCipher::with_keys(
        "t",
        "c",
        ColumnSpec::new(ValueType::Int).deterministic(),
        1,
        keys_list(),
    )
    .unwrap();
    let r = random.encrypt(Some(&Value::Int(9)), None).unwrap().unwrap();
    assert!(det.needs_rewrap(r.as_bytes()).unwrap());
    // Outside a migration window a column reads its own mode only.
    assert!(matches!(
        det.rewrap(r.as_bytes(), None),
        Err(Error::ModeNotAccepted {
            accepted: "deterministic",
            found: "random"
        })
    ));
    let det_migrating = FieldCipher::with_keys(
        "t",
        "c",
        ColumnSpec::new(ValueType::Int)
            .deterministic()
            .accept_mode(Mode::Random),
        1,
        keys_list(),
    )
    .unwrap();
    let d = det_migrating.rewrap(r.as_bytes(), None).unwrap();
    assert_eq!(d, det.encrypt(Some(&Value::Int(9)), None).unwrap().unwrap());
    assert!(matches!(
        random.decrypt(d.as_bytes(), None),
        Err(Error::ModeNotAccepted {
            accepted: "random",
            found: "deterministic"
        })
    ));
    assert!(matches!(
        det.decrypt(r.as_bytes(), None),
        Err(Error::ModeNotAccepted { .. })
    ));
    // In the window, both suites decrypt.
    assert!(det_migrating.decrypt(r.as_bytes(), None).unwrap().unwrap() == Value::Int(9));
    assert!(det_migrating.decrypt(d.as_bytes(), None).unwrap().unwrap() == Value::Int(9));
}

#[test]
fn no_secret_in_debug_or_errors() {
    let k = keys(0x41);
    assert_eq!(format!("{k:?}"), "PurposeKeys([REDACTED])");
    let c = FieldCipher::with_keys("t", "c", ColumnSpec::new(ValueType::Text), 1, vec![(1, k)]).unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("4141") && !dbg.contains("65, 65"), "{dbg}");
    let secret = Value::from("hunter2-secret");
    assert!(!format!("{secret:?}").contains("hunter2"));
    let t = c.encrypt(Some(&secret), None).unwrap().unwrap();
    assert!(!format!("{t:?}").contains("hunter2"));
    let int_col = FieldCipher::with_keys(
        "t",
        "c",
        ColumnSpec::new(ValueType::Int),
        1,
        vec![(1, keys(0x41))],
    )
    .unwrap();
    let err = int_col.decrypt(t.as_bytes(), None).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = int_col.encrypt(Some(&secret), None).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn ciphers_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FieldCipher>();
    assert_send_sync::<Token>();
}

/// A cipher of `t.c` (Int) with `spec`, key version 1 only.
fn int_cipher(spec: ColumnSpec) -> FieldCipher {
    FieldCipher::with_keys("t", "c", spec, 1, vec![(1, keys(10))]).unwrap()
}

#[test]
fn deterministic_tokens_read_with_a_row_key_are_refused() {
    let det = int_cipher(ColumnSpec::new(ValueType::Int).deterministic());
    let t = det.encrypt(Some(&Value::Int(5)), None).unwrap().unwrap();
    // The audit's case: a deterministic token read as row 5 (it binds no row).
    assert!(matches!(
        det.decrypt(t.as_bytes(), Some(b"5")),
        Err(Error::RowBindingMissing)
    ));
    assert_eq!(
        det.decrypt(t.as_bytes(), Some(b"5")).unwrap_err().kind(),
        ErrorKind::Integrity
    );
    assert!(matches!(
        det.decrypt_text(&t.to_text(), Some(b"5")),
        Err(Error::RowBindingMissing)
    ));
    assert!(matches!(
        det.rewrap(t.as_bytes(), Some(b"5")),
        Err(Error::RowBindingMissing)
    ));
    let rows: [&[u8]; 2] = [b"5", b"6"];
    let tokens = [Some(t.clone()), Some(t.clone())];
    for r in det.decrypt_batch(&tokens, Some(&rows)).unwrap() {
        assert!(matches!(r, Err(Error::RowBindingMissing)));
    }
    // Without a row key it reads as before.
    assert!(det.decrypt(t.as_bytes(), None).unwrap().unwrap() == Value::Int(5));
    // Encrypting with a row key in a deterministic column stays refused,
    // and a batch names the item.
    let values = [Some(Value::Int(1)), Some(Value::Int(2))];
    let err = det.encrypt_batch(&values, Some(&rows)).unwrap_err();
    assert!(
        matches!(&err, Error::Batch { index: 0, source } if matches!(**source, Error::InvalidArgument(_))),
        "{err:?}"
    );
}

#[test]
fn a_column_reads_only_the_modes_it_accepts() {
    let random_spec = ColumnSpec::new(ValueType::Int);
    assert_eq!(random_spec.accepted_modes(), ModeSet::only(Mode::Random));
    assert!(!random_spec.in_migration());
    let random = int_cipher(random_spec);
    let det = int_cipher(ColumnSpec::new(ValueType::Int).deterministic());
    let d = det.encrypt(Some(&Value::Int(7)), None).unwrap().unwrap();
    let r = random
        .encrypt(Some(&Value::Int(7)), Some(b"row-1"))
        .unwrap()
        .unwrap();
    for row in [None, Some(&b"row-1"[..])] {
        assert!(matches!(
            random.decrypt(d.as_bytes(), row),
            Err(Error::ModeNotAccepted {
                accepted: "random",
                found: "deterministic"
            })
        ));
        assert!(matches!(
            det.decrypt(r.as_bytes(), row),
            Err(Error::ModeNotAccepted {
                accepted: "deterministic",
                found: "random"
            })
        ));
    }
    // The batch paths check the same (random tokens take their own path).
    let both = [Some(r.clone()), Some(d.clone())];
    let out = det.decrypt_batch(&both, None).unwrap();
    assert!(matches!(
        out[0],
        Err(Error::ModeNotAccepted { found: "random", .. })
    ));
    assert!(out[1].as_ref().unwrap().as_ref().unwrap() == &Value::Int(7));
    let out = random.decrypt_batch(&both, Some(&[b"row-1", b"row-1"])).unwrap();
    assert!(out[0].as_ref().unwrap().as_ref().unwrap() == &Value::Int(7));
    assert!(matches!(
        out[1],
        Err(Error::ModeNotAccepted {
            found: "deterministic",
            ..
        })
    ));
    assert!(matches!(
        random.rewrap(d.as_bytes(), None),
        Err(Error::ModeNotAccepted { .. })
    ));

    // A migration window, declared: a random column also reading
    // deterministic tokens, also where the reader gives row keys.
    let spec = random_spec.accept_mode(Mode::Deterministic);
    assert!(spec.in_migration() && spec.accepts(Mode::Deterministic));
    assert_eq!(spec.accepted_modes().name(), "random and deterministic");
    let migrating = int_cipher(spec);
    assert!(migrating.decrypt(d.as_bytes(), Some(b"row-1")).unwrap().unwrap() == Value::Int(7));
    assert!(migrating.decrypt(r.as_bytes(), Some(b"row-1")).unwrap().unwrap() == Value::Int(7));
    // Accepting its own mode again opens no window.
    assert!(!random_spec.accept_mode(Mode::Random).in_migration());
    // Rewrapping into random mode adds the row binding.
    let bound = migrating.rewrap(d.as_bytes(), Some(b"row-1")).unwrap();
    assert_eq!(bound.info().suite, Suite::Xaes256Gcm);
    assert!(random.decrypt(bound.as_bytes(), Some(b"row-1")).unwrap().unwrap() == Value::Int(7));
    assert!(matches!(
        random.decrypt(bound.as_bytes(), Some(b"row-2")),
        Err(Error::FieldAuthFailed)
    ));
}

#[test]
fn a_rewrap_that_drops_row_binding_is_refused_unless_asked() {
    let random = int_cipher(ColumnSpec::new(ValueType::Int));
    let r = random
        .encrypt(Some(&Value::Int(3)), Some(b"row-9"))
        .unwrap()
        .unwrap();
    let spec = ColumnSpec::new(ValueType::Int)
        .deterministic()
        .accept_mode(Mode::Random);
    let det = int_cipher(spec);
    assert!(matches!(
        det.rewrap(r.as_bytes(), Some(b"row-9")),
        Err(Error::RowBindingWouldDrop)
    ));
    assert!(matches!(
        det.rewrap_with_index(r.as_bytes(), Some(b"row-9")),
        Err(Error::RowBindingWouldDrop)
    ));
    let tokens = [None, Some(r.clone())];
    let out = det.rewrap_batch(&tokens, Some(&[b"row-8", b"row-9"])).unwrap();
    assert!(matches!(out[0], Ok(None)));
    assert!(matches!(out[1], Err(Error::RowBindingWouldDrop)));
    // Asked for: the token becomes deterministic, bound to no row.
    let det = det.allow_dropping_row_binding();
    let d = det.rewrap(r.as_bytes(), Some(b"row-9")).unwrap();
    assert_eq!(d, det.encrypt(Some(&Value::Int(3)), None).unwrap().unwrap());
    assert!(det.decrypt(d.as_bytes(), None).unwrap().unwrap() == Value::Int(3));
    // A random token without row binding loses nothing: no refusal.
    let strict = int_cipher(spec);
    let unbound = random.encrypt(Some(&Value::Int(3)), None).unwrap().unwrap();
    assert_eq!(strict.rewrap(unbound.as_bytes(), None).unwrap(), d);
}

#[test]
fn null_rows_share_no_blind_index_term() {
    let spec = ColumnSpec::new(ValueType::Text)
        .hide_null()
        .with_blind_index(8, Normalizer::TrimLowercase);
    let c = cipher("users", "email", spec);
    let n1 = c.encrypt(None, Some(b"1")).unwrap().unwrap();
    let n2 = c.encrypt(None, Some(b"2")).unwrap().unwrap();
    assert_ne!(n1, n2, "hidden NULL tokens are random");
    // Every hidden NULL gets its own term, of the column's length.
    let a = c.index(None).unwrap().unwrap();
    let b = c.index(None).unwrap().unwrap();
    assert_ne!(a, b);
    assert_eq!((a.as_bytes().len(), a.key_version()), (8, 1));
    assert!(
        c.lookup_terms(None).unwrap().is_empty(),
        "a NULL cannot be looked up"
    );
    let values = [None, Some(Value::from("a@b")), None, Some(Value::from("a@b"))];
    let terms = c.index_batch(&values).unwrap();
    let terms: Vec<_> = terms.into_iter().map(Option::unwrap).collect();
    assert_ne!(terms[0], terms[2], "two NULL rows do not share a term");
    assert_eq!(terms[1], terms[3]);
    assert!(![&terms[1], &a, &b].contains(&&terms[0]));
    // A rewrap of a hidden NULL gives a fresh term too.
    let (_, t1) = c.rewrap_with_index(n1.as_bytes(), Some(b"1")).unwrap();
    let (_, t2) = c.rewrap_with_index(n2.as_bytes(), Some(b"2")).unwrap();
    assert_ne!(t1.unwrap(), t2.unwrap());
    // Where NULL stays NULL, it has no term.
    let kept = cipher(
        "users",
        "email",
        ColumnSpec::new(ValueType::Text).with_blind_index(8, Normalizer::TrimLowercase),
    );
    assert_eq!(kept.index(None).unwrap(), None);
    assert_eq!(kept.index_batch(&[None]).unwrap(), [None]);
}

/// Borrowed values give what owned ones give: tokens that decrypt to the
/// value (equal tokens in deterministic mode), equal index terms, and the
/// same errors.
#[test]
fn borrowed_values_match_owned_ones() {
    for v in samples() {
        let ty = v.value_type();
        let r = v.as_value_ref();
        assert_eq!(r.value_type(), ty);
        assert!(r.to_value() == v, "{ty}");
        assert_eq!(format!("{r:?}"), format!("ValueRef::{}([REDACTED])", ty.name()));
        let c = cipher("t", "c", ColumnSpec::new(ty));
        let t = c.encrypt_ref(Some(r), Some(b"pk=1")).unwrap().unwrap();
        assert!(
            c.decrypt(t.as_bytes(), Some(b"pk=1")).unwrap().unwrap() == v,
            "{ty}"
        );
        let d = cipher("t", "c", ColumnSpec::new(ty).deterministic());
        assert_eq!(
            d.encrypt_ref(Some(r), None).unwrap().unwrap().as_bytes(),
            d.encrypt(Some(&v), None).unwrap().unwrap().as_bytes(),
            "{ty}"
        );
        let idx = cipher(
            "t",
            "c",
            ColumnSpec::new(ty).with_blind_index(16, Normalizer::None),
        );
        assert_eq!(
            idx.index_ref(Some(r)).unwrap(),
            idx.index(Some(&v)).unwrap(),
            "{ty}"
        );
    }

    let text = cipher(
        "t",
        "c",
        ColumnSpec::new(ValueType::Text).with_blind_index(8, Normalizer::TrimLowercase),
    );
    // Batches: the same values, in order, NULLs kept.
    let words = ["a@example.com", " B@Example.com ", "c@example.com"];
    let refs: Vec<Option<ValueRef<'_>>> = vec![
        Some(words[0].into()),
        None,
        Some(words[1].into()),
        Some(words[2].into()),
    ];
    let tokens = text.encrypt_batch_ref(&refs, None).unwrap();
    assert!(tokens[1].is_none());
    for (t, r) in tokens.iter().zip(&refs) {
        if let (Some(t), Some(ValueRef::Text(s))) = (t, r) {
            assert_eq!(
                text.decrypt(t.as_bytes(), None).unwrap().unwrap().as_str(),
                Some(*s)
            );
        }
    }
    let terms = text.index_batch_ref(&refs).unwrap();
    assert_eq!(terms[1], None);
    assert_eq!(terms[2], text.index(Some(&Value::from("b@example.com"))).unwrap());

    // Errors: a wrong type, and its position in a batch.
    let err = text.encrypt_ref(Some(ValueRef::Int(5)), None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FieldType {
                expected: "text",
                found: "int"
            }
        ),
        "{err:?}"
    );
    let bad = [Some(ValueRef::Text("x")), Some(ValueRef::Bool(true))];
    let err = text.encrypt_batch_ref(&bad, None).unwrap_err();
    assert!(matches!(err, Error::Batch { index: 1, .. }), "{err:?}");
    let err = text.index_batch_ref(&bad).unwrap_err();
    assert!(matches!(err, Error::Batch { index: 1, .. }), "{err:?}");
    // A malformed decimal is checked when encrypted.
    let dec = cipher("t", "c", ColumnSpec::new(ValueType::Decimal));
    let err = dec.encrypt_ref(Some(ValueRef::Decimal("1,5")), None).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}
