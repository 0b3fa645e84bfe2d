//! No cleartext left behind while a run says "done": look-alike values,
//! values of the wrong kind, stale checkpoints, other character sets and
//! unsigned keys, on every engine where each applies (see tests/common).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use strongroom::ErrorKind;
use strongroom::field::{ColumnSpec, FieldCipher, Value, ValueType, encode_text};
use strongroom_db::live::{LiveColumn, Phase};
use strongroom_db::{Cell, Engine, EngineKind, Error, Job, Operation, Pk, Progress, Storage};

/// Bytes that start like a token header but whose key-version field no
/// keyring writes (a photo, a hash, a salt): plaintext.
fn look_alikes() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for (i, head) in [
        [0x01, 0x01, 0xd8, 0xff, 0xe0, 0x10], // random version field
        [0x01, 0x02, 0x7f, 0x00, 0x13, 0x37],
        [0x01, 0x01, 0x00, 0x00, 0x00, 0x00], // version 0
        [0x01, 0x02, 0x00, 0x01, 0x00, 0x00], // version 65 536
    ]
    .iter()
    .enumerate()
    {
        let mut b = head.to_vec();
        b.extend((0..80u8).map(|x| x.wrapping_mul(31).wrapping_add(i as u8)));
        v.push(b);
    }
    // A plausible header, but shorter than any token.
    v.push(vec![0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xaa, 0xbb]);
    v
}

#[test]
fn look_alike_blobs_are_encrypted_and_tokens_of_another_keyring_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    let other = keyring(&dir, "other");
    for db in engines() {
        let table = &unique("db_lookalike");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Binary);
        let cipher = bytes_cipher(&ring, table);
        let foreign = bytes_cipher(&other, table);
        let live = LiveColumn::new(&cipher, Storage::Binary, Phase::Mixed);
        let alien = LiveColumn::new(&foreign, Storage::Binary, Phase::Mixed);
        let mut rows = Vec::new();
        let mut expected = BTreeMap::new();
        let mut id = 0i64;
        let mut next = || {
            id += 1;
            Pk::Int(id)
        };
        for b in look_alikes() {
            let p = next();
            expected.insert(p.clone(), Some(Value::from(b.clone())));
            rows.push((p, Cell::bytes(b)));
        }
        for i in 0..40u8 {
            let p = next();
            let b: Vec<u8> = (0..(i as usize % 30 + 1)).map(|x| x as u8 ^ i).collect();
            expected.insert(p.clone(), Some(Value::from(b.clone())));
            rows.push((p, Cell::bytes(b)));
        }
        for i in 0..10u8 {
            let p = next();
            let v = Value::from(vec![i; 5]);
            rows.push((p.clone(), live.write(Some(&v), &p).unwrap()));
            expected.insert(p, Some(v));
        }
        let mut foreign_rows = Vec::new();
        for i in 0..3u8 {
            let p = next();
            let cell = alien.write(Some(&Value::from(vec![i; 7])), &p).unwrap();
            foreign_rows.push((p.clone(), cell.clone()));
            rows.push((p, cell));
        }
        insert(e.as_mut(), db.kind(), table, &rows);
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v")).unwrap();
        assert_eq!(
            (s.rows, s.changed, s.unchanged),
            (58, 45, 10),
            "{:?}: {s:?}",
            db.kind()
        );
        assert_eq!(s.undecryptable, 3);
        assert_eq!(
            s.first_undecryptable.as_deref(),
            Some(foreign_rows[0].0.to_string().as_str())
        );
        let err = s.check().unwrap_err();
        assert!(matches!(err, Error::Undecryptable { count: 3, .. }), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Integrity);
        // The other keyring's tokens are untouched (never encrypted twice);
        // every other value decrypts to what it was.
        let now: BTreeMap<Pk, Cell> = values(e.as_mut(), table).into_iter().collect();
        for (p, cell) in &foreign_rows {
            assert_eq!(&now[p], cell, "{:?}: foreign token at {p} changed", db.kind());
        }
        let t = e.describe(table, "v", None).unwrap();
        let reader = LiveColumn::new(&cipher, Storage::Binary, Phase::TokensOnly);
        for r in all_rows(e.as_mut(), &t) {
            if let Some(want) = expected.get(&r.pk) {
                assert_eq!(&reader.read(&r.value, &r.pk).unwrap(), want, "row {}", r.pk);
            }
        }
        let st = strongroom_db::status(e.as_mut(), table, "v", None, Some(&cipher), None).unwrap();
        assert_eq!((st.plaintext, st.undecryptable), (0, Some(3)));
        assert!(matches!(
            st.check(false, None),
            Err(Error::Undecryptable { count: 3, .. })
        ));

        // A column of look-alikes and no token at all: nothing to refuse.
        let only = &unique("db_lookalike_only");
        create(e.as_mut(), db.kind(), only, false, Col::Binary);
        let rows: Vec<(Pk, Cell)> = look_alikes()
            .into_iter()
            .enumerate()
            .map(|(i, b)| (Pk::Int(i as i64 + 1), Cell::bytes(b)))
            .collect();
        insert(e.as_mut(), db.kind(), only, &rows);
        let c2 = bytes_cipher(&ring, only);
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &c2, only, "v")).unwrap();
        assert_eq!((s.changed, s.undecryptable), (5, 0), "{:?}", db.kind());
        s.check().unwrap();
        let st = strongroom_db::status(e.as_mut(), only, "v", None, Some(&c2), None).unwrap();
        assert_eq!((st.plaintext, st.undecryptable), (0, Some(0)));
        drop_table(e.as_mut(), table);
        drop_table(e.as_mut(), only);
    }
}

#[test]
fn look_alike_text_is_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_lookalike_text");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let mut texts: Vec<String> = look_alikes().iter().map(|b| encode_text(b)).collect();
        texts.push("sr1.hello, world".into());
        texts.push("sr1.".into());
        texts.push("sr1.AQEAAAAB".into()); // a header alone: too short
        let rows: Vec<(Pk, Cell)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (Pk::Int(i as i64 + 1), Cell::text(t.as_str())))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let cipher = text_cipher(&ring, table, false);
        let before = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert_eq!(
            before.plaintext,
            texts.len() as u64,
            "no key: counted as plaintext"
        );
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v")).unwrap();
        assert_eq!(s.changed, texts.len() as u64, "{:?}", db.kind());
        s.check().unwrap();
        let expected: BTreeMap<Pk, Option<Value>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (Pk::Int(i as i64 + 1), Some(Value::from(t.as_str()))))
            .collect();
        check_all(e.as_mut(), table, &cipher, Storage::Text, &expected);
        drop_table(e.as_mut(), table);
    }
}

#[test]
fn values_of_the_wrong_kind_fail_the_run_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    // SQLite keeps whatever it is given: text that is not UTF-8 and a blob
    // in a TEXT column, text and numbers in a BLOB column.
    let db = sqlite();
    let mut e = db.open();
    let text = &unique("db_kind_text");
    let blob = &unique("db_kind_blob");
    create(e.as_mut(), EngineKind::Sqlite, text, false, Col::Text);
    create(e.as_mut(), EngineKind::Sqlite, blob, false, Col::Binary);
    e.execute_batch(&format!(
        "INSERT INTO {text} (id, v) VALUES (1, 'ok'), (2, CAST(x'c328ff' AS TEXT)), (3, x'0102'), (4, 'fine');
         INSERT INTO {blob} (id, v) VALUES (1, x'00ff'), (2, 'some text'), (3, 42), (4, 4.5), (5, x'');"
    ))
    .unwrap();
    for (table, cipher, storage, wrong, first) in [
        (text, text_cipher(&ring, text, false), Storage::Text, 2, "2"),
        (blob, bytes_cipher(&ring, blob), Storage::Binary, 3, "2"),
    ] {
        let before = values(e.as_mut(), table);
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v")).unwrap();
        assert_eq!(s.wrong_kind, wrong, "{table}");
        assert_eq!(s.changed, s.rows - wrong);
        let err = s.check().unwrap_err();
        assert!(
            matches!(&err, Error::WrongKind { count, first: f, .. } if *count == wrong && f == first),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Format);
        let after = values(e.as_mut(), table);
        for ((p, b), (_, a)) in before.iter().zip(&after) {
            let untouched = matches!(
                (storage, b),
                (Storage::Text, Cell::Bytes(_)) | (Storage::Binary, Cell::Text(_))
            );
            assert_eq!(untouched, a == b, "{table} row {p}");
        }
        // verify fails on them too, even when plaintext is accepted.
        let st = strongroom_db::status(e.as_mut(), table, "v", None, Some(&cipher), None).unwrap();
        assert_eq!(
            (st.wrong_kind, st.plaintext, st.undecryptable),
            (wrong, 0, Some(0))
        );
        assert!(matches!(st.check(true, None), Err(Error::WrongKind { .. })));
        // A rotation fails the same way; a decryption leaves them, as not
        // its business.
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Rotate, &cipher, table, "v")).unwrap();
        assert!(matches!(s.check(), Err(Error::WrongKind { .. })));
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Decrypt, &cipher, table, "v")).unwrap();
        s.check().unwrap();
    }
    // On every engine: text that does not parse as the column's --type.
    for db in engines() {
        let table = &unique("db_kind_int");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        insert(
            e.as_mut(),
            db.kind(),
            table,
            &[
                (Pk::Int(1), Cell::text("17")),
                (Pk::Int(2), Cell::text("seventeen")),
                (Pk::Int(3), Cell::text("-4")),
            ],
        );
        let ints = FieldCipher::new(&ring, table, "v", ColumnSpec::new(ValueType::Int)).unwrap();
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &ints, table, "v")).unwrap();
        assert_eq!((s.changed, s.wrong_kind), (2, 1), "{:?}", db.kind());
        assert!(matches!(s.check(), Err(Error::WrongKind { count: 1, .. })));
        let st = strongroom_db::status(e.as_mut(), table, "v", None, Some(&ints), None).unwrap();
        assert_eq!(st.plaintext, 1, "the unparsable text is still plaintext");
        assert!(matches!(
            st.check(false, None),
            Err(Error::PlaintextLeft { count: 1, .. })
        ));
        drop_table(e.as_mut(), table);
    }
}

/// Runs `job` until `rows` rows were read, then cancels it; returns the
/// checkpoint's last key.
fn interrupt(
    e: &mut dyn Engine,
    op: Operation,
    cipher: &FieldCipher,
    table: &str,
    batch: usize,
    rows: u64,
) -> String {
    let cancel = AtomicBool::new(false);
    let stop = |p: Progress| {
        if p.rows >= rows {
            cancel.store(true, Ordering::Relaxed);
        }
    };
    let err = strongroom_db::run(
        e,
        &Job::new(op, cipher, table, "v")
            .batch_size(batch)
            .progress(&stop)
            .cancel(&cancel),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    let st = strongroom_db::status(e, table, "v", None, None, None).unwrap();
    let cp = st.checkpoint.expect("an interrupted run keeps its checkpoint");
    assert!(cp.job.starts_with(op.name()), "{}", cp.job);
    cp.last_pk.expect("a batch was committed")
}

#[test]
fn a_checkpoint_belongs_to_one_job_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in engines() {
        let table = &unique("db_stale");
        let mut e = db.open();
        create(e.as_mut(), db.kind(), table, false, Col::Text);
        let n = 3000i64;
        let rows: Vec<(Pk, Cell)> = (1..=n)
            .map(|i| (Pk::Int(i), Cell::text(format!("v{i}"))))
            .collect();
        insert(e.as_mut(), db.kind(), table, &rows);
        let cipher = text_cipher(&ring, table, false);
        // Encrypt interrupted, then a whole decrypt, then encrypt: the last
        // run must not resume from the first one's checkpoint.
        let at = interrupt(e.as_mut(), Operation::Encrypt, &cipher, table, 200, 600);
        let d = strongroom_db::run(e.as_mut(), &Job::new(Operation::Decrypt, &cipher, table, "v")).unwrap();
        assert!(!d.resumed, "another job's checkpoint is not resumed");
        assert_eq!(d.changed, at.parse::<u64>().unwrap(), "{:?}", db.kind());
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert_eq!((st.plaintext, st.checkpoint.is_none()), (n as u64, true));
        let s = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &cipher, table, "v").batch_size(500),
        )
        .unwrap();
        assert!(!s.resumed);
        assert_eq!((s.rows, s.changed), (n as u64, n as u64), "{:?}", db.kind());
        let st = strongroom_db::status(e.as_mut(), table, "v", None, Some(&cipher), None).unwrap();
        assert_eq!((st.plaintext, st.undecryptable), (0, Some(0)));

        // The same job, interrupted, resumes after its last batch; its
        // counts are this run's.
        let at = interrupt(e.as_mut(), Operation::Decrypt, &cipher, table, 300, 900);
        let done: u64 = at.parse().unwrap();
        let d = strongroom_db::run(e.as_mut(), &Job::new(Operation::Decrypt, &cipher, table, "v")).unwrap();
        assert!(d.resumed);
        assert_eq!(d.resumed_after.as_deref(), Some(at.as_str()));
        assert_eq!((d.rows, d.changed), (n as u64 - done, n as u64 - done));

        // Another run taking the column over stops this one, its current
        // batch rolled back.
        let hijack = db.open();
        let hijack = std::sync::Mutex::new(hijack);
        let key_table = table.clone();
        let take_over = |p: Progress| {
            if p.rows == 100 {
                let mut h = hijack.lock().unwrap();
                h.execute_batch(&format!(
                    "UPDATE strongroom_checkpoints SET run_id = 'someone-else' WHERE column_key LIKE '%.\"{key_table}\".%'"
                ))
                .unwrap();
            }
        };
        let err = strongroom_db::run(
            e.as_mut(),
            &Job::new(Operation::Encrypt, &cipher, table, "v")
                .batch_size(100)
                .progress(&take_over),
        )
        .unwrap_err();
        assert!(matches!(err, Error::ConcurrentRun { .. }), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        let st = strongroom_db::status(e.as_mut(), table, "v", None, None, None).unwrap();
        assert_eq!(
            st.tokens.get("random v1"),
            Some(&100),
            "{:?}: only the first batch",
            db.kind()
        );
        drop_table(e.as_mut(), table);
    }
}

#[test]
fn other_character_sets_on_mariadb() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    let Some(db) = server(EngineKind::Mysql) else {
        return;
    };
    let mut e = db.open();
    let table = &unique("db_latin1");
    drop_table(e.as_mut(), table);
    e.execute_batch(&format!(
        "CREATE TABLE {table} (id BIGINT PRIMARY KEY, v VARCHAR(200) CHARACTER SET latin1 COLLATE latin1_swedish_ci, idx VARBINARY(32))"
    ))
    .unwrap();
    let words = ["José", "Müller", "façade", "naïve", "plain ascii", "JOSÉ", "Ærø"];
    let rows: Vec<(Pk, Cell)> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (Pk::Int(i as i64 + 1), Cell::text(*w)))
        .collect();
    insert(e.as_mut(), EngineKind::Mysql, table, &rows);
    let cipher = text_cipher(&ring, table, true);
    let s = strongroom_db::run(
        e.as_mut(),
        &Job::new(Operation::Encrypt, &cipher, table, "v").index("idx"),
    )
    .unwrap();
    assert_eq!((s.changed, s.changed_meanwhile), (words.len() as u64, 0), "{s:?}");
    s.check().unwrap();
    let st = strongroom_db::status(e.as_mut(), table, "v", Some("idx"), Some(&cipher), None).unwrap();
    assert_eq!(
        (st.plaintext, st.undecryptable, st.index_mismatch),
        (0, Some(0), Some(0))
    );
    let d = strongroom_db::run(
        e.as_mut(),
        &Job::new(Operation::Decrypt, &cipher, table, "v").index("idx"),
    )
    .unwrap();
    d.check().unwrap();
    assert_eq!(values(e.as_mut(), table), rows, "the latin1 text comes back");
    // A value latin1 cannot hold is refused by the server (strict mode):
    // the run fails and the token stays.
    let live = LiveColumn::new(&cipher, Storage::Text, Phase::Mixed);
    let token = live.write(Some(&Value::from("東京")), &Pk::Int(99)).unwrap();
    insert(
        e.as_mut(),
        EngineKind::Mysql,
        table,
        &[(Pk::Int(99), token.clone())],
    );
    let err = strongroom_db::run(e.as_mut(), &Job::new(Operation::Decrypt, &cipher, table, "v")).unwrap_err();
    assert!(matches!(err, Error::Engine { .. }), "{err:?}");
    let now: BTreeMap<Pk, Cell> = values(e.as_mut(), table).into_iter().collect();
    assert_eq!(now[&Pk::Int(99)], token);
    drop_table(e.as_mut(), table);
}

#[test]
fn unsigned_keys_over_their_whole_range() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    let Some(db) = server(EngineKind::Mysql) else {
        return;
    };
    let mut e = db.open();
    let table = &unique("db_unsigned");
    create_raw(
        e.as_mut(),
        EngineKind::Mysql,
        table,
        "id BIGINT UNSIGNED PRIMARY KEY, v TEXT, idx VARBINARY(32)",
    );
    let ids = [
        1u64,
        2,
        1 << 62,
        (1 << 63) - 1,
        1 << 63,
        (1 << 63) + 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    let rows: Vec<(Pk, Cell)> = ids
        .iter()
        .map(|i| (Pk::UInt(*i), Cell::text(format!("at {i}"))))
        .collect();
    insert(e.as_mut(), EngineKind::Mysql, table, &rows);
    let cipher = text_cipher(&ring, table, false);
    // Interrupted after two keys, then resumed: every loop over the keys ends.
    let at = interrupt(e.as_mut(), Operation::Encrypt, &cipher, table, 2, 2);
    assert_eq!(at, "2");
    let s = strongroom_db::run(
        e.as_mut(),
        &Job::new(Operation::Encrypt, &cipher, table, "v").batch_size(3),
    )
    .unwrap();
    assert_eq!((s.rows, s.changed, s.resumed), (6, 6, true));
    let st = strongroom_db::status(e.as_mut(), table, "v", None, Some(&cipher), None).unwrap();
    assert_eq!((st.rows, st.plaintext, st.undecryptable), (8, 0, Some(0)));
    // Row keys are the unsigned decimal text.
    let expected: BTreeMap<Pk, Option<Value>> = ids
        .iter()
        .map(|i| (Pk::UInt(*i), Some(Value::from(format!("at {i}")))))
        .collect();
    check_all(e.as_mut(), table, &cipher, Storage::Text, &expected);
    let tok = &values(e.as_mut(), table)[4].1;
    let plain = FieldCipher::new(&ring, table, "v", ColumnSpec::new(ValueType::Text)).unwrap();
    let Cell::Text(t) = tok else { panic!() };
    assert_eq!(
        plain.decrypt_text(t, Some(b"9223372036854775808")).unwrap(),
        Some(Value::from("at 9223372036854775808"))
    );
    drop_table(e.as_mut(), table);
}

#[test]
fn sqlite_names_null_keys_and_qualified_names() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    let db = sqlite();
    let mut e = db.open();
    let table = &unique("db_names");
    create(e.as_mut(), EngineKind::Sqlite, table, false, Col::Text);
    insert(
        e.as_mut(),
        EngineKind::Sqlite,
        table,
        &[(Pk::Int(1), Cell::text("a"))],
    );
    let cipher = text_cipher(&ring, table, false);
    // Column and table names match case-insensitively, as in SQLite, and
    // both spellings share one checkpoint.
    let upper = table.to_uppercase();
    let s = strongroom_db::run(
        e.as_mut(),
        &Job::new(Operation::Encrypt, &cipher, &format!("main.{upper}"), "V"),
    )
    .unwrap();
    assert_eq!((s.changed, s.column.as_str()), (1, "v"));
    let t = e.describe(&upper, "V", None).unwrap();
    assert_eq!(t.column_key(), format!("\"main\".\"{table}\".\"v\""));
    // NULL in a text primary key: refused up front, nothing changed.
    let nulls = &unique("db_null_pk");
    create_raw(
        e.as_mut(),
        EngineKind::Sqlite,
        nulls,
        "id TEXT PRIMARY KEY, v TEXT",
    );
    e.execute_batch(&format!("INSERT INTO {nulls} VALUES ('a', 'x'), (NULL, 'y')"))
        .unwrap();
    let c2 = text_cipher(&ring, nulls, false);
    let err = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &c2, nulls, "v")).unwrap_err();
    assert!(
        matches!(&err, Error::PrimaryKey { reason, .. } if reason.contains("NULL")),
        "{err:?}"
    );
    let plain: i64 = rusqlite::Connection::open(db.sqlite_path().unwrap())
        .unwrap()
        .query_row(
            &format!("SELECT count(*) FROM {nulls} WHERE v IN ('x', 'y')"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plain, 2);
}

#[test]
fn schema_qualified_names_on_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in [server(EngineKind::Postgres), server(EngineKind::Mysql)]
        .into_iter()
        .flatten()
    {
        let mut e = db.open();
        let schema = unique("db2_schema");
        let create_schema = match db.kind() {
            EngineKind::Postgres => format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
            _ => format!("DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema}"),
        };
        e.execute_batch(&create_schema).unwrap();
        let table = format!("{schema}.people");
        create(e.as_mut(), db.kind(), &table, false, Col::Text);
        insert(
            e.as_mut(),
            db.kind(),
            &table,
            &[(Pk::Int(1), Cell::text("x")), (Pk::Int(2), Cell::text("y"))],
        );
        // A table of the same name in the default schema is another table.
        let cipher = text_cipher(&ring, &table, false);
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, &table, "v")).unwrap();
        assert_eq!(s.changed, 2, "{:?}", db.kind());
        let st = strongroom_db::status(e.as_mut(), &table, "v", None, Some(&cipher), None).unwrap();
        assert_eq!(
            (st.tokens.get("random v1"), st.undecryptable),
            (Some(&2), Some(0))
        );
        let t = e.describe(&table, "v", None).unwrap();
        assert_eq!((t.schema.as_str(), t.name.as_str()), (schema.as_str(), "people"));
        let err = e.describe(&format!("{schema}.nope"), "v", None).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));
        let drop = match db.kind() {
            EngineKind::Postgres => format!("DROP SCHEMA {schema} CASCADE"),
            _ => format!("DROP DATABASE {schema}"),
        };
        e.execute_batch(&drop).unwrap();
        e.execute_batch(&format!(
            "DELETE FROM strongroom_checkpoints WHERE column_key LIKE '\"{schema}\".%'"
        ))
        .ok();
    }
}

#[test]
fn a_mariadb_json_column_is_refused_up_front() {
    let Some(db) = server(EngineKind::Mysql) else {
        return;
    };
    let mut e = db.open();
    let table = &unique("db_json");
    create_raw(
        e.as_mut(),
        EngineKind::Mysql,
        table,
        "id BIGINT PRIMARY KEY, v JSON",
    );
    e.execute_batch(&format!("INSERT INTO {table} VALUES (1, '{{\"a\": 1}}')"))
        .unwrap();
    let err = e.describe(table, "v", None).unwrap_err();
    assert!(
        matches!(&err, Error::ColumnType { reason, .. } if reason.contains("JSON")),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Usage);
    drop_table(e.as_mut(), table);
}

#[test]
fn connection_errors_keep_their_cause() {
    for kind in [EngineKind::Postgres, EngineKind::Mysql] {
        let Some(db) = server(kind) else { continue };
        let base = db.url.redacted();
        let (scheme_host, _) = base.rsplit_once('/').unwrap();
        let url =
            strongroom_db::DbUrl::parse(&format!("{scheme_host}/no_such_db_{}", std::process::id())).unwrap();
        let msg = strongroom_db::connect(&url)
            .err()
            .expect("no such database")
            .to_string();
        let want = if kind == EngineKind::Postgres {
            "does not exist"
        } else {
            "Unknown database"
        };
        assert!(msg.contains(want), "{kind:?}: {msg}");
        let port = strongroom_db::DbUrl::parse(&format!(
            "{}://u@127.0.0.1:1/x",
            if kind == EngineKind::Postgres {
                "postgres"
            } else {
                "mysql"
            }
        ))
        .unwrap();
        let err = strongroom_db::connect(&port)
            .err()
            .expect("nothing listens on port 1");
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(
            err.to_string().to_lowercase().contains("refused"),
            "{kind:?}: {err}"
        );
    }
}
