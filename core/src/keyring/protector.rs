//! Protectors: the stanzas in the keyring header that each wrap the master
//! key under a key-encryption key (KEK) derived from a passphrase or a
//! recovery key.

use super::format::{MAGIC, VERSION};
use super::recovery::RecoveryKey;
use crate::crypto::kdf::derive_key32;
use crate::crypto::{Aes256Gcm, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::passphrase::{KdfParams, SALT_LEN};
use crate::secret::{Passphrase, SecretKey};
use zeroize::Zeroizing;

/// HKDF label of the passphrase KEK (input: the Argon2id output).
pub(crate) const LABEL_KEK_PASSPHRASE: &[u8] = b"strongroom/v1/keyring/kek/passphrase";
/// HKDF label of the recovery-key KEK (input: the 32 recovery-key bytes).
pub(crate) const LABEL_KEK_RECOVERY: &[u8] = b"strongroom/v1/keyring/kek/recovery-key";

/// Stanza kind byte of a passphrase protector.
pub(crate) const KIND_PASSPHRASE: u8 = 1;
/// Stanza kind byte of a recovery-key protector.
pub(crate) const KIND_RECOVERY_KEY: u8 = 2;
/// Wrapped master key: 32 bytes of ciphertext and the GCM tag.
pub(crate) const WRAPPED_LEN: usize = 32 + TAG_LEN;
/// Encoded length of a passphrase stanza.
pub(crate) const PASSPHRASE_STANZA_LEN: usize = 4 + 1 + 8 + 12 + SALT_LEN + NONCE_LEN + WRAPPED_LEN;
/// Encoded length of a recovery-key stanza.
#[cfg(test)]
pub(crate) const RECOVERY_STANZA_LEN: usize = 4 + 1 + 8 + SALT_LEN + NONCE_LEN + WRAPPED_LEN;

/// What kind of secret a protector takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtectorKind {
    /// A passphrase stretched with Argon2id under these parameters.
    Passphrase {
        /// The Argon2id cost stored in the stanza.
        params: KdfParams,
    },
    /// A recovery key (see [`RecoveryKey`]).
    RecoveryKey,
}

/// Public description of one protector (no secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtectorInfo {
    /// Identifier within this keyring, never reused after removal.
    pub id: u32,
    /// Passphrase (with its cost) or recovery key.
    pub kind: ProtectorKind,
    /// When the protector was added, seconds since the Unix epoch.
    pub created_at: u64,
}

/// A secret that unlocks a keyring.
#[derive(Debug)]
pub enum Unlock {
    /// Tried against every passphrase protector.
    Passphrase(Passphrase),
    /// Tried against every recovery-key protector.
    RecoveryKey(RecoveryKey),
}

/// Kind-specific stanza fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StanzaKind {
    /// Argon2id parameters and salt.
    Passphrase { params: KdfParams, salt: [u8; SALT_LEN] },
    /// HKDF salt.
    RecoveryKey { salt: [u8; SALT_LEN] },
}

/// One protector stanza as stored in the clear header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stanza {
    pub id: u32,
    pub created_at: u64,
    pub kind: StanzaKind,
    pub nonce: [u8; NONCE_LEN],
    pub wrapped: [u8; WRAPPED_LEN],
}

impl Stanza {
    /// Public description.
    pub fn info(&self) -> ProtectorInfo {
        ProtectorInfo {
            id: self.id,
            kind: match self.kind {
                StanzaKind::Passphrase { params, .. } => ProtectorKind::Passphrase { params },
                StanzaKind::RecoveryKey { .. } => ProtectorKind::RecoveryKey,
            },
            created_at: self.created_at,
        }
    }

    /// Whether this is a recovery-key stanza.
    pub fn is_recovery_key(&self) -> bool {
        matches!(self.kind, StanzaKind::RecoveryKey { .. })
    }

    /// Appends the fields before the nonce: id, kind, created_at and the
    /// kind-specific parameters. These bytes are part of the wrap AAD.
    fn encode_prefix(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        match &self.kind {
            StanzaKind::Passphrase { params, salt } => {
                out.push(KIND_PASSPHRASE);
                out.extend_from_slice(&self.created_at.to_be_bytes());
                out.extend_from_slice(&params.memory_kib.to_be_bytes());
                out.extend_from_slice(&params.iterations.to_be_bytes());
                out.extend_from_slice(&params.parallelism.to_be_bytes());
                out.extend_from_slice(salt);
            }
            StanzaKind::RecoveryKey { salt } => {
                out.push(KIND_RECOVERY_KEY);
                out.extend_from_slice(&self.created_at.to_be_bytes());
                out.extend_from_slice(salt);
            }
        }
    }

    /// Appends the whole stanza.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_prefix(out);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.wrapped);
    }

    /// AAD of the master-key wrap: magic, format version, keyring id, then
    /// the stanza bytes before the nonce.
    fn wrap_aad(&self, keyring_id: &[u8; 16]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(MAGIC.len() + 1 + 16 + PASSPHRASE_STANZA_LEN);
        aad.extend_from_slice(&MAGIC);
        aad.push(VERSION);
        aad.extend_from_slice(keyring_id);
        self.encode_prefix(&mut aad);
        aad
    }

    /// Builds a stanza wrapping `master` under `kek` with `nonce`.
    pub fn seal(
        keyring_id: &[u8; 16],
        id: u32,
        created_at: u64,
        kind: StanzaKind,
        kek: &SecretKey,
        master: &SecretKey,
        nonce: [u8; NONCE_LEN],
    ) -> Self {
        let mut stanza = Stanza {
            id,
            created_at,
            kind,
            nonce,
            wrapped: [0; WRAPPED_LEN],
        };
        let aad = stanza.wrap_aad(keyring_id);
        Aes256Gcm::new(kek.expose()).seal_into(&nonce, &aad, master.expose(), &mut stanza.wrapped);
        stanza
    }

    /// Unwraps the master key, or `None` if `kek` does not fit.
    pub fn open(&self, keyring_id: &[u8; 16], kek: &SecretKey) -> Option<SecretKey> {
        let aad = self.wrap_aad(keyring_id);
        let mut out = Zeroizing::new([0u8; 32]);
        Aes256Gcm::new(kek.expose())
            .open_into(&self.nonce, &aad, &self.wrapped, &mut out[..])
            .ok()?;
        SecretKey::from_slice(&out[..])
    }
}

/// KEK of a passphrase stanza: HKDF-SHA-256 over the Argon2id output, salted
/// with the stanza salt. Validates the parameters before any work.
pub(crate) fn passphrase_kek(
    passphrase: &Passphrase,
    params: &KdfParams,
    salt: &[u8; SALT_LEN],
) -> Result<SecretKey> {
    let stretched = params.derive(passphrase, salt)?;
    Ok(derive_key32(stretched.expose(), salt, LABEL_KEK_PASSPHRASE))
}

/// KEK of a recovery-key stanza: HKDF-SHA-256 over the key, salted with the
/// stanza salt (no stretching: the input is 256 random bits).
pub(crate) fn recovery_kek(key: &RecoveryKey, salt: &[u8; SALT_LEN]) -> SecretKey {
    derive_key32(key.secret().expose(), salt, LABEL_KEK_RECOVERY)
}

/// Recovers the master key with `unlock`, trying every stanza of the
/// matching kind. All passphrase parameters are validated before the first
/// Argon2id run.
pub(crate) fn unlock_master(keyring_id: &[u8; 16], stanzas: &[Stanza], unlock: &Unlock) -> Result<SecretKey> {
    match unlock {
        Unlock::Passphrase(passphrase) => {
            let candidates: Vec<(&Stanza, &KdfParams, &[u8; SALT_LEN])> = stanzas
                .iter()
                .filter_map(|s| match &s.kind {
                    StanzaKind::Passphrase { params, salt } => Some((s, params, salt)),
                    StanzaKind::RecoveryKey { .. } => None,
                })
                .collect();
            for (_, params, _) in &candidates {
                params.validate()?;
            }
            for (stanza, params, salt) in candidates {
                let kek = passphrase_kek(passphrase, params, salt)?;
                if let Some(master) = stanza.open(keyring_id, &kek) {
                    return Ok(master);
                }
            }
            Err(Error::WrongPassphrase)
        }
        Unlock::RecoveryKey(key) => {
            for stanza in stanzas {
                if let StanzaKind::RecoveryKey { salt } = &stanza.kind {
                    let kek = recovery_kek(key, salt);
                    if let Some(master) = stanza.open(keyring_id, &kek) {
                        return Ok(master);
                    }
                }
            }
            Err(Error::WrongRecoveryKey)
        }
    }
}

/// A fresh random salt and nonce pair for a new stanza.
pub(crate) fn fresh_salt_and_nonce() -> ([u8; SALT_LEN], [u8; NONCE_LEN]) {
    let salt = crate::crypto::random::array();
    let nonce = crate::crypto::random::array();
    (salt, nonce)
}
