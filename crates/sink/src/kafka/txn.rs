//! [`KafkaTxnSink`] (`--kafka-transactional`): the records and the checkpoint are committed
//! in one Kafka transaction, so a `read_committed` consumer sees every event exactly once.
//!
//! Why a crash at any point leaves neither gaps nor duplicates:
//! - Records and the checkpoint become visible together at commit, or not at all.
//! - On start, `init_transactions` with the same `transactional.id` fences a crashed
//!   predecessor and aborts its open transaction; only then is the checkpoint read back (with
//!   `read_committed`), and the follower resumes right after it.
//! - So what a reader sees always ends exactly at the stored checkpoint.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::Producer;

use super::checkpoint_topic;
use super::config::KafkaConfig;
use super::producer::RecordProducer;
use super::record::KafkaRecord;
use crate::checkpoint::{self, Checkpoint};
use crate::error::Error;
use crate::{Batch, Sink};

/// What the transactional mode adds to [`KafkaConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaTxnConfig {
    /// `transactional.id`: stable across restarts of one follower, and unique among
    /// followers, since a new producer with the same id fences the old one.
    pub transactional_id: String,
    /// The compacted topic holding checkpoints (create it with `cleanup.policy=compact`).
    pub checkpoint_topic: String,
    /// The checkpoint record's key; several followers can share one checkpoint topic.
    pub checkpoint_key: String,
    /// The bound on each transaction step (init, commit, abort).
    pub step_timeout: Duration,
}

impl KafkaTxnConfig {
    /// The defaults for one follower: its checkpoint key is its transactional id.
    pub fn new(transactional_id: impl Into<String>, checkpoint_topic: impl Into<String>) -> Self {
        let transactional_id = transactional_id.into();
        KafkaTxnConfig {
            checkpoint_key: transactional_id.clone(),
            transactional_id,
            checkpoint_topic: checkpoint_topic.into(),
            step_timeout: Duration::from_secs(30),
        }
    }
}

/// Effectively-once delivery to Kafka; see the module documentation.
///
/// `delivered` only moves at a successful `flush`, which commits. The checkpoint a commit
/// writes needs the replication ID and the db at the batch's end: the sink takes them from the
/// records it is sent, and [`KafkaTxnSink::set_position`] sets them where records do not say
/// (a `SELECT` with no command after it).
pub struct KafkaTxnSink {
    producer: RecordProducer,
    txn: KafkaTxnConfig,
    loaded: Option<Checkpoint>,
    /// A transaction is open (begun by the first `send` after a commit).
    open: bool,
    sent: u64,
    delivered: u64,
    replid: Option<String>,
    db: Option<u64>,
}

impl KafkaTxnSink {
    /// Connects, fences any earlier producer with the same transactional id (aborting what it
    /// left open) and reads the checkpoint back. Delivery starts at the checkpoint's offset,
    /// or 0 without one.
    pub fn connect(config: &KafkaConfig, txn: KafkaTxnConfig) -> Result<KafkaTxnSink, Error> {
        let extra = [("transactional.id", txn.transactional_id.clone())];
        let producer = RecordProducer::connect(config, &extra, 0)?;
        producer.producer.init_transactions(txn.step_timeout).map_err(|e| step_failed("start transactions", 0, e))?;
        let wait = config.connect_timeout + txn.step_timeout;
        let loaded = checkpoint_topic::load(config, &txn.checkpoint_topic, &txn.checkpoint_key, wait)?;
        let start = loaded.as_ref().map_or(0, |cp| cp.offset);
        producer.tracker.lock().reset(start);
        let (replid, db) = loaded.as_ref().map_or((None, None), |cp| (Some(cp.replid.clone()), cp.db));
        Ok(KafkaTxnSink { producer, txn, loaded, open: false, sent: start, delivered: start, replid, db })
    }

    /// The checkpoint read at start: resume the replication stream after it.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.loaded.as_ref()
    }

    /// Counters of the producer's retries and broker trouble, updated while it runs.
    pub fn health(&self) -> std::sync::Arc<super::KafkaHealth> {
        std::sync::Arc::clone(&self.producer.health)
    }

    /// The replication ID and db in force at the end of what was sent, for the checkpoint.
    pub fn set_position(&mut self, replid: &str, db: Option<u64>) {
        self.replid = Some(replid.to_string());
        self.db = db;
    }

    /// Drops the open transaction: its records are never seen by `read_committed` readers,
    /// and the sent offset goes back to the delivered one (the caller resends from there).
    pub fn abort(&mut self) -> Result<(), Error> {
        if self.open {
            self.producer
                .producer
                .abort_transaction(self.txn.step_timeout)
                .map_err(|e| step_failed("abort the transaction", self.delivered, e))?;
            self.open = false;
        }
        // The aborted records' reports (purged) must not count as failures.
        let _ = self.producer.wait_acked();
        self.producer.tracker.lock().reset(self.delivered);
        self.sent = self.delivered;
        Ok(())
    }

    fn begin(&mut self) -> Result<(), Error> {
        if !self.open {
            self.producer.producer.begin_transaction().map_err(|e| step_failed("begin a transaction", self.sent, e))?;
            self.open = true;
        }
        Ok(())
    }

    /// Commits; on an error that needs it, aborts, so the next transaction can start.
    fn commit(&mut self) -> Result<(), Error> {
        match self.producer.producer.commit_transaction(self.txn.step_timeout) {
            Ok(()) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                let error = step_failed("commit the transaction", self.sent, e.clone());
                if matches!(&e, KafkaError::Transaction(t) if t.txn_requires_abort()) {
                    let _ = self.abort();
                }
                Err(error)
            }
        }
    }
}

impl Sink for KafkaTxnSink {
    type Record = KafkaRecord;

    /// On an error the open transaction is aborted (part of a batch must never be committed
    /// under an older checkpoint), and the caller resends from [`Sink::delivered`].
    fn send(&mut self, batch: Batch<KafkaRecord>) -> Result<(), Error> {
        self.begin()?;
        if let Err(e) = self.producer.produce(&batch.records, batch.end_offset, None) {
            let _ = self.abort();
            return Err(e);
        }
        if let Some(last) = batch.records.iter().rev().find(|r| r.replid.is_some()) {
            self.replid.clone_from(&last.replid);
        }
        if let Some(db) = batch.records.iter().rev().find_map(|r| r.db) {
            self.db = Some(db);
        }
        self.sent = batch.end_offset;
        Ok(())
    }

    /// Writes the checkpoint into the open transaction and commits it; the sent offset is
    /// then delivered.
    fn flush(&mut self) -> Result<u64, Error> {
        if !self.open && self.sent == self.delivered {
            return Ok(self.delivered);
        }
        let replid = match &self.replid {
            Some(r) if checkpoint::is_replid(r) => r.clone(),
            other => {
                return Err(Error::Kafka {
                    action: "write the checkpoint".into(),
                    offset: self.sent,
                    reason: format!("no valid replication ID known ({other:?}); call set_position"),
                })
            }
        };
        let cp = Checkpoint { replid, offset: self.sent, db: self.db };
        let record = KafkaRecord {
            key: Some(self.txn.checkpoint_key.clone().into_bytes()),
            value: checkpoint::format(&cp).into_bytes(),
            event: "checkpoint",
            db: cp.db,
            replid: Some(cp.replid.clone()),
            start_offset: None,
            end_offset: Some(cp.offset),
        };
        self.begin()?;
        let topic = self.txn.checkpoint_topic.clone();
        self.producer.produce(std::slice::from_ref(&record), self.sent, Some(&topic))?;
        self.commit()?;
        self.producer.check_failure()?;
        self.delivered = self.sent;
        Ok(self.delivered)
    }

    fn delivered(&self) -> u64 {
        self.delivered
    }
}

fn step_failed(action: &str, offset: u64, e: KafkaError) -> Error {
    Error::Kafka { action: action.to_string(), offset, reason: e.to_string() }
}
