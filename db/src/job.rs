//! A job on one column ([`Job`]: encrypt, rotate or decrypt in place) and
//! what a run of it reports ([`Summary`], [`Progress`]). The run itself is
//! [`crate::run`].

use crate::error::{Error, Result};
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use strongroom::field::FieldCipher;

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

/// Progress of a running job, after every batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Rows read so far (this run).
    pub rows: u64,
    /// Rows changed so far (this run).
    pub changed: u64,
    /// The table's rows as estimated when the run started (statistics or
    /// the key range: no scan), when the engine has an estimate.
    pub estimated_total: Option<u64>,
}

/// Default rows per batch (and transaction).
pub const DEFAULT_BATCH: usize = 2000;

/// A job on one column. Build it with [`Job::new`] and the setters.
pub struct Job<'a> {
    pub(crate) op: Operation,
    pub(crate) table: String,
    pub(crate) column: String,
    pub(crate) index: Option<String>,
    pub(crate) cipher: &'a FieldCipher,
    pub(crate) batch: usize,
    pub(crate) dry_run: bool,
    pub(crate) widen: bool,
    pub(crate) progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    pub(crate) cancel: Option<&'a AtomicBool>,
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
    /// A job on `table.column` (`table` may be `schema.table`), whose
    /// tokens `cipher` makes and reads (its logical table and column names
    /// are bound into the tokens).
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

    /// Reads and counts without changing anything (and without creating
    /// or claiming a checkpoint: a read-only connection is enough).
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

    /// The job's identity in its checkpoint: the operation and everything
    /// that decides which rows it changes and how (the names bound into
    /// tokens, mode, accepted modes, type, NULL handling, index column and
    /// length, and a rotation's target version). A run resumes only a
    /// checkpoint of the same identity.
    pub fn identity(&self) -> String {
        let spec = self.cipher.spec();
        let head = match self.op {
            Operation::Rotate => format!(
                "rotate to {} v{}",
                spec.mode.name(),
                self.cipher.primary_version()
            ),
            op => op.name().to_string(),
        };
        let index = match (&self.index, &spec.blind_index) {
            (Some(i), Some(b)) => format!("index {i} ({} bytes, {})", b.len, b.normalizer.name()),
            (Some(i), None) => format!("index {i}"),
            (None, _) => "no index".into(),
        };
        format!(
            "{head} (binds {}.{}; {} tokens, accepts {}; {}; NULL {}; {index})",
            self.cipher.table(),
            self.cipher.column(),
            spec.mode.name(),
            spec.accepted_modes().name(),
            spec.value_type.name(),
            if spec.hide_null { "hidden" } else { "kept" },
        )
    }
}

/// What a run did. Every count is of rows this run read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `encrypt`, `rotate` or `decrypt`.
    pub operation: &'static str,
    /// The engine.
    pub engine: &'static str,
    /// How the connection travelled (`tls`, `cleartext`, `local`, ...).
    pub transport: Option<crate::engine::Transport>,
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// Blind index column.
    pub index: Option<String>,
    /// The job's identity (see [`Job::identity`]).
    pub job: String,
    /// This run's id (none for a dry run).
    pub run_id: Option<String>,
    /// Nothing was written.
    pub dry_run: bool,
    /// The run continued an interrupted run of the same job.
    pub resumed: bool,
    /// The primary key the run resumed after (the interrupted run had done
    /// every row up to it).
    pub resumed_after: Option<String>,
    /// Rows read.
    pub rows: u64,
    /// Rows written: a value encrypted, rotated or decrypted, or only its
    /// blind index term written or cleared (dry run: rows that would be).
    pub changed: u64,
    /// Rows already in the wanted state (tokens of this column for
    /// encrypt, tokens on the primary version for rotate, plaintext for
    /// decrypt).
    pub unchanged: u64,
    /// NULL rows (left NULL).
    pub null: u64,
    /// Plaintext rows a rotation left alone.
    pub plaintext_left: u64,
    /// Values shaped like tokens that do not authenticate under this
    /// column (another keyring, column or row, or damaged): left unchanged.
    pub undecryptable: u64,
    /// Primary key of the first undecryptable row.
    pub first_undecryptable: Option<String>,
    /// Values that are neither plaintext of the column's kind nor tokens
    /// (see [`crate::classify`]): left unchanged.
    pub wrong_kind: u64,
    /// Primary key of the first of them, and what it is.
    pub first_wrong_kind: Option<(String, String)>,
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

impl Summary {
    /// Whether the run did all its rows: `Ok` only if no row it should
    /// have changed was left as it was. A run that leaves a value in
    /// cleartext, or a row it could not finish, is an error here (and a
    /// nonzero exit code on the command line), in this order:
    /// [`Error::Undecryptable`], [`Error::WrongKind`] (encrypt, rotate),
    /// [`Error::PlaintextLeft`] (rotate), [`Error::ChangedMeanwhile`].
    pub fn check(&self) -> Result<()> {
        let (table, column) = (self.table.clone(), self.column.clone());
        let protects = self.operation != Operation::Decrypt.name();
        if self.undecryptable > 0 {
            return Err(Error::Undecryptable {
                table,
                column,
                count: self.undecryptable,
                first: self.first_undecryptable.clone().unwrap_or_default(),
            });
        }
        if protects && self.wrong_kind > 0 {
            let (first, what) = self.first_wrong_kind.clone().unwrap_or_default();
            return Err(Error::WrongKind {
                table,
                column,
                count: self.wrong_kind,
                first,
                what,
            });
        }
        if self.operation == Operation::Rotate.name() && self.plaintext_left > 0 {
            return Err(Error::PlaintextLeft {
                table,
                column,
                count: self.plaintext_left,
            });
        }
        if self.changed_meanwhile > 0 {
            return Err(Error::ChangedMeanwhile {
                table,
                column,
                count: self.changed_meanwhile,
            });
        }
        Ok(())
    }
}

/// The row counts one batch adds to a [`Summary`].
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) null: u64,
    pub(crate) unchanged: u64,
    pub(crate) plaintext_left: u64,
    pub(crate) undecryptable: u64,
    pub(crate) first_undecryptable: Option<String>,
    pub(crate) wrong_kind: u64,
    pub(crate) first_wrong_kind: Option<(String, String)>,
}

impl Counts {
    pub(crate) fn undecryptable(&mut self, pk: &crate::engine::Pk) {
        self.undecryptable += 1;
        self.first_undecryptable.get_or_insert_with(|| pk.to_string());
    }

    pub(crate) fn wrong_kind(&mut self, pk: &crate::engine::Pk, what: &str) {
        self.wrong_kind += 1;
        self.first_wrong_kind
            .get_or_insert_with(|| (pk.to_string(), what.to_string()));
    }
}

impl Summary {
    /// Adds a batch's counts.
    pub(crate) fn add(&mut self, c: &Counts) {
        self.null += c.null;
        self.unchanged += c.unchanged;
        self.plaintext_left += c.plaintext_left;
        self.undecryptable += c.undecryptable;
        self.wrong_kind += c.wrong_kind;
        if self.first_undecryptable.is_none() {
            self.first_undecryptable.clone_from(&c.first_undecryptable);
        }
        if self.first_wrong_kind.is_none() {
            self.first_wrong_kind.clone_from(&c.first_wrong_kind);
        }
    }
}
