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
use strongroom::passphrase::{KdfParams, SALT_LEN};

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
