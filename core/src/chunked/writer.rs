//! Streaming encryption.

use super::sealer::Sealer;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, SALT_LEN};
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
