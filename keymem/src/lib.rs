//! Memory for key material: kept out of swap and out of core dumps where
//! the operating system allows, and wiped when released.
//!
//! strongroom's core forbids `unsafe` code; the little that talking to the
//! memory manager needs lives here, behind two safe types:
//! [`LockedBox`] (one value) and [`LockedBytes`] (a byte string of any
//! length, such as a passphrase).
//!
//! **Pooled pages.** Keys are small (32 bytes) and a program may hold
//! thousands of them, while the amount of memory a process may lock is
//! limited (`RLIMIT_MEMLOCK`, often 64 KiB to 8 MiB). So memory is taken
//! from the OS a page at a time and cut into slots of one size class (16,
//! 32, 64 ... half a page bytes): 128 keys of 32 bytes share one 4 KiB
//! page, and one page is locked for all of them. Larger values get pages
//! of their own.
//!
//! **What each page gets**, best effort: an anonymous private mapping,
//! `mlock` (kept in RAM, never written to swap) on every unix, and
//! `madvise(MADV_DONTDUMP)` (left out of core dumps) on Linux and Android.
//! A failure (for example `RLIMIT_MEMLOCK` reached without
//! `CAP_IPC_LOCK`) never fails the caller: the page is used unlocked and
//! the failure is counted; [`status`] reports it. On other systems the
//! memory is ordinary heap memory, still wiped on release.
//!
//! **Wiping.** A slot is overwritten with zeros (volatile writes, through
//! `zeroize`) when its value is dropped, before it returns to the pool; a
//! page is given back to the OS only when all its slots are free (one free
//! page per size class is kept, so that a hot path creating and dropping a
//! key does not call the OS each time).
//!
//! **Fork.** A forked child gets a pool of its own at its next allocation,
//! and never takes the parent's pool lock (which a parent thread may have
//! held at the moment of the fork): values inherited from the parent are
//! wiped when dropped in the child, and their slots left alone. Memory
//! locks are not inherited across `fork`; the dump exclusion is.

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use zeroize::Zeroize;

/// The smallest slot, in bytes.
const MIN_SLOT: usize = 16;

/// What the pool holds now and what went wrong while it got it: the answer
/// to "are my keys locked in RAM and kept out of core dumps?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Status {
    /// Pages currently held for key material.
    pub pages: usize,
    /// Of those, pages locked in RAM (`mlock`).
    pub locked_pages: usize,
    /// Of those, pages excluded from core dumps (`MADV_DONTDUMP`).
    pub dump_excluded_pages: usize,
    /// Pages whose locking failed since the pool started.
    pub lock_failures: u64,
    /// The OS error number of the last failed lock (`EPERM`, `ENOMEM`
    /// when `RLIMIT_MEMLOCK` is reached, `EAGAIN`), if one failed.
    pub last_lock_error: Option<i32>,
    /// Pages whose dump exclusion failed since the pool started.
    pub dump_exclusion_failures: u64,
}

impl Status {
    /// Every page holding key material now is locked in RAM (true when no
    /// page is held: nothing is unlocked).
    pub fn all_locked(&self) -> bool {
        self.locked_pages == self.pages
    }

    /// Every page holding key material now is excluded from core dumps.
    pub fn all_dump_excluded(&self) -> bool {
        self.dump_excluded_pages == self.pages
    }
}

/// Whether this build can lock memory at all (every unix).
pub const LOCKING_SUPPORTED: bool = cfg!(unix);

/// Whether this build can exclude memory from core dumps (Linux and
/// Android: `MADV_DONTDUMP`).
pub const DUMP_EXCLUSION_SUPPORTED: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The pool's state now. Call [`check`] instead to make sure a page for
/// keys exists first.
pub fn status() -> Status {
    current().lock().status()
}

/// Makes sure the pool holds a page for 32-byte keys (allocating and
/// releasing one key; the page is kept for the next), then reports
/// [`status`]: what a program calls at start-up to tell its user whether
/// key memory is locked.
pub fn check() -> Status {
    drop(LockedBox::new([0u8; 32]));
    status()
}

/// One value of type `T` in pooled key memory. Dropping it runs `T`'s own
/// drop, then overwrites its bytes with zeros and returns the slot.
///
/// `Debug` is redacted; there is no `Clone`: a copy of a key is made on
/// purpose, with a new `LockedBox`.
pub struct LockedBox<T> {
    ptr: NonNull<T>,
    home: &'static Shared,
    _owns: PhantomData<T>,
}

// SAFETY: a `LockedBox<T>` owns its `T` exclusively, like `Box<T>`; the
// pool it returns the slot to is behind a mutex.
unsafe impl<T: Send> Send for LockedBox<T> {}
// SAFETY: `&LockedBox<T>` hands out only `&T`.
unsafe impl<T: Sync> Sync for LockedBox<T> {}

impl<T> LockedBox<T> {
    /// Moves `value` into key memory. (The value's former place, such as
    /// the caller's stack frame, is not wiped by this: build secrets in
    /// place, through [`DerefMut`], where that matters.)
    pub fn new(value: T) -> Self {
        let home = current();
        let ptr = home.lock().alloc(Layout::new::<T>()).cast::<T>();
        // SAFETY: `ptr` is a fresh slot, aligned and large enough for `T`
        // (the size class covers size and alignment), owned by no one else.
        unsafe { ptr.as_ptr().write(value) };
        Self {
            ptr,
            home,
            _owns: PhantomData,
        }
    }

    /// The address of the value, for tests that look the page up in the
    /// OS's view of the process (`/proc/self/smaps`).
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

impl<T> Deref for LockedBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `ptr` holds a valid `T` for the box's whole life.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for LockedBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for LockedBox<T> {
    fn drop(&mut self) {
        let raw = self.ptr.as_ptr();
        // SAFETY: the `T` is valid and dropped exactly once, here; the
        // bytes are then overwritten while the slot is still ours, as
        // `MaybeUninit<T>` (all zeros is a valid `MaybeUninit`, and the
        // value is never read again).
        unsafe {
            std::ptr::drop_in_place(raw);
            zeroize::zeroize_flat_type(raw.cast::<MaybeUninit<T>>());
        }
        release(self.home, self.ptr.cast(), Layout::new::<T>());
    }
}

impl<T: Zeroize> Zeroize for LockedBox<T> {
    fn zeroize(&mut self) {
        (**self).zeroize();
    }
}

impl<T> fmt::Debug for LockedBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockedBox([REDACTED])")
    }
}

/// A byte string of fixed length in pooled key memory (a passphrase, a
/// secret being checked), wiped when dropped. The empty string holds no
/// memory.
pub struct LockedBytes {
    ptr: NonNull<u8>,
    len: usize,
    home: Option<&'static Shared>,
}

// SAFETY: `LockedBytes` owns its bytes exclusively, like `Box<[u8]>`.
unsafe impl Send for LockedBytes {}
// SAFETY: `&LockedBytes` hands out only `&[u8]`.
unsafe impl Sync for LockedBytes {}

impl LockedBytes {
    /// `len` zero bytes, to be filled in place.
    pub fn zeroed(len: usize) -> Self {
        if len == 0 {
            return Self {
                ptr: NonNull::dangling(),
                len: 0,
                home: None,
            };
        }
        let home = current();
        let layout = Layout::array::<u8>(len).expect("a length that fits in memory");
        let ptr = home.lock().alloc(layout);
        Self {
            ptr,
            len,
            home: Some(home),
        }
    }

    /// A copy of `bytes` (the caller wipes its own copy).
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut out = Self::zeroed(bytes.len());
        out.copy_from_slice(bytes);
        out
    }

    /// The address of the first byte (see [`LockedBox::addr`]).
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

impl Deref for LockedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` initialized bytes (slots start
        // zeroed), or dangling with `len == 0`, which a slice allows.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for LockedBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for LockedBytes {
    fn drop(&mut self) {
        self.zeroize();
        if let Some(home) = self.home {
            let layout = Layout::array::<u8>(self.len).expect("the layout it was made with");
            release(home, self.ptr, layout);
        }
    }
}

impl Zeroize for LockedBytes {
    fn zeroize(&mut self) {
        (**self).zeroize();
    }
}

impl fmt::Debug for LockedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockedBytes([REDACTED])")
    }
}

/// Returns a wiped slot to the pool it came from, unless the process has
/// forked since (then the slot is the parent's, and the parent's lock may
/// be held by a thread that does not exist here: it is left alone).
fn release(home: &'static Shared, ptr: NonNull<u8>, layout: Layout) {
    if !home.forked() {
        home.lock().free(ptr.as_ptr() as usize, layout);
    }
}

/// A pool and the fork detector of the process that made it.
struct Shared {
    pool: Mutex<Pool>,
    fork: forkguard::Guard,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the process forked after this pool was made.
    fn forked(&self) -> bool {
        self.fork.clone().detected_fork()
    }
}

/// The pool of this process: a leaked `Shared`, replaced in a forked child.
static CURRENT: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());

fn current() -> &'static Shared {
    let seen = CURRENT.load(Ordering::Acquire);
    if !seen.is_null() {
        // SAFETY: every non-null value of `CURRENT` is a leaked box, never
        // freed, so it lives for the rest of the process.
        let shared = unsafe { &*seen };
        if !shared.forked() {
            return shared;
        }
    }
    let fresh = Box::into_raw(Box::new(Shared {
        pool: Mutex::new(Pool::new()),
        fork: forkguard::new(),
    }));
    match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `fresh` was just leaked above and is now published.
        Ok(_) => unsafe { &*fresh },
        Err(winner) => {
            // SAFETY: `fresh` was never published; this is its only owner.
            drop(unsafe { Box::from_raw(fresh) });
            // SAFETY: `winner` is a published, never freed `Shared`.
            unsafe { &*winner }
        }
    }
}

/// Pages (or page runs) taken from the OS, by base address.
struct Region {
    /// Length in bytes (a multiple of the page size).
    len: usize,
    /// The slot size, or `None` for a run holding one large value.
    class: Option<usize>,
    /// Slots in use.
    used: usize,
    locked: bool,
    dump_excluded: bool,
    /// Mapped with `mmap` (else from the heap, with this layout's size).
    mapped: bool,
}

/// The process's key pages and their free slots. Ordered maps rather than
/// hash maps: their nodes are reached through pointers to their start, so
/// a leak checker (valgrind) sees this process-wide pool as reachable
/// instead of "possibly lost" through a hash table's interior pointer.
struct Pool {
    page: usize,
    regions: BTreeMap<usize, Region>,
    /// Free slot addresses, by slot size.
    free: BTreeMap<usize, Vec<usize>>,
    lock_failures: u64,
    last_lock_error: Option<i32>,
    dump_exclusion_failures: u64,
}

impl Pool {
    fn new() -> Self {
        Self {
            page: page_size(),
            regions: BTreeMap::new(),
            free: BTreeMap::new(),
            lock_failures: 0,
            last_lock_error: None,
            dump_exclusion_failures: 0,
        }
    }

    fn status(&self) -> Status {
        let mut s = Status {
            lock_failures: self.lock_failures,
            last_lock_error: self.last_lock_error,
            dump_exclusion_failures: self.dump_exclusion_failures,
            ..Status::default()
        };
        for r in self.regions.values() {
            let pages = r.len / self.page;
            s.pages += pages;
            s.locked_pages += if r.locked { pages } else { 0 };
            s.dump_excluded_pages += if r.dump_excluded { pages } else { 0 };
        }
        s
    }

    /// The slot size serving `layout`, or `None` for a region of its own.
    fn class(&self, layout: Layout) -> Option<usize> {
        let need = layout
            .size()
            .max(layout.align())
            .max(MIN_SLOT)
            .next_power_of_two();
        (need <= self.page / 2).then_some(need)
    }

    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        let addr = match self.class(layout) {
            Some(class) => {
                if self.free.get(&class).is_none_or(Vec::is_empty) {
                    let base = self.new_region(self.page, Some(class));
                    let slots = self.free.entry(class).or_default();
                    slots.extend((0..self.page / class).rev().map(|i| base + i * class));
                }
                let addr = self.free.get_mut(&class).and_then(Vec::pop).expect("a free slot");
                let base = addr & !(self.page - 1);
                self.regions.get_mut(&base).expect("the slot's page").used += 1;
                addr
            }
            None => {
                assert!(layout.align() <= self.page, "alignment above a page");
                let len = layout.size().div_ceil(self.page) * self.page;
                self.new_region(len, None)
            }
        };
        NonNull::new(addr as *mut u8).expect("a non-null address")
    }

    /// Takes back a slot already wiped by its owner.
    fn free(&mut self, addr: usize, layout: Layout) {
        match self.class(layout) {
            Some(class) => {
                let base = addr & !(self.page - 1);
                let region = self.regions.get_mut(&base).expect("the slot's page");
                region.used -= 1;
                let empty = region.used == 0;
                let per_page = self.page / class;
                let slots = self.free.entry(class).or_default();
                slots.push(addr);
                // Keep one page's worth of free slots; give back an empty
                // page beyond that.
                if empty && slots.len() >= 2 * per_page {
                    slots.retain(|a| a & !(self.page - 1) != base);
                    self.drop_region(base);
                }
            }
            None => self.drop_region(addr),
        }
    }

    /// Takes `len` bytes (whole pages) from the OS, locks them and
    /// excludes them from dumps where it can, and records them.
    fn new_region(&mut self, len: usize, class: Option<usize>) -> usize {
        let (base, mapped) = match os::map(len) {
            Some(base) => (base, true),
            None => (heap_pages(len, self.page), false),
        };
        let locked = match os::lock(base, len) {
            Ok(()) => true,
            Err(errno) => {
                self.lock_failures += 1;
                self.last_lock_error = errno;
                false
            }
        };
        let dump_excluded = match os::exclude_from_dumps(base, len) {
            Ok(done) => done,
            Err(()) => {
                self.dump_exclusion_failures += 1;
                false
            }
        };
        self.regions.insert(
            base,
            Region {
                len,
                class,
                used: usize::from(class.is_none()),
                locked,
                dump_excluded,
                mapped,
            },
        );
        base
    }

    /// Returns a region (all of whose slots are wiped) to the OS.
    fn drop_region(&mut self, base: usize) {
        let Some(region) = self.regions.remove(&base) else {
            return;
        };
        debug_assert!(region.class.is_none() || region.used == 0);
        if region.mapped {
            os::unmap(base, region.len);
        } else {
            let layout = Layout::from_size_align(region.len, self.page).expect("the layout it was made with");
            // SAFETY: the region came from `heap_pages` with this layout,
            // and no slot of it is in use any more.
            unsafe { std::alloc::dealloc(base as *mut u8, layout) };
        }
    }
}

/// Zeroed, page-aligned heap memory: where mapping is not available.
fn heap_pages(len: usize, page: usize) -> usize {
    let layout = Layout::from_size_align(len, page).expect("a page-aligned layout");
    // SAFETY: `layout` has a non-zero size (at least one page).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    ptr as usize
}

#[cfg(unix)]
fn page_size() -> usize {
    rustix::param::page_size()
}

#[cfg(not(unix))]
fn page_size() -> usize {
    4096
}

#[cfg(unix)]
mod os {
    use rustix::mm::{MapFlags, ProtFlags};
    use std::ffi::c_void;

    /// A fresh anonymous private mapping of `len` bytes, zero-filled.
    pub(super) fn map(len: usize) -> Option<usize> {
        // SAFETY: a new anonymous mapping at an address the kernel picks:
        // no existing memory is affected.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        };
        ptr.ok().map(|p| p as usize)
    }

    pub(super) fn unmap(base: usize, len: usize) {
        // SAFETY: `base..base + len` is a mapping this pool made and no
        // longer hands out (its slots are all free and wiped). Unmapping
        // also unlocks it.
        let _ = unsafe { rustix::mm::munmap(base as *mut c_void, len) };
    }

    /// Locks the pages in RAM; the OS error number on failure.
    pub(super) fn lock(base: usize, len: usize) -> Result<(), Option<i32>> {
        // SAFETY: `base..base + len` is memory this pool owns; locking
        // changes no contents.
        unsafe { rustix::mm::mlock(base as *mut c_void, len) }.map_err(|e| Some(e.raw_os_error()))
    }

    /// Excludes the pages from core dumps: `Ok(true)` done, `Ok(false)`
    /// not possible on this system, `Err` the call failed.
    pub(super) fn exclude_from_dumps(base: usize, len: usize) -> Result<bool, ()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // SAFETY: `base..base + len` is memory this pool owns (mapped
            // or heap pages, page-aligned); the advice changes no contents.
            unsafe { rustix::mm::madvise(base as *mut c_void, len, rustix::mm::Advice::LinuxDontDump) }
                .map(|()| true)
                .map_err(|_| ())
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = (base, len);
            Ok(false)
        }
    }
}

#[cfg(not(unix))]
mod os {
    pub(super) fn map(_len: usize) -> Option<usize> {
        None
    }

    pub(super) fn unmap(_base: usize, _len: usize) {}

    pub(super) fn lock(_base: usize, _len: usize) -> Result<(), Option<i32>> {
        Err(None)
    }

    pub(super) fn exclude_from_dumps(_base: usize, _len: usize) -> Result<bool, ()> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_live_in_slots_of_their_size_class_and_small_keys_share_a_page() {
        let keys: Vec<_> = (0u8..64).map(|i| LockedBox::new([i; 32])).collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(**k, [i as u8; 32]);
            assert_eq!(k.addr() % 32, 0);
        }
        let page = page_size();
        let mut pages: Vec<usize> = keys.iter().map(|k| k.addr() & !(page - 1)).collect();
        pages.sort();
        pages.dedup();
        // 64 keys of 32 bytes fit in one or two 4 KiB pages (other tests
        // share the pool), never one page each.
        assert!(pages.len() <= 2, "{} pages for 64 keys", pages.len());
    }

    #[test]
    fn bytes_of_any_length_round_trip() {
        for len in [0, 1, 15, 16, 17, 100, 2048, 2049, 5000, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let b = LockedBytes::from_slice(&data);
            assert_eq!(&*b, &data[..], "{len}");
        }
    }

    #[test]
    fn a_dropped_value_is_wiped_in_its_slot() {
        // 200 bytes: the 256-byte class, which no other test here uses, so
        // nobody reuses the slot between the drop and the look.
        let home = current();
        let k = LockedBox::new([0xA5u8; 200]);
        let addr = k.addr();
        drop(k);
        let pool = home.lock();
        let page = addr & !(pool.page - 1);
        assert!(pool.regions.contains_key(&page), "the page is kept for reuse");
        // SAFETY: the page is still mapped (checked above, under the pool
        // lock, which no allocation can pass meanwhile).
        let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, 200) };
        assert!(bytes.iter().all(|&b| b == 0), "the dropped key's bytes remain");
    }

    #[test]
    fn runs_drop_of_the_value() {
        use std::sync::Arc;
        let shared = Arc::new(());
        let boxed = LockedBox::new(Arc::clone(&shared));
        assert_eq!(Arc::strong_count(&shared), 2);
        drop(boxed);
        assert_eq!(Arc::strong_count(&shared), 1);
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", LockedBox::new([7u8; 32])),
            "LockedBox([REDACTED])"
        );
        assert_eq!(
            format!("{:?}", LockedBytes::from_slice(b"pw")),
            "LockedBytes([REDACTED])"
        );
    }

    #[test]
    fn an_empty_page_beyond_the_first_is_given_back() {
        let home = current();
        // A class no other test uses: 512 bytes, 8 per 4 KiB page.
        let many: Vec<_> = (0..40).map(|_| LockedBox::new([1u8; 300])).collect();
        let held = home.lock().status().pages;
        drop(many);
        let after = home.lock().status().pages;
        assert!(after < held, "{after} pages after dropping, {held} before");
    }
}
