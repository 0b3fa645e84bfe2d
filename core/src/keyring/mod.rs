//! Keyrings: a random 256-bit master key, given to one or more protectors
//! (passphrases, recovery keys), that encrypts numbered key versions.
//!
//! - Each protector has an X25519 key pair derived from its secret; the
//!   master key is sealed to its public key with HPKE (RFC 9180). Removing
//!   a protector, replacing a recovery key and [`Keyring::rekey`] replace
//!   the master key and seal the new one to every remaining protector, so a
//!   removed secret, even with an old copy of the file, opens nothing
//!   written afterwards. Old copies still hold the key versions of their
//!   time: rotate those (see [`Keyring::rekey`]).
//! - Each key version is a random 256-bit secret with a [`KeyStatus`] and
//!   timestamps. Exactly one version is primary; it encrypts new data, and
//!   decrypt-only versions keep decrypting old data until retired.
//! - Purpose subkeys ([`Purpose`]) derive from a version's secret with
//!   HKDF-SHA-256, salted with the keyring id, under distinct labels.
//! - The file is versioned and authenticated as a whole, written atomically
//!   with mode 0600, and every change runs under an exclusive lock on a
//!   sidecar `<path>.lock` against the current file on disk, so concurrent
//!   processes never lose each other's changes.
//!
//! The byte-level format is in `docs/SPEC.md` section 4.
//!
//! ```no_run
//! use strongroom::keyring::{Keyring, KeyUse, Purpose, Unlock};
//! use strongroom::passphrase::KdfParams;
//! use strongroom::Passphrase;
//! use std::path::Path;
//!
//! let path = Path::new("app.keyring");
//! let mut ring = Keyring::create(path, &Passphrase::from("a long passphrase"), KdfParams::default())?;
//! let (_id, recovery) = ring.add_recovery_key()?;
//! println!("write this down: {}", recovery.dangerous_display().as_str());
//! let v2 = ring.add_key(true)?; // rotate: version 2 becomes primary
//! let key = ring.purpose_key(v2, Purpose::Field, KeyUse::Encrypt)?;
//! # drop(key);
//! let ring = Keyring::open(path, &Unlock::Passphrase(Passphrase::from("a long passphrase")))?;
//! assert_eq!(ring.primary_version(), 2);
//! # Ok::<(), strongroom::Error>(())
//! ```

mod format;
mod layout;
mod protector;
mod recovery;
mod store;
mod version;

#[cfg(test)]
mod example;
#[cfg(test)]
mod tests;

pub use protector::{ProtectorInfo, ProtectorKind, Unlock};
pub use recovery::RecoveryKey;
pub use version::{KeyStatus, KeyUse, KeyVersionInfo, Purpose};

use crate::crypto::random;
use crate::error::{Error, Result};
use crate::passphrase::KdfParams;
use crate::secret::{Passphrase, SecretKey};
use format::{Header, MAX_PASSPHRASE_PROTECTORS, MAX_PROTECTORS};
use protector::{Stanza, StanzaKind, Unlocker};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::WriteMode;
use version::{VersionEntry, Versions};

/// An unlocked keyring. Holds the master key and every version's secret in
/// memory (wiped on drop); `Debug` shows only public metadata.
///
/// **Threads:** `Keyring` is `Send + Sync`. Reading methods (`purpose_key`,
/// `versions`, encrypting and decrypting through it) take `&self` and may
/// run on many threads at once; changes (`add_key`, `promote`, protector
/// edits, `rekey`) take `&mut self`, so a shared keyring sits in a
/// `RwLock` (or `Mutex`) that serialises them. Changes by other processes
/// are serialised by the keyring's lock file.
pub struct Keyring {
    path: PathBuf,
    master: SecretKey,
    header: Header,
    versions: Versions,
    lock_timeout: Duration,
    /// The protector that unlocked this handle and its KEK: lets a write
    /// upgrade that protector from format 1, and lets the handle follow a
    /// master key replaced by another handle while its protector remains.
    unlocker: Unlocker,
}

/// Values a mutation needs besides the fresh state.
struct Ctx<'a> {
    master: &'a SecretKey,
    now: u64,
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Keyring {
    /// Creates a keyring at `path`, protected by `passphrase` with Argon2id
    /// `params`, holding version 1 as primary.
    ///
    /// Never overwrites: if `path` exists (or appears while the keyring is
    /// being written) this fails with [`Error::AlreadyExists`] and leaves the
    /// existing file untouched.
    pub fn create(path: &Path, passphrase: &Passphrase, params: KdfParams) -> Result<Keyring> {
        crate::atomic::refuse_symlink(path)?; // never create through a link
        params.validate()?;
        if passphrase.is_empty() {
            return Err(Error::InvalidArgument("the passphrase is empty".into()));
        }
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(Error::AlreadyExists(path.to_path_buf()));
        }
        let id: [u8; 16] = random::array();
        let master = SecretKey::random();
        let now = unix_now();
        let salt = protector::fresh_salt();
        let kek = protector::passphrase_kek(passphrase, &params, &salt)?;
        let stanza = Stanza::seal_new(
            &id,
            1,
            now,
            StanzaKind::Passphrase { params, salt },
            &kek,
            &master,
        )?;
        let header = Header {
            id,
            generation: 1,
            next_protector_id: 2,
            stanzas: vec![stanza],
            body_nonce: random::array(),
        };
        let versions = Versions(vec![VersionEntry::new(1, KeyStatus::Primary, now)]);
        let bytes = format::encode(&header, &versions, &master)?;
        store::write_atomic(path, &bytes, WriteMode::CreateNew)?;
        Ok(Keyring {
            path: path.to_path_buf(),
            master,
            header,
            versions,
            lock_timeout: store::DEFAULT_LOCK_TIMEOUT,
            unlocker: Unlocker {
                id: 1,
                kek,
                recovery: false,
            },
        })
    }

    /// Opens the keyring at `path` with a passphrase or a recovery key.
    ///
    /// Every protector of the matching kind is tried. Argon2id parameters
    /// are checked against the caps before any work ([`Error::KdfParams`]).
    /// A secret that fits no protector gives [`Error::WrongPassphrase`] or
    /// [`Error::WrongRecoveryKey`]; a modified file gives
    /// [`Error::KeyringCorrupt`] or a format error. Format-1 keyrings open
    /// too; the first saved change converts the file to format 2.
    pub fn open(path: &Path, unlock: &Unlock) -> Result<Keyring> {
        // Through a symbolic link, work on (and lock) the file it points to.
        let path = &crate::atomic::resolve_link(path);
        let bytes = store::read(path)?;
        let parsed = format::parse(&bytes)?;
        let (master, unlocker) = protector::unlock_master(&parsed.header.id, &parsed.header.stanzas, unlock)?;
        let versions = format::open_body(&parsed, &master)?;
        Ok(Keyring {
            path: path.to_path_buf(),
            master,
            header: parsed.header,
            versions,
            lock_timeout: store::DEFAULT_LOCK_TIMEOUT,
            unlocker,
        })
    }

    /// Reads a keyring file's public identifier without unlocking it (the
    /// header is parsed and its checksum checked; nothing is authenticated).
    /// Lets a caller see whether a file was encrypted to this keyring
    /// before asking anyone for a passphrase.
    pub fn peek_id(path: &Path) -> Result<[u8; 16]> {
        let bytes = store::read(path)?;
        Ok(format::parse(&bytes)?.header.id)
    }

    /// The keyring's random 128-bit identifier (public, not secret).
    pub fn id(&self) -> [u8; 16] {
        self.header.id
    }

    /// The path this keyring was created at or opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The write counter of the state held in memory; every saved change
    /// increments it.
    pub fn generation(&self) -> u64 {
        self.header.generation
    }

    /// Metadata of every key version, in ascending order.
    pub fn versions(&self) -> Vec<KeyVersionInfo> {
        self.versions.infos()
    }

    /// The primary version: the one that encrypts new data.
    pub fn primary_version(&self) -> u32 {
        self.versions.primary()
    }

    /// Public description of every protector, in file order.
    pub fn protectors(&self) -> Vec<ProtectorInfo> {
        self.header.stanzas.iter().map(Stanza::info).collect()
    }

    /// The subkey of `version` for `purpose`.
    ///
    /// [`KeyUse::Encrypt`] needs the primary version; [`KeyUse::Decrypt`]
    /// accepts primary and decrypt-only versions. Other statuses give
    /// [`Error::KeyVersionUnusable`], an unknown number
    /// [`Error::UnknownKeyVersion`]. Uses the state in memory; see
    /// [`Keyring::reload`].
    pub fn purpose_key(&self, version: u32, purpose: Purpose, op: KeyUse) -> Result<SecretKey> {
        self.versions.purpose_key(&self.header.id, version, purpose, op)
    }

    /// The primary version number and its subkey for `purpose`, to encrypt.
    pub fn encryption_key(&self, purpose: Purpose) -> Result<(u32, SecretKey)> {
        let version = self.primary_version();
        Ok((version, self.purpose_key(version, purpose, KeyUse::Encrypt)?))
    }

    /// Re-reads the file and replaces the state in memory with it (no
    /// passphrase needed: the master key is already held).
    ///
    /// If another handle replaced the master key, the new one is taken from
    /// the protector that unlocked this handle; if that protector was
    /// removed, this fails with [`Error::WrongPassphrase`] or
    /// [`Error::WrongRecoveryKey`].
    pub fn reload(&mut self) -> Result<()> {
        let (header, versions) = self.read_current()?;
        self.header = header;
        self.versions = versions;
        Ok(())
    }

    /// Adds a key version numbered one above the highest. It is
    /// decrypt-only, or primary if `promote` (the old primary then becomes
    /// decrypt-only). Returns the new number.
    pub fn add_key(&mut self, promote: bool) -> Result<u32> {
        self.mutate(false, |_, versions, ctx| {
            Ok((versions.add(promote, ctx.now)?, true))
        })
    }

    /// Makes `version` primary; the previous primary becomes decrypt-only.
    /// A disabled version must be enabled first; a destroyed one cannot be
    /// promoted. Promoting the primary does nothing.
    pub fn promote(&mut self, version: u32) -> Result<()> {
        self.mutate(false, |_, versions, ctx| {
            Ok(((), versions.promote(version, ctx.now)?))
        })
    }

    /// Disables a decrypt-only version: it can no longer decrypt until
    /// [`Keyring::enable`]d. Refused for the primary and for destroyed
    /// versions ([`Error::InvalidArgument`]).
    pub fn disable(&mut self, version: u32) -> Result<()> {
        self.mutate(false, |_, versions, ctx| {
            Ok(((), versions.disable(version, ctx.now)?))
        })
    }

    /// Makes a disabled version decrypt-only again. Refused for destroyed
    /// versions; does nothing for primary and decrypt-only ones.
    pub fn enable(&mut self, version: u32) -> Result<()> {
        self.mutate(false, |_, versions, ctx| {
            Ok(((), versions.enable(version, ctx.now)?))
        })
    }

    /// Irreversibly wipes a version's secret, keeping its metadata. Refused
    /// for the primary ([`Error::InvalidArgument`]). Data encrypted under
    /// it can no longer be decrypted with this keyring. Note that older
    /// copies of the keyring file (backups) still hold the secret.
    pub fn destroy(&mut self, version: u32) -> Result<()> {
        self.mutate(false, |_, versions, ctx| {
            Ok(((), versions.destroy(version, ctx.now)?))
        })
    }

    /// Adds a passphrase protector with Argon2id `params`; returns its id.
    /// Argon2id runs before the lock is taken. A keyring holds at most 4
    /// passphrase protectors ([`Error::InvalidArgument`] beyond).
    pub fn add_passphrase(&mut self, passphrase: &Passphrase, params: KdfParams) -> Result<u32> {
        if passphrase.is_empty() {
            return Err(Error::InvalidArgument("the passphrase is empty".into()));
        }
        let salt = protector::fresh_salt();
        let kek = protector::passphrase_kek(passphrase, &params, &salt)?;
        let kind = StanzaKind::Passphrase { params, salt };
        self.mutate(false, |header, _, ctx| {
            let passphrases = header.stanzas.iter().filter(|s| s.is_passphrase()).count();
            if passphrases >= MAX_PASSPHRASE_PROTECTORS {
                return Err(Error::InvalidArgument(format!(
                    "the keyring already has the maximum of {MAX_PASSPHRASE_PROTECTORS} passphrases"
                )));
            }
            Ok((push_stanza(header, kind, &kek, ctx)?, true))
        })
    }

    /// Adds a recovery-key protector and returns its id and the new key,
    /// which the caller must show to the user now: it is not stored anywhere
    /// in readable form. Existing recovery keys stay valid.
    pub fn add_recovery_key(&mut self) -> Result<(u32, RecoveryKey)> {
        self.new_recovery_key(false)
    }

    /// Like [`Keyring::add_recovery_key`], but removes every existing
    /// recovery-key protector in the same update and, if there was one,
    /// replaces the master key as [`Keyring::rekey`] does, so the old
    /// recovery key opens nothing written from now on. Refused with
    /// [`Error::ProtectorsNeedUpgrade`] (nothing changed) while another
    /// protector is still in format 1.
    pub fn replace_recovery_key(&mut self) -> Result<(u32, RecoveryKey)> {
        self.new_recovery_key(true)
    }

    fn new_recovery_key(&mut self, replace: bool) -> Result<(u32, RecoveryKey)> {
        let key = RecoveryKey::random();
        let salt = protector::fresh_salt();
        let kek = protector::recovery_kek(&key, &salt);
        let kind = StanzaKind::RecoveryKey { salt };
        let id = self.mutate(replace, |header, _, ctx| {
            if replace {
                header.stanzas.retain(|s| !s.is_recovery_key());
            }
            Ok((push_stanza(header, kind, &kek, ctx)?, true))
        })?;
        Ok((id, key))
    }

    /// Removes the protector with this id and replaces the master key (see
    /// [`Keyring::remove_protectors`]).
    pub fn remove_protector(&mut self, id: u32) -> Result<()> {
        self.remove_protectors(&[id])
    }

    /// Removes these protectors and, in the same update, replaces the
    /// master key as [`Keyring::rekey`] does: a removed secret, even with a
    /// copy of the file taken before, opens nothing written from now on.
    /// Refuses an unknown id and removing every protector
    /// ([`Error::InvalidArgument`]), and refuses while a remaining
    /// protector is still in format 1 ([`Error::ProtectorsNeedUpgrade`]);
    /// nothing is changed then.
    pub fn remove_protectors(&mut self, ids: &[u32]) -> Result<()> {
        if ids.is_empty() {
            return Err(Error::InvalidArgument("no protector id given".into()));
        }
        self.mutate(true, |header, _, _| {
            for id in ids {
                if !header.stanzas.iter().any(|s| s.id == *id) {
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
            header.stanzas.retain(|s| !ids.contains(&s.id));
            Ok(((), true))
        })
    }

    /// Replaces the master key: a new random master key (hence a new body
    /// key) is sealed to the public key of every protector, with no other
    /// secret than the master key in memory. Afterwards no removed secret
    /// and no earlier copy of the file opens what is written from now on.
    ///
    /// It does not change the key versions: an earlier copy of the file
    /// opened with a secret it accepted still yields every version that
    /// existed then. If such a copy or secret may be in other hands, rotate:
    /// [`Keyring::add_key`] with `promote`, move data to the new primary
    /// (rekey files with [`rekey_file`](crate::file::rekey_file), since a
    /// plain rewrap keeps the file key; re-encrypt fields), then
    /// [`Keyring::destroy`] the old versions.
    ///
    /// Refused with [`Error::ProtectorsNeedUpgrade`] (nothing changed)
    /// while a protector other than the one that unlocked this handle is
    /// still in format 1.
    pub fn rekey(&mut self) -> Result<()> {
        self.mutate(true, |_, _, _| Ok(((), true)))
    }

    /// Saves the file with the protector that unlocked this handle in the
    /// format-2 (public-key) form if it is still in format 1. Returns
    /// whether it was upgraded (any other saved change upgrades it too).
    pub fn upgrade_protector(&mut self) -> Result<bool> {
        let id = self.unlocker.id;
        self.mutate(false, |header, _, _| {
            let legacy = header.stanzas.iter().any(|s| s.id == id && s.is_legacy());
            Ok((legacy, legacy))
        })
    }

    /// Sets how long each change waits for another process's lock on the
    /// keyring before failing with [`Error::Locked`] (default 5 seconds).
    pub fn set_lock_timeout(&mut self, timeout: Duration) {
        self.lock_timeout = timeout;
    }

    /// Reads and authenticates the file on disk with the held master key
    /// (or, if another handle replaced it, with the one the unlocking
    /// protector now holds). Refuses a different keyring and a rolled-back
    /// generation.
    fn read_current(&mut self) -> Result<(Header, Versions)> {
        let bytes = store::read(&self.path)?;
        let parsed = format::parse(&bytes)?;
        if parsed.header.id != self.header.id {
            return Err(Error::WrongKeyring);
        }
        let (versions, new_master) = match format::open_body(&parsed, &self.master) {
            Ok(v) => (v, None),
            Err(Error::KeyringCorrupt) if parsed.header.generation > self.header.generation => {
                let master = self.master_from_unlocker(&parsed.header)?;
                (format::open_body(&parsed, &master)?, Some(master))
            }
            Err(e) => return Err(e),
        };
        if parsed.header.generation < self.header.generation {
            return Err(Error::KeyringCorrupt);
        }
        if let Some(master) = new_master {
            self.master = master;
        }
        Ok((parsed.header, versions))
    }

    /// The master key held by the unlocking protector in `header`.
    fn master_from_unlocker(&self, header: &Header) -> Result<SecretKey> {
        let Some(stanza) = header.stanzas.iter().find(|s| s.id == self.unlocker.id) else {
            // The protector that unlocked this handle was removed.
            return Err(if self.unlocker.recovery {
                Error::WrongRecoveryKey
            } else {
                Error::WrongPassphrase
            });
        };
        stanza
            .open(&header.id, &self.unlocker.kek)?
            .ok_or(Error::KeyringCorrupt)
    }

    /// Puts the unlocking protector's stanza in the public-key form if it is
    /// still in format 1 (its KEK is held, so this needs no secret input).
    fn upgrade_unlocker(&self, header: &mut Header, master: &SecretKey) -> Result<()> {
        let id = header.id;
        for stanza in &mut header.stanzas {
            if stanza.id == self.unlocker.id
                && stanza.is_legacy()
                && stanza.open(&id, &self.unlocker.kek)?.is_some()
            {
                *stanza = stanza.upgraded(&id, &self.unlocker.kek, master)?;
            }
        }
        Ok(())
    }

    /// Runs `change` on the current on-disk state under the exclusive lock;
    /// if it reports a change, saves the result (always in format 2, with
    /// the unlocking protector upgraded) with the generation bumped and a
    /// fresh body nonce; with `rekey`, under a new master key sealed to
    /// every protector. The state in memory becomes the fresh state.
    fn mutate<T>(
        &mut self,
        rekey: bool,
        change: impl FnOnce(&mut Header, &mut Versions, &Ctx<'_>) -> Result<(T, bool)>,
    ) -> Result<T> {
        let _guard = store::lock(&self.path, self.lock_timeout)?;
        let (mut header, mut versions) = self.read_current()?;
        let ctx = Ctx {
            master: &self.master,
            now: unix_now(),
        };
        let (out, changed) = change(&mut header, &mut versions, &ctx)?;
        if changed {
            self.upgrade_unlocker(&mut header, &self.master)?;
            let new_master = if rekey {
                let legacy: Vec<u32> = header
                    .stanzas
                    .iter()
                    .filter(|s| s.is_legacy())
                    .map(|s| s.id)
                    .collect();
                if !legacy.is_empty() {
                    return Err(Error::ProtectorsNeedUpgrade(legacy));
                }
                let master = SecretKey::random();
                for stanza in &mut header.stanzas {
                    if let Some(resealed) = stanza.resealed(&header.id, &master) {
                        *stanza = resealed?;
                    }
                }
                Some(master)
            } else {
                None
            };
            header.generation = header
                .generation
                .checked_add(1)
                .ok_or_else(|| Error::malformed("keyring", "generation counter exhausted"))?;
            header.body_nonce = random::array();
            let master = new_master.as_ref().unwrap_or(&self.master);
            let bytes = format::encode(&header, &versions, master)?;
            store::write_atomic(&self.path, &bytes, WriteMode::Replace)?;
            if let Some(master) = new_master {
                self.master = master;
            }
        }
        self.header = header;
        self.versions = versions;
        Ok(out)
    }
}

/// Appends a public-key stanza for the protector whose KEK is `kek`,
/// holding the master key; returns its id.
fn push_stanza(header: &mut Header, kind: StanzaKind, kek: &SecretKey, ctx: &Ctx<'_>) -> Result<u32> {
    if header.stanzas.len() >= MAX_PROTECTORS {
        return Err(Error::InvalidArgument(format!(
            "the keyring already has the maximum of {MAX_PROTECTORS} protectors"
        )));
    }
    let id = header.next_protector_id;
    header.next_protector_id = id
        .checked_add(1)
        .ok_or_else(|| Error::InvalidArgument("protector ids are exhausted".into()))?;
    let stanza = Stanza::seal_new(&header.id, id, ctx.now, kind, kek, ctx.master)?;
    header.stanzas.push(stanza);
    Ok(id)
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Versions<'a>(&'a [VersionEntry]);
        impl fmt::Debug for Versions<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|e| (e.info.version, e.info.status)))
                    .finish()
            }
        }
        f.debug_struct("Keyring")
            .field("id", &data_encoding::HEXLOWER.encode(&self.header.id))
            .field("path", &self.path)
            .field("generation", &self.header.generation)
            .field("versions", &Versions(&self.versions.0))
            .field("protectors", &self.protectors())
            .finish_non_exhaustive()
    }
}
