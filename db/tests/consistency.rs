//! Correct answers while the application writes: `db verify` reads each
//! value with its index term and re-reads a row before reporting it; jobs
//! leave no index term on a NULL row; `db status` shows an interrupted
//! rotation. On every engine (see tests/common).

mod common;

use common::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use strongroom::field::Value;
use strongroom_db::live::{LiveColumn, Phase};
use strongroom_db::{Cell, EngineKind, Error, Job, Operation, Pk, Progress, Storage};

/// `UPDATE table SET v = value, idx = term WHERE id = id` as SQL text.
fn set_sql(kind: EngineKind, table: &str, id: i64, v: &Cell, idx: Option<&[u8]>) -> String {
    let term = idx.map_or_else(|| "NULL".to_string(), |b| lit_bytes(kind, b));
    format!(
        "UPDATE {table} SET v = {}, idx = {term} WHERE id = {id}",
        lit(kind, v)
    )
}

#[test]
fn verify_while_the_application_writes_reports_only_real_problems() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_verify_live");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let n = 1500i64;
        let rows: Vec<(Pk, Cell)> = (1..=n)
            .map(|i| (Pk::Int(i), Cell::text(format!("user{i}@example.com"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let cipher = text_cipher(&ring, table, true);
        strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &cipher, table, "v").index("idx"),
        )
        .unwrap()
        .check()
        .unwrap();
        let stop = AtomicBool::new(false);
        let writes = AtomicU64::new(0);
        std::thread::scope(|s| {
            // The application rewrites values and their terms: in one
            // statement, and (every other write) in two, term second.
            s.spawn(|| {
                let mut w = db.open();
                let live = LiveColumn::new(&cipher, Storage::Text, Phase::TokensOnly);
                let mut k = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    k += 1;
                    let id = (k * 7919) % n + 1;
                    let value = Value::from(format!("changed-{k}@example.com"));
                    let cell = live.write(Some(&value), &Pk::Int(id)).unwrap();
                    let term = live.index(Some(&value)).unwrap();
                    if k % 2 == 0 {
                        w.execute_batch(&set_sql(db.kind(), table, id, &cell, term.as_deref()))
                            .unwrap();
                    } else {
                        w.execute_batch(&format!(
                            "UPDATE {table} SET v = {} WHERE id = {id}",
                            lit(db.kind(), &cell)
                        ))
                        .unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        w.execute_batch(&format!(
                            "UPDATE {table} SET idx = {} WHERE id = {id}",
                            lit_bytes(db.kind(), term.as_deref().unwrap())
                        ))
                        .unwrap();
                    }
                    writes.fetch_add(1, Ordering::Relaxed);
                }
            });
            let _stop_guard = StopOnDrop(&stop);
            while writes.load(Ordering::Relaxed) < 10 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let start = writes.load(Ordering::Relaxed);
            let mut rounds = 0;
            while rounds < 3 || writes.load(Ordering::Relaxed) < start + 100 {
                rounds += 1;
                let st =
                    strongroom_db::status(e.as_mut(), table, "v", Some("idx"), Some(&cipher), None).unwrap();
                assert_eq!(
                    (st.rows, st.undecryptable, st.index_mismatch),
                    (n as u64, Some(0), Some(0)),
                    "{:?}: {st:?}",
                    db.kind()
                );
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert!(writes.load(Ordering::Relaxed) >= 110);
        // Real problems are still reported: a wrong term, a term on a NULL
        // row, a token moved to another row.
        let live = LiveColumn::new(&cipher, Storage::Text, Phase::TokensOnly);
        let wrong = live.index(Some(&Value::from("someone else"))).unwrap();
        e.execute_batch(&format!(
            "UPDATE {table} SET idx = {} WHERE id = 5",
            lit_bytes(db.kind(), wrong.as_deref().unwrap())
        ))
        .unwrap();
        e.execute_batch(&format!("UPDATE {table} SET v = NULL WHERE id = 6"))
            .unwrap();
        let moved = values(e.as_mut(), table)[0].1.clone();
        e.execute_batch(&format!(
            "UPDATE {table} SET v = {} WHERE id = 7",
            lit(db.kind(), &moved)
        ))
        .unwrap();
        let st = strongroom_db::status(e.as_mut(), table, "v", Some("idx"), Some(&cipher), None).unwrap();
        assert_eq!(st.undecryptable, Some(1));
        assert_eq!(st.undecryptable_keys, ["7"]);
        assert_eq!(st.index_mismatch, Some(2), "{:?}", db.kind());
        assert_eq!(st.index_mismatch_keys, ["5", "6"]);
        assert!(matches!(
            st.check(false, Some("idx")),
            Err(Error::Undecryptable { .. })
        ));
        drop_table(e.as_mut(), table);
    }
}

#[test]
fn no_index_term_is_left_on_a_null_row() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_null_terms");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let rows: Vec<(Pk, Cell)> = (1..=40)
            .map(|i| {
                (
                    Pk::Int(i),
                    if i % 4 == 0 {
                        Cell::Null
                    } else {
                        Cell::text(format!("v{i}"))
                    },
                )
            })
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let cipher = text_cipher(&ring, table, true);
        // Stray terms on NULL rows (an application that cleared a value
        // but not its term): encrypt clears them.
        e.execute_batch(&format!(
            "UPDATE {table} SET idx = {} WHERE v IS NULL",
            lit_bytes(db.kind(), b"12345678")
        ))
        .unwrap();
        let s = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &cipher, table, "v").index("idx"),
        )
        .unwrap();
        assert_eq!(
            (s.null, s.changed),
            (10, 40),
            "{:?}: 30 values and 10 stray terms",
            db.kind()
        );
        let st = strongroom_db::status(e.as_mut(), table, "v", Some("idx"), Some(&cipher), None).unwrap();
        assert_eq!((st.null, st.index_mismatch), (10, Some(0)));
        // verify sees a stray term; decrypt clears every term, those of
        // NULL rows included.
        e.execute_batch(&format!(
            "UPDATE {table} SET idx = {} WHERE id = 8",
            lit_bytes(db.kind(), b"12345678")
        ))
        .unwrap();
        let st = strongroom_db::status(e.as_mut(), table, "v", Some("idx"), Some(&cipher), None).unwrap();
        assert_eq!(
            (st.index_mismatch, st.index_mismatch_keys.as_slice()),
            (Some(1), &["8".to_string()][..])
        );
        let d = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Decrypt, &cipher, table, "v").index("idx"),
        )
        .unwrap();
        assert_eq!(d.changed, 31, "{:?}: 30 values and the stray term", db.kind());
        let t = e.describe(table, "v", Some("idx")).unwrap();
        let left: Vec<String> = all_rows(e.as_mut(), &t)
            .into_iter()
            .filter(|r| r.index.is_some())
            .map(|r| r.pk.to_string())
            .collect();
        assert!(left.is_empty(), "{:?}: terms left at {left:?}", db.kind());
        drop_table(e.as_mut(), table);
    }
}

#[test]
fn status_shows_an_interrupted_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_rotate_status");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let rows: Vec<(Pk, Cell)> = (1..=500)
            .map(|i| (Pk::Int(i), Cell::text(format!("v{i}"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let before = text_cipher(&ring, table, false);
        strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &before, table, "v")).unwrap();
        let version = ring.add_key(true).unwrap();
        let after = text_cipher(&ring, table, false);
        let cancel = AtomicBool::new(false);
        let stop = |p: Progress| {
            if p.rows >= 200 {
                cancel.store(true, Ordering::Relaxed);
            }
        };
        let err = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Rotate, &after, table, "v")
                .batch_size(100)
                .progress(&stop)
                .cancel(&cancel),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Cancelled));
        // status needs no key to show it.
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        let cp = st.checkpoint.clone().expect("the interrupted rotation");
        assert!(
            cp.job.starts_with(&format!("rotate to random v{version}")),
            "{}",
            cp.job
        );
        assert_eq!((cp.last_pk.as_deref(), cp.changed), (Some("200"), 200));
        assert_eq!(st.pending_jobs, std::slice::from_ref(&cp.job));
        assert_eq!(st.tokens.get(&format!("random v{version}")), Some(&200));
        // The same rotation resumes; another target version starts over.
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Rotate, &after, table, "v")).unwrap();
        assert_eq!((s.resumed, s.changed), (true, 300), "{:?}", db.kind());
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert!(st.checkpoint.is_none() && st.pending_jobs.is_empty());
        drop_table(e.as_mut(), table);
        // A keyring shared between engines: back to one primary per loop.
        ring.add_key(true).unwrap();
    }
}
