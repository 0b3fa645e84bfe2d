//! Randomness from the operating system's generator.

/// Fills `buf` with bytes from the OS CSPRNG.
///
/// # Panics
/// If the operating system cannot provide randomness: continuing without it
/// would be unsafe, and no caller can recover.
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system random generator failed");
}

/// Returns `N` random bytes.
pub fn array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill(&mut out);
    out
}
