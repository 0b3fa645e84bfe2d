//! Whole-file encryption and decryption: every core, read-ahead, atomic
//! output, progress reporting and cancellation.

use super::info::FileInfo;
use super::recipients::{Identity, Recipient};
use super::stream::{Decryptor, new_header};
use crate::atomic::AtomicFile;
use crate::chunked::{CHUNK_SIZE, PREFIX_LEN, Sealer, read_full};
use crate::crypto::random;
use crate::error::{Error, Result, from_io};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// Size of each read and write: a whole number of 16 KiB chunks.
pub(super) const BLOCK: usize = 4 << 20;

/// Options for [`encrypt_file`] and [`decrypt_file`] (and the rewrap and
/// rekey calls). Build them with [`FileOptions::new`] and the setters:
///
/// ```
/// use std::sync::atomic::AtomicBool;
/// use strongroom::file::FileOptions;
///
/// let stop = AtomicBool::new(false);
/// let report = |done: u64, total: u64| eprintln!("{done}/{total}");
/// let opts = FileOptions::new().overwrite(true).progress(&report).cancel(&stop);
/// assert!(opts.overwrite);
/// ```
#[derive(Default, Clone, Copy)]
#[non_exhaustive]
pub struct FileOptions<'a> {
    /// Replace an existing destination (atomically). Off by default. A
    /// destination that is a symbolic link is refused even so.
    pub overwrite: bool,
    /// Called with (bytes done, bytes total) as work progresses.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
    /// When set to true by another thread, the operation stops with
    /// [`Error::Cancelled`] and leaves no output behind.
    pub cancel: Option<&'a AtomicBool>,
    /// For an in-place rewrap or rekey: the header the caller planned the
    /// change on (from [`inspect_path`](super::inspect_path)). If the file,
    /// read again under its lock, has another header, another process
    /// changed it meanwhile and the call fails with [`Error::Locked`]
    /// before writing anything, rather than act on a stale plan.
    pub expect_header: Option<&'a FileInfo>,
}

impl std::fmt::Debug for FileOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileOptions")
            .field("overwrite", &self.overwrite)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.is_some())
            .field("expect_header", &self.expect_header.is_some())
            .finish()
    }
}

impl<'a> FileOptions<'a> {
    /// The defaults: no overwrite, no progress reports, no cancellation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces an existing destination (atomically) when `yes`.
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }

    /// Reports progress to `report` as (bytes done, bytes total).
    pub fn progress(mut self, report: &'a (dyn Fn(u64, u64) + Sync)) -> Self {
        self.progress = Some(report);
        self
    }

    /// Stops the operation with [`Error::Cancelled`] once `flag` is true.
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Makes an in-place rewrap or rekey fail with [`Error::Locked`] if
    /// the file's header is no longer the one `info` describes (another
    /// process changed the file since the caller read it).
    pub fn expect_header(mut self, info: &'a FileInfo) -> Self {
        self.expect_header = Some(info);
        self
    }

    /// Fails with [`Error::Locked`] if `now` is not the header the caller
    /// expected (`path` names the file in the error).
    pub(crate) fn check_expected(&self, now: &FileInfo, path: &Path) -> Result<()> {
        match self.expect_header {
            Some(want)
                if (want.format_version, want.file_id, want.header_len, &want.stanzas)
                    != (now.format_version, now.file_id, now.header_len, &now.stanzas) =>
            {
                Err(Error::Locked(path.to_path_buf()))
            }
            _ => Ok(()),
        }
    }

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

pub(super) fn refuse_same_file(src: &Path, dst: &Path) -> Result<()> {
    crate::atomic::refuse_symlink(dst)?;
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
/// no temporary file is left. A `dst` that is a symbolic link (dangling or
/// not) is refused with [`Error::DestinationIsSymlink`], even with
/// `overwrite`; `src` may be one.
pub fn encrypt_file(
    src: &Path,
    dst: &Path,
    recipients: &[Recipient<'_>],
    opts: &FileOptions<'_>,
) -> Result<FileInfo> {
    refuse_same_file(src, dst)?;
    let mut input = File::open(src).map_err(Error::file("open", src))?;
    let total = input.metadata().map_err(Error::file("read", src))?.len();
    let mut out = AtomicFile::create(dst, opts.overwrite)?;
    let (header, file_key) = new_header(recipients)?;
    let (mut sealer, prefix) = Sealer::new(file_key.expose(), &random::array(), &header.core.to_bytes())?;
    drop(file_key);
    out.file()
        .write_all(&header.to_bytes())
        .map_err(Error::file("write", dst))?;
    out.file().write_all(&prefix).map_err(Error::file("write", dst))?;
    opts.tick(0, total)?;
    let payload_len = write_behind(out.file(), dst, |batches| {
        let mut plain = zeroize::Zeroizing::new(vec![0u8; BLOCK]);
        let (mut done, mut sealed) = (0u64, PREFIX_LEN as u64);
        loop {
            let n = read_full(&mut input, &mut plain).map_err(Error::file("read", src))?;
            let mut buf = batches.spare();
            buf.clear();
            if n < BLOCK {
                // The short final chunk ends the message (it may be empty).
                let full = n / CHUNK_SIZE * CHUNK_SIZE;
                sealer.seal_full(&plain[..full], &mut buf)?;
                sealer.seal_final(&plain[full..n], &mut buf)?;
                sealed += buf.len() as u64;
                batches.hand_over(buf, n as u64, &mut done, total, opts)?;
                return Ok(sealed);
            }
            sealer.seal_full(&plain, &mut buf)?;
            sealed += buf.len() as u64;
            if !batches.hand_over(buf, n as u64, &mut done, total, opts)? {
                return Ok(sealed); // the writer failed; its error is reported
            }
        }
    })?;
    out.commit()?;
    FileInfo::from_header(&header, Some(payload_len))
}

/// Decrypts `src` to `dst`. Chunks are authenticated as they are read, and
/// `dst` appears only after the whole file (final chunk included)
/// authenticated; on any error it does not exist and no temporary file is
/// left. A `dst` that is a symbolic link is refused as for [`encrypt_file`].
/// Returns the number of plaintext bytes.
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
    let input = File::open(src).map_err(Error::file("open", src))?;
    let total = input.metadata().map_err(Error::file("read", src))?.len();
    let mut dec = Decryptor::new(input, identities).map_err(|e| e.on_file("read", src))?;
    // Progress counts plaintext bytes, so the total is the plaintext length.
    let payload = total.saturating_sub(dec.info().header_len);
    let total = crate::chunked::plaintext_len(payload).unwrap_or(total);
    dec.set_batch_chunks(BLOCK / CHUNK_SIZE);
    let mut out = AtomicFile::create(dst, opts.overwrite)?;
    opts.tick(0, total)?;
    let done = write_behind(out.file(), dst, |batches| {
        let mut done = 0u64;
        loop {
            let mut buf = batches.spare();
            let n = dec
                .swap_batch(&mut buf)
                .map_err(|e| from_io(e).on_file("read", src))?;
            buf.truncate(n);
            if n == 0 {
                crate::secret::wipe_vec(&mut buf);
                return Ok(done);
            }
            if !batches.hand_over(buf, n as u64, &mut done, total, opts)? {
                return Ok(done);
            }
        }
    })?;
    out.commit()?;
    Ok(done)
}

/// The producing side of [`write_behind`].
pub(super) struct Batches {
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
}

impl Batches {
    /// A buffer from an earlier batch when one is free (its contents are
    /// stale), else a new empty one.
    pub(super) fn spare(&self) -> Vec<u8> {
        self.empty.try_recv().unwrap_or_default()
    }

    /// Hands `buf` to the writer, counts `input_bytes` as done and reports
    /// progress (or cancellation). `Ok(false)` if the writer has stopped;
    /// its error is returned by [`write_behind`].
    pub(super) fn hand_over(
        &self,
        buf: Vec<u8>,
        input_bytes: u64,
        done: &mut u64,
        total: u64,
        opts: &FileOptions<'_>,
    ) -> Result<bool> {
        *done += input_bytes;
        if self.full.send(buf).is_err() {
            return Ok(false);
        }
        opts.tick(*done, total.max(*done))?;
        Ok(true)
    }
}

/// Runs `produce` on the calling thread while a second thread writes the
/// buffers it hands over to `file`, in order, and returns emptied buffers
/// for reuse. A write error (reported with `path`, the destination's name)
/// takes precedence over the producer's result only when the producer
/// itself succeeded.
pub(super) fn write_behind<T>(
    file: &mut File,
    path: &Path,
    produce: impl FnOnce(&Batches) -> Result<T>,
) -> Result<T> {
    std::thread::scope(|scope| {
        let (full, full_rx) = sync_channel::<Vec<u8>>(2);
        let (empty_tx, empty) = sync_channel::<Vec<u8>>(4);
        let writer = scope.spawn(move || -> std::io::Result<()> {
            while let Ok(mut buf) = full_rx.recv() {
                if let Err(e) = write_in_pieces(file, &buf) {
                    crate::secret::wipe_vec(&mut buf);
                    while let Ok(mut queued) = full_rx.try_recv() {
                        crate::secret::wipe_vec(&mut queued);
                    }
                    return Err(e);
                }
                if let Err(TrySendError::Full(mut buf) | TrySendError::Disconnected(mut buf)) =
                    empty_tx.try_send(buf)
                {
                    crate::secret::wipe_vec(&mut buf);
                }
            }
            Ok(())
        });
        let batches = Batches { full, empty };
        let produced = produce(&batches);
        drop(batches);
        let written = writer.join().expect("the writer thread does not panic");
        let value = produced?;
        written.map_err(Error::file("write", path))?;
        Ok(value)
    })
}

/// Writes `data` in pieces of at most 512 KiB: on some virtual machines,
/// single large writes into memory the host has reclaimed are several times
/// slower (measured in benches/README.md).
fn write_in_pieces(file: &mut File, data: &[u8]) -> std::io::Result<()> {
    data.chunks(512 << 10).try_for_each(|piece| file.write_all(piece))
}
