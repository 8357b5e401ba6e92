//! `redtail follow --sink kafka://` crash and resume: a snapshot, then numbered writes over
//! ten keys and a counter; redtail is killed with SIGKILL mid-stream and restarted with
//! `--from checkpoint`. Reading the topic's three partitions afterwards finds every write, in
//! order per key, with no gap; the only repeats are writes after the saved checkpoint, with
//! the same replid and offsets headers as the first time.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use common::follow::{assert_acked_within, saved_checkpoint, Follower, WITHIN};
use common::writer::BackgroundWriter;
use serde_json::Value;
use testkit::kafka_reader::TopicReader;
use testkit::{Broker, Server};

const TOPIC: &str = "redis-cdc";
const PARTITIONS: i32 = 3;
const KEYS: u64 = 10;
const SNAPSHOT_KEYS: u64 = 50;

/// For i = 0, 1, ...: `SET k<i % 10> <i>` then `INCR counter`, until stopped.
fn start_writer(port: u16) -> BackgroundWriter {
    BackgroundWriter::start(port, |client, i| {
        client.cmd_str(&["SET", &format!("k{}", i % KEYS), &i.to_string()]).unwrap().expect_ok();
        assert_eq!(client.cmd_str(&["INCR", "counter"]).unwrap().as_int(), Some(i as i64 + 1));
    })
}

/// The checkpoint file's offset (0 while there is none).
fn checkpoint_offset(path: &Path) -> u64 {
    saved_checkpoint(path).map_or(0, |c| c.offset)
}

#[track_caller]
fn wait_until(what: &str, follower: &mut Follower, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WITHIN;
    while !done() {
        if let Ok(Some(status)) = follower.try_wait() {
            panic!("redtail exited ({status}) before {what}\nstderr:\n{}", follower.stderr());
        }
        assert!(Instant::now() < deadline, "no {what} within {WITHIN:?}\nstderr:\n{}", follower.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A record as read: its partition, key, JSON value and headers.
struct Read {
    partition: i32,
    key: Option<String>,
    value: Value,
    headers: HashMap<String, String>,
}

/// Every record of the topic, read to its end (testkit's [`TopicReader`]), with 3 s of
/// quiet at the end.
fn read_topic(bootstrap: &str) -> Vec<Read> {
    let records = TopicReader::new(bootstrap, TOPIC, PARTITIONS).quiet(Duration::from_secs(3)).read_all();
    records
        .into_iter()
        .map(|c| Read {
            partition: c.partition,
            key: c.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
            value: serde_json::from_slice(&c.value).unwrap(),
            headers: c.headers,
        })
        .collect()
}

/// (replid, start_offset, end_offset) headers of a command record.
fn position(r: &Read) -> (String, u64, u64) {
    let h = |name: &str| r.headers.get(name).unwrap_or_else(|| panic!("no {name} header: {:?}", r.headers)).clone();
    (h("replid"), h("start_offset").parse().unwrap(), h("end_offset").parse().unwrap())
}

#[test]
fn kill_and_resume_into_kafka() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, PARTITIONS as u32);
    let master = Server::start("redis-7.0");
    for j in 0..SNAPSHOT_KEYS {
        master.cmd_str(&["SET", &format!("snap:{j}"), &j.to_string()]).expect_ok();
    }
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let cp_arg = checkpoint.to_str().unwrap().to_string();
    let sink = format!("kafka://{}/{TOPIC}", broker.bootstrap());
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        a.extend(["--sink".into(), sink.clone(), "--checkpoint".into(), cp_arg.clone(), master.url()]);
        a.extend(["--kafka-opt".into(), "linger.ms=5".into()]);
        a
    };
    let start = |a: Vec<String>| Follower::start(&a.iter().map(String::as_str).collect::<Vec<_>>());

    let mut first = start(args(&[]));
    wait_until("a checkpoint after the snapshot", &mut first, || checkpoint.exists());
    let writer = start_writer(master.port());
    let mid = checkpoint_offset(&checkpoint);
    wait_until("500 writes delivered", &mut first, || {
        writer.done() >= 500 && checkpoint_offset(&checkpoint) > mid + 10_000
    });
    let first = first.kill();
    let saved_offset = checkpoint_offset(&checkpoint);
    let killed_at = writer.done();
    drop(first);

    // The writes go on while nobody follows.
    writer.wait_until_done(killed_at + 300);
    let mut second = start(args(&["--from", "checkpoint"]));
    let resumed = writer.done();
    wait_until("writes delivered after the resume", &mut second, || writer.done() > resumed + 500);
    let last = writer.stop();
    // The ACK follows Kafka's delivery reports: once it reaches the master's offset, every
    // write is in Kafka.
    assert_acked_within(&master, WITHIN);
    let (status, second) = second.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", second.stderr());

    let records = read_topic(&broker.bootstrap());
    check(&records, saved_offset, last);
}

/// Every write once at least, in order per key; repeats only past the checkpoint, with the
/// first delivery's headers.
fn check(records: &[Read], saved_offset: u64, last: u64) {
    let events =
        |kind: &'static str| records.iter().filter(move |r| r.headers.get("event").map(String::as_str) == Some(kind));
    // The snapshot: every key, keyed by its name.
    let snap: std::collections::BTreeSet<String> =
        events("key").filter_map(|r| r.key.clone()).filter(|k| k.starts_with("snap:")).collect();
    assert_eq!(snap.len() as u64, SNAPSHOT_KEYS, "snapshot keys in Kafka");

    // Per Kafka key: the records in the order read (one key lives in one partition).
    let mut per_key: BTreeMap<String, Vec<&Read>> = BTreeMap::new();
    for r in events("command") {
        let key = r.key.clone().unwrap_or_else(|| panic!("a single-key command has a key: {}", r.value));
        assert_eq!(Some(key.as_str()), r.value["args"][0].as_str());
        per_key.entry(key).or_default().push(r);
    }
    let mut repeats = 0;
    for (key, list) in &per_key {
        let partitions: std::collections::HashSet<i32> = list.iter().map(|r| r.partition).collect();
        assert_eq!(partitions.len(), 1, "{key}: one partition");
        let mut first_seen: HashMap<u64, (String, u64, u64)> = HashMap::new();
        let mut numbers = Vec::new();
        let mut high = 0;
        for r in list {
            let pos = position(r);
            let n = match key.as_str() {
                // The counter's i-th INCR is the i-th write's second command.
                "counter" => u64::MAX,
                _ => r.value["args"][1].as_str().unwrap().parse().unwrap(),
            };
            if pos.2 <= high {
                // A repeat: of a write delivered before, past the checkpoint, same headers.
                assert!(pos.1 >= saved_offset, "{key}: repeat at {pos:?} before the checkpoint {saved_offset}");
                let seen = first_seen.get(&pos.2) == Some(&pos);
                assert!(seen, "{key}: {pos:?} out of order (after {high}) and not a repeat");
                repeats += 1;
                continue;
            }
            high = pos.2;
            first_seen.insert(pos.2, pos.clone());
            numbers.push(n);
        }
        let expected: Vec<u64> = match key.as_str() {
            "counter" => vec![u64::MAX; last as usize + 1],
            k => {
                let m: u64 = k.strip_prefix('k').unwrap().parse().unwrap();
                (0..=last).filter(|i| i % KEYS == m).collect()
            }
        };
        assert_eq!(numbers.len(), expected.len(), "{key}: every write once, no gap");
        assert_eq!(numbers, expected, "{key}: in order, no gap");
    }
    let mut keys: Vec<&str> = per_key.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys.len() as u64, KEYS + 1, "k0..k9 and counter: {keys:?}");
    eprintln!("{} records, {last} last write, checkpoint at the kill {saved_offset}, {repeats} repeats", records.len());
}

/// A topic that does not exist is a sink error (exit code 5) naming it, before any sync.
#[test]
fn a_missing_topic_is_a_sink_error() {
    let broker = Broker::start();
    let master = Server::start("redis-7.0");
    let sink = format!("kafka://{}/no-such-topic", broker.bootstrap());
    let mut follower = Follower::start(&["--sink", &sink, &master.url()]);
    let status = follower.wait();
    assert_eq!(status.code(), Some(5), "stderr:\n{}", follower.stderr());
    assert!(follower.stderr().contains("\"no-such-topic\" does not exist"), "{}", follower.stderr());
}
