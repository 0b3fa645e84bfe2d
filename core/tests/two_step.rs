//! Two-step decryption: read the header, see who can open the file, then
//! decrypt with the chosen identities (streaming and random access).

use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use strongroom::file::{EncryptedFile, Encryptor, Identity, Recipient, StanzaInfo};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;
use strongroom::{Error, Passphrase};

const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};

fn encrypted(plain: &[u8], recipients: &[Recipient<'_>]) -> Vec<u8> {
    let mut enc = Encryptor::new(Vec::new(), recipients).unwrap();
    enc.write_all(plain).unwrap();
    let info = enc.info().clone();
    let out = enc.finish().unwrap();
    assert_eq!(
        info.header_len as usize,
        out.len() - strongroom::hazmat::chunked::ciphertext_len(plain.len() as u64).unwrap() as usize
    );
    out
}

#[test]
fn header_first_then_the_chosen_identity() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::create(&dir.path().join("k.srk"), &Passphrase::from("ring pass"), FAST).unwrap();
    let escrow = Passphrase::from("escrow pass");
    let plain: Vec<u8> = (0..40_000u32).map(|i| (i % 253) as u8).collect();
    let file = encrypted(
        &plain,
        &[Recipient::Keyring(&ring), Recipient::Passphrase(&escrow, FAST)],
    );

    // Step one: the header, from a pipe-like reader (no seeking).
    let opened = EncryptedFile::open(&file[..]).unwrap();
    let info = opened.info();
    assert_eq!(info.payload_len, None, "a stream's length is unknown");
    assert_eq!(info.stanzas.len(), 2);
    assert!(matches!(
        info.stanzas[0],
        StanzaInfo::Keyring { keyring_id, key_version: 1 } if keyring_id == ring.id()
    ));
    assert!(matches!(info.stanzas[1], StanzaInfo::Passphrase { params } if params == FAST));

    // Step two: the identity the caller chose.
    let mut dec = opened.decrypt(&[Identity::Passphrase(&escrow)]).unwrap();
    let mut out = Vec::new();
    dec.read_to_end(&mut out).unwrap();
    assert_eq!(out, plain);
    assert_eq!(dec.info().stanzas.len(), 2);

    // Seekable: the payload is measured, and random access works.
    let opened = EncryptedFile::open_seekable(Cursor::new(file.clone())).unwrap();
    assert_eq!(opened.info().plaintext_len, Some(plain.len() as u64));
    let mut seek = opened.decrypt_seekable(&[Identity::Keyring(&ring)]).unwrap();
    seek.seek(SeekFrom::Start(20_000)).unwrap();
    let mut part = [0u8; 100];
    seek.read_exact(&mut part).unwrap();
    assert_eq!(&part[..], &plain[20_000..20_100]);
    assert_eq!(seek.authenticated_len().unwrap(), plain.len() as u64);
}

#[test]
fn the_wrong_identity_fails_in_step_two_and_garbage_in_step_one() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::create(&dir.path().join("k.srk"), &Passphrase::from("ring pass"), FAST).unwrap();
    let file = encrypted(b"secret", &[Recipient::Keyring(&ring)]);
    let opened = EncryptedFile::open(&file[..]).unwrap();
    let err = opened
        .decrypt(&[Identity::Passphrase(&Passphrase::from("guess"))])
        .err()
        .unwrap();
    assert!(matches!(err, Error::NoMatchingKey { .. }), "{err}");

    let err = EncryptedFile::open(&b"not a strongroom file at all"[..])
        .err()
        .unwrap();
    assert!(matches!(err, Error::BadMagic { .. }), "{err}");
    let err = EncryptedFile::open(&file[..20]).err().unwrap();
    assert!(matches!(err, Error::Truncated(_)), "{err}");
}
