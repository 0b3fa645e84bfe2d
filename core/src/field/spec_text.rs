//! The text form of a [`ColumnSpec`]: how interfaces without structured
//! options (SQL functions, configuration strings) state a column's
//! settings, with the command line's option names, so that one column is
//! described the same way everywhere.
//!
//! See [`ColumnSpec::parse`] for the words.

use super::cipher::{ColumnSpec, Mode};
use super::normalize::Normalizer;
use super::value::ValueType;
use crate::error::{Error, Result};
use std::fmt;

impl ColumnSpec {
    /// Parses the text form of a column's settings: words separated by
    /// commas or spaces, in any order, named as the command line's
    /// options.
    ///
    /// | word | meaning | command-line option |
    /// |---|---|---|
    /// | `random` / `deterministic` | the mode (default `random`) | `--deterministic` |
    /// | `type=TYPE` | the value type (`text`, `bytes`, `int`, ...) | `--type` |
    /// | `hide-null` | NULL is encrypted as a value | `--hide-null` |
    /// | `unlinkable-batches` | every token of a batch gets its own nonce prefix (random mode) | `--unlinkable-batches` |
    /// | `accept-mode=MODE` | a migration window: also read tokens of MODE | `--accept-mode` |
    /// | `index=LEN` or `index=LEN:NORMALIZER` | a blind index | `--index-len`, `--normalizer` |
    ///
    /// The type is `default_type` unless a `type=` word names one. An
    /// unknown word or value is [`Error::InvalidArgument`] naming it; the
    /// settings are checked as [`FieldCipher::new`](super::FieldCipher::new)
    /// checks them. `Display` writes this form (every setting, canonical
    /// order), and parsing it gives the same spec back.
    ///
    /// ```
    /// use strongroom::field::{ColumnSpec, ValueType};
    /// let spec = ColumnSpec::parse("deterministic, type=int", ValueType::Text)?;
    /// assert_eq!(spec, ColumnSpec::new(ValueType::Int).deterministic());
    /// assert_eq!(spec.to_string(), "deterministic, type=int");
    /// # Ok::<(), strongroom::Error>(())
    /// ```
    pub fn parse(text: &str, default_type: ValueType) -> Result<ColumnSpec> {
        let bad = |word: &str, why: &str| Error::InvalidArgument(format!("column setting {word:?}: {why}"));
        let mut ty = default_type;
        let mut mode = None;
        let mut hide_null = false;
        let mut unlinkable = false;
        let mut accept = Vec::new();
        let mut index = None;
        for word in text.split([',', ' ', '\t', '\n']).filter(|w| !w.is_empty()) {
            let (key, value) = match word.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (word, None),
            };
            match (key, value) {
                ("random", None) => mode = Some(Mode::Random),
                ("deterministic", None) => mode = Some(Mode::Deterministic),
                ("hide-null", None) => hide_null = true,
                ("unlinkable-batches", None) => unlinkable = true,
                ("type", Some(v)) => {
                    ty = ValueType::from_name(v).ok_or_else(|| bad(word, "not a value type"))?;
                }
                ("accept-mode", Some(v)) => {
                    accept.push(mode_named(v).ok_or_else(|| bad(word, "not a mode"))?)
                }
                ("index", Some(v)) => {
                    let (len, norm) = v.split_once(':').unwrap_or((v, "none"));
                    let len: usize = len.parse().map_err(|_| bad(word, "the length is a number"))?;
                    let norm = Normalizer::from_name(norm).ok_or_else(|| bad(word, "not a normalizer"))?;
                    index = Some((len, norm));
                }
                _ => {
                    return Err(bad(
                        word,
                        "not a column setting (random, deterministic, type=, hide-null, unlinkable-batches, accept-mode=, index=)",
                    ));
                }
            }
        }
        let mut spec = ColumnSpec::new(ty);
        if mode == Some(Mode::Deterministic) {
            spec = spec.deterministic();
        }
        if hide_null {
            spec = spec.hide_null();
        }
        if unlinkable {
            spec = spec.unlinkable_batches();
        }
        for m in accept {
            spec = spec.accept_mode(m);
        }
        if let Some((len, norm)) = index {
            spec = spec.with_blind_index(len, norm);
        }
        spec.check()?;
        Ok(spec)
    }
}

fn mode_named(name: &str) -> Option<Mode> {
    [Mode::Random, Mode::Deterministic]
        .into_iter()
        .find(|m| m.name() == name)
}

impl fmt::Display for ColumnSpec {
    /// The text form, every setting written: `random, type=text`, then
    /// `hide-null`, `unlinkable-batches`, `accept-mode=...` and `index=LEN:NORMALIZER` when set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, type={}", self.mode.name(), self.value_type.name())?;
        if self.hide_null {
            f.write_str(", hide-null")?;
        }
        if self.unlinkable_batches {
            f.write_str(", unlinkable-batches")?;
        }
        for m in [Mode::Random, Mode::Deterministic] {
            if m != self.mode && self.accepts(m) {
                write!(f, ", accept-mode={}", m.name())?;
            }
        }
        if let Some(b) = &self.blind_index {
            write!(f, ", index={}:{}", b.len, b.normalizer.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_command_line_names_and_round_trips() {
        let s = ColumnSpec::parse("deterministic, type=int hide-null", ValueType::Text).unwrap();
        assert_eq!(s, ColumnSpec::new(ValueType::Int).deterministic().hide_null());
        let s = ColumnSpec::parse("accept-mode=deterministic,index=8:digits-only", ValueType::Text).unwrap();
        assert_eq!(
            s,
            ColumnSpec::new(ValueType::Text)
                .accept_mode(Mode::Deterministic)
                .with_blind_index(8, Normalizer::DigitsOnly)
        );
        assert_eq!(
            ColumnSpec::parse("", ValueType::Bytes).unwrap(),
            ColumnSpec::new(ValueType::Bytes)
        );
        for spec in [
            s,
            ColumnSpec::new(ValueType::Decimal).hide_null(),
            ColumnSpec::new(ValueType::Text).hide_null().unlinkable_batches(),
            ColumnSpec::new(ValueType::Bytes)
                .deterministic()
                .accept_mode(Mode::Random),
        ] {
            assert_eq!(
                ColumnSpec::parse(&spec.to_string(), ValueType::Text).unwrap(),
                spec,
                "{spec}"
            );
        }
        assert_eq!(
            ColumnSpec::new(ValueType::Text)
                .with_blind_index(8, Normalizer::None)
                .to_string(),
            "random, type=text, index=8:none"
        );
        assert_eq!(
            ColumnSpec::parse("unlinkable-batches", ValueType::Text).unwrap(),
            ColumnSpec::new(ValueType::Text).unlinkable_batches()
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for bad in [
            "determinstic",
            "type=integer",
            "accept-mode=both",
            "index=x",
            "index=8:upper",
            "index=64",
            "type=int index=8:digits-only",
            "deterministic unlinkable-batches",
            "unlinkable-batches=yes",
        ] {
            assert!(
                matches!(
                    ColumnSpec::parse(bad, ValueType::Text),
                    Err(Error::InvalidArgument(_))
                ),
                "{bad}"
            );
        }
    }
}
