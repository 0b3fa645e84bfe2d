//! `strongroom rewrap`: change who can open a file (keyring version,
//! passphrases) by rewriting its header only; the payload is copied
//! byte for byte and the file is replaced atomically. With `--rekey` the
//! file gets a new file key and the payload is re-encrypted, which revokes.

use super::{Ctx, has_passphrase_stanza, has_stanza_for_keyring, kdf_params, keyring_opens, progress_fn};
use crate::args::RewrapArgs;
use crate::cancel::CancelGuard;
use crate::exit::{usage, usage_hint};
use crate::output::{file_info_json, recipients_summary};
use anyhow::{Context, Result};
use serde_json::json;
use strongroom::file::{
    FileInfo, FileOptions, Identity, MAX_PASSPHRASE_STANZAS, Recipient, Rewrap, StanzaInfo, inspect_path,
    rekey_file, rewrap_file,
};
use strongroom::keyring::Keyring;

/// Runs `rewrap`.
pub fn run(ctx: &Ctx<'_>, a: &RewrapArgs) -> Result<()> {
    if !(a.to_primary
        || a.add_passphrase
        || a.remove_passphrase
        || a.remove_all_passphrases
        || a.remove_keyring
        || a.rekey)
    {
        return Err(usage_hint(
            "nothing to do",
            "give --rekey, --to-primary, --add-passphrase, --remove-passphrase, --remove-all-passphrases or --remove-keyring",
        ));
    }
    let stdin_readers = [a.pass.uses_stdin(), a.new.uses_stdin(), a.unlock.uses_stdin()];
    if stdin_readers.iter().filter(|b| **b).count() > 1 {
        return Err(usage("only one secret can be read from file descriptor 0"));
    }
    let before = inspect_path(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    // Limits and what --rekey would drop, before any secret is asked for.
    let passphrase_stanzas = before
        .stanzas
        .iter()
        .filter(|s| matches!(s, StanzaInfo::Passphrase { .. }))
        .count();
    let kept = if a.remove_all_passphrases || a.remove_passphrase || a.rekey {
        0
    } else {
        passphrase_stanzas
    };
    if a.add_passphrase && kept + 1 > MAX_PASSPHRASE_STANZAS {
        return Err(strongroom::Error::TooManyRecipients {
            what: "passphrases",
            count: kept + 1,
            max: MAX_PASSPHRASE_STANZAS,
        }
        .into());
    }
    let configured = ctx.existing_keyring()?;
    if a.rekey {
        refuse_lossy_rekey(a, &before, configured.as_deref(), passphrase_stanzas)?;
    }
    let params = if a.add_passphrase || a.rekey {
        Some(kdf_params(&a.kdf)?)
    } else {
        None
    };

    // The keyring: needed for --to-primary, and used to open the file when
    // it has a keyring stanza (unless --passphrase says to open with one).
    let passphrase_open = a.passphrase || a.pass.any();
    let for_this_keyring = match &configured {
        Some(path) => has_stanza_for_keyring(&before, path)?,
        None => false,
    };
    let opens_file = for_this_keyring && !passphrase_open;
    let rebuilds_keyring = a.rekey && !a.remove_keyring && for_this_keyring;
    let keyring = if a.to_primary || opens_file || rebuilds_keyring {
        Some(ctx.open_keyring(&a.unlock)?)
    } else {
        None
    };
    let keyring_fits = keyring.as_ref().is_some_and(|k| keyring_opens(k, &before));
    let rebuilds_passphrase = a.rekey && !a.remove_all_passphrases && has_passphrase_stanza(&before);
    let need_current = a.remove_passphrase
        || passphrase_open
        || rebuilds_passphrase
        || (!keyring_fits && has_passphrase_stanza(&before));
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
        identities.push(Identity::PassphraseWithBudget(p, ctx.kdf_budget));
    }
    if a.rekey {
        let mut recipients = Vec::new();
        if let Some(k) = keyring.as_ref().filter(|_| !a.remove_keyring) {
            recipients.push(Recipient::Keyring(k));
        }
        let params = params.expect("computed for --rekey");
        if let Some(p) = current
            .as_ref()
            .filter(|_| !a.remove_passphrase && !a.remove_all_passphrases)
        {
            recipients.push(Recipient::Passphrase(p, params));
        }
        if let Some(p) = &added {
            recipients.push(Recipient::Passphrase(p, params));
        }
        if recipients.is_empty() {
            return Err(usage("the rekey would leave no way to open the file"));
        }
        return run_rekey(ctx, a, &before, &identities, &recipients);
    }
    let mut plan = Rewrap::new()
        .remove_keyrings(a.remove_keyring)
        .remove_all_passphrases(a.remove_all_passphrases);
    if let (true, Some(k)) = (a.to_primary, keyring.as_ref()) {
        plan = plan.to_primary(k);
    }
    if let (Some(p), Some(params)) = (&added, params) {
        plan = plan.add_passphrase(p, params);
    }
    if a.remove_passphrase {
        match &current {
            Some(p) => plan = plan.remove_passphrase(p),
            None => return Err(usage("--remove-passphrase needs the passphrase to remove")),
        }
    }
    let cancel = CancelGuard::install();
    let total = std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0);
    let bar = ctx.out.progress("rewrapping", total);
    let progress = bar.as_ref().map(progress_fn);
    // The plan was made on `before`: if another process changed the file
    // since, fail (Locked) rather than apply a stale plan.
    let mut opts = FileOptions::new()
        .overwrite(true)
        .cancel(cancel.flag())
        .expect_header(&before);
    if let Some(p) = &progress {
        opts = opts.progress(p);
    }
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

/// Refuses a `--rekey` that would silently drop protectors it cannot
/// rebuild: passphrase stanzas beyond the one passphrase given, stanzas of
/// another keyring.
fn refuse_lossy_rekey(
    a: &RewrapArgs,
    before: &FileInfo,
    keyring: Option<&std::path::Path>,
    passphrases: usize,
) -> Result<()> {
    // The one passphrase given is rebuilt (or, with --remove-passphrase, dropped).
    if !a.remove_all_passphrases && passphrases > 1 {
        return Err(usage_hint(
            format!(
                "the file has {passphrases} passphrase stanzas; --rekey rebuilds only the passphrase you give"
            ),
            "add --remove-all-passphrases (with --add-passphrase for the one to keep) to drop the others",
        ));
    }
    let ours = match keyring {
        Some(path) => Some(Keyring::peek_id(path)?),
        None => None,
    };
    let foreign = before
        .stanzas
        .iter()
        .any(|s| matches!(s, StanzaInfo::Keyring { keyring_id, .. } if Some(*keyring_id) != ours));
    if foreign && !a.remove_keyring {
        return Err(usage_hint(
            "the file has a stanza for another keyring, which --rekey cannot rebuild",
            "add --remove-keyring to drop every keyring stanza (then --rekey encrypts to the passphrases only), or run with that keyring",
        ));
    }
    Ok(())
}

/// The `--rekey` path: new file key and file id, payload re-encrypted.
fn run_rekey(
    ctx: &Ctx<'_>,
    a: &RewrapArgs,
    before: &FileInfo,
    identities: &[Identity<'_>],
    recipients: &[Recipient<'_>],
) -> Result<()> {
    let cancel = CancelGuard::install();
    let total = std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0);
    let bar = ctx.out.progress("rekeying", total);
    let progress = bar.as_ref().map(progress_fn);
    let mut opts = FileOptions::new()
        .overwrite(true)
        .cancel(cancel.flag())
        .expect_header(before);
    if let Some(p) = &progress {
        opts = opts.progress(p);
    }
    let result = rekey_file(&a.file, None, identities, recipients, &opts);
    drop(progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let after = result.with_context(|| format!("cannot rekey {}", a.file.display()))?;
    ctx.out.json(json!({
        "command": "rewrap",
        "rekey": true,
        "path": a.file.display().to_string(),
        "before": file_info_json(before),
        "file": file_info_json(&after),
    }));
    ctx.out.say(format!(
        "rekeyed {} (new file key and file id, payload re-encrypted; old copies of the header no longer open it)",
        a.file.display()
    ));
    ctx.out.say(format!("  before: {}", recipients_summary(before)));
    ctx.out.say(format!("  after:  {}", recipients_summary(&after)));
    Ok(())
}
