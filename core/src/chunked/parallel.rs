//! Sealing and opening runs of full chunks across all cores (through
//! [`crate::parallel`], which survives `fork()`).

use super::key::PayloadKey;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};
use crate::crypto::TAG_LEN;
use crate::error::Error;
use rayon::prelude::*;
use zeroize::Zeroizing;

/// Below this many chunks a batch runs on the calling thread.
const PARALLEL_MIN_CHUNKS: usize = 8;

/// Seals `plaintext` (a whole number of full chunks) starting at chunk
/// `first`, writing `ENCRYPTED_CHUNK_SIZE` bytes per chunk to `out`.
pub(crate) fn seal_full_chunks(key: &PayloadKey, first: u64, plaintext: &[u8], out: &mut [u8]) {
    debug_assert_eq!(plaintext.len() % CHUNK_SIZE, 0);
    debug_assert_eq!(out.len(), plaintext.len() / CHUNK_SIZE * ENCRYPTED_CHUNK_SIZE);
    let count = plaintext.len() / CHUNK_SIZE;
    let work = |(i, (pt, ct)): (usize, (&[u8], &mut [u8]))| key.seal_chunk(first + i as u64, pt, ct);
    if parallel(count) {
        crate::parallel::install(|| {
            plaintext
                .par_chunks(CHUNK_SIZE)
                .zip(out.par_chunks_mut(ENCRYPTED_CHUNK_SIZE))
                .enumerate()
                .with_min_len(4)
                .for_each(work);
        });
    } else {
        plaintext
            .chunks(CHUNK_SIZE)
            .zip(out.chunks_mut(ENCRYPTED_CHUNK_SIZE))
            .enumerate()
            .for_each(work);
    }
}

/// Seals `buf` (a whole number of full chunks) in place starting at chunk
/// `first`, writing each chunk's tag to `tags`.
pub(crate) fn seal_chunks_in_place(key: &PayloadKey, first: u64, buf: &mut [u8], tags: &mut [u8]) {
    let count = buf.len() / CHUNK_SIZE;
    let work = |(i, (pt, tag)): (usize, (&mut [u8], &mut [u8]))| {
        tag.copy_from_slice(&key.seal_chunk_in_place(first + i as u64, pt));
    };
    if parallel(count) {
        crate::parallel::install(|| {
            buf.par_chunks_mut(CHUNK_SIZE)
                .zip(tags.par_chunks_mut(TAG_LEN))
                .enumerate()
                .with_min_len(4)
                .for_each(work);
        });
    } else {
        buf.chunks_mut(CHUNK_SIZE)
            .zip(tags.chunks_mut(TAG_LEN))
            .enumerate()
            .for_each(work);
    }
}

/// Opens `ciphertext` (a whole number of full encrypted chunks) starting at
/// chunk `first` into `out`, which must be private memory (see
/// [`PayloadKey::open_chunk_private`]). Returns how many leading chunks
/// authenticated and, if one failed, the error of the first failure.
/// Plaintext of chunks at or after the first failure is zeroed.
pub(crate) fn open_full_chunks(
    key: &PayloadKey,
    first: u64,
    ciphertext: &[u8],
    out: &mut [u8],
) -> (usize, Option<Error>) {
    debug_assert_eq!(ciphertext.len() % ENCRYPTED_CHUNK_SIZE, 0);
    let count = ciphertext.len() / ENCRYPTED_CHUNK_SIZE;
    let work =
        |(i, (ct, pt)): (usize, (&[u8], &mut [u8]))| key.open_chunk_private(first + i as u64, ct, pt).is_ok();
    let ok: Vec<bool> = if parallel(count) {
        crate::parallel::install(|| {
            ciphertext
                .par_chunks(ENCRYPTED_CHUNK_SIZE)
                .zip(out.par_chunks_mut(CHUNK_SIZE))
                .enumerate()
                .with_min_len(4)
                .map(work)
                .collect()
        })
    } else {
        ciphertext
            .chunks(ENCRYPTED_CHUNK_SIZE)
            .zip(out.chunks_mut(CHUNK_SIZE))
            .enumerate()
            .map(work)
            .collect()
    };
    first_failure(first, &ok, out)
}

/// Like [`open_full_chunks`], for an `out` that others may read (a
/// caller's buffer): each chunk is opened where it lies in `ciphertext`, a
/// private buffer of the core's own (which holds plaintext afterwards, so
/// its owner wipes it), and copied to `out` only once it authenticated.
/// Costs what the private form does with an engine that opens in place (a
/// copy and a pass of AES-GCM per chunk).
pub(crate) fn open_full_chunks_in_place(
    key: &PayloadKey,
    first: u64,
    ciphertext: &mut [u8],
    out: &mut [u8],
) -> (usize, Option<Error>) {
    debug_assert_eq!(ciphertext.len() % ENCRYPTED_CHUNK_SIZE, 0);
    let count = ciphertext.len() / ENCRYPTED_CHUNK_SIZE;
    let work = |(i, (ct, pt)): (usize, (&mut [u8], &mut [u8]))| match key
        .open_chunk_in_place(first + i as u64, ct)
    {
        Ok(len) => {
            pt.copy_from_slice(&ct[..len]);
            true
        }
        Err(_) => false,
    };
    let ok: Vec<bool> = if parallel(count) {
        crate::parallel::install(|| {
            ciphertext
                .par_chunks_mut(ENCRYPTED_CHUNK_SIZE)
                .zip(out.par_chunks_mut(CHUNK_SIZE))
                .enumerate()
                .with_min_len(4)
                .map(work)
                .collect()
        })
    } else {
        ciphertext
            .chunks_mut(ENCRYPTED_CHUNK_SIZE)
            .zip(out.chunks_mut(CHUNK_SIZE))
            .enumerate()
            .map(work)
            .collect()
    };
    first_failure(first, &ok, out)
}

/// Like [`open_full_chunks_in_place`], for ciphertext the core may not
/// write to (the caller's input): each worker copies a chunk into a
/// private scratch buffer of its own, opens it there and copies the
/// authenticated plaintext to `out` (see [`PayloadKey::open_chunk_shared`]);
/// the scratch buffers are wiped when the work is done.
pub(crate) fn open_full_chunks_shared(
    key: &PayloadKey,
    first: u64,
    ciphertext: &[u8],
    out: &mut [u8],
) -> (usize, Option<Error>) {
    debug_assert_eq!(ciphertext.len() % ENCRYPTED_CHUNK_SIZE, 0);
    let count = ciphertext.len() / ENCRYPTED_CHUNK_SIZE;
    let scratch = || Zeroizing::new(vec![0u8; ENCRYPTED_CHUNK_SIZE]);
    let work = |scratch: &mut Zeroizing<Vec<u8>>, (i, (ct, pt)): (usize, (&[u8], &mut [u8]))| {
        key.open_chunk_shared(first + i as u64, ct, pt, scratch).is_ok()
    };
    let ok: Vec<bool> = if parallel(count) {
        crate::parallel::install(|| {
            ciphertext
                .par_chunks(ENCRYPTED_CHUNK_SIZE)
                .zip(out.par_chunks_mut(CHUNK_SIZE))
                .enumerate()
                .with_min_len(4)
                .map_init(scratch, work)
                .collect()
        })
    } else {
        let mut s = scratch();
        ciphertext
            .chunks(ENCRYPTED_CHUNK_SIZE)
            .zip(out.chunks_mut(CHUNK_SIZE))
            .enumerate()
            .map(|item| work(&mut s, item))
            .collect()
    };
    first_failure(first, &ok, out)
}

/// Whether `count` chunks are worth spreading over the pool.
fn parallel(count: usize) -> bool {
    count >= PARALLEL_MIN_CHUNKS && crate::parallel::threads() > 1
}

/// The result of opening chunks `first..` whose outcomes are `ok`: how
/// many leading chunks authenticated, and the first failure, whose
/// plaintext and that of every later chunk is zeroed in `out`.
fn first_failure(first: u64, ok: &[bool], out: &mut [u8]) -> (usize, Option<Error>) {
    match ok.iter().position(|ok| !ok) {
        None => (ok.len(), None),
        Some(bad) => {
            out[bad * CHUNK_SIZE..].fill(0);
            (
                bad,
                Some(Error::ChunkAuthFailed {
                    index: first + bad as u64,
                }),
            )
        }
    }
}
