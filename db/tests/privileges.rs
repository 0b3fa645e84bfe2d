//! Least privilege on PostgreSQL and MariaDB: a role with SELECT and
//! UPDATE on the table runs the jobs once an administrator has created
//! the checkpoint table (without it: a specific error, nothing changed);
//! a role with SELECT alone runs status, verify and dry runs on read-only
//! connections. The roles, schema and database are this test's own and
//! are dropped afterwards.

mod common;

use common::*;
use strongroom_db::checkpoint::{self, CHECKPOINT_TABLE};
use strongroom_db::{Cell, DbUrl, Engine, EngineKind, Error, Job, Operation, Pk};

/// The server URL with another user and database.
fn as_user(db: &Db, user: &str, database: &str) -> DbUrl {
    let u = db.url.redacted();
    let rest = u.split_once("://").unwrap().1;
    let hostpart = rest.split_once('@').map_or(rest, |(_, h)| h);
    let host = hostpart.split('/').next().unwrap();
    let scheme = if db.kind() == EngineKind::Postgres {
        "postgres"
    } else {
        "mysql"
    };
    DbUrl::parse(&format!("{scheme}://{user}@{host}/{database}")).unwrap()
}

struct Setup {
    /// Where the table is, for the roles.
    database: String,
    /// The table, as the roles name it.
    table: String,
    rw: String,
    ro: String,
}

fn setup(admin: &mut dyn Engine, kind: EngineKind) -> Setup {
    let (schema, rw, ro) = (unique("db2_lp"), unique("db2_lp_rw"), unique("db2_lp_ro"));
    match kind {
        EngineKind::Postgres => {
            teardown_pg(admin, &schema, &rw, &ro);
            for sql in [
                format!("CREATE SCHEMA {schema}"),
                format!("CREATE ROLE {rw} LOGIN"),
                format!("CREATE ROLE {ro} LOGIN"),
                // No CREATE anywhere: public's is not granted to PUBLIC on
                // PostgreSQL 15, and this schema grants USAGE only.
                format!("GRANT USAGE ON SCHEMA {schema} TO {rw}, {ro}"),
                format!("ALTER ROLE {rw} SET search_path = {schema}"),
                format!("ALTER ROLE {ro} SET search_path = {schema}"),
                format!("CREATE TABLE {schema}.people (id bigint PRIMARY KEY, v text, idx bytea)"),
                format!(
                    "INSERT INTO {schema}.people (id, v) SELECT g, 'person ' || g FROM generate_series(1, 300) g"
                ),
                format!("GRANT SELECT, UPDATE ON {schema}.people TO {rw}"),
                format!("GRANT SELECT ON {schema}.people TO {ro}"),
            ] {
                admin.execute_batch(&sql).unwrap();
            }
            Setup {
                database: "test".into(),
                table: "people".into(),
                rw,
                ro,
            }
        }
        _ => {
            teardown_my(admin, &schema, &rw, &ro);
            for sql in [
                format!("CREATE DATABASE {schema}"),
                format!("CREATE USER '{rw}'@'127.0.0.1'"),
                format!("CREATE USER '{ro}'@'127.0.0.1'"),
                format!(
                    "CREATE TABLE {schema}.people (id BIGINT PRIMARY KEY, v TEXT, idx VARBINARY(32)) DEFAULT CHARSET=utf8mb4"
                ),
                format!(
                    "INSERT INTO {schema}.people (id, v) SELECT seq, CONCAT('person ', seq) FROM seq_1_to_300"
                ),
                format!("GRANT SELECT, UPDATE ON {schema}.people TO '{rw}'@'127.0.0.1'"),
                format!("GRANT SELECT ON {schema}.people TO '{ro}'@'127.0.0.1'"),
            ] {
                admin.execute_batch(&sql).unwrap();
            }
            Setup {
                database: schema,
                table: "people".into(),
                rw,
                ro,
            }
        }
    }
}

fn teardown_pg(admin: &mut dyn Engine, schema: &str, rw: &str, ro: &str) {
    admin
        .execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    for role in [rw, ro] {
        admin
            .execute_batch(&format!(
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                   EXECUTE 'DROP OWNED BY {role}'; EXECUTE 'DROP ROLE {role}'; END IF; END $$"
            ))
            .unwrap();
    }
}

fn teardown_my(admin: &mut dyn Engine, schema: &str, rw: &str, ro: &str) {
    admin
        .execute_batch(&format!("DROP DATABASE IF EXISTS {schema}"))
        .unwrap();
    for user in [rw, ro] {
        admin
            .execute_batch(&format!("DROP USER IF EXISTS '{user}'@'127.0.0.1'"))
            .unwrap();
    }
}

/// The administrator creates the checkpoint table where the roles look
/// for it, and grants it.
fn create_checkpoint_table(admin: &mut dyn Engine, kind: EngineKind, s: &Setup) {
    let schema = unique("db2_lp");
    let (set, reset) = match kind {
        EngineKind::Postgres => (
            format!("SET search_path = {schema}"),
            "RESET search_path".to_string(),
        ),
        _ => (format!("USE {schema}"), "USE test".to_string()),
    };
    admin.execute_batch(&set).unwrap();
    assert!(!admin.checkpoint_table_exists().unwrap());
    admin.create_checkpoint_table().unwrap();
    admin.execute_batch(&reset).unwrap();
    let (rw, ro) = match kind {
        EngineKind::Postgres => (s.rw.clone(), s.ro.clone()),
        _ => (
            format!("'{}'@'127.0.0.1'", s.rw),
            format!("'{}'@'127.0.0.1'", s.ro),
        ),
    };
    admin
        .execute_batch(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{CHECKPOINT_TABLE} TO {rw}"
        ))
        .unwrap();
    let _ = ro;
}

#[test]
fn least_privilege_roles() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    for db in [server(EngineKind::Postgres), server(EngineKind::Mysql)]
        .into_iter()
        .flatten()
    {
        let kind = db.kind();
        let mut admin = db.open();
        let s = setup(admin.as_mut(), kind);
        let cipher = text_cipher(&ring, &s.table, false);
        let rw_url = as_user(&db, &s.rw, &s.database);
        let ro_url = as_user(&db, &s.ro, &s.database);

        // Without the checkpoint table, and no right to create it: a
        // specific error before anything changes.
        let mut rw = strongroom_db::connect(&rw_url).unwrap();
        let err = strongroom_db::run(rw.as_mut(), &Job::new(Operation::Encrypt, &cipher, &s.table, "v"))
            .unwrap_err();
        assert!(matches!(&err, Error::CheckpointTable { .. }), "{kind:?}: {err:?}");
        assert_eq!(err.kind(), strongroom::ErrorKind::Usage);
        let st = strongroom_db::status(rw.as_mut(), &s.table, "v", None, None, None).unwrap();
        assert_eq!(st.plaintext, 300, "nothing changed");

        // Created once by the administrator: the job runs with SELECT and
        // UPDATE on the table.
        create_checkpoint_table(admin.as_mut(), kind, &s);
        let run = strongroom_db::run(
            rw.as_mut(),
            &Job::new(Operation::Encrypt, &cipher, &s.table, "v").batch_size(100),
        )
        .unwrap();
        assert_eq!((run.changed, run.batches), (300, 3), "{kind:?}");
        run.check().unwrap();

        // SELECT alone: status, verify and a dry run on a read-only
        // connection; the checkpoint table is not even readable.
        let mut ro = strongroom_db::connect_read_only(&ro_url).unwrap();
        let st = strongroom_db::status(ro.as_mut(), &s.table, "v", None, None, None).unwrap();
        assert_eq!(st.tokens.get("random v1"), Some(&300), "{kind:?}");
        if kind == EngineKind::Postgres {
            // PostgreSQL shows the table to the role, but not its rows.
            assert!(st.checkpoint_unreadable.is_some(), "{st:?}");
        }
        let st = strongroom_db::status(ro.as_mut(), &s.table, "v", None, Some(&cipher), None).unwrap();
        st.check(false, None).unwrap();
        let dry = strongroom_db::run(
            ro.as_mut(),
            &Job::new(Operation::Decrypt, &cipher, &s.table, "v").dry_run(true),
        )
        .unwrap();
        assert_eq!((dry.changed, dry.dry_run), (300, true));
        // A real job on that role fails, and changes nothing.
        let err = strongroom_db::run(ro.as_mut(), &Job::new(Operation::Decrypt, &cipher, &s.table, "v"))
            .unwrap_err();
        assert!(
            matches!(err, Error::CheckpointTable { .. } | Error::Engine { .. }),
            "{kind:?}: {err:?}"
        );
        let st = strongroom_db::status(ro.as_mut(), &s.table, "v", None, None, None).unwrap();
        assert_eq!(st.tokens.get("random v1"), Some(&300));
        // The read-only session refuses writes even where the role could.
        let mut rw_ro = strongroom_db::connect_read_only(&rw_url).unwrap();
        assert!(
            rw_ro
                .execute_batch(&format!("UPDATE {} SET v = 'x' WHERE id = 1", s.table))
                .is_err(),
            "{kind:?}: a read-only session wrote"
        );
        drop((rw, ro, rw_ro));
        match kind {
            EngineKind::Postgres => teardown_pg(admin.as_mut(), &unique("db2_lp"), &s.rw, &s.ro),
            _ => teardown_my(admin.as_mut(), &s.database, &s.rw, &s.ro),
        }
    }
}

#[test]
fn the_checkpoint_table_sql_is_what_the_engines_create() {
    // The SQL `db setup --print-sql` prints creates a table the jobs use.
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir, "ring");
    let db = sqlite();
    let mut e = db.open();
    e.execute_batch(&checkpoint::ddl("sqlite")).unwrap();
    let table = &unique("db_ddl");
    create(e.as_mut(), EngineKind::Sqlite, table, false, Col::Text);
    insert(
        e.as_mut(),
        EngineKind::Sqlite,
        table,
        &[(Pk::Int(1), Cell::text("x"))],
    );
    let cipher = text_cipher(&ring, table, false);
    strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v"))
        .unwrap()
        .check()
        .unwrap();
    for engine in ["postgres", "mysql"] {
        assert!(checkpoint::ddl(engine).starts_with(&format!("CREATE TABLE {CHECKPOINT_TABLE} (")));
    }
}
