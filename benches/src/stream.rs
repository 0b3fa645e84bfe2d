//! The streaming cases shared by `benches/stream_encrypt.rs` (criterion)
//! and `benches/interleaved.rs` (round-robin timing): raw AES-256-GCM peers
//! and strongroom's streaming types, each doing one whole message.

use crate::IO_BLOCK;
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::path::Path;
use strongroom::Passphrase;
use strongroom::file::{Decryptor, Encryptor, Identity, Recipient, decrypt_in_place};
use strongroom::hazmat::aead::{Aes256Gcm, NONCE_LEN, TAG_LEN};
use strongroom::hazmat::chunked::{
    CHUNK_SIZE, ChunkedReader, ChunkedSeekReader, ChunkedWriter, open_in_place,
};
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

/// A raw AES-256-GCM engine, called directly: the peers strongroom's
/// streaming types are compared with.
pub trait RawGcm: Sync {
    /// Seals `buf` in place under the nonce of chunk `index`; returns the tag.
    fn seal(&self, index: usize, buf: &mut [u8]) -> [u8; TAG_LEN];
    /// Opens `buf` in place under the nonce of chunk `index`.
    fn open(&self, index: usize, tag: &[u8; TAG_LEN], buf: &mut [u8]);
}

/// The nonce of raw chunk `index` (counter in the last 8 bytes).
pub fn nonce_bytes(index: usize) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[4..].copy_from_slice(&(index as u64).to_be_bytes());
    n
}

impl RawGcm for aws_lc_rs::aead::LessSafeKey {
    fn seal(&self, index: usize, buf: &mut [u8]) -> [u8; TAG_LEN] {
        use aws_lc_rs::aead::{Aad, Nonce};
        let t = self
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes(index)),
                Aad::empty(),
                buf,
            )
            .expect("seal");
        t.as_ref().try_into().expect("16-byte tag")
    }
    fn open(&self, index: usize, tag: &[u8; TAG_LEN], buf: &mut [u8]) {
        use aws_lc_rs::aead::{Aad, Nonce};
        self.open_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce_bytes(index)),
            Aad::empty(),
            tag,
            buf,
        )
        .expect("open");
    }
}

impl RawGcm for ring::aead::LessSafeKey {
    fn seal(&self, index: usize, buf: &mut [u8]) -> [u8; TAG_LEN] {
        use ring::aead::{Aad, Nonce};
        let t = self
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes(index)),
                Aad::empty(),
                buf,
            )
            .expect("seal");
        t.as_ref().try_into().expect("16-byte tag")
    }
    fn open(&self, index: usize, tag: &[u8; TAG_LEN], buf: &mut [u8]) {
        use ring::aead::{Aad, Nonce, Tag};
        self.open_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce_bytes(index)),
            Aad::empty(),
            Tag::from(*tag),
            buf,
            0..,
        )
        .expect("open");
    }
}

impl RawGcm for aes_gcm::Aes256Gcm {
    fn seal(&self, index: usize, buf: &mut [u8]) -> [u8; TAG_LEN] {
        use aes_gcm::aead::AeadInOut;
        self.encrypt_inout_detached(&nonce_bytes(index).into(), &[], buf.into())
            .expect("seal")
            .into()
    }
    fn open(&self, index: usize, tag: &[u8; TAG_LEN], buf: &mut [u8]) {
        use aes_gcm::aead::AeadInOut;
        self.decrypt_inout_detached(&nonce_bytes(index).into(), &[], buf.into(), tag.into())
            .expect("open");
    }
}

/// aws-lc-rs AES-256-GCM under [`KEY`].
///
/// # Panics
/// Never in practice (the key length is fixed).
pub fn aws_key() -> aws_lc_rs::aead::LessSafeKey {
    use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).expect("32-byte key"))
}

/// ring AES-256-GCM under [`KEY`].
///
/// # Panics
/// Never in practice (the key length is fixed).
pub fn ring_key() -> ring::aead::LessSafeKey {
    use ring::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).expect("32-byte key"))
}

/// RustCrypto `aes-gcm` AES-256-GCM under [`KEY`].
pub fn rustcrypto_key() -> aes_gcm::Aes256Gcm {
    use aes_gcm::aead::KeyInit;
    aes_gcm::Aes256Gcm::new(&KEY.into())
}

/// The raw engine matching the one strongroom was built with, boxed.
pub fn compiled_engine_key() -> Box<dyn RawGcm> {
    match Aes256Gcm::engine_name() {
        "aws-lc-rs" => Box::new(aws_key()),
        "rustcrypto" => Box::new(rustcrypto_key()),
        _ => Box::new(ring_key()),
    }
}

/// Raw peer: seals `buf` in place as `chunk`-byte chunks on the calling
/// thread; tags go to `tags` (one per chunk).
pub fn raw_seal_chunks<K: RawGcm + ?Sized>(
    key: &K,
    buf: &mut [u8],
    tags: &mut [[u8; TAG_LEN]],
    chunk: usize,
) {
    for (i, (c, tag)) in buf.chunks_mut(chunk).zip(tags.iter_mut()).enumerate() {
        *tag = key.seal(i, c);
    }
}

/// Raw peer: seals `buf` in place as 16 KiB chunks on the calling thread;
/// tags go to `tags` (one per chunk).
pub fn raw_seal<K: RawGcm + ?Sized>(key: &K, buf: &mut [u8], tags: &mut [[u8; TAG_LEN]]) {
    raw_seal_chunks(key, buf, tags, CHUNK_SIZE);
}

/// Raw peer: like [`raw_seal`], chunks spread over the current rayon pool.
pub fn raw_seal_par<K: RawGcm + ?Sized>(key: &K, buf: &mut [u8], tags: &mut [[u8; TAG_LEN]]) {
    buf.par_chunks_mut(CHUNK_SIZE)
        .zip(tags.par_iter_mut())
        .enumerate()
        .for_each(|(i, (chunk, tag))| *tag = key.seal(i, chunk));
}

/// Floor peer: copies each 16 KiB chunk of `src` into the cache-resident
/// `scratch`, then seals it there: what any `Write`-based stream over an
/// engine that seals only in place must do at least, on one thread.
pub fn copy_then_seal<K: RawGcm + ?Sized>(key: &K, src: &[u8], scratch: &mut [u8]) {
    for (i, c) in src.chunks(CHUNK_SIZE).enumerate() {
        let s = &mut scratch[..c.len()];
        s.copy_from_slice(c);
        black_box(key.seal(i, s));
    }
}

/// Floor peer: copies each 16 KiB chunk of `src` (sealed by [`raw_seal`])
/// into `scratch`, then opens it there: the least a `Read`-based stream
/// does, since reading moves the bytes out of the source.
pub fn copy_then_open<K: RawGcm + ?Sized>(key: &K, src: &[u8], tags: &[[u8; TAG_LEN]], scratch: &mut [u8]) {
    for (i, (c, tag)) in src.chunks(CHUNK_SIZE).zip(tags).enumerate() {
        let s = &mut scratch[..c.len()];
        s.copy_from_slice(c);
        key.open(i, tag, s);
        black_box(&s[0]);
    }
}

/// Raw peer: opens what [`raw_seal`] produced, in place, on the calling
/// thread.
pub fn raw_open<K: RawGcm + ?Sized>(key: &K, buf: &mut [u8], tags: &[[u8; TAG_LEN]]) {
    for (i, (chunk, tag)) in buf.chunks_mut(CHUNK_SIZE).zip(tags).enumerate() {
        key.open(i, tag, chunk);
    }
}

/// Raw peer: like [`raw_open`], chunks spread over the current rayon pool.
pub fn raw_open_par<K: RawGcm + ?Sized>(key: &K, buf: &mut [u8], tags: &[[u8; TAG_LEN]]) {
    buf.par_chunks_mut(CHUNK_SIZE)
        .zip(tags.par_iter())
        .enumerate()
        .for_each(|(i, (chunk, tag))| key.open(i, tag, chunk));
}

/// Raw peer: seals one cache-resident 16 KiB chunk `chunks` times: the
/// engine's ceiling without memory traffic.
pub fn raw_seal_hot<K: RawGcm + ?Sized>(key: &K, hot: &mut [u8], chunks: usize) {
    for i in 0..chunks {
        black_box(key.seal(i, hot));
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

/// `ChunkedWriter::write_in_place` into `io::sink()`, in [`IO_BLOCK`]
/// writes: `buf` is sealed where it lies (and left as ciphertext).
///
/// # Panics
/// On any error.
pub fn writer_in_place_sink(buf: &mut [u8]) {
    let mut w = ChunkedWriter::new(io::sink(), &KEY, CONTEXT).expect("writer");
    for block in buf.chunks_mut(IO_BLOCK) {
        w.write_in_place(block).expect("write");
    }
    w.finish().expect("finish");
}

/// The file `Encryptor`'s `write_in_place` into `io::sink()`.
///
/// # Panics
/// On any error.
pub fn encryptor_in_place_sink(ring: &Keyring, buf: &mut [u8]) {
    let mut w = Encryptor::new(io::sink(), &[Recipient::Keyring(ring)]).expect("encryptor");
    for block in buf.chunks_mut(IO_BLOCK) {
        w.write_in_place(block).expect("write");
    }
    w.finish().expect("finish");
}

/// `open_in_place` over a payload in `msg`; returns the plaintext length.
///
/// # Panics
/// On any error.
pub fn payload_in_place(msg: &mut [u8]) -> usize {
    open_in_place(msg, &KEY, CONTEXT).expect("open in place")
}

/// `decrypt_in_place` over a whole file in `file`; returns the plaintext length.
///
/// # Panics
/// On any error.
pub fn file_in_place(ring: &Keyring, file: &mut [u8]) -> usize {
    decrypt_in_place(file, &[Identity::Keyring(ring)])
        .expect("decrypt in place")
        .len()
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
