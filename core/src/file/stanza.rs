//! Recipient stanzas: each wraps the file key for one protector.
//!
//! Kind 1, keyring: `keyring id (16) | key version (u32) | nonce (12) | wrapped key (48)`.
//! Kind 2, passphrase: `memory KiB (u32) | iterations (u32) | lanes (u32) | salt (16) | nonce (12) | wrapped key (48)`.
//! The wrapped key is AES-256-GCM of the 32-byte file key; its AAD is the
//! immutable core followed by the stanza kind and every body byte before
//! the nonce. Unknown kinds are kept (and covered by the header MAC) but
//! never used.

use super::header::{CORE_LEN, RawStanza};
pub(crate) use super::header::{KIND_KEYRING, KIND_PASSPHRASE};
use crate::codec::Reader;
use crate::crypto::{Aes256Gcm, NONCE_LEN, TAG_LEN, random};
use crate::error::{Error, Result};
use crate::passphrase::{KdfParams, SALT_LEN};
use crate::secret::SecretKey;

const WRAPPED_LEN: usize = 32 + TAG_LEN;
const KEYRING_PARAMS_LEN: usize = 16 + 4;
const PASSPHRASE_PARAMS_LEN: usize = 12 + SALT_LEN;

/// What a stanza says, without any secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StanzaInfo {
    /// Wrapped under a keyring key version.
    Keyring {
        /// The keyring's public identifier.
        keyring_id: [u8; 16],
        /// The key version used.
        key_version: u32,
    },
    /// Wrapped under a passphrase.
    Passphrase {
        /// Argon2id parameters stored in the stanza.
        params: KdfParams,
    },
    /// A kind this version does not know; ignored.
    Unknown {
        /// The kind byte.
        kind: u8,
        /// Body length.
        body_len: usize,
    },
}

impl StanzaInfo {
    /// Short name of the protector kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            StanzaInfo::Keyring { .. } => "keyring",
            StanzaInfo::Passphrase { .. } => "passphrase",
            StanzaInfo::Unknown { .. } => "unknown",
        }
    }
}

/// A decoded stanza: its public parameters plus the wrapped key.
pub(crate) struct Parsed<'a> {
    pub info: StanzaInfo,
    pub salt: Option<[u8; SALT_LEN]>,
    params: &'a [u8],
    nonce: [u8; NONCE_LEN],
    wrapped: &'a [u8],
}

/// Decodes a stanza body; unknown kinds decode to [`StanzaInfo::Unknown`].
pub(crate) fn parse(raw: &RawStanza) -> Result<Parsed<'_>> {
    let params_len = match raw.kind {
        KIND_KEYRING => KEYRING_PARAMS_LEN,
        KIND_PASSPHRASE => PASSPHRASE_PARAMS_LEN,
        kind => {
            return Ok(Parsed {
                info: StanzaInfo::Unknown {
                    kind,
                    body_len: raw.body.len(),
                },
                salt: None,
                params: &[],
                nonce: [0; NONCE_LEN],
                wrapped: &[],
            });
        }
    };
    let b = &raw.body;
    if b.len() != params_len + NONCE_LEN + WRAPPED_LEN {
        return Err(Error::malformed(
            "stanza",
            format!(
                "kind {} body is {} bytes, expected {}",
                raw.kind,
                b.len(),
                params_len + NONCE_LEN + WRAPPED_LEN
            ),
        ));
    }
    let mut r = Reader::new(b, "stanza");
    let params = r.take(params_len)?;
    let nonce: [u8; NONCE_LEN] = r.array()?;
    let wrapped = r.rest();
    let mut p = Reader::new(params, "stanza");
    let (info, salt) = if raw.kind == KIND_KEYRING {
        let info = StanzaInfo::Keyring {
            keyring_id: p.array()?,
            key_version: p.u32()?,
        };
        (info, None)
    } else {
        let kdf = KdfParams {
            memory_kib: p.u32()?,
            iterations: p.u32()?,
            parallelism: p.u32()?,
        };
        (StanzaInfo::Passphrase { params: kdf }, Some(p.array()?))
    };
    Ok(Parsed {
        info,
        salt,
        params,
        nonce,
        wrapped,
    })
}

fn aad(core: &[u8; CORE_LEN], kind: u8, params: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(CORE_LEN + 1 + params.len());
    aad.extend_from_slice(core);
    aad.push(kind);
    aad.extend_from_slice(params);
    aad
}

fn wrap(
    core: &[u8; CORE_LEN],
    kind: u8,
    params: Vec<u8>,
    kek: &SecretKey,
    file_key: &SecretKey,
) -> RawStanza {
    wrap_with_nonce(core, kind, params, kek, file_key, random::array())
}

/// [`wrap`] with a caller-chosen nonce (for the specification's example).
pub(crate) fn wrap_with_nonce(
    core: &[u8; CORE_LEN],
    kind: u8,
    params: Vec<u8>,
    kek: &SecretKey,
    file_key: &SecretKey,
    nonce: [u8; NONCE_LEN],
) -> RawStanza {
    let mut wrapped = [0u8; WRAPPED_LEN];
    Aes256Gcm::new(kek.expose()).seal_into(
        &nonce,
        &aad(core, kind, &params),
        file_key.expose(),
        &mut wrapped,
    );
    let mut body = params;
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&wrapped);
    RawStanza { kind, body }
}

/// Builds a keyring stanza wrapping `file_key` under `kek`.
pub(crate) fn wrap_keyring(
    core: &[u8; CORE_LEN],
    keyring_id: [u8; 16],
    version: u32,
    kek: &SecretKey,
    file_key: &SecretKey,
) -> RawStanza {
    let mut params = keyring_id.to_vec();
    params.extend_from_slice(&version.to_be_bytes());
    wrap(core, KIND_KEYRING, params, kek, file_key)
}

/// Builds a passphrase stanza; `kek` must come from `params` and `salt`.
pub(crate) fn wrap_passphrase(
    core: &[u8; CORE_LEN],
    params: KdfParams,
    salt: &[u8; SALT_LEN],
    kek: &SecretKey,
    file_key: &SecretKey,
) -> RawStanza {
    wrap(
        core,
        KIND_PASSPHRASE,
        passphrase_params(params, salt),
        kek,
        file_key,
    )
}

/// The parameter bytes of a passphrase stanza.
pub(crate) fn passphrase_params(params: KdfParams, salt: &[u8; SALT_LEN]) -> Vec<u8> {
    let mut p = Vec::with_capacity(PASSPHRASE_PARAMS_LEN);
    for v in [params.memory_kib, params.iterations, params.parallelism] {
        p.extend_from_slice(&v.to_be_bytes());
    }
    p.extend_from_slice(salt);
    p
}

/// Unwraps the file key from a parsed stanza; `None` if `kek` does not open it.
pub(crate) fn unwrap(
    core: &[u8; CORE_LEN],
    kind: u8,
    parsed: &Parsed<'_>,
    kek: &SecretKey,
) -> Option<SecretKey> {
    let gcm = Aes256Gcm::new(kek.expose());
    let aad = aad(core, kind, parsed.params);
    SecretKey::try_filled(|out| gcm.open_into(&parsed.nonce, &aad, parsed.wrapped, out)).ok()
}
