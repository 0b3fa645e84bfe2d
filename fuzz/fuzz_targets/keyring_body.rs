//! Format-3 keyring bodies: the input is the body's plaintext (protector
//! table and version table), sealed under the worked example's master key
//! behind the example's own header (docs/SPEC.md section 4.6), so every
//! input authenticates and reaches the checks behind authentication: the
//! protector table against the header's stanzas and the unlocking
//! protector's authentication value, the version table's rules. A keyring
//! that opens must survive a change (a new key version, saved and opened
//! again) with every version it had.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use strongroom::hazmat::aead::Aes256Gcm;
use strongroom::hazmat::kdf::{derive_key32, hmac_sha256};
use strongroom::keyring::{KeyUse, Keyring, Purpose};
use strongroom_fuzz::fixtures;

const LABEL_HEADER_CHECKSUM: &[u8] = b"strongroom/v1/keyring/header-checksum";
const LABEL_BODY: &[u8] = b"strongroom/v1/keyring/body";
/// Largest body plaintext tried (the format allows far more; this keeps
/// runs fast while covering every field).
const MAX_PLAIN: usize = 4096;

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("strongroom-fuzz-keyring-body-{}.srk", std::process::id()))
    })
}

/// The example's header up to (not including) the body length, and the
/// keyring id and body nonce it holds.
fn example_head() -> &'static (Vec<u8>, [u8; 16], [u8; 12]) {
    static H: OnceLock<(Vec<u8>, [u8; 16], [u8; 12])> = OnceLock::new();
    H.get_or_init(|| {
        let bytes = fixtures::example_keyring_bytes();
        // The checksum is the 32 bytes before the body; the length the 4
        // before them; the header ends at 809 - 305 in the example.
        let body_len = u32::from_be_bytes(
            bytes[bytes.len() - 305 - 36..bytes.len() - 305 - 32]
                .try_into()
                .unwrap(),
        );
        assert_eq!(body_len, 305, "the example's body length");
        let head = bytes[..bytes.len() - 305 - 36].to_vec();
        let id: [u8; 16] = bytes[9..25].try_into().unwrap();
        let nonce: [u8; 12] = head[head.len() - 12..].try_into().unwrap();
        (head, id, nonce)
    })
}

fuzz_target!(|plain: &[u8]| {
    if plain.len() > MAX_PLAIN {
        return;
    }
    let (head, id, nonce) = example_head();
    let mut file = head.clone();
    file.extend_from_slice(&((plain.len() + 16) as u32).to_be_bytes());
    let sum = hmac_sha256(LABEL_HEADER_CHECKSUM, &[&file]);
    file.extend_from_slice(&sum);
    let master = fixtures::example_master_key();
    let key = derive_key32(&master, id, LABEL_BODY);
    let mut body = plain.to_vec();
    let tag = Aes256Gcm::new(key.dangerous_expose_bytes()).seal_in_place(nonce, &file, &mut body);
    file.extend_from_slice(&body);
    file.extend_from_slice(&tag);

    let path = path();
    std::fs::write(path, &file).expect("writing the temporary keyring");
    let _cleanup = Remove(path);
    let Ok(mut ring) = Keyring::open(path, fixtures::example_unlock_ref()) else {
        return;
    };
    let before = ring.versions();
    let keys: Vec<_> = before
        .iter()
        .filter_map(|v| {
            ring.purpose_key(v.version, Purpose::Field, KeyUse::Decrypt)
                .ok()
                .map(|k| (v.version, k))
        })
        .collect();
    if ring.add_key(false).is_ok() {
        let again = Keyring::open(path, fixtures::example_unlock_ref()).expect("a saved keyring opens");
        assert_eq!(again.versions().len(), before.len() + 1);
        for (v, k) in keys {
            let now = again
                .purpose_key(v, Purpose::Field, KeyUse::Decrypt)
                .expect("a version kept its key");
            assert_eq!(now.dangerous_expose_bytes(), k.dangerous_expose_bytes());
        }
    }
});

struct Remove<'a>(&'a PathBuf);

impl Drop for Remove<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
        let mut lock = self.0.as_os_str().to_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}
