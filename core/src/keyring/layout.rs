//! The identity of the keyring format: magic, versions and id length.
//! A leaf module, so that the file format and the protector stanzas can
//! both use it without depending on each other.

/// First eight bytes of every keyring file.
pub(crate) const MAGIC: [u8; 8] = *b"SRKEYRNG";
/// The format version this build writes (it reads this and [`VERSION_1`]).
pub(crate) const VERSION: u8 = 2;
/// The first format version: legacy stanzas only, still read.
pub(crate) const VERSION_1: u8 = 1;
/// Length of the public keyring id.
pub(crate) const ID_LEN: usize = 16;
