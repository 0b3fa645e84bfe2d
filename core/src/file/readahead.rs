//! A reader that reads ahead on a background thread, so that disk reads
//! overlap with encryption and writing.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Blocks in flight between the reading thread and the consumer.
const DEPTH: usize = 2;

type Block = io::Result<Vec<u8>>;

/// Reads `R` in blocks of `block_size` on its own thread.
pub(crate) struct ReadAhead {
    blocks: Receiver<Block>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    pub(crate) fn new<R: Read + Send + 'static>(mut inner: R, block_size: usize) -> Self {
        let (tx, blocks) = sync_channel::<Block>(DEPTH);
        let (recycle, spare) = sync_channel::<Vec<u8>>(DEPTH + 2);
        let thread = std::thread::spawn(move || {
            loop {
                let mut buf = spare.try_recv().unwrap_or_else(|_| vec![0u8; block_size]);
                buf.resize(block_size, 0);
                let mut len = 0;
                let result = loop {
                    if len == buf.len() {
                        break Ok(());
                    }
                    match inner.read(&mut buf[len..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => len += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                buf.truncate(len);
                let last = len == 0 || result.is_err();
                let msg = result.map(|()| buf);
                if tx.send(msg).is_err() || last {
                    return;
                }
            }
        });
        Self {
            blocks,
            recycle,
            current: Vec::new(),
            pos: 0,
            done: false,
            thread: Some(thread),
        }
    }
}

impl ReadAhead {
    /// The next whole block, without copying; `None` at the end of input.
    pub(crate) fn next_block(&mut self) -> io::Result<Option<&[u8]>> {
        if self.pos < self.current.len() {
            self.pos = self.current.len();
            return Ok(Some(&self.current[..]));
        }
        if self.done {
            return Ok(None);
        }
        match self.blocks.recv() {
            Ok(Ok(block)) if block.is_empty() => {
                self.done = true;
                Ok(None)
            }
            Ok(Ok(block)) => {
                let old = std::mem::replace(&mut self.current, block);
                let _ = self.recycle.try_send(old);
                self.pos = self.current.len();
                Ok(Some(&self.current[..]))
            }
            Ok(Err(e)) => {
                self.done = true;
                Err(e)
            }
            Err(_) => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Unblock the reading thread: drop our receiver by draining it.
        while self.blocks.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            // The thread exits once its next send fails or the input ends.
            drop(std::mem::replace(&mut self.blocks, sync_channel(1).1));
            let _ = t.join();
        }
    }
}
