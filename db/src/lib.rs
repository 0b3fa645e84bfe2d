//! Encrypt, rotate, verify and decrypt columns of SQLite, PostgreSQL and
//! MySQL/MariaDB tables in place, while the application keeps running.
//!
//! The column logic ([`Job`] and [`run`], [`status`]) is written once
//! against the [`Engine`] trait; [`connect`] opens an engine from a URL
//! (over TLS to a server, [`tls`]). Every job works in batches ordered by
//! primary key, each in its own transaction together with a checkpoint kept
//! in the database ([`checkpoint`]), so a run killed at any point resumes
//! where it stopped, and a checkpoint of another job is never resumed.
//! Updates compare the old value (`WHERE pk = ? AND col IS old`), so a row
//! the application wrote meanwhile is never overwritten with a stale
//! value. What counts as a token, as plaintext and as neither is one rule,
//! [`classify`]: a value counts as encrypted only once it authenticates
//! under the column.
//!
//! Tokens are those of [`strongroom::field`]: `sr1.` text tokens in text
//! columns, binary tokens in binary columns, bound to the table, the column
//! and (random mode) the row's primary key (its decimal text for an
//! integer key, its UTF-8 bytes for a text key).
//!
//! [`live`] has what the application itself uses during a migration:
//! readers that accept plaintext and tokens, then tokens only.

pub mod checkpoint;
pub mod classify;
pub mod engine;
pub mod error;
pub mod job;
pub mod live;
mod mysql;
pub mod names;
mod plan;
mod postgres;
mod run;
pub mod sqlite;
pub mod tls;
pub mod url;
mod verify;

pub use engine::{Cell, Engine, Pk, PkKind, Storage, Transport};
pub use error::{Error, Result};
pub use job::{DEFAULT_BATCH, Job, Operation, Progress, Summary};
pub use mysql::MysqlEngine;
pub use plan::{plain_cell, token_cell};
pub use postgres::PostgresEngine;
pub use run::run;
pub use sqlite::SqliteEngine;
pub use url::{DbUrl, EngineKind};
pub use verify::{Status, status};

/// Opens a connection to the database at `url`. A SQLite file opens
/// read-write, and a server connection follows the URL's TLS settings
/// ([`tls`]).
pub fn connect(url: &DbUrl) -> Result<Box<dyn Engine>> {
    Ok(match url.kind() {
        EngineKind::Sqlite => Box::new(SqliteEngine::open(url.sqlite_path())?),
        EngineKind::Postgres => Box::new(PostgresEngine::connect(url, false)?),
        EngineKind::Mysql => Box::new(MysqlEngine::connect(url, false)?),
    })
}

/// Opens a read-only connection: a SQLite file opened read-only, a server
/// session whose transactions are read-only. What `db status`, `db verify`
/// and `--dry-run` use, so that a role with `SELECT` alone runs them and
/// none of them can change anything.
pub fn connect_read_only(url: &DbUrl) -> Result<Box<dyn Engine>> {
    Ok(match url.kind() {
        EngineKind::Sqlite => Box::new(SqliteEngine::open_read_only(url.sqlite_path())?),
        EngineKind::Postgres => Box::new(PostgresEngine::connect(url, true)?),
        EngineKind::Mysql => Box::new(MysqlEngine::connect(url, true)?),
    })
}
