//! Whole-file encryption and the streams behind `strongroom.open`.

use crate::buffer::WritableBuffer;
use crate::keyring::{PyKeyring, kdf, kdf_budget};
use crate::locks::{Exclusive, Guard};
use crate::pyio::{Pending, PyFile};
use crate::writeahead::{Stopped, WriteAhead, parent_writer};
use crate::{core_err, guarded, invalid_argument, panic_err, passphrase};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use strongroom::file::{
    self, Decryptor, Encryptor, FileOptions, Identity, OutputFile, Recipient, Rewrap, SeekableDecryptor,
};
use strongroom::keyring::Keyring;
use strongroom::passphrase::{KdfBudget, KdfParams};
use strongroom::{Error, Passphrase, Result};
use zeroize::{Zeroize, Zeroizing};

/// Runs `f` with the keyring (if any) read-locked.
pub(crate) fn with_keyring<T>(
    kr: Option<&Py<PyKeyring>>,
    f: impl FnOnce(Option<&Keyring>) -> Result<T>,
) -> Result<T> {
    match kr {
        Some(k) => k.get().with(|k| f(Some(k))),
        None => f(None),
    }
}

pub(crate) fn recipients<'a>(
    kr: Option<&'a Keyring>,
    passes: &'a [Passphrase],
    params: KdfParams,
) -> Vec<Recipient<'a>> {
    let mut out: Vec<Recipient<'a>> = kr.map(Recipient::Keyring).into_iter().collect();
    out.extend(passes.iter().map(|p| Recipient::Passphrase(p, params)));
    out
}

pub(crate) fn identities<'a>(
    kr: Option<&'a Keyring>,
    passes: &'a [Passphrase],
    budget: KdfBudget,
) -> Vec<Identity<'a>> {
    let mut out: Vec<Identity<'a>> = kr.map(Identity::Keyring).into_iter().collect();
    out.extend(passes.iter().map(|p| Identity::PassphraseWithBudget(p, budget)));
    out
}

pub(crate) fn passphrases(list: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<Passphrase>> {
    list.iter().map(passphrase).collect()
}

/// A whole-file operation with progress reports, Ctrl-C and exceptions
/// from the progress callback: the callback and the signal check run on the
/// calling thread (which the core uses for its reports); an exception
/// there cancels the operation, which leaves no output, and is re-raised.
fn whole_file<T: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce(&FileOptions<'_>) -> Result<T> + Send,
    overwrite: bool,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    // Locked only while attached, never across a wait (see `Pending`).
    let pending: Mutex<Option<PyErr>> = Mutex::new(None);
    let report = |done: u64, total: u64| {
        Python::attach(|py| {
            let r = py.check_signals().and_then(|()| match &progress {
                Some(cb) => cb.call1(py, (done, total)).map(drop),
                None => Ok(()),
            });
            if let Err(e) = r {
                let mut slot = pending.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    *slot = Some(e);
                }
                cancel.store(true, Ordering::Relaxed);
            }
        })
    };
    let result = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let opts = FileOptions::new()
                .overwrite(overwrite)
                .progress(&report)
                .cancel(&cancel);
            work(&opts)
        }))
    });
    let pending = pending.into_inner().unwrap_or_else(|p| p.into_inner());
    match result {
        Err(_) => Err(panic_err(py)),
        Ok(r) => match (r, pending) {
            (_, Some(e)) => Err(e),
            (Ok(v), None) => Ok(v),
            (Err(e), None) => Err(core_err(py, e)),
        },
    }
}

/// Encrypts the file `src` to `dst` (atomically) for the keyring and/or
/// passphrases. Returns the plaintext length.
#[pyfunction]
#[pyo3(signature = (src, dst, keyring=None, passphrases=Vec::new(), kdf=None, overwrite=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn encrypt_file(
    py: Python<'_>,
    src: PathBuf,
    dst: PathBuf,
    keyring: Option<Py<PyKeyring>>,
    passphrases: Vec<Bound<'_, PyAny>>,
    kdf: Option<(u32, u32, u32)>,
    overwrite: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<u64> {
    let passes = self::passphrases(passphrases)?;
    let params = self::kdf(kdf);
    whole_file(
        py,
        progress,
        |opts| {
            with_keyring(keyring.as_ref(), |kr| {
                let info = file::encrypt_file(&src, &dst, &recipients(kr, &passes, params), opts)?;
                Ok(info.plaintext_len.unwrap_or(0))
            })
        },
        overwrite,
    )
}

/// Decrypts the file `src` to `dst` (atomically; `dst` appears only once
/// the whole file authenticated). Returns the plaintext length.
#[pyfunction]
#[pyo3(signature = (src, dst, keyring=None, passphrases=Vec::new(), overwrite=false, progress=None, kdf_budget=None))]
#[allow(clippy::too_many_arguments)]
fn decrypt_file(
    py: Python<'_>,
    src: PathBuf,
    dst: PathBuf,
    keyring: Option<Py<PyKeyring>>,
    passphrases: Vec<Bound<'_, PyAny>>,
    overwrite: bool,
    progress: Option<Py<PyAny>>,
    kdf_budget: Option<(u32, u32)>,
) -> PyResult<u64> {
    let passes = self::passphrases(passphrases)?;
    let budget = self::kdf_budget(kdf_budget);
    whole_file(
        py,
        progress,
        |opts| {
            with_keyring(keyring.as_ref(), |kr| {
                file::decrypt_file(&src, &dst, &identities(kr, &passes, budget), opts)
            })
        },
        overwrite,
    )
}

/// Runs `f` with two keyrings (either may be absent) read-locked; the same
/// keyring given twice is locked once.
fn with_keyrings<T>(
    a: Option<&Py<PyKeyring>>,
    b: Option<&Py<PyKeyring>>,
    f: impl FnOnce(Option<&Keyring>, Option<&Keyring>) -> Result<T>,
) -> Result<T> {
    match (a, b) {
        (Some(x), Some(y)) if Arc::ptr_eq(&x.get().inner, &y.get().inner) => {
            x.get().with(|k| f(Some(k), Some(k)))
        }
        _ => with_keyring(a, |ka| with_keyring(b, |kb| f(ka, kb))),
    }
}

/// Re-encrypts the file `src` under a new file key and file id for
/// exactly the keyring `to_keyring` and/or the passphrases
/// `to_passphrases`, after opening it with `keyring` and/or
/// `passphrases`. In place (atomically) when `dst` is `None`, else into
/// `dst`. Returns the plaintext length.
#[pyfunction]
#[pyo3(signature = (src, dst=None, keyring=None, passphrases=Vec::new(), to_keyring=None, to_passphrases=Vec::new(), kdf=None, overwrite=false, progress=None, kdf_budget=None))]
#[allow(clippy::too_many_arguments)]
fn rekey_file(
    py: Python<'_>,
    src: PathBuf,
    dst: Option<PathBuf>,
    keyring: Option<Py<PyKeyring>>,
    passphrases: Vec<Bound<'_, PyAny>>,
    to_keyring: Option<Py<PyKeyring>>,
    to_passphrases: Vec<Bound<'_, PyAny>>,
    kdf: Option<(u32, u32, u32)>,
    overwrite: bool,
    progress: Option<Py<PyAny>>,
    kdf_budget: Option<(u32, u32)>,
) -> PyResult<u64> {
    let passes = self::passphrases(passphrases)?;
    let budget = self::kdf_budget(kdf_budget);
    let new_passes = self::passphrases(to_passphrases)?;
    let params = self::kdf(kdf);
    whole_file(
        py,
        progress,
        |opts| {
            with_keyrings(keyring.as_ref(), to_keyring.as_ref(), |from, to| {
                let info = file::rekey_file(
                    &src,
                    dst.as_deref(),
                    &identities(from, &passes, budget),
                    &recipients(to, &new_passes, params),
                    opts,
                )?;
                Ok(info.plaintext_len.unwrap_or(0))
            })
        },
        overwrite,
    )
}

/// Rewrites who can open the file at `path` (in place, atomically)
/// without touching its payload, after opening it with `keyring` and/or
/// `passphrases`: `to_primary` replaces that keyring's stanzas with one
/// for its primary version, then the removals and additions. Returns the
/// plaintext length.
#[pyfunction]
#[pyo3(signature = (path, keyring=None, passphrases=Vec::new(), to_primary=None, remove_keyrings=false, add_passphrases=Vec::new(), remove_passphrases=Vec::new(), remove_all_passphrases=false, kdf=None, progress=None, kdf_budget=None))]
#[allow(clippy::too_many_arguments)]
fn rewrap_file(
    py: Python<'_>,
    path: PathBuf,
    keyring: Option<Py<PyKeyring>>,
    passphrases: Vec<Bound<'_, PyAny>>,
    to_primary: Option<Py<PyKeyring>>,
    remove_keyrings: bool,
    add_passphrases: Vec<Bound<'_, PyAny>>,
    remove_passphrases: Vec<Bound<'_, PyAny>>,
    remove_all_passphrases: bool,
    kdf: Option<(u32, u32, u32)>,
    progress: Option<Py<PyAny>>,
    kdf_budget: Option<(u32, u32)>,
) -> PyResult<u64> {
    let passes = self::passphrases(passphrases)?;
    let budget = self::kdf_budget(kdf_budget);
    let adds = self::passphrases(add_passphrases)?;
    let removes = self::passphrases(remove_passphrases)?;
    let params = self::kdf(kdf);
    whole_file(
        py,
        progress,
        |opts| {
            with_keyrings(keyring.as_ref(), to_primary.as_ref(), |from, to| {
                let mut plan = Rewrap::new()
                    .remove_keyrings(remove_keyrings)
                    .remove_all_passphrases(remove_all_passphrases);
                if let Some(k) = to {
                    plan = plan.to_primary(k);
                }
                for p in &adds {
                    plan = plan.add_passphrase(p, params);
                }
                for p in &removes {
                    plan = plan.remove_passphrase(p);
                }
                let info = file::rewrap_file(&path, &identities(from, &passes, budget), &plan, opts)?;
                Ok(info.plaintext_len.unwrap_or(0))
            })
        },
        false,
    )
}

/// The error to raise: the file object's own exception if it raised one.
fn stream_err(py: Python<'_>, e: Error, pending: &Pending) -> PyErr {
    let mut slot = pending.lock().unwrap_or_else(|p| p.into_inner());
    match slot.take() {
        Some(py_err) => py_err,
        None => core_err(py, e),
    }
}

/// Runs a stream step with the interpreter detached and panics caught.
fn step<T: Send>(py: Python<'_>, pending: &Pending, f: impl FnOnce() -> Result<T> + Send) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(stream_err(py, e, pending)),
        Err(_) => Err(panic_err(py)),
    }
}

/// An encrypting stream: on a thread of its own for a path (the caller's
/// next piece is read while this one is sealed and written), in the
/// caller's thread for a Python file object (whose writes need the
/// interpreter).
enum Stream {
    Ahead(WriteAhead<OutputFile>),
    Direct(Box<Encryptor<PyFile>>),
    /// A write to the path failed: the file was abandoned, and every later
    /// write or close says so.
    Failed,
}

/// What a write or close of a [`Stream::Failed`] stream raises.
fn failed_earlier() -> Error {
    Error::InvalidArgument("an earlier write failed; the encrypted file was abandoned".into())
}

/// The encrypting stream behind `strongroom.open(..., "wb")`.
#[pyclass(module = "strongroom._native", frozen)]
struct Writer {
    /// Waited for only with the interpreter released: a write to a Python
    /// file object holds it while it calls that object.
    state: Exclusive<Option<Stream>>,
    pending: Pending,
    /// The process that opened it: a forked child's copy of the stream
    /// would seal its next chunks with the nonces the parent uses for its
    /// own, so a child never writes, finishes or waits for it.
    pid: u32,
}

impl Writer {
    /// The stream, once another thread's call on it returns (call it with
    /// the interpreter released). Refused in a forked child.
    fn stream(&self) -> Result<Guard<'_, MutexGuard<'_, Option<Stream>>>> {
        if self.pid != std::process::id() {
            return Err(parent_writer());
        }
        self.state.lock().map_err(|_| parent_writer())
    }
}

/// The Python error of a stopped write-ahead stream.
fn stopped_err(py: Python<'_>, s: Stopped) -> PyErr {
    match s {
        Stopped::Core(e) => core_err(py, e),
        Stopped::Panic => panic_err(py),
    }
}

#[pymethods]
impl Writer {
    /// Starts an encrypted file at `path` (atomic: it appears on `finish`)
    /// or on the Python file object `fileobj`, and writes the header.
    #[new]
    #[pyo3(signature = (path=None, fileobj=None, keyring=None, passphrases=Vec::new(), kdf=None, overwrite=false))]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        fileobj: Option<Py<PyAny>>,
        keyring: Option<Py<PyKeyring>>,
        passphrases: Vec<Bound<'_, PyAny>>,
        kdf: Option<(u32, u32, u32)>,
        overwrite: bool,
    ) -> PyResult<Self> {
        let passes = self::passphrases(passphrases)?;
        let params = self::kdf(kdf);
        let pending = Pending::default();
        let sink_pending = pending.clone();
        let stream = step(py, &pending, move || match (path, fileobj) {
            (Some(p), None) => {
                let out = OutputFile::create(&p, overwrite)?;
                let enc = with_keyring(keyring.as_ref(), |kr| {
                    Encryptor::new(out, &recipients(kr, &passes, params))
                })?;
                Ok(Stream::Ahead(WriteAhead::start(enc)?))
            }
            (None, Some(f)) => {
                let sink = PyFile::new(f, sink_pending);
                let enc = with_keyring(keyring.as_ref(), |kr| {
                    Encryptor::new(sink, &recipients(kr, &passes, params))
                })?;
                Ok(Stream::Direct(Box::new(enc)))
            }
            _ => Err(Error::InvalidArgument("give a path or a file object".into())),
        })?;
        Ok(Self {
            state: Exclusive::new(Some(stream)),
            pending,
            pid: std::process::id(),
        })
    }

    /// Encrypts and writes `data` (bytes); returns its length.
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<usize> {
        let ahead = step(py, &self.pending, || {
            let mut guard = self.stream()?;
            match guard.as_mut() {
                None => Err(Error::InvalidArgument("write to a closed encrypted file".into())),
                Some(Stream::Failed) => Err(failed_earlier()),
                Some(Stream::Direct(enc)) => {
                    enc.write_all(data).map_err(strongroom::error::from_io)?;
                    Ok(Ok(()))
                }
                Some(Stream::Ahead(w)) => {
                    let r = w.write(data);
                    if r.is_err() {
                        // Over: the file is abandoned (dropping the stream
                        // abandons it), later calls are refused.
                        *guard = Some(Stream::Failed);
                    }
                    Ok(r)
                }
            }
        })?;
        ahead.map_err(|s| stopped_err(py, s))?;
        Ok(data.len())
    }

    /// Writes the final chunk; a path-backed file appears at its path now.
    /// A write running in another thread finishes first.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        let done = step(py, &self.pending, || {
            let Some(stream) = self.stream()?.take() else {
                return Ok(Ok(()));
            };
            match stream {
                Stream::Direct(enc) => enc.finish()?.flush().map_err(strongroom::error::from_io).map(Ok),
                Stream::Ahead(mut w) => match w.join() {
                    Ok(enc) => enc.finish()?.commit().map(Ok),
                    Err(s) => Ok(Err(s)),
                },
                Stream::Failed => Err(failed_earlier()),
            }
        })?;
        done.map_err(|s| stopped_err(py, s))
    }

    /// Abandons the file: a path-backed file never appears; a file
    /// object is left as written so far (readers will report it truncated).
    /// A write running in another thread returns first. In a forked child
    /// nothing happens: the parent's stream is not the child's to end.
    fn abort(&self, py: Python<'_>) {
        let _ = guarded(py, || {
            py.detach(|| {
                let taken = self.stream().map(|mut s| s.take());
                if let Ok(Some(stream)) = taken {
                    match stream {
                        Stream::Direct(enc) => drop(enc),
                        Stream::Ahead(mut w) => w.abandon(),
                        Stream::Failed => {}
                    }
                }
            });
            Ok(())
        });
    }
}

/// Any seekable reader the decrypting stream can take.
trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

enum Plain {
    Seekable(SeekableDecryptor<Box<dyn ReadSeek>>),
    Stream(Decryptor<Box<dyn Read + Send>>),
}

/// The decrypting stream behind `strongroom.open(..., "rb")`.
#[pyclass(module = "strongroom._native", frozen)]
struct Reader {
    /// Waited for only with the interpreter released: a read from a
    /// Python file object holds it while it calls that object, and so does
    /// the read-ahead thread while it decrypts.
    state: Arc<Exclusive<Option<Plain>>>,
    pending: Pending,
    seekable: bool,
    /// Path-backed streams decrypt the next piece on a thread while the
    /// caller uses the last one (a Python file object needs the
    /// interpreter, so it does not).
    read_ahead: bool,
    ahead: Exclusive<Option<Ahead>>,
    /// The read-ahead's buffer between uses (overwritten by the next one,
    /// wiped when the reader goes).
    spare: Exclusive<Zeroizing<Vec<u8>>>,
    /// Set in a forked child that inherited a read-ahead: its thread is
    /// not in the child, so the stream is never touched again.
    forked_away: AtomicBool,
}

/// Reads of at least this many bytes start a read-ahead of the same size.
const READ_AHEAD_MIN: usize = 1 << 20;

/// Where a read-ahead started, and what it read (the plaintext, wiped on
/// drop, or the error the caller meets when it reads there).
type AheadResult = (u64, Result<Zeroizing<Vec<u8>>>);

/// A read-ahead in flight.
struct Ahead {
    pid: u32,
    job: std::thread::JoinHandle<AheadResult>,
}

/// Reads up to `buf.len()` bytes; returns how many (fewer only at the end).
fn read_full_plain(reader: &mut dyn Read, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(strongroom::error::from_io(e)),
        }
    }
    Ok(got)
}

/// The most a sized `read` allocates at once (a larger request returns
/// fewer bytes, as a raw read may).
const MAX_READ: usize = 1 << 30;

/// The plaintext reader of an open stream.
fn plain_reader(state: &mut Option<Plain>) -> Result<&mut dyn Read> {
    Ok(match state.as_mut().ok_or_else(closed_reader)? {
        Plain::Seekable(r) => r,
        Plain::Stream(r) => r,
    })
}

impl Reader {
    /// Fills `buf` with plaintext (the interpreter released), up to its
    /// length or the end of the file; returns how much was read.
    fn fill(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        step(py, &self.pending, || {
            let mut got = 0;
            if let Some((start, data)) = self.take_ahead()? {
                // The read-ahead began where the last read ended, and
                // nothing moved since (seeks and whole reads drain it).
                let data = data?;
                got = data.len().min(buf.len());
                buf[..got].copy_from_slice(&data[..got]);
                let rest = data.len() - got;
                *self.spare.lock().map_err(|_| forked_reader())? = data;
                if rest > 0 {
                    self.rewind(start + got as u64)?;
                }
            }
            let mut guard = self.stream()?;
            got += read_full_plain(plain_reader(&mut guard)?, &mut buf[got..])?;
            drop(guard);
            if self.read_ahead && got == buf.len() && got >= READ_AHEAD_MIN {
                self.start_ahead(got);
            }
            Ok(got)
        })
    }

    /// Decrypts the next `len` bytes on a thread of its own (no read-ahead
    /// if the thread cannot start).
    fn start_ahead(&self, len: usize) {
        let state = Arc::clone(&self.state);
        let Ok(mut spare) = self.spare.lock() else { return };
        let mut data = std::mem::take(&mut *spare);
        drop(spare);
        let Ok(mut slot) = self.ahead.lock() else { return };
        let job = std::thread::Builder::new()
            .name("strongroom-reader".into())
            .spawn(move || -> AheadResult {
                // Never refused: this process started the thread.
                let Ok(mut guard) = state.lock() else {
                    return (0, Err(forked_reader()));
                };
                let Some(Plain::Seekable(r)) = guard.as_mut() else {
                    return (0, Err(closed_reader()));
                };
                let start = match r.stream_position() {
                    Ok(p) => p,
                    Err(e) => return (0, Err(strongroom::error::from_io(e))),
                };
                // Recycled: no fresh (page-faulting) allocation per piece;
                // never grown in place (that would leave an unwiped copy).
                if data.capacity() < len {
                    data = Zeroizing::new(Vec::with_capacity(len));
                }
                data.resize(len, 0);
                match read_full_plain(r, &mut data) {
                    Ok(n) => {
                        data.truncate(n);
                        (start, Ok(data))
                    }
                    Err(e) => (start, Err(e)),
                }
            });
        if let Ok(job) = job {
            *slot = Some(Ahead {
                pid: std::process::id(),
                job,
            });
        }
    }

    /// The fork check every method makes before it touches the stream: in
    /// a forked child that inherited a read-ahead (running or finished but
    /// not collected) it refuses, now and for good.
    fn check_process(&self) -> Result<Guard<'_, MutexGuard<'_, Option<Ahead>>>> {
        if self.forked_away.load(Ordering::Relaxed) {
            return Err(forked_reader());
        }
        let Ok(mut slot) = self.ahead.lock() else {
            self.forked_away.store(true, Ordering::Relaxed);
            return Err(forked_reader());
        };
        if slot.as_ref().is_some_and(|a| a.pid != std::process::id()) {
            self.forked_away.store(true, Ordering::Relaxed);
            // The thread is not in this process: never join it.
            if let Some(a) = slot.take() {
                std::mem::forget(a.job);
            }
            return Err(forked_reader());
        }
        Ok(slot)
    }

    /// The decryptor, once another thread's call (or the read-ahead)
    /// lets go of it: call it with the interpreter released. Refused in a
    /// forked child that inherited a read-ahead, or a call in progress.
    fn stream(&self) -> Result<Guard<'_, MutexGuard<'_, Option<Plain>>>> {
        drop(self.check_process()?);
        self.state.lock().map_err(|_| forked_reader())
    }

    /// Waits for the read-ahead in flight, if any, and returns it. In a
    /// forked child it refuses (and never touches the stream again).
    fn take_ahead(&self) -> Result<Option<AheadResult>> {
        let Some(a) = self.check_process()?.take() else {
            return Ok(None);
        };
        a.job
            .join()
            .map(Some)
            .map_err(|_| Error::Io(io::Error::other("the read-ahead thread panicked")))
    }

    /// Moves the decryptor back to `pos` (the caller's position).
    fn rewind(&self, pos: u64) -> Result<()> {
        let mut guard = self.stream()?;
        if let Some(Plain::Seekable(r)) = guard.as_mut() {
            r.seek(SeekFrom::Start(pos)).map_err(strongroom::error::from_io)?;
        }
        Ok(())
    }

    /// Drops the read-ahead in flight (after it finishes) and puts the
    /// decryptor back where the caller is.
    fn drain_ahead(&self) -> Result<()> {
        if let Some((start, _)) = self.take_ahead()? {
            self.rewind(start)?;
        }
        Ok(())
    }
}

fn closed_reader() -> Error {
    Error::InvalidArgument("read from a closed encrypted file".into())
}

fn forked_reader() -> Error {
    Error::InvalidArgument(
        "this encrypted file was being read ahead, or read, in the parent process when it forked; open it again in the child"
            .into(),
    )
}

#[pymethods]
impl Reader {
    /// Opens an encrypted file at `path` (seekable) or on the Python file
    /// object `fileobj` (seekable when `seekable`). The header is
    /// authenticated and the key commitment checked before this returns.
    #[new]
    #[pyo3(signature = (path=None, fileobj=None, seekable=true, keyring=None, passphrases=Vec::new(), kdf_budget=None))]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        fileobj: Option<Py<PyAny>>,
        seekable: bool,
        keyring: Option<Py<PyKeyring>>,
        passphrases: Vec<Bound<'_, PyAny>>,
        kdf_budget: Option<(u32, u32)>,
    ) -> PyResult<Self> {
        let passes = self::passphrases(passphrases)?;
        let budget = self::kdf_budget(kdf_budget);
        let pending = Pending::default();
        let src_pending = pending.clone();
        let from_path = path.is_some();
        let plain = step(py, &pending, move || {
            with_keyring(keyring.as_ref(), |kr| {
                let ids = identities(kr, &passes, budget);
                Ok(match (path, fileobj, seekable) {
                    (Some(p), None, _) => {
                        let f: Box<dyn ReadSeek> = Box::new(File::open(&p).map_err(Error::file("open", &p))?);
                        Plain::Seekable(SeekableDecryptor::new(f, &ids).map_err(|e| e.on_file("read", &p))?)
                    }
                    (None, Some(o), true) => {
                        let f: Box<dyn ReadSeek> = Box::new(PyFile::new(o, src_pending));
                        Plain::Seekable(SeekableDecryptor::new(f, &ids)?)
                    }
                    (None, Some(o), false) => {
                        let f: Box<dyn Read + Send> = Box::new(PyFile::new(o, src_pending));
                        Plain::Stream(Decryptor::new(f, &ids)?)
                    }
                    _ => return Err(Error::InvalidArgument("give a path or a file object".into())),
                })
            })
        })?;
        let seekable = matches!(plain, Plain::Seekable(_));
        Ok(Self {
            state: Arc::new(Exclusive::new(Some(plain))),
            pending,
            seekable,
            read_ahead: from_path,
            ahead: Exclusive::new(None),
            spare: Exclusive::new(Zeroizing::new(Vec::new())),
            forked_away: AtomicBool::new(false),
        })
    }

    /// Whether the stream supports `seek`.
    #[getter]
    fn seekable(&self) -> bool {
        self.seekable
    }

    /// Reads up to `size` authenticated plaintext bytes (all the rest when
    /// negative); `b""` at the end, which is reported only once the whole
    /// file authenticated. A sized read decrypts straight into the new
    /// `bytes` object (copied once more only for a short read at the end).
    #[pyo3(signature = (size=-1))]
    fn read<'py>(&self, py: Python<'py>, size: i64) -> PyResult<Bound<'py, PyBytes>> {
        if size < 0 {
            let buf = step(py, &self.pending, || {
                self.drain_ahead()?;
                let mut guard = self.stream()?;
                let mut buf = Zeroizing::new(Vec::new());
                plain_reader(&mut guard)?
                    .read_to_end(&mut buf)
                    .map_err(strongroom::error::from_io)?;
                Ok(buf)
            })?;
            return Ok(PyBytes::new(py, &buf));
        }
        let want = usize::try_from(size).unwrap_or(usize::MAX).min(MAX_READ);
        // A short read moves its bytes to `short` and wipes the full-size
        // object, which is then dropped; so does an error.
        let mut short: Option<Zeroizing<Vec<u8>>> = None;
        let bytes = PyBytes::new_with(py, want, |buf| match self.fill(py, buf) {
            Ok(got) if got == buf.len() => Ok(()),
            Ok(got) => {
                short = Some(Zeroizing::new(buf[..got].to_vec()));
                buf.zeroize();
                Ok(())
            }
            Err(e) => {
                buf.zeroize();
                Err(e)
            }
        })?;
        match short {
            None => Ok(bytes),
            Some(part) => Ok(PyBytes::new(py, &part)),
        }
    }

    /// Reads into the writable buffer `buffer` (a `bytearray`, a
    /// `memoryview`...) without an intermediate copy; returns the number of
    /// bytes read, 0 at the end. `None` when the interpreter is older than
    /// 3.11 (no buffer protocol in its stable ABI) or `buffer` is not a
    /// writable contiguous buffer: the caller then copies from `read`.
    fn readinto(&self, py: Python<'_>, buffer: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        let Some(mut view) = WritableBuffer::get(buffer) else {
            return Ok(None);
        };
        self.fill(py, view.as_mut_slice()).map(Some)
    }

    /// Moves to `offset` from the start (0), the current position (1) or
    /// the end (2; authenticates the final chunk first). Returns the new
    /// position.
    #[pyo3(signature = (offset, whence=0))]
    fn seek(&self, py: Python<'_>, offset: i64, whence: i32) -> PyResult<u64> {
        let pos = match whence {
            0 => SeekFrom::Start(
                u64::try_from(offset).map_err(|_| invalid_argument(py, "negative seek position"))?,
            ),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(invalid_argument(py, "whence must be 0, 1 or 2")),
        };
        step(py, &self.pending, || {
            self.drain_ahead()?;
            let mut guard = self.stream()?;
            match guard.as_mut().ok_or_else(closed_reader)? {
                Plain::Seekable(r) => r.seek(pos).map_err(strongroom::error::from_io),
                Plain::Stream(_) => Err(Error::InvalidArgument(
                    "this encrypted stream is not seekable".into(),
                )),
            }
        })
    }

    /// The authenticated plaintext length (seekable streams only).
    fn length(&self, py: Python<'_>) -> PyResult<u64> {
        step(py, &self.pending, || {
            let mut guard = self.stream()?;
            match guard.as_mut().ok_or_else(closed_reader)? {
                Plain::Seekable(r) => r.authenticated_len(),
                Plain::Stream(_) => Err(Error::InvalidArgument(
                    "this encrypted stream is not seekable".into(),
                )),
            }
        })
    }

    /// Closes the stream; its buffers are wiped. A read running in
    /// another thread returns first. In a forked child that inherited a
    /// read-ahead or a read in progress, the stream is left alone.
    fn close(&self, py: Python<'_>) {
        let _ = guarded(py, || {
            py.detach(|| {
                // The read-ahead's result (and error) is dropped.
                if self.take_ahead().is_err() && self.forked_away.load(Ordering::Relaxed) {
                    return;
                }
                let taken = self.stream().map(|mut s| s.take());
                drop(taken);
            });
            Ok(())
        });
    }
}

/// Adds the functions and classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encrypt_file, m)?)?;
    m.add_function(wrap_pyfunction!(decrypt_file, m)?)?;
    m.add_function(wrap_pyfunction!(rekey_file, m)?)?;
    m.add_function(wrap_pyfunction!(rewrap_file, m)?)?;
    m.add_class::<Writer>()?;
    m.add_class::<Reader>()?;
    Ok(())
}
