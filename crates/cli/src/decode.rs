//! The loop that reads input into the parser and hands events to a sink, shared by every
//! output and by `--check`.

use std::io::{self, Read};

use event::EventSink;
use rdb::{Parser, Poll};

use crate::progress::Progress;

/// Why decoding stopped early.
#[derive(Debug)]
pub enum DecodeError {
    /// The input is not a valid RDB.
    Rdb(rdb::Error),
    /// Reading the input failed.
    Read(io::Error),
    /// The sink failed (writing the output, or a value it cannot express).
    Sink(event::Error),
}

/// How a complete decode ended.
pub struct Decoded {
    /// Bytes of the RDB.
    pub rdb_len: u64,
    /// Whether more bytes followed the RDB (an AOF tail after an RDB preamble, or garbage).
    pub trailing: bool,
}

/// Decodes all of `input` into `sink`. `total` is the input's size when known (a regular
/// file): with it, a length field that points past the end fails at once.
pub fn decode(
    input: &mut dyn Read,
    total: Option<u64>,
    opts: rdb::Options,
    sink: &mut dyn EventSink,
    progress: &Progress,
) -> Result<Decoded, DecodeError> {
    let mut parser = Parser::new(opts);
    if let Some(total) = total {
        parser.set_total_len(total);
    }
    let result = pump(&mut parser, input, sink, progress);
    progress.finish();
    match result {
        Ok(()) => {}
        Err(e) => {
            // Keep what whole events produced; the reader gets correct, if incomplete, output.
            // A failure to write that is secondary to the decode error.
            let _ = sink.abort();
            return Err(e);
        }
    }
    sink.finish().map_err(DecodeError::Sink)?;
    let rdb_len = parser.offset();
    let trailing = !parser.buffered().is_empty()
        || match total {
            Some(t) => t > rdb_len,
            None => {
                let mut probe = [0u8; 1];
                matches!(input.read(&mut probe), Ok(n) if n > 0)
            }
        };
    Ok(Decoded { rdb_len, trailing })
}

fn pump(
    parser: &mut Parser,
    input: &mut dyn Read,
    sink: &mut dyn EventSink,
    progress: &Progress,
) -> Result<(), DecodeError> {
    loop {
        match parser.poll().map_err(DecodeError::Rdb)? {
            Poll::Event => {
                let offset = parser.offset();
                sink.event(&parser.event(), offset).map_err(DecodeError::Sink)?;
                if let Some(items) = parser.ready_items() {
                    sink.items(items).map_err(DecodeError::Sink)?;
                }
            }
            Poll::NeedMore => {
                progress.set(parser.offset());
                if parser.read_from(input).map_err(DecodeError::Read)? == 0 {
                    // The input ended before the RDB did: this reports where.
                    parser.finish().map_err(DecodeError::Rdb)?;
                    return Ok(());
                }
            }
            Poll::Done => return Ok(()),
        }
    }
}
