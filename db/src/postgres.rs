//! PostgreSQL through rust-postgres (the synchronous client), over TLS
//! with rustls ([`crate::tls`]).

use crate::checkpoint::{self, Arg, CHECKPOINT_TABLE, Checkpoint, CheckpointWrite, Claim, Params};
use crate::classify::{TEXT_TOKEN_PREFIXES, binary_token_sql};
use crate::engine::{Cell, ColumnInfo, Engine, Pk, PkKind, Row, Storage, Target, Transport, Update, quote};
use crate::error::{Error, Result};
use crate::names::TableName;
use crate::tls::{self, TlsMode};
use crate::url::DbUrl;
use postgres::config::SslMode;
use postgres::types::ToSql;
use postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A PostgreSQL database.
pub struct PostgresEngine {
    client: Client,
    /// To redact from driver messages.
    secret: Option<String>,
    /// The server's host, for messages and the transport.
    host: String,
    sql: checkpoint::Sql,
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
    /// the URL or given apart), with the URL's TLS settings. `read_only`
    /// makes every transaction of the session read-only.
    pub fn connect(url: &DbUrl, read_only: bool) -> Result<Self> {
        let secret = url.password().map(str::to_string);
        let mut config: postgres::Config = url.without_password().parse().map_err(|e| Error::Url {
            url: url.redacted(),
            reason: redact_msg(tls::chain(&e), secret.as_deref()),
        })?;
        if let Some(p) = &secret {
            config.password(p);
        }
        let host = url.host();
        let mode = url.tls_mode();
        tls::check_cleartext(&host, mode, url.cleartext_allowed())?;
        let connected = match mode {
            TlsMode::Disable => config.ssl_mode(SslMode::Disable).connect(NoTls),
            mode => {
                let tls_config =
                    tls::client_config(url.tls(), mode).map_err(|reason| Error::Certificate {
                        engine: "postgres",
                        host: host.clone(),
                        reason,
                    })?;
                let ssl = if mode == TlsMode::Prefer {
                    SslMode::Prefer
                } else {
                    SslMode::Require
                };
                config.ssl_mode(ssl).connect(MakeRustlsConnect::new(tls_config))
            }
        };
        let mut client = connected.map_err(|e| {
            if let Some(r) = tls::rustls_cause(&e) {
                return Error::Certificate {
                    engine: "postgres",
                    host: host.clone(),
                    reason: r.to_string(),
                };
            }
            let msg = tls::chain(&e);
            if msg.contains("does not support TLS") {
                return Error::TlsUnavailable {
                    engine: "postgres",
                    host: host.clone(),
                    mode: mode.name(),
                };
            }
            Error::engine(
                "postgres",
                format!("cannot connect to {}: {msg}", url.redacted()),
                secret.as_deref(),
            )
        })?;
        if read_only {
            client
                .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                .map_err(|e| Error::engine("postgres", tls::chain(&e), secret.as_deref()))?;
        }
        Ok(Self {
            client,
            secret,
            host,
            sql: checkpoint::Sql::new(Params::Dollar, '"'),
        })
    }

    fn err(&self, e: postgres::Error) -> Error {
        let msg = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => tls::chain(&e),
        };
        Error::engine("postgres", msg, self.secret.as_deref())
    }

    /// `SELECT pk, column, index FROM table`, the key and value cast to
    /// the types the rows are read as.
    fn select(t: &Target) -> String {
        let pk = match t.pk_kind {
            PkKind::Int | PkKind::UInt => format!("{}::int8", q(&t.pk)),
            PkKind::Text => format!("{}::text", q(&t.pk)),
        };
        let c = match t.column.storage {
            Storage::Text => format!("{}::text", q(&t.column.name)),
            Storage::Binary => q(&t.column.name),
        };
        let idx = t
            .index
            .as_ref()
            .map_or_else(|| "NULL::bytea".to_string(), |i| q(&i.name));
        format!("SELECT {pk}, {c}, {idx} FROM {}", t.sql_table('"'))
    }

    fn pk_cast(t: &Target) -> &'static str {
        match t.pk_kind {
            PkKind::Int | PkKind::UInt => "int8",
            PkKind::Text => "text",
        }
    }

    fn rows(&mut self, t: &Target, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let rows = self.client.query(sql, params).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        let bad = |e: postgres::Error| Error::engine("postgres", tls::chain(&e), None);
        for r in rows {
            let pk = match t.pk_kind {
                PkKind::Int | PkKind::UInt => Pk::Int(r.try_get(0).map_err(bad)?),
                PkKind::Text => Pk::Text(r.try_get(0).map_err(bad)?),
            };
            let value = match t.column.storage {
                Storage::Text => r
                    .try_get::<_, Option<String>>(1)
                    .map_err(bad)?
                    .map_or(Cell::Null, Cell::text),
                Storage::Binary => r
                    .try_get::<_, Option<Vec<u8>>>(1)
                    .map_err(bad)?
                    .map_or(Cell::Null, Cell::bytes),
            };
            let index = r.try_get::<_, Option<Vec<u8>>>(2).map_err(bad)?;
            out.push(Row { pk, value, index });
        }
        Ok(out)
    }

    fn args(args: &[Arg]) -> Vec<Box<dyn ToSql + Sync>> {
        args.iter()
            .map(|a| -> Box<dyn ToSql + Sync> {
                match a {
                    Arg::Text(s) => Box::new(s.clone()),
                    Arg::Int(i) => Box::new(*i),
                    Arg::Null => Box::new(None::<String>),
                }
            })
            .collect()
    }
}

/// A condition true for values shaped like a token (pre-filter; the rule
/// is [`crate::classify`]).
fn token_like(t: &Target) -> String {
    let c = q(&t.column.name);
    match t.column.storage {
        Storage::Text => format!(
            "substr({c}, 1, 9) COLLATE \"C\" IN ('{}', '{}')",
            TEXT_TOKEN_PREFIXES[0], TEXT_TOKEN_PREFIXES[1]
        ),
        Storage::Binary => binary_token_sql(&c, "substr", "length", |h| format!("'\\x{h}'::bytea")),
    }
}

fn redact_msg(m: String, secret: Option<&str>) -> String {
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
            Pk::UInt(u) => ints.push(i64::try_from(*u).unwrap_or(i64::MAX)),
            Pk::Text(s) => texts.push(s.clone()),
        }
    }
    (ints, texts)
}

/// One key as a parameter of its type.
fn pk_param(p: &Pk) -> Box<dyn ToSql + Sync> {
    match p {
        Pk::Int(i) => Box::new(*i),
        Pk::UInt(u) => Box::new(i64::try_from(*u).unwrap_or(i64::MAX)),
        Pk::Text(s) => Box::new(s.clone()),
    }
}

impl Engine for PostgresEngine {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(|e| self.err(e))
    }

    fn transport(&mut self) -> Result<Transport> {
        let r = self
            .client
            .query_opt(
                "SELECT ssl, coalesce(version, ''), coalesce(cipher, '') FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(match r {
            Some(r) if r.get::<_, bool>(0) => {
                Transport::Tls(format!("{} {}", r.get::<_, String>(1), r.get::<_, String>(2)))
            }
            _ if self.host.starts_with('/') => Transport::Socket,
            _ => Transport::Cleartext,
        })
    }

    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target> {
        let name = TableName::parse(table)?;
        let rel = match &name.schema {
            Some(s) => format!("{}.{}", q(s), q(&name.name)),
            None => q(&name.name),
        };
        let found = self
            .client
            .query_opt(
                "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
                &[&rel],
            )
            .map_err(|e| self.err(e))?;
        let Some(found) = found else {
            return Err(Error::NotFound {
                what: format!("table {table}"),
            });
        };
        let (oid, schema, real): (postgres::types::Oid, String, String) =
            (found.get(0), found.get(1), found.get(2));
        let cols = self
            .client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text, a.atttypmod,
                        coalesce(a.attnum = ANY(i.indkey), false)
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&oid],
            )
            .map_err(|e| self.err(e))?;
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
        let find = |wanted: &str| -> Result<ColumnInfo> {
            let (n, declared, typ, typmod, _) =
                cols.iter()
                    .find(|c| c.0 == wanted)
                    .ok_or_else(|| Error::NotFound {
                        what: format!("column {table}.{wanted}"),
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
                charset: None,
            })
        };
        Ok(Target {
            table: table.into(),
            schema,
            name: real,
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
            t.sql_table('"'),
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
            t.sql_table('"'),
            q(&col.name)
        );
        self.client.batch_execute(&sql).map_err(|e| self.err(e))
    }

    fn estimate_rows(&mut self, t: &Target) -> Result<Option<u64>> {
        // The planner's statistics: -1 (or 0) until the table is analysed.
        let r = self
            .client
            .query_one(
                "SELECT reltuples::int8 FROM pg_class WHERE oid = to_regclass($1)",
                &[&t.sql_table('"')],
            )
            .map_err(|e| self.err(e))?;
        Ok(u64::try_from(r.get::<_, i64>(0)).ok().filter(|n| *n > 0))
    }

    fn max_pk(&mut self, t: &Target) -> Result<Option<Pk>> {
        let sql = format!(
            "SELECT max({})::{} FROM {}",
            q(&t.pk),
            Self::pk_cast(t),
            t.sql_table('"')
        );
        let r = self.client.query_one(&sql, &[]).map_err(|e| self.err(e))?;
        Ok(match t.pk_kind {
            PkKind::Int | PkKind::UInt => r.get::<_, Option<i64>>(0).map(Pk::Int),
            PkKind::Text => r.get::<_, Option<String>>(0).map(Pk::Text),
        })
    }

    fn fetch(&mut self, t: &Target, after: Option<&Pk>, upto: &Pk, limit: usize) -> Result<Vec<Row>> {
        let (base, pk, cast) = (Self::select(t), q(&t.pk), Self::pk_cast(t));
        let limit = limit as i64;
        let upto = pk_param(upto);
        match after {
            None => self.rows(
                t,
                &format!("{base} WHERE {pk} <= $1::{cast} ORDER BY {pk} LIMIT $2"),
                &[upto.as_ref(), &limit],
            ),
            Some(a) => {
                let a = pk_param(a);
                self.rows(
                    t,
                    &format!("{base} WHERE {pk} > $1::{cast} AND {pk} <= $2::{cast} ORDER BY {pk} LIMIT $3"),
                    &[a.as_ref(), upto.as_ref(), &limit],
                )
            }
        }
    }

    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>> {
        let sql = format!(
            "{} WHERE {} = ANY($1::{}[]) ORDER BY {}",
            Self::select(t),
            q(&t.pk),
            Self::pk_cast(t),
            q(&t.pk)
        );
        let (ints, texts) = pk_params(keys);
        match t.pk_kind {
            PkKind::Int | PkKind::UInt => self.rows(t, &sql, &[&ints]),
            PkKind::Text => self.rows(t, &sql, &[&texts]),
        }
    }

    fn lookup(&mut self, t: &Target, terms: &[Vec<u8>]) -> Result<Vec<Row>> {
        let Some(idx) = &t.index else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "{} WHERE {} = ANY($1::bytea[]) ORDER BY {}",
            Self::select(t),
            q(&idx.name),
            q(&t.pk)
        );
        self.rows(t, &sql, &[&terms])
    }

    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>> {
        let sql = format!(
            "{} WHERE {} ORDER BY {} LIMIT $1",
            Self::select(t),
            token_like(t),
            q(&t.pk)
        );
        self.rows(t, &sql, &[&(limit as i64)])
    }

    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&CheckpointWrite>) -> Result<u64> {
        let (pk, c) = (q(&t.pk), q(&t.column.name));
        let (vt, same) = match t.column.storage {
            // Bytes, not collation-equal text: a value the application
            // changed only in case (or under a non-deterministic
            // collation) is still a change.
            Storage::Text => (
                "text",
                format!("t.{c}::text COLLATE \"C\" IS NOT DISTINCT FROM v.o COLLATE \"C\""),
            ),
            Storage::Binary => ("bytea", format!("t.{c} IS NOT DISTINCT FROM v.o")),
        };
        let set_index = t
            .index
            .as_ref()
            .map(|i| format!(", {} = v.i", q(&i.name)))
            .unwrap_or_default();
        let sql = format!(
            "UPDATE {tb} AS t SET {c} = v.n{set_index}
             FROM unnest($1::{pkt}[], $2::{vt}[], $3::{vt}[], $4::bytea[]) AS v(k, o, n, i)
             WHERE t.{pk} = v.k AND {same}",
            tb = t.sql_table('"'),
            pkt = Self::pk_cast(t)
        );
        let keys: Vec<Pk> = updates.iter().map(|u| u.pk.clone()).collect();
        let (ints, texts) = pk_params(&keys);
        let idx: Vec<Option<&[u8]>> = updates.iter().map(|u| u.index.as_deref()).collect();
        let secret = self.secret.clone();
        let e = |e: postgres::Error| {
            let msg = e
                .as_db_error()
                .map_or_else(|| tls::chain(&e), |d| d.message().to_string());
            Error::engine("postgres", msg, secret.as_deref())
        };
        let mut tx = self.client.transaction().map_err(e)?;
        let keys_param: &(dyn ToSql + Sync) = match t.pk_kind {
            PkKind::Int | PkKind::UInt => &ints,
            PkKind::Text => &texts,
        };
        let n = if updates.is_empty() {
            0
        } else {
            match t.column.storage {
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
            }
        };
        if let Some(cp) = checkpoint {
            let (sql, args) = self.sql.progress(cp, n);
            let args = Self::args(&args);
            let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
            if tx.execute(&sql, &refs).map_err(e)? != 1 {
                // Dropping the transaction rolls the batch back.
                return Err(Error::ConcurrentRun {
                    column: cp.column_key.clone(),
                });
            }
        }
        tx.commit().map_err(e)?;
        Ok(n)
    }

    fn checkpoint_table_exists(&mut self) -> Result<bool> {
        Ok(self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&CHECKPOINT_TABLE])
            .map_err(|e| self.err(e))?
            .get::<_, bool>(0))
    }

    fn create_checkpoint_table(&mut self) -> Result<()> {
        self.client
            .batch_execute(&checkpoint::ddl("postgres"))
            .map_err(|e| self.err(e))
    }

    fn load_checkpoint(&mut self, column_key: &str) -> Result<Option<Checkpoint>> {
        let (sql, args) = self.sql.select(column_key);
        let args = Self::args(&args);
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let row = self.client.query_opt(&sql, &refs).map_err(|e| self.err(e))?;
        Ok(row.map(|r| Checkpoint {
            column_key: column_key.into(),
            job: r.get(0),
            run_id: r.get(1),
            last_pk: r.get(2),
            changed: r.get::<_, i64>(3).max(0) as u64,
            started_at: r.get(4),
            updated_at: r.get(5),
        }))
    }

    fn claim(&mut self, claim: &Claim) -> Result<()> {
        let (sql, args) = self.sql.claim(claim);
        let args = Self::args(&args);
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        match self.client.execute(&sql, &refs) {
            Ok(1) => Ok(()),
            Ok(_) => Err(Error::ConcurrentRun {
                column: claim.column_key.clone(),
            }),
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
                Err(Error::ConcurrentRun {
                    column: claim.column_key.clone(),
                })
            }
            Err(e) => Err(self.err(e)),
        }
    }

    fn release(&mut self, column_key: &str, run_id: &str) -> Result<()> {
        let (sql, args) = self.sql.release(column_key, run_id);
        let args = Self::args(&args);
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        self.client.execute(&sql, &refs).map_err(|e| self.err(e))?;
        Ok(())
    }
}
