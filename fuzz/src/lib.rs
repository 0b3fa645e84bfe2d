//! Shared set-up of the strongroom fuzz targets: fixed keys loaded once,
//! and small helpers that turn fuzz input into operations.

pub mod c_api;
pub mod fixtures;

use std::sync::OnceLock;
use strongroom::field::{FieldCipher, Value, ValueType};
use strongroom::keyring::Keyring;

/// The testkit keyring, opened once per process.
pub fn keyring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(fixtures::testkit_keyring)
}

/// One random-mode cipher per (vector column, value type), built once.
/// `ciphers()[c][t]` is column `c` of [`fixtures::FIELD_COLUMNS`] with
/// type `ValueType::ALL[t]`. Tokens of either suite decrypt with them.
pub fn ciphers() -> &'static [Vec<FieldCipher>] {
    static CIPHERS: OnceLock<Vec<Vec<FieldCipher>>> = OnceLock::new();
    CIPHERS.get_or_init(|| {
        fixtures::FIELD_COLUMNS
            .iter()
            .map(|(table, column)| {
                ValueType::ALL
                    .iter()
                    .map(|ty| fixtures::field_cipher(table, column, *ty, false))
                    .collect()
            })
            .collect()
    })
}

fn type_index(ty: ValueType) -> usize {
    ValueType::ALL
        .iter()
        .position(|t| *t == ty)
        .expect("every type is listed")
}

/// Decrypts a token with every vector column and row key (`decrypt` does
/// the decrypting, binary or text form), first as bytes and, when the token
/// holds another type, with the cipher of the type it names. Checks that a
/// decrypted value has its cipher's type. Returns how many decryptions
/// succeeded.
pub fn decrypt_everywhere(
    decrypt: impl Fn(&FieldCipher, Option<&[u8]>) -> strongroom::Result<Option<Value>>,
) -> usize {
    let rows = std::iter::once(None).chain(fixtures::FIELD_ROWS.iter().map(|r| Some(*r)));
    let mut opened = 0;
    for row in rows {
        for column in ciphers() {
            let mut ty = ValueType::Bytes;
            let mut result = decrypt(&column[type_index(ty)], row);
            if let Err(strongroom::Error::FieldType { found, .. }) = &result {
                ty = ValueType::from_name(found).expect("FieldType names a known type");
                assert_ne!(ty, ValueType::Bytes, "a bytes token was refused as another type");
                result = decrypt(&column[type_index(ty)], row);
                assert!(
                    !matches!(result, Err(strongroom::Error::FieldType { .. })),
                    "a token refused the cipher of the type it named"
                );
            }
            if let Ok(value) = result {
                if let Some(v) = &value {
                    assert_eq!(v.value_type(), ty, "decrypted to another type than the column's");
                }
                opened += 1;
            }
        }
    }
    opened
}

/// Splits `data` into a little-endian u32 read from its start (missing
/// bytes read as zero) and the rest.
pub fn take_u32(data: &[u8]) -> (u32, &[u8]) {
    let n = data.len().min(4);
    let mut b = [0u8; 4];
    b[..n].copy_from_slice(&data[..n]);
    (u32::from_le_bytes(b), &data[n..])
}
