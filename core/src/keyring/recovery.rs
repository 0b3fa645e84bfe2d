//! Recovery keys: 256 random bits that a person writes on paper and types
//! back.
//!
//! Text form: `SRRK-` followed by 11 groups of 5 Crockford base32 symbols,
//! joined by dashes. The 55 symbols encode the 32 key bytes followed by a
//! 2-byte checksum (272 bits, padded with 3 zero bits). The checksum is the
//! first two bytes of HMAC-SHA-256 keyed with [`CHECKSUM_LABEL`] over the key.
//!
//! Parsing ignores case, whitespace and dashes, accepts the text with or
//! without the `SRRK` prefix, reads `O` as `0` and `I`/`L` as `1`, and
//! reports a mistyped key as [`Error::InvalidRecoveryKey`].

use crate::crypto::kdf::{ct_eq, hmac_sha256};
use crate::error::{Error, Result};
use crate::secret::SecretKey;
use std::fmt;
use std::str::FromStr;
use zeroize::{Zeroize, Zeroizing};

/// HMAC key of the recovery-key checksum.
pub(crate) const CHECKSUM_LABEL: &[u8] = b"strongroom/v1/keyring/recovery-key-checksum";
/// Prefix of the text form.
const PREFIX: &str = "SRRK";
/// Crockford base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Key bytes plus checksum bytes.
const RAW_LEN: usize = 34;
/// Symbols in the text form, without prefix and dashes: ceil(272 / 5).
const SYMBOLS: usize = 55;
/// Symbols per dash-separated group.
const GROUP: usize = 5;

/// A recovery key: an alternative protector of a keyring's master key.
///
/// The key is wiped on drop, never appears in `Debug`, and has no `Display`:
/// the only way to see it is [`RecoveryKey::dangerous_display`], which the
/// caller shows exactly once.
pub struct RecoveryKey(SecretKey);

impl RecoveryKey {
    /// A fresh random recovery key.
    pub(crate) fn random() -> Self {
        Self(SecretKey::random())
    }

    /// Wraps fixed bytes (the worked example of the specification).
    #[cfg(test)]
    pub(crate) fn from_array(bytes: [u8; 32]) -> Self {
        Self(SecretKey::from_array(bytes))
    }

    /// The key material, used to derive the key-encryption key.
    pub(crate) fn secret(&self) -> &SecretKey {
        &self.0
    }

    /// The text form, `SRRK-XXXXX-...-XXXXX`, to print once for the user.
    ///
    /// This reveals the secret: whoever reads it can unlock the keyring.
    /// The returned string is wiped when dropped.
    pub fn dangerous_display(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; RAW_LEN]);
        raw[..32].copy_from_slice(self.0.expose());
        raw[32..].copy_from_slice(&checksum(self.0.expose()));
        let symbols = encode_base32(&raw[..]);
        let mut out = Zeroizing::new(String::with_capacity(PREFIX.len() + SYMBOLS + SYMBOLS / GROUP));
        out.push_str(PREFIX);
        for group in symbols.chunks(GROUP) {
            out.push('-');
            for &s in group {
                out.push(char::from(s));
            }
        }
        out
    }

    /// Parses the text form typed by a person (see the module documentation).
    pub fn parse(text: &str) -> Result<Self> {
        let mut symbols: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(SYMBOLS + PREFIX.len()));
        for c in text.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let upper = c.to_ascii_uppercase();
            if !upper.is_ascii_alphanumeric() || upper == 'U' {
                return Err(Error::InvalidRecoveryKey(invalid_char_message(c)));
            }
            if symbols.len() >= SYMBOLS + PREFIX.len() {
                return Err(Error::InvalidRecoveryKey("wrong length"));
            }
            // `upper` is ASCII alphanumeric here, so the cast is lossless.
            symbols.push(upper as u8);
        }
        let body: &[u8] = if symbols.len() == SYMBOLS + PREFIX.len() && symbols.starts_with(PREFIX.as_bytes())
        {
            symbols.get(PREFIX.len()..).unwrap_or_default()
        } else {
            &symbols
        };
        if body.len() != SYMBOLS {
            return Err(Error::InvalidRecoveryKey("wrong length"));
        }
        let raw = decode_base32(body)?;
        let (key, sum) = raw.split_at(32);
        if !ct_eq(sum, &checksum(key)) {
            return Err(Error::InvalidRecoveryKey("checksum mismatch"));
        }
        let key = SecretKey::from_slice(key).ok_or(Error::InvalidRecoveryKey("wrong length"))?;
        Ok(Self(key))
    }
}

impl FromStr for RecoveryKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey([REDACTED])")
    }
}

/// First two bytes of HMAC-SHA-256(CHECKSUM_LABEL, key).
fn checksum(key: &[u8]) -> [u8; 2] {
    let mac = hmac_sha256(CHECKSUM_LABEL, &[key]);
    [mac[0], mac[1]]
}

/// Crockford base32 of `RAW_LEN` bytes, most significant bit first, the last
/// symbol padded with zero bits.
fn encode_base32(raw: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(SYMBOLS));
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in raw {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize]);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize]);
    }
    acc.zeroize();
    out
}

/// Value of one upper-case symbol, with the Crockford aliases O, I and L.
fn symbol_value(s: u8) -> Option<u32> {
    let v = match s {
        b'0'..=b'9' => s - b'0',
        b'O' => 0,
        b'I' | b'L' => 1,
        _ => ALPHABET.iter().position(|&a| a == s)? as u8,
    };
    Some(u32::from(v))
}

/// Inverse of [`encode_base32`]; non-zero padding bits count as a checksum
/// failure (they can only come from a typo in the last symbol).
fn decode_base32(symbols: &[u8]) -> Result<Zeroizing<[u8; RAW_LEN]>> {
    let mut out = Zeroizing::new([0u8; RAW_LEN]);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut n = 0usize;
    for &s in symbols {
        let v = symbol_value(s).ok_or(Error::InvalidRecoveryKey("invalid character"))?;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            let slot = out.get_mut(n).ok_or(Error::InvalidRecoveryKey("wrong length"))?;
            *slot = (acc >> bits) as u8;
            n += 1;
            acc &= (1 << bits) - 1;
        }
    }
    let padding_is_zero = acc == 0;
    acc.zeroize();
    if n != RAW_LEN {
        return Err(Error::InvalidRecoveryKey("wrong length"));
    }
    if !padding_is_zero {
        return Err(Error::InvalidRecoveryKey("checksum mismatch"));
    }
    Ok(out)
}

/// A static message naming the offending character (the error type holds a
/// `&'static str`). Every invalid printable ASCII character gets its own
/// message; anything else a generic one.
fn invalid_char_message(c: char) -> &'static str {
    macro_rules! by_char {
        ($($ch:literal)*) => {
            match c {
                $($ch => concat!("invalid character '", $ch, "'"),)*
                _ => "invalid character (only letters and digits are used)",
            }
        };
    }
    by_char!(
        'U' 'u' '!' '"' '#' '$' '%' '&' '\'' '(' ')' '*' '+' ',' '.' '/' ':' ';' '<' '='
        '>' '?' '@' '[' '\\' ']' '^' '_' '`' '{' '|' '}' '~'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_shape() {
        let k = RecoveryKey::random();
        let text = k.dangerous_display();
        assert!(text.starts_with("SRRK-"));
        assert_eq!(text.len(), 4 + 11 * 6);
        assert!(text.split('-').skip(1).all(|g| g.len() == 5));
        let back = RecoveryKey::parse(&text).unwrap();
        assert_eq!(back.secret().expose(), k.secret().expose());
    }

    #[test]
    fn parse_is_forgiving_about_case_spaces_and_aliases() {
        let k = RecoveryKey::from_array([0u8; 32]);
        let text = k.dangerous_display().to_string();
        // Zero bytes encode as '0', which may be typed as 'o' or 'O'.
        let sloppy = text.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(RecoveryKey::parse(&sloppy).unwrap().secret().expose(), &[0u8; 32]);
        // Without the prefix, without separators.
        let bare: String = text.chars().skip(5).filter(|&c| c != '-').collect();
        assert_eq!(RecoveryKey::parse(&bare).unwrap().secret().expose(), &[0u8; 32]);

        let ones = RecoveryKey::from_array([0xff; 32]);
        let t = ones.dangerous_display().to_string();
        assert!(RecoveryKey::parse(&t.replace('1', "l")).is_ok());
        assert!(RecoveryKey::parse(&t.replace('1', "I")).is_ok());
    }

    #[test]
    fn mistyped_keys_are_reported() {
        let k = RecoveryKey::from_array([0x5a; 32]);
        let text = k.dangerous_display().to_string();
        // Change one symbol of the body.
        let mut chars: Vec<char> = text.chars().collect();
        let pos = 7;
        chars[pos] = if chars[pos] == '2' { '3' } else { '2' };
        let typo: String = chars.iter().collect();
        assert!(matches!(
            RecoveryKey::parse(&typo),
            Err(Error::InvalidRecoveryKey("checksum mismatch"))
        ));
        assert!(matches!(
            RecoveryKey::parse(&text[..text.len() - 1]),
            Err(Error::InvalidRecoveryKey("wrong length"))
        ));
        assert!(matches!(
            RecoveryKey::parse(&format!("{text}A")),
            Err(Error::InvalidRecoveryKey("wrong length"))
        ));
        let with_u: String = text
            .chars()
            .enumerate()
            .map(|(i, c)| if i == 9 { 'U' } else { c })
            .collect();
        assert!(matches!(
            RecoveryKey::parse(&with_u),
            Err(Error::InvalidRecoveryKey("invalid character 'U'"))
        ));
        assert!(matches!(
            RecoveryKey::parse(&with_u.to_lowercase()),
            Err(Error::InvalidRecoveryKey("invalid character 'u'"))
        ));
        assert!(matches!(
            RecoveryKey::parse("SRRK-abcd?"),
            Err(Error::InvalidRecoveryKey("invalid character '?'"))
        ));
        assert!(matches!(
            RecoveryKey::parse("SRRK-é"),
            Err(Error::InvalidRecoveryKey(m)) if m.starts_with("invalid character")
        ));
        assert!(matches!(
            RecoveryKey::parse(""),
            Err(Error::InvalidRecoveryKey("wrong length"))
        ));
        // A very long input is refused without growing without bound.
        assert!(matches!(
            RecoveryKey::parse(&"A".repeat(100_000)),
            Err(Error::InvalidRecoveryKey("wrong length"))
        ));
    }

    #[test]
    fn every_single_symbol_typo_is_caught() {
        // A fixed key keeps this deterministic: a 16-bit checksum lets about
        // one random typo in 65536 through, and for this key none of the
        // 1705 single-symbol substitutions does.
        let k = RecoveryKey::from_array([0x5a; 32]);
        let text = k.dangerous_display().to_string();
        let chars: Vec<char> = text.chars().collect();
        for pos in 5..chars.len() {
            if chars[pos] == '-' {
                continue;
            }
            for &sym in ALPHABET {
                let sym = char::from(sym);
                if sym == chars[pos] {
                    continue;
                }
                let mut c = chars.clone();
                c[pos] = sym;
                let typo: String = c.iter().collect();
                assert!(
                    matches!(
                        RecoveryKey::parse(&typo),
                        Err(Error::InvalidRecoveryKey("checksum mismatch"))
                    ),
                    "typo at {pos} to {sym} not caught"
                );
            }
        }
    }

    #[test]
    fn debug_is_redacted() {
        let k = RecoveryKey::from_array([0xab; 32]);
        let dbg = format!("{k:?}");
        assert_eq!(dbg, "RecoveryKey([REDACTED])");
        let text = k.dangerous_display();
        assert!(!dbg.contains(&text[5..10]));
    }
}
