//! Atomic file creation: the new contents go to a temporary file in the
//! destination's directory, are fsynced, and then appear at the destination
//! in one step (link or rename), followed by an fsync of the directory.
//!
//! - The destination's last component is never followed: a symbolic link
//!   there (dangling or not) is refused with [`Error::DestinationIsSymlink`],
//!   with or without overwriting. Every file is created with
//!   `O_CREAT|O_EXCL` semantics (or unnamed), never by opening a path that
//!   might be a link.
//! - On Linux the temporary file is unnamed (`O_TMPFILE`, mode 0600): until
//!   commit it has no name, so an interrupted run (even `kill -9`) leaves
//!   nothing behind. Without overwriting it is linked to the destination,
//!   which fails if anything is there. With overwriting it is linked under a
//!   fresh temporary name and renamed over the destination: only in the
//!   instant between those two calls could a kill leave a named temporary.
//! - Where `O_TMPFILE` is not available (other systems, some filesystems)
//!   the temporary file is named `.strongroom-<random>.tmp`, created with
//!   `O_EXCL` and mode 0600. It is removed on any error; only a kill can
//!   leave it, and such a leftover is safe to delete.
//!
//! Until [`AtomicFile::commit`] succeeds the destination is untouched.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Leftover temporary files start with this prefix ...
pub(crate) const TEMP_PREFIX: &str = ".strongroom-";
/// ... and end with this suffix.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// A file being written that will appear at `dest` only on commit.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    file: File,
    dest: PathBuf,
    overwrite: bool,
    temp: Temp,
}

/// Where the bytes are until commit.
#[derive(Debug)]
enum Temp {
    /// An `O_TMPFILE` file: no name at all.
    #[cfg(target_os = "linux")]
    Unnamed,
    /// A named temporary file, removed on drop.
    Named(PathBuf),
    /// Committed: nothing to clean up.
    Done,
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A fresh temporary name, e.g. `.strongroom-1f2e3d4c5b6a7988.tmp`.
fn temp_name() -> OsString {
    let r: [u8; 8] = crate::crypto::random::array();
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TEMP_PREFIX}{hex}{TEMP_SUFFIX}").into()
}

/// Refuses `path` if it is a symbolic link (dangling or not).
pub(crate) fn refuse_symlink(path: &Path) -> Result<()> {
    match path.symlink_metadata() {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::DestinationIsSymlink(path.to_path_buf())),
        _ => Ok(()),
    }
}

/// Checks a destination before any work: a plain file name, not a link,
/// and, if it exists, a regular file that may be replaced.
pub(crate) fn check_destination(dest: &Path, overwrite: bool) -> Result<()> {
    if dest.file_name().is_none() {
        return Err(Error::InvalidArgument(format!(
            "{} does not name a file",
            dest.display()
        )));
    }
    match dest.symlink_metadata() {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::DestinationIsSymlink(dest.to_path_buf())),
        Ok(meta) if !meta.is_file() => Err(Error::InvalidArgument(format!(
            "{} exists and is not a regular file",
            dest.display()
        ))),
        Ok(_) if !overwrite => Err(Error::AlreadyExists(dest.to_path_buf())),
        _ => Ok(()),
    }
}

fn in_dir_error(dir: &Path, e: io::Error) -> Error {
    Error::file("create a file in", dir)(e)
}

/// The error for a destination that appeared while we were writing.
fn exists_error(dest: &Path) -> Error {
    match refuse_symlink(dest) {
        Err(e) => e,
        Ok(()) => Error::AlreadyExists(dest.to_path_buf()),
    }
}

impl AtomicFile {
    /// Starts writing `dest`. Fails at once with [`Error::AlreadyExists`] if
    /// `dest` exists and `overwrite` is false, with
    /// [`Error::DestinationIsSymlink`] if it is a symbolic link, and with
    /// [`Error::InvalidArgument`] if it exists but is not a regular file.
    /// The temporary file has mode 0600 on Unix.
    pub(crate) fn create(dest: &Path, overwrite: bool) -> Result<Self> {
        check_destination(dest, overwrite)?;
        let dir = parent_dir(dest);
        #[cfg(target_os = "linux")]
        if let Some(file) = unnamed_in(dir)? {
            return Ok(Self {
                file,
                dest: dest.to_path_buf(),
                overwrite,
                temp: Temp::Unnamed,
            });
        }
        let (file, tmp) = named_in(dir)?;
        Ok(Self {
            file,
            dest: dest.to_path_buf(),
            overwrite,
            temp: Temp::Named(tmp),
        })
    }

    /// The temporary file to write to.
    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Sets the permission bits the final file will have.
    #[cfg(unix)]
    pub(crate) fn set_mode(&self, mode: u32) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    /// Flushes to disk and makes the file appear at the destination.
    /// Without `overwrite`, an existing destination (even one created
    /// meanwhile, a link included) is never replaced; with it, whatever is
    /// at the destination name is replaced, a link itself and not its target.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.file.sync_all().map_err(Error::file("write", &self.dest))?;
        let dir = parent_dir(&self.dest).to_path_buf();
        match std::mem::replace(&mut self.temp, Temp::Done) {
            #[cfg(target_os = "linux")]
            Temp::Unnamed => {
                if self.overwrite {
                    let tmp = self.link_unnamed_to_temp(&dir)?;
                    self.temp = Temp::Named(tmp.clone());
                    std::fs::rename(&tmp, &self.dest).map_err(Error::file("replace", &self.dest))?;
                    self.temp = Temp::Done;
                } else {
                    link_unnamed(&self.file, &self.dest).map_err(|e| match e.kind() {
                        io::ErrorKind::AlreadyExists => exists_error(&self.dest),
                        _ => Error::file("create", &self.dest)(e),
                    })?;
                }
            }
            Temp::Named(tmp) => {
                self.temp = Temp::Named(tmp.clone());
                if self.overwrite {
                    std::fs::rename(&tmp, &self.dest).map_err(Error::file("replace", &self.dest))?;
                } else {
                    // A hard link fails if anything (a link included) is there.
                    std::fs::hard_link(&tmp, &self.dest).map_err(|e| match e.kind() {
                        io::ErrorKind::AlreadyExists => exists_error(&self.dest),
                        _ => Error::file("create", &self.dest)(e),
                    })?;
                    let _ = std::fs::remove_file(&tmp);
                }
                self.temp = Temp::Done;
            }
            Temp::Done => {}
        }
        sync_dir(&dir)
    }

    /// Gives the unnamed file a fresh temporary name in `dir`.
    #[cfg(target_os = "linux")]
    fn link_unnamed_to_temp(&self, dir: &Path) -> Result<PathBuf> {
        loop {
            let tmp = dir.join(temp_name());
            match link_unnamed(&self.file, &tmp) {
                Ok(()) => return Ok(tmp),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(in_dir_error(dir, e)),
            }
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Temp::Named(tmp) = &self.temp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Creates a named temporary file in `dir` with `O_CREAT|O_EXCL` (which
/// never follows a link) and mode 0600.
fn named_in(dir: &Path) -> Result<(File, PathBuf)> {
    loop {
        let tmp = dir.join(temp_name());
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(in_dir_error(dir, e)),
        }
    }
}

/// Opens an unnamed `O_TMPFILE` file (mode 0600) in `dir`; `None` where the
/// kernel or the filesystem does not support it, or `/proc` (needed to link
/// it without privileges) is not mounted.
#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path) -> Result<Option<File>> {
    use rustix::fs::{CWD, Mode, OFlags, openat};
    use rustix::io::Errno;
    #[cfg(test)]
    if tests::named_only() {
        return Ok(None);
    }
    if !Path::new("/proc/self/fd").is_dir() {
        return Ok(None);
    }
    let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
    match openat(CWD, dir, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(e) if [Errno::OPNOTSUPP, Errno::ISDIR, Errno::INVAL, Errno::NOSYS].contains(&e) => Ok(None),
        Err(e) => Err(in_dir_error(dir, e.into())),
    }
}

/// Links the unnamed `file` at `to`; fails with `AlreadyExists` if anything
/// is there (`linkat` never follows a link at its new name).
#[cfg(target_os = "linux")]
fn link_unnamed(file: &File, to: &Path) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD, linkat};
    use std::os::fd::AsRawFd;
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    linkat(CWD, proc_path.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)?;
    Ok(())
}

/// The path a symbolic link finally points to (`path` itself if it is not
/// a link, or if the link cannot be resolved). Only for files that are
/// read, or replaced in place (never to create a file).
pub(crate) fn resolve_link(path: &Path) -> PathBuf {
    match path.symlink_metadata() {
        Ok(meta) if meta.file_type().is_symlink() => {
            path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
        }
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
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;
    use std::io::Write;

    thread_local! {
        static NAMED_ONLY: Cell<bool> = const { Cell::new(false) };
    }

    /// Whether this thread's tests force the named-temporary fallback.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn named_only() -> bool {
        NAMED_ONLY.with(|c| c.get())
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Runs `f` with the unnamed temporary file (where available), then
    /// with the named fallback.
    fn both(f: impl Fn(bool)) {
        for named in [false, true] {
            NAMED_ONLY.with(|c| c.set(named));
            f(named);
        }
        NAMED_ONLY.with(|c| c.set(false));
    }

    #[test]
    fn commit_and_drop() {
        both(|named| {
            let dir = tempfile::tempdir().unwrap();
            let dest = dir.path().join("out");
            let mut f = AtomicFile::create(&dest, false).unwrap();
            f.file().write_all(b"hello").unwrap();
            let during = entries(dir.path());
            if named || !cfg!(target_os = "linux") {
                assert_eq!(during.len(), 1, "only the temporary file");
                assert!(during[0].starts_with(TEMP_PREFIX) && during[0].ends_with(TEMP_SUFFIX));
            } else {
                assert!(
                    during.is_empty(),
                    "an unnamed temporary file has no name: {during:?}"
                );
            }
            assert!(!dest.exists());
            f.commit().unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
            // Dropping without commit leaves nothing behind.
            let mut g = AtomicFile::create(&dir.path().join("other"), false).unwrap();
            g.file().write_all(b"x").unwrap();
            drop(g);
            assert_eq!(entries(dir.path()), vec!["out".to_string()]);
            // Overwriting replaces the file and leaves no temporary name.
            let mut h = AtomicFile::create(&dest, true).unwrap();
            h.file().write_all(b"new").unwrap();
            h.commit().unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), b"new");
            assert_eq!(entries(dir.path()), vec!["out".to_string()]);
        });
    }

    #[test]
    fn refuses_links_and_non_files() {
        both(|_| {
            let dir = tempfile::tempdir().unwrap();
            let real = dir.path().join("real");
            std::fs::write(&real, b"old").unwrap();
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            let dangling = dir.path().join("dangling");
            std::os::unix::fs::symlink(dir.path().join("planted"), &dangling).unwrap();
            for overwrite in [false, true] {
                for l in [&link, &dangling] {
                    assert!(
                        matches!(AtomicFile::create(l, overwrite), Err(Error::DestinationIsSymlink(p)) if p == *l)
                    );
                }
            }
            assert_eq!(std::fs::read(&real).unwrap(), b"old");
            assert!(!dir.path().join("planted").exists());
            let sub = dir.path().join("sub");
            std::fs::create_dir(&sub).unwrap();
            assert!(
                matches!(AtomicFile::create(&sub, true), Err(Error::InvalidArgument(m)) if m.contains("not a regular file"))
            );
            let missing = dir.path().join("no/such/folder/out");
            assert!(
                matches!(AtomicFile::create(&missing, false), Err(e @ Error::File { .. }) if e.to_string().contains("no/such/folder"))
            );
        });
    }

    #[test]
    fn never_clobbers_and_never_follows_a_late_link() {
        both(|_| {
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
            // A dangling link planted after creation is not followed.
            let planted = dir.path().join("late-link");
            let mut g = AtomicFile::create(&planted, false).unwrap();
            g.file().write_all(b"secret").unwrap();
            std::os::unix::fs::symlink(dir.path().join("victim"), &planted).unwrap();
            assert!(matches!(g.commit(), Err(Error::DestinationIsSymlink(_))));
            assert!(!dir.path().join("victim").exists());
            // With overwrite, a late link is replaced itself, never followed.
            let swapped = dir.path().join("swapped");
            let mut h = AtomicFile::create(&swapped, true).unwrap();
            h.file().write_all(b"mine").unwrap();
            std::os::unix::fs::symlink(dir.path().join("victim"), &swapped).unwrap();
            h.commit().unwrap();
            assert!(!dir.path().join("victim").exists());
            assert!(swapped.symlink_metadata().unwrap().is_file());
            assert_eq!(entries(dir.path()), vec!["late", "late-link", "out", "swapped"]);
        });
    }
}
