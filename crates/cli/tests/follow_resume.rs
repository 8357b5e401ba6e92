//! Crash and resume: `redtail follow --checkpoint F` is killed with SIGKILL in the middle of a
//! stream of numbered writes, then restarted with `--from checkpoint`. The union of the command
//! events of both runs is exactly the writes, in order, with no gap; the only repeats are
//! writes after the saved checkpoint, with the same replid and offsets as the first time. A
//! SIGTERM at the end exits 0 with everything written and the checkpoint at the last write.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::follow::{assert_acked_within, commands, json_lines, saved_checkpoint, write_number, Follower, WITHIN};
use common::writer::BackgroundWriter;
use serde_json::Value;
use testkit::Server;

/// Writes `SET n:<i> <i>` in db 3 for i = 0, 1, ... until stopped.
fn start_writer(port: u16) -> BackgroundWriter {
    BackgroundWriter::start(port, |client, i| {
        if i == 0 {
            client.cmd_str(&["SELECT", "3"]).unwrap().expect_ok();
        }
        client.cmd_str(&["SET", &format!("n:{i}"), &i.to_string()]).unwrap().expect_ok();
    })
}

/// The checkpoint file's `offset` and `db` lines.
fn read_checkpoint(path: &std::path::Path) -> (u64, String) {
    let saved = saved_checkpoint(path).expect("a checkpoint file");
    (saved.offset, saved.db)
}

/// (write number, replid, start, end) of each numbered write among the events.
fn writes(events: &[Value]) -> Vec<(u64, String, u64, u64)> {
    commands(events)
        .into_iter()
        .map(|c| {
            assert_eq!(c["db"], 3, "every write is in db 3, also after a resume: {c}");
            let n = write_number(c).unwrap_or_else(|| panic!("not a numbered write: {c}"));
            (
                n,
                c["replid"].as_str().unwrap().to_string(),
                c["start_offset"].as_u64().unwrap(),
                c["end_offset"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn crash_and_resume(name: &str) {
    let master = Server::start(name);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let cp_arg = checkpoint.to_str().unwrap();

    let mut first = Follower::start(&["--checkpoint", cp_arg, &master.url()]);
    first.wait_synced();
    let writer = start_writer(master.port());
    first.wait_for_events("500 writes", |events| commands(events).len() >= 500);
    // A checkpoint past the writer's SELECT, so the resume must restore the db (the master
    // does not send SELECT again on +CONTINUE). It is saved just after the output's flush.
    let deadline = Instant::now() + WITHIN;
    while !checkpoint.exists() || read_checkpoint(&checkpoint).1 != "3" {
        assert!(Instant::now() < deadline, "no checkpoint in db 3 while the stream flows");
        std::thread::sleep(Duration::from_millis(5));
    }
    let first = first.kill();
    let (saved_offset, saved_db) = read_checkpoint(&checkpoint);
    assert_eq!(saved_db, "3");
    let before = writes(&json_lines(&first.output()));

    // The writes go on while nobody follows.
    let resumed_at = before.last().unwrap().0 + 300;
    let mut probe = master.client();
    probe.cmd_str(&["SELECT", "3"]).unwrap().expect_ok();
    let deadline = Instant::now() + WITHIN;
    while probe.cmd_str(&["EXISTS", &format!("n:{resumed_at}")]).unwrap().as_int() != Some(1) {
        assert!(Instant::now() < deadline, "the writer is stuck");
        std::thread::sleep(Duration::from_millis(5));
    }

    let mut second = Follower::start(&["--from", "checkpoint", "--checkpoint", cp_arg, &master.url()]);
    second.wait_for_events("writes after the resume", |events| {
        writes(events).last().is_some_and(|w| w.0 > resumed_at + 300)
    });
    let last = writer.stop();
    let events = second.wait_for_events("the last write", |events| writes(events).last().is_some_and(|w| w.0 == last));
    assert_acked_within(&master, Duration::from_secs(2));
    let (status, second) = second.terminate();
    assert!(status.success(), "{name}: SIGTERM exits 0, got {status}\n{}", second.stderr());
    let after_events = json_lines(&second.output());
    assert_eq!(events[0]["event"], "sync");
    assert_eq!((events[0]["mode"].as_str(), events[0]["offset"].as_u64()), (Some("continue"), Some(saved_offset)));
    let after = writes(&after_events);

    // Before the kill: 0, 1, 2, ... in order. After: consecutive up to the last write.
    let numbers = |w: &[(u64, String, u64, u64)]| w.iter().map(|w| w.0).collect::<Vec<_>>();
    assert_eq!(numbers(&before), (0..before.len() as u64).collect::<Vec<_>>(), "{name}: first run");
    let resumed = after[0].0;
    assert_eq!(numbers(&after), (resumed..=last).collect::<Vec<_>>(), "{name}: second run");
    assert!(resumed <= before.len() as u64, "{name}: gap between write {} and {resumed}", before.len() - 1);

    // Repeats are exactly the writes the first run wrote after its checkpoint, recognisable by
    // their offsets: the same replid and [start, end) as the first time, past the checkpoint.
    let first_seen: BTreeMap<u64, &(u64, String, u64, u64)> = before.iter().map(|w| (w.0, w)).collect();
    let repeats: Vec<_> = after.iter().filter(|w| first_seen.contains_key(&w.0)).collect();
    for w in &repeats {
        assert_eq!(*w, first_seen[&w.0], "{name}: a repeat carries the first delivery's offsets");
        assert!(w.2 >= saved_offset, "{name}: write {} ended at {} before the checkpoint {saved_offset}", w.0, w.3);
    }
    for w in &before {
        assert_eq!(w.3 <= saved_offset, !repeats.iter().any(|r| r.0 == w.0), "{name}: write {}", w.0);
    }

    eprintln!(
        "{name}: first run {} writes, checkpoint {saved_offset}, resumed at {resumed}, {} repeats, last {last}",
        before.len(),
        repeats.len()
    );
    // The clean stop saved the position of the last write (or later: a PING after it).
    let (final_offset, _) = read_checkpoint(&checkpoint);
    assert!(final_offset >= after.last().unwrap().3, "{name}: checkpoint {final_offset} after {:?}", after.last());
}

#[test]
fn redis_2_8() {
    crash_and_resume("redis-2.8");
}

#[test]
fn redis_3_2() {
    crash_and_resume("redis-3.2");
}

#[test]
fn redis_5_0() {
    crash_and_resume("redis-5.0");
}

#[test]
fn redis_6_2() {
    crash_and_resume("redis-6.2");
}

#[test]
fn redis_7_0() {
    crash_and_resume("redis-7.0");
}

#[test]
fn redis_7_4() {
    crash_and_resume("redis-7.4");
}

#[test]
fn redis_8_2() {
    crash_and_resume("redis-8.2");
}

#[test]
fn valkey_9_1() {
    crash_and_resume("valkey-9.1");
}
