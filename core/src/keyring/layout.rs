//! The identity of the keyring format: magic, versions and id length.
//! A leaf module, so that the file format and the protector stanzas can
//! both use it without depending on each other.

/// First eight bytes of every keyring file.
pub(crate) const MAGIC: [u8; 8] = *b"SRKEYRNG";
/// The format version this build writes: seals authenticated with each
/// protector's authentication value (HPKE PSK mode).
pub(crate) const VERSION: u8 = 3;
/// Format 2: HPKE base-mode seals, which anyone can make; read only.
pub(crate) const VERSION_2: u8 = 2;
/// Format 1: master key wrapped under each KEK; read only.
pub(crate) const VERSION_1: u8 = 1;
/// Length of the public keyring id.
pub(crate) const ID_LEN: usize = 16;
