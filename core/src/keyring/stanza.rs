//! Protector stanzas: the entries of the keyring header that each give
//! one protector the master key.
//!
//! A protector's secret gives a key-encryption key (KEK, `kind.rs`). In
//! keyring format 3 the KEK derives an X25519 key pair; the stanza holds
//! the public key, the protector's random **authentication value** `A`
//! wrapped under a key derived from the KEK, and the master key sealed to
//! the public key with HPKE in PSK mode (RFC 9180 §5.1.2, DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, AES-256-GCM) with `A` as the pre-shared key.
//! The body (encrypted under the master key) holds every `A` too, so any
//! holder of the master key can seal a new one to every protector, while
//! a seal made without `A` (by someone who can only write the file) is
//! refused.
//!
//! Formats 1 and 2 are still read: format 1 wraps the master key with
//! AES-256-GCM under the KEK, format 2 seals it in HPKE base mode (which
//! anyone can do, hence format 3).

use super::kind::{self, Kind, MAX_PARAMS_LEN};
use super::layout::{ID_LEN, MAGIC, VERSION, VERSION_1, VERSION_2};
use crate::codec::Reader;
use crate::crypto::kdf::{ct_eq, derive_key32};
use crate::crypto::{Aes256Gcm, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::secret::SecretKey;
use hpke::kem::{Kem as KemTrait, X25519HkdfSha256};
use hpke::{Deserializable, OpModeR, OpModeS, PskBundle, Serializable};
use zeroize::Zeroizing;

/// HKDF label of a protector's X25519 seed (input: its KEK; salt: keyring
/// id). Formats 2 and 3 share it, so an upgraded protector keeps its key.
pub(crate) const LABEL_PROTECTOR_KEY: &[u8] = b"strongroom/v2/keyring/protector-key";
/// HKDF label of the key that wraps a protector's authentication value
/// (input: its KEK; salt: keyring id).
pub(crate) const LABEL_PROTECTOR_AUTH: &[u8] = b"strongroom/v3/keyring/protector-auth";
/// HPKE `info` prefix of format 2 (followed by the keyring id).
pub(crate) const LABEL_HPKE_INFO_V2: &[u8] = b"strongroom/v2/keyring/master-key";
/// HPKE `info` prefix of format 3 (followed by the keyring id).
pub(crate) const LABEL_HPKE_INFO: &[u8] = b"strongroom/v3/keyring/master-key";
/// HPKE `psk_id` prefix (followed by the keyring id and the protector id).
pub(crate) const LABEL_PSK_ID: &[u8] = b"strongroom/v3/keyring/psk-id";

/// Wrapped 32-byte value: ciphertext and the GCM tag.
pub(crate) const WRAPPED_LEN: usize = 32 + TAG_LEN;
/// X25519 public key, and HPKE encapsulated key, length.
pub(crate) const X25519_LEN: usize = 32;
/// Fields every stanza starts with: id, kind, created_at.
pub(crate) const LEAD_LEN: usize = 4 + 1 + 8;
/// What follows the parameters in a format-3 stanza: public key, auth
/// nonce, wrapped auth value, enc, sealed master key.
pub(crate) const V3_TAIL_LEN: usize = X25519_LEN + NONCE_LEN + WRAPPED_LEN + X25519_LEN + WRAPPED_LEN;
/// The longest stanza of any format (a format-3 stanza with the longest
/// parameters).
pub(crate) const MAX_STANZA_LEN: usize = LEAD_LEN + 2 + MAX_PARAMS_LEN + V3_TAIL_LEN;

type Kem = X25519HkdfSha256;
type HpkeAead = hpke::aead::AesGcm256;
type HpkeKdf = hpke::kdf::HkdfSha256;

/// How a stanza holds the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seal {
    /// Format 1: AES-256-GCM under the KEK.
    V1 {
        nonce: [u8; NONCE_LEN],
        wrapped: [u8; WRAPPED_LEN],
    },
    /// Format 2: HPKE base mode to the protector's public key.
    V2 {
        public: [u8; X25519_LEN],
        enc: [u8; X25519_LEN],
        sealed: [u8; WRAPPED_LEN],
    },
    /// Format 3: the authentication value wrapped under the protector's
    /// auth key, and HPKE PSK mode (psk = the authentication value).
    V3 {
        public: [u8; X25519_LEN],
        auth_nonce: [u8; NONCE_LEN],
        wrapped_auth: [u8; WRAPPED_LEN],
        enc: [u8; X25519_LEN],
        sealed: [u8; WRAPPED_LEN],
    },
}

/// One protector stanza as stored in the clear header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stanza {
    pub id: u32,
    pub created_at: u64,
    pub kind: Kind,
    pub seal: Seal,
}

/// What opening a stanza gives: the master key and, in format 3, the
/// protector's authentication value.
pub(crate) struct Opened {
    pub master: SecretKey,
    pub auth: Option<SecretKey>,
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

/// The key that wraps a protector's authentication value.
fn auth_key(keyring_id: &[u8; ID_LEN], kek: &SecretKey) -> SecretKey {
    derive_key32(kek.expose(), keyring_id, LABEL_PROTECTOR_AUTH)
}

/// HPKE `info`: the format's label, then the keyring id.
fn hpke_info(label: &[u8], keyring_id: &[u8; ID_LEN]) -> Vec<u8> {
    [label, keyring_id.as_slice()].concat()
}

/// HPKE `psk_id`: the label, the keyring id, the protector id.
fn psk_id(keyring_id: &[u8; ID_LEN], protector: u32) -> Vec<u8> {
    [LABEL_PSK_ID, keyring_id.as_slice(), &protector.to_be_bytes()].concat()
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
    /// Reads one stanza of a file in `format`.
    pub fn read(r: &mut Reader<'_>, format: u8) -> Result<Stanza> {
        let id = r.u32()?;
        let kind_byte = r.u8()?;
        let created_at = r.u64()?;
        if format == VERSION {
            let len = usize::from(r.u16()?);
            if len > MAX_PARAMS_LEN {
                return Err(Error::malformed(
                    "keyring",
                    format!(
                        "protector {id} has {len} bytes of parameters; at most {MAX_PARAMS_LEN} are allowed"
                    ),
                ));
            }
            let kind = Kind::parse_v3(kind_byte, r.take(len)?)?;
            let seal = Seal::V3 {
                public: r.array()?,
                auth_nonce: r.array()?,
                wrapped_auth: r.array()?,
                enc: r.array()?,
                sealed: r.array()?,
            };
            return Ok(Stanza {
                id,
                created_at,
                kind,
                seal,
            });
        }
        let (kind, v2) = match kind_byte {
            kind::V1_PASSPHRASE => (Kind::read_passphrase(r)?, false),
            kind::V1_RECOVERY_KEY => (Kind::read_recovery_key(r)?, false),
            kind::V2_PASSPHRASE if format == VERSION_2 => (Kind::read_passphrase(r)?, true),
            kind::V2_RECOVERY_KEY if format == VERSION_2 => (Kind::read_recovery_key(r)?, true),
            other => {
                return Err(Error::malformed(
                    "keyring",
                    format!("unknown protector kind {other} in keyring format {format}"),
                ));
            }
        };
        let seal = if v2 {
            Seal::V2 {
                public: r.array()?,
                enc: r.array()?,
                sealed: r.array()?,
            }
        } else {
            Seal::V1 {
                nonce: r.array()?,
                wrapped: r.array()?,
            }
        };
        Ok(Stanza {
            id,
            created_at,
            kind,
            seal,
        })
    }

    /// The format this stanza's form belongs to.
    pub fn format(&self) -> u8 {
        match self.seal {
            Seal::V1 { .. } => VERSION_1,
            Seal::V2 { .. } => VERSION_2,
            Seal::V3 { .. } => VERSION,
        }
    }

    /// Whether this stanza is in a form older than format 3.
    pub fn is_legacy(&self) -> bool {
        self.format() != VERSION
    }

    /// The kind byte stored in the stanza.
    fn kind_byte(&self) -> u8 {
        match (&self.kind, &self.seal) {
            (Kind::Passphrase { .. }, Seal::V1 { .. }) => kind::V1_PASSPHRASE,
            (Kind::Passphrase { .. }, Seal::V2 { .. }) => kind::V2_PASSPHRASE,
            (_, Seal::V1 { .. }) => kind::V1_RECOVERY_KEY,
            (_, Seal::V2 { .. }) => kind::V2_RECOVERY_KEY,
            (k, Seal::V3 { .. }) => k.v3_byte(),
        }
    }

    /// Appends id, kind, created_at and the parameters (length-prefixed in
    /// format 3): the bytes every wrap's AAD starts with.
    fn encode_lead(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.push(self.kind_byte());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        if matches!(self.seal, Seal::V3 { .. }) {
            let len = u16::try_from(self.kind.params_len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
        }
        self.kind.encode_params(out);
    }

    /// Appends the whole stanza.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_lead(out);
        match &self.seal {
            Seal::V1 { nonce, wrapped } => {
                out.extend_from_slice(nonce);
                out.extend_from_slice(wrapped);
            }
            Seal::V2 { public, enc, sealed } => {
                out.extend_from_slice(public);
                out.extend_from_slice(enc);
                out.extend_from_slice(sealed);
            }
            Seal::V3 {
                public,
                auth_nonce,
                wrapped_auth,
                enc,
                sealed,
            } => {
                out.extend_from_slice(public);
                out.extend_from_slice(auth_nonce);
                out.extend_from_slice(wrapped_auth);
                out.extend_from_slice(enc);
                out.extend_from_slice(sealed);
            }
        }
    }

    /// `magic || format || keyring id`: the start of every AAD. The format
    /// is the one the stanza's form belongs to (1 for a format-1 stanza in
    /// a format-2 file).
    fn aad_start(&self, keyring_id: &[u8; ID_LEN]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(MAGIC.len() + 1 + ID_LEN + MAX_STANZA_LEN);
        aad.extend_from_slice(&MAGIC);
        aad.push(self.format());
        aad.extend_from_slice(keyring_id);
        aad
    }

    /// AAD of the format-3 auth-value wrap: the start, then the stanza's
    /// bytes before the auth nonce (lead, parameters, public key).
    fn auth_aad(&self, keyring_id: &[u8; ID_LEN]) -> Vec<u8> {
        let mut aad = self.aad_start(keyring_id);
        self.encode_lead(&mut aad);
        if let Seal::V3 { public, .. } = &self.seal {
            aad.extend_from_slice(public);
        }
        aad
    }

    /// AAD of the master-key wrap or seal: the start, then the stanza's
    /// bytes before the wrap nonce (format 1) or before `enc` (formats 2
    /// and 3).
    fn seal_aad(&self, keyring_id: &[u8; ID_LEN]) -> Vec<u8> {
        let mut aad = self.aad_start(keyring_id);
        self.encode_lead(&mut aad);
        match &self.seal {
            Seal::V1 { .. } => {}
            Seal::V2 { public, .. } => aad.extend_from_slice(public),
            Seal::V3 {
                public,
                auth_nonce,
                wrapped_auth,
                ..
            } => {
                aad.extend_from_slice(public);
                aad.extend_from_slice(auth_nonce);
                aad.extend_from_slice(wrapped_auth);
            }
        }
        aad
    }

    /// A format-3 stanza for the protector whose KEK is `kek`, with
    /// authentication value `auth` wrapped with `auth_nonce`. Its master
    /// key seal is empty: seal it with [`Stanza::sealed`].
    pub fn enroll(
        keyring_id: &[u8; ID_LEN],
        id: u32,
        created_at: u64,
        kind: Kind,
        kek: &SecretKey,
        auth: &SecretKey,
        auth_nonce: [u8; NONCE_LEN],
    ) -> Self {
        let (_, public) = protector_keypair(keyring_id, kek);
        let mut stanza = Stanza {
            id,
            created_at,
            kind,
            seal: Seal::V3 {
                public,
                auth_nonce,
                wrapped_auth: [0; WRAPPED_LEN],
                enc: [0; X25519_LEN],
                sealed: [0; WRAPPED_LEN],
            },
        };
        let aad = stanza.auth_aad(keyring_id);
        if let Seal::V3 { wrapped_auth, .. } = &mut stanza.seal {
            Aes256Gcm::new(auth_key(keyring_id, kek).expose()).seal_into(
                &auth_nonce,
                &aad,
                auth.expose(),
                wrapped_auth,
            );
        }
        stanza
    }

    /// This stanza with a new authentication value `auth` (same id, date,
    /// parameters and key pair), for the protector whose KEK is `kek`;
    /// [`Error::KeyringCorrupt`] if `kek` is not this protector's.
    pub fn reenrolled(&self, keyring_id: &[u8; ID_LEN], kek: &SecretKey, auth: &SecretKey) -> Result<Self> {
        let fresh = Self::enroll(
            keyring_id,
            self.id,
            self.created_at,
            self.kind.clone(),
            kek,
            auth,
            crate::crypto::random::array(),
        );
        match (&self.seal, &fresh.seal) {
            (Seal::V3 { public: a, .. }, Seal::V3 { public: b, .. }) if ct_eq(a, b) => Ok(fresh),
            _ => Err(Error::KeyringCorrupt),
        }
    }

    /// This format-3 stanza with `master` sealed anew to its public key
    /// under `auth` (fresh ephemeral key from the system's generator).
    pub fn sealed(&self, keyring_id: &[u8; ID_LEN], master: &SecretKey, auth: &SecretKey) -> Result<Self> {
        self.sealed_with_rng(keyring_id, master, auth, &mut OsRng)
    }

    /// [`Stanza::sealed`] with the HPKE ephemeral key drawn from `rng`.
    pub fn sealed_with_rng(
        &self,
        keyring_id: &[u8; ID_LEN],
        master: &SecretKey,
        auth: &SecretKey,
        rng: &mut impl hpke::rand_core::CryptoRng,
    ) -> Result<Self> {
        let Seal::V3 { public, .. } = &self.seal else {
            return Err(Error::InvalidArgument(
                "only a format-3 stanza is sealed anew".into(),
            ));
        };
        let pk = <Kem as KemTrait>::PublicKey::from_bytes(public).map_err(hpke_error)?;
        let psk_id = psk_id(keyring_id, self.id);
        let bundle = PskBundle::new(auth.expose(), &psk_id).map_err(hpke_error)?;
        let aad = self.seal_aad(keyring_id);
        let (encapped, ct) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, Kem>(
            &OpModeS::Psk(bundle),
            &pk,
            &hpke_info(LABEL_HPKE_INFO, keyring_id),
            master.expose(),
            &aad,
            rng,
        )
        .map_err(hpke_error)?;
        let mut out = self.clone();
        if let Seal::V3 { enc, sealed, .. } = &mut out.seal {
            enc.copy_from_slice(&encapped.to_bytes());
            sealed.copy_from_slice(
                ct.get(..WRAPPED_LEN)
                    .ok_or_else(|| hpke_error(hpke::HpkeError::SealError))?,
            );
        }
        Ok(out)
    }

    /// Recovers the master key (and, in format 3, the authentication
    /// value) with `kek`: `Ok(None)` if `kek` is not this protector's,
    /// [`Error::KeyringCorrupt`] if it is but a wrap fails (the stanza was
    /// modified, or sealed by someone who lacks the authentication value).
    pub fn open(&self, keyring_id: &[u8; ID_LEN], kek: &SecretKey) -> Result<Option<Opened>> {
        match &self.seal {
            Seal::V1 { nonce, wrapped } => {
                let mut out = Zeroizing::new([0u8; 32]);
                if Aes256Gcm::new(kek.expose())
                    .open_into(nonce, &self.seal_aad(keyring_id), wrapped, &mut out[..])
                    .is_err()
                {
                    return Ok(None);
                }
                let master = SecretKey::from_slice(&out[..]).ok_or(Error::KeyringCorrupt)?;
                Ok(Some(Opened { master, auth: None }))
            }
            Seal::V2 { public, enc, sealed } => {
                let (sk, derived) = protector_keypair(keyring_id, kek);
                if !ct_eq(&derived, public) {
                    return Ok(None);
                }
                let master = open_hpke(
                    &OpModeR::Base,
                    &sk,
                    enc,
                    &hpke_info(LABEL_HPKE_INFO_V2, keyring_id),
                    sealed,
                    &self.seal_aad(keyring_id),
                )?;
                Ok(Some(Opened { master, auth: None }))
            }
            Seal::V3 {
                public,
                auth_nonce,
                wrapped_auth,
                enc,
                sealed,
            } => {
                let (sk, derived) = protector_keypair(keyring_id, kek);
                if !ct_eq(&derived, public) {
                    return Ok(None);
                }
                let mut auth = Zeroizing::new([0u8; 32]);
                Aes256Gcm::new(auth_key(keyring_id, kek).expose())
                    .open_into(
                        auth_nonce,
                        &self.auth_aad(keyring_id),
                        wrapped_auth,
                        &mut auth[..],
                    )
                    .map_err(|_| Error::KeyringCorrupt)?;
                let psk_id = psk_id(keyring_id, self.id);
                let bundle = PskBundle::new(&auth[..], &psk_id).map_err(|_| Error::KeyringCorrupt)?;
                let master = open_hpke(
                    &OpModeR::Psk(bundle),
                    &sk,
                    enc,
                    &hpke_info(LABEL_HPKE_INFO, keyring_id),
                    sealed,
                    &self.seal_aad(keyring_id),
                )?;
                let auth = SecretKey::from_slice(&auth[..]).ok_or(Error::KeyringCorrupt)?;
                Ok(Some(Opened {
                    master,
                    auth: Some(auth),
                }))
            }
        }
    }
}

/// Opens an HPKE seal of a master key; any failure is
/// [`Error::KeyringCorrupt`] (the key pair matched, so the seal is bad).
fn open_hpke(
    mode: &OpModeR<'_, Kem>,
    sk: &<Kem as KemTrait>::PrivateKey,
    enc: &[u8; X25519_LEN],
    info: &[u8],
    sealed: &[u8; WRAPPED_LEN],
    aad: &[u8],
) -> Result<SecretKey> {
    let enc = <Kem as KemTrait>::EncappedKey::from_bytes(enc).map_err(|_| Error::KeyringCorrupt)?;
    let plain = hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(mode, sk, &enc, info, sealed, aad)
        .map_err(|_| Error::KeyringCorrupt)?;
    let plain = Zeroizing::new(plain);
    SecretKey::from_slice(&plain).ok_or(Error::KeyringCorrupt)
}

/// An HPKE failure while sealing: only a public key that is not a usable
/// X25519 point (a crafted or damaged stanza) can cause it.
fn hpke_error(_: hpke::HpkeError) -> Error {
    Error::malformed("keyring", "a protector public key is not a usable X25519 key")
}

/// Builders of format-1 and format-2 stanzas, which this build no longer
/// writes: for the worked examples and the migration tests.
#[cfg(test)]
pub(crate) mod legacy {
    use super::*;

    /// A format-1 stanza wrapping `master` under `kek` with `nonce`.
    pub(crate) fn seal_v1(
        keyring_id: &[u8; ID_LEN],
        id: u32,
        created_at: u64,
        kind: Kind,
        kek: &SecretKey,
        master: &SecretKey,
        nonce: [u8; NONCE_LEN],
    ) -> Stanza {
        let mut stanza = Stanza {
            id,
            created_at,
            kind,
            seal: Seal::V1 {
                nonce,
                wrapped: [0; WRAPPED_LEN],
            },
        };
        let aad = stanza.seal_aad(keyring_id);
        if let Seal::V1 { wrapped, .. } = &mut stanza.seal {
            Aes256Gcm::new(kek.expose()).seal_into(&nonce, &aad, master.expose(), wrapped);
        }
        stanza
    }

    /// A format-2 stanza sealing `master` in HPKE base mode to the key pair
    /// of `kek`, the ephemeral key drawn from `rng`.
    pub(crate) fn seal_v2(
        keyring_id: &[u8; ID_LEN],
        id: u32,
        created_at: u64,
        kind: Kind,
        kek: &SecretKey,
        master: &SecretKey,
        rng: &mut impl hpke::rand_core::CryptoRng,
    ) -> Stanza {
        let (_, public) = protector_keypair(keyring_id, kek);
        let mut stanza = Stanza {
            id,
            created_at,
            kind,
            seal: Seal::V2 {
                public,
                enc: [0; X25519_LEN],
                sealed: [0; WRAPPED_LEN],
            },
        };
        let aad = stanza.seal_aad(keyring_id);
        let pk = <Kem as KemTrait>::PublicKey::from_bytes(&public).expect("a derived public key");
        let (encapped, ct) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, Kem>(
            &OpModeS::Base,
            &pk,
            &hpke_info(LABEL_HPKE_INFO_V2, keyring_id),
            master.expose(),
            &aad,
            rng,
        )
        .expect("sealing to a derived key");
        if let Seal::V2 { enc, sealed, .. } = &mut stanza.seal {
            enc.copy_from_slice(&encapped.to_bytes());
            sealed.copy_from_slice(&ct);
        }
        stanza
    }
}
