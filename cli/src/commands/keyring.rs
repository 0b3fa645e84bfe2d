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
            kr.remove_protector(a.id)
                .with_context(|| format!("cannot remove protector {}", a.id))?;
            ctx.out.json(json!({
                "command": "keyring remove-passphrase",
                "path": kr.path().display().to_string(),
                "removed_protector_id": a.id,
                "protectors": protectors_json(&kr),
            }));
            ctx.out.say(format!(
                "removed protector {} from keyring {}",
                a.id,
                kr.path().display()
            ));
            ctx.out
                .note("note: copies of the keyring file made before this change still open with it");
            Ok(())
        }
        KeyringCommand::RecoveryKey(a) => recovery_key(ctx, a),
    }
}

fn init(ctx: &Ctx<'_>, a: &KeyringInitArgs) -> Result<()> {
    let path = ctx.keyring_path()?;
    if path.symlink_metadata().is_ok() {
        return Err(strongroom::Error::AlreadyExists(path).into());
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
    .context("cannot create the recovery key")?;
    let replaced: Vec<u32> = if a.keep_existing { Vec::new() } else { before };
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
    if !replaced.is_empty() {
        let ids: Vec<String> = replaced.iter().map(u32::to_string).collect();
        out.say(format!(
            "The previous recovery key (protector {}) no longer works.",
            ids.join(", ")
        ));
    }
    Ok(())
}
