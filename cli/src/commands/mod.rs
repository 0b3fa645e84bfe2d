//! The commands, one module each, and what they share: the keyring path,
//! Argon2id options, atomic output files and the copy loop of pipes.

pub mod db;
pub mod decrypt;
pub mod demo;
pub mod encrypt;
pub mod field;
pub mod inspect;
pub mod keyring;
pub mod rewrap;

use crate::args::{Cli, Command, GlobalArgs, KdfArgs, UnlockArgs};
use crate::cancel::CancelGuard;
use crate::exit::{usage, usage_hint};
use crate::output::Output;
use anyhow::{Context, Result};
use indicatif::ProgressBar;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use strongroom::file::{FileInfo, StanzaInfo};
use strongroom::keyring::{KeyStatus, Keyring, KeyringOptions, SeenRecord};
use strongroom::passphrase::{KdfBudget, KdfParams};

/// Runs the parsed command line.
pub fn run(cli: &Cli, out: &Output) -> Result<()> {
    let ctx = Ctx {
        out,
        keyring: cli.global.keyring.clone(),
        seen_record: !cli.global.no_seen_record,
        kdf_budget: kdf_budget(&cli.global)?,
    };
    match &cli.command {
        Command::Keyring(cmd) => keyring::run(&ctx, cmd),
        Command::Encrypt(a) => encrypt::run(&ctx, a),
        Command::Decrypt(a) => decrypt::run(&ctx, a),
        Command::Rewrap(a) => rewrap::run(&ctx, a),
        Command::Inspect(a) => inspect::run(&ctx, a),
        Command::Demo(a) => demo::run(&ctx, a),
        Command::Field(cmd) => field::run(&ctx, cmd),
        Command::Db(cmd) => db::run(&ctx, cmd),
    }
}

/// What every command may need.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Where results go.
    pub out: &'a Output,
    keyring: Option<PathBuf>,
    /// Whether keyrings are checked against and added to the record of
    /// keyrings seen (on unless `--no-seen-record`).
    seen_record: bool,
    /// The Argon2id work each passphrase attempt may spend on a file's or
    /// keyring's stanzas (`--max-kdf-memory`, `--allow-expensive-kdf`).
    pub kdf_budget: KdfBudget,
}

/// The Argon2id budget from the global options: the library's default,
/// `--allow-expensive-kdf` (up to the format's caps) or `--max-kdf-memory`
/// (that much per run, and six passes over it per command, as the default
/// allows six passes over its 1 GiB).
fn kdf_budget(g: &GlobalArgs) -> Result<KdfBudget> {
    if g.allow_expensive_kdf {
        return Ok(KdfBudget::UNLIMITED);
    }
    let Some(mib) = g.max_kdf_memory else {
        return Ok(KdfBudget::DEFAULT);
    };
    let max = KdfParams::MAX_MEMORY_KIB / 1024;
    if !(1..=max).contains(&mib) {
        return Err(usage(format!(
            "--max-kdf-memory {mib} is outside 1..={max} MiB (the format's cap; --allow-expensive-kdf allows everything up to it)"
        )));
    }
    Ok(KdfBudget {
        max_memory_kib: mib * 1024,
        ..KdfBudget::DEFAULT
    })
}

/// The default keyring path: `$XDG_CONFIG_HOME/strongroom/keyring.srk`,
/// else `~/.config/strongroom/keyring.srk` (`%APPDATA%` on Windows).
pub fn default_keyring_path() -> Option<PathBuf> {
    let non_empty = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty()).map(PathBuf::from);
    let base = non_empty("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| non_empty("HOME").map(|h| h.join(".config")))
        .or_else(|| non_empty("APPDATA"))?;
    Some(base.join("strongroom").join("keyring.srk"))
}

impl Ctx<'_> {
    /// The configured keyring path.
    pub fn keyring_path(&self) -> Result<PathBuf> {
        match &self.keyring {
            Some(p) => Ok(p.clone()),
            None => default_keyring_path().ok_or_else(|| {
                usage_hint(
                    "cannot find the default keyring location (no XDG_CONFIG_HOME or HOME)",
                    "give the keyring path with --keyring PATH or STRONGROOM_KEYRING",
                )
            }),
        }
    }

    /// The keyring path if a keyring exists there.
    pub fn existing_keyring(&self) -> Result<Option<PathBuf>> {
        let path = self.keyring_path()?;
        Ok(path.exists().then_some(path))
    }

    /// How keyrings are opened and created: with the record of keyrings
    /// seen at its default location, unless `--no-seen-record`.
    pub fn keyring_options(&self) -> Result<KeyringOptions> {
        if !self.seen_record {
            return Ok(KeyringOptions::new().kdf_budget(self.kdf_budget));
        }
        let record = SeenRecord::at_default_location().map_err(|e| {
            usage_hint(
                e.to_string(),
                "set STRONGROOM_STATE_DIR to a folder for the record of keyrings seen, or give --no-seen-record",
            )
        })?;
        Ok(KeyringOptions::new()
            .seen_record(record)
            .kdf_budget(self.kdf_budget))
    }

    /// Unlocks the configured keyring, which must exist.
    pub fn open_keyring(&self, unlock: &UnlockArgs) -> Result<Keyring> {
        let path = self.keyring_path()?;
        if !path.exists() {
            return Err(usage_hint(
                format!("no keyring at {}", path.display()),
                "create one with `strongroom keyring init`, or select one with --keyring PATH",
            ));
        }
        let options = self.keyring_options()?;
        let secret = unlock.unlock(&path)?;
        Keyring::open_with(&path, &secret, &options)
            .with_context(|| format!("cannot unlock keyring {}", path.display()))
    }
}

/// Argon2id parameters from the options, checked against the library's
/// bounds before any secret is asked for.
pub fn kdf_params(a: &KdfArgs) -> Result<KdfParams> {
    let memory_kib = a.argon2_memory_mib.checked_mul(1024).ok_or_else(|| {
        usage(format!(
            "--argon2-memory-mib {} is too large",
            a.argon2_memory_mib
        ))
    })?;
    let params = KdfParams {
        memory_kib,
        iterations: a.argon2_time,
        parallelism: a.argon2_lanes,
    };
    params.validate().map_err(|e| usage(e.to_string()))?;
    Ok(params)
}

/// `-` (standard input or output) or a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Standard input or output.
    Std,
    /// A file.
    Path(PathBuf),
}

impl Place {
    /// Interprets `-` as [`Place::Std`].
    pub fn from(p: &Path) -> Place {
        if p.as_os_str() == "-" {
            Place::Std
        } else {
            Place::Path(p.to_path_buf())
        }
    }

    /// For messages and JSON.
    pub fn display(&self, std_name: &str) -> String {
        match self {
            Place::Std => std_name.to_string(),
            Place::Path(p) => p.display().to_string(),
        }
    }

    /// The JSON value: the path, or null for standard input/output.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Place::Std => serde_json::Value::Null,
            Place::Path(p) => serde_json::Value::String(p.display().to_string()),
        }
    }
}

/// Fails with the core's "already exists" error (exit code 7) if `dest`
/// exists and `force` is off; checked before asking for any secret.
pub fn refuse_existing(dest: &Path, force: bool) -> Result<()> {
    if !force && dest.symlink_metadata().is_ok() {
        return Err(strongroom::Error::AlreadyExists(dest.to_path_buf()).into());
    }
    Ok(())
}

/// Copies `reader` to `writer` until the end, checking for cancellation
/// between blocks. Errors that carry a core error (authentication, format)
/// come out as that error. Returns the number of bytes copied.
pub fn copy_loop(
    mut reader: impl Read,
    mut writer: impl Write,
    cancel: &CancelGuard,
    bar: Option<&ProgressBar>,
) -> Result<u64, strongroom::Error> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        cancel.check()?;
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(strongroom::error::from_io(e)),
        };
        writer.write_all(&buf[..n]).map_err(strongroom::error::from_io)?;
        total += n as u64;
        if let Some(bar) = bar {
            bar.set_position(total);
        }
    }
    writer.flush().map_err(strongroom::error::from_io)?;
    Ok(total)
}

/// Whether `kr` holds a usable (primary or decrypt-only) key for one of the
/// file's keyring stanzas.
pub fn keyring_opens(kr: &Keyring, info: &FileInfo) -> bool {
    let versions = kr.versions();
    info.stanzas.iter().any(|s| match s {
        StanzaInfo::Keyring {
            keyring_id,
            key_version,
        } => {
            *keyring_id == kr.id()
                && versions.iter().any(|v| {
                    v.version == *key_version
                        && matches!(v.status, KeyStatus::Primary | KeyStatus::DecryptOnly)
                })
        }
        _ => false,
    })
}

/// Whether the file has a keyring stanza.
pub fn has_keyring_stanza(info: &FileInfo) -> bool {
    info.stanzas
        .iter()
        .any(|s| matches!(s, StanzaInfo::Keyring { .. }))
}

/// Whether the file has a stanza for the keyring at `path`, read from the
/// keyring's public header without unlocking it.
pub fn has_stanza_for_keyring(info: &FileInfo, path: &Path) -> Result<bool> {
    let id = Keyring::peek_id(path)?;
    Ok(info
        .stanzas
        .iter()
        .any(|s| matches!(s, StanzaInfo::Keyring { keyring_id, .. } if *keyring_id == id)))
}

/// Whether the file has a passphrase stanza.
pub fn has_passphrase_stanza(info: &FileInfo) -> bool {
    info.stanzas
        .iter()
        .any(|s| matches!(s, StanzaInfo::Passphrase { .. }))
}

/// A progress callback for the core's whole-file functions.
pub fn progress_fn(bar: &ProgressBar) -> impl Fn(u64, u64) + Sync + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}
