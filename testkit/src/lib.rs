//! The strongroom testkit: deliberately broken encrypted files, each with
//! the error a correct reader must report.
//!
//! [`generate`] writes the files and `manifest.json` into a folder
//! (`cargo run -p strongroom-testkit --bin make-testkit -- testdata/testkit`);
//! the tests in `tests/testkit.rs` read that folder and check every case.
//!
//! [`forge`] is an independent writer of keyring files, built from the
//! specification alone, that the keyring attack tests use.

pub mod forge;

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use strongroom::Error;
use strongroom::file::{Encryptor, Recipient, inspect};
use strongroom::hazmat::chunked::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, PREFIX_LEN};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfParams;
use strongroom::{Passphrase, Result};

/// Argon2id parameters of the testkit's secrets (the floor, for speed).
pub const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};
/// Passphrase of `keyring.srk` and `other.srk`.
pub const KEYRING_PASSPHRASE: &str = "testkit keyring passphrase";
/// Passphrase of the passphrase-protected cases.
pub const FILE_PASSPHRASE: &str = "testkit file passphrase";
/// Plaintext length: two full chunks and a short final one.
pub const PLAINTEXT_LEN: usize = 2 * CHUNK_SIZE + 7232;

/// Which secret a case is opened with.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Opener {
    /// `keyring.srk`.
    Keyring,
    /// `other.srk`, a keyring the file was not encrypted to.
    OtherKeyring,
    /// [`FILE_PASSPHRASE`].
    Passphrase,
    /// A passphrase that is not [`FILE_PASSPHRASE`].
    WrongPassphrase,
}

/// One testkit file and its expected outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// File name inside the testkit folder.
    pub file: String,
    /// What is wrong with it.
    pub description: String,
    /// The secret to open it with.
    pub opener: Opener,
    /// `"ok"` or the expected error, as named by [`error_name`].
    pub expect: String,
    /// Whether a streaming reader may release a prefix of the plaintext
    /// (validly encrypted leading chunks) before failing.
    pub partial_plaintext: bool,
}

/// The manifest written next to the files.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// How the folder was made.
    pub generator: String,
    /// Plaintext of every case: [`plaintext`].
    pub plaintext_len: usize,
    /// Hex SHA-256 of the plaintext.
    pub plaintext_sha256: String,
    /// The cases.
    pub cases: Vec<Case>,
}

/// The plaintext every case encrypts (deterministic).
pub fn plaintext() -> Vec<u8> {
    (0..PLAINTEXT_LEN)
        .map(|i| (i % 251) as u8 ^ (i >> 8) as u8)
        .collect()
}

/// The name the manifest gives an outcome: the error's stable name from the
/// error table ([`Error::name`]), with the chunk index or key version where
/// the variant carries one, e.g. `ChunkAuthFailed(2)`.
pub fn error_name(e: &Error) -> String {
    match e {
        Error::ChunkAuthFailed { index } => format!("{}({index})", e.name()),
        Error::UnknownKeyVersion(v) => format!("{}({v})", e.name()),
        other => other.name().to_string(),
    }
}

struct Builder<'a> {
    dir: &'a Path,
    cases: Vec<Case>,
}

impl Builder<'_> {
    fn add(
        &mut self,
        file: &str,
        bytes: &[u8],
        opener: Opener,
        expect: &str,
        partial: bool,
        description: &str,
    ) -> Result<()> {
        std::fs::write(self.dir.join(file), bytes)?;
        self.cases.push(Case {
            file: file.into(),
            description: description.into(),
            opener,
            expect: expect.into(),
            partial_plaintext: partial,
        });
        Ok(())
    }
}

fn encrypt(recipients: &[Recipient<'_>]) -> Result<Vec<u8>> {
    let mut enc = Encryptor::new(Vec::new(), recipients)?;
    enc.write_all(&plaintext())?;
    enc.finish()
}

fn flipped(base: &[u8], offset: usize, mask: u8) -> Vec<u8> {
    let mut v = base.to_vec();
    v[offset] ^= mask;
    v
}

/// Writes `keyring.srk`, `other.srk`, every case file and `manifest.json`
/// into `dir` (which must exist and be empty).
pub fn generate(dir: &Path) -> Result<Manifest> {
    let pass = Passphrase::from(KEYRING_PASSPHRASE);
    let kr = Keyring::create(&dir.join("keyring.srk"), &pass, FAST)?;
    Keyring::create(&dir.join("other.srk"), &pass, FAST)?;
    let file_pass = Passphrase::from(FILE_PASSPHRASE);
    let mut b = Builder {
        dir,
        cases: Vec::new(),
    };
    use Opener::{OtherKeyring, WrongPassphrase};

    let base = encrypt(&[Recipient::Keyring(&kr)])?;
    let h = inspect(std::io::Cursor::new(&base))?.header_len as usize;
    // Keyring-stanza header: core 26 | count 2 | kind 1 | len 2 | id 16 | version 4 | nonce 12 | wrapped 48 | MAC 32.
    assert_eq!(h, 143, "the offsets below assume one keyring stanza");
    let (salt, commit, c0) = (h, h + 24, h + PREFIX_LEN);
    let c1 = c0 + ENCRYPTED_CHUNK_SIZE;
    let c2 = c1 + ENCRYPTED_CHUNK_SIZE;
    let end = base.len();
    let tag = |chunk_start: usize, len: usize| chunk_start + len - 16;

    b.add(
        "valid_keyring.srf",
        &base,
        Opener::Keyring,
        "ok",
        false,
        "valid file for keyring.srk",
    )?;
    b.add(
        "valid_passphrase.srf",
        &encrypt(&[Recipient::Passphrase(&file_pass, FAST)])?,
        Opener::Passphrase,
        "ok",
        false,
        "valid file for the passphrase",
    )?;
    let both = encrypt(&[Recipient::Keyring(&kr), Recipient::Passphrase(&file_pass, FAST)])?;
    b.add(
        "valid_both_keyring.srf",
        &both,
        Opener::Keyring,
        "ok",
        false,
        "keyring plus escrow passphrase, opened by the keyring",
    )?;
    b.add(
        "valid_both_passphrase.srf",
        &both,
        Opener::Passphrase,
        "ok",
        false,
        "keyring plus escrow passphrase, opened by the passphrase",
    )?;

    let flips: [(&str, usize, u8, &str, bool, &str); 22] = [
        (
            "flip_magic",
            0,
            0x01,
            "BadMagic",
            false,
            "bit flipped in the magic bytes",
        ),
        (
            "flip_version",
            8,
            0x01,
            "UnsupportedVersion",
            false,
            "bit flipped in the version byte",
        ),
        (
            "flip_suite",
            9,
            0x02,
            "UnsupportedSuite",
            false,
            "bit flipped in the suite byte",
        ),
        (
            "flip_file_id",
            10,
            0x80,
            "StanzaAuthFailed",
            false,
            "bit flipped in the file id (part of the core, bound into every stanza)",
        ),
        (
            "flip_stanza_count",
            27,
            0x01,
            "Malformed",
            false,
            "stanza count 1 becomes 0",
        ),
        (
            "flip_stanza_kind",
            28,
            0x01,
            "NoMatchingKey",
            false,
            "stanza kind 1 becomes unknown kind 0, so no stanza is usable",
        ),
        (
            "flip_stanza_length",
            30,
            0x01,
            "Malformed",
            false,
            "stanza body length 80 becomes 81",
        ),
        (
            "flip_stanza_keyring_id",
            31,
            0x01,
            "WrongKeyring",
            false,
            "bit flipped in the stanza's keyring id",
        ),
        (
            "flip_stanza_key_version",
            50,
            0x01,
            "UnknownKeyVersion(0)",
            false,
            "key version 1 becomes 0",
        ),
        (
            "flip_stanza_nonce",
            51,
            0x01,
            "StanzaAuthFailed",
            false,
            "bit flipped in the stanza's wrap nonce",
        ),
        (
            "flip_stanza_wrapped_key",
            70,
            0x01,
            "StanzaAuthFailed",
            false,
            "bit flipped in the wrapped file key",
        ),
        (
            "flip_header_mac",
            111,
            0x01,
            "HeaderMacMismatch",
            false,
            "bit flipped in the header MAC",
        ),
        (
            "flip_payload_salt",
            salt,
            0x01,
            "CommitmentMismatch",
            false,
            "bit flipped in the payload salt",
        ),
        (
            "flip_payload_commitment",
            commit + 31,
            0x80,
            "CommitmentMismatch",
            false,
            "bit flipped in the key commitment",
        ),
        (
            "flip_chunk0_body",
            c0 + 100,
            0x01,
            "ChunkAuthFailed(0)",
            false,
            "bit flipped in chunk 0's ciphertext",
        ),
        (
            "flip_chunk0_tag",
            tag(c0, ENCRYPTED_CHUNK_SIZE),
            0x01,
            "ChunkAuthFailed(0)",
            false,
            "bit flipped in chunk 0's tag",
        ),
        (
            "flip_chunk1_body",
            c1 + 9000,
            0x10,
            "ChunkAuthFailed(1)",
            true,
            "bit flipped in chunk 1's ciphertext",
        ),
        (
            "flip_chunk1_tag",
            tag(c1, ENCRYPTED_CHUNK_SIZE) + 15,
            0x01,
            "ChunkAuthFailed(1)",
            true,
            "bit flipped in chunk 1's tag",
        ),
        (
            "flip_final_body",
            c2,
            0x01,
            "ChunkAuthFailed(2)",
            true,
            "bit flipped in the final chunk's ciphertext",
        ),
        (
            "flip_final_tag",
            end - 1,
            0x01,
            "ChunkAuthFailed(2)",
            true,
            "bit flipped in the final chunk's tag",
        ),
        (
            "unknown_version",
            8,
            0x03,
            "UnsupportedVersion",
            false,
            "version byte 2 (a future format)",
        ),
        (
            "flip_stanza_length_high",
            29,
            0x80,
            "Malformed",
            false,
            "stanza body length above the 1024-byte cap",
        ),
    ];
    for (name, off, mask, expect, partial, desc) in flips {
        b.add(
            &format!("{name}.srf"),
            &flipped(&base, off, mask),
            Opener::Keyring,
            expect,
            partial,
            desc,
        )?;
    }

    let truncations: [(&str, usize, &str, bool, &str); 16] = [
        ("trunc_empty", 0, "Truncated", false, "empty file"),
        (
            "trunc_mid_magic",
            4,
            "Truncated",
            false,
            "cut inside the magic bytes",
        ),
        (
            "trunc_after_core",
            26,
            "Truncated",
            false,
            "cut after the immutable core",
        ),
        (
            "trunc_mid_stanza",
            60,
            "Truncated",
            false,
            "cut inside the stanza",
        ),
        (
            "trunc_before_mac",
            111,
            "Truncated",
            false,
            "cut before the header MAC",
        ),
        (
            "trunc_mid_mac",
            130,
            "Truncated",
            false,
            "cut inside the header MAC",
        ),
        (
            "trunc_after_header",
            h,
            "Truncated",
            false,
            "header only, no payload",
        ),
        (
            "trunc_mid_salt",
            salt + 10,
            "Truncated",
            false,
            "cut inside the payload salt",
        ),
        (
            "trunc_mid_commitment",
            commit + 10,
            "Truncated",
            false,
            "cut inside the key commitment",
        ),
        (
            "trunc_after_prefix",
            c0,
            "Truncated",
            false,
            "salt and commitment, no chunk",
        ),
        (
            "trunc_mid_chunk0",
            c0 + 8000,
            "ChunkAuthFailed(0)",
            false,
            "cut inside chunk 0 (the rest reads as a bad final chunk)",
        ),
        (
            "trunc_after_chunk0",
            c1,
            "Truncated",
            true,
            "cut after chunk 0: the short final chunk is missing",
        ),
        (
            "trunc_mid_chunk1",
            c1 + 5000,
            "ChunkAuthFailed(1)",
            true,
            "cut inside chunk 1",
        ),
        (
            "trunc_after_chunk1",
            c2,
            "Truncated",
            true,
            "cut after chunk 1: the short final chunk is missing",
        ),
        (
            "trunc_final_short",
            c2 + 10,
            "Truncated",
            true,
            "final chunk shorter than a tag",
        ),
        (
            "trunc_final_minus_one",
            end - 1,
            "ChunkAuthFailed(2)",
            true,
            "last byte of the final tag missing",
        ),
    ];
    for (name, len, expect, partial, desc) in truncations {
        b.add(
            &format!("{name}.srf"),
            &base[..len],
            Opener::Keyring,
            expect,
            partial,
            desc,
        )?;
    }

    let chunk = |i: usize| &base[c0 + i * ENCRYPTED_CHUNK_SIZE..c0 + (i + 1) * ENCRYPTED_CHUNK_SIZE];
    let splice = |parts: &[&[u8]]| parts.concat();
    b.add(
        "swap_chunks.srf",
        &splice(&[&base[..c0], chunk(1), chunk(0), &base[c2..]]),
        Opener::Keyring,
        "ChunkAuthFailed(0)",
        false,
        "chunks 0 and 1 swapped",
    )?;
    b.add(
        "duplicate_chunk.srf",
        &splice(&[&base[..c1], chunk(0), &base[c2..]]),
        Opener::Keyring,
        "ChunkAuthFailed(1)",
        true,
        "chunk 0 repeated in place of chunk 1",
    )?;
    b.add(
        "trailing_byte.srf",
        &splice(&[&base, &[0]]),
        Opener::Keyring,
        "ChunkAuthFailed(2)",
        true,
        "one byte after the final chunk",
    )?;
    b.add(
        "trailing_garbage.srf",
        &splice(&[&base, &[0x55; 20]]),
        Opener::Keyring,
        "ChunkAuthFailed(2)",
        true,
        "20 bytes after the final chunk",
    )?;
    b.add(
        "trailing_chunk.srf",
        &splice(&[&base, chunk(1)]),
        Opener::Keyring,
        "ChunkAuthFailed(2)",
        true,
        "a whole valid chunk after the final chunk",
    )?;
    b.add(
        "wrong_keyring.srf",
        &base,
        OtherKeyring,
        "WrongKeyring",
        false,
        "valid file opened with another keyring",
    )?;
    let pfile = encrypt(&[Recipient::Passphrase(&file_pass, FAST)])?;
    b.add(
        "wrong_passphrase.srf",
        &pfile,
        WrongPassphrase,
        "WrongPassphrase",
        false,
        "valid file opened with a wrong passphrase",
    )?;
    b.add(
        "keyring_file_with_passphrase.srf",
        &base,
        Opener::Passphrase,
        "NoMatchingKey",
        false,
        "keyring-only file opened with a passphrase",
    )?;
    // Passphrase stanza: core 26 | count 2 | kind 1 | len 2 | memory 4 | iterations 4 | lanes 4 | ...
    let mut huge = pfile.clone();
    huge[31..35].copy_from_slice(&(100u32 << 20).to_be_bytes());
    b.add(
        "kdf_memory_100gib.srf",
        &huge,
        Opener::Passphrase,
        "KdfParams",
        false,
        "Argon2id memory of 100 GiB: refused before any work",
    )?;
    let mut slow = pfile.clone();
    slow[35..39].copy_from_slice(&1_000_000u32.to_be_bytes());
    b.add(
        "kdf_iterations_1m.srf",
        &slow,
        Opener::Passphrase,
        "KdfParams",
        false,
        "Argon2id with a million passes: refused before any work",
    )?;
    let mut lanes = pfile;
    lanes[39..43].copy_from_slice(&0u32.to_be_bytes());
    b.add(
        "kdf_zero_lanes.srf",
        &lanes,
        Opener::Passphrase,
        "KdfParams",
        false,
        "Argon2id with zero lanes",
    )?;

    let manifest = Manifest {
        generator: "cargo run -p strongroom-testkit --bin make-testkit -- testdata/testkit".into(),
        plaintext_len: PLAINTEXT_LEN,
        plaintext_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(plaintext())),
        cases: b.cases,
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).expect("serializable") + "\n",
    )?;
    Ok(manifest)
}
