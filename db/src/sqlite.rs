//! SQLite through rusqlite.

use crate::engine::{
    CHECKPOINT_TABLE, Cell, Checkpoint, ColumnInfo, Engine, Pk, PkKind, Row, Storage, Target, Update, quote,
};
use crate::error::{Error, Result};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params_from_iter};
use std::time::Duration;

/// A SQLite database.
#[derive(Debug)]
pub struct SqliteEngine {
    conn: Connection,
}

impl SqliteEngine {
    /// Opens (without creating) the database file at `path`.
    pub fn open(path: &str) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::engine("sqlite", format!("cannot open {path}: {e}"), None))?;
        Self::from_connection(conn)
    }

    /// Uses an open connection (which the caller gets back with
    /// [`SqliteEngine::into_inner`]).
    pub fn from_connection(conn: Connection) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(30))?;
        Ok(Self { conn })
    }

    /// The connection.
    pub fn into_inner(self) -> Connection {
        self.conn
    }

    /// The connection, for the caller's own queries.
    pub fn connection(&self) -> &Connection {
        &self.conn
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

/// A condition true for values that start like a token.
fn token_like(t: &Target) -> String {
    let c = q(&t.column.name);
    match t.column.storage {
        Storage::Text => format!("substr({c}, 1, 4) = 'sr1.'"),
        Storage::Binary => format!("typeof({c}) = 'blob' AND substr({c}, 1, 2) IN (x'0101', x'0102')"),
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
        Pk::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
    }
}

fn read_cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Cell::text(s),
            Err(_) => Cell::bytes(t),
        },
        ValueRef::Blob(b) => Cell::bytes(b),
        // Numbers in a text or blob column: their text, which no token
        // starts like (the job reports them as of the wrong kind in
        // binary columns).
        ValueRef::Integer(i) => Cell::text(i.to_string()),
        ValueRef::Real(f) => Cell::text(f.to_string()),
    }
}

fn read_pk(kind: PkKind, v: ValueRef<'_>) -> rusqlite::Result<Pk> {
    match (kind, v) {
        (PkKind::Int, ValueRef::Integer(i)) => Ok(Pk::Int(i)),
        (PkKind::Text, ValueRef::Text(t)) => Ok(Pk::Text(String::from_utf8_lossy(t).into_owned())),
        _ => Err(rusqlite::Error::InvalidColumnType(0, "pk".into(), v.data_type())),
    }
}

impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target> {
        let cols: Vec<(String, String, i64)> = self
            .conn
            .prepare("SELECT name, type, pk FROM pragma_table_info(?1)")?
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if cols.is_empty() {
            return Err(Error::NotFound {
                what: format!("table {table}"),
            });
        }
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
        let find = |name: &str| -> Result<ColumnInfo> {
            let (n, declared, _) = cols.iter().find(|c| c.0 == name).ok_or_else(|| Error::NotFound {
                what: format!("column {table}.{name}"),
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
            })
        };
        Ok(Target {
            table: table.into(),
            pk,
            pk_kind,
            column: find(column)?,
            index: index.map(find).transpose()?,
        })
    }

    fn max_len(&mut self, t: &Target) -> Result<u64> {
        let sql = format!(
            "SELECT coalesce(max(length(CAST({c} AS BLOB))), 0) FROM {t} WHERE NOT ({tok})",
            c = q(&t.column.name),
            t = q(&t.table),
            tok = token_like(t)
        );
        Ok(self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn widen(&mut self, _t: &Target, _col: &ColumnInfo, _width: u64) -> Result<()> {
        // Declared widths are not enforced: nothing to do.
        Ok(())
    }

    fn count(&mut self, t: &Target) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", q(&t.table));
        Ok(self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn fetch(&mut self, t: &Target, after: Option<&Pk>, limit: usize) -> Result<Vec<Row>> {
        let (pk, c, tb) = (q(&t.pk), q(&t.column.name), q(&t.table));
        let cond = if after.is_some() {
            format!("WHERE {pk} > ?1 ")
        } else {
            String::new()
        };
        let n = if after.is_some() { 2 } else { 1 };
        let sql = format!("SELECT {pk}, {c} FROM {tb} {cond}ORDER BY {pk} LIMIT ?{n}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let kind = t.pk_kind;
        let map = |r: &rusqlite::Row<'_>| {
            Ok(Row {
                pk: read_pk(kind, r.get_ref(0)?)?,
                value: read_cell(r.get_ref(1)?),
            })
        };
        let rows = match after {
            Some(a) => stmt.query_map(rusqlite::params![bind_pk(a), limit as i64], map)?,
            None => stmt.query_map([limit as i64], map)?,
        };
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(keys.len());
        let (pk, c, tb) = (q(&t.pk), q(&t.column.name), q(&t.table));
        for chunk in keys.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("SELECT {pk}, {c} FROM {tb} WHERE {pk} IN ({marks}) ORDER BY {pk}");
            let mut stmt = self.conn.prepare(&sql)?;
            let kind = t.pk_kind;
            let rows = stmt.query_map(params_from_iter(chunk.iter().map(bind_pk)), |r| {
                Ok(Row {
                    pk: read_pk(kind, r.get_ref(0)?)?,
                    value: read_cell(r.get_ref(1)?),
                })
            })?;
            for r in rows {
                out.push(r?);
            }
        }
        Ok(out)
    }

    fn fetch_index(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<(Pk, Option<Vec<u8>>)>> {
        let Some(idx) = &t.index else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(keys.len());
        let (pk, c, tb) = (q(&t.pk), q(&idx.name), q(&t.table));
        for chunk in keys.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("SELECT {pk}, {c} FROM {tb} WHERE {pk} IN ({marks})");
            let mut stmt = self.conn.prepare(&sql)?;
            let kind = t.pk_kind;
            let rows = stmt.query_map(params_from_iter(chunk.iter().map(bind_pk)), |r| {
                Ok((read_pk(kind, r.get_ref(0)?)?, r.get::<_, Option<Vec<u8>>>(1)?))
            })?;
            for r in rows {
                out.push(r?);
            }
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
        let (pk, c, tb) = (q(&t.pk), q(&t.column.name), q(&t.table));
        let marks = vec!["?"; terms.len()].join(",");
        let sql = format!(
            "SELECT {pk}, {c} FROM {tb} WHERE {} IN ({marks}) ORDER BY {pk}",
            q(&idx.name)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let kind = t.pk_kind;
        let rows = stmt.query_map(params_from_iter(terms.iter()), |r| {
            Ok(Row {
                pk: read_pk(kind, r.get_ref(0)?)?,
                value: read_cell(r.get_ref(1)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>> {
        let (pk, c, tb) = (q(&t.pk), q(&t.column.name), q(&t.table));
        let cond = token_like(t);
        let sql = format!("SELECT {pk}, {c} FROM {tb} WHERE {cond} ORDER BY {pk} LIMIT ?1");
        let mut stmt = self.conn.prepare(&sql)?;
        let kind = t.pk_kind;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Row {
                pk: read_pk(kind, r.get_ref(0)?)?,
                value: read_cell(r.get_ref(1)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&Checkpoint>) -> Result<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changed = 0u64;
        {
            let (pk, c, tb) = (q(&t.pk), q(&t.column.name), q(&t.table));
            let set_index = t
                .index
                .as_ref()
                .map(|i| format!(", {} = ?4", q(&i.name)))
                .unwrap_or_default();
            // `IS` matches NULL too; COLLATE BINARY compares the exact text
            // even where the column has a case-insensitive collation.
            let sql =
                format!("UPDATE {tb} SET {c} = ?1{set_index} WHERE {pk} = ?2 AND {c} IS ?3 COLLATE BINARY");
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
            tx.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (
                    job TEXT PRIMARY KEY, last_pk TEXT NOT NULL, changed INTEGER NOT NULL, updated_at TEXT NOT NULL)"
            ))?;
            tx.prepare_cached(&format!(
                "INSERT INTO {CHECKPOINT_TABLE} (job, last_pk, changed, updated_at) VALUES (?1, ?2, ?3, datetime('now'))
                 ON CONFLICT (job) DO UPDATE SET last_pk = excluded.last_pk, changed = excluded.changed,
                 updated_at = excluded.updated_at"
            ))?
            .execute(rusqlite::params![cp.job, cp.last_pk.encode(), cp.changed as i64])?;
        }
        tx.commit()?;
        Ok(changed)
    }

    fn load_checkpoint(&mut self, job: &str, kind: PkKind) -> Result<Option<Checkpoint>> {
        let exists: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [CHECKPOINT_TABLE],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(None);
        }
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                &format!("SELECT last_pk, changed FROM {CHECKPOINT_TABLE} WHERE job = ?1"),
                [job],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(pk, changed)| {
            Pk::decode(kind, &pk).map(|last_pk| Checkpoint {
                job: job.into(),
                last_pk,
                changed: changed as u64,
            })
        }))
    }

    fn clear_checkpoint(&mut self, job: &str) -> Result<()> {
        if self.load_checkpoint(job, PkKind::Text)?.is_some() {
            self.conn
                .execute(&format!("DELETE FROM {CHECKPOINT_TABLE} WHERE job = ?1"), [job])?;
        }
        Ok(())
    }
}
