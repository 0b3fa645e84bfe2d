//! The library's worker threads: how many the pool that whole-file calls
//! and batches run on has (the core's `set_threads` / `thread_count`).

use crate::status::{boundary, strongroom_status};
use crate::util::{need_out, put};

/// Sets the number of worker threads of the library's pool, for calls that
/// start afterwards; 0 returns to the default: the environment variable
/// `STRONGROOM_THREADS` (read once, when the size is first needed; a whole
/// number from 1 to 1024, anything else ignored), else
/// `RAYON_NUM_THREADS`, else one thread per CPU.
///
/// With 1, every call works on a single worker thread, one piece after
/// another (the calling thread waits for it): no parallel work. Calls
/// already running finish on the pool they started on, whose threads then
/// exit. May be called at any time, from any thread. More than 1024 gives
/// `STRONGROOM_INVALID_ARGUMENT` and changes nothing.
///
/// ```c
/// strongroom_set_threads(2);   // at most two cores for strongroom
/// ```
#[unsafe(no_mangle)]
pub extern "C" fn strongroom_set_threads(threads: usize) -> strongroom_status {
    boundary(|| Ok(strongroom::set_threads(threads)?))
}

/// Writes to `*count` the number of worker threads the library's pool has,
/// or will have when it next starts (see `strongroom_set_threads`). Starts
/// nothing.
///
/// # Safety
/// `count` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strongroom_threads(count: *mut usize) -> strongroom_status {
    boundary(|| {
        need_out(count, "count")?;
        // SAFETY: checked non-NULL above.
        unsafe { put(count, strongroom::thread_count()) };
        Ok(())
    })
}
