//! Whole-file encryption and decryption: every core, read-ahead, atomic
//! output, progress reporting and cancellation.

use super::info::FileInfo;
use super::readahead::ReadAhead;
use super::recipients::{Identity, Recipient};
use super::stream::{Decryptor, Encryptor};
use crate::atomic::AtomicFile;
use crate::chunked::CHUNK_SIZE;
use crate::error::{Error, Result, from_io};
use std::fs::File;
use std::io::Write;
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

/// Encrypts `src` to `dst` for `recipients`, using every core. `dst` appears
/// only when complete; on any error (or cancellation) it does not exist and
/// no temporary file is left.
pub fn encrypt_file(
    src: &Path,
    dst: &Path,
    recipients: &[Recipient<'_>],
    opts: &FileOptions<'_>,
) -> Result<FileInfo> {
    refuse_same_file(src, dst)?;
    let input = File::open(src)?;
    let total = input.metadata()?.len();
    let mut out = AtomicFile::create(dst, opts.overwrite)?;
    let mut reader = ReadAhead::new(input, BLOCK);
    let mut enc = Encryptor::new(out.file(), recipients)?;
    let mut done = 0u64;
    opts.tick(0, total)?;
    while let Some(block) = reader.next_block()? {
        enc.write_all(block).map_err(from_io)?;
        done += block.len() as u64;
        opts.tick(done, total.max(done))?;
    }
    let header = enc.header().clone();
    let file = enc.finish()?;
    let payload_len = file.metadata()?.len() - header.encoded_len() as u64;
    out.commit()?;
    FileInfo::from_header(&header, Some(payload_len))
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
                file.write_all(&buf[..n])?;
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
