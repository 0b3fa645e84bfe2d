//! The C API's memory decryptor (`strongroom_decryptor_*`, which reads a
//! file header and then chunks) on arbitrary bytes with the testkit
//! keyring, fed in pieces whose size the first input byte chooses. Never
//! panics (no `STRONGROOM_PANIC`); every update fits the size
//! `strongroom_decryptor_bound` gave; it succeeds exactly when the core's
//! streaming `Decryptor` does, with the same plaintext, and what it
//! released before a failure is plaintext the core also released.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use std::io::Read;
use std::sync::OnceLock;
use strongroom::file::{Decryptor, Identity};
use strongroom_ffi as c;
use strongroom_fuzz::c_api::ok_status;
use strongroom_fuzz::fixtures::{TESTKIT_KEYRING_PASSPHRASE, testdata};

/// The testkit keyring opened through the C API, once (never freed).
fn c_keyring() -> *const c::strongroom_keyring {
    struct Ring(*mut c::strongroom_keyring);
    // SAFETY: the C API documents keyrings as shareable between threads.
    unsafe impl Send for Ring {}
    // SAFETY: as above.
    unsafe impl Sync for Ring {}
    static RING: OnceLock<Ring> = OnceLock::new();
    RING.get_or_init(|| {
        let path =
            CString::new(testdata("testkit/keyring.srk").to_str().expect("UTF-8 path")).expect("no NUL");
        let pass = TESTKIT_KEYRING_PASSPHRASE.as_bytes();
        let mut out = std::ptr::null_mut();
        // SAFETY: a NUL-terminated path, a passphrase of its length, a writable output.
        let s = unsafe {
            c::strongroom_keyring_open_passphrase(path.as_ptr(), pass.as_ptr(), pass.len(), &mut out)
        };
        assert_eq!(s, c::STRONGROOM_OK, "opening the testkit keyring");
        Ring(out)
    })
    .0
}

/// The core's streaming decryption: the plaintext it released, and
/// whether it authenticated the whole message.
fn core_decrypt(file: &[u8]) -> (Vec<u8>, bool) {
    let ids = [Identity::Keyring(strongroom_fuzz::keyring())];
    let Ok(mut dec) = Decryptor::new(file, &ids) else {
        return (Vec::new(), false);
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// One update (or, without input, the finish) into a buffer of exactly
/// the bound: the status and the bytes released.
fn step(dec: *mut c::strongroom_decryptor, input: Option<&[u8]>) -> (u32, Vec<u8>) {
    let mut bound = 0usize;
    // SAFETY: a live decryptor and a writable output.
    let s = unsafe { c::strongroom_decryptor_bound(dec, input.map_or(0, <[u8]>::len), &mut bound) };
    assert_eq!(s, c::STRONGROOM_OK);
    let mut out = vec![0u8; bound];
    let mut len = 0usize;
    // SAFETY: a live decryptor, readable input, a buffer of `bound` bytes.
    let s = unsafe {
        match input {
            Some(i) => c::strongroom_decryptor_update(
                dec,
                i.as_ptr(),
                i.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            ),
            None => c::strongroom_decryptor_finish(dec, out.as_mut_ptr(), out.len(), &mut len),
        }
    };
    ok_status(s, "decryptor");
    assert_ne!(s, c::STRONGROOM_BUFFER_TOO_SMALL, "the bound was too small");
    assert!(len <= bound);
    out.truncate(if s == c::STRONGROOM_OK { len } else { 0 });
    (s, out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&size, file)) = data.split_first() else {
        return;
    };
    let piece = usize::from(size) * 211 + 1;
    let keys = c::strongroom_keys {
        keyring: c_keyring(),
        passphrase: std::ptr::null(),
        passphrase_len: 0,
        kdf: c::strongroom_kdf_params_default(),
        kdf_budget: c::strongroom_kdf_budget_default(),
    };
    let mut dec = std::ptr::null_mut();
    // SAFETY: valid keys and a writable output.
    assert_eq!(
        unsafe { c::strongroom_decryptor_new(&keys, &mut dec) },
        c::STRONGROOM_OK
    );
    let mut released = Vec::new();
    let mut status = c::STRONGROOM_OK;
    for chunk in file.chunks(piece) {
        let (s, out) = step(dec, Some(chunk));
        released.extend_from_slice(&out);
        status = s;
        if s != c::STRONGROOM_OK {
            break;
        }
    }
    if status == c::STRONGROOM_OK {
        let (s, out) = step(dec, None);
        released.extend_from_slice(&out);
        status = s;
    }
    // SAFETY: a live decryptor, not used afterwards.
    unsafe { c::strongroom_decryptor_free(dec) };

    let (plain, whole) = core_decrypt(file);
    assert_eq!(
        status == c::STRONGROOM_OK,
        whole,
        "C and core disagree on the message (status {status})"
    );
    if whole {
        assert_eq!(released, plain, "the C decryptor released other plaintext");
    } else {
        assert!(
            plain.starts_with(&released),
            "the C decryptor released plaintext the core did not"
        );
    }
});
