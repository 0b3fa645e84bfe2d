//! The field context (table, column, optional row key), its encoding as
//! associated data, and the per-column key derivations.
//!
//! ```text
//! AAD = header (6 bytes)
//!    || u32be(len(table))  || table
//!    || u32be(len(column)) || column
//!    || 0x00                               (no row key)
//!     | 0x01 || u32be(len(row)) || row     (row key)
//! ```
//!
//! Every variable-length part is length-prefixed, so no two different
//! contexts encode to the same bytes, and a token copied to another table,
//! column or row (or from a row-bound to an unbound use) fails to decrypt.

use crate::crypto::kdf::{Hash, hkdf};
use crate::error::{Error, Result};
use crate::secret::SecretKey;
use zeroize::Zeroizing;

/// Longest table or column name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 1024;

/// HKDF `info` label of the per-column XAES-256-GCM key.
pub const LABEL_RANDOM: &[u8] = b"strongroom/v1/field/column-key/xaes-256-gcm";
/// HKDF `info` label of the per-column AES-SIV key.
pub const LABEL_DETERMINISTIC: &[u8] = b"strongroom/v1/field/column-key/aes-256-siv";
/// HKDF `info` label of the per-column blind index key.
pub const LABEL_BLIND_INDEX: &[u8] = b"strongroom/v1/field/column-key/blind-index";

/// The logical location of a value: table and column names, and optionally
/// a row key (for example the primary key's bytes) that pins a token to
/// one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldContext<'a> {
    /// Logical table name (1 to 1024 bytes of UTF-8).
    pub table: &'a str,
    /// Logical column name (1 to 1024 bytes of UTF-8).
    pub column: &'a str,
    /// Row key; `None` and `Some(b"")` are different contexts.
    pub row: Option<&'a [u8]>,
}

impl<'a> FieldContext<'a> {
    /// A context without a row key.
    pub fn new(table: &'a str, column: &'a str) -> Self {
        Self {
            table,
            column,
            row: None,
        }
    }

    /// The same context bound to `row`.
    pub fn with_row(self, row: &'a [u8]) -> Self {
        Self {
            row: Some(row),
            ..self
        }
    }

    /// The associated data for a token with `header`.
    pub fn aad(&self, header: &[u8; 6]) -> Vec<u8> {
        let names = encode_names(self.table, self.column);
        let mut out = Vec::with_capacity(aad_len(&names, self.row));
        encode_aad(header, &names, self.row, |b| out.extend_from_slice(b));
        out
    }
}

/// Checks a table or column name.
pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::InvalidArgument(format!(
            "the {what} name must be 1 to {MAX_NAME_LEN} bytes long"
        )));
    }
    Ok(())
}

/// `u32be(len(table)) || table || u32be(len(column)) || column`.
pub(crate) fn encode_names(table: &str, column: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + table.len() + column.len());
    for part in [table.as_bytes(), column.as_bytes()] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// The one encoder of the field AAD: passes its parts, in order, to
/// `put` (which appends them to a buffer). `names` is [`encode_names`];
/// the row key's length was checked by [`check_row`].
#[inline]
pub(crate) fn encode_aad(header: &[u8; 6], names: &[u8], row: Option<&[u8]>, mut put: impl FnMut(&[u8])) {
    put(header);
    put(names);
    match row {
        None => put(&[0x00]),
        Some(r) => {
            put(&[0x01]);
            put(&(r.len() as u32).to_be_bytes());
            put(r);
        }
    }
}

/// Length of the AAD [`encode_aad`] produces.
#[inline]
pub(crate) fn aad_len(names: &[u8], row: Option<&[u8]>) -> usize {
    6 + names.len() + row.map_or(1, |r| 5 + r.len())
}

/// Checks a row key's length (it is prefixed with a u32).
pub(crate) fn check_row(row: Option<&[u8]>) -> Result<()> {
    match row {
        Some(r) if u32::try_from(r.len()).is_err() => {
            Err(Error::InvalidArgument("the row key is longer than 4 GiB".into()))
        }
        _ => Ok(()),
    }
}

/// HKDF-SHA-256(ikm = purpose key, salt = empty, info = label || names),
/// `N` bytes.
pub(crate) fn column_key<const N: usize>(
    purpose_key: &SecretKey,
    label: &[u8],
    names: &[u8],
) -> Zeroizing<[u8; N]> {
    let mut info = Vec::with_capacity(label.len() + names.len());
    info.extend_from_slice(label);
    info.extend_from_slice(names);
    let mut out = Zeroizing::new([0u8; N]);
    hkdf(Hash::Sha256, purpose_key.expose(), b"", &info, &mut out[..]).expect("at most 64 bytes");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_layout() {
        let h = [1, 1, 0, 0, 0, 7];
        let ctx = FieldContext::new("t", "col");
        assert_eq!(
            ctx.aad(&h),
            [&h[..], &[0, 0, 0, 1], b"t", &[0, 0, 0, 3], b"col", &[0]].concat()
        );
        let ctx = ctx.with_row(b"42");
        assert_eq!(
            ctx.aad(&h),
            [
                &h[..],
                &[0, 0, 0, 1],
                b"t",
                &[0, 0, 0, 3],
                b"col",
                &[1, 0, 0, 0, 2],
                b"42"
            ]
            .concat()
        );
        // Moving bytes between names changes the encoding.
        assert_ne!(
            FieldContext::new("ab", "c").aad(&h),
            FieldContext::new("a", "bc").aad(&h)
        );
        assert_ne!(
            FieldContext::new("a", "b").aad(&h),
            FieldContext::new("a", "b").with_row(b"").aad(&h)
        );
    }
}
