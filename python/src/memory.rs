//! Whole encrypted files held in memory: bytes in, bytes out.

use crate::files::{identities, passphrases, recipients, with_keyring};
use crate::keyring::{PyKeyring, kdf};
use crate::run;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::io::Write;
use strongroom::error::from_io;
use strongroom::file::{Encryptor, decrypt_in_place};
use zeroize::Zeroizing;

/// Encrypts `data` into a complete encrypted file (the same format as
/// `encrypt_file`) for the keyring's primary key and/or the passphrases,
/// on every core with the interpreter released.
#[pyfunction]
#[pyo3(signature = (data, keyring=None, passphrases=Vec::new(), kdf=None))]
fn encrypt_bytes<'py>(
    py: Python<'py>,
    data: PyBackedBytes,
    keyring: Option<Py<PyKeyring>>,
    passphrases: Vec<Bound<'py, PyAny>>,
    kdf: Option<(u32, u32, u32)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let passes = self::passphrases(passphrases)?;
    let params = self::kdf(kdf);
    // A tag per 16 KiB chunk, and room for a header.
    let capacity = data.len() + data.len() / 1024 + 4096;
    let out = run(py, || {
        with_keyring(keyring.as_ref(), |kr| {
            let mut enc = Encryptor::new(Vec::with_capacity(capacity), &recipients(kr, &passes, params))?;
            enc.write_all(&data).map_err(from_io)?;
            enc.finish()
        })
    })?;
    Ok(PyBytes::new(py, &out))
}

/// Decrypts a complete encrypted file held in `data`. Nothing is returned
/// unless the whole file, final chunk included, authenticated; the working
/// copy of the plaintext is wiped before this returns.
#[pyfunction]
#[pyo3(signature = (data, keyring=None, passphrases=Vec::new(), kdf_budget=None))]
fn decrypt_bytes<'py>(
    py: Python<'py>,
    data: PyBackedBytes,
    keyring: Option<Py<PyKeyring>>,
    passphrases: Vec<Bound<'py, PyAny>>,
    kdf_budget: Option<(u32, u32)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let passes = self::passphrases(passphrases)?;
    let budget = crate::keyring::kdf_budget(kdf_budget);
    let mut buf = Zeroizing::new(data.to_vec());
    drop(data);
    let range = run(py, || {
        with_keyring(keyring.as_ref(), |kr| {
            let base = buf.as_ptr() as usize;
            let plain = decrypt_in_place(&mut buf, &identities(kr, &passes, budget))?;
            // The plaintext is a part of `buf`: where it starts in it.
            let start = plain.as_ptr() as usize - base;
            Ok(start..start + plain.len())
        })
    })?;
    Ok(PyBytes::new(py, &buf[range]))
}

/// Adds the functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encrypt_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(decrypt_bytes, m)?)
}
