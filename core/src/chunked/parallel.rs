//! Sealing and opening runs of full chunks across all cores (through
//! [`crate::parallel`], which survives `fork()`).

use super::key::PayloadKey;
use super::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};
use crate::crypto::TAG_LEN;
use crate::error::Error;
use rayon::prelude::*;

/// Below this many chunks a batch runs on the calling thread.
const PARALLEL_MIN_CHUNKS: usize = 8;

/// Seals `plaintext` (a whole number of full chunks) starting at chunk
/// `first`, writing `ENCRYPTED_CHUNK_SIZE` bytes per chunk to `out`.
pub(crate) fn seal_full_chunks(key: &PayloadKey, first: u64, plaintext: &[u8], out: &mut [u8]) {
    debug_assert_eq!(plaintext.len() % CHUNK_SIZE, 0);
    debug_assert_eq!(out.len(), plaintext.len() / CHUNK_SIZE * ENCRYPTED_CHUNK_SIZE);
    let count = plaintext.len() / CHUNK_SIZE;
    let work = |(i, (pt, ct)): (usize, (&[u8], &mut [u8]))| key.seal_chunk(first + i as u64, pt, ct);
    if count >= PARALLEL_MIN_CHUNKS && crate::parallel::threads() > 1 {
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
    if count >= PARALLEL_MIN_CHUNKS && crate::parallel::threads() > 1 {
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
/// chunk `first` into `out`. Returns how many leading chunks authenticated
/// and, if one failed, the error of the first failure. Plaintext of chunks
/// at or after the first failure is zeroed.
pub(crate) fn open_full_chunks(
    key: &PayloadKey,
    first: u64,
    ciphertext: &[u8],
    out: &mut [u8],
) -> (usize, Option<Error>) {
    debug_assert_eq!(ciphertext.len() % ENCRYPTED_CHUNK_SIZE, 0);
    let count = ciphertext.len() / ENCRYPTED_CHUNK_SIZE;
    let work = |(i, (ct, pt)): (usize, (&[u8], &mut [u8]))| key.open_chunk(first + i as u64, ct, pt).is_ok();
    let ok: Vec<bool> = if count >= PARALLEL_MIN_CHUNKS && crate::parallel::threads() > 1 {
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
    match ok.iter().position(|ok| !ok) {
        None => (count, None),
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
