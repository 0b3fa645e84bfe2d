//! Checked conversions of C arguments. Every helper refuses NULL with the
//! argument's name (`STRONGROOM_NULL_ARGUMENT`) instead of dereferencing it.

use crate::status::Fail;
use std::ffi::{CStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use strongroom::Passphrase;
use zeroize::Zeroizing;

/// A shared reference to a handle.
///
/// # Safety
/// `p` is NULL or points to a live `T` created by this library.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &'static str) -> Result<&'a T, Fail> {
    // SAFETY: the caller promises `p` is NULL or valid; `as_ref` maps NULL to None.
    unsafe { p.as_ref() }.ok_or(Fail::Null(what))
}

/// An exclusive reference to a handle.
///
/// # Safety
/// `p` is NULL or points to a live `T` created by this library that no
/// other thread uses during the call.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, what: &'static str) -> Result<&'a mut T, Fail> {
    // SAFETY: the caller promises `p` is NULL or valid and unshared.
    unsafe { p.as_mut() }.ok_or(Fail::Null(what))
}

/// `len` bytes at `p`, which must not be NULL (even when `len` is 0).
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that stay unchanged
/// during the call.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, what: &'static str) -> Result<&'a [u8], Fail> {
    if p.is_null() {
        return Err(Fail::Null(what));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// `len` bytes at `p`, or `None` when `p` is NULL (an optional argument).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn opt_bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-NULL, and the caller promises `len` readable bytes.
        Some(unsafe { std::slice::from_raw_parts(p, len) })
    }
}

/// A NUL-terminated string that must be UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &'static str) -> Result<&'a str, Fail> {
    if p.is_null() {
        return Err(Fail::Null(what));
    }
    // SAFETY: non-NULL and NUL-terminated (the caller's promise).
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| Fail::Utf8(what))
}

/// A NUL-terminated path (any bytes but NUL).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn path<'a>(p: *const c_char, what: &'static str) -> Result<&'a Path, Fail> {
    if p.is_null() {
        return Err(Fail::Null(what));
    }
    // SAFETY: non-NULL and NUL-terminated (the caller's promise).
    let s = unsafe { CStr::from_ptr(p) };
    Ok(Path::new(std::ffi::OsStr::from_bytes(s.to_bytes())))
}

/// A passphrase given as bytes: copied into wiped memory, UTF-8 checked.
pub(crate) fn passphrase(b: &[u8], what: &'static str) -> Result<Passphrase, Fail> {
    let copy = Zeroizing::new(b.to_vec());
    let s = std::str::from_utf8(&copy).map_err(|_| Fail::Utf8(what))?;
    Ok(Passphrase::new(s.to_owned()))
}

/// Checks an output pointer before any work.
pub(crate) fn need_out<T>(p: *mut T, what: &'static str) -> Result<(), Fail> {
    if p.is_null() {
        Err(Fail::Null(what))
    } else {
        Ok(())
    }
}

/// Checks an output buffer pointer before any work: NULL only with `cap` 0.
pub(crate) fn need_buf(p: *mut u8, cap: usize, what: &'static str) -> Result<(), Fail> {
    if p.is_null() && cap != 0 {
        Err(Fail::Null(what))
    } else {
        Ok(())
    }
}

/// Writes `v` through an output pointer checked with [`need_out`].
///
/// # Safety
/// `p` is non-NULL, aligned and writable.
pub(crate) unsafe fn put<T>(p: *mut T, v: T) {
    // SAFETY: the caller checked `p` and promises it is writable.
    unsafe { p.write(v) }
}

/// Copies `data` into the caller's buffer `out` of `cap` bytes and its
/// length into `*out_len`; if `cap` is too small, writes only the size
/// needed to `*out_len` and fails with `STRONGROOM_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `out_len` is non-NULL and writable; `out` points to `cap` writable
/// bytes (or is NULL with `cap` 0).
pub(crate) unsafe fn copy_out(
    data: &[u8],
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
    what: &'static str,
) -> Result<(), Fail> {
    // SAFETY: the caller checked `out_len`.
    unsafe { out_len.write(data.len()) };
    if cap < data.len() {
        return Err(Fail::Small(what, data.len()));
    }
    if !data.is_empty() {
        // SAFETY: `cap >= data.len() > 0` so `out` is non-NULL (checked by
        // `need_buf`) and holds enough writable bytes; no overlap with our data.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), out, data.len()) };
    }
    Ok(())
}
