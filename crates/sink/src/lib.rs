//! Where events go, and the promise every destination makes about them.
//!
//! # The delivery contract
//!
//! Every record a follower produces carries the replication offset it ends at. A [`Sink`]
//! receives records in [`Batch`]es, in stream order, and reports the highest offset it has
//! *durably delivered*: written to a file and fsynced, acknowledged by Kafka with the
//! configured acks, and so on. Only that offset goes into the checkpoint and into the
//! `REPLCONF ACK` the master sees. So:
//!
//! - **At least once.** After a crash or a lost connection, the follower resumes from the last
//!   checkpoint. Records after it that had been sent but not confirmed are produced again.
//! - **With offsets for de-duplication.** A repeated record has the same replication ID and
//!   the same `[start, end)` offsets as the first time, so a consumer that keeps the highest
//!   end offset it has applied can drop anything at or below it.
//! - **In order, no gaps.** A sink never reports an offset as delivered while an earlier
//!   record is not.
//!
//! The checkpoint itself is saved by [`CheckpointStore`], atomically.

mod checkpoint;
mod error;
pub mod file;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod redis;
pub mod redis_cluster;
mod writer;

pub use checkpoint::{Checkpoint, CheckpointStore};
pub use error::{Error, RecordOrigin};
pub use file::{FileConfig, FileSink, FsyncPolicy, UnitForm};
#[cfg(feature = "kafka")]
pub use kafka::{KafkaConfig, KafkaHealth, KafkaRecord, KafkaSink, KafkaTxnConfig, KafkaTxnSink, RecordBuilder};
pub use redis::{ErrorPolicy, RedisConfig, RedisSink, TargetInfo};
pub use writer::WriterSink;

/// Records bound for a sink, in stream order, and the offset the last of them ends at. A
/// batch may carry no records and only move the offset (past `PING`s and `SELECT`s that
/// produce no output), so the acknowledged offset keeps up with the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch<T> {
    pub records: Vec<T>,
    pub end_offset: u64,
}

/// A destination for records; see the crate documentation for the contract.
pub trait Sink {
    type Record;

    /// Accepts a batch. It may only be buffered: nothing counts as delivered until
    /// [`Sink::flush`] or [`Sink::delivered`] says so.
    fn send(&mut self, batch: Batch<Self::Record>) -> Result<(), Error>;

    /// Delivers everything sent so far as durably as the destination allows, and returns
    /// the highest end offset now delivered.
    fn flush(&mut self) -> Result<u64, Error>;

    /// The highest end offset delivered so far, without waiting (a sink that delivers in the
    /// background reports its progress here).
    fn delivered(&self) -> u64;
}
