//! Crash tests of the file commands: `encrypt`, `decrypt` (to a new file,
//! over an old one with `--force`, and from standard input), `rewrap`
//! (`--to-primary`, `--add-passphrase`, `--remove-all-passphrases`) and
//! `rewrap --rekey`, in place, are killed with SIGKILL at a random moment,
//! many times over, on inputs from empty to several MiB (many chunks).
//! After each round the source is byte for byte what it was, the
//! destination is absent or complete (it decrypts to the source, or is the
//! plaintext), an in-place file is the old one or a complete new one, and
//! nothing but the expected files is left in the folder. A temporary file
//! named `.strongroom-<16 hex>.tmp` is tolerated only when the command
//! replaces a file, only complete, and later commands must ignore it.
//!
//! Then two processes rewrap or rekey one file at once, and two encrypt to
//! one destination: one wins and the other fails with a specific error, or
//! both succeed and the result holds both changes; nothing is lost.
//!
//! About 30 seconds by default; `STRONGROOM_CRASH_ROUNDS=2000` runs
//! longer, `STRONGROOM_CRASH_SEED=N` replays a run.

mod helpers;

use helpers::crash::{Rng, Spread, rounds, run_killed};
use helpers::*;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use strongroom::Passphrase;
use strongroom::file::{Decryptor, EncryptedFile, FileInfo, Identity, StanzaInfo};
use strongroom::keyring::{Keyring, Unlock};

/// The passphrase some files are also encrypted to.
const FILE_PASS: &str = "file passphrase for the crash test";

/// Sizes of the sources: empty, short, around one 16 KiB chunk, and
/// several MiB so that kills land in the middle of the writing.
const SIZES: [usize; 6] = [0, 1000, 16 * 1024 + 7, 300_000, (2 << 20) + 5, (5 << 20) - 3];

/// The keys a test uses to check outputs.
struct Keys {
    keyring: Keyring,
    pass: Passphrase,
}

impl Keys {
    fn open(w: &World) -> Self {
        Keys {
            keyring: Keyring::open(&w.keyring(), &Unlock::Passphrase(Passphrase::from(KEYRING_PASS)))
                .unwrap(),
            pass: Passphrase::from(FILE_PASS),
        }
    }

    /// Decrypts `bytes` with the keyring and the file passphrase, or with
    /// the passphrase alone; `None` if it does not authenticate.
    fn decrypt(&self, bytes: &[u8], passphrase_only: bool) -> Option<Vec<u8>> {
        let ids = if passphrase_only {
            vec![Identity::Passphrase(&self.pass)]
        } else {
            vec![Identity::Keyring(&self.keyring), Identity::Passphrase(&self.pass)]
        };
        let mut dec = Decryptor::new(bytes, &ids).ok()?;
        let mut out = Vec::new();
        dec.read_to_end(&mut out).ok()?;
        Some(out)
    }
}

/// The header of an encrypted file, without any key.
fn info(bytes: &[u8]) -> FileInfo {
    EncryptedFile::open(bytes).unwrap().info().clone()
}

fn has_passphrase(info: &FileInfo) -> bool {
    info.stanzas
        .iter()
        .any(|s| matches!(s, StanzaInfo::Passphrase { .. }))
}

fn keyring_versions(info: &FileInfo) -> Vec<u32> {
    info.stanzas
        .iter()
        .filter_map(|s| match s {
            StanzaInfo::Keyring { key_version, .. } => Some(*key_version),
            _ => None,
        })
        .collect()
}

/// What a round runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// `encrypt pI` to a new `pI.srf` (sometimes also to the passphrase).
    Encrypt,
    /// `encrypt --force pI` over an older `pI.srf`.
    EncryptForce,
    /// `encrypt - -o pI.srf`, the source on standard input.
    EncryptStdin,
    /// `decrypt eI.srf -o dI` to a new file.
    Decrypt,
    /// `decrypt --force eI.srf -o dI` over an older `dI`.
    DecryptForce,
    /// `decrypt - -o dI`, the encrypted file on standard input.
    DecryptStdin,
    /// `rewrap --to-primary eI.srf`.
    ToPrimary,
    /// `rewrap --add-passphrase` or `--remove-all-passphrases` on `eI.srf`.
    Passphrases,
    /// `rewrap --rekey eI.srf`.
    Rekey,
}

const OPS: [Op; 9] = [
    Op::Encrypt,
    Op::EncryptForce,
    Op::EncryptStdin,
    Op::Decrypt,
    Op::DecryptForce,
    Op::DecryptStdin,
    Op::ToPrimary,
    Op::Passphrases,
    Op::Rekey,
];

/// Is `name` the temporary file name of the atomic writer?
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(".strongroom-")
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The state of the files folder that the test knows.
struct Files {
    dir: PathBuf,
    /// The sources `pI`, by slot.
    plain: Vec<Vec<u8>>,
    /// The long-lived encrypted files `eI.srf`, by slot.
    enc: Vec<Vec<u8>>,
    /// Leftover temporary files seen so far (tolerated, then ignored).
    leftovers: BTreeSet<String>,
}

impl Files {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        match std::fs::read(self.path(name)) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => panic!("{name}: {e}"),
        }
    }

    fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.path(name));
    }

    /// The names that must be there: every source and encrypted file, and
    /// the optional outputs that exist.
    fn expected_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for i in 0..self.plain.len() {
            names.insert(format!("p{i}"));
            names.insert(format!("e{i}.srf"));
            for optional in [format!("p{i}.srf"), format!("d{i}")] {
                if self.path(&optional).exists() {
                    names.insert(optional);
                }
            }
        }
        names
    }

    /// New names beyond the expected ones: only temporary files of the
    /// atomic writer are allowed, and returned.
    fn new_leftovers(&mut self, round: usize, op: Op) -> Vec<String> {
        let expected = self.expected_names();
        let mut fresh = Vec::new();
        for name in names_in(&self.dir) {
            if expected.contains(&name) || self.leftovers.contains(&name) {
                continue;
            }
            assert!(
                is_temp_name(&name),
                "round {round} ({op:?}): unexpected file {name} left in the folder"
            );
            fresh.push(name);
        }
        for want in &expected {
            assert!(self.path(want).exists(), "round {round}: {want} vanished");
        }
        fresh
    }
}

/// What a round saw: whether the command was killed, whether its
/// destination changed, and how long it ran when it completed.
struct Outcome {
    killed: bool,
    changed: bool,
    took: Option<Duration>,
}

fn command(w: &World, args: &[String]) -> Command {
    let mut c = w.cmd(args);
    c.env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS);
    c
}

fn s(x: &str) -> String {
    x.to_string()
}

/// One round: runs the command for `op` on slot `i` (killed after
/// `delay`), checks every invariant, and learns the new state.
#[allow(clippy::too_many_arguments)]
fn round(
    w: &World,
    keys: &Keys,
    files: &mut Files,
    rng: &mut Rng,
    op: Op,
    i: usize,
    delay: Duration,
    round: usize,
) -> Outcome {
    let p = format!("files/p{i}");
    let e = format!("files/e{i}.srf");
    let pe = format!("p{i}.srf");
    let d = format!("d{i}");
    let plain = files.plain[i].clone();
    let enc_before = files.enc[i].clone();
    let info_before = info(&enc_before);
    let with_pass = rng.below(3) == 0;

    // Prepare the destination and build the command.
    let mut stdin: Option<PathBuf> = None;
    let mut args: Vec<String> = vec![s("--no-progress")];
    let mut env: Vec<(&str, &str)> = Vec::new();
    // What the destination held before (for --force), if anything.
    let mut old_dest: Option<Vec<u8>> = None;
    match op {
        Op::Encrypt | Op::EncryptStdin => {
            files.remove(&pe);
            if op == Op::Encrypt {
                args.extend([s("encrypt"), p.clone()]);
            } else {
                args.extend([s("encrypt"), s("-"), s("-o"), format!("files/{pe}")]);
                stdin = Some(files.path(&format!("p{i}")));
            }
            if with_pass {
                args.extend([s("--passphrase-env"), s("FP")]);
                args.extend(FAST.iter().map(|x| x.to_string()));
                env.push(("FP", FILE_PASS));
            }
        }
        Op::EncryptForce => {
            // An older complete output of the same source: the current eI.srf.
            let old = match files.read(&pe) {
                Some(b) => b,
                None => {
                    std::fs::write(files.path(&pe), &enc_before).unwrap();
                    enc_before.clone()
                }
            };
            old_dest = Some(old);
            args.extend([s("encrypt"), s("--force"), p.clone()]);
        }
        Op::Decrypt | Op::DecryptStdin => {
            files.remove(&d);
            if op == Op::Decrypt {
                args.extend([s("decrypt"), e.clone(), s("-o"), format!("files/{d}")]);
            } else {
                args.extend([s("decrypt"), s("-"), s("-o"), format!("files/{d}")]);
                stdin = Some(files.path(&format!("e{i}.srf")));
            }
        }
        Op::DecryptForce => {
            // Something else than the plaintext, to tell old from new.
            let old = data(1 + rng.below(70_000) as usize, 0x5a);
            std::fs::write(files.path(&d), &old).unwrap();
            old_dest = Some(old);
            args.extend([
                s("decrypt"),
                s("--force"),
                e.clone(),
                s("-o"),
                format!("files/{d}"),
            ]);
        }
        Op::ToPrimary => args.extend([s("rewrap"), s("--to-primary"), e.clone()]),
        Op::Passphrases => {
            if has_passphrase(&info_before) {
                args.extend([s("rewrap"), s("--remove-all-passphrases"), e.clone()]);
            } else {
                args.extend([
                    s("rewrap"),
                    s("--add-passphrase"),
                    s("--new-passphrase-env"),
                    s("NFP"),
                ]);
                args.extend(FAST.iter().map(|x| x.to_string()));
                args.push(e.clone());
                env.push(("NFP", FILE_PASS));
            }
        }
        Op::Rekey => {
            args.extend([s("rewrap"), s("--rekey"), e.clone()]);
            args.extend(FAST.iter().map(|x| x.to_string()));
            if has_passphrase(&info_before) {
                // The passphrase stanza is rebuilt with the current passphrase.
                args.extend([s("--passphrase-env"), s("FP")]);
                env.push(("FP", FILE_PASS));
            }
        }
    }
    let mut cmd = command(w, &args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(from) = &stdin {
        cmd.stdin(Stdio::from(std::fs::File::open(from).unwrap()));
    }

    let out = run_killed(cmd, delay);
    let killed = out.is_none();
    let mut took = None;
    if let Some((o, t)) = &out {
        assert!(
            o.status.success(),
            "round {round} ({op:?} on slot {i}) failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        took = Some(*t);
    }

    // The source is intact, whatever happened.
    assert_eq!(
        files.read(&format!("p{i}")).as_deref(),
        Some(plain.as_slice()),
        "round {round} ({op:?}): the source changed"
    );
    if !matches!(op, Op::ToPrimary | Op::Passphrases | Op::Rekey) {
        assert_eq!(
            files.read(&format!("e{i}.srf")).as_deref(),
            Some(enc_before.as_slice()),
            "round {round} ({op:?}): the encrypted source changed"
        );
    }

    // A complete output of this round (destination or leftover temporary).
    let check_output = |bytes: &[u8], what: &str| match op {
        Op::Encrypt | Op::EncryptStdin | Op::EncryptForce => {
            assert_eq!(
                keys.decrypt(bytes, false).as_deref(),
                Some(plain.as_slice()),
                "round {round} ({op:?}): {what} is not a complete encryption of the source"
            );
            if with_pass && op != Op::EncryptForce {
                assert_eq!(
                    keys.decrypt(bytes, true).as_deref(),
                    Some(plain.as_slice()),
                    "round {round} ({op:?}): {what} does not open with the passphrase"
                );
            }
        }
        Op::Decrypt | Op::DecryptStdin | Op::DecryptForce => {
            assert!(
                bytes == plain.as_slice(),
                "round {round} ({op:?}): {what} is not the complete plaintext ({} of {} bytes)",
                bytes.len(),
                plain.len()
            );
        }
        Op::ToPrimary | Op::Passphrases | Op::Rekey => {
            let after = info(bytes);
            assert_eq!(
                keys.decrypt(bytes, false).as_deref(),
                Some(plain.as_slice()),
                "round {round} ({op:?}): {what} does not decrypt to the plaintext"
            );
            if op == Op::Rekey {
                assert_ne!(
                    after.file_id, info_before.file_id,
                    "round {round}: {what}: no new file key"
                );
                assert_eq!(
                    has_passphrase(&after),
                    has_passphrase(&info_before),
                    "round {round}"
                );
            } else {
                // Header only: the payload is copied byte for byte.
                assert_eq!(after.file_id, info_before.file_id, "round {round}: {what}");
                assert!(
                    bytes[after.header_len as usize..] == enc_before[info_before.header_len as usize..],
                    "round {round} ({op:?}): {what}: the payload changed"
                );
            }
            match op {
                Op::ToPrimary => assert_eq!(
                    keyring_versions(&after),
                    vec![keys.keyring.primary_version()],
                    "round {round}: {what}"
                ),
                Op::Passphrases => {
                    assert_ne!(
                        has_passphrase(&after),
                        has_passphrase(&info_before),
                        "round {round}: {what}"
                    )
                }
                _ => {}
            }
            if has_passphrase(&after) {
                assert_eq!(
                    keys.decrypt(bytes, true).as_deref(),
                    Some(plain.as_slice()),
                    "round {round} ({op:?}): {what} does not open with the passphrase"
                );
            }
        }
    };

    // The destination: absent (or the old one) or complete.
    let changed = match op {
        Op::Encrypt | Op::EncryptStdin | Op::Decrypt | Op::DecryptStdin => {
            let name = if matches!(op, Op::Encrypt | Op::EncryptStdin) {
                &pe
            } else {
                &d
            };
            match files.read(name) {
                Some(bytes) => {
                    check_output(&bytes, name);
                    true
                }
                None => {
                    assert!(killed, "round {round} ({op:?}): completed without output");
                    false
                }
            }
        }
        Op::EncryptForce | Op::DecryptForce => {
            let name = if op == Op::EncryptForce { &pe } else { &d };
            let bytes = files
                .read(name)
                .unwrap_or_else(|| panic!("round {round} ({op:?}): {name} vanished"));
            if Some(&bytes) == old_dest.as_ref() {
                assert!(
                    killed,
                    "round {round} ({op:?}): completed without replacing {name}"
                );
                false
            } else {
                check_output(&bytes, name);
                true
            }
        }
        Op::ToPrimary | Op::Passphrases | Op::Rekey => {
            let name = format!("e{i}.srf");
            let bytes = files
                .read(&name)
                .unwrap_or_else(|| panic!("round {round} ({op:?}): {name} vanished"));
            if bytes == enc_before {
                assert!(
                    killed,
                    "round {round} ({op:?}): completed without changing {name}"
                );
                false
            } else {
                check_output(&bytes, &name);
                files.enc[i] = bytes;
                true
            }
        }
    };

    // Nothing else in the folder, except a complete temporary file that a
    // replacing command may leave when killed between naming and renaming it.
    for name in files.new_leftovers(round, op) {
        assert!(
            killed
                && matches!(
                    op,
                    Op::EncryptForce | Op::DecryptForce | Op::ToPrimary | Op::Passphrases | Op::Rekey
                ),
            "round {round} ({op:?}): temporary file {name} left by a run that {}",
            if killed {
                "only creates a file"
            } else {
                "completed"
            }
        );
        let bytes = files.read(&name).unwrap();
        check_output(&bytes, &name);
        eprintln!("round {round} ({op:?}): complete temporary file {name} left by the kill");
        files.leftovers.insert(name);
    }
    Outcome {
        killed,
        changed,
        took,
    }
}

fn setup(w: &World, rng: &mut Rng) -> Files {
    w.init_keyring();
    let dir = w.path("files");
    std::fs::create_dir(&dir).unwrap();
    let mut files = Files {
        dir,
        plain: Vec::new(),
        enc: Vec::new(),
        leftovers: BTreeSet::new(),
    };
    for (i, &len) in SIZES.iter().enumerate() {
        let plain = data(len, rng.next() as u8);
        std::fs::write(files.path(&format!("p{i}")), &plain).unwrap();
        let out = w.run([
            "encrypt",
            &format!("files/p{i}"),
            "-o",
            &format!("files/e{i}.srf"),
        ]);
        assert_code(&out, 0);
        files.enc.push(files.read(&format!("e{i}.srf")).unwrap());
        files.plain.push(plain);
    }
    // A new primary version, so that --to-primary moves the stanzas.
    assert_code(&w.run(["keyring", "add-key", "--promote"]), 0);
    files
}

#[test]
fn every_file_command_survives_sigkill() {
    let w = World::new();
    let mut rng = Rng::seeded();
    let mut files = setup(&w, &mut rng);
    let keys = Keys::open(&w);
    let mut spreads = std::collections::BTreeMap::new();
    let rounds = rounds(300);
    // Per command: rounds, kills, kills after the destination changed.
    let mut counts: std::collections::BTreeMap<Op, (usize, usize, usize)> = Default::default();
    for n in 1..=rounds {
        let op = OPS[rng.below(OPS.len() as u64) as usize];
        let i = rng.below(SIZES.len() as u64) as usize;
        // Spread per command and size class: a 5 MiB file runs longer.
        let spread = spreads
            .entry((op, i))
            .or_insert_with(|| Spread::new(Duration::from_millis(30)));
        let delay = spread.delay(&mut rng);
        let outcome = round(&w, &keys, &mut files, &mut rng, op, i, delay, n);
        match outcome.took {
            Some(took) => spread.learn(took),
            None => spread.learn_killed(),
        }
        let c = counts.entry(op).or_default();
        c.0 += 1;
        if outcome.killed {
            c.1 += 1;
            if outcome.changed {
                c.2 += 1;
            }
        }
    }
    // Later commands ignore leftover temporary files: every file still
    // decrypts through the binary, and nothing new was left.
    for i in 0..SIZES.len() {
        let out = w.run(["decrypt", &format!("files/e{i}.srf"), "-o", "-"]);
        assert_code(&out, 0);
        assert!(out.stdout == files.plain[i], "slot {i}");
    }
    let kills: usize = counts.values().map(|c| c.1).sum();
    for (op, (total, killed, after)) in &counts {
        eprintln!("{op:?}: {total} rounds, {killed} killed ({after} after the output was in place)");
    }
    eprintln!(
        "{rounds} rounds, {kills} killed mid-run, {} temporary files left by kills",
        files.leftovers.len()
    );
    assert!(kills > rounds / 4, "too few kills ({kills}) to mean anything");
}

/// Runs the two commands at the same moment (as closely as two spawns go).
fn race(a: Command, b: Command) -> (std::process::Output, std::process::Output) {
    let go = |mut c: Command| c.spawn().unwrap();
    let (ca, cb) = (go(a), go(b));
    (ca.wait_with_output().unwrap(), cb.wait_with_output().unwrap())
}

/// The error name of a command that failed (run with --json).
fn error_name(out: &std::process::Output) -> String {
    json_error(out)["error"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Two processes change one file at once: rewrap against rewrap, rewrap
/// against rekey, rekey against rekey. Either both succeed and the file
/// holds both changes, or one fails with `Locked` (exit 7) and the file
/// holds the other's change; never a change reported done and then lost,
/// never a rekey undone.
#[test]
fn two_processes_changing_one_file_lose_nothing() {
    const EACH: usize = 6;
    let w = World::new();
    w.init_keyring();
    let keys = Keys::open(&w);
    let plain = data((1 << 20) + 3, 7);
    w.write("plain", &plain);
    let (mut both, mut one) = (0, 0);
    let add = |name: &str| {
        let mut c = command(
            &w,
            &[
                s("--json"),
                s("rewrap"),
                s("--add-passphrase"),
                s("--new-passphrase-env"),
                s("NFP"),
                s("f.srf"),
            ],
        );
        c.args(FAST).env("NFP", name);
        c
    };
    let rekey = || {
        let mut c = command(&w, &[s("--json"), s("rewrap"), s("--rekey"), s("f.srf")]);
        c.args(FAST);
        c
    };
    for kind in 0..3 {
        for _ in 0..EACH {
            let _ = std::fs::remove_file(w.path("f.srf"));
            assert_code(&w.run(["encrypt", "plain", "-o", "f.srf"]), 0);
            let before = info(&w.read("f.srf"));
            let (a, b) = match kind {
                0 => race(add("first passphrase"), add("second passphrase")),
                1 => race(add("first passphrase"), rekey()),
                _ => race(rekey(), rekey()),
            };
            let bytes = w.read("f.srf");
            let after = info(&bytes);
            assert_eq!(keys.decrypt(&bytes, false).as_deref(), Some(plain.as_slice()));
            let opens_with = |pass: &str| {
                let p = Passphrase::from(pass);
                let mut dec = Decryptor::new(bytes.as_slice(), &[Identity::Passphrase(&p)]).ok()?;
                let mut out = Vec::new();
                dec.read_to_end(&mut out).ok()?;
                Some(out == plain)
            };
            let ok = [a.status.success(), b.status.success()];
            for (out, done) in [(&a, ok[0]), (&b, ok[1])] {
                if !done {
                    assert_code(out, 7);
                    assert_eq!(error_name(out), "Locked", "the loser says why");
                }
            }
            if ok == [true, true] {
                both += 1;
            } else {
                assert!(
                    ok.contains(&true),
                    "kind {kind}: nobody won:\n{}\n{}",
                    stderr(&a),
                    stderr(&b)
                );
                one += 1;
            }
            // Every change reported done is in the file.
            match kind {
                0 => {
                    for (done, pass) in [(ok[0], "first passphrase"), (ok[1], "second passphrase")] {
                        if done {
                            assert_eq!(opens_with(pass), Some(true), "kind {kind}: {pass} was lost");
                        }
                    }
                }
                1 => {
                    if ok[0] {
                        assert_eq!(
                            opens_with("first passphrase"),
                            Some(true),
                            "the added passphrase was lost"
                        );
                    }
                    if ok[1] {
                        assert_ne!(after.file_id, before.file_id, "a reported rekey was undone");
                    }
                }
                _ => assert_ne!(after.file_id, before.file_id, "kind {kind}"),
            }
            let names = w.names();
            assert!(
                !names.iter().any(|n| n.starts_with(".strongroom-")),
                "temporary files left: {names:?}"
            );
        }
    }
    eprintln!("{both} races where both succeeded, {one} where one lost with Locked");
}

/// Two processes encrypt (or decrypt) to one destination at once: without
/// `--force` exactly one wins and the other fails with `AlreadyExists`
/// (exit 7); with `--force` both succeed and the destination is one of
/// the two complete outputs. No temporary file is left.
#[test]
fn two_processes_writing_one_destination() {
    const EACH: usize = 6;
    let w = World::new();
    w.init_keyring();
    let keys = Keys::open(&w);
    let sources = [data((3 << 20) + 1, 1), data((3 << 20) + 2, 2)];
    w.write("a", &sources[0]);
    w.write("b", &sources[1]);
    assert_code(&w.run(["encrypt", "a"]), 0);
    assert_code(&w.run(["encrypt", "b"]), 0);
    let (mut a_won, mut b_won) = (0, 0);
    for force in [false, true] {
        for decrypt in [false, true] {
            for _ in 0..EACH {
                let dest = "dest";
                let _ = std::fs::remove_file(w.path(dest));
                let make = |src: &str| {
                    let mut args = vec![s("--json")];
                    if decrypt {
                        args.extend([s("decrypt"), format!("{src}.srf")]);
                    } else {
                        args.extend([s("encrypt"), s(src)]);
                    }
                    args.extend([s("-o"), s(dest)]);
                    if force {
                        args.push(s("--force"));
                    }
                    command(&w, &args)
                };
                let (a, b) = race(make("a"), make("b"));
                let bytes = w.read(dest);
                let got = if decrypt {
                    Some(bytes)
                } else {
                    keys.decrypt(&bytes, false)
                };
                let which = sources.iter().position(|s| Some(s) == got.as_ref());
                let which = which.expect("the destination is one complete output");
                if force {
                    assert_code(&a, 0);
                    assert_code(&b, 0);
                } else {
                    let (winner, loser) = if which == 0 { (&a, &b) } else { (&b, &a) };
                    assert_code(winner, 0);
                    assert_code(loser, 7);
                    assert_eq!(error_name(loser), "AlreadyExists");
                }
                if which == 0 {
                    a_won += 1;
                } else {
                    b_won += 1;
                }
                let names = w.names();
                assert!(
                    !names.iter().any(|n| n.starts_with(".strongroom-")),
                    "temporary files left: {names:?}"
                );
            }
        }
    }
    eprintln!("the first process's output stayed {a_won} times, the second's {b_won} times");
}
