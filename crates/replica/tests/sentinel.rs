//! Following through Redis Sentinel: a session that asks the sentinel where the master is
//! follows the promoted replica after a real failover, with `+CONTINUE` and no gap; and the
//! sentinel's own failures are reported clearly.

mod common;

use std::time::{Duration, Instant};

use common::*;
use replica::{Backoff, Error, Output, Sentinels, Session, SessionConfig, Source, StartFrom};
use testkit::{Sentinel, Server};

const WITHIN: Duration = Duration::from_secs(30);
const NAME: &str = "mymaster";

fn config(sentinels: &[String], name: &str) -> SessionConfig {
    SessionConfig {
        // Only the credentials and TLS of this template are used: the sentinel gives the address.
        sources: vec![Source::default()],
        sentinels: Some(Sentinels::parse(sentinels, name).unwrap()),
        start: StartFrom::Snapshot,
        backoff: Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(300) },
        connect_timeout: Duration::from_secs(2),
        ..SessionConfig::default()
    }
}

#[track_caller]
fn wait_until(what: &str, mut done: impl FnMut() -> bool, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen:\n{}", log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Master, replica and one sentinel; the master is killed and the sentinel promotes the
/// replica. Every write appears exactly once, in order, under one snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_master_the_sentinel_promotes() {
    let master = Server::builder("redis-7.0").arg("--repl-ping-replica-period").arg("60").start();
    let replica =
        Server::builder("redis-7.0").arg("--replicaof").arg("127.0.0.1").arg(master.port().to_string()).start();
    wait_link_up(&replica);
    let sentinel = Sentinel::start("redis-7.0", NAME, master.port());
    wait_until("the sentinel finding the replica", || sentinel.known_replicas(NAME) >= 1, || sentinel.log());

    write_range(&master, 0..10);
    // A sentinel that is down comes first: the session asks the next.
    let dead = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let (mut rx, task) = spawn_session(config(&[format!("127.0.0.1:{dead}"), sentinel.address()], NAME));
    let mut all = collect_until(&mut rx, WITHIN, |s| matches!(s, Seen::SnapshotEnd(_))).await;
    write_range(&master, 10..200);
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(199)).await);
    // Everything written has reached the replica before the master goes (the session
    // acknowledges what it delivered, so it counts as the second replica).
    assert_eq!(master.cmd_str(&["WAIT", "2", "5000"]).as_int(), Some(2));
    let old_replid = replication_info(&master).replid.unwrap();
    drop(master); // SIGKILL

    let replica_port = replica.port();
    let _sentinel = tokio::task::spawn_blocking(move || {
        wait_until("the failover", || sentinel.master_port(NAME) == Some(replica_port), || sentinel.log());
        sentinel
    })
    .await
    .unwrap();
    // The promotion kills the normal clients (`CLIENT KILL TYPE normal`): use a new one.
    let mut client = replica.client();
    let info = match client.cmd_str(&["INFO", "replication"]).unwrap() {
        testkit::Reply::Bulk(text) => replica::ReplicationInfo::parse(&String::from_utf8_lossy(&text)),
        other => panic!("INFO answered {other:?}"),
    };
    assert_eq!(info.replid2, Some(old_replid), "the promoted replica keeps the old history");
    for i in 200..300 {
        let n = i.to_string();
        client.cmd_str(&["SET", &format!("n:{n}"), &n]).unwrap().expect_ok();
    }
    all.extend(collect_until(&mut rx, WITHIN, |s| s.write_number() == Some(299)).await);
    task.abort();

    assert_exactly_the_writes(&all, 299);
    assert_eq!(replay(&all).duplicates, 0, "{}", summary(&all));
    let snapshots = all.iter().filter(|s| matches!(s, Seen::SnapshotBegin { .. })).count();
    assert_eq!(snapshots, 1, "{}", summary(&all));
    assert!(!all.iter().any(|s| matches!(s, Seen::Resync { .. })), "{}", summary(&all));
    let new_replid = info.replid.unwrap().to_string();
    assert!(
        all.iter().any(|s| matches!(s, Seen::Continue { replid, .. } if *replid == new_replid)),
        "continued under the promoted replica's ID: {}",
        summary(&all)
    );
}

/// A name the sentinel does not monitor is a configuration mistake: the session stops at
/// once with an error naming it. No sentinel at all is worth retrying, until the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failures_are_named() {
    let mut ignore = |_: &Output<'_>| Ok::<_, std::convert::Infallible>(None);
    let master = Server::start("redis-7.0");
    let sentinel = Sentinel::start("redis-7.0", NAME, master.port());
    let mut session = Session::new(config(&[sentinel.address()], "nosuchmaster")).unwrap();
    let err = session.run(&mut ignore).await.unwrap_err().to_string();
    assert!(err.contains("nosuchmaster") && err.contains(&sentinel.address()), "{err}");

    let dead = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let dead = format!("127.0.0.1:{dead}");
    let mut session =
        Session::new(SessionConfig { max_failures: Some(2), ..config(std::slice::from_ref(&dead), NAME) }).unwrap();
    let err = session.run(&mut ignore).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no sentinel could say where master \"mymaster\" is") && text.contains(&dead), "{text}");
    assert!(matches!(err, replica::driver::DriverError::Replication(Error::GaveUp { .. })), "{text}");
}
