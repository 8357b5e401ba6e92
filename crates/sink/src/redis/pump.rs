//! The target connection's own thread: takes the pieces the producer queued, writes them
//! pipelined, reads the replies, and keeps the acknowledged offset in the shared state. It
//! runs a current-thread tokio runtime so the writing and the reading overlap, and so the
//! producer (the replication handler, on another thread) decodes while the target works.
//!
//! When the connection is lost it reconnects with capped backoff and writes again every
//! command not yet answered, from a `SELECT` of the db in effect there (at least once: a
//! command the target applied just before the loss, unanswered, is applied twice).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use replica::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Notify;

use super::commands::split;
use super::connection::open;
use super::in_flight::InFlight;
use super::RedisConfig;
use crate::error::Error;

/// What the producer hands over, in order.
pub(super) enum Piece {
    /// Whole commands.
    Commands(Bytes),
    /// Everything before this completes the stream up to the offset.
    Offset(u64),
}

pub(super) struct State {
    pub to_write: VecDeque<Piece>,
    /// Bytes in `to_write`; with the in-flight bytes, what the window bounds.
    pub queued_bytes: usize,
    pub in_flight: InFlight,
    /// Why the pump stopped, until the producer hears it.
    pub failure: Option<Error>,
    /// The pump has stopped (after a failure, or once closed and drained).
    pub stopped: bool,
    /// The producer is done: deliver what is queued, then stop. Or, with `abandon`, stop now.
    pub closing: bool,
    pub abandon: bool,
    pub reconnects: u64,
}

/// The state, the producer's wake-up (room in the window, an offset acknowledged, a failure)
/// and the pump's (new pieces, closing).
pub(super) struct Shared {
    pub state: Mutex<State>,
    pub changed: Condvar,
    pub work: Notify,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on the pump thread while holding the lock leaves consistent data (every
        // update is a few assignments); carry on and let the failure surface.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How one connection ended.
enum Stop {
    /// Closed and everything answered.
    Done,
    /// Lost (to be reopened), with the reason.
    Lost(String),
    /// For good.
    Failed(Error),
}

/// Runs until closed or failed; `conn` is the first connection, opened before so that an
/// unreachable target is reported before anything starts.
pub(super) async fn run(
    shared: Arc<Shared>,
    config: RedisConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    mut conn: Connection,
) {
    let address = config.target.address.to_string();
    loop {
        let stop = serve(&mut conn, &shared, &address).await;
        let error = match stop {
            Stop::Done => None,
            Stop::Failed(e) => Some(e),
            Stop::Lost(reason) => {
                tracing::warn!(target_address = %address, %reason, "lost the connection to the target; reconnecting");
                match reopen(&shared, &config, tls.as_ref(), &address, reason).await {
                    Ok(c) => {
                        conn = c;
                        continue;
                    }
                    Err(e) => e,
                }
            }
        };
        let mut state = shared.lock();
        state.stopped = true;
        state.failure = error;
        drop(state);
        shared.changed.notify_all();
        return;
    }
}

async fn reopen(
    shared: &Shared,
    config: &RedisConfig,
    tls: Option<&Arc<rustls::ClientConfig>>,
    address: &str,
    mut reason: String,
) -> Result<Connection, Option<Error>> {
    for attempt in 1..=config.max_reconnects {
        tokio::time::sleep(config.backoff.delay(attempt)).await;
        let db = {
            let mut state = shared.lock();
            if state.abandon {
                return Err(None);
            }
            state.reconnects += 1;
            state.in_flight.resend().0
        };
        match open(config, tls, db).await {
            Ok(opened) => {
                tracing::info!(target_address = %address, attempt, "reconnected to the target");
                return Ok(opened.conn);
            }
            Err(e) if e.retry => reason = e.reason,
            Err(e) => return Err(Some(Error::RedisUnreachable { address: address.to_string(), reason: e.reason })),
        }
    }
    let delivered = shared.lock().in_flight.delivered();
    Err(Some(Error::RedisLost { address: address.to_string(), attempts: config.max_reconnects, reason, delivered }))
}

async fn serve(conn: &mut Connection, shared: &Shared, address: &str) -> Stop {
    let (reader, writer) = tokio::io::split(conn);
    tokio::select! {
        stop = write_loop(writer, shared) => stop,
        stop = read_loop(reader, shared, address) => stop,
    }
}

async fn write_loop(mut w: WriteHalf<&mut Connection>, shared: &Shared) -> Stop {
    let lost = |e: std::io::Error| Stop::Lost(format!("writing: {e}"));
    let resend = shared.lock().in_flight.resend().1;
    for command in resend {
        if let Err(e) = w.write_all(&command).await {
            return lost(e);
        }
    }
    loop {
        let piece = {
            let mut state = shared.lock();
            loop {
                match state.to_write.pop_front() {
                    Some(Piece::Offset(offset)) => {
                        state.in_flight.mark(offset);
                        shared.changed.notify_all();
                    }
                    Some(Piece::Commands(bytes)) => {
                        state.queued_bytes -= bytes.len();
                        break Some(bytes);
                    }
                    None => break None,
                }
            }
        };
        match piece {
            Some(bytes) => {
                // Split outside the lock: the producer may queue meanwhile.
                let mut commands = Vec::new();
                if let Err(e) = split(&bytes, |c, k| commands.push((c, k))) {
                    return Stop::Failed(e);
                }
                {
                    let mut state = shared.lock();
                    for (command, kind) in commands {
                        state.in_flight.push(command, kind);
                    }
                }
                if let Err(e) = w.write_all(&bytes).await {
                    return lost(e);
                }
            }
            None => {
                if let Err(e) = w.flush().await {
                    return lost(e);
                }
                {
                    let state = shared.lock();
                    if state.abandon || (state.closing && state.in_flight.is_empty()) {
                        return Stop::Done;
                    }
                }
                shared.work.notified().await;
            }
        }
    }
}

async fn read_loop(mut r: ReadHalf<&mut Connection>, shared: &Shared, address: &str) -> Stop {
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut decoder = resp::Decoder::default();
    loop {
        match r.read_buf(&mut buf).await {
            Ok(0) => return Stop::Lost("the target closed the connection".into()),
            Ok(_) => {}
            Err(e) => return Stop::Lost(format!("reading: {e}")),
        }
        let mut state = shared.lock();
        loop {
            let frame = match decoder.decode(&mut buf) {
                Ok(Some((resp::Item::Frame(frame), _))) => frame,
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => return Stop::Failed(protocol(address, e.to_string())),
            };
            match state.in_flight.reply(frame) {
                Ok(skipped) => {
                    for r in skipped {
                        tracing::warn!(
                            command = %r.command,
                            key = r.key.as_deref().unwrap_or(""),
                            reply = %r.reply,
                            "the target refused a command; skipped (--on-target-error skip)"
                        );
                    }
                }
                Err(Ok(refusal)) => {
                    return Stop::Failed(Error::RedisRefused {
                        address: address.to_string(),
                        command: refusal.command,
                        key: refusal.key,
                        reply: refusal.reply,
                        delivered: refusal.delivered,
                    })
                }
                Err(Err(unexpected)) => return Stop::Failed(protocol(address, unexpected.0)),
            }
        }
        let done = state.closing && state.to_write.is_empty() && state.in_flight.is_empty();
        drop(state);
        shared.changed.notify_all();
        if done {
            shared.work.notify_one();
        }
    }
}

fn protocol(address: &str, reason: String) -> Error {
    Error::RedisProtocol { address: address.to_string(), reason }
}
