//! Reading a file's header without decrypting anything.

use super::header::Header;
use super::stanza::{self, StanzaInfo};
use crate::chunked;
use crate::error::Result;
use std::io::{Read, Seek};
use std::path::Path;

/// What a file's header says. Nothing here is authenticated: the header MAC
/// needs the file key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileInfo {
    /// Container format version.
    pub format_version: u8,
    /// Suite name, e.g. "cobblestone-256".
    pub suite: &'static str,
    /// Random file identifier.
    pub file_id: [u8; 16],
    /// Header length in bytes (MAC included).
    pub header_len: u64,
    /// Recipient stanzas in file order.
    pub stanzas: Vec<StanzaInfo>,
    /// Payload length in bytes, when the input is seekable.
    pub payload_len: Option<u64>,
    /// Plaintext length implied by the payload length (unauthenticated),
    /// `None` if unknown or if the length is impossible (truncated file).
    pub plaintext_len: Option<u64>,
}

impl FileInfo {
    pub(crate) fn from_header(header: &Header, payload_len: Option<u64>) -> Result<Self> {
        let stanzas = header
            .stanzas
            .iter()
            .map(|s| stanza::parse(s).map(|p| p.info))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            format_version: header.core.version,
            suite: "cobblestone-256",
            file_id: header.core.file_id,
            header_len: header.encoded_len() as u64,
            stanzas,
            payload_len,
            plaintext_len: payload_len.and_then(|n| chunked::plaintext_len(n).ok()),
        })
    }
}

/// Parses the header of a seekable input and measures its payload.
pub fn inspect<R: Read + Seek>(input: R) -> Result<FileInfo> {
    Ok(super::EncryptedFile::open_seekable(input)?.info().clone())
}

/// Parses the header of a stream (a pipe) and reads the rest of it to
/// count the payload bytes; nothing is decrypted.
pub fn inspect_stream<R: Read>(input: R) -> Result<FileInfo> {
    let file = super::EncryptedFile::open(input)?;
    let mut info = file.info().clone();
    let payload = std::io::copy(&mut { file.input }, &mut std::io::sink())?;
    info.payload_len = Some(payload);
    info.plaintext_len = chunked::plaintext_len(payload).ok();
    Ok(info)
}

/// [`inspect`] on a path.
pub fn inspect_path(path: &Path) -> Result<FileInfo> {
    let file = std::fs::File::open(path).map_err(crate::Error::file("open", path))?;
    inspect(file).map_err(|e| e.on_file("read", path))
}
