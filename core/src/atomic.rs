//! Atomic file replacement: write to a temporary file in the destination's
//! directory, fsync it, rename it into place, fsync the directory.
//!
//! Until [`AtomicFile::commit`] succeeds the destination is untouched; if the
//! value is dropped instead (error, panic, cancellation) the temporary file
//! is removed.

use crate::error::{Error, Result};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// A file being written that will appear at `dest` only on commit.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    dest: PathBuf,
    overwrite: bool,
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl AtomicFile {
    /// Starts writing `dest`. Fails at once with [`Error::AlreadyExists`] if
    /// `dest` exists and `overwrite` is false. The temporary file has mode
    /// 0600 on Unix.
    pub fn create(dest: &Path, overwrite: bool) -> Result<Self> {
        if !overwrite && dest.symlink_metadata().is_ok() {
            return Err(Error::AlreadyExists(dest.to_path_buf()));
        }
        let tmp = tempfile::Builder::new()
            .prefix(".strongroom-")
            .suffix(".tmp")
            .tempfile_in(parent_dir(dest))?;
        Ok(Self {
            tmp,
            dest: dest.to_path_buf(),
            overwrite,
        })
    }

    /// The temporary file to write to.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Sets the permission bits the final file will have.
    #[cfg(unix)]
    pub fn set_mode(&self, mode: u32) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    /// Flushes to disk and moves the file into place. Without `overwrite`,
    /// an existing destination (even one created meanwhile) is never replaced.
    pub fn commit(self) -> Result<()> {
        self.tmp.as_file().sync_all()?;
        let dest = self.dest;
        let persisted = if self.overwrite {
            self.tmp.persist(&dest)
        } else {
            self.tmp.persist_noclobber(&dest)
        };
        persisted.map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                Error::AlreadyExists(dest.clone())
            } else {
                Error::Io(e.error)
            }
        })?;
        sync_dir(parent_dir(&dest))
    }
}

/// Makes a rename durable by syncing the directory that holds it.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let mut f = AtomicFile::create(&dest, false).unwrap();
        f.file().write_all(b"hello").unwrap();
        assert_eq!(entries(dir.path()).len(), 1, "only the temporary file");
        assert!(!dest.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        // Dropping without commit leaves nothing behind.
        let mut g = AtomicFile::create(&dir.path().join("other"), false).unwrap();
        g.file().write_all(b"x").unwrap();
        drop(g);
        assert_eq!(entries(dir.path()), vec!["out".to_string()]);
    }

    #[test]
    fn never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        std::fs::write(&dest, b"keep").unwrap();
        assert!(matches!(
            AtomicFile::create(&dest, false),
            Err(Error::AlreadyExists(_))
        ));
        // Destination appearing after creation is not replaced either.
        let other = dir.path().join("late");
        let f = AtomicFile::create(&other, false).unwrap();
        std::fs::write(&other, b"first").unwrap();
        assert!(matches!(f.commit(), Err(Error::AlreadyExists(_))));
        assert_eq!(std::fs::read(&other).unwrap(), b"first");
        assert_eq!(entries(dir.path()), vec!["late".to_string(), "out".to_string()]);
    }
}
