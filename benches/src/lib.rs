//! Helpers shared by the strongroom benchmarks (see `benches/` and
//! `README.md` in this crate).
//!
//! The criterion benchmarks live in `benches/`; the harness behind
//! `scripts/bench.sh` (`harness/`) runs the `strongroom-bench` program
//! (`rust/strongroom_bench.rs`) beside the peers it compares strongroom with.

pub mod stream;

/// Bytes per MiB.
pub const MIB: usize = 1 << 20;

/// Environment variable that sets the size of the streamed message, in MiB.
pub const SIZE_ENV: &str = "STRONGROOM_BENCH_MIB";

/// Default size of the streamed message: 1 GiB, the size named by the
/// throughput target.
pub const DEFAULT_MIB: usize = 1024;

/// Size of every `write` into the streaming writer and every `read` from the
/// streaming reader: 4 MiB, the block size `encrypt_file` and
/// `decrypt_file` use.
pub const IO_BLOCK: usize = 4 * MIB;

/// Message size for the streaming benchmarks: `$STRONGROOM_BENCH_MIB` MiB,
/// or [`DEFAULT_MIB`] when unset.
///
/// # Panics
/// If the variable is set but is not a positive whole number of MiB.
pub fn message_size() -> usize {
    match std::env::var(SIZE_ENV) {
        Ok(v) => parse_mib(&v)
            .unwrap_or_else(|| panic!("{SIZE_ENV}={v:?}: expected a positive whole number of MiB")),
        Err(_) => DEFAULT_MIB * MIB,
    }
}

/// Parses a positive number of MiB into bytes.
pub fn parse_mib(s: &str) -> Option<usize> {
    let mib: usize = s.trim().parse().ok()?;
    if mib == 0 {
        return None;
    }
    mib.checked_mul(MIB)
}

/// A buffer of `len` bytes filled with a cheap non-constant pattern (an
/// xorshift stream). AES-GCM's speed does not depend on the data; the
/// pattern only guarantees that every page is really allocated and touched
/// before timing starts.
pub fn patterned(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for word in buf.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bytes = state.to_le_bytes();
        word.copy_from_slice(&bytes[..word.len()]);
    }
    buf
}

/// Human form of a byte count for benchmark names ("1GiB", "256MiB").
pub fn size_label(len: usize) -> String {
    if len >= 1 << 30 && len.is_multiple_of(1 << 30) {
        format!("{}GiB", len >> 30)
    } else if len.is_multiple_of(MIB) {
        format!("{}MiB", len / MIB)
    } else {
        format!("{len}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_mib("256"), Some(256 * MIB));
        assert_eq!(parse_mib(" 1 "), Some(MIB));
        assert_eq!(parse_mib("0"), None);
        assert_eq!(parse_mib("x"), None);
    }

    #[test]
    fn labels() {
        assert_eq!(size_label(1 << 30), "1GiB");
        assert_eq!(size_label(256 * MIB), "256MiB");
        assert_eq!(size_label(10), "10B");
    }

    #[test]
    fn pattern_is_not_constant() {
        let b = patterned(1000);
        assert_eq!(b.len(), 1000);
        assert!(b.windows(2).any(|w| w[0] != w[1]));
    }
}
