//! Normalisers: map equivalent spellings of a text value to one string
//! before it is blind-indexed.
//!
//! Normalisers only apply to the blind index; the encrypted token always
//! holds the value exactly as given.

use std::borrow::Cow;

/// How a text value is normalised before blind indexing. Only
/// [`Normalizer::None`] is allowed for non-text columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Normalizer {
    /// The value as given (byte-exact).
    #[default]
    None,
    /// Leading and trailing white space (Unicode `White_Space`) removed,
    /// then Unicode full lower-case mapping (`toLowercase`, as Rust's
    /// `str::to_lowercase`, including the final-sigma rule). For e-mail
    /// addresses and user names.
    TrimLowercase,
    /// Unicode compatibility caseless form: `NFC(NFKD(CF(NFKD(CF(NFD(x))))))`
    /// where `CF` is full default case folding. Two strings normalise to
    /// the same output exactly when they are compatibility-caseless equal
    /// (Unicode D146). No trimming.
    NfkcCasefold,
    /// NFKC, then every character that is not an ASCII digit `0`-`9`
    /// removed (fullwidth digits become ASCII under NFKC). For phone and
    /// identity numbers written with spaces, dashes or parentheses.
    DigitsOnly,
}

impl Normalizer {
    /// Stable lower-case name: "none", "trim-lowercase", "nfkc-casefold",
    /// "digits-only".
    pub fn name(self) -> &'static str {
        match self {
            Normalizer::None => "none",
            Normalizer::TrimLowercase => "trim-lowercase",
            Normalizer::NfkcCasefold => "nfkc-casefold",
            Normalizer::DigitsOnly => "digits-only",
        }
    }

    /// Every normaliser.
    pub const ALL: [Normalizer; 4] = [
        Normalizer::None,
        Normalizer::TrimLowercase,
        Normalizer::NfkcCasefold,
        Normalizer::DigitsOnly,
    ];

    /// Parses [`Normalizer::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Normalizer::ALL.into_iter().find(|n| n.name() == name)
    }

    /// Normalises `text`; borrows when nothing changes. A new string holds
    /// plaintext: the caller wipes it.
    pub fn apply(self, text: &str) -> Cow<'_, str> {
        match self {
            Normalizer::None => Cow::Borrowed(text),
            Normalizer::TrimLowercase => trim_lowercase(text),
            Normalizer::NfkcCasefold => nfkc_casefold(text),
            Normalizer::DigitsOnly => digits_only(text),
        }
    }
}

fn trim_lowercase(text: &str) -> Cow<'_, str> {
    let t = text.trim_matches(char::is_whitespace);
    if t.is_ascii() {
        if t.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(t.to_ascii_lowercase())
        } else {
            Cow::Borrowed(t)
        }
    } else {
        Cow::Owned(t.to_lowercase())
    }
}

fn nfkc_casefold(text: &str) -> Cow<'_, str> {
    use caseless::Caseless;
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        // ASCII is NFKC-stable and folds to lower case.
        return if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        };
    }
    Cow::Owned(
        text.chars()
            .nfd()
            .default_case_fold()
            .nfkd()
            .default_case_fold()
            .nfkd()
            .nfc()
            .collect(),
    )
}

fn digits_only(text: &str) -> Cow<'_, str> {
    use unicode_normalization::UnicodeNormalization;
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(text);
    }
    if text.is_ascii() {
        return Cow::Owned(text.chars().filter(char::is_ascii_digit).collect());
    }
    Cow::Owned(text.chars().nfkc().filter(char::is_ascii_digit).collect())
}

#[cfg(test)]
mod tests {
    use super::Normalizer::*;

    #[test]
    fn examples() {
        assert_eq!(None.apply(" A "), " A ");
        assert_eq!(TrimLowercase.apply("  Alice@Example.COM\n"), "alice@example.com");
        assert_eq!(TrimLowercase.apply("\u{3000}ÉCOLE"), "école");
        assert_eq!(NfkcCasefold.apply("Straße"), "strasse");
        assert_eq!(NfkcCasefold.apply("ＡＢＣ"), "abc");
        assert_eq!(NfkcCasefold.apply("ﬁle"), "file");
        assert_eq!(NfkcCasefold.apply("e\u{301}"), "\u{e9}");
        assert_eq!(NfkcCasefold.apply("Ǆ"), NfkcCasefold.apply("ǆ"));
        assert_eq!(DigitsOnly.apply("+1 (555) 010-9999"), "15550109999");
        assert_eq!(DigitsOnly.apply("１２３-４"), "1234");
        assert_eq!(DigitsOnly.apply("abc"), "");
    }

    #[test]
    fn names_round_trip() {
        for n in super::Normalizer::ALL {
            assert_eq!(super::Normalizer::from_name(n.name()), Some(n));
        }
    }
}
