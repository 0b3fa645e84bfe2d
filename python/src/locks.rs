//! The lock every native object shares between Python threads.
//!
//! Two rules make a native lock safe next to the interpreter:
//!
//! - Nobody waits for it while attached to the interpreter. The holder may
//!   need the interpreter (a stream over a Python file object calls its
//!   `read` or `write`), so a waiter that kept it would stop every thread
//!   for good. Callers wait only with the interpreter released (inside
//!   `run`/`step` or `py.detach`).
//! - A forked child never waits for it when a thread of the parent held it
//!   at fork time: that thread does not exist in the child, so the lock
//!   would never come free. The lock records the process whose threads hold
//!   it. A child that finds it held for writing by another process gets
//!   [`Held::ByParent`] at once (the data may be half changed); held only
//!   by the parent's readers, the data is whole and the child takes the
//!   lock over (those readers will never let go in the child).
//!
//! A std lock knows neither its holder's process nor how to refuse, so the
//! gate is an atomic word (holders' process id, writer bit, waiting-writer
//! bit, reader count). Waiting polls the word with a growing pause (at
//! most a millisecond): waits happen only while another thread of the
//! process works, with the interpreter released, and a parked waiter would
//! need a second lock that a fork could catch in turn.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const READERS: u64 = (1 << 30) - 1;
const WAITING: u64 = 1 << 30;
const WRITER: u64 = 1 << 31;
const OWNER_SHIFT: u32 = 32;

/// Why a lock was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// A thread of the parent process held it when this process forked.
    ByParent,
    /// Another thread holds it (only [`Gate::try_write`] says so).
    Busy,
}

/// The gate word: the process whose threads hold (or wait for) the lock,
/// a writer bit, a waiting-writer bit and the number of readers.
struct Gate(AtomicU64);

fn this_process() -> u64 {
    u64::from(std::process::id())
}

fn owner(state: u64) -> u64 {
    state >> OWNER_SHIFT
}

fn held(state: u64) -> bool {
    state & (WRITER | READERS) != 0
}

/// A pause that grows from spinning to sleeping up to a millisecond.
struct Pause(u32);

impl Pause {
    fn wait(&mut self) {
        self.0 = self.0.saturating_add(1);
        match self.0 {
            0..=63 => std::hint::spin_loop(),
            64..=127 => std::thread::yield_now(),
            n => std::thread::sleep(Duration::from_micros(u64::from((n - 127).min(20)) * 50)),
        }
    }
}

impl Gate {
    const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// The word as this process sees it: holds a parent's readers and
    /// waiting writers had (threads that do not exist here) are dropped; a
    /// parent's writer is [`Held::ByParent`].
    fn current(&self) -> Result<u64, Held> {
        loop {
            let s = self.0.load(Ordering::Acquire);
            let o = owner(s);
            if o == 0 || o == this_process() {
                return Ok(s);
            }
            if s & WRITER != 0 {
                return Err(Held::ByParent);
            }
            // Only the parent's readers or waiting writer: nothing is
            // half changed, and none of them will ever let go here.
            if self
                .0
                .compare_exchange(s, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Ok(0);
            }
        }
    }

    /// One more reader, waiting while a writer holds or waits for it.
    fn read(&self) -> Result<(), Held> {
        let me = this_process() << OWNER_SHIFT;
        let mut pause = Pause(0);
        loop {
            let s = self.current()?;
            if s & (WRITER | WAITING) == 0 && s & READERS < READERS {
                let next = me | ((s & READERS) + 1);
                if self
                    .0
                    .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return Ok(());
                }
                continue;
            }
            pause.wait();
        }
    }

    /// The writer, waiting for the holders (and keeping new readers out
    /// meanwhile, so that a writer gets its turn).
    fn write(&self) -> Result<(), Held> {
        let mut pause = Pause(0);
        loop {
            match self.try_write() {
                Err(Held::Busy) => {
                    if let Ok(s) = self.current() {
                        let mine = (this_process() << OWNER_SHIFT) | (s & !(u64::MAX << OWNER_SHIFT));
                        let _ = self.0.compare_exchange_weak(
                            s,
                            mine | WAITING,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        );
                    }
                    pause.wait();
                }
                other => return other,
            }
        }
    }

    /// The writer if nobody holds it now; never waits.
    fn try_write(&self) -> Result<(), Held> {
        loop {
            let s = self.current()?;
            if held(s) {
                return Err(Held::Busy);
            }
            let next = (this_process() << OWNER_SHIFT) | WRITER;
            if self
                .0
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Ok(());
            }
        }
    }

    /// Gives back a reader's or the writer's hold: the owner stays
    /// recorded only while someone of this process holds or waits.
    fn release(&self, writer: bool) {
        let _ = self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            let rest = if writer { s & !WRITER } else { s - 1 };
            Some(if rest & (WRITER | WAITING | READERS) == 0 {
                0
            } else {
                rest
            })
        });
    }
}

/// Data one thread at a time uses (a stream): `T` need not be `Sync`.
pub(crate) struct Exclusive<T> {
    gate: Gate,
    data: Mutex<T>,
}

impl<T> Exclusive<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            gate: Gate::new(),
            data: Mutex::new(value),
        }
    }

    /// The data, waiting for another thread's use to end. Call it with the
    /// interpreter released.
    pub(crate) fn lock(&self) -> Result<Guard<'_, MutexGuard<'_, T>>, Held> {
        self.gate.write()?;
        Ok(Guard::new(
            &self.gate,
            true,
            self.data.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

/// Data many threads read at once and some change (a keyring). The gate
/// alone guards the data: a std `RwLock` behind it would keep counting a
/// parent's readers in a forked child and stop the child's writers.
pub(crate) struct Shared<T> {
    gate: Gate,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through the guards below: shared
// references while the gate counts a reader (many threads at once, hence
// `T: Sync`), a unique one while it has the writer (from any thread,
// hence `T: Send`). The gate's acquire/release orderings order the
// accesses as a lock's do.
#[allow(unsafe_code)]
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            gate: Gate::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Shared access, waiting while a writer holds or waits for it. Call it
    /// with the interpreter released.
    #[allow(unsafe_code)]
    pub(crate) fn read(&self) -> Result<Guard<'_, &T>, Held> {
        self.gate.read()?;
        // SAFETY: the gate counts this reader, so no writer holds it until
        // the guard drops: only shared references exist meanwhile.
        Ok(Guard::new(&self.gate, false, unsafe { &*self.data.get() }))
    }

    /// Exclusive access, waiting for the holders. Call it with the
    /// interpreter released.
    // A lock hands out `&mut` from `&self`: the gate makes it unique.
    #[allow(unsafe_code, clippy::mut_from_ref)]
    pub(crate) fn write(&self) -> Result<Guard<'_, &mut T>, Held> {
        self.gate.write()?;
        // SAFETY: the gate has this writer and no reader until the guard
        // drops: this is the only reference to the data meanwhile. (A
        // parent's readers whose hold the child dropped are not in this
        // process.)
        Ok(Guard::new(&self.gate, true, unsafe { &mut *self.data.get() }))
    }
}

/// A hold on an [`Exclusive`] or [`Shared`]: the data's own guard, given
/// back before the gate.
pub(crate) struct Guard<'a, G> {
    gate: &'a Gate,
    writer: bool,
    /// Always `Some` until dropped.
    data: Option<G>,
}

impl<'a, G> Guard<'a, G> {
    fn new(gate: &'a Gate, writer: bool, data: G) -> Self {
        Self {
            gate,
            writer,
            data: Some(data),
        }
    }
}

impl<G: Deref> Deref for Guard<'_, G> {
    type Target = G::Target;
    fn deref(&self) -> &G::Target {
        match &self.data {
            Some(d) => d,
            None => unreachable!("a guard's data is present until it is dropped"),
        }
    }
}

impl<G: DerefMut> DerefMut for Guard<'_, G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        match &mut self.data {
            Some(d) => d,
            None => unreachable!("a guard's data is present until it is dropped"),
        }
    }
}

impl<G> Drop for Guard<'_, G> {
    fn drop(&mut self) {
        drop(self.data.take());
        self.gate.release(self.writer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_share_and_writers_exclude() {
        let s = Shared::new(1);
        let a = s.read().unwrap();
        let b = s.read().unwrap();
        assert_eq!(*a + *b, 2);
        assert_eq!(s.gate.try_write(), Err(Held::Busy));
        drop((a, b));
        let mut w = s.write().unwrap();
        *w = 5;
        assert_eq!(s.gate.try_write(), Err(Held::Busy));
        drop(w);
        assert_eq!(*s.read().unwrap(), 5);
        assert_eq!(s.gate.0.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_lock_held_by_another_process_is_refused_not_waited_for() {
        let s = Shared::new(());
        // What a child sees when a parent's thread held the lock at fork.
        let parent = (this_process() + 1) << OWNER_SHIFT;
        s.gate.0.store(parent | WRITER, Ordering::Relaxed);
        assert_eq!(s.read().err(), Some(Held::ByParent));
        assert_eq!(s.write().err(), Some(Held::ByParent));
        // Only a parent's readers or waiting writer: taken over here.
        s.gate.0.store(parent | 2, Ordering::Relaxed);
        assert!(s.write().is_ok());
        assert_eq!(s.gate.0.load(Ordering::Relaxed), 0);
        s.gate.0.store(parent | WAITING, Ordering::Relaxed);
        assert!(s.read().is_ok());
        assert_eq!(s.gate.0.load(Ordering::Relaxed), 0);
        let e = Exclusive::new(());
        e.gate.0.store(parent | WRITER, Ordering::Relaxed);
        assert_eq!(e.lock().err(), Some(Held::ByParent));
    }

    #[test]
    fn a_waiting_writer_gets_its_turn() {
        let s = std::sync::Arc::new(Shared::new(0));
        let r = s.read().unwrap();
        let s2 = std::sync::Arc::clone(&s);
        let writer = std::thread::spawn(move || *s2.write().unwrap() += 1);
        while s.gate.0.load(Ordering::Acquire) & WAITING == 0 {
            std::thread::yield_now();
        }
        // New readers wait for the writer.
        assert_eq!(s.gate.try_write(), Err(Held::Busy));
        drop(r);
        writer.join().unwrap();
        assert_eq!(*s.read().unwrap(), 1);
        assert_eq!(s.gate.0.load(Ordering::Relaxed), 0);
    }
}
