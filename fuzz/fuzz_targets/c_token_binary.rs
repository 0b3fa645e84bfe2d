//! The C API's reading of binary field tokens (header inspection and
//! decryption): `strongroom_token_inspect`, `strongroom_field_needs_rewrap`,
//! `strongroom_token_to_text`, `strongroom_field_decrypt` with the vector
//! keys on every vector column, type and row key, and
//! `strongroom_field_decrypt_batch`. Never panics (no `STRONGROOM_PANIC`);
//! agrees with the core (`inspect`, `encode_text`, `FieldCipher::decrypt`)
//! status for status and byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom::field::{Mode, encode_text, inspect};
use strongroom_ffi as c;
use strongroom_fuzz::c_api::{BatchKind, batch, ciphers, expected, ok_status};
use strongroom_fuzz::fixtures::FIELD_ROWS;

fuzz_target!(|data: &[u8]| {
    let core = inspect(data);
    let mut info = c::strongroom_token_info::default();
    // SAFETY: `data.len()` readable bytes and a writable info struct.
    let s = ok_status(
        unsafe { c::strongroom_token_inspect(data.as_ptr(), data.len(), &mut info) },
        "token_inspect",
    );
    match &core {
        Ok(i) => {
            assert_eq!(s, c::STRONGROOM_OK, "the C API refused a header the core reads");
            assert_eq!((info.version, info.key_version), (i.version, i.key_version));
            let mode = match Mode::of_suite(i.suite) {
                Mode::Random => c::STRONGROOM_MODE_RANDOM,
                _ => c::STRONGROOM_MODE_DETERMINISTIC,
            };
            assert_eq!(info.mode, mode);
        }
        Err(e) => assert_eq!(s, e.code(), "the C API refused a header with another status"),
    }

    // The text form: NUL-terminated, the core's encoding.
    let mut text = vec![0u8; data.len() * 4 / 3 + 8];
    let mut len = 0usize;
    // SAFETY: readable input, a buffer of `text.len()` bytes, a writable length.
    let s = unsafe {
        c::strongroom_token_to_text(
            data.as_ptr(),
            data.len(),
            text.as_mut_ptr().cast(),
            text.len(),
            &mut len,
        )
    };
    match &core {
        Ok(_) => {
            assert_eq!(s, c::STRONGROOM_OK);
            assert_eq!(&text[..len], encode_text(data).as_bytes());
            assert_eq!(text[len], 0, "no terminator");
        }
        Err(e) => assert_eq!(s, e.code()),
    }

    let rows = std::iter::once(None).chain(FIELD_ROWS.iter().map(|r| Some(*r)));
    for row in rows {
        for column in ciphers() {
            for (cc, core_cipher) in column {
                let want = expected(core_cipher.decrypt(data, row));
                let (s, value, _null) = cc.decrypt(data, row);
                assert_eq!((s, value), want, "C and core decryption of a token differ");
            }
        }
    }

    let (cc, core_cipher) = &ciphers()[0][0];
    let mut needs = false;
    // SAFETY: a live cipher, readable input, a writable flag.
    let s = unsafe { c::strongroom_field_needs_rewrap(cc.as_ptr(), data.as_ptr(), data.len(), &mut needs) };
    match core_cipher.needs_rewrap(data) {
        Ok(n) => assert_eq!((s, needs), (c::STRONGROOM_OK, n)),
        Err(e) => assert_eq!(s, e.code()),
    }

    // A batch: the token, its first half, the token again.
    let parts = [data, &data[..data.len() / 2], data];
    let (s, results, _) = batch(cc, &parts, BatchKind::Decrypt);
    assert_eq!(s, c::STRONGROOM_OK);
    for (part, (st, value)) in parts.iter().zip(results.expect("results").entries()) {
        let (single, single_value, _) = cc.decrypt(part, None);
        assert_eq!(
            (st, value),
            (single, single_value),
            "a batch entry differs from the single call"
        );
    }
});
