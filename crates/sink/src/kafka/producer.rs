//! [`RecordProducer`]: the librdkafka producer both Kafka sinks share. It routes and sends
//! records, waits when too many are in flight, and counts acknowledgements with [`InFlight`]
//! so that only fully acknowledged batches count as delivered.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;

use super::config::KafkaConfig;
use super::health::{KafkaHealth, STATISTICS_INTERVAL_MS};
use super::in_flight::InFlight;
use super::record::KafkaRecord;
use super::route::{Routes, KEYLESS_PARTITION};
use crate::error::{Error, RecordOrigin};

/// librdkafka's default `message.timeout.ms`: every record gets a final report within it.
const DEFAULT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a full producer queue is waited on before looking again.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(50);

/// A record that failed for good, as its delivery report described it.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    topic: String,
    /// The key, db and offset, read back from the record's key and headers.
    record: RecordOrigin,
    bytes: usize,
    code: Option<RDKafkaErrorCode>,
    reason: String,
}

/// The in-flight accounting, shared with librdkafka's delivery callback thread.
#[derive(Debug)]
pub(crate) struct Tracker {
    state: Mutex<InFlight<Failure>>,
    changed: Condvar,
}

impl Tracker {
    pub(crate) fn lock(&self) -> MutexGuard<'_, InFlight<Failure>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait(&self, timeout: Duration) {
        let guard = self.lock();
        let _unused = self.changed.wait_timeout(guard, timeout);
    }
}

/// Receives delivery reports (on the producer's polling thread; the opaque is the batch id),
/// statistics and client errors.
pub(crate) struct DeliveryContext {
    tracker: Arc<Tracker>,
    health: Arc<KafkaHealth>,
}

impl ClientContext for DeliveryContext {
    fn stats(&self, statistics: Statistics) {
        self.health.statistics(&statistics);
    }

    /// A broker that cannot be reached is retried by librdkafka; it is logged and counted,
    /// and only a record that fails for good (its delivery report) stops the sink.
    fn error(&self, error: KafkaError, reason: &str) {
        self.health.error();
        tracing::warn!(error = %error, "Kafka: {reason}");
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let mut state = self.tracker.lock();
        match result {
            Ok(message) => state.ack(seq as u64, message_bytes(message)),
            Err((error, message)) => state.fail(
                seq as u64,
                message_bytes(message),
                Failure {
                    topic: message.topic().to_string(),
                    record: RecordOrigin::new(
                        message.key(),
                        number_header(message, "db"),
                        number_header(message, "end_offset"),
                    ),
                    bytes: message.payload_len(),
                    code: error.rdkafka_error_code(),
                    reason: error.to_string(),
                },
            ),
        }
        drop(state);
        self.tracker.changed.notify_all();
    }
}

pub(crate) struct RecordProducer {
    pub(crate) producer: ThreadedProducer<DeliveryContext>,
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) health: Arc<KafkaHealth>,
    routes: Routes,
    pub(crate) brokers: String,
    /// The longest `flush` waits for acknowledgements.
    ack_wait: Duration,
}

impl RecordProducer {
    /// Creates the producer and waits (at most `connect_timeout`) for a broker to answer, so
    /// that a wrong address fails at start, naming the brokers. `extra` are options of the
    /// caller's mode (the transactional id); the user's options come last and win.
    pub(crate) fn connect(config: &KafkaConfig, extra: &[(&str, String)], start: u64) -> Result<Self, Error> {
        let brokers = config.bootstrap();
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &brokers)
            // Retries without duplicates or reordering within a partition.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // The bound on memory: `send` waits once this much is unacknowledged.
            .set("queue.buffering.max.messages", config.max_in_flight_records.to_string())
            .set("queue.buffering.max.kbytes", config.max_in_flight_kbytes.to_string())
            // Feeds the retry and connection counters of the metrics (see `KafkaHealth`).
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
        for (key, value) in extra {
            client.set(*key, value);
        }
        for (key, value) in &config.options {
            client.set(key, value);
        }
        let tracker = Arc::new(Tracker { state: Mutex::new(InFlight::new(start)), changed: Condvar::new() });
        let health = Arc::new(KafkaHealth::default());
        let context = DeliveryContext { tracker: Arc::clone(&tracker), health: Arc::clone(&health) };
        let producer: ThreadedProducer<DeliveryContext> = client
            .create_with_context(context)
            .map_err(|e| Error::KafkaConfig { what: format!("for brokers {brokers}"), reason: e.to_string() })?;
        let metadata = producer.client().fetch_metadata(None, config.connect_timeout).map_err(|e| {
            Error::KafkaUnreachable { brokers: brokers.clone(), waited: config.connect_timeout, reason: e.to_string() }
        })?;
        let routes = Routes::new(config);
        for topic in routes.fixed_topics() {
            let exists = metadata.topics().iter().any(|t| t.name() == topic && t.error().is_none());
            if !exists {
                return Err(Error::KafkaNoTopic { topic: topic.to_string(), brokers });
            }
        }
        let message_timeout = config
            .user_option("message.timeout.ms")
            .or_else(|| config.user_option("delivery.timeout.ms"))
            .and_then(|ms| ms.parse::<u64>().ok())
            .map_or(DEFAULT_MESSAGE_TIMEOUT, Duration::from_millis);
        let ack_wait = message_timeout + config.flush_grace;
        Ok(RecordProducer { producer, tracker, health, routes, brokers, ack_wait })
    }

    /// Sends one batch: routes each record, then hands it to librdkafka, waiting while its
    /// queue is full. `topic` overrides routing (the checkpoint record).
    pub(crate) fn produce(
        &mut self,
        records: &[KafkaRecord],
        end_offset: u64,
        topic: Option<&str>,
    ) -> Result<(), Error> {
        self.check_failure()?;
        let seq = self.tracker.lock().open();
        for record in records {
            let topic = match topic {
                Some(t) => t,
                None => self.routes.topic(record.key.as_deref(), record.db),
            };
            let mut base = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, seq as usize)
                .payload(&record.value[..])
                .headers(headers(record));
            base = match &record.key {
                Some(key) => base.key(&key[..]),
                None => base.partition(KEYLESS_PARTITION),
            };
            let bytes = record_bytes(record);
            self.tracker.lock().add(seq, bytes);
            loop {
                match self.producer.send(base) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // Backpressure: wait for acknowledgements to make room.
                        base = back;
                        self.tracker.wait(QUEUE_FULL_WAIT);
                        if let Err(e) = check_failure(&self.tracker) {
                            self.tracker.lock().unadd(seq, bytes);
                            return Err(e);
                        }
                    }
                    Err((error, _)) => {
                        let delivered = self.tracker.lock().delivered();
                        self.tracker.lock().unadd(seq, bytes);
                        return Err(refused(error, topic, record, delivered));
                    }
                }
            }
        }
        self.tracker.lock().close(seq, end_offset);
        Ok(())
    }

    /// Waits until every record sent has a delivery report, and returns the delivered offset.
    pub(crate) fn wait_acked(&self) -> Result<u64, Error> {
        self.wait_window(0)
    }

    /// Waits until less than `window` bytes of records sent are unacknowledged (with 0: none),
    /// and returns the delivered offset.
    pub(crate) fn wait_window(&self, window: usize) -> Result<u64, Error> {
        let started = Instant::now();
        loop {
            self.check_failure()?;
            let state = self.tracker.lock();
            if !state.window_full(window) {
                return Ok(state.delivered());
            }
            if started.elapsed() > self.ack_wait {
                return Err(Error::KafkaFlushTimeout {
                    records: state.records(),
                    brokers: self.brokers.clone(),
                    waited: self.ack_wait,
                    delivered: state.delivered(),
                });
            }
            drop(state);
            self.tracker.wait(Duration::from_millis(100));
        }
    }

    pub(crate) fn delivered(&self) -> u64 {
        self.tracker.lock().delivered()
    }

    pub(crate) fn check_failure(&self) -> Result<(), Error> {
        check_failure(&self.tracker)
    }
}

/// The first record that failed for good, as an error.
fn check_failure(tracker: &Tracker) -> Result<(), Error> {
    {
        let state = tracker.lock();
        let Some(f) = state.failure() else { return Ok(()) };
        Err(match f.code {
            Some(RDKafkaErrorCode::MessageSizeTooLarge) => {
                Error::KafkaMessageTooLarge { record: f.record.clone(), topic: f.topic.clone(), bytes: f.bytes }
            }
            _ => Error::KafkaDelivery {
                record: f.record.clone(),
                topic: f.topic.clone(),
                delivered: state.delivered(),
                reason: f.reason.clone(),
            },
        })
    }
}

/// The error for a record librdkafka would not even queue.
fn refused(error: KafkaError, topic: &str, record: &KafkaRecord, delivered: u64) -> Error {
    let origin = RecordOrigin::new(record.key.as_deref(), record.db, record.end_offset);
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => {
            Error::KafkaMessageTooLarge { record: origin, topic: topic.to_string(), bytes: record.value.len() }
        }
        _ => Error::KafkaDelivery { record: origin, topic: topic.to_string(), delivered, reason: error.to_string() },
    }
}

/// What librdkafka holds per queued record besides its value and key: the message itself and
/// the five headers, each a separate allocation (measured: with 250-byte values, a window of
/// value bytes alone let the RSS grow to three times the window).
const RECORD_OVERHEAD: usize = 512;

/// What a record counts in the window: its value and key, and [`RECORD_OVERHEAD`].
fn record_bytes(record: &KafkaRecord) -> usize {
    record.value.len() + record.key.as_ref().map_or(0, Vec::len) + RECORD_OVERHEAD
}

/// [`record_bytes`] of a record handed back in a delivery report.
fn message_bytes(message: &BorrowedMessage<'_>) -> usize {
    message.payload_len() + message.key_len() + RECORD_OVERHEAD
}

/// The headers every record carries, numbers in decimal text.
fn headers(record: &KafkaRecord) -> OwnedHeaders {
    let mut h = OwnedHeaders::new_with_capacity(5).insert(Header { key: "event", value: Some(record.event) });
    if let Some(replid) = &record.replid {
        h = h.insert(Header { key: "replid", value: Some(replid.as_str()) });
    }
    for (name, value) in [("start_offset", record.start_offset), ("end_offset", record.end_offset), ("db", record.db)] {
        if let Some(v) = value {
            h = h.insert(Header { key: name, value: Some(v.to_string().as_str()) });
        }
    }
    h
}

/// A number header of a record handed back in a delivery report (see [`headers`]).
fn number_header<M: Message>(message: &M, name: &str) -> Option<u64> {
    let headers = message.headers()?;
    let value = headers.iter().find(|h| h.key == name)?.value?;
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The broker's own limit shows in the delivery report, not when the record is queued.
    #[test]
    fn a_record_the_broker_finds_too_large_is_named_by_its_report() {
        let tracker = Tracker { state: Mutex::new(InFlight::new(0)), changed: Condvar::new() };
        let seq = tracker.lock().open();
        tracker.lock().add(seq, 9000);
        tracker.lock().close(seq, 50);
        let record = RecordOrigin::new(Some(b"big"), Some(3), Some(50));
        let code = Some(RDKafkaErrorCode::MessageSizeTooLarge);
        let failure = Failure { topic: "cdc".into(), record: record.clone(), bytes: 9000, code, reason: "".into() };
        tracker.lock().fail(seq, 9000, failure);
        let err = check_failure(&tracker).unwrap_err();
        assert!(matches!(&err, Error::KafkaMessageTooLarge { record: r, bytes: 9000, .. } if *r == record), "{err:?}");
        assert!(err.to_string().starts_with("Kafka record for key \"big\" (db 3, replication offset 50)"), "{err}");
    }
}
