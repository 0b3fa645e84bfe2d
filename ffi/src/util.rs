//! Checked conversions of C arguments. Every helper refuses NULL with the
//! argument's name (`STRONGROOM_NULL_ARGUMENT`) instead of dereferencing
//! it, and a length no object can have (above `isize::MAX` bytes, which
//! `std::slice::from_raw_parts` requires) with
//! `STRONGROOM_LENGTH_TOO_LARGE`, before any memory is touched.

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

/// Refuses a count of `T`s that no object can hold: more than
/// `isize::MAX` bytes in all.
pub(crate) fn check_len<T>(count: usize, what: &'static str) -> Result<(), Fail> {
    match count.checked_mul(std::mem::size_of::<T>().max(1)) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(Fail::TooLarge(what, count)),
    }
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
    check_len::<u8>(len, what)?;
    // SAFETY: non-NULL, at most `isize::MAX` bytes, and the caller
    // promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// `len` bytes at `p`, or `None` when `p` is NULL (an optional argument;
/// `len` is then ignored).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn opt_bytes<'a>(
    p: *const u8,
    len: usize,
    what: &'static str,
) -> Result<Option<&'a [u8]>, Fail> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: non-NULL; the caller's promise, passed on.
        Ok(Some(unsafe { bytes(p, len, what)? }))
    }
}

/// `count` entries at `p`, which may be NULL only when `count` is 0.
///
/// # Safety
/// `p` is NULL or points to `count` readable entries that stay unchanged
/// during the call.
pub(crate) unsafe fn array<'a, T>(p: *const T, count: usize, what: &'static str) -> Result<&'a [T], Fail> {
    check_len::<T>(count, what)?;
    if count == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::Null(what));
    }
    // SAFETY: non-NULL, at most `isize::MAX` bytes in all, and the caller
    // promises `count` readable entries.
    Ok(unsafe { std::slice::from_raw_parts(p, count) })
}

/// A NUL-terminated string that must be UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn c_text<'a>(p: *const c_char, what: &'static str) -> Result<&'a str, Fail> {
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
pub(crate) unsafe fn c_path<'a>(p: *const c_char, what: &'static str) -> Result<&'a Path, Fail> {
    if p.is_null() {
        return Err(Fail::Null(what));
    }
    // SAFETY: non-NULL and NUL-terminated (the caller's promise).
    let s = unsafe { CStr::from_ptr(p) };
    Ok(Path::new(std::ffi::OsStr::from_bytes(s.to_bytes())))
}

/// A passphrase given as bytes: copied into wiped memory, UTF-8 checked.
pub(crate) fn c_passphrase(b: &[u8], what: &'static str) -> Result<Passphrase, Fail> {
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

/// Checks an output buffer of `cap` entries before any work: NULL only
/// with `cap` 0, and no more than an object can hold.
pub(crate) fn need_buf<T>(p: *mut T, cap: usize, what: &'static str) -> Result<(), Fail> {
    if p.is_null() && cap != 0 {
        return Err(Fail::Null(what));
    }
    check_len::<T>(cap, what)
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

/// Copies the text `text` (no NUL inside) into the caller's buffer `out`
/// of `cap` bytes, NUL-terminated, and its length without the terminator
/// into `*out_len`; if `cap` cannot hold text and terminator, writes only
/// `*out_len` and fails with `STRONGROOM_BUFFER_TOO_SMALL`.
///
/// # Safety
/// As [`copy_out`].
pub(crate) unsafe fn copy_text_out(
    text: &[u8],
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    what: &'static str,
) -> Result<(), Fail> {
    // SAFETY: the caller checked `out_len`.
    unsafe { out_len.write(text.len()) };
    if cap <= text.len() {
        return Err(Fail::Small(what, text.len() + 1));
    }
    // SAFETY: `cap > text.len()`, so `out` is non-NULL (checked by
    // `need_buf`) and holds the text and its terminator; no overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), out.cast::<u8>(), text.len());
        out.add(text.len()).write(0);
    }
    Ok(())
}
