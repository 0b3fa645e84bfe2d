//! The updates one batch of rows needs, for each operation: the rows are
//! classified ([`crate::classify`]), every value shaped like a token is
//! authenticated under the column, and what must change is encrypted,
//! re-encrypted or decrypted with the cipher's batch calls.

use crate::classify::{Shape, plain_value, shape};
use crate::engine::{Cell, Row, Storage, Target, Update};
use crate::error::{Error, Result};
use crate::job::{Counts, Job, Operation};
use strongroom::field::{FieldCipher, IndexTerm, Mode, Token, Value};

/// Whether tokens of this cipher's column are read with row keys: a column
/// that accepts random-mode tokens binds rows.
pub(crate) fn reads_with_rows(cipher: &FieldCipher) -> bool {
    cipher.spec().accepts(Mode::Random)
}

/// The cell a token is stored as in a column of `storage`.
pub fn token_cell(token: &Token, storage: Storage) -> Cell {
    match storage {
        Storage::Text => Cell::text(token.to_text()),
        Storage::Binary => Cell::bytes(token.as_bytes()),
    }
}

/// The plaintext cell of a decrypted value in a column of `storage`.
pub fn plain_cell(value: Option<&Value>, storage: Storage) -> Result<Cell> {
    Ok(match (value, storage) {
        (None, _) => Cell::Null,
        (Some(Value::Text(s)), Storage::Text) => Cell::text(s.as_str()),
        (Some(v), Storage::Text) => Cell::text(v.to_text()?.as_str()),
        (Some(Value::Bytes(b)), Storage::Binary) => Cell::bytes(b.as_slice()),
        (Some(v), Storage::Binary) => {
            return Err(Error::InvalidArgument(format!(
                "a {} value cannot be stored in a binary column",
                v.value_type()
            )));
        }
    })
}

/// Authenticates `tokens` (with their rows' keys where the column binds
/// rows): the value of each, or why it failed.
pub(crate) fn authenticate(
    cipher: &FieldCipher,
    tokens: &[(&Row, &[u8])],
) -> Result<Vec<strongroom::Result<Option<Value>>>> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<Vec<u8>> = tokens.iter().map(|(r, _)| r.pk.row_key()).collect();
    let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let toks: Vec<Option<&[u8]>> = tokens.iter().map(|(_, t)| Some(*t)).collect();
    let rows = reads_with_rows(cipher).then_some(key_refs.as_slice());
    Ok(cipher.decrypt_batch(&toks, rows)?)
}

/// Whether `stored`, a row's blind index term, is one of `value`'s lookup
/// terms (a hidden NULL has a random term: any term will do, none will not).
pub(crate) fn term_matches(
    cipher: &FieldCipher,
    value: Option<&Value>,
    stored: Option<&[u8]>,
) -> Result<bool> {
    Ok(match (value, stored) {
        (None, stored) => stored.is_some() || !cipher.spec().hide_null,
        (Some(_), None) => false,
        (Some(v), Some(s)) => cipher.lookup_terms(Some(v))?.iter().any(|t| t.as_bytes() == s),
    })
}

/// What a row needs.
enum Need<'r> {
    /// Encrypt (or re-encrypt) this value, with a fresh index term.
    Seal(&'r Row, Option<Value>),
    /// Write this cell, index NULL (decrypt).
    Plain(&'r Row, Cell),
    /// Write only the index term (the value stays).
    Term(&'r Row, Option<IndexTerm>),
}

/// The updates `rows` need for `job`; counts the other rows in `c`. In a
/// dry run the updates are placeholders, one per row that would change.
pub(crate) fn plan(job: &Job<'_>, t: &Target, rows: &[Row], c: &mut Counts) -> Result<Vec<Update>> {
    let cipher = job.cipher;
    let storage = t.column.storage;
    let spec = cipher.spec();
    let has_index = t.index.is_some();
    let mut needs: Vec<Need<'_>> = Vec::new();
    let mut tokens: Vec<(&Row, &[u8])> = Vec::new();
    let shapes: Vec<Shape> = rows.iter().map(|r| shape(&r.value, storage)).collect();
    for (row, sh) in rows.iter().zip(&shapes) {
        match (sh, job.op) {
            (Shape::Null, Operation::Encrypt) if spec.hide_null => needs.push(Need::Seal(row, None)),
            (Shape::Null, _) => {
                c.null += 1;
                // NULL keeps no term: a stray one is cleared.
                if has_index && row.index.is_some() {
                    needs.push(Need::Term(row, None));
                }
            }
            (Shape::Token(b), _) => tokens.push((row, b.as_slice())),
            (Shape::Plain, Operation::Encrypt) => match plain_value(&row.value, storage, spec.value_type) {
                Some(v) => needs.push(Need::Seal(row, Some(v))),
                None => c.wrong_kind(&row.pk, &format!("text that is not a {} value", spec.value_type)),
            },
            (Shape::Plain, Operation::Rotate) => c.plaintext_left += 1,
            (Shape::Plain, Operation::Decrypt) => {
                c.unchanged += 1;
                if has_index && row.index.is_some() {
                    needs.push(Need::Term(row, None));
                }
            }
            (Shape::WrongKind(what), _) => c.wrong_kind(&row.pk, what),
        }
    }
    let opened = authenticate(cipher, &tokens)?;
    for ((row, token), result) in tokens.iter().zip(opened) {
        let value = match result {
            Ok(v) => v,
            Err(_) => {
                c.undecryptable(&row.pk);
                continue;
            }
        };
        match job.op {
            Operation::Decrypt => needs.push(Need::Plain(row, plain_cell(value.as_ref(), storage)?)),
            Operation::Rotate if value.is_none() && !spec.hide_null => {
                // A hidden NULL rotated by a column that keeps NULL would
                // become a visible NULL: refused.
                return Err(Error::HiddenNull {
                    table: t.table.clone(),
                    column: t.column.name.clone(),
                });
            }
            Operation::Rotate if cipher.needs_rewrap(token)? => needs.push(Need::Seal(row, value)),
            Operation::Encrypt | Operation::Rotate => {
                c.unchanged += 1;
                // A token without its term (an index added later, a term
                // the application forgot) gets one.
                if has_index && !term_matches(cipher, value.as_ref(), row.index.as_deref())? {
                    needs.push(Need::Term(row, cipher.index(value.as_ref())?));
                }
            }
        }
    }
    if job.dry_run {
        return Ok(needs.iter().map(|n| dry(n)).collect());
    }
    seal(cipher, t, needs)
}

/// Encrypts what needs it, in one batch, and builds the updates.
fn seal(cipher: &FieldCipher, t: &Target, mut needs: Vec<Need<'_>>) -> Result<Vec<Update>> {
    let storage = t.column.storage;
    let mut values: Vec<Option<Value>> = Vec::new();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for n in &mut needs {
        if let Need::Seal(row, v) = n {
            values.push(v.take());
            keys.push(row.pk.row_key());
        }
    }
    let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let rows_arg = (cipher.spec().mode == Mode::Random).then_some(key_refs.as_slice());
    let mut sealed = cipher.encrypt_batch(&values, rows_arg)?.into_iter();
    let mut terms = if t.index.is_some() && !values.is_empty() {
        cipher.index_batch(&values)?
    } else {
        vec![None; values.len()]
    }
    .into_iter();
    drop(values);
    Ok(needs
        .into_iter()
        .map(|n| match n {
            Need::Seal(row, _) => Update {
                pk: row.pk.clone(),
                old: row.value.clone(),
                new: sealed
                    .next()
                    .flatten()
                    .map_or(Cell::Null, |tk| token_cell(&tk, storage)),
                index: terms.next().flatten().map(|x| x.as_bytes().to_vec()),
            },
            Need::Plain(row, cell) => Update {
                pk: row.pk.clone(),
                old: row.value.clone(),
                new: cell,
                index: None,
            },
            Need::Term(row, term) => Update {
                pk: row.pk.clone(),
                old: row.value.clone(),
                new: row.value.clone(),
                index: term.map(|x| x.as_bytes().to_vec()),
            },
        })
        .collect())
}

/// A placeholder update for a dry run (never applied).
fn dry(n: &Need<'_>) -> Update {
    let row = match n {
        Need::Seal(r, _) | Need::Plain(r, _) | Need::Term(r, _) => r,
    };
    Update {
        pk: row.pk.clone(),
        old: Cell::Null,
        new: Cell::Null,
        index: None,
    }
}
