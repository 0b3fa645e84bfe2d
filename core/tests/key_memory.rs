//! Key memory as the operating system sees it: the page holding a key is
//! locked (`Locked:` above 0 kB, VmFlag `lo`) and left out of core dumps
//! (VmFlag `dd`), read from `/proc/self/smaps`; and when locking is refused
//! (no `CAP_IPC_LOCK`, `RLIMIT_MEMLOCK` 0, in a child process) keys still
//! work and the refusal is reported.

use strongroom::field::{ColumnSpec, FieldCipher, PurposeKeys, Value, ValueType};
use strongroom::{Passphrase, SecretKey, key_memory_status};

/// The `smaps` entry of the mapping holding `addr`: its `Locked:` size in
/// kB and its `VmFlags`.
#[cfg(target_os = "linux")]
fn smaps_entry(addr: usize) -> (u64, Vec<String>) {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
    let mut inside = false;
    let mut locked = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16))
        {
            inside = (start..end).contains(&addr);
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(kb) = line.strip_prefix("Locked:") {
            locked = Some(
                kb.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .expect("a size in kB"),
            );
        }
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            let flags = flags.split_whitespace().map(str::to_string).collect();
            return (locked.expect("Locked: comes before VmFlags:"), flags);
        }
    }
    panic!("no mapping holds {addr:#x}");
}

fn cipher() -> FieldCipher {
    let keys = PurposeKeys {
        field: SecretKey::random(),
        deterministic: SecretKey::random(),
        blind_index: SecretKey::random(),
    };
    FieldCipher::with_keys("t", "c", ColumnSpec::new(ValueType::Text), 1, vec![(1, keys)]).unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_key_lives_in_a_locked_page_left_out_of_core_dumps() {
    let key = SecretKey::random();
    let (locked_kb, flags) = smaps_entry(key.dangerous_expose_bytes().as_ptr() as usize);
    assert!(
        flags.iter().any(|f| f == "dd"),
        "not excluded from dumps: {flags:?}"
    );
    assert!(flags.iter().any(|f| f == "lo"), "not locked: {flags:?}");
    assert!(locked_kb > 0, "Locked: {locked_kb} kB");
    let status = key_memory_status();
    assert!(
        status.pages > 0 && status.all_locked() && status.all_dump_excluded(),
        "{status:?}"
    );
    assert_eq!(status.last_lock_error, None);
}

#[test]
fn thousands_of_keys_share_pages() {
    let before = key_memory_status().pages;
    let keys: Vec<SecretKey> = (0..4096).map(|_| SecretKey::random()).collect();
    let after = key_memory_status().pages;
    // 32-byte keys, 128 to a 4 KiB page: 32 pages (a few more if other
    // tests allocate meanwhile), never one per key.
    assert!(
        after - before.min(after) <= 48,
        "{before} -> {after} pages for 4096 keys"
    );
    let mut seen: Vec<[u8; 32]> = keys.iter().map(|k| *k.dangerous_expose_bytes()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4096, "keys overlap");
}

/// Runs `name` (an ignored test of this file) in a child process.
fn run_child(name: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture", "--test-threads", "1"])
        .env("STRONGROOM_KEY_MEMORY_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran no test: {text}");
}

#[cfg(target_os = "linux")]
#[test]
fn keys_work_when_locking_is_refused_and_the_refusal_is_reported() {
    run_child("child_with_locking_refused");
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "run in a child process by keys_work_when_locking_is_refused_and_the_refusal_is_reported"]
fn child_with_locking_refused() {
    use rustix::process::{Resource, Rlimit, setrlimit};
    use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
    assert!(std::env::var_os("STRONGROOM_KEY_MEMORY_CHILD").is_some());
    // Without CAP_IPC_LOCK, RLIMIT_MEMLOCK 0 refuses every lock (EPERM).
    let mut caps = capabilities(None).unwrap();
    caps.effective.remove(CapabilitySet::IPC_LOCK);
    caps.permitted.remove(CapabilitySet::IPC_LOCK);
    set_capabilities(None, caps).unwrap();
    setrlimit(
        Resource::Memlock,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )
    .unwrap();

    let cipher = cipher();
    let token = cipher
        .encrypt(Some(&Value::Text("alice@example.com".into())), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        cipher.decrypt(token.as_bytes(), None).unwrap(),
        Some(Value::Text("alice@example.com".into()))
    );
    let params = strongroom::passphrase::KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };
    let a = params.derive(&Passphrase::from("pw"), &[7; 16]).unwrap();
    let b = params.derive(&Passphrase::from("pw"), &[7; 16]).unwrap();
    assert_eq!(a.dangerous_expose_bytes(), b.dangerous_expose_bytes());

    let status = key_memory_status();
    assert!(status.pages > 0, "{status:?}");
    assert_eq!(status.locked_pages, 0, "{status:?}");
    assert!(!status.all_locked());
    assert!(status.lock_failures > 0, "{status:?}");
    assert_eq!(status.last_lock_error, Some(1), "EPERM: {status:?}");
    // The dump exclusion does not depend on the lock limit.
    assert!(status.all_dump_excluded(), "{status:?}");
    let (locked_kb, flags) = smaps_entry(a.dangerous_expose_bytes().as_ptr() as usize);
    assert_eq!(locked_kb, 0);
    assert!(flags.iter().any(|f| f == "dd"), "{flags:?}");
}
