//! One error type for the crate. Messages say what happened and, where it helps, what to do;
//! none of them ever contains the password.

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
        )
    }
}
