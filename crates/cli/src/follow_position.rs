//! [`StreamPosition`]: the replication ID and db in force after the last output handed over,
//! and the open `MULTI`, if any.
//!
//! A sink that commits its checkpoint together with its records (`--kafka-transactional`)
//! needs them at the moment it commits, before the replication crate has worked out its own
//! checkpoint; and it must not commit part of a Redis transaction, because a resume in the
//! middle of one would replay its rest without the `MULTI` (the replication crate rounds its
//! own checkpoints down to the `MULTI` for the same reason).

use replica::{Command, CommandKind, ReplId};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamPosition {
    pub replid: Option<ReplId>,
    /// `None` until the stream names one (a `SELECT`, or the snapshot's `repl-stream-db`).
    pub db: Option<u64>,
    /// The open `MULTI`: the offset before it and the db then.
    open_tx: Option<(u64, Option<u64>)>,
}

/// Where a commit may end: an offset outside any transaction, and what holds there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    pub offset: u64,
    pub replid: Option<ReplId>,
    pub db: Option<u64>,
}

impl StreamPosition {
    /// A new stream (a full sync or a continued one) under `replid`.
    pub fn stream(&mut self, replid: ReplId) {
        *self = StreamPosition { replid: Some(replid), db: None, open_tx: None };
    }

    /// A snapshot event: its `repl-stream-db` is the db the stream continues in.
    pub fn snapshot(&mut self, ev: &rdb::Event<'_>) {
        if let Some(db) = replica::stream_db(ev) {
            self.db = db;
        }
    }

    pub fn command(&mut self, c: &Command) {
        match c.kind {
            CommandKind::Multi => self.open_tx = Some((c.start_offset, c.db)),
            CommandKind::Exec => self.open_tx = None,
            _ => {}
        }
        self.replid = Some(c.replid);
        self.db = c.db;
    }

    /// The last point at or before `handed` (the end of everything handed over) that is not
    /// inside a transaction.
    pub fn boundary(&self, handed: u64) -> Boundary {
        match self.open_tx {
            Some((start, db)) if start < handed => Boundary { offset: start, replid: self.replid, db },
            _ => Boundary { offset: handed, replid: self.replid, db: self.db },
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use replica::TxId;

    use super::*;

    fn cmd(kind: CommandKind, db: u64, start: u64, end: u64) -> Command {
        Command {
            kind,
            db: Some(db),
            args: vec![Bytes::from_static(b"X")],
            start_offset: start,
            end_offset: end,
            replid: ReplId::parse(b"8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1").unwrap(),
            tx: None,
        }
    }

    #[test]
    fn a_boundary_never_falls_inside_a_transaction() {
        let mut p = StreamPosition::default();
        p.command(&cmd(CommandKind::Select, 1, 0, 10));
        p.command(&cmd(CommandKind::Data, 1, 10, 30));
        assert_eq!((p.boundary(30).offset, p.boundary(30).db), (30, Some(1)));
        let multi = Command { tx: Some(TxId(30)), ..cmd(CommandKind::Multi, 1, 30, 45) };
        p.command(&multi);
        p.command(&cmd(CommandKind::Select, 2, 45, 60));
        p.command(&cmd(CommandKind::Data, 2, 60, 80));
        assert_eq!((p.boundary(80).offset, p.boundary(80).db), (30, Some(1)), "before MULTI, in its db");
        p.command(&cmd(CommandKind::Exec, 2, 80, 94));
        assert_eq!((p.boundary(94).offset, p.boundary(94).db), (94, Some(2)));
    }

    #[test]
    fn the_snapshot_names_the_stream_db() {
        let mut p = StreamPosition::default();
        p.stream(ReplId::parse(b"8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1").unwrap());
        p.snapshot(&rdb::Event::Aux { key: rdb::Str::Bytes(b"repl-stream-db"), value: rdb::Str::Int(3) });
        assert_eq!(p.boundary(100).db, Some(3));
    }
}
