//! Live migration into a 3-master cluster: `redtail follow SOURCE --sink redis://NODE`, with a
//! standalone source holding the known data set (in db 0: a cluster has no other db) and a
//! workload of single-slot writes and hash-tagged transactions during the copy. Once the writes
//! stop and the source has seen everything acknowledged, `redtail verify` finds no difference
//! between the source and the cluster.

mod common;

use std::time::Duration;

use common::follow::{assert_acked_within, wait_replica_online, Follower, WITHIN};
use common::writer::BackgroundWriter;
use testkit::{Cluster, Reply, Server};

fn cluster_workload(client: &mut testkit::Client, i: u64) {
    let s = |c: &mut testkit::Client, args: &[&str]| {
        let r = c.cmd_str(args).unwrap();
        assert!(!r.is_error(), "{args:?}: {r:?}");
    };
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
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redtail"))
        .args(["verify", &source.url(), &cluster.url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "redtail verify: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
