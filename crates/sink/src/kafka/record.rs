//! [`KafkaRecord`]: one event as a Kafka record, and [`RecordBuilder`], which makes them from
//! the snapshot and the live stream with the contract's JSON (docs/events.md) as the value.

use std::io::Write;
use std::sync::{Arc, Mutex};

use event::{EventSink, JsonWriter, LiveEvent, LiveSink};

use crate::error::Error;

/// One record bound for Kafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaRecord {
    /// The Redis key, which is also the Kafka key, so that one key's changes stay in order in
    /// one partition. `None` (a null Kafka key, partition 0 of the topic) for what no single
    /// key orders: keyless commands (`flushall`), commands with several keys (`mset`,
    /// `rename`), every command of a `MULTI` transaction and its `exec` (so a transaction
    /// stays together and in order), `sync` and `resync`, and the snapshot's non-key events.
    pub key: Option<Vec<u8>>,
    /// The event's JSON line, without the newline.
    pub value: Vec<u8>,
    /// The `event` header: `command`, `exec`, `sync`, `resync`, `key`, `begin`, ...
    pub event: &'static str,
    /// The `db` header (absent when unknown), and what `{db}` topics are routed by.
    pub db: Option<u64>,
    /// The `replid` header.
    pub replid: Option<String>,
    /// The `start_offset` header: the offset before the command (commands and `exec`).
    pub start_offset: Option<u64>,
    /// The `end_offset` header: the offset once the event is applied; for `sync`, `resync`
    /// and snapshot events, the offset the snapshot stands for.
    pub end_offset: Option<u64>,
}

/// A `Write` that the JSON writer fills and the builder drains, line by line.
#[derive(Clone, Default)]
struct SharedLines(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Turns events into records, one per JSON line the event contract writes.
pub struct RecordBuilder {
    json: JsonWriter<SharedLines>,
    lines: SharedLines,
    /// The last `sync` or `resync`: the position snapshot records carry.
    position: Option<(String, u64)>,
    /// The key whose `key` lines are being written, and its db.
    open_key: Option<(Vec<u8>, u64)>,
}

impl Default for RecordBuilder {
    fn default() -> Self {
        let lines = SharedLines::default();
        RecordBuilder { json: JsonWriter::new(lines.clone()), lines, position: None, open_key: None }
    }
}

impl RecordBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The record for one live event.
    pub fn live<A: AsRef<[u8]>>(&mut self, ev: &LiveEvent<'_, A>) -> Result<KafkaRecord, Error> {
        let kind = live_kind(ev);
        let encode = |source| Error::Encode { event: kind, source };
        self.json.write_live(ev).map_err(encode)?;
        LiveSink::<A>::flush(&mut self.json).map_err(encode)?;
        let mut value = std::mem::take(&mut *self.lines.0.lock().expect("not poisoned"));
        if value.last() == Some(&b'\n') {
            value.pop();
        }
        let mut record = KafkaRecord {
            key: None,
            value,
            event: kind,
            db: None,
            replid: None,
            start_offset: None,
            end_offset: Some(ev.end_offset()),
        };
        match ev {
            LiveEvent::Sync { replid, offset, .. } | LiveEvent::Resync { replid, offset, .. } => {
                self.position = Some((replid.to_string(), *offset));
                record.replid = Some(replid.to_string());
            }
            LiveEvent::Command(cmd) => {
                record.db = cmd.db;
                record.replid = Some(cmd.replid.to_string());
                record.start_offset = Some(cmd.start_offset);
                if cmd.tx.is_none() {
                    record.key = single_key(cmd.keys());
                }
            }
            LiveEvent::Exec { replid, start_offset, .. } => {
                record.replid = Some(replid.to_string());
                record.start_offset = Some(*start_offset);
            }
        }
        Ok(record)
    }

    /// Appends the records one snapshot event completes to `out`: whole `key` lines (a large
    /// value in several parts gives several records with the same key) and the other events'
    /// lines. `offset` is the parser's offset after the event, as [`EventSink::event`] takes.
    pub fn snapshot(&mut self, ev: &rdb::Event<'_>, offset: u64, out: &mut Vec<KafkaRecord>) -> Result<(), Error> {
        let encode = |source| Error::Encode { event: "snapshot", source };
        if let rdb::Event::Key(info) = ev {
            let key = match info.key {
                rdb::Str::Bytes(b) => b.to_vec(),
                rdb::Str::Int(i) => i.to_string().into_bytes(),
            };
            self.open_key = Some((key, info.db));
        }
        self.json.event(ev, offset).map_err(encode)?;
        // Inside a key only whole parts have reached `lines`; between keys, push out the rest.
        let key_ended = matches!(ev, rdb::Event::KeyEnd { .. });
        if self.open_key.is_none() || key_ended {
            LiveSink::<&[u8]>::flush(&mut self.json).map_err(encode)?;
        }
        self.drain_lines(out);
        if key_ended {
            self.open_key = None;
        }
        Ok(())
    }

    fn drain_lines(&mut self, out: &mut Vec<KafkaRecord>) {
        let mut buf = self.lines.0.lock().expect("not poisoned");
        let Some(last_newline) = buf.iter().rposition(|&b| b == b'\n') else { return };
        let (replid, offset) = self.position.clone().unzip();
        for line in buf[..last_newline].split(|&b| b == b'\n') {
            let event = snapshot_kind(line);
            let (key, db) = match (&self.open_key, event) {
                (Some((key, db)), "key") => (Some(key.clone()), Some(*db)),
                _ => (None, None),
            };
            let value = line.to_vec();
            out.push(KafkaRecord {
                key,
                value,
                event,
                db,
                replid: replid.clone(),
                start_offset: None,
                end_offset: offset,
            });
        }
        buf.drain(..=last_newline);
    }
}

/// The one key an event is about, or `None` if it has none or several.
fn single_key<'a>(mut keys: impl Iterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let first = keys.next()?;
    if keys.any(|k| k != first) {
        return None;
    }
    Some(first.to_vec())
}

fn live_kind<A>(ev: &LiveEvent<'_, A>) -> &'static str {
    match ev {
        LiveEvent::Sync { .. } => "sync",
        LiveEvent::Resync { .. } => "resync",
        LiveEvent::Command(_) => "command",
        LiveEvent::Exec { .. } => "exec",
    }
}

/// The `event` field of a snapshot line; the contract puts it first.
fn snapshot_kind(line: &[u8]) -> &'static str {
    const KINDS: [&str; 6] = ["key", "begin", "aux", "function", "module_aux", "end"];
    let name = line.strip_prefix(b"{\"event\":\"").and_then(|rest| rest.split(|&b| b == b'"').next());
    name.and_then(|n| KINDS.iter().find(|k| k.as_bytes() == n)).copied().unwrap_or("snapshot")
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::{CommandEvent, SyncMode};

    const REPLID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";

    fn command<'a>(args: &'a [&'a [u8]], tx: Option<u64>) -> LiveEvent<'a, &'a [u8]> {
        LiveEvent::Command(CommandEvent { db: Some(2), args, replid: REPLID, start_offset: 10, end_offset: 40, tx })
    }

    #[test]
    fn one_key_commands_are_keyed_by_it() {
        let mut b = RecordBuilder::new();
        let r = b.live(&command(&[b"SET", b"user:1", b"x"], None)).unwrap();
        assert_eq!(r.key.as_deref(), Some(&b"user:1"[..]));
        assert_eq!((r.event, r.db, r.start_offset, r.end_offset), ("command", Some(2), Some(10), Some(40)));
        assert_eq!(r.replid.as_deref(), Some(REPLID));
        let v: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
        assert_eq!(v["command"], "set");
        assert!(!r.value.ends_with(b"\n"));
        assert_eq!(b.live(&command(&[b"DEL", b"k", b"k"], None)).unwrap().key.as_deref(), Some(&b"k"[..]));
    }

    #[test]
    fn transactions_and_multi_key_commands_are_keyless() {
        let mut b = RecordBuilder::new();
        assert_eq!(b.live(&command(&[b"MSET", b"a", b"1", b"b", b"2"], None)).unwrap().key, None);
        assert_eq!(b.live(&command(&[b"FLUSHALL"], None)).unwrap().key, None);
        assert_eq!(b.live(&command(&[b"SET", b"a", b"1"], Some(5))).unwrap().key, None);
        let exec: LiveEvent<'_, &[u8]> =
            LiveEvent::Exec { tx: 5, commands: 1, replid: REPLID, start_offset: 5, end_offset: 60 };
        let r = b.live(&exec).unwrap();
        assert_eq!((r.key, r.event, r.start_offset, r.end_offset), (None, "exec", Some(5), Some(60)));
    }

    #[test]
    fn snapshot_key_lines_are_keyed_and_carry_the_sync_position() {
        let mut b = RecordBuilder::new();
        let sync: LiveEvent<'_, &[u8]> = LiveEvent::Sync { mode: SyncMode::Full, replid: REPLID, offset: 77 };
        b.live(&sync).unwrap();
        let mut out = Vec::new();
        let format = rdb::Format { family: rdb::Family::Redis, version: 12 };
        b.snapshot(&rdb::Event::Begin(format), 9, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].event, &out[0].key, out[0].end_offset), ("begin", &None, Some(77)));
        b.snapshot(&rdb::Event::End { checksum: rdb::Checksum::Absent }, 20, &mut out).unwrap();
        assert_eq!(out.last().unwrap().event, "end");
    }
}
