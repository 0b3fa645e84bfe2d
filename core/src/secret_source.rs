//! Reading a secret (a passphrase or a recovery key) from where a program
//! is told it is: an environment variable, a file or an open file
//! descriptor. One rule for every front end, so a secret that opens a
//! keyring with one of them opens it with the others:
//!
//! - at most [`MAX_SECRET_LEN`] bytes, valid UTF-8;
//! - exactly one trailing `\n` or `\r\n` removed from files and
//!   descriptors (what `echo` and editors add), nothing else trimmed;
//! - an environment variable is taken as it is;
//! - every buffer that held the secret is wiped.
//!
//! Errors never contain the secret: [`Error::InvalidArgument`] for an
//! unset variable, a secret that is too long or not UTF-8;
//! [`Error::File`] for a file or descriptor that cannot be read.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The largest secret read from a file or a descriptor (64 KiB).
pub const MAX_SECRET_LEN: usize = 64 * 1024;

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSource {
    /// The environment variable of this name.
    Env(String),
    /// The file at this path (`/run/secrets/...`, a mounted secret).
    File(PathBuf),
    /// The open file descriptor of this number (Unix), read to its end.
    Fd(u32),
}

impl SecretSource {
    /// Where it comes from, for messages ("environment variable X").
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(name) => format!("environment variable {name}"),
            SecretSource::File(path) => format!("file {}", path.display()),
            SecretSource::Fd(n) => format!("file descriptor {n}"),
        }
    }

    /// Reads the secret (see the module documentation for the rules).
    pub fn read(&self) -> Result<Zeroizing<String>> {
        match self {
            SecretSource::Env(name) => {
                let value = std::env::var_os(name).ok_or_else(|| {
                    Error::InvalidArgument(format!("the environment variable {name} is not set"))
                })?;
                let value = Zeroizing::new(value.into_encoded_bytes());
                text(value, self)
            }
            SecretSource::File(path) => {
                let file = std::fs::File::open(path).map_err(Error::file("open", path))?;
                read_capped(file, path, self)
            }
            SecretSource::Fd(n) => {
                if !cfg!(unix) {
                    return Err(Error::InvalidArgument(
                        "reading a secret from a file descriptor needs a Unix system".into(),
                    ));
                }
                // Through /dev/fd: no unsafe code to adopt the descriptor.
                let path = PathBuf::from(format!("/dev/fd/{n}"));
                let file = std::fs::File::open(&path).map_err(Error::file("open", &path))?;
                read_capped(file, &path, self)
            }
        }
    }
}

/// Reads at most [`MAX_SECRET_LEN`] + 1 bytes into one allocation (never
/// regrown, so no unwiped copy is left behind), then checks and strips.
fn read_capped(reader: impl Read, path: &Path, source: &SecretSource) -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET_LEN + 1));
    reader
        .take(MAX_SECRET_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::file("read", path))?;
    if bytes.len() > MAX_SECRET_LEN {
        return Err(Error::InvalidArgument(format!(
            "the secret in {} is longer than {MAX_SECRET_LEN} bytes",
            source.describe()
        )));
    }
    let mut secret = text(bytes, source)?;
    strip_one_newline(&mut secret);
    Ok(secret)
}

/// The bytes as UTF-8 text, the bytes wiped either way.
fn text(mut bytes: Zeroizing<Vec<u8>>, source: &SecretSource) -> Result<Zeroizing<String>> {
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(Error::InvalidArgument(format!(
                "the secret in {} is not valid UTF-8",
                source.describe()
            )))
        }
    }
}

/// Removes exactly one trailing `\n` or `\r\n`.
fn strip_one_newline(s: &mut Zeroizing<String>) {
    let cut = if s.ends_with("\r\n") {
        2
    } else if s.ends_with('\n') {
        1
    } else {
        0
    };
    let len = s.len() - cut;
    s.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(bytes: &[u8]) -> Result<Zeroizing<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, bytes).unwrap();
        SecretSource::File(path).read()
    }

    #[test]
    fn exactly_one_trailing_line_ending_is_removed() {
        assert_eq!(from_file(b"pass\n").unwrap().as_str(), "pass");
        assert_eq!(from_file(b"pass\r\n").unwrap().as_str(), "pass");
        assert_eq!(from_file(b"pass\n\n").unwrap().as_str(), "pass\n");
        assert_eq!(from_file(b" pass ").unwrap().as_str(), " pass ");
        assert_eq!(from_file(b"").unwrap().as_str(), "");
    }

    #[test]
    fn too_long_and_non_utf8_secrets_are_refused_without_quoting_them() {
        let long = vec![b'a'; MAX_SECRET_LEN + 1];
        assert!(matches!(from_file(&long), Err(Error::InvalidArgument(m)) if m.contains("longer")));
        assert_eq!(from_file(&long[..MAX_SECRET_LEN]).unwrap().len(), MAX_SECRET_LEN);
        let err = from_file(b"s3cret\xff").unwrap_err();
        assert!(matches!(&err, Error::InvalidArgument(m) if m.contains("UTF-8") && !m.contains("s3cret")));
    }

    #[test]
    fn a_missing_file_names_it_and_an_unset_variable_says_so() {
        let err = SecretSource::File(PathBuf::from("/no/such/secret"))
            .read()
            .unwrap_err();
        assert!(matches!(&err, Error::File { path, .. } if path == Path::new("/no/such/secret")));
        assert_eq!(err.name(), "NotFound");
        let err = SecretSource::Env("STRONGROOM_TEST_SURELY_UNSET_VAR".into())
            .read()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(m) if m.contains("STRONGROOM_TEST_SURELY_UNSET_VAR")));
    }

    #[cfg(unix)]
    #[test]
    fn a_descriptor_is_read_to_its_end() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fd-secret");
        std::fs::write(&path, b"from a descriptor\n").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let n = u32::try_from(file.as_raw_fd()).unwrap();
        assert_eq!(SecretSource::Fd(n).read().unwrap().as_str(), "from a descriptor");
    }
}
