//! The keyring attacks of issue 16, mounted with the independent writer
//! of `strongroom_testkit::forge` (built from docs/SPEC.md alone) against
//! the library: each forgery must fail with its specific error, and the
//! writer must be able to produce a keyring the library accepts when it
//! holds what a legitimate writer holds (so a refusal means something).

use std::fs;
use std::path::{Path, PathBuf};
use strongroom::Error;
use strongroom::Passphrase;
use strongroom::field::{ColumnSpec, FieldCipher, Value, ValueType};
use strongroom::keyring::{Keyring, KeyringOptions, SeenRecord, Unlock};
use strongroom::passphrase::KdfParams;
use strongroom_testkit::forge::{self, Secret};

const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};
const P1: &str = "owner passphrase one";
const P2: &str = "owner passphrase two";

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
}

fn read_hex(rel: &str) -> Vec<u8> {
    let text = fs::read_to_string(testdata(rel)).unwrap();
    hex::decode(text.split_whitespace().collect::<String>()).unwrap()
}

fn pass(p: &str) -> Unlock {
    Unlock::Passphrase(Passphrase::from(p))
}

/// The owner's keyring: passphrases P1 (id 1) and P2 (id 2), and a
/// recovery key (id 3) whose text is returned.
fn owner(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("owner.srk");
    let mut ring = Keyring::create(&path, &Passphrase::from(P1), FAST).unwrap();
    ring.add_passphrase(&Passphrase::from(P2), FAST).unwrap();
    let (_, rk) = ring.add_recovery_key().unwrap();
    (path, rk.dangerous_display().to_string())
}

/// Attacker-chosen key versions: one primary whose secret the attacker
/// knows.
fn attacker_versions(secret: [u8; 32]) -> Vec<forge::Version> {
    vec![forge::Version {
        version: 1,
        status: 1,
        created_at: 1,
        changed_at: 1,
        secret,
    }]
}

/// A forgery of the file `real`: every stanza keeps its public key and
/// wrapped authentication value (which the forger cannot make), and gets
/// a seal of the forger's master key under `psk(protector id)` (`None`:
/// HPKE base mode); the body holds `table(protector id)` and the
/// attacker's versions.
fn forge_from(
    real: &[u8],
    psk: impl Fn(u32) -> Option<[u8; 32]>,
    table: impl Fn(u32) -> [u8; 32],
) -> (Vec<u8>, [u8; 32]) {
    let (mut ring, _) = forge::Keyring::parse_public(real);
    let master = [0x66; 32];
    let id = ring.id;
    for (n, stanza) in ring.stanzas.iter_mut().enumerate() {
        let psk = psk(stanza.id);
        stanza.seal(3, &id, &master, psk.as_ref(), [n as u8 + 1; 32]);
    }
    ring.auth = ring.stanzas.iter().map(|s| (s.id, table(s.id))).collect();
    let secret = [0x77; 32];
    ring.versions = attacker_versions(secret);
    ring.generation += 1;
    (ring.encode(&master), secret)
}

/// The header of `header_from` followed by the body of `body_from`, with
/// the announced body length and the (public) checksum fixed, so only the
/// body's authentication can object.
fn splice(header_from: &[u8], body_from: &[u8]) -> Vec<u8> {
    let (_, h) = forge::Keyring::parse_public(header_from);
    let (_, hb) = forge::Keyring::parse_public(body_from);
    let body = &body_from[hb..];
    let mut out = header_from[..h].to_vec();
    let at = h - 36;
    out[at..at + 4].copy_from_slice(&(body.len() as u32).to_be_bytes());
    let sum = forge::hmac(b"strongroom/v1/keyring/header-checksum", &[&out[..at + 4]]);
    out[at + 4..at + 36].copy_from_slice(&sum);
    out.extend_from_slice(body);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn the_forger_reproduces_the_spec_examples_byte_for_byte() {
    assert_eq!(
        hex::encode(forge::spec_example(3)),
        hex::encode(read_hex("keyring/example.hex")),
        "format 3"
    );
    assert_eq!(
        hex::encode(forge::spec_example(2)),
        hex::encode(read_hex("keyring/example-v2.hex")),
        "format 2"
    );
    // And it reads the example back with either secret.
    let bytes = read_hex("keyring/example.hex");
    let (ring, _) = forge::Keyring::parse_public(&bytes);
    for secret in [
        Secret::Passphrase(forge::EXAMPLE_PASSPHRASE.into()),
        Secret::RecoveryKey(forge::parse_recovery_key(
            "SRRK-G20R5-0W4GP-38F24-9HA5R-S3CEH-Y8934-MKJJA-SD5WR-K6D9Q-74XKT-FSGD0",
        )),
    ] {
        let (master, auth) = ring.unlock(&secret).unwrap();
        assert_eq!(master, forge::seq::<32>(0));
        let full = forge::Keyring::parse(&bytes, &master);
        assert!(full.auth.iter().any(|(_, a)| Some(*a) == auth));
        assert_eq!(full.primary().version, 4);
    }
}

/// Sanity of the writer: holding the current master key and
/// authentication values (what a protector's holder has), it writes a
/// keyring the library accepts. The refusals below are therefore about
/// what the forger lacks, not about a broken writer.
#[test]
fn a_writer_holding_the_keyring_secrets_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = owner(dir.path());
    let real = fs::read(&path).unwrap();
    let (public, _) = forge::Keyring::parse_public(&real);
    let (master, _) = public.unlock(&Secret::Passphrase(P2.into())).unwrap();
    let current = forge::Keyring::parse(&real, &master);
    let value = |id: u32| current.auth.iter().find(|(i, _)| *i == id).unwrap().1;
    let (bytes, secret) = forge_from(&real, |id| Some(value(id)), value);
    let forged = write(dir.path(), "insider.srk", &bytes);
    let ring = Keyring::open(&forged, &pass(P1)).unwrap();
    let key = ring
        .purpose_key(
            1,
            strongroom::keyring::Purpose::FileWrap,
            strongroom::keyring::KeyUse::Encrypt,
        )
        .unwrap();
    assert_eq!(
        key.dangerous_expose_bytes(),
        &forge::purpose_key(&secret, &ring.id(), forge::PURPOSE_FILE_WRAP)
    );
}

/// An outsider who can write the file plants a keyring of its own: base
/// mode seals to the owner's public keys, PSK mode with a guessed value,
/// the real stanzas with a body of its own, a swapped body.
#[test]
fn an_outsider_cannot_plant_a_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rk_text) = owner(dir.path());
    let real = fs::read(&path).unwrap();
    let rk = || Unlock::RecoveryKey(rk_text.parse().unwrap());
    let refused = |bytes: &[u8], what: &str| {
        let p = write(dir.path(), "planted.srk", bytes);
        for unlock in [pass(P1), pass(P2), rk()] {
            let err = Keyring::open(&p, &unlock).unwrap_err();
            assert!(matches!(err, Error::KeyringCorrupt), "{what}: {err:?}");
        }
    };
    // Base mode, as format 2 allowed.
    let (bytes, _) = forge_from(&real, |_| None, |_| [0x11; 32]);
    refused(&bytes, "base mode");
    // PSK mode with a guessed authentication value.
    let (bytes, _) = forge_from(&real, |_| Some([0x22; 32]), |_| [0x22; 32]);
    refused(&bytes, "guessed value");
    // The real stanzas (sealing the real master key) with a body of the
    // forger's under another master key.
    let (mut ring, _) = forge::Keyring::parse_public(&real);
    ring.auth = ring.stanzas.iter().map(|s| (s.id, [0x33; 32])).collect();
    ring.versions = attacker_versions([0x44; 32]);
    refused(&ring.encode(&[0x55; 32]), "reused stanzas");
    // A swapped body: the real header with the body of an older state.
    let mut owner_ring = Keyring::open(&path, &pass(P1)).unwrap();
    owner_ring.add_key(true).unwrap();
    let newer = fs::read(&path).unwrap();
    refused(&splice(&newer, &real), "swapped body");
    // The real file still opens.
    Keyring::open(&path, &pass(P1)).unwrap();
}

/// A planted protector that keeps the real recovery stanza's id and date
/// (the attacker's own recovery key, own value): the owner's next open
/// fails at once, instead of the real recovery key silently dying later.
#[test]
fn a_planted_protector_with_the_real_id_and_date_is_caught_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = owner(dir.path());
    let real = fs::read(&path).unwrap();
    let (mut ring, _) = forge::Keyring::parse_public(&real);
    let attacker_key = [0x99; 32];
    let id = ring.id;
    let stanza = ring.stanzas.iter_mut().find(|s| s.id == 3).unwrap();
    let kek = derive_recovery_kek(&attacker_key, stanza.salt());
    let value = [0x98; 32];
    stanza.enroll(&id, &kek, Some((&value, [7; 12])));
    stanza.seal(3, &id, &[0x66; 32], Some(&value), [9; 32]);
    // Without the master key the forger cannot write the body: it keeps
    // the real one.
    let planted = splice(&ring.encode(&[0x66; 32]), &real);
    let p = write(dir.path(), "planted.srk", &planted);
    for unlock in [pass(P1), pass(P2)] {
        assert!(matches!(Keyring::open(&p, &unlock), Err(Error::KeyringCorrupt)));
    }
}

fn derive_recovery_kek(key: &[u8; 32], salt: &[u8]) -> [u8; 32] {
    forge::derive32(key, salt, b"strongroom/v1/keyring/kek/recovery-key")
}

/// An old-format forgery: a format-2 file with the owner's keyring id and
/// the owner's own public keys, sealed in base mode (which needs no
/// secret). It opens, but encrypting with it is refused; once format 3
/// was seen (the record of keyrings seen), it is refused outright.
#[test]
fn a_format_2_forgery_opens_but_never_encrypts_and_is_refused_once_format_3_was_seen() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rk_text) = owner(dir.path());
    let real = fs::read(&path).unwrap();
    let (mut ring, _) = forge::Keyring::parse_public(&real);
    let master = [0x66; 32];
    ring.format = 2;
    let id = ring.id;
    for stanza in &mut ring.stanzas {
        stanza.kind = if stanza.kind == forge::KIND_PASSPHRASE {
            3
        } else {
            4
        };
        stanza.seal(2, &id, &master, None, [5; 32]);
    }
    ring.versions = attacker_versions([0x77; 32]);
    ring.generation = 1000;
    let forged = write(dir.path(), "forged-v2.srk", &ring.encode(&master));

    let opened = Keyring::open(&forged, &pass(P1)).unwrap();
    assert_eq!(opened.format_version(), 2);
    assert!(matches!(
        opened.check_can_encrypt(),
        Err(Error::KeyringNeedsUpgrade { format: 2, .. })
    ));
    let cipher = FieldCipher::new(&opened, "t", "c", ColumnSpec::new(ValueType::Text)).unwrap();
    assert!(matches!(
        cipher.encrypt(Some(&Value::from("secret")), None),
        Err(Error::KeyringNeedsUpgrade { format: 2, .. })
    ));
    let plain = write(dir.path(), "plain", b"secret");
    assert!(matches!(
        strongroom::file::encrypt_file(
            &plain,
            &dir.path().join("plain.srf"),
            &[strongroom::file::Recipient::Keyring(&opened)],
            &strongroom::file::FileOptions::default()
        ),
        Err(Error::KeyringNeedsUpgrade { format: 2, .. })
    ));

    let record = SeenRecord::new(dir.path().join("state/keyrings-seen"));
    let options = KeyringOptions::new().seen_record(record);
    Keyring::open_with(&path, &pass(P2), &options).unwrap();
    for unlock in [pass(P1), Unlock::RecoveryKey(rk_text.parse().unwrap())] {
        assert!(matches!(
            Keyring::open_with(&forged, &unlock, &options),
            Err(Error::KeyringDowngraded { seen: 3, found: 2 })
        ));
    }
}

/// A revoked recovery-key holder who kept write access and a copy of the
/// body (the master key and every authentication value of its time).
/// After the owner's removal (made with P1), P1 has a fresh value and
/// refuses the insider's forgery; P2 still accepts one until it is
/// re-enrolled, and not afterwards. Putting the old copy back is caught
/// by the record of keyrings seen.
#[test]
fn a_revoked_insider_with_write_access() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rk_text) = owner(dir.path());
    let record = SeenRecord::new(dir.path().join("state/keyrings-seen"));
    let options = KeyringOptions::new().seen_record(record);
    // The insider's copy and knowledge, from its recovery key alone.
    let old_copy = fs::read(&path).unwrap();
    let (public, _) = forge::Keyring::parse_public(&old_copy);
    let (old_master, _) = public
        .unlock(&Secret::RecoveryKey(forge::parse_recovery_key(&rk_text)))
        .unwrap();
    let known = forge::Keyring::parse(&old_copy, &old_master);
    let known_value = |id: u32| known.auth.iter().find(|(i, _)| *i == id).unwrap().1;

    // The owner revokes the recovery key, unlocking with P1.
    let mut ring = Keyring::open_with(&path, &pass(P1), &options).unwrap();
    let revocation = ring.remove_protector(3).unwrap();
    assert_eq!(revocation.to_reenroll, vec![2]);
    assert!(revocation.new_primary.is_some());

    let insider_forgery = |name: &str| {
        let current = fs::read(&path).unwrap();
        let (bytes, _) = forge_from(&current, |id| Some(known_value(id)), known_value);
        write(dir.path(), name, &bytes)
    };
    let forged = insider_forgery("before.srk");
    assert!(matches!(
        Keyring::open(&forged, &pass(P1)),
        Err(Error::KeyringCorrupt)
    ));
    // The residual risk the removal names: P2 still accepts it.
    let fooled = Keyring::open(&forged, &pass(P2)).unwrap();
    assert_eq!(fooled.versions().len(), 1, "the insider's versions");

    ring.reenroll(&[pass(P2)]).unwrap();
    let forged = insider_forgery("after.srk");
    for unlock in [pass(P1), pass(P2)] {
        assert!(matches!(
            Keyring::open(&forged, &unlock),
            Err(Error::KeyringCorrupt)
        ));
    }
    // The insider puts the old copy back (where its recovery key works).
    let rolled_back = write(dir.path(), "owner.srk", &old_copy);
    assert_eq!(rolled_back, path);
    assert!(matches!(
        Keyring::open_with(&path, &pass(P1), &options),
        Err(Error::KeyringRolledBack { .. })
    ));
    assert!(matches!(ring.add_key(true), Err(Error::KeyringRolledBack { .. })));
}
