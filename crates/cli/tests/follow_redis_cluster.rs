//! Live migration into a 3-master cluster: `redtail follow SOURCE --sink redis://NODE`, with a
//! standalone source holding the known data set (in db 0: a cluster has no other db) and a
//! workload of single-slot writes and hash-tagged transactions during the copy. Once the writes
//! stop and the source has seen everything acknowledged, `redtail verify` finds no difference
//! between the source and the cluster, also when a slot migrates between masters meanwhile.

mod common;

use std::time::{Duration, Instant};

use common::compare::assert_verify_clean;
use common::follow::{assert_acked_within, wait_replica_online, Follower, WITHIN};
use common::writer::BackgroundWriter;
use sink::redis_cluster::key_slot;
use testkit::{Cluster, Reply, Server};

/// Runs a write that must succeed.
fn s(client: &mut testkit::Client, args: &[&str]) {
    let r = client.cmd_str(args).unwrap();
    assert!(!r.is_error(), "{args:?}: {r:?}");
}

fn cluster_workload(client: &mut testkit::Client, i: u64) {
    s(client, &["SET", &format!("w:{i}"), &i.to_string()]);
    s(client, &["INCR", "counter"]);
    s(client, &["RPUSH", &format!("log:{}", i % 5), &format!("x{i}")]);
    s(client, &["HSET", "h", &format!("f{}", i % 50), &i.to_string()]);
    s(client, &["PEXPIREAT", &format!("w:{i}"), "4102444800000"]);
    if i >= 5 && i.is_multiple_of(7) {
        s(client, &["DEL", &format!("w:{}", i - 5)]);
    }
    if i.is_multiple_of(10) {
        // One slot: the hash tag.
        s(client, &["MULTI"]);
        s(client, &["INCR", "{tx}:count"]);
        s(client, &["SADD", "{tx}:members", &i.to_string()]);
        s(client, &["EXEC"]);
        s(client, &["MSET", &format!("{{m{i}}}a"), "1", &format!("{{m{i}}}b"), "2"]);
    }
}

/// The data set with every key moved into db 0.
fn source_in_db0(name: &str) -> Server {
    let source = Server::start(name);
    testkit::dataset::write_dataset(&source);
    for db in 1..16 {
        source.cmd_str(&["SELECT", &db.to_string()]).expect_ok();
        let Reply::Array(keys) = source.cmd_str(&["KEYS", "*"]) else { panic!("KEYS") };
        for key in keys {
            assert_eq!(source.cmd(&[b"MOVE", key.as_bytes().unwrap(), b"0"]), Reply::Int(1));
        }
    }
    source.cmd_str(&["SELECT", "0"]).expect_ok();
    source
}

#[test]
fn redis_7_0_standalone_to_a_3_master_cluster_while_writing() {
    let source = source_in_db0("redis-7.0");
    let cluster = Cluster::start("redis-7.0", 3);
    let writer = BackgroundWriter::start(source.port(), cluster_workload);
    let sink = format!("redis://127.0.0.1:{}", cluster.nodes()[1].port());
    let redtail = Follower::start(&["--sink", &sink, &source.url()]);
    wait_replica_online(&source);
    let from = writer.done();
    let deadline = std::time::Instant::now() + WITHIN;
    while writer.done() < from + 300 {
        assert!(std::time::Instant::now() < deadline, "the workload stalled");
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.stop();
    assert_acked_within(&source, Duration::from_secs(10));

    let sizes: Vec<i64> = cluster.nodes().iter().map(|n| n.cmd_str(&["DBSIZE"]).as_int().unwrap()).collect();
    assert!(sizes.iter().all(|&n| n > 0), "every master holds keys: {sizes:?}");
    assert_verify_clean(&[&source.url(), &cluster.url()]);
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}

/// Writes into the slot of `{mig}`: strings, a list and a counter (not idempotent), and an
/// `MSET` of two keys that the node answers with `-TRYAGAIN` while one has moved and the other
/// not; and writes elsewhere.
fn migrating_slot_workload(client: &mut testkit::Client, i: u64) {
    s(client, &["SET", &format!("{{mig}}:w{}", i % 200), &i.to_string()]);
    s(client, &["RPUSH", "{mig}:log", &i.to_string()]);
    s(client, &["INCR", "{mig}:n"]);
    if i.is_multiple_of(5) {
        s(client, &["MSET", "{mig}:a", &i.to_string(), "{mig}:b", &i.to_string()]);
    }
    s(client, &["SET", &format!("other:{}", i % 300), &i.to_string()]);
}

/// Waits until the writer has done `more` rounds more.
#[track_caller]
fn wait_rounds(writer: &BackgroundWriter, more: u64) {
    let (from, deadline) = (writer.done(), Instant::now() + WITHIN);
    while writer.done() < from + more {
        assert!(Instant::now() < deadline, "the workload stalled");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A slot moves to another master, a few keys at a time, while the source keeps writing into
/// it and redtail keeps copying: the old owner answers `-ASK`, `-TRYAGAIN` and at last
/// `-MOVED`, redtail follows each, and the cluster ends with the source's data.
#[test]
fn a_slot_migrating_while_redtail_writes_into_it() {
    let source = Server::start("redis-7.0");
    let cluster = Cluster::start("redis-7.0", 3);
    let slot = key_slot(b"mig");
    let (from, to) = (cluster.owner_of(slot), (cluster.owner_of(slot) + 1) % 3);
    let writer = BackgroundWriter::start(source.port(), migrating_slot_workload);
    let sink = format!("redis://127.0.0.1:{}", cluster.nodes()[0].port());
    let redtail = Follower::start(&["--sink", &sink, &source.url()]);
    wait_replica_online(&source);
    wait_rounds(&writer, 100);

    cluster.begin_migration(slot, from, to);
    while cluster.migrate_keys(slot, from, to, 10) > 0 {
        wait_rounds(&writer, 10);
    }
    cluster.finish_migration(slot, from, to);
    wait_rounds(&writer, 200);
    writer.stop();
    assert_acked_within(&source, Duration::from_secs(10));

    let old_owner = &cluster.nodes()[from];
    assert!(old_owner.error_count("MOVED") > 0, "redtail wrote to the old owner after the move");
    eprintln!(
        "the old owner answered ASK {}, TRYAGAIN {}",
        old_owner.error_count("ASK"),
        old_owner.error_count("TRYAGAIN")
    );
    assert_verify_clean(&[&source.url(), &cluster.url()]);
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}

/// A multi-key write across slots cannot run on a cluster: with the default policy the
/// migration stops with exit code 5 and an error naming the command and its keys.
#[test]
fn a_cross_slot_write_stops_the_migration_by_name() {
    let source = Server::start("redis-7.0");
    let cluster = Cluster::start("redis-7.0", 3);
    let sink = format!("redis://127.0.0.1:{}", cluster.nodes()[0].port());
    let mut redtail = Follower::start(&["--sink", &sink, &source.url()]);
    wait_replica_online(&source);
    source.cmd_str(&["MSET", "alpha", "1", "beta", "2"]).expect_ok();
    let status = redtail.wait();
    assert_eq!(status.code(), Some(5), "{}", redtail.stderr());
    let stderr = redtail.stderr();
    assert!(stderr.contains("MSET") && stderr.contains("\"alpha\"") && stderr.contains("\"beta\""), "{stderr}");
}
