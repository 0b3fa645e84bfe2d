//! Helpers shared by the integration tests: locating `testdata/` and loading
//! Wycheproof JSON files.
//!
//! Each integration test crate compiles this module separately and uses only
//! part of it, hence the crate-wide `dead_code` allowance below.
#![allow(dead_code)]

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use std::path::{Path, PathBuf};

/// Path of `rel` inside the repository's `testdata/` folder
/// (`CARGO_MANIFEST_DIR/../testdata`).
pub fn testdata(rel: impl AsRef<Path>) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join(rel)
}

/// Reads and parses a JSON file under `testdata/`, panicking with the path on
/// any error (a missing or malformed vector file must fail the test loudly).
pub fn load_json<T: DeserializeOwned>(rel: impl AsRef<Path>) -> T {
    let path = testdata(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Top level of a Wycheproof test vector file; `G` is the schema's group type.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WycheproofFile<G> {
    /// Algorithm name, e.g. "AES-GCM".
    pub algorithm: String,
    /// Total number of test cases the file declares.
    pub number_of_tests: usize,
    /// The test groups.
    pub test_groups: Vec<G>,
}

/// Loads `testdata/wycheproof/<name>`, checking that the file's declared
/// algorithm is `algorithm` and that it holds exactly `numberOfTests` cases
/// (counted by `cases_in_group`).
pub fn load_wycheproof<G: DeserializeOwned>(
    name: &str,
    algorithm: &str,
    cases_in_group: impl Fn(&G) -> usize,
) -> WycheproofFile<G> {
    let file: WycheproofFile<G> = load_json(Path::new("wycheproof").join(name));
    assert_eq!(file.algorithm, algorithm, "{name}: unexpected algorithm");
    let total: usize = file.test_groups.iter().map(cases_in_group).sum();
    assert_eq!(
        total, file.number_of_tests,
        "{name}: numberOfTests disagrees with the groups"
    );
    assert!(total > 0, "{name}: no test cases");
    file
}

/// Expected outcome of a Wycheproof test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    /// The operation must succeed with the given output.
    Valid,
    /// The operation must fail (or, for encryption, must not produce the
    /// given output).
    Invalid,
    /// Legal but discouraged input: an implementation may accept or reject
    /// it, but if it accepts, the result must be the given output.
    Acceptable,
}

/// Serde helper: a hex string decoded to bytes.
pub fn hex_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    hex::decode(&s).map_err(serde::de::Error::custom)
}

/// A test group of Wycheproof's `aead_test_schema_v1.json` (AES-GCM).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AeadGroup {
    /// Key size in bits.
    pub key_size: usize,
    /// IV size in bits.
    pub iv_size: usize,
    /// Tag size in bits.
    pub tag_size: usize,
    /// The cases.
    pub tests: Vec<AeadCase>,
}

/// One AEAD test case.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AeadCase {
    /// Case number.
    pub tc_id: u32,
    /// What the case exercises.
    pub comment: String,
    /// Key.
    #[serde(deserialize_with = "hex_bytes")]
    pub key: Vec<u8>,
    /// Nonce.
    #[serde(deserialize_with = "hex_bytes")]
    pub iv: Vec<u8>,
    /// Associated data.
    #[serde(deserialize_with = "hex_bytes")]
    pub aad: Vec<u8>,
    /// Plaintext.
    #[serde(deserialize_with = "hex_bytes")]
    pub msg: Vec<u8>,
    /// Ciphertext without the tag.
    #[serde(deserialize_with = "hex_bytes")]
    pub ct: Vec<u8>,
    /// Tag.
    #[serde(deserialize_with = "hex_bytes")]
    pub tag: Vec<u8>,
    /// Expected outcome.
    pub result: Expected,
}
