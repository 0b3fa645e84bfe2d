//! Field tokens in their text form (`sr1.` + base64url), for TEXT
//! columns: encrypt to text and decrypt from text in one call, size the
//! text, and convert between the binary and the text form.

use crate::field::{CForm, c_form, strongroom_field_cipher, to_value, token_bound};
use crate::status::{Fail, boundary, strongroom_status};
use crate::util::{bytes, c_text, copy_out, copy_text_out, handle, need_buf, need_out, opt_bytes, put};
use std::ffi::c_char;
use strongroom::field::{Token, decode_text, encode_text, inspect};

/// The length of the text form of a binary token of `len` bytes: the
/// 4-byte prefix `sr1.` and unpadded base64url.
fn text_len(len: usize) -> Option<usize> {
    len.checked_mul(4)?.checked_add(2).map(|n| n / 3 + 4)
}

/// A text token given as `len` bytes: UTF-8 checked (any other byte
/// cannot be part of a token).
///
/// # Safety
/// As [`bytes`].
unsafe fn text_arg<'a>(p: *const c_char, len: usize, what: &'static str) -> Result<&'a str, Fail> {
    // SAFETY: the caller's promise, passed on.
    let b = unsafe { bytes(p.cast(), len, what)? };
    std::str::from_utf8(b).map_err(|_| Fail::Utf8(what))
}

/// Writes to `*bound` a buffer size that always holds the text token of a
/// value of `value_len` bytes (in its C form) in this column, with its NUL
/// terminator.
///
/// # Safety
/// `cipher` is a live handle; `bound` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_token_text_bound(
    cipher: *const strongroom_field_cipher,
    value_len: usize,
    bound: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let _c = unsafe { handle(cipher, "cipher")? };
        need_out(bound, "bound")?;
        let n = text_len(token_bound(value_len)?)
            .and_then(|n| n.checked_add(1))
            .filter(|n| *n <= isize::MAX as usize)
            .ok_or(Fail::TooLarge("value_len", value_len))?;
        // SAFETY: checked non-NULL above.
        unsafe { put(bound, n) };
        Ok(())
    })
}

/// Encrypts one value as `strongroom_field_encrypt` does, into the text
/// form of its token (`sr1.` + base64url), NUL-terminated, for a TEXT
/// column: `*out_len` receives the text's length without the terminator,
/// and `cap` must be at least that plus 1 (else only `*out_len` is written
/// and `STRONGROOM_BUFFER_TOO_SMALL` returned;
/// `strongroom_field_token_text_bound` gives a size that always fits).
///
/// ```c
/// char tok[256]; size_t tok_len;
/// strongroom_field_encrypt_text(email, (const uint8_t *)"alice@example.com", 17,
///                               (const uint8_t *)"row-17", 6, tok, sizeof tok, &tok_len);
/// sqlite3_bind_text(stmt, 1, tok, (int)tok_len, SQLITE_TRANSIENT);
/// ```
///
/// # Safety
/// As `strongroom_field_encrypt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_encrypt_text(
    cipher: *const strongroom_field_cipher,
    value: *const u8,
    value_len: usize,
    row: *const u8,
    row_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, v, r) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                bytes(value, value_len, "value")?,
                opt_bytes(row, row_len, "row_len")?,
            )
        };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        let v = to_value(c.spec().value_type, v)?;
        let token = c
            .encrypt_ref(Some(v), r)?
            .ok_or(Fail::Internal("no token for a value"))?;
        // SAFETY: `out`/`cap`/`out_len` checked above.
        unsafe { copy_text_out(token.to_text().as_bytes(), out, cap, out_len, "out") }
    })
}

/// Encrypts SQL NULL as `strongroom_field_encrypt_null` does, in the text
/// form: in a column that keeps NULL as NULL, `*out_len` is set to 0 and
/// `out` to the empty string (store NULL); with `hide_null`, a text token
/// is written as by `strongroom_field_encrypt_text`.
///
/// # Safety
/// As `strongroom_field_encrypt_null`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_encrypt_null_text(
    cipher: *const strongroom_field_cipher,
    row: *const u8,
    row_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, r) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                opt_bytes(row, row_len, "row_len")?,
            )
        };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        let text = c
            .encrypt(None, r)?
            .as_ref()
            .map(Token::to_text)
            .unwrap_or_default();
        // SAFETY: `out`/`cap`/`out_len` checked above.
        unsafe { copy_text_out(text.as_bytes(), out, cap, out_len, "out") }
    })
}

/// Decrypts a token in its text form (`text_len` bytes, as a TEXT column
/// holds it; no NUL needed) with the row key it was encrypted with (`row`
/// NULL: none), as `strongroom_field_decrypt` does: the value in the C
/// form of the column's type goes to `out`, its length to `*out_len`, and
/// `*is_null` tells a hidden NULL. A buffer of `text_len` bytes always
/// suffices. A text that is not a token gives `STRONGROOM_MALFORMED` (or
/// `STRONGROOM_INVALID_UTF8`, `STRONGROOM_TRUNCATED`, ...), then the
/// errors of `strongroom_field_decrypt`.
///
/// # Safety
/// `cipher` live; `text` points to `text_len` bytes; `row` NULL or
/// `row_len` bytes; `out` `cap` writable bytes (or NULL with `cap` 0);
/// `out_len` and `is_null` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_decrypt_text(
    cipher: *const strongroom_field_cipher,
    text: *const c_char,
    text_len: usize,
    row: *const u8,
    row_len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
    is_null: *mut bool,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, t, r) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                text_arg(text, text_len, "text")?,
                opt_bytes(row, row_len, "row_len")?,
            )
        };
        need_out(out_len, "out_len")?;
        need_out(is_null, "is_null")?;
        need_buf(out, cap, "out")?;
        let v = c.decrypt_text(t, r)?;
        let plain = match &v {
            Some(v) => c_form(v)?,
            None => CForm::Raw(&[]),
        };
        // SAFETY: `out`/`cap`/`out_len` checked above.
        unsafe { copy_out(plain.bytes(), out, cap, out_len, "out")? };
        // SAFETY: checked non-NULL above.
        unsafe { put(is_null, v.is_none()) };
        Ok(())
    })
}

/// Writes the text form of a binary token (`sr1.` + base64url),
/// NUL-terminated, into `out`. `*out_len` receives its length without the
/// terminator; `cap` must be at least that plus 1 (else
/// `STRONGROOM_BUFFER_TOO_SMALL`, with `*out_len` set).
///
/// # Safety
/// `token` points to `token_len` bytes; `out` `cap` writable bytes (or
/// NULL with `cap` 0); `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_token_to_text(
    token: *const u8,
    token_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let t = unsafe { bytes(token, token_len, "token")? };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        inspect(t)?;
        // SAFETY: checked above.
        unsafe { copy_text_out(encode_text(t).as_bytes(), out, cap, out_len, "out") }
    })
}

/// Decodes the text form of a token (NUL-terminated) into binary `out`;
/// `*out_len` receives its length (at most `strlen(text)`). For text with
/// a length (a TEXT column's bytes) use `strongroom_token_from_text_n`.
///
/// # Safety
/// `text` is NUL-terminated; `out` `cap` writable bytes (or NULL with
/// `cap` 0); `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_token_from_text(
    text: *const c_char,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let s = unsafe { c_text(text, "text")? };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        let b = decode_text(s)?;
        // SAFETY: checked above.
        unsafe { copy_out(&b, out, cap, out_len, "out") }
    })
}

/// Decodes the text form of a token given as `text_len` bytes (no NUL
/// needed; a NUL inside is not part of any token) into binary `out`;
/// `*out_len` receives its length (at most `text_len`). Errors as
/// `strongroom_token_from_text`.
///
/// # Safety
/// `text` points to `text_len` bytes; `out` `cap` writable bytes (or NULL
/// with `cap` 0); `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_token_from_text_n(
    text: *const c_char,
    text_len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let s = unsafe { text_arg(text, text_len, "text")? };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        let b = decode_text(s)?;
        // SAFETY: checked above.
        unsafe { copy_out(&b, out, cap, out_len, "out") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_len_is_the_encoded_length() {
        for n in 0..200 {
            let token = vec![0u8; n];
            assert_eq!(text_len(n), Some(encode_text(&token).len()), "{n} bytes");
        }
        assert_eq!(text_len(usize::MAX), None);
    }
}
