//! XAES-256-GCM (C2SP): AES-256-GCM with 192-bit nonces, under a key derived
//! from the input key and the first 96 nonce bits with a NIST SP 800-108r1
//! counter KDF over CMAC-AES-256 (one AES block per half key).
//!
//! The expanded AES-256 input key and the CMAC subkey `K1` are computed once
//! per [`Xaes256Gcm`]; each message costs two AES block encryptions plus an
//! AES-256-GCM key schedule. Messages that share the first 12 nonce bytes
//! share the derived key: [`Xaes256Gcm::derive`] returns it so that a batch
//! pays the derivation once.

use crate::crypto::aead::{Aes256Gcm, OpenError, TAG_LEN};
use crate::crypto::gcm_short::{AadState, ShortGcm};
use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use std::cell::OnceCell;
use std::fmt;
use strongroom_keymem::LockedBox;
use zeroize::Zeroize;

/// XAES-256-GCM nonce length in bytes.
pub const XNONCE_LEN: usize = 24;
/// Length of the nonce half that selects the derived key.
pub const PREFIX_LEN: usize = 12;

/// Messages up to this many bytes run through the crate's short-message
/// AES-256-GCM, whose key setup is cheap; longer ones through the
/// compiled-in engine, whose bulk speed wins once the message is long (and
/// which the short path refuses above this cap).
pub const SHORT_MAX: usize = crate::crypto::gcm_short::MAX_LEN;

/// Turns the short-message path off (every message through the engine),
/// for the benchmark that compares the two in one run.
#[cfg(feature = "bench-internals")]
pub(crate) static ENGINE_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the short-message path is on (always, outside that benchmark).
#[inline]
fn short_on() -> bool {
    #[cfg(feature = "bench-internals")]
    {
        !ENGINE_ONLY.load(std::sync::atomic::Ordering::Relaxed)
    }
    #[cfg(not(feature = "bench-internals"))]
    {
        true
    }
}

/// The AES-256-GCM key derived for one nonce prefix. The key bytes and
/// schedules are wiped on drop; `Debug` is redacted. Not shared between
/// threads (it builds the engine key lazily).
///
/// It lives for one call or one batch, in ordinary memory: putting it in
/// key memory cost 15% of a single random-mode encryption (measured), while
/// the column key it is computed from ([`Xaes256Gcm`]) is in key memory.
pub struct DerivedKey {
    kx: Box<[u8; 32]>,
    short: ShortGcm,
    engine: OnceCell<Aes256Gcm>,
}

impl Drop for DerivedKey {
    fn drop(&mut self) {
        self.kx.zeroize();
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey([REDACTED])")
    }
}

impl DerivedKey {
    fn engine(&self) -> &Aes256Gcm {
        self.engine.get_or_init(|| Aes256Gcm::new(&self.kx))
    }

    /// AES-256-GCM: encrypts `buf` in place under the 12-byte GCM nonce
    /// (the last 12 bytes of the XAES nonce) and returns the tag.
    pub fn seal_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let short = if short_on() {
            self.short.seal_in_place(nonce, aad, buf)
        } else {
            None
        };
        short.unwrap_or_else(|| self.engine().seal_in_place(nonce, aad, buf))
    }

    /// The associated data absorbed once, for [`DerivedKey::seal_short_with`].
    pub(crate) fn absorb_aad(&self, aad: &[u8]) -> AadState {
        self.short.absorb_aad(aad)
    }

    /// Like [`DerivedKey::seal_in_place`] with pre-absorbed associated data;
    /// only for messages that take the short path (`None`, nothing
    /// encrypted, otherwise).
    pub(crate) fn seal_short_with(
        &self,
        state: &AadState,
        nonce: &[u8; 12],
        buf: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        if !short_on() {
            return None;
        }
        self.short.seal_in_place_with(state, nonce, buf)
    }

    /// Two messages sealed with pre-absorbed associated data, their AES
    /// blocks in one batch (see [`ShortGcm::seal_pair_with`]); `None`, with
    /// nothing encrypted, if either is longer than
    /// [`PAIR_MAX`](crate::crypto::gcm_short::PAIR_MAX).
    pub(crate) fn seal_pair_with(
        &self,
        state: &AadState,
        a: (&[u8; 12], &mut [u8]),
        b: (&[u8; 12], &mut [u8]),
    ) -> Option<[[u8; TAG_LEN]; 2]> {
        if !short_on() {
            return None;
        }
        self.short.seal_pair_with(state, a, b)
    }

    /// Like [`DerivedKey::open_into`], for a key that opens many messages
    /// (a batch of tokens sharing a nonce prefix): with aws-lc-rs the
    /// engine's key is set up once and its open is faster than the short
    /// composition; with the RustCrypto engine, the short path stays.
    pub fn open_into_reused(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), OpenError> {
        let short = if cfg!(feature = "pure-rust") && short_on() {
            self.short.open_into(nonce, aad, ct_and_tag, out)
        } else {
            None
        };
        short.unwrap_or_else(|| self.engine().open_into(nonce, aad, ct_and_tag, out))
    }

    /// AES-256-GCM: decrypts `ct_and_tag` into `out` (16 bytes shorter);
    /// on failure `out` is zeroed.
    pub fn open_into(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), OpenError> {
        let short = if short_on() {
            self.short.open_into(nonce, aad, ct_and_tag, out)
        } else {
            None
        };
        short.unwrap_or_else(|| self.engine().open_into(nonce, aad, ct_and_tag, out))
    }
}

/// An XAES-256-GCM key: the expanded AES-256 key and the CMAC subkey `K1`.
/// Both are wiped on drop; `Debug` is redacted.
pub struct Xaes256Gcm(LockedBox<XaesState>);

/// The expanded input key and `K1`, in one slot of key memory.
struct XaesState {
    aes: Aes256,
    k1: [u8; 16],
}

impl fmt::Debug for Xaes256Gcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Xaes256Gcm([REDACTED])")
    }
}

impl Drop for XaesState {
    fn drop(&mut self) {
        // The `aes` key schedule wipes itself (feature `zeroize`).
        self.k1.zeroize();
    }
}

impl Xaes256Gcm {
    /// Expands a 256-bit key and precomputes the CMAC subkey `K1`.
    pub fn new(key: &[u8; 32]) -> Self {
        let aes = Aes256::new(key.into());
        // L = AES-256_K(0^128); K1 = L << 1, xor 0x87 if the MSB of L was set.
        let mut l = [0u8; 16];
        aes.encrypt_block((&mut l).into());
        let msb = l[0] >> 7;
        let mut k1 = [0u8; 16];
        for i in 0..16 {
            let next = if i + 1 < 16 { l[i + 1] >> 7 } else { 0 };
            k1[i] = (l[i] << 1) | next;
        }
        // Constant time: the mask is all ones exactly when the MSB was set.
        k1[15] ^= 0x87 & 0u8.wrapping_sub(msb);
        l.zeroize();
        let this = Self(LockedBox::new(XaesState { aes, k1 }));
        k1.zeroize();
        this
    }

    /// Writes the derived 256-bit AES-GCM key `Kx` for a nonce prefix.
    fn derive_into(&self, prefix: &[u8; PREFIX_LEN], out: &mut [u8; 32]) {
        let mut blocks = [aes::Block::default(); 2];
        for (i, block) in blocks.iter_mut().enumerate() {
            // M_i = 0x00 || i || "X" || 0x00 || N[:12], xored with K1.
            let mut m = [0u8; 16];
            m[1] = (i + 1) as u8;
            m[2] = 0x58;
            m[4..].copy_from_slice(prefix);
            for (b, k) in m.iter_mut().zip(self.0.k1.iter()) {
                *b ^= k;
            }
            block.copy_from_slice(&m);
            m.zeroize();
        }
        self.0.aes.encrypt_blocks(&mut blocks);
        out[..16].copy_from_slice(&blocks[0]);
        out[16..].copy_from_slice(&blocks[1]);
        for b in &mut blocks {
            b.zeroize();
        }
    }

    /// The AES-256-GCM key that serves every nonce starting with `prefix`;
    /// use it with the last 12 nonce bytes as the GCM nonce.
    pub fn derive(&self, prefix: &[u8; PREFIX_LEN]) -> DerivedKey {
        let mut kx = Box::new([0u8; 32]);
        self.derive_into(prefix, &mut kx);
        let short = ShortGcm::new(&kx);
        DerivedKey {
            kx,
            short,
            engine: OnceCell::new(),
        }
    }

    /// Splits a 24-byte nonce into its key-selecting prefix and GCM nonce.
    pub fn split_nonce(nonce: &[u8; XNONCE_LEN]) -> (&[u8; PREFIX_LEN], &[u8; 12]) {
        let (a, b) = nonce.split_at(PREFIX_LEN);
        (a.try_into().expect("12 bytes"), b.try_into().expect("12 bytes"))
    }

    /// Encrypts `buf` in place and returns the tag.
    pub fn seal_in_place(&self, nonce: &[u8; XNONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let (prefix, n) = Self::split_nonce(nonce);
        self.derive(prefix).seal_in_place(n, aad, buf)
    }

    /// Decrypts `ct_and_tag` (ciphertext then tag) into `out`, which must be
    /// exactly 16 bytes shorter. On failure `out` is zeroed.
    pub fn open_into(
        &self,
        nonce: &[u8; XNONCE_LEN],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), OpenError> {
        let (prefix, n) = Self::split_nonce(nonce);
        self.derive(prefix).open_into(n, aad, ct_and_tag, out)
    }

    /// Encrypts `plaintext`; returns ciphertext followed by the 16-byte tag.
    pub fn encrypt(&self, nonce: &[u8; XNONCE_LEN], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        out.extend_from_slice(plaintext);
        let tag = self.seal_in_place(nonce, aad, &mut out);
        out.extend_from_slice(&tag);
        out
    }

    /// Decrypts ciphertext followed by the tag; returns the plaintext.
    pub fn decrypt(
        &self,
        nonce: &[u8; XNONCE_LEN],
        ct_and_tag: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        let len = ct_and_tag.len().checked_sub(TAG_LEN).ok_or(OpenError)?;
        let mut out = vec![0u8; len];
        self.open_into(nonce, aad, ct_and_tag, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap()
    }

    /// The intermediate values of both C2SP vectors (L/K1 via Kx).
    #[test]
    fn c2sp_derived_keys() {
        for (key, kx) in [
            (
                0x01u8,
                "c8612c9ed53fe43e8e005b828a1631a0bbcb6ab2f46514ec4f439fcfd0fa969b",
            ),
            (
                0x03u8,
                "e9c621d4cdd9b11b00a6427ad7e559aeedd66b3857646677748f8ca796cb3fd8",
            ),
        ] {
            let x = Xaes256Gcm::new(&[key; 32]);
            let mut out = [0u8; 32];
            x.derive_into(b"ABCDEFGHIJKL", &mut out);
            assert_eq!(out.to_vec(), hex(kx));
        }
        let k1 = Xaes256Gcm::new(&[0x01; 32]).0.k1;
        assert_eq!(k1.to_vec(), hex("e531954aca063d5b8d9c47a47d4cc6f0"));
        let k1 = Xaes256Gcm::new(&[0x03; 32]).0.k1;
        assert_eq!(k1.to_vec(), hex("23810ec50edb99f374409466ed1f4b7b"));
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Xaes256Gcm::new(&[1; 32])),
            "Xaes256Gcm([REDACTED])"
        );
    }
}
