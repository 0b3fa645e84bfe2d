//! The database tooling's own errors. Messages name tables, columns,
//! primary keys and engines, never a value, a token's plaintext, a key or
//! a password (connection strings are redacted).

use strongroom::ErrorKind;

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a column migration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A strongroom error (keyring, field cipher).
    #[error(transparent)]
    Core(#[from] strongroom::Error),
    /// The database URL cannot be used.
    #[error("bad database URL {url}: {reason}")]
    Url {
        /// The URL with any password redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// The database engine reported an error (connection, SQL).
    #[error("{engine}: {message}")]
    Engine {
        /// `sqlite`, `postgres` or `mysql`.
        engine: &'static str,
        /// The driver's message, with the connection password redacted.
        message: String,
    },
    /// The table or column does not exist.
    #[error("{what} not found")]
    NotFound {
        /// E.g. `column users.email`.
        what: String,
    },
    /// The table has no single-column primary key of a supported type.
    #[error("table {table}: {reason}")]
    PrimaryKey {
        /// The table.
        table: String,
        /// Why its primary key cannot bind tokens.
        reason: String,
    },
    /// The column's type cannot hold tokens.
    #[error("column {table}.{column} has type {declared}, which cannot hold tokens: {reason}")]
    ColumnType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its declared type.
        declared: String,
        /// What would work.
        reason: String,
    },
    /// The column is narrower than its longest token.
    #[error(
        "column {table}.{column} ({declared}) is too narrow: its longest token needs {needed} {unit}; widen it to {needed} (--widen does it)"
    )]
    TooNarrow {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its declared type.
        declared: String,
        /// The width the tokens need.
        needed: u64,
        /// `characters` or `bytes`.
        unit: &'static str,
    },
    /// Tokens already in the column do not decrypt with this keyring:
    /// nothing was changed.
    #[error(
        "{failed} of the {sampled} tokens already in {table}.{column} do not decrypt with this keyring (wrong keyring, or tokens of another table or column): nothing was changed"
    )]
    WrongKey {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Tokens tried.
        sampled: usize,
        /// Tokens that failed.
        failed: usize,
        /// The first failure.
        #[source]
        source: strongroom::Error,
    },
    /// Some tokens could not be processed (the rest were); see the summary.
    #[error(
        "{count} token(s) in {table}.{column} do not decrypt (first at primary key {first}); they were left unchanged"
    )]
    Undecryptable {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// How many.
        count: u64,
        /// The first row's primary key.
        first: String,
    },
    /// Plaintext is left where only tokens are expected.
    #[error("{count} plaintext value(s) left in {table}.{column}")]
    PlaintextLeft {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// How many.
        count: u64,
    },
    /// Blind index terms that do not match their row's value.
    #[error("{count} blind index term(s) in {table}.{column} do not match their row's value")]
    IndexMismatch {
        /// The table.
        table: String,
        /// The index column.
        column: String,
        /// How many.
        count: u64,
    },
    /// A live reader found plaintext in a column whose migration is done.
    #[error("plaintext found in a column that accepts tokens only")]
    PlaintextRefused,
    /// Values that are neither plaintext of the column's kind nor tokens
    /// (see [`crate::classify`]): they cannot be encrypted, and were left
    /// unchanged.
    #[error(
        "{count} value(s) in {table}.{column} cannot be encrypted (first at primary key {first}: {what}); they were left unchanged"
    )]
    WrongKind {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// How many.
        count: u64,
        /// The first row's primary key.
        first: String,
        /// What the first one is.
        what: String,
    },
    /// Rows the application kept changing while the run tried to write
    /// them: the run could not finish them.
    #[error(
        "{count} row(s) of {table}.{column} kept changing while this run tried to update them; they were left for the next run"
    )]
    ChangedMeanwhile {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// How many.
        count: u64,
    },
    /// Another run claimed the column (a second job on it): this run
    /// stopped, and its last batch was rolled back.
    #[error(
        "another run took over column {column} (a second strongroom db job on it); this run stopped, its current batch was not written"
    )]
    ConcurrentRun {
        /// The column (schema, table, column).
        column: String,
    },
    /// The checkpoint table is missing and cannot be created with this
    /// connection's rights.
    #[error("the checkpoint table {table} is missing and cannot be created: {reason}")]
    CheckpointTable {
        /// The table's name.
        table: &'static str,
        /// The database's answer.
        reason: String,
    },
    /// TLS was required but the server does not offer it.
    #[error("{engine} server {host} does not offer TLS, which sslmode={mode} requires")]
    TlsUnavailable {
        /// `postgres` or `mysql`.
        engine: &'static str,
        /// The server.
        host: String,
        /// The mode.
        mode: &'static str,
    },
    /// The server's certificate was refused (unknown issuer, wrong name,
    /// expired), or a client certificate could not be used.
    #[error("TLS with {engine} server {host} failed: {reason}")]
    Certificate {
        /// `postgres` or `mysql`.
        engine: &'static str,
        /// The server.
        host: String,
        /// Why, as the TLS library says it.
        reason: String,
    },
    /// A connection that would carry values in cleartext over a network.
    #[error("refusing a connection to {host} without TLS: {reason}")]
    CleartextRefused {
        /// The server.
        host: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The run was cancelled between two batches (what was committed stays).
    #[error("cancelled; committed batches stay and the next run resumes from the checkpoint")]
    Cancelled,
    /// A rotation of a column that hides NULL, by a cipher that keeps NULL
    /// (it would write visible NULLs).
    #[error(
        "column {table}.{column} hides NULL (a token holds an encrypted NULL); rotating it without hiding NULL would reveal which rows are NULL"
    )]
    HiddenNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A bad argument (names, options).
    #[error("{0}")]
    InvalidArgument(String),
}

impl Error {
    /// The error class, and so the command line's exit code, in the
    /// core's scheme: the one place the database errors are classified.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Core(e) => e.kind(),
            Error::Url { .. }
            | Error::InvalidArgument(_)
            | Error::NotFound { .. }
            | Error::PrimaryKey { .. }
            | Error::ColumnType { .. }
            | Error::TooNarrow { .. }
            | Error::HiddenNull { .. }
            | Error::CheckpointTable { .. }
            | Error::CleartextRefused { .. } => ErrorKind::Usage,
            Error::Engine { .. } | Error::TlsUnavailable { .. } => ErrorKind::Io,
            Error::WrongKind { .. } => ErrorKind::Format,
            Error::Undecryptable { .. }
            | Error::PlaintextLeft { .. }
            | Error::IndexMismatch { .. }
            | Error::PlaintextRefused
            | Error::Certificate { .. } => ErrorKind::Integrity,
            Error::WrongKey { .. } => ErrorKind::Key,
            Error::ChangedMeanwhile { .. } | Error::ConcurrentRun { .. } => ErrorKind::Conflict,
            Error::Cancelled => ErrorKind::Cancelled,
        }
    }

    /// A one-line hint for the operator, if one helps.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Error::TooNarrow { .. } => {
                "nothing was changed; widen the column yourself, or run again with --widen"
            }
            Error::ColumnType { .. } | Error::PrimaryKey { .. } | Error::NotFound { .. } => {
                "nothing was changed"
            }
            Error::Url { .. } => "use sqlite:PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
            Error::WrongKey { .. } => {
                "select the keyring the column was encrypted with (--keyring); check --table and --column"
            }
            Error::Undecryptable { .. } => "`strongroom db verify` lists their primary keys",
            Error::PlaintextLeft { .. } => "run `strongroom db encrypt` (--allow-plaintext accepts it)",
            Error::WrongKind { .. } => {
                "convert them (a BLOB column holds bytes, a text column UTF-8 text of the column's --type), then run again"
            }
            Error::ChangedMeanwhile { .. } => "run the same command again",
            Error::ConcurrentRun { .. } => {
                "run one job per column at a time; run it again when the other has finished"
            }
            Error::CheckpointTable { .. } => {
                "an administrator creates it once: `strongroom db setup --url ...` (or its SQL, `--print-sql`), and grants SELECT, INSERT, UPDATE, DELETE on it"
            }
            Error::Cancelled => "run the same command again to resume",
            Error::HiddenNull { .. } => {
                "the batch was not written; run again with --hide-null (ColumnSpec::hide_null)"
            }
            Error::Certificate { .. } => {
                "name the CA that signed the server's certificate with sslrootcert=PATH in the URL; sslmode=verify-ca skips the name check"
            }
            Error::TlsUnavailable { .. } => "enable TLS on the server, or choose sslmode=prefer or disable",
            Error::CleartextRefused { .. } => {
                "use sslmode=require, verify-ca or verify-full; or accept cleartext on this network with --db-allow-cleartext"
            }
            _ => return None,
        })
    }

    pub(crate) fn engine(
        engine: &'static str,
        message: impl std::fmt::Display,
        secret: Option<&str>,
    ) -> Self {
        let mut message = message.to_string();
        if let Some(s) = secret.filter(|s| !s.is_empty()) {
            message = message.replace(s, "***");
        }
        Error::Engine { engine, message }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::engine("sqlite", e, None)
    }
}
