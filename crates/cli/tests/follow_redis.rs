//! Live migration: `redtail follow SOURCE --sink redis://TARGET` against real servers. The
//! source gets the known data set and a workload while redtail copies the snapshot and then the
//! stream; once the writes stop, the target holds the same data (key by key, and `DEBUG DIGEST`
//! between servers of the same version) and the master sees everything acknowledged.

mod common;

use std::time::{Duration, Instant};

use common::compare::{assert_same_data, describe, digest, keys};
use common::follow::{
    ack_and_master_offset, assert_acked_within, proc_status_bytes, wait_replica_online, Follower, WITHIN,
};
use common::writer::BackgroundWriter;
use testkit::{Direction, FaultProxy, Reply, Server};

fn sink_arg(target: &Server) -> String {
    format!("redis://127.0.0.1:{}", target.port())
}

/// Writes of every kind, idempotent or not, across dbs, with transactions and expiries.
fn mixed_workload(client: &mut testkit::Client, i: u64) {
    let s = |c: &mut testkit::Client, args: &[&str]| {
        let r = c.cmd_str(args).unwrap();
        assert!(!r.is_error(), "{args:?}: {r:?}");
    };
    s(client, &["SELECT", &(i % 3).to_string()]);
    s(client, &["SET", &format!("w:{i}"), &i.to_string()]);
    s(client, &["INCR", "counter"]);
    s(client, &["RPUSH", "log", &format!("x{i}")]);
    s(client, &["HSET", "h", &format!("f{}", i % 50), &i.to_string()]);
    s(client, &["PEXPIREAT", &format!("w:{i}"), "4102444800000"]);
    if i.is_multiple_of(7) && i >= 5 {
        s(client, &["DEL", &format!("w:{}", i - 5)]);
    }
    if i.is_multiple_of(10) {
        s(client, &["MULTI"]);
        s(client, &["INCR", "tx"]);
        s(client, &["SADD", "members", &i.to_string()]);
        s(client, &["EXEC"]);
    }
}

/// Waits until `done` holds, at most `within`.
#[track_caller]
fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `redtail verify SOURCE TARGET` finds no difference.
#[track_caller]
fn assert_verify_clean(source: &Server, target: &Server) {
    common::compare::assert_verify_clean(&[&source.url(), &target.url()]);
}

/// How many `RESTORE`s the server has run (`INFO commandstats`).
fn restores(server: &Server) -> u64 {
    let info = server.info("commandstats");
    info.lines().find_map(|l| l.strip_prefix("cmdstat_restore:calls=")?.split(',').next()?.parse().ok()).unwrap_or(0)
}

/// Rounds of the writer done once redtail is past the snapshot, then more rounds, then stop.
fn write_through_the_stream(writer: BackgroundWriter, more: u64) {
    let from = writer.done();
    wait_until("the workload to go on", WITHIN, || writer.done() >= from + more);
    writer.stop();
}

#[test]
fn redis_7_0_to_7_0_while_writing() {
    let source = Server::start("redis-7.0");
    testkit::dataset::write_dataset(&source);
    let target = Server::start("redis-7.0");
    // Replaced by the full sync, as on a replica.
    target.cmd_str(&["SET", "stale", "x"]).expect_ok();
    let writer = BackgroundWriter::start(source.port(), mixed_workload);
    let redtail = Follower::start(&["--sink", &sink_arg(&target), "--target-flush", &source.url()]);
    wait_replica_online(&source);
    write_through_the_stream(writer, 300);

    wait_until("the target's digest to equal the source's", Duration::from_secs(2), || {
        digest(&target) == digest(&source)
    });
    assert_same_data(&source, &target);
    assert_verify_clean(&source, &target);
    assert!(keys(&target, 0).iter().all(|k| k != b"stale"), "the target was flushed before the snapshot");
    // Same version: the snapshot's keys go as RESTORE of their own bytes.
    assert!(restores(&target) >= 40, "RESTOREs: {}", restores(&target));
    assert_acked_within(&source, Duration::from_secs(5));
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}

/// A snapshot into a target that holds keys is refused unless --target-flush says to empty it.
#[test]
fn a_snapshot_into_a_non_empty_target_is_refused() {
    let source = Server::start("redis-7.0");
    let target = Server::start("redis-7.0");
    target.cmd_str(&["SET", "precious", "x"]).expect_ok();
    let mut redtail = Follower::start(&["--sink", &sink_arg(&target), &source.url()]);
    let status = redtail.wait();
    assert_eq!(status.code(), Some(5), "{}", redtail.stderr());
    assert!(
        redtail.stderr().contains("holds 1 keys") && redtail.stderr().contains("--target-flush"),
        "{}",
        redtail.stderr()
    );
    assert_eq!(target.cmd_str(&["GET", "precious"]).as_str().as_deref(), Some("x"));
}

#[test]
fn an_unreachable_target_exits_5() {
    let source = Server::start("redis-7.0");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redtail = Follower::start(&["--sink", &format!("redis://127.0.0.1:{port}"), &source.url()]);
    let status = redtail.wait();
    let stderr = redtail.stderr();
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains(&format!("cannot connect to the target 127.0.0.1:{port}")), "{stderr}");
}

/// Compares what servers of different versions both hold: the same keys, types, TTL presence
/// and values; for streams the entries, each group's pending entries and consumers (the
/// version-specific XINFO fields, like 7.0's entries-read, are left out).
#[track_caller]
fn assert_same_data_across_versions(source: &Server, target: &Server) {
    for db in 0..16 {
        let (want, got) = (keys(source, db), keys(target, db));
        assert_eq!(got, want, "db {db}: key lists differ");
        for key in &want {
            let (s, t) = (stream_view(source, db, key), stream_view(target, db, key));
            match (s, t) {
                (Some(s), Some(t)) => assert_eq!(t, s, "stream {:?}", String::from_utf8_lossy(key)),
                _ => assert_eq!(
                    describe(target, db, key),
                    describe(source, db, key),
                    "{:?}",
                    String::from_utf8_lossy(key)
                ),
            }
        }
    }
}

fn stream_view(server: &Server, db: u64, key: &[u8]) -> Option<String> {
    let mut c = server.client();
    c.cmd_str(&["SELECT", &db.to_string()]).unwrap();
    if c.cmd(&[b"TYPE", key]).unwrap().as_str()? != "stream" {
        return None;
    }
    let mut view = format!("{:?}", c.cmd(&[b"XRANGE", key, b"-", b"+"]).unwrap());
    let Reply::Array(groups) = c.cmd(&[b"XINFO", b"GROUPS", key]).unwrap() else { return Some(view) };
    for g in groups {
        let Reply::Array(fields) = g else { continue };
        let field =
            |name: &str| fields.chunks(2).find(|kv| kv[0].as_str().as_deref() == Some(name)).map(|kv| kv[1].clone());
        let name = field("name").and_then(|n| n.as_bytes().map(<[u8]>::to_vec)).unwrap();
        view += &format!(" group {:?} last {:?}", String::from_utf8_lossy(&name), field("last-delivered-id"));
        if let Reply::Array(pel) = c.cmd(&[b"XPENDING", key, &name, b"-", b"+", b"1000"]).unwrap() {
            for e in pel {
                let Reply::Array(e) = e else { continue };
                view += &format!(" pel {:?} {:?} {:?}", e[0], e[1], e[3]);
            }
        }
        if let Reply::Array(consumers) = c.cmd(&[b"XINFO", b"CONSUMERS", key, &name]).unwrap() {
            for cons in consumers {
                let Reply::Array(f) = cons else { continue };
                view += &format!(" consumer {:?} {:?}", f[1], f[3]);
            }
        }
    }
    Some(view)
}

/// 6.2 cannot read 7.0's RDB 10, so the snapshot goes as commands, without the 7.0-only
/// stream options (ENTRIESADDED, ENTRIESREAD). Functions do not exist in 6.2: they are
/// removed from the source first (see the next test for what happens with them).
#[test]
fn redis_7_0_to_6_2_as_commands() {
    let source = Server::start("redis-7.0");
    testkit::dataset::write_dataset(&source);
    source.cmd_str(&["FUNCTION", "FLUSH"]).expect_ok();
    let target = Server::start("redis-6.2");
    let writer = BackgroundWriter::start(source.port(), mixed_workload);
    let redtail = Follower::start(&["--sink", &sink_arg(&target), &source.url()]);
    wait_replica_online(&source);
    write_through_the_stream(writer, 100);
    assert_acked_within(&source, Duration::from_secs(5));
    assert_same_data_across_versions(&source, &target);
    assert_verify_clean(&source, &target);
    assert_eq!(restores(&target), 0, "6.2 cannot read RDB 10 payloads");
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}

/// `--snapshot-via commands` between servers that could take RESTORE: the same data, and no
/// RESTORE at all.
#[test]
fn snapshot_via_commands_uses_no_restore() {
    let source = Server::start("redis-7.0");
    testkit::dataset::write_dataset(&source);
    let target = Server::start("redis-7.0");
    let redtail = Follower::start(&["--sink", &sink_arg(&target), "--snapshot-via", "commands", &source.url()]);
    wait_replica_online(&source);
    assert_acked_within(&source, Duration::from_secs(5));
    assert_same_data(&source, &target);
    assert_verify_clean(&source, &target);
    assert_eq!(restores(&target), 0);
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}

/// A function library cannot go to 6.2: the default policy stops with the command named.
#[test]
fn a_function_into_6_2_fails_naming_the_command() {
    let source = Server::start("redis-7.0");
    let code = "#!lua name=lib\nredis.register_function('one', function() return 1 end)";
    assert!(!source.cmd_str(&["FUNCTION", "LOAD", code]).is_error());
    let target = Server::start("redis-6.2");
    let mut redtail = Follower::start(&["--sink", &sink_arg(&target), &source.url()]);
    let status = redtail.wait();
    let stderr = redtail.stderr();
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("refused FUNCTION"), "{stderr}");
}

/// Hash field TTLs (Redis 7.4) into Valkey 9.1, which has them too: HPEXPIREAT per field.
#[test]
fn redis_7_4_with_field_ttls_to_valkey_9_1() {
    let source = Server::start("redis-7.4");
    testkit::dataset::write_dataset(&source);
    let target = Server::start("valkey-9.1");
    let redtail = Follower::start(&["--sink", &sink_arg(&target), &source.url()]);
    wait_replica_online(&source);
    let mut c = source.client();
    c.cmd_str(&["SELECT", "2"]).unwrap().expect_ok();
    // A field TTL set in the stream, after the snapshot.
    assert_eq!(
        c.cmd_str(&["HPEXPIREAT", "hf:small", "4102444801000", "FIELDS", "1", "c"]).unwrap(),
        Reply::Array(vec![Reply::Int(1)])
    );
    assert_acked_within(&source, Duration::from_secs(5));
    assert_same_data_across_versions(&source, &target);
    assert_verify_clean(&source, &target);
    assert_eq!(restores(&target), 0, "Valkey 9 refuses Redis 7.4's RDB 12 payloads");
    for (key, field) in [("hf:small", "b"), ("hf:small", "c"), ("hf:big", "k7"), ("hf:big", "k200"), ("hf:big", "k8")] {
        let ask = |s: &Server| {
            let mut c = s.client();
            c.cmd_str(&["SELECT", "2"]).unwrap().expect_ok();
            c.cmd_str(&["HPEXPIRETIME", key, "FIELDS", "1", field]).unwrap()
        };
        assert_eq!(ask(&target), ask(&source), "{key} {field}");
    }
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}

/// A key of another type on the target: RPUSH gets WRONGTYPE. By default redtail stops with
/// exit code 5 naming the command and key, and the checkpoint stays before it.
#[test]
fn a_refused_command_fails_by_default() {
    let source = Server::start("redis-7.0");
    let target = Server::start("redis-7.0");
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    let mut redtail =
        Follower::start(&["--sink", &sink_arg(&target), "--checkpoint", checkpoint.to_str().unwrap(), &source.url()]);
    wait_replica_online(&source);
    source.cmd_str(&["SET", "before", "1"]).expect_ok();
    assert_acked_within(&source, Duration::from_secs(5));
    target.cmd_str(&["SET", "clash", "a string"]).expect_ok();
    let (_, before_rpush) = ack_and_master_offset(&source);
    assert_eq!(source.cmd_str(&["RPUSH", "clash", "x"]).as_int(), Some(1));
    source.cmd_str(&["SET", "after", "1"]).expect_ok();
    let status = redtail.wait();
    let stderr = redtail.stderr();
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("refused RPUSH on key \"clash\"") && stderr.contains("WRONGTYPE"), "{stderr}");
    let saved = std::fs::read_to_string(&checkpoint).unwrap();
    let offset: u64 = saved.lines().find_map(|l| l.strip_prefix("offset ")).unwrap().parse().unwrap();
    assert!(offset <= before_rpush, "checkpoint {offset} is past the refused RPUSH (which starts at {before_rpush})");
    assert_eq!(target.cmd_str(&["GET", "before"]).as_str().as_deref(), Some("1"));
}

/// The same with --on-target-error skip: the refusal is logged and the rest arrives.
#[test]
fn skip_logs_a_refused_command_and_goes_on() {
    let source = Server::start("redis-7.0");
    let target = Server::start("redis-7.0");
    let redtail = Follower::start(&["--sink", &sink_arg(&target), "--on-target-error", "skip", &source.url()]);
    wait_replica_online(&source);
    target.cmd_str(&["SET", "clash", "a string"]).expect_ok();
    assert_eq!(source.cmd_str(&["RPUSH", "clash", "x"]).as_int(), Some(1));
    source.cmd_str(&["SET", "after", "1"]).expect_ok();
    assert_acked_within(&source, Duration::from_secs(5));
    assert_eq!(target.cmd_str(&["GET", "after"]).as_str().as_deref(), Some("1"));
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
    assert!(redtail.stderr().contains("WRONGTYPE"), "the skipped refusal is logged: {}", redtail.stderr());
}

/// SIGKILL in the middle of the stream, then a restart from the checkpoint: the commands
/// after the checkpoint are applied again (at least once), which idempotent writes survive.
#[test]
fn killed_and_resumed_from_the_checkpoint() {
    let source = Server::start("redis-7.0");
    testkit::dataset::write_dataset(&source);
    let target = Server::start("redis-7.0");
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp");
    let cp = checkpoint.to_str().unwrap();
    let writer = BackgroundWriter::start(source.port(), |c, i| {
        if i == 0 {
            c.cmd_str(&["SELECT", "5"]).unwrap().expect_ok();
        }
        c.cmd_str(&["SET", &format!("n:{i}"), &i.to_string()]).unwrap().expect_ok();
        c.cmd_str(&["HSET", "latest", "n", &i.to_string()]).unwrap();
        if i.is_multiple_of(3) {
            c.cmd_str(&["DEL", &format!("n:{}", i / 2)]).unwrap();
        }
    });
    let first = Follower::start(&["--sink", &sink_arg(&target), "--checkpoint", cp, &source.url()]);
    wait_replica_online(&source);
    let from = writer.done();
    wait_until("writes in the stream", WITHIN, || writer.done() >= from + 500 && checkpoint.exists());
    let first = first.kill();
    drop(first);
    let from = writer.done();
    wait_until("writes while nobody follows", WITHIN, || writer.done() >= from + 300);
    let second =
        Follower::start(&["--sink", &sink_arg(&target), "--checkpoint", cp, "--from", "checkpoint", &source.url()]);
    write_through_the_stream(writer, 300);
    assert_acked_within(&source, Duration::from_secs(10));
    assert_same_data(&source, &target);
    assert_verify_clean(&source, &target);
    let (status, second) = second.terminate();
    assert!(status.success(), "{status:?}: {}", second.stderr());
}

/// The connection to the target is cut in the snapshot and in the stream: redtail reconnects,
/// writes again what the target had not answered, and the target ends with the same data (the
/// workload is idempotent: a command answered but not acknowledged may be applied twice).
#[test]
fn a_lost_target_connection_is_reopened() {
    let source = Server::start("redis-7.0");
    testkit::dataset::write_dataset(&source);
    let target = Server::start("redis-7.0");
    let proxy = FaultProxy::start(target.port());
    // The first connection is cut early in the snapshot, the next ones further on.
    proxy.schedule_cuts(&[
        (Direction::Upstream, 50_000),
        (Direction::Upstream, 100_000),
        (Direction::Downstream, 5_000),
    ]);
    let writer = BackgroundWriter::start(source.port(), |c, i| {
        c.cmd_str(&["SET", &format!("n:{}", i % 5000), &i.to_string()]).unwrap().expect_ok();
        c.cmd_str(&["HSET", "latest", "n", &i.to_string()]).unwrap();
    });
    let redtail = Follower::start(&["--sink", &proxy.url(), &source.url()]);
    wait_replica_online(&source);
    write_through_the_stream(writer, 3000);
    assert_acked_within(&source, Duration::from_secs(10));
    assert_eq!(proxy.scheduled_cuts(), 0, "every planned cut happened");
    assert_same_data(&source, &target);
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
    assert!(redtail.stderr().contains("lost the connection to the target"), "{}", redtail.stderr());
}

/// Backpressure: the target stalls for 10 s (a network partition: the proxy forwards nothing)
/// while 160 MiB are written to the source. redtail's memory stays bounded by its window (the
/// master's output buffer holds the rest), and after the stall everything arrives.
#[test]
fn a_stalled_target_keeps_redtails_memory_bounded() {
    const VALUE: usize = 128 << 10;
    const WRITES: usize = 1280;
    const VOLUME: usize = WRITES * VALUE;
    // The window (32 MiB) plus the decoder's and writer's buffers and the binary itself.
    const RSS_BOUND: u64 = 80 << 20;
    const STALL: Duration = Duration::from_secs(10);
    let source = Server::start("redis-7.0");
    let target = Server::start("redis-7.0");
    let proxy = FaultProxy::start(target.port());
    let redtail = Follower::start(&["--sink", &proxy.url(), &source.url()]);
    wait_replica_online(&source);

    proxy.blackhole();
    let stalled_at = Instant::now();
    let mut client = source.client();
    let padding = "x".repeat(VALUE - 8);
    for batch in (0..WRITES).collect::<Vec<_>>().chunks(32) {
        for &i in batch {
            let value = format!("{i:08}{padding}");
            client.send(&[b"SET", format!("k:{}", i % 16).as_bytes(), value.as_bytes()]).unwrap();
        }
        for _ in batch {
            client.read_reply().unwrap().expect_ok();
        }
    }
    assert!(stalled_at.elapsed() < STALL, "the workload took longer than the stall");
    std::thread::sleep(STALL.saturating_sub(stalled_at.elapsed()));
    let (acked, master) = ack_and_master_offset(&source);
    assert!(
        master - acked.unwrap_or(0) >= (VOLUME / 2) as u64,
        "the lag during the stall: acked {acked:?}, master {master}"
    );
    proxy.heal();

    assert_acked_within(&source, WITHIN);
    let peak_rss = proc_status_bytes(redtail.pid(), "VmHWM");
    eprintln!("peak RSS {} MiB; lag during the stall {} MiB", peak_rss >> 20, (master - acked.unwrap_or(0)) >> 20);
    assert!(peak_rss < RSS_BOUND, "redtail's peak RSS {} MiB is over {} MiB", peak_rss >> 20, RSS_BOUND >> 20);
    assert_eq!(digest(&target), digest(&source));
    let last = target.cmd_str(&["GET", &format!("k:{}", (WRITES - 1) % 16)]);
    assert_eq!(&last.as_bytes().unwrap()[..8], format!("{:08}", WRITES - 1).as_bytes());
    let (status, redtail) = redtail.terminate();
    assert!(status.success(), "{status:?}: {}", redtail.stderr());
}
