//! HMAC-SHA-256/512 and HKDF (RFC 5869), built on RustCrypto `hmac` and `sha2`.
//!
//! HKDF is implemented here rather than through the `hkdf` crate because the
//! C2SP chunked encryption scheme runs HKDF-Expand with a 32-byte PRK under
//! SHA-512, which `hkdf` refuses (it requires a PRK of at least hash length).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// HKDF output would exceed 255 hash blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputTooLong;

/// Hash function selector for HMAC and HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256 (32-byte output).
    Sha256,
    /// SHA-512 (64-byte output).
    Sha512,
}

impl Hash {
    /// Output length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }
}

/// HMAC over the concatenation of `parts`, written to `out` (hash length).
fn hmac_parts(hash: Hash, key: &[u8], parts: &[&[u8]], out: &mut [u8]) {
    match hash {
        Hash::Sha256 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            for p in parts {
                mac.update(p);
            }
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        Hash::Sha512 => {
            let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            for p in parts {
                mac.update(p);
            }
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
    }
}

/// HMAC-SHA-256 over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hmac_parts(Hash::Sha256, key, parts, &mut out);
    out
}

/// HMAC-SHA-256 with the key already absorbed: each MAC costs two
/// compression functions less than [`hmac_sha256`]. The prepared state is
/// key-equivalent; it is wiped on drop and redacted in `Debug`.
pub struct HmacSha256Key(Hmac<Sha256>);

impl HmacSha256Key {
    /// Absorbs `key` (any length).
    pub fn new(key: &[u8]) -> Self {
        Self(<Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length"))
    }

    /// HMAC-SHA-256 over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256Key([REDACTED])")
    }
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HKDF-Extract: `PRK = HMAC(salt, ikm)`; an empty salt means hash-length zeros.
pub fn hkdf_extract(hash: Hash, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    let zeros = [0u8; 64];
    let salt = if salt.is_empty() {
        &zeros[..hash.len()]
    } else {
        salt
    };
    let mut prk = vec![0u8; hash.len()];
    hmac_parts(hash, salt, &[ikm], &mut prk);
    prk
}

/// HKDF-Expand with `info` given as concatenated parts, filling `out`.
pub fn hkdf_expand(hash: Hash, prk: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), OutputTooLong> {
    let n = hash.len();
    if out.len() > 255 * n {
        return Err(OutputTooLong);
    }
    let mut prev = [0u8; 64];
    let mut block = [0u8; 64];
    let mut prev_len = 0;
    for (i, chunk) in out.chunks_mut(n).enumerate() {
        let counter = [(i + 1) as u8];
        let mut parts: Vec<&[u8]> = Vec::with_capacity(info.len() + 2);
        parts.push(&prev[..prev_len]);
        parts.extend_from_slice(info);
        parts.push(&counter);
        hmac_parts(hash, prk, &parts, &mut block[..n]);
        drop(parts);
        chunk.copy_from_slice(&block[..chunk.len()]);
        prev[..n].copy_from_slice(&block[..n]);
        prev_len = n;
    }
    prev.zeroize();
    block.zeroize();
    Ok(())
}

/// Full HKDF (extract then expand), as RFC 5869.
pub fn hkdf(hash: Hash, ikm: &[u8], salt: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), OutputTooLong> {
    let mut prk = hkdf_extract(hash, salt, ikm);
    let result = hkdf_expand(hash, &prk, &[info], out);
    prk.zeroize();
    result
}

/// Derives a 32-byte subkey with HKDF-SHA-256 under a domain-separation
/// label. Used for every purpose key in strongroom.
pub fn derive_key32(ikm: &[u8], salt: &[u8], label: &[u8]) -> crate::secret::SecretKey {
    crate::secret::SecretKey::try_filled(|out| hkdf(Hash::Sha256, ikm, salt, label, out))
        .expect("32 bytes is within HKDF limits")
}
