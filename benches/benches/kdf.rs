//! `kdf`: the cost of unlocking with a passphrase at the default Argon2id
//! parameters ([`KdfParams::DEFAULT`]: 64 MiB, t=3, p=4).
//!
//! - `argon2id-default/derive`: [`KdfParams::derive`] alone, in the global
//!   rayon pool (all cores; the `argon2` crate's `parallel` feature fills
//!   the four lanes with rayon) and inside a one-thread pool.
//! - `keyring-open/default-params`: [`Keyring::open`] of a keyring created
//!   with the default parameters: read, parse, one Argon2id run, unwrap the
//!   master key, decrypt the body.
//!
//! - `argon2id-budget/...`: the dearest runs the default
//!   [`KdfBudget`] lets a hostile header demand of one call: one run at
//!   1 GiB, t=3, p=4 (the budget allows two), against the default
//!   parameters measured in the same run.
//!
//! The parameters used are printed before the measurements. The same
//! derivation by the reference C implementation (Debian's `argon2` command)
//! is timed by the keys group of `scripts/bench.sh`.
//!
//! Run: `cargo bench -p strongroom-benches --bench kdf`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use strongroom::Passphrase;
use strongroom::keyring::{Keyring, Unlock};
use strongroom::passphrase::{KdfBudget, KdfParams, SALT_LEN};

const PASSPHRASE: &str = "correct horse battery staple";

fn kdf(c: &mut Criterion) {
    let params = KdfParams::DEFAULT;
    println!(
        "KdfParams::DEFAULT = Argon2id v0x13, memory {} KiB ({} MiB), t = {}, p = {}, 32-byte output; \
         rayon global pool: {} threads",
        params.memory_kib,
        params.memory_kib / 1024,
        params.iterations,
        params.parallelism,
        rayon::current_num_threads()
    );
    let passphrase = Passphrase::from(PASSPHRASE);
    let salt = [0x5a_u8; SALT_LEN];

    let mut group = c.benchmark_group("argon2id-default");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("derive/all-cores", |b| {
        b.iter(|| black_box(params.derive(&passphrase, &salt).expect("derive")))
    });
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("build a rayon pool");
    group.bench_function("derive/1t", |b| {
        b.iter(|| one.install(|| black_box(params.derive(&passphrase, &salt).expect("derive"))))
    });
    group.finish();

    // The most the default budget lets a header cost: runs at its memory
    // per run with t=3, two of which fill its total.
    let budget = KdfBudget::DEFAULT;
    let dearest = KdfParams {
        memory_kib: budget.max_memory_kib,
        iterations: 3,
        parallelism: 4,
    };
    assert!(budget.allows(&dearest) && dearest.work() * 2 == budget.max_work());
    let mut group = c.benchmark_group("argon2id-budget");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("default-params/all-cores", |b| {
        b.iter(|| black_box(params.derive(&passphrase, &salt).expect("derive")))
    });
    group.bench_function("1GiB-t3-p4/all-cores", |b| {
        b.iter(|| black_box(dearest.derive(&passphrase, &salt).expect("derive")))
    });
    group.finish();

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("default.keyring");
    drop(Keyring::create(&path, &passphrase, params).expect("create keyring"));
    let unlock = Unlock::Passphrase(Passphrase::from(PASSPHRASE));
    let mut group = c.benchmark_group("keyring-open");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("default-params/all-cores", |b| {
        b.iter(|| black_box(Keyring::open(&path, &unlock).expect("open")))
    });
    group.finish();
}

criterion_group!(benches, kdf);
criterion_main!(benches);
