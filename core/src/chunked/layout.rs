//! Length arithmetic between plaintext and ciphertext.

use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_CHUNKS, PREFIX_LEN};
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};

/// Ciphertext length (prefix included) of a message of `plaintext_len` bytes.
pub fn ciphertext_len(plaintext_len: u64) -> Result<u64> {
    let full = plaintext_len / CHUNK_SIZE as u64;
    if full >= MAX_CHUNKS {
        return Err(Error::MessageTooLong);
    }
    let rem = plaintext_len % CHUNK_SIZE as u64;
    Ok(PREFIX_LEN as u64 + full * ENCRYPTED_CHUNK_SIZE as u64 + rem + TAG_LEN as u64)
}

/// Plaintext length of a message whose ciphertext (prefix included) is
/// `ciphertext_len` bytes, or the reason that length is impossible.
pub fn plaintext_len(ciphertext_len: u64) -> Result<u64> {
    let body = ciphertext_len
        .checked_sub(PREFIX_LEN as u64)
        .ok_or(Error::Truncated("payload shorter than its 56-byte prefix"))?;
    let (full, last) = split_body(body)?;
    Ok(full * CHUNK_SIZE as u64 + (last - TAG_LEN as u64))
}

/// Splits a chunk body length into (number of full chunks, encrypted length
/// of the final short chunk).
pub(crate) fn split_body(body: u64) -> Result<(u64, u64)> {
    let full = body / ENCRYPTED_CHUNK_SIZE as u64;
    let last = body % ENCRYPTED_CHUNK_SIZE as u64;
    if last == 0 {
        return Err(Error::Truncated("the short final chunk is missing"));
    }
    if last < TAG_LEN as u64 {
        return Err(Error::Truncated("final chunk shorter than its tag"));
    }
    if full >= MAX_CHUNKS {
        return Err(Error::MessageTooLong);
    }
    Ok((full, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0u64, 1, 16383, 16384, 16385, 32768, 1 << 30] {
            assert_eq!(plaintext_len(ciphertext_len(n).unwrap()).unwrap(), n);
        }
        assert_eq!(ciphertext_len(0).unwrap(), 72);
        assert_eq!(ciphertext_len(16384).unwrap(), 56 + 16400 + 16);
    }

    #[test]
    fn impossible_lengths() {
        assert!(matches!(plaintext_len(55), Err(Error::Truncated(_))));
        assert!(matches!(plaintext_len(56), Err(Error::Truncated(m)) if m.contains("missing")));
        assert!(matches!(plaintext_len(56 + 15), Err(Error::Truncated(m)) if m.contains("tag")));
        assert!(matches!(plaintext_len(56 + 16400), Err(Error::Truncated(m)) if m.contains("missing")));
        assert!(matches!(plaintext_len(56 + 16400 + 3), Err(Error::Truncated(_))));
    }
}
