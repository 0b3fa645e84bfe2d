//! The strongroom encrypted file container.
//!
//! `header (core, stanzas, MAC) || Cobblestone-256 payload`. A random 256-bit
//! file key is the payload's input key and the header's immutable core is
//! its context; stanzas wrap the file key for each recipient; the header
//! MAC, keyed from the file key, covers every header byte. See docs/SPEC.md.
//!
//! - Streaming: [`Encryptor`] (`Write` + `finish`), [`Decryptor`] (`Read`),
//!   [`SeekableDecryptor`] (`Read + Seek`).
//! - Given bytes rather than a reader: [`PushDecryptor`] (each chunk's
//!   plaintext as soon as the chunk has arrived).
//! - In memory, without copies: [`Encryptor::write_in_place`] seals the
//!   caller's buffer where it lies, [`decrypt_in_place`] opens a whole file
//!   held in a mutable buffer.
//! - Two steps, as age does it: [`EncryptedFile::open`] reads the header
//!   and tells who can open the file ([`FileInfo`]), then
//!   [`EncryptedFile::decrypt`] takes the chosen identities.
//! - Whole files, using every core and writing atomically:
//!   [`encrypt_file`], [`decrypt_file`].
//! - Without touching the payload: [`rewrap_file`], [`inspect`].
//! - Revoking old protectors: [`rekey_file`] (new file key, payload
//!   re-encrypted).
//! - Any other output written atomically: [`OutputFile`].

#[doc(hidden)]
pub mod example;
mod header;
mod info;
mod output;
mod push;
mod recipients;
mod rekey;
mod rewrap;
mod stanza;
mod stream;
mod whole;

pub use header::{MAX_PASSPHRASE_STANZAS, MAX_STANZAS};
pub use info::{FileInfo, inspect, inspect_path, inspect_stream};
pub use output::OutputFile;
pub use push::PushDecryptor;
pub use recipients::{Identity, Recipient};
pub use rekey::rekey_file;
pub use rewrap::{Rewrap, rewrap_file};
pub use stanza::StanzaInfo;
pub use stream::{Decryptor, EncryptedFile, Encryptor, SeekableDecryptor, decrypt_in_place};
pub use whole::{FileOptions, decrypt_file, encrypt_file};
