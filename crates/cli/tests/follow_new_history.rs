//! A master restarted without persistence starts a new history: a new replication ID whose
//! offsets count again from near 0. For each sink that reports delivery (files, a Redis
//! target, standard output), the checkpoint must then move to the new history and follow it,
//! although its offsets are far below the old ones: a sink that only ever reports a higher
//! offset than before would leave the checkpoint, and the master's view of the ack, behind
//! for good.

mod common;

use std::path::Path;
use std::time::Instant;

use common::follow::{saved_checkpoint, wait_replica_online, Follower, WITHIN};
use testkit::{FaultProxy, Server};

/// `master_replid` and `master_repl_offset` from the server's own `INFO replication`.
fn history(server: &Server) -> (String, u64) {
    let info = server.info("replication");
    let field = |name: &str| {
        info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(|v| v.trim().to_string()).unwrap()
    };
    (field("master_replid"), field("master_repl_offset").parse().unwrap())
}

/// Waits until the checkpoint names `replid` at `offset` or later (the master's pings may
/// come after `offset` was read).
#[track_caller]
fn wait_checkpoint(path: &Path, want: &(String, u64), follower: &Follower) {
    let deadline = Instant::now() + WITHIN;
    loop {
        let seen = saved_checkpoint(path);
        if seen.as_ref().is_some_and(|c| c.replid == want.0 && c.offset >= want.1) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "checkpoint {seen:?}, expected {want:?} or later within {WITHIN:?}\n{}",
            follower.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn checkpoint_follows_the_new_history(sink: &[&str]) {
    let first = Server::start("redis-7.0");
    let proxy = FaultProxy::start(first.port());
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("checkpoint");
    let url = format!("redis://127.0.0.1:{}", proxy.port());
    let args = [sink, &["--checkpoint", cp.to_str().unwrap(), &url]].concat();
    let follower = Follower::start(&args);
    wait_replica_online(&first);
    // Enough history that the old offsets stay far above the new master's.
    let value = "v".repeat(1000);
    for i in 0..200 {
        first.cmd_str(&["SET", &format!("old:{i}"), &value]).expect_ok();
    }
    wait_checkpoint(&cp, &history(&first), &follower);

    // "Restart": the same address now leads to a fresh, empty server.
    let second = Server::start("redis-7.0");
    proxy.set_upstream(second.port());
    drop(first);
    wait_replica_online(&second);
    for i in 0..10 {
        second.cmd_str(&["SET", &format!("new:{i}"), "1"]).expect_ok();
    }
    let now = history(&second);
    assert!(now.1 < 200_000, "the new history's offsets start lower: {now:?}");
    wait_checkpoint(&cp, &now, &follower);
}

#[test]
fn to_stdout() {
    checkpoint_follows_the_new_history(&[]);
}

#[test]
fn to_files() {
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("file:{}", dir.path().join("events").display());
    checkpoint_follows_the_new_history(&["--sink", &sink, "--fsync", "always"]);
}

#[test]
fn to_a_redis_target() {
    let target = Server::start("redis-7.0");
    let sink = format!("redis://127.0.0.1:{}", target.port());
    checkpoint_follows_the_new_history(&["--sink", &sink]);
}
