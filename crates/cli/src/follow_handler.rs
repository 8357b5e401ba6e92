//! What `redtail follow` does with each output of the replication session: turns it into the
//! event contract's snapshot and live events for the output, flushes the output once per read
//! burst, reports what that flush delivered, and saves the checkpoint.
//!
//! **Delivery.** An event counts as delivered only once the output has been flushed after it
//! (for stdout: written to the pipe or file). So [`Handler::output`] reports nothing, and
//! [`Handler::flush`], which the driver calls before it waits for more input, flushes and
//! reports the end offset of the last event handed over: a command's `end_offset`, or the
//! snapshot's end. Commands the filter drops count as delivered as well (they were handled),
//! and so do the control frames (PING, SELECT, MULTI, EXEC) that are never written. The
//! replication crate keeps the acknowledged offset and the checkpoint before an unfinished
//! transaction, so a resume replays it whole. With a Kafka sink, the flush reports what
//! Kafka acknowledged instead ([`follow_output::Delivery`]).

use std::fmt;
use std::time::Instant;

use event::{CommandEvent, LiveEvent, SyncMode};
use replica::{Checkpoint, Command, CommandKind, Handler, Output, ReplId};
use sink::CheckpointStore;

use crate::follow_config::stored;
use crate::follow_output;
use crate::follow_position::StreamPosition;
use crate::follow_progress::SnapshotProgress;
use crate::metrics::Metrics;

/// Why the handler stopped the session.
#[derive(Debug)]
pub enum DeliveryError {
    /// The output cannot be written (a closed pipe, a full disk).
    Output(event::Error),
    /// The checkpoint file cannot be saved.
    Checkpoint(sink::Error),
    /// The sink (Kafka) failed to deliver.
    Sink(sink::Error),
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Output(e) => e.fmt(f),
            DeliveryError::Checkpoint(e) | DeliveryError::Sink(e) => e.fmt(f),
        }
    }
}

impl From<event::Error> for DeliveryError {
    fn from(e: event::Error) -> Self {
        DeliveryError::Output(e)
    }
}

pub struct FollowHandler {
    out: follow_output::Output,
    delivery: follow_output::Delivery,
    write_snapshot: bool,
    /// `PING` and `REPLCONF` reach the output only when `--command` names them.
    pass_ping: bool,
    pass_replconf: bool,
    /// The end offset of the last event handed to the output since the last flush.
    pending: Option<u64>,
    /// The output was given something since the last flush.
    unflushed: bool,
    /// Between a snapshot's begin and end.
    in_snapshot: bool,
    /// Between a snapshot key's first event and its end: the output may hold part of a line
    /// or command, which a flush must not push out (a cut snapshot would leave it unfinished).
    in_key: bool,
    /// Where the session resumes from (the last checkpoint), which a `resync` names as the
    /// history it leaves; before there is one, the last sync's position.
    resume_from: Option<(ReplId, u64)>,
    last_sync: Option<(ReplId, u64)>,
    /// The open transaction and how many commands it has had.
    tx: Option<(u64, u64)>,
    /// The replication ID, db and open `MULTI` at `pending`, for a sink that commits its
    /// checkpoint itself.
    position: StreamPosition,
    checkpoints: Option<CheckpointStore>,
    saved: Option<Checkpoint>,
    progress: SnapshotProgress,
    /// `--metrics-addr`'s series, when asked for.
    metrics: Option<Metrics>,
}

impl FollowHandler {
    /// `start` is the checkpoint the session resumes from, if any.
    pub fn new(
        out: follow_output::Output,
        delivery: follow_output::Delivery,
        filter: &event::Filter,
        write_snapshot: bool,
        checkpoints: Option<CheckpointStore>,
        start: Option<Checkpoint>,
    ) -> Self {
        FollowHandler {
            out,
            delivery,
            write_snapshot,
            pass_ping: filter.asks_for(b"ping"),
            pass_replconf: filter.asks_for(b"replconf"),
            pending: None,
            unflushed: false,
            in_snapshot: false,
            in_key: false,
            resume_from: start.map(|cp| (cp.replid, cp.offset)),
            last_sync: None,
            tx: None,
            position: StreamPosition::default(),
            checkpoints,
            saved: start,
            progress: SnapshotProgress::for_stderr(),
            metrics: None,
        }
    }

    /// Keeps `metrics` up to date with what the handler sees.
    pub fn with_metrics(mut self, metrics: Option<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Writes out whatever is buffered and waits for the sink, for a clean stop, then saves
    /// the checkpoint where delivery ended. The checkpoints saved while streaming trail the
    /// sink (a target answers a burst while the next one is read), so without this last one
    /// a restart would apply the stop's last writes twice.
    pub fn finish(&mut self) -> Result<(), DeliveryError> {
        self.progress.finish();
        if self.in_key {
            // Stopped inside a snapshot key: write the whole units, drop the unfinished one.
            self.out.abort()?;
        } else {
            self.out.flush()?;
        }
        let delivered = self.delivery.finish(self.pending.take(), &self.position).map_err(DeliveryError::Sink)?;
        match delivered {
            // A snapshot cut short resumes with a full sync; its offsets mean nothing yet.
            Some(offset) if !self.in_snapshot => self.save_final_checkpoint(offset),
            _ => Ok(()),
        }
    }

    /// Saves `delivered` as the checkpoint, rounded down to an open `MULTI` (a resume must not
    /// replay the rest of a transaction without it), unless an earlier one already covers it.
    fn save_final_checkpoint(&mut self, delivered: u64) -> Result<(), DeliveryError> {
        let at = self.position.boundary(delivered);
        let Some(replid) = at.replid else { return Ok(()) };
        let checkpoint = Checkpoint { replid, offset: at.offset, db: at.db };
        if self.saved.is_some_and(|s| s.replid == replid && s.offset >= checkpoint.offset) {
            return Ok(());
        }
        self.checkpoint(&checkpoint)
    }

    fn send(&mut self, ev: &LiveEvent<'_, bytes::Bytes>) -> Result<(), DeliveryError> {
        self.unflushed = true;
        self.out.live(ev)?;
        Ok(())
    }

    /// A new stream starts: the sink settles what it has in flight of the previous one, so
    /// that none of its offsets is reported as the new stream's.
    fn new_stream(&mut self) -> Result<(), DeliveryError> {
        self.abandon_snapshot()?;
        self.delivery.new_stream().map_err(DeliveryError::Sink)
    }

    /// A new stream starts while a snapshot was being written: the connection was lost in
    /// it. Only its whole keys stay in the output; the `resync` that follows says it is void.
    fn abandon_snapshot(&mut self) -> Result<(), DeliveryError> {
        if self.in_snapshot {
            self.in_snapshot = false;
            self.in_key = false;
            self.progress.finish();
            self.out.abort()?;
        }
        self.tx = None;
        Ok(())
    }

    fn command(&mut self, c: &Command) -> Result<(), DeliveryError> {
        self.pending = Some(c.end_offset);
        self.position.command(c);
        if let Some(m) = &self.metrics {
            m.received_offset.set(c.end_offset);
            match c.kind {
                CommandKind::Data => {
                    m.commands_total.inc();
                }
                CommandKind::Exec if c.tx.is_some() => {
                    m.transactions_total.inc();
                }
                _ => {}
            }
        }
        let tx = c.tx.map(|t| t.0);
        match c.kind {
            CommandKind::Data => {
                if let Some(t) = tx {
                    match &mut self.tx {
                        Some((open, n)) if *open == t => *n += 1,
                        other => *other = Some((t, 1)),
                    }
                }
            }
            CommandKind::Ping if self.pass_ping => {}
            CommandKind::Replconf if self.pass_replconf => {}
            CommandKind::Exec => {
                let Some(t) = tx else { return Ok(()) };
                let commands = match self.tx.take() {
                    Some((open, n)) if open == t => n,
                    _ => 0,
                };
                let exec = LiveEvent::Exec {
                    tx: t,
                    commands,
                    replid: c.replid.as_str(),
                    start_offset: t,
                    end_offset: c.end_offset,
                };
                return self.send(&exec);
            }
            // SELECT and MULTI live on in `db` and `tx`.
            _ => return Ok(()),
        }
        let ev = LiveEvent::Command(CommandEvent {
            db: c.db,
            args: &c.args,
            replid: c.replid.as_str(),
            start_offset: c.start_offset,
            end_offset: c.end_offset,
            tx,
        });
        self.send(&ev)
    }
}

impl Handler for FollowHandler {
    type Error = DeliveryError;

    fn output(&mut self, out: &Output<'_>) -> Result<Option<u64>, DeliveryError> {
        if let Some(m) = &self.metrics {
            count(m, out);
        }
        match out {
            Output::Transmit(_) | Output::Warning(_) => {}
            Output::Resync { replid, offset } => {
                self.new_stream()?;
                self.position.stream(*replid);
                let previous = self.resume_from.or(self.last_sync);
                let (previous_replid, previous_offset) = previous.unwrap_or((*replid, 0));
                let ev = LiveEvent::Resync {
                    replid: replid.as_str(),
                    offset: *offset,
                    previous_replid: previous_replid.as_str(),
                    previous_offset,
                };
                self.send(&ev)?;
            }
            Output::SnapshotBegin { replid, offset, size } => {
                self.new_stream()?;
                self.last_sync = Some((*replid, *offset));
                self.position.stream(*replid);
                // Not delivered: the snapshot is, once its end is flushed.
                self.send(&LiveEvent::Sync { mode: SyncMode::Full, replid: replid.as_str(), offset: *offset })?;
                self.in_snapshot = true;
                self.progress.begin(*size);
            }
            Output::Snapshot(ev) => {
                match ev {
                    rdb::Event::Key(info) => self.progress.set(info.offset),
                    rdb::Event::Aux { .. } => self.position.snapshot(ev),
                    _ => {}
                }
                if self.write_snapshot {
                    match ev {
                        rdb::Event::Key(_) => self.in_key = true,
                        rdb::Event::KeyEnd { .. } => self.in_key = false,
                        _ => {}
                    }
                    self.unflushed = true;
                    self.out.event(ev, 0)?;
                }
            }
            Output::SnapshotEnd { offset } => {
                self.in_snapshot = false;
                self.in_key = false;
                self.progress.finish();
                self.pending = Some(*offset);
            }
            Output::Continue { replid, offset } => {
                self.new_stream()?;
                self.last_sync = Some((*replid, *offset));
                self.position.stream(*replid);
                self.send(&LiveEvent::Sync { mode: SyncMode::Continue, replid: replid.as_str(), offset: *offset })?;
            }
            Output::Command(c) => self.command(c)?,
        }
        Ok(None)
    }

    /// More items of the open key, as `redtail rdb` takes them: into the writer in one loop.
    /// Nothing else in `output` concerns items.
    fn snapshot_items(&mut self, items: rdb::ReadyItems<'_>) -> Result<Option<u64>, DeliveryError> {
        if self.write_snapshot {
            self.unflushed = true;
            self.out.items(items)?;
        }
        Ok(None)
    }

    fn flush(&mut self) -> Result<Option<u64>, DeliveryError> {
        if self.in_key {
            // Part of a key may be buffered; it goes out with the key's end.
            return Ok(None);
        }
        // Timed only when there is something to deliver: an idle flush is not sink latency.
        if self.metrics.is_none() || (!self.unflushed && self.pending.is_none()) {
            return self.flush_output();
        }
        let began = Instant::now();
        let delivered = self.flush_output();
        if let Some(m) = &self.metrics {
            m.sink_flush_seconds.observe(began.elapsed());
            if matches!(delivered, Err(DeliveryError::Output(_) | DeliveryError::Sink(_))) {
                m.sink_errors.inc();
            }
        }
        delivered
    }

    fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), DeliveryError> {
        if let Some(m) = &self.metrics {
            m.acked_offset.set(checkpoint.offset);
        }
        self.save_checkpoint(checkpoint)
    }

    fn reconnecting(&mut self, _error: &replica::Error) {
        if let Some(m) = &self.metrics {
            m.reconnects.inc();
        }
    }
}

impl FollowHandler {
    /// Writes out what the output buffers and reports what that delivered.
    fn flush_output(&mut self) -> Result<Option<u64>, DeliveryError> {
        if self.unflushed {
            self.out.flush()?;
            self.unflushed = false;
        }
        self.delivery.deliver(self.pending.take(), &self.position).map_err(DeliveryError::Sink)
    }

    fn save_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), DeliveryError> {
        self.resume_from = Some((checkpoint.replid, checkpoint.offset));
        if self.saved.as_ref() == Some(checkpoint) {
            return Ok(());
        }
        if let Some(store) = &self.checkpoints {
            store.save(&stored(checkpoint)).map_err(DeliveryError::Checkpoint)?;
            tracing::debug!(offset = checkpoint.offset, db = ?checkpoint.db, "checkpoint saved");
        }
        self.saved = Some(*checkpoint);
        Ok(())
    }
}

/// The counters and gauges one output moves (commands are counted in `command`).
fn count(m: &Metrics, out: &Output<'_>) {
    match out {
        Output::Resync { .. } => {
            m.resyncs.inc();
        }
        Output::SnapshotBegin { size, .. } => {
            m.snapshot_active.set(1);
            m.snapshot_size_bytes.set(size.unwrap_or(0));
            m.snapshot_bytes.set(0);
            m.snapshot_keys.set(0);
        }
        Output::Snapshot(rdb::Event::Key(info)) => {
            m.snapshot_keys_total.inc();
            m.snapshot_keys.inc();
            m.snapshot_bytes.set(info.offset);
        }
        Output::SnapshotEnd { offset } => {
            m.snapshot_active.set(0);
            // The last key's offset is where it began; the whole RDB has been read now.
            if m.snapshot_size_bytes.get() > 0 {
                m.snapshot_bytes.set(m.snapshot_size_bytes.get());
            }
            m.received_offset.set(*offset);
        }
        Output::Continue { offset, .. } => {
            m.received_offset.set(*offset);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::Write;
    use std::rc::Rc;

    use bytes::Bytes;
    use event::{Filter, JsonWriter};
    use rdb::{Event, Item, Str};
    use replica::TxId;
    use serde_json::Value;

    use super::*;

    const ID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";
    const ID2: &str = "0a1b6e6a9b0c1d2e3f405162738495a6b7c8d9ff";

    /// An output the test can read while the handler holds it.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn lines(&self) -> Vec<Value> {
            let out = self.0.borrow();
            std::str::from_utf8(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        }
    }

    fn handler(filter: &Filter, start: Option<Checkpoint>) -> (FollowHandler, Shared) {
        let out = Shared::default();
        let writer: follow_output::Output = Box::new(JsonWriter::new(out.clone()));
        let writer: follow_output::Output =
            if filter.is_empty() { writer } else { Box::new(event::FilteredSink::new(filter.clone(), writer)) };
        (FollowHandler::new(writer, follow_output::Delivery::Direct, filter, true, None, start), out)
    }

    fn id(s: &str) -> ReplId {
        ReplId::parse(s.as_bytes()).unwrap()
    }

    /// The replica lends its commands; a test's few live until the end of the run.
    fn cmd(kind: CommandKind, args: &[&str], start: u64, end: u64, tx: Option<u64>) -> Output<'static> {
        Output::Command(Box::leak(Box::new(Command {
            kind,
            db: Some(0),
            args: args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect(),
            start_offset: start,
            end_offset: end,
            replid: id(ID),
            tx: tx.map(TxId),
        })))
    }

    use crate::test_support::list_key as key;

    #[test]
    fn offsets_are_delivered_only_by_a_flush() {
        let (mut h, out) = handler(&Filter::default(), None);
        let sync = Output::SnapshotBegin { replid: id(ID), offset: 100, size: None };
        assert_eq!(h.output(&sync).unwrap(), None);
        assert_eq!(h.output(&Output::SnapshotEnd { offset: 100 }).unwrap(), None);
        assert_eq!(h.flush().unwrap(), Some(100), "the snapshot, once flushed");
        assert_eq!(h.output(&cmd(CommandKind::Data, &["SET", "a", "1"], 100, 130, None)).unwrap(), None);
        assert_eq!(h.output(&cmd(CommandKind::Ping, &["PING"], 130, 144, None)).unwrap(), None);
        assert_eq!(out.lines().len(), 1, "buffered until the flush");
        assert_eq!(h.flush().unwrap(), Some(144));
        assert_eq!(h.flush().unwrap(), None, "nothing new");
        let lines = out.lines();
        assert_eq!(lines.len(), 2, "PING is not written: {lines:?}");
        assert_eq!((lines[1]["command"].as_str(), lines[1]["end_offset"].as_u64()), (Some("set"), Some(130)));
    }

    #[test]
    fn filtered_commands_count_as_delivered() {
        let filter = Filter { exclude_commands: vec![b"del".to_vec()], ..Filter::default() };
        let (mut h, out) = handler(&filter, Some(Checkpoint { replid: id(ID), offset: 50, db: Some(0) }));
        h.output(&Output::Continue { replid: id(ID), offset: 50 }).unwrap();
        h.output(&cmd(CommandKind::Data, &["DEL", "a"], 50, 70, None)).unwrap();
        assert_eq!(h.flush().unwrap(), Some(70));
        let lines = out.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["mode"], "continue");
    }

    #[test]
    fn transactions_become_tx_and_exec() {
        let (mut h, out) = handler(&Filter::default(), None);
        h.output(&Output::Continue { replid: id(ID), offset: 10 }).unwrap();
        h.output(&cmd(CommandKind::Select, &["SELECT", "0"], 10, 33, None)).unwrap();
        h.output(&cmd(CommandKind::Multi, &["MULTI"], 33, 48, Some(33))).unwrap();
        h.output(&cmd(CommandKind::Data, &["SET", "a", "1"], 48, 75, Some(33))).unwrap();
        h.output(&cmd(CommandKind::Data, &["INCR", "n"], 75, 95, Some(33))).unwrap();
        h.output(&cmd(CommandKind::Exec, &["EXEC"], 95, 109, Some(33))).unwrap();
        assert_eq!(h.flush().unwrap(), Some(109));
        let lines = out.lines();
        let kinds: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["sync", "command", "command", "exec"]);
        assert_eq!(lines[1]["tx"], 33);
        let exec = &lines[3];
        assert_eq!(
            (
                exec["tx"].as_u64(),
                exec["commands"].as_u64(),
                exec["start_offset"].as_u64(),
                exec["end_offset"].as_u64()
            ),
            (Some(33), Some(2), Some(33), Some(109))
        );
    }

    /// A snapshot cut inside a key: nothing of that key was flushed, and the resync that
    /// follows names the last checkpoint as the history it leaves.
    #[test]
    fn a_cut_snapshot_leaves_only_whole_lines() {
        let start = Checkpoint { replid: id(ID), offset: 500, db: Some(0) };
        let (mut h, out) = handler(&Filter::default(), Some(start));
        h.output(&Output::SnapshotBegin { replid: id(ID2), offset: 900, size: Some(1000) }).unwrap();
        h.output(&Output::Snapshot(Event::Key(key(b"whole")))).unwrap();
        h.output(&Output::Snapshot(Event::Item(Item::ListElement(Str::Bytes(b"x"))))).unwrap();
        h.output(&Output::Snapshot(Event::KeyEnd { elements: 1 })).unwrap();
        h.output(&Output::Snapshot(Event::Key(key(b"cut")))).unwrap();
        h.output(&Output::Snapshot(Event::Item(Item::ListElement(Str::Bytes(b"y"))))).unwrap();
        assert_eq!(h.flush().unwrap(), None);
        assert!(out.lines().iter().all(|l| l["key"] != "cut"), "no part of an unfinished key goes out");

        h.output(&Output::Resync { replid: id(ID2), offset: 950 }).unwrap();
        h.output(&Output::SnapshotBegin { replid: id(ID2), offset: 950, size: None }).unwrap();
        h.output(&Output::SnapshotEnd { offset: 950 }).unwrap();
        assert_eq!(h.flush().unwrap(), Some(950));
        let lines = out.lines();
        let kinds: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["sync", "key", "resync", "sync"], "{lines:?}");
        assert_eq!(lines[1]["key"], "whole");
        assert_eq!((lines[2]["previous_replid"].as_str(), lines[2]["previous_offset"].as_u64()), (Some(ID), Some(500)));
    }

    /// An output that refuses every write, as a closed pipe or a full disk does.
    struct Refusing;

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("disk full"))
        }
    }

    #[test]
    fn metrics_follow_the_outputs() {
        let (h, _) = handler(&Filter::default(), None);
        let metrics = crate::metrics::Metrics::default();
        let mut h = h.with_metrics(Some(metrics.clone()));
        h.output(&Output::SnapshotBegin { replid: id(ID), offset: 100, size: Some(4000) }).unwrap();
        assert_eq!((metrics.snapshot_active.get(), metrics.snapshot_size_bytes.get()), (1, 4000));
        h.output(&Output::Snapshot(Event::Key(key(b"a")))).unwrap();
        h.output(&Output::Snapshot(Event::KeyEnd { elements: 0 })).unwrap();
        h.output(&Output::SnapshotEnd { offset: 100 }).unwrap();
        assert_eq!((metrics.snapshot_active.get(), metrics.snapshot_bytes.get()), (0, 4000));
        assert_eq!((metrics.snapshot_keys.get(), metrics.snapshot_keys_total.get()), (1, 1));
        h.output(&cmd(CommandKind::Data, &["SET", "a", "1"], 100, 130, None)).unwrap();
        h.output(&cmd(CommandKind::Ping, &["PING"], 130, 144, None)).unwrap();
        h.output(&cmd(CommandKind::Multi, &["MULTI"], 144, 159, Some(144))).unwrap();
        h.output(&cmd(CommandKind::Data, &["INCR", "n"], 159, 179, Some(144))).unwrap();
        h.output(&cmd(CommandKind::Exec, &["EXEC"], 179, 193, Some(144))).unwrap();
        assert_eq!((metrics.commands_total.get(), metrics.transactions_total.get()), (2, 1), "PING is no command");
        assert_eq!(metrics.received_offset.get(), 193);
        assert_eq!(metrics.acked_offset.get(), 0, "nothing acknowledged yet");
        assert_eq!(h.flush().unwrap(), Some(193));
        h.checkpoint(&Checkpoint { replid: id(ID), offset: 193, db: Some(0) }).unwrap();
        assert_eq!(metrics.acked_offset.get(), 193);
        h.output(&Output::Resync { replid: id(ID2), offset: 500 }).unwrap();
        h.reconnecting(&replica::Error::Closed { phase: "the command stream" });
        assert_eq!((metrics.resyncs.get(), metrics.reconnects.get()), (1, 1));
        assert_eq!(metrics.sink_errors.get(), 0);

        let writer: follow_output::Output = Box::new(JsonWriter::new(Refusing));
        let mut h = FollowHandler::new(writer, follow_output::Delivery::Direct, &Filter::default(), true, None, None)
            .with_metrics(Some(metrics.clone()));
        h.output(&Output::Continue { replid: id(ID), offset: 10 }).unwrap();
        assert!(h.flush().is_err());
        assert_eq!(metrics.sink_errors.get(), 1);
    }
}
