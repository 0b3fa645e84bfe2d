//! [`FieldCipher`]: one column's encryption, decryption, blind index and
//! rotation, with every key schedule prepared once.

use super::blind::{BlindIndexSpec, IndexTerm};
use super::context::{aad_len, check_name, check_row, encode_aad, encode_names};
use super::keys::{ColumnKeys, PurposeKeys, SlotState, Slots, VersionSlot};
use super::normalize::Normalizer;
use super::siv::SIV_LEN;
use super::token::{self, HEADER_LEN, Suite, Token, TokenInfo};
use super::value::{self, NULL_TAG, Value, ValueRef, ValueType};
use super::xaes::{DerivedKey, PREFIX_LEN, XNONCE_LEN};
use crate::crypto::gcm_short::AadState;
use crate::crypto::{TAG_LEN, random};
use crate::error::{Error, Result};
use crate::keyring::{KeyStatus, Keyring};
use crate::secret::PlainBuf;
use std::fmt;

/// How a column is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// XAES-256-GCM with a random nonce: equal values give unrelated tokens.
    #[default]
    Random,
    /// AES-SIV: equal values in the same column and key version give equal
    /// tokens, so the database can look them up and enforce uniqueness. It
    /// reveals which rows hold equal values.
    Deterministic,
}

impl Mode {
    /// The token suite of this mode.
    pub fn suite(self) -> Suite {
        match self {
            Mode::Random => Suite::Xaes256Gcm,
            Mode::Deterministic => Suite::Aes256Siv,
        }
    }

    /// The mode whose tokens have `suite`.
    pub fn of_suite(suite: Suite) -> Mode {
        match suite {
            Suite::Xaes256Gcm => Mode::Random,
            Suite::Aes256Siv => Mode::Deterministic,
        }
    }

    /// Stable name: "random" or "deterministic".
    pub fn name(self) -> &'static str {
        match self {
            Mode::Random => "random",
            Mode::Deterministic => "deterministic",
        }
    }

    /// Whether tokens of this mode can bind a row key.
    pub fn binds_rows(self) -> bool {
        self == Mode::Random
    }

    fn bit(self) -> u8 {
        match self {
            Mode::Random => 1,
            Mode::Deterministic => 2,
        }
    }
}

/// A set of [`Mode`]s: the modes whose tokens a column reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModeSet(u8);

impl ModeSet {
    /// No mode.
    pub const EMPTY: ModeSet = ModeSet(0);

    /// The set of `mode` alone.
    pub fn only(mode: Mode) -> Self {
        ModeSet(mode.bit())
    }

    /// The set with `mode` added.
    pub fn with(self, mode: Mode) -> Self {
        ModeSet(self.0 | mode.bit())
    }

    /// Whether `mode` is in the set.
    pub fn contains(self, mode: Mode) -> bool {
        self.0 & mode.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// "random", "deterministic", "random and deterministic" or "no".
    pub fn name(self) -> &'static str {
        match (self.contains(Mode::Random), self.contains(Mode::Deterministic)) {
            (true, true) => "random and deterministic",
            (true, false) => "random",
            (false, true) => "deterministic",
            (false, false) => "no",
        }
    }
}

/// The settings of one encrypted column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ColumnSpec {
    /// The one type the column holds.
    pub value_type: ValueType,
    /// Random (default) or deterministic encryption.
    pub mode: Mode,
    /// Encrypt SQL NULL as a token indistinguishable by length from a value
    /// (instead of leaving NULL in the database).
    pub hide_null: bool,
    /// An optional blind index next to the token.
    pub blind_index: Option<BlindIndexSpec>,
    /// Modes whose tokens the column also reads besides its own `mode`:
    /// empty (the default) outside a migration window. See
    /// [`ColumnSpec::accept_mode`].
    pub also_accept: ModeSet,
    /// Random mode: give every token of a batch its own random nonce
    /// prefix, so nothing links the tokens of one batch call (off by
    /// default; see [`ColumnSpec::unlinkable_batches`]).
    pub unlinkable_batches: bool,
}

impl ColumnSpec {
    /// A random-mode column of `value_type`, NULL kept as NULL, no index.
    pub fn new(value_type: ValueType) -> Self {
        Self {
            value_type,
            mode: Mode::Random,
            hide_null: false,
            blind_index: None,
            also_accept: ModeSet::EMPTY,
            unlinkable_batches: false,
        }
    }

    /// The same spec, also reading tokens of `mode`: the migration window
    /// of a column moving from one mode to the other (rewrap every row,
    /// then drop the extra mode again).
    ///
    /// Without it a column reads only tokens of its own mode; a token of
    /// the other mode fails with [`Error::ModeNotAccepted`]. With it, and
    /// while the window is open, a deterministic token read with a row key
    /// is accepted although it carries no row binding (outside a window
    /// that is [`Error::RowBindingMissing`]): during the window, a
    /// deterministic token can be moved to another row undetected.
    pub fn accept_mode(self, mode: Mode) -> Self {
        Self {
            also_accept: self.also_accept.with(mode),
            ..self
        }
    }

    /// Every mode whose tokens the column reads: its own and
    /// [`ColumnSpec::also_accept`].
    pub fn accepted_modes(&self) -> ModeSet {
        self.also_accept.with(self.mode)
    }

    /// Whether the column reads tokens of `mode`.
    pub fn accepts(&self, mode: Mode) -> bool {
        self.accepted_modes().contains(mode)
    }

    /// Whether the column is in a migration window: it accepts a mode
    /// other than its own.
    pub fn in_migration(&self) -> bool {
        self.accepted_modes() != ModeSet::only(self.mode)
    }

    /// The same spec in deterministic mode.
    pub fn deterministic(self) -> Self {
        Self {
            mode: Mode::Deterministic,
            ..self
        }
    }

    /// The same spec with NULL encrypted as a value.
    pub fn hide_null(self) -> Self {
        Self {
            hide_null: true,
            ..self
        }
    }

    /// The same spec with unlinkable batches (random mode only).
    ///
    /// By default the tokens of one batch call share a random 12-byte
    /// nonce prefix per group of up to [`CHUNK`](super::CHUNK) values, so
    /// the subkey is derived once per group: whoever sees the tokens can
    /// tell which of them came from one batch call (nothing about their
    /// values). With this setting every token gets its own random prefix,
    /// as [`FieldCipher::encrypt`] gives, and costs one subkey derivation
    /// each (docs/FIELDS.md gives the figure measured). The tokens are the
    /// same format either way.
    pub fn unlinkable_batches(self) -> Self {
        Self {
            unlinkable_batches: true,
            ..self
        }
    }

    /// The same spec with a blind index of `len` bytes.
    pub fn with_blind_index(self, len: usize, normalizer: Normalizer) -> Self {
        Self {
            blind_index: Some(BlindIndexSpec::new(len, normalizer)),
            ..self
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.unlinkable_batches && self.mode != Mode::Random {
            return Err(Error::InvalidArgument(
                "unlinkable batches apply to random-mode columns only (deterministic tokens carry no nonce)"
                    .into(),
            ));
        }
        if let Some(bi) = &self.blind_index {
            bi.check()?;
            if bi.normalizer != Normalizer::None && self.value_type != ValueType::Text {
                return Err(Error::InvalidArgument(format!(
                    "the {} normaliser applies to text columns only",
                    bi.normalizer.name()
                )));
            }
        }
        Ok(())
    }
}

/// Encrypts, decrypts and indexes the values of one column.
///
/// Built from a keyring (or from raw purpose keys) and a column's names and
/// [`ColumnSpec`]; it derives and expands the column keys of every usable
/// key version once, then serves any number of calls from any number of
/// threads (`&self`). It is a snapshot: after the keyring changes (a new
/// primary, a disabled version), build a new one.
///
/// ```
/// use strongroom::field::{ColumnSpec, FieldCipher, PurposeKeys, Value, ValueType};
/// use strongroom::SecretKey;
///
/// let keys = PurposeKeys {
///     field: SecretKey::random(),
///     deterministic: SecretKey::random(),
///     blind_index: SecretKey::random(),
/// };
/// let spec = ColumnSpec::new(ValueType::Text);
/// let cipher = FieldCipher::with_keys("users", "email", spec, 1, vec![(1, keys)])?;
/// let token = cipher.encrypt(Some(&Value::from("alice@example.com")), Some(b"row-17"))?.unwrap();
/// let back = cipher.decrypt(token.as_bytes(), Some(b"row-17"))?.unwrap();
/// assert_eq!(back.as_str(), Some("alice@example.com"));
/// # Ok::<(), strongroom::Error>(())
/// ```
///
/// **Threads:** `FieldCipher` is `Send + Sync` and immutable once built:
/// share one (in an `Arc`) across threads; every call takes `&self`, and
/// nonces come from a per-thread generator.
pub struct FieldCipher {
    table: String,
    column: String,
    spec: ColumnSpec,
    /// `u32be(len(table)) || table || u32be(len(column)) || column`.
    names: Vec<u8>,
    primary: u32,
    slots: Slots,
    /// Whether a rewrap may drop a token's row binding (see
    /// [`FieldCipher::allow_dropping_row_binding`]).
    drop_row_binding: bool,
    /// The format of the keyring this cipher was built from, when that
    /// keyring refuses to encrypt (an older format, which cannot prove who
    /// wrote it): encrypting, indexing and rewrapping are refused, and
    /// decrypting goes on.
    keyring_needs_upgrade: Option<u8>,
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<u32> = self.slots.usable().map(|(v, _)| v).collect();
        f.debug_struct("FieldCipher")
            .field("table", &self.table)
            .field("column", &self.column)
            .field("spec", &self.spec)
            .field("primary", &self.primary)
            .field("usable_versions", &versions)
            .field("drop_row_binding", &self.drop_row_binding)
            .finish_non_exhaustive()
    }
}

/// The key a random-mode token is sealed with.
#[derive(Clone, Copy)]
pub(crate) enum RandomKey<'a> {
    /// The column's XAES key: derive per token.
    Column(&'a super::xaes::Xaes256Gcm),
    /// A key already derived for the nonce prefix, and optionally the
    /// pre-absorbed AAD shared by every token of a batch.
    Derived(
        &'a super::xaes::DerivedKey,
        Option<&'a crate::crypto::gcm_short::AadState>,
    ),
}

/// Where the plaintext (then ciphertext) starts in a random-mode token.
pub(crate) const RANDOM_BODY: usize = HEADER_LEN + XNONCE_LEN;

/// Largest AAD kept on the stack.
const STACK_AAD: usize = 256;

impl FieldCipher {
    /// A cipher for `table.column` with the keys of every primary and
    /// decrypt-only version of `ring`. Disabled and destroyed versions are
    /// remembered so that their tokens fail with
    /// [`Error::KeyVersionUnusable`]. A keyring that refuses to encrypt
    /// ([`Keyring::check_can_encrypt`]) gives a cipher that only decrypts:
    /// the rest fails with [`Error::KeyringNeedsUpgrade`].
    pub fn new(ring: &Keyring, table: &str, column: &str, spec: ColumnSpec) -> Result<FieldCipher> {
        let mut keys = Vec::new();
        let mut unusable = Vec::new();
        for info in ring.versions() {
            match info.status {
                KeyStatus::Primary | KeyStatus::DecryptOnly => {
                    keys.push((info.version, PurposeKeys::from_keyring(ring, info.version)?));
                }
                status => unusable.push((info.version, status)),
            }
        }
        let mut cipher = Self::build(table, column, spec, ring.primary_version(), keys, unusable)?;
        cipher.keyring_needs_upgrade = match ring.check_can_encrypt() {
            Err(Error::KeyringNeedsUpgrade { format, .. }) => Some(format),
            Err(e) => return Err(e),
            Ok(()) => None,
        };
        Ok(cipher)
    }

    /// Refuses to produce tokens or index terms under the primary version
    /// when the keyring this cipher came from refuses to encrypt.
    pub(crate) fn check_may_encrypt(&self) -> Result<()> {
        match self.keyring_needs_upgrade {
            Some(format) => Err(Error::KeyringNeedsUpgrade {
                format,
                operation: "encrypting with it",
            }),
            None => Ok(()),
        }
    }

    /// A cipher from raw purpose keys: `keys` lists every usable version
    /// and must include `primary`. Other versions are unknown to it.
    pub fn with_keys(
        table: &str,
        column: &str,
        spec: ColumnSpec,
        primary: u32,
        keys: Vec<(u32, PurposeKeys)>,
    ) -> Result<FieldCipher> {
        Self::build(table, column, spec, primary, keys, Vec::new())
    }

    fn build(
        table: &str,
        column: &str,
        spec: ColumnSpec,
        primary: u32,
        keys: Vec<(u32, PurposeKeys)>,
        unusable: Vec<(u32, KeyStatus)>,
    ) -> Result<FieldCipher> {
        check_name("table", table)?;
        check_name("column", column)?;
        spec.check()?;
        let names = encode_names(table, column);
        let with_blind = spec.blind_index.is_some();
        let mut slots: Vec<VersionSlot> = keys
            .iter()
            .map(|(version, k)| VersionSlot {
                version: *version,
                state: SlotState::Usable(Box::new(ColumnKeys::derive(k, &names, with_blind))),
            })
            .collect();
        slots.extend(unusable.into_iter().map(|(version, status)| VersionSlot {
            version,
            state: SlotState::Unusable(status),
        }));
        slots.sort_by_key(|s| s.version);
        if slots.windows(2).any(|w| w[0].version == w[1].version) {
            return Err(Error::InvalidArgument("a key version is listed twice".into()));
        }
        let slots = Slots(slots);
        if !slots.usable().any(|(v, _)| v == primary) {
            return Err(Error::InvalidArgument(format!(
                "the primary key version {primary} has no keys"
            )));
        }
        Ok(FieldCipher {
            table: table.to_owned(),
            column: column.to_owned(),
            spec,
            names,
            primary,
            slots,
            drop_row_binding: false,
            keyring_needs_upgrade: None,
        })
    }

    /// The same cipher, allowed to drop row bindings when rewrapping: a
    /// row-bound random-mode token rewrapped into a deterministic column
    /// (with its row key given) becomes a deterministic token, which binds
    /// no row. Without this, such a rewrap fails with
    /// [`Error::RowBindingWouldDrop`]. Only for a deliberate move of a
    /// column to deterministic mode (docs/FIELDS.md, "Changing a column's
    /// mode").
    pub fn allow_dropping_row_binding(self) -> Self {
        Self {
            drop_row_binding: true,
            ..self
        }
    }

    /// The logical table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The logical column name.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The column settings.
    pub fn spec(&self) -> &ColumnSpec {
        &self.spec
    }

    /// The key version new tokens are encrypted under.
    pub fn primary_version(&self) -> u32 {
        self.primary
    }

    /// Usable key versions (primary and decrypt-only), highest first.
    pub fn usable_versions(&self) -> Vec<u32> {
        self.slots.usable().map(|(v, _)| v).collect()
    }

    /// The header of tokens this cipher writes now (column suite, primary
    /// version): rows whose token does not start with it need a rewrap.
    /// [`TokenInfo::text_prefix`] gives the text-form equivalent.
    pub fn current_token_info(&self) -> TokenInfo {
        TokenInfo {
            version: token::TOKEN_VERSION,
            suite: self.spec.mode.suite(),
            key_version: self.primary,
        }
    }

    fn primary_keys(&self) -> &ColumnKeys {
        self.slots.get(self.primary).expect("checked when built")
    }

    /// Runs `f` on the AAD of a token with `header` in this column and `row`
    /// (encoded by [`encode_aad`], on the stack when it is short).
    #[inline]
    pub(crate) fn with_aad<R>(
        &self,
        header: &[u8; HEADER_LEN],
        row: Option<&[u8]>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> R {
        let len = aad_len(&self.names, row);
        if len <= STACK_AAD {
            let mut buf = [0u8; STACK_AAD];
            let mut n = 0;
            encode_aad(header, &self.names, row, |b| {
                buf[n..n + b.len()].copy_from_slice(b);
                n += b.len();
            });
            f(&buf[..n])
        } else {
            let mut buf = Vec::with_capacity(len);
            encode_aad(header, &self.names, row, |b| buf.extend_from_slice(b));
            f(&buf)
        }
    }

    /// Checks a value and row for encryption into this column.
    pub(crate) fn check_input(&self, value: Option<ValueRef<'_>>, row: Option<&[u8]>) -> Result<()> {
        if let Some(v) = value {
            value::check_type(v, self.spec.value_type)?;
        }
        check_row(row)?;
        if row.is_some() && self.spec.mode == Mode::Deterministic {
            return Err(Error::InvalidArgument(
                "a deterministic column cannot bind a row key: equal values would no longer give equal tokens".into(),
            ));
        }
        Ok(())
    }

    /// Encrypts `value` for this column and `row`.
    ///
    /// `None` (SQL NULL) gives `Ok(None)`, no token, unless the column
    /// hides NULL. A value of another type than the column's gives
    /// [`Error::FieldType`]; a row key in a deterministic column gives
    /// [`Error::InvalidArgument`].
    pub fn encrypt(&self, value: Option<&Value>, row: Option<&[u8]>) -> Result<Option<Token>> {
        self.encrypt_ref(value.map(Value::as_value_ref), row)
    }

    /// [`FieldCipher::encrypt`] of a borrowed value: text and bytes are
    /// read where they lie, with no owned copy (for bindings and callers
    /// that hold the plaintext in their own buffers). The same tokens and
    /// errors.
    pub fn encrypt_ref(&self, value: Option<ValueRef<'_>>, row: Option<&[u8]>) -> Result<Option<Token>> {
        self.check_may_encrypt()?;
        self.check_input(value, row)?;
        if value.is_none() && !self.spec.hide_null {
            return Ok(None);
        }
        let len = self.plaintext_len(value);
        Ok(Some(self.seal_primary(row, len, |buf| self.encode(value, buf))))
    }

    /// Appends the plaintext encoding of `value` (or a hidden NULL).
    #[inline]
    pub(crate) fn encode(&self, value: Option<ValueRef<'_>>, buf: &mut Vec<u8>) {
        match value {
            Some(v) => v.encode_into(buf),
            None => value::encode_null_into(self.spec.value_type, buf),
        }
    }

    fn plaintext_len(&self, value: Option<ValueRef<'_>>) -> usize {
        value::encoded_len(value, self.spec.value_type)
    }

    /// Builds a random-mode token with `key` and `nonce`.
    #[inline]
    pub(crate) fn seal_random(
        &self,
        key: RandomKey<'_>,
        version: u32,
        nonce: &[u8; XNONCE_LEN],
        row: Option<&[u8]>,
        plaintext_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Token {
        let buf = self.unsealed_random(version, nonce, plaintext_len, write);
        self.finish_random(key, row, buf)
    }

    /// A random-mode token before encryption: header, nonce and the
    /// plaintext from [`RANDOM_BODY`] on, with room for the tag.
    #[inline]
    pub(crate) fn unsealed_random(
        &self,
        version: u32,
        nonce: &[u8; XNONCE_LEN],
        plaintext_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        // Exact capacity: the buffer never reallocates, so no stray copy of
        // the plaintext is left in freed memory.
        let mut buf = Vec::with_capacity(RANDOM_BODY + plaintext_len + TAG_LEN);
        buf.extend_from_slice(&token::header(Suite::Xaes256Gcm, version));
        buf.extend_from_slice(nonce);
        write(&mut buf);
        debug_assert_eq!(buf.len(), RANDOM_BODY + plaintext_len);
        buf
    }

    /// Encrypts an [`unsealed_random`](Self::unsealed_random) buffer in
    /// place and appends the tag.
    #[inline]
    pub(crate) fn finish_random(&self, key: RandomKey<'_>, row: Option<&[u8]>, mut buf: Vec<u8>) -> Token {
        let (head, body) = buf.split_at_mut(RANDOM_BODY);
        let header: &[u8; HEADER_LEN] = head[..HEADER_LEN].try_into().expect("6 bytes");
        let nonce: &[u8; XNONCE_LEN] = head[HEADER_LEN..].try_into().expect("24 bytes");
        let gcm_nonce: &[u8; 12] = nonce[PREFIX_LEN..].try_into().expect("12 bytes");
        let pre = match key {
            RandomKey::Derived(g, Some(state)) => g.seal_short_with(state, gcm_nonce, body),
            _ => None,
        };
        let tag = match (pre, key) {
            (Some(tag), _) => tag,
            (None, RandomKey::Derived(g, _)) => {
                self.with_aad(header, row, |aad| g.seal_in_place(gcm_nonce, aad, body))
            }
            (None, RandomKey::Column(x)) => {
                self.with_aad(header, row, |aad| x.seal_in_place(nonce, aad, body))
            }
        };
        buf.extend_from_slice(&tag);
        Token::from_trusted(buf)
    }

    /// Finishes two unsealed random-mode tokens without row keys under one
    /// derived key and pre-absorbed AAD, their AES blocks in one batch.
    pub(crate) fn finish_random_pair(
        &self,
        gcm: &DerivedKey,
        state: &AadState,
        mut a: Vec<u8>,
        mut b: Vec<u8>,
    ) -> [Token; 2] {
        let gcm_nonce = |buf: &[u8]| -> [u8; 12] {
            buf[HEADER_LEN + PREFIX_LEN..RANDOM_BODY]
                .try_into()
                .expect("12 bytes")
        };
        let (na, nb) = (gcm_nonce(&a), gcm_nonce(&b));
        match gcm.seal_pair_with(state, (&na, &mut a[RANDOM_BODY..]), (&nb, &mut b[RANDOM_BODY..])) {
            Some([ta, tb]) => {
                a.extend_from_slice(&ta);
                b.extend_from_slice(&tb);
                [Token::from_trusted(a), Token::from_trusted(b)]
            }
            None => {
                let key = RandomKey::Derived(gcm, Some(state));
                [self.finish_random(key, None, a), self.finish_random(key, None, b)]
            }
        }
    }

    /// Builds a deterministic token (never bound to a row).
    pub(crate) fn seal_siv(
        &self,
        keys: &ColumnKeys,
        version: u32,
        plaintext_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Token {
        let header = token::header(Suite::Aes256Siv, version);
        let start = HEADER_LEN + SIV_LEN;
        let mut buf = Vec::with_capacity(start + plaintext_len);
        buf.extend_from_slice(&header);
        buf.extend_from_slice(&[0u8; SIV_LEN]);
        write(&mut buf);
        debug_assert_eq!(buf.len(), start + plaintext_len);
        let siv = self.with_aad(&header, None, |aad| {
            keys.siv.seal_in_place(aad, &mut buf[start..])
        });
        buf[HEADER_LEN..start].copy_from_slice(&siv);
        Token::from_trusted(buf)
    }

    /// Authenticates and decrypts a binary token; returns the raw plaintext
    /// (`tag || body`), checked to be of the column type or a hidden NULL.
    pub(crate) fn open_raw(&self, token: &[u8], row: Option<&[u8]>) -> Result<(TokenInfo, PlainBuf)> {
        let info = token::inspect(token)?;
        self.check_accepted(info.suite, row)?;
        let keys = self.slots.get(info.key_version)?;
        let header: &[u8; HEADER_LEN] = token[..HEADER_LEN].try_into().expect("6 bytes");
        let plaintext = match info.suite {
            Suite::Xaes256Gcm => {
                let nonce: &[u8; XNONCE_LEN] =
                    token[HEADER_LEN..HEADER_LEN + XNONCE_LEN].try_into().expect("24");
                let ct = &token[HEADER_LEN + XNONCE_LEN..];
                let mut out = PlainBuf::zeroed(ct.len() - TAG_LEN);
                self.with_aad(header, row, |aad| keys.xaes.open_into(nonce, aad, ct, &mut out))
                    .map_err(|_| Error::FieldAuthFailed)?;
                out
            }
            Suite::Aes256Siv => self.open_siv(keys, token)?,
        };
        self.check_tag(&plaintext)?;
        Ok((info, plaintext))
    }

    /// Checks that the column reads tokens of `suite` and, when the reader
    /// gives a row key, that the token binds it (or the column is in a
    /// migration window): [`Error::ModeNotAccepted`],
    /// [`Error::RowBindingMissing`].
    pub(crate) fn check_accepted(&self, suite: Suite, row: Option<&[u8]>) -> Result<()> {
        let mode = Mode::of_suite(suite);
        if !self.spec.accepts(mode) {
            return Err(Error::ModeNotAccepted {
                accepted: self.spec.accepted_modes().name(),
                found: mode.name(),
            });
        }
        if row.is_some() && !mode.binds_rows() && !self.spec.in_migration() {
            return Err(Error::RowBindingMissing);
        }
        Ok(())
    }

    /// Opens a deterministic token; these never bind a row key.
    pub(crate) fn open_siv(&self, keys: &ColumnKeys, token: &[u8]) -> Result<PlainBuf> {
        let header: &[u8; HEADER_LEN] = token[..HEADER_LEN].try_into().expect("6 bytes");
        let siv: &[u8; SIV_LEN] = token[HEADER_LEN..HEADER_LEN + SIV_LEN]
            .try_into()
            .expect("16 bytes");
        let mut out = PlainBuf::copy_of(&token[HEADER_LEN + SIV_LEN..]);
        self.with_aad(header, None, |aad| keys.siv.open_in_place(aad, siv, &mut out))
            .map_err(|_| Error::FieldAuthFailed)?;
        Ok(out)
    }

    /// Checks the type tag of an authenticated plaintext.
    pub(crate) fn check_tag(&self, plaintext: &[u8]) -> Result<()> {
        let expected = self.spec.value_type;
        match plaintext.first() {
            Some(&NULL_TAG) => Ok(()),
            Some(&t) if t == expected.tag() => Ok(()),
            Some(&t) => Err(Error::FieldType {
                expected: expected.name(),
                found: ValueType::from_tag(t).map_or("unknown", ValueType::name),
            }),
            None => Err(Error::malformed("field value", "empty plaintext")),
        }
    }

    /// Decodes an authenticated plaintext into a value.
    pub(crate) fn decode(&self, plaintext: PlainBuf) -> Result<Option<Value>> {
        value::decode(plaintext.into_inner(), self.spec.value_type)
    }

    /// Decrypts a binary token of this column and `row`.
    ///
    /// Returns `None` for a hidden NULL. Errors: [`Error::FieldAuthFailed`]
    /// (another table, column or row, another keyring, or a modified
    /// token); [`Error::UnknownKeyVersion`] or
    /// [`Error::KeyVersionUnusable`]; [`Error::Truncated`],
    /// [`Error::UnsupportedVersion`] or [`Error::UnsupportedSuite`] for a
    /// damaged header; [`Error::FieldType`] if the token holds another type.
    /// A token of a mode the column does not accept (see
    /// [`ColumnSpec::accept_mode`]) fails with [`Error::ModeNotAccepted`];
    /// a deterministic token, which binds no row, read with a row key fails
    /// with [`Error::RowBindingMissing`] unless the column is in a
    /// migration window.
    pub fn decrypt(&self, token: &[u8], row: Option<&[u8]>) -> Result<Option<Value>> {
        let (_, plaintext) = self.open_raw(token, row)?;
        self.decode(plaintext)
    }

    /// Decrypts the text form of a token (see [`Token::from_text`]).
    pub fn decrypt_text(&self, text: &str, row: Option<&[u8]>) -> Result<Option<Value>> {
        let bytes = token::decode_text(text)?;
        self.decrypt(&bytes, row)
    }

    pub(crate) fn blind_spec(&self) -> Result<&BlindIndexSpec> {
        self.spec.blind_index.as_ref().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "column {}.{} has no blind index",
                self.table, self.column
            ))
        })
    }

    /// The blind index term of `value` under the primary version, to store
    /// next to its token. `None` (SQL NULL) gives `Ok(None)` unless the
    /// column hides NULL; there a NULL gets a fresh random term, so that
    /// NULL rows neither share a term (which would show which rows are
    /// NULL) nor stand out by having none. A NULL cannot be looked up.
    pub fn index(&self, value: Option<&Value>) -> Result<Option<IndexTerm>> {
        self.index_ref(value.map(Value::as_value_ref))
    }

    /// [`FieldCipher::index`] of a borrowed value.
    pub fn index_ref(&self, value: Option<ValueRef<'_>>) -> Result<Option<IndexTerm>> {
        self.check_may_encrypt()?;
        let spec = self.blind_spec()?;
        let Some(v) = value else {
            return Ok(self.null_term(spec));
        };
        value::check_type(v, self.spec.value_type)?;
        Ok(Some(self.term(self.primary_keys(), spec, v, self.primary)))
    }

    /// The term of a NULL: none where NULL stays NULL, a random one where
    /// the column hides NULL.
    pub(crate) fn null_term(&self, spec: &BlindIndexSpec) -> Option<IndexTerm> {
        self.spec
            .hide_null
            .then(|| IndexTerm::random(spec.len, self.primary))
    }

    pub(crate) fn term(
        &self,
        keys: &ColumnKeys,
        spec: &BlindIndexSpec,
        value: ValueRef<'_>,
        version: u32,
    ) -> IndexTerm {
        keys.blind
            .as_ref()
            .expect("derived when the column has an index")
            .term(spec, self.spec.value_type, value, version)
    }

    /// The index terms of `value` under every usable key version, primary
    /// first then newest to oldest: search with `index_column IN (...)`
    /// while a table is being re-indexed after a rotation. NULL cannot be
    /// looked up: an empty list (see [`FieldCipher::index`]).
    pub fn lookup_terms(&self, value: Option<&Value>) -> Result<Vec<IndexTerm>> {
        let spec = self.blind_spec()?;
        let Some(value) = value.map(Value::as_value_ref) else {
            return Ok(Vec::new());
        };
        value::check_type(value, self.spec.value_type)?;
        let mut terms = vec![self.term(self.primary_keys(), spec, value, self.primary)];
        for (v, keys) in self.slots.usable().filter(|(v, _)| *v != self.primary) {
            terms.push(self.term(keys, spec, value, v));
        }
        Ok(terms)
    }

    /// The deterministic tokens of `value` under every usable key version,
    /// primary first: search with `column IN (...)` while a table is being
    /// re-encrypted after a rotation. Deterministic columns only.
    pub fn lookup_tokens(&self, value: Option<&Value>) -> Result<Vec<Token>> {
        if self.spec.mode != Mode::Deterministic {
            return Err(Error::InvalidArgument(
                "random-mode tokens cannot be looked up; add a blind index to the column".into(),
            ));
        }
        let value = value.map(Value::as_value_ref);
        self.check_input(value, None)?;
        if value.is_none() && !self.spec.hide_null {
            return Ok(Vec::new());
        }
        let len = self.plaintext_len(value);
        let mut tokens =
            vec![self.seal_siv(self.primary_keys(), self.primary, len, |b| self.encode(value, b))];
        for (v, keys) in self.slots.usable().filter(|(v, _)| *v != self.primary) {
            tokens.push(self.seal_siv(keys, v, len, |b| self.encode(value, b)));
        }
        Ok(tokens)
    }

    /// Whether `token` is on another key version or suite than the ones
    /// this cipher writes (reads the header only).
    pub fn needs_rewrap(&self, token: &[u8]) -> Result<bool> {
        let info = token::inspect(token)?;
        Ok(info.key_version != self.primary || info.suite != self.spec.mode.suite())
    }

    /// Re-encrypts `token` under the primary version and the column's
    /// mode, without returning the plaintext (it is wiped). A token that is
    /// already current is authenticated and returned unchanged.
    ///
    /// The token is read as by [`FieldCipher::decrypt`] (so a token of the
    /// other mode needs the column's migration window,
    /// [`ColumnSpec::accept_mode`]). Rewrapping a random-mode token into a
    /// deterministic column with a row key would drop its row binding:
    /// refused with [`Error::RowBindingWouldDrop`] unless the cipher
    /// [allows it](FieldCipher::allow_dropping_row_binding).
    pub fn rewrap(&self, token: &[u8], row: Option<&[u8]>) -> Result<Token> {
        self.check_may_encrypt()?;
        let (info, plaintext) = self.open_for_rewrap(token, row)?;
        if info.key_version == self.primary && info.suite == self.spec.mode.suite() {
            return Ok(Token::from_trusted(token.to_vec()));
        }
        self.reseal(&plaintext, row)
    }

    /// Like [`FieldCipher::rewrap`], and also returns the blind index term
    /// under the primary version (`None` for a column without index; a
    /// fresh random term for a hidden NULL, as [`FieldCipher::index`]).
    pub fn rewrap_with_index(&self, token: &[u8], row: Option<&[u8]>) -> Result<(Token, Option<IndexTerm>)> {
        self.check_may_encrypt()?;
        let (info, plaintext) = self.open_for_rewrap(token, row)?;
        let new = if info.key_version == self.primary && info.suite == self.spec.mode.suite() {
            Token::from_trusted(token.to_vec())
        } else {
            self.reseal(&plaintext, row)?
        };
        let term = match &self.spec.blind_index {
            None => None,
            Some(spec) => match self.decode(plaintext)? {
                Some(v) => Some(self.term(self.primary_keys(), spec, v.as_value_ref(), self.primary)),
                None => self.null_term(spec),
            },
        };
        Ok((new, term))
    }

    /// [`FieldCipher::open_raw`], after refusing a rewrap that would drop
    /// the token's row binding.
    fn open_for_rewrap(&self, token: &[u8], row: Option<&[u8]>) -> Result<(TokenInfo, PlainBuf)> {
        let info = token::inspect(token)?;
        let from = Mode::of_suite(info.suite);
        if row.is_some() && from.binds_rows() && !self.spec.mode.binds_rows() && !self.drop_row_binding {
            return Err(Error::RowBindingWouldDrop);
        }
        self.open_raw(token, row)
    }

    /// Encrypts an authenticated raw plaintext under the primary version.
    fn reseal(&self, plaintext: &[u8], row: Option<&[u8]>) -> Result<Token> {
        let write = |buf: &mut Vec<u8>| buf.extend_from_slice(plaintext);
        Ok(self.seal_primary(row, plaintext.len(), write))
    }

    /// A token of the column's mode under the primary version, for a
    /// plaintext of `len` bytes that `write` appends; a random nonce in
    /// random mode.
    pub(crate) fn seal_primary(
        &self,
        row: Option<&[u8]>,
        len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Token {
        let keys = self.primary_keys();
        match self.spec.mode {
            Mode::Random => {
                let mut nonce = [0u8; XNONCE_LEN];
                random::fill_fast(&mut nonce);
                self.seal_random(
                    RandomKey::Column(&keys.xaes),
                    self.primary,
                    &nonce,
                    row,
                    len,
                    write,
                )
            }
            // A deterministic token never binds a row.
            Mode::Deterministic => self.seal_siv(keys, self.primary, len, write),
        }
    }

    pub(crate) fn keys_for(&self, version: u32) -> Result<&ColumnKeys> {
        self.slots.get(version)
    }

    pub(crate) fn primary_column_keys(&self) -> &ColumnKeys {
        self.primary_keys()
    }

    pub(crate) fn plaintext_len_of(&self, value: Option<ValueRef<'_>>) -> usize {
        self.plaintext_len(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::FieldContext;
    use crate::secret::SecretKey;

    /// The AAD a cipher binds (on the stack or, when long, on the heap) is
    /// byte for byte the one [`FieldContext::aad`] specifies.
    #[test]
    fn one_aad_encoding() {
        let keys = PurposeKeys {
            field: SecretKey::from_array([1; 32]),
            deterministic: SecretKey::from_array([2; 32]),
            blind_index: SecretKey::from_array([3; 32]),
        };
        let c = FieldCipher::with_keys(
            "users",
            "email",
            ColumnSpec::new(ValueType::Text),
            7,
            vec![(7, keys)],
        )
        .unwrap();
        let header = token::header(Suite::Xaes256Gcm, 7);
        let long = vec![0xabu8; 2 * STACK_AAD];
        for row in [None, Some(&b""[..]), Some(&b"row-1"[..]), Some(&long[..])] {
            let mut ctx = FieldContext::new("users", "email");
            if let Some(r) = row {
                ctx = ctx.with_row(r);
            }
            let got = c.with_aad(&header, row, <[u8]>::to_vec);
            assert_eq!(got, ctx.aad(&header), "row {:?}", row.map(<[u8]>::len));
            assert_eq!(got.len(), aad_len(&c.names, row));
        }
    }
}
