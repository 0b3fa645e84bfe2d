//! Changing who can open a file without touching its payload.

use super::header::{Header, MAX_PASSPHRASE_STANZAS, RawStanza, check_stanza_counts};
use super::info::FileInfo;
use super::recipients::{Identity, Recipient, call_budget, unwrap_file_key_metered, wrap_one};
use super::stanza::{self, KIND_KEYRING, KIND_PASSPHRASE, StanzaInfo};
use super::whole::FileOptions;
use crate::atomic::{AtomicFile, resolve_link};
use crate::error::{Error, Result};
use crate::keyring::Keyring;
use crate::passphrase::{KdfMeter, KdfParams};
use crate::secret::{Passphrase, SecretKey};
use std::fs::{File, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a rewrap changes. Stanzas not named here are kept as they are.
/// Build it with [`Rewrap::new`] and the setters:
///
/// ```
/// use strongroom::file::Rewrap;
/// use strongroom::passphrase::KdfParams;
/// use strongroom::Passphrase;
///
/// let old = Passphrase::from("old escrow");
/// let new = Passphrase::from("new escrow");
/// let plan = Rewrap::new()
///     .remove_passphrase(&old)
///     .add_passphrase(&new, KdfParams::default());
/// assert_eq!(plan.add_passphrases.len(), 1);
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Rewrap<'a> {
    /// Replace this keyring's stanzas with one for its current primary
    /// version (adds the keyring if the file had none of its stanzas).
    pub keyring: Option<&'a Keyring>,
    /// Remove the stanzas of every keyring.
    pub remove_keyrings: bool,
    /// Add one passphrase stanza per entry.
    pub add_passphrases: Vec<(&'a Passphrase, KdfParams)>,
    /// Remove the passphrase stanzas that these passphrases open; each must
    /// open at least one, or the rewrap fails with [`Error::WrongPassphrase`].
    pub remove_passphrases: Vec<&'a Passphrase>,
    /// Remove every passphrase stanza.
    pub remove_all_passphrases: bool,
}

impl<'a> Rewrap<'a> {
    /// A plan that changes nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces `keyring`'s stanzas with one for its current primary version.
    pub fn to_primary(mut self, keyring: &'a Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// Removes the stanzas of every keyring when `yes`.
    pub fn remove_keyrings(mut self, yes: bool) -> Self {
        self.remove_keyrings = yes;
        self
    }

    /// Adds a passphrase stanza for `passphrase`, derived with `params`.
    pub fn add_passphrase(mut self, passphrase: &'a Passphrase, params: KdfParams) -> Self {
        self.add_passphrases.push((passphrase, params));
        self
    }

    /// Removes the passphrase stanzas that `passphrase` opens.
    pub fn remove_passphrase(mut self, passphrase: &'a Passphrase) -> Self {
        self.remove_passphrases.push(passphrase);
        self
    }

    /// Removes every passphrase stanza when `yes`.
    pub fn remove_all_passphrases(mut self, yes: bool) -> Self {
        self.remove_all_passphrases = yes;
        self
    }
}

/// Rewrites the stanzas and the header MAC of the file at `path` as `plan`
/// says, after opening it with `identities`. The payload bytes are copied
/// unchanged; the file is replaced atomically and keeps its permission bits
/// (0o777; setuid, setgid and sticky bits are dropped).
///
/// This revokes nothing: the file key stays the same, so a copy of the old
/// header still opens the payload with a removed protector. Use
/// [`rekey_file`](super::rekey_file) to revoke.
///
/// A plan that would certainly leave more stanzas than the format allows
/// fails with [`Error::TooManyRecipients`] before any Argon2id run.
///
/// The file is locked while it is read and replaced: a second process
/// changing it in place waits (up to 5 seconds, then [`Error::Locked`])
/// and then works on the file the first one wrote, so no change is lost.
/// With [`FileOptions::expect_header`], a header other than the expected
/// one fails with [`Error::Locked`] before any Argon2id run.
pub fn rewrap_file(
    path: &Path,
    identities: &[Identity<'_>],
    plan: &Rewrap<'_>,
    opts: &FileOptions<'_>,
) -> Result<FileInfo> {
    // Through a symbolic link, rewrap the file it points to.
    let path = &resolve_link(path);
    let mut input = open_locked(path)?;
    refuse_hard_links(path, &input)?;
    let header = Header::read_from(&mut input)?;
    opts.check_expected(&FileInfo::from_header(&header, None)?, path)?;
    check_counts(&header, plan)?;
    // The Argon2id runs of opening and of finding the stanzas to remove
    // share the call's budget.
    let mut meter = KdfMeter::new(call_budget(identities));
    let file_key = unwrap_file_key_metered(&header, identities, &mut meter)?;
    let stanzas = new_stanzas(&header, &file_key, plan, &mut meter)?;
    let new_header = Header::build(header.core, stanzas, &file_key)?;

    let mut out = AtomicFile::create(path, true)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        out.set_mode(input.metadata()?.permissions().mode() & 0o777)?;
    }
    out.file().write_all(&new_header.to_bytes())?;
    input.seek(SeekFrom::Start(header.encoded_len() as u64))?;
    let total = input
        .metadata()?
        .len()
        .saturating_sub(header.encoded_len() as u64);
    let payload_len = copy_payload(&mut input, out.file(), total, opts)?;
    out.commit()?;
    FileInfo::from_header(&new_header, Some(payload_len))
}

/// Refuses, before any Argon2id run, a plan whose result would certainly
/// exceed the stanza limits: stanzas the plan cannot remove, plus those it adds.
fn check_counts(header: &Header, plan: &Rewrap<'_>) -> Result<()> {
    let too_many = |what, count, max| Error::TooManyRecipients { what, count, max };
    let removers = plan.remove_passphrases.len();
    if plan.add_passphrases.len() > MAX_PASSPHRASE_STANZAS || removers > MAX_PASSPHRASE_STANZAS {
        let count = plan.add_passphrases.len().max(removers);
        return Err(too_many("passphrases", count, MAX_PASSPHRASE_STANZAS));
    }
    let (mut passphrases, mut others) = (plan.add_passphrases.len(), usize::from(plan.keyring.is_some()));
    for raw in &header.stanzas {
        match stanza::parse(raw)?.info {
            StanzaInfo::Passphrase { .. } => {
                // Which ones a remover opens is known only after Argon2id.
                if !plan.remove_all_passphrases && removers == 0 {
                    passphrases += 1;
                }
            }
            StanzaInfo::Keyring { keyring_id, .. } => {
                if !(plan.remove_keyrings || plan.keyring.is_some_and(|k| k.id() == keyring_id)) {
                    others += 1;
                }
            }
            StanzaInfo::Unknown { .. } => others += 1,
        }
    }
    check_stanza_counts(passphrases, passphrases + others)
}

/// How long an in-place change waits for another process's lock on the file.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between lock attempts.
const LOCK_RETRY: Duration = Duration::from_millis(10);

/// Opens the file that an in-place rewrap or rekey will replace, holding
/// an exclusive advisory lock on it until the returned handle is dropped,
/// so that two processes changing one file take turns: each reads the
/// header the other committed, and neither replaces the file with a
/// change made to a copy the other already replaced (which would silently
/// drop that change, or undo a rekey). Waits up to 5 seconds for another
/// process's lock, then fails with [`Error::Locked`]. A file replaced
/// between the open and the lock is opened again.
pub(super) fn open_locked(path: &Path) -> Result<File> {
    let deadline = Instant::now() + LOCK_TIMEOUT;
    loop {
        let file = File::open(path).map_err(Error::file("open", path))?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::Locked(path.to_path_buf()));
                    }
                    std::thread::sleep(LOCK_RETRY.min(deadline - now));
                }
                Err(TryLockError::Error(e)) => return Err(Error::file("lock", path)(e)),
            }
        }
        if still_named(&file, path)? {
            return Ok(file);
        }
        if Instant::now() >= deadline {
            return Err(Error::Locked(path.to_path_buf()));
        }
    }
}

/// Whether `path` still names the open `file` (not a file that replaced it).
fn still_named(file: &File, path: &Path) -> Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata().map_err(Error::file("read", path))?;
        Ok(match std::fs::metadata(path) {
            Ok(now) => (now.dev(), now.ino()) == (open.dev(), open.ino()),
            // Removed meanwhile: the next open reports it.
            Err(_) => false,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(true)
    }
}

/// A rewrap replaces the file under one name; other hard links would keep
/// the old header (and so could stay openable by a removed protector).
pub(super) fn refuse_hard_links(path: &Path, file: &File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let links = file.metadata()?.nlink();
        if links > 1 {
            return Err(Error::InvalidArgument(format!(
                "{} has {links} hard links; a rewrap would change only this one, so it is refused (copy the file first)",
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
    Ok(())
}

/// Copies the payload unchanged, reporting progress and honouring cancellation.
fn copy_payload(input: &mut File, out: &mut File, total: u64, opts: &FileOptions<'_>) -> Result<u64> {
    let mut buf = vec![0u8; 4 << 20];
    let mut done = 0u64;
    loop {
        opts.tick(done, total.max(done))?;
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(done),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
}

fn new_stanzas(
    header: &Header,
    file_key: &SecretKey,
    plan: &Rewrap<'_>,
    meter: &mut KdfMeter,
) -> Result<Vec<RawStanza>> {
    let core = header.core.to_bytes();
    let mut removed_by = vec![false; plan.remove_passphrases.len()];
    let mut keep = Vec::new();
    for raw in &header.stanzas {
        let parsed = stanza::parse(raw)?;
        let drop = match &parsed.info {
            StanzaInfo::Keyring { keyring_id, .. } => {
                plan.remove_keyrings || plan.keyring.is_some_and(|k| k.id() == *keyring_id)
            }
            StanzaInfo::Passphrase { params } => {
                let mut opened = false;
                for (i, pass) in plan.remove_passphrases.iter().enumerate() {
                    let salt = parsed.salt.expect("passphrase stanza has a salt");
                    let kek = meter.derive(params, pass, &salt)?;
                    if stanza::unwrap(&core, KIND_PASSPHRASE, &parsed, &kek).is_some() {
                        removed_by[i] = true;
                        opened = true;
                    }
                }
                plan.remove_all_passphrases || opened
            }
            StanzaInfo::Unknown { .. } => false,
        };
        if !drop {
            keep.push(raw.clone());
        }
    }
    if removed_by.iter().any(|r| !r) {
        return Err(Error::WrongPassphrase);
    }
    if let Some(kr) = plan.keyring {
        keep.push(wrap_one(&core, &Recipient::Keyring(kr), file_key)?);
    }
    for (pass, params) in &plan.add_passphrases {
        keep.push(wrap_one(&core, &Recipient::Passphrase(pass, *params), file_key)?);
    }
    let usable = keep
        .iter()
        .filter(|s| s.kind == KIND_KEYRING || s.kind == KIND_PASSPHRASE)
        .count();
    if usable == 0 {
        return Err(Error::InvalidArgument(
            "the rewrap would leave no way to open the file".into(),
        ));
    }
    Ok(keep)
}
