//! AES-256-GCM (NIST SP 800-38D, 96-bit nonces, 128-bit tags) composed
//! from the AES-256 block cipher and GHASH (RustCrypto `aes`, `ghash`), for
//! short messages under short-lived keys.
//!
//! XAES-256-GCM derives a fresh AES-GCM key per nonce prefix, so a field
//! value pays one key setup per message. Here the setup is an AES key
//! expansion, one block for `H` and the GHASH key, about half what the
//! general engines ([`super::Aes256Gcm`]) spend, and a short message runs
//! its counter blocks and the tag block through the AES pipeline in one
//! go. The output is standard AES-256-GCM, checked against the engines and
//! the Wycheproof vectors. Long messages are faster through the engine.

use super::aead::{OpenError, TAG_LEN};
use super::kdf::ct_eq;
use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use std::fmt;
use zeroize::Zeroize;

/// Blocks run through AES per call of the block function.
const PAR: usize = 8;

/// An AES-256-GCM key for short messages. The key schedule and the GHASH
/// key are wiped on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct ShortGcm {
    aes: Aes256,
    ghash: GHash,
}

impl fmt::Debug for ShortGcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShortGcm([REDACTED])")
    }
}

impl ShortGcm {
    /// Expands a 256-bit key and computes `H = AES_K(0^128)`.
    pub fn new(key: &[u8; 32]) -> Self {
        let aes = Aes256::new(key.into());
        let mut h = aes::Block::default();
        aes.encrypt_block(&mut h);
        let ghash = GHash::new(&h);
        h.zeroize();
        Self { aes, ghash }
    }

    /// XORs `buf` with the keystream of counter blocks `inc32(J0)`, ... and
    /// returns `AES_K(J0)` (the tag mask).
    fn ctr(&self, nonce: &[u8; 12], buf: &mut [u8]) -> [u8; 16] {
        let mut counter: u32 = 1;
        let mut blocks = [aes::Block::default(); PAR];
        let mut mask = [0u8; 16];
        let mut first = true;
        let mut rest = buf;
        loop {
            // The first batch also carries J0 itself for the tag mask.
            let skip = usize::from(first);
            let wanted = skip + rest.len().div_ceil(16);
            let n = wanted.min(PAR);
            for b in blocks.iter_mut().take(n) {
                b[..12].copy_from_slice(nonce);
                b[12..].copy_from_slice(&counter.to_be_bytes());
                counter = counter.wrapping_add(1);
            }
            self.aes.encrypt_blocks(&mut blocks[..n]);
            if first {
                mask.copy_from_slice(&blocks[0]);
                first = false;
            }
            let take = ((n - skip) * 16).min(rest.len());
            let (now, later) = rest.split_at_mut(take);
            for (chunk, ks) in now.chunks_mut(16).zip(blocks[skip..n].iter()) {
                for (b, k) in chunk.iter_mut().zip(ks.iter()) {
                    *b ^= k;
                }
            }
            rest = later;
            if rest.is_empty() {
                break;
            }
        }
        for b in &mut blocks {
            b.zeroize();
        }
        mask
    }

    /// `GHASH(A || pad || C || pad || len64(A) || len64(C))` xor `mask`.
    fn tag(&self, aad: &[u8], ct: &[u8], mask: &[u8; 16]) -> [u8; TAG_LEN] {
        let mut g = self.ghash.clone();
        g.update_padded(aad);
        finish_tag(g, aad.len(), ct, mask)
    }

    /// GHASH with `aad` already absorbed, for many messages that share the
    /// same key and associated data.
    pub fn absorb_aad(&self, aad: &[u8]) -> AadState {
        let mut ghash = self.ghash.clone();
        ghash.update_padded(aad);
        AadState {
            ghash,
            aad_len: aad.len(),
        }
    }

    /// Like [`ShortGcm::seal_in_place`] with the associated data of `state`
    /// (which must come from this key).
    pub fn seal_in_place_with(&self, state: &AadState, nonce: &[u8; 12], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let mut mask = self.ctr(nonce, buf);
        let tag = finish_tag(state.ghash.clone(), state.aad_len, buf, &mask);
        mask.zeroize();
        tag
    }

    /// Encrypts `buf` in place and returns the tag.
    pub fn seal_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let mut mask = self.ctr(nonce, buf);
        let tag = self.tag(aad, buf, &mask);
        mask.zeroize();
        tag
    }

    /// Decrypts `ct_and_tag` into `out` (exactly 16 bytes shorter) after
    /// checking the tag in constant time; on failure `out` is zeroed.
    pub fn open_into(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), OpenError> {
        if ct_and_tag.len() < TAG_LEN || out.len() != ct_and_tag.len() - TAG_LEN {
            return Err(OpenError);
        }
        let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
        // The mask is AES_K(J0); compute it with a zero-length CTR pass.
        let mut mask = self.ctr(nonce, &mut []);
        let expected = self.tag(aad, ct, &mask);
        mask.zeroize();
        if !ct_eq(&expected, tag) {
            out.fill(0);
            return Err(OpenError);
        }
        out.copy_from_slice(ct);
        self.ctr(nonce, out);
        Ok(())
    }
}

/// GHASH with the associated data absorbed (see [`ShortGcm::absorb_aad`]).
#[derive(Clone)]
pub struct AadState {
    ghash: GHash,
    aad_len: usize,
}

impl fmt::Debug for AadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AadState([REDACTED])")
    }
}

/// Absorbs the ciphertext and the lengths block into `g` (which holds the
/// padded AAD) and xors the result with `mask`.
fn finish_tag(mut g: GHash, aad_len: usize, ct: &[u8], mask: &[u8; 16]) -> [u8; TAG_LEN] {
    g.update_padded(ct);
    let mut lens = ghash::Block::default();
    lens[..8].copy_from_slice(&((aad_len as u64) * 8).to_be_bytes());
    lens[8..].copy_from_slice(&((ct.len() as u64) * 8).to_be_bytes());
    g.update(&[lens]);
    let mut tag: [u8; TAG_LEN] = g.finalize().into();
    for (t, m) in tag.iter_mut().zip(mask.iter()) {
        *t ^= m;
    }
    tag
}

#[cfg(test)]
mod tests {
    use super::super::Aes256Gcm;
    use super::*;

    /// Same output as the compiled-in engine for every length 0..=300 and
    /// several AAD lengths; tampering is rejected.
    #[test]
    fn matches_the_engine() {
        let key = [0x42u8; 32];
        let engine = Aes256Gcm::new(&key);
        let short = ShortGcm::new(&key);
        let nonce = [7u8; 12];
        for len in 0..=300usize {
            for aad_len in [0usize, 1, 16, 25, 40] {
                let pt: Vec<u8> = (0..len).map(|i| (i * 31 + aad_len) as u8).collect();
                let aad = vec![0xa5u8; aad_len];
                let mut a = pt.clone();
                let mut b = pt.clone();
                let ta = engine.seal_in_place(&nonce, &aad, &mut a);
                let tb = short.seal_in_place(&nonce, &aad, &mut b);
                assert_eq!((&a, ta), (&b, tb), "len {len} aad {aad_len}");
                let mut c = pt.clone();
                let tc = short.seal_in_place_with(&short.absorb_aad(&aad), &nonce, &mut c);
                assert_eq!((&a, ta), (&c, tc), "with state: len {len} aad {aad_len}");
                let mut sealed = b.clone();
                sealed.extend_from_slice(&tb);
                let mut out = vec![0u8; len];
                short.open_into(&nonce, &aad, &sealed, &mut out).unwrap();
                assert_eq!(out, pt);
                sealed[len / 2] ^= 1;
                assert_eq!(short.open_into(&nonce, &aad, &sealed, &mut out), Err(OpenError));
                assert!(out.iter().all(|&x| x == 0));
            }
        }
    }
}
