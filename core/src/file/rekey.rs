//! Rekeying: a new file key and file id, the payload re-encrypted. Unlike a
//! rewrap this revokes: no old header opens the new payload.

use super::header::check_stanza_counts;
use super::info::FileInfo;
use super::recipients::{Identity, Recipient};
use super::rewrap::{open_locked, refuse_hard_links};
use super::stream::{EncryptedFile, new_header};
use super::whole::{BLOCK, FileOptions, refuse_same_file, write_behind};
use crate::atomic::{AtomicFile, resolve_link};
use crate::chunked::{CHUNK_SIZE, PREFIX_LEN, Sealer};
use crate::crypto::random;
use crate::error::{Error, Result, from_io};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// Re-encrypts the file at `src` under a new random file key and file id,
/// for exactly `recipients`, after opening it with `identities`.
///
/// With `dst` = `None` the file is replaced in place (through a symbolic
/// link, the file it points to), keeping its permission bits (0o777 only);
/// a file with other hard links is refused, and the file is locked as by
/// [`rewrap_file`](super::rewrap_file) (with the same
/// [`FileOptions::expect_header`] check). With `Some(dst)` a new file is
/// written there (mode 0600), under the same rules as
/// [`encrypt_file`](super::encrypt_file) (`opts.overwrite`, symbolic links
/// refused).
///
/// Every stanza of the old file is dropped: protectors not in `recipients`
/// (including unknown kinds) no longer open the result, and neither does any
/// copy of the old header. The output appears only after the whole source
/// authenticated; on any error or cancellation the source is intact and no
/// output or temporary file is left. Too many recipients fail with
/// [`Error::TooManyRecipients`] before any Argon2id run.
pub fn rekey_file(
    src: &Path,
    dst: Option<&Path>,
    identities: &[Identity<'_>],
    recipients: &[Recipient<'_>],
    opts: &FileOptions<'_>,
) -> Result<FileInfo> {
    check_recipients(recipients)?;
    let in_place;
    let (input, mut out, out_path) = match dst {
        None => {
            in_place = resolve_link(src);
            let path = &in_place;
            let input = open_locked(path)?;
            refuse_hard_links(path, &input)?;
            let out = AtomicFile::create(path, true)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let meta = input.metadata().map_err(Error::file("read", path))?;
                out.set_mode(meta.permissions().mode() & 0o777)?;
            }
            (input, out, path.as_path())
        }
        Some(dst) => {
            refuse_same_file(src, dst)?;
            let input = File::open(src).map_err(Error::file("open", src))?;
            (input, AtomicFile::create(dst, opts.overwrite)?, dst)
        }
    };
    let total = input.metadata().map_err(Error::file("read", src))?.len();
    let encrypted = EncryptedFile::open(input).map_err(|e| e.on_file("read", src))?;
    if dst.is_none() {
        // Before any Argon2id run: the header the caller planned on.
        opts.check_expected(encrypted.info(), out_path)?;
    }
    let mut dec = encrypted
        .decrypt(identities)
        .map_err(|e| e.on_file("read", src))?;
    let payload = total.saturating_sub(dec.info().header_len);
    let total = crate::chunked::plaintext_len(payload).unwrap_or(total);
    dec.set_batch_chunks(BLOCK / CHUNK_SIZE);

    let (header, file_key) = new_header(recipients)?;
    let (mut sealer, prefix) = Sealer::new(file_key.expose(), &random::array(), &header.core.to_bytes())?;
    drop(file_key);
    out.file()
        .write_all(&header.to_bytes())
        .map_err(Error::file("write", out_path))?;
    out.file()
        .write_all(&prefix)
        .map_err(Error::file("write", out_path))?;
    opts.tick(0, total)?;
    let payload_len = write_behind(out.file(), out_path, |batches| {
        let mut plain = Zeroizing::new(Vec::new());
        // Plaintext short of a whole chunk, carried to the next batch.
        let mut carry = Zeroizing::new(Vec::with_capacity(BLOCK + CHUNK_SIZE));
        let (mut done, mut sealed) = (0u64, PREFIX_LEN as u64);
        loop {
            let n = dec
                .swap_batch(&mut plain)
                .map_err(|e| from_io(e).on_file("read", src))?;
            plain.truncate(n);
            let mut buf = batches.spare();
            buf.clear();
            if n == 0 {
                // The source authenticated to its end: seal the short final chunk.
                sealer.seal_final(&carry, &mut buf)?;
                sealed += buf.len() as u64;
                batches.hand_over(buf, 0, &mut done, total, opts)?;
                return Ok(sealed);
            }
            carry.extend_from_slice(&plain);
            let full = carry.len() / CHUNK_SIZE * CHUNK_SIZE;
            sealer.seal_full(&carry[..full], &mut buf)?;
            carry.copy_within(full.., 0);
            let rest = carry.len() - full;
            carry.truncate(rest);
            sealed += buf.len() as u64;
            if !batches.hand_over(buf, n as u64, &mut done, total, opts)? {
                return Ok(sealed); // the writer failed; its error is reported
            }
        }
    })?;
    out.commit()?;
    FileInfo::from_header(&header, Some(payload_len))
}

/// The recipient limits, checked before any Argon2id run.
fn check_recipients(recipients: &[Recipient<'_>]) -> Result<()> {
    let passphrases = recipients
        .iter()
        .filter(|r| matches!(r, Recipient::Passphrase(..)))
        .count();
    check_stanza_counts(passphrases, recipients.len())?;
    if recipients.is_empty() {
        return Err(Error::InvalidArgument(
            "at least one recipient (keyring or passphrase) is required".into(),
        ));
    }
    Ok(())
}
