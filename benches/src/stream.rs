//! The streaming cases shared by `benches/stream_encrypt.rs` (criterion)
//! and `benches/interleaved.rs` (round-robin timing): raw AES-256-GCM peers
//! and strongroom's streaming types, each doing one whole message.

use crate::IO_BLOCK;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::path::Path;
use strongroom::Passphrase;
use strongroom::file::{Decryptor, Encryptor, Identity, Recipient};
use strongroom::hazmat::aead::{Aes256Gcm, NONCE_LEN, TAG_LEN};
use strongroom::hazmat::chunked::{CHUNK_SIZE, ChunkedReader, ChunkedSeekReader, ChunkedWriter};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;

/// Input key of every benchmark message (benchmarks protect nothing).
pub const KEY: [u8; 32] = [0x42; 32];
/// Context of every benchmark message.
pub const CONTEXT: &[u8] = b"strongroom benchmark";

/// Rayon pools of one (`"1t"`) and two (`"2t"`) threads.
///
/// # Panics
/// If a pool cannot be built.
pub fn pools() -> Vec<(&'static str, ThreadPool)> {
    [("1t", 1), ("2t", 2)]
        .into_iter()
        .map(|(name, n)| {
            let pool = ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("build a rayon pool");
            (name, pool)
        })
        .collect()
}

/// The nonce of raw chunk `index` (counter in the last 8 bytes).
pub fn nonce(index: usize) -> Nonce {
    Nonce::assume_unique_for_key(nonce_bytes(index))
}

fn nonce_bytes(index: usize) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[4..].copy_from_slice(&(index as u64).to_be_bytes());
    n
}

/// aws-lc-rs AES-256-GCM under [`KEY`].
///
/// # Panics
/// Never in practice (the key length is fixed).
pub fn aws_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).expect("32-byte key"))
}

/// Raw peer: seals `buf` in place as 16 KiB chunks on the calling thread;
/// tags go to `tags` (one per chunk).
///
/// # Panics
/// If sealing fails (it cannot for these sizes).
pub fn raw_seal(key: &LessSafeKey, buf: &mut [u8], tags: &mut [[u8; TAG_LEN]]) {
    for (i, (chunk, tag)) in buf.chunks_mut(CHUNK_SIZE).zip(tags.iter_mut()).enumerate() {
        let t = key
            .seal_in_place_separate_tag(nonce(i), Aad::empty(), chunk)
            .expect("seal");
        tag.copy_from_slice(t.as_ref());
    }
}

/// Raw peer: like [`raw_seal`], chunks spread over the current rayon pool.
///
/// # Panics
/// If sealing fails (it cannot for these sizes).
pub fn raw_seal_par(key: &LessSafeKey, buf: &mut [u8], tags: &mut [[u8; TAG_LEN]]) {
    buf.par_chunks_mut(CHUNK_SIZE)
        .zip(tags.par_iter_mut())
        .enumerate()
        .for_each(|(i, (chunk, tag))| {
            let t = key
                .seal_in_place_separate_tag(nonce(i), Aad::empty(), chunk)
                .expect("seal");
            tag.copy_from_slice(t.as_ref());
        });
}

/// Raw peer: opens what [`raw_seal`] produced, in place, on the calling
/// thread.
///
/// # Panics
/// If a chunk fails to authenticate.
pub fn raw_open(key: &LessSafeKey, buf: &mut [u8], tags: &[[u8; TAG_LEN]]) {
    for (i, (chunk, tag)) in buf.chunks_mut(CHUNK_SIZE).zip(tags).enumerate() {
        key.open_in_place_separate_tag(nonce(i), Aad::empty(), tag, chunk)
            .expect("open");
    }
}

/// Raw peer: like [`raw_open`], chunks spread over the current rayon pool.
///
/// # Panics
/// If a chunk fails to authenticate.
pub fn raw_open_par(key: &LessSafeKey, buf: &mut [u8], tags: &[[u8; TAG_LEN]]) {
    buf.par_chunks_mut(CHUNK_SIZE)
        .zip(tags.par_iter())
        .enumerate()
        .for_each(|(i, (chunk, tag))| {
            key.open_in_place_separate_tag(nonce(i), Aad::empty(), tag, chunk)
                .expect("open");
        });
}

/// Raw peer: seals one cache-resident 16 KiB chunk `chunks` times: the
/// engine's ceiling without memory traffic.
///
/// # Panics
/// If sealing fails (it cannot for these sizes).
pub fn raw_seal_hot(key: &LessSafeKey, hot: &mut [u8], chunks: usize) {
    for i in 0..chunks {
        let t = key
            .seal_in_place_separate_tag(nonce(i), Aad::empty(), hot)
            .expect("seal");
        let _ = black_box(t);
    }
}

/// The engine strongroom was built with (`strongroom::hazmat::aead::Aes256Gcm`),
/// in place over 16 KiB chunks, tags discarded.
pub fn engine_seal(key: &Aes256Gcm, buf: &mut [u8]) {
    for (i, chunk) in buf.chunks_mut(CHUNK_SIZE).enumerate() {
        black_box(key.seal_in_place(&nonce_bytes(i), &[], chunk));
    }
}

/// A keyring at minimum Argon2id cost in `dir`, so that creating an
/// Encryptor or Decryptor costs microseconds, not an Argon2id run.
///
/// # Panics
/// If the keyring cannot be created.
pub fn bench_keyring(dir: &Path) -> Keyring {
    let params = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };
    Keyring::create(
        &dir.join("bench.keyring"),
        &Passphrase::from("benchmark passphrase"),
        params,
    )
    .expect("create the benchmark keyring")
}

/// Writes `plaintext` to `w` in [`IO_BLOCK`] pieces.
///
/// # Panics
/// If a write fails.
pub fn write_blocks(w: &mut impl Write, plaintext: &[u8]) {
    for block in plaintext.chunks(IO_BLOCK) {
        w.write_all(block).expect("write");
    }
}

/// Reads `r` to the end through `buf`; returns the byte count.
///
/// # Panics
/// If a read fails (decryption error).
pub fn drain(mut r: impl Read, buf: &mut [u8]) -> usize {
    let mut total = 0;
    loop {
        match r.read(buf) {
            Ok(0) => return total,
            Ok(n) => total += black_box(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("decryption failed: {e}"),
        }
    }
}

/// `ChunkedWriter` into `io::sink()`.
///
/// # Panics
/// On any error.
pub fn writer_sink(plaintext: &[u8]) {
    let mut w = ChunkedWriter::new(io::sink(), &KEY, CONTEXT).expect("writer");
    write_blocks(&mut w, plaintext);
    w.finish().expect("finish");
}

/// `ChunkedWriter` into `out`, cleared first (its pages stay allocated).
///
/// # Panics
/// On any error.
pub fn writer_vec(plaintext: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut w = ChunkedWriter::new(&mut *out, &KEY, CONTEXT).expect("writer");
    write_blocks(&mut w, plaintext);
    w.finish().expect("finish");
}

/// The file `Encryptor` (header for `ring`, then `ChunkedWriter`) into
/// `io::sink()`.
///
/// # Panics
/// On any error.
pub fn encryptor_sink(ring: &Keyring, plaintext: &[u8]) {
    let mut w = Encryptor::new(io::sink(), &[Recipient::Keyring(ring)]).expect("encryptor");
    write_blocks(&mut w, plaintext);
    w.finish().expect("finish");
}

/// A Cobblestone payload of `plaintext` under [`KEY`] and [`CONTEXT`].
///
/// # Panics
/// On any error.
pub fn payload_of(plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    writer_vec(plaintext, &mut out);
    out
}

/// A strongroom file of `plaintext` for `ring`.
///
/// # Panics
/// On any error.
pub fn file_of(ring: &Keyring, plaintext: &[u8]) -> Vec<u8> {
    let mut w = Encryptor::new(Vec::new(), &[Recipient::Keyring(ring)]).expect("encryptor");
    write_blocks(&mut w, plaintext);
    w.finish().expect("finish")
}

/// `ChunkedReader` over `payload`, read in `buf`-sized pieces; returns the
/// plaintext length.
///
/// # Panics
/// On any error.
pub fn reader(payload: &[u8], buf: &mut [u8]) -> usize {
    drain(ChunkedReader::new(payload, &KEY, CONTEXT).expect("reader"), buf)
}

/// The file `Decryptor` over `file`, with `ring`.
///
/// # Panics
/// On any error.
pub fn decryptor(ring: &Keyring, file: &[u8], buf: &mut [u8]) -> usize {
    drain(
        Decryptor::new(file, &[Identity::Keyring(ring)]).expect("decryptor"),
        buf,
    )
}

/// `ChunkedSeekReader` over `payload`, read sequentially.
///
/// # Panics
/// On any error.
pub fn seek_reader(payload: &[u8], buf: &mut [u8]) -> usize {
    drain(
        ChunkedSeekReader::new(Cursor::new(payload), &KEY, CONTEXT).expect("reader"),
        buf,
    )
}
