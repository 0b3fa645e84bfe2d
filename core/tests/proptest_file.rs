//! Every single-bit flip and every truncation of a small encrypted file is
//! refused, by the streaming and the random-access reader alike, with the
//! specific error of the region that was damaged.
//!
//! Two files, both for one keyring stanza: 300 bytes of plaintext (one
//! final chunk) and 16 584 bytes (a full chunk and a short final chunk).
//! Flips are exhaustive over the header and the payload prefix, and over
//! the whole one-chunk file; in the two-chunk file the chunk bytes around
//! every boundary are flipped exhaustively and the rest is sampled by
//! proptest. Truncations are exhaustive for both files.

use proptest::prelude::*;
use std::io::{Cursor, Read};
use std::sync::OnceLock;
use strongroom::error::from_io;
use strongroom::file::{Decryptor, Encryptor, Identity, Recipient, SeekableDecryptor, inspect};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;
use strongroom::{Error, Passphrase};

/// Cheap Argon2id parameters (the floor): the keyring is opened once.
const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};

const CHUNK: usize = 16 * 1024;
const TAG: usize = 16;
/// Header of a file with one keyring stanza: core 26, count 2, stanza
/// (kind 1, length 2, body 80), MAC 32.
const HEADER_LEN: usize = 143;
/// Payload salt (24) and key commitment (32).
const PREFIX_LEN: usize = 56;

struct Fixture {
    ring: Keyring,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let ring =
            Keyring::create(&dir.path().join("keys.srk"), &Passphrase::from("proptest"), FAST).unwrap();
        Fixture { ring, _dir: dir }
    })
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[1])
        .collect()
}

/// A file of `len` plaintext bytes for the fixture keyring.
fn encrypted(len: usize) -> &'static [u8] {
    static SMALL: OnceLock<Vec<u8>> = OnceLock::new();
    static TWO: OnceLock<Vec<u8>> = OnceLock::new();
    let cell = match len {
        SMALL_LEN => &SMALL,
        TWO_LEN => &TWO,
        _ => unreachable!(),
    };
    cell.get_or_init(|| {
        let mut enc = Encryptor::new(Vec::new(), &[Recipient::Keyring(&fixture().ring)]).unwrap();
        std::io::Write::write_all(&mut enc, &plaintext(len)).unwrap();
        let file = enc.finish().unwrap();
        let info = inspect(Cursor::new(&file)).unwrap();
        assert_eq!(
            info.header_len as usize, HEADER_LEN,
            "the layout these tests assume"
        );
        assert_eq!(
            file.len(),
            HEADER_LEN + PREFIX_LEN + len + (len / CHUNK + 1) * TAG
        );
        file
    })
}

const SMALL_LEN: usize = 300;
const TWO_LEN: usize = CHUNK + 200;

/// Decrypts `file` with both readers; both must fail, with errors of the
/// same variant (and the same chunk index). Returns the streaming error.
fn refused(file: &[u8], what: &str) -> Error {
    let ids = [Identity::Keyring(&fixture().ring)];
    let streamed = Decryptor::new(file, &ids).and_then(|mut d| {
        let mut out = Vec::new();
        d.read_to_end(&mut out).map_err(from_io).map(|_| out)
    });
    let seeked = SeekableDecryptor::new(Cursor::new(file), &ids).and_then(|mut d| {
        let mut out = Vec::new();
        d.read_to_end(&mut out).map_err(from_io).map(|_| out)
    });
    let (Err(a), Err(b)) = (streamed, seeked) else {
        panic!("{what}: a reader accepted the damaged file");
    };
    let same = match (&a, &b) {
        (Error::ChunkAuthFailed { index: i }, Error::ChunkAuthFailed { index: j }) => i == j,
        (Error::UnknownKeyVersion(v), Error::UnknownKeyVersion(w)) => v == w,
        _ => std::mem::discriminant(&a) == std::mem::discriminant(&b),
    };
    assert!(same, "{what}: streaming says {a:?}, random access {b:?}");
    a
}

/// Flips bit `bit` of `file` and checks the error for the flipped region.
fn check_flip(file: &[u8], bit: usize) {
    let mut damaged = file.to_vec();
    let pos = bit / 8;
    damaged[pos] ^= 1 << (bit % 8);
    let what = format!("bit {} of byte {pos} ({} bytes)", bit % 8, file.len());
    let e = refused(&damaged, &what);
    let ok = match pos {
        0..8 => matches!(e, Error::BadMagic { .. }),
        8 => matches!(e, Error::UnsupportedVersion { version, .. } if version == damaged[8]),
        9 => matches!(e, Error::UnsupportedSuite(s) if s == damaged[9]),
        // The file id is part of the core, bound into every stanza.
        10..26 => matches!(e, Error::StanzaAuthFailed { .. }),
        // Stanza count: 0 or above the cap is malformed; a few more
        // stanzas read the MAC and payload as stanzas.
        26..28 => matches!(
            e,
            Error::Malformed { .. } | Error::Truncated(_) | Error::HeaderMacMismatch
        ),
        // Stanza kind: any other kind is unknown, so no stanza is usable.
        28 => matches!(e, Error::NoMatchingKey { .. }),
        // Stanza body length: a keyring stanza has exactly 80 bytes.
        29..31 => matches!(e, Error::Malformed { .. } | Error::Truncated(_)),
        31..47 => matches!(e, Error::WrongKeyring),
        47..51 => {
            let v = u32::from_be_bytes(damaged[47..51].try_into().unwrap());
            matches!(e, Error::UnknownKeyVersion(u) if u == v)
        }
        // Wrap nonce and wrapped file key.
        51..111 => matches!(e, Error::StanzaAuthFailed { .. }),
        111..HEADER_LEN => matches!(e, Error::HeaderMacMismatch),
        p if p < HEADER_LEN + PREFIX_LEN => matches!(e, Error::CommitmentMismatch),
        p => {
            let chunk = ((p - HEADER_LEN - PREFIX_LEN) / (CHUNK + TAG)) as u64;
            matches!(e, Error::ChunkAuthFailed { index } if index == chunk)
        }
    };
    assert!(ok, "{what}: wrong error {e:?}");
}

/// Cuts `file` to `len` bytes and checks the error.
fn check_truncation(file: &[u8], len: usize) {
    let e = refused(&file[..len], &format!("cut to {len} of {} bytes", file.len()));
    let expected_truncated = if len < HEADER_LEN + PREFIX_LEN {
        true
    } else {
        // Bytes of the last (now final) chunk that are left.
        let rest = (len - HEADER_LEN - PREFIX_LEN) % (CHUNK + TAG);
        rest < TAG
    };
    if expected_truncated {
        assert!(
            matches!(e, Error::Truncated(_)),
            "cut to {len}: wrong error {e:?}"
        );
    } else {
        let chunk = ((len - HEADER_LEN - PREFIX_LEN) / (CHUNK + TAG)) as u64;
        assert!(
            matches!(e, Error::ChunkAuthFailed { index } if index == chunk),
            "cut to {len}: wrong error {e:?}, expected chunk {chunk}"
        );
    }
}

#[test]
fn every_bit_flip_of_a_one_chunk_file() {
    let file = encrypted(SMALL_LEN);
    for bit in 0..file.len() * 8 {
        check_flip(file, bit);
    }
}

#[test]
fn every_truncation_of_a_one_chunk_file() {
    let file = encrypted(SMALL_LEN);
    for len in 0..file.len() {
        check_truncation(file, len);
    }
}

#[test]
fn every_truncation_of_a_two_chunk_file() {
    let file = encrypted(TWO_LEN);
    for len in 0..file.len() {
        check_truncation(file, len);
    }
}

#[test]
fn bit_flips_at_the_edges_of_a_two_chunk_file() {
    let file = encrypted(TWO_LEN);
    let chunk1 = HEADER_LEN + PREFIX_LEN + CHUNK + TAG;
    let edges = [
        0..HEADER_LEN + PREFIX_LEN + 64,
        chunk1 - 64..chunk1 + 64,
        file.len() - 64..file.len(),
    ];
    for range in edges {
        for bit in range.start * 8..range.end * 8 {
            check_flip(file, bit);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sampled_bit_flips_in_a_two_chunk_file(bit in 0..encrypted(TWO_LEN).len() * 8) {
        check_flip(encrypted(TWO_LEN), bit);
    }
}
