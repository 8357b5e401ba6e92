//! Snapshot framing (protocol.md §2.3; redis 7.4.1 src/replication.c:1870-1930): after
//! `+FULLRESYNC`, keepalive `\n` lines, then either
//! - `$<len>\r\n` and exactly `len` bytes of RDB, with no CRLF after them; or
//! - `$EOF:<40-byte mark>\r\n`, the RDB, then the same 40 bytes (a diskless transfer).
//!
//! The RDB bytes go straight into an [`rdb::Parser`]: no temp file, and memory bounded by
//! the largest value. With a length, the parser is fed exactly `len` bytes, so the stream
//! that follows is never mixed in, and it must end exactly there. Without one, the RDB's own
//! end (the EOF opcode and checksum) says where the mark starts.

use crate::error::Error;

pub(crate) const MARK_LEN: usize = 40;

/// How the RDB is delimited.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Framing {
    Sized { len: u64, fed: u64 },
    Diskless { mark: [u8; MARK_LEN] },
}

/// The snapshot header line, without its line end.
pub(crate) enum Header {
    /// A keepalive: an empty line.
    Keepalive,
    Framing(Framing),
}

/// A header line longer than this, with no line end yet, is not a header.
pub(crate) const MAX_HEADER: usize = 128;

pub(crate) fn parse_header(line: &[u8]) -> Result<Header, Error> {
    let bad = || Error::BadSnapshotHeader { line: crate::handshake::quote(line) };
    match line {
        [] => Ok(Header::Keepalive),
        [b'-', rest @ ..] => Err(Error::SnapshotAborted { reply: String::from_utf8_lossy(rest).into_owned() }),
        [b'$', b'E', b'O', b'F', b':', mark @ ..] => {
            let mark: [u8; MARK_LEN] = mark.try_into().map_err(|_| bad())?;
            Ok(Header::Framing(Framing::Diskless { mark }))
        }
        [b'$', digits @ ..] if !digits.is_empty() && digits.len() <= 20 && digits.iter().all(u8::is_ascii_digit) => {
            let len = std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok()).ok_or_else(bad)?;
            Ok(Header::Framing(Framing::Sized { len, fed: 0 }))
        }
        _ => Err(bad()),
    }
}

/// The snapshot being decoded.
pub(crate) struct Snapshot {
    pub parser: rdb::Parser,
    pub framing: Framing,
    /// The `FULLRESYNC` offset: the stream continues after it.
    pub offset: u64,
    /// The RDB's `repl-stream-db` AUX field: the db the stream is in at the snapshot point
    /// (src/replication.c:1777, 2251).
    pub stream_db: Option<u64>,
}

impl Snapshot {
    pub fn new(framing: Framing, offset: u64, options: rdb::Options) -> Snapshot {
        let mut parser = rdb::Parser::new(options);
        if let Framing::Sized { len, .. } = framing {
            parser.set_total_len(len);
        }
        Snapshot { parser, framing, offset, stream_db: None }
    }

    /// Notes what the stream needs from an event before it is handed out.
    pub fn inspect(&mut self) {
        if let Some(db) = stream_db(&self.parser.event()) {
            self.stream_db = db;
        }
    }
}

/// The db a snapshot says the stream continues in, from its `repl-stream-db` AUX field
/// (src/replication.c:1777, 2251): `Some` for that field (`Some(None)` if unreadable), `None`
/// for any other event. Public for handlers that track the db themselves.
pub fn stream_db(ev: &rdb::Event<'_>) -> Option<Option<u64>> {
    match ev {
        rdb::Event::Aux { key: rdb::Str::Bytes(b"repl-stream-db"), value } => Some(match value {
            rdb::Str::Int(n) => u64::try_from(*n).ok(),
            rdb::Str::Bytes(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()),
        }),
        _ => None,
    }
}
