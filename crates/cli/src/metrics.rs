//! The Prometheus metrics of `redtail follow --metrics-addr` (docs/metrics.md): one handle per
//! series, each a shared atomic, so the follow handler updates them with a store or an add
//! on its hot path and the metrics thread reads them when scraped.
//!
//! Label values are fixed (the kind of event), never taken from the data: a command name or
//! key as a label would let the master's traffic create any number of series.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A gauge of byte offsets and counts, which do not fit an `i64` gauge's meaning.
pub type U64Gauge = Gauge<u64, AtomicU64>;
type F64Gauge = Gauge<f64, AtomicU64>;
type EventLabels = [(&'static str, &'static str); 1];

/// Every series, cheap to clone (the clones share their values).
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// The offset after the last frame received from the master.
    pub received_offset: U64Gauge,
    /// The offset acknowledged to the master (`REPLCONF ACK`), which is also the checkpoint's.
    pub acked_offset: U64Gauge,
    /// `master_repl_offset` from the last `INFO replication` poll.
    pub master_offset: U64Gauge,
    pub lag_bytes: U64Gauge,
    pub lag_seconds: F64Gauge,
    pub master_polls_failed: Counter,
    pub snapshot_keys_total: Counter,
    pub commands_total: Counter,
    pub transactions_total: Counter,
    pub snapshot_active: U64Gauge,
    pub snapshot_bytes: U64Gauge,
    pub snapshot_size_bytes: U64Gauge,
    pub snapshot_keys: U64Gauge,
    pub sink_flush_seconds: SinkHistogram,
    pub sink_errors: Counter,
    pub reconnects: Counter,
    pub resyncs: Counter,
}

/// The sink's flush time, from 100 µs to about 6.5 s in steps of 4×.
#[derive(Clone, Debug)]
pub struct SinkHistogram(pub Histogram);

impl Default for SinkHistogram {
    fn default() -> Self {
        SinkHistogram(Histogram::new(exponential_buckets(0.0001, 4.0, 9)))
    }
}

impl SinkHistogram {
    pub fn observe(&self, took: Duration) {
        self.0.observe(took.as_secs_f64());
    }
}

impl Metrics {
    /// New series, and the registry that encodes them.
    pub fn registered() -> (Metrics, Registry) {
        // The per-kind counters are the family's own series, so the handler holds them
        // directly and never looks a label set up.
        let events = Family::<EventLabels, Counter>::default();
        let kind = |k: &'static str| events.get_or_create(&[("kind", k)]).clone();
        let m = Metrics {
            snapshot_keys_total: kind("snapshot_key"),
            commands_total: kind("command"),
            transactions_total: kind("transaction"),
            ..Metrics::default()
        };
        let mut r = Registry::with_prefix("redtail");
        r.register(
            "received_offset",
            "Replication offset after the last frame received from the master",
            m.received_offset.clone(),
        );
        r.register(
            "acked_offset",
            "Replication offset acknowledged to the master (REPLCONF ACK) and saved in the checkpoint",
            m.acked_offset.clone(),
        );
        r.register("master_offset", "The master's master_repl_offset at the last INFO poll", m.master_offset.clone());
        r.register("lag_bytes", "master_offset minus acked_offset at the last INFO poll", m.lag_bytes.clone());
        r.register(
            "lag_seconds",
            "How long ago the master first reported an offset that is still not acknowledged (0 when caught up)",
            m.lag_seconds.clone(),
        );
        r.register("master_poll_errors", "INFO replication polls that failed", m.master_polls_failed.clone());
        r.register(
            "events",
            "Events received from the master, before filters: snapshot keys, commands (data writes, each \
             command of a transaction included) and transactions (MULTI/EXEC)",
            events,
        );
        r.register("snapshot_active", "1 while a snapshot is being received", m.snapshot_active.clone());
        r.register(
            "snapshot_bytes",
            "RDB bytes of the current (or last) snapshot decoded so far",
            m.snapshot_bytes.clone(),
        );
        r.register(
            "snapshot_size_bytes",
            "Size of the current (or last) snapshot; 0 for a diskless transfer, whose size is not announced",
            m.snapshot_size_bytes.clone(),
        );
        r.register("snapshot_keys", "Keys of the current (or last) snapshot received so far", m.snapshot_keys.clone());
        r.register(
            "sink_flush_seconds",
            "Time to flush the output and have it delivered (stdout written, Kafka acknowledged)",
            m.sink_flush_seconds.0.clone(),
        );
        r.register("sink_errors", "Errors of the output or sink", m.sink_errors.clone());
        r.register(
            "reconnects",
            "Connections to the master lost or failed, after which redtail retried",
            m.reconnects.clone(),
        );
        r.register(
            "resyncs",
            "Full resyncs: the master could not continue the history (resync events)",
            m.resyncs.clone(),
        );
        (m, r)
    }
}
