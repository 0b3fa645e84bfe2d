//! Tests of the keyring module (crate-internal, so they can look inside the
//! encrypted body).

use super::format::{self, CHECKSUM_LEN, FIXED_PREFIX_LEN, FIXED_SUFFIX_LEN, MAX_PROTECTORS};
use super::protector::{
    PASSPHRASE_PK_STANZA_LEN, PASSPHRASE_STANZA_LEN, RECOVERY_PK_STANZA_LEN, RECOVERY_STANZA_LEN,
};
use super::store::{self, WriteMode};
use super::version::{KeyStatus as S, VersionEntry, Versions};
use super::*;
use crate::crypto::Aes256Gcm;
use std::collections::HashSet;
use std::fs;
use std::sync::{Arc, Barrier};

const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};
const PASS: &str = "correct horse battery staple";

fn pass() -> Passphrase {
    Passphrase::from(PASS)
}

fn unlock_pass(p: &str) -> Unlock {
    Unlock::Passphrase(Passphrase::from(p))
}

fn new_ring(dir: &tempfile::TempDir) -> (PathBuf, Keyring) {
    let path = dir.path().join("test.keyring");
    let ring = Keyring::create(&path, &pass(), FAST).unwrap();
    (path, ring)
}

/// Names of leftover temporary files in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

fn statuses(ring: &Keyring) -> Vec<(u32, KeyStatus)> {
    ring.versions().iter().map(|v| (v.version, v.status)).collect()
}

/// Decrypts the body of the file at `path` with the ring's master key.
fn decrypted_body(ring: &Keyring, path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap();
    let parsed = format::parse(&bytes).unwrap();
    let key = format::body_key(&ring.master, &parsed.header.id);
    let mut buf = parsed.body.to_vec();
    let n = Aes256Gcm::new(key.expose())
        .open_in_place(&parsed.header.body_nonce, parsed.aad, &mut buf)
        .unwrap();
    buf.truncate(n);
    buf
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Errors a damaged file may produce: format errors or an integrity
/// failure, never a key error and never success.
fn is_damage_error(e: &Error) -> bool {
    matches!(
        e,
        Error::KeyringCorrupt
            | Error::BadMagic { what: "keyring" }
            | Error::UnsupportedVersion { what: "keyring", .. }
            | Error::Malformed { what: "keyring", .. }
            | Error::Truncated(_)
    )
}

// ---------------------------------------------------------------- round trips

#[test]
fn create_then_open_with_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ring) = new_ring(&dir);
    assert_eq!(ring.primary_version(), 1);
    assert_eq!(statuses(&ring), vec![(1, S::Primary)]);
    assert_eq!(ring.path(), path);
    assert_eq!(ring.generation(), 1);
    let infos = ring.protectors();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].id, 1);
    assert_eq!(infos[0].kind, ProtectorKind::Passphrase { params: FAST });

    let opened = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    assert_eq!(opened.id(), ring.id());
    assert_eq!(opened.versions(), ring.versions());
    assert_eq!(opened.protectors(), ring.protectors());
    for purpose in Purpose::ALL {
        let a = ring.purpose_key(1, purpose, KeyUse::Encrypt).unwrap();
        let b = opened.purpose_key(1, purpose, KeyUse::Decrypt).unwrap();
        assert_eq!(a.expose(), b.expose());
    }
    let (v, k) = opened.encryption_key(Purpose::Field).unwrap();
    assert_eq!(v, 1);
    assert_eq!(
        k.expose(),
        ring.purpose_key(1, Purpose::Field, KeyUse::Encrypt)
            .unwrap()
            .expose()
    );
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn create_and_open_with_default_params() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.keyring");
    Keyring::create(&path, &pass(), KdfParams::default()).unwrap();
    let ring = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    assert_eq!(
        ring.protectors()[0].kind,
        ProtectorKind::Passphrase {
            params: KdfParams::DEFAULT
        }
    );
}

#[test]
fn open_with_recovery_key() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let (id, rk) = ring.add_recovery_key().unwrap();
    assert_eq!(id, 2);
    assert_eq!(ring.protectors()[1].kind, ProtectorKind::RecoveryKey);
    // What the user writes down and types back, sloppily.
    let typed = rk.dangerous_display().to_lowercase().replace('-', " ");
    let parsed: RecoveryKey = typed.parse().unwrap();
    let opened = Keyring::open(&path, &Unlock::RecoveryKey(parsed)).unwrap();
    assert_eq!(opened.id(), ring.id());
    assert_eq!(opened.versions(), ring.versions());
}

#[test]
fn wrong_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = new_ring(&dir);
    assert!(matches!(
        Keyring::open(&path, &unlock_pass("correct horse battery stapler")),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        Keyring::open(&path, &unlock_pass("")),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn wrong_and_mistyped_recovery_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    // No recovery key yet: any recovery key is wrong.
    assert!(matches!(
        Keyring::open(&path, &Unlock::RecoveryKey(RecoveryKey::random())),
        Err(Error::WrongRecoveryKey)
    ));
    let (_, rk) = ring.add_recovery_key().unwrap();
    assert!(matches!(
        Keyring::open(&path, &Unlock::RecoveryKey(RecoveryKey::random())),
        Err(Error::WrongRecoveryKey)
    ));
    let text = rk.dangerous_display().to_string();
    let last = text.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &text[..text.len() - 1],
        if last == 'Z' { 'Y' } else { 'Z' }
    );
    assert!(matches!(
        typo.parse::<RecoveryKey>(),
        Err(Error::InvalidRecoveryKey("checksum mismatch"))
    ));
    assert!(matches!(
        text[..20].parse::<RecoveryKey>(),
        Err(Error::InvalidRecoveryKey("wrong length"))
    ));
    assert!(matches!(
        text.replacen('-', "U", 2)
            .replacen('U', "-", 1)
            .parse::<RecoveryKey>(),
        Err(Error::InvalidRecoveryKey("invalid character 'U'"))
    ));
}

#[test]
fn open_missing_file_is_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Keyring::open(&missing, &unlock_pass(PASS)).unwrap_err();
    assert!(
        matches!(err, Error::File { ref source, ref path, .. }
            if source.kind() == std::io::ErrorKind::NotFound && *path == missing),
        "{err}"
    );
    assert_eq!(err.name(), "NotFound");
}

// ---------------------------------------------------------------- files on disk

#[test]
fn create_refuses_existing_path_and_leaves_it_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken");
    fs::write(&path, b"precious").unwrap();
    let err = Keyring::create(&path, &pass(), FAST).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(ref p) if p == &path), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"precious");

    let (ring_path, _) = new_ring(&dir);
    let before = fs::read(&ring_path).unwrap();
    assert!(matches!(
        Keyring::create(&ring_path, &pass(), FAST),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(fs::read(&ring_path).unwrap(), before);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn no_clobber_write_loses_a_race_cleanly() {
    // The target appears after the existence check: the final no-clobber
    // rename must fail, keep the other file, and remove the temp file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raced");
    fs::write(&path, b"winner").unwrap();
    let err = store::write_atomic(&path, b"loser", WriteMode::CreateNew).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"winner");
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn failed_write_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    // A non-empty directory where the file should go: the rename fails
    // after the temp file was written and synced.
    let path = dir.path().join("occupied");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("inside"), b"x").unwrap();
    assert!(store::write_atomic(&path, b"data", WriteMode::Replace).is_err());
    assert!(store::write_atomic(&path, b"data", WriteMode::CreateNew).is_err());
    assert!(temp_files(dir.path()).is_empty(), "{:?}", temp_files(dir.path()));

    // A directory that does not exist: nothing can be created at all.
    let missing = dir.path().join("missing").join("k.keyring");
    assert!(matches!(
        Keyring::create(&missing, &pass(), FAST),
        Err(Error::File { .. })
    ));
    assert!(temp_files(dir.path()).is_empty());

    // A change whose write fails after the temp file was written: the
    // keyring on disk and in memory stays as it was, and nothing is left.
    let (ring_path, mut ring) = new_ring(&dir);
    let before = fs::read(&ring_path).unwrap();
    store::fault::fail_next_write();
    let err = ring.add_key(true).unwrap_err();
    assert!(
        matches!(err, Error::Io(ref e) if e.to_string().contains("injected")),
        "{err}"
    );
    assert_eq!(fs::read(&ring_path).unwrap(), before);
    assert_eq!(ring.versions().len(), 1);
    assert_eq!(ring.generation(), 1);
    assert!(temp_files(dir.path()).is_empty(), "{:?}", temp_files(dir.path()));
    // The lock was released: the next change goes through.
    ring.set_lock_timeout(std::time::Duration::from_millis(100));
    assert_eq!(ring.add_key(true).unwrap(), 2);
    // Creation fails the same way without leaving anything behind.
    let fresh = dir.path().join("never.keyring");
    store::fault::fail_next_write();
    assert!(matches!(
        Keyring::create(&fresh, &pass(), FAST),
        Err(Error::Io(_))
    ));
    assert!(!fresh.exists());
    assert!(temp_files(dir.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn files_have_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    ring.add_key(true).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&store::lock_path(&path)), 0o600);
}

#[test]
fn every_save_bumps_generation_and_uses_a_fresh_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let nonce_of = |bytes: &[u8]| format::parse(bytes).unwrap().header.body_nonce;
    let first = fs::read(&path).unwrap();
    ring.add_key(false).unwrap();
    let second = fs::read(&path).unwrap();
    assert_eq!(ring.generation(), 2);
    assert_eq!(format::parse(&second).unwrap().header.generation, 2);
    assert_ne!(nonce_of(&first), nonce_of(&second));
    // A change that changes nothing does not write.
    ring.enable(2).unwrap();
    assert_eq!(fs::read(&path).unwrap(), second);
    assert_eq!(ring.generation(), 2);
}

// ---------------------------------------------------------------- damage

/// A small keyring with both protector kinds; returns (bytes, recovery key).
fn damage_fixture(dir: &tempfile::TempDir) -> (PathBuf, Vec<u8>, RecoveryKey) {
    let (path, mut ring) = new_ring(dir);
    let (_, rk) = ring.add_recovery_key().unwrap();
    ring.add_key(true).unwrap();
    (path.clone(), fs::read(&path).unwrap(), rk)
}

#[test]
fn layout_lengths_match_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, _) = damage_fixture(&dir);
    let header_len = FIXED_PREFIX_LEN + PASSPHRASE_PK_STANZA_LEN + RECOVERY_PK_STANZA_LEN + FIXED_SUFFIX_LEN;
    assert_eq!(
        (FIXED_PREFIX_LEN, PASSPHRASE_PK_STANZA_LEN, RECOVERY_PK_STANZA_LEN),
        (38, 153, 141)
    );
    assert_eq!((PASSPHRASE_STANZA_LEN, RECOVERY_STANZA_LEN), (101, 89));
    assert_eq!(bytes[8], 2, "format version 2");
    assert_eq!(FIXED_SUFFIX_LEN, 48);
    assert_eq!(bytes.len(), header_len + 4 + 2 * format::ENTRY_LEN + 16);
    assert_eq!(format::parse(&bytes).unwrap().aad.len(), header_len);
}

#[test]
fn every_flipped_bit_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes, rk) = damage_fixture(&dir);
    let copy = dir.path().join("flipped.keyring");
    let rk_text = rk.dangerous_display();
    for i in 0..bytes.len() * 8 {
        let mut damaged = bytes.clone();
        damaged[i / 8] ^= 1 << (i % 8);
        fs::write(&copy, &damaged).unwrap();
        let unlock = Unlock::RecoveryKey(RecoveryKey::parse(&rk_text).unwrap());
        match Keyring::open(&copy, &unlock) {
            Ok(_) => panic!("bit {i} flipped and the keyring still opened"),
            Err(e) => assert!(is_damage_error(&e), "bit {i}: unexpected error {e:?}"),
        }
    }
    // Through the passphrase: a damaged header is caught by the checksum
    // before Argon2id runs, so it is never reported as a wrong passphrase.
    let header_len = format::parse(&bytes).unwrap().aad.len();
    for i in 0..header_len * 8 {
        let mut damaged = bytes.clone();
        damaged[i / 8] ^= 1 << (i % 8);
        fs::write(&copy, &damaged).unwrap();
        match Keyring::open(&copy, &unlock_pass(PASS)) {
            Ok(_) => panic!("bit {i} flipped and the keyring still opened"),
            Err(e) => assert!(is_damage_error(&e), "bit {i}: unexpected error {e:?}"),
        }
    }
    // Body damage through the passphrase (a sample: each needs Argon2id).
    for i in (header_len * 8..bytes.len() * 8).step_by(61) {
        let mut damaged = bytes.clone();
        damaged[i / 8] ^= 1 << (i % 8);
        fs::write(&copy, &damaged).unwrap();
        assert!(matches!(
            Keyring::open(&copy, &unlock_pass(PASS)),
            Err(Error::KeyringCorrupt)
        ));
    }
    // The original still opens.
    Keyring::open(&path, &unlock_pass(PASS)).unwrap();
}

#[test]
fn specific_damage_gives_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, _) = damage_fixture(&dir);
    let check = |damaged: &[u8]| {
        let p = dir.path().join("specific.keyring");
        fs::write(&p, damaged).unwrap();
        Keyring::open(&p, &unlock_pass(PASS)).unwrap_err()
    };
    let mut b = bytes.clone();
    b[0] ^= 1;
    assert!(matches!(check(&b), Error::BadMagic { what: "keyring" }));
    let mut b = bytes.clone();
    b[8] = 3;
    assert!(matches!(
        check(&b),
        Error::UnsupportedVersion {
            what: "keyring",
            version: 3
        }
    ));
    let mut b = bytes.clone();
    b[20] ^= 0x80; // keyring id
    assert!(matches!(check(&b), Error::KeyringCorrupt));
    let mut b = bytes.clone();
    b[37] = 0; // protector count
    assert!(matches!(check(&b), Error::Malformed { .. }));
    let mut b = bytes.clone();
    b[38 + 4] = 9; // stanza kind
    assert!(
        matches!(check(&b), Error::Malformed { what: "keyring", ref detail } if detail.contains("kind 9"))
    );
    let mut b = bytes.clone();
    b.push(0);
    assert!(matches!(check(&b), Error::Malformed { ref detail, .. } if detail.contains("trailing")));
    let last = bytes.len() - 1;
    let mut b = bytes.clone();
    b[last] ^= 1; // body tag
    assert!(matches!(check(&b), Error::KeyringCorrupt));
    assert!(matches!(check(b"not a keyring at all"), Error::BadMagic { .. }));
    assert!(matches!(check(b""), Error::Truncated(_)));
}

#[test]
fn truncation_at_every_length_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, rk) = damage_fixture(&dir);
    let copy = dir.path().join("cut.keyring");
    let rk_text = rk.dangerous_display();
    for len in 0..bytes.len() {
        fs::write(&copy, &bytes[..len]).unwrap();
        let unlock = Unlock::RecoveryKey(RecoveryKey::parse(&rk_text).unwrap());
        match Keyring::open(&copy, &unlock) {
            Ok(_) => panic!("truncated to {len} bytes and still opened"),
            Err(e) => assert!(matches!(e, Error::Truncated(_)), "length {len}: {e:?}"),
        }
    }
}

#[test]
fn oversized_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.keyring");
    let mut big = format::MAGIC.to_vec();
    big.resize(format::MAX_FILE_LEN + 1, 0);
    fs::write(&path, &big).unwrap();
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::Malformed { ref detail, .. }) if detail.contains("larger")
    ));
}

/// Rewrites the first stanza's Argon2id parameters and fixes the checksum,
/// as an attacker crafting a keyring would.
fn with_params(bytes: &[u8], params: KdfParams) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let at = FIXED_PREFIX_LEN + 4 + 1 + 8;
    b[at..at + 4].copy_from_slice(&params.memory_kib.to_be_bytes());
    b[at + 4..at + 8].copy_from_slice(&params.iterations.to_be_bytes());
    b[at + 8..at + 12].copy_from_slice(&params.parallelism.to_be_bytes());
    let header_len = format::parse(bytes).unwrap().aad.len();
    let sum = format::header_checksum(&b[..header_len - CHECKSUM_LEN]);
    b[header_len - CHECKSUM_LEN..header_len].copy_from_slice(&sum);
    b
}

#[test]
fn excessive_kdf_params_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, rk) = damage_fixture(&dir);
    let path = dir.path().join("crafted.keyring");
    let hundred_gib = KdfParams {
        memory_kib: 100 * 1024 * 1024,
        iterations: 3,
        parallelism: 4,
    };
    fs::write(&path, with_params(&bytes, hundred_gib)).unwrap();
    let started = std::time::Instant::now();
    let err = Keyring::open(&path, &unlock_pass(PASS)).unwrap_err();
    assert!(
        matches!(err, Error::KdfParams(ref m) if m.contains("exceeds the cap")),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // The keyring is refused whatever the unlock method.
    let err = Keyring::open(&path, &Unlock::RecoveryKey(rk)).unwrap_err();
    assert!(matches!(err, Error::KdfParams(_)), "{err}");
    let slow = KdfParams {
        memory_kib: 8192,
        iterations: 1_000_000,
        parallelism: 1,
    };
    fs::write(&path, with_params(&bytes, slow)).unwrap();
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::KdfParams(_))
    ));
    // Sanity: the rewrite itself is sound (same parameters open fine).
    fs::write(&path, with_params(&bytes, FAST)).unwrap();
    Keyring::open(&path, &unlock_pass(PASS)).unwrap();
}

#[test]
fn authenticated_but_inconsistent_body_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ring) = new_ring(&dir);
    let two_primaries = Versions(vec![
        VersionEntry::new(1, S::Primary, 1),
        VersionEntry::new(2, S::Primary, 1),
    ]);
    let bytes = format::encode(&ring.header, &two_primaries, &ring.master).unwrap();
    fs::write(&path, bytes).unwrap();
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::Malformed { ref detail, .. }) if detail.contains("2 primary")
    ));
    let unordered = Versions(vec![
        VersionEntry::new(2, S::Primary, 1),
        VersionEntry::new(1, S::DecryptOnly, 1),
    ]);
    fs::write(
        &path,
        format::encode(&ring.header, &unordered, &ring.master).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::Malformed { ref detail, .. }) if detail.contains("ascending")
    ));
}

// ---------------------------------------------------------------- versions

#[test]
fn status_transitions_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    assert_eq!(ring.add_key(false).unwrap(), 2);
    assert_eq!(statuses(&ring), vec![(1, S::Primary), (2, S::DecryptOnly)]);
    assert!(matches!(
        ring.purpose_key(2, Purpose::Field, KeyUse::Encrypt),
        Err(Error::KeyVersionUnusable {
            version: 2,
            status: "decrypt-only",
            operation: "encrypt"
        })
    ));
    ring.purpose_key(2, Purpose::Field, KeyUse::Decrypt).unwrap();

    ring.promote(2).unwrap();
    assert_eq!(statuses(&ring), vec![(1, S::DecryptOnly), (2, S::Primary)]);
    assert_eq!(ring.primary_version(), 2);
    ring.promote(2).unwrap(); // no-op

    for refused in [ring.disable(2), ring.destroy(2)] {
        assert!(
            matches!(refused, Err(Error::InvalidArgument(ref m)) if m.contains("is the primary")),
            "{refused:?}"
        );
    }

    ring.disable(1).unwrap();
    assert!(matches!(
        ring.purpose_key(1, Purpose::FileWrap, KeyUse::Decrypt),
        Err(Error::KeyVersionUnusable {
            status: "disabled",
            operation: "decrypt",
            ..
        })
    ));
    assert!(matches!(ring.promote(1), Err(Error::InvalidArgument(ref m)) if m.contains("disabled")));
    ring.enable(1).unwrap();
    assert_eq!(ring.versions()[0].status, S::DecryptOnly);
    ring.purpose_key(1, Purpose::FileWrap, KeyUse::Decrypt).unwrap();

    ring.destroy(1).unwrap();
    assert!(matches!(
        ring.purpose_key(1, Purpose::FileWrap, KeyUse::Decrypt),
        Err(Error::KeyVersionUnusable {
            version: 1,
            status: "destroyed",
            operation: "decrypt"
        })
    ));
    ring.destroy(1).unwrap(); // no-op
    for refused in [ring.enable(1), ring.disable(1), ring.promote(1)] {
        assert!(
            matches!(refused, Err(Error::InvalidArgument(ref m)) if m.contains("destroyed")),
            "{refused:?}"
        );
    }

    for unknown in [ring.promote(9), ring.disable(9), ring.enable(9), ring.destroy(9)] {
        assert!(matches!(unknown, Err(Error::UnknownKeyVersion(9))));
    }
    assert!(matches!(
        ring.purpose_key(9, Purpose::Field, KeyUse::Decrypt),
        Err(Error::UnknownKeyVersion(9))
    ));

    assert_eq!(ring.add_key(true).unwrap(), 3);
    let expected = vec![(1, S::Destroyed), (2, S::DecryptOnly), (3, S::Primary)];
    assert_eq!(statuses(&ring), expected);
    for v in ring.versions() {
        assert!(v.status_changed_at >= v.created_at);
    }
    // Persisted, and exactly one primary.
    let reopened = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    assert_eq!(statuses(&reopened), expected);
    assert_eq!(reopened.versions(), ring.versions());
    assert_eq!(
        reopened
            .versions()
            .iter()
            .filter(|v| v.status == S::Primary)
            .count(),
        1
    );
}

#[test]
fn status_names() {
    let names: Vec<String> = [S::Primary, S::DecryptOnly, S::Disabled, S::Destroyed]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, ["primary", "decrypt-only", "disabled", "destroyed"]);
    assert_eq!(S::DecryptOnly.as_str(), "decrypt-only");
}

#[test]
fn destroy_wipes_the_material_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_key(true).unwrap();
    let secret: [u8; 32] = *ring.versions.0[0].material.as_ref().unwrap().expose();
    let old_key = ring.purpose_key(1, Purpose::Field, KeyUse::Decrypt).unwrap();
    assert!(contains(&decrypted_body(&ring, &path), &secret));

    ring.destroy(1).unwrap();
    let body = decrypted_body(&ring, &path);
    assert!(!contains(&body, &secret), "destroyed secret still in the body");
    assert!(!contains(&body, old_key.expose()));
    assert!(!contains(&fs::read(&path).unwrap(), &secret));
    // Metadata is kept.
    assert_eq!(ring.versions()[0].version, 1);
    assert_eq!(ring.versions()[0].status, S::Destroyed);
    assert!(ring.versions.0[0].material.is_none());
    // And a fresh handle cannot get it either.
    let reopened = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    assert!(matches!(
        reopened.purpose_key(1, Purpose::Field, KeyUse::Decrypt),
        Err(Error::KeyVersionUnusable {
            status: "destroyed",
            ..
        })
    ));
}

#[test]
fn purpose_keys_differ_per_purpose_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_key(false).unwrap();
    let mut seen = HashSet::new();
    for v in [1, 2] {
        for p in Purpose::ALL {
            let k = ring.purpose_key(v, p, KeyUse::Decrypt).unwrap();
            assert!(seen.insert(*k.expose()), "duplicate key for v{v} {p:?}");
        }
    }
    assert_eq!(seen.len(), 8);
    // Stable across reopening.
    let reopened = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    for v in [1, 2] {
        for p in Purpose::ALL {
            let k = reopened.purpose_key(v, p, KeyUse::Decrypt).unwrap();
            assert!(seen.contains(k.expose()));
        }
    }
    // Labels are distinct.
    let labels: HashSet<&[u8]> = Purpose::ALL.iter().map(|p| p.label()).collect();
    assert_eq!(labels.len(), 4);
}

#[test]
fn version_cap_is_enforced() {
    let mut versions = Versions(vec![VersionEntry::new(1, S::Primary, 0)]);
    while versions.0.len() < super::version::MAX_VERSIONS {
        let n = versions.0.len() as u32 + 1;
        versions.0.push(VersionEntry {
            info: KeyVersionInfo {
                version: n,
                status: S::Destroyed,
                created_at: 0,
                status_changed_at: 0,
            },
            material: None,
        });
    }
    assert!(matches!(versions.add(false, 0), Err(Error::InvalidArgument(ref m)) if m.contains("maximum")));
}

// ---------------------------------------------------------------- protectors

#[test]
fn protector_management() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let second = ring
        .add_passphrase(&Passphrase::from("second passphrase"), FAST)
        .unwrap();
    assert_eq!(second, 2);
    Keyring::open(&path, &unlock_pass("second passphrase")).unwrap();
    Keyring::open(&path, &unlock_pass(PASS)).unwrap();

    ring.remove_protector(1).unwrap();
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        ring.remove_protector(2),
        Err(Error::InvalidArgument(ref m)) if m.contains("every protector")
    ));
    assert!(matches!(
        ring.remove_protector(7),
        Err(Error::InvalidArgument(ref m)) if m.contains("no protector")
    ));
    assert!(matches!(
        ring.add_passphrase(&Passphrase::from(""), FAST),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        ring.add_passphrase(
            &pass(),
            KdfParams {
                memory_kib: 1024,
                ..FAST
            }
        ),
        Err(Error::KdfParams(_))
    ));

    let (r1, rk1) = ring.add_recovery_key().unwrap();
    let (r2, rk2) = ring.add_recovery_key().unwrap();
    assert_eq!((r1, r2), (3, 4));
    let text1 = rk1.dangerous_display();
    Keyring::open(&path, &Unlock::RecoveryKey(rk1)).unwrap();
    let (r3, rk3) = ring.replace_recovery_key().unwrap();
    assert_eq!(r3, 5);
    let kinds: Vec<ProtectorKind> = ring.protectors().iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ProtectorKind::Passphrase { params: FAST },
            ProtectorKind::RecoveryKey
        ]
    );
    for old in [RecoveryKey::parse(&text1).unwrap(), rk2] {
        assert!(matches!(
            Keyring::open(&path, &Unlock::RecoveryKey(old)),
            Err(Error::WrongRecoveryKey)
        ));
    }
    Keyring::open(&path, &Unlock::RecoveryKey(rk3)).unwrap();

    // Ids are never reused, even after removing the highest.
    ring.remove_protector(5).unwrap();
    assert_eq!(ring.add_recovery_key().unwrap().0, 6);
}

#[test]
fn protector_cap_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut ring) = new_ring(&dir);
    for _ in 1..MAX_PROTECTORS {
        ring.add_recovery_key().unwrap();
    }
    assert_eq!(ring.protectors().len(), MAX_PROTECTORS);
    assert!(matches!(
        ring.add_recovery_key(),
        Err(Error::InvalidArgument(ref m)) if m.contains("maximum")
    ));
    // Replacing frees the slots in the same update.
    ring.replace_recovery_key().unwrap();
    assert_eq!(ring.protectors().len(), 2);
}

// ---------------------------------------------------------------- secrets

#[test]
fn debug_output_has_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut ring) = new_ring(&dir);
    let (_, rk) = ring.add_recovery_key().unwrap();
    ring.add_key(true).unwrap();
    let dbg = format!("{ring:?} {rk:?} {:?}", Unlock::RecoveryKey(RecoveryKey::random()));
    let hex = |b: &[u8]| data_encoding::HEXLOWER.encode(b);
    let mut secrets: Vec<Vec<u8>> = vec![ring.master.expose().to_vec(), rk.secret().expose().to_vec()];
    for e in &ring.versions.0 {
        secrets.push(e.material.as_ref().unwrap().expose().to_vec());
    }
    for s in &secrets {
        assert!(!dbg.contains(&hex(s)), "{dbg}");
        assert!(!dbg.to_lowercase().contains(&hex(s)[..16]));
        assert!(!dbg.contains(&format!("{:?}", &s[..8]).trim_end_matches(']').to_string()));
    }
    assert!(!dbg.contains(&rk.dangerous_display()[5..22]));
    assert!(dbg.contains(&hex(&ring.id())), "{dbg}");
    assert!(dbg.contains("Primary") && dbg.contains("DecryptOnly"), "{dbg}");
}

// ---------------------------------------------------------------- concurrency

#[test]
fn concurrent_handles_never_lose_changes() {
    const THREADS: usize = 4;
    const ADDS: usize = 5;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = new_ring(&dir);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let path = path.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut ring = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
                ring.set_lock_timeout(std::time::Duration::from_secs(60));
                barrier.wait();
                (0..ADDS)
                    .map(|_| ring.add_key(false).unwrap())
                    .collect::<Vec<u32>>()
            })
        })
        .collect();
    let mut added: Vec<u32> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    added.sort_unstable();
    let expected: Vec<u32> = (2..=(1 + THREADS * ADDS) as u32).collect();
    assert_eq!(added, expected, "every add got its own version number");
    let ring = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    let all: Vec<u32> = ring.versions().iter().map(|v| v.version).collect();
    let mut want = vec![1];
    want.extend(&expected);
    assert_eq!(all, want, "no change was lost");
    assert_eq!(ring.generation(), 1 + (THREADS * ADDS) as u64);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn stale_handle_applies_changes_to_the_current_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut a) = new_ring(&dir);
    let mut b = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    assert_eq!(a.add_key(false).unwrap(), 2);
    // b has not seen version 2, but its change applies to the fresh state.
    assert_eq!(b.add_key(false).unwrap(), 3);
    assert_eq!(b.versions().len(), 3);
    a.promote(2).unwrap();
    // b still believes 1 is primary; the decision uses the file on disk.
    b.destroy(1).unwrap();
    assert!(matches!(b.destroy(2), Err(Error::InvalidArgument(ref m)) if m.contains("primary")));
    a.reload().unwrap();
    assert_eq!(
        statuses(&a),
        vec![(1, S::Destroyed), (2, S::Primary), (3, S::DecryptOnly)]
    );
}

#[test]
fn held_lock_gives_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let before = fs::read(&path).unwrap();
    let other = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(store::lock_path(&path))
        .unwrap();
    other.lock().unwrap();
    ring.set_lock_timeout(std::time::Duration::from_millis(100));
    let started = std::time::Instant::now();
    let err = ring.add_key(false).unwrap_err();
    assert!(matches!(err, Error::Locked(ref p) if p == &path), "{err}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(100));
    assert_eq!(fs::read(&path).unwrap(), before);
    // Reading does not need the lock.
    Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    other.unlock().unwrap();
    assert_eq!(ring.add_key(false).unwrap(), 2);
}

#[test]
fn rollback_and_substitution_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let old = fs::read(&path).unwrap();
    ring.add_key(false).unwrap();
    ring.destroy(2).unwrap();
    // Someone puts back the older file (which lacks the destruction).
    fs::write(&path, &old).unwrap();
    assert!(matches!(ring.add_key(false), Err(Error::KeyringCorrupt)));
    assert!(matches!(ring.reload(), Err(Error::KeyringCorrupt)));
    // Someone puts a different keyring there.
    fs::remove_file(&path).unwrap();
    Keyring::create(&path, &pass(), FAST).unwrap();
    assert!(matches!(ring.add_key(false), Err(Error::WrongKeyring)));
}

// ---------------------------------------------------------------- worked example

const EXAMPLE_HEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/keyring/example.hex");

fn example_hex_lines(bytes: &[u8]) -> String {
    let mut out = String::new();
    for line in bytes.chunks(32) {
        out.push_str(&hex::encode(line));
        out.push('\n');
    }
    out
}

#[test]
fn worked_example_matches_testdata() {
    let bytes = super::example::example_bytes();
    if std::env::var_os("STRONGROOM_WRITE_VECTORS").is_some() {
        fs::write(EXAMPLE_HEX, example_hex_lines(&bytes)).unwrap();
    }
    let stored = fs::read_to_string(EXAMPLE_HEX).expect("testdata/keyring/example.hex");
    let stored: String = stored.split_whitespace().collect();
    assert_eq!(hex::encode(&bytes), stored, "example bytes differ from testdata");
    // Deterministic.
    assert_eq!(super::example::example_bytes(), bytes);
}

#[test]
fn worked_example_opens() {
    use super::example as ex;
    let stored = fs::read_to_string(EXAMPLE_HEX).unwrap();
    let bytes = hex::decode(stored.split_whitespace().collect::<String>()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.keyring");
    fs::write(&path, &bytes).unwrap();

    let ring = Keyring::open(&path, &Unlock::Passphrase(ex::passphrase())).unwrap();
    assert_eq!(ring.id(), ex::keyring_id());
    assert_eq!(ring.master.expose(), ex::master().expose());
    assert_eq!(ring.generation(), 5);
    assert_eq!(ring.primary_version(), 4);
    assert_eq!(
        statuses(&ring),
        vec![
            (1, S::Destroyed),
            (2, S::Disabled),
            (3, S::DecryptOnly),
            (4, S::Primary)
        ]
    );
    let text = ex::recovery_key().dangerous_display();
    assert_eq!(text.as_str(), EXAMPLE_RECOVERY_TEXT);
    let by_recovery = Keyring::open(&path, &Unlock::RecoveryKey(text.parse().unwrap())).unwrap();
    assert_eq!(by_recovery.versions(), ring.versions());

    let hexkey = |k: SecretKey| hex::encode(k.expose());
    assert_eq!(
        hexkey(format::body_key(&ex::master(), &ex::keyring_id())),
        EXAMPLE_BODY_KEY
    );
    for (purpose, want) in Purpose::ALL.iter().zip(EXAMPLE_V4_KEYS) {
        assert_eq!(
            hexkey(ring.purpose_key(4, *purpose, KeyUse::Encrypt).unwrap()),
            want
        );
    }
    assert_eq!(
        hexkey(ring.purpose_key(3, Purpose::Field, KeyUse::Decrypt).unwrap()),
        EXAMPLE_V3_FIELD_KEY
    );
}

/// Prints the example's intermediate values for the specification:
/// `cargo test -p strongroom --lib keyring::tests::print_example -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_example() {
    use super::example as ex;
    use super::protector::{passphrase_kek, recovery_kek};
    let stretched = ex::PARAMS.derive(&ex::passphrase(), &ex::seq(0x50)).unwrap();
    println!("argon2id output   {}", hex::encode(stretched.expose()));
    let kek = passphrase_kek(&ex::passphrase(), &ex::PARAMS, &ex::seq(0x50)).unwrap();
    println!("passphrase KEK    {}", hex::encode(kek.expose()));
    let rkek = recovery_kek(&ex::recovery_key(), &ex::seq(0xa0));
    println!("recovery KEK      {}", hex::encode(rkek.expose()));
    println!(
        "body key          {}",
        hex::encode(format::body_key(&ex::master(), &ex::keyring_id()).expose())
    );
    println!(
        "recovery text     {}",
        ex::recovery_key().dangerous_display().as_str()
    );
    let versions = ex::versions();
    for p in Purpose::ALL {
        let k = versions
            .purpose_key(&ex::keyring_id(), 4, p, KeyUse::Encrypt)
            .unwrap();
        println!("v4 {:<14} {}", format!("{p:?}"), hex::encode(k.expose()));
    }
    let k = versions
        .purpose_key(&ex::keyring_id(), 3, Purpose::Field, KeyUse::Decrypt)
        .unwrap();
    println!("v3 Field         {}", hex::encode(k.expose()));
    for (n, stanza) in ex::header().stanzas.iter().enumerate() {
        if let protector::Wrap::Public { public, enc, sealed } = &stanza.wrap {
            println!("stanza {} public   {}", n + 1, hex::encode(public));
            println!("stanza {} enc      {}", n + 1, hex::encode(enc));
            println!("stanza {} sealed   {}", n + 1, hex::encode(sealed));
        }
    }
    let bytes = ex::example_bytes();
    let parsed = format::parse(&bytes).unwrap();
    println!(
        "H = {}, L = {}, total {}",
        parsed.aad.len(),
        parsed.body.len(),
        bytes.len()
    );
    print!("{}", example_hex_lines(&bytes));
}

const EXAMPLE_RECOVERY_TEXT: &str = "SRRK-G20R5-0W4GP-38F24-9HA5R-S3CEH-Y8934-MKJJA-SD5WR-K6D9Q-74XKT-FSGD0";
const EXAMPLE_BODY_KEY: &str = "b1187e976899c921124a38a20a970c712898ae2fbdb8560219d640da938d2de3";
const EXAMPLE_V4_KEYS: [&str; 4] = [
    "95f2aa3ad7db257c99b92d5a5b96ddf3b45205cf48fa505a761b35cb36d06a5a",
    "fa8d5ecfceffe3e603121f6a52cae820f742935d87b2ccffd2cc71ae5e0ba0fa",
    "1c3fc47cd8dd2170db5c5c2628d0b9806f80b1640403813b28537e1df219bf63",
    "452450a3027e5440d973502a30a7dede93ec5fdc8ae8ca706df9215357a741fe",
];
const EXAMPLE_V3_FIELD_KEY: &str = "0da403fd39c84e8282596a792de0cef1ad7a752106488081a08bde0db7b82e4f";

#[test]
fn peek_id_needs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peek.keyring");
    let ring = Keyring::create(&path, &pass(), FAST).unwrap();
    assert_eq!(Keyring::peek_id(&path).unwrap(), ring.id());
    std::fs::write(dir.path().join("junk"), b"not a keyring").unwrap();
    assert!(matches!(
        Keyring::peek_id(&dir.path().join("junk")),
        Err(Error::BadMagic { .. }) | Err(Error::Truncated(_))
    ));
}

#[test]
fn changes_through_a_symlink_reach_the_real_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.keyring");
    Keyring::create(&real, &pass(), FAST).unwrap();
    let link = dir.path().join("link.keyring");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut via_link = Keyring::open(&link, &Unlock::Passphrase(pass())).unwrap();
    let v2 = via_link.add_key(true).unwrap();
    via_link.destroy(1).unwrap();
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    let direct = Keyring::open(&real, &Unlock::Passphrase(pass())).unwrap();
    assert_eq!(direct.primary_version(), v2);
    assert_eq!(direct.versions()[0].status, KeyStatus::Destroyed);
}

// ---------------------------------------------------------------- revocation

/// The master key a copy of the keyring file yields with `unlock`.
fn master_of(bytes: &[u8], unlock: &Unlock) -> SecretKey {
    let parsed = format::parse(bytes).unwrap();
    protector::unlock_master(&parsed.header.id, &parsed.header.stanzas, unlock)
        .unwrap()
        .0
}

/// The audit's scenario: passphrase A, add B, keep a copy, remove A, add a
/// promoted version. A with the old copy gives the old master key, which
/// opens nothing in the new file.
#[test]
fn removed_passphrase_and_old_copy_open_nothing_written_later() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("passphrase B"), FAST)
        .unwrap();
    let old_copy = fs::read(&path).unwrap();
    ring.remove_protector(1).unwrap();
    let v2 = ring.add_key(true).unwrap();

    let old_master = master_of(&old_copy, &unlock_pass(PASS));
    let new_bytes = fs::read(&path).unwrap();
    let parsed = format::parse(&new_bytes).unwrap();
    assert!(matches!(
        format::open_body(&parsed, &old_master),
        Err(Error::KeyringCorrupt)
    ));
    // No stanza of the new file opens with A either.
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::WrongPassphrase)
    ));
    // The old copy, opened with A, knows nothing of version 2.
    let old_path = dir.path().join("old.keyring");
    fs::write(&old_path, &old_copy).unwrap();
    let old = Keyring::open(&old_path, &unlock_pass(PASS)).unwrap();
    assert!(matches!(
        old.purpose_key(v2, Purpose::Field, KeyUse::Decrypt),
        Err(Error::UnknownKeyVersion(2))
    ));
    // B still opens the new file and sees version 2.
    let by_b = Keyring::open(&path, &unlock_pass("passphrase B")).unwrap();
    assert_eq!(by_b.primary_version(), v2);
    assert_ne!(by_b.master.expose(), old_master.expose());
}

#[test]
fn replaced_recovery_key_and_old_copy_open_nothing_written_later() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let (_, old_rk) = ring.add_recovery_key().unwrap();
    let old_text = old_rk.dangerous_display();
    let old_copy = fs::read(&path).unwrap();
    let (_, new_rk) = ring.replace_recovery_key().unwrap();
    ring.add_key(true).unwrap();

    let old_master = master_of(&old_copy, &Unlock::RecoveryKey(old_rk));
    let new_bytes = fs::read(&path).unwrap();
    assert!(matches!(
        format::open_body(&format::parse(&new_bytes).unwrap(), &old_master),
        Err(Error::KeyringCorrupt)
    ));
    assert!(matches!(
        Keyring::open(&path, &Unlock::RecoveryKey(old_text.parse().unwrap())),
        Err(Error::WrongRecoveryKey)
    ));
    // Every remaining protector opens the new file.
    let a = Keyring::open(&path, &Unlock::RecoveryKey(new_rk)).unwrap();
    let b = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    assert_eq!(a.master.expose(), b.master.expose());
    assert_eq!(a.versions(), b.versions());
}

#[test]
fn explicit_rekey_replaces_the_master_key_for_every_protector() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("second"), FAST).unwrap();
    let (_, rk) = ring.add_recovery_key().unwrap();
    let rk_text = rk.dangerous_display();
    let before = fs::read(&path).unwrap();
    let old_master = master_of(&before, &unlock_pass("second"));
    let generation = ring.generation();

    // A second handle, opened before the rekey, follows it.
    let mut stale = Keyring::open(&path, &Unlock::RecoveryKey(rk)).unwrap();
    ring.rekey().unwrap();
    assert_eq!(ring.generation(), generation + 1);
    let after = fs::read(&path).unwrap();
    assert!(matches!(
        format::open_body(&format::parse(&after).unwrap(), &old_master),
        Err(Error::KeyringCorrupt)
    ));
    let unlocks = [
        unlock_pass(PASS),
        unlock_pass("second"),
        Unlock::RecoveryKey(rk_text.parse().unwrap()),
    ];
    for unlock in &unlocks {
        let r = Keyring::open(&path, unlock).unwrap();
        assert_eq!(r.master.expose(), ring.master.expose());
        assert_ne!(r.master.expose(), old_master.expose());
        assert_eq!(r.versions(), ring.versions());
    }
    stale.add_key(false).unwrap();
    assert_eq!(stale.master.expose(), ring.master.expose());
    ring.reload().unwrap();
    assert_eq!(ring.versions().len(), 2);
}

#[test]
fn a_handle_whose_protector_was_removed_elsewhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("second"), FAST).unwrap();
    let mut by_first = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    let mut by_second = Keyring::open(&path, &unlock_pass("second")).unwrap();
    by_second.remove_protector(1).unwrap();
    assert!(matches!(by_first.reload(), Err(Error::WrongPassphrase)));
    assert!(matches!(by_first.add_key(true), Err(Error::WrongPassphrase)));
    assert_eq!(
        Keyring::open(&path, &unlock_pass("second"))
            .unwrap()
            .versions()
            .len(),
        1
    );
}

#[test]
fn removing_several_protectors_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("two"), FAST).unwrap();
    ring.add_passphrase(&Passphrase::from("three"), FAST).unwrap();
    assert!(
        matches!(ring.remove_protectors(&[1, 2, 3]), Err(Error::InvalidArgument(ref m)) if m.contains("every protector"))
    );
    assert!(
        matches!(ring.remove_protectors(&[2, 9]), Err(Error::InvalidArgument(ref m)) if m.contains("no protector with id 9"))
    );
    assert_eq!(ring.protectors().len(), 3, "a refused removal changes nothing");
    ring.remove_protectors(&[2, 3]).unwrap();
    for gone in ["two", "three"] {
        assert!(matches!(
            Keyring::open(&path, &unlock_pass(gone)),
            Err(Error::WrongPassphrase)
        ));
    }
    Keyring::open(&path, &unlock_pass(PASS)).unwrap();
}

// ---------------------------------------------------------------- migration

/// A format-1 keyring with passphrases A (id 1), B (id 2) and a recovery
/// key (id 3), all legacy stanzas.
fn v1_ring(dir: &tempfile::TempDir) -> (PathBuf, RecoveryKey) {
    use super::example::encode_as_v1;
    let id: [u8; 16] = crate::crypto::random::array();
    let master = SecretKey::random();
    let mut stanzas = Vec::new();
    for (n, p) in [(1, PASS), (2, "passphrase B")] {
        let salt = protector::fresh_salt();
        let kek = protector::passphrase_kek(&Passphrase::from(p), &FAST, &salt).unwrap();
        let kind = protector::StanzaKind::Passphrase { params: FAST, salt };
        stanzas.push(Stanza::seal_legacy(
            &id,
            n,
            1,
            kind,
            &kek,
            &master,
            crate::crypto::random::array(),
        ));
    }
    let rk = RecoveryKey::random();
    let salt = protector::fresh_salt();
    let kek = protector::recovery_kek(&rk, &salt);
    stanzas.push(Stanza::seal_legacy(
        &id,
        3,
        1,
        protector::StanzaKind::RecoveryKey { salt },
        &kek,
        &master,
        crate::crypto::random::array(),
    ));
    let header = Header {
        id,
        generation: 1,
        next_protector_id: 4,
        stanzas,
        body_nonce: crate::crypto::random::array(),
    };
    let versions = Versions(vec![VersionEntry::new(1, KeyStatus::Primary, 1)]);
    let path = dir.path().join("v1.keyring");
    fs::write(&path, encode_as_v1(&header, &versions, &master)).unwrap();
    (path, rk)
}

#[test]
fn v1_keyring_migrates_on_first_write_and_revocation_waits_for_its_protectors() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rk) = v1_ring(&dir);
    let rk_text = rk.dangerous_display();
    assert_eq!(fs::read(&path).unwrap()[8], 1);
    let mut ring = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    assert!(ring.protectors().iter().all(|p| p.legacy));

    // First write: format 2, the unlocking protector upgraded, the others
    // kept as they are (still opening).
    ring.add_key(false).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes[8], 2);
    let legacy: Vec<(u32, bool)> = ring.protectors().iter().map(|p| (p.id, p.legacy)).collect();
    assert_eq!(legacy, vec![(1, false), (2, true), (3, true)]);
    for unlock in [
        unlock_pass(PASS),
        unlock_pass("passphrase B"),
        Unlock::RecoveryKey(rk_text.parse().unwrap()),
    ] {
        assert_eq!(Keyring::open(&path, &unlock).unwrap().versions().len(), 2);
    }

    // Revoking while B and the recovery key are legacy is refused, and
    // changes nothing.
    let before = fs::read(&path).unwrap();
    assert!(matches!(ring.rekey(), Err(Error::ProtectorsNeedUpgrade(ref ids)) if *ids == vec![2, 3]));
    assert!(
        matches!(ring.remove_protector(2), Err(Error::ProtectorsNeedUpgrade(ref ids)) if *ids == vec![3])
    );
    assert!(
        matches!(ring.replace_recovery_key(), Err(Error::ProtectorsNeedUpgrade(ref ids)) if *ids == vec![2])
    );
    assert_eq!(fs::read(&path).unwrap(), before);

    // Upgrading B with its own secret, then removing the legacy recovery
    // key in the revoking operation itself, works.
    let mut by_b = Keyring::open(&path, &unlock_pass("passphrase B")).unwrap();
    assert!(by_b.upgrade_protector().unwrap());
    assert!(!by_b.upgrade_protector().unwrap());
    let old_master = SecretKey::from_array(*ring.master.expose());
    ring.remove_protector(3).unwrap();
    assert!(ring.protectors().iter().all(|p| !p.legacy));
    assert!(matches!(
        format::open_body(&format::parse(&fs::read(&path).unwrap()).unwrap(), &old_master),
        Err(Error::KeyringCorrupt)
    ));
    assert!(matches!(
        Keyring::open(&path, &Unlock::RecoveryKey(rk_text.parse().unwrap())),
        Err(Error::WrongRecoveryKey)
    ));
    Keyring::open(&path, &unlock_pass("passphrase B")).unwrap();
    ring.rekey().unwrap();
}

#[test]
fn v1_worked_example_opens_and_migrates() {
    use super::example as ex;
    let stored = fs::read_to_string(EXAMPLE_V1_HEX).unwrap();
    let bytes = hex::decode(stored.split_whitespace().collect::<String>()).unwrap();
    assert_eq!(
        bytes,
        ex::example_bytes_v1(),
        "format-1 vector rebuilt from its inputs"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example-v1.keyring");
    fs::write(&path, &bytes).unwrap();
    let mut ring = Keyring::open(&path, &Unlock::RecoveryKey(ex::recovery_key())).unwrap();
    assert_eq!(ring.master.expose(), ex::master().expose());
    assert_eq!(ring.primary_version(), 4);
    ring.upgrade_protector().unwrap();
    assert_eq!(fs::read(&path).unwrap()[8], 2);
    let kinds: Vec<bool> = ring.protectors().iter().map(|p| p.legacy).collect();
    assert_eq!(kinds, vec![true, false]);
    let by_pass = Keyring::open(&path, &Unlock::Passphrase(ex::passphrase())).unwrap();
    assert_eq!(by_pass.versions(), ring.versions());
}

// ---------------------------------------------------------------- work limits

#[test]
fn passphrase_stanza_cap_is_refused_at_parse_before_any_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    for i in 2..=4 {
        ring.add_passphrase(&Passphrase::from(format!("p{i}").as_str()), FAST)
            .unwrap();
    }
    assert!(matches!(
        ring.add_passphrase(&Passphrase::from("p5"), FAST),
        Err(Error::InvalidArgument(ref m)) if m.contains("maximum of 4 passphrases")
    ));
    // A crafted keyring with a fifth passphrase stanza whose Argon2id cost
    // is the maximum: if the cap were not checked first, opening would run
    // 2 GiB, t = 16 Argon2id five times.
    let mut header = ring.header.clone();
    let heavy = KdfParams {
        memory_kib: 2 * 1024 * 1024,
        iterations: 16,
        parallelism: 16,
    };
    let kek = SecretKey::random();
    let extra = Stanza::seal_new(
        &header.id,
        header.next_protector_id,
        0,
        protector::StanzaKind::Passphrase {
            params: heavy,
            salt: [0; 16],
        },
        &kek,
        &ring.master,
    )
    .unwrap();
    header.next_protector_id += 1;
    header.stanzas.push(extra);
    let crafted = format::encode(&header, &ring.versions, &ring.master).unwrap();
    let is_cap = |e: &Error| matches!(e, Error::Malformed { what: "keyring", detail } if detail.contains("5 passphrase protectors"));
    assert!(is_cap(&format::parse(&crafted).err().unwrap()));
    fs::write(&path, &crafted).unwrap();
    assert!(is_cap(&Keyring::open(&path, &unlock_pass("wrong")).unwrap_err()));
    assert!(is_cap(&Keyring::peek_id(&path).unwrap_err()));
}

const EXAMPLE_V1_HEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/keyring/example-v1.hex");
