//! The checkpoint of the transactional sink, stored in Kafka: one record per checkpoint in a
//! compacted topic, keyed by the sink's checkpoint key, with the checkpoint file's text form
//! as the value (see [`crate::CheckpointStore`]). Compaction keeps the last one per key.
//!
//! On start it is read back with a `read_committed` consumer, to the end of the topic (the
//! partition-EOF event, which follows the fetch's high watermark: tansu's ListOffsets reports
//! a stale one), so a checkpoint from an aborted transaction is never seen.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::config::KafkaConfig;
use crate::checkpoint::{self, Checkpoint};
use crate::error::Error;

/// The last committed checkpoint under `key` in `topic`, `None` if there is none.
pub(crate) fn load(config: &KafkaConfig, topic: &str, key: &str, wait: Duration) -> Result<Option<Checkpoint>, Error> {
    let failed = |action: &str, e: KafkaError| Error::Kafka {
        action: format!("{action} of checkpoint topic {topic:?} on {}", config.bootstrap()),
        offset: 0,
        reason: e.to_string(),
    };
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", config.bootstrap())
        .set("group.id", format!("redtail-checkpoint-{key}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true");
    // Security and network options apply to this consumer too; producer-only ones are
    // ignored by librdkafka with a warning.
    for (k, v) in &config.options {
        client.set(k, v);
    }
    let consumer: BaseConsumer = client.create().map_err(|e| failed("create a consumer", e))?;
    let metadata =
        consumer.fetch_metadata(Some(topic), config.connect_timeout).map_err(|e| failed("read metadata", e))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(Error::KafkaNoTopic {
            topic: topic.to_string(),
            brokers: format!("{} (the checkpoint topic: create it with cleanup.policy=compact)", config.bootstrap()),
        });
    }
    let mut assignment = TopicPartitionList::new();
    for &p in &partitions {
        assignment.add_partition_offset(topic, p, Offset::Beginning).map_err(|e| failed("assign the partitions", e))?;
    }
    consumer.assign(&assignment).map_err(|e| failed("assign the partitions", e))?;

    let mut at_end = vec![false; partitions.len()];
    let mut found = None;
    let started = Instant::now();
    while at_end.contains(&false) {
        if started.elapsed() > wait {
            return Err(failed("read to the end", KafkaError::NoMessageReceived));
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                if let Some(i) = partitions.iter().position(|&q| q == p) {
                    at_end[i] = true;
                }
            }
            Some(Err(e)) => return Err(failed("read", e)),
            Some(Ok(message)) => {
                if let Some(i) = partitions.iter().position(|&q| q == message.partition()) {
                    at_end[i] = false;
                }
                if message.key() != Some(key.as_bytes()) {
                    continue;
                }
                let corrupt = |reason: String| Error::KafkaCheckpoint {
                    topic: topic.to_string(),
                    position: message.offset(),
                    reason,
                };
                found = match message.payload() {
                    // A tombstone: the checkpoint was deleted.
                    None => None,
                    Some(bytes) => {
                        let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8 text".into()))?;
                        let cp =
                            checkpoint::parse(text).map_err(|(line, why)| corrupt(format!("line {line}: {why}")))?;
                        Some(cp)
                    }
                };
            }
        }
    }
    Ok(found)
}
