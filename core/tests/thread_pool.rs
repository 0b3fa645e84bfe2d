//! The size of strongroom's own worker pool: `set_threads`, the
//! `STRONGROOM_THREADS` environment variable and `thread_count`, observed
//! from inside the pool (rayon's thread count there) and, on Linux, from
//! the process's thread list (old pools' threads exit after a resize).
//!
//! The pool is process-wide, so each test runs the library in a child
//! process of its own (this test binary, re-run with one ignored test
//! selected and the environment it needs), where nothing else changes the
//! size meanwhile.

use rayon::prelude::*;
use std::process::Command;
use std::time::{Duration, Instant};
use strongroom::field::{ColumnSpec, FieldCipher, PurposeKeys, Value, ValueType};
use strongroom::{Error, MAX_THREADS, SecretKey, in_pool, set_threads, thread_count};

/// Runs the ignored test `name` of this binary in a child process with the
/// environment `env` and fails if it fails.
fn run_child(name: &str, env: &[(&str, Option<&str>)]) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args(["--ignored", "--exact", "--test-threads=1", name]);
    cmd.env_remove("RAYON_NUM_THREADS")
        .env_remove("STRONGROOM_THREADS");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("running the child test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "child {name} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The number of threads the pool that work runs on has, seen from inside.
fn pool_size() -> usize {
    in_pool(rayon::current_num_threads)
}

/// Threads of this process named like the pool's workers (Linux only).
#[cfg(target_os = "linux")]
fn worker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("strongroom-"))
        .count()
}

/// Waits until exactly `want` worker threads exist (old pools' threads
/// exit asynchronously).
#[cfg(target_os = "linux")]
fn wait_for_workers(want: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while worker_threads() != want {
        assert!(
            Instant::now() < deadline,
            "{} worker threads, expected {want}",
            worker_threads()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn cipher() -> FieldCipher {
    let keys = PurposeKeys {
        field: SecretKey::from_array([7; 32]),
        deterministic: SecretKey::from_array([8; 32]),
        blind_index: SecretKey::from_array([9; 32]),
    };
    FieldCipher::with_keys("t", "c", ColumnSpec::new(ValueType::Text), 1, vec![(1, keys)]).unwrap()
}

/// A batch big enough to go parallel round-trips, whatever the pool size.
fn batch_round_trip() {
    let c = cipher();
    let values: Vec<Option<Value>> = (0..5000).map(|i| Some(Value::Text(format!("v{i}")))).collect();
    let tokens = c.encrypt_batch(&values, None).unwrap();
    let back = c.decrypt_batch(&tokens, None).unwrap();
    for (v, b) in values.iter().zip(back) {
        assert_eq!(v.as_ref(), b.unwrap().as_ref());
    }
}

#[test]
fn set_threads_sizes_the_pool_for_later_work() {
    run_child("child_set_threads", &[]);
}

#[test]
#[ignore = "run in a child process by set_threads_sizes_the_pool_for_later_work"]
fn child_set_threads() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(thread_count(), cpus, "the default is one thread per CPU");
    set_threads(3).unwrap();
    assert_eq!(thread_count(), 3);
    assert_eq!(pool_size(), 3);
    batch_round_trip();
    #[cfg(target_os = "linux")]
    wait_for_workers(3);

    // One thread: the work still runs (sequentially), on a worker.
    set_threads(1).unwrap();
    assert_eq!((thread_count(), pool_size()), (1, 1));
    let name = in_pool(|| std::thread::current().name().map(String::from));
    assert!(name.unwrap_or_default().starts_with("strongroom-"));
    assert_eq!(
        in_pool(|| (0..10_000u64).into_par_iter().sum::<u64>()),
        10_000 * 9_999 / 2
    );
    batch_round_trip();
    #[cfg(target_os = "linux")]
    wait_for_workers(1);

    // Refused: too many; nothing changes.
    let err = set_threads(MAX_THREADS + 1).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert_eq!((thread_count(), pool_size()), (1, 1));

    // Growing again, and back to the default.
    set_threads(4).unwrap();
    assert_eq!(pool_size(), 4);
    set_threads(0).unwrap();
    assert_eq!((thread_count(), pool_size()), (cpus, cpus));
    batch_round_trip();
    #[cfg(target_os = "linux")]
    wait_for_workers(cpus);
}

#[test]
fn the_environment_sizes_the_pool_until_set_threads() {
    run_child("child_env_threads", &[("STRONGROOM_THREADS", Some("5"))]);
    // STRONGROOM_THREADS comes before RAYON_NUM_THREADS.
    run_child(
        "child_env_threads",
        &[
            ("STRONGROOM_THREADS", Some(" 5\n")),
            ("RAYON_NUM_THREADS", Some("7")),
        ],
    );
}

#[test]
#[ignore = "run in a child process by the_environment_sizes_the_pool_until_set_threads"]
fn child_env_threads() {
    assert_eq!((thread_count(), pool_size()), (5, 5));
    set_threads(3).unwrap();
    assert_eq!((thread_count(), pool_size()), (3, 3));
    set_threads(0).unwrap();
    assert_eq!((thread_count(), pool_size()), (5, 5));
}

#[test]
fn invalid_environment_values_are_ignored() {
    for bad in ["0", "-1", "many", "1025", ""] {
        run_child("child_env_ignored", &[("STRONGROOM_THREADS", Some(bad))]);
    }
    run_child(
        "child_env_rayon",
        &[
            ("STRONGROOM_THREADS", Some("x")),
            ("RAYON_NUM_THREADS", Some("7")),
        ],
    );
}

#[test]
#[ignore = "run in a child process by invalid_environment_values_are_ignored"]
fn child_env_ignored() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!((thread_count(), pool_size()), (cpus, cpus));
}

#[test]
#[ignore = "run in a child process by invalid_environment_values_are_ignored"]
fn child_env_rayon() {
    assert_eq!((thread_count(), pool_size()), (7, 7));
}
