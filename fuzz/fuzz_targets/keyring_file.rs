//! Keyring files: `Keyring::peek_id` and `Keyring::open` (with the
//! example's recovery key, which costs no Argon2id work) of arbitrary bytes
//! written to a temporary file, in every format (1, 2 and 3). Each input is
//! tried as is and with its header checksum recomputed, so mutations also
//! reach the checks behind the checksum (stanza ids and kinds, parameter
//! lengths, KDF bounds, body length, unlocking and the format-3 seals).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use strongroom::hazmat::kdf::hmac_sha256;
use strongroom::keyring::{KeyUse, Keyring, Purpose, Unlock};
use strongroom_fuzz::fixtures;

const LABEL_HEADER_CHECKSUM: &[u8] = b"strongroom/v1/keyring/header-checksum";

/// A per-process file in memory when possible (/dev/shm): rewriting a file
/// on a disk file system can cost a flush per input.
fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("strongroom-fuzz-keyring-{}.srk", std::process::id()))
    })
}

fn unlock() -> &'static Unlock {
    static U: OnceLock<Unlock> = OnceLock::new();
    U.get_or_init(fixtures::example_unlock)
}

/// Where the header checksum of a keyring would be (docs/SPEC.md section
/// 4.2: the fixed fields, the stanzas by their length, the body nonce and
/// length); `None` if the input is too short or, in formats 1 and 2, names
/// an unknown stanza kind. Format-3 stanzas carry their parameters' length.
fn checksum_offset(d: &[u8]) -> Option<usize> {
    let format = *d.get(8)?;
    let mut pos = 8 + 1 + 16 + 8 + 4;
    let count = *d.get(pos)?;
    pos += 1;
    for _ in 0..count {
        if format == 3 {
            let len = u16::from_be_bytes([*d.get(pos + 13)?, *d.get(pos + 14)?]);
            pos += 13 + 2 + usize::from(len) + 172;
            continue;
        }
        let kind = *d.get(pos + 4)?;
        pos += match kind {
            1 => 101, // format 1 passphrase
            2 => 89,  // format 1 recovery key
            3 => 153, // format 2 passphrase
            4 => 141, // format 2 recovery key
            _ => return None,
        };
    }
    pos += 12 + 4;
    (pos + 32 <= d.len()).then_some(pos)
}

fn try_open(bytes: &[u8]) {
    let path = path();
    std::fs::write(path, bytes).expect("writing the temporary keyring");
    let _cleanup = Remove(path);
    let id = Keyring::peek_id(path);
    if let Ok(ring) = Keyring::open(path, unlock()) {
        assert_eq!(id.ok(), Some(ring.id()), "peek_id disagrees with open");
        let versions = ring.versions();
        assert!(versions.iter().any(|v| v.version == ring.primary_version()));
        for v in versions {
            let _ = ring.purpose_key(v.version, Purpose::Field, KeyUse::Decrypt);
        }
        let _ = ring.protectors();
    }
}

/// Removes the temporary keyring when a run ends (or panics).
struct Remove<'a>(&'a PathBuf);

impl Drop for Remove<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

fuzz_target!(|data: &[u8]| {
    try_open(data);
    if let Some(at) = checksum_offset(data) {
        let sum = hmac_sha256(LABEL_HEADER_CHECKSUM, &[&data[..at]]);
        if sum != data[at..at + 32] {
            let mut fixed = data.to_vec();
            fixed[at..at + 32].copy_from_slice(&sum);
            try_open(&fixed);
        }
    }
});
