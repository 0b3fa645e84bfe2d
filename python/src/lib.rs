//! `strongroom._native`: the private extension module under the public
//! pure-Python package `strongroom`.
//!
//! Every call into the core runs with the interpreter detached (other
//! Python threads keep running) and inside `catch_unwind`, so no panic
//! crosses into Python: a caught panic becomes the error table's `Panic`
//! row. Errors become the Python exception classes of `strongroom._errors`
//! (defined in Python), built from the core error's number, name and
//! message; no message carries key material.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use strongroom::error::{ErrorCode, TABLE, codes};
use strongroom::{Error, ErrorKind, Passphrase};

mod buffer;
mod fields;
mod files;
mod hazmat;
mod info;
mod keyring;
mod locks;
mod memory;
mod pyio;
mod writeahead;

/// The Python-side factory `strongroom._errors._from_native`.
static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Builds the Python exception for an error-table row.
pub(crate) fn table_err(py: Python<'_>, row: &ErrorCode, message: String, index: Option<usize>) -> PyErr {
    row_err(py, row, message, index, None, None)
}

/// Builds the Python exception for an error-table row; an I/O row also
/// gets the OS error number and the file name (the exception is then an
/// `OSError` subclass with `errno` and `filename` set).
fn row_err(
    py: Python<'_>,
    row: &ErrorCode,
    message: String,
    index: Option<usize>,
    errno: Option<i32>,
    filename: Option<&std::ffi::OsStr>,
) -> PyErr {
    let factory = match FACTORY.get_or_try_init(py, || {
        py.import("strongroom._errors")
            .and_then(|m| m.getattr("_from_native"))
            .map(Bound::unbind)
    }) {
        Ok(f) => f,
        Err(e) => return e,
    };
    match factory.call1(py, (row.code, row.name, message, index, errno, filename)) {
        Ok(exc) => PyErr::from_value(exc.into_bound(py)),
        Err(e) => e,
    }
}

/// The Python exception for a core error (a batch error keeps its index).
pub(crate) fn core_err(py: Python<'_>, e: Error) -> PyErr {
    let index = match &e {
        Error::Batch { index, .. } => Some(*index),
        _ => None,
    };
    core_err_at(py, e, index)
}

/// The Python exception for a core error, with the batch position `index`.
pub(crate) fn core_err_at(py: Python<'_>, e: Error, index: Option<usize>) -> PyErr {
    let message = match &e {
        Error::Batch { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    let (errno, filename) = match e.os_error() {
        Some((io, path)) => (io.raw_os_error(), path.map(std::path::Path::as_os_str)),
        None => (None, None),
    };
    row_err(py, e.ident(), message, index, errno, filename)
}

/// A usage error (`InvalidArgument`) raised by the binding itself.
pub(crate) fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    table_err(py, &codes::INVALID_ARGUMENT, message.into(), None)
}

/// The `Panic` row, for a panic caught at the boundary.
pub(crate) fn panic_err(py: Python<'_>) -> PyErr {
    table_err(
        py,
        &codes::PANIC,
        "internal error: a panic was caught at the strongroom boundary (a bug; please report it)".into(),
        None,
    )
}

/// Runs `f` with the interpreter detached and any panic caught.
pub(crate) fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> strongroom::Result<T> + Send) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(core_err(py, e)),
        Err(_) => Err(panic_err(py)),
    }
}

/// Runs `f` (which holds the interpreter) with any panic caught.
pub(crate) fn guarded<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(panic_err(py)),
    }
}

// Not on Windows: there an abi3 module links against python3.dll, whose
// 3.9 build does not export the function (the copying path is used).
#[cfg(not(windows))]
#[allow(unsafe_code)]
unsafe extern "C" {
    // Part of the stable ABI from Python 3.10 on, and of the full C API of
    // 3.9, but not declared by pyo3-ffi for an abi3-py39 build; called only
    // after `utf8_borrowable` checked the running interpreter's version.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::ffi::c_char;
}

/// Whether the running interpreter offers `PyUnicode_AsUTF8AndSize` in
/// its stable ABI (3.10 and later).
#[cfg(not(windows))]
fn utf8_borrowable(py: Python<'_>) -> bool {
    static BORROWABLE: OnceLock<bool> = OnceLock::new();
    *BORROWABLE.get_or_init(|| py.version_info() >= (3, 10))
}

/// The UTF-8 text of a `str`, borrowed from the object when the
/// interpreter allows it (3.10 and later: no copy), else copied. A `str`
/// is immutable and caches its UTF-8 form for its whole life, so the
/// borrowed text stays valid, with the interpreter released too, for as
/// long as the reference `s` is held. Unpaired surrogates raise
/// `UnicodeEncodeError`, as `str.encode()` does.
#[cfg(not(windows))]
#[allow(unsafe_code)]
pub(crate) fn str_utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    let py = s.py();
    if !utf8_borrowable(py) {
        return s.to_cow();
    }
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live `str` object (the `Bound` holds a reference and
    // the interpreter is attached, as `py` proves); the function exists in
    // this interpreter (version checked above). It returns a pointer to the
    // object's own cached UTF-8 buffer of `size` bytes (or NULL with an
    // exception set), which lives as long as the object, is never changed
    // (str objects are immutable) and is valid UTF-8.
    let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if data.is_null() {
        return Err(PyErr::fetch(py));
    }
    let len =
        usize::try_from(size).map_err(|_| pyo3::exceptions::PySystemError::new_err("negative str length"))?;
    // SAFETY: `data` points to `len` initialised bytes owned by `s` (see
    // above), borrowed for `'a`, the lifetime of the reference to `s`.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    // SAFETY: CPython's UTF-8 form of a str is valid UTF-8 (strings with
    // unpaired surrogates fail above instead).
    Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) }))
}

/// The UTF-8 text of a `str`, copied (see the other definition).
#[cfg(windows)]
pub(crate) fn str_utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    s.to_cow()
}

/// A passphrase from `str`, `bytes` or `bytearray` (UTF-8). Callables are
/// resolved by the Python layer.
pub(crate) fn passphrase(obj: &Bound<'_, PyAny>) -> PyResult<Passphrase> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Passphrase::new(s.to_cow()?.into_owned()));
    }
    let bytes: Vec<u8> = if let Ok(b) = obj.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(b) = obj.cast::<PyByteArray>() {
        b.to_vec()
    } else {
        return Err(invalid_argument(
            py,
            "a passphrase is a str, bytes, bytearray or a callable returning one",
        ));
    };
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Passphrase::new(s)),
        Err(e) => {
            let mut raw = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut raw);
            Err(table_err(
                py,
                &codes::INVALID_UTF8,
                "the passphrase bytes are not valid UTF-8".into(),
                None,
            ))
        }
    }
}

/// The error table: `(code, name, class name, class number, summary,
/// binding_only)` for every row, in number order.
#[pyfunction]
fn error_table() -> Vec<(u32, &'static str, &'static str, u8, &'static str, bool)> {
    TABLE
        .iter()
        .map(|r| {
            (
                r.code,
                r.name,
                r.kind.name(),
                r.kind.number(),
                r.summary,
                r.binding_only,
            )
        })
        .collect()
}

/// The error classes: `(number, name)` in number order.
#[pyfunction]
fn error_kinds() -> Vec<(u8, &'static str)> {
    ErrorKind::ALL.iter().map(|k| (k.number(), k.name())).collect()
}

/// Sets the number of worker threads of strongroom's pool for work that
/// starts afterwards (the core's `set_threads`: 0 returns to the default,
/// 1 runs single-threaded); the pool is shared by the whole process.
#[pyfunction]
fn set_threads(py: Python<'_>, threads: i64) -> PyResult<()> {
    let n = usize::try_from(threads)
        .map_err(|_| invalid_argument(py, format!("{threads} worker threads asked for; give 0 or more")))?;
    run(py, || strongroom::set_threads(n))
}

/// The number of worker threads strongroom's pool has, or will have when
/// it next starts (the core's `thread_count`). Starts nothing.
#[pyfunction]
fn thread_count() -> usize {
    strongroom::thread_count()
}

/// Raises a panic inside the guard, to test that none crosses the boundary.
#[pyfunction]
fn _test_panic(py: Python<'_>) -> PyResult<()> {
    run(py, || -> strongroom::Result<()> { panic!("test panic") })
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(error_table, m)?)?;
    m.add_function(wrap_pyfunction!(error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(thread_count, m)?)?;
    m.add("MAX_THREADS", strongroom::MAX_THREADS)?;
    keyring::register(m)?;
    files::register(m)?;
    fields::register(m)?;
    memory::register(m)?;
    info::register(m)?;
    hazmat::register(m)?;
    Ok(())
}
