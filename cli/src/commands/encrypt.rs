//! `strongroom encrypt`: to the keyring's primary version and/or a
//! passphrase; files in parallel and atomically, pipes as a stream.

use super::{Ctx, Place, copy_loop, kdf_params, progress_fn, refuse_existing};
use crate::args::EncryptArgs;
use crate::cancel::CancelGuard;
use crate::exit::{usage, usage_hint};
use crate::output::{file_info_json, file_info_lines, recipients_summary};
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{BufWriter, IsTerminal, Write};
use strongroom::file::{Encryptor, FileInfo, FileOptions, OutputFile, Recipient, encrypt_file};

/// Runs `encrypt`.
pub fn run(ctx: &Ctx<'_>, a: &EncryptArgs) -> Result<()> {
    let input = Place::from(&a.input);
    let output = match (&a.output, &input) {
        (Some(o), _) => Place::from(o),
        (None, Place::Std) => Place::Std,
        (None, Place::Path(p)) => {
            let mut name = p.as_os_str().to_owned();
            name.push(".srf");
            Place::Path(name.into())
        }
    };
    if input == Place::Std && (a.pass.uses_stdin() || a.unlock.uses_stdin()) {
        return Err(usage(
            "standard input carries the data; read the passphrase from another descriptor or a file",
        ));
    }
    match &output {
        Place::Std if std::io::stdout().is_terminal() => {
            return Err(usage_hint(
                "refusing to write encrypted (binary) data to a terminal",
                "use -o FILE, or redirect standard output to a file or a pipe",
            ));
        }
        Place::Path(p) => {
            OutputFile::check(p, true)?; // a link is refused even with --force
            refuse_existing(p, a.force)?
        }
        Place::Std => {}
    }
    let regular_input = match &input {
        Place::Path(p) => {
            let meta = std::fs::metadata(p)
                .map_err(strongroom::Error::Io)
                .with_context(|| format!("cannot read {}", p.display()))?;
            meta.is_file()
        }
        Place::Std => false,
    };

    let use_passphrase = a.passphrase || a.pass.any();
    let params = if use_passphrase {
        Some(kdf_params(&a.kdf)?)
    } else {
        None
    };
    let keyring = match ctx.existing_keyring()? {
        Some(_) if !a.no_keyring => Some(ctx.open_keyring(&a.unlock)?),
        _ => None,
    };
    if keyring.is_none() && !use_passphrase {
        let path = ctx.keyring_path()?;
        let why = if a.no_keyring {
            "--no-keyring was given".to_string()
        } else {
            format!("no keyring at {}", path.display())
        };
        return Err(usage_hint(
            format!("nothing to encrypt to: {why} and no --passphrase"),
            "create a keyring with `strongroom keyring init`, or add --passphrase",
        ));
    }
    let passphrase = if use_passphrase {
        Some(a.pass.new_passphrase()?)
    } else {
        None
    };
    let mut recipients = Vec::new();
    if let Some(kr) = &keyring {
        recipients.push(Recipient::Keyring(kr));
    }
    if let (Some(p), Some(params)) = (&passphrase, params) {
        recipients.push(Recipient::Passphrase(p, params));
    }

    let cancel = CancelGuard::install();
    let info = match (&input, &output) {
        (Place::Path(src), Place::Path(dst)) if regular_input => {
            let total = std::fs::metadata(src).map(|m| m.len()).unwrap_or(0);
            let bar = ctx.out.progress("encrypting", total);
            let progress = bar.as_ref().map(progress_fn);
            let mut opts = FileOptions::new().overwrite(a.force).cancel(cancel.flag());
            if let Some(p) = &progress {
                opts = opts.progress(p);
            }
            let result = encrypt_file(src, dst, &recipients, &opts);
            drop(progress);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            result.with_context(|| format!("cannot encrypt {}", src.display()))?
        }
        _ => stream(ctx, &input, &output, &recipients, a.force, &cancel)?,
    };

    let out = ctx.out;
    out.json(json!({
        "command": "encrypt",
        "input": input.json(),
        "output": output.json(),
        "plaintext_len": info.plaintext_len,
        "file": file_info_json(&info),
    }));
    out.say(format!(
        "encrypted {} -> {} for {}",
        input.display("standard input"),
        output.display("standard output"),
        recipients_summary(&info)
    ));
    if !ctx.out.is_json() && output != Place::Std {
        for line in file_info_lines(&info, "  ") {
            out.say(line);
        }
    }
    Ok(())
}

/// Encrypts with the streaming [`Encryptor`] when either side is a pipe.
fn stream(
    ctx: &Ctx<'_>,
    input: &Place,
    output: &Place,
    recipients: &[Recipient<'_>],
    force: bool,
    cancel: &CancelGuard,
) -> Result<FileInfo> {
    let (reader, total): (Box<dyn std::io::Read>, Option<u64>) = match input {
        Place::Std => (Box::new(std::io::stdin().lock()), None),
        Place::Path(p) => {
            let f = std::fs::File::open(p)
                .map_err(strongroom::Error::Io)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let len = f.metadata().ok().map(|m| m.len());
            (Box::new(f), len)
        }
    };
    let bar = total.and_then(|t| ctx.out.progress("encrypting", t));
    let (mut info, n) = match output {
        Place::Std => {
            ctx.out.set_stdout_busy();
            let stdout = std::io::stdout().lock();
            let mut enc = Encryptor::new(BufWriter::with_capacity(1 << 20, stdout), recipients)?;
            let n = copy_loop(reader, &mut enc, cancel, bar.as_ref())?;
            let info = enc.info().clone();
            enc.finish()?.flush().map_err(strongroom::Error::Io)?;
            (info, n)
        }
        Place::Path(dst) => {
            let mut out = OutputFile::create(dst, force)?;
            let mut enc = Encryptor::new(BufWriter::with_capacity(1 << 20, &mut out), recipients)?;
            let n = copy_loop(reader, &mut enc, cancel, bar.as_ref())?;
            let info = enc.info().clone();
            enc.finish()?.flush().map_err(strongroom::Error::Io)?;
            out.commit()?;
            (info, n)
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    info.payload_len = strongroom::hazmat::chunked::ciphertext_len(n).ok();
    info.plaintext_len = Some(n);
    Ok(info)
}
