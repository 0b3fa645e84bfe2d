//! Key versions: numbered 256-bit secrets with a status and timestamps, and
//! the purpose subkeys derived from them.

use crate::crypto::kdf::derive_key32;
use crate::error::{Error, Result};
use crate::secret::SecretKey;
use std::fmt;

/// Lifecycle state of a key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    /// The one version used to encrypt new data (and to decrypt).
    Primary,
    /// Decrypts existing data; never used to encrypt.
    DecryptOnly,
    /// Temporarily unusable; [`Keyring::enable`](super::Keyring::enable) makes
    /// it decrypt-only again.
    Disabled,
    /// Key material wiped; only the metadata remains. Irreversible.
    Destroyed,
}

impl KeyStatus {
    /// Stable lower-case name: "primary", "decrypt-only", "disabled" or
    /// "destroyed".
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Primary => "primary",
            KeyStatus::DecryptOnly => "decrypt-only",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Destroyed => "destroyed",
        }
    }

    /// The status byte in the keyring body.
    pub(crate) fn code(self) -> u8 {
        match self {
            KeyStatus::Primary => 1,
            KeyStatus::DecryptOnly => 2,
            KeyStatus::Disabled => 3,
            KeyStatus::Destroyed => 4,
        }
    }

    /// Inverse of [`KeyStatus::code`].
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => KeyStatus::Primary,
            2 => KeyStatus::DecryptOnly,
            3 => KeyStatus::Disabled,
            4 => KeyStatus::Destroyed,
            _ => return None,
        })
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Public metadata of one key version (no key material).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyVersionInfo {
    /// Version number, starting at 1, never reused.
    pub version: u32,
    /// Current status.
    pub status: KeyStatus,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Time of the last status change (equal to `created_at` at first).
    pub status_changed_at: u64,
}

/// What a purpose subkey is for. Each purpose has its own HKDF label, so
/// keys of different purposes are independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Wrapping file keys in the file container.
    FileWrap,
    /// Randomised field encryption (XAES-256-GCM).
    Field,
    /// Deterministic field encryption (AES-256-SIV).
    Deterministic,
    /// Blind indexes (HMAC-SHA-256).
    BlindIndex,
}

impl Purpose {
    /// Every purpose, in label order.
    pub const ALL: [Purpose; 4] = [
        Purpose::FileWrap,
        Purpose::Field,
        Purpose::Deterministic,
        Purpose::BlindIndex,
    ];

    /// The HKDF `info` label of this purpose.
    pub fn label(self) -> &'static [u8] {
        match self {
            Purpose::FileWrap => b"strongroom/v1/keyring/purpose/file-wrap",
            Purpose::Field => b"strongroom/v1/keyring/purpose/field",
            Purpose::Deterministic => b"strongroom/v1/keyring/purpose/deterministic",
            Purpose::BlindIndex => b"strongroom/v1/keyring/purpose/blind-index",
        }
    }
}

/// Whether a purpose key is wanted to encrypt (primary only) or to decrypt
/// (primary or decrypt-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUse {
    /// Producing new ciphertext: only the primary version qualifies.
    Encrypt,
    /// Reading existing ciphertext: primary or decrypt-only versions.
    Decrypt,
}

impl KeyUse {
    fn as_str(self) -> &'static str {
        match self {
            KeyUse::Encrypt => "encrypt",
            KeyUse::Decrypt => "decrypt",
        }
    }
}

/// One key version with its secret (`None` once destroyed).
pub(crate) struct VersionEntry {
    pub info: KeyVersionInfo,
    pub material: Option<SecretKey>,
}

impl VersionEntry {
    /// A fresh version with random material.
    pub fn new(version: u32, status: KeyStatus, now: u64) -> Self {
        Self {
            info: KeyVersionInfo {
                version,
                status,
                created_at: now,
                status_changed_at: now,
            },
            material: Some(SecretKey::random()),
        }
    }

    fn set_status(&mut self, status: KeyStatus, now: u64) {
        self.info.status = status;
        self.info.status_changed_at = now;
        if status == KeyStatus::Destroyed {
            // Dropping the SecretKey wipes it.
            self.material = None;
        }
    }
}

/// Largest number of versions a keyring may hold.
pub(crate) const MAX_VERSIONS: usize = 65_535;

/// The key versions of a keyring, in ascending order, exactly one primary.
pub(crate) struct Versions(pub Vec<VersionEntry>);

impl Versions {
    fn find(&self, version: u32) -> Result<&VersionEntry> {
        self.0
            .iter()
            .find(|e| e.info.version == version)
            .ok_or(Error::UnknownKeyVersion(version))
    }

    fn find_mut(&mut self, version: u32) -> Result<&mut VersionEntry> {
        self.0
            .iter_mut()
            .find(|e| e.info.version == version)
            .ok_or(Error::UnknownKeyVersion(version))
    }

    /// The primary version number (0 only for an invalid, empty list).
    pub fn primary(&self) -> u32 {
        self.0
            .iter()
            .find(|e| e.info.status == KeyStatus::Primary)
            .map_or(0, |e| e.info.version)
    }

    /// Public metadata of every version.
    pub fn infos(&self) -> Vec<KeyVersionInfo> {
        self.0.iter().map(|e| e.info).collect()
    }

    /// Adds a version numbered one above the highest; returns its number.
    pub fn add(&mut self, promote: bool, now: u64) -> Result<u32> {
        if self.0.len() >= MAX_VERSIONS {
            return Err(Error::InvalidArgument(format!(
                "the keyring already holds the maximum of {MAX_VERSIONS} key versions"
            )));
        }
        let highest = self.0.iter().map(|e| e.info.version).max().unwrap_or(0);
        let version = highest
            .checked_add(1)
            .ok_or_else(|| Error::InvalidArgument("key version numbers are exhausted".into()))?;
        self.0
            .push(VersionEntry::new(version, KeyStatus::DecryptOnly, now));
        if promote {
            self.promote(version, now)?;
        }
        Ok(version)
    }

    /// Makes `version` primary; the previous primary becomes decrypt-only.
    /// Returns whether anything changed.
    pub fn promote(&mut self, version: u32, now: u64) -> Result<bool> {
        match self.find(version)?.info.status {
            KeyStatus::Primary => return Ok(false),
            KeyStatus::DecryptOnly => {}
            KeyStatus::Disabled => {
                return Err(Error::InvalidArgument(format!(
                    "key version {version} is disabled; enable it before promoting it"
                )));
            }
            KeyStatus::Destroyed => return Err(destroyed_refusal(version, "promoted")),
        }
        for e in &mut self.0 {
            if e.info.status == KeyStatus::Primary {
                e.set_status(KeyStatus::DecryptOnly, now);
            }
        }
        self.find_mut(version)?.set_status(KeyStatus::Primary, now);
        Ok(true)
    }

    /// Disables a decrypt-only version. Returns whether anything changed.
    pub fn disable(&mut self, version: u32, now: u64) -> Result<bool> {
        let entry = self.find_mut(version)?;
        match entry.info.status {
            KeyStatus::Primary => Err(primary_refusal(version, "disabled")),
            KeyStatus::DecryptOnly => {
                entry.set_status(KeyStatus::Disabled, now);
                Ok(true)
            }
            KeyStatus::Disabled => Ok(false),
            KeyStatus::Destroyed => Err(destroyed_refusal(version, "disabled")),
        }
    }

    /// Makes a disabled version decrypt-only again. Returns whether anything
    /// changed.
    pub fn enable(&mut self, version: u32, now: u64) -> Result<bool> {
        let entry = self.find_mut(version)?;
        match entry.info.status {
            KeyStatus::Primary | KeyStatus::DecryptOnly => Ok(false),
            KeyStatus::Disabled => {
                entry.set_status(KeyStatus::DecryptOnly, now);
                Ok(true)
            }
            KeyStatus::Destroyed => Err(destroyed_refusal(version, "enabled")),
        }
    }

    /// Wipes a non-primary version's material. Returns whether anything
    /// changed.
    pub fn destroy(&mut self, version: u32, now: u64) -> Result<bool> {
        let entry = self.find_mut(version)?;
        match entry.info.status {
            KeyStatus::Primary => Err(primary_refusal(version, "destroyed")),
            KeyStatus::DecryptOnly | KeyStatus::Disabled => {
                entry.set_status(KeyStatus::Destroyed, now);
                Ok(true)
            }
            KeyStatus::Destroyed => Ok(false),
        }
    }

    /// Derives the purpose subkey of `version` if its status allows `op`.
    pub fn purpose_key(
        &self,
        keyring_id: &[u8; 16],
        version: u32,
        purpose: Purpose,
        op: KeyUse,
    ) -> Result<SecretKey> {
        let entry = self.find(version)?;
        let allowed = match (entry.info.status, op) {
            (KeyStatus::Primary, _) => true,
            (KeyStatus::DecryptOnly, KeyUse::Decrypt) => true,
            (KeyStatus::DecryptOnly, KeyUse::Encrypt) => false,
            (KeyStatus::Disabled | KeyStatus::Destroyed, _) => false,
        };
        let material = match (&entry.material, allowed) {
            (Some(m), true) => m,
            _ => {
                return Err(Error::KeyVersionUnusable {
                    version,
                    status: entry.info.status.as_str(),
                    operation: op.as_str(),
                });
            }
        };
        Ok(derive_purpose_key(material, keyring_id, purpose))
    }
}

/// HKDF-SHA-256(ikm = version material, salt = keyring id, info = label).
pub(crate) fn derive_purpose_key(material: &SecretKey, keyring_id: &[u8; 16], purpose: Purpose) -> SecretKey {
    derive_key32(material.expose(), keyring_id, purpose.label())
}

fn primary_refusal(version: u32, what: &str) -> Error {
    Error::InvalidArgument(format!(
        "key version {version} is the primary and cannot be {what}; promote another version first"
    ))
}

fn destroyed_refusal(version: u32, what: &str) -> Error {
    Error::InvalidArgument(format!(
        "key version {version} is destroyed and cannot be {what} (destruction is irreversible)"
    ))
}
