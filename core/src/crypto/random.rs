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

/// Fills `buf` from a fast per-thread CSPRNG, for nonces on hot paths.
///
/// The generator is `rand`'s `ThreadRng` (ChaCha12, seeded from the OS
/// generator and reseeded from it after every 64 KiB of output). It is
/// reseeded the first time a thread calls this function, and again in a
/// child process after `fork()` (detected by a `pthread_atfork` handler), so
/// a forked child never repeats its parent's output. Use [`fill`] for keys
/// and other long-term secrets.
pub fn fill_fast(buf: &mut [u8]) {
    use rand::Rng;
    use std::cell::RefCell;

    thread_local! {
        static FORK_GUARD: RefCell<Option<forkguard::Guard>> = const { RefCell::new(None) };
    }
    let mut rng = rand::rng();
    FORK_GUARD.with(|cell| {
        let mut guard = cell.borrow_mut();
        let reseed = match guard.as_mut() {
            Some(g) => g.detected_fork(),
            None => {
                *guard = Some(forkguard::new());
                true
            }
        };
        if reseed {
            rng.reseed()
                .expect("the operating system random generator failed");
        }
    });
    rng.fill_bytes(buf);
}
