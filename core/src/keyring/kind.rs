//! Protector kinds: what a protector's secret is, the parameters stored
//! with it, and how the secret gives a key-encryption key (KEK).
//!
//! Every kind is "a secret from which a KEK is derived"; what follows the
//! parameters in a stanza (public key, authentication value, seal) is the
//! same for every kind (see `stanza.rs`). Adding a kind is adding a variant
//! here with its parameter parser, its encoder and its KEK derivation.

use super::protector::Unlock;
use super::recovery::RecoveryKey;
use crate::codec::Reader;
use crate::crypto::kdf::derive_key32;
use crate::error::{Error, Result};
use crate::passphrase::{KdfMeter, KdfParams, SALT_LEN};
use crate::secret::{Passphrase, SecretKey};

/// Kind byte of a format-1 passphrase stanza.
pub(crate) const V1_PASSPHRASE: u8 = 1;
/// Kind byte of a format-1 recovery-key stanza.
pub(crate) const V1_RECOVERY_KEY: u8 = 2;
/// Kind byte of a format-2 passphrase stanza.
pub(crate) const V2_PASSPHRASE: u8 = 3;
/// Kind byte of a format-2 recovery-key stanza.
pub(crate) const V2_RECOVERY_KEY: u8 = 4;
/// Kind byte of a format-3 passphrase stanza.
pub(crate) const PASSPHRASE: u8 = 5;
/// Kind byte of a format-3 recovery-key stanza.
pub(crate) const RECOVERY_KEY: u8 = 6;

/// Length of the passphrase parameters: m, t, p (`u32` each) and the salt.
pub(crate) const PASSPHRASE_PARAMS_LEN: usize = 12 + SALT_LEN;
/// Length of the recovery-key parameters: the salt.
pub(crate) const RECOVERY_PARAMS_LEN: usize = SALT_LEN;
/// Longest parameters a format-3 stanza may carry (room for kinds to come,
/// such as an encapsulation to an identity key).
pub(crate) const MAX_PARAMS_LEN: usize = 2048;

/// HKDF label of the passphrase KEK (input: the Argon2id output).
pub(crate) const LABEL_KEK_PASSPHRASE: &[u8] = b"strongroom/v1/keyring/kek/passphrase";
/// HKDF label of the recovery-key KEK (input: the 32 recovery-key bytes).
pub(crate) const LABEL_KEK_RECOVERY: &[u8] = b"strongroom/v1/keyring/kek/recovery-key";

/// The kind of a protector and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A passphrase stretched with Argon2id under `params`, salted.
    Passphrase { params: KdfParams, salt: [u8; SALT_LEN] },
    /// A recovery key (256 random bits), salted.
    RecoveryKey { salt: [u8; SALT_LEN] },
    /// A format-3 kind this build does not know, with its parameters as
    /// they are: the keyring opens with its other protectors, but is not
    /// changed (see [`Error::UnknownProtectorKind`]).
    Unknown { kind: u8, params: Vec<u8> },
}

impl Kind {
    /// Parses the parameters of the format-3 kind `kind` (the whole
    /// `params` field). Kinds of formats 1 and 2, and kind 0, are refused:
    /// a format-3 file holds only format-3 kinds, so no stanza can be
    /// downgraded on its own.
    pub fn parse_v3(kind: u8, params: &[u8]) -> Result<Self> {
        let exact = |len: usize| {
            if params.len() == len {
                Ok(())
            } else {
                Err(Error::malformed(
                    "keyring",
                    format!(
                        "protector kind {kind} takes {len} bytes of parameters, not {}",
                        params.len()
                    ),
                ))
            }
        };
        let mut r = Reader::new(params, "keyring protector parameters");
        match kind {
            PASSPHRASE => {
                exact(PASSPHRASE_PARAMS_LEN)?;
                Self::read_passphrase(&mut r)
            }
            RECOVERY_KEY => {
                exact(RECOVERY_PARAMS_LEN)?;
                Self::read_recovery_key(&mut r)
            }
            0..=V2_RECOVERY_KEY => Err(Error::malformed(
                "keyring",
                format!("protector kind {kind} is not allowed in keyring format 3"),
            )),
            _ => Ok(Kind::Unknown {
                kind,
                params: params.to_vec(),
            }),
        }
    }

    /// Reads passphrase parameters: m, t, p, salt.
    pub fn read_passphrase(r: &mut Reader<'_>) -> Result<Self> {
        let params = KdfParams {
            memory_kib: r.u32()?,
            iterations: r.u32()?,
            parallelism: r.u32()?,
        };
        Ok(Kind::Passphrase {
            params,
            salt: r.array()?,
        })
    }

    /// Reads recovery-key parameters: the salt.
    pub fn read_recovery_key(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Kind::RecoveryKey { salt: r.array()? })
    }

    /// Appends the parameters (without any length prefix).
    pub fn encode_params(&self, out: &mut Vec<u8>) {
        match self {
            Kind::Passphrase { params, salt } => {
                out.extend_from_slice(&params.memory_kib.to_be_bytes());
                out.extend_from_slice(&params.iterations.to_be_bytes());
                out.extend_from_slice(&params.parallelism.to_be_bytes());
                out.extend_from_slice(salt);
            }
            Kind::RecoveryKey { salt } => out.extend_from_slice(salt),
            Kind::Unknown { params, .. } => out.extend_from_slice(params),
        }
    }

    /// Length of the parameters.
    pub fn params_len(&self) -> usize {
        match self {
            Kind::Passphrase { .. } => PASSPHRASE_PARAMS_LEN,
            Kind::RecoveryKey { .. } => RECOVERY_PARAMS_LEN,
            Kind::Unknown { params, .. } => params.len(),
        }
    }

    /// The format-3 kind byte.
    pub fn v3_byte(&self) -> u8 {
        match self {
            Kind::Passphrase { .. } => PASSPHRASE,
            Kind::RecoveryKey { .. } => RECOVERY_KEY,
            Kind::Unknown { kind, .. } => *kind,
        }
    }

    /// Checks the parameters against their bounds without any work.
    pub fn validate(&self) -> Result<()> {
        match self {
            Kind::Passphrase { params, .. } => params.validate(),
            Kind::RecoveryKey { .. } | Kind::Unknown { .. } => Ok(()),
        }
    }

    /// Whether a passphrase protector: the ones that cost an Argon2id run
    /// to try, capped per keyring.
    pub fn is_passphrase(&self) -> bool {
        matches!(self, Kind::Passphrase { .. })
    }

    /// Whether a recovery-key protector.
    pub fn is_recovery_key(&self) -> bool {
        matches!(self, Kind::RecoveryKey { .. })
    }

    /// The KEK `unlock` gives for this protector, or `None` if `unlock` is
    /// a secret of another kind. Passphrase parameters are validated before
    /// any Argon2id work.
    /// The Argon2id run is charged to `meter`, which refuses it
    /// ([`Error::KdfBudgetExceeded`](crate::Error::KdfBudgetExceeded))
    /// beyond the call's budget.
    pub fn kek(&self, unlock: &Unlock, meter: &mut KdfMeter) -> Result<Option<SecretKey>> {
        match (self, unlock) {
            (Kind::Passphrase { params, salt }, Unlock::Passphrase(p)) => {
                let stretched = meter.derive(params, p, salt)?;
                Ok(Some(derive_key32(stretched.expose(), salt, LABEL_KEK_PASSPHRASE)))
            }
            (Kind::RecoveryKey { salt }, Unlock::RecoveryKey(k)) => Ok(Some(recovery_kek(k, salt))),
            _ => Ok(None),
        }
    }
}

/// KEK of a passphrase protector: HKDF-SHA-256 over the Argon2id output,
/// salted with the stanza salt. Validates the parameters before any work.
pub(crate) fn passphrase_kek(
    passphrase: &Passphrase,
    params: &KdfParams,
    salt: &[u8; SALT_LEN],
) -> Result<SecretKey> {
    let stretched = params.derive(passphrase, salt)?;
    Ok(derive_key32(stretched.expose(), salt, LABEL_KEK_PASSPHRASE))
}

/// KEK of a recovery-key protector: HKDF-SHA-256 over the key, salted with
/// the stanza salt (no stretching: the input is 256 random bits).
pub(crate) fn recovery_kek(key: &RecoveryKey, salt: &[u8; SALT_LEN]) -> SecretKey {
    derive_key32(key.secret().expose(), salt, LABEL_KEK_RECOVERY)
}

/// A fresh random salt for a new protector.
pub(crate) fn fresh_salt() -> [u8; SALT_LEN] {
    crate::crypto::random::array()
}
