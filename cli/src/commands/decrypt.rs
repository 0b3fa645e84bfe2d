//! `strongroom decrypt`: picks the keys from the file's header (keyring
//! first, a passphrase only when needed), then decrypts atomically to a
//! file or chunk by authenticated chunk to a pipe.

use super::{
    Ctx, Place, copy_loop, has_keyring_stanza, has_passphrase_stanza, has_stanza_for_keyring, keyring_opens,
    progress_fn, refuse_existing,
};
use crate::args::DecryptArgs;
use crate::cancel::CancelGuard;
use crate::exit::{usage, usage_hint};
use crate::output::recipients_summary;
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{BufWriter, Read};
use strongroom::Passphrase;
use strongroom::file::{EncryptedFile, FileInfo, FileOptions, Identity, OutputFile, decrypt_file};
use strongroom::keyring::Keyring;
use strongroom::passphrase::KdfBudget;

/// Runs `decrypt`.
pub fn run(ctx: &Ctx<'_>, a: &DecryptArgs) -> Result<()> {
    let input = Place::from(&a.input);
    let output = match (&a.output, &input) {
        (Some(o), _) => Place::from(o),
        (None, Place::Std) => Place::Std,
        (None, Place::Path(p)) => match p.to_str().and_then(|s| s.strip_suffix(".srf")) {
            Some(stem) if !stem.is_empty() && !stem.ends_with(std::path::MAIN_SEPARATOR) => {
                Place::Path(stem.into())
            }
            _ => {
                return Err(usage_hint(
                    format!(
                        "cannot choose an output name: {} does not end in .srf",
                        p.display()
                    ),
                    "give one with -o OUTPUT (or -o - for standard output)",
                ));
            }
        },
    };
    if input == Place::Std && (a.pass.uses_stdin() || a.unlock.uses_stdin()) {
        return Err(usage(
            "standard input carries the data; read the passphrase from another descriptor or a file",
        ));
    }
    if let Place::Path(p) = &output {
        OutputFile::check(p, true)?; // a link is refused even with --force
        refuse_existing(p, a.force)?;
    }

    // Read the header first: it says which keys can open the file. A
    // regular file is inspected in place; a stream (stdin, a FIFO) has its
    // header read and then replayed in front of the rest.
    let regular = match &input {
        Place::Path(p) => std::fs::metadata(p)
            .map_err(strongroom::Error::Io)
            .with_context(|| format!("cannot read {}", p.display()))?
            .is_file(),
        Place::Std => false,
    };
    let encrypted = match &input {
        Place::Path(p) if regular => {
            let file = std::fs::File::open(p).map_err(strongroom::Error::Io)?;
            let file: Box<dyn Read> = Box::new(file);
            EncryptedFile::open(file).with_context(|| format!("cannot read {}", p.display()))?
        }
        _ => {
            let stream: Box<dyn Read> = match &input {
                Place::Path(p) => Box::new(std::fs::File::open(p).map_err(strongroom::Error::Io)?),
                Place::Std => Box::new(std::io::stdin().lock()),
            };
            EncryptedFile::open(stream)
                .with_context(|| format!("cannot read {}", input.display("standard input")))?
        }
    };
    let info = encrypted.info().clone();
    let keys = Keys::choose(ctx, a, &info)?;
    let identities = keys.identities();

    let cancel = CancelGuard::install();
    let plaintext_len = match (&input, &output) {
        (Place::Path(src), Place::Path(dst)) if regular => {
            drop(encrypted);
            let total = std::fs::metadata(src).map(|m| m.len()).unwrap_or(0);
            let bar = ctx.out.progress("decrypting", total);
            let progress = bar.as_ref().map(progress_fn);
            let mut opts = FileOptions::new().overwrite(a.force).cancel(cancel.flag());
            if let Some(p) = &progress {
                opts = opts.progress(p);
            }
            let result = decrypt_file(src, dst, &identities, &opts);
            drop(progress);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            result.with_context(|| format!("cannot decrypt {}", src.display()))?
        }
        (_, Place::Path(dst)) => {
            let dec = encrypted.decrypt(&identities)?;
            let mut out = OutputFile::create(dst, a.force)?;
            let n = copy_loop(dec, BufWriter::with_capacity(1 << 20, &mut out), &cancel, None)?;
            out.commit()?;
            n
        }
        (_, Place::Std) => {
            let dec = encrypted.decrypt(&identities)?;
            ctx.out.set_stdout_busy();
            let stdout = std::io::stdout().lock();
            copy_loop(dec, BufWriter::with_capacity(1 << 20, stdout), &cancel, None)
                .context("decryption stopped; the output is incomplete")?
        }
    };

    ctx.out.json(json!({
        "command": "decrypt",
        "input": input.json(),
        "output": output.json(),
        "plaintext_len": plaintext_len,
        "keys_offered": keys.used(),
    }));
    ctx.out.say(format!(
        "decrypted {} -> {} ({plaintext_len} bytes, authenticated) with {}",
        input.display("standard input"),
        output.display("standard output"),
        keys.used().join(" or ")
    ));
    Ok(())
}

/// The keys offered to open a file.
struct Keys {
    keyring: Option<Keyring>,
    passphrase: Option<Passphrase>,
    /// The Argon2id budget the passphrase may spend (--max-kdf-memory,
    /// --allow-expensive-kdf).
    budget: KdfBudget,
}

impl Keys {
    /// Unlocks the keyring if the file has a stanza for a keyring and one
    /// exists here; asks for a passphrase only if the file has a passphrase
    /// stanza and the keyring cannot open it (or --passphrase was given).
    fn choose(ctx: &Ctx<'_>, a: &DecryptArgs, info: &FileInfo) -> Result<Keys> {
        let passphrase_only = a.passphrase || a.pass.any();
        let has_pass = has_passphrase_stanza(info);
        if passphrase_only {
            if !has_pass {
                return Err(strongroom::Error::NoMatchingKey {
                    wanted: recipients_summary(info),
                }
                .into());
            }
            let p = a.pass.existing_passphrase("Passphrase of the file")?;
            return Ok(Keys {
                keyring: None,
                passphrase: Some(p),
                budget: ctx.kdf_budget,
            });
        }
        let mut keyring = None;
        let configured = if a.no_keyring {
            None
        } else {
            ctx.existing_keyring()?
        };
        if let Some(path) = &configured
            && has_keyring_stanza(info)
        {
            match has_stanza_for_keyring(info, path) {
                Ok(true) => keyring = Some(ctx.open_keyring(&a.unlock)?),
                Ok(false) => {}
                // An unreadable keyring must not block a passphrase.
                Err(e) if has_pass => ctx
                    .out
                    .note(format!("ignoring the keyring {}: {e:#}", path.display())),
                Err(e) => return Err(e.context(format!("cannot read the keyring {}", path.display()))),
            }
        }
        let keyring_fits = keyring.as_ref().is_some_and(|k| keyring_opens(k, info));
        let passphrase = if !keyring_fits && has_pass {
            Some(a.pass.existing_passphrase("Passphrase of the file")?)
        } else {
            None
        };
        if keyring.is_none() && passphrase.is_none() {
            if configured.is_some() && has_keyring_stanza(info) {
                return Err(strongroom::Error::WrongKeyring.into());
            }
            return Err(strongroom::Error::NoMatchingKey {
                wanted: recipients_summary(info),
            }
            .into());
        }
        Ok(Keys {
            keyring,
            passphrase,
            budget: ctx.kdf_budget,
        })
    }

    fn identities(&self) -> Vec<Identity<'_>> {
        let mut ids = Vec::new();
        if let Some(k) = &self.keyring {
            ids.push(Identity::Keyring(k));
        }
        if let Some(p) = &self.passphrase {
            ids.push(Identity::PassphraseWithBudget(p, self.budget));
        }
        ids
    }

    fn used(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.keyring.is_some() {
            v.push("keyring");
        }
        if self.passphrase.is_some() {
            v.push("passphrase");
        }
        v
    }
}
