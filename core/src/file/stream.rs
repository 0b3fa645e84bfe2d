//! Streaming encryption and decryption of the container.

use super::header::{Core, Header};
use super::recipients::{Identity, Recipient, unwrap_file_key, wrap_for};
use crate::chunked::{ChunkedReader, ChunkedSeekReader, ChunkedWriter};
use crate::error::Result;
use crate::secret::SecretKey;
use std::io::{self, Read, Seek, Write};

/// A fresh file key and core, and the header that wraps the key for every
/// recipient.
pub(crate) fn new_header(recipients: &[Recipient<'_>]) -> Result<(Header, SecretKey)> {
    let core = Core::new_random();
    let file_key = SecretKey::random();
    let stanzas = wrap_for(&core.to_bytes(), recipients, &file_key)?;
    Ok((Header::build(core, stanzas, &file_key)?, file_key))
}

/// Encrypts a stream: writes the header at once, then the payload as data
/// is written. Call [`finish`](Self::finish) at the end, or the file is
/// truncated (and readers will say so).
pub struct Encryptor<W: Write> {
    inner: ChunkedWriter<W>,
    header: Header,
}

impl<W: Write> Encryptor<W> {
    /// Wraps a fresh file key for every recipient and writes the header.
    pub fn new(mut output: W, recipients: &[Recipient<'_>]) -> Result<Self> {
        let (header, file_key) = new_header(recipients)?;
        let core = header.core;
        output.write_all(&header.to_bytes())?;
        let inner = ChunkedWriter::new(output, file_key.expose(), &core.to_bytes())?;
        Ok(Self { inner, header })
    }

    /// The header that was written.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Writes the final chunk, flushes and returns the output.
    pub fn finish(self) -> Result<W> {
        self.inner.finish()
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts a stream. Plaintext is released only chunk by authenticated
/// chunk; `read` returns `Ok(0)` only once the whole file authenticated.
/// Errors arrive as `io::Error`s wrapping [`crate::Error`]
/// (see [`crate::error::from_io`]).
pub struct Decryptor<R: Read> {
    inner: ChunkedReader<R>,
    header: Header,
}

impl<R: Read> Decryptor<R> {
    /// Reads and authenticates the header, then checks the payload's key
    /// commitment. No plaintext has been produced when this returns.
    pub fn new(mut input: R, identities: &[Identity<'_>]) -> Result<Self> {
        let header = Header::read_from(&mut input)?;
        let file_key = unwrap_file_key(&header, identities)?;
        let inner = ChunkedReader::new(input, file_key.expose(), &header.core.to_bytes())?;
        Ok(Self { inner, header })
    }

    /// The authenticated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// See [`ChunkedReader::swap_batch`].
    pub(crate) fn swap_batch(&mut self, spare: &mut Vec<u8>) -> io::Result<usize> {
        self.inner.swap_batch(spare)
    }

    /// See [`ChunkedReader::set_batch_chunks`].
    pub(crate) fn set_batch_chunks(&mut self, chunks: usize) {
        self.inner.set_batch_chunks(chunks)
    }
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// Random-access decryption of a file that starts at the reader's current
/// position. Seeking from the end authenticates the final chunk first.
pub struct SeekableDecryptor<R: Read + Seek> {
    inner: ChunkedSeekReader<R>,
    header: Header,
}

impl<R: Read + Seek> SeekableDecryptor<R> {
    /// Reads and authenticates the header and checks the key commitment.
    pub fn new(mut input: R, identities: &[Identity<'_>]) -> Result<Self> {
        let header = Header::read_from(&mut input)?;
        let file_key = unwrap_file_key(&header, identities)?;
        let inner = ChunkedSeekReader::new(input, file_key.expose(), &header.core.to_bytes())?;
        Ok(Self { inner, header })
    }

    /// Authenticates the final chunk and returns the plaintext length.
    pub fn authenticated_len(&mut self) -> Result<u64> {
        self.inner.authenticated_len()
    }

    /// The authenticated header.
    pub fn header(&self) -> &Header {
        &self.header
    }
}

impl<R: Read + Seek> Read for SeekableDecryptor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Read + Seek> Seek for SeekableDecryptor<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}
