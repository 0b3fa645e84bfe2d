//! Temporary local measurement (not committed).
use std::time::Instant;
use strongroom::file::*;
use strongroom::passphrase::KdfParams;
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let src = dir.join("in.bin");
    let p = strongroom::Passphrase::from("x");
    let fast = KdfParams {
        memory_kib: 8192,
        iterations: 1,
        parallelism: 1,
    };
    for _ in 0..3 {
        let _ = std::fs::remove_file(dir.join("in.srf"));
        let _ = std::fs::remove_file(dir.join("out.bin"));
        let t = Instant::now();
        std::fs::copy(&src, dir.join("cp.bin")).unwrap();
        let cp = t.elapsed();
        std::fs::remove_file(dir.join("cp.bin")).unwrap();
        let t = Instant::now();
        encrypt_file(
            &src,
            &dir.join("in.srf"),
            &[Recipient::Passphrase(&p, fast)],
            &FileOptions::default(),
        )
        .unwrap();
        let e = t.elapsed();
        let t = Instant::now();
        decrypt_file(
            &dir.join("in.srf"),
            &dir.join("out.bin"),
            &[Identity::Passphrase(&p)],
            &FileOptions::default(),
        )
        .unwrap();
        let d = t.elapsed();
        println!(
            "cp {:?} enc {:?} ({:.2}x) dec {:?} ({:.2}x)",
            cp,
            e,
            e.as_secs_f64() / cp.as_secs_f64(),
            d,
            d.as_secs_f64() / cp.as_secs_f64()
        );
    }
}
