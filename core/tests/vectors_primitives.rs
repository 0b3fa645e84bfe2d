//! Conformance of the cryptographic primitives in `strongroom::hazmat`
//! against published Wycheproof vectors (copied into `testdata/wycheproof/`):
//! AES-256-GCM (through whichever engine is compiled in), HKDF-SHA-256,
//! HKDF-SHA-512 and HMAC-SHA-256.
//!
//! Run with `--nocapture` to see how many vectors each test exercised.

mod common;

use common::{AeadCase, AeadGroup, Expected, hex_bytes, load_wycheproof};
use serde::Deserialize;
use strongroom::hazmat::aead::OpenError;
use strongroom::hazmat::aead::{Aes256Gcm, KEY_LEN, NONCE_LEN, TAG_LEN};
use strongroom::hazmat::kdf::{self, Hash, OutputTooLong};

// ---------------------------------------------------------------- AES-GCM

/// Number of AES-GCM cases in `aes_gcm_test.json` with a 256-bit key, 96-bit
/// IV and 128-bit tag (39 valid, 27 invalid). Asserted as a floor so that a
/// filtering mistake cannot make the test pass on an empty set.
const MIN_AES_GCM_EXERCISED: usize = 66;

/// Runs every AES-256-GCM case with a 96-bit IV and 128-bit tag through all
/// four entry points of [`Aes256Gcm`]; other key and IV sizes are counted as
/// skipped (strongroom only implements AES-256 with 96-bit nonces).
///
/// - `valid`: `seal_into` must give exactly `ct || tag`, `seal_in_place` must
///   give `ct` and `tag`, and both `open_into` and `open_in_place` must
///   recover `msg`.
/// - `invalid`: both open functions must fail (and `open_into` must leave
///   its output zeroed); sealing `msg` must not produce `ct || tag`, since
///   that would make the ciphertext valid.
/// - `acceptable` (Wycheproof: legal but weak input that an implementation
///   may reject): opening may fail, but if it succeeds it must recover `msg`,
///   and then sealing must reproduce `ct || tag`. The current file has none.
#[test]
fn wycheproof_aes_256_gcm() {
    let file = load_wycheproof::<AeadGroup>("aes_gcm_test.json", "AES-GCM", |g| g.tests.len());
    let (mut valid, mut invalid, mut acceptable, mut skipped) = (0usize, 0usize, 0usize, 0usize);
    for group in &file.test_groups {
        if group.key_size != 8 * KEY_LEN || group.iv_size != 8 * NONCE_LEN || group.tag_size != 8 * TAG_LEN {
            skipped += group.tests.len();
            continue;
        }
        for case in &group.tests {
            check_aes_gcm_case(case);
            match case.result {
                Expected::Valid => valid += 1,
                Expected::Invalid => invalid += 1,
                Expected::Acceptable => acceptable += 1,
            }
        }
    }
    let exercised = valid + invalid + acceptable;
    println!(
        "AES-256-GCM [{}]: {exercised} cases exercised ({valid} valid, {invalid} invalid, \
         {acceptable} acceptable), {skipped} skipped (other key/IV/tag sizes)",
        Aes256Gcm::engine_name()
    );
    assert!(exercised > 0, "no AES-256-GCM case was exercised");
    assert!(
        exercised >= MIN_AES_GCM_EXERCISED,
        "only {exercised} AES-256-GCM cases exercised, expected at least {MIN_AES_GCM_EXERCISED}"
    );
    assert!(
        valid > 0 && invalid > 0,
        "both valid and invalid cases must be exercised"
    );
    assert_eq!(exercised + skipped, file.number_of_tests);
}

fn check_aes_gcm_case(case: &AeadCase) {
    let id = format!("tcId {} ({})", case.tc_id, case.comment);
    let key: &[u8; KEY_LEN] = case.key.as_slice().try_into().expect("256-bit key");
    let nonce: &[u8; NONCE_LEN] = case.iv.as_slice().try_into().expect("96-bit IV");
    assert_eq!(case.tag.len(), TAG_LEN, "{id}: tag size");
    let gcm = Aes256Gcm::new(key);
    let ct_and_tag = [case.ct.as_slice(), case.tag.as_slice()].concat();

    // Encryption of the given message, both ways.
    let mut sealed = vec![0u8; case.msg.len() + TAG_LEN];
    gcm.seal_into(nonce, &case.aad, &case.msg, &mut sealed);
    let mut in_place = case.msg.clone();
    let tag = gcm.seal_in_place(nonce, &case.aad, &mut in_place);
    assert_eq!(
        [in_place.as_slice(), tag.as_slice()].concat(),
        sealed,
        "{id}: seal_in_place and seal_into disagree"
    );

    // Decryption of the given ciphertext, both ways.
    let mut opened = vec![0xaau8; case.ct.len()];
    let open_into = gcm.open_into(nonce, &case.aad, &ct_and_tag, &mut opened);
    let mut buf = ct_and_tag.clone();
    let open_in_place = gcm.open_in_place(nonce, &case.aad, &mut buf);
    // And shifted down by 7 bytes while opening (`open_within`).
    let mut shifted = [vec![0x55u8; 7], ct_and_tag.clone()].concat();
    let open_within = gcm.open_within(nonce, &case.aad, &mut shifted, 7);

    let must_open = match case.result {
        Expected::Valid => true,
        Expected::Invalid => false,
        // Acceptable: whichever outcome, the two open paths must agree, and
        // an accepted ciphertext is then held to the `valid` rules.
        Expected::Acceptable => open_into.is_ok(),
    };
    if must_open {
        assert_eq!(sealed, ct_and_tag, "{id}: seal_into did not produce ct || tag");
        assert_eq!(in_place, case.ct, "{id}: seal_in_place ciphertext");
        assert_eq!(tag.as_slice(), case.tag.as_slice(), "{id}: seal_in_place tag");
        assert_eq!(open_into, Ok(()), "{id}: open_into rejected a valid ciphertext");
        assert_eq!(opened, case.msg, "{id}: open_into plaintext");
        assert_eq!(
            open_in_place,
            Ok(case.msg.len()),
            "{id}: open_in_place rejected a valid ciphertext"
        );
        assert_eq!(
            &buf[..case.msg.len()],
            case.msg.as_slice(),
            "{id}: open_in_place plaintext"
        );
        assert_eq!(
            open_within,
            Ok(case.msg.len()),
            "{id}: open_within rejected a valid ciphertext"
        );
        assert_eq!(
            &shifted[..case.msg.len()],
            case.msg.as_slice(),
            "{id}: open_within plaintext"
        );
    } else {
        assert_eq!(
            open_within,
            Err(OpenError),
            "{id}: open_within accepted an invalid ciphertext"
        );
        assert!(
            shifted[..case.ct.len()].iter().all(|&b| b == 0),
            "{id}: open_within left output after failing"
        );
        assert_eq!(
            open_into,
            Err(OpenError),
            "{id}: open_into accepted an invalid ciphertext"
        );
        assert!(
            opened.iter().all(|&b| b == 0),
            "{id}: open_into left output after failing"
        );
        assert_eq!(
            open_in_place,
            Err(OpenError),
            "{id}: open_in_place accepted an invalid ciphertext"
        );
        assert_ne!(
            sealed, ct_and_tag,
            "{id}: sealing reproduced an 'invalid' ciphertext"
        );
    }
}

// ---------------------------------------------------------------- HKDF

/// A test group of `hkdf_test_schema_v1.json`.
#[derive(Debug, Deserialize)]
struct HkdfGroup {
    tests: Vec<HkdfCase>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HkdfCase {
    tc_id: u32,
    comment: String,
    #[serde(deserialize_with = "hex_bytes")]
    ikm: Vec<u8>,
    #[serde(deserialize_with = "hex_bytes")]
    salt: Vec<u8>,
    #[serde(deserialize_with = "hex_bytes")]
    info: Vec<u8>,
    size: usize,
    #[serde(deserialize_with = "hex_bytes")]
    okm: Vec<u8>,
    result: Expected,
}

/// Runs a Wycheproof HKDF file through [`kdf::hkdf`]: `valid` cases must give
/// exactly `okm`, also when `info` is passed to [`kdf::hkdf_expand`] split
/// into two parts; `invalid` cases (all "SizeTooLarge", asking for more than
/// 255 hash blocks) must return `Err(OutputTooLong)`. No `acceptable` cases
/// exist in these files; one would be held to the `valid` rules if accepted.
/// Returns (valid, invalid) counts.
fn run_hkdf(file_name: &str, algorithm: &str, hash: Hash) -> (usize, usize) {
    let file = load_wycheproof::<HkdfGroup>(file_name, algorithm, |g| g.tests.len());
    let (mut valid, mut invalid) = (0, 0);
    for case in file.test_groups.iter().flat_map(|g| &g.tests) {
        let id = format!("{file_name} tcId {} ({})", case.tc_id, case.comment);
        let mut okm = vec![0u8; case.size];
        let result = kdf::hkdf(hash, &case.ikm, &case.salt, &case.info, &mut okm);
        let accepted = match case.result {
            Expected::Valid => true,
            Expected::Invalid => false,
            Expected::Acceptable => result.is_ok(),
        };
        if accepted {
            assert_eq!(result, Ok(()), "{id}: rejected a valid case");
            assert_eq!(okm, case.okm, "{id}: okm");
            // Same output with the info split across parts.
            let prk = kdf::hkdf_extract(hash, &case.salt, &case.ikm);
            let (a, b) = case.info.split_at(case.info.len() / 2);
            let mut okm2 = vec![0u8; case.size];
            kdf::hkdf_expand(hash, &prk, &[a, b], &mut okm2).unwrap();
            assert_eq!(okm2, case.okm, "{id}: okm with split info");
            valid += 1;
        } else {
            assert!(
                case.size > 255 * hash.len(),
                "{id}: unexpected kind of invalid case"
            );
            assert_eq!(result, Err(OutputTooLong), "{id}: accepted an invalid case");
            invalid += 1;
        }
    }
    println!(
        "{algorithm}: {} cases exercised ({valid} valid, {invalid} invalid)",
        valid + invalid
    );
    assert_eq!(valid + invalid, file.number_of_tests);
    (valid, invalid)
}

#[test]
fn wycheproof_hkdf_sha256() {
    let (valid, invalid) = run_hkdf("hkdf_sha256_test.json", "HKDF-SHA-256", Hash::Sha256);
    assert!(
        valid >= 83 && invalid >= 3,
        "fewer HKDF-SHA-256 cases than expected"
    );
}

#[test]
fn wycheproof_hkdf_sha512() {
    let (valid, invalid) = run_hkdf("hkdf_sha512_test.json", "HKDF-SHA-512", Hash::Sha512);
    assert!(
        valid >= 80 && invalid >= 3,
        "fewer HKDF-SHA-512 cases than expected"
    );
}

// ---------------------------------------------------------------- HMAC

/// A test group of `mac_test_schema_v1.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MacGroup {
    tag_size: usize,
    tests: Vec<MacCase>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MacCase {
    tc_id: u32,
    comment: String,
    #[serde(deserialize_with = "hex_bytes")]
    key: Vec<u8>,
    #[serde(deserialize_with = "hex_bytes")]
    msg: Vec<u8>,
    #[serde(deserialize_with = "hex_bytes")]
    tag: Vec<u8>,
    result: Expected,
}

/// Runs `hmac_sha256_test.json` through [`kdf::hmac_sha256`], which always
/// produces the full 256-bit tag: for groups with a shorter `tagSize` the
/// first `tagSize / 8` bytes are compared. `valid` tags must match (also with
/// the message split into two parts), `invalid` (modified) tags must not.
/// No `acceptable` cases exist; one would count as valid if it matched.
#[test]
fn wycheproof_hmac_sha256() {
    let file = load_wycheproof::<MacGroup>("hmac_sha256_test.json", "HMACSHA256", |g| g.tests.len());
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut truncated = 0usize;
    for group in &file.test_groups {
        assert!(
            group.tag_size % 8 == 0 && group.tag_size <= 256 && group.tag_size > 0,
            "tagSize {}",
            group.tag_size
        );
        let tag_len = group.tag_size / 8;
        for case in &group.tests {
            let id = format!("tcId {} ({})", case.tc_id, case.comment);
            assert_eq!(case.tag.len(), tag_len, "{id}: tag length");
            let full = kdf::hmac_sha256(&case.key, &[&case.msg]);
            let (a, b) = case.msg.split_at(case.msg.len() / 2);
            assert_eq!(kdf::hmac_sha256(&case.key, &[a, b]), full, "{id}: split message");
            let matches = kdf::ct_eq(&full[..tag_len], &case.tag);
            assert_eq!(
                matches,
                full[..tag_len] == case.tag[..],
                "{id}: ct_eq disagrees with =="
            );
            match case.result {
                Expected::Valid => {
                    assert!(matches, "{id}: valid tag mismatch");
                    valid += 1;
                }
                Expected::Invalid => {
                    assert!(!matches, "{id}: invalid tag matched");
                    invalid += 1;
                }
                Expected::Acceptable => {
                    if matches {
                        valid += 1;
                    } else {
                        invalid += 1;
                    }
                }
            }
            if tag_len < full.len() {
                truncated += 1;
            }
        }
    }
    let exercised = valid + invalid;
    println!(
        "HMAC-SHA-256: {exercised} cases exercised ({valid} valid, {invalid} invalid; \
         {truncated} with truncated tags)"
    );
    assert_eq!(exercised, file.number_of_tests);
    assert!(
        valid >= 66 && invalid >= 108,
        "fewer HMAC-SHA-256 cases than expected"
    );
}

// ---------------------------------------------------------------- engine

/// The AEAD engine compiled in is the one the cargo features ask for.
#[test]
fn aead_engine_matches_features() {
    // Precedence when several engine features are on: pure-rust, aws-lc, ring.
    let expected = if cfg!(feature = "pure-rust") {
        "rustcrypto"
    } else if cfg!(feature = "aws-lc") {
        "aws-lc-rs"
    } else {
        "ring"
    };
    println!("AES-256-GCM engine: {}", Aes256Gcm::engine_name());
    assert_eq!(Aes256Gcm::engine_name(), expected);
}
