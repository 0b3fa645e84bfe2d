//! Checks every file of testdata/testkit against its expected outcome,
//! through the streaming reader, the seekable reader and `decrypt_file`.

use sha2::{Digest, Sha256};
use std::io::{Cursor, Read};
use std::path::PathBuf;
use strongroom::file::{Decryptor, FileOptions, Identity, SeekableDecryptor, decrypt_file};
use strongroom::keyring::{Keyring, Unlock};
use strongroom::{Error, Passphrase};
use strongroom_testkit::{FILE_PASSPHRASE, KEYRING_PASSPHRASE, Manifest, Opener, error_name, plaintext};

fn kit() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/testkit")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(kit().join("manifest.json")).expect("testdata/testkit/manifest.json");
    serde_json::from_str(&text).unwrap()
}

struct Openers {
    keyring: Keyring,
    other: Keyring,
    pass: Passphrase,
    wrong: Passphrase,
}

impl Openers {
    fn load() -> Self {
        let unlock = Unlock::Passphrase(Passphrase::from(KEYRING_PASSPHRASE));
        // Open copies: opening never writes, but keep the committed files pristine regardless.
        Self {
            keyring: Keyring::open(&kit().join("keyring.srk"), &unlock).unwrap(),
            other: Keyring::open(&kit().join("other.srk"), &unlock).unwrap(),
            pass: Passphrase::from(FILE_PASSPHRASE),
            wrong: Passphrase::from("not the testkit passphrase"),
        }
    }

    fn identity(&self, o: Opener) -> Identity<'_> {
        match o {
            Opener::Keyring => Identity::Keyring(&self.keyring),
            Opener::OtherKeyring => Identity::Keyring(&self.other),
            Opener::Passphrase => Identity::Passphrase(&self.pass),
            Opener::WrongPassphrase => Identity::Passphrase(&self.wrong),
        }
    }
}

fn outcome<T>(r: Result<T, Error>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => error_name(&e),
    }
}

#[test]
fn manifest_matches_plaintext_and_has_every_region() {
    let m = manifest();
    assert_eq!(m.plaintext_len, plaintext().len());
    assert_eq!(m.plaintext_sha256, hex::encode(Sha256::digest(plaintext())));
    let names: Vec<&str> = m.cases.iter().map(|c| c.file.as_str()).collect();
    for required in [
        "flip_magic",
        "flip_version",
        "flip_file_id",
        "flip_stanza_wrapped_key",
        "flip_header_mac",
        "flip_payload_salt",
        "flip_payload_commitment",
        "flip_chunk0_body",
        "flip_chunk0_tag",
        "flip_final_tag",
        "trunc_after_chunk0",
        "swap_chunks",
        "duplicate_chunk",
        "trailing_garbage",
        "wrong_keyring",
        "wrong_passphrase",
        "kdf_memory_100gib",
        "unknown_version",
    ] {
        assert!(
            names.contains(&format!("{required}.srf").as_str()),
            "testkit lacks {required}"
        );
    }
    assert!(m.cases.len() >= 50, "{} cases", m.cases.len());
}

#[test]
fn streaming_reader() {
    let o = Openers::load();
    let plain = plaintext();
    for case in manifest().cases {
        let bytes = std::fs::read(kit().join(&case.file)).unwrap();
        let id = [o.identity(case.opener)];
        let mut released = Vec::new();
        let result = Decryptor::new(&bytes[..], &id)
            .and_then(|mut d| d.read_to_end(&mut released).map_err(strongroom::error::from_io));
        assert_eq!(
            outcome(result),
            case.expect,
            "{}: {}",
            case.file,
            case.description
        );
        if case.expect == "ok" {
            assert_eq!(released, plain, "{}", case.file);
        } else {
            assert!(
                case.partial_plaintext || released.is_empty(),
                "{}: released {} bytes",
                case.file,
                released.len()
            );
            assert_eq!(
                released,
                plain[..released.len()],
                "{}: released bytes are not a prefix",
                case.file
            );
        }
    }
}

#[test]
fn seekable_reader() {
    let o = Openers::load();
    for case in manifest().cases {
        let bytes = std::fs::read(kit().join(&case.file)).unwrap();
        let id = [o.identity(case.opener)];
        let mut out = Vec::new();
        let result = SeekableDecryptor::new(Cursor::new(&bytes), &id)
            .and_then(|mut d| d.read_to_end(&mut out).map_err(strongroom::error::from_io));
        assert_eq!(
            outcome(result),
            case.expect,
            "{}: {}",
            case.file,
            case.description
        );
    }
}

#[test]
fn decrypt_file_leaves_nothing_on_error() {
    let o = Openers::load();
    let dir = tempfile::tempdir().unwrap();
    for case in manifest().cases {
        let src = kit().join(&case.file);
        let before = std::fs::read(&src).unwrap();
        let dst = dir.path().join("out");
        let result = decrypt_file(&src, &dst, &[o.identity(case.opener)], &FileOptions::default());
        assert_eq!(outcome(result), case.expect, "{}", case.file);
        assert_eq!(
            std::fs::read(&src).unwrap(),
            before,
            "{}: source changed",
            case.file
        );
        if case.expect == "ok" {
            assert_eq!(std::fs::read(&dst).unwrap(), plaintext());
            std::fs::remove_file(&dst).unwrap();
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{}: left {left:?}", case.file);
    }
}
