//! Fork safety, with a real `fork()`: a parent that has used every parallel
//! path (chunk sealing and opening, field batches, Argon2id lanes, and
//! rayon's global pool as a host program might) forks, and the child runs
//! the same operations to completion. A child that hangs is killed and the
//! test fails. Random nonces and salts drawn after the fork differ between
//! parent and child.
//!
//! This file holds a single test so that no other test thread is running
//! strongroom code at the moment of the fork.
#![allow(unsafe_code)]

use rayon::prelude::*;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use strongroom::Passphrase;
use strongroom::SecretKey;
use strongroom::field::{ColumnSpec, FieldCipher, PurposeKeys, Value, ValueType};
use strongroom::file::{FileOptions, Identity, Recipient, decrypt_file, encrypt_file};
use strongroom::hazmat::chunked::{ChunkedReader, ChunkedWriter, SALT_LEN};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;

const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 4,
};
/// Big enough for many parallel batches of 16 KiB chunks.
const FILE_LEN: usize = 6 * 1024 * 1024 + 777;
/// More values than one batch chunk (1 024), so batches go parallel.
const BATCH_LEN: usize = 5000;
/// How long the child may take before it counts as hung.
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[1])
        .collect()
}

fn cipher() -> FieldCipher {
    let keys = PurposeKeys {
        field: SecretKey::from_array([7; 32]),
        deterministic: SecretKey::from_array([8; 32]),
        blind_index: SecretKey::from_array([9; 32]),
    };
    FieldCipher::with_keys("t", "c", ColumnSpec::new(ValueType::Bytes), 1, vec![(1, keys)]).unwrap()
}

/// One random-mode field token (its nonce comes from the fast per-thread
/// generator) followed by one chunked-message salt (from the OS).
fn fresh_randomness(c: &FieldCipher) -> Vec<u8> {
    let mut out = c
        .encrypt(Some(&Value::Bytes(b"same value".to_vec())), Some(b"row"))
        .unwrap()
        .unwrap()
        .as_bytes()
        .to_vec();
    let w = ChunkedWriter::new(Vec::new(), &[1; 32], b"fork").unwrap();
    let message = w.finish().unwrap();
    out.extend_from_slice(&message[..SALT_LEN]);
    out
}

/// Every parallel operation of the crate, checked for correct results.
fn parallel_work(dir: &Path, tag: &str) {
    // Whole-file encryption and decryption through a keyring (Argon2id
    // with four lanes to open it) and a passphrase stanza.
    let ring = Keyring::create(
        &dir.join(format!("{tag}.srk")),
        &Passphrase::from("fork test"),
        FAST,
    )
    .unwrap();
    let plain = data(FILE_LEN);
    let src = dir.join(format!("{tag}.bin"));
    fs::write(&src, &plain).unwrap();
    let enc = dir.join(format!("{tag}.srf"));
    let pass = Passphrase::from("escrow");
    encrypt_file(
        &src,
        &enc,
        &[Recipient::Keyring(&ring), Recipient::Passphrase(&pass, FAST)],
        &FileOptions::default(),
    )
    .unwrap();
    let out = dir.join(format!("{tag}.out"));
    let n = decrypt_file(
        &enc,
        &out,
        &[Identity::Passphrase(&pass)],
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(n, plain.len() as u64);
    assert!(fs::read(&out).unwrap() == plain, "decrypted file differs");

    // Streaming types.
    let mut w = ChunkedWriter::new(Vec::new(), &[3; 32], b"ctx").unwrap();
    w.write_all(&plain).unwrap();
    let message = w.finish().unwrap();
    let mut back = Vec::new();
    std::io::Read::read_to_end(
        &mut ChunkedReader::new(&message[..], &[3; 32], b"ctx").unwrap(),
        &mut back,
    )
    .unwrap();
    assert!(back == plain, "chunked round trip differs");

    // A field batch.
    let c = cipher();
    let values: Vec<Option<Value>> = (0..BATCH_LEN)
        .map(|i| Some(Value::Bytes(i.to_be_bytes().to_vec())))
        .collect();
    let tokens = c.encrypt_batch(&values, None).unwrap();
    let bytes: Vec<Option<Vec<u8>>> = tokens
        .iter()
        .map(|t| Some(t.as_ref().unwrap().as_bytes().to_vec()))
        .collect();
    let decrypted = c.decrypt_batch(&bytes, None).unwrap();
    assert_eq!(decrypted.len(), values.len());
    for (got, want) in decrypted.into_iter().zip(&values) {
        assert!(got.unwrap() == *want, "field batch round trip differs");
    }

    // Argon2id on its own, four lanes in parallel, against the same
    // derivation with its lanes run one after another.
    let parallel = FAST.derive(&Passphrase::from("argon"), &[5; 16]).unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let serial = one.install(|| FAST.derive(&Passphrase::from("argon"), &[5; 16]).unwrap());
    assert_eq!(parallel.dangerous_expose_bytes(), serial.dangerous_expose_bytes());
}

fn wait_with_timeout(pid: libc::pid_t) -> libc::c_int {
    let start = Instant::now();
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid on our own child with a valid pointer to a local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid failed: {}", std::io::Error::last_os_error());
        if r == pid {
            return status;
        }
        if start.elapsed() > CHILD_TIMEOUT {
            // SAFETY: kill and reap our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the forked child hung for {CHILD_TIMEOUT:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_operation_works_in_a_forked_child() {
    let dir = tempfile::tempdir().unwrap();
    let c = cipher();

    // The parent uses every parallel path first, so all the pools exist
    // (with threads) when it forks, and rayon's global pool too.
    parallel_work(dir.path(), "parent");
    let sum: u64 = (0..100_000u64).into_par_iter().sum();
    assert_eq!(sum, 100_000 * 99_999 / 2);
    // This thread's fast generator is seeded before the fork: without a
    // reseed the child would repeat the parent's nonces.
    let _ = fresh_randomness(&c);

    let child_out = dir.path().join("child-randomness");
    // SAFETY: the child only runs Rust code that takes no lock held by
    // another parent thread at the fork (the crate's own pool lock is never
    // held across work, and is waited on with a deadline), and it leaves
    // with `_exit` without running the test harness any further.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let randomness = fresh_randomness(&c);
            parallel_work(dir.path(), "child");
            fs::write(&child_out, randomness).unwrap();
        }))
        .is_ok();
        // SAFETY: ends the child at once, with no atexit handlers or
        // destructors of the parent's state.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }

    let parent_randomness = fresh_randomness(&c);
    let status = wait_with_timeout(pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (wait status {status:#x})"
    );
    let child_randomness = fs::read(&child_out).unwrap();
    assert_eq!(child_randomness.len(), parent_randomness.len());
    let token_len = child_randomness.len() - SALT_LEN;
    assert_ne!(
        child_randomness[..token_len],
        parent_randomness[..token_len],
        "parent and child drew the same field nonce after the fork"
    );
    assert_ne!(
        child_randomness[token_len..],
        parent_randomness[token_len..],
        "parent and child drew the same salt after the fork"
    );

    // The parent still works after the fork.
    parallel_work(dir.path(), "after");
}
