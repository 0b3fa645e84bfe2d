//! The file header parser (`file::inspect`, `Header::read_from`) on
//! arbitrary bytes: never panics, and a header it accepts re-encodes to
//! exactly the bytes it was read from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use strongroom::file::{Header, inspect};

fuzz_target!(|data: &[u8]| {
    let info = inspect(Cursor::new(data));
    let header = Header::read_from(data);
    if info.is_ok() {
        assert!(header.is_ok(), "inspect accepted a header that read_from refuses");
    }
    if let Ok(header) = header {
        let len = header.encoded_len();
        assert!(len <= data.len(), "header longer than its input");
        assert_eq!(
            header.to_bytes(),
            &data[..len],
            "a parsed header re-encodes differently"
        );
        if let Ok(info) = info {
            assert_eq!(info.header_len, len as u64);
            assert_eq!(info.payload_len, Some((data.len() - len) as u64));
            assert_eq!(info.stanzas.len(), header.stanzas.len());
        }
    }
});
