//! Who can open a file: recipients (when encrypting) and identities (when
//! decrypting), and the wrapping and unwrapping of the file key.

use super::header::{CORE_LEN, Header, MAX_PASSPHRASE_STANZAS, RawStanza};
use super::stanza::{self, KIND_KEYRING, KIND_PASSPHRASE, StanzaInfo};
use crate::crypto::random;
use crate::error::{Error, Result};
use crate::keyring::{KeyUse, Keyring, Purpose};
use crate::passphrase::{KdfBudget, KdfMeter, KdfParams, trial_order};
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
    /// checked against the caps before any work, and the call spends at
    /// most [`KdfBudget::DEFAULT`] on them.
    Passphrase(&'a Passphrase),
    /// A passphrase with another Argon2id budget than the default: to open
    /// a trusted file whose stanzas ask for more work (see [`KdfBudget`]).
    /// Offered with other passphrases, the call allows the largest budget
    /// among them.
    PassphraseWithBudget(&'a Passphrase, KdfBudget),
}

impl<'a> Identity<'a> {
    /// The passphrase and its budget, for a passphrase identity.
    fn passphrase(&self) -> Option<(&'a Passphrase, KdfBudget)> {
        match *self {
            Identity::Passphrase(p) => Some((p, KdfBudget::DEFAULT)),
            Identity::PassphraseWithBudget(p, b) => Some((p, b)),
            Identity::Keyring(_) => None,
        }
    }
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
            Error::KdfParams(_) | Error::KdfBudgetExceeded { .. } => 4,
            Error::KeyVersionUnusable { .. } | Error::UnknownKeyVersion(_) => 3,
            Error::WrongPassphrase => 2,
            _ => 1,
        };
        if self.best.as_ref().is_none_or(|(r, _)| rank > *r) {
            self.best = Some((rank, e));
        }
    }
}

/// The Argon2id budget of a call offered `identities`: the largest among
/// its passphrases' ([`KdfBudget::DEFAULT`] if none gives one).
pub(crate) fn call_budget(identities: &[Identity<'_>]) -> KdfBudget {
    identities
        .iter()
        .filter_map(|i| i.passphrase().map(|(_, b)| b))
        .reduce(KdfBudget::max)
        .unwrap_or_default()
}

/// Finds the file key with the first identity that opens a stanza, then
/// verifies the header MAC with it.
pub(crate) fn unwrap_file_key(header: &Header, identities: &[Identity<'_>]) -> Result<SecretKey> {
    unwrap_file_key_metered(header, identities, &mut KdfMeter::new(call_budget(identities)))
}

/// [`unwrap_file_key`] charging every Argon2id run to `meter` (one meter
/// for the whole call: every run, with every passphrase, counts).
/// Passphrase stanzas within [`KdfBudget::DEFAULT`] are tried first.
pub(crate) fn unwrap_file_key_metered(
    header: &Header,
    identities: &[Identity<'_>],
    meter: &mut KdfMeter,
) -> Result<SecretKey> {
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
    if identities.iter().any(|i| i.passphrase().is_some()) {
        check_passphrase_work(&parsed)?;
    }
    let order = trial_order(
        &parsed
            .iter()
            .map(|p| match p.info {
                StanzaInfo::Passphrase { params } => Some(params),
                _ => None,
            })
            .collect::<Vec<_>>(),
    );
    let mut failures = Failures::default();
    for identity in identities {
        for &i in &order {
            let (raw, p) = (&header.stanzas[i], &parsed[i]);
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
                (
                    Identity::Passphrase(_) | Identity::PassphraseWithBudget(..),
                    StanzaInfo::Passphrase { params },
                ) => {
                    let (pass, _) = identity.passphrase().expect("a passphrase identity");
                    let salt = p.salt.expect("passphrase stanzas carry a salt");
                    match meter.derive(params, pass, &salt) {
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

#[cfg(test)]
mod tests {
    use super::super::header::Core;
    use super::*;
    use crate::passphrase::argon2_runs;

    /// What a hostile header may ask for: every cap at once.
    const AT_THE_CAPS: KdfParams = KdfParams {
        memory_kib: KdfParams::MAX_MEMORY_KIB,
        iterations: KdfParams::MAX_ITERATIONS,
        parallelism: KdfParams::MAX_PARALLELISM,
    };

    fn mib(m: u32, t: u32) -> KdfParams {
        KdfParams {
            memory_kib: m * 1024,
            iterations: t,
            parallelism: 1,
        }
    }

    /// A header with one passphrase stanza per entry: wrapped under the KEK
    /// of the passphrase given (one Argon2id run here), or under a random
    /// KEK (no run) for `None`, as a writer who knows no passphrase can
    /// add a stanza at any parameters. The header MAC is valid.
    fn header_with(stanzas: &[(KdfParams, Option<&str>)]) -> Header {
        let core = Core::new_random();
        let file_key = SecretKey::random();
        let raw = stanzas
            .iter()
            .map(|(params, pass)| {
                let salt = random::array();
                let kek = match pass {
                    Some(p) => params.derive(&Passphrase::from(*p), &salt).unwrap(),
                    None => SecretKey::random(),
                };
                stanza::wrap_passphrase(&core.to_bytes(), *params, &salt, &kek, &file_key)
            })
            .collect();
        Header::build(core, raw, &file_key).unwrap()
    }

    /// `unwrap_file_key` with the Argon2id runs it made.
    fn open(header: &Header, identities: &[Identity<'_>]) -> (Result<SecretKey>, u64) {
        let before = argon2_runs();
        let result = unwrap_file_key(header, identities);
        (result, argon2_runs() - before)
    }

    #[test]
    fn four_stanzas_at_the_caps_are_refused_before_any_argon2id_run() {
        let header = header_with(&[(AT_THE_CAPS, None); 4]);
        let pass = Passphrase::from("anything");
        let (result, runs) = open(&header, &[Identity::Passphrase(&pass)]);
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                Error::KdfBudgetExceeded {
                    memory_kib: KdfParams::MAX_MEMORY_KIB,
                    iterations: 16,
                    spent_work: 0,
                    max_memory_kib,
                    ..
                } if max_memory_kib == KdfBudget::DEFAULT.max_memory_kib
            ),
            "{err}"
        );
        assert_eq!((err.code(), err.name()), (220, "KdfBudgetExceeded"));
        assert_eq!(runs, 0, "no Argon2id run may start");
        let text = err.to_string();
        assert!(text.contains("2048 MiB and 16 passes"), "{text}");
        assert!(text.contains("--allow-expensive-kdf"), "{text}");
    }

    #[test]
    fn cheap_stanzas_are_tried_first_even_with_an_unlimited_budget() {
        // A dear stanza first, then the real one: the real one is tried
        // first, so not even an unlimited budget runs the 2 GiB Argon2id.
        let header = header_with(&[(AT_THE_CAPS, None), (mib(8, 1), Some("right"))]);
        let right = Passphrase::from("right");
        for id in [
            Identity::Passphrase(&right),
            Identity::PassphraseWithBudget(&right, KdfBudget::UNLIMITED),
        ] {
            let (result, runs) = open(&header, &[id]);
            result.unwrap();
            assert_eq!(runs, 1);
        }
        // A wrong passphrase cannot be told wrong: the dear stanza might
        // be its own. The error says so rather than WrongPassphrase.
        let wrong = Passphrase::from("wrong");
        let (result, runs) = open(&header, &[Identity::Passphrase(&wrong)]);
        assert!(matches!(result, Err(Error::KdfBudgetExceeded { .. })));
        assert_eq!(runs, 1);
    }

    #[test]
    fn a_larger_budget_opens_what_a_smaller_one_refuses() {
        let header = header_with(&[(mib(16, 1), Some("pw"))]);
        let pass = Passphrase::from("pw");
        let small = KdfBudget {
            max_memory_kib: 8 * 1024,
            max_passes: 4,
        };
        let (result, runs) = open(&header, &[Identity::PassphraseWithBudget(&pass, small)]);
        assert!(matches!(
            result,
            Err(Error::KdfBudgetExceeded {
                memory_kib: 16384,
                ..
            })
        ));
        assert_eq!(runs, 0);
        let enough = KdfBudget {
            max_memory_kib: 16 * 1024,
            max_passes: 1,
        };
        let (result, runs) = open(&header, &[Identity::PassphraseWithBudget(&pass, enough)]);
        result.unwrap();
        assert_eq!(runs, 1);
        // Offered with another passphrase, the call allows the larger budget.
        let other = Passphrase::from("other");
        let ids = [
            Identity::PassphraseWithBudget(&other, small),
            Identity::PassphraseWithBudget(&pass, enough),
        ];
        let (result, runs) = open(&header, &ids);
        result.unwrap();
        assert_eq!(runs, 2);
    }

    #[test]
    fn the_total_work_of_a_call_is_capped_across_stanzas_and_passphrases() {
        let header = header_with(&[
            (mib(16, 1), Some("a")),
            (mib(16, 1), Some("b")),
            (mib(16, 1), Some("c")),
            (mib(16, 1), Some("d")),
        ]);
        // Room for two runs of 16 MiB, t=1 in the whole call.
        let two_runs = KdfBudget {
            max_memory_kib: 16 * 1024,
            max_passes: 2,
        };
        let (b, d) = (Passphrase::from("b"), Passphrase::from("d"));
        let (result, runs) = open(&header, &[Identity::PassphraseWithBudget(&b, two_runs)]);
        result.unwrap();
        assert_eq!(runs, 2);
        let (result, runs) = open(&header, &[Identity::PassphraseWithBudget(&d, two_runs)]);
        assert!(
            matches!(
                result,
                Err(Error::KdfBudgetExceeded {
                    spent_work: 32768,
                    max_work: 32768,
                    ..
                })
            ),
            "{:?}",
            result.err()
        );
        assert_eq!(runs, 2);
        // Two passphrases share the call's budget: the second gets nothing.
        let (result, runs) = open(
            &header,
            &[
                Identity::PassphraseWithBudget(&d, two_runs),
                Identity::PassphraseWithBudget(&b, two_runs),
            ],
        );
        assert!(matches!(result, Err(Error::KdfBudgetExceeded { .. })));
        assert_eq!(runs, 2);
        // The default budget covers all four at these parameters.
        let (result, runs) = open(&header, &[Identity::Passphrase(&d)]);
        result.unwrap();
        assert_eq!(runs, 4);
    }
}
