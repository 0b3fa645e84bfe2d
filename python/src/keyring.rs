//! The native keyring handle.

use crate::locks::Shared;
use crate::{core_err, invalid_argument, run};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use strongroom::keyring::{
    KeyStatus, Keyring, KeyringOptions, ProtectorKind, RecoveryKey, Revocation, Rotation, SeenRecord, Unlock,
};
use strongroom::passphrase::{KdfBudget, KdfParams};
use strongroom::secret_source::SecretSource;
use strongroom::{Error, Result};

/// Argon2id parameters from `(memory_kib, iterations, parallelism)`, or
/// the default.
pub(crate) fn kdf(params: Option<(u32, u32, u32)>) -> KdfParams {
    match params {
        Some((memory_kib, iterations, parallelism)) => KdfParams {
            memory_kib,
            iterations,
            parallelism,
        },
        None => KdfParams::DEFAULT,
    }
}

/// The Argon2id budget from `(max_memory_kib, max_passes)`, or the
/// core's default.
pub(crate) fn kdf_budget(budget: Option<(u32, u32)>) -> KdfBudget {
    match budget {
        Some((max_memory_kib, max_passes)) => KdfBudget {
            max_memory_kib,
            max_passes,
        },
        None => KdfBudget::DEFAULT,
    }
}

/// Options from the Python arguments: `seen_record` is a path to the
/// record of keyrings seen, or (with `seen_default`) its default location.
fn options(seen_record: Option<PathBuf>, seen_default: bool, budget: KdfBudget) -> Result<KeyringOptions> {
    let record = match (seen_record, seen_default) {
        (Some(path), _) => Some(SeenRecord::new(path)),
        (None, true) => Some(SeenRecord::at_default_location()?),
        (None, false) => None,
    };
    let options = KeyringOptions::new().kdf_budget(budget);
    Ok(match record {
        Some(r) => options.seen_record(r),
        None => options,
    })
}

/// Other protectors' secrets: passphrases, then recovery keys (text).
fn secrets(passphrases: Vec<strongroom::Passphrase>, recovery_keys: &[String]) -> Result<Vec<Unlock>> {
    let mut out: Vec<Unlock> = passphrases.into_iter().map(Unlock::Passphrase).collect();
    for text in recovery_keys {
        out.push(Unlock::RecoveryKey(RecoveryKey::parse(text)?));
    }
    Ok(out)
}

/// `(removed, new_primary, to_reenroll)`.
type RevocationTuple = (Vec<u32>, Option<u32>, Vec<u32>);

fn revocation_tuple(r: Revocation) -> RevocationTuple {
    (r.removed, r.new_primary, r.to_reenroll)
}

fn rotation(rotate: bool) -> Rotation {
    if rotate {
        Rotation::Rotate
    } else {
        Rotation::KeepPrimary
    }
}

/// An unlocked keyring shared by Python threads. Reading calls take the
/// read lock (many at once); changes take the write lock; both wait only
/// with the interpreter released (a reader may be writing a header to a
/// Python file object, which needs the interpreter). `close` drops the
/// keyring (its keys are wiped); later calls fail with `InvalidArgument`.
/// In a forked child, a lock a thread of the parent held at fork time is
/// refused rather than waited for.
#[pyclass(module = "strongroom._native", name = "Keyring", frozen)]
pub(crate) struct PyKeyring {
    pub(crate) inner: Arc<Shared<Option<Keyring>>>,
}

fn closed() -> Error {
    Error::InvalidArgument("the keyring is closed".into())
}

/// What a forked child meets when a thread of the parent was using the
/// keyring at fork time (its lock never comes free in the child).
fn forked() -> Error {
    Error::InvalidArgument(
        "this keyring was in use by another thread of the parent process when it forked; open it again in the child"
            .into(),
    )
}

impl PyKeyring {
    fn wrap(kr: Keyring) -> Self {
        Self {
            inner: Arc::new(Shared::new(Some(kr))),
        }
    }

    /// Runs `f` on the open keyring under the read lock (call it with the
    /// interpreter released).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Keyring) -> Result<T>) -> Result<T> {
        let guard = self.inner.read().map_err(|_| forked())?;
        f(guard.as_ref().ok_or_else(closed)?)
    }

    /// Runs `f` on the open keyring under the write lock (call it with the
    /// interpreter released).
    fn with_mut<T>(&self, f: impl FnOnce(&mut Keyring) -> Result<T>) -> Result<T> {
        let mut guard = self.inner.write().map_err(|_| forked())?;
        f(guard.as_mut().ok_or_else(closed)?)
    }
}

#[pymethods]
impl PyKeyring {
    /// Creates a keyring at `path` protected by `passphrase`.
    #[staticmethod]
    #[pyo3(signature = (path, passphrase, kdf=None, seen_record=None, seen_default=false))]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        passphrase: &Bound<'_, PyAny>,
        kdf: Option<(u32, u32, u32)>,
        seen_record: Option<PathBuf>,
        seen_default: bool,
    ) -> PyResult<Self> {
        let pass = crate::passphrase(passphrase)?;
        let params = self::kdf(kdf);
        run(py, move || {
            Keyring::create_with(
                &path,
                &pass,
                params,
                &options(seen_record, seen_default, KdfBudget::DEFAULT)?,
            )
        })
        .map(Self::wrap)
    }

    /// Opens the keyring at `path` with a passphrase or a recovery key.
    #[staticmethod]
    #[pyo3(signature = (path, passphrase=None, recovery_key=None, seen_record=None, seen_default=false, kdf_budget=None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        passphrase: Option<&Bound<'_, PyAny>>,
        recovery_key: Option<&str>,
        seen_record: Option<PathBuf>,
        seen_default: bool,
        kdf_budget: Option<(u32, u32)>,
    ) -> PyResult<Self> {
        let unlock = match (passphrase, recovery_key) {
            (Some(p), None) => Unlock::Passphrase(crate::passphrase(p)?),
            (None, Some(r)) => Unlock::RecoveryKey(RecoveryKey::parse(r).map_err(|e| core_err(py, e))?),
            _ => {
                return Err(invalid_argument(
                    py,
                    "give exactly one of passphrase and recovery_key",
                ));
            }
        };
        run(py, move || {
            Keyring::open_with(
                &path,
                &unlock,
                &options(seen_record, seen_default, self::kdf_budget(kdf_budget))?,
            )
        })
        .map(Self::wrap)
    }

    /// The keyring id (16 bytes) of the keyring file at `path`, without unlocking it.
    #[staticmethod]
    fn peek_id(py: Python<'_>, path: PathBuf) -> PyResult<Vec<u8>> {
        run(py, move || Keyring::peek_id(&path)).map(|id| id.to_vec())
    }

    /// The keyring id (16 bytes).
    fn id(&self, py: Python<'_>) -> PyResult<Vec<u8>> {
        run(py, || self.with(|k| Ok(k.id().to_vec())))
    }

    /// The keyring's path.
    fn path(&self, py: Python<'_>) -> PyResult<PathBuf> {
        run(py, || self.with(|k| Ok(k.path().to_path_buf())))
    }

    /// The change counter of the keyring file.
    fn generation(&self, py: Python<'_>) -> PyResult<u64> {
        run(py, || self.with(|k| Ok(k.generation())))
    }

    /// The keyring format (3; 1 or 2 until upgraded).
    fn format_version(&self, py: Python<'_>) -> PyResult<u8> {
        run(py, || self.with(|k| Ok(k.format_version())))
    }

    /// The id of the protector that unlocked this handle.
    fn unlocked_by(&self, py: Python<'_>) -> PyResult<u32> {
        run(py, || self.with(|k| Ok(k.unlocked_by())))
    }

    /// The primary key version.
    fn primary_version(&self, py: Python<'_>) -> PyResult<u32> {
        run(py, || self.with(|k| Ok(k.primary_version())))
    }

    /// `(version, status, created_at, status_changed_at)` of every version.
    fn versions(&self, py: Python<'_>) -> PyResult<Vec<(u32, &'static str, u64, u64)>> {
        run(py, || {
            self.with(|k| {
                Ok(k.versions()
                    .iter()
                    .map(|v| {
                        (
                            v.version,
                            status_name(v.status),
                            v.created_at,
                            v.status_changed_at,
                        )
                    })
                    .collect())
            })
        })
    }

    /// `(id, kind, created_at, legacy, kdf)` of every protector; `kdf` is
    /// `(memory_kib, iterations, parallelism)` for passphrases.
    #[allow(clippy::type_complexity)]
    fn protectors(
        &self,
        py: Python<'_>,
    ) -> PyResult<Vec<(u32, &'static str, u64, bool, Option<(u32, u32, u32)>)>> {
        run(py, || {
            self.with(|k| {
                Ok(k.protectors()
                    .iter()
                    .map(|p| {
                        let (kind, params) = match p.kind {
                            ProtectorKind::Passphrase { params } => (
                                "passphrase",
                                Some((params.memory_kib, params.iterations, params.parallelism)),
                            ),
                            ProtectorKind::RecoveryKey => ("recovery-key", None),
                            _ => ("unknown", None),
                        };
                        (p.id, kind, p.created_at, p.legacy, params)
                    })
                    .collect())
            })
        })
    }

    /// Re-reads the keyring file (changes by other processes).
    fn reload(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || self.with_mut(|k| k.reload()))
    }

    /// Adds a key version; `promote` makes it primary. Returns its number.
    #[pyo3(signature = (promote=true))]
    fn add_key(&self, py: Python<'_>, promote: bool) -> PyResult<u32> {
        run(py, || self.with_mut(|k| k.add_key(promote)))
    }

    /// Makes `version` the primary.
    fn promote(&self, py: Python<'_>, version: u32) -> PyResult<()> {
        run(py, || self.with_mut(|k| k.promote(version)))
    }

    /// Disables `version` (it neither encrypts nor decrypts until enabled).
    fn disable(&self, py: Python<'_>, version: u32) -> PyResult<()> {
        run(py, || self.with_mut(|k| k.disable(version)))
    }

    /// Re-enables a disabled `version` as decrypt-only.
    fn enable(&self, py: Python<'_>, version: u32) -> PyResult<()> {
        run(py, || self.with_mut(|k| k.enable(version)))
    }

    /// Destroys the secret of `version` (irreversible).
    fn destroy(&self, py: Python<'_>, version: u32) -> PyResult<()> {
        run(py, || self.with_mut(|k| k.destroy(version)))
    }

    /// Adds a passphrase protector; returns its id.
    #[pyo3(signature = (passphrase, kdf=None))]
    fn add_passphrase(
        &self,
        py: Python<'_>,
        passphrase: &Bound<'_, PyAny>,
        kdf: Option<(u32, u32, u32)>,
    ) -> PyResult<u32> {
        let pass = crate::passphrase(passphrase)?;
        let params = self::kdf(kdf);
        run(py, || self.with_mut(|k| k.add_passphrase(&pass, params)))
    }

    /// Adds a recovery key; returns `(id, text)`. The text is the secret:
    /// show it once to whoever keeps it.
    fn add_recovery_key(&self, py: Python<'_>) -> PyResult<(u32, String)> {
        run(py, || {
            self.with_mut(|k| {
                let (id, key) = k.add_recovery_key()?;
                Ok((id, key.dangerous_display().as_str().to_owned()))
            })
        })
    }

    /// Replaces the recovery key; returns `(id, text, revocation)` of the
    /// new one (`revocation` is `None` when there was none to replace).
    #[pyo3(signature = (rotate=true))]
    fn replace_recovery_key(
        &self,
        py: Python<'_>,
        rotate: bool,
    ) -> PyResult<(u32, String, Option<RevocationTuple>)> {
        run(py, || {
            self.with_mut(|k| {
                let (id, key, revocation) = k.replace_recovery_key_with(rotation(rotate))?;
                Ok((
                    id,
                    key.dangerous_display().as_str().to_owned(),
                    revocation.map(revocation_tuple),
                ))
            })
        })
    }

    /// Removes protectors and revokes them (new master key; with `rotate`,
    /// a new primary version); returns `(removed, new_primary, to_reenroll)`.
    #[pyo3(signature = (ids, rotate=true))]
    fn remove_protectors(&self, py: Python<'_>, ids: Vec<u32>, rotate: bool) -> PyResult<RevocationTuple> {
        run(py, || {
            self.with_mut(|k| {
                k.remove_protectors_with(&ids, rotation(rotate))
                    .map(revocation_tuple)
            })
        })
    }

    /// Upgrades a format-1 or format-2 keyring; returns `(from_format,
    /// upgraded, removed, new_primary)`.
    #[pyo3(signature = (passphrases, recovery_keys, remove, rotate=true))]
    fn upgrade(
        &self,
        py: Python<'_>,
        passphrases: Vec<Bound<'_, PyAny>>,
        recovery_keys: Vec<String>,
        remove: Vec<u32>,
        rotate: bool,
    ) -> PyResult<(u8, bool, Vec<u32>, Option<u32>)> {
        let passes = passphrases
            .iter()
            .map(|p| crate::passphrase(p))
            .collect::<PyResult<Vec<_>>>()?;
        run(py, move || {
            let others = secrets(passes, &recovery_keys)?;
            self.with_mut(|k| {
                let done = k.upgrade(&others, &remove, rotation(rotate))?;
                Ok((done.from_format, done.upgraded, done.removed, done.new_primary))
            })
        })
    }

    /// Gives fresh authentication values to this handle's protector and to
    /// those the secrets open; returns `(reenrolled, unchanged)`.
    fn reenroll(
        &self,
        py: Python<'_>,
        passphrases: Vec<Bound<'_, PyAny>>,
        recovery_keys: Vec<String>,
    ) -> PyResult<(Vec<u32>, Vec<u32>)> {
        let passes = passphrases
            .iter()
            .map(|p| crate::passphrase(p))
            .collect::<PyResult<Vec<_>>>()?;
        run(py, move || {
            let others = secrets(passes, &recovery_keys)?;
            self.with_mut(|k| {
                let done = k.reenroll(&others)?;
                Ok((done.reenrolled, done.unchanged))
            })
        })
    }

    /// Checks the keyring file against the record of keyrings seen (at
    /// `path`, or the default location) and keeps the record for later
    /// changes.
    #[pyo3(signature = (path=None))]
    fn use_seen_record(&self, py: Python<'_>, path: Option<PathBuf>) -> PyResult<()> {
        run(py, move || {
            let record = match path {
                Some(p) => SeenRecord::new(p),
                None => SeenRecord::at_default_location()?,
            };
            self.with_mut(|k| {
                k.set_seen_record(Some(record));
                k.reload()
            })
        })
    }

    /// Replaces the master key and seals it to every protector.
    fn rekey(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || self.with_mut(|k| k.rekey()))
    }

    /// Drops the keyring (once calls in other threads return); its keys
    /// are wiped. In a forked child whose parent was using the keyring at
    /// fork time, raises instead.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || {
            let taken = self.inner.write().map_err(|_| forked())?.take();
            drop(taken);
            Ok(())
        })
    }

    /// Whether [`close`](Self::close) was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        run(py, || Ok(self.inner.read().map_err(|_| forked())?.is_none()))
    }
}

fn status_name(s: KeyStatus) -> &'static str {
    s.as_str()
}

/// Reads a secret by the core's rule (`strongroom::secret_source`): from
/// the environment variable (`kind` "env"), file ("file") or file
/// descriptor ("fd") named by `place`. The native copy is wiped; the
/// Python `str` returned cannot be.
#[pyfunction]
fn read_secret(py: Python<'_>, kind: &str, place: &Bound<'_, PyAny>) -> PyResult<String> {
    let source = match kind {
        "env" => SecretSource::Env(place.extract()?),
        "file" => SecretSource::File(place.extract()?),
        "fd" => SecretSource::Fd(place.extract()?),
        other => {
            return Err(invalid_argument(
                py,
                format!("unknown secret source kind {other:?}"),
            ));
        }
    };
    let secret = run(py, || source.read())?;
    Ok(secret.as_str().to_owned())
}

/// Adds the class to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_secret, m)?)?;
    let d = KdfBudget::DEFAULT;
    m.add("KDF_BUDGET_DEFAULT", (d.max_memory_kib, d.max_passes))?;
    let u = KdfBudget::UNLIMITED;
    m.add("KDF_BUDGET_UNLIMITED", (u.max_memory_kib, u.max_passes))?;
    m.add_class::<PyKeyring>()
}
