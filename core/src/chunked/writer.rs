//! Streaming encryption.

use super::sealer::Sealer;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, SALT_LEN};
use crate::crypto::TAG_LEN;
use crate::crypto::random;
use crate::error::{Error, Result};
use std::io::{self, Write};

/// Number of full chunks sealed together: enough to keep every core busy,
/// small enough to stay in cache.
pub(crate) fn batch_chunks() -> usize {
    (crate::parallel::threads() * 16).clamp(16, super::BATCH_CHUNKS)
}

/// Encrypts a message written to it and writes the chunked ciphertext to
/// `W`. Call [`finish`](Self::finish) at the end: without it the final chunk
/// is never written and readers will report the message as truncated.
pub struct ChunkedWriter<W: Write> {
    inner: W,
    sealer: Sealer,
    staged: Vec<u8>,
    out: Vec<u8>,
    batch: usize,
    poisoned: bool,
}

impl<W: Write> ChunkedWriter<W> {
    /// Starts a message under `input_key` (32 bytes) and `context`, with a
    /// fresh random salt, and writes the 56-byte prefix.
    pub fn new(inner: W, input_key: &[u8], context: &[u8]) -> Result<Self> {
        Self::with_salt(inner, input_key, &random::array::<SALT_LEN>(), context)
    }

    /// Like [`new`](Self::new) with a caller-chosen salt. The salt must never
    /// repeat under one input key; this exists for test vectors.
    #[doc(hidden)]
    pub fn with_salt(mut inner: W, input_key: &[u8], salt: &[u8; SALT_LEN], context: &[u8]) -> Result<Self> {
        let (sealer, prefix) = Sealer::new(input_key, salt, context)?;
        inner.write_all(&prefix)?;
        let batch = batch_chunks();
        Ok(Self {
            inner,
            sealer,
            staged: Vec::with_capacity(batch * CHUNK_SIZE),
            // Sized once: every batch seals into it without zero-filling.
            out: vec![0u8; batch * ENCRYPTED_CHUNK_SIZE],
            batch,
            poisoned: false,
        })
    }

    /// Seals full chunks taken from `plaintext` and writes them.
    fn seal_and_write(&mut self, plaintext: &[u8]) -> io::Result<()> {
        let out = &mut self.out[..plaintext.len() / CHUNK_SIZE * ENCRYPTED_CHUNK_SIZE];
        let result = self
            .sealer
            .seal_full_into(plaintext, out)
            .map_err(io::Error::from)
            .and_then(|()| self.inner.write_all(out));
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// Writes the buffered full chunks and the short final chunk, flushes,
    /// and returns the inner writer.
    pub fn finish(mut self) -> Result<W> {
        if self.poisoned {
            return Err(Error::InvalidArgument(
                "the writer failed earlier; the message is incomplete".into(),
            ));
        }
        let staged = std::mem::take(&mut self.staged);
        let full = staged.len() / CHUNK_SIZE * CHUNK_SIZE;
        if full > 0 {
            self.seal_and_write(&staged[..full])?;
        }
        self.out.clear();
        self.sealer.seal_final(&staged[full..], &mut self.out)?;
        self.inner.write_all(&self.out)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}
impl<W: Write> ChunkedWriter<W> {
    /// Encrypts `buf` as the next part of the message, like
    /// [`write_all`](Write::write_all), but seals its whole chunks where
    /// they lie: `buf` is overwritten with ciphertext (its contents are
    /// unspecified afterwards). This saves the copy into the writer's own
    /// buffer that `write` makes, which matters with engines that seal only
    /// in place (ring, the default). Bytes that do not fill a chunk are
    /// buffered as `write` buffers them.
    pub fn write_in_place(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if self.poisoned {
            return Err(io::Error::other("the chunked writer failed earlier"));
        }
        let mut input = buf;
        if !self.staged.is_empty() {
            // Complete the buffered chunk from `buf`, then seal what is buffered
            // so that the chunks sealed in place follow it in order.
            let missing = (CHUNK_SIZE - self.staged.len() % CHUNK_SIZE) % CHUNK_SIZE;
            let take = missing.min(input.len());
            self.staged.extend_from_slice(&input[..take]);
            input = &mut input[take..];
            if !self.staged.len().is_multiple_of(CHUNK_SIZE) {
                return Ok(());
            }
            let staged = std::mem::take(&mut self.staged);
            let sealed = self.seal_and_write(&staged);
            self.staged = staged;
            self.staged.clear();
            sealed?;
        }
        let whole = input.len() / CHUNK_SIZE * CHUNK_SIZE;
        let (full, tail) = input.split_at_mut(whole);
        let result = self.seal_and_write_batches(full);
        if result.is_err() {
            self.poisoned = true;
            return result;
        }
        self.staged.extend_from_slice(tail);
        Ok(())
    }

    /// Seals `full` (whole chunks) in place batch by batch and writes each
    /// batch with its tags; the next batch is sealed on the pool while the
    /// calling thread writes the one before (two tag areas of `out` take
    /// turns).
    fn seal_and_write_batches(&mut self, full: &mut [u8]) -> io::Result<()> {
        let Self {
            inner,
            sealer,
            out,
            batch,
            ..
        } = self;
        let tag_room = *batch * TAG_LEN;
        let (mut cur_tags, rest) = out.split_at_mut(tag_room);
        let mut next_tags = &mut rest[..tag_room];
        let tags_of = |b: &[u8]| b.len() / CHUNK_SIZE * TAG_LEN;
        let mut batches = full.chunks_mut(*batch * CHUNK_SIZE);
        let Some(mut cur) = batches.next() else {
            return Ok(());
        };
        let n = tags_of(cur);
        sealer.seal_full_in_place(cur, &mut cur_tags[..n])?;
        for next in batches {
            let (n, m) = (tags_of(cur), tags_of(next));
            let mut sealed = Ok(());
            let into = &mut next_tags[..m];
            let written = crate::parallel::overlap(
                || sealed = sealer.seal_full_in_place(next, into),
                || write_interleaved(inner, cur, &cur_tags[..n]),
            );
            written?;
            sealed?;
            std::mem::swap(&mut cur_tags, &mut next_tags);
            cur = next;
        }
        let n = tags_of(cur);
        write_interleaved(inner, cur, &cur_tags[..n])
    }
}

/// Writes `ciphertext` (whole chunks) with each chunk's tag after it, in
/// vectored writes of up to 32 chunks.
fn write_interleaved(inner: &mut impl Write, ciphertext: &[u8], tags: &[u8]) -> io::Result<()> {
    const PER_CALL: usize = 32;
    let mut parts: Vec<io::IoSlice<'_>> = Vec::with_capacity(2 * PER_CALL);
    let chunks = ciphertext.chunks(CHUNK_SIZE).zip(tags.chunks(TAG_LEN));
    let mut chunks = chunks.peekable();
    while chunks.peek().is_some() {
        parts.clear();
        for (chunk, tag) in chunks.by_ref().take(PER_CALL) {
            parts.push(io::IoSlice::new(chunk));
            parts.push(io::IoSlice::new(tag));
        }
        let mut left = &mut parts[..];
        while !left.is_empty() {
            match inner.write_vectored(left) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => io::IoSlice::advance_slices(&mut left, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

impl<W: Write> Write for ChunkedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other("the chunked writer failed earlier"));
        }
        let cap = self.batch * CHUNK_SIZE;
        let mut input = buf;
        if !self.staged.is_empty() {
            let take = (cap - self.staged.len()).min(input.len());
            self.staged.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.staged.len() == cap {
                let staged = std::mem::take(&mut self.staged);
                self.seal_and_write(&staged)?;
                self.staged = staged;
                self.staged.clear();
            }
        }
        // Full chunks straight from the caller's buffer, without staging.
        while input.len() >= CHUNK_SIZE {
            let take = (input.len() / CHUNK_SIZE).min(self.batch) * CHUNK_SIZE;
            self.seal_and_write(&input[..take])?;
            input = &input[take..];
        }
        self.staged.extend_from_slice(input);
        Ok(buf.len())
    }

    /// Flushes the inner writer. Buffered plaintext stays buffered until a
    /// chunk fills or [`ChunkedWriter::finish`] is called.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same message, written as `parts` with `write_all` and with
    /// `write_in_place` (alternating with `write_all` when `mixed`).
    fn both_ways(parts: &[usize], mixed: bool) -> (Vec<u8>, Vec<u8>) {
        let (key, salt) = ([8u8; 32], [9u8; SALT_LEN]);
        let total: usize = parts.iter().sum();
        let plain: Vec<u8> = (0..total).map(|i| (i % 249) as u8).collect();
        let mut a = ChunkedWriter::with_salt(Vec::new(), &key, &salt, b"c").unwrap();
        let mut b = ChunkedWriter::with_salt(Vec::new(), &key, &salt, b"c").unwrap();
        let mut at = 0;
        for (n, &len) in parts.iter().enumerate() {
            let part = &plain[at..at + len];
            a.write_all(part).unwrap();
            let mut copy = part.to_vec();
            if mixed && n % 2 == 1 {
                b.write_all(&copy).unwrap();
            } else {
                b.write_in_place(&mut copy).unwrap();
            }
            at += len;
        }
        (a.finish().unwrap(), b.finish().unwrap())
    }

    #[test]
    fn in_place_writes_give_the_same_message() {
        let c = CHUNK_SIZE;
        let cases: [&[usize]; 6] = [
            &[0],
            &[5],
            &[c, c],
            &[c - 1, 1, c + 1, 3 * c],
            &[100, 2 * c - 100, 7, 40 * c + 3, c - 10],
            &[70 * c, 1, 70 * c - 1, 16],
        ];
        for parts in cases {
            for mixed in [false, true] {
                let (a, b) = both_ways(parts, mixed);
                assert!(a == b, "parts {parts:?}, mixed {mixed}");
            }
        }
    }

    /// Accepts `left` bytes, then fails every write.
    struct FailAfter(usize);
    impl Write for FailAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A write that fails while the next batch is being sealed returns the
    /// write's error, and the writer refuses to go on.
    #[test]
    fn a_failed_in_place_write_poisons_the_writer() {
        let batch = batch_chunks();
        let mut w = ChunkedWriter::with_salt(
            FailAfter(100 + CHUNK_SIZE * batch),
            &[1; 32],
            &[2; SALT_LEN],
            b"c",
        )
        .unwrap();
        let mut big = vec![5u8; 4 * batch * CHUNK_SIZE];
        let err = w.write_in_place(&mut big).unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        let err = w.write_in_place(&mut [0u8; 10]).unwrap_err();
        assert_eq!(err.to_string(), "the chunked writer failed earlier");
        assert!(matches!(w.finish(), Err(Error::InvalidArgument(_))));
    }
}
