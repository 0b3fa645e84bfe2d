//! `strongroom db ...` end to end: a run killed with SIGKILL in the middle
//! of 100 000 rows resumes and every row decrypts to its original, on
//! SQLite and on the PostgreSQL and MariaDB servers when they answer
//! (CI=true: a missing server fails). Exit codes and redaction.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use strongroom::Passphrase;
use strongroom::field::{ColumnSpec, FieldCipher, Value, ValueType};
use strongroom::keyring::{Keyring, Unlock};
use strongroom_db::live::{LiveColumn, Phase};
use strongroom_db::{Cell, DbUrl, Engine, EngineKind, Pk, Storage};

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
    drop_table(e, table);
    e.execute_batch(&format!("CREATE TABLE {table} (id {pk}, v {text}){tail}"))
        .unwrap();
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

/// `base` made unique to this test process (other engineers' tests use
/// the same servers).
fn unique(base: &str) -> String {
    format!("{base}_{}", std::process::id())
}

/// Drops `table` and forgets its checkpoint.
fn drop_table(e: &mut dyn Engine, table: &str) {
    e.execute_batch(&format!("DROP TABLE IF EXISTS {table}")).unwrap();
    e.execute_batch(&format!(
        "DELETE FROM strongroom_checkpoints WHERE column_key LIKE '%.\"{table}\".%'"
    ))
    .ok();
}

/// Starts `db encrypt` on `table` and kills it (SIGKILL) once its
/// checkpoint counts 10 000 rows changed.
fn kill_mid_encrypt(w: &World, e: &mut dyn Engine, url: &str, table: &str) {
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
            url,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let key = e.describe(table, "v", None).unwrap().column_key();
    let started = Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{url}: the run ended before it could be killed"
        );
        let cp = e
            .checkpoint_table_exists()
            .unwrap()
            .then(|| e.load_checkpoint(&key).unwrap())
            .flatten();
        if cp.is_some_and(|c| c.changed >= 10_000) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{url}: no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[cfg(unix)]
#[test]
fn sigkill_mid_run_then_resume_on_every_engine() {
    let w = World::new();
    let table = &unique("db_kill");
    let rows = 100_000i64;
    let sqlite = w.dir.path().join("kill.db");
    rusqlite::Connection::open(&sqlite).unwrap();
    for url in urls(&sqlite) {
        let db_url = DbUrl::parse(&url).unwrap();
        let mut e = strongroom_db::connect(&db_url).unwrap();
        setup(e.as_mut(), db_url.kind(), table, rows);
        kill_mid_encrypt(&w, e.as_mut(), &url, table);
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
        let upto = e.max_pk(&t).unwrap().unwrap();
        let mut after = None;
        let mut seen = 0;
        loop {
            let batch = e.fetch(&t, after.as_ref(), &upto, 10_000).unwrap();
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

        // Decrypted, encrypt killed again, then a whole decrypt, then
        // encrypt: the last run starts over instead of resuming the killed
        // one's checkpoint.
        let out = w.db(&url, &["decrypt", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        kill_mid_encrypt(&w, e.as_mut(), &url, table);
        let out = w.db(&url, &["decrypt", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let out = w.db(&url, &["encrypt", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let j = json(&out);
        assert_eq!(
            (j["resumed"].as_bool(), j["rows"].as_u64()),
            (Some(false), Some(rows as u64)),
            "{j}"
        );
        let out = w.db(&url, &["verify", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(json(&out)["plaintext"], 0);
        drop_table(e.as_mut(), table);
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

/// The JSON error object of a failed command (on standard error).
fn json_error(o: &Output) -> serde_json::Value {
    let line = String::from_utf8_lossy(&o.stderr);
    let line = line.lines().last().unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|_| panic!("not JSON: {line}"))["error"]
        .clone()
}

#[test]
fn cleartext_left_behind_is_never_a_success() {
    let w = World::new();
    let sqlite = w.dir.path().join("left.db");
    rusqlite::Connection::open(&sqlite).unwrap();
    let other = World::new();
    for url in urls(&sqlite) {
        let db_url = DbUrl::parse(&url).unwrap();
        let mut e = strongroom_db::connect(&db_url).unwrap();
        let table = &unique("db_left");
        setup(e.as_mut(), db_url.kind(), table, 20);
        // A token of another keyring among the plaintext, and a text that
        // looks like a token but is not one.
        let foreign = other.cipher(table);
        let live = LiveColumn::new(&foreign, Storage::Text, Phase::Mixed);
        let Cell::Text(tok) = live.write(Some(&Value::from("theirs")), &Pk::Int(3)).unwrap() else {
            panic!()
        };
        e.execute_batch(&format!("UPDATE {table} SET v = '{}' WHERE id = 3", tok.as_str()))
            .unwrap();
        e.execute_batch(&format!("UPDATE {table} SET v = 'sr1.AQEA3q2-7w' WHERE id = 4"))
            .unwrap();
        // The only token is another keyring's: the wrong keyring, as far
        // as anyone can tell; nothing changes (key, 6).
        let out = w.db(&url, &["encrypt", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 6, "{url}: {}", String::from_utf8_lossy(&out.stderr));
        let ours = w.cipher(table);
        let mine = LiveColumn::new(&ours, Storage::Text, Phase::Mixed);
        let Cell::Text(tok) = mine.write(Some(&Value::from("ours")), &Pk::Int(5)).unwrap() else {
            panic!()
        };
        e.execute_batch(&format!("UPDATE {table} SET v = '{}' WHERE id = 5", tok.as_str()))
            .unwrap();
        // With this keyring's tokens there too, the other keyring's token
        // is reported (integrity, 5) and left as it is; the look-alike is
        // encrypted.
        let out = w.db(&url, &["encrypt", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 5, "{url}: {}", String::from_utf8_lossy(&out.stderr));
        let j = json(&out);
        assert_eq!(
            (
                j["changed"].as_u64(),
                j["unchanged"].as_u64(),
                j["undecryptable"].as_u64()
            ),
            (Some(18), Some(1), Some(1)),
            "{j}"
        );
        assert_eq!(j["first_undecryptable"], "3");
        assert_eq!(json_error(&out)["kind"], "integrity");
        let out = w.db(&url, &["verify", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 5);
        assert_eq!(json(&out)["ok"], false);
        drop_table(e.as_mut(), table);
    }
    // SQLite: values that are neither text nor a token fail the run and
    // verify with the format class (4).
    let url = format!("sqlite:{}", sqlite.display());
    let conn = rusqlite::Connection::open(&sqlite).unwrap();
    conn.execute_batch(
        "CREATE TABLE db_kind (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO db_kind VALUES (1, 'fine'), (2, CAST(x'ff00' AS TEXT)), (3, x'0102');",
    )
    .unwrap();
    let out = w.db(&url, &["encrypt", "--table", "db_kind", "--column", "v"]);
    assert_eq!(code(&out), 4, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["wrong_kind"], 2);
    let out = w.db(
        &url,
        &[
            "verify",
            "--table",
            "db_kind",
            "--column",
            "v",
            "--allow-plaintext",
        ],
    );
    assert_eq!(code(&out), 4);
    assert_eq!(
        (json(&out)["ok"].as_bool(), json(&out)["plaintext"].as_u64()),
        (Some(false), Some(0))
    );
}

#[test]
fn database_passwords_follow_the_secret_rule() {
    let w = World::new();
    let path = w.dir.path().join("pw.db");
    rusqlite::Connection::open(&path).unwrap();
    let url = format!("sqlite:{}", path.display());
    let big = w.dir.path().join("big");
    std::fs::write(&big, vec![b'a'; 64 * 1024 + 1]).unwrap();
    let out = w.db(
        &url,
        &[
            "status",
            "--table",
            "t",
            "--column",
            "c",
            "--db-password-file",
            big.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_error(&out)["name"], "SecretTooLong");
    let out = w.db(
        &url,
        &[
            "status",
            "--table",
            "t",
            "--column",
            "c",
            "--db-password-env",
            "STRONGROOM_TEST_UNSET_VAR",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json_error(&out)["name"], "SecretMissing");
    assert_eq!(json_error(&out)["code"], 230);
}

#[test]
fn setup_tls_and_cleartext_options() {
    let w = World::new();
    // The checkpoint table's SQL, without connecting.
    let out = w.db(
        "postgres://admin@db.strongroom.invalid/prod",
        &["setup", "--print-sql"],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        json(&out)["sql"]
            .as_str()
            .unwrap()
            .starts_with("CREATE TABLE strongroom_checkpoints (")
    );
    let path = w.dir.path().join("setup.db");
    rusqlite::Connection::open(&path).unwrap();
    let url = format!("sqlite:{}", path.display());
    assert_eq!(json(&w.db(&url, &["setup"]))["created"], true);
    assert_eq!(json(&w.db(&url, &["setup"]))["created"], false);
    // Cleartext to another machine needs the explicit option.
    let remote = "postgres://app@db.strongroom.invalid/prod?sslmode=disable";
    let out = w.db(remote, &["status", "--table", "t", "--column", "c"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        json_error(&out)["message"]
            .as_str()
            .unwrap()
            .contains("without TLS")
    );
    let out = w.db(
        remote,
        &["status", "--table", "t", "--column", "c", "--db-allow-cleartext"],
    );
    assert_eq!(code(&out), 3, "tried, and the name does not resolve");
    // TLS to the local servers with the test CA (scripts/db-tls-setup.sh).
    let dir = std::path::PathBuf::from(
        std::env::var("STRONGROOM_TEST_TLS_DIR").unwrap_or_else(|_| "/var/lib/strongroom-test-tls".into()),
    );
    if !dir.join("ca.pem").exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true and no test certificates"
        );
        eprintln!("SKIPPED the TLS part: no test certificates");
        return;
    }
    let sqlite = w.dir.path().join("unused.db");
    for base in urls(&sqlite).into_iter().skip(1) {
        let db_url = DbUrl::parse(&base).unwrap();
        let mut e = strongroom_db::connect(&db_url).unwrap();
        let table = &unique("db_cli_tls");
        setup(e.as_mut(), db_url.kind(), table, 3);
        let good = format!(
            "{base}?sslmode=verify-full&sslrootcert={}",
            dir.join("ca.pem").display()
        );
        let out = w.db(&good, &["status", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            json(&out)["transport"]["tls"]
                .as_str()
                .unwrap()
                .starts_with("TLSv1."),
            "{}",
            json(&out)
        );
        let bad = format!(
            "{base}?sslmode=verify-full&sslrootcert={}",
            dir.join("other-ca.pem").display()
        );
        let out = w.db(&bad, &["status", "--table", table, "--column", "v"]);
        assert_eq!(code(&out), 5, "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            json_error(&out)["message"]
                .as_str()
                .unwrap()
                .contains("UnknownIssuer")
        );
        drop_table(e.as_mut(), table);
    }
}
