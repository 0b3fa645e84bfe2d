//! `interleaved`: the `stream_encrypt` cases timed round-robin, for a shared
//! and noisy machine.
//!
//! Criterion measures one case after another, so a burst of load from
//! another process lands on whichever case runs at that moment, and a
//! two-thread case that shares the machine with a compiler measures one
//! core. Here every round runs every case once (the order rotates between
//! rounds), and each case's time is compared with the raw peer (and its
//! one-thread twin) *of the same round*. The table gives the
//! median time, and the median of those per-round ratios, which load that
//! comes and goes affects far less.
//!
//! Three tables: `engines` seals the message in place with each raw
//! engine (ring, aws-lc-rs, RustCrypto) in 16 KiB and 64 KiB chunks on one
//! core, against raw ring at 16 KiB; `encrypt` and `decrypt` compare the
//! streaming types, on one and two threads, with the raw form of the
//! engine strongroom was built with (`raw-ring/...` by default), in place
//! over 16 KiB chunks on one core.
//!
//! `raw-<engine>/seal-batched-512k/2t` seals in fork-join batches of 32
//! chunks, as the streaming types do with two threads: it isolates the cost
//! of that batching from the rest of the streaming code.
//!
//! Settings: `STRONGROOM_INTERLEAVED_MIB` (message size, default 256) and
//! `STRONGROOM_INTERLEAVED_ROUNDS` (default 15).
//!
//! Run: `cargo bench -p strongroom-benches --bench interleaved`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use strongroom::hazmat::aead::{Aes256Gcm, TAG_LEN};
use strongroom::hazmat::chunked::CHUNK_SIZE;
use strongroom_benches::stream::{self as s, KEY, RawGcm};
use strongroom_benches::{IO_BLOCK, MIB, parse_mib, patterned, size_label};

/// One timed case: its name and a closure that runs it once and returns
/// the time to count.
type Case<'a> = (String, Box<dyn FnMut() -> Duration + 'a>);

/// Chunks per parallel batch of the streaming types with two threads
/// (`strongroom::hazmat::chunked::writer::batch_chunks`: 16 per thread).
const BATCH_CHUNKS: usize = 32;
const BATCH: usize = BATCH_CHUNKS * CHUNK_SIZE;

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let size = std::env::var("STRONGROOM_INTERLEAVED_MIB")
        .ok()
        .and_then(|v| parse_mib(&v))
        .unwrap_or(256 * MIB);
    let rounds = env_number("STRONGROOM_INTERLEAVED_ROUNDS", 15);
    let engine = Aes256Gcm::engine_name();
    let chunks = size.div_ceil(CHUNK_SIZE);
    let pools = s::pools();
    let (_, one) = &pools[0];
    let (_, two) = &pools[1];
    let dir = tempfile::tempdir().expect("temp dir");
    let ring = s::bench_keyring(dir.path());

    let plaintext = patterned(size);
    let (ring_key, aws_key, rc_key) = (s::ring_key(), s::aws_key(), s::rustcrypto_key());
    // The raw peer is the raw form of the engine strongroom was built with.
    let key = s::compiled_engine_key();
    let key = &*key;
    let engine_key = Aes256Gcm::new(&KEY);
    // Sealing in place needs a buffer that no other case reads: one,
    // shared through RefCell (cases run one at a time), keeps memory at a
    // few copies of the message even at 1 GiB.
    let work = RefCell::new(plaintext.clone());
    let tags = RefCell::new(vec![[0u8; TAG_LEN]; chunks]);
    let mut raw_ct = plaintext.clone();
    let mut open_tags = vec![[0u8; TAG_LEN]; chunks];
    s::raw_seal(key, &mut raw_ct, &mut open_tags);
    let payload = s::payload_of(&plaintext);
    let file = s::file_of(&ring, &plaintext);
    let out = RefCell::new(payload.clone());
    let buf = RefCell::new(vec![0u8; IO_BLOCK]);
    let (pt, ring, payload, file) = (&plaintext, &ring, &payload, &file);
    let (raw_ct, open_tags) = (&raw_ct, &open_tags);
    let (work, tags, out, buf) = (&work, &tags, &out, &buf);
    let raw_engine = |k: &'static str| -> &dyn RawGcm {
        match k {
            "ring" => &ring_key,
            "aws-lc" => &aws_key,
            _ => &rc_key,
        }
    };

    let mut engines: Vec<Case<'_>> = Vec::new();
    for name in ["ring", "aws-lc", "rustcrypto"] {
        for (label, chunk) in [("16k", 16 * 1024), ("64k", 64 * 1024)] {
            let k = raw_engine(name);
            engines.push((
                format!("raw-{name}/seal-in-place-{label}/1t"),
                Box::new(move || {
                    let (mut w, mut t) = (work.borrow_mut(), tags.borrow_mut());
                    timed(|| s::raw_seal_chunks(k, &mut w, &mut t, chunk))
                }),
            ));
        }
    }

    let mut encrypt: Vec<Case<'_>> = vec![
        (
            format!("raw-{engine}/seal-in-place-16k/1t"),
            Box::new(|| {
                let (mut w, mut t) = (work.borrow_mut(), tags.borrow_mut());
                timed(|| s::raw_seal(key, &mut w, &mut t))
            }),
        ),
        (
            format!("raw-{engine}/seal-in-place-16k/2t"),
            Box::new(|| {
                let (mut w, mut t) = (work.borrow_mut(), tags.borrow_mut());
                let (w, t) = (&mut w[..], &mut t[..]);
                timed(|| two.install(|| s::raw_seal_par(key, w, t)))
            }),
        ),
        (
            format!("raw-{engine}/seal-batched-512k/2t"),
            Box::new(|| {
                let (mut w, mut t) = (work.borrow_mut(), tags.borrow_mut());
                let (w, t) = (&mut w[..], &mut t[..]);
                timed(|| {
                    two.install(|| {
                        for (b, batch) in w.chunks_mut(BATCH).enumerate() {
                            let tags = &mut t[b * BATCH_CHUNKS..];
                            s::raw_seal_par(key, batch, &mut tags[..batch.len().div_ceil(CHUNK_SIZE)]);
                        }
                    })
                })
            }),
        ),
        (
            format!("floor-{engine}/copy-then-seal-16k/1t"),
            Box::new(|| {
                let mut b = buf.borrow_mut();
                timed(|| s::copy_then_seal(key, pt, &mut b))
            }),
        ),
        (
            "engine-raw/seal-in-place-16k/1t".into(),
            Box::new(|| {
                let mut w = work.borrow_mut();
                timed(|| s::engine_seal(&engine_key, &mut w))
            }),
        ),
        (
            "strongroom/chunked-writer-sink/1t".into(),
            Box::new(|| timed(|| one.install(|| s::writer_sink(pt)))),
        ),
        (
            "strongroom/chunked-writer-sink/2t".into(),
            Box::new(|| timed(|| two.install(|| s::writer_sink(pt)))),
        ),
        (
            "strongroom/chunked-writer-vec/1t".into(),
            Box::new(|| {
                let mut o = out.borrow_mut();
                let o: &mut Vec<u8> = &mut o;
                timed(|| one.install(|| s::writer_vec(pt, o)))
            }),
        ),
        (
            "strongroom/chunked-writer-vec/2t".into(),
            Box::new(|| {
                let mut o = out.borrow_mut();
                let o: &mut Vec<u8> = &mut o;
                timed(|| two.install(|| s::writer_vec(pt, o)))
            }),
        ),
        (
            "strongroom/chunked-writer-in-place-sink/1t".into(),
            Box::new(|| {
                let mut w = work.borrow_mut();
                let w = &mut w[..];
                timed(|| one.install(|| s::writer_in_place_sink(w)))
            }),
        ),
        (
            "strongroom/chunked-writer-in-place-sink/2t".into(),
            Box::new(|| {
                let mut w = work.borrow_mut();
                let w = &mut w[..];
                timed(|| two.install(|| s::writer_in_place_sink(w)))
            }),
        ),
        (
            "strongroom/file-encryptor-in-place-sink/1t".into(),
            Box::new(|| {
                let mut w = work.borrow_mut();
                let w = &mut w[..];
                timed(|| one.install(|| s::encryptor_in_place_sink(ring, w)))
            }),
        ),
        (
            "strongroom/file-encryptor-in-place-sink/2t".into(),
            Box::new(|| {
                let mut w = work.borrow_mut();
                let w = &mut w[..];
                timed(|| two.install(|| s::encryptor_in_place_sink(ring, w)))
            }),
        ),
        (
            "strongroom/file-encryptor-sink/1t".into(),
            Box::new(|| timed(|| one.install(|| s::encryptor_sink(ring, pt)))),
        ),
        (
            "strongroom/file-encryptor-sink/2t".into(),
            Box::new(|| timed(|| two.install(|| s::encryptor_sink(ring, pt)))),
        ),
    ];
    let mut decrypt: Vec<Case<'_>> = vec![
        (
            format!("raw-{engine}/open-in-place-16k/1t"),
            Box::new(|| {
                let mut w = work.borrow_mut();
                w.copy_from_slice(raw_ct);
                timed(|| s::raw_open(key, &mut w, open_tags))
            }),
        ),
        (
            format!("raw-{engine}/open-in-place-16k/2t"),
            Box::new(|| {
                let mut w = work.borrow_mut();
                w.copy_from_slice(raw_ct);
                let w = &mut w[..];
                timed(|| two.install(|| s::raw_open_par(key, w, open_tags)))
            }),
        ),
        (
            format!("floor-{engine}/copy-then-open-16k/1t"),
            Box::new(|| {
                let mut b = buf.borrow_mut();
                timed(|| s::copy_then_open(key, raw_ct, open_tags, &mut b))
            }),
        ),
        (
            "strongroom/chunked-reader/1t".into(),
            Box::new(|| {
                let mut b = buf.borrow_mut();
                let b: &mut [u8] = &mut b;
                timed(|| assert_eq!(one.install(|| s::reader(payload, b)), size))
            }),
        ),
        (
            "strongroom/chunked-reader/2t".into(),
            Box::new(|| {
                let mut b = buf.borrow_mut();
                let b: &mut [u8] = &mut b;
                timed(|| assert_eq!(two.install(|| s::reader(payload, b)), size))
            }),
        ),
        (
            "strongroom/file-decryptor/1t".into(),
            Box::new(|| {
                let mut b = buf.borrow_mut();
                let b: &mut [u8] = &mut b;
                timed(|| assert_eq!(one.install(|| s::decryptor(ring, file, b)), size))
            }),
        ),
        (
            "strongroom/file-decryptor/2t".into(),
            Box::new(|| {
                let mut b = buf.borrow_mut();
                let b: &mut [u8] = &mut b;
                timed(|| assert_eq!(two.install(|| s::decryptor(ring, file, b)), size))
            }),
        ),
        (
            "strongroom/payload-open-in-place/1t".into(),
            Box::new(|| {
                let mut m = out.borrow_mut();
                m.clear();
                m.extend_from_slice(payload);
                let m = &mut m[..];
                timed(|| assert_eq!(one.install(|| s::payload_in_place(m)), size))
            }),
        ),
        (
            "strongroom/payload-open-in-place/2t".into(),
            Box::new(|| {
                let mut m = out.borrow_mut();
                m.clear();
                m.extend_from_slice(payload);
                let m = &mut m[..];
                timed(|| assert_eq!(two.install(|| s::payload_in_place(m)), size))
            }),
        ),
        (
            "strongroom/file-decrypt-in-place/1t".into(),
            Box::new(|| {
                let mut m = out.borrow_mut();
                m.clear();
                m.extend_from_slice(file);
                let m = &mut m[..];
                timed(|| assert_eq!(one.install(|| s::file_in_place(ring, m)), size))
            }),
        ),
        (
            "strongroom/file-decrypt-in-place/2t".into(),
            Box::new(|| {
                let mut m = out.borrow_mut();
                m.clear();
                m.extend_from_slice(file);
                let m = &mut m[..];
                timed(|| assert_eq!(two.install(|| s::file_in_place(ring, m)), size))
            }),
        ),
        (
            "strongroom/chunked-seek-reader/1t".into(),
            Box::new(|| {
                let mut b = buf.borrow_mut();
                let b: &mut [u8] = &mut b;
                timed(|| assert_eq!(one.install(|| s::seek_reader(payload, b)), size))
            }),
        ),
    ];

    println!(
        "interleaved: {} message, {rounds} rounds (+1 warm-up), strongroom engine {engine}, {} CPUs",
        size_label(size),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (title, cases) in [
        ("engines", &mut engines),
        ("encrypt", &mut encrypt),
        ("decrypt", &mut decrypt),
    ] {
        let n = cases.len();
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
        for round in 0..=rounds {
            for k in 0..n {
                let i = (k + round) % n;
                let t = (cases[i].1)().as_secs_f64();
                if round > 0 {
                    times[i].push(t);
                }
            }
        }
        let names: Vec<&str> = cases.iter().map(|(name, _)| name.as_str()).collect();
        let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let peer = 0; // the raw 1t peer is the first case of each list
        println!(
            "\n### {title}-{}-{engine} (interleaved, median of {rounds} rounds)\n",
            size_label(size)
        );
        println!(
            "Peer: `{}`; ratios are medians of per-round ratios. GB/s = 10^9 bytes/s.\n",
            names[peer]
        );
        println!("| case | median time | GB/s | vs peer | 2t / 1t |");
        println!("|---|---:|---:|---:|---:|");
        for (i, name) in names.iter().enumerate() {
            let mut own = times[i].clone();
            let med = median(&mut own);
            let mut vs_peer: Vec<f64> = times[peer].iter().zip(&times[i]).map(|(p, t)| p / t).collect();
            let scaling = name
                .strip_suffix("/2t")
                .and_then(|stem| index.get(format!("{stem}/1t").as_str()))
                .map(|&j| {
                    let mut r: Vec<f64> = times[j].iter().zip(&times[i]).map(|(a, b)| a / b).collect();
                    format!("{:.2}", median(&mut r))
                })
                .unwrap_or_default();
            println!(
                "| `{name}` | {:.1} ms | {:.2} | {:.2} | {scaling} |",
                med * 1e3,
                size as f64 / med / 1e9,
                median(&mut vs_peer)
            );
        }
    }
}
