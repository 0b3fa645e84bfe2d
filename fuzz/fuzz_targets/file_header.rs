//! The file header parser (`file::inspect`, `EncryptedFile::open`) on
//! arbitrary bytes: never panics, the seekable and the streaming readers
//! agree, and an accepted header fits in its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use strongroom::file::{EncryptedFile, inspect};

fuzz_target!(|data: &[u8]| {
    let info = inspect(Cursor::new(data));
    let streamed = EncryptedFile::open(data);
    assert_eq!(info.is_ok(), streamed.is_ok(), "the two header readers disagree");
    if let (Ok(info), Ok(streamed)) = (info, streamed) {
        let len = info.header_len;
        assert!(len <= data.len() as u64, "header longer than its input");
        assert_eq!(info.payload_len, Some(data.len() as u64 - len));
        assert_eq!(info.stanzas, streamed.info().stanzas);
        assert_eq!(info.file_id, streamed.info().file_id);
        assert_eq!(streamed.info().header_len, len);
    }
});
