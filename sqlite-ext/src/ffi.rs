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
pub const SQLITE_INTEGER: c_int = 1;
pub const SQLITE_TEXT: c_int = 3;
pub const SQLITE_BLOB: c_int = 4;
pub const SQLITE_NULL: c_int = 5;
pub const SQLITE_UTF8: c_int = 1;
pub const SQLITE_DETERMINISTIC: c_int = 0x800;
pub const SQLITE_DIRECTONLY: c_int = 0x80000;
pub const SQLITE_INNOCUOUS: c_int = 0x200000;
/// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
pub const SQLITE_TRANSIENT: isize = -1;

// Slot numbers in sqlite3_api_routines (0-based, in declaration order).
const RESULT_BLOB: usize = 78;
const RESULT_ERROR: usize = 80;
const RESULT_INT64: usize = 83;
const RESULT_NULL: usize = 84;
const RESULT_TEXT: usize = 85;
const USER_DATA: usize = 101;
const VALUE_BLOB: usize = 102;
const VALUE_BYTES: usize = 103;
const VALUE_INT64: usize = 107;
const VALUE_TEXT: usize = 109;
const VALUE_TYPE: usize = 113;
const CREATE_FUNCTION_V2: usize = 162;

/// The start of `sqlite3_api_routines`: every slot is one function pointer.
#[repr(C)]
pub struct Api {
    slots: [*const c_void; CREATE_FUNCTION_V2 + 1],
}

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
}
