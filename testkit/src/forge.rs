//! An independent writer of keyring files, built from `docs/SPEC.md`
//! section 4 alone and the primitive crates (`hpke`, `aes-gcm`, `hmac`,
//! `sha2`, `argon2`), never from strongroom's keyring code: the tests use
//! it to reproduce the worked example byte for byte and then to mount the
//! attacks of issue 16 as an attacker would (planted keyrings, forged
//! seals, downgrades, rollbacks).
//!
//! Everything here is for tests: it panics on any input it does not
//! expect.

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hmac::{Hmac, Mac};
use hpke::kem::{Kem as KemTrait, X25519HkdfSha256};
use hpke::{Deserializable, OpModeR, OpModeS, PskBundle, Serializable};
use sha2::Sha256;

type Kem = X25519HkdfSha256;
type HpkeAead = hpke::aead::AesGcm256;
type HpkeKdf = hpke::kdf::HkdfSha256;

/// `SRKEYRNG`.
pub const MAGIC: &[u8; 8] = b"SRKEYRNG";
const LABEL_KEK_PASSPHRASE: &[u8] = b"strongroom/v1/keyring/kek/passphrase";
const LABEL_KEK_RECOVERY: &[u8] = b"strongroom/v1/keyring/kek/recovery-key";
const LABEL_PROTECTOR_KEY: &[u8] = b"strongroom/v2/keyring/protector-key";
const LABEL_PROTECTOR_AUTH: &[u8] = b"strongroom/v3/keyring/protector-auth";
const LABEL_INFO_V2: &[u8] = b"strongroom/v2/keyring/master-key";
const LABEL_INFO_V3: &[u8] = b"strongroom/v3/keyring/master-key";
const LABEL_PSK_ID: &[u8] = b"strongroom/v3/keyring/psk-id";
const LABEL_BODY: &[u8] = b"strongroom/v1/keyring/body";
const LABEL_CHECKSUM: &[u8] = b"strongroom/v1/keyring/header-checksum";
const LABEL_RECOVERY_CHECKSUM: &[u8] = b"strongroom/v1/keyring/recovery-key-checksum";
/// Purpose label of file wrapping (SPEC §4.1).
pub const PURPOSE_FILE_WRAP: &[u8] = b"strongroom/v1/keyring/purpose/file-wrap";
/// Purpose label of random-mode fields.
pub const PURPOSE_FIELD: &[u8] = b"strongroom/v1/keyring/purpose/field";

/// Kind byte of a format-3 passphrase stanza.
pub const KIND_PASSPHRASE: u8 = 5;
/// Kind byte of a format-3 recovery-key stanza.
pub const KIND_RECOVERY_KEY: u8 = 6;

/// HMAC-SHA-256.
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    let out = m.finalize().into_bytes();
    let mut a = [0u8; 32];
    a.copy_from_slice(&out);
    a
}

/// SPEC §1 `derive32`: HKDF-SHA-256 extract (empty salt = 32 zero bytes)
/// and expand to 32 bytes (one HMAC block).
pub fn derive32(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let zero = [0u8; 32];
    let salt = if salt.is_empty() { &zero[..] } else { salt };
    let prk = hmac(salt, &[ikm]);
    hmac(&prk, &[info, &[1]])
}

/// AES-256-GCM seal: ciphertext then tag.
pub fn gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    let mut out = vec![0u8; plain.len()];
    let buf = InOutBuf::new(plain, &mut out).expect("equal lengths");
    let tag = cipher
        .encrypt_inout_detached(nonce.into(), aad, buf)
        .expect("short input");
    out.extend_from_slice(&tag);
    out
}

/// AES-256-GCM open; `None` if the tag fails.
pub fn gcm_open(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    let (ct, tag) = sealed.split_at(sealed.len().checked_sub(16)?);
    let tag: [u8; 16] = tag.try_into().ok()?;
    let mut out = vec![0u8; ct.len()];
    let buf = InOutBuf::new(ct, &mut out).ok()?;
    cipher
        .decrypt_inout_detached(nonce.into(), aad, buf, (&tag).into())
        .ok()?;
    Some(out)
}

/// Argon2id, version 0x13, 32-byte output.
pub fn argon2id(pass: &[u8], salt: &[u8], m: u32, t: u32, p: u32) -> [u8; 32] {
    let params = argon2::Params::new(m, t, p, Some(32)).expect("valid parameters");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon.hash_password_into(pass, salt, &mut out).expect("Argon2id");
    out
}

/// The secret a protector takes.
#[derive(Debug, Clone)]
pub enum Secret {
    /// A passphrase, as UTF-8.
    Passphrase(String),
    /// The 32 bytes of a recovery key.
    RecoveryKey([u8; 32]),
}

/// Decodes the text form of a recovery key (SPEC §4.5) to its 32 bytes.
pub fn parse_recovery_key(text: &str) -> [u8; 32] {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let symbols: Vec<u8> = text
        .trim()
        .trim_start_matches("SRRK")
        .bytes()
        .filter(|b| *b != b'-' && !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_uppercase())
        .collect();
    assert_eq!(symbols.len(), 55, "55 symbols");
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut raw = Vec::with_capacity(34);
    for s in symbols {
        let v = ALPHABET.iter().position(|a| *a == s).expect("a Crockford symbol") as u32;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            raw.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    assert_eq!(raw.len(), 34);
    let key: [u8; 32] = raw[..32].try_into().unwrap();
    assert_eq!(raw[32..], hmac(LABEL_RECOVERY_CHECKSUM, &[&key])[..2], "checksum");
    key
}

/// One parsed stanza (format 2 or 3).
#[derive(Debug, Clone)]
pub struct Stanza {
    /// Protector id.
    pub id: u32,
    /// Kind byte.
    pub kind: u8,
    /// created_at.
    pub created_at: u64,
    /// The kind's parameters (m, t, p, salt; or salt).
    pub params: Vec<u8>,
    /// pkP.
    pub public: [u8; 32],
    /// Format 3: auth nonce.
    pub auth_nonce: [u8; 12],
    /// Format 3: wrapped authentication value.
    pub wrapped_auth: [u8; 48],
    /// HPKE enc.
    pub enc: [u8; 32],
    /// Sealed master key.
    pub sealed: [u8; 48],
}

impl Stanza {
    /// The salt (the last 16 bytes of the parameters).
    pub fn salt(&self) -> &[u8] {
        &self.params[self.params.len() - 16..]
    }

    /// The KEK `secret` gives for this stanza (`None` for the other kind).
    pub fn kek(&self, secret: &Secret) -> Option<[u8; 32]> {
        match (secret, self.params.len()) {
            (Secret::Passphrase(p), 28) => {
                let u = |i: usize| u32::from_be_bytes(self.params[i..i + 4].try_into().unwrap());
                let stretched = argon2id(p.as_bytes(), self.salt(), u(0), u(4), u(8));
                Some(derive32(&stretched, self.salt(), LABEL_KEK_PASSPHRASE))
            }
            (Secret::RecoveryKey(k), 16) => Some(derive32(k, self.salt(), LABEL_KEK_RECOVERY)),
            _ => None,
        }
    }

    /// id, kind, created_at, (format 3: params_len), params.
    fn lead(&self, format: u8) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.id.to_be_bytes());
        out.push(self.kind);
        out.extend_from_slice(&self.created_at.to_be_bytes());
        if format == 3 {
            out.extend_from_slice(&(self.params.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(&self.params);
        out
    }

    /// The stanza's bytes in `format`.
    pub fn encode(&self, format: u8) -> Vec<u8> {
        let mut out = self.lead(format);
        out.extend_from_slice(&self.public);
        if format == 3 {
            out.extend_from_slice(&self.auth_nonce);
            out.extend_from_slice(&self.wrapped_auth);
        }
        out.extend_from_slice(&self.enc);
        out.extend_from_slice(&self.sealed);
        out
    }

    /// AAD of the auth-value wrap (format 3).
    fn auth_aad(&self, id: &[u8; 16]) -> Vec<u8> {
        let mut aad = [&MAGIC[..], &[3], id].concat();
        aad.extend_from_slice(&self.lead(3));
        aad.extend_from_slice(&self.public);
        aad
    }

    /// AAD of the master-key seal: every stanza byte before `enc`.
    fn seal_aad(&self, format: u8, id: &[u8; 16]) -> Vec<u8> {
        let mut aad = [&MAGIC[..], &[format], id].concat();
        let bytes = self.encode(format);
        aad.extend_from_slice(&bytes[..bytes.len() - 80]);
        aad
    }

    /// Sets pkP from `kek` and, with `auth`, wraps the authentication
    /// value under `kek`'s auth key with `nonce` (format 3).
    pub fn enroll(&mut self, id: &[u8; 16], kek: &[u8; 32], auth: Option<(&[u8; 32], [u8; 12])>) {
        self.public = public_key(id, kek);
        if let Some((value, nonce)) = auth {
            self.auth_nonce = nonce;
            let key = derive32(kek, id, LABEL_PROTECTOR_AUTH);
            let wrapped = gcm_seal(&key, &nonce, &self.auth_aad(id), value);
            self.wrapped_auth.copy_from_slice(&wrapped);
        }
    }

    /// Seals `master` to pkP: in format 3 with HPKE PSK mode under `psk`,
    /// or, with `psk` `None`, in base mode (what format 2 does, and what a
    /// forger without any secret can do); the ephemeral key from `seed`.
    pub fn seal(
        &mut self,
        format: u8,
        id: &[u8; 16],
        master: &[u8; 32],
        psk: Option<&[u8; 32]>,
        seed: [u8; 32],
    ) {
        let pk = <Kem as KemTrait>::PublicKey::from_bytes(&self.public).expect("X25519 point");
        let aad = self.seal_aad(format, id);
        let psk_id = [LABEL_PSK_ID, &id[..], &self.id.to_be_bytes()].concat();
        let label = if format == 3 { LABEL_INFO_V3 } else { LABEL_INFO_V2 };
        let info = [label, &id[..]].concat();
        let mode = match psk {
            Some(psk) => OpModeS::Psk(PskBundle::new(psk, &psk_id).unwrap()),
            None => OpModeS::Base,
        };
        let (enc, ct) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, Kem>(
            &mode,
            &pk,
            &info,
            master,
            &aad,
            &mut Fixed(seed),
        )
        .expect("seal");
        self.enc.copy_from_slice(&enc.to_bytes());
        self.sealed.copy_from_slice(&ct);
    }

    /// What `kek` opens in this stanza: the master key and (format 3) the
    /// authentication value; `None` if `kek` is not this protector's.
    pub fn open(&self, format: u8, id: &[u8; 16], kek: &[u8; 32]) -> Option<([u8; 32], Option<[u8; 32]>)> {
        let seed = derive32(kek, id, LABEL_PROTECTOR_KEY);
        let (sk, pk) = Kem::derive_keypair(&seed);
        if pk.to_bytes()[..] != self.public[..] {
            return None;
        }
        let enc = <Kem as KemTrait>::EncappedKey::from_bytes(&self.enc).ok()?;
        let aad = self.seal_aad(format, id);
        let psk_id = [LABEL_PSK_ID, &id[..], &self.id.to_be_bytes()].concat();
        let (plain, auth) = if format == 3 {
            let key = derive32(kek, id, LABEL_PROTECTOR_AUTH);
            let auth: [u8; 32] = gcm_open(&key, &self.auth_nonce, &self.auth_aad(id), &self.wrapped_auth)?
                .try_into()
                .ok()?;
            let info = [LABEL_INFO_V3, &id[..]].concat();
            let mode = OpModeR::Psk(PskBundle::new(&auth, &psk_id).unwrap());
            let plain =
                hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(&mode, &sk, &enc, &info, &self.sealed, &aad)
                    .ok()?;
            (plain, Some(auth))
        } else {
            let info = [LABEL_INFO_V2, &id[..]].concat();
            let plain = hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(
                &OpModeR::Base,
                &sk,
                &enc,
                &info,
                &self.sealed,
                &aad,
            )
            .ok()?;
            (plain, None)
        };
        Some((plain.try_into().ok()?, auth))
    }
}

/// pkP of the protector whose KEK is `kek` in keyring `id`.
pub fn public_key(id: &[u8; 16], kek: &[u8; 32]) -> [u8; 32] {
    let seed = derive32(kek, id, LABEL_PROTECTOR_KEY);
    let (_, pk) = Kem::derive_keypair(&seed);
    pk.to_bytes().as_slice().try_into().unwrap()
}

/// One key version of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Number.
    pub version: u32,
    /// 1 primary, 2 decrypt-only, 3 disabled, 4 destroyed.
    pub status: u8,
    /// created_at.
    pub created_at: u64,
    /// status_changed_at.
    pub changed_at: u64,
    /// The secret (zero when destroyed).
    pub secret: [u8; 32],
}

/// A whole keyring as a writer sees it: header fields, stanzas, and the
/// body's plaintext parts.
#[derive(Debug, Clone)]
pub struct Keyring {
    /// Format version byte.
    pub format: u8,
    /// Keyring id.
    pub id: [u8; 16],
    /// Generation.
    pub generation: u64,
    /// Next protector id.
    pub next_protector_id: u32,
    /// Stanzas in file order.
    pub stanzas: Vec<Stanza>,
    /// Body nonce.
    pub body_nonce: [u8; 12],
    /// Format 3: the protector table (id, authentication value).
    pub auth: Vec<(u32, [u8; 32])>,
    /// Key versions.
    pub versions: Vec<Version>,
}

/// The purpose key of a version secret (SPEC §4.1).
pub fn purpose_key(secret: &[u8; 32], id: &[u8; 16], label: &[u8]) -> [u8; 32] {
    derive32(secret, id, label)
}

impl Keyring {
    /// The file's bytes, its body sealed under `master`.
    pub fn encode(&self, master: &[u8; 32]) -> Vec<u8> {
        let mut plain = Vec::new();
        if self.format == 3 {
            plain.push(self.auth.len() as u8);
            for (id, value) in &self.auth {
                plain.extend_from_slice(&id.to_be_bytes());
                plain.extend_from_slice(value);
            }
        }
        plain.extend_from_slice(&(self.versions.len() as u32).to_be_bytes());
        for v in &self.versions {
            plain.extend_from_slice(&v.version.to_be_bytes());
            plain.push(v.status);
            plain.extend_from_slice(&v.created_at.to_be_bytes());
            plain.extend_from_slice(&v.changed_at.to_be_bytes());
            plain.extend_from_slice(&v.secret);
        }
        let mut out = MAGIC.to_vec();
        out.push(self.format);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.next_protector_id.to_be_bytes());
        out.push(self.stanzas.len() as u8);
        for s in &self.stanzas {
            out.extend_from_slice(&s.encode(self.format));
        }
        out.extend_from_slice(&self.body_nonce);
        out.extend_from_slice(&((plain.len() + 16) as u32).to_be_bytes());
        let sum = hmac(LABEL_CHECKSUM, &[&out]);
        out.extend_from_slice(&sum);
        let body_key = derive32(master, &self.id, LABEL_BODY);
        let body = gcm_seal(&body_key, &self.body_nonce, &out, &plain);
        out.extend_from_slice(&body);
        out
    }

    /// Parses the clear header of a format-2 or format-3 file (no key
    /// needed); the body parts stay empty.
    pub fn parse_public(bytes: &[u8]) -> (Keyring, usize) {
        assert_eq!(&bytes[..8], MAGIC);
        let format = bytes[8];
        let mut pos = 9;
        let mut take = |n: usize| {
            let s = &bytes[pos..pos + n];
            pos += n;
            s
        };
        let id: [u8; 16] = take(16).try_into().unwrap();
        let generation = u64::from_be_bytes(take(8).try_into().unwrap());
        let next_protector_id = u32::from_be_bytes(take(4).try_into().unwrap());
        let n = take(1)[0];
        let mut stanzas = Vec::new();
        for _ in 0..n {
            let id = u32::from_be_bytes(take(4).try_into().unwrap());
            let kind = take(1)[0];
            let created_at = u64::from_be_bytes(take(8).try_into().unwrap());
            let params_len = if format == 3 {
                u16::from_be_bytes(take(2).try_into().unwrap()) as usize
            } else if kind == 3 {
                28
            } else {
                16
            };
            let params = take(params_len).to_vec();
            let public = take(32).try_into().unwrap();
            let (auth_nonce, wrapped_auth) = if format == 3 {
                (take(12).try_into().unwrap(), take(48).try_into().unwrap())
            } else {
                ([0; 12], [0; 48])
            };
            stanzas.push(Stanza {
                id,
                kind,
                created_at,
                params,
                public,
                auth_nonce,
                wrapped_auth,
                enc: take(32).try_into().unwrap(),
                sealed: take(48).try_into().unwrap(),
            });
        }
        let body_nonce = take(12).try_into().unwrap();
        take(4 + 32);
        let header_len = pos;
        let ring = Keyring {
            format,
            id,
            generation,
            next_protector_id,
            stanzas,
            body_nonce,
            auth: Vec::new(),
            versions: Vec::new(),
        };
        (ring, header_len)
    }

    /// Parses a whole file with its master key: header and body.
    pub fn parse(bytes: &[u8], master: &[u8; 32]) -> Keyring {
        let (mut ring, header_len) = Self::parse_public(bytes);
        let body_key = derive32(master, &ring.id, LABEL_BODY);
        let plain = gcm_open(
            &body_key,
            &ring.body_nonce,
            &bytes[..header_len],
            &bytes[header_len..],
        )
        .expect("the body opens");
        let mut pos = 0;
        if ring.format == 3 {
            let n = plain[0] as usize;
            pos = 1;
            for _ in 0..n {
                let id = u32::from_be_bytes(plain[pos..pos + 4].try_into().unwrap());
                ring.auth.push((id, plain[pos + 4..pos + 36].try_into().unwrap()));
                pos += 36;
            }
        }
        let k = u32::from_be_bytes(plain[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 4;
        for _ in 0..k {
            let e = &plain[pos..pos + 53];
            ring.versions.push(Version {
                version: u32::from_be_bytes(e[..4].try_into().unwrap()),
                status: e[4],
                created_at: u64::from_be_bytes(e[5..13].try_into().unwrap()),
                changed_at: u64::from_be_bytes(e[13..21].try_into().unwrap()),
                secret: e[21..].try_into().unwrap(),
            });
            pos += 53;
        }
        ring
    }

    /// The master key `secret` opens in this keyring (trying every stanza
    /// of its kind), with the authentication value.
    pub fn unlock(&self, secret: &Secret) -> Option<([u8; 32], Option<[u8; 32]>)> {
        self.stanzas
            .iter()
            .filter_map(|s| s.kek(secret).and_then(|kek| s.open(self.format, &self.id, &kek)))
            .next()
    }

    /// The version that is primary.
    pub fn primary(&self) -> &Version {
        self.versions.iter().find(|v| v.status == 1).expect("a primary")
    }
}

/// A generator that returns fixed bytes, for HPKE's ephemeral seed.
pub struct Fixed(pub [u8; 32]);

impl hpke::rand_core::TryRng for Fixed {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from_le_bytes(self.0[..4].try_into().unwrap()))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from_le_bytes(self.0[..8].try_into().unwrap()))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for (i, b) in dst.iter_mut().enumerate() {
            *b = self.0[i % 32];
        }
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for Fixed {}

/// `n` bytes counting up from `start`.
pub fn seq<const N: usize>(start: u8) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = start.wrapping_add(i as u8);
    }
    out
}

/// The passphrase of the worked example.
pub const EXAMPLE_PASSPHRASE: &str = "correct horse battery staple";

/// The worked example of SPEC §4.6 in format 3 (or, with `format` 2, its
/// format-2 form), built from the inputs the specification lists.
pub fn spec_example(format: u8) -> Vec<u8> {
    let id: [u8; 16] = seq(0x40);
    let master: [u8; 32] = seq(0x00);
    let t0 = 1_700_000_000u64;
    let day = 86_400u64;
    let mut passphrase_params = Vec::new();
    for v in [8192u32, 1, 1] {
        passphrase_params.extend_from_slice(&v.to_be_bytes());
    }
    passphrase_params.extend_from_slice(&seq::<16>(0x50));
    let protectors = [
        (
            1u32,
            t0,
            passphrase_params,
            Secret::Passphrase(EXAMPLE_PASSPHRASE.into()),
            0x30u8,
            0x90u8,
            0x60u8,
        ),
        (
            2,
            t0 + 100,
            seq::<16>(0xa0).to_vec(),
            Secret::RecoveryKey(seq(0x80)),
            0xd0,
            0x9c,
            0xb0,
        ),
    ];
    let mut ring = Keyring {
        format,
        id,
        generation: 5,
        next_protector_id: 3,
        stanzas: Vec::new(),
        body_nonce: seq(0x70),
        auth: Vec::new(),
        versions: vec![
            Version {
                version: 1,
                status: 4,
                created_at: t0,
                changed_at: t0 + 3 * day,
                secret: [0; 32],
            },
            Version {
                version: 2,
                status: 3,
                created_at: t0 + day,
                changed_at: t0 + 3 * day,
                secret: seq(0xc0),
            },
            Version {
                version: 3,
                status: 2,
                created_at: t0 + 2 * day,
                changed_at: t0 + 3 * day,
                secret: seq(0xe0),
            },
            Version {
                version: 4,
                status: 1,
                created_at: t0 + 3 * day,
                changed_at: t0 + 3 * day,
                secret: seq(0x20),
            },
        ],
    };
    for (pid, created, params, secret, auth, nonce, seed) in protectors {
        let passphrase = matches!(secret, Secret::Passphrase(_));
        let kind = match (format, passphrase) {
            (3, true) => KIND_PASSPHRASE,
            (3, false) => KIND_RECOVERY_KEY,
            (_, true) => 3,
            (_, false) => 4,
        };
        let mut stanza = Stanza {
            id: pid,
            kind,
            created_at: created,
            params,
            public: [0; 32],
            auth_nonce: [0; 12],
            wrapped_auth: [0; 48],
            enc: [0; 32],
            sealed: [0; 48],
        };
        let kek = stanza.kek(&secret).unwrap();
        let auth: [u8; 32] = seq(auth);
        if format == 3 {
            stanza.enroll(&id, &kek, Some((&auth, seq(nonce))));
            stanza.seal(3, &id, &master, Some(&auth), seq(seed));
            ring.auth.push((pid, auth));
        } else {
            stanza.enroll(&id, &kek, None);
            stanza.seal(2, &id, &master, None, seq(seed));
        }
        ring.stanzas.push(stanza);
    }
    ring.encode(&master)
}
