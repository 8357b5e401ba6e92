//! The Kafka sinks (`--sink kafka://BROKERS/TOPIC`).
//!
//! - [`KafkaSink`]: at least once. An idempotent producer (`acks=all`), so librdkafka's
//!   retries neither duplicate nor reorder within a partition; the delivered offset follows
//!   the delivery reports. After a crash, records past the checkpoint are produced again;
//!   their `replid` and `end_offset` headers let a consumer drop them.
//! - [`KafkaTxnSink`] (`--kafka-transactional`): effectively once for `read_committed`
//!   consumers. Each flush commits one transaction holding the records and the checkpoint,
//!   which lives in a compacted Kafka topic and is read back from it on start.
//!
//! Each event is one record: the value is its JSON line (docs/events.md), the key is its
//! Redis key ([`KafkaRecord::key`] says which events have none, and [`Routes`] where they go),
//! and the headers are `event`, `replid`, `start_offset`, `end_offset` and `db`.

mod checkpoint_topic;
mod config;
mod health;
mod in_flight;
mod producer;
mod record;
mod route;
mod txn;

pub use config::KafkaConfig;
pub use health::KafkaHealth;
pub use record::{KafkaRecord, RecordBuilder};
pub use route::{Routes, KEYLESS_PARTITION};
pub use txn::{KafkaTxnConfig, KafkaTxnSink};

use crate::error::Error;
use crate::{Batch, Sink};
use producer::RecordProducer;

/// At-least-once delivery to Kafka; see the module documentation.
///
/// `send` returns once librdkafka has queued the batch and less than
/// [`KafkaConfig::window_bytes`] is unacknowledged; it waits otherwise, which is how a slow or
/// absent broker slows the follower down instead of growing memory. Several batches are thus
/// in flight at once, and [`Sink::delivered`] (or [`KafkaSink::poll`]) follows their delivery
/// reports, batch by batch in order. While a broker is away, librdkafka retries and the
/// delivered offset stays where it was.
pub struct KafkaSink {
    producer: RecordProducer,
    window: usize,
}

impl KafkaSink {
    /// Connects (waiting at most `config.connect_timeout` for a broker) and checks that the
    /// topics known in advance exist. `start` is the offset already delivered (the
    /// checkpoint's).
    pub fn connect(config: &KafkaConfig, start: u64) -> Result<KafkaSink, Error> {
        Ok(KafkaSink { producer: RecordProducer::connect(config, &[], start)?, window: config.window_bytes })
    }

    /// The delivered offset so far, without waiting; or the failure of a record, which stops
    /// this sink for good (nothing after it is ever delivered).
    pub fn poll(&self) -> Result<u64, Error> {
        self.producer.check_failure()?;
        Ok(self.producer.delivered())
    }

    /// The brokers, as errors name them.
    pub fn brokers(&self) -> &str {
        &self.producer.brokers
    }

    /// Counters of the producer's retries and broker trouble, updated while it runs.
    pub fn health(&self) -> std::sync::Arc<KafkaHealth> {
        std::sync::Arc::clone(&self.producer.health)
    }
}

impl Sink for KafkaSink {
    type Record = KafkaRecord;

    fn send(&mut self, batch: Batch<KafkaRecord>) -> Result<(), Error> {
        self.producer.produce(&batch.records, batch.end_offset, None)?;
        self.producer.wait_window(self.window).map(|_| ())
    }

    /// Waits for every record sent to be acknowledged (bounded by librdkafka's
    /// `message.timeout.ms` plus `KafkaConfig::flush_grace`).
    fn flush(&mut self) -> Result<u64, Error> {
        self.producer.wait_acked()
    }

    fn delivered(&self) -> u64 {
        self.producer.delivered()
    }
}
