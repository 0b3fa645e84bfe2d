//! Who can open a file: recipients (when encrypting) and identities (when
//! decrypting), and the wrapping and unwrapping of the file key.

use super::header::{CORE_LEN, Header, MAX_PASSPHRASE_STANZAS, RawStanza};
use super::stanza::{self, KIND_KEYRING, KIND_PASSPHRASE, StanzaInfo};
use crate::crypto::random;
use crate::error::{Error, Result};
use crate::keyring::{KeyUse, Keyring, Purpose};
use crate::passphrase::KdfParams;
use crate::secret::{Passphrase, SecretKey};

/// Someone a file is encrypted to.
#[derive(Debug, Clone, Copy)]
pub enum Recipient<'a> {
    /// The keyring's current primary key version.
    Keyring(&'a Keyring),
    /// A passphrase, stretched with Argon2id under the given parameters.
    Passphrase(&'a Passphrase, KdfParams),
}

/// Something that may open a file.
#[derive(Debug, Clone, Copy)]
pub enum Identity<'a> {
    /// An unlocked keyring: any of its usable key versions.
    Keyring(&'a Keyring),
    /// A passphrase; the Argon2id parameters come from the file and are
    /// checked against the caps before any work.
    Passphrase(&'a Passphrase),
}

/// Wraps `file_key` for every recipient.
pub(crate) fn wrap_for(
    core: &[u8; CORE_LEN],
    recipients: &[Recipient<'_>],
    file_key: &SecretKey,
) -> Result<Vec<RawStanza>> {
    if recipients.is_empty() {
        return Err(Error::InvalidArgument(
            "at least one recipient (keyring or passphrase) is required".into(),
        ));
    }
    recipients.iter().map(|r| wrap_one(core, r, file_key)).collect()
}

pub(crate) fn wrap_one(
    core: &[u8; CORE_LEN],
    recipient: &Recipient<'_>,
    file_key: &SecretKey,
) -> Result<RawStanza> {
    Ok(match *recipient {
        Recipient::Keyring(kr) => {
            let version = kr.primary_version();
            let kek = kr.purpose_key(version, Purpose::FileWrap, KeyUse::Encrypt)?;
            stanza::wrap_keyring(core, kr.id(), version, &kek, file_key)
        }
        Recipient::Passphrase(pass, params) => {
            let salt = random::array();
            let kek = params.derive(pass, &salt)?;
            stanza::wrap_passphrase(core, params, &salt, &kek, file_key)
        }
    })
}

/// Keeps the most telling failure while trying identities.
#[derive(Default)]
struct Failures {
    best: Option<(u8, Error)>,
}

impl Failures {
    fn note(&mut self, e: Error) {
        let rank = match e {
            Error::StanzaAuthFailed { .. } => 5,
            Error::KdfParams(_) => 4,
            Error::KeyVersionUnusable { .. } | Error::UnknownKeyVersion(_) => 3,
            Error::WrongPassphrase => 2,
            _ => 1,
        };
        if self.best.as_ref().is_none_or(|(r, _)| rank > *r) {
            self.best = Some((rank, e));
        }
    }
}

/// Finds the file key with the first identity that opens a stanza, then
/// verifies the header MAC with it.
pub(crate) fn unwrap_file_key(header: &Header, identities: &[Identity<'_>]) -> Result<SecretKey> {
    if identities.is_empty() {
        return Err(Error::InvalidArgument(
            "no key offered: give a keyring or a passphrase".into(),
        ));
    }
    let core = header.core.to_bytes();
    let parsed = header
        .stanzas
        .iter()
        .map(stanza::parse)
        .collect::<Result<Vec<_>>>()?;
    if identities.iter().any(|i| matches!(i, Identity::Passphrase(_))) {
        check_passphrase_work(&parsed)?;
    }
    let mut failures = Failures::default();
    for identity in identities {
        for (raw, p) in header.stanzas.iter().zip(&parsed) {
            let kek = match (identity, &p.info) {
                (
                    Identity::Keyring(kr),
                    StanzaInfo::Keyring {
                        keyring_id,
                        key_version,
                    },
                ) => {
                    if *keyring_id != kr.id() {
                        failures.note(Error::WrongKeyring);
                        continue;
                    }
                    match kr.purpose_key(*key_version, Purpose::FileWrap, KeyUse::Decrypt) {
                        Ok(k) => k,
                        Err(e) => {
                            failures.note(e);
                            continue;
                        }
                    }
                }
                (Identity::Passphrase(pass), StanzaInfo::Passphrase { params }) => {
                    let salt = p.salt.expect("passphrase stanzas carry a salt");
                    match params.derive(pass, &salt) {
                        Ok(k) => k,
                        Err(e) => {
                            failures.note(e);
                            continue;
                        }
                    }
                }
                _ => continue,
            };
            match stanza::unwrap(&core, raw.kind, p, &kek) {
                Some(file_key) => {
                    header.verify_mac(&file_key)?;
                    return Ok(file_key);
                }
                None if raw.kind == KIND_KEYRING => {
                    failures.note(Error::StanzaAuthFailed { protector: "keyring" })
                }
                None => {
                    debug_assert_eq!(raw.kind, KIND_PASSPHRASE);
                    failures.note(Error::WrongPassphrase)
                }
            }
        }
    }
    Err(failures
        .best
        .map(|(_, e)| e)
        .unwrap_or_else(|| Error::NoMatchingKey {
            wanted: describe(&parsed),
        }))
}

/// Before any Argon2id run: at most [`MAX_PASSPHRASE_STANZAS`] passphrase
/// stanzas, and every one within the parameter bounds.
fn check_passphrase_work(parsed: &[stanza::Parsed<'_>]) -> Result<()> {
    let params: Vec<&KdfParams> = parsed
        .iter()
        .filter_map(|p| match &p.info {
            StanzaInfo::Passphrase { params } => Some(params),
            _ => None,
        })
        .collect();
    if params.len() > MAX_PASSPHRASE_STANZAS {
        return Err(Error::malformed(
            "file header",
            format!(
                "{} passphrase stanzas; at most {MAX_PASSPHRASE_STANZAS} are allowed",
                params.len()
            ),
        ));
    }
    params.iter().try_for_each(|p| p.validate())
}

fn describe(parsed: &[stanza::Parsed<'_>]) -> String {
    let mut kinds: Vec<String> = parsed
        .iter()
        .map(|p| match &p.info {
            StanzaInfo::Keyring { key_version, .. } => format!("a keyring (key version {key_version})"),
            StanzaInfo::Passphrase { .. } => "a passphrase".to_string(),
            StanzaInfo::Unknown { kind, .. } => format!("an unknown protector (kind {kind})"),
        })
        .collect();
    kinds.dedup();
    kinds.join(" or ")
}
