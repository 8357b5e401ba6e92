//! `redtail follow --sink kafka://` when Kafka misbehaves, against tansu and Redis 7.0:
//! - the broker is killed mid-stream and started again on the same port (its data kept in S3,
//!   so the restarted broker knows the topic and the idempotent producer): nothing is lost,
//!   redtail's memory stays bounded while the master's output buffer takes the stream, and
//!   the reconnection attempts show on `/metrics`;
//! - a record larger than the producer's `message.max.bytes`: exit code 5, naming the key,
//!   its db and its replication offset;
//! - no broker at start: exit code 5, naming the brokers, after a bounded wait.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::follow::{
    ack_and_master_offset, assert_acked_within, proc_status_bytes, replica_omem, wait_replica_online, Follower, WITHIN,
};
use common::metrics::{free_addr, scrape};
use common::writer::BackgroundWriter;
use testkit::kafka_reader::TopicReader;
use testkit::{free_port, Broker, S3Store, Server};

const TOPIC: &str = "cdc";
const PARTITIONS: i32 = 3;
const KEYS: u64 = 10;
/// Written while the broker is down, in values of [`BIG_VALUE`] bytes: 48 MiB, under the
/// master's soft output buffer limit for replicas (64 MiB for 60 s), so it keeps the link.
const BIG_WRITES: usize = 192;
const BIG_VALUE: usize = 256 << 10;
/// The sink's window (`--kafka-window`): what redtail may hold unacknowledged, so the rest of
/// what is written while the broker is down must wait in the master's output buffer.
const WINDOW: usize = 8 << 20;
/// How much redtail's peak RSS may grow while that is written and caught up with: the window,
/// plus half of what is written (a few read bursts, and the allocator keeping freed 256 KiB
/// lines around).
const RSS_GROWTH_BOUND: u64 = (WINDOW as u64) + (24 << 20);

/// Polls `/metrics` until `done` holds for the value of `series`.
#[track_caller]
fn wait_metric(addr: &str, series: &str, follower: &mut Follower, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + WITHIN;
    loop {
        if let Some(v) = scrape(addr).value(series).filter(|&v| done(v)) {
            return v;
        }
        if let Ok(Some(status)) = follower.try_wait() {
            panic!("redtail exited ({status}) waiting on {series}\nstderr:\n{}", follower.stderr());
        }
        assert!(Instant::now() < deadline, "{series} not as expected within {WITHIN:?}\n{}", follower.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// With librdkafka's retries and no idempotence: tansu drops a batch cut off by its kill and
/// still rejects an idempotent producer's retry of it (see the ignored test below).
#[test]
fn a_broker_restarted_mid_stream_loses_nothing_and_memory_stays_bounded() {
    broker_restart_mid_stream(&["enable.idempotence=false"]);
}

/// The same with redtail's default idempotent producer. Fails on tansu 0.6.0 (S3 storage),
/// and a plain librdkafka producer (confluent-kafka, no redtail) loses records the same way:
/// a produce request that reaches tansu as it is killed leaves a hole in the partition (its
/// offsets are taken, the records never stored) while the producer's sequence number is kept;
/// the retry after the restart is answered `DUPLICATE_SEQUENCE_NUMBER`, which librdkafka
/// (as Kafka's protocol says) counts as delivered (its debug log: "failed due to duplicate
/// sequence number: previous send succeeded but was not acknowledged ... marking the messages
/// successfully delivered"). Without idempotence the retry is simply stored again. See
/// docs/kafka.md; run it with `--ignored` against another broker build.
#[test]
#[ignore = "tansu 0.6.0 answers DUPLICATE_SEQUENCE_NUMBER for a batch cut off by its kill, which it never stored"]
fn a_broker_restarted_mid_stream_loses_nothing_with_the_idempotent_producer() {
    broker_restart_mid_stream(&[]);
}

fn broker_restart_mid_stream(kafka_opts: &[&str]) {
    let store = S3Store::start();
    let mut broker = Broker::builder().storage(&store).start();
    broker.create_topic(TOPIC, PARTITIONS as u32);
    let master = Server::start("redis-7.0");
    let addr = free_addr();
    let sink = format!("kafka://{}/{TOPIC}", broker.bootstrap());
    let url = master.url();
    let window = WINDOW.to_string();
    let mut args = vec!["--sink", &sink, "--kafka-window", &window, "--metrics-addr", &addr, &url];
    for opt in kafka_opts {
        args.extend(["--kafka-opt", opt]);
    }
    let mut follower = Follower::start(&args);
    wait_replica_online(&master);
    let writer = BackgroundWriter::start(master.port(), |client, i| {
        client.cmd_str(&["SET", &format!("k{}", i % KEYS), &i.to_string()]).unwrap().expect_ok();
    });
    let delivered_before = wait_metric(&addr, "redtail_acked_offset", &mut follower, |v| v > 5_000.0);
    let connects_before = scrape(&addr).get("redtail_kafka_connects_total");
    let rss_before = proc_status_bytes(follower.pid(), "VmHWM");

    broker.stop();
    // librdkafka notices, and says so while redtail itself waits for its acks.
    wait_metric(&addr, "redtail_kafka_brokers_up", &mut follower, |v| v == 0.0);
    let big = "x".repeat(BIG_VALUE);
    let mut omem_peak = 0;
    for i in 0..BIG_WRITES {
        master.cmd_str(&["SET", &format!("big:{i}"), &big]).expect_ok();
        omem_peak = omem_peak.max(replica_omem(&master));
    }
    let (acked, master_offset) = ack_and_master_offset(&master);
    let lag = master_offset - acked.unwrap_or(0);
    assert!(lag >= (BIG_WRITES * BIG_VALUE) as u64, "the master holds what redtail has not acked: lag {lag}");
    let beyond_window = (BIG_WRITES * BIG_VALUE - WINDOW) as u64;
    assert!(omem_peak >= beyond_window / 2, "the master's buffer takes what exceeds the window: {omem_peak}");
    let retries = wait_metric(&addr, "redtail_kafka_connects_total", &mut follower, |v| v > connects_before + 1.0);
    // The lag shows on /metrics too (it is polled once a second).
    wait_metric(&addr, "redtail_lag_bytes", &mut follower, |v| v >= (BIG_WRITES * BIG_VALUE) as f64);

    broker.restart();
    let writes_after_restart = writer.done();
    writer.wait_until_done(writes_after_restart + 500);
    let last = writer.stop();
    assert_acked_within(&master, WITHIN);
    let peak_rss = proc_status_bytes(follower.pid(), "VmHWM");
    let metrics = scrape(&addr);
    let (status, follower) = follower.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", follower.stderr());
    assert!(
        peak_rss < rss_before + RSS_GROWTH_BOUND,
        "VmHWM grew from {rss_before} to {peak_rss} while {} MiB were written with the broker down",
        (BIG_WRITES * BIG_VALUE) >> 20
    );
    assert!(metrics.get("redtail_kafka_disconnects_total") >= 1.0);

    // Every write, once per key in order, and every big value: none lost across the restart.
    let records = TopicReader::new(&broker.bootstrap(), TOPIC, PARTITIONS).quiet(Duration::from_secs(2)).read_all();
    let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut seen_offsets = BTreeSet::new();
    let mut repeats = 0;
    for r in records.iter().filter(|r| r.headers.get("event").map(String::as_str) == Some("command")) {
        if !seen_offsets.insert(r.end_offset()) {
            repeats += 1;
            continue;
        }
        let key = String::from_utf8(r.key.clone().expect("a keyed command")).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
        let n = match key.strip_prefix("big:") {
            Some(i) => i.parse().unwrap(),
            None => value["args"][1].as_str().unwrap().parse().unwrap(),
        };
        per_key.entry(key).or_default().push(n);
    }
    for k in 0..KEYS {
        let expected: Vec<u64> = (0..=last).filter(|i| i % KEYS == k).collect();
        assert_eq!(per_key.get(&format!("k{k}")), Some(&expected), "k{k}: every write, in order, no gap");
    }
    let big_keys = per_key.keys().filter(|k| k.starts_with("big:")).count();
    assert_eq!(big_keys, BIG_WRITES, "every value written while the broker was down");
    eprintln!(
        "{} records ({repeats} repeats); acked {delivered_before} before the stop; lag {} MiB, omem peak {} MiB \
         while down; connects {connects_before} -> {retries}; VmHWM {} -> {} MiB",
        records.len(),
        lag >> 20,
        omem_peak >> 20,
        rss_before >> 20,
        peak_rss >> 20
    );
}

#[test]
fn a_record_too_large_is_a_sink_error_naming_the_key() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, 1);
    let master = Server::start("redis-7.0");
    let sink = format!("kafka://{}/{TOPIC}", broker.bootstrap());
    let mut follower = Follower::start(&["--sink", &sink, "--kafka-opt", "message.max.bytes=10000", &master.url()]);
    wait_replica_online(&master);
    master.cmd_str(&["SET", "small", "1"]).expect_ok();
    let (_, before) = ack_and_master_offset(&master);
    master.cmd_str(&["SET", "big:key", &"x".repeat(20_000)]).expect_ok();
    let (_, after) = ack_and_master_offset(&master);
    let status = follower.wait();
    let stderr = follower.stderr();
    assert_eq!(status.code(), Some(5), "a sink error\n{stderr}");
    let offset: u64 = stderr
        .split("key \"big:key\" (db 0, replication offset ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the key, db and offset in:\n{stderr}"));
    assert!(before < offset && offset <= after, "offset {offset} is the SET's end: in ({before}, {after}]");
    assert!(stderr.contains("message.max.bytes"), "what to change:\n{stderr}");
}

#[test]
fn no_broker_at_start_is_a_sink_error_after_a_bounded_wait() {
    let master = Server::start("redis-7.0");
    let brokers = format!("127.0.0.1:{}", free_port());
    let started = Instant::now();
    let mut follower = Follower::start(&["--sink", &format!("kafka://{brokers}/{TOPIC}"), &master.url()]);
    let status = follower.wait();
    let stderr = follower.stderr();
    assert_eq!(status.code(), Some(5), "a sink error\n{stderr}");
    assert!(stderr.contains(&format!("no Kafka broker reachable at {brokers}")), "{stderr}");
    assert!(started.elapsed() < WITHIN, "bounded: {:?}", started.elapsed());
    assert!(!master.info("replication").contains("slave0:"), "no replication before the sink is there");
}
