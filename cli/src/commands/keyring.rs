//! `strongroom keyring ...`: create a keyring, list it, rotate key versions,
//! manage its protectors (passphrases, recovery key).

use super::{Ctx, kdf_params};
use crate::args::{DestroyArgs, KeyringCommand, KeyringInitArgs, RecoveryKeyArgs, VersionArg};
use crate::exit::usage_hint;
use crate::output::iso8601;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use strongroom::keyring::{KeyStatus, Keyring, ProtectorKind};
use zeroize::Zeroizing;

/// Runs a `keyring` subcommand.
pub fn run(ctx: &Ctx<'_>, cmd: &KeyringCommand) -> Result<()> {
    match cmd {
        KeyringCommand::Init(a) => init(ctx, a),
        KeyringCommand::List(a) => {
            let kr = ctx.open_keyring(&a.unlock)?;
            list(ctx, &kr);
            Ok(())
        }
        KeyringCommand::AddKey(a) => {
            let mut kr = ctx.open_keyring(&a.unlock)?;
            let v = kr.add_key(a.promote).context("cannot add a key version")?;
            report_version(ctx, "add-key", &kr, v);
            if a.promote {
                ctx.out.note(format!(
                    "new files are encrypted to version {v}; existing ones still open with their version. \
                     Move them with `strongroom rewrap --to-primary FILE`."
                ));
            } else {
                ctx.out
                    .note(format!("make it primary with `strongroom keyring promote {v}`"));
            }
            Ok(())
        }
        KeyringCommand::Promote(a) => change(ctx, a, "promote", Keyring::promote),
        KeyringCommand::Disable(a) => change(ctx, a, "disable", Keyring::disable),
        KeyringCommand::Enable(a) => change(ctx, a, "enable", Keyring::enable),
        KeyringCommand::Destroy(a) => destroy(ctx, a),
        KeyringCommand::AddPassphrase(a) => {
            let params = kdf_params(&a.kdf)?;
            let mut kr = ctx.open_keyring(&a.unlock)?;
            let pass = a.new.get("New passphrase to add to the keyring")?;
            let id = kr
                .add_passphrase(&pass, params)
                .context("cannot add the passphrase")?;
            ctx.out.json(json!({
                "command": "keyring add-passphrase",
                "path": kr.path().display().to_string(),
                "protector_id": id,
                "protectors": protectors_json(&kr),
            }));
            ctx.out.say(format!(
                "added passphrase protector {id} to keyring {}",
                kr.path().display()
            ));
            Ok(())
        }
        KeyringCommand::RemovePassphrase(a) => {
            let mut kr = ctx.open_keyring(&a.unlock)?;
            let ids = join_ids(&a.ids);
            kr.remove_protectors(&a.ids)
                .map_err(upgrade_hint)
                .with_context(|| format!("cannot remove protector {ids}"))?;
            ctx.out.json(json!({
                "command": "keyring remove-passphrase",
                "path": kr.path().display().to_string(),
                "removed_protector_ids": a.ids,
                "master_key_replaced": true,
                "old_copies_hold_versions": version_numbers(&kr),
                "protectors": protectors_json(&kr),
            }));
            ctx.out.say(format!(
                "removed protector {ids} from keyring {} and replaced its master key",
                kr.path().display()
            ));
            rekey_note(ctx, &kr, &format!("the removed secret (protector {ids})"));
            Ok(())
        }
        KeyringCommand::RecoveryKey(a) => recovery_key(ctx, a),
        KeyringCommand::Rekey(a) => {
            let mut kr = ctx.open_keyring(&a.unlock)?;
            kr.rekey()
                .map_err(upgrade_hint)
                .context("cannot replace the master key")?;
            ctx.out.json(json!({
                "command": "keyring rekey",
                "path": kr.path().display().to_string(),
                "master_key_replaced": true,
                "old_copies_hold_versions": version_numbers(&kr),
                "protectors": protectors_json(&kr),
            }));
            ctx.out.say(format!(
                "replaced the master key of keyring {}; every protector ({}) opens it",
                kr.path().display(),
                join_ids(&kr.protectors().iter().map(|p| p.id).collect::<Vec<_>>())
            ));
            rekey_note(ctx, &kr, "a secret removed earlier");
            Ok(())
        }
        KeyringCommand::Upgrade(a) => {
            let mut kr = ctx.open_keyring(&a.unlock)?;
            let upgraded = kr.upgrade_protector().context("cannot upgrade the protector")?;
            let legacy: Vec<u32> = kr
                .protectors()
                .iter()
                .filter(|p| p.legacy)
                .map(|p| p.id)
                .collect();
            ctx.out.json(json!({
                "command": "keyring upgrade",
                "path": kr.path().display().to_string(),
                "upgraded": upgraded,
                "legacy_protector_ids": legacy,
            }));
            ctx.out.say(if upgraded {
                "upgraded the protector used to unlock to the current keyring format"
            } else {
                "the protector used to unlock was already in the current keyring format"
            });
            if !legacy.is_empty() {
                ctx.out.note(format!(
                    "protector {} still in the old format: unlock with each and run `strongroom keyring upgrade`, \
                     or remove them, before `rekey` or a removal can replace the master key",
                    join_ids(&legacy)
                ));
            }
            Ok(())
        }
    }
}

fn join_ids(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

fn version_numbers(kr: &Keyring) -> Vec<u32> {
    kr.versions()
        .iter()
        .filter(|v| v.status != KeyStatus::Destroyed)
        .map(|v| v.version)
        .collect()
}

/// Adds the command that upgrades format-1 protectors to the library's
/// refusal.
fn upgrade_hint(e: strongroom::Error) -> anyhow::Error {
    match e {
        strongroom::Error::ProtectorsNeedUpgrade(ref ids) => {
            let ids = join_ids(ids);
            anyhow::Error::new(e).context(format!(
                "unlock with protector {ids} and run `strongroom keyring upgrade`, or remove it in the same \
                 `strongroom keyring remove-protector` command"
            ))
        }
        other => other.into(),
    }
}

/// What a master-key replacement does and does not do, in plain words.
fn rekey_note(ctx: &Ctx<'_>, kr: &Keyring, exposed: &str) {
    let versions = version_numbers(kr);
    ctx.out.note(format!(
        "{exposed} and copies of the keyring file no longer open anything written from now on. \
         Copies made before now still open with the secrets they accepted, and hold key versions {}. \
         If such a copy or secret may be in other hands, rotate: `strongroom keyring add-key --promote`, \
         give every file a new file key under the new version with `strongroom rewrap --rekey FILE` \
         (a plain rewrap keeps the file key, which the old versions still open), re-encrypt \
         database fields, then `strongroom keyring destroy VERSION --yes` for the old versions.",
        join_ids(&versions)
    ));
}

fn init(ctx: &Ctx<'_>, a: &KeyringInitArgs) -> Result<()> {
    let path = ctx.keyring_path()?;
    // Checked before the passphrase is asked for; the library checks again
    // when it creates the file, without following a link.
    match path.symlink_metadata() {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(strongroom::Error::DestinationIsSymlink(path).into());
        }
        Ok(_) => return Err(strongroom::Error::AlreadyExists(path).into()),
        Err(_) => {}
    }
    let params = kdf_params(&a.kdf)?;
    create_parent(&path)?;
    let pass = a.unlock.new_keyring_passphrase(&path)?;
    let kr =
        Keyring::create(&path, &pass, params).with_context(|| format!("cannot create {}", path.display()))?;
    ctx.out.json(json!({
        "command": "keyring init",
        "path": path.display().to_string(),
        "keyring_id": hex::encode(kr.id()),
        "primary_version": kr.primary_version(),
        "versions": versions_json(&kr),
        "protectors": protectors_json(&kr),
    }));
    ctx.out.say(format!("created keyring {}", path.display()));
    ctx.out.say(format!("  id: {}", hex::encode(kr.id())));
    ctx.out
        .say(format!("  key version {} (primary)", kr.primary_version()));
    ctx.out.note(
        "next: create a recovery key with `strongroom keyring recovery-key` and keep it offline; \
         without the passphrase or a recovery key, everything encrypted to this keyring is lost.",
    );
    Ok(())
}

/// Creates the keyring's folder (mode 0700 on unix) if missing.
fn create_parent(path: &Path) -> Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(strongroom::Error::Io)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn list(ctx: &Ctx<'_>, kr: &Keyring) {
    ctx.out.json(json!({
        "command": "keyring list",
        "path": kr.path().display().to_string(),
        "keyring_id": hex::encode(kr.id()),
        "primary_version": kr.primary_version(),
        "versions": versions_json(kr),
        "protectors": protectors_json(kr),
    }));
    let out = ctx.out;
    out.always(format!("keyring {}", kr.path().display()));
    out.always(format!("  id: {}", hex::encode(kr.id())));
    out.always("key versions:");
    for v in kr.versions() {
        out.always(format!(
            "  {:>4}  {:<12}  created {}  changed {}",
            v.version,
            v.status.as_str(),
            iso8601(v.created_at),
            iso8601(v.status_changed_at)
        ));
    }
    out.always("protectors:");
    for p in kr.protectors() {
        let kind = match p.kind {
            ProtectorKind::Passphrase { params } => format!(
                "passphrase (Argon2id {} MiB, t={}, p={})",
                params.memory_kib / 1024,
                params.iterations,
                params.parallelism
            ),
            ProtectorKind::RecoveryKey => "recovery key".to_string(),
            _ => "another kind of protector".to_string(),
        };
        out.always(format!(
            "  {:>4}  {kind:<38}  added {}",
            p.id,
            iso8601(p.created_at)
        ));
    }
}

fn versions_json(kr: &Keyring) -> Vec<Value> {
    kr.versions()
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "status": v.status.as_str(),
                "created_at": iso8601(v.created_at),
                "status_changed_at": iso8601(v.status_changed_at),
            })
        })
        .collect()
}

fn protectors_json(kr: &Keyring) -> Vec<Value> {
    kr.protectors()
        .iter()
        .map(|p| match p.kind {
            ProtectorKind::Passphrase { params } => json!({
                "id": p.id,
                "kind": "passphrase",
                "created_at": iso8601(p.created_at),
                "argon2id": {"memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism},
            }),
            ProtectorKind::RecoveryKey => json!({"id": p.id, "kind": "recovery-key", "created_at": iso8601(p.created_at)}),
            _ => json!({"id": p.id, "kind": "other", "created_at": iso8601(p.created_at)}),
        })
        .collect()
}

fn status_of(kr: &Keyring, version: u32) -> Option<KeyStatus> {
    kr.versions()
        .iter()
        .find(|v| v.version == version)
        .map(|v| v.status)
}

fn report_version(ctx: &Ctx<'_>, command: &str, kr: &Keyring, version: u32) {
    let status = status_of(kr, version).map_or("unknown", KeyStatus::as_str);
    ctx.out.json(json!({
        "command": format!("keyring {command}"),
        "path": kr.path().display().to_string(),
        "version": version,
        "status": status,
        "primary_version": kr.primary_version(),
    }));
    ctx.out.say(format!(
        "key version {version} is now {status} (primary: version {})",
        kr.primary_version()
    ));
}

fn change(
    ctx: &Ctx<'_>,
    a: &VersionArg,
    command: &str,
    op: fn(&mut Keyring, u32) -> strongroom::Result<()>,
) -> Result<()> {
    let mut kr = ctx.open_keyring(&a.unlock)?;
    op(&mut kr, a.key_version).with_context(|| format!("cannot {command} key version {}", a.key_version))?;
    report_version(ctx, command, &kr, a.key_version);
    Ok(())
}

fn destroy(ctx: &Ctx<'_>, a: &DestroyArgs) -> Result<()> {
    if !a.yes {
        return Err(usage_hint(
            format!(
                "destroying key version {} is irreversible: files encrypted only to it can never be decrypted again",
                a.key_version
            ),
            "move such files to the primary first (`strongroom rewrap --to-primary FILE`), then add --yes \
             (or use `keyring disable`, which can be undone)",
        ));
    }
    let mut kr = ctx.open_keyring(&a.unlock)?;
    kr.destroy(a.key_version)
        .with_context(|| format!("cannot destroy key version {}", a.key_version))?;
    report_version(ctx, "destroy", &kr, a.key_version);
    ctx.out
        .note("note: older copies (backups) of the keyring file still hold this key");
    Ok(())
}

fn recovery_key(ctx: &Ctx<'_>, a: &RecoveryKeyArgs) -> Result<()> {
    let mut kr = ctx.open_keyring(&a.unlock)?;
    let before: Vec<u32> = kr
        .protectors()
        .iter()
        .filter(|p| p.kind == ProtectorKind::RecoveryKey)
        .map(|p| p.id)
        .collect();
    let (id, key) = if a.keep_existing {
        kr.add_recovery_key()
    } else {
        kr.replace_recovery_key()
    }
    .map_err(upgrade_hint)
    .context("cannot create the recovery key")?;
    let replaced: Vec<u32> = if a.keep_existing { Vec::new() } else { before };
    let rekeyed = !replaced.is_empty();
    let text = key.dangerous_display();
    let out = ctx.out;
    if out.is_json() {
        // Built in a wiped buffer: the key must not linger in memory.
        let mut line = Zeroizing::new(String::with_capacity(512));
        let head = json!({
            "command": "keyring recovery-key",
            "path": kr.path().display().to_string(),
            "protector_id": id,
            "replaced_protector_ids": replaced,
            "master_key_replaced": rekeyed,
        })
        .to_string();
        // `head` ends with '}'; the recovery key is [A-Z0-9-] only, so it
        // needs no JSON escaping.
        let _ = write!(
            line,
            "{},\"recovery_key\":\"{}\"}}",
            &head[..head.len() - 1],
            text.as_str()
        );
        out.json_line(&line);
        return Ok(());
    }
    out.say(format!(
        "Recovery key for keyring {} (protector {id}):",
        kr.path().display()
    ));
    out.say("");
    out.secret_line("    ", &text);
    out.say("");
    out.say("Write it down now and keep it offline, away from this computer: it is shown only once.");
    out.say(
        "It unlocks the keyring on its own (`--recovery-key-file PATH`), so guard it like the passphrase.",
    );
    if rekeyed {
        out.say(format!(
            "The previous recovery key (protector {}) no longer opens this keyring file: the master key was replaced.",
            join_ids(&replaced)
        ));
        rekey_note(ctx, &kr, "The previous recovery key");
    }
    Ok(())
}
