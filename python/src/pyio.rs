//! `Read`, `Write` and `Seek` over a Python binary file object, so the
//! core's streams can read from and write to any of them. Each call
//! attaches to the interpreter for the duration of the Python call only.
//! A Python exception raised by the file object is kept, so the caller
//! re-raises it unchanged instead of a generic I/O error.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

/// The first Python exception a file object raised, shared with the caller.
/// A plain mutex (not a `locks` one): it is locked only while attached to
/// the interpreter, and never held across a call into Python or a wait, so
/// with the GIL it is never contended, and no fork (which needs the GIL)
/// can catch it held.
pub(crate) type Pending = Arc<Mutex<Option<PyErr>>>;

/// A Python binary file object.
pub(crate) struct PyFile {
    obj: Py<PyAny>,
    pending: Pending,
}

impl PyFile {
    /// Wraps `obj`; its exceptions go to `pending`.
    pub(crate) fn new(obj: Py<PyAny>, pending: Pending) -> Self {
        Self { obj, pending }
    }

    fn fail(&self, e: PyErr) -> io::Error {
        let mut slot = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        io::Error::other("the Python file object raised an exception")
    }
}

impl Read for PyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let got = self
                .obj
                .call_method1(py, "read", (buf.len(),))
                .map_err(|e| self.fail(e))?;
            if got.is_none(py) {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the file object has no data available (non-blocking)",
                ));
            }
            let got = got.bind(py);
            let bytes = got.cast::<PyBytes>().map_err(|e| self.fail(e.into()))?;
            let data = bytes.as_bytes();
            if data.len() > buf.len() {
                return Err(io::Error::other(
                    "the file object returned more bytes than asked for",
                ));
            }
            buf[..data.len()].copy_from_slice(data);
            Ok(data.len())
        })
    }
}

impl Write for PyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let n = self
                .obj
                .call_method1(py, "write", (PyBytes::new(py, buf),))
                .map_err(|e| self.fail(e))?;
            if n.is_none(py) {
                // Raw non-blocking files return None when nothing was
                // written; buffered and text-free files return a count.
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the file object is not ready",
                ));
            }
            let n: usize = n.extract(py).map_err(|e| self.fail(e))?;
            Ok(n.min(buf.len()))
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Python::attach(|py| {
            self.obj.call_method0(py, "flush").map_err(|e| self.fail(e))?;
            Ok(())
        })
    }
}

impl Seek for PyFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (offset, whence): (i64, i32) = match pos {
            SeekFrom::Start(n) => (i64::try_from(n).map_err(io::Error::other)?, 0),
            SeekFrom::Current(n) => (n, 1),
            SeekFrom::End(n) => (n, 2),
        };
        Python::attach(|py| {
            self.obj
                .call_method1(py, "seek", (offset, whence))
                .and_then(|r| r.extract::<u64>(py))
                .map_err(|e| self.fail(e))
        })
    }
}
