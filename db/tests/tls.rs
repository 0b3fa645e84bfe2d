//! TLS to both servers with the certificates of scripts/db-tls-setup.sh
//! (STRONGROOM_TEST_TLS_DIR, default /var/lib/strongroom-test-tls): every
//! sslmode, a CA file, a client certificate, and certificates refused with
//! a specific error. Without the certificates the tests are skipped (with
//! CI=true they fail).

mod common;

use common::*;
use std::path::PathBuf;
use strongroom::ErrorKind;
use strongroom_db::{Cell, DbUrl, Engine, EngineKind, Error, Job, Operation, Pk, Transport};

fn tls_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("STRONGROOM_TEST_TLS_DIR").unwrap_or_else(|_| "/var/lib/strongroom-test-tls".into()),
    );
    if dir.join("ca.pem").exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CI=true and no test certificates in {} (scripts/db-tls-setup.sh)",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: no test certificates in {} (run scripts/db-tls-setup.sh)",
        dir.display()
    );
    None
}

/// The server's URL with `query` appended.
fn url(kind: EngineKind, query: &str) -> DbUrl {
    DbUrl::parse(&format!("{}?{query}", server_url(kind))).unwrap()
}

fn connect(u: &DbUrl) -> Result<Box<dyn Engine>, Error> {
    strongroom_db::connect(u)
}

fn transport(u: &DbUrl) -> Transport {
    connect(u)
        .unwrap_or_else(|e| panic!("{}: {e}", u.redacted()))
        .transport()
        .unwrap()
}

fn refused(u: &DbUrl) -> String {
    match connect(u) {
        Err(Error::Certificate { reason, .. }) => reason,
        Err(e) => panic!("{}: not a certificate error: {e:?}", u.redacted()),
        Ok(_) => panic!("{}: connected", u.redacted()),
    }
}

#[test]
fn every_mode_against_both_servers() {
    let Some(dir) = tls_dir() else { return };
    let ca = dir.join("ca.pem");
    let other = dir.join("other-ca.pem");
    for kind in [EngineKind::Postgres, EngineKind::Mysql] {
        if server(kind).is_none() {
            continue;
        }
        let ca_q = format!("sslrootcert={}", ca.display());
        assert_eq!(
            transport(&url(kind, "sslmode=disable")),
            Transport::Cleartext,
            "{kind:?}"
        );
        for query in [
            String::new(), // on this machine: prefer
            "sslmode=prefer".into(),
            "sslmode=require".into(),
            format!("sslmode=verify-ca&{ca_q}"),
            format!("sslmode=verify-full&{ca_q}"),
            format!("sslmode=require&{ca_q}"),
        ] {
            let t = transport(&url(kind, &query));
            assert!(
                matches!(&t, Transport::Tls(v) if v.starts_with("TLSv1.")),
                "{kind:?} {query}: {t:?}"
            );
        }
        // Refused with a specific error: a certificate of a CA not trusted
        // (the system's roots, another CA), whatever the mode that checks.
        for query in [
            "sslmode=verify-full".to_string(),
            format!("sslmode=verify-full&sslrootcert={}", other.display()),
            format!("sslmode=verify-ca&sslrootcert={}", other.display()),
            format!("sslmode=require&sslrootcert={}", other.display()),
        ] {
            let reason = refused(&url(kind, &query));
            assert!(
                reason.contains("UnknownIssuer") || reason.contains("unknown issuer"),
                "{kind:?} {query}: {reason}"
            );
        }
        let e = connect(&url(kind, "sslmode=verify-full")).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(e.hint().unwrap().contains("sslrootcert"));
        // A job over verified TLS.
        let dir_k = tempfile::tempdir().unwrap();
        let ring = keyring(&dir_k, "ring");
        let mut e = connect(&url(kind, &format!("sslmode=verify-full&{ca_q}"))).unwrap();
        let table = &unique("db_tls_job");
        create(e.as_mut(), kind, table, false, Col::Text);
        insert(
            e.as_mut(),
            kind,
            table,
            &[
                (Pk::Int(1), Cell::text("over TLS")),
                (Pk::Int(2), Cell::text("é")),
            ],
        );
        let cipher = text_cipher(&ring, table, false);
        let s = strongroom_db::run(e.as_mut(), &Job::new(Operation::Encrypt, &cipher, table, "v")).unwrap();
        assert!(matches!(s.transport, Some(Transport::Tls(_))), "{s:?}");
        assert_eq!(s.changed, 2);
        drop_table(e.as_mut(), table);
    }
}

#[test]
fn the_name_is_checked_by_verify_full_only() {
    let Some(dir) = tls_dir() else { return };
    if server(EngineKind::Postgres).is_none() {
        return;
    }
    // PostgreSQL connects to hostaddr and checks the name of host.
    let base = server_url(EngineKind::Postgres);
    let (_, rest) = base.split_once('@').unwrap();
    let (hostport, db) = rest.split_once('/').unwrap();
    let port = hostport.rsplit_once(':').map_or("5432", |(_, p)| p);
    let (ip, _) = hostport.rsplit_once(':').unwrap_or((hostport, ""));
    let at = |mode: &str| {
        DbUrl::parse(&format!(
            "postgres://postgres@db.strongroom.test:{port}/{db}?hostaddr={ip}&sslmode={mode}&sslrootcert={}",
            dir.join("ca.pem").display()
        ))
        .unwrap()
    };
    let reason = refused(&at("verify-full"));
    assert!(
        reason.contains("NotValidForName") || reason.contains("not valid for name"),
        "{reason}"
    );
    assert!(matches!(transport(&at("verify-ca")), Transport::Tls(_)));
}

#[test]
fn client_certificates() {
    let Some(dir) = tls_dir() else { return };
    let cert = format!(
        "sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        dir.join("ca.pem").display(),
        dir.join("client.pem").display(),
        dir.join("client.key").display()
    );
    if server(EngineKind::Postgres).is_some() {
        // The server saw the client certificate.
        let check = "DO $$ BEGIN IF (SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid())
                     IS DISTINCT FROM '/CN=strongroom-test-client' THEN RAISE EXCEPTION 'no client certificate'; END IF; END $$";
        connect(&url(EngineKind::Postgres, &cert))
            .unwrap()
            .execute_batch(check)
            .unwrap();
        let without = format!("sslmode=verify-full&sslrootcert={}", dir.join("ca.pem").display());
        assert!(
            connect(&url(EngineKind::Postgres, &without))
                .unwrap()
                .execute_batch(check)
                .is_err()
        );
        // Half a client certificate is a usage mistake, said as such.
        let half = format!("{without}&sslcert={}", dir.join("client.pem").display());
        assert!(refused(&url(EngineKind::Postgres, &half)).contains("both sslcert and sslkey"));
    }
    if let Some(db) = server(EngineKind::Mysql) {
        // A user that must present this certificate.
        let user = unique("db2_tls_user");
        let mut admin = db.open();
        admin
            .execute_batch(&format!("DROP USER IF EXISTS '{user}'@'127.0.0.1'"))
            .unwrap();
        admin
            .execute_batch(&format!(
                "CREATE USER '{user}'@'127.0.0.1' REQUIRE SUBJECT '/CN=strongroom-test-client'"
            ))
            .unwrap();
        // No default database: the user has no right on any.
        let base = server_url(EngineKind::Mysql);
        let (_, rest) = base.split_once('@').unwrap();
        let hostport = rest.split('/').next().unwrap();
        let as_user = |q: &str| DbUrl::parse(&format!("mysql://{user}@{hostport}/?{q}")).unwrap();
        assert!(matches!(transport(&as_user(&cert)), Transport::Tls(_)));
        let without = format!("sslmode=verify-full&sslrootcert={}", dir.join("ca.pem").display());
        assert!(matches!(connect(&as_user(&without)), Err(Error::Engine { .. })));
        admin
            .execute_batch(&format!("DROP USER '{user}'@'127.0.0.1'"))
            .unwrap();
    }
}

#[test]
fn cleartext_to_another_machine_needs_an_explicit_option() {
    for scheme in ["postgres", "mysql"] {
        for mode in ["?sslmode=disable", "?sslmode=prefer"] {
            let u = DbUrl::parse(&format!("{scheme}://app@db.strongroom.invalid:5/x{mode}")).unwrap();
            let e = connect(&u).err().expect("refused");
            assert!(
                matches!(&e, Error::CleartextRefused { host, .. } if host == "db.strongroom.invalid"),
                "{e:?}"
            );
            assert_eq!(e.kind(), ErrorKind::Usage);
            // Allowed explicitly, it is tried (and this name does not resolve).
            let e = connect(&u.clone().allow_cleartext(true))
                .err()
                .expect("no such host");
            assert!(matches!(e, Error::Engine { .. }), "{e:?}");
        }
        // Without sslmode another machine gets verify-full: no cleartext.
        let u = DbUrl::parse(&format!("{scheme}://app@db.strongroom.invalid:5/x")).unwrap();
        assert!(!matches!(connect(&u), Err(Error::CleartextRefused { .. })));
    }
}
