//! What the state machine hands the driver.

use std::fmt;

use bytes::Bytes;

use crate::id::{ReplId, TxId};

/// One thing for the driver to do or pass on.
///
/// Snapshot events borrow from the RDB decoder's buffer ([`rdb::Event<'a>`]): the snapshot is
/// most of the bytes, so it is handed out without a copy, and memory stays bounded by the
/// largest single value, not the snapshot. The borrow checker makes the driver finish with
/// each event before it polls again. Stream commands are lent the same way; their arguments
/// are [`Bytes`] slices of the read buffer (reference counted, not copied), so a sink can
/// keep them (queue or batch them) by cloning the slices it needs.
#[derive(Debug)]
pub enum Output<'a> {
    /// Bytes to write to the master.
    Transmit(Transmit),
    /// Something worth logging that does not stop replication (a `REPLCONF` an old server
    /// refused, a nested `MULTI`).
    Warning(String),
    /// `+CONTINUE`: the stream resumes after `offset` with no snapshot.
    Continue {
        replid: ReplId,
        offset: u64,
    },
    /// `+FULLRESYNC` in answer to a resume: the master could not continue (backlog lost,
    /// master restarted), so a new snapshot follows. Consumers must treat their state as reset.
    Resync {
        replid: ReplId,
        offset: u64,
    },
    /// A snapshot follows; `size` is its length, or `None` for a diskless transfer.
    SnapshotBegin {
        replid: ReplId,
        offset: u64,
        size: Option<u64>,
    },
    Snapshot(rdb::Event<'a>),
    /// The snapshot is complete and valid; the stream continues from `offset`. Report it
    /// delivered with `ack_delivered(offset)` once it is.
    SnapshotEnd {
        offset: u64,
    },
    Command(&'a Command),
}

/// Bytes to send. `Debug` shows only the length: the handshake includes `AUTH`.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit(pub Bytes);

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transmit({} bytes)", self.0.len())
    }
}

/// What a stream command means to the replication machinery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// Anything that is not one of the below: writes, `PUBLISH`, `FUNCTION LOAD`, …
    Data,
    Ping,
    /// `REPLCONF` (in the stream: `REPLCONF GETACK *`).
    Replconf,
    Select,
    Multi,
    Exec,
}

impl CommandKind {
    fn of(name: &[u8]) -> CommandKind {
        // Case-insensitive: Valkey 9.1 sends a lowercase `ping`.
        const KINDS: [(&[u8], CommandKind); 5] = [
            (b"ping", CommandKind::Ping),
            (b"replconf", CommandKind::Replconf),
            (b"select", CommandKind::Select),
            (b"multi", CommandKind::Multi),
            (b"exec", CommandKind::Exec),
        ];
        KINDS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or(CommandKind::Data, |(_, k)| *k)
    }

    pub(crate) fn classify(args: &[Bytes]) -> CommandKind {
        args.first().map_or(CommandKind::Data, |name| CommandKind::of(name))
    }
}

/// One command of the replication stream, with its exact place in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub kind: CommandKind,
    /// The db the command runs in (for `SELECT`, the db it selects). `None` only when
    /// starting from `INFO` before the master's first `SELECT`.
    pub db: Option<u64>,
    /// The name and arguments, exactly as the master sent them.
    pub args: Vec<Bytes>,
    /// The offset before the command's first byte.
    pub start_offset: u64,
    /// The offset after its last byte: resume after it with `PSYNC <replid> <end_offset+1>`.
    pub end_offset: u64,
    pub replid: ReplId,
    /// The transaction this command belongs to (`MULTI` and `EXEC` included).
    pub tx: Option<TxId>,
}

impl Command {
    pub fn name(&self) -> &[u8] {
        self.args.first().map_or(&b""[..], |b| &b[..])
    }

    pub fn is(&self, name: &str) -> bool {
        self.name().eq_ignore_ascii_case(name.as_bytes())
    }
}
