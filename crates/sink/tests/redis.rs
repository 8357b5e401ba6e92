//! The Redis target sink against real servers: what it reports as delivered is what the
//! target has answered; a lost connection is reopened and the unanswered commands arrive; a
//! refused command stops it (naming the command and key) or is skipped; and it tells servers
//! apart by their own `INFO`.

use std::time::Duration;

use sink::redis::Product;
use sink::{Batch, ErrorPolicy, RedisConfig, RedisSink, Sink};
use testkit::{Direction, FaultProxy, Server};

fn config(url: &str) -> RedisConfig {
    let mut c = RedisConfig::from_url(url).unwrap();
    c.flush_timeout = Duration::from_secs(30);
    c
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// `SET k:<i> <i>` for i in `range`, in one record.
fn sets(range: std::ops::Range<u64>) -> Vec<u8> {
    range.flat_map(|i| encode(&["SET", &format!("k:{i}"), &i.to_string()])).collect()
}

#[test]
fn delivered_follows_the_targets_replies() {
    let target = Server::start("redis-7.0");
    let mut sink = RedisSink::connect(config(&target.url()), 100).unwrap();
    assert_eq!(sink.target().product, Product::Redis);
    assert_eq!(sink.delivered(), 100, "the start offset");
    sink.send(Batch { records: vec![encode(&["SELECT", "4"]), sets(0..1000)], end_offset: 500 }).unwrap();
    sink.send(Batch { records: vec![encode(&["MULTI"]), encode(&["INCR", "n"]), encode(&["EXEC"])], end_offset: 600 })
        .unwrap();
    assert_eq!(sink.flush().unwrap(), 600);
    let mut c = target.client();
    c.cmd_str(&["SELECT", "4"]).unwrap().expect_ok();
    assert_eq!(c.cmd_str(&["DBSIZE"]).unwrap().as_int(), Some(1001));
    assert_eq!(c.cmd_str(&["GET", "k:999"]).unwrap().as_str().as_deref(), Some("999"));
}

/// A small window: the producer waits for replies instead of queueing everything.
#[test]
fn a_small_window_still_delivers_everything_in_order() {
    let target = Server::start("redis-7.0");
    let mut c = config(&target.url());
    c.max_in_flight_bytes = 4 << 10;
    let mut sink = RedisSink::connect(c, 0).unwrap();
    for i in 0..200u64 {
        sink.send(Batch { records: vec![encode(&["RPUSH", "l", &i.to_string()])], end_offset: i + 1 }).unwrap();
    }
    assert_eq!(sink.flush().unwrap(), 200);
    let r = target.cmd_str(&["LRANGE", "l", "0", "-1"]);
    let testkit::Reply::Array(items) = r else { panic!("{r:?}") };
    let got: Vec<String> = items.iter().map(|i| i.as_str().unwrap().into_owned()).collect();
    assert_eq!(got, (0..200).map(|i| i.to_string()).collect::<Vec<_>>());
}

/// The connection is cut several times while commands flow: the sink reconnects, selects
/// the db again, and every command arrives.
#[test]
fn a_lost_connection_is_reopened_and_nothing_is_lost() {
    let target = Server::start("redis-7.0");
    let proxy = FaultProxy::start(target.port());
    let mut c = config(&proxy.url());
    c.backoff = replica::Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(100) };
    let mut sink = RedisSink::connect(c, 0).unwrap();
    proxy.schedule_cuts(&[
        (Direction::Upstream, 200_000),
        (Direction::Downstream, 30_000),
        (Direction::Upstream, 500_000),
    ]);
    // The first connection (already open) is cut by the first plan only if opened after it:
    // cut it now, so the plans apply to the reconnections.
    proxy.reset();
    sink.send(Batch { records: vec![encode(&["SELECT", "2"])], end_offset: 1 }).unwrap();
    for chunk in 0..40u64 {
        sink.send(Batch { records: vec![sets(chunk * 1000..(chunk + 1) * 1000)], end_offset: 2 + chunk }).unwrap();
    }
    assert_eq!(sink.flush().unwrap(), 41);
    assert!(sink.reconnects() >= 3, "reconnects: {}", sink.reconnects());
    let mut c = target.client();
    c.cmd_str(&["SELECT", "2"]).unwrap().expect_ok();
    assert_eq!(c.cmd_str(&["DBSIZE"]).unwrap().as_int(), Some(40_000), "all in db 2, after each reconnect too");
    assert_eq!(target.cmd_str(&["DBSIZE"]).as_int(), Some(0), "nothing in db 0");
}

#[test]
fn a_refused_command_stops_the_sink_naming_it() {
    let target = Server::start("redis-7.0");
    target.cmd_str(&["SET", "clash", "string"]).expect_ok();
    let mut sink = RedisSink::connect(config(&target.url()), 0).unwrap();
    sink.send(Batch { records: vec![encode(&["SET", "a", "1"])], end_offset: 10 }).unwrap();
    sink.send(Batch { records: vec![encode(&["RPUSH", "clash", "x"])], end_offset: 20 }).unwrap();
    sink.send(Batch { records: vec![encode(&["SET", "b", "1"])], end_offset: 30 }).unwrap();
    let e = sink.flush().unwrap_err().to_string();
    assert!(e.contains("refused RPUSH on key \"clash\"") && e.contains("WRONGTYPE"), "{e}");
    assert!(e.contains("nothing after offset 10"), "{e}");
    assert_eq!(sink.delivered(), 10);
}

#[test]
fn skip_goes_on_past_refusals_and_counts_them() {
    let target = Server::start("redis-7.0");
    target.cmd_str(&["SET", "clash", "string"]).expect_ok();
    let mut c = config(&target.url());
    c.on_error = ErrorPolicy::Skip;
    let mut sink = RedisSink::connect(c, 0).unwrap();
    let tx = [encode(&["MULTI"]), encode(&["LPUSH", "clash", "y"]), encode(&["SET", "c", "1"]), encode(&["EXEC"])];
    sink.send(Batch { records: vec![encode(&["RPUSH", "clash", "x"])], end_offset: 20 }).unwrap();
    sink.send(Batch { records: tx.to_vec(), end_offset: 30 }).unwrap();
    sink.send(Batch { records: vec![encode(&["SET", "b", "1"])], end_offset: 40 }).unwrap();
    assert_eq!(sink.flush().unwrap(), 40);
    assert_eq!(sink.skipped(), 2);
    assert_eq!(target.cmd_str(&["GET", "b"]).as_str().as_deref(), Some("1"));
    assert_eq!(target.cmd_str(&["GET", "c"]).as_str().as_deref(), Some("1"), "the rest of the transaction ran");
}

#[test]
fn an_unreachable_target_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Err(e) = RedisSink::connect(config(&format!("redis://127.0.0.1:{port}")), 0) else { panic!("connected") };
    assert!(e.to_string().starts_with(&format!("cannot connect to the target 127.0.0.1:{port}")), "{e}");
}

/// An ACL user (Redis 6+): a wrong password is refused without being quoted; the right one
/// works.
#[test]
fn a_wrong_password_is_reported_without_it() {
    let target = Server::start("redis-7.0");
    target.cmd_str(&["ACL", "SETUSER", "mig", "on", ">s3cret", "~*", "&*", "+@all"]).expect_ok();
    let url = format!("redis://mig:wrong-pass@127.0.0.1:{}", target.port());
    let Err(e) = RedisSink::connect(config(&url), 0) else { panic!("connected") };
    let e = e.to_string();
    assert!(e.contains("authentication refused") && !e.contains("wrong-pass"), "{e}");
    let url = format!("redis://mig:s3cret@127.0.0.1:{}", target.port());
    let mut sink = RedisSink::connect(config(&url), 0).unwrap();
    sink.send(Batch { records: vec![encode(&["SET", "a", "1"])], end_offset: 5 }).unwrap();
    assert_eq!(sink.flush().unwrap(), 5);
    assert_eq!(target.cmd_str(&["GET", "a"]).as_str().as_deref(), Some("1"));
}

/// The target's identity comes from its own INFO: the formats it can read.
#[test]
fn tells_targets_apart() {
    for (name, product, rdb) in
        [("redis-6.2", Product::Redis, 9), ("redis-7.4", Product::Redis, 12), ("valkey-9.1", Product::Valkey, 80)]
    {
        let target = Server::start(name);
        let sink = RedisSink::connect(config(&target.url()), 0).unwrap();
        assert_eq!((sink.target().product, sink.target().rdb_format().version), (product, rdb), "{name}");
    }
}
