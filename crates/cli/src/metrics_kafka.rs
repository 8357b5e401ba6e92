//! The Kafka producer's series (docs/metrics.md): read from the sink's [`KafkaHealth`] at each
//! scrape. librdkafka updates those counters from its own threads, so they move while the
//! follow handler is blocked waiting for a broker that went away, which is when they matter.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use sink::KafkaHealth;

/// Adds the Kafka series to `registry`.
pub fn register(registry: &mut Registry, health: Arc<KafkaHealth>) {
    registry.register_collector(Box::new(KafkaCollector(health)));
}

#[derive(Debug)]
struct KafkaCollector(Arc<KafkaHealth>);

impl Collector for KafkaCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let h = &self.0;
        let counters = [
            ("kafka_connects", "Connection attempts to Kafka brokers, failed ones included", h.connects()),
            ("kafka_disconnects", "Kafka broker connections lost or closed", h.disconnects()),
            ("kafka_retries", "Requests to Kafka brokers sent again after a failure or a timeout", h.retries()),
            ("kafka_errors", "Errors librdkafka reported for the client (a broker unreachable, ...)", h.errors()),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        let gauges = [
            ("kafka_brokers_up", "Kafka brokers with a usable connection", h.brokers_up()),
            (
                "kafka_queued_records",
                "Records produced to Kafka and not yet acknowledged (librdkafka's queues)",
                h.queued_records(),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_carry_the_prefix_and_the_current_values() {
        let mut registry = Registry::with_prefix("redtail");
        register(&mut registry, Arc::new(KafkaHealth::default()));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in ["redtail_kafka_connects_total 0", "redtail_kafka_retries_total 0", "redtail_kafka_brokers_up 0"] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
