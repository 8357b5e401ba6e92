//! The Redis or Valkey target (`--sink redis://…`): live migration into another server.
//!
//! [`RedisSink`] takes RESP commands (whole commands, as `event::RespStreamWriter` writes the
//! snapshot's rebuild commands and then the stream's own) with the replication offset they
//! complete, and writes them to the target pipelined. The delivered offset is the last one
//! whose commands the target has answered, so the checkpoint and the master's `REPLCONF ACK`
//! follow what the target applied, not what was sent.
//!
//! - **Bounded.** At most [`RedisConfig::max_in_flight_bytes`] are queued or unanswered; past
//!   that, [`RedisSink::send_commands`] waits. A slow target slows the follower down and the
//!   master's output buffer grows, not redtail's memory.
//! - **Refusals** (`OOM`, `READONLY`, `WRONGTYPE`, …): with [`ErrorPolicy::Fail`] the sink stops
//!   with an error naming the command, its key and the offset delivered before it; with
//!   [`ErrorPolicy::Skip`] it logs a warning and goes on, counting them.
//! - **A lost connection** is reopened with capped backoff (up to
//!   [`RedisConfig::max_reconnects`] attempts in a row), and every unanswered command is
//!   written again, in order, after a `SELECT` of the db in effect there; a transaction whose
//!   `EXEC` was not answered is written again whole. At least once: a command the target
//!   applied just before the loss, whose reply was lost, is applied twice (harmless for `SET`,
//!   not for `INCR` or `RPUSH`).
//! - **A restart** from the checkpoint replays the commands after it: the same caveat.
//!
//! The connection runs on a thread of its own (see `pump`), so the replication side decodes
//! while the target works.

mod commands;
mod connection;
mod in_flight;
mod pump;
mod redirected;
mod target_info;

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use replica::{Backoff, Source, TlsOptions};
use tokio::sync::Notify;

pub(crate) use commands::describe;
pub use in_flight::Refusal;
pub(crate) use redirected::Redirected;
pub use target_info::{Product, TargetInfo};

use crate::error::Error;
use in_flight::InFlight;
use pump::{Piece, Shared, State};

/// What to do when the target answers a command with an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ErrorPolicy {
    /// Stop: the checkpoint stays before the refused command.
    #[default]
    Fail,
    /// Log it, count it, and go on.
    Skip,
}

/// Where and how to write.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// The target, parsed like a source (`redis://`, `rediss://`, `unix://`); its password
    /// never appears in messages.
    pub target: Source,
    /// Used when the target asks for TLS.
    pub tls: TlsOptions,
    pub on_error: ErrorPolicy,
    /// The window: bytes queued or written and not yet answered.
    pub max_in_flight_bytes: usize,
    pub connect_timeout: Duration,
    pub backoff: Backoff,
    /// Give up after this many failed reconnection attempts in a row.
    pub max_reconnects: u32,
    /// How long [`crate::Sink::flush`] and [`RedisSink::wait_delivered`] wait for the target.
    pub flush_timeout: Duration,
}

impl RedisConfig {
    /// From `redis://[[user]:password@]host[:port]`, `rediss://…` or `unix:///path`.
    pub fn from_url(url: &str) -> Result<RedisConfig, Error> {
        let target = Source::parse(url).map_err(|e| Error::RedisConfig { reason: e.to_string() })?;
        if target.db.is_some() {
            return Err(Error::RedisConfig {
                reason: "the target URL takes no /db: each command goes to the db it has on the source".into(),
            });
        }
        Ok(RedisConfig {
            target,
            tls: TlsOptions::default(),
            on_error: ErrorPolicy::Fail,
            max_in_flight_bytes: 32 << 20,
            connect_timeout: Duration::from_secs(10),
            backoff: Backoff::default(),
            max_reconnects: 10,
            flush_timeout: Duration::from_secs(60),
        })
    }
}

/// At-least-once delivery into a Redis or Valkey server; see the module documentation.
pub struct RedisSink {
    shared: Arc<Shared>,
    info: TargetInfo,
    keys_at_start: u64,
    address: String,
    max_bytes: usize,
    flush_timeout: Duration,
}

impl RedisSink {
    /// Connects (within `config.connect_timeout`), authenticates and reads the target's
    /// version, then starts the connection's thread. `start` is the offset already delivered
    /// (the checkpoint's).
    pub fn connect(config: RedisConfig, start: u64) -> Result<RedisSink, Error> {
        Self::open(config, start, false)
    }

    /// [`RedisSink::connect`] to a cluster node: redirections are handed to the cluster sink
    /// ([`RedisSink::take_redirects`]) instead of stopping the stream.
    pub(crate) fn connect_node(config: RedisConfig, start: u64) -> Result<RedisSink, Error> {
        Self::open(config, start, true)
    }

    fn open(config: RedisConfig, start: u64, follow_redirects: bool) -> Result<RedisSink, Error> {
        let address = config.target.address.to_string();
        let unreachable = |reason: String| Error::RedisUnreachable { address: address.clone(), reason };
        let tls = match config.target.tls {
            true => Some(config.tls.client_config().map_err(|e| Error::RedisConfig { reason: e.to_string() })?),
            false => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unreachable(format!("cannot start the target's runtime: {e}")))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                to_write: VecDeque::new(),
                queued_bytes: 0,
                in_flight: InFlight::new(start, config.on_error).following_redirects(follow_redirects),
                failure: None,
                stopped: false,
                closing: false,
                abandon: false,
                reconnects: 0,
            }),
            changed: Condvar::new(),
            work: Notify::new(),
        });
        let (max_bytes, flush_timeout) = (config.max_in_flight_bytes.max(1), config.flush_timeout);
        let pump_shared = Arc::clone(&shared);
        // The first connection is opened on the thread too (the caller may itself be on a
        // runtime, where another cannot block), and reported back before anything is sent.
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("redtail-target".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match connection::open(&config, tls.as_ref(), 0).await {
                        Ok(opened) => {
                            let _ = opened_tx.send(Ok((opened.info, opened.keys)));
                            pump::run(pump_shared, config, tls, opened.conn).await;
                        }
                        Err(e) => {
                            let _ = opened_tx.send(Err(e.reason));
                        }
                    }
                })
            })
            .map_err(|e| unreachable(format!("cannot start the target's thread: {e}")))?;
        let (info, keys_at_start) =
            opened_rx.recv().map_err(|_| unreachable("the target's thread stopped".into()))?.map_err(unreachable)?;
        tracing::info!(target_address = %address, server = %info, keys = keys_at_start, "connected to the target");
        Ok(RedisSink { shared, info, keys_at_start, address, max_bytes, flush_timeout })
    }

    /// The target's product and version, to choose what the snapshot may use.
    pub fn target(&self) -> &TargetInfo {
        &self.info
    }

    /// How many keys the target held when connected.
    pub fn keys_at_start(&self) -> u64 {
        self.keys_at_start
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Commands refused and skipped so far.
    pub fn skipped(&self) -> u64 {
        self.shared.lock().in_flight.skipped()
    }

    /// Whether the node redirected commands that [`RedisSink::take_redirects`] has not taken.
    pub(crate) fn has_redirects(&self) -> bool {
        self.shared.lock().in_flight.has_redirects()
    }

    /// The commands the node redirected, in reply order, and the offset delivered before the
    /// first of them, which the caller must hold until it has applied them elsewhere.
    pub(crate) fn take_redirects(&self) -> (Vec<Redirected>, Option<u64>) {
        self.shared.lock().in_flight.take_redirects()
    }

    /// The offset the target has acknowledged, without waiting.
    pub fn acknowledged(&self) -> u64 {
        self.shared.lock().in_flight.delivered()
    }

    /// Reconnections to the target so far.
    pub fn reconnects(&self) -> u64 {
        self.shared.lock().reconnects
    }

    /// Queues whole commands, waiting while the window is full. They complete no offset of
    /// their own (a snapshot's commands); [`RedisSink::mark`] says where the stream stands.
    pub fn send_commands(&mut self, commands: &[u8]) -> Result<(), Error> {
        if commands.is_empty() {
            return Ok(());
        }
        let len = commands.len();
        let mut state = self.shared.lock();
        loop {
            self.check(&mut state)?;
            let used = state.queued_bytes + state.in_flight.bytes();
            // One command larger than the window still goes, alone.
            if used == 0 || used + len <= self.max_bytes {
                break;
            }
            state = self.shared.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.queued_bytes += len;
        state.to_write.push_back(Piece::Commands(Bytes::copy_from_slice(commands)));
        drop(state);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Everything queued so far completes the stream up to `offset`.
    pub fn mark(&mut self, offset: u64) -> Result<(), Error> {
        let mut state = self.shared.lock();
        self.check(&mut state)?;
        state.to_write.push_back(Piece::Offset(offset));
        drop(state);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Waits (at most the flush timeout) until the target has answered everything queued, and
    /// returns the delivered offset.
    pub fn wait_delivered(&mut self) -> Result<u64, Error> {
        let deadline = Instant::now() + self.flush_timeout;
        let mut state = self.shared.lock();
        loop {
            self.check(&mut state)?;
            if state.to_write.is_empty() && state.in_flight.is_empty() {
                return Ok(state.in_flight.delivered());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::RedisFlushTimeout {
                    address: self.address.clone(),
                    waited: self.flush_timeout,
                    delivered: state.in_flight.delivered(),
                });
            }
            state = self.shared.changed.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Reports a failure of the connection (a refused command, a lost target) that happened
    /// since the last call, without waiting.
    pub fn poll(&mut self) -> Result<(), Error> {
        let mut state = self.shared.lock();
        self.check(&mut state)
    }

    /// The pump's failure, once; after that, that it has stopped.
    fn check(&self, state: &mut State) -> Result<(), Error> {
        if let Some(e) = state.failure.take() {
            return Err(e);
        }
        if state.stopped {
            return Err(Error::RedisStopped { address: self.address.clone() });
        }
        Ok(())
    }
}

impl Drop for RedisSink {
    /// Stops the connection's thread without waiting for the target: what was not delivered
    /// is not in the checkpoint either.
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closing = true;
        state.abandon = true;
        drop(state);
        self.shared.work.notify_one();
    }
}

/// The [`Sink`] of a Redis target, a server or a cluster: each record is whole commands, a
/// batch's end is a mark, and the inherent `send_commands`, `mark`, `wait_delivered` and
/// `acknowledged` do the work.
macro_rules! command_sink {
    ($target:ty) => {
        impl $crate::Sink for $target {
            type Record = Vec<u8>;

            fn send(&mut self, batch: $crate::Batch<Vec<u8>>) -> Result<(), $crate::Error> {
                for commands in &batch.records {
                    self.send_commands(commands)?;
                }
                self.mark(batch.end_offset)
            }

            fn flush(&mut self) -> Result<u64, $crate::Error> {
                self.wait_delivered()
            }

            fn delivered(&self) -> u64 {
                self.acknowledged()
            }
        }
    };
}
pub(crate) use command_sink;

command_sink!(RedisSink);
