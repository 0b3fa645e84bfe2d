//! The few parts of SQLite's `sqlite3ext.h` the extension uses, written by
//! hand: a loadable extension reaches SQLite only through the table of
//! function pointers (`sqlite3_api_routines`) it is given at load time.
//! Slots are only ever added at the end of that table, so the indexes
//! below hold for every SQLite since 3.8 (3.31 for SQLITE_DIRECTONLY).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

/// A database connection (opaque).
#[repr(C)]
pub struct sqlite3 {
    _p: [u8; 0],
}

/// A function call's context (opaque).
#[repr(C)]
pub struct sqlite3_context {
    _p: [u8; 0],
}

/// A SQL value (opaque).
#[repr(C)]
pub struct sqlite3_value {
    _p: [u8; 0],
}

pub const SQLITE_OK: c_int = 0;
pub const SQLITE_ERROR: c_int = 1;
pub const SQLITE_NOMEM: c_int = 7;
pub const SQLITE_CONSTRAINT: c_int = 19;
pub const SQLITE_INTEGER: c_int = 1;
pub const SQLITE_FLOAT: c_int = 2;
pub const SQLITE_TEXT: c_int = 3;
pub const SQLITE_BLOB: c_int = 4;
pub const SQLITE_NULL: c_int = 5;
pub const SQLITE_UTF8: c_int = 1;
pub const SQLITE_DETERMINISTIC: c_int = 0x800;
pub const SQLITE_DIRECTONLY: c_int = 0x80000;
pub const SQLITE_INNOCUOUS: c_int = 0x200000;
/// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
pub const SQLITE_TRANSIENT: isize = -1;
pub const SQLITE_INDEX_CONSTRAINT_EQ: u8 = 2;
pub const SQLITE_VTAB_DIRECTONLY: c_int = 3;

// Slot numbers in sqlite3_api_routines (0-based, in declaration order).
const CREATE_MODULE: usize = 47;
const DECLARE_VTAB: usize = 50;
const MALLOC: usize = 68;
const RESULT_BLOB: usize = 78;
const RESULT_DOUBLE: usize = 79;
const RESULT_ERROR: usize = 80;
const RESULT_INT64: usize = 83;
const RESULT_NULL: usize = 84;
const RESULT_TEXT: usize = 85;
const USER_DATA: usize = 101;
const VALUE_BLOB: usize = 102;
const VALUE_BYTES: usize = 103;
const VALUE_DOUBLE: usize = 105;
const VALUE_INT64: usize = 107;
const VALUE_TEXT: usize = 109;
const VALUE_TYPE: usize = 113;
const CREATE_FUNCTION_V2: usize = 162;
const VTAB_CONFIG: usize = 177;

/// The start of `sqlite3_api_routines`: every slot is one function pointer
/// (up to `sqlite3_vtab_config`, SQLite 3.7.7).
#[repr(C)]
pub struct Api {
    slots: [*const c_void; VTAB_CONFIG + 1],
}

/// `sqlite3_vtab`: the base of a virtual table (SQLite fills `module` and
/// `refs`; an error message set in `err` is freed by SQLite with
/// `sqlite3_free`, so it comes from [`Api::malloc`]).
#[repr(C)]
pub struct sqlite3_vtab {
    pub module: *const sqlite3_module,
    pub refs: c_int,
    pub err: *mut c_char,
}

/// `sqlite3_vtab_cursor`: the base of a cursor (SQLite fills `vtab`).
#[repr(C)]
pub struct sqlite3_vtab_cursor {
    pub vtab: *mut sqlite3_vtab,
}

/// One `WHERE` term offered to `xBestIndex`.
#[repr(C)]
pub struct IndexConstraint {
    pub column: c_int,
    pub op: u8,
    pub usable: u8,
    pub term_offset: c_int,
}

/// One `ORDER BY` term offered to `xBestIndex`.
#[repr(C)]
pub struct IndexOrderBy {
    pub column: c_int,
    pub desc: u8,
}

/// What `xBestIndex` answers for one constraint.
#[repr(C)]
pub struct IndexConstraintUsage {
    pub argv_index: c_int,
    pub omit: u8,
}

/// `sqlite3_index_info` (as of SQLite 3.10: every field through `colUsed`).
#[repr(C)]
pub struct sqlite3_index_info {
    pub n_constraint: c_int,
    pub constraints: *const IndexConstraint,
    pub n_order_by: c_int,
    pub order_by: *const IndexOrderBy,
    pub usage: *mut IndexConstraintUsage,
    pub idx_num: c_int,
    pub idx_str: *mut c_char,
    pub need_to_free_idx_str: c_int,
    pub order_by_consumed: c_int,
    pub estimated_cost: f64,
    pub estimated_rows: i64,
    pub idx_flags: c_int,
    pub col_used: u64,
}

type VtabConnect = unsafe extern "C" fn(
    *mut sqlite3,
    *mut c_void,
    c_int,
    *const *const c_char,
    *mut *mut sqlite3_vtab,
    *mut *mut c_char,
) -> c_int;
type VtabBestIndex = unsafe extern "C" fn(*mut sqlite3_vtab, *mut sqlite3_index_info) -> c_int;
type VtabDisconnect = unsafe extern "C" fn(*mut sqlite3_vtab) -> c_int;
type VtabOpen = unsafe extern "C" fn(*mut sqlite3_vtab, *mut *mut sqlite3_vtab_cursor) -> c_int;
type CursorClose = unsafe extern "C" fn(*mut sqlite3_vtab_cursor) -> c_int;
type CursorFilter = unsafe extern "C" fn(
    *mut sqlite3_vtab_cursor,
    c_int,
    *const c_char,
    c_int,
    *mut *mut sqlite3_value,
) -> c_int;
type CursorNext = unsafe extern "C" fn(*mut sqlite3_vtab_cursor) -> c_int;
type CursorEof = unsafe extern "C" fn(*mut sqlite3_vtab_cursor) -> c_int;
type CursorColumn = unsafe extern "C" fn(*mut sqlite3_vtab_cursor, *mut sqlite3_context, c_int) -> c_int;
type CursorRowid = unsafe extern "C" fn(*mut sqlite3_vtab_cursor, *mut i64) -> c_int;

/// `sqlite3_module`, version 0 (the fields a read-only, eponymous-only
/// table-valued function needs; the rest stay NULL).
#[repr(C)]
pub struct sqlite3_module {
    pub version: c_int,
    pub create: Option<VtabConnect>,
    pub connect: Option<VtabConnect>,
    pub best_index: Option<VtabBestIndex>,
    pub disconnect: Option<VtabDisconnect>,
    pub destroy: Option<VtabDisconnect>,
    pub open: Option<VtabOpen>,
    pub close: Option<CursorClose>,
    pub filter: Option<CursorFilter>,
    pub next: Option<CursorNext>,
    pub eof: Option<CursorEof>,
    pub column: Option<CursorColumn>,
    pub rowid: Option<CursorRowid>,
    /// xUpdate through xShadowName and later: NULL (not offered).
    pub rest: [*const c_void; 11],
}

// SAFETY: the module is a table of function pointers and NULLs, never
// written after it is built; SQLite reads it from any thread.
unsafe impl Sync for sqlite3_module {}

type XFunc = unsafe extern "C" fn(*mut sqlite3_context, c_int, *mut *mut sqlite3_value);

macro_rules! slot {
    ($self:ident, $i:expr, $t:ty) => {{
        let p = $self.slots[$i];
        assert!(!p.is_null(), "SQLite API slot missing");
        std::mem::transmute::<*const c_void, $t>(p)
    }};
}

impl Api {
    /// `sqlite3_value_type`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn value_type(&self, v: *mut sqlite3_value) -> c_int {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                VALUE_TYPE,
                unsafe extern "C" fn(*mut sqlite3_value) -> c_int
            )(v)
        }
    }
    /// `sqlite3_value_int64`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn value_int64(&self, v: *mut sqlite3_value) -> i64 {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe { slot!(self, VALUE_INT64, unsafe extern "C" fn(*mut sqlite3_value) -> i64)(v) }
    }
    /// `sqlite3_value_text`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn value_text(&self, v: *mut sqlite3_value) -> *const u8 {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                VALUE_TEXT,
                unsafe extern "C" fn(*mut sqlite3_value) -> *const u8
            )(v)
        }
    }
    /// `sqlite3_value_bytes`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn value_bytes(&self, v: *mut sqlite3_value) -> c_int {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                VALUE_BYTES,
                unsafe extern "C" fn(*mut sqlite3_value) -> c_int
            )(v)
        }
    }
    /// `sqlite3_value_blob`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn value_blob(&self, v: *mut sqlite3_value) -> *const c_void {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                VALUE_BLOB,
                unsafe extern "C" fn(*mut sqlite3_value) -> *const c_void
            )(v)
        }
    }
    /// `sqlite3_result_null`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn result_null(&self, c: *mut sqlite3_context) {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe { slot!(self, RESULT_NULL, unsafe extern "C" fn(*mut sqlite3_context))(c) }
    }
    /// `sqlite3_result_int64`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn result_int64(&self, c: *mut sqlite3_context, i: i64) {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                RESULT_INT64,
                unsafe extern "C" fn(*mut sqlite3_context, i64)
            )(c, i)
        }
    }
    /// `sqlite3_result_text` (the destructor argument as its integer value).
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn result_text(&self, c: *mut sqlite3_context, p: *const c_char, n: c_int, d: isize) {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                RESULT_TEXT,
                unsafe extern "C" fn(*mut sqlite3_context, *const c_char, c_int, isize)
            )(c, p, n, d)
        }
    }
    /// `sqlite3_result_blob`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn result_blob(&self, c: *mut sqlite3_context, p: *const c_void, n: c_int, d: isize) {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                RESULT_BLOB,
                unsafe extern "C" fn(*mut sqlite3_context, *const c_void, c_int, isize)
            )(c, p, n, d)
        }
    }
    /// `sqlite3_result_error` (SQLite copies the message).
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn result_error(&self, c: *mut sqlite3_context, p: *const c_char, n: c_int) {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                RESULT_ERROR,
                unsafe extern "C" fn(*mut sqlite3_context, *const c_char, c_int)
            )(c, p, n)
        }
    }
    /// `sqlite3_user_data`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn user_data(&self, c: *mut sqlite3_context) -> *mut c_void {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                USER_DATA,
                unsafe extern "C" fn(*mut sqlite3_context) -> *mut c_void
            )(c)
        }
    }
    /// `sqlite3_create_function_v2` for a scalar function without destructor.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn create_function(
        &self,
        db: *mut sqlite3,
        name: *const c_char,
        argc: c_int,
        flags: c_int,
        data: *mut c_void,
        f: XFunc,
    ) -> c_int {
        type Create = unsafe extern "C" fn(
            *mut sqlite3,
            *const c_char,
            c_int,
            c_int,
            *mut c_void,
            Option<XFunc>,
            Option<XFunc>,
            Option<unsafe extern "C" fn(*mut sqlite3_context)>,
            Option<unsafe extern "C" fn(*mut c_void)>,
        ) -> c_int;
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(self, CREATE_FUNCTION_V2, Create)(db, name, argc, flags, data, Some(f), None, None, None)
        }
    }

    /// `sqlite3_result_double`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn result_double(&self, c: *mut sqlite3_context, v: f64) {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                RESULT_DOUBLE,
                unsafe extern "C" fn(*mut sqlite3_context, f64)
            )(c, v)
        }
    }
    /// `sqlite3_value_double`.
    /// # Safety
    /// Pointers as SQLite gave them for the running call.
    pub unsafe fn value_double(&self, v: *mut sqlite3_value) -> f64 {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes pointers SQLite gave it for this call.
        unsafe {
            slot!(
                self,
                VALUE_DOUBLE,
                unsafe extern "C" fn(*mut sqlite3_value) -> f64
            )(v)
        }
    }
    /// `sqlite3_malloc` (for memory SQLite frees, such as `zErrMsg`).
    /// # Safety
    /// None beyond the API table being SQLite's.
    pub unsafe fn malloc(&self, n: c_int) -> *mut c_void {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h).
        unsafe { slot!(self, MALLOC, unsafe extern "C" fn(c_int) -> *mut c_void)(n) }
    }
    /// `sqlite3_declare_vtab`.
    /// # Safety
    /// `db` is the connection passed to `xConnect`; `sql` is NUL-terminated.
    pub unsafe fn declare_vtab(&self, db: *mut sqlite3, sql: *const c_char) -> c_int {
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the caller passes the connection of the running xConnect.
        unsafe {
            slot!(
                self,
                DECLARE_VTAB,
                unsafe extern "C" fn(*mut sqlite3, *const c_char) -> c_int
            )(db, sql)
        }
    }
    /// `sqlite3_vtab_config(db, op)` for an option without arguments.
    /// # Safety
    /// `db` is the connection passed to `xConnect`.
    pub unsafe fn vtab_config(&self, db: *mut sqlite3, op: c_int) -> c_int {
        // SAFETY: the slot holds this C-variadic function (sqlite3ext.h);
        // the options used take no further argument.
        unsafe {
            slot!(
                self,
                VTAB_CONFIG,
                unsafe extern "C" fn(*mut sqlite3, c_int, ...) -> c_int
            )(db, op)
        }
    }
    /// `sqlite3_create_module` with no client data.
    /// # Safety
    /// `db` is the connection being loaded; `name` is NUL-terminated;
    /// `module` lives as long as the process.
    pub unsafe fn create_module(
        &self,
        db: *mut sqlite3,
        name: *const c_char,
        module: &'static sqlite3_module,
    ) -> c_int {
        type Create =
            unsafe extern "C" fn(*mut sqlite3, *const c_char, *const sqlite3_module, *mut c_void) -> c_int;
        // SAFETY: the slot holds a function of this type (sqlite3ext.h);
        // the module is a static, so it outlives every connection.
        unsafe { slot!(self, CREATE_MODULE, Create)(db, name, module, std::ptr::null_mut()) }
    }
}
