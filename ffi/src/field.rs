//! Field encryption: a cipher per column; encrypt, decrypt and index
//! single values in binary tokens; token rewrap and inspection. (Text
//! tokens are in `text.rs`, batches in `batch.rs`.)

use crate::keyring::strongroom_keyring;
use crate::status::{Fail, boundary, boundary_value, invalid, strongroom_status};
use crate::util::{bytes, c_text, copy_out, handle, need_buf, need_out, opt_bytes, put};
use std::ffi::c_char;
use strongroom::SecretKey;
use strongroom::field::{
    ColumnSpec, FieldCipher, Mode, Normalizer, PurposeKeys, Suite, Token, Value, ValueRef, ValueType, inspect,
};
use zeroize::Zeroizing;

/// Value type of a column (`strongroom_column_spec.value_type`).
///
/// Values cross the C API as bytes: `BYTES` as the raw bytes, `TEXT` as
/// UTF-8, every other type in its canonical text form (UTF-8, not
/// NUL-terminated): `INT` `-42`, `FLOAT` `1.5` / `NaN` / `inf`, `BOOL`
/// `true` / `false`, `DATE` `2024-02-29`, `TIMESTAMP`
/// `2024-02-29T12:00:00.5Z` (UTC; offsets accepted), `DECIMAL` `-12.50`.
/// Decryption gives the same forms back (canonical: `t` reads as `true`,
/// an offset is converted to `Z`).
pub type strongroom_value_type = u32;
/// Arbitrary bytes (BLOB).
pub const STRONGROOM_TYPE_BYTES: strongroom_value_type = 1;
/// UTF-8 text.
pub const STRONGROOM_TYPE_TEXT: strongroom_value_type = 2;
/// 64-bit signed integer.
pub const STRONGROOM_TYPE_INT: strongroom_value_type = 3;
/// 64-bit float (bits round-trip).
pub const STRONGROOM_TYPE_FLOAT: strongroom_value_type = 4;
/// Boolean.
pub const STRONGROOM_TYPE_BOOL: strongroom_value_type = 5;
/// Calendar date.
pub const STRONGROOM_TYPE_DATE: strongroom_value_type = 6;
/// UTC timestamp with microseconds.
pub const STRONGROOM_TYPE_TIMESTAMP: strongroom_value_type = 7;
/// Exact decimal as text (`-?[0-9]+(.[0-9]+)?`).
pub const STRONGROOM_TYPE_DECIMAL: strongroom_value_type = 8;

/// Encryption mode of a column.
pub type strongroom_mode = u32;
/// Random mode (XAES-256-GCM): equal values give unrelated tokens; binds rows.
pub const STRONGROOM_MODE_RANDOM: strongroom_mode = 1;
/// Deterministic mode (AES-SIV): equal values give equal tokens (reveals
/// equality); no row binding.
pub const STRONGROOM_MODE_DETERMINISTIC: strongroom_mode = 2;

/// Normaliser applied before a blind index is computed.
pub type strongroom_normalizer = u32;
/// The value as is.
pub const STRONGROOM_NORMALIZE_NONE: strongroom_normalizer = 0;
/// Trimmed and lower-cased (text columns).
pub const STRONGROOM_NORMALIZE_TRIM_LOWERCASE: strongroom_normalizer = 1;
/// NFKC and Unicode case folding (text columns).
pub const STRONGROOM_NORMALIZE_NFKC_CASEFOLD: strongroom_normalizer = 2;
/// Digits only, after NFKC (text columns, e.g. phone numbers).
pub const STRONGROOM_NORMALIZE_DIGITS_ONLY: strongroom_normalizer = 3;

/// The settings of one encrypted column. Zero-initialise, then set at
/// least `value_type` and `mode`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_column_spec {
    /// One of the `STRONGROOM_TYPE_*` constants.
    pub value_type: strongroom_value_type,
    /// `STRONGROOM_MODE_RANDOM` or `STRONGROOM_MODE_DETERMINISTIC`.
    pub mode: strongroom_mode,
    /// Encrypt SQL NULL as a token of a value's length instead of keeping NULL.
    pub hide_null: bool,
    /// Length of the blind index in bytes (2 to 32), or 0 for none.
    pub blind_index_len: u32,
    /// Normaliser of the blind index (`STRONGROOM_NORMALIZE_*`).
    pub normalizer: strongroom_normalizer,
    /// During a migration between modes: the other mode whose tokens the
    /// column also reads, or 0.
    pub also_accept_mode: strongroom_mode,
    /// Random mode: give every token of a batch its own random nonce
    /// prefix, so that nothing links the tokens of one batch call (they
    /// otherwise share one per 1024 values). Costs one key derivation per
    /// value; refused (`STRONGROOM_INVALID_ARGUMENT`) in deterministic mode.
    pub unlinkable_batches: bool,
}

fn value_type(t: strongroom_value_type) -> Result<ValueType, Fail> {
    Ok(match t {
        STRONGROOM_TYPE_BYTES => ValueType::Bytes,
        STRONGROOM_TYPE_TEXT => ValueType::Text,
        STRONGROOM_TYPE_INT => ValueType::Int,
        STRONGROOM_TYPE_FLOAT => ValueType::Float,
        STRONGROOM_TYPE_BOOL => ValueType::Bool,
        STRONGROOM_TYPE_DATE => ValueType::Date,
        STRONGROOM_TYPE_TIMESTAMP => ValueType::Timestamp,
        STRONGROOM_TYPE_DECIMAL => ValueType::Decimal,
        other => return Err(invalid(format!("unknown value type {other}"))),
    })
}

fn mode(m: strongroom_mode) -> Result<Mode, Fail> {
    match m {
        STRONGROOM_MODE_RANDOM => Ok(Mode::Random),
        STRONGROOM_MODE_DETERMINISTIC => Ok(Mode::Deterministic),
        other => Err(invalid(format!("unknown mode {other}"))),
    }
}

fn mode_code(m: Mode) -> strongroom_mode {
    match m {
        Mode::Random => STRONGROOM_MODE_RANDOM,
        _ => STRONGROOM_MODE_DETERMINISTIC,
    }
}

fn spec_from(s: &strongroom_column_spec) -> Result<ColumnSpec, Fail> {
    let mut spec = ColumnSpec::new(value_type(s.value_type)?);
    if mode(s.mode)? == Mode::Deterministic {
        spec = spec.deterministic();
    }
    if s.hide_null {
        spec = spec.hide_null();
    }
    if s.unlinkable_batches {
        spec = spec.unlinkable_batches();
    }
    if s.blind_index_len != 0 {
        let n = match s.normalizer {
            STRONGROOM_NORMALIZE_NONE => Normalizer::None,
            STRONGROOM_NORMALIZE_TRIM_LOWERCASE => Normalizer::TrimLowercase,
            STRONGROOM_NORMALIZE_NFKC_CASEFOLD => Normalizer::NfkcCasefold,
            STRONGROOM_NORMALIZE_DIGITS_ONLY => Normalizer::DigitsOnly,
            other => return Err(invalid(format!("unknown normalizer {other}"))),
        };
        spec = spec.with_blind_index(s.blind_index_len as usize, n);
    }
    if s.also_accept_mode != 0 {
        spec = spec.accept_mode(mode(s.also_accept_mode)?);
    }
    Ok(spec)
}

/// `b` as UTF-8 text, checked: ASCII (the common case of database text)
/// by a quick scan, anything else by the full check.
#[inline]
fn utf8(b: &[u8]) -> Option<&str> {
    if b.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(b) })
    } else {
        std::str::from_utf8(b).ok()
    }
}

/// The core's view of a C value of type `ty`: text and bytes borrowed
/// where the caller holds them (no copy), other types parsed from their
/// text form.
pub(crate) fn to_value(ty: ValueType, b: &[u8]) -> Result<ValueRef<'_>, Fail> {
    if ty == ValueType::Bytes {
        return Ok(ValueRef::Bytes(b));
    }
    let s = utf8(b).ok_or(Fail::Utf8("value"))?;
    Ok(match ty {
        ValueType::Text => ValueRef::Text(s),
        // Parsed for its check (and its error), then borrowed as given.
        ValueType::Decimal => {
            Value::parse(ty, s)?;
            ValueRef::Decimal(s)
        }
        _ => match Value::parse(ty, s)? {
            Value::Int(v) => ValueRef::Int(v),
            Value::Float(v) => ValueRef::Float(v),
            Value::Bool(v) => ValueRef::Bool(v),
            Value::Date(v) => ValueRef::Date(v),
            Value::Timestamp(v) => ValueRef::Timestamp(v),
            _ => return Err(Fail::Internal("a scalar type parsed to another type")),
        },
    })
}

/// The C form of a decrypted value: text and bytes as they are (borrowed),
/// other types in their text form (wiped on drop).
pub(crate) enum CForm<'a> {
    Raw(&'a [u8]),
    Text(Zeroizing<String>),
}

impl CForm<'_> {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            CForm::Raw(b) => b,
            CForm::Text(t) => t.as_bytes(),
        }
    }
}

pub(crate) fn c_form(v: &Value) -> Result<CForm<'_>, Fail> {
    if let Some(b) = v.as_bytes() {
        return Ok(CForm::Raw(b));
    }
    if let (ValueType::Text, Some(s)) = (v.value_type(), v.as_str()) {
        return Ok(CForm::Raw(s.as_bytes()));
    }
    Ok(CForm::Text(v.to_text()?))
}

/// The C form of a decrypted value, owned: text and bytes moved out of the
/// value (no copy), other types in their text form. The caller wipes it.
pub(crate) fn into_c_form(v: Value) -> Result<Vec<u8>, Fail> {
    match v.value_type() {
        ValueType::Bytes => v.into_bytes().ok_or(Fail::Internal("bytes without bytes")),
        ValueType::Text => v
            .into_string()
            .map(String::into_bytes)
            .ok_or(Fail::Internal("text without text")),
        _ => Ok(v.to_text()?.as_bytes().to_vec()),
    }
}

/// Encrypts, decrypts and indexes the values of one column. Built once
/// from a keyring (a snapshot of its usable versions: rebuild after a
/// rotation) and freed with `strongroom_field_cipher_free` (wipes the
/// column keys).
///
/// **Threads:** immutable once built; share one between any number of
/// threads and call every function on it concurrently.
pub struct strongroom_field_cipher {
    pub(crate) inner: FieldCipher,
}

/// Builds the cipher of column `column` of table `table` (UTF-8,
/// NUL-terminated; they are bound into every token) from the keyring's
/// usable key versions, into `*out`.
///
/// ```c
/// strongroom_column_spec spec = {0};
/// spec.value_type = STRONGROOM_TYPE_TEXT;
/// spec.mode = STRONGROOM_MODE_RANDOM;
/// spec.blind_index_len = 8;
/// spec.normalizer = STRONGROOM_NORMALIZE_TRIM_LOWERCASE;
/// strongroom_field_cipher *email = NULL;
/// strongroom_field_cipher_new(kr, "users", "email", &spec, &email);
/// ```
///
/// # Safety
/// `keyring` is a live handle; `table` and `column` are NUL-terminated;
/// `spec` is valid; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_cipher_new(
    keyring: *const strongroom_keyring,
    table: *const c_char,
    column: *const c_char,
    spec: *const strongroom_column_spec,
    out: *mut *mut strongroom_field_cipher,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (kr, t, c, s) = unsafe {
            (
                handle(keyring, "keyring")?,
                c_text(table, "table")?,
                c_text(column, "column")?,
                handle(spec, "spec")?,
            )
        };
        need_out(out, "out")?;
        let spec = spec_from(s)?;
        let inner = FieldCipher::new(&*kr.read()?, t, c, spec)?;
        // SAFETY: checked non-NULL above.
        unsafe { put(out, Box::into_raw(Box::new(strongroom_field_cipher { inner }))) };
        Ok(())
    })
}

/// Builds a column cipher from raw purpose keys of one key version
/// `version` (32 bytes each: random-mode, deterministic, blind-index),
/// without a keyring: for test vectors and for keys kept in your own key
/// manager. The keys are copied (and wiped with the cipher).
///
/// # Safety
/// `table` and `column` are NUL-terminated; `spec` is valid; each key
/// points to 32 readable bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_cipher_new_with_keys(
    table: *const c_char,
    column: *const c_char,
    spec: *const strongroom_column_spec,
    version: u32,
    field_key: *const u8,
    deterministic_key: *const u8,
    blind_index_key: *const u8,
    out: *mut *mut strongroom_field_cipher,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (t, c, s, f, d, b) = unsafe {
            (
                c_text(table, "table")?,
                c_text(column, "column")?,
                handle(spec, "spec")?,
                bytes(field_key, 32, "field_key")?,
                bytes(deterministic_key, 32, "deterministic_key")?,
                bytes(blind_index_key, 32, "blind_index_key")?,
            )
        };
        need_out(out, "out")?;
        let key = |k: &[u8]| SecretKey::from_slice(k).ok_or(Fail::Internal("a 32-byte key"));
        let keys = PurposeKeys {
            field: key(f)?,
            deterministic: key(d)?,
            blind_index: key(b)?,
        };
        let inner = FieldCipher::with_keys(t, c, spec_from(s)?, version, vec![(version, keys)])?;
        // SAFETY: checked non-NULL above.
        unsafe { put(out, Box::into_raw(Box::new(strongroom_field_cipher { inner }))) };
        Ok(())
    })
}

/// Frees a column cipher and wipes its keys. NULL is accepted. Never fails.
///
/// # Safety
/// `cipher` is NULL or a live handle that no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_cipher_free(cipher: *mut strongroom_field_cipher) {
    if !cipher.is_null() {
        // SAFETY: created by `Box::into_raw` here and not yet freed.
        boundary_value((), || drop(unsafe { Box::from_raw(cipher) }));
    }
}

/// The size of a binary token of a value of `value_len` bytes (in its C
/// form) at most: the longer suite's overhead on a value padded to 8 bytes.
pub(crate) fn token_bound(value_len: usize) -> Result<usize, Fail> {
    let overhead = Suite::Xaes256Gcm.overhead().max(Suite::Aes256Siv.overhead());
    value_len
        .max(8)
        .checked_add(1 + overhead)
        .filter(|n| *n <= isize::MAX as usize)
        .ok_or(Fail::TooLarge("value_len", value_len))
}

/// Writes to `*bound` a buffer size that always holds the binary token of
/// a value of `value_len` bytes (in its C form) in this column.
///
/// # Safety
/// `cipher` is a live handle; `bound` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_token_bound(
    cipher: *const strongroom_field_cipher,
    value_len: usize,
    bound: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let _c = unsafe { handle(cipher, "cipher")? };
        need_out(bound, "bound")?;
        let n = token_bound(value_len)?;
        // SAFETY: checked non-NULL above.
        unsafe { put(bound, n) };
        Ok(())
    })
}

/// The former name of `strongroom_field_token_bound`, kept so that
/// programs built against 0.1.0 still link; it will go in 1.0.
///
/// # Safety
/// As `strongroom_field_token_bound`.
#[deprecated(note = "use strongroom_field_token_bound")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_token_max_len(
    cipher: *const strongroom_field_cipher,
    value_len: usize,
    max_len: *mut usize,
) -> strongroom_status {
    // SAFETY: the same contract, passed on.
    unsafe { strongroom_field_token_bound(cipher, value_len, max_len) }
}

/// Encrypts one value (`value_len` bytes in the C form of the column's
/// type, see `strongroom_value_type`) bound to an optional row key (`row`
/// NULL: no row binding; random mode only) into the binary token `out`
/// (`cap` bytes). `*out_len` receives the token's length; if `cap` is
/// smaller, only `*out_len` is written and `STRONGROOM_BUFFER_TOO_SMALL`
/// returned (`strongroom_field_token_bound` gives a size that always
/// fits). A value of the wrong form gives `STRONGROOM_INVALID_VALUE`, a
/// row key in a deterministic column `STRONGROOM_INVALID_ARGUMENT`.
///
/// ```c
/// uint8_t tok[256]; size_t tok_len;
/// strongroom_field_encrypt(email, (const uint8_t *)"alice@example.com", 17,
///                          (const uint8_t *)"row-17", 6, tok, sizeof tok, &tok_len);
/// ```
///
/// # Safety
/// `cipher` is live; `value` points to `value_len` bytes (not NULL, even
/// when empty); `row` is NULL or points to `row_len` bytes; `out` points
/// to `cap` writable bytes (or is NULL with `cap` 0); `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_encrypt(
    cipher: *const strongroom_field_cipher,
    value: *const u8,
    value_len: usize,
    row: *const u8,
    row_len: usize,
    out: *mut u8,
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
        unsafe { copy_out(token.as_bytes(), out, cap, out_len, "out") }
    })
}

/// Encrypts SQL NULL. In a column that keeps NULL as NULL (the default)
/// there is no token: `*out_len` is set to 0 (store NULL). With
/// `hide_null`, a token indistinguishable by length from a value's is
/// written, as by `strongroom_field_encrypt`.
///
/// # Safety
/// As `strongroom_field_encrypt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_encrypt_null(
    cipher: *const strongroom_field_cipher,
    row: *const u8,
    row_len: usize,
    out: *mut u8,
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
        let token = c.encrypt(None, r)?;
        let b = token.as_ref().map_or(&[][..], Token::as_bytes);
        // SAFETY: `out`/`cap`/`out_len` checked above.
        unsafe { copy_out(b, out, cap, out_len, "out") }
    })
}

/// Decrypts a binary token with the row key it was encrypted with (`row`
/// NULL: none) into `out` (`cap` bytes), in the C form of the column's
/// type. `*is_null` is set to true for a hidden NULL (then `*out_len` is
/// 0), false otherwise. `*out_len` receives the length; a buffer of
/// `token_len` bytes always suffices; if `cap` is smaller than needed only
/// `*out_len` is written (`STRONGROOM_BUFFER_TOO_SMALL`). The value is
/// copied to `out` only once the token authenticated: a failing call
/// writes nothing there.
///
/// Errors: `STRONGROOM_FIELD_AUTH_FAILED` (tampered, other column, other
/// row), `STRONGROOM_UNKNOWN_KEY_VERSION`, `STRONGROOM_KEY_VERSION_UNUSABLE`
/// (a disabled or destroyed version), `STRONGROOM_MODE_NOT_ACCEPTED`,
/// `STRONGROOM_ROW_BINDING_MISSING`, `STRONGROOM_FIELD_TYPE`, format errors.
///
/// # Safety
/// `cipher` live; `token` points to `token_len` bytes; `row` NULL or
/// `row_len` bytes; `out` `cap` writable bytes (or NULL with `cap` 0);
/// `out_len` and `is_null` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_decrypt(
    cipher: *const strongroom_field_cipher,
    token: *const u8,
    token_len: usize,
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
                bytes(token, token_len, "token")?,
                opt_bytes(row, row_len, "row_len")?,
            )
        };
        need_out(out_len, "out_len")?;
        need_out(is_null, "is_null")?;
        need_buf(out, cap, "out")?;
        let v = c.decrypt(t, r)?;
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

/// Computes the blind index term of a value under the primary version
/// (the column must have a blind index: `STRONGROOM_INVALID_ARGUMENT`
/// otherwise) into `out`; `*out_len` receives its length
/// (`blind_index_len`). Store it next to the token and look rows up with
/// `WHERE idx = ?`.
///
/// # Safety
/// As `strongroom_field_encrypt` without the row.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_index(
    cipher: *const strongroom_field_cipher,
    value: *const u8,
    value_len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (c, v) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                bytes(value, value_len, "value")?,
            )
        };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        let v = to_value(c.spec().value_type, v)?;
        let term = c
            .index_ref(Some(v))?
            .ok_or(Fail::Internal("no index term for a value"))?;
        // SAFETY: `out`/`cap`/`out_len` checked above.
        unsafe { copy_out(term.as_bytes(), out, cap, out_len, "out") }
    })
}

/// Re-encrypts a token under the primary version and the column's mode
/// without returning the plaintext (after a key rotation). A token that is
/// already current is checked and returned unchanged. Sizes as
/// `strongroom_field_encrypt` (`token_len` plus 64 bytes always suffice).
///
/// # Safety
/// As `strongroom_field_decrypt` without `is_null`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_rewrap(
    cipher: *const strongroom_field_cipher,
    token: *const u8,
    token_len: usize,
    row: *const u8,
    row_len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, t, r) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                bytes(token, token_len, "token")?,
                opt_bytes(row, row_len, "row_len")?,
            )
        };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        let new = c.rewrap(t, r)?;
        // SAFETY: `out`/`cap`/`out_len` checked above.
        unsafe { copy_out(new.as_bytes(), out, cap, out_len, "out") }
    })
}

/// Sets `*needs` to whether a token is on another key version or mode
/// than the ones this cipher writes (reads the header only; no key used).
///
/// # Safety
/// `cipher` live; `token` `token_len` bytes; `needs` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_needs_rewrap(
    cipher: *const strongroom_field_cipher,
    token: *const u8,
    token_len: usize,
    needs: *mut bool,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (c, t) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                bytes(token, token_len, "token")?,
            )
        };
        need_out(needs, "needs")?;
        let n = c.needs_rewrap(t)?;
        // SAFETY: checked non-NULL above.
        unsafe { put(needs, n) };
        Ok(())
    })
}

/// What a token's header says (readable without a key).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct strongroom_token_info {
    /// Token format version (1).
    pub version: u8,
    /// `STRONGROOM_MODE_RANDOM` or `STRONGROOM_MODE_DETERMINISTIC`.
    pub mode: strongroom_mode,
    /// Keyring key version that encrypted it.
    pub key_version: u32,
}

/// Reads a binary token's header into `*info` (no key needed). A damaged
/// header gives `STRONGROOM_UNSUPPORTED_VERSION`,
/// `STRONGROOM_UNSUPPORTED_SUITE` or `STRONGROOM_TRUNCATED`.
///
/// ```c
/// strongroom_token_info info;
/// strongroom_token_inspect(tok, tok_len, &info);
/// printf("key version %u\n", info.key_version);
/// ```
///
/// # Safety
/// `token` points to `token_len` bytes; `info` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_token_inspect(
    token: *const u8,
    token_len: usize,
    info: *mut strongroom_token_info,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let t = unsafe { bytes(token, token_len, "token")? };
        need_out(info, "info")?;
        let i = inspect(t)?;
        let v = strongroom_token_info {
            version: i.version,
            mode: mode_code(Mode::of_suite(i.suite)),
            key_version: i.key_version,
        };
        // SAFETY: checked non-NULL above.
        unsafe { put(info, v) };
        Ok(())
    })
}
