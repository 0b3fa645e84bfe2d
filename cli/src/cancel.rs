//! Ctrl-C: a first SIGINT (or SIGTERM/SIGHUP) asks the running operation
//! to stop cleanly (no partial output, no temporary file left); a second
//! one exits at once with the "cancelled" code.
//!
//! Handlers are installed only for long operations, after every secret was
//! read, so Ctrl-C at a passphrase prompt still ends the program at once.
//! They stay installed until the process exits: signal-hook cannot restore
//! the default action, and unregistering would leave Ctrl-C ignored.

use crate::exit::Class;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The flag that the installed signal handlers set.
#[derive(Debug)]
pub struct CancelGuard {
    flag: Arc<AtomicBool>,
}

/// Signals that cancel.
fn signals() -> Vec<i32> {
    #[cfg(unix)]
    {
        vec![
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ]
    }
    #[cfg(not(unix))]
    {
        vec![signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
    }
}

impl CancelGuard {
    /// Installs the handlers. If the platform refuses, cancellation simply
    /// falls back to the default (the process is killed).
    pub fn install() -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        let code = i32::from(Class::Cancelled.number());
        for sig in signals() {
            // Second signal (flag already set): exit at once.
            // Registration fails only for forbidden signals; then the
            // default action (termination) simply stays.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, code, Arc::clone(&flag));
            let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
        }
        Self { flag }
    }

    /// The flag the core polls ([`strongroom::file::FileOptions::cancel`]).
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    /// Fails with [`strongroom::Error::Cancelled`] once a signal arrived.
    pub fn check(&self) -> Result<(), strongroom::Error> {
        if self.flag.load(Ordering::Relaxed) {
            Err(strongroom::Error::Cancelled)
        } else {
            Ok(())
        }
    }
}
