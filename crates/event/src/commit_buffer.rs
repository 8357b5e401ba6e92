//! The output buffer every writer uses.
//!
//! Writers append to a `Vec<u8>` and hand it to the real writer only in large pieces (at least
//! [`FLUSH_AT`] bytes), because one `write` per event would cost a syscall per key on an
//! unbuffered stdout. They also mark where each whole unit (a JSON line, a command) ends: only
//! whole units are ever written, so when decoding fails half-way through a key the reader
//! never sees half a line or half a command.

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
}

impl<W: Write> CommitBuffer<W> {
    pub(crate) fn new(w: W) -> Self {
        CommitBuffer { w, buf: Vec::with_capacity(2 * FLUSH_AT), committed: 0 }
    }

    /// Marks everything appended so far as whole units, and writes them out once there are
    /// enough of them.
    #[inline]
    pub(crate) fn commit(&mut self) -> io::Result<()> {
        self.committed = self.buf.len();
        if self.committed >= FLUSH_AT {
            self.write_committed()?;
        }
        Ok(())
    }

    fn write_committed(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf[..self.committed])?;
        self.buf.drain(..self.committed);
        self.committed = 0;
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

    /// Drops the unfinished unit, then writes and flushes the whole ones.
    pub(crate) fn abort(&mut self) -> io::Result<()> {
        self.buf.truncate(self.committed);
        self.flush()
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
