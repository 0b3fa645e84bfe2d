//! AES-256-GCM with 96-bit nonces and 128-bit tags, over one of three engines.
//!
//! Exactly one engine is compiled in, chosen by cargo features:
//!
//! | feature | engine | note |
//! |---|---|---|
//! | `ring` (default) | ring | fastest measured for bulk data |
//! | `aws-lc` | aws-lc-rs | has a FIPS build (aws-lc-rs's `fips` feature) |
//! | `pure-rust` | RustCrypto `aes-gcm` | no C or assembly |
//!
//! When several are enabled, `pure-rust` wins over `aws-lc`, which wins
//! over `ring` (so adding one to a default build selects it); with none,
//! the build fails. All three produce byte-identical output and run the
//! same Wycheproof and C2SP vectors.

use std::fmt;

/// AES-256 key length in bytes.
pub const KEY_LEN: usize = 32;
/// GCM nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// GCM tag length in bytes.
pub const TAG_LEN: usize = 16;

/// Authentication failed (wrong key, wrong nonce, wrong AAD or modified data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenError;

/// An AES-256-GCM key schedule. aws-lc-rs and RustCrypto wipe the expanded
/// key when it is dropped; ring offers no way to, so with the `ring` engine
/// the schedule (which contains the key) is left in released memory.
pub struct Aes256Gcm {
    inner: engine::Key,
}

impl fmt::Debug for Aes256Gcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Aes256Gcm([REDACTED])")
    }
}

impl Aes256Gcm {
    /// Expands a 256-bit key.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        Self {
            inner: engine::Key::new(key),
        }
    }

    /// Name of the engine compiled in ("ring", "aws-lc-rs" or "rustcrypto").
    pub fn engine_name() -> &'static str {
        engine::NAME
    }

    /// Encrypts `buf` in place and returns the tag.
    pub fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        self.inner.seal_in_place(nonce, aad, buf)
    }

    /// Encrypts `plaintext` into `out`, which must be exactly
    /// `plaintext.len() + TAG_LEN` bytes: ciphertext followed by the tag.
    ///
    /// # Panics
    /// If `out` has the wrong length (a programming error).
    pub fn seal_into(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8]) {
        assert_eq!(out.len(), plaintext.len() + TAG_LEN, "seal_into: output length");
        self.inner.seal_into(nonce, aad, plaintext, out);
    }

    /// Decrypts `ct_and_tag` (ciphertext followed by the tag) in place and
    /// returns the plaintext length. On failure the buffer's contents are
    /// unspecified and must not be used.
    ///
    /// While this runs, the output holds plaintext whose tag is not checked
    /// yet (ring and aws-lc-rs decrypt, then compare): give it private
    /// memory, or open a private copy and copy the plaintext out once this
    /// returned `Ok`, when another thread or a mapping could see it.
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ct_and_tag: &mut [u8],
    ) -> Result<usize, OpenError> {
        if ct_and_tag.len() < TAG_LEN {
            return Err(OpenError);
        }
        #[cfg(test)]
        watch::note(&ct_and_tag[..ct_and_tag.len() - TAG_LEN]);
        self.inner.open_in_place(nonce, aad, ct_and_tag)?;
        Ok(ct_and_tag.len() - TAG_LEN)
    }

    /// Decrypts `in_out[src..]` (ciphertext followed by the tag) so that the
    /// plaintext lands at the start of `in_out`, and returns its length: an
    /// in-place open that also moves the data down by `src` bytes, in the
    /// same pass where the engine allows it. On failure the plaintext
    /// region is zeroed.
    ///
    /// While this runs, the output holds plaintext whose tag is not checked
    /// yet (ring and aws-lc-rs decrypt, then compare): give it private
    /// memory, or open a private copy and copy the plaintext out once this
    /// returned `Ok`, when another thread or a mapping could see it.
    pub fn open_within(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        src: usize,
    ) -> Result<usize, OpenError> {
        let Some(len) = in_out.len().checked_sub(src).and_then(|n| n.checked_sub(TAG_LEN)) else {
            return Err(OpenError);
        };
        #[cfg(test)]
        watch::note(&in_out[..len]);
        let result = self.inner.open_within(nonce, aad, in_out, src);
        if result.is_err() {
            in_out[..len].fill(0);
        }
        result.map(|()| len)
    }

    /// Decrypts `ct_and_tag` into `out` (exactly `ct_and_tag.len() - TAG_LEN`
    /// bytes). On failure `out` is zeroed.
    ///
    /// While this runs, the output holds plaintext whose tag is not checked
    /// yet (ring and aws-lc-rs decrypt, then compare): give it private
    /// memory, or open a private copy and copy the plaintext out once this
    /// returned `Ok`, when another thread or a mapping could see it.
    pub fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), OpenError> {
        if ct_and_tag.len() < TAG_LEN || out.len() != ct_and_tag.len() - TAG_LEN {
            return Err(OpenError);
        }
        #[cfg(test)]
        watch::note(out);
        let result = self.inner.open_into(nonce, aad, ct_and_tag, out);
        if result.is_err() {
            out.fill(0);
        }
        result
    }
}

/// Test instrumentation: where the engines write plaintext before its tag
/// is checked. A test watches an address range (a caller's buffer); every
/// open notes its plaintext destination, and a destination that overlaps a
/// watched range marks it. The engines decrypt before they compare tags
/// (ring and aws-lc-rs), so a marked range held unauthenticated plaintext.
#[cfg(test)]
pub(crate) mod watch {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Watched ranges: (id, start, end, overlapped).
    static WATCHED: Mutex<Vec<(u64, usize, usize, bool)>> = Mutex::new(Vec::new());
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);

    /// A watched range; it stops being watched when dropped.
    pub(crate) struct Watch(u64);

    /// Watches the `len` bytes at address `start` (only the addresses are
    /// compared: the memory is never read).
    pub(crate) fn range(start: usize, len: usize) -> Watch {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut w = WATCHED.lock().unwrap_or_else(|p| p.into_inner());
        w.push((id, start, start + len, false));
        Watch(id)
    }

    /// Watches the memory of `buf`.
    pub(crate) fn slice(buf: &[u8]) -> Watch {
        range(buf.as_ptr() as usize, buf.len())
    }

    impl Watch {
        /// Whether an open decrypted into the range since it was watched.
        pub(crate) fn decrypted_into(&self) -> bool {
            let w = WATCHED.lock().unwrap_or_else(|p| p.into_inner());
            w.iter().any(|&(id, _, _, hit)| id == self.0 && hit)
        }
    }

    impl Drop for Watch {
        fn drop(&mut self) {
            let mut w = WATCHED.lock().unwrap_or_else(|p| p.into_inner());
            w.retain(|&(id, ..)| id != self.0);
        }
    }

    /// Called by every open with the memory its plaintext goes to.
    pub(crate) fn note(dst: &[u8]) {
        if dst.is_empty() {
            return;
        }
        let (start, end) = (dst.as_ptr() as usize, dst.as_ptr() as usize + dst.len());
        let mut w = WATCHED.lock().unwrap_or_else(|p| p.into_inner());
        for entry in w.iter_mut() {
            if start < entry.2 && entry.1 < end {
                entry.3 = true;
            }
        }
    }
}

#[cfg(not(any(feature = "ring", feature = "aws-lc", feature = "pure-rust")))]
compile_error!(
    "strongroom needs an AES-GCM engine: enable the `ring` (default), `aws-lc` or `pure-rust` feature"
);

#[cfg(all(feature = "ring", not(any(feature = "aws-lc", feature = "pure-rust"))))]
mod engine {
    use super::{KEY_LEN, NONCE_LEN, OpenError, TAG_LEN};
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};

    pub const NAME: &str = "ring";

    /// ring seals and opens in place only, so the out-of-place forms copy
    /// the input into the output first (one pass over cache-resident data).
    pub struct Key(LessSafeKey);

    impl Key {
        pub fn new(key: &[u8; KEY_LEN]) -> Self {
            let unbound = UnboundKey::new(&AES_256_GCM, key).expect("AES-256 key length is fixed");
            Key(LessSafeKey::new(unbound))
        }

        pub fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
            let tag = self
                .0
                .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
                .expect("AES-GCM input below the 64 GiB limit");
            tag.as_ref().try_into().expect("16-byte tag")
        }

        pub fn seal_into(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8]) {
            let (ct, tag) = out.split_at_mut(plaintext.len());
            ct.copy_from_slice(plaintext);
            tag.copy_from_slice(&self.seal_in_place(nonce, aad, ct));
        }

        pub fn open_in_place(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            ct_and_tag: &mut [u8],
        ) -> Result<(), OpenError> {
            self.0
                .open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), ct_and_tag)
                .map(|_| ())
                .map_err(|_| OpenError)
        }

        pub fn open_within(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            in_out: &mut [u8],
            src: usize,
        ) -> Result<(), OpenError> {
            self.0
                .open_within(
                    Nonce::assume_unique_for_key(*nonce),
                    Aad::from(aad),
                    in_out,
                    src..,
                )
                .map(|_| ())
                .map_err(|_| OpenError)
        }

        pub fn open_into(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            ct_and_tag: &[u8],
            out: &mut [u8],
        ) -> Result<(), OpenError> {
            let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
            let tag: [u8; TAG_LEN] = tag.try_into().expect("16-byte tag");
            out.copy_from_slice(ct);
            self.0
                .open_in_place_separate_tag(
                    Nonce::assume_unique_for_key(*nonce),
                    Aad::from(aad),
                    Tag::from(tag),
                    out,
                    0..,
                )
                .map(|_| ())
                .map_err(|_| OpenError)
        }
    }
}

#[cfg(all(feature = "aws-lc", not(feature = "pure-rust")))]
mod engine {
    use super::{KEY_LEN, NONCE_LEN, OpenError, TAG_LEN};
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

    pub const NAME: &str = "aws-lc-rs";

    pub struct Key(LessSafeKey);

    impl Key {
        pub fn new(key: &[u8; KEY_LEN]) -> Self {
            let unbound = UnboundKey::new(&AES_256_GCM, key).expect("AES-256 key length is fixed");
            Key(LessSafeKey::new(unbound))
        }

        pub fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
            let tag = self
                .0
                .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
                .expect("AES-GCM input below the 64 GiB limit");
            tag.as_ref().try_into().expect("16-byte tag")
        }

        pub fn seal_into(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8]) {
            let (ct, tag) = out.split_at_mut(plaintext.len());
            self.0
                .seal_out_of_place_scatter(
                    Nonce::assume_unique_for_key(*nonce),
                    Aad::from(aad),
                    plaintext,
                    ct,
                    &[],
                    tag,
                )
                .expect("AES-GCM input below the 64 GiB limit");
        }

        pub fn open_in_place(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            ct_and_tag: &mut [u8],
        ) -> Result<(), OpenError> {
            self.0
                .open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), ct_and_tag)
                .map(|_| ())
                .map_err(|_| OpenError)
        }

        pub fn open_within(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            in_out: &mut [u8],
            src: usize,
        ) -> Result<(), OpenError> {
            self.0
                .open_within(
                    Nonce::assume_unique_for_key(*nonce),
                    Aad::from(aad),
                    in_out,
                    src..,
                )
                .map(|_| ())
                .map_err(|_| OpenError)
        }

        pub fn open_into(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            ct_and_tag: &[u8],
            out: &mut [u8],
        ) -> Result<(), OpenError> {
            let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
            self.0
                .open_separate_gather(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), ct, tag, out)
                .map_err(|_| OpenError)
        }
    }
}

#[cfg(feature = "pure-rust")]
mod engine {
    use super::{KEY_LEN, NONCE_LEN, OpenError, TAG_LEN};
    use aes_gcm::aead::inout::InOutBuf;
    use aes_gcm::aead::{AeadInOut, KeyInit};

    pub const NAME: &str = "rustcrypto";

    pub struct Key(aes_gcm::Aes256Gcm);

    impl Key {
        pub fn new(key: &[u8; KEY_LEN]) -> Self {
            Key(aes_gcm::Aes256Gcm::new(key.into()))
        }

        pub fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
            let tag = self
                .0
                .encrypt_inout_detached(nonce.into(), aad, buf.into())
                .expect("AES-GCM input below the 64 GiB limit");
            tag.into()
        }

        pub fn seal_into(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8]) {
            let (ct, tag_out) = out.split_at_mut(plaintext.len());
            let buf = InOutBuf::new(plaintext, ct).expect("equal lengths");
            let tag = self
                .0
                .encrypt_inout_detached(nonce.into(), aad, buf)
                .expect("AES-GCM input below the 64 GiB limit");
            tag_out.copy_from_slice(&tag);
        }

        pub fn open_in_place(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            ct_and_tag: &mut [u8],
        ) -> Result<(), OpenError> {
            let (ct, tag) = ct_and_tag.split_at_mut(ct_and_tag.len() - TAG_LEN);
            let tag: [u8; TAG_LEN] = (&*tag).try_into().expect("16-byte tag");
            self.0
                .decrypt_inout_detached(nonce.into(), aad, ct.into(), (&tag).into())
                .map_err(|_| OpenError)
        }

        pub fn open_within(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            in_out: &mut [u8],
            src: usize,
        ) -> Result<(), OpenError> {
            // RustCrypto has no shifting open: move the data down first.
            in_out.copy_within(src.., 0);
            let len = in_out.len() - src;
            self.open_in_place(nonce, aad, &mut in_out[..len])
        }

        pub fn open_into(
            &self,
            nonce: &[u8; NONCE_LEN],
            aad: &[u8],
            ct_and_tag: &[u8],
            out: &mut [u8],
        ) -> Result<(), OpenError> {
            let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
            let tag: [u8; TAG_LEN] = tag.try_into().expect("16-byte tag");
            let buf = InOutBuf::new(ct, out).map_err(|_| OpenError)?;
            self.0
                .decrypt_inout_detached(nonce.into(), aad, buf, (&tag).into())
                .map_err(|_| OpenError)
        }
    }
}
