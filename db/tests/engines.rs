//! Column jobs on every engine: SQLite always; PostgreSQL and MariaDB/MySQL
//! when their servers answer (see tests/common). Table names are unique to
//! the test process.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use strongroom::field::{ColumnSpec, FieldCipher, Value, ValueType};
use strongroom_db::live::{LiveColumn, Phase};
use strongroom_db::{Cell, EngineKind, Error, Job, Operation, Pk, Storage};

#[test]
fn mixed_null_heavy_non_ascii_with_integer_and_text_keys() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        for text_pk in [false, true] {
            let table = unique(&format!("db_mixed_{}", if text_pk { "t" } else { "i" }));
            let mut e = db.open();
            create(e.as_mut(), db.kind(), &table, text_pk, Col::Text);
            let cipher = text_cipher(&ring, &table, false);
            let live = LiveColumn::new(&cipher, Storage::Text, Phase::Mixed);
            let mut rows = Vec::new();
            let mut expected = BTreeMap::new();
            for i in 1..=3000i64 {
                let p = pk(text_pk, i);
                // 70% NULL, non-ASCII text, and some rows already tokens.
                let value = (i % 10 >= 7).then(|| format!("Zoë Ångström 東京 🙂 #{i} 'q'"));
                let v = value.as_deref().map(Value::from);
                let cell = match &v {
                    Some(v) if i % 3 == 0 => live.write(Some(v), &p).unwrap(),
                    Some(v) => Cell::text(v.as_str().unwrap()),
                    None => Cell::Null,
                };
                expected.insert(p.clone(), v);
                rows.push((p, cell));
            }
            insert(e.as_mut(), db.kind(), &table, &rows);
            let s = strongroom_db::run(
                e.as_mut(),
                &Job::new(Operation::Encrypt, &cipher, &table, "v").batch_size(700),
            )
            .unwrap();
            assert_eq!(s.null, 2100, "{:?}", db.kind());
            assert_eq!(s.unchanged, 300);
            assert_eq!(s.changed, 600);
            let st = strongroom_db::status(e.as_mut(), &table, "v", None, Some(&cipher), None).unwrap();
            assert_eq!((st.plaintext, st.null, st.undecryptable), (0, 2100, Some(0)));
            assert_eq!(st.tokens.get("random v1"), Some(&900));
            check_all(e.as_mut(), &table, &cipher, Storage::Text, &expected);
            // A second run changes nothing; then decrypt goes back.
            let again =
                strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, &table, "v")).unwrap();
            assert_eq!(again.changed, 0);
            let d =
                strongroom_db::run(e.as_mut(), &Job::new(Operation::Decrypt, &cipher, &table, "v")).unwrap();
            assert_eq!(d.changed, 900);
            let t = e.describe(&table, "v", None).unwrap();
            for r in all_rows(e.as_mut(), &t) {
                let want = expected[&r.pk].as_ref().map(|v| Cell::text(v.as_str().unwrap()));
                assert_eq!(r.value, want.unwrap_or(Cell::Null), "row {}", r.pk);
            }
        }
    }
}

#[test]
fn binary_columns_get_binary_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_binary");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Binary);
        let cipher = FieldCipher::new(&ring, table, "v", ColumnSpec::new(ValueType::Bytes)).unwrap();
        let mut rows = Vec::new();
        let mut expected = BTreeMap::new();
        for i in 1..=500i64 {
            let b: Vec<u8> = (0..(i % 200) as u8)
                .map(|x| x.wrapping_mul(7).wrapping_add(i as u8))
                .collect();
            expected.insert(Pk::Int(i), Some(Value::from(b.clone())));
            rows.push((Pk::Int(i), Cell::bytes(b)));
        }
        insert(e.as_mut(), db.kind(), table, &rows);
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v")).unwrap();
        assert_eq!(s.changed, 500);
        let t = e.describe(table, "v", None).unwrap();
        for r in all_rows(e.as_mut(), &t) {
            let Cell::Bytes(b) = &r.value else {
                panic!("not binary")
            };
            assert_eq!(&b[..2], &[1, 1]);
        }
        check_all(e.as_mut(), table, &cipher, Storage::Binary, &expected);
    }
}

#[test]
fn too_narrow_column_is_refused_then_widened_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        if db.kind() == EngineKind::Sqlite {
            continue; // SQLite enforces no declared width.
        }
        let table = &unique("db_narrow");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Narrow);
        let cipher = text_cipher(&ring, table, false);
        let rows: Vec<(Pk, Cell)> = (1..=50)
            .map(|i| (Pk::Int(i), Cell::text(format!("555-01{i:02}"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let err =
            strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v")).unwrap_err();
        // 8 bytes + 47 of overhead = 55 bytes: 4 + ceil(220 / 3) = 78 characters.
        match &err {
            Error::TooNarrow { needed, column, .. } => assert_eq!((*needed, column.as_str()), (78, "v")),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("78"));
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert_eq!(st.plaintext, 50, "nothing changed");
        let s = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &cipher, table, "v").widen(true),
        )
        .unwrap();
        assert_eq!((s.changed, s.widened_to), (50, Some(78)));
        let t = e.describe(table, "v", None).unwrap();
        assert_eq!(t.column.width, Some(78));
    }
}

#[test]
fn rotation_to_longer_tokens_checks_the_width_first() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        if db.kind() == EngineKind::Sqlite {
            continue; // SQLite enforces no declared width.
        }
        let table = &unique("db_narrow_rotate");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Narrow);
        let det = FieldCipher::new(
            &ring,
            table,
            "v",
            ColumnSpec::new(ValueType::Text).deterministic(),
        )
        .unwrap();
        let rows: Vec<(Pk, Cell)> = (1..=50)
            .map(|i| (Pk::Int(i), Cell::text(format!("555-01{i:02}"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        // 8 bytes + 23 of overhead = 31 bytes: 4 + ceil(124 / 3) = 46 characters.
        let s = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &det, table, "v").widen(true),
        )
        .unwrap();
        assert_eq!((s.changed, s.widened_to), (50, Some(46)));
        // To random mode: 8 + 47 = 55 bytes, 78 characters.
        let random = FieldCipher::new(
            &ring,
            table,
            "v",
            ColumnSpec::new(ValueType::Text).accept_mode(strongroom::field::Mode::Deterministic),
        )
        .unwrap();
        let err =
            strongroom_db::run(e.as_mut(), &Job::new(Operation::Rotate, &random, table, "v")).unwrap_err();
        match &err {
            Error::TooNarrow { needed, column, .. } => assert_eq!((*needed, column.as_str()), (78, "v")),
            other => panic!("{other:?}"),
        }
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert_eq!(st.tokens.get("deterministic v1"), Some(&50), "nothing changed");
        assert_eq!(st.pending_jobs, Vec::<String>::new(), "no checkpoint left");
        // A rotation that keeps the mode needs no more room.
        let same = strongroom_db::run(e.as_mut(), &Job::new(Operation::Rotate, &det, table, "v")).unwrap();
        assert_eq!((same.changed, same.unchanged, same.widened_to), (0, 50, None));
        let s = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Rotate, &random, table, "v").widen(true),
        )
        .unwrap();
        assert_eq!((s.changed, s.widened_to), (50, Some(78)));
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert_eq!(st.tokens.get("random v1"), Some(&50));
        let expected: BTreeMap<Pk, Option<Value>> = (1..=50)
            .map(|i| (Pk::Int(i), Some(Value::from(format!("555-01{i:02}").as_str()))))
            .collect();
        check_all(e.as_mut(), table, &random, Storage::Text, &expected);
    }
}

#[test]
fn hidden_nulls_on_every_engine() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_hide_null");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let spec = ColumnSpec::new(ValueType::Text).hide_null();
        let cipher = FieldCipher::new(&ring, table, "v", spec).unwrap();
        let mut rows = Vec::new();
        let mut expected = BTreeMap::new();
        for i in 1..=300i64 {
            let v = (i % 3 != 0).then(|| format!("v{i}"));
            expected.insert(Pk::Int(i), v.as_deref().map(Value::from));
            rows.push((Pk::Int(i), v.map_or(Cell::Null, Cell::text)));
        }
        insert(e.as_mut(), db.kind(), table, &rows);
        let s = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &cipher, table, "v").batch_size(70),
        )
        .unwrap();
        // The NULL rows are encrypted too (compare-and-swap on NULL).
        assert_eq!((s.changed, s.null), (300, 0), "{:?}", db.kind());
        let st = strongroom_db::status(e.as_mut(), table, "v", None, Some(&cipher), None).unwrap();
        assert_eq!((st.null, st.plaintext, st.undecryptable), (0, 0, Some(0)));
        check_all(e.as_mut(), table, &cipher, Storage::Text, &expected);
        // A cipher that keeps NULL refuses to rotate them (nothing changed).
        let keeps = text_cipher(&ring, table, false);
        let err =
            strongroom_db::run(e.as_mut(), &Job::new(Operation::Rotate, &keeps, table, "v")).unwrap_err();
        assert!(matches!(err, Error::HiddenNull { .. }), "{err:?}");
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert_eq!(st.null, 0);
        let d = strongroom_db::run(e.as_mut(), &Job::new(Operation::Decrypt, &cipher, table, "v")).unwrap();
        assert_eq!(d.changed, 300);
        let t = e.describe(table, "v", None).unwrap();
        for r in all_rows(e.as_mut(), &t) {
            let want = expected[&r.pk].as_ref().map(|v| Cell::text(v.as_str().unwrap()));
            assert_eq!(r.value, want.unwrap_or(Cell::Null), "row {}", r.pk);
        }
    }
}

#[test]
fn wrong_key_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    let other = keyring(&dir, "other");
    for db in engines() {
        let table = &unique("db_wrongkey");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let good = text_cipher(&ring, table, false);
        let bad = text_cipher(&other, table, false);
        let rows: Vec<(Pk, Cell)> = (1..=400)
            .map(|i| (Pk::Int(i), Cell::text(format!("secret {i}"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        // Half the column encrypted with the right keyring.
        let t = e.describe(table, "v", None).unwrap();
        strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &good, table, "v")).unwrap();
        e.execute_batch(&format!("UPDATE {table} SET v = 'plain again' WHERE id > 200"))
            .unwrap();
        let before: Vec<_> = all_rows(e.as_mut(), &t)
            .into_iter()
            .map(|r| (r.pk, r.value))
            .collect();
        for op in [Operation::Encrypt, Operation::Rotate, Operation::Decrypt] {
            let err = strongroom_db::run(e.as_mut(), &Job::new(op, &bad, table, "v")).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::WrongKey {
                        failed: 32,
                        sampled: 32,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(err.kind(), strongroom::ErrorKind::Key);
            let after: Vec<_> = all_rows(e.as_mut(), &t)
                .into_iter()
                .map(|r| (r.pk, r.value))
                .collect();
            assert!(before == after, "{op:?} changed rows");
        }
    }
}

#[test]
fn compare_and_swap_skips_rows_changed_since_read() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_cas");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        insert(
            e.as_mut(),
            db.kind(),
            table,
            &[(Pk::Int(1), Cell::text("new")), (Pk::Int(2), Cell::Null)],
        );
        let t = e.describe(table, "v", None).unwrap();
        let cipher = text_cipher(&ring, table, false);
        let stale = strongroom_db::engine::Update {
            pk: Pk::Int(1),
            old: Cell::text("old"),
            new: Cell::text("stale token"),
            index: None,
        };
        let case = strongroom_db::engine::Update {
            pk: Pk::Int(1),
            old: Cell::text("NEW"),
            new: Cell::text("stale token"),
            index: None,
        };
        let null_aware = strongroom_db::engine::Update {
            pk: Pk::Int(2),
            old: Cell::text("x"),
            new: Cell::text("y"),
            index: None,
        };
        assert_eq!(e.apply(&t, &[stale, case, null_aware], None).unwrap(), 0);
        let rows = all_rows(e.as_mut(), &t);
        assert_eq!(rows[0].value, Cell::text("new"));
        assert_eq!(rows[1].value, Cell::Null);
        let _ = cipher;
        drop_table(e.as_mut(), table);
    }
}

#[test]
fn compare_and_swap_compares_bytes_under_any_collation() {
    // A PostgreSQL column with a case-insensitive, non-deterministic ICU
    // collation: "NEW" equals "new" for the column, not for the swap.
    let Some(db) = server(EngineKind::Postgres) else {
        return;
    };
    let mut e = db.open();
    let coll = unique("db2_ci");
    let table = &unique("db_cas_ci");
    e.execute_batch(&format!(
        "DROP COLLATION IF EXISTS {coll}; CREATE COLLATION {coll} (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
    ))
    .unwrap();
    create_raw(
        e.as_mut(),
        EngineKind::Postgres,
        table,
        &format!("id bigint PRIMARY KEY, v text COLLATE {coll}, idx bytea"),
    );
    insert(
        e.as_mut(),
        EngineKind::Postgres,
        table,
        &[(Pk::Int(1), Cell::text("new"))],
    );
    let t = e.describe(table, "v", None).unwrap();
    let case = strongroom_db::engine::Update {
        pk: Pk::Int(1),
        old: Cell::text("NEW"),
        new: Cell::text("stale token"),
        index: None,
    };
    assert_eq!(e.apply(&t, &[case], None).unwrap(), 0);
    assert_eq!(all_rows(e.as_mut(), &t)[0].value, Cell::text("new"));
    drop_table(e.as_mut(), table);
    e.execute_batch(&format!("DROP COLLATION {coll}")).unwrap();
}

#[test]
fn application_writing_during_a_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_live");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let cipher = text_cipher(&ring, table, false);
        let n = 6000i64;
        let rows: Vec<(Pk, Cell)> = (1..=n)
            .map(|i| (Pk::Int(i), Cell::text(format!("v0-{i}"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let expected: Arc<Mutex<BTreeMap<Pk, Option<Value>>>> = Arc::new(Mutex::new(
            (1..=n)
                .map(|i| (Pk::Int(i), Some(Value::from(format!("v0-{i}")))))
                .collect(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicU64::new(0));
        std::thread::scope(|s| {
            let (stop2, exp2, writes2, cipher2) = (stop.clone(), expected.clone(), writes.clone(), &cipher);
            let db2 = &db;
            let table2 = table;
            s.spawn(move || {
                let mut w = db2.open();
                let live = LiveColumn::new(cipher2, Storage::Text, Phase::Mixed);
                let mut k = 0i64;
                while !stop2.load(Ordering::Relaxed) || k < 200 {
                    k += 1;
                    let id = (k * 7919) % n + 1;
                    let value = format!("app-{k}-é");
                    // Phase 1 writers write plaintext, phase 2 writers tokens.
                    let cell = if k % 2 == 0 {
                        Cell::text(value.as_str())
                    } else {
                        live.write(Some(&Value::from(value.as_str())), &Pk::Int(id))
                            .unwrap()
                    };
                    let sql = if k % 5 == 0 {
                        let new_id = n + k;
                        let cell = if k % 2 == 0 {
                            cell
                        } else {
                            live.write(Some(&Value::from(value.as_str())), &Pk::Int(new_id))
                                .unwrap()
                        };
                        exp2.lock()
                            .unwrap()
                            .insert(Pk::Int(new_id), Some(Value::from(value.as_str())));
                        format!(
                            "INSERT INTO {table2} (id, v) VALUES ({new_id}, {})",
                            lit(db2.kind(), &cell)
                        )
                    } else {
                        exp2.lock()
                            .unwrap()
                            .insert(Pk::Int(id), Some(Value::from(value.as_str())));
                        format!(
                            "UPDATE {table2} SET v = {} WHERE id = {id}",
                            lit(db2.kind(), &cell)
                        )
                    };
                    w.execute_batch(&sql).unwrap();
                    writes2.fetch_add(1, Ordering::Relaxed);
                }
            });
            let _stop_guard = StopOnDrop(&stop);
            let s1 = strongroom_db::run(
                e.as_mut(),
                &Job::new(Operation::Encrypt, &cipher, table, "v").batch_size(100),
            )
            .unwrap();
            stop.store(true, Ordering::Relaxed);
            assert!(s1.changed > 0);
        });
        assert!(writes.load(Ordering::Relaxed) >= 200);
        // The next run picks up what was written in plaintext meanwhile.
        strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v")).unwrap();
        let st = strongroom_db::status(e.as_mut(), table, "v", None, Some(&cipher), None).unwrap();
        assert_eq!((st.plaintext, st.undecryptable), (0, Some(0)), "{:?}", db.kind());
        check_all(
            e.as_mut(),
            table,
            &cipher,
            Storage::Text,
            &expected.lock().unwrap(),
        );
    }
}

#[test]
fn rotation_while_lookups_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_rotate");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let n = 3000i64;
        let rows: Vec<(Pk, Cell)> = (1..=n)
            .map(|i| (Pk::Int(i), Cell::text(format!("User{i}@Example.com"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let v1 = text_cipher(&ring, table, true);
        strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &v1, table, "v").index("idx"),
        )
        .unwrap();
        let version = ring.add_key(true).unwrap();
        let v2 = text_cipher(&ring, table, true);
        let stop = AtomicBool::new(false);
        let lookups = AtomicU64::new(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut r = db.open();
                let t = r.describe(table, "v", Some("idx")).unwrap();
                let live = LiveColumn::new(&v2, Storage::Text, Phase::TokensOnly);
                let mut k = 0i64;
                while !stop.load(Ordering::Relaxed) || k < 50 {
                    k += 1;
                    let id = (k * 31) % n + 1;
                    let typed = Value::from(format!("  user{id}@example.COM "));
                    let found = r.lookup(&t, &live.lookup_terms(&typed).unwrap()).unwrap();
                    let hit = found.iter().filter(|row| {
                        live.read(&row.value, &row.pk)
                            .unwrap()
                            .as_ref()
                            .and_then(Value::as_str)
                            == Some(format!("User{id}@Example.com").as_str())
                    });
                    assert_eq!(hit.count(), 1, "lookup of row {id} during the rotation");
                    lookups.fetch_add(1, Ordering::Relaxed);
                }
            });
            let _stop_guard = StopOnDrop(&stop);
            let s = strongroom_db::run(
                e.as_mut(),
                &Job::new(Operation::Rotate, &v2, table, "v")
                    .index("idx")
                    .batch_size(100),
            )
            .unwrap();
            stop.store(true, Ordering::Relaxed);
            assert_eq!(s.changed, n as u64);
        });
        assert!(lookups.load(Ordering::Relaxed) >= 50);
        let st = strongroom_db::status(e.as_mut(), table, "v", Some("idx"), Some(&v2), None).unwrap();
        assert_eq!(st.tokens.len(), 1);
        assert_eq!(st.tokens.get(&format!("random v{version}")), Some(&(n as u64)));
        assert_eq!((st.undecryptable, st.index_mismatch), (Some(0), Some(0)));
    }
}

#[test]
fn tokens_only_readers_refuse_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    let cipher = text_cipher(&ring, "db_x", false);
    let live = LiveColumn::new(&cipher, Storage::Text, Phase::TokensOnly);
    let err = live.read(&Cell::text("planted"), &Pk::Int(1)).unwrap_err();
    assert!(matches!(err, Error::PlaintextRefused));
    let mixed = LiveColumn::new(&cipher, Storage::Text, Phase::Mixed);
    assert_eq!(
        mixed.read(&Cell::text("planted"), &Pk::Int(1)).unwrap(),
        Some(Value::from("planted"))
    );
    let tok = live.write(Some(&Value::from("x")), &Pk::Int(1)).unwrap();
    assert_eq!(live.read(&tok, &Pk::Int(1)).unwrap(), Some(Value::from("x")));
    assert!(matches!(
        live.read(&tok, &Pk::Int(2)),
        Err(Error::Core(strongroom::Error::FieldAuthFailed))
    ));
}
