//! C2SP chunked encryption (<https://c2sp.org/chunked-encryption>),
//! Cobblestone-256 instantiation: AES-256-GCM, HKDF-SHA-512, 16 KiB chunks.
//!
//! Layout of a message: `salt (24) || commitment (32) || chunk 0 || ... ||
//! final chunk`, each chunk being AES-256-GCM ciphertext plus a 16-byte tag.
//! Every chunk but the last holds exactly 16 KiB of plaintext; the last holds
//! less (possibly nothing), which is what marks the end of the message.
//!
//! - [`ChunkedWriter`]: streaming encryption (`Write` + [`ChunkedWriter::finish`]).
//! - [`ChunkedReader`]: streaming decryption (`Read`).
//! - [`ChunkedSeekReader`]: random-access decryption (`Read + Seek`).
//! - [`ChunkedOpener`]: push-style decryption of ciphertext given piece by
//!   piece (for callers that are handed bytes rather than a reader).
//! - [`open_in_place`]: a whole message in a mutable buffer, decrypted
//!   where it lies (no second buffer; the fastest way when the message is
//!   in memory).
//! - [`ChunkedWriter::write_in_place`]: encryption that overwrites the
//!   caller's buffer instead of copying it.
//!
//! The commitment is checked before any chunk is decrypted, and no plaintext
//! leaves a chunk before that chunk authenticates. Memory the caller can
//! see (a buffer given to `read`, the message given to [`open_in_place`],
//! the vector an opener appends to) never holds a byte of a chunk before
//! that chunk authenticated, even while a call runs: the engines decrypt
//! before they compare tags, so chunks are opened in the core's own
//! memory (a ciphertext buffer or a scratch copy) and copied out once
//! they authenticated. Only buffers the core owns and hands out after
//! success (the seekable reader's chunk cache, the streaming reader's
//! batch buffer) are decrypted into directly.

#[cfg(test)]
mod exposure_tests;
mod in_place;
mod key;
mod layout;
mod opener;
mod parallel;
mod reader;
mod sealer;
mod seek;
mod writer;

pub use in_place::open_in_place;
pub use key::PayloadKey;
pub use layout::{ciphertext_len, plaintext_len};
pub use opener::ChunkedOpener;
pub use reader::ChunkedReader;
pub(crate) use sealer::Sealer;
pub use seek::ChunkedSeekReader;
pub use writer::ChunkedWriter;

use crate::crypto::TAG_LEN;

/// Plaintext bytes per full chunk.
pub const CHUNK_SIZE: usize = 16 * 1024;
/// Ciphertext bytes per full chunk (plaintext plus tag).
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;
/// Salt length.
pub const SALT_LEN: usize = 24;
/// Key commitment length.
pub const COMMITMENT_LEN: usize = 32;
/// Length of the `salt || commitment` prefix.
pub const PREFIX_LEN: usize = SALT_LEN + COMMITMENT_LEN;
/// Largest number of chunks in one message (2^38).
pub const MAX_CHUNKS: u64 = 1 << 38;
/// Reads until `buf` is full or the input ends; returns the bytes read
/// (fewer than `buf.len()` only at the end of the input).
pub(crate) fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match r.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// Chunks processed together in one parallel batch by the streaming types.
pub(crate) const BATCH_CHUNKS: usize = 128;
