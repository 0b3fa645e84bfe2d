//! The Argon2id budget through the binary: a passphrase stanza whose cost
//! is beyond the budget is refused at once with exit 2 and a hint naming
//! the option that allows it; the options allow it.

mod helpers;
use helpers::*;

/// Encrypts `a.txt` to a passphrase with `memory_mib` MiB, t=1, p=1.
fn encrypt_with(w: &World, memory_mib: &str) {
    w.write("a.txt", b"attack at dawn");
    let out = w
        .cmd([
            "encrypt",
            "--passphrase-env",
            "P",
            "--argon2-memory-mib",
            memory_mib,
            "--argon2-time",
            "1",
            "--argon2-lanes",
            "1",
            "a.txt",
        ])
        .env("P", "pw")
        .output()
        .unwrap();
    assert_code(&out, 0);
}

fn decrypt(w: &World, global: &[&str]) -> std::process::Output {
    let mut args: Vec<&str> = global.to_vec();
    args.extend([
        "decrypt",
        "--passphrase-env",
        "P",
        "--force",
        "-o",
        "b.txt",
        "a.txt.srf",
    ]);
    w.cmd(args).env("P", "pw").output().unwrap()
}

#[test]
fn a_stanza_beyond_the_budget_is_refused_with_exit_2_and_the_option_that_allows_it() {
    let w = World::new();
    encrypt_with(&w, "16");
    let out = decrypt(&w, &["--max-kdf-memory", "8"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("16 MiB and 1 passes"), "{err}");
    assert!(err.contains("--max-kdf-memory 16"), "{err}");
    assert!(!w.path("b.txt").exists());
    let out = w
        .cmd([
            "--json",
            "--max-kdf-memory",
            "8",
            "decrypt",
            "--passphrase-env",
            "P",
            "-o",
            "b.txt",
            "a.txt.srf",
        ])
        .env("P", "pw")
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert_eq!(json_error(&out)["error"]["name"], "KdfBudgetExceeded");
    assert_eq!(json_error(&out)["error"]["code"], 220);
    // Allowed: by a large enough budget, by the default, by the opt-in.
    for global in [&["--max-kdf-memory", "16"][..], &[], &["--allow-expensive-kdf"]] {
        let out = decrypt(&w, global);
        assert_code(&out, 0);
        assert_eq!(w.read("b.txt"), b"attack at dawn");
    }
}

#[test]
fn a_hostile_header_at_the_caps_is_refused_at_once() {
    let w = World::new();
    encrypt_with(&w, "8");
    // Rewrite the stanza's parameters to the caps (2 GiB, t=16, p=16), as
    // anyone who can write the file could (SPEC section 3, worked example:
    // memory at offset 31). The header MAC no longer verifies, but the
    // budget refuses before any Argon2id run, so the reader never gets
    // there.
    let mut bytes = w.read("a.txt.srf");
    assert_eq!(bytes[28], 2, "a passphrase stanza");
    bytes[31..35].copy_from_slice(&(2u32 << 20).to_be_bytes());
    bytes[35..39].copy_from_slice(&16u32.to_be_bytes());
    bytes[39..43].copy_from_slice(&16u32.to_be_bytes());
    w.write("a.txt.srf", &bytes);
    let out = decrypt(&w, &[]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("2048 MiB and 16 passes"), "{err}");
    assert!(err.contains("--allow-expensive-kdf"), "{err}");
    assert!(!w.path("b.txt").exists());
}

#[test]
fn the_keyring_unlock_has_the_same_budget() {
    let w = World::new();
    let mut args = vec!["keyring", "init", "--argon2-memory-mib", "16"];
    args.extend(["--argon2-time", "1", "--argon2-lanes", "1"]);
    assert_code(&w.run(args), 0);
    let out = w.run(["--max-kdf-memory", "8", "keyring", "list"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("16 MiB and 1 passes"), "{}", stderr(&out));
    assert_code(&w.run(["--max-kdf-memory", "16", "keyring", "list"]), 0);
    assert_code(&w.run(["keyring", "list"]), 0);
    // Out of range, and both options at once: usage errors.
    assert_code(&w.run(["--max-kdf-memory", "0", "keyring", "list"]), 2);
    assert_code(&w.run(["--max-kdf-memory", "4096", "keyring", "list"]), 2);
    assert_code(
        &w.run([
            "--max-kdf-memory",
            "16",
            "--allow-expensive-kdf",
            "keyring",
            "list",
        ]),
        2,
    );
}
