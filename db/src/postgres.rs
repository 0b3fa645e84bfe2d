//! PostgreSQL through rust-postgres (synchronous client, no TLS: use a
//! local socket, a TCP connection on a trusted network, or a TLS proxy).

use crate::engine::{
    CHECKPOINT_TABLE, Cell, Checkpoint, ColumnInfo, Engine, Pk, PkKind, Row, Storage, Target, Update, quote,
};
use crate::error::{Error, Result};
use crate::url::DbUrl;
use postgres::types::ToSql;
use postgres::{Client, NoTls};

/// A PostgreSQL database.
pub struct PostgresEngine {
    client: Client,
    /// To redact from driver messages.
    secret: Option<String>,
}

impl std::fmt::Debug for PostgresEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresEngine")
    }
}

fn q(name: &str) -> String {
    quote(name, '"')
}

impl PostgresEngine {
    /// Connects to `url` (`postgres://user@host:port/db`; the password from
    /// the URL or given apart).
    pub fn connect(url: &DbUrl) -> Result<Self> {
        let secret = url.password().map(str::to_string);
        let mut config: postgres::Config = url.without_password().parse().map_err(|e| Error::Url {
            url: url.redacted(),
            reason: redact_msg(e, secret.as_deref()),
        })?;
        if let Some(p) = &secret {
            config.password(p);
        }
        let client = config.connect(NoTls).map_err(|e| {
            Error::engine(
                "postgres",
                format!("cannot connect to {}: {e}", url.redacted()),
                secret.as_deref(),
            )
        })?;
        Ok(Self { client, secret })
    }

    fn err(&self, e: postgres::Error) -> Error {
        let msg = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        Error::engine("postgres", msg, self.secret.as_deref())
    }

    fn ensure_checkpoint_table(&mut self) -> Result<()> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (job text PRIMARY KEY, last_pk text NOT NULL,
             changed bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
        );
        self.client.batch_execute(&sql).map_err(|e| self.err(e))
    }

    fn select(&self, t: &Target, col: &ColumnInfo) -> String {
        let pk = match t.pk_kind {
            PkKind::Int => format!("{}::int8", q(&t.pk)),
            PkKind::Text => format!("{}::text", q(&t.pk)),
        };
        let c = match col.storage {
            Storage::Text => format!("{}::text", q(&col.name)),
            Storage::Binary => q(&col.name),
        };
        format!("SELECT {pk}, {c} FROM {}", q(&t.table))
    }

    fn pk_cast(t: &Target) -> &'static str {
        match t.pk_kind {
            PkKind::Int => "int8",
            PkKind::Text => "text",
        }
    }

    fn rows(&mut self, t: &Target, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let rows = self.client.query(sql, params).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let pk = match t.pk_kind {
                PkKind::Int => Pk::Int(r.get(0)),
                PkKind::Text => Pk::Text(r.get(0)),
            };
            let value = match t.column.storage {
                Storage::Text => r.get::<_, Option<String>>(1).map_or(Cell::Null, Cell::text),
                Storage::Binary => r.get::<_, Option<Vec<u8>>>(1).map_or(Cell::Null, Cell::bytes),
            };
            out.push(Row { pk, value });
        }
        Ok(out)
    }
}

/// A condition true for values that start like a token.
fn token_like(t: &Target) -> String {
    let c = q(&t.column.name);
    match t.column.storage {
        Storage::Text => format!("substr({c}, 1, 4) = 'sr1.'"),
        Storage::Binary => format!("substring({c} FROM 1 FOR 2) IN ('\\x0101'::bytea, '\\x0102'::bytea)"),
    }
}

fn redact_msg(e: impl std::fmt::Display, secret: Option<&str>) -> String {
    let m = e.to_string();
    match secret.filter(|s| !s.is_empty()) {
        Some(s) => m.replace(s, "***"),
        None => m,
    }
}

fn pk_params(keys: &[Pk]) -> (Vec<i64>, Vec<String>) {
    let mut ints = Vec::new();
    let mut texts = Vec::new();
    for k in keys {
        match k {
            Pk::Int(i) => ints.push(*i),
            Pk::Text(s) => texts.push(s.clone()),
        }
    }
    (ints, texts)
}

impl Engine for PostgresEngine {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(|e| self.err(e))
    }

    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target> {
        let rel = q(table);
        let cols = self
            .client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text, a.atttypmod,
                        coalesce(a.attnum = ANY(i.indkey), false)
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                &[&rel],
            )
            .map_err(|e| self.err(e))?;
        if cols.is_empty() {
            return Err(Error::NotFound {
                what: format!("table {table}"),
            });
        }
        let cols: Vec<(String, String, String, i32, bool)> = cols
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        let pks: Vec<_> = cols.iter().filter(|c| c.4).collect();
        let (pk, pk_kind) = match pks.as_slice() {
            [one] => match one.2.as_str() {
                "int2" | "int4" | "int8" => (one.0.clone(), PkKind::Int),
                "text" | "varchar" | "bpchar" => (one.0.clone(), PkKind::Text),
                _ => {
                    return Err(Error::PrimaryKey {
                        table: table.into(),
                        reason: format!(
                            "primary key {} of type {} is neither integer nor text",
                            one.0, one.1
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
        let find = |name: &str| -> Result<ColumnInfo> {
            let (n, declared, typ, typmod, _) =
                cols.iter().find(|c| c.0 == name).ok_or_else(|| Error::NotFound {
                    what: format!("column {table}.{name}"),
                })?;
            let (storage, width) = match typ.as_str() {
                "text" => (Storage::Text, None),
                "varchar" | "bpchar" => (Storage::Text, (*typmod > 4).then(|| (*typmod - 4) as u64)),
                "bytea" => (Storage::Binary, None),
                _ => {
                    return Err(Error::ColumnType {
                        table: table.into(),
                        column: n.clone(),
                        declared: declared.clone(),
                        reason: "use text or varchar (text tokens) or bytea (binary tokens)".into(),
                    });
                }
            };
            Ok(ColumnInfo {
                name: n.clone(),
                declared: declared.clone(),
                storage,
                width,
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
            "SELECT coalesce(max(octet_length({})), 0)::int8 FROM {} WHERE NOT ({})",
            q(&t.column.name),
            q(&t.table),
            token_like(t)
        );
        let r = self.client.query_one(&sql, &[]).map_err(|e| self.err(e))?;
        Ok(r.get::<_, i64>(0) as u64)
    }

    fn widen(&mut self, t: &Target, col: &ColumnInfo, width: u64) -> Result<()> {
        let ty = match col.storage {
            Storage::Text => format!("varchar({width})"),
            Storage::Binary => return Ok(()),
        };
        let sql = format!(
            "ALTER TABLE {} ALTER COLUMN {} TYPE {ty}",
            q(&t.table),
            q(&col.name)
        );
        self.client.batch_execute(&sql).map_err(|e| self.err(e))
    }

    fn count(&mut self, t: &Target) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", q(&t.table));
        let r = self.client.query_one(&sql, &[]).map_err(|e| self.err(e))?;
        Ok(r.get::<_, i64>(0) as u64)
    }

    fn fetch(&mut self, t: &Target, after: Option<&Pk>, limit: usize) -> Result<Vec<Row>> {
        let base = self.select(t, &t.column);
        let pk = q(&t.pk);
        let limit = limit as i64;
        match after {
            None => self.rows(t, &format!("{base} ORDER BY {pk} LIMIT $1"), &[&limit]),
            Some(Pk::Int(i)) => self.rows(
                t,
                &format!("{base} WHERE {pk} > $1::int8 ORDER BY {pk} LIMIT $2"),
                &[i, &limit],
            ),
            Some(Pk::Text(s)) => self.rows(
                t,
                &format!("{base} WHERE {pk} > $1::text ORDER BY {pk} LIMIT $2"),
                &[s, &limit],
            ),
        }
    }

    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>> {
        let sql = format!(
            "{} WHERE {} = ANY($1::{}[]) ORDER BY {}",
            self.select(t, &t.column),
            q(&t.pk),
            Self::pk_cast(t),
            q(&t.pk)
        );
        let (ints, texts) = pk_params(keys);
        match t.pk_kind {
            PkKind::Int => self.rows(t, &sql, &[&ints]),
            PkKind::Text => self.rows(t, &sql, &[&texts]),
        }
    }

    fn fetch_index(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<(Pk, Option<Vec<u8>>)>> {
        let Some(idx) = &t.index else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "{} WHERE {} = ANY($1::{}[])",
            self.select(t, idx),
            q(&t.pk),
            Self::pk_cast(t)
        );
        let (ints, texts) = pk_params(keys);
        let rows = match t.pk_kind {
            PkKind::Int => self.client.query(&sql, &[&ints]),
            PkKind::Text => self.client.query(&sql, &[&texts]),
        }
        .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| {
                let pk = match t.pk_kind {
                    PkKind::Int => Pk::Int(r.get(0)),
                    PkKind::Text => Pk::Text(r.get(0)),
                };
                (pk, r.get(1))
            })
            .collect())
    }

    fn lookup(&mut self, t: &Target, terms: &[Vec<u8>]) -> Result<Vec<Row>> {
        let Some(idx) = &t.index else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "{} WHERE {} = ANY($1::bytea[]) ORDER BY {}",
            self.select(t, &t.column),
            q(&idx.name),
            q(&t.pk)
        );
        self.rows(t, &sql, &[&terms])
    }

    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>> {
        let cond = token_like(t);
        let sql = format!(
            "{} WHERE {cond} ORDER BY {} LIMIT $1",
            self.select(t, &t.column),
            q(&t.pk)
        );
        self.rows(t, &sql, &[&(limit as i64)])
    }

    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&Checkpoint>) -> Result<u64> {
        if checkpoint.is_some() {
            self.ensure_checkpoint_table()?;
        }
        let (pk, c, tb) = (q(&t.pk), q(&t.column.name), q(&t.table));
        let vt = match t.column.storage {
            Storage::Text => "text",
            Storage::Binary => "bytea",
        };
        let set_index = t
            .index
            .as_ref()
            .map(|i| format!(", {} = v.i", q(&i.name)))
            .unwrap_or_default();
        let sql = format!(
            "UPDATE {tb} AS t SET {c} = v.n{set_index}
             FROM unnest($1::{pkt}[], $2::{vt}[], $3::{vt}[], $4::bytea[]) AS v(k, o, n, i)
             WHERE t.{pk} = v.k AND t.{c} IS NOT DISTINCT FROM v.o",
            pkt = Self::pk_cast(t)
        );
        let keys: Vec<Pk> = updates.iter().map(|u| u.pk.clone()).collect();
        let (ints, texts) = pk_params(&keys);
        let idx: Vec<Option<&[u8]>> = updates.iter().map(|u| u.index.as_deref()).collect();
        let secret = self.secret.clone();
        let e = |e: postgres::Error| {
            let msg = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string());
            Error::engine("postgres", msg, secret.as_deref())
        };
        let mut tx = self.client.transaction().map_err(e)?;
        let keys_param: &(dyn ToSql + Sync) = match t.pk_kind {
            PkKind::Int => &ints,
            PkKind::Text => &texts,
        };
        let n = match t.column.storage {
            Storage::Text => {
                fn text(c: &Cell) -> Option<&str> {
                    match c {
                        Cell::Text(s) => Some(s.as_str()),
                        _ => None,
                    }
                }
                let old: Vec<Option<&str>> = updates.iter().map(|u| text(&u.old)).collect();
                let new: Vec<Option<&str>> = updates.iter().map(|u| text(&u.new)).collect();
                tx.execute(&sql, &[keys_param, &old, &new, &idx]).map_err(e)?
            }
            Storage::Binary => {
                fn bin(c: &Cell) -> Option<&[u8]> {
                    match c {
                        Cell::Bytes(b) => Some(b.as_slice()),
                        _ => None,
                    }
                }
                let old: Vec<Option<&[u8]>> = updates.iter().map(|u| bin(&u.old)).collect();
                let new: Vec<Option<&[u8]>> = updates.iter().map(|u| bin(&u.new)).collect();
                tx.execute(&sql, &[keys_param, &old, &new, &idx]).map_err(e)?
            }
        };
        if let Some(cp) = checkpoint {
            tx.execute(
                &format!(
                    "INSERT INTO {CHECKPOINT_TABLE} (job, last_pk, changed) VALUES ($1, $2, $3)
                     ON CONFLICT (job) DO UPDATE SET last_pk = excluded.last_pk, changed = excluded.changed, updated_at = now()"
                ),
                &[&cp.job, &cp.last_pk.encode(), &(cp.changed as i64)],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(n)
    }

    fn load_checkpoint(&mut self, job: &str, kind: PkKind) -> Result<Option<Checkpoint>> {
        let exists = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&CHECKPOINT_TABLE])
            .map_err(|e| self.err(e))?
            .get::<_, bool>(0);
        if !exists {
            return Ok(None);
        }
        let row = self
            .client
            .query_opt(
                &format!("SELECT last_pk, changed FROM {CHECKPOINT_TABLE} WHERE job = $1"),
                &[&job],
            )
            .map_err(|e| self.err(e))?;
        Ok(row.and_then(|r| {
            Pk::decode(kind, r.get::<_, &str>(0)).map(|last_pk| Checkpoint {
                job: job.into(),
                last_pk,
                changed: r.get::<_, i64>(1) as u64,
            })
        }))
    }

    fn clear_checkpoint(&mut self, job: &str) -> Result<()> {
        if self.load_checkpoint(job, PkKind::Text)?.is_some() {
            self.client
                .execute(&format!("DELETE FROM {CHECKPOINT_TABLE} WHERE job = $1"), &[&job])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
