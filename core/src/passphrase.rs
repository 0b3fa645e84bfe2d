//! Passphrase-based key derivation with Argon2id (RFC 9106).
//!
//! Parameters are always stored next to the salt, and checked against
//! documented bounds *before* any memory is allocated, so a crafted file or
//! keyring cannot make a reader allocate 100 GiB or spin for hours.

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
