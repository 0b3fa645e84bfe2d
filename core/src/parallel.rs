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
//! control of the thread count.
//!
//! The size of the crate's pool is, in this order: the last
//! [`set_threads`] call, the `STRONGROOM_THREADS` environment variable,
//! `RAYON_NUM_THREADS`, one thread per CPU ([`thread_count`] tells which
//! applies). The variables are read once per process, when the size is
//! first needed. A new size applies to work that starts afterwards: each
//! size change starts a new generation, and a thread whose cached pool is
//! of an older generation takes (or builds) the current one; the old pool
//! finishes what it runs and its threads exit once the last user lets go
//! of it.

use crate::error::{Error, Result};
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

/// The largest pool [`set_threads`] and `STRONGROOM_THREADS` accept: far
/// above any useful size, low enough that asking for it cannot exhaust the
/// process's threads by mistake.
pub const MAX_THREADS: usize = 1024;

/// The environment variable that sizes the pool when [`set_threads`] was
/// not called: a whole number from 1 to [`MAX_THREADS`]; any other value
/// is ignored.
pub const THREADS_ENV: &str = "STRONGROOM_THREADS";

/// The size asked for by [`set_threads`], or 0 for none.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

/// Bumped by every [`set_threads`] call that changes the request, so that
/// pools of an older size are replaced.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Sets the number of worker threads of strongroom's own pool, for work
/// that starts afterwards; 0 returns to the default (`STRONGROOM_THREADS`,
/// `RAYON_NUM_THREADS`, one per CPU). 1 runs every operation on a single
/// worker thread, one piece after another: no parallel work, and the
/// calling thread waits for it. Work already running finishes on the pool
/// it started on, whose threads then exit. Work started from inside a
/// caller's own rayon pool keeps using that pool, whatever this says.
///
/// More than [`MAX_THREADS`] is [`Error::InvalidArgument`], and nothing
/// changes.
pub fn set_threads(threads: usize) -> Result<()> {
    if threads > MAX_THREADS {
        return Err(Error::InvalidArgument(format!(
            "{threads} worker threads asked for; at most {MAX_THREADS} are allowed"
        )));
    }
    if REQUESTED.swap(threads, Ordering::SeqCst) != threads {
        GENERATION.fetch_add(1, Ordering::SeqCst);
    }
    Ok(())
}

/// The number of worker threads strongroom's own pool has, or will have
/// when it next starts: the size [`set_threads`] asked for, else
/// `STRONGROOM_THREADS`, else `RAYON_NUM_THREADS`, else the number of
/// CPUs. Starts nothing.
pub fn thread_count() -> usize {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => default_threads(),
        n => n,
    }
}

/// The size without a [`set_threads`] call, from the environment (read
/// once) or the number of CPUs.
fn default_threads() -> usize {
    static FROM_ENV: OnceLock<Option<usize>> = OnceLock::new();
    let from_env =
        *FROM_ENV.get_or_init(|| env_threads(THREADS_ENV).or_else(|| env_threads("RAYON_NUM_THREADS")));
    from_env.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// A thread count from the variable `name`, if it holds one from 1 to
/// [`MAX_THREADS`].
fn env_threads(name: &str) -> Option<usize> {
    parse_threads(&std::env::var(name).ok()?)
}

fn parse_threads(s: &str) -> Option<usize> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_THREADS).contains(n))
}

/// The pool of the process whose id is `pid`, of size generation `generation`.
struct Entry {
    pid: u32,
    generation: u64,
    pool: Arc<ThreadPool>,
}

impl Entry {
    fn is_current(&self, pid: u32, generation: u64) -> bool {
        self.pid == pid && self.generation == generation
    }

    /// Lets go of a replaced entry: an older generation of this process is
    /// dropped (its threads exit once idle and unused); a pool inherited
    /// from the parent process is leaked, because dropping it could block.
    fn retire(self, pid: u32) {
        if self.pid == pid {
            drop(self);
        } else {
            std::mem::forget(self);
        }
    }
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

fn build_pool(threads: usize) -> Arc<ThreadPool> {
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("strongroom-{i}"))
        .build()
        .expect("the operating system refused to start worker threads");
    Arc::new(pool)
}

/// The shared pool of this process and generation, or `None` if its lock
/// seems stuck.
fn shared_pool(pid: u32, generation: u64) -> Option<Arc<ThreadPool>> {
    let deadline = Instant::now() + LOCK_PATIENCE;
    let mut fresh: Option<Arc<ThreadPool>> = None;
    loop {
        match SHARED.try_lock() {
            Ok(mut guard) => {
                if let Some(entry) = guard.as_ref()
                    && entry.is_current(pid, generation)
                {
                    return Some(Arc::clone(&entry.pool));
                }
                let Some(pool) = fresh.take() else {
                    // Build outside the lock, then look again.
                    drop(guard);
                    fresh = Some(build_pool(thread_count()));
                    continue;
                };
                let stale = guard.replace(Entry {
                    pid,
                    generation,
                    pool: Arc::clone(&pool),
                });
                drop(guard);
                if let Some(stale) = stale {
                    stale.retire(pid);
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

/// The pool for this thread in this process, of the current size.
fn pool() -> Arc<ThreadPool> {
    let pid = std::process::id();
    let generation = GENERATION.load(Ordering::SeqCst);
    CACHED.with(|cell| {
        let mut cached = cell.borrow_mut();
        if let Some(entry) = cached.as_ref()
            && entry.is_current(pid, generation)
        {
            return Arc::clone(&entry.pool);
        }
        let pool = shared_pool(pid, generation).unwrap_or_else(|| build_pool(thread_count()));
        let stale = cached.replace(Entry {
            pid,
            generation,
            pool: Arc::clone(&pool),
        });
        if let Some(stale) = stale {
            stale.retire(pid);
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
