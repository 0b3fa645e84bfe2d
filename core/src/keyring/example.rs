//! The worked example of `docs/SPEC.md` section 4: every random input fixed,
//! so the exact bytes can be reproduced by an independent implementation.

use super::format::{self, Header};
use super::protector::{self, Stanza, StanzaKind};
use super::recovery::RecoveryKey;
use super::version::{KeyStatus, KeyVersionInfo, VersionEntry, Versions};
use crate::passphrase::KdfParams;
use crate::secret::{Passphrase, SecretKey};

/// Passphrase of the example.
pub(crate) const PASSPHRASE: &str = "correct horse battery staple";
/// Small but valid Argon2id cost, so the example opens quickly.
pub(crate) const PARAMS: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};
/// 2023-11-14T22:13:20Z.
pub(crate) const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;

/// `N` bytes counting up from `start` (wrapping).
pub(crate) fn seq<const N: usize>(start: u8) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = start.wrapping_add(i as u8);
    }
    out
}

/// The example's master key: 00 01 .. 1f.
pub(crate) fn master() -> SecretKey {
    SecretKey::from_array(seq(0x00))
}

/// The example's keyring id: 40 41 .. 4f.
pub(crate) fn keyring_id() -> [u8; 16] {
    seq(0x40)
}

/// The example's recovery key: 80 81 .. 9f.
pub(crate) fn recovery_key() -> RecoveryKey {
    RecoveryKey::from_array(seq(0x80))
}

/// The example's passphrase.
pub(crate) fn passphrase() -> Passphrase {
    Passphrase::from(PASSPHRASE)
}

fn entry(
    version: u32,
    status: KeyStatus,
    created_at: u64,
    changed: u64,
    material: Option<[u8; 32]>,
) -> VersionEntry {
    VersionEntry {
        info: KeyVersionInfo {
            version,
            status,
            created_at,
            status_changed_at: changed,
        },
        material: material.map(SecretKey::from_array),
    }
}

/// The version table of the example: one version of every status.
pub(crate) fn versions() -> Versions {
    Versions(vec![
        entry(1, KeyStatus::Destroyed, T0, T0 + 3 * DAY, None),
        entry(2, KeyStatus::Disabled, T0 + DAY, T0 + 3 * DAY, Some(seq(0xc0))),
        entry(
            3,
            KeyStatus::DecryptOnly,
            T0 + 2 * DAY,
            T0 + 3 * DAY,
            Some(seq(0xe0)),
        ),
        entry(4, KeyStatus::Primary, T0 + 3 * DAY, T0 + 3 * DAY, Some(seq(0x20))),
    ])
}

/// The example header: a passphrase stanza (id 1) and a recovery-key stanza
/// (id 2), generation 5, next protector id 3.
pub(crate) fn header() -> Header {
    let id = keyring_id();
    let master = master();
    let p_salt = seq(0x50);
    let p_kek = protector::passphrase_kek(&passphrase(), &PARAMS, &p_salt).expect("valid example parameters");
    let passphrase_stanza = Stanza::seal(
        &id,
        1,
        T0,
        StanzaKind::Passphrase {
            params: PARAMS,
            salt: p_salt,
        },
        &p_kek,
        &master,
        seq(0x60),
    );
    let r_salt = seq(0xa0);
    let r_kek = protector::recovery_kek(&recovery_key(), &r_salt);
    let recovery_stanza = Stanza::seal(
        &id,
        2,
        T0 + 100,
        StanzaKind::RecoveryKey { salt: r_salt },
        &r_kek,
        &master,
        seq(0xb0),
    );
    Header {
        id,
        generation: 5,
        next_protector_id: 3,
        stanzas: vec![passphrase_stanza, recovery_stanza],
        body_nonce: seq(0x70),
    }
}

/// The exact bytes of the example keyring file.
pub(crate) fn example_bytes() -> Vec<u8> {
    format::encode(&header(), &versions(), &master()).expect("valid example")
}
