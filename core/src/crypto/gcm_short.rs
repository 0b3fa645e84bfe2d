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
//! the Wycheproof vectors, and by a differential property test against the
//! engine below.
//!
//! Crate-private, and capped: messages longer than [`MAX_LEN`] bytes are
//! refused (`None`, nothing touched); the caller (XAES-256-GCM's derived
//! key) sends those to the engine, whose bulk speed wins on them anyway.

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

/// Longest message (plaintext or ciphertext without tag) in bytes that
/// [`ShortGcm`] encrypts or decrypts; longer ones are refused.
pub(crate) const MAX_LEN: usize = 256;

/// An AES-256-GCM key for short messages. The key schedule and the GHASH
/// key are wiped on drop; `Debug` is redacted.
#[derive(Clone)]
pub(crate) struct ShortGcm {
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
    pub(crate) fn new(key: &[u8; 32]) -> Self {
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
        let mut used = 0;
        let mut mask = [0u8; 16];
        let mut first = true;
        let mut rest = buf;
        loop {
            // The first batch also carries J0 itself for the tag mask.
            let skip = usize::from(first);
            let wanted = skip + rest.len().div_ceil(16);
            let n = wanted.min(PAR);
            used = used.max(n);
            counter = counter_blocks(&mut blocks[..n], nonce, counter);
            self.aes.encrypt_blocks(&mut blocks[..n]);
            if first {
                mask.copy_from_slice(&blocks[0]);
                first = false;
            }
            let take = ((n - skip) * 16).min(rest.len());
            let (now, later) = rest.split_at_mut(take);
            for (chunk, ks) in now.chunks_mut(16).zip(blocks[skip..n].iter()) {
                xor_block(chunk, ks);
            }
            rest = later;
            if rest.is_empty() {
                break;
            }
        }
        // Wipe the keystream (only the blocks used hold any).
        for b in &mut blocks[..used] {
            b.zeroize();
        }
        mask
    }

    /// `GHASH(A || pad || C || pad || len64(A) || len64(C))` xor `mask`.
    fn tag(&self, aad: &[u8], ct: &[u8], mask: &[u8; 16]) -> [u8; TAG_LEN] {
        let mut g = self.ghash.clone();
        hash_padded(&mut g, &[aad, ct, &lengths(aad.len(), ct.len())]);
        tag_from(g, mask)
    }

    /// GHASH with `aad` already absorbed, for many messages that share the
    /// same key and associated data.
    pub(crate) fn absorb_aad(&self, aad: &[u8]) -> AadState {
        let mut ghash = self.ghash.clone();
        hash_padded(&mut ghash, &[aad]);
        AadState {
            ghash,
            aad_len: aad.len(),
        }
    }

    /// Like [`ShortGcm::seal_in_place`] with the associated data of `state`
    /// (which must come from this key); `None` above [`MAX_LEN`].
    pub(crate) fn seal_in_place_with(
        &self,
        state: &AadState,
        nonce: &[u8; 12],
        buf: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        if buf.len() > MAX_LEN {
            return None;
        }
        let mut mask = self.ctr(nonce, buf);
        let tag = finish_tag(state.ghash.clone(), state.aad_len, buf, &mask);
        mask.zeroize();
        Some(tag)
    }

    /// Encrypts `buf` in place and returns the tag; `None`, with `buf`
    /// untouched, if it is longer than [`MAX_LEN`].
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        if buf.len() > MAX_LEN {
            return None;
        }
        let mut mask = self.ctr(nonce, buf);
        let tag = self.tag(aad, buf, &mask);
        mask.zeroize();
        Some(tag)
    }

    /// Encrypts two messages of at most [`PAIR_MAX`] bytes each, with the
    /// same pre-absorbed associated data: their counter blocks go through
    /// AES together, one batch instead of two half-empty ones. Returns the
    /// two tags, or `None` (nothing encrypted) if a message is too long.
    pub(crate) fn seal_pair_with(
        &self,
        state: &AadState,
        a: (&[u8; 12], &mut [u8]),
        b: (&[u8; 12], &mut [u8]),
    ) -> Option<[[u8; TAG_LEN]; 2]> {
        if a.1.len() > PAIR_MAX || b.1.len() > PAIR_MAX {
            return None;
        }
        let mut blocks = [aes::Block::default(); PAR];
        let na = 1 + a.1.len().div_ceil(16);
        let nb = 1 + b.1.len().div_ceil(16);
        counter_blocks(&mut blocks[..na], a.0, 1);
        counter_blocks(&mut blocks[na..na + nb], b.0, 1);
        self.aes.encrypt_blocks(&mut blocks[..na + nb]);
        let mut tags = [[0u8; TAG_LEN]; 2];
        for (tag, (buf, first, n)) in tags.iter_mut().zip([(a.1, 0, na), (b.1, na, nb)]) {
            for (chunk, ks) in buf.chunks_mut(16).zip(&blocks[first + 1..first + n]) {
                xor_block(chunk, ks);
            }
            // The mask is read in place: `blocks` is wiped below.
            *tag = finish_tag(state.ghash.clone(), state.aad_len, buf, &blocks[first].0);
        }
        for block in &mut blocks[..na + nb] {
            block.zeroize();
        }
        Some(tags)
    }

    /// Decrypts `ct_and_tag` into `out` (exactly 16 bytes shorter) after
    /// checking the tag in constant time; on failure `out` is zeroed.
    /// `None`, with `out` untouched, if the ciphertext is longer than
    /// [`MAX_LEN`] (open it with the engine).
    pub(crate) fn open_into(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Option<Result<(), OpenError>> {
        if ct_and_tag.len() > MAX_LEN + TAG_LEN {
            return None;
        }
        Some(self.open_checked(nonce, aad, ct_and_tag, out))
    }

    /// [`ShortGcm::open_into`] within the cap.
    fn open_checked(
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
        if ct.len() <= ONE_PASS_MAX {
            return self.open_one_pass(nonce, aad, ct, tag, out);
        }
        // The mask is AES_K(J0); compute it with a zero-length CTR pass.
        let mut mask = self.ctr(nonce, &mut []);
        if !self.tag_matches(aad, ct, tag, &mut mask) {
            out.fill(0);
            return Err(OpenError);
        }
        out.copy_from_slice(ct);
        self.ctr(nonce, out);
        Ok(())
    }

    /// Whether `tag` is the tag of `ct` and `aad` under the tag mask `mask`,
    /// compared in constant time; the mask and the expected tag are wiped.
    fn tag_matches(&self, aad: &[u8], ct: &[u8], tag: &[u8], mask: &mut [u8; 16]) -> bool {
        let mut expected = self.tag(aad, ct, mask);
        mask.zeroize();
        let ok = ct_eq(&expected, tag);
        expected.zeroize();
        ok
    }

    /// [`ShortGcm::open_into`] for a message that fits one batch of AES
    /// blocks with `J0`: the keystream is made once, kept on the stack, and
    /// applied to `out` only after the tag has been checked.
    fn open_one_pass(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), OpenError> {
        let mut keystream = [0u8; ONE_PASS_MAX];
        let ks = &mut keystream[..ct.len()];
        let mut mask = self.ctr(nonce, ks);
        let ok = self.tag_matches(aad, ct, tag, &mut mask);
        if ok {
            for ((o, c), k) in out.iter_mut().zip(ct).zip(ks.iter()) {
                *o = c ^ k;
            }
        } else {
            out.fill(0);
        }
        keystream.zeroize();
        if ok { Ok(()) } else { Err(OpenError) }
    }
}

/// GHASH with the associated data absorbed (see [`ShortGcm::absorb_aad`]).
#[derive(Clone)]
pub(crate) struct AadState {
    ghash: GHash,
    aad_len: usize,
}

impl fmt::Debug for AadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AadState([REDACTED])")
    }
}

/// Longest message of [`ShortGcm::seal_pair_with`]: two such messages and
/// their `J0` blocks fill one batch of AES blocks.
pub(crate) const PAIR_MAX: usize = (PAR / 2 - 1) * 16;

/// Fills `blocks` with `nonce || counter`, `counter + 1`, ... and returns
/// the next counter.
#[inline]
fn counter_blocks(blocks: &mut [aes::Block], nonce: &[u8; 12], mut counter: u32) -> u32 {
    for b in blocks {
        b[..12].copy_from_slice(nonce);
        b[12..].copy_from_slice(&counter.to_be_bytes());
        counter = counter.wrapping_add(1);
    }
    counter
}

/// Longest ciphertext [`ShortGcm::open_into`] decrypts in one AES pass: the
/// blocks of one batch, less `J0`.
const ONE_PASS_MAX: usize = (PAR - 1) * 16;

/// `chunk ^= keystream` for a chunk of at most one block.
#[inline]
fn xor_block(chunk: &mut [u8], keystream: &aes::Block) {
    match <&mut [u8; 16]>::try_from(&mut *chunk) {
        Ok(whole) => {
            let k = u128::from_ne_bytes(keystream.0);
            *whole = (u128::from_ne_bytes(*whole) ^ k).to_ne_bytes();
        }
        Err(_) => {
            for (b, k) in chunk.iter_mut().zip(keystream.iter()) {
                *b ^= k;
            }
        }
    }
}

/// Blocks gathered before a call of the hash.
const FEED: usize = 8;

/// Hashes each of `parts` zero-padded to whole blocks into `g`, gathering
/// the blocks into runs so that the hash sees several per call and takes
/// its aggregated path (one reduction per 4 blocks) across part
/// boundaries. Only public data (associated data, ciphertext, lengths)
/// goes through here.
fn hash_padded(g: &mut GHash, parts: &[&[u8]]) {
    let mut blocks = [ghash::Block::default(); FEED];
    let mut n = 0;
    for part in parts {
        for chunk in part.chunks(16) {
            let block = &mut blocks[n];
            match <&[u8; 16]>::try_from(chunk) {
                // Whole blocks: a fixed-size copy the compiler inlines.
                Ok(whole) => block.copy_from_slice(whole),
                Err(_) => {
                    *block = ghash::Block::default();
                    block[..chunk.len()].copy_from_slice(chunk);
                }
            }
            n += 1;
            if n == FEED {
                g.update(&blocks);
                n = 0;
            }
        }
    }
    g.update(&blocks[..n]);
}

/// Absorbs the ciphertext and the lengths block into `g` (which holds the
/// padded AAD) and xors the result with `mask`.
fn finish_tag(mut g: GHash, aad_len: usize, ct: &[u8], mask: &[u8; 16]) -> [u8; TAG_LEN] {
    hash_padded(&mut g, &[ct, &lengths(aad_len, ct.len())]);
    tag_from(g, mask)
}

/// The GHASH lengths block: bit lengths of the AAD and the ciphertext.
fn lengths(aad_len: usize, ct_len: usize) -> [u8; 16] {
    let mut lens = [0u8; 16];
    lens[..8].copy_from_slice(&((aad_len as u64) * 8).to_be_bytes());
    lens[8..].copy_from_slice(&((ct_len as u64) * 8).to_be_bytes());
    lens
}

/// The finished hash xored with the tag mask.
fn tag_from(g: GHash, mask: &[u8; 16]) -> [u8; TAG_LEN] {
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
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// Seals with the engine: ciphertext followed by the tag.
    fn engine_seal(engine: &Aes256Gcm, nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
        let mut out = pt.to_vec();
        let tag = engine.seal_in_place(nonce, aad, &mut out);
        out.extend_from_slice(&tag);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 4096,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Differential test against the compiled-in engine: random keys,
        /// nonces, messages of 0 to 300 bytes (over the cap too), random
        /// AAD and a second message for the pair path. Sealing (plain, with
        /// absorbed AAD, paired) gives the engine's bytes within the cap
        /// and is refused, nothing touched, above it; opening the engine's
        /// output gives the plaintext; a flipped bit anywhere in the
        /// ciphertext or tag, or other AAD, is refused with `out` zeroed.
        #[test]
        fn differential_against_the_engine(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            nonce2 in any::<[u8; 12]>(),
            pt in vec(any::<u8>(), 0..=300),
            pt2 in vec(any::<u8>(), 0..=PAIR_MAX + 20),
            aad in vec(any::<u8>(), 0..=80),
            at in any::<Index>(),
            bit in 0u8..8,
        ) {
            let engine = Aes256Gcm::new(&key);
            let short = ShortGcm::new(&key);
            let expected = engine_seal(&engine, &nonce, &aad, &pt);
            let expected2 = engine_seal(&engine, &nonce2, &aad, &pt2);
            let fits = pt.len() <= MAX_LEN;

            let mut buf = pt.clone();
            let tag = short.seal_in_place(&nonce, &aad, &mut buf);
            let state = short.absorb_aad(&aad);
            let mut buf_with = pt.clone();
            let tag_with = short.seal_in_place_with(&state, &nonce, &mut buf_with);
            if fits {
                let got = [buf.as_slice(), &tag.unwrap()].concat();
                prop_assert_eq!(&got, &expected);
                let got = [buf_with.as_slice(), &tag_with.unwrap()].concat();
                prop_assert_eq!(&got, &expected);
            } else {
                prop_assert_eq!(tag, None);
                prop_assert_eq!(tag_with, None);
                prop_assert_eq!(&buf, &pt);
                prop_assert_eq!(&buf_with, &pt);
            }

            // The pair path, in both orders.
            for swap in [false, true] {
                let (mut x, mut y) = (pt.clone(), pt2.clone());
                let tags = if swap {
                    short.seal_pair_with(&state, (&nonce2, &mut y), (&nonce, &mut x)).map(|[b, a]| [a, b])
                } else {
                    short.seal_pair_with(&state, (&nonce, &mut x), (&nonce2, &mut y))
                };
                if pt.len() <= PAIR_MAX && pt2.len() <= PAIR_MAX {
                    let [ta, tb] = tags.unwrap();
                    prop_assert_eq!(&[x.as_slice(), &ta].concat(), &expected);
                    prop_assert_eq!(&[y.as_slice(), &tb].concat(), &expected2);
                } else {
                    prop_assert_eq!(tags, None);
                    prop_assert_eq!(&x, &pt);
                    prop_assert_eq!(&y, &pt2);
                }
            }

            // Opening the engine's output.
            let mut out = vec![0xeeu8; pt.len()];
            let opened = short.open_into(&nonce, &aad, &expected, &mut out);
            if !fits {
                prop_assert_eq!(opened, None);
                prop_assert!(out.iter().all(|&b| b == 0xee), "untouched above the cap");
                return Ok(());
            }
            prop_assert_eq!(opened, Some(Ok(())));
            prop_assert_eq!(&out, &pt);

            // A flipped bit in the ciphertext or the tag.
            let mut bad = expected.clone();
            let i = at.index(bad.len());
            bad[i] ^= 1 << bit;
            out.fill(0xee);
            prop_assert_eq!(short.open_into(&nonce, &aad, &bad, &mut out), Some(Err(OpenError)));
            prop_assert!(out.iter().all(|&b| b == 0));
            // Other associated data: one bit flipped, or one byte more.
            let mut other = aad.clone();
            match other.len() {
                0 => other.push(0),
                n => {
                    let i = at.index(n);
                    other[i] ^= 1 << bit;
                }
            }
            out.fill(0xee);
            prop_assert_eq!(short.open_into(&nonce, &other, &expected, &mut out), Some(Err(OpenError)));
            prop_assert!(out.iter().all(|&b| b == 0));
            // Another nonce.
            let mut n2 = nonce;
            n2[at.index(12)] ^= 1 << bit;
            prop_assert_eq!(short.open_into(&n2, &aad, &expected, &mut out), Some(Err(OpenError)));
        }
    }

    /// The cap's edges, exactly: `MAX_LEN` bytes are served, one more is
    /// refused by every entry point.
    #[test]
    fn cap_edges() {
        let key = [0x42u8; 32];
        let engine = Aes256Gcm::new(&key);
        let short = ShortGcm::new(&key);
        let nonce = [7u8; 12];
        let mut buf = vec![1u8; MAX_LEN];
        let sealed = engine_seal(&engine, &nonce, b"ad", &buf);
        assert_eq!(
            short.seal_in_place(&nonce, b"ad", &mut buf),
            Some(sealed[MAX_LEN..].try_into().unwrap())
        );
        let mut out = vec![0u8; MAX_LEN];
        assert_eq!(short.open_into(&nonce, b"ad", &sealed, &mut out), Some(Ok(())));
        let mut long = vec![1u8; MAX_LEN + 1];
        let sealed = engine_seal(&engine, &nonce, b"ad", &long);
        assert_eq!(short.seal_in_place(&nonce, b"ad", &mut long), None);
        assert_eq!(
            short.seal_in_place_with(&short.absorb_aad(b"ad"), &nonce, &mut long),
            None
        );
        let mut out = vec![0u8; MAX_LEN + 1];
        assert_eq!(short.open_into(&nonce, b"ad", &sealed, &mut out), None);
    }
}
