//! The one door to multi-core work: every parallel operation of the crate
//! (chunk sealing and opening, field batches, Argon2id lanes) runs through
//! [`install`].
//!
//! rayon's global pool does not survive `fork()`: a child inherits the
//! pool's bookkeeping but none of its threads, and the first job it sends
//! there waits forever. Python's `multiprocessing` and Dask workers fork, so
//! strongroom never uses the global pool. It keeps a pool of its own per
//! process instead, keyed by process id: a forked child sees a different
//! id, leaves the inherited pool alone (it is leaked, never touched: even
//! dropping it could wait on a lock a dead thread held) and builds a fresh
//! one on first use.
//!
//! Work started from inside a rayon pool (a caller's own
//! [`rayon::ThreadPool::install`]) stays in that pool, so callers keep
//! control of the thread count. The crate's pool has rayon's default size
//! (`RAYON_NUM_THREADS`, or one thread per CPU).

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::cell::RefCell;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

/// The pool of the process whose id is `pid`.
struct Entry {
    pid: u32,
    pool: Arc<ThreadPool>,
}

/// The process-wide pool. Its lock is held only to compare an id and clone
/// an `Arc` (pools are built outside it), and each thread caches its pool,
/// so a fork that catches another thread inside the lock is rare; a child
/// that finds the lock stuck builds a pool for the calling thread instead
/// of waiting.
static SHARED: Mutex<Option<Entry>> = Mutex::new(None);

thread_local! {
    static CACHED: RefCell<Option<Entry>> = const { RefCell::new(None) };
}

/// How long a thread waits for [`SHARED`] before it concludes the lock was
/// inherited locked from the parent process. Honest contention lasts
/// nanoseconds.
const LOCK_PATIENCE: Duration = Duration::from_millis(50);

fn build_pool() -> Arc<ThreadPool> {
    let pool = ThreadPoolBuilder::new()
        .thread_name(|i| format!("strongroom-{i}"))
        .build()
        .expect("the operating system refused to start worker threads");
    Arc::new(pool)
}

/// The shared pool of this process, or `None` if its lock seems stuck.
fn shared_pool(pid: u32) -> Option<Arc<ThreadPool>> {
    let deadline = Instant::now() + LOCK_PATIENCE;
    let mut fresh: Option<Arc<ThreadPool>> = None;
    loop {
        match SHARED.try_lock() {
            Ok(mut guard) => {
                if let Some(entry) = guard.as_ref()
                    && entry.pid == pid
                {
                    return Some(Arc::clone(&entry.pool));
                }
                let Some(pool) = fresh.take() else {
                    // Build outside the lock, then look again.
                    drop(guard);
                    fresh = Some(build_pool());
                    continue;
                };
                if let Some(stale) = guard.replace(Entry {
                    pid,
                    pool: Arc::clone(&pool),
                }) {
                    std::mem::forget(stale);
                }
                return Some(pool);
            }
            // A panic elsewhere cannot leave the entry half-written.
            Err(TryLockError::Poisoned(p)) => {
                SHARED.clear_poison();
                drop(p);
            }
            Err(TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return None;
                }
                std::thread::yield_now();
            }
        }
    }
}

/// The pool for this thread in this process.
fn pool() -> Arc<ThreadPool> {
    let pid = std::process::id();
    CACHED.with(|cell| {
        let mut cached = cell.borrow_mut();
        if let Some(entry) = cached.as_ref()
            && entry.pid == pid
        {
            return Arc::clone(&entry.pool);
        }
        let pool = shared_pool(pid).unwrap_or_else(build_pool);
        if let Some(stale) = cached.replace(Entry {
            pid,
            pool: Arc::clone(&pool),
        }) {
            // Inherited from the parent: dropping it could block.
            std::mem::forget(stale);
        }
        pool
    })
}

/// Runs `f` where rayon's parallel iterators inside it use a live pool:
/// the caller's pool if called from one, otherwise this process's own.
pub(crate) fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        pool().install(f)
    }
}

/// Runs `background` on the pool [`install`] would use while `foreground`
/// runs on the calling thread, and returns once both are done. Parallel
/// iterators inside `background` spread over the pool; `foreground` needs
/// not be `Send` (it may use the caller's reader, say). With a single
/// thread the two simply run one after the other.
pub(crate) fn overlap<'s, T>(background: impl FnOnce() + Send + 's, foreground: impl FnOnce() -> T) -> T {
    if threads() < 2 {
        background();
        return foreground();
    }
    let run = |scope: &rayon::Scope<'s>| {
        scope.spawn(move |_| background());
        foreground()
    };
    if rayon::current_thread_index().is_some() {
        rayon::in_place_scope(run)
    } else {
        pool().in_place_scope(run)
    }
}

/// Threads that [`install`] would run work on.
pub(crate) fn threads() -> usize {
    if rayon::current_thread_index().is_some() {
        rayon::current_num_threads()
    } else {
        pool().current_num_threads()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn runs_on_the_crate_pool_outside_rayon() {
        let on_pool = install(rayon::current_thread_index);
        assert!(on_pool.is_some(), "install must run inside a pool");
        let sum: u64 = install(|| (0..10_000u64).into_par_iter().sum());
        assert_eq!(sum, 10_000 * 9_999 / 2);
        assert_eq!(threads(), pool().current_num_threads());
    }

    #[test]
    fn stays_in_the_callers_pool() {
        let mine = ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let (threads, name) = mine.install(|| {
            (
                threads(),
                install(|| std::thread::current().name().map(String::from)),
            )
        });
        assert_eq!(threads, 3);
        assert!(
            !name.unwrap_or_default().starts_with("strongroom-"),
            "work moved out of the caller's pool"
        );
    }

    #[test]
    fn overlap_runs_both_halves() {
        let mut seen = Vec::new();
        let mut sum = 0u64;
        let out = overlap(
            || sum = install(|| (0..1000u64).into_par_iter().sum()),
            || {
                seen.push(std::thread::current().id());
                7
            },
        );
        assert_eq!((out, sum), (7, 1000 * 999 / 2));
        assert_eq!(
            seen,
            vec![std::thread::current().id()],
            "foreground left the caller's thread"
        );
    }

    #[test]
    fn one_pool_per_process() {
        let a = pool();
        let b = std::thread::spawn(pool).join().unwrap();
        assert!(Arc::ptr_eq(&a, &b), "threads of one process share a pool");
    }
}
