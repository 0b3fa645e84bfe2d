//! Wycheproof C2SP chunked encryption (Cobblestone-256) vectors, applied as
//! testdata/wycheproof/c2sp_chunked_encryption.md describes: through the
//! streaming reader, the random-access reader, raw mode, and re-encryption
//! with the vector's salt.

use flate2::read::ZlibDecoder;
use serde::Deserialize;
use sha2::{Digest, Sha512};
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use strongroom::Error;
use strongroom::error::from_io;
use strongroom::hazmat::chunked::{
    CHUNK_SIZE, ChunkedReader, ChunkedSeekReader, ChunkedWriter, ENCRYPTED_CHUNK_SIZE, PREFIX_LEN,
    PayloadKey, open_in_place,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    tc_id: u32,
    comment: String,
    key: String,
    ctx: String,
    ct: String,
    aead_key: Option<String>,
    base_nonce: Option<String>,
    msg_length: Option<usize>,
    msg_sha512: Option<String>,
    result: String,
    flags: Vec<String>,
}

impl Vector {
    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
    fn valid(&self) -> bool {
        self.result == "valid"
    }
    fn ciphertext(&self) -> Vec<u8> {
        let mut out = Vec::new();
        ZlibDecoder::new(&hex::decode(&self.ct).unwrap()[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }
    fn name(&self) -> String {
        format!("tcId {} ({})", self.tc_id, self.comment)
    }
    /// Checks that `out` is the message (valid) or an allowed prefix (invalid).
    fn check_output(&self, out: &[u8], how: &str) {
        let allowed = if self.has("PartialPlaintext") || self.valid() {
            self.msg_length.unwrap()
        } else {
            0
        };
        assert!(
            out.len() <= allowed,
            "{}: {how} released {} bytes, at most {allowed} allowed",
            self.name(),
            out.len()
        );
        if out.len() == allowed && allowed > 0 || self.valid() {
            let digest = hex::encode(Sha512::digest(out));
            assert_eq!(
                &digest,
                self.msg_sha512.as_ref().unwrap(),
                "{}: {how} plaintext hash",
                self.name()
            );
        }
    }
}

fn vectors() -> Vec<Vector> {
    #[derive(Deserialize)]
    struct Group {
        tests: Vec<Vector>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct File {
        number_of_tests: usize,
        test_groups: Vec<Group>,
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/wycheproof/c2sp_chunked_encryption_aes_256_gcm_test.json"
    );
    let file: File = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let all: Vec<Vector> = file.test_groups.into_iter().flat_map(|g| g.tests).collect();
    assert_eq!(all.len(), file.number_of_tests);
    assert_eq!(all.len(), 35, "the published file has 35 vectors");
    all
}

/// Reads to the end, returning what was released and the first error. Then
/// checks that the error is sticky.
fn drain(mut r: impl Read) -> (Vec<u8>, Option<Error>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 5000];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (out, None),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                let again = r.read(&mut buf);
                assert!(again.is_err(), "error must persist on later reads, got {again:?}");
                return (out, Some(from_io(e)));
            }
        }
    }
}

fn expect_header_error(v: &Vector, err: &Error) {
    let ok = if v.has("InvalidKeySize") {
        matches!(err, Error::InvalidArgument(_))
    } else if v.has("Truncation") {
        matches!(err, Error::Truncated(_))
    } else {
        matches!(err, Error::CommitmentMismatch)
    };
    assert!(ok, "{}: unexpected header error {err:?}", v.name());
}

fn expect_body_error(v: &Vector, err: &Error) {
    assert!(
        matches!(err, Error::ChunkAuthFailed { .. } | Error::Truncated(_)),
        "{}: unexpected body error {err:?}",
        v.name()
    );
}

#[test]
fn streaming_reader() {
    for v in vectors() {
        let key = hex::decode(&v.key).unwrap();
        let ctx = hex::decode(&v.ctx).unwrap();
        let ct = v.ciphertext();
        match ChunkedReader::new(&ct[..], &key, &ctx) {
            Err(e) => {
                assert!(v.has("HeaderFailure"), "{}: header rejected: {e}", v.name());
                expect_header_error(&v, &e);
            }
            Ok(reader) => {
                assert!(!v.has("HeaderFailure"), "{}: header accepted", v.name());
                let (out, err) = drain(reader);
                v.check_output(&out, "streaming");
                match (v.valid(), err) {
                    (true, None) => {}
                    (true, Some(e)) => panic!("{}: valid vector failed: {e}", v.name()),
                    (false, None) => panic!("{}: invalid vector decrypted", v.name()),
                    (false, Some(e)) => expect_body_error(&v, &e),
                }
            }
        }
    }
}

#[test]
fn in_place_decryption() {
    for v in vectors() {
        let key = hex::decode(&v.key).unwrap();
        let ctx = hex::decode(&v.ctx).unwrap();
        let mut msg = v.ciphertext();
        match open_in_place(&mut msg, &key, &ctx) {
            Ok(n) => {
                assert!(v.valid(), "{}: invalid vector decrypted in place", v.name());
                v.check_output(&msg[..n], "in place");
            }
            Err(e) => {
                assert!(!v.valid(), "{}: valid vector failed in place: {e}", v.name());
                if v.has("HeaderFailure") {
                    expect_header_error(&v, &e);
                } else {
                    expect_body_error(&v, &e);
                }
                assert!(msg.iter().all(|&b| b == 0), "{}: buffer not wiped", v.name());
            }
        }
    }
}

#[test]
fn random_access_reader() {
    for v in vectors() {
        let key = hex::decode(&v.key).unwrap();
        let ctx = hex::decode(&v.ctx).unwrap();
        let ct = v.ciphertext();
        let reader = match ChunkedSeekReader::new(Cursor::new(&ct), &key, &ctx) {
            Err(e) => {
                assert!(!v.valid(), "{}: valid vector rejected: {e}", v.name());
                if v.has("HeaderFailure") {
                    expect_header_error(&v, &e);
                } else {
                    assert!(matches!(e, Error::Truncated(_)), "{}: {e:?}", v.name());
                }
                continue;
            }
            Ok(r) => r,
        };
        assert!(!v.has("HeaderFailure"), "{}: header accepted", v.name());
        // Whole message.
        let mut whole = reader;
        let mut out = Vec::new();
        let res = whole.read_to_end(&mut out);
        assert_eq!(res.is_ok(), v.valid(), "{}: read_to_end {res:?}", v.name());
        if v.valid() {
            v.check_output(&out, "random access");
        }
        // Length authentication (seek from the end).
        let len = whole.authenticated_len();
        if v.valid() {
            let len = len.unwrap();
            assert_eq!(len as usize, v.msg_length.unwrap());
            // A tail read through SeekFrom::End matches the whole read.
            let back = len.min(20_000) as i64;
            whole.seek(SeekFrom::End(-back)).unwrap();
            let mut tail = Vec::new();
            whole.read_to_end(&mut tail).unwrap();
            assert_eq!(tail, out[out.len() - back as usize..]);
        } else if !v.has("ValidFinalChunk") {
            assert!(
                len.is_err(),
                "{}: length authenticated on an invalid vector",
                v.name()
            );
            let mut fresh = ChunkedSeekReader::new(Cursor::new(&ct), &key, &ctx).unwrap();
            assert!(
                fresh.seek(SeekFrom::End(0)).is_err(),
                "{}: seek from end succeeded",
                v.name()
            );
        }
    }
}

#[test]
fn random_access_ranges_match_streaming() {
    for v in vectors()
        .into_iter()
        .filter(|v| v.valid() && v.msg_length.unwrap() > 20_000)
    {
        let key = hex::decode(&v.key).unwrap();
        let ct = v.ciphertext();
        let ctx = hex::decode(&v.ctx).unwrap();
        let mut full = Vec::new();
        ChunkedReader::new(&ct[..], &key, &ctx)
            .unwrap()
            .read_to_end(&mut full)
            .unwrap();
        let mut r = ChunkedSeekReader::new(Cursor::new(&ct), &key, &ctx).unwrap();
        for (start, len) in [
            (0usize, 1usize),
            (16383, 2),
            (16384, 16384),
            (5, 40000),
            (full.len() - 1, 1),
        ] {
            let len = len.min(full.len() - start);
            r.seek(SeekFrom::Start(start as u64)).unwrap();
            let mut got = vec![0u8; len];
            r.read_exact(&mut got).unwrap();
            assert_eq!(got, full[start..start + len], "{} range {start}+{len}", v.name());
        }
    }
}

/// Large reads from chunk boundaries open whole chunks straight into the
/// caller's buffer (on all cores): the same bytes as streaming, and a
/// tampered chunk among them fails the read with its index and hands out
/// nothing of it.
#[test]
fn large_aligned_reads_match_streaming_and_fail_whole() {
    let key = [3u8; 32];
    let ctx = b"direct reads";
    let msg: Vec<u8> = (0..(40 * CHUNK_SIZE + 123)).map(|i| (i % 253) as u8).collect();
    let mut w = ChunkedWriter::new(Vec::new(), &key, ctx).unwrap();
    w.write_all(&msg).unwrap();
    let ct = w.finish().unwrap();
    for (start, len) in [
        (0, 40 * CHUNK_SIZE + 123),
        (CHUNK_SIZE, 8 * CHUNK_SIZE),
        (3 * CHUNK_SIZE, 37 * CHUNK_SIZE + 123),
    ] {
        let mut r = ChunkedSeekReader::new(Cursor::new(&ct), &key, ctx).unwrap();
        r.seek(SeekFrom::Start(start as u64)).unwrap();
        let mut got = vec![0u8; len];
        r.read_exact(&mut got).unwrap();
        assert!(got == msg[start..start + len], "range {start}+{len}");
    }
    // Flip a byte of chunk 5 (the prefix comes first).
    let mut bad = ct.clone();
    bad[PREFIX_LEN + 5 * ENCRYPTED_CHUNK_SIZE + 7] ^= 1;
    let mut r = ChunkedSeekReader::new(Cursor::new(&bad), &key, ctx).unwrap();
    let mut buf = vec![0xAAu8; 16 * CHUNK_SIZE];
    let err = r.read(&mut buf).unwrap_err();
    assert!(err.to_string().contains("chunk 5"), "{err}");
    assert!(
        buf.iter().all(|&b| b == 0),
        "no plaintext of a failed read is left"
    );
}

#[test]
fn raw_mode() {
    let mut exercised = 0;
    for v in vectors().into_iter().filter(|v| !v.has("HeaderFailure")) {
        let aead_key: [u8; 32] = hex::decode(v.aead_key.as_ref().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let nonce: [u8; 12] = hex::decode(v.base_nonce.as_ref().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let ct = v.ciphertext();
        let body = &ct[56..];
        let (out, err) = drain(ChunkedReader::from_key(
            body,
            PayloadKey::hazmat_raw(&aead_key, &nonce),
        ));
        v.check_output(&out, "raw");
        assert_eq!(err.is_none(), v.valid(), "{}: raw mode {err:?}", v.name());
        exercised += 1;
    }
    assert!(exercised >= 20, "only {exercised} raw-mode vectors");
}

#[test]
fn encryption_with_injected_salt_matches() {
    let mut exercised = 0;
    for v in vectors().into_iter().filter(|v| v.valid()) {
        let key = hex::decode(&v.key).unwrap();
        let ctx = hex::decode(&v.ctx).unwrap();
        let ct = v.ciphertext();
        let mut msg = Vec::new();
        ChunkedReader::new(&ct[..], &key, &ctx)
            .unwrap()
            .read_to_end(&mut msg)
            .unwrap();
        let salt: [u8; 24] = ct[..24].try_into().unwrap();
        // One write, and many odd-sized writes: both must match exactly.
        for piece in [usize::MAX, 1000, 16384, 16385] {
            let mut w = ChunkedWriter::with_salt(Vec::new(), &key, &salt, &ctx).unwrap();
            for part in msg.chunks(piece.min(msg.len().max(1))) {
                w.write_all(part).unwrap();
            }
            assert_eq!(w.finish().unwrap(), ct, "{} with {piece}-byte writes", v.name());
            let mut w = ChunkedWriter::with_salt(Vec::new(), &key, &salt, &ctx).unwrap();
            for part in msg.chunks(piece.min(msg.len().max(1))) {
                w.write_in_place(&mut part.to_vec()).unwrap();
            }
            assert_eq!(
                w.finish().unwrap(),
                ct,
                "{} with {piece}-byte in-place writes",
                v.name()
            );
        }
        exercised += 1;
    }
    assert_eq!(exercised, 10);
}
