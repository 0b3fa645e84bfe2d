//! `strongroom field ...`: database values from shell scripts. Values or
//! tokens come from the arguments or one per line from standard input; all
//! of them are processed (with the library's batch calls, on every core)
//! before anything is printed, so a failing line leaves standard output
//! empty.

mod input;

use super::Ctx;
use crate::args::{
    FieldColumnArgs, FieldCommand, FieldDecryptArgs, FieldEncryptArgs, FieldIndexArgs, FieldInspectArgs,
    FieldRewrapArgs, UnlockArgs,
};
use crate::exit::usage_hint;
use crate::output::{write_lines, write_stdout};
use anyhow::{Context, Result};
use input::{Items, parse_tokens, parse_values, row_keys};
use serde_json::{Value as Json, json};
use std::borrow::Cow;
use strongroom::field::{ColumnSpec, FieldCipher, IndexTerm, Mode, Suite, Token, TokenInfo, Value};
use zeroize::Zeroizing;

/// Runs a `field` subcommand.
pub fn run(ctx: &Ctx<'_>, cmd: &FieldCommand) -> Result<()> {
    match cmd {
        FieldCommand::Encrypt(a) => encrypt(ctx, a),
        FieldCommand::Decrypt(a) => decrypt(ctx, a),
        FieldCommand::Index(a) => index(ctx, a),
        FieldCommand::Inspect(a) => inspect(ctx, a),
        FieldCommand::Rewrap(a) => rewrap(ctx, a),
    }
}

/// Runs `field encrypt`.
fn encrypt(ctx: &Ctx<'_>, a: &FieldEncryptArgs) -> Result<()> {
    input::check_options_first("encrypt", &a.values)?;
    if a.column.deterministic && (a.rows.row.is_some() || a.rows.rows) {
        return Err(usage_hint(
            "a deterministic column cannot bind row keys (equal values would no longer give equal tokens)",
            "drop --row/--rows, or leave out --deterministic",
        ));
    }
    let stdin = input::read_stdin_unless(&a.values, Some(&a.unlock))?;
    let items = Items::new(&a.values, &stdin, a.null.null.as_deref());
    let lines = items.lines(Some(&a.rows))?;
    let values = parse_values(&items, &lines, a.column.value_type)?;
    let rows = row_keys(&lines);
    let cipher = open_cipher(ctx, &a.column, &a.unlock)?;
    let tokens = cipher
        .encrypt_batch(&values, rows.as_deref())
        .map_err(|e| items.batch_error(e))?;
    let shown = token_texts(&tokens, a.binary_hex);
    emit(
        ctx,
        &items,
        column_json("field encrypt", &cipher),
        "tokens",
        &shown,
    )
}

/// Runs `field decrypt`.
fn decrypt(ctx: &Ctx<'_>, a: &FieldDecryptArgs) -> Result<()> {
    let stdin = input::read_stdin_unless(&a.tokens, Some(&a.unlock))?;
    let items = Items::new(&a.tokens, &stdin, a.null.null.as_deref());
    let lines = items.token_lines(Some(&a.rows))?;
    let tokens = parse_tokens(&items, &lines)?;
    let rows = row_keys(&lines);
    let cipher = open_cipher(ctx, &a.column, &a.unlock)?;
    let values = items.all_ok(cipher.decrypt_batch(&tokens, rows.as_deref())?)?;
    let owned = value_texts(&items, &values)?;
    let texts: Vec<Option<&str>> = owned.iter().map(|t| t.as_deref().map(String::as_str)).collect();
    if ctx.out.is_json() {
        return write_secret_json(column_json("field decrypt", &cipher), "values", &texts);
    }
    print_lines(&items, &texts)
}

/// The text form of each decrypted value, in buffers wiped on drop.
fn value_texts(items: &Items<'_>, values: &[Option<Value>]) -> Result<Vec<Option<Zeroizing<String>>>> {
    let text = |(i, v): (usize, &Option<Value>)| {
        v.as_ref()
            .map(Value::to_text)
            .transpose()
            .map_err(|e| items.error_at(i, e))
    };
    values.iter().enumerate().map(text).collect()
}

/// Runs `field index`.
fn index(ctx: &Ctx<'_>, a: &FieldIndexArgs) -> Result<()> {
    input::check_options_first("index", &a.values)?;
    if a.column.index_len.is_none() {
        return Err(usage_hint(
            "field index needs the column's blind index length",
            "give --index-len N (and --normalizer NAME) as used for the column",
        ));
    }
    let stdin = input::read_stdin_unless(&a.values, Some(&a.unlock))?;
    let items = Items::new(&a.values, &stdin, a.null.null.as_deref());
    let lines = items.lines(None)?;
    let values = parse_values(&items, &lines, a.column.value_type)?;
    let cipher = open_cipher(ctx, &a.column, &a.unlock)?;
    let mut header = column_json("field index", &cipher);
    if a.all_versions {
        let terms = items.all_ok(par_map(&values, |v| cipher.lookup_terms(v.as_ref())))?;
        let shown: Vec<Option<Vec<String>>> = terms
            .iter()
            .map(|t| (!t.is_empty()).then(|| t.iter().map(IndexTerm::to_hex).collect()))
            .collect();
        header["key_versions"] = json!(lookup_versions(&cipher));
        return emit(ctx, &items, header, "terms", &shown);
    }
    let terms = cipher.index_batch(&values).map_err(|e| items.batch_error(e))?;
    let shown: Vec<Option<String>> = terms.iter().map(|t| t.as_ref().map(IndexTerm::to_hex)).collect();
    emit(ctx, &items, header, "terms", &shown)
}

/// Runs `field inspect`.
fn inspect(ctx: &Ctx<'_>, a: &FieldInspectArgs) -> Result<()> {
    let stdin = input::read_stdin_unless(&a.tokens, None)?;
    let items = Items::new(&a.tokens, &stdin, a.null.null.as_deref());
    let lines = items.token_lines(None)?;
    let tokens = parse_tokens(&items, &lines)?;
    let shown: Vec<Option<TokenSummary>> = tokens
        .iter()
        .map(|t| {
            t.as_ref().map(|t| TokenSummary {
                info: t.info(),
                len: t.len(),
            })
        })
        .collect();
    emit(ctx, &items, json!({"command": "field inspect"}), "tokens", &shown)
}

/// Runs `field rewrap`.
fn rewrap(ctx: &Ctx<'_>, a: &FieldRewrapArgs) -> Result<()> {
    let stdin = input::read_stdin_unless(&a.tokens, Some(&a.unlock))?;
    let items = Items::new(&a.tokens, &stdin, a.null.null.as_deref());
    let lines = items.token_lines(Some(&a.rows))?;
    let tokens = parse_tokens(&items, &lines)?;
    let rows = row_keys(&lines);
    let mut cipher = open_cipher(ctx, &a.column, &a.unlock)?;
    if a.allow_dropping_row_binding {
        cipher = cipher.allow_dropping_row_binding();
    }
    let new = items.all_ok(cipher.rewrap_batch(&tokens, rows.as_deref())?)?;
    let changed = tokens.iter().zip(&new).filter(|(old, new)| old != new).count();
    let shown = token_texts(&new, a.binary_hex);
    let mut header = column_json("field rewrap", &cipher);
    header["rewrapped"] = json!(changed);
    emit(ctx, &items, header, "tokens", &shown)?;
    ctx.out.note(format!(
        "rewrapped {changed} of {} tokens to key version {}",
        tokens.iter().flatten().count(),
        cipher.primary_version()
    ));
    Ok(())
}

/// The column's settings from the options.
fn column_spec(a: &FieldColumnArgs) -> ColumnSpec {
    let mut spec = ColumnSpec::new(a.value_type);
    if a.deterministic {
        spec = spec.deterministic();
    }
    if a.hide_null {
        spec = spec.hide_null();
    }
    if a.unlinkable_batches {
        spec = spec.unlinkable_batches();
    }
    if let Some(len) = a.index_len {
        spec = spec.with_blind_index(len, a.normalizer.unwrap_or_default());
    }
    if let Some(mode) = a.accept_mode {
        spec = spec.accept_mode(mode);
    }
    spec
}

/// Unlocks the keyring and prepares the column's keys.
fn open_cipher(ctx: &Ctx<'_>, a: &FieldColumnArgs, unlock: &UnlockArgs) -> Result<FieldCipher> {
    let ring = ctx.open_keyring(unlock)?;
    FieldCipher::new(&ring, &a.table, &a.column, column_spec(a))
        .with_context(|| format!("cannot use column {}.{}", a.table, a.column))
}

/// The mode name of a suite.
fn mode_name(suite: Suite) -> &'static str {
    Mode::of_suite(suite).name()
}

/// The JSON members every column command starts with.
fn column_json(command: &str, cipher: &FieldCipher) -> Json {
    json!({
        "command": command,
        "table": cipher.table(),
        "column": cipher.column(),
        "type": cipher.spec().value_type.name(),
        "mode": mode_name(cipher.current_token_info().suite),
        "key_version": cipher.primary_version(),
    })
}

/// The key versions of `lookup_terms`, in its order: primary first, then
/// the other usable versions, newest first.
fn lookup_versions(cipher: &FieldCipher) -> Vec<u32> {
    let primary = cipher.primary_version();
    let others = cipher.usable_versions().into_iter().filter(|v| *v != primary);
    std::iter::once(primary).chain(others).collect()
}

/// Tokens as printed: the text form, or hex of the binary form.
fn token_texts(tokens: &[Option<Token>], hex: bool) -> Vec<Option<String>> {
    let text = |t: &Token| {
        if hex {
            hex::encode(t.as_bytes())
        } else {
            t.to_text()
        }
    };
    tokens.iter().map(|t| t.as_ref().map(text)).collect()
}

/// One item's result, printable as a line or as JSON. Never plaintext:
/// decrypted values take [`write_secret_json`] and
/// [`Items::output_lines`] directly.
trait Printable {
    /// Its line in text mode.
    fn line(&self) -> Cow<'_, str>;
    /// Its value in the JSON object.
    fn json(&self) -> Json;
}

impl Printable for String {
    fn line(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }

    fn json(&self) -> Json {
        Json::from(self.as_str())
    }
}

/// Lookup terms: comma-separated on a line, an array in JSON.
impl Printable for Vec<String> {
    fn line(&self) -> Cow<'_, str> {
        Cow::Owned(self.join(","))
    }

    fn json(&self) -> Json {
        json!(self)
    }
}

/// What `field inspect` shows of a token.
struct TokenSummary {
    info: TokenInfo,
    len: usize,
}

impl TokenSummary {
    fn body_len(&self) -> usize {
        self.len - self.info.suite.overhead()
    }
}

impl Printable for TokenSummary {
    fn line(&self) -> Cow<'_, str> {
        let i = &self.info;
        Cow::Owned(format!(
            "version={} suite={} mode={} key_version={} len={} body_len={}",
            i.version,
            i.suite.name(),
            mode_name(i.suite),
            i.key_version,
            self.len,
            self.body_len()
        ))
    }

    fn json(&self) -> Json {
        let i = &self.info;
        json!({
            "version": i.version,
            "suite": i.suite.name(),
            "mode": mode_name(i.suite),
            "key_version": i.key_version,
            "len": self.len,
            "body_len": self.body_len(),
        })
    }
}

/// Prints the results: `header` with them under `key` in JSON mode, else
/// one line per item (NULL as the marker).
fn emit<T: Printable>(
    ctx: &Ctx<'_>,
    items: &Items<'_>,
    mut header: Json,
    key: &str,
    results: &[Option<T>],
) -> Result<()> {
    if ctx.out.is_json() {
        header[key] = results
            .iter()
            .map(|r| r.as_ref().map_or(Json::Null, T::json))
            .collect();
        // Not `Output::json`, which ignores write errors: this object is the
        // command's result, and a full disk or closed pipe must fail it.
        return write_stdout(|out| writeln!(out, "{header}")).context("cannot write to standard output");
    }
    let owned: Vec<Option<Cow<'_, str>>> = results.iter().map(|r| r.as_ref().map(T::line)).collect();
    let cells: Vec<Option<&str>> = owned.iter().map(|c| c.as_deref()).collect();
    print_lines(items, &cells)
}

/// Writes one line per result (see [`Items::output_lines`]).
fn print_lines(items: &Items<'_>, cells: &[Option<&str>]) -> Result<()> {
    let lines = items.output_lines(cells)?;
    write_lines(lines).context("cannot write to standard output")
}

/// Writes `header` with `values` (plaintext) under `key` as one JSON
/// object, without copying the values into unwiped memory.
fn write_secret_json(header: Json, key: &str, values: &[Option<&str>]) -> Result<()> {
    let head = header.to_string();
    let head = head.strip_suffix('}').expect("a JSON object");
    write_stdout(|out| {
        write!(out, "{head},{}:", Json::from(key))?;
        serde_json::to_writer(&mut *out, values)?;
        out.write_all(b"}\n")
    })
    .context("cannot write to standard output")
}

/// Maps `f` over `items` on every core, in order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = items.len().div_ceil(threads).max(1024);
    std::thread::scope(|s| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect()
    })
}
