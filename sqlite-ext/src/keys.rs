//! The extension's keyring and column ciphers.
//!
//! The keyring is the file named by `STRONGROOM_KEYRING`, unlocked with the
//! passphrase where the environment says (the core's one rule,
//! `SecretSource::keyring_passphrase_from_env`: the file named by
//! `STRONGROOM_KEYRING_PASSPHRASE_FILE`, else the variable named by
//! `STRONGROOM_KEYRING_PASSPHRASE_ENV`, else
//! `STRONGROOM_KEYRING_PASSPHRASE`), read with the core's rules (size cap,
//! UTF-8, one newline stripped from a file) and removed from the
//! environment when that is safe.
//!
//! It is opened on first use and opened again when its file changes (a new
//! key version added, promoted, retired: every keyring change replaces the
//! file), checked at most every [`CHECK_EVERY`]; the column ciphers built
//! from the old one are dropped with it. A failed open is not kept: the
//! next call tries again. The passphrase is kept in memory (wiped on drop)
//! for those reopenings, since its variable may be gone; a reopening that
//! finds it wrong reads its source again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strongroom::field::{ColumnSpec, FieldCipher};
use strongroom::keyring::{Keyring, Unlock};
use strongroom::{Passphrase, SecretSource};
use zeroize::Zeroizing;

/// How often the keyring file is checked for a change.
pub const CHECK_EVERY: Duration = Duration::from_millis(100);

/// What identifies a keyring file's content without reading it: a keyring
/// change writes a new file and renames it over the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl Stamp {
    fn of(path: &Path) -> Result<Stamp, String> {
        let m = std::fs::metadata(path)
            .map_err(|e| format!("strongroom: cannot read the keyring {}: {e}", path.display()))?;
        Ok(Stamp {
            len: m.len(),
            modified: m.modified().ok(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            },
        })
    }
}

/// An open keyring and what was built from it.
struct Open {
    ring: Keyring,
    path: PathBuf,
    stamp: Stamp,
    checked: Instant,
    ciphers: HashMap<(String, String, String), Arc<FieldCipher>>,
}

struct State {
    open: Option<Open>,
    /// The passphrase, once read.
    secret: Option<Zeroizing<String>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    open: None,
    secret: None,
});

fn remove_variable(name: &str) {
    // SAFETY: `read_and_remove` calls this only while the process has one
    // thread (this one), so nothing reads the environment concurrently.
    unsafe { std::env::remove_var(name) }
}

impl State {
    /// The passphrase: the one read before, else from its source now.
    fn secret(&mut self) -> Result<&Zeroizing<String>, String> {
        if self.secret.is_none() {
            let source = SecretSource::keyring_passphrase_from_env().ok_or(
                "strongroom: no keyring passphrase source (STRONGROOM_KEYRING_PASSPHRASE_FILE, STRONGROOM_KEYRING_PASSPHRASE_ENV or STRONGROOM_KEYRING_PASSPHRASE)",
            )?;
            let s = source
                .read_and_remove(remove_variable)
                .map_err(|e| format!("strongroom: {e}"))?;
            self.secret = Some(s);
        }
        Ok(self.secret.as_ref().expect("just read"))
    }

    /// Opens the keyring at `path`, or reopens it when its file changed.
    fn refresh(&mut self) -> Result<&mut Open, String> {
        let path = std::env::var_os("STRONGROOM_KEYRING")
            .map(PathBuf::from)
            .ok_or("strongroom: STRONGROOM_KEYRING (the keyring path) is not set")?;
        let fresh = self
            .open
            .as_ref()
            .is_some_and(|o| o.path == path && o.checked.elapsed() < CHECK_EVERY);
        if !fresh {
            let stamp = Stamp::of(&path)?;
            match &mut self.open {
                Some(o) if o.path == path && o.stamp == stamp => o.checked = Instant::now(),
                _ => {
                    // Dropped first: no cipher of the old keyring survives
                    // a failed reopening.
                    self.open = None;
                    let ring = self.unlock(&path)?;
                    self.open = Some(Open {
                        ring,
                        path,
                        stamp,
                        checked: Instant::now(),
                        ciphers: HashMap::new(),
                    });
                }
            }
        }
        Ok(self.open.as_mut().expect("opened above"))
    }

    fn unlock(&mut self, path: &Path) -> Result<Keyring, String> {
        let open = |secret: &str| Keyring::open(path, &Unlock::Passphrase(Passphrase::from(secret)));
        match open(self.secret()?) {
            Ok(ring) => Ok(ring),
            // The passphrase changed with the file: read its source again
            // (next time, if it cannot be read now).
            Err(strongroom::Error::WrongPassphrase) => {
                self.secret = None;
                let secret = self.secret()?;
                open(secret).map_err(|e| format!("strongroom: cannot open the keyring: {e}"))
            }
            Err(e) => Err(format!("strongroom: cannot open the keyring: {e}")),
        }
    }
}

/// The cipher of `table.column` with `spec`, from the current keyring.
pub fn cipher(table: &str, column: &str, spec: ColumnSpec) -> Result<Arc<FieldCipher>, String> {
    let mut state = STATE.lock().map_err(|_| "strongroom: poisoned state")?;
    let open = state.refresh()?;
    let key = (table.to_string(), column.to_string(), spec.to_string());
    if let Some(c) = open.ciphers.get(&key) {
        return Ok(c.clone());
    }
    let c =
        Arc::new(FieldCipher::new(&open.ring, table, column, spec).map_err(|e| format!("strongroom: {e}"))?);
    open.ciphers.insert(key, c.clone());
    Ok(c)
}
