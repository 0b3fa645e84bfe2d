//! The C API as the fuzz targets call it: owned handles over the exported
//! functions of `strongroom-ffi`, each call returning its status and what
//! it wrote, and the C form of a core value (what a C decryption gives).
//!
//! A panic inside the C API never unwinds: the boundary turns it into
//! `STRONGROOM_PANIC`, so [`ok_status`] fails the target on it (and on
//! `STRONGROOM_INTERNAL`, a bug too).

use crate::fixtures;
use std::ffi::c_char;
use std::sync::OnceLock;
use strongroom::field::{Value, ValueType};
use strongroom_ffi as c;

/// Status of a C call.
pub type Status = u32;

/// Fails the fuzz target on a status that means a bug.
pub fn ok_status(s: Status, what: &str) -> Status {
    assert_ne!(
        s,
        c::STRONGROOM_PANIC,
        "{what}: a panic was caught at the C boundary"
    );
    assert_ne!(s, c::STRONGROOM_INTERNAL, "{what}: internal error");
    s
}

/// The C constant of a value type.
pub fn c_type(ty: ValueType) -> u32 {
    match ty {
        ValueType::Bytes => c::STRONGROOM_TYPE_BYTES,
        ValueType::Text => c::STRONGROOM_TYPE_TEXT,
        ValueType::Int => c::STRONGROOM_TYPE_INT,
        ValueType::Float => c::STRONGROOM_TYPE_FLOAT,
        ValueType::Bool => c::STRONGROOM_TYPE_BOOL,
        ValueType::Date => c::STRONGROOM_TYPE_DATE,
        ValueType::Timestamp => c::STRONGROOM_TYPE_TIMESTAMP,
        _ => c::STRONGROOM_TYPE_DECIMAL,
    }
}

/// A column cipher of the C API, freed on drop.
pub struct CCipher(*mut c::strongroom_field_cipher);

// SAFETY: the C API documents field ciphers as immutable and shareable
// between threads; the handle is only freed on drop.
unsafe impl Send for CCipher {}
// SAFETY: as above.
unsafe impl Sync for CCipher {}

impl Drop for CCipher {
    fn drop(&mut self) {
        // SAFETY: a live handle from `strongroom_field_cipher_new_with_keys`.
        unsafe { c::strongroom_field_cipher_free(self.0) }
    }
}

/// The C cipher of `table.column` holding `ty` with the field vectors'
/// keys and settings (NULL hidden), like [`fixtures::field_cipher`].
pub fn c_cipher(table: &str, column: &str, ty: ValueType, deterministic: bool) -> CCipher {
    let spec = c::strongroom_column_spec {
        value_type: c_type(ty),
        mode: if deterministic {
            c::STRONGROOM_MODE_DETERMINISTIC
        } else {
            c::STRONGROOM_MODE_RANDOM
        },
        hide_null: true,
        blind_index_len: 8,
        normalizer: c::STRONGROOM_NORMALIZE_NONE,
        also_accept_mode: 0,
        unlinkable_batches: false,
    };
    let keys = fixtures::field_keys();
    let t = std::ffi::CString::new(table).expect("no NUL");
    let col = std::ffi::CString::new(column).expect("no NUL");
    let mut out = std::ptr::null_mut();
    // SAFETY: NUL-terminated names, a valid spec, 32-byte keys and a
    // writable output pointer.
    let s = unsafe {
        c::strongroom_field_cipher_new_with_keys(
            t.as_ptr(),
            col.as_ptr(),
            &spec,
            fixtures::FIELD_KEY_VERSION,
            keys.field.dangerous_expose_bytes().as_ptr(),
            keys.deterministic.dangerous_expose_bytes().as_ptr(),
            keys.blind_index.dangerous_expose_bytes().as_ptr(),
            &mut out,
        )
    };
    assert_eq!(s, c::STRONGROOM_OK, "building a C cipher");
    CCipher(out)
}

/// The C ciphers and core ciphers of every vector column and value type,
/// built once: `all()[c][t]` is column `c` of [`fixtures::FIELD_COLUMNS`]
/// with type `ValueType::ALL[t]` (random mode; they read both suites).
pub fn ciphers() -> &'static [Vec<(CCipher, strongroom::field::FieldCipher)>] {
    static ALL: OnceLock<Vec<Vec<(CCipher, strongroom::field::FieldCipher)>>> = OnceLock::new();
    ALL.get_or_init(|| {
        fixtures::FIELD_COLUMNS
            .iter()
            .map(|(table, column)| {
                ValueType::ALL
                    .iter()
                    .map(|ty| {
                        (
                            c_cipher(table, column, *ty, false),
                            fixtures::field_cipher(table, column, *ty, false),
                        )
                    })
                    .collect()
            })
            .collect()
    })
}

/// What a C decryption gives for a core result: the status, and the value
/// in its C form (`None` for a hidden NULL).
pub fn expected(r: strongroom::Result<Option<Value>>) -> (Status, Option<Vec<u8>>) {
    match r {
        Err(e) => (e.code(), None),
        Ok(None) => (c::STRONGROOM_OK, None),
        Ok(Some(v)) => match c_form(&v) {
            Ok(b) => (c::STRONGROOM_OK, Some(b)),
            Err(e) => (e.code(), None),
        },
    }
}

/// A value in the C API's form: bytes and text as they are, other types in
/// their canonical text.
pub fn c_form(v: &Value) -> strongroom::Result<Vec<u8>> {
    if let Some(b) = v.as_bytes() {
        return Ok(b.to_vec());
    }
    if let (ValueType::Text, Some(s)) = (v.value_type(), v.as_str()) {
        return Ok(s.as_bytes().to_vec());
    }
    Ok(v.to_text()?.as_bytes().to_vec())
}

/// The status the C API gives for a value of `ty` in C form `b` before
/// encrypting it: UTF-8 and then the type's syntax.
pub fn value_status(ty: ValueType, b: &[u8]) -> Status {
    if ty == ValueType::Bytes {
        return c::STRONGROOM_OK;
    }
    match std::str::from_utf8(b) {
        Err(_) => c::STRONGROOM_INVALID_UTF8,
        Ok(s) => match Value::parse(ty, s) {
            Ok(_) => c::STRONGROOM_OK,
            Err(e) => e.code(),
        },
    }
}

/// A C decryption's result: status, value in C form (if any), NULL flag.
pub type Decrypted = (Status, Option<Vec<u8>>, bool);

fn finish_decrypt(s: Status, out: Vec<u8>, len: usize, is_null: bool) -> Decrypted {
    if s != c::STRONGROOM_OK {
        return (s, None, false);
    }
    assert!(len <= out.len(), "a length beyond the buffer");
    if is_null {
        assert_eq!(len, 0, "a hidden NULL with a value");
        (s, None, true)
    } else {
        (s, Some(out[..len].to_vec()), false)
    }
}

impl CCipher {
    /// The raw handle, for calls these helpers do not wrap.
    pub fn as_ptr(&self) -> *const c::strongroom_field_cipher {
        self.0
    }

    /// `strongroom_field_decrypt` into a buffer of the token's length
    /// (documented to suffice).
    pub fn decrypt(&self, token: &[u8], row: Option<&[u8]>) -> Decrypted {
        let mut out = vec![0u8; token.len()];
        let (mut len, mut is_null) = (0usize, false);
        let (rp, rl) = row.map_or((std::ptr::null(), 0), |r| (r.as_ptr(), r.len()));
        // SAFETY: valid pointers and lengths; writable outputs.
        let s = unsafe {
            c::strongroom_field_decrypt(
                self.0,
                token.as_ptr(),
                token.len(),
                rp,
                rl,
                out.as_mut_ptr(),
                out.len(),
                &mut len,
                &mut is_null,
            )
        };
        finish_decrypt(ok_status(s, "field_decrypt"), out, len, is_null)
    }

    /// `strongroom_field_decrypt_text` into a buffer of the text's length
    /// (documented to suffice).
    pub fn decrypt_text(&self, text: &[u8], row: Option<&[u8]>) -> Decrypted {
        let mut out = vec![0u8; text.len()];
        let (mut len, mut is_null) = (0usize, false);
        let (rp, rl) = row.map_or((std::ptr::null(), 0), |r| (r.as_ptr(), r.len()));
        // SAFETY: valid pointers and lengths; writable outputs.
        let s = unsafe {
            c::strongroom_field_decrypt_text(
                self.0,
                text.as_ptr().cast::<c_char>(),
                text.len(),
                rp,
                rl,
                out.as_mut_ptr(),
                out.len(),
                &mut len,
                &mut is_null,
            )
        };
        finish_decrypt(ok_status(s, "field_decrypt_text"), out, len, is_null)
    }

    /// `strongroom_field_encrypt` of `value` (C form) without a row, into
    /// a buffer of `strongroom_field_token_bound` bytes.
    pub fn encrypt(&self, value: &[u8]) -> (Status, Vec<u8>) {
        let mut bound = 0usize;
        // SAFETY: a live handle and a writable output.
        let s = unsafe { c::strongroom_field_token_bound(self.0, value.len(), &mut bound) };
        assert_eq!(s, c::STRONGROOM_OK);
        let mut out = vec![0u8; bound];
        let mut len = 0usize;
        // SAFETY: valid pointers and lengths; writable outputs.
        let s = unsafe {
            c::strongroom_field_encrypt(
                self.0,
                value.as_ptr(),
                value.len(),
                std::ptr::null(),
                0,
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            )
        };
        ok_status(s, "field_encrypt");
        assert!(len <= out.len(), "a token beyond the bound");
        out.truncate(if s == c::STRONGROOM_OK { len } else { 0 });
        (s, out)
    }

    /// `strongroom_field_index` of `value` (C form).
    pub fn index(&self, value: &[u8]) -> (Status, Vec<u8>) {
        let mut out = [0u8; 32];
        let mut len = 0usize;
        // SAFETY: valid pointers and lengths; writable outputs.
        let s = unsafe {
            c::strongroom_field_index(
                self.0,
                value.as_ptr(),
                value.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            )
        };
        ok_status(s, "field_index");
        (
            s,
            if s == c::STRONGROOM_OK {
                out[..len].to_vec()
            } else {
                Vec::new()
            },
        )
    }
}

/// A batch's results, freed on drop.
pub struct Results(*mut c::strongroom_field_results);

impl Drop for Results {
    fn drop(&mut self) {
        // SAFETY: a live handle from a batch call (or NULL).
        unsafe { c::strongroom_field_results_free(self.0) }
    }
}

impl Results {
    /// Every entry: its status, its data (if not NULL).
    pub fn entries(&self) -> Vec<(Status, Option<Vec<u8>>)> {
        let mut n = 0usize;
        // SAFETY: a live handle, a writable output.
        assert_eq!(
            unsafe { c::strongroom_field_results_count(self.0, &mut n) },
            c::STRONGROOM_OK
        );
        (0..n)
            .map(|i| {
                let (mut d, mut len, mut null, mut st) = (std::ptr::null(), 0usize, false, 0u32);
                // SAFETY: a live handle, `i` in range, writable outputs.
                let s = unsafe {
                    c::strongroom_field_results_get(self.0, i, &mut d, &mut len, &mut null, &mut st)
                };
                assert_eq!(s, c::STRONGROOM_OK);
                ok_status(st, "a batch entry");
                // A failed entry holds nothing (and is not NULL either).
                let data = if null || st != c::STRONGROOM_OK {
                    None
                } else {
                    // SAFETY: the handle owns `len` bytes at `d` until it is freed.
                    Some(unsafe { std::slice::from_raw_parts(d, len) }.to_vec())
                };
                (st, data)
            })
            .collect()
    }
}

/// Items of a batch call over `parts` (borrowed; none NULL).
pub fn items(parts: &[&[u8]]) -> Vec<c::strongroom_item> {
    parts
        .iter()
        .map(|p| c::strongroom_item {
            data: p.as_ptr(),
            len: p.len(),
            is_null: false,
        })
        .collect()
}

/// A batch call on `cipher` over `parts`: decryption (binary or text
/// tokens) or encryption; the call's status, the results, and the failed
/// index an encryption reported.
pub fn batch(cipher: &CCipher, parts: &[&[u8]], kind: BatchKind) -> (Status, Option<Results>, Option<usize>) {
    let its = items(parts);
    let mut out = std::ptr::null_mut();
    let mut failed = usize::MAX;
    // SAFETY: `its` points to `parts.len()` items whose data live for the
    // call; writable outputs; no row keys.
    let s = unsafe {
        match kind {
            BatchKind::Decrypt => c::strongroom_field_decrypt_batch(
                cipher.0,
                its.as_ptr(),
                its.len(),
                std::ptr::null(),
                &mut out,
            ),
            BatchKind::DecryptText => c::strongroom_field_decrypt_batch_text(
                cipher.0,
                its.as_ptr(),
                its.len(),
                std::ptr::null(),
                &mut out,
            ),
            BatchKind::Encrypt => c::strongroom_field_encrypt_batch(
                cipher.0,
                its.as_ptr(),
                its.len(),
                std::ptr::null(),
                &mut out,
                &mut failed,
            ),
        }
    };
    ok_status(s, "a batch call");
    let results = (s == c::STRONGROOM_OK).then_some(Results(out));
    (s, results, (failed != usize::MAX).then_some(failed))
}

/// Which batch call [`batch`] makes.
#[derive(Clone, Copy)]
pub enum BatchKind {
    /// `strongroom_field_decrypt_batch`.
    Decrypt,
    /// `strongroom_field_decrypt_batch_text`.
    DecryptText,
    /// `strongroom_field_encrypt_batch`.
    Encrypt,
}
