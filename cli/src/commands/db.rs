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
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use serde_json::{Value as Json, json};
use std::path::PathBuf;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, ValueType};
use strongroom_db::{DEFAULT_BATCH, DbUrl, Engine, Job, Operation, Progress, Status, Summary};

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
    /// Create the checkpoint table once, as an administrator (or print its SQL)
    #[command(after_help = DB_SETUP_HELP)]
    Setup(DbSetupArgs),
}

/// Extra help of `db setup`.
const DB_SETUP_HELP: &str = "\
The jobs keep their checkpoints in the table strongroom_checkpoints of the
database itself, and create it when it is missing. A role that may not
create tables (least privilege) needs it created once by an administrator:
run this command with an administrator's URL, or --print-sql and run the
SQL yourself; then grant the jobs' role SELECT, INSERT, UPDATE, DELETE on
it (docs/DATABASES.md lists the privileges of every command).";

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

TLS (both servers), libpq's parameters in the URL's query string:
  sslmode=disable|prefer|require|verify-ca|verify-full, sslrootcert=CA.pem,
  sslcert=CLIENT.pem, sslkey=CLIENT.key. Default: prefer on this machine,
  verify-full elsewhere; cleartext to another machine needs
  --db-allow-cleartext.

Tokens bind the table, the column and the row's primary key (its decimal
text for integers, as `strongroom field --rows`).";

/// Which database, and how to reach it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Database")]
pub struct DbConnArgs {
    /// Database URL: sqlite:PATH, postgres://..., mysql://... (TLS: ?sslmode=verify-full&sslrootcert=CA.pem)
    #[arg(long, env = "STRONGROOM_DB_URL", value_name = "URL", hide_env_values = true)]
    pub url: String,
    /// Read the database password from this file (one trailing newline is stripped)
    #[arg(long, value_name = "PATH")]
    pub db_password_file: Option<PathBuf>,
    /// Read the database password from this environment variable [default: STRONGROOM_DB_PASSWORD if set]
    #[arg(long, value_name = "VAR")]
    pub db_password_env: Option<String>,
    /// Allow a connection to another machine that may carry values in cleartext (sslmode=disable or prefer)
    #[arg(long)]
    pub db_allow_cleartext: bool,
}

/// Where the column is.
#[derive(Debug, Args)]
#[command(next_help_heading = "Database")]
pub struct DbTargetArgs {
    /// The database.
    #[command(flatten)]
    pub conn: DbConnArgs,
    /// Table (schema.table on PostgreSQL, db.table on MySQL)
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

/// `db setup`
#[derive(Debug, Args)]
pub struct DbSetupArgs {
    /// The database.
    #[command(flatten)]
    pub conn: DbConnArgs,
    /// Print the checkpoint table's SQL for the URL's engine instead of connecting
    #[arg(long)]
    pub print_sql: bool,
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
        DbCommand::Setup(a) => setup(ctx, a),
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
fn db_url(a: &DbConnArgs) -> Result<DbUrl> {
    let url = DbUrl::parse(&a.url)
        .map_err(db_error)?
        .allow_cleartext(a.db_allow_cleartext);
    let password = crate::secrets::db_password(a.db_password_file.as_deref(), a.db_password_env.as_deref())?;
    Ok(match password {
        Some(p) => url.with_password(p),
        None => url,
    })
}

/// Connects: read-only for what only reads (status, verify, dry runs), so
/// that a role with SELECT alone runs it and nothing can change.
fn connect(url: &DbUrl, read_only: bool) -> Result<Box<dyn Engine>> {
    let engine = if read_only {
        strongroom_db::connect_read_only(url)
    } else {
        strongroom_db::connect(url)
    };
    engine.map_err(db_error)
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

/// A rate for people: whole rows per second from 10 up, one decimal below.
fn rate(per_sec: f64) -> String {
    if per_sec >= 10.0 {
        format!("{per_sec:.0} rows/s")
    } else {
        format!("{per_sec:.1} rows/s")
    }
}

/// The progress bar of a column job: rows (against the table's estimated
/// size when the engine has one), a rounded rate; first drawn after the
/// first batch.
fn rows_bar(ctx: &Ctx<'_>, label: &str) -> Option<ProgressBar> {
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/~{len} rows, {rate}, eta {eta}")
        .map(|s| {
            s.progress_chars("=> ")
                .with_key("rate", |st: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&rate(st.per_sec()));
                })
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    ctx.out.progress_styled(label, None, style)
}

fn on_progress(bar: Option<&ProgressBar>) -> impl Fn(Progress) + Sync + '_ {
    move |p: Progress| {
        if let Some(bar) = bar {
            match p.estimated_total {
                Some(total) => bar.set_length(total.max(p.rows)),
                // No estimate: the bar follows the rows read.
                None => bar.set_length(p.rows),
            }
            bar.set_position(p.rows);
        }
    }
}

/// Runs `db encrypt`, `db rotate` or `db decrypt`.
fn job(ctx: &Ctx<'_>, op: Operation, a: &DbJobArgs) -> Result<()> {
    let url = db_url(&a.target.conn)?;
    let mut engine = connect(&url, a.dry_run)?;
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
    // A run that left a value in cleartext, or a row it could not finish,
    // is not a success.
    s.check().map_err(db_error)
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
        "{}.{} ({}, {}): {verb} {} of {} rows read{} in {:.1} s ({})",
        s.table,
        s.column,
        url.redacted(),
        transport_name(s.transport.as_ref()),
        s.changed,
        s.rows,
        match &s.resumed_after {
            Some(pk) => format!(" (resumed after primary key {pk})"),
            None if s.resumed => " (resumed)".into(),
            None => String::new(),
        },
        s.seconds,
        rate(s.rows_per_second)
    ));
    let mut counts = format!("  unchanged {}, NULL {}", s.unchanged, s.null);
    if s.operation == "rotate" {
        counts.push_str(&format!(", plaintext left {}", s.plaintext_left));
    }
    counts.push_str(&format!(
        ", undecryptable {}, wrong kind {}, changed by others meanwhile {}",
        s.undecryptable, s.wrong_kind, s.changed_meanwhile
    ));
    out.say(counts);
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

/// How the connection travelled, for people.
fn transport_name(t: Option<&strongroom_db::Transport>) -> String {
    match t {
        Some(strongroom_db::Transport::Tls(v)) => format!("TLS {v}"),
        Some(strongroom_db::Transport::Cleartext) => "no TLS".into(),
        Some(strongroom_db::Transport::Socket) => "local socket".into(),
        Some(strongroom_db::Transport::Local) | None => "local file".into(),
    }
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
        "{}.{} ({}, {}, {}): {} rows",
        st.table,
        st.column,
        url.redacted(),
        transport_name(st.transport.as_ref()),
        st.storage,
        st.rows
    ));
    out.say(format!("  plaintext {}", st.plaintext));
    for (k, n) in &st.tokens {
        out.say(format!("  tokens {k}: {n}"));
    }
    out.say(format!("  NULL {}", st.null));
    if st.wrong_kind > 0 {
        out.say(format!(
            "  values that are neither plaintext of the column's kind nor tokens: {} (primary keys: {})",
            st.wrong_kind,
            st.wrong_kind_keys.join(", ")
        ));
    }
    if let Some(n) = st.undecryptable {
        out.say(format!("  not decryptable {n}"));
        if !st.undecryptable_keys.is_empty() {
            out.say(format!("    primary keys: {}", st.undecryptable_keys.join(", ")));
        }
    }
    if let Some(n) = st.index_mismatch {
        out.say(format!("  blind index terms not matching their value: {n}"));
        if !st.index_mismatch_keys.is_empty() {
            out.say(format!("    primary keys: {}", st.index_mismatch_keys.join(", ")));
        }
    }
    if let Some(cp) = &st.checkpoint {
        let at = cp.last_pk.as_deref().map_or_else(
            || "no batch yet".to_string(),
            |pk| format!("done up to primary key {pk}"),
        );
        out.say(format!(
            "  job running or interrupted (the same command resumes it): {} [run {}, {at}, {} rows changed, started {}, last batch {}]",
            cp.job, cp.run_id, cp.changed, cp.started_at, cp.updated_at
        ));
    }
    if let Some(why) = &st.checkpoint_unreadable {
        out.say(format!("  checkpoint table not readable: {why}"));
    }
}

/// Runs `db status`.
fn status(ctx: &Ctx<'_>, a: &DbStatusArgs) -> Result<()> {
    let url = db_url(&a.target.conn)?;
    let mut engine = connect(&url, true)?;
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
    let url = db_url(&a.target.conn)?;
    let mut engine = connect(&url, true)?;
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
    let verdict = st.check(a.allow_plaintext, a.target.blind_index.as_deref());
    let mut j = status_json("db verify", &url, &st);
    j["ok"] = json!(verdict.is_ok());
    ctx.out.json(j);
    verdict.map_err(db_error)?;
    ctx.out.say("  ok: every token decrypts");
    Ok(())
}

/// Runs `db setup`.
fn setup(ctx: &Ctx<'_>, a: &DbSetupArgs) -> Result<()> {
    let url = db_url(&a.conn)?;
    let ddl = strongroom_db::checkpoint::ddl(url.kind().name());
    if a.print_sql {
        ctx.out.always(format!("{ddl};"));
        ctx.out.json(json!({"command": "db setup", "sql": ddl}));
        return Ok(());
    }
    let mut engine = connect(&url, false)?;
    let created = if engine.checkpoint_table_exists().map_err(db_error)? {
        false
    } else {
        engine.create_checkpoint_table().map_err(db_error)?;
        true
    };
    let table = strongroom_db::checkpoint::CHECKPOINT_TABLE;
    ctx.out.say(if created {
        format!("{table} created in {}", url.redacted())
    } else {
        format!("{table} already exists in {}", url.redacted())
    });
    ctx.out
        .json(json!({"command": "db setup", "url": url.redacted(), "table": table, "created": created}));
    Ok(())
}
