//! The file header: immutable core, recipient stanzas and header MAC.
//!
//! ```text
//! magic (8) | version (1) | suite (1) | file id (16)      <- immutable core
//! stanza count (u16 BE) | stanzas: kind (1) | body length (u16 BE) | body
//! header MAC (32) = HMAC-SHA-256(mac key, every byte above)
//! ```

use crate::codec::Reader;
use crate::crypto::kdf::{ct_eq, derive_key32, hmac_sha256};
use crate::error::{Error, Result};
use crate::secret::SecretKey;
use std::io::{self, Read};

/// Magic bytes of an encrypted file (PNG-style: detects text-mode mangling).
pub const MAGIC: [u8; 8] = *b"\x89SRF\r\n\x1a\n";
/// Current file format version.
pub const VERSION: u8 = 1;
/// Suite 1: Cobblestone-256 payload, AES-256-GCM key wrapping, HMAC-SHA-256 header MAC.
pub const SUITE_COBBLESTONE_256: u8 = 1;
/// File id length.
pub const FILE_ID_LEN: usize = 16;
/// Length of the immutable core.
pub const CORE_LEN: usize = MAGIC.len() + 2 + FILE_ID_LEN;
/// Header MAC length.
pub const MAC_LEN: usize = 32;
/// Most stanzas a header may carry.
pub const MAX_STANZAS: usize = 64;
/// Most passphrase stanzas a file may carry: each costs an Argon2id run
/// when a passphrase is tried, so this bounds the work a crafted file can
/// demand to this many times the per-stanza cap.
pub const MAX_PASSPHRASE_STANZAS: usize = 4;
/// Kind byte of a keyring stanza.
pub const KIND_KEYRING: u8 = 1;
/// Kind byte of a passphrase stanza.
pub const KIND_PASSPHRASE: u8 = 2;
/// Largest stanza body accepted.
pub const MAX_STANZA_BODY: usize = 1024;

const MAC_LABEL: &[u8] = b"strongroom/v1/file/header-mac";

/// The immutable part of the header: it never changes when a file is
/// rewrapped, and is the payload's Cobblestone context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Core {
    /// Format version.
    pub version: u8,
    /// Cipher suite.
    pub suite: u8,
    /// Random per-file identifier.
    pub file_id: [u8; FILE_ID_LEN],
}

impl Core {
    /// A new core with a random file id.
    pub fn new_random() -> Self {
        Self {
            version: VERSION,
            suite: SUITE_COBBLESTONE_256,
            file_id: crate::crypto::random::array(),
        }
    }

    /// The 26 encoded bytes (also the payload context).
    pub fn to_bytes(self) -> [u8; CORE_LEN] {
        let mut out = [0u8; CORE_LEN];
        out[..8].copy_from_slice(&MAGIC);
        out[8] = self.version;
        out[9] = self.suite;
        out[10..].copy_from_slice(&self.file_id);
        out
    }
}

/// One recipient stanza, still encoded (kind and body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStanza {
    /// Stanza kind byte.
    pub kind: u8,
    /// Stanza body.
    pub body: Vec<u8>,
}

/// A parsed header with its exact bytes.
#[derive(Debug, Clone)]
pub struct Header {
    /// The immutable core.
    pub core: Core,
    /// Stanzas in file order.
    pub stanzas: Vec<RawStanza>,
    /// The MAC as found in the file.
    pub mac: [u8; MAC_LEN],
    /// Every header byte before the MAC.
    pub authenticated: Vec<u8>,
}

/// Derives the header MAC key from the file key.
pub(crate) fn mac_key(file_key: &SecretKey) -> SecretKey {
    derive_key32(file_key.expose(), &[], MAC_LABEL)
}

/// The writers' stanza limits: at most [`MAX_PASSPHRASE_STANZAS`]
/// passphrase stanzas among at most [`MAX_STANZAS`] in all, else
/// [`Error::TooManyRecipients`]. Checked on counts alone, so callers run it
/// before any Argon2id work.
pub(crate) fn check_stanza_counts(passphrases: usize, total: usize) -> Result<()> {
    if passphrases > MAX_PASSPHRASE_STANZAS {
        return Err(Error::TooManyRecipients {
            what: "passphrases",
            count: passphrases,
            max: MAX_PASSPHRASE_STANZAS,
        });
    }
    if total > MAX_STANZAS {
        return Err(Error::TooManyRecipients {
            what: "recipients",
            count: total,
            max: MAX_STANZAS,
        });
    }
    Ok(())
}

impl Header {
    /// Encodes a header for `core` and `stanzas`, computing the MAC.
    pub(crate) fn build(core: Core, stanzas: Vec<RawStanza>, file_key: &SecretKey) -> Result<Self> {
        let passphrases = stanzas.iter().filter(|s| s.kind == KIND_PASSPHRASE).count();
        check_stanza_counts(passphrases, stanzas.len())?;
        if stanzas.is_empty() {
            return Err(Error::InvalidArgument(
                "a file needs at least one recipient".into(),
            ));
        }
        let mut bytes = core.to_bytes().to_vec();
        bytes.extend_from_slice(&(stanzas.len() as u16).to_be_bytes());
        for s in &stanzas {
            if s.body.len() > MAX_STANZA_BODY {
                return Err(Error::InvalidArgument("stanza body too large".into()));
            }
            bytes.push(s.kind);
            bytes.extend_from_slice(&(s.body.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&s.body);
        }
        let mac = hmac_sha256(mac_key(file_key).expose(), &[&bytes]);
        Ok(Self {
            core,
            stanzas,
            mac,
            authenticated: bytes,
        })
    }

    /// Total encoded length, MAC included.
    pub fn encoded_len(&self) -> usize {
        self.authenticated.len() + MAC_LEN
    }

    /// The full encoded header.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.authenticated.clone();
        out.extend_from_slice(&self.mac);
        out
    }

    /// Checks the MAC under `file_key` in constant time.
    pub(crate) fn verify_mac(&self, file_key: &SecretKey) -> Result<()> {
        let expected = hmac_sha256(mac_key(file_key).expose(), &[&self.authenticated]);
        if ct_eq(&expected, &self.mac) {
            Ok(())
        } else {
            Err(Error::HeaderMacMismatch)
        }
    }

    /// Parses a header from `r`, reading exactly its bytes and no more.
    /// More than [`MAX_PASSPHRASE_STANZAS`] passphrase stanzas is
    /// [`Error::Malformed`]. Nothing is authenticated here: the header MAC is checked once a
    /// stanza has yielded the file key (the decryptors do this).
    pub fn read_from(mut r: impl Read) -> Result<Self> {
        let mut bytes = Vec::with_capacity(256);
        let mut magic = [0u8; 8];
        read_header_bytes(&mut r, &mut magic, "magic")?;
        if magic != MAGIC {
            return Err(Error::BadMagic {
                what: "encrypted file",
            });
        }
        bytes.extend_from_slice(&magic);
        let mut rest = [0u8; 2 + FILE_ID_LEN + 2];
        read_header_bytes(&mut r, &mut rest, "header core")?;
        bytes.extend_from_slice(&rest);
        let mut fields = Reader::new(&rest, "header core");
        let (version, suite) = (fields.u8()?, fields.u8()?);
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                what: "encrypted file",
                version,
            });
        }
        if suite != SUITE_COBBLESTONE_256 {
            return Err(Error::UnsupportedSuite(suite));
        }
        let file_id: [u8; FILE_ID_LEN] = fields.array()?;
        let count = usize::from(fields.u16()?);
        if count == 0 || count > MAX_STANZAS {
            return Err(Error::malformed(
                "file header",
                format!("stanza count {count} outside 1..={MAX_STANZAS}"),
            ));
        }
        let mut stanzas = Vec::with_capacity(count);
        for _ in 0..count {
            let mut head = [0u8; 3];
            read_header_bytes(&mut r, &mut head, "stanza")?;
            let mut fields = Reader::new(&head, "stanza");
            let (kind, len) = (fields.u8()?, usize::from(fields.u16()?));
            if len > MAX_STANZA_BODY {
                return Err(Error::malformed(
                    "file header",
                    format!("stanza body of {len} bytes exceeds {MAX_STANZA_BODY}"),
                ));
            }
            let mut body = vec![0u8; len];
            read_header_bytes(&mut r, &mut body, "stanza body")?;
            bytes.extend_from_slice(&head);
            bytes.extend_from_slice(&body);
            stanzas.push(RawStanza { kind, body });
        }
        // Enforced here, so every reader (inspect, keyring-only decryption)
        // refuses such a file, not only the ones offered a passphrase.
        let passphrases = stanzas.iter().filter(|s| s.kind == KIND_PASSPHRASE).count();
        if passphrases > MAX_PASSPHRASE_STANZAS {
            return Err(Error::malformed(
                "file header",
                format!("{passphrases} passphrase stanzas; at most {MAX_PASSPHRASE_STANZAS} are allowed"),
            ));
        }
        let mut mac = [0u8; MAC_LEN];
        read_header_bytes(&mut r, &mut mac, "header MAC")?;
        Ok(Self {
            core: Core {
                version,
                suite,
                file_id,
            },
            stanzas,
            mac,
            authenticated: bytes,
        })
    }
}

fn read_header_bytes(r: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Error::Truncated(match what {
            "magic" => "file shorter than its magic bytes",
            "header core" => "file header core is incomplete",
            "stanza count" | "stanza" | "stanza body" => "file header stanzas are incomplete",
            _ => "file header MAC is incomplete",
        }),
        _ => Error::Io(e),
    })
}
