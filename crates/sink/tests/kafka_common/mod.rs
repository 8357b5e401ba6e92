//! Shared by the Kafka tests: records to send, reading topics back (testkit's
//! [`TopicReader`]), and the check that what was read is what was sent.
#![allow(dead_code)]

use std::collections::HashMap;

use event::{CommandEvent, LiveEvent};
use sink::{KafkaRecord, RecordBuilder};
pub use testkit::kafka_reader::{Consumed, TopicReader};

pub const REPLID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";

/// A `SET key n` command record ending at `end`, as the follower would make it.
pub fn set(builder: &mut RecordBuilder, key: &str, n: u64, end: u64) -> KafkaRecord {
    let n = n.to_string();
    let args: [&[u8]; 3] = [b"SET", key.as_bytes(), n.as_bytes()];
    let ev = LiveEvent::Command(CommandEvent {
        db: Some(0),
        args: &args[..],
        replid: REPLID,
        start_offset: end - 10,
        end_offset: end,
        tx: None,
    });
    builder.live(&ev).unwrap()
}

/// `count` records over `keys` keys, offsets 10 apart after `from`; returns them and the
/// last end offset.
pub fn workload(builder: &mut RecordBuilder, from: u64, count: u64, keys: u64) -> (Vec<KafkaRecord>, u64) {
    let records = (1..=count).map(|i| set(builder, &format!("key:{}", i % keys), from + i, from + i * 10)).collect();
    (records, from + count * 10)
}

/// Reads every partition of `topic` from the start to its end (see [`TopicReader`]);
/// `isolation` is `read_committed` or `read_uncommitted`.
pub fn read_all(bootstrap: &str, topic: &str, partitions: i32, isolation: &str) -> Vec<Consumed> {
    let reader = TopicReader::new(bootstrap, topic, partitions);
    match isolation {
        "read_committed" => reader.committed().read_all(),
        "read_uncommitted" => reader.read_all(),
        other => panic!("isolation {other:?}"),
    }
}

/// Checks that `consumed` holds exactly `sent` (by end offset, duplicates allowed only when
/// `allow_duplicates`) and that each key's records are in offset order. Returns the number of
/// duplicates.
pub fn check_complete_and_ordered(sent: &[KafkaRecord], consumed: &[Consumed], allow_duplicates: bool) -> usize {
    let want: std::collections::BTreeSet<u64> = sent.iter().map(|r| r.end_offset.unwrap()).collect();
    let mut seen = std::collections::BTreeMap::new();
    for c in consumed {
        *seen.entry(c.end_offset()).or_insert(0usize) += 1;
    }
    let got: std::collections::BTreeSet<u64> = seen.keys().copied().collect();
    let missing: Vec<_> = want.difference(&got).take(10).collect();
    let extra: Vec<_> = got.difference(&want).take(10).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing offsets {missing:?}, unexpected {extra:?}");
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert!(allow_duplicates || duplicates == 0, "{duplicates} duplicates");
    // Per key, first appearances are in offset order (a duplicate may repeat an earlier one).
    let mut last: HashMap<Option<Vec<u8>>, u64> = HashMap::new();
    for c in consumed {
        let end = c.end_offset();
        let prev = last.entry(c.key.clone()).or_insert(0);
        if end > *prev {
            *prev = end;
        } else {
            assert!(allow_duplicates, "key {:?}: offset {end} after {prev}", c.key);
        }
    }
    duplicates
}
