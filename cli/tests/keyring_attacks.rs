//! The keyring attacks of issue 16 through the binary: forgeries written
//! with the independent writer of `strongroom_testkit::forge` (built from
//! docs/SPEC.md alone) are refused with their specific error and exit
//! code, and the record of keyrings seen (on by default, kept in the
//! test's own STRONGROOM_STATE_DIR) refuses rollbacks and downgrades.

mod helpers;

use helpers::*;
use std::path::Path;
use std::process::Output;
use strongroom_testkit::forge::{self, Secret};

const P2: &str = "second passphrase of the owner";

fn with_fast<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(FAST);
    v
}

/// The owner's keyring through the binary: the test passphrase (id 1),
/// P2 (id 2) and a recovery key (id 3), whose text is returned.
fn owner(w: &World) -> String {
    w.init_keyring();
    let out = w
        .cmd(with_fast(&[
            "keyring",
            "add-passphrase",
            "--new-passphrase-env",
            "NP",
        ]))
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("NP", P2)
        .output()
        .unwrap();
    assert_code(&out, 0);
    let out = w.run(["-q", "keyring", "recovery-key", "--keep-existing"]);
    assert_code(&out, 0);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `keyring list` with `passphrase`, in JSON.
fn list_with(w: &World, passphrase: &str, extra: &[&str]) -> Output {
    w.cmd([&["--json"], extra, &["keyring", "list"]].concat())
        .env("STRONGROOM_KEYRING_PASSPHRASE", passphrase)
        .output()
        .unwrap()
}

fn refused_as(out: &Output, code: i32, name: &str) {
    assert_code(out, code);
    assert_eq!(json_error(out)["error"]["name"], name, "{}", stderr(out));
}

/// A forgery of the keyring file: each stanza keeps its public key and
/// wrapped value, and seals the forger's master key under `psk(id)`
/// (`None`: base mode); the body lists `table(id)` and one primary version
/// of the forger's.
fn forge_from(
    real: &[u8],
    psk: impl Fn(u32) -> Option<[u8; 32]>,
    table: impl Fn(u32) -> [u8; 32],
) -> Vec<u8> {
    let (mut ring, _) = forge::Keyring::parse_public(real);
    let master = [0x66; 32];
    let id = ring.id;
    for stanza in &mut ring.stanzas {
        stanza.seal(3, &id, &master, psk(stanza.id).as_ref(), [0x42; 32]);
    }
    ring.auth = ring.stanzas.iter().map(|s| (s.id, table(s.id))).collect();
    ring.versions = vec![forge::Version {
        version: 1,
        status: 1,
        created_at: 1,
        changed_at: 1,
        secret: [0x77; 32],
    }];
    ring.generation += 1;
    ring.encode(&master)
}

fn write_keyring(w: &World, bytes: &[u8]) {
    std::fs::write(w.keyring(), bytes).unwrap();
}

#[test]
fn an_outsider_cannot_plant_a_keyring() {
    let w = World::new();
    owner(&w);
    let real = std::fs::read(w.keyring()).unwrap();
    // Base mode (what format 2 allowed), then PSK mode with a guessed value.
    for bytes in [
        forge_from(&real, |_| None, |_| [1; 32]),
        forge_from(&real, |_| Some([2; 32]), |_| [2; 32]),
    ] {
        write_keyring(&w, &bytes);
        for pass in [KEYRING_PASS, P2] {
            refused_as(&list_with(&w, pass, &[]), 5, "KeyringCorrupt");
        }
        w.write("plain.txt", b"secret data");
        let out = w.run(["--json", "encrypt", "plain.txt"]);
        refused_as(&out, 5, "KeyringCorrupt");
        assert!(!w.path("plain.txt.srf").exists());
    }
    write_keyring(&w, &real);
    assert_code(&list_with(&w, KEYRING_PASS, &[]), 0);
}

/// A planted recovery-key protector that keeps the real one's id and date:
/// the owner's next command fails, rather than the real recovery key
/// silently dying.
#[test]
fn a_planted_protector_with_the_real_id_and_date_is_caught() {
    let w = World::new();
    owner(&w);
    let real = std::fs::read(w.keyring()).unwrap();
    let (mut ring, header_len) = forge::Keyring::parse_public(&real);
    let id = ring.id;
    let stanza = ring.stanzas.iter_mut().find(|s| s.id == 3).unwrap();
    let kek = forge::derive32(
        &[0x99; 32],
        stanza.salt(),
        b"strongroom/v1/keyring/kek/recovery-key",
    );
    stanza.enroll(&id, &kek, Some((&[0x98; 32], [7; 12])));
    stanza.seal(3, &id, &[0x66; 32], Some(&[0x98; 32]), [9; 32]);
    let head = ring.encode(&[0x66; 32]);
    // The same header length (same kinds), the real body: fix the length
    // field and the public checksum.
    let mut planted = head[..header_len].to_vec();
    let body = &real[header_len..];
    let at = header_len - 36;
    planted[at..at + 4].copy_from_slice(&(body.len() as u32).to_be_bytes());
    let sum = forge::hmac(b"strongroom/v1/keyring/header-checksum", &[&planted[..at + 4]]);
    planted[at + 4..at + 36].copy_from_slice(&sum);
    planted.extend_from_slice(body);
    write_keyring(&w, &planted);
    refused_as(&list_with(&w, KEYRING_PASS, &[]), 5, "KeyringCorrupt");
    let out = w.run(["--json", "keyring", "add-key", "--promote"]);
    refused_as(&out, 5, "KeyringCorrupt");
}

/// A format-2 file with the owner's id and public keys, sealed in base mode
/// (no secret needed): refused outright on this machine, which saw the
/// keyring in format 3; elsewhere it opens but never encrypts.
#[test]
fn a_format_2_forgery_is_refused_here_and_never_encrypts_elsewhere() {
    let w = World::new();
    owner(&w);
    let real = std::fs::read(w.keyring()).unwrap();
    let (mut ring, _) = forge::Keyring::parse_public(&real);
    ring.format = 2;
    let id = ring.id;
    for stanza in &mut ring.stanzas {
        stanza.kind = if stanza.kind == forge::KIND_PASSPHRASE {
            3
        } else {
            4
        };
        stanza.seal(2, &id, &[0x66; 32], None, [5; 32]);
    }
    ring.versions = vec![forge::Version {
        version: 1,
        status: 1,
        created_at: 1,
        changed_at: 1,
        secret: [0x77; 32],
    }];
    ring.generation = 1000;
    write_keyring(&w, &ring.encode(&[0x66; 32]));
    refused_as(&list_with(&w, KEYRING_PASS, &[]), 5, "KeyringDowngraded");
    let out = list_with(&w, KEYRING_PASS, &["--no-seen-record"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["format"], 2);
    w.write("plain.txt", b"secret data");
    let out = w.run(["--json", "--no-seen-record", "encrypt", "plain.txt"]);
    refused_as(&out, 7, "KeyringNeedsUpgrade");
    assert!(!w.path("plain.txt.srf").exists());
}

/// A revoked recovery-key holder who kept a copy and write access. The
/// removal (made with the test passphrase) names protector 2 for
/// re-enrollment; until then the insider can forge for it, not for the
/// remover; after `keyring reenroll`, for neither. Putting the old copy
/// back is refused as a rollback.
#[test]
fn a_revoked_recovery_key_holder_with_write_access() {
    let w = World::new();
    let rk_text = owner(&w);
    let old_copy = std::fs::read(w.keyring()).unwrap();
    let (public, _) = forge::Keyring::parse_public(&old_copy);
    let (old_master, _) = public
        .unlock(&Secret::RecoveryKey(forge::parse_recovery_key(&rk_text)))
        .unwrap();
    let known = forge::Keyring::parse(&old_copy, &old_master);
    let value = |id: u32| known.auth.iter().find(|(i, _)| *i == id).unwrap().1;

    let out = w.run(["--json", "keyring", "remove-passphrase", "3"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["protectors_to_reenroll"], serde_json::json!([2]));
    assert_eq!(json(&out)["new_primary_version"], 2);
    let real = std::fs::read(w.keyring()).unwrap();

    write_keyring(&w, &forge_from(&real, |id| Some(value(id)), value));
    refused_as(&list_with(&w, KEYRING_PASS, &[]), 5, "KeyringCorrupt");
    // Protector 2 was not re-enrolled: the forgery fools it (checked
    // without the record, so the forgery's generation is not recorded).
    let out = list_with(&w, P2, &["--no-seen-record"]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["versions"].as_array().unwrap().len(), 1);

    write_keyring(&w, &real);
    let out = w
        .cmd(["--json", "keyring", "reenroll", "--other-passphrase-env", "OTHER"])
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("OTHER", P2)
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(json(&out)["reenrolled_protector_ids"], serde_json::json!([1, 2]));
    let real = std::fs::read(w.keyring()).unwrap();
    write_keyring(&w, &forge_from(&real, |id| Some(value(id)), value));
    for pass in [KEYRING_PASS, P2] {
        refused_as(&list_with(&w, pass, &["--no-seen-record"]), 5, "KeyringCorrupt");
    }
    // The insider puts back the copy in which its recovery key works.
    write_keyring(&w, &old_copy);
    w.write("rk.txt", rk_text.as_bytes());
    let out = w
        .cmd(["--json", "keyring", "list", "--recovery-key-file", "rk.txt"])
        .output()
        .unwrap();
    refused_as(&out, 5, "KeyringRolledBack");
    refused_as(&list_with(&w, KEYRING_PASS, &[]), 5, "KeyringRolledBack");
    write_keyring(&w, &real);
    assert_code(&list_with(&w, P2, &[]), 0);
}

/// The record lives where STRONGROOM_STATE_DIR says, as the specified text.
#[test]
fn the_record_of_keyrings_seen_is_kept_in_the_state_folder() {
    let w = World::new();
    let id = w.init_keyring();
    let record = std::fs::read_to_string(w.state_dir().join("keyrings-seen")).unwrap();
    assert_eq!(record, format!("strongroom-keyrings-seen 1\n{id} 3 1\n"));
    let out = w.run(["keyring", "add-key"]);
    assert_code(&out, 0);
    let record = std::fs::read_to_string(w.state_dir().join("keyrings-seen")).unwrap();
    assert!(record.ends_with(&format!("{id} 3 2\n")), "{record}");
    // With --no-seen-record nothing is read or written there.
    std::fs::remove_file(w.state_dir().join("keyrings-seen")).unwrap();
    let out = w.run(["--no-seen-record", "keyring", "add-key"]);
    assert_code(&out, 0);
    assert!(!Path::new(&w.state_dir().join("keyrings-seen")).exists());
}
