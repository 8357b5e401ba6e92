//! The transactional Kafka sink against a real broker (tansu): what a `read_committed`
//! consumer sees after commits, an abort and a crash, and the checkpoint topic.
#![cfg(feature = "kafka")]

mod kafka_common;

use std::time::Duration;

use kafka_common::*;
use sink::{Batch, KafkaConfig, KafkaTxnConfig, KafkaTxnSink, RecordBuilder, Sink};
use testkit::Broker;

fn start() -> (Broker, KafkaConfig, KafkaTxnConfig) {
    let broker = Broker::start();
    broker.create_topic("events", 2);
    broker.create_topic("checkpoints", 1);
    let mut config = KafkaConfig::from_url(&format!("kafka://{}/events", broker.bootstrap())).unwrap();
    config.connect_timeout = Duration::from_secs(5);
    let mut txn = KafkaTxnConfig::new("redtail-test", "checkpoints");
    txn.step_timeout = Duration::from_secs(10);
    (broker, config, txn)
}

#[test]
fn a_read_committed_reader_sees_committed_records_only_and_the_checkpoint_round_trips() {
    let (broker, config, txn) = start();
    let mut sink = KafkaTxnSink::connect(&config, txn.clone()).unwrap();
    assert_eq!((sink.checkpoint(), sink.delivered()), (None, 0));
    let mut b = RecordBuilder::new();

    let (a, end_a) = workload(&mut b, 0, 100, 4);
    sink.send(Batch { records: a.clone(), end_offset: end_a }).unwrap();
    assert_eq!(sink.delivered(), 0, "nothing counts before the commit");
    assert_eq!(sink.flush().unwrap(), end_a);

    let (aborted, end_b) = workload(&mut b, end_a, 50, 4);
    sink.send(Batch { records: aborted, end_offset: end_b }).unwrap();
    sink.abort().unwrap();
    assert_eq!(sink.delivered(), end_a);

    // The follower resends from the delivered offset: the same offsets, now committed.
    let (c, end_c) = workload(&mut b, end_a, 80, 4);
    sink.send(Batch { records: c.clone(), end_offset: end_c }).unwrap();
    sink.set_position(REPLID, Some(0));
    assert_eq!(sink.flush().unwrap(), end_c);

    let consumed = read_all(&broker.bootstrap(), "events", 2, "read_committed");
    let committed: Vec<_> = a.into_iter().chain(c).collect();
    assert_eq!(check_complete_and_ordered(&committed, &consumed, false), 0);

    drop(sink);
    let again = KafkaTxnSink::connect(&config, txn).unwrap();
    let cp = again.checkpoint().expect("a checkpoint");
    assert_eq!((cp.replid.as_str(), cp.offset, cp.db), (REPLID, end_c, Some(0)));
    assert_eq!(again.delivered(), end_c);
}

/// A crash with a transaction open: the next start (same transactional id) fences the old
/// producer and aborts what it left, so readers see neither its records nor its checkpoint.
///
/// Ignored: tansu 0.6.0 does fence on `InitProducerId`, abort the open transaction and write
/// the abort markers, but every FetchResponse it sends has an empty AbortedTransactions list,
/// which is what a client reads to skip aborted records; so after the restart a
/// `read_committed` reader sees them. The checkpoint part holds (the restart resumes at the
/// last commit). Run with `--ignored` against a broker that lists aborted transactions; the
/// CLI test `follow_kafka_txn` works around it by recording the open transaction itself.
#[test]
#[ignore = "tansu 0.6.0 sends no AbortedTransactions in FetchResponse, so read_committed shows aborted records"]
fn a_crash_inside_a_transaction_leaves_no_trace() {
    let (broker, config, txn) = start();
    let mut sink = KafkaTxnSink::connect(&config, txn.clone()).unwrap();
    let mut b = RecordBuilder::new();
    let (a, end_a) = workload(&mut b, 0, 60, 3);
    sink.send(Batch { records: a.clone(), end_offset: end_a }).unwrap();
    assert_eq!(sink.flush().unwrap(), end_a);
    let (lost, end_b) = workload(&mut b, end_a, 60, 3);
    sink.send(Batch { records: lost, end_offset: end_b }).unwrap();
    // Let the records reach the broker, inside the open transaction, then "crash".
    std::thread::sleep(Duration::from_millis(500));
    std::mem::forget(sink);
    let before = read_all(&broker.bootstrap(), "events", 2, "read_committed");
    assert_eq!(check_complete_and_ordered(&a, &before, false), 0, "an open transaction is invisible");

    let restarted = KafkaTxnSink::connect(&config, txn).unwrap();
    assert_eq!(restarted.checkpoint().map(|cp| cp.offset), Some(end_a));
    let consumed = read_all(&broker.bootstrap(), "events", 2, "read_committed");
    assert_eq!(check_complete_and_ordered(&a, &consumed, false), 0);
}
