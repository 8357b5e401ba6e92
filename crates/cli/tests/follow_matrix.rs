//! `redtail follow --format resp` on every CI server: follow a fresh master, write the known
//! data set and a workload with a transaction, expiries, a Lua script and keys that expire,
//! then replay what redtail wrote into an empty server of the same version with
//! `redis-cli --pipe`. The two servers must hold the same data, and the master must see
//! redtail acknowledge its final offset soon after the writes stop.
//!
//! Servers up to 6.2 send the snapshot from disk, 7.0 and later diskless: both transfers are
//! covered.

mod common;

use std::time::Duration;

use common::compare::{assert_same_data, pipe_into};
use common::follow::{assert_acked_within, wait_replica_online, Follower};
use testkit::{Product, Server};

/// Writes what the data set does not: a transaction, relative expiries (passed on as they are
/// before 7.0, as absolute times after), a script (replicated verbatim before 5.0, as its
/// effects after), a float increment, a delete, and keys that expire while followed.
fn workload(server: &Server) {
    let v = server.version();
    let mut c = server.client();
    let ok = |reply: testkit::Reply, what: &str| assert!(!reply.is_error(), "{what} on {}: {reply:?}", server.name());
    ok(c.cmd_str(&["SELECT", "4"]).unwrap(), "SELECT");
    for cmd in [
        &["MULTI"][..],
        &["SET", "tx:a", "1"],
        &["INCR", "tx:n"],
        &["RPUSH", "tx:l", "a", "b"],
        &["SADD", "tx:s", "x"],
        &["EXEC"],
    ] {
        ok(c.cmd_str(cmd).unwrap(), cmd[0]);
    }
    ok(c.cmd_str(&["SET", "e:k", "v"]).unwrap(), "SET");
    ok(c.cmd_str(&["EXPIRE", "e:k", "100000"]).unwrap(), "EXPIRE");
    ok(c.cmd_str(&["INCRBYFLOAT", "f", "1.5"]).unwrap(), "INCRBYFLOAT");
    let script = "redis.call('set', KEYS[1], ARGV[1]); redis.call('rpush', KEYS[2], ARGV[1]); return 1";
    ok(c.cmd_str(&["EVAL", script, "2", "lua:s", "lua:l", "hello"]).unwrap(), "EVAL");
    ok(c.cmd_str(&["SELECT", "0"]).unwrap(), "SELECT");
    ok(c.cmd_str(&["DEL", "s:hello"]).unwrap(), "DEL");
    if v.product == Product::Valkey || v.at_least(4, 0, 0) {
        ok(c.cmd_str(&["UNLINK", "s:empty"]).unwrap(), "UNLINK");
    }

    // Keys that expire: the master deletes them and replicates the delete.
    ok(c.cmd_str(&["SET", "x:1", "v"]).unwrap(), "SET");
    ok(c.cmd_str(&["PEXPIRE", "x:1", "50"]).unwrap(), "PEXPIRE");
    ok(c.cmd_str(&["SET", "x:2", "v", "PX", "50"]).unwrap(), "SET PX");
    ok(c.cmd_str(&["RPUSH", "x:l", "a"]).unwrap(), "RPUSH");
    ok(c.cmd_str(&["PEXPIRE", "x:l", "50"]).unwrap(), "PEXPIRE");
    std::thread::sleep(Duration::from_millis(60));
    // Touching them expires them now if the active cycle has not yet.
    for key in ["x:1", "x:2", "x:l"] {
        assert_eq!(c.cmd_str(&["EXISTS", key]).unwrap().as_int(), Some(0), "{key} expired");
    }
}

fn follow_and_replay(name: &str) {
    let master = Server::start(name);
    let follower = Follower::start(&["--format", "resp", &master.url()]);
    wait_replica_online(&master);

    testkit::dataset::write_dataset(&master);
    workload(&master);
    assert_acked_within(&master, Duration::from_secs(2));

    let (status, follower) = follower.terminate();
    assert!(status.success(), "{name}: redtail exited with {status}\n{}", follower.stderr());
    let target = Server::start(name);
    pipe_into(&target, &follower.output());
    assert_same_data(&master, &target);
    let v = master.version();
    if v.product == Product::Valkey || v.at_least(7, 0, 0) {
        let functions = |s: &Server| s.cmd_str(&["FUNCTION", "LIST", "WITHCODE"]);
        assert_eq!(functions(&target), functions(&master), "{name}: functions");
    }
}

#[test]
fn redis_2_8() {
    follow_and_replay("redis-2.8");
}

#[test]
fn redis_3_2() {
    follow_and_replay("redis-3.2");
}

#[test]
fn redis_5_0() {
    follow_and_replay("redis-5.0");
}

#[test]
fn redis_6_2() {
    follow_and_replay("redis-6.2");
}

#[test]
fn redis_7_0() {
    follow_and_replay("redis-7.0");
}

#[test]
fn redis_7_4() {
    follow_and_replay("redis-7.4");
}

#[test]
fn redis_8_2() {
    follow_and_replay("redis-8.2");
}

#[test]
fn valkey_9_1() {
    follow_and_replay("valkey-9.1");
}
