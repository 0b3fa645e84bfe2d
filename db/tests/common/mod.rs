//! What the database tests share: the engines (SQLite always; PostgreSQL
//! and MariaDB/MySQL when their servers answer: STRONGROOM_TEST_PG_URL,
//! default postgres://postgres@127.0.0.1:5432/test; STRONGROOM_TEST_MYSQL_URL,
//! default mysql://root@127.0.0.1:3306/test; with CI=true a missing server
//! fails the tests instead of skipping them), table names unique to this
//! test process (other engineers' tests use the same servers), and SQL
//! literals for planting rows.

#![allow(dead_code)]

use std::collections::BTreeMap;
use strongroom::Passphrase;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, Value, ValueType};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;
use strongroom_db::engine::{Row, Target};
use strongroom_db::live::{LiveColumn, Phase};
use strongroom_db::{Cell, DbUrl, Engine, EngineKind, Pk, Storage};

pub const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};

pub struct Db {
    pub url: DbUrl,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub fn kind(&self) -> EngineKind {
        self.url.kind()
    }

    pub fn open(&self) -> Box<dyn Engine> {
        strongroom_db::connect(&self.url).unwrap()
    }

    /// The path of a SQLite database.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("t.db"))
    }
}

pub fn server_url(kind: EngineKind) -> String {
    let (var, default) = match kind {
        EngineKind::Postgres => (
            "STRONGROOM_TEST_PG_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        ),
        _ => ("STRONGROOM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    };
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

pub fn server(kind: EngineKind) -> Option<Db> {
    let url = DbUrl::parse(&server_url(kind)).unwrap();
    match strongroom_db::connect(&url) {
        Ok(_) => Some(Db { url, _dir: None }),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and the server at {} is missing: {e}", url.redacted())
        }
        Err(e) => {
            eprintln!("SKIPPED {}: server not reachable ({e})", url.redacted());
            None
        }
    }
}

pub fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    rusqlite::Connection::open(&path).unwrap();
    Db {
        url: DbUrl::parse(&format!("sqlite:{}", path.display())).unwrap(),
        _dir: Some(dir),
    }
}

/// SQLite (a fresh file), then the servers that answer.
pub fn engines() -> Vec<Db> {
    let mut v = vec![sqlite()];
    v.extend(server(EngineKind::Postgres));
    v.extend(server(EngineKind::Mysql));
    v
}

/// `base` made unique to this test process.
pub fn unique(base: &str) -> String {
    format!("{base}_{}", std::process::id())
}

pub fn keyring(dir: &tempfile::TempDir, name: &str) -> Keyring {
    Keyring::create(&dir.path().join(name), &Passphrase::from("db tests"), FAST).unwrap()
}

#[derive(Clone, Copy, PartialEq)]
pub enum Col {
    Text,
    Binary,
    Narrow,
}

/// Creates `table` (dropping an old one): primary key `id`, column `v`,
/// blind index column `idx`.
pub fn create(e: &mut dyn Engine, kind: EngineKind, table: &str, text_pk: bool, col: Col) {
    let (pk, v, idx) = match (kind, text_pk, col) {
        (EngineKind::Sqlite, tp, c) => (
            if tp {
                "TEXT PRIMARY KEY"
            } else {
                "INTEGER PRIMARY KEY"
            },
            if c == Col::Binary { "BLOB" } else { "TEXT" },
            "BLOB",
        ),
        (EngineKind::Postgres, tp, c) => (
            if tp {
                "text PRIMARY KEY"
            } else {
                "bigint PRIMARY KEY"
            },
            match c {
                Col::Text => "text",
                Col::Binary => "bytea",
                Col::Narrow => "varchar(40)",
            },
            "bytea",
        ),
        (EngineKind::Mysql, tp, c) => (
            if tp {
                "VARCHAR(100) PRIMARY KEY"
            } else {
                "BIGINT PRIMARY KEY"
            },
            match c {
                Col::Text => "TEXT",
                Col::Binary => "VARBINARY(400)",
                Col::Narrow => "VARCHAR(40)",
            },
            "VARBINARY(32)",
        ),
    };
    create_raw(e, kind, table, &format!("id {pk}, v {v}, idx {idx}"));
}

/// Creates `table` with these column definitions (utf8mb4 on MySQL),
/// dropping an old one and its checkpoint.
pub fn create_raw(e: &mut dyn Engine, kind: EngineKind, table: &str, columns: &str) {
    let tail = if kind == EngineKind::Mysql {
        " DEFAULT CHARSET=utf8mb4"
    } else {
        ""
    };
    drop_table(e, table);
    e.execute_batch(&format!("CREATE TABLE {table} ({columns}){tail}"))
        .unwrap();
}

/// Drops `table` and forgets its checkpoints.
pub fn drop_table(e: &mut dyn Engine, table: &str) {
    e.execute_batch(&format!("DROP TABLE IF EXISTS {table}")).unwrap();
    let name = table.rsplit('.').next().unwrap();
    e.execute_batch(&format!(
        "DELETE FROM strongroom_checkpoints WHERE column_key LIKE '%.\"{name}\".%'"
    ))
    .ok();
}

pub fn lit_pk(p: &Pk) -> String {
    match p {
        Pk::Int(i) => i.to_string(),
        Pk::UInt(u) => u.to_string(),
        Pk::Text(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

pub fn lit(kind: EngineKind, c: &Cell) -> String {
    match c {
        Cell::Null => "NULL".into(),
        Cell::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Cell::Bytes(b) => lit_bytes(kind, b),
    }
}

pub fn lit_bytes(kind: EngineKind, b: &[u8]) -> String {
    match kind {
        EngineKind::Postgres => format!("'\\x{}'::bytea", hex(b)),
        _ => format!("X'{}'", hex(b)),
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn insert(e: &mut dyn Engine, kind: EngineKind, table: &str, rows: &[(Pk, Cell)]) {
    for chunk in rows.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(p, c)| format!("({}, {})", lit_pk(p), lit(kind, c)))
            .collect();
        e.execute_batch(&format!(
            "INSERT INTO {table} (id, v) VALUES {}",
            values.join(", ")
        ))
        .unwrap();
    }
}

/// Every row, in key order.
pub fn all_rows(e: &mut dyn Engine, t: &Target) -> Vec<Row> {
    let mut out = Vec::new();
    let Some(upto) = e.max_pk(t).unwrap() else {
        return out;
    };
    let mut after = None;
    loop {
        let rows = e.fetch(t, after.as_ref(), &upto, 5000).unwrap();
        let Some(last) = rows.last() else { break };
        after = Some(last.pk.clone());
        out.extend(rows);
    }
    out
}

/// The (pk, value) of every row.
pub fn values(e: &mut dyn Engine, table: &str) -> Vec<(Pk, Cell)> {
    let t = e.describe(table, "v", None).unwrap();
    all_rows(e, &t).into_iter().map(|r| (r.pk, r.value)).collect()
}

pub fn pk(text: bool, i: i64) -> Pk {
    if text {
        Pk::Text(format!("kéy-{i:06}"))
    } else {
        Pk::Int(i)
    }
}

/// Checks that every row reads back (tokens only) as `expected`.
pub fn check_all(
    e: &mut dyn Engine,
    table: &str,
    cipher: &FieldCipher,
    storage: Storage,
    expected: &BTreeMap<Pk, Option<Value>>,
) {
    let t = e.describe(table, "v", None).unwrap();
    let live = LiveColumn::new(cipher, storage, Phase::TokensOnly);
    let rows = all_rows(e, &t);
    assert_eq!(rows.len(), expected.len());
    for r in rows {
        let got = live
            .read(&r.value, &r.pk)
            .unwrap_or_else(|err| panic!("row {}: {err}", r.pk));
        assert_eq!(&got, expected.get(&r.pk).unwrap(), "row {}", r.pk);
    }
}

pub fn text_cipher(ring: &Keyring, table: &str, index: bool) -> FieldCipher {
    let mut spec = ColumnSpec::new(ValueType::Text);
    if index {
        spec = spec.with_blind_index(8, Normalizer::TrimLowercase);
    }
    FieldCipher::new(ring, table, "v", spec).unwrap()
}

pub fn bytes_cipher(ring: &Keyring, table: &str) -> FieldCipher {
    FieldCipher::new(ring, table, "v", ColumnSpec::new(ValueType::Bytes)).unwrap()
}

/// Raises a stop flag when dropped, so that a background writer loop
/// (`while !stop.load(..)`) ends even when the thread that would have set
/// the flag panics: a failing assertion then fails the test instead of
/// leaving the scope waiting for the writer forever.
pub struct StopOnDrop<'a>(pub &'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
