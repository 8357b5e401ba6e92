//! `redtail follow --format resp`: the snapshot as rebuild commands ([`RebuildWriter`]), then
//! the stream's commands exactly as the master sent them, as RESP2 for
//! `redis-cli --pipe` or any server. Like `redis-cli --replica`, but nothing is lost.
//!
//! The output is a client session, so it carries what a replica learns from the stream's
//! control commands:
//! - `SELECT db` before a command whenever its db differs from the last one written (the
//!   snapshot's own `SELECT`s included, since both share one output);
//! - `MULTI` before a transaction's first written command and `EXEC` at its `exec` event, so a
//!   transaction stays atomic on the target;
//! - `DISCARD` for a transaction that cannot finish: the connection to the master was lost
//!   inside it (the stream replays it from its `MULTI`, and it must not run twice), or the
//!   output ends inside it.
//!
//! A target server cannot drop duplicates by offset the way a JSON consumer does (the contract
//! leaves de-duplication to the reader), so this writer does it: after a reconnect, a command
//! whose `end_offset` is at or below the last one written is skipped. That holds within one
//! run; a restart from a checkpoint can still repeat the commands after it (at least once).
//!
//! For a migration, [`RespStreamWriter::snapshot_by_restore`] writes the snapshot's keys as
//! `RESTORE` payloads where the target can read them ([`crate::restore`]).

use std::io::Write;

use crate::error::Result;
use crate::live::{CommandEvent, LiveEvent, SyncMode};
use crate::rebuild::RebuildWriter;
use crate::resp::{push_array_len, push_bulk, push_bulk_u64, push_command};
use crate::restore::RestoreSnapshot;
use crate::sink::{EventSink, LiveSink};

/// Writes the snapshot and the live stream as RESP commands to `W`.
pub struct RespStreamWriter<W: Write> {
    /// The snapshot's writer; its buffer and current db are this output's.
    rebuild: RebuildWriter<W>,
    /// The transaction whose `MULTI` was written and whose `EXEC` was not.
    open_tx: Option<u64>,
    /// The end offset of the last command written: anything at or below it is a repeat.
    written_to: Option<u64>,
    /// `written_to` before the open transaction, restored when it is discarded so that its
    /// replay is written again.
    before_tx: Option<u64>,
    flush_on_resync: bool,
    /// The snapshot goes by `RESTORE` where it can.
    restore: Option<RestoreSnapshot>,
}

impl<W: Write> RespStreamWriter<W> {
    pub fn new(w: W) -> Self {
        RespStreamWriter {
            rebuild: RebuildWriter::new(w),
            open_tx: None,
            written_to: None,
            before_tx: None,
            flush_on_resync: true,
            restore: None,
        }
    }

    /// Writes the snapshot's keys as `RESTORE ... ABSTTL REPLACE` of their own bytes when
    /// `target` can read them, and as rebuild commands that `target` understands otherwise
    /// ([`crate::restore`], [`RespStreamWriter::target`]). The decoder must hand out raw values
    /// ([`rdb::Options::raw_values_up_to`]) with the same `raw_values_up_to` limit; keys
    /// without them go by commands.
    pub fn snapshot_by_restore(mut self, target: rdb::RestoreTarget, raw_values_up_to: usize) -> Self {
        self.restore = Some(RestoreSnapshot::new(target, raw_values_up_to));
        self.target(target.format())
    }

    /// Whether a `resync` writes `FLUSHALL` (the default): the snapshot that follows replaces
    /// the data, as a real replica's full sync does, so keys deleted meanwhile must not survive
    /// on the target. Turn it off when the target holds other data, e.g. with a `--db` or
    /// `--key` filter, where a flush would remove more than what redtail writes.
    pub fn flush_on_resync(mut self, yes: bool) -> Self {
        self.flush_on_resync = yes;
        self
    }

    /// The format of the server the commands go to (a migration target): the snapshot's
    /// commands then use only what it understands, e.g. no `XSETID ... ENTRIESADDED` for a
    /// Redis 6.2 target of a 7.0 source.
    pub fn target(mut self, target: rdb::Format) -> Self {
        self.rebuild = self.rebuild.target(target);
        self
    }

    /// The output goes on in a new file (a rotated file sink): the next command selects its db
    /// again, so that each file also loads on its own (a server starts every AOF file in db 0).
    pub fn reselect_db(&mut self) {
        self.rebuild.db = None;
    }

    pub fn get_ref(&self) -> &W {
        self.rebuild.get_ref()
    }

    pub fn into_inner(self) -> Result<W> {
        self.rebuild.into_inner()
    }

    /// Writes what one live event contributes.
    pub fn write_live<A: AsRef<[u8]>>(&mut self, ev: &LiveEvent<'_, A>) -> Result<()> {
        if let Some(r) = &mut self.restore {
            // A snapshot cut inside a key must not hold back what follows it.
            r.release(&mut self.rebuild)?;
        }
        match ev {
            LiveEvent::Sync { mode, .. } => {
                self.discard_open_tx();
                if *mode == SyncMode::Full {
                    // A new history: its offsets say nothing about what was written.
                    self.written_to = None;
                }
            }
            LiveEvent::Resync { .. } => {
                self.discard_open_tx();
                self.written_to = None;
                if self.flush_on_resync {
                    push_command(&mut self.rebuild.out.buf, &[b"FLUSHALL"]);
                }
            }
            LiveEvent::Command(cmd) => self.command(cmd),
            LiveEvent::Exec { tx, end_offset, .. } => {
                if self.open_tx == Some(*tx) {
                    push_command(&mut self.rebuild.out.buf, &[b"EXEC"]);
                    self.open_tx = None;
                    self.written_to = Some(*end_offset);
                }
            }
        }
        self.rebuild.out.commit()?;
        Ok(())
    }

    fn command<A: AsRef<[u8]>>(&mut self, cmd: &CommandEvent<'_, A>) {
        if self.written_to.is_some_and(|w| cmd.end_offset <= w) {
            return;
        }
        if cmd.tx != self.open_tx {
            // A transaction left open by a stream that moved on cannot be trusted to be whole.
            self.discard_open_tx();
            if let Some(tx) = cmd.tx {
                // SELECT goes first, so that it runs even if the transaction is discarded.
                self.select(cmd.db);
                push_command(&mut self.rebuild.out.buf, &[b"MULTI"]);
                self.open_tx = Some(tx);
                self.before_tx = self.written_to;
            }
        }
        self.select(cmd.db);
        let buf = &mut self.rebuild.out.buf;
        push_array_len(buf, cmd.args.len());
        for a in cmd.args {
            push_bulk(buf, a.as_ref());
        }
        self.written_to = Some(cmd.end_offset);
    }

    /// Writes `SELECT db` unless the output is already there. An unknown db (following from
    /// "now", before the master's first `SELECT`) leaves the target's current db.
    fn select(&mut self, db: Option<u64>) {
        let Some(db) = db else { return };
        if self.rebuild.db != Some(db) {
            let buf = &mut self.rebuild.out.buf;
            push_array_len(buf, 2);
            push_bulk(buf, b"SELECT");
            push_bulk_u64(buf, db);
            self.rebuild.db = Some(db);
        }
    }

    fn discard_open_tx(&mut self) {
        if self.open_tx.take().is_some() {
            push_command(&mut self.rebuild.out.buf, &[b"DISCARD"]);
            self.written_to = self.before_tx;
            // A SELECT queued inside the transaction did not run.
            self.rebuild.db = None;
        }
    }
}

impl<W: Write> EventSink for RespStreamWriter<W> {
    fn event(&mut self, ev: &rdb::Event<'_>, offset: u64) -> Result<()> {
        match &mut self.restore {
            Some(r) => r.event(&mut self.rebuild, ev, offset),
            None => self.rebuild.event(ev, offset),
        }
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(r) = &mut self.restore {
            r.release(&mut self.rebuild)?;
        }
        self.discard_open_tx();
        self.rebuild.out.commit()?;
        self.rebuild.finish()
    }

    fn abort(&mut self) -> Result<()> {
        // Drops the unfinished snapshot command; live commands are always whole.
        if let Some(r) = &mut self.restore {
            r.release(&mut self.rebuild)?;
        }
        self.rebuild.abort()?;
        if self.open_tx.is_some() {
            self.discard_open_tx();
            self.rebuild.out.commit()?;
            self.rebuild.out.flush()?;
        }
        Ok(())
    }
}

impl<W: Write, A: AsRef<[u8]>> LiveSink<A> for RespStreamWriter<W> {
    fn live(&mut self, ev: &LiveEvent<'_, A>) -> Result<()> {
        self.write_live(ev)
    }

    fn flush(&mut self) -> Result<()> {
        self.rebuild.out.commit()?;
        self.rebuild.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdb::{Encoding, Event, Family, Format, Item, Str, ValueType};

    use crate::test_support::{command as cmd, REPLID as R};

    fn exec(tx: u64, end: u64) -> LiveEvent<'static, &'static [u8]> {
        LiveEvent::Exec { tx, commands: 2, replid: R, start_offset: tx, end_offset: end }
    }

    fn sync(mode: SyncMode, offset: u64) -> LiveEvent<'static, &'static [u8]> {
        LiveEvent::Sync { mode, replid: R, offset }
    }

    fn run(w: &mut RespStreamWriter<Vec<u8>>, events: &[LiveEvent<'_, &[u8]>]) -> String {
        for ev in events {
            w.live(ev).unwrap();
        }
        LiveSink::<&[u8]>::flush(w).unwrap();
        String::from_utf8(w.get_ref().clone()).unwrap()
    }

    #[test]
    fn snapshot_then_commands_with_select_and_transactions() {
        let mut w = RespStreamWriter::new(Vec::new());
        w.live(&sync(SyncMode::Full, 100)).unwrap();
        let info = crate::test_support::key_info(0, Str::Bytes(b"k"), ValueType::String, Encoding::Raw);
        for ev in [
            Event::Begin(Format { family: Family::Redis, version: 12 }),
            Event::Key(info),
            Event::Item(Item::String(Str::Bytes(b"v"))),
            Event::KeyEnd { elements: 1 },
            Event::End { checksum: rdb::Checksum::Absent },
        ] {
            w.event(&ev, 0).unwrap();
        }
        let out = run(
            &mut w,
            &[
                cmd(Some(0), &[b"set", b"a", b"1"], 100, 130, None),
                cmd(Some(2), &[b"INCR", b"n"], 130, 150, Some(130)),
                cmd(Some(2), &[b"DEL", b"x\r\ny"], 150, 170, Some(130)),
                exec(130, 180),
                cmd(Some(2), &[b"FLUSHDB"], 180, 190, None),
            ],
        );
        let want = concat!(
            // The snapshot: SELECT 0 and the key.
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n",
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
            // db 0 already selected: the command as received.
            "*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n",
            "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n",
            "*1\r\n$5\r\nMULTI\r\n",
            "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
            "*2\r\n$3\r\nDEL\r\n$4\r\nx\r\ny\r\n",
            "*1\r\n$4\r\nEXEC\r\n",
            "*1\r\n$7\r\nFLUSHDB\r\n",
        );
        assert_eq!(out, want);
    }

    #[test]
    fn a_transaction_cut_by_a_reconnect_is_discarded_and_replayed_once() {
        let mut w = RespStreamWriter::new(Vec::new());
        let out = run(
            &mut w,
            &[
                sync(SyncMode::Continue, 10),
                cmd(Some(0), &[b"SET", b"a", b"1"], 10, 20, None),
                cmd(Some(1), &[b"INCR", b"n"], 25, 40, Some(20)),
                // Lost connection; resume from the checkpoint at 10: SET a is a repeat.
                sync(SyncMode::Continue, 10),
                cmd(Some(0), &[b"SET", b"a", b"1"], 10, 20, None),
                cmd(Some(1), &[b"INCR", b"n"], 25, 40, Some(20)),
                exec(20, 50),
                cmd(Some(1), &[b"INCR", b"n"], 25, 40, Some(20)),
                exec(20, 50),
            ],
        );
        let want = concat!(
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n",
            "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n",
            "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n",
            "*1\r\n$5\r\nMULTI\r\n",
            "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
            "*1\r\n$7\r\nDISCARD\r\n",
            // After DISCARD the db is re-selected (a SELECT queued in the MULTI would not have run).
            "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n",
            "*1\r\n$5\r\nMULTI\r\n",
            "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
            "*1\r\n$4\r\nEXEC\r\n",
        );
        assert_eq!(out, want);
    }

    #[test]
    fn resync_flushes_unless_told_not_to_and_forgets_offsets() {
        let events = [
            cmd(Some(0), &[b"SET", b"a", b"1"], 0, 500, None),
            LiveEvent::Resync { replid: R, offset: 0, previous_replid: R, previous_offset: 500 },
            sync(SyncMode::Full, 0),
            cmd(Some(0), &[b"SET", b"b", b"2"], 0, 30, None),
        ];
        let set_a = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
        let set_b = "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n";
        let out = run(&mut RespStreamWriter::new(Vec::new()), &events);
        assert_eq!(out, format!("{set_a}*1\r\n$8\r\nFLUSHALL\r\n{set_b}"));
        let out = run(&mut RespStreamWriter::new(Vec::new()).flush_on_resync(false), &events);
        assert_eq!(out, format!("{set_a}{set_b}"));
    }

    #[test]
    fn output_ending_inside_a_transaction_discards_it() {
        let mut w = RespStreamWriter::new(Vec::new());
        w.live(&cmd(None, &[b"SET", b"a", b"1"], 0, 10, Some(0))).unwrap();
        w.finish().unwrap();
        assert_eq!(
            w.get_ref(),
            b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$7\r\nDISCARD\r\n"
        );

        let mut w = RespStreamWriter::new(Vec::new());
        w.live(&cmd(None, &[b"SET", b"a", b"1"], 0, 10, Some(0))).unwrap();
        w.abort().unwrap();
        assert!(w.get_ref().ends_with(b"*1\r\n$7\r\nDISCARD\r\n"));
    }

    #[test]
    fn an_exec_with_nothing_written_writes_nothing() {
        let out = run(&mut RespStreamWriter::new(Vec::new()), &[exec(5, 9)]);
        assert_eq!(out, "");
    }
}
