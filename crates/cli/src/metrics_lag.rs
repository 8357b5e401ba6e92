//! The master's offset and redtail's lag behind it. The replication stream does not carry
//! the master's own offset (`master_repl_offset`), so a second, ordinary connection asks
//! `INFO replication` every second, with the same address, credentials and TLS settings as
//! the replication connection. A failed poll is counted and retried at the next tick (on the
//! next source, so a failover is followed); it never stops the follow.
//!
//! Lag in seconds is defined from those polls, so that it also covers data still waiting in
//! the master's output buffer (where it piles up while the sink is slow): it is how long ago
//! a poll first saw a master offset that redtail has still not acknowledged, and 0 when the
//! acknowledged offset has reached the last polled one. Its resolution is the poll interval.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use replica::{connect, replication_info, SessionConfig};

use crate::metrics::Metrics;

/// How often the master is asked for its offset.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Samples kept for the lag in seconds: beyond this many distinct unacknowledged offsets
/// (over an hour at one poll a second) newer samples are not kept. The oldest samples are
/// the ones that set the lag, so it stays right while they last; memory stays bounded.
const MAX_SAMPLES: usize = 4096;

/// The polled master offsets that are not acknowledged yet, oldest first.
#[derive(Debug, Default)]
pub struct LagClock {
    samples: VecDeque<(Instant, u64)>,
}

impl LagClock {
    /// A poll at `now` saw `master`; `acked` is the acknowledged offset. Returns the lag in
    /// bytes and in seconds.
    pub fn observe(&mut self, now: Instant, master: u64, acked: u64) -> (u64, Duration) {
        if self.samples.back().is_none_or(|&(_, last)| master > last) && self.samples.len() < MAX_SAMPLES {
            self.samples.push_back((now, master));
        }
        self.lag(now, acked, master)
    }

    /// The lag at `now` for the acknowledged offset `acked`, against the last polled offset.
    fn lag(&mut self, now: Instant, acked: u64, master: u64) -> (u64, Duration) {
        // A master that restarted or failed over to a shorter history has lower offsets
        // than the samples of the old one: those can never be acknowledged.
        while self.samples.front().is_some_and(|&(_, offset)| offset <= acked || offset > master) {
            self.samples.pop_front();
        }
        let seconds = self.samples.front().map_or(Duration::ZERO, |&(at, _)| now - at);
        (master.saturating_sub(acked), seconds)
    }
}

/// Polls forever, updating the master offset and lag series.
pub async fn poll_master(config: SessionConfig, metrics: Metrics) {
    if config.sources.is_empty() {
        return;
    }
    let tls = match config.sources.iter().any(|s| s.tls) {
        // Session::new has read these files already; a failure here would have stopped it.
        true => match config.tls.client_config() {
            Ok(tls) => Some(tls),
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot poll the master's offset");
                return;
            }
        },
        false => None,
    };
    let mut clock = LagClock::default();
    let mut next = 0;
    let mut ticks = tokio::time::interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let source = &config.sources[next % config.sources.len()];
        let auth = source.auth().or_else(|| config.replica.auth.clone());
        let address = source.address.to_string();
        let polled = async {
            let mut conn = connect(source, tls.as_ref().map(|t| (&config.tls, t)), config.connect_timeout).await?;
            replication_info(&mut conn, auth.as_ref(), &address, config.connect_timeout).await
        }
        .await;
        match polled.map(|info| info.offset.filter(|_| info.role.as_deref() != Some("slave"))) {
            Ok(Some(master)) => {
                let (bytes, seconds) = clock.observe(Instant::now(), master, metrics.acked_offset.get());
                metrics.master_offset.set(master);
                metrics.lag_bytes.set(bytes);
                metrics.lag_seconds.set(seconds.as_secs_f64());
            }
            // A replica (the old master, back after a failover) or a server without the
            // field: the master is elsewhere.
            Ok(None) => {
                metrics.master_polls_failed.inc();
                next += 1;
            }
            Err(e) => {
                tracing::debug!(source = %source, error = %e, "metrics: INFO replication failed");
                metrics.master_polls_failed.inc();
                next += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_seconds_is_the_age_of_the_oldest_unacknowledged_poll() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut clock = LagClock::default();
        assert_eq!(clock.observe(s(0), 100, 100), (0, Duration::ZERO), "caught up");
        assert_eq!(clock.observe(s(1), 200, 150), (50, Duration::ZERO), "seen just now");
        assert_eq!(clock.observe(s(2), 300, 150), (150, Duration::from_secs(1)), "200 is a second old");
        assert_eq!(clock.observe(s(3), 300, 250), (50, Duration::from_secs(1)), "300 was first seen at 2");
        assert_eq!(clock.observe(s(4), 300, 300), (0, Duration::ZERO));
        // A master that restarted: its offsets start again lower.
        clock.observe(s(5), 900, 300);
        assert_eq!(clock.observe(s(6), 50, 300), (0, Duration::ZERO), "the old history's samples are dropped");
    }

    #[test]
    fn samples_stay_bounded() {
        let t0 = Instant::now();
        let mut clock = LagClock::default();
        for i in 0..2 * MAX_SAMPLES as u64 {
            clock.observe(t0 + Duration::from_secs(i), 10 + i, 0);
        }
        assert_eq!(clock.samples.len(), MAX_SAMPLES);
        let (_, seconds) = clock.observe(t0 + Duration::from_secs(10_000), 100_000, 0);
        assert_eq!(seconds, Duration::from_secs(10_000), "the oldest sample still sets the lag");
    }
}
