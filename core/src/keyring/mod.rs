//! Keyrings: a random 256-bit master key, given to one or more protectors
//! (passphrases, recovery keys), that encrypts numbered key versions.
//!
//! - Each protector has an X25519 key pair derived from its secret and a
//!   random **authentication value**, kept under its secret and under the
//!   master key. The master key is sealed to each protector with HPKE
//!   (RFC 9180) in PSK mode under that value, so only a holder of a
//!   keyring secret can make a seal a protector accepts: someone who can
//!   merely write the file cannot plant a keyring of their own.
//! - Any unlocked keyring can still seal a new master key to every
//!   protector. Removing a protector, replacing a recovery key and
//!   [`Keyring::rekey`] do so, and by default removals also add and
//!   promote a new key version in the same save ([`Rotation`]), so a
//!   removed secret, even with an old copy of the file, opens nothing
//!   encrypted afterwards. A removed party who kept write access knows the
//!   authentication values of its time: [`Keyring::reenroll`] replaces
//!   them. [`SeenRecord`] refuses old copies put back.
//! - Keyrings in formats 1 and 2 (which cannot prove who wrote them) still
//!   open and decrypt; encrypting with them, and changing them, waits for
//!   [`Keyring::upgrade`].
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
//! The byte-level format is in `docs/SPEC.md` section 4; what revocation
//! assumes is in `docs/SECURITY.md`.
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

mod change;
mod format;
mod kind;
mod layout;
mod protector;
mod recovery;
mod seen;
mod stanza;
mod store;
mod upgrade;
mod version;

#[cfg(test)]
mod example;
#[cfg(test)]
mod tests;

pub use change::{Reenrollment, Revocation, Rotation};
pub use protector::{ProtectorInfo, ProtectorKind, Unlock};
pub use recovery::RecoveryKey;
pub use seen::{Seen, SeenRecord, SeenSnapshot};
pub use upgrade::Upgrade;
pub use version::{KeyStatus, KeyUse, KeyVersionInfo, Purpose};

use crate::crypto::kdf::ct_eq;
use crate::crypto::random;
use crate::error::{Error, Result};
use crate::passphrase::{KdfBudget, KdfMeter, KdfParams};
use crate::secret::{Passphrase, SecretKey};
use format::{AuthTable, Body, Header};
use kind::Kind;
use protector::Unlocker;
use stanza::{Opened, Stanza};
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
    body: Body,
    lock_timeout: Duration,
    /// The protector that unlocked this handle and its KEK: lets a rekey
    /// give it a fresh authentication value, and lets the handle follow a
    /// master key replaced by another handle while its protector remains.
    unlocker: Unlocker,
    /// Checked on every read of the file and raised on every save.
    seen: Option<SeenRecord>,
    /// The Argon2id budget of each call that tries further passphrases
    /// (re-enrollment, upgrade).
    kdf_budget: KdfBudget,
}

/// How a keyring is opened or created: the record of keyrings seen to
/// check and raise (none by default), and how long changes wait for
/// another process's lock.
#[derive(Debug, Clone, Default)]
pub struct KeyringOptions {
    seen: Option<SeenRecord>,
    lock_timeout: Option<Duration>,
    kdf_budget: Option<KdfBudget>,
}

impl KeyringOptions {
    /// The defaults: no record of keyrings seen, a 5-second lock wait.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the keyring against `record` when it is opened and whenever
    /// a change re-reads it, refusing an older generation
    /// ([`Error::KeyringRolledBack`]) or format ([`Error::KeyringDowngraded`]),
    /// and raises the record with every state that authenticates.
    pub fn seen_record(mut self, record: SeenRecord) -> Self {
        self.seen = Some(record);
        self
    }

    /// How long each change waits for another process's lock before
    /// failing with [`Error::Locked`].
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = Some(timeout);
        self
    }

    /// The Argon2id work each call may spend on the keyring's passphrase
    /// protectors ([`KdfBudget::DEFAULT`] unless set): opening, and the
    /// further passphrases given to [`Keyring::reenroll`] and
    /// [`Keyring::upgrade`]. A protector beyond it is not tried, and if no
    /// other opens, the call fails with [`Error::KdfBudgetExceeded`]. Raise
    /// it only for a keyring file you trust (anyone who can write the file
    /// chooses its parameters).
    pub fn kdf_budget(mut self, budget: KdfBudget) -> Self {
        self.kdf_budget = Some(budget);
        self
    }

    fn budget(&self) -> KdfBudget {
        self.kdf_budget.unwrap_or_default()
    }
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// In format 3, the unlocking protector's authentication value in the body
/// must be the one its stanza gave ([`Error::KeyringCorrupt`] otherwise).
fn check_unlocker_auth(header: &Header, body: &Body, unlocker: u32, opened: &Opened) -> Result<()> {
    if header.format < layout::VERSION {
        return Ok(());
    }
    match (body.auth.get(unlocker), &opened.auth) {
        (Some(a), Some(b)) if ct_eq(a.expose(), b.expose()) => Ok(()),
        _ => Err(Error::KeyringCorrupt),
    }
}

impl Keyring {
    /// Creates a keyring at `path`, protected by `passphrase` with Argon2id
    /// `params`, holding version 1 as primary.
    ///
    /// Never overwrites: if `path` exists (or appears while the keyring is
    /// being written) this fails with [`Error::AlreadyExists`] and leaves the
    /// existing file untouched.
    pub fn create(path: &Path, passphrase: &Passphrase, params: KdfParams) -> Result<Keyring> {
        Self::create_with(path, passphrase, params, &KeyringOptions::default())
    }

    /// [`Keyring::create`] with options; the record of keyrings seen, if
    /// any, learns the new keyring.
    pub fn create_with(
        path: &Path,
        passphrase: &Passphrase,
        params: KdfParams,
        options: &KeyringOptions,
    ) -> Result<Keyring> {
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
        let salt = kind::fresh_salt();
        let kek = kind::passphrase_kek(passphrase, &params, &salt)?;
        let auth = SecretKey::random();
        let stanza = Stanza::enroll(
            &id,
            1,
            now,
            Kind::Passphrase { params, salt },
            &kek,
            &auth,
            random::array(),
        )
        .sealed(&id, &master, &auth)?;
        let header = Header {
            format: layout::VERSION,
            id,
            generation: 1,
            next_protector_id: 2,
            stanzas: vec![stanza],
            body_nonce: random::array(),
        };
        let body = Body {
            auth: AuthTable(vec![(1, auth)]),
            versions: Versions(vec![VersionEntry::new(1, KeyStatus::Primary, now)]),
        };
        let bytes = format::encode(&header, &body, &master)?;
        store::write_atomic(path, &bytes, WriteMode::CreateNew)?;
        if let Some(seen) = &options.seen {
            seen.record(&id, header.format, header.generation)?;
        }
        Ok(Keyring {
            path: path.to_path_buf(),
            master,
            header,
            body,
            lock_timeout: options.lock_timeout.unwrap_or(store::DEFAULT_LOCK_TIMEOUT),
            unlocker: Unlocker {
                id: 1,
                kek,
                recovery: false,
            },
            seen: options.seen.clone(),
            kdf_budget: options.budget(),
        })
    }

    /// Opens the keyring at `path` with a passphrase or a recovery key.
    ///
    /// Every protector of the matching kind is tried. Argon2id parameters
    /// are checked against the caps before any work ([`Error::KdfParams`]),
    /// and the work is bounded by [`KdfBudget::DEFAULT`] (a protector
    /// beyond it gives [`Error::KdfBudgetExceeded`] if no other opens; see
    /// [`KeyringOptions::kdf_budget`]).
    /// A secret that fits no protector gives [`Error::WrongPassphrase`] or
    /// [`Error::WrongRecoveryKey`]; a modified or forged file gives
    /// [`Error::KeyringCorrupt`] or a format error. Keyrings in formats 1
    /// and 2 open too, but refuse to encrypt and to change until
    /// [`Keyring::upgrade`]d ([`Error::KeyringNeedsUpgrade`]).
    pub fn open(path: &Path, unlock: &Unlock) -> Result<Keyring> {
        Self::open_with(path, unlock, &KeyringOptions::default())
    }

    /// [`Keyring::open`] with options: with a [`SeenRecord`], an older
    /// generation or format of a keyring seen before is refused before any
    /// unlocking work, and the state opened is recorded.
    pub fn open_with(path: &Path, unlock: &Unlock, options: &KeyringOptions) -> Result<Keyring> {
        // Through a symbolic link, work on (and lock) the file it points to.
        let path = &crate::atomic::resolve_link(path);
        // The record first, then the file: see `SeenRecord::check`.
        let seen = options.seen.as_ref().map(SeenRecord::snapshot).transpose()?;
        let bytes = store::read(path)?;
        let parsed = format::parse(&bytes)?;
        let h = &parsed.header;
        if let Some(seen) = &seen {
            seen.check(&h.id, h.format, h.generation)?;
        }
        let mut meter = KdfMeter::new(options.budget());
        let (opened, unlocker) = protector::unlock_master(&h.id, &h.stanzas, unlock, &mut meter)?;
        let body = format::open_body(&parsed, &opened.master)?;
        check_unlocker_auth(h, &body, unlocker.id, &opened)?;
        if let Some(seen) = &options.seen {
            seen.record(&h.id, h.format, h.generation)?;
        }
        Ok(Keyring {
            path: path.to_path_buf(),
            master: opened.master,
            header: parsed.header,
            body,
            lock_timeout: options.lock_timeout.unwrap_or(store::DEFAULT_LOCK_TIMEOUT),
            unlocker,
            seen: options.seen.clone(),
            kdf_budget: options.budget(),
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

    /// The format of the state held in memory: 3 (current), or 1 or 2 for
    /// a keyring still to be [`Keyring::upgrade`]d.
    pub fn format_version(&self) -> u8 {
        self.header.format
    }

    /// Metadata of every key version, in ascending order.
    pub fn versions(&self) -> Vec<KeyVersionInfo> {
        self.body.versions.infos()
    }

    /// The primary version: the one that encrypts new data.
    pub fn primary_version(&self) -> u32 {
        self.body.versions.primary()
    }

    /// The id of the protector that unlocked this handle (or created the
    /// keyring): changes that replace the master key give it a fresh
    /// authentication value with no further secret.
    pub fn unlocked_by(&self) -> u32 {
        self.unlocker.id
    }

    /// Public description of every protector, in file order.
    pub fn protectors(&self) -> Vec<ProtectorInfo> {
        self.header.stanzas.iter().map(Stanza::info).collect()
    }

    /// `Ok` if this keyring may give keys to encrypt with: it is in the
    /// current format. A keyring in format 1 or 2 cannot prove who wrote it
    /// (anyone who could write the file could have chosen its keys), so it
    /// gives [`Error::KeyringNeedsUpgrade`] until [`Keyring::upgrade`]d.
    pub fn check_can_encrypt(&self) -> Result<()> {
        if self.header.format < layout::VERSION {
            return Err(Error::KeyringNeedsUpgrade {
                format: self.header.format,
                operation: "encrypting with it",
            });
        }
        Ok(())
    }

    /// The subkey of `version` for `purpose`.
    ///
    /// [`KeyUse::Encrypt`] needs the primary version of a keyring in the
    /// current format ([`Keyring::check_can_encrypt`]); [`KeyUse::Decrypt`]
    /// accepts primary and decrypt-only versions. Other statuses give
    /// [`Error::KeyVersionUnusable`], an unknown number
    /// [`Error::UnknownKeyVersion`]. Uses the state in memory; see
    /// [`Keyring::reload`].
    pub fn purpose_key(&self, version: u32, purpose: Purpose, op: KeyUse) -> Result<SecretKey> {
        if op == KeyUse::Encrypt {
            self.check_can_encrypt()?;
        }
        self.body
            .versions
            .purpose_key(&self.header.id, version, purpose, op)
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
    /// [`Error::WrongRecoveryKey`]. An older state than the one held gives
    /// [`Error::KeyringRolledBack`] or [`Error::KeyringDowngraded`].
    pub fn reload(&mut self) -> Result<()> {
        let (header, body) = self.read_current()?;
        self.header = header;
        self.body = body;
        self.record_seen()
    }

    /// Sets how long each change waits for another process's lock on the
    /// keyring before failing with [`Error::Locked`] (default 5 seconds).
    pub fn set_lock_timeout(&mut self, timeout: Duration) {
        self.lock_timeout = timeout;
    }

    /// Sets the record of keyrings seen that every later re-read checks and
    /// every later save raises (`None`: no record). To check the keyring
    /// file against it now (and record it), call [`Keyring::reload`].
    pub fn set_seen_record(&mut self, record: Option<SeenRecord>) {
        self.seen = record;
    }

    /// Raises the record of keyrings seen, if any, with the state held.
    fn record_seen(&self) -> Result<()> {
        match &self.seen {
            Some(seen) => seen.record(&self.header.id, self.header.format, self.header.generation),
            None => Ok(()),
        }
    }

    /// Reads and authenticates the file on disk with the held master key
    /// (or, if another handle replaced it, with the one the unlocking
    /// protector now holds). Refuses a different keyring, and a state older
    /// than the one held or recorded.
    fn read_current(&mut self) -> Result<(Header, Body)> {
        // The record first, then the file: see `SeenRecord::check`.
        let seen = self.seen.as_ref().map(SeenRecord::snapshot).transpose()?;
        let bytes = store::read(&self.path)?;
        let parsed = format::parse(&bytes)?;
        let h = &parsed.header;
        if h.id != self.header.id {
            return Err(Error::WrongKeyring);
        }
        if h.format < self.header.format {
            return Err(Error::KeyringDowngraded {
                seen: self.header.format,
                found: h.format,
            });
        }
        if h.generation < self.header.generation {
            return Err(Error::KeyringRolledBack {
                seen: self.header.generation,
                found: h.generation,
            });
        }
        if let Some(seen) = &seen {
            seen.check(&h.id, h.format, h.generation)?;
        }
        let (body, new_master) = match format::open_body(&parsed, &self.master) {
            Ok(body) => (body, None),
            Err(Error::KeyringCorrupt) if h.generation > self.header.generation => {
                let stanza = h
                    .stanza(self.unlocker.id)
                    .ok_or_else(|| self.unlocker.removed())?;
                let opened = stanza
                    .open(&h.id, &self.unlocker.kek)?
                    .ok_or(Error::KeyringCorrupt)?;
                let body = format::open_body(&parsed, &opened.master)?;
                check_unlocker_auth(h, &body, self.unlocker.id, &opened)?;
                (body, Some(opened.master))
            }
            Err(e) => return Err(e),
        };
        if let Some(master) = new_master {
            self.master = master;
        }
        Ok((parsed.header, body))
    }

    /// Writes `header` and `body` as the next generation, with a fresh body
    /// nonce, under `new_master` if given (else the held master key), then
    /// makes them the state in memory and raises the record of keyrings
    /// seen. The caller holds the lock.
    fn save(&mut self, mut header: Header, body: Body, new_master: Option<SecretKey>) -> Result<()> {
        header.generation = header
            .generation
            .checked_add(1)
            .ok_or_else(|| Error::malformed("keyring", "generation counter exhausted"))?;
        header.body_nonce = random::array();
        let master = new_master.as_ref().unwrap_or(&self.master);
        let bytes = format::encode(&header, &body, master)?;
        store::write_atomic(&self.path, &bytes, WriteMode::Replace)?;
        if let Some(master) = new_master {
            self.master = master;
        }
        self.header = header;
        self.body = body;
        self.record_seen()
    }
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
            .field("format", &self.header.format)
            .field("generation", &self.header.generation)
            .field("versions", &Versions(&self.body.versions.0))
            .field("protectors", &self.protectors())
            .finish_non_exhaustive()
    }
}
