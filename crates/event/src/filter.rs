//! Choosing keys: by database, key pattern and type; and, for `redtail follow`, commands (see
//! `command_filter`, which also filters the live events through [`FilteredSink`]).
//!
//! The decoder still reads every key (an RDB has no index to seek with), but a skipped key's
//! events go nowhere, so a filter makes output cheaper, never input.

use rdb::{Event, KeyInfo, Str, ValueType};

use crate::error::Result;
use crate::glob::glob_match;
use crate::sink::EventSink;

/// Which keys and commands to keep. Each non-empty list must accept the key or command
/// (logical AND across kinds); within a kind any entry may (OR), and key globs and regexes
/// together form one kind.
///
/// `dbs`, `key_globs` and `key_regexes` apply to snapshot keys and to commands (by the keys
/// they touch); `types` to snapshot keys only (a command does not say the type of its key);
/// `commands` and `exclude_commands` to commands only. See [`Filter::accepts_command`].
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub dbs: Vec<u64>,
    /// Redis glob patterns (see [`crate::glob`]).
    pub key_globs: Vec<Vec<u8>>,
    /// Regexes over the key's bytes, unanchored like `grep`.
    pub key_regexes: Vec<regex::bytes::Regex>,
    pub types: Vec<ValueType>,
    /// Command names to keep (any case); empty keeps all but `PING` and `REPLCONF`.
    pub commands: Vec<Vec<u8>>,
    /// Command names to drop (any case), applied after `commands`.
    pub exclude_commands: Vec<Vec<u8>>,
}

impl Filter {
    /// True when the filter keeps everything, so callers can skip the wrapper.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
            && self.key_globs.is_empty()
            && self.key_regexes.is_empty()
            && self.types.is_empty()
            && self.commands.is_empty()
            && self.exclude_commands.is_empty()
    }

    /// Whether any key pattern is set (a keyless command then never passes).
    pub(crate) fn has_key_patterns(&self) -> bool {
        !self.key_globs.is_empty() || !self.key_regexes.is_empty()
    }

    /// Whether a key matches a glob or a regex (call only when [`Filter::has_key_patterns`]).
    pub(crate) fn key_matches(&self, key: &[u8]) -> bool {
        self.key_globs.iter().any(|g| glob_match(g, key)) || self.key_regexes.iter().any(|r| r.is_match(key))
    }

    pub fn accepts(&self, key: &KeyInfo<'_>) -> bool {
        if !self.dbs.is_empty() && !self.dbs.contains(&key.db) {
            return false;
        }
        if !self.types.is_empty() && !self.types.contains(&key.value_type) {
            return false;
        }
        if !self.has_key_patterns() {
            return true;
        }
        let mut digits = itoa::Buffer::new();
        let name: &[u8] = match key.key {
            Str::Bytes(b) => b,
            Str::Int(i) => digits.format(i).as_bytes(),
        };
        self.key_matches(name)
    }
}

/// Passes only the accepted keys (with their items and end) to the inner sink; every event
/// outside keys passes through.
pub struct FilteredSink<S> {
    pub(crate) filter: Filter,
    pub(crate) inner: S,
    /// Inside a rejected key: drop events through its `KeyEnd`.
    skipping: bool,
    /// The transaction whose commands are passing, and how many passed (its `exec` is dropped
    /// when none did, and otherwise counts only those).
    pub(crate) open_tx: Option<(u64, u64)>,
}

impl<S: EventSink> FilteredSink<S> {
    pub fn new(filter: Filter, inner: S) -> Self {
        FilteredSink { filter, inner, skipping: false, open_tx: None }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: EventSink> EventSink for FilteredSink<S> {
    fn event(&mut self, ev: &Event<'_>, offset: u64) -> Result<()> {
        match ev {
            Event::Key(info) => {
                self.skipping = !self.filter.accepts(info);
                if self.skipping {
                    return Ok(());
                }
            }
            Event::Item(_) if self.skipping => return Ok(()),
            Event::KeyEnd { .. } if self.skipping => {
                self.skipping = false;
                return Ok(());
            }
            _ => {}
        }
        self.inner.event(ev, offset)
    }

    fn items(&mut self, items: rdb::ReadyItems<'_>) -> Result<()> {
        if self.skipping {
            return Ok(());
        }
        self.inner.items(items)
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }

    fn abort(&mut self) -> Result<()> {
        self.inner.abort()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonWriter;
    use rdb::{Encoding, Item};

    fn info(db: u64, key: Str<'_>, value_type: ValueType) -> KeyInfo<'_> {
        crate::test_support::key_info(db, key, value_type, Encoding::Raw)
    }

    #[test]
    fn each_kind_must_accept() {
        let f = Filter {
            dbs: vec![0, 2],
            key_globs: vec![b"user:*".to_vec()],
            key_regexes: vec![regex::bytes::Regex::new("^session:[0-9]+$").unwrap()],
            types: vec![ValueType::Hash, ValueType::String],
            ..Filter::default()
        };
        assert!(f.accepts(&info(0, Str::Bytes(b"user:1"), ValueType::Hash)));
        assert!(f.accepts(&info(2, Str::Bytes(b"session:42"), ValueType::String)));
        assert!(!f.accepts(&info(1, Str::Bytes(b"user:1"), ValueType::Hash)), "db");
        assert!(!f.accepts(&info(0, Str::Bytes(b"user:1"), ValueType::List)), "type");
        assert!(!f.accepts(&info(0, Str::Bytes(b"other"), ValueType::Hash)), "key");
        assert!(!f.accepts(&info(0, Str::Bytes(b"session:4x"), ValueType::Hash)), "regex");
    }

    #[test]
    fn integer_keys_match_as_text_and_empty_filter_accepts_all() {
        let f = Filter { key_globs: vec![b"1?".to_vec()], ..Filter::default() };
        assert!(f.accepts(&info(0, Str::Int(12), ValueType::String)));
        assert!(!f.accepts(&info(0, Str::Int(123), ValueType::String)));
        assert!(Filter::default().is_empty());
        assert!(Filter::default().accepts(&info(9, Str::Bytes(b"x"), ValueType::Stream)));
    }

    #[test]
    fn rejected_keys_are_skipped_through_their_end() {
        let f = Filter { key_globs: vec![b"keep*".to_vec()], ..Filter::default() };
        let mut sink = FilteredSink::new(f, JsonWriter::new(Vec::new()));
        let events = [
            Event::Key(info(0, Str::Bytes(b"drop"), ValueType::List)),
            Event::Item(Item::ListElement(Str::Bytes(b"x"))),
            Event::KeyEnd { elements: 1 },
            Event::Key(info(0, Str::Bytes(b"keep"), ValueType::List)),
            Event::Item(Item::ListElement(Str::Bytes(b"y"))),
            Event::KeyEnd { elements: 1 },
            Event::End { checksum: rdb::Checksum::Absent },
        ];
        for ev in &events {
            sink.event(ev, 0).unwrap();
        }
        sink.finish().unwrap();
        let out = String::from_utf8(sink.into_inner().into_inner().unwrap()).unwrap();
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["key"], "keep");
        assert_eq!(lines[0]["value"], serde_json::json!(["y"]));
        assert_eq!(lines[1]["keys"], 1);
    }
}
