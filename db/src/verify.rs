//! `db status` (counts by state, from the values alone, no key) and `db
//! verify` (every token authenticated, every blind index term checked, no
//! value shown). Each value is read in one statement with its index term;
//! a row that looks wrong is read again before it is reported, so an
//! application writing meanwhile does not cause false reports.

use crate::checkpoint::Checkpoint;
use crate::classify::{Shape, shape};
use crate::engine::{Engine, Pk, Row, Target, Transport};
use crate::error::{Error, Result};
use crate::job::{DEFAULT_BATCH, Progress};
use crate::plan::{authenticate, term_matches};
use crate::run::{check_target, for_each_batch};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use strongroom::field::{self, FieldCipher, Mode};

/// Counts of a column's rows by state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The engine.
    pub engine: &'static str,
    /// How the connection travelled.
    pub transport: Option<Transport>,
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
    /// Values that are neither plaintext of the column's kind nor tokens.
    pub wrong_kind: u64,
    /// Primary keys of the first of them (at most 10).
    pub wrong_kind_keys: Vec<String>,
    /// Values shaped like tokens, by mode and key version from their
    /// header: `random v2` → count (authenticated by verify only).
    pub tokens: BTreeMap<String, u64>,
    /// Tokens that did not decrypt (verify only).
    pub undecryptable: Option<u64>,
    /// Primary keys of the first undecryptable rows (at most 10).
    pub undecryptable_keys: Vec<String>,
    /// Rows whose blind index term is not their value's, and NULL rows
    /// with a term (verify with an index column only).
    pub index_mismatch: Option<u64>,
    /// Primary keys of the first of them (at most 10).
    pub index_mismatch_keys: Vec<String>,
    /// The column's checkpoint: a job running, or interrupted.
    pub checkpoint: Option<Checkpoint>,
    /// Jobs running or interrupted on the column (their identities).
    pub pending_jobs: Vec<String>,
    /// Why the checkpoint could not be read, when it could not (a
    /// read-only role without rights on the checkpoint table).
    pub checkpoint_unreadable: Option<String>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl Status {
    /// What `db verify` requires: every token authenticates, every index
    /// term matches, no value of the wrong kind, and no plaintext unless
    /// `allow_plaintext`. The first failure in that order.
    pub fn check(&self, allow_plaintext: bool, index_column: Option<&str>) -> Result<()> {
        let (table, column) = (self.table.clone(), self.column.clone());
        if let Some(count) = self.undecryptable.filter(|n| *n > 0) {
            return Err(Error::Undecryptable {
                table,
                column,
                count,
                first: self.undecryptable_keys.first().cloned().unwrap_or_default(),
            });
        }
        if let Some(count) = self.index_mismatch.filter(|n| *n > 0) {
            return Err(Error::IndexMismatch {
                table,
                column: index_column.unwrap_or_default().to_string(),
                count,
            });
        }
        if self.wrong_kind > 0 {
            return Err(Error::WrongKind {
                table,
                column,
                count: self.wrong_kind,
                first: self.wrong_kind_keys.first().cloned().unwrap_or_default(),
                what: "neither plaintext of the column's kind nor a token".into(),
            });
        }
        if self.plaintext > 0 && !allow_plaintext {
            return Err(Error::PlaintextLeft {
                table,
                column,
                count: self.plaintext,
            });
        }
        Ok(())
    }
}

/// What one row is.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Null,
    /// NULL, with a blind index term it should not have (verify only).
    StrayTerm,
    Plain,
    WrongKind,
    /// A token: its header's label, and what verify found.
    Token(String, Check),
}

/// What verify found of a token.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    Unchecked,
    Ok,
    Undecryptable,
    IndexMismatch,
}

/// Counts the column's rows by state from the values alone (no key); with
/// `cipher`, also authenticates every token (verify), and checks the blind
/// index column `index` when given. No value is returned or shown.
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
        transport: Some(engine.transport()?),
        table: t.table.clone(),
        column: t.column.name.clone(),
        storage: t.column.storage.name(),
        ..Status::default()
    };
    match read_checkpoint(engine, &t) {
        Ok(cp) => {
            st.pending_jobs = cp.iter().map(|c| c.job.clone()).collect();
            st.checkpoint = cp;
        }
        Err(e) => st.checkpoint_unreadable = Some(e.to_string()),
    }
    if cipher.is_some() {
        st.undecryptable = Some(0);
        if t.index.is_some() {
            st.index_mismatch = Some(0);
        }
    }
    let Some(upto) = engine.max_pk(&t)? else {
        st.seconds = started.elapsed().as_secs_f64();
        return Ok(st);
    };
    let estimated_total = engine.estimate_rows(&t)?;
    for_each_batch(engine, &t, None, &upto, DEFAULT_BATCH, |engine, rows| {
        let mut verdicts = judge(&t, cipher, &rows)?;
        let suspects: Vec<Pk> = verdicts
            .iter()
            .zip(&rows)
            .filter(|(v, _)| is_suspect(v))
            .map(|(_, r)| r.pk.clone())
            .collect();
        if !suspects.is_empty() {
            // Read them again (value and term together), after a moment:
            // an application writing a value and then its term is not
            // reported in between.
            std::thread::sleep(Duration::from_millis(50));
            let fresh = engine.fetch_keys(&t, &suspects)?;
            let again: HashMap<Pk, Verdict> = fresh
                .iter()
                .map(|r| r.pk.clone())
                .zip(judge(&t, cipher, &fresh)?)
                .collect();
            for (v, row) in verdicts.iter_mut().zip(&rows) {
                if is_suspect(v) {
                    // A row deleted meanwhile is not a problem to report.
                    *v = again.get(&row.pk).cloned().unwrap_or(Verdict::Null);
                }
            }
        }
        for (v, row) in verdicts.into_iter().zip(&rows) {
            tally(&mut st, v, &row.pk);
        }
        if let Some(p) = progress {
            p(Progress {
                rows: st.rows,
                changed: 0,
                estimated_total,
            });
        }
        Ok(())
    })?;
    st.seconds = started.elapsed().as_secs_f64();
    Ok(st)
}

/// The column's checkpoint, if the table exists and can be read.
fn read_checkpoint(engine: &mut dyn Engine, t: &Target) -> Result<Option<Checkpoint>> {
    if !engine.checkpoint_table_exists()? {
        return Ok(None);
    }
    engine.load_checkpoint(&t.column_key())
}

fn is_suspect(v: &Verdict) -> bool {
    matches!(
        v,
        Verdict::StrayTerm | Verdict::Token(_, Check::Undecryptable | Check::IndexMismatch)
    )
}

/// The verdict of every row.
fn judge(t: &Target, cipher: Option<&FieldCipher>, rows: &[Row]) -> Result<Vec<Verdict>> {
    let storage = t.column.storage;
    let shapes: Vec<Shape> = rows.iter().map(|r| shape(&r.value, storage)).collect();
    let mut verdicts: Vec<Verdict> = shapes
        .iter()
        .zip(rows)
        .map(|(s, row)| match s {
            Shape::Null if cipher.is_some() && t.index.is_some() && row.index.is_some() => Verdict::StrayTerm,
            Shape::Null => Verdict::Null,
            Shape::Plain => Verdict::Plain,
            Shape::WrongKind(_) => Verdict::WrongKind,
            Shape::Token(b) => {
                let info = field::inspect(b).expect("checked by shape");
                let label = format!("{} v{}", Mode::of_suite(info.suite).name(), info.key_version);
                Verdict::Token(label, Check::Unchecked)
            }
        })
        .collect();
    let Some(cipher) = cipher else {
        return Ok(verdicts);
    };
    let tokens: Vec<(&Row, &[u8])> = rows
        .iter()
        .zip(&shapes)
        .filter_map(|(r, s)| match s {
            Shape::Token(b) => Some((r, b.as_slice())),
            _ => None,
        })
        .collect();
    let mut opened = authenticate(cipher, &tokens)?.into_iter();
    for ((v, s), row) in verdicts.iter_mut().zip(&shapes).zip(rows) {
        if !matches!(s, Shape::Token(_)) {
            continue;
        }
        let Verdict::Token(_, check) = v else { continue };
        *check = match opened.next().expect("one result per token") {
            Err(_) => Check::Undecryptable,
            Ok(value)
                if t.index.is_some() && !term_matches(cipher, value.as_ref(), row.index.as_deref())? =>
            {
                Check::IndexMismatch
            }
            Ok(_) => Check::Ok,
        };
    }
    Ok(verdicts)
}

fn tally(st: &mut Status, v: Verdict, pk: &Pk) {
    st.rows += 1;
    let keep = |keys: &mut Vec<String>| {
        if keys.len() < 10 {
            keys.push(pk.to_string());
        }
    };
    match v {
        Verdict::Null => st.null += 1,
        Verdict::Plain => st.plaintext += 1,
        Verdict::WrongKind => {
            st.wrong_kind += 1;
            keep(&mut st.wrong_kind_keys);
        }
        Verdict::StrayTerm => {
            st.null += 1;
            *st.index_mismatch.get_or_insert(0) += 1;
            keep(&mut st.index_mismatch_keys);
        }
        Verdict::Token(label, check) => {
            *st.tokens.entry(label).or_default() += 1;
            match check {
                Check::Undecryptable => {
                    *st.undecryptable.get_or_insert(0) += 1;
                    keep(&mut st.undecryptable_keys);
                }
                Check::IndexMismatch => {
                    *st.index_mismatch.get_or_insert(0) += 1;
                    keep(&mut st.index_mismatch_keys);
                }
                Check::Ok | Check::Unchecked => {}
            }
        }
    }
}
