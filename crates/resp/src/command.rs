//! [`CommandDecoder`]: the fast path for the one shape a replication stream is made of, an
//! array of bulk strings (`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n`).
//!
//! The general [`Decoder`] walks a frame twice (check, then parse), builds a [`Frame`] tree and
//! then the caller turns it into arguments: about a third of `redtail follow`'s CPU went there.
//! This path reads each length line once, records where every argument lies, and only when the
//! whole command is present splits it off the buffer and hands out the arguments as
//! [`Bytes`] slices of it: one allocation per command (the argument vector), no copy.
//!
//! It decides nothing on its own about bad input: anything that is not a well-formed command
//! within the [`Limits`] (a negative or over-long length, a missing CRLF, another type, `*0`)
//! goes to the general [`Decoder`], which returns the item or the error it always did. So both
//! paths give the same result for the same bytes, however they are split across reads.
//!
//! A command that arrives over many reads is not rescanned from its start each time: the
//! arguments found so far are kept, so a command of a million arguments costs the same however
//! slowly it comes. That is why the buffer must only grow at its end between calls.

use bytes::{Buf, Bytes, BytesMut};

use crate::decode::{Decoder, Item, Limits};
use crate::error::Error;
use crate::frame::Frame;

/// What [`CommandDecoder::decode`] found at the front of the buffer.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// An array of N ≥ 1 bulk strings: the arguments, name first.
    Command(Vec<Bytes>),
    /// Anything else, as the general [`Decoder`] decodes it.
    Item(Item),
}

impl From<Item> for Decoded {
    /// A command written in an odd but valid way (`$-0` is a length of 0 to Redis too) is
    /// still a command, so the caller sees the same whichever path decoded it.
    fn from(item: Item) -> Decoded {
        match item {
            Item::Frame(Frame::Array(items))
                if !items.is_empty() && items.iter().all(|f| matches!(f, Frame::Bulk(_))) =>
            {
                Decoded::Command(Frame::Array(items).into_command().unwrap_or_default())
            }
            other => Decoded::Item(other),
        }
    }
}

/// Decodes a stream of commands, falling back to the general [`Decoder`] for anything else.
///
/// Between calls the caller may only append to the buffer (and let this decoder consume from
/// its front), because a partly received command is resumed where its scan stopped.
#[derive(Clone, Debug, Default)]
pub struct CommandDecoder {
    general: Decoder,
    /// The argument count of the command being scanned, and where its next argument starts;
    /// `None` between commands.
    scan: Option<(usize, usize)>,
    /// `[start, end)` of each argument found so far. Reused from command to command; only
    /// arguments actually present are recorded, so a lying `*N` cannot make it grow.
    spans: Vec<(usize, usize)>,
    /// An argument vector handed back with [`CommandDecoder::recycle`], filled by the next
    /// command instead of a new allocation.
    spare: Vec<Bytes>,
}

/// Above this many entries, the span list is given back after a command: one huge command
/// must not pin its memory for the rest of the stream.
const KEEP_SPANS: usize = 4096;

/// Lengths longer than this many digits go to the general decoder (which rejects or accepts
/// them by the limits); 18 digits cannot overflow a `u64`.
const MAX_DIGITS: usize = 18;

/// How far the scan got.
enum Scan {
    /// The whole command is present: its length in bytes.
    Complete(usize),
    Incomplete,
    /// Not a plain command (or not a valid one): the general decoder decides.
    Other,
}

/// A length line's outcome.
enum Length {
    /// The value and the index after its CRLF.
    Value(usize, usize),
    Incomplete,
    Other,
}

impl CommandDecoder {
    pub fn new(limits: Limits) -> Self {
        CommandDecoder { general: Decoder::new(limits), scan: None, spans: Vec::new(), spare: Vec::new() }
    }

    pub fn limits(&self) -> &Limits {
        self.general.limits()
    }

    /// Offset of the next byte to decode (see [`Decoder::position`]).
    pub fn position(&self) -> u64 {
        self.general.position()
    }

    /// Sets the offset errors are counted from (see [`Decoder::set_position`]).
    pub fn set_position(&mut self, position: u64) {
        self.general.set_position(position);
    }

    /// Decodes one command or other item from the front of `buf` and removes its bytes.
    /// Returns it with its exact length, or `None` (with `buf` untouched) if it is not
    /// complete yet.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<(Decoded, usize)>, Error> {
        match self.scan_command(buf) {
            Scan::Incomplete => Ok(None),
            Scan::Complete(len) => {
                let mut raw = buf.split_to(len).freeze();
                let mut args = std::mem::take(&mut self.spare);
                // Every slice of the frame takes a reference to the read buffer (an atomic
                // increment, and a decrement when dropped); the last argument reuses the
                // frame's own reference instead.
                if let Some((&(start, end), rest)) = self.spans.split_last() {
                    args.extend(rest.iter().map(|&(start, end)| raw.slice(start..end)));
                    raw.truncate(end);
                    raw.advance(start);
                    args.push(raw);
                }
                self.end_command();
                self.general.set_position(self.general.position() + len as u64);
                Ok(Some((Decoded::Command(args), len)))
            }
            Scan::Other => {
                self.end_command();
                Ok(self.general.decode(buf)?.map(|(item, len)| (Decoded::from(item), len)))
            }
        }
    }

    /// Takes back the arguments of a command the caller is done with, so that the next
    /// command reuses their vector: one allocation less per command. (Only a vector of a usual
    /// size is kept.)
    pub fn recycle(&mut self, mut args: Vec<Bytes>) {
        if args.capacity() <= KEEP_SPANS && args.capacity() > self.spare.capacity() {
            args.clear();
            self.spare = args;
        }
    }

    fn end_command(&mut self) {
        self.scan = None;
        self.spans.clear();
        if self.spans.capacity() > KEEP_SPANS {
            self.spans = Vec::new();
        }
    }

    /// Scans the command at the front of `buf`, resuming a scan that ran out of input.
    fn scan_command(&mut self, buf: &[u8]) -> Scan {
        let limits = *self.general.limits();
        let (count, mut next) = match self.scan {
            // A buffer shorter than where the scan stopped is not the one it scanned.
            Some((count, next)) if next <= buf.len() => (count, next),
            _ => {
                self.end_command();
                if buf.first() != Some(&b'*') || limits.max_depth == 0 {
                    return match buf.first() {
                        None => Scan::Incomplete,
                        Some(_) => Scan::Other,
                    };
                }
                match length(buf, 0) {
                    Length::Value(n, after) if n > 0 && n <= limits.max_array_len => (n, after),
                    Length::Incomplete => return Scan::Incomplete,
                    _ => return Scan::Other,
                }
            }
        };
        while self.spans.len() < count {
            match buf.get(next) {
                None => {
                    self.scan = Some((count, next));
                    return Scan::Incomplete;
                }
                Some(b'$') => {}
                Some(_) => return Scan::Other,
            }
            let (len, body) = match length(buf, next) {
                Length::Value(n, body) if n <= limits.max_bulk_len => (n, body),
                Length::Incomplete => {
                    self.scan = Some((count, next));
                    return Scan::Incomplete;
                }
                _ => return Scan::Other,
            };
            let Some((end, after)) = body.checked_add(len).and_then(|e| Some((e, e.checked_add(2)?))) else {
                return Scan::Other;
            };
            match buf.get(end..after) {
                Some(b"\r\n") => {}
                Some(_) => return Scan::Other,
                None => {
                    self.scan = Some((count, next));
                    return Scan::Incomplete;
                }
            }
            self.spans.push((body, end));
            next = after;
        }
        Scan::Complete(next)
    }
}

/// Reads the decimal length after the type byte at `pos`: digits, then CRLF.
fn length(buf: &[u8], pos: usize) -> Length {
    let mut value = 0u64;
    let mut i = pos + 1;
    loop {
        match buf.get(i) {
            None => return Length::Incomplete,
            Some(&d @ b'0'..=b'9') if i - pos <= MAX_DIGITS => {
                value = value * 10 + u64::from(d - b'0');
                i += 1;
            }
            Some(b'\r') if i > pos + 1 => {
                return match buf.get(i + 1) {
                    None => Length::Incomplete,
                    Some(b'\n') => usize::try_from(value).map_or(Length::Other, |v| Length::Value(v, i + 2)),
                    Some(_) => Length::Other,
                };
            }
            Some(_) => return Length::Other,
        }
    }
}

#[cfg(test)]
mod tests;
