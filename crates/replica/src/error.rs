//! One error type for the crate. Messages say what happened and, where it helps, what to do;
//! none of them ever contains the password.

use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("the server requires authentication (it answered PING with {reply:?}); give a password")]
    AuthRequired { reply: String },
    #[error("authentication failed{}: wrong password or user (the server said {reply:?})", user.as_ref().map(|u| format!(" for user {u:?}")).unwrap_or_default())]
    Auth { user: Option<String>, reply: String },
    #[error("the server refused PING: {reply:?}")]
    PingRefused { reply: String },
    /// The master cannot serve a replica right now; try again with backoff.
    #[error("the master is not ready: {reply:?}; retrying later")]
    NotReady { reply: String },
    #[error("the server refused PSYNC: {reply:?} ({hint})")]
    PsyncRefused { reply: String, hint: &'static str },
    #[error("unexpected reply to {during}: {got}; is this a Redis or Valkey server?")]
    UnexpectedReply { during: &'static str, got: String },
    #[error("bad reply to {during}: {source}")]
    Resp {
        during: &'static str,
        #[source]
        source: resp::Error,
    },
    #[error("the master aborted the snapshot: {reply:?}")]
    SnapshotAborted { reply: String },
    #[error("bad snapshot header {line:?}: expected $<length> or $EOF:<40-byte mark>")]
    BadSnapshotHeader { line: String },
    #[error("snapshot: {0}")]
    Rdb(rdb::Error),
    #[error("the snapshot's declared length of {declared} bytes ended inside the RDB (at RDB byte {rdb_offset}): the RDB is truncated or the length is wrong")]
    SnapshotTruncated { declared: u64, rdb_offset: u64 },
    #[error("garbage after the RDB: it ended at byte {rdb_len}{}, but {found}", declared.map(|d| format!(" of a declared {d}-byte transfer")).unwrap_or_default())]
    TrailingGarbage { rdb_len: u64, declared: Option<u64>, found: String },
    #[error("bad replication stream at offset {offset}: {source}")]
    Stream {
        offset: u64,
        #[source]
        source: resp::Error,
    },
    #[error(
        "the master sent an inline command at replication offset {offset} ({line:?}); masters send only RESP arrays"
    )]
    InlineCommand { offset: u64, line: String },
    #[error("the master sent {what} at replication offset {offset}, where only commands belong")]
    NotACommand { offset: u64, what: String },
    #[error("no data from the master for {:.0} s during {phase}; the connection looks dead", after.as_secs_f64())]
    Timeout { phase: &'static str, after: Duration },
    #[error("the master closed the connection during {phase}")]
    Closed { phase: &'static str },
    #[error("bad source {source_text:?}: {reason}")]
    BadSource { source_text: String, reason: String },
    #[error("no source to follow: give at least one address")]
    NoSources,
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    #[error("connecting to {address} timed out after {:.1} s", after.as_secs_f64())]
    ConnectTimeout { address: String, after: Duration },
    #[error("connection to {address}: {source}")]
    Io {
        address: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A TLS setting that cannot work (an unreadable CA file, a key that does not parse).
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// The TLS handshake failed (an untrusted certificate, a name mismatch).
    #[error("TLS handshake with {address}: {source}")]
    TlsHandshake {
        address: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    #[error("cannot start from now: INFO replication from {address} has no {missing}")]
    NoInfo { address: String, missing: &'static str },
    /// `--from now` asked for `PSYNC <replid> <offset+1>` and the master answered with a full
    /// sync: its backlog no longer holds that offset (or it has none yet).
    #[error("cannot start from now: the master answered PSYNC {replid} {} with a full resync (no backlog covers that offset yet, or it moved on); allow a snapshot fallback to start with a full sync", offset + 1)]
    NowNotCovered { replid: crate::ReplId, offset: u64 },
    #[error("sentinel {sentinel}: {reason}")]
    SentinelReply { sentinel: String, reason: String },
    /// No sentinel could say where the master is (down, unreachable, or a bad reply); worth
    /// asking again later.
    #[error("no sentinel could say where master {master_name:?} is: {errors}")]
    NoSentinel { master_name: String, errors: String },
    /// A sentinel wants a password it was not given, or refused the one it was: with every
    /// sentinel that answered saying so, a configuration mistake.
    #[error("sentinel {sentinel} refused us: {reply:?} (a missing or wrong sentinel password)")]
    SentinelAuth { sentinel: String, reply: String },
    /// The sentinels answered, but monitor no master of that name: a configuration mistake.
    #[error("the sentinels ({sentinels}) monitor no master named {master_name:?} (SENTINEL get-master-addr-by-name answered nil); check --master-name")]
    UnknownMaster { master_name: String, sentinels: String },
    #[error("gave up after {attempts} failed connection attempts; the last error: {last}")]
    GaveUp { attempts: u32, last: Box<Error> },
}

impl Error {
    /// Whether reconnecting (with backoff) can help. Wrong credentials, a server that refuses
    /// replication and a server that is not Redis will not fix themselves.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            Error::AuthRequired { .. }
                | Error::Auth { .. }
                | Error::PsyncRefused { .. }
                | Error::UnexpectedReply { .. }
                | Error::PingRefused { .. }
                | Error::BadSource { .. }
                | Error::NoSources
                | Error::TlsConfig(_)
                | Error::TlsHandshake { .. }
                | Error::NowNotCovered { .. }
                | Error::UnknownMaster { .. }
                | Error::SentinelAuth { .. }
                | Error::GaveUp { .. }
        )
    }
}
