//! Random-access decryption.

use super::key::PayloadKey;
use super::layout::split_body;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, PREFIX_LEN};
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};
use std::io::{self, Read, Seek, SeekFrom};

/// Decrypts any range of a chunked message by seeking.
///
/// The message starts at the inner reader's position when
/// [`new`](Self::new) is called and runs to the end of the inner stream.
/// Each chunk is authenticated before any of its bytes are returned, and
/// before any of them reach the caller's buffer.
/// Reaching the end of the message, seeking relative to the end, and
/// [`authenticated_len`](Self::authenticated_len) all authenticate the final
/// chunk first, so the length is never taken on trust.
pub struct ChunkedSeekReader<R: Read + Seek> {
    inner: R,
    key: PayloadKey,
    /// Offset of chunk 0 in the inner stream.
    chunks_start: u64,
    full_chunks: u64,
    last_encrypted_len: u64,
    plaintext_len: u64,
    pos: u64,
    cached: Option<u64>,
    cache: Vec<u8>,
    cache_len: usize,
    ct: Vec<u8>,
    length_authenticated: bool,
}

/// The cached plaintext chunk (and ciphertext opened in place) are wiped
/// when the reader is dropped.
impl<R: Read + Seek> Drop for ChunkedSeekReader<R> {
    fn drop(&mut self) {
        crate::secret::wipe_vec(&mut self.cache);
        crate::secret::wipe_vec(&mut self.ct);
    }
}

impl<R: Read + Seek> ChunkedSeekReader<R> {
    /// Reads the prefix at the current position, checks the commitment and
    /// the ciphertext length; decrypts nothing yet.
    pub fn new(mut inner: R, input_key: &[u8], context: &[u8]) -> Result<Self> {
        let start = inner.stream_position()?;
        let key = PayloadKey::read_prefix(&mut inner, input_key, context)?;
        let end = inner.seek(SeekFrom::End(0))?;
        Self::with_key(inner, key, start + PREFIX_LEN as u64, end)
    }

    /// Raw-mode reader over chunks starting at `chunks_start` (hazmat).
    #[doc(hidden)]
    pub fn with_key(inner: R, key: PayloadKey, chunks_start: u64, end: u64) -> Result<Self> {
        let body = end
            .checked_sub(chunks_start)
            .ok_or(Error::Truncated("payload shorter than its prefix"))?;
        let (full_chunks, last_encrypted_len) = split_body(body)?;
        Ok(Self {
            inner,
            key,
            chunks_start,
            full_chunks,
            last_encrypted_len,
            plaintext_len: full_chunks * CHUNK_SIZE as u64 + last_encrypted_len - TAG_LEN as u64,
            pos: 0,
            cached: None,
            cache: vec![0u8; CHUNK_SIZE],
            cache_len: 0,
            ct: vec![0u8; ENCRYPTED_CHUNK_SIZE],
            length_authenticated: false,
        })
    }

    /// Authenticates the final chunk and returns the plaintext length.
    pub fn authenticated_len(&mut self) -> Result<u64> {
        if !self.length_authenticated {
            self.load_chunk(self.full_chunks)?;
        }
        Ok(self.plaintext_len)
    }

    /// Reads `len` bytes of ciphertext from the start of chunk `index` into
    /// `ct`.
    fn read_ciphertext(&mut self, index: u64, len: usize) -> Result<()> {
        let offset = self.chunks_start + index * ENCRYPTED_CHUNK_SIZE as u64;
        self.inner.seek(SeekFrom::Start(offset))?;
        self.inner
            .read_exact(&mut self.ct[..len])
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => Error::Truncated("the input shrank while it was being read"),
                _ => Error::Io(e),
            })
    }

    /// Decrypts chunk `index` into the cache (no-op if already there).
    fn load_chunk(&mut self, index: u64) -> Result<()> {
        if self.cached == Some(index) {
            return Ok(());
        }
        self.cached = None;
        let ct_len = if index < self.full_chunks {
            ENCRYPTED_CHUNK_SIZE
        } else {
            self.last_encrypted_len as usize
        };
        self.read_ciphertext(index, ct_len)?;
        let pt_len = ct_len - TAG_LEN;
        // The cache is private: it is handed out only once `cached` says
        // the chunk authenticated.
        self.key
            .open_chunk_private(index, &self.ct[..ct_len], &mut self.cache[..pt_len])?;
        self.cached = Some(index);
        self.cache_len = pt_len;
        if index == self.full_chunks {
            self.length_authenticated = true;
        }
        Ok(())
    }
}

impl<R: Read + Seek> ChunkedSeekReader<R> {
    /// A read of whole full chunks from a chunk boundary into `buf`, opened
    /// on all cores: at most [`MAX_DIRECT_CHUNKS`], never the final chunk.
    /// `None` when the read is not of that shape. `buf` is the caller's
    /// memory, which another thread (or a mapping) may see: each chunk is
    /// opened in the reader's own ciphertext buffer and copied to `buf`
    /// only once it authenticated.
    fn read_direct(&mut self, buf: &mut [u8]) -> Option<Result<usize>> {
        if !self.pos.is_multiple_of(CHUNK_SIZE as u64) {
            return None;
        }
        let index = self.pos / CHUNK_SIZE as u64;
        let count = (buf.len() / CHUNK_SIZE)
            .min(MAX_DIRECT_CHUNKS)
            .min(usize::try_from(self.full_chunks.saturating_sub(index)).unwrap_or(usize::MAX));
        if count < 2 {
            return None;
        }
        let ct_len = count * ENCRYPTED_CHUNK_SIZE;
        if self.ct.len() < ct_len {
            crate::secret::wipe_vec(&mut self.ct);
            self.ct = vec![0u8; ct_len];
        }
        let out = &mut buf[..count * CHUNK_SIZE];
        if let Err(e) = self.read_ciphertext(index, ct_len) {
            return Some(Err(e));
        }
        let (_, failed) =
            super::parallel::open_full_chunks_in_place(&self.key, index, &mut self.ct[..ct_len], out);
        if let Some(e) = failed {
            // Nothing of this read is handed out.
            out.fill(0);
            return Some(Err(e));
        }
        self.pos += out.len() as u64;
        Some(Ok(out.len()))
    }
}

/// The most chunks one direct read opens at once (4 MiB of plaintext).
const MAX_DIRECT_CHUNKS: usize = 256;

impl<R: Read + Seek> Read for ChunkedSeekReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.plaintext_len {
            self.authenticated_len()?;
            return Ok(0);
        }
        if let Some(r) = self.read_direct(buf) {
            return Ok(r?);
        }
        let index = self.pos / CHUNK_SIZE as u64;
        self.load_chunk(index)?;
        let offset = (self.pos % CHUNK_SIZE as u64) as usize;
        let n = buf.len().min(self.cache_len - offset);
        buf[..n].copy_from_slice(&self.cache[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for ChunkedSeekReader<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => {
                let len = self.authenticated_len()?;
                len.checked_add_signed(d)
            }
        };
        let target =
            target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}
