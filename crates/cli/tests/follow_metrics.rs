//! `redtail follow --metrics-addr`: the Prometheus metrics agree with the master. After a
//! snapshot of known keys and a known number of writes, the offsets redtail reports (received,
//! acknowledged, and the master's own from its INFO poll) equal the master's
//! `master_repl_offset` as the master itself shows it, the event counters equal the keys and
//! writes made, and a connection the master drops shows as a reconnect.

mod common;

use std::time::{Duration, Instant};

use common::follow::{ack_and_master_offset, commands, wait_replica_online, Follower, WITHIN};
use common::metrics::{free_addr, get, scrape, Scrape};
use testkit::Server;

const SNAPSHOT_KEYS: u64 = 7;
const WRITES: u64 = 300;

/// Scrapes until `done` holds, with the master's `master_repl_offset` read just before each
/// scrape, while the master sees its replica acknowledge that offset (so nothing is in
/// flight), and returns that scrape and offset.
#[track_caller]
fn scrape_settled(addr: &str, master: &Server, done: impl Fn(&Scrape, u64) -> bool) -> (Scrape, u64) {
    let deadline = Instant::now() + WITHIN;
    loop {
        let (ack, offset) = ack_and_master_offset(master);
        let scraped = scrape(addr);
        if ack == Some(offset) && ack_and_master_offset(master).1 == offset && done(&scraped, offset) {
            return (scraped, offset);
        }
        assert!(
            Instant::now() < deadline,
            "metrics never settled at master_repl_offset {offset} (master sees ack {ack:?}):\n{}",
            scraped.0
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn metrics_agree_with_the_master() {
    let master = Server::start("redis-7.0");
    for i in 0..SNAPSHOT_KEYS {
        master.cmd_str(&["SET", &format!("before:{i}"), "x"]).expect_ok();
    }
    let addr = free_addr();
    let mut follower = Follower::start(&["--metrics-addr", &addr, &master.url()]);
    follower.wait_synced();
    wait_replica_online(&master);

    let mut client = master.client();
    for i in 0..WRITES - 2 {
        client.cmd_str(&["SET", &format!("n:{i}"), &i.to_string()]).unwrap().expect_ok();
    }
    client.cmd_str(&["MULTI"]).unwrap().expect_ok();
    client.cmd_str(&["SET", "tx:a", "1"]).unwrap();
    client.cmd_str(&["INCR", "tx:n"]).unwrap();
    client.cmd_str(&["EXEC"]).unwrap();

    // The master's INFO poll runs every second: wait for one after the writes.
    let (m, offset) = scrape_settled(&addr, &master, |m, offset| {
        m.value("redtail_master_offset") == Some(offset as f64)
            && m.value("redtail_acked_offset") == Some(offset as f64)
    });
    let offset = offset as f64;
    assert_eq!(m.get("redtail_received_offset"), offset, "{}", m.0);
    assert_eq!(m.get("redtail_lag_bytes"), 0.0);
    assert_eq!(m.get("redtail_lag_seconds"), 0.0);
    assert_eq!(m.get(r#"redtail_events_total{kind="command"}"#), WRITES as f64, "every write, MULTI's two included");
    assert_eq!(m.get(r#"redtail_events_total{kind="transaction"}"#), 1.0);
    assert_eq!(m.get(r#"redtail_events_total{kind="snapshot_key"}"#), SNAPSHOT_KEYS as f64);
    assert_eq!(m.get("redtail_snapshot_keys"), SNAPSHOT_KEYS as f64);
    assert_eq!(m.get("redtail_snapshot_active"), 0.0);
    assert_eq!(m.get("redtail_resyncs_total"), 0.0);
    assert_eq!(m.get("redtail_reconnects_total"), 0.0);
    assert_eq!(m.get("redtail_sink_errors_total"), 0.0);
    assert_eq!(m.get("redtail_master_poll_errors_total"), 0.0);
    assert!(m.get("redtail_sink_flush_seconds_count") > 0.0, "{}", m.0);
    let written = commands(&follower.events()).len() as u64;
    assert_eq!(written, WRITES, "the output has every write too");

    // The master drops redtail's connection: it reconnects, continues, and counts it.
    let killed = master.cmd_str(&["CLIENT", "KILL", "TYPE", "slave"]).as_int();
    assert_eq!(killed, Some(1));
    follower
        .wait_for_events("the resumed stream", |events| events.iter().filter(|e| e["event"] == "sync").count() == 2);
    client.cmd_str(&["SET", "after", "1"]).unwrap().expect_ok();
    let (m, _) = scrape_settled(&addr, &master, |m, offset| {
        m.value("redtail_master_offset") == Some(offset as f64)
            && m.value("redtail_acked_offset") == Some(offset as f64)
    });
    assert_eq!(m.get("redtail_reconnects_total"), 1.0, "{}", m.0);
    assert_eq!(m.get(r#"redtail_events_total{kind="command"}"#), WRITES as f64 + 1.0);
    assert_eq!(m.get("redtail_resyncs_total"), 0.0, "a +CONTINUE, not a resync");

    let (status, _) = get(&addr, "/other").unwrap();
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, follower) = follower.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", follower.stderr());
}

#[test]
fn a_taken_address_is_an_error_at_start() {
    let master = Server::start("redis-7.0");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut follower = Follower::start(&["--metrics-addr", &addr, &master.url()]);
    let status = follower.wait();
    assert_eq!(status.code(), Some(3), "an I/O error\n{}", follower.stderr());
    assert!(follower.stderr().contains(&format!("--metrics-addr {addr}")), "{}", follower.stderr());
}
