//! Hazardous materials: the standard constructions strongroom is built on,
//! exposed for interoperability and conformance testing.
//!
//! Applications encrypt with [`file`](crate::file), [`field`](crate::field)
//! and [`keyring`](crate::keyring), which choose keys, nonces, contexts and
//! formats. The items here do none of that: a caller that reuses a nonce,
//! mixes up contexts or stores a key in clear loses the guarantees, and
//! nothing here stops it.
//!
//! - [`chunked`]: C2SP chunked encryption, Cobblestone-256 (the file payload).
//! - [`xaes`]: XAES-256-GCM (C2SP), the random-mode field construction.
//! - [`siv`]: AES-SIV (RFC 5297), the deterministic field construction.
//! - [`aead`]: AES-256-GCM with 96-bit nonces, over the compiled-in engine.
//! - [`kdf`]: HKDF (RFC 5869) and HMAC-SHA-256, as the formats use them.

/// C2SP chunked encryption, Cobblestone-256 instantiation
/// (<https://c2sp.org/chunked-encryption>).
pub mod chunked {
    pub use crate::chunked::*;
}

/// XAES-256-GCM (<https://c2sp.org/XAES-256-GCM>).
pub mod xaes {
    pub use crate::field::xaes::*;
}

/// AES-SIV with a 512-bit key (RFC 5297), one associated-data component.
pub mod siv {
    pub use crate::field::siv::*;
}

/// AES-256-GCM with 96-bit nonces and 128-bit tags.
pub mod aead {
    pub use crate::crypto::aead::*;
}

/// HKDF and HMAC-SHA-256.
pub mod kdf {
    pub use crate::crypto::kdf::*;
}

/// Internals checked by the project's own benchmarks and conformance tests; not an API.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench {
    pub use crate::crypto::gcm_short::*;
}
