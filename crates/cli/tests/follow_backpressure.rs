//! Backpressure: a sink that stalls must not make redtail buffer without limit. The test reads
//! `redtail follow`'s stdout through a pipe, stops reading it for 10 s (a stalled sink: the
//! pipe fills and redtail's writes block), and meanwhile writes many times more data than the
//! memory bound to the master in large values. Then:
//! - redtail's peak RSS (`VmHWM`) stays under [`RSS_BOUND`];
//! - the master's output buffer for it (`CLIENT LIST TYPE replica`, `omem`) is where the
//!   data piled up instead: it grows to at least half of what was written;
//! - the lag, in bytes and in seconds, shows on `/metrics` during the stall (the metrics
//!   thread does not wait for the sink);
//! - after the stall redtail catches up: every write, in order, on the same connection.
//!
//! The master keeps its default `client-output-buffer-limit replica 256mb 64mb 60`, which the
//! test checks rather than raises: [`VOLUME`] stays under the hard limit, and the stall is far
//! shorter than the 60 s the soft limit allows (a disconnection would show as a second `sync`).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::follow::{proc_status_bytes, replica_omem, wait_replica_online, WITHIN};
use common::metrics::{free_addr, scrape};
use serde_json::Value;
use testkit::{Reply, Server};

const STALL: Duration = Duration::from_secs(10);
/// The size of each value written.
const VALUE: usize = 128 << 10;
/// What is written during the stall: 160 MiB, five times [`RSS_BOUND`].
const WRITES: usize = 1280;
const VOLUME: usize = WRITES * VALUE;
/// redtail's peak resident memory, everything included (the streaming target is
/// 50 MB; this leaves room for the allocator keeping freed 128 KiB lines around).
const RSS_BOUND: u64 = 32 << 20;

/// What the reader thread has seen of redtail's output.
#[derive(Default)]
struct Seen {
    syncs: usize,
    /// The write number of each `set` command event, in output order.
    writes: Vec<u64>,
}

#[test]
fn a_stalled_sink_leaves_the_data_in_the_masters_buffer() {
    let master = Server::start("redis-7.0");
    let Reply::Array(limit) = master.cmd_str(&["CONFIG", "GET", "client-output-buffer-limit"]) else { panic!() };
    let limit = limit[1].as_str().unwrap().into_owned();
    assert!(limit.contains("slave 268435456 67108864 60"), "the default limit this test relies on: {limit}");
    const { assert!(VOLUME < 256 << 20, "under the hard limit") };

    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_redtail"))
        .args(["follow", "--metrics-addr", &addr, &master.url()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = child.id();
    let log = || std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();

    let paused = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let reader = {
        let (paused, seen) = (paused.clone(), seen.clone());
        let mut out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut line = Vec::new();
            loop {
                while paused.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                line.clear();
                if out.read_until(b'\n', &mut line).unwrap() == 0 {
                    return;
                }
                let event: Value = serde_json::from_slice(&line).unwrap();
                let mut seen = seen.lock().unwrap();
                match event["event"].as_str() {
                    Some("sync") => seen.syncs += 1,
                    Some("command") if event["command"] == "set" => {
                        let value = event["args"][1].as_str().unwrap();
                        seen.writes.push(value[..8].parse().unwrap());
                    }
                    _ => {}
                }
            }
        })
    };
    let deadline = Instant::now() + WITHIN;
    while seen.lock().unwrap().syncs == 0 {
        assert!(Instant::now() < deadline, "no sync event\n{}", log());
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_replica_online(&master);
    let rss_before = proc_status_bytes(pid, "VmHWM");

    // The stall: nobody reads redtail's output while the workload runs.
    paused.store(true, Ordering::SeqCst);
    let stalled_at = Instant::now();
    let mut client = master.client();
    let padding = "x".repeat(VALUE - 8);
    for batch in (0..WRITES).collect::<Vec<_>>().chunks(32) {
        for &i in batch {
            let key = format!("k:{}", i % 16);
            let value = format!("{i:08}{padding}");
            client.send(&[b"SET", key.as_bytes(), value.as_bytes()]).unwrap();
        }
        for _ in batch {
            client.read_reply().unwrap().expect_ok();
        }
    }
    let wrote_in = stalled_at.elapsed();
    assert!(wrote_in < STALL, "the workload took {wrote_in:?}, longer than the stall");
    let mut omem_peak = 0;
    while stalled_at.elapsed() < STALL {
        omem_peak = omem_peak.max(replica_omem(&master));
        std::thread::sleep(Duration::from_millis(100));
    }
    let during = scrape(&addr);
    let stalled_writes = seen.lock().unwrap().writes.len();
    paused.store(false, Ordering::SeqCst);

    let deadline = Instant::now() + WITHIN;
    while seen.lock().unwrap().writes.len() < WRITES {
        assert!(Instant::now() < deadline, "redtail did not catch up\n{}", log());
        assert!(child.try_wait().unwrap().is_none(), "redtail exited\n{}", log());
        std::thread::sleep(Duration::from_millis(10));
    }
    let caught_up_in = stalled_at.elapsed() - STALL;
    let peak_rss = proc_status_bytes(pid, "VmHWM");
    common::follow::signal(pid, "TERM");
    let status = child.wait().unwrap();
    reader.join().unwrap();

    eprintln!(
        "wrote {} MiB in {wrote_in:?}; during the stall redtail wrote {stalled_writes} of {WRITES} writes, the master's \
         omem peaked at {} MiB, /metrics showed lag {} MiB; caught up {caught_up_in:?} after; VmHWM {} MiB \
         (before the stall {} MiB)",
        VOLUME >> 20,
        omem_peak >> 20,
        during.get("redtail_lag_bytes") as u64 >> 20,
        peak_rss >> 20,
        rss_before >> 20,
    );
    assert!(peak_rss < RSS_BOUND, "redtail's peak RSS {peak_rss} is over {RSS_BOUND}");
    assert!(omem_peak as usize >= VOLUME / 2, "the master buffered only {omem_peak} of {VOLUME} bytes");
    assert!(during.get("redtail_lag_bytes") as usize >= VOLUME / 2, "the lag during the stall:\n{}", during.0);
    // The writes took well under a second, and a poll a second sees them: the lag in seconds
    // is the rest of the stall, minus that second.
    let lag_seconds = during.get("redtail_lag_seconds");
    assert!(lag_seconds >= (STALL - Duration::from_secs(3)).as_secs_f64(), "lag {lag_seconds} s after the stall");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.writes, (0..WRITES as u64).collect::<Vec<_>>(), "every write, in order");
    assert_eq!(seen.syncs, 1, "one connection throughout: the master never dropped redtail");
    assert!(status.success(), "SIGTERM exits 0, got {status}\n{}", log());
}
