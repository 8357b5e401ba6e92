//! Items taken in batches (`rdb::Parser::ready_items`, what `redtail rdb` does) must give the
//! same output as the same items one event at a time: plain collections, every compact blob,
//! a stream, values split into parts inside a batch, and keys a filter drops.

mod support {
    pub mod rdb_builder;
}

use event::{EventSink, Filter, FilteredSink, JsonOptions, JsonWriter, KeysWriter, RebuildWriter};
use rdb::{Parser, Poll};
use support::rdb_builder::*;

/// Decodes `bytes` fed `chunk` bytes at a time into `sink`; returns how many batches it took.
fn drive(bytes: &[u8], chunk: usize, batched: bool, sink: &mut dyn EventSink) -> usize {
    let mut p = Parser::default();
    p.set_total_len(bytes.len() as u64);
    let (mut fed, mut batches) = (0, 0);
    loop {
        match p.poll().unwrap() {
            Poll::Event => {
                let off = p.offset();
                sink.event(&p.event(), off).unwrap();
                if batched {
                    if let Some(items) = p.ready_items() {
                        batches += 1;
                        sink.items(items).unwrap();
                    }
                }
            }
            Poll::NeedMore => {
                let n = chunk.min(bytes.len() - fed);
                assert!(n > 0, "the file is complete");
                p.feed(&bytes[fed..fed + n]);
                fed += n;
            }
            Poll::Done => break,
        }
    }
    sink.finish().unwrap();
    batches
}

fn members(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{prefix}{i}").into_bytes()).collect()
}

/// One key of every kind that comes in batches, each with more than one element.
fn file() -> Vec<u8> {
    let (list, set, fields) = (members("l", 5), members("s", 6), members("f", 4));
    let list: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
    let set: Vec<&[u8]> = set.iter().map(Vec::as_slice).collect();
    let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|f| (f.as_slice(), b"value \"quoted\"\n".as_slice())).collect();
    let zpairs: Vec<(&[u8], f64)> = set.iter().enumerate().map(|(i, m)| (*m, i as f64 * 1.5 - 2.0)).collect();
    let lp_hash =
        listpack(&[Entry::S(b"a"), Entry::I(1), Entry::S(b"b"), Entry::S(b"\xff\xfe"), Entry::S(b"c"), Entry::I(-7)]);
    let lp_zset =
        listpack(&[Entry::S(b"x"), Entry::I(3), Entry::S(b"y"), Entry::S(b"2.5"), Entry::S(b"z"), Entry::S(b"inf")]);
    let lp_list = listpack(&[Entry::S(b"p"), Entry::I(12345678901), Entry::S(b"q"), Entry::S(b"r")]);
    let mut quicklist = len(2);
    for node in [&lp_list, &listpack(&[Entry::S(b"s"), Entry::S(b"t"), Entry::I(0)])] {
        quicklist.extend(len(2)); // PACKED
        quicklist.extend(s(node));
    }
    Rdb::redis(11)
        .list(b"plain-list", &list)
        .set(b"plain-set", &set)
        .hash(b"plain-hash", &pairs)
        .zset(b"plain-zset", &zpairs)
        .key(16, b"lp-hash", &s(&lp_hash))
        .key(17, b"lp-zset", &s(&lp_zset))
        .key(18, b"quicklist", &quicklist)
        .key(11, b"intset", &s(&intset(8, &[-5, 1, 1 << 40])))
        .key(21, b"stream", &stream_value(21))
        .finish()
}

fn json(bytes: &[u8], chunk: usize, batched: bool, opts: JsonOptions) -> (String, usize) {
    let mut out = Vec::new();
    let mut w = JsonWriter::with_options(&mut out, opts);
    let batches = drive(bytes, chunk, batched, &mut w);
    drop(w);
    (String::from_utf8(out).unwrap(), batches)
}

#[test]
fn json_is_the_same_with_batches() {
    let f = file();
    for chunk in [usize::MAX, 7, 1] {
        for chunk_elements in [1024, 2] {
            let opts = JsonOptions { chunk_elements, ..JsonOptions::default() };
            let (one_by_one, none) = json(&f, chunk, false, opts);
            let (batched, batches) = json(&f, chunk, true, opts);
            assert_eq!(none, 0);
            assert_eq!(batched, one_by_one, "chunk {chunk}, {chunk_elements} elements per part");
            if chunk == usize::MAX {
                // A batch after the first element of every key, and of the quicklist's second node.
                assert_eq!(batches, 10, "{batched}");
            }
        }
    }
    // Parts split inside a batch as they do one event at a time.
    let (two_per_part, _) = json(&f, usize::MAX, true, JsonOptions { chunk_elements: 2, ..JsonOptions::default() });
    assert!(two_per_part.contains(r#""key":"plain-set""#) && two_per_part.contains(r#""part":2,"more":true"#));
}

/// Every event it is handed, in order (items through the default batch handling).
#[derive(Default)]
struct Record(Vec<String>);

impl EventSink for Record {
    fn event(&mut self, ev: &rdb::Event<'_>, offset: u64) -> event::Result<()> {
        self.0.push(format!("{ev:?} @{offset}"));
        Ok(())
    }
    fn finish(&mut self) -> event::Result<()> {
        Ok(())
    }
    fn abort(&mut self) -> event::Result<()> {
        Ok(())
    }
}

#[test]
fn filtered_keys_drop_their_batches() {
    let f = file();
    let filter = || Filter { key_globs: vec![b"lp-*".to_vec(), b"plain-s*".to_vec()], ..Filter::default() };
    let json = |batched: bool| {
        let mut out = Vec::new();
        drive(&f, usize::MAX, batched, &mut FilteredSink::new(filter(), JsonWriter::new(&mut out)));
        String::from_utf8(out).unwrap()
    };
    let batched = json(true);
    assert_eq!(batched, json(false));
    let keys: Vec<&str> = batched.lines().filter_map(|l| l.split("\"key\":\"").nth(1)?.split('"').next()).collect();
    assert_eq!(keys, ["plain-set", "lp-hash", "lp-zset"]);
    let events = |batched: bool| {
        let mut sink = FilteredSink::new(filter(), Record::default());
        drive(&f, usize::MAX, batched, &mut sink);
        sink.into_inner().0
    };
    assert_eq!(events(true), events(false));
}

/// Writers without a batch loop of their own get the items one by one, with the offsets they
/// would have seen (the keys listing measures each key's bytes with them).
#[test]
fn other_writers_see_the_same_events_and_offsets() {
    let f = file();
    for chunk in [usize::MAX, 7] {
        let keys = |batched: bool| {
            let mut out = Vec::new();
            drive(&f, chunk, batched, &mut KeysWriter::new(&mut out));
            out
        };
        let resp = |batched: bool| {
            let mut out = Vec::new();
            drive(&f, chunk, batched, &mut RebuildWriter::new(&mut out));
            out
        };
        assert_eq!(keys(true), keys(false), "chunk {chunk}");
        assert_eq!(resp(true), resp(false), "chunk {chunk}");
    }
}
