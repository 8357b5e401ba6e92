//! `redtail follow --sink kafka://BROKERS/TOPIC`: the handler's events become Kafka records
//! (sink crate's [`RecordBuilder`]), and only what the Kafka sink reports as delivered (from
//! its delivery reports) reaches the checkpoint and the ACK.
//!
//! Two halves share one buffer: [`KafkaWriter`] is the handler's output (a `LiveSink`, so the
//! filter wraps it as it wraps stdout) and turns events into records; [`KafkaDelivery`] sends
//! the buffered records as one batch at each handler flush. It does not wait for their
//! acknowledgement (only while the sink's window is full): the delivered offset follows the
//! delivery reports as they arrive, so several read bursts are in flight at once.
//!
//! With `--kafka-transactional` each such flush commits one Kafka transaction, which holds
//! the checkpoint too; a Redis `MULTI … EXEC` still open at a flush stays in the buffer for
//! the next one, so that it lands in Kafka whole and a resume never starts inside it.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use bytes::Bytes;
use event::{EventSink, LiveEvent, LiveSink};
use sink::{Batch, KafkaRecord, KafkaSink, KafkaTxnSink, RecordBuilder, Sink};

use crate::follow_position::StreamPosition;

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

/// Which Kafka sink delivers.
pub enum KafkaSinkKind {
    /// At least once: the idempotent producer, checkpointed from delivery reports.
    AtLeastOnce(KafkaSink),
    /// Effectively once: a transaction per flush, with the checkpoint in it.
    Transactional(Box<KafkaTxnSink>),
}

/// The delivery half: records to Kafka, and the offset Kafka confirmed.
pub struct KafkaDelivery {
    buffer: Rc<RefCell<Buffer>>,
    sink: KafkaSinkKind,
    /// The end offset of the last batch sent.
    sent: u64,
    /// The delivered offset last returned (at least once).
    reported: u64,
    /// A send or flush failed: the session stops, and the clean-up after it must not wait
    /// for the broker a second time.
    failed: bool,
}

/// Both halves over a connected sink; `start` is the offset already delivered (the
/// checkpoint's, or 0).
pub fn output(sink: KafkaSinkKind, start: u64) -> (KafkaWriter, KafkaDelivery) {
    let buffer = Rc::new(RefCell::new(Buffer::default()));
    (
        KafkaWriter { buffer: Rc::clone(&buffer) },
        KafkaDelivery { buffer, sink, sent: start, reported: start, failed: false },
    )
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
    /// The producer's retry and connection counters, for the metrics.
    pub fn health(&self) -> std::sync::Arc<sink::KafkaHealth> {
        match &self.sink {
            KafkaSinkKind::AtLeastOnce(s) => s.health(),
            KafkaSinkKind::Transactional(s) => s.health(),
        }
    }

    /// Sends the records made so far as one batch and returns the offset now delivered, if it
    /// moved. `handed` is the end offset of everything handed to the output; without it
    /// (inside a snapshot, or nothing new), the batch ends at the last batch's offset.
    /// `position` says where the stream stands at `handed`.
    ///
    /// At least once, nothing waits for the batch's acknowledgement (only for room in the
    /// sink's window): the offset returned is what the delivery reports so far confirm, and a
    /// later call reports the rest, so the next read burst is on its way while this one is
    /// acknowledged. In transactional mode, with `handed`, the batch is committed (and waited
    /// for); without it only sent, so a whole snapshot is one transaction.
    pub fn deliver(&mut self, handed: Option<u64>, position: &StreamPosition) -> Result<Option<u64>, sink::Error> {
        self.unless_failed(|d| match d.sink {
            KafkaSinkKind::AtLeastOnce(_) => d.deliver_at_least_once(handed, false),
            KafkaSinkKind::Transactional(_) => d.deliver_transactional(handed, position),
        })
    }

    /// The last delivery before a clean stop: [`KafkaDelivery::deliver`], and then a wait for
    /// every acknowledgement.
    pub fn finish(&mut self, handed: Option<u64>, position: &StreamPosition) -> Result<Option<u64>, sink::Error> {
        match self.sink {
            KafkaSinkKind::AtLeastOnce(_) => self.unless_failed(|d| d.deliver_at_least_once(handed, true)),
            KafkaSinkKind::Transactional(_) => self.deliver(handed, position),
        }
    }

    /// A new stream begins (a full sync, or a continuation after a reconnect). Records still
    /// in flight belong to the previous one, whose offsets mean nothing in a new replication
    /// ID's numbering, so they are all waited for before the new stream's first batch, and
    /// what they delivered is not reported (what lies past the checkpoint is sent again, or
    /// replaced by the full sync: at least once). The transactional sink has nothing in flight
    /// between flushes.
    pub fn new_stream(&mut self) -> Result<(), sink::Error> {
        match self.sink {
            KafkaSinkKind::AtLeastOnce(_) => self.unless_failed(|d| d.deliver_at_least_once(None, true)).map(|_| ()),
            KafkaSinkKind::Transactional(_) => Ok(()),
        }
    }

    /// Runs `step` unless an earlier one failed; a failure is remembered.
    fn unless_failed(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<Option<u64>, sink::Error>,
    ) -> Result<Option<u64>, sink::Error> {
        if self.failed {
            return Ok(None);
        }
        let result = step(self);
        self.failed = result.is_err();
        result
    }

    /// Sends the buffered records (see [`KafkaDelivery::deliver`]); with `wait`, waits for
    /// every record sent to be acknowledged.
    fn deliver_at_least_once(&mut self, handed: Option<u64>, wait: bool) -> Result<Option<u64>, sink::Error> {
        let KafkaSinkKind::AtLeastOnce(sink) = &mut self.sink else { unreachable!("the at-least-once sink") };
        let records = std::mem::take(&mut self.buffer.borrow_mut().records);
        if !records.is_empty() || handed.is_some() {
            let end_offset = handed.unwrap_or(self.sent);
            sink.send(Batch { records, end_offset })?;
            self.sent = end_offset;
        }
        let delivered = if wait { sink.flush()? } else { sink.poll()? };
        if delivered == self.reported {
            return Ok(None);
        }
        self.reported = delivered;
        Ok(Some(delivered))
    }

    /// Transactional: with `handed`, commits everything up to the last point outside a Redis
    /// transaction (the open one's records stay buffered for the next commit).
    fn deliver_transactional(
        &mut self,
        handed: Option<u64>,
        position: &StreamPosition,
    ) -> Result<Option<u64>, sink::Error> {
        let (records, handed) = match handed {
            Some(handed) => {
                let at = position.boundary(handed);
                if let (Some(replid), KafkaSinkKind::Transactional(sink)) = (at.replid, &mut self.sink) {
                    sink.set_position(&replid.to_string(), at.db);
                }
                (self.take_records_up_to(at.offset, at.offset < handed), Some(at.offset))
            }
            None => (std::mem::take(&mut self.buffer.borrow_mut().records), None),
        };
        let KafkaSinkKind::Transactional(sink) = &mut self.sink else { unreachable!("the transactional sink") };
        if records.is_empty() && handed.is_none() {
            return Ok(None);
        }
        let end_offset = handed.unwrap_or(self.sent);
        // Nothing new: no transaction just to write the same checkpoint again (the flush
        // still commits one left open by the snapshot's batches).
        if !(records.is_empty() && end_offset == self.sent) {
            sink.send(Batch { records, end_offset })?;
        }
        self.sent = end_offset;
        if handed.is_none() {
            return Ok(None);
        }
        Ok(Some(sink.flush()?))
    }

    /// The buffered records, except (with `hold`) the open Redis transaction's at the end of
    /// the buffer, those ending after `offset`, which stay for the next batch.
    fn take_records_up_to(&mut self, offset: u64, hold: bool) -> Vec<KafkaRecord> {
        let mut buffer = self.buffer.borrow_mut();
        let records = &mut buffer.records;
        let mut at = records.len();
        while hold && at > 0 && records[at - 1].end_offset.is_some_and(|end| end > offset) {
            at -= 1;
        }
        let rest = records.split_off(at);
        std::mem::replace(records, rest)
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
