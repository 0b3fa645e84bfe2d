//! An encrypting stream on a thread of its own, for `strongroom.open(path,
//! "wb")`: `write` gathers the caller's data into pieces of several MiB (in
//! recycled buffers) and hands each full piece over, so the caller reads
//! its next data while a piece is sealed (in place, on the pool) and
//! written. At most three pieces exist at once (one gathering, one
//! waiting, one being written). An error comes back from a later `write`
//! or from `finish`, as a buffered file's does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use strongroom::file::Encryptor;
use strongroom::{Error, Result};
use zeroize::Zeroizing;

/// Why the stream stopped.
pub(crate) enum Stopped {
    /// The core's error (I/O included).
    Core(Error),
    /// The writing thread panicked (a bug).
    Panic,
}

/// What a forked child meets when it uses an encrypted file the parent
/// process opened for writing.
pub(crate) fn parent_writer() -> Error {
    Error::InvalidArgument(
        "this encrypted file was opened for writing in the parent process; open it again in the child".into(),
    )
}

/// Pieces waiting for the thread beyond the one it works on.
const AHEAD: usize = 1;

/// Writes are gathered into pieces of this size: the thread seals one batch
/// of a piece while it writes the one before, so long pieces keep both
/// busy. A piece never grows past it (growing would leave a copy of the
/// plaintext in freed memory).
const PIECE: usize = 8 << 20;

/// A piece of plaintext on its way to the writing thread: always of
/// capacity [`PIECE`], wiped when finally dropped; recycled pieces are
/// overwritten.
type Piece = Zeroizing<Vec<u8>>;

/// The writing end of an [`Encryptor`] running on its own thread.
pub(crate) struct WriteAhead<W: std::io::Write + Send + 'static> {
    to_worker: Option<SyncSender<Piece>>,
    spare: Receiver<Piece>,
    filling: Piece,
    worker: Option<JoinHandle<Result<Encryptor<W>>>>,
    /// Tells the thread to skip the pieces still queued (the file is being
    /// abandoned).
    abandoned: Arc<AtomicBool>,
    /// The process that started the thread: a forked child has no such
    /// thread and must not wait for it.
    pid: u32,
}

impl<W: std::io::Write + Send + 'static> WriteAhead<W> {
    /// Moves `enc` to a new thread that writes what [`WriteAhead::write`]
    /// hands over.
    pub(crate) fn start(enc: Encryptor<W>) -> Result<Self> {
        let (to_worker, pieces) = sync_channel::<Piece>(AHEAD);
        let (give_back, spare) = sync_channel::<Piece>(AHEAD + 1);
        let abandoned = Arc::new(AtomicBool::new(false));
        let skip = Arc::clone(&abandoned);
        let worker = std::thread::Builder::new()
            .name("strongroom-writer".into())
            .spawn(move || {
                let mut enc = enc;
                for mut piece in pieces {
                    if skip.load(Ordering::Relaxed) {
                        continue;
                    }
                    enc.write_in_place(&mut piece)
                        .map_err(strongroom::error::from_io)?;
                    // The caller may have stopped recycling (full): drop it.
                    let _ = give_back.try_send(piece);
                }
                Ok(enc)
            })
            .map_err(|e| {
                Error::Io(std::io::Error::other(format!(
                    "cannot start the writing thread: {e}"
                )))
            })?;
        Ok(Self {
            to_worker: Some(to_worker),
            spare,
            filling: Piece::default(),
            worker: Some(worker),
            abandoned,
            pid: std::process::id(),
        })
    }

    /// In a forked child the thread does not exist: forget it (never join
    /// it, never wait on its channels) and refuse.
    fn check_process(&mut self) -> std::result::Result<(), Stopped> {
        if std::process::id() == self.pid {
            return Ok(());
        }
        if let Some(w) = self.worker.take() {
            std::mem::forget(w);
        }
        if let Some(tx) = self.to_worker.take() {
            std::mem::forget(tx);
        }
        Err(Stopped::Core(parent_writer()))
    }

    /// Copies `data` into the piece being gathered, handing each full piece
    /// to the writing thread (waiting while [`AHEAD`] pieces wait). After an
    /// error of an earlier piece, returns it and the stream is over.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> std::result::Result<(), Stopped> {
        self.check_process()?;
        if self.to_worker.is_none() {
            return Err(Stopped::Core(Error::InvalidArgument(
                "write to a closed encrypted file".into(),
            )));
        }
        while !data.is_empty() {
            if self.filling.capacity() == 0 {
                self.filling = self.spare.try_recv().unwrap_or_default();
                self.filling.clear();
                // Recycled pieces already have it; never more.
                self.filling.reserve_exact(PIECE);
            }
            let room = self.filling.capacity() - self.filling.len();
            let take = room.min(data.len());
            self.filling.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.filling.len() == self.filling.capacity() {
                self.hand_over()?;
            }
        }
        Ok(())
    }

    /// Sends the gathered piece to the thread.
    fn hand_over(&mut self) -> std::result::Result<(), Stopped> {
        let piece = std::mem::take(&mut self.filling);
        let Some(tx) = self.to_worker.as_ref() else {
            return Ok(());
        };
        if tx.send(piece).is_err() {
            // The thread stopped on an error: report it.
            return match self.join() {
                Ok(_) => Err(Stopped::Core(Error::InvalidArgument(
                    "the encrypted file's writing thread has stopped".into(),
                ))),
                Err(e) => Err(e),
            };
        }
        Ok(())
    }

    /// Waits until every piece is written and returns the encryptor (for
    /// `finish`).
    pub(crate) fn join(&mut self) -> std::result::Result<Encryptor<W>, Stopped> {
        self.check_process()?;
        if !self.filling.is_empty() && self.worker.is_some() {
            self.hand_over()?;
        }
        drop(self.to_worker.take());
        let Some(worker) = self.worker.take() else {
            return Err(Stopped::Core(Error::InvalidArgument(
                "the encrypted file is already closed".into(),
            )));
        };
        match worker.join() {
            Ok(Ok(enc)) => Ok(enc),
            Ok(Err(e)) => Err(Stopped::Core(e)),
            Err(_) => Err(Stopped::Panic),
        }
    }

    /// Abandons the file: the piece being gathered is wiped, queued ones
    /// are skipped, and the thread is waited for (at most the piece it is
    /// writing; it never needs the interpreter), so that nothing is left
    /// at the destination when this returns.
    pub(crate) fn abandon(&mut self) {
        self.filling = Piece::default();
        self.abandoned.store(true, Ordering::Relaxed);
        if self.check_process().is_err() {
            return;
        }
        drop(self.to_worker.take());
        if let Some(w) = self.worker.take() {
            // The encryptor (if any) is dropped: the file is abandoned.
            let _ = w.join();
        }
    }
}

impl<W: std::io::Write + Send + 'static> Drop for WriteAhead<W> {
    fn drop(&mut self) {
        self.abandon();
    }
}
