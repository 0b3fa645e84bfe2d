//! Checkpoints: where a job on a column got to, kept in the table
//! [`CHECKPOINT_TABLE`] of the database itself, one row per column.
//!
//! A checkpoint belongs to **one job** (the operation and everything that
//! decides which rows it changes: mode, type, NULL handling, index column,
//! target key version) **and one run** of it (a random run id). A run
//! claims the column before its first batch: it takes over the checkpoint
//! of an interrupted run of the same job (and resumes after its last
//! primary key), and replaces any other job's checkpoint (another job has
//! changed rows, so nothing before that checkpoint can be trusted to be
//! done: the run starts from the first row). Every batch writes the
//! checkpoint in the transaction of its updates, on the condition that the
//! run still holds it; a run whose column was claimed by another run stops
//! ([`Error::ConcurrentRun`](crate::Error::ConcurrentRun)) with its
//! current batch rolled back. A finished run removes its checkpoint.
//!
//! An administrator can create the table once ([`ddl`], `strongroom db
//! setup`) and grant the jobs' role `SELECT, INSERT, UPDATE, DELETE` on
//! it; a job creates it only when it is missing.

use crate::engine::{Pk, PkKind, quote};
use serde::Serialize;

/// The table every engine keeps checkpoints in. (Earlier versions kept
/// them in `strongroom_migrations`, one row per job name; those rows are
/// not read: a run without a checkpoint starts from the first row, which
/// is always safe.)
pub const CHECKPOINT_TABLE: &str = "strongroom_checkpoints";

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The column (see [`crate::engine::Target::column_key`]).
    pub column_key: String,
    /// The job (see [`crate::job::Job::identity`]), e.g.
    /// `encrypt (random, text, NULL kept, index idx)`.
    pub job: String,
    /// The run holding it.
    pub run_id: String,
    /// The primary key of the last committed batch (text form); `None`
    /// when the run has committed no batch yet.
    pub last_pk: Option<String>,
    /// Rows changed by the job so far (every run of it).
    pub changed: u64,
    /// When the job started (UTC, ISO 8601).
    pub started_at: String,
    /// When the checkpoint was last written (UTC, ISO 8601).
    pub updated_at: String,
}

impl Checkpoint {
    /// The last primary key done, as a key of `kind`.
    pub fn last(&self, kind: PkKind) -> Option<Pk> {
        self.last_pk.as_deref().and_then(|s| Pk::decode(kind, s))
    }
}

/// What a batch writes to the checkpoint, in the batch's transaction, on
/// the condition that `run_id` still holds the column.
#[derive(Debug, Clone)]
pub struct CheckpointWrite {
    /// The column.
    pub column_key: String,
    /// The run.
    pub run_id: String,
    /// The batch's last primary key.
    pub last_pk: Pk,
    /// Rows the job changed before this write; the engine adds the rows
    /// the transaction changed.
    pub changed_before: u64,
    /// Now.
    pub now: String,
}

/// A run claiming a column before its first batch.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The column.
    pub column_key: String,
    /// The job.
    pub job: String,
    /// The new run.
    pub run_id: String,
    /// The checkpoint found when the run started (`None`: none), which the
    /// claim replaces on the condition that it is still there unchanged.
    pub previous: Option<Checkpoint>,
    /// Now.
    pub now: String,
}

impl Claim {
    /// Whether the run resumes the previous run of the same job.
    pub fn resumes(&self) -> bool {
        self.previous.as_ref().is_some_and(|p| p.job == self.job)
    }
}

/// A parameter of the checkpoint statements.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Null,
}

/// One statement and its parameters, in order.
pub(crate) type Stmt = (String, Vec<Arg>);

/// How an engine spells parameters: `?` or `$1`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Params {
    Question,
    Dollar,
}

impl Params {
    fn list(self, n: usize) -> Vec<String> {
        (1..=n)
            .map(|i| match self {
                Params::Question => "?".to_string(),
                Params::Dollar => format!("${i}"),
            })
            .collect()
    }
}

/// The checkpoint table's `CREATE TABLE` for an engine (`sqlite`,
/// `postgres` or `mysql`): what `strongroom db setup` runs and prints.
pub fn ddl(engine: &str) -> String {
    let t = CHECKPOINT_TABLE;
    match engine {
        "mysql" => format!(
            "CREATE TABLE {t} (\n  column_key VARCHAR(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY,\n  job TEXT CHARACTER SET utf8mb4 NOT NULL,\n  run_id VARCHAR(32) CHARACTER SET ascii NOT NULL,\n  last_pk TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,\n  changed BIGINT NOT NULL,\n  started_at VARCHAR(40) NOT NULL,\n  updated_at VARCHAR(40) NOT NULL\n)"
        ),
        _ => format!(
            "CREATE TABLE {t} (\n  column_key TEXT PRIMARY KEY,\n  job TEXT NOT NULL,\n  run_id TEXT NOT NULL,\n  last_pk TEXT,\n  changed BIGINT NOT NULL,\n  started_at TEXT NOT NULL,\n  updated_at TEXT NOT NULL\n)"
        ),
    }
}

/// The statements of the checkpoint table, in an engine's spelling.
#[derive(Debug)]
pub(crate) struct Sql {
    params: Params,
    table: String,
}

impl Sql {
    pub(crate) fn new(params: Params, quote_char: char) -> Self {
        Self {
            params,
            table: quote(CHECKPOINT_TABLE, quote_char),
        }
    }

    /// Reads a column's checkpoint: `column_key` → (job, run_id, last_pk,
    /// changed, started_at, updated_at).
    pub(crate) fn select(&self, column_key: &str) -> Stmt {
        let p = self.params.list(1);
        (
            format!(
                "SELECT job, run_id, last_pk, changed, started_at, updated_at FROM {} WHERE column_key = {}",
                self.table, p[0]
            ),
            vec![Arg::Text(column_key.into())],
        )
    }

    /// The statement that claims a column: an insert when there was no
    /// checkpoint, else a conditional update of the one found. It must
    /// change exactly one row.
    pub(crate) fn claim(&self, c: &Claim) -> Stmt {
        match &c.previous {
            None => {
                let p = self.params.list(7);
                (
                    format!(
                        "INSERT INTO {} (column_key, job, run_id, last_pk, changed, started_at, updated_at) VALUES ({})",
                        self.table,
                        p.join(", ")
                    ),
                    vec![
                        Arg::Text(c.column_key.clone()),
                        Arg::Text(c.job.clone()),
                        Arg::Text(c.run_id.clone()),
                        Arg::Null,
                        Arg::Int(0),
                        Arg::Text(c.now.clone()),
                        Arg::Text(c.now.clone()),
                    ],
                )
            }
            Some(prev) if c.resumes() => {
                let p = self.params.list(4);
                (
                    format!(
                        "UPDATE {} SET run_id = {}, updated_at = {} WHERE column_key = {} AND run_id = {}",
                        self.table, p[0], p[1], p[2], p[3]
                    ),
                    vec![
                        Arg::Text(c.run_id.clone()),
                        Arg::Text(c.now.clone()),
                        Arg::Text(c.column_key.clone()),
                        Arg::Text(prev.run_id.clone()),
                    ],
                )
            }
            Some(prev) => {
                let p = self.params.list(6);
                (
                    format!(
                        "UPDATE {} SET job = {}, run_id = {}, last_pk = NULL, changed = 0, started_at = {}, updated_at = {} WHERE column_key = {} AND run_id = {}",
                        self.table, p[0], p[1], p[2], p[3], p[4], p[5]
                    ),
                    vec![
                        Arg::Text(c.job.clone()),
                        Arg::Text(c.run_id.clone()),
                        Arg::Text(c.now.clone()),
                        Arg::Text(c.now.clone()),
                        Arg::Text(c.column_key.clone()),
                        Arg::Text(prev.run_id.clone()),
                    ],
                )
            }
        }
    }

    /// A batch's checkpoint, conditional on the run: must change one row.
    pub(crate) fn progress(&self, w: &CheckpointWrite, changed_now: u64) -> Stmt {
        let p = self.params.list(5);
        (
            format!(
                "UPDATE {} SET last_pk = {}, changed = {}, updated_at = {} WHERE column_key = {} AND run_id = {}",
                self.table, p[0], p[1], p[2], p[3], p[4]
            ),
            vec![
                Arg::Text(w.last_pk.encode()),
                Arg::Int(i64::try_from(w.changed_before + changed_now).unwrap_or(i64::MAX)),
                Arg::Text(w.now.clone()),
                Arg::Text(w.column_key.clone()),
                Arg::Text(w.run_id.clone()),
            ],
        )
    }

    /// Removes a finished run's checkpoint.
    pub(crate) fn release(&self, column_key: &str, run_id: &str) -> Stmt {
        let p = self.params.list(2);
        (
            format!(
                "DELETE FROM {} WHERE column_key = {} AND run_id = {}",
                self.table, p[0], p[1]
            ),
            vec![Arg::Text(column_key.into()), Arg::Text(run_id.into())],
        )
    }
}

/// A fresh run id: 16 random hex digits.
pub(crate) fn new_run_id() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the OS random generator");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Now, UTC, ISO 8601 (`2024-05-01T12:34:56Z`).
pub(crate) fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let micros = i64::try_from(secs).unwrap_or(0).saturating_mul(1_000_000);
    strongroom::field::Value::Timestamp(micros)
        .to_text()
        .map_or_else(|_| secs.to_string(), |mut t| std::mem::take(&mut *t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(previous: Option<Checkpoint>, job: &str) -> Claim {
        Claim {
            column_key: "k".into(),
            job: job.into(),
            run_id: "new".into(),
            previous,
            now: now(),
        }
    }

    fn cp(job: &str) -> Checkpoint {
        Checkpoint {
            column_key: "k".into(),
            job: job.into(),
            run_id: "old".into(),
            last_pk: Some("17".into()),
            changed: 3,
            started_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn a_claim_resumes_only_the_same_job_and_is_conditional_on_the_old_run() {
        let sql = Sql::new(Params::Dollar, '"');
        assert!(!claim(None, "encrypt").resumes());
        assert!(claim(Some(cp("encrypt")), "encrypt").resumes());
        assert!(!claim(Some(cp("decrypt")), "encrypt").resumes());
        let (s, args) = sql.claim(&claim(Some(cp("decrypt")), "encrypt"));
        assert!(
            s.contains("last_pk = NULL, changed = 0") && s.ends_with("AND run_id = $6"),
            "{s}"
        );
        assert!(matches!(&args[5], Arg::Text(r) if r == "old"));
        let (s, _) = sql.claim(&claim(None, "encrypt"));
        assert!(s.starts_with("INSERT INTO \"strongroom_checkpoints\""), "{s}");
        let q = Sql::new(Params::Question, '`');
        let (s, args) = q.progress(
            &CheckpointWrite {
                column_key: "k".into(),
                run_id: "r".into(),
                last_pk: Pk::UInt(u64::MAX),
                changed_before: 10,
                now: now(),
            },
            5,
        );
        assert_eq!(s.matches('?').count(), args.len());
        assert!(matches!(&args[0], Arg::Text(t) if t == "18446744073709551615"));
        assert!(matches!(args[1], Arg::Int(15)));
        assert!(now().ends_with('Z') && now().len() == 20, "{}", now());
        assert_eq!(new_run_id().len(), 16);
    }
}
