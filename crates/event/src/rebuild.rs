//! Commands that rebuild the data set on a live server: `redtail rdb --format resp FILE |
//! redis-cli --pipe`.
//!
//! The vocabulary follows Redis' own AOF rewrite (redis src/aof.c, `rewriteAppendOnlyFileRio`
//! and the `rewrite*Object` functions), which is the server's answer to the same question:
//! variadic `RPUSH`/`SADD`/`ZADD`/`HSET` of at most [`ITEMS_PER_COMMAND`] elements, then
//! `PEXPIREAT`; streams as explicit-ID `XADD`s, `XSETID`, `XGROUP CREATE`, and `XCLAIM ... JUSTID
//! FORCE` per pending entry; module values as `RESTORE` of a DUMP payload, since only the module
//! knows its commands.
//!
//! Memory stays bounded by one command's elements, with one exception: a stream consumer
//! group's pending entries list (PEL). Each pending entry's delivery time and count come with
//! the group, but the consumer that owns it comes later, and `XCLAIM` needs both; so the group's
//! PEL is held in a map until its consumers have been read. That memory is bounded by the
//! largest PEL in the file.

use std::collections::BTreeMap;
use std::io::Write;

use rdb::{push_dump_footer, Event, Format, Item, KeyInfo, Str, StreamId, StreamMeta, ValueType};

use crate::commit_buffer::CommitBuffer;
use crate::error::{Error, Result};
use crate::resp::*;
use crate::sink::EventSink;

/// Elements per variadic command, so that a huge key never becomes one huge command (Redis'
/// AOF rewrite uses 64 for the same reason).
pub const ITEMS_PER_COMMAND: usize = 128;

/// The DUMP payload type byte of a module value (`RDB_TYPE_MODULE_2`).
const RDB_TYPE_MODULE_2: u8 = 7;

/// Appends `RESTORE key 0 payload REPLACE`: the key with no expiry, which works on every
/// server with `RESTORE` (`ABSTTL` needs Redis 5.0); the expiry follows as `PEXPIREAT`.
pub(crate) fn push_restore_replace(buf: &mut Vec<u8>, key: &[u8], payload: &[u8]) {
    push_array_len(buf, 5);
    push_bulk(buf, b"RESTORE");
    push_bulk(buf, key);
    push_bulk(buf, b"0");
    push_bulk(buf, payload);
    push_bulk(buf, b"REPLACE");
}

/// Stream state between its events.
#[derive(Default)]
struct StreamRebuild {
    entries: u64,
    group: Vec<u8>,
    consumer: Vec<u8>,
    /// The current group's PEL: ID → (delivery time, delivery count).
    pel: BTreeMap<StreamId, (i64, u64)>,
}

/// Writes RESP2 commands that recreate the keys (and function libraries) of the events.
pub struct RebuildWriter<W: Write> {
    /// Shared with the live stream's writer (`resp_stream`), which continues the same output.
    pub(crate) out: CommitBuffer<W>,
    format: Option<Format>,
    /// The format of the server the commands will run on, when known: a feature is used only
    /// if both the source and the target have it (a Redis 7.0 stream into 6.2 loses nothing
    /// 6.2 could hold by leaving out `ENTRIESADDED`).
    target: Option<Format>,
    /// The database the commands written so far apply to (the live stream keeps it up to date).
    pub(crate) db: Option<u64>,
    /// The current key, copied once because every command of the key repeats it.
    key: Vec<u8>,
    value_type: ValueType,
    expire_at_ms: Option<i64>,
    wrote_value: bool,
    /// Arguments of the variadic command being gathered (its length prefix needs the count).
    batch: Vec<u8>,
    batch_items: usize,
    /// Commands that must follow the batch (`HPEXPIREAT` of fields in it).
    after_batch: Vec<u8>,
    stream: StreamRebuild,
    scratch: Vec<u8>,
}

impl<W: Write> RebuildWriter<W> {
    pub fn new(w: W) -> Self {
        RebuildWriter {
            out: CommitBuffer::new(w),
            format: None,
            target: None,
            db: None,
            key: Vec::new(),
            value_type: ValueType::String,
            expire_at_ms: None,
            wrote_value: false,
            batch: Vec::new(),
            batch_items: 0,
            after_batch: Vec::new(),
            stream: StreamRebuild::default(),
            scratch: Vec::new(),
        }
    }

    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    pub fn into_inner(mut self) -> Result<W> {
        self.out.flush()?;
        Ok(self.out.into_inner())
    }

    /// Writes only commands a server of `target`'s format understands (see
    /// [`crate::RespStreamWriter::target`]).
    pub fn target(mut self, target: Format) -> Self {
        self.target = Some(target);
        self
    }

    /// Whether the file comes from a server at least as new as the one that wrote RDB
    /// `version` (Valkey files count as Redis 7.2's RDB 11), and so does the target, if known.
    fn at_least(&self, version: u32) -> bool {
        self.format.is_some_and(|f| f.at_least(version)) && self.target.is_none_or(|t| t.at_least(version))
    }

    pub fn write_event(&mut self, ev: &Event<'_>) -> Result<()> {
        match ev {
            Event::Begin(format) => self.format = Some(*format),
            // Scripts saved by Redis < 7 (`lua` aux field) were loaded back into the script
            // cache; SCRIPT LOAD does the same.
            Event::Aux { key: Str::Bytes(b"lua"), value } => {
                let buf = &mut self.out.buf;
                push_array_len(buf, 3);
                push_bulk(buf, b"SCRIPT");
                push_bulk(buf, b"LOAD");
                push_bulk_str(buf, *value);
                self.out.commit()?;
            }
            Event::Function { code } => {
                let buf = &mut self.out.buf;
                push_array_len(buf, 4);
                push_bulk(buf, b"FUNCTION");
                push_bulk(buf, b"LOAD");
                push_bulk(buf, b"REPLACE");
                push_bulk_str(buf, *code);
                self.out.commit()?;
            }
            Event::FunctionPreGa { name, .. } => {
                return Err(Error::unrepresentable(
                    &name.to_vec(),
                    "this function library comes from a Redis 7.0 release candidate, whose format no released \
                     server loads; recreate it by hand with FUNCTION LOAD",
                ));
            }
            Event::Key(info) => self.begin_key(info)?,
            Event::Item(item) => self.item(item)?,
            Event::KeyEnd { .. } => self.end_key()?,
            _ => {}
        }
        Ok(())
    }

    fn begin_key(&mut self, info: &KeyInfo<'_>) -> Result<()> {
        if self.db != Some(info.db) {
            let buf = &mut self.out.buf;
            push_array_len(buf, 2);
            push_bulk(buf, b"SELECT");
            push_bulk_u64(buf, info.db);
            self.out.commit()?;
            self.db = Some(info.db);
        }
        self.key.clear();
        info.key.write_to(&mut self.key);
        self.value_type = info.value_type;
        self.expire_at_ms = info.expire_at_ms;
        self.wrote_value = false;
        self.batch.clear();
        self.batch_items = 0;
        self.after_batch.clear();
        self.stream.entries = 0;
        self.stream.pel.clear();
        Ok(())
    }

    /// Starts a command on the current key: `*argc`, the name words, the key.
    fn start_command(&mut self, argc: usize, words: &[&[u8]]) {
        let buf = &mut self.out.buf;
        push_array_len(buf, argc);
        for w in words {
            push_bulk(buf, w);
        }
        push_bulk(buf, &self.key);
    }

    /// Counts one element gathered in `batch`, writing the command when it is full.
    fn batched(&mut self) -> Result<()> {
        self.batch_items += 1;
        if self.batch_items == ITEMS_PER_COMMAND {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<()> {
        if self.batch_items == 0 {
            return Ok(());
        }
        let (name, args_per_item): (&[u8], usize) = match self.value_type {
            ValueType::List => (b"RPUSH", 1),
            ValueType::Set => (b"SADD", 1),
            ValueType::Zset => (b"ZADD", 2),
            // Variadic HSET arrived in Redis 4.0, whose files are RDB 8.
            ValueType::Hash if self.at_least(8) => (b"HSET", 2),
            ValueType::Hash => (b"HMSET", 2),
            _ => unreachable!("only collections are batched"),
        };
        self.start_command(2 + self.batch_items * args_per_item, &[name]);
        self.out.buf.extend_from_slice(&self.batch);
        self.out.buf.extend_from_slice(&self.after_batch);
        self.batch.clear();
        self.after_batch.clear();
        self.batch_items = 0;
        self.wrote_value = true;
        self.out.commit()?;
        Ok(())
    }

    fn item(&mut self, item: &Item<'_>) -> Result<()> {
        match item {
            Item::String(s) => {
                self.start_command(3, &[b"SET"]);
                push_bulk_str(&mut self.out.buf, *s);
                self.wrote_value = true;
                self.out.commit()?;
            }
            Item::ListElement(s) | Item::SetMember(s) => {
                push_bulk_str(&mut self.batch, *s);
                self.batched()?;
            }
            Item::ZsetEntry { member, score } => {
                if !push_bulk_score(&mut self.batch, *score) {
                    return Err(Error::unrepresentable(
                        &self.key,
                        format!("member {:?} has a NaN score, which ZADD cannot set", member),
                    ));
                }
                push_bulk_str(&mut self.batch, *member);
                self.batched()?;
            }
            Item::HashField { field, value, expire_at_ms } => {
                push_bulk_str(&mut self.batch, *field);
                push_bulk_str(&mut self.batch, *value);
                if let Some(ms) = expire_at_ms {
                    let a = &mut self.after_batch;
                    push_array_len(a, 6);
                    push_bulk(a, b"HPEXPIREAT");
                    push_bulk(a, &self.key);
                    push_bulk_i64(a, *ms);
                    push_bulk(a, b"FIELDS");
                    push_bulk(a, b"1");
                    push_bulk_str(a, *field);
                }
                self.batched()?;
            }
            Item::StreamEntry { id, fields } => {
                self.start_command(3 + 2 * fields.count(), &[b"XADD"]);
                let buf = &mut self.out.buf;
                push_bulk_stream_id(buf, *id);
                for (f, v) in fields.clone() {
                    push_bulk_str(buf, f);
                    push_bulk_str(buf, v);
                }
                self.stream.entries += 1;
                self.wrote_value = true;
                self.out.commit()?;
            }
            Item::StreamMeta(meta) => self.stream_meta(meta)?,
            Item::StreamGroup { name, last_id, entries_read, .. } => {
                let entries_read = entries_read.filter(|_| self.at_least(10));
                self.stream.group.clear();
                name.write_to(&mut self.stream.group);
                self.stream.pel.clear();
                let argc = if entries_read.is_some() { 7 } else { 5 };
                let buf = &mut self.out.buf;
                push_array_len(buf, argc);
                push_bulk(buf, b"XGROUP");
                push_bulk(buf, b"CREATE");
                push_bulk(buf, &self.key);
                push_bulk(buf, &self.stream.group);
                push_bulk_stream_id(buf, *last_id);
                if let Some(n) = entries_read {
                    push_bulk(buf, b"ENTRIESREAD");
                    push_bulk_u64(buf, n);
                }
                self.out.commit()?;
            }
            Item::StreamPending { id, delivery_time_ms, delivery_count } => {
                self.stream.pel.insert(*id, (*delivery_time_ms, *delivery_count));
            }
            Item::StreamConsumer { name, pending, .. } => {
                self.stream.consumer.clear();
                name.write_to(&mut self.stream.consumer);
                // A consumer with pending entries is created by its XCLAIMs; one without needs
                // CREATECONSUMER (Redis 6.2+), as in Redis' own AOF rewrite.
                if *pending == 0 {
                    let buf = &mut self.out.buf;
                    push_array_len(buf, 5);
                    push_bulk(buf, b"XGROUP");
                    push_bulk(buf, b"CREATECONSUMER");
                    push_bulk(buf, &self.key);
                    push_bulk(buf, &self.stream.group);
                    push_bulk(buf, &self.stream.consumer);
                    self.out.commit()?;
                }
            }
            Item::StreamConsumerPending { id } => {
                let Some((time, count)) = self.stream.pel.remove(id) else {
                    return Err(Error::unrepresentable(
                        &self.key,
                        format!("consumer pending entry {id} is not in its group's pending entries list"),
                    ));
                };
                let buf = &mut self.out.buf;
                push_array_len(buf, 12);
                push_bulk(buf, b"XCLAIM");
                push_bulk(buf, &self.key);
                push_bulk(buf, &self.stream.group);
                push_bulk(buf, &self.stream.consumer);
                push_bulk(buf, b"0");
                push_bulk_stream_id(buf, *id);
                push_bulk(buf, b"TIME");
                push_bulk_i64(buf, time);
                push_bulk(buf, b"RETRYCOUNT");
                push_bulk_u64(buf, count);
                push_bulk(buf, b"JUSTID");
                push_bulk(buf, b"FORCE");
                self.out.commit()?;
            }
            Item::Module { raw, .. } => {
                // A DUMP payload of the value: only the module knows its commands.
                let p = &mut self.scratch;
                p.clear();
                p.push(RDB_TYPE_MODULE_2);
                p.extend_from_slice(raw);
                push_dump_footer(p, self.format.map_or(0, |f| f.version));
                push_restore_replace(&mut self.out.buf, &self.key, p);
                self.wrote_value = true;
                self.out.commit()?;
            }
        }
        Ok(())
    }

    /// After the entries: create an empty stream if there were none, then set the IDs and
    /// counters that entries alone do not restore (deleted entries, the last ID).
    fn stream_meta(&mut self, m: &StreamMeta) -> Result<()> {
        if self.stream.entries == 0 {
            // Redis' AOF trick for an empty stream: add an entry and trim it away at once. Its
            // ID is 0-1 because XADD refuses 0-0; XSETID below sets the real last ID.
            self.start_command(7, &[b"XADD"]);
            let buf = &mut self.out.buf;
            push_bulk(buf, b"MAXLEN");
            push_bulk(buf, b"0");
            push_bulk(buf, b"0-1");
            push_bulk(buf, b"x");
            push_bulk(buf, b"y");
        }
        // ENTRIESADDED and MAXDELETEDID exist since Redis 7.0 (RDB 10).
        let extended = self.at_least(10);
        self.start_command(if extended { 7 } else { 3 }, &[b"XSETID"]);
        let buf = &mut self.out.buf;
        push_bulk_stream_id(buf, m.last_id);
        if extended {
            push_bulk(buf, b"ENTRIESADDED");
            push_bulk_u64(buf, m.entries_added);
            push_bulk(buf, b"MAXDELETEDID");
            push_bulk_stream_id(buf, m.max_deleted_id);
        }
        self.wrote_value = true;
        self.out.commit()?;
        Ok(())
    }

    /// Forgets what the current key gathered and will still write (its open batch, the
    /// `HPEXPIREAT`s after it, its expiry), for a writer that restores the key another way.
    pub(crate) fn discard_key(&mut self) {
        self.batch.clear();
        self.batch_items = 0;
        self.after_batch.clear();
        self.stream.pel.clear();
        self.wrote_value = false;
    }

    fn end_key(&mut self) -> Result<()> {
        self.flush_batch()?;
        if let (Some(ms), true) = (self.expire_at_ms, self.wrote_value) {
            self.start_command(3, &[b"PEXPIREAT"]);
            push_bulk_i64(&mut self.out.buf, ms);
            self.out.commit()?;
        }
        self.stream.pel.clear();
        Ok(())
    }
}

impl<W: Write> EventSink for RebuildWriter<W> {
    fn event(&mut self, ev: &Event<'_>, _offset: u64) -> Result<()> {
        self.write_event(ev)
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }

    fn abort(&mut self) -> Result<()> {
        self.batch.clear();
        self.batch_items = 0;
        self.after_batch.clear();
        self.out.abort()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdb::{Encoding, Family};

    pub(crate) use testkit::parse_resp;

    fn info(db: u64, key: &[u8], value_type: ValueType) -> KeyInfo<'_> {
        crate::test_support::key_info(db, Str::Bytes(key), value_type, Encoding::Hashtable)
    }

    fn rebuild(version: u32, events: &[Event<'_>]) -> Vec<Vec<String>> {
        let mut w = RebuildWriter::new(Vec::new());
        w.write_event(&Event::Begin(Format { family: Family::Redis, version })).unwrap();
        for ev in events {
            w.write_event(ev).unwrap();
        }
        w.finish().unwrap();
        parse_resp(&w.into_inner().unwrap())
    }

    fn cmd(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn strings_select_and_expiry() {
        let mut k = info(2, b"k", ValueType::String);
        k.expire_at_ms = Some(1700000000000);
        let cmds = rebuild(
            12,
            &[
                Event::Aux { key: Str::Bytes(b"redis-ver"), value: Str::Bytes(b"7.4.1") },
                Event::Function { code: Str::Bytes(b"#!lua name=lib") },
                Event::Key(k),
                Event::Item(Item::String(Str::Int(42))),
                Event::KeyEnd { elements: 1 },
                Event::Key(info(2, b"k2", ValueType::String)),
                Event::Item(Item::String(Str::Bytes(b"a\r\nb"))),
                Event::KeyEnd { elements: 1 },
                Event::Key(info(0, b"k3", ValueType::String)),
                Event::Item(Item::String(Str::Bytes(b""))),
                Event::KeyEnd { elements: 1 },
            ],
        );
        assert_eq!(
            cmds,
            vec![
                vec!["FUNCTION".to_owned(), "LOAD".into(), "REPLACE".into(), "#!lua name=lib".into()],
                cmd("SELECT 2"),
                cmd("SET k 42"),
                cmd("PEXPIREAT k 1700000000000"),
                vec!["SET".to_owned(), "k2".into(), "a\r\nb".into()],
                cmd("SELECT 0"),
                vec!["SET".to_owned(), "k3".into(), "".into()],
            ]
        );
    }

    #[test]
    fn collections_are_split_into_bounded_commands() {
        let mut evs = vec![Event::Key(info(0, b"l", ValueType::List))];
        for i in 0..300 {
            evs.push(Event::Item(Item::ListElement(Str::Int(i))));
        }
        evs.push(Event::KeyEnd { elements: 300 });
        let cmds = rebuild(12, &evs);
        assert_eq!(cmds[0], cmd("SELECT 0"));
        let rpush: Vec<_> = cmds[1..].iter().map(|c| (c[0].as_str(), c[1].as_str(), c.len() - 2)).collect();
        assert_eq!(rpush, [("RPUSH", "l", 128), ("RPUSH", "l", 128), ("RPUSH", "l", 44)]);
        let all: Vec<String> = cmds[1..].iter().flat_map(|c| c[2..].iter().cloned()).collect();
        assert_eq!(all, (0..300).map(|i| i.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn sets_zsets_hashes() {
        let mut h = info(0, b"h", ValueType::Hash);
        h.expire_at_ms = Some(5);
        let cmds = rebuild(
            12,
            &[
                Event::Key(info(0, b"s", ValueType::Set)),
                Event::Item(Item::SetMember(Str::Bytes(b"a"))),
                Event::Item(Item::SetMember(Str::Int(7))),
                Event::KeyEnd { elements: 2 },
                Event::Key(info(0, b"z", ValueType::Zset)),
                Event::Item(Item::ZsetEntry { member: Str::Bytes(b"a"), score: 1.0 }),
                Event::Item(Item::ZsetEntry { member: Str::Bytes(b"b"), score: 0.1 }),
                Event::Item(Item::ZsetEntry { member: Str::Bytes(b"c"), score: f64::INFINITY }),
                Event::Item(Item::ZsetEntry { member: Str::Bytes(b"d"), score: -2.5e-300 }),
                Event::KeyEnd { elements: 4 },
                Event::Key(h),
                Event::Item(Item::HashField {
                    field: Str::Bytes(b"f"),
                    value: Str::Bytes(b"v"),
                    expire_at_ms: Some(1800000000000),
                }),
                Event::Item(Item::HashField { field: Str::Bytes(b"g"), value: Str::Int(1), expire_at_ms: None }),
                Event::KeyEnd { elements: 2 },
            ],
        );
        assert_eq!(
            cmds[1..],
            [
                cmd("SADD s a 7"),
                cmd("ZADD z 1 a 0.1 b inf c -2.5e-300 d"),
                cmd("HSET h f v g 1"),
                cmd("HPEXPIREAT h 1800000000000 FIELDS 1 f"),
                cmd("PEXPIREAT h 5"),
            ]
        );
    }

    #[test]
    fn old_files_use_hmset() {
        let cmds = rebuild(
            7,
            &[
                Event::Key(info(0, b"h", ValueType::Hash)),
                Event::Item(Item::HashField { field: Str::Bytes(b"f"), value: Str::Bytes(b"v"), expire_at_ms: None }),
                Event::KeyEnd { elements: 1 },
            ],
        );
        assert_eq!(cmds[1], cmd("HMSET h f v"));
    }

    #[test]
    fn nan_score_is_an_error() {
        let mut w = RebuildWriter::new(Vec::new());
        w.write_event(&Event::Key(info(0, b"z", ValueType::Zset))).unwrap();
        let e = w.write_event(&Event::Item(Item::ZsetEntry { member: Str::Bytes(b"m"), score: f64::NAN })).unwrap_err();
        assert!(matches!(e, Error::Unrepresentable { ref key, .. } if key == "z"), "{e}");
    }

    #[test]
    fn module_values_become_restore_of_a_dump_payload() {
        let raw = b"\x81\x00\x01\x02\x03\x04\x05\x06\x07\x00";
        let mut w = RebuildWriter::new(Vec::new());
        w.write_event(&Event::Begin(Format { family: Family::Redis, version: 9 })).unwrap();
        w.write_event(&Event::Key(info(0, b"m", ValueType::Module))).unwrap();
        w.write_event(&Event::Item(Item::Module { name: "mymodule1", encver: 2, raw })).unwrap();
        w.write_event(&Event::KeyEnd { elements: 1 }).unwrap();
        let out = w.into_inner().unwrap();
        // Find the payload by hand: type 7, raw, version 9 as u16 LE, CRC64 LE.
        let mut payload = vec![7u8];
        payload.extend_from_slice(raw);
        payload.extend_from_slice(&[9, 0]);
        let crc = rdb::crc64::crc64(&payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        let mut want = Vec::new();
        push_command(&mut want, &[b"SELECT", b"0"]);
        push_command(&mut want, &[b"RESTORE", b"m", b"0", &payload, b"REPLACE"]);
        assert_eq!(out, want);
        // Redis' documented DUMP check value for the CRC (crc64 of "123456789").
        assert_eq!(rdb::crc64::crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn scripts_from_old_files_are_loaded() {
        let cmds = rebuild(9, &[Event::Aux { key: Str::Bytes(b"lua"), value: Str::Bytes(b"return 1") }]);
        assert_eq!(cmds, vec![vec!["SCRIPT".to_owned(), "LOAD".into(), "return 1".into()]]);
    }

    #[test]
    fn abort_keeps_only_whole_commands() {
        let mut w = RebuildWriter::new(Vec::new());
        w.write_event(&Event::Key(info(0, b"l", ValueType::List))).unwrap();
        w.write_event(&Event::Item(Item::ListElement(Str::Bytes(b"a")))).unwrap();
        w.abort().unwrap();
        assert_eq!(parse_resp(w.get_ref()), vec![cmd("SELECT 0")]);
    }

    /// A Redis 7.0 stream (RDB 10) for a 6.2 target (RDB 9): without the 7.0-only options.
    #[test]
    fn a_target_limits_the_commands_to_what_it_knows() {
        let id = |ms| StreamId { ms, seq: 0 };
        let meta = StreamMeta {
            length: 0,
            last_id: id(5),
            first_id: id(0),
            max_deleted_id: id(5),
            entries_added: 3,
            groups: 1,
        };
        let events = [
            Event::Begin(Format { family: Family::Redis, version: 10 }),
            Event::Key(info(0, b"st", ValueType::Stream)),
            Event::Item(Item::StreamMeta(meta)),
            Event::Item(Item::StreamGroup {
                name: Str::Bytes(b"g"),
                last_id: id(5),
                entries_read: Some(3),
                pending: 0,
            }),
            Event::KeyEnd { elements: 0 },
        ];
        let run = |target: Option<Format>| {
            let mut w = RebuildWriter::new(Vec::new());
            if let Some(t) = target {
                w = w.target(t);
            }
            events.iter().for_each(|ev| w.write_event(ev).unwrap());
            parse_resp(&w.into_inner().unwrap())
        };
        let to_62 = run(Some(Format { family: Family::Redis, version: 9 }));
        assert_eq!(to_62[2], cmd("XSETID st 5-0"));
        assert_eq!(to_62[3], cmd("XGROUP CREATE st g 5-0"));
        let unknown = run(None);
        assert_eq!(unknown[2], cmd("XSETID st 5-0 ENTRIESADDED 3 MAXDELETEDID 5-0"));
        assert_eq!(unknown[3], cmd("XGROUP CREATE st g 5-0 ENTRIESREAD 3"));
        let to_valkey9 = run(Some(Format { family: Family::Valkey, version: 80 }));
        assert_eq!(to_valkey9, unknown, "Valkey 9 has every RDB 10 feature");
    }
}
