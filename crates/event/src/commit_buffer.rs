//! The output buffer every writer uses.
//!
//! Writers append to a `Vec<u8>` and hand it to the real writer only in large pieces (at least
//! [`FLUSH_AT`] bytes), because one `write` per event would cost a syscall per key on an
//! unbuffered stdout. They also mark where each whole unit (a JSON line, a command) ends: only
//! whole units are ever written, so when decoding fails half-way through a key the reader
//! never sees half a line or half a command.
//!
//! A writer can also hold output back ([`CommitBuffer::hold`]): the `RESTORE` writer builds a
//! key's commands while it does not yet know whether the key will come as one payload, and
//! drops them if it does.

use std::io::{self, Write};

/// Writes smaller than this are not worth a syscall.
pub const FLUSH_AT: usize = 64 * 1024;

/// Above this the buffer gives memory back after a flush (a normal part is about 1 MiB).
const KEEP_CAPACITY: usize = 4 << 20;

pub(crate) struct CommitBuffer<W: Write> {
    w: W,
    /// Output not yet written. Everything before `committed` is whole units.
    pub(crate) buf: Vec<u8>,
    committed: usize,
    /// Output from this index on is held back: not written until released, or dropped.
    hold_from: Option<usize>,
}

impl<W: Write> CommitBuffer<W> {
    pub(crate) fn new(w: W) -> Self {
        CommitBuffer { w, buf: Vec::with_capacity(2 * FLUSH_AT), committed: 0, hold_from: None }
    }

    /// Marks everything appended so far as whole units, and writes them out once there are
    /// enough of them.
    #[inline]
    pub(crate) fn commit(&mut self) -> io::Result<()> {
        self.committed = self.buf.len();
        if self.committed >= FLUSH_AT && self.writable() >= FLUSH_AT {
            self.write_committed()?;
        }
        Ok(())
    }

    /// Whole units that are not held back.
    #[inline]
    fn writable(&self) -> usize {
        self.hold_from.map_or(self.committed, |h| h.min(self.committed))
    }

    fn write_committed(&mut self) -> io::Result<()> {
        let n = self.writable();
        self.w.write_all(&self.buf[..n])?;
        self.buf.drain(..n);
        self.committed -= n;
        if let Some(h) = &mut self.hold_from {
            *h -= n;
        }
        // One huge value (a 500 MB string) must not pin its size for the rest of the run.
        if self.buf.capacity() > KEEP_CAPACITY && self.buf.len() < FLUSH_AT {
            self.buf.shrink_to(2 * FLUSH_AT);
        }
        Ok(())
    }

    /// Writes all whole units and flushes the writer.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.write_committed()?;
        self.w.flush()
    }

    /// Drops the unfinished unit, then writes and flushes the whole ones (held ones too).
    pub(crate) fn abort(&mut self) -> io::Result<()> {
        self.buf.truncate(self.committed);
        self.hold_from = None;
        self.flush()
    }

    /// Holds back everything appended from now on, until [`CommitBuffer::release`] or
    /// [`CommitBuffer::drop_held`].
    pub(crate) fn hold(&mut self) {
        self.hold_from = Some(self.buf.len());
    }

    /// Bytes held back so far.
    pub(crate) fn held_len(&self) -> usize {
        self.hold_from.map_or(0, |h| self.buf.len() - h)
    }

    /// Lets the held output go out like any other.
    pub(crate) fn release(&mut self) -> io::Result<()> {
        self.hold_from = None;
        if self.committed >= FLUSH_AT {
            self.write_committed()?;
        }
        Ok(())
    }

    /// Drops the held output, as if it had never been appended.
    pub(crate) fn drop_held(&mut self) {
        if let Some(h) = self.hold_from.take() {
            self.buf.truncate(h);
            self.committed = self.committed.min(h);
        }
    }

    pub(crate) fn get_ref(&self) -> &W {
        &self.w
    }

    pub(crate) fn into_inner(self) -> W {
        self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_committed_units() {
        let mut b = CommitBuffer::new(Vec::new());
        b.buf.extend_from_slice(b"line 1\n");
        b.commit().unwrap();
        b.buf.extend_from_slice(b"half a li");
        b.abort().unwrap();
        assert_eq!(b.get_ref(), b"line 1\n");
    }

    #[test]
    fn held_output_waits_and_can_be_dropped() {
        let mut b = CommitBuffer::new(Vec::new());
        b.buf.extend_from_slice(b"before\n");
        b.commit().unwrap();
        b.hold();
        b.buf.resize(b.buf.len() + 2 * FLUSH_AT, b'x');
        b.commit().unwrap();
        // Only what came before the hold may go out.
        b.flush().unwrap();
        assert_eq!(b.get_ref(), b"before\n");
        assert_eq!(b.held_len(), 2 * FLUSH_AT);
        b.drop_held();
        b.buf.extend_from_slice(b"after\n");
        b.commit().unwrap();
        b.flush().unwrap();
        assert_eq!(b.get_ref(), b"before\nafter\n");

        b.hold();
        b.buf.extend_from_slice(b"kept\n");
        b.commit().unwrap();
        b.release().unwrap();
        b.flush().unwrap();
        assert_eq!(b.get_ref(), b"before\nafter\nkept\n");
    }

    #[test]
    fn large_output_goes_out_in_big_writes() {
        struct CountWrites(usize, usize);
        impl Write for CountWrites {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0 += 1;
                self.1 += b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut b = CommitBuffer::new(CountWrites(0, 0));
        for _ in 0..100_000 {
            b.buf.extend_from_slice(b"0123456789\n");
            b.commit().unwrap();
        }
        b.flush().unwrap();
        let w = b.into_inner();
        assert_eq!(w.1, 1_100_000);
        assert!(w.0 <= 1_100_000 / FLUSH_AT + 1, "{} writes", w.0);
    }
}
