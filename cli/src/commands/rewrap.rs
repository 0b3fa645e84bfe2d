//! `strongroom rewrap`: change who can open a file (keyring version,
//! passphrases) by rewriting its header only; the payload is copied
//! byte for byte and the file is replaced atomically.

use super::{Ctx, has_passphrase_stanza, has_stanza_for_keyring, kdf_params, keyring_opens, progress_fn};
use crate::args::RewrapArgs;
use crate::cancel::CancelGuard;
use crate::exit::{usage, usage_hint};
use crate::output::{file_info_json, recipients_summary};
use anyhow::{Context, Result};
use serde_json::json;
use strongroom::file::{FileOptions, Identity, Rewrap, inspect_path, rewrap_file};

/// Runs `rewrap`.
pub fn run(ctx: &Ctx<'_>, a: &RewrapArgs) -> Result<()> {
    if !(a.to_primary
        || a.add_passphrase
        || a.remove_passphrase
        || a.remove_all_passphrases
        || a.remove_keyring)
    {
        return Err(usage_hint(
            "nothing to do",
            "give --to-primary, --add-passphrase, --remove-passphrase, --remove-all-passphrases or --remove-keyring",
        ));
    }
    let stdin_readers = [a.pass.uses_stdin(), a.new.uses_stdin(), a.unlock.uses_stdin()];
    if stdin_readers.iter().filter(|b| **b).count() > 1 {
        return Err(usage("only one secret can be read from file descriptor 0"));
    }
    let before = inspect_path(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let params = if a.add_passphrase {
        Some(kdf_params(&a.kdf)?)
    } else {
        None
    };

    // The keyring: needed for --to-primary, and used to open the file when
    // it has a keyring stanza (unless --passphrase says to open with one).
    let passphrase_open = a.passphrase || a.pass.any();
    let opens_file = match ctx.existing_keyring()? {
        Some(path) if !passphrase_open => has_stanza_for_keyring(&before, &path)?,
        _ => false,
    };
    let keyring = if a.to_primary || opens_file {
        Some(ctx.open_keyring(&a.unlock)?)
    } else {
        None
    };
    let keyring_fits = keyring.as_ref().is_some_and(|k| keyring_opens(k, &before));
    let need_current =
        a.remove_passphrase || passphrase_open || (!keyring_fits && has_passphrase_stanza(&before));
    let current = if need_current {
        Some(a.pass.existing_passphrase("Current passphrase of the file")?)
    } else {
        None
    };
    if keyring.is_none() && current.is_none() {
        return Err(strongroom::Error::NoMatchingKey {
            wanted: recipients_summary(&before),
        }
        .into());
    }
    let added = if a.add_passphrase {
        Some(a.new.get("New passphrase to add to the file")?)
    } else {
        None
    };

    let mut identities = Vec::new();
    if let Some(k) = &keyring {
        identities.push(Identity::Keyring(k));
    }
    if let Some(p) = &current {
        identities.push(Identity::Passphrase(p));
    }
    let mut plan = Rewrap {
        keyring: if a.to_primary { keyring.as_ref() } else { None },
        remove_keyrings: a.remove_keyring,
        remove_all_passphrases: a.remove_all_passphrases,
        ..Default::default()
    };
    if let (Some(p), Some(params)) = (&added, params) {
        plan.add_passphrases.push((p, params));
    }
    if a.remove_passphrase {
        match &current {
            Some(p) => plan.remove_passphrases.push(p),
            None => return Err(usage("--remove-passphrase needs the passphrase to remove")),
        }
    }
    let cancel = CancelGuard::install();
    let total = std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0);
    let bar = ctx.out.progress("rewrapping", total);
    let progress = bar.as_ref().map(progress_fn);
    let opts = FileOptions {
        overwrite: true,
        progress: progress.as_ref().map(|p| p as &(dyn Fn(u64, u64) + Sync)),
        cancel: Some(cancel.flag()),
    };
    let result = rewrap_file(&a.file, &identities, &plan, &opts);
    drop(progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let after = result.with_context(|| format!("cannot rewrap {}", a.file.display()))?;

    ctx.out.json(json!({
        "command": "rewrap",
        "path": a.file.display().to_string(),
        "before": file_info_json(&before),
        "file": file_info_json(&after),
    }));
    ctx.out
        .say(format!("rewrapped {} (payload unchanged)", a.file.display()));
    ctx.out.say(format!("  before: {}", recipients_summary(&before)));
    ctx.out.say(format!("  after:  {}", recipients_summary(&after)));
    Ok(())
}
