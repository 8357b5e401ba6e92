//! [`Replica`]: the replication protocol as a state machine that owns no socket.
//!
//! The driver moves bytes and time in and out, nothing else:
//! - bytes read from the master go to [`Replica::receive`];
//! - [`Replica::poll_output`] is called until it returns `None`; each [`Output`] is bytes to
//!   write, a snapshot event, a command, or news (`Continue`, `Resync`, …);
//! - when [`Replica::poll_timeout`] passes, [`Replica::handle_timeout`] is called;
//! - the sink's progress goes to [`Replica::ack_delivered`], and
//!   [`Replica::checkpoint`] says what to save.
//!
//! One `Replica` serves one connection. To reconnect, make a new one that resumes from the
//! last checkpoint.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use resp::{Decoded, Frame, Item};

use crate::config::{AckPolicy, Checkpoint, Config, Start};
use crate::error::Error;
use crate::handshake::{self, PsyncReply, Reply, Step};
use crate::id::ReplId;
use crate::output::{Command, CommandKind, Output, Transmit};
use crate::position::Position;
use crate::snapshot::{self, Framing, Header, Snapshot, MARK_LEN};

/// Where the connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the reply to `PING`.
    Ping,
    /// Waiting for the replies to `AUTH` and `REPLCONF`.
    Handshake,
    /// Waiting for the reply to `PSYNC`.
    Psync,
    /// Receiving the snapshot (its header, the RDB, or the diskless end mark).
    Snapshot,
    /// Following the command stream.
    Stream,
    /// An error was returned; nothing more will happen on this connection.
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Ping => "the handshake (PING)",
            Phase::Handshake => "the handshake (AUTH/REPLCONF)",
            Phase::Psync => "the handshake (PSYNC)",
            Phase::Snapshot => "the snapshot transfer",
            Phase::Stream => "the command stream",
            Phase::Failed => "a failed connection",
        }
    }
}

enum State {
    Ping,
    Handshake(VecDeque<Step>),
    Psync,
    SnapshotHeader {
        offset: u64,
    },
    SnapshotBody(Box<Snapshot>),
    /// The RDB of a diskless transfer has ended; its 40-byte end mark comes next.
    SnapshotMark {
        offset: u64,
        mark: [u8; MARK_LEN],
        rdb_len: u64,
        stream_db: Option<u64>,
    },
    Stream,
}

/// What one step of work produced.
enum Next {
    /// Outputs may have been queued; go on.
    Continue,
    Emit(Output<'static>),
    /// The snapshot parser holds an event; hand it out by borrowing.
    SnapshotEvent,
    /// `Replica::command` holds a stream command; hand it out by borrowing.
    Command,
    NeedInput,
}

pub struct Replica {
    config: Config,
    state: State,
    input: BytesMut,
    /// Replies of the handshake.
    resp: resp::Decoder,
    /// The command stream: its fast path for arrays of bulk strings.
    commands: resp::CommandDecoder,
    /// The last stream command decoded. It is lent out rather than moved out: the driver
    /// handles every command at once, so one `Command` is refilled in place (its argument
    /// vector too), where moving a new one through each layer cost a copy of it per layer.
    command: Command,
    queue: VecDeque<Output<'static>>,
    failed: Option<Error>,
    last_input_at: Instant,
    replid: Option<ReplId>,
    replid2: Option<(ReplId, u64)>,
    pos: Option<Position>,
    /// When the last `REPLCONF ACK` went out, and what it said.
    last_ack: Option<(Instant, u64)>,
    /// How many more ACKs go out after the busy interval even if the offset has not moved.
    /// The ACK sent right after a diskless transfer can reach the master before it has put the
    /// replica online, which it does only once it has reaped the child that sent the RDB; until
    /// then `replconfCommand` ignores the ACK (`repl_start_cmd_stream_on_ack` needs
    /// `SLAVE_STATE_ONLINE`). Without more ACKs soon, the stream would wait for the idle one, a
    /// second later. Seen with redis 7.0 on loopback; 3.2 and 5.0 can take longer than one busy
    /// interval to reap, so they go on until the stream's first bytes arrive (or these run out).
    ack_soon: u8,
    /// Everything received has been handed out and the master has sent nothing since (the
    /// driver's read would wait): a burst has ended. See [`Replica::input_idle`].
    idle: bool,
}

/// How soon after the last ACK the end of a burst is acknowledged. Not at once: under a steady
/// pipelined load the socket runs dry between most reads, and an ACK for each would cost a
/// write for the replica and a command for the master every few hundred microseconds.
const BURST_END_ACK_GAP: Duration = Duration::from_millis(10);

/// The ACKs after a diskless transfer sent a busy interval apart until the master streams (see
/// `Replica::ack_soon`): two seconds at the default interval, then the idle pace.
const DISKLESS_FAST_ACKS: u8 = 20;

impl Replica {
    /// Starts a handshake on a fresh connection: the first output is `PING`.
    pub fn new(config: Config, now: Instant) -> Replica {
        let resp = resp::Decoder::new(config.resp_limits);
        let mut replica = Replica {
            state: State::Ping,
            input: BytesMut::with_capacity(64 << 10),
            resp,
            commands: resp::CommandDecoder::new(config.resp_limits),
            command: Command {
                kind: CommandKind::Data,
                db: None,
                args: Vec::new(),
                start_offset: 0,
                end_offset: 0,
                replid: ReplId::parse(&[b'0'; 40]).expect("40 hex digits"),
                tx: None,
            },
            config,
            queue: VecDeque::new(),
            failed: None,
            last_input_at: now,
            replid: None,
            replid2: None,
            pos: None,
            last_ack: None,
            ack_soon: 0,
            idle: false,
        };
        replica.transmit(resp::encode_command(&["PING"]));
        replica
    }

    /// Bytes read from the master.
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        self.input.extend_from_slice(data);
        self.mark_received(now);
    }

    /// The input buffer, for a driver that reads straight into it (`read_buf`); call
    /// [`Replica::mark_received`] after a read that returned data.
    pub fn input_buffer(&mut self) -> &mut BytesMut {
        &mut self.input
    }

    pub fn mark_received(&mut self, now: Instant) {
        self.last_input_at = now;
        self.idle = false;
        if matches!(self.state, State::Stream) {
            // The master is streaming: it has put this replica online.
            self.ack_soon = 0;
        }
    }

    /// The driver has handed out every output and flushed the handler, and the master has sent
    /// nothing more yet (a read would wait). The delivered offset, if it moved, is then
    /// acknowledged within a few milliseconds rather than the busy interval: the master sees
    /// the end of a burst at once, while a steady stream is still acknowledged only every
    /// busy interval. Call [`Replica::poll_output`] after it for the ACK.
    pub fn input_idle(&mut self) {
        self.idle = true;
    }

    /// The error to report when the master closes the connection (a read returned 0).
    pub fn connection_closed(&mut self) -> Error {
        let err = Error::Closed { phase: self.phase().as_str() };
        self.failed.get_or_insert(err).clone()
    }

    /// The sink has durably delivered everything up to `offset` (a command's `end_offset`,
    /// or the `SnapshotEnd` offset). Drives `REPLCONF ACK` under [`AckPolicy::Delivered`] and
    /// [`Replica::checkpoint`].
    pub fn ack_delivered(&mut self, offset: u64) {
        if let Some(pos) = &mut self.pos {
            pos.deliver(offset);
        }
    }

    /// When the driver should call [`Replica::handle_timeout`] (and poll) at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failed.is_some() {
            return None;
        }
        let dead = self.last_input_at + self.config.read_timeout;
        Some(self.ack_due().map_or(dead, |due| due.min(dead)))
    }

    /// Time has passed: fails the connection if the master has been silent too long. (ACKs
    /// that fall due are sent by the next [`Replica::poll_output`].)
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.failed.is_none() && now >= self.last_input_at + self.config.read_timeout {
            self.failed = Some(Error::Timeout { phase: self.phase().as_str(), after: now - self.last_input_at });
        }
    }

    /// The next thing to do. `Ok(None)`: nothing until more input arrives or the timeout
    /// passes. After an error, the connection is finished and the same error is returned
    /// again.
    pub fn poll_output(&mut self, now: Instant) -> Result<Option<Output<'_>>, Error> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        loop {
            if let Some(out) = self.queue.pop_front() {
                return Ok(Some(out));
            }
            if let Some(ack) = self.ack_if_due(now) {
                return Ok(Some(Output::Transmit(ack)));
            }
            match self.step(now) {
                Ok(Next::Continue) => continue,
                Ok(Next::Emit(out)) => return Ok(Some(out)),
                Ok(Next::NeedInput) => return Ok(None),
                Ok(Next::SnapshotEvent) => {
                    // Borrowed on a path that always returns, so the loop never sees it.
                    return Ok(match &self.state {
                        State::SnapshotBody(snap) => Some(Output::Snapshot(snap.parser.event())),
                        _ => None,
                    });
                }
                Ok(Next::Command) => return Ok(Some(Output::Command(&self.command))),
                Err(err) => {
                    self.failed = Some(err.clone());
                    return Err(err);
                }
            }
        }
    }

    pub fn phase(&self) -> Phase {
        if self.failed.is_some() {
            return Phase::Failed;
        }
        match self.state {
            State::Ping => Phase::Ping,
            State::Handshake(_) => Phase::Handshake,
            State::Psync => Phase::Psync,
            State::SnapshotHeader { .. } | State::SnapshotBody(_) | State::SnapshotMark { .. } => Phase::Snapshot,
            State::Stream => Phase::Stream,
        }
    }

    pub fn replid(&self) -> Option<ReplId> {
        self.replid
    }

    /// The previous replication ID and the first offset that belongs to the current one,
    /// after a `+CONTINUE <newid>` (a failover).
    pub fn replid2(&self) -> Option<(ReplId, u64)> {
        self.replid2
    }

    /// The offset after the last complete frame received.
    pub fn received_offset(&self) -> Option<u64> {
        self.pos.as_ref().map(|p| p.received)
    }

    /// The offset `REPLCONF ACK` reports under the configured [`AckPolicy`].
    pub fn ack_offset(&self) -> Option<u64> {
        self.pos.as_ref().map(Position::ack_offset)
    }

    /// The db selected after the last frame received.
    pub fn db(&self) -> Option<u64> {
        self.pos.as_ref().and_then(|p| p.db)
    }

    /// Right after an [`Output::Snapshot`] item, the items of the same key that are ready to
    /// follow it ([`rdb::Parser::ready_items`]), for the driver to hand over in one call
    /// ([`crate::Handler::snapshot_items`]) rather than as one output each; the next
    /// [`Replica::poll_output`] continues after them. `None` when there are none.
    pub fn snapshot_ready_items(&mut self) -> Option<rdb::ReadyItems<'_>> {
        match &mut self.state {
            State::SnapshotBody(snap) => snap.parser.ready_items(),
            _ => None,
        }
    }

    /// Snapshot bytes decoded so far and the total, when it is known.
    pub fn snapshot_progress(&self) -> Option<(u64, Option<u64>)> {
        match &self.state {
            State::SnapshotBody(snap) => Some((
                snap.parser.offset(),
                match snap.framing {
                    Framing::Sized { len, .. } => Some(len),
                    Framing::Diskless { .. } => None,
                },
            )),
            _ => None,
        }
    }

    /// Where a later connection can resume without loss: the acknowledged offset, and the db
    /// in effect there. `None` until there is such a point (during a full sync, until the
    /// snapshot is delivered under [`AckPolicy::Delivered`]).
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        let pos = self.pos.as_ref()?;
        if self.config.ack_policy == AckPolicy::Delivered && !pos.has_delivered() {
            return None;
        }
        let offset = pos.ack_offset();
        Some(Checkpoint { replid: self.replid?, offset, db: pos.db_at(offset) })
    }

    fn transmit(&mut self, bytes: Bytes) {
        self.queue.push_back(Output::Transmit(Transmit(bytes)));
    }

    fn ack_frame(offset: u64) -> Transmit {
        Transmit(resp::encode_command(&[&b"REPLCONF"[..], b"ACK", offset.to_string().as_bytes()]))
    }

    /// Acks go out every `ack_idle_interval` as a heartbeat, `ack_busy_interval` after the
    /// acknowledged offset moves, and sooner once a burst has ended ([`Replica::input_idle`]).
    fn ack_due(&self) -> Option<Instant> {
        let (at, sent) = self.last_ack?;
        let current = self.pos.as_ref()?.ack_offset();
        let wait = if current != sent && self.idle {
            self.config.ack_busy_interval.min(BURST_END_ACK_GAP)
        } else if current != sent || self.ack_soon > 0 {
            self.config.ack_busy_interval
        } else {
            self.config.ack_idle_interval
        };
        Some(at + wait)
    }

    fn ack_if_due(&mut self, now: Instant) -> Option<Transmit> {
        if !matches!(self.state, State::Stream) || now < self.ack_due()? {
            return None;
        }
        let offset = self.pos.as_ref()?.ack_offset();
        self.last_ack = Some((now, offset));
        self.ack_soon = self.ack_soon.saturating_sub(1);
        Some(Self::ack_frame(offset))
    }

    fn step(&mut self, now: Instant) -> Result<Next, Error> {
        match self.state {
            State::Ping | State::Handshake(_) | State::Psync => self.step_handshake(now),
            State::SnapshotHeader { offset } => self.step_snapshot_header(offset),
            State::SnapshotBody(_) => self.step_snapshot_body(),
            State::SnapshotMark { .. } => self.step_snapshot_mark(now),
            State::Stream => self.step_stream(now),
        }
    }

    /// The next reply of the handshake, skipping the `\n` keepalives a master may send
    /// before answering `PSYNC`.
    fn next_reply(&mut self, during: &'static str) -> Result<Option<Reply>, Error> {
        loop {
            match self.resp.decode(&mut self.input).map_err(|source| Error::Resp { during, source })? {
                None => return Ok(None),
                Some((Item::EmptyLine, _)) => continue,
                Some((Item::Inline(line), _)) => {
                    return Err(Error::UnexpectedReply { during, got: handshake::quote(&line) });
                }
                Some((Item::Frame(frame), _)) => return Reply::from_frame(frame, during).map(Some),
            }
        }
    }

    fn step_handshake(&mut self, now: Instant) -> Result<Next, Error> {
        let during = match self.state {
            State::Ping => "PING",
            State::Psync => "PSYNC",
            _ => "the handshake",
        };
        let Some(reply) = self.next_reply(during)? else { return Ok(Next::NeedInput) };
        match std::mem::replace(&mut self.state, State::Psync) {
            State::Ping => {
                if let Reply::Err(e) = reply {
                    if handshake::is_not_ready(&e) {
                        return Err(Error::NotReady { reply: e });
                    }
                    if !handshake::needs_auth(&e) {
                        return Err(Error::PingRefused { reply: e });
                    }
                    if self.config.auth.is_none() {
                        return Err(Error::AuthRequired { reply: e });
                    }
                }
                let (bytes, steps) = handshake::pipeline(&self.config);
                self.transmit(bytes);
                self.state = State::Handshake(steps);
            }
            State::Handshake(mut steps) => {
                let step = steps.pop_front();
                if let Reply::Err(e) = reply {
                    match step {
                        Some(Step::Auth) => {
                            let auth = self.config.auth.as_ref();
                            return Err(Error::Auth {
                                user: auth.and_then(|a| a.user.clone()),
                                reply: handshake::redact(&e, auth),
                            });
                        }
                        Some(Step::ListeningPort) => {
                            self.warn(format!("the master refused REPLCONF listening-port: {e}"))
                        }
                        Some(Step::IpAddress) => self.warn(format!("the master refused REPLCONF ip-address: {e}")),
                        Some(Step::Capa) => self.warn(format!(
                            "the master refused REPLCONF capa ({e}); it predates Redis 3.2, so transfers are disk-based"
                        )),
                        // Only Valkey knows `REPLCONF version`; others refuse it.
                        Some(Step::Version) | None => {}
                    }
                }
                if steps.is_empty() {
                    let [replid, offset] = self.config.start.psync_args();
                    self.transmit(resp::encode_command(&["PSYNC", &replid, &offset]));
                    self.state = State::Psync;
                } else {
                    self.state = State::Handshake(steps);
                }
            }
            _ => match handshake::parse_psync(reply)? {
                PsyncReply::FullResync { replid, offset } => {
                    self.replid = Some(replid);
                    if let Start::Resume(_) = self.config.start {
                        self.queue.push_back(Output::Resync { replid, offset });
                    }
                    self.state = State::SnapshotHeader { offset };
                }
                PsyncReply::Continue { replid } => {
                    let Start::Resume(cp) = self.config.start else {
                        return Err(Error::UnexpectedReply { during: "PSYNC ? -1", got: "+CONTINUE".into() });
                    };
                    let current = match replid {
                        Some(new) if new != cp.replid => {
                            // A failover: the old ID stays valid up to where the new one starts
                            // (src/replication.c:2527-2568).
                            self.replid2 = Some((cp.replid, cp.offset + 1));
                            new
                        }
                        _ => cp.replid,
                    };
                    self.replid = Some(current);
                    self.queue.push_back(Output::Continue { replid: current, offset: cp.offset });
                    self.start_stream(cp.offset, cp.db, true, false, now);
                }
            },
        }
        Ok(Next::Continue)
    }

    fn warn(&mut self, message: String) {
        self.queue.push_back(Output::Warning(message));
    }

    fn step_snapshot_header(&mut self, offset: u64) -> Result<Next, Error> {
        loop {
            let Some(lf) = self.input.iter().take(snapshot::MAX_HEADER + 2).position(|&b| b == b'\n') else {
                if self.input.len() > snapshot::MAX_HEADER {
                    return Err(Error::BadSnapshotHeader { line: handshake::quote(&self.input) });
                }
                return Ok(Next::NeedInput);
            };
            let line = self.input.split_to(lf + 1);
            let line = line.strip_suffix(b"\r\n").or_else(|| line.strip_suffix(b"\n")).unwrap_or(&line);
            match snapshot::parse_header(line)? {
                Header::Keepalive => continue,
                Header::Framing(framing) => {
                    let size = match framing {
                        Framing::Sized { len, .. } => Some(len),
                        Framing::Diskless { .. } => None,
                    };
                    let replid = self.replid.ok_or(Error::BadSnapshotHeader { line: "(no FULLRESYNC)".into() })?;
                    let snap = Snapshot::new(framing, offset, self.config.rdb_options.clone());
                    self.state = State::SnapshotBody(Box::new(snap));
                    return Ok(Next::Emit(Output::SnapshotBegin { replid, offset, size }));
                }
            }
        }
    }

    fn step_snapshot_body(&mut self) -> Result<Next, Error> {
        let State::SnapshotBody(snap) = &mut self.state else { return Ok(Next::Continue) };
        loop {
            let polled = snap.parser.poll().map_err(|e| match (snap.framing, &e.kind) {
                // The parser knows the declared length and stops at it.
                (Framing::Sized { len, .. }, rdb::ErrorKind::Truncated) => {
                    Error::SnapshotTruncated { declared: len, rdb_offset: e.offset }
                }
                _ => Error::Rdb(e),
            })?;
            match polled {
                rdb::Poll::Event => {
                    snap.inspect();
                    return Ok(Next::SnapshotEvent);
                }
                rdb::Poll::Done => break,
                rdb::Poll::NeedMore => match &mut snap.framing {
                    Framing::Sized { len, fed } => {
                        let n = (*len - *fed).min(self.input.len() as u64) as usize;
                        if n == 0 {
                            if *fed == *len {
                                return Err(Error::SnapshotTruncated {
                                    declared: *len,
                                    rdb_offset: snap.parser.offset(),
                                });
                            }
                            return Ok(Next::NeedInput);
                        }
                        snap.parser.feed(&self.input[..n]);
                        self.input.advance(n);
                        *fed += n as u64;
                    }
                    Framing::Diskless { .. } => {
                        if self.input.is_empty() {
                            return Ok(Next::NeedInput);
                        }
                        snap.parser.feed(&self.input);
                        self.input.clear();
                    }
                },
            }
        }
        // The RDB is complete (and its checksum verified by the parser).
        let rdb_len = snap.parser.offset();
        let after = snap.parser.buffered();
        match snap.framing {
            Framing::Sized { len, fed } => {
                let extra = (len - fed) + after.len() as u64;
                if extra > 0 {
                    return Err(Error::TrailingGarbage {
                        rdb_len,
                        declared: Some(len),
                        found: format!("{extra} more bytes follow it inside the transfer"),
                    });
                }
                let (offset, stream_db) = (snap.offset, snap.stream_db);
                self.finish_snapshot(offset, stream_db, false, None);
            }
            Framing::Diskless { mark } => {
                // Whatever the parser holds past the RDB is the mark (and maybe the stream):
                // put it back in front of the input.
                if !after.is_empty() {
                    let mut input = BytesMut::with_capacity(after.len() + self.input.len());
                    input.extend_from_slice(after);
                    input.extend_from_slice(&self.input);
                    self.input = input;
                }
                self.state = State::SnapshotMark { offset: snap.offset, mark, rdb_len, stream_db: snap.stream_db };
            }
        }
        Ok(Next::Continue)
    }

    fn step_snapshot_mark(&mut self, now: Instant) -> Result<Next, Error> {
        let State::SnapshotMark { offset, mark, rdb_len, stream_db } = self.state else { return Ok(Next::Continue) };
        let n = self.input.len().min(MARK_LEN);
        if self.input[..n] != mark[..n] {
            return Err(Error::TrailingGarbage {
                rdb_len,
                declared: None,
                found: format!(
                    "the 40-byte end mark does not follow it (found {})",
                    handshake::quote(&self.input[..n])
                ),
            });
        }
        if n < MARK_LEN {
            return Ok(Next::NeedInput);
        }
        self.input.advance(MARK_LEN);
        self.finish_snapshot(offset, stream_db, true, Some(now));
        Ok(Next::Continue)
    }

    /// The snapshot is in: the stream starts at its offset, in the db it names. After a
    /// diskless transfer the master sends nothing until it gets an ACK, so one goes at once
    /// (src/replication.c:1617-1651).
    fn finish_snapshot(&mut self, offset: u64, stream_db: Option<u64>, diskless: bool, now: Option<Instant>) {
        self.queue.push_back(Output::SnapshotEnd { offset });
        let now = now.unwrap_or(self.last_input_at);
        self.start_stream(offset, stream_db, false, diskless, now);
    }

    fn start_stream(&mut self, offset: u64, db: Option<u64>, delivered: bool, ack_now: bool, now: Instant) {
        let pos = Position::new(self.config.ack_policy, offset, db, delivered);
        let ack = pos.ack_offset();
        self.pos = Some(pos);
        self.state = State::Stream;
        self.last_ack = Some((now, ack));
        self.ack_soon = if ack_now { DISKLESS_FAST_ACKS } else { 0 };
        if ack_now {
            self.queue.push_back(Output::Transmit(Self::ack_frame(ack)));
        }
    }

    fn step_stream(&mut self, now: Instant) -> Result<Next, Error> {
        let (Some(pos), Some(replid)) = (self.pos.as_mut(), self.replid) else { return Ok(Next::NeedInput) };
        loop {
            let start = pos.received;
            self.commands.set_position(start);
            let decoded =
                self.commands.decode(&mut self.input).map_err(|source| Error::Stream { offset: start, source })?;
            let Some((item, len)) = decoded else { return Ok(Next::NeedInput) };
            let len = len as u64;
            let args = match item {
                Decoded::Command(args) => {
                    // The last command's vector goes back for the decoder to refill next time.
                    self.commands.recycle(std::mem::replace(&mut self.command.args, args));
                    &self.command.args
                }
                // A master never puts `\n` in its stream (it sends keepalives only before a
                // snapshot, outside the replication buffer), and protocol.md §2.4 says they
                // do not count; a server tolerates them (src/networking.c:2213-2224). So
                // they are skipped and not counted.
                Decoded::Item(Item::EmptyLine) => continue,
                Decoded::Item(Item::Inline(line)) => {
                    return Err(Error::InlineCommand { offset: start, line: handshake::quote(&line) });
                }
                // `*0` and `*-1` run nothing, but their bytes are part of the stream.
                Decoded::Item(Item::Frame(Frame::Null)) => {
                    pos.skip(len);
                    continue;
                }
                Decoded::Item(Item::Frame(Frame::Array(items))) if items.is_empty() => {
                    pos.skip(len);
                    continue;
                }
                Decoded::Item(Item::Frame(Frame::Array(_))) => {
                    return Err(Error::NotACommand {
                        offset: start,
                        what: "an array that is not all bulk strings".into(),
                    })
                }
                Decoded::Item(Item::Frame(other)) => {
                    return Err(Error::NotACommand { offset: start, what: handshake::describe(&other) });
                }
            };
            let kind = CommandKind::classify(args);
            let mut tx = pos.tx();
            let mut ends_tx = false;
            let mut getack = None;
            let mut select = None;
            match kind {
                CommandKind::Multi if tx.is_some() => {
                    self.queue.push_back(Output::Warning(format!("nested MULTI at replication offset {start}")));
                }
                CommandKind::Multi => tx = Some(pos.begin_tx(start)),
                CommandKind::Exec => ends_tx = tx.is_some(),
                CommandKind::Select => {
                    let db = args.get(1).and_then(|a| std::str::from_utf8(a).ok()).and_then(|s| s.parse::<u64>().ok());
                    select = Some(db.ok_or_else(|| Error::NotACommand {
                        offset: start,
                        what: format!(
                            "SELECT with a bad db {}",
                            args.get(1).map_or("(none)".into(), |a| handshake::quote(a))
                        ),
                    })?);
                }
                // Answered with the offset from before the GETACK: a real replica replies
                // before its offset moves past the command (src/replication.c:3254-3270).
                CommandKind::Replconf if args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"getack")) => {
                    getack = Some(pos.ack_offset());
                }
                _ => {}
            }
            pos.advance(len, kind == CommandKind::Data, ends_tx);
            if let Some(db) = select {
                pos.select(db);
            }
            if let Some(offset) = getack {
                self.last_ack = Some((now, offset));
                self.queue.push_back(Output::Transmit(Self::ack_frame(offset)));
            }
            let command = &mut self.command;
            (command.kind, command.db, command.start_offset, command.end_offset) = (kind, pos.db, start, pos.received);
            (command.replid, command.tx) = (replid, tx);
            return Ok(Next::Command);
        }
    }
}
