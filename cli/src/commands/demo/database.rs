//! The database half of the demo: a SQLite table of generated customers
//! whose sensitive columns are encrypted in place, looked up through a
//! blind index and a deterministic column, protected against tokens moved
//! between rows, and moved to a new key version without downtime.
//!
//! Row keys are the decimal text of the primary key, as with
//! `strongroom field --rows`, so the command line can decrypt these tokens.

use super::sample::{self, Customer};
use crate::output::{Output, size};
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, params, params_from_iter};
use serde_json::{Value as Json, json};
use std::path::Path;
use std::time::Instant;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, Token, Value, ValueType, header};
use strongroom::keyring::Keyring;
use strongroom::{Error, ErrorKind};

/// Customers in the demo table.
const ROWS: usize = 2000;
/// Blind index length: 2000 distinct addresses need far fewer than 32 bits,
/// so each term names one customer (see docs/FIELDS.md, sizing).
const EMAIL_INDEX_LEN: usize = 4;
/// The table's logical name, bound into every token.
const TABLE: &str = "customers";

/// The encrypted columns: plaintext column, token column, setup.
const COLUMNS: [(&str, &str, Setup); 5] = [
    ("email", "email_enc", Setup::Email),
    ("national_id", "national_id_enc", Setup::NationalId),
    ("birth_date", "birth_date_enc", Setup::Random(ValueType::Date)),
    ("balance_cents", "balance_enc", Setup::Random(ValueType::Int)),
    ("note", "note_enc", Setup::Random(ValueType::Text)),
];

/// How a column is encrypted.
#[derive(Clone, Copy)]
enum Setup {
    /// Random mode with a blind index for lookups by address.
    Email,
    /// Deterministic, for equality lookups and a UNIQUE index.
    NationalId,
    /// Random mode, no lookups.
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

    /// Whether tokens of this column are bound to their row.
    fn row_bound(self) -> bool {
        !matches!(self, Setup::NationalId)
    }
}

/// One cipher per encrypted column, in the order of [`COLUMNS`].
struct Ciphers(Vec<FieldCipher>);

impl Ciphers {
    fn new(ring: &Keyring) -> Result<Self> {
        let ciphers = COLUMNS
            .iter()
            .map(|(plain, _, setup)| FieldCipher::new(ring, TABLE, plain, setup.spec()))
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

/// The row key of a customer: the decimal text of its id.
fn row_key(id: i64) -> Vec<u8> {
    id.to_string().into_bytes()
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
    let started = Instant::now();
    encrypt_in_place(&mut conn, &ciphers)?;
    let encrypt_ms = started.elapsed().as_secs_f64() * 1e3;
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
        "8. Encrypted email, national_id, birth_date, balance_cents and note in place, in one transaction ({encrypt_ms:.0} ms);"
    ));
    out.say(format!(
        "   dropped the plaintext columns and compacted the file ({}): 0 addresses in its bytes now",
        size(file.len() as u64)
    ));
    show_row(out, &conn, 17)?;

    let lookups = lookups(out, &conn, &ciphers, &customers)?;
    let moved = moved_token(out, &mut conn, &ciphers)?;
    let rotation = rotate(out, &mut conn, ring, &customers)?;

    Ok(json!({
        "path": db_path.display().to_string(),
        "rows": ROWS,
        "addresses_in_clear_before": clear_before,
        "addresses_in_clear_after": clear_after,
        "encrypt_ms": encrypt_ms,
        "lookups": lookups,
        "moved_token": moved,
        "rotation": rotation,
    }))
}

/// Creates and fills the plaintext table, as an existing application has it.
fn create_plain_table(conn: &mut Connection, customers: &[Customer]) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL UNIQUE,
            national_id TEXT NOT NULL UNIQUE,
            birth_date TEXT NOT NULL,
            balance_cents INTEGER NOT NULL,
            note TEXT
        );",
    )?;
    {
        let mut insert = tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
        for c in customers {
            let birth = Value::Date(c.birth_date).to_text()?;
            insert.execute(params![
                c.id,
                c.name,
                c.email,
                c.national_id,
                birth.as_str(),
                c.balance_cents,
                c.note
            ])?;
        }
    }
    tx.commit().context("cannot fill customers.db")?;
    Ok(())
}

/// Reads every plaintext row, encrypts each sensitive column with the batch
/// API (all cores), stores tokens and index terms, drops the plaintext
/// columns and adds indexes on the encrypted ones: one transaction, so a
/// failure leaves the table as it was.
fn encrypt_in_place(conn: &mut Connection, ciphers: &Ciphers) -> Result<()> {
    let tx = conn.transaction()?;
    let (ids, keys) = ids_and_row_keys(&tx)?;
    let rows: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    for ((plain, enc, setup), cipher) in COLUMNS.iter().zip(&ciphers.0) {
        let ty = setup.spec().value_type;
        let values = read_column(&tx, plain, ty)?;
        let tokens = cipher
            .encrypt_batch(&values, setup.row_bound().then_some(rows.as_slice()))
            .with_context(|| format!("cannot encrypt column {plain}"))?;
        store_column(
            &tx,
            enc,
            &ids,
            tokens.iter().map(|t| t.as_ref().map(Token::as_bytes)),
        )?;
        if cipher.spec().blind_index.is_some() {
            let terms = cipher.index_batch(&values)?;
            store_column(
                &tx,
                &index_column(plain),
                &ids,
                terms.iter().map(|t| t.as_ref().map(|t| t.as_bytes())),
            )?;
        }
    }
    // Plaintext columns with a UNIQUE constraint carry an index that SQLite
    // cannot drop with the column: rebuild the table without them.
    tx.execute_batch(
        "CREATE TABLE customers_new (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email_enc BLOB NOT NULL,
            email_idx BLOB NOT NULL,
            national_id_enc BLOB NOT NULL UNIQUE,
            birth_date_enc BLOB NOT NULL,
            balance_enc BLOB NOT NULL,
            note_enc BLOB
        );
        INSERT INTO customers_new
            SELECT id, name, email_enc, email_idx, national_id_enc, birth_date_enc, balance_enc, note_enc
            FROM customers;
        DROP TABLE customers;
        ALTER TABLE customers_new RENAME TO customers;
        CREATE INDEX customers_email_idx ON customers (email_idx);",
    )?;
    tx.commit().context("cannot commit the encrypted columns")?;
    Ok(())
}

/// Adds the BLOB column `column` and stores `values` in it, row by row in
/// the order of `ids`.
fn store_column<'a>(
    tx: &rusqlite::Transaction<'_>,
    column: &str,
    ids: &[i64],
    values: impl Iterator<Item = Option<&'a [u8]>>,
) -> Result<()> {
    tx.execute_batch(&format!("ALTER TABLE customers ADD COLUMN {column} BLOB"))?;
    update_column(tx, column, ids, values)
}

/// Replaces the values of `column`, row by row in the order of `ids`.
fn update_column<'a>(
    tx: &rusqlite::Transaction<'_>,
    column: &str,
    ids: &[i64],
    values: impl Iterator<Item = Option<&'a [u8]>>,
) -> Result<()> {
    let mut update = tx.prepare(&format!("UPDATE customers SET {column} = ?1 WHERE id = ?2"))?;
    for (value, id) in values.zip(ids) {
        update.execute(params![value, id])?;
    }
    Ok(())
}

/// The blind index column of a plaintext column.
fn index_column(plain: &str) -> String {
    format!("{plain}_idx")
}

/// Every customer id in order, with its row key.
fn ids_and_row_keys(tx: &rusqlite::Transaction<'_>) -> Result<(Vec<i64>, Vec<Vec<u8>>)> {
    let ids: Vec<i64> = tx
        .prepare("SELECT id FROM customers ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let keys = ids.iter().map(|&id| row_key(id)).collect();
    Ok((ids, keys))
}

/// The values of a plaintext column, by id, parsed as the column's type.
fn read_column(tx: &rusqlite::Transaction<'_>, column: &str, ty: ValueType) -> Result<Vec<Option<Value>>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT CAST({column} AS TEXT) FROM customers ORDER BY id"
    ))?;
    let texts = stmt
        .query_map([], |r| r.get::<_, Option<String>>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    texts
        .into_iter()
        .map(|t| t.map(|t| Value::parse(ty, &t)).transpose())
        .collect::<strongroom::Result<_>>()
        .with_context(|| format!("cannot read column {column}"))
}

/// Prints what one encrypted row looks like.
fn show_row(out: &Output, conn: &Connection, id: i64) -> Result<()> {
    let (name, email, idx, nid): (String, Vec<u8>, Vec<u8>, Vec<u8>) = conn.query_row(
        "SELECT name, email_enc, email_idx, national_id_enc FROM customers WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let short = |t: &[u8]| {
        let text = Token::from_bytes(t.to_vec())
            .map(|t| t.to_text())
            .unwrap_or_default();
        format!("{}… ({} bytes)", &text[..text.len().min(28)], t.len())
    };
    out.say(format!("   row {id}: name {name:?} (left in clear)"));
    out.say(format!("     email_enc       {}", short(&email)));
    out.say(format!(
        "     email_idx       {} (blind index, {EMAIL_INDEX_LEN} bytes)",
        hex::encode(&idx)
    ));
    out.say(format!("     national_id_enc {}", short(&nid)));
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
    let candidates: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT id, email_enc FROM customers WHERE email_idx = ?1")?
        .query_map([term.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // The index narrows the search; decrypting confirms the match.
    let found = confirm_email(ciphers.email(), &candidates, &wanted.email)?;
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
        "SELECT id FROM customers WHERE national_id_enc = ?1",
        [token.as_bytes()],
        |r| r.get(0),
    )?;
    if by_nid != customers[41].id {
        bail!("the deterministic lookup found the wrong row: this is a bug");
    }
    let insert = conn.execute(
        "INSERT INTO customers (name, email_enc, email_idx, national_id_enc, birth_date_enc, balance_enc)
         SELECT 'Duplicate', email_enc, email_idx, national_id_enc, birth_date_enc, balance_enc
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
    out.say("   a second row with the same national id is refused by the UNIQUE index on national_id_enc");
    Ok(json!({
        "email": {"customer": wanted.id, "candidates": candidates.len()},
        "national_id": {"customer": by_nid, "duplicate_refused": duplicate},
    }))
}

/// The id among `candidates` whose address is `email` (compared after the
/// index's normalisation).
fn confirm_email(cipher: &FieldCipher, candidates: &[(i64, Vec<u8>)], email: &str) -> Result<Option<i64>> {
    for (id, token) in candidates {
        let value = cipher.decrypt(token, Some(&row_key(*id)))?;
        if value.as_ref().and_then(Value::as_str) == Some(email) {
            return Ok(Some(*id));
        }
    }
    Ok(None)
}

/// Copies customer 2's e-mail token into customer 1's row (in a
/// transaction that is rolled back) and shows that it no longer decrypts.
fn moved_token(out: &Output, conn: &mut Connection, ciphers: &Ciphers) -> Result<Json> {
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE customers SET email_enc = (SELECT email_enc FROM customers WHERE id = 2) WHERE id = 1",
        [],
    )?;
    let token: Vec<u8> = tx.query_row("SELECT email_enc FROM customers WHERE id = 1", [], |r| r.get(0))?;
    let err = match ciphers.email().decrypt(&token, Some(&row_key(1))) {
        Ok(_) => bail!("a token moved to another row decrypted: this is a bug"),
        Err(e) => e,
    };
    tx.rollback()?;
    if !matches!(err, Error::FieldAuthFailed) || err.kind() != ErrorKind::Integrity {
        bail!("a moved token failed with an unexpected error: {err}");
    }
    out.say("10. Copied customer 2's email_enc into customer 1's row (an attacker with write access):");
    out.say(format!("    refused: {err};"));
    out.say("    each token is bound to its table, column and row (undone afterwards)");
    Ok(json!({"refused": true, "error": err.to_string()}))
}

/// Adds key version 2 as primary, shows that lookups keep working while
/// the rows are still on version 1, rewraps every row in one transaction,
/// and checks every value against the original.
fn rotate(out: &Output, conn: &mut Connection, ring: &mut Keyring, customers: &[Customer]) -> Result<Json> {
    let new_version = ring.add_key(true).context("cannot add a key version")?;
    let ciphers = Ciphers::new(ring)?;
    let wanted = &customers[1233];
    let terms = ciphers
        .email()
        .lookup_terms(Some(&Value::from(wanted.email.as_str())))?;
    let placeholders = vec!["?"; terms.len()].join(", ");
    let found: Vec<i64> = conn
        .prepare(&format!(
            "SELECT id FROM customers WHERE email_idx IN ({placeholders})"
        ))?
        .query_map(params_from_iter(terms.iter().map(|t| t.as_bytes())), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if found != [wanted.id] {
        bail!(
            "the lookup during the rotation found rows {found:?} instead of customer {}: this is a bug",
            wanted.id
        );
    }
    let during = wanted.id;
    let old = on_version(conn, new_version - 1)?;
    out.say(format!(
        "11. Rotated: key version {new_version} is primary; {old} rows still on version {}.",
        new_version - 1
    ));
    out.say(format!(
        "    While they are, lookups use both versions' index terms ({} terms): customer {during} found",
        terms.len()
    ));

    let started = Instant::now();
    rewrap_all(conn, &ciphers)?;
    let rewrap_ms = started.elapsed().as_secs_f64() * 1e3;
    let left = on_version(conn, new_version - 1)?;
    if left != 0 {
        bail!(
            "{left} rows are still on key version {} after the rewrap: this is a bug",
            new_version - 1
        );
    }
    verify_all(conn, &ciphers, customers)?;
    out.say(format!(
        "    Rewrapped every token and index term to version {new_version} in one transaction ({rewrap_ms:.0} ms), no plaintext returned;"
    ));
    out.say(format!(
        "    {left} rows left on version {}; all {ROWS} rows decrypt to their original values",
        new_version - 1
    ));
    Ok(json!({
        "new_version": new_version,
        "rows_on_old_version_before": old,
        "rows_on_old_version_after": left,
        "lookup_terms_during_rotation": terms.len(),
        "rewrap_ms": rewrap_ms,
        "verified_rows": ROWS,
    }))
}

/// Rows whose e-mail token is on `version`, found from the token header
/// with SQL alone (no key, no decryption).
fn on_version(conn: &Connection, version: u32) -> Result<i64> {
    let prefix = header(strongroom::field::Suite::Xaes256Gcm, version);
    Ok(conn.query_row(
        "SELECT count(*) FROM customers WHERE substr(email_enc, 1, ?1) = ?2",
        params![prefix.len() as i64, prefix.as_slice()],
        |r| r.get(0),
    )?)
}

/// Rewraps every token (and index term) to the primary version, each
/// token authenticated and decrypted once.
fn rewrap_all(conn: &mut Connection, ciphers: &Ciphers) -> Result<()> {
    let tx = conn.transaction()?;
    let (ids, keys) = ids_and_row_keys(&tx)?;
    let rows: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    for ((plain, enc, setup), cipher) in COLUMNS.iter().zip(&ciphers.0) {
        let tokens: Vec<Option<Vec<u8>>> = tx
            .prepare(&format!("SELECT {enc} FROM customers ORDER BY id"))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let rows = setup.row_bound().then_some(rows.as_slice());
        let failed = |id: &i64| format!("cannot rewrap {enc} of customer {id}");
        if cipher.spec().blind_index.is_some() {
            // The new term needs the plaintext: rewrap and index in one pass.
            let mut fresh = Vec::with_capacity(ids.len());
            let mut terms = Vec::with_capacity(ids.len());
            for (i, (token, id)) in tokens.iter().zip(&ids).enumerate() {
                let (token, term) = match token {
                    Some(t) => cipher
                        .rewrap_with_index(t, rows.map(|r| r[i]))
                        .with_context(|| failed(id))
                        .map(|(t, term)| (Some(t), term))?,
                    None => (None, None),
                };
                fresh.push(token);
                terms.push(term);
            }
            update_column(
                &tx,
                enc,
                &ids,
                fresh.iter().map(|t| t.as_ref().map(Token::as_bytes)),
            )?;
            let terms = terms.iter().map(|t| t.as_ref().map(|t| t.as_bytes()));
            update_column(&tx, &index_column(plain), &ids, terms)?;
        } else {
            let fresh = cipher
                .rewrap_batch(&tokens, rows)?
                .into_iter()
                .zip(&ids)
                .map(|(t, id)| t.with_context(|| failed(id)))
                .collect::<Result<Vec<_>>>()?;
            update_column(
                &tx,
                enc,
                &ids,
                fresh.iter().map(|t| t.as_ref().map(Token::as_bytes)),
            )?;
        }
    }
    tx.commit().context("cannot commit the rewrapped tokens")?;
    Ok(())
}

/// Decrypts every row and compares it with the generated customers.
fn verify_all(conn: &Connection, ciphers: &Ciphers, customers: &[Customer]) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT id, email_enc, national_id_enc, birth_date_enc, balance_enc, note_enc FROM customers ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        let tokens: [Option<Vec<u8>>; 5] = [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?];
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
        let key = row_key(id);
        for (((token, value), cipher), (plain, _, setup)) in tokens
            .iter()
            .zip(column_values(expected))
            .zip(&ciphers.0)
            .zip(&COLUMNS)
        {
            // Deterministic tokens bind no row: read without the row key.
            let row = setup.row_bound().then_some(key.as_slice());
            let back = match token {
                Some(t) => cipher.decrypt(t, row)?,
                None => None,
            };
            if back != value {
                bail!("customer {id}: {plain} does not decrypt to its original value");
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
