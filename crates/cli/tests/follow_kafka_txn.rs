//! `redtail follow --sink kafka://… --kafka-transactional` against tansu and Redis 7.0: a
//! snapshot, then numbered writes (every fifth one a MULTI/EXEC); redtail is killed with
//! SIGKILL at random moments and restarted with the same command line each time. A
//! `read_committed` reader then finds every write exactly once, in order per key.
//!
//! **tansu 0.6.0 and aborted transactions.** tansu holds the last stable offset correctly
//! while a transaction is open, and on the restart's `InitProducerId` it aborts the killed
//! producer's transaction and writes the abort markers. But every FetchResponse it sends has
//! an empty AbortedTransactions list, and that list is what a Kafka client reads to skip an
//! aborted transaction's records; so after the abort, a `read_committed` reader on tansu gets
//! them as if committed. Nothing a producer does can change that. So at each kill this test
//! records the killed transaction's records itself (what `read_uncommitted` shows beyond what
//! `read_committed` shows, before the restart aborts it) and leaves them out of the final
//! `read_committed` view, which is what Kafka's own reader would do with the list. One case
//! is different: a kill after the transaction's checkpoint record reached the broker but
//! before the commit. tansu then also shows that checkpoint to the restart, which resumes
//! after it, so the test counts that transaction as committed, as it has become on tansu
//! (a broker with the list would hide both, and the restart would resend them).

#[path = "../../sink/tests/kafka_common/mod.rs"]
mod kafka_common;

mod common;

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use common::follow::{ack_and_master_offset, assert_acked_within, Follower, WITHIN};
use common::writer::BackgroundWriter;
use kafka_common::{read_all, Consumed};
use serde_json::Value;
use testkit::{Broker, Server};

const TOPIC: &str = "redis-cdc";
const CHECKPOINTS: &str = "redis-cdc.redtail-checkpoints";
const PARTITIONS: i32 = 3;
const KEYS: u64 = 10;
const SNAPSHOT_KEYS: u64 = 200;
const KILLS: usize = 4;

/// Round i: `SET k<i % 10> i` and `INCR counter`, inside MULTI/EXEC when i % 5 == 0. Paced,
/// so that the topic stays small enough to read back quickly.
fn start_writer(port: u16) -> BackgroundWriter {
    BackgroundWriter::start(port, |client, i| {
        let tx = i % 5 == 0;
        if tx {
            client.cmd_str(&["MULTI"]).unwrap().expect_ok();
        }
        client.cmd_str(&["SET", &format!("k{}", i % KEYS), &i.to_string()]).unwrap();
        client.cmd_str(&["INCR", "counter"]).unwrap();
        if tx {
            let exec = client.cmd_str(&["EXEC"]).unwrap();
            assert!(!exec.is_error(), "EXEC failed");
        }
        std::thread::sleep(Duration::from_millis(2));
    })
}

/// A random delay in `[0, max_ms)`, from the standard library's randomly seeded hasher.
fn random_delay(max_ms: u64) -> Duration {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    Duration::from_millis(h.finish() % max_ms)
}

/// (partition, Kafka offset): where a record sits.
fn place(c: &Consumed) -> (i32, i64) {
    (c.partition, c.offset)
}

/// The killed producer's open transaction, as the broker holds it before the restart: the
/// records `read_uncommitted` shows and `read_committed` does not. Returns the event
/// records' places and whether a checkpoint record is among them.
fn open_transaction(bootstrap: &str) -> (HashSet<(i32, i64)>, bool) {
    let open = |topic: &str, partitions: i32| -> Vec<Consumed> {
        let committed: HashSet<_> =
            read_all(bootstrap, topic, partitions, "read_committed").iter().map(place).collect();
        read_all(bootstrap, topic, partitions, "read_uncommitted")
            .into_iter()
            .filter(|c| !committed.contains(&place(c)))
            .collect()
    };
    let records = open(TOPIC, PARTITIONS).iter().map(place).collect();
    let checkpoint_sent = !open(CHECKPOINTS, 1).is_empty();
    (records, checkpoint_sent)
}

/// Kills `follower` with SIGKILL and returns the killed transaction's records to leave out
/// of the final view (none when tansu will show its checkpoint to the restart).
fn kill(follower: Follower, n: usize, bootstrap: &str, writes: u64) -> (HashSet<(i32, i64)>, bool) {
    drop(follower.kill());
    let (open, checkpoint_sent) = open_transaction(bootstrap);
    let note = if checkpoint_sent { ", with its checkpoint" } else { "" };
    eprintln!("kill {n} at write {writes}: {} records in the open transaction{note}", open.len());
    if checkpoint_sent {
        (HashSet::new(), true)
    } else {
        (open, false)
    }
}

/// Waits until the master sees an acknowledgement past `after` (redtail acknowledges only
/// what Kafka committed), and returns it.
#[track_caller]
fn wait_acked_past(master: &Server, follower: &mut Follower, after: u64) -> u64 {
    let deadline = Instant::now() + WITHIN;
    loop {
        if let Ok(Some(status)) = follower.try_wait() {
            panic!("redtail exited ({status})\nstderr:\n{}", follower.stderr());
        }
        if let (Some(ack), _) = ack_and_master_offset(master) {
            if ack > after {
                return ack;
            }
        }
        assert!(Instant::now() < deadline, "no commit past {after} within {WITHIN:?}\nstderr:\n{}", follower.stderr());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn killed_at_random_points_a_read_committed_reader_sees_each_write_once() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, PARTITIONS as u32);
    broker.create_topic(CHECKPOINTS, 1);
    let master = Server::start("redis-7.0");
    for j in 0..SNAPSHOT_KEYS {
        master.cmd_str(&["SET", &format!("snap:{j}"), &j.to_string()]).expect_ok();
    }
    let sink = format!("kafka://{}/{TOPIC}", broker.bootstrap());
    let url = master.url();
    let args = ["--sink", &sink, "--kafka-transactional", "--kafka-opt", "linger.ms=5", &url];
    let bootstrap = broker.bootstrap();
    let (mut aborted, mut shown_checkpoints) = (HashSet::new(), 0);
    let mut note = |(open, shown): (HashSet<(i32, i64)>, bool)| {
        aborted.extend(open);
        shown_checkpoints += usize::from(shown);
    };

    // Kill 0: anywhere from the start to shortly after the snapshot's commit, before any write.
    let first = Follower::start(&args);
    std::thread::sleep(random_delay(1500));
    note(kill(first, 0, &bootstrap, 0));

    // The writes start once a checkpoint is committed (after the snapshot), so that each
    // write reaches Kafka as a command.
    let mut follower = Follower::start(&args);
    let deadline = Instant::now() + WITHIN;
    while read_all(&bootstrap, CHECKPOINTS, 1, "read_committed").is_empty() {
        if let Ok(Some(status)) = follower.try_wait() {
            panic!("redtail exited ({status})\nstderr:\n{}", follower.stderr());
        }
        assert!(Instant::now() < deadline, "no checkpoint committed\nstderr:\n{}", follower.stderr());
    }
    let writer = start_writer(master.port());
    let mut acked = ack_and_master_offset(&master).0.unwrap_or(0);
    for n in 1..KILLS {
        // Each run commits something past the last run's commit, then dies at a random moment.
        acked = wait_acked_past(&master, &mut follower, acked);
        std::thread::sleep(random_delay(400));
        note(kill(follower, n, &bootstrap, writer.done()));
        follower = Follower::start(&args);
    }

    let mut last = follower;
    wait_acked_past(&master, &mut last, acked);
    let resumed = writer.done();
    writer.wait_until_done(resumed + 300);
    let last_write = writer.stop();
    // Once the acknowledged offset reaches the master's, every write is committed.
    assert_acked_within(&master, WITHIN);
    let (status, last) = last.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", last.stderr());

    let consumed = read_all(&bootstrap, TOPIC, PARTITIONS, "read_committed");
    let seen: Vec<&Consumed> = consumed.iter().filter(|c| !aborted.contains(&place(c))).collect();
    eprintln!(
        "{} records read; {} of aborted transactions that tansu shows left out; {shown_checkpoints} killed \
         transactions whose checkpoint tansu showed to the restart; last write {last_write}",
        consumed.len(),
        consumed.len() - seen.len(),
    );
    check_exactly_once(&seen, last_write);
}

/// Every snapshot key once; every write once, with no gap; one `exec` per MULTI round; and
/// within each partition (so for each record key), offsets only go up.
fn check_exactly_once(records: &[&Consumed], last: u64) {
    let mut snapshot: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut partition_end: BTreeMap<i32, (String, u64)> = BTreeMap::new();
    let mut execs = 0;
    for c in records {
        let v: Value = serde_json::from_slice(&c.value).unwrap();
        if let (Some(replid), Some(end)) = (c.headers.get("replid"), v["end_offset"].as_u64()) {
            if let Some((r, before)) = partition_end.get(&c.partition) {
                assert!(r != replid || end > *before, "partition {}: {v} after end offset {before}", c.partition);
            }
            partition_end.insert(c.partition, (replid.clone(), end));
        }
        match v["event"].as_str() {
            Some("key") => *snapshot.entry(v["key"].as_str().unwrap().to_string()).or_default() += 1,
            Some("command") => {
                // Inside MULTI the record key is null (the transaction stays whole in
                // partition 0); the Redis key is the first argument of SET and INCR.
                let key = v["args"][0].as_str().unwrap().to_string();
                let n = match key.as_str() {
                    "counter" => u64::MAX,
                    _ => v["args"][1].as_str().unwrap().parse().unwrap(),
                };
                per_key.entry(key).or_default().push(n);
            }
            Some("exec") => execs += 1,
            _ => {}
        }
    }
    let snap_keys: Vec<_> = snapshot.iter().filter(|(k, _)| k.starts_with("snap:")).collect();
    assert_eq!(snap_keys.len() as u64, SNAPSHOT_KEYS, "every snapshot key");
    assert!(snap_keys.iter().all(|(_, n)| **n == 1), "each snapshot key once: {snap_keys:?}");
    for (key, numbers) in &mut per_key {
        numbers.sort_unstable();
        let expected: Vec<u64> = match key.as_str() {
            "counter" => vec![u64::MAX; last as usize + 1],
            k => {
                let m: u64 = k.strip_prefix('k').unwrap().parse().unwrap();
                (0..=last).filter(|i| i % KEYS == m).collect()
            }
        };
        if *numbers != expected {
            let first_difference = numbers.iter().zip(&expected).position(|(a, b)| a != b);
            panic!(
                "{key}: {} records for {} writes; first difference at {first_difference:?}",
                numbers.len(),
                expected.len()
            );
        }
    }
    assert_eq!(per_key.len() as u64, KEYS + 1, "k0..k9 and counter: {:?}", per_key.keys());
    assert_eq!(execs, last / 5 + 1, "one exec per MULTI round");
}
