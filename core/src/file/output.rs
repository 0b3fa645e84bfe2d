//! A destination file written atomically, for callers that produce the
//! bytes themselves (for example an [`Encryptor`](super::Encryptor) fed
//! from a pipe).

use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file that appears at its path only when [`commit`](Self::commit)
/// succeeds; dropped without commit (error, panic, cancellation), it leaves
/// nothing behind.
///
/// The same rules as for [`encrypt_file`](super::encrypt_file): a path that
/// is a symbolic link (dangling or not) is refused with
/// [`Error::DestinationIsSymlink`](crate::Error::DestinationIsSymlink) even
/// with `overwrite`; an existing path without `overwrite` is
/// [`Error::AlreadyExists`](crate::Error::AlreadyExists). On Linux the
/// bytes go to an unnamed temporary file, so even `kill -9` leaves nothing;
/// elsewhere a killed process may leave a `.strongroom-*.tmp` file in the
/// destination's folder, safe to delete. The file has mode 0600.
#[derive(Debug)]
pub struct OutputFile {
    inner: AtomicFile,
    /// For errors: a failed write names the file.
    path: PathBuf,
}

impl OutputFile {
    /// Starts writing `path`, replacing an existing regular file only if
    /// `overwrite`.
    pub fn create(path: &Path, overwrite: bool) -> Result<Self> {
        Ok(Self {
            inner: AtomicFile::create(path, overwrite)?,
            path: path.to_path_buf(),
        })
    }

    /// Checks, without creating anything, what [`create`](Self::create)
    /// would refuse: a symbolic link, something other than a regular file,
    /// or (without `overwrite`) an existing file. Lets a caller fail before
    /// asking for secrets; `create` checks again.
    pub fn check(path: &Path, overwrite: bool) -> Result<()> {
        crate::atomic::check_destination(path, overwrite)
    }

    /// Flushes to disk and makes the file appear at its path.
    pub fn commit(self) -> Result<()> {
        self.inner.commit()
    }
}

impl OutputFile {
    /// An I/O error of this file, naming it (recovered by
    /// [`from_io`](crate::error::from_io) as [`Error::File`]).
    fn named(&self, e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::Interrupted {
            return e; // retried by the caller
        }
        Error::file("write", &self.path)(e).into()
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.file().write(buf).map_err(|e| self.named(e))
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.inner.file().write_vectored(bufs).map_err(|e| self.named(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.file().flush().map_err(|e| self.named(e))
    }
}
