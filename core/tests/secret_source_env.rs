//! `SecretSource::read_and_remove` on a process with one thread: the
//! variable is gone afterwards, and with a second thread running it stays.
//! No test harness (`harness = false`): the harness's own threads would
//! make the process multi-threaded.

#![allow(unsafe_code)]

use strongroom::{Error, SecretSource};

fn remove(name: &str) {
    // SAFETY: called by `read_and_remove` only while the process has one
    // thread (this one), so nothing reads the environment concurrently.
    unsafe { std::env::remove_var(name) }
}

fn main() {
    let name = "STRONGROOM_TEST_SECRET_SOURCE";
    // SAFETY: main has not started any thread yet.
    unsafe { std::env::set_var(name, "s3cret value\n") };
    assert!(SecretSource::removal_is_safe() || !cfg!(target_os = "linux"));
    let source = SecretSource::Env(name.into());
    let got = source.read_and_remove(remove).unwrap();
    assert_eq!(
        got.as_str(),
        "s3cret value\n",
        "an environment value is taken whole"
    );
    if cfg!(target_os = "linux") {
        assert!(std::env::var_os(name).is_none(), "removed after reading");
        // Read again: the variable is gone, a specific error.
        assert!(matches!(source.read(), Err(Error::SecretMissing { .. })));
    }

    // With another thread alive the variable stays.
    // SAFETY: still single-threaded here.
    unsafe { std::env::set_var(name, "again") };
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || rx.recv());
    assert!(!SecretSource::removal_is_safe());
    let got = source
        .read_and_remove(|_| panic!("removal while another thread runs"))
        .unwrap();
    assert_eq!(got.as_str(), "again");
    tx.send(()).unwrap();
    other.join().unwrap().unwrap();
    assert_eq!(std::env::var(name).as_deref(), Ok("again"));
    println!("secret_source_env: ok");
}
