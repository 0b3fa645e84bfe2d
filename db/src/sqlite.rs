//! SQLite through rusqlite.

use crate::checkpoint::{self, Arg, CHECKPOINT_TABLE, Checkpoint, CheckpointWrite, Claim, Params};
use crate::classify::{TEXT_TOKEN_PREFIXES, binary_token_sql};
use crate::engine::{Cell, ColumnInfo, Engine, Pk, PkKind, Row, Storage, Target, Transport, Update, quote};
use crate::error::{Error, Result};
use crate::names::TableName;
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params_from_iter};
use std::time::Duration;

/// A SQLite database.
#[derive(Debug)]
pub struct SqliteEngine {
    conn: Connection,
    sql: checkpoint::Sql,
}

impl SqliteEngine {
    /// Opens (without creating) the database file at `path`.
    pub fn open(path: &str) -> Result<Self> {
        Self::open_with(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
    }

    /// Opens the database file at `path` read-only: nothing through this
    /// connection can change it.
    pub fn open_read_only(path: &str) -> Result<Self> {
        Self::open_with(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }

    fn open_with(path: &str, flags: OpenFlags) -> Result<Self> {
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| Error::engine("sqlite", format!("cannot open {path}: {e}"), None))?;
        Self::from_connection(conn)
    }

    /// Uses an open connection (which the caller gets back with
    /// [`SqliteEngine::into_inner`]).
    pub fn from_connection(conn: Connection) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(30))?;
        Ok(Self {
            conn,
            sql: checkpoint::Sql::new(Params::Question, '"'),
        })
    }

    /// The connection.
    pub fn into_inner(self) -> Connection {
        self.conn
    }

    /// The connection, for the caller's own queries.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// `SELECT pk, column, index FROM table` (index NULL when there is none).
    fn select(t: &Target) -> String {
        let idx = t
            .index
            .as_ref()
            .map_or_else(|| "NULL".to_string(), |i| q(&i.name));
        format!(
            "SELECT {}, {}, {idx} FROM {}",
            q(&t.pk),
            q(&t.column.name),
            t.sql_table('"')
        )
    }

    fn rows(&self, t: &Target, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(Row {
                pk: read_pk(t, r.get_ref(0)?)?,
                value: read_cell(r.get_ref(1)?),
                index: match r.get_ref(2)? {
                    ValueRef::Blob(b) => Some(b.to_vec()),
                    ValueRef::Text(b) => Some(b.to_vec()),
                    _ => None,
                },
            });
        }
        Ok(out)
    }
}

fn q(name: &str) -> String {
    quote(name, '"')
}

/// SQLite's type affinity rules (section 3.1 of its datatype page).
fn affinity(declared: &str) -> &'static str {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        "integer"
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        "text"
    } else if d.contains("BLOB") || d.is_empty() {
        "blob"
    } else {
        "numeric"
    }
}

/// A condition true for values shaped like a token (pre-filter; the rule
/// is [`crate::classify`]).
fn token_like(t: &Target) -> String {
    let c = q(&t.column.name);
    match t.column.storage {
        Storage::Text => format!(
            "substr({c}, 1, 9) IN ('{}', '{}')",
            TEXT_TOKEN_PREFIXES[0], TEXT_TOKEN_PREFIXES[1]
        ),
        Storage::Binary => format!(
            "typeof({c}) = 'blob' AND {}",
            binary_token_sql(&c, "substr", "length", |h| format!("x'{h}'"))
        ),
    }
}

fn bind(c: &Cell) -> ToSqlOutput<'_> {
    match c {
        Cell::Null => ToSqlOutput::Owned(SqlValue::Null),
        Cell::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Cell::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
    }
}

fn bind_pk(p: &Pk) -> ToSqlOutput<'_> {
    match p {
        Pk::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        // SQLite integers are signed 64-bit: an unsigned key never comes
        // from SQLite.
        Pk::UInt(u) => ToSqlOutput::Owned(SqlValue::Integer(i64::try_from(*u).unwrap_or(i64::MAX))),
        Pk::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
    }
}

fn bind_arg(a: &Arg) -> ToSqlOutput<'_> {
    match a {
        Arg::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Arg::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Arg::Null => ToSqlOutput::Owned(SqlValue::Null),
    }
}

fn read_cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Cell::text(s),
            // Text that is not UTF-8: bytes, of the wrong kind for a text
            // column (see crate::classify).
            Err(_) => Cell::bytes(t),
        },
        ValueRef::Blob(b) => Cell::bytes(b),
        // Numbers only reach a text-affinity column as text; in a blob
        // column they are text of the wrong kind (crate::classify).
        ValueRef::Integer(i) => Cell::text(i.to_string()),
        ValueRef::Real(f) => Cell::text(f.to_string()),
    }
}

fn read_pk(t: &Target, v: ValueRef<'_>) -> Result<Pk> {
    match (t.pk_kind, v) {
        (PkKind::Int, ValueRef::Integer(i)) => Ok(Pk::Int(i)),
        (PkKind::Text, ValueRef::Text(b)) => match std::str::from_utf8(b) {
            Ok(s) => Ok(Pk::Text(s.to_string())),
            Err(_) => Err(Error::PrimaryKey {
                table: t.table.clone(),
                reason: format!("a value of primary key {} is not UTF-8 text", t.pk),
            }),
        },
        (_, ValueRef::Null) => Err(null_pk(t)),
        (_, v) => Err(Error::PrimaryKey {
            table: t.table.clone(),
            reason: format!(
                "primary key {} holds a value of type {} (declared {})",
                t.pk,
                v.data_type(),
                match t.pk_kind {
                    PkKind::Text => "text",
                    _ => "integer",
                }
            ),
        }),
    }
}

fn null_pk(t: &Target) -> Error {
    Error::PrimaryKey {
        table: t.table.clone(),
        reason: format!(
            "a row has NULL in primary key {} (SQLite allows it in a non-INTEGER PRIMARY KEY); give it a key first",
            t.pk
        ),
    }
}

impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn transport(&mut self) -> Result<Transport> {
        Ok(Transport::Local)
    }

    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target> {
        let name = TableName::parse(table)?;
        let schema = name.schema.unwrap_or_else(|| "main".into());
        // SQLite names are case-insensitive (ASCII): the database's spelling.
        let found: Option<String> = self
            .conn
            .query_row(
                &format!(
                    "SELECT name FROM {}.sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
                    q(&schema)
                ),
                [&name.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(..) => Error::NotFound {
                    what: format!("database {schema}"),
                },
                e => e.into(),
            })?;
        let Some(real) = found else {
            return Err(Error::NotFound {
                what: format!("table {table}"),
            });
        };
        let cols: Vec<(String, String, i64)> = self
            .conn
            .prepare("SELECT name, type, pk FROM pragma_table_info(?1, ?2)")?
            .query_map([&real, &schema], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let pks: Vec<&(String, String, i64)> = cols.iter().filter(|c| c.2 > 0).collect();
        let (pk, pk_kind) = match pks.as_slice() {
            [one] => match affinity(&one.1) {
                "integer" => (one.0.clone(), PkKind::Int),
                "text" => (one.0.clone(), PkKind::Text),
                _ => {
                    return Err(Error::PrimaryKey {
                        table: table.into(),
                        reason: format!(
                            "primary key {} of type {:?} is neither integer nor text",
                            one.0, one.1
                        ),
                    });
                }
            },
            [] => {
                return Err(Error::PrimaryKey {
                    table: table.into(),
                    reason: "no primary key (tokens are bound to a stable row key; a rowid can change)"
                        .into(),
                });
            }
            _ => {
                return Err(Error::PrimaryKey {
                    table: table.into(),
                    reason: "a primary key of several columns is not supported".into(),
                });
            }
        };
        let find = |wanted: &str| -> Result<ColumnInfo> {
            let (n, declared, _) = cols
                .iter()
                .find(|c| c.0.eq_ignore_ascii_case(wanted))
                .ok_or_else(|| Error::NotFound {
                    what: format!("column {table}.{wanted}"),
                })?;
            let storage = match affinity(declared) {
                "text" => Storage::Text,
                "blob" if !declared.is_empty() => Storage::Binary,
                _ => {
                    return Err(Error::ColumnType {
                        table: table.into(),
                        column: n.clone(),
                        declared: if declared.is_empty() {
                            "(none)".into()
                        } else {
                            declared.clone()
                        },
                        reason: "use a TEXT column (text tokens) or a BLOB column (binary tokens)".into(),
                    });
                }
            };
            Ok(ColumnInfo {
                name: n.clone(),
                declared: declared.clone(),
                storage,
                // SQLite does not enforce declared lengths.
                width: None,
                charset: None,
            })
        };
        let t = Target {
            table: table.into(),
            schema,
            name: real,
            pk,
            pk_kind,
            column: find(column)?,
            index: index.map(find).transpose()?,
        };
        // SQLite lets a NULL into a non-INTEGER primary key: such a row has
        // no row key, and `pk > ?` never reads it. Refused up front.
        if pk_kind == PkKind::Text {
            let sql = format!(
                "SELECT 1 FROM {} WHERE {} IS NULL LIMIT 1",
                t.sql_table('"'),
                q(&t.pk)
            );
            if self.conn.query_row(&sql, [], |_| Ok(())).optional()?.is_some() {
                return Err(null_pk(&t));
            }
        }
        Ok(t)
    }

    fn max_len(&mut self, t: &Target) -> Result<u64> {
        let sql = format!(
            "SELECT coalesce(max(length(CAST({c} AS BLOB))), 0) FROM {tb} WHERE NOT ({tok})",
            c = q(&t.column.name),
            tb = t.sql_table('"'),
            tok = token_like(t)
        );
        Ok(self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn widen(&mut self, _t: &Target, _col: &ColumnInfo, _width: u64) -> Result<()> {
        // Declared widths are not enforced: nothing to do.
        Ok(())
    }

    fn estimate_rows(&mut self, t: &Target) -> Result<Option<u64>> {
        // The key range of an integer key (an index lookup at each end);
        // a text key has no cheap estimate.
        if t.pk_kind != PkKind::Int {
            return Ok(None);
        }
        let sql = format!(
            "SELECT max({pk}) - min({pk}) + 1 FROM {}",
            t.sql_table('"'),
            pk = q(&t.pk)
        );
        let n: Option<i64> = self.conn.query_row(&sql, [], |r| r.get(0))?;
        Ok(n.and_then(|n| u64::try_from(n).ok()))
    }

    fn max_pk(&mut self, t: &Target) -> Result<Option<Pk>> {
        let sql = format!("SELECT max({}) FROM {}", q(&t.pk), t.sql_table('"'));
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let r = rows.next()?.expect("an aggregate has one row");
        match r.get_ref(0)? {
            ValueRef::Null => Ok(None),
            v => Ok(Some(read_pk(t, v)?)),
        }
    }

    fn fetch(&mut self, t: &Target, after: Option<&Pk>, upto: &Pk, limit: usize) -> Result<Vec<Row>> {
        let pk = q(&t.pk);
        let base = Self::select(t);
        match after {
            Some(a) => self.rows(
                t,
                &format!("{base} WHERE {pk} > ?1 AND {pk} <= ?2 ORDER BY {pk} LIMIT ?3"),
                rusqlite::params![bind_pk(a), bind_pk(upto), limit as i64],
            ),
            None => self.rows(
                t,
                &format!("{base} WHERE {pk} <= ?1 ORDER BY {pk} LIMIT ?2"),
                rusqlite::params![bind_pk(upto), limit as i64],
            ),
        }
    }

    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(keys.len());
        let pk = q(&t.pk);
        for chunk in keys.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("{} WHERE {pk} IN ({marks}) ORDER BY {pk}", Self::select(t));
            out.extend(self.rows(t, &sql, params_from_iter(chunk.iter().map(bind_pk)))?);
        }
        Ok(out)
    }

    fn lookup(&mut self, t: &Target, terms: &[Vec<u8>]) -> Result<Vec<Row>> {
        let Some(idx) = &t.index else {
            return Ok(Vec::new());
        };
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; terms.len()].join(",");
        let sql = format!(
            "{} WHERE {} IN ({marks}) ORDER BY {}",
            Self::select(t),
            q(&idx.name),
            q(&t.pk)
        );
        self.rows(t, &sql, params_from_iter(terms.iter()))
    }

    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>> {
        let sql = format!(
            "{} WHERE {} ORDER BY {} LIMIT ?1",
            Self::select(t),
            token_like(t),
            q(&t.pk)
        );
        self.rows(t, &sql, [limit as i64])
    }

    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&CheckpointWrite>) -> Result<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changed = 0u64;
        {
            let (pk, c) = (q(&t.pk), q(&t.column.name));
            let set_index = t
                .index
                .as_ref()
                .map(|i| format!(", {} = ?4", q(&i.name)))
                .unwrap_or_default();
            // `IS` matches NULL too; COLLATE BINARY compares the exact text
            // even where the column has a case-insensitive collation, and a
            // text never equals a blob.
            let sql = format!(
                "UPDATE {} SET {c} = ?1{set_index} WHERE {pk} = ?2 AND {c} IS ?3 COLLATE BINARY",
                t.sql_table('"')
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            for u in updates {
                let index = u
                    .index
                    .as_deref()
                    .map_or(ToSqlOutput::Owned(SqlValue::Null), |b| {
                        ToSqlOutput::Borrowed(ValueRef::Blob(b))
                    });
                changed += if t.index.is_some() {
                    stmt.execute(rusqlite::params![
                        bind(&u.new),
                        bind_pk(&u.pk),
                        bind(&u.old),
                        index
                    ])?
                } else {
                    stmt.execute(rusqlite::params![bind(&u.new), bind_pk(&u.pk), bind(&u.old)])?
                } as u64;
            }
        }
        if let Some(cp) = checkpoint {
            let (sql, args) = self.sql.progress(cp, changed);
            let n = tx.execute(&sql, params_from_iter(args.iter().map(bind_arg)))?;
            if n != 1 {
                // Dropping the transaction rolls the batch back.
                return Err(Error::ConcurrentRun {
                    column: cp.column_key.clone(),
                });
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    fn checkpoint_table_exists(&mut self) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [CHECKPOINT_TABLE],
            |r| r.get(0),
        )?)
    }

    fn create_checkpoint_table(&mut self) -> Result<()> {
        Ok(self.conn.execute_batch(&checkpoint::ddl("sqlite"))?)
    }

    fn load_checkpoint(&mut self, column_key: &str) -> Result<Option<Checkpoint>> {
        let (sql, args) = self.sql.select(column_key);
        Ok(self
            .conn
            .query_row(&sql, params_from_iter(args.iter().map(bind_arg)), |r| {
                Ok(Checkpoint {
                    column_key: column_key.into(),
                    job: r.get(0)?,
                    run_id: r.get(1)?,
                    last_pk: r.get(2)?,
                    changed: r.get::<_, i64>(3)?.max(0) as u64,
                    started_at: r.get(4)?,
                    updated_at: r.get(5)?,
                })
            })
            .optional()?)
    }

    fn claim(&mut self, claim: &Claim) -> Result<()> {
        let (sql, args) = self.sql.claim(claim);
        match self
            .conn
            .execute(&sql, params_from_iter(args.iter().map(bind_arg)))
        {
            Ok(1) => Ok(()),
            // Not there any more, or inserted by another run first.
            Ok(_) => Err(Error::ConcurrentRun {
                column: claim.column_key.clone(),
            }),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(Error::ConcurrentRun {
                    column: claim.column_key.clone(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn release(&mut self, column_key: &str, run_id: &str) -> Result<()> {
        let (sql, args) = self.sql.release(column_key, run_id);
        self.conn
            .execute(&sql, params_from_iter(args.iter().map(bind_arg)))?;
        Ok(())
    }
}
