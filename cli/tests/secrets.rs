//! Where the command line finds the keyring passphrase when no option names
//! a source: the core's rule (strongroom::SecretSource::keyring_passphrase_from_env),
//! shared with the SQLite extension: STRONGROOM_KEYRING_PASSPHRASE_FILE,
//! else the variable STRONGROOM_KEYRING_PASSPHRASE_ENV names, else
//! STRONGROOM_KEYRING_PASSPHRASE; each read by the core's secret-source
//! rules.

use std::process::{Command, Output, Stdio};

const PASS: &str = "secret sources test";

fn cmd(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_strongroom"));
    c.env("STRONGROOM_KEYRING", dir.join("k.srk"))
        .env_remove("STRONGROOM_KEYRING_PASSPHRASE")
        .env_remove("STRONGROOM_KEYRING_PASSPHRASE_FILE")
        .env_remove("STRONGROOM_KEYRING_PASSPHRASE_ENV")
        .stdin(Stdio::null())
        .arg("--json");
    c
}

fn list(mut c: Command) -> Output {
    c.args(["keyring", "list"]).output().unwrap()
}

/// Creates the keyring `k.srk` in `dir` with the passphrase from
/// STRONGROOM_KEYRING_PASSPHRASE, at a cheap Argon2id cost.
fn init_keyring(dir: &std::path::Path) {
    let out = cmd(dir)
        .env("STRONGROOM_KEYRING_PASSPHRASE", PASS)
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
}

fn error_name(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stderr);
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("not JSON: {text}"));
    v["error"]["name"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_environment_rule_for_the_keyring_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    init_keyring(dir.path());
    let file = dir.path().join("pass");
    std::fs::write(&file, format!("{PASS}\r\n")).unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not it\n").unwrap();

    // A file named by STRONGROOM_KEYRING_PASSPHRASE_FILE (CRLF stripped).
    let mut c = cmd(dir.path());
    c.env("STRONGROOM_KEYRING_PASSPHRASE_FILE", &file);
    assert_eq!(list(c).status.code(), Some(0));
    // It comes first: a wrong file is the wrong passphrase (key, 6), even
    // with the right one in STRONGROOM_KEYRING_PASSPHRASE.
    let mut c = cmd(dir.path());
    c.env("STRONGROOM_KEYRING_PASSPHRASE_FILE", &wrong)
        .env("STRONGROOM_KEYRING_PASSPHRASE", PASS);
    let out = list(c);
    assert_eq!(
        (out.status.code(), error_name(&out).as_str()),
        (Some(6), "WrongPassphrase")
    );
    // The variable named by STRONGROOM_KEYRING_PASSPHRASE_ENV.
    let mut c = cmd(dir.path());
    c.env("STRONGROOM_KEYRING_PASSPHRASE_ENV", "APP_KEYRING_PASS")
        .env("APP_KEYRING_PASS", PASS);
    assert_eq!(list(c).status.code(), Some(0));
    // Named but not set: that variable's own error (usage, 2).
    let mut c = cmd(dir.path());
    c.env("STRONGROOM_KEYRING_PASSPHRASE_ENV", "APP_KEYRING_UNSET");
    let out = list(c);
    assert_eq!(
        (out.status.code(), error_name(&out).as_str()),
        (Some(2), "SecretMissing")
    );
    // An explicit option wins over the environment.
    let out = cmd(dir.path())
        .env("STRONGROOM_KEYRING_PASSPHRASE_FILE", &wrong)
        .args(["keyring", "list", "--keyring-passphrase-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The database password, named by `--db-password-env` or in
/// `STRONGROOM_DB_PASSWORD`, leaves the process's environment like every
/// other secret variable, and its bytes are wiped where the environment
/// held them: `/proc/PID/environ` of the running command (the environment
/// it started with, as the kernel shows it) no longer contains them.
#[cfg(target_os = "linux")]
#[test]
fn the_database_password_leaves_the_environment_and_its_bytes_are_wiped() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    init_keyring(dir.path());
    let db = dir.path().join("app.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, c TEXT)")
        .unwrap();

    let named = "named-db-password-7f3a9c";
    let default = "default-db-password-b81e44";
    // `db verify` reads the keyring passphrase from standard input: the
    // command waits there while its environment is looked at.
    let mut child = cmd(dir.path())
        .env("SR_TEST_DB_PASS", named)
        .env("STRONGROOM_DB_PASSWORD", default)
        .env("SR_TEST_VISIBLE", "visible-marker-5d2e")
        .args([
            "db",
            "verify",
            "--table",
            "t",
            "--column",
            "c",
            "--db-password-env",
            "SR_TEST_DB_PASS",
        ])
        .args(["--keyring-passphrase-fd", "0", "--url"])
        .arg(format!("sqlite:{}", db.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let environ = format!("/proc/{}/environ", child.id());
    let contains = |bytes: &[u8], s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    // The values are removed first thing in `main`; wait for that (a
    // deadline, not a speed check: without the wipe this fails).
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        // Right after the start the file may still read empty: the marker
        // says it is readable.
        let seen = std::fs::read(&environ).unwrap_or_default();
        if contains(&seen, "visible-marker-5d2e") && !contains(&seen, named) && !contains(&seen, default) {
            break seen;
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the command ended before its environment was seen without the passwords: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "the database passwords stay in /proc/PID/environ"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        contains(&seen, "SR_TEST_DB_PASS="),
        "the entry itself was where it was"
    );
    child.stdin.take().unwrap().write_all(PASS.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
