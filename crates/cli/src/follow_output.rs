//! The writer `redtail follow` hands its events to: the chosen format on standard output, or
//! Kafka records (`--sink kafka://`), behind the filter when there is one; and [`Delivery`],
//! which says what a flush of it delivered.

use std::io;

use bytes::Bytes;
use event::{Filter, FilteredSink, JsonOptions, JsonWriter, LiveSink, RespStreamWriter};

use crate::follow_args::FollowFormat;
use crate::follow_file::{self, FileDelivery};
use crate::follow_kafka::{self, KafkaDelivery, KafkaSinkKind};
use crate::follow_position::StreamPosition;
use crate::follow_redis::{self, RedisDelivery};

/// A live sink over the replica's argument type.
pub type Output = Box<dyn LiveSink<Bytes>>;

/// What a flush of the output delivered.
pub enum Delivery {
    /// Everything handed over and flushed is delivered (stdout).
    Direct,
    /// What Kafka acknowledged.
    Kafka(KafkaDelivery),
    /// What the target Redis or Valkey answered.
    Redis(RedisDelivery),
    /// What was written to the files and fsynced by the policy.
    File(FileDelivery),
}

impl Delivery {
    /// The Kafka producer's counters, for the metrics (`None` for other sinks).
    pub fn kafka_health(&self) -> Option<std::sync::Arc<sink::KafkaHealth>> {
        match self {
            Delivery::Kafka(k) => Some(k.health()),
            _ => None,
        }
    }

    /// The output was flushed after everything up to `handed`, where the stream stood at
    /// `position`; returns the offset delivered.
    pub fn deliver(&mut self, handed: Option<u64>, position: &StreamPosition) -> Result<Option<u64>, sink::Error> {
        match self {
            Delivery::Direct => Ok(handed),
            Delivery::Kafka(k) => k.deliver(handed, position),
            Delivery::Redis(r) => r.deliver(handed),
            Delivery::File(f) => f.deliver(handed),
        }
    }

    /// The last delivery before a clean stop: like [`Delivery::deliver`], but a sink that
    /// delivers in the background is waited for.
    pub fn finish(&mut self, handed: Option<u64>, position: &StreamPosition) -> Result<Option<u64>, sink::Error> {
        match self {
            Delivery::Redis(r) => r.finish(handed),
            Delivery::File(f) => f.finish(handed),
            Delivery::Kafka(k) => k.finish(handed, position),
            Delivery::Direct => Ok(handed),
        }
    }

    /// A new stream begins (a full sync, or a continuation after a reconnect): a sink with
    /// records of the previous one in flight settles them first (see
    /// [`KafkaDelivery::new_stream`], [`RedisDelivery::new_stream`]); every sink starts counting
    /// offsets again from the new stream's.
    pub fn new_stream(&mut self) -> Result<(), sink::Error> {
        match self {
            Delivery::Kafka(k) => k.new_stream(),
            Delivery::Redis(r) => r.new_stream(),
            Delivery::File(f) => f.new_stream(),
            Delivery::Direct => Ok(()),
        }
    }
}

/// The Redis target's output and its delivery, behind the filter when there is one.
pub fn redis_output(
    sink: sink::redis_cluster::RedisTarget,
    start: u64,
    filter: &Filter,
    write_snapshot: bool,
    restore: bool,
) -> (Output, Delivery) {
    let (writer, delivery) = follow_redis::output(sink, start, write_snapshot && !holds_part(filter), restore);
    (filtered(Box::new(writer), filter), Delivery::Redis(delivery))
}

/// Whether the output holds only part of the data (a db, key or type filter): a `FLUSHALL`
/// on a resync would then remove more than redtail writes.
fn holds_part(filter: &Filter) -> bool {
    !filter.dbs.is_empty() || !filter.key_globs.is_empty() || !filter.key_regexes.is_empty() || !filter.types.is_empty()
}

/// The file sink's output and its delivery, behind the filter when there is one.
pub fn file_output(
    sink: sink::FileSink,
    format: FollowFormat,
    filter: &Filter,
    write_snapshot: bool,
    chunk_elements: usize,
) -> (Output, Delivery) {
    let flush_on_resync = write_snapshot && !holds_part(filter);
    let (writer, delivery) = follow_file::output(sink, format, chunk_elements, flush_on_resync);
    (filtered(Box::new(writer), filter), Delivery::File(delivery))
}

/// The Kafka output and its delivery, behind the filter when there is one.
pub fn kafka_output(sink: KafkaSinkKind, start: u64, filter: &Filter) -> (Output, Delivery) {
    let (writer, delivery) = follow_kafka::output(sink, start);
    (filtered(Box::new(writer), filter), Delivery::Kafka(delivery))
}

/// The writers buffer whole lines or commands themselves and write them in large pieces, so
/// stdout needs no buffer of its own (its line buffering passes whole lines straight through).
pub fn stdout_output(format: FollowFormat, filter: &Filter, write_snapshot: bool, chunk_elements: usize) -> Output {
    let out = io::stdout().lock();
    let writer: Output = match format {
        FollowFormat::Json => {
            Box::new(JsonWriter::with_options(out, JsonOptions { chunk_elements, ..JsonOptions::default() }))
        }
        // After a resync the snapshot replaces everything, as a real replica's full sync does,
        // unless the target holds only part of the data (a db or key filter), where a
        // FLUSHALL would remove more than redtail writes, or no snapshot is written at all.
        FollowFormat::Resp => {
            Box::new(RespStreamWriter::new(out).flush_on_resync(write_snapshot && !holds_part(filter)))
        }
    };
    filtered(writer, filter)
}

fn filtered(writer: Output, filter: &Filter) -> Output {
    if filter.is_empty() {
        writer
    } else {
        Box::new(FilteredSink::new(filter.clone(), writer))
    }
}
