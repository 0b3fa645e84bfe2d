//! `strongroom db ...` end to end: a run killed with SIGKILL in the middle
//! of 100 000 rows resumes and every row decrypts to its original, on
//! SQLite and on the PostgreSQL and MariaDB servers when they answer
//! (CI=true: a missing server fails). Exit codes and redaction.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use strongroom::Passphrase;
use strongroom::field::{ColumnSpec, FieldCipher, ValueType};
use strongroom::keyring::{Keyring, Unlock};
use strongroom_db::live::{LiveColumn, Phase};
use strongroom_db::{DbUrl, Engine, EngineKind, Pk, PkKind, Storage};

const PASS: &str = "db cli tests";

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = w
            .cmd()
            .args([
                "keyring",
                "init",
                "--argon2-memory-mib",
                "8",
                "--argon2-time",
                "1",
                "--argon2-lanes",
                "1",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        w
    }

    fn keyring(&self) -> PathBuf {
        self.dir.path().join("k.srk")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strongroom"));
        c.env("STRONGROOM_KEYRING", self.keyring())
            .env("STRONGROOM_STATE_DIR", self.dir.path().join("state"))
            .env("STRONGROOM_KEYRING_PASSPHRASE", PASS)
            .env_remove("STRONGROOM_DB_URL")
            .env_remove("STRONGROOM_DB_PASSWORD")
            .arg("--no-progress");
        c
    }

    fn db(&self, url: &str, args: &[&str]) -> Output {
        self.cmd()
            .arg("--json")
            .arg("db")
            .args(args)
            .args(["--url", url])
            .output()
            .unwrap()
    }

    fn cipher(&self, table: &str) -> FieldCipher {
        let ring = Keyring::open(&self.keyring(), &Unlock::Passphrase(Passphrase::from(PASS))).unwrap();
        FieldCipher::new(&ring, table, "v", ColumnSpec::new(ValueType::Text)).unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&o.stdout)))
}

fn urls(sqlite: &Path) -> Vec<String> {
    let mut v = vec![format!("sqlite:{}", sqlite.display())];
    for (var, default) in [
        (
            "STRONGROOM_TEST_PG_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        ),
        ("STRONGROOM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    ] {
        let url = std::env::var(var).unwrap_or_else(|_| default.to_string());
        match strongroom_db::connect(&DbUrl::parse(&url).unwrap()) {
            Ok(_) => v.push(url),
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("CI=true and {url} is missing: {e}")
            }
            Err(e) => eprintln!("SKIPPED {url}: server not reachable ({e})"),
        }
    }
    v
}

fn value(i: i64) -> String {
    format!("välue-{i}-{}", "x".repeat((i % 17) as usize))
}

fn setup(e: &mut dyn Engine, kind: EngineKind, table: &str, rows: i64) {
    let (pk, text) = match kind {
        EngineKind::Sqlite => ("INTEGER PRIMARY KEY", "TEXT"),
        EngineKind::Postgres => ("bigint PRIMARY KEY", "text"),
        EngineKind::Mysql => ("BIGINT PRIMARY KEY", "VARCHAR(200)"),
    };
    let tail = if kind == EngineKind::Mysql {
        " DEFAULT CHARSET=utf8mb4"
    } else {
        ""
    };
    e.execute_batch(&format!("DROP TABLE IF EXISTS {table}")).unwrap();
    e.execute_batch(&format!("CREATE TABLE {table} (id {pk}, v {text}){tail}"))
        .unwrap();
    e.execute_batch(&format!(
        "DELETE FROM strongroom_migrations WHERE job LIKE '% {table}.%'"
    ))
    .ok();
    let ids: Vec<i64> = (1..=rows).collect();
    for chunk in ids.chunks(2000) {
        let values: Vec<String> = chunk.iter().map(|i| format!("({i}, '{}')", value(*i))).collect();
        e.execute_batch(&format!(
            "INSERT INTO {table} (id, v) VALUES {}",
            values.join(",")
        ))
        .unwrap();
    }
}

#[cfg(unix)]
#[test]
fn sigkill_mid_run_then_resume_on_every_engine() {
    let w = World::new();
    let table = "db_kill";
    let rows = 100_000i64;
    let sqlite = w.dir.path().join("kill.db");
    rusqlite::Connection::open(&sqlite).unwrap();
    for url in urls(&sqlite) {
        let db_url = DbUrl::parse(&url).unwrap();
        let mut e = strongroom_db::connect(&db_url).unwrap();
        setup(e.as_mut(), db_url.kind(), table, rows);
        let mut child = w
            .cmd()
            .args([
                "db",
                "encrypt",
                "--table",
                table,
                "--column",
                "v",
                "--batch-size",
                "500",
                "--url",
                &url,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let job = format!("encrypt {table}.v");
        let started = Instant::now();
        loop {
            assert!(
                child.try_wait().unwrap().is_none(),
                "{url}: the run ended before it could be killed"
            );
            let cp = e.load_checkpoint(&job, PkKind::Int).unwrap();
            if cp.is_some_and(|c| c.changed >= 10_000) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "{url}: no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert!(
            st.plaintext > 0 && st.plaintext < rows as u64,
            "{url}: killed mid-run: {st:?}"
        );
        assert!(!st.pending_jobs.is_empty());

        let out = w.db(&url, &["encrypt", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let j = json(&out);
        assert_eq!(j["resumed"], true, "{j}");
        assert_eq!(j["changed"].as_u64().unwrap(), st.plaintext, "{j}");

        let out = w.db(&url, &["verify", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(json(&out)["undecryptable"], 0);
        assert_eq!(json(&out)["plaintext"], 0);

        // Every row decrypts to its original value.
        let cipher = w.cipher(table);
        let live = LiveColumn::new(&cipher, Storage::Text, Phase::TokensOnly);
        let t = e.describe(table, "v", None).unwrap();
        let mut after = None;
        let mut seen = 0;
        loop {
            let batch = e.fetch(&t, after.as_ref(), 10_000).unwrap();
            let Some(last) = batch.last() else { break };
            after = Some(last.pk.clone());
            for r in &batch {
                let Pk::Int(i) = r.pk else { panic!() };
                let v = live.read(&r.value, &r.pk).unwrap().unwrap();
                assert_eq!(v.as_str(), Some(value(i).as_str()), "{url}: row {i}");
                seen += 1;
            }
        }
        assert_eq!(seen, rows);
        e.execute_batch(&format!("DROP TABLE {table}")).unwrap();
    }
}

#[test]
fn exit_codes_dry_run_and_redaction() {
    let w = World::new();
    let path = w.dir.path().join("codes.db");
    let url = format!("sqlite:{}", path.display());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE db_c (id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
         INSERT INTO db_c VALUES (1, 'alice', 1), (2, NULL, 2), (3, 'bob', 3);",
    )
    .unwrap();
    // Dry run: counts, changes nothing.
    let out = w.db(
        &url,
        &["encrypt", "--table", "db_c", "--column", "v", "--dry-run"],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["changed"], 2);
    let v: String = conn
        .query_row("SELECT v FROM db_c WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "alice");
    // An integer column cannot hold tokens: usage (2), nothing changed.
    let out = w.db(&url, &["encrypt", "--table", "db_c", "--column", "n"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    // A missing column: usage.
    let out = w.db(&url, &["status", "--table", "db_c", "--column", "nope"]);
    assert_eq!(code(&out), 2);
    // verify with plaintext left: integrity (5); no value in the output.
    let out = w.db(&url, &["verify", "--table", "db_c", "--column", "v"]);
    assert_eq!(code(&out), 5);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("alice") && !all.contains("bob"), "{all}");
    // Encrypt, then a wrong keyring: key (6), nothing changed.
    assert_eq!(
        code(&w.db(&url, &["encrypt", "--table", "db_c", "--column", "v"])),
        0
    );
    let other = World::new();
    let before: String = conn
        .query_row("SELECT v FROM db_c WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    let out = other.db(&url, &["decrypt", "--table", "db_c", "--column", "v"]);
    assert_eq!(code(&out), 6, "{}", String::from_utf8_lossy(&out.stderr));
    let after: String = conn
        .query_row("SELECT v FROM db_c WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(before, after);
    // status needs no key and shows no value.
    let out = w.db(&url, &["status", "--table", "db_c", "--column", "v"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["tokens"]["random v1"], 2);
    // A password in a URL never shows, even when the connection fails (I/O, 3).
    let out = w.db(
        "postgres://app:hunter2secret@127.0.0.1:1/x",
        &["status", "--table", "t", "--column", "c"],
    );
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2secret") && all.contains("***"), "{all}");
}

#[test]
fn hide_null_round_trip_and_no_rotation_that_would_reveal_nulls() {
    let w = World::new();
    let path = w.dir.path().join("hide.db");
    let url = format!("sqlite:{}", path.display());
    let conn = rusqlite::Connection::open(&path).unwrap();
    // db_h: a NULL among the first rows; db_late: the only NULL is the
    // last of 100 rows, past the tokens sampled before a run.
    conn.execute_batch("CREATE TABLE db_h (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE db_late (id INTEGER PRIMARY KEY, v TEXT);")
        .unwrap();
    conn.execute_batch("INSERT INTO db_h VALUES (1, 'alice'), (2, NULL), (3, 'bob');")
        .unwrap();
    for i in 1..=100 {
        let v = (i < 100).then(|| format!("v{i}"));
        conn.execute("INSERT INTO db_late VALUES (?1, ?2)", rusqlite::params![i, v])
            .unwrap();
    }
    let nulls = |table: &str| -> i64 {
        conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE v IS NULL"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    for table in ["db_h", "db_late"] {
        let out = w.db(
            &url,
            &["encrypt", "--table", table, "--column", "v", "--hide-null"],
        );
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(json(&out)["null"], 0);
        assert_eq!(nulls(table), 0, "NULL encrypted as a token");
    }
    let out = w.db(&url, &["status", "--table", "db_h", "--column", "v"]);
    assert_eq!(json(&out)["tokens"]["random v1"], 3);
    let out = w
        .cmd()
        .args(["keyring", "add-key", "--promote"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Rotating without --hide-null would write visible NULLs: refused
    // (usage, 2), nothing changed.
    let out = w.db(&url, &["rotate", "--table", "db_h", "--column", "v"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("column db_h.v hides NULL"));
    let out = w.db(&url, &["status", "--table", "db_h", "--column", "v"]);
    assert_eq!(json(&out)["tokens"]["random v1"], 3);
    // The same when the hidden NULL is found mid-run: the batch holding it
    // is not written (the one before is, with its checkpoint).
    let out = w.db(
        &url,
        &[
            "rotate",
            "--table",
            "db_late",
            "--column",
            "v",
            "--batch-size",
            "50",
        ],
    );
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("column db_late.v hides NULL"));
    assert_eq!(nulls("db_late"), 0);
    let out = w.db(&url, &["status", "--table", "db_late", "--column", "v"]);
    assert_eq!(json(&out)["tokens"]["random v1"], 50);
    assert_eq!(json(&out)["tokens"]["random v2"], 50);
    for table in ["db_h", "db_late"] {
        let out = w.db(
            &url,
            &["rotate", "--table", table, "--column", "v", "--hide-null"],
        );
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(nulls(table), 0);
        let out = w.db(
            &url,
            &["verify", "--table", table, "--column", "v", "--hide-null"],
        );
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let out = w.db(
            &url,
            &["decrypt", "--table", table, "--column", "v", "--hide-null"],
        );
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(nulls(table), 1, "the hidden NULL is NULL again");
    }
    let v: Option<String> = conn
        .query_row("SELECT v FROM db_h WHERE id = 3", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v.as_deref(), Some("bob"));
}
