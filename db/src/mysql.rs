//! MySQL and MariaDB through the `mysql` crate, over TLS with rustls
//! ([`crate::tls`]).

use crate::checkpoint::{self, Arg, CHECKPOINT_TABLE, Checkpoint, CheckpointWrite, Claim, Params};
use crate::classify::{TEXT_TOKEN_PREFIXES, binary_token_sql};
use crate::engine::{Cell, ColumnInfo, Engine, Pk, PkKind, Row, Storage, Target, Transport, Update, quote};
use crate::error::{Error, Result};
use crate::names::TableName;
use crate::tls::{self, TlsMode};
use crate::url::DbUrl;
use mysql::consts::CapabilityFlags;
use mysql::prelude::Queryable;
use mysql::{ClientIdentity, Conn, Opts, OptsBuilder, SslOpts, TxOpts, Value as MyValue};

/// A MySQL or MariaDB database.
pub struct MysqlEngine {
    conn: Conn,
    secret: Option<String>,
    host: String,
    sql: checkpoint::Sql,
}

impl std::fmt::Debug for MysqlEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MysqlEngine")
    }
}

fn q(name: &str) -> String {
    quote(name, '`')
}

/// The driver's TLS options for `mode` (not `disable`).
fn ssl_opts(url: &DbUrl, mode: TlsMode) -> SslOpts {
    let s = url.tls();
    let mut o = SslOpts::default()
        .with_root_cert_path(s.root_cert.clone())
        .with_client_identity(match (&s.client_cert, &s.client_key) {
            (Some(c), Some(k)) => Some(ClientIdentity::new(c.clone(), k.clone())),
            _ => None,
        });
    match mode {
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => o = o.with_danger_accept_invalid_certs(true),
        TlsMode::VerifyCa => o = o.with_danger_skip_domain_validation(true),
        TlsMode::VerifyFull => {}
    }
    o
}

/// What failed in TLS, if TLS is what failed.
fn tls_failure(e: &mysql::Error) -> Option<String> {
    match e {
        mysql::Error::TlsError(t) => Some(tls::chain(t)),
        mysql::Error::IoError(io) => tls::rustls_cause(io).map(ToString::to_string),
        mysql::Error::CodecError(codec) => tls::rustls_cause(codec).map(ToString::to_string),
        _ => None,
    }
}

impl MysqlEngine {
    /// Connects to `url` (`mysql://user@host:port/db`; the password from
    /// the URL or given apart), with the URL's TLS settings. `read_only`
    /// makes every transaction of the session read-only.
    pub fn connect(url: &DbUrl, read_only: bool) -> Result<Self> {
        let secret = url.password().map(str::to_string);
        let opts = Opts::from_url(&url.without_password()).map_err(|e| Error::Url {
            url: url.redacted(),
            reason: e.to_string().replace(secret.as_deref().unwrap_or("\u{0}"), "***"),
        })?;
        let host = url.host();
        let mode = url.tls_mode();
        tls::check_cleartext(&host, mode, url.cleartext_allowed())?;
        if (url.tls().client_cert.is_some()) != (url.tls().client_key.is_some()) {
            return Err(Error::Certificate {
                engine: "mysql",
                host,
                reason: "a client certificate needs both sslcert and sslkey".into(),
            });
        }
        // The driver builds its rustls configuration from the process's
        // default provider.
        tls::provider();
        let mut init = vec![
            "SET NAMES utf8mb4",
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
        ];
        if read_only {
            init.push("SET SESSION TRANSACTION READ ONLY");
        }
        let base = OptsBuilder::from_opts(opts)
            .pass(secret.clone())
            .prefer_socket(false)
            // Rows matched, not rows whose bytes changed: what a
            // compare-and-swap and the checkpoint's conditions count.
            .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS)
            .init(init);
        let attempt = |ssl: Option<SslOpts>| Conn::new(base.clone().ssl_opts(ssl));
        let connected = match mode {
            TlsMode::Disable => attempt(None),
            TlsMode::Prefer => match attempt(Some(ssl_opts(url, mode))) {
                Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)) => attempt(None),
                other => other,
            },
            mode => attempt(Some(ssl_opts(url, mode))),
        };
        let conn = connected.map_err(|e| match (&e, tls_failure(&e)) {
            (mysql::Error::DriverError(mysql::DriverError::TlsNotSupported), _) => Error::TlsUnavailable {
                engine: "mysql",
                host: host.clone(),
                mode: mode.name(),
            },
            (_, Some(reason)) => Error::Certificate {
                engine: "mysql",
                host: host.clone(),
                reason,
            },
            _ => Error::engine(
                "mysql",
                format!("cannot connect to {}: {e}", url.redacted()),
                secret.as_deref(),
            ),
        })?;
        Ok(Self {
            conn,
            secret,
            host,
            sql: checkpoint::Sql::new(Params::Question, '`'),
        })
    }

    fn err(&self, e: mysql::Error) -> Error {
        Error::engine("mysql", e, self.secret.as_deref())
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
            t.sql_table('`')
        )
    }

    fn rows(&mut self, t: &Target, sql: &str, params: Vec<MyValue>) -> Result<Vec<Row>> {
        let rows: Vec<(MyValue, MyValue, Option<Vec<u8>>)> =
            self.conn.exec(sql, params).map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(k, v, index)| {
                Ok(Row {
                    pk: pk_of(t, k)?,
                    value: cell_of(t.column.storage, v),
                    index,
                })
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
            "CAST(SUBSTRING({c}, 1, 9) AS BINARY) IN ('{}', '{}')",
            TEXT_TOKEN_PREFIXES[0], TEXT_TOKEN_PREFIXES[1]
        ),
        Storage::Binary => binary_token_sql(&c, "SUBSTRING", "LENGTH", |h| format!("UNHEX('{h}')")),
    }
}

fn pk_of(t: &Target, v: MyValue) -> Result<Pk> {
    let bad = |what: &str| Error::PrimaryKey {
        table: t.table.clone(),
        reason: format!("a value of primary key {} is {what}", t.pk),
    };
    match (t.pk_kind, v) {
        (PkKind::Int, MyValue::Int(i)) => Ok(Pk::Int(i)),
        (PkKind::Int, MyValue::UInt(u)) => i64::try_from(u).map(Pk::Int).map_err(|_| bad("out of range")),
        (PkKind::UInt, MyValue::UInt(u)) => Ok(Pk::UInt(u)),
        (PkKind::UInt, MyValue::Int(i)) => u64::try_from(i).map(Pk::UInt).map_err(|_| bad("negative")),
        (kind @ (PkKind::Int | PkKind::UInt), MyValue::Bytes(b)) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| Pk::decode(kind, s))
            .ok_or_else(|| bad("not an integer")),
        (PkKind::Text, MyValue::Bytes(b)) => String::from_utf8(b).map(Pk::Text).map_err(|_| bad("not UTF-8")),
        (_, MyValue::NULL) => Err(bad("NULL")),
        _ => Err(bad("of an unexpected type")),
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
        Pk::UInt(u) => MyValue::UInt(*u),
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

fn arg_value(a: &Arg) -> MyValue {
    match a {
        Arg::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
        Arg::Int(i) => MyValue::Int(*i),
        Arg::Null => MyValue::NULL,
    }
}

/// A character set name as SQL may name it (letters, digits, `_`).
fn charset_name(cs: &str) -> Option<&str> {
    (!cs.is_empty() && cs.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(cs)
}

impl Engine for MysqlEngine {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.conn.query_drop(sql).map_err(|e| self.err(e))
    }

    fn transport(&mut self) -> Result<Transport> {
        let rows: Vec<(String, String)> = self
            .conn
            .query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
            .map_err(|e| self.err(e))?;
        let get = |n: &str| {
            rows.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let (version, cipher) = (get("Ssl_version"), get("Ssl_cipher"));
        Ok(if !cipher.is_empty() {
            Transport::Tls(format!("{version} {cipher}"))
        } else if self.host.starts_with('/') {
            Transport::Socket
        } else {
            Transport::Cleartext
        })
    }

    fn describe(&mut self, table: &str, column: &str, index: Option<&str>) -> Result<Target> {
        type Col = (
            String,
            String,
            String,
            String,
            Option<u64>,
            String,
            Option<String>,
        );
        let name = TableName::parse(table)?;
        let cols: Vec<Col> = self
            .conn
            .exec(
                "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLUMN_TYPE, CHARACTER_SET_NAME
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = coalesce(?, DATABASE()) AND TABLE_NAME = ?
                 ORDER BY ORDINAL_POSITION",
                (name.schema.clone(), name.name.clone()),
            )
            .map_err(|e| self.err(e))?;
        let Some((schema, real)) = cols.first().map(|c| (c.0.clone(), c.1.clone())) else {
            return Err(Error::NotFound {
                what: format!("table {table}"),
            });
        };
        let keys: Vec<String> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'",
                (&schema, &real),
            )
            .map_err(|e| self.err(e))?;
        let pk_cols: Vec<&Col> = cols.iter().filter(|c| keys.contains(&c.2)).collect();
        let (pk, pk_kind) = match pk_cols.as_slice() {
            [one] => match one.3.as_str() {
                "tinyint" | "smallint" | "mediumint" | "int" | "bigint" if one.5.contains("unsigned") => {
                    (one.2.clone(), PkKind::UInt)
                }
                "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => (one.2.clone(), PkKind::Int),
                "char" | "varchar" | "tinytext" | "text" => (one.2.clone(), PkKind::Text),
                _ => {
                    return Err(Error::PrimaryKey {
                        table: table.into(),
                        reason: format!(
                            "primary key {} of type {} is neither integer nor text",
                            one.2, one.5
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
        // MariaDB's JSON is LONGTEXT with a json_valid() check, which a
        // token fails: refused up front. (MySQL's JSON is its own type.)
        let checks: Vec<String> = self
            .conn
            .exec(
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
                (&schema, &real),
            )
            .unwrap_or_default();
        let find = |wanted: &str, is_index: bool| -> Result<ColumnInfo> {
            let (_, _, n, data_type, max, column_type, charset) = cols
                .iter()
                .find(|c| c.2.eq_ignore_ascii_case(wanted))
                .ok_or_else(|| Error::NotFound {
                    what: format!("column {table}.{wanted}"),
                })?;
            let refuse = |reason: &str| Error::ColumnType {
                table: table.into(),
                column: n.clone(),
                declared: column_type.clone(),
                reason: reason.into(),
            };
            let json = format!("json_valid(`{}`)", n.to_ascii_lowercase());
            if checks.iter().any(|c| c.to_ascii_lowercase().contains(&json)) {
                return Err(refuse(
                    "a JSON column (MariaDB checks json_valid()) cannot hold tokens; use a TEXT or VARBINARY column",
                ));
            }
            let storage = match data_type.as_str() {
                "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => Storage::Text,
                "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Storage::Binary,
                // BINARY(n) pads with zero bytes: right for index terms of
                // exactly n bytes, wrong for tokens.
                "binary" if is_index => Storage::Binary,
                _ => {
                    return Err(refuse(
                        "use VARCHAR or TEXT (text tokens) or VARBINARY or BLOB (binary tokens)",
                    ));
                }
            };
            Ok(ColumnInfo {
                name: n.clone(),
                declared: column_type.clone(),
                storage,
                width: *max,
                charset: charset.clone(),
            })
        };
        Ok(Target {
            table: table.into(),
            schema,
            name: real,
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
            t.sql_table('`'),
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
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                (&t.schema, &t.name, &col.name),
            )
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::NotFound {
                what: format!("column {}.{}", t.table, col.name),
            })?;
        let ty = match col.storage {
            Storage::Text => {
                let mut ty = format!("VARCHAR({width})");
                if let Some(cs) = charset.as_deref().and_then(charset_name) {
                    ty.push_str(&format!(" CHARACTER SET {cs}"));
                }
                if let Some(co) = collation.as_deref().and_then(charset_name) {
                    ty.push_str(&format!(" COLLATE {co}"));
                }
                ty
            }
            Storage::Binary => format!("VARBINARY({width})"),
        };
        let null = if nullable == "YES" { "NULL" } else { "NOT NULL" };
        let sql = format!(
            "ALTER TABLE {} MODIFY {} {ty} {null}",
            t.sql_table('`'),
            q(&col.name)
        );
        self.conn.query_drop(sql).map_err(|e| self.err(e))
    }

    fn estimate_rows(&mut self, t: &Target) -> Result<Option<u64>> {
        let n: Option<Option<u64>> = self
            .conn
            .exec_first(
                "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&t.schema, &t.name),
            )
            .map_err(|e| self.err(e))?;
        Ok(n.flatten().filter(|n| *n > 0))
    }

    fn max_pk(&mut self, t: &Target) -> Result<Option<Pk>> {
        let sql = format!("SELECT max({}) FROM {}", q(&t.pk), t.sql_table('`'));
        let v: Option<MyValue> = self.conn.exec_first(sql, ()).map_err(|e| self.err(e))?;
        match v {
            None | Some(MyValue::NULL) => Ok(None),
            Some(v) => Ok(Some(pk_of(t, v)?)),
        }
    }

    fn fetch(&mut self, t: &Target, after: Option<&Pk>, upto: &Pk, limit: usize) -> Result<Vec<Row>> {
        let base = Self::select(t);
        let pk = q(&t.pk);
        match after {
            None => self.rows(
                t,
                &format!("{base} WHERE {pk} <= ? ORDER BY {pk} LIMIT {limit}"),
                vec![pk_value(upto)],
            ),
            Some(a) => self.rows(
                t,
                &format!("{base} WHERE {pk} > ? AND {pk} <= ? ORDER BY {pk} LIMIT {limit}"),
                vec![pk_value(a), pk_value(upto)],
            ),
        }
    }

    fn fetch_keys(&mut self, t: &Target, keys: &[Pk]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(1000) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "{} WHERE {} IN ({marks}) ORDER BY {}",
                Self::select(t),
                q(&t.pk),
                q(&t.pk)
            );
            out.extend(self.rows(t, &sql, chunk.iter().map(pk_value).collect())?);
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
        self.rows(t, &sql, terms.iter().map(|b| MyValue::Bytes(b.clone())).collect())
    }

    fn sample_tokens(&mut self, t: &Target, limit: usize) -> Result<Vec<Row>> {
        let cond = token_like(t);
        let sql = format!(
            "{} WHERE {cond} ORDER BY {} LIMIT {limit}",
            Self::select(t),
            q(&t.pk)
        );
        self.rows(t, &sql, vec![])
    }

    fn apply(&mut self, t: &Target, updates: &[Update], checkpoint: Option<&CheckpointWrite>) -> Result<u64> {
        let secret = self.secret.clone();
        let e = |e: mysql::Error| Error::engine("mysql", e, secret.as_deref());
        let (pk, c, tb) = (q(&t.pk), q(&t.column.name), t.sql_table('`'));
        let set_index = t
            .index
            .as_ref()
            .map(|i| format!(", t.{} = v.i", q(&i.name)))
            .unwrap_or_default();
        // Compare bytes, not collation-equal text (a value the application
        // changed only in case or trailing spaces is still a change), and
        // in the column's character set: the value read was converted to
        // UTF-8, so it is converted back before its bytes are compared
        // with the stored ones.
        let same = match (
            t.column.storage,
            t.column.charset.as_deref().and_then(charset_name),
        ) {
            (Storage::Text, Some(cs)) => {
                format!("CAST(t.{c} AS BINARY) <=> CAST(CONVERT(v.o USING {cs}) AS BINARY)")
            }
            (Storage::Text, None) => format!("CAST(t.{c} AS BINARY) <=> CAST(v.o AS BINARY)"),
            (Storage::Binary, _) => format!("t.{c} <=> v.o"),
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
            let (sql, args) = self.sql.progress(cp, changed);
            tx.exec_drop(sql, args.iter().map(arg_value).collect::<Vec<_>>())
                .map_err(e)?;
            if tx.affected_rows() != 1 {
                // Dropping the transaction rolls the batch back.
                return Err(Error::ConcurrentRun {
                    column: cp.column_key.clone(),
                });
            }
        }
        tx.commit().map_err(e)?;
        Ok(changed)
    }

    fn checkpoint_table_exists(&mut self) -> Result<bool> {
        let n: Option<i64> = self
            .conn
            .exec_first(
                "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (CHECKPOINT_TABLE,),
            )
            .map_err(|e| self.err(e))?;
        Ok(n.unwrap_or(0) > 0)
    }

    fn create_checkpoint_table(&mut self) -> Result<()> {
        self.conn
            .query_drop(checkpoint::ddl("mysql"))
            .map_err(|e| self.err(e))
    }

    fn load_checkpoint(&mut self, column_key: &str) -> Result<Option<Checkpoint>> {
        type Stored = (String, String, Option<String>, i64, String, String);
        let (sql, args) = self.sql.select(column_key);
        let row: Option<Stored> = self
            .conn
            .exec_first(sql, args.iter().map(arg_value).collect::<Vec<_>>())
            .map_err(|e| self.err(e))?;
        Ok(row.map(
            |(job, run_id, last_pk, changed, started_at, updated_at)| Checkpoint {
                column_key: column_key.into(),
                job,
                run_id,
                last_pk,
                changed: changed.max(0) as u64,
                started_at,
                updated_at,
            },
        ))
    }

    fn claim(&mut self, claim: &Claim) -> Result<()> {
        let (sql, args) = self.sql.claim(claim);
        match self
            .conn
            .exec_drop(sql, args.iter().map(arg_value).collect::<Vec<_>>())
        {
            Ok(()) if self.conn.affected_rows() == 1 => Ok(()),
            Ok(()) => Err(Error::ConcurrentRun {
                column: claim.column_key.clone(),
            }),
            // ER_DUP_ENTRY: another run inserted first.
            Err(mysql::Error::MySqlError(m)) if m.code == 1062 => Err(Error::ConcurrentRun {
                column: claim.column_key.clone(),
            }),
            Err(e) => Err(self.err(e)),
        }
    }

    fn release(&mut self, column_key: &str, run_id: &str) -> Result<()> {
        let (sql, args) = self.sql.release(column_key, run_id);
        self.conn
            .exec_drop(sql, args.iter().map(arg_value).collect::<Vec<_>>())
            .map_err(|e| self.err(e))
    }
}
