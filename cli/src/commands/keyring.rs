//! `strongroom keyring ...`: create a keyring, list it, rotate key versions,
//! manage its protectors (passphrases, recovery key).

use super::{Ctx, kdf_params};
use crate::args::{
    DestroyArgs, KeyringCommand, KeyringInitArgs, OtherSecretsArgs, RecoveryKeyArgs, ReenrollArgs,
    UpgradeArgs, VersionArg,
};
use crate::exit::usage_hint;
use crate::output::iso8601;
use crate::secrets::{ask_protector_secret, terminal_available};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use strongroom::keyring::{KeyStatus, Keyring, ProtectorInfo, ProtectorKind, Revocation, Rotation, Unlock};
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
            let revocation = kr
                .remove_protectors_with(&a.ids, rotation(a.no_rotate))
                .with_context(|| format!("cannot remove protector {ids}"))?;
            ctx.out.json(json!({
                "command": "keyring remove-passphrase",
                "path": kr.path().display().to_string(),
                "removed_protector_ids": revocation.removed,
                "master_key_replaced": true,
                "new_primary_version": revocation.new_primary,
                "primary_version": kr.primary_version(),
                "old_copies_hold_versions": version_numbers(&kr, revocation.new_primary),
                "protectors_to_reenroll": revocation.to_reenroll,
                "protectors": protectors_json(&kr),
            }));
            ctx.out.say(format!(
                "removed protector {ids} from keyring {} and replaced its master key",
                kr.path().display()
            ));
            revocation_notes(
                ctx,
                &kr,
                &revocation,
                &format!("the removed secret (protector {ids})"),
            );
            Ok(())
        }
        KeyringCommand::RecoveryKey(a) => recovery_key(ctx, a),
        KeyringCommand::Rekey(a) => {
            let mut kr = ctx.open_keyring(&a.unlock)?;
            kr.rekey().context("cannot replace the master key")?;
            let others: Vec<u32> = kr
                .protectors()
                .iter()
                .map(|p| p.id)
                .filter(|id| *id != kr.unlocked_by())
                .collect();
            ctx.out.json(json!({
                "command": "keyring rekey",
                "path": kr.path().display().to_string(),
                "master_key_replaced": true,
                "old_copies_hold_versions": version_numbers(&kr, None),
                "protectors_to_reenroll": others,
                "protectors": protectors_json(&kr),
            }));
            ctx.out.say(format!(
                "replaced the master key of keyring {}; every protector ({}) opens it",
                kr.path().display(),
                join_ids(&kr.protectors().iter().map(|p| p.id).collect::<Vec<_>>())
            ));
            rekey_note(ctx, &kr);
            reenroll_note(
                ctx,
                &others,
                "whoever holds an exposed secret and a copy of the keyring file",
            );
            Ok(())
        }
        KeyringCommand::Upgrade(a) => upgrade(ctx, a),
        KeyringCommand::Reenroll(a) => reenroll(ctx, a),
    }
}

fn join_ids(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// "protector 2" or "protectors 2, 3" (any noun).
fn counted(noun: &str, ids: &[u32]) -> String {
    let s = if ids.len() == 1 { "" } else { "s" };
    format!("{noun}{s} {}", join_ids(ids))
}

fn rotation(no_rotate: bool) -> Rotation {
    if no_rotate {
        Rotation::KeepPrimary
    } else {
        Rotation::Rotate
    }
}

/// The versions an earlier copy of the keyring file holds: every
/// non-destroyed version but `new` (added by this change).
fn version_numbers(kr: &Keyring, new: Option<u32>) -> Vec<u32> {
    kr.versions()
        .iter()
        .filter(|v| v.status != KeyStatus::Destroyed && Some(v.version) != new)
        .map(|v| v.version)
        .collect()
}

/// What a revocation did and did not do, in plain words.
fn revocation_notes(ctx: &Ctx<'_>, kr: &Keyring, revocation: &Revocation, removed: &str) {
    let old = counted("key version", &version_numbers(kr, revocation.new_primary));
    match revocation.new_primary {
        Some(v) => ctx.out.note(format!(
            "added key version {v} as primary: files and fields encrypted from now on use it, and {removed} \
             cannot reach it, even with a copy of the keyring file made before. What was encrypted before \
             ({old}) stays readable to whoever holds {removed} and such a copy: give those files \
             a new file key (`strongroom rewrap --rekey FILE`), re-encrypt database fields, then destroy the \
             old versions (`strongroom keyring destroy VERSION --yes`)."
        )),
        None => ctx.out.note(format!(
            "kept key version {} as primary (--no-rotate): {removed}, with a copy of the keyring file made \
             before, still yields it and so opens everything encrypted from now on, until you rotate \
             (`strongroom keyring add-key --promote`).",
            kr.primary_version()
        )),
    }
    reenroll_note(ctx, &revocation.to_reenroll, "the removed party");
}

/// Names the protectors whose authentication values someone may know.
fn reenroll_note(ctx: &Ctx<'_>, ids: &[u32], who: &str) {
    if ids.is_empty() {
        return;
    }
    ctx.out.note(format!(
        "{} kept authentication values that {who} may know: with write access to the keyring \
         file, that party could plant a keyring they open. Give them fresh values with \
         `strongroom keyring reenroll` (it asks for their secrets).",
        counted("protector", ids)
    ));
}

/// What an explicit master-key replacement does and does not do.
fn rekey_note(ctx: &Ctx<'_>, kr: &Keyring) {
    ctx.out.note(format!(
        "no key version changed: a copy of the keyring file made before, with a secret it accepted, still \
         yields {}, including the primary ({}), and so opens what is encrypted from now on too. \
         If such a copy or secret may be in other hands, rotate: `strongroom keyring add-key --promote`, \
         give every file a new file key under the new version with `strongroom rewrap --rekey FILE` (a plain \
         rewrap keeps the file key, which the old versions still open), re-encrypt database fields, then \
         `strongroom keyring destroy VERSION --yes` for the old versions.",
        counted("key version", &version_numbers(kr, None)),
        kr.primary_version()
    ));
}

/// Describes a protector for a prompt or a message.
fn describe(p: &ProtectorInfo) -> String {
    match p.kind {
        ProtectorKind::Passphrase { .. } => format!("passphrase of protector {}", p.id),
        ProtectorKind::RecoveryKey => format!("recovery key of protector {}", p.id),
        _ => format!("secret of protector {}", p.id),
    }
}

/// The secrets of the other protectors: from the given sources, or asked
/// on the terminal for each of `wanted` (none without a terminal).
fn other_secrets(args: &OtherSecretsArgs, wanted: &[ProtectorInfo]) -> Result<Vec<Unlock>> {
    if args.any() {
        return args.secrets();
    }
    if !terminal_available() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for p in wanted {
        let what = describe(p);
        let what = format!("{}{}", what[..1].to_uppercase(), &what[1..]);
        if let Some(secret) = ask_protector_secret(&what, p.kind == ProtectorKind::RecoveryKey)? {
            out.push(secret);
        }
    }
    Ok(out)
}

fn upgrade(ctx: &Ctx<'_>, a: &UpgradeArgs) -> Result<()> {
    let mut kr = ctx.open_keyring(&a.unlock)?;
    let from = kr.format_version();
    let wanted: Vec<ProtectorInfo> = kr
        .protectors()
        .into_iter()
        .filter(|p| p.id != kr.unlocked_by() && !a.remove.contains(&p.id))
        .collect();
    let secrets = if from < 3 {
        other_secrets(&a.others, &wanted)?
    } else {
        Vec::new()
    };
    let done = kr
        .upgrade(&secrets, &a.remove, rotation(a.no_rotate))
        .map_err(|e| match e {
            strongroom::Error::ProtectorsNeedUpgrade(ref ids) => {
                let ids = join_ids(ids);
                anyhow::Error::new(e).context(format!(
                    "give the secret of protector {ids} (on the terminal, or with --other-passphrase-env/-file, \
                     --other-recovery-key-env/-file), or remove it with --remove ID"
                ))
            }
            other => other.into(),
        })
        .context("cannot upgrade the keyring")?;
    ctx.out.json(json!({
        "command": "keyring upgrade",
        "path": kr.path().display().to_string(),
        "upgraded": done.upgraded,
        "from_format": done.from_format,
        "format": kr.format_version(),
        "removed_protector_ids": done.removed,
        "new_primary_version": done.new_primary,
        "primary_version": kr.primary_version(),
        "protectors": protectors_json(&kr),
    }));
    if !done.upgraded {
        ctx.out.say(format!(
            "keyring {} is already in format {}; nothing to do",
            kr.path().display(),
            kr.format_version()
        ));
        if !a.remove.is_empty() {
            ctx.out.note(format!(
                "nothing was removed: remove protectors with `strongroom keyring remove-passphrase {}`",
                a.remove.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
            ));
        }
        return Ok(());
    }
    ctx.out.say(format!(
        "upgraded keyring {} from format {} to format {}",
        kr.path().display(),
        done.from_format,
        kr.format_version()
    ));
    if !done.removed.is_empty() {
        ctx.out
            .say(format!("removed protector {}", join_ids(&done.removed)));
    }
    match done.new_primary {
        Some(v) => ctx.out.say(format!(
            "added key version {v} as primary: files and fields are encrypted to it from now on"
        )),
        None => ctx.out.say(format!(
            "kept key version {} as primary (--no-rotate)",
            kr.primary_version()
        )),
    }
    ctx.out.note(format!(
        "format {} could not prove who wrote it: anyone who could write the keyring file could have \
         replaced its keys and protectors, and this upgrade cannot tell. Check `strongroom keyring list` \
         against the protectors and key versions you expect before trusting it, or create a new keyring \
         and move the data to it. From now on only a holder of one of its secrets can make a change its \
         protectors accept.",
        done.from_format
    ));
    Ok(())
}

fn reenroll(ctx: &Ctx<'_>, a: &ReenrollArgs) -> Result<()> {
    let mut kr = ctx.open_keyring(&a.unlock)?;
    let wanted: Vec<ProtectorInfo> = kr
        .protectors()
        .into_iter()
        .filter(|p| p.id != kr.unlocked_by())
        .collect();
    let secrets = other_secrets(&a.others, &wanted)?;
    let done = kr.reenroll(&secrets).context("cannot re-enroll the protectors")?;
    ctx.out.json(json!({
        "command": "keyring reenroll",
        "path": kr.path().display().to_string(),
        "reenrolled_protector_ids": done.reenrolled,
        "unchanged_protector_ids": done.unchanged,
        "master_key_replaced": true,
    }));
    ctx.out.say(format!(
        "gave {} fresh authentication values and replaced the master key of keyring {}",
        counted("protector", &done.reenrolled),
        kr.path().display()
    ));
    if !done.unchanged.is_empty() {
        ctx.out.note(format!(
            "{} kept the authentication values they had (their secrets were not given); run this again \
             with them, or remove them, if someone who should no longer have access may know those values",
            counted("protector", &done.unchanged)
        ));
    }
    Ok(())
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
    let options = ctx.keyring_options()?;
    let pass = a.unlock.new_keyring_passphrase(&path)?;
    let kr = Keyring::create_with(&path, &pass, params, &options)
        .with_context(|| format!("cannot create {}", path.display()))?;
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
        "format": kr.format_version(),
        "generation": kr.generation(),
        "primary_version": kr.primary_version(),
        "versions": versions_json(kr),
        "protectors": protectors_json(kr),
    }));
    let out = ctx.out;
    out.always(format!("keyring {}", kr.path().display()));
    out.always(format!("  id: {}", hex::encode(kr.id())));
    out.always(format!(
        "  format {}, generation {}",
        kr.format_version(),
        kr.generation()
    ));
    if kr.format_version() < 3 {
        out.always(
            "  this format cannot prove who wrote it: encrypting and changes wait for `strongroom keyring upgrade`",
        );
    }
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
            ProtectorKind::Unknown { kind } => format!("kind {kind} (unknown to this version)"),
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
            ProtectorKind::Unknown { kind } => json!({"id": p.id, "kind": "unknown", "kind_byte": kind, "created_at": iso8601(p.created_at)}),
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
    let (id, key, revocation) = if a.keep_existing {
        kr.add_recovery_key().map(|(id, key)| (id, key, None))
    } else {
        kr.replace_recovery_key_with(rotation(a.no_rotate))
    }
    .context("cannot create the recovery key")?;
    let replaced: Vec<u32> = if a.keep_existing { Vec::new() } else { before };
    let rekeyed = revocation.is_some();
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
            "new_primary_version": revocation.as_ref().and_then(|r| r.new_primary),
            "protectors_to_reenroll": revocation.as_ref().map(|r| r.to_reenroll.clone()).unwrap_or_default(),
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
    if let Some(revocation) = &revocation {
        out.say(format!(
            "The previous recovery key (protector {}) no longer opens this keyring file: the master key was replaced.",
            join_ids(&replaced)
        ));
        revocation_notes(ctx, &kr, revocation, "the previous recovery key");
    }
    Ok(())
}
