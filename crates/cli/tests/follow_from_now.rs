//! `redtail follow --from now`: no snapshot, and the first command event is the first write
//! made after it started. A master keeps a backlog (which "now" resumes from) only once it
//! has had a replica, so each test gives it a real one first.

mod common;

use std::time::Duration;

use common::follow::{ack_and_master_offset, assert_acked_within, commands, wait_link_up, Follower};
use testkit::Server;

/// Stops with `signal`, which must end it cleanly (exit 0).
fn first_event_is_the_next_write(name: &str, signal: &str) {
    let master = Server::start(name);
    // `slaveof` is understood by every version (`replicaof` only from 5.0).
    let _replica = Server::builder(name).arg("--slaveof").arg("127.0.0.1").arg(master.port().to_string()).start();
    wait_link_up(&_replica);
    for i in 0..50 {
        master.cmd_str(&["SET", &format!("before:{i}"), "x"]).expect_ok();
    }

    let mut follower = Follower::start(&["--from", "now", &master.url()]);
    let events = follower.wait_synced();
    let sync = &events[0];
    assert_eq!((sync["event"].as_str(), sync["mode"].as_str()), (Some("sync"), Some("continue")), "{events:?}");
    let (_, master_offset) = ack_and_master_offset(&master);
    assert!(sync["offset"].as_u64().unwrap() <= master_offset, "{sync} is past the master's {master_offset}");

    master.cmd_str(&["SET", "after", "1"]).expect_ok();
    let events = follower.wait_for_events("a command event", |events| !commands(events).is_empty());
    let first = commands(&events)[0];
    assert_eq!((first["command"].as_str(), first["args"][0].as_str()), (Some("set"), Some("after")), "{events:?}");
    assert!(
        events.iter().all(|e| matches!(e["event"].as_str(), Some("sync" | "command"))),
        "nothing but the sync and the write: {events:?}"
    );
    // Both replicas, the real one and redtail, have acknowledged the write.
    assert_acked_within(&master, Duration::from_secs(2));
    let (status, follower) = follower.stop_with(signal);
    assert!(status.success(), "SIG{signal}: {status}\n{}", follower.stderr());
}

#[test]
fn redis_2_8() {
    first_event_is_the_next_write("redis-2.8", "TERM");
}

#[test]
fn redis_3_2() {
    first_event_is_the_next_write("redis-3.2", "TERM");
}

#[test]
fn redis_5_0() {
    first_event_is_the_next_write("redis-5.0", "INT");
}

#[test]
fn redis_6_2() {
    first_event_is_the_next_write("redis-6.2", "TERM");
}

#[test]
fn redis_7_0() {
    first_event_is_the_next_write("redis-7.0", "INT");
}

#[test]
fn redis_7_4() {
    first_event_is_the_next_write("redis-7.4", "TERM");
}

#[test]
fn redis_8_2() {
    first_event_is_the_next_write("redis-8.2", "INT");
}

#[test]
fn valkey_9_1() {
    first_event_is_the_next_write("valkey-9.1", "TERM");
}

/// A master that never had a replica has no backlog to start "now" from: a source error that
/// says how to take a snapshot instead, and with `--fallback snapshot` a full sync.
#[test]
fn without_a_backlog_fails_or_falls_back() {
    let master = Server::start("redis-7.0");
    master.cmd_str(&["SET", "k", "v"]).expect_ok();
    let mut follower = Follower::start(&["--from", "now", &master.url()]);
    let status = follower.wait();
    assert_eq!(status.code(), Some(4), "{}", follower.stderr());
    assert!(follower.stderr().contains("--fallback snapshot"), "{}", follower.stderr());

    // Another fresh master: the attempt above gave this one a backlog.
    let master = Server::start("redis-7.0");
    master.cmd_str(&["SET", "k", "v"]).expect_ok();
    let mut follower = Follower::start(&["--from", "now", "--fallback", "snapshot", &master.url()]);
    let events = follower.wait_for_events("the snapshot's end", |events| events.iter().any(|e| e["event"] == "end"));
    assert_eq!(events[0]["mode"], "full", "{events:?}");
    assert!(events.iter().any(|e| e["event"] == "key" && e["key"] == "k"), "{events:?}");
}
