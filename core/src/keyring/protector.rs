//! Protectors as the API shows them (kind, id, date, no secret), the
//! secrets that unlock them, and the unlocking itself: trying a secret
//! against every stanza of its kind.

use super::kind::Kind;
use super::layout::ID_LEN;
use super::recovery::RecoveryKey;
use super::stanza::{Opened, Stanza};
use crate::error::{Error, Result};
use crate::passphrase::{KdfMeter, KdfParams, trial_order};
use crate::secret::{Passphrase, SecretKey};

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
    /// A kind this version of strongroom does not know (a newer release
    /// added it): the keyring opens with its other protectors, but is not
    /// changed ([`Error::UnknownProtectorKind`]).
    Unknown {
        /// The kind byte.
        kind: u8,
    },
}

/// Public description of one protector (no secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtectorInfo {
    /// Identifier within this keyring, never reused after removal.
    pub id: u32,
    /// Passphrase (with its cost), recovery key, or a kind unknown here.
    pub kind: ProtectorKind,
    /// When the protector was added, seconds since the Unix epoch.
    pub created_at: u64,
    /// Still in an older keyring format (1 or 2): the keyring must be
    /// upgraded ([`Keyring::upgrade`](super::Keyring::upgrade)), with this
    /// protector's secret, before it is encrypted with or changed.
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

impl Unlock {
    /// The error of a secret that opens no protector of its kind.
    pub(crate) fn mismatch(&self) -> Error {
        match self {
            Unlock::Passphrase(_) => Error::WrongPassphrase,
            Unlock::RecoveryKey(_) => Error::WrongRecoveryKey,
        }
    }
}

/// The protector that unlocked a keyring, with its KEK (wiped on drop,
/// redacted in `Debug`).
#[derive(Debug)]
pub(crate) struct Unlocker {
    pub id: u32,
    pub kek: SecretKey,
    pub recovery: bool,
}

impl Unlocker {
    /// The error once this protector is gone from the keyring.
    pub fn removed(&self) -> Error {
        if self.recovery {
            Error::WrongRecoveryKey
        } else {
            Error::WrongPassphrase
        }
    }
}

impl Stanza {
    /// Public description.
    pub fn info(&self) -> ProtectorInfo {
        ProtectorInfo {
            id: self.id,
            kind: match &self.kind {
                Kind::Passphrase { params, .. } => ProtectorKind::Passphrase { params: *params },
                Kind::RecoveryKey { .. } => ProtectorKind::RecoveryKey,
                Kind::Unknown { kind, .. } => ProtectorKind::Unknown { kind: *kind },
            },
            created_at: self.created_at,
            legacy: self.is_legacy(),
        }
    }
}

/// The first stanza `unlock` opens, with what it gave and the protector
/// that opened; `None` if it opens none. Every passphrase stanza's
/// parameters are validated before the first Argon2id run; each run is
/// charged to `meter`, stanzas within
/// [`KdfBudget::DEFAULT`](crate::passphrase::KdfBudget::DEFAULT) first. If a
/// stanza was skipped as beyond the budget and none opened, the error is
/// [`Error::KdfBudgetExceeded`] (the secret may fit the skipped one).
pub(crate) fn find_opening(
    keyring_id: &[u8; ID_LEN],
    stanzas: &[Stanza],
    unlock: &Unlock,
    meter: &mut KdfMeter,
) -> Result<Option<(Opened, Unlocker)>> {
    for stanza in stanzas {
        stanza.kind.validate()?;
    }
    let params: Vec<Option<KdfParams>> = stanzas
        .iter()
        .map(|s| match &s.kind {
            Kind::Passphrase { params, .. } => Some(*params),
            _ => None,
        })
        .collect();
    let mut skipped = None;
    for i in trial_order(&params) {
        let stanza = &stanzas[i];
        let kek = match stanza.kind.kek(unlock, meter) {
            Ok(Some(kek)) => kek,
            Ok(None) => continue,
            Err(e @ Error::KdfBudgetExceeded { .. }) => {
                skipped.get_or_insert(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(opened) = stanza.open(keyring_id, &kek)? {
            let unlocker = Unlocker {
                id: stanza.id,
                kek,
                recovery: matches!(unlock, Unlock::RecoveryKey(_)),
            };
            return Ok(Some((opened, unlocker)));
        }
    }
    match skipped {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Recovers the master key with `unlock`, trying every stanza of the
/// matching kind; [`Error::WrongPassphrase`] or [`Error::WrongRecoveryKey`]
/// if none opens, [`Error::KdfBudgetExceeded`] if one was beyond `meter`'s
/// budget.
pub(crate) fn unlock_master(
    keyring_id: &[u8; ID_LEN],
    stanzas: &[Stanza],
    unlock: &Unlock,
    meter: &mut KdfMeter,
) -> Result<(Opened, Unlocker)> {
    find_opening(keyring_id, stanzas, unlock, meter)?.ok_or_else(|| unlock.mismatch())
}
