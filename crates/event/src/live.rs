//! The live half of the event contract (docs/events.md, "Live events"): what `redtail follow`
//! writes after (or instead of) a snapshot.
//!
//! These types are neutral on purpose: the replication machinery (`replica`) has its own
//! richer command type, and this crate must not depend on it (DESIGN.md: no arrow runs back
//! up). The driver borrows its data into these views, which cost nothing to build.
//!
//! Arguments are generic (`A: AsRef<[u8]>`) so that the driver can lend its own argument
//! vector as it is: `&[bytes::Bytes]` from the replica, `&[&[u8]]` in tests, `&[Vec<u8>]` from
//! a file. Nothing is copied or collected per command.

/// How a connection's stream starts (`+FULLRESYNC` or `+CONTINUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// A snapshot follows, then commands from the offset.
    Full,
    /// Commands follow from the offset, with no snapshot.
    Continue,
}

impl SyncMode {
    /// The contract's name for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Full => "full",
            SyncMode::Continue => "continue",
        }
    }
}

/// One event of the live stream. `A` is the driver's argument type.
#[derive(Debug)]
pub enum LiveEvent<'a, A> {
    /// Starts every connection's stream.
    Sync { mode: SyncMode, replid: &'a str, offset: u64 },
    /// The master could not continue where redtail asked: the snapshot that follows replaces
    /// the state built from earlier events.
    Resync { replid: &'a str, offset: u64, previous_replid: &'a str, previous_offset: u64 },
    /// A data command. `SELECT`, `MULTI` and `EXEC` are never commands: `db` and `tx` carry
    /// their meaning (and an `EXEC` becomes [`LiveEvent::Exec`]).
    Command(CommandEvent<'a, A>),
    /// Closes a transaction: the commands with this `tx` took effect together.
    Exec { tx: u64, commands: u64, replid: &'a str, start_offset: u64, end_offset: u64 },
}

/// One command of the replication stream, with its exact place in it.
#[derive(Debug)]
pub struct CommandEvent<'a, A> {
    /// The database it applies to; `None` until the master's first `SELECT` when following
    /// from "now".
    pub db: Option<u64>,
    /// The name, then every argument, exactly as the master sent them.
    pub args: &'a [A],
    pub replid: &'a str,
    /// The offset before the command's first byte.
    pub start_offset: u64,
    /// The offset once it is applied; resuming after it is `PSYNC <replid> <end_offset+1>`.
    pub end_offset: u64,
    /// The `MULTI` transaction it belongs to: the offset before the `MULTI`.
    pub tx: Option<u64>,
}

// Manual impls: a derive would require `A: Clone`, but only the reference is copied.
impl<A> Clone for CommandEvent<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for CommandEvent<'_, A> {}
impl<A> Clone for LiveEvent<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for LiveEvent<'_, A> {}

impl<'a, A: AsRef<[u8]>> CommandEvent<'a, A> {
    /// The command name as sent (any case); empty for an empty command.
    pub fn name(&self) -> &'a [u8] {
        self.args.first().map_or(&[][..], |a| a.as_ref())
    }

    /// The keys the command touches, in argument order (see [`crate::command_keys`]).
    pub fn keys(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        crate::command_keys::command_keys(self.args)
    }
}

impl<A> LiveEvent<'_, A> {
    /// The replication offset the stream has reached once this event is processed: what the
    /// driver reports as delivered after [`crate::LiveSink::flush`].
    pub fn end_offset(&self) -> u64 {
        match self {
            LiveEvent::Sync { offset, .. } | LiveEvent::Resync { offset, .. } => *offset,
            LiveEvent::Command(c) => c.end_offset,
            LiveEvent::Exec { end_offset, .. } => *end_offset,
        }
    }
}
