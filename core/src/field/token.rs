//! Field tokens: the stored form of an encrypted value.
//!
//! ```text
//! random (suite 0x01):        01 | 01 | key version (u32 BE) | nonce (24) | ciphertext | tag (16)
//! deterministic (suite 0x02): 01 | 02 | key version (u32 BE) | SIV (16) | ciphertext
//! ```
//!
//! The ciphertext encrypts `type tag || body` (see [`super::value`]). The
//! text form is `sr1.` followed by the unpadded base64url encoding of the
//! binary token; the 6 header bytes encode to exactly the 8 characters
//! after the prefix, so SQL can select tokens by key version with a plain
//! prefix comparison.

use super::siv::SIV_LEN;
use super::xaes::XNONCE_LEN;
use crate::crypto::TAG_LEN;
use crate::error::{Error, Result};
use data_encoding::BASE64URL_NOPAD;
use std::fmt;

/// The token format version byte.
pub const TOKEN_VERSION: u8 = 0x01;
/// Length of the token header: version, suite, key version.
pub const HEADER_LEN: usize = 6;
/// Prefix of the text form.
pub const TEXT_PREFIX: &str = "sr1.";
/// Length of the text-form prefix plus the encoded header
/// (`sr1.` and 8 base64url characters).
pub const TEXT_HEADER_LEN: usize = TEXT_PREFIX.len() + 8;

/// The cipher suite of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// Random mode: XAES-256-GCM with a random 24-byte nonce.
    Xaes256Gcm,
    /// Deterministic mode: AES-SIV-CMAC-256 (RFC 5297, 512-bit key).
    Aes256Siv,
}

impl Suite {
    /// The suite byte.
    pub fn code(self) -> u8 {
        match self {
            Suite::Xaes256Gcm => 0x01,
            Suite::Aes256Siv => 0x02,
        }
    }

    /// Inverse of [`Suite::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(Suite::Xaes256Gcm),
            0x02 => Some(Suite::Aes256Siv),
            _ => None,
        }
    }

    /// Stable name: "xaes-256-gcm" or "aes-256-siv".
    pub fn name(self) -> &'static str {
        match self {
            Suite::Xaes256Gcm => "xaes-256-gcm",
            Suite::Aes256Siv => "aes-256-siv",
        }
    }

    /// Bytes a token of this suite adds to the plaintext body: header,
    /// nonce or SIV, tag, and the one-byte type tag.
    pub fn overhead(self) -> usize {
        HEADER_LEN + 1 + self.crypto_overhead()
    }

    /// Nonce and tag bytes (without header and type tag).
    fn crypto_overhead(self) -> usize {
        match self {
            Suite::Xaes256Gcm => XNONCE_LEN + TAG_LEN,
            Suite::Aes256Siv => SIV_LEN,
        }
    }

    /// Smallest valid token: the overhead with an empty body.
    pub fn min_token_len(self) -> usize {
        self.overhead()
    }
}

/// What a token's header says, readable without any key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TokenInfo {
    /// Token format version (1).
    pub version: u8,
    /// Cipher suite.
    pub suite: Suite,
    /// Keyring key version that encrypted it.
    pub key_version: u32,
}

impl TokenInfo {
    /// The 6 header bytes.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        header(self.suite, self.key_version)
    }

    /// The text form's first 12 characters for this header, e.g.
    /// `sr1.AQEAAAAD` for suite 1, key version 3: compare it with
    /// `substr(column, 1, 12)` in SQL.
    pub fn text_prefix(&self) -> String {
        let mut s = String::with_capacity(TEXT_HEADER_LEN);
        s.push_str(TEXT_PREFIX);
        BASE64URL_NOPAD.encode_append(&self.header(), &mut s);
        s
    }
}

/// The header bytes for `suite` and `key_version`.
pub fn header(suite: Suite, key_version: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = TOKEN_VERSION;
    h[1] = suite.code();
    h[2..].copy_from_slice(&key_version.to_be_bytes());
    h
}

/// Reads and checks a binary token's header and minimum length without
/// decrypting: [`Error::Truncated`], [`Error::UnsupportedVersion`] or
/// [`Error::UnsupportedSuite`] on failure.
pub fn inspect(token: &[u8]) -> Result<TokenInfo> {
    if token.len() < HEADER_LEN {
        return Err(Error::Truncated("field token"));
    }
    if token[0] != TOKEN_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "field token",
            version: token[0],
        });
    }
    let suite = Suite::from_code(token[1]).ok_or(Error::UnsupportedSuite(token[1]))?;
    if token.len() < suite.min_token_len() {
        return Err(Error::Truncated("field token"));
    }
    Ok(TokenInfo {
        version: token[0],
        suite,
        key_version: u32::from_be_bytes(token[2..6].try_into().expect("4 bytes")),
    })
}

/// Decodes the text form (`sr1.` + base64url without padding) to the
/// binary token and checks its header. A wrong prefix or bad base64url is
/// [`Error::Malformed`] with `what = "field token text"`.
pub fn decode_text(text: &str) -> Result<Vec<u8>> {
    let body = text
        .strip_prefix(TEXT_PREFIX)
        .ok_or_else(|| Error::malformed("field token text", "does not start with sr1."))?;
    let bytes = BASE64URL_NOPAD
        .decode(body.as_bytes())
        .map_err(|_| Error::malformed("field token text", "not canonical unpadded base64url"))?;
    inspect(&bytes)?;
    Ok(bytes)
}

/// Encodes a binary token in the text form.
pub fn encode_text(token: &[u8]) -> String {
    let mut s = String::with_capacity(TEXT_PREFIX.len() + BASE64URL_NOPAD.encode_len(token.len()));
    s.push_str(TEXT_PREFIX);
    BASE64URL_NOPAD.encode_append(token, &mut s);
    s
}

/// An encrypted field value. Holds a structurally valid token (header
/// checked); authenticity is checked only when decrypting.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(Vec<u8>);

impl Token {
    /// Wraps binary token bytes after checking the header ([`inspect`]).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Token> {
        let bytes = bytes.into();
        inspect(&bytes)?;
        Ok(Token(bytes))
    }

    /// Parses the text form ([`decode_text`]).
    pub fn from_text(text: &str) -> Result<Token> {
        decode_text(text).map(Token)
    }

    /// Wraps bytes produced by this crate (header known good).
    pub(crate) fn from_trusted(bytes: Vec<u8>) -> Token {
        debug_assert!(inspect(&bytes).is_ok());
        Token(bytes)
    }

    /// The binary form, for BLOB / bytea / VARBINARY columns.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The binary form, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The text form, for text columns: `sr1.` + base64url (no padding).
    pub fn to_text(&self) -> String {
        encode_text(&self.0)
    }

    /// The header fields.
    pub fn info(&self) -> TokenInfo {
        inspect(&self.0).expect("checked on construction")
    }

    /// Length of the binary form.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl AsRef<[u8]> for Token {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.info();
        f.debug_struct("Token")
            .field("suite", &info.suite.name())
            .field("key_version", &info.key_version)
            .field("len", &self.0.len())
            .finish()
    }
}

impl fmt::Display for Token {
    /// The text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_eight_text_chars() {
        for suite in [Suite::Xaes256Gcm, Suite::Aes256Siv] {
            for v in [0u32, 1, 3, 0xffff_ffff] {
                let info = TokenInfo {
                    version: 1,
                    suite,
                    key_version: v,
                };
                let prefix = info.text_prefix();
                assert_eq!(prefix.len(), TEXT_HEADER_LEN);
                let mut token = info.header().to_vec();
                token.resize(suite.min_token_len() + 5, 0xab);
                assert!(encode_text(&token).starts_with(&prefix));
                assert_eq!(decode_text(&encode_text(&token)).unwrap(), token);
            }
        }
        let info = TokenInfo {
            version: 1,
            suite: Suite::Xaes256Gcm,
            key_version: 3,
        };
        assert_eq!(info.text_prefix(), "sr1.AQEAAAAD");
    }

    #[test]
    fn overheads() {
        assert_eq!(Suite::Xaes256Gcm.overhead(), 47);
        assert_eq!(Suite::Aes256Siv.overhead(), 23);
    }
}
