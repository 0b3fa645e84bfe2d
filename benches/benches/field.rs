//! `field`: field-level encryption of 32-byte values.
//!
//! - `field-random/...`: random mode (XAES-256-GCM, fresh 24-byte nonce),
//!   single calls (`encrypt`, `decrypt`) and the batch API
//!   (`encrypt_batch`, `decrypt_batch`) over 16 384 values in rayon pools
//!   of one (`1t`) and two (`2t`) threads.
//! - `field-deterministic/...`: deterministic mode (AES-SIV), the same cases.
//! - `field-blind-index/...`: `index` of a 32-byte text value with the
//!   `none` and `trim-lowercase` normalisers, single and batched.
//! - `field-random-short-vs-engine/...`: random mode with the crate's
//!   short-message AES-256-GCM (`short`, what the library does) and with
//!   every message sent to the engine (`engine`), alternating in one run:
//!   single calls and batches on one thread. The evidence for keeping the
//!   short path (docs/DESIGN-NOTES.md).
//! - `field-random-batch-100k/...`: one `encrypt_batch` of 100 000 values,
//!   tokens sharing a nonce prefix per 1024 values (`shared`, the default)
//!   against every token with its own prefix (`unlinkable`,
//!   `ColumnSpec::unlinkable_batches`), alternating in one run, on one and
//!   two threads: the price of unlinkable batches (docs/FIELDS.md).
//! - `xaes-256-gcm/...`: the bare construction on 33 bytes (the plaintext
//!   of a 32-byte value), with a fixed nonce: the floor under random mode.
//!
//! Throughput is in values (elements) per second. Batch results are
//! dropped outside the timed part (`iter_with_large_drop`): freeing 16 384
//! tokens is the caller's cost, after it has stored them. Targets (issue):
//! random ≥ 2 M single calls/s on one core and ≥ 6 M values/s per core in
//! batches (1.7x with two cores), deterministic ≥ 1 M/s per core, blind
//! index ≥ 3 M/s per core.
//!
//! Run: `cargo bench -p strongroom-benches --bench field`.

use aes_gcm::{AeadInOut, KeyInit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::hint::black_box;
use std::time::Duration;
use strongroom::SecretKey;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, PurposeKeys, Value, ValueType};
use strongroom::hazmat::aead::Aes256Gcm;
use strongroom::hazmat::bench::{ShortGcm, set_engine_only};
use strongroom::hazmat::xaes::Xaes256Gcm;

/// Values per batch call.
const BATCH: usize = 16_384;

fn cipher(spec: ColumnSpec) -> FieldCipher {
    let keys = PurposeKeys {
        field: SecretKey::from_array([0x11; 32]),
        deterministic: SecretKey::from_array([0x22; 32]),
        blind_index: SecretKey::from_array([0x33; 32]),
    };
    FieldCipher::with_keys("users", "email", spec, 1, vec![(1, keys)]).expect("field cipher")
}

fn pools() -> Vec<(&'static str, ThreadPool)> {
    [("1t", 1), ("2t", 2)]
        .into_iter()
        .map(|(name, n)| {
            let pool = ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("build a rayon pool");
            (name, pool)
        })
        .collect()
}

fn value32() -> Value {
    Value::Bytes(vec![0x5a; 32])
}

fn text32() -> Value {
    Value::Text("alice.example.user@example.com.x".into())
}

fn modes(c: &mut Criterion) {
    let pools = pools();
    let batch: Vec<Option<Value>> = (0..BATCH).map(|_| Some(value32())).collect();
    for (name, spec) in [
        ("field-random", ColumnSpec::new(ValueType::Bytes)),
        (
            "field-deterministic",
            ColumnSpec::new(ValueType::Bytes).deterministic(),
        ),
    ] {
        let cipher = cipher(spec);
        let value = value32();
        let token = cipher
            .encrypt(Some(&value), None)
            .expect("encrypt")
            .expect("token");
        let tokens = cipher.encrypt_batch(&batch, None).expect("encrypt batch");

        let mut group = c.benchmark_group(name);
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        group.throughput(Throughput::Elements(1));
        group.bench_function("encrypt/single", |b| {
            b.iter(|| black_box(cipher.encrypt(Some(black_box(&value)), None).expect("encrypt")))
        });
        group.bench_function("decrypt/single", |b| {
            b.iter(|| {
                black_box(
                    cipher
                        .decrypt(black_box(token.as_bytes()), None)
                        .expect("decrypt"),
                )
            })
        });
        group.throughput(Throughput::Elements(BATCH as u64));
        for (threads, pool) in &pools {
            group.bench_function(format!("encrypt/batch/{threads}"), |b| {
                b.iter_with_large_drop(|| {
                    pool.install(|| black_box(cipher.encrypt_batch(black_box(&batch), None).expect("batch")))
                })
            });
            group.bench_function(format!("decrypt/batch/{threads}"), |b| {
                b.iter_with_large_drop(|| {
                    pool.install(|| black_box(cipher.decrypt_batch(black_box(&tokens), None).expect("batch")))
                })
            });
        }
        group.finish();
    }
}

/// Random mode through the short-message path and through the engine only,
/// each case measured for both right after each other.
fn short_vs_engine(c: &mut Criterion) {
    let pool = ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("build a rayon pool");
    let batch: Vec<Option<Value>> = (0..BATCH).map(|_| Some(value32())).collect();
    let cipher = cipher(ColumnSpec::new(ValueType::Bytes));
    let value = value32();
    let token = cipher
        .encrypt(Some(&value), None)
        .expect("encrypt")
        .expect("token");
    let tokens = cipher.encrypt_batch(&batch, None).expect("encrypt batch");
    let mut group = c.benchmark_group("field-random-short-vs-engine");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for case in [
        "encrypt/single",
        "decrypt/single",
        "encrypt/batch/1t",
        "decrypt/batch/1t",
    ] {
        let elements = if case.contains("batch") { BATCH as u64 } else { 1 };
        group.throughput(Throughput::Elements(elements));
        for path in ["short", "engine"] {
            set_engine_only(path == "engine");
            group.bench_function(format!("{case}/{path}"), |b| match case {
                "encrypt/single" => {
                    b.iter(|| black_box(cipher.encrypt(Some(black_box(&value)), None).expect("encrypt")))
                }
                "decrypt/single" => b.iter(|| {
                    black_box(
                        cipher
                            .decrypt(black_box(token.as_bytes()), None)
                            .expect("decrypt"),
                    )
                }),
                "encrypt/batch/1t" => b.iter_with_large_drop(|| {
                    pool.install(|| black_box(cipher.encrypt_batch(black_box(&batch), None).expect("batch")))
                }),
                _ => b.iter_with_large_drop(|| {
                    pool.install(|| black_box(cipher.decrypt_batch(black_box(&tokens), None).expect("batch")))
                }),
            });
        }
        set_engine_only(false);
    }
    group.finish();
}

fn blind_index(c: &mut Criterion) {
    let pools = pools();
    let texts: Vec<Option<Value>> = (0..BATCH).map(|_| Some(text32())).collect();
    let value = text32();
    let mut group = c.benchmark_group("field-blind-index");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for norm in [Normalizer::None, Normalizer::TrimLowercase] {
        let cipher = cipher(ColumnSpec::new(ValueType::Text).with_blind_index(16, norm));
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("index/{}/single", norm.name()), |b| {
            b.iter(|| black_box(cipher.index(Some(black_box(&value))).expect("index")))
        });
        group.throughput(Throughput::Elements(BATCH as u64));
        for (threads, pool) in &pools {
            group.bench_function(format!("index/{}/batch/{threads}", norm.name()), |b| {
                b.iter_with_large_drop(|| {
                    pool.install(|| cipher.index_batch(black_box(&texts)).expect("index"))
                })
            });
        }
    }
    group.finish();
}

fn xaes(c: &mut Criterion) {
    let x = Xaes256Gcm::new(&[0x42; 32]);
    let nonce = [7u8; 24];
    let aad = [1u8; 25];
    let mut buf = [0x5a_u8; 33];
    let mut group = c.benchmark_group("xaes-256-gcm");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    group.bench_function("seal/33B", |b| {
        b.iter(|| black_box(x.seal_in_place(black_box(&nonce), &aad, black_box(&mut buf))))
    });
    let derived = x.derive(&[7u8; 12]);
    group.bench_function("seal/33B/derived-key-reused", |b| {
        b.iter(|| black_box(derived.seal_in_place(black_box(&[9u8; 12]), &aad, black_box(&mut buf))))
    });
    group.finish();

    // The AES-256-GCM step alone, key set up once: the short-message
    // composition against the compiled-in engine.
    let mut group = c.benchmark_group("aes-256-gcm-33B");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    let short = ShortGcm::new(&[0x42; 32]);
    let engine = Aes256Gcm::new(&[0x42; 32]);
    group.bench_function("seal/short", |b| {
        b.iter(|| black_box(short.seal_in_place(black_box(&[9u8; 12]), &aad, black_box(&mut buf))))
    });
    group.bench_function(format!("seal/{}", Aes256Gcm::engine_name()), |b| {
        b.iter(|| black_box(engine.seal_in_place(black_box(&[9u8; 12]), &aad, black_box(&mut buf))))
    });
    let rustcrypto = aes_gcm::Aes256Gcm::new(&[0x42; 32].into());
    group.bench_function("seal/rustcrypto-aes-gcm", |b| {
        b.iter(|| {
            black_box(
                rustcrypto
                    .encrypt_inout_detached(&[9u8; 12].into(), &aad, black_box(&mut buf[..]).into())
                    .expect("seal"),
            )
        })
    });
    // A new key for every message, as XAES-256-GCM single calls need:
    // key setup plus sealing.
    let key = [0x42u8; 32];
    group.bench_function("new-key-seal/short", |b| {
        b.iter(|| black_box(ShortGcm::new(black_box(&key)).seal_in_place(&[9u8; 12], &aad, &mut buf)))
    });
    group.bench_function(format!("new-key-seal/{}", Aes256Gcm::engine_name()), |b| {
        b.iter(|| black_box(Aes256Gcm::new(black_box(&key)).seal_in_place(&[9u8; 12], &aad, &mut buf)))
    });
    group.bench_function("new-key-seal/rustcrypto-aes-gcm", |b| {
        b.iter(|| {
            black_box(
                aes_gcm::Aes256Gcm::new(black_box(&key).into())
                    .encrypt_inout_detached(&[9u8; 12].into(), &aad, (&mut buf[..]).into())
                    .expect("seal"),
            )
        })
    });
    group.finish();
}

/// Shared nonce prefixes against one prefix per token, on 100 000 values.
fn linkability(c: &mut Criterion) {
    const N: usize = 100_000;
    let pools = pools();
    let batch: Vec<Option<Value>> = (0..N).map(|_| Some(value32())).collect();
    let shared = cipher(ColumnSpec::new(ValueType::Bytes));
    let unlinkable = cipher(ColumnSpec::new(ValueType::Bytes).unlinkable_batches());
    let mut group = c.benchmark_group("field-random-batch-100k");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(N as u64));
    for (threads, pool) in &pools {
        for (name, cipher) in [("shared", &shared), ("unlinkable", &unlinkable)] {
            group.bench_function(format!("{name}/{threads}"), |b| {
                b.iter_with_large_drop(|| {
                    pool.install(|| black_box(cipher.encrypt_batch(black_box(&batch), None).expect("batch")))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, modes, short_vs_engine, blind_index, linkability, xaes);
criterion_main!(benches);
