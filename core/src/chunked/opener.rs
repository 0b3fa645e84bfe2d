//! Push-style decryption: the caller hands over ciphertext as it arrives
//! (from a network buffer, a C or Python caller's memory) instead of the
//! decryptor pulling it from a reader.
//!
//! A chunk of exactly `ENCRYPTED_CHUNK_SIZE` bytes is never the final one
//! (the final chunk is always shorter), so each whole chunk is opened, and
//! its plaintext released, as soon as its last byte arrives; only the bytes
//! of an incomplete chunk are held back. [`ChunkedOpener::finish`] opens
//! what is left as the final chunk.

use super::key::PayloadKey;
use super::parallel::open_full_chunks_shared;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_CHUNKS, PREFIX_LEN};
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};

/// Decrypts a chunked message given piece by piece (see the module docs).
/// The first failure is final: later calls return the same error.
pub struct ChunkedOpener {
    key: PayloadKey,
    pending: Vec<u8>,
    next_chunk: u64,
    failed: Option<Failure>,
}

#[derive(Debug, Clone, Copy)]
enum Failure {
    ChunkAuth(u64),
    TooLong,
}

impl Failure {
    fn to_error(self) -> Error {
        match self {
            Failure::ChunkAuth(index) => Error::ChunkAuthFailed { index },
            Failure::TooLong => Error::MessageTooLong,
        }
    }
}

impl std::fmt::Debug for ChunkedOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedOpener")
            .field("next_chunk", &self.next_chunk)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl ChunkedOpener {
    /// Checks the message's 56-byte `prefix` (salt and key commitment) under
    /// `input_key` and `context`; the chunks that follow go to
    /// [`update`](Self::update).
    pub fn new(input_key: &[u8], prefix: &[u8; PREFIX_LEN], context: &[u8]) -> Result<Self> {
        Ok(Self::from_key(PayloadKey::open_prefix(
            input_key, prefix, context,
        )?))
    }

    pub(crate) fn from_key(key: PayloadKey) -> Self {
        Self {
            key,
            pending: Vec::with_capacity(ENCRYPTED_CHUNK_SIZE),
            next_chunk: 0,
            failed: None,
        }
    }

    /// The most plaintext an [`update`](Self::update) with `in_len` more
    /// bytes can append (with 0: what [`finish`](Self::finish) can append).
    pub fn output_bound(&self, in_len: usize) -> usize {
        Self::bound_for(self.pending.len().saturating_add(in_len), in_len == 0)
    }

    /// Plaintext that `held` bytes of chunks can give: whole chunks only, or
    /// (`at_end`) everything but the final tag.
    pub(crate) fn bound_for(held: usize, at_end: bool) -> usize {
        if at_end {
            held.saturating_sub(TAG_LEN)
        } else {
            held / ENCRYPTED_CHUNK_SIZE * CHUNK_SIZE
        }
    }

    /// Takes the next `ciphertext` bytes and appends to `out` the plaintext
    /// of every chunk they complete (all of it authenticated). On a failure
    /// `out` is left as it was.
    pub fn update(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if let Some(f) = self.failed {
            return Err(f.to_error());
        }
        let start = out.len();
        let result = self.open_whole(ciphertext, out);
        if let Err(e) = &result {
            zeroize::Zeroize::zeroize(&mut out[start..]);
            out.truncate(start);
            self.failed = Some(match e {
                Error::ChunkAuthFailed { index } => Failure::ChunkAuth(*index),
                _ => Failure::TooLong,
            });
        }
        result
    }

    fn open_whole(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut input = ciphertext;
        if !self.pending.is_empty() {
            let take = (ENCRYPTED_CHUNK_SIZE - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < ENCRYPTED_CHUNK_SIZE {
                return Ok(());
            }
            let pending = std::mem::take(&mut self.pending);
            let opened = self.open_chunks(&pending, out);
            self.pending = pending;
            self.pending.clear();
            opened?;
        }
        let whole = input.len() / ENCRYPTED_CHUNK_SIZE * ENCRYPTED_CHUNK_SIZE;
        self.open_chunks(&input[..whole], out)?;
        self.pending.extend_from_slice(&input[whole..]);
        Ok(())
    }

    /// Opens whole encrypted chunks, appending their plaintext to `out`.
    /// `out` is the caller's: chunks are opened in private scratch memory
    /// and copied there only once they authenticated.
    fn open_chunks(&mut self, chunks: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let count = chunks.len() / ENCRYPTED_CHUNK_SIZE;
        if count == 0 {
            return Ok(());
        }
        if self.next_chunk + count as u64 >= MAX_CHUNKS {
            return Err(Error::MessageTooLong);
        }
        let start = out.len();
        out.resize(start + count * CHUNK_SIZE, 0);
        let (good, err) = open_full_chunks_shared(&self.key, self.next_chunk, chunks, &mut out[start..]);
        self.next_chunk += good as u64;
        err.map_or(Ok(()), Err)
    }

    /// Opens the bytes held back as the message's final chunk and appends
    /// its plaintext to `out`. Only an `Ok` here means the whole message
    /// authenticated; a message cut short gives [`Error::Truncated`].
    pub fn finish(self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(f) = self.failed {
            return Err(f.to_error());
        }
        if self.pending.is_empty() {
            return Err(Error::Truncated("the short final chunk is missing"));
        }
        if self.pending.len() < TAG_LEN {
            return Err(Error::Truncated("final chunk shorter than its tag"));
        }
        if self.next_chunk >= MAX_CHUNKS {
            return Err(Error::MessageTooLong);
        }
        // `pending` is the opener's own: the chunk opens there, and only
        // its authenticated plaintext goes to the caller's `out`.
        let mut pending = zeroize::Zeroizing::new(self.pending);
        let len = self.key.open_chunk_in_place(self.next_chunk, &mut pending)?;
        out.extend_from_slice(&pending[..len]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunked::ChunkedWriter;
    use std::io::Write;

    fn message(len: usize) -> (Vec<u8>, Vec<u8>) {
        let plain: Vec<u8> = (0..len).map(|i| (i * 13 % 241) as u8).collect();
        let mut w = ChunkedWriter::new(Vec::new(), &[1; 32], b"p").unwrap();
        w.write_all(&plain).unwrap();
        (plain, w.finish().unwrap())
    }

    fn opener(ct: &[u8]) -> ChunkedOpener {
        ChunkedOpener::new(&[1; 32], ct[..PREFIX_LEN].try_into().unwrap(), b"p").unwrap()
    }

    #[test]
    fn any_split_gives_the_message_and_chunks_come_out_when_complete() {
        for len in [0, 5, CHUNK_SIZE, 3 * CHUNK_SIZE + 1, 40 * CHUNK_SIZE + 77] {
            let (plain, ct) = message(len);
            for piece in [
                1usize,
                1000,
                ENCRYPTED_CHUNK_SIZE,
                ENCRYPTED_CHUNK_SIZE + 1,
                1 << 20,
            ] {
                let mut o = opener(&ct);
                let mut out = Vec::new();
                let mut fed = 0;
                for part in ct[PREFIX_LEN..].chunks(piece) {
                    let bound = o.output_bound(part.len());
                    let before = out.len();
                    o.update(part, &mut out).unwrap();
                    fed += part.len();
                    assert!(out.len() - before <= bound, "bound exceeded");
                    assert_eq!(
                        out.len(),
                        fed / ENCRYPTED_CHUNK_SIZE * CHUNK_SIZE,
                        "chunks held back"
                    );
                }
                let bound = o.output_bound(0);
                let before = out.len();
                o.finish(&mut out).unwrap();
                assert!(out.len() - before <= bound);
                assert!(out == plain, "len {len}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn failures_are_specific_and_final() {
        let (_, ct) = message(5 * CHUNK_SIZE + 3);
        let mut bad = ct.clone();
        bad[PREFIX_LEN + 2 * ENCRYPTED_CHUNK_SIZE + 9] ^= 4;
        let mut o = opener(&bad);
        let mut out = Vec::new();
        let err = o.update(&bad[PREFIX_LEN..], &mut out).unwrap_err();
        assert!(matches!(err, Error::ChunkAuthFailed { index: 2 }), "{err}");
        assert!(out.is_empty(), "output of a failed update");
        let err = o.update(b"more", &mut out).unwrap_err();
        assert!(matches!(err, Error::ChunkAuthFailed { index: 2 }), "{err}");
        assert!(matches!(
            o.finish(&mut out),
            Err(Error::ChunkAuthFailed { index: 2 })
        ));

        // Cut at a chunk boundary: the final chunk is missing.
        let mut o = opener(&ct);
        o.update(&ct[PREFIX_LEN..PREFIX_LEN + 2 * ENCRYPTED_CHUNK_SIZE], &mut out)
            .unwrap();
        assert!(matches!(o.finish(&mut out), Err(Error::Truncated(_))));
        // Cut inside the final chunk.
        let mut o = opener(&ct);
        out.clear();
        o.update(&ct[PREFIX_LEN..ct.len() - 1], &mut out).unwrap();
        let kept = out.len();
        assert!(matches!(
            o.finish(&mut out),
            Err(Error::ChunkAuthFailed { index: 5 })
        ));
        assert_eq!(out.len(), kept, "a failed final chunk releases nothing");
        // Wrong context: refused before any chunk.
        let err = ChunkedOpener::new(&[1; 32], ct[..PREFIX_LEN].try_into().unwrap(), b"q").unwrap_err();
        assert!(matches!(err, Error::CommitmentMismatch), "{err}");
    }
}
