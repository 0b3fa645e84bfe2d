//! Field encryption: a cipher per column; encrypt, decrypt and index
//! single values and batches; token rewrap, text form and inspection.

use crate::keyring::strongroom_keyring;
use crate::status::{Fail, boundary, boundary_value, invalid, strongroom_status};
use crate::util::{bytes, copy_out, handle, need_buf, need_out, opt_bytes, put, text};
use std::ffi::c_char;
use strongroom::SecretKey;
use strongroom::field::{
    CHUNK, ColumnSpec, FieldCipher, IndexTerm, Mode, Normalizer, PurposeKeys, Suite, Token, Value, ValueRef,
    ValueType, decode_text, encode_text, inspect,
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
fn to_value(ty: ValueType, b: &[u8]) -> Result<ValueRef<'_>, Fail> {
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

/// The core's view of the `count` C values at `values`, read in place; an
/// invalid one fails with its error wrapped in [`strongroom::Error::Batch`]
/// and its position written to `*failed_index` (if not NULL).
///
/// # Safety
/// As [`items`]; `failed_index` is NULL or writable.
unsafe fn batch_values<'a>(
    ty: ValueType,
    values: *const strongroom_item,
    count: usize,
    failed_index: *mut usize,
) -> Result<Vec<Option<ValueRef<'a>>>, Fail> {
    let convert = |i: usize, b: &'a [u8]| to_value(ty, b).map_err(|f| item_fail(i, f, failed_index));
    // SAFETY: the caller's promise, passed on.
    unsafe { map_items(values, count, "values", convert) }
}

/// The failure of a batch call at item `i`: a core error wrapped in
/// [`strongroom::Error::Batch`]; the position written to `*failed_index`
/// (if not NULL), except for a NULL data pointer, which is reported alone.
fn item_fail(i: usize, f: Fail, failed_index: *mut usize) -> Fail {
    match f {
        Fail::Core(e) => batch_fail(
            strongroom::Error::Batch {
                index: i,
                source: Box::new(e),
            },
            failed_index,
        ),
        Fail::Null(what) => Fail::Null(what),
        other => {
            if !failed_index.is_null() {
                // SAFETY: non-NULL and writable (the caller's promise).
                unsafe { put(failed_index, i) };
            }
            other
        }
    }
}

/// The C form of a decrypted value: text and bytes as they are (borrowed),
/// other types in their text form (wiped on drop).
enum CForm<'a> {
    Raw(&'a [u8]),
    Text(Zeroizing<String>),
}

impl CForm<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            CForm::Raw(b) => b,
            CForm::Text(t) => t.as_bytes(),
        }
    }
}

fn c_form(v: &Value) -> Result<CForm<'_>, Fail> {
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
fn into_c_form(v: Value) -> Result<Vec<u8>, Fail> {
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
    inner: FieldCipher,
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
                text(table, "table")?,
                text(column, "column")?,
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
                text(table, "table")?,
                text(column, "column")?,
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

/// Writes to `*max_len` a buffer size that always holds the token of a
/// value of `value_len` bytes (in its C form) in this column.
///
/// # Safety
/// `cipher` is a live handle; `max_len` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_token_max_len(
    cipher: *const strongroom_field_cipher,
    value_len: usize,
    max_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let _c = unsafe { handle(cipher, "cipher")? };
        need_out(max_len, "max_len")?;
        let overhead = Suite::Xaes256Gcm.overhead().max(Suite::Aes256Siv.overhead());
        let n = value_len
            .max(8)
            .checked_add(1 + overhead)
            .ok_or_else(|| invalid("value_len"))?;
        // SAFETY: checked non-NULL above.
        unsafe { put(max_len, n) };
        Ok(())
    })
}

/// Encrypts one value (`value_len` bytes in the C form of the column's
/// type, see `strongroom_value_type`) bound to an optional row key (`row`
/// NULL: no row binding; random mode only) into the binary token `out`
/// (`cap` bytes). `*out_len` receives the token's length; if `cap` is
/// smaller, only `*out_len` is written and `STRONGROOM_BUFFER_TOO_SMALL`
/// returned (`strongroom_field_token_max_len` gives a size that always
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
                opt_bytes(row, row_len),
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
        let (c, r) = unsafe { (&handle(cipher, "cipher")?.inner, opt_bytes(row, row_len)) };
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
/// `*out_len` is written (`STRONGROOM_BUFFER_TOO_SMALL`).
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
                opt_bytes(row, row_len),
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
                opt_bytes(row, row_len),
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

/// Writes the text form of a binary token (`sr1.` + base64url), for TEXT
/// columns, NUL-terminated into `out`. `*out_len` receives its length
/// without the terminator; `cap` must be at least that plus 1 (else
/// `STRONGROOM_BUFFER_TOO_SMALL` with `*out_len` set).
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
        need_buf(out.cast(), cap, "out")?;
        inspect(t)?;
        let mut s = encode_text(t).into_bytes();
        s.push(0);
        // SAFETY: checked above; the NUL is copied with the text.
        unsafe { copy_out(&s, out.cast(), cap, out_len, "out")? };
        // SAFETY: `out_len` checked non-NULL; report the length without the NUL.
        unsafe { put(out_len, s.len() - 1) };
        Ok(())
    })
}

/// Decodes the text form of a token (NUL-terminated) into binary `out`;
/// `*out_len` receives its length (at most `strlen(text)`).
///
/// # Safety
/// `text` is NUL-terminated; `out` `cap` writable bytes (or NULL with
/// `cap` 0); `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_token_from_text(
    text_: *const c_char,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let s = unsafe { text(text_, "text")? };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        let b = decode_text(s)?;
        // SAFETY: checked above.
        unsafe { copy_out(&b, out, cap, out_len, "out") }
    })
}

/// One input of a batch call: a value (or token) of `len` bytes, or SQL
/// NULL when `is_null` (then `data` and `len` are ignored).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_item {
    /// The bytes; must not be NULL unless `is_null`.
    pub data: *const u8,
    /// Length of `data`.
    pub len: usize,
    /// SQL NULL.
    pub is_null: bool,
}

/// One row key of a batch call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strongroom_slice {
    /// The bytes; must not be NULL.
    pub data: *const u8,
    /// Length of `data`.
    pub len: usize,
}

/// The results of a batch call: one entry per input, in input order, read
/// with `strongroom_field_results_get`. Decrypted values in it are wiped
/// by `strongroom_field_results_free`.
///
/// **Threads:** immutable; may be read from several threads at once.
pub struct strongroom_field_results {
    items: Entries,
}

/// The entries of a results handle, as the batch call made them (tokens
/// and terms are kept as the core returned them: no second copy).
enum Entries {
    /// An encrypting batch: a token, or none for a kept NULL.
    Tokens(Vec<Option<Token>>),
    /// An indexing batch: a term, or none for a kept NULL.
    Terms(Vec<Option<IndexTerm>>),
    /// Entries with a status of their own (decryption, rewrap).
    Items(Vec<ResultItem>),
}

impl Entries {
    fn len(&self) -> usize {
        match self {
            Entries::Tokens(v) => v.len(),
            Entries::Terms(v) => v.len(),
            Entries::Items(v) => v.len(),
        }
    }

    /// Entry `i`: its data, whether it is NULL, and its status.
    fn get(&self, i: usize) -> Option<(&[u8], bool, strongroom_status)> {
        match self {
            Entries::Tokens(v) => v
                .get(i)
                .map(|t| (t.as_ref().map_or(&[][..], Token::as_bytes), t.is_none(), 0)),
            Entries::Terms(v) => v
                .get(i)
                .map(|t| (t.as_ref().map_or(&[][..], IndexTerm::as_bytes), t.is_none(), 0)),
            Entries::Items(v) => v.get(i).map(|it| (&it.data[..], it.is_null, it.status)),
        }
    }
}

struct ResultItem {
    status: strongroom_status,
    data: Vec<u8>,
    is_null: bool,
    /// Plaintext (wiped on drop); tokens and index terms are not secret,
    /// and not wiping them keeps batch results as cheap as in Rust.
    secret: bool,
}

impl Drop for ResultItem {
    fn drop(&mut self) {
        if self.secret {
            zeroize::Zeroize::zeroize(&mut self.data);
        }
    }
}

impl ResultItem {
    fn public(status: strongroom_status, data: Vec<u8>, is_null: bool) -> Self {
        ResultItem {
            status,
            data,
            is_null,
            secret: false,
        }
    }
}

/// # Safety
/// `p` is NULL with `count` 0, or points to `count` items whose pointers
/// are valid.
unsafe fn items<'a>(
    p: *const strongroom_item,
    count: usize,
    what: &'static str,
) -> Result<Vec<Option<&'a [u8]>>, Fail> {
    // SAFETY: the caller's promise, passed on.
    unsafe { map_items(p, count, what, |_, b| Ok(b)) }
}

/// The items at `p`, each non-NULL one converted by `f` (given its
/// position), into one vector.
///
/// # Safety
/// As [`items`].
unsafe fn map_items<'a, T>(
    p: *const strongroom_item,
    count: usize,
    what: &'static str,
    mut f: impl FnMut(usize, &'a [u8]) -> Result<T, Fail>,
) -> Result<Vec<Option<T>>, Fail> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Fail::Null(what));
    }
    // SAFETY: non-NULL with `count` items (the caller's promise).
    let all = unsafe { std::slice::from_raw_parts(p, count) };
    let mut out = Vec::with_capacity(count);
    for (i, it) in all.iter().enumerate() {
        out.push(if it.is_null {
            None
        } else {
            // SAFETY: `data` points to `len` bytes (the caller's promise).
            Some(f(i, unsafe { bytes(it.data, it.len, "an item's data")? })?)
        });
    }
    Ok(out)
}

/// # Safety
/// `p` is NULL (no rows) or points to `count` slices whose data are valid.
unsafe fn rows<'a>(p: *const strongroom_slice, count: usize) -> Result<Option<Vec<&'a [u8]>>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    if count == 0 {
        return Ok(Some(Vec::new()));
    }
    // SAFETY: non-NULL with `count` slices (the caller's promise).
    let all = unsafe { std::slice::from_raw_parts(p, count) };
    all.iter()
        // SAFETY: each `data` points to `len` bytes (the caller's promise).
        .map(|s| unsafe { bytes(s.data, s.len, "a row's data") })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The caller's items, read (never written) by the pool's threads during
/// one call.
#[derive(Clone, Copy)]
struct SharedItems<'a>(&'a [strongroom_item]);

// SAFETY: the items and the bytes they point to are only read, and only
// during the call that received them, while the caller keeps them alive
// and unchanged (the documented contract of the batch functions).
unsafe impl Sync for SharedItems<'_> {}

impl SharedItems<'_> {
    /// Chunk `k` of [`CHUNK`] items (the last one may be shorter).
    fn chunk(&self, k: usize) -> &[strongroom_item] {
        let start = k * CHUNK;
        &self.0[start..(start + CHUNK).min(self.0.len())]
    }
}

/// The tokens of some items, or the error of the first invalid one with
/// its index (none for an error of the whole call).
type ChunkTokens = Result<Vec<Option<Token>>, (Option<usize>, Fail)>;

/// Converts and encrypts the items chunk by chunk on the pool's threads,
/// so the conversion (the UTF-8 check, say) is spread over the cores with
/// the encryption; each chunk gets its own nonce prefix, as in
/// `FieldCipher::encrypt_batch`. An invalid item fails the call with the
/// lowest such index and its error, as a check of every item first would.
fn encrypt_chunks(c: &FieldCipher, items: SharedItems<'_>, rows: Option<&[&[u8]]>) -> ChunkTokens {
    use rayon::prelude::*;
    let ty = c.spec().value_type;
    let one = |k: usize, chunk: &[strongroom_item]| -> ChunkTokens {
        let start = k * CHUNK;
        let mut vs = Vec::with_capacity(chunk.len());
        for (i, it) in chunk.iter().enumerate() {
            if it.is_null {
                vs.push(None);
                continue;
            }
            // SAFETY: `data` points to `len` bytes (the caller's promise;
            // NULL pointers were refused before any chunk started).
            let b = unsafe { bytes(it.data, it.len, "an item's data") }.map_err(|f| (None, f))?;
            match to_value(ty, b) {
                Ok(v) => vs.push(Some(v)),
                Err(f) => {
                    // An item before this one that the core refuses (a
                    // wrong row key, say) is the first failure.
                    let rs = rows.map(|r| &r[start..start + i]);
                    if let Err(strongroom::Error::Batch { index, source }) = c.encrypt_batch_ref(&vs, rs) {
                        return Err((Some(start + index), Fail::Core(*source)));
                    }
                    return Err((Some(start + i), f));
                }
            }
        }
        let rs = rows.map(|r| &r[start..start + chunk.len()]);
        c.encrypt_batch_ref(&vs, rs).map_err(|e| match e {
            strongroom::Error::Batch { index, source } => (Some(start + index), Fail::Core(*source)),
            other => (None, Fail::Core(other)),
        })
    };
    if items.0.len() <= CHUNK {
        return one(0, items.0);
    }
    let chunks = items.0.len().div_ceil(CHUNK);
    let parts: Vec<ChunkTokens> = strongroom::in_pool(|| {
        (0..chunks)
            .into_par_iter()
            .map(|k| one(k, items.chunk(k)))
            .collect()
    });
    let mut out = Vec::with_capacity(items.0.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

fn hand_out_results(out: *mut *mut strongroom_field_results, items: Entries) {
    // SAFETY: the caller checked `out` non-NULL before any work.
    unsafe { put(out, Box::into_raw(Box::new(strongroom_field_results { items }))) };
}

/// Records the failing index of a batch error, if asked for.
fn batch_fail(e: strongroom::Error, failed_index: *mut usize) -> Fail {
    if let strongroom::Error::Batch { index, .. } = &e
        && !failed_index.is_null()
    {
        // SAFETY: non-NULL and writable (the caller's promise).
        unsafe { put(failed_index, *index) };
    }
    Fail::Core(e)
}

/// Encrypts `count` values at once on every core: the same tokens as
/// `strongroom_field_encrypt` one by one (a NULL item gives an entry with
/// `is_null` set unless the column hides NULL). `rows` is NULL (no row
/// binding) or `count` row keys. Every input is checked first: the first
/// invalid one fails the whole call with its own status, writes its
/// zero-based position to `*failed_index` (if not NULL) and nothing else.
/// On success `*out` is a results handle to free with
/// `strongroom_field_results_free`.
///
/// ```c
/// strongroom_item v[2] = {{(const uint8_t *)"a@x.org", 7, false}, {NULL, 0, true}};
/// strongroom_field_results *res = NULL; size_t bad;
/// if (strongroom_field_encrypt_batch(email, v, 2, NULL, &res, &bad) == STRONGROOM_OK) {
///     const uint8_t *tok; size_t len; bool null; strongroom_status st;
///     strongroom_field_results_get(res, 0, &tok, &len, &null, &st);
///     strongroom_field_results_free(res);
/// }
/// ```
///
/// # Safety
/// `cipher` live; `values` points to `count` items (may be NULL when
/// `count` is 0); `rows` NULL or `count` slices; `out` writable;
/// `failed_index` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_encrypt_batch(
    cipher: *const strongroom_field_cipher,
    values: *const strongroom_item,
    count: usize,
    rows_: *const strongroom_slice,
    out: *mut *mut strongroom_field_results,
    failed_index: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, rs) = unsafe { (&handle(cipher, "cipher")?.inner, rows(rows_, count)?) };
        need_out(out, "out")?;
        if count > 0 && values.is_null() {
            return Err(Fail::Null("values"));
        }
        let all = if count == 0 {
            &[][..]
        } else {
            // SAFETY: non-NULL with `count` items (the caller's promise).
            unsafe { std::slice::from_raw_parts(values, count) }
        };
        // A NULL data pointer anywhere fails the call before any work.
        if all.iter().any(|it| !it.is_null && it.data.is_null()) {
            return Err(Fail::Null("an item's data"));
        }
        let tokens = encrypt_chunks(c, SharedItems(all), rs.as_deref()).map_err(|(i, f)| match i {
            Some(i) => item_fail(i, f, failed_index),
            None => f,
        })?;
        hand_out_results(out, Entries::Tokens(tokens));
        Ok(())
    })
}

/// Decrypts `count` binary tokens at once on every core. Each entry of the
/// results has its own status (one damaged row does not hide the others):
/// read it with `strongroom_field_results_get`. A NULL item gives an entry
/// with `is_null` set. The call itself fails only for bad arguments.
///
/// # Safety
/// As `strongroom_field_encrypt_batch` (without `failed_index`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_decrypt_batch(
    cipher: *const strongroom_field_cipher,
    tokens: *const strongroom_item,
    count: usize,
    rows_: *const strongroom_slice,
    out: *mut *mut strongroom_field_results,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, toks, rs) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                items(tokens, count, "tokens")?,
                rows(rows_, count)?,
            )
        };
        need_out(out, "out")?;
        let results = c.decrypt_batch(&toks, rs.as_deref())?;
        let mut items = Vec::with_capacity(results.len());
        for r in results {
            items.push(match r {
                Ok(Some(v)) => match into_c_form(v) {
                    Ok(data) => ResultItem {
                        status: 0,
                        data,
                        is_null: false,
                        secret: true,
                    },
                    Err(f) => ResultItem::public(crate::status::record(f), Vec::new(), false),
                },
                Ok(None) => ResultItem::public(0, Vec::new(), true),
                Err(e) => ResultItem::public(e.code(), Vec::new(), false),
            });
        }
        hand_out_results(out, Entries::Items(items));
        Ok(())
    })
}

/// Computes the blind index terms of `count` values at once under the
/// primary version (a NULL item gives an entry with `is_null` set, or a
/// random term if the column hides NULL). An invalid value fails the whole
/// call with its status and its position in `*failed_index` (if not NULL).
///
/// # Safety
/// As `strongroom_field_encrypt_batch` without `rows`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_index_batch(
    cipher: *const strongroom_field_cipher,
    values: *const strongroom_item,
    count: usize,
    out: *mut *mut strongroom_field_results,
    failed_index: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let c = unsafe { &handle(cipher, "cipher")?.inner };
        need_out(out, "out")?;
        // SAFETY: the caller's promises for `values` and `failed_index`.
        let vs = unsafe { batch_values(c.spec().value_type, values, count, failed_index)? };
        let terms = c.index_batch_ref(&vs).map_err(|e| batch_fail(e, failed_index))?;
        hand_out_results(out, Entries::Terms(terms));
        Ok(())
    })
}

/// Writes the number of entries of a results handle to `*count`.
///
/// # Safety
/// `results` is live; `count` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_results_count(
    results: *const strongroom_field_results,
    count: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let r = unsafe { handle(results, "results")? };
        need_out(count, "count")?;
        // SAFETY: checked non-NULL above.
        unsafe { put(count, r.items.len()) };
        Ok(())
    })
}

/// Reads entry `index` of a results handle: `*data` and `*len` point into
/// the handle (valid until `strongroom_field_results_free`; do not free
/// them), `*is_null` tells SQL NULL, `*item_status` the entry's own status
/// (always `STRONGROOM_OK` for encryption and index batches). An index out
/// of range gives `STRONGROOM_INVALID_ARGUMENT`.
///
/// # Safety
/// `results` live; `data`, `len`, `is_null`, `item_status` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_results_get(
    results: *const strongroom_field_results,
    index: usize,
    data: *mut *const u8,
    len: *mut usize,
    is_null: *mut bool,
    item_status: *mut strongroom_status,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let r = unsafe { handle(results, "results")? };
        need_out(data, "data")?;
        need_out(len, "len")?;
        need_out(is_null, "is_null")?;
        need_out(item_status, "item_status")?;
        let (bytes, null, status) = r.items.get(index).ok_or_else(|| {
            invalid(format!(
                "index {index} is out of range ({} entries)",
                r.items.len()
            ))
        })?;
        // SAFETY: all four checked non-NULL above.
        unsafe {
            put(data, bytes.as_ptr());
            put(len, bytes.len());
            put(is_null, null);
            put(item_status, status);
        }
        Ok(())
    })
}

/// Frees a results handle, wiping decrypted values. NULL is accepted.
/// Never fails.
///
/// # Safety
/// `results` is NULL or live, and no pointer obtained from it is used
/// afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_results_free(results: *mut strongroom_field_results) {
    if !results.is_null() {
        // SAFETY: created by `Box::into_raw` here and not yet freed.
        boundary_value((), || drop(unsafe { Box::from_raw(results) }));
    }
}
