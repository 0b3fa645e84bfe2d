//! Sealing a message batch by batch into caller-owned buffers: the engine
//! under [`super::ChunkedWriter`] and the whole-file pipeline.

use super::key::PayloadKey;
use super::parallel::{seal_chunks_in_place, seal_full_chunks};
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_CHUNKS, PREFIX_LEN, SALT_LEN};
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};

/// The encrypting half of a message: chunk counter and key.
pub(crate) struct Sealer {
    key: PayloadKey,
    next_chunk: u64,
}

impl Sealer {
    /// Derives the message key; returns the sealer and the 56-byte prefix
    /// (salt and commitment) that starts the message.
    pub(crate) fn new(
        input_key: &[u8],
        salt: &[u8; SALT_LEN],
        context: &[u8],
    ) -> Result<(Self, [u8; PREFIX_LEN])> {
        let (key, commitment) = PayloadKey::derive(input_key, salt, context)?;
        let mut prefix = [0u8; PREFIX_LEN];
        prefix[..SALT_LEN].copy_from_slice(salt);
        prefix[SALT_LEN..].copy_from_slice(&commitment);
        Ok((Self { key, next_chunk: 0 }, prefix))
    }

    /// Seals `plaintext`, a whole number of full chunks, appending the
    /// ciphertext to `out`. Uses every core for large batches.
    pub(crate) fn seal_full(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        debug_assert_eq!(plaintext.len() % CHUNK_SIZE, 0);
        let count = plaintext.len() / CHUNK_SIZE;
        if self.next_chunk + count as u64 >= MAX_CHUNKS {
            return Err(Error::MessageTooLong);
        }
        let start = out.len();
        out.resize(start + count * ENCRYPTED_CHUNK_SIZE, 0);
        self.seal_full_into(plaintext, &mut out[start..])
    }

    /// Seals `plaintext`, a whole number of full chunks, into `out`, which
    /// must be exactly `ENCRYPTED_CHUNK_SIZE` bytes per chunk. Unlike
    /// [`seal_full`](Self::seal_full) it never zero-fills the output first,
    /// so a caller that reuses one buffer saves a pass over memory.
    pub(crate) fn seal_full_into(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<()> {
        debug_assert_eq!(plaintext.len() % CHUNK_SIZE, 0);
        let count = plaintext.len() / CHUNK_SIZE;
        assert_eq!(
            out.len(),
            count * ENCRYPTED_CHUNK_SIZE,
            "seal_full_into: output length"
        );
        if self.next_chunk + count as u64 >= MAX_CHUNKS {
            return Err(Error::MessageTooLong);
        }
        seal_full_chunks(&self.key, self.next_chunk, plaintext, out);
        self.next_chunk += count as u64;
        Ok(())
    }

    /// Seals `buf`, a whole number of full chunks, in place, writing each
    /// chunk's tag to `tags` (`TAG_LEN` bytes per chunk).
    pub(crate) fn seal_full_in_place(&mut self, buf: &mut [u8], tags: &mut [u8]) -> Result<()> {
        debug_assert_eq!(buf.len() % CHUNK_SIZE, 0);
        let count = buf.len() / CHUNK_SIZE;
        assert_eq!(tags.len(), count * TAG_LEN, "seal_full_in_place: tags length");
        if self.next_chunk + count as u64 >= MAX_CHUNKS {
            return Err(Error::MessageTooLong);
        }
        seal_chunks_in_place(&self.key, self.next_chunk, buf, tags);
        self.next_chunk += count as u64;
        Ok(())
    }

    /// Seals the short final chunk (`tail` < 16 KiB, possibly empty),
    /// appending it to `out`. The message is complete after this.
    pub(crate) fn seal_final(self, tail: &[u8], out: &mut Vec<u8>) -> Result<()> {
        debug_assert!(tail.len() < CHUNK_SIZE);
        if self.next_chunk >= MAX_CHUNKS {
            return Err(Error::MessageTooLong);
        }
        let start = out.len();
        out.resize(start + tail.len() + TAG_LEN, 0);
        self.key.seal_chunk(self.next_chunk, tail, &mut out[start..]);
        Ok(())
    }
}
