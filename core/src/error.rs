//! The one error type of the strongroom core.
//!
//! Every variant names a specific, actionable condition; none carries secret
//! material. Each variant has a stable identity in one table ([`TABLE`],
//! docs/ERRORS.md): a number ([`Error::code`]), a name ([`Error::name`]) and
//! a class ([`Error::kind`]). The command line's exit codes, the testkit
//! manifest, the C status codes and the Python exceptions all derive from it.

use std::path::{Path, PathBuf};

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Broad class of an error, stable across releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bug: a panic caught at a language-binding boundary, or a failure
    /// that fits no other class. The core never returns it.
    Internal,
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
    /// I/O failure from the operating system, on a stream (a pipe, a
    /// caller's reader or writer) rather than a named file.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// I/O failure on a named file or folder: what was being done, the path
    /// and the operating system's error. It has the numbers of
    /// [`Error::Io`] (`NotFound`, `PermissionDenied` or `Io`, by the I/O
    /// error's kind), and bindings report the path and the OS error number
    /// (Python: an `OSError` with `filename` and `errno`).
    #[error("cannot {action} {}: {source}", .path.display())]
    File {
        /// What failed: "open", "read", "write", "create a file in" ...
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

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
    /// The keyring holds a protector of a kind this build does not know (a
    /// newer release added it). The keyring opens with the protectors this
    /// build knows, but it refuses to change the keyring: it could not
    /// check that kind's rules, nor keep it working.
    #[error(
        "protector {id} of this keyring is of kind {kind}, which this version of strongroom does not know: \
         the keyring opens with its other protectors, but only a version that knows the kind may change it"
    )]
    UnknownProtectorKind {
        /// The protector's id.
        id: u32,
        /// Its kind byte.
        kind: u8,
    },

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
    /// The keyring file is older than a state of the same keyring seen
    /// before (by this handle, or in the record of keyrings seen): an old
    /// copy was put back, or the file was replaced.
    #[error(
        "keyring rolled back: this file is generation {found}, but generation {seen} of the same keyring \
         was seen before (an old copy was put back, or the file was replaced)"
    )]
    KeyringRolledBack {
        /// The highest generation seen before.
        seen: u64,
        /// The generation of the file.
        found: u64,
    },
    /// The keyring file is in an older format than a state of the same
    /// keyring seen before: older formats cannot prove who wrote them, so
    /// such a file may be a forgery.
    #[error(
        "keyring downgraded: this keyring was seen in format {seen}, and this file is in the older format \
         {found}, which anyone who can write the file can forge"
    )]
    KeyringDowngraded {
        /// The format seen before.
        seen: u8,
        /// The format of the file.
        found: u8,
    },

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
    /// A passphrase stanza of the file or keyring asks for more Argon2id
    /// work than the call's [`KdfBudget`](crate::passphrase::KdfBudget)
    /// allows, so it was not tried (no other stanza opened). The header
    /// may be hostile; if it is trusted, the caller opts in to a larger
    /// budget. Classed as [`ErrorKind::Usage`]: the input is within the
    /// format, and the caller's policy refused it.
    #[error(
        "a passphrase stanza asks for Argon2id with {} MiB and {iterations} passes, beyond this call's budget \
         ({} MiB per run, {} MiB-passes in all, {} spent), so it was not tried; if you trust this file or \
         keyring, allow a larger budget (KdfBudget; kdf_budget= in Python; strongroom_kdf_budget in C; \
         --max-kdf-memory or --allow-expensive-kdf on the command line)",
        .memory_kib / 1024, .max_memory_kib / 1024, .max_work / 1024, .spent_work / 1024
    )]
    KdfBudgetExceeded {
        /// Memory the stanza asks for, in KiB.
        memory_kib: u32,
        /// Passes the stanza asks for.
        iterations: u32,
        /// Work this call had already spent, in KiB-passes.
        spent_work: u64,
        /// The budget's memory per run, in KiB.
        max_memory_kib: u32,
        /// The budget's total work, in KiB-passes.
        max_work: u64,
    },
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
    /// A file would carry more stanzas than the format allows (all
    /// recipients, or passphrase stanzas); refused before any Argon2id run.
    #[error("a file takes at most {max} {what}, and this would make {count}")]
    TooManyRecipients {
        /// "recipients" or "passphrases".
        what: &'static str,
        /// How many there would be (at least).
        count: usize,
        /// The format's limit.
        max: usize,
    },
    /// A secret source (environment variable, file, descriptor) holds no
    /// secret: the environment variable is not set. See
    /// [`SecretSource`](crate::SecretSource).
    #[error("no secret in {what}: it is not set")]
    SecretMissing {
        /// The source, e.g. "environment variable STRONGROOM_DB_PASSWORD".
        what: String,
    },
    /// A secret is longer than [`SecretSource::MAX_LEN`](crate::SecretSource::MAX_LEN)
    /// bytes: most likely the wrong file.
    #[error("the secret in {what} is longer than {max} bytes")]
    SecretTooLong {
        /// The source.
        what: String,
        /// The limit in bytes.
        max: usize,
    },
    /// A secret is not valid UTF-8.
    #[error("the secret in {what} is not valid UTF-8")]
    SecretNotUtf8 {
        /// The source.
        what: String,
    },

    // ---- conflicts ----
    /// The destination exists and will not be overwritten.
    #[error("{} already exists; refusing to overwrite it", .0.display())]
    AlreadyExists(PathBuf),
    /// The destination (or a keyring's lock file) is a symbolic link, which
    /// is never followed to create a file, dangling or not, even when
    /// overwriting is allowed.
    #[error("{} is a symbolic link; refusing to create a file through it (remove the link or name its target)", .0.display())]
    DestinationIsSymlink(PathBuf),
    /// Another process holds the lock of a keyring, or of a file being
    /// rewrapped or rekeyed in place; or it changed that file after the
    /// caller read the header it planned on. Nothing was changed.
    #[error("{} is locked by another process, or was changed by one meanwhile; nothing was changed", .0.display())]
    Locked(PathBuf),
    /// Upgrading a keyring to the current format needs the secret of every
    /// protector it keeps, and these protectors' secrets were not given.
    /// Nothing was changed.
    #[error(
        "protector(s) {} cannot be carried into keyring format 3 without their own secret: give each \
         one's passphrase or recovery key to the upgrade, or remove them in it; nothing was changed",
        join_ids(.0)
    )]
    ProtectorsNeedUpgrade(Vec<u32>),
    /// The keyring is in an older format (1 or 2), which anyone who can
    /// write the file can forge: encrypting with it and changing it are
    /// refused until it is upgraded ([`Keyring::upgrade`](crate::keyring::Keyring::upgrade)).
    /// Decrypting goes on.
    #[error(
        "keyring format {format} cannot prove who wrote it: {operation} is refused until the keyring is \
         upgraded to format 3 (`strongroom keyring upgrade`); decrypting still works"
    )]
    KeyringNeedsUpgrade {
        /// The format of the keyring (1 or 2).
        format: u8,
        /// What was refused: "encrypting with it" or "changing it".
        operation: &'static str,
    },

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
    /// The stable identity of this error: its number, name and class in the
    /// error table ([`TABLE`], docs/ERRORS.md).
    pub fn ident(&self) -> &'static ErrorCode {
        use Error::*;
        use codes as c;
        match self {
            Io(e) | File { source: e, .. } => match e.kind() {
                std::io::ErrorKind::NotFound => &c::NOT_FOUND,
                std::io::ErrorKind::PermissionDenied => &c::PERMISSION_DENIED,
                _ => &c::IO,
            },
            BadMagic { .. } => &c::BAD_MAGIC,
            UnsupportedVersion { .. } => &c::UNSUPPORTED_VERSION,
            UnsupportedSuite(_) => &c::UNSUPPORTED_SUITE,
            Malformed { .. } => &c::MALFORMED,
            Truncated(_) => &c::TRUNCATED,
            TrailingData => &c::TRAILING_DATA,
            UnknownProtectorKind { .. } => &c::UNKNOWN_PROTECTOR_KIND,
            KdfParams(_) => &c::KDF_PARAMS,
            KdfBudgetExceeded { .. } => &c::KDF_BUDGET_EXCEEDED,
            HeaderMacMismatch => &c::HEADER_MAC_MISMATCH,
            CommitmentMismatch => &c::COMMITMENT_MISMATCH,
            ChunkAuthFailed { .. } => &c::CHUNK_AUTH_FAILED,
            StanzaAuthFailed { .. } => &c::STANZA_AUTH_FAILED,
            KeyringCorrupt => &c::KEYRING_CORRUPT,
            KeyringRolledBack { .. } => &c::KEYRING_ROLLED_BACK,
            KeyringDowngraded { .. } => &c::KEYRING_DOWNGRADED,
            FieldAuthFailed => &c::FIELD_AUTH_FAILED,
            ModeNotAccepted { .. } => &c::MODE_NOT_ACCEPTED,
            RowBindingMissing => &c::ROW_BINDING_MISSING,
            RowBindingWouldDrop => &c::ROW_BINDING_WOULD_DROP,
            // A batch item's error keeps its own identity; the index is
            // the extra information.
            Batch { source, .. } => source.ident(),
            NoMatchingKey { .. } => &c::NO_MATCHING_KEY,
            WrongPassphrase => &c::WRONG_PASSPHRASE,
            WrongRecoveryKey => &c::WRONG_RECOVERY_KEY,
            InvalidRecoveryKey(_) => &c::INVALID_RECOVERY_KEY,
            UnknownKeyVersion(_) => &c::UNKNOWN_KEY_VERSION,
            KeyVersionUnusable { .. } => &c::KEY_VERSION_UNUSABLE,
            WrongKeyring => &c::WRONG_KEYRING,
            InvalidArgument(_) => &c::INVALID_ARGUMENT,
            InvalidValue { .. } => &c::INVALID_VALUE,
            MessageTooLong => &c::MESSAGE_TOO_LONG,
            FieldType { .. } => &c::FIELD_TYPE,
            TooManyRecipients { .. } => &c::TOO_MANY_RECIPIENTS,
            SecretMissing { .. } => &c::SECRET_MISSING,
            SecretTooLong { .. } => &c::SECRET_TOO_LONG,
            SecretNotUtf8 { .. } => &c::SECRET_NOT_UTF8,
            AlreadyExists(_) => &c::ALREADY_EXISTS,
            Locked(_) => &c::LOCKED,
            ProtectorsNeedUpgrade(_) => &c::PROTECTORS_NEED_UPGRADE,
            KeyringNeedsUpgrade { .. } => &c::KEYRING_NEEDS_UPGRADE,
            DestinationIsSymlink(_) => &c::DESTINATION_IS_SYMLINK,
            Cancelled => &c::CANCELLED,
        }
    }

    /// The stable class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.ident().kind
    }

    /// The stable number of this error (see [`ErrorCode::code`]).
    pub fn code(&self) -> u32 {
        self.ident().code
    }

    /// The stable name of this error, e.g. `"ChunkAuthFailed"`.
    pub fn name(&self) -> &'static str {
        self.ident().name
    }

    /// A `map_err` adapter naming the file of an I/O failure:
    /// `File::open(p).map_err(Error::file("open", p))`.
    pub fn file<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
        move |source| Error::File {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// This error with `path` named if it is a pathless [`Error::Io`]
    /// (other errors are returned unchanged): for the result of a step
    /// that works on one file.
    pub fn on_file(self, action: &'static str, path: &Path) -> Error {
        match self {
            Error::Io(source) => Error::file(action, path)(source),
            other => other,
        }
    }

    /// The operating system's error and, for [`Error::File`], the path:
    /// what a binding needs to raise its platform's I/O exception.
    pub fn os_error(&self) -> Option<(&std::io::Error, Option<&Path>)> {
        match self {
            Error::Io(e) => Some((e, None)),
            Error::File { path, source, .. } => Some((source, Some(path))),
            Error::Batch { source, .. } => source.os_error(),
            _ => None,
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

impl ErrorKind {
    /// Every class, in the order of their numbers.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Internal,
        ErrorKind::Usage,
        ErrorKind::Io,
        ErrorKind::Format,
        ErrorKind::Integrity,
        ErrorKind::Key,
        ErrorKind::Conflict,
        ErrorKind::Cancelled,
    ];

    /// The stable number of the class, from 1 to 8. It is the command
    /// line's exit code for errors of the class, and the hundreds digit of
    /// every [`ErrorCode::code`] in it.
    pub fn number(self) -> u8 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Io => 3,
            ErrorKind::Format => 4,
            ErrorKind::Integrity => 5,
            ErrorKind::Key => 6,
            ErrorKind::Conflict => 7,
            ErrorKind::Cancelled => 8,
        }
    }

    /// The stable lower-case name of the class, e.g. `"integrity"`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Internal => "internal",
            ErrorKind::Usage => "usage",
            ErrorKind::Io => "io",
            ErrorKind::Format => "format",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Key => "key",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

/// One row of the error table: a stable number, a stable name, its class
/// and a one-line description without any data.
///
/// Numbers are `100 * class number + n`; a number never changes meaning
/// and is never reused, and new errors get new numbers. The C status
/// codes are these numbers (0 is success), the Python exception classes
/// follow the classes, and the command line's exit code is the class
/// number.
#[derive(Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ErrorCode {
    /// The stable number, e.g. 503.
    pub code: u32,
    /// The stable name, e.g. `"ChunkAuthFailed"`.
    pub name: &'static str,
    /// The class.
    pub kind: ErrorKind,
    /// A static one-line description.
    pub summary: &'static str,
    /// Whether only the language bindings (C, Python) return it: the core
    /// itself never does (a caught panic, a NULL pointer, a short buffer).
    pub binding_only: bool,
}

impl ErrorCode {
    const fn core(code: u32, name: &'static str, kind: ErrorKind, summary: &'static str) -> Self {
        Self {
            code,
            name,
            kind,
            summary,
            binding_only: false,
        }
    }

    const fn binding(code: u32, name: &'static str, kind: ErrorKind, summary: &'static str) -> Self {
        Self {
            code,
            name,
            kind,
            summary,
            binding_only: true,
        }
    }

    /// The row with this number, if there is one.
    pub fn from_code(code: u32) -> Option<&'static ErrorCode> {
        TABLE.iter().copied().find(|e| e.code == code)
    }

    /// The row with this name, if there is one.
    pub fn from_name(name: &str) -> Option<&'static ErrorCode> {
        TABLE.iter().copied().find(|e| e.name == name)
    }
}

/// The rows of the error table, one constant each.
pub mod codes {
    use super::ErrorCode as E;
    use super::ErrorKind::*;

    /// A panic was caught at a language-binding boundary (a bug).
    pub const PANIC: E = E::binding(
        101,
        "Panic",
        Internal,
        "internal error: a panic was caught at the API boundary",
    );
    /// A binding-level failure that fits no other row (a bug).
    pub const INTERNAL: E = E::binding(102, "Internal", Internal, "internal error");

    /// See [`Error::InvalidArgument`](super::Error::InvalidArgument).
    pub const INVALID_ARGUMENT: E = E::core(201, "InvalidArgument", Usage, "invalid argument");
    /// See [`Error::InvalidValue`](super::Error::InvalidValue).
    pub const INVALID_VALUE: E = E::core(202, "InvalidValue", Usage, "a value does not parse as its type");
    /// See [`Error::MessageTooLong`](super::Error::MessageTooLong).
    pub const MESSAGE_TOO_LONG: E = E::core(203, "MessageTooLong", Usage, "message too long for the format");
    /// See [`Error::FieldType`](super::Error::FieldType).
    pub const FIELD_TYPE: E = E::core(
        204,
        "FieldType",
        Usage,
        "the value has another type than the column's",
    );
    /// See [`Error::TooManyRecipients`](super::Error::TooManyRecipients).
    pub const TOO_MANY_RECIPIENTS: E = E::core(
        205,
        "TooManyRecipients",
        Usage,
        "more recipients than the format allows",
    );
    /// See [`Error::RowBindingWouldDrop`](super::Error::RowBindingWouldDrop).
    pub const ROW_BINDING_WOULD_DROP: E = E::core(
        206,
        "RowBindingWouldDrop",
        Usage,
        "the rewrap would drop the token's row binding",
    );
    /// See [`Error::KdfBudgetExceeded`](super::Error::KdfBudgetExceeded).
    pub const KDF_BUDGET_EXCEEDED: E = E::core(
        220,
        "KdfBudgetExceeded",
        Usage,
        "a passphrase stanza needs more Argon2id work than the call allows",
    );
    /// See [`Error::SecretMissing`](super::Error::SecretMissing).
    pub const SECRET_MISSING: E = E::core(230, "SecretMissing", Usage, "the secret source holds no secret");
    /// See [`Error::SecretTooLong`](super::Error::SecretTooLong).
    pub const SECRET_TOO_LONG: E = E::core(231, "SecretTooLong", Usage, "the secret is too long");
    /// See [`Error::SecretNotUtf8`](super::Error::SecretNotUtf8).
    pub const SECRET_NOT_UTF8: E = E::core(232, "SecretNotUtf8", Usage, "the secret is not valid UTF-8");
    /// A required pointer argument was NULL (C API).
    pub const NULL_ARGUMENT: E =
        E::binding(250, "NullArgument", Usage, "a required pointer argument is NULL");
    /// An output buffer is too small; the size needed was reported (C API).
    pub const BUFFER_TOO_SMALL: E =
        E::binding(251, "BufferTooSmall", Usage, "the output buffer is too small");
    /// A text argument is not valid UTF-8 (C API).
    pub const INVALID_UTF8: E = E::binding(252, "InvalidUtf8", Usage, "a text argument is not valid UTF-8");
    /// A handle was used in a state that does not allow the call (C API).
    pub const INVALID_STATE: E = E::binding(
        253,
        "InvalidState",
        Usage,
        "the handle is not in a state that allows this call",
    );
    /// A length or count argument is larger than any object can be
    /// (above `PTRDIFF_MAX`), so it cannot describe real memory (C API).
    pub const LENGTH_TOO_LARGE: E = E::binding(
        260,
        "LengthTooLarge",
        Usage,
        "a length argument is larger than any object can be",
    );

    /// See [`Error::Io`](super::Error::Io): any other I/O failure.
    pub const IO: E = E::core(301, "Io", Io, "input/output error");
    /// [`Error::Io`](super::Error::Io) with `std::io::ErrorKind::NotFound`.
    pub const NOT_FOUND: E = E::core(302, "NotFound", Io, "file or directory not found");
    /// [`Error::Io`](super::Error::Io) with `std::io::ErrorKind::PermissionDenied`.
    pub const PERMISSION_DENIED: E = E::core(303, "PermissionDenied", Io, "permission denied");

    /// See [`Error::BadMagic`](super::Error::BadMagic).
    pub const BAD_MAGIC: E = E::core(
        401,
        "BadMagic",
        Format,
        "not a strongroom file or keyring (bad magic bytes)",
    );
    /// See [`Error::UnsupportedVersion`](super::Error::UnsupportedVersion).
    pub const UNSUPPORTED_VERSION: E =
        E::core(402, "UnsupportedVersion", Format, "unsupported format version");
    /// See [`Error::UnsupportedSuite`](super::Error::UnsupportedSuite).
    pub const UNSUPPORTED_SUITE: E = E::core(403, "UnsupportedSuite", Format, "unsupported cipher suite");
    /// See [`Error::Malformed`](super::Error::Malformed).
    pub const MALFORMED: E = E::core(404, "Malformed", Format, "malformed header, keyring or token");
    /// See [`Error::Truncated`](super::Error::Truncated).
    pub const TRUNCATED: E = E::core(405, "Truncated", Format, "truncated input");
    /// See [`Error::TrailingData`](super::Error::TrailingData).
    pub const TRAILING_DATA: E = E::core(406, "TrailingData", Format, "trailing data after the final chunk");
    /// See [`Error::KdfParams`](super::Error::KdfParams).
    pub const KDF_PARAMS: E = E::core(
        407,
        "KdfParams",
        Format,
        "Argon2id parameters outside the documented bounds",
    );
    /// See [`Error::UnknownProtectorKind`](super::Error::UnknownProtectorKind).
    pub const UNKNOWN_PROTECTOR_KIND: E = E::core(
        410,
        "UnknownProtectorKind",
        Format,
        "a keyring protector of a kind this version does not know",
    );

    /// See [`Error::HeaderMacMismatch`](super::Error::HeaderMacMismatch).
    pub const HEADER_MAC_MISMATCH: E = E::core(
        501,
        "HeaderMacMismatch",
        Integrity,
        "header authentication failed",
    );
    /// See [`Error::CommitmentMismatch`](super::Error::CommitmentMismatch).
    pub const COMMITMENT_MISMATCH: E = E::core(
        502,
        "CommitmentMismatch",
        Integrity,
        "payload key commitment mismatch",
    );
    /// See [`Error::ChunkAuthFailed`](super::Error::ChunkAuthFailed).
    pub const CHUNK_AUTH_FAILED: E =
        E::core(503, "ChunkAuthFailed", Integrity, "a chunk failed authentication");
    /// See [`Error::StanzaAuthFailed`](super::Error::StanzaAuthFailed).
    pub const STANZA_AUTH_FAILED: E = E::core(
        504,
        "StanzaAuthFailed",
        Integrity,
        "a wrapped key failed authentication",
    );
    /// See [`Error::KeyringCorrupt`](super::Error::KeyringCorrupt).
    pub const KEYRING_CORRUPT: E = E::core(505, "KeyringCorrupt", Integrity, "keyring authentication failed");
    /// See [`Error::FieldAuthFailed`](super::Error::FieldAuthFailed).
    pub const FIELD_AUTH_FAILED: E = E::core(
        506,
        "FieldAuthFailed",
        Integrity,
        "field token failed authentication",
    );
    /// See [`Error::ModeNotAccepted`](super::Error::ModeNotAccepted).
    pub const MODE_NOT_ACCEPTED: E = E::core(
        507,
        "ModeNotAccepted",
        Integrity,
        "the column does not accept this token's mode",
    );
    /// See [`Error::RowBindingMissing`](super::Error::RowBindingMissing).
    pub const ROW_BINDING_MISSING: E = E::core(
        508,
        "RowBindingMissing",
        Integrity,
        "the token carries no row binding where rows are bound",
    );
    /// See [`Error::KeyringRolledBack`](super::Error::KeyringRolledBack).
    pub const KEYRING_ROLLED_BACK: E = E::core(
        510,
        "KeyringRolledBack",
        Integrity,
        "the keyring is older than a state of it seen before",
    );
    /// See [`Error::KeyringDowngraded`](super::Error::KeyringDowngraded).
    pub const KEYRING_DOWNGRADED: E = E::core(
        511,
        "KeyringDowngraded",
        Integrity,
        "the keyring is in an older format than seen before",
    );

    /// See [`Error::NoMatchingKey`](super::Error::NoMatchingKey).
    pub const NO_MATCHING_KEY: E = E::core(
        601,
        "NoMatchingKey",
        Key,
        "none of the offered keys opens the file",
    );
    /// See [`Error::WrongPassphrase`](super::Error::WrongPassphrase).
    pub const WRONG_PASSPHRASE: E = E::core(602, "WrongPassphrase", Key, "wrong passphrase");
    /// See [`Error::WrongRecoveryKey`](super::Error::WrongRecoveryKey).
    pub const WRONG_RECOVERY_KEY: E = E::core(603, "WrongRecoveryKey", Key, "wrong recovery key");
    /// See [`Error::InvalidRecoveryKey`](super::Error::InvalidRecoveryKey).
    pub const INVALID_RECOVERY_KEY: E = E::core(604, "InvalidRecoveryKey", Key, "mistyped recovery key");
    /// See [`Error::UnknownKeyVersion`](super::Error::UnknownKeyVersion).
    pub const UNKNOWN_KEY_VERSION: E = E::core(
        605,
        "UnknownKeyVersion",
        Key,
        "no such key version in the keyring",
    );
    /// See [`Error::KeyVersionUnusable`](super::Error::KeyVersionUnusable).
    pub const KEY_VERSION_UNUSABLE: E = E::core(
        606,
        "KeyVersionUnusable",
        Key,
        "the key version's status forbids this use",
    );
    /// See [`Error::WrongKeyring`](super::Error::WrongKeyring).
    pub const WRONG_KEYRING: E = E::core(607, "WrongKeyring", Key, "the data belongs to another keyring");

    /// See [`Error::AlreadyExists`](super::Error::AlreadyExists).
    pub const ALREADY_EXISTS: E = E::core(701, "AlreadyExists", Conflict, "the destination already exists");
    /// See [`Error::Locked`](super::Error::Locked).
    pub const LOCKED: E = E::core(
        702,
        "Locked",
        Conflict,
        "the keyring or file is locked or being changed by another process",
    );

    /// See [`Error::DestinationIsSymlink`](super::Error::DestinationIsSymlink).
    pub const DESTINATION_IS_SYMLINK: E = E::core(
        703,
        "DestinationIsSymlink",
        Conflict,
        "the destination is a symbolic link",
    );

    /// See [`Error::ProtectorsNeedUpgrade`](super::Error::ProtectorsNeedUpgrade).
    pub const PROTECTORS_NEED_UPGRADE: E = E::core(
        704,
        "ProtectorsNeedUpgrade",
        Conflict,
        "old-format protectors need their secret to be upgraded",
    );
    /// See [`Error::KeyringNeedsUpgrade`](super::Error::KeyringNeedsUpgrade).
    pub const KEYRING_NEEDS_UPGRADE: E = E::core(
        710,
        "KeyringNeedsUpgrade",
        Conflict,
        "the keyring must be upgraded to the current format first",
    );

    /// See [`Error::Cancelled`](super::Error::Cancelled).
    pub const CANCELLED: E = E::core(801, "Cancelled", Cancelled, "operation cancelled");
}

/// The error table: every row, in ascending number order. docs/ERRORS.md
/// is this table (a test checks that they agree).
pub const TABLE: &[&ErrorCode] = &[
    &codes::PANIC,
    &codes::INTERNAL,
    &codes::INVALID_ARGUMENT,
    &codes::INVALID_VALUE,
    &codes::MESSAGE_TOO_LONG,
    &codes::FIELD_TYPE,
    &codes::TOO_MANY_RECIPIENTS,
    &codes::ROW_BINDING_WOULD_DROP,
    &codes::KDF_BUDGET_EXCEEDED,
    &codes::SECRET_MISSING,
    &codes::SECRET_TOO_LONG,
    &codes::SECRET_NOT_UTF8,
    &codes::NULL_ARGUMENT,
    &codes::BUFFER_TOO_SMALL,
    &codes::INVALID_UTF8,
    &codes::INVALID_STATE,
    &codes::LENGTH_TOO_LARGE,
    &codes::IO,
    &codes::NOT_FOUND,
    &codes::PERMISSION_DENIED,
    &codes::BAD_MAGIC,
    &codes::UNSUPPORTED_VERSION,
    &codes::UNSUPPORTED_SUITE,
    &codes::MALFORMED,
    &codes::TRUNCATED,
    &codes::TRAILING_DATA,
    &codes::KDF_PARAMS,
    &codes::UNKNOWN_PROTECTOR_KIND,
    &codes::HEADER_MAC_MISMATCH,
    &codes::COMMITMENT_MISMATCH,
    &codes::CHUNK_AUTH_FAILED,
    &codes::STANZA_AUTH_FAILED,
    &codes::KEYRING_CORRUPT,
    &codes::FIELD_AUTH_FAILED,
    &codes::MODE_NOT_ACCEPTED,
    &codes::ROW_BINDING_MISSING,
    &codes::KEYRING_ROLLED_BACK,
    &codes::KEYRING_DOWNGRADED,
    &codes::NO_MATCHING_KEY,
    &codes::WRONG_PASSPHRASE,
    &codes::WRONG_RECOVERY_KEY,
    &codes::INVALID_RECOVERY_KEY,
    &codes::UNKNOWN_KEY_VERSION,
    &codes::KEY_VERSION_UNUSABLE,
    &codes::WRONG_KEYRING,
    &codes::ALREADY_EXISTS,
    &codes::LOCKED,
    &codes::DESTINATION_IS_SYMLINK,
    &codes::PROTECTORS_NEED_UPGRADE,
    &codes::KEYRING_NEEDS_UPGRADE,
    &codes::CANCELLED,
];

/// "1, 2, 3" for an error message.
fn join_ids(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(io) => io,
            // Keeps the kind (NotFound ...) and the path (from_io recovers it).
            Error::File { .. } => {
                let kind = e
                    .os_error()
                    .map_or(std::io::ErrorKind::Other, |(io, _)| io.kind());
                std::io::Error::new(kind, e)
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// One value of every variant, for the table checks.
    fn one_of_each() -> Vec<Error> {
        use std::io::{Error as IoError, ErrorKind as IoKind};
        vec![
            Error::Io(IoError::other("x")),
            Error::Io(IoError::from(IoKind::NotFound)),
            Error::Io(IoError::from(IoKind::PermissionDenied)),
            Error::file("open", Path::new("x"))(IoError::other("x")),
            Error::file("open", Path::new("x"))(IoError::from(IoKind::NotFound)),
            Error::file("open", Path::new("x"))(IoError::from(IoKind::PermissionDenied)),
            Error::BadMagic { what: "keyring" },
            Error::UnsupportedVersion {
                what: "keyring",
                version: 9,
            },
            Error::UnsupportedSuite(9),
            Error::malformed("stanza", "x"),
            Error::Truncated("x"),
            Error::TrailingData,
            Error::KdfParams("x".into()),
            Error::KdfBudgetExceeded {
                memory_kib: 1 << 21,
                iterations: 16,
                spent_work: 0,
                max_memory_kib: 1 << 20,
                max_work: 6 << 20,
            },
            Error::HeaderMacMismatch,
            Error::CommitmentMismatch,
            Error::ChunkAuthFailed { index: 3 },
            Error::StanzaAuthFailed { protector: "keyring" },
            Error::KeyringCorrupt,
            Error::FieldAuthFailed,
            Error::NoMatchingKey { wanted: "x".into() },
            Error::WrongPassphrase,
            Error::WrongRecoveryKey,
            Error::InvalidRecoveryKey("x"),
            Error::UnknownKeyVersion(4),
            Error::KeyVersionUnusable {
                version: 1,
                status: "disabled",
                operation: "decrypt",
            },
            Error::WrongKeyring,
            Error::InvalidArgument("x".into()),
            Error::InvalidValue {
                value_type: "int",
                reason: "x",
            },
            Error::MessageTooLong,
            Error::FieldType {
                expected: "int",
                found: "text",
            },
            Error::AlreadyExists(PathBuf::from("x")),
            Error::Locked(PathBuf::from("x")),
            Error::DestinationIsSymlink(PathBuf::from("x")),
            Error::ProtectorsNeedUpgrade(vec![2, 3]),
            Error::KeyringNeedsUpgrade {
                format: 2,
                operation: "changing it",
            },
            Error::KeyringRolledBack { seen: 4, found: 3 },
            Error::KeyringDowngraded { seen: 3, found: 2 },
            Error::UnknownProtectorKind { id: 3, kind: 9 },
            Error::ModeNotAccepted {
                accepted: "random",
                found: "deterministic",
            },
            Error::RowBindingMissing,
            Error::RowBindingWouldDrop,
            Error::TooManyRecipients {
                what: "stanzas",
                count: 65,
                max: 64,
            },
            Error::SecretMissing { what: "x".into() },
            Error::SecretTooLong {
                what: "x".into(),
                max: 1,
            },
            Error::SecretNotUtf8 { what: "x".into() },
            Error::Cancelled,
        ]
    }

    #[test]
    fn table_numbers_and_names_are_unique_ascending_and_in_their_class() {
        let mut names = HashSet::new();
        let mut last = 0;
        for row in TABLE {
            assert!(row.code > last, "{} is out of order", row.code);
            last = row.code;
            assert!(names.insert(row.name), "name {} is used twice", row.name);
            assert_eq!(
                row.code / 100,
                u32::from(row.kind.number()),
                "{} is not in its class",
                row.name
            );
            assert!(row.code % 100 != 0, "{}: n starts at 1", row.name);
            assert_eq!(ErrorCode::from_code(row.code), Some(*row));
            assert_eq!(ErrorCode::from_name(row.name), Some(*row));
        }
        assert_eq!(ErrorCode::from_code(0), None);
        assert_eq!(ErrorCode::from_code(999), None);
    }

    #[test]
    fn every_variant_has_a_core_row_and_every_core_row_a_variant() {
        let mut seen = HashSet::new();
        for e in one_of_each() {
            let row = e.ident();
            assert!(TABLE.contains(&row), "{} is not in TABLE", row.name);
            assert!(!row.binding_only, "{} is binding-only", row.name);
            assert_eq!(e.kind(), row.kind);
            assert_eq!((e.code(), e.name()), (row.code, row.name));
            seen.insert(row.code);
        }
        for row in TABLE.iter().filter(|r| !r.binding_only) {
            assert!(
                seen.contains(&row.code),
                "no variant gives {} ({})",
                row.name,
                row.code
            );
        }
    }

    #[test]
    fn a_batch_item_error_keeps_the_identity_of_its_cause() {
        let e = Error::at(
            7,
            Error::FieldType {
                expected: "int",
                found: "text",
            },
        );
        assert_eq!(
            (e.code(), e.name(), e.kind()),
            (204, "FieldType", ErrorKind::Usage)
        );
        assert!(matches!(e, Error::Batch { index: 7, .. }));
    }

    #[test]
    fn a_file_error_names_its_path_keeps_its_numbers_and_survives_io_error() {
        use std::io::{Error as IoError, ErrorKind as IoKind};
        let e = Error::Io(IoError::from_raw_os_error(2)).on_file("open", Path::new("/data/in.tar"));
        assert_eq!((e.code(), e.name()), (302, "NotFound"));
        let text = e.to_string();
        assert!(text.starts_with("cannot open /data/in.tar: "), "{text}");
        let (os, path) = e.os_error().expect("an OS error");
        assert_eq!(
            (os.raw_os_error(), path),
            (Some(2), Some(Path::new("/data/in.tar")))
        );
        // Through a Read/Write implementation and back.
        let io: IoError = e.into();
        assert_eq!(io.kind(), IoKind::NotFound);
        assert!(matches!(from_io(io), Error::File { action: "open", .. }));
        // Other errors are left as they are.
        assert!(matches!(
            Error::WrongPassphrase.on_file("open", Path::new("x")),
            Error::WrongPassphrase
        ));
        assert!(Error::WrongPassphrase.os_error().is_none());
    }

    #[test]
    fn class_numbers_are_the_documented_exit_codes() {
        let numbers: Vec<u8> = ErrorKind::ALL.iter().map(|k| k.number()).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Error::ChunkAuthFailed { index: 0 }.code(), 503);
        assert_eq!(Error::Cancelled.kind().name(), "cancelled");
    }
}
