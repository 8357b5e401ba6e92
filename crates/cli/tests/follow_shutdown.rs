//! Graceful shutdown: SIGTERM or SIGINT in the middle of a stream of numbered writes exits 0,
//! the output ends with a whole line, and the checkpoint is exactly the end offset of the last
//! event written. So a restart from it continues with the very next write: no gap and no
//! duplicate (unlike a SIGKILL, after which writes past the checkpoint may come again, see
//! follow_resume.rs).
//!
//! The master's PINGs are turned off (`repl-ping-replica-period`), because a PING after the
//! last write moves the checkpoint past the last event, which is right, but not what this
//! test can compare exactly.

mod common;

use std::time::{Duration, Instant};

use common::follow::{
    assert_acked_within, commands, json_lines, saved_checkpoint, wait_replica_online, write_number, Follower, WITHIN,
};
use common::writer::BackgroundWriter;
use serde_json::Value;
use testkit::{Reply, Server};

/// The checkpoint file's `offset`.
fn checkpoint_offset(path: &std::path::Path) -> u64 {
    saved_checkpoint(path).expect("a checkpoint file").offset
}

/// (write number, start, end) of each command event, which must all be numbered writes.
fn writes(events: &[Value]) -> Vec<(u64, u64, u64)> {
    commands(events)
        .into_iter()
        .map(|c| {
            let n = write_number(c).unwrap_or_else(|| panic!("not a numbered write: {c}"));
            (n, c["start_offset"].as_u64().unwrap(), c["end_offset"].as_u64().unwrap())
        })
        .collect()
}

fn stop_mid_stream_and_resume(name: &str, signal: &str) {
    let master = Server::start(name);
    master.cmd_str(&["CONFIG", "SET", "repl-ping-replica-period", "3600"]).expect_ok();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let cp = checkpoint.to_str().unwrap();

    let mut first = Follower::start(&["--checkpoint", cp, &master.url()]);
    first.wait_synced();
    let writer = BackgroundWriter::start(master.port(), |client, i| {
        client.cmd_str(&["SET", &format!("n:{i}"), &i.to_string()]).unwrap().expect_ok();
    });
    first.wait_for_events("1000 writes", |events| commands(events).len() >= 1000);
    // The writes go on while it stops.
    let (status, first) = first.stop_with(signal);
    assert!(status.success(), "{name}: SIG{signal} exits 0, got {status}\n{}", first.stderr());
    let output = first.output();
    assert_eq!(output.last(), Some(&b'\n'), "{name}: the output ends with a whole line");
    let before = writes(&json_lines(&output));
    let &(last, _, last_end) = before.last().unwrap();
    assert_eq!(checkpoint_offset(&checkpoint), last_end, "{name}: the checkpoint is the last event's end");

    let mut second = Follower::start(&["--from", "checkpoint", "--checkpoint", cp, &master.url()]);
    second.wait_for_events("writes after the restart", |events| writes(events).len() >= 500);
    let stopped_at = writer.stop();
    second.wait_for_events("the last write", |events| writes(events).last().is_some_and(|w| w.0 == stopped_at));
    let (status, second) = second.terminate();
    assert!(status.success(), "{name}: {status}\n{}", second.stderr());
    let events = json_lines(&second.output());
    assert_eq!((events[0]["mode"].as_str(), events[0]["offset"].as_u64()), (Some("continue"), Some(last_end)));
    let after = writes(&events);
    assert_eq!(after[0].1, last_end, "{name}: the first write after the restart starts at the checkpoint");

    let numbers: Vec<u64> = before.iter().chain(&after).map(|w| w.0).collect();
    assert_eq!(numbers, (0..=stopped_at).collect::<Vec<_>>(), "{name}: stopped after write {last}");
    eprintln!("{name}: SIG{signal} after write {last} (offset {last_end}), {} more after the restart", after.len());
}

#[test]
fn sigterm_redis_7_0() {
    stop_mid_stream_and_resume("redis-7.0", "TERM");
}

#[test]
fn sigint_valkey_9_1() {
    stop_mid_stream_and_resume("valkey-9.1", "INT");
}

/// The numbers pushed to `key`, in order.
fn pushed(server: &Server, key: &str) -> Vec<u64> {
    let Reply::Array(items) = server.cmd_str(&["LRANGE", key, "0", "-1"]) else { panic!("LRANGE {key}") };
    items.iter().map(|i| i.as_str().and_then(|s| s.parse().ok()).expect("a number")).collect()
}

#[track_caller]
fn wait_pushed(server: &Server, key: &str, at_least: usize) {
    let deadline = Instant::now() + WITHIN;
    while server.cmd_str(&["LLEN", key]).as_int().unwrap_or(0) < at_least as i64 {
        assert!(Instant::now() < deadline, "{key}: not {at_least} items on {} within {WITHIN:?}", server.name());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// With a Redis target: SIGTERM in the middle of the stream exits 0 once the target has
/// answered everything sent, and checkpoints exactly what it applied, so a restart from the
/// checkpoint neither repeats nor skips a write. The writes are `RPUSH`es of their numbers,
/// which are not idempotent: a checkpoint behind what the target applied would push numbers
/// twice, one ahead of it would leave a gap.
#[test]
fn sigterm_with_a_redis_target_flushes_it_and_checkpoints() {
    let master = Server::start("redis-7.0");
    let target = Server::start("redis-7.0");
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let cp = checkpoint.to_str().unwrap();
    let sink = format!("redis://127.0.0.1:{}", target.port());

    let first = Follower::start(&["--sink", &sink, "--checkpoint", cp, &master.url()]);
    wait_replica_online(&master);
    let writer = BackgroundWriter::start(master.port(), |client, i| {
        assert_eq!(client.cmd_str(&["RPUSH", "log", &i.to_string()]).unwrap().as_int(), Some(i as i64 + 1));
    });
    wait_pushed(&target, "log", 1000);
    // The writes go on while it stops.
    let (status, first) = first.stop_with("TERM");
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", first.stderr());
    let applied = pushed(&target, "log");
    assert_eq!(applied, (0..applied.len() as u64).collect::<Vec<_>>(), "the target holds a prefix of the writes");

    let second = Follower::start(&["--sink", &sink, "--checkpoint", cp, "--from", "checkpoint", &master.url()]);
    wait_pushed(&target, "log", applied.len() + 500);
    let last = writer.stop();
    assert_acked_within(&master, Duration::from_secs(10));
    assert_eq!(pushed(&target, "log"), (0..=last).collect::<Vec<_>>(), "no write twice, none missing");
    let (status, second) = second.terminate();
    assert!(status.success(), "{status}\n{}", second.stderr());
    eprintln!(
        "stopped after {} writes (checkpoint {}), {last} written in all",
        applied.len(),
        checkpoint_offset(&checkpoint)
    );
}
