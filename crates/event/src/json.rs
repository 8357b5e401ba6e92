//! The event contract's JSON Lines form (docs/events.md, version 1).
//!
//! Values are written element by element straight into the output buffer as the decoder
//! emits them; nothing collects a key's value first. A value with more elements than the
//! chunk size is split into several `key` lines ("parts"), so one line (and so the buffer, which
//! only writes whole lines) stays small however large the key is. Whether a part is the last
//! one is only known when the next element (or the key's end) arrives, so each part is closed
//! lazily.

use std::io::Write;

use rdb::{Checksum, Event, Family, Item, KeyInfo, StreamMeta, ValueType};

use crate::commit_buffer::CommitBuffer;
use crate::error::Result;
use crate::json_str::*;
use crate::sink::EventSink;

/// How large one `key` line may grow before the value continues in the next part.
#[derive(Debug, Clone, Copy)]
pub struct JsonOptions {
    /// Elements per part (list/set elements, zset or hash pairs, stream entries).
    pub chunk_elements: usize,
    /// Approximate bytes of JSON per part; a part is closed at the first element boundary
    /// past it.
    pub chunk_bytes: usize,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions { chunk_elements: 1024, chunk_bytes: 1 << 20 }
    }
}

/// Where the writer is inside a stream value; the JSON nesting follows the decoder's order:
/// entries, metadata, then per group its pending list and its consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamPos {
    Entries,
    /// Inside `"groups":[`, between groups.
    Groups,
    /// Inside a group's `"pending":[`.
    GroupPending,
    /// Inside a consumer's `"pending":[`.
    ConsumerPending,
}

/// The key being written.
struct OpenKey {
    value_type: ValueType,
    /// Index of the current part.
    part: u64,
    elements_in_part: usize,
    /// Buffer position where the current part's value starts, to measure its size.
    part_start: usize,
    /// Whether the innermost open JSON array already has an element.
    need_comma: bool,
    /// Whether the value was written (strings and modules have exactly one item).
    has_value: bool,
    stream: StreamPos,
}

/// Writes events as JSON lines to `W`.
pub struct JsonWriter<W: Write> {
    /// Shared with the live events' writer (`live_json`), so both kinds go through one buffer.
    pub(crate) out: CommitBuffer<W>,
    opts: JsonOptions,
    keys: u64,
    /// The current key's line up to and including `"value":`, repeated on every part.
    key_head: Vec<u8>,
    key: Option<OpenKey>,
    /// The replid part of `command` lines, made once per replid (`live_json`).
    pub(crate) replid_json: crate::live_json::ReplidJson,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(w: W) -> Self {
        Self::with_options(w, JsonOptions::default())
    }

    pub fn with_options(w: W, opts: JsonOptions) -> Self {
        let opts = JsonOptions { chunk_elements: opts.chunk_elements.max(1), chunk_bytes: opts.chunk_bytes.max(1) };
        JsonWriter {
            out: CommitBuffer::new(w),
            opts,
            keys: 0,
            key_head: Vec::new(),
            key: None,
            replid_json: Default::default(),
        }
    }

    /// Keys written so far (the `end` event's `keys`).
    pub fn keys(&self) -> u64 {
        self.keys
    }

    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    /// Writes out the whole lines still buffered (call [`EventSink::finish`] first to end
    /// the output) and returns the writer.
    pub fn into_inner(mut self) -> Result<W> {
        self.out.flush()?;
        Ok(self.out.into_inner())
    }

    /// Writes whatever `ev` contributes to the output. Events that the contract does not
    /// carry (SELECTDB, RESIZEDB, slot records) write nothing.
    pub fn write_event(&mut self, ev: &Event<'_>) -> Result<()> {
        let buf = &mut self.out.buf;
        match ev {
            Event::Begin(format) => {
                // `follow` can write a second snapshot after a `resync`; its `end` counts its own keys.
                self.keys = 0;
                buf.extend_from_slice(b"{\"event\":\"begin\",\"format\":");
                write_plain(buf, if format.family == Family::Valkey { "valkey" } else { "redis" });
                buf.extend_from_slice(b",\"rdb_version\":");
                write_u64(buf, u64::from(format.version));
                buf.extend_from_slice(b"}\n");
            }
            Event::Aux { key, value } => {
                buf.extend_from_slice(b"{\"event\":\"aux\",\"name\":");
                write_str(buf, *key);
                buf.extend_from_slice(b",\"value\":");
                write_str(buf, *value);
                buf.extend_from_slice(b"}\n");
            }
            Event::Function { code } => {
                buf.extend_from_slice(b"{\"event\":\"function\",\"code\":");
                write_str(buf, *code);
                buf.extend_from_slice(b"}\n");
            }
            Event::FunctionPreGa { name, engine, description, code } => {
                buf.extend_from_slice(b"{\"event\":\"function\",\"code\":");
                write_str(buf, *code);
                buf.extend_from_slice(b",\"name\":");
                write_str(buf, *name);
                buf.extend_from_slice(b",\"engine\":");
                write_str(buf, *engine);
                buf.extend_from_slice(b",\"description\":");
                match description {
                    Some(d) => write_str(buf, *d),
                    None => buf.extend_from_slice(b"null"),
                }
                buf.extend_from_slice(b"}\n");
            }
            Event::ModuleAux { name, encver, when, raw } => {
                buf.extend_from_slice(b"{\"event\":\"module_aux\",\"module\":");
                write_bytes(buf, name.as_bytes());
                buf.extend_from_slice(b",\"encver\":");
                write_u64(buf, u64::from(*encver));
                buf.extend_from_slice(b",\"when\":");
                // REDISMODULE_AUX_BEFORE_RDB is 1, REDISMODULE_AUX_AFTER_RDB is 2.
                match when {
                    1 => write_plain(buf, "before"),
                    2 => write_plain(buf, "after"),
                    other => write_u64(buf, *other),
                }
                buf.extend_from_slice(b",\"raw\":");
                write_base64(buf, raw);
                buf.extend_from_slice(b"}\n");
            }
            Event::Key(info) => {
                self.begin_key(info);
                return Ok(()); // the line is not whole yet
            }
            Event::Item(item) => return self.item(item),
            Event::KeyEnd { .. } => self.end_key(),
            Event::End { checksum } => {
                buf.extend_from_slice(b"{\"event\":\"end\",\"checksum\":");
                let (name, crc) = match checksum {
                    Checksum::Verified(c) => ("verified", Some(*c)),
                    Checksum::Disabled => ("disabled", Some(0)),
                    Checksum::Absent => ("absent", None),
                    Checksum::Unchecked(c) => ("unchecked", Some(*c)),
                };
                write_plain(buf, name);
                buf.extend_from_slice(b",\"crc64\":");
                match crc {
                    Some(c) => {
                        buf.push(b'"');
                        push_hex16(buf, c);
                        buf.push(b'"');
                    }
                    None => buf.extend_from_slice(b"null"),
                }
                buf.extend_from_slice(b",\"keys\":");
                write_u64(buf, self.keys);
                buf.extend_from_slice(b"}\n");
            }
            // The contract carries values as elements; the raw form is for RESTORE writers.
            Event::SelectDb(_)
            | Event::ResizeDb { .. }
            | Event::SlotInfo { .. }
            | Event::SlotImport { .. }
            | Event::RawValue(_) => return Ok(()),
        }
        self.out.commit()?;
        Ok(())
    }

    fn begin_key(&mut self, info: &KeyInfo<'_>) {
        let h = &mut self.key_head;
        h.clear();
        h.extend_from_slice(b"{\"event\":\"key\",");
        write_key_fields(h, info);
        h.extend_from_slice(b",\"idle_s\":");
        write_opt_u64(h, info.idle_s);
        h.extend_from_slice(b",\"freq\":");
        write_opt_u64(h, info.freq.map(u64::from));
        h.extend_from_slice(b",\"value\":");
        self.keys += 1;
        self.key = Some(OpenKey {
            value_type: info.value_type,
            part: 0,
            elements_in_part: 0,
            part_start: 0,
            need_comma: false,
            has_value: false,
            stream: StreamPos::Entries,
        });
        self.open_part();
    }

    /// Starts a `key` line: the repeated fields, then the value's opening.
    fn open_part(&mut self) {
        let buf = &mut self.out.buf;
        let Some(k) = self.key.as_mut() else { return };
        buf.extend_from_slice(&self.key_head);
        match k.value_type {
            ValueType::String | ValueType::Module => {}
            ValueType::Stream => buf.extend_from_slice(b"{\"entries\":["),
            _ => buf.push(b'['),
        }
        k.part_start = buf.len();
        k.elements_in_part = 0;
        k.need_comma = false;
    }

    /// Before a chunkable element: closes the current part if it is full and opens the next.
    /// Inlined into the element loops, with the rare part change kept out of line.
    #[inline(always)]
    fn element_slot(&mut self) -> Result<()> {
        let Some(k) = self.key.as_mut() else { return Ok(()) };
        let full = k.elements_in_part >= self.opts.chunk_elements
            || self.out.buf.len() - k.part_start >= self.opts.chunk_bytes;
        if full && k.elements_in_part > 0 {
            self.next_part()?;
        }
        let k = self.key.as_mut().expect("inside a key");
        k.elements_in_part += 1;
        if k.need_comma {
            self.out.buf.push(b',');
        }
        k.need_comma = true;
        Ok(())
    }

    /// Closes the current part (a whole line) and opens the next.
    #[inline(never)]
    fn next_part(&mut self) -> Result<()> {
        let k = self.key.as_mut().expect("inside a key");
        let buf = &mut self.out.buf;
        buf.extend_from_slice(if k.value_type == ValueType::Stream { b"]}" } else { b"]" });
        buf.extend_from_slice(b",\"part\":");
        write_u64(buf, k.part);
        buf.extend_from_slice(b",\"more\":true}\n");
        k.part += 1;
        // A whole line, which may go out now: this keeps the buffer near one part's size.
        self.out.commit()?;
        self.open_part();
        Ok(())
    }

    /// Writes a separator for a non-chunked array element (stream groups and their lists).
    fn comma(&mut self) {
        let k = self.key.as_mut().expect("inside a key");
        if k.need_comma {
            self.out.buf.push(b',');
        }
        k.need_comma = true;
    }

    fn item(&mut self, item: &Item<'_>) -> Result<()> {
        if self.key.is_none() {
            return Ok(()); // an item outside a key cannot come from the decoder
        }
        match item {
            Item::String(s) => {
                write_str(&mut self.out.buf, *s);
                self.key.as_mut().unwrap().has_value = true;
            }
            Item::ListElement(_)
            | Item::SetMember(_)
            | Item::ZsetEntry { .. }
            | Item::HashField { .. }
            | Item::StreamEntry { .. } => {
                self.element_slot()?;
                write_element(&mut self.out.buf, item);
            }
            Item::StreamMeta(meta) => self.stream_meta(meta),
            Item::StreamGroup { name, last_id, entries_read, .. } => {
                self.close_group();
                self.comma();
                let buf = &mut self.out.buf;
                buf.extend_from_slice(b"{\"name\":");
                write_str(buf, *name);
                buf.extend_from_slice(b",\"last_id\":");
                write_stream_id(buf, *last_id);
                buf.extend_from_slice(b",\"entries_read\":");
                write_opt_u64(buf, *entries_read);
                buf.extend_from_slice(b",\"pending\":[");
                let k = self.key.as_mut().unwrap();
                k.stream = StreamPos::GroupPending;
                k.need_comma = false;
            }
            Item::StreamPending { id, delivery_time_ms, delivery_count } => {
                self.comma();
                let buf = &mut self.out.buf;
                buf.extend_from_slice(b"{\"id\":");
                write_stream_id(buf, *id);
                buf.extend_from_slice(b",\"delivery_time_ms\":");
                write_i64(buf, *delivery_time_ms);
                buf.extend_from_slice(b",\"delivery_count\":");
                write_u64(buf, *delivery_count);
                buf.push(b'}');
            }
            Item::StreamConsumer { name, seen_time_ms, active_time_ms, .. } => {
                let k = self.key.as_mut().unwrap();
                match k.stream {
                    StreamPos::GroupPending => {
                        self.out.buf.extend_from_slice(b"],\"consumers\":[");
                        k.need_comma = false;
                    }
                    StreamPos::ConsumerPending => {
                        self.out.buf.extend_from_slice(b"]}");
                        k.need_comma = true;
                    }
                    _ => {}
                }
                self.comma();
                let buf = &mut self.out.buf;
                buf.extend_from_slice(b"{\"name\":");
                write_str(buf, *name);
                buf.extend_from_slice(b",\"seen_time_ms\":");
                write_i64(buf, *seen_time_ms);
                buf.extend_from_slice(b",\"active_time_ms\":");
                write_i64(buf, *active_time_ms);
                buf.extend_from_slice(b",\"pending\":[");
                let k = self.key.as_mut().unwrap();
                k.stream = StreamPos::ConsumerPending;
                k.need_comma = false;
            }
            Item::StreamConsumerPending { id } => {
                self.comma();
                write_stream_id(&mut self.out.buf, *id);
            }
            Item::Module { name, encver, raw } => {
                let buf = &mut self.out.buf;
                buf.extend_from_slice(b"{\"module\":");
                write_bytes(buf, name.as_bytes());
                buf.extend_from_slice(b",\"encver\":");
                write_u64(buf, u64::from(*encver));
                buf.extend_from_slice(b",\"raw\":");
                write_base64(buf, raw);
                buf.push(b'}');
                self.key.as_mut().unwrap().has_value = true;
            }
        }
        Ok(())
    }

    /// The stream's metadata ends the entries and opens the groups; both belong to the last
    /// part, which this is, since no entry follows.
    fn stream_meta(&mut self, m: &StreamMeta) {
        let buf = &mut self.out.buf;
        buf.extend_from_slice(b"],\"length\":");
        write_u64(buf, m.length);
        buf.extend_from_slice(b",\"last_id\":");
        write_stream_id(buf, m.last_id);
        buf.extend_from_slice(b",\"first_id\":");
        write_stream_id(buf, m.first_id);
        buf.extend_from_slice(b",\"max_deleted_id\":");
        write_stream_id(buf, m.max_deleted_id);
        buf.extend_from_slice(b",\"entries_added\":");
        write_u64(buf, m.entries_added);
        buf.extend_from_slice(b",\"groups\":[");
        let k = self.key.as_mut().unwrap();
        k.stream = StreamPos::Groups;
        k.need_comma = false;
    }

    /// Closes the open consumer group, if any, leaving the writer between groups.
    fn close_group(&mut self) {
        let Some(k) = self.key.as_mut() else { return };
        match k.stream {
            StreamPos::GroupPending => self.out.buf.extend_from_slice(b"],\"consumers\":[]}"),
            StreamPos::ConsumerPending => self.out.buf.extend_from_slice(b"]}]}"),
            StreamPos::Entries | StreamPos::Groups => return,
        }
        k.stream = StreamPos::Groups;
        k.need_comma = true;
    }

    fn end_key(&mut self) {
        self.close_group();
        let Some(k) = self.key.take() else { return };
        let buf = &mut self.out.buf;
        match k.value_type {
            ValueType::String | ValueType::Module => {
                if !k.has_value {
                    buf.extend_from_slice(b"null");
                }
            }
            ValueType::Stream => buf.extend_from_slice(b"]}"),
            _ => buf.push(b']'),
        }
        if k.part > 0 {
            buf.extend_from_slice(b",\"part\":");
            write_u64(buf, k.part);
            buf.extend_from_slice(b",\"more\":false");
        }
        buf.extend_from_slice(b"}\n");
    }
}

/// Writes one element of a collection's value (its place in the part already taken by
/// `element_slot`): the same for elements that come one event at a time and in batches.
#[inline(always)]
fn write_element(buf: &mut Vec<u8>, item: &Item<'_>) {
    match item {
        Item::ListElement(s) | Item::SetMember(s) => write_str(buf, *s),
        Item::ZsetEntry { member, score } => {
            buf.push(b'[');
            write_str(buf, *member);
            buf.push(b',');
            write_score(buf, *score);
            buf.push(b']');
        }
        Item::HashField { field, value, expire_at_ms } => {
            buf.push(b'[');
            write_str(buf, *field);
            buf.push(b',');
            write_str(buf, *value);
            if let Some(ms) = expire_at_ms {
                buf.push(b',');
                write_i64(buf, *ms);
            }
            buf.push(b']');
        }
        Item::StreamEntry { id, fields } => {
            buf.extend_from_slice(b"{\"id\":");
            write_stream_id(buf, *id);
            buf.extend_from_slice(b",\"fields\":[");
            for (i, (f, v)) in fields.clone().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.push(b'[');
                write_str(buf, f);
                buf.push(b',');
                write_str(buf, v);
                buf.push(b']');
            }
            buf.extend_from_slice(b"]}");
        }
        // Not elements: `item` writes these itself.
        _ => {}
    }
}

/// Appends `v` as 16 lowercase hex digits.
fn push_hex16(buf: &mut Vec<u8>, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..16).rev() {
        buf.push(HEX[((v >> (i * 4)) & 15) as usize]);
    }
}

impl<W: Write> EventSink for JsonWriter<W> {
    fn event(&mut self, ev: &Event<'_>, _offset: u64) -> Result<()> {
        self.write_event(ev)
    }

    /// Batched items are all elements of the open key (list, set, zset, hash, stream entries),
    /// so each needs only its slot and its body.
    fn items(&mut self, items: rdb::ReadyItems<'_>) -> Result<()> {
        if self.key.is_none() {
            return Ok(());
        }
        for item in items {
            self.element_slot()?;
            write_element(&mut self.out.buf, &item);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.out.commit()?;
        self.out.flush()?;
        Ok(())
    }

    fn abort(&mut self) -> Result<()> {
        self.key = None;
        self.out.abort()?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rdb::{Encoding, Format, Str};
    use serde_json::{json, Value};

    pub(crate) fn key_info(key: &[u8], value_type: ValueType, encoding: Encoding) -> KeyInfo<'_> {
        crate::test_support::key_info(0, Str::Bytes(key), value_type, encoding)
    }

    fn write(opts: JsonOptions, events: &[Event<'_>]) -> String {
        let mut w = JsonWriter::with_options(Vec::new(), opts);
        for ev in events {
            w.write_event(ev).unwrap();
        }
        w.finish().unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    fn parse(out: &str) -> Vec<Value> {
        assert!(out.ends_with('\n'));
        out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
    }

    #[test]
    fn header_and_trailer_events_match_the_contract() {
        let out = write(
            JsonOptions::default(),
            &[
                Event::Begin(Format { family: Family::Redis, version: 12 }),
                Event::Aux { key: Str::Bytes(b"redis-ver"), value: Str::Bytes(b"7.4.1") },
                Event::Aux { key: Str::Bytes(b"ctime"), value: Str::Int(1700000000) },
                Event::SelectDb(0),
                Event::ResizeDb { db_size: 1, expires_size: 0 },
                Event::Function { code: Str::Bytes(b"#!lua name=mylib\nredis.register_function(...)") },
                Event::FunctionPreGa {
                    name: Str::Bytes(b"mylib"),
                    engine: Str::Bytes(b"LUA"),
                    description: None,
                    code: Str::Bytes(b"return 1"),
                },
                Event::ModuleAux { name: "ReJSON-RL", encver: 3, when: 2, raw: b"\x02\x01\x00" },
                Event::End { checksum: Checksum::Verified(0xc7ba2bf1e4a4d5f3) },
                Event::End { checksum: Checksum::Disabled },
                Event::End { checksum: Checksum::Absent },
                Event::End { checksum: Checksum::Unchecked(1) },
            ],
        );
        let want = [
            r#"{"event":"begin","format":"redis","rdb_version":12}"#,
            r#"{"event":"aux","name":"redis-ver","value":"7.4.1"}"#,
            r#"{"event":"aux","name":"ctime","value":"1700000000"}"#,
            r##"{"event":"function","code":"#!lua name=mylib\nredis.register_function(...)"}"##,
            r#"{"event":"function","code":"return 1","name":"mylib","engine":"LUA","description":null}"#,
            r#"{"event":"module_aux","module":"ReJSON-RL","encver":3,"when":"after","raw":{"base64":"AgEA"}}"#,
            r#"{"event":"end","checksum":"verified","crc64":"c7ba2bf1e4a4d5f3","keys":0}"#,
            r#"{"event":"end","checksum":"disabled","crc64":"0000000000000000","keys":0}"#,
            r#"{"event":"end","checksum":"absent","crc64":null,"keys":0}"#,
            r#"{"event":"end","checksum":"unchecked","crc64":"0000000000000001","keys":0}"#,
        ];
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
        parse(&out);
    }

    #[test]
    fn hash_key_matches_the_contract_example() {
        let info = key_info(b"user:1", ValueType::Hash, Encoding::Listpack);
        let out = write(
            JsonOptions::default(),
            &[
                Event::Key(info),
                Event::Item(Item::HashField {
                    field: Str::Bytes(b"name"),
                    value: Str::Bytes(b"Ada"),
                    expire_at_ms: None,
                }),
                Event::Item(Item::HashField { field: Str::Bytes(b"age"), value: Str::Int(36), expire_at_ms: None }),
                Event::KeyEnd { elements: 2 },
            ],
        );
        assert_eq!(
            out,
            "{\"event\":\"key\",\"db\":0,\"key\":\"user:1\",\"type\":\"hash\",\"encoding\":\"listpack\",\"expire_at_ms\":null,\"idle_s\":null,\"freq\":null,\"value\":[[\"name\",\"Ada\"],[\"age\",\"36\"]]}\n"
        );
    }

    #[test]
    fn every_plain_type() {
        let mut s = key_info(b"\xffbin", ValueType::String, Encoding::Lzf);
        s.db = 3;
        s.expire_at_ms = Some(1700000000123);
        s.idle_s = Some(7);
        let mut z = key_info(b"z", ValueType::Zset, Encoding::Skiplist2);
        z.freq = Some(5);
        let out = write(
            JsonOptions::default(),
            &[
                Event::Key(s),
                Event::Item(Item::String(Str::Bytes(b"tab\there"))),
                Event::KeyEnd { elements: 1 },
                Event::Key(key_info(b"l", ValueType::List, Encoding::Quicklist2)),
                Event::Item(Item::ListElement(Str::Bytes(b"a"))),
                Event::Item(Item::ListElement(Str::Int(-5))),
                Event::KeyEnd { elements: 2 },
                Event::Key(key_info(b"s", ValueType::Set, Encoding::Intset)),
                Event::Item(Item::SetMember(Str::Int(1))),
                Event::KeyEnd { elements: 1 },
                Event::Key(z),
                Event::Item(Item::ZsetEntry { member: Str::Bytes(b"a"), score: 1.5 }),
                Event::Item(Item::ZsetEntry { member: Str::Bytes(b"b"), score: f64::NEG_INFINITY }),
                Event::Item(Item::ZsetEntry { member: Str::Bytes(b"c"), score: f64::NAN }),
                Event::KeyEnd { elements: 3 },
                Event::Key(key_info(b"h", ValueType::Hash, Encoding::ListpackEx)),
                Event::Item(Item::HashField {
                    field: Str::Bytes(b"f"),
                    value: Str::Bytes(b"v"),
                    expire_at_ms: Some(1800000000000),
                }),
                Event::Item(Item::HashField { field: Str::Bytes(b"g"), value: Str::Bytes(b"w"), expire_at_ms: None }),
                Event::KeyEnd { elements: 2 },
                Event::Key(key_info(b"m", ValueType::Module, Encoding::Module2)),
                Event::Item(Item::Module { name: "mymodule1", encver: 2, raw: b"\x00\x01" }),
                Event::KeyEnd { elements: 1 },
                Event::End { checksum: Checksum::Absent },
            ],
        );
        let lines = parse(&out);
        assert_eq!(
            lines[0],
            json!({"event":"key","db":3,"key":{"base64":"/2Jpbg=="},"type":"string","encoding":"lzf",
                   "expire_at_ms":1700000000123u64,"idle_s":7,"freq":null,"value":"tab\there"})
        );
        assert_eq!(lines[1]["value"], json!(["a", "-5"]));
        assert_eq!(lines[1]["encoding"], "quicklist2");
        assert_eq!(lines[2]["value"], json!(["1"]));
        assert_eq!(lines[3]["value"], json!([["a", 1.5], ["b", "-inf"], ["c", "nan"]]));
        assert_eq!(lines[3]["freq"], 5);
        assert_eq!(lines[4]["value"], json!([["f", "v", 1800000000000u64], ["g", "w"]]));
        assert_eq!(lines[5]["value"], json!({"module":"mymodule1","encver":2,"raw":{"base64":"AAE="}}));
        assert_eq!(lines[6], json!({"event":"end","checksum":"absent","crc64":null,"keys":6}));
        for l in &lines[..6] {
            assert!(l.get("part").is_none() && l.get("more").is_none());
        }
    }

    fn list_events(n: usize) -> Vec<Event<'static>> {
        let mut evs = vec![Event::Key(key_info(b"big", ValueType::List, Encoding::Quicklist2))];
        for i in 0..n {
            evs.push(Event::Item(Item::ListElement(Str::Int(i as i64))));
        }
        evs.push(Event::KeyEnd { elements: n as u64 });
        evs
    }

    #[test]
    fn large_values_come_in_parts() {
        let opts = JsonOptions { chunk_elements: 2, ..JsonOptions::default() };
        let lines = parse(&write(opts, &list_events(5)));
        assert_eq!(lines.len(), 3);
        let mut all = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l["part"], i);
            assert_eq!(l["more"], i < 2);
            assert_eq!(l["key"], "big");
            assert_eq!(l["type"], "list");
            all.extend(l["value"].as_array().unwrap().iter().cloned());
        }
        assert_eq!(all, (0..5).map(|i| json!(i.to_string())).collect::<Vec<_>>());
        // `part` and `more` follow `value`, in this order.
        let text = write(opts, &list_events(3));
        let first = text.lines().next().unwrap();
        assert!(first.ends_with(r#""value":["0","1"],"part":0,"more":true}"#), "{first}");
    }

    #[test]
    fn a_value_of_exactly_one_chunk_has_no_part_fields() {
        let opts = JsonOptions { chunk_elements: 4, ..JsonOptions::default() };
        let lines = parse(&write(opts, &list_events(4)));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].get("part").is_none());
        assert_eq!(lines[0]["value"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn parts_are_also_bounded_in_bytes() {
        let big = vec![b'x'; 1000];
        let mut evs = vec![Event::Key(key_info(b"s", ValueType::Set, Encoding::Hashtable))];
        for _ in 0..10 {
            evs.push(Event::Item(Item::SetMember(Str::Bytes(&big))));
        }
        evs.push(Event::KeyEnd { elements: 10 });
        let lines = parse(&write(JsonOptions { chunk_elements: 1024, chunk_bytes: 2500 }, &evs));
        let sizes: Vec<usize> = lines.iter().map(|l| l["value"].as_array().unwrap().len()).collect();
        assert_eq!(sizes, [3, 3, 3, 1]);
    }

    #[test]
    fn abort_drops_the_unfinished_line() {
        let mut w = JsonWriter::new(Vec::new());
        w.write_event(&Event::Begin(Format { family: Family::Valkey, version: 80 })).unwrap();
        for ev in &list_events(3)[..3] {
            w.write_event(ev).unwrap();
        }
        w.abort().unwrap();
        assert_eq!(w.get_ref(), b"{\"event\":\"begin\",\"format\":\"valkey\",\"rdb_version\":80}\n");
    }
}
