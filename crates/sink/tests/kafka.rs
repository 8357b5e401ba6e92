//! The at-least-once Kafka sink against a real broker (tansu; installed by
//! `scripts/install-test-servers.sh tansu`).
#![cfg(feature = "kafka")]

mod kafka_common;

use std::time::{Duration, Instant};

use kafka_common::*;
use sink::{Batch, Error, KafkaConfig, KafkaSink, RecordBuilder, Sink};
use testkit::{free_port, Broker, FaultProxy, S3Store};

fn config(bootstrap: &str, topic: &str) -> KafkaConfig {
    let mut c = KafkaConfig::from_url(&format!("kafka://{bootstrap}/{topic}")).unwrap();
    c.connect_timeout = Duration::from_secs(5);
    c
}

#[test]
fn records_arrive_complete_and_in_order_per_key() {
    let broker = Broker::start();
    broker.create_topic("cdc", 3);
    let mut sink = KafkaSink::connect(&config(&broker.bootstrap(), "cdc"), 0).unwrap();
    let mut b = RecordBuilder::new();
    let mut sent = Vec::new();
    let mut end = 0;
    for _ in 0..20 {
        let (mut records, e) = workload(&mut b, end, 50, 7);
        // A keyless command in every batch.
        let flush: [&[u8]; 1] = [b"FLUSHALL"];
        let ev = event::LiveEvent::Command(event::CommandEvent {
            db: Some(0),
            args: &flush[..],
            replid: REPLID,
            start_offset: e,
            end_offset: e + 5,
            tx: None,
        });
        records.push(b.live(&ev).unwrap());
        end = e + 5;
        sent.extend(records.iter().cloned());
        sink.send(Batch { records, end_offset: end }).unwrap();
    }
    assert_eq!(sink.flush().unwrap(), end);
    assert_eq!(sink.delivered(), end);

    let consumed = read_all(&broker.bootstrap(), "cdc", 3, "read_uncommitted");
    assert_eq!(check_complete_and_ordered(&sent, &consumed, false), 0);
    for c in &consumed {
        assert_eq!(c.headers["replid"], REPLID);
        assert_eq!(c.headers["event"], "command");
        assert_eq!(c.headers["db"], "0");
        assert!(c.headers.contains_key("start_offset"));
        assert!(!c.value.ends_with(b"\n"));
        let v: serde_json::Value = serde_json::from_slice(&c.value).unwrap();
        assert_eq!(v["end_offset"].as_u64(), Some(c.end_offset()));
        match &c.key {
            None => assert_eq!((c.partition, v["command"].as_str()), (0, Some("flushall"))),
            Some(k) => assert_eq!(v["keys"][0].as_str().map(str::as_bytes), Some(&k[..])),
        }
    }
    // One key, one partition.
    let mut partition_of = std::collections::HashMap::new();
    for c in consumed.iter().filter(|c| c.key.is_some()) {
        assert_eq!(*partition_of.entry(c.key.clone()).or_insert(c.partition), c.partition);
    }
}

#[test]
fn db_topics_and_prefix_routing() {
    let broker = Broker::start();
    for t in ["db-0", "db-3", "users"] {
        broker.create_topic(t, 1);
    }
    let config = config(&broker.bootstrap(), "db-{db}").route_prefix("user:", "users").unwrap();
    let mut sink = KafkaSink::connect(&config, 0).unwrap();
    let mut b = RecordBuilder::new();
    let mut record = |db, key: &str, end| {
        let args: [&[u8]; 3] = [b"SET", key.as_bytes(), b"v"];
        let ev = event::LiveEvent::Command(event::CommandEvent {
            db: Some(db),
            args: &args[..],
            replid: REPLID,
            start_offset: end - 1,
            end_offset: end,
            tx: None,
        });
        b.live(&ev).unwrap()
    };
    let records = vec![record(0, "a", 1), record(3, "b", 2), record(3, "user:1", 3)];
    sink.send(Batch { records, end_offset: 3 }).unwrap();
    assert_eq!(sink.flush().unwrap(), 3);
    let keys = |topic| -> Vec<Vec<u8>> {
        read_all(&broker.bootstrap(), topic, 1, "read_uncommitted").into_iter().map(|c| c.key.unwrap()).collect()
    };
    assert_eq!(keys("db-0"), [b"a".to_vec()]);
    assert_eq!(keys("db-3"), [b"b".to_vec()]);
    assert_eq!(keys("users"), [b"user:1".to_vec()]);
}

#[test]
fn an_unreachable_broker_is_a_clear_error_after_a_bounded_wait() {
    let port = free_port();
    let mut c = config(&format!("127.0.0.1:{port},127.0.0.2:{port}"), "cdc");
    c.connect_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = KafkaSink::connect(&c, 0).err().expect("no broker there");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(matches!(err, Error::KafkaUnreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port},127.0.0.2:{port}")), "{text}");
}

#[test]
fn a_missing_topic_is_a_clear_error() {
    let broker = Broker::start();
    let err = KafkaSink::connect(&config(&broker.bootstrap(), "nope"), 0).err().expect("no such topic");
    assert!(err.to_string().contains("\"nope\" does not exist"), "{err}");
}

#[test]
fn a_record_too_large_names_the_key() {
    let broker = Broker::start();
    broker.create_topic("cdc", 1);
    let config = config(&broker.bootstrap(), "cdc").option("message.max.bytes=2000").unwrap();
    let mut sink = KafkaSink::connect(&config, 0).unwrap();
    let mut b = RecordBuilder::new();
    let small = set(&mut b, "small", 1, 10);
    sink.send(Batch { records: vec![small], end_offset: 10 }).unwrap();
    assert_eq!(sink.flush().unwrap(), 10);
    let mut big = set(&mut b, "big:key", 2, 20);
    big.value = vec![b'x'; 5000];
    let err = sink.send(Batch { records: vec![big], end_offset: 20 }).unwrap_err();
    let Error::KafkaMessageTooLarge { record, topic, bytes } = &err else { panic!("{err:?}") };
    assert_eq!((record.db, record.offset, topic.as_str(), *bytes), (Some(0), Some(20), "cdc", 5000));
    let text = err.to_string();
    assert!(text.contains("key \"big:key\" (db 0, replication offset 20)"), "{text}");
    assert!(text.contains("message.max.bytes"), "{text}");
    assert_eq!(sink.delivered(), 10);
}

/// The delivered offset waits for the acks: with the broker unreachable (a partition, through
/// the proxy), nothing sent after the last flush counts; when it comes back, librdkafka's
/// retries deliver everything, in order, with no gap.
#[test]
fn a_broker_away_mid_stream_loses_nothing_and_holds_the_offset() {
    let tansu_port = free_port();
    let proxy = FaultProxy::start(tansu_port);
    let tansu = Broker::builder().port(tansu_port).advertised_port(proxy.port()).start();
    tansu.create_topic("cdc", 2);
    let bootstrap = format!("127.0.0.1:{}", proxy.port());
    let config = config(&bootstrap, "cdc").option("message.timeout.ms=60000").unwrap();
    let mut sink = KafkaSink::connect(&config, 0).unwrap();
    let mut b = RecordBuilder::new();

    let (first, end1) = workload(&mut b, 0, 300, 5);
    sink.send(Batch { records: first.clone(), end_offset: end1 }).unwrap();
    assert_eq!(sink.flush().unwrap(), end1);

    proxy.blackhole();
    let (second, end2) = workload(&mut b, end1, 300, 5);
    for chunk in second.chunks(30) {
        let end = chunk.last().unwrap().end_offset.unwrap();
        sink.send(Batch { records: chunk.to_vec(), end_offset: end }).unwrap();
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.delivered(), end1, "nothing is delivered while the broker is away");

    // The broker comes back; the connections that hung are reset, as a restarted broker's would be.
    proxy.reset();
    proxy.heal();
    let started = Instant::now();
    assert_eq!(sink.flush().unwrap(), end2);
    eprintln!("delivered after the broker came back in {:?}", started.elapsed());

    let consumed = read_all(&tansu.bootstrap(), "cdc", 2, "read_uncommitted");
    let all: Vec<_> = first.into_iter().chain(second).collect();
    let duplicates = check_complete_and_ordered(&all, &consumed, true);
    eprintln!("{} records, {duplicates} duplicates", consumed.len());
}

/// Backpressure: with a tiny in-flight bound and the broker away, `send` waits instead of
/// buffering; it goes on once the broker is back.
#[test]
fn send_waits_when_the_in_flight_bound_is_reached() {
    let tansu_port = free_port();
    let proxy = FaultProxy::start(tansu_port);
    let tansu = Broker::builder().port(tansu_port).advertised_port(proxy.port()).start();
    tansu.create_topic("cdc", 1);
    let mut config = config(&format!("127.0.0.1:{}", proxy.port()), "cdc");
    config.max_in_flight_records = 50;
    let mut sink = KafkaSink::connect(&config, 0).unwrap();
    let mut b = RecordBuilder::new();
    proxy.blackhole();
    let (records, end) = workload(&mut b, 0, 200, 3);
    let healer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        proxy.reset();
        proxy.heal();
        proxy
    });
    let started = Instant::now();
    sink.send(Batch { records: records.clone(), end_offset: end }).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500), "send returned in {:?}", started.elapsed());
    assert_eq!(sink.flush().unwrap(), end);
    let _proxy = healer.join().unwrap();
    let consumed = read_all(&tansu.bootstrap(), "cdc", 1, "read_uncommitted");
    check_complete_and_ordered(&records, &consumed, true);
}

/// A broker process that dies and is started again on the same port, with the data it held
/// gone (memory storage). With the idempotent producer (the default) the new broker does not
/// know the producer's id, so the records sent meanwhile time out: the sink says so, naming
/// the key, and the delivered offset stays at what the first broker acknowledged, so the
/// follower resumes from there and nothing is lost.
#[test]
fn a_broker_that_lost_its_state_fails_delivery_without_moving_the_offset() {
    let Restart { flush, delivered, end1, sent_while_down, .. } = restart_broker_mid_stream(&[], None);
    let err = flush.unwrap_err();
    // The failed record, as its delivery report gave it back: key and headers.
    let Error::KafkaDelivery { record, .. } = &err else { panic!("{err:?}") };
    let failed = sent_while_down.iter().find(|r| r.end_offset == record.offset).expect("one of those sent");
    assert_eq!(record.key, format!("key {:?}", String::from_utf8_lossy(failed.key.as_deref().unwrap())));
    assert_eq!(record.db, Some(0));
    assert!(err.to_string().contains("key:"), "{err}");
    assert_eq!(delivered, end1);
}

/// The same without idempotence (passed through as a librdkafka option): librdkafka's retries
/// deliver what was sent while the broker was down to the new one, with no gap.
#[test]
fn records_sent_while_the_broker_restarts_reach_the_new_one() {
    let r = restart_broker_mid_stream(&["enable.idempotence=false"], None);
    let end2 = r.sent_while_down.last().unwrap().end_offset.unwrap();
    assert_eq!((r.flush.unwrap(), r.delivered), (end2, end2));
    check_complete_and_ordered(&r.sent_while_down, &r.consumed, true);
}

/// A broker that keeps its data (S3 storage) and restarts: the idempotent producer carries
/// on where it was, and the topic holds everything sent before and during the restart, once,
/// in order.
#[test]
fn a_broker_restart_with_its_data_kept_loses_nothing() {
    let store = S3Store::start();
    let r = restart_broker_mid_stream(&[], Some(&store));
    let end2 = r.sent_while_down.last().unwrap().end_offset.unwrap();
    assert_eq!((r.flush.unwrap(), r.delivered), (end2, end2));
    let all: Vec<_> = r.sent_before.into_iter().chain(r.sent_while_down).collect();
    assert_eq!(check_complete_and_ordered(&all, &r.consumed, false), 0);
}

/// What happened around a broker restart.
struct Restart {
    flush: Result<u64, Error>,
    delivered: u64,
    /// The end of what the first broker process acknowledged.
    end1: u64,
    /// What the first broker process acknowledged.
    sent_before: Vec<sink::KafkaRecord>,
    /// What was sent while the broker was down, and what the new broker holds.
    sent_while_down: Vec<sink::KafkaRecord>,
    consumed: Vec<Consumed>,
}

/// Sends a batch, kills the broker, sends another, starts the broker again on the same port
/// (with `store`'s data, or empty) and flushes.
fn restart_broker_mid_stream(options: &[&str], store: Option<&S3Store>) -> Restart {
    let mut tansu = match store {
        Some(store) => Broker::builder().storage(store).start(),
        None => Broker::start(),
    };
    tansu.create_topic("cdc", 1);
    let mut config = config(&tansu.bootstrap(), "cdc").option("message.timeout.ms=5000").unwrap();
    for o in options {
        config = config.option(o).unwrap();
    }
    let mut sink = KafkaSink::connect(&config, 0).unwrap();
    let mut b = RecordBuilder::new();
    let (first, end1) = workload(&mut b, 0, 100, 3);
    sink.send(Batch { records: first.clone(), end_offset: end1 }).unwrap();
    assert_eq!(sink.flush().unwrap(), end1);

    tansu.stop();
    let (second, end2) = workload(&mut b, end1, 100, 3);
    sink.send(Batch { records: second.clone(), end_offset: end2 }).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(sink.delivered(), end1);

    tansu.restart();
    if store.is_none() {
        tansu.create_topic("cdc", 1);
    }
    let flush = sink.flush();
    let consumed = read_all(&tansu.bootstrap(), "cdc", 1, "read_uncommitted");
    Restart { flush, delivered: sink.delivered(), end1, sent_before: first, sent_while_down: second, consumed }
}
