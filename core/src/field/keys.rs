//! Per-column key material of every key version, derived once when a
//! [`super::FieldCipher`] is built.

use super::blind::BlindKey;
use super::context::{LABEL_BLIND_INDEX, LABEL_DETERMINISTIC, LABEL_RANDOM, column_key};
use super::siv::Aes256SivCmac;
use super::xaes::Xaes256Gcm;
use crate::error::{Error, Result};
use crate::keyring::{KeyStatus, KeyUse, Keyring, Purpose};
use crate::secret::SecretKey;
use std::fmt;

/// The three field purpose keys of one key version, as
/// [`Keyring::purpose_key`] derives them for [`Purpose::Field`],
/// [`Purpose::Deterministic`] and [`Purpose::BlindIndex`]. For building a
/// [`super::FieldCipher`] from keys held outside a keyring (test vectors, a
/// key management service).
pub struct PurposeKeys {
    /// Key of [`Purpose::Field`] (random mode).
    pub field: SecretKey,
    /// Key of [`Purpose::Deterministic`] (deterministic mode).
    pub deterministic: SecretKey,
    /// Key of [`Purpose::BlindIndex`].
    pub blind_index: SecretKey,
}

impl fmt::Debug for PurposeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PurposeKeys([REDACTED])")
    }
}

impl PurposeKeys {
    /// The purpose keys of `version` from `ring` (primary or decrypt-only).
    pub fn from_keyring(ring: &Keyring, version: u32) -> Result<Self> {
        Ok(Self {
            field: ring.purpose_key(version, Purpose::Field, KeyUse::Decrypt)?,
            deterministic: ring.purpose_key(version, Purpose::Deterministic, KeyUse::Decrypt)?,
            blind_index: ring.purpose_key(version, Purpose::BlindIndex, KeyUse::Decrypt)?,
        })
    }
}

/// Expanded column keys of one version.
pub(crate) struct ColumnKeys {
    pub xaes: Xaes256Gcm,
    pub siv: Aes256SivCmac,
    pub blind: Option<BlindKey>,
}

impl ColumnKeys {
    pub fn derive(keys: &PurposeKeys, names: &[u8], with_blind: bool) -> Self {
        let xaes = Xaes256Gcm::new(&column_key::<32>(&keys.field, LABEL_RANDOM, names));
        let siv = Aes256SivCmac::new(&column_key::<64>(&keys.deterministic, LABEL_DETERMINISTIC, names));
        let blind =
            with_blind.then(|| BlindKey::new(&column_key::<32>(&keys.blind_index, LABEL_BLIND_INDEX, names)));
        Self { xaes, siv, blind }
    }
}

/// A key version as the cipher knows it.
pub(crate) struct VersionSlot {
    pub version: u32,
    pub state: SlotState,
}

pub(crate) enum SlotState {
    Usable(Box<ColumnKeys>),
    /// Disabled or destroyed: known, but no key material.
    Unusable(KeyStatus),
}

/// All versions, sorted by number.
pub(crate) struct Slots(pub Vec<VersionSlot>);

impl Slots {
    /// The keys of `version` for decryption.
    pub fn get(&self, version: u32) -> Result<&ColumnKeys> {
        let i = self
            .0
            .binary_search_by_key(&version, |s| s.version)
            .map_err(|_| Error::UnknownKeyVersion(version))?;
        match &self.0[i].state {
            SlotState::Usable(k) => Ok(k),
            SlotState::Unusable(status) => Err(Error::KeyVersionUnusable {
                version,
                status: status.as_str(),
                operation: "decrypt",
            }),
        }
    }

    /// Usable versions with keys, highest first.
    pub fn usable(&self) -> impl Iterator<Item = (u32, &ColumnKeys)> {
        self.0.iter().rev().filter_map(|s| match &s.state {
            SlotState::Usable(k) => Some((s.version, &**k)),
            SlotState::Unusable(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::context::encode_names;
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap()
    }

    /// The per-column keys of `testdata/field/vectors.json` (generated
    /// independently with Python's HKDF).
    #[test]
    fn column_keys_match_vectors() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/field/vectors.json");
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let pk =
            |name: &str| SecretKey::from_slice(&unhex(doc["purpose_keys"][name].as_str().unwrap())).unwrap();
        let keys = PurposeKeys {
            field: pk("field"),
            deterministic: pk("deterministic"),
            blind_index: pk("blind_index"),
        };
        let cases = doc["column_keys"].as_array().unwrap();
        assert!(cases.len() >= 3);
        for case in cases {
            let names = encode_names(case["table"].as_str().unwrap(), case["column"].as_str().unwrap());
            let get = |k: &str| unhex(case[k].as_str().unwrap());
            assert_eq!(
                column_key::<32>(&keys.field, LABEL_RANDOM, &names).to_vec(),
                get("xaes")
            );
            assert_eq!(
                column_key::<64>(&keys.deterministic, LABEL_DETERMINISTIC, &names).to_vec(),
                get("siv")
            );
            assert_eq!(
                column_key::<32>(&keys.blind_index, LABEL_BLIND_INDEX, &names).to_vec(),
                get("blind_index")
            );
        }
    }
}
