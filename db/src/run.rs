//! A run of a [`Job`]: the checks before anything changes (names, types,
//! the keyring against the tokens already there, widths), the claim of the
//! column's checkpoint, then batches in primary-key order up to the
//! largest key present at the start, each written with compare-and-swap
//! updates and the checkpoint in one transaction.

use crate::checkpoint::{self, CHECKPOINT_TABLE, Checkpoint, CheckpointWrite, Claim};
use crate::classify::{Shape, shape};
use crate::engine::{Engine, Pk, Row, Storage, Target, Update};
use crate::error::{Error, Result};
use crate::job::{Counts, DEFAULT_BATCH, Job, Operation, Progress, Summary};
use crate::plan::{authenticate, plan};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Instant;
use strongroom::field::{self, FieldCipher, Mode, ValueType};

/// Checks the column, its index column and the cipher against each other.
pub(crate) fn check_target(t: &Target, cipher: &FieldCipher, want_index: bool) -> Result<()> {
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

/// Every row up to `upto`, batch by batch, to `f`. Finishes: the keys read
/// increase in the database's order and stop at `upto`, and a batch that
/// does not move past the previous one is an error, not a loop.
pub(crate) fn for_each_batch(
    engine: &mut dyn Engine,
    t: &Target,
    mut after: Option<Pk>,
    upto: &Pk,
    batch: usize,
    mut f: impl FnMut(&mut dyn Engine, Vec<Row>) -> Result<()>,
) -> Result<()> {
    loop {
        let rows = engine.fetch(t, after.as_ref(), upto, batch)?;
        let Some(last) = rows.last() else { return Ok(()) };
        advance(&mut after, &rows[0].pk, last.pk.clone())?;
        f(engine, rows)?;
    }
}

/// Moves the cursor to `last`, refusing a batch that starts at the cursor
/// itself (a key that does not survive the round trip to the database and
/// back would otherwise read the same rows forever).
fn advance(after: &mut Option<Pk>, first: &Pk, last: Pk) -> Result<()> {
    if after.as_ref().is_some_and(|a| a == first || *a == last) {
        return Err(Error::InvalidArgument(format!(
            "reading in primary-key order did not move past key {first}; the key does not compare in the database as it reads"
        )));
    }
    *after = Some(last);
    Ok(())
}

/// The longest token a rotation writes, when it can write tokens longer
/// than the ones it replaces: only a change to a mode with more overhead
/// (deterministic to random) grows them, and then every token is read once
/// (their lengths give the plaintext lengths) before anything changes.
/// `None` when no token grows.
fn rotated_width(
    engine: &mut dyn Engine,
    t: &Target,
    cipher: &FieldCipher,
    upto: &Pk,
) -> Result<Option<u64>> {
    let target = cipher.spec().mode.suite().overhead();
    if ![Mode::Random, Mode::Deterministic]
        .iter()
        .any(|m| cipher.spec().accepts(*m) && m.suite().overhead() < target)
    {
        return Ok(None);
    }
    let storage = t.column.storage;
    let mut longest: Option<u64> = None;
    for_each_batch(engine, t, None, upto, DEFAULT_BATCH, |_, rows| {
        for row in &rows {
            if let Shape::Token(tok) = shape(&row.value, storage)
                && let Ok(info) = field::inspect(&tok)
                && info.suite.overhead() < target
            {
                let body = tok.len().saturating_sub(info.suite.overhead()) as u64;
                longest = Some(longest.map_or(body, |l| l.max(body)));
            }
        }
        Ok(())
    })?;
    Ok(longest.map(|n| token_width(cipher, storage, n)))
}

/// Tries the tokens already in the column: if every one of them fails,
/// the keyring (or the table/column names) are wrong and nothing is done.
/// A rotation by a cipher that keeps NULL also fails when a sampled token
/// holds a hidden NULL ([`Error::HiddenNull`]).
fn check_existing_tokens(
    engine: &mut dyn Engine,
    t: &Target,
    cipher: &FieldCipher,
    rotate: bool,
) -> Result<()> {
    let sample = engine.sample_tokens(t, 32)?;
    let shapes: Vec<Shape> = sample.iter().map(|r| shape(&r.value, t.column.storage)).collect();
    let tokens: Vec<(&Row, &[u8])> = sample
        .iter()
        .zip(&shapes)
        .filter_map(|(r, s)| match s {
            Shape::Token(b) => Some((r, b.as_slice())),
            _ => None,
        })
        .collect();
    let mut first = None;
    let mut failed = 0;
    for r in authenticate(cipher, &tokens)? {
        match r {
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
    match first {
        Some(source) if failed == tokens.len() => Err(Error::WrongKey {
            table: t.table.clone(),
            column: t.column.name.clone(),
            sampled: tokens.len(),
            failed,
            source,
        }),
        _ => Ok(()),
    }
}

/// Makes sure the checkpoint table exists: creates it when missing, and
/// names what the administrator must do when this connection may not.
pub(crate) fn ensure_checkpoint_table(engine: &mut dyn Engine) -> Result<()> {
    if engine.checkpoint_table_exists()? {
        return Ok(());
    }
    match engine.create_checkpoint_table() {
        Ok(()) => Ok(()),
        // Created by a concurrent run meanwhile.
        Err(_) if engine.checkpoint_table_exists()? => Ok(()),
        Err(e) => Err(Error::CheckpointTable {
            table: CHECKPOINT_TABLE,
            reason: e.to_string(),
        }),
    }
}

/// Runs `job` on `engine`: resumes an interrupted run of the same job,
/// starts over after another job, and removes its checkpoint when done.
/// The summary says what it did; [`Summary::check`] says whether that is
/// a success.
pub fn run(engine: &mut dyn Engine, job: &Job<'_>) -> Result<Summary> {
    let started = Instant::now();
    let cipher = job.cipher;
    let t = engine.describe(&job.table, &job.column, job.index.as_deref())?;
    check_target(&t, cipher, job.op != Operation::Decrypt)?;
    let mut s = Summary {
        operation: job.op.name(),
        engine: engine.name(),
        transport: Some(engine.transport()?),
        table: t.table.clone(),
        column: t.column.name.clone(),
        index: t.index.as_ref().map(|i| i.name.clone()),
        job: job.identity(),
        dry_run: job.dry_run,
        ..Summary::default()
    };
    let Some(upto) = engine.max_pk(&t)? else {
        // An empty table: nothing to do, nothing to claim.
        s.seconds = started.elapsed().as_secs_f64();
        return Ok(s);
    };
    // The key, then the widths, before anything changes.
    check_existing_tokens(engine, &t, cipher, job.op == Operation::Rotate)?;
    if let Some(width) = t.column.width {
        let needed = match job.op {
            Operation::Encrypt => Some(token_width(cipher, t.column.storage, engine.max_len(&t)?)),
            Operation::Rotate => rotated_width(engine, &t, cipher, &upto)?,
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
    let key = t.column_key();
    let previous = if job.dry_run {
        // A dry run counts from where the job would resume; a role that
        // may not read the checkpoint table (read-only) counts every row.
        if engine.checkpoint_table_exists()? {
            engine.load_checkpoint(&key).ok().flatten()
        } else {
            None
        }
    } else {
        ensure_checkpoint_table(engine)?;
        engine.load_checkpoint(&key)?
    };
    let claim = Claim {
        column_key: key.clone(),
        job: job.identity(),
        run_id: checkpoint::new_run_id(),
        previous,
        now: checkpoint::now(),
    };
    let resume: Option<&Checkpoint> = claim.previous.as_ref().filter(|_| claim.resumes());
    let mut after = resume.and_then(|c| c.last(t.pk_kind));
    let mut job_changed = resume.map_or(0, |c| c.changed);
    s.resumed = resume.is_some();
    s.resumed_after = after.as_ref().map(Pk::to_string);
    if !job.dry_run {
        engine.claim(&claim)?;
        s.run_id = Some(claim.run_id.clone());
    }
    let estimated_total = engine.estimate_rows(&t)?;
    // A pipeline of two threads: this one reads batch N+1 and writes batch
    // N while the other one plans (authenticates, encrypts) the batch it
    // was given. Each batch is still applied in key order, in its own
    // transaction with its checkpoint, exactly as a serial loop would.
    std::thread::scope(|scope| -> Result<()> {
        let (to_plan, planned_rx) = {
            let (rows_tx, rows_rx) = mpsc::sync_channel::<Vec<Row>>(1);
            let (planned_tx, planned_rx) = mpsc::sync_channel::<Planned>(1);
            let t = &t;
            scope.spawn(move || {
                for rows in rows_rx {
                    let mut counts = Counts::default();
                    let updates = plan(job, t, &rows, &mut counts);
                    let planned = Planned {
                        read: rows.len() as u64,
                        last_pk: rows.last().map(|r| r.pk.clone()),
                        updates,
                        counts,
                    };
                    if planned_tx.send(planned).is_err() {
                        break;
                    }
                }
            });
            (rows_tx, planned_rx)
        };
        let cancelled = || job.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        let fetch_next = |engine: &mut dyn Engine, after: &mut Option<Pk>| -> Result<Option<Vec<Row>>> {
            if cancelled() {
                return Ok(None);
            }
            let rows = engine.fetch(&t, after.as_ref(), &upto, job.batch)?;
            match rows.last() {
                None => Ok(None),
                Some(last) => {
                    advance(after, &rows[0].pk, last.pk.clone())?;
                    Ok(Some(rows))
                }
            }
        };
        if cancelled() {
            return Err(Error::Cancelled);
        }
        let mut in_flight = match fetch_next(engine, &mut after)? {
            Some(rows) => {
                to_plan.send(rows).map_err(|_| worker_gone())?;
                true
            }
            None => false,
        };
        while in_flight {
            // Read the next batch while the current one is planned.
            let next = fetch_next(engine, &mut after)?;
            let batch = planned_rx.recv().map_err(|_| worker_gone())?;
            in_flight = match next {
                Some(rows) => {
                    to_plan.send(rows).map_err(|_| worker_gone())?;
                    true
                }
                None => false,
            };
            if cancelled() {
                return Err(Error::Cancelled);
            }
            let mut pending = batch.updates?;
            s.add(&batch.counts);
            s.rows += batch.read;
            let last_pk = batch.last_pk.expect("a batch has rows");
            if job.dry_run {
                s.changed += pending.len() as u64;
            } else {
                let written = write_batch(
                    engine,
                    job,
                    &t,
                    &key,
                    &claim.run_id,
                    last_pk,
                    job_changed,
                    &mut pending,
                )?;
                s.changed += written.changed;
                s.batches += written.transactions;
                job_changed += written.changed;
                s.changed_meanwhile += pending.len() as u64;
            }
            if let Some(p) = job.progress {
                p(Progress {
                    rows: s.rows,
                    changed: s.changed,
                    estimated_total,
                });
            }
        }
        Ok(())
    })?;
    if !job.dry_run {
        engine.release(&key, &claim.run_id)?;
    }
    s.seconds = started.elapsed().as_secs_f64();
    s.rows_per_second = if s.seconds > 0.0 {
        s.rows as f64 / s.seconds
    } else {
        0.0
    };
    Ok(s)
}

/// What [`write_batch`] wrote.
struct Written {
    changed: u64,
    transactions: u64,
}

/// Applies a batch's updates with its checkpoint; rows the application
/// changed between the read and the write are read again and redone (up
/// to three more times). What is left in `pending` could not be done.
#[allow(clippy::too_many_arguments)]
fn write_batch(
    engine: &mut dyn Engine,
    job: &Job<'_>,
    t: &Target,
    key: &str,
    run_id: &str,
    last_pk: Pk,
    job_changed: u64,
    pending: &mut Vec<Update>,
) -> Result<Written> {
    let mut w = Written {
        changed: 0,
        transactions: 0,
    };
    for attempt in 0..4 {
        // The first transaction of a batch writes its checkpoint even when
        // nothing in it changes; retries update the count.
        if pending.is_empty() && attempt > 0 {
            break;
        }
        let cp = CheckpointWrite {
            column_key: key.to_string(),
            run_id: run_id.to_string(),
            last_pk: last_pk.clone(),
            changed_before: job_changed + w.changed,
            now: checkpoint::now(),
        };
        let n = engine.apply(t, pending, Some(&cp))?;
        w.changed += n;
        w.transactions += 1;
        if n == pending.len() as u64 {
            pending.clear();
            break;
        }
        // Some rows changed under us: read them again and redo those that
        // still need it.
        let keys: Vec<Pk> = pending.iter().map(|u| u.pk.clone()).collect();
        let fresh = engine.fetch_keys(t, &keys)?;
        *pending = plan(job, t, &fresh, &mut Counts::default())?;
    }
    Ok(w)
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
    counts: Counts,
}

/// The planning thread stopped. It only does when it panicked, and the
/// scope then resumes that panic, so this error is never seen.
fn worker_gone() -> Error {
    Error::InvalidArgument("the encryption thread stopped".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_must_move() {
        let mut after = Some(Pk::Int(5));
        assert!(advance(&mut after, &Pk::Int(6), Pk::Int(9)).is_ok());
        assert_eq!(after, Some(Pk::Int(9)));
        assert!(matches!(
            advance(&mut after, &Pk::Int(9), Pk::Int(12)),
            Err(Error::InvalidArgument(_))
        ));
        assert!(advance(&mut after, &Pk::Int(1), Pk::Int(9)).is_err());
        let mut none = None;
        assert!(advance(&mut none, &Pk::Int(1), Pk::Int(1)).is_ok());
    }
}
