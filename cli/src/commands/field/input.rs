//! Input of the `field` commands: the arguments or the lines of standard
//! input, split into row keys and values (or tokens), and errors that name
//! the line (never its content).

use crate::args::{Cli, FieldRowArgs, UnlockArgs};
use crate::exit::{usage, usage_hint};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Read;
use strongroom::Error;
use strongroom::field::{TEXT_PREFIX, Token, Value, ValueType};
use zeroize::Zeroizing;

/// First size of the standard input buffer.
const STDIN_BUFFER: usize = 64 * 1024;

/// Standard input, read whole, when there are no arguments. Refused when
/// the keyring secret is to be read from standard input too.
pub fn read_stdin_unless(args: &[String], unlock: Option<&UnlockArgs>) -> Result<Option<Zeroizing<Vec<u8>>>> {
    if !args.is_empty() {
        return Ok(None);
    }
    if unlock.is_some_and(UnlockArgs::uses_stdin) {
        return Err(usage(
            "standard input carries the input lines; read the keyring passphrase from another descriptor or a file",
        ));
    }
    let data = read_all(std::io::stdin().lock()).context("cannot read standard input")?;
    Ok(Some(data))
}

/// Reads `reader` to its end into a buffer that is wiped on drop. A full
/// buffer is copied into one twice as large and then wiped, instead of
/// being reallocated, so no copy of the input is left in freed memory.
fn read_all(mut reader: impl Read) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(vec![0u8; STDIN_BUFFER]);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            let mut bigger = Zeroizing::new(vec![0u8; 2 * buf.len()]);
            bigger[..filled].copy_from_slice(&buf[..filled]);
            buf = bigger;
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Refuses a value that is one of the command's options. Values may start
/// with `-` (`-5`, `-inf`), so everything after the first value is a
/// value, and an option there would be silently taken as one. Skipped when
/// the command line has `--`: the values are then meant as given.
pub fn check_options_first(subcommand: &str, values: &[String]) -> Result<()> {
    if values.is_empty() || std::env::args_os().any(|a| a == "--") {
        return Ok(());
    }
    let mut cli = Cli::command();
    cli.build();
    let cmd = cli
        .find_subcommand("field")
        .and_then(|f| f.find_subcommand(subcommand))
        .expect("a field subcommand");
    // The option's name only: what follows `=` may be a secret value.
    let option_name = |v: &'_ str| -> Option<String> {
        let name = v.split_once('=').map_or(v, |(name, _)| name);
        cmd.get_arguments()
            .any(|arg| {
                arg.get_long().is_some_and(|l| name.strip_prefix("--") == Some(l))
                    || arg
                        .get_short()
                        .is_some_and(|s| name.strip_prefix('-') == Some(s.encode_utf8(&mut [0; 4])))
            })
            .then(|| name.to_string())
    };
    match values.iter().find_map(|v| option_name(v)) {
        Some(option) => Err(usage_hint(
            format!("the option {option} comes after a value, where it would be read as a value"),
            "give the options before the values; values that start with - go after `--`",
        )),
        None => Ok(()),
    }
}

/// Where the items came from, for error messages.
#[derive(Debug, Clone, Copy)]
enum Origin {
    Args,
    Stdin,
}

/// The raw input items (the arguments, or the lines of standard input)
/// and the NULL marker.
pub struct Items<'a> {
    origin: Origin,
    raw: Vec<&'a [u8]>,
    null: Option<&'a str>,
}

/// One item, split: its row key and its content (`None`: the NULL marker).
pub struct Line<'a> {
    /// The row key, from `--rows` or `--row`.
    pub row: Option<&'a [u8]>,
    /// The value or token.
    pub text: Option<&'a [u8]>,
}

impl<'a> Items<'a> {
    /// The lines of `stdin` if it was read, else the arguments; `null` is
    /// the `--null` marker.
    pub fn new(args: &'a [String], stdin: &'a Option<Zeroizing<Vec<u8>>>, null: Option<&'a str>) -> Self {
        let (origin, raw) = match stdin {
            Some(data) => (Origin::Stdin, split_lines(data)),
            None => (Origin::Args, args.iter().map(|a| a.as_bytes()).collect()),
        };
        Items { origin, raw, null }
    }

    /// `err`, prefixed with the item's position ("line 3").
    pub fn error_at(&self, i: usize, err: impl Into<anyhow::Error>) -> anyhow::Error {
        let label = match self.origin {
            Origin::Args => format!("argument {}", i + 1),
            Origin::Stdin => format!("line {}", i + 1),
        };
        err.into().context(label)
    }

    /// The values of per-item results, or the first error with its position.
    pub fn all_ok<T>(&self, results: Vec<strongroom::Result<T>>) -> Result<Vec<T>> {
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.map_err(|e| self.error_at(i, e)))
            .collect()
    }

    /// For a batch call that failed as a whole: the failing item's error
    /// with its position ([`Error::Batch`]), else the batch's error.
    pub fn batch_error(&self, batch: Error) -> anyhow::Error {
        match batch {
            Error::Batch { index, source } => self.error_at(index, *source),
            other => other.into(),
        }
    }

    /// Splits each item into its row key (`--rows`: the bytes before the
    /// first tab; `--row`: the one key) and content, `None` where it
    /// equals the NULL marker.
    pub fn lines(&self, rows: Option<&'a FieldRowArgs>) -> Result<Vec<Line<'a>>> {
        self.split(rows, false)
    }

    /// [`Items::lines`] for tokens: a `\r` at the end of a line is ignored
    /// (as [`parse_tokens`] does), also when comparing with the NULL marker.
    pub fn token_lines(&self, rows: Option<&'a FieldRowArgs>) -> Result<Vec<Line<'a>>> {
        self.split(rows, true)
    }

    fn split(&self, rows: Option<&'a FieldRowArgs>, strip_cr: bool) -> Result<Vec<Line<'a>>> {
        let single = rows.and_then(|r| r.row.as_deref()).map(str::as_bytes);
        if single.is_some() && self.raw.len() > 1 {
            return Err(usage_hint(
                "--row binds a single value",
                "for several, give ROWKEY<TAB>VALUE lines with --rows",
            ));
        }
        let split = rows.is_some_and(|r| r.rows);
        let null = self.null.map(str::as_bytes);
        let line = |i: usize, raw: &'a [u8]| {
            let (row, content) = if split {
                let tab = raw.iter().position(|&b| b == b'\t').ok_or_else(|| {
                    self.error_at(i, usage("expected ROWKEY<TAB>VALUE, and the line has no tab"))
                })?;
                (Some(&raw[..tab]), &raw[tab + 1..])
            } else {
                (single, raw)
            };
            let content = match content.strip_suffix(b"\r") {
                Some(stripped) if strip_cr => stripped,
                _ => content,
            };
            let text = (null != Some(content)).then_some(content);
            Ok(Line { row, text })
        };
        self.raw.iter().enumerate().map(|(i, raw)| line(i, raw)).collect()
    }

    /// The output line of each result: NULL as the marker. Refuses what
    /// lines cannot show unambiguously: NULL without a marker, a line
    /// break, a value equal to the marker.
    pub fn output_lines<'s>(&self, cells: &[Option<&'s str>]) -> Result<Vec<&'s str>>
    where
        'a: 's,
    {
        let line = |i: usize, cell: Option<&'s str>| match (cell, self.null) {
            (None, Some(marker)) => Ok(marker),
            (None, None) => Err(self.error_at(
                i,
                usage_hint(
                    "the result is NULL, which lines cannot show without a marker",
                    "give --null MARKER, or use --json",
                ),
            )),
            (Some(s), _) if s.contains('\n') => Err(self.error_at(
                i,
                usage_hint(
                    "the value contains a line break, which lines cannot show",
                    "use --json",
                ),
            )),
            (Some(s), Some(marker)) if s == marker => Err(self.error_at(
                i,
                usage_hint(
                    "the value equals the --null marker",
                    "choose another marker, or use --json",
                ),
            )),
            (Some(s), _) => Ok(s),
        };
        cells.iter().enumerate().map(|(i, c)| line(i, *c)).collect()
    }
}

/// Lines end at `\n`; a final line needs none; no input has no line.
fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    data.strip_suffix(b"\n")
        .unwrap_or(data)
        .split(|&b| b == b'\n')
        .collect()
}

/// The row key of every line (with `--rows` or `--row`), or `None`.
pub fn row_keys<'a>(lines: &[Line<'a>]) -> Option<Vec<&'a [u8]>> {
    lines.iter().map(|l| l.row).collect()
}

/// The values of `lines` in the text form of `ty`.
pub fn parse_values(items: &Items<'_>, lines: &[Line<'_>], ty: ValueType) -> Result<Vec<Option<Value>>> {
    let parse = |text: &[u8]| {
        let text = std::str::from_utf8(text).map_err(|_| Error::InvalidValue {
            value_type: ty.name(),
            reason: "not UTF-8 text",
        })?;
        Value::parse(ty, text)
    };
    parse_each(items, lines, parse)
}

/// The tokens of `lines`, headers checked.
pub fn parse_tokens(items: &Items<'_>, lines: &[Line<'_>]) -> Result<Vec<Option<Token>>> {
    parse_each(items, lines, parse_token)
}

fn parse_each<T>(
    items: &Items<'_>,
    lines: &[Line<'_>],
    parse: impl Fn(&[u8]) -> strongroom::Result<T>,
) -> Result<Vec<Option<T>>> {
    let each = |(i, line): (usize, &Line<'_>)| {
        line.text
            .map(&parse)
            .transpose()
            .map_err(|e| items.error_at(i, e))
    };
    lines.iter().enumerate().map(each).collect()
}

/// A token in the text form (`sr1.`…) or as hex of the binary form (with
/// an optional `\x` prefix); a trailing `\r` is ignored.
fn parse_token(raw: &[u8]) -> strongroom::Result<Token> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let malformed = |what, detail: &str| Error::Malformed {
        what,
        detail: detail.to_string(),
    };
    if raw.starts_with(TEXT_PREFIX.as_bytes()) {
        let text = std::str::from_utf8(raw)
            .map_err(|_| malformed("field token text", "not canonical unpadded base64url"))?;
        return Token::from_text(text);
    }
    if raw.is_empty() {
        return Err(malformed("field token", "empty"));
    }
    let digits = raw.strip_prefix(b"\\x").unwrap_or(raw);
    let bytes = hex::decode(digits).map_err(|_| {
        malformed(
            "field token",
            "expected the text form (sr1.…) or hex of the binary form",
        )
    })?;
    Token::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_newlines() {
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"\n"), [b"" as &[u8]]);
        assert_eq!(split_lines(b"a\n\nb"), [b"a" as &[u8], b"", b"b"]);
        assert_eq!(split_lines(b"a\r\nb\n"), [b"a\r" as &[u8], b"b"]);
    }

    #[test]
    fn reads_beyond_the_first_buffer() {
        let data: Vec<u8> = (0..3 * STDIN_BUFFER + 7).map(|i| i as u8).collect();
        assert_eq!(*read_all(&data[..]).unwrap(), data);
        assert!(read_all(&b""[..]).unwrap().is_empty());
    }

    #[test]
    fn tokens_in_either_form() {
        let token = Token::from_bytes([&[1u8, 2, 0, 0, 0, 7][..], &[0xab; 17]].concat()).unwrap();
        let hex = hex::encode(token.as_bytes());
        for form in [
            token.to_text(),
            format!("{}\r", token.to_text()),
            hex.clone(),
            format!("\\x{hex}"),
            hex.to_uppercase(),
        ] {
            assert_eq!(parse_token(form.as_bytes()).unwrap(), token, "{form}");
        }
        for bad in ["", "sr1.!!", "zz", "abc", "sr1"] {
            assert!(
                matches!(parse_token(bad.as_bytes()), Err(Error::Malformed { .. })),
                "{bad}"
            );
        }
        assert!(matches!(parse_token(b"0102"), Err(Error::Truncated(_))));
    }
}
