//! Streaming encryption.

use super::key::PayloadKey;
use super::parallel::seal_full_chunks;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_CHUNKS, PREFIX_LEN, SALT_LEN};
use crate::crypto::{TAG_LEN, random};
use crate::error::{Error, Result};
use std::io::{self, Write};

/// Number of full chunks sealed together: enough to keep every core busy,
/// small enough to stay in cache.
pub(crate) fn batch_chunks() -> usize {
    (rayon::current_num_threads() * 16).clamp(16, super::BATCH_CHUNKS)
}

/// Encrypts a message written to it and writes the chunked ciphertext to
/// `W`. Call [`finish`](Self::finish) at the end: without it the final chunk
/// is never written and readers will report the message as truncated.
pub struct ChunkedWriter<W: Write> {
    inner: W,
    key: PayloadKey,
    staged: Vec<u8>,
    out: Vec<u8>,
    next_chunk: u64,
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
        let (key, commitment) = PayloadKey::derive(input_key, salt, context)?;
        let mut prefix = [0u8; PREFIX_LEN];
        prefix[..SALT_LEN].copy_from_slice(salt);
        prefix[SALT_LEN..].copy_from_slice(&commitment);
        inner.write_all(&prefix)?;
        let batch = batch_chunks();
        Ok(Self {
            inner,
            key,
            staged: Vec::with_capacity(batch * CHUNK_SIZE),
            out: vec![0u8; batch * ENCRYPTED_CHUNK_SIZE],
            next_chunk: 0,
            batch,
            poisoned: false,
        })
    }

    /// Seals `count` full chunks taken from `plaintext` and writes them.
    fn seal_and_write(&mut self, plaintext: &[u8]) -> io::Result<()> {
        let count = plaintext.len() / CHUNK_SIZE;
        if self.next_chunk + count as u64 >= MAX_CHUNKS {
            self.poisoned = true;
            return Err(Error::MessageTooLong.into());
        }
        let out = &mut self.out[..count * ENCRYPTED_CHUNK_SIZE];
        seal_full_chunks(&self.key, self.next_chunk, plaintext, out);
        self.next_chunk += count as u64;
        let result = self.inner.write_all(out);
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
        let tail = &staged[full..];
        if self.next_chunk >= MAX_CHUNKS {
            return Err(Error::MessageTooLong);
        }
        let out = &mut self.out[..tail.len() + TAG_LEN];
        self.key.seal_chunk(self.next_chunk, tail, out);
        self.inner.write_all(out)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
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
