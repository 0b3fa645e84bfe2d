//! The upgrade of a format-1 or format-2 keyring to format 3: the first
//! and only change such a keyring accepts.
//!
//! An older keyring cannot prove who sealed it, so the upgrade needs every
//! protector's own secret once (to wrap its new authentication value under
//! its KEK), or their removal; a protector is never dropped silently. It
//! seals a new master key, and by default adds and promotes a new key
//! version: if the old file was a forgery, its forger knows every old
//! version, but not the new one.

use super::change::{Rotation, check_removal};
use super::format::{AuthTable, Header};
use super::layout::VERSION;
use super::protector::{self, Unlock};
use super::stanza::Stanza;
use super::{Keyring, store, unix_now};
use crate::crypto::kdf::ct_eq;
use crate::crypto::random;
use crate::error::{Error, Result};
use crate::passphrase::KdfMeter;
use crate::secret::SecretKey;

/// What [`Keyring::upgrade`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Upgrade {
    /// The format the keyring was in.
    pub from_format: u8,
    /// Whether the file was rewritten (false: it already was in format 3).
    pub upgraded: bool,
    /// The protectors removed in the upgrade.
    pub removed: Vec<u32>,
    /// The key version added and made primary, if the upgrade rotated.
    pub new_primary: Option<u32>,
}

/// The KEK of every protector of `header` that `secrets` (or the unlocking
/// protector) opens, by protector id. A secret that opens nothing is an
/// error; so is a stanza that holds another master key than `master`.
fn gather_keks(
    header: &Header,
    master: &SecretKey,
    unlocker: (u32, &SecretKey),
    secrets: &[Unlock],
    meter: &mut KdfMeter,
) -> Result<Vec<(u32, SecretKey)>> {
    let mut keks: Vec<(u32, SecretKey)> = Vec::new();
    if header.stanza(unlocker.0).is_some() {
        let kek = SecretKey::from_slice(unlocker.1.expose()).ok_or(Error::KeyringCorrupt)?;
        keks.push((unlocker.0, kek));
    }
    for unlock in secrets {
        let (opened, found) = protector::unlock_master(&header.id, &header.stanzas, unlock, meter)?;
        if !ct_eq(opened.master.expose(), master.expose()) {
            return Err(Error::KeyringCorrupt);
        }
        if !keks.iter().any(|(id, _)| *id == found.id) {
            keks.push((found.id, found.kek));
        }
    }
    Ok(keks)
}

impl Keyring {
    /// Upgrades a keyring in format 1 or 2 to format 3, under the lock, in
    /// one save.
    ///
    /// Every protector that stays needs its secret: the one that unlocked
    /// this handle is held, the others come in `secrets` (each must open a
    /// protector, else [`Error::WrongPassphrase`] or
    /// [`Error::WrongRecoveryKey`]). Protectors in `remove` are removed
    /// instead. One left without its secret gives
    /// [`Error::ProtectorsNeedUpgrade`] naming them. Each protector keeps
    /// its id, date and parameters (the same secret opens it) and gets a
    /// fresh authentication value; a new master key is sealed to all.
    /// With [`Rotation::Rotate`] a new key version is added and made
    /// primary.
    ///
    /// The upgrade cannot tell whether the old file was genuine: anyone
    /// who could write it could have chosen its keys and protectors. Check
    /// [`Keyring::protectors`] and [`Keyring::versions`] against what you
    /// expect (or create a new keyring and move the data to it).
    ///
    /// A keyring already in format 3 is left as it is (`upgraded` false).
    pub fn upgrade(&mut self, secrets: &[Unlock], remove: &[u32], rotation: Rotation) -> Result<Upgrade> {
        let _guard = store::lock(&self.path, self.lock_timeout)?;
        let (mut header, mut body) = self.read_current()?;
        let from_format = header.format;
        if from_format == VERSION {
            self.header = header;
            self.body = body;
            return Ok(Upgrade {
                from_format,
                upgraded: false,
                removed: Vec::new(),
                new_primary: None,
            });
        }
        let mut remove = remove.to_vec();
        remove.sort_unstable();
        remove.dedup();
        if !remove.is_empty() {
            check_removal(&header, &remove)?;
        }
        let keks = gather_keks(
            &header,
            &self.master,
            (self.unlocker.id, &self.unlocker.kek),
            secrets,
            &mut KdfMeter::new(self.kdf_budget),
        )?;
        let kept: Vec<&Stanza> = header
            .stanzas
            .iter()
            .filter(|s| !remove.contains(&s.id))
            .collect();
        let missing: Vec<u32> = kept
            .iter()
            .map(|s| s.id)
            .filter(|id| !keks.iter().any(|(k, _)| k == id))
            .collect();
        if !missing.is_empty() {
            return Err(Error::ProtectorsNeedUpgrade(missing));
        }

        let master = SecretKey::random();
        let mut stanzas = Vec::with_capacity(kept.len());
        let mut auth = AuthTable::default();
        for old in kept {
            let kek = keks
                .iter()
                .find(|(id, _)| *id == old.id)
                .map(|(_, k)| k)
                .ok_or(Error::KeyringCorrupt)?;
            let value = SecretKey::random();
            let stanza = Stanza::enroll(
                &header.id,
                old.id,
                old.created_at,
                old.kind.clone(),
                kek,
                &value,
                random::array(),
            )
            .sealed(&header.id, &master, &value)?;
            stanzas.push(stanza);
            auth.set(old.id, value);
        }
        header.stanzas = stanzas;
        header.format = VERSION;
        body.auth = auth;
        let new_primary = match rotation {
            Rotation::Rotate => Some(body.versions.add(true, unix_now())?),
            Rotation::KeepPrimary => None,
        };
        self.save(header, body, Some(master))?;
        Ok(Upgrade {
            from_format,
            upgraded: true,
            removed: remove,
            new_primary,
        })
    }
}
