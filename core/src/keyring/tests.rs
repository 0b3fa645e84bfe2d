//! Tests of the keyring module (crate-internal, so they can look inside the
//! encrypted body).

use super::format::{self, AUTH_ENTRY_LEN, CHECKSUM_LEN, FIXED_PREFIX_LEN, FIXED_SUFFIX_LEN, MAX_PROTECTORS};
use super::stanza::{LEAD_LEN, V3_TAIL_LEN};
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

/// A copy of the body's protector table.
fn auth_copy(ring: &Keyring) -> AuthTable {
    AuthTable(
        ring.body
            .auth
            .0
            .iter()
            .map(|(id, a)| (*id, SecretKey::from_slice(a.expose()).unwrap()))
            .collect(),
    )
}

/// Re-encodes `ring`'s header (as given) with `versions` and the ring's
/// protector table, under its master key, as someone holding it would.
fn encode_with(ring: &Keyring, header: &Header, versions: Versions) -> Vec<u8> {
    let body = Body {
        auth: auth_copy(ring),
        versions,
    };
    format::encode(header, &body, &ring.master).unwrap()
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

/// Length of a format-3 passphrase stanza (SPEC §4.2.2).
const PASSPHRASE_STANZA_LEN: usize = 215;
/// Length of a format-3 recovery-key stanza.
const RECOVERY_STANZA_LEN: usize = 203;

#[test]
fn layout_lengths_match_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, _) = damage_fixture(&dir);
    assert_eq!((FIXED_PREFIX_LEN, LEAD_LEN, V3_TAIL_LEN), (38, 13, 172));
    assert_eq!(PASSPHRASE_STANZA_LEN, LEAD_LEN + 2 + 28 + V3_TAIL_LEN);
    assert_eq!(RECOVERY_STANZA_LEN, LEAD_LEN + 2 + 16 + V3_TAIL_LEN);
    let header_len = FIXED_PREFIX_LEN + PASSPHRASE_STANZA_LEN + RECOVERY_STANZA_LEN + FIXED_SUFFIX_LEN;
    assert_eq!(bytes[8], 3, "format version 3");
    assert_eq!((FIXED_SUFFIX_LEN, AUTH_ENTRY_LEN), (48, 36));
    assert_eq!(
        bytes.len(),
        header_len + 1 + 2 * AUTH_ENTRY_LEN + 4 + 2 * format::ENTRY_LEN + 16
    );
    assert_eq!(format::parse(&bytes).unwrap().aad.len(), header_len);
    // The caps of SPEC §4.2.5.
    assert_eq!(format::MAX_BODY_LEN, 3_474_528);
    assert_eq!(format::MAX_FILE_LEN, 3_546_134);
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
    b[8] = 4;
    assert!(matches!(
        check(&b),
        Error::UnsupportedVersion {
            what: "keyring",
            version: 4
        }
    ));
    let mut b = bytes.clone();
    b[20] ^= 0x80; // keyring id
    assert!(matches!(check(&b), Error::KeyringCorrupt));
    let mut b = bytes.clone();
    b[37] = 0; // protector count
    assert!(matches!(check(&b), Error::Malformed { .. }));
    let mut b = bytes.clone();
    b[38 + 4] = 3; // stanza kind: a format-2 kind in a format-3 file
    assert!(
        matches!(check(&b), Error::Malformed { what: "keyring", ref detail } if detail.contains("kind 3 is not allowed"))
    );
    let mut b = bytes.clone();
    b[38 + LEAD_LEN] = 0x08; // params_len 2076 > 2048
    assert!(
        matches!(check(&b), Error::Malformed { what: "keyring", ref detail } if detail.contains("at most 2048"))
    );
    let mut b = bytes.clone();
    b[38 + LEAD_LEN + 1] = 27; // a passphrase takes 28 bytes of parameters
    assert!(
        matches!(check(&b), Error::Malformed { what: "keyring", ref detail } if detail.contains("takes 28 bytes"))
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
    let at = FIXED_PREFIX_LEN + LEAD_LEN + 2;
    b[at..at + 4].copy_from_slice(&params.memory_kib.to_be_bytes());
    b[at + 4..at + 8].copy_from_slice(&params.iterations.to_be_bytes());
    b[at + 8..at + 12].copy_from_slice(&params.parallelism.to_be_bytes());
    let header_len = format::parse(bytes).unwrap().aad.len();
    let sum = format::header_checksum(&b[..header_len - CHECKSUM_LEN]);
    b[header_len - CHECKSUM_LEN..header_len].copy_from_slice(&sum);
    b
}

/// Opens `path` with passphrase `p` and `options`; also returns the
/// Argon2id runs the call made.
fn open_counting(path: &Path, p: &str, options: &KeyringOptions) -> (Result<Keyring>, u64) {
    let before = crate::passphrase::argon2_runs();
    let result = Keyring::open_with(path, &unlock_pass(p), options);
    (result, crate::passphrase::argon2_runs() - before)
}

#[test]
fn a_hostile_protector_at_the_caps_is_refused_before_any_argon2id_run() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes, _) = damage_fixture(&dir);
    let path = dir.path().join("crafted.keyring");
    let caps = KdfParams {
        memory_kib: KdfParams::MAX_MEMORY_KIB,
        iterations: KdfParams::MAX_ITERATIONS,
        parallelism: KdfParams::MAX_PARALLELISM,
    };
    fs::write(&path, with_params(&bytes, caps)).unwrap();
    let (result, runs) = open_counting(&path, PASS, &KeyringOptions::new());
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            Error::KdfBudgetExceeded {
                memory_kib: 2097152,
                iterations: 16,
                spent_work: 0,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.code(), 220);
    assert_eq!(runs, 0);
}

#[test]
fn the_kdf_budget_bounds_opening_and_reenrolling_and_can_be_raised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.keyring");
    let p16 = KdfParams {
        memory_kib: 16 * 1024,
        iterations: 1,
        parallelism: 1,
    };
    let mut ring = Keyring::create(&path, &Passphrase::from("p1"), p16).unwrap();
    for p in ["p2", "p3", "p4"] {
        ring.add_passphrase(&Passphrase::from(p), p16).unwrap();
    }
    drop(ring);
    let budget = |mib: u32, passes: u32| {
        KeyringOptions::new().kdf_budget(KdfBudget {
            max_memory_kib: mib * 1024,
            max_passes: passes,
        })
    };
    // Above the memory per run: nothing runs.
    let (result, runs) = open_counting(&path, "p1", &budget(8, 100));
    assert!(
        matches!(
            result,
            Err(Error::KdfBudgetExceeded {
                memory_kib: 16384,
                spent_work: 0,
                ..
            })
        ),
        "{:?}",
        result.err()
    );
    assert_eq!(runs, 0);
    // Room for two runs in all: the second protector opens, the fourth
    // is never reached.
    let (result, runs) = open_counting(&path, "p2", &budget(16, 2));
    result.unwrap();
    assert_eq!(runs, 2);
    let (result, runs) = open_counting(&path, "p4", &budget(16, 2));
    assert!(matches!(
        result,
        Err(Error::KdfBudgetExceeded {
            spent_work: 32768,
            ..
        })
    ));
    assert_eq!(runs, 2);
    // The caller opts in: it opens.
    let (result, runs) = open_counting(&path, "p4", &budget(16, 4));
    result.unwrap();
    assert_eq!(runs, 4);
    // Within the default budget a wrong passphrase is still just wrong.
    let (result, runs) = open_counting(&path, "wrong", &KeyringOptions::new());
    assert!(matches!(result, Err(Error::WrongPassphrase)));
    assert_eq!(runs, 4);
    // Further passphrases of one call share the handle's budget.
    let mut ring = Keyring::open_with(&path, &unlock_pass("p1"), &budget(16, 1)).unwrap();
    let before = crate::passphrase::argon2_runs();
    let err = ring.reenroll(&[unlock_pass("p3")]).unwrap_err();
    assert!(matches!(err, Error::KdfBudgetExceeded { .. }), "{err}");
    assert_eq!(crate::passphrase::argon2_runs() - before, 1);
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
    let bytes = encode_with(&ring, &ring.header, two_primaries);
    fs::write(&path, bytes).unwrap();
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::Malformed { ref detail, .. }) if detail.contains("2 primary")
    ));
    let unordered = Versions(vec![
        VersionEntry::new(2, S::Primary, 1),
        VersionEntry::new(1, S::DecryptOnly, 1),
    ]);
    fs::write(&path, encode_with(&ring, &ring.header, unordered)).unwrap();
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
    let secret: [u8; 32] = *ring.body.versions.0[0].material.as_ref().unwrap().expose();
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
    assert!(ring.body.versions.0[0].material.is_none());
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
    for e in &ring.body.versions.0 {
        secrets.push(e.material.as_ref().unwrap().expose().to_vec());
    }
    for (_, auth) in &ring.body.auth.0 {
        secrets.push(auth.expose().to_vec());
    }
    secrets.push(ring.unlocker.kek.expose().to_vec());
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
    assert!(matches!(
        ring.add_key(false),
        Err(Error::KeyringRolledBack { seen: 3, found: 1 })
    ));
    assert!(matches!(
        ring.reload(),
        Err(Error::KeyringRolledBack { seen: 3, found: 1 })
    ));
    assert_eq!(fs::read(&path).unwrap(), old, "a refused change writes nothing");
    // Someone puts a different keyring there.
    fs::remove_file(&path).unwrap();
    Keyring::create(&path, &pass(), FAST).unwrap();
    assert!(matches!(ring.add_key(false), Err(Error::WrongKeyring)));
}

// ---------------------------------------------------------------- worked example

const EXAMPLE_HEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/keyring/example.hex");
const EXAMPLE_V2_HEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/keyring/example-v2.hex");
const EXAMPLE_V1_HEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/keyring/example-v1.hex");

fn example_hex_lines(bytes: &[u8]) -> String {
    let mut out = String::new();
    for line in bytes.chunks(32) {
        out.push_str(&hex::encode(line));
        out.push('\n');
    }
    out
}

fn read_hex(path: &str) -> Vec<u8> {
    let stored = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    hex::decode(stored.split_whitespace().collect::<String>()).unwrap()
}

#[test]
fn worked_examples_match_testdata() {
    use super::example as ex;
    for (path, bytes) in [
        (EXAMPLE_HEX, ex::example_bytes()),
        (EXAMPLE_V2_HEX, ex::example_bytes_v2()),
        (EXAMPLE_V1_HEX, ex::example_bytes_v1()),
    ] {
        if std::env::var_os("STRONGROOM_WRITE_VECTORS").is_some() {
            fs::write(path, example_hex_lines(&bytes)).unwrap();
        }
        assert_eq!(hex::encode(&bytes), hex::encode(read_hex(path)), "{path}");
    }
    // Deterministic.
    assert_eq!(ex::example_bytes(), ex::example_bytes());
    let bytes = ex::example_bytes();
    assert_eq!((bytes.len(), bytes[8]), (809, 3));
    assert_eq!(ex::example_bytes_v2().len(), 612);
    assert_eq!(ex::example_bytes_v1().len(), 508);
}

#[test]
fn worked_example_opens() {
    use super::example as ex;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.keyring");
    fs::write(&path, read_hex(EXAMPLE_HEX)).unwrap();

    let ring = Keyring::open(&path, &Unlock::Passphrase(ex::passphrase())).unwrap();
    assert_eq!(ring.id(), ex::keyring_id());
    assert_eq!(ring.format_version(), 3);
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
    let auth: Vec<(u32, [u8; 32])> = ring.body.auth.0.iter().map(|(i, a)| (*i, *a.expose())).collect();
    assert_eq!(auth, vec![(1, ex::seq(ex::AUTH_1)), (2, ex::seq(ex::AUTH_2))]);
    assert!(ring.protectors().iter().all(|p| !p.legacy));
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

/// The format-2 and format-1 examples: they open with either secret and
/// decrypt, but refuse to encrypt and to change (nothing written) until
/// upgraded.
#[test]
fn older_examples_open_decrypt_and_refuse_to_encrypt_or_change() {
    use super::example as ex;
    let dir = tempfile::tempdir().unwrap();
    for (format, hex_path) in [(2u8, EXAMPLE_V2_HEX), (1, EXAMPLE_V1_HEX)] {
        let path = dir.path().join(format!("example-v{format}.keyring"));
        let bytes = read_hex(hex_path);
        fs::write(&path, &bytes).unwrap();
        for unlock in [
            Unlock::Passphrase(ex::passphrase()),
            Unlock::RecoveryKey(ex::recovery_key()),
        ] {
            let mut ring = Keyring::open(&path, &unlock).unwrap();
            assert_eq!(ring.format_version(), format);
            assert!(ring.protectors().iter().all(|p| p.legacy));
            assert_eq!(
                hex::encode(
                    ring.purpose_key(3, Purpose::Field, KeyUse::Decrypt)
                        .unwrap()
                        .expose()
                ),
                EXAMPLE_V3_FIELD_KEY
            );
            let refused = |e: Error, op: &str| matches!(e, Error::KeyringNeedsUpgrade { format: f, operation } if f == format && operation == op);
            assert!(refused(
                ring.check_can_encrypt().unwrap_err(),
                "encrypting with it"
            ));
            assert!(refused(
                ring.purpose_key(4, Purpose::FileWrap, KeyUse::Encrypt)
                    .unwrap_err(),
                "encrypting with it"
            ));
            assert!(refused(
                ring.encryption_key(Purpose::Field).unwrap_err(),
                "encrypting with it"
            ));
            assert!(refused(ring.add_key(true).unwrap_err(), "changing it"));
            assert!(refused(ring.rekey().unwrap_err(), "changing it"));
            assert!(refused(ring.remove_protector(2).unwrap_err(), "changing it"));
            assert!(refused(ring.add_recovery_key().unwrap_err(), "changing it"));
            assert!(refused(ring.reenroll(&[]).unwrap_err(), "changing it"));
            assert_eq!(fs::read(&path).unwrap(), bytes, "refusals write nothing");
        }
    }
}

/// Encrypting a file, or a field, to a format-2 keyring is refused with
/// the specific error; decrypting with it goes on.
#[test]
fn files_and_fields_refuse_an_older_keyring_but_decrypt_with_it() {
    use super::example as ex;
    use crate::field::{ColumnSpec, FieldCipher, Normalizer, PurposeKeys, Value, ValueType};
    use crate::file::{FileOptions, Identity, Recipient, decrypt_file, encrypt_file};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.keyring");
    fs::write(&path, read_hex(EXAMPLE_V2_HEX)).unwrap();
    let v2 = Keyring::open(&path, &Unlock::RecoveryKey(ex::recovery_key())).unwrap();
    let plain = dir.path().join("plain");
    fs::write(&plain, b"attack at dawn").unwrap();
    let out = dir.path().join("plain.srf");
    let err = encrypt_file(&plain, &out, &[Recipient::Keyring(&v2)], &FileOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::KeyringNeedsUpgrade { format: 2, .. }),
        "{err}"
    );
    assert!(!out.exists());

    // The same keys in a format-3 keyring (the format-3 example) encrypt;
    // the format-2 handle decrypts the result.
    let v3_path = dir.path().join("v3.keyring");
    fs::write(&v3_path, read_hex(EXAMPLE_HEX)).unwrap();
    let v3 = Keyring::open(&v3_path, &Unlock::RecoveryKey(ex::recovery_key())).unwrap();
    encrypt_file(&plain, &out, &[Recipient::Keyring(&v3)], &FileOptions::default()).unwrap();
    let back = dir.path().join("back");
    decrypt_file(&out, &back, &[Identity::Keyring(&v2)], &FileOptions::default()).unwrap();
    assert_eq!(fs::read(&back).unwrap(), b"attack at dawn");

    let spec = ColumnSpec::new(ValueType::Text).with_blind_index(8, Normalizer::None);
    let writer = FieldCipher::new(&v3, "t", "c", spec).unwrap();
    let token = writer.encrypt(Some(&Value::from("x")), None).unwrap().unwrap();
    let reader = FieldCipher::new(&v2, "t", "c", spec).unwrap();
    assert_eq!(
        reader.decrypt(token.as_bytes(), None).unwrap().unwrap().as_str(),
        Some("x")
    );
    let refused = |e: Error| matches!(e, Error::KeyringNeedsUpgrade { format: 2, .. });
    assert!(refused(
        reader.encrypt(Some(&Value::from("x")), None).unwrap_err()
    ));
    assert!(refused(
        reader.encrypt_batch(&[Some(Value::from("x"))], None).unwrap_err()
    ));
    assert!(refused(reader.index(Some(&Value::from("x"))).unwrap_err()));
    assert!(refused(
        reader.index_batch(&[Some(Value::from("x"))]).unwrap_err()
    ));
    assert!(refused(reader.rewrap(token.as_bytes(), None).unwrap_err()));
    assert!(refused(
        reader.rewrap_with_index(token.as_bytes(), None).unwrap_err()
    ));
    assert!(refused(
        reader.rewrap_batch(&[Some(token.as_bytes())], None).unwrap_err()
    ));
    // Raw keys from the old keyring can still build a writer on purpose
    // (PurposeKeys), which is the caller's explicit choice.
    PurposeKeys::from_keyring(&v2, 4).unwrap();
}

/// Prints the example's intermediate values for the specification:
/// `cargo test -p strongroom --lib keyring::tests::print_example -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_example() {
    use super::example as ex;
    use super::kind::{passphrase_kek, recovery_kek};
    use crate::crypto::kdf::derive_key32;
    let stretched = ex::PARAMS.derive(&ex::passphrase(), &ex::seq(0x50)).unwrap();
    println!("argon2id output   {}", hex::encode(stretched.expose()));
    let kek = passphrase_kek(&ex::passphrase(), &ex::PARAMS, &ex::seq(0x50)).unwrap();
    println!("passphrase KEK    {}", hex::encode(kek.expose()));
    let rkek = recovery_kek(&ex::recovery_key(), &ex::seq(0xa0));
    println!("recovery KEK      {}", hex::encode(rkek.expose()));
    for (n, k) in [(1, &kek), (2, &rkek)] {
        let auth = derive_key32(k.expose(), &ex::keyring_id(), super::stanza::LABEL_PROTECTOR_AUTH);
        println!("stanza {n} auth key {}", hex::encode(auth.expose()));
    }
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
    for (n, stanza) in ex::header().stanzas.iter().enumerate() {
        if let super::stanza::Seal::V3 {
            public,
            wrapped_auth,
            enc,
            sealed,
            ..
        } = &stanza.seal
        {
            println!("stanza {} public   {}", n + 1, hex::encode(public));
            println!("stanza {} wrapped  {}", n + 1, hex::encode(wrapped_auth));
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
    let mut meter = crate::passphrase::KdfMeter::new(crate::passphrase::KdfBudget::DEFAULT);
    protector::unlock_master(&parsed.header.id, &parsed.header.stanzas, unlock, &mut meter)
        .unwrap()
        .0
        .master
}

/// The audit's scenario: passphrase A, add B, keep a copy, remove A. The
/// removal rotates: A with the old copy gives the old master key and the
/// old versions, which open nothing encrypted afterwards.
#[test]
fn removed_passphrase_and_old_copy_open_nothing_written_later() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("passphrase B"), FAST)
        .unwrap();
    let old_copy = fs::read(&path).unwrap();
    let revocation = ring.remove_protector(1).unwrap();
    assert_eq!(revocation.removed, vec![1]);
    assert_eq!(revocation.new_primary, Some(2), "the removal rotates");
    assert_eq!(ring.primary_version(), 2);
    assert_eq!(revocation.to_reenroll, vec![2], "B was not the one that removed");

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
    // The old copy, opened with A, knows nothing of version 2, the one new
    // data is encrypted to.
    let old_path = dir.path().join("old.keyring");
    fs::write(&old_path, &old_copy).unwrap();
    let old = Keyring::open(&old_path, &unlock_pass(PASS)).unwrap();
    assert!(matches!(
        old.purpose_key(2, Purpose::Field, KeyUse::Decrypt),
        Err(Error::UnknownKeyVersion(2))
    ));
    // B still opens the new file and sees version 2.
    let by_b = Keyring::open(&path, &unlock_pass("passphrase B")).unwrap();
    assert_eq!(by_b.primary_version(), 2);
    assert_ne!(by_b.master.expose(), old_master.expose());
}

#[test]
fn removal_can_keep_the_primary_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("passphrase B"), FAST)
        .unwrap();
    let old_master = SecretKey::from_slice(ring.master.expose()).unwrap();
    let revocation = ring.remove_protectors_with(&[2], Rotation::KeepPrimary).unwrap();
    assert_eq!(revocation.new_primary, None);
    assert!(revocation.to_reenroll.is_empty(), "only the remover remains");
    assert_eq!(statuses(&ring), vec![(1, S::Primary)]);
    assert_ne!(
        ring.master.expose(),
        old_master.expose(),
        "still a new master key"
    );
}

#[test]
fn replaced_recovery_key_and_old_copy_open_nothing_written_later() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let (_, old_rk) = ring.add_recovery_key().unwrap();
    let old_text = old_rk.dangerous_display();
    let old_copy = fs::read(&path).unwrap();
    let (new_id, new_rk) = ring.replace_recovery_key().unwrap();
    assert_eq!(ring.primary_version(), 2, "the replacement rotates");

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

    // Without rotation, and reporting what was revoked.
    let (newer, _, revocation) = ring.replace_recovery_key_with(Rotation::KeepPrimary).unwrap();
    let revocation = revocation.unwrap();
    assert_eq!(revocation.removed, vec![new_id]);
    assert_eq!((revocation.new_primary, ring.primary_version()), (None, 2));
    assert!(newer > new_id);
    // Nothing to replace: nothing revoked, no rotation.
    let other_dir = tempfile::tempdir().unwrap();
    let (_, mut alone) = new_ring(&other_dir);
    let (_, _, none) = alone.replace_recovery_key_with(Rotation::Rotate).unwrap();
    assert!(none.is_none());
    assert_eq!(alone.primary_version(), 1);
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
    let old_auth = auth_copy(&ring);
    let generation = ring.generation();

    // A second handle, opened before the rekey, follows it.
    let mut stale = Keyring::open(&path, &Unlock::RecoveryKey(rk)).unwrap();
    ring.rekey().unwrap();
    assert_eq!(ring.generation(), generation + 1);
    // The unlocking protector (1) got a fresh authentication value; the
    // others kept theirs.
    for (id, value) in &ring.body.auth.0 {
        let same = old_auth.get(*id).unwrap().expose() == value.expose();
        assert_eq!(same, *id != 1, "protector {id}");
    }
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
        2
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
    assert!(matches!(
        ring.remove_protectors(&[]),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(ring.protectors().len(), 3, "a refused removal changes nothing");
    assert_eq!(ring.versions().len(), 1, "... and rotates nothing");
    let revocation = ring.remove_protectors(&[3, 2, 3]).unwrap();
    assert_eq!(revocation.removed, vec![2, 3]);
    for gone in ["two", "three"] {
        assert!(matches!(
            Keyring::open(&path, &unlock_pass(gone)),
            Err(Error::WrongPassphrase)
        ));
    }
    Keyring::open(&path, &unlock_pass(PASS)).unwrap();
}

// ---------------------------------------------------------------- forgery

/// A forger who can write the file but holds no secret of the keyring:
/// takes the real file, picks a master key of its own, seals it to the
/// real protector's public key with `auth` as the pre-shared key (a
/// guess), and builds a matching body with versions of its choice. The
/// owner's passphrase must refuse it.
fn forge_with_auth(real: &[u8], auth: &SecretKey) -> Vec<u8> {
    let parsed = format::parse(real).unwrap();
    let mut header = parsed.header.clone();
    let forged_master = SecretKey::random();
    let id = header.id;
    let mut table = AuthTable::default();
    for stanza in &mut header.stanzas {
        *stanza = stanza.sealed(&id, &forged_master, auth).unwrap();
        table.set(stanza.id, SecretKey::from_slice(auth.expose()).unwrap());
    }
    header.generation += 1;
    let body = Body {
        auth: table,
        versions: Versions(vec![VersionEntry::new(1, S::Primary, 1)]),
    };
    format::encode(&header, &body, &forged_master).unwrap()
}

#[test]
fn a_seal_without_the_authentication_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    let (_, rk) = ring.add_recovery_key().unwrap();
    let rk_text = rk.dangerous_display();
    let real = fs::read(&path).unwrap();
    let forged_path = dir.path().join("forged.keyring");
    // A guessed authentication value.
    fs::write(&forged_path, forge_with_auth(&real, &SecretKey::random())).unwrap();
    assert!(matches!(
        Keyring::open(&forged_path, &unlock_pass(PASS)),
        Err(Error::KeyringCorrupt)
    ));
    assert!(matches!(
        Keyring::open(&forged_path, &Unlock::RecoveryKey(rk_text.parse().unwrap())),
        Err(Error::KeyringCorrupt)
    ));
    // The right value (known only to holders of the master key) is what
    // makes a seal acceptable: the same forgery with it opens.
    let known = SecretKey::from_slice(ring.body.auth.get(1).unwrap().expose()).unwrap();
    fs::write(&forged_path, forge_with_auth(&real, &known)).unwrap();
    assert!(Keyring::open(&forged_path, &unlock_pass(PASS)).is_ok());
}

#[test]
fn a_body_whose_protector_table_disagrees_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("second"), FAST).unwrap();
    let versions = || Versions(vec![VersionEntry::new(1, S::Primary, 1)]);
    // The unlocking protector's value in the body differs from its stanza's.
    let mut table = auth_copy(&ring);
    table.set(1, SecretKey::random());
    let body = Body {
        auth: table,
        versions: versions(),
    };
    fs::write(&path, format::encode(&ring.header, &body, &ring.master).unwrap()).unwrap();
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::KeyringCorrupt)
    ));
    // Protector 2 opens (its value matches), but its change would reseal
    // protector 1 with the wrong value: the table must agree at open.
    Keyring::open(&path, &unlock_pass("second")).unwrap();

    // The table's entries in another order than the header's stanzas
    // (re-sealed under the real master key, as a holder of it could).
    fs::write(&path, encode_with(&ring, &ring.header, versions())).unwrap();
    let mut plain = decrypted_body(&ring, &path);
    let (first, second) = (plain[1..37].to_vec(), plain[37..73].to_vec());
    plain[1..37].copy_from_slice(&second);
    plain[37..73].copy_from_slice(&first);
    let bytes = fs::read(&path).unwrap();
    let parsed = format::parse(&bytes).unwrap();
    let key = format::body_key(&ring.master, &ring.header.id);
    let tag = Aes256Gcm::new(key.expose()).seal_in_place(&parsed.header.body_nonce, parsed.aad, &mut plain);
    let mut swapped = parsed.aad.to_vec();
    swapped.extend_from_slice(&plain);
    swapped.extend_from_slice(&tag);
    fs::write(&path, &swapped).unwrap();
    for unlock in [unlock_pass(PASS), unlock_pass("second")] {
        assert!(matches!(
            Keyring::open(&path, &unlock),
            Err(Error::KeyringCorrupt)
        ));
    }
}

/// A removed recovery-key holder kept a copy of the body (the master key
/// and every authentication value of its time) and write access. After
/// the removal the owner's passphrase (which made it) has a fresh value:
/// a forgery for it fails. A second passphrase not yet re-enrolled still
/// accepts one; after re-enrollment it does not.
#[test]
fn reenrollment_shuts_out_a_removed_insider() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut ring) = new_ring(&dir);
    ring.add_passphrase(&Passphrase::from("second"), FAST).unwrap();
    ring.add_recovery_key().unwrap();
    let insider_auth = auth_copy(&ring);
    let revocation = ring.remove_protector(3).unwrap();
    assert_eq!(revocation.to_reenroll, vec![2]);

    let forge_for = |protector: u32| {
        let real = fs::read(&path).unwrap();
        let known = insider_auth.get(protector).unwrap();
        let forged = dir.path().join(format!("forged-{protector}.keyring"));
        fs::write(&forged, forge_with_auth(&real, known)).unwrap();
        forged
    };
    assert!(matches!(
        Keyring::open(&forge_for(1), &unlock_pass(PASS)),
        Err(Error::KeyringCorrupt)
    ));
    assert!(
        Keyring::open(&forge_for(2), &unlock_pass("second")).is_ok(),
        "not yet re-enrolled: the insider's old value still works"
    );

    let done = ring.reenroll(&[unlock_pass("second")]).unwrap();
    assert_eq!(done.reenrolled, vec![1, 2]);
    assert!(done.unchanged.is_empty());
    for (id, value) in &ring.body.auth.0 {
        assert_ne!(insider_auth.get(*id).unwrap().expose(), value.expose());
    }
    assert!(matches!(
        Keyring::open(&forge_for(2), &unlock_pass("second")),
        Err(Error::KeyringCorrupt)
    ));
    // Both still open the real file.
    Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    Keyring::open(&path, &unlock_pass("second")).unwrap();
    // A secret that opens nothing is refused, and nothing changes.
    let before = fs::read(&path).unwrap();
    assert!(matches!(
        ring.reenroll(&[unlock_pass("nobody")]),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        ring.reenroll(&[Unlock::RecoveryKey(RecoveryKey::random())]),
        Err(Error::WrongRecoveryKey)
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
}

// ---------------------------------------------------------------- unknown kinds

/// A format-3 keyring holding, besides the passphrase, a protector of kind
/// 9 (unknown here) with 40 bytes of parameters.
fn with_unknown_kind(dir: &tempfile::TempDir) -> (PathBuf, Keyring) {
    let (path, ring) = new_ring(dir);
    let mut header = ring.header.clone();
    let auth = SecretKey::random();
    let extra = Stanza::enroll(
        &header.id,
        2,
        7,
        Kind::Unknown {
            kind: 9,
            params: vec![0xee; 40],
        },
        &SecretKey::random(),
        &auth,
        [1; 12],
    )
    .sealed(&header.id, &ring.master, &auth)
    .unwrap();
    header.stanzas.push(extra);
    header.next_protector_id = 3;
    let mut table = auth_copy(&ring);
    table.set(2, auth);
    let body = Body {
        auth: table,
        versions: Versions(vec![VersionEntry::new(1, S::Primary, 1)]),
    };
    fs::write(&path, format::encode(&header, &body, &ring.master).unwrap()).unwrap();
    (path, ring)
}

#[test]
fn an_unknown_protector_kind_opens_with_the_others_but_is_not_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = with_unknown_kind(&dir);
    let mut ring = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    let kinds: Vec<ProtectorKind> = ring.protectors().iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ProtectorKind::Passphrase { params: FAST },
            ProtectorKind::Unknown { kind: 9 }
        ]
    );
    ring.purpose_key(1, Purpose::Field, KeyUse::Encrypt).unwrap();
    let before = fs::read(&path).unwrap();
    for refused in [
        ring.add_key(true).map(|_| ()),
        ring.rekey(),
        ring.remove_protector(2).map(|_| ()),
        ring.add_recovery_key().map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(Error::UnknownProtectorKind { id: 2, kind: 9 })),
            "{refused:?}"
        );
    }
    assert_eq!(fs::read(&path).unwrap(), before);
    assert!(matches!(
        Keyring::open(&path, &Unlock::RecoveryKey(RecoveryKey::random())),
        Err(Error::WrongRecoveryKey)
    ));
}

// ---------------------------------------------------------------- upgrade

/// A keyring in an older format (1 or 2) with passphrases A (id 1), B
/// (id 2) and a recovery key (id 3), as earlier releases wrote it.
fn old_ring(dir: &tempfile::TempDir, format: u8) -> (PathBuf, RecoveryKey) {
    use super::stanza::legacy;
    let id: [u8; 16] = crate::crypto::random::array();
    let master = SecretKey::random();
    let seal = |n: u32, kind: Kind, kek: &SecretKey| {
        if format == 1 {
            legacy::seal_v1(&id, n, 1, kind, kek, &master, crate::crypto::random::array())
        } else {
            legacy::seal_v2(&id, n, 1, kind, kek, &master, &mut stanza::OsRng)
        }
    };
    let mut stanzas = Vec::new();
    for (n, p) in [(1, PASS), (2, "passphrase B")] {
        let salt = kind::fresh_salt();
        let kek = kind::passphrase_kek(&Passphrase::from(p), &FAST, &salt).unwrap();
        stanzas.push(seal(n, Kind::Passphrase { params: FAST, salt }, &kek));
    }
    let rk = RecoveryKey::random();
    let salt = kind::fresh_salt();
    stanzas.push(seal(
        3,
        Kind::RecoveryKey { salt },
        &kind::recovery_kek(&rk, &salt),
    ));
    let header = Header {
        format,
        id,
        generation: 1,
        next_protector_id: 4,
        stanzas,
        body_nonce: crate::crypto::random::array(),
    };
    let versions = Versions(vec![VersionEntry::new(1, KeyStatus::Primary, 1)]);
    let path = dir.path().join(format!("v{format}.keyring"));
    fs::write(&path, super::example::encode_old(&header, versions, &master)).unwrap();
    (path, rk)
}

#[test]
fn upgrade_needs_every_protector_or_its_removal() {
    for format in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let (path, rk) = old_ring(&dir, format);
        let rk_text = rk.dangerous_display();
        let mut ring = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
        let before = fs::read(&path).unwrap();
        assert!(matches!(
            ring.upgrade(&[], &[], Rotation::Rotate),
            Err(Error::ProtectorsNeedUpgrade(ref ids)) if *ids == vec![2, 3]
        ));
        assert!(matches!(
            ring.upgrade(&[unlock_pass("passphrase B")], &[], Rotation::Rotate),
            Err(Error::ProtectorsNeedUpgrade(ref ids)) if *ids == vec![3]
        ));
        assert!(matches!(
            ring.upgrade(&[unlock_pass("not a protector")], &[3], Rotation::Rotate),
            Err(Error::WrongPassphrase)
        ));
        assert!(matches!(
            ring.upgrade(&[], &[1, 2, 3], Rotation::Rotate),
            Err(Error::InvalidArgument(ref m)) if m.contains("every protector")
        ));
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "format {format}: refusals write nothing"
        );

        // Every secret: all three kept, same ids and dates, format 3, a
        // new primary.
        let done = ring
            .upgrade(
                &[
                    unlock_pass("passphrase B"),
                    Unlock::RecoveryKey(rk_text.parse().unwrap()),
                ],
                &[],
                Rotation::Rotate,
            )
            .unwrap();
        assert_eq!(
            (done.from_format, done.upgraded, done.new_primary),
            (format, true, Some(2))
        );
        assert!(done.removed.is_empty());
        assert_eq!(fs::read(&path).unwrap()[8], 3);
        assert_eq!(ring.format_version(), 3);
        let ids: Vec<(u32, u64, bool)> = ring
            .protectors()
            .iter()
            .map(|p| (p.id, p.created_at, p.legacy))
            .collect();
        assert_eq!(ids, vec![(1, 1, false), (2, 1, false), (3, 1, false)]);
        for unlock in [
            unlock_pass(PASS),
            unlock_pass("passphrase B"),
            Unlock::RecoveryKey(rk_text.parse().unwrap()),
        ] {
            let r = Keyring::open(&path, &unlock).unwrap();
            assert_eq!(statuses(&r), vec![(1, S::DecryptOnly), (2, S::Primary)]);
            r.check_can_encrypt().unwrap();
        }
        // Now changes work, and a second upgrade does nothing.
        ring.add_key(false).unwrap();
        let again = ring.upgrade(&[], &[], Rotation::Rotate).unwrap();
        assert!(!again.upgraded && again.from_format == 3);
    }
}

#[test]
fn upgrade_can_remove_protectors_and_keep_the_primary() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rk) = old_ring(&dir, 2);
    let mut ring = Keyring::open(&path, &unlock_pass("passphrase B")).unwrap();
    let old_master = SecretKey::from_slice(ring.master.expose()).unwrap();
    let done = ring.upgrade(&[], &[1, 3], Rotation::KeepPrimary).unwrap();
    assert_eq!((done.removed, done.new_primary), (vec![1, 3], None));
    assert_eq!(statuses(&ring), vec![(1, S::Primary)]);
    assert_ne!(ring.master.expose(), old_master.expose());
    assert!(matches!(
        Keyring::open(&path, &unlock_pass(PASS)),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        Keyring::open(&path, &Unlock::RecoveryKey(rk)),
        Err(Error::WrongRecoveryKey)
    ));
    Keyring::open(&path, &unlock_pass("passphrase B")).unwrap();
}

/// A handle of the old format follows an upgrade made by another process
/// (its protector's secret is unchanged), and refuses the older file if
/// someone puts it back.
#[test]
fn handles_follow_an_upgrade_and_refuse_the_old_file_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rk) = old_ring(&dir, 2);
    let old_bytes = fs::read(&path).unwrap();
    let mut other = Keyring::open(&path, &Unlock::RecoveryKey(rk)).unwrap();
    let mut ring = Keyring::open(&path, &unlock_pass(PASS)).unwrap();
    ring.upgrade(&[unlock_pass("passphrase B")], &[3], Rotation::Rotate)
        .unwrap();
    assert!(matches!(other.reload(), Err(Error::WrongRecoveryKey)));
    let mut by_b = Keyring::open(&path, &unlock_pass("passphrase B")).unwrap();
    fs::write(&path, &old_bytes).unwrap();
    assert!(matches!(
        by_b.reload(),
        Err(Error::KeyringDowngraded { seen: 3, found: 2 })
    ));
    assert!(matches!(
        ring.add_key(true),
        Err(Error::KeyringDowngraded { seen: 3, found: 2 })
    ));
}

#[test]
fn older_worked_examples_upgrade() {
    use super::example as ex;
    for (format, hex_path) in [(1u8, EXAMPLE_V1_HEX), (2, EXAMPLE_V2_HEX)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("example.keyring");
        fs::write(&path, read_hex(hex_path)).unwrap();
        let mut ring = Keyring::open(&path, &Unlock::RecoveryKey(ex::recovery_key())).unwrap();
        assert_eq!(ring.master.expose(), ex::master().expose());
        assert_eq!((ring.format_version(), ring.primary_version()), (format, 4));
        let done = ring
            .upgrade(&[Unlock::Passphrase(ex::passphrase())], &[], Rotation::Rotate)
            .unwrap();
        assert_eq!(done.new_primary, Some(5));
        let by_pass = Keyring::open(&path, &Unlock::Passphrase(ex::passphrase())).unwrap();
        assert_eq!(by_pass.versions(), ring.versions());
        assert_eq!(by_pass.format_version(), 3);
        // The old versions keep their secrets.
        assert_eq!(
            hex::encode(
                by_pass
                    .purpose_key(3, Purpose::Field, KeyUse::Decrypt)
                    .unwrap()
                    .expose()
            ),
            EXAMPLE_V3_FIELD_KEY
        );
    }
}

// ---------------------------------------------------------------- seen record

#[test]
fn the_seen_record_refuses_rollback_and_downgrade() {
    use super::example as ex;
    let dir = tempfile::tempdir().unwrap();
    let record = SeenRecord::new(dir.path().join("state/keyrings-seen"));
    let options = KeyringOptions::new().seen_record(record.clone());
    // The format-3 and format-2 examples share their keyring id.
    let v3 = dir.path().join("example.keyring");
    fs::write(&v3, read_hex(EXAMPLE_HEX)).unwrap();
    let v2 = dir.path().join("example-v2.keyring");
    fs::write(&v2, read_hex(EXAMPLE_V2_HEX)).unwrap();
    let unlock = Unlock::RecoveryKey(ex::recovery_key());

    // An older format is not recorded (it proves nothing) ...
    Keyring::open_with(&v2, &unlock, &options).unwrap();
    assert_eq!(record.get(&ex::keyring_id()).unwrap(), None);
    // ... a format-3 state is, and from then on the format-2 file is a
    // downgrade, refused before any unlocking work.
    let mut ring = Keyring::open_with(&v3, &unlock, &options).unwrap();
    assert_eq!(
        record.get(&ex::keyring_id()).unwrap(),
        Some(Seen {
            format: 3,
            generation: 5
        })
    );
    assert!(matches!(
        Keyring::open_with(
            &v2,
            &Unlock::Passphrase(Passphrase::from("not even tried")),
            &options
        ),
        Err(Error::KeyringDowngraded { seen: 3, found: 2 })
    ));
    // Without the record, the library still opens it (opt-in).
    Keyring::open(&v2, &unlock).unwrap();

    // Every save raises the record; an old copy is then refused.
    let old = fs::read(&v3).unwrap();
    ring.add_key(true).unwrap();
    assert_eq!(record.get(&ex::keyring_id()).unwrap().unwrap().generation, 6);
    fs::write(&v3, &old).unwrap();
    assert!(matches!(
        Keyring::open_with(&v3, &unlock, &options),
        Err(Error::KeyringRolledBack { seen: 6, found: 5 })
    ));
    // A fresh handle opened without the record, given it later, checks
    // and records when it reloads.
    let mut plain = Keyring::open(&v3, &unlock).unwrap();
    plain.set_seen_record(Some(record.clone()));
    assert!(matches!(
        plain.reload(),
        Err(Error::KeyringRolledBack { seen: 6, found: 5 })
    ));
}

#[test]
fn a_new_keyring_is_recorded_and_handles_check_on_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let record = SeenRecord::new(dir.path().join("keyrings-seen"));
    let options = KeyringOptions::new().seen_record(record.clone());
    let path = dir.path().join("k.keyring");
    let mut a = Keyring::create_with(&path, &pass(), FAST, &options).unwrap();
    assert_eq!(record.get(&a.id()).unwrap().unwrap().generation, 1);
    let mut b = Keyring::open_with(&path, &unlock_pass(PASS), &options).unwrap();
    a.add_key(false).unwrap();
    let snapshot = fs::read(&path).unwrap();
    b.add_key(false).unwrap();
    assert_eq!(record.get(&a.id()).unwrap().unwrap().generation, 3);
    // The file goes back to generation 2: a handle that only saw
    // generation 2 itself would accept it, but the record refuses.
    fs::write(&path, &snapshot).unwrap();
    a.set_lock_timeout(std::time::Duration::from_secs(1));
    assert!(matches!(
        a.add_key(false),
        Err(Error::KeyringRolledBack { seen: 3, found: 2 })
    ));
    assert_eq!(fs::read(&path).unwrap(), snapshot);
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
    let auth = SecretKey::random();
    let extra = Stanza::enroll(
        &header.id,
        header.next_protector_id,
        0,
        Kind::Passphrase {
            params: heavy,
            salt: [0; 16],
        },
        &kek,
        &auth,
        [0; 12],
    )
    .sealed(&header.id, &ring.master, &auth)
    .unwrap();
    let mut table = auth_copy(&ring);
    table.set(header.next_protector_id, auth);
    header.next_protector_id += 1;
    header.stanzas.push(extra);
    let body = Body {
        auth: table,
        versions: Versions(vec![VersionEntry::new(1, S::Primary, 1)]),
    };
    let crafted = format::encode(&header, &body, &ring.master).unwrap();
    let is_cap = |e: &Error| matches!(e, Error::Malformed { what: "keyring", detail } if detail.contains("5 passphrase protectors"));
    assert!(is_cap(&format::parse(&crafted).err().unwrap()));
    fs::write(&path, &crafted).unwrap();
    assert!(is_cap(&Keyring::open(&path, &unlock_pass("wrong")).unwrap_err()));
    assert!(is_cap(&Keyring::peek_id(&path).unwrap_err()));
}
