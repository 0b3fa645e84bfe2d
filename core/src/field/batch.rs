//! Batch operations: many values per call, spread over all cores.
//!
//! Values are cut into chunks of [`CHUNK`]. In random mode each chunk draws
//! one random 12-byte nonce prefix and derives the XAES-256-GCM subkey
//! once; every value then gets its own random 12-byte suffix. At most
//! [`MAX_PER_PREFIX`] values ever share a prefix (a chunk is far smaller),
//! well below the random-nonce limit of one AES-GCM key. The tokens are
//! ordinary XAES-256-GCM tokens. A column with
//! [`ColumnSpec::unlinkable_batches`](super::ColumnSpec::unlinkable_batches)
//! gives every token its own prefix instead. Decryption reuses a derived key while
//! consecutive tokens share a prefix, as tokens of one batch do.

use super::blind::IndexTerm;
use super::cipher::{FieldCipher, Mode, RandomKey};
use super::token::{self, HEADER_LEN, Suite, Token};
use super::value::{Value, ValueRef};
use super::xaes::DerivedKey;
use super::xaes::{PREFIX_LEN, XNONCE_LEN};
use crate::crypto::{TAG_LEN, random};
use crate::error::{Error, Result};
use crate::secret::PlainBuf;
use rayon::prelude::*;

/// Values per chunk (one derived key per chunk in random mode).
pub const CHUNK: usize = 1024;
/// Most values encrypted under one shared nonce prefix.
pub const MAX_PER_PREFIX: usize = 1 << 20;
const _: () = assert!(CHUNK <= MAX_PER_PREFIX);

/// Runs `f` over the chunks of `items`, in parallel when there is more
/// than one chunk, writing into the matching chunk of `out`.
fn for_chunks<T: Sync, R: Send>(items: &[T], out: &mut [R], f: impl Fn(usize, &[T], &mut [R]) + Sync + Send) {
    if items.len() <= CHUNK {
        f(0, items, out);
    } else {
        crate::parallel::install(|| {
            out.par_chunks_mut(CHUNK)
                .zip(items.par_chunks(CHUNK))
                .enumerate()
                .for_each(|(i, (o, it))| f(i * CHUNK, it, o));
        });
    }
}

fn check_rows(n: usize, rows: Option<&[&[u8]]>) -> Result<()> {
    match rows {
        Some(r) if r.len() != n => Err(Error::InvalidArgument(format!(
            "{} row keys for {n} values: give one per value or none",
            r.len()
        ))),
        _ => Ok(()),
    }
}

fn row_at<'a>(rows: Option<&[&'a [u8]]>, i: usize) -> Option<&'a [u8]> {
    rows.map(|r| r[i])
}

impl FieldCipher {
    /// Encrypts many values at once, on all cores: the same tokens as
    /// [`FieldCipher::encrypt`] one by one, in order. `rows` is `None` or
    /// one row key per value. Every input is checked before any work; the
    /// first invalid one fails the whole call with [`Error::Batch`], which
    /// gives its index and the error [`FieldCipher::encrypt`] would give
    /// for it.
    pub fn encrypt_batch(
        &self,
        values: &[Option<Value>],
        rows: Option<&[&[u8]]>,
    ) -> Result<Vec<Option<Token>>> {
        let refs: Vec<Option<ValueRef<'_>>> = values
            .iter()
            .map(|v| v.as_ref().map(Value::as_value_ref))
            .collect();
        self.encrypt_batch_ref(&refs, rows)
    }

    /// [`FieldCipher::encrypt_batch`] of borrowed values: text and bytes
    /// are read where they lie (no owned copies). The same tokens and
    /// errors.
    pub fn encrypt_batch_ref(
        &self,
        values: &[Option<ValueRef<'_>>],
        rows: Option<&[&[u8]]>,
    ) -> Result<Vec<Option<Token>>> {
        self.check_may_encrypt()?;
        check_rows(values.len(), rows)?;
        for (i, v) in values.iter().enumerate() {
            self.check_input(*v, row_at(rows, i))
                .map_err(|e| Error::at(i, e))?;
        }
        let mut out: Vec<Option<Token>> = vec![None; values.len()];
        let hide_null = self.spec().hide_null;
        let version = self.primary_version();
        let keys = self.primary_column_keys();
        match self.spec().mode {
            // Every token with its own random prefix, as one by one.
            Mode::Random if self.spec().unlinkable_batches => {
                for_chunks(values, &mut out, |offset, chunk, out| {
                    for (i, v) in chunk.iter().enumerate() {
                        if v.is_none() && !hide_null {
                            continue;
                        }
                        let len = self.plaintext_len_of(*v);
                        out[i] =
                            Some(self.seal_primary(row_at(rows, offset + i), len, |b| self.encode(*v, b)));
                    }
                })
            }
            Mode::Random => for_chunks(values, &mut out, |offset, chunk, out| {
                let mut prefix = [0u8; PREFIX_LEN];
                random::fill_fast(&mut prefix);
                let gcm = keys.xaes.derive(&prefix);
                // Without row keys every token of the chunk has the same
                // AAD: absorb it into GHASH once.
                let aad_state = rows.is_none().then(|| {
                    let header = token::header(Suite::Xaes256Gcm, version);
                    self.with_aad(&header, None, |aad| gcm.absorb_aad(aad))
                });
                let mut suffixes = vec![0u8; 12 * chunk.len()];
                random::fill_fast(&mut suffixes);
                let mut nonce = [0u8; XNONCE_LEN];
                nonce[..PREFIX_LEN].copy_from_slice(&prefix);
                // With shared AAD, tokens are finished two at a time (their
                // AES blocks in one batch); `waiting` holds the first.
                let mut waiting: Option<(usize, Vec<u8>)> = None;
                for (i, v) in chunk.iter().enumerate() {
                    if v.is_none() && !hide_null {
                        continue;
                    }
                    nonce[PREFIX_LEN..].copy_from_slice(&suffixes[12 * i..12 * i + 12]);
                    let len = self.plaintext_len_of(*v);
                    let buf = self.unsealed_random(version, &nonce, len, |b| self.encode(*v, b));
                    match (&aad_state, waiting.take()) {
                        (Some(state), Some((j, first))) => {
                            let [a, b] = self.finish_random_pair(&gcm, state, first, buf);
                            out[j] = Some(a);
                            out[i] = Some(b);
                        }
                        (Some(_), None) => waiting = Some((i, buf)),
                        (None, _) => {
                            let key = RandomKey::Derived(&gcm, None);
                            out[i] = Some(self.finish_random(key, row_at(rows, offset + i), buf));
                        }
                    }
                }
                if let Some((j, buf)) = waiting {
                    out[j] =
                        Some(self.finish_random(RandomKey::Derived(&gcm, aad_state.as_ref()), None, buf));
                }
            }),
            Mode::Deterministic => for_chunks(values, &mut out, |_, chunk, out| {
                for (v, o) in chunk.iter().zip(out.iter_mut()) {
                    if v.is_none() && !hide_null {
                        continue;
                    }
                    let len = self.plaintext_len_of(*v);
                    *o = Some(self.seal_siv(keys, version, len, |b| self.encode(*v, b)));
                }
            }),
        }
        Ok(out)
    }

    /// Decrypts many binary tokens at once, on all cores. `None` (SQL NULL)
    /// gives `Ok(None)`. Each token has its own result, at its index in the
    /// input, so one damaged row does not hide the others; the result
    /// errors are those of [`FieldCipher::decrypt`]. `rows` is `None` or
    /// one per token (else the whole call fails).
    pub fn decrypt_batch<T: AsRef<[u8]> + Sync>(
        &self,
        tokens: &[Option<T>],
        rows: Option<&[&[u8]]>,
    ) -> Result<Vec<Result<Option<Value>>>> {
        check_rows(tokens.len(), rows)?;
        let mut out: Vec<Result<Option<Value>>> = (0..tokens.len()).map(|_| Ok(None)).collect();
        for_chunks(tokens, &mut out, |offset, chunk, out| {
            // (key version, prefix) -> derived key of the previous token.
            let mut cache: Option<(u32, [u8; PREFIX_LEN], DerivedKey)> = None;
            for (i, (t, o)) in chunk.iter().zip(out.iter_mut()).enumerate() {
                if let Some(t) = t {
                    *o = self.decrypt_cached(t.as_ref(), row_at(rows, offset + i), &mut cache);
                }
            }
        });
        Ok(out)
    }

    fn decrypt_cached(
        &self,
        token: &[u8],
        row: Option<&[u8]>,
        cache: &mut Option<(u32, [u8; PREFIX_LEN], DerivedKey)>,
    ) -> Result<Option<Value>> {
        let info = token::inspect(token)?;
        if info.suite != Suite::Xaes256Gcm {
            return self.decrypt(token, row);
        }
        self.check_accepted(info.suite, row)?;
        let keys = self.keys_for(info.key_version)?;
        let header: &[u8; HEADER_LEN] = token[..HEADER_LEN].try_into().expect("6 bytes");
        let prefix: [u8; PREFIX_LEN] = token[HEADER_LEN..HEADER_LEN + PREFIX_LEN].try_into().expect("12");
        let gcm_nonce: &[u8; 12] = token[HEADER_LEN + PREFIX_LEN..HEADER_LEN + XNONCE_LEN]
            .try_into()
            .expect("12");
        let hit = matches!(cache, Some((v, p, _)) if *v == info.key_version && *p == prefix);
        if !hit {
            *cache = Some((info.key_version, prefix, keys.xaes.derive(&prefix)));
        }
        let gcm = &cache.as_ref().expect("filled above").2;
        let ct = &token[HEADER_LEN + XNONCE_LEN..];
        let mut plaintext = PlainBuf::zeroed(ct.len() - TAG_LEN);
        // A key derived for this token alone takes the cheap-setup path; one
        // already used by the previous token (a batch's shared prefix) is
        // worth the engine's key setup.
        self.with_aad(header, row, |aad| {
            if hit {
                gcm.open_into_reused(gcm_nonce, aad, ct, &mut plaintext)
            } else {
                gcm.open_into(gcm_nonce, aad, ct, &mut plaintext)
            }
        })
        .map_err(|_| Error::FieldAuthFailed)?;
        self.check_tag(&plaintext)?;
        self.decode(plaintext)
    }

    /// Blind index terms of many values under the primary version, on all
    /// cores (as [`FieldCipher::index`] one by one: a hidden NULL gets a
    /// random term, a kept NULL none). A
    /// value of another type fails the whole call with [`Error::Batch`]
    /// (its index, and [`Error::FieldType`]).
    pub fn index_batch(&self, values: &[Option<Value>]) -> Result<Vec<Option<IndexTerm>>> {
        let refs: Vec<Option<ValueRef<'_>>> = values
            .iter()
            .map(|v| v.as_ref().map(Value::as_value_ref))
            .collect();
        self.index_batch_ref(&refs)
    }

    /// [`FieldCipher::index_batch`] of borrowed values.
    pub fn index_batch_ref(&self, values: &[Option<ValueRef<'_>>]) -> Result<Vec<Option<IndexTerm>>> {
        self.check_may_encrypt()?;
        let spec = *self.blind_spec()?;
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = *v {
                super::value::check_type(v, self.spec().value_type).map_err(|e| Error::at(i, e))?;
            }
        }
        let version = self.primary_version();
        let keys = self.primary_column_keys();
        let mut out: Vec<Option<IndexTerm>> = vec![None; values.len()];
        for_chunks(values, &mut out, |_, chunk, out| {
            for (v, o) in chunk.iter().zip(out.iter_mut()) {
                *o = match v {
                    Some(v) => Some(self.term(keys, &spec, *v, version)),
                    None => self.null_term(&spec),
                };
            }
        });
        Ok(out)
    }

    /// Rewraps many tokens at once, on all cores (as
    /// [`FieldCipher::rewrap`] one by one). `None` stays `None`. Each token
    /// has its own result, at its index in the input.
    pub fn rewrap_batch<T: AsRef<[u8]> + Sync>(
        &self,
        tokens: &[Option<T>],
        rows: Option<&[&[u8]]>,
    ) -> Result<Vec<Result<Option<Token>>>> {
        self.check_may_encrypt()?;
        check_rows(tokens.len(), rows)?;
        let mut out: Vec<Result<Option<Token>>> = (0..tokens.len()).map(|_| Ok(None)).collect();
        for_chunks(tokens, &mut out, |offset, chunk, out| {
            for (i, (t, o)) in chunk.iter().zip(out.iter_mut()).enumerate() {
                if let Some(t) = t {
                    *o = self.rewrap(t.as_ref(), row_at(rows, offset + i)).map(Some);
                }
            }
        });
        Ok(out)
    }
}
