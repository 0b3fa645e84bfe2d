//! What a database engine must provide: describe a column, read rows in
//! primary-key order, apply compare-and-swap updates together with the
//! job's checkpoint in one transaction, and keep the checkpoint table. The
//! column logic ([`crate::job`], [`crate::verify`]) is written once
//! against this trait.

use crate::checkpoint::{Checkpoint, CheckpointWrite, Claim};
use crate::error::Result;
use std::fmt;
use zeroize::Zeroizing;

/// How a column stores values, and so which token form it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Text (`TEXT`, `VARCHAR`, `CHAR`): `sr1.` text tokens.
    Text,
    /// Binary (`BLOB`, `bytea`, `VARBINARY`): binary tokens.
    Binary,
}

impl Storage {
    /// `text` or `binary`.
    pub fn name(self) -> &'static str {
        match self {
            Storage::Text => "text",
            Storage::Binary => "binary",
        }
    }
}

/// The type of a primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkKind {
    /// A signed integer key (64 bits at most).
    Int,
    /// An unsigned integer key (MySQL `BIGINT UNSIGNED`): its whole range.
    UInt,
    /// A text key.
    Text,
}

/// A primary key value. Its row key (bound into tokens) is the decimal
/// text of an integer key, the UTF-8 bytes of a text key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pk {
    /// Signed integer key.
    Int(i64),
    /// Unsigned integer key (above `i64::MAX` too).
    UInt(u64),
    /// Text key.
    Text(String),
}

impl Pk {
    /// The row key bound into random-mode tokens.
    pub fn row_key(&self) -> Vec<u8> {
        self.encode().into_bytes()
    }

    /// The checkpoint's text form (the row key as text).
    pub(crate) fn encode(&self) -> String {
        match self {
            Pk::Int(i) => i.to_string(),
            Pk::UInt(u) => u.to_string(),
            Pk::Text(s) => s.clone(),
        }
    }

    /// Inverse of [`Pk::encode`].
    pub(crate) fn decode(kind: PkKind, s: &str) -> Option<Pk> {
        match kind {
            PkKind::Int => s.parse().ok().map(Pk::Int),
            PkKind::UInt => s.parse().ok().map(Pk::UInt),
            PkKind::Text => Some(Pk::Text(s.to_string())),
        }
    }
}

impl fmt::Display for Pk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pk::Int(i) => write!(f, "{i}"),
            Pk::UInt(u) => write!(f, "{u}"),
            Pk::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// A value as stored in the column: wiped on drop (it may be plaintext),
/// never shown by Debug.
#[derive(Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A text value.
    Text(Zeroizing<String>),
    /// A binary value (or, in a text column, text that is not UTF-8).
    Bytes(Zeroizing<Vec<u8>>),
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(Zeroizing::new(s.into()))
    }

    /// A binary cell.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Cell {
        Cell::Bytes(Zeroizing::new(b.into()))
    }

    /// Whether it is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The bytes of a text or binary value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Cell::Null => None,
            Cell::Text(s) => Some(s.as_bytes()),
            Cell::Bytes(b) => Some(b),
        }
    }
}

impl fmt::Debug for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("Null"),
            Cell::Text(s) => write!(f, "Text({} bytes)", s.len()),
            Cell::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// One column as the engine declares it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    /// Column name, as the database spells it.
    pub name: String,
    /// Declared type, as the engine spells it.
    pub declared: String,
    /// Text or binary.
    pub storage: Storage,
    /// Maximum length (characters for text, bytes for binary), if the
    /// engine enforces one.
    pub width: Option<u64>,
    /// The character set of a MySQL text column (`latin1`, `utf8mb4`):
    /// compare-and-swap converts to it so that bytes compare with bytes.
    pub charset: Option<String>,
}

/// The table, its primary key and the columns a job touches.
#[derive(Debug, Clone)]
pub struct Target {
    /// The table as the caller named it (for messages).
    pub table: String,
    /// The schema (PostgreSQL), database (MySQL) or attached database
    /// (SQLite) the table is in, as the database spells it.
    pub schema: String,
    /// The table's own name, as the database spells it.
    pub name: String,
    /// Primary key column.
    pub pk: String,
    /// Primary key type.
    pub pk_kind: PkKind,
    /// The encrypted column.
    pub column: ColumnInfo,
    /// The blind index column, if any.
    pub index: Option<ColumnInfo>,
}

impl Target {
    /// The column's identity in the checkpoint table: schema, table and
    /// column as the database spells them, quoted, so that two spellings
    /// of one column (`EMAIL`, `email` on SQLite) share one checkpoint.
    pub fn column_key(&self) -> String {
        format!(
            "{}.{}.{}",
            quote(&self.schema, '"'),
            quote(&self.name, '"'),
            quote(&self.column.name, '"')
        )
    }

    /// The table in SQL: `"schema"."name"` with the engine's quote.
    pub(crate) fn sql_table(&self, q: char) -> String {
        format!("{}.{}", quote(&self.schema, q), quote(&self.name, q))
    }
}

/// One row read for a job: the value and its blind index term, read in the
/// same statement (so a verification never compares a value with a term
/// of another moment).
#[derive(Debug, Clone)]
pub struct Row {
    /// Its primary key.
    pub pk: Pk,
    /// The column's value.
    pub value: Cell,
    /// The blind index column's value (`None`: NULL, or no index column).
    pub index: Option<Vec<u8>>,
}

/// A compare-and-swap update: set the column to `new` (and the index to
/// `index`, when the job has an index column) where the primary key is
/// `pk` and the column still holds `old`.
#[derive(Debug)]
pub struct Update {
    /// The row.
    pub pk: Pk,
    /// The value read.
    pub old: Cell,
    /// The value written (`old` itself when only the index changes).
    pub new: Cell,
    /// The blind index term (`None`: NULL).
    pub index: Option<Vec<u8>>,
}

/// How the connection travels: what `db status` and the summaries show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// An embedded database file (SQLite): no network.
    Local,
    /// A local socket (Unix domain socket).
    Socket,
    /// TCP without TLS.
    Cleartext,
    /// TLS: the protocol version and cipher suite the server chose.
    Tls(String),
}

/// A database connection the column jobs run on.
pub trait Engine: Send {
    /// `sqlite`, `postgres` or `mysql`.
    fn name(&self) -> &'static str;

    /// Runs SQL statements (separated by `;`) that return no rows: the
    /// caller's own schema changes, and tests.
    fn execute_batch(&mut self, sql: &str) -> Result<()>;

    /// How this connection travels.
    fn transport(&mut self) -> Result<Transport>;

    /// The table's primary key and the columns, with their types. `table`
    /// may be schema-qualified (`schema.table`, `"odd.name"`).
    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target>;

    /// Length in bytes of the longest value of the column that is not
    /// shaped like a token (0 when there is none): what the width check of
    /// an encryption needs.
    fn max_len(&mut self, t: &Target) -> Result<u64>;

    /// Widens `col` to hold `width` characters or bytes.
    fn widen(&mut self, t: &Target, col: &ColumnInfo, width: u64) -> Result<()>;

    /// An estimate of the number of rows, without reading the table
    /// (statistics, key range); `None` when the engine has none.
    fn estimate_rows(&mut self, t: &Target) -> Result<Option<u64>>;

    /// The largest primary key now: a run reads up to it and no further,
    /// so it finishes even while the application keeps inserting.
    fn max_pk(&mut self, t: &Target) -> Result<Option<Pk>>;

    /// Up to `limit` rows with a primary key above `after` and at most
    /// `upto`, in key order.
    fn fetch(&mut self, t: &Target, after: Option<&Pk>, upto: &Pk, limit: usize) -> Result<Vec<Row>>;

    /// The rows with these primary keys (those that still exist).
    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>>;

    /// The rows whose blind index column holds one of `terms` (a lookup:
    /// decrypt the values to confirm the match).
    fn lookup(&mut self, t: &Target, terms: &[Vec<u8>]) -> Result<Vec<Row>>;

    /// Up to `limit` values shaped like tokens ([`crate::classify`]), in
    /// key order.
    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>>;

    /// Applies `updates` (compare-and-swap) and, when given, writes the
    /// job's checkpoint, in one transaction; returns how many rows
    /// changed. A checkpoint that another run took over in the meantime
    /// rolls the whole transaction back: [`crate::Error::ConcurrentRun`].
    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&CheckpointWrite>) -> Result<u64>;

    /// Whether the checkpoint table exists (and this connection can see it).
    fn checkpoint_table_exists(&mut self) -> Result<bool>;

    /// Creates the checkpoint table ([`crate::checkpoint::CHECKPOINT_TABLE`]).
    fn create_checkpoint_table(&mut self) -> Result<()>;

    /// The checkpoint of the column `column_key`, if the table and the row
    /// exist.
    fn load_checkpoint(&mut self, column_key: &str) -> Result<Option<Checkpoint>>;

    /// Claims the column for a run (see [`Claim`]); another run that
    /// claimed it first is [`crate::Error::ConcurrentRun`].
    fn claim(&mut self, claim: &Claim) -> Result<()>;

    /// Removes the checkpoint of a finished run (only if that run still
    /// holds it).
    fn release(&mut self, column_key: &str, run_id: &str) -> Result<()>;
}

/// Quotes an identifier for SQL (`"name"`, or `` `name` `` for MySQL).
pub(crate) fn quote(name: &str, q: char) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push(q);
    for c in name.chars() {
        if c == q {
            s.push(q);
        }
        s.push(c);
    }
    s.push(q);
    s
}
