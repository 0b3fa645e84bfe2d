//! `stream_encrypt`: in-memory throughput of strongroom's streaming
//! encryption and decryption, next to raw AES-256-GCM measured in the same
//! run.
//!
//! Every case processes one message of `$STRONGROOM_BENCH_MIB` MiB (default
//! 1 GiB) per iteration, held in memory, written in 4 MiB blocks (the block
//! size of `encrypt_file`) and read back in 4 MiB blocks. Each strongroom
//! case runs inside a rayon pool of one thread (`1t`) and of two threads
//! (`2t`), since the chunked types seal and open batches of chunks with
//! rayon. Groups are named `encrypt-<size>-<engine>` and
//! `decrypt-<size>-<engine>`, the engine being the one strongroom was built
//! with (`ring` by default; `aws-lc-rs` or `rustcrypto` with
//! `--no-default-features --features aws-lc` or `pure-rust`).
//!
//! Peers (same run, same process):
//! - `raw-ring/...`, `raw-aws-lc/...`, `raw-rustcrypto/...`: each engine's
//!   own API (ring and aws-lc-rs `LessSafeKey`, RustCrypto `aes-gcm`) over
//!   16 KiB (and 64 KiB) chunks of the same buffer, in place, tags kept
//!   aside; no copies at all. The decrypt peers and the `2t`/`hot` cases use
//!   the raw form of the engine strongroom was built with.
//!   `hot` variants seal or open one cache-resident 16 KiB chunk over and
//!   over: the engine's ceiling without any memory traffic.
//! - `engine-raw/...`: the engine strongroom was built with
//!   (`strongroom::hazmat::aead::Aes256Gcm`), in place over 16 KiB chunks.
//!
//! The raw peers reuse nonces across iterations: they time the cipher and
//! protect nothing.
//!
//! Run: `cargo bench -p strongroom-benches --bench stream_encrypt` (criterion
//! prints medians); `scripts/bench.sh` measures the same against the peers.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use strongroom::hazmat::aead::{Aes256Gcm, TAG_LEN};
use strongroom::hazmat::chunked::{CHUNK_SIZE, ciphertext_len};
use strongroom_benches::stream::{self as s, KEY, RawGcm};
use strongroom_benches::{IO_BLOCK, message_size, patterned, size_label};

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, bytes: usize) {
    group
        .throughput(Throughput::Bytes(bytes as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1500))
        .measurement_time(Duration::from_secs(4));
}

fn encrypt(c: &mut Criterion) {
    let size = message_size();
    let engine = Aes256Gcm::engine_name();
    let pools = s::pools();
    let plaintext = patterned(size);
    let chunks = size.div_ceil(CHUNK_SIZE);
    let dir = tempfile::tempdir().expect("temp dir");
    let ring = s::bench_keyring(dir.path());

    let mut group = c.benchmark_group(format!("encrypt-{}-{engine}", size_label(size)));
    configure(&mut group, size);

    // Peers: raw AES-256-GCM, in place, over the same amount of data: each
    // raw engine in 16 KiB and 64 KiB chunks on one core, then the raw form
    // of the compiled-in engine on two cores and on one hot chunk.
    let mut work = plaintext.clone();
    let mut tags = vec![[0u8; TAG_LEN]; chunks];
    let raw: [(&str, Box<dyn RawGcm>); 3] = [
        ("ring", Box::new(s::ring_key())),
        ("aws-lc", Box::new(s::aws_key())),
        ("rustcrypto", Box::new(s::rustcrypto_key())),
    ];
    for (name, k) in &raw {
        for (label, chunk) in [("16k", 16 * 1024), ("64k", 64 * 1024)] {
            group.bench_function(format!("raw-{name}/seal-in-place-{label}/1t"), |b| {
                b.iter(|| s::raw_seal_chunks(&**k, &mut work, &mut tags, chunk))
            });
        }
    }
    let key = s::compiled_engine_key();
    let key = &*key;
    let (_, two) = &pools[1];
    group.bench_function(format!("raw-{engine}/seal-in-place-16k/2t"), |b| {
        b.iter(|| two.install(|| s::raw_seal_par(key, &mut work, &mut tags)))
    });
    let mut hot = vec![0x17u8; CHUNK_SIZE];
    group.bench_function(format!("raw-{engine}/seal-hot-16k/1t"), |b| {
        b.iter(|| s::raw_seal_hot(key, &mut hot, chunks))
    });
    let engine_key = Aes256Gcm::new(&KEY);
    group.bench_function("engine-raw/seal-in-place-16k/1t", |b| {
        b.iter(|| s::engine_seal(&engine_key, &mut work))
    });
    drop(work);
    drop(tags);

    // strongroom: ChunkedWriter into io::sink and into a preallocated Vec,
    // and the file Encryptor (header + ChunkedWriter) into io::sink.
    let ct_len = usize::try_from(ciphertext_len(size as u64).expect("length")).expect("fits");
    // Touch every page of the output once so no iteration pays page faults.
    let mut out = vec![0xA5u8; ct_len + 4096];
    for (threads, pool) in &pools {
        group.bench_function(format!("strongroom/chunked-writer-sink/{threads}"), |b| {
            b.iter(|| pool.install(|| s::writer_sink(&plaintext)))
        });
        group.bench_function(format!("strongroom/chunked-writer-vec/{threads}"), |b| {
            b.iter(|| {
                pool.install(|| s::writer_vec(&plaintext, &mut out));
                assert_eq!(out.len(), ct_len);
            })
        });
        group.bench_function(format!("strongroom/file-encryptor-sink/{threads}"), |b| {
            b.iter(|| pool.install(|| s::encryptor_sink(&ring, &plaintext)))
        });
    }
    group.finish();
}

fn decrypt(c: &mut Criterion) {
    let size = message_size();
    let engine = Aes256Gcm::engine_name();
    let pools = s::pools();
    let chunks = size.div_ceil(CHUNK_SIZE);
    let dir = tempfile::tempdir().expect("temp dir");
    let ring = s::bench_keyring(dir.path());

    // Inputs: a raw chunk sequence with tags aside, a Cobblestone payload and
    // a whole strongroom file, all of the same plaintext.
    let plaintext = patterned(size);
    let key = s::compiled_engine_key();
    let key = &*key;
    let mut raw_ct = plaintext.clone();
    let mut tags = vec![[0u8; TAG_LEN]; chunks];
    s::raw_seal(key, &mut raw_ct, &mut tags);
    let payload = s::payload_of(&plaintext);
    let file = s::file_of(&ring, &plaintext);
    drop(plaintext);

    let mut group = c.benchmark_group(format!("decrypt-{}-{engine}", size_label(size)));
    configure(&mut group, size);

    // Peers. Opening in place destroys the ciphertext, so each iteration
    // first restores it from `raw_ct`, outside the timed region.
    let mut work = raw_ct.clone();
    for (threads, pool) in &pools {
        let parallel = *threads == "2t";
        group.bench_function(format!("raw-{engine}/open-in-place-16k/{threads}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    work.copy_from_slice(&raw_ct);
                    let start = Instant::now();
                    if parallel {
                        pool.install(|| s::raw_open_par(key, &mut work, &tags));
                    } else {
                        s::raw_open(key, &mut work, &tags);
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    }
    drop(work);
    drop(raw_ct);

    let mut buf = vec![0u8; IO_BLOCK];
    for (threads, pool) in &pools {
        group.bench_function(format!("strongroom/chunked-reader/{threads}"), |b| {
            b.iter(|| assert_eq!(pool.install(|| s::reader(&payload, &mut buf)), size))
        });
        group.bench_function(format!("strongroom/file-decryptor/{threads}"), |b| {
            b.iter(|| assert_eq!(pool.install(|| s::decryptor(&ring, &file, &mut buf)), size))
        });
    }
    // The random-access reader decrypts one chunk per call, on the calling
    // thread; read sequentially it shows the cost of chunk-at-a-time work.
    group.bench_function("strongroom/chunked-seek-reader/1t", |b| {
        b.iter(|| assert_eq!(s::seek_reader(&payload, &mut buf), size))
    });
    group.finish();
}

criterion_group!(benches, encrypt, decrypt);
criterion_main!(benches);
