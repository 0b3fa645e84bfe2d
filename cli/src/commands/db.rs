//! `strongroom db ...`: encrypt, rotate, decrypt, count and verify a column
//! of a SQLite, PostgreSQL or MySQL/MariaDB table in place, with the
//! `strongroom-db` library (the same code the demo runs).

use super::Ctx;
use crate::args::UnlockArgs;
use crate::cancel::CancelGuard;
use crate::exit::usage;
use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value as Json, json};
use std::path::PathBuf;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, ValueType};
use strongroom_db::migrate::DEFAULT_BATCH;
use strongroom_db::{DbUrl, Job, Operation, Progress, Status, Summary};

/// `db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Encrypt a column's plaintext values in place (resumable; safe while the application runs)
    #[command(after_help = DB_AFTER_HELP)]
    Encrypt(DbJobArgs),
    /// Re-encrypt tokens not on the primary key version, and rebuild the blind index
    #[command(after_help = DB_AFTER_HELP)]
    Rotate(DbJobArgs),
    /// Decrypt a column's tokens back to plaintext in place
    #[command(after_help = DB_AFTER_HELP)]
    Decrypt(DbJobArgs),
    /// Count a column's rows by state: plaintext, tokens per key version, NULL (needs no key)
    Status(DbStatusArgs),
    /// Decrypt every token of a column (and check its blind index) without showing any value
    Verify(DbVerifyArgs),
}

/// Extra help of the column jobs.
const DB_AFTER_HELP: &str = "\
Safety:
  Rows are processed in primary-key order, in batches; each batch is one
  transaction that also stores the job's checkpoint (table
  strongroom_migrations), so a run stopped at any point (even SIGKILL) is
  resumed by running the same command again. Values that are already tokens
  are recognised by their header and never encrypted twice. Each update
  compares the old value, so a row the application changes meanwhile is not
  overwritten; it is read again, or left for the next run.

Database URLs:
  sqlite:PATH (or a bare path), postgres://USER@HOST:PORT/DB,
  mysql://USER@HOST:PORT/DB (MariaDB too). A password can be in the URL, but
  --db-password-file or --db-password-env (default STRONGROOM_DB_PASSWORD)
  keep it out of `ps`. Passwords are never shown in messages.

Tokens bind the table, the column and the row's primary key (its decimal
text for integers, as `strongroom field --rows`).";

/// Where the database is.
#[derive(Debug, Args)]
#[command(next_help_heading = "Database")]
pub struct DbTargetArgs {
    /// Database URL: sqlite:PATH, postgres://..., mysql://...
    #[arg(long, env = "STRONGROOM_DB_URL", value_name = "URL", hide_env_values = true)]
    pub url: String,
    /// Read the database password from this file (one trailing newline is stripped)
    #[arg(long, value_name = "PATH")]
    pub db_password_file: Option<PathBuf>,
    /// Read the database password from this environment variable [default: STRONGROOM_DB_PASSWORD if set]
    #[arg(long, value_name = "VAR")]
    pub db_password_env: Option<String>,
    /// Table
    #[arg(long, value_name = "T")]
    pub table: String,
    /// Column to encrypt, rotate, decrypt or check
    #[arg(long, value_name = "C")]
    pub column: String,
    /// Blind index column (binary), filled from the same plaintext
    #[arg(long, value_name = "COLUMN")]
    pub blind_index: Option<String>,
}

/// How the column is encrypted.
#[derive(Debug, Args)]
#[command(next_help_heading = "Column")]
pub struct DbColumnArgs {
    /// Deterministic mode (AES-SIV): equal values give equal tokens (UNIQUE, joins); binds no row
    #[arg(long)]
    pub deterministic: bool,
    /// The column encrypts SQL NULL as a token instead of keeping NULL (give it to every command on such a column)
    #[arg(long)]
    pub hide_null: bool,
    /// Value type of a text column's plaintext (binary columns hold bytes)
    #[arg(long = "type", value_name = "TYPE", value_parser = value_type_parser())]
    pub value_type: Option<ValueType>,
    /// Blind index length in bytes (2 to 32) [default with --blind-index: 8]
    #[arg(long, value_name = "N")]
    pub index_len: Option<usize>,
    /// Blind index normaliser [default: none]
    #[arg(long, value_name = "NAME", value_parser = normalizer_parser())]
    pub normalizer: Option<Normalizer>,
}

/// `db encrypt`, `db rotate`, `db decrypt`
#[derive(Debug, Args)]
pub struct DbJobArgs {
    /// The database and column.
    #[command(flatten)]
    pub target: DbTargetArgs,
    /// The column's setup.
    #[command(flatten)]
    pub column: DbColumnArgs,
    /// Rows per batch (and transaction)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH)]
    pub batch_size: usize,
    /// Read and count, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Widen a column too narrow for its tokens (ALTER TABLE) instead of failing
    #[arg(long)]
    pub widen: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `db status`
#[derive(Debug, Args)]
pub struct DbStatusArgs {
    /// The database and column.
    #[command(flatten)]
    pub target: DbTargetArgs,
}

/// `db verify`
#[derive(Debug, Args)]
pub struct DbVerifyArgs {
    /// The database and column.
    #[command(flatten)]
    pub target: DbTargetArgs,
    /// The column's setup.
    #[command(flatten)]
    pub column: DbColumnArgs,
    /// Succeed even if plaintext values are left
    #[arg(long)]
    pub allow_plaintext: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

fn value_type_parser() -> impl TypedValueParser<Value = ValueType> {
    PossibleValuesParser::new(ValueType::ALL.map(ValueType::name))
        .map(|name| ValueType::from_name(&name).expect("one of the listed names"))
}

fn normalizer_parser() -> impl TypedValueParser<Value = Normalizer> {
    PossibleValuesParser::new(Normalizer::ALL.map(Normalizer::name))
        .map(|name| Normalizer::from_name(&name).expect("one of the listed names"))
}

/// Runs a `db` subcommand.
pub fn run(ctx: &Ctx<'_>, cmd: &DbCommand) -> Result<()> {
    match cmd {
        DbCommand::Encrypt(a) => job(ctx, Operation::Encrypt, a),
        DbCommand::Rotate(a) => job(ctx, Operation::Rotate, a),
        DbCommand::Decrypt(a) => job(ctx, Operation::Decrypt, a),
        DbCommand::Status(a) => status(ctx, a),
        DbCommand::Verify(a) => verify(ctx, a),
    }
}

/// A db error for the exit-code scheme: a core error as itself (its
/// class and hint), any other as the db error (classified by its kind).
pub fn db_error(e: strongroom_db::Error) -> anyhow::Error {
    match e {
        strongroom_db::Error::Core(c) => c.into(),
        e => e.into(),
    }
}

/// The parsed URL, with the password from a file or the environment (read
/// by the core's secret-source rule; the variable was removed from the
/// environment at start-up, as every secret variable is).
fn db_url(a: &DbTargetArgs) -> Result<DbUrl> {
    let url = DbUrl::parse(&a.url).map_err(db_error)?;
    let password = crate::secrets::db_password(a.db_password_file.as_deref(), a.db_password_env.as_deref())?;
    Ok(match password {
        Some(p) => url.with_password(p),
        None => url,
    })
}

/// The column's cipher, from the keyring.
fn cipher(
    ctx: &Ctx<'_>,
    t: &DbTargetArgs,
    c: &DbColumnArgs,
    unlock: &UnlockArgs,
    binary: bool,
) -> Result<FieldCipher> {
    let ty = match (c.value_type, binary) {
        (Some(ty), _) => ty,
        (None, true) => ValueType::Bytes,
        (None, false) => ValueType::Text,
    };
    let mut spec = ColumnSpec::new(ty);
    if c.deterministic {
        spec = spec.deterministic();
    }
    if c.hide_null {
        spec = spec.hide_null();
    }
    if t.blind_index.is_some() || c.index_len.is_some() {
        spec = spec.with_blind_index(c.index_len.unwrap_or(8), c.normalizer.unwrap_or(Normalizer::None));
    } else if c.normalizer.is_some() {
        return Err(usage("--normalizer needs --blind-index COLUMN"));
    }
    let ring = ctx.open_keyring(unlock)?;
    FieldCipher::new(&ring, &t.table, &t.column, spec)
        .with_context(|| format!("cannot use column {}.{}", t.table, t.column))
}

/// Whether the column is binary (asks the database).
fn column_is_binary(engine: &mut dyn strongroom_db::Engine, t: &DbTargetArgs) -> Result<bool> {
    let target = engine
        .describe(&t.table, &t.column, t.blind_index.as_deref())
        .map_err(db_error)?;
    Ok(target.column.storage == strongroom_db::Storage::Binary)
}

fn rows_bar(ctx: &Ctx<'_>, label: &str) -> Option<ProgressBar> {
    let bar = ctx.out.progress(label, 0)?;
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows {per_sec} eta {eta}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn on_progress(bar: Option<&ProgressBar>) -> impl Fn(Progress) + Sync + '_ {
    move |p: Progress| {
        if let Some(bar) = bar {
            bar.set_length(p.total.max(p.rows));
            bar.set_position(p.rows);
        }
    }
}

/// Runs `db encrypt`, `db rotate` or `db decrypt`.
fn job(ctx: &Ctx<'_>, op: Operation, a: &DbJobArgs) -> Result<()> {
    let url = db_url(&a.target)?;
    let mut engine = strongroom_db::connect(&url).map_err(db_error)?;
    let binary = column_is_binary(engine.as_mut(), &a.target)?;
    let cipher = cipher(ctx, &a.target, &a.column, &a.unlock, binary)?;
    let cancel = CancelGuard::install();
    let bar = rows_bar(ctx, op.name());
    let progress = on_progress(bar.as_ref());
    let mut job = Job::new(op, &cipher, &a.target.table, &a.target.column)
        .batch_size(a.batch_size)
        .dry_run(a.dry_run)
        .widen(a.widen)
        .progress(&progress)
        .cancel(cancel.flag());
    if let Some(idx) = &a.target.blind_index {
        job = job.index(idx);
    }
    let result = strongroom_db::run(engine.as_mut(), &job);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let s = result.map_err(db_error)?;
    report_job(ctx, &url, &cipher, &s);
    if s.undecryptable > 0 {
        return Err(db_error(strongroom_db::Error::Undecryptable {
            table: s.table.clone(),
            column: s.column.clone(),
            count: s.undecryptable,
            first: s.first_undecryptable.clone().unwrap_or_default(),
        }));
    }
    Ok(())
}

fn report_job(ctx: &Ctx<'_>, url: &DbUrl, cipher: &FieldCipher, s: &Summary) {
    let out = ctx.out;
    let verb = match (s.operation, s.dry_run) {
        (op, true) => format!("would {op}"),
        ("encrypt", _) => "encrypted".into(),
        ("rotate", _) => "rotated".into(),
        _ => "decrypted".into(),
    };
    out.say(format!(
        "{}.{} ({}): {verb} {} of {} rows read{} in {:.1} s ({:.0} rows/s)",
        s.table,
        s.column,
        url.redacted(),
        s.changed,
        s.rows,
        if s.resumed {
            " (resumed from the checkpoint)"
        } else {
            ""
        },
        s.seconds,
        s.rows_per_second
    ));
    out.say(format!(
        "  unchanged {}, NULL {}, plaintext left {}, undecryptable {}, wrong kind {}, changed by others meanwhile {}",
        s.unchanged, s.null, s.plaintext_left, s.undecryptable, s.wrong_kind, s.changed_meanwhile
    ));
    if let Some(w) = s.widened_to {
        out.say(format!("  column widened to {w}"));
    }
    if s.changed_meanwhile > 0 {
        out.say("  run the command again to pick up the rows changed meanwhile");
    }
    let mut j = serde_json::to_value(s).unwrap_or(Json::Null);
    j["command"] = json!(format!("db {}", s.operation));
    j["url"] = json!(url.redacted());
    j["mode"] = json!(cipher.spec().mode.name());
    j["key_version"] = json!(cipher.primary_version());
    out.json(j);
}

fn status_json(command: &str, url: &DbUrl, st: &Status) -> Json {
    let mut j = serde_json::to_value(st).unwrap_or(Json::Null);
    j["command"] = json!(command);
    j["url"] = json!(url.redacted());
    j
}

fn report_status(ctx: &Ctx<'_>, url: &DbUrl, st: &Status) {
    let out = ctx.out;
    out.say(format!(
        "{}.{} ({}, {}): {} rows",
        st.table,
        st.column,
        url.redacted(),
        st.storage,
        st.rows
    ));
    out.say(format!("  plaintext {}", st.plaintext));
    for (k, n) in &st.tokens {
        out.say(format!("  tokens {k}: {n}"));
    }
    out.say(format!("  NULL {}", st.null));
    if st.wrong_kind > 0 {
        out.say(format!("  values of the wrong kind: {}", st.wrong_kind));
    }
    if let Some(n) = st.undecryptable {
        out.say(format!("  not decryptable {n}"));
        if !st.undecryptable_keys.is_empty() {
            out.say(format!("    primary keys: {}", st.undecryptable_keys.join(", ")));
        }
    }
    if let Some(n) = st.index_mismatch {
        out.say(format!("  blind index terms not matching their value: {n}"));
    }
    for j in &st.pending_jobs {
        out.say(format!("  interrupted job (resume by running it again): {j}"));
    }
}

/// Runs `db status`.
fn status(ctx: &Ctx<'_>, a: &DbStatusArgs) -> Result<()> {
    let url = db_url(&a.target)?;
    let mut engine = strongroom_db::connect(&url).map_err(db_error)?;
    let bar = rows_bar(ctx, "status");
    let progress = on_progress(bar.as_ref());
    let st = strongroom_db::status(
        engine.as_mut(),
        &a.target.table,
        &a.target.column,
        a.target.blind_index.as_deref(),
        None,
        Some(&progress),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let st = st.map_err(db_error)?;
    report_status(ctx, &url, &st);
    ctx.out.json(status_json("db status", &url, &st));
    Ok(())
}

/// Runs `db verify`.
fn verify(ctx: &Ctx<'_>, a: &DbVerifyArgs) -> Result<()> {
    let url = db_url(&a.target)?;
    let mut engine = strongroom_db::connect(&url).map_err(db_error)?;
    let binary = column_is_binary(engine.as_mut(), &a.target)?;
    let cipher = cipher(ctx, &a.target, &a.column, &a.unlock, binary)?;
    let bar = rows_bar(ctx, "verify");
    let progress = on_progress(bar.as_ref());
    let st = strongroom_db::status(
        engine.as_mut(),
        &a.target.table,
        &a.target.column,
        a.target.blind_index.as_deref(),
        Some(&cipher),
        Some(&progress),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let st = st.map_err(db_error)?;
    report_status(ctx, &url, &st);
    let mut j = status_json("db verify", &url, &st);
    let bad = st.undecryptable.unwrap_or(0);
    let mismatch = st.index_mismatch.unwrap_or(0);
    let ok = bad == 0 && mismatch == 0 && (a.allow_plaintext || st.plaintext == 0);
    j["ok"] = json!(ok);
    ctx.out.json(j);
    if bad > 0 {
        return Err(db_error(strongroom_db::Error::Undecryptable {
            table: st.table.clone(),
            column: st.column.clone(),
            count: bad,
            first: st.undecryptable_keys.first().cloned().unwrap_or_default(),
        }));
    }
    if mismatch > 0 {
        return Err(db_error(strongroom_db::Error::IndexMismatch {
            table: st.table.clone(),
            column: a.target.blind_index.clone().unwrap_or_default(),
            count: mismatch,
        }));
    }
    if st.plaintext > 0 && !a.allow_plaintext {
        return Err(db_error(strongroom_db::Error::PlaintextLeft {
            table: st.table.clone(),
            column: st.column.clone(),
            count: st.plaintext,
        }));
    }
    ctx.out.say("  ok: every token decrypts");
    Ok(())
}
