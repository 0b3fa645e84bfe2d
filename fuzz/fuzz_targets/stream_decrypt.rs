//! Streaming decryption (`file::Decryptor`) of arbitrary bytes with the
//! testkit keyring: never panics, and agrees with the random-access reader
//! read front to back and with in-place decryption (same success, same
//! plaintext; a failed in-place decryption leaves no plaintext). A valid seed file
//! lets the fuzzer past the header MAC into the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Read};
use strongroom::file::{Decryptor, Identity, SeekableDecryptor, decrypt_in_place, inspect};

fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let ids = [Identity::Keyring(strongroom_fuzz::keyring())];
    let streamed = match Decryptor::new(data, &ids) {
        Ok(dec) => {
            assert!(
                inspect(Cursor::new(data)).is_ok(),
                "a file that opens does not inspect"
            );
            read_all(dec).map_err(strongroom::error::from_io)
        }
        Err(e) => Err(e),
    };
    let seeked = SeekableDecryptor::new(Cursor::new(data), &ids)
        .and_then(|dec| read_all(dec).map_err(strongroom::error::from_io));
    let mut buf = data.to_vec();
    match (&streamed, decrypt_in_place(&mut buf, &ids)) {
        (Ok(a), Ok(b)) => assert_eq!(&a[..], &b[..], "in-place decryption differs"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "streaming {:?} but in place {:?}",
            a.as_ref().map(Vec::len),
            b.map(|p| p.len())
        ),
    }
    match (&streamed, &seeked) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the two readers decrypt differently"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "streaming {:?} but random access {:?}",
            a.as_ref().map(Vec::len),
            b.as_ref().map(Vec::len)
        ),
    }
});
