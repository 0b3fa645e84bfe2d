//! The engine-neutral column jobs: encrypt, rotate and decrypt in place,
//! status and verify. Rows are read in primary-key order, in batches; each
//! batch is written in one transaction together with the job's checkpoint,
//! with compare-and-swap updates, so a run killed at any point resumes and
//! a row the application changed meanwhile is never overwritten.

use crate::engine::{Cell, Checkpoint, Engine, Pk, Row, Storage, Target, Update};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;
use strongroom::field::{self, FieldCipher, Mode, Suite, Token, Value, ValueType};

/// What a job does to the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Plaintext to tokens.
    Encrypt,
    /// Tokens not on the primary key version (or mode) re-encrypted.
    Rotate,
    /// Tokens back to plaintext.
    Decrypt,
}

impl Operation {
    /// `encrypt`, `rotate` or `decrypt`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Encrypt => "encrypt",
            Operation::Rotate => "rotate",
            Operation::Decrypt => "decrypt",
        }
    }
}

/// Progress of a running job.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Rows read so far (this run).
    pub rows: u64,
    /// Rows in the table when the run started.
    pub total: u64,
    /// Rows changed so far (this run).
    pub changed: u64,
}

/// Default rows per batch (and transaction).
pub const DEFAULT_BATCH: usize = 2000;

/// A job on one column. Build it with [`Job::new`] and the setters.
pub struct Job<'a> {
    op: Operation,
    table: String,
    column: String,
    index: Option<String>,
    cipher: &'a FieldCipher,
    batch: usize,
    dry_run: bool,
    widen: bool,
    progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    cancel: Option<&'a AtomicBool>,
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("op", &self.op)
            .field("table", &self.table)
            .field("column", &self.column)
            .field("index", &self.index)
            .field("batch", &self.batch)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl<'a> Job<'a> {
    /// A job on `table.column`, whose tokens `cipher` makes and reads (its
    /// logical table and column names are bound into the tokens).
    pub fn new(op: Operation, cipher: &'a FieldCipher, table: &str, column: &str) -> Self {
        Self {
            op,
            table: table.into(),
            column: column.into(),
            index: None,
            cipher,
            batch: DEFAULT_BATCH,
            dry_run: false,
            widen: false,
            progress: None,
            cancel: None,
        }
    }

    /// Fills (encrypt, rotate) or clears (decrypt) this blind index column.
    pub fn index(mut self, column: &str) -> Self {
        self.index = Some(column.into());
        self
    }

    /// Rows per batch and transaction (at least 1).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Reads and counts without changing anything.
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Widens a column too narrow for its tokens instead of failing.
    pub fn widen(mut self, on: bool) -> Self {
        self.widen = on;
        self
    }

    /// Called after every batch.
    pub fn progress(mut self, f: &'a (dyn Fn(Progress) + Sync)) -> Self {
        self.progress = Some(f);
        self
    }

    /// Checked between batches: when set, the run stops with
    /// [`Error::Cancelled`].
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The checkpoint's job name.
    pub fn job_name(&self) -> String {
        match self.op {
            Operation::Rotate => format!(
                "rotate {}.{} to v{}",
                self.table,
                self.column,
                self.cipher.primary_version()
            ),
            op => format!("{} {}.{}", op.name(), self.table, self.column),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `encrypt`, `rotate` or `decrypt`.
    pub operation: &'static str,
    /// The engine.
    pub engine: &'static str,
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// Blind index column.
    pub index: Option<String>,
    /// Nothing was written.
    pub dry_run: bool,
    /// The run continued a previous, interrupted one.
    pub resumed: bool,
    /// Rows read.
    pub rows: u64,
    /// Rows changed (dry run: rows that would change).
    pub changed: u64,
    /// Rows already in the wanted state (tokens for encrypt, tokens on the
    /// primary version for rotate, plaintext for decrypt).
    pub unchanged: u64,
    /// NULL rows (left NULL).
    pub null: u64,
    /// Plaintext rows a rotation left alone.
    pub plaintext_left: u64,
    /// Tokens that did not decrypt (left unchanged).
    pub undecryptable: u64,
    /// Primary key of the first undecryptable row.
    pub first_undecryptable: Option<String>,
    /// Values of the wrong kind for the column (binary in a text column),
    /// left unchanged.
    pub wrong_kind: u64,
    /// Rows the application kept changing during the run: left for the
    /// next run.
    pub changed_meanwhile: u64,
    /// Column widened to this many characters or bytes.
    pub widened_to: Option<u64>,
    /// Batches committed.
    pub batches: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
}

/// The binary token in a cell, if the cell holds one (recognised by its
/// header: `sr1.` and a valid header in text, a version-1 header in binary).
pub fn token_of(cell: &Cell, storage: Storage) -> Option<Vec<u8>> {
    match (cell, storage) {
        (Cell::Text(s), Storage::Text) if s.starts_with(field::TEXT_PREFIX) => {
            let b = field::decode_text(s).ok()?;
            field::inspect(&b).ok().map(|_| b)
        }
        (Cell::Bytes(b), Storage::Binary) => field::inspect(b).ok().map(|_| b.to_vec()),
        _ => None,
    }
}

/// The cell a token is stored as in a column of `storage`.
pub fn token_cell(token: &Token, storage: Storage) -> Cell {
    match storage {
        Storage::Text => Cell::text(token.to_text()),
        Storage::Binary => Cell::bytes(token.as_bytes()),
    }
}

/// The value of a plaintext cell, as the cipher's type.
pub fn plain_value(cell: &Cell, storage: Storage, ty: ValueType) -> Option<Result<Value>> {
    match (cell, storage) {
        (Cell::Null, _) => None,
        (Cell::Text(s), Storage::Text) if ty == ValueType::Text => Some(Ok(Value::from(s.as_str()))),
        (Cell::Text(s), Storage::Text) => Some(Value::parse(ty, s).map_err(Error::from)),
        (Cell::Bytes(b), Storage::Binary) => Some(Ok(Value::from(b.as_slice()))),
        _ => Some(Err(Error::InvalidArgument("value of the wrong kind".into()))),
    }
}

/// The plaintext cell of a decrypted value in a column of `storage`.
pub fn plain_cell(value: Option<&Value>, storage: Storage) -> Result<Cell> {
    Ok(match (value, storage) {
        (None, _) => Cell::Null,
        (Some(Value::Text(s)), Storage::Text) => Cell::text(s.as_str()),
        (Some(v), Storage::Text) => Cell::text(v.to_text()?.as_str()),
        (Some(Value::Bytes(b)), Storage::Binary) => Cell::bytes(b.as_slice()),
        (Some(v), Storage::Binary) => {
            return Err(Error::InvalidArgument(format!(
                "a {} value cannot be stored in a binary column",
                v.value_type()
            )));
        }
    })
}

/// Whether tokens of this cipher's column are read with row keys.
fn reads_with_rows(cipher: &FieldCipher) -> bool {
    cipher.spec().accepts(Mode::Random)
}

/// Checks the column, its index column and the cipher against each other.
fn check_target(t: &Target, cipher: &FieldCipher, want_index: bool) -> Result<()> {
    let ty = cipher.spec().value_type;
    if t.column.storage == Storage::Binary && ty != ValueType::Bytes {
        return Err(Error::ColumnType {
            table: t.table.clone(),
            column: t.column.name.clone(),
            declared: t.column.declared.clone(),
            reason: format!(
                "a binary column holds bytes values, not {ty} (use a text column for --type {ty})"
            ),
        });
    }
    match (&t.index, cipher.spec().blind_index) {
        (Some(idx), Some(spec)) => {
            if idx.storage != Storage::Binary {
                return Err(Error::ColumnType {
                    table: t.table.clone(),
                    column: idx.name.clone(),
                    declared: idx.declared.clone(),
                    reason: "a blind index column is binary (BLOB, bytea, VARBINARY)".into(),
                });
            }
            if idx.width.is_some_and(|w| w < spec.len as u64) {
                return Err(Error::TooNarrow {
                    table: t.table.clone(),
                    column: idx.name.clone(),
                    declared: idx.declared.clone(),
                    needed: spec.len as u64,
                    unit: "bytes",
                });
            }
        }
        (None, Some(_)) if want_index => {
            return Err(Error::InvalidArgument(
                "the column has a blind index: name its column (--blind-index COLUMN)".into(),
            ));
        }
        (Some(_), None) => {
            return Err(Error::InvalidArgument(
                "a blind index column needs an index length (--index-len)".into(),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Token length for a plaintext of `n` bytes in this column.
fn token_width(cipher: &FieldCipher, storage: Storage, n: u64) -> u64 {
    let ty = cipher.spec().value_type;
    let body = ty.fixed_len().map_or(n, |l| l as u64);
    let bin = body + cipher.spec().mode.suite().overhead() as u64;
    match storage {
        Storage::Binary => bin,
        Storage::Text => field::TEXT_PREFIX.len() as u64 + (4 * bin).div_ceil(3),
    }
}

/// The longest token a rotation writes, when it can write tokens longer
/// than the ones it replaces: only a change to a mode with more overhead
/// (deterministic to random) grows them, and then every token is read once
/// (their lengths give the plaintext lengths) before anything changes.
/// `None` when no token grows.
fn rotated_width(engine: &mut dyn Engine, t: &Target, cipher: &FieldCipher) -> Result<Option<u64>> {
    let target = cipher.spec().mode.suite().overhead();
    if ![Mode::Random, Mode::Deterministic]
        .iter()
        .any(|m| cipher.spec().accepts(*m) && m.suite().overhead() < target)
    {
        return Ok(None);
    }
    let storage = t.column.storage;
    let mut longest: Option<u64> = None;
    let mut after: Option<Pk> = None;
    loop {
        let rows = engine.fetch(t, after.as_ref(), DEFAULT_BATCH)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.pk.clone());
        for row in &rows {
            let Some(tok) = token_of(&row.value, storage) else {
                continue;
            };
            let Ok(info) = field::inspect(&tok) else {
                continue;
            };
            if info.suite.overhead() < target {
                let body = tok.len().saturating_sub(info.suite.overhead()) as u64;
                longest = Some(longest.map_or(body, |l| l.max(body)));
            }
        }
    }
    Ok(longest.map(|n| token_width(cipher, storage, n)))
}

/// Tries the tokens already in the column: if every one of them fails,
/// the keyring (or the table/column names) are wrong and nothing is done.
/// A rotation (`rotate`) by a cipher that keeps NULL also fails when a
/// sampled token holds a hidden NULL ([`Error::HiddenNull`]).
fn check_existing_tokens(
    engine: &mut dyn Engine,
    t: &Target,
    cipher: &FieldCipher,
    rotate: bool,
) -> Result<()> {
    let sample = engine.sample_tokens(t, 32)?;
    let mut tried = 0;
    let mut first = None;
    let mut failed = 0;
    for row in &sample {
        let Some(tok) = token_of(&row.value, t.column.storage) else {
            continue;
        };
        tried += 1;
        let key = row.pk.row_key();
        let rk = reads_with_rows(cipher).then_some(key.as_slice());
        match cipher.decrypt(&tok, rk) {
            Err(e) => {
                failed += 1;
                first.get_or_insert(e);
            }
            Ok(None) if rotate && !cipher.spec().hide_null => {
                return Err(Error::HiddenNull {
                    table: t.table.clone(),
                    column: t.column.name.clone(),
                });
            }
            Ok(_) => {}
        }
    }
    if tried > 0 && failed == tried {
        return Err(Error::WrongKey {
            table: t.table.clone(),
            column: t.column.name.clone(),
            sampled: tried,
            failed,
            source: first.expect("one failure"),
        });
    }
    Ok(())
}

/// Runs `job` on `engine`: resumes from the job's checkpoint if a previous
/// run was interrupted, and clears it when done.
pub fn run(engine: &mut dyn Engine, job: &Job<'_>) -> Result<Summary> {
    let started = Instant::now();
    let cipher = job.cipher;
    let t = engine.describe(&job.table, &job.column, job.index.as_deref())?;
    check_target(&t, cipher, job.op != Operation::Decrypt)?;
    let mut s = Summary {
        operation: job.op.name(),
        engine: engine.name(),
        table: t.table.clone(),
        column: t.column.name.clone(),
        index: t.index.as_ref().map(|i| i.name.clone()),
        dry_run: job.dry_run,
        ..Summary::default()
    };
    // The key, then the widths, before anything changes.
    check_existing_tokens(engine, &t, cipher, job.op == Operation::Rotate)?;
    if let Some(width) = t.column.width {
        let needed = match job.op {
            Operation::Encrypt => Some(token_width(cipher, t.column.storage, engine.max_len(&t)?)),
            Operation::Rotate => rotated_width(engine, &t, cipher)?,
            Operation::Decrypt => None,
        };
        if let Some(needed) = needed.filter(|n| *n > width) {
            if !job.widen {
                return Err(Error::TooNarrow {
                    table: t.table.clone(),
                    column: t.column.name.clone(),
                    declared: t.column.declared.clone(),
                    needed,
                    unit: if t.column.storage == Storage::Text {
                        "characters"
                    } else {
                        "bytes"
                    },
                });
            }
            if !job.dry_run {
                engine.widen(&t, &t.column, needed)?;
            }
            s.widened_to = Some(needed);
        }
    }
    let name = job.job_name();
    let checkpoint = engine.load_checkpoint(&name, t.pk_kind)?;
    let mut after = checkpoint.as_ref().map(|c| c.last_pk.clone());
    let mut total_changed = checkpoint.as_ref().map_or(0, |c| c.changed);
    s.resumed = checkpoint.is_some();
    let total = engine.count(&t)?;
    // A pipeline of two threads: this one reads batch N+1 and writes batch
    // N while the other one plans (encrypts) the batch it was given. Each
    // batch is still applied in key order, in its own transaction with its
    // checkpoint, exactly as a serial loop would; only the encryption of the
    // next batch overlaps the database's work on this one.
    std::thread::scope(|scope| -> Result<()> {
        let (to_plan, planned_rx) = {
            let (rows_tx, rows_rx) = mpsc::sync_channel::<Vec<Row>>(1);
            let (planned_tx, planned_rx) = mpsc::sync_channel::<Planned>(1);
            let t = &t;
            scope.spawn(move || {
                for rows in rows_rx {
                    let mut counts = Summary::default();
                    let read = rows.len() as u64;
                    let last_pk = rows.last().map(|r| r.pk.clone());
                    let updates = plan(job, t, rows, &mut counts, true);
                    if planned_tx
                        .send(Planned {
                            read,
                            last_pk,
                            updates,
                            counts,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            });
            (rows_tx, planned_rx)
        };
        let cancelled = || job.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        if cancelled() {
            return Err(Error::Cancelled);
        }
        let first = engine.fetch(&t, after.as_ref(), job.batch)?;
        let mut in_flight = !first.is_empty();
        if in_flight {
            after = first.last().map(|r| r.pk.clone());
            to_plan.send(first).map_err(|_| worker_gone())?;
        }
        while in_flight {
            // Read the next batch while the current one is planned.
            let next = if cancelled() {
                Vec::new()
            } else {
                engine.fetch(&t, after.as_ref(), job.batch)?
            };
            let batch = planned_rx.recv().map_err(|_| worker_gone())?;
            in_flight = !next.is_empty();
            if in_flight {
                after = next.last().map(|r| r.pk.clone());
                to_plan.send(next).map_err(|_| worker_gone())?;
            }
            if cancelled() {
                return Err(Error::Cancelled);
            }
            let mut pending = batch.updates?;
            s.add_counts(&batch.counts);
            s.rows += batch.read;
            let last_pk = batch.last_pk.expect("a batch has rows");
            if job.dry_run {
                s.changed += pending.len() as u64;
            } else {
                let mut first = true;
                for _attempt in 0..4 {
                    if pending.is_empty() {
                        break;
                    }
                    let cp = Checkpoint {
                        job: name.clone(),
                        last_pk: last_pk.clone(),
                        changed: total_changed + pending.len() as u64,
                    };
                    let n = engine.apply(&t, &pending, first.then_some(&cp))?;
                    first = false;
                    s.changed += n;
                    total_changed += n;
                    s.batches += 1;
                    if n == pending.len() as u64 {
                        pending.clear();
                        break;
                    }
                    // Some rows changed under us: read them again and redo
                    // those that still need it.
                    let keys: Vec<Pk> = pending.iter().map(|u| u.pk.clone()).collect();
                    let fresh = engine.fetch_keys(&t, &keys)?;
                    let mut scratch = Summary::default();
                    pending = plan(job, &t, fresh, &mut scratch, false)?;
                }
                s.changed_meanwhile += pending.len() as u64;
            }
            if let Some(p) = job.progress {
                p(Progress {
                    rows: s.rows,
                    total,
                    changed: s.changed,
                });
            }
        }
        Ok(())
    })?;
    if !job.dry_run {
        engine.clear_checkpoint(&name)?;
    }
    s.seconds = started.elapsed().as_secs_f64();
    s.rows_per_second = if s.seconds > 0.0 {
        s.rows as f64 / s.seconds
    } else {
        0.0
    };
    Ok(s)
}

/// One batch as the planning thread hands it back.
struct Planned {
    /// Rows read.
    read: u64,
    /// The batch's last primary key.
    last_pk: Option<Pk>,
    /// The updates, or why the batch could not be planned.
    updates: Result<Vec<Update>>,
    /// What [`plan`] counted.
    counts: Summary,
}

/// The planning thread stopped. It only does when it panicked, and the
/// scope then resumes that panic, so this error is never seen.
fn worker_gone() -> Error {
    Error::InvalidArgument("the encryption thread stopped".into())
}

impl Summary {
    /// Adds the row counts [`plan`] keeps.
    fn add_counts(&mut self, c: &Summary) {
        self.null += c.null;
        self.unchanged += c.unchanged;
        self.wrong_kind += c.wrong_kind;
        self.plaintext_left += c.plaintext_left;
        self.undecryptable += c.undecryptable;
        if self.first_undecryptable.is_none() {
            self.first_undecryptable.clone_from(&c.first_undecryptable);
        }
    }
}

/// The updates one batch of rows needs; counts the others in `s`.
fn plan(job: &Job<'_>, t: &Target, rows: Vec<Row>, s: &mut Summary, count: bool) -> Result<Vec<Update>> {
    let cipher = job.cipher;
    let storage = t.column.storage;
    let ty = cipher.spec().value_type;
    let hide_null = cipher.spec().hide_null;
    let bump = |f: &mut u64| {
        if count {
            *f += 1
        }
    };
    let undecryptable = |s: &mut Summary, pk: &Pk| {
        if count {
            s.undecryptable += 1;
            s.first_undecryptable.get_or_insert_with(|| pk.to_string());
        }
    };
    match job.op {
        Operation::Encrypt => {
            let mut todo: Vec<(Row, Option<Value>)> = Vec::new();
            for row in rows {
                if row.value.is_null() && !hide_null {
                    bump(&mut s.null);
                } else if token_of(&row.value, storage).is_some() {
                    bump(&mut s.unchanged);
                } else {
                    match plain_value(&row.value, storage, ty) {
                        None => todo.push((row, None)),
                        Some(Ok(v)) => todo.push((row, Some(v))),
                        Some(Err(_)) => bump(&mut s.wrong_kind),
                    }
                }
            }
            if job.dry_run || todo.is_empty() {
                return Ok(todo.into_iter().map(|(r, _)| dry_update(r)).collect());
            }
            let values: Vec<Option<Value>> = todo.iter_mut().map(|(_, v)| v.take()).collect();
            let keys: Vec<Vec<u8>> = todo.iter().map(|(r, _)| r.pk.row_key()).collect();
            let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            let rows_arg = (cipher.spec().mode == Mode::Random).then_some(key_refs.as_slice());
            let tokens = cipher.encrypt_batch(&values, rows_arg)?;
            let terms = if t.index.is_some() {
                cipher.index_batch(&values)?
            } else {
                vec![None; values.len()]
            };
            Ok(todo
                .into_iter()
                .zip(tokens)
                .zip(terms)
                .map(|(((row, _), token), term)| Update {
                    pk: row.pk,
                    old: row.value,
                    new: token.map_or(Cell::Null, |tk| token_cell(&tk, storage)),
                    index: term.map(|x| x.as_bytes().to_vec()),
                })
                .collect())
        }
        Operation::Rotate | Operation::Decrypt => {
            let mut todo: Vec<(Row, Vec<u8>)> = Vec::new();
            for row in rows {
                if row.value.is_null() {
                    bump(&mut s.null);
                    continue;
                }
                let Some(tok) = token_of(&row.value, storage) else {
                    if matches!(
                        (&row.value, storage),
                        (Cell::Text(_), Storage::Text) | (Cell::Bytes(_), Storage::Binary)
                    ) {
                        if job.op == Operation::Rotate {
                            bump(&mut s.plaintext_left)
                        } else {
                            bump(&mut s.unchanged)
                        }
                    } else {
                        bump(&mut s.wrong_kind);
                    }
                    continue;
                };
                if job.op == Operation::Rotate {
                    match cipher.needs_rewrap(&tok) {
                        Ok(false) => {
                            bump(&mut s.unchanged);
                            continue;
                        }
                        Ok(true) => {}
                        Err(_) => {
                            undecryptable(s, &row.pk);
                            continue;
                        }
                    }
                }
                todo.push((row, tok));
            }
            if todo.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<Vec<u8>> = todo.iter().map(|(r, _)| r.pk.row_key()).collect();
            let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            let read_rows = reads_with_rows(cipher).then_some(key_refs.as_slice());
            let tokens: Vec<Option<&[u8]>> = todo.iter().map(|(_, t)| Some(t.as_slice())).collect();
            let values = cipher.decrypt_batch(&tokens, read_rows)?;
            let mut ok: Vec<(Row, Option<Value>)> = Vec::with_capacity(todo.len());
            for ((row, _), v) in todo.into_iter().zip(values) {
                match v {
                    // A hidden NULL rotated by a column that keeps NULL
                    // would become a visible NULL: refused.
                    Ok(None) if job.op == Operation::Rotate && !hide_null => {
                        return Err(Error::HiddenNull {
                            table: t.table.clone(),
                            column: t.column.name.clone(),
                        });
                    }
                    Ok(v) => ok.push((row, v)),
                    Err(_) => undecryptable(s, &row.pk),
                }
            }
            if job.dry_run || ok.is_empty() {
                return Ok(ok.into_iter().map(|(r, _)| dry_update(r)).collect());
            }
            if job.op == Operation::Decrypt {
                return ok
                    .into_iter()
                    .map(|(row, v)| {
                        Ok(Update {
                            new: plain_cell(v.as_ref(), storage)?,
                            pk: row.pk,
                            old: row.value,
                            index: None,
                        })
                    })
                    .collect();
            }
            let values: Vec<Option<Value>> = ok.iter_mut().map(|(_, v)| v.take()).collect();
            let keys: Vec<Vec<u8>> = ok.iter().map(|(r, _)| r.pk.row_key()).collect();
            let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            let rows_arg = (cipher.spec().mode == Mode::Random).then_some(key_refs.as_slice());
            let fresh = cipher.encrypt_batch(&values, rows_arg)?;
            let terms = if t.index.is_some() {
                cipher.index_batch(&values)?
            } else {
                vec![None; values.len()]
            };
            Ok(ok
                .into_iter()
                .zip(fresh)
                .zip(terms)
                .map(|(((row, _), token), term)| Update {
                    pk: row.pk,
                    old: row.value,
                    new: token.map_or(Cell::Null, |tk| token_cell(&tk, storage)),
                    index: term.map(|x| x.as_bytes().to_vec()),
                })
                .collect())
        }
    }
}

/// A placeholder update for a dry run (never applied).
fn dry_update(row: Row) -> Update {
    Update {
        pk: row.pk,
        old: Cell::Null,
        new: Cell::Null,
        index: None,
    }
}

/// Counts of a column's rows by state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The engine.
    pub engine: &'static str,
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// `text` or `binary`.
    pub storage: &'static str,
    /// Rows.
    pub rows: u64,
    /// NULL rows.
    pub null: u64,
    /// Plaintext rows.
    pub plaintext: u64,
    /// Values of the wrong kind for the column.
    pub wrong_kind: u64,
    /// Tokens by mode and key version: `random v2` → count.
    pub tokens: BTreeMap<String, u64>,
    /// Tokens that did not decrypt (verify only).
    pub undecryptable: Option<u64>,
    /// Primary keys of the first undecryptable rows (at most 10).
    pub undecryptable_keys: Vec<String>,
    /// Rows whose blind index term is not the value's (verify with an
    /// index column only).
    pub index_mismatch: Option<u64>,
    /// An interrupted job's checkpoint, if any.
    pub pending_jobs: Vec<String>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Counts the column's rows by state from the token headers alone (no
/// key); with `cipher`, also decrypts every token (verify), and checks the
/// blind index column `index` when given. No value is returned or shown.
pub fn status(
    engine: &mut dyn Engine,
    table: &str,
    column: &str,
    index: Option<&str>,
    cipher: Option<&FieldCipher>,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<Status> {
    let started = Instant::now();
    let t = engine.describe(table, column, index)?;
    if let Some(c) = cipher {
        check_target(&t, c, false)?;
    }
    let mut st = Status {
        engine: engine.name(),
        table: t.table.clone(),
        column: t.column.name.clone(),
        storage: t.column.storage.name(),
        ..Status::default()
    };
    for op in ["encrypt", "decrypt"] {
        let name = format!("{op} {}.{}", t.table, t.column.name);
        if engine.load_checkpoint(&name, t.pk_kind)?.is_some() {
            st.pending_jobs.push(name);
        }
    }
    if let Some(c) = cipher {
        let name = format!("rotate {}.{} to v{}", t.table, t.column.name, c.primary_version());
        if engine.load_checkpoint(&name, t.pk_kind)?.is_some() {
            st.pending_jobs.push(name);
        }
        st.undecryptable = Some(0);
        if t.index.is_some() {
            st.index_mismatch = Some(0);
        }
    }
    let total = engine.count(&t)?;
    let mut after: Option<Pk> = None;
    loop {
        let rows = engine.fetch(&t, after.as_ref(), DEFAULT_BATCH)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.pk.clone());
        st.rows += rows.len() as u64;
        let mut toks: Vec<(Pk, Vec<u8>)> = Vec::new();
        for row in rows {
            if row.value.is_null() {
                st.null += 1;
                continue;
            }
            match token_of(&row.value, t.column.storage) {
                Some(tok) => {
                    let info = field::inspect(&tok).expect("checked by token_of");
                    let mode = Mode::of_suite(info.suite).name();
                    *st.tokens
                        .entry(format!("{mode} v{}", info.key_version))
                        .or_default() += 1;
                    toks.push((row.pk, tok));
                }
                None => match (&row.value, t.column.storage) {
                    (Cell::Text(_), Storage::Text) | (Cell::Bytes(_), Storage::Binary) => st.plaintext += 1,
                    _ => st.wrong_kind += 1,
                },
            }
        }
        if let Some(c) = cipher.filter(|_| !toks.is_empty()) {
            verify_batch(engine, &t, c, &toks, &mut st)?;
        }
        if let Some(p) = progress {
            p(Progress {
                rows: st.rows,
                total,
                changed: 0,
            });
        }
    }
    st.seconds = started.elapsed().as_secs_f64();
    Ok(st)
}

fn verify_batch(
    engine: &mut dyn Engine,
    t: &Target,
    c: &FieldCipher,
    toks: &[(Pk, Vec<u8>)],
    st: &mut Status,
) -> Result<()> {
    let keys: Vec<Vec<u8>> = toks.iter().map(|(pk, _)| pk.row_key()).collect();
    let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let tokens: Vec<Option<&[u8]>> = toks.iter().map(|(_, t)| Some(t.as_slice())).collect();
    // Deterministic tokens bind no row; random ones are read with theirs.
    let mut results = Vec::with_capacity(toks.len());
    if reads_with_rows(c) {
        let det: Vec<bool> = toks
            .iter()
            .map(|(_, t)| field::inspect(t).is_ok_and(|i| i.suite == Suite::Aes256Siv))
            .collect();
        if det.iter().any(|d| *d) && !c.spec().in_migration() {
            for ((tok, key), d) in toks.iter().zip(&key_refs).zip(&det) {
                results.push(c.decrypt(&tok.1, (!d).then_some(*key)));
            }
        } else {
            results = c.decrypt_batch(&tokens, Some(&key_refs))?;
        }
    } else {
        results = c.decrypt_batch(&tokens, None)?;
    }
    let index_of: BTreeMap<Pk, Option<Vec<u8>>> = if t.index.is_some() {
        let pks: Vec<Pk> = toks.iter().map(|(p, _)| p.clone()).collect();
        engine.fetch_index(t, &pks)?.into_iter().collect()
    } else {
        BTreeMap::new()
    };
    for ((pk, _), r) in toks.iter().zip(results) {
        match r {
            Ok(v) => {
                if t.index.is_some() {
                    let terms = c.lookup_terms(v.as_ref())?;
                    let stored = index_of.get(pk).cloned().flatten();
                    let ok = match (&stored, v.is_none()) {
                        // A hidden NULL has a random term: nothing to check.
                        (_, true) => true,
                        (Some(s), false) => terms.iter().any(|t| t.as_bytes() == s.as_slice()),
                        (None, false) => false,
                    };
                    if !ok {
                        *st.index_mismatch.get_or_insert(0) += 1;
                    }
                }
            }
            Err(_) => {
                *st.undecryptable.get_or_insert(0) += 1;
                if st.undecryptable_keys.len() < 10 {
                    st.undecryptable_keys.push(pk.to_string());
                }
            }
        }
    }
    Ok(())
}
