//! strongroom: encryption of files and database fields, with keys handled
//! properly.
//!
//! - [`chunked`]: the C2SP chunked encryption payload (Cobblestone-256).
//! - [`file`](mod@file): the strongroom file container (header, recipients, payload).
//! - [`field`]: field-level encryption of database values (random,
//!   deterministic, blind indexes).
//! - [`keyring`]: keyrings, key versions, passphrases and recovery keys.
//! - [`crypto`]: the primitives (AES-256-GCM engines, HKDF, HMAC).
#![forbid(unsafe_code)]

pub mod atomic;
pub mod chunked;
pub mod crypto;
pub mod error;
pub mod field;
pub mod file;
pub mod keyring;
pub mod passphrase;
pub mod secret;

pub use error::{Error, ErrorKind, Result};
pub use secret::{Passphrase, SecretKey};
