//! The `strongroom` command: keyrings, file encryption, inspection, demo.
//!
//! `anyhow` is used only here, at the edge; every failure is classified
//! into an exit code by [`exit::classify`] from the core error in its chain.

mod args;
mod cancel;
mod commands;
mod exit;
mod hardening;
mod output;
mod secrets;

use clap::Parser;
use clap::error::ErrorKind as ClapKind;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // First, while the process has one thread: no core dumps, and the
    // secret environment variables moved into memory.
    hardening::disable_core_dumps();
    hardening::take_environment_secrets(&[
        secrets::ENV_KEYRING_PASSPHRASE,
        secrets::ENV_PASSPHRASE,
        secrets::ENV_NEW_PASSPHRASE,
        secrets::ENV_DB_PASSWORD,
    ]);
    let wants_json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if wants_json && !matches!(e.kind(), ClapKind::DisplayHelp | ClapKind::DisplayVersion) {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                let message = first.strip_prefix("error: ").unwrap_or(first);
                print_json_error(exit::Class::Usage, None, message);
                return ExitCode::from(exit::Class::Usage.number());
            }
            // clap prints help/version with code 0 and usage errors with 2.
            e.exit();
        }
    };
    let out = output::Output::new(&cli.global);
    match commands::run(&cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let exit::Classified { class, hint, ident } = exit::classify(&err);
            let message = format!("{err:#}");
            if out.is_json() {
                print_json_error(class, ident, &message);
            } else {
                let mut stderr = std::io::stderr().lock();
                let _ = writeln!(stderr, "strongroom: error: {message}");
                if let Some(hint) = hint {
                    let _ = writeln!(stderr, "strongroom: hint: {hint}");
                }
            }
            ExitCode::from(class.number())
        }
    }
}

/// Prints a JSON error: its class, exit code and message, and the core
/// error's stable name and number when there is one.
fn print_json_error(class: exit::Class, ident: Option<&strongroom::error::ErrorCode>, message: &str) {
    let mut error =
        serde_json::json!({"kind": class.name(), "message": message, "exit_code": class.number()});
    if let Some(ident) = ident {
        error["name"] = ident.name.into();
        error["code"] = ident.code.into();
    }
    let value = serde_json::json!({ "error": error });
    let _ = writeln!(std::io::stderr().lock(), "{value}");
}
