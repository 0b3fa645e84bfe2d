//! `libstrongroom_sqlite.so`: SQL functions over strongroom field tokens
//! for SQLite, loaded with `.load` in the sqlite3 shell or
//! `load_extension()` from an application.
//!
//! | function | result |
//! |---|---|
//! | `sr_encrypt(table, column, rowkey, value)` | random-mode token: text token for a TEXT value, binary token for a BLOB; NULL stays NULL; `rowkey` NULL binds no row |
//! | `sr_encrypt_deterministic(table, column, value)` | deterministic token (equal values, equal tokens) |
//! | `sr_decrypt(table, column, rowkey, token)` | the value (TEXT from a text token of a text value, BLOB for bytes) |
//! | `sr_index(table, column, value, len[, normalizer])` | blind index term (BLOB of `len` bytes) |
//! | `sr_token_version(token)` | key version in a token's header (needs no key) |
//!
//! The row key is an integer's decimal text or a text's UTF-8 bytes, as
//! `strongroom db` and `strongroom field --rows` use. Keys never travel as
//! SQL arguments: the keyring is opened (once, on first use) from
//! `STRONGROOM_KEYRING`, unlocked with the passphrase in the file named by
//! `STRONGROOM_KEYRING_PASSPHRASE_FILE`, or in the environment variable
//! named by `STRONGROOM_KEYRING_PASSPHRASE_ENV`, or in
//! `STRONGROOM_KEYRING_PASSPHRASE` (the command line's default). Every
//! function that uses a key is registered `SQLITE_DIRECTONLY`: a trigger or
//! view planted in an untrusted database file cannot call it.
//!
//! No panic crosses into SQLite (every callback runs under
//! `catch_unwind`), and no error message holds a value.

#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};
use strongroom::Passphrase;
use strongroom::field::{self, ColumnSpec, FieldCipher, Mode, Normalizer, Suite, Value, ValueType};
use strongroom::keyring::{Keyring, Unlock};
use zeroize::Zeroizing;

mod ffi;
use ffi::{
    Api, SQLITE_BLOB, SQLITE_DETERMINISTIC, SQLITE_DIRECTONLY, SQLITE_ERROR, SQLITE_INNOCUOUS,
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
enum Arg {
    Null,
    Int(i64),
    Text(Zeroizing<String>),
    Blob(Zeroizing<Vec<u8>>),
    Other,
}

/// Copies argument `i` of `argv`.
///
/// # Safety
/// `argv` must be the argument array SQLite passed with `argc > i`.
unsafe fn arg(argv: *mut *mut sqlite3_value, i: usize) -> Arg {
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
    Text(Zeroizing<String>),
    Blob(Vec<u8>),
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
            Ok(Out::Text(s)) => a.result_text(ctx, s.as_ptr() as *const c_char, s.len() as c_int, transient),
            Ok(Out::Blob(b)) => a.result_blob(ctx, b.as_ptr() as *const c_void, b.len() as c_int, transient),
            Err(msg) => a.result_error(ctx, msg.as_ptr() as *const c_char, msg.len() as c_int),
        }
    }
}

/// The keyring, opened on first use.
fn keyring() -> Result<&'static Keyring, String> {
    static RING: OnceLock<Result<Keyring, String>> = OnceLock::new();
    RING.get_or_init(open_keyring).as_ref().map_err(Clone::clone)
}

fn open_keyring() -> Result<Keyring, String> {
    let path = std::env::var_os("STRONGROOM_KEYRING")
        .ok_or("strongroom: STRONGROOM_KEYRING (the keyring path) is not set")?;
    let secret: Zeroizing<String> = if let Some(file) = std::env::var_os("STRONGROOM_KEYRING_PASSPHRASE_FILE")
    {
        let mut s = Zeroizing::new(
            std::fs::read_to_string(&file)
                .map_err(|e| format!("strongroom: cannot read the passphrase file: {e}"))?,
        );
        if s.ends_with('\n') {
            s.pop();
        }
        s
    } else if let Ok(var) = std::env::var("STRONGROOM_KEYRING_PASSPHRASE_ENV") {
        Zeroizing::new(std::env::var(&var).map_err(|_| format!("strongroom: {var} is not set"))?)
    } else {
        Zeroizing::new(std::env::var("STRONGROOM_KEYRING_PASSPHRASE").map_err(|_| {
            "strongroom: no keyring passphrase source (STRONGROOM_KEYRING_PASSPHRASE_FILE, _ENV or STRONGROOM_KEYRING_PASSPHRASE)"
                .to_string()
        })?)
    };
    Keyring::open(
        std::path::Path::new(&path),
        &Unlock::Passphrase(Passphrase::from(secret.as_str())),
    )
    .map_err(|e| format!("strongroom: cannot open the keyring: {e}"))
}

/// Column ciphers, built once per setup.
type Key = (String, String, u8, bool, Option<(usize, &'static str)>);

fn with_cipher<R>(
    table: &str,
    column: &str,
    ty: ValueType,
    det: bool,
    index: Option<(usize, Normalizer)>,
    f: impl FnOnce(&FieldCipher) -> Result<R, String>,
) -> Result<R, String> {
    static CIPHERS: OnceLock<Mutex<HashMap<Key, FieldCipher>>> = OnceLock::new();
    let ring = keyring()?;
    let key: Key = (
        table.into(),
        column.into(),
        ty.tag(),
        det,
        index.map(|(l, n)| (l, n.name())),
    );
    let mut map = CIPHERS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| "strongroom: poisoned cache")?;
    if !map.contains_key(&key) {
        let mut spec = ColumnSpec::new(ty);
        if det {
            spec = spec.deterministic();
        }
        if let Some((len, n)) = index {
            spec = spec.with_blind_index(len, n);
        }
        let c = FieldCipher::new(ring, table, column, spec).map_err(|e| format!("strongroom: {e}"))?;
        map.insert(key.clone(), c);
    }
    f(&map[&key])
}

fn name_arg(a: &Arg, what: &str) -> Result<String, String> {
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

fn value_arg(a: &Arg) -> Result<Option<Value>, String> {
    match a {
        Arg::Null => Ok(None),
        Arg::Text(s) => Ok(Some(Value::from(s.as_str()))),
        Arg::Blob(b) => Ok(Some(Value::from(b.as_slice()))),
        Arg::Int(i) => Ok(Some(Value::from(i.to_string()))),
        Arg::Other => Err("strongroom: the value must be text, a blob, an integer or NULL".into()),
    }
}

fn encrypt(args: &[Arg], det: bool) -> Fallible {
    let table = name_arg(&args[0], "the table")?;
    let column = name_arg(&args[1], "the column")?;
    let (row, value) = if det {
        (None, value_arg(&args[2])?)
    } else {
        (row_arg(&args[2])?, value_arg(&args[3])?)
    };
    let Some(value) = value else { return Ok(Out::Null) };
    let ty = value.value_type();
    with_cipher(&table, &column, ty, det, None, |c| {
        let tok = c
            .encrypt(Some(&value), row.as_deref())
            .map_err(|e| format!("strongroom: {e}"))?
            .ok_or("strongroom: no token")?;
        Ok(match ty {
            ValueType::Bytes => Out::Blob(tok.into_bytes()),
            _ => Out::Text(Zeroizing::new(tok.to_text())),
        })
    })
}

fn decrypt(args: &[Arg]) -> Fallible {
    let table = name_arg(&args[0], "the table")?;
    let column = name_arg(&args[1], "the column")?;
    let row = row_arg(&args[2])?;
    let (bytes, ty) = match &args[3] {
        Arg::Null => return Ok(Out::Null),
        Arg::Text(s) => (
            field::decode_text(s).map_err(|e| format!("strongroom: {e}"))?,
            ValueType::Text,
        ),
        Arg::Blob(b) => (b.to_vec(), ValueType::Bytes),
        _ => return Err("strongroom: a token is text or a blob".into()),
    };
    let info = field::inspect(&bytes).map_err(|e| format!("strongroom: {e}"))?;
    let det = info.suite == Suite::Aes256Siv;
    with_cipher(&table, &column, ty, det, None, |c| {
        let row = if Mode::of_suite(info.suite).binds_rows() {
            row.as_deref()
        } else {
            None
        };
        match &c.decrypt(&bytes, row).map_err(|e| format!("strongroom: {e}"))? {
            None => Ok(Out::Null),
            Some(Value::Text(s)) => Ok(Out::Text(Zeroizing::new(s.to_string()))),
            Some(Value::Bytes(b)) => Ok(Out::Blob(b.to_vec())),
            Some(v) => Ok(Out::Text(v.to_text().map_err(|e| format!("strongroom: {e}"))?)),
        }
    })
}

fn index(args: &[Arg]) -> Fallible {
    let table = name_arg(&args[0], "the table")?;
    let column = name_arg(&args[1], "the column")?;
    let Some(value) = value_arg(&args[2])? else {
        return Ok(Out::Null);
    };
    let len = match &args[3] {
        Arg::Int(n) if (2..=32).contains(n) => *n as usize,
        _ => return Err("strongroom: the index length is an integer from 2 to 32".into()),
    };
    let normalizer = match args.get(4) {
        None | Some(Arg::Null) => Normalizer::None,
        Some(Arg::Text(n)) => Normalizer::from_name(n).ok_or("strongroom: unknown normalizer")?,
        _ => return Err("strongroom: the normalizer is a name".into()),
    };
    let normalizer = if value.value_type() == ValueType::Text {
        normalizer
    } else {
        Normalizer::None
    };
    with_cipher(
        &table,
        &column,
        value.value_type(),
        false,
        Some((len, normalizer)),
        |c| {
            let t = c.index(Some(&value)).map_err(|e| format!("strongroom: {e}"))?;
            Ok(t.map_or(Out::Null, |t| Out::Blob(t.as_bytes().to_vec())))
        },
    )
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
        // this function (see `register`); argv has argc entries.
        let body: Body = unsafe { std::mem::transmute::<*mut c_void, Body>(api().user_data(ctx)) };
        let args: Vec<Arg> = (0..argc.max(0) as usize)
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
        let table: [(&str, c_int, c_int, Body); 6] = [
            ("sr_encrypt", 4, key, enc_random),
            ("sr_encrypt_deterministic", 3, key | SQLITE_DETERMINISTIC, enc_det),
            ("sr_decrypt", 4, key | SQLITE_DETERMINISTIC, decrypt),
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
        SQLITE_OK
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
