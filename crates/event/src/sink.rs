//! One interface for every output, so the CLI can drive any of them the same way and wrap
//! them (filters) without knowing which one it holds: [`EventSink`] for decoded RDB events
//! (`redtail rdb`, and the snapshot of `redtail follow`), [`LiveSink`] for the stream after it.

use rdb::{Event, ReadyItems};

use crate::error::Result;
use crate::live::LiveEvent;

/// Something that consumes decoded events.
pub trait EventSink {
    /// Handles one event. `offset` is the parser's absolute offset just after the event's bytes
    /// (`rdb::Parser::offset`), which lets a sink measure how many bytes a key used.
    fn event(&mut self, ev: &Event<'_>, offset: u64) -> Result<()>;

    /// Handles items that come in a batch ([`rdb::Parser::ready_items`]): exactly the
    /// [`Event::Item`]s that would otherwise come one by one, with the same offsets. Writers
    /// override this to take them in a tight loop; the default hands them to
    /// [`EventSink::event`].
    fn items(&mut self, mut items: ReadyItems<'_>) -> Result<()> {
        while let Some((item, offset)) = items.next_with_offset() {
            self.event(&Event::Item(item), offset)?;
        }
        Ok(())
    }

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
    fn items(&mut self, items: ReadyItems<'_>) -> Result<()> {
        (**self).items(items)
    }
    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
    fn abort(&mut self) -> Result<()> {
        (**self).abort()
    }
}

/// An output for `redtail follow`: the snapshot through [`EventSink`], then the live stream.
///
/// **Delivery.** Every event handed to [`LiveSink::live`] counts as processed once
/// [`LiveSink::flush`] returns: it was written out, or deliberately dropped by a filter. The
/// driver therefore reports the [`LiveEvent::end_offset`] of the last event it handed over as
/// delivered after a successful `flush` (for stdout, "delivered" means flushed), whether or not
/// that event produced output. Inside a transaction the driver must not report more than the
/// transaction's start (its `tx`), because the stream resumes from before its `MULTI`.
///
/// `A` is the driver's argument type (see [`crate::live`]); a driver that holds a
/// `Box<dyn LiveSink<A>>` picks one.
pub trait LiveSink<A: AsRef<[u8]>>: EventSink {
    /// Handles one live event, buffering its output.
    fn live(&mut self, ev: &LiveEvent<'_, A>) -> Result<()>;

    /// Writes out everything handled so far and flushes the destination.
    fn flush(&mut self) -> Result<()>;
}

impl<A: AsRef<[u8]>, S: LiveSink<A> + ?Sized> LiveSink<A> for Box<S> {
    fn live(&mut self, ev: &LiveEvent<'_, A>) -> Result<()> {
        (**self).live(ev)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
}
