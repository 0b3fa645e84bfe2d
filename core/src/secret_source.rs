//! [`SecretSource`]: the one rule for reading a secret (a keyring
//! passphrase, a recovery key, a database password) from an environment
//! variable, a file or a file descriptor. The command line, the database
//! tooling and the SQLite extension read their secrets through it, so a
//! secret written once reads the same everywhere.
//!
//! The rules:
//!
//! - at most [`SecretSource::MAX_LEN`] bytes, from every source (a longer
//!   "secret" is a mistake, such as a key file named instead of a
//!   passphrase file): [`Error::SecretTooLong`];
//! - valid UTF-8: [`Error::SecretNotUtf8`];
//! - from a file or a descriptor, exactly one trailing `\n` or `\r\n` is
//!   stripped (what `echo` and editors add), nothing else is trimmed; an
//!   environment variable is taken whole;
//! - an unset variable is [`Error::SecretMissing`]; a file that cannot be
//!   read is [`Error::Io`] with the file named and the OS error kind kept;
//! - every buffer that held the secret is wiped, including one refused;
//! - an environment variable is removed from the process environment after
//!   it was read, where that is safe: [`SecretSource::read_and_remove`].
//!
//! A program given no explicit source for the keyring passphrase finds it
//! where the environment says, by one rule
//! ([`SecretSource::keyring_passphrase_from_env`]): the file named by
//! `STRONGROOM_KEYRING_PASSPHRASE_FILE`, else the variable named by
//! `STRONGROOM_KEYRING_PASSPHRASE_ENV`, else
//! `STRONGROOM_KEYRING_PASSPHRASE`.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use zeroize::{Zeroize, Zeroizing};

/// The variable holding the keyring passphrase itself.
pub const ENV_KEYRING_PASSPHRASE: &str = "STRONGROOM_KEYRING_PASSPHRASE";
/// The variable naming a file that holds the keyring passphrase.
pub const ENV_KEYRING_PASSPHRASE_FILE: &str = "STRONGROOM_KEYRING_PASSPHRASE_FILE";
/// The variable naming the variable that holds the keyring passphrase.
pub const ENV_KEYRING_PASSPHRASE_ENV: &str = "STRONGROOM_KEYRING_PASSPHRASE_ENV";

/// Where a secret is read from. See the [module](self) for the rules every
/// source follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretSource {
    /// The environment variable of this name, taken whole.
    Env(String),
    /// A file, one trailing newline stripped.
    File(PathBuf),
    /// An open file descriptor (unix), read to its end, one trailing
    /// newline stripped.
    Fd(u32),
}

impl SecretSource {
    /// Largest secret accepted from any source, in bytes.
    pub const MAX_LEN: usize = 64 * 1024;

    /// Reads the secret now. An environment variable is left in the
    /// environment: see [`SecretSource::read_and_remove`].
    pub fn read(&self) -> Result<Zeroizing<String>> {
        match self {
            SecretSource::Env(name) => self.accept(env_bytes(name)?),
            SecretSource::File(path) => {
                let file = std::fs::File::open(path).map_err(|e| self.io_error(e))?;
                self.read_from(file)
            }
            SecretSource::Fd(n) => self.read_from(open_fd(*n).map_err(|e| self.io_error(e))?),
        }
    }

    /// Reads the secret, then removes an environment variable from the
    /// process environment, so that child processes and later readers of
    /// the environment do not see it.
    ///
    /// Removing a variable is `unsafe` in Rust: another thread reading the
    /// environment at the same moment (C's `getenv`) is undefined
    /// behaviour. The core forbids unsafe code, so the caller passes the
    /// removal itself (`|name| unsafe { std::env::remove_var(name) }`);
    /// this calls it only when that is safe: the process has one thread
    /// (this one, which therefore cannot race with another), counted in
    /// `/proc/self/task` on Linux. Elsewhere, or with more threads, the
    /// variable stays, and [`SecretSource::removal_is_safe`] says so to a
    /// caller that wants to tell its user. The variable is removed even
    /// when its value is refused (too long, not UTF-8): it was a secret.
    pub fn read_and_remove(&self, remove: impl FnOnce(&str)) -> Result<Zeroizing<String>> {
        let result = self.read();
        if let SecretSource::Env(name) = self
            && std::env::var_os(name).is_some()
            && Self::removal_is_safe()
        {
            remove(name);
        }
        result
    }

    /// Where the environment says the keyring passphrase is, for a program
    /// given no explicit source: the file named by
    /// [`ENV_KEYRING_PASSPHRASE_FILE`], else the variable named by
    /// [`ENV_KEYRING_PASSPHRASE_ENV`], else [`ENV_KEYRING_PASSPHRASE`]
    /// when it is set. The first of them that is set (and not empty)
    /// decides. `None`: the environment names no source.
    pub fn keyring_passphrase_from_env() -> Option<SecretSource> {
        Self::keyring_passphrase_from(|name| std::env::var_os(name))
    }

    /// [`SecretSource::keyring_passphrase_from_env`] with the variables
    /// looked up by `var` instead of in the process environment (for a
    /// caller that took its secret variables out of the environment at
    /// start-up: it answers for those from what it took).
    pub fn keyring_passphrase_from(var: impl Fn(&str) -> Option<OsString>) -> Option<SecretSource> {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        if let Some(path) = set(ENV_KEYRING_PASSPHRASE_FILE) {
            return Some(SecretSource::File(PathBuf::from(path)));
        }
        if let Some(name) = set(ENV_KEYRING_PASSPHRASE_ENV) {
            return Some(SecretSource::Env(name.to_string_lossy().into_owned()));
        }
        var(ENV_KEYRING_PASSPHRASE).map(|_| SecretSource::Env(ENV_KEYRING_PASSPHRASE.to_string()))
    }

    /// Whether removing an environment variable is safe now: the process
    /// has exactly one thread (Linux only; `false` elsewhere).
    pub fn removal_is_safe() -> bool {
        if !cfg!(target_os = "linux") {
            return false;
        }
        std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
    }

    /// Applies this source's rules to `raw`, the bytes already taken from
    /// it: for a caller that moves environment variables into memory at
    /// start-up (while it has one thread) and checks them when used. An
    /// environment variable that was not set is `None`:
    /// [`Error::SecretMissing`].
    pub fn accept(&self, raw: Option<Zeroizing<Vec<u8>>>) -> Result<Zeroizing<String>> {
        let Some(mut raw) = raw else {
            return Err(Error::SecretMissing {
                what: self.to_string(),
            });
        };
        if raw.len() > Self::MAX_LEN {
            return Err(Error::SecretTooLong {
                what: self.to_string(),
                max: Self::MAX_LEN,
            });
        }
        let text = match String::from_utf8(std::mem::take(&mut *raw)) {
            Ok(text) => Zeroizing::new(text),
            Err(e) => {
                e.into_bytes().zeroize();
                return Err(Error::SecretNotUtf8 {
                    what: self.to_string(),
                });
            }
        };
        Ok(match self {
            SecretSource::Env(_) => text,
            SecretSource::File(_) | SecretSource::Fd(_) => strip_one_newline(text),
        })
    }

    /// Reads the secret of a file or descriptor source from `reader`
    /// instead of opening it (standard input, a pipe, tests), with the
    /// same rules.
    pub fn read_from(&self, reader: impl Read) -> Result<Zeroizing<String>> {
        // One allocation of the largest size: no partly filled buffer is
        // reallocated (and freed unwiped) while reading.
        let mut bytes = Zeroizing::new(Vec::with_capacity(Self::MAX_LEN + 1));
        reader
            .take(Self::MAX_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io_error(e))?;
        self.accept(Some(bytes))
    }

    /// An I/O error that names this source, keeping the OS error kind
    /// (and so its row in the error table: `NotFound`, `PermissionDenied`).
    fn io_error(&self, e: std::io::Error) -> Error {
        match self {
            // The file is named, and the OS error (kind, errno) kept whole.
            SecretSource::File(path) => Error::file("read the secret in", path)(e),
            _ => Error::Io(std::io::Error::new(e.kind(), format!("cannot read {self}: {e}"))),
        }
    }
}

impl fmt::Display for SecretSource {
    /// "environment variable NAME", "file PATH" or "file descriptor N":
    /// never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "environment variable {name}"),
            SecretSource::File(path) => write!(f, "file {}", path.display()),
            SecretSource::Fd(n) => write!(f, "file descriptor {n}"),
        }
    }
}

/// The bytes of environment variable `name`, `None` when it is not set.
fn env_bytes(name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(Error::InvalidArgument(format!(
            "{name:?} cannot be the name of an environment variable"
        )));
    }
    Ok(std::env::var_os(name).map(|v| Zeroizing::new(os_bytes(v))))
}

#[cfg(unix)]
fn os_bytes(v: std::ffi::OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    v.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(v: std::ffi::OsString) -> Vec<u8> {
    // Not valid Unicode on Windows: bytes that are not UTF-8 either, so the
    // rules refuse it as such.
    v.into_string().map_or_else(|_| vec![0xff], String::into_bytes)
}

/// Opens file descriptor `n` without unsafe code, through `/dev/fd/N`.
fn open_fd(n: u32) -> std::io::Result<std::fs::File> {
    if cfg!(unix) {
        std::fs::File::open(format!("/dev/fd/{n}"))
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "file descriptors are supported on unix only",
        ))
    }
}

/// Removes exactly one trailing "\n" or "\r\n".
fn strip_one_newline(mut s: Zeroizing<String>) -> Zeroizing<String> {
    let cut = if s.ends_with("\r\n") {
        2
    } else if s.ends_with('\n') {
        1
    } else {
        0
    };
    let len = s.len() - cut;
    s.truncate(len);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn file() -> SecretSource {
        SecretSource::File(PathBuf::from("pass.txt"))
    }

    #[test]
    fn strips_exactly_one_newline_from_files_and_descriptors() {
        for (input, want) in [
            ("pass\n", "pass"),
            ("pass\r\n", "pass"),
            ("pass\n\n", "pass\n"),
            ("pass\r\n\r\n", "pass\r\n"),
            ("pass\r", "pass\r"),
            ("pass", "pass"),
            (" pass \n", " pass "),
            ("\n", ""),
            ("", ""),
        ] {
            for source in [file(), SecretSource::Fd(3)] {
                let got = source.read_from(input.as_bytes()).unwrap();
                assert_eq!(got.as_str(), want, "{source}: {input:?}");
            }
        }
    }

    #[test]
    fn takes_environment_values_whole() {
        let env = SecretSource::Env("X".into());
        let got = env.accept(Some(Zeroizing::new(b"pass\n".to_vec()))).unwrap();
        assert_eq!(got.as_str(), "pass\n");
    }

    #[test]
    fn refuses_missing_long_and_non_utf8_with_their_own_errors() {
        let env = SecretSource::Env("SR_TEST_UNSET".into());
        let e = env.accept(None).unwrap_err();
        assert!(matches!(&e, Error::SecretMissing { what } if what == "environment variable SR_TEST_UNSET"));
        assert_eq!((e.code(), e.kind()), (230, ErrorKind::Usage));

        let exactly = vec![b'a'; SecretSource::MAX_LEN];
        assert_eq!(
            file().read_from(&exactly[..]).unwrap().len(),
            SecretSource::MAX_LEN
        );
        let e = file()
            .read_from(&vec![b'a'; SecretSource::MAX_LEN + 1][..])
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::SecretTooLong {
                    max: SecretSource::MAX_LEN,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.code(), 231);
        let e = env
            .accept(Some(Zeroizing::new(vec![b'a'; SecretSource::MAX_LEN + 1])))
            .unwrap_err();
        assert!(matches!(e, Error::SecretTooLong { .. }), "{e:?}");

        let e = file().read_from(&[0x70, 0xff, 0xfe][..]).unwrap_err();
        assert!(
            matches!(&e, Error::SecretNotUtf8 { what } if what == "file pass.txt"),
            "{e:?}"
        );
        assert_eq!(e.code(), 232);
    }

    #[test]
    fn a_missing_file_is_not_found_and_names_the_file() {
        let dir = std::env::temp_dir().join("strongroom-no-such-dir-for-secret-source");
        let e = SecretSource::File(dir.join("pass")).read().unwrap_err();
        assert_eq!(e.name(), "NotFound");
        assert!(
            e.to_string().contains("strongroom-no-such-dir-for-secret-source"),
            "{e}"
        );
    }

    #[test]
    fn refuses_names_that_cannot_be_variables() {
        for name in ["", "A=B", "A\0B"] {
            let e = SecretSource::Env(name.into()).read().unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        }
    }

    #[test]
    fn never_removes_a_variable_while_other_threads_run() {
        // The test harness runs tests on threads of their own: more than one.
        let other = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        assert!(!SecretSource::removal_is_safe());
        let mut called = false;
        let path = SecretSource::Env("PATH".into()).read_and_remove(|_| called = true);
        assert!(path.is_ok() && !called);
        other.join().unwrap();
    }

    #[test]
    fn the_keyring_passphrase_rule_of_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        assert_eq!(SecretSource::keyring_passphrase_from(env(&[])), None);
        assert_eq!(
            SecretSource::keyring_passphrase_from(env(&[(ENV_KEYRING_PASSPHRASE, "x")])),
            Some(SecretSource::Env(ENV_KEYRING_PASSPHRASE.into()))
        );
        assert_eq!(
            SecretSource::keyring_passphrase_from(env(&[
                (ENV_KEYRING_PASSPHRASE, "x"),
                (ENV_KEYRING_PASSPHRASE_ENV, "APP_PASS")
            ])),
            Some(SecretSource::Env("APP_PASS".into()))
        );
        assert_eq!(
            SecretSource::keyring_passphrase_from(env(&[
                (ENV_KEYRING_PASSPHRASE_FILE, "/run/secrets/pass"),
                (ENV_KEYRING_PASSPHRASE_ENV, "APP_PASS"),
            ])),
            Some(SecretSource::File("/run/secrets/pass".into()))
        );
        // An empty name is no name.
        assert_eq!(
            SecretSource::keyring_passphrase_from(env(&[(ENV_KEYRING_PASSPHRASE_FILE, "")])),
            None
        );
    }

    #[test]
    fn describes_the_source_never_the_secret() {
        assert_eq!(SecretSource::Fd(7).to_string(), "file descriptor 7");
        assert_eq!(file().to_string(), "file pass.txt");
    }
}
