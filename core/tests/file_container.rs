//! The file container end to end: round trips at every chunk boundary,
//! recipients, rewrap, atomic output, progress and cancellation, and one
//! stream larger than 4 GiB.

mod common;

use std::fs;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use strongroom::file::{
    Decryptor, Encryptor, FileOptions, Identity, PushDecryptor, Recipient, Rewrap, SeekableDecryptor,
    StanzaInfo, decrypt_file, decrypt_in_place, encrypt_file, inspect, inspect_path, rewrap_file,
};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;
use strongroom::{Error, Passphrase};

/// Cheap Argon2id parameters (the floor) to keep tests fast.
const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_be_bytes()[1] ^ seed)
        .collect()
}

fn encrypt_bytes(plain: &[u8], recipients: &[Recipient<'_>]) -> Vec<u8> {
    let mut enc = Encryptor::new(Vec::new(), recipients).unwrap();
    enc.write_all(plain).unwrap();
    enc.finish().unwrap()
}

fn decrypt_bytes(ct: &[u8], identities: &[Identity<'_>]) -> Result<Vec<u8>, Error> {
    let mut dec = Decryptor::new(ct, identities)?;
    let mut out = Vec::new();
    dec.read_to_end(&mut out).map_err(strongroom::error::from_io)?;
    Ok(out)
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn new_keyring(dir: &Path) -> Keyring {
    Keyring::create(&dir.join("keys.srk"), &Passphrase::from("keyring pass"), FAST).unwrap()
}

#[test]
fn round_trips_at_chunk_boundaries() {
    let pass = Passphrase::from("correct horse");
    let sizes = [
        0usize,
        1,
        15,
        16,
        16383,
        16384,
        16385,
        32767,
        32768,
        32769,
        49152,
        100_000,
        5 * 16384 + 7,
    ];
    for &n in &sizes {
        let plain = data(n, n as u8);
        let ct = encrypt_bytes(&plain, &[Recipient::Passphrase(&pass, FAST)]);
        let id = [Identity::Passphrase(&pass)];
        assert_eq!(decrypt_bytes(&ct, &id).unwrap(), plain, "streaming, {n} bytes");
        let mut seek = SeekableDecryptor::new(Cursor::new(&ct), &id).unwrap();
        assert_eq!(seek.authenticated_len().unwrap(), n as u64);
        let mut all = Vec::new();
        seek.seek(SeekFrom::Start(0)).unwrap();
        seek.read_to_end(&mut all).unwrap();
        assert_eq!(all, plain, "seekable, {n} bytes");
        if n > 10 {
            seek.seek(SeekFrom::End(-10)).unwrap();
            let mut tail = [0u8; 10];
            seek.read_exact(&mut tail).unwrap();
            assert_eq!(tail, plain[n - 10..]);
        }
        let info = inspect(Cursor::new(&ct)).unwrap();
        assert_eq!(info.plaintext_len, Some(n as u64));

        let mut in_place = ct.clone();
        assert_eq!(
            decrypt_in_place(&mut in_place, &id).unwrap(),
            &plain[..],
            "in place, {n} bytes"
        );
        let mut enc = Encryptor::new(Vec::new(), &[Recipient::Passphrase(&pass, FAST)]).unwrap();
        let (head, tail) = plain.split_at(n / 3);
        enc.write_in_place(&mut head.to_vec()).unwrap();
        enc.write_in_place(&mut tail.to_vec()).unwrap();
        let sealed_in_place = enc.finish().unwrap();
        assert_eq!(
            decrypt_bytes(&sealed_in_place, &id).unwrap(),
            plain,
            "sealed in place, {n} bytes"
        );
    }
}

#[test]
fn push_decryption_in_any_pieces() {
    let pass = Passphrase::from("correct horse");
    let id = [Identity::Passphrase(&pass)];
    for n in [0usize, 1, 16384, 3 * 16384 + 5] {
        let plain = data(n, 3);
        let ct = encrypt_bytes(&plain, &[Recipient::Passphrase(&pass, FAST)]);
        for piece in [1usize, 7, 300, 16400, 1 << 20] {
            let mut dec = PushDecryptor::new();
            let mut out = Vec::new();
            for part in ct.chunks(piece) {
                let bound = dec.output_bound(part.len());
                let before = out.len();
                dec.update(part, &id, &mut out).unwrap();
                assert!(out.len() - before <= bound, "bound, {n} bytes in {piece}");
            }
            assert!(dec.info().is_some(), "header read");
            dec.finish(&mut out).unwrap();
            assert!(out == plain, "{n} bytes in pieces of {piece}");
        }
    }
    let ct = encrypt_bytes(&data(40_000, 4), &[Recipient::Passphrase(&pass, FAST)]);
    let wrong = Passphrase::from("wrong");
    let mut dec = PushDecryptor::new();
    let err = dec
        .update(&ct, &[Identity::Passphrase(&wrong)], &mut Vec::new())
        .unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err}");
    assert!(matches!(
        dec.update(b"x", &id, &mut Vec::new()),
        Err(Error::InvalidArgument(_))
    ));
    let mut dec = PushDecryptor::new();
    dec.update(&ct[..20], &id, &mut Vec::new()).unwrap();
    let err = dec.finish(&mut Vec::new()).unwrap_err();
    assert!(matches!(err, Error::Truncated(_)), "{err}");
    let mut tampered = ct.clone();
    let at = tampered.len() - 30_000;
    tampered[at] ^= 1;
    let mut dec = PushDecryptor::new();
    let mut out = Vec::new();
    let err = dec.update(&tampered, &id, &mut out).unwrap_err();
    assert!(matches!(err, Error::ChunkAuthFailed { .. }), "{err}");
    assert!(out.is_empty(), "a failed update releases nothing");
}

#[test]
fn in_place_decryption_errors() {
    let pass = Passphrase::from("correct horse");
    let plain = data(3 * 16384 + 5, 1);
    let ct = encrypt_bytes(&plain, &[Recipient::Passphrase(&pass, FAST)]);
    let wrong = Passphrase::from("wrong");
    let err = decrypt_in_place(&mut ct.clone(), &[Identity::Passphrase(&wrong)]).unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err}");
    let mut tampered = ct.clone();
    let at = tampered.len() - 21 - 100; // in chunk 2, before the 21-byte final chunk
    tampered[at] ^= 1;
    let err = decrypt_in_place(&mut tampered, &[Identity::Passphrase(&pass)]).unwrap_err();
    assert!(matches!(err, Error::ChunkAuthFailed { index: 2 }), "{err}");
    let payload_start = ct.len() - (3 * 16400 + 5 + 16 + 56);
    assert!(
        tampered[payload_start..].iter().all(|&b| b == 0),
        "payload not wiped"
    );
    let err = decrypt_in_place(&mut ct[..40].to_vec(), &[Identity::Passphrase(&pass)]).unwrap_err();
    assert!(matches!(err, Error::Truncated(_)), "{err}");
}

#[test]
fn whole_file_round_trip_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let kr = new_keyring(dir.path());
    let escrow = Passphrase::from("escrow passphrase");
    let src = dir.path().join("plain.bin");
    let plain = data(3 * 1024 * 1024 + 12345, 7);
    fs::write(&src, &plain).unwrap();
    let enc = dir.path().join("plain.bin.srf");
    let info = encrypt_file(
        &src,
        &enc,
        &[Recipient::Keyring(&kr), Recipient::Passphrase(&escrow, FAST)],
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(info.plaintext_len, Some(plain.len() as u64));
    assert_eq!(info.stanzas.len(), 2);
    assert!(matches!(
        info.stanzas[0],
        StanzaInfo::Keyring { key_version: 1, .. }
    ));
    assert!(matches!(info.stanzas[1], StanzaInfo::Passphrase { params } if params == FAST));
    assert_eq!(inspect_path(&enc).unwrap(), info);
    for (name, id) in [
        ("keyring", Identity::Keyring(&kr)),
        ("escrow", Identity::Passphrase(&escrow)),
    ] {
        let out = dir.path().join(format!("out-{name}"));
        let n = decrypt_file(&enc, &out, &[id], &FileOptions::default()).unwrap();
        assert_eq!(n, plain.len() as u64);
        assert_eq!(fs::read(&out).unwrap(), plain);
    }
}

#[test]
fn wrong_keys_give_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let kr = new_keyring(dir.path());
    let other_dir = tempfile::tempdir().unwrap();
    let other = new_keyring(other_dir.path());
    let pass = Passphrase::from("right");
    let ct = encrypt_bytes(b"secret", &[Recipient::Keyring(&kr)]);
    assert!(matches!(
        decrypt_bytes(&ct, &[Identity::Keyring(&other)]),
        Err(Error::WrongKeyring)
    ));
    assert!(matches!(
        decrypt_bytes(&ct, &[Identity::Passphrase(&pass)]),
        Err(Error::NoMatchingKey { .. })
    ));
    let ct = encrypt_bytes(b"secret", &[Recipient::Passphrase(&pass, FAST)]);
    assert!(matches!(
        decrypt_bytes(&ct, &[Identity::Passphrase(&Passphrase::from("wrong"))]),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(decrypt_bytes(&ct, &[]), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        Encryptor::new(Vec::new(), &[]),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn rewrap_keeps_payload_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut kr = new_keyring(dir.path());
    let path = dir.path().join("doc.srf");
    let plain = data(70_000, 3);
    fs::write(&path, encrypt_bytes(&plain, &[Recipient::Keyring(&kr)])).unwrap();
    let payload = |p: &Path| {
        let info = inspect_path(p).unwrap();
        fs::read(p).unwrap()[info.header_len as usize..].to_vec()
    };
    let before = payload(&path);

    // Rotate: new primary version, rewrap to it, retire the old one.
    let v2 = kr.add_key(true).unwrap();
    let info = rewrap_file(
        &path,
        &[Identity::Keyring(&kr)],
        &Rewrap::new().to_primary(&kr),
        &FileOptions::default(),
    )
    .unwrap();
    assert!(matches!(info.stanzas[..], [StanzaInfo::Keyring { key_version, .. }] if key_version == v2));
    assert_eq!(
        payload(&path),
        before,
        "payload must be byte-identical after rewrap"
    );
    kr.disable(1).unwrap();
    assert_eq!(
        decrypt_bytes(&fs::read(&path).unwrap(), &[Identity::Keyring(&kr)]).unwrap(),
        plain
    );

    // Add, then remove, an escrow passphrase.
    let escrow = Passphrase::from("escrow");
    rewrap_file(
        &path,
        &[Identity::Keyring(&kr)],
        &Rewrap::new().add_passphrase(&escrow, FAST),
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(payload(&path), before);
    assert_eq!(
        decrypt_bytes(&fs::read(&path).unwrap(), &[Identity::Passphrase(&escrow)]).unwrap(),
        plain
    );
    let wrong = Passphrase::from("not the escrow");
    let err = rewrap_file(
        &path,
        &[Identity::Keyring(&kr)],
        &Rewrap::new().remove_passphrase(&wrong),
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err}");
    rewrap_file(
        &path,
        &[Identity::Keyring(&kr)],
        &Rewrap::new().remove_passphrase(&escrow),
        &FileOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        decrypt_bytes(&fs::read(&path).unwrap(), &[Identity::Passphrase(&escrow)]),
        Err(Error::NoMatchingKey { .. })
    ));
    assert_eq!(payload(&path), before);

    // Removing the last way in is refused and changes nothing.
    let snapshot = fs::read(&path).unwrap();
    let err = rewrap_file(
        &path,
        &[Identity::Keyring(&kr)],
        &Rewrap::new().remove_keyrings(true),
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert_eq!(fs::read(&path).unwrap(), snapshot);
    assert!(
        dir_names(dir.path()).iter().all(|n| !n.ends_with(".tmp")),
        "no temporary file left"
    );
}

#[test]
fn failed_decrypt_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let src = dir.path().join("in.srf");
    let mut ct = encrypt_bytes(&data(100_000, 1), &[Recipient::Passphrase(&pass, FAST)]);
    let last = ct.len() - 1;
    ct[last] ^= 1; // final chunk's tag
    fs::write(&src, &ct).unwrap();
    let out = dir.path().join("out.bin");
    let err = decrypt_file(
        &src,
        &out,
        &[Identity::Passphrase(&pass)],
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ChunkAuthFailed { index: 6 }), "{err}");
    assert!(!out.exists());
    assert_eq!(dir_names(dir.path()), vec!["in.srf"]);
    assert_eq!(fs::read(&src).unwrap(), ct, "source untouched");
}

#[test]
fn existing_destination_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let src = dir.path().join("a");
    let dst = dir.path().join("b");
    fs::write(&src, b"data").unwrap();
    fs::write(&dst, b"precious").unwrap();
    let err = encrypt_file(
        &src,
        &dst,
        &[Recipient::Passphrase(&pass, FAST)],
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
    assert_eq!(fs::read(&dst).unwrap(), b"precious");
    let same = encrypt_file(
        &src,
        &src,
        &[Recipient::Passphrase(&pass, FAST)],
        &FileOptions::new().overwrite(true),
    );
    assert!(matches!(same, Err(Error::InvalidArgument(_))));
    let opts = FileOptions::new().overwrite(true);
    encrypt_file(&src, &dst, &[Recipient::Passphrase(&pass, FAST)], &opts).unwrap();
    assert_ne!(fs::read(&dst).unwrap(), b"precious");
}

#[test]
fn progress_and_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let src = dir.path().join("big");
    fs::write(&src, data(10 << 20, 9)).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |done: u64, total: u64| seen.lock().unwrap().push((done, total));
    let opts = FileOptions::new().progress(&record);
    encrypt_file(
        &src,
        &dir.path().join("big.srf"),
        &[Recipient::Passphrase(&pass, FAST)],
        &opts,
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "monotonic");
    assert_eq!(*seen.last().unwrap(), (10 << 20, 10 << 20));

    let cancel = AtomicBool::new(false);
    let stop_midway = |done: u64, _total: u64| {
        if done > 0 {
            cancel.store(true, Ordering::Relaxed)
        }
    };
    let opts = FileOptions::new().progress(&stop_midway).cancel(&cancel);
    let out = dir.path().join("cancelled.srf");
    let err = encrypt_file(&src, &out, &[Recipient::Passphrase(&pass, FAST)], &opts).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert!(!out.exists());
    cancel.store(false, Ordering::Relaxed);
    let out = dir.path().join("cancelled.bin");
    let err = decrypt_file(
        &dir.path().join("big.srf"),
        &out,
        &[Identity::Passphrase(&pass)],
        &opts,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(dir_names(dir.path()), vec!["big", "big.srf"]);
}

/// SplitMix64: a fast generator to produce and re-produce test data.
fn fill(buf: &mut [u8], offset: u64) {
    for (i, word) in buf.chunks_mut(8).enumerate() {
        let mut z = (offset / 8 + i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let bytes = (z ^ (z >> 31)).to_le_bytes();
        word.copy_from_slice(&bytes[..word.len()]);
    }
}

#[test]
fn stream_larger_than_4_gib() {
    const LEN: u64 = (4 << 30) + (1 << 20) + 3;
    const BLOCK: usize = 1 << 20;
    let pass = Passphrase::from("big stream");
    let (reader, writer) = std::io::pipe().unwrap();
    let producer = std::thread::spawn(move || {
        let pass = Passphrase::from("big stream");
        let mut enc = Encryptor::new(
            std::io::BufWriter::with_capacity(1 << 20, writer),
            &[Recipient::Passphrase(&pass, FAST)],
        )
        .unwrap();
        let mut buf = vec![0u8; BLOCK];
        let mut off = 0u64;
        while off < LEN {
            let n = (LEN - off).min(BLOCK as u64) as usize;
            fill(&mut buf[..n], off);
            enc.write_all(&buf[..n]).unwrap();
            off += n as u64;
        }
        enc.finish().unwrap().flush().unwrap();
    });
    let mut dec = Decryptor::new(
        std::io::BufReader::with_capacity(1 << 20, reader),
        &[Identity::Passphrase(&pass)],
    )
    .unwrap();
    let (mut got, mut want) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
    let mut off = 0u64;
    loop {
        let n = dec.read(&mut got).unwrap();
        if n == 0 {
            break;
        }
        fill(&mut want[..n], off);
        // `fill` is word-based: every read but the last is a multiple of 16 KiB.
        assert_eq!(off % 8, 0);
        assert!(got[..n] == want[..n], "plaintext differs at offset {off}");
        off += n as u64;
    }
    producer.join().unwrap();
    assert_eq!(off, LEN);
}

#[test]
fn rewrap_follows_symlinks_refuses_hard_links_and_cancels_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let extra = Passphrase::from("escrow");
    let real = dir.path().join("real.srf");
    fs::write(
        &real,
        encrypt_bytes(&data(200_000, 5), &[Recipient::Passphrase(&pass, FAST)]),
    )
    .unwrap();
    let link = dir.path().join("link.srf");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let add = Rewrap::new().add_passphrase(&extra, FAST);
    rewrap_file(
        &link,
        &[Identity::Passphrase(&pass)],
        &add,
        &FileOptions::default(),
    )
    .unwrap();
    assert!(
        link.symlink_metadata().unwrap().file_type().is_symlink(),
        "the link is still a link"
    );
    assert_eq!(
        inspect_path(&real).unwrap().stanzas.len(),
        2,
        "the real file was rewrapped"
    );

    let hard = dir.path().join("hard.srf");
    fs::hard_link(&real, &hard).unwrap();
    let before = fs::read(&real).unwrap();
    let err = rewrap_file(
        &hard,
        &[Identity::Passphrase(&pass)],
        &add,
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument(ref m) if m.contains("hard links")),
        "{err}"
    );
    assert_eq!(fs::read(&real).unwrap(), before);
    fs::remove_file(&hard).unwrap();

    let cancel = AtomicBool::new(true);
    let opts = FileOptions::new().cancel(&cancel);
    let err = rewrap_file(&real, &[Identity::Passphrase(&pass)], &add, &opts).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(fs::read(&real).unwrap(), before);
    assert_eq!(dir_names(dir.path()), vec!["link.srf", "real.srf"]);
}

#[test]
fn passphrase_stanzas_are_limited_before_any_argon2_work() {
    let passes: Vec<Passphrase> = (0..5)
        .map(|i| Passphrase::from(format!("p{i}").as_str()))
        .collect();
    let five: Vec<Recipient<'_>> = passes.iter().map(|p| Recipient::Passphrase(p, FAST)).collect();
    assert!(matches!(
        Encryptor::new(Vec::new(), &five),
        Err(Error::TooManyRecipients {
            what: "passphrases",
            count: 5,
            max: 4
        })
    ));

    // A crafted header with five copies of a passphrase stanza demanding
    // the maximum work is refused before a single Argon2id run.
    let one = encrypt_bytes(b"x", &[Recipient::Passphrase(&passes[0], FAST)]);
    let stanza_len = 3 + 88;
    let mut stanza = one[28..28 + stanza_len].to_vec();
    stanza[3..7].copy_from_slice(&KdfParams::MAX_MEMORY_KIB.to_be_bytes());
    stanza[7..11].copy_from_slice(&KdfParams::MAX_ITERATIONS.to_be_bytes());
    let mut crafted = one[..26].to_vec();
    crafted.extend_from_slice(&5u16.to_be_bytes());
    for _ in 0..5 {
        crafted.extend_from_slice(&stanza);
    }
    crafted.extend_from_slice(&one[28 + stanza_len..]);
    let started = std::time::Instant::now();
    let err = decrypt_bytes(&crafted, &[Identity::Passphrase(&passes[0])]).unwrap_err();
    assert!(
        matches!(err, Error::Malformed { ref detail, .. } if detail.contains("passphrase stanzas")),
        "{err}"
    );
    // Not a speed target: five maximal Argon2id runs would take minutes.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn destination_must_be_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let src = dir.path().join("a");
    fs::write(&src, b"data").unwrap();
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let opts = FileOptions::new().overwrite(true);
    let err = encrypt_file(&src, &sub, &[Recipient::Passphrase(&pass, FAST)], &opts).unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument(ref m) if m.contains("not a regular file")),
        "{err}"
    );
    assert_eq!(dir_names(dir.path()), vec!["a", "sub"]);
}

#[test]
fn decrypt_progress_counts_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let src = dir.path().join("in.srf");
    fs::write(
        &src,
        encrypt_bytes(&data(9 << 20, 2), &[Recipient::Passphrase(&pass, FAST)]),
    )
    .unwrap();
    let last = std::sync::Mutex::new((0, 0));
    let record = |done: u64, total: u64| *last.lock().unwrap() = (done, total);
    let opts = FileOptions::new().progress(&record);
    decrypt_file(
        &src,
        &dir.path().join("out"),
        &[Identity::Passphrase(&pass)],
        &opts,
    )
    .unwrap();
    assert_eq!(*last.lock().unwrap(), (9 << 20, 9 << 20));
}

// ------------------------------------------------- rekey, links, limits

use std::os::unix::fs::{PermissionsExt, symlink};
use strongroom::file::{OutputFile, rekey_file};

/// A crafted file with five copies of its one passphrase stanza.
fn five_passphrase_stanzas(pass: &Passphrase) -> Vec<u8> {
    let one = encrypt_bytes(b"x", &[Recipient::Passphrase(pass, FAST)]);
    let stanza = &one[28..28 + 3 + 88];
    let mut crafted = one[..26].to_vec();
    crafted.extend_from_slice(&5u16.to_be_bytes());
    for _ in 0..5 {
        crafted.extend_from_slice(stanza);
    }
    crafted.extend_from_slice(&one[28 + 3 + 88..]);
    crafted
}

#[test]
fn rekey_revokes_what_a_rewrap_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let kr = new_keyring(dir.path());
    let old_pass = Passphrase::from("to be revoked");
    // Crosses the 4 MiB pipeline block and ends in a partial chunk.
    let plain = data((4 << 20) + 3 * 16384 + 77, 9);
    let path = dir.path().join("doc.srf");
    fs::write(
        &path,
        encrypt_bytes(
            &plain,
            &[Recipient::Keyring(&kr), Recipient::Passphrase(&old_pass, FAST)],
        ),
    )
    .unwrap();
    let old = fs::read(&path).unwrap();
    let old_info = inspect_path(&path).unwrap();
    let old_header = &old[..old_info.header_len as usize];

    // A plain rewrap that removes the passphrase: the old header still opens
    // the payload (the limitation --rekey exists for).
    let rewrapped_path = dir.path().join("rewrapped.srf");
    fs::write(&rewrapped_path, &old).unwrap();
    let plan = Rewrap::new().remove_all_passphrases(true);
    let info = rewrap_file(
        &rewrapped_path,
        &[Identity::Keyring(&kr)],
        &plan,
        &FileOptions::default(),
    )
    .unwrap();
    let rewrapped = fs::read(&rewrapped_path).unwrap();
    let mut spliced = old_header.to_vec();
    spliced.extend_from_slice(&rewrapped[info.header_len as usize..]);
    assert_eq!(
        decrypt_bytes(&spliced, &[Identity::Passphrase(&old_pass)]).unwrap(),
        plain
    );

    // A rekey that drops the passphrase: new file id, and neither the old
    // passphrase nor the old header opens anything of the new file.
    let done = std::sync::Mutex::new(0u64);
    let progress = |d: u64, _t: u64| *done.lock().unwrap() = d;
    let opts = FileOptions::new().progress(&progress);
    let info = rekey_file(
        &path,
        None,
        &[Identity::Keyring(&kr)],
        &[Recipient::Keyring(&kr)],
        &opts,
    )
    .unwrap();
    assert_eq!(*done.lock().unwrap(), plain.len() as u64);
    assert_ne!(info.file_id, old_info.file_id);
    assert_eq!(info.stanzas.len(), 1);
    assert_eq!(info.plaintext_len, Some(plain.len() as u64));
    let new = fs::read(&path).unwrap();
    assert_eq!(decrypt_bytes(&new, &[Identity::Keyring(&kr)]).unwrap(), plain);
    assert!(matches!(
        decrypt_bytes(&new, &[Identity::Passphrase(&old_pass)]),
        Err(Error::NoMatchingKey { .. })
    ));
    let mut spliced = old_header.to_vec();
    spliced.extend_from_slice(&new[info.header_len as usize..]);
    for id in [Identity::Passphrase(&old_pass), Identity::Keyring(&kr)] {
        let err = decrypt_bytes(&spliced, &[id]).unwrap_err();
        assert!(matches!(err, Error::CommitmentMismatch), "{err}");
    }
    assert_eq!(
        dir_names(dir.path()),
        vec!["doc.srf", "keys.srk", "rewrapped.srf"]
    );

    // To a new file, for a passphrase only.
    let new_pass = Passphrase::from("new");
    let out = dir.path().join("copy.srf");
    rekey_file(
        &path,
        Some(&out),
        &[Identity::Keyring(&kr)],
        &[Recipient::Passphrase(&new_pass, FAST)],
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(&path).unwrap(), new, "the source is untouched");
    let copy = fs::read(&out).unwrap();
    assert_eq!(
        decrypt_bytes(&copy, &[Identity::Passphrase(&new_pass)]).unwrap(),
        plain
    );
    assert!(matches!(
        decrypt_bytes(&copy, &[Identity::Keyring(&kr)]),
        Err(Error::NoMatchingKey { .. })
    ));
    // An existing destination needs overwrite.
    let err = rekey_file(
        &path,
        Some(&out),
        &[Identity::Keyring(&kr)],
        &[Recipient::Keyring(&kr)],
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
}

#[test]
fn rekey_failures_leave_the_source_intact_and_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let path = dir.path().join("doc.srf");
    let plain = data(300_000, 3);
    fs::write(
        &path,
        encrypt_bytes(&plain, &[Recipient::Passphrase(&pass, FAST)]),
    )
    .unwrap();
    let before = fs::read(&path).unwrap();
    let to = [Recipient::Passphrase(&pass, FAST)];

    let wrong = Passphrase::from("wrong");
    let err = rekey_file(
        &path,
        None,
        &[Identity::Passphrase(&wrong)],
        &to,
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err}");

    let cancel = AtomicBool::new(true);
    let opts = FileOptions::new().cancel(&cancel);
    let err = rekey_file(&path, None, &[Identity::Passphrase(&pass)], &to, &opts).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");

    // A modified last chunk: nothing appears, although most of the payload
    // was re-encrypted before the damage was found.
    let mut bad = before.clone();
    let last = bad.len() - 5;
    bad[last] ^= 1;
    let bad_path = dir.path().join("bad.srf");
    fs::write(&bad_path, &bad).unwrap();
    let out = dir.path().join("out.srf");
    let err = rekey_file(
        &bad_path,
        Some(&out),
        &[Identity::Passphrase(&pass)],
        &to,
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ChunkAuthFailed { .. }), "{err}");
    let err = rekey_file(
        &bad_path,
        None,
        &[Identity::Passphrase(&pass)],
        &to,
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ChunkAuthFailed { .. }), "{err}");
    assert_eq!(fs::read(&bad_path).unwrap(), bad);

    // Too many recipients: refused before any Argon2id run (a wrong
    // passphrase would otherwise be the error).
    let many: Vec<Passphrase> = (0..5)
        .map(|i| Passphrase::from(format!("n{i}").as_str()))
        .collect();
    let five: Vec<Recipient<'_>> = many.iter().map(|p| Recipient::Passphrase(p, FAST)).collect();
    let err = rekey_file(
        &path,
        None,
        &[Identity::Passphrase(&wrong)],
        &five,
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyRecipients {
                what: "passphrases",
                count: 5,
                max: 4
            }
        ),
        "{err}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(dir_names(dir.path()), vec!["bad.srf", "doc.srf"]);
}

#[test]
fn link_destinations_are_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let src = dir.path().join("plain.txt");
    fs::write(&src, b"secret text").unwrap();
    let enc = dir.path().join("plain.srf");
    encrypt_file(
        &src,
        &enc,
        &[Recipient::Passphrase(&pass, FAST)],
        &FileOptions::default(),
    )
    .unwrap();
    let victim = dir.path().join("victim");
    fs::create_dir(&victim).unwrap();
    let existing = victim.join("existing.txt");
    fs::write(&existing, b"keep").unwrap();
    let dangling = dir.path().join("dangling");
    symlink(victim.join("planted.txt"), &dangling).unwrap();
    let live = dir.path().join("live");
    symlink(&existing, &live).unwrap();

    for overwrite in [false, true] {
        let opts = FileOptions::new().overwrite(overwrite);
        for link in [&dangling, &live] {
            let err = encrypt_file(&src, link, &[Recipient::Passphrase(&pass, FAST)], &opts).unwrap_err();
            assert!(
                matches!(err, Error::DestinationIsSymlink(ref p) if p == link),
                "{err}"
            );
            let err = decrypt_file(&enc, link, &[Identity::Passphrase(&pass)], &opts).unwrap_err();
            assert!(
                matches!(err, Error::DestinationIsSymlink(ref p) if p == link),
                "{err}"
            );
            let err = rekey_file(
                &enc,
                Some(link),
                &[Identity::Passphrase(&pass)],
                &[Recipient::Passphrase(&pass, FAST)],
                &opts,
            )
            .unwrap_err();
            assert!(matches!(err, Error::DestinationIsSymlink(_)), "{err}");
            let err = OutputFile::create(link, overwrite).unwrap_err();
            assert!(matches!(err, Error::DestinationIsSymlink(_)), "{err}");
        }
    }
    let err = Keyring::create(&dangling, &Passphrase::from("k"), FAST).unwrap_err();
    assert!(matches!(err, Error::DestinationIsSymlink(_)), "{err}");
    assert_eq!(
        dir_names(&victim),
        vec!["existing.txt"],
        "nothing created through a link"
    );
    assert_eq!(fs::read(&existing).unwrap(), b"keep");
    assert_eq!(
        dir_names(dir.path()),
        vec!["dangling", "live", "plain.srf", "plain.txt", "victim"]
    );
    // Reading through a link stays allowed.
    let out = dir.path().join("out.txt");
    let enc_link = dir.path().join("enc-link");
    symlink(&enc, &enc_link).unwrap();
    decrypt_file(
        &enc_link,
        &out,
        &[Identity::Passphrase(&pass)],
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(&out).unwrap(), b"secret text");
}

#[test]
fn a_linked_lock_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.srk");
    let mut kr = Keyring::create(&path, &Passphrase::from("k"), FAST).unwrap();
    let lock = dir.path().join("keys.srk.lock");
    let _ = fs::remove_file(&lock);
    let victim = dir.path().join("victim.txt");
    symlink(&victim, &lock).unwrap();
    let before = fs::read(&path).unwrap();
    let err = kr.add_key(false).unwrap_err();
    assert!(
        matches!(err, Error::DestinationIsSymlink(ref p) if *p == lock),
        "{err}"
    );
    assert!(!victim.exists(), "the lock was not created through the link");
    assert_eq!(fs::read(&path).unwrap(), before);
    // A link to an existing file is refused too.
    fs::write(&victim, b"x").unwrap();
    let err = kr.add_key(false).unwrap_err();
    assert!(matches!(err, Error::DestinationIsSymlink(_)), "{err}");
    assert_eq!(fs::read(&victim).unwrap(), b"x");
}

#[test]
fn rewrap_and_rekey_keep_only_permission_bits() {
    let dir = tempfile::tempdir().unwrap();
    let pass = Passphrase::from("p");
    let extra = Passphrase::from("q");
    let path = dir.path().join("doc.srf");
    fs::write(
        &path,
        encrypt_bytes(b"abc", &[Recipient::Passphrase(&pass, FAST)]),
    )
    .unwrap();
    // setuid, setgid and sticky bits on top of 0o754.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o7754)).unwrap();
    let set = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_ne!(set & 0o7000, 0, "the test needs at least one special bit set");
    let plan = Rewrap::new().add_passphrase(&extra, FAST);
    rewrap_file(
        &path,
        &[Identity::Passphrase(&pass)],
        &plan,
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o754);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o7640)).unwrap();
    rekey_file(
        &path,
        None,
        &[Identity::Passphrase(&pass)],
        &[Recipient::Passphrase(&pass, FAST)],
        &FileOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o640);
}

#[test]
fn passphrase_stanza_limit_is_enforced_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let kr = new_keyring(dir.path());
    let pass = Passphrase::from("p");
    let crafted = five_passphrase_stanzas(&pass);
    let is_limit =
        |e: &Error| matches!(e, Error::Malformed { detail, .. } if detail.contains("5 passphrase stanzas"));
    let err = inspect(Cursor::new(&crafted)).unwrap_err();
    assert!(is_limit(&err), "{err}");
    let err = Decryptor::new(&crafted[..], &[Identity::Keyring(&kr)])
        .err()
        .unwrap();
    assert!(is_limit(&err), "keyring-only decryption: {err}");
    let path = dir.path().join("crafted.srf");
    fs::write(&path, &crafted).unwrap();
    let err = decrypt_file(
        &path,
        &dir.path().join("out"),
        &[Identity::Keyring(&kr)],
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(is_limit(&err), "{err}");
    let plan = Rewrap::new().remove_all_passphrases(true).to_primary(&kr);
    let err = rewrap_file(&path, &[Identity::Keyring(&kr)], &plan, &FileOptions::default()).unwrap_err();
    assert!(is_limit(&err), "{err}");
    assert_eq!(dir_names(dir.path()), vec!["crafted.srf", "keys.srk"]);
}

#[test]
fn rewrap_counts_are_checked_before_any_argon2() {
    let dir = tempfile::tempdir().unwrap();
    let passes: Vec<Passphrase> = (0..5)
        .map(|i| Passphrase::from(format!("p{i}").as_str()))
        .collect();
    let four: Vec<Recipient<'_>> = passes[..4]
        .iter()
        .map(|p| Recipient::Passphrase(p, FAST))
        .collect();
    let path = dir.path().join("doc.srf");
    fs::write(&path, encrypt_bytes(b"abc", &four)).unwrap();
    let before = fs::read(&path).unwrap();
    // The identity is wrong: had any Argon2id run (unwrapping comes first
    // otherwise), the error would be WrongPassphrase.
    let wrong = Passphrase::from("wrong");
    let plan = Rewrap::new().add_passphrase(&passes[4], FAST);
    let err = rewrap_file(
        &path,
        &[Identity::Passphrase(&wrong)],
        &plan,
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyRecipients {
                what: "passphrases",
                count: 5,
                max: 4
            }
        ),
        "{err}"
    );
    let plan = passes
        .iter()
        .fold(Rewrap::new(), |plan, p| plan.add_passphrase(p, FAST))
        .remove_all_passphrases(true);
    let err = rewrap_file(
        &path,
        &[Identity::Passphrase(&wrong)],
        &plan,
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::TooManyRecipients { count: 5, .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(dir_names(dir.path()), vec!["doc.srf"]);
}

/// Two in-place changes of one file take turns: a rewrap or rekey waits
/// for another process's lock on the file and then works on the file that
/// process wrote, and one planned on a header that changed meanwhile fails
/// with `Locked` before writing anything. Without the lock, the second
/// change was made to the old copy and silently undid the first (a rekey
/// included).
#[test]
fn in_place_changes_take_turns_and_refuse_a_stale_plan() {
    let dir = tempfile::tempdir().unwrap();
    let kr = new_keyring(dir.path());
    let plain = data(100_000, 4);
    let path = dir.path().join("doc.srf");
    fs::write(&path, encrypt_bytes(&plain, &[Recipient::Keyring(&kr)])).unwrap();
    let planned = inspect_path(&path).unwrap();
    let ids = [Identity::Keyring(&kr)];

    // Another holder of the lock: the rewrap waits until it lets go.
    let holder = fs::File::open(&path).unwrap();
    holder.lock().unwrap();
    let added = Passphrase::from("added while locked");
    let plan = Rewrap::new().add_passphrase(&added, FAST);
    let released = AtomicBool::new(false);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let info = rewrap_file(&path, &ids, &plan, &FileOptions::new().expect_header(&planned)).unwrap();
            assert!(
                released.load(Ordering::SeqCst),
                "the rewrap did not wait for the lock"
            );
            info
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        released.store(true, Ordering::SeqCst);
        holder.unlock().unwrap();
        waiter.join().unwrap();
    });
    let after_add = fs::read(&path).unwrap();
    assert_eq!(
        decrypt_bytes(&after_add, &[Identity::Passphrase(&added)]).unwrap(),
        plain
    );

    // A rekey planned on the header before that rewrap: refused, nothing written.
    let opts = FileOptions::new().expect_header(&planned);
    let err = rekey_file(&path, None, &ids, &[Recipient::Keyring(&kr)], &opts).unwrap_err();
    assert!(matches!(err, Error::Locked(ref p) if p == &path), "{err}");
    let err = rewrap_file(&path, &ids, &Rewrap::new().remove_all_passphrases(true), &opts).unwrap_err();
    assert!(matches!(err, Error::Locked(ref p) if p == &path), "{err}");
    assert_eq!(fs::read(&path).unwrap(), after_add);
    assert_eq!(dir_names(dir.path()), vec!["doc.srf", "keys.srk"]);

    // Planned on the current header, the rekey goes ahead and keeps the
    // passphrase it is given.
    let now = inspect_path(&path).unwrap();
    let to = [Recipient::Keyring(&kr), Recipient::Passphrase(&added, FAST)];
    let info = rekey_file(&path, None, &ids, &to, &FileOptions::new().expect_header(&now)).unwrap();
    assert_ne!(info.file_id, planned.file_id);
    let rekeyed = fs::read(&path).unwrap();
    assert_eq!(
        decrypt_bytes(&rekeyed, &[Identity::Passphrase(&added)]).unwrap(),
        plain
    );
}
