//! Stream values for tests, on top of the test kit's RDB writer (written from the file format,
//! not from the decoder). The CLI tests include this file too.

#![allow(dead_code)]

pub use testkit::rdb_writer::*;

/// The value of a stream with three entries (IDs 1000-0, 1001-0, 1005-1; a deleted 1002-0),
/// one group `g1` with one pending entry 1001-0 owned by consumer `alice`, and an idle
/// consumer `bob`. `ty` is 15, 19 or 21.
pub fn stream_value(ty: u8) -> Vec<u8> {
    // Master entry: count, deleted, #fields, fields..., 0; then per entry: flags, ms-diff,
    // seq-diff, [#fields, field, value... | values...], lp-count (t_stream.c).
    let lp = listpack(&[
        Entry::I(3),
        Entry::I(1),
        Entry::I(1),
        Entry::S(b"temp"),
        Entry::I(0),
        // 1000-0, same fields
        Entry::I(2),
        Entry::I(0),
        Entry::I(0),
        Entry::S(b"20"),
        Entry::I(4),
        // 1001-0, own fields
        Entry::I(0),
        Entry::I(1),
        Entry::I(0),
        Entry::I(2),
        Entry::S(b"other"),
        Entry::S(b"x"),
        Entry::S(b"y"),
        Entry::S(b"z"),
        Entry::I(8),
        // 1002-0, deleted
        Entry::I(3),
        Entry::I(2),
        Entry::I(0),
        Entry::S(b"gone"),
        Entry::I(4),
        // 1005-1
        Entry::I(2),
        Entry::I(5),
        Entry::I(1),
        Entry::S(b"25"),
        Entry::I(4),
    ]);
    let mut master = 1000u64.to_be_bytes().to_vec();
    master.extend_from_slice(&0u64.to_be_bytes());
    let mut v = len(1);
    v.extend(s(&master));
    v.extend(s(&lp));
    v.extend(len(3)); // length
    v.extend(len(1005));
    v.extend(len(1)); // last id
    if ty >= 19 {
        v.extend(len(1000));
        v.extend(len(0)); // first id
        v.extend(len(1002));
        v.extend(len(0)); // max deleted id
        v.extend(len(4)); // entries added
    }
    v.extend(len(1)); // groups
    v.extend(s(b"g1"));
    v.extend(len(1001));
    v.extend(len(0)); // group last id
    if ty >= 19 {
        v.extend(len(2)); // entries read
    }
    let mut id = 1001u64.to_be_bytes().to_vec();
    id.extend_from_slice(&0u64.to_be_bytes());
    v.extend(len(1)); // group PEL
    v.extend_from_slice(&id);
    v.extend_from_slice(&1_700_000_000_500i64.to_le_bytes());
    v.extend(len(3));
    v.extend(len(2)); // consumers
    for (name, pel) in [(&b"alice"[..], 1u64), (b"bob", 0)] {
        v.extend(s(name));
        v.extend_from_slice(&1_700_000_000_600i64.to_le_bytes());
        if ty >= 21 {
            v.extend_from_slice(&1_700_000_000_700i64.to_le_bytes());
        }
        v.extend(len(pel));
        if pel == 1 {
            v.extend_from_slice(&id);
        }
    }
    v
}

/// An empty stream (as `XGROUP CREATE ... MKSTREAM` leaves it), type 15.
pub fn empty_stream_value() -> Vec<u8> {
    let mut v = len(0); // no nodes
    v.extend(len(0)); // length
    v.extend(len(0));
    v.extend(len(0)); // last id 0-0
    v.extend(len(0)); // no groups
    v
}
