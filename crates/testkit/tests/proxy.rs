//! Each fault of the proxy, with a real server behind it and the test kit's client in front.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use testkit::{Client, Direction, FaultProxy, Reply, Server};

fn client(proxy: &FaultProxy, read_timeout: Duration) -> Client {
    let mut c = Client::connect(proxy.port()).expect("connect through the proxy");
    c.reader().get_ref().set_read_timeout(Some(read_timeout)).unwrap();
    c
}

fn ping(c: &mut Client) -> Result<Reply, testkit::Error> {
    c.cmd_str(&["PING"])
}

#[test]
fn transparent_until_told_otherwise() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    let mut c = client(&proxy, Duration::from_secs(5));
    assert_eq!(ping(&mut c).unwrap(), Reply::Status("PONG".into()));
    let big = "x".repeat(300_000);
    c.cmd_str(&["SET", "big", &big]).unwrap().expect_ok();
    assert_eq!(c.cmd_str(&["GET", "big"]).unwrap(), Reply::Bulk(big.into_bytes()));
    assert_eq!(proxy.connections(), 1);
}

#[test]
fn delay_holds_each_chunk() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    let mut c = client(&proxy, Duration::from_secs(5));
    proxy.delay(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(ping(&mut c).unwrap(), Reply::Status("PONG".into()));
    // Once on the way up, once on the way down.
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    proxy.heal();
    let started = Instant::now();
    ping(&mut c).unwrap();
    assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());
}

#[test]
fn throttle_limits_the_rate() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    server.cmd_str(&["SET", "v", &"y".repeat(100_000)]).expect_ok();
    let mut c = client(&proxy, Duration::from_secs(10));
    proxy.throttle(200_000);
    let started = Instant::now();
    let reply = c.cmd_str(&["GET", "v"]).unwrap();
    let took = started.elapsed();
    assert_eq!(reply.as_bytes().map(<[u8]>::len), Some(100_000));
    assert!(took >= Duration::from_millis(400), "100 kB at 200 kB/s took {took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn cut_after_closes_both_sides_at_an_exact_byte() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    server.cmd_str(&["SET", "v", "0123456789"]).expect_ok();
    let mut c = client(&proxy, Duration::from_secs(5));
    ping(&mut c).unwrap();
    // "$10\r\n0123456789\r\n": the client gets the first 8 bytes, then the end.
    proxy.cut_after(Direction::Downstream, 8);
    c.send(&[b"GET", b"v"]).unwrap();
    let mut got = Vec::new();
    c.reader().read_to_end(&mut got).unwrap();
    assert_eq!(got, b"$10\r\n012");
    assert_eq!(proxy.cuts(), 1);
    // Still in force for new connections, until healed.
    let mut c = client(&proxy, Duration::from_secs(5));
    assert!(c.cmd_str(&["GET", "v"]).is_err());
    proxy.heal();
    let mut c = client(&proxy, Duration::from_secs(5));
    assert_eq!(c.cmd_str(&["GET", "v"]).unwrap(), Reply::Bulk(b"0123456789".to_vec()));
}

#[test]
fn cut_upstream_stops_a_command_half_sent() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    let mut c = client(&proxy, Duration::from_secs(5));
    proxy.cut_after(Direction::Upstream, 20);
    // `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n` is 22 bytes: the server never sees the whole command.
    assert!(c.cmd_str(&["SET", "k", "v"]).is_err());
    assert_eq!(server.cmd_str(&["EXISTS", "k"]), Reply::Int(0));
}

#[test]
fn scheduled_cuts_take_one_connection_each() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    proxy.schedule_cuts(&[(Direction::Downstream, 3), (Direction::Upstream, 5)]);
    let mut first = client(&proxy, Duration::from_secs(5));
    assert!(ping(&mut first).is_err(), "cut after 3 bytes of +PONG");
    let mut second = client(&proxy, Duration::from_secs(5));
    assert!(ping(&mut second).is_err(), "cut after 5 bytes of PING");
    let mut third = client(&proxy, Duration::from_secs(5));
    assert_eq!(ping(&mut third).unwrap(), Reply::Status("PONG".into()));
    assert_eq!((proxy.cuts(), proxy.scheduled_cuts()), (2, 0));
}

#[test]
fn blackhole_holds_bytes_without_closing() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    let mut c = client(&proxy, Duration::from_millis(300));
    ping(&mut c).unwrap();
    proxy.blackhole();
    c.send(&[b"PING"]).unwrap();
    let mut byte = [0u8; 1];
    let err = c.reader().read(&mut byte).expect_err("nothing arrives");
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    // The connection is still open: healing delivers what was held.
    proxy.heal();
    c.reader().get_ref().set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(c.read_reply().unwrap(), Reply::Status("PONG".into()));
}

#[test]
fn reset_sends_rst() {
    let server = Server::start("redis-7.0");
    let proxy = FaultProxy::start(server.port());
    let mut c = client(&proxy, Duration::from_secs(5));
    ping(&mut c).unwrap();
    let clients_before = server.cmd_str(&["CLIENT", "LIST"]).as_str().unwrap().lines().count();
    proxy.reset();
    let mut byte = [0u8; 1];
    let err = c.reader().read(&mut byte).expect_err("a reset, not an orderly close");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    // The server side was reset too: its client goes away.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.cmd_str(&["CLIENT", "LIST"]).as_str().unwrap().lines().count() >= clients_before {
        assert!(Instant::now() < deadline, "the server still lists the proxied client");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn set_upstream_moves_new_connections() {
    let a = Server::start("redis-7.0");
    let b = Server::start("redis-7.0");
    b.cmd_str(&["SET", "on", "b"]).expect_ok();
    let proxy = FaultProxy::start(a.port());
    let mut to_a = client(&proxy, Duration::from_secs(5));
    assert_eq!(to_a.cmd_str(&["GET", "on"]).unwrap(), Reply::Nil);
    proxy.set_upstream(b.port());
    let mut to_b = client(&proxy, Duration::from_secs(5));
    assert_eq!(to_b.cmd_str(&["GET", "on"]).unwrap(), Reply::Bulk(b"b".to_vec()));
    assert_eq!(to_a.cmd_str(&["GET", "on"]).unwrap(), Reply::Nil, "live connections stay");
    drop(b);
    let mut refused = client(&proxy, Duration::from_secs(5));
    assert!(ping(&mut refused).is_err(), "the upstream is gone");
}
