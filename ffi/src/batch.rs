//! Batches of field values on every core: encrypt, decrypt and index many
//! values in one call (binary tokens or their `sr1.` text form), and the
//! results handle that holds what a batch returns.

use crate::field::{into_c_form, strongroom_field_cipher, to_value};
use crate::status::{Fail, boundary, boundary_value, invalid, record, strongroom_status};
use crate::util::{array, bytes, handle, need_out, put};
use strongroom::field::{CHUNK, FieldCipher, IndexTerm, Token, ValueRef, ValueType, decode_text};

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
    /// An encrypting batch in text form: the text token followed by a NUL
    /// (not counted in its length), or none for a kept NULL.
    Texts(Vec<Option<Vec<u8>>>),
    /// An indexing batch: a term, or none for a kept NULL.
    Terms(Vec<Option<IndexTerm>>),
    /// Entries with a status of their own (decryption).
    Items(Vec<ResultItem>),
}

impl Entries {
    fn len(&self) -> usize {
        match self {
            Entries::Tokens(v) => v.len(),
            Entries::Texts(v) => v.len(),
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
            Entries::Texts(v) => v.get(i).map(|t| match t {
                Some(t) => (&t[..t.len() - 1], false, 0),
                None => (&[][..], true, 0),
            }),
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
    fn failed(status: strongroom_status) -> Self {
        ResultItem {
            status,
            data: Vec::new(),
            is_null: false,
            secret: false,
        }
    }
}

/// The failure of a batch call at item `i` of the values: its position is
/// written to `*failed_index` (if not NULL), and a core error is wrapped
/// in [`strongroom::Error::Batch`] (which keeps its status and names the
/// position in the message).
fn item_fail(i: usize, f: Fail, failed_index: *mut usize) -> Fail {
    if !failed_index.is_null() {
        // SAFETY: non-NULL and writable (the caller's promise).
        unsafe { put(failed_index, i) };
    }
    match f {
        Fail::Core(e) => Fail::Core(strongroom::Error::Batch {
            index: i,
            source: Box::new(e),
        }),
        other => other,
    }
}

/// Records the failing position of a batch error of the core, if asked for.
fn batch_fail(e: strongroom::Error, failed_index: *mut usize) -> Fail {
    if let strongroom::Error::Batch { index, .. } = &e
        && !failed_index.is_null()
    {
        // SAFETY: non-NULL and writable (the caller's promise).
        unsafe { put(failed_index, *index) };
    }
    Fail::Core(e)
}

/// The bytes of item `i` of the array `what`: NULL data (unless the item
/// is NULL) and lengths no object can have are refused with the position.
///
/// # Safety
/// `it.data` is NULL or points to `it.len` readable bytes.
unsafe fn item_bytes<'a>(it: &strongroom_item, i: usize, what: &'static str) -> Result<&'a [u8], Fail> {
    if it.data.is_null() {
        return Err(Fail::NullItem(what, i));
    }
    // SAFETY: non-NULL; the caller's promise about the length.
    unsafe { bytes(it.data, it.len, what) }
}

/// The items at `p`, each non-NULL one converted by `f` (given its
/// position); the first that fails (NULL data, a length too large, or
/// `f`'s error) fails the whole call, its position written to
/// `*failed_index` (if not NULL).
///
/// # Safety
/// `p` is NULL with `count` 0, or points to `count` items whose data
/// pointers are valid; `failed_index` is NULL or writable.
unsafe fn map_items<'a, T>(
    p: *const strongroom_item,
    count: usize,
    what: &'static str,
    failed_index: *mut usize,
    mut f: impl FnMut(&'a [u8]) -> Result<T, Fail>,
) -> Result<Vec<Option<T>>, Fail> {
    // SAFETY: the caller's promise, passed on.
    let all = unsafe { array(p, count, what)? };
    let mut out = Vec::with_capacity(count);
    for (i, it) in all.iter().enumerate() {
        if it.is_null {
            out.push(None);
            continue;
        }
        // SAFETY: the caller's promise about each item's data.
        let b = unsafe { item_bytes(it, i, what) }.map_err(|e| item_fail(i, e, failed_index))?;
        out.push(Some(f(b).map_err(|e| item_fail(i, e, failed_index))?));
    }
    Ok(out)
}

/// The row keys at `p`: `None` for NULL (no row binding), else `count` of
/// them (a NULL data pointer fails the call, naming its position).
///
/// # Safety
/// `p` is NULL or points to `count` slices whose data are valid.
unsafe fn row_keys<'a>(p: *const strongroom_slice, count: usize) -> Result<Option<Vec<&'a [u8]>>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's promise, passed on.
    let all = unsafe { array(p, count, "rows")? };
    all.iter()
        .enumerate()
        .map(|(i, s)| {
            if s.data.is_null() {
                return Err(Fail::NullItem("rows", i));
            }
            // SAFETY: each `data` points to `len` bytes (the caller's promise).
            unsafe { bytes(s.data, s.len, "rows") }
        })
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
/// `FieldCipher::encrypt_batch`. An invalid item (NULL data, a length too
/// large, a value of the wrong form, or one the core refuses) fails the
/// call with the lowest such index and its error, as a check of every item
/// first would.
fn encrypt_chunks(c: &FieldCipher, items: SharedItems<'_>, rows: Option<&[&[u8]]>) -> ChunkTokens {
    use rayon::prelude::*;
    let ty = c.spec().value_type;
    let one = |k: usize, chunk: &[strongroom_item]| -> ChunkTokens {
        let start = k * CHUNK;
        let mut vs: Vec<Option<ValueRef<'_>>> = Vec::with_capacity(chunk.len());
        for (i, it) in chunk.iter().enumerate() {
            if it.is_null {
                vs.push(None);
                continue;
            }
            // SAFETY: `data` is NULL (refused) or points to `len` bytes
            // (the caller's promise).
            let value = unsafe { item_bytes(it, start + i, "values") }.and_then(|b| to_value(ty, b));
            match value {
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

/// The shared part of the two encrypting batches: the tokens of `count`
/// values, or the failure (with `*failed_index` written).
///
/// # Safety
/// As `strongroom_field_encrypt_batch`.
unsafe fn encrypt_items(
    cipher: *const strongroom_field_cipher,
    values: *const strongroom_item,
    count: usize,
    rows: *const strongroom_slice,
    out: *mut *mut strongroom_field_results,
    failed_index: *mut usize,
) -> Result<Vec<Option<Token>>, Fail> {
    // SAFETY: the caller's promises; NULL is refused where not allowed.
    let (c, rs, all) = unsafe {
        (
            &handle(cipher, "cipher")?.inner,
            row_keys(rows, count)?,
            array(values, count, "values")?,
        )
    };
    need_out(out, "out")?;
    encrypt_chunks(c, SharedItems(all), rs.as_deref()).map_err(|(i, f)| match i {
        Some(i) => item_fail(i, f, failed_index),
        None => f,
    })
}

fn hand_out_results(out: *mut *mut strongroom_field_results, items: Entries) {
    // SAFETY: the caller checked `out` non-NULL before any work.
    unsafe { put(out, Box::into_raw(Box::new(strongroom_field_results { items }))) };
}

/// Runs `f` on every element on the pool's threads for a large batch, on
/// the calling thread for a small one.
fn map_all<T: Send, U: Send>(v: Vec<T>, f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    use rayon::prelude::*;
    if v.len() <= CHUNK {
        v.into_iter().map(f).collect()
    } else {
        strongroom::in_pool(|| v.into_par_iter().with_min_len(CHUNK).map(f).collect())
    }
}

/// Encrypts `count` values at once on every core: the same tokens as
/// `strongroom_field_encrypt` one by one (a NULL item gives an entry with
/// `is_null` set unless the column hides NULL). `rows` is NULL (no row
/// binding) or `count` row keys. Every input is checked first: the first
/// invalid value (NULL data, a length above `PTRDIFF_MAX`, a value of the
/// wrong form, one the core refuses) fails the whole call with its own
/// status and writes its zero-based position to `*failed_index` (if not
/// NULL); nothing else is written. A NULL row key fails the call too (its
/// position is in the message). On success `*out` is a results handle to
/// free with `strongroom_field_results_free`.
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
    rows: *const strongroom_slice,
    out: *mut *mut strongroom_field_results,
    failed_index: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises, passed on.
        let tokens = unsafe { encrypt_items(cipher, values, count, rows, out, failed_index)? };
        hand_out_results(out, Entries::Tokens(tokens));
        Ok(())
    })
}

/// As `strongroom_field_encrypt_batch`, with the tokens in their text form
/// (`sr1.` + base64url) for TEXT columns: each entry's `data` is the text
/// (`len` bytes, not counting the NUL that follows it, so it may also be
/// used as a C string). Kept NULLs are entries with `is_null` set.
///
/// # Safety
/// As `strongroom_field_encrypt_batch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_encrypt_batch_text(
    cipher: *const strongroom_field_cipher,
    values: *const strongroom_item,
    count: usize,
    rows: *const strongroom_slice,
    out: *mut *mut strongroom_field_results,
    failed_index: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises, passed on.
        let tokens = unsafe { encrypt_items(cipher, values, count, rows, out, failed_index)? };
        let texts = map_all(tokens, |t| {
            t.map(|t| {
                let mut s = t.to_text().into_bytes();
                s.push(0);
                s
            })
        });
        hand_out_results(out, Entries::Texts(texts));
        Ok(())
    })
}

/// Decrypts binary tokens (`None` where a token could not even be read,
/// with that entry's status in `early`) into result entries.
fn decrypt_entries(
    c: &FieldCipher,
    tokens: &[Option<&[u8]>],
    rows: Option<&[&[u8]]>,
    early: Option<Vec<strongroom_status>>,
) -> Result<Entries, Fail> {
    let results = c.decrypt_batch(tokens, rows)?;
    let mut items = Vec::with_capacity(results.len());
    for (i, r) in results.into_iter().enumerate() {
        if let Some(status) = early.as_ref().map(|e| e[i]).filter(|s| *s != 0) {
            items.push(ResultItem::failed(status));
            continue;
        }
        items.push(match r {
            Ok(Some(v)) => match into_c_form(v) {
                Ok(data) => ResultItem {
                    status: 0,
                    data,
                    is_null: false,
                    secret: true,
                },
                Err(f) => ResultItem::failed(record(f)),
            },
            Ok(None) => ResultItem {
                status: 0,
                data: Vec::new(),
                is_null: true,
                secret: false,
            },
            Err(e) => ResultItem::failed(e.code()),
        });
    }
    Ok(Entries::Items(items))
}

/// Decrypts `count` binary tokens at once on every core. Each entry of the
/// results has its own status (one damaged row does not hide the others):
/// read it with `strongroom_field_results_get`. A NULL item gives an entry
/// with `is_null` set. The call itself fails only for bad arguments (a
/// NULL data pointer or a length above `PTRDIFF_MAX` in an item or a row
/// key: the message names its position).
///
/// # Safety
/// As `strongroom_field_encrypt_batch` (without `failed_index`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_decrypt_batch(
    cipher: *const strongroom_field_cipher,
    tokens: *const strongroom_item,
    count: usize,
    rows: *const strongroom_slice,
    out: *mut *mut strongroom_field_results,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, toks, rs) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                map_items(tokens, count, "tokens", std::ptr::null_mut(), Ok)?,
                row_keys(rows, count)?,
            )
        };
        need_out(out, "out")?;
        let entries = decrypt_entries(c, &toks, rs.as_deref(), None)?;
        hand_out_results(out, entries);
        Ok(())
    })
}

/// As `strongroom_field_decrypt_batch` for tokens in their text form
/// (`sr1.` + base64url, `len` bytes each, no NUL needed), as a TEXT column
/// holds them. A text that is not a token gives its entry
/// `STRONGROOM_MALFORMED` (or `STRONGROOM_INVALID_UTF8`,
/// `STRONGROOM_TRUNCATED`, ...) and the others are still decrypted.
///
/// # Safety
/// As `strongroom_field_decrypt_batch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_field_decrypt_batch_text(
    cipher: *const strongroom_field_cipher,
    tokens: *const strongroom_item,
    count: usize,
    rows: *const strongroom_slice,
    out: *mut *mut strongroom_field_results,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused where not allowed.
        let (c, texts, rs) = unsafe {
            (
                &handle(cipher, "cipher")?.inner,
                map_items(tokens, count, "tokens", std::ptr::null_mut(), Ok)?,
                row_keys(rows, count)?,
            )
        };
        need_out(out, "out")?;
        let decoded: Vec<Result<Option<Vec<u8>>, strongroom_status>> = map_all(texts, |t| match t {
            None => Ok(None),
            Some(t) => match std::str::from_utf8(t) {
                Ok(s) => decode_text(s).map(Some).map_err(|e| e.code()),
                Err(_) => Err(STATUS_INVALID_UTF8),
            },
        });
        let early: Vec<strongroom_status> = decoded
            .iter()
            .map(|d| d.as_ref().err().copied().unwrap_or(0))
            .collect();
        let binary: Vec<Option<&[u8]>> = decoded
            .iter()
            .map(|d| d.as_ref().ok().and_then(|t| t.as_deref()))
            .collect();
        let entries = decrypt_entries(c, &binary, rs.as_deref(), Some(early))?;
        hand_out_results(out, entries);
        Ok(())
    })
}

/// The status of a text item that is not UTF-8.
const STATUS_INVALID_UTF8: strongroom_status = crate::status::STRONGROOM_INVALID_UTF8;

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
        // SAFETY: the caller's promise; NULL is refused.
        let c = unsafe { &handle(cipher, "cipher")?.inner };
        need_out(out, "out")?;
        let ty: ValueType = c.spec().value_type;
        // SAFETY: the caller's promises for `values` and `failed_index`.
        let vs = unsafe { map_items(values, count, "values", failed_index, |b| to_value(ty, b))? };
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
