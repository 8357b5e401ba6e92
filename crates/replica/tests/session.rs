//! The reconnecting session against real servers: cuts at every phase, resets, a silent
//! network, a start from now, a restarted master and a failover. In each, what the handler
//! sees must replay to exactly the writes made: in order, no gap.

mod common;

use std::time::Duration;

use common::*;
use replica::{Backoff, Config, ReplId, SessionConfig, Source, StartFrom};
use testkit::{Direction, FaultProxy, Server};

const WITHIN: Duration = Duration::from_secs(60);

fn config(sources: Vec<Source>, start: StartFrom) -> SessionConfig {
    SessionConfig {
        sources,
        start,
        // Short waits keep the tests quick; the doubling is the same.
        backoff: Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(500) },
        connect_timeout: Duration::from_secs(5),
        ..SessionConfig::default()
    }
}

fn source(port: u16) -> Source {
    Source::parse(&format!("redis://127.0.0.1:{port}")).unwrap()
}

fn count(all: &[Seen], pred: impl Fn(&Seen) -> bool) -> usize {
    all.iter().filter(|s| pred(s)).count()
}

/// Cuts in the handshake (both directions), in the snapshot, and in the stream (in the middle
/// of commands, and from our side while we ACK), with writes flowing all along. Each lost
/// stream connection resumes with `+CONTINUE`; the snapshot cut leads to one announced resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_cuts_at_every_phase() {
    let master = Server::start("redis-7.0");
    // A snapshot large enough to cut in the middle of.
    master.cmd_str(&["DEBUG", "POPULATE", "20000", "pre", "40"]).expect_ok();
    master.cmd_str(&["SAVE"]).expect_ok();
    let rdb_len = std::fs::metadata(master.rdb_path()).unwrap().len();
    let proxy = FaultProxy::start(master.port());
    // Handshake: PING plus REPLCONFs plus `PSYNC ? -1` is 191 bytes up; `REPLCONF ACK`s (about
    // 40 bytes) go up only in the stream, every 100 ms while data flows.
    proxy.schedule_cuts(&[
        (Direction::Upstream, 30),            // inside the REPLCONF pipeline
        (Direction::Downstream, 40),          // inside the replies to it
        (Direction::Downstream, rdb_len / 2), // inside the snapshot
        (Direction::Upstream, 191 + 150),     // the stream, after a few ACKs
        (Direction::Downstream, 600),         // the stream after +CONTINUE, mid-command
        (Direction::Upstream, 235 + 150),     // the stream again, after +CONTINUE
    ]);
    let writer = Writer::start(master.port(), 0, Duration::from_millis(1));
    let (mut rx, task) = spawn_session(config(vec![source(proxy.port())], StartFrom::Snapshot));

    let mut all = collect_until(&mut rx, WITHIN, |_| proxy.cuts() == 6).await;
    // Stop writing once every cut has happened, and wait for the last write to arrive.
    let last = tokio::task::spawn_blocking(move || writer.stop()).await.unwrap();
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(last)).await);
    task.abort();

    assert_eq!(proxy.connections(), 7);
    assert_exactly_the_writes(&all, last);
    assert_eq!(replay(&all).duplicates, 0, "everything seen was delivered, so nothing repeats");
    let begins = count(&all, |s| matches!(s, Seen::SnapshotBegin { .. }));
    let resyncs = count(&all, |s| matches!(s, Seen::Resync { .. }));
    let continues = count(&all, |s| matches!(s, Seen::Continue { .. }));
    assert_eq!((begins, resyncs, continues), (2, 1, 3), "{}", summary(&all));
    // The resync comes right before the second snapshot, with its position.
    let i = all.iter().position(|s| matches!(s, Seen::Resync { .. })).unwrap();
    let (Seen::Resync { replid, offset }, Seen::SnapshotBegin { replid: r2, offset: o2 }) = (&all[i], &all[i + 1])
    else {
        panic!("{:?} then {:?}", all[i], all[i + 1])
    };
    assert_eq!((replid, offset), (r2, o2));
}

/// A network that goes silent (no FIN, no RST) is noticed by the read timeout; a reset is
/// noticed at once. Both resume with `+CONTINUE` and lose nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_network_and_reset_resume_without_loss() {
    // The master PINGs every second, so a 2 s silence means the network, not an idle master.
    let master = Server::builder("redis-7.0").arg("--repl-ping-replica-period").arg("1").start();
    write_range(&master, 0..10);
    let proxy = FaultProxy::start(master.port());
    let mut cfg = config(vec![source(proxy.port())], StartFrom::Snapshot);
    cfg.replica = Config { read_timeout: Duration::from_secs(2), ..Config::default() };
    let (mut rx, task) = spawn_session(cfg);
    let all = collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    let mut all = all;

    proxy.blackhole();
    write_range(&master, 10..20);
    // The session gives up on the silent connection and opens another (which the proxy
    // accepts, but holds too).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while proxy.connections() < 2 {
        assert!(std::time::Instant::now() < deadline, "the read timeout never fired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.heal();
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(19)).await);
    assert!(all.iter().any(|s| matches!(s, Seen::Continue { .. })), "{}", summary(&all));

    proxy.reset();
    write_range(&master, 20..30);
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(29)).await);
    task.abort();

    assert_exactly_the_writes(&all, 29);
    assert_eq!(count(&all, |s| matches!(s, Seen::SnapshotBegin { .. })), 1);
    assert_eq!(count(&all, |s| matches!(s, Seen::Continue { .. })), 2, "{}", summary(&all));
}

/// From now: no snapshot, and the first write seen is the first one made after the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_now_sees_only_later_writes() {
    let master = Server::start("redis-7.0");
    // A backlog exists only once some replica has connected.
    let _replica =
        Server::builder("redis-7.0").arg("--replicaof").arg("127.0.0.1").arg(master.port().to_string()).start();
    wait_link_up(&_replica);
    write_range(&master, 0..100);
    let (mut rx, task) =
        spawn_session(config(vec![source(master.port())], StartFrom::Now { fallback_snapshot: false }));
    let Seen::Continue { offset, .. } = next(&mut rx, WITHIN).await else { panic!("expected +CONTINUE first") };
    assert_eq!(Some(offset), replication_info(&master).offset, "resumed at the master's offset");
    write_range(&master, 100..150);
    let all = collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(149)).await;
    task.abort();
    let writes: Vec<u64> = all.iter().filter_map(Seen::write_number).collect();
    assert_eq!(writes, (100..150).collect::<Vec<_>>());
    assert!(!all.iter().any(|s| matches!(s, Seen::SnapshotBegin { .. } | Seen::Key(_))));
}

/// From now on a master with no backlog: a clear error, or with the fallback a snapshot
/// (and no resync announcement: nothing was seen before it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_now_without_a_backlog_fails_or_falls_back() {
    let master = Server::start("redis-7.0");
    write_range(&master, 0..5);
    let (_rx, task) = spawn_session(config(vec![source(master.port())], StartFrom::Now { fallback_snapshot: false }));
    let err = tokio::time::timeout(WITHIN, task).await.unwrap().unwrap();
    assert!(err.contains("cannot start from now") && err.contains("full resync"), "{err}");

    let master = Server::start("redis-7.0");
    write_range(&master, 0..5);
    let (mut rx, task) = spawn_session(config(vec![source(master.port())], StartFrom::Now { fallback_snapshot: true }));
    let all = collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    write_range(&master, 5..8);
    let mut all = all;
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(7)).await);
    task.abort();
    assert!(matches!(all[0], Seen::SnapshotBegin { .. }), "{:?}", all[0]);
    assert_exactly_the_writes(&all, 7);
}

/// A master restarted without persistence has a new history: the resume is answered with a
/// full sync, announced with `Resync` before the new (empty-then-refilled) snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_master_gives_a_resync_and_a_new_snapshot() {
    let first = Server::start("redis-7.0");
    write_range(&first, 0..10);
    let proxy = FaultProxy::start(first.port());
    let (mut rx, task) = spawn_session(config(vec![source(proxy.port())], StartFrom::Snapshot));
    collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    write_range(&first, 10..12);
    collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(11)).await;

    // "Restart": the same address now leads to a fresh server with other data.
    let second = Server::start("redis-7.0");
    second.cmd_str(&["SET", "after-restart", "1"]).expect_ok();
    let old_replid = replication_info(&first).replid.unwrap();
    proxy.set_upstream(second.port());
    drop(first);
    let all = collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    task.abort();
    let shown: Vec<&Seen> = all.iter().filter(|s| !matches!(s, Seen::Checkpoint(_))).collect();
    assert!(
        matches!(shown[..], [Seen::Resync { .. }, Seen::SnapshotBegin { .. }, Seen::Key(_), Seen::SnapshotEnd(_)]),
        "{shown:?}"
    );
    let Seen::Resync { replid, .. } = shown[0] else { unreachable!() };
    // A master makes a new replication ID when it creates its backlog for a first replica.
    let replid = replid.parse::<ReplId>().unwrap();
    assert_ne!(replid, old_replid);
    assert_eq!(Some(replid), replication_info(&second).replid);
    assert_eq!(shown[2], &Seen::Key(b"after-restart".to_vec()));
}

/// A master and its replica; the session follows the master and knows both. The master dies,
/// the replica is promoted, and the session continues from it with `+CONTINUE` under the new
/// replication ID (PSYNC2 replid2): no snapshot, no gap, no repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_a_promoted_replica_continues() {
    let master = Server::builder("redis-7.0").arg("--repl-ping-replica-period").arg("60").start();
    let replica =
        Server::builder("redis-7.0").arg("--replicaof").arg("127.0.0.1").arg(master.port().to_string()).start();
    wait_link_up(&replica);
    write_range(&master, 0..10);
    let sources = vec![source(master.port()), source(replica.port())];
    let (mut rx, task) = spawn_session(config(sources, StartFrom::Snapshot));
    let mut all = collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    write_range(&master, 10..200);
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(199)).await);
    // Everything written has reached the replica before the master goes.
    // (The session is a replica too, and acknowledges what it has delivered: both count.)
    assert_eq!(master.cmd_str(&["WAIT", "2", "5000"]).as_int(), Some(2));
    let old_replid = replication_info(&master).replid.unwrap();
    drop(master);
    tokio::time::sleep(Duration::from_millis(300)).await;
    replica.cmd_str(&["REPLICAOF", "NO", "ONE"]).expect_ok();
    let info = replication_info(&replica);
    assert_eq!(info.replid2, Some(old_replid));
    write_range(&replica, 200..300);
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(299)).await);
    task.abort();

    assert_exactly_the_writes(&all, 299);
    assert_eq!(replay(&all).duplicates, 0);
    assert_eq!(count(&all, |s| matches!(s, Seen::SnapshotBegin { .. })), 1, "{}", summary(&all));
    let new_replid = info.replid.unwrap().to_string();
    assert!(
        all.iter().any(|s| matches!(s, Seen::Continue { replid, .. } if *replid == new_replid)),
        "continued under the promoted replica's ID: {}",
        summary(&all)
    );
    let last = all.iter().rev().find(|s| s.write_number() == Some(299)).unwrap();
    assert!(matches!(last, Seen::Command { replid, .. } if *replid == new_replid));
}
