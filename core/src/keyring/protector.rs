//! Protectors: the stanzas in the keyring header that each give access to
//! the master key.
//!
//! A protector's secret (passphrase or recovery key) gives a key-encryption
//! key (KEK). In keyring format 2 the KEK derives an X25519 key pair, and
//! the stanza holds the public key and an HPKE (RFC 9180, base mode,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) encapsulation of
//! the master key to it. A new master key can therefore be sealed to every
//! protector with no secret but the master key in memory, which is what
//! makes revocation possible. Format-1 stanzas ("legacy") wrap the master
//! key with AES-256-GCM under the KEK; they are still read, and upgraded
//! with their own secret.

use super::layout::{ID_LEN, MAGIC, VERSION, VERSION_1};
use super::recovery::RecoveryKey;
use crate::crypto::kdf::{ct_eq, derive_key32};
use crate::crypto::{Aes256Gcm, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::passphrase::{KdfParams, SALT_LEN};
use crate::secret::{Passphrase, SecretKey};
use hpke::kem::{Kem as KemTrait, X25519HkdfSha256};
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

/// HKDF label of the passphrase KEK (input: the Argon2id output).
pub(crate) const LABEL_KEK_PASSPHRASE: &[u8] = b"strongroom/v1/keyring/kek/passphrase";
/// HKDF label of the recovery-key KEK (input: the 32 recovery-key bytes).
pub(crate) const LABEL_KEK_RECOVERY: &[u8] = b"strongroom/v1/keyring/kek/recovery-key";
/// HKDF label of a protector's X25519 seed (input: its KEK; salt: keyring id).
pub(crate) const LABEL_PROTECTOR_KEY: &[u8] = b"strongroom/v2/keyring/protector-key";
/// HPKE `info` prefix (followed by the keyring id).
pub(crate) const LABEL_HPKE_INFO: &[u8] = b"strongroom/v2/keyring/master-key";

/// Stanza kind byte of a format-1 (legacy) passphrase protector.
pub(crate) const KIND_PASSPHRASE: u8 = 1;
/// Stanza kind byte of a format-1 (legacy) recovery-key protector.
pub(crate) const KIND_RECOVERY_KEY: u8 = 2;
/// Stanza kind byte of a public-key passphrase protector (format 2).
pub(crate) const KIND_PASSPHRASE_PK: u8 = 3;
/// Stanza kind byte of a public-key recovery-key protector (format 2).
pub(crate) const KIND_RECOVERY_KEY_PK: u8 = 4;
/// Wrapped master key: 32 bytes of ciphertext and the GCM tag.
pub(crate) const WRAPPED_LEN: usize = 32 + TAG_LEN;
/// X25519 public key, and HPKE encapsulated key, length.
pub(crate) const X25519_LEN: usize = 32;
/// Fields before the wrap of a passphrase stanza.
const PASSPHRASE_PREFIX_LEN: usize = 4 + 1 + 8 + 12 + SALT_LEN;
/// Fields before the wrap of a recovery-key stanza.
#[cfg(test)]
const RECOVERY_PREFIX_LEN: usize = 4 + 1 + 8 + SALT_LEN;
/// Legacy wrap: nonce and wrapped key.
#[cfg(test)]
const LEGACY_WRAP_LEN: usize = NONCE_LEN + WRAPPED_LEN;
/// Public-key part: public key, encapsulated key, sealed master key.
const PUBLIC_WRAP_LEN: usize = X25519_LEN + X25519_LEN + WRAPPED_LEN;
/// Encoded length of a legacy passphrase stanza.
#[cfg(test)]
pub(crate) const PASSPHRASE_STANZA_LEN: usize = PASSPHRASE_PREFIX_LEN + LEGACY_WRAP_LEN;
/// Encoded length of a legacy recovery-key stanza.
#[cfg(test)]
pub(crate) const RECOVERY_STANZA_LEN: usize = RECOVERY_PREFIX_LEN + LEGACY_WRAP_LEN;
/// Encoded length of a public-key passphrase stanza (the longest stanza).
pub(crate) const PASSPHRASE_PK_STANZA_LEN: usize = PASSPHRASE_PREFIX_LEN + PUBLIC_WRAP_LEN;
/// Encoded length of a public-key recovery-key stanza.
#[cfg(test)]
pub(crate) const RECOVERY_PK_STANZA_LEN: usize = RECOVERY_PREFIX_LEN + PUBLIC_WRAP_LEN;
/// The longest stanza.
pub(crate) const MAX_STANZA_LEN: usize = PASSPHRASE_PK_STANZA_LEN;

type Kem = X25519HkdfSha256;
type HpkeAead = hpke::aead::AesGcm256;
type HpkeKdf = hpke::kdf::HkdfSha256;

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
#[non_exhaustive]
pub struct ProtectorInfo {
    /// Identifier within this keyring, never reused after removal.
    pub id: u32,
    /// Passphrase (with its cost) or recovery key.
    pub kind: ProtectorKind,
    /// When the protector was added, seconds since the Unix epoch.
    pub created_at: u64,
    /// Still in the keyring-format-1 form: a new master key cannot be given
    /// to it without its own secret, so operations that replace the master
    /// key refuse while it remains ([`Error::ProtectorsNeedUpgrade`]).
    /// Unlocking with it and saving any change upgrades it.
    pub legacy: bool,
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

/// How a stanza holds the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wrap {
    /// Format 1: AES-256-GCM under the KEK.
    Legacy {
        nonce: [u8; NONCE_LEN],
        wrapped: [u8; WRAPPED_LEN],
    },
    /// Format 2: HPKE to the protector's X25519 public key.
    Public {
        public: [u8; X25519_LEN],
        enc: [u8; X25519_LEN],
        sealed: [u8; WRAPPED_LEN],
    },
}

/// One protector stanza as stored in the clear header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stanza {
    pub id: u32,
    pub created_at: u64,
    pub kind: StanzaKind,
    pub wrap: Wrap,
}

/// The protector that unlocked a keyring, with its KEK (wiped on drop,
/// redacted in `Debug`).
#[derive(Debug)]
pub(crate) struct Unlocker {
    pub id: u32,
    pub kek: SecretKey,
    pub recovery: bool,
}

/// The X25519 key pair of a protector: `DeriveKeyPair(HKDF(ikm = KEK,
/// salt = keyring id, info = LABEL_PROTECTOR_KEY))`. The private key wipes
/// itself on drop.
fn protector_keypair(
    keyring_id: &[u8; ID_LEN],
    kek: &SecretKey,
) -> (<Kem as KemTrait>::PrivateKey, [u8; X25519_LEN]) {
    let seed = derive_key32(kek.expose(), keyring_id, LABEL_PROTECTOR_KEY);
    let (sk, pk) = Kem::derive_keypair(seed.expose());
    let mut public = [0u8; X25519_LEN];
    public.copy_from_slice(&pk.to_bytes());
    (sk, public)
}

/// HPKE `info`: the label, then the keyring id.
fn hpke_info(keyring_id: &[u8; ID_LEN]) -> Vec<u8> {
    [LABEL_HPKE_INFO, keyring_id.as_slice()].concat()
}

/// The operating system's generator (through `getrandom`), as HPKE wants
/// it for the ephemeral key of each encapsulation.
pub(crate) struct OsRng;

impl hpke::rand_core::TryRng for OsRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> std::result::Result<u32, Self::Error> {
        Ok(u32::from_le_bytes(crate::crypto::random::array()))
    }

    fn try_next_u64(&mut self) -> std::result::Result<u64, Self::Error> {
        Ok(u64::from_le_bytes(crate::crypto::random::array()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> std::result::Result<(), Self::Error> {
        crate::crypto::random::fill(dst);
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for OsRng {}

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
            legacy: self.is_legacy(),
        }
    }

    /// Whether this is a recovery-key stanza.
    pub fn is_recovery_key(&self) -> bool {
        matches!(self.kind, StanzaKind::RecoveryKey { .. })
    }

    /// Whether this is a passphrase stanza (either form).
    pub fn is_passphrase(&self) -> bool {
        matches!(self.kind, StanzaKind::Passphrase { .. })
    }

    /// Whether this stanza is in the format-1 form.
    pub fn is_legacy(&self) -> bool {
        matches!(self.wrap, Wrap::Legacy { .. })
    }

    /// The kind byte: 1/2 for legacy stanzas, 3/4 for public-key ones.
    fn kind_byte(&self) -> u8 {
        match (&self.kind, &self.wrap) {
            (StanzaKind::Passphrase { .. }, Wrap::Legacy { .. }) => KIND_PASSPHRASE,
            (StanzaKind::RecoveryKey { .. }, Wrap::Legacy { .. }) => KIND_RECOVERY_KEY,
            (StanzaKind::Passphrase { .. }, Wrap::Public { .. }) => KIND_PASSPHRASE_PK,
            (StanzaKind::RecoveryKey { .. }, Wrap::Public { .. }) => KIND_RECOVERY_KEY_PK,
        }
    }

    /// Appends id, kind, created_at and the kind-specific parameters (and,
    /// for a public-key stanza, its public key). These bytes are part of
    /// the wrap AAD.
    fn encode_prefix(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.push(self.kind_byte());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        match &self.kind {
            StanzaKind::Passphrase { params, salt } => {
                out.extend_from_slice(&params.memory_kib.to_be_bytes());
                out.extend_from_slice(&params.iterations.to_be_bytes());
                out.extend_from_slice(&params.parallelism.to_be_bytes());
                out.extend_from_slice(salt);
            }
            StanzaKind::RecoveryKey { salt } => out.extend_from_slice(salt),
        }
        if let Wrap::Public { public, .. } = &self.wrap {
            out.extend_from_slice(public);
        }
    }

    /// Appends the whole stanza.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_prefix(out);
        match &self.wrap {
            Wrap::Legacy { nonce, wrapped } => {
                out.extend_from_slice(nonce);
                out.extend_from_slice(wrapped);
            }
            Wrap::Public { enc, sealed, .. } => {
                out.extend_from_slice(enc);
                out.extend_from_slice(sealed);
            }
        }
    }

    /// AAD of the master-key wrap: magic, the format version the wrap was
    /// made under (1 for a legacy stanza, whatever file it now sits in; 2
    /// otherwise), keyring id, then the stanza bytes before the wrap.
    fn wrap_aad(&self, keyring_id: &[u8; ID_LEN]) -> Vec<u8> {
        let version = if self.is_legacy() { VERSION_1 } else { VERSION };
        let mut aad = Vec::with_capacity(MAGIC.len() + 1 + ID_LEN + MAX_STANZA_LEN);
        aad.extend_from_slice(&MAGIC);
        aad.push(version);
        aad.extend_from_slice(keyring_id);
        self.encode_prefix(&mut aad);
        aad
    }

    /// A format-1 stanza wrapping `master` under `kek` with `nonce` (kept
    /// for the migration tests and the format-1 worked example).
    #[cfg(test)]
    pub fn seal_legacy(
        keyring_id: &[u8; ID_LEN],
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
            wrap: Wrap::Legacy {
                nonce,
                wrapped: [0; WRAPPED_LEN],
            },
        };
        let aad = stanza.wrap_aad(keyring_id);
        if let Wrap::Legacy { wrapped, .. } = &mut stanza.wrap {
            Aes256Gcm::new(kek.expose()).seal_into(&nonce, &aad, master.expose(), wrapped);
        }
        stanza
    }

    /// A public-key stanza for the protector whose KEK is `kek`, holding
    /// `master`.
    pub fn seal_new(
        keyring_id: &[u8; ID_LEN],
        id: u32,
        created_at: u64,
        kind: StanzaKind,
        kek: &SecretKey,
        master: &SecretKey,
    ) -> Result<Self> {
        Self::seal_new_with_rng(keyring_id, id, created_at, kind, kek, master, &mut OsRng)
    }

    /// [`Stanza::seal_new`] with the HPKE ephemeral key drawn from `rng`.
    pub fn seal_new_with_rng(
        keyring_id: &[u8; ID_LEN],
        id: u32,
        created_at: u64,
        kind: StanzaKind,
        kek: &SecretKey,
        master: &SecretKey,
        rng: &mut impl hpke::rand_core::CryptoRng,
    ) -> Result<Self> {
        let (_, public) = protector_keypair(keyring_id, kek);
        let stanza = Stanza {
            id,
            created_at,
            kind,
            wrap: Wrap::Public {
                public,
                enc: [0; X25519_LEN],
                sealed: [0; WRAPPED_LEN],
            },
        };
        stanza.resealed_with_rng(keyring_id, master, rng)
    }

    /// This public-key stanza with `master` sealed anew to its public key
    /// (no secret needed); `None` for a legacy stanza.
    pub fn resealed(&self, keyring_id: &[u8; ID_LEN], master: &SecretKey) -> Option<Result<Self>> {
        if self.is_legacy() {
            return None;
        }
        Some(self.resealed_with_rng(keyring_id, master, &mut OsRng))
    }

    fn resealed_with_rng(
        &self,
        keyring_id: &[u8; ID_LEN],
        master: &SecretKey,
        rng: &mut impl hpke::rand_core::CryptoRng,
    ) -> Result<Self> {
        let Wrap::Public { public, .. } = &self.wrap else {
            return Err(Error::InvalidArgument("a legacy stanza has no public key".into()));
        };
        let pk = <Kem as KemTrait>::PublicKey::from_bytes(public).map_err(hpke_error)?;
        let aad = self.wrap_aad(keyring_id);
        let (enc, ct) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, Kem>(
            &OpModeS::Base,
            &pk,
            &hpke_info(keyring_id),
            master.expose(),
            &aad,
            rng,
        )
        .map_err(hpke_error)?;
        let mut out = self.clone();
        if let Wrap::Public { enc: e, sealed, .. } = &mut out.wrap {
            e.copy_from_slice(&enc.to_bytes());
            sealed.copy_from_slice(
                ct.get(..WRAPPED_LEN)
                    .ok_or_else(|| hpke_error(hpke::HpkeError::SealError))?,
            );
        }
        Ok(out)
    }

    /// This stanza in the public-key form, for the protector whose KEK is
    /// `kek`, holding `master` (same id, timestamp, parameters and salt, so
    /// the same secret keeps opening it).
    pub fn upgraded(&self, keyring_id: &[u8; ID_LEN], kek: &SecretKey, master: &SecretKey) -> Result<Self> {
        Self::seal_new(keyring_id, self.id, self.created_at, self.kind, kek, master)
    }

    /// Recovers the master key with `kek`: `Ok(None)` if `kek` is not this
    /// protector's, [`Error::KeyringCorrupt`] if it is but the sealed key
    /// fails (the stanza was modified).
    pub fn open(&self, keyring_id: &[u8; ID_LEN], kek: &SecretKey) -> Result<Option<SecretKey>> {
        let aad = self.wrap_aad(keyring_id);
        match &self.wrap {
            Wrap::Legacy { nonce, wrapped } => {
                let mut out = Zeroizing::new([0u8; 32]);
                if Aes256Gcm::new(kek.expose())
                    .open_into(nonce, &aad, wrapped, &mut out[..])
                    .is_err()
                {
                    return Ok(None);
                }
                Ok(SecretKey::from_slice(&out[..]))
            }
            Wrap::Public { public, enc, sealed } => {
                let (sk, derived) = protector_keypair(keyring_id, kek);
                if !ct_eq(&derived, public) {
                    return Ok(None);
                }
                let enc =
                    <Kem as KemTrait>::EncappedKey::from_bytes(enc).map_err(|_| Error::KeyringCorrupt)?;
                let plain = hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(
                    &OpModeR::Base,
                    &sk,
                    &enc,
                    &hpke_info(keyring_id),
                    sealed,
                    &aad,
                )
                .map_err(|_| Error::KeyringCorrupt)?;
                let plain = Zeroizing::new(plain);
                SecretKey::from_slice(&plain)
                    .map(Some)
                    .ok_or(Error::KeyringCorrupt)
            }
        }
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
/// matching kind; returns it with the protector that opened. All
/// passphrase parameters are validated before the first Argon2id run.
pub(crate) fn unlock_master(
    keyring_id: &[u8; ID_LEN],
    stanzas: &[Stanza],
    unlock: &Unlock,
) -> Result<(SecretKey, Unlocker)> {
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
                if let Some(master) = stanza.open(keyring_id, &kek)? {
                    let unlocker = Unlocker {
                        id: stanza.id,
                        kek,
                        recovery: false,
                    };
                    return Ok((master, unlocker));
                }
            }
            Err(Error::WrongPassphrase)
        }
        Unlock::RecoveryKey(key) => {
            for stanza in stanzas {
                if let StanzaKind::RecoveryKey { salt } = &stanza.kind {
                    let kek = recovery_kek(key, salt);
                    if let Some(master) = stanza.open(keyring_id, &kek)? {
                        let unlocker = Unlocker {
                            id: stanza.id,
                            kek,
                            recovery: true,
                        };
                        return Ok((master, unlocker));
                    }
                }
            }
            Err(Error::WrongRecoveryKey)
        }
    }
}

/// A fresh random salt for a new stanza.
pub(crate) fn fresh_salt() -> [u8; SALT_LEN] {
    crate::crypto::random::array()
}

/// An HPKE failure while sealing: only a public key that is not a usable
/// X25519 point (a crafted or damaged stanza) can cause it.
fn hpke_error(_: hpke::HpkeError) -> Error {
    Error::malformed("keyring", "a protector public key is not a usable X25519 key")
}
