//! The record of keyrings seen: for each keyring id, the highest generation
//! and format seen on this machine, so that a keyring file put back from an
//! old copy (rollback) or rewritten in an older, forgeable format
//! (downgrade) is refused.
//!
//! One text file (specified in `docs/SPEC.md` section 4.7), replaced
//! atomically under a sidecar lock, so concurrent processes never lose an
//! entry. Only states that authenticated in format 3 raise an entry: an
//! older format proves nothing about who wrote it, and an entry it raised
//! could lock the real keyring out.

use super::store;
use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// First line of the record file.
const HEADER: &str = "strongroom-keyrings-seen 1";
/// The record's file name inside the state folder.
pub const FILE_NAME: &str = "keyrings-seen";
/// Largest record file read (about 60 000 keyrings).
const MAX_LEN: u64 = 4 << 20;
/// How long an update waits for another process's lock on the record.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// The format whose states the record keeps.
const RECORDED_FROM: u8 = super::layout::VERSION;
const WHAT: &str = "record of keyrings seen";

/// The highest state of one keyring seen on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Seen {
    /// The highest format seen.
    pub format: u8,
    /// The highest generation seen.
    pub generation: u64,
}

/// A record of keyrings seen, kept in one file (see the module
/// documentation). Opt-in for the library: pass one to
/// [`KeyringOptions::seen_record`](super::KeyringOptions::seen_record),
/// or give one to an open handle with
/// [`Keyring::set_seen_record`](super::Keyring::set_seen_record) and
/// [`Keyring::reload`](super::Keyring::reload). The command line uses
/// [`SeenRecord::at_default_location`] unless told not to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRecord {
    path: PathBuf,
}

impl SeenRecord {
    /// A record kept in the file at `path` (created when first needed,
    /// with its folder, mode 0600 and 0700).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The default record file: `keyrings-seen` in `$STRONGROOM_STATE_DIR`
    /// if set, else in `$XDG_STATE_HOME/strongroom` (an absolute path),
    /// else in `~/.local/state/strongroom` (`%LOCALAPPDATA%\strongroom` on
    /// Windows). [`Error::InvalidArgument`] if none of these is known.
    pub fn default_path() -> Result<PathBuf> {
        state_dir(|name| std::env::var_os(name)).map(|dir| dir.join(FILE_NAME))
    }

    /// The record at [`SeenRecord::default_path`].
    pub fn at_default_location() -> Result<Self> {
        Self::default_path().map(Self::new)
    }

    /// The record file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the record holds for keyring `id`, if anything.
    pub fn get(&self, id: &[u8; 16]) -> Result<Option<Seen>> {
        Ok(self.read()?.get(id).copied())
    }

    /// Refuses a state of keyring `id` that is older than the one
    /// recorded: [`Error::KeyringDowngraded`] for an older format,
    /// [`Error::KeyringRolledBack`] for a lower generation of the same
    /// format. Needs no lock: the file is replaced atomically.
    ///
    /// To check a keyring file another process may be changing, read the
    /// record ([`SeenRecord::snapshot`]) *before* the keyring file: a
    /// process raises the record only after its keyring file is on disk, so
    /// a snapshot taken first never runs ahead of the file read after it.
    pub fn check(&self, id: &[u8; 16], format: u8, generation: u64) -> Result<()> {
        self.snapshot()?.check(id, format, generation)
    }

    /// The record as it is now, to check keyring states against later.
    pub fn snapshot(&self) -> Result<SeenSnapshot> {
        Ok(SeenSnapshot(self.read()?))
    }

    /// Raises the entry of keyring `id` to this authenticated state (a
    /// state below format 3 is not recorded). Under the record's lock, so
    /// concurrent updates keep the highest of each.
    pub fn record(&self, id: &[u8; 16], format: u8, generation: u64) -> Result<()> {
        if format < RECORDED_FROM {
            return Ok(());
        }
        let wanted = Seen { format, generation };
        if self.get(id)?.is_some_and(|seen| !raises(seen, wanted)) {
            return Ok(());
        }
        create_dir(self.path.parent())?;
        let _guard = store::lock(&self.path, LOCK_TIMEOUT)?;
        let mut entries = self.read()?;
        let entry = entries.entry(*id).or_insert(wanted);
        if raises(*entry, wanted) {
            *entry = wanted;
        }
        self.write(&entries)
    }

    fn read(&self) -> Result<BTreeMap<[u8; 16], Seen>> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(Error::Io(e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_LEN + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_LEN {
            return Err(Error::malformed(WHAT, "larger than 4 MiB"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::malformed(WHAT, "not UTF-8 text"))?;
        parse(text)
    }

    fn write(&self, entries: &BTreeMap<[u8; 16], Seen>) -> Result<()> {
        let mut out = AtomicFile::create(&self.path, true)?;
        #[cfg(unix)]
        out.set_mode(0o600)?;
        out.file().write_all(render(entries).as_bytes())?;
        out.commit()
    }
}

/// The state folder by the documented order, with `var` reading the
/// environment (empty values count as unset).
fn state_dir(var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("STRONGROOM_STATE_DIR")
        .or_else(|| {
            var("XDG_STATE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("strongroom"))
        })
        .or_else(|| {
            var("HOME")
                .filter(|_| cfg!(unix))
                .map(|h| h.join(".local").join("state").join("strongroom"))
        })
        .or_else(|| var("LOCALAPPDATA").map(|p| p.join("strongroom")))
        .ok_or_else(|| {
            Error::InvalidArgument(
                "no folder for the record of keyrings seen: set STRONGROOM_STATE_DIR (or HOME)".into(),
            )
        })
}

/// The record of keyrings seen as it was when read
/// ([`SeenRecord::snapshot`]).
#[derive(Debug, Clone)]
pub struct SeenSnapshot(BTreeMap<[u8; 16], Seen>);

impl SeenSnapshot {
    /// What the snapshot holds for keyring `id`.
    pub fn get(&self, id: &[u8; 16]) -> Option<Seen> {
        self.0.get(id).copied()
    }

    /// [`SeenRecord::check`] against this snapshot.
    pub fn check(&self, id: &[u8; 16], format: u8, generation: u64) -> Result<()> {
        let Some(seen) = self.get(id) else {
            return Ok(());
        };
        if format < seen.format {
            return Err(Error::KeyringDowngraded {
                seen: seen.format,
                found: format,
            });
        }
        if format == seen.format && generation < seen.generation {
            return Err(Error::KeyringRolledBack {
                seen: seen.generation,
                found: generation,
            });
        }
        Ok(())
    }
}

/// Whether `new` is above `old`: a higher format, or the same format and a
/// higher generation.
fn raises(old: Seen, new: Seen) -> bool {
    (new.format, new.generation) > (old.format, old.generation)
}

/// Creates the record's folder (mode 0700 on unix) if missing.
fn create_dir(dir: Option<&Path>) -> Result<()> {
    let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    Ok(())
}

/// Parses the record: the header line, then one line per keyring,
/// `<id: 32 lower-case hex> <format> <generation>`, ids ascending.
fn parse(text: &str) -> Result<BTreeMap<[u8; 16], Seen>> {
    let mut lines = text.split_terminator('\n');
    if lines.next() != Some(HEADER) {
        return Err(Error::malformed(
            WHAT,
            format!("the first line is not `{HEADER}`"),
        ));
    }
    let mut entries = BTreeMap::new();
    let mut last: Option<[u8; 16]> = None;
    for (n, line) in lines.enumerate() {
        let bad = || Error::malformed(WHAT, format!("line {} is not `ID FORMAT GENERATION`", n + 2));
        let mut fields = line.split(' ');
        let (Some(id), Some(format), Some(generation), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let id: [u8; 16] = data_encoding::HEXLOWER
            .decode(id.as_bytes())
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(bad)?;
        let decimal = |s: &str| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
        };
        if !decimal(format) || !decimal(generation) {
            return Err(bad());
        }
        let format: u8 = format.parse().map_err(|_| bad())?;
        let generation: u64 = generation.parse().map_err(|_| bad())?;
        if last.is_some_and(|l| l >= id) {
            return Err(Error::malformed(
                WHAT,
                format!("line {}: keyring ids are not in ascending order", n + 2),
            ));
        }
        last = Some(id);
        entries.insert(id, Seen { format, generation });
    }
    Ok(entries)
}

fn render(entries: &BTreeMap<[u8; 16], Seen>) -> String {
    let mut out = String::with_capacity(HEADER.len() + 1 + entries.len() * 60);
    out.push_str(HEADER);
    out.push('\n');
    for (id, seen) in entries {
        out.push_str(&data_encoding::HEXLOWER.encode(id));
        out.push_str(&format!(" {} {}\n", seen.format, seen.generation));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID_A: [u8; 16] = [0x40; 16];
    const ID_B: [u8; 16] = [0x0f; 16];

    #[test]
    fn check_refuses_lower_generations_and_older_formats() {
        let dir = tempfile::tempdir().unwrap();
        let record = SeenRecord::new(dir.path().join("state/keyrings-seen"));
        record.check(&ID_A, 3, 1).unwrap();
        assert_eq!(record.get(&ID_A).unwrap(), None);
        record.record(&ID_A, 3, 7).unwrap();
        assert_eq!(
            record.get(&ID_A).unwrap(),
            Some(Seen {
                format: 3,
                generation: 7
            })
        );
        record.check(&ID_A, 3, 7).unwrap();
        record.check(&ID_A, 3, 8).unwrap();
        assert!(matches!(
            record.check(&ID_A, 3, 6),
            Err(Error::KeyringRolledBack { seen: 7, found: 6 })
        ));
        assert!(matches!(
            record.check(&ID_A, 2, 100),
            Err(Error::KeyringDowngraded { seen: 3, found: 2 })
        ));
        // Another keyring is unaffected; a lower state never lowers the entry.
        record.check(&ID_B, 2, 1).unwrap();
        record.record(&ID_A, 3, 5).unwrap();
        assert_eq!(record.get(&ID_A).unwrap().unwrap().generation, 7);
        // Older formats are not recorded.
        record.record(&ID_B, 2, 9).unwrap();
        assert_eq!(record.get(&ID_B).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(record.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_file_is_the_specified_text() {
        let dir = tempfile::tempdir().unwrap();
        let record = SeenRecord::new(dir.path().join("keyrings-seen"));
        record.record(&ID_A, 3, 12).unwrap();
        record.record(&ID_B, 3, 1).unwrap();
        let text = std::fs::read_to_string(record.path()).unwrap();
        assert_eq!(
            text,
            "strongroom-keyrings-seen 1\n\
             0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f 3 1\n\
             40404040404040404040404040404040 3 12\n"
        );
    }

    #[test]
    fn a_damaged_record_is_refused_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyrings-seen");
        let record = SeenRecord::new(&path);
        for bad in [
            "",
            "something else\n",
            "strongroom-keyrings-seen 1\n40404040404040404040404040404040 3\n",
            "strongroom-keyrings-seen 1\n4040404040404040404040404040404 3 1\n",
            "strongroom-keyrings-seen 1\n40404040404040404040404040404040 3 01\n",
            "strongroom-keyrings-seen 1\n40404040404040404040404040404040 3 -1\n",
            "strongroom-keyrings-seen 1\n40404040404040404040404040404040 3 1 x\n",
            "strongroom-keyrings-seen 1\n40404040404040404040404040404040 3 1\n0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f 3 1\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(
                matches!(
                    record.check(&ID_A, 3, 1),
                    Err(Error::Malformed { what: WHAT, .. })
                ),
                "{bad:?}"
            );
            assert!(matches!(
                record.record(&ID_A, 3, 1),
                Err(Error::Malformed { what: WHAT, .. })
            ));
        }
    }

    #[test]
    fn concurrent_updates_keep_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let record = SeenRecord::new(dir.path().join("keyrings-seen"));
        let threads: Vec<_> = (0u8..8)
            .map(|t| {
                let record = record.clone();
                std::thread::spawn(move || {
                    for g in 1..=10u64 {
                        record.record(&[t; 16], 3, g).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for t in 0u8..8 {
            assert_eq!(record.get(&[t; 16]).unwrap().unwrap().generation, 10);
        }
    }

    #[test]
    fn default_location_follows_the_documented_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        static ALL: [(&str, &str); 4] = [
            ("STRONGROOM_STATE_DIR", "/srv/state"),
            ("XDG_STATE_HOME", "/home/u/.st"),
            ("HOME", "/home/u"),
            ("LOCALAPPDATA", "C:/Users/u/AppData/Local"),
        ];
        assert_eq!(state_dir(env(&ALL)).unwrap(), PathBuf::from("/srv/state"));
        assert_eq!(
            state_dir(env(&ALL[1..])).unwrap(),
            PathBuf::from("/home/u/.st/strongroom")
        );
        // A relative XDG_STATE_HOME is ignored, as the XDG rules say.
        assert_eq!(
            state_dir(env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/home/u")])).unwrap(),
            PathBuf::from("/home/u/.local/state/strongroom")
        );
        // Empty means unset.
        assert_eq!(
            state_dir(env(&[("STRONGROOM_STATE_DIR", ""), ("HOME", "/home/u")])).unwrap(),
            PathBuf::from("/home/u/.local/state/strongroom")
        );
        assert!(matches!(state_dir(env(&[])), Err(Error::InvalidArgument(_))));
    }
}
