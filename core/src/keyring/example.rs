//! The worked example of `docs/SPEC.md` section 4: every random input fixed,
//! so the exact bytes can be reproduced by an independent implementation.
//! The format-3 example is [`example_bytes`]; the format-2 and format-1
//! ones ([`example_bytes_v2`], [`example_bytes_v1`]) are kept as the
//! vectors of the older formats, which are still read and upgraded.

use super::format::{self, AuthTable, Body, Header};
use super::kind::{self, Kind};
use super::recovery::RecoveryKey;
use super::stanza::{Stanza, legacy};
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

/// A generator that returns fixed bytes: HPKE draws the 32-byte seed of its
/// ephemeral key from it, so the ephemeral key pair is
/// `DeriveKeyPair(seed)` and the encapsulation is reproducible.
pub(crate) struct FixedRng(pub [u8; 32]);

impl hpke::rand_core::TryRng for FixedRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        unreachable!("HPKE only fills byte buffers")
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        unreachable!("HPKE only fills byte buffers")
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        assert_eq!(dst.len(), 32, "one X25519 seed");
        dst.copy_from_slice(&self.0);
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for FixedRng {}

/// Seed of the ephemeral key of stanza 1's encapsulation.
pub(crate) const EPHEMERAL_SEED_1: u8 = 0x60;
/// Seed of the ephemeral key of stanza 2's encapsulation.
pub(crate) const EPHEMERAL_SEED_2: u8 = 0xb0;
/// Authentication value of stanza 1 (format 3): `seq(0x30, 32)`.
pub(crate) const AUTH_1: u8 = 0x30;
/// Authentication value of stanza 2 (format 3): `seq(0xd0, 32)`.
pub(crate) const AUTH_2: u8 = 0xd0;
/// Nonce of stanza 1's auth-value wrap: `seq(0x90, 12)`.
pub(crate) const AUTH_NONCE_1: u8 = 0x90;
/// Nonce of stanza 2's auth-value wrap: `seq(0x9c, 12)`.
pub(crate) const AUTH_NONCE_2: u8 = 0x9c;

/// The passphrase protector's kind, parameters and KEK.
fn passphrase_protector() -> (Kind, SecretKey) {
    let salt = seq(0x50);
    let kek = kind::passphrase_kek(&passphrase(), &PARAMS, &salt).expect("valid example parameters");
    (Kind::Passphrase { params: PARAMS, salt }, kek)
}

/// The recovery-key protector's kind, parameters and KEK.
fn recovery_protector() -> (Kind, SecretKey) {
    let salt = seq(0xa0);
    (
        Kind::RecoveryKey { salt },
        kind::recovery_kek(&recovery_key(), &salt),
    )
}

/// The header fields around the stanzas: generation 5, next protector id
/// 3, body nonce `seq(0x70, 12)`.
fn header_with(format: u8, stanzas: Vec<Stanza>) -> Header {
    Header {
        format,
        id: keyring_id(),
        generation: 5,
        next_protector_id: 3,
        stanzas,
        body_nonce: seq(0x70),
    }
}

/// The format-3 example header: a passphrase stanza (id 1) and a
/// recovery-key stanza (id 2).
pub(crate) fn header() -> Header {
    let id = keyring_id();
    let master = master();
    let mut stanzas = Vec::new();
    for (n, created, (kind, kek), auth, nonce, seed) in [
        (
            1,
            T0,
            passphrase_protector(),
            AUTH_1,
            AUTH_NONCE_1,
            EPHEMERAL_SEED_1,
        ),
        (
            2,
            T0 + 100,
            recovery_protector(),
            AUTH_2,
            AUTH_NONCE_2,
            EPHEMERAL_SEED_2,
        ),
    ] {
        let auth = SecretKey::from_array(seq(auth));
        let stanza = Stanza::enroll(&id, n, created, kind, &kek, &auth, seq(nonce))
            .sealed_with_rng(&id, &master, &auth, &mut FixedRng(seq(seed)))
            .expect("valid example");
        stanzas.push(stanza);
    }
    header_with(super::layout::VERSION, stanzas)
}

/// The body of the format-3 example: the protector table and the versions.
pub(crate) fn body() -> Body {
    Body {
        auth: AuthTable(vec![
            (1, SecretKey::from_array(seq(AUTH_1))),
            (2, SecretKey::from_array(seq(AUTH_2))),
        ]),
        versions: versions(),
    }
}

/// The version table alone (formats 1 and 2 have no protector table).
fn body_without_table() -> Body {
    Body {
        auth: AuthTable::default(),
        versions: versions(),
    }
}

/// The format-2 example header: both stanzas sealed in HPKE base mode.
pub(crate) fn header_v2() -> Header {
    let id = keyring_id();
    let master = master();
    let (p_kind, p_kek) = passphrase_protector();
    let (r_kind, r_kek) = recovery_protector();
    let stanzas = vec![
        legacy::seal_v2(
            &id,
            1,
            T0,
            p_kind,
            &p_kek,
            &master,
            &mut FixedRng(seq(EPHEMERAL_SEED_1)),
        ),
        legacy::seal_v2(
            &id,
            2,
            T0 + 100,
            r_kind,
            &r_kek,
            &master,
            &mut FixedRng(seq(EPHEMERAL_SEED_2)),
        ),
    ];
    header_with(super::layout::VERSION_2, stanzas)
}

/// The format-1 example header (same inputs; stanzas wrap the master key
/// under their KEK with wrap nonces `seq(0x60)` and `seq(0xb0)`).
pub(crate) fn header_v1() -> Header {
    let id = keyring_id();
    let master = master();
    let (p_kind, p_kek) = passphrase_protector();
    let (r_kind, r_kek) = recovery_protector();
    let stanzas = vec![
        legacy::seal_v1(&id, 1, T0, p_kind, &p_kek, &master, seq(0x60)),
        legacy::seal_v1(&id, 2, T0 + 100, r_kind, &r_kek, &master, seq(0xb0)),
    ];
    header_with(super::layout::VERSION_1, stanzas)
}

/// The exact bytes of the example keyring file (format 3).
pub(crate) fn example_bytes() -> Vec<u8> {
    format::encode(&header(), &body(), &master()).expect("valid example")
}

/// The exact bytes of the format-2 example keyring file.
pub(crate) fn example_bytes_v2() -> Vec<u8> {
    format::encode(&header_v2(), &body_without_table(), &master()).expect("valid example")
}

/// The exact bytes of the format-1 example keyring file.
pub(crate) fn example_bytes_v1() -> Vec<u8> {
    format::encode(&header_v1(), &body_without_table(), &master()).expect("valid example")
}

/// Encodes an older-format keyring (format 1 or 2) holding `versions`
/// under `master`, as earlier releases wrote it.
pub(crate) fn encode_old(header: &Header, versions: Versions, master: &SecretKey) -> Vec<u8> {
    assert!(header.format < super::layout::VERSION);
    let body = Body {
        auth: AuthTable::default(),
        versions,
    };
    format::encode(header, &body, master).expect("valid header")
}
