//! Printing: human text or one JSON object, the progress bar, and the
//! shared descriptions of file headers and timestamps.

use crate::args::GlobalArgs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::cell::Cell;
use std::io::{IsTerminal, Write};
use strongroom::file::{FileInfo, StanzaInfo};
use zeroize::Zeroizing;

/// How results are shown.
#[derive(Debug)]
pub struct Output {
    json: bool,
    quiet: bool,
    no_progress: bool,
    /// Set while standard output carries data (a pipe): then reports go to
    /// standard error.
    stdout_busy: Cell<bool>,
}

impl Output {
    /// From the global options.
    pub fn new(global: &GlobalArgs) -> Self {
        Self {
            json: global.json,
            quiet: global.quiet,
            no_progress: global.no_progress,
            stdout_busy: Cell::new(false),
        }
    }

    /// Whether JSON output was asked for.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Marks standard output as carrying data.
    pub fn set_stdout_busy(&self) {
        self.stdout_busy.set(true);
    }

    fn write_line(&self, line: &str) {
        if self.stdout_busy.get() {
            eprintln!("{line}");
        } else {
            let mut out = std::io::stdout().lock();
            // A closed stdout must not turn a success into a panic.
            let _ = writeln!(out, "{line}");
        }
    }

    /// A result line for people (stdout; nothing in JSON or quiet mode).
    pub fn say(&self, line: impl AsRef<str>) {
        if !self.json && !self.quiet {
            self.write_line(line.as_ref());
        }
    }

    /// A result line that must be seen even with --quiet (not in JSON mode).
    pub fn always(&self, line: impl AsRef<str>) {
        if !self.json {
            self.write_line(line.as_ref());
        }
    }

    /// Advice on stderr (nothing in JSON or quiet mode).
    pub fn note(&self, line: impl AsRef<str>) {
        if !self.json && !self.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// The command's JSON object (only in JSON mode).
    pub fn json(&self, value: Value) {
        if self.json {
            self.write_line(&value.to_string());
        }
    }

    /// A JSON object already serialised (only in JSON mode).
    pub fn json_line(&self, line: &str) {
        if self.json {
            self.write_line(line);
        }
    }

    /// A line holding a secret, written straight to stdout without an
    /// intermediate string (shown even with --quiet; not in JSON mode).
    pub fn secret_line(&self, indent: &str, secret: &str) {
        if !self.json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{indent}{secret}");
            let _ = out.flush();
        }
    }

    /// A progress bar on stderr, if stderr is a terminal and progress is
    /// not disabled.
    pub fn progress(&self, label: &str, total: u64) -> Option<ProgressBar> {
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        self.progress_styled(label, Some(total), style)
    }

    /// A progress bar as [`Output::progress`], in `style` from its first
    /// frame (`total` `None`: a spinner), first drawn when it is first
    /// updated (no empty frame before any work).
    pub fn progress_styled(
        &self,
        label: &str,
        total: Option<u64>,
        style: ProgressStyle,
    ) -> Option<ProgressBar> {
        if self.quiet || self.no_progress || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        bar.set_style(style);
        bar.set_message(label.to_string());
        bar.set_draw_target(ProgressDrawTarget::stderr());
        Some(bar)
    }
}

/// Formats seconds since the Unix epoch as ISO 8601 UTC,
/// e.g. `2024-05-01T12:34:56Z` (the text form of a field timestamp; after
/// year 9999, the number of seconds).
pub fn iso8601(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(|micros| strongroom::field::Value::Timestamp(micros).to_text().ok())
        .map_or_else(
            || format!("{secs} seconds after 1970-01-01T00:00:00Z"),
            |mut text| std::mem::take(&mut *text),
        )
}

/// Size of the buffer of [`write_stdout`].
const STDOUT_BUFFER: usize = 64 * 1024;

/// Runs `write` against standard output through a buffer that is wiped
/// afterwards (what is written may be plaintext), then flushes. Errors,
/// such as a closed pipe, are returned: this output is the command's result.
pub fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut out = WipingWriter {
        inner: std::io::stdout().lock(),
        buf: Zeroizing::new(Vec::with_capacity(STDOUT_BUFFER)),
    };
    write(&mut out)?;
    out.flush()
}

/// Writes each of `lines` and a newline to standard output (see [`write_stdout`]).
pub fn write_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> std::io::Result<()> {
    write_stdout(|out| {
        for line in lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// A buffered writer whose buffer never grows (no stray copies are left in
/// freed memory) and is wiped when dropped.
struct WipingWriter<W: Write> {
    inner: W,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write> Write for WipingWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.buf.capacity() {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        if data.len() >= self.buf.capacity() {
            return self.inner.write(data);
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()
    }
}

/// Human size: bytes with a binary unit.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// One stanza as JSON.
pub fn stanza_json(s: &StanzaInfo) -> Value {
    match s {
        StanzaInfo::Keyring {
            keyring_id,
            key_version,
        } => {
            json!({"kind": "keyring", "keyring_id": hex::encode(keyring_id), "key_version": key_version})
        }
        StanzaInfo::Passphrase { params } => json!({
            "kind": "passphrase",
            "argon2id": {"memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism},
        }),
        StanzaInfo::Unknown { kind, body_len } => {
            json!({"kind": "unknown", "kind_byte": kind, "body_len": body_len})
        }
        other => json!({"kind": other.kind_name()}),
    }
}

/// One stanza as a line of text.
pub fn stanza_text(s: &StanzaInfo) -> String {
    match s {
        StanzaInfo::Keyring {
            keyring_id,
            key_version,
        } => {
            format!("keyring {} key version {key_version}", hex::encode(keyring_id))
        }
        StanzaInfo::Passphrase { params } => format!(
            "passphrase (Argon2id {} MiB, t={}, p={})",
            params.memory_kib / 1024,
            params.iterations,
            params.parallelism
        ),
        StanzaInfo::Unknown { kind, body_len } => {
            format!("unknown protector kind {kind} ({body_len} bytes, ignored)")
        }
        other => other.kind_name().to_string(),
    }
}

/// A file header as JSON fields.
pub fn file_info_json(info: &FileInfo) -> Value {
    json!({
        "format_version": info.format_version,
        "suite": info.suite,
        "file_id": hex::encode(info.file_id),
        "header_len": info.header_len,
        "payload_len": info.payload_len,
        "plaintext_len": info.plaintext_len,
        "stanzas": info.stanzas.iter().map(stanza_json).collect::<Vec<_>>(),
    })
}

/// A file header as lines of text, indented by `indent`.
pub fn file_info_lines(info: &FileInfo, indent: &str) -> Vec<String> {
    let opt = |v: Option<u64>| v.map_or_else(|| "unknown".to_string(), |n| format!("{n} bytes"));
    let mut lines = vec![
        format!(
            "{indent}format:     version {}, suite {}",
            info.format_version, info.suite
        ),
        format!("{indent}file id:    {}", hex::encode(info.file_id)),
        format!("{indent}header:     {} bytes", info.header_len),
        format!("{indent}payload:    {}", opt(info.payload_len)),
        format!(
            "{indent}plaintext:  {} (from the length, not yet authenticated)",
            opt(info.plaintext_len)
        ),
        format!("{indent}recipients: {}", info.stanzas.len()),
    ];
    for (i, s) in info.stanzas.iter().enumerate() {
        lines.push(format!("{indent}  [{}] {}", i + 1, stanza_text(s)));
    }
    lines
}

/// A short "who can open it" summary, e.g. "keyring 1a2b… v2 + a passphrase".
pub fn recipients_summary(info: &FileInfo) -> String {
    let parts: Vec<String> = info
        .stanzas
        .iter()
        .map(|s| match s {
            StanzaInfo::Keyring {
                keyring_id,
                key_version,
            } => {
                format!(
                    "keyring {} (key version {key_version})",
                    &hex::encode(keyring_id)[..8]
                )
            }
            StanzaInfo::Passphrase { .. } => "a passphrase".to_string(),
            _ => stanza_text(s),
        })
        .collect();
    parts.join(" + ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn sizes() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
    }
}
