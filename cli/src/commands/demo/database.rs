//! The database half of the demo: a SQLite table of generated customers
//! whose sensitive columns are encrypted in place by the same code as
//! `strongroom db encrypt` (the `strongroom-db` library), looked up through
//! a blind index and a deterministic column, protected against tokens moved
//! between rows, and moved to a new key version with `strongroom db rotate`'s
//! code while lookups keep working.
//!
//! Row keys are the decimal text of the primary key, as with
//! `strongroom field --rows` and `strongroom db`, so the command line can
//! decrypt these tokens.

use super::sample::{self, Customer};
use crate::commands::db::db_error;
use crate::output::{Output, size};
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, params, params_from_iter};
use serde_json::{Value as Json, json};
use std::path::Path;
use std::time::Instant;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, Value, ValueType};
use strongroom::keyring::Keyring;
use strongroom::{Error, ErrorKind};
use strongroom_db::live::{LiveColumn, Phase};
use strongroom_db::{Cell, Job, Operation, Pk, SqliteEngine, Storage};

/// Customers in the demo table.
const ROWS: usize = 2000;
/// Blind index length: 2000 distinct addresses need far fewer than 32 bits,
/// so each term names one customer (see docs/FIELDS.md, sizing).
const EMAIL_INDEX_LEN: usize = 4;
/// The table, whose name is bound into every token.
const TABLE: &str = "customers";
/// The blind index column of `email`.
const EMAIL_INDEX: &str = "email_idx";

/// The encrypted columns, all text columns encrypted in place.
const COLUMNS: [(&str, Setup); 5] = [
    ("email", Setup::Email),
    ("national_id", Setup::NationalId),
    ("birth_date", Setup::Random(ValueType::Date)),
    ("balance_cents", Setup::Random(ValueType::Int)),
    ("note", Setup::Random(ValueType::Text)),
];

/// How a column is encrypted.
#[derive(Clone, Copy)]
enum Setup {
    /// Random mode with a blind index for lookups by address.
    Email,
    /// Deterministic, for equality lookups and a UNIQUE index.
    NationalId,
    /// Random mode, no lookups; the text column holds values of this type.
    Random(ValueType),
}

impl Setup {
    fn spec(self) -> ColumnSpec {
        match self {
            Setup::Email => {
                ColumnSpec::new(ValueType::Text).with_blind_index(EMAIL_INDEX_LEN, Normalizer::TrimLowercase)
            }
            Setup::NationalId => ColumnSpec::new(ValueType::Text).deterministic(),
            Setup::Random(ty) => ColumnSpec::new(ty),
        }
    }

    fn index(self) -> Option<&'static str> {
        matches!(self, Setup::Email).then_some(EMAIL_INDEX)
    }
}

/// One cipher per encrypted column, in the order of [`COLUMNS`].
struct Ciphers(Vec<FieldCipher>);

impl Ciphers {
    fn new(ring: &Keyring) -> Result<Self> {
        let ciphers = COLUMNS
            .iter()
            .map(|(column, setup)| FieldCipher::new(ring, TABLE, column, setup.spec()))
            .collect::<strongroom::Result<Vec<_>>>()
            .context("cannot set up the column ciphers")?;
        Ok(Self(ciphers))
    }

    fn email(&self) -> &FieldCipher {
        &self.0[0]
    }

    fn national_id(&self) -> &FieldCipher {
        &self.0[1]
    }

    /// How the application reads and writes a column once it is encrypted.
    fn live(&self, i: usize) -> LiveColumn<'_> {
        LiveColumn::new(&self.0[i], Storage::Text, Phase::TokensOnly)
    }
}

/// The values of one customer in [`COLUMNS`] order.
fn column_values(c: &Customer) -> [Option<Value>; 5] {
    [
        Some(Value::from(c.email.as_str())),
        Some(Value::from(c.national_id.as_str())),
        Some(Value::Date(c.birth_date)),
        Some(Value::Int(c.balance_cents)),
        c.note.as_deref().map(Value::from),
    ]
}

/// Runs every column's job (`strongroom db encrypt` or `db rotate`) on
/// the table; returns the rows changed.
fn run_jobs(engine: &mut SqliteEngine, ciphers: &Ciphers, op: Operation) -> Result<u64> {
    let mut changed = 0;
    for ((column, setup), cipher) in COLUMNS.iter().zip(&ciphers.0) {
        let mut job = Job::new(op, cipher, TABLE, column).batch_size(500);
        if let Some(idx) = setup.index() {
            job = job.index(idx);
        }
        let s = strongroom_db::run(engine, &job)
            .map_err(db_error)
            .with_context(|| format!("cannot {} column {column}", op.name()))?;
        if s.undecryptable > 0 || s.wrong_kind > 0 || s.changed_meanwhile > 0 {
            bail!(
                "column {column}: {} rows were left unchanged: this is a bug",
                s.rows - s.changed - s.null
            );
        }
        changed += s.changed;
    }
    Ok(changed)
}

/// Runs the database part of the demo in `dir` with the unlocked `ring`
/// (which gains a key version); returns the JSON summary.
pub fn run(out: &Output, dir: &Path, ring: &mut Keyring) -> Result<Json> {
    let db_path = dir.join("customers.db");
    let customers = sample::customers(ROWS);
    let mut conn =
        Connection::open(&db_path).with_context(|| format!("cannot create {}", db_path.display()))?;
    create_plain_table(&mut conn, &customers)?;
    let clear_before = count_occurrences(&std::fs::read(&db_path)?, b"@example.com");
    out.say(format!(
        "7. Built customers.db (SQLite): {ROWS} customers in clear; the file's bytes hold {clear_before} copies"
    ));
    out.say("   of their e-mail addresses (table and UNIQUE index)");

    let ciphers = Ciphers::new(ring)?;
    let mut engine = SqliteEngine::from_connection(conn).map_err(db_error)?;
    let started = Instant::now();
    let changed = run_jobs(&mut engine, &ciphers, Operation::Encrypt)?;
    let encrypt_ms = started.elapsed().as_secs_f64() * 1e3;
    let conn = engine.connection();
    conn.execute_batch("VACUUM")
        .context("cannot compact customers.db")?;
    let file = std::fs::read(&db_path)?;
    let clear_after = count_occurrences(&file, b"@example.com");
    if clear_after != 0
        || customers
            .iter()
            .take(50)
            .any(|c| contains(&file, c.national_id.as_bytes()))
    {
        bail!("plaintext is still readable in customers.db after encryption: this is a bug");
    }
    out.say(format!(
        "8. Encrypted email, national_id, birth_date, balance_cents and note in place ({changed} values, {encrypt_ms:.0} ms),"
    ));
    out.say("   as `strongroom db encrypt` does: batches of 500 rows, one transaction and checkpoint each;");
    out.say(format!(
        "   compacted the file ({}): 0 addresses in its bytes now",
        size(file.len() as u64)
    ));
    show_row(out, conn, 17)?;

    let lookups = lookups(out, conn, &ciphers, &customers)?;
    let moved = moved_token(out, &mut engine, &ciphers)?;
    let rotation = rotate(out, &mut engine, ring, &customers)?;

    Ok(json!({
        "path": db_path.display().to_string(),
        "rows": ROWS,
        "addresses_in_clear_before": clear_before,
        "addresses_in_clear_after": clear_after,
        "encrypt_ms": encrypt_ms,
        "values_encrypted": changed,
        "lookups": lookups,
        "moved_token": moved,
        "rotation": rotation,
    }))
}

/// Creates and fills the plaintext table, as an existing application has
/// it, plus the (empty) blind index column the application adds first.
fn create_plain_table(conn: &mut Connection, customers: &[Customer]) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL UNIQUE,
            national_id TEXT NOT NULL UNIQUE,
            birth_date TEXT NOT NULL,
            balance_cents TEXT NOT NULL,
            note TEXT
        );
        ALTER TABLE customers ADD COLUMN email_idx BLOB;
        CREATE INDEX customers_email_idx ON customers (email_idx);",
    )?;
    {
        let mut insert = tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)")?;
        for c in customers {
            let birth = Value::Date(c.birth_date).to_text()?;
            insert.execute(params![
                c.id,
                c.name,
                c.email,
                c.national_id,
                birth.as_str(),
                c.balance_cents.to_string(),
                c.note
            ])?;
        }
    }
    tx.commit().context("cannot fill customers.db")?;
    Ok(())
}

/// Prints what one encrypted row looks like.
fn show_row(out: &Output, conn: &Connection, id: i64) -> Result<()> {
    let (name, email, idx, nid): (String, String, Vec<u8>, String) = conn.query_row(
        "SELECT name, email, email_idx, national_id FROM customers WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let short = |t: &str| format!("{}… ({} characters)", &t[..t.len().min(28)], t.len());
    out.say(format!("   row {id}: name {name:?} (left in clear)"));
    out.say(format!("     email       {}", short(&email)));
    out.say(format!(
        "     email_idx   {} (blind index, {EMAIL_INDEX_LEN} bytes)",
        hex::encode(&idx)
    ));
    out.say(format!("     national_id {}", short(&nid)));
    Ok(())
}

/// Finds a customer by e-mail address (blind index) and by national id
/// (deterministic token), as an application's queries would.
fn lookups(out: &Output, conn: &Connection, ciphers: &Ciphers, customers: &[Customer]) -> Result<Json> {
    let wanted = &customers[1233];
    let typed = format!("  {}  ", wanted.email.to_uppercase());
    let term = ciphers
        .email()
        .index(Some(&Value::from(typed.as_str())))?
        .context("an address has an index term")?;
    let candidates: Vec<(i64, String)> = conn
        .prepare("SELECT id, email FROM customers WHERE email_idx = ?1")?
        .query_map([term.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // The index narrows the search; decrypting confirms the match.
    let found = confirm_email(ciphers, &candidates, &wanted.email)?;
    if found != Some(wanted.id) {
        bail!(
            "the blind index lookup did not find customer {}: this is a bug",
            wanted.id
        );
    }
    out.say(format!(
        "9. Looked up {typed:?} by its blind index: {} candidate row(s), decrypted to confirm: customer {}",
        candidates.len(),
        wanted.id
    ));

    let nid = &customers[41].national_id;
    let token = ciphers
        .national_id()
        .encrypt(Some(&Value::from(nid.as_str())), None)?
        .context("a value has a token")?;
    let by_nid: i64 = conn.query_row(
        "SELECT id FROM customers WHERE national_id = ?1",
        [token.to_text()],
        |r| r.get(0),
    )?;
    if by_nid != customers[41].id {
        bail!("the deterministic lookup found the wrong row: this is a bug");
    }
    let insert = conn.execute(
        "INSERT INTO customers (name, email, email_idx, national_id, birth_date, balance_cents)
         SELECT 'Duplicate', 'x', email_idx, national_id, birth_date, balance_cents
         FROM customers WHERE id = ?1",
        [by_nid],
    );
    // Only the UNIQUE constraint counts as a refusal, not any other error.
    let duplicate = match insert {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            true
        }
        Err(e) => return Err(e).context("cannot try a duplicate national id"),
        Ok(_) => bail!("the UNIQUE index accepted a duplicate encrypted national id: this is a bug"),
    };
    out.say(format!(
        "   looked up national id {nid} by its deterministic token: customer {by_nid};"
    ));
    out.say("   a second row with the same national id is refused by the UNIQUE index on national_id");
    Ok(json!({
        "email": {"customer": wanted.id, "candidates": candidates.len()},
        "national_id": {"customer": by_nid, "duplicate_refused": duplicate},
    }))
}

/// The id among `candidates` whose address is `email` (read as the
/// application reads the column once it is encrypted: tokens only).
fn confirm_email(ciphers: &Ciphers, candidates: &[(i64, String)], email: &str) -> Result<Option<i64>> {
    let live = ciphers.live(0);
    for (id, token) in candidates {
        let value = live
            .read(&Cell::text(token.as_str()), &Pk::Int(*id))
            .map_err(db_error)?;
        if value.as_ref().and_then(Value::as_str) == Some(email) {
            return Ok(Some(*id));
        }
    }
    Ok(None)
}

/// Copies customer 2's balance token into customer 1's row (in a
/// transaction that is rolled back) and shows that it no longer decrypts.
/// (The e-mail column is UNIQUE, so the copy would not even be stored.)
fn moved_token(out: &Output, engine: &mut SqliteEngine, ciphers: &Ciphers) -> Result<Json> {
    let conn = engine.connection();
    conn.execute_batch("BEGIN")?;
    conn.execute(
        "UPDATE customers SET balance_cents = (SELECT balance_cents FROM customers WHERE id = 2) WHERE id = 1",
        [],
    )?;
    let token: String = conn.query_row("SELECT balance_cents FROM customers WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    let result = ciphers.live(3).read(&Cell::text(token), &Pk::Int(1));
    conn.execute_batch("ROLLBACK")?;
    let err = match result {
        Ok(_) => bail!("a token moved to another row decrypted: this is a bug"),
        Err(strongroom_db::Error::Core(e)) => e,
        Err(e) => return Err(db_error(e)).context("a moved token failed with an unexpected error"),
    };
    if !matches!(err, Error::FieldAuthFailed) || err.kind() != ErrorKind::Integrity {
        bail!("a moved token failed with an unexpected error: {err}");
    }
    out.say(
        "10. Copied customer 2's balance_cents token into customer 1's row (an attacker with write access):",
    );
    out.say(format!("    refused: {err};"));
    out.say("    each token is bound to its table, column and row (undone afterwards)");
    Ok(json!({"refused": true, "error": err.to_string()}))
}

/// Adds key version 2 as primary, shows that lookups keep working while
/// the rows are still on version 1, rotates every column with the code of
/// `strongroom db rotate`, and checks every value against the original.
fn rotate(
    out: &Output,
    engine: &mut SqliteEngine,
    ring: &mut Keyring,
    customers: &[Customer],
) -> Result<Json> {
    let new_version = ring.add_key(true).context("cannot add a key version")?;
    let ciphers = Ciphers::new(ring)?;
    let wanted = &customers[1233];
    let found = lookup_ids(engine.connection(), &ciphers, &wanted.email)?;
    if found != [wanted.id] {
        bail!(
            "the lookup during the rotation found rows {found:?} instead of customer {}: this is a bug",
            wanted.id
        );
    }
    let terms = ciphers
        .email()
        .lookup_terms(Some(&Value::from(wanted.email.as_str())))?
        .len();
    let old = on_version(engine.connection(), &ciphers, new_version - 1)?;
    out.say(format!(
        "11. Rotated: key version {new_version} is primary; {old} rows still on version {}.",
        new_version - 1
    ));
    out.say(format!(
        "    While they are, lookups use both versions' index terms ({terms} terms): customer {} found",
        wanted.id
    ));

    let started = Instant::now();
    run_jobs(engine, &ciphers, Operation::Rotate)?;
    let rewrap_ms = started.elapsed().as_secs_f64() * 1e3;
    let left = on_version(engine.connection(), &ciphers, new_version - 1)?;
    if left != 0 {
        bail!(
            "{left} rows are still on key version {} after the rotation: this is a bug",
            new_version - 1
        );
    }
    let after = lookup_ids(engine.connection(), &ciphers, &wanted.email)?;
    if after != [wanted.id] {
        bail!("the lookup after the rotation found rows {after:?}: this is a bug");
    }
    verify_all(engine, &ciphers, customers)?;
    out.say(format!(
        "    Re-encrypted every token and rebuilt the blind index as `strongroom db rotate` does ({rewrap_ms:.0} ms);"
    ));
    out.say(format!(
        "    {left} rows left on version {}; `db verify` finds every token readable; all {ROWS} rows match the originals",
        new_version - 1
    ));
    Ok(json!({
        "new_version": new_version,
        "rows_on_old_version_before": old,
        "rows_on_old_version_after": left,
        "lookup_terms_during_rotation": terms,
        "rewrap_ms": rewrap_ms,
        "verified_rows": ROWS,
    }))
}

/// The ids whose blind index matches `email` under any usable version.
fn lookup_ids(conn: &Connection, ciphers: &Ciphers, email: &str) -> Result<Vec<i64>> {
    let terms = ciphers
        .live(0)
        .lookup_terms(&Value::from(email))
        .map_err(db_error)?;
    let placeholders = vec!["?"; terms.len()].join(", ");
    let found = conn
        .prepare(&format!(
            "SELECT id FROM customers WHERE email_idx IN ({placeholders})"
        ))?
        .query_map(params_from_iter(terms.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(found)
}

/// Rows whose e-mail token is on `version`, found from the token header
/// with SQL alone (no key, no decryption).
fn on_version(conn: &Connection, ciphers: &Ciphers, version: u32) -> Result<i64> {
    let mut info = ciphers.email().current_token_info();
    info.key_version = version;
    Ok(conn.query_row(
        "SELECT count(*) FROM customers WHERE substr(email, 1, 12) = ?1",
        [info.text_prefix()],
        |r| r.get(0),
    )?)
}

/// Runs `db verify`'s check on every column, then decrypts every row and
/// compares it with the generated customers.
fn verify_all(engine: &mut SqliteEngine, ciphers: &Ciphers, customers: &[Customer]) -> Result<()> {
    for ((column, setup), cipher) in COLUMNS.iter().zip(&ciphers.0) {
        let st = strongroom_db::status(engine, TABLE, column, setup.index(), Some(cipher), None)
            .map_err(db_error)?;
        if st.undecryptable != Some(0) || st.plaintext != 0 || st.index_mismatch.unwrap_or(0) != 0 {
            bail!("column {column} does not verify after the rotation: this is a bug");
        }
    }
    let conn = engine.connection();
    let mut stmt = conn.prepare(
        "SELECT id, email, national_id, birth_date, balance_cents, note FROM customers ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        let tokens: [Option<String>; 5] = [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?];
        Ok((r.get::<_, i64>(0)?, tokens))
    })?;
    let mut seen = 0;
    for (row, expected) in rows.zip(customers) {
        let (id, tokens) = row?;
        if id != expected.id {
            bail!(
                "customers.db holds customer {id} where customer {} was expected",
                expected.id
            );
        }
        for (i, ((token, value), (column, _))) in tokens
            .iter()
            .zip(column_values(expected))
            .zip(&COLUMNS)
            .enumerate()
        {
            let cell = token.as_deref().map_or(Cell::Null, Cell::text);
            let back = ciphers.live(i).read(&cell, &Pk::Int(id)).map_err(db_error)?;
            if back != value {
                bail!("customer {id}: {column} does not decrypt to its original value");
            }
        }
        seen += 1;
    }
    if seen != customers.len() {
        bail!("customers.db holds {seen} rows, expected {}", customers.len());
    }
    Ok(())
}

/// Occurrences of `needle` in `haystack`.
fn count_occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
