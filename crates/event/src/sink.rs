//! One interface for every output, so the CLI (and later `follow`) can drive any of them the
//! same way and wrap them (filters) without knowing which one it holds.

use rdb::Event;

use crate::error::Result;

/// Something that consumes decoded events.
pub trait EventSink {
    /// Handles one event. `offset` is the parser's absolute offset just after the event's bytes
    /// (`rdb::Parser::offset`), which lets a sink measure how many bytes a key used.
    fn event(&mut self, ev: &Event<'_>, offset: u64) -> Result<()>;

    /// The input ended cleanly: write out everything still buffered.
    fn finish(&mut self) -> Result<()>;

    /// Decoding failed: write out only what was produced by whole events or whole keys
    /// (complete JSON lines, complete commands) and drop the unfinished rest, so that
    /// everything the reader sees is correct.
    fn abort(&mut self) -> Result<()>;
}

impl<S: EventSink + ?Sized> EventSink for Box<S> {
    fn event(&mut self, ev: &Event<'_>, offset: u64) -> Result<()> {
        (**self).event(ev, offset)
    }
    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
    fn abort(&mut self) -> Result<()> {
        (**self).abort()
    }
}
