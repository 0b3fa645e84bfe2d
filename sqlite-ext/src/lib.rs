//! `libstrongroom_sqlite.so`: SQL functions over strongroom field tokens
//! for SQLite, loaded with `.load` in the sqlite3 shell or
//! `load_extension()` from an application.
//!
//! | function | result |
//! |---|---|
//! | `sr_encrypt(table, column, rowkey, value[, settings])` | token of a random-mode column (text token for a TEXT value, binary for a BLOB); NULL stays NULL; `rowkey` NULL binds no row |
//! | `sr_encrypt_deterministic(table, column, value[, settings])` | token of a deterministic column |
//! | `sr_decrypt(table, column, rowkey, token[, settings])` | the value, read as the column reads it: a random-mode column unless `settings` says `deterministic` |
//! | `sr_decrypt_deterministic(table, column, token[, settings])` | the value, read by a deterministic column (no row key) |
//! | `sr_index(table, column, value, len[, normalizer])` | blind index term under the primary key version (what a writer stores) |
//! | `sr_lookup_terms(table, column, value, len[, normalizer])` | table-valued: one row (`term`, `key_version`) per usable key version, for `idx IN (SELECT term FROM sr_lookup_terms(...))` during a rotation |
//! | `sr_token_version(token)` | key version in a token's header (needs no key) |
//!
//! `settings` is a column's settings in the core's text form
//! (`ColumnSpec::parse`, the command line's names): `deterministic`,
//! `type=int`, `hide-null`, `accept-mode=deterministic`. The column reads
//! only the modes it accepts and checks row bindings exactly as
//! `FieldCipher` does for the command line: a deterministic token in a
//! random-mode column is refused ("accepts random tokens only"), a
//! deterministic token read with a row key is refused outside a declared
//! migration window. Without `type=` a TEXT value (text token) is `text`
//! and a BLOB value (binary token) `bytes`, as in `strongroom db`.
//!
//! The row key is an integer's decimal text or a text's UTF-8 bytes, as
//! `strongroom db` and `strongroom field --rows` use. Keys never travel as
//! SQL arguments: the keyring comes from the environment ([`keys`]) and is
//! opened again when its file changes. Every function that uses a key is
//! registered `SQLITE_DIRECTONLY` (and the table-valued function declared
//! so): a trigger or view planted in an untrusted database file cannot call
//! it.
//!
//! No panic crosses into SQLite (every callback runs under
//! `catch_unwind`), and no error message holds a value.

#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicPtr, Ordering};
use strongroom::field::{self, ColumnSpec, Mode, Normalizer, Value, ValueType};
use zeroize::Zeroizing;

mod ffi;
mod keys;
mod lookup;
use ffi::{
    Api, SQLITE_BLOB, SQLITE_DETERMINISTIC, SQLITE_DIRECTONLY, SQLITE_ERROR, SQLITE_FLOAT, SQLITE_INNOCUOUS,
    SQLITE_INTEGER, SQLITE_NULL, SQLITE_OK, SQLITE_TEXT, SQLITE_TRANSIENT, SQLITE_UTF8, sqlite3,
    sqlite3_context, sqlite3_value,
};

/// The API table SQLite hands the extension at load time.
static API: AtomicPtr<Api> = AtomicPtr::new(std::ptr::null_mut());

fn api() -> &'static Api {
    // SAFETY: API is set once in the init function to the table SQLite
    // passes, which lives as long as the process has SQLite loaded; no
    // callback can run before init stored it (they are registered after).
    unsafe { &*API.load(Ordering::Acquire) }
}

/// An argument of a SQL function, copied out of SQLite's value.
pub(crate) enum Arg {
    Null,
    Int(i64),
    Real(f64),
    Text(Zeroizing<String>),
    Blob(Zeroizing<Vec<u8>>),
    /// Text that is not UTF-8.
    Other,
}

/// Copies argument `i` of `argv`.
///
/// # Safety
/// `argv` must be the argument array SQLite passed with `argc > i`.
pub(crate) unsafe fn arg(argv: *mut *mut sqlite3_value, i: usize) -> Arg {
    let a = api();
    // SAFETY: the caller guarantees `argv` has more than `i` entries, each
    // a valid sqlite3_value for the duration of the call; the accessors
    // are those of the API table, and the text/blob pointers are valid for
    // `bytes` bytes until the next call on the value, and we copy at once.
    unsafe {
        let v = *argv.add(i);
        match a.value_type(v) {
            SQLITE_NULL => Arg::Null,
            SQLITE_INTEGER => Arg::Int(a.value_int64(v)),
            SQLITE_FLOAT => Arg::Real(a.value_double(v)),
            SQLITE_TEXT => {
                let p = a.value_text(v);
                let n = a.value_bytes(v) as usize;
                let b = if p.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(p, n)
                };
                match std::str::from_utf8(b) {
                    Ok(s) => Arg::Text(Zeroizing::new(s.to_string())),
                    Err(_) => Arg::Other,
                }
            }
            SQLITE_BLOB => {
                let p = a.value_blob(v) as *const u8;
                let n = a.value_bytes(v) as usize;
                let b = if p.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(p, n)
                };
                Arg::Blob(Zeroizing::new(b.to_vec()))
            }
            _ => Arg::Other,
        }
    }
}

/// What a function returns.
enum Out {
    Null,
    Int(i64),
    Real(f64),
    Text(Zeroizing<String>),
    Blob(Zeroizing<Vec<u8>>),
}

type Fallible = Result<Out, String>;

/// Sets the result of `ctx`.
///
/// # Safety
/// `ctx` must be the context SQLite passed to the running function.
unsafe fn set_result(ctx: *mut sqlite3_context, r: Fallible) {
    let a = api();
    // SAFETY: `ctx` is valid for this call; SQLITE_TRANSIENT makes SQLite
    // copy the bytes before we drop (and wipe) our buffers; lengths fit in
    // c_int because SQLite values are limited to 2^31 - 1 bytes.
    unsafe {
        let transient = SQLITE_TRANSIENT;
        match r {
            Ok(Out::Null) => a.result_null(ctx),
            Ok(Out::Int(i)) => a.result_int64(ctx, i),
            Ok(Out::Real(f)) => a.result_double(ctx, f),
            Ok(Out::Text(s)) => a.result_text(ctx, s.as_ptr() as *const c_char, s.len() as c_int, transient),
            Ok(Out::Blob(b)) => a.result_blob(ctx, b.as_ptr() as *const c_void, b.len() as c_int, transient),
            Err(msg) => a.result_error(ctx, msg.as_ptr() as *const c_char, msg.len() as c_int),
        }
    }
}

pub(crate) fn name_arg(a: &Arg, what: &str) -> Result<String, String> {
    match a {
        Arg::Text(s) => Ok(s.to_string()),
        _ => Err(format!("strongroom: {what} must be text")),
    }
}

fn row_arg(a: &Arg) -> Result<Option<Vec<u8>>, String> {
    match a {
        Arg::Null => Ok(None),
        Arg::Int(i) => Ok(Some(i.to_string().into_bytes())),
        Arg::Text(s) => Ok(Some(s.as_bytes().to_vec())),
        _ => Err("strongroom: the row key must be an integer, text or NULL".into()),
    }
}

/// The column's settings from an optional settings argument; the type, when
/// not given, from how the value or token is stored (TEXT: text, BLOB:
/// bytes).
fn settings(a: Option<&Arg>, stored_as_blob: bool, deterministic: bool) -> Result<ColumnSpec, String> {
    let default = if stored_as_blob {
        ValueType::Bytes
    } else {
        ValueType::Text
    };
    let text = match a {
        None | Some(Arg::Null) => "",
        Some(Arg::Text(s)) => s.as_str(),
        Some(_) => return Err("strongroom: the column settings are text".into()),
    };
    let mut spec = ColumnSpec::parse(text, default).map_err(|e| format!("strongroom: {e}"))?;
    if deterministic {
        if spec.mode == Mode::Random && text.split([',', ' ']).any(|w| w == "random") {
            return Err("strongroom: the settings of a deterministic function say random".into());
        }
        spec = spec.deterministic();
    }
    Ok(spec)
}

/// A SQL value as a value of `ty`: SQLite's own conversions where they are
/// lossless (an integer for a text column is its decimal text), the text
/// form of the type otherwise.
pub(crate) fn value_of(a: &Arg, ty: ValueType) -> Result<Option<Value>, String> {
    let parse = |s: &str| {
        Value::parse(ty, s)
            .map(Some)
            .map_err(|e| format!("strongroom: {e}"))
    };
    match (a, ty) {
        (Arg::Null, _) => Ok(None),
        (Arg::Text(s), ValueType::Text) => Ok(Some(Value::from(s.as_str()))),
        (Arg::Int(i), ValueType::Text) => Ok(Some(Value::from(i.to_string()))),
        (Arg::Blob(b), ValueType::Bytes) => Ok(Some(Value::from(b.as_slice()))),
        (Arg::Int(i), ValueType::Int) => Ok(Some(Value::Int(*i))),
        (Arg::Int(i), ValueType::Float) => Ok(Some(Value::Float(*i as f64))),
        (Arg::Real(f), ValueType::Float) => Ok(Some(Value::Float(*f))),
        (Arg::Int(i @ (0 | 1)), ValueType::Bool) => Ok(Some(Value::Bool(*i == 1))),
        (Arg::Text(s), ty) if ty != ValueType::Bytes => parse(s),
        (_, ty) => Err(format!(
            "strongroom: that SQL value is not a {ty} value for this column"
        )),
    }
}

/// A decrypted value as SQL.
fn out_of(v: Option<Value>) -> Fallible {
    Ok(match &v {
        None => Out::Null,
        Some(Value::Text(s)) => Out::Text(Zeroizing::new(s.to_string())),
        Some(Value::Bytes(b)) => Out::Blob(Zeroizing::new(b.to_vec())),
        Some(Value::Int(i)) => Out::Int(*i),
        Some(Value::Bool(b)) => Out::Int(i64::from(*b)),
        Some(Value::Float(f)) => Out::Real(*f),
        Some(v) => Out::Text(v.to_text().map_err(|e| format!("strongroom: {e}"))?),
    })
}

fn encrypt(args: &[Arg], deterministic: bool) -> Fallible {
    let table = name_arg(&args[0], "the table")?;
    let column = name_arg(&args[1], "the column")?;
    let (row, value, extra) = if deterministic {
        (None, &args[2], args.get(3))
    } else {
        (row_arg(&args[2])?, &args[3], args.get(4))
    };
    let spec = settings(extra, matches!(value, Arg::Blob(_)), deterministic)?;
    let value = value_of(value, spec.value_type)?;
    if value.is_none() && !spec.hide_null {
        return Ok(Out::Null);
    }
    let c = keys::cipher(&table, &column, spec)?;
    let tok = c
        .encrypt(value.as_ref(), row.as_deref())
        .map_err(|e| format!("strongroom: {e}"))?
        .ok_or("strongroom: no token")?;
    Ok(match spec.value_type {
        ValueType::Bytes => Out::Blob(Zeroizing::new(tok.into_bytes())),
        _ => Out::Text(Zeroizing::new(tok.to_text())),
    })
}

fn decrypt(args: &[Arg], deterministic: bool) -> Fallible {
    let table = name_arg(&args[0], "the table")?;
    let column = name_arg(&args[1], "the column")?;
    let (row, token, extra) = if deterministic {
        (None, &args[2], args.get(3))
    } else {
        (row_arg(&args[2])?, &args[3], args.get(4))
    };
    let (bytes, blob) = match token {
        Arg::Null => return Ok(Out::Null),
        Arg::Text(s) => (
            field::decode_text(s).map_err(|e| format!("strongroom: {e}"))?,
            false,
        ),
        Arg::Blob(b) => (b.to_vec(), true),
        _ => return Err("strongroom: a token is text or a blob".into()),
    };
    let spec = settings(extra, blob, deterministic)?;
    // The column's settings decide which modes it reads and whether a row
    // binds: FieldCipher checks the token against them.
    let c = keys::cipher(&table, &column, spec)?;
    out_of(
        c.decrypt(&bytes, row.as_deref())
            .map_err(|e| format!("strongroom: {e}"))?,
    )
}

/// The blind index arguments `(table, column, value, len[, normalizer])`:
/// the column's cipher and the value.
pub(crate) fn index_args(
    args: &[&Arg],
) -> Result<Option<(std::sync::Arc<field::FieldCipher>, Value)>, String> {
    let table = name_arg(args[0], "the table")?;
    let column = name_arg(args[1], "the column")?;
    let ty = if matches!(args[2], Arg::Blob(_)) {
        ValueType::Bytes
    } else {
        ValueType::Text
    };
    let Some(value) = value_of(args[2], ty)? else {
        return Ok(None);
    };
    let len = match args[3] {
        Arg::Int(n) if (2..=32).contains(n) => *n as usize,
        _ => return Err("strongroom: the index length is an integer from 2 to 32".into()),
    };
    let normalizer = match args.get(4) {
        None | Some(Arg::Null) => Normalizer::None,
        Some(Arg::Text(n)) => Normalizer::from_name(n).ok_or("strongroom: unknown normalizer")?,
        _ => return Err("strongroom: the normalizer is a name".into()),
    };
    let normalizer = if ty == ValueType::Text {
        normalizer
    } else {
        Normalizer::None
    };
    let spec = ColumnSpec::new(ty).with_blind_index(len, normalizer);
    Ok(Some((keys::cipher(&table, &column, spec)?, value)))
}

fn index(args: &[Arg]) -> Fallible {
    let refs: Vec<&Arg> = args.iter().collect();
    let Some((c, value)) = index_args(&refs)? else {
        return Ok(Out::Null);
    };
    let t = c.index(Some(&value)).map_err(|e| format!("strongroom: {e}"))?;
    Ok(t.map_or(Out::Null, |t| Out::Blob(Zeroizing::new(t.as_bytes().to_vec()))))
}

fn token_version(args: &[Arg]) -> Fallible {
    let bytes = match &args[0] {
        Arg::Null => return Ok(Out::Null),
        Arg::Text(s) => field::decode_text(s).map_err(|e| format!("strongroom: {e}"))?,
        Arg::Blob(b) => b.to_vec(),
        _ => return Err("strongroom: a token is text or a blob".into()),
    };
    let info = field::inspect(&bytes).map_err(|e| format!("strongroom: {e}"))?;
    Ok(Out::Int(i64::from(info.key_version)))
}

type Body = fn(&[Arg]) -> Fallible;

/// The C entry of every function: copies the arguments, runs the body
/// given as user data, sets the result. No panic leaves it.
unsafe extern "C" fn call(ctx: *mut sqlite3_context, argc: c_int, argv: *mut *mut sqlite3_value) {
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user data is the `Body` function pointer registered with
        // this function (see `register`).
        let body: Body = unsafe { std::mem::transmute::<*mut c_void, Body>(api().user_data(ctx)) };
        let args: Vec<Arg> = (0..argc.max(0) as usize)
            // SAFETY: argv has argc entries (SQLite's contract).
            .map(|i| unsafe { arg(argv, i) })
            .collect();
        body(&args)
    }))
    .unwrap_or_else(|_| Err("strongroom: internal error".into()));
    // SAFETY: ctx is the context of this call.
    unsafe { set_result(ctx, r) };
}

fn enc_random(a: &[Arg]) -> Fallible {
    encrypt(a, false)
}

fn enc_det(a: &[Arg]) -> Fallible {
    encrypt(a, true)
}

fn dec_column(a: &[Arg]) -> Fallible {
    decrypt(a, false)
}

fn dec_det(a: &[Arg]) -> Fallible {
    decrypt(a, true)
}

/// Registers `name` with `argc` arguments.
///
/// # Safety
/// `db` must be the connection the extension is being loaded into.
unsafe fn register(db: *mut sqlite3, name: &str, argc: c_int, flags: c_int, body: Body) -> c_int {
    let cname = std::ffi::CString::new(name).expect("no NUL in names");
    // SAFETY: `db` is valid (caller); the name is NUL-terminated and copied
    // by SQLite; user data is a plain function pointer that needs no
    // destructor.
    unsafe {
        api().create_function(
            db,
            cname.as_ptr(),
            argc,
            SQLITE_UTF8 | flags,
            body as *mut c_void,
            call,
        )
    }
}

/// The entry point SQLite looks for in `libstrongroom_sqlite.so`.
///
/// # Safety
/// Called by SQLite only, with the connection, an error message slot and
/// its API table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_strongroomsqlite_init(
    db: *mut sqlite3,
    err: *mut *mut c_char,
    api_table: *mut Api,
) -> c_int {
    let _ = err;
    if api_table.is_null() {
        return SQLITE_ERROR;
    }
    API.store(api_table, Ordering::Release);
    let r = catch_unwind(|| {
        let key = SQLITE_DIRECTONLY;
        let table: [(&str, c_int, c_int, Body); 11] = [
            ("sr_encrypt", 4, key, enc_random),
            ("sr_encrypt", 5, key, enc_random),
            ("sr_encrypt_deterministic", 3, key | SQLITE_DETERMINISTIC, enc_det),
            ("sr_encrypt_deterministic", 4, key | SQLITE_DETERMINISTIC, enc_det),
            ("sr_decrypt", 4, key | SQLITE_DETERMINISTIC, dec_column),
            ("sr_decrypt", 5, key | SQLITE_DETERMINISTIC, dec_column),
            ("sr_decrypt_deterministic", 3, key | SQLITE_DETERMINISTIC, dec_det),
            ("sr_decrypt_deterministic", 4, key | SQLITE_DETERMINISTIC, dec_det),
            ("sr_index", 4, key | SQLITE_DETERMINISTIC, index),
            ("sr_index", 5, key | SQLITE_DETERMINISTIC, index),
            (
                "sr_token_version",
                1,
                SQLITE_INNOCUOUS | SQLITE_DETERMINISTIC,
                token_version,
            ),
        ];
        for (name, argc, flags, body) in table {
            // SAFETY: db is the connection being loaded (our caller's contract).
            let rc = unsafe { register(db, name, argc, flags, body) };
            if rc != SQLITE_OK {
                return rc;
            }
        }
        // SAFETY: as above; the module is a static.
        unsafe { lookup::register(db) }
    });
    r.unwrap_or(SQLITE_ERROR)
}

/// The generic entry point name, for loaders that use it.
///
/// # Safety
/// As [`sqlite3_strongroomsqlite_init`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_extension_init(
    db: *mut sqlite3,
    err: *mut *mut c_char,
    api_table: *mut Api,
) -> c_int {
    // SAFETY: same contract.
    unsafe { sqlite3_strongroomsqlite_init(db, err, api_table) }
}
