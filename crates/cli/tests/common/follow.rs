//! Running `redtail follow` as a process against a test server: its standard output goes to a
//! file that the test reads while it runs, and every wait is bounded.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::Server;

/// How long any one wait may take before the test fails.
pub const WITHIN: Duration = Duration::from_secs(30);

/// A running `redtail follow`. Dropping it kills the process.
pub struct Follower {
    child: Child,
    dir: tempfile::TempDir,
}

impl Follower {
    /// Starts `redtail follow ARGS`.
    pub fn start(args: &[&str]) -> Follower {
        let dir = tempfile::tempdir().unwrap();
        let out = File::create(dir.path().join("stdout")).unwrap();
        let err = File::create(dir.path().join("stderr")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_redtail"))
            .arg("follow")
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Follower { child, dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything written to standard output so far.
    pub fn output(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("stdout")).unwrap()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// The complete JSON lines written so far (a line cut short by a kill is left out).
    pub fn events(&self) -> Vec<Value> {
        json_lines(&self.output())
    }

    /// Waits until `done` holds for the events written so far, and returns them.
    #[track_caller]
    pub fn wait_for_events(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WITHIN;
        loop {
            let events = self.events();
            if done(&events) {
                return events;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("redtail exited ({status}) before {what}\nstderr:\n{}", self.stderr());
            }
            assert!(Instant::now() < deadline, "no {what} within {WITHIN:?}\nstderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the connection's stream has started (the first `sync` event).
    #[track_caller]
    pub fn wait_synced(&mut self) -> Vec<Value> {
        self.wait_for_events("sync event", |events| events.iter().any(|e| e["event"] == "sync"))
    }

    /// Stops it as an operator would, with SIGTERM, and returns how it exited.
    pub fn terminate(self) -> (ExitStatus, Follower) {
        self.stop_with("TERM")
    }

    /// Stops it with a signal (`TERM`, `INT`) and returns how it exited.
    pub fn stop_with(mut self, name: &str) -> (ExitStatus, Follower) {
        signal(self.pid(), name);
        let status = self.wait();
        (status, self)
    }

    /// SIGKILL: no chance to flush or save anything.
    pub fn kill(mut self) -> Follower {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self
    }

    /// How it exited, if it has.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for the process to end on its own.
    #[track_caller]
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "redtail did not exit within {WITHIN:?}\nstderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal by name with kill(1), so the tests need no libc binding.
pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill -{name} {pid}");
}

/// Parses the complete lines of JSON-lines output.
pub fn json_lines(out: &[u8]) -> Vec<Value> {
    let complete = match out.iter().rposition(|&b| b == b'\n') {
        Some(end) => &out[..=end],
        None => return Vec::new(),
    };
    complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l).unwrap_or_else(|e| panic!("bad JSON line {:?}: {e}", String::from_utf8_lossy(l)))
        })
        .collect()
}

/// The `command` events.
pub fn commands(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "command").collect()
}

/// The `i` of a `set n:<i> <i>` command event.
pub fn write_number(event: &Value) -> Option<u64> {
    if event["event"] != "command" || event["command"] != "set" {
        return None;
    }
    event["args"][0].as_str()?.strip_prefix("n:")?.parse().ok()
}

/// (the offset each replica the master lists has acknowledged, master_repl_offset), from
/// `INFO replication`.
pub fn replica_acks(server: &Server) -> (Vec<u64>, u64) {
    let info = server.info("replication");
    let acks = info
        .lines()
        .filter(|l| l.starts_with("slave") && l.contains(':') && l.contains("offset="))
        .filter_map(|l| l.split(',').find_map(|kv| kv.strip_prefix("offset=")?.trim().parse().ok()))
        .collect();
    let master = info
        .lines()
        .find_map(|l| l.strip_prefix("master_repl_offset:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: no master_repl_offset in {info}", server.name()));
    (acks, master)
}

/// (offset the master's first replica acknowledged, master_repl_offset) from `INFO replication`.
pub fn ack_and_master_offset(server: &Server) -> (Option<u64>, u64) {
    let (acks, master) = replica_acks(server);
    (acks.first().copied(), master)
}

/// Waits (at most `within`) until the master sees every replica it lists, and at least one,
/// acknowledge everything.
#[track_caller]
pub fn assert_acked_within(server: &Server, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (acks, master) = replica_acks(server);
        if !acks.is_empty() && acks.iter().all(|&a| a == master) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: acked offsets {acks:?}, master_repl_offset {master}, {within:?} after the writes stopped",
            server.name()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the master lists one replica as online (a follower past its snapshot).
#[track_caller]
pub fn wait_replica_online(server: &Server) {
    let deadline = Instant::now() + WITHIN;
    while !server.info("replication").lines().any(|l| l.starts_with("slave0:") && l.contains("state=online")) {
        assert!(Instant::now() < deadline, "{}: no replica online within {WITHIN:?}", server.name());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until a replica's link to its master is up.
#[track_caller]
pub fn wait_link_up(replica: &Server) {
    let deadline = Instant::now() + WITHIN;
    while !replica.info("replication").contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "{}: replication link not up within {WITHIN:?}", replica.name());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A kernel status field of a process, in bytes (`VmHWM`, `VmRSS`).
pub fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix(" kB")?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    kb << 10
}

/// The `omem` (output buffer bytes) of the master's one replica connection: where the stream
/// piles up while the follower does not read.
pub fn replica_omem(master: &Server) -> u64 {
    // `TYPE slave` is accepted by every version that has TYPE.
    let list = master.cmd_str(&["CLIENT", "LIST", "TYPE", "slave"]);
    let text = list.as_str().unwrap().into_owned();
    text.split_whitespace().find_map(|f| f.strip_prefix("omem=")?.parse().ok()).unwrap_or(0)
}

/// A checkpoint file as its text form reads (`replid`, `offset` and `db` lines), parsed here
/// rather than by the sink's own loader, so that the tests read it independently of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedCheckpoint {
    pub replid: String,
    pub offset: u64,
    /// As written: a number, or empty when the db is not known.
    pub db: String,
}

/// The checkpoint file at `path`; `None` while there is none. It is replaced by a rename, so
/// a reader never sees half of one.
pub fn saved_checkpoint(path: &Path) -> Option<SavedCheckpoint> {
    let text = std::fs::read_to_string(path).ok()?;
    let field =
        |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')).map(|v| v.trim().to_string());
    let offset = field("offset").map(|v| v.parse().unwrap_or_else(|_| panic!("offset in {text}")));
    Some(SavedCheckpoint {
        replid: field("replid").unwrap_or_else(|| panic!("no replid in {text}")),
        offset: offset.unwrap_or_else(|| panic!("no offset in {text}")),
        db: field("db").unwrap_or_default(),
    })
}
