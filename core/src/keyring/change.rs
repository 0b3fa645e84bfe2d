//! Changes to a format-3 keyring: key versions, protectors, rekeying and
//! re-enrollment. Each runs under the keyring's lock against the file on
//! disk, and is saved as the next generation.

use super::format::{Body, Header, MAX_PASSPHRASE_PROTECTORS, MAX_PROTECTORS};
use super::kind::{self, Kind};
use super::layout::VERSION;
use super::protector::{self, Unlock};
use super::recovery::RecoveryKey;
use super::stanza::Stanza;
use super::{Keyring, store, unix_now};
use crate::crypto::kdf::ct_eq;
use crate::crypto::random;
use crate::error::{Error, Result};
use crate::passphrase::{KdfMeter, KdfParams};
use crate::secret::{Passphrase, SecretKey};

/// Whether a change that revokes a protector (removing it, replacing the
/// recovery key) also adds a key version and makes it primary, in the
/// same save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    /// Add and promote a new key version (the default): everything
    /// encrypted from then on uses a key the removed secret never reached,
    /// even together with an old copy of the keyring file.
    #[default]
    Rotate,
    /// Keep the primary version. Whoever holds the removed secret and a
    /// copy of the keyring file taken before still has the primary key,
    /// and with it opens everything encrypted afterwards, until a rotation.
    KeepPrimary,
}

/// What a revoking change did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revocation {
    /// The protectors removed.
    pub removed: Vec<u32>,
    /// The key version added and made primary, if the change rotated.
    pub new_primary: Option<u32>,
    /// The remaining protectors whose authentication values a removed
    /// party may know (every one but the protector that made the change,
    /// which got a fresh value). With write access to the keyring file,
    /// that party could plant a keyring these protectors open: give them
    /// fresh values with [`Keyring::reenroll`].
    pub to_reenroll: Vec<u32>,
}

/// What [`Keyring::reenroll`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reenrollment {
    /// Protectors that got a fresh authentication value.
    pub reenrolled: Vec<u32>,
    /// Protectors that kept theirs (their secret was not given).
    pub unchanged: Vec<u32>,
}

/// Values a change needs besides the fresh state.
pub(super) struct Ctx<'a> {
    pub master: &'a SecretKey,
    pub now: u64,
}

/// How a change is saved.
pub(super) enum Save {
    /// Nothing changed: nothing is written.
    Nothing,
    /// Written under the same master key.
    Plain,
    /// Written under a new master key sealed to every protector; the
    /// unlocking protector and those in the list (protector id, KEK) get
    /// fresh authentication values first.
    Rekey(Vec<(u32, SecretKey)>),
}

/// A copy of a key (no intermediate copy on the stack).
fn copy_key(key: &SecretKey) -> SecretKey {
    SecretKey::from_slice(key.expose()).unwrap_or_else(SecretKey::random)
}

/// Refuses to change a keyring in an older format or one holding a kind
/// this build does not know.
fn check_changeable(header: &Header) -> Result<()> {
    if header.format < VERSION {
        return Err(Error::KeyringNeedsUpgrade {
            format: header.format,
            operation: "changing it",
        });
    }
    if let Some(s) = header
        .stanzas
        .iter()
        .find(|s| matches!(s.kind, Kind::Unknown { .. }))
    {
        return Err(Error::UnknownProtectorKind {
            id: s.id,
            kind: s.kind.v3_byte(),
        });
    }
    Ok(())
}

/// Gives each protector of `fresh` a new authentication value, then seals
/// a new master key to every protector; returns the new master key.
pub(super) fn rekey(header: &mut Header, body: &mut Body, fresh: &[(u32, SecretKey)]) -> Result<SecretKey> {
    let id = header.id;
    for (protector, kek) in fresh {
        let Some(stanza) = header.stanzas.iter_mut().find(|s| s.id == *protector) else {
            continue;
        };
        let auth = SecretKey::random();
        *stanza = stanza.reenrolled(&id, kek, &auth)?;
        body.auth.set(*protector, auth);
    }
    let master = SecretKey::random();
    for stanza in &mut header.stanzas {
        let auth = body.auth.get(stanza.id).ok_or(Error::KeyringCorrupt)?;
        *stanza = stanza.sealed(&id, &master, auth)?;
    }
    Ok(master)
}

/// Appends a stanza for the protector whose KEK is `kek`, with a fresh
/// authentication value, holding the current master key; returns its id.
fn push_stanza(
    header: &mut Header,
    body: &mut Body,
    kind: Kind,
    kek: &SecretKey,
    ctx: &Ctx<'_>,
) -> Result<u32> {
    if header.stanzas.len() >= MAX_PROTECTORS {
        return Err(Error::InvalidArgument(format!(
            "the keyring already has the maximum of {MAX_PROTECTORS} protectors"
        )));
    }
    let id = header.next_protector_id;
    header.next_protector_id = id
        .checked_add(1)
        .ok_or_else(|| Error::InvalidArgument("protector ids are exhausted".into()))?;
    let auth = SecretKey::random();
    let stanza = Stanza::enroll(&header.id, id, ctx.now, kind, kek, &auth, random::array())
        .sealed(&header.id, ctx.master, &auth)?;
    header.stanzas.push(stanza);
    body.auth.set(id, auth);
    Ok(id)
}

/// The ids of `header`'s protectors other than `except`.
fn others(header: &Header, except: &[u32]) -> Vec<u32> {
    header
        .stanzas
        .iter()
        .map(|s| s.id)
        .filter(|id| !except.contains(id))
        .collect()
}

impl Keyring {
    /// Runs `change` on the current on-disk state under the exclusive lock
    /// and saves the result as [`Save`] says. Refuses older formats
    /// ([`Error::KeyringNeedsUpgrade`]) and unknown protector kinds
    /// ([`Error::UnknownProtectorKind`]); nothing is written then, nor
    /// when `change` fails. The state in memory becomes the fresh state.
    pub(super) fn mutate<T>(
        &mut self,
        change: impl FnOnce(&mut Header, &mut Body, &Ctx<'_>) -> Result<(T, Save)>,
    ) -> Result<T> {
        let _guard = store::lock(&self.path, self.lock_timeout)?;
        let (mut header, mut body) = self.read_current()?;
        check_changeable(&header)?;
        let ctx = Ctx {
            master: &self.master,
            now: unix_now(),
        };
        let (out, save) = change(&mut header, &mut body, &ctx)?;
        let new_master = match save {
            Save::Nothing => {
                self.header = header;
                self.body = body;
                return Ok(out);
            }
            Save::Plain => None,
            Save::Rekey(mut fresh) => {
                if !fresh.iter().any(|(id, _)| *id == self.unlocker.id) {
                    fresh.push((self.unlocker.id, copy_key(&self.unlocker.kek)));
                }
                Some(rekey(&mut header, &mut body, &fresh)?)
            }
        };
        self.save(header, body, new_master)?;
        Ok(out)
    }

    /// Adds a key version numbered one above the highest. It is
    /// decrypt-only, or primary if `promote` (the old primary then becomes
    /// decrypt-only). Returns the new number.
    pub fn add_key(&mut self, promote: bool) -> Result<u32> {
        self.mutate(|_, body, ctx| Ok((body.versions.add(promote, ctx.now)?, Save::Plain)))
    }

    /// Makes `version` primary; the previous primary becomes decrypt-only.
    /// A disabled version must be enabled first; a destroyed one cannot be
    /// promoted. Promoting the primary does nothing.
    pub fn promote(&mut self, version: u32) -> Result<()> {
        self.mutate(|_, body, ctx| Ok(((), saved_if(body.versions.promote(version, ctx.now)?))))
    }

    /// Disables a decrypt-only version: it can no longer decrypt until
    /// [`Keyring::enable`]d. Refused for the primary and for destroyed
    /// versions ([`Error::InvalidArgument`]).
    pub fn disable(&mut self, version: u32) -> Result<()> {
        self.mutate(|_, body, ctx| Ok(((), saved_if(body.versions.disable(version, ctx.now)?))))
    }

    /// Makes a disabled version decrypt-only again. Refused for destroyed
    /// versions; does nothing for primary and decrypt-only ones.
    pub fn enable(&mut self, version: u32) -> Result<()> {
        self.mutate(|_, body, ctx| Ok(((), saved_if(body.versions.enable(version, ctx.now)?))))
    }

    /// Irreversibly wipes a version's secret, keeping its metadata. Refused
    /// for the primary ([`Error::InvalidArgument`]). Data encrypted under
    /// it can no longer be decrypted with this keyring. Note that older
    /// copies of the keyring file (backups) still hold the secret.
    pub fn destroy(&mut self, version: u32) -> Result<()> {
        self.mutate(|_, body, ctx| Ok(((), saved_if(body.versions.destroy(version, ctx.now)?))))
    }

    /// Adds a passphrase protector with Argon2id `params`; returns its id.
    /// Argon2id runs before the lock is taken. A keyring holds at most 4
    /// passphrase protectors ([`Error::InvalidArgument`] beyond).
    pub fn add_passphrase(&mut self, passphrase: &Passphrase, params: KdfParams) -> Result<u32> {
        if passphrase.is_empty() {
            return Err(Error::InvalidArgument("the passphrase is empty".into()));
        }
        let salt = kind::fresh_salt();
        let kek = kind::passphrase_kek(passphrase, &params, &salt)?;
        let kind = Kind::Passphrase { params, salt };
        self.mutate(|header, body, ctx| {
            let passphrases = header.stanzas.iter().filter(|s| s.kind.is_passphrase()).count();
            if passphrases >= MAX_PASSPHRASE_PROTECTORS {
                return Err(Error::InvalidArgument(format!(
                    "the keyring already has the maximum of {MAX_PASSPHRASE_PROTECTORS} passphrases"
                )));
            }
            Ok((push_stanza(header, body, kind, &kek, ctx)?, Save::Plain))
        })
    }

    /// Adds a recovery-key protector and returns its id and the new key,
    /// which the caller must show to the user now: it is not stored anywhere
    /// in readable form. Existing recovery keys stay valid.
    pub fn add_recovery_key(&mut self) -> Result<(u32, RecoveryKey)> {
        let (id, key, _) = self.new_recovery_key(false, Rotation::Rotate)?;
        Ok((id, key))
    }

    /// Like [`Keyring::add_recovery_key`], but removes every existing
    /// recovery-key protector in the same save and, if there was one,
    /// revokes it as [`Keyring::remove_protectors`] does (new master key,
    /// and a new primary key version).
    pub fn replace_recovery_key(&mut self) -> Result<(u32, RecoveryKey)> {
        let (id, key, _) = self.new_recovery_key(true, Rotation::Rotate)?;
        Ok((id, key))
    }

    /// [`Keyring::replace_recovery_key`] with a choice of [`Rotation`];
    /// also returns what the revocation did (`None` if there was no
    /// recovery key to replace, so nothing was revoked).
    pub fn replace_recovery_key_with(
        &mut self,
        rotation: Rotation,
    ) -> Result<(u32, RecoveryKey, Option<Revocation>)> {
        self.new_recovery_key(true, rotation)
    }

    fn new_recovery_key(
        &mut self,
        replace: bool,
        rotation: Rotation,
    ) -> Result<(u32, RecoveryKey, Option<Revocation>)> {
        let key = RecoveryKey::random();
        let salt = kind::fresh_salt();
        let kek = kind::recovery_kek(&key, &salt);
        let kind = Kind::RecoveryKey { salt };
        let me = self.unlocker.id;
        let (id, revocation) = self.mutate(|header, body, ctx| {
            let removed: Vec<u32> = if replace {
                header
                    .stanzas
                    .iter()
                    .filter(|s| s.kind.is_recovery_key())
                    .map(|s| s.id)
                    .collect()
            } else {
                Vec::new()
            };
            header.stanzas.retain(|s| !removed.contains(&s.id));
            body.auth.retain(|id| !removed.contains(&id));
            let id = push_stanza(header, body, kind, &kek, ctx)?;
            if removed.is_empty() {
                return Ok(((id, None), Save::Plain));
            }
            let new_primary = rotate(body, rotation, ctx)?;
            let revocation = Revocation {
                removed,
                new_primary,
                to_reenroll: others(header, &[me, id]),
            };
            Ok(((id, Some(revocation)), Save::Rekey(Vec::new())))
        })?;
        Ok((id, key, revocation))
    }

    /// Removes the protector with this id (see [`Keyring::remove_protectors`]).
    pub fn remove_protector(&mut self, id: u32) -> Result<Revocation> {
        self.remove_protectors(&[id])
    }

    /// Removes these protectors and, in the same save, revokes them: a new
    /// master key is sealed to every remaining protector (the one that
    /// unlocked this handle gets a fresh authentication value), and a new
    /// key version is added and made primary. A removed secret, even with
    /// a copy of the keyring file taken before, then opens nothing
    /// encrypted from now on. See [`Revocation::to_reenroll`] for what a
    /// removed party with write access to the file can still do.
    ///
    /// Refuses an unknown id and removing every protector
    /// ([`Error::InvalidArgument`]); nothing is changed then.
    pub fn remove_protectors(&mut self, ids: &[u32]) -> Result<Revocation> {
        self.remove_protectors_with(ids, Rotation::Rotate)
    }

    /// [`Keyring::remove_protectors`] with a choice of [`Rotation`].
    pub fn remove_protectors_with(&mut self, ids: &[u32], rotation: Rotation) -> Result<Revocation> {
        if ids.is_empty() {
            return Err(Error::InvalidArgument("no protector id given".into()));
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let me = self.unlocker.id;
        self.mutate(|header, body, ctx| {
            check_removal(header, &ids)?;
            header.stanzas.retain(|s| !ids.contains(&s.id));
            body.auth.retain(|id| !ids.contains(&id));
            let new_primary = rotate(body, rotation, ctx)?;
            let revocation = Revocation {
                removed: ids.clone(),
                new_primary,
                to_reenroll: others(header, &[me]),
            };
            Ok((revocation, Save::Rekey(Vec::new())))
        })
    }

    /// Replaces the master key: a new random master key (hence a new body
    /// key) is sealed to every protector, and the protector that unlocked
    /// this handle gets a fresh authentication value. Afterwards no removed
    /// secret and no earlier copy of the file opens what is written from
    /// now on.
    ///
    /// It does not change the key versions: an earlier copy of the file
    /// opened with a secret it accepted still yields every version that
    /// existed then. If such a copy or secret may be in other hands, rotate:
    /// [`Keyring::add_key`] with `promote`, move data to the new primary
    /// (rekey files with [`rekey_file`](crate::file::rekey_file), since a
    /// plain rewrap keeps the file key; re-encrypt fields), then
    /// [`Keyring::destroy`] the old versions.
    pub fn rekey(&mut self) -> Result<()> {
        self.mutate(|_, _, _| Ok(((), Save::Rekey(Vec::new()))))
    }

    /// Gives fresh authentication values to the protector that unlocked
    /// this handle and to every protector one of `secrets` opens, and seals
    /// a new master key to all of them, in one save.
    ///
    /// After a removal, the removed party (who once held the master key)
    /// knows the authentication values of its time: with write access to
    /// the file it could seal a master key of its choice that those
    /// protectors accept. Re-enrolled protectors no longer accept such a
    /// seal. A secret in `secrets` that opens no protector gives
    /// [`Error::WrongPassphrase`] or [`Error::WrongRecoveryKey`] and
    /// nothing changes.
    pub fn reenroll(&mut self, secrets: &[Unlock]) -> Result<Reenrollment> {
        let me = self.unlocker.id;
        let mut meter = KdfMeter::new(self.kdf_budget);
        self.mutate(|header, body, ctx| {
            let mut fresh: Vec<(u32, SecretKey)> = Vec::new();
            for unlock in secrets {
                let (opened, unlocker) =
                    protector::unlock_master(&header.id, &header.stanzas, unlock, &mut meter)?;
                let auth_matches = matches!(
                    (body.auth.get(unlocker.id), &opened.auth),
                    (Some(a), Some(b)) if ct_eq(a.expose(), b.expose())
                );
                if !ct_eq(opened.master.expose(), ctx.master.expose()) || !auth_matches {
                    return Err(Error::KeyringCorrupt);
                }
                if unlocker.id != me && !fresh.iter().any(|(id, _)| *id == unlocker.id) {
                    fresh.push((unlocker.id, unlocker.kek));
                }
            }
            let mut reenrolled: Vec<u32> = fresh.iter().map(|(id, _)| *id).collect();
            if header.stanza(me).is_some() {
                reenrolled.push(me);
            }
            reenrolled.sort_unstable();
            let unchanged = others(header, &reenrolled);
            Ok((
                Reenrollment {
                    reenrolled,
                    unchanged,
                },
                Save::Rekey(fresh),
            ))
        })
    }
}

/// [`Save::Plain`] if something changed, else [`Save::Nothing`].
fn saved_if(changed: bool) -> Save {
    if changed { Save::Plain } else { Save::Nothing }
}

/// Adds and promotes a key version if `rotation` says so.
fn rotate(body: &mut Body, rotation: Rotation, ctx: &Ctx<'_>) -> Result<Option<u32>> {
    match rotation {
        Rotation::Rotate => Ok(Some(body.versions.add(true, ctx.now)?)),
        Rotation::KeepPrimary => Ok(None),
    }
}

/// Every id names a protector, and at least one protector remains.
pub(super) fn check_removal(header: &Header, ids: &[u32]) -> Result<()> {
    for id in ids {
        if header.stanza(*id).is_none() {
            return Err(Error::InvalidArgument(format!(
                "the keyring has no protector with id {id}"
            )));
        }
    }
    if header.stanzas.iter().all(|s| ids.contains(&s.id)) {
        return Err(Error::InvalidArgument(
            "that would remove every protector; add another before removing these".into(),
        ));
    }
    Ok(())
}
