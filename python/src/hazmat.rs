//! The standard constructions (`strongroom.hazmat`), for interoperability
//! tests: Cobblestone-256, XAES-256-GCM, AES-SIV. The caller chooses keys,
//! nonces and contexts; nothing here protects against their misuse.

use crate::{guarded, invalid_argument, run, table_err};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::io::{Cursor, Read, Write};
use strongroom::error::codes;
use strongroom::hazmat::chunked::{ChunkedReader, ChunkedWriter, SALT_LEN};
use strongroom::hazmat::siv::Aes256SivCmac;
use strongroom::hazmat::xaes::Xaes256Gcm;
use zeroize::Zeroizing;

fn key32(py: Python<'_>, key: &[u8], what: &str) -> PyResult<Zeroizing<[u8; 32]>> {
    let arr: [u8; 32] = key
        .try_into()
        .map_err(|_| invalid_argument(py, format!("{what} takes a 32-byte key")))?;
    Ok(Zeroizing::new(arr))
}

fn auth_failed(py: Python<'_>, what: &str) -> PyErr {
    table_err(
        py,
        &codes::FIELD_AUTH_FAILED,
        format!("{what} authentication failed (wrong key, nonce or associated data, or modified ciphertext)"),
        None,
    )
}

/// Cobblestone-256: encrypts `plaintext` under `key` (32 bytes) and
/// `context`; the salt is random unless given (24 bytes; never reuse one
/// under a key).
#[pyfunction]
#[pyo3(signature = (key, context, plaintext, salt=None))]
fn cobblestone256_encrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    context: &[u8],
    plaintext: &[u8],
    salt: Option<&[u8]>,
) -> PyResult<Bound<'py, PyBytes>> {
    let salt: Option<[u8; SALT_LEN]> = match salt {
        Some(s) => Some(
            s.try_into()
                .map_err(|_| invalid_argument(py, "the Cobblestone-256 salt is 24 bytes"))?,
        ),
        None => None,
    };
    let out = run(py, || {
        let sink = Vec::with_capacity(plaintext.len() + plaintext.len() / 1000 + 128);
        let mut w = match salt {
            Some(s) => ChunkedWriter::with_salt(sink, key, &s, context)?,
            None => ChunkedWriter::new(sink, key, context)?,
        };
        w.write_all(plaintext).map_err(strongroom::error::from_io)?;
        w.finish()
    })?;
    Ok(PyBytes::new(py, &out))
}

/// Cobblestone-256: decrypts and authenticates a whole message; raises
/// (and returns nothing) unless every chunk authenticates.
#[pyfunction]
fn cobblestone256_decrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    context: &[u8],
    ciphertext: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let out = run(py, || {
        let mut r = ChunkedReader::new(Cursor::new(ciphertext), key, context)?;
        let mut out = Zeroizing::new(Vec::new());
        r.read_to_end(&mut out).map_err(strongroom::error::from_io)?;
        Ok(out)
    })?;
    Ok(PyBytes::new(py, &out))
}

/// XAES-256-GCM encryption: ciphertext followed by the 16-byte tag.
#[pyfunction]
#[pyo3(signature = (key, nonce, plaintext, aad=b"".as_slice()))]
fn xaes256gcm_encrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    nonce: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let k = key32(py, key, "XAES-256-GCM")?;
    let n: [u8; 24] = nonce
        .try_into()
        .map_err(|_| invalid_argument(py, "XAES-256-GCM takes a 24-byte nonce"))?;
    let out = guarded(py, || Ok(Xaes256Gcm::new(&k).encrypt(&n, plaintext, aad)))?;
    Ok(PyBytes::new(py, &out))
}

/// XAES-256-GCM decryption of ciphertext followed by its tag.
#[pyfunction]
#[pyo3(signature = (key, nonce, ciphertext, aad=b"".as_slice()))]
fn xaes256gcm_decrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    nonce: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let k = key32(py, key, "XAES-256-GCM")?;
    let n: [u8; 24] = nonce
        .try_into()
        .map_err(|_| invalid_argument(py, "XAES-256-GCM takes a 24-byte nonce"))?;
    let out = Zeroizing::new(guarded(py, || {
        Xaes256Gcm::new(&k)
            .decrypt(&n, ciphertext, aad)
            .map_err(|_| auth_failed(py, "XAES-256-GCM"))
    })?);
    Ok(PyBytes::new(py, &out))
}

fn siv_key(py: Python<'_>, key: &[u8]) -> PyResult<Zeroizing<[u8; 64]>> {
    let arr: [u8; 64] = key
        .try_into()
        .map_err(|_| invalid_argument(py, "AES-SIV takes a 64-byte key (AES-256-SIV)"))?;
    Ok(Zeroizing::new(arr))
}

/// AES-SIV (RFC 5297, 512-bit key, one associated-data component):
/// returns `SIV || ciphertext`.
#[pyfunction]
#[pyo3(signature = (key, plaintext, aad=b"".as_slice()))]
fn aes_siv_encrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let k = siv_key(py, key)?;
    let out = guarded(py, || Ok(Aes256SivCmac::new(&k).encrypt(aad, plaintext)))?;
    Ok(PyBytes::new(py, &out))
}

/// AES-SIV decryption of `SIV || ciphertext`.
#[pyfunction]
#[pyo3(signature = (key, ciphertext, aad=b"".as_slice()))]
fn aes_siv_decrypt<'py>(
    py: Python<'py>,
    key: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let k = siv_key(py, key)?;
    let out = Zeroizing::new(guarded(py, || {
        Aes256SivCmac::new(&k)
            .decrypt(aad, ciphertext)
            .map_err(|_| auth_failed(py, "AES-SIV"))
    })?);
    Ok(PyBytes::new(py, &out))
}

/// Adds the functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cobblestone256_encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(cobblestone256_decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(xaes256gcm_encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(xaes256gcm_decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(aes_siv_encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(aes_siv_decrypt, m)?)?;
    Ok(())
}
