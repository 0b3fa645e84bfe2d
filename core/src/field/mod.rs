//! Field-level encryption: database values encrypted one by one, with
//! their table, column and (optionally) row bound as associated data.
//!
//! - **Random mode** (default): XAES-256-GCM with a random 24-byte nonce.
//!   Equal values give unrelated tokens.
//! - **Deterministic mode** (opt-in per column): AES-SIV (RFC 5297, 512-bit
//!   key). Equal values give equal tokens, for equality lookups and unique
//!   constraints; this reveals which rows are equal.
//! - **Blind index**: HMAC-SHA-256 of the normalised value under a
//!   per-column key of its own purpose, truncated to 2..=32 bytes, stored
//!   next to a random-mode token for lookups.
//!
//! A [`FieldCipher`] serves one column: build it once from a
//! [`Keyring`](crate::keyring::Keyring) and a [`ColumnSpec`], then call
//! [`encrypt`](FieldCipher::encrypt), [`decrypt`](FieldCipher::decrypt),
//! [`index`](FieldCipher::index), their `_batch` forms (parallel), and
//! [`rewrap`](FieldCipher::rewrap) after a key rotation. Tokens have a
//! binary form (BLOB, bytea, VARBINARY) and a text form (`sr1.` +
//! base64url) whose header can be read without a key ([`inspect`],
//! [`TokenInfo`]). Values have a canonical text form for text interfaces
//! ([`Value::parse`], [`Value::to_text`]).
//!
//! A [`ColumnSpec`] has a text form with the command line's option names
//! (`deterministic, type=int, hide-null`: [`ColumnSpec::parse`]) for
//! interfaces without structured options, such as SQL functions.
//!
//! The byte-level format is in `docs/SPEC.md section 5`, the user guide
//! (what each mode reveals, sizing an index, rotation) in `docs/FIELDS.md`.

mod batch;
mod blind;
mod cipher;
mod context;
mod keys;
mod normalize;
pub(crate) mod siv;
mod spec_text;
pub mod text;
mod token;
mod value;
pub(crate) mod xaes;

pub use batch::{CHUNK, MAX_PER_PREFIX};
pub use blind::{BlindIndexSpec, IndexTerm, MAX_INDEX_LEN, MIN_INDEX_LEN};
pub use cipher::{ColumnSpec, FieldCipher, Mode, ModeSet};
pub use context::{FieldContext, LABEL_BLIND_INDEX, LABEL_DETERMINISTIC, LABEL_RANDOM, MAX_NAME_LEN};
pub use keys::PurposeKeys;
pub use normalize::Normalizer;
pub use token::{
    HEADER_LEN, Suite, TEXT_HEADER_LEN, TEXT_PREFIX, TOKEN_VERSION, Token, TokenInfo, decode_text,
    encode_text, header, inspect,
};
pub use value::{NULL_TAG, Value, ValueRef, ValueType, encode_plaintext};
