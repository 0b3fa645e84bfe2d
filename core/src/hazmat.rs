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
    use crate::crypto::aead::{OpenError, TAG_LEN};
    use crate::crypto::gcm_short;

    /// Longest message the short-message AES-256-GCM takes.
    pub const SHORT_MAX_LEN: usize = gcm_short::MAX_LEN;

    /// The crate's short-message AES-256-GCM (a thin handle on the
    /// crate-private type).
    #[derive(Debug)]
    pub struct ShortGcm(gcm_short::ShortGcm);

    impl ShortGcm {
        /// Expands a 256-bit key.
        pub fn new(key: &[u8; 32]) -> Self {
            ShortGcm(gcm_short::ShortGcm::new(key))
        }

        /// Encrypts `buf` in place; `None` above [`SHORT_MAX_LEN`].
        pub fn seal_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<[u8; TAG_LEN]> {
            self.0.seal_in_place(nonce, aad, buf)
        }

        /// Decrypts `ct_and_tag` into `out`; `None` above [`SHORT_MAX_LEN`].
        pub fn open_into(
            &self,
            nonce: &[u8; 12],
            aad: &[u8],
            ct_and_tag: &[u8],
            out: &mut [u8],
        ) -> Option<Result<(), OpenError>> {
            self.0.open_into(nonce, aad, ct_and_tag, out)
        }
    }

    /// Sends every XAES-256-GCM message through the engine (`true`) or
    /// lets short ones take the short-message path (`false`, the default),
    /// process-wide: for benchmarks comparing the two in one run.
    pub fn set_engine_only(on: bool) {
        crate::field::xaes::ENGINE_ONLY.store(on, std::sync::atomic::Ordering::Relaxed);
    }
}
