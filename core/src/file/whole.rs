//! Whole-file encryption and decryption: every core, read-ahead, atomic
//! output, progress reporting and cancellation.

use super::info::FileInfo;
use super::recipients::{Identity, Recipient};
use super::stream::{Decryptor, new_header};
use crate::atomic::AtomicFile;
use crate::chunked::{CHUNK_SIZE, PREFIX_LEN, Sealer};
use crate::crypto::random;
use crate::error::{Error, Result, from_io};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

/// Size of each read and write: a whole number of 16 KiB chunks.
const BLOCK: usize = 4 << 20;

/// Options for [`encrypt_file`] and [`decrypt_file`].
#[derive(Default, Clone, Copy)]
pub struct FileOptions<'a> {
    /// Replace an existing destination (atomically). Off by default.
    pub overwrite: bool,
    /// Called with (bytes done, bytes total) as work progresses.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
    /// When set to true by another thread, the operation stops with
    /// [`Error::Cancelled`] and leaves no output behind.
    pub cancel: Option<&'a AtomicBool>,
}

impl std::fmt::Debug for FileOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileOptions")
            .field("overwrite", &self.overwrite)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

impl FileOptions<'_> {
    pub(crate) fn tick(&self, done: u64, total: u64) -> Result<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled);
        }
        if let Some(p) = self.progress {
            p(done, total);
        }
        Ok(())
    }
}

fn refuse_same_file(src: &Path, dst: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (src.canonicalize(), dst.canonicalize())
        && a == b
    {
        return Err(Error::InvalidArgument(
            "source and destination are the same file".into(),
        ));
    }
    Ok(())
}

/// Encrypts `src` to `dst` for `recipients`, using every core (the calling
/// thread reads and seals; a second thread writes). `dst` appears
/// only when complete; on any error (or cancellation) it does not exist and
/// no temporary file is left.
pub fn encrypt_file(
    src: &Path,
    dst: &Path,
    recipients: &[Recipient<'_>],
    opts: &FileOptions<'_>,
) -> Result<FileInfo> {
    refuse_same_file(src, dst)?;
    let mut input = File::open(src)?;
    let total = input.metadata()?.len();
    let mut out = AtomicFile::create(dst, opts.overwrite)?;
    let (header, file_key) = new_header(recipients)?;
    let (sealer, prefix) = Sealer::new(file_key.expose(), &random::array(), &header.core.to_bytes())?;
    drop(file_key);
    out.file().write_all(&header.to_bytes())?;
    out.file().write_all(&prefix)?;
    opts.tick(0, total)?;
    let file = out.file();
    let payload_len = std::thread::scope(|scope| -> Result<u64> {
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(2);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(4);
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for buf in full_rx {
                write_in_pieces(file, &buf)?;
                let _ = empty_tx.try_send(buf);
            }
            Ok(())
        });
        let produced = (|| -> Result<u64> {
            let mut sealer = Some(sealer);
            let mut plain = vec![0u8; BLOCK];
            let (mut done, mut sealed) = (0u64, PREFIX_LEN as u64);
            loop {
                let n = read_full(&mut input, &mut plain)?;
                let full = n / CHUNK_SIZE * CHUNK_SIZE;
                let mut buf = empty_rx.try_recv().unwrap_or_default();
                buf.clear();
                let last = n < BLOCK;
                match (last, sealer.take()) {
                    (false, Some(mut s)) => {
                        s.seal_full(&plain[..n], &mut buf)?;
                        sealer = Some(s);
                    }
                    (true, Some(mut s)) => {
                        s.seal_full(&plain[..full], &mut buf)?;
                        s.seal_final(&plain[full..n], &mut buf)?;
                    }
                    (_, None) => unreachable!("the sealer is taken only by the last block"),
                }
                done += n as u64;
                sealed += buf.len() as u64;
                if full_tx.send(buf).is_err() {
                    return Ok(sealed); // the writer failed; its error is reported below
                }
                opts.tick(done, total.max(done))?;
                if last {
                    return Ok(sealed);
                }
            }
        })();
        drop(full_tx);
        let written = writer.join().expect("the writer thread does not panic");
        let sealed = produced?;
        written?;
        Ok(sealed)
    })?;
    out.commit()?;
    FileInfo::from_header(&header, Some(payload_len))
}

/// Writes `data` in pieces of at most 512 KiB: on some virtual machines,
/// single large writes into memory the host has reclaimed are several times
/// slower (measured in benches/README.md).
fn write_in_pieces(file: &mut File, data: &[u8]) -> std::io::Result<()> {
    data.chunks(512 << 10).try_for_each(|piece| file.write_all(piece))
}

/// Reads until `buf` is full or the input ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match r.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(len)
}

/// Decrypts `src` to `dst`. Chunks are authenticated as they are read, and
/// `dst` appears only after the whole file (final chunk included)
/// authenticated; on any error it does not exist and no temporary file is
/// left. Returns the number of plaintext bytes.
///
/// The calling thread reads and decrypts (on all cores) while a second
/// thread writes; plaintext buffers move between them without copying.
pub fn decrypt_file(
    src: &Path,
    dst: &Path,
    identities: &[Identity<'_>],
    opts: &FileOptions<'_>,
) -> Result<u64> {
    refuse_same_file(src, dst)?;
    let input = File::open(src)?;
    let total = input.metadata()?.len();
    let mut dec = Decryptor::new(input, identities)?;
    // Progress counts plaintext bytes, so the total is the plaintext length.
    let payload = total.saturating_sub(dec.header().encoded_len() as u64);
    let total = crate::chunked::plaintext_len(payload).unwrap_or(total);
    dec.set_batch_chunks(BLOCK / CHUNK_SIZE);
    let mut out = AtomicFile::create(dst, opts.overwrite)?;
    opts.tick(0, total)?;
    let done = std::thread::scope(|scope| -> Result<u64> {
        let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(2);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(4);
        let file = out.file();
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for (buf, n) in full_rx {
                write_in_pieces(file, &buf[..n])?;
                let _ = empty_tx.try_send(buf);
            }
            Ok(())
        });
        let mut done = 0u64;
        let produced = (|| -> Result<()> {
            loop {
                let mut spare = empty_rx.try_recv().unwrap_or_default();
                let n = dec.swap_batch(&mut spare).map_err(from_io)?;
                if n == 0 {
                    return Ok(());
                }
                done += n as u64;
                if full_tx.send((spare, n)).is_err() {
                    return Ok(()); // the writer failed; its error is reported below
                }
                opts.tick(done, total.max(done))?;
            }
        })();
        drop(full_tx);
        let written = writer.join().expect("the writer thread does not panic");
        produced?;
        written?;
        Ok(done)
    })?;
    out.commit()?;
    Ok(done)
}
