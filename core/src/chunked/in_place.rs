//! Decrypting a whole message that sits in the caller's mutable buffer, in
//! place: each chunk's plaintext is moved down over the tags and the
//! prefix, so the plaintext ends up contiguous at the front.
//!
//! The buffer is the caller's, and may be shared or mapped memory that
//! another thread or process reads while this runs, so no chunk is
//! decrypted there: each is copied to a private scratch buffer, opened
//! there, and its plaintext copied into place only once it authenticated.
//! (The engines decrypt before they compare tags, so decrypting in the
//! caller's buffer would show a forged chunk's plaintext until the tag
//! check failed.)
//!
//! Chunk `j`'s ciphertext starts at `PREFIX_LEN + j * ENCRYPTED_CHUNK_SIZE`
//! and its plaintext goes to `j * CHUNK_SIZE`: every chunk moves down by
//! `PREFIX_LEN + 16 j` bytes, over ciphertext of chunks before it. Opened in
//! order, that is safe. To use several threads, the message is cut into
//! segments; the last chunks of a segment whose ciphertext the next
//! segment's plaintext will overwrite are copied aside first (a few chunks
//! per cut), so every segment owns a disjoint slice of the buffer.

use super::key::PayloadKey;
use super::layout::split_body;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_CHUNKS, PREFIX_LEN};
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};
use rayon::prelude::*;
use zeroize::Zeroizing;

/// Below this many chunks per thread a message is opened on one thread.
const MIN_CHUNKS_PER_SEGMENT: usize = 8;

/// Decrypts the chunked message `msg` (prefix, then chunks) in place under
/// `input_key` and `context`, using every core. On success the plaintext is
/// `msg[..n]` and `n` is returned. No byte of a chunk is written to `msg`
/// before that chunk authenticated (see the module docs), and on any
/// failure (commitment, a chunk that does not authenticate, truncation)
/// the whole buffer is zeroed.
pub fn open_in_place(msg: &mut [u8], input_key: &[u8], context: &[u8]) -> Result<usize> {
    let result = open_all(msg, input_key, context);
    if result.is_err() {
        msg.fill(0);
    }
    result
}

fn open_all(msg: &mut [u8], input_key: &[u8], context: &[u8]) -> Result<usize> {
    let prefix: &[u8; PREFIX_LEN] = msg
        .get(..PREFIX_LEN)
        .and_then(|p| p.try_into().ok())
        .ok_or(Error::Truncated("payload shorter than its 56-byte prefix"))?;
    let key = PayloadKey::open_prefix(input_key, prefix, context)?;
    let (full, last) = split_body((msg.len() - PREFIX_LEN) as u64)?;
    if full >= MAX_CHUNKS {
        return Err(Error::MessageTooLong);
    }
    let chunks = full as usize + 1;
    let plaintext_len = full as usize * CHUNK_SIZE + (last as usize - TAG_LEN);

    let threads = crate::parallel::threads();
    let parts = if threads > 1 {
        (chunks / MIN_CHUNKS_PER_SEGMENT).clamp(1, threads)
    } else {
        1
    };
    let segments = cut(msg, chunks, parts);
    let failures: Vec<Option<u64>> = if segments.len() > 1 {
        crate::parallel::install(|| segments.into_par_iter().map(|s| s.open(&key)).collect())
    } else {
        segments.into_iter().map(|s| s.open(&key)).collect()
    };
    match failures.into_iter().flatten().min() {
        Some(index) => Err(Error::ChunkAuthFailed { index }),
        None => Ok(plaintext_len),
    }
}

/// Chunks `first..end` of the message, owning the part of the buffer their
/// plaintext goes to (`buf`, which starts at plaintext offset
/// `first * CHUNK_SIZE`), plus copies of the chunks `aside_from..end` whose
/// ciphertext lies in the next segment's part.
struct Segment<'a> {
    first: usize,
    end: usize,
    buf: &'a mut [u8],
    aside_from: usize,
    /// Opened in place, so it holds plaintext afterwards: wiped on drop.
    aside: Zeroizing<Vec<u8>>,
}

/// Cuts `msg` (of `chunks` chunks) into at most `parts` segments.
fn cut(msg: &mut [u8], chunks: usize, parts: usize) -> Vec<Segment<'_>> {
    let bounds: Vec<usize> = (0..=parts).map(|p| p * chunks / parts).collect();
    // Chunk j's ciphertext ends at PREFIX_LEN + (j + 1) * ENCRYPTED_CHUNK_SIZE;
    // those of a segment ending at `b` that end past b * CHUNK_SIZE are set aside.
    let aside_from = |first: usize, b: usize| {
        let mut j = b;
        while j > first && PREFIX_LEN + j * ENCRYPTED_CHUNK_SIZE > b * CHUNK_SIZE {
            j -= 1;
        }
        j
    };
    // A segment whose every chunk must be set aside gains nothing: one segment.
    // (At least one chunk not set aside also means the segment's first
    // ciphertext lies inside its own part of the buffer.)
    let usable = bounds
        .windows(2)
        .take(parts - 1)
        .all(|w| aside_from(w[0], w[1]) > w[0]);
    let bounds = if usable { bounds } else { vec![0, chunks] };

    let mut segments = Vec::with_capacity(bounds.len() - 1);
    let mut rest = msg;
    for w in bounds.windows(2) {
        let (first, end) = (w[0], w[1]);
        let last_segment = end == chunks;
        let (aside_from, aside) = if last_segment {
            (end, Zeroizing::new(Vec::new()))
        } else {
            let from = aside_from(first, end);
            let start = PREFIX_LEN + from * ENCRYPTED_CHUNK_SIZE - first * CHUNK_SIZE;
            let stop = PREFIX_LEN + end * ENCRYPTED_CHUNK_SIZE - first * CHUNK_SIZE;
            (from, Zeroizing::new(rest[start..stop].to_vec()))
        };
        let own = if last_segment {
            rest.len()
        } else {
            (end - first) * CHUNK_SIZE
        };
        let (buf, tail) = std::mem::take(&mut rest).split_at_mut(own);
        rest = tail;
        segments.push(Segment {
            first,
            end,
            buf,
            aside_from,
            aside,
        });
    }
    segments
}

impl Segment<'_> {
    /// Opens the segment's chunks in order; returns the index of the first
    /// that fails to authenticate. Each chunk is opened in private memory
    /// (a scratch copy, or its copy set aside) and its plaintext copied to
    /// its place in `buf` once it authenticated.
    fn open(mut self, key: &PayloadKey) -> Option<u64> {
        let base = self.first * CHUNK_SIZE;
        let mut scratch = Zeroizing::new(vec![0u8; ENCRYPTED_CHUNK_SIZE]);
        for j in self.first..self.aside_from {
            let out = j * CHUNK_SIZE - base;
            let src = PREFIX_LEN + j * ENCRYPTED_CHUNK_SIZE - base;
            let stop = (src + ENCRYPTED_CHUNK_SIZE).min(self.buf.len());
            let private = &mut scratch[..stop - src];
            private.copy_from_slice(&self.buf[src..stop]);
            match key.open_chunk_in_place(j as u64, private) {
                // The plaintext's place ends before the next chunk's
                // ciphertext starts, so nothing still to open is overwritten.
                Ok(len) => self.buf[out..out + len].copy_from_slice(&private[..len]),
                Err(_) => return Some(j as u64),
            }
        }
        for (k, j) in (self.aside_from..self.end).enumerate() {
            let out = j * CHUNK_SIZE - base;
            let ct = &mut self.aside[k * ENCRYPTED_CHUNK_SIZE..(k + 1) * ENCRYPTED_CHUNK_SIZE];
            match key.open_chunk_in_place(j as u64, ct) {
                Ok(len) => self.buf[out..out + len].copy_from_slice(&ct[..len]),
                Err(_) => return Some(j as u64),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunked::{ChunkedReader, ChunkedWriter};
    use std::io::{Read, Write};

    fn message(len: usize, key: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = ChunkedWriter::new(Vec::new(), key, b"ctx").unwrap();
        w.write_all(&plain).unwrap();
        (plain, w.finish().unwrap())
    }

    #[test]
    fn matches_the_streaming_reader_at_every_size_and_cut() {
        let key = [5u8; 32];
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            3 * CHUNK_SIZE + 17,
            200 * CHUNK_SIZE + 3,
            1100 * CHUNK_SIZE,
        ] {
            let (plain, ct) = message(len, &key);
            for parts in [1, 2, 3, 7] {
                let mut msg = ct.clone();
                let chunks = (msg.len() - PREFIX_LEN).div_ceil(ENCRYPTED_CHUNK_SIZE).max(1);
                let key_ =
                    PayloadKey::open_prefix(&key, msg[..PREFIX_LEN].try_into().unwrap(), b"ctx").unwrap();
                let failures: Vec<_> = cut(&mut msg, chunks, parts)
                    .into_iter()
                    .map(|s| s.open(&key_))
                    .collect();
                assert!(failures.iter().all(Option::is_none), "len {len}, {parts} parts");
                assert!(msg[..len] == plain[..], "len {len}, {parts} parts");
            }
            let mut msg = ct.clone();
            assert_eq!(open_in_place(&mut msg, &key, b"ctx").unwrap(), len);
            let mut streamed = Vec::new();
            ChunkedReader::new(&ct[..], &key, b"ctx")
                .unwrap()
                .read_to_end(&mut streamed)
                .unwrap();
            assert!(msg[..len] == streamed[..]);
        }
    }

    #[test]
    fn a_modified_chunk_zeroes_everything() {
        let key = [6u8; 32];
        let (_, ct) = message(50 * CHUNK_SIZE + 9, &key);
        for (at, index) in [(3, 3), (49, 49), (50, 50), (25, 25)] {
            let mut msg = ct.clone();
            msg[PREFIX_LEN + at * ENCRYPTED_CHUNK_SIZE + 2] ^= 0x40;
            let err = open_in_place(&mut msg, &key, b"ctx").unwrap_err();
            assert!(
                matches!(err, Error::ChunkAuthFailed { index: i } if i == index),
                "{err}"
            );
            assert!(msg.iter().all(|&b| b == 0), "plaintext left behind");
        }
    }

    #[test]
    fn wrong_context_truncation_and_short_prefix() {
        let key = [7u8; 32];
        let (_, ct) = message(2 * CHUNK_SIZE, &key);
        let err = open_in_place(&mut ct.clone(), &key, b"other").unwrap_err();
        assert!(matches!(err, Error::CommitmentMismatch), "{err}");
        let err = open_in_place(
            &mut ct[..PREFIX_LEN + 2 * ENCRYPTED_CHUNK_SIZE].to_vec(),
            &key,
            b"ctx",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Truncated(_)), "{err}");
        let err = open_in_place(&mut ct[..PREFIX_LEN - 1].to_vec(), &key, b"ctx").unwrap_err();
        assert!(matches!(err, Error::Truncated(_)), "{err}");
        let (_, ct) = message(2 * CHUNK_SIZE + 100, &key);
        let err = open_in_place(&mut ct[..ct.len() - 1].to_vec(), &key, b"ctx").unwrap_err();
        assert!(matches!(err, Error::ChunkAuthFailed { index: 2 }), "{err}");
    }
}
