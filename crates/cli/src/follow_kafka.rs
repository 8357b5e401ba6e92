//! `redtail follow --sink kafka://BROKERS/TOPIC`: the handler's events become Kafka records
//! (sink crate's [`RecordBuilder`]), and only what the Kafka sink reports as delivered (from
//! its delivery reports) reaches the checkpoint and the ACK.
//!
//! Two halves share one buffer: [`KafkaWriter`] is the handler's output (a `LiveSink`, so the
//! filter wraps it as it wraps stdout) and turns events into records; [`KafkaDelivery`] sends
//! the buffered records as one batch at each handler flush and waits for their
//! acknowledgement.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use bytes::Bytes;
use event::{EventSink, LiveEvent, LiveSink};
use sink::{Batch, KafkaRecord, KafkaSink, RecordBuilder, Sink};

/// Records made since the last batch.
#[derive(Default)]
struct Buffer {
    builder: RecordBuilder,
    records: Vec<KafkaRecord>,
    /// Where the snapshot key being written started in `records`: an abort drops from there.
    key_start: Option<usize>,
}

/// The output half: events to records.
pub struct KafkaWriter {
    buffer: Rc<RefCell<Buffer>>,
}

/// The delivery half: records to Kafka, and the offset Kafka confirmed.
pub struct KafkaDelivery {
    buffer: Rc<RefCell<Buffer>>,
    sink: KafkaSink,
    /// The end offset of the last batch sent.
    sent: u64,
    /// A send or flush failed: the session stops, and the clean-up after it must not wait
    /// for the broker a second time.
    failed: bool,
}

/// Both halves over a connected sink; `start` is the offset already delivered (the
/// checkpoint's, or 0).
pub fn output(sink: KafkaSink, start: u64) -> (KafkaWriter, KafkaDelivery) {
    let buffer = Rc::new(RefCell::new(Buffer::default()));
    (KafkaWriter { buffer: Rc::clone(&buffer) }, KafkaDelivery { buffer, sink, sent: start, failed: false })
}

/// The builder fails only to encode, which is the event crate's error.
fn encode_error(e: sink::Error) -> event::Error {
    match e {
        sink::Error::Encode { source, .. } => source,
        other => event::Error::Io(io::Error::other(other.to_string())),
    }
}

impl EventSink for KafkaWriter {
    fn event(&mut self, ev: &rdb::Event<'_>, offset: u64) -> event::Result<()> {
        let mut buffer = self.buffer.borrow_mut();
        let Buffer { builder, records, key_start } = &mut *buffer;
        match ev {
            rdb::Event::Key(_) => *key_start = Some(records.len()),
            rdb::Event::KeyEnd { .. } => *key_start = None,
            _ => {}
        }
        builder.snapshot(ev, offset, records).map_err(encode_error)
    }

    fn finish(&mut self) -> event::Result<()> {
        Ok(())
    }

    /// Drops the unfinished snapshot key; the next `sync` or `resync` says where things stand.
    fn abort(&mut self) -> event::Result<()> {
        let mut buffer = self.buffer.borrow_mut();
        if let Some(start) = buffer.key_start.take() {
            buffer.records.truncate(start);
        }
        buffer.builder = RecordBuilder::new();
        Ok(())
    }
}

impl LiveSink<Bytes> for KafkaWriter {
    fn live(&mut self, ev: &LiveEvent<'_, Bytes>) -> event::Result<()> {
        let mut buffer = self.buffer.borrow_mut();
        let record = buffer.builder.live(ev).map_err(encode_error)?;
        buffer.records.push(record);
        Ok(())
    }

    /// Records leave at the delivery half's batch, not here.
    fn flush(&mut self) -> event::Result<()> {
        Ok(())
    }
}

impl KafkaDelivery {
    /// Sends the records made so far as one batch. With `handed` (the end offset of
    /// everything handed to the output), waits for Kafka to acknowledge every record sent and
    /// returns the delivered offset; without it (inside a snapshot), only sends them, ending
    /// at the last batch's offset, so the snapshot does not pile up in memory.
    pub fn deliver(&mut self, handed: Option<u64>) -> Result<Option<u64>, sink::Error> {
        let records = std::mem::take(&mut self.buffer.borrow_mut().records);
        if self.failed || (records.is_empty() && handed.is_none()) {
            return Ok(None);
        }
        let end_offset = handed.unwrap_or(self.sent);
        let result = self.send(records, end_offset, handed.is_some());
        self.failed = result.is_err();
        result
    }

    fn send(&mut self, records: Vec<KafkaRecord>, end_offset: u64, wait: bool) -> Result<Option<u64>, sink::Error> {
        self.sink.send(Batch { records, end_offset })?;
        self.sent = end_offset;
        if wait {
            Ok(Some(self.sink.flush()?))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use rdb::{Event, Item, Str};

    use super::*;

    const ID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";

    use crate::test_support::list_key as key;

    /// A snapshot cut inside a key: the abort keeps the whole keys' records only.
    #[test]
    fn abort_drops_the_unfinished_key() {
        let buffer = Rc::new(RefCell::new(Buffer::default()));
        let mut w = KafkaWriter { buffer: Rc::clone(&buffer) };
        w.live(&LiveEvent::Sync { mode: event::SyncMode::Full, replid: ID, offset: 100 }).unwrap();
        for (name, end) in [(&b"whole"[..], true), (&b"cut"[..], false)] {
            w.event(&Event::Key(key(name)), 0).unwrap();
            w.event(&Event::Item(Item::ListElement(Str::Bytes(b"x"))), 0).unwrap();
            if end {
                w.event(&Event::KeyEnd { elements: 1 }, 0).unwrap();
            }
        }
        w.abort().unwrap();
        let records = &buffer.borrow().records;
        let keys: Vec<_> = records.iter().map(|r| (r.event, r.key.as_deref())).collect();
        assert_eq!(keys, [("sync", None), ("key", Some(&b"whole"[..]))]);
        assert_eq!(records[1].end_offset, Some(100), "snapshot records carry the sync's offset");
    }
}
