//! The keyring file format (all integers big-endian). Format 3 is written;
//! formats 1 and 2 (same frame, older stanzas, no protector table) are
//! read:
//!
//! ```text
//! header (clear, authenticated as the AAD of the body)
//!   magic "SRKEYRNG" (8) | version 0x03 (1) | keyring id (16) | generation (u64)
//!   | next protector id (u32) | protector count n (u8, 1..=32) | n stanzas
//!   | body nonce (12) | body length L (u32) | header checksum (32)
//! body
//!   AES-256-GCM ciphertext of the protector table (format 3) and the
//!   version table, then the tag (L bytes in all)
//! ```
//!
//! The header checksum is HMAC-SHA-256 keyed with a public label over the
//! header bytes before it: it catches accidental corruption before any
//! Argon2id work, so a damaged header is not reported as a wrong passphrase.
//! Authenticity comes from the body tag, whose key derives from the master
//! key and whose AAD is the whole header, and (format 3) from each seal's
//! authentication value. `docs/SPEC.md` section 4 gives every field.

use super::stanza::{MAX_STANZA_LEN, Stanza};
use super::version::{KeyStatus, KeyVersionInfo, MAX_VERSIONS, VersionEntry, Versions};
use crate::codec::Reader;
use crate::crypto::kdf::{ct_eq, derive_key32, hmac_sha256};
use crate::crypto::{Aes256Gcm, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::secret::SecretKey;
use zeroize::Zeroizing;

pub(crate) use super::layout::{ID_LEN, MAGIC, VERSION, VERSION_1};
/// Most protectors a keyring may hold.
pub(crate) const MAX_PROTECTORS: usize = 32;
/// Most passphrase protectors a keyring may hold: each may cost an Argon2id
/// run when a passphrase is tried, so a crafted keyring cannot make a
/// reader run it more often than a crafted file can.
pub(crate) const MAX_PASSPHRASE_PROTECTORS: usize = 4;
/// Encoded length of one version entry in the body.
pub(crate) const ENTRY_LEN: usize = 4 + 1 + 8 + 8 + 32;
/// Encoded length of one protector-table entry in a format-3 body: the
/// protector id and its authentication value.
pub(crate) const AUTH_ENTRY_LEN: usize = 4 + 32;
/// Length of the header checksum.
pub(crate) const CHECKSUM_LEN: usize = 32;
/// Fixed header fields before the stanzas.
pub(crate) const FIXED_PREFIX_LEN: usize = MAGIC.len() + 1 + ID_LEN + 8 + 4 + 1;
/// Fixed header fields after the stanzas.
pub(crate) const FIXED_SUFFIX_LEN: usize = NONCE_LEN + 4 + CHECKSUM_LEN;
/// Largest body: the protector table, the version count, the maximum
/// number of entries, and the tag.
pub(crate) const MAX_BODY_LEN: usize =
    1 + MAX_PROTECTORS * AUTH_ENTRY_LEN + 4 + MAX_VERSIONS * ENTRY_LEN + TAG_LEN;
/// Largest keyring file accepted.
pub(crate) const MAX_FILE_LEN: usize =
    FIXED_PREFIX_LEN + MAX_PROTECTORS * MAX_STANZA_LEN + FIXED_SUFFIX_LEN + MAX_BODY_LEN;

/// HKDF label of the body encryption key (input: the master key).
pub(crate) const LABEL_BODY: &[u8] = b"strongroom/v1/keyring/body";
/// HMAC key of the header checksum (a public constant, not a secret).
pub(crate) const LABEL_HEADER_CHECKSUM: &[u8] = b"strongroom/v1/keyring/header-checksum";

const WHAT: &str = "keyring";

/// The clear header of a keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The format version (1, 2 or 3).
    pub format: u8,
    pub id: [u8; ID_LEN],
    pub generation: u64,
    pub next_protector_id: u32,
    pub stanzas: Vec<Stanza>,
    pub body_nonce: [u8; NONCE_LEN],
}

impl Header {
    /// The stanza with this protector id.
    pub fn stanza(&self, id: u32) -> Option<&Stanza> {
        self.stanzas.iter().find(|s| s.id == id)
    }
}

/// Every protector's authentication value, in header order: the format-3
/// protector table of the body (empty in formats 1 and 2).
#[derive(Default)]
pub(crate) struct AuthTable(pub Vec<(u32, SecretKey)>);

impl AuthTable {
    /// The authentication value of protector `id`.
    pub fn get(&self, id: u32) -> Option<&SecretKey> {
        self.0.iter().find(|(i, _)| *i == id).map(|(_, a)| a)
    }

    /// Sets (or adds, at the end) the value of protector `id`.
    pub fn set(&mut self, id: u32, auth: SecretKey) {
        match self.0.iter_mut().find(|(i, _)| *i == id) {
            Some(entry) => entry.1 = auth,
            None => self.0.push((id, auth)),
        }
    }

    /// Keeps only the protectors `keep` says yes to.
    pub fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        self.0.retain(|(id, _)| keep(*id));
    }
}

/// What the body holds: the protector table (format 3) and the versions.
pub(crate) struct Body {
    pub auth: AuthTable,
    pub versions: Versions,
}

/// A parsed keyring file whose header checksum and lengths are verified.
pub(crate) struct Parsed<'a> {
    pub header: Header,
    /// The whole clear header: the AAD of the body.
    pub aad: &'a [u8],
    /// Body ciphertext followed by the tag.
    pub body: &'a [u8],
}

/// Key of the body AEAD: HKDF-SHA-256(master, salt = keyring id, LABEL_BODY).
pub(crate) fn body_key(master: &SecretKey, id: &[u8; ID_LEN]) -> SecretKey {
    derive_key32(master.expose(), id, LABEL_BODY)
}

/// HMAC-SHA-256 under the public checksum label.
pub(crate) fn header_checksum(header_without_checksum: &[u8]) -> [u8; CHECKSUM_LEN] {
    hmac_sha256(LABEL_HEADER_CHECKSUM, &[header_without_checksum])
}

/// Smallest body of a format: one version (and, in format 3, one protector).
fn min_body_len(format: u8) -> usize {
    let table = if format == VERSION { 1 + AUTH_ENTRY_LEN } else { 0 };
    table + 4 + ENTRY_LEN + TAG_LEN
}

/// Parses the header, verifies its checksum and its fields, and checks that
/// the body has exactly the announced length. No key is needed.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    let lead = bytes.len().min(MAGIC.len());
    if bytes.get(..lead) != MAGIC.get(..lead) {
        return Err(Error::BadMagic { what: WHAT });
    }
    let mut r = Reader::new(bytes, "keyring header");
    r.take(MAGIC.len())?;
    let format = r.u8()?;
    if !(VERSION_1..=VERSION).contains(&format) {
        return Err(Error::UnsupportedVersion {
            what: WHAT,
            version: format,
        });
    }
    let id: [u8; ID_LEN] = r.array()?;
    let generation = r.u64()?;
    let next_protector_id = r.u32()?;
    let count = usize::from(r.u8()?);
    if count == 0 || count > MAX_PROTECTORS {
        return Err(Error::malformed(
            WHAT,
            format!("protector count {count} outside 1..={MAX_PROTECTORS}"),
        ));
    }
    let mut stanzas = Vec::with_capacity(count);
    for _ in 0..count {
        stanzas.push(Stanza::read(&mut r, format)?);
    }
    let body_nonce: [u8; NONCE_LEN] = r.array()?;
    let body_len = r.u32()?;
    let checked_len = r.position();
    let stored_checksum: [u8; CHECKSUM_LEN] = r.array()?;
    let header_len = r.position();
    let checked = bytes
        .get(..checked_len)
        .ok_or(Error::Truncated("keyring header"))?;
    if !ct_eq(&stored_checksum, &header_checksum(checked)) {
        return Err(Error::KeyringCorrupt);
    }

    check_stanzas(&stanzas, next_protector_id)?;
    let body_len = usize::try_from(body_len).unwrap_or(usize::MAX);
    if !(min_body_len(format)..=MAX_BODY_LEN).contains(&body_len) {
        return Err(Error::malformed(
            WHAT,
            format!("body length {body_len} out of range"),
        ));
    }
    let (aad, rest) = bytes
        .split_at_checked(header_len)
        .ok_or(Error::Truncated("keyring header"))?;
    if rest.len() < body_len {
        return Err(Error::Truncated("keyring body"));
    }
    if rest.len() > body_len {
        return Err(Error::malformed(WHAT, "trailing bytes after the body"));
    }
    Ok(Parsed {
        header: Header {
            format,
            id,
            generation,
            next_protector_id,
            stanzas,
            body_nonce,
        },
        aad,
        body: rest,
    })
}

/// At most [`MAX_PASSPHRASE_PROTECTORS`] passphrase stanzas; ids unique and
/// below the next id; parameters within bounds.
fn check_stanzas(stanzas: &[Stanza], next_protector_id: u32) -> Result<()> {
    let passphrases = stanzas.iter().filter(|s| s.kind.is_passphrase()).count();
    if passphrases > MAX_PASSPHRASE_PROTECTORS {
        return Err(Error::malformed(
            WHAT,
            format!("{passphrases} passphrase protectors; at most {MAX_PASSPHRASE_PROTECTORS} are allowed"),
        ));
    }
    for (i, s) in stanzas.iter().enumerate() {
        if s.id == 0 || s.id >= next_protector_id {
            return Err(Error::malformed(
                WHAT,
                format!("protector id {} outside 1..{next_protector_id}", s.id),
            ));
        }
        if stanzas.iter().take(i).any(|o| o.id == s.id) {
            return Err(Error::malformed(WHAT, format!("duplicate protector id {}", s.id)));
        }
        s.kind.validate()?;
    }
    Ok(())
}

/// Authenticates and decrypts the body with the master key, then parses
/// the protector table (format 3: its ids must be the header's, in order,
/// or [`Error::KeyringCorrupt`]) and the version table.
pub(crate) fn open_body(parsed: &Parsed<'_>, master: &SecretKey) -> Result<Body> {
    let key = body_key(master, &parsed.header.id);
    // The plaintext body holds every key version: key memory.
    let mut buf = strongroom_keymem::LockedBytes::from_slice(parsed.body);
    let len = Aes256Gcm::new(key.expose())
        .open_in_place(&parsed.header.body_nonce, parsed.aad, &mut buf)
        .map_err(|_| Error::KeyringCorrupt)?;
    let plain = buf.get(..len).ok_or(Error::KeyringCorrupt)?;
    let mut r = Reader::new(plain, "keyring body");
    let auth = if parsed.header.format == VERSION {
        read_auth_table(&mut r, &parsed.header.stanzas)?
    } else {
        AuthTable::default()
    };
    let versions = parse_versions(r.rest())?;
    Ok(Body { auth, versions })
}

/// The format-3 protector table: one entry per stanza, same ids in the
/// same order.
fn read_auth_table(r: &mut Reader<'_>, stanzas: &[Stanza]) -> Result<AuthTable> {
    let count = usize::from(r.u8()?);
    if count != stanzas.len() {
        return Err(Error::KeyringCorrupt);
    }
    let mut table = Vec::with_capacity(count);
    for stanza in stanzas {
        let id = r.u32()?;
        if id != stanza.id {
            return Err(Error::KeyringCorrupt);
        }
        let auth = SecretKey::from_slice(r.take(32)?).ok_or(Error::Truncated("keyring body"))?;
        table.push((id, auth));
    }
    Ok(AuthTable(table))
}

fn parse_versions(plain: &[u8]) -> Result<Versions> {
    let mut r = Reader::new(plain, "keyring body");
    let count = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    if count == 0 || count > MAX_VERSIONS {
        return Err(Error::malformed(
            WHAT,
            format!("version count {count} outside 1..={MAX_VERSIONS}"),
        ));
    }
    if plain.len() != 4 + count * ENTRY_LEN {
        return Err(Error::malformed(
            WHAT,
            "body length does not match the version count",
        ));
    }
    let mut entries: Vec<VersionEntry> = Vec::with_capacity(count);
    let mut previous = 0u32;
    let mut primaries = 0usize;
    for _ in 0..count {
        let version = r.u32()?;
        let code = r.u8()?;
        let created_at = r.u64()?;
        let status_changed_at = r.u64()?;
        let material = r.take(32)?;
        if version <= previous {
            return Err(Error::malformed(
                WHAT,
                "key versions are not strictly ascending from 1",
            ));
        }
        previous = version;
        let status = KeyStatus::from_code(code).ok_or_else(|| {
            Error::malformed(WHAT, format!("unknown status {code} of key version {version}"))
        })?;
        let material = if status == KeyStatus::Destroyed {
            if material.iter().any(|&b| b != 0) {
                return Err(Error::malformed(
                    WHAT,
                    format!("destroyed key version {version} still holds key material"),
                ));
            }
            None
        } else {
            Some(SecretKey::from_slice(material).ok_or(Error::Truncated("keyring body"))?)
        };
        if status == KeyStatus::Primary {
            primaries += 1;
        }
        entries.push(VersionEntry {
            info: KeyVersionInfo {
                version,
                status,
                created_at,
                status_changed_at,
            },
            material,
        });
    }
    if primaries != 1 {
        return Err(Error::malformed(
            WHAT,
            format!("{primaries} primary key versions (exactly one required)"),
        ));
    }
    Ok(Versions(entries))
}

/// Serialises a keyring in `header.format`: header with checksum, then the
/// body sealed under the master key with `header.body_nonce`. In format 3
/// the body's protector table must list every stanza, in order.
pub(crate) fn encode(header: &Header, body: &Body, master: &SecretKey) -> Result<Vec<u8>> {
    let n_stanzas = header.stanzas.len();
    if n_stanzas == 0 || n_stanzas > MAX_PROTECTORS {
        return Err(Error::InvalidArgument(format!(
            "a keyring holds 1 to {MAX_PROTECTORS} protectors, not {n_stanzas}"
        )));
    }
    let versions = &body.versions;
    let n_versions = versions.0.len();
    if n_versions == 0 || n_versions > MAX_VERSIONS {
        return Err(Error::InvalidArgument(format!(
            "a keyring holds 1 to {MAX_VERSIONS} key versions, not {n_versions}"
        )));
    }
    let v3 = header.format == VERSION;
    if v3 && header.stanzas.iter().any(Stanza::is_legacy) {
        return Err(Error::InvalidArgument(
            "a format-3 keyring holds format-3 stanzas only".into(),
        ));
    }

    let mut plain: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(
        1 + n_stanzas * AUTH_ENTRY_LEN + 4 + n_versions * ENTRY_LEN,
    ));
    if v3 {
        plain.push(u8::try_from(n_stanzas).unwrap_or(u8::MAX));
        for stanza in &header.stanzas {
            let auth = body.auth.get(stanza.id).ok_or_else(|| {
                Error::InvalidArgument(format!("protector {} has no authentication value", stanza.id))
            })?;
            plain.extend_from_slice(&stanza.id.to_be_bytes());
            plain.extend_from_slice(auth.expose());
        }
    }
    plain.extend_from_slice(&u32::try_from(n_versions).unwrap_or(u32::MAX).to_be_bytes());
    for e in &versions.0 {
        plain.extend_from_slice(&e.info.version.to_be_bytes());
        plain.push(e.info.status.code());
        plain.extend_from_slice(&e.info.created_at.to_be_bytes());
        plain.extend_from_slice(&e.info.status_changed_at.to_be_bytes());
        match &e.material {
            Some(m) => plain.extend_from_slice(m.expose()),
            None => plain.extend_from_slice(&[0u8; 32]),
        }
    }
    let body_len = u32::try_from(plain.len() + TAG_LEN)
        .map_err(|_| Error::InvalidArgument("keyring body too large".into()))?;

    let mut out =
        Vec::with_capacity(FIXED_PREFIX_LEN + n_stanzas * 256 + FIXED_SUFFIX_LEN + plain.len() + TAG_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(header.format);
    out.extend_from_slice(&header.id);
    out.extend_from_slice(&header.generation.to_be_bytes());
    out.extend_from_slice(&header.next_protector_id.to_be_bytes());
    out.push(u8::try_from(n_stanzas).unwrap_or(u8::MAX));
    for s in &header.stanzas {
        s.encode(&mut out);
    }
    out.extend_from_slice(&header.body_nonce);
    out.extend_from_slice(&body_len.to_be_bytes());
    let checksum = header_checksum(&out);
    out.extend_from_slice(&checksum);

    let key = body_key(master, &header.id);
    let tag = Aes256Gcm::new(key.expose()).seal_in_place(&header.body_nonce, &out, &mut plain);
    out.extend_from_slice(&plain);
    out.extend_from_slice(&tag);
    Ok(out)
}
