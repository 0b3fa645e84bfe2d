//! Streaming decryption.

use super::key::PayloadKey;
use super::parallel::{open_full_chunks, open_full_chunks_in_place};
use super::writer::batch_chunks;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_CHUNKS, read_full};
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};
use std::io::{self, Read};

/// Why a stream stopped; kept so that every later read fails the same way.
#[derive(Debug, Clone, Copy)]
enum Failure {
    ChunkAuth(u64),
    Truncated(&'static str),
    TooLong,
    Io(io::ErrorKind),
}

impl Failure {
    fn to_error(self) -> Error {
        match self {
            Failure::ChunkAuth(index) => Error::ChunkAuthFailed { index },
            Failure::Truncated(what) => Error::Truncated(what),
            Failure::TooLong => Error::MessageTooLong,
            Failure::Io(kind) => Error::Io(io::Error::new(
                kind,
                "an earlier read of the encrypted input failed",
            )),
        }
    }

    fn from_error(e: &Error) -> Self {
        match e {
            Error::ChunkAuthFailed { index } => Failure::ChunkAuth(*index),
            Error::Truncated(what) => Failure::Truncated(what),
            _ => Failure::TooLong,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Reading,
    Done,
    Failed(Failure),
}

/// Decrypts a chunked message read from `R`.
///
/// Plaintext is released one authenticated chunk at a time (chunks are
/// opened in parallel batches); a read's buffer receives a chunk only once
/// it authenticated, even while the read runs. `read` returns `Ok(0)` only after the short
/// final chunk has authenticated; a truncated, extended or modified message
/// yields an error (an `io::Error` wrapping [`Error`], see
/// [`crate::error::from_io`]) and every later read yields it again.
pub struct ChunkedReader<R: Read> {
    inner: R,
    key: PayloadKey,
    ct: Vec<u8>,
    /// The next batch of ciphertext, read while `ct` was being opened.
    ahead: Vec<u8>,
    /// What reading `ahead` gave (length, end of input), once it was read.
    ahead_read: Option<io::Result<(usize, bool)>>,
    pt: Vec<u8>,
    pos: usize,
    avail: usize,
    next_chunk: u64,
    state: State,
}

/// Decrypted bytes (and ciphertext opened in place) are wiped when the
/// reader is dropped: one pass over the batch buffers, once.
impl<R: Read> Drop for ChunkedReader<R> {
    fn drop(&mut self) {
        crate::secret::wipe_vec(&mut self.pt);
        crate::secret::wipe_vec(&mut self.ct);
        crate::secret::wipe_vec(&mut self.ahead);
    }
}

impl<R: Read> ChunkedReader<R> {
    /// Reads the prefix and checks the key commitment; no chunk is decrypted
    /// before it matches.
    pub fn new(mut inner: R, input_key: &[u8], context: &[u8]) -> Result<Self> {
        let key = PayloadKey::read_prefix(&mut inner, input_key, context)?;
        Ok(Self::from_key(inner, key))
    }

    /// Raw-mode reader positioned at chunk 0 (no prefix). Hazmat, for vectors.
    #[doc(hidden)]
    pub fn from_key(inner: R, key: PayloadKey) -> Self {
        Self::with_batch(inner, key, batch_chunks())
    }

    /// Sets how many chunks are read and opened together (at least 1).
    /// Larger batches suit whole-file work; the default suits streams.
    pub(crate) fn set_batch_chunks(&mut self, chunks: usize) {
        debug_assert!(
            self.ahead_read.is_none(),
            "batch size changed after reading began"
        );
        let chunks = chunks.max(1);
        self.ct = vec![0u8; chunks * ENCRYPTED_CHUNK_SIZE];
        self.ahead = Vec::new();
        let mut pt = vec![0u8; chunks * CHUNK_SIZE];
        pt[..self.avail - self.pos].copy_from_slice(&self.pt[self.pos..self.avail]);
        self.avail -= self.pos;
        self.pos = 0;
        self.pt = pt;
    }

    fn with_batch(inner: R, key: PayloadKey, batch: usize) -> Self {
        Self {
            inner,
            key,
            ct: vec![0u8; batch * ENCRYPTED_CHUNK_SIZE],
            // Allocated when first needed: single-threaded reads never use it.
            ahead: Vec::new(),
            ahead_read: None,
            pt: vec![0u8; batch * CHUNK_SIZE],
            pos: 0,
            avail: 0,
            next_chunk: 0,
            state: State::Reading,
        }
    }

    /// Fills the ciphertext buffer; returns (bytes, reached end of input).
    /// Puts the next batch of ciphertext in `ct`: the batch read ahead if
    /// there is one, else a fresh read.
    fn fill(&mut self) -> io::Result<(usize, bool)> {
        if let Some(read) = self.ahead_read.take() {
            std::mem::swap(&mut self.ct, &mut self.ahead);
            return read;
        }
        let len = read_full(&mut self.inner, &mut self.ct)?;
        Ok((len, len < self.ct.len()))
    }

    /// Opens the `full` whole chunks at the start of `ct` into `pt`. With
    /// more than one thread and more input to come, the next batch is read
    /// into `ahead` meanwhile, so reading the input overlaps the opening.
    /// `pt` is either the reader's own buffer or (`shared`) the caller's
    /// memory, which only ever receives authenticated chunks: those open
    /// in `ct` and are copied.
    fn open_batch(&mut self, full: usize, eof: bool, pt: &mut [u8], shared: bool) -> (usize, Option<Error>) {
        let (key, first) = (&self.key, self.next_chunk);
        let ct = &mut self.ct[..full * ENCRYPTED_CHUNK_SIZE];
        let pt = &mut pt[..full * CHUNK_SIZE];
        let open = |ct: &mut [u8], pt: &mut [u8]| {
            if shared {
                open_full_chunks_in_place(key, first, ct, pt)
            } else {
                open_full_chunks(key, first, ct, pt)
            }
        };
        if eof || full < 2 || crate::parallel::threads() < 2 {
            return open(ct, pt);
        }
        if self.ahead.len() != self.ct.len() {
            self.ahead = vec![0u8; self.ct.len()];
        }
        let ct = &mut self.ct[..full * ENCRYPTED_CHUNK_SIZE];
        let (inner, ahead) = (&mut self.inner, &mut self.ahead);
        let mut opened = (0, None);
        let read = crate::parallel::overlap(
            || opened = open(ct, pt),
            || {
                let len = read_full(inner, ahead)?;
                Ok((len, len < ahead.len()))
            },
        );
        self.ahead_read = Some(read);
        opened
    }

    fn refill(&mut self) -> io::Result<()> {
        let mut pt = std::mem::take(&mut self.pt);
        let result = self.refill_to(&mut pt, false);
        self.pt = pt;
        result
    }

    /// Reads and opens the next batch into `pt` (at least one batch of
    /// plaintext long): `self.avail` bytes of it are authenticated
    /// plaintext afterwards, from offset 0. `shared`: `pt` is the caller's
    /// memory, where no unauthenticated byte may appear (see
    /// [`open_batch`](Self::open_batch)).
    fn refill_to(&mut self, pt: &mut [u8], shared: bool) -> io::Result<()> {
        self.pos = 0;
        self.avail = 0;
        let (len, eof) = self
            .fill()
            .inspect_err(|e| self.state = State::Failed(Failure::Io(e.kind())))?;
        let full = len / ENCRYPTED_CHUNK_SIZE;
        let last = len % ENCRYPTED_CHUNK_SIZE;
        if self.next_chunk + full as u64 >= MAX_CHUNKS {
            self.state = State::Failed(Failure::TooLong);
            return Ok(());
        }
        let (good, err) = self.open_batch(full, eof, pt, shared);
        self.avail = good * CHUNK_SIZE;
        self.next_chunk += good as u64;
        if let Some(e) = err {
            self.state = State::Failed(Failure::from_error(&e));
            return Ok(());
        }
        if !eof {
            return Ok(());
        }
        if last == 0 {
            self.state = State::Failed(Failure::Truncated("the short final chunk is missing"));
        } else if last < TAG_LEN {
            self.state = State::Failed(Failure::Truncated("final chunk shorter than its tag"));
        } else {
            let start = full * ENCRYPTED_CHUNK_SIZE;
            let out_len = last - TAG_LEN;
            // `pt` has room: `last` < one encrypted chunk, and a failed
            // final chunk releases nothing of itself. The chunk opens where
            // it lies in the reader's own `ct`, so `pt` (perhaps the
            // caller's) receives it only once it authenticated.
            let ct = &mut self.ct[start..start + last];
            match self.key.open_chunk_in_place(self.next_chunk, ct) {
                Ok(len) => {
                    pt[self.avail..self.avail + out_len].copy_from_slice(&ct[..len]);
                    self.avail += out_len;
                    self.state = State::Done;
                }
                Err(e) => self.state = State::Failed(Failure::from_error(&e)),
            }
        }
        Ok(())
    }

    /// Number of chunks authenticated so far.
    pub fn chunks_authenticated(&self) -> u64 {
        self.next_chunk
    }

    /// Moves the next run of authenticated plaintext into `spare` without
    /// copying it (the buffers are swapped) and returns its length; `Ok(0)`
    /// only at the authenticated end of the message. Errors as for `read`.
    pub(crate) fn swap_batch(&mut self, spare: &mut Vec<u8>) -> io::Result<usize> {
        while self.pos == self.avail {
            match self.state {
                State::Done => return Ok(0),
                State::Failed(f) => return Err(f.to_error().into()),
                State::Reading => self.refill()?,
            }
        }
        spare.resize(self.pt.len(), 0);
        std::mem::swap(&mut self.pt, spare);
        let (pos, avail) = (self.pos, self.avail);
        self.pos = 0;
        self.avail = 0;
        if pos > 0 {
            spare.copy_within(pos..avail, 0);
        }
        Ok(avail - pos)
    }
}

impl<R: Read> Read for ChunkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.avail {
                let n = buf.len().min(self.avail - self.pos);
                buf[..n].copy_from_slice(&self.pt[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match self.state {
                State::Done => return Ok(0),
                State::Failed(f) => return Err(f.to_error().into()),
                // A whole batch fits the caller's buffer: open straight
                // into it, saving a copy of every byte.
                State::Reading if buf.len() >= self.pt.len() => {
                    let batch = self.pt.len();
                    self.refill_to(&mut buf[..batch], true)?;
                    let n = self.avail;
                    self.pos = 0;
                    self.avail = 0;
                    if n > 0 {
                        return Ok(n);
                    }
                }
                State::Reading => self.refill()?,
            }
            if buf.is_empty() {
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunked::{ChunkedWriter, PREFIX_LEN};
    use std::io::Write;

    /// Yields `data`, but fails once when `fail_at` bytes have been read.
    struct Flaky {
        data: Vec<u8>,
        pos: usize,
        fail_at: usize,
        failed: bool,
    }

    impl Read for Flaky {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.failed && self.pos >= self.fail_at {
                self.failed = true;
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "network dropped"));
            }
            let end = (self.pos + buf.len()).min(self.data.len()).min(if self.failed {
                usize::MAX
            } else {
                self.fail_at
            });
            let n = end - self.pos;
            buf[..n].copy_from_slice(&self.data[self.pos..end]);
            self.pos = end;
            Ok(n)
        }
    }

    /// A caller buffer larger than a batch takes the direct path (opened
    /// straight into it): it gets the chunks before a modified one, then
    /// the specific error, and the same on every later read.
    #[test]
    fn large_reads_stop_at_a_modified_chunk() {
        let key = [4u8; 32];
        let plain: Vec<u8> = (0..40 * CHUNK_SIZE + 99).map(|i| (i % 251) as u8).collect();
        let mut w = ChunkedWriter::new(Vec::new(), &key, b"x").unwrap();
        w.write_all(&plain).unwrap();
        let mut ct = w.finish().unwrap();
        let mut r = ChunkedReader::new(&ct[..], &key, b"x").unwrap();
        let mut buf = vec![0u8; 64 * CHUNK_SIZE];
        let mut back = Vec::new();
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        assert!(back == plain, "direct reads give the plaintext");
        drop(r);

        ct[PREFIX_LEN + 5 * ENCRYPTED_CHUNK_SIZE + 7] ^= 1;
        let mut r = ChunkedReader::new(&ct[..], &key, b"x").unwrap();
        let n = r.read(&mut buf).unwrap();
        assert_eq!(n, 5 * CHUNK_SIZE, "only the chunks before the modified one");
        assert!(buf[..n] == plain[..n]);
        assert!(
            buf[n..n + CHUNK_SIZE].iter().all(|&b| b == 0),
            "no unauthenticated plaintext"
        );
        for _ in 0..2 {
            let err = crate::error::from_io(r.read(&mut buf).unwrap_err());
            assert!(matches!(err, Error::ChunkAuthFailed { index: 5 }), "{err}");
        }
    }

    #[test]
    fn io_errors_are_sticky() {
        let key = [9u8; 32];
        let mut w = ChunkedWriter::new(Vec::new(), &key, b"").unwrap();
        w.write_all(&vec![1u8; 5 * CHUNK_SIZE]).unwrap();
        let ct = w.finish().unwrap();
        let flaky = Flaky {
            data: ct,
            pos: 0,
            fail_at: PREFIX_LEN + 1000,
            failed: false,
        };
        let mut r = ChunkedReader::new(flaky, &key, b"").unwrap();
        let mut buf = vec![0u8; 4096];
        let first = r.read(&mut buf).unwrap_err();
        assert_eq!(first.kind(), io::ErrorKind::ConnectionReset);
        // The input now "works" again, but the stream lost its place: every
        // later read must fail rather than resume at the wrong offset.
        for _ in 0..3 {
            let again = r.read(&mut buf).unwrap_err();
            assert_eq!(again.kind(), io::ErrorKind::ConnectionReset);
        }
    }

    #[test]
    fn an_error_while_reading_ahead_comes_after_the_batch_before_it() {
        let key = [3u8; 32];
        let plain: Vec<u8> = (0..40 * CHUNK_SIZE + 5).map(|i| (i % 253) as u8).collect();
        let mut w = ChunkedWriter::new(Vec::new(), &key, b"").unwrap();
        w.write_all(&plain).unwrap();
        let ct = w.finish().unwrap();
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        two.install(|| {
            let batch = batch_chunks();
            let flaky = Flaky {
                data: ct,
                pos: 0,
                fail_at: PREFIX_LEN + batch * ENCRYPTED_CHUNK_SIZE + 100,
                failed: false,
            };
            let mut r = ChunkedReader::new(flaky, &key, b"").unwrap();
            let mut buf = vec![0u8; 64 * CHUNK_SIZE];
            let n = r.read(&mut buf).unwrap();
            assert_eq!(
                n,
                batch * CHUNK_SIZE,
                "the whole first batch, read before the failure"
            );
            assert!(buf[..n] == plain[..n]);
            for _ in 0..2 {
                let err = r.read(&mut buf).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
            }
        });
    }
}
