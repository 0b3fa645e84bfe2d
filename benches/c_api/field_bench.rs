//! The Rust side of the C API's field benchmark (the fields group of
//! benches/harness): the same calls as field_bench.c, made on the core
//! directly, on a BYTES-byte text value (default 32). Prints one line per
//! case: "rust CASE NS ns" (nanoseconds per value).
//!
//! `cargo run --release -p strongroom-ffi --example field_bench -- [N [BYTES]]`
use std::hint::black_box;
use std::time::Instant;
use strongroom::SecretKey;
use strongroom::field::{ColumnSpec, FieldCipher, PurposeKeys, Value, ValueRef, ValueType};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000)
        .max(1);
    let bytes: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(32)
        .clamp(1, 65_536);
    let keys = PurposeKeys {
        field: SecretKey::from_array([1; 32]),
        deterministic: SecretKey::from_array([2; 32]),
        blind_index: SecretKey::from_array([3; 32]),
    };
    let cipher = FieldCipher::with_keys(
        "users",
        "email",
        ColumnSpec::new(ValueType::Text),
        1,
        vec![(1, keys)],
    )
    .expect("cipher");
    let owned = "a".repeat(bytes);
    let text = owned.as_str();
    let row: &[u8] = b"row-42";

    // Single value, as the C call does it: from the caller's text
    // (borrowed, as the C API borrows) to a token in the caller's buffer.
    let mut out = vec![0u8; 2 * bytes + 256];
    let start = Instant::now();
    for _ in 0..n {
        let v = ValueRef::Text(black_box(text));
        let t = cipher
            .encrypt_ref(Some(v), Some(row))
            .expect("encrypt")
            .expect("token");
        out[..t.len()].copy_from_slice(t.as_bytes());
        black_box(&out);
    }
    let enc = start.elapsed().as_nanos() as f64 / n as f64;
    let token = cipher
        .encrypt(Some(&Value::from(text)), Some(row))
        .expect("encrypt")
        .expect("token");
    let start = Instant::now();
    for _ in 0..n {
        let v = cipher
            .decrypt(black_box(token.as_bytes()), Some(row))
            .expect("decrypt")
            .expect("value");
        let s = v.as_str().expect("text");
        out[..s.len()].copy_from_slice(s.as_bytes());
        black_box(&out);
    }
    let dec = start.elapsed().as_nanos() as f64 / n as f64;

    // Batch of 10 000 values, from the caller's text to tokens (as the C
    // call does: the borrowed values are listed and the tokens dropped in
    // the loop).
    let inputs: Vec<&str> = (0..10_000).map(|_| text).collect();
    let reps = (n / 10_000).max(3);
    let start = Instant::now();
    for _ in 0..reps {
        let values: Vec<Option<ValueRef<'_>>> = black_box(&inputs)
            .iter()
            .map(|t| Some(ValueRef::Text(t)))
            .collect();
        black_box(cipher.encrypt_batch_ref(&values, None).expect("batch"));
    }
    let batch = start.elapsed().as_nanos() as f64 / (reps * inputs.len()) as f64;
    println!("rust single_encrypt {enc:.1} ns");
    println!("rust single_decrypt {dec:.1} ns");
    println!("rust batch_encrypt {batch:.1} ns");
}
