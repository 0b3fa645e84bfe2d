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
  7  conflict: the output or keyring already exists, or the keyring is locked
  8  cancelled (Ctrl-C)

Environment:
  STRONGROOM_KEYRING             keyring path (same as --keyring)
  STRONGROOM_KEYRING_PASSPHRASE  keyring passphrase when no other source is given
  STRONGROOM_PASSPHRASE          file passphrase when no other source is given
  STRONGROOM_NEW_PASSPHRASE      passphrase being added when no other source is given";

/// A class of outcome with a stable exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Internal or unexpected error (1).
    Internal,
    /// Bad usage (2).
    Usage,
    /// Operating-system I/O failure (3).
    Io,
    /// Malformed, truncated, foreign or unsupported input (4).
    Format,
    /// Authentication failure: modified data (5).
    Integrity,
    /// No usable key (6).
    Key,
    /// Something already exists or is locked (7).
    Conflict,
    /// Cancelled by the user (8).
    Cancelled,
}

impl Class {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Class::Internal => 1,
            Class::Usage => 2,
            Class::Io => 3,
            Class::Format => 4,
            Class::Integrity => 5,
            Class::Key => 6,
            Class::Conflict => 7,
            Class::Cancelled => 8,
        }
    }

    /// The stable name used in JSON errors.
    pub fn name(self) -> &'static str {
        match self {
            Class::Internal => "internal",
            Class::Usage => "usage",
            Class::Io => "io",
            Class::Format => "format",
            Class::Integrity => "integrity",
            Class::Key => "key",
            Class::Conflict => "conflict",
            Class::Cancelled => "cancelled",
        }
    }

    fn from_kind(kind: strongroom::ErrorKind) -> Self {
        use strongroom::ErrorKind as K;
        match kind {
            K::Io => Class::Io,
            K::Format => Class::Format,
            K::Integrity => Class::Integrity,
            K::Key => Class::Key,
            K::Usage => Class::Usage,
            K::Conflict => Class::Conflict,
            K::Cancelled => Class::Cancelled,
            _ => Class::Internal,
        }
    }
}

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

/// The class of `err` and a one-line hint, if one helps.
pub fn classify(err: &anyhow::Error) -> (Class, Option<String>) {
    for cause in err.chain() {
        if let Some(u) = cause.downcast_ref::<UsageError>() {
            return (Class::Usage, u.hint.clone());
        }
        let core = cause
            .downcast_ref::<strongroom::Error>()
            .or_else(|| cause.downcast_ref::<std::io::Error>().and_then(core_in_io));
        if let Some(core) = core {
            return (Class::from_kind(core.kind()), hint_for(core));
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return (Class::Io, None);
        }
    }
    (Class::Internal, None)
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
        E::Locked(_) => "another strongroom process is changing the keyring; try again".to_string(),
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
        E::KdfParams(_) => {
            "the file or keyring asks for Argon2id work beyond the documented caps (docs/SPEC.md); it is damaged or crafted".to_string()
        }
        _ => return None,
    };
    Some(hint)
}
