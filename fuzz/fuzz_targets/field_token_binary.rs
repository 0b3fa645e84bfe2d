//! Binary field tokens: `field::inspect`, `Token::from_bytes` and
//! `FieldCipher::decrypt` with the vector keys, every vector column and row
//! key. Never panics; the header checks agree with each other, the text
//! form of the same bytes decodes back to them and decrypts alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom::field::{Token, decode_text, encode_text, inspect};
use strongroom_fuzz::decrypt_everywhere;

fuzz_target!(|data: &[u8]| {
    let info = inspect(data);
    let token = Token::from_bytes(data.to_vec());
    assert_eq!(
        info.is_ok(),
        token.is_ok(),
        "inspect and Token::from_bytes disagree"
    );
    if let (Ok(info), Ok(token)) = (&info, &token) {
        assert_eq!(*info, token.info());
    }
    let text = encode_text(data);
    match decode_text(&text) {
        Ok(bytes) => {
            assert!(
                info.is_ok(),
                "the text form accepted a header the binary form refuses"
            );
            assert_eq!(bytes, data, "the text form decoded to other bytes");
        }
        Err(_) => assert!(
            info.is_err(),
            "the text form refused a header the binary form accepts"
        ),
    }
    let opened = decrypt_everywhere(|c, row| c.decrypt(data, row));
    if opened > 0 {
        assert!(info.is_ok(), "a token with a refused header decrypted");
        let opened_text = decrypt_everywhere(|c, row| c.decrypt_text(&text, row));
        assert_eq!(opened, opened_text, "the text form decrypts differently");
    }
});
