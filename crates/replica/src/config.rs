//! What the replica is told before it connects: credentials, what to announce, where to start,
//! and how to acknowledge.

use std::fmt;
use std::time::Duration;

use crate::id::ReplId;

/// Credentials for `AUTH`. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    /// An ACL user (Redis 6+); `None` authenticates as `default` with `AUTH <password>`.
    pub user: Option<String>,
    pub password: String,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

/// Which offset `REPLCONF ACK` reports, and a checkpoint records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AckPolicy {
    /// What the caller reports as durably delivered with
    /// [`Replica::ack_delivered`](crate::Replica::ack_delivered). The master's view of the lag
    /// (and `WAIT`) then covers the whole pipeline.
    #[default]
    Delivered,
    /// What has been received and parsed, as a real replica does.
    Received,
}

/// A position to resume from: the last offset fully delivered, in which replication history,
/// and the db selected at that point (the master does not resend `SELECT` on `+CONTINUE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub replid: ReplId,
    pub offset: u64,
    /// `None` when unknown (a start from `INFO replication`): commands carry no db until the
    /// master's first `SELECT`.
    pub db: Option<u64>,
}

/// Where to start the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Start {
    /// A full sync: `PSYNC ? -1`, a snapshot, then the stream.
    #[default]
    Snapshot,
    /// `PSYNC <replid> <offset+1>`: the master continues after `offset` if its backlog still
    /// holds it (`+CONTINUE`), or sends a new snapshot (`+FULLRESYNC`, reported as
    /// [`Output::Resync`](crate::Output::Resync)).
    Resume(Checkpoint),
}

impl Start {
    /// The two `PSYNC` arguments.
    pub fn psync_args(&self) -> [String; 2] {
        match self {
            Start::Snapshot => ["?".to_string(), "-1".to_string()],
            // The master is asked for the next byte it has not delivered
            // (`cached_master->reploff+1`, redis 7.4.1 src/replication.c:2453).
            Start::Resume(cp) => [cp.replid.to_string(), (cp.offset + 1).to_string()],
        }
    }
}

/// Everything the state machine needs; `Default` gives a snapshot start with real-replica
/// timings.
#[derive(Clone, Debug)]
pub struct Config {
    pub auth: Option<Auth>,
    /// Announced with `REPLCONF listening-port`; masters show it in `INFO replication`.
    pub listening_port: u16,
    /// Announced with `REPLCONF ip-address` when set.
    pub ip_address: Option<String>,
    /// Announced with `REPLCONF version`. Valkey primaries choose the RDB version they send
    /// from it: with 9.x they send their native `VALKEY080`, otherwise `REDIS0011`.
    pub version: Option<String>,
    pub start: Start,
    pub ack_policy: AckPolicy,
    /// How often to send `REPLCONF ACK` when the acknowledged offset has not moved (a real
    /// replica's `replicationCron` runs at 1 Hz).
    pub ack_idle_interval: Duration,
    /// How soon to send one after the acknowledged offset moves, so the master's view of the
    /// lag stays small while data flows.
    pub ack_busy_interval: Duration,
    /// Give up after this long with no bytes from the master. Masters PING every
    /// `repl-ping-replica-period` (10 s) and send `\n` every second while preparing a
    /// snapshot; a real replica waits `repl-timeout` (60 s).
    pub read_timeout: Duration,
    /// Caps for frames in the handshake and the stream.
    pub resp_limits: resp::Limits,
    pub rdb_options: rdb::Options,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            auth: None,
            listening_port: 0,
            ip_address: None,
            version: Some("9.1.0".to_string()),
            start: Start::Snapshot,
            ack_policy: AckPolicy::Delivered,
            ack_idle_interval: Duration::from_secs(1),
            ack_busy_interval: Duration::from_millis(100),
            read_timeout: Duration::from_secs(60),
            resp_limits: resp::Limits::default(),
            rdb_options: rdb::Options::default(),
        }
    }
}
