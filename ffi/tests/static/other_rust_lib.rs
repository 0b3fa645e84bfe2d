//! A second Rust static library for the C API's static-link test:
//! scripts/test-c.sh builds it with rustc and links it into one program
//! with libstrongroom.a (it sits in a subfolder so that cargo does not take
//! it for an integration test of the ffi crate). It uses what every Rust
//! static library carries a copy of: the allocator, threads, formatting,
//! and panics caught at its own boundary (with its own, silent, panic
//! hook).

use std::collections::HashMap;
use std::sync::Once;

/// The sum 0 + 1 + ... + (n - 1), computed on a thread of its own; 0 makes
/// the computation panic inside this library, which then returns
/// `u64::MAX`.
#[unsafe(no_mangle)]
pub extern "C" fn other_rust_sum(n: u32) -> u64 {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let sum = std::thread::spawn(move || (0..u64::from(n)).sum::<u64>())
        .join()
        .unwrap_or(0);
    let mut by_name = HashMap::new();
    by_name.insert(format!("sum-{n}"), sum);
    std::panic::catch_unwind(|| {
        assert!(n != 0, "nothing to add");
        by_name[&format!("sum-{n}")]
    })
    .unwrap_or(u64::MAX)
}
