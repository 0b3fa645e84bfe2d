//! A file's header, read without any key.

use crate::run;
use pyo3::prelude::*;
use std::path::PathBuf;
use strongroom::file::{StanzaInfo, inspect_path};

/// One stanza: `(kind, keyring id, key version, (memory KiB, passes,
/// lanes))`, the fields that do not apply to the kind as `None`.
type Stanza = (
    &'static str,
    Option<Vec<u8>>,
    Option<u32>,
    Option<(u32, u32, u32)>,
);

/// The header of the encrypted file at `path`: `(format version, suite,
/// file id, header length, payload length, plaintext length, stanzas)`.
/// Nothing in it is authenticated (that needs the file key).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn inspect(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<(
    u8,
    &'static str,
    Vec<u8>,
    u64,
    Option<u64>,
    Option<u64>,
    Vec<Stanza>,
)> {
    let info = run(py, || inspect_path(&path))?;
    let stanzas = info
        .stanzas
        .iter()
        .map(|s| match s {
            StanzaInfo::Keyring {
                keyring_id,
                key_version,
            } => ("keyring", Some(keyring_id.to_vec()), Some(*key_version), None),
            StanzaInfo::Passphrase { params } => (
                "passphrase",
                None,
                None,
                Some((params.memory_kib, params.iterations, params.parallelism)),
            ),
            _ => ("unknown", None, None, None),
        })
        .collect();
    Ok((
        info.format_version,
        info.suite,
        info.file_id.to_vec(),
        info.header_len,
        info.payload_len,
        info.plaintext_len,
        stanzas,
    ))
}

/// Adds the function to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(inspect, m)?)
}
