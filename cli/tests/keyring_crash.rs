//! Crash tests of every keyring change: the command is killed with SIGKILL
//! at a random moment, many times over, and afterwards the keyring must
//! open with every protector it has (and refuse the ones it no longer
//! has), hold every key version it ever had with the same secret, never
//! go back a generation, and agree with the record of keyrings seen. Two
//! processes changing one keyring at once must lose nothing.
//!
//! About 30 seconds by default; `STRONGROOM_CRASH_ROUNDS=2000` runs
//! longer, `STRONGROOM_CRASH_SEED=N` replays a run.

mod helpers;

use helpers::crash::{Rng, Spread, rounds, run_killed};
use helpers::*;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;
use strongroom::keyring::{
    KeyStatus, KeyUse, Keyring, KeyringOptions, Purpose, RecoveryKey, SeenRecord, Unlock,
};
use strongroom::{Error, Passphrase};

const EXAMPLE_PASS: &str = "correct horse battery staple";
const EXAMPLE_RK: &str = "SRRK-G20R5-0W4GP-38F24-9HA5R-S3CEH-Y8934-MKJJA-SD5WR-K6D9Q-74XKT-FSGD0";

/// A secret the test knows, and the protector it belongs to.
#[derive(Clone, Debug)]
enum Secret {
    Pass(String),
    Rk(String),
}

impl Secret {
    fn unlock(&self) -> Unlock {
        match self {
            Secret::Pass(p) => Unlock::Passphrase(Passphrase::from(p.as_str())),
            Secret::Rk(t) => Unlock::RecoveryKey(RecoveryKey::parse(t).unwrap()),
        }
    }
}

/// What the keyring must keep: secrets by protector id, every version's
/// file-wrap key, the generation reached.
struct Model {
    secrets: BTreeMap<u32, Secret>,
    /// Every protector id seen so far (some with a secret never learnt: a
    /// recovery key whose command was killed before printing it).
    ids_seen: std::collections::BTreeSet<u32>,
    keys: BTreeMap<u32, [u8; 32]>,
    generation: u64,
    format: u8,
}

/// Checks every invariant after a round and learns the new state: the
/// anchor secret (never removed) opens, with the record of keyrings seen;
/// every known secret opens if its protector is still there and fails
/// otherwise, all seeing the same state; every version ever seen is there
/// with the same key (unless destroyed); the generation never goes back.
fn verify(w: &World, model: &mut Model, anchor: u32, pending: Option<&Secret>, round: usize) {
    let record = SeenRecord::new(w.state_dir().join("keyrings-seen"));
    let options = KeyringOptions::new().seen_record(record);
    let path = w.keyring();
    let ring = Keyring::open_with(&path, &model.secrets[&anchor].unlock(), &options)
        .unwrap_or_else(|e| panic!("round {round}: the anchor protector does not open: {e}"));
    assert!(
        ring.generation() >= model.generation,
        "round {round}: generation went back"
    );
    assert!(
        ring.format_version() >= model.format,
        "round {round}: format went back"
    );
    model.generation = ring.generation();
    model.format = ring.format_version();
    let ids: Vec<u32> = ring.protectors().iter().map(|p| p.id).collect();
    // A passphrase protector added by this round's command: its secret is
    // the one that command was adding.
    for p in ring.protectors() {
        if model.ids_seen.insert(p.id) {
            let is_passphrase = matches!(p.kind, strongroom::keyring::ProtectorKind::Passphrase { .. });
            if let (Some(secret @ Secret::Pass(_)), true) = (pending, is_passphrase) {
                model.secrets.insert(p.id, secret.clone());
            }
        }
    }
    model.secrets.retain(|id, _| ids.contains(id));
    for (id, secret) in &model.secrets {
        let other = Keyring::open(&path, &secret.unlock())
            .unwrap_or_else(|e| panic!("round {round}: protector {id} does not open: {e}"));
        assert_eq!(other.generation(), ring.generation(), "round {round}");
        assert_eq!(other.versions(), ring.versions(), "round {round}");
    }
    let versions = ring.versions();
    for (v, key) in &model.keys {
        let info = versions
            .iter()
            .find(|i| i.version == *v)
            .unwrap_or_else(|| panic!("round {round}: version {v} was lost"));
        if info.status == KeyStatus::Disabled || info.status == KeyStatus::Destroyed {
            continue;
        }
        let now = ring.purpose_key(*v, Purpose::FileWrap, KeyUse::Decrypt).unwrap();
        assert_eq!(
            now.dangerous_expose_bytes(),
            key,
            "round {round}: version {v} changed"
        );
    }
    for info in &versions {
        if info.status == KeyStatus::Destroyed {
            model.keys.remove(&info.version);
        } else if !model.keys.contains_key(&info.version) && info.status != KeyStatus::Disabled {
            let key = ring
                .purpose_key(info.version, Purpose::FileWrap, KeyUse::Decrypt)
                .unwrap();
            model.keys.insert(info.version, *key.dangerous_expose_bytes());
        }
    }
}

/// The keyring command for this round, and the passphrase it adds (if any).
fn pick(w: &World, rng: &mut Rng, model: &Model, anchor: u32) -> (Command, Option<Secret>) {
    let versions: Vec<u32> = model.keys.keys().copied().collect();
    let pick_version = |rng: &mut Rng| versions[rng.below(versions.len() as u64) as usize].to_string();
    let others: Vec<(u32, Secret)> = model
        .secrets
        .iter()
        .filter(|(id, s)| **id != anchor && matches!(s, Secret::Pass(_)))
        .map(|(id, s)| (*id, s.clone()))
        .collect();
    let mut pending = None;
    let mut args: Vec<String> = vec!["--no-progress".into(), "keyring".into()];
    let mut env: Vec<(String, String)> = Vec::new();
    match rng.below(11) {
        0 => args.push("add-key".into()),
        1 => args.extend(["add-key".into(), "--promote".into()]),
        2 => args.extend(["promote".into(), pick_version(rng)]),
        3 => args.extend(["disable".into(), pick_version(rng)]),
        4 => args.extend(["enable".into(), pick_version(rng)]),
        5 => {
            let p = format!("crash passphrase {}", rng.next());
            args.extend([
                "add-passphrase".into(),
                "--new-passphrase-env".into(),
                "NP".into(),
            ]);
            args.extend(FAST.iter().map(|s| s.to_string()));
            env.push(("NP".into(), p.clone()));
            pending = Some(Secret::Pass(p));
        }
        6 if !others.is_empty() => {
            let (id, _) = &others[rng.below(others.len() as u64) as usize];
            args.extend(["remove-passphrase".into(), id.to_string()]);
            if rng.below(2) == 0 {
                args.push("--no-rotate".into());
            }
        }
        7 => {
            args.insert(0, "-q".into());
            args.push("recovery-key".into());
        }
        8 => args.push("rekey".into()),
        9 => {
            args.push("reenroll".into());
            for (n, (_, s)) in others.iter().enumerate() {
                if let Secret::Pass(p) = s {
                    args.extend(["--other-passphrase-env".into(), format!("OP{n}")]);
                    env.push((format!("OP{n}"), p.clone()));
                }
            }
        }
        _ => args.extend(["destroy".into(), pick_version(rng), "--yes".into()]),
    }
    let mut cmd = w.cmd(&args);
    let anchor_pass = match &model.secrets[&anchor] {
        Secret::Pass(p) => p.clone(),
        Secret::Rk(_) => unreachable!("the anchor is a passphrase"),
    };
    cmd.env("STRONGROOM_KEYRING_PASSPHRASE", anchor_pass);
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd, pending)
}

fn example_v2(w: &World) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/keyring/example-v2.hex"
    ))
    .unwrap();
    let bytes = hex::decode(text.split_whitespace().collect::<String>()).unwrap();
    std::fs::create_dir_all(w.keyring().parent().unwrap()).unwrap();
    std::fs::write(w.keyring(), bytes).unwrap();
}

#[test]
fn every_keyring_change_survives_sigkill() {
    let w = World::new();
    example_v2(&w);
    let mut rng = Rng::seeded();
    let mut model = Model {
        secrets: BTreeMap::from([
            (1, Secret::Pass(EXAMPLE_PASS.into())),
            (2, Secret::Rk(EXAMPLE_RK.into())),
        ]),
        ids_seen: [1, 2].into(),
        keys: BTreeMap::new(),
        generation: 0,
        format: 2,
    };
    verify(&w, &mut model, 1, None, 0);
    w.write("rk.txt", EXAMPLE_RK.as_bytes());

    // The upgrade from format 2, killed until it completes.
    let mut upgraded = false;
    for round in 1..=200 {
        let mut cmd = w.cmd(["keyring", "upgrade", "--other-recovery-key-file", "rk.txt"]);
        cmd.env("STRONGROOM_KEYRING_PASSPHRASE", EXAMPLE_PASS);
        let delay = Duration::from_micros(rng.below(60_000) + round * 500);
        let out = run_killed(cmd, delay);
        verify(&w, &mut model, 1, None, round as usize);
        if out.is_some_and(|(o, _)| o.status.success()) {
            upgraded = true;
            break;
        }
    }
    assert!(upgraded, "the upgrade never completed");
    assert_eq!(model.format, 3);

    // How long a command runs here, learnt from the ones that complete, so
    // the kills spread over the whole run of a command.
    let mut spread = Spread::new(Duration::from_millis(40));
    let (mut kills, mut kills_after_save) = (0, 0);
    let rounds = rounds(400);
    for round in 1..=rounds {
        let (cmd, pending) = pick(&w, &mut rng, &model, 1);
        // Spread over the whole run of a command (learnt from the runs
        // that succeed); some complete.
        let delay = spread.delay(&mut rng);
        let generation = model.generation;
        let out = run_killed(cmd, delay);
        match &out {
            None => kills += 1,
            Some((o, took)) if o.status.success() => spread.learn(*took),
            Some(_) => {}
        }
        // A recovery key printed by a completed command is known.
        let mut pending = pending;
        if let Some((o, _)) = &out {
            let text = String::from_utf8_lossy(&o.stdout);
            if o.status.success() && text.trim().starts_with("SRRK-") {
                pending = Some(Secret::Rk(text.trim().to_string()));
            }
        }
        let before = model.ids_seen.clone();
        verify(&w, &mut model, 1, pending.as_ref(), round);
        if out.is_none() && model.generation > generation {
            kills_after_save += 1;
        }
        if let Some(Secret::Rk(text)) = &pending {
            // The new recovery protector is the one id not seen before.
            let ring = Keyring::open(
                &w.keyring(),
                &Unlock::RecoveryKey(RecoveryKey::parse(text).unwrap()),
            )
            .unwrap();
            let new: Vec<u32> = ring
                .protectors()
                .iter()
                .map(|p| p.id)
                .filter(|id| !before.contains(id))
                .collect();
            assert_eq!(new.len(), 1, "round {round}");
            model.secrets.insert(new[0], Secret::Rk(text.clone()));
        }
    }
    eprintln!(
        "{rounds} rounds, {kills} killed mid-run ({kills_after_save} of them after the new file was in place)"
    );
    assert!(kills > rounds / 4, "too few kills ({kills}) to mean anything");
}

/// Two processes change one keyring at once, each through the command
/// line (one also rekeys, which the other follows): nothing is lost.
#[test]
fn two_processes_changing_one_keyring_lose_nothing() {
    const EACH: usize = 12;
    let w = World::new();
    w.init_keyring();
    let out = w
        .cmd([
            "keyring",
            "add-passphrase",
            "--new-passphrase-env",
            "NP",
            "--argon2-memory-mib",
            "8",
            "--argon2-time",
            "1",
            "--argon2-lanes",
            "1",
        ])
        .env("STRONGROOM_KEYRING_PASSPHRASE", KEYRING_PASS)
        .env("NP", "the other process")
        .output()
        .unwrap();
    assert_code(&out, 0);
    std::thread::scope(|scope| {
        let a = scope.spawn(|| {
            for _ in 0..EACH {
                let out = w.run(["keyring", "add-key"]);
                assert_code(&out, 0);
            }
        });
        let b = scope.spawn(|| {
            for i in 0..EACH {
                let args: &[&str] = if i % 2 == 0 {
                    &["keyring", "rekey"]
                } else {
                    &["keyring", "add-key"]
                };
                let out = w
                    .cmd(args)
                    .env("STRONGROOM_KEYRING_PASSPHRASE", "the other process")
                    .output()
                    .unwrap();
                assert_code(&out, 0);
            }
        });
        a.join().unwrap();
        b.join().unwrap();
    });
    for pass in [KEYRING_PASS, "the other process"] {
        let ring = Keyring::open(&w.keyring(), &Unlock::Passphrase(Passphrase::from(pass))).unwrap();
        let versions: Vec<u32> = ring.versions().iter().map(|v| v.version).collect();
        let want: Vec<u32> = (1..=(1 + EACH + EACH / 2) as u32).collect();
        assert_eq!(versions, want, "every add-key got its own version, none lost");
        // init, add-passphrase, and one save per command.
        assert_eq!(ring.generation(), 2 + 2 * EACH as u64);
    }
    // A removed or unknown secret still opens nothing.
    assert!(matches!(
        Keyring::open(&w.keyring(), &Unlock::Passphrase(Passphrase::from("nobody"))),
        Err(Error::WrongPassphrase)
    ));
}
