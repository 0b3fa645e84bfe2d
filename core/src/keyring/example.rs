//! The worked example of `docs/SPEC.md` section 4: every random input fixed,
//! so the exact bytes can be reproduced by an independent implementation.
//! The format-2 example is [`example_bytes`]; the format-1 one
//! ([`example_bytes_v1`]) is kept as the migration test vector.

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

/// The format-2 example header: a passphrase stanza (id 1) and a
/// recovery-key stanza (id 2), both public-key stanzas, generation 5, next
/// protector id 3.
pub(crate) fn header() -> Header {
    let id = keyring_id();
    let master = master();
    let p_salt = seq(0x50);
    let p_kek = protector::passphrase_kek(&passphrase(), &PARAMS, &p_salt).expect("valid example parameters");
    let passphrase_stanza = Stanza::seal_new_with_rng(
        &id,
        1,
        T0,
        StanzaKind::Passphrase {
            params: PARAMS,
            salt: p_salt,
        },
        &p_kek,
        &master,
        &mut FixedRng(seq(EPHEMERAL_SEED_1)),
    )
    .expect("valid example");
    let r_salt = seq(0xa0);
    let r_kek = protector::recovery_kek(&recovery_key(), &r_salt);
    let recovery_stanza = Stanza::seal_new_with_rng(
        &id,
        2,
        T0 + 100,
        StanzaKind::RecoveryKey { salt: r_salt },
        &r_kek,
        &master,
        &mut FixedRng(seq(EPHEMERAL_SEED_2)),
    )
    .expect("valid example");
    Header {
        id,
        generation: 5,
        next_protector_id: 3,
        stanzas: vec![passphrase_stanza, recovery_stanza],
        body_nonce: seq(0x70),
    }
}

/// The format-1 example header (same inputs; stanzas wrap the master key
/// under their KEK with wrap nonces `seq(0x60)` and `seq(0xb0)`).
pub(crate) fn header_v1() -> Header {
    let id = keyring_id();
    let master = master();
    let p_salt = seq(0x50);
    let p_kek = protector::passphrase_kek(&passphrase(), &PARAMS, &p_salt).expect("valid example parameters");
    let passphrase_stanza = Stanza::seal_legacy(
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
    let recovery_stanza = Stanza::seal_legacy(
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

/// The exact bytes of the example keyring file (format 2).
pub(crate) fn example_bytes() -> Vec<u8> {
    format::encode(&header(), &versions(), &master()).expect("valid example")
}

/// The exact bytes of the format-1 example keyring file (the migration
/// test vector): the format-2 encoding of [`header_v1`] with the version
/// byte set to 1 and the header checksum recomputed.
pub(crate) fn example_bytes_v1() -> Vec<u8> {
    encode_as_v1(&header_v1(), &versions(), &master())
}

/// Encodes a header of legacy stanzas in format 1, as earlier releases
/// wrote it (the layout is the same; only the version byte differs, and
/// the checksum and body tag cover it).
pub(crate) fn encode_as_v1(header: &Header, versions: &Versions, master: &SecretKey) -> Vec<u8> {
    assert!(header.stanzas.iter().all(Stanza::is_legacy));
    let bytes = format::encode(header, versions, master).expect("valid header");
    let parsed = format::parse(&bytes).expect("valid encoding");
    let header_len = parsed.aad.len();
    let mut head = parsed.aad.to_vec();
    head[format::MAGIC.len()] = format::VERSION_1;
    let checked = header_len - format::CHECKSUM_LEN;
    let sum = format::header_checksum(&head[..checked]);
    head[checked..].copy_from_slice(&sum);
    // Re-seal the body over the new header.
    let versions_plain = {
        let key = format::body_key(master, &header.id);
        let mut body = parsed.body.to_vec();
        let n = crate::crypto::Aes256Gcm::new(key.expose())
            .open_in_place(&header.body_nonce, parsed.aad, &mut body)
            .expect("own body");
        body.truncate(n);
        body
    };
    let key = format::body_key(master, &header.id);
    let mut body = versions_plain;
    let tag = crate::crypto::Aes256Gcm::new(key.expose()).seal_in_place(&header.body_nonce, &head, &mut body);
    head.extend_from_slice(&body);
    head.extend_from_slice(&tag);
    head
}
