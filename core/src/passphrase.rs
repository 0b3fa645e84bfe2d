//! Passphrase-based key derivation with Argon2id (RFC 9106).
//!
//! Parameters are always stored next to the salt, and checked against
//! documented bounds *before* any memory is allocated, so a crafted file or
//! keyring cannot make a reader allocate 100 GiB or spin for hours.

use crate::error::{Error, Result};
use crate::secret::{Passphrase, SecretKey};
use argon2::{Algorithm, Argon2, Params, Version};

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
/// [`KdfParams::derive`] and by the RFC 9106 vector test).
pub(crate) fn argon2id_raw(password: &[u8], salt: &[u8], params: KdfParams) -> Result<SecretKey> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|e| Error::KdfParams(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(password, salt, &mut out)
        .map_err(|e| Error::KdfParams(e.to_string()))?;
    Ok(SecretKey::from_array(out))
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
