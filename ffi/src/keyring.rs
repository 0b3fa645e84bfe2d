//! Keyrings: create, open (passphrase, recovery key, secret from a file or
//! an environment variable), close, list, add and promote key versions.

use crate::status::{Fail, boundary, invalid, strongroom_status};
use crate::util::{bytes, c_passphrase, c_path, c_text, handle, need_buf, need_out, put};
use std::ffi::c_char;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use strongroom::keyring::{KeyStatus, Keyring, RecoveryKey, Unlock};
use strongroom::passphrase::KdfParams;
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
    boundary(|| {
        // SAFETY: the caller's promises, checked for NULL by the helpers.
        let (p, pass) = unsafe {
            (
                c_path(path, "path")?,
                bytes(passphrase, passphrase_len, "passphrase")?,
            )
        };
        need_out(out, "out")?;
        let unlock = Unlock::Passphrase(c_passphrase(pass, "passphrase")?);
        hand_out(out, Keyring::open(p, &unlock)?);
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
