//! `sr_lookup_terms(table, column, value, len[, normalizer])`: a
//! table-valued function (an eponymous virtual table, as SQLite's own
//! `json_each`) with one row per usable key version, primary first: the
//! blind index terms to search while a rotation re-indexes the table, as
//! the library's `FieldCipher::lookup_terms`:
//!
//! ```sql
//! SELECT id FROM people
//!  WHERE id_no_idx IN (SELECT term FROM sr_lookup_terms('people', 'id_no', ?1, 8, 'digits-only'));
//! ```
//!
//! Columns: `term` (BLOB), `key_version` (INTEGER); the arguments are
//! hidden columns. The table is declared `SQLITE_VTAB_DIRECTONLY`, like the
//! functions that use a key: a view or trigger in the database file cannot
//! use it.

use crate::ffi::{
    IndexConstraintUsage, SQLITE_CONSTRAINT, SQLITE_ERROR, SQLITE_INDEX_CONSTRAINT_EQ, SQLITE_NOMEM,
    SQLITE_OK, SQLITE_TRANSIENT, SQLITE_VTAB_DIRECTONLY, sqlite3, sqlite3_context, sqlite3_index_info,
    sqlite3_module, sqlite3_value, sqlite3_vtab, sqlite3_vtab_cursor,
};
use crate::{Arg, api, arg, index_args};
use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The declared columns: two visible, then the five arguments.
const SCHEMA: &std::ffi::CStr =
    c"CREATE TABLE x(term BLOB, key_version INTEGER, tbl HIDDEN, col HIDDEN, value HIDDEN, len HIDDEN, normalizer HIDDEN)";
/// The first hidden column.
const FIRST_ARG: c_int = 2;
/// Arguments: four required, the normaliser optional.
const REQUIRED: c_int = 4;
const ARGS: c_int = 5;

/// A cursor: the base SQLite reads, then the rows of this call.
#[repr(C)]
struct Cursor {
    base: sqlite3_vtab_cursor,
    rows: Vec<(Vec<u8>, u32)>,
    pos: usize,
}

static MODULE: sqlite3_module = sqlite3_module {
    version: 0,
    // Eponymous only: no CREATE VIRTUAL TABLE.
    create: None,
    connect: Some(connect),
    best_index: Some(best_index),
    disconnect: Some(disconnect),
    destroy: None,
    open: Some(open),
    close: Some(close),
    filter: Some(filter),
    next: Some(next),
    eof: Some(eof),
    column: Some(column),
    rowid: Some(rowid),
    rest: [std::ptr::null(); 11],
};

/// Registers the module on `db`.
///
/// # Safety
/// `db` is the connection the extension is being loaded into.
pub(crate) unsafe fn register(db: *mut sqlite3) -> c_int {
    // SAFETY: the caller's promise; the name is a NUL-terminated static and
    // the module a static.
    unsafe { api().create_module(db, c"sr_lookup_terms".as_ptr(), &MODULE) }
}

/// Runs a callback body; a panic becomes `fallback`.
fn guard(fallback: c_int, f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Sets the virtual table's error message (in memory SQLite frees).
///
/// # Safety
/// `vtab` is this module's table, alive.
unsafe fn set_error(vtab: *mut sqlite3_vtab, msg: &str) {
    let a = api();
    // SAFETY: the message buffer comes from sqlite3_malloc, as zErrMsg
    // must (SQLite frees the previous one and this one with sqlite3_free);
    // it is written in full, NUL included, before SQLite can read it.
    unsafe {
        let len = msg.len().min(4096);
        let p = a.malloc(len as c_int + 1) as *mut u8;
        if p.is_null() {
            return;
        }
        std::ptr::copy_nonoverlapping(msg.as_ptr(), p, len);
        *p.add(len) = 0;
        (*vtab).err = p as *mut c_char;
    }
}

unsafe extern "C" fn connect(
    db: *mut sqlite3,
    _aux: *mut c_void,
    _argc: c_int,
    _argv: *const *const c_char,
    out: *mut *mut sqlite3_vtab,
    _err: *mut *mut c_char,
) -> c_int {
    guard(SQLITE_ERROR, || {
        let a = api();
        // SAFETY: db is the connection of this xConnect; the schema is a
        // NUL-terminated static.
        let rc = unsafe { a.declare_vtab(db, SCHEMA.as_ptr()) };
        if rc != SQLITE_OK {
            return rc;
        }
        // SAFETY: as above; DIRECTONLY takes no further argument.
        unsafe { a.vtab_config(db, SQLITE_VTAB_DIRECTONLY) };
        let vtab = Box::new(sqlite3_vtab {
            module: std::ptr::null(),
            refs: 0,
            err: std::ptr::null_mut(),
        });
        // SAFETY: `out` is SQLite's slot for the new table; `disconnect`
        // frees the box.
        unsafe { *out = Box::into_raw(vtab) };
        SQLITE_OK
    })
}

unsafe extern "C" fn disconnect(vtab: *mut sqlite3_vtab) -> c_int {
    guard(SQLITE_ERROR, || {
        // SAFETY: made by `connect` with Box::into_raw; SQLite disconnects
        // a table once. zErrMsg, if any, was already freed by SQLite.
        drop(unsafe { Box::from_raw(vtab) });
        SQLITE_OK
    })
}

unsafe extern "C" fn best_index(_vtab: *mut sqlite3_vtab, info: *mut sqlite3_index_info) -> c_int {
    guard(SQLITE_ERROR, || {
        // SAFETY: SQLite passes a valid index_info whose arrays have
        // n_constraint entries, for the duration of the call.
        let info = unsafe { &mut *info };
        let n = info.n_constraint.max(0) as usize;
        // SAFETY: as above.
        let (cons, usage) = unsafe {
            (
                std::slice::from_raw_parts(info.constraints, n),
                std::slice::from_raw_parts_mut(info.usage, n),
            )
        };
        // The equality constraint on each argument column, if usable.
        let mut by_arg: [Option<usize>; ARGS as usize] = [None; ARGS as usize];
        for (i, c) in cons.iter().enumerate() {
            let a = c.column - FIRST_ARG;
            if (0..ARGS).contains(&a) && c.op == SQLITE_INDEX_CONSTRAINT_EQ && c.usable != 0 {
                by_arg[a as usize] = Some(i);
            }
        }
        // Without its required arguments this plan cannot run.
        if by_arg[..REQUIRED as usize].iter().any(Option::is_none) {
            return SQLITE_CONSTRAINT;
        }
        let mut next = 1;
        for (a, slot) in by_arg.iter().enumerate() {
            if let Some(i) = slot {
                usage[*i] = IndexConstraintUsage {
                    argv_index: next,
                    omit: 1,
                };
                next += 1;
                if a as c_int >= REQUIRED {
                    info.idx_num |= 1;
                }
            }
        }
        info.estimated_cost = 1.0;
        info.estimated_rows = 4;
        SQLITE_OK
    })
}

unsafe extern "C" fn open(_vtab: *mut sqlite3_vtab, out: *mut *mut sqlite3_vtab_cursor) -> c_int {
    guard(SQLITE_NOMEM, || {
        let cursor = Box::new(Cursor {
            base: sqlite3_vtab_cursor {
                vtab: std::ptr::null_mut(),
            },
            rows: Vec::new(),
            pos: 0,
        });
        // SAFETY: `out` is SQLite's slot for the cursor; `base` is the
        // first field of a repr(C) struct, so the pointers are the same;
        // `close` frees it.
        unsafe { *out = Box::into_raw(cursor) as *mut sqlite3_vtab_cursor };
        SQLITE_OK
    })
}

/// The cursor of a base pointer.
///
/// # Safety
/// `cur` was made by `open` and not closed.
unsafe fn cursor<'a>(cur: *mut sqlite3_vtab_cursor) -> &'a mut Cursor {
    // SAFETY: the caller's promise; see `open`.
    unsafe { &mut *(cur as *mut Cursor) }
}

unsafe extern "C" fn close(cur: *mut sqlite3_vtab_cursor) -> c_int {
    guard(SQLITE_ERROR, || {
        // SAFETY: made by `open` with Box::into_raw; closed once.
        drop(unsafe { Box::from_raw(cur as *mut Cursor) });
        SQLITE_OK
    })
}

unsafe extern "C" fn filter(
    cur: *mut sqlite3_vtab_cursor,
    idx_num: c_int,
    _idx_str: *const c_char,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) -> c_int {
    guard(SQLITE_ERROR, || {
        // SAFETY: SQLite passes a cursor of this module and argc values.
        let c = unsafe { cursor(cur) };
        let args: Vec<Arg> = (0..argc.max(0) as usize)
            // SAFETY: argv has argc entries.
            .map(|i| unsafe { arg(argv, i) })
            .collect();
        let expected = REQUIRED as usize + usize::from(idx_num & 1 != 0);
        let result = if args.len() != expected {
            Err("strongroom: sr_lookup_terms(table, column, value, len[, normalizer])".to_string())
        } else {
            let refs: Vec<&Arg> = args.iter().collect();
            index_args(&refs).and_then(|found| match found {
                None => Ok(Vec::new()),
                Some((cipher, value)) => cipher
                    .lookup_terms(Some(&value))
                    .map(|terms| {
                        terms
                            .iter()
                            .map(|t| (t.as_bytes().to_vec(), t.key_version()))
                            .collect()
                    })
                    .map_err(|e| format!("strongroom: {e}")),
            })
        };
        c.pos = 0;
        match result {
            Ok(rows) => {
                c.rows = rows;
                SQLITE_OK
            }
            Err(msg) => {
                c.rows.clear();
                // SAFETY: SQLite set the cursor's table before xFilter.
                unsafe { set_error(c.base.vtab, &msg) };
                SQLITE_ERROR
            }
        }
    })
}

unsafe extern "C" fn next(cur: *mut sqlite3_vtab_cursor) -> c_int {
    guard(SQLITE_ERROR, || {
        // SAFETY: a cursor of this module.
        unsafe { cursor(cur) }.pos += 1;
        SQLITE_OK
    })
}

unsafe extern "C" fn eof(cur: *mut sqlite3_vtab_cursor) -> c_int {
    guard(1, || {
        // SAFETY: a cursor of this module.
        let c = unsafe { cursor(cur) };
        c_int::from(c.pos >= c.rows.len())
    })
}

unsafe extern "C" fn column(cur: *mut sqlite3_vtab_cursor, ctx: *mut sqlite3_context, i: c_int) -> c_int {
    guard(SQLITE_ERROR, || {
        // SAFETY: a cursor of this module, not at its end (SQLite checks
        // xEof first).
        let c = unsafe { cursor(cur) };
        let Some((term, version)) = c.rows.get(c.pos) else {
            return SQLITE_ERROR;
        };
        let a = api();
        // SAFETY: ctx is this call's context; SQLite copies the blob.
        unsafe {
            match i {
                0 => a.result_blob(
                    ctx,
                    term.as_ptr() as *const c_void,
                    term.len() as c_int,
                    SQLITE_TRANSIENT,
                ),
                1 => a.result_int64(ctx, i64::from(*version)),
                _ => a.result_null(ctx),
            }
        }
        SQLITE_OK
    })
}

unsafe extern "C" fn rowid(cur: *mut sqlite3_vtab_cursor, out: *mut i64) -> c_int {
    guard(SQLITE_ERROR, || {
        // SAFETY: a cursor of this module; `out` is SQLite's slot.
        unsafe { *out = cursor(cur).pos as i64 };
        SQLITE_OK
    })
}
