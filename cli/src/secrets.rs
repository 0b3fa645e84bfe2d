//! Where secrets come from: environment variables, files, file
//! descriptors, or a terminal prompt without echo. Never the command line.
//!
//! Reading from a variable, a file or a descriptor follows the core's one
//! rule, [`strongroom::SecretSource`] (size cap, UTF-8, exactly one
//! trailing `\n` or `\r\n` stripped from files and descriptors, buffers
//! wiped). Secret environment variables were moved into memory and out of
//! the environment at start-up ([`crate::hardening`]); they are checked by
//! the core's rule when used. Secrets are held only in [`Zeroizing`]
//! strings and [`Passphrase`]s.

use crate::args::{NewPassphraseSourceArgs, OtherSecretsArgs, PassphraseSourceArgs, UnlockArgs};
use crate::exit::{usage, usage_hint};
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::path::Path;
use strongroom::keyring::{RecoveryKey, Unlock};
use strongroom::{Passphrase, SecretSource};
use zeroize::Zeroizing;

/// Default environment variable of the keyring passphrase.
pub const ENV_KEYRING_PASSPHRASE: &str = strongroom::secret_source::ENV_KEYRING_PASSPHRASE;
/// Default environment variable of a file passphrase.
pub const ENV_PASSPHRASE: &str = "STRONGROOM_PASSPHRASE";
/// Default environment variable of a passphrase being added.
pub const ENV_NEW_PASSPHRASE: &str = "STRONGROOM_NEW_PASSPHRASE";
/// Default environment variable of the database password (`strongroom db`).
pub const ENV_DB_PASSWORD: &str = "STRONGROOM_DB_PASSWORD";

/// One place a secret can be read from: the core's type.
type Source = SecretSource;

/// Whether a secret being read is new (asked twice, never empty) or
/// existing (asked once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Existing,
    New,
}

/// Picks the one configured source among `options` (flag name, source);
/// more than one is a usage error.
fn single(options: Vec<(&str, Option<Source>)>) -> Result<Option<Source>> {
    let given: Vec<_> = options
        .into_iter()
        .filter_map(|(name, s)| s.map(|s| (name, s)))
        .collect();
    match given.len() {
        0 => Ok(None),
        1 => Ok(given.into_iter().next().map(|(_, s)| s)),
        _ => {
            let names: Vec<_> = given.iter().map(|(n, _)| format!("--{n}")).collect();
            Err(usage(format!("give only one of {}", names.join(", "))))
        }
    }
}

/// Reads a whole (small) secret from `reader` with the rules of a file
/// (`what` names it in messages): a thin wrapper of
/// [`SecretSource::read_from`].
#[cfg(test)]
fn read_secret(reader: impl std::io::Read, what: &str) -> Result<Zeroizing<String>> {
    Ok(Source::File(std::path::PathBuf::from(what)).read_from(reader)?)
}

/// Reads `source` by the core's rule; an environment variable is the value
/// taken out of the environment at start-up.
fn read_source(source: &Source) -> Result<Zeroizing<String>> {
    Ok(match source {
        Source::Env(var) => {
            let raw = crate::hardening::with_env_secret(var, |taken| taken.cloned());
            source.accept(raw)?
        }
        other => other.read()?,
    })
}

/// The database password of `strongroom db`: from `--db-password-file`,
/// else the variable named by `--db-password-env`, else
/// `STRONGROOM_DB_PASSWORD` when it was set (each by the core's rule; the
/// variables were removed from the environment at start-up). `None` when
/// no source holds one.
pub fn db_password(file: Option<&Path>, env: Option<&str>) -> Result<Option<Zeroizing<String>>> {
    if file.is_some() && env.is_some() {
        return Err(usage("give only one of --db-password-file, --db-password-env"));
    }
    if let Some(path) = file {
        return read_source(&Source::File(path.to_path_buf()))
            .map(Some)
            .context("cannot read the database password");
    }
    if let Some(var) = env {
        return read_source(&Source::Env(var.to_string())).map(Some);
    }
    if crate::hardening::with_env_secret(ENV_DB_PASSWORD, |taken| taken.is_some()) {
        return read_source(&Source::Env(ENV_DB_PASSWORD.to_string())).map(Some);
    }
    Ok(None)
}

/// Whether a person can be asked on a terminal: standard input or standard
/// error is a terminal, and the controlling terminal can be opened.
pub fn terminal_available() -> bool {
    let interactive = std::io::stdin().is_terminal() || std::io::stderr().is_terminal();
    if !interactive {
        return false;
    }
    if cfg!(unix) {
        std::fs::File::open("/dev/tty").is_ok()
    } else {
        true
    }
}

fn prompt_once(prompt: &str) -> Result<Zeroizing<String>> {
    let s = rpassword::prompt_password(prompt).context("cannot read from the terminal")?;
    Ok(Zeroizing::new(s))
}

/// Asks on the terminal; for a new secret, twice and never empty.
fn prompt(prompt: &str, purpose: Purpose) -> Result<Zeroizing<String>> {
    if purpose == Purpose::Existing {
        return prompt_once(&format!("{prompt}: "));
    }
    for _ in 0..3 {
        let first = prompt_once(&format!("{prompt}: "))?;
        if first.is_empty() {
            eprintln!("strongroom: the passphrase must not be empty");
            continue;
        }
        let second = prompt_once("Repeat it: ")?;
        if *first == *second {
            return Ok(first);
        }
        eprintln!("strongroom: the two entries differ; try again");
    }
    Err(usage("no passphrase confirmed after three attempts"))
}

/// The default variable `name` as a source, when it was set at start-up.
fn env_default(name: &str) -> Option<Source> {
    crate::hardening::with_env_secret(name, |taken| taken.is_some()).then(|| Source::Env(name.to_string()))
}

/// The source the environment names for the keyring passphrase, by the
/// core's rule ([`SecretSource::keyring_passphrase_from`]); the secret
/// variables were taken out of the environment at start-up, so those are
/// looked up in what was taken.
fn keyring_passphrase_from_env() -> Option<Source> {
    Source::keyring_passphrase_from(|name| {
        if crate::hardening::with_env_secret(name, |taken| taken.is_some()) {
            Some(std::ffi::OsString::from("set"))
        } else {
            std::env::var_os(name)
        }
    })
}

/// Gets a secret from the chosen source, else the environment's source
/// (`from_env`), else the terminal.
fn obtain(
    source: Option<Source>,
    from_env: Option<Source>,
    default_env: &str,
    prompt_text: &str,
    purpose: Purpose,
    options_hint: &str,
) -> Result<Zeroizing<String>> {
    let secret = if let Some(source) = source {
        read_source(&source)?
    } else if let Some(source) = from_env {
        read_source(&source)?
    } else if terminal_available() {
        prompt(prompt_text, purpose)?
    } else {
        return Err(usage_hint(
            format!("{prompt_text}: no source was given and there is no terminal to ask on"),
            format!("use {options_hint}, or set {default_env}"),
        ));
    };
    if purpose == Purpose::New && secret.is_empty() {
        return Err(usage("the passphrase must not be empty"));
    }
    Ok(secret)
}

fn passphrase(secret: Zeroizing<String>) -> Passphrase {
    let mut secret = secret;
    Passphrase::new(std::mem::take(&mut *secret))
}

impl UnlockArgs {
    fn passphrase_source(&self) -> Result<Option<Source>> {
        single(vec![
            (
                "keyring-passphrase-env",
                self.keyring_passphrase_env.clone().map(Source::Env),
            ),
            (
                "keyring-passphrase-file",
                self.keyring_passphrase_file.clone().map(Source::File),
            ),
            (
                "keyring-passphrase-fd",
                self.keyring_passphrase_fd.map(Source::Fd),
            ),
        ])
    }

    fn recovery_source(&self) -> Option<Source> {
        self.recovery_key_file
            .clone()
            .map(Source::File)
            .or_else(|| self.recovery_key_env.clone().map(Source::Env))
    }

    fn check_exclusive(&self) -> Result<()> {
        let count = [
            self.keyring_passphrase_env.is_some(),
            self.keyring_passphrase_file.is_some(),
            self.keyring_passphrase_fd.is_some(),
            self.recovery_key_file.is_some(),
            self.recovery_key_env.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if count > 1 {
            return Err(usage(
                "give only one keyring secret source (--keyring-passphrase-env/-file/-fd, --recovery-key-file/-env)",
            ));
        }
        Ok(())
    }

    /// Whether any source of this group reads standard input.
    pub fn uses_stdin(&self) -> bool {
        self.keyring_passphrase_fd == Some(0)
    }

    /// The secret that unlocks the keyring at `path`.
    pub fn unlock(&self, path: &Path) -> Result<Unlock> {
        self.check_exclusive()?;
        if let Some(source) = self.recovery_source() {
            let text = read_source(&source)?;
            return Ok(Unlock::RecoveryKey(RecoveryKey::parse(&text)?));
        }
        let secret = obtain(
            self.passphrase_source()?,
            keyring_passphrase_from_env(),
            ENV_KEYRING_PASSPHRASE,
            &format!("Passphrase of keyring {}", path.display()),
            Purpose::Existing,
            "--keyring-passphrase-env VAR, --keyring-passphrase-file PATH, --keyring-passphrase-fd N \
             or --recovery-key-file PATH",
        )?;
        Ok(Unlock::Passphrase(passphrase(secret)))
    }

    /// The passphrase of a keyring being created.
    pub fn new_keyring_passphrase(&self, path: &Path) -> Result<Passphrase> {
        self.check_exclusive()?;
        if self.recovery_source().is_some() {
            return Err(usage_hint(
                "a new keyring is protected by a passphrase, not a recovery key",
                "create the keyring first, then run `strongroom keyring recovery-key`",
            ));
        }
        let secret = obtain(
            self.passphrase_source()?,
            keyring_passphrase_from_env(),
            ENV_KEYRING_PASSPHRASE,
            &format!("New passphrase for keyring {}", path.display()),
            Purpose::New,
            "--keyring-passphrase-env VAR, --keyring-passphrase-file PATH or --keyring-passphrase-fd N",
        )?;
        Ok(passphrase(secret))
    }
}

impl PassphraseSourceArgs {
    fn source(&self) -> Result<Option<Source>> {
        single(vec![
            ("passphrase-env", self.passphrase_env.clone().map(Source::Env)),
            ("passphrase-file", self.passphrase_file.clone().map(Source::File)),
            ("passphrase-fd", self.passphrase_fd.map(Source::Fd)),
        ])
    }

    /// Whether a source was named explicitly (which implies --passphrase).
    pub fn any(&self) -> bool {
        self.passphrase_env.is_some() || self.passphrase_file.is_some() || self.passphrase_fd.is_some()
    }

    /// Whether any source of this group reads standard input.
    pub fn uses_stdin(&self) -> bool {
        self.passphrase_fd == Some(0)
    }

    /// A passphrase to encrypt to (asked twice on a terminal, never empty).
    pub fn new_passphrase(&self) -> Result<Passphrase> {
        self.get(Purpose::New, "New passphrase for the file")
    }

    /// A passphrase that should open an existing file.
    pub fn existing_passphrase(&self, what: &str) -> Result<Passphrase> {
        self.get(Purpose::Existing, what)
    }

    fn get(&self, purpose: Purpose, prompt_text: &str) -> Result<Passphrase> {
        let secret = obtain(
            self.source()?,
            env_default(ENV_PASSPHRASE),
            ENV_PASSPHRASE,
            prompt_text,
            purpose,
            "--passphrase-env VAR, --passphrase-file PATH or --passphrase-fd N",
        )?;
        Ok(passphrase(secret))
    }
}

impl NewPassphraseSourceArgs {
    /// Whether any source of this group reads standard input.
    pub fn uses_stdin(&self) -> bool {
        self.new_passphrase_fd == Some(0)
    }

    /// The passphrase being added (asked twice on a terminal, never empty).
    pub fn get(&self, prompt_text: &str) -> Result<Passphrase> {
        let source = single(vec![
            (
                "new-passphrase-env",
                self.new_passphrase_env.clone().map(Source::Env),
            ),
            (
                "new-passphrase-file",
                self.new_passphrase_file.clone().map(Source::File),
            ),
            ("new-passphrase-fd", self.new_passphrase_fd.map(Source::Fd)),
        ])?;
        let secret = obtain(
            source,
            env_default(ENV_NEW_PASSPHRASE),
            ENV_NEW_PASSPHRASE,
            prompt_text,
            Purpose::New,
            "--new-passphrase-env VAR, --new-passphrase-file PATH or --new-passphrase-fd N",
        )?;
        Ok(passphrase(secret))
    }
}

impl OtherSecretsArgs {
    /// Whether any source was given (then nothing is asked on the terminal).
    pub fn any(&self) -> bool {
        !(self.other_passphrase_env.is_empty()
            && self.other_passphrase_file.is_empty()
            && self.other_recovery_key_env.is_empty()
            && self.other_recovery_key_file.is_empty())
    }

    /// The secrets from the given sources: passphrases first, then
    /// recovery keys, each in the order given.
    pub fn secrets(&self) -> Result<Vec<Unlock>> {
        let mut out = Vec::new();
        let passphrases = self
            .other_passphrase_env
            .iter()
            .map(|v| Source::Env(v.clone()))
            .chain(self.other_passphrase_file.iter().map(|p| Source::File(p.clone())));
        for source in passphrases {
            let secret = read_source(&source)?;
            if secret.is_empty() {
                return Err(usage(format!("the passphrase in {} is empty", source)));
            }
            out.push(Unlock::Passphrase(passphrase(secret)));
        }
        let keys = self
            .other_recovery_key_env
            .iter()
            .map(|v| Source::Env(v.clone()))
            .chain(
                self.other_recovery_key_file
                    .iter()
                    .map(|p| Source::File(p.clone())),
            );
        for source in keys {
            let text = read_source(&source)?;
            out.push(Unlock::RecoveryKey(RecoveryKey::parse(&text)?));
        }
        Ok(out)
    }
}

/// Asks on the terminal for the secret of one protector (`what` describes
/// it); an empty answer skips it (`None`).
pub fn ask_protector_secret(what: &str, recovery_key: bool) -> Result<Option<Unlock>> {
    let answer = prompt_once(&format!("{what} (empty to skip): "))?;
    if answer.is_empty() {
        return Ok(None);
    }
    Ok(Some(if recovery_key {
        Unlock::RecoveryKey(RecoveryKey::parse(&answer)?)
    } else {
        Unlock::Passphrase(passphrase(answer))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_exactly_one_newline() {
        for (input, want) in [
            ("pass\n", "pass"),
            ("pass\r\n", "pass"),
            ("pass\n\n", "pass\n"),
            ("pass", "pass"),
            (" pass \n", " pass "),
            ("\n", ""),
        ] {
            let got = read_secret(input.as_bytes(), "test").unwrap();
            assert_eq!(got.as_str(), want, "{input:?}");
        }
    }

    #[test]
    fn refuses_non_utf8_and_huge() {
        let e = read_secret(&[0xff, 0xfe][..], "test").unwrap_err();
        assert!(matches!(
            e.downcast_ref(),
            Some(strongroom::Error::SecretNotUtf8 { .. })
        ));
        let big = vec![b'a'; SecretSource::MAX_LEN + 1];
        let e = read_secret(&big[..], "test").unwrap_err();
        assert!(matches!(
            e.downcast_ref(),
            Some(strongroom::Error::SecretTooLong { .. })
        ));
    }
}
