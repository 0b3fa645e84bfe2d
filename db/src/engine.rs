//! What a database engine must provide: describe a column, read rows in
//! primary-key order, and apply compare-and-swap updates together with the
//! checkpoint in one transaction. The migration logic ([`crate::migrate`])
//! is written once against this trait.

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
    /// An integer key.
    Int,
    /// A text key.
    Text,
}

/// A primary key value. Its row key (bound into tokens) is the decimal
/// text of an integer key, the UTF-8 bytes of a text key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pk {
    /// Integer key.
    Int(i64),
    /// Text key.
    Text(String),
}

impl Pk {
    /// The row key bound into random-mode tokens.
    pub fn row_key(&self) -> Vec<u8> {
        match self {
            Pk::Int(i) => i.to_string().into_bytes(),
            Pk::Text(s) => s.as_bytes().to_vec(),
        }
    }

    /// The checkpoint's text form.
    pub(crate) fn encode(&self) -> String {
        match self {
            Pk::Int(i) => i.to_string(),
            Pk::Text(s) => s.clone(),
        }
    }

    /// Inverse of [`Pk::encode`].
    pub(crate) fn decode(kind: PkKind, s: &str) -> Option<Pk> {
        match kind {
            PkKind::Int => s.parse().ok().map(Pk::Int),
            PkKind::Text => Some(Pk::Text(s.to_string())),
        }
    }
}

impl fmt::Display for Pk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pk::Int(i) => write!(f, "{i}"),
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
    /// A binary value.
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
    /// Column name.
    pub name: String,
    /// Declared type, as the engine spells it.
    pub declared: String,
    /// Text or binary.
    pub storage: Storage,
    /// Maximum length (characters for text, bytes for binary), if the
    /// engine enforces one.
    pub width: Option<u64>,
}

/// The table, its primary key and the columns a job touches.
#[derive(Debug, Clone)]
pub struct Target {
    /// Table name.
    pub table: String,
    /// Primary key column.
    pub pk: String,
    /// Primary key type.
    pub pk_kind: PkKind,
    /// The encrypted column.
    pub column: ColumnInfo,
    /// The blind index column, if any.
    pub index: Option<ColumnInfo>,
}

/// One row read for a job.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its primary key.
    pub pk: Pk,
    /// The column's value.
    pub value: Cell,
}

/// A compare-and-swap update: set the column to `new` (and the index to
/// `index`, when the job has one) where the primary key is `pk` and the
/// column still holds `old`.
#[derive(Debug)]
pub struct Update {
    /// The row.
    pub pk: Pk,
    /// The value read (never NULL).
    pub old: Cell,
    /// The value written.
    pub new: Cell,
    /// The blind index term (`None`: NULL).
    pub index: Option<Vec<u8>>,
}

/// The checkpoint of a job: the last primary key done.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Job name, e.g. `encrypt users.email`.
    pub job: String,
    /// The last primary key of the last committed batch.
    pub last_pk: Pk,
    /// Rows changed so far by the job.
    pub changed: u64,
}

/// The name of the checkpoint table every engine keeps.
pub const CHECKPOINT_TABLE: &str = "strongroom_migrations";

/// A database connection the migration logic runs on.
pub trait Engine: Send {
    /// `sqlite`, `postgres` or `mysql`.
    fn name(&self) -> &'static str;

    /// Runs SQL statements (separated by `;`) that return no rows: the
    /// caller's own schema changes, and tests.
    fn execute_batch(&mut self, sql: &str) -> Result<()>;

    /// The table's primary key and the columns, with their types.
    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target>;

    /// Length in bytes of the longest value of the column that does not
    /// start like a token (0 when there is none): what the width check of
    /// an encryption needs.
    fn max_len(&mut self, t: &Target) -> Result<u64>;

    /// Widens `col` to hold `width` characters or bytes.
    fn widen(&mut self, t: &Target, col: &ColumnInfo, width: u64) -> Result<()>;

    /// Number of rows of the table.
    fn count(&mut self, t: &Target) -> Result<u64>;

    /// Up to `limit` rows with a primary key above `after`, in key order.
    fn fetch(&mut self, t: &Target, after: Option<&Pk>, limit: usize) -> Result<Vec<Row>>;

    /// The rows with these primary keys (those that still exist).
    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>>;

    /// The index column's value of these rows (for verification).
    fn fetch_index(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<(Pk, Option<Vec<u8>>)>>;

    /// The rows whose blind index column holds one of `terms` (a lookup:
    /// decrypt the values to confirm the match).
    fn lookup(&mut self, t: &Target, terms: &[Vec<u8>]) -> Result<Vec<Row>>;

    /// Up to `limit` values that start like a token (text `sr1.`, binary
    /// version 1 header).
    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>>;

    /// Applies `updates` (compare-and-swap) and, when given, stores the
    /// checkpoint, in one transaction; returns how many rows changed.
    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&Checkpoint>) -> Result<u64>;

    /// The stored checkpoint of `job`, if any.
    fn load_checkpoint(&mut self, job: &str, kind: PkKind) -> Result<Option<Checkpoint>>;

    /// Removes the checkpoint of `job` (the job is finished).
    fn clear_checkpoint(&mut self, job: &str) -> Result<()>;
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
