//! Thread safety: `Keyring`, `FieldCipher` and the stream types are `Send`
//! and `Sync` as documented, and one keyring and one field cipher serve 8
//! threads at once, with keyring updates serialised by a lock.

use std::io::{Cursor, Read, Write};
use std::sync::{Arc, Barrier, RwLock};
use std::thread;
use strongroom::field::{ColumnSpec, FieldCipher, Value, ValueType};
use strongroom::file::{Decryptor, Encryptor, Identity, Recipient, SeekableDecryptor};
use strongroom::keyring::{KeyUse, Keyring, Purpose};
use strongroom::passphrase::KdfParams;
use strongroom::{Error, Passphrase};

const THREADS: usize = 8;

fn fast_params() -> KdfParams {
    KdfParams {
        memory_kib: 8192,
        iterations: 1,
        parallelism: 1,
    }
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn the_documented_types_are_send_and_sync() {
    assert_send_sync::<Keyring>();
    assert_send_sync::<FieldCipher>();
    assert_send_sync::<Error>();
    assert_send_sync::<Encryptor<Vec<u8>>>();
    assert_send_sync::<Decryptor<Cursor<Vec<u8>>>>();
    assert_send_sync::<SeekableDecryptor<Cursor<Vec<u8>>>>();
    assert_send::<Encryptor<std::fs::File>>();
}

#[test]
fn one_keyring_and_one_cipher_serve_eight_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.srk");
    let keyring = Keyring::create(&path, &Passphrase::from("threads passphrase"), fast_params()).unwrap();
    let cipher =
        Arc::new(FieldCipher::new(&keyring, "people", "email", ColumnSpec::new(ValueType::Text)).unwrap());
    let keyring = Arc::new(RwLock::new(keyring));
    let start = Arc::new(Barrier::new(THREADS));

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (keyring, cipher, start) = (keyring.clone(), cipher.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut tokens = Vec::new();
                for i in 0..50 {
                    // The field cipher, shared as is.
                    let value = Value::Text(format!("user{t}-{i}@example.com"));
                    let row = format!("{t}:{i}");
                    let token = cipher
                        .encrypt(Some(&value), Some(row.as_bytes()))
                        .unwrap()
                        .unwrap();
                    let back = cipher.decrypt(token.as_bytes(), Some(row.as_bytes())).unwrap();
                    assert_eq!(back, Some(value));
                    tokens.push(token);

                    if t == 0 && i % 10 == 0 {
                        // Updates are serialised by the write lock.
                        let mut ring = keyring.write().unwrap();
                        let v = ring.add_key(false).unwrap();
                        assert!(v >= 2);
                    } else {
                        // Readers share the keyring: a purpose key and a
                        // whole file encrypted to it and decrypted back.
                        let ring = keyring.read().unwrap();
                        let primary = ring.primary_version();
                        ring.purpose_key(primary, Purpose::Field, KeyUse::Encrypt)
                            .unwrap();
                        let plain = vec![t as u8; 20_000 + i];
                        let mut enc = Encryptor::new(Vec::new(), &[Recipient::Keyring(&ring)]).unwrap();
                        enc.write_all(&plain).unwrap();
                        let file = enc.finish().unwrap();
                        let mut dec = Decryptor::new(Cursor::new(file), &[Identity::Keyring(&ring)]).unwrap();
                        let mut out = Vec::new();
                        dec.read_to_end(&mut out).unwrap();
                        assert_eq!(out, plain);
                    }
                }
                tokens
            })
        })
        .collect();
    let tokens: Vec<_> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();

    // Every token made by any thread is distinct and still decrypts.
    let mut seen = std::collections::HashSet::new();
    for token in &tokens {
        assert!(
            seen.insert(token.as_bytes().to_vec()),
            "two threads produced the same token"
        );
    }
    assert_eq!(seen.len(), THREADS * 50);
    // The serialised updates all landed, in memory and on disk.
    let ring = keyring.read().unwrap();
    assert_eq!(ring.versions().len(), 1 + 5);
    let reopened = Keyring::open(
        &path,
        &strongroom::keyring::Unlock::Passphrase(Passphrase::from("threads passphrase")),
    )
    .unwrap();
    assert_eq!(reopened.versions().len(), 1 + 5);
}
