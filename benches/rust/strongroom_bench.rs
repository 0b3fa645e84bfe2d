//! `strongroom-bench`: one timed round of the Rust-side cases of the
//! benchmark harness (`scripts/bench.sh`, `benches/harness/`). The harness
//! runs it once per round, alternating with the peers it measures against,
//! and reads one JSON object per line from its standard output:
//! `{"case": NAME, "seconds": S, "ops": N, "bytes": B}` (the time of the
//! timed part only, the operations it did, and the bytes they covered).
//!
//! ```text
//! strongroom-bench fields --bytes B --n N --threads T
//!     field encryption of B-byte values: random mode (single calls and
//!     batches), deterministic mode, blind index; batches in a rayon pool
//!     of T threads, single calls on the calling thread
//! strongroom-bench aead --mib M --threads T
//!     raw AES-256-GCM of the default engine over M MiB in 64 KiB pieces
//!     (seal and open), on T threads: the ceiling under file encryption
//! strongroom-bench memcpy --mib M --threads T
//!     copying M MiB between two buffers on T threads: memory bandwidth
//! strongroom-bench kdf
//!     Argon2id at the default parameters, and opening a keyring made with
//!     them (the cost every command pays to unlock a keyring)
//! ```
//!
//! Inputs are built and touched before the clock starts; results are
//! passed through `black_box` so nothing is optimised away.
//!
//! It is an example of the C library's crate (strongroom-ffi), not a
//! target of strongroom-benches: it needs only the core's public API and
//! rayon, so it shares the release build the C library makes instead of
//! compiling the core a second time with the criterion benches' peers.
//! `cargo build --release -p strongroom-ffi --example strongroom-bench`

use rayon::ThreadPoolBuilder;
use rayon::prelude::*;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;
use strongroom::field::{ColumnSpec, FieldCipher, Normalizer, PurposeKeys, Value, ValueType};
use strongroom::hazmat::aead::{Aes256Gcm, TAG_LEN};
use strongroom::keyring::{Keyring, Unlock};
use strongroom::passphrase::{KdfParams, SALT_LEN};
use strongroom::{Passphrase, SecretKey};

/// Bytes per MiB.
const MIB: usize = 1 << 20;

/// Bytes of every AES-GCM piece in the `aead` case: the size of a
/// Cobblestone-256 chunk's order of magnitude, large enough that the
/// per-call cost vanishes.
const PIECE: usize = 64 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("usage: strongroom-bench fields|aead|memcpy|kdf [options] (see the source's header)");
        return ExitCode::from(2);
    };
    let opts = match Opts::parse(&args[1..]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("strongroom-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let pool = match ThreadPoolBuilder::new().num_threads(opts.threads).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("strongroom-bench: cannot start {} threads: {e}", opts.threads);
            return ExitCode::FAILURE;
        }
    };
    match cmd.as_str() {
        "fields" => pool.install(|| fields(&opts)),
        "aead" => pool.install(|| aead(&opts)),
        "memcpy" => pool.install(|| memcpy(&opts)),
        "kdf" => kdf(),
        other => {
            eprintln!("strongroom-bench: unknown case group {other:?}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// Command-line options shared by the case groups.
struct Opts {
    bytes: usize,
    n: usize,
    mib: usize,
    threads: usize,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut o = Opts {
            bytes: 32,
            n: 100_000,
            mib: 256,
            threads: 1,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} wants a value"))?;
            let n: usize = value
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{flag} wants a positive whole number, not {value:?}"))?;
            match flag.as_str() {
                "--bytes" => o.bytes = n,
                "--n" => o.n = n,
                "--mib" => o.mib = n,
                "--threads" => o.threads = n,
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        Ok(o)
    }
}

/// Prints one result line.
fn report(case: &str, start: Instant, ops: usize, bytes: usize) {
    let seconds = start.elapsed().as_secs_f64();
    println!(r#"{{"case": "{case}", "seconds": {seconds:.9}, "ops": {ops}, "bytes": {bytes}}}"#);
}

fn cipher(spec: ColumnSpec) -> FieldCipher {
    let keys = PurposeKeys {
        field: SecretKey::from_array([0x11; 32]),
        deterministic: SecretKey::from_array([0x22; 32]),
        blind_index: SecretKey::from_array([0x33; 32]),
    };
    FieldCipher::with_keys("users", "email", spec, 1, vec![(1, keys)]).expect("field cipher")
}

/// Field encryption of `opts.bytes`-byte values: `opts.n` single calls of
/// each kind, and batches covering at least as many values.
fn fields(opts: &Opts) {
    let n = opts.n;
    let batch_len = (4 * MIB / opts.bytes).clamp(256, 16_384).min(n.max(256));
    let reps = n.div_ceil(batch_len).max(1);
    let value = Value::Bytes(patterned(opts.bytes));
    let text = Value::Text("a".repeat(opts.bytes));
    let values: Vec<Option<Value>> = (0..batch_len).map(|_| Some(value.clone())).collect();
    let texts: Vec<Option<Value>> = (0..batch_len).map(|_| Some(text.clone())).collect();

    for (mode, spec) in [
        ("random", ColumnSpec::new(ValueType::Bytes)),
        ("deterministic", ColumnSpec::new(ValueType::Bytes).deterministic()),
    ] {
        let c = cipher(spec);
        let token = c.encrypt(Some(&value), None).expect("encrypt").expect("token");
        let tokens = c.encrypt_batch(&values, None).expect("batch");

        let start = Instant::now();
        for _ in 0..n {
            black_box(c.encrypt(Some(black_box(&value)), None).expect("encrypt"));
        }
        report(&format!("{mode}/encrypt/single"), start, n, n * opts.bytes);

        let start = Instant::now();
        for _ in 0..n {
            black_box(c.decrypt(black_box(token.as_bytes()), None).expect("decrypt"));
        }
        report(&format!("{mode}/decrypt/single"), start, n, n * opts.bytes);

        let mut elapsed = 0.0;
        for _ in 0..reps {
            let start = Instant::now();
            let out = c.encrypt_batch(black_box(&values), None).expect("batch");
            elapsed += start.elapsed().as_secs_f64();
            drop(black_box(out)); // freeing the tokens is the caller's cost, after storing them
        }
        print_seconds(
            &format!("{mode}/encrypt/batch"),
            elapsed,
            reps * batch_len,
            opts.bytes,
        );

        let mut elapsed = 0.0;
        for _ in 0..reps {
            let start = Instant::now();
            let out = c.decrypt_batch(black_box(&tokens), None).expect("batch");
            elapsed += start.elapsed().as_secs_f64();
            drop(black_box(out));
        }
        print_seconds(
            &format!("{mode}/decrypt/batch"),
            elapsed,
            reps * batch_len,
            opts.bytes,
        );
    }

    let c = cipher(ColumnSpec::new(ValueType::Text).with_blind_index(16, Normalizer::None));
    let start = Instant::now();
    for _ in 0..n {
        black_box(c.index(Some(black_box(&text))).expect("index"));
    }
    report("blind-index/single", start, n, n * opts.bytes);
    let mut elapsed = 0.0;
    for _ in 0..reps {
        let start = Instant::now();
        let out = c.index_batch(black_box(&texts)).expect("index");
        elapsed += start.elapsed().as_secs_f64();
        drop(black_box(out));
    }
    print_seconds("blind-index/batch", elapsed, reps * batch_len, opts.bytes);
}

fn print_seconds(case: &str, seconds: f64, ops: usize, bytes_per_op: usize) {
    println!(
        r#"{{"case": "{case}", "seconds": {seconds:.9}, "ops": {ops}, "bytes": {}}}"#,
        ops * bytes_per_op
    );
}

/// Raw AES-256-GCM of the compiled-in engine, sealing then opening
/// `opts.mib` MiB out of place in [`PIECE`]-byte pieces spread over the
/// pool, as file encryption does with its chunks.
fn aead(opts: &Opts) {
    let len = opts.mib * MIB;
    let key = Aes256Gcm::new(&[0x42; 32]);
    let mut plain = patterned(len);
    let pieces = len.div_ceil(PIECE);
    let mut sealed = vec![1u8; pieces * (PIECE + TAG_LEN)];
    let start = Instant::now();
    plain
        .par_chunks(PIECE)
        .zip(sealed.par_chunks_mut(PIECE + TAG_LEN))
        .enumerate()
        .for_each(|(i, (p, s))| key.seal_into(&nonce(i), b"", p, &mut s[..p.len() + TAG_LEN]));
    report(&format!("seal/{}", Aes256Gcm::engine_name()), start, pieces, len);
    let start = Instant::now();
    plain
        .par_chunks_mut(PIECE)
        .zip(sealed.par_chunks(PIECE + TAG_LEN))
        .enumerate()
        .for_each(|(i, (p, s))| {
            let n = p.len() + TAG_LEN;
            key.open_into(&nonce(i), b"", &s[..n], p).expect("open");
        });
    report(&format!("open/{}", Aes256Gcm::engine_name()), start, pieces, len);
    black_box(&plain);
}

fn nonce(i: usize) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&(i as u64).to_le_bytes());
    n
}

/// Memory copy bandwidth: `opts.mib` MiB copied in [`PIECE`]-byte pieces
/// spread over the pool, into a buffer touched beforehand.
fn memcpy(opts: &Opts) {
    let len = opts.mib * MIB;
    let src = patterned(len);
    let mut dst = vec![1u8; len];
    let start = Instant::now();
    dst.par_chunks_mut(PIECE)
        .zip(src.par_chunks(PIECE))
        .for_each(|(d, s)| d.copy_from_slice(black_box(s)));
    report("copy", start, len.div_ceil(PIECE), len);
    black_box(&dst);
}

/// Argon2id at [`KdfParams::DEFAULT`], then [`Keyring::open`] of a keyring
/// created with it (outside the clock) in the system's temporary folder.
fn kdf() {
    let params = KdfParams::DEFAULT;
    let passphrase = Passphrase::from("correct horse battery staple");
    let salt = [0x5a_u8; SALT_LEN];
    let start = Instant::now();
    black_box(params.derive(&passphrase, &salt).expect("derive"));
    report("argon2id-default", start, 1, 0);

    let dir = std::env::temp_dir().join(format!("strongroom-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let path = dir.join("bench.keyring");
    drop(Keyring::create(&path, &passphrase, params).expect("create keyring"));
    let unlock = Unlock::Passphrase(Passphrase::from("correct horse battery staple"));
    let start = Instant::now();
    black_box(Keyring::open(&path, &unlock).expect("open"));
    report("keyring-open-default", start, 1, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A buffer of `len` bytes of a cheap non-constant pattern (xorshift):
/// AES-GCM's speed does not depend on the data; the pattern makes sure
/// every page is allocated and touched before the clock starts.
fn patterned(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for word in buf.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
    }
    buf
}
