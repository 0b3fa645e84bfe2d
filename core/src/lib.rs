//! strongroom: encryption of files and database fields, with keys handled
//! properly.
//!
//! - [`file`](mod@file): the strongroom file container (header, recipients, payload).
//! - [`field`]: field-level encryption of database values (random,
//!   deterministic, blind indexes).
//! - [`keyring`]: keyrings, key versions, passphrases and recovery keys.
//! - [`passphrase`]: Argon2id parameters of passphrase protectors.
//! - [`SecretSource`]: the one rule for reading a secret from an
//!   environment variable, a file or a file descriptor.
//! - [`hazmat`]: the standard constructions underneath (Cobblestone-256,
//!   XAES-256-GCM, AES-SIV, AES-256-GCM, HKDF), for interoperability tests.
#![forbid(unsafe_code)]

pub(crate) mod atomic;
mod chunked;
mod codec;
mod crypto;
pub mod error;
pub mod field;
pub mod file;
pub mod hazmat;
pub mod keyring;
mod parallel;
pub mod passphrase;
mod secret;
pub mod secret_source;

pub use error::{Error, ErrorKind, Result};

/// Runs `f` where rayon's parallel iterators inside it use strongroom's own
/// thread pool (the caller's pool if called from one): the pool the
/// library's batches and file work run on, rebuilt in a forked child (see
/// the fork notes in docs/DESIGN-NOTES.md). For bindings that spread their
/// own per-item work (converting a batch's values, say) over the cores.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    parallel::install(f)
}
pub use parallel::{MAX_THREADS, THREADS_ENV, set_threads, thread_count};
pub use secret::{KeyMemoryStatus, Passphrase, SecretKey, key_memory_status};
pub use secret_source::SecretSource;
