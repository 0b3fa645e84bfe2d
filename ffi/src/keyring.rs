//! Keyrings: create, open (passphrase, recovery key, secret from a file or
//! an environment variable), close, list, add and promote key versions,
//! manage protectors (removal that rotates, rekey, re-enrollment), upgrade
//! older formats, and check against the record of keyrings seen.

use crate::status::{Fail, boundary, invalid, strongroom_status};
use crate::util::{bytes, c_passphrase, c_path, c_text, handle, need_buf, need_out, put};
use std::ffi::c_char;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use strongroom::keyring::KeyringOptions;
use strongroom::keyring::{KeyStatus, Keyring, ProtectorKind, RecoveryKey, Rotation, SeenRecord, Unlock};
use strongroom::passphrase::{KdfBudget, KdfParams};
use zeroize::Zeroizing;

/// An open (unlocked) keyring. Holds the master key and every key
/// version's secret in memory; `strongroom_keyring_free` wipes them.
///
/// **Threads:** safe to share between threads. Reading calls (encrypting,
/// decrypting, building field ciphers, listing versions) run concurrently;
/// changing calls (`strongroom_keyring_add_version`, `_promote`, ...) take
/// an internal write lock and wait for the readers. Do not free it while
/// another thread uses it.
pub struct strongroom_keyring {
    pub(crate) inner: RwLock<Keyring>,
}

impl strongroom_keyring {
    pub(crate) fn read(&self) -> Result<RwLockReadGuard<'_, Keyring>, Fail> {
        self.inner
            .read()
            .map_err(|_| Fail::Internal("the keyring was damaged by an earlier panic"))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Keyring>, Fail> {
        self.inner
            .write()
            .map_err(|_| Fail::Internal("the keyring was damaged by an earlier panic"))
    }
}

/// Argon2id cost of a passphrase protector or a passphrase-protected file.
/// Bounds: memory 8 MiB to 2 GiB, 1 to 16 passes, 1 to 16 lanes
/// (`STRONGROOM_KDF_PARAMS` otherwise). Start from
/// `strongroom_kdf_params_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_kdf_params {
    /// Memory in KiB (default 65536).
    pub memory_kib: u32,
    /// Passes over memory (default 3).
    pub iterations: u32,
    /// Lanes (default 4).
    pub parallelism: u32,
}

impl From<strongroom_kdf_params> for KdfParams {
    fn from(p: strongroom_kdf_params) -> Self {
        KdfParams {
            memory_kib: p.memory_kib,
            iterations: p.iterations,
            parallelism: p.parallelism,
        }
    }
}

/// The default Argon2id cost (RFC 9106's second recommendation: 64 MiB,
/// 3 passes, 4 lanes). Never fails.
///
/// ```c
/// strongroom_kdf_params kdf = strongroom_kdf_params_default();
/// ```
#[unsafe(no_mangle)]
pub extern "C" fn strongroom_kdf_params_default() -> strongroom_kdf_params {
    let d = KdfParams::DEFAULT;
    strongroom_kdf_params {
        memory_kib: d.memory_kib,
        iterations: d.iterations,
        parallelism: d.parallelism,
    }
}

/// How much Argon2id work one call may spend on the passphrase stanzas of
/// a file or keyring it reads. Their cost is written in the file, by
/// whoever could write it: the budget keeps a crafted header from costing
/// minutes and gigabytes. A stanza beyond it is not tried
/// (`STRONGROOM_KDF_BUDGET_EXCEEDED` if nothing else opens).
///
/// A field left zero takes the library default's value, so a
/// zero-initialised struct is the default (`strongroom_kdf_budget_default()`:
/// 1 GiB per run, six passes over it per call). Raise it only for files and keyrings you trust, with
/// `strongroom_kdf_budget_unlimited()` or values of your own.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct strongroom_kdf_budget {
    /// Largest Argon2id memory of one run, in KiB.
    pub max_memory_kib: u32,
    /// Total work of one call, in passes over `max_memory_kib`.
    pub max_passes: u32,
}

impl strongroom_kdf_budget {
    /// The core's budget: a field left zero takes the default's value.
    pub(crate) fn budget(&self) -> KdfBudget {
        let d = KdfBudget::DEFAULT;
        let or = |v: u32, default: u32| if v == 0 { default } else { v };
        KdfBudget {
            max_memory_kib: or(self.max_memory_kib, d.max_memory_kib),
            max_passes: or(self.max_passes, d.max_passes),
        }
    }
}

impl From<KdfBudget> for strongroom_kdf_budget {
    fn from(b: KdfBudget) -> Self {
        Self {
            max_memory_kib: b.max_memory_kib,
            max_passes: b.max_passes,
        }
    }
}

/// The default Argon2id budget (1 GiB per run, six passes over 1 GiB per
/// call). Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn strongroom_kdf_budget_default() -> strongroom_kdf_budget {
    KdfBudget::DEFAULT.into()
}

/// The budget that allows everything the format's caps allow (2 GiB per
/// run, no total): for files and keyrings you trust. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn strongroom_kdf_budget_unlimited() -> strongroom_kdf_budget {
    KdfBudget::UNLIMITED.into()
}

/// Kind of secret for `strongroom_keyring_open_secret_file` and
/// `strongroom_keyring_open_secret_env`.
pub type strongroom_secret_kind = u32;
/// The secret is a passphrase.
pub const STRONGROOM_SECRET_PASSPHRASE: strongroom_secret_kind = 1;
/// The secret is a recovery key (`SRRK-...`).
pub const STRONGROOM_SECRET_RECOVERY_KEY: strongroom_secret_kind = 2;

/// Status of a key version (`strongroom_key_version.status`).
pub type strongroom_key_status = u32;
/// Encrypts new data (exactly one version is primary).
pub const STRONGROOM_KEY_PRIMARY: strongroom_key_status = 1;
/// Decrypts existing data only.
pub const STRONGROOM_KEY_DECRYPT_ONLY: strongroom_key_status = 2;
/// Temporarily unusable.
pub const STRONGROOM_KEY_DISABLED: strongroom_key_status = 3;
/// Key material wiped; only the metadata remains.
pub const STRONGROOM_KEY_DESTROYED: strongroom_key_status = 4;

/// Size of the buffer `strongroom_keyring_add_recovery_key` needs: the
/// text form of a recovery key and its NUL terminator.
pub const STRONGROOM_RECOVERY_KEY_BUF_LEN: usize = 128;

/// Public metadata of one key version (no key material).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct strongroom_key_version {
    /// Version number, from 1, never reused.
    pub version: u32,
    /// One of `STRONGROOM_KEY_PRIMARY`, `_DECRYPT_ONLY`, `_DISABLED`, `_DESTROYED`.
    pub status: strongroom_key_status,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Time of the last status change, seconds since the Unix epoch.
    pub status_changed_at: u64,
}

fn status_code(s: KeyStatus) -> strongroom_key_status {
    match s {
        KeyStatus::Primary => STRONGROOM_KEY_PRIMARY,
        KeyStatus::DecryptOnly => STRONGROOM_KEY_DECRYPT_ONLY,
        KeyStatus::Disabled => STRONGROOM_KEY_DISABLED,
        KeyStatus::Destroyed => STRONGROOM_KEY_DESTROYED,
    }
}

fn hand_out(out: *mut *mut strongroom_keyring, ring: Keyring) {
    let h = Box::new(strongroom_keyring {
        inner: RwLock::new(ring),
    });
    // SAFETY: `out` was checked non-NULL by the caller before any work.
    unsafe { put(out, Box::into_raw(h)) };
}

/// Creates a new keyring file at `path` protected by a passphrase
/// (`passphrase_len` bytes of UTF-8, not NUL-terminated, not empty),
/// holding key version 1 as primary, and opens it into `*out`.
///
/// Never overwrites: an existing `path` gives `STRONGROOM_ALREADY_EXISTS`.
/// The handle must be released with `strongroom_keyring_free`.
///
/// ```c
/// strongroom_kdf_params kdf = strongroom_kdf_params_default();
/// strongroom_keyring *kr = NULL;
/// strongroom_status s = strongroom_keyring_create("app.srk",
///     (const uint8_t *)"a long passphrase", 17, &kdf, &kr);
/// ```
///
/// # Safety
/// `path` is a NUL-terminated string; `passphrase` points to
/// `passphrase_len` bytes; `kdf` to a `strongroom_kdf_params`; `out` to a
/// writable pointer. None may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_create(
    path: *const c_char,
    passphrase: *const u8,
    passphrase_len: usize,
    kdf: *const strongroom_kdf_params,
    out: *mut *mut strongroom_keyring,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises, checked for NULL by the helpers.
        let (p, pass, kdf) = unsafe {
            (
                c_path(path, "path")?,
                bytes(passphrase, passphrase_len, "passphrase")?,
                handle(kdf, "kdf")?,
            )
        };
        need_out(out, "out")?;
        let pass = c_passphrase(pass, "passphrase")?;
        let ring = Keyring::create(p, &pass, (*kdf).into())?;
        hand_out(out, ring);
        Ok(())
    })
}

/// Opens the keyring at `path` with its passphrase (`passphrase_len`
/// bytes of UTF-8). A passphrase that fits no protector gives
/// `STRONGROOM_WRONG_PASSPHRASE`; a damaged file `STRONGROOM_KEYRING_CORRUPT`
/// or a format error. On success `*out` is a new handle (free it with
/// `strongroom_keyring_free`); on failure `*out` is untouched.
///
/// ```c
/// strongroom_keyring *kr = NULL;
/// if (strongroom_keyring_open_passphrase("app.srk", (const uint8_t *)pw, strlen(pw), &kr)
///     != STRONGROOM_OK) { ... }
/// ```
///
/// # Safety
/// `path` is NUL-terminated; `passphrase` points to `passphrase_len`
/// bytes; `out` is writable. None may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_open_passphrase(
    path: *const c_char,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut *mut strongroom_keyring,
) -> strongroom_status {
    // SAFETY: the caller's promises, passed on; a NULL budget is the default.
    unsafe {
        strongroom_keyring_open_passphrase_with_budget(
            path,
            passphrase,
            passphrase_len,
            std::ptr::null(),
            out,
        )
    }
}

/// `strongroom_keyring_open_passphrase` with an Argon2id budget other than
/// the default: `budget` (NULL for the default) bounds the work spent on
/// the keyring's passphrase protectors, in this call and in later
/// re-enrollments and upgrades through the handle. A protector beyond it
/// is not tried; if no other opens, `STRONGROOM_KDF_BUDGET_EXCEEDED`.
///
/// ```c
/// strongroom_kdf_budget big = strongroom_kdf_budget_unlimited();
/// strongroom_keyring_open_passphrase_with_budget("app.srk", pw, pw_len, &big, &kr);
/// ```
///
/// # Safety
/// As `strongroom_keyring_open_passphrase`; `budget` is NULL or points to
/// a `strongroom_kdf_budget`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_open_passphrase_with_budget(
    path: *const c_char,
    passphrase: *const u8,
    passphrase_len: usize,
    budget: *const strongroom_kdf_budget,
    out: *mut *mut strongroom_keyring,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises, checked for NULL by the helpers.
        let (p, pass) = unsafe {
            (
                c_path(path, "path")?,
                bytes(passphrase, passphrase_len, "passphrase")?,
            )
        };
        // SAFETY: NULL or a readable `strongroom_kdf_budget` (the caller's promise).
        let budget = match unsafe { budget.as_ref() } {
            Some(b) => b.budget(),
            None => KdfBudget::DEFAULT,
        };
        need_out(out, "out")?;
        let unlock = Unlock::Passphrase(c_passphrase(pass, "passphrase")?);
        let options = KeyringOptions::new().kdf_budget(budget);
        hand_out(out, Keyring::open_with(p, &unlock, &options)?);
        Ok(())
    })
}

/// Opens the keyring at `path` with a recovery key in its text form
/// (`SRRK-XXXXX-...`, NUL-terminated). A mistyped key gives
/// `STRONGROOM_INVALID_RECOVERY_KEY`, a key that fits no protector
/// `STRONGROOM_WRONG_RECOVERY_KEY`.
///
/// # Safety
/// `path` and `recovery_key` are NUL-terminated; `out` is writable. None
/// may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_open_recovery_key(
    path: *const c_char,
    recovery_key: *const c_char,
    out: *mut *mut strongroom_keyring,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises, checked for NULL by the helpers.
        let (p, key) = unsafe { (c_path(path, "path")?, c_text(recovery_key, "recovery_key")?) };
        need_out(out, "out")?;
        let unlock = Unlock::RecoveryKey(RecoveryKey::parse(key)?);
        hand_out(out, Keyring::open(p, &unlock)?);
        Ok(())
    })
}

fn unlock_from(kind: strongroom_secret_kind, secret: Zeroizing<String>) -> Result<Unlock, Fail> {
    let mut s = secret;
    // One trailing line ending is not part of the secret (as the command line reads it).
    if s.ends_with("\r\n") {
        let n = s.len() - 2;
        s.truncate(n);
    } else if s.ends_with('\n') {
        let n = s.len() - 1;
        s.truncate(n);
    }
    match kind {
        STRONGROOM_SECRET_PASSPHRASE => Ok(Unlock::Passphrase(strongroom::Passphrase::new(s.to_string()))),
        STRONGROOM_SECRET_RECOVERY_KEY => Ok(Unlock::RecoveryKey(RecoveryKey::parse(&s)?)),
        other => Err(invalid(format!("unknown secret kind {other}"))),
    }
}

/// Opens the keyring at `path` with a secret read from the file
/// `secret_path`: a passphrase (`kind` = `STRONGROOM_SECRET_PASSPHRASE`)
/// or a recovery key (`STRONGROOM_SECRET_RECOVERY_KEY`). One trailing
/// newline (`\n` or `\r\n`) is removed. The copy read is wiped.
///
/// ```c
/// strongroom_keyring_open_secret_file("app.srk", STRONGROOM_SECRET_PASSPHRASE,
///                                     "/run/secrets/keyring-pass", &kr);
/// ```
///
/// # Safety
/// `path` and `secret_path` are NUL-terminated; `out` is writable. None
/// may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_open_secret_file(
    path: *const c_char,
    kind: strongroom_secret_kind,
    secret_path: *const c_char,
    out: *mut *mut strongroom_keyring,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises, checked for NULL by the helpers.
        let (p, sp) = unsafe { (c_path(path, "path")?, c_path(secret_path, "secret_path")?) };
        need_out(out, "out")?;
        let raw = Zeroizing::new(std::fs::read(sp)?);
        let s = std::str::from_utf8(&raw).map_err(|_| Fail::Utf8("the secret file"))?;
        let unlock = unlock_from(kind, Zeroizing::new(s.to_owned()))?;
        hand_out(out, Keyring::open(p, &unlock)?);
        Ok(())
    })
}

/// Opens the keyring at `path` with a secret read from the environment
/// variable `var` (a passphrase or a recovery key, as `kind` says). An
/// unset variable gives `STRONGROOM_INVALID_ARGUMENT`. The variable is
/// left in the environment (remove it yourself if other code must not
/// see it).
///
/// # Safety
/// `path` and `var` are NUL-terminated; `out` is writable. None may be
/// NULL. As with `getenv`, no other thread may change the environment
/// during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_open_secret_env(
    path: *const c_char,
    kind: strongroom_secret_kind,
    var: *const c_char,
    out: *mut *mut strongroom_keyring,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises, checked for NULL by the helpers.
        let (p, name) = unsafe { (c_path(path, "path")?, c_text(var, "var")?) };
        need_out(out, "out")?;
        let value = match std::env::var(name) {
            Ok(v) => Zeroizing::new(v),
            Err(std::env::VarError::NotPresent) => {
                return Err(invalid(format!("environment variable {name} is not set")));
            }
            Err(std::env::VarError::NotUnicode(_)) => return Err(Fail::Utf8("the environment variable")),
        };
        let unlock = unlock_from(kind, value)?;
        hand_out(out, Keyring::open(p, &unlock)?);
        Ok(())
    })
}

/// Closes a keyring: wipes its keys from memory and frees the handle.
/// NULL is accepted and does nothing. Never fails.
///
/// # Safety
/// `keyring` is NULL or a handle from this library not yet freed, which
/// no other thread is using; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_free(keyring: *mut strongroom_keyring) {
    if keyring.is_null() {
        return;
    }
    crate::status::boundary_value((), || {
        // SAFETY: created by `Box::into_raw` in this library and not yet
        // freed (the caller's promise); the core wipes keys on drop.
        drop(unsafe { Box::from_raw(keyring) });
    });
}

/// Writes the number of the primary key version to `*version`.
///
/// # Safety
/// `keyring` is a live handle; `version` is writable. Neither may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_primary_version(
    keyring: *const strongroom_keyring,
    version: *mut u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        need_out(version, "version")?;
        let v = kr.read()?.primary_version();
        // SAFETY: checked non-NULL above.
        unsafe { put(version, v) };
        Ok(())
    })
}

/// Lists the key versions in ascending order: `*count` receives how many
/// there are; if `cap` is at least that, they are written to `versions`.
/// Otherwise nothing is written there and `STRONGROOM_BUFFER_TOO_SMALL` is
/// returned: call with `versions` NULL and `cap` 0 to learn the count.
///
/// ```c
/// size_t n = 0;
/// strongroom_keyring_versions(kr, NULL, 0, &n);          // BUFFER_TOO_SMALL, n set
/// strongroom_key_version *v = calloc(n, sizeof *v);
/// strongroom_keyring_versions(kr, v, n, &n);             // OK
/// ```
///
/// # Safety
/// `keyring` is a live handle; `versions` points to `cap` writable
/// entries (or is NULL with `cap` 0); `count` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_versions(
    keyring: *const strongroom_keyring,
    versions: *mut strongroom_key_version,
    cap: usize,
    count: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        need_out(count, "count")?;
        need_buf(versions, cap, "versions")?;
        let list = kr.read()?.versions();
        // SAFETY: checked non-NULL above.
        unsafe { put(count, list.len()) };
        if cap < list.len() {
            return Err(Fail::SmallArray("versions", list.len()));
        }
        for (i, info) in list.iter().enumerate() {
            let v = strongroom_key_version {
                version: info.version,
                status: status_code(info.status),
                created_at: info.created_at,
                status_changed_at: info.status_changed_at,
            };
            // SAFETY: `i < list.len() <= cap` entries are writable (the caller's promise).
            unsafe { put(versions.add(i), v) };
        }
        Ok(())
    })
}

/// Adds a key version numbered one above the highest, saved to the
/// keyring file at once (under its lock). It is decrypt-only, or primary
/// if `promote` (the old primary becomes decrypt-only). Its number is
/// written to `*new_version`.
///
/// Field ciphers built before keep using the versions they were built
/// with: build new ones after a rotation.
///
/// # Safety
/// `keyring` is a live handle; `new_version` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_add_version(
    keyring: *mut strongroom_keyring,
    promote: bool,
    new_version: *mut u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        need_out(new_version, "new_version")?;
        let v = kr.write()?.add_key(promote)?;
        // SAFETY: checked non-NULL above.
        unsafe { put(new_version, v) };
        Ok(())
    })
}

/// Makes `version` primary (the previous primary becomes decrypt-only);
/// saved at once. A destroyed version cannot be promoted
/// (`STRONGROOM_INVALID_ARGUMENT`), an unknown one gives
/// `STRONGROOM_UNKNOWN_KEY_VERSION`.
///
/// # Safety
/// `keyring` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_promote(
    keyring: *mut strongroom_keyring,
    version: u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        kr.write()?.promote(version)?;
        Ok(())
    })
}

/// Disables a decrypt-only version (it no longer decrypts until
/// re-enabled with `strongroom_keyring_enable_version`); saved at once.
///
/// # Safety
/// `keyring` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_disable_version(
    keyring: *mut strongroom_keyring,
    version: u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        kr.write()?.disable(version)?;
        Ok(())
    })
}

/// Makes a disabled version decrypt-only again; saved at once.
///
/// # Safety
/// `keyring` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_enable_version(
    keyring: *mut strongroom_keyring,
    version: u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        kr.write()?.enable(version)?;
        Ok(())
    })
}

/// Irreversibly wipes a non-primary version's secret (its metadata stays);
/// saved at once. Data encrypted under it no longer decrypts with this
/// keyring (`STRONGROOM_KEY_VERSION_UNUSABLE`). Older copies of the
/// keyring file still hold the secret.
///
/// # Safety
/// `keyring` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_destroy_version(
    keyring: *mut strongroom_keyring,
    version: u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        kr.write()?.destroy(version)?;
        Ok(())
    })
}

/// Adds a recovery-key protector (saved at once) and writes the new
/// recovery key's text form, NUL-terminated, into `out`, which must hold
/// at least `STRONGROOM_RECOVERY_KEY_BUF_LEN` bytes (checked before
/// anything changes: `STRONGROOM_BUFFER_TOO_SMALL`). Show it to the user
/// once and wipe `out` afterwards: it is not stored in readable form.
///
/// # Safety
/// `keyring` is a live handle; `out` points to `cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_add_recovery_key(
    keyring: *mut strongroom_keyring,
    out: *mut c_char,
    cap: usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        need_out(out, "out")?;
        need_buf(out, cap, "out")?;
        if cap < STRONGROOM_RECOVERY_KEY_BUF_LEN {
            return Err(Fail::Small("out", STRONGROOM_RECOVERY_KEY_BUF_LEN));
        }
        let (_id, key) = kr.write()?.add_recovery_key()?;
        let text = key.dangerous_display();
        let t = text.as_bytes();
        if t.len() + 1 > cap {
            return Err(Fail::Internal("a recovery key longer than expected"));
        }
        // SAFETY: `out` holds `cap > t.len()` writable bytes; no overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(t.as_ptr(), out.cast::<u8>(), t.len());
            out.add(t.len()).write(0);
        }
        Ok(())
    })
}

/// Adds a passphrase protector (`passphrase_len` bytes of UTF-8, not
/// empty) with Argon2id cost `kdf`; saved at once. At most 4 passphrase
/// protectors (`STRONGROOM_INVALID_ARGUMENT` beyond).
///
/// # Safety
/// `keyring` is a live handle; `passphrase` points to `passphrase_len`
/// bytes; `kdf` to a `strongroom_kdf_params`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_add_passphrase(
    keyring: *mut strongroom_keyring,
    passphrase: *const u8,
    passphrase_len: usize,
    kdf: *const strongroom_kdf_params,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (kr, pass, kdf) = unsafe {
            (
                handle(keyring, "keyring")?,
                bytes(passphrase, passphrase_len, "passphrase")?,
                handle(kdf, "kdf")?,
            )
        };
        let pass = c_passphrase(pass, "passphrase")?;
        kr.write()?.add_passphrase(&pass, (*kdf).into())?;
        Ok(())
    })
}

/// A secret of another protector, for `strongroom_keyring_upgrade` and
/// `strongroom_keyring_reenroll`: a passphrase (`len` bytes of UTF-8) or a
/// recovery key in its text form (`len` bytes, `SRRK-...`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_secret {
    /// `STRONGROOM_SECRET_PASSPHRASE` or `STRONGROOM_SECRET_RECOVERY_KEY`.
    pub kind: strongroom_secret_kind,
    /// The secret's bytes (not NUL-terminated).
    pub secret: *const u8,
    /// Their number.
    pub len: usize,
}

/// Kind of a protector (`strongroom_protector.kind`).
pub type strongroom_protector_kind = u32;
/// A kind this version does not know (a newer release added it).
pub const STRONGROOM_PROTECTOR_UNKNOWN: strongroom_protector_kind = 0;
/// A passphrase.
pub const STRONGROOM_PROTECTOR_PASSPHRASE: strongroom_protector_kind = 1;
/// A recovery key.
pub const STRONGROOM_PROTECTOR_RECOVERY_KEY: strongroom_protector_kind = 2;

/// Public metadata of one protector (no secret).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct strongroom_protector {
    /// Protector id, never reused.
    pub id: u32,
    /// One of `STRONGROOM_PROTECTOR_PASSPHRASE`, `_RECOVERY_KEY`, `_UNKNOWN`.
    pub kind: strongroom_protector_kind,
    /// When it was added, seconds since the Unix epoch.
    pub created_at: u64,
    /// Still in keyring format 1 or 2 (the keyring must be upgraded).
    pub legacy: bool,
}

/// The secrets of a `strongroom_secret` array (NULL allowed with `len` 0).
///
/// # Safety
/// `p` is NULL with `len` 0, or points to `len` entries whose `secret`
/// pointers each point to `len` readable bytes.
unsafe fn unlocks(p: *const strongroom_secret, len: usize) -> Result<Vec<Unlock>, Fail> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Fail::Null("secrets"));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable entries.
    let entries = unsafe { std::slice::from_raw_parts(p, len) };
    let mut out = Vec::with_capacity(len);
    for e in entries {
        // SAFETY: the caller promises each entry's bytes are readable.
        let raw = unsafe { bytes(e.secret, e.len, "secret")? };
        let text = std::str::from_utf8(raw).map_err(|_| Fail::Utf8("secret"))?;
        out.push(unlock_from(e.kind, Zeroizing::new(text.to_owned()))?);
    }
    Ok(out)
}

/// `len` protector ids (NULL allowed with `len` 0).
///
/// # Safety
/// `p` is NULL with `len` 0, or points to `len` readable `uint32_t`.
unsafe fn ids<'a>(p: *const u32, len: usize, what: &'static str) -> Result<&'a [u32], Fail> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::Null(what));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable entries.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Writes the keyring's format version (3; 1 or 2 for a keyring still to
/// be upgraded, which decrypts but refuses to encrypt and to change with
/// `STRONGROOM_KEYRING_NEEDS_UPGRADE`) to `*format`.
///
/// # Safety
/// `keyring` is a live handle; `format` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_format_version(
    keyring: *const strongroom_keyring,
    format: *mut u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        need_out(format, "format")?;
        let f = u32::from(kr.read()?.format_version());
        // SAFETY: checked non-NULL above.
        unsafe { put(format, f) };
        Ok(())
    })
}

/// Lists the protectors in file order, as `strongroom_keyring_versions`
/// lists versions: `*count` receives how many there are; they are written
/// to `protectors` if `cap` is at least that, else
/// `STRONGROOM_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `keyring` is a live handle; `protectors` points to `cap` writable
/// entries (or is NULL with `cap` 0); `count` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_protectors(
    keyring: *const strongroom_keyring,
    protectors: *mut strongroom_protector,
    cap: usize,
    count: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        need_out(count, "count")?;
        need_buf(protectors, cap, "protectors")?;
        let list = kr.read()?.protectors();
        // SAFETY: checked non-NULL above.
        unsafe { put(count, list.len()) };
        if cap < list.len() {
            return Err(Fail::Small("protectors", list.len()));
        }
        for (i, info) in list.iter().enumerate() {
            let p = strongroom_protector {
                id: info.id,
                kind: match info.kind {
                    ProtectorKind::Passphrase { .. } => STRONGROOM_PROTECTOR_PASSPHRASE,
                    ProtectorKind::RecoveryKey => STRONGROOM_PROTECTOR_RECOVERY_KEY,
                    _ => STRONGROOM_PROTECTOR_UNKNOWN,
                },
                created_at: info.created_at,
                legacy: info.legacy,
            };
            // SAFETY: `i < list.len() <= cap` entries are writable.
            unsafe { put(protectors.add(i), p) };
        }
        Ok(())
    })
}

/// Checks the keyring against a record of keyrings seen and keeps it for
/// every later change: the file is read again now, refused if it is older
/// than a state of the same keyring recorded before
/// (`STRONGROOM_KEYRING_ROLLED_BACK`) or in an older format
/// (`STRONGROOM_KEYRING_DOWNGRADED`), and recorded. `record_path` is the
/// record file, or NULL for the default location (`$STRONGROOM_STATE_DIR`,
/// else `$XDG_STATE_HOME/strongroom`, else `~/.local/state/strongroom`,
/// file `keyrings-seen`). Call it right after opening.
///
/// # Safety
/// `keyring` is a live handle; `record_path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_use_seen_record(
    keyring: *mut strongroom_keyring,
    record_path: *const c_char,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        let record = if record_path.is_null() {
            SeenRecord::at_default_location()?
        } else {
            // SAFETY: non-NULL and NUL-terminated (the caller's promise).
            SeenRecord::new(unsafe { c_path(record_path, "record_path")? })
        };
        let mut kr = kr.write()?;
        kr.set_seen_record(Some(record));
        kr.reload()?;
        Ok(())
    })
}

/// Removes the protectors `ids` (`ids_len` of them) and revokes them in
/// the same save: a new master key for every remaining protector and, if
/// `rotate`, a new key version made primary (its number in
/// `*new_primary`, else 0; `new_primary` may be NULL). Without `rotate`
/// whoever holds a removed secret and an earlier copy of the keyring file
/// still opens what is encrypted from now on. An unknown id, or removing
/// every protector, gives `STRONGROOM_INVALID_ARGUMENT` and changes
/// nothing.
///
/// # Safety
/// `keyring` is a live handle; `ids` points to `ids_len` ids;
/// `new_primary` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_remove_protectors(
    keyring: *mut strongroom_keyring,
    ids_: *const u32,
    ids_len: usize,
    rotate: bool,
    new_primary: *mut u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (kr, list) = unsafe { (handle(keyring, "keyring")?, ids(ids_, ids_len, "ids")?) };
        let rotation = if rotate {
            Rotation::Rotate
        } else {
            Rotation::KeepPrimary
        };
        let done = kr.write()?.remove_protectors_with(list, rotation)?;
        if !new_primary.is_null() {
            // SAFETY: non-NULL, and the caller promises it is writable.
            unsafe { put(new_primary, done.new_primary.unwrap_or(0)) };
        }
        Ok(())
    })
}

/// Replaces the master key (sealed to every protector; the protector that
/// unlocked this handle gets a fresh authentication value). Key versions
/// do not change.
///
/// # Safety
/// `keyring` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_rekey(keyring: *mut strongroom_keyring) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let kr = unsafe { handle(keyring, "keyring")? };
        kr.write()?.rekey()?;
        Ok(())
    })
}

/// Upgrades a keyring in format 1 or 2 to format 3. Every protector that
/// stays needs its secret: the one that unlocked this handle is held; give
/// the others in `secrets` (`secrets_len` entries; NULL with 0), or remove
/// them with `remove` (`remove_len` ids). A protector left without its
/// secret gives `STRONGROOM_PROTECTORS_NEED_UPGRADE` (the last error names
/// it), a secret that opens no protector `STRONGROOM_WRONG_PASSPHRASE` or
/// `STRONGROOM_WRONG_RECOVERY_KEY`; nothing changes then. With `rotate` a
/// new key version is made primary (`*new_primary`, else 0; may be NULL).
/// A keyring already in format 3 is left as it is.
///
/// The upgrade cannot tell whether the old file was genuine (anyone who
/// could write it could have chosen its keys): check the protectors and
/// versions against what you expect.
///
/// # Safety
/// `keyring` is a live handle; `secrets` points to `secrets_len` entries
/// (each with `len` readable bytes); `remove` to `remove_len` ids;
/// `new_primary` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_upgrade(
    keyring: *mut strongroom_keyring,
    secrets: *const strongroom_secret,
    secrets_len: usize,
    remove: *const u32,
    remove_len: usize,
    rotate: bool,
    new_primary: *mut u32,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (kr, others, remove) = unsafe {
            (
                handle(keyring, "keyring")?,
                unlocks(secrets, secrets_len)?,
                ids(remove, remove_len, "remove")?,
            )
        };
        let rotation = if rotate {
            Rotation::Rotate
        } else {
            Rotation::KeepPrimary
        };
        let done = kr.write()?.upgrade(&others, remove, rotation)?;
        if !new_primary.is_null() {
            // SAFETY: non-NULL, and the caller promises it is writable.
            unsafe { put(new_primary, done.new_primary.unwrap_or(0)) };
        }
        Ok(())
    })
}

/// Gives fresh authentication values to the protector that unlocked this
/// handle and to every protector one of `secrets` opens, and replaces the
/// master key: after a removal, the removed party's knowledge of the old
/// values no longer lets it plant a keyring those protectors accept. A
/// secret that opens no protector gives `STRONGROOM_WRONG_PASSPHRASE` or
/// `STRONGROOM_WRONG_RECOVERY_KEY` and nothing changes.
///
/// # Safety
/// `keyring` is a live handle; `secrets` points to `secrets_len` entries
/// (NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_keyring_reenroll(
    keyring: *mut strongroom_keyring,
    secrets: *const strongroom_secret,
    secrets_len: usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (kr, others) = unsafe { (handle(keyring, "keyring")?, unlocks(secrets, secrets_len)?) };
        kr.write()?.reenroll(&others)?;
        Ok(())
    })
}
