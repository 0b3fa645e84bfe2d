//! No byte of a chunk reaches memory the caller can see before that chunk
//! authenticated, on every path that decrypts into a caller's buffer.
//!
//! Each test forges one chunk so that, decrypted without its tag being
//! checked, it would read as a run of `A`s (CTR is malleable: XOR the
//! ciphertext with plaintext XOR pattern, keep the old tag). The caller's
//! buffer is watched (`crate::crypto::aead::watch`): no open may decrypt
//! into it, and afterwards it must not hold the pattern; the error must
//! name the forged chunk.

use super::*;
use crate::crypto::aead::watch;
use crate::error::Error;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};

const KEY: [u8; 32] = [0x5a; 32];
const CONTEXT: &[u8] = b"exposure";
const PATTERN: u8 = b'A';

fn plaintext(len: usize) -> Vec<u8> {
    // No runs of the pattern byte.
    (0..len).map(|i| (i * 7 % 251) as u8 | 0x80).collect()
}

fn seal(plain: &[u8]) -> Vec<u8> {
    let mut w = ChunkedWriter::new(Vec::new(), &KEY, CONTEXT).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap()
}

/// `ct` with chunk `index` forged to decrypt (unauthenticated) to the pattern.
fn forge(ct: &[u8], plain: &[u8], index: usize) -> Vec<u8> {
    let mut bad = ct.to_vec();
    let start = PREFIX_LEN + index * ENCRYPTED_CHUNK_SIZE;
    let len = plain.len().saturating_sub(index * CHUNK_SIZE).min(CHUNK_SIZE);
    for k in 0..len {
        bad[start + k] ^= plain[index * CHUNK_SIZE + k] ^ PATTERN;
    }
    bad
}

/// Whether `buf` holds 64 pattern bytes in a row.
fn holds_pattern(buf: &[u8]) -> bool {
    buf.windows(64).any(|w| w.iter().all(|&b| b == PATTERN))
}

fn assert_chunk_failed(err: Error, index: u64) {
    assert!(
        matches!(err, Error::ChunkAuthFailed { index: i } if i == index),
        "expected chunk {index} to fail, got {err}"
    );
}

/// The forgery works: the forged chunk's keystream XOR (what an open does
/// before it checks the tag) is the pattern.
#[test]
fn the_forged_chunk_decrypts_to_the_pattern_without_its_tag() {
    let plain = plaintext(3 * CHUNK_SIZE + 10);
    let bad = forge(&seal(&plain), &plain, 1);
    let key = PayloadKey::open_prefix(&KEY, bad[..PREFIX_LEN].try_into().unwrap(), CONTEXT).unwrap();
    let start = PREFIX_LEN + ENCRYPTED_CHUNK_SIZE;
    let mut would_be = bad[start..start + CHUNK_SIZE].to_vec();
    // CTR mode: sealing XORs the same keystream that opening does.
    key.seal_chunk_in_place(1, &mut would_be);
    assert!(would_be.iter().all(|&b| b == PATTERN));
}

#[test]
fn seek_reader_whole_chunk_reads() {
    let plain = plaintext(40 * CHUNK_SIZE + 99);
    let ct = seal(&plain);
    for forged in [0, 7, 31] {
        let bad = forge(&ct, &plain, forged);
        let mut r = ChunkedSeekReader::new(Cursor::new(&bad[..]), &KEY, CONTEXT).unwrap();
        let mut buf = vec![0u8; 32 * CHUNK_SIZE];
        let seen = watch::slice(&buf);
        let err = crate::error::from_io(r.read(&mut buf).unwrap_err());
        assert!(
            !seen.decrypted_into(),
            "chunk {forged} decrypted into the caller's buffer"
        );
        assert_chunk_failed(err, forged as u64);
        assert!(
            !holds_pattern(&buf),
            "chunk {forged}: forged plaintext in the buffer"
        );
        // A read that starts later, at a chunk boundary, does the same.
        r.seek(SeekFrom::Start(
            CHUNK_SIZE as u64 * (forged as u64).saturating_sub(1),
        ))
        .unwrap();
        let err = crate::error::from_io(r.read(&mut buf).unwrap_err());
        assert_chunk_failed(err, forged as u64);
        assert!(!seen.decrypted_into());
        assert!(!holds_pattern(&buf));
    }
}

#[test]
fn streaming_reader_reads_larger_than_a_batch() {
    let plain = plaintext(300 * CHUNK_SIZE + 99);
    let ct = seal(&plain);
    // A full chunk in the first batch, one later, and the short final chunk.
    for forged in [3, 200, 300] {
        let bad = forge(&ct, &plain, forged);
        let mut r = ChunkedReader::new(&bad[..], &KEY, CONTEXT).unwrap();
        let mut buf = vec![0u8; 512 * CHUNK_SIZE];
        let seen = watch::slice(&buf);
        let mut got = 0usize;
        let err = loop {
            match r.read(&mut buf) {
                Ok(0) => panic!("chunk {forged}: the forged message read to its end"),
                Ok(n) => {
                    assert!(buf[..n] == plain[got..got + n]);
                    got += n;
                }
                Err(e) => break crate::error::from_io(e),
            }
        };
        assert!(
            !seen.decrypted_into(),
            "chunk {forged} decrypted into the caller's buffer"
        );
        assert_chunk_failed(err, forged as u64);
        assert_eq!(got, forged * CHUNK_SIZE, "the chunks before the forged one");
        assert!(
            !holds_pattern(&buf),
            "chunk {forged}: forged plaintext in the buffer"
        );
    }
}

#[test]
fn opener_appends_to_the_callers_vec() {
    let plain = plaintext(40 * CHUNK_SIZE + 5);
    let ct = seal(&plain);
    for forged in [2, 39, 40] {
        let bad = forge(&ct, &plain, forged);
        let mut o = ChunkedOpener::new(&KEY, bad[..PREFIX_LEN].try_into().unwrap(), CONTEXT).unwrap();
        let mut out: Vec<u8> = Vec::with_capacity(plain.len() + CHUNK_SIZE);
        let seen = watch::range(out.as_ptr() as usize, out.capacity());
        let err = match o.update(&bad[PREFIX_LEN..], &mut out) {
            Err(e) => e,
            // The final chunk is held back until the finish.
            Ok(()) => o.finish(&mut out).unwrap_err(),
        };
        assert!(
            !seen.decrypted_into(),
            "chunk {forged} decrypted into the caller's vector"
        );
        assert_chunk_failed(err, forged as u64);
        assert!(!holds_pattern(&out));
    }
}

#[test]
fn whole_message_opened_in_place() {
    let plain = plaintext(200 * CHUNK_SIZE + 3);
    let ct = seal(&plain);
    for forged in [0, 1, 99, 150, 200] {
        let mut msg = forge(&ct, &plain, forged);
        let seen = watch::slice(&msg);
        let err = open_in_place(&mut msg, &KEY, CONTEXT).unwrap_err();
        assert!(
            !seen.decrypted_into(),
            "chunk {forged} decrypted in the caller's buffer"
        );
        assert_chunk_failed(err, forged as u64);
        assert!(
            msg.iter().all(|&b| b == 0),
            "the buffer is zeroed after a failure"
        );
    }
    // And a good message still opens where it lies.
    let mut msg = ct.clone();
    let n = open_in_place(&mut msg, &KEY, CONTEXT).unwrap();
    assert!(msg[..n] == plain[..]);
}
