//! Push-style decryption of a whole file: the caller hands over the bytes
//! as they arrive (memory given by a C or Python caller, network buffers).

use super::header::Header;
use super::info::FileInfo;
use super::recipients::{Identity, unwrap_file_key};
use crate::chunked::{ChunkedOpener, PREFIX_LEN};
use crate::error::{Error, Result};

/// Decrypts a strongroom file given piece by piece. The header is collected
/// until complete, then opened with the identities given to that
/// [`update`](Self::update); from then on each whole chunk's plaintext is
/// released, authenticated, as soon as the chunk has arrived.
/// [`finish`](Self::finish) opens the final chunk: only its `Ok` means the
/// whole file authenticated.
///
/// **Threads:** `Send` and `Sync`; one decryptor is used by one thread at a
/// time (`&mut self`).
#[derive(Debug, Default)]
pub struct PushDecryptor {
    /// Header and payload prefix bytes, until the payload can start.
    head: Vec<u8>,
    opener: Option<ChunkedOpener>,
    info: Option<FileInfo>,
    failed: Option<&'static str>,
}

impl PushDecryptor {
    /// A decryptor waiting for the first bytes of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// The header's information, once the header has been read and opened.
    pub fn info(&self) -> Option<&FileInfo> {
        self.info.as_ref()
    }

    /// The most plaintext an [`update`](Self::update) with `in_len` more
    /// bytes can append (with 0: what [`finish`](Self::finish) can append).
    pub fn output_bound(&self, in_len: usize) -> usize {
        match &self.opener {
            Some(o) => o.output_bound(in_len),
            // Everything could be payload after a header of at least 8 bytes.
            None => ChunkedOpener::bound_for(self.head.len().saturating_add(in_len), in_len == 0),
        }
    }

    /// Takes the next `input` bytes and appends to `out` the plaintext of
    /// every chunk they complete. `identities` are used once, by the update
    /// that completes the header (and payload prefix). On any failure `out`
    /// is left as it was and the decryptor refuses further input.
    pub fn update(&mut self, input: &[u8], identities: &[Identity<'_>], out: &mut Vec<u8>) -> Result<()> {
        if let Some(why) = self.failed {
            return Err(Error::InvalidArgument(format!(
                "the decryptor failed earlier: {why}"
            )));
        }
        let result = self.step(input, identities, out);
        if result.is_err() {
            self.failed = Some("an earlier update returned an error");
        }
        result
    }

    fn step(&mut self, input: &[u8], identities: &[Identity<'_>], out: &mut Vec<u8>) -> Result<()> {
        if let Some(o) = self.opener.as_mut() {
            return o.update(input, out);
        }
        self.head.extend_from_slice(input);
        let header = match Header::read_from(&self.head[..]) {
            Ok(h) => h,
            Err(Error::Truncated(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let start = header.encoded_len();
        if self.head.len() < start + PREFIX_LEN {
            return Ok(());
        }
        let file_key = unwrap_file_key(&header, identities)?;
        let prefix: &[u8; PREFIX_LEN] = self.head[start..start + PREFIX_LEN]
            .try_into()
            .expect("length checked");
        let mut opener = ChunkedOpener::new(file_key.expose(), prefix, &header.core.to_bytes())?;
        opener.update(&self.head[start + PREFIX_LEN..], out)?;
        self.info = Some(FileInfo::from_header(&header, None)?);
        self.opener = Some(opener);
        self.head = Vec::new();
        Ok(())
    }

    /// Ends the file: opens the final chunk and appends its plaintext to
    /// `out`. A file cut short gives [`Error::Truncated`].
    pub fn finish(self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(why) = self.failed {
            return Err(Error::InvalidArgument(format!(
                "the decryptor failed earlier: {why}"
            )));
        }
        match self.opener {
            Some(o) => o.finish(out),
            None => match Header::read_from(&self.head[..]) {
                Err(e) => Err(e),
                Ok(_) => Err(Error::Truncated("payload shorter than its 56-byte prefix")),
            },
        }
    }
}
