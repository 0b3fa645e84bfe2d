//! The worked example of docs/SPEC.md, built from fixed inputs so that any
//! implementation can reproduce it byte for byte.

use super::header::{Core, Header, SUITE_COBBLESTONE_256, VERSION};
use super::stanza::{KIND_PASSPHRASE, passphrase_params, wrap_with_nonce};
use crate::chunked::ChunkedWriter;
use crate::error::Result;
use crate::passphrase::KdfParams;
use crate::secret::{Passphrase, SecretKey};

/// Passphrase of the example file.
pub const PASSPHRASE: &str = "correct horse battery staple";
/// Plaintext of the example file.
pub const PLAINTEXT: &[u8] = b"Hello, strongroom!\n";
/// Argon2id parameters of the example (the floor, to keep it quick).
pub const PARAMS: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};

/// Every fixed input of the example.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// File key: bytes 0x00 to 0x1f.
    pub file_key: [u8; 32],
    /// File id: 16 x 0x10.
    pub file_id: [u8; 16],
    /// Argon2id salt: 16 x 0x20.
    pub argon2_salt: [u8; 16],
    /// Stanza wrap nonce: 12 x 0x30.
    pub wrap_nonce: [u8; 12],
    /// Payload salt: 24 x 0x40.
    pub payload_salt: [u8; 24],
}

/// The example's fixed inputs.
pub fn inputs() -> Inputs {
    let mut file_key = [0u8; 32];
    for (i, b) in file_key.iter_mut().enumerate() {
        *b = i as u8;
    }
    Inputs {
        file_key,
        file_id: [0x10; 16],
        argon2_salt: [0x20; 16],
        wrap_nonce: [0x30; 12],
        payload_salt: [0x40; 24],
    }
}

/// Builds the example file: one passphrase stanza, payload [`PLAINTEXT`].
#[doc(hidden)]
pub fn spec_example() -> Result<Vec<u8>> {
    let Inputs {
        file_key: key_bytes,
        file_id,
        argon2_salt: argon_salt,
        wrap_nonce: nonce,
        payload_salt,
    } = inputs();
    let file_key = SecretKey::from_array(key_bytes);
    let core = Core {
        version: VERSION,
        suite: SUITE_COBBLESTONE_256,
        file_id,
    };
    let kek = PARAMS.derive(&Passphrase::from(PASSPHRASE), &argon_salt)?;
    let stanza = wrap_with_nonce(
        &core.to_bytes(),
        KIND_PASSPHRASE,
        passphrase_params(PARAMS, &argon_salt),
        &kek,
        &file_key,
        nonce,
    );
    let header = Header::build(core, vec![stanza], &file_key)?;
    let mut out = header.to_bytes();
    let mut w = ChunkedWriter::with_salt(&mut out, file_key.expose(), &payload_salt, &core.to_bytes())?;
    std::io::Write::write_all(&mut w, PLAINTEXT)?;
    w.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{Decryptor, Identity};
    use std::io::Read;

    const EXPECTED_HEX: &str = include_str!("../../../testdata/file/example.hex");

    #[test]
    fn example_is_reproduced_byte_for_byte() {
        let bytes = spec_example().unwrap();
        let expected: String = EXPECTED_HEX.split_whitespace().collect();
        assert_eq!(hex_encode(&bytes), expected, "docs/SPEC.md example drifted");
    }

    #[test]
    fn example_opens_with_its_passphrase() {
        let bytes = spec_example().unwrap();
        let pass = Passphrase::from(PASSPHRASE);
        let mut dec = Decryptor::new(&bytes[..], &[Identity::Passphrase(&pass)]).unwrap();
        let mut out = Vec::new();
        dec.read_to_end(&mut out).unwrap();
        assert_eq!(out, PLAINTEXT);
    }

    fn hex_encode(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
