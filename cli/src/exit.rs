//! Exit codes: one per class of error, derived from the core's
//! [`strongroom::ErrorKind`] found anywhere in an error's chain.

use std::fmt;

/// The exit-code table, shown at the end of `strongroom --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  internal or unexpected error
  2  usage: bad arguments, missing secret source, refused parameters, a value not of its type
  3  I/O: a file could not be read or written
  4  format: not a strongroom file, malformed, truncated, unsupported version
  5  integrity: authentication failed, the data was modified
  6  key: wrong passphrase or recovery key, no matching key, unusable key version, wrong keyring
  7  conflict: the output or keyring already exists, or the keyring (or a file
     being rewrapped) is locked or was changed by another process
  8  cancelled (Ctrl-C)

Environment:
  STRONGROOM_KEYRING             keyring path (same as --keyring)
  STRONGROOM_KEYRING_PASSPHRASE_FILE  a file holding the keyring passphrase, when no option names a source
  STRONGROOM_KEYRING_PASSPHRASE_ENV   the variable holding it (next in line)
  STRONGROOM_KEYRING_PASSPHRASE  keyring passphrase when no other source is given
  STRONGROOM_PASSPHRASE          file passphrase when no other source is given
  STRONGROOM_NEW_PASSPHRASE      passphrase being added when no other source is given
  STRONGROOM_DB_PASSWORD         database password of `strongroom db` when no other source is given
  STRONGROOM_STATE_DIR           folder of the record of keyrings seen [default: $XDG_STATE_HOME/strongroom
                                 or ~/.local/state/strongroom]
  STRONGROOM_NO_SEEN_RECORD      set to 1 for --no-seen-record
  Secret variables are read once and removed from the environment at start-up.";

/// A class of outcome with a stable exit code: the core's error class,
/// whose number ([`strongroom::ErrorKind::number`]) is the exit code and
/// whose name is the `kind` of JSON errors.
pub type Class = strongroom::ErrorKind;

/// A usage error raised by the command line itself (exit code 2), with an
/// optional hint.
#[derive(Debug)]
pub struct UsageError {
    message: String,
    hint: Option<String>,
}

impl UsageError {
    /// A usage error without a hint.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    /// A usage error with a one-line hint.
    pub fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand: an `anyhow` usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError::new(message).into()
}

/// Shorthand: an `anyhow` usage error with a hint.
pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    UsageError::with_hint(message, hint).into()
}

/// The strongroom error in an `io::Error`, if it carries one.
fn core_in_io(e: &std::io::Error) -> Option<&strongroom::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<strongroom::Error>())
}

/// What the command line reports about a failure.
#[derive(Debug)]
pub struct Classified {
    /// The class (exit code).
    pub class: Class,
    /// A one-line hint, if one helps.
    pub hint: Option<String>,
    /// The core error's row in the error table, when the failure is one.
    pub ident: Option<&'static strongroom::error::ErrorCode>,
}

/// The class of `err`, its row in the error table and a one-line hint.
pub fn classify(err: &anyhow::Error) -> Classified {
    let found = |class, hint, ident| Classified { class, hint, ident };
    for cause in err.chain() {
        if let Some(u) = cause.downcast_ref::<UsageError>() {
            return found(Class::Usage, u.hint.clone(), None);
        }
        if let Some(d) = cause.downcast_ref::<strongroom_db::Error>() {
            return found(d.kind(), d.hint().map(str::to_string), None);
        }
        let core = cause
            .downcast_ref::<strongroom::Error>()
            .or_else(|| cause.downcast_ref::<std::io::Error>().and_then(core_in_io));
        if let Some(core) = core {
            return found(core.kind(), hint_for(core), Some(core.ident()));
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let ident = strongroom::Error::Io(std::io::Error::from(io.kind())).ident();
            return found(Class::Io, None, Some(ident));
        }
    }
    found(Class::Internal, None, None)
}

fn hint_for(e: &strongroom::Error) -> Option<String> {
    use strongroom::Error as E;
    let hint = match e {
        E::WrongPassphrase => {
            "check the passphrase and its source (exactly one trailing newline is stripped from files and descriptors)"
                .to_string()
        }
        E::WrongRecoveryKey => "this recovery key belongs to another keyring, or was replaced".to_string(),
        E::InvalidRecoveryKey(_) => "check for a mistyped group; the key looks like SRRK-XXXXX-XXXXX-...".to_string(),
        E::AlreadyExists(p) if p.extension().is_some_and(|x| x == "srk") => {
            "a keyring already exists there; pick another path with --keyring".to_string()
        }
        E::AlreadyExists(_) => "use --force to replace it".to_string(),
        E::Locked(_) => "another strongroom process is changing it; run the command again".to_string(),
        E::NoMatchingKey { .. } => {
            "run `strongroom inspect FILE` to see who can open it; use --keyring or --passphrase".to_string()
        }
        E::WrongKeyring => "select the keyring the file was encrypted to with --keyring".to_string(),
        E::KeyVersionUnusable { version, status: "disabled", .. } => {
            format!("re-enable it with `strongroom keyring enable {version}`")
        }
        E::UnknownKeyVersion(_) => "run `strongroom keyring list` to see the versions".to_string(),
        E::HeaderMacMismatch | E::CommitmentMismatch | E::ChunkAuthFailed { .. } | E::StanzaAuthFailed { .. } => {
            "the file was modified or corrupted; restore it from a copy".to_string()
        }
        E::KeyringCorrupt => "the keyring file was modified or corrupted; restore it from a backup".to_string(),
        E::KeyringNeedsUpgrade { .. } => {
            "run `strongroom keyring upgrade` (it asks for every protector's secret; --remove ID for one you cannot give); decrypting works meanwhile".to_string()
        }
        E::KeyringRolledBack { .. } => {
            "a copy older than the keyring this machine saw last was put in its place: restore the newest copy (if you restored an old backup on purpose, see `strongroom keyring` in docs/CLI.md about the record of keyrings seen)".to_string()
        }
        E::KeyringDowngraded { .. } => {
            "this keyring was seen in format 3 on this machine; an older-format file with its id may be a forgery: restore the format-3 file".to_string()
        }
        E::UnknownProtectorKind { .. } => {
            "a newer version of strongroom added that protector; change the keyring with that version".to_string()
        }
        E::BadMagic { what: "encrypted file" } => "this is not a strongroom encrypted file".to_string(),
        E::FieldAuthFailed => {
            "a token decrypts only with the table, column and row key (--row/--rows) it was encrypted with, and the same keyring".to_string()
        }
        E::FieldType { .. } => "give the column's type with --type".to_string(),
        E::InvalidValue { .. } => {
            "docs/CLI.md (field) lists the text form of each type; dates and timestamps need years 0001 to 9999".to_string()
        }
        E::Malformed { what: "field token" | "field token text", .. } | E::Truncated("field token") => {
            "give one token per line: sr1.… text, or hex of the binary form".to_string()
        }
        E::Truncated(_) => "the file is incomplete (interrupted copy or download?)".to_string(),
        E::KdfBudgetExceeded {
            memory_kib,
            iterations,
            spent_work,
            ..
        } => {
            // The smallest --max-kdf-memory whose budget (that memory per
            // run, six passes over it in all) covers this stanza too.
            let passes = u64::from(strongroom::passphrase::KdfBudget::DEFAULT.max_passes);
            let work = spent_work + u64::from(*memory_kib) * u64::from(*iterations);
            let mib = u64::from(*memory_kib).max(work.div_ceil(passes)).div_ceil(1024);
            let cap = u64::from(strongroom::passphrase::KdfParams::MAX_MEMORY_KIB / 1024);
            let opt_in = if mib <= cap {
                format!("--max-kdf-memory {mib} (or --allow-expensive-kdf)")
            } else {
                "--allow-expensive-kdf".to_string()
            };
            format!(
                "whoever can write a file or keyring chooses its Argon2id cost; if this one is yours, allow it with {opt_in}"
            )
        }
        E::KdfParams(_) => {
            "the file or keyring asks for Argon2id work beyond the documented caps (docs/SPEC.md); it is damaged or crafted".to_string()
        }
        _ => return None,
    };
    Some(hint)
}
