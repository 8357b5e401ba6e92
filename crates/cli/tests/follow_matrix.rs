//! `redtail follow --format resp` on every CI server, with both snapshot transfers: the master
//! holds the known data set (every type and encoding the version has, several dbs, TTLs,
//! stream groups, hash field TTLs and functions where the version has them) when redtail
//! joins, so the snapshot carries it; then a workload changes every type in several dbs while
//! redtail follows. What redtail wrote is replayed into an empty server of the same version
//! with `redis-cli --pipe`; the two must hold the same data key by key and by `DEBUG DIGEST`,
//! and the master must see redtail acknowledge its final offset within 2 s of the last write.
//!
//! Each server runs once with its snapshot from disk and once diskless, except Redis 2.8.17,
//! which has disk only (`repl-diskless-sync` came in 2.8.18).

mod common;

use std::time::{Duration, Instant};

use common::compare::{assert_same_data, has_field_ttls, pipe_into};
use common::follow::{assert_acked_within, wait_replica_online, Follower, WITHIN};
use common::transfer::{assert_transferred, start_master, Transfer};
use testkit::{Product, Reply, Server};

/// A client that fails the test on any error reply.
struct Checked<'a> {
    server: &'a Server,
    client: testkit::Client,
}

impl Checked<'_> {
    #[track_caller]
    fn run(&mut self, args: &[&str]) -> Reply {
        let reply = self.client.cmd_str(args).unwrap();
        assert!(!reply.is_error(), "{args:?} on {}: {reply:?}", self.server.name());
        reply
    }

    #[track_caller]
    fn all(&mut self, cmds: &[&[&str]]) {
        for cmd in cmds {
            self.run(cmd);
        }
    }

    /// Waits until `args` answers `want`: the master has deleted what expired.
    #[track_caller]
    fn wait_for(&mut self, args: &[&str], want: i64) {
        let deadline = Instant::now() + WITHIN;
        while self.run(args).as_int() != Some(want) {
            assert!(Instant::now() < deadline, "{args:?} on {} never answered {want}", self.server.name());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Written before redtail joins: keys that expire while it follows, from the snapshot.
fn before_snapshot(server: &Server) {
    let mut c = Checked { server, client: server.client() };
    c.all(&[&["SELECT", "6"], &["SET", "snap:expiring", "v"], &["PEXPIRE", "snap:expiring", "300"]]);
    c.all(&[&["RPUSH", "snap:expiring:l", "a", "b"], &["PEXPIRE", "snap:expiring:l", "300"]]);
}

/// Written while redtail follows: every type, changed in place (keys of the data set from the
/// snapshot) and new, in several dbs; a transaction; relative expiries (passed on as they are
/// before 7.0, as absolute times after); a Lua script by EVAL and EVALSHA (replicated verbatim
/// before 5.0, as its effects after); a function (7.0+); and keys that expire while followed.
fn workload(server: &Server) {
    let v = server.version();
    let valkey = v.product == Product::Valkey;
    let streams = valkey || v.at_least(5, 0, 0);
    let functions = valkey || v.at_least(7, 0, 0);
    let mut c = Checked { server, client: server.client() };

    // db 0: strings and sets of the data set, and new ones.
    c.all(&[
        &["SELECT", "0"],
        &["APPEND", "s:hello", "!"],
        &["SETRANGE", "s:lzf", "3", "XYZ"],
        &["INCRBY", "s:int:5", "1000"],
        &["INCRBYFLOAT", "f", "1.5"],
        &["SETBIT", "bits", "77", "1"],
        &["MSET", "m:a", "1", "m:b", "2"],
        &["RENAME", "m:b", "m:c"],
        &["DEL", "s:hello"],
        &["SADD", "set:small", "new"],
        &["SREM", "set:big", "member-1", "member-2"],
        &["SMOVE", "set:big", "set:small", "member-3"],
        // Replicated as SREM of the member the master chose.
        &["SPOP", "set:big"],
        &["SADD", "set:new", "1", "2", "300000"],
        &["RPUSH", "l:big", "tail"],
        &["LPOP", "l:big"],
        &["LSET", "l:small", "0", "changed"],
        &["LINSERT", "l:small", "BEFORE", "changed", "ins"],
        &["LTRIM", "l:huge-element", "1", "-2"],
        &["LPUSH", "l:new", "a", "b", "c"],
        &["RPOPLPUSH", "l:new", "l:new2"],
    ]);
    if valkey || v.at_least(4, 0, 0) {
        c.run(&["UNLINK", "s:empty"]);
    }

    // db 1: sorted sets and hashes of the data set, and new ones.
    c.all(&[
        &["SELECT", "1"],
        &["ZADD", "z:small", "7", "new"],
        &["ZINCRBY", "z:big", "2.5", "zm-3"],
        &["ZREM", "z:big", "zm-4"],
        &["ZREMRANGEBYSCORE", "z:big", "100", "150"],
        &["ZADD", "z:new", "1", "a", "2", "b"],
        &["HSET", "h:small", "name", "Grace"],
        &["HINCRBY", "h:big", "counter", "3"],
        &["HINCRBYFLOAT", "h:big", "float", "0.25"],
        &["HDEL", "h:big", "f1", "f2"],
        &["HMSET", "h:new", "a", "1", "b", "2"],
    ]);

    // db 2: hash field TTLs: set, removed, and one that expires while followed.
    if has_field_ttls(server) {
        c.all(&[
            &["SELECT", "2"],
            &["HPEXPIRE", "hf:small", "100000", "FIELDS", "1", "a"],
            &["HPERSIST", "hf:big", "FIELDS", "1", "k7"],
            &["HSET", "hf:new", "a", "1", "b", "2", "c", "3"],
            &["HEXPIRE", "hf:new", "1000", "FIELDS", "1", "a"],
            &["HPEXPIRE", "hf:new", "50", "FIELDS", "1", "b"],
        ]);
        // The master deletes the field when it expires and replicates an HDEL.
        c.wait_for(&["HLEN", "hf:new"], 2);
    }

    // db 3: streams of the data set and a new one with a group, reads, acks, claims, trims.
    if streams {
        c.all(&[
            &["SELECT", "3"],
            &["XADD", "st", "2000-1", "temp", "30", "unit", "C"],
            &["XADD", "st:new", "*", "a", "1"],
            &["XADD", "st:new", "*", "a", "2"],
            &["XGROUP", "CREATE", "st:new", "g", "0"],
            &["XREADGROUP", "GROUP", "g", "carol", "COUNT", "2", "STREAMS", "st:new", ">"],
            &["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "st", ">"],
            &["XACK", "st", "g1", "1000-2"],
            &["XCLAIM", "st", "g1", "dave", "0", "1000-4"],
            &["XGROUP", "SETID", "st", "g2", "1000-9"],
            &["XDEL", "st:big", "5001-0"],
            &["XTRIM", "st:big", "MAXLEN", "1000"],
        ]);
        if functions {
            // Since 7.0 a group counts the entries it has read, but the master passes the
            // reads on as `XCLAIM ... LASTID` only, so a real replica's count is unknown (nil)
            // too; setting it by a command the master replicates keeps the comparison exact.
            c.run(&["XGROUP", "SETID", "st:new", "g", "$", "ENTRIESREAD", "2"]);
        }
    }

    // db 4: a transaction, an expiry, Lua.
    c.all(&[
        &["SELECT", "4"],
        &["MULTI"],
        &["SET", "tx:a", "1"],
        &["INCR", "tx:n"],
        &["RPUSH", "tx:l", "a", "b"],
        &["SADD", "tx:s", "x"],
        &["ZADD", "tx:z", "1", "m"],
        &["HSET", "tx:h", "f", "v"],
        &["EXEC"],
        &["SET", "e:k", "v"],
        &["EXPIRE", "e:k", "100000"],
        &["SETEX", "e:k2", "100000", "v"],
        &["SET", "e:k3", "v"],
        &["EXPIRE", "e:k3", "100000"],
        &["PERSIST", "e:k3"],
    ]);
    let script = "redis.call('set', KEYS[1], ARGV[1]); redis.call('rpush', KEYS[2], ARGV[1]); return 1";
    c.run(&["EVAL", script, "2", "lua:s", "lua:l", "hello"]);
    let sha = c.run(&["SCRIPT", "LOAD", "return redis.call('incrby', KEYS[1], ARGV[1])"]);
    let sha = sha.as_str().unwrap().into_owned();
    c.run(&["EVALSHA", &sha, "1", "lua:n", "5"]);
    c.run(&["EVALSHA", &sha, "1", "lua:n", "6"]);

    // db 5: a function library loaded, called and one of the data set's deleted.
    if functions {
        let code = "#!lua name=matrix\nredis.register_function('mx_set', \
                    function(keys, args) return redis.call('set', keys[1], args[1]) end)";
        c.all(&[
            &["SELECT", "5"],
            &["FUNCTION", "LOAD", code],
            &["FCALL", "mx_set", "1", "fn:k", "v"],
            &["FUNCTION", "DELETE", "redtail_test"],
        ]);
    }

    // db 6: keys that expire while followed, of the snapshot and new: the master deletes them
    // and replicates the delete.
    c.all(&[
        &["SELECT", "6"],
        &["SET", "x:1", "v"],
        &["PEXPIRE", "x:1", "50"],
        &["SET", "x:2", "v", "PX", "50"],
        &["RPUSH", "x:l", "a"],
        &["PEXPIRE", "x:l", "50"],
    ]);
    // Touching them expires them now if the active cycle has not yet.
    for key in ["x:1", "x:2", "x:l", "snap:expiring", "snap:expiring:l"] {
        c.wait_for(&["EXISTS", key], 0);
    }
}

fn follow_and_replay(name: &str, transfer: Transfer) {
    let master = start_master(name, transfer);
    testkit::dataset::write_dataset(&master);
    before_snapshot(&master);
    let follower = Follower::start(&["--format", "resp", &master.url()]);
    wait_replica_online(&master);

    workload(&master);
    assert_acked_within(&master, Duration::from_secs(2));

    let (status, follower) = follower.terminate();
    assert!(status.success(), "{name}: redtail exited with {status}\n{}", follower.stderr());
    assert_transferred(&master, transfer);
    let target = Server::start(name);
    pipe_into(&target, &follower.output());
    assert_same_data(&master, &target);
    let v = master.version();
    if v.product == Product::Valkey || v.at_least(7, 0, 0) {
        let functions = |s: &Server| s.cmd_str(&["FUNCTION", "LIST", "WITHCODE"]);
        assert_eq!(functions(&target), functions(&master), "{name}: functions");
    }
}

/// 2.8.17 has no diskless transfer.
#[test]
fn redis_2_8_disk() {
    follow_and_replay("redis-2.8", Transfer::Disk);
}

#[test]
fn redis_3_2_disk() {
    follow_and_replay("redis-3.2", Transfer::Disk);
}

#[test]
fn redis_3_2_diskless() {
    follow_and_replay("redis-3.2", Transfer::Diskless);
}

#[test]
fn redis_5_0_disk() {
    follow_and_replay("redis-5.0", Transfer::Disk);
}

#[test]
fn redis_5_0_diskless() {
    follow_and_replay("redis-5.0", Transfer::Diskless);
}

#[test]
fn redis_6_2_disk() {
    follow_and_replay("redis-6.2", Transfer::Disk);
}

#[test]
fn redis_6_2_diskless() {
    follow_and_replay("redis-6.2", Transfer::Diskless);
}

#[test]
fn redis_7_0_disk() {
    follow_and_replay("redis-7.0", Transfer::Disk);
}

#[test]
fn redis_7_0_diskless() {
    follow_and_replay("redis-7.0", Transfer::Diskless);
}

#[test]
fn redis_7_4_disk() {
    follow_and_replay("redis-7.4", Transfer::Disk);
}

#[test]
fn redis_7_4_diskless() {
    follow_and_replay("redis-7.4", Transfer::Diskless);
}

#[test]
fn redis_8_2_disk() {
    follow_and_replay("redis-8.2", Transfer::Disk);
}

#[test]
fn redis_8_2_diskless() {
    follow_and_replay("redis-8.2", Transfer::Diskless);
}

#[test]
fn valkey_9_1_disk() {
    follow_and_replay("valkey-9.1", Transfer::Disk);
}

#[test]
fn valkey_9_1_diskless() {
    follow_and_replay("valkey-9.1", Transfer::Diskless);
}
