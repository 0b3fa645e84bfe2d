//! Whole files by path: encrypt, decrypt, rewrap, rekey (atomic output,
//! every core), with progress reports and cancellation.

use crate::keyring::{strongroom_kdf_budget, strongroom_kdf_params, strongroom_keyring};
use crate::status::{Fail, boundary, invalid, strongroom_status};
use crate::util::{c_passphrase, c_path, handle, need_out, opt_bytes, put};
use std::ffi::{c_char, c_void};
use std::sync::RwLockReadGuard;
use std::sync::atomic::{AtomicBool, Ordering};
use strongroom::Passphrase;
use strongroom::file::{self, FileOptions, Identity, Recipient, Rewrap};
use strongroom::keyring::Keyring;
use strongroom::passphrase::{KdfBudget, KdfParams};

/// Who a file is encrypted to, or what may open it: a keyring, a
/// passphrase, or both. Fields not used are NULL.
///
/// When encrypting, each one set becomes a recipient (the keyring's
/// primary version; the passphrase stretched with `kdf`). When decrypting,
/// each one set is tried (the Argon2id cost then comes from the file, and
/// `kdf` is ignored). At least one must be set
/// (`STRONGROOM_INVALID_ARGUMENT` otherwise).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_keys {
    /// An open keyring, or NULL.
    pub keyring: *const strongroom_keyring,
    /// A passphrase of `passphrase_len` bytes of UTF-8 (not NUL-terminated), or NULL.
    pub passphrase: *const u8,
    /// Length of `passphrase` in bytes.
    pub passphrase_len: usize,
    /// Argon2id cost when encrypting to the passphrase (all zero, as in a
    /// zero-initialised struct, is refused with `STRONGROOM_KDF_PARAMS`:
    /// start from `strongroom_kdf_params_default()`). Ignored when decrypting.
    pub kdf: strongroom_kdf_params,
    /// When decrypting with the passphrase: the Argon2id work the call may
    /// spend on the file's passphrase stanzas (all zero, as in a
    /// zero-initialised struct: the library default). Ignored when
    /// encrypting.
    pub kdf_budget: strongroom_kdf_budget,
}

/// The owned form of a [`strongroom_keys`] for the length of a call.
pub(crate) struct Keys<'a> {
    ring: Option<RwLockReadGuard<'a, Keyring>>,
    pass: Option<Passphrase>,
    kdf: KdfParams,
    budget: KdfBudget,
}

impl<'a> Keys<'a> {
    /// # Safety
    /// `k` is NULL or points to a `strongroom_keys` whose pointers are
    /// NULL or valid for the call.
    pub(crate) unsafe fn from_c(k: *const strongroom_keys, what: &'static str) -> Result<Keys<'a>, Fail> {
        // SAFETY: the caller's promise; NULL is refused.
        let k = unsafe { handle(k, what)? };
        // SAFETY: the keyring pointer is NULL or a live handle (the caller's promise).
        let ring = match unsafe { k.keyring.as_ref() } {
            Some(kr) => Some(kr.read()?),
            None => None,
        };
        // SAFETY: NULL or `passphrase_len` readable bytes (the caller's promise).
        let pass = match unsafe { opt_bytes(k.passphrase, k.passphrase_len, "keys.passphrase_len")? } {
            Some(b) => Some(c_passphrase(b, "keys.passphrase")?),
            None => None,
        };
        if ring.is_none() && pass.is_none() {
            return Err(invalid(format!(
                "{what} names neither a keyring nor a passphrase"
            )));
        }
        Ok(Keys {
            ring,
            pass,
            kdf: k.kdf.into(),
            budget: k.kdf_budget.budget(),
        })
    }

    pub(crate) fn recipients(&self) -> Vec<Recipient<'_>> {
        let mut v = Vec::new();
        if let Some(r) = &self.ring {
            v.push(Recipient::Keyring(r));
        }
        if let Some(p) = &self.pass {
            v.push(Recipient::Passphrase(p, self.kdf));
        }
        v
    }

    pub(crate) fn identities(&self) -> Vec<Identity<'_>> {
        let mut v = Vec::new();
        if let Some(r) = &self.ring {
            v.push(Identity::Keyring(r));
        }
        if let Some(p) = &self.pass {
            v.push(Identity::PassphraseWithBudget(p, self.budget));
        }
        v
    }
}

/// A cancellation flag that another thread (or a signal handler's
/// thread) can raise while a file operation runs.
///
/// **Threads:** safe to share; `strongroom_cancel_request` may be called
/// from any thread at any time while the handle is alive.
pub struct strongroom_cancel {
    flag: AtomicBool,
}

/// Creates a cancellation flag (lowered) into `*out`; free it with
/// `strongroom_cancel_free` once no operation uses it.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_cancel_new(out: *mut *mut strongroom_cancel) -> strongroom_status {
    boundary(|| {
        need_out(out, "out")?;
        let h = Box::new(strongroom_cancel {
            flag: AtomicBool::new(false),
        });
        // SAFETY: checked non-NULL above.
        unsafe { put(out, Box::into_raw(h)) };
        Ok(())
    })
}

/// Raises the flag: operations using it stop with `STRONGROOM_CANCELLED`
/// at their next check (every 4 MiB) and leave no output behind. The
/// handle changes (hence the non-`const` pointer), but safely from any
/// thread at any time, also while an operation reads it.
///
/// # Safety
/// `cancel` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_cancel_request(cancel: *mut strongroom_cancel) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let c = unsafe { handle(cancel, "cancel")? };
        c.flag.store(true, Ordering::Relaxed);
        Ok(())
    })
}

/// Lowers the flag again, for reuse.
///
/// # Safety
/// `cancel` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_cancel_reset(cancel: *mut strongroom_cancel) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let c = unsafe { handle(cancel, "cancel")? };
        c.flag.store(false, Ordering::Relaxed);
        Ok(())
    })
}

/// Frees a cancellation flag. NULL is accepted. Never fails.
///
/// # Safety
/// `cancel` is NULL or a live handle no operation is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_cancel_free(cancel: *mut strongroom_cancel) {
    if !cancel.is_null() {
        // SAFETY: created by `Box::into_raw` here and not yet freed.
        crate::status::boundary_value((), || drop(unsafe { Box::from_raw(cancel) }));
    }
}

/// Progress report: `done` of `total` bytes processed so far, with the
/// `user_data` of the options. Return 0 to go on, anything else to cancel
/// (the operation then fails with `STRONGROOM_CANCELLED` and leaves no
/// output). Called on the thread that made the call, once at the start
/// and after every 4 MiB; it must not call back into the same operation.
pub type strongroom_progress_fn =
    Option<unsafe extern "C" fn(done: u64, total: u64, user_data: *mut c_void) -> i32>;

/// Options of the whole-file calls. Zero-initialise (`= {0}`) for the
/// defaults: no overwrite, no progress, no cancellation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_file_options {
    /// Replace an existing destination (atomically). A destination that is
    /// a symbolic link is refused even so.
    pub overwrite: bool,
    /// Progress callback, or NULL.
    pub progress: strongroom_progress_fn,
    /// Passed to `progress` unchanged.
    pub user_data: *mut c_void,
    /// Cancellation flag, or NULL.
    pub cancel: *const strongroom_cancel,
}

/// The callback and its data, called from the core's progress hook.
struct Progress {
    cb: strongroom_progress_fn,
    user_data: *mut c_void,
    cancel: *const strongroom_cancel,
    stop: AtomicBool,
}

// SAFETY: the core calls progress on the calling thread only (see
// `strongroom_progress_fn`); the cancel handle is itself thread-safe.
unsafe impl Sync for Progress {}

impl Progress {
    /// # Safety
    /// `opts` is NULL or points to options whose `cancel` is NULL or live.
    unsafe fn from_c(opts: *const strongroom_file_options) -> (bool, Progress) {
        // SAFETY: NULL or valid (the caller's promise).
        match unsafe { opts.as_ref() } {
            None => (
                false,
                Progress {
                    cb: None,
                    user_data: std::ptr::null_mut(),
                    cancel: std::ptr::null(),
                    stop: AtomicBool::new(false),
                },
            ),
            Some(o) => (
                o.overwrite,
                Progress {
                    cb: o.progress,
                    user_data: o.user_data,
                    cancel: o.cancel,
                    stop: AtomicBool::new(false),
                },
            ),
        }
    }

    fn report(&self, done: u64, total: u64) {
        // SAFETY: NULL or a live cancel handle (the caller's promise).
        if let Some(c) = unsafe { self.cancel.as_ref() }
            && c.flag.load(Ordering::Relaxed)
        {
            self.stop.store(true, Ordering::Relaxed);
        }
        if let Some(cb) = self.cb {
            // SAFETY: a C function pointer given by the caller, called with
            // the user data it gave; C code cannot unwind into us.
            if unsafe { cb(done, total, self.user_data) } != 0 {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Runs `f` with core options built from the C options.
///
/// # Safety
/// As [`Progress::from_c`].
unsafe fn with_options<T>(
    opts: *const strongroom_file_options,
    f: impl FnOnce(&FileOptions<'_>) -> Result<T, Fail>,
) -> Result<T, Fail> {
    // SAFETY: forwarded promise.
    let (overwrite, progress) = unsafe { Progress::from_c(opts) };
    // The cancel flag is checked before each report; a cancel from the
    // report itself takes effect at the next check. Checking the raised
    // handle here too makes a flag raised before the call count at once.
    progress.report_cancel_only();
    let report = |done: u64, total: u64| progress.report(done, total);
    let o = FileOptions::new()
        .overwrite(overwrite)
        .progress(&report)
        .cancel(&progress.stop);
    f(&o)
}

impl Progress {
    fn report_cancel_only(&self) {
        // SAFETY: NULL or a live cancel handle (the caller's promise).
        if let Some(c) = unsafe { self.cancel.as_ref() }
            && c.flag.load(Ordering::Relaxed)
        {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Encrypts the file `src` to `dst` for the recipients in `to`, on every
/// core. `dst` appears only when complete (written to a temporary file,
/// then renamed); on any error or cancellation it does not exist and no
/// temporary file is left. An existing `dst` gives
/// `STRONGROOM_ALREADY_EXISTS` unless `opts->overwrite`. `opts` may be
/// NULL (the defaults).
///
/// ```c
/// strongroom_keys to = { .keyring = kr };
/// strongroom_status s = strongroom_file_encrypt("report.pdf", "report.pdf.srf", &to, NULL);
/// ```
///
/// # Safety
/// `src` and `dst` are NUL-terminated; `to` points to valid keys; `opts`
/// is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_file_encrypt(
    src: *const c_char,
    dst: *const c_char,
    to: *const strongroom_keys,
    opts: *const strongroom_file_options,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (s, d, keys) = unsafe { (c_path(src, "src")?, c_path(dst, "dst")?, Keys::from_c(to, "to")?) };
        // SAFETY: forwarded promise about `opts`.
        unsafe { with_options(opts, |o| Ok(file::encrypt_file(s, d, &keys.recipients(), o)?)) }?;
        Ok(())
    })
}

/// Decrypts the file `src` to `dst` with the keys in `with`. Every chunk
/// is authenticated; `dst` appears only after the whole file
/// authenticated (a damaged file gives its status and leaves no output).
/// `*plaintext_len` (if not NULL) receives the number of bytes written.
/// `opts` may be NULL.
///
/// ```c
/// strongroom_keys with = { .passphrase = (const uint8_t *)pw, .passphrase_len = strlen(pw) };
/// uint64_t n = 0;
/// strongroom_file_decrypt("a.srf", "a.out", &with, NULL, &n);
/// ```
///
/// # Safety
/// `src` and `dst` are NUL-terminated; `with` points to valid keys;
/// `opts` is NULL or valid; `plaintext_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_file_decrypt(
    src: *const c_char,
    dst: *const c_char,
    with: *const strongroom_keys,
    opts: *const strongroom_file_options,
    plaintext_len: *mut u64,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (s, d, keys) = unsafe {
            (
                c_path(src, "src")?,
                c_path(dst, "dst")?,
                Keys::from_c(with, "with")?,
            )
        };
        // SAFETY: forwarded promise about `opts`.
        let n = unsafe { with_options(opts, |o| Ok(file::decrypt_file(s, d, &keys.identities(), o)?)) }?;
        if !plaintext_len.is_null() {
            // SAFETY: non-NULL and writable (the caller's promise).
            unsafe { put(plaintext_len, n) };
        }
        Ok(())
    })
}

/// What `strongroom_file_rewrap` changes; zero-initialise and set what you
/// need. Stanzas not named are kept.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_rewrap_plan {
    /// Replace this keyring's stanzas with one for its current primary
    /// version (adds it if the file had none), or NULL.
    pub to_primary: *const strongroom_keyring,
    /// Remove the stanzas of every keyring.
    pub remove_keyrings: bool,
    /// Add a passphrase stanza for this passphrase (UTF-8, not
    /// NUL-terminated), or NULL.
    pub add_passphrase: *const u8,
    /// Length of `add_passphrase`.
    pub add_passphrase_len: usize,
    /// Argon2id cost for `add_passphrase`.
    pub add_kdf: strongroom_kdf_params,
    /// Remove the passphrase stanzas this passphrase opens (it must open
    /// one, else `STRONGROOM_WRONG_PASSPHRASE`), or NULL.
    pub remove_passphrase: *const u8,
    /// Length of `remove_passphrase`.
    pub remove_passphrase_len: usize,
    /// Remove every passphrase stanza.
    pub remove_all_passphrases: bool,
}

/// Changes who can open the file at `path` without touching its payload,
/// after opening it with `with`; the file is replaced atomically. This
/// revokes nothing (the file key stays): use `strongroom_file_rekey` to
/// revoke. `opts` may be NULL (`overwrite` does not apply).
///
/// ```c
/// strongroom_rewrap_plan plan = {0};
/// plan.to_primary = kr;               // after a key rotation
/// strongroom_keys with = { .keyring = kr };
/// strongroom_file_rewrap("a.srf", &with, &plan, NULL);
/// ```
///
/// # Safety
/// `path` is NUL-terminated; `with` and `plan` point to valid structs
/// whose pointers are NULL or valid; `opts` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_file_rewrap(
    path: *const c_char,
    with: *const strongroom_keys,
    plan: *const strongroom_rewrap_plan,
    opts: *const strongroom_file_options,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (p, plan) = unsafe { (c_path(path, "path")?, handle(plan, "plan")?) };
        // SAFETY: `with` is valid (the caller's promise).
        let keys = unsafe { Keys::from_c(with, "with")? };
        // The same keyring in `with` and `plan`: reuse the read lock taken
        // (taking it twice on one thread may deadlock behind a writer).
        // SAFETY: `with` was checked non-NULL by `Keys::from_c`.
        let same = std::ptr::eq(unsafe { (*with).keyring }, plan.to_primary);
        // SAFETY: NULL or a live handle (the caller's promise).
        let other_guard = match unsafe { plan.to_primary.as_ref() } {
            Some(kr) if !same => Some(kr.read()?),
            _ => None,
        };
        // SAFETY: NULL or readable bytes (the caller's promise).
        let add = match unsafe {
            opt_bytes(
                plan.add_passphrase,
                plan.add_passphrase_len,
                "plan.add_passphrase_len",
            )?
        } {
            Some(b) => Some(c_passphrase(b, "plan.add_passphrase")?),
            None => None,
        };
        // SAFETY: as above.
        let remove = match unsafe {
            opt_bytes(
                plan.remove_passphrase,
                plan.remove_passphrase_len,
                "plan.remove_passphrase_len",
            )?
        } {
            Some(b) => Some(c_passphrase(b, "plan.remove_passphrase")?),
            None => None,
        };
        let mut r = Rewrap::new()
            .remove_keyrings(plan.remove_keyrings)
            .remove_all_passphrases(plan.remove_all_passphrases);
        if let Some(g) = &other_guard {
            r = r.to_primary(g);
        } else if same && !plan.to_primary.is_null() {
            r = r.to_primary(keys.ring.as_ref().ok_or(Fail::Internal("keyring guard"))?);
        }
        if let Some(a) = &add {
            r = r.add_passphrase(a, plan.add_kdf.into());
        }
        if let Some(rm) = &remove {
            r = r.remove_passphrase(rm);
        }
        // SAFETY: forwarded promise about `opts`.
        unsafe { with_options(opts, |o| Ok(file::rewrap_file(p, &keys.identities(), &r, o)?)) }?;
        Ok(())
    })
}

/// Re-encrypts the file `src` under a new file key for exactly the
/// recipients in `to`, after opening it with `with`: no old protector and
/// no copy of the old header opens the result. `dst` NULL replaces `src`
/// in place (atomically); otherwise a new file is written at `dst` (as
/// `strongroom_file_encrypt` does). On any error or cancellation the
/// source is intact and no output is left. `opts` may be NULL.
///
/// # Safety
/// `src` is NUL-terminated; `dst` is NULL or NUL-terminated; `with` and
/// `to` are valid; `opts` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_file_rekey(
    src: *const c_char,
    dst: *const c_char,
    with: *const strongroom_keys,
    to: *const strongroom_keys,
    opts: *const strongroom_file_options,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let s = unsafe { c_path(src, "src")? };
        let d = if dst.is_null() {
            None
        } else {
            // SAFETY: non-NULL and NUL-terminated (the caller's promise).
            Some(unsafe { c_path(dst, "dst")? })
        };
        // SAFETY: valid keys (the caller's promise).
        let from = unsafe { Keys::from_c(with, "with")? };
        // SAFETY: NULL or valid (the caller's promise); NULL is refused.
        let t = unsafe { handle(to, "to")? };
        // The same keyring in both: reuse the read lock already taken
        // (taking it twice on one thread may deadlock behind a writer).
        // SAFETY: `with` was checked non-NULL by `Keys::from_c`.
        let same = !t.keyring.is_null() && std::ptr::eq(unsafe { (*with).keyring }, t.keyring);
        let recipients_keys;
        let recipients = if same {
            // SAFETY: NULL or readable bytes (the caller's promise).
            let pass = match unsafe { opt_bytes(t.passphrase, t.passphrase_len, "to.passphrase_len")? } {
                Some(b) => Some(c_passphrase(b, "to.passphrase")?),
                None => None,
            };
            recipients_keys = Keys {
                ring: None,
                pass,
                kdf: t.kdf.into(),
                budget: t.kdf_budget.budget(),
            };
            let mut v = vec![Recipient::Keyring(
                from.ring.as_ref().ok_or(Fail::Internal("keyring guard"))?,
            )];
            v.extend(recipients_keys.recipients());
            v
        } else {
            // SAFETY: valid keys (the caller's promise).
            recipients_keys = unsafe { Keys::from_c(to, "to")? };
            recipients_keys.recipients()
        };
        // SAFETY: forwarded promise about `opts`.
        unsafe {
            with_options(opts, |o| {
                Ok(file::rekey_file(s, d, &from.identities(), &recipients, o)?)
            })
        }?;
        Ok(())
    })
}
