//! Encrypt, rotate, verify and decrypt columns of SQLite, PostgreSQL and
//! MySQL/MariaDB tables in place, while the application keeps running.
//!
//! The column logic ([`migrate`]) is written once against the [`Engine`]
//! trait; [`connect`] opens an engine from a URL. Every job works in
//! batches ordered by primary key, each in its own transaction together
//! with a checkpoint kept in the database (table `strongroom_migrations`),
//! so a run killed at any point resumes where it stopped. Updates compare
//! the old value (`WHERE pk = ? AND col IS old`), so a row the application
//! wrote meanwhile is never overwritten with a stale value.
//!
//! Tokens are those of [`strongroom::field`]: `sr1.` text tokens in text
//! columns, binary tokens in binary columns, bound to the table, the column
//! and (random mode) the row's primary key (its decimal text for an
//! integer key, its UTF-8 bytes for a text key).
//!
//! [`live`] has what the application itself uses during a migration:
//! readers that accept plaintext and tokens, then tokens only.

pub mod engine;
pub mod error;
pub mod live;
pub mod migrate;
mod mysql;
mod postgres;
pub mod sqlite;
pub mod url;

pub use engine::{Cell, Engine, Pk, PkKind, Storage};
pub use error::{Error, Result};
pub use migrate::{Job, Operation, Progress, Status, Summary, run, status};
pub use mysql::MysqlEngine;
pub use postgres::PostgresEngine;
pub use sqlite::SqliteEngine;
pub use url::{DbUrl, EngineKind};

/// Opens a connection to the database at `url`.
pub fn connect(url: &DbUrl) -> Result<Box<dyn Engine>> {
    Ok(match url.kind() {
        EngineKind::Sqlite => Box::new(SqliteEngine::open(url.sqlite_path())?),
        EngineKind::Postgres => Box::new(PostgresEngine::connect(url)?),
        EngineKind::Mysql => Box::new(MysqlEngine::connect(url)?),
    })
}
