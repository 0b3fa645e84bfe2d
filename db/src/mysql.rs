//! MySQL and MariaDB through the `mysql` crate (no TLS built in: use a
//! local socket, a trusted network, or a TLS proxy).

use crate::engine::{
    CHECKPOINT_TABLE, Cell, Checkpoint, ColumnInfo, Engine, Pk, PkKind, Row, Storage, Target, Update, quote,
};
use crate::error::{Error, Result};
use crate::url::DbUrl;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, TxOpts, Value as MyValue};

/// A MySQL or MariaDB database.
pub struct MysqlEngine {
    conn: Conn,
    secret: Option<String>,
}

impl std::fmt::Debug for MysqlEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MysqlEngine")
    }
}

fn q(name: &str) -> String {
    quote(name, '`')
}

impl MysqlEngine {
    /// Connects to `url` (`mysql://user@host:port/db`; the password from
    /// the URL or given apart).
    pub fn connect(url: &DbUrl) -> Result<Self> {
        let secret = url.password().map(str::to_string);
        let opts = Opts::from_url(&url.without_password()).map_err(|e| Error::Url {
            url: url.redacted(),
            reason: e.to_string().replace(secret.as_deref().unwrap_or("\u{0}"), "***"),
        })?;
        let opts = OptsBuilder::from_opts(opts)
            .pass(secret.clone())
            .prefer_socket(false);
        let mut conn = Conn::new(opts).map_err(|e| {
            Error::engine(
                "mysql",
                format!("cannot connect to {}: {e}", url.redacted()),
                secret.as_deref(),
            )
        })?;
        conn.query_drop("SET NAMES utf8mb4")
            .map_err(|e| Error::engine("mysql", e, secret.as_deref()))?;
        Ok(Self { conn, secret })
    }

    fn err(&self, e: mysql::Error) -> Error {
        Error::engine("mysql", e, self.secret.as_deref())
    }

    fn select(t: &Target, col: &ColumnInfo) -> String {
        format!("SELECT {}, {} FROM {}", q(&t.pk), q(&col.name), q(&t.table))
    }

    fn rows(&mut self, t: &Target, sql: &str, params: Vec<MyValue>) -> Result<Vec<Row>> {
        let rows: Vec<(MyValue, MyValue)> = self
            .conn
            .exec(sql, params)
            .map_err(|e| Error::engine("mysql", e, None))?;
        rows.into_iter()
            .map(|(k, v)| {
                Ok(Row {
                    pk: pk_of(t, k)?,
                    value: cell_of(t.column.storage, v),
                })
            })
            .collect()
    }
}

/// A condition true for values that start like a token.
fn token_like(t: &Target) -> String {
    let c = q(&t.column.name);
    match t.column.storage {
        Storage::Text => format!("CAST(SUBSTRING({c}, 1, 4) AS BINARY) = 'sr1.'"),
        Storage::Binary => format!("SUBSTRING({c}, 1, 2) IN (UNHEX('0101'), UNHEX('0102'))"),
    }
}

fn pk_of(t: &Target, v: MyValue) -> Result<Pk> {
    match (t.pk_kind, v) {
        (PkKind::Int, MyValue::Int(i)) => Ok(Pk::Int(i)),
        (PkKind::Int, MyValue::UInt(u)) => Ok(Pk::Int(u as i64)),
        (PkKind::Int, MyValue::Bytes(b)) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Pk::Int)
            .ok_or_else(|| Error::engine("mysql", "unreadable integer primary key", None)),
        (PkKind::Text, MyValue::Bytes(b)) => Ok(Pk::Text(String::from_utf8_lossy(&b).into_owned())),
        _ => Err(Error::engine("mysql", "unexpected primary key value", None)),
    }
}

fn cell_of(storage: Storage, v: MyValue) -> Cell {
    match v {
        MyValue::NULL => Cell::Null,
        MyValue::Bytes(b) => match storage {
            Storage::Binary => Cell::Bytes(zeroize::Zeroizing::new(b)),
            Storage::Text => match String::from_utf8(b) {
                Ok(s) => Cell::Text(zeroize::Zeroizing::new(s)),
                Err(e) => Cell::Bytes(zeroize::Zeroizing::new(e.into_bytes())),
            },
        },
        other => Cell::text(other.as_sql(true)),
    }
}

fn pk_value(p: &Pk) -> MyValue {
    match p {
        Pk::Int(i) => MyValue::Int(*i),
        Pk::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
    }
}

fn cell_value(c: &Cell) -> MyValue {
    match c {
        Cell::Null => MyValue::NULL,
        Cell::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
        Cell::Bytes(b) => MyValue::Bytes(b.to_vec()),
    }
}

impl Engine for MysqlEngine {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.conn.query_drop(sql).map_err(|e| self.err(e))
    }

    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target> {
        type Col = (String, String, String, Option<u64>, String);
        let cols: Vec<Col> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, COLUMN_KEY
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (table,),
            )
            .map_err(|e| self.err(e))?;
        if cols.is_empty() {
            return Err(Error::NotFound {
                what: format!("table {table}"),
            });
        }
        let pks: Vec<&Col> = cols.iter().filter(|c| c.4 == "PRI").collect();
        let (pk, pk_kind) = match pks.as_slice() {
            [one] => match one.1.as_str() {
                "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => (one.0.clone(), PkKind::Int),
                "char" | "varchar" | "tinytext" | "text" => (one.0.clone(), PkKind::Text),
                _ => {
                    return Err(Error::PrimaryKey {
                        table: table.into(),
                        reason: format!(
                            "primary key {} of type {} is neither integer nor text",
                            one.0, one.2
                        ),
                    });
                }
            },
            [] => {
                return Err(Error::PrimaryKey {
                    table: table.into(),
                    reason: "no primary key (tokens are bound to the row's primary key)".into(),
                });
            }
            _ => {
                return Err(Error::PrimaryKey {
                    table: table.into(),
                    reason: "a primary key of several columns is not supported".into(),
                });
            }
        };
        let find = |name: &str, is_index: bool| -> Result<ColumnInfo> {
            let (n, data_type, column_type, max, _) =
                cols.iter().find(|c| c.0 == name).ok_or_else(|| Error::NotFound {
                    what: format!("column {table}.{name}"),
                })?;
            let storage = match data_type.as_str() {
                "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => Storage::Text,
                "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Storage::Binary,
                // BINARY(n) pads with zero bytes: right for index terms of
                // exactly n bytes, wrong for tokens.
                "binary" if is_index => Storage::Binary,
                _ => {
                    return Err(Error::ColumnType {
                        table: table.into(),
                        column: n.clone(),
                        declared: column_type.clone(),
                        reason: "use VARCHAR or TEXT (text tokens) or VARBINARY or BLOB (binary tokens)"
                            .into(),
                    });
                }
            };
            Ok(ColumnInfo {
                name: n.clone(),
                declared: column_type.clone(),
                storage,
                width: *max,
            })
        };
        Ok(Target {
            table: table.into(),
            pk,
            pk_kind,
            column: find(column, false)?,
            index: index.map(|i| find(i, true)).transpose()?,
        })
    }

    fn max_len(&mut self, t: &Target) -> Result<u64> {
        let sql = format!(
            "SELECT CAST(coalesce(max(octet_length({})), 0) AS SIGNED) FROM {} WHERE NOT ({})",
            q(&t.column.name),
            q(&t.table),
            token_like(t)
        );
        let n: Option<i64> = self.conn.query_first(sql).map_err(|e| self.err(e))?;
        Ok(n.unwrap_or(0) as u64)
    }

    fn widen(&mut self, t: &Target, col: &ColumnInfo, width: u64) -> Result<()> {
        let (nullable, charset, collation): (String, Option<String>, Option<String>) = self
            .conn
            .exec_first(
                "SELECT IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                (&t.table, &col.name),
            )
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::NotFound {
                what: format!("column {}.{}", t.table, col.name),
            })?;
        let ty = match col.storage {
            Storage::Text => {
                let mut ty = format!("VARCHAR({width})");
                if let Some(cs) = charset {
                    ty.push_str(&format!(" CHARACTER SET {cs}"));
                }
                if let Some(co) = collation {
                    ty.push_str(&format!(" COLLATE {co}"));
                }
                ty
            }
            Storage::Binary => format!("VARBINARY({width})"),
        };
        let null = if nullable == "YES" { "NULL" } else { "NOT NULL" };
        let sql = format!("ALTER TABLE {} MODIFY {} {ty} {null}", q(&t.table), q(&col.name));
        self.conn.query_drop(sql).map_err(|e| self.err(e))
    }

    fn count(&mut self, t: &Target) -> Result<u64> {
        let n: Option<i64> = self
            .conn
            .query_first(format!("SELECT count(*) FROM {}", q(&t.table)))
            .map_err(|e| self.err(e))?;
        Ok(n.unwrap_or(0) as u64)
    }

    fn fetch(&mut self, t: &Target, after: Option<&Pk>, limit: usize) -> Result<Vec<Row>> {
        let base = Self::select(t, &t.column);
        let pk = q(&t.pk);
        match after {
            None => self.rows(t, &format!("{base} ORDER BY {pk} LIMIT {limit}"), vec![]),
            Some(a) => self.rows(
                t,
                &format!("{base} WHERE {pk} > ? ORDER BY {pk} LIMIT {limit}"),
                vec![pk_value(a)],
            ),
        }
    }

    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(1000) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "{} WHERE {} IN ({marks}) ORDER BY {}",
                Self::select(t, &t.column),
                q(&t.pk),
                q(&t.pk)
            );
            out.extend(self.rows(t, &sql, chunk.iter().map(pk_value).collect())?);
        }
        Ok(out)
    }

    fn fetch_index(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<(Pk, Option<Vec<u8>>)>> {
        let Some(idx) = &t.index else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for chunk in keys.chunks(1000) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("{} WHERE {} IN ({marks})", Self::select(t, idx), q(&t.pk));
            let rows: Vec<(MyValue, Option<Vec<u8>>)> = self
                .conn
                .exec(sql, chunk.iter().map(pk_value).collect::<Vec<_>>())
                .map_err(|e| Error::engine("mysql", e, None))?;
            for (k, v) in rows {
                out.push((pk_of(t, k)?, v));
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
        let marks = vec!["?"; terms.len()].join(",");
        let sql = format!(
            "{} WHERE {} IN ({marks}) ORDER BY {}",
            Self::select(t, &t.column),
            q(&idx.name),
            q(&t.pk)
        );
        self.rows(t, &sql, terms.iter().map(|b| MyValue::Bytes(b.clone())).collect())
    }

    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>> {
        let cond = token_like(t);
        let sql = format!(
            "{} WHERE {cond} ORDER BY {} LIMIT {limit}",
            Self::select(t, &t.column),
            q(&t.pk)
        );
        self.rows(t, &sql, vec![])
    }

    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&Checkpoint>) -> Result<u64> {
        if checkpoint.is_some() {
            self.conn
                .query_drop(format!(
                    "CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (job VARCHAR(255) PRIMARY KEY, last_pk TEXT NOT NULL,
                     changed BIGINT NOT NULL, updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
                ))
                .map_err(|e| self.err(e))?;
        }
        let secret = self.secret.clone();
        let e = |e: mysql::Error| Error::engine("mysql", e, secret.as_deref());
        let (pk, c, tb) = (q(&t.pk), q(&t.column.name), q(&t.table));
        let set_index = t
            .index
            .as_ref()
            .map(|i| format!(", t.{} = v.i", q(&i.name)))
            .unwrap_or_default();
        // Compare bytes, not collation-equal text: a value the application
        // changed only in case or trailing spaces is still a change.
        let same = match t.column.storage {
            Storage::Text => format!("CAST(t.{c} AS BINARY) <=> CAST(v.o AS BINARY)"),
            Storage::Binary => format!("t.{c} <=> v.o"),
        };
        let mut tx = self.conn.start_transaction(TxOpts::default()).map_err(e)?;
        let mut changed = 0;
        for chunk in updates.chunks(500) {
            // Binary values must not pass through the connection's
            // character set.
            let v = match t.column.storage {
                Storage::Text => "?",
                Storage::Binary => "CAST(? AS BINARY)",
            };
            let b = "CAST(? AS BINARY)";
            let mut sel = format!("SELECT ? AS k, {v} AS o, {v} AS n, {b} AS i");
            for _ in 1..chunk.len() {
                sel.push_str(&format!(" UNION ALL SELECT ?, {v}, {v}, {b}"));
            }
            let sql = format!(
                "UPDATE {tb} AS t JOIN ({sel}) AS v ON t.{pk} = v.k SET t.{c} = v.n{set_index} WHERE {same}"
            );
            let mut params = Vec::with_capacity(chunk.len() * 4);
            for u in chunk {
                params.push(pk_value(&u.pk));
                params.push(cell_value(&u.old));
                params.push(cell_value(&u.new));
                params.push(
                    u.index
                        .as_ref()
                        .map_or(MyValue::NULL, |b| MyValue::Bytes(b.clone())),
                );
            }
            tx.exec_drop(sql, params).map_err(e)?;
            changed += tx.affected_rows();
        }
        if let Some(cp) = checkpoint {
            tx.exec_drop(
                format!(
                    "INSERT INTO {CHECKPOINT_TABLE} (job, last_pk, changed) VALUES (?, ?, ?)
                     ON DUPLICATE KEY UPDATE last_pk = VALUES(last_pk), changed = VALUES(changed), updated_at = CURRENT_TIMESTAMP"
                ),
                (&cp.job, cp.last_pk.encode(), cp.changed as i64),
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(changed)
    }

    fn load_checkpoint(&mut self, job: &str, kind: PkKind) -> Result<Option<Checkpoint>> {
        let exists: Option<i64> = self
            .conn
            .exec_first(
                "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (CHECKPOINT_TABLE,),
            )
            .map_err(|e| self.err(e))?;
        if exists.unwrap_or(0) == 0 {
            return Ok(None);
        }
        let row: Option<(String, i64)> = self
            .conn
            .exec_first(
                format!("SELECT last_pk, changed FROM {CHECKPOINT_TABLE} WHERE job = ?"),
                (job,),
            )
            .map_err(|e| self.err(e))?;
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
                .exec_drop(format!("DELETE FROM {CHECKPOINT_TABLE} WHERE job = ?"), (job,))
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
