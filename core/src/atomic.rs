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
    ///
    /// A destination that is a symbolic link is resolved first, so the file
    /// it points to is the one replaced. A destination that exists but is
    /// not a regular file (a directory, a FIFO, a device) is refused with
    /// [`Error::InvalidArgument`].
    pub fn create(dest: &Path, overwrite: bool) -> Result<Self> {
        let dest = resolve_link(dest);
        if let Ok(meta) = dest.metadata() {
            if !meta.is_file() {
                return Err(Error::InvalidArgument(format!(
                    "{} exists and is not a regular file",
                    dest.display()
                )));
            }
            if !overwrite {
                return Err(Error::AlreadyExists(dest));
            }
        }
        let dir = parent_dir(&dest);
        let tmp = tempfile::Builder::new()
            .prefix(".strongroom-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot create a file in {}: {e}", dir.display()),
                ))
            })?;
        Ok(Self { tmp, dest, overwrite })
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

/// The path a symbolic link finally points to (`path` itself if it is not
/// a link, or if the link cannot be resolved).
pub fn resolve_link(path: &Path) -> PathBuf {
    match path.symlink_metadata() {
        Ok(meta) if meta.file_type().is_symlink() => match path.canonicalize() {
            Ok(target) => target,
            // A dangling link: resolve its folder and keep its target name.
            Err(_) => std::fs::read_link(path)
                .map(|t| parent_dir(path).join(t))
                .unwrap_or_else(|_| path.to_path_buf()),
        },
        _ => path.to_path_buf(),
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
    fn follows_links_and_refuses_non_files() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut f = AtomicFile::create(&link, true).unwrap();
        f.file().write_all(b"new").unwrap();
        f.commit().unwrap();
        assert!(
            link.symlink_metadata().unwrap().file_type().is_symlink(),
            "the link stays a link"
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(
            matches!(AtomicFile::create(&sub, true), Err(Error::InvalidArgument(m)) if m.contains("not a regular file"))
        );
        let missing = dir.path().join("no/such/folder/out");
        assert!(
            matches!(AtomicFile::create(&missing, false), Err(Error::Io(e)) if e.to_string().contains("no/such/folder"))
        );
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
