//! The command-line grammar (clap derive).
//!
//! Secrets never appear here: every secret option names a *source* (an
//! environment variable, a file or a file descriptor), never the secret.

use crate::exit;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use strongroom::field::{Mode, Normalizer, ValueType};

/// Encrypt files with keyrings and passphrases, and manage keyrings.
#[derive(Debug, Parser)]
#[command(
    name = "strongroom",
    version,
    about = "Encrypt files with keyrings and passphrases, and manage keyrings",
    long_about = "Encrypt files with keyrings and passphrases, and manage keyrings.\n\n\
        Secrets are never taken from the command line: passphrases come from an environment \
        variable, a file, a file descriptor or a terminal prompt. Start with `strongroom demo`.",
    after_help = exit::EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Keyring file [default: $XDG_CONFIG_HOME/strongroom/keyring.srk or ~/.config/strongroom/keyring.srk]
    #[arg(long, global = true, env = "STRONGROOM_KEYRING", value_name = "PATH")]
    pub keyring: Option<PathBuf>,
    /// Print one JSON object on stdout (errors as JSON on stderr)
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only results and errors
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Never show a progress bar
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Do not check keyrings against, nor add them to, the record of keyrings seen on this machine
    /// [default: the record in $STRONGROOM_STATE_DIR, $XDG_STATE_HOME/strongroom or ~/.local/state/strongroom]
    #[arg(long, global = true, env = "STRONGROOM_NO_SEEN_RECORD", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_seen_record: bool,
    /// Allow passphrase stanzas (of files and keyrings) that ask Argon2id for up to MIB of memory per run,
    /// and six passes over MIB per command in all [default: 1024]; dearer stanzas are not tried (exit 2)
    #[arg(
        long,
        global = true,
        value_name = "MIB",
        conflicts_with = "allow_expensive_kdf"
    )]
    pub max_kdf_memory: Option<u32>,
    /// Try passphrase stanzas whatever Argon2id work they ask for, up to the format's caps (2 GiB,
    /// 16 passes, each of 4 stanzas): only for files and keyrings you trust
    #[arg(long, global = true)]
    pub allow_expensive_kdf: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and manage the keyring (key versions, passphrases, recovery key)
    #[command(subcommand)]
    Keyring(KeyringCommand),
    /// Encrypt a file (or standard input) to the keyring and/or a passphrase
    #[command(after_help = ENCRYPT_AFTER_HELP)]
    Encrypt(EncryptArgs),
    /// Decrypt a file (or standard input) with the keyring or a passphrase
    #[command(after_help = DECRYPT_AFTER_HELP)]
    Decrypt(DecryptArgs),
    /// Change who can open an encrypted file (--rekey: with a new file key, revoking)
    #[command(after_help = REWRAP_AFTER_HELP)]
    Rewrap(RewrapArgs),
    /// Show an encrypted file's header (needs no key)
    Inspect(InspectArgs),
    /// Encrypt, decrypt, index and rewrap database values, one per line
    #[command(subcommand)]
    Field(FieldCommand),
    /// Encrypt, rotate, decrypt and verify database columns in place (SQLite, PostgreSQL, MySQL/MariaDB)
    #[command(subcommand)]
    Db(crate::commands::db::DbCommand),
    /// Run a self-contained demonstration in a fresh folder (no prompts)
    Demo(DemoArgs),
}

/// How output files are written and what a killed run can leave, for the
/// help of the commands that write files.
macro_rules! output_file_help {
    () => {
        "  An output path that is a symbolic link (even a dangling one) is refused,
  with or without --force (exit 7): remove the link or name its target.
  If the process is killed, no output appears. On Linux (O_TMPFILE) no
  temporary file is left either; elsewhere a file named .strongroom-*.tmp
  may remain in the output's folder: it is incomplete and safe to delete
  (for example `rm -- DIR/.strongroom-*.tmp`)."
    };
}

/// Extra help of `encrypt`.
const ENCRYPT_AFTER_HELP: &str = concat!(
    "Output:\n  The encrypted file appears only when complete.\n",
    output_file_help!()
);

/// Extra help of `rewrap`.
const REWRAP_AFTER_HELP: &str = concat!(
    "\
Revocation:
  A plain rewrap keeps the file key: anyone holding an old copy of the file
  (or only of its header) can still open the current payload with a removed
  passphrase or a retired key version. To revoke, add --rekey: the file gets
  a new file key and file id and the payload is re-encrypted, so no old header
  opens it. With --rekey the new file is encrypted to the keyring (unless
  --remove-keyring), to the current passphrase (unless removed) and to any
  --add-passphrase; other stanzas are dropped, and the command refuses if that
  would silently drop a passphrase or another keyring's stanza.

Output:
  The file is replaced atomically and keeps its permission bits (setuid,
  setgid and sticky are dropped).
",
    output_file_help!()
);

/// Extra help of `decrypt`.
const DECRYPT_AFTER_HELP: &str = concat!(
    "\
Output:
  To a file (the default), the plaintext appears only after the whole input
  authenticated; on any error no output file (and no temporary file) is left.
  To standard output (-o -), plaintext is released chunk by authenticated
  chunk (16 KiB): a truncated or modified input stops the stream part-way and
  the command exits non-zero (4 or 5), so always check the exit status.

Keys:
  The keyring is used if it exists and the file has a stanza for it. A
  passphrase is asked for only when the file has a passphrase stanza and no
  keyring stanza matched, or when --passphrase is given (then the keyring is
  not used).

Output files:
",
    output_file_help!()
);

/// Where the keyring's own secret comes from (to unlock, or to set at init).
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Keyring secret (one of)")]
pub struct UnlockArgs {
    /// Read the keyring passphrase from this environment variable [default: STRONGROOM_KEYRING_PASSPHRASE if set, else prompt]
    #[arg(long, value_name = "VAR")]
    pub keyring_passphrase_env: Option<String>,
    /// Read the keyring passphrase from this file (one trailing newline is stripped)
    #[arg(long, value_name = "PATH")]
    pub keyring_passphrase_file: Option<PathBuf>,
    /// Read the keyring passphrase from this open file descriptor (unix)
    #[arg(long, value_name = "N")]
    pub keyring_passphrase_fd: Option<u32>,
    /// Unlock the keyring with the recovery key in this file
    #[arg(long, value_name = "PATH")]
    pub recovery_key_file: Option<PathBuf>,
    /// Unlock the keyring with the recovery key in this environment variable
    #[arg(long, value_name = "VAR")]
    pub recovery_key_env: Option<String>,
}

/// Where a file passphrase comes from.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "File passphrase source")]
pub struct PassphraseSourceArgs {
    /// Read the passphrase from this environment variable (implies --passphrase) [default: STRONGROOM_PASSPHRASE if set, else prompt]
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Read the passphrase from this file; one trailing newline is stripped (implies --passphrase)
    #[arg(long, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this open file descriptor, e.g. 0 for stdin (implies --passphrase)
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
}

/// Where a new passphrase (one being added) comes from.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "New passphrase source")]
pub struct NewPassphraseSourceArgs {
    /// Read the new passphrase from this environment variable [default: STRONGROOM_NEW_PASSPHRASE if set, else prompt twice]
    #[arg(long, value_name = "VAR")]
    pub new_passphrase_env: Option<String>,
    /// Read the new passphrase from this file (one trailing newline is stripped)
    #[arg(long, value_name = "PATH")]
    pub new_passphrase_file: Option<PathBuf>,
    /// Read the new passphrase from this open file descriptor
    #[arg(long, value_name = "N")]
    pub new_passphrase_fd: Option<u32>,
}

/// Argon2id cost of a passphrase being set.
#[derive(Debug, Args, Clone, Copy)]
#[command(next_help_heading = "Argon2id cost of a passphrase being set")]
pub struct KdfArgs {
    /// Argon2id memory in MiB (minimum 8, maximum 2048)
    #[arg(long, value_name = "MIB", default_value_t = strongroom::passphrase::KdfParams::DEFAULT.memory_kib / 1024)]
    pub argon2_memory_mib: u32,
    /// Argon2id passes over memory (1 to 16)
    #[arg(long, value_name = "T", default_value_t = strongroom::passphrase::KdfParams::DEFAULT.iterations)]
    pub argon2_time: u32,
    /// Argon2id lanes (1 to 16)
    #[arg(long, value_name = "P", default_value_t = strongroom::passphrase::KdfParams::DEFAULT.parallelism)]
    pub argon2_lanes: u32,
}

/// `strongroom keyring ...`
#[derive(Debug, Subcommand)]
pub enum KeyringCommand {
    /// Create a new keyring protected by a passphrase (never overwrites)
    Init(KeyringInitArgs),
    /// Show key versions (status, timestamps) and protectors
    List(UnlockOnly),
    /// Add a key version (decrypt-only unless --promote)
    AddKey(AddKeyArgs),
    /// Make a version primary (the previous primary becomes decrypt-only)
    Promote(VersionArg),
    /// Stop a decrypt-only version from decrypting (reversible with `enable`)
    Disable(VersionArg),
    /// Make a disabled version decrypt-only again
    Enable(VersionArg),
    /// Irreversibly wipe a version's key (requires --yes)
    Destroy(DestroyArgs),
    /// Add another passphrase that unlocks the keyring
    AddPassphrase(AddPassphraseArgs),
    /// Remove protectors by id (see `keyring list`): replaces the master key and adds a new primary key version
    #[command(alias = "remove-protector")]
    RemovePassphrase(RemoveProtectorArgs),
    /// Create a recovery key and print it once (replacing existing ones revokes them, as a removal does)
    RecoveryKey(RecoveryKeyArgs),
    /// Replace the master key, sealed to every protector (after a secret or a keyring copy was exposed)
    Rekey(UnlockOnly),
    /// Convert a format-1 or format-2 keyring to format 3 (needs every protector's secret, or --remove)
    #[command(after_help = UPGRADE_AFTER_HELP)]
    Upgrade(UpgradeArgs),
    /// Give protectors fresh authentication values, so a removed party's knowledge of the old ones forges nothing
    #[command(after_help = REENROLL_AFTER_HELP)]
    Reenroll(ReenrollArgs),
}

/// Extra help of `keyring upgrade`.
const UPGRADE_AFTER_HELP: &str = "\
Keyring formats 1 and 2 cannot prove who wrote them: anyone who could write
the file could have chosen its keys and protectors. They still open and
decrypt, but encrypting with them and changing them is refused until this
upgrade. It asks on the terminal for the secret of every other protector
(or takes them from --other-passphrase-env/-file and --other-recovery-key-
env/-file); remove the ones you cannot give with --remove ID. It replaces
the master key, gives every protector a fresh authentication value and,
unless --no-rotate, adds a new primary key version.

It cannot tell whether the old file was genuine: check `strongroom keyring
list` against the protectors and key versions you expect before trusting
it, or create a new keyring and move the data to it.";

/// Extra help of `keyring reenroll`.
const REENROLL_AFTER_HELP: &str = "\
Whoever once held the keyring's master key (a removed passphrase or
recovery key, with a copy of the keyring file) knows the authentication
values of its time. With write access to the keyring file, that party could
plant a keyring that the protectors still holding those values open. This
command gives fresh values to the protector used to unlock and to every
protector whose secret is given (asked on the terminal, or from
--other-passphrase-env/-file and --other-recovery-key-env/-file), and
replaces the master key.";

/// Commands that only need the keyring unlocked.
#[derive(Debug, Args)]
pub struct UnlockOnly {
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keyring init`
#[derive(Debug, Args)]
pub struct KeyringInitArgs {
    /// Where the new keyring's passphrase comes from.
    #[command(flatten)]
    pub unlock: UnlockArgs,
    /// Argon2id cost of the keyring passphrase.
    #[command(flatten)]
    pub kdf: KdfArgs,
}

/// `keyring add-key`
#[derive(Debug, Args)]
pub struct AddKeyArgs {
    /// Make the new version primary at once
    #[arg(long)]
    pub promote: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// A command taking one key version.
#[derive(Debug, Args)]
pub struct VersionArg {
    /// Key version number
    #[arg(value_name = "VERSION")]
    pub key_version: u32,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keyring destroy`
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Key version number
    #[arg(value_name = "VERSION")]
    pub key_version: u32,
    /// Confirm: files encrypted only to this version become undecryptable, forever
    #[arg(long)]
    pub yes: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keyring add-passphrase`
#[derive(Debug, Args)]
pub struct AddPassphraseArgs {
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
    /// Where the passphrase to add comes from.
    #[command(flatten)]
    pub new: NewPassphraseSourceArgs,
    /// Argon2id cost of the new passphrase.
    #[command(flatten)]
    pub kdf: KdfArgs,
}

/// `keyring remove-passphrase`
#[derive(Debug, Args)]
pub struct RemoveProtectorArgs {
    /// Protector ids, as shown by `keyring list`
    #[arg(value_name = "ID", required = true, num_args = 1..)]
    pub ids: Vec<u32>,
    /// Keep the primary key version: the removed secret, with a copy of the keyring file made before, then still opens what is encrypted from now on
    #[arg(long)]
    pub no_rotate: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keyring recovery-key`
#[derive(Debug, Args)]
pub struct RecoveryKeyArgs {
    /// Keep the existing recovery keys valid (default: replace them)
    #[arg(long)]
    pub keep_existing: bool,
    /// When replacing, keep the primary key version (see `remove-passphrase --no-rotate`)
    #[arg(long, conflicts_with = "keep_existing")]
    pub no_rotate: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// The secrets of protectors other than the one that unlocks (for
/// `keyring upgrade` and `keyring reenroll`); each option may be repeated.
#[derive(Debug, Args, Default, Clone)]
#[command(
    next_help_heading = "Secrets of the other protectors (each may be repeated; default: ask on the terminal)"
)]
pub struct OtherSecretsArgs {
    /// Read another protector's passphrase from this environment variable
    #[arg(long, value_name = "VAR")]
    pub other_passphrase_env: Vec<String>,
    /// Read another protector's passphrase from this file (one trailing newline is stripped)
    #[arg(long, value_name = "PATH")]
    pub other_passphrase_file: Vec<PathBuf>,
    /// Read another protector's recovery key from this environment variable
    #[arg(long, value_name = "VAR")]
    pub other_recovery_key_env: Vec<String>,
    /// Read another protector's recovery key from this file
    #[arg(long, value_name = "PATH")]
    pub other_recovery_key_file: Vec<PathBuf>,
}

/// `keyring upgrade`
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Remove this protector instead of upgrading it (repeat for several)
    #[arg(long, value_name = "ID")]
    pub remove: Vec<u32>,
    /// Keep the primary key version instead of adding a new one
    #[arg(long)]
    pub no_rotate: bool,
    /// The other protectors' secrets.
    #[command(flatten)]
    pub others: OtherSecretsArgs,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `keyring reenroll`
#[derive(Debug, Args)]
pub struct ReenrollArgs {
    /// The other protectors' secrets.
    #[command(flatten)]
    pub others: OtherSecretsArgs,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `encrypt`
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// File to encrypt, or - for standard input
    #[arg(value_name = "INPUT", default_value = "-")]
    pub input: PathBuf,
    /// Output file, or - for standard output [default: INPUT.srf; stdout for stdin]
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,
    /// Also encrypt to a passphrase (asked twice on a terminal)
    #[arg(long)]
    pub passphrase: bool,
    /// Do not encrypt to the keyring, even if one exists
    #[arg(long)]
    pub no_keyring: bool,
    /// Replace the output file if it exists
    #[arg(long, short)]
    pub force: bool,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub pass: PassphraseSourceArgs,
    /// Argon2id cost of the passphrase.
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `decrypt`
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// File to decrypt, or - for standard input
    #[arg(value_name = "INPUT", default_value = "-")]
    pub input: PathBuf,
    /// Output file, or - for standard output [default: INPUT without .srf; stdout for stdin]
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,
    /// Decrypt with a passphrase (the keyring is then not used)
    #[arg(long)]
    pub passphrase: bool,
    /// Do not use the keyring, even if one exists
    #[arg(long)]
    pub no_keyring: bool,
    /// Replace the output file if it exists
    #[arg(long, short)]
    pub force: bool,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub pass: PassphraseSourceArgs,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `rewrap`
#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// Encrypted file to rewrap in place (replaced atomically)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Re-wrap the keyring stanza for the keyring's current primary version (adds it if missing)
    #[arg(long, conflicts_with = "remove_keyring")]
    pub to_primary: bool,
    /// Add a passphrase (from the --new-passphrase-* sources, or prompted twice)
    #[arg(long)]
    pub add_passphrase: bool,
    /// Remove the passphrase stanza(s) that the passphrase from the --passphrase-* sources opens
    #[arg(long, conflicts_with = "remove_all_passphrases")]
    pub remove_passphrase: bool,
    /// Remove every passphrase stanza
    #[arg(long)]
    pub remove_all_passphrases: bool,
    /// Remove every keyring stanza
    #[arg(long)]
    pub remove_keyring: bool,
    /// Revoke: new file key and file id, payload re-encrypted (see below)
    #[arg(long)]
    pub rekey: bool,
    /// Open the file with a passphrase (the keyring is then not used to open it)
    #[arg(long)]
    pub passphrase: bool,
    /// Where the current passphrase comes from.
    #[command(flatten)]
    pub pass: PassphraseSourceArgs,
    /// Where the added passphrase comes from.
    #[command(flatten)]
    pub new: NewPassphraseSourceArgs,
    /// Argon2id cost of the added passphrase.
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Encrypted file, or - for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `field ...`
#[derive(Debug, Subcommand)]
pub enum FieldCommand {
    /// Encrypt values to tokens (sr1.… text, or hex with --binary-hex)
    #[command(after_help = FIELD_VALUES_HELP)]
    Encrypt(FieldEncryptArgs),
    /// Decrypt tokens (text or hex form) to values
    #[command(after_help = FIELD_TOKENS_HELP)]
    Decrypt(FieldDecryptArgs),
    /// Print the blind index terms (hex) of values, for lookups
    #[command(after_help = FIELD_VALUES_HELP)]
    Index(FieldIndexArgs),
    /// Show tokens' headers: version, suite, key version (needs no key)
    #[command(after_help = FIELD_TOKENS_HELP)]
    Inspect(FieldInspectArgs),
    /// Re-encrypt tokens under the primary key version (no plaintext is shown)
    #[command(after_help = FIELD_TOKENS_HELP)]
    Rewrap(FieldRewrapArgs),
}

/// Extra help of the `field` commands that read values.
const FIELD_VALUES_HELP: &str = "\
Input:
  Values come from the arguments or, when there are none, one per line from
  standard input, which is the safer way: arguments are visible to other
  users in `ps` and stay in the shell history. Lines end at \\n and are
  taken byte for byte. Give options before the values: everything after
  the first value is a value (a value that looks like an option is refused
  unless the values follow `--`).

  Text forms: bytes as hex; int as decimal; float as 1.5, 1e300, NaN, inf;
  bool as true/false (also t/f, 1/0); date as YYYY-MM-DD; timestamp as
  YYYY-MM-DDTHH:MM:SS[.ffffff]Z (or with a space, or an offset such as
  +02:00); decimal as -?[0-9]+(.[0-9]+)?.

  All input is read and processed before anything is printed: the first
  bad line fails the command (\"line N: ...\") with nothing on standard output.";

/// Extra help of the `field` commands that read tokens.
const FIELD_TOKENS_HELP: &str = "\
Input:
  Tokens come from the arguments or, when there are none, one per line from
  standard input: the text form (sr1.…) or hex of the binary form (an
  optional \\x prefix, as PostgreSQL prints bytea, is accepted).

  All input is read and processed before anything is printed: the first
  bad line fails the command (\"line N: ...\") with nothing on standard output.";

/// The column the values belong to, and its settings.
#[derive(Debug, Args)]
#[command(next_help_heading = "Column")]
pub struct FieldColumnArgs {
    /// Logical table name, bound into every token
    #[arg(long, value_name = "T")]
    pub table: String,
    /// Logical column name, bound into every token
    #[arg(long, value_name = "C")]
    pub column: String,
    /// The column's value type
    #[arg(long = "type", value_name = "TYPE", default_value = "text", value_parser = value_type_parser())]
    pub value_type: ValueType,
    /// Deterministic mode (AES-SIV): equal values give equal tokens
    #[arg(long)]
    pub deterministic: bool,
    /// The column encrypts SQL NULL as a token (instead of keeping NULL)
    #[arg(long)]
    pub hide_null: bool,
    /// Random mode: every token gets its own nonce prefix, so tokens written together cannot be linked
    /// (by default those of one batch share one per 1024 values)
    #[arg(long)]
    pub unlinkable_batches: bool,
    /// Blind index length in bytes (2 to 32)
    #[arg(long, value_name = "N")]
    pub index_len: Option<usize>,
    /// Blind index normaliser [default: none]
    #[arg(long, value_name = "NAME", requires = "index_len", value_parser = normalizer_parser())]
    pub normalizer: Option<Normalizer>,
    /// Also read tokens of MODE (random or deterministic): the migration window of a column changing mode; deterministic tokens then read even with row keys, though they bind no row
    #[arg(long, value_name = "MODE", value_parser = mode_parser())]
    pub accept_mode: Option<Mode>,
}

/// `--accept-mode`: the names of [`Mode`].
fn mode_parser() -> impl TypedValueParser<Value = Mode> {
    PossibleValuesParser::new([Mode::Random.name(), Mode::Deterministic.name()]).map(|name| {
        if name == Mode::Random.name() {
            Mode::Random
        } else {
            Mode::Deterministic
        }
    })
}

/// `--type`: the names of [`ValueType`].
fn value_type_parser() -> impl TypedValueParser<Value = ValueType> {
    PossibleValuesParser::new(ValueType::ALL.map(ValueType::name))
        .map(|name| ValueType::from_name(&name).expect("one of the listed names"))
}

/// `--normalizer`: the names of [`Normalizer`].
fn normalizer_parser() -> impl TypedValueParser<Value = Normalizer> {
    PossibleValuesParser::new(Normalizer::ALL.map(Normalizer::name))
        .map(|name| Normalizer::from_name(&name).expect("one of the listed names"))
}

/// Row keys of the values or tokens.
#[derive(Debug, Args)]
#[command(next_help_heading = "Rows")]
pub struct FieldRowArgs {
    /// Row key (its UTF-8 bytes) of the one value or token
    #[arg(long, value_name = "KEY", conflicts_with = "rows")]
    pub row: Option<String>,
    /// Each line is ROWKEY<TAB>VALUE (or ROWKEY<TAB>TOKEN); the row key is the bytes before the first tab
    #[arg(long)]
    pub rows: bool,
}

/// How SQL NULL is spelled in line input and output.
#[derive(Debug, Args)]
#[command(next_help_heading = "Input and output")]
pub struct FieldNullArg {
    /// A line equal to MARKER is SQL NULL, and NULL results print as MARKER (without it, line input has no NULL)
    #[arg(long, value_name = "MARKER")]
    pub null: Option<String>,
}

/// `field encrypt`
#[derive(Debug, Args)]
pub struct FieldEncryptArgs {
    /// Values to encrypt [default: one per line from standard input (recommended)]
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    pub values: Vec<String>,
    /// The column.
    #[command(flatten)]
    pub column: FieldColumnArgs,
    /// Row keys.
    #[command(flatten)]
    pub rows: FieldRowArgs,
    /// The NULL marker.
    #[command(flatten)]
    pub null: FieldNullArg,
    /// Print tokens as hex of the binary form instead of the text form
    #[arg(long, help_heading = "Input and output")]
    pub binary_hex: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `field decrypt`
#[derive(Debug, Args)]
pub struct FieldDecryptArgs {
    /// Tokens to decrypt [default: one per line from standard input]
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// The column.
    #[command(flatten)]
    pub column: FieldColumnArgs,
    /// Row keys.
    #[command(flatten)]
    pub rows: FieldRowArgs,
    /// The NULL marker.
    #[command(flatten)]
    pub null: FieldNullArg,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `field index`
#[derive(Debug, Args)]
pub struct FieldIndexArgs {
    /// Values to index [default: one per line from standard input (recommended)]
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    pub values: Vec<String>,
    /// The column (--index-len is required).
    #[command(flatten)]
    pub column: FieldColumnArgs,
    /// The NULL marker.
    #[command(flatten)]
    pub null: FieldNullArg,
    /// Print the terms of every usable key version, comma-separated, primary first (for lookups during a rotation)
    #[arg(long, help_heading = "Input and output")]
    pub all_versions: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `field inspect`
#[derive(Debug, Args)]
pub struct FieldInspectArgs {
    /// Tokens to inspect [default: one per line from standard input]
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// The NULL marker.
    #[command(flatten)]
    pub null: FieldNullArg,
}

/// `field rewrap`
#[derive(Debug, Args)]
pub struct FieldRewrapArgs {
    /// Tokens to rewrap [default: one per line from standard input]
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// The column (its current mode decides the new tokens' suite).
    #[command(flatten)]
    pub column: FieldColumnArgs,
    /// Row keys.
    #[command(flatten)]
    pub rows: FieldRowArgs,
    /// The NULL marker.
    #[command(flatten)]
    pub null: FieldNullArg,
    /// Print tokens as hex of the binary form instead of the text form
    #[arg(long, help_heading = "Input and output")]
    pub binary_hex: bool,
    /// Allow rewrapping row-bound random tokens into a deterministic column, although the new tokens bind no row
    #[arg(long, help_heading = "Column")]
    pub allow_dropping_row_binding: bool,
    /// How to unlock the keyring.
    #[command(flatten)]
    pub unlock: UnlockArgs,
}

/// `demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to create and work in (must not exist or be empty) [default: ./strongroom-demo-<unix time>]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
