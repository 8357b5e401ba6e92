//! One JSON line per key with its size in the file: the raw material for "which keys take the
//! space" questions, without the values.
//!
//! `size` is the number of bytes the key occupies in the RDB, from its first prefix opcode
//! (expiry, LRU/LFU) through the end of its value, as the parser's offsets measure it. It is the
//! serialized size, not the server's memory use, which depends on the server's encodings.

use std::io::Write;

use rdb::{Event, KeyInfo};

use crate::commit_buffer::CommitBuffer;
use crate::error::Result;
use crate::json_str::*;
use crate::sink::EventSink;

/// Writes `{"db":0,"key":..,"type":..,"encoding":..,"expire_at_ms":..,"elements":N,"size":BYTES}`
/// per key.
pub struct KeysWriter<W: Write> {
    out: CommitBuffer<W>,
    /// The current key's line up to `"elements":`, completed at its end.
    head: Vec<u8>,
    start_offset: u64,
    in_key: bool,
}

impl<W: Write> KeysWriter<W> {
    pub fn new(w: W) -> Self {
        KeysWriter { out: CommitBuffer::new(w), head: Vec::new(), start_offset: 0, in_key: false }
    }

    /// Handles one event; `offset` is the parser's offset just after it (used at `KeyEnd`).
    pub fn write_event(&mut self, ev: &Event<'_>, offset: u64) -> Result<()> {
        match ev {
            Event::Key(info) => self.begin_key(info),
            // The decoder counts elements as a user does: list/set members, zset/hash pairs,
            // stream entries (not groups or consumers), 1 for a string or module value.
            Event::KeyEnd { elements } if self.in_key => {
                self.in_key = false;
                let buf = &mut self.out.buf;
                buf.extend_from_slice(&self.head);
                write_u64(buf, *elements);
                buf.extend_from_slice(b",\"size\":");
                write_u64(buf, offset.saturating_sub(self.start_offset));
                buf.extend_from_slice(b"}\n");
                self.out.commit()?;
            }
            _ => {}
        }
        Ok(())
    }

    fn begin_key(&mut self, info: &KeyInfo<'_>) {
        let h = &mut self.head;
        h.clear();
        h.push(b'{');
        write_key_fields(h, info);
        h.extend_from_slice(b",\"elements\":");
        self.start_offset = info.offset;
        self.in_key = true;
    }

    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    pub fn into_inner(mut self) -> Result<W> {
        self.out.flush()?;
        Ok(self.out.into_inner())
    }
}

impl<W: Write> EventSink for KeysWriter<W> {
    fn event(&mut self, ev: &Event<'_>, offset: u64) -> Result<()> {
        self.write_event(ev, offset)
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }

    fn abort(&mut self) -> Result<()> {
        self.in_key = false;
        self.out.abort()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdb::Item;
    use rdb::{Encoding, Str, ValueType};
    use serde_json::json;

    #[test]
    fn one_line_per_key_with_its_size() {
        let mut w = KeysWriter::new(Vec::new());
        let mut info = KeyInfo {
            db: 1,
            key: Str::Bytes(b"h"),
            value_type: ValueType::Hash,
            encoding: Encoding::Listpack,
            type_byte: 16,
            expire_at_ms: Some(1700000000000),
            idle_s: None,
            freq: None,
            len_hint: None,
            offset: 100,
        };
        w.write_event(&Event::Key(info), 110).unwrap();
        for f in [b"a", b"b"] {
            let item = Item::HashField { field: Str::Bytes(f), value: Str::Int(1), expire_at_ms: None };
            w.write_event(&Event::Item(item), 140).unwrap();
        }
        w.write_event(&Event::KeyEnd { elements: 2 }, 150).unwrap();
        info.key = Str::Int(12);
        info.value_type = ValueType::String;
        info.encoding = Encoding::Int;
        info.expire_at_ms = None;
        info.offset = 150;
        w.write_event(&Event::Key(info), 152).unwrap();
        w.write_event(&Event::Item(Item::String(Str::Int(5))), 154).unwrap();
        w.write_event(&Event::KeyEnd { elements: 1 }, 154).unwrap();
        w.finish().unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            lines,
            [
                json!({"db":1,"key":"h","type":"hash","encoding":"listpack","expire_at_ms":1700000000000u64,"elements":2,"size":50}),
                json!({"db":1,"key":"12","type":"string","encoding":"int","expire_at_ms":null,"elements":1,"size":4}),
            ]
        );
        // Field order is part of the format.
        assert!(out.starts_with(r#"{"db":1,"key":"h","type":"hash","encoding":"listpack","expire_at_ms":1700000000000,"elements":2,"size":50}"#));
    }
}
