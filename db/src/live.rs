//! The application's side of a live migration: how it reads and writes an
//! encrypted column while `strongroom db encrypt` runs, and after.
//!
//! 1. [`Phase::Mixed`], before and during the run: readers accept plaintext
//!    and tokens ([`LiveColumn::read`]); writers may still write plaintext.
//! 2. Still [`Phase::Mixed`]: writers write tokens ([`LiveColumn::write`]);
//!    the run (or the next one) picks up the rows written in plaintext
//!    meanwhile.
//! 3. [`Phase::TokensOnly`], once `strongroom db status` counts no
//!    plaintext: a plaintext value is refused ([`Error::PlaintextRefused`]),
//!    so a value planted in clear is not taken for a decrypted one.

use crate::classify::{Shape, shape};
use crate::engine::{Cell, Pk, Storage};
use crate::error::{Error, Result};
use crate::plan::{plain_cell, reads_with_rows, token_cell};
use strongroom::field::{FieldCipher, Mode, Value, ValueType};

/// Where a column is in its migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Plaintext and tokens are both read.
    Mixed,
    /// Only tokens are read; plaintext is refused.
    TokensOnly,
}

/// One encrypted column, as the application reads and writes it.
#[derive(Debug)]
pub struct LiveColumn<'a> {
    cipher: &'a FieldCipher,
    storage: Storage,
    phase: Phase,
}

impl<'a> LiveColumn<'a> {
    /// A column stored as `storage` whose tokens `cipher` reads and writes.
    pub fn new(cipher: &'a FieldCipher, storage: Storage, phase: Phase) -> Self {
        Self {
            cipher,
            storage,
            phase,
        }
    }

    fn row_key(&self, pk: &Pk) -> Option<Vec<u8>> {
        (self.cipher.spec().mode == Mode::Random).then(|| pk.row_key())
    }

    /// The value of a cell read from the row `pk`: a value shaped like a
    /// token ([`crate::classify`]) is authenticated and decrypted (a failure
    /// is an error, never plaintext); a plaintext value is taken as it is in
    /// [`Phase::Mixed`] and refused in [`Phase::TokensOnly`].
    pub fn read(&self, cell: &Cell, pk: &Pk) -> Result<Option<Value>> {
        match shape(cell, self.storage) {
            Shape::Null => Ok(None),
            Shape::Token(tok) => {
                let key = reads_with_rows(self.cipher).then(|| pk.row_key());
                Ok(self.cipher.decrypt(&tok, key.as_deref())?)
            }
            Shape::Plain if self.phase == Phase::TokensOnly => Err(Error::PlaintextRefused),
            Shape::Plain => {
                let ty = self.cipher.spec().value_type;
                Ok(Some(match (cell, ty) {
                    (Cell::Text(s), ValueType::Text) => Value::from(s.as_str()),
                    (Cell::Text(s), ty) => Value::parse(ty, s)?,
                    (Cell::Bytes(b), _) => Value::from(b.as_slice()),
                    (Cell::Null, _) => return Ok(None),
                }))
            }
            Shape::WrongKind(what) => Err(Error::WrongKind {
                table: self.cipher.table().to_string(),
                column: self.cipher.column().to_string(),
                count: 1,
                first: pk.to_string(),
                what: what.to_string(),
            }),
        }
    }

    /// The cell to store for `value` in the row `pk` (a token; NULL stays
    /// NULL unless the column hides NULL).
    pub fn write(&self, value: Option<&Value>, pk: &Pk) -> Result<Cell> {
        let key = self.row_key(pk);
        Ok(match self.cipher.encrypt(value, key.as_deref())? {
            Some(t) => token_cell(&t, self.storage),
            None => Cell::Null,
        })
    }

    /// The blind index term to store with `value` (None: NULL).
    pub fn index(&self, value: Option<&Value>) -> Result<Option<Vec<u8>>> {
        Ok(self.cipher.index(value)?.map(|t| t.as_bytes().to_vec()))
    }

    /// The terms to search (`WHERE idx IN (...)`) for `value`: one per
    /// usable key version, so lookups work during a rotation.
    pub fn lookup_terms(&self, value: &Value) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .cipher
            .lookup_terms(Some(value))?
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect())
    }

    /// The plaintext cell of `value` (what `db decrypt` writes back).
    pub fn plain(&self, value: Option<&Value>) -> Result<Cell> {
        plain_cell(value, self.storage)
    }
}
