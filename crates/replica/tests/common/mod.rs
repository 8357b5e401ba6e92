//! Shared by the session tests: a handler that forwards what it sees to the test, delivering
//! everything at once, and checks on what was seen.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::Duration;

use replica::{Checkpoint, CommandKind, Output, Session, SessionConfig};
use tokio::sync::mpsc;

/// An owned copy of an output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Resync { replid: String, offset: u64 },
    SnapshotBegin { replid: String, offset: u64 },
    Key(Vec<u8>),
    SnapshotEnd(u64),
    Continue { replid: String, offset: u64 },
    Command { args: Vec<Vec<u8>>, start: u64, end: u64, replid: String, kind: CommandKind },
    Checkpoint(Checkpoint),
}

impl Seen {
    /// The `i` of a `SET n:<i> <i>`.
    pub fn write_number(&self) -> Option<u64> {
        match self {
            Seen::Command { args, .. } if args.len() == 3 && args[0].eq_ignore_ascii_case(b"SET") => {
                std::str::from_utf8(args[1].strip_prefix(b"n:")?).ok()?.parse().ok()
            }
            _ => None,
        }
    }
}

/// Starts a session in a task; what it sees arrives on the receiver. The handler reports
/// everything delivered as soon as it sees it.
pub fn spawn_session(config: SessionConfig) -> (mpsc::UnboundedReceiver<Seen>, tokio::task::JoinHandle<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut session = match Session::new(config) {
            Ok(s) => s,
            Err(e) => return e.to_string(),
        };
        let mut handler = Collector(tx);
        match session.run(&mut handler).await {
            Err(e) => e.to_string(),
        }
    });
    (rx, task)
}

struct Collector(mpsc::UnboundedSender<Seen>);

impl replica::Handler for Collector {
    type Error = &'static str;

    fn output(&mut self, out: &Output<'_>) -> Result<Option<u64>, Self::Error> {
        let (seen, delivered) = match out {
            Output::Resync { replid, offset } => (Seen::Resync { replid: replid.to_string(), offset: *offset }, None),
            Output::SnapshotBegin { replid, offset, .. } => {
                (Seen::SnapshotBegin { replid: replid.to_string(), offset: *offset }, None)
            }
            Output::Snapshot(rdb::Event::Key(key)) => (Seen::Key(key.key.to_vec()), None),
            Output::SnapshotEnd { offset } => (Seen::SnapshotEnd(*offset), Some(*offset)),
            Output::Continue { replid, offset } => {
                (Seen::Continue { replid: replid.to_string(), offset: *offset }, None)
            }
            Output::Command(c) => (
                Seen::Command {
                    args: c.args.iter().map(|a| a.to_vec()).collect(),
                    start: c.start_offset,
                    end: c.end_offset,
                    replid: c.replid.to_string(),
                    kind: c.kind,
                },
                (c.kind == CommandKind::Data).then_some(c.end_offset),
            ),
            _ => return Ok(None),
        };
        self.0.send(seen).map_err(|_| "the test ended")?;
        Ok(delivered)
    }

    fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), Self::Error> {
        self.0.send(Seen::Checkpoint(*checkpoint)).map_err(|_| "the test ended")
    }
}

/// The next thing seen, skipping checkpoints; fails the test after `within`.
pub async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>, within: Duration) -> Seen {
    loop {
        match tokio::time::timeout(within, rx.recv()).await {
            Ok(Some(Seen::Checkpoint(_))) => continue,
            Ok(Some(seen)) => return seen,
            Ok(None) => panic!("the session ended"),
            Err(_) => panic!("nothing seen for {within:?}"),
        }
    }
}

/// Collects everything until `done` says so (or fails after `within` in all).
pub async fn collect_until(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    within: Duration,
    mut done: impl FnMut(&Seen) -> bool,
) -> Vec<Seen> {
    let deadline = tokio::time::Instant::now() + within;
    let mut all = Vec::new();
    loop {
        let seen = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(seen)) => seen,
            Ok(None) => panic!("the session ended; seen so far: {}", summary(&all)),
            Err(_) => panic!("timed out; seen so far: {}", summary(&all)),
        };
        let stop = done(&seen);
        all.push(seen);
        if stop {
            return all;
        }
    }
}

pub fn summary(all: &[Seen]) -> String {
    let mut out = Vec::new();
    for s in all {
        match s {
            Seen::Key(_) | Seen::Checkpoint(_) => {}
            Seen::Command { .. } => {
                if let Some(n) = s.write_number() {
                    out.push(format!("n:{n}"))
                }
            }
            other => out.push(format!("{other:?}")),
        }
    }
    let text = out.join(" ");
    if text.len() > 4000 {
        format!("…{}", &text[text.len() - 4000..])
    } else {
        text
    }
}

/// What a consumer that applies everything it sees ends up with, dropping repeated commands
/// by offset: the keys of the last snapshot and the writes after it, in order.
pub struct Replay {
    pub snapshot_keys: BTreeSet<Vec<u8>>,
    pub writes: Vec<u64>,
    pub duplicates: usize,
}

pub fn replay(all: &[Seen]) -> Replay {
    let mut r = Replay { snapshot_keys: BTreeSet::new(), writes: Vec::new(), duplicates: 0 };
    let mut applied = 0;
    for seen in all {
        match seen {
            Seen::SnapshotBegin { offset, .. } => {
                r.snapshot_keys.clear();
                r.writes.clear();
                applied = *offset;
            }
            Seen::Key(k) => {
                r.snapshot_keys.insert(k.clone());
            }
            Seen::Command { end, .. } => {
                if *end <= applied {
                    r.duplicates += 1;
                    continue;
                }
                applied = *end;
                if let Some(n) = seen.write_number() {
                    r.writes.push(n);
                }
            }
            _ => {}
        }
    }
    r
}

/// Checks that the snapshot holds `n:0..k` and the commands continue with `k..=last`, with no
/// gap: the union of what was seen is exactly the writes, in order.
pub fn assert_exactly_the_writes(all: &[Seen], last: u64) {
    let r = replay(all);
    let in_snapshot: BTreeSet<u64> =
        r.snapshot_keys.iter().filter_map(|k| std::str::from_utf8(k.strip_prefix(b"n:")?).ok()?.parse().ok()).collect();
    let k = in_snapshot.len() as u64;
    assert_eq!(in_snapshot, (0..k).collect(), "the snapshot holds a prefix of the writes");
    let expected: Vec<u64> = (k..=last).collect();
    if r.writes != expected {
        let first_bad = r.writes.iter().zip(&expected).position(|(a, b)| a != b);
        panic!(
            "writes after the snapshot (of {k}) are not exactly {k}..={last}: got {} writes, first difference at {first_bad:?}\n{}",
            r.writes.len(),
            summary(all)
        );
    }
}

/// A thread writing `SET n:<i> <i>` for i = 0, 1, … on its own connection until stopped,
/// a little apart so the stream stays busy for a while. Returns the last i written.
pub struct Writer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Writer {
    pub fn start(port: u16, from: u64, pause: Duration) -> Writer {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut client = testkit::Client::connect(port).unwrap();
            let mut i = from;
            loop {
                let n = i.to_string();
                client.cmd_str(&["SET", &format!("n:{n}"), &n]).unwrap().expect_ok();
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    return i;
                }
                i += 1;
                std::thread::sleep(pause);
            }
        });
        Writer { stop, thread: Some(thread) }
    }

    /// Stops and returns the number of the last write.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// Writes `SET n:<i> <i>` for each i in `range`, synchronously.
/// (On the server's shared connection, which stays authenticated when a test sets a password.)
pub fn write_range(server: &testkit::Server, range: std::ops::Range<u64>) {
    for i in range {
        let n = i.to_string();
        server.cmd_str(&["SET", &format!("n:{n}"), &n]).expect_ok();
    }
}

pub fn replication_info(server: &testkit::Server) -> replica::ReplicationInfo {
    replica::ReplicationInfo::parse(&server.info("replication"))
}

/// Waits until a replica's link to its master is up.
pub fn wait_link_up(replica: &testkit::Server) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !replica.info("replication").contains("master_link_status:up") {
        assert!(std::time::Instant::now() < deadline, "the replica never synced:\n{}", replica.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}
