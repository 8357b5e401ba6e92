//! The buffer around a [`Decoder`]: it owns the bytes, so callers just feed input and pull
//! events. Files, pipes and sockets all use it the same way.

use std::io::{self, Read};

use crate::decoder::{Advance, Decoder, Options, Progress, ReadyItems};
use crate::error::Result;
use crate::event::Event;

/// What [`Parser::next`] found.
#[derive(Debug)]
pub enum Step<'a> {
    Event(Event<'a>),
    /// Feed more bytes (or call [`Parser::finish`] if there are none).
    NeedMore,
    /// The RDB is complete. Bytes after it are in [`Parser::buffered`].
    Done,
}

/// Event readiness without a borrow, for loops that must refill the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    Event,
    NeedMore,
    Done,
}

/// Reads of this size keep syscalls rare without holding much memory.
const READ_CHUNK: usize = 1 << 20;

pub struct Parser {
    dec: Decoder,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes used by the event last handed out; dropped on the next call, because the event
    /// borrows them until then.
    drop_next: usize,
    /// Consumed bytes before this index have been fed to the decoder's CRC. Hashing happens
    /// in bulk, just before consumed bytes are discarded, because each CRC call has a fixed
    /// cost that is large next to a small event.
    hashed: usize,
    done: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(Options::default())
    }
}

impl Parser {
    pub fn new(opts: Options) -> Self {
        let mut dec = Decoder::new(opts);
        dec.crc_fed_by_caller();
        Parser { dec, buf: Vec::new(), start: 0, end: 0, drop_next: 0, hashed: 0, done: false }
    }

    /// See [`Decoder::set_total_len`].
    pub fn set_total_len(&mut self, total: u64) {
        self.dec.set_total_len(total);
    }

    pub fn decoder(&self) -> &Decoder {
        &self.dec
    }

    /// Absolute offset of the end of the last event (bytes of the RDB used so far).
    pub fn offset(&self) -> u64 {
        self.dec.offset()
    }

    /// Unconsumed bytes. After [`Step::Done`] these are whatever followed the RDB.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start + self.drop_next..self.end]
    }

    /// Memory held by the buffer, for tests and metrics.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    fn settle(&mut self) {
        self.start += self.drop_next;
        self.drop_next = 0;
        if self.start == self.end {
            self.hash_consumed();
            self.start = 0;
            self.end = 0;
            self.hashed = 0;
        }
    }

    fn hash_consumed(&mut self) {
        if self.start > self.hashed {
            self.dec.feed_crc(&self.buf[self.hashed..self.start]);
            self.hashed = self.start;
        }
    }

    /// Makes room for at least `want` more bytes at the end of the buffer: first by moving the
    /// unconsumed bytes to the front, then by doubling, so that a unit larger than the buffer
    /// is re-examined only a logarithmic number of times.
    fn make_room(&mut self, want: usize) -> &mut [u8] {
        self.settle();
        if self.buf.len() - self.end < want && self.start > 0 {
            self.hash_consumed();
            self.hashed = 0;
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < want {
            let new_len = (self.buf.len() * 2).max(self.end + want);
            self.buf.resize(new_len, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Appends bytes to the input.
    pub fn feed(&mut self, data: &[u8]) {
        self.make_room(data.len())[..data.len()].copy_from_slice(data);
        self.end += data.len();
    }

    /// Reads once from `r` straight into the buffer. Returns 0 at the end of the input.
    pub fn read_from<R: Read + ?Sized>(&mut self, r: &mut R) -> io::Result<usize> {
        let room = self.make_room(READ_CHUNK);
        let n = loop {
            match r.read(room) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.end += n;
        Ok(n)
    }

    /// Advances to the next event without borrowing it; see [`Parser::event`].
    pub fn poll(&mut self) -> Result<Poll> {
        self.settle();
        if self.done {
            return Ok(Poll::Done);
        }
        loop {
            let input = &self.buf[self.start..self.end];
            return match self.dec.advance_impl(input)? {
                Advance::NeedCrc { consumed } => {
                    self.start += consumed;
                    self.hash_consumed();
                    continue;
                }
                Advance::Progress(Progress::Event { consumed }) => {
                    self.drop_next = consumed;
                    Ok(Poll::Event)
                }
                Advance::Progress(Progress::NeedMore { consumed }) => {
                    self.start += consumed;
                    Ok(Poll::NeedMore)
                }
                Advance::Progress(Progress::Done { consumed }) => {
                    self.start += consumed;
                    self.done = true;
                    Ok(Poll::Done)
                }
            };
        }
    }

    /// The event found by the last [`Parser::poll`] that returned [`Poll::Event`].
    pub fn event(&self) -> Event<'_> {
        self.dec.event(&self.buf[self.start..self.end])
    }

    /// Right after an item event, the items of the same key that are ready to follow it: the
    /// rest of a compact blob (listpack, ziplist, intset, stream node), or the next elements of
    /// a plain collection that lie whole in the buffer. They are exactly the item events that
    /// would have come next, and the next [`Parser::poll`] continues after them. `None` when
    /// there are none. This is for consumers where the per-event round trip is a large part of
    /// the work (see `decoder/ready_items.rs`).
    pub fn ready_items(&mut self) -> Option<ReadyItems<'_>> {
        let drained = self.dec.drain(&self.buf[self.start..self.end])?;
        self.drop_next = drained.consumed;
        Some(self.dec.ready_items(&self.buf[self.start..self.end], &drained))
    }

    // A lending iterator: each event borrows the parser's buffer, which `Iterator` cannot express.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Step<'_>> {
        Ok(match self.poll()? {
            Poll::Event => Step::Event(self.event()),
            Poll::NeedMore => Step::NeedMore,
            Poll::Done => Step::Done,
        })
    }

    /// Call when the input has ended: an error unless the RDB was complete.
    pub fn finish(&self) -> Result<()> {
        if self.done || self.dec.is_done() {
            Ok(())
        } else {
            Err(self.dec.truncated(self.end - self.start - self.drop_next))
        }
    }

    pub fn is_done(&self) -> bool {
        self.done || self.dec.is_done()
    }
}
