//! The one error type of the strongroom core.
//!
//! Every variant names a specific, actionable condition; none carries secret
//! material. [`Error::kind`] groups variants into the stable classes that the
//! command line maps to exit codes and the C API to status numbers.

use std::path::PathBuf;

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Broad class of an error, stable across releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Operating-system I/O failure.
    Io,
    /// The input is not well-formed (bad magic, malformed header, truncation,
    /// Argon2id parameters beyond the caps).
    Format,
    /// Authentication failed: the data was modified or belongs elsewhere.
    Integrity,
    /// No usable key: wrong passphrase, wrong keyring, unknown or retired version.
    Key,
    /// A request was refused as invalid (bad arguments, wrong value type).
    Usage,
    /// A file or keyring already exists, or is locked by another process.
    Conflict,
    /// The caller cancelled the operation.
    Cancelled,
}

/// Everything that can go wrong in the strongroom core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// I/O failure from the operating system.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    // ---- format ----
    /// The data does not start with the expected magic bytes.
    #[error("not a strongroom {what} (bad magic bytes)")]
    BadMagic {
        /// "encrypted file" or "keyring".
        what: &'static str,
    },
    /// The format version is not one this build understands.
    #[error("unsupported {what} format version {version}")]
    UnsupportedVersion {
        /// "encrypted file" or "keyring".
        what: &'static str,
        /// The version byte found.
        version: u8,
    },
    /// The cipher suite byte is unknown.
    #[error("unsupported cipher suite {0}")]
    UnsupportedSuite(u8),
    /// A header or keyring field is malformed; the string names the field.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// "file header", "keyring", "stanza" ...
        what: &'static str,
        /// Which field and why.
        detail: String,
    },
    /// The input ended before the format said it would (header, chunk,
    /// or the mandatory short final chunk is missing).
    #[error("truncated input: {0}")]
    Truncated(&'static str),
    /// Bytes follow the end of the encrypted payload.
    #[error("trailing data after the final chunk")]
    TrailingData,

    // ---- integrity ----
    /// The header MAC does not verify: the header was modified.
    #[error("header authentication failed (the file header was modified)")]
    HeaderMacMismatch,
    /// The payload key commitment does not match: wrong key, wrong context
    /// or a modified salt/commitment.
    #[error("payload key commitment mismatch (wrong key or modified file start)")]
    CommitmentMismatch,
    /// A chunk failed authentication (modified, reordered, truncated chunk).
    #[error("chunk {index} failed authentication (modified, reordered or truncated data)")]
    ChunkAuthFailed {
        /// Zero-based chunk index.
        index: u64,
    },
    /// A wrapped key failed to unwrap although its protector matched,
    /// which means the stanza itself was modified.
    #[error("the wrapped key in a {protector} stanza failed authentication (stanza modified)")]
    StanzaAuthFailed {
        /// "keyring" or "passphrase".
        protector: &'static str,
    },
    /// The keyring file failed authentication (modified or corrupted).
    #[error("keyring authentication failed (the keyring file was modified or corrupted)")]
    KeyringCorrupt,

    // ---- keys ----
    /// None of the offered identities can open any stanza of the file.
    #[error("no matching key: this file is for {wanted}, and none of the offered keys fits")]
    NoMatchingKey {
        /// Human summary of the file's protectors (no secrets).
        wanted: String,
    },
    /// The passphrase is wrong.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The recovery key is wrong (it is well-formed but opens nothing).
    #[error("wrong recovery key")]
    WrongRecoveryKey,
    /// The recovery key text is mistyped (bad characters, length or checksum).
    #[error("invalid recovery key: {0}")]
    InvalidRecoveryKey(&'static str),
    /// The keyring has no such key version.
    #[error("key version {0} does not exist in this keyring")]
    UnknownKeyVersion(u32),
    /// The key version exists but may not be used for this operation.
    #[error("key version {version} is {status} and cannot be used to {operation}")]
    KeyVersionUnusable {
        /// The version number.
        version: u32,
        /// Its status ("disabled", "destroyed", "decrypt-only").
        status: &'static str,
        /// "encrypt" or "decrypt".
        operation: &'static str,
    },
    /// The file was encrypted to a different keyring.
    #[error("this file belongs to another keyring")]
    WrongKeyring,

    // ---- fields ----
    /// A field token failed authentication: it belongs to another table,
    /// column or row (or another keyring), or it was modified.
    #[error("field token failed authentication (another table, column or row, or a modified token)")]
    FieldAuthFailed,
    /// A field value has another type than the column's.
    #[error("field type mismatch: the column holds {expected} values, found {found}")]
    FieldType {
        /// The column's type name ("text", "int", ...).
        expected: &'static str,
        /// The type name of the value or token.
        found: &'static str,
    },
    /// A token of a mode (suite) the column does not accept: a
    /// deterministic token in a random column or the reverse, outside a
    /// migration window the column declares (`ColumnSpec::accept_mode`).
    #[error("the column accepts {accepted} tokens only, found a {found} token")]
    ModeNotAccepted {
        /// The modes the column accepts ("random", "deterministic", or both).
        accepted: &'static str,
        /// The mode of the token ("random" or "deterministic").
        found: &'static str,
    },
    /// The reader binds the token to a row key, but the token carries no
    /// row binding (a deterministic token), and the column declares no
    /// migration window that allows it.
    #[error(
        "the token carries no row binding, but a row key was given (it could have been moved from any row)"
    )]
    RowBindingMissing,
    /// A rewrap into deterministic mode would drop the row binding of a
    /// row-bound token; refused unless the caller asks for it.
    #[error(
        "rewrapping into deterministic mode would drop the token's row binding; refused unless explicitly allowed"
    )]
    RowBindingWouldDrop,

    // ---- usage ----
    /// Argon2id parameters outside the documented bounds, refused before any
    /// work. Classed as [`ErrorKind::Format`]: found in a file or keyring,
    /// they mean a crafted or damaged input.
    #[error("Argon2id parameters refused: {0}")]
    KdfParams(String),
    /// An argument is invalid; the string says which and why.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A value's text form does not parse as its type (see
    /// [`Value::parse`](crate::field::Value::parse)), or a value has no
    /// text form. The input is never quoted: it may be secret.
    #[error("not a valid {value_type} value: {reason}")]
    InvalidValue {
        /// The type name ("date", "int", ...).
        value_type: &'static str,
        /// What is wrong, e.g. "expected YYYY-MM-DD".
        reason: &'static str,
    },
    /// The message would exceed the format's maximum length.
    #[error("message too long for the format")]
    MessageTooLong,

    // ---- conflicts ----
    /// The destination exists and will not be overwritten.
    #[error("{} already exists; refusing to overwrite it", .0.display())]
    AlreadyExists(PathBuf),
    /// Another process holds the keyring lock.
    #[error("keyring {} is locked by another process", .0.display())]
    Locked(PathBuf),

    /// The operation was cancelled by the caller.
    #[error("operation cancelled")]
    Cancelled,

    // ---- batches ----
    /// Item `index` (zero-based) of a batch call failed with `source`;
    /// nothing of the batch was returned. [`Error::kind`] is the kind of
    /// `source`.
    #[error("batch item {index}: {source}")]
    Batch {
        /// Zero-based position of the failing item in the call's input.
        index: usize,
        /// What went wrong with that item.
        source: Box<Error>,
    },
}

impl Error {
    /// The stable class of this error.
    pub fn kind(&self) -> ErrorKind {
        use Error::*;
        match self {
            Io(_) => ErrorKind::Io,
            KdfParams(_)
            | BadMagic { .. }
            | UnsupportedVersion { .. }
            | UnsupportedSuite(_)
            | Malformed { .. }
            | Truncated(_)
            | TrailingData => ErrorKind::Format,
            HeaderMacMismatch
            | CommitmentMismatch
            | ChunkAuthFailed { .. }
            | StanzaAuthFailed { .. }
            | KeyringCorrupt
            | FieldAuthFailed
            | ModeNotAccepted { .. }
            | RowBindingMissing => ErrorKind::Integrity,
            NoMatchingKey { .. }
            | WrongPassphrase
            | WrongRecoveryKey
            | InvalidRecoveryKey(_)
            | UnknownKeyVersion(_)
            | KeyVersionUnusable { .. }
            | WrongKeyring => ErrorKind::Key,
            InvalidArgument(_) | InvalidValue { .. } | MessageTooLong | FieldType { .. } => ErrorKind::Usage,
            RowBindingWouldDrop => ErrorKind::Usage,
            AlreadyExists(_) | Locked(_) => ErrorKind::Conflict,
            Cancelled => ErrorKind::Cancelled,
            Batch { source, .. } => source.kind(),
        }
    }

    /// The error of one batch item, wrapped with its position.
    pub(crate) fn at(index: usize, source: Error) -> Self {
        Error::Batch {
            index,
            source: Box::new(source),
        }
    }

    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            detail: detail.into(),
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(io) => io,
            other => {
                let kind = match other.kind() {
                    ErrorKind::Format | ErrorKind::Integrity => std::io::ErrorKind::InvalidData,
                    // Not `Interrupted`: readers and writers retry on that.
                    _ => std::io::ErrorKind::Other,
                };
                std::io::Error::new(kind, other)
            }
        }
    }
}

/// Recovers a strongroom [`Error`] that travelled through `std::io::Error`
/// (from a `Read`/`Write` implementation), or wraps a plain I/O error.
pub fn from_io(e: std::io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        let inner = e.into_inner().expect("checked above");
        *inner.downcast::<Error>().expect("checked above")
    } else {
        Error::Io(e)
    }
}
