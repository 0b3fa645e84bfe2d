//! What the crash tests share: a seeded generator, the round count, and
//! running a command that is killed with SIGKILL after a delay learnt from
//! the command's own run time.
//!
//! `STRONGROOM_CRASH_ROUNDS=N` sets the number of rounds, and
//! `STRONGROOM_CRASH_SEED=N` replays a run (every run prints its seed).

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*), seeded per run.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `STRONGROOM_CRASH_SEED`, else from the clock; prints
    /// the seed so that a failing run can be replayed.
    pub fn seeded() -> Self {
        let seed = std::env::var("STRONGROOM_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("crash test seed: STRONGROOM_CRASH_SEED={seed}");
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The number of rounds: `STRONGROOM_CRASH_ROUNDS`, else `default`.
pub fn rounds(default: usize) -> usize {
    std::env::var("STRONGROOM_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs a command and kills it with SIGKILL after `delay` if it is still
/// running; returns its output (stdout and stderr) and how long it ran
/// when it finished by itself, `None` when it was killed.
pub fn run_killed(mut cmd: Command, delay: Duration) -> Option<(Output, Duration)> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let took = start.elapsed();
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
            child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
            return Some((
                Output {
                    status,
                    stdout,
                    stderr,
                },
                took,
            ));
        }
        if start.elapsed() >= delay {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// How long a kind of command runs here, learnt from the runs that
/// complete, so that the kills spread over the whole run of a command.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    typical_us: u64,
}

impl Spread {
    /// Starts from a guess of the run time.
    pub fn new(guess: Duration) -> Self {
        Self {
            typical_us: guess.as_micros() as u64,
        }
    }

    /// A random delay from zero to one and a half typical runs: most
    /// runs are killed somewhere along the way, some complete.
    pub fn delay(&self, rng: &mut Rng) -> Duration {
        Duration::from_micros(rng.below(self.typical_us * 3 / 2 + 1))
    }

    /// Learns from a run that completed in `took`.
    pub fn learn(&mut self, took: Duration) {
        self.typical_us = (self.typical_us * 3 + took.as_micros() as u64) / 4;
    }

    /// Learns from a run that was killed: it would have run longer than
    /// that, so the estimate grows (a first guess that was too short must
    /// not keep every run killed early).
    pub fn learn_killed(&mut self) {
        self.typical_us += self.typical_us / 4 + 1;
    }

    /// The current estimate.
    pub fn typical(&self) -> Duration {
        Duration::from_micros(self.typical_us)
    }
}
