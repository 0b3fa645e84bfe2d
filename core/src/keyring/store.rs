//! Keyring file I/O: bounded reads, atomic writes (temp file in the same
//! directory, fsync, rename, fsync of the directory) and the sidecar lock.

use super::format::MAX_FILE_LEN;
use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a mutation waits for another process's lock by default.
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between lock attempts.
const LOCK_RETRY: Duration = Duration::from_millis(10);

/// Reads a keyring file, refusing anything larger than the format allows.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(Error::file("open", path))?;
    let mut buf = Vec::new();
    file.take(MAX_FILE_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(Error::file("read", path))?;
    if buf.len() > MAX_FILE_LEN {
        return Err(Error::malformed(
            "keyring",
            format!("file larger than the {MAX_FILE_LEN}-byte maximum"),
        ));
    }
    Ok(buf)
}

/// Whether [`write_atomic`] may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    /// Fail with [`Error::AlreadyExists`] if the path exists (even if it
    /// appears between our check and the rename).
    CreateNew,
    /// Atomically replace the existing file.
    Replace,
}

/// Writes `bytes` to `path` atomically with mode 0600 (see
/// [`crate::atomic::AtomicFile`]): the temporary file lives in the same
/// directory (unnamed where the system allows) and is removed on any error;
/// a `path` that is a symbolic link is refused.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: WriteMode) -> Result<()> {
    let mut out = AtomicFile::create(path, mode == WriteMode::Replace)?;
    #[cfg(unix)]
    out.set_mode(0o600)?;
    out.file().write_all(bytes).map_err(Error::file("write", path))?;
    #[cfg(test)]
    fault::check()?;
    out.commit()
}

/// The sidecar lock file of a keyring: `<path>.lock`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_os_string();
    p.push(".lock");
    PathBuf::from(p)
}

/// An exclusive lock on a keyring's sidecar file, released on drop.
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

/// Takes the exclusive lock of the keyring at `path`, retrying until
/// `timeout` has passed, then failing with [`Error::Locked`]. The lock file
/// is never deleted: deleting it would let two processes lock different
/// files of the same name. A lock file that is a symbolic link is refused
/// with [`Error::DestinationIsSymlink`].
pub(crate) fn lock(path: &Path, timeout: Duration) -> Result<LockGuard> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never through a link: a planted link must not make us create or
        // lock a file elsewhere. (std adds O_CLOEXEC.)
        options
            .mode(0o600)
            .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC).bits() as i32);
    }
    let lock = lock_path(path);
    let file = match options.open(&lock) {
        Ok(file) => file,
        Err(e) => {
            crate::atomic::refuse_symlink(&lock)?;
            return Err(Error::file("open the lock file", &lock)(e));
        }
    };
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LockGuard { _file: file }),
            Err(TryLockError::WouldBlock) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::Locked(path.to_path_buf()));
                }
                std::thread::sleep(LOCK_RETRY.min(deadline - now));
            }
            Err(TryLockError::Error(e)) => return Err(Error::file("lock", &lock)(e)),
        }
    }
}

/// Test-only fault injection: makes the next atomic write on this thread
/// fail after its temporary file was written and synced.
#[cfg(test)]
pub(crate) mod fault {
    use std::cell::Cell;

    thread_local! {
        static FAIL_NEXT_WRITE: Cell<bool> = const { Cell::new(false) };
    }

    /// Arms the fault for the next write on this thread.
    pub(crate) fn fail_next_write() {
        FAIL_NEXT_WRITE.with(|f| f.set(true));
    }

    /// Fails (once) if armed.
    pub(super) fn check() -> std::io::Result<()> {
        if FAIL_NEXT_WRITE.with(|f| f.replace(false)) {
            return Err(std::io::Error::other("injected write failure"));
        }
        Ok(())
    }
}
