//! Reading a topic back in the Kafka tests (feature `kafka`): every record of every
//! partition, from the start to the end, as the broker holds them.
//!
//! Partitions are `assign()`ed: a group `subscribe()` takes ~23 s on tansu. The end is every
//! partition's EOF event, which follows the fetch's high watermark (tansu's ListOffsets one
//! can be stale), then a quiet time with nothing new.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// How long reading one topic may take before the test fails.
const READ_WITHIN: Duration = Duration::from_secs(60);

/// A record as a consumer saw it.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub topic: String,
    pub partition: i32,
    /// The record's position in its partition.
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    /// Header values as text (lossy).
    pub headers: HashMap<String, String>,
}

impl Consumed {
    /// A number header (`end_offset`, `start_offset`, `db`); panics if absent.
    #[track_caller]
    pub fn number(&self, header: &str) -> u64 {
        let text = self.headers.get(header).unwrap_or_else(|| panic!("no {header} header: {:?}", self.headers));
        text.parse().unwrap_or_else(|_| panic!("header {header}={text:?} is not a number"))
    }

    pub fn end_offset(&self) -> u64 {
        self.number("end_offset")
    }
}

/// What to read and how.
#[derive(Clone, Debug)]
pub struct TopicReader {
    bootstrap: String,
    topic: String,
    partitions: i32,
    isolation: &'static str,
    quiet: Duration,
}

impl TopicReader {
    /// Reads `partitions` partitions of `topic` with `read_uncommitted`, and stops 700 ms after
    /// the last record once every partition is at its end.
    pub fn new(bootstrap: &str, topic: &str, partitions: i32) -> TopicReader {
        TopicReader {
            bootstrap: bootstrap.to_string(),
            topic: topic.to_string(),
            partitions,
            isolation: "read_uncommitted",
            quiet: Duration::from_millis(700),
        }
    }

    /// `read_committed`: aborted transactions' records are not seen.
    pub fn committed(mut self) -> Self {
        self.isolation = "read_committed";
        self
    }

    /// How long nothing new must come once every partition is at its end.
    pub fn quiet(mut self, quiet: Duration) -> Self {
        self.quiet = quiet;
        self
    }

    /// Every record, in the order read (per partition, the partition's order).
    #[track_caller]
    pub fn read_all(&self) -> Vec<Consumed> {
        let topic = &self.topic;
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", "redtail-test-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("isolation.level", self.isolation)
            .create()
            .unwrap_or_else(|e| panic!("a consumer for {topic}: {e}"));
        let mut tpl = TopicPartitionList::new();
        for p in 0..self.partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
        }
        consumer.assign(&tpl).unwrap_or_else(|e| panic!("assign {topic}: {e}"));
        let mut at_end = HashSet::new();
        let mut out = Vec::new();
        let deadline = Instant::now() + READ_WITHIN;
        let mut quiet_since = Instant::now();
        loop {
            assert!(Instant::now() < deadline, "reading {topic} did not reach the end in {READ_WITHIN:?}");
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    quiet_since = Instant::now();
                    at_end.remove(&m.partition());
                    out.push(consumed(&m));
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    at_end.insert(p);
                }
                Some(Err(e)) => panic!("reading {topic}: {e}"),
                None => {}
            }
            if at_end.len() == self.partitions as usize && quiet_since.elapsed() > self.quiet {
                return out;
            }
        }
    }
}

fn consumed<M: Message>(m: &M) -> Consumed {
    let headers = m.headers().map_or_else(HashMap::new, |h| {
        h.iter().map(|h| (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or(b"")).into_owned())).collect()
    });
    Consumed {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().unwrap_or_default().to_vec(),
        headers,
    }
}
