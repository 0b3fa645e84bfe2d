//! Per-message key derivation and single-chunk sealing/opening.

use super::{CHUNK_SIZE, COMMITMENT_LEN, MAX_CHUNKS, PREFIX_LEN, SALT_LEN};
use crate::crypto::kdf::{Hash, ct_eq, hkdf_expand};
use crate::crypto::{Aes256Gcm, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use std::fmt;
use zeroize::Zeroize;

const LABEL: &[u8] = b"c2sp.org/chunked-encryption@v1+";
const AEAD_NAME: &[u8] = b"AEAD_AES_256_GCM";

/// The per-message AEAD key and base nonce, derived from an input key, a
/// salt and a context. Holds no copy of the input key.
pub struct PayloadKey {
    /// The expanded key, in key memory (locked, excluded from core dumps,
    /// where the OS allows).
    aead: strongroom_keymem::LockedBox<Aes256Gcm>,
    base_nonce: [u8; NONCE_LEN],
}

impl fmt::Debug for PayloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayloadKey([REDACTED])")
    }
}

impl Drop for PayloadKey {
    fn drop(&mut self) {
        self.base_nonce.zeroize();
    }
}

impl PayloadKey {
    /// Derives the message key and the expected commitment.
    ///
    /// `input_key` must be 32 bytes (Cobblestone-256); any other length is
    /// refused with [`Error::InvalidArgument`].
    pub fn derive(
        input_key: &[u8],
        salt: &[u8; SALT_LEN],
        context: &[u8],
    ) -> Result<(Self, [u8; COMMITMENT_LEN])> {
        if input_key.len() != KEY_LEN {
            return Err(Error::InvalidArgument(format!(
                "the payload input key must be {KEY_LEN} bytes, not {}",
                input_key.len()
            )));
        }
        let mut okm = [0u8; KEY_LEN + NONCE_LEN + COMMITMENT_LEN];
        hkdf_expand(
            Hash::Sha512,
            input_key,
            &[LABEL, AEAD_NAME, &[0u8], salt, context],
            &mut okm,
        )
        .expect("76 bytes is within HKDF-SHA-512 limits");
        let mut key = [0u8; KEY_LEN];
        key.copy_from_slice(&okm[..KEY_LEN]);
        let mut base_nonce = [0u8; NONCE_LEN];
        base_nonce.copy_from_slice(&okm[KEY_LEN..KEY_LEN + NONCE_LEN]);
        let mut commitment = [0u8; COMMITMENT_LEN];
        commitment.copy_from_slice(&okm[KEY_LEN + NONCE_LEN..]);
        let this = Self {
            aead: strongroom_keymem::LockedBox::new(Aes256Gcm::new(&key)),
            base_nonce,
        };
        key.zeroize();
        okm.zeroize();
        Ok((this, commitment))
    }

    /// Reads the 56-byte `salt || commitment` prefix, derives the message key
    /// and checks the commitment in constant time before returning.
    pub fn open_prefix(input_key: &[u8], prefix: &[u8; PREFIX_LEN], context: &[u8]) -> Result<Self> {
        let salt: &[u8; SALT_LEN] = prefix[..SALT_LEN].try_into().expect("fixed split");
        let (key, commitment) = Self::derive(input_key, salt, context)?;
        if !ct_eq(&commitment, &prefix[SALT_LEN..]) {
            return Err(Error::CommitmentMismatch);
        }
        Ok(key)
    }

    /// Reads the prefix from `input` and opens it as [`open_prefix`](Self::open_prefix) does.
    pub(crate) fn read_prefix(
        input: &mut impl std::io::Read,
        input_key: &[u8],
        context: &[u8],
    ) -> Result<Self> {
        let mut prefix = [0u8; PREFIX_LEN];
        input.read_exact(&mut prefix).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Error::Truncated("payload shorter than its 56-byte prefix"),
            _ => Error::Io(e),
        })?;
        Self::open_prefix(input_key, &prefix, context)
    }

    /// Raw mode (hazmat): a caller-supplied AEAD key and base nonce, with no
    /// salt, no commitment and no key commitment. Both must be uniformly
    /// random and never reused. Exists for the raw-mode test vectors.
    #[doc(hidden)]
    pub fn hazmat_raw(key: &[u8; KEY_LEN], base_nonce: &[u8; NONCE_LEN]) -> Self {
        Self {
            aead: strongroom_keymem::LockedBox::new(Aes256Gcm::new(key)),
            base_nonce: *base_nonce,
        }
    }

    fn nonce(&self, index: u64) -> [u8; NONCE_LEN] {
        debug_assert!(index < MAX_CHUNKS);
        let mut nonce = self.base_nonce;
        for (n, c) in nonce[NONCE_LEN - 8..].iter_mut().zip(index.to_be_bytes()) {
            *n ^= c;
        }
        nonce
    }

    /// Encrypts chunk `index` from `plaintext` into `out` (`plaintext.len() + 16`).
    pub(crate) fn seal_chunk(&self, index: u64, plaintext: &[u8], out: &mut [u8]) {
        debug_assert!(plaintext.len() <= CHUNK_SIZE);
        self.aead.seal_into(&self.nonce(index), &[], plaintext, out);
    }

    /// Encrypts chunk `index` in place; returns its tag.
    pub(crate) fn seal_chunk_in_place(&self, index: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
        debug_assert!(buf.len() <= CHUNK_SIZE);
        self.aead.seal_in_place(&self.nonce(index), &[], buf)
    }

    /// Decrypts chunk `index` into `out`; `out` is zeroed on failure.
    ///
    /// The engines decrypt before they compare tags, so `out` holds the
    /// chunk's unauthenticated plaintext while this runs: `out` must be
    /// private memory (a buffer the core allocated and hands out only after
    /// success). For a caller's memory use
    /// [`open_chunk_in_place`](Self::open_chunk_in_place) on a private copy
    /// of the ciphertext, then copy.
    pub(crate) fn open_chunk_private(&self, index: u64, ciphertext: &[u8], out: &mut [u8]) -> Result<()> {
        if ciphertext.len() < TAG_LEN {
            return Err(Error::Truncated("chunk shorter than its tag"));
        }
        self.aead
            .open_into(&self.nonce(index), &[], ciphertext, out)
            .map_err(|_| Error::ChunkAuthFailed { index })
    }

    /// Decrypts chunk `index` (ciphertext then tag) where it lies, in
    /// private memory (a buffer of the core's own that nobody else reads);
    /// returns the plaintext length, the plaintext being at the start of
    /// `ct_and_tag`. On failure the whole buffer is zeroed. Copying the
    /// plaintext out afterwards is how a chunk reaches a caller's memory:
    /// only once it authenticated.
    pub(crate) fn open_chunk_in_place(&self, index: u64, ct_and_tag: &mut [u8]) -> Result<usize> {
        if ct_and_tag.len() < TAG_LEN {
            return Err(Error::Truncated("chunk shorter than its tag"));
        }
        self.aead
            .open_in_place(&self.nonce(index), &[], ct_and_tag)
            .map_err(|_| {
                ct_and_tag.fill(0);
                Error::ChunkAuthFailed { index }
            })
    }

    /// Decrypts chunk `index` into `out`, memory that others may read (a
    /// caller's buffer, shared or mapped memory): the ciphertext is copied
    /// into `scratch` (private, at least `ciphertext.len()` bytes), opened
    /// there, and only authenticated plaintext is copied to `out`, which is
    /// left untouched on failure. `scratch` holds the plaintext afterwards:
    /// the caller wipes it.
    pub(crate) fn open_chunk_shared(
        &self,
        index: u64,
        ciphertext: &[u8],
        out: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<()> {
        let private = &mut scratch[..ciphertext.len()];
        private.copy_from_slice(ciphertext);
        let len = self.open_chunk_in_place(index, private)?;
        out.copy_from_slice(&private[..len]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_xors_big_endian_counter() {
        let k = PayloadKey::hazmat_raw(&[0; 32], &[0xff; 12]);
        let n = k.nonce(0x01_0203_0405);
        assert_eq!(&n[..7], &[0xff; 7]);
        assert_eq!(&n[7..], &[0xfe, 0xfd, 0xfc, 0xfb, 0xfa]);
    }

    #[test]
    fn wrong_input_key_size_refused() {
        let err = PayloadKey::derive(&[0; 16], &[0; 24], b"").unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(ref m) if m.contains("32 bytes")),
            "{err}"
        );
    }

    #[test]
    fn commitment_checked() {
        let (_, commitment) = PayloadKey::derive(&[1; 32], &[2; 24], b"ctx").unwrap();
        let mut prefix = [0u8; PREFIX_LEN];
        prefix[..24].copy_from_slice(&[2; 24]);
        prefix[24..].copy_from_slice(&commitment);
        assert!(PayloadKey::open_prefix(&[1; 32], &prefix, b"ctx").is_ok());
        assert!(matches!(
            PayloadKey::open_prefix(&[1; 32], &prefix, b"cty"),
            Err(Error::CommitmentMismatch)
        ));
        prefix[0] ^= 1;
        assert!(matches!(
            PayloadKey::open_prefix(&[1; 32], &prefix, b"ctx"),
            Err(Error::CommitmentMismatch)
        ));
    }
}
