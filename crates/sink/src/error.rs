//! One error type for the crate. Each error names the file (and line) or the destination it
//! concerns, so the binary can tell the user what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("checkpoint file {}: cannot {action}: {source}", path.display())]
    CheckpointIo {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint file exists but cannot be trusted; redtail does not guess a position.
    #[error("checkpoint file {}, line {line}: {reason}; fix or delete the file (deleting it means a new full sync)", path.display())]
    CorruptCheckpoint { path: PathBuf, line: usize, reason: String },
    /// A file sink's file or directory cannot be created, listed or fsynced.
    #[error("file sink {}: cannot {action}: {source}", path.display())]
    FileIo {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("writing to {destination}: {source}")]
    Write {
        destination: String,
        #[source]
        source: std::io::Error,
    },
    /// A record could not be encoded (the event crate's writer failed).
    #[error("encoding the {event} event as JSON: {source}")]
    Encode {
        event: &'static str,
        #[source]
        source: event::Error,
    },
    /// A `kafka://` URL or a Kafka option that cannot work.
    #[error("Kafka sink {what}: {reason}")]
    KafkaConfig { what: String, reason: String },
    /// No broker answered within the bounded wait at start.
    #[error("no Kafka broker reachable at {brokers} after {waited:?}: {reason}; check the address and that the broker is running")]
    KafkaUnreachable { brokers: String, waited: std::time::Duration, reason: String },
    /// A topic the sink is configured to write does not exist.
    #[error("Kafka topic {topic:?} does not exist on {brokers}; create it with the partition count you want")]
    KafkaNoTopic { topic: String, brokers: String },
    /// One record exceeds what the producer (`message.max.bytes`, checked when it is queued)
    /// or the broker (in its delivery report) accepts.
    #[error("Kafka record for {record} has a {bytes}-byte value, too large for topic {topic:?}; raise message.max.bytes (--kafka-opt) and the topic's max.message.bytes, or filter the key out")]
    KafkaMessageTooLarge { record: RecordOrigin, topic: String, bytes: usize },
    /// A record failed for good (after librdkafka's own retries, within message.timeout.ms).
    #[error("Kafka record for {record} to topic {topic:?} failed (nothing after offset {delivered} counts as delivered): {reason}")]
    KafkaDelivery { record: RecordOrigin, topic: String, delivered: u64, reason: String },
    /// Records still unacknowledged when the wait for them ran out.
    #[error("Kafka sink: {records} records still unacknowledged by {brokers} after {waited:?}; delivered offset stays {delivered}")]
    KafkaFlushTimeout { records: usize, brokers: String, waited: std::time::Duration, delivered: u64 },
    /// A client call failed (creating the producer, a transaction step, reading a topic).
    #[error("Kafka sink: cannot {action} (offset {offset}): {reason}")]
    Kafka { action: String, offset: u64, reason: String },
    /// A cluster reply (`CLUSTER SLOTS`, `-MOVED`, `-ASK`) that cannot be read; routing does
    /// not guess a node.
    #[error("cluster reply {reply:?}: {reason}")]
    ClusterReply { reply: String, reason: String },
    /// Redirections that did not settle: a slot moving in a loop, or a migration that stays
    /// half done.
    #[error("the cluster still redirects {command} after {rounds} rounds (last: {reply}); delivered offset stays {delivered}; check the slots' state with CLUSTER SLOTS and CLUSTER NODES")]
    ClusterRedirects { command: String, reply: String, rounds: u32, delivered: u64 },
    /// A multi-key command whose keys live in different cluster slots: no cluster node can run
    /// it. It is reported, never split or dropped.
    #[error("{command} touches keys in different cluster slots, so a cluster cannot run it: {keys}; keep such keys in one slot with a {{hash tag}}")]
    CrossSlot { command: String, keys: String },
    /// The checkpoint topic holds a record redtail cannot read; it does not guess a position.
    #[error("Kafka checkpoint topic {topic:?}, record at partition offset {position}: {reason}")]
    KafkaCheckpoint { topic: String, position: i64, reason: String },
    /// A `redis://` target URL or option that cannot work.
    #[error("Redis target: {reason}")]
    RedisConfig { reason: String },
    /// The target cannot be reached (or refuses the login) at start.
    #[error("cannot connect to the target {address}: {reason}; check the address, that the server is running, and the credentials")]
    RedisUnreachable { address: String, reason: String },
    /// The connection was lost and every reconnection attempt failed.
    #[error("lost the target {address} and {attempts} reconnection attempts failed (last: {reason}); delivered offset stays {delivered}")]
    RedisLost { address: String, attempts: u32, reason: String, delivered: u64 },
    /// The target answered a command with an error, and the policy is to stop.
    #[error("the target {address} refused {command}{} (nothing after offset {delivered} counts as delivered): {reply}; fix the target, or pass --on-target-error skip to log and go on", key.as_ref().map(|k| format!(" on key {k:?}")).unwrap_or_default())]
    RedisRefused { address: String, command: String, key: Option<String>, reply: String, delivered: u64 },
    /// A reply redtail cannot match to a command: the connection is out of step.
    #[error("the target {address}: {reason}")]
    RedisProtocol { address: String, reason: String },
    #[error("the target {address} has not answered everything after {waited:?}; delivered offset stays {delivered}")]
    RedisFlushTimeout { address: String, waited: std::time::Duration, delivered: u64 },
    /// The connection's thread stopped after a failure already reported.
    #[error("the target {address}: the connection stopped after an earlier error")]
    RedisStopped { address: String },
}

/// Which event a Kafka record that failed carries, for the error message: its Redis key, and
/// where it stands in the replication stream, so the user can find it on the master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordOrigin {
    /// The key, quoted (invalid UTF-8 replaced), or a note that the record has none.
    pub key: String,
    pub db: Option<u64>,
    /// The record's `end_offset`: the replication offset once the event is applied.
    pub offset: Option<u64>,
}

impl RecordOrigin {
    pub fn new(key: Option<&[u8]>, db: Option<u64>, offset: Option<u64>) -> RecordOrigin {
        let key = match key {
            Some(k) => format!("key {:?}", String::from_utf8_lossy(k)),
            None => "a keyless event".to_string(),
        };
        RecordOrigin { key, db, offset }
    }
}

impl std::fmt::Display for RecordOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)?;
        match (self.db, self.offset) {
            (Some(db), Some(offset)) => write!(f, " (db {db}, replication offset {offset})"),
            (None, Some(offset)) => write!(f, " (replication offset {offset})"),
            (Some(db), None) => write!(f, " (db {db})"),
            (None, None) => Ok(()),
        }
    }
}
