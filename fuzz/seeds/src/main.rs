//! Builds the seed corpora of the fuzz targets from `testdata/`:
//! `make-seeds OUT` writes `OUT/<target>/` for every target (the C API's
//! targets, `c_*`, get the seeds of the core targets that read the same
//! inputs). Besides the
//! files copied from testdata it encrypts a few small files to the testkit
//! keyring and a few values of every type under the field vector keys, so
//! the fuzzer starts from inputs that decrypt.

#[path = "../../src/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use strongroom::Passphrase;
use strongroom::field::{Token, Value, ValueType};
use strongroom::file::{Encryptor, Recipient};
use strongroom::passphrase::KdfParams;

const FAST: KdfParams = KdfParams {
    memory_kib: 8192,
    iterations: 1,
    parallelism: 1,
};

struct Out {
    dir: PathBuf,
    count: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.dir.join(target);
        fs::create_dir_all(&dir).expect("creating a corpus directory");
        fs::write(dir.join(name), bytes).expect("writing a seed");
        self.count += 1;
    }
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex digits"))
        .collect()
}

fn read_hex(rel: &str) -> Vec<u8> {
    hex(&fs::read_to_string(fixtures::testdata(rel)).expect("reading a hex file"))
}

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[1])
        .collect()
}

fn encrypt(plain: &[u8], recipients: &[Recipient<'_>]) -> Vec<u8> {
    let mut enc = Encryptor::new(Vec::new(), recipients).expect("encrypting a seed");
    enc.write_all(plain).expect("encrypting a seed");
    enc.finish().expect("encrypting a seed")
}

/// Seek scripts prefixed to the seek_decrypt seeds (see that target).
fn seek_scripts() -> Vec<Vec<u8>> {
    let op = |kind: u8, arg: u32| {
        let mut v = vec![kind];
        v.extend_from_slice(&arg.to_le_bytes());
        v
    };
    let script = |ops: &[Vec<u8>]| {
        let mut v = vec![ops.len() as u8];
        for o in ops {
            v.extend_from_slice(o);
        }
        v
    };
    vec![
        script(&[]),
        script(&[op(3, 100), op(0, 16_380), op(3, 20), op(1, 10), op(3, 64)]),
        script(&[op(1, 0), op(3, 1), op(0, 0), op(3, 69_999)]),
        script(&[
            op(0, 16_384),
            op(3, 16_384),
            op(2, (-20i32) as u32),
            op(3, 40),
            op(1, 7_000),
            op(3, 7_500),
        ]),
    ]
}

fn file_seeds(out: &mut Out) {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names: Vec<_> = fs::read_dir(fixtures::testdata("testkit"))
        .expect("reading testdata/testkit")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "srf"))
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().expect("file name").to_string_lossy().into_owned();
        files.push((name, fs::read(&p).expect("reading a testkit file")));
    }
    files.push(("spec_example.srf".into(), read_hex("file/example.hex")));
    let ring = fixtures::testkit_keyring();
    let pass = Passphrase::from("fuzz seed passphrase");
    for len in [0, 1, 300, 16_384, 16_385] {
        files.push((
            format!("small_{len}.srf"),
            encrypt(&data(len), &[Recipient::Keyring(&ring)]),
        ));
    }
    files.push((
        "small_both.srf".into(),
        encrypt(
            &data(100),
            &[Recipient::Keyring(&ring), Recipient::Passphrase(&pass, FAST)],
        ),
    ));
    files.push((
        "small_passphrase.srf".into(),
        encrypt(&data(100), &[Recipient::Passphrase(&pass, FAST)]),
    ));
    let scripts = seek_scripts();
    for (name, bytes) in &files {
        out.put("file_header", name, bytes);
        out.put("stream_decrypt", name, bytes);
        // The C memory decryptor: a piece-size byte, then the file.
        for size in [0u8, 77, 255] {
            let mut seed = vec![size];
            seed.extend_from_slice(bytes);
            out.put("c_decryptor", &format!("{size}_{name}"), &seed);
        }
        // The seek target gets the small files with every script, the rest with one.
        let n = if name.starts_with("small_") || name.starts_with("valid_") {
            scripts.len()
        } else {
            1
        };
        for (i, script) in scripts.iter().take(n).enumerate() {
            let mut seed = script.clone();
            seed.extend_from_slice(bytes);
            out.put("seek_decrypt", &format!("{i}_{name}"), &seed);
        }
    }
}

fn keyring_seeds(out: &mut Out) {
    out.put(
        "keyring_file",
        "spec_example.srk",
        &read_hex("keyring/example.hex"),
    );
    for name in ["example-v2", "example-v1"] {
        out.put(
            "keyring_file",
            &format!("spec_{name}.srk"),
            &read_hex(&format!("keyring/{name}.hex")),
        );
    }
    // keyring_body: the example's body plaintext (decrypted with its
    // master key, an input of the example), and variants that pass or
    // fail the protector-table and version-table checks.
    let example = read_hex("keyring/example.hex");
    let (head, body) = example.split_at(example.len() - 305);
    let id: [u8; 16] = example[9..25].try_into().expect("keyring id");
    let nonce: [u8; 12] = head[head.len() - 48..head.len() - 36]
        .try_into()
        .expect("body nonce");
    let key = strongroom::hazmat::kdf::derive_key32(
        &fixtures::example_master_key(),
        &id,
        b"strongroom/v1/keyring/body",
    );
    let mut plain = body.to_vec();
    let n = strongroom::hazmat::aead::Aes256Gcm::new(key.dangerous_expose_bytes())
        .open_in_place(&nonce, head, &mut plain)
        .expect("the example's body opens");
    plain.truncate(n);
    out.put("keyring_body", "example", &plain);
    let mut one_version = plain[..1 + 72].to_vec();
    one_version.extend_from_slice(&1u32.to_be_bytes());
    one_version.extend_from_slice(&plain[1 + 72 + 4 + 3 * 53..]);
    out.put("keyring_body", "one_version", &one_version);
    let mut swapped = plain.clone();
    swapped.copy_within(1..37, 37);
    out.put("keyring_body", "table_mismatch", &swapped);
    for name in ["keyring.srk", "other.srk"] {
        let bytes = fs::read(fixtures::testdata(Path::new("testkit").join(name))).expect("reading a keyring");
        out.put("keyring_file", name, &bytes);
    }
}

/// A few values of every type, edge cases included.
fn sample_values() -> Vec<Value> {
    vec![
        Value::Bytes(vec![]),
        Value::Bytes(vec![0, 0xff, 0x10]),
        Value::Text(String::new()),
        Value::Text("alice@example.com".into()),
        Value::Text("h\u{e9}llo \u{2713} \u{1f510}".into()),
        Value::Int(0),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::Float(-0.0),
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Float(1.5e-300),
        Value::Bool(true),
        Value::Bool(false),
        Value::Date(0),
        Value::Date(-719_162),
        Value::Date(2_932_896),
        Value::Timestamp(0),
        Value::Timestamp(-1),
        Value::Timestamp(1_700_000_000_123_456),
        Value::decimal("-0012.50").expect("valid decimal"),
        Value::decimal("0").expect("valid decimal"),
    ]
}

fn token_seeds(out: &mut Out) {
    let text = fs::read_to_string(fixtures::testdata("field/vectors.json")).expect("reading vectors.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("parsing vectors.json");
    let mut tokens: Vec<Token> = Vec::new();
    for list in ["random", "deterministic"] {
        for case in json[list].as_array().expect("a list of vectors") {
            let bytes = hex(case["token"].as_str().expect("a token"));
            tokens.push(Token::from_bytes(bytes).expect("a vector token"));
        }
    }
    let (table, column) = fixtures::FIELD_COLUMNS[3];
    for v in sample_values() {
        let ty = v.value_type();
        let random = fixtures::field_cipher(table, column, ty, false);
        let det = fixtures::field_cipher(table, column, ty, true);
        tokens.push(
            random
                .encrypt(Some(&v), None)
                .expect("encrypting")
                .expect("a token"),
        );
        tokens.push(
            random
                .encrypt(Some(&v), Some(fixtures::FIELD_ROWS[0]))
                .expect("encrypting")
                .expect("a token"),
        );
        tokens.push(det.encrypt(Some(&v), None).expect("encrypting").expect("a token"));
    }
    for ty in ValueType::ALL {
        let hidden = fixtures::field_cipher(table, column, ty, false);
        tokens.push(
            hidden
                .encrypt(None, None)
                .expect("encrypting")
                .expect("a hidden NULL token"),
        );
    }
    for (i, t) in tokens.iter().enumerate() {
        out.put("field_token_binary", &format!("token_{i:03}"), t.as_bytes());
        out.put("c_token_binary", &format!("token_{i:03}"), t.as_bytes());
        out.put(
            "field_token_text",
            &format!("token_{i:03}"),
            t.to_text().as_bytes(),
        );
        out.put("c_token_text", &format!("token_{i:03}"), t.to_text().as_bytes());
    }
    // A few lines of text tokens, for the C batch of lines.
    let lines: Vec<String> = tokens.iter().take(4).map(|t| t.to_text()).collect();
    out.put("c_token_text", "lines", lines.join("\n").as_bytes());
}

fn value_seeds(out: &mut Out) {
    let mut texts: Vec<String> = sample_values()
        .iter()
        .filter_map(|v| v.to_text().ok().map(|t| t.to_string()))
        .collect();
    texts.extend(
        [
            "\\x00FF",
            "+007",
            "1E5",
            ".5",
            "Infinity",
            "-inf",
            "T",
            "0",
            "False",
            "2000-02-29",
            "2023-11-14 23:13:20+01",
            "2023-11-15T00:43:20+0230",
            "2023-11-14t22:13:20.12z",
            "9999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00Z",
        ]
        .map(String::from),
    );
    for (i, t) in texts.iter().enumerate() {
        out.put("value_text", &format!("text_{i:03}"), t.as_bytes());
        out.put("c_value", &format!("text_{i:03}"), t.as_bytes());
    }
    // Lines, for the C batch: all good, and one bad in the middle.
    out.put("c_value", "lines_good", texts[..5].join("\n").as_bytes());
    out.put("c_value", "lines_bad", b"a\nb\n\xff\nc");
}

fn main() {
    let dir = std::env::args_os().nth(1).expect("usage: make-seeds OUT_DIR");
    let mut out = Out {
        dir: PathBuf::from(dir),
        count: 0,
    };
    file_seeds(&mut out);
    keyring_seeds(&mut out);
    token_seeds(&mut out);
    value_seeds(&mut out);
    println!("wrote {} seeds under {}", out.count, out.dir.display());
}
