//! Secret byte containers: zeroized on drop, redacted in `Debug`, no `Clone`.
//!
//! Keys and passphrases live in key memory ([`strongroom_keymem`]): pooled
//! pages locked in RAM and excluded from core dumps where the OS allows
//! (see "Key memory" in docs/SECURITY.md and [`key_memory_status`]).

use std::fmt;
use strongroom_keymem::{LockedBox, LockedBytes};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What key memory holds now and whether it is locked in RAM and excluded
/// from core dumps: see [`key_memory_status`].
pub use strongroom_keymem::Status as KeyMemoryStatus;

/// Reports whether this process's key material is locked in RAM (`mlock`)
/// and excluded from core dumps (`MADV_DONTDUMP`), after making sure a page
/// for keys exists. Locking is best effort: when the OS refuses it (for
/// example `RLIMIT_MEMLOCK` reached), keys still work, in memory that may
/// be swapped; this is how a program finds out and tells its user.
pub fn key_memory_status() -> KeyMemoryStatus {
    strongroom_keymem::check()
}

/// A 256-bit secret key. Its bytes are wiped when it is dropped and never
/// appear in `Debug` output. Reading the raw bytes is crate-internal. The
/// bytes live in key memory (locked, excluded from core dumps, where the
/// OS allows).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(LockedBox<[u8; 32]>);

impl SecretKey {
    /// A fresh key from the OS random generator.
    pub fn random() -> Self {
        let mut key = Self(LockedBox::new([0u8; 32]));
        crate::crypto::random::fill(&mut key.0[..]);
        key
    }

    /// A key made from `bytes`, for keys that are not secret (test
    /// vectors, examples) or that the caller wipes itself.
    ///
    /// An array passed by value is copied: the argument is wiped here, but
    /// the caller's own copy is not, and cannot be from here. Key material
    /// computed inside strongroom is written straight into the key's
    /// storage instead, so no copy is left on the stack.
    pub fn from_array(mut bytes: [u8; 32]) -> Self {
        let key = Self(LockedBox::new(bytes));
        bytes.zeroize();
        key
    }

    /// A key whose 32 bytes `fill` writes in place, in the key's own heap
    /// storage. If `fill` fails, the partly written storage is wiped and the
    /// error returned.
    pub(crate) fn try_filled<E>(fill: impl FnOnce(&mut [u8; 32]) -> Result<(), E>) -> Result<Self, E> {
        let mut key = Self(LockedBox::new([0u8; 32]));
        fill(&mut key.0)?;
        Ok(key)
    }

    /// Copies a 32-byte slice; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: &[u8; 32] = bytes.try_into().ok()?;
        let mut key = Self(LockedBox::new([0u8; 32]));
        key.0.copy_from_slice(arr);
        Some(key)
    }

    /// The raw key bytes, for use inside the crate only.
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The raw key bytes. Dangerous: the caller becomes responsible for not
    /// leaking or persisting them; meant for test vectors and FFI key import.
    pub fn dangerous_expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([REDACTED])")
    }
}

/// A passphrase. Wiped on drop and redacted in `Debug`; held in key memory
/// (locked, excluded from core dumps, where the OS allows).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Passphrase(LockedBytes);

impl Passphrase {
    /// Takes a passphrase. Trailing `\r\n`/`\n` is not stripped here; the
    /// input helpers in the command line do that. The bytes are copied into
    /// key memory and `s` is wiped.
    pub fn new(mut s: String) -> Self {
        let p = Self(LockedBytes::from_slice(s.as_bytes()));
        s.zeroize();
        p
    }

    /// The passphrase bytes, for key derivation only.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for the empty passphrase (always refused when protecting data).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Passphrase {
    fn from(s: &str) -> Self {
        Self(LockedBytes::from_slice(s.as_bytes()))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([REDACTED])")
    }
}

/// Wipes a byte vector's whole allocation and empties it. An unallocated
/// vector is left alone: wiping one would still call `memset` on its
/// dangling pointer, which costs a microcode assist (about 100 ns) on CPUs
/// whose `memset` uses masked AVX-512 stores, on every value of a hot path.
pub(crate) fn wipe_vec(v: &mut Vec<u8>) {
    if v.capacity() != 0 {
        v.zeroize();
    }
}

/// A decrypted plaintext buffer, wiped (with [`wipe_vec`]) when dropped.
pub(crate) struct PlainBuf(Vec<u8>);

impl PlainBuf {
    /// `len` zero bytes, to decrypt into.
    pub(crate) fn zeroed(len: usize) -> Self {
        Self(vec![0u8; len])
    }

    /// A copy of `bytes`, to decrypt in place.
    pub(crate) fn copy_of(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// Moves the bytes out; the caller becomes responsible for wiping them.
    pub(crate) fn into_inner(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

impl std::ops::Deref for PlainBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::DerefMut for PlainBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Drop for PlainBuf {
    fn drop(&mut self) {
        wipe_vec(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let k = SecretKey::from_array([0x41; 32]);
        let p = Passphrase::from("hunter2-secret");
        assert_eq!(format!("{k:?}"), "SecretKey([REDACTED])");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn try_filled_writes_in_place_and_passes_errors_on() {
        let key = SecretKey::try_filled(|k| {
            k.fill(9);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(key.expose(), &[9; 32]);
        assert_eq!(
            SecretKey::try_filled(|_| Err::<(), _>("refused")).unwrap_err(),
            "refused"
        );
    }

    #[test]
    fn from_slice_checks_length() {
        assert!(SecretKey::from_slice(&[0; 31]).is_none());
        assert_eq!(SecretKey::from_slice(&[7; 32]).unwrap().expose(), &[7; 32]);
    }

    #[test]
    fn plain_buf_hands_out_its_bytes_and_wipe_vec_empties() {
        let mut buf = PlainBuf::zeroed(4);
        buf.copy_from_slice(b"abcd");
        assert_eq!(&*buf, b"abcd");
        assert_eq!(buf.into_inner(), b"abcd");
        assert_eq!(&*PlainBuf::copy_of(b"xy"), b"xy");
        let mut v = b"secret".to_vec();
        wipe_vec(&mut v);
        assert!(v.is_empty());
        let mut unallocated = Vec::new();
        wipe_vec(&mut unallocated);
        assert_eq!(unallocated.capacity(), 0);
    }
}
