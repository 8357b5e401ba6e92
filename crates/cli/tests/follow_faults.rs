//! Faults through the proxy: `redtail follow --format resp` reaches its master through a
//! [`FaultProxy`] that cuts 20 successive connections, each once, at byte positions drawn from
//! a fixed-seed generator across the handshake (both directions), the snapshot and the stream
//! (both directions), while a writer keeps writing (numbered SETs, INCR, HSET, RPUSH and
//! MULTI/EXEC in another db). After the last cut the writes stop, redtail must acknowledge the
//! master's final offset, exit 0 on SIGTERM, and its output replayed into an empty server of
//! the same version must hold exactly the master's data.
//!
//! The first connections are cut before the stream starts (no position to resume from yet, so
//! each one is a new full sync, and a cut snapshot is followed by a `FLUSHALL` and the next
//! snapshot); the later ones resume with `+CONTINUE`, so they are cut in their handshake or
//! their stream. No more than two cuts before a stream come in a row, which keeps redtail's
//! backoff (doubling on each failure that did not reach the stream) short.
//!
//! The snapshot transfer alternates by server (`follow_matrix` runs both on each): from disk
//! on 2.8 (its only kind), 5.0, 7.4 and 8.2, diskless on 3.2, 6.2, 7.0 and Valkey 9.1, so
//! cuts land in both kinds of snapshot on old and new servers alike.

mod common;

use std::time::{Duration, Instant};

use common::compare::{assert_same_data, digest, pipe_into};
use common::follow::{assert_acked_within, wait_replica_online, Follower};
use common::transfer::{assert_transferred, start_master, Transfer};
use common::writer::BackgroundWriter;
use testkit::{Direction, FaultProxy, Product, Server};

const CUTS: usize = 20;
/// The bound on each wait of the test.
const WITHIN: Duration = Duration::from_secs(45);

/// SplitMix64: a tiny fixed-seed generator, so the cut positions are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// Where a cut falls, by phase, for the plan's description in failure messages.
#[derive(Clone, Copy, Debug)]
enum Phase {
    HandshakeDown,
    HandshakeUp,
    Snapshot,
    StreamDown,
    StreamUp,
}

/// The plan: one cut per connection, in order.
///
/// Sizes, roughly: a full sync's handshake is about 190 bytes up (PING, the REPLCONFs,
/// `PSYNC ? -1`) and 80 down before the snapshot's `$` header; a resume's is about 235 up and
/// 40 to 60 down (`+CONTINUE`, with or without a replid). In the stream, `REPLCONF ACK`s of about
/// 40 bytes go up every 100 ms while data flows.
fn plan(seed: u64, rdb_len: u64) -> Vec<(Phase, Direction, u64)> {
    let mut rng = Rng(seed);
    let mut plan = Vec::with_capacity(CUTS);
    // Full syncs: nothing has reached the stream yet.
    plan.push((Phase::HandshakeDown, Direction::Downstream, rng.range(1, 80)));
    plan.push((Phase::Snapshot, Direction::Downstream, 100 + rng.range(0, rdb_len)));
    plan.push((Phase::HandshakeUp, Direction::Upstream, rng.range(1, 190)));
    plan.push((Phase::Snapshot, Direction::Downstream, 100 + rng.range(0, rdb_len)));
    // Well past the snapshot, which grows with the writes made before it (on Redis 5.0 after
    // a few seconds of backoff it is half as big again). A cut that falls short of the stream
    // shifts every later phase, and nothing resumes with +CONTINUE until a stream is reached.
    plan.push((Phase::StreamDown, Direction::Downstream, 3 * rdb_len + rng.range(200, 30_000)));
    // Resumes.
    let mut before_stream = 0;
    while plan.len() < CUTS {
        let roll = rng.range(0, 100);
        let cut = if before_stream < 2 && roll < 25 {
            (Phase::HandshakeDown, Direction::Downstream, rng.range(1, 45))
        } else if before_stream < 2 && roll < 40 {
            (Phase::HandshakeUp, Direction::Upstream, rng.range(1, 230))
        } else if roll < 85 {
            (Phase::StreamDown, Direction::Downstream, rng.range(60, 40_000))
        } else {
            (Phase::StreamUp, Direction::Upstream, rng.range(240, 600))
        };
        before_stream = match cut.0 {
            Phase::HandshakeDown | Phase::HandshakeUp => before_stream + 1,
            _ => 0,
        };
        plan.push(cut);
    }
    plan
}

/// Writes until stopped, one connection, about 1,000 rounds a second. Each round: a numbered
/// SET, INCR, HSET and RPUSH in db 0; every tenth a MULTI/EXEC in db 2 of non-idempotent
/// commands, so that a transaction delivered twice or in part shows in the data.
fn start_writer(port: u16) -> BackgroundWriter {
    BackgroundWriter::start(port, |c, i| {
        let mut run = |args: &[&str]| match c.cmd_str(args) {
            Ok(reply) => assert!(!reply.is_error(), "{args:?}: {reply:?}"),
            // The master is gone: the test has failed already.
            Err(_) => std::thread::sleep(Duration::from_secs(3600)),
        };
        let n = i.to_string();
        run(&["SET", &format!("n:{}", i % 5000), &n]);
        run(&["INCR", "counter"]);
        run(&["HSET", "h:w", &format!("f{}", i % 100), &n]);
        run(&["RPUSH", &format!("l:w:{}", i % 50), &n]);
        if i % 10 == 9 {
            run(&["SELECT", "2"]);
            run(&["MULTI"]);
            for cmd in [
                &["INCR", "tx:n"][..],
                &["RPUSH", "tx:l", &n],
                &["HINCRBY", "tx:h", "f", "1"],
                &["SET", "tx:last", &n],
                &["EXEC"],
            ] {
                run(cmd);
            }
            run(&["SELECT", "0"]);
        }
        std::thread::sleep(Duration::from_millis(1));
    })
}

fn cuts_then_replay(name: &str, transfer: Transfer, seed: u64) {
    // Another seed, to explore: FOLLOW_FAULTS_SEED=<n> (added to each server's own seed).
    let seed = seed + std::env::var("FOLLOW_FAULTS_SEED").map_or(0, |s| s.parse::<u64>().unwrap());
    let started = Instant::now();
    let master = start_master(name, transfer);
    testkit::dataset::write_dataset(&master);
    // The snapshot's size, to place cuts inside it.
    master.cmd_str(&["SAVE"]).expect_ok();
    let rdb_len = std::fs::metadata(master.rdb_path()).unwrap().len();
    let plan = plan(seed, rdb_len);
    eprintln!("{name}: snapshot about {rdb_len} bytes, cuts {plan:?}");

    let proxy = FaultProxy::start(master.port());
    proxy.schedule_cuts(&plan.iter().map(|&(_, dir, n)| (dir, n)).collect::<Vec<_>>());
    let writer = start_writer(master.port());
    let follower = Follower::start(&["--format", "resp", &proxy.url()]);

    let deadline = Instant::now() + WITHIN;
    while proxy.cuts() < CUTS as u64 {
        assert!(
            Instant::now() < deadline,
            "{name}: {} of {CUTS} cuts, {} connections in {WITHIN:?} (plan {plan:?})\nredtail stderr:\n{}",
            proxy.cuts(),
            proxy.connections(),
            follower.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let cut_at = started.elapsed();
    // The last, healthy connection streams (after the backoff of the last cut) before the
    // writes stop, so that the time to acknowledge them is redtail's alone.
    let deadline = Instant::now() + WITHIN;
    while proxy.connections() < CUTS as u64 + 1 {
        assert!(Instant::now() < deadline, "{name}: no reconnection after the last cut\n{}", follower.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_replica_online(&master);
    let rounds = writer.stop();

    // Everything written reaches redtail over the last connection.
    assert_acked_within(&master, Duration::from_secs(2));
    assert_eq!(proxy.connections(), CUTS as u64 + 1, "{name}: one connection per cut, then the last one");

    let (status, follower) = follower.terminate();
    let stderr = follower.stderr();
    assert!(status.success(), "{name}: redtail exited with {status}\n{stderr}");
    let output = follower.output();
    // FOLLOW_FAULTS_STDERR=1 shows redtail's log: each lost connection, its phase, and where
    // the next one resumes.
    if std::env::var_os("FOLLOW_FAULTS_STDERR").is_some() {
        eprintln!("{stderr}");
    }
    // A snapshot that follows output from an earlier one (cut short) starts with a FLUSHALL.
    let flushalls = testkit::parse_resp(&output).iter().filter(|c| c[0].eq_ignore_ascii_case("FLUSHALL")).count();
    let stats = master.info("stats");
    let stat = |name: &str| -> u64 {
        stats.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok()).unwrap_or(0)
    };
    let (full, partial) = (stat("sync_full"), stat("sync_partial_ok"));
    assert!(flushalls >= 1, "{name}: a cut snapshot is followed by a FLUSHALL and a new one");
    assert!(partial >= 5, "{name}: {partial} resumes with +CONTINUE");
    assert_transferred(&master, transfer);
    let target = Server::start(name);
    pipe_into(&target, &output);
    let v = master.version();
    if v.product == Product::Valkey || v.at_least(7, 0, 0) {
        if digest(&target) != digest(&master) {
            // Name the first key that differs.
            assert_same_data(&master, &target);
        }
    } else {
        assert_same_data(&master, &target);
    }
    eprintln!(
        "{name}: {rounds} write rounds, {} cuts in {cut_at:?}, {full} full syncs, {partial} partial, \
         {flushalls} FLUSHALLs, {} output bytes, {} reconnections logged, done in {:?}",
        proxy.cuts(),
        output.len(),
        stderr.matches("reconnecting").count(),
        started.elapsed()
    );
}

/// 2.8.17 has no diskless transfer.
#[test]
fn redis_2_8() {
    cuts_then_replay("redis-2.8", Transfer::Disk, 0x5EED_0208);
}

#[test]
fn redis_3_2() {
    cuts_then_replay("redis-3.2", Transfer::Diskless, 0x5EED_0302);
}

#[test]
fn redis_5_0() {
    cuts_then_replay("redis-5.0", Transfer::Disk, 0x5EED_0500);
}

#[test]
fn redis_6_2() {
    cuts_then_replay("redis-6.2", Transfer::Diskless, 0x5EED_0602);
}

#[test]
fn redis_7_0() {
    cuts_then_replay("redis-7.0", Transfer::Diskless, 0x5EED_0700);
}

#[test]
fn redis_7_4() {
    cuts_then_replay("redis-7.4", Transfer::Disk, 0x5EED_0704);
}

#[test]
fn redis_8_2() {
    cuts_then_replay("redis-8.2", Transfer::Disk, 0x5EED_0802);
}

#[test]
fn valkey_9_1() {
    cuts_then_replay("valkey-9.1", Transfer::Diskless, 0x5EED_0901);
}
