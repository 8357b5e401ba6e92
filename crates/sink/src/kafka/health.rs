//! [`KafkaHealth`]: how the producer is getting on with its brokers, for the metrics.
//!
//! While a broker is away the follower is blocked waiting for delivery reports, so nothing it
//! counts itself moves. librdkafka keeps retrying meanwhile (reconnecting with backoff,
//! resending requests); these counters are updated from its own threads (its statistics,
//! every `statistics.interval.ms`, and its error callback), so the retries stay visible.

use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::statistics::Statistics;

/// How often librdkafka reports its statistics unless `--kafka-opt statistics.interval.ms`
/// says otherwise: the metrics' resolution.
pub(crate) const STATISTICS_INTERVAL_MS: &str = "1000";

/// Counters shared with librdkafka's threads; read them at any time.
#[derive(Debug, Default)]
pub struct KafkaHealth {
    errors: AtomicU64,
    connects: AtomicU64,
    disconnects: AtomicU64,
    retries: AtomicU64,
    brokers_up: AtomicU64,
    queued_records: AtomicU64,
}

impl KafkaHealth {
    /// Client-level errors librdkafka reported (a broker connection refused or lost, all
    /// brokers down, ...). librdkafka suppresses repeats of the same error for a while, so this
    /// shows trouble rather than counting attempts; [`KafkaHealth::connects`] counts those.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Connection attempts to brokers, failed ones included.
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }

    /// Broker connections lost or closed.
    pub fn disconnects(&self) -> u64 {
        self.disconnects.load(Ordering::Relaxed)
    }

    /// Requests (produce requests included) sent again after a failure or a timeout.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Brokers with an open, usable connection at the last statistics.
    pub fn brokers_up(&self) -> u64 {
        self.brokers_up.load(Ordering::Relaxed)
    }

    /// Records in librdkafka's queues (produced, not yet acknowledged) at the last statistics.
    pub fn queued_records(&self) -> u64 {
        self.queued_records.load(Ordering::Relaxed)
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn statistics(&self, stats: &Statistics) {
        let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
        // Real connections only: not librdkafka's internal broker nor the logical coordinator
        // handles, which borrow another broker's connection.
        let brokers = || stats.brokers.values().filter(|b| matches!(b.source.as_str(), "configured" | "learned"));
        // Totals per broker since the client started; a broker dropped from the metadata
        // takes its share with it, so the counters only ever move up.
        self.connects.fetch_max(brokers().map(|b| count(b.connects)).sum(), Ordering::Relaxed);
        self.disconnects.fetch_max(brokers().map(|b| count(b.disconnects)).sum(), Ordering::Relaxed);
        self.retries.fetch_max(brokers().map(|b| b.txretries).sum(), Ordering::Relaxed);
        self.brokers_up.store(brokers().filter(|b| b.state == "UP").count() as u64, Ordering::Relaxed);
        self.queued_records.store(stats.msg_cnt, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(source: &str, state: &str, connects: i64, retries: u64) -> rdkafka::statistics::Broker {
        rdkafka::statistics::Broker {
            source: source.into(),
            state: state.into(),
            connects: Some(connects),
            disconnects: Some(connects - 1),
            txretries: retries,
            ..Default::default()
        }
    }

    #[test]
    fn totals_are_summed_over_brokers_and_never_go_back() {
        let health = KafkaHealth::default();
        let mut stats = Statistics { msg_cnt: 7, ..Default::default() };
        stats.brokers.insert("a".into(), broker("learned", "UP", 3, 2));
        stats.brokers.insert("b".into(), broker("configured", "DOWN", 5, 0));
        stats.brokers.insert("c".into(), broker("internal", "UP", 9, 9));
        health.statistics(&stats);
        assert_eq!((health.connects(), health.disconnects(), health.retries()), (8, 6, 2));
        assert_eq!((health.brokers_up(), health.queued_records()), (1, 7));
        stats.brokers.remove("b");
        stats.msg_cnt = 0;
        health.statistics(&stats);
        assert_eq!((health.connects(), health.brokers_up(), health.queued_records()), (8, 1, 0));
    }
}
