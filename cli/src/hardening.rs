//! Process hardening while keys are in memory: no core dumps, and the
//! secrets read from environment variables removed from the environment so
//! that child processes do not inherit them.

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::{Mutex, OnceLock};
use zeroize::Zeroizing;

/// The options that name an environment variable holding a secret.
const ENV_OPTIONS: [&str; 7] = [
    "--keyring-passphrase-env",
    "--recovery-key-env",
    "--passphrase-env",
    "--new-passphrase-env",
    "--db-password-env",
    "--other-passphrase-env",
    "--other-recovery-key-env",
];

/// The secret environment variables as they were at start-up: their raw
/// bytes, checked by the core's rules ([`strongroom::SecretSource::accept`])
/// when a command uses one.
static TAKEN: OnceLock<Mutex<HashMap<String, Zeroizing<Vec<u8>>>>> = OnceLock::new();

/// Makes the process non-dumpable and gives it a zero core-file limit, so a
/// crash never writes the keys it holds to disk. Failures are ignored: the
/// command works without the hardening (and says nothing about secrets).
pub fn disable_core_dumps() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
        let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    }
}

/// The names of every environment variable the command line may read a
/// secret from: the defaults, and those named by `--…-env NAME` options in
/// `args` (the arguments after the program name).
fn secret_variable_names(args: &[OsString], defaults: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = defaults.iter().map(|d| d.to_string()).collect();
    let mut iter = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        for option in ENV_OPTIONS {
            if arg == option {
                if let Some(name) = iter.next() {
                    names.push(name);
                }
            } else if let Some(name) = arg.strip_prefix(option).and_then(|r| r.strip_prefix('=')) {
                names.push(name.to_string());
            }
        }
    }
    names.retain(|n| !n.is_empty() && !n.starts_with('-') && !n.contains('=') && !n.contains('\0'));
    names.sort();
    names.dedup();
    names
}

/// Reads every secret environment variable the command may use into
/// memory (wiped on exit) and removes it from the process environment.
///
/// Must be called first thing in `main`, while the process has one thread.
pub fn take_environment_secrets(defaults: &[&str]) {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut defaults: Vec<String> = defaults.iter().map(|d| d.to_string()).collect();
    // The variable STRONGROOM_KEYRING_PASSPHRASE_ENV names holds a secret.
    if let Some(name) = std::env::var_os(strongroom::secret_source::ENV_KEYRING_PASSPHRASE_ENV) {
        defaults.push(name.to_string_lossy().into_owned());
    }
    let defaults: Vec<&str> = defaults.iter().map(String::as_str).collect();
    let mut taken = HashMap::new();
    for name in secret_variable_names(&args, &defaults) {
        let Some(value) = std::env::var_os(&name) else {
            continue;
        };
        taken.insert(name.clone(), Zeroizing::new(os_bytes(value)));
        remove_from_environment(&name);
    }
    let _ = TAKEN.set(Mutex::new(taken));
}

#[allow(unsafe_code)]
fn remove_from_environment(name: &str) {
    wipe_environment_value(name);
    // SAFETY: `take_environment_secrets` runs at the start of `main`, before
    // the command line starts any thread, so nothing reads or writes the
    // environment concurrently.
    unsafe { std::env::remove_var(name) };
}

/// Overwrites the value of variable `name` with zeros where the process's
/// environment holds it. Removing a variable only drops its entry from the
/// list: the bytes stay in memory, and on Linux the kernel keeps showing
/// the environment the process started with in `/proc/PID/environ`, value
/// included. After this, that file shows `NAME=` followed by zeros.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn wipe_environment_value(name: &str) {
    use zeroize::Zeroize;
    let Ok(c_name) = std::ffi::CString::new(name) else {
        return;
    };
    // SAFETY: called only from `take_environment_secrets`, while the
    // process has one thread, so no one else reads or changes the
    // environment meanwhile. `getenv` returns null or a pointer to the
    // NUL-terminated value inside the environment's own `NAME=value`
    // string, which glibc and musl keep in writable memory (the initial
    // environment on the stack, or a string `setenv` allocated); its
    // `strlen` bytes are overwritten in place (not the terminator), so the
    // entry still reads as a valid, now empty, `NAME=` string until
    // `remove_var` drops it.
    unsafe {
        let value = libc::getenv(c_name.as_ptr());
        if !value.is_null() {
            let len = libc::strlen(value);
            std::slice::from_raw_parts_mut(value.cast::<u8>(), len).zeroize();
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn wipe_environment_value(_name: &str) {}

/// The raw bytes of an environment variable's value.
#[cfg(unix)]
fn os_bytes(value: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    value.into_vec()
}

/// The raw bytes of an environment variable's value (not Unicode on
/// Windows: bytes that are not UTF-8 either, which the core's rule refuses
/// as such).
#[cfg(not(unix))]
fn os_bytes(value: OsString) -> Vec<u8> {
    value
        .into_string()
        .map_or_else(|_| vec![0xff], String::into_bytes)
}

/// Runs `f` on the raw value of the secret variable `name` as it was at
/// start-up (`None` when it was not set).
pub fn with_env_secret<R>(name: &str, f: impl FnOnce(Option<&Zeroizing<Vec<u8>>>) -> R) -> R {
    match TAKEN.get() {
        Some(map) => {
            let map = map.lock().unwrap_or_else(|p| p.into_inner());
            f(map.get(name))
        }
        None => f(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_defaults_and_named_variables_in_both_spellings() {
        let names = secret_variable_names(
            &os(&[
                "decrypt",
                "--passphrase-env",
                "MY_PASS",
                "--keyring-passphrase-env=RING_PASS",
                "--recovery-key-env",
                "--looks-like-an-option",
                "--db-password-env=DB_PASS",
                "--",
                "--new-passphrase-env",
                "AFTER_DASHES",
            ]),
            &["STRONGROOM_PASSPHRASE", "STRONGROOM_DB_PASSWORD"],
        );
        assert_eq!(
            names,
            [
                "DB_PASS",
                "MY_PASS",
                "RING_PASS",
                "STRONGROOM_DB_PASSWORD",
                "STRONGROOM_PASSPHRASE"
            ]
        );
    }

    #[test]
    fn refuses_names_that_cannot_be_variables() {
        let names = secret_variable_names(&os(&["--passphrase-env=A=B", "--passphrase-env="]), &[]);
        assert!(names.is_empty(), "{names:?}");
    }
}
