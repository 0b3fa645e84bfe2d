//! Status codes, their names and messages, the thread's last error, and the
//! boundary every exported function runs inside (panics caught, failures
//! turned into a status and a message).

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use strongroom::error::{ErrorCode, TABLE, codes};

/// The result of every fallible function: 0 (`STRONGROOM_OK`) or a number
/// of the error table (docs/ERRORS.md). Numbers never change meaning and
/// are never reused; new errors get new numbers, so treat an unknown
/// number as a failure of its hundred's class.
pub type strongroom_status = u32;

/// Success.
pub const STRONGROOM_OK: strongroom_status = 0;
/// A panic was caught at the C boundary (a bug in strongroom; please report it).
pub const STRONGROOM_PANIC: strongroom_status = 101;
/// An internal error (a bug, or a handle damaged by an earlier panic).
pub const STRONGROOM_INTERNAL: strongroom_status = 102;
/// An argument is invalid (see the last error for which and why).
pub const STRONGROOM_INVALID_ARGUMENT: strongroom_status = 201;
/// A value does not parse as the column's type.
pub const STRONGROOM_INVALID_VALUE: strongroom_status = 202;
/// A message is too long for the format.
pub const STRONGROOM_MESSAGE_TOO_LONG: strongroom_status = 203;
/// A value or token is of another type than the column's.
pub const STRONGROOM_FIELD_TYPE: strongroom_status = 204;
/// Too many recipients for one file.
pub const STRONGROOM_TOO_MANY_RECIPIENTS: strongroom_status = 205;
/// A rewrap would drop a token's row binding.
pub const STRONGROOM_ROW_BINDING_WOULD_DROP: strongroom_status = 206;
/// A passphrase stanza of the file or keyring asks for more Argon2id work
/// than the call's budget allows, so it was not tried (see
/// `strongroom_kdf_budget`; the last error names the cost asked).
pub const STRONGROOM_KDF_BUDGET_EXCEEDED: strongroom_status = 220;
/// A secret source (environment variable, file, descriptor) holds no secret.
pub const STRONGROOM_SECRET_MISSING: strongroom_status = 230;
/// A secret is longer than the library accepts (64 KiB).
pub const STRONGROOM_SECRET_TOO_LONG: strongroom_status = 231;
/// A secret is not valid UTF-8.
pub const STRONGROOM_SECRET_NOT_UTF8: strongroom_status = 232;
/// A pointer argument that must not be NULL was NULL.
pub const STRONGROOM_NULL_ARGUMENT: strongroom_status = 250;
/// An output buffer is too small; the size needed was written where the
/// function documents it, and nothing else was written.
pub const STRONGROOM_BUFFER_TOO_SMALL: strongroom_status = 251;
/// A text argument (passphrase, table or column name, value) is not UTF-8.
pub const STRONGROOM_INVALID_UTF8: strongroom_status = 252;
/// The handle is in the wrong state for this call (update after finish, ...).
pub const STRONGROOM_INVALID_STATE: strongroom_status = 253;
/// A length or count argument is larger than any object can be (above
/// `PTRDIFF_MAX`): refused before any memory is touched.
pub const STRONGROOM_LENGTH_TOO_LARGE: strongroom_status = 260;
/// An input/output error.
pub const STRONGROOM_IO: strongroom_status = 301;
/// A file or directory was not found.
pub const STRONGROOM_NOT_FOUND: strongroom_status = 302;
/// Permission denied.
pub const STRONGROOM_PERMISSION_DENIED: strongroom_status = 303;
/// Not a strongroom file or keyring (bad magic bytes).
pub const STRONGROOM_BAD_MAGIC: strongroom_status = 401;
/// Unsupported format version.
pub const STRONGROOM_UNSUPPORTED_VERSION: strongroom_status = 402;
/// Unsupported cipher suite.
pub const STRONGROOM_UNSUPPORTED_SUITE: strongroom_status = 403;
/// Malformed header, keyring or token.
pub const STRONGROOM_MALFORMED: strongroom_status = 404;
/// Truncated input.
pub const STRONGROOM_TRUNCATED: strongroom_status = 405;
/// Trailing data after the final chunk.
pub const STRONGROOM_TRAILING_DATA: strongroom_status = 406;
/// Argon2id parameters outside the accepted bounds.
pub const STRONGROOM_KDF_PARAMS: strongroom_status = 407;
/// The keyring holds a protector of a kind this version does not know: it
/// opens with the others but cannot be changed.
pub const STRONGROOM_UNKNOWN_PROTECTOR_KIND: strongroom_status = 410;
/// The file header's MAC does not match.
pub const STRONGROOM_HEADER_MAC_MISMATCH: strongroom_status = 501;
/// The payload's key commitment does not match.
pub const STRONGROOM_COMMITMENT_MISMATCH: strongroom_status = 502;
/// A payload chunk failed authentication.
pub const STRONGROOM_CHUNK_AUTH_FAILED: strongroom_status = 503;
/// A file stanza failed authentication.
pub const STRONGROOM_STANZA_AUTH_FAILED: strongroom_status = 504;
/// The keyring failed authentication.
pub const STRONGROOM_KEYRING_CORRUPT: strongroom_status = 505;
/// A field token failed authentication (tampered, other column or row).
pub const STRONGROOM_FIELD_AUTH_FAILED: strongroom_status = 506;
/// A token's mode is not accepted by the column.
pub const STRONGROOM_MODE_NOT_ACCEPTED: strongroom_status = 507;
/// A token read with a row key binds no row.
pub const STRONGROOM_ROW_BINDING_MISSING: strongroom_status = 508;
/// The keyring file is older than a state of it seen before (rollback).
pub const STRONGROOM_KEYRING_ROLLED_BACK: strongroom_status = 510;
/// The keyring file is in an older format than seen before (downgrade).
pub const STRONGROOM_KEYRING_DOWNGRADED: strongroom_status = 511;
/// No key given opens the file.
pub const STRONGROOM_NO_MATCHING_KEY: strongroom_status = 601;
/// Wrong passphrase.
pub const STRONGROOM_WRONG_PASSPHRASE: strongroom_status = 602;
/// Wrong recovery key.
pub const STRONGROOM_WRONG_RECOVERY_KEY: strongroom_status = 603;
/// A mistyped recovery key (its check digits do not match).
pub const STRONGROOM_INVALID_RECOVERY_KEY: strongroom_status = 604;
/// Unknown key version.
pub const STRONGROOM_UNKNOWN_KEY_VERSION: strongroom_status = 605;
/// The key version cannot be used for this (disabled, destroyed, not primary).
pub const STRONGROOM_KEY_VERSION_UNUSABLE: strongroom_status = 606;
/// The data belongs to another keyring.
pub const STRONGROOM_WRONG_KEYRING: strongroom_status = 607;
/// The destination already exists.
pub const STRONGROOM_ALREADY_EXISTS: strongroom_status = 701;
/// The keyring or file is locked or being changed by another process.
pub const STRONGROOM_LOCKED: strongroom_status = 702;
/// The destination is a symbolic link (refused).
pub const STRONGROOM_DESTINATION_IS_SYMLINK: strongroom_status = 703;
/// Upgrading the keyring needs the secrets of these protectors (or their removal).
pub const STRONGROOM_PROTECTORS_NEED_UPGRADE: strongroom_status = 704;
/// The keyring is in an older format: upgrade it before encrypting with it or changing it.
pub const STRONGROOM_KEYRING_NEEDS_UPGRADE: strongroom_status = 710;
/// The operation was cancelled; no output was left behind.
pub const STRONGROOM_CANCELLED: strongroom_status = 801;

/// Why a call failed, before it becomes a status and a message.
pub(crate) enum Fail {
    /// An error of the core.
    Core(strongroom::Error),
    /// A NULL pointer where one is not allowed (the argument's name).
    Null(&'static str),
    /// A NULL data pointer in item `.1` of the array `.0` of a batch.
    NullItem(&'static str, usize),
    /// An output buffer too small (what, and the bytes needed).
    Small(&'static str, usize),
    /// An output array too short (what, and the entries needed).
    SmallArray(&'static str, usize),
    /// A length above `isize::MAX` (what, and the length given).
    TooLarge(&'static str, usize),
    /// Text that is not UTF-8 (the argument's name).
    Utf8(&'static str),
    /// A call in the wrong state (what is wrong).
    State(&'static str),
    /// A bug or a poisoned lock.
    Internal(&'static str),
}

impl From<strongroom::Error> for Fail {
    /// A core error that travelled inside an I/O error (raised by a C
    /// callback, say) is taken out, so its own status applies.
    fn from(e: strongroom::Error) -> Self {
        match e {
            strongroom::Error::Io(io) => Fail::Core(strongroom::error::from_io(io)),
            other => Fail::Core(other),
        }
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::Core(strongroom::error::from_io(e))
    }
}

/// `Fail::Core(InvalidArgument(..))`.
pub(crate) fn invalid(msg: impl Into<String>) -> Fail {
    Fail::Core(strongroom::Error::InvalidArgument(msg.into()))
}

impl Fail {
    fn describe(self) -> (strongroom_status, String) {
        match self {
            Fail::Core(e) => (e.code(), full_message(&e)),
            Fail::Null(what) => (codes::NULL_ARGUMENT.code, format!("{what} is NULL")),
            Fail::NullItem(what, i) => (
                codes::NULL_ARGUMENT.code,
                format!("{what}[{i}].data is NULL (and {what}[{i}].is_null is false)"),
            ),
            Fail::Small(what, needed) => (
                codes::BUFFER_TOO_SMALL.code,
                format!("{what} is too small: {needed} bytes needed"),
            ),
            Fail::SmallArray(what, needed) => (
                codes::BUFFER_TOO_SMALL.code,
                format!("{what} is too small: {needed} entries needed"),
            ),
            Fail::TooLarge(what, len) => (
                codes::LENGTH_TOO_LARGE.code,
                format!(
                    "{what} is {len}, larger than any object can be (at most {})",
                    isize::MAX
                ),
            ),
            Fail::Utf8(what) => (codes::INVALID_UTF8.code, format!("{what} is not valid UTF-8")),
            Fail::State(what) => (codes::INVALID_STATE.code, what.to_string()),
            Fail::Internal(what) => (codes::INTERNAL.code, what.to_string()),
        }
    }
}

/// The message of a core error with every cause it names (an I/O error
/// inside, say), each once: the whole story, as the core tells it (file
/// names included where the core gives them).
pub(crate) fn full_message(e: &strongroom::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let part = c.to_string();
        if !part.is_empty() && !msg.contains(&part) {
            msg.push_str(": ");
            msg.push_str(&part);
        }
        cause = c.source();
    }
    msg
}

thread_local! {
    /// The detailed message of this thread's last failure.
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last(msg: String) {
    // `try_with`: during thread teardown there is nowhere to keep it.
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = msg;
        }
    });
}

pub(crate) fn record(fail: Fail) -> strongroom_status {
    let (code, msg) = fail.describe();
    set_last(msg);
    code
}

/// Runs `f` behind the panic boundary: `Ok` gives `STRONGROOM_OK`, a
/// failure its status (and the thread's last error), a panic
/// `STRONGROOM_PANIC`. Nothing unwinds into C.
pub(crate) fn boundary(f: impl FnOnce() -> Result<(), Fail>) -> strongroom_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => STRONGROOM_OK,
        Ok(Err(fail)) => record(fail),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown payload".into());
            // The payload is dropped inside the boundary too.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            set_last(format!("a panic was caught at the C boundary: {what}"));
            codes::PANIC.code
        }
    }
}

/// Like [`boundary`] for functions that return a value instead of a status:
/// a panic gives `fallback`.
pub(crate) fn boundary_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Name and message of every status, NUL-terminated, built once.
struct Strings {
    rows: Vec<(u32, CString, CString)>,
    unknown_name: CString,
    unknown_message: CString,
}

fn strings() -> &'static Strings {
    static S: OnceLock<Strings> = OnceLock::new();
    S.get_or_init(|| {
        let c = |s: &str| CString::new(s).unwrap_or_default();
        let mut rows = vec![(0, c("OK"), c("success"))];
        rows.extend(
            TABLE
                .iter()
                .map(|e: &&ErrorCode| (e.code, c(e.name), c(e.summary))),
        );
        Strings {
            rows,
            unknown_name: c("Unknown"),
            unknown_message: c("unknown status"),
        }
    })
}

/// The stable name of a status, e.g. `"ChunkAuthFailed"` for 503, `"OK"`
/// for 0, and `"Unknown"` for a number not in the table.
///
/// The string is static (never free it) and NUL-terminated. Never fails.
///
/// ```c
/// printf("%s\n", strongroom_status_name(STRONGROOM_WRONG_PASSPHRASE)); // WrongPassphrase
/// ```
#[unsafe(no_mangle)]
pub extern "C" fn strongroom_status_name(status: strongroom_status) -> *const c_char {
    boundary_value(c"Unknown".as_ptr(), || {
        let s = strings();
        s.rows
            .iter()
            .find(|r| r.0 == status)
            .map_or(s.unknown_name.as_ptr(), |r| r.1.as_ptr())
    })
}

/// A static one-line description of a status, e.g. `"wrong passphrase"`,
/// `"success"` for 0, and `"unknown status"` for a number not in the table.
///
/// The string is static (never free it) and NUL-terminated. Never fails.
/// For the details of a failure that just happened use
/// `strongroom_last_error`.
#[unsafe(no_mangle)]
pub extern "C" fn strongroom_status_message(status: strongroom_status) -> *const c_char {
    boundary_value(c"unknown status".as_ptr(), || {
        let s = strings();
        s.rows
            .iter()
            .find(|r| r.0 == status)
            .map_or(s.unknown_message.as_ptr(), |r| r.2.as_ptr())
    })
}

/// Copies the calling thread's detailed message of its last failed call
/// (NUL-terminated) into `out`.
///
/// The message is kept per thread until the next failing call on that
/// thread (successful calls leave it alone, like `errno`); it is empty if
/// nothing failed yet. It names what went wrong but never contains secrets.
///
/// `*out_len` receives the message's length without its terminator, so
/// `out` must hold `*out_len + 1` bytes. If `cap` is smaller, only
/// `*out_len` is written and `STRONGROOM_BUFFER_TOO_SMALL` returned (the
/// stored message stays as it was). `out` may be NULL only when `cap` is 0,
/// which makes the call a size query; NULL with a non-zero `cap` is
/// `STRONGROOM_NULL_ARGUMENT`, as is a NULL `out_len`.
///
/// ```c
/// char msg[256]; size_t n;
/// if (strongroom_file_decrypt(...) != STRONGROOM_OK &&
///     strongroom_last_error(msg, sizeof msg, &n) == STRONGROOM_OK)
///     fprintf(stderr, "decrypt: %s\n", msg);
/// ```
///
/// # Safety
/// `out` must point to `cap` writable bytes (or be NULL with `cap` 0);
/// `out_len` must point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_last_error(
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    // Not through `boundary`: this call must not replace the message it reports.
    let r = catch_unwind(AssertUnwindSafe(|| {
        if out_len.is_null() || (out.is_null() && cap != 0) {
            return STRONGROOM_NULL_ARGUMENT;
        }
        if cap > isize::MAX as usize {
            return STRONGROOM_LENGTH_TOO_LARGE;
        }
        let msg = LAST
            .try_with(|l| l.try_borrow().map(|s| s.clone()).unwrap_or_default())
            .unwrap_or_default();
        let bytes: Vec<u8> = msg.bytes().map(|b| if b == 0 { b'?' } else { b }).collect();
        // SAFETY: `out_len` is non-NULL and the caller promises it is writable.
        unsafe { out_len.write(bytes.len()) };
        if cap <= bytes.len() {
            return STRONGROOM_BUFFER_TOO_SMALL;
        }
        // SAFETY: `out` is non-NULL (cap > 0) with `cap > bytes.len()`
        // writable bytes (the caller's promise); the source is our own
        // vector, so no overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.cast::<u8>(), bytes.len());
            out.add(bytes.len()).write(0);
        }
        STRONGROOM_OK
    }));
    r.unwrap_or(STRONGROOM_PANIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    /// The header's `#define STRONGROOM_<NAME> <number>` lines, one per row
    /// of the core's error table, with the same number (and nothing else).
    #[test]
    fn header_constants_match_the_error_table() {
        let header = include_str!("../include/strongroom.h");
        let mut defined = std::collections::BTreeMap::new();
        for line in header.lines() {
            let mut w = line.split_whitespace();
            if w.next() != Some("#define") {
                continue;
            }
            let (Some(name), Some(value)) = (w.next(), w.next()) else {
                continue;
            };
            if let Ok(v) = value.parse::<u32>() {
                defined.insert(name.to_string(), v);
            }
        }
        assert_eq!(defined.get("STRONGROOM_OK"), Some(&0));
        for row in TABLE {
            let name = format!("STRONGROOM_{}", screaming(row.name));
            assert_eq!(defined.get(&name), Some(&row.code), "{name} in the header");
        }
        assert!(TABLE.iter().any(|r| r.code == STRONGROOM_CANCELLED));
    }

    fn screaming(camel: &str) -> String {
        let mut out = String::new();
        for (i, ch) in camel.chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_uppercase());
        }
        out
    }

    /// An error with a cause of its own, as an I/O error that names a file
    /// may carry.
    #[derive(Debug)]
    struct Opening(std::io::Error);

    impl std::fmt::Display for Opening {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot open /srv/keys/app.srk")
        }
    }

    impl std::error::Error for Opening {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_detail_message_is_the_core_error_with_its_causes() {
        let cause = std::io::Error::from(std::io::ErrorKind::NotFound);
        let cause_text = cause.to_string();
        let e = strongroom::Error::Io(std::io::Error::new(std::io::ErrorKind::NotFound, Opening(cause)));
        let status = boundary(|| Err(Fail::from(e)));
        assert_eq!(status, 302);
        let mut buf = [0 as c_char; 256];
        let mut len = 0usize;
        // SAFETY: a valid buffer and length pointer.
        assert_eq!(
            unsafe { strongroom_last_error(buf.as_mut_ptr(), buf.len(), &mut len) },
            STRONGROOM_OK
        );
        // SAFETY: the function wrote a NUL-terminated string.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(text, format!("cannot open /srv/keys/app.srk: {cause_text}"));
        // A cause the message already contains is not repeated.
        let plain = strongroom::Error::Io(std::io::Error::other("disk full"));
        assert_eq!(full_message(&plain), "disk full");
    }

    #[test]
    fn names_and_messages_for_any_number() {
        let name = |n| {
            // SAFETY: the function returns a static NUL-terminated string.
            unsafe { CStr::from_ptr(strongroom_status_name(n)) }
                .to_str()
                .unwrap()
        };
        let msg = |n| {
            // SAFETY: as above.
            unsafe { CStr::from_ptr(strongroom_status_message(n)) }
                .to_str()
                .unwrap()
        };
        assert_eq!(name(0), "OK");
        assert_eq!(name(503), "ChunkAuthFailed");
        assert_eq!(msg(602), "wrong passphrase");
        for n in [1, 99, 999, u32::MAX] {
            assert_eq!(name(n), "Unknown");
            assert_eq!(msg(n), "unknown status");
        }
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = boundary(|| panic!("boom"));
        assert_eq!(status, STRONGROOM_PANIC);
        let mut buf = [0 as c_char; 128];
        let mut need = 0usize;
        // SAFETY: a valid buffer and size pointer.
        let s = unsafe { strongroom_last_error(buf.as_mut_ptr(), buf.len(), &mut need) };
        assert_eq!(s, STRONGROOM_OK);
        // SAFETY: the function wrote a NUL-terminated string.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert!(text.contains("boom"), "{text}");
        assert_eq!(need, text.len());
        // A short buffer: the size, nothing copied, the message kept.
        let mut small = [1 as c_char; 4];
        // SAFETY: a valid buffer of 4 bytes.
        let s = unsafe { strongroom_last_error(small.as_mut_ptr(), small.len(), &mut need) };
        assert_eq!(s, STRONGROOM_BUFFER_TOO_SMALL);
        assert_eq!(small, [1; 4]);
        assert_eq!(need, text.len());
        assert_eq!(boundary_value(7, || panic!("again")), 7);
    }
}
