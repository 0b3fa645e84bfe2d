//! Cryptographic primitives shared by every strongroom format.
//!
//! Everything above this module talks to AES-256-GCM, HKDF and HMAC only
//! through these functions, so the AEAD engine (aws-lc-rs or RustCrypto) is
//! chosen in exactly one place.

pub mod aead;
pub(crate) mod gcm_short;
pub mod kdf;
pub mod random;

pub use aead::{Aes256Gcm, KEY_LEN, NONCE_LEN, TAG_LEN};
