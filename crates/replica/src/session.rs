//! [`Session`]: the long-running follower. It connects, runs the state machine over the
//! connection, and when the connection is lost it reconnects with backoff and resumes from the
//! last *delivered* offset, so nothing the sink has not confirmed is skipped.
//!
//! What the handler can rely on:
//! - every command arrives with its offsets; after a reconnection, commands after the last
//!   delivered offset may arrive again (at-least-once), with the same offsets;
//! - when the master cannot continue a history the handler has seen part of (a `+FULLRESYNC`
//!   in answer to a resume, or a snapshot cut short), [`Output::Resync`] comes right before
//!   the new snapshot's `SnapshotBegin`: state built so far may be stale;
//! - with several sources (a master and its replicas), a reconnection tries each in turn; a
//!   promoted replica continues the old history with `+CONTINUE` (PSYNC2 keeps the old
//!   replication ID as its `replid2`).
//! - with sentinels, every attempt first asks them where the master is, so a failover leads
//!   to the promoted replica the same way.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Checkpoint, Config, Start};
use crate::connect::{connect, Connection};
use crate::driver::{self, DriverError, Handler};
use crate::error::Error;
use crate::machine::Replica;
use crate::output::Output;
use crate::probe;
use crate::sentinel::Sentinels;
use crate::source::Source;
use crate::tls::TlsOptions;

/// Where a session starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartFrom {
    /// A full sync (`PSYNC ? -1`): the snapshot, then the stream.
    #[default]
    Snapshot,
    /// Only writes made from now on: `INFO` gives the master's replid and offset, then
    /// `PSYNC <replid> <offset+1>`. If the master answers with a full sync (no backlog covers
    /// that offset), the session fails with [`Error::NowNotCovered`], or with
    /// `fallback_snapshot` takes the full sync. Later reconnections resume like any other.
    Now { fallback_snapshot: bool },
    /// Resume from a saved checkpoint; a `+FULLRESYNC` answer gives [`Output::Resync`] and a
    /// new snapshot.
    Checkpoint(Checkpoint),
}

/// Capped exponential backoff with jitter between connection attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The wait before attempt number `failures` (1 = right after the first failure): the
    /// initial delay doubled each time up to the cap, then a random point in its upper half, so
    /// many followers of one restarted master do not reconnect in lockstep.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let base = self.initial.saturating_mul(1 << doublings).min(self.max);
        base.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// Everything a session needs.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The master first, then any replicas to fail over to; tried in turn on reconnection.
    pub sources: Vec<Source>,
    /// Ask these sentinels before each attempt where the master is; the sources then only
    /// give the credentials and TLS for the master (their addresses are replaced).
    pub sentinels: Option<Sentinels>,
    /// Used for sources that ask for TLS.
    pub tls: TlsOptions,
    /// The state machine's settings. `auth` applies to sources that carry no password of
    /// their own; `start` is set by the session for each connection.
    pub replica: Config,
    pub start: StartFrom,
    pub backoff: Backoff,
    pub connect_timeout: Duration,
    /// Give up after this many failed attempts in a row (`None`: never). An attempt that
    /// reaches the stream resets the count.
    pub max_failures: Option<u32>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            sources: vec![Source::default()],
            sentinels: None,
            tls: TlsOptions::default(),
            replica: Config::default(),
            start: StartFrom::Snapshot,
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            max_failures: None,
        }
    }
}

/// A follower that survives lost connections. See the module documentation for what its
/// handler sees.
pub struct Session {
    config: SessionConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Where the next connection resumes; `None` until there is a delivered position (or,
    /// from now, the position `INFO` gave).
    checkpoint: Option<Checkpoint>,
    next_source: usize,
    failures: u32,
    progress: Progress,
}

/// What the session has told its handler, which decides what it must tell it next.
#[derive(Debug)]
struct Progress {
    /// The handler has seen data (snapshot events or commands), or starts from a checkpoint
    /// of earlier data: a new snapshot must then be announced with `Resync`.
    has_state: bool,
    /// The start from now has not been answered yet.
    now_pending: bool,
    fallback_snapshot: bool,
    /// This connection reached the stream.
    streaming: bool,
}

impl Session {
    /// Checks the configuration (sources, TLS files) before anything connects.
    pub fn new(config: SessionConfig) -> Result<Session, Error> {
        if config.sources.is_empty() {
            return Err(Error::NoSources);
        }
        let sentinel_tls = config.sentinels.iter().flat_map(|s| &s.addresses).any(|s| s.tls);
        let tls = match config.sources.iter().any(|s| s.tls) || sentinel_tls {
            true => Some(config.tls.client_config()?),
            false => None,
        };
        let (checkpoint, has_state, fallback_snapshot) = match config.start {
            StartFrom::Snapshot => (None, false, false),
            StartFrom::Now { fallback_snapshot } => (None, false, fallback_snapshot),
            StartFrom::Checkpoint(cp) => (Some(cp), true, false),
        };
        let progress = Progress { has_state, now_pending: false, fallback_snapshot, streaming: false };
        Ok(Session { config, tls, checkpoint, next_source: 0, failures: 0, progress })
    }

    /// The position the next connection would resume from.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.checkpoint
    }

    /// Follows until the handler returns an error or a failure that retrying cannot fix
    /// (wrong credentials, a server that refuses replication, [`Error::NowNotCovered`], too
    /// many failures in a row).
    pub async fn run<H: Handler + ?Sized>(&mut self, handler: &mut H) -> Result<Infallible, DriverError<H::Error>> {
        loop {
            let index = self.next_source % self.config.sources.len();
            let mut source = self.config.sources[index].clone();
            self.progress.streaming = false;
            let (err, located) = match self.locate(&mut source).await {
                Err(e) => (e, false),
                Ok(()) => match self.attempt(&source, handler).await {
                    Err(DriverError::Handler(e)) => return Err(DriverError::Handler(e)),
                    Err(DriverError::Replication(e)) => (e, true),
                    Err(DriverError::Io(e)) => {
                        (Error::Io { address: source.address.to_string(), source: e.into() }, true)
                    }
                },
            };
            // Until a sentinel has named the master, the source's address is only a template.
            let shown = match &self.config.sentinels {
                Some(s) if !located => format!("master {:?} (through the sentinels)", s.master_name),
                _ => source.to_string(),
            };
            if !err.is_retryable() {
                tracing::error!(source = %shown, error = %err, "cannot follow");
                return Err(err.into());
            }
            if self.progress.streaming {
                // A connection that worked: retry it first, soon.
                self.failures = 1;
            } else {
                self.failures += 1;
                self.next_source = index + 1;
            }
            if let Some(max) = self.config.max_failures {
                if self.failures >= max && !self.progress.streaming {
                    return Err(Error::GaveUp { attempts: self.failures, last: Box::new(err) }.into());
                }
            }
            handler.reconnecting(&err);
            let delay = self.config.backoff.delay(self.failures);
            tracing::warn!(
                source = %shown,
                error = %err,
                retry_in_ms = delay.as_millis() as u64,
                resume_from = ?self.checkpoint.map(|cp| cp.offset),
                "connection lost; reconnecting"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// With sentinels: asks them in turn where the master is and points `source` there. A
    /// sentinel that cannot answer is skipped; when none knows the master's name, retrying
    /// will not help.
    async fn locate(&self, source: &mut Source) -> Result<(), Error> {
        let Some(sentinels) = &self.config.sentinels else { return Ok(()) };
        let mut errors = Vec::new();
        let mut unknown = Vec::new();
        // A sentinel's refusal of the credentials or certificates, unless another sentinel
        // answered otherwise.
        let mut refused = None;
        let mut answered_otherwise = false;
        for sentinel in &sentinels.addresses {
            let tls = self.tls.as_ref().map(|config| (&self.config.tls, config));
            let answer = match connect(sentinel, tls, self.config.connect_timeout).await {
                Ok(mut conn) => probe::ask_sentinel(&mut conn, sentinels, sentinel, self.config.connect_timeout).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(Some(address)) => {
                    tracing::info!(sentinel = %sentinel.address, master = %address, name = %sentinels.master_name, "the sentinel named the master");
                    source.address = address;
                    return Ok(());
                }
                Ok(None) => {
                    answered_otherwise = true;
                    unknown.push(sentinel.address.to_string());
                }
                // Wrong credentials or a refused certificate: a configuration mistake.
                Err(e) if !e.is_retryable() => {
                    tracing::warn!(sentinel = %sentinel.address, error = %e, "sentinel refused us");
                    errors.push(format!("{}: {e}", sentinel.address));
                    refused.get_or_insert(e);
                }
                Err(e) => {
                    answered_otherwise |= !matches!(e, Error::Connect { .. } | Error::ConnectTimeout { .. });
                    tracing::warn!(sentinel = %sentinel.address, error = %e, "sentinel did not answer");
                    errors.push(format!("{}: {e}", sentinel.address));
                }
            }
        }
        let master_name = sentinels.master_name.clone();
        // Every sentinel that answered refused the credentials or certificates (the others
        // could not be reached): asking again will not help.
        if let Some(e) = refused.filter(|_| !answered_otherwise) {
            return Err(e);
        }
        if errors.is_empty() {
            return Err(Error::UnknownMaster { master_name, sentinels: unknown.join(", ") });
        }
        errors.extend(unknown.iter().map(|s| format!("{s}: no master of that name")));
        Err(Error::NoSentinel { master_name, errors: errors.join("; ") })
    }

    /// One connection, from connect to failure.
    async fn attempt<H: Handler + ?Sized>(
        &mut self,
        source: &Source,
        handler: &mut H,
    ) -> Result<Infallible, DriverError<H::Error>> {
        let tls = self.tls.as_ref().map(|config| (&self.config.tls, config));
        let auth = source.auth().or_else(|| self.config.replica.auth.clone());
        if self.checkpoint.is_none() && matches!(self.config.start, StartFrom::Now { .. }) {
            // Taken once: a later attempt resumes from this position, so writes made between
            // two attempts are not skipped.
            let mut conn = connect(source, tls, self.config.connect_timeout).await?;
            let address = source.address.to_string();
            let info = probe::replication_info(&mut conn, auth.as_ref(), &address, self.config.connect_timeout).await?;
            let Start::Resume(cp) = info.start_from_now().map_err(|missing| Error::NoInfo {
                address,
                missing: if missing.contains("offset") { "master_repl_offset" } else { "master_replid" },
            })?
            else {
                unreachable!("start_from_now resumes")
            };
            tracing::info!(source = %source, replid = %cp.replid, offset = cp.offset, "starting from now");
            self.checkpoint = Some(cp);
            self.progress.now_pending = true;
        }
        let start = match self.checkpoint {
            Some(cp) => Start::Resume(cp),
            None => Start::Snapshot,
        };
        tracing::info!(source = %source, psync = ?start.psync_args(), "connecting");
        let mut conn: Connection = connect(source, tls, self.config.connect_timeout).await?;
        let config = Config { auth, start, ..self.config.replica.clone() };
        let mut replica = Replica::new(config, Instant::now());
        let mut guard = Guard { inner: handler, progress: &mut self.progress, checkpoint: &mut self.checkpoint };
        let result = driver::run(&mut conn, &mut replica, &mut guard).await;
        if let Some(cp) = replica.checkpoint() {
            self.checkpoint = Some(cp);
        }
        result.map_err(|e| match e {
            DriverError::Handler(GuardError::Handler(e)) => DriverError::Handler(e),
            DriverError::Handler(GuardError::Session(e)) => DriverError::Replication(e),
            DriverError::Replication(e) => DriverError::Replication(e),
            DriverError::Io(e) => DriverError::Io(e),
        })
    }
}

enum GuardError<E> {
    Handler(E),
    Session(Error),
}

impl<E: std::fmt::Display> std::fmt::Display for GuardError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardError::Handler(e) => e.fmt(f),
            GuardError::Session(e) => e.fmt(f),
        }
    }
}

/// Stands between the driver and the handler: announces resyncs, enforces the start from
/// now, logs, and keeps the session's checkpoint current.
struct Guard<'a, H: ?Sized> {
    inner: &'a mut H,
    progress: &'a mut Progress,
    checkpoint: &'a mut Option<Checkpoint>,
}

impl<H: Handler + ?Sized> Handler for Guard<'_, H> {
    type Error = GuardError<H::Error>;

    fn output(&mut self, out: &Output<'_>) -> Result<Option<u64>, Self::Error> {
        match out {
            Output::Resync { replid, offset } => {
                if self.progress.now_pending && !self.progress.fallback_snapshot {
                    let Some(cp) = *self.checkpoint else { return Ok(None) };
                    return Err(GuardError::Session(Error::NowNotCovered { replid: cp.replid, offset: cp.offset }));
                }
                tracing::warn!(%replid, offset, "the master cannot continue from the checkpoint; full resync");
                // Announced (or not) at SnapshotBegin, which follows.
                return Ok(None);
            }
            Output::SnapshotBegin { replid, offset, size } => {
                tracing::info!(%replid, offset, size, "snapshot begins");
                self.progress.now_pending = false;
                if self.progress.has_state {
                    let resync = Output::Resync { replid: *replid, offset: *offset };
                    self.inner.output(&resync).map_err(GuardError::Handler)?;
                }
                self.progress.has_state = true;
            }
            Output::SnapshotEnd { offset } => {
                tracing::info!(offset, "snapshot complete; following the stream");
                self.progress.streaming = true;
            }
            Output::Continue { replid, offset } => {
                tracing::info!(%replid, offset, "the master continues the stream");
                self.progress.now_pending = false;
                self.progress.streaming = true;
            }
            Output::Warning(message) => tracing::warn!("{message}"),
            Output::Snapshot(_) | Output::Command(_) => self.progress.has_state = true,
            Output::Transmit(_) => {}
        }
        self.inner.output(out).map_err(GuardError::Handler)
    }

    fn snapshot_items(&mut self, items: rdb::ReadyItems<'_>) -> Result<Option<u64>, Self::Error> {
        // The item before them was an `output`, which did the bookkeeping.
        self.inner.snapshot_items(items).map_err(GuardError::Handler)
    }

    fn flush(&mut self) -> Result<Option<u64>, Self::Error> {
        self.inner.flush().map_err(GuardError::Handler)
    }

    fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), Self::Error> {
        *self.checkpoint = Some(*checkpoint);
        self.inner.checkpoint(checkpoint).map_err(GuardError::Handler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter() {
        let b = Backoff::default();
        for (failures, base_ms) in [(1, 100), (2, 200), (3, 400), (9, 25_600), (10, 30_000), (40, 30_000)] {
            for _ in 0..20 {
                let d = b.delay(failures).as_millis() as u64;
                assert!(d >= base_ms / 2 && d <= base_ms, "attempt {failures}: {d} ms");
            }
        }
    }

    #[test]
    fn configuration_is_checked_up_front() {
        let none = SessionConfig { sources: vec![], ..SessionConfig::default() };
        assert!(matches!(Session::new(none), Err(Error::NoSources)));
        let tls = SessionConfig {
            sources: vec![Source::parse("rediss://h").unwrap()],
            tls: TlsOptions { ca_file: Some("/nonexistent/ca.pem".into()), ..TlsOptions::default() },
            ..SessionConfig::default()
        };
        let err = Session::new(tls).err().expect("an unreadable CA file");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
