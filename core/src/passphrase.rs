//! Passphrase-based key derivation with Argon2id (RFC 9106).
//!
//! Parameters are always stored next to the salt, and checked against
//! documented bounds *before* any memory is allocated, so a crafted file or
//! keyring cannot make a reader allocate 100 GiB or spin for hours.
//!
//! Within those caps, a [`KdfBudget`] bounds what one call may spend: a
//! file or keyring whose header asks for more Argon2id work than the budget
//! is refused ([`Error::KdfBudgetExceeded`]) before the work, unless the
//! caller opts in to a larger budget.

use crate::error::{Error, Result};
use crate::secret::{Passphrase, SecretKey};
use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};

/// Salt length for every Argon2id use in strongroom.
pub const SALT_LEN: usize = 16;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory (t).
    pub iterations: u32,
    /// Lanes (p).
    pub parallelism: u32,
}

impl KdfParams {
    /// Default: RFC 9106 second recommended option (64 MiB, t=3, p=4).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };
    /// Smallest memory accepted (8 MiB): below this Argon2id is too cheap.
    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
    /// Largest memory accepted (2 GiB): the decrypt-side cap.
    pub const MAX_MEMORY_KIB: u32 = 2 * 1024 * 1024;
    /// Largest number of passes accepted.
    pub const MAX_ITERATIONS: u32 = 16;
    /// Largest number of lanes accepted.
    pub const MAX_PARALLELISM: u32 = 16;

    /// Checks the parameters against the documented bounds without doing any
    /// work. Both the encrypting and the decrypting side call this.
    pub fn validate(&self) -> Result<()> {
        let KdfParams {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        } = *self;
        if m < Self::MIN_MEMORY_KIB {
            return Err(Error::KdfParams(format!(
                "memory {m} KiB is below the minimum of {} KiB",
                Self::MIN_MEMORY_KIB
            )));
        }
        if m > Self::MAX_MEMORY_KIB {
            return Err(Error::KdfParams(format!(
                "memory {m} KiB exceeds the cap of {} KiB",
                Self::MAX_MEMORY_KIB
            )));
        }
        if t == 0 || t > Self::MAX_ITERATIONS {
            return Err(Error::KdfParams(format!(
                "iterations {t} outside 1..={}",
                Self::MAX_ITERATIONS
            )));
        }
        if p == 0 || p > Self::MAX_PARALLELISM {
            return Err(Error::KdfParams(format!(
                "parallelism {p} outside 1..={}",
                Self::MAX_PARALLELISM
            )));
        }
        if m < 8 * p {
            return Err(Error::KdfParams(format!(
                "memory {m} KiB is below 8 KiB per lane"
            )));
        }
        Ok(())
    }

    /// The work of one Argon2id run with these parameters, in KiB-passes
    /// (`memory_kib * iterations`): what its time is proportional to. The
    /// lanes spread the same work over threads and do not change it.
    pub fn work(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    /// Derives a 32-byte key from `passphrase` and `salt`. Validates first.
    pub fn derive(&self, passphrase: &Passphrase, salt: &[u8; SALT_LEN]) -> Result<SecretKey> {
        self.validate()?;
        if passphrase.is_empty() {
            return Err(Error::InvalidArgument("the passphrase is empty".into()));
        }
        argon2id_raw(passphrase.as_bytes(), salt, *self)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How much Argon2id work one call may spend on the passphrase stanzas of
/// a file or keyring it reads.
///
/// The parameters of a passphrase stanza come from the file, which anyone
/// who can write it may choose: up to the caps of [`KdfParams`], four
/// stanzas could make one call run Argon2id for minutes with 2 GiB. A
/// budget bounds two things, each checked *before* a run starts:
///
/// - **memory per run**: a stanza asking for more than `max_memory_kib` is
///   not tried;
/// - **total work per call**: the runs of one call (every stanza tried,
///   with every passphrase offered) add up their [`KdfParams::work`]; a run
///   that would take the sum above [`KdfBudget::max_work`]
///   (`max_memory_kib * max_passes`) is not tried.
///
/// A stanza not tried makes the call fail with
/// [`Error::KdfBudgetExceeded`] (naming the cost asked and the budget)
/// unless another stanza opens. Stanzas within [`KdfBudget::DEFAULT`] are
/// tried first, in file order, then the dearer ones the budget allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfBudget {
    /// Largest memory one Argon2id run may use, in KiB.
    pub max_memory_kib: u32,
    /// Total work of one call, in passes over `max_memory_kib`.
    pub max_passes: u32,
}

impl KdfBudget {
    /// The default budget: at most 1 GiB per run (16 times the default
    /// 64 MiB) and 6 passes over 1 GiB per call (6 GiB-passes: 32 runs at
    /// the default parameters, or two 1 GiB runs with t=3). Anyone who
    /// raised the defaults up to 16-fold is served without asking; a
    /// hostile header costs at most 1 GiB and a few seconds
    /// (docs/SECURITY.md gives the figure measured).
    pub const DEFAULT: KdfBudget = KdfBudget {
        max_memory_kib: 1024 * 1024,
        max_passes: 6,
    };

    /// Everything the format's caps allow (2 GiB per run, no total): for
    /// files and keyrings the caller trusts to be its own.
    pub const UNLIMITED: KdfBudget = KdfBudget {
        max_memory_kib: KdfParams::MAX_MEMORY_KIB,
        max_passes: u32::MAX,
    };

    /// The total work one call may spend, in KiB-passes.
    pub fn max_work(&self) -> u64 {
        u64::from(self.max_memory_kib) * u64::from(self.max_passes)
    }

    /// Whether one run with `params` fits an unspent budget.
    pub fn allows(&self, params: &KdfParams) -> bool {
        params.memory_kib <= self.max_memory_kib && params.work() <= self.max_work()
    }

    /// The larger of two budgets in each respect: what a call allows when
    /// several passphrases, each with its budget, are offered to it.
    pub fn max(self, other: KdfBudget) -> KdfBudget {
        KdfBudget {
            max_memory_kib: self.max_memory_kib.max(other.max_memory_kib),
            max_passes: self.max_passes.max(other.max_passes),
        }
    }
}

impl Default for KdfBudget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The Argon2id work spent so far in one call, against its budget.
#[derive(Debug)]
pub(crate) struct KdfMeter {
    budget: KdfBudget,
    spent: u64,
}

impl KdfMeter {
    /// A fresh meter: nothing spent.
    pub(crate) fn new(budget: KdfBudget) -> Self {
        Self { budget, spent: 0 }
    }

    /// Derives with `params` if the run fits what is left of the budget
    /// (and charges it), else fails with [`Error::KdfBudgetExceeded`]
    /// without any work. Validates the parameters first.
    pub(crate) fn derive(
        &mut self,
        params: &KdfParams,
        passphrase: &Passphrase,
        salt: &[u8; SALT_LEN],
    ) -> Result<SecretKey> {
        params.validate()?;
        let budget = self.budget;
        let fits = params.memory_kib <= budget.max_memory_kib
            && self.spent.saturating_add(params.work()) <= budget.max_work();
        if !fits {
            return Err(Error::KdfBudgetExceeded {
                memory_kib: params.memory_kib,
                iterations: params.iterations,
                spent_work: self.spent,
                max_memory_kib: budget.max_memory_kib,
                max_work: budget.max_work(),
            });
        }
        let key = params.derive(passphrase, salt)?;
        self.spent += params.work();
        Ok(key)
    }
}

/// The order in which stanzas with `params` are tried: those within
/// [`KdfBudget::DEFAULT`] first, then the others, each group in its
/// original order. Items without parameters (`None`) keep the first group.
pub(crate) fn trial_order(params: &[Option<KdfParams>]) -> Vec<usize> {
    let cheap = |p: &Option<KdfParams>| p.as_ref().is_none_or(|p| KdfBudget::DEFAULT.allows(p));
    let mut order: Vec<usize> = (0..params.len()).filter(|&i| cheap(&params[i])).collect();
    order.extend((0..params.len()).filter(|&i| !cheap(&params[i])));
    order
}

#[cfg(test)]
thread_local! {
    static RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many Argon2id runs this thread has started (tests only): lets a
/// test show that a refusal came before any work, without timing it.
#[cfg(test)]
pub(crate) fn argon2_runs() -> u64 {
    RUNS.with(|r| r.get())
}

/// Raw Argon2id with no bounds check beyond the algorithm's own (used by
/// [`KdfParams::derive`]).
pub(crate) fn argon2id_raw(password: &[u8], salt: &[u8], params: KdfParams) -> Result<SecretKey> {
    argon2id_keyed(password, salt, &[], &[], params)
}

/// Argon2id (version 0x13, 32-byte tag) with the optional secret key `K` and
/// associated data `X` of RFC 9106, section 3.1. strongroom always passes
/// both empty (through [`argon2id_raw`]); the RFC 9106 section 5.3 vector
/// sets both, so the vector test goes through this same function.
fn argon2id_keyed(
    password: &[u8],
    salt: &[u8],
    secret: &[u8],
    associated_data: &[u8],
    params: KdfParams,
) -> Result<SecretKey> {
    let kdf_err = |e: argon2::Error| Error::KdfParams(e.to_string());
    let mut builder = ParamsBuilder::new();
    builder
        .m_cost(params.memory_kib)
        .t_cost(params.iterations)
        .p_cost(params.parallelism)
        .output_len(32);
    if !associated_data.is_empty() {
        builder.data(AssociatedData::new(associated_data).map_err(kdf_err)?);
    }
    let p = builder.build().map_err(kdf_err)?;
    #[cfg(test)]
    RUNS.with(|r| r.set(r.get() + 1));
    let argon = if secret.is_empty() {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
    } else {
        Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, p).map_err(kdf_err)?
    };
    // The `parallel` feature of argon2 fills lanes with rayon: run it on a
    // pool that survives fork().
    SecretKey::try_filled(|out| {
        crate::parallel::install(|| argon.hash_password_into(password, salt, out)).map_err(kdf_err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_rfc9106_second_option() {
        assert_eq!(
            KdfParams::default(),
            KdfParams {
                memory_kib: 65536,
                iterations: 3,
                parallelism: 4
            }
        );
        KdfParams::DEFAULT.validate().unwrap();
    }

    #[test]
    fn caps_refuse_before_work() {
        let huge = KdfParams {
            memory_kib: u32::MAX,
            iterations: 3,
            parallelism: 4,
        };
        // Would allocate 4 TiB if it did any work; must fail at once.
        let err = huge.derive(&Passphrase::from("x"), &[0; 16]).unwrap_err();
        assert!(
            matches!(err, Error::KdfParams(ref m) if m.contains("exceeds the cap")),
            "{err}"
        );
        let slow = KdfParams {
            memory_kib: 8192,
            iterations: 1000,
            parallelism: 1,
        };
        assert!(matches!(slow.validate(), Err(Error::KdfParams(m)) if m.contains("iterations")));
        let weak = KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        assert!(matches!(weak.validate(), Err(Error::KdfParams(m)) if m.contains("below the minimum")));
        let lanes = KdfParams {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 0,
        };
        assert!(matches!(lanes.validate(), Err(Error::KdfParams(m)) if m.contains("parallelism")));
    }

    /// The Argon2id vector of RFC 9106, section 5.3, as stored in
    /// `testdata/argon2/rfc9106.json` (hex-encoded byte strings).
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Rfc9106Vector {
        algorithm: String,
        version: u32,
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        tag_length: usize,
        password: String,
        salt: String,
        secret: String,
        associated_data: String,
        tag: String,
    }

    #[test]
    fn rfc9106_argon2id_vector() {
        let v: Rfc9106Vector =
            serde_json::from_str(include_str!("../../testdata/argon2/rfc9106.json")).unwrap();
        assert_eq!(v.algorithm, "Argon2id");
        assert_eq!(v.version, 0x13, "argon2id_keyed implements version 0x13 only");
        assert_eq!(v.tag_length, 32, "argon2id_keyed produces 32-byte tags only");
        let hex = |s: &str| hex::decode(s).unwrap();
        let (password, salt, secret, ad) = (
            hex(&v.password),
            hex(&v.salt),
            hex(&v.secret),
            hex(&v.associated_data),
        );
        // Guard against a mangled JSON file: these are the RFC's inputs.
        assert_eq!(password, [0x01; 32]);
        assert_eq!(salt, [0x02; 16]);
        assert_eq!(secret, [0x03; 8]);
        assert_eq!(ad, [0x04; 12]);
        let params = KdfParams {
            memory_kib: v.memory_kib,
            iterations: v.iterations,
            parallelism: v.parallelism,
        };
        let tag = argon2id_keyed(&password, &salt, &secret, &ad, params).unwrap();
        assert_eq!(hex::encode(tag.expose()), v.tag);

        // Both extra inputs take part in the hash: dropping either changes
        // the tag, so the vector really exercises the secret and the AD.
        let no_secret = argon2id_keyed(&password, &salt, &[], &ad, params).unwrap();
        let no_ad = argon2id_keyed(&password, &salt, &secret, &[], params).unwrap();
        assert_ne!(hex::encode(no_secret.expose()), v.tag);
        assert_ne!(hex::encode(no_ad.expose()), v.tag);
        // With both left empty (as argon2id_raw does), the result is plain
        // Argon2id: the same as the argon2 crate without secret or AD.
        let raw = argon2id_raw(&password, &salt, params).unwrap();
        let plain_params = argon2::Params::new(v.memory_kib, v.iterations, v.parallelism, Some(32)).unwrap();
        let mut plain = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, plain_params)
            .hash_password_into(&password, &salt, &mut plain)
            .unwrap();
        assert_eq!(raw.expose(), &plain);
    }

    #[test]
    fn default_budget_is_sixteen_times_the_default_memory_and_six_passes_over_it() {
        let d = KdfBudget::DEFAULT;
        assert_eq!(d.max_memory_kib, 16 * KdfParams::DEFAULT.memory_kib);
        assert_eq!(d.max_work(), 32 * KdfParams::DEFAULT.work());
        assert!(d.allows(&KdfParams::DEFAULT));
        let gib_t3 = KdfParams {
            memory_kib: 1 << 20,
            iterations: 3,
            parallelism: 4,
        };
        assert!(d.allows(&gib_t3));
        // RFC 9106's first option (2 GiB, t=1) and a 1 GiB run with t=7
        // need the caller's opt-in.
        let two_gib = KdfParams {
            memory_kib: 2 << 20,
            iterations: 1,
            parallelism: 4,
        };
        assert!(!d.allows(&two_gib));
        assert!(!d.allows(&KdfParams {
            iterations: 7,
            ..gib_t3
        }));
        let caps = KdfParams {
            memory_kib: KdfParams::MAX_MEMORY_KIB,
            iterations: KdfParams::MAX_ITERATIONS,
            parallelism: KdfParams::MAX_PARALLELISM,
        };
        assert!(KdfBudget::UNLIMITED.allows(&caps));
        assert_eq!(d.max(KdfBudget::UNLIMITED), KdfBudget::UNLIMITED);
    }

    #[test]
    fn the_meter_refuses_before_running_and_charges_what_ran() {
        let small = KdfParams {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 1,
        };
        let mut meter = KdfMeter::new(KdfBudget {
            max_memory_kib: 8192,
            max_passes: 1,
        });
        let before = argon2_runs();
        meter.derive(&small, &Passphrase::from("x"), &[0; 16]).unwrap();
        let err = meter
            .derive(&small, &Passphrase::from("x"), &[0; 16])
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::KdfBudgetExceeded {
                    spent_work: 8192,
                    max_work: 8192,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(argon2_runs() - before, 1);
        // Parameters beyond the caps stay a format error.
        let err = meter
            .derive(
                &KdfParams {
                    memory_kib: u32::MAX,
                    ..small
                },
                &Passphrase::from("x"),
                &[0; 16],
            )
            .unwrap_err();
        assert!(matches!(err, Error::KdfParams(_)), "{err}");
    }

    #[test]
    fn stanzas_within_the_default_budget_come_first_in_order() {
        let dear = Some(KdfParams {
            memory_kib: 2 << 20,
            iterations: 1,
            parallelism: 1,
        });
        let cheap = Some(KdfParams::DEFAULT);
        assert_eq!(trial_order(&[dear, cheap, None, dear, cheap]), [1, 2, 4, 0, 3]);
        assert_eq!(trial_order(&[]), Vec::<usize>::new());
    }

    #[test]
    fn empty_passphrase_refused() {
        let p = KdfParams {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 1,
        };
        assert!(matches!(
            p.derive(&Passphrase::from(""), &[0; 16]),
            Err(Error::InvalidArgument(_))
        ));
    }
}
