//! Streams: an encryptor and a decryptor over memory (new, update, finish,
//! free), encryption and decryption over the application's read and write
//! callbacks, and random-access reads of an encrypted file.

use crate::file::{Keys, strongroom_keys};
use crate::keyring::strongroom_keyring;
use crate::status::{Fail, boundary, boundary_value, strongroom_status};
use crate::util::{
    bytes, c_passphrase, c_path, check_len, handle, handle_mut, need_buf, need_out, opt_bytes, put,
};
use std::ffi::{c_char, c_void};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};
use strongroom::Passphrase;
use strongroom::file::{Decryptor, Encryptor, Identity, PushDecryptor, SeekableDecryptor};
use strongroom::passphrase::KdfBudget;
use zeroize::Zeroizing;

// The payload's sizes, from the core: plaintext per chunk, tag, encrypted
// chunk, and the prefix (salt and key commitment).
use strongroom::hazmat::aead::TAG_LEN as TAG;
use strongroom::hazmat::chunked::{
    CHUNK_SIZE as CHUNK, ENCRYPTED_CHUNK_SIZE as ENC_CHUNK, PREFIX_LEN as PREFIX,
};

/// A sink shared between the core encryptor and the handle.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encrypts a message given piece by piece in memory into the strongroom
/// file format (the same bytes a file would hold).
///
/// **Threads:** one thread at a time (no internal locking of the calls'
/// order); it may move between threads.
pub struct strongroom_encryptor {
    inner: Option<Encryptor<Sink>>,
    sink: Sink,
    header_len: usize,
    plain_in: u64,
    written: u64,
}

impl strongroom_encryptor {
    /// Most bytes the next update with `in_len` bytes (or the finish, with
    /// `in_len` 0 and one more tag) can produce.
    fn bound(&self, in_len: usize) -> Result<usize, Fail> {
        let pending = self.sink.0.lock().map_err(|_| Fail::Internal("poisoned"))?.len() as u64;
        let total_out = self.written + pending;
        let body_out = total_out.saturating_sub((self.header_len + PREFIX) as u64);
        let sealed_plain = body_out / ENC_CHUNK as u64 * CHUNK as u64;
        let unsealed = self.plain_in.saturating_sub(sealed_plain) + in_len as u64;
        let tags = (unsealed / CHUNK as u64 + 2) * TAG as u64;
        let b = pending + unsealed + tags + PREFIX as u64;
        usize::try_from(b).map_err(|_| crate::status::invalid("input too large"))
    }

    fn drain(&mut self, out: *mut u8, out_len: *mut usize) -> Result<(), Fail> {
        let mut s = self.sink.0.lock().map_err(|_| Fail::Internal("poisoned"))?;
        if !s.is_empty() {
            // SAFETY: the caller checked that `out` holds at least
            // `bound(..)` >= the pending bytes.
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), out, s.len()) };
        }
        // SAFETY: checked non-NULL by the caller.
        unsafe { put(out_len, s.len()) };
        self.written += s.len() as u64;
        s.clear();
        Ok(())
    }
}

/// Starts encrypting to the recipients in `to` into `*out`. The header is
/// produced by the first update.
///
/// ```c
/// strongroom_encryptor *enc = NULL;
/// strongroom_keys to = { .keyring = kr };
/// strongroom_encryptor_new(&to, &enc);
/// size_t cap; strongroom_encryptor_bound(enc, in_len, &cap);
/// uint8_t *buf = malloc(cap); size_t n;
/// strongroom_encryptor_update(enc, in, in_len, buf, cap, &n);   // write buf[0..n]
/// strongroom_encryptor_bound(enc, 0, &cap);             // realloc buf to cap
/// strongroom_encryptor_finish(enc, buf, cap, &n);               // write buf[0..n]
/// strongroom_encryptor_free(enc);
/// ```
///
/// # Safety
/// `to` is valid keys; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_encryptor_new(
    to: *const strongroom_keys,
    out: *mut *mut strongroom_encryptor,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let keys = unsafe { Keys::from_c(to, "to")? };
        need_out(out, "out")?;
        let sink = Sink::default();
        let enc = Encryptor::new(sink.clone(), &keys.recipients())?;
        let header_len =
            usize::try_from(enc.info().header_len).map_err(|_| Fail::Internal("header length"))?;
        let h = strongroom_encryptor {
            inner: Some(enc),
            sink,
            header_len,
            plain_in: 0,
            written: 0,
        };
        // SAFETY: checked non-NULL above.
        unsafe { put(out, Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// Writes to `*bound` the output buffer size that the next
/// `strongroom_encryptor_update` with `in_len` bytes needs (or, with
/// `in_len` 0, the next `strongroom_encryptor_finish`).
///
/// # Safety
/// `enc` is live; `bound` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_encryptor_bound(
    enc: *const strongroom_encryptor,
    in_len: usize,
    bound: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let e = unsafe { handle(enc, "enc")? };
        need_out(bound, "bound")?;
        check_len::<u8>(in_len, "in_len")?;
        let b = e.bound(in_len)?;
        // SAFETY: checked non-NULL above.
        unsafe { put(bound, b) };
        Ok(())
    })
}

/// Encrypts `in_len` more bytes; the encrypted bytes ready so far (the
/// header first, then whole chunks) are written to `out` and their number
/// to `*out_len` (it may be 0: chunks are sealed in batches). `cap` must
/// be at least what `strongroom_encryptor_bound` says for `in_len`, else
/// `STRONGROOM_BUFFER_TOO_SMALL` with that size in `*out_len` and nothing
/// consumed. After finish: `STRONGROOM_INVALID_STATE`.
///
/// # Safety
/// `enc` live; `input` points to `in_len` bytes (not NULL); `out` `cap`
/// writable bytes (or NULL with `cap` 0); `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_encryptor_update(
    enc: *mut strongroom_encryptor,
    input: *const u8,
    in_len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused. The handle is
        // used by one thread at a time (documented).
        let (e, data) = unsafe { (handle_mut(enc, "enc")?, bytes(input, in_len, "input")?) };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        if e.inner.is_none() {
            return Err(Fail::State("the encryptor has already finished"));
        }
        let b = e.bound(in_len)?;
        if cap < b {
            // SAFETY: checked non-NULL above.
            unsafe { put(out_len, b) };
            return Err(Fail::Small("out", b));
        }
        let inner = e.inner.as_mut().ok_or(Fail::Internal("encryptor state"))?;
        if let Err(err) = inner.write_all(data) {
            e.inner = None; // an encryptor that failed is not continued
            return Err(err.into());
        }
        e.plain_in += in_len as u64;
        e.drain(out, out_len)
    })
}

/// Ends the message: writes the last encrypted bytes (with the final
/// chunk) to `out` and their number to `*out_len`. `cap` as given by
/// `strongroom_encryptor_bound(enc, 0, ..)`. A second finish, or an
/// update afterwards, gives `STRONGROOM_INVALID_STATE`.
///
/// # Safety
/// As `strongroom_encryptor_update`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_encryptor_finish(
    enc: *mut strongroom_encryptor,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused; one thread at a time.
        let e = unsafe { handle_mut(enc, "enc")? };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        if e.inner.is_none() {
            return Err(Fail::State("the encryptor has already finished"));
        }
        let b = e.bound(0)?;
        if cap < b {
            // SAFETY: checked non-NULL above.
            unsafe { put(out_len, b) };
            return Err(Fail::Small("out", b));
        }
        let inner = e.inner.take().ok_or(Fail::Internal("encryptor state"))?;
        inner.finish()?;
        e.drain(out, out_len)
    })
}

/// Frees an encryptor (finished or not; an unfinished message is simply
/// incomplete). Buffered plaintext is wiped. NULL is accepted.
///
/// # Safety
/// `enc` is NULL or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_encryptor_free(enc: *mut strongroom_encryptor) {
    if !enc.is_null() {
        // SAFETY: created by `Box::into_raw` here and not yet freed.
        boundary_value((), || drop(unsafe { Box::from_raw(enc) }));
    }
}

/// Decrypts a strongroom message given piece by piece in memory. Plaintext
/// is released one authenticated chunk at a time, as soon as each 16 KiB
/// chunk has arrived (a later chunk may still fail: act on the plaintext
/// only after `strongroom_decryptor_finish` returned `STRONGROOM_OK`).
///
/// **Threads:** one thread at a time; it may move between threads. The
/// keyring given to `strongroom_decryptor_new` (if any) is used by every
/// update and the finish: it must stay open until the decryptor is freed.
pub struct strongroom_decryptor {
    keyring: *const strongroom_keyring,
    pass: Option<Passphrase>,
    /// The Argon2id budget of the passphrase (`with.kdf_budget`).
    budget: KdfBudget,
    inner: Option<PushDecryptor>,
    failed: bool,
}

impl strongroom_decryptor {
    fn bound(&self, in_len: usize) -> Result<usize, Fail> {
        match &self.inner {
            Some(d) => Ok(d.output_bound(in_len)),
            None => Err(Fail::State("the decryptor has already finished")),
        }
    }
}

/// Runs `f` with the identities of a decryptor: its keyring, if any, and
/// its passphrase, if any.
fn with_ids<T>(
    keyring: *const strongroom_keyring,
    pass: &Option<Passphrase>,
    budget: KdfBudget,
    f: impl FnOnce(&[Identity<'_>]) -> T,
) -> Result<T, Fail> {
    // SAFETY: NULL or a live keyring handle (documented requirement).
    let ring = match unsafe { keyring.as_ref() } {
        Some(kr) => Some(kr.read()?),
        None => None,
    };
    let mut ids = Vec::new();
    if let Some(r) = &ring {
        ids.push(Identity::Keyring(r));
    }
    if let Some(p) = pass {
        ids.push(Identity::PassphraseWithBudget(p, budget));
    }
    Ok(f(&ids))
}

/// Starts decrypting with the keys in `with` into `*out`. The passphrase,
/// if any, is copied; the keyring, if any, is not: it must stay open until
/// the decryptor is freed (the `strongroom_keys` struct itself may go).
///
/// # Safety
/// `with` is valid keys; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_decryptor_new(
    with: *const strongroom_keys,
    out: *mut *mut strongroom_decryptor,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let k = unsafe { handle(with, "with")? };
        need_out(out, "out")?;
        // SAFETY: NULL or `passphrase_len` readable bytes (the caller's promise).
        let pass = match unsafe { opt_bytes(k.passphrase, k.passphrase_len, "with.passphrase_len")? } {
            Some(b) => Some(c_passphrase(b, "with.passphrase")?),
            None => None,
        };
        if k.keyring.is_null() && pass.is_none() {
            return Err(crate::status::invalid(
                "with names neither a keyring nor a passphrase",
            ));
        }
        let h = strongroom_decryptor {
            keyring: k.keyring,
            pass,
            budget: k.kdf_budget.budget(),
            inner: Some(PushDecryptor::new()),
            failed: false,
        };
        // SAFETY: checked non-NULL above.
        unsafe { put(out, Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// Writes to `*bound` the output size the next update with `in_len` bytes
/// (or, with 0, the finish) needs.
///
/// # Safety
/// `dec` live; `bound` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_decryptor_bound(
    dec: *const strongroom_decryptor,
    in_len: usize,
    bound: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let d = unsafe { handle(dec, "dec")? };
        need_out(bound, "bound")?;
        check_len::<u8>(in_len, "in_len")?;
        let b = d.bound(in_len)?;
        // SAFETY: checked non-NULL above.
        unsafe { put(bound, b) };
        Ok(())
    })
}

/// Adds `in_len` bytes of ciphertext; authenticated plaintext that is
/// ready goes to `out` and its length to `*out_len` (0 until the header
/// and a whole 16 KiB chunk have arrived). Chunks are decrypted in the
/// library's own memory and copied to `out` only after the call
/// succeeded: a failing update writes nothing there. `cap` must be at least what
/// `strongroom_decryptor_bound` says (else `STRONGROOM_BUFFER_TOO_SMALL`
/// with that size in `*out_len`, nothing consumed). A failure (wrong key,
/// tampered data) is final: later calls give `STRONGROOM_INVALID_STATE`.
///
/// # Safety
/// As `strongroom_encryptor_update`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_decryptor_update(
    dec: *mut strongroom_decryptor,
    input: *const u8,
    in_len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused; one thread at a time.
        let (d, data) = unsafe { (handle_mut(dec, "dec")?, bytes(input, in_len, "input")?) };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        decrypt_step(d, Some(data), out, cap, out_len)
    })
}

fn decrypt_step(
    d: &mut strongroom_decryptor,
    data: Option<&[u8]>,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), Fail> {
    if d.failed {
        return Err(Fail::State("the decryptor failed earlier"));
    }
    let b = d.bound(data.map_or(0, <[u8]>::len))?;
    if cap < b {
        // SAFETY: checked non-NULL by the caller.
        unsafe { put(out_len, b) };
        return Err(Fail::Small("out", b));
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(b));
    let result = match data {
        Some(data) => {
            let inner = d.inner.as_mut().ok_or(Fail::Internal("decryptor state"))?;
            with_ids(d.keyring, &d.pass, d.budget, |ids| {
                inner.update(data, ids, &mut plain)
            })?
        }
        None => {
            let inner = d.inner.take().ok_or(Fail::Internal("decryptor state"))?;
            inner.finish(&mut plain)
        }
    };
    if let Err(e) = result {
        d.failed = true;
        return Err(e.into());
    }
    let n = plain.len();
    if n > b {
        d.failed = true;
        return Err(Fail::Internal("more plaintext than the bound"));
    }
    if n > 0 {
        // SAFETY: `n <= b <= cap` writable bytes at `out` (checked above).
        unsafe { std::ptr::copy_nonoverlapping(plain.as_ptr(), out, n) };
    }
    // SAFETY: checked non-NULL by the caller.
    unsafe { put(out_len, n) };
    Ok(())
}

/// Ends the message: the remaining plaintext goes to `out` (size from
/// `strongroom_decryptor_bound(dec, 0, ..)`). Only a `STRONGROOM_OK` here
/// means the whole message authenticated; a message cut short gives
/// `STRONGROOM_TRUNCATED`.
///
/// # Safety
/// As `strongroom_encryptor_finish`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_decryptor_finish(
    dec: *mut strongroom_decryptor,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused; one thread at a time.
        let d = unsafe { handle_mut(dec, "dec")? };
        need_out(out_len, "out_len")?;
        need_buf(out, cap, "out")?;
        decrypt_step(d, None, out, cap, out_len)
    })
}

/// Frees a decryptor, wiping plaintext it still holds. NULL is accepted.
///
/// # Safety
/// `dec` is NULL or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_decryptor_free(dec: *mut strongroom_decryptor) {
    if !dec.is_null() {
        // SAFETY: created by `Box::into_raw` here and not yet freed.
        boundary_value((), || drop(unsafe { Box::from_raw(dec) }));
    }
}

/// Read callback: fill up to `len` bytes of `buf`; return the number read
/// (at most `len`), 0 at the end of the input, or -1 on an error. A
/// negative value gives `STRONGROOM_IO`; more than `len` is a bug in the
/// callback (it may have written past `buf`) and gives
/// `STRONGROOM_INVALID_ARGUMENT`, naming both numbers.
pub type strongroom_read_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, buf: *mut u8, len: usize) -> i64>;

/// Write callback: write all `len` bytes of `buf`; return 0 on success or
/// -1 on an error (`STRONGROOM_IO`).
pub type strongroom_write_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, buf: *const u8, len: usize) -> i32>;

struct CRead(
    unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> i64,
    *mut c_void,
);

impl Read for CRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the application's callback with its own user data and a
        // buffer of `buf.len()` writable bytes.
        let n = unsafe { (self.0)(self.1, buf.as_mut_ptr(), buf.len()) };
        match usize::try_from(n) {
            Ok(n) if n <= buf.len() => Ok(n),
            // The core's error inside the I/O error, recovered at the
            // boundary (`Fail::from`), so the status is the usage error.
            Ok(n) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                strongroom::Error::InvalidArgument(format!(
                    "the read callback returned {n} bytes, more than the {} it was asked for",
                    buf.len()
                )),
            )),
            Err(_) => Err(io::Error::other(format!(
                "the read callback reported an error (it returned {n})"
            ))),
        }
    }
}

struct CWrite(
    unsafe extern "C" fn(*mut c_void, *const u8, usize) -> i32,
    *mut c_void,
);

impl Write for CWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: the application's callback with its own user data and
        // `buf.len()` readable bytes.
        match unsafe { (self.0)(self.1, buf.as_ptr(), buf.len()) } {
            0 => Ok(buf.len()),
            r => Err(io::Error::other(format!(
                "the write callback reported an error (it returned {r})"
            ))),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encrypts everything `read` gives (until it returns 0) for the
/// recipients in `to`, handing the strongroom file bytes to `write`.
/// Callbacks run on the calling thread. A callback error gives
/// `STRONGROOM_IO`; the output is then incomplete (readers report it as
/// truncated).
///
/// ```c
/// static int64_t rd(void *fp, uint8_t *b, size_t n) { size_t r = fread(b, 1, n, fp); return ferror(fp) ? -1 : (int64_t)r; }
/// static int wr(void *fp, const uint8_t *b, size_t n) { return fwrite(b, 1, n, fp) == n ? 0 : -1; }
/// strongroom_stream_encrypt(&to, rd, stdin, wr, stdout);
/// ```
///
/// # Safety
/// `to` is valid keys; the callbacks are valid functions that accept
/// their user data.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_stream_encrypt(
    to: *const strongroom_keys,
    read: strongroom_read_fn,
    read_data: *mut c_void,
    write: strongroom_write_fn,
    write_data: *mut c_void,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let keys = unsafe { Keys::from_c(to, "to")? };
        let r = read.ok_or(Fail::Null("read"))?;
        let w = write.ok_or(Fail::Null("write"))?;
        let mut enc = Encryptor::new(CWrite(w, write_data), &keys.recipients())?;
        let mut input = CRead(r, read_data);
        let mut buf = Zeroizing::new(vec![0u8; 1 << 20]);
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            enc.write_all(&buf[..n])?;
        }
        enc.finish()?;
        Ok(())
    })
}

/// Decrypts the strongroom file bytes `read` gives with the keys in
/// `with`, handing authenticated plaintext to `write` one chunk batch at a
/// time. Only `STRONGROOM_OK` means the whole message authenticated: on a
/// failure part of the plaintext may already have been written (discard
/// it).
///
/// # Safety
/// As `strongroom_stream_encrypt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_stream_decrypt(
    with: *const strongroom_keys,
    read: strongroom_read_fn,
    read_data: *mut c_void,
    write: strongroom_write_fn,
    write_data: *mut c_void,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let keys = unsafe { Keys::from_c(with, "with")? };
        let r = read.ok_or(Fail::Null("read"))?;
        let w = write.ok_or(Fail::Null("write"))?;
        let mut dec = Decryptor::new(CRead(r, read_data), &keys.identities())?;
        let mut out = CWrite(w, write_data);
        let mut buf = Zeroizing::new(vec![0u8; 1 << 20]);
        loop {
            let n = dec.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
        }
        Ok(())
    })
}

/// Random access to an encrypted file: reads plaintext at any offset,
/// decrypting (and authenticating) only the chunks it touches.
///
/// **Threads:** safe to share; calls are serialised by an internal lock.
pub struct strongroom_reader {
    inner: Mutex<ReaderState>,
    len: u64,
}

/// A reader's decryptor and the private buffer its reads decrypt into
/// (kept between calls: no allocation and no page faults per read; wiped
/// when it grows and when the reader is freed).
struct ReaderState {
    dec: SeekableDecryptor<std::fs::File>,
    scratch: Zeroizing<Vec<u8>>,
}

/// Opens the encrypted file at `path` with the keys in `with` for
/// random-access reads into `*out`. The file's length is checked against
/// its final chunk at once.
///
/// ```c
/// strongroom_reader *r = NULL; uint8_t buf[100]; size_t n;
/// strongroom_reader_open("big.srf", &with, &r);
/// strongroom_reader_read_at(r, 1000000, buf, sizeof buf, &n);
/// strongroom_reader_free(r);
/// ```
///
/// # Safety
/// `path` is NUL-terminated; `with` valid keys; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_reader_open(
    path: *const c_char,
    with: *const strongroom_keys,
    out: *mut *mut strongroom_reader,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promises; NULL is refused.
        let (p, keys) = unsafe { (c_path(path, "path")?, Keys::from_c(with, "with")?) };
        need_out(out, "out")?;
        let f = std::fs::File::open(p)?;
        let mut dec = SeekableDecryptor::new(f, &keys.identities())?;
        let len = dec.authenticated_len()?;
        let h = strongroom_reader {
            inner: Mutex::new(ReaderState {
                dec,
                scratch: Zeroizing::new(Vec::new()),
            }),
            len,
        };
        // SAFETY: checked non-NULL above.
        unsafe { put(out, Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// Writes the plaintext length of the file to `*plaintext_len`.
///
/// # Safety
/// `reader` live; `plaintext_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_reader_len(
    reader: *const strongroom_reader,
    plaintext_len: *mut u64,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let r = unsafe { handle(reader, "reader")? };
        need_out(plaintext_len, "plaintext_len")?;
        // SAFETY: checked non-NULL above.
        unsafe { put(plaintext_len, r.len) };
        Ok(())
    })
}

/// Reads up to `cap` plaintext bytes at `offset` into `buf`; `*out_len`
/// receives the number read (less than `cap` only at the end of the file
/// or beyond 16 MiB per call; 0 at or beyond the end). A damaged chunk
/// gives `STRONGROOM_CHUNK_AUTH_FAILED`, and nothing is written to `buf`:
/// chunks are decrypted and authenticated in the library's own memory and
/// copied into `buf` only when the whole read succeeded, so no other
/// thread (and no mapping of `buf`) ever sees unauthenticated plaintext.
///
/// # Safety
/// `reader` live; `buf` `cap` writable bytes (or NULL with `cap` 0);
/// `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_reader_read_at(
    reader: *const strongroom_reader,
    offset: u64,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> strongroom_status {
    boundary(|| {
        // SAFETY: the caller's promise; NULL is refused.
        let r = unsafe { handle(reader, "reader")? };
        need_out(out_len, "out_len")?;
        need_buf(buf, cap, "buf")?;
        let mut state = r.inner.lock().map_err(|_| Fail::Internal("reader poisoned"))?;
        let ReaderState { dec, scratch } = &mut *state;
        let want = cap.min(16 << 20);
        if scratch.len() < want {
            // A new buffer, so the old one is wiped (a reallocation would
            // free it as it is).
            *scratch = Zeroizing::new(vec![0u8; want]);
        }
        let plain = &mut scratch[..want];
        let mut n = 0;
        if offset < r.len {
            dec.seek(SeekFrom::Start(offset))?;
            while n < plain.len() {
                let got = dec.read(&mut plain[n..])?;
                if got == 0 {
                    break;
                }
                n += got;
            }
        }
        if n > 0 {
            // SAFETY: `n <= cap` writable bytes at `buf` (the caller's promise, checked non-NULL).
            unsafe { std::ptr::copy_nonoverlapping(plain.as_ptr(), buf, n) };
        }
        // SAFETY: checked non-NULL above.
        unsafe { put(out_len, n) };
        Ok(())
    })
}

/// Frees a reader (closes the file, wipes buffered plaintext). NULL is
/// accepted.
///
/// # Safety
/// `reader` is NULL or live, not used by any thread afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_reader_free(reader: *mut strongroom_reader) {
    if !reader.is_null() {
        // SAFETY: created by `Box::into_raw` here and not yet freed.
        boundary_value((), || drop(unsafe { Box::from_raw(reader) }));
    }
}
