//! End-to-end tests of the `strongroom` binary: every command, secret
//! sources, pipes, JSON output and each exit-code class.

mod helpers;

use helpers::*;
use serde_json::Value;

fn with_fast<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(FAST);
    v
}

// ---------------------------------------------------------------- help

#[test]
fn help_lists_exit_codes() {
    let w = World::new();
    let out = w.run(["--help"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    for line in [
        "0  success",
        "1  internal",
        "2  usage",
        "3  I/O",
        "4  format",
        "5  integrity",
        "6  key",
        "7  conflict",
        "8  cancelled",
    ] {
        assert!(text.contains(line), "--help lacks {line:?}:\n{text}");
    }
    for cmd in [
        "keyring", "encrypt", "decrypt", "rewrap", "inspect", "field", "demo",
    ] {
        assert!(text.contains(cmd), "--help lacks the {cmd} command");
    }
    let out = w.run(["decrypt", "--help"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("chunk by authenticated"));
}

// ---------------------------------------------------------------- keyring

#[test]
fn keyring_lifecycle() {
    let w = World::new();
    let out = w.run(with_fast(&["--json", "keyring", "init"]));
    assert_code(&out, 0);
    let init = json(&out);
    assert_eq!(init["command"], "keyring init");
    assert_eq!(init["primary_version"], 1);
    assert_eq!(init["path"], w.keyring().display().to_string());
    assert_eq!(init["keyring_id"].as_str().unwrap().len(), 32);
    assert!(w.keyring().exists());

    // init refuses to overwrite (conflict).
    let before = std::fs::read(w.keyring()).unwrap();
    let out = w.run(with_fast(&["keyring", "init"]));
    assert_code(&out, 7);
    assert_eq!(std::fs::read(w.keyring()).unwrap(), before);

    let out = w.run(["--json", "keyring", "add-key"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["version"], 2);
    assert_eq!(json(&out)["status"], "decrypt-only");
    let out = w.run(["--json", "keyring", "add-key", "--promote"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["version"], 3);
    assert_eq!(json(&out)["primary_version"], 3);
    let out = w.run(["--json", "keyring", "promote", "2"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["primary_version"], 2);
    let out = w.run(["--json", "keyring", "disable", "1"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["status"], "disabled");
    let out = w.run(["--json", "keyring", "enable", "1"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["status"], "decrypt-only");

    // destroy needs --yes, and refuses the primary.
    let out = w.run(["keyring", "destroy", "1"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("irreversible"), "{}", stderr(&out));
    let out = w.run(["keyring", "destroy", "2", "--yes"]);
    assert_code(&out, 2);
    let out = w.run(["--json", "keyring", "destroy", "1", "--yes"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["status"], "destroyed");
    let out = w.run(["keyring", "promote", "99"]);
    assert_code(&out, 6);

    let out = w.run(["--json", "keyring", "list"]);
    assert_code(&out, 0);
    let list = json(&out);
    assert_eq!(list["keyring_id"], init["keyring_id"]);
    assert_eq!(list["primary_version"], 2);
    let statuses: Vec<&str> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["destroyed", "primary", "decrypt-only"]);
    let created = list["versions"][0]["created_at"].as_str().unwrap();
    assert!(
        created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "{created}"
    );
    assert_eq!(list["protectors"][0]["kind"], "passphrase");
    assert_eq!(list["protectors"][0]["argon2id"]["memory_kib"], 8192);

    // Human listing too.
    let out = w.run(["keyring", "list"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("primary") && stdout(&out).contains("destroyed"));

    // A second passphrase, then remove the first one.
    let mut c = w.cmd(with_fast(&[
        "--json",
        "keyring",
        "add-passphrase",
        "--new-passphrase-env",
        "NEWPASS",
    ]));
    let out = c
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("NEWPASS", "second passphrase")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let added = json(&out)["protector_id"].as_u64().unwrap();
    assert_eq!(added, 2);
    let out = w
        .cmd(["keyring", "list", "--keyring-passphrase-env", "P2"])
        .env("P2", "second passphrase")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let out = w.run(["--json", "keyring", "remove-passphrase", "1"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["removed_protector_ids"], serde_json::json!([1]));
    assert_eq!(json(&out)["master_key_replaced"], true);
    assert_eq!(json(&out)["protectors"].as_array().unwrap().len(), 1);
    // The removed passphrase no longer unlocks; the remaining one does.
    let out = w.run(["keyring", "list"]);
    assert_code(&out, 6);
    assert!(stderr(&out).contains("wrong passphrase"), "{}", stderr(&out));
    // The last protector cannot be removed.
    let out = w
        .cmd(["keyring", "remove-passphrase", "2"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", "second passphrase")
        .output()
        .unwrap();
    assert_code(&out, 2);
}

#[test]
fn recovery_key_unlocks_and_replaces() {
    let w = World::new();
    w.init_keyring();
    let out = w.run(["--json", "keyring", "recovery-key"]);
    assert_code(&out, 0);
    let v = json(&out);
    let key = v["recovery_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("SRRK-"), "{key}");
    assert_eq!(v["replaced_protector_ids"], Value::Array(vec![]));
    let first_id = v["protector_id"].clone();
    let rk = w.write("recovery.txt", format!("{key}\n").as_bytes());

    // Open the keyring with the recovery key alone.
    let out = w
        .cmd(["--json", "keyring", "list", "--recovery-key-file"])
        .arg(&rk)
        .output()
        .unwrap();
    assert_code(&out, 0);
    let listed = json(&out);
    let kinds: Vec<&str> = listed["protectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["passphrase", "recovery-key"]);
    // Recover: add a new passphrase with only the recovery key.
    let out = w
        .cmd(with_fast(&[
            "keyring",
            "add-passphrase",
            "--recovery-key-file",
            "recovery.txt",
            "--new-passphrase-env",
            "NP",
        ]))
        .env("NP", "recovered passphrase")
        .output()
        .unwrap();
    assert_code(&out, 0);

    // Human mode prints the key once, with the warning.
    let out = w.run(["keyring", "recovery-key"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("SRRK-") && text.contains("Write it down"), "{text}");
    assert!(text.contains("no longer opens this keyring file"), "{text}");
    // The first key was replaced: it now fails as a key error.
    let out = w
        .cmd(["keyring", "list", "--recovery-key-file", "recovery.txt"])
        .output()
        .unwrap();
    assert_code(&out, 6);
    // A mistyped key is a key error too, with a hint.
    w.write("typo.txt", key.replacen('-', "-Z", 1).as_bytes());
    let out = w
        .cmd(["keyring", "list", "--recovery-key-file", "typo.txt"])
        .output()
        .unwrap();
    assert_code(&out, 6);
    let _ = first_id;

    // --quiet prints just the key, ready to be stored in a file.
    let out = w.run(["-q", "keyring", "recovery-key"]);
    assert_code(&out, 0);
    w.write("rk2.txt", &out.stdout);
    let out = w
        .cmd(["keyring", "list", "--recovery-key-file", "rk2.txt"])
        .output()
        .unwrap();
    assert_code(&out, 0);
}

/// The audit's scenario through the binary: passphrase A, add B, keep a
/// copy, remove A, add-key --promote. The messages say what is true.
#[test]
fn removing_a_passphrase_revokes_it_and_says_what_old_copies_still_hold() {
    let w = World::new();
    w.init_keyring();
    let out = w
        .cmd(with_fast(&[
            "keyring",
            "add-passphrase",
            "--new-passphrase-env",
            "B",
        ]))
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("B", "passphrase B")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let old_copy = std::fs::read(w.keyring()).unwrap();
    let out = w.run(["keyring", "remove-protector", "1"]);
    assert_code(&out, 0);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("replaced its master key"), "{said}");
    assert!(said.contains("added key version 2 as primary"), "{said}");
    assert!(
        said.contains("(key version 1) stays readable") && said.contains("rewrap --rekey"),
        "{said}"
    );
    // A removed itself; B keeps the authentication value A's holder knows.
    assert!(
        said.contains("protector 2 kept authentication values") && said.contains("keyring reenroll"),
        "{said}"
    );
    assert!(
        !said.contains("no longer opens anything written"),
        "the old, untrue claim: {said}"
    );
    let out = w
        .cmd(["--json", "keyring", "add-key", "--promote"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", "passphrase B")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(json(&out)["version"], 3);
    // A on the new file: a key error.
    let out = w.run(["keyring", "list"]);
    assert_code(&out, 6);
    // A on the old copy: this machine saw a later state of the keyring,
    // so the record of keyrings seen refuses it; elsewhere it opens, but
    // knows only version 1.
    let old = w.write("old.keyring", &old_copy);
    let out = w
        .cmd(["--json", "--keyring"])
        .arg(&old)
        .args(["keyring", "list"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .output()
        .unwrap();
    assert_code(&out, 5);
    assert_eq!(json_error(&out)["error"]["name"], "KeyringRolledBack");
    let out = w
        .cmd(["--json", "--no-seen-record", "--keyring"])
        .arg(&old)
        .args(["keyring", "list"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(json(&out)["versions"].as_array().unwrap().len(), 1);

    // Explicit rekey, JSON and human: it changes no key version, and says so.
    let out = w
        .cmd(["--json", "keyring", "rekey"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", "passphrase B")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["command"], "keyring rekey");
    assert_eq!(v["master_key_replaced"], true);
    assert_eq!(v["old_copies_hold_versions"], serde_json::json!([1, 2, 3]));
    let out = w
        .cmd(["keyring", "rekey"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", "passphrase B")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("replaced the master key")
            && said.contains("yields key versions 1, 2, 3, including the primary (3)"),
        "{said}"
    );
    let out = w
        .cmd(["--json", "keyring", "upgrade"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", "passphrase B")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(json(&out)["upgraded"], false);
}

/// `remove-passphrase --no-rotate` keeps the primary and says what that
/// leaves open; the remaining protectors are named for re-enrollment.
#[test]
fn removal_without_rotation_says_what_it_leaves_open() {
    let w = World::new();
    w.init_keyring();
    for (var, pass) in [("B", "passphrase B"), ("C", "passphrase C")] {
        let out = w
            .cmd(with_fast(&[
                "keyring",
                "add-passphrase",
                "--new-passphrase-env",
                var,
            ]))
            .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
            .env(var, pass)
            .output()
            .unwrap();
        assert_code(&out, 0);
    }
    let out = w.run(["--json", "keyring", "remove-passphrase", "3", "--no-rotate"]);
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["new_primary_version"], Value::Null);
    assert_eq!(v["primary_version"], 1);
    assert_eq!(v["protectors_to_reenroll"], serde_json::json!([2]));
    let out = w.run(["keyring", "remove-passphrase", "2", "--no-rotate"]);
    assert_code(&out, 0);
    let said = stderr(&out);
    assert!(
        said.contains("kept key version 1 as primary (--no-rotate)")
            && said.contains("opens everything encrypted from now on"),
        "{said}"
    );
}

/// A format-1 keyring (the specification's example): it opens and
/// decrypts, but encrypting and changes are refused (exit 7, nothing
/// changed) until `keyring upgrade`, which needs the other protector's
/// secret or its removal.
#[test]
fn format_1_keyring_must_be_upgraded_with_every_protector() {
    let w = World::new();
    let hex_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/keyring/example-v1.hex"
    ))
    .unwrap();
    let bytes = hex::decode(hex_text.split_whitespace().collect::<String>()).unwrap();
    std::fs::create_dir_all(w.keyring().parent().unwrap()).unwrap();
    std::fs::write(w.keyring(), &bytes).unwrap();
    let example = |args: &[&str]| {
        w.cmd(args)
            .env("STRONGROOM_KEYRING_PASSPHRASE", "correct horse battery staple")
            .output()
            .unwrap()
    };
    let out = example(&["--json", "keyring", "rekey"]);
    assert_code(&out, 7);
    assert_eq!(json_error(&out)["error"]["name"], "KeyringNeedsUpgrade");
    w.write("plain.txt", b"data");
    let out = example(&["--json", "encrypt", "plain.txt"]);
    assert_code(&out, 7);
    assert_eq!(json_error(&out)["error"]["name"], "KeyringNeedsUpgrade");
    assert!(!w.path("plain.txt.srf").exists());
    assert_eq!(
        std::fs::read(w.keyring()).unwrap(),
        bytes,
        "a refused change changes nothing"
    );
    let out = example(&["--json", "keyring", "upgrade"]);
    assert_code(&out, 7);
    assert_eq!(json_error(&out)["error"]["name"], "ProtectorsNeedUpgrade");
    assert!(
        json_error(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("protector 2"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(w.keyring()).unwrap(), bytes);
    w.write(
        "rk.txt",
        b"SRRK-G20R5-0W4GP-38F24-9HA5R-S3CEH-Y8934-MKJJA-SD5WR-K6D9Q-74XKT-FSGD0\n",
    );
    let out = example(&["keyring", "upgrade", "--other-recovery-key-file", "rk.txt"]);
    assert_code(&out, 0);
    let said = stderr(&out);
    assert!(
        said.contains("could not prove who wrote it") && said.contains("keyring list"),
        "{said}"
    );
    let out = example(&["--json", "keyring", "list"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["format"], 3);
    assert_eq!(json(&out)["primary_version"], 5);
    let out = w
        .cmd(["keyring", "list", "--recovery-key-file", "rk.txt"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let out = example(&["keyring", "rekey"]);
    assert_code(&out, 0);
    let out = example(&["encrypt", "plain.txt"]);
    assert_code(&out, 0);
}

// ---------------------------------------------------------------- encrypt / decrypt

#[test]
fn round_trip_with_keyring() {
    let w = World::new();
    let id = w.init_keyring();
    let plain = data(200_000, 1);
    w.write("report.pdf", &plain);
    let out = w.run(["--json", "encrypt", "report.pdf"]);
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["command"], "encrypt");
    assert_eq!(v["output"], "report.pdf.srf");
    assert_eq!(v["plaintext_len"], 200_000);
    assert_eq!(v["file"]["stanzas"][0]["kind"], "keyring");
    assert_eq!(v["file"]["stanzas"][0]["keyring_id"], id.as_str());
    assert_eq!(v["file"]["stanzas"][0]["key_version"], 1);

    // Output exists: conflict without --force.
    let out = w.run(["encrypt", "report.pdf"]);
    assert_code(&out, 7);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = w.run(["encrypt", "--force", "report.pdf"]);
    assert_code(&out, 0);

    std::fs::remove_file(w.path("report.pdf")).unwrap();
    let out = w.run(["--json", "decrypt", "report.pdf.srf"]);
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["output"], "report.pdf");
    assert_eq!(v["plaintext_len"], 200_000);
    assert_eq!(v["keys_offered"], serde_json::json!(["keyring"]));
    assert_eq!(w.read("report.pdf"), plain);
    let out = w.run(["decrypt", "report.pdf.srf"]);
    assert_code(&out, 7);
    let out = w.run(["decrypt", "report.pdf.srf", "-o", "copy.pdf"]);
    assert_code(&out, 0);
    assert_eq!(w.read("copy.pdf"), plain);
}

#[test]
fn passphrase_from_env_file_and_fd() {
    let w = World::new();
    let plain = data(70_000, 2);
    w.write("notes.txt", &plain);
    // No keyring exists: a passphrase only, from an environment variable.
    let out = w
        .cmd(with_fast(&[
            "--json",
            "encrypt",
            "--passphrase",
            "--passphrase-env",
            "MYPASS",
            "notes.txt",
        ]))
        .env("MYPASS", "horse battery staple")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["file"]["stanzas"].as_array().unwrap().len(), 1);
    assert_eq!(v["file"]["stanzas"][0]["kind"], "passphrase");
    assert_eq!(v["file"]["stanzas"][0]["argon2id"]["iterations"], 1);

    // From a file with one trailing newline (stripped).
    w.write("pass.txt", b"horse battery staple\n");
    let out = w
        .cmd([
            "decrypt",
            "--passphrase-file",
            "pass.txt",
            "notes.txt.srf",
            "-o",
            "a.txt",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(w.read("a.txt"), plain);
    // CRLF too; but two newlines are part of the passphrase.
    w.write("pass-crlf.txt", b"horse battery staple\r\n");
    let out = w
        .cmd([
            "decrypt",
            "--passphrase-file",
            "pass-crlf.txt",
            "notes.txt.srf",
            "-o",
            "b.txt",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    w.write("pass-2nl.txt", b"horse battery staple\n\n");
    let out = w
        .cmd([
            "decrypt",
            "--passphrase-file",
            "pass-2nl.txt",
            "notes.txt.srf",
            "-o",
            "c.txt",
        ])
        .output()
        .unwrap();
    assert_code(&out, 6);

    // From file descriptor 0 (the input is a file, so stdin is free).
    let mut c = w.cmd(["decrypt", "--passphrase-fd", "0", "notes.txt.srf", "-o", "d.txt"]);
    c.stdin(std::process::Stdio::piped());
    let out = run_with_input(c, b"horse battery staple\n");
    assert_code(&out, 0);
    assert_eq!(w.read("d.txt"), plain);

    // The default variable STRONGROOM_PASSPHRASE, asked for only because
    // the file has a passphrase stanza.
    let out = w
        .cmd(["decrypt", "notes.txt.srf", "-o", "e.txt"])
        .env("STRONGROOM_PASSPHRASE", "horse battery staple")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(w.read("e.txt"), plain);

    // Encrypting with --passphrase-fd 0 as well.
    let mut c = w.cmd(with_fast(&[
        "encrypt",
        "--passphrase-fd",
        "0",
        "notes.txt",
        "-o",
        "fd.srf",
    ]));
    c.stdin(std::process::Stdio::piped());
    let out = run_with_input(c, b"from fd\n");
    assert_code(&out, 0);
    let out = w
        .cmd(["decrypt", "fd.srf", "-o", "f.txt", "--passphrase-env", "P"])
        .env("P", "from fd")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(w.read("f.txt"), plain);
}

#[test]
fn keyring_and_escrow_passphrase() {
    let w = World::new();
    w.init_keyring();
    let plain = data(50_000, 3);
    w.write("db.dump", &plain);
    let out = w
        .cmd(with_fast(&["encrypt", "--passphrase", "db.dump"]))
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("STRONGROOM_PASSPHRASE", "escrow")
        .output()
        .unwrap();
    assert_code(&out, 0);
    // The keyring opens it without asking for the passphrase: no
    // passphrase source is given and there is no terminal.
    let out = w.run(["decrypt", "db.dump.srf", "-o", "k.dump"]);
    assert_code(&out, 0);
    assert_eq!(w.read("k.dump"), plain);
    // Without the keyring, the escrow passphrase opens it.
    let out = w
        .cmd(["decrypt", "--no-keyring", "db.dump.srf", "-o", "p.dump"])
        .env("STRONGROOM_PASSPHRASE", "escrow")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(w.read("p.dump"), plain);
    // --passphrase uses only the passphrase (the keyring stays locked).
    let out = w
        .cmd(["decrypt", "--passphrase", "db.dump.srf", "-o", "q.dump"])
        .env("STRONGROOM_PASSPHRASE", "escrow")
        .output()
        .unwrap();
    assert_code(&out, 0);
}

#[test]
fn pipes_stdin_to_stdout() {
    let w = World::new();
    w.init_keyring();
    let plain = data(300_000, 4);
    let out = w.run_stdin(["encrypt"], &plain);
    assert_code(&out, 0);
    let ct = out.stdout.clone();
    assert!(ct.starts_with(b"\x89SRF"), "not an encrypted file on stdout");
    let out = w.run_stdin(["decrypt"], &ct);
    assert_code(&out, 0);
    assert_eq!(out.stdout, plain);
    // Explicit dashes, file to stdout and stdin to file.
    w.write("p.bin", &plain);
    let out = w.run(["encrypt", "p.bin", "-o", "-"]);
    assert_code(&out, 0);
    assert_eq!(&out.stdout[..4], b"\x89SRF");
    let out = w.run_stdin(["decrypt", "-", "-o", "from-pipe.bin"], &out.stdout);
    assert_code(&out, 0);
    assert_eq!(w.read("from-pipe.bin"), plain);
    let out = w.run_stdin(["encrypt", "-", "-o", "piped.srf"], &plain);
    assert_code(&out, 0);
    let out = w.run(["decrypt", "piped.srf", "-o", "-"]);
    assert_code(&out, 0);
    assert_eq!(out.stdout, plain);
    // With --json and data on stdout, the report goes to stderr.
    let out = w.run_stdin(["--json", "decrypt"], &ct);
    assert_code(&out, 0);
    assert_eq!(out.stdout, plain);
    let report: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(report["plaintext_len"], 300_000);
    // Inspect from a pipe.
    let out = w.run_stdin(["--json", "inspect", "-"], &ct);
    assert_code(&out, 0);
    assert_eq!(json(&out)["plaintext_len"], 300_000);
    assert_eq!(json(&out)["path"], Value::Null);
}

#[test]
fn truncated_or_modified_pipe_exits_non_zero() {
    let w = World::new();
    w.init_keyring();
    let plain = data(100_000, 5);
    let ct = w.run_stdin(["encrypt"], &plain).stdout;
    let mut bad = ct.clone();
    let n = bad.len();
    bad[n - 100] ^= 0x40;
    let out = w.run_stdin(["decrypt"], &bad);
    assert_code(&out, 5);
    assert!(out.stdout.len() < plain.len());
    let out = w.run_stdin(["decrypt"], &ct[..ct.len() - 10]);
    assert_ne!(out.status.code(), Some(0));
    assert!(matches!(out.status.code(), Some(4) | Some(5)), "{:?}", out.status);
}

// ---------------------------------------------------------------- exit codes

#[test]
fn exit_code_format_for_foreign_file() {
    let w = World::new();
    w.init_keyring();
    w.write("plain.srf", b"this is just text, not an encrypted file");
    let out = w.run(["decrypt", "plain.srf"]);
    assert_code(&out, 4);
    assert!(stderr(&out).contains("strongroom: error:"), "{}", stderr(&out));
    let out = w.run(["--json", "inspect", "plain.srf"]);
    assert_code(&out, 4);
    let e = json_error(&out);
    assert_eq!(e["error"]["kind"], "format");
    assert_eq!(e["error"]["exit_code"], 4);
    assert_eq!(e["error"]["name"], "BadMagic");
    assert_eq!(e["error"]["code"], 401);
    assert!(!w.path("plain").exists());
}

#[test]
fn exit_code_integrity_leaves_nothing_behind() {
    let w = World::new();
    w.init_keyring();
    w.write("big.bin", &data(500_000, 6));
    assert_code(&w.run(["encrypt", "big.bin"]), 0);
    let mut ct = w.read("big.bin.srf");
    let mid = ct.len() / 2;
    ct[mid] ^= 0x01;
    w.write("tampered.srf", &ct);
    let before = w.names();
    let out = w.run(["--json", "decrypt", "tampered.srf", "-o", "out.bin"]);
    assert_code(&out, 5);
    let e = json_error(&out);
    assert_eq!(e["error"]["kind"], "integrity");
    assert_eq!(e["error"]["name"], "ChunkAuthFailed");
    assert_eq!(e["error"]["code"], 503);
    assert!(!w.path("out.bin").exists());
    assert_eq!(w.names(), before, "no output and no temporary file may remain");
    // Same from a pipe into a file.
    let out = w.run_stdin(["decrypt", "-", "-o", "out2.bin"], &ct);
    assert_code(&out, 5);
    assert_eq!(w.names(), before);
}

#[test]
fn exit_code_key_for_wrong_passphrase() {
    let w = World::new();
    w.write("x.txt", b"secret");
    let out = w
        .cmd(with_fast(&["encrypt", "--passphrase-env", "P", "x.txt"]))
        .env("P", "right")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let before = w.names();
    let out = w
        .cmd(["decrypt", "x.txt.srf", "-o", "y.txt", "--passphrase-env", "P"])
        .env("P", "wrong")
        .output()
        .unwrap();
    assert_code(&out, 6);
    assert!(stderr(&out).contains("wrong passphrase"));
    assert!(stderr(&out).contains("hint:"));
    assert_eq!(w.names(), before);
    // Wrong keyring passphrase.
    w.init_keyring();
    let out = w
        .cmd(["keyring", "list"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", "nope")
        .output()
        .unwrap();
    assert_code(&out, 6);
    // The file is for a passphrase; another keyring does not fit.
    let out = w.run(["decrypt", "x.txt.srf", "-o", "z.txt", "--no-keyring"]);
    assert_code(&out, 2); // a passphrase is needed and no source/terminal
}

#[test]
fn exit_code_format_for_excessive_kdf_in_file() {
    let w = World::new();
    w.write("x.txt", b"secret");
    let out = w
        .cmd(with_fast(&["encrypt", "--passphrase-env", "P", "x.txt"]))
        .env("P", "right")
        .output()
        .unwrap();
    assert_code(&out, 0);
    // Patch the passphrase stanza's Argon2id memory to 100 GiB.
    let mut bytes = w.read("x.txt.srf");
    bytes[31..35].copy_from_slice(&(100u32 << 20).to_be_bytes());
    w.write("x.txt.srf", &bytes);
    let out = w
        .cmd(["decrypt", "x.txt.srf", "-o", "y.txt", "--passphrase-env", "P"])
        .env("P", "right")
        .output()
        .unwrap();
    assert_code(&out, 4);
    assert!(
        stderr(&out).contains("beyond the documented caps"),
        "{}",
        stderr(&out)
    );
    assert!(!w.path("y.txt").exists());
}

#[test]
fn unreadable_keyring_does_not_block_a_passphrase_file() {
    let w = World::new();
    w.write("x.txt", b"secret");
    let out = w
        .cmd(with_fast(&[
            "encrypt",
            "--no-keyring",
            "--passphrase-env",
            "P",
            "x.txt",
        ]))
        .env("P", "right")
        .output()
        .unwrap();
    assert_code(&out, 0);
    std::fs::create_dir_all(w.keyring().parent().unwrap()).unwrap();
    std::fs::write(w.keyring(), b"not a keyring at all").unwrap();
    let out = w
        .cmd(["decrypt", "x.txt.srf", "-o", "y.txt", "--passphrase-env", "P"])
        .env("P", "right")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(w.read("y.txt"), b"secret");
}

#[test]
fn exit_code_key_for_another_keyring() {
    let a = World::new();
    a.init_keyring();
    a.write("f", b"for keyring A");
    assert_code(&a.run(["encrypt", "f"]), 0);
    let b = World::new();
    b.init_keyring();
    std::fs::copy(a.path("f.srf"), b.path("f.srf")).unwrap();
    let out = b.run(["decrypt", "f.srf"]);
    assert_code(&out, 6);
    assert!(stderr(&out).contains("another keyring"), "{}", stderr(&out));
}

#[test]
fn exit_code_usage() {
    let w = World::new();
    // clap's own errors.
    assert_code(&w.run(["encrypt", "--no-such-option"]), 2);
    assert_code(&w.run(["keyring", "promote", "not-a-number"]), 2);
    assert_code(&w.run(["frobnicate"]), 2);
    let out = w.run(["--json", "encrypt", "--bogus"]);
    assert_code(&out, 2);
    assert_eq!(json_error(&out)["error"]["kind"], "usage");
    assert_eq!(json_error(&out)["error"]["exit_code"], 2);
    // A passphrase is needed but no source is given and there is no terminal.
    w.write("a.txt", b"a");
    let out = w
        .cmd(with_fast(&["encrypt", "--passphrase", "a.txt"]))
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(stderr(&out).contains("--passphrase-env"), "{}", stderr(&out));
    let out = w.cmd(with_fast(&["--json", "keyring", "init"])).output().unwrap();
    assert_code(&out, 2);
    assert!(
        json_error(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no terminal")
    );
    // Nothing to encrypt to.
    let out = w.run(["encrypt", "a.txt"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("keyring init"), "{}", stderr(&out));
    // Argon2id below the floor is refused before any work.
    let out = w
        .cmd([
            "encrypt",
            "--passphrase-env",
            "P",
            "--argon2-memory-mib",
            "1",
            "a.txt",
        ])
        .env("P", "p")
        .output()
        .unwrap();
    assert_code(&out, 2);
    // An empty new passphrase is refused.
    let out = w
        .cmd(with_fast(&["encrypt", "--passphrase-env", "P", "a.txt"]))
        .env("P", "")
        .output()
        .unwrap();
    assert_code(&out, 2);
    // No output name can be derived.
    w.write("b.bin", b"b");
    assert_code(&w.run(["decrypt", "b.bin"]), 2);
    // Two sources for one secret.
    let out = w.run([
        "keyring",
        "list",
        "--keyring-passphrase-env",
        "A",
        "--keyring-passphrase-file",
        "x",
    ]);
    assert_code(&out, 2);
    // Keyring commands without a keyring.
    let out = w.run(["keyring", "list"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("no keyring"), "{}", stderr(&out));
    // rewrap with nothing to do.
    assert_code(&w.run(["rewrap", "b.bin"]), 2);
}

// ---------------------------------------------------------------- rewrap, inspect

fn payload(w: &World, name: &str) -> Vec<u8> {
    let out = w.run(["--json", "inspect", name]);
    assert_code(&out, 0);
    let header_len = json(&out)["header_len"].as_u64().unwrap() as usize;
    w.read(name)[header_len..].to_vec()
}

#[test]
fn rewrap_to_new_primary_keeps_payload() {
    let w = World::new();
    let id = w.init_keyring();
    let plain = data(120_000, 7);
    w.write("doc", &plain);
    assert_code(&w.run(["encrypt", "doc"]), 0);
    let before = payload(&w, "doc.srf");

    assert_code(&w.run(["keyring", "add-key", "--promote"]), 0);
    let out = w.run(["--json", "rewrap", "doc.srf", "--to-primary"]);
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["before"]["stanzas"][0]["key_version"], 1);
    assert_eq!(v["file"]["stanzas"][0]["key_version"], 2);
    let out = w.run(["--json", "inspect", "doc.srf"]);
    let info = json(&out);
    assert_eq!(info["stanzas"].as_array().unwrap().len(), 1);
    assert_eq!(info["stanzas"][0]["keyring_id"], id.as_str());
    assert_eq!(info["stanzas"][0]["key_version"], 2);
    assert_eq!(payload(&w, "doc.srf"), before, "payload bytes must not change");

    // Retire version 1: the rewrapped file still opens.
    assert_code(&w.run(["keyring", "disable", "1"]), 0);
    assert_code(&w.run(["decrypt", "doc.srf", "-o", "doc.out"]), 0);
    assert_eq!(w.read("doc.out"), plain);

    // Add an escrow passphrase, open with it alone, then remove it.
    let out = w
        .cmd(with_fast(&[
            "rewrap",
            "doc.srf",
            "--add-passphrase",
            "--new-passphrase-env",
            "E",
        ]))
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("E", "escrow")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(payload(&w, "doc.srf"), before);
    let out = w
        .cmd(["decrypt", "--passphrase-env", "E", "doc.srf", "-o", "e.out"])
        .env("E", "escrow")
        .output()
        .unwrap();
    assert_code(&out, 0);
    // Removing with a wrong passphrase is a key error and changes nothing.
    let snapshot = w.read("doc.srf");
    let out = w
        .cmd([
            "rewrap",
            "doc.srf",
            "--remove-passphrase",
            "--passphrase-env",
            "E",
        ])
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("E", "not escrow")
        .output()
        .unwrap();
    assert_code(&out, 6);
    assert_eq!(w.read("doc.srf"), snapshot);
    let out = w
        .cmd([
            "--json",
            "rewrap",
            "doc.srf",
            "--remove-passphrase",
            "--passphrase-env",
            "E",
        ])
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("E", "escrow")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(json(&out)["file"]["stanzas"].as_array().unwrap().len(), 1);
    // Removing the last way in is refused.
    assert_code(&w.run(["rewrap", "doc.srf", "--remove-keyring"]), 2);
    assert_eq!(payload(&w, "doc.srf"), before);
}

#[test]
fn inspect_needs_no_keys() {
    let w = World::new();
    let id = w.init_keyring();
    w.write("x", &data(40_000, 8));
    let out = w
        .cmd(with_fast(&["encrypt", "--passphrase-env", "P", "x"]))
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("P", "p")
        .output()
        .unwrap();
    assert_code(&out, 0);
    // No secret in the environment, and the keyring moved away.
    std::fs::rename(w.keyring(), w.path("elsewhere.srk")).unwrap();
    let out = w.cmd(["--json", "inspect", "x.srf"]).output().unwrap();
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["command"], "inspect");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["suite"], "cobblestone-256");
    assert_eq!(v["file_id"].as_str().unwrap().len(), 32);
    assert_eq!(v["plaintext_len"], 40_000);
    assert!(v["header_len"].as_u64().unwrap() > 0);
    assert!(v["payload_len"].as_u64().unwrap() > 40_000);
    assert_eq!(v["stanzas"][0]["kind"], "keyring");
    assert_eq!(v["stanzas"][0]["keyring_id"], id.as_str());
    assert_eq!(v["stanzas"][1]["kind"], "passphrase");
    assert_eq!(v["stanzas"][1]["argon2id"]["memory_kib"], 8192);
    let out = w.cmd(["inspect", "x.srf"]).output().unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("cobblestone-256") && text.contains("key version 1") && text.contains("Argon2id 8 MiB"),
        "{text}"
    );
}

// ---------------------------------------------------------------- demo

#[test]
fn demo_runs_and_produces_its_files() {
    let w = World::new();
    let dir = w.path("demo");
    let out = w.cmd(["demo", "--dir"]).arg(&dir).output().unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.lines().count() <= 60, "demo output should be short:\n{text}");
    for name in [
        "customers.db",
        "keyring.srk",
        "keyring-passphrase.txt",
        "escrow-passphrase.txt",
        "documents.tar",
        "documents.tar.srf",
        "documents.decrypted.tar",
        "documents.tampered.tar.srf",
    ] {
        let p = dir.join(name);
        let len = std::fs::metadata(&p)
            .unwrap_or_else(|_| panic!("{name} missing"))
            .len();
        assert!(text.contains(name), "the summary should list {name}:\n{text}");
        assert!(
            text.contains(&format!("({len} bytes)")),
            "the summary should give {name}'s size:\n{text}"
        );
    }
    assert!(!dir.join("documents.tampered.decrypted.tar").exists());
    assert!(!names_in(&dir).iter().any(|n| n.ends_with(".tmp")));
    assert_eq!(
        std::fs::read(dir.join("documents.tar")).unwrap(),
        std::fs::read(dir.join("documents.decrypted.tar")).unwrap()
    );
    let tar_len = std::fs::metadata(dir.join("documents.tar")).unwrap().len();
    assert!(tar_len > 1 << 20, "a few MiB of documents, got {tar_len}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("keyring-passphrase.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The demo's keyring opens with the saved passphrase.
    let out = w
        .cmd(["--json", "--keyring"])
        .arg(dir.join("keyring.srk"))
        .args(["keyring", "list", "--keyring-passphrase-file"])
        .arg(dir.join("keyring-passphrase.txt"))
        .output()
        .unwrap();
    assert_code(&out, 0);
    // A non-empty folder is refused (a conflict, like any existing output).
    let out = w.cmd(["demo", "--dir"]).arg(&dir).output().unwrap();
    assert_code(&out, 7);
}

#[test]
fn demo_database_is_encrypted_and_readable_with_the_command() {
    let w = World::new();
    let dir = w.path("demo");
    let out = w.cmd(["--json", "demo", "--dir"]).arg(&dir).output().unwrap();
    assert_code(&out, 0);
    let db = &json(&out)["database"];
    assert_eq!(db["rows"], 2000);
    assert!(db["addresses_in_clear_before"].as_u64().unwrap() >= 2000, "{db}");
    assert_eq!(db["addresses_in_clear_after"], 0);
    assert_eq!(db["lookups"]["email"]["candidates"], 1);
    assert_eq!(db["lookups"]["national_id"]["duplicate_refused"], true);
    assert_eq!(db["moved_token"]["refused"], true);
    assert_eq!(db["rotation"]["rows_on_old_version_before"], 2000);
    assert_eq!(db["rotation"]["rows_on_old_version_after"], 0);
    assert_eq!(db["rotation"]["new_version"], 2);

    // The columns were encrypted in place (text tokens), and no address is
    // in the file's bytes.
    let path = dir.join("customers.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('customers')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        columns,
        [
            "id",
            "name",
            "email",
            "national_id",
            "birth_date",
            "balance_cents",
            "note",
            "email_idx"
        ]
    );
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.windows(12).any(|win| win == b"@example.com"));

    // The command line decrypts a row's token with the same row-key
    // convention (the id's decimal text), and refuses it for another row.
    let token: String = conn
        .query_row("SELECT email FROM customers WHERE id = 17", [], |r| r.get(0))
        .unwrap();
    assert!(token.starts_with("sr1."), "{token}");
    let keyring = dir.join("keyring.srk");
    let pass = dir.join("keyring-passphrase.txt");
    let decrypt = |row: u32| {
        let mut c = w.cmd(["--keyring"]);
        c.arg(&keyring)
            .args([
                "field",
                "decrypt",
                "--table",
                "customers",
                "--column",
                "email",
                "--rows",
            ])
            .arg("--keyring-passphrase-file")
            .arg(&pass)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let line = format!("{row}\t{token}\n");
        run_with_input(c, line.as_bytes())
    };
    let out = decrypt(17);
    assert_code(&out, 0);
    assert!(
        stdout(&out).trim_end().ends_with("17@example.com"),
        "{}",
        stdout(&out)
    );
    let out = decrypt(18);
    assert_code(&out, 5);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("failed authentication"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- cancellation

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_cleanly() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let w = World::new();
    let mut c = w.cmd(with_fast(&[
        "encrypt",
        "--passphrase-env",
        "P",
        "-",
        "-o",
        "out.srf",
    ]));
    c.env("P", "p").stdin(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&data(1 << 20, 9)).unwrap();
    // The temporary output appears once the signal handlers are installed.
    let start = Instant::now();
    while !temp_output_open(&w, child.id()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no temporary output appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(100));
    // More input wakes the copy loop, which sees the flag.
    let _ = stdin.write_all(&data(1 << 20, 10));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 8);
    assert!(stderr(&out).contains("cancelled"), "{}", stderr(&out));
    assert!(w.names().is_empty(), "nothing may remain: {:?}", w.names());
}

// ---------------------------------------------------------------- field

/// `users.email`, the column most field tests use.
const EMAIL: [&str; 4] = ["--table", "users", "--column", "email"];

/// `strongroom field SUB <EMAIL> ARGS...` with `input` on standard input.
fn field(w: &World, sub: &str, args: &[&str], input: &str) -> std::process::Output {
    let mut all = vec!["field", sub];
    all.extend(EMAIL);
    all.extend(args);
    w.run_stdin(all, input.as_bytes())
}

/// The lines of standard output.
fn out_lines(out: &std::process::Output) -> Vec<String> {
    stdout(out).lines().map(str::to_string).collect()
}

/// Asserts a failure: exit code, nothing on stdout, `message` on stderr.
#[track_caller]
fn assert_fails(out: &std::process::Output, code: i32, message: &str) {
    assert_code(out, code);
    assert!(out.stdout.is_empty(), "stdout must be empty: {}", stdout(out));
    assert!(
        stderr(out).contains(message),
        "expected {message:?} in:\n{}",
        stderr(out)
    );
}

/// `ROW<TAB>LINE` for each line, rows `r1`, `r2`, ...
fn with_rows(lines: &[String]) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("r{}\t{l}\n", i + 1))
        .collect()
}

#[test]
fn field_round_trip_every_type_with_rows_and_null() {
    let w = World::new();
    w.init_keyring();
    // (type, input lines, canonical output lines)
    let cases: [(&str, &[&str], &[&str]); 8] = [
        (
            "text",
            &["alice@x.org", " spaced\t", ""],
            &["alice@x.org", " spaced\t", ""],
        ),
        ("bytes", &["00ff", "\\xABCD", ""], &["00ff", "abcd", ""]),
        (
            "int",
            &["-9223372036854775808", "+7", "9223372036854775807"],
            &["-9223372036854775808", "7", "9223372036854775807"],
        ),
        (
            "float",
            &["1.5", "-0.0", "1E300", "NaN", "-inf"],
            &["1.5", "-0.0", "1e300", "NaN", "-inf"],
        ),
        ("bool", &["t", "FALSE", "1"], &["true", "false", "true"]),
        (
            "date",
            &["2000-02-29", "0001-01-01", "9999-12-31"],
            &["2000-02-29", "0001-01-01", "9999-12-31"],
        ),
        (
            "timestamp",
            &["1969-12-31T23:59:59.5Z", "2024-01-01 01:00:00+01:00"],
            &["1969-12-31T23:59:59.500000Z", "2024-01-01T00:00:00Z"],
        ),
        ("decimal", &["-1234.50", "0"], &["-1234.50", "0"]),
    ];
    for (ty, input, expected) in cases {
        let lines: Vec<String> = input
            .iter()
            .map(|s| s.to_string())
            .chain(["\\N".into()])
            .collect();
        let args = ["--type", ty, "--rows", "--null", "\\N"];
        let out = field(&w, "encrypt", &args, &with_rows(&lines));
        assert_code(&out, 0);
        let tokens = out_lines(&out);
        assert_eq!(tokens.len(), lines.len(), "{ty}");
        assert!(
            tokens[..input.len()]
                .iter()
                .all(|t| t.starts_with("sr1.AQEAAAAB")),
            "{ty}: {tokens:?}"
        );
        assert_eq!(tokens.last().unwrap(), "\\N", "NULL stays NULL");

        let out = field(&w, "decrypt", &args, &with_rows(&tokens));
        assert_code(&out, 0);
        let mut want: Vec<&str> = expected.to_vec();
        want.push("\\N");
        assert_eq!(out_lines(&out), want, "{ty}");
    }

    // A column that hides NULL encrypts it as a token, which decrypts to NULL.
    let out = field(
        &w,
        "encrypt",
        &["--type", "int", "--hide-null", "--null", "-"],
        "5\n-\n",
    );
    assert_code(&out, 0);
    let tokens = out_lines(&out);
    assert!(tokens[1].starts_with("sr1."), "{tokens:?}");
    assert_eq!(
        tokens[0].len(),
        tokens[1].len(),
        "a hidden NULL has a value's length"
    );
    let input = tokens.join("\n");
    let out = field(&w, "decrypt", &["--type", "int", "--null", "-"], &input);
    assert_code(&out, 0);
    assert_eq!(out_lines(&out), ["5", "-"]);
    // Without a marker, a hidden NULL cannot be printed as a line.
    let out = field(&w, "decrypt", &["--type", "int"], &input);
    assert_fails(&out, 2, "line 2: the result is NULL");
}

#[test]
fn field_values_from_arguments_and_hex_tokens() {
    let w = World::new();
    w.init_keyring();
    let mut args = vec!["field", "encrypt", "--type", "int", "--binary-hex", "--row", "17"];
    args.extend(EMAIL);
    args.extend(["-5"]);
    let out = w.run(&args);
    assert_code(&out, 0);
    let hex = stdout(&out).trim().to_string();
    assert!(hex.starts_with("010100000001"), "{hex}");
    // Hex and PostgreSQL's \x form both decrypt; the row key must match.
    for token in [hex.clone(), format!("\\x{}", hex.to_uppercase())] {
        let out = field(
            &w,
            "decrypt",
            &["--type", "int", "--row", "17"],
            &format!("{token}\n"),
        );
        assert_code(&out, 0);
        assert_eq!(stdout(&out), "-5\n");
    }
    // --row binds one value only.
    let out = field(&w, "encrypt", &["--row", "17"], "a\nb\n");
    assert_fails(&out, 2, "--row binds a single value");
    // An option after a value would be read as a value: refused.
    let mut args = vec!["field", "encrypt"];
    args.extend(EMAIL);
    args.extend(["secret-value", "--deterministic"]);
    let out = w.run(&args);
    assert_fails(&out, 2, "the option --deterministic comes after a value");
    assert!(!stderr(&out).contains("secret-value"), "{}", stderr(&out));
    // After `--` it is a value.
    let mut args = vec!["field", "encrypt"];
    args.extend(EMAIL);
    args.extend(["--", "--deterministic"]);
    let out = w.run(&args);
    assert_code(&out, 0);
    let out = field(&w, "decrypt", &[], &stdout(&out));
    assert_eq!(stdout(&out), "--deterministic\n");
}

#[test]
fn field_deterministic_and_random_tokens() {
    let w = World::new();
    w.init_keyring();
    let out = field(&w, "encrypt", &["--deterministic"], "x\nx\ny\n");
    assert_code(&out, 0);
    let t = out_lines(&out);
    assert_eq!(t[0], t[1], "equal values give equal tokens");
    assert_ne!(t[0], t[2]);
    assert!(t[0].starts_with("sr1.AQIAAAAB"), "{}", t[0]);
    let out = field(&w, "encrypt", &[], "x\nx\n");
    assert_code(&out, 0);
    let t = out_lines(&out);
    assert_ne!(t[0], t[1], "random mode gives unrelated tokens");
    // Deterministic tokens cannot bind a row.
    let out = field(&w, "encrypt", &["--deterministic", "--rows"], "1\tx\n");
    assert_fails(&out, 2, "a deterministic column cannot bind row keys");
}

#[test]
fn field_index_normalises_and_lists_versions_after_rotation() {
    let w = World::new();
    w.init_keyring();
    let idx = ["--index-len", "8", "--normalizer", "trim-lowercase"];
    let out = field(&w, "index", &idx, "Alice@x.org \nalice@x.org\nbob@x.org\n");
    assert_code(&out, 0);
    let terms = out_lines(&out);
    assert_eq!(terms[0], terms[1]);
    assert_ne!(terms[0], terms[2]);
    assert_eq!(terms[0].len(), 16, "8 bytes in hex");
    let old = terms[0].clone();

    assert_code(&w.run(["keyring", "add-key", "--promote"]), 0);
    let out = field(&w, "index", &idx, "alice@x.org\n");
    assert_code(&out, 0);
    let new = stdout(&out).trim().to_string();
    assert_ne!(new, old, "the term changes with the key version");
    let mut all = idx.to_vec();
    all.push("--all-versions");
    let out = field(&w, "index", &all, "alice@x.org\n");
    assert_code(&out, 0);
    assert_eq!(stdout(&out), format!("{new},{old}\n"), "primary first");
    let mut json_args = vec!["--json", "field", "index"];
    json_args.extend(EMAIL);
    json_args.extend(&all);
    let out = w.run_stdin(json_args, b"alice@x.org\n");
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["key_versions"], serde_json::json!([2, 1]));
    assert_eq!(v["terms"], serde_json::json!([[new, old]]));

    // An index needs its length; a normaliser needs a text column.
    let out = field(&w, "index", &[], "x\n");
    assert_fails(&out, 2, "field index needs the column's blind index length");
    let out = field(
        &w,
        "index",
        &["--type", "int", "--index-len", "8", "--normalizer", "digits-only"],
        "1\n",
    );
    assert_fails(&out, 2, "the digits-only normaliser applies to text columns only");
}

#[test]
fn field_decrypt_refuses_another_column_row_or_type() {
    let w = World::new();
    w.init_keyring();
    let out = field(&w, "encrypt", &["--rows"], "1\tfirst\n2\tsecond\n");
    assert_code(&out, 0);
    let tokens = out_lines(&out);
    let good = format!("1\t{}\n2\t{}\n", tokens[0], tokens[1]);
    assert_code(&field(&w, "decrypt", &["--rows"], &good), 0);

    // Another column: integrity (5), nothing on stdout, no plaintext.
    let mut args = vec![
        "field", "decrypt", "--table", "users", "--column", "name", "--rows",
    ];
    args.extend(["--null", "x"]);
    let out = w.run_stdin(args, good.as_bytes());
    assert_fails(&out, 5, "line 1: field token failed authentication");
    assert!(stderr(&out).contains("hint: a token decrypts only with the table, column and row key"));
    // Swapped row keys: the first line fails.
    let swapped = format!("2\t{}\n1\t{}\n", tokens[0], tokens[1]);
    assert_fails(
        &field(&w, "decrypt", &["--rows"], &swapped),
        5,
        "line 1: field token failed authentication",
    );
    // Only the second row wrong: the error names line 2.
    let second = format!("1\t{}\n1\t{}\n", tokens[0], tokens[1]);
    assert_fails(
        &field(&w, "decrypt", &["--rows"], &second),
        5,
        "line 2: field token failed authentication",
    );
    // No row key at all.
    let bare = format!("{}\n", tokens[0]);
    assert_fails(
        &field(&w, "decrypt", &[], &bare),
        5,
        "line 1: field token failed authentication",
    );
    // Another type: usage (2).
    let out = field(&w, "decrypt", &["--rows", "--type", "int"], &good);
    assert_fails(
        &out,
        2,
        "line 1: field type mismatch: the column holds int values, found text",
    );
    // A line without a tab in --rows mode.
    let out = field(&w, "decrypt", &["--rows"], &bare);
    assert_fails(&out, 2, "line 1: expected ROWKEY<TAB>VALUE");
}

#[test]
fn field_errors_name_the_line_and_never_the_value() {
    let w = World::new();
    w.init_keyring();
    // A value that does not parse: usage (2), line 3, value not echoed.
    let out = field(&w, "encrypt", &["--type", "int"], "1\n2\nsecret-42\n4\n");
    assert_fails(
        &out,
        2,
        "line 3: not a valid int value: expected a decimal integer",
    );
    assert!(!stderr(&out).contains("secret"), "{}", stderr(&out));
    let out = field(&w, "encrypt", &["--type", "date"], "2000-02-29\n1900-02-29\n");
    assert_fails(
        &out,
        2,
        "line 2: not a valid date value: no such day in that month",
    );
    let out = field(&w, "encrypt", &["--type", "timestamp"], "2024-01-01T00:00:00\n");
    assert_fails(
        &out,
        2,
        "line 1: not a valid timestamp value: expected YYYY-MM-DDTHH:MM:SS",
    );

    // A malformed token: format (4).
    let out = field(&w, "encrypt", &[], "ok\n");
    let token = stdout(&out).trim().to_string();
    let out = field(&w, "decrypt", &[], &format!("{token}\nsr1.@@@@\n"));
    assert_fails(
        &out,
        4,
        "line 2: malformed field token text: not canonical unpadded base64url",
    );
    let out = field(&w, "decrypt", &[], &format!("{token}\n{}\n", &token[..20]));
    assert_fails(&out, 4, "line 2: truncated input: field token");
    let out = field(&w, "decrypt", &[], "not a token\n");
    assert_fails(
        &out,
        4,
        "line 1: malformed field token: expected the text form (sr1.…) or hex",
    );
    // A modified token: integrity (5).
    let mut bytes = token.into_bytes();
    // A middle character: all of its 6 bits are payload (the ciphertext).
    bytes[40] = if bytes[40] == b'A' { b'B' } else { b'A' };
    let modified = String::from_utf8(bytes).unwrap();
    assert_fails(
        &field(&w, "decrypt", &[], &modified),
        5,
        "line 1: field token failed authentication",
    );

    // A decrypted value with a line break needs --json; the NULL marker
    // cannot be a value.
    let mut args = vec!["field", "encrypt"];
    args.extend(EMAIL);
    args.push("two\nlines");
    let token = stdout(&w.run(&args)).trim().to_string();
    let out = field(&w, "decrypt", &[], &token);
    assert_fails(&out, 2, "line 1: the value contains a line break");
    let mut args = vec!["--json", "field", "decrypt"];
    args.extend(EMAIL);
    let out = w.run_stdin(args, token.as_bytes());
    assert_code(&out, 0);
    assert_eq!(json(&out)["values"], serde_json::json!(["two\nlines"]));
    let out = field(&w, "encrypt", &[], "NULL\n");
    let out = field(&w, "decrypt", &["--null", "NULL"], &stdout(&out));
    assert_fails(&out, 2, "line 1: the value equals the --null marker");

    // Standard input cannot carry both the lines and the passphrase.
    let out = field(&w, "encrypt", &["--keyring-passphrase-fd", "0"], "x\n");
    assert_fails(&out, 2, "standard input carries the input lines");
}

#[test]
fn field_inspect_needs_no_keyring() {
    let w = World::new();
    w.init_keyring();
    let out = field(&w, "encrypt", &["--null", "-"], "alice@x.org\n-\n");
    let random = stdout(&out);
    let out = field(&w, "encrypt", &["--deterministic"], "alice@x.org\n");
    let det = stdout(&out);

    let other = World::new();
    // No keyring exists in `other`, and no secret is offered.
    assert!(!other.keyring().exists());
    let mut c = other.cmd(["field", "inspect", "--null", "-"]);
    c.stdin(std::process::Stdio::piped());
    let out = run_with_input(c, format!("{random}{det}").as_bytes());
    assert_code(&out, 0);
    assert_eq!(
        out_lines(&out),
        [
            "version=1 suite=xaes-256-gcm mode=random key_version=1 len=58 body_len=11",
            "-",
            "version=1 suite=aes-256-siv mode=deterministic key_version=1 len=34 body_len=11",
        ]
    );
    let token = random.lines().next().unwrap();
    let out = other.cmd(["--json", "field", "inspect", token]).output().unwrap();
    assert_code(&out, 0);
    assert_eq!(
        json(&out),
        serde_json::json!({"command": "field inspect", "tokens": [{
            "version": 1, "suite": "xaes-256-gcm", "mode": "random", "key_version": 1, "len": 58, "body_len": 11
        }]})
    );
    let out = other
        .cmd(["field", "inspect", "sr1.AQMAAAABAAAAAAAAAAAAAAAA"])
        .output()
        .unwrap();
    assert_fails(&out, 4, "argument 1: unsupported cipher suite 3");
}

#[test]
fn field_rewrap_moves_tokens_to_the_new_primary() {
    let w = World::new();
    w.init_keyring();
    let out = field(
        &w,
        "encrypt",
        &["--rows", "--null", "-"],
        "1\talice\n2\t-\n3\tcarol\n",
    );
    assert_code(&out, 0);
    let old = out_lines(&out);
    assert_code(&w.run(["keyring", "add-key", "--promote"]), 0);

    let input = format!("1\t{}\n2\t-\n3\t{}\n", old[0], old[2]);
    let mut args = vec!["--json", "field", "rewrap"];
    args.extend(EMAIL);
    args.extend(["--rows", "--null", "-"]);
    let out = w.run_stdin(args, input.as_bytes());
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["key_version"], 2);
    assert_eq!(v["rewrapped"], 2);
    let new: Vec<String> = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap_or("-").to_string())
        .collect();
    assert_eq!(new[1], "-");
    assert!(
        new[0].starts_with("sr1.AQEAAAAC") && new[2].starts_with("sr1.AQEAAAAC"),
        "{new:?}"
    );

    // The new tokens decrypt once version 1 is disabled; the old ones do not.
    assert_code(&w.run(["keyring", "disable", "1"]), 0);
    let rewrapped = format!("1\t{}\n2\t{}\n3\t{}\n", new[0], new[1], new[2]);
    let out = field(&w, "decrypt", &["--rows", "--null", "-"], &rewrapped);
    assert_code(&out, 0);
    assert_eq!(out_lines(&out), ["alice", "-", "carol"]);
    let out = field(&w, "decrypt", &["--rows", "--null", "-"], &input);
    assert_fails(
        &out,
        6,
        "line 1: key version 1 is disabled and cannot be used to decrypt",
    );
    // A rewrap with the wrong row key fails on that line and prints nothing.
    let out = field(&w, "rewrap", &["--rows"], &format!("9\t{}\n", new[0]));
    assert_fails(&out, 5, "line 1: field token failed authentication");
    // A token from a version the keyring never had: key error (6).
    let unknown = new[0].replacen("sr1.AQEAAAAC", "sr1.AQEAAAAJ", 1);
    let out = field(&w, "rewrap", &["--row", "1"], &unknown);
    assert_fails(&out, 6, "line 1: key version 9 does not exist in this keyring");
}

#[test]
fn field_json_output() {
    let w = World::new();
    w.init_keyring();
    let mut args = vec!["--json", "field", "encrypt"];
    args.extend(EMAIL);
    args.extend(["--type", "date", "--deterministic", "--null", "NULL"]);
    let out = w.run_stdin(args, b"2024-01-01\nNULL\n");
    assert_code(&out, 0);
    let v = json(&out);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "column",
            "command",
            "key_version",
            "mode",
            "table",
            "tokens",
            "type"
        ]
    );
    assert_eq!(v["command"], "field encrypt");
    assert_eq!(
        (v["table"].as_str(), v["column"].as_str()),
        (Some("users"), Some("email"))
    );
    assert_eq!(
        (v["type"].as_str(), v["mode"].as_str()),
        (Some("date"), Some("deterministic"))
    );
    assert_eq!(v["key_version"], 1);
    assert_eq!(v["tokens"][1], Value::Null);
    let token = v["tokens"][0].as_str().unwrap().to_string();

    let mut args = vec!["--json", "field", "decrypt"];
    args.extend(EMAIL);
    // A column reads the tokens of its own mode.
    args.extend(["--type", "date", "--deterministic"]);
    args.push(&token);
    let out = w.run(&args);
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["command"], "field decrypt");
    assert_eq!(v["values"], serde_json::json!(["2024-01-01"]));

    // Errors are one JSON object on stderr, with the exit code.
    let mut args = vec![
        "--json", "field", "decrypt", "--table", "users", "--column", "other",
    ];
    args.extend(["--type", "date", "--deterministic", &token]);
    let out = w.run(&args);
    assert_fails(&out, 5, "\"kind\":\"integrity\"");
    let e = json_error(&out);
    assert_eq!(e["error"]["exit_code"], 5);
    assert_eq!(
        e["error"]["message"],
        "argument 1: field token failed authentication (another table, column or row, or a modified token)"
    );
}

#[test]
fn field_token_lines_ignore_a_carriage_return_before_the_null_marker() {
    let w = World::new();
    w.init_keyring();
    let out = field(&w, "encrypt", &["--null", "\\N"], "alice\n\\N\n");
    assert_code(&out, 0);
    let tokens = out_lines(&out);
    // CRLF line ends: the NULL line is NULL, as the token line is a token.
    let crlf = format!("{}\r\n\\N\r\n", tokens[0]);
    let out = field(&w, "decrypt", &["--null", "\\N"], &crlf);
    assert_code(&out, 0);
    assert_eq!(out_lines(&out), ["alice", "\\N"]);
    let mut c = w.cmd(["field", "inspect", "--null", "\\N"]);
    c.stdin(std::process::Stdio::piped());
    let out = run_with_input(c, crlf.as_bytes());
    assert_code(&out, 0);
    assert_eq!(out_lines(&out)[1], "\\N");
    // Values stay byte for byte: "\N\r" is a value, not NULL.
    let out = field(&w, "encrypt", &["--null", "\\N"], "\\N\r\n");
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("sr1."), "{}", stdout(&out));
}

#[test]
fn field_refused_option_names_the_option_only() {
    let w = World::new();
    w.init_keyring();
    let mut args = vec!["field", "encrypt"];
    args.extend(EMAIL);
    args.extend(["first", "--null=hunter2"]);
    let out = w.run(&args);
    assert_fails(&out, 2, "the option --null comes after a value");
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
}

/// A result that cannot be written fails the command (I/O, 3), in JSON
/// mode as in line mode.
#[cfg(target_os = "linux")]
#[test]
fn field_output_write_errors_fail_the_command() {
    let w = World::new();
    w.init_keyring();
    for json in [false, true] {
        let mut args = vec![];
        if json {
            args.push("--json");
        }
        args.extend(["field", "encrypt"]);
        args.extend(EMAIL);
        let mut c = w.cmd(&args);
        c.env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
            .stdin(std::process::Stdio::piped())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(std::process::Stdio::piped());
        let out = run_with_input(c, b"alice\n");
        assert_code(&out, 3);
        assert!(
            stderr(&out).contains("cannot write to standard output"),
            "json {json}: {}",
            stderr(&out)
        );
    }
}

// ---------------------------------------------------------------- links, kills, rekey, limits

/// Runs with the file passphrase `pass` in P (and the keyring passphrase).
fn run_p(w: &World, args: &[&str], pass: &str) -> std::process::Output {
    w.cmd(args)
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("P", pass)
        .output()
        .unwrap()
}

/// Whether process `pid` has a temporary output open in the world's folder
/// (or a subfolder): a named `.strongroom-*.tmp`, or on Linux an unnamed
/// (`O_TMPFILE`) file, seen as `DIR/#INODE (deleted)` in /proc.
fn temp_output_open(w: &World, pid: u32) -> bool {
    let root = w.dir.path().canonicalize().unwrap();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        // No /proc: look for a named temporary file.
        return w.names().iter().any(|n| n.ends_with(".tmp"));
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|t| {
            let name = t.to_string_lossy();
            t.starts_with(&root) && (name.ends_with(" (deleted)") || name.ends_with(".tmp"))
        })
    })
}

#[test]
fn output_links_are_refused_with_and_without_force() {
    let w = World::new();
    w.write("doc", b"the plaintext");
    assert_code(
        &run_p(&w, &with_fast(&["encrypt", "--passphrase-env", "P", "doc"]), "p"),
        0,
    );
    std::fs::create_dir(w.path("shared")).unwrap();
    std::fs::create_dir(w.path("victim")).unwrap();
    w.write("victim/existing.txt", b"keep");
    std::os::unix::fs::symlink("../victim/planted.txt", w.path("shared/out.txt")).unwrap();
    std::os::unix::fs::symlink("../victim/existing.txt", w.path("shared/live.txt")).unwrap();
    for link in ["shared/out.txt", "shared/live.txt"] {
        for force in [true, false] {
            let mut args = vec!["decrypt", "--passphrase-env", "P", "doc.srf", "-o", link];
            if force {
                args.push("--force");
            }
            let out = run_p(&w, &args, "p");
            assert_code(&out, 7);
            assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
            let mut args = with_fast(&["encrypt", "--passphrase-env", "P", "doc", "-o", link]);
            if force {
                args.push("--force");
            }
            assert_code(&run_p(&w, &args, "p"), 7);
        }
        // From standard input, and without any secret available: refused
        // before a passphrase is asked for.
        let out = w.run_stdin(["decrypt", "--force", "-o", link], &w.read("doc.srf"));
        assert_code(&out, 7);
        let out = w.run_stdin(
            with_fast(&["encrypt", "--passphrase", "--force", "-o", link]),
            b"x",
        );
        assert_code(&out, 7);
    }
    assert_eq!(names_in(&w.path("victim")), vec!["existing.txt"]);
    assert_eq!(w.read("victim/existing.txt"), b"keep");
    assert_eq!(names_in(&w.path("shared")), vec!["live.txt", "out.txt"]);
    // The help says how to clean up after a killed run.
    let out = w.run(["decrypt", "--help"]);
    assert!(stdout(&out).contains(".strongroom-*.tmp"));
}

#[test]
fn keyring_init_through_a_link_is_refused() {
    let w = World::new();
    std::fs::create_dir_all(w.keyring().parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../planted.srk", w.keyring()).unwrap();
    // Refused (conflict) by the command's own check, and by the library's
    // Keyring::create (covered by the core tests): nothing is created there.
    let out = w.run(with_fast(&["--json", "keyring", "init"]));
    assert_code(&out, 7);
    assert_eq!(json_error(&out)["error"]["name"], "DestinationIsSymlink");
    assert!(!w.path("planted.srk").exists());
}

#[test]
fn killed_encrypt_leaves_nothing_in_the_destination() {
    use std::io::Write as _;
    let w = World::new();
    std::fs::create_dir(w.path("out")).unwrap();
    let mut child = w
        .cmd(with_fast(&[
            "encrypt",
            "--passphrase-env",
            "P",
            "-o",
            "out/big.srf",
        ]))
        .env("P", "p")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A slow pipe: the command has written several MiB and is waiting for
    // more when it is killed.
    let block = data(1 << 20, 1);
    for _ in 0..6 {
        stdin.write_all(&block).unwrap();
    }
    stdin.flush().unwrap();
    let start = std::time::Instant::now();
    while !temp_output_open(&w, child.id()) {
        assert!(start.elapsed().as_secs() < 30, "no temporary output appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    drop(stdin);
    assert_eq!(
        names_in(&w.path("out")),
        Vec::<String>::new(),
        "nothing new after kill -9"
    );
}

#[test]
fn rewrap_rekey_revokes_a_removed_passphrase() {
    let w = World::new();
    w.init_keyring();
    let plain = data(70_000, 4);
    w.write("doc", &plain);
    assert_code(
        &run_p(
            &w,
            &with_fast(&["encrypt", "--passphrase-env", "P", "doc"]),
            "old",
        ),
        0,
    );
    let old = w.read("doc.srf");
    let out = w.run(["--json", "inspect", "doc.srf"]);
    let old_info = json(&out);
    let old_header_len = old_info["header_len"].as_u64().unwrap() as usize;

    let out = run_p(
        &w,
        &with_fast(&[
            "--json",
            "rewrap",
            "doc.srf",
            "--rekey",
            "--remove-passphrase",
            "--passphrase-env",
            "P",
        ]),
        "old",
    );
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["rekey"], true);
    assert_ne!(v["file"]["file_id"], old_info["file_id"]);
    assert_eq!(v["file"]["stanzas"].as_array().unwrap().len(), 1);
    assert_eq!(v["file"]["stanzas"][0]["kind"], "keyring");

    // The keyring opens the new file; the removed passphrase opens nothing.
    assert_code(&w.run(["decrypt", "doc.srf", "-o", "doc.out"]), 0);
    assert_eq!(w.read("doc.out"), plain);
    assert_code(
        &run_p(
            &w,
            &["decrypt", "--passphrase-env", "P", "doc.srf", "-o", "x"],
            "old",
        ),
        6,
    );
    // The old header spliced onto the new payload: the commitment fails.
    let new = w.read("doc.srf");
    let new_header_len = v["file"]["header_len"].as_u64().unwrap() as usize;
    let mut spliced = old[..old_header_len].to_vec();
    spliced.extend_from_slice(&new[new_header_len..]);
    w.write("spliced.srf", &spliced);
    let out = run_p(
        &w,
        &["decrypt", "--passphrase-env", "P", "spliced.srf", "-o", "y"],
        "old",
    );
    assert_code(&out, 5);
    assert!(stderr(&out).contains("commitment"), "{}", stderr(&out));
    assert!(!w.path("x").exists() && !w.path("y").exists());
}

#[test]
fn rewrap_rekey_refuses_to_drop_what_it_cannot_rebuild() {
    let w = World::new();
    w.write("doc", b"abc");
    assert_code(
        &run_p(
            &w,
            &with_fast(&["encrypt", "--passphrase-env", "P", "doc"]),
            "one",
        ),
        0,
    );
    let out = w
        .cmd(with_fast(&[
            "rewrap",
            "doc.srf",
            "--add-passphrase",
            "--passphrase-env",
            "P",
            "--new-passphrase-env",
            "N",
        ]))
        .env("P", "one")
        .env("N", "two")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let before = w.read("doc.srf");
    // Two passphrase stanzas, one passphrase given: refused before any
    // secret is read (none is available here).
    let out = w.run(with_fast(&["rewrap", "doc.srf", "--rekey"]));
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--remove-all-passphrases"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.read("doc.srf"), before);
}

#[test]
fn passphrase_limits_are_checked_before_any_secret_or_argon2() {
    let w = World::new();
    w.write("doc", b"abc");
    assert_code(
        &run_p(&w, &with_fast(&["encrypt", "--passphrase-env", "P", "doc"]), "p0"),
        0,
    );
    for i in 1..4 {
        let out = w
            .cmd(with_fast(&[
                "rewrap",
                "doc.srf",
                "--add-passphrase",
                "--passphrase-env",
                "P",
                "--new-passphrase-env",
                "N",
            ]))
            .env("P", "p0")
            .env("N", format!("p{i}"))
            .output()
            .unwrap();
        assert_code(&out, 0);
    }
    let before = w.read("doc.srf");
    // A fifth passphrase: refused before the current passphrase is asked
    // for (none is available) or any Argon2id run.
    let out = w.run(with_fast(&["--json", "rewrap", "doc.srf", "--add-passphrase"]));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("at most 4 passphrases"), "{}", stderr(&out));
    assert_eq!(w.read("doc.srf"), before);

    // A crafted file with five passphrase stanzas is refused when parsed:
    // by inspect and by a decryption that would use only the keyring.
    let stanza = before[28..28 + 3 + 88].to_vec();
    let mut crafted = before[..26].to_vec();
    crafted.extend_from_slice(&5u16.to_be_bytes());
    for _ in 0..5 {
        crafted.extend_from_slice(&stanza);
    }
    crafted.extend_from_slice(&[0u8; 32]); // a MAC
    crafted.extend_from_slice(&[0u8; 100]);
    w.write("crafted.srf", &crafted);
    let out = w.run(["inspect", "crafted.srf"]);
    assert_code(&out, 4);
    assert!(stderr(&out).contains("5 passphrase stanzas"), "{}", stderr(&out));
    w.init_keyring();
    let out = w.run(["decrypt", "crafted.srf", "-o", "out"]);
    assert_code(&out, 4);
    assert!(stderr(&out).contains("5 passphrase stanzas"), "{}", stderr(&out));
    assert!(!w.path("out").exists());
}

#[test]
fn field_modes_are_accepted_per_column_and_row_binding_holds() {
    let w = World::new();
    w.init_keyring();
    let out = field(&w, "encrypt", &["--deterministic"], "x\n");
    assert_code(&out, 0);
    let det = out_lines(&out).remove(0);
    // A deterministic token read as some row: refused (integrity, 5).
    let out = field(&w, "decrypt", &["--deterministic", "--row", "5"], &det);
    assert_fails(&out, 5, "line 1: the token carries no row binding");
    // In a random column: another mode.
    let out = field(&w, "decrypt", &[], &det);
    assert_fails(
        &out,
        5,
        "line 1: the column accepts random tokens only, found a deterministic token",
    );
    // A declared migration window reads it, also with a row key.
    let out = field(
        &w,
        "decrypt",
        &["--accept-mode", "deterministic", "--row", "5"],
        &det,
    );
    assert_code(&out, 0);
    assert_eq!(out_lines(&out), ["x"]);

    // Rewrapping a row-bound random token into deterministic mode.
    let out = field(&w, "encrypt", &["--row", "1"], "x\n");
    assert_code(&out, 0);
    let bound = out_lines(&out).remove(0);
    let args = ["--deterministic", "--accept-mode", "random", "--row", "1"];
    let out = field(&w, "rewrap", &args, &bound);
    assert_fails(&out, 2, "line 1: rewrapping into deterministic mode would drop");
    let mut allowed = args.to_vec();
    allowed.push("--allow-dropping-row-binding");
    let out = field(&w, "rewrap", &allowed, &bound);
    assert_code(&out, 0);
    assert_eq!(out_lines(&out), [det]);
}

#[test]
fn field_hidden_nulls_get_their_own_index_terms() {
    let w = World::new();
    w.init_keyring();
    // A hidden NULL gets a random blind index term, a different one per row.
    let out = field(
        &w,
        "index",
        &["--hide-null", "--index-len", "16", "--null", "-"],
        "-\n-\na\n",
    );
    assert_code(&out, 0);
    let terms = out_lines(&out);
    assert_eq!(terms.len(), 3);
    assert_ne!(terms[0], terms[1], "two NULL rows share no term");
    assert!(terms.iter().all(|t| t.len() == 32), "{terms:?}");
    // Where NULL stays NULL, it has no term.
    let out = field(&w, "index", &["--index-len", "16", "--null", "-"], "-\na\n");
    assert_code(&out, 0);
    assert_eq!(out_lines(&out)[0], "-");
}
