//! Fixed keys and names shared by the fuzz targets and the seed builder, so
//! that the seeds the builder writes are inputs the targets can open.
//!
//! Everything here comes from `testdata/`: the testkit keyring
//! (`testdata/testkit/keyring.srk` and its passphrase), the purpose keys
//! and column names of `testdata/field/vectors.json`, and the recovery key
//! of the keyring example in docs/SPEC.md section 4.

use std::path::{Path, PathBuf};
use strongroom::field::{ColumnSpec, FieldCipher, PurposeKeys, ValueType};
use strongroom::keyring::{Keyring, RecoveryKey, Unlock};
use strongroom::{Passphrase, SecretKey};

/// Passphrase of `testdata/testkit/keyring.srk` (testdata/testkit/README.md).
pub const TESTKIT_KEYRING_PASSPHRASE: &str = "testkit keyring passphrase";

/// Recovery key of the keyring example (`testdata/keyring/example.hex`,
/// docs/SPEC.md section 4.6). Opening with it needs no Argon2id work, so
/// the keyring target stays fast whatever the input's KDF parameters are.
pub const EXAMPLE_RECOVERY_KEY: &str =
    "SRRK-G20R5-0W4GP-38F24-9HA5R-S3CEH-Y8934-MKJJA-SD5WR-K6D9Q-74XKT-FSGD0";

/// Key version of the field vectors.
pub const FIELD_KEY_VERSION: u32 = 7;

/// Table and column names of the field vectors, and the one the seed
/// builder uses for values of every type.
pub const FIELD_COLUMNS: [(&str, &str); 4] = [
    ("users", "email"),
    ("users", "phone"),
    ("payments", "amount"),
    ("fuzz", "values"),
];

/// Row keys the field vectors and seeds bind (`None` is tried too).
pub const FIELD_ROWS: [&[u8]; 3] = [b"row-1", b"row-2", &[0, 0, 0, 0, 0, 0, 0, 7]];

/// `testdata/<rel>` of the repository (found above this crate's folder).
pub fn testdata(rel: impl AsRef<Path>) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here
        .ancestors()
        .find(|d| d.join("testdata").join("testkit").is_dir())
        .expect("the repository's testdata/ above the fuzz crate");
    root.join("testdata").join(rel)
}

/// The testkit keyring, unlocked (Argon2id at the 8 MiB floor, once).
pub fn testkit_keyring() -> Keyring {
    let path = testdata("testkit/keyring.srk");
    let unlock = Unlock::Passphrase(Passphrase::from(TESTKIT_KEYRING_PASSPHRASE));
    Keyring::open(&path, &unlock).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
}

/// The recovery-key unlock of the keyring example.
pub fn example_unlock() -> Unlock {
    Unlock::RecoveryKey(RecoveryKey::parse(EXAMPLE_RECOVERY_KEY).expect("the example recovery key parses"))
}

/// [`example_unlock`], built once.
pub fn example_unlock_ref() -> &'static Unlock {
    static U: std::sync::OnceLock<Unlock> = std::sync::OnceLock::new();
    U.get_or_init(example_unlock)
}

/// The bytes of the format-3 keyring example (`testdata/keyring/example.hex`).
pub fn example_keyring_bytes() -> Vec<u8> {
    let text = std::fs::read_to_string(testdata("keyring/example.hex")).expect("reading the keyring example");
    let hex: Vec<u8> = text.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    hex.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("hex"), 16).expect("hex"))
        .collect()
}

/// The master key of the keyring example: 00 01 .. 1f (docs/SPEC.md
/// section 4.6; it is an input of the example, not a secret).
pub fn example_master_key() -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = i as u8;
    }
    b
}

fn seq(start: u8) -> SecretKey {
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = start.wrapping_add(i as u8);
    }
    SecretKey::from_array(b)
}

/// The purpose keys of the field vectors (00..1f, 20..3f, 40..5f).
pub fn field_keys() -> PurposeKeys {
    PurposeKeys {
        field: seq(0x00),
        deterministic: seq(0x20),
        blind_index: seq(0x40),
    }
}

/// A cipher for `table.column` holding `ty`, with the vector keys.
pub fn field_cipher(table: &str, column: &str, ty: ValueType, deterministic: bool) -> FieldCipher {
    let mut spec = ColumnSpec::new(ty).hide_null();
    if deterministic {
        spec = spec.deterministic();
    }
    FieldCipher::with_keys(
        table,
        column,
        spec,
        FIELD_KEY_VERSION,
        vec![(FIELD_KEY_VERSION, field_keys())],
    )
    .expect("fixed names and keys are valid")
}
