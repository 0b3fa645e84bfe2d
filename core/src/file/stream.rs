//! Streaming encryption and decryption of the container.

use super::header::{Core, Header};
use super::info::FileInfo;
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
///
/// **Threads:** `Send` (and `Sync`) when `W` is; one stream is used by one
/// thread at a time (`&mut self`).
pub struct Encryptor<W: Write> {
    inner: ChunkedWriter<W>,
    info: FileInfo,
}

impl<W: Write> Encryptor<W> {
    /// Wraps a fresh file key for every recipient and writes the header.
    pub fn new(mut output: W, recipients: &[Recipient<'_>]) -> Result<Self> {
        let (header, file_key) = new_header(recipients)?;
        let core = header.core;
        output.write_all(&header.to_bytes())?;
        let inner = ChunkedWriter::new(output, file_key.expose(), &core.to_bytes())?;
        let info = FileInfo::from_header(&header, None)?;
        Ok(Self { inner, info })
    }

    /// What the header that was written says (file id, recipients; the
    /// lengths are not known yet).
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Writes the final chunk, flushes and returns the output.
    pub fn finish(self) -> Result<W> {
        self.inner.finish()
    }
}

impl<W: Write> Encryptor<W> {
    /// Like `write_all`, but seals `buf`'s whole chunks where they lie,
    /// overwriting `buf` (see [`ChunkedWriter::write_in_place`]): the
    /// fastest way to encrypt data the caller owns and no longer needs.
    pub fn write_in_place(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.write_in_place(buf)
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
///
/// **Threads:** `Send` (and `Sync`) when `R` is; one stream is used by one
/// thread at a time (`&mut self`).
pub struct Decryptor<R: Read> {
    inner: ChunkedReader<R>,
    info: FileInfo,
}

impl<R: Read> Decryptor<R> {
    /// Reads and authenticates the header, then checks the payload's key
    /// commitment. No plaintext has been produced when this returns.
    ///
    /// The same as [`EncryptedFile::open`] then [`EncryptedFile::decrypt`],
    /// for callers that do not need to look at the header first.
    pub fn new(input: R, identities: &[Identity<'_>]) -> Result<Self> {
        EncryptedFile::open(input)?.decrypt(identities)
    }

    /// What the (now authenticated) header says.
    pub fn info(&self) -> &FileInfo {
        &self.info
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

/// Decrypts a whole encrypted file held in `buf`, where it lies: no second
/// buffer, and every core is used. Returns the plaintext, a part of `buf`
/// (the header and the tags it replaced are left around it). `buf` may be
/// memory another thread or process sees (shared, mapped): each chunk is
/// opened in a private scratch buffer and its plaintext copied into `buf`
/// only once it authenticated, so `buf` never holds unauthenticated
/// plaintext, not even while this runs. On a failure the payload part of
/// `buf` is zeroed.
pub fn decrypt_in_place<'b>(buf: &'b mut [u8], identities: &[Identity<'_>]) -> Result<&'b mut [u8]> {
    let mut rest = &buf[..];
    let header = Header::read_from(&mut rest)?;
    let start = buf.len() - rest.len();
    let file_key = unwrap_file_key(&header, identities)?;
    let len = crate::chunked::open_in_place(&mut buf[start..], file_key.expose(), &header.core.to_bytes())?;
    Ok(&mut buf[start..start + len])
}

/// Random-access decryption of a file that starts at the reader's current
/// position. Seeking from the end authenticates the final chunk first.
/// A `read` writes to its buffer only plaintext of chunks that
/// authenticated, even while it runs (another thread may be looking at
/// the buffer).
///
/// **Threads:** `Send` (and `Sync`) when `R` is; one reader is used by one
/// thread at a time (`&mut self`).
pub struct SeekableDecryptor<R: Read + Seek> {
    inner: ChunkedSeekReader<R>,
    info: FileInfo,
}

impl<R: Read + Seek> SeekableDecryptor<R> {
    /// Reads and authenticates the header and checks the key commitment.
    ///
    /// The same as [`EncryptedFile::open`] then
    /// [`EncryptedFile::decrypt_seekable`].
    pub fn new(input: R, identities: &[Identity<'_>]) -> Result<Self> {
        EncryptedFile::open(input)?.decrypt_seekable(identities)
    }

    /// Authenticates the final chunk and returns the plaintext length.
    pub fn authenticated_len(&mut self) -> Result<u64> {
        self.inner.authenticated_len()
    }

    /// What the (now authenticated) header says, with the payload length.
    pub fn info(&self) -> &FileInfo {
        &self.info
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

/// Two-step decryption: an encrypted input whose header has been read and
/// parsed, but not authenticated (that needs the file key).
///
/// [`info`](Self::info) tells who can open the file (keyring ids and key
/// versions, passphrase stanzas with their Argon2id cost) and how large it
/// is, so a caller can choose which identities to offer, or which secret to
/// ask for, before any key work; then [`decrypt`](Self::decrypt) or
/// [`decrypt_seekable`](Self::decrypt_seekable) continue from where the
/// header ended. The header's limits (stanza counts, passphrase stanzas,
/// Argon2id caps) are enforced here, before any secret is asked for.
///
/// ```no_run
/// use strongroom::file::{EncryptedFile, Identity, StanzaInfo};
/// # fn open(ring: &strongroom::keyring::Keyring) -> strongroom::Result<()> {
/// let file = EncryptedFile::open(std::fs::File::open("backup.tar.srf")?)?;
/// let for_this_ring = file.info().stanzas.iter().any(|s| {
///     matches!(s, StanzaInfo::Keyring { keyring_id, .. } if *keyring_id == ring.id())
/// });
/// if for_this_ring {
///     let mut plaintext = file.decrypt(&[Identity::Keyring(ring)])?;
///     std::io::copy(&mut plaintext, &mut std::io::stdout())?;
/// }
/// # Ok(()) }
/// ```
pub struct EncryptedFile<R: Read> {
    pub(super) input: R,
    header: Header,
    info: FileInfo,
}

impl<R: Read> EncryptedFile<R> {
    /// Reads and parses the header from `input` (which may be a pipe). The
    /// payload length is unknown here; [`EncryptedFile::open_seekable`]
    /// measures it.
    pub fn open(mut input: R) -> Result<Self> {
        let header = Header::read_from(&mut input)?;
        let info = FileInfo::from_header(&header, None)?;
        Ok(Self { input, header, info })
    }

    /// What the header says. Nothing in it is authenticated yet.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Unwraps the file key with `identities`, authenticates the header and
    /// checks the payload's key commitment, then decrypts as a stream.
    pub fn decrypt(self, identities: &[Identity<'_>]) -> Result<Decryptor<R>> {
        let file_key = unwrap_file_key(&self.header, identities)?;
        let inner = ChunkedReader::new(self.input, file_key.expose(), &self.header.core.to_bytes())?;
        Ok(Decryptor {
            inner,
            info: self.info,
        })
    }
}

impl<R: Read + Seek> EncryptedFile<R> {
    /// [`EncryptedFile::open`] on a seekable input that starts at its
    /// current position, measuring the payload (`info().payload_len`).
    pub fn open_seekable(mut input: R) -> Result<Self> {
        let start = input.stream_position()?;
        let header = Header::read_from(&mut input)?;
        let end = input.seek(io::SeekFrom::End(0))?;
        let body_start = start + header.encoded_len() as u64;
        input.seek(io::SeekFrom::Start(body_start))?;
        let info = FileInfo::from_header(&header, Some(end.saturating_sub(body_start)))?;
        Ok(Self { input, header, info })
    }

    /// Like [`decrypt`](Self::decrypt), for random access.
    pub fn decrypt_seekable(mut self, identities: &[Identity<'_>]) -> Result<SeekableDecryptor<R>> {
        let file_key = unwrap_file_key(&self.header, identities)?;
        if self.info.payload_len.is_none() {
            let here = self.input.stream_position()?;
            let end = self.input.seek(io::SeekFrom::End(0))?;
            self.input.seek(io::SeekFrom::Start(here))?;
            self.info = FileInfo::from_header(&self.header, Some(end.saturating_sub(here)))?;
        }
        let inner = ChunkedSeekReader::new(self.input, file_key.expose(), &self.header.core.to_bytes())?;
        Ok(SeekableDecryptor {
            inner,
            info: self.info,
        })
    }
}
