//! Raw value capture (`Options::raw_values_up_to`) on hand-made bytes: every key's raw value is
//! its type byte and exactly the value bytes the file holds (the writer's own bytes are the
//! expected values), whether the input comes whole, one byte at a time or in odd chunks; values
//! over the limit give no raw value but all their elements.

mod support;

use rdb::Options;
use support::*;

/// Decodes with capture on, checking that every way of feeding the input agrees.
fn decode_raw(bytes: &[u8], limit: usize) -> Vec<String> {
    let opts = Options { raw_values_up_to: limit, ..Options::default() };
    let whole = decode_chunked(bytes, usize::MAX, opts.clone(), true).unwrap();
    for chunk in [1, 2, 7, 64] {
        for known_len in [true, false] {
            let got = decode_chunked(bytes, chunk, opts.clone(), known_len).unwrap();
            assert_eq!(got, whole, "chunk {chunk}, known length {known_len}");
        }
    }
    whole
}

/// The raw values in the events, by key.
fn raws(events: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut key = String::new();
    for e in events {
        if let Some(rest) = e.strip_prefix("key db=") {
            key = rest.split(' ').nth(1).unwrap().to_string();
        } else if let Some(raw) = e.strip_prefix("raw ") {
            out.push((key.clone(), raw.to_string()));
        }
    }
    out
}

fn with_type(ty: u8, value: &[u8]) -> String {
    let mut v = vec![ty];
    v.extend_from_slice(value);
    hex(&v)
}

#[test]
fn every_type_gives_its_exact_value_bytes() {
    let mut int16 = vec![0xC1];
    int16.extend_from_slice(&(-300i16).to_le_bytes());
    let big = vec![b'x'; 300];
    let mut list = len(2);
    list.extend(s(b"a"));
    list.extend(lzf_literal(b"compressed-element"));
    let mut zset = len(1);
    zset.extend(s(b"m"));
    zset.extend_from_slice(&2.5f64.to_le_bytes());
    let mut hash = len(1);
    hash.extend(s(b"f"));
    hash.extend(s(b"v"));
    let lp = s(&listpack(&[Entry::S(b"f"), Entry::I(7)]));
    let is = s(&intset(2, &[-5, 7]));
    let mut ql2 = len(2);
    ql2.extend(len(2));
    ql2.extend(s(&listpack(&[Entry::S(b"c"), Entry::S(b"d")])));
    ql2.extend(len(1));
    ql2.extend(lzf_literal(b"a-compressed-plain-node"));
    let empty_set = len(0);
    let mut prefixed = vec![0xF8];
    prefixed.extend(len(120)); // IDLE
    prefixed.extend([0xF9, 5]); // FREQ
    let rdb = Rdb::redis(10)
        .select(0)
        .key(0, b"raw", &s(b"hello"))
        .key(0, b"int", &int16)
        .key(0, b"lzf", &lzf_literal(b"some text"))
        .expire_ms(1_900_000_000_000)
        .key(1, b"list", &list)
        .raw(&prefixed)
        .key(5, b"zset", &zset)
        .key(4, b"hash", &hash)
        .key(16, b"lp", &lp)
        .key(11, b"is", &is)
        .key(18, b"ql2", &ql2)
        .key(2, b"empty", &empty_set)
        .key(0, b"big", &s(&big))
        .key(0, b"after", &s(b"v"))
        .finish();
    let events = decode_raw(&rdb, 256);
    let want = [
        ("raw", with_type(0, &s(b"hello"))),
        ("int", with_type(0, &int16)),
        ("lzf", with_type(0, &lzf_literal(b"some text"))),
        ("list", with_type(1, &list)),
        ("zset", with_type(5, &zset)),
        ("hash", with_type(4, &hash)),
        ("lp", with_type(16, &lp)),
        ("is", with_type(11, &is)),
        ("ql2", with_type(18, &ql2)),
        ("empty", with_type(2, &empty_set)),
        ("after", with_type(0, &s(b"v"))),
    ];
    let want: Vec<(String, String)> = want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(raws(&events), want);
    // The value over the limit still comes as its element, and the raw value comes last.
    let big_at = events.iter().position(|e| e.contains(" big ")).unwrap();
    assert_eq!(events[big_at + 1], format!("  string {}", String::from_utf8_lossy(&big)));
    assert_eq!(events[big_at + 2], "end-key");
    let lp_at = events.iter().position(|e| e.contains(" lp ")).unwrap();
    assert_eq!(
        events[lp_at + 1..lp_at + 4],
        ["  hash f=7 exp=None".to_string(), format!("raw {}", want[6].1), "end-key".into()]
    );
}

#[test]
fn the_limit_counts_the_type_byte_and_the_value() {
    // "12345" as a raw string is 1 (type) + 1 (length) + 5 bytes.
    let rdb = Rdb::redis(9).key(0, b"k", &s(b"12345")).finish();
    assert_eq!(raws(&decode_raw(&rdb, 7)).len(), 1);
    assert_eq!(raws(&decode_raw(&rdb, 6)).len(), 0);
    // Off by default: not a single raw event.
    assert!(!decode(&rdb).unwrap().iter().any(|e| e.starts_with("raw ")));
}

#[test]
fn streams_and_modules_are_captured_whole() {
    let id = module_id(b"mymodule1", 2);
    let mut module = len(id);
    module.extend([2, 7, 5]); // UINT 7, then STRING
    module.extend(s(b"payload"));
    module.push(0); // EOF
                    // A stream with one listpack node, no groups (type 21).
    let lp = listpack(&[
        Entry::I(1),
        Entry::I(0),
        Entry::I(1),
        Entry::S(b"f"),
        Entry::I(0),
        Entry::I(2),
        Entry::I(0),
        Entry::I(0),
        Entry::S(b"v"),
        Entry::I(4),
    ]);
    let mut node_key = 1000u64.to_be_bytes().to_vec();
    node_key.extend_from_slice(&0u64.to_be_bytes());
    let mut stream = len(1);
    stream.extend(s(&node_key));
    stream.extend(s(&lp));
    for n in [1, 1000, 0, 1000, 0, 0, 0, 1, 0] {
        stream.extend(len(n)); // length, last id, first id, max deleted id, entries added, groups
    }
    let rdb = Rdb::redis(11).key(7, b"m", &module).key(21, b"st", &stream).finish();
    let events = decode_raw(&rdb, 1 << 20);
    assert_eq!(
        raws(&events),
        vec![("m".to_string(), with_type(7, &module)), ("st".to_string(), with_type(21, &stream))]
    );
    assert!(events.iter().any(|e| e == "  entry 1000-0 f=v"), "{events:#?}");
}
