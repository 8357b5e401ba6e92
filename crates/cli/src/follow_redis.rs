//! `redtail follow --sink redis://HOST[:PORT]`: live migration. The output is the same
//! `RespStreamWriter` as `--format resp` (the snapshot as rebuild commands for the target's
//! version, then the stream's own commands with `SELECT` and `MULTI`/`EXEC`), written into the
//! sink crate's [`RedisTarget`] (one server, or every master of a cluster) instead of stdout;
//! only what the target has answered reaches the checkpoint and the ACK.
//!
//! Two halves share the sink: [`TargetFeed`] is the writer's `Write` (it receives whole
//! commands, 64 KiB at a time, and waits while the sink's window is full: backpressure), and
//! [`RedisDelivery`] marks the offset each handler flush completes and reports what the target
//! has acknowledged so far, without waiting for it; the pipeline stays full.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use anyhow::anyhow;
use event::restore::DEFAULT_RAW_VALUES_UP_TO;
use event::RespStreamWriter;
use replica::{Checkpoint, StartFrom};
use sink::redis_cluster::RedisTarget;
use sink::Sink;

use crate::exit::Failure;
use crate::follow_config::FollowConfig;
use crate::follow_output::{self, Delivery, Output};

/// The writer's destination: whole commands into the sink's queue.
pub struct TargetFeed {
    sink: Rc<RefCell<RedisTarget>>,
}

impl io::Write for TargetFeed {
    /// A sink failure travels inside the I/O error, so the exit code can still say "sink".
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sink.borrow_mut().send_commands(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The delivery half.
pub struct RedisDelivery {
    sink: Rc<RefCell<RedisTarget>>,
    reported: u64,
}

/// The writer over a connected sink, and its delivery; `start` is the offset already
/// delivered. `flush_on_resync` as for `--format resp`; `restore`: snapshot keys as `RESTORE`
/// where the target reads the payload (the decoder must hand out raw values up to
/// [`DEFAULT_RAW_VALUES_UP_TO`]).
pub fn output(
    sink: RedisTarget,
    start: u64,
    flush_on_resync: bool,
    restore: bool,
) -> (RespStreamWriter<TargetFeed>, RedisDelivery) {
    let target = *sink.target();
    let sink = Rc::new(RefCell::new(sink));
    let mut writer = RespStreamWriter::new(TargetFeed { sink: Rc::clone(&sink) })
        .flush_on_resync(flush_on_resync)
        .target(target.rdb_format());
    if restore {
        writer = writer.snapshot_by_restore(target.restore_target(), DEFAULT_RAW_VALUES_UP_TO);
    }
    (writer, RedisDelivery { sink, reported: start })
}

impl RedisDelivery {
    /// Marks `handed` (the end offset of everything written so far) and returns the offset the
    /// target has acknowledged, if it moved. A failure of the target connection (a refused
    /// command, a lost target) surfaces here even when nothing new is written.
    pub fn deliver(&mut self, handed: Option<u64>) -> Result<Option<u64>, sink::Error> {
        let mut sink = self.sink.borrow_mut();
        if let Some(offset) = handed {
            sink.mark(offset)?;
        }
        sink.poll()?;
        let delivered = sink.delivered();
        if delivered == self.reported {
            return Ok(None);
        }
        self.reported = delivered;
        Ok(Some(delivered))
    }

    /// A new stream begins (a full sync, or a continuation after a reconnect). Marks of the
    /// previous stream that the target has not answered yet would otherwise be reported under
    /// the new replication ID, whose offsets count differently (a restarted master starts
    /// again near 0): they are waited for, and what they delivered is not reported. What lies
    /// past the last checkpoint is sent again, or replaced by the full sync: at least once.
    pub fn new_stream(&mut self) -> Result<(), sink::Error> {
        self.reported = self.sink.borrow_mut().wait_delivered()?;
        Ok(())
    }

    /// For a clean stop: marks `handed` and waits (bounded) until the target has answered
    /// everything.
    pub fn finish(&mut self, handed: Option<u64>) -> Result<Option<u64>, sink::Error> {
        let mut sink = self.sink.borrow_mut();
        if let Some(offset) = handed {
            sink.mark(offset)?;
        }
        let delivered = sink.wait_delivered()?;
        let skipped = sink.skipped();
        if skipped > 0 {
            tracing::warn!(skipped, "commands the target refused were skipped (--on-target-error skip)");
        }
        self.reported = delivered;
        Ok(Some(delivered))
    }
}

/// Connects to the target (failing with exit code 5 if it cannot be reached), checks that a
/// full sync may write into it, and builds the output over it.
pub fn connected_output(config: &FollowConfig, start: Option<Checkpoint>) -> Result<(Output, Delivery), Failure> {
    let Some(target) = &config.redis else { unreachable!("called for --sink redis:// only") };
    let mut sink =
        RedisTarget::connect(target.clone(), start.map_or(0, |cp| cp.offset)).map_err(|e| Failure::Sink(anyhow!(e)))?;
    tracing::info!(target = %sink.target(), address = sink.address(), "migrating into the target");
    // A first full sync builds the data set from nothing; a resync (after a checkpoint) is
    // flushed by the writer itself.
    if config.session.start == StartFrom::Snapshot && config.write_snapshot {
        if config.target_flush {
            sink.send_commands(b"*1\r\n$8\r\nFLUSHALL\r\n").map_err(|e| Failure::Sink(anyhow!(e)))?;
        } else if sink.keys_at_start() > 0 {
            return Err(Failure::Sink(anyhow!(
                "the target {} holds {} keys; a migration's snapshot starts from an empty target\nhint: add \
                 --target-flush to empty it first (FLUSHALL, as a replica's full sync does), or --from now to \
                 apply only new writes",
                sink.address(),
                sink.keys_at_start()
            )));
        }
    }
    let offset = start.map_or(0, |cp| cp.offset);
    Ok(follow_output::redis_output(sink, offset, &config.filter, config.write_snapshot, config.snapshot_by_restore))
}

/// Whether an I/O error of the writer is the target sink's failure (see [`TargetFeed`]).
pub fn is_sink_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<sink::Error>())
}
