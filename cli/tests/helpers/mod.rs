//! Shared helpers of the command-line tests: a private folder per test, a
//! keyring path inside it, and the built binary run without a terminal.

#![allow(dead_code)]

pub mod crash;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Cheap Argon2id options (the library's floor) to keep tests fast.
pub const FAST: [&str; 6] = [
    "--argon2-memory-mib",
    "8",
    "--argon2-time",
    "1",
    "--argon2-lanes",
    "1",
];

/// The keyring passphrase used by the tests.
pub const KEYRING_PASS: &str = "keyring passphrase for tests";

/// One test's private world.
pub struct World {
    /// The temporary folder (removed on drop).
    pub dir: tempfile::TempDir,
}

impl World {
    /// A fresh folder; the keyring path points inside it.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Path of `name` inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The folder of the record of keyrings seen every command uses
    /// (through STRONGROOM_STATE_DIR).
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    /// The keyring path every command sees (through STRONGROOM_KEYRING).
    pub fn keyring(&self) -> PathBuf {
        self.path("config/keyring.srk")
    }

    /// The command, run in the folder, with a clean environment: no
    /// secret variables, HOME inside the folder, stdin closed.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strongroom"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("STRONGROOM_KEYRING", self.keyring())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("xdg"))
            .env("STRONGROOM_STATE_DIR", self.state_dir())
            .env_remove("XDG_STATE_HOME")
            .env_remove("STRONGROOM_NO_SEEN_RECORD")
            .env_remove("STRONGROOM_KEYRING_PASSPHRASE")
            .env_remove("STRONGROOM_PASSPHRASE")
            .env_remove("STRONGROOM_NEW_PASSPHRASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs with the keyring passphrase in STRONGROOM_KEYRING_PASSPHRASE.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args)
            .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
            .output()
            .unwrap()
    }

    /// Runs with `input` on standard input.
    pub fn run_stdin<I, S>(&self, args: I, input: &[u8]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.cmd(args);
        c.env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
            .stdin(Stdio::piped());
        run_with_input(c, input)
    }

    /// Creates the keyring (fast Argon2id) and returns its id (hex).
    pub fn init_keyring(&self) -> String {
        let mut args = vec!["--json", "keyring", "init"];
        args.extend(FAST);
        let out = self.run(args);
        assert_code(&out, 0);
        json(&out)["keyring_id"].as_str().unwrap().to_string()
    }

    /// Writes a file in the folder.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Reads a file of the folder.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Names in the folder, sorted.
    pub fn names(&self) -> Vec<String> {
        names_in(self.dir.path())
    }
}

/// Sorted file names of `dir`.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Spawns `c` (stdin piped), feeds `input`, and waits.
pub fn run_with_input(mut c: Command, input: &[u8]) -> Output {
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        // The command may stop reading early (errors): ignore a broken pipe.
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Asserts the exit code, showing stdout and stderr otherwise.
#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The JSON object on stdout.
#[track_caller]
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The JSON error object on stderr.
#[track_caller]
pub fn json_error(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!(
            "stderr is not one JSON object ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deterministic test data.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[1] ^ seed)
        .collect()
}
