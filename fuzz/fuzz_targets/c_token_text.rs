//! The C API's parsing of text field tokens as a TEXT column hands them
//! over: `strongroom_token_from_text_n` (bytes with a length) and
//! `strongroom_token_from_text` (NUL-terminated), then
//! `strongroom_field_decrypt_text` with the vector keys on every vector
//! column, type and row key, and `strongroom_field_decrypt_batch_text` of
//! the input's lines. Never panics (no `STRONGROOM_PANIC`); agrees with the
//! core (`decode_text`, `FieldCipher::decrypt_text`) status for status and
//! byte for byte; a buffer too small gets the length and nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::{CString, c_char};
use strongroom::field::decode_text;
use strongroom_ffi as c;
use strongroom_fuzz::c_api::{BatchKind, batch, ciphers, expected, ok_status};
use strongroom_fuzz::fixtures::FIELD_ROWS;

/// `strongroom_token_from_text_n` of `data`: status and token.
fn from_text_n(data: &[u8]) -> (u32, Vec<u8>) {
    let mut out = vec![0u8; data.len()];
    let mut len = 0usize;
    // SAFETY: `data.len()` readable bytes, a buffer of as many (documented
    // to suffice), a writable length.
    let s = unsafe {
        c::strongroom_token_from_text_n(
            data.as_ptr().cast::<c_char>(),
            data.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    ok_status(s, "token_from_text_n");
    out.truncate(if s == c::STRONGROOM_OK { len } else { 0 });
    (s, out)
}

fuzz_target!(|data: &[u8]| {
    let core = match std::str::from_utf8(data) {
        Ok(s) => decode_text(s).map_err(|e| e.code()),
        Err(_) => Err(c::STRONGROOM_INVALID_UTF8),
    };
    let (status, token) = from_text_n(data);
    match &core {
        Ok(bytes) => {
            assert_eq!(
                status,
                c::STRONGROOM_OK,
                "the C API refused a token the core reads"
            );
            assert_eq!(&token, bytes, "the C API decoded other bytes");
            // A size query: the length, nothing else.
            let mut need = 0usize;
            // SAFETY: readable input, no output buffer (cap 0), a writable length.
            let s = unsafe {
                c::strongroom_token_from_text_n(
                    data.as_ptr().cast::<c_char>(),
                    data.len(),
                    std::ptr::null_mut(),
                    0,
                    &mut need,
                )
            };
            assert_eq!((s, need), (c::STRONGROOM_BUFFER_TOO_SMALL, bytes.len()));
        }
        Err(code) => assert_eq!(status, *code, "the C API refused with another status"),
    }
    if let Ok(cs) = CString::new(data) {
        let mut out = vec![0u8; data.len()];
        let mut len = 0usize;
        // SAFETY: a NUL-terminated string, a buffer of its length, a writable length.
        let s = unsafe { c::strongroom_token_from_text(cs.as_ptr(), out.as_mut_ptr(), out.len(), &mut len) };
        assert_eq!(s, status, "token_from_text and token_from_text_n disagree");
        if s == c::STRONGROOM_OK {
            assert_eq!(&out[..len], &token[..]);
        }
    }

    let text = std::str::from_utf8(data).ok();
    let rows = std::iter::once(None).chain(FIELD_ROWS.iter().map(|r| Some(*r)));
    for row in rows {
        for column in ciphers() {
            for (cc, core_cipher) in column {
                let want = match text {
                    Some(t) => expected(core_cipher.decrypt_text(t, row)),
                    None => (c::STRONGROOM_INVALID_UTF8, None),
                };
                let (s, value, _null) = cc.decrypt_text(data, row);
                assert_eq!((s, value), want, "C and core decryption of a text token differ");
            }
        }
    }

    // A batch of the input's lines: each entry as the single call.
    let (cc, _) = &ciphers()[0][0];
    let parts: Vec<&[u8]> = data.split(|b| *b == b'\n').take(64).collect();
    let (s, results, _) = batch(cc, &parts, BatchKind::DecryptText);
    assert_eq!(s, c::STRONGROOM_OK);
    let entries = results.expect("results").entries();
    assert_eq!(entries.len(), parts.len());
    for (part, (st, value)) in parts.iter().zip(entries) {
        let (single, single_value, _) = cc.decrypt_text(part, None);
        assert_eq!(
            (st, value),
            (single, single_value),
            "a batch entry differs from the single call"
        );
    }
});
