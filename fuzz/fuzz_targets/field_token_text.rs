//! Text field tokens (`sr1.` + base64url): `field::decode_text`,
//! `Token::from_text` and `FieldCipher::decrypt_text` with the vector keys.
//! Never panics; only the canonical encoding of a token is accepted
//! (encoding the decoded bytes gives back the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom::field::{Token, decode_text, encode_text, inspect};
use strongroom_fuzz::decrypt_everywhere;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = decode_text(text);
    let token = Token::from_text(text);
    assert_eq!(
        decoded.is_ok(),
        token.is_ok(),
        "decode_text and Token::from_text disagree"
    );
    if let Ok(bytes) = &decoded {
        assert_eq!(encode_text(bytes), text, "a non-canonical text form was accepted");
        assert!(inspect(bytes).is_ok());
        assert_eq!(token.as_ref().map(Token::as_bytes).ok(), Some(bytes.as_slice()));
    }
    let opened = decrypt_everywhere(|c, row| c.decrypt_text(text, row));
    if opened > 0 {
        let bytes = decoded.expect("a text token that decrypts decodes");
        let opened_binary = decrypt_everywhere(|c, row| c.decrypt(&bytes, row));
        assert_eq!(opened, opened_binary, "the binary form decrypts differently");
    }
});
