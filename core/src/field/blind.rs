//! Blind indexes: a keyed hash of the normalised value, stored next to the
//! token so that equality lookups work without decrypting.
//!
//! `term = HMAC-SHA-256(column index key of the key version,
//!                      plaintext encoding of the normalised value)[..len]`
//!
//! The plaintext encoding is the same `type tag || body` as inside tokens,
//! so values of different types never share a term input. NULL is never
//! hashed: one term shared by every NULL row would show which rows are
//! NULL. A hidden NULL gets a random term instead ([`IndexTerm::random`]),
//! which looks like any other term and matches no lookup.

use super::normalize::Normalizer;
use super::value::ValueRef;
use crate::crypto::kdf::HmacSha256Key;
use crate::error::{Error, Result};
use crate::secret::wipe_vec;
use std::fmt;
use zeroize::Zeroize;

/// Shortest allowed index length in bytes.
pub const MIN_INDEX_LEN: usize = 2;
/// Longest allowed index length in bytes (the full HMAC-SHA-256 output).
pub const MAX_INDEX_LEN: usize = 32;

/// Blind index settings of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BlindIndexSpec {
    /// Stored term length in bytes, 2 to 32. Shorter terms match more
    /// unrelated rows (false positives the caller filters out after
    /// decrypting) and so reveal less; see docs/FIELDS.md for sizing.
    pub len: usize,
    /// How text is normalised before hashing.
    pub normalizer: Normalizer,
}

impl BlindIndexSpec {
    /// A spec with `len` bytes and `normalizer`.
    pub fn new(len: usize, normalizer: Normalizer) -> Self {
        Self { len, normalizer }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if !(MIN_INDEX_LEN..=MAX_INDEX_LEN).contains(&self.len) {
            return Err(Error::InvalidArgument(format!(
                "the blind index length must be {MIN_INDEX_LEN} to {MAX_INDEX_LEN} bytes, not {}",
                self.len
            )));
        }
        Ok(())
    }
}

/// One blind index term: the truncated HMAC and the key version whose key
/// produced it. Store [`IndexTerm::as_bytes`]; the key version is for the
/// caller's bookkeeping during rotation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexTerm {
    key_version: u32,
    len: u8,
    mac: [u8; MAX_INDEX_LEN],
}

impl IndexTerm {
    /// The term bytes to store or search for.
    pub fn as_bytes(&self) -> &[u8] {
        &self.mac[..usize::from(self.len)]
    }

    /// The key version that produced the term.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The term bytes as lower-case hex.
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(self.as_bytes())
    }
}

impl IndexTerm {
    /// A random term of `len` bytes: the term of a hidden NULL, fresh for
    /// every row (it matches a lookup only by a truncation collision).
    pub(crate) fn random(len: usize, key_version: u32) -> IndexTerm {
        let mut term = IndexTerm {
            key_version,
            len: len as u8,
            mac: [0; MAX_INDEX_LEN],
        };
        crate::crypto::random::fill_fast(&mut term.mac[..len]);
        term
    }
}

impl fmt::Debug for IndexTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexTerm(v{}, {})", self.key_version, self.to_hex())
    }
}

/// A column's blind index key for one key version (prepared HMAC state,
/// in key memory).
pub(crate) struct BlindKey(strongroom_keymem::LockedBox<HmacSha256Key>);

impl BlindKey {
    pub fn new(key: &[u8; 32]) -> Self {
        BlindKey(strongroom_keymem::LockedBox::new(HmacSha256Key::new(key)))
    }

    /// Computes the term of `value` (already type-checked) for a column of
    /// type `ty`.
    pub fn term(
        &self,
        spec: &BlindIndexSpec,
        ty: super::ValueType,
        value: ValueRef<'_>,
        key_version: u32,
    ) -> IndexTerm {
        let mut input: Vec<u8> = Vec::new();
        let mut stack = [0u8; 64];
        let data: &[u8] = match value {
            ValueRef::Text(text) => {
                let norm = spec.normalizer.apply(text);
                let n = norm.len();
                if n < stack.len() {
                    stack[0] = ty.tag();
                    stack[1..=n].copy_from_slice(norm.as_bytes());
                    wipe_cow(norm);
                    &stack[..=n]
                } else {
                    input.reserve_exact(1 + n);
                    input.push(ty.tag());
                    input.extend_from_slice(norm.as_bytes());
                    wipe_cow(norm);
                    &input
                }
            }
            v => {
                input.reserve_exact(1 + v.body_len());
                v.encode_into(&mut input);
                &input
            }
        };
        let mut mac = self.0.mac(&[data]);
        stack.zeroize();
        // Unallocated unless the value was long or not text.
        wipe_vec(&mut input);
        let mut term = IndexTerm {
            key_version,
            len: spec.len as u8,
            mac: [0; MAX_INDEX_LEN],
        };
        term.mac[..spec.len].copy_from_slice(&mac[..spec.len]);
        mac.zeroize();
        term
    }
}

fn wipe_cow(s: std::borrow::Cow<'_, str>) {
    if let std::borrow::Cow::Owned(mut s) = s {
        s.zeroize();
    }
}
