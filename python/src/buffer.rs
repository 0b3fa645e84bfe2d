//! A writable buffer of a Python object (`bytearray`, `memoryview`, an
//! `array`...) through the buffer protocol, so that reads land in the
//! caller's memory with no intermediate copy.
//!
//! The buffer protocol is part of the stable ABI from Python 3.11 on; this
//! module declares the two functions and the `Py_buffer` layout of that
//! ABI itself (pyo3-ffi omits them from an abi3-py39 build) and uses them
//! only after checking that the running interpreter is 3.11 or later.

#![allow(unsafe_code)]

use pyo3::ffi::{Py_ssize_t, PyObject};
use pyo3::prelude::*;
use std::ffi::{c_char, c_int, c_void};
use std::mem::MaybeUninit;
use std::sync::OnceLock;

/// `Py_buffer` as the stable ABI of Python 3.11 and later lays it out.
#[repr(C)]
struct PyBufferRaw {
    buf: *mut c_void,
    obj: *mut PyObject,
    len: Py_ssize_t,
    itemsize: Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut Py_ssize_t,
    strides: *mut Py_ssize_t,
    suboffsets: *mut Py_ssize_t,
    internal: *mut c_void,
}

/// `PyBUF_WRITABLE` (a writable, C-contiguous, unformatted byte buffer).
const PYBUF_WRITABLE: c_int = 0x0001;

// Not on Windows: python3.dll of 3.9 and 3.10 does not export them (the
// copying path is used there).
#[cfg(not(windows))]
unsafe extern "C" {
    fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut PyBufferRaw, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut PyBufferRaw);
}

/// Whether the running interpreter has the buffer protocol in its stable ABI.
#[cfg(not(windows))]
fn available(py: Python<'_>) -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| py.version_info() >= (3, 11))
}

/// A writable buffer exported by a Python object; released on drop.
pub(crate) struct WritableBuffer<'py> {
    /// Boxed: the exporter may keep the view's address (it never moves).
    view: Box<PyBufferRaw>,
    _py: Python<'py>,
}

impl<'py> WritableBuffer<'py> {
    /// The writable contiguous buffer of `obj`, or `None` when the
    /// interpreter has no stable buffer protocol (before 3.11) or `obj`
    /// exports none (read-only, non-contiguous, not a buffer).
    #[cfg(windows)]
    pub(crate) fn get(_obj: &Bound<'py, PyAny>) -> Option<Self> {
        None
    }

    /// See the other definition of this function.
    #[cfg(not(windows))]
    pub(crate) fn get(obj: &Bound<'py, PyAny>) -> Option<Self> {
        let py = obj.py();
        if !available(py) {
            return None;
        }
        let mut view = Box::new(MaybeUninit::<PyBufferRaw>::zeroed());
        // SAFETY: the interpreter is attached (`py`), `obj` is a live
        // object, `view` points to writable memory of the 3.11+ `Py_buffer`
        // layout, and the function exists in this interpreter (checked
        // above). On success CPython fills `view` and holds the export (the
        // memory stays valid and in place) until `PyBuffer_Release`.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), PYBUF_WRITABLE) };
        if rc != 0 {
            // BufferError or TypeError: let the caller take the copying path.
            drop(PyErr::take(py));
            return None;
        }
        // SAFETY: a successful `PyObject_GetBuffer` initialised the view;
        // `Box<MaybeUninit<T>>` and `Box<T>` have the same layout, and the
        // allocation (the address the exporter saw) is kept.
        let view = unsafe { Box::from_raw(Box::into_raw(view).cast::<PyBufferRaw>()) };
        let buffer = Self { view, _py: py };
        // A read-only or empty view is no buffer to read into (the drop
        // releases it).
        if buffer.view.readonly != 0 || buffer.view.buf.is_null() || buffer.view.len <= 0 {
            return None;
        }
        Some(buffer)
    }

    /// The buffer's bytes.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = usize::try_from(self.view.len).unwrap_or(0);
        if len == 0 || self.view.buf.is_null() || self.view.readonly != 0 {
            return &mut [];
        }
        // SAFETY: with PyBUF_WRITABLE and no PyBUF_ND the exporter gave one
        // writable, contiguous region of `len` bytes at `buf`, valid until
        // the release in `drop`; `&mut self` makes this the only slice of
        // it handed out from here. (Python code in another thread could
        // write to the same memory meanwhile, as with any `readinto`; it
        // cannot free or move it while the export is held.)
        unsafe { std::slice::from_raw_parts_mut(self.view.buf.cast::<u8>(), len) }
    }
}

impl Drop for WritableBuffer<'_> {
    #[cfg(windows)]
    fn drop(&mut self) {}

    #[cfg(not(windows))]
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful `PyObject_GetBuffer`
        // and is released once; the interpreter is attached (the `'py`
        // lifetime of `_py`).
        unsafe { PyBuffer_Release(&mut *self.view) }
    }
}
