//! Where the replica is in its master's stream, and what it may acknowledge.
//!
//! Offsets here are counts of stream bytes, as in `PSYNC` and `REPLCONF ACK`: after a
//! `+FULLRESYNC <id> 100`, the replica is at 100 and the next frame occupies 101..=100+len.
//! A frame's `[start, end)` is the offset before it and the offset after it, so a command that
//! ends at `end` is resumed after with `PSYNC <id> <end+1>`.

use std::collections::VecDeque;

use crate::config::AckPolicy;
use crate::id::TxId;

/// An open `MULTI`.
#[derive(Clone, Copy, Debug)]
struct OpenTx {
    id: TxId,
    start: u64,
}

#[derive(Debug)]
pub(crate) struct Position {
    policy: AckPolicy,
    /// The offset after the last complete frame.
    pub received: u64,
    /// Like Redis' `reploff`: `received`, except that it stays before an open `MULTI` until
    /// its `EXEC` arrives (redis 7.4.1 src/networking.c:2459-2490), so a resume never starts
    /// in the middle of a transaction.
    pub applied: u64,
    /// The end offset of the last command the caller reports as durably delivered. `None`
    /// until the snapshot of a full sync has been delivered.
    delivered: Option<u64>,
    /// The offset the sync started from (the `FULLRESYNC` offset, or the resumed one): the
    /// master never needs to hear of anything lower.
    floor: u64,
    /// The end offset of the last data event handed out (the snapshot counts as one, ending at
    /// the sync offset). Once that is delivered, everything after it is control frames (PING,
    /// REPLCONF, SELECT, MULTI, EXEC) that need no delivery, so the received position can be
    /// acknowledged. Without this, a master's PING every 10 s would show as growing lag.
    last_data_end: u64,
    /// The db after every received frame (`None`: unknown, as after `--from now` until the
    /// first SELECT).
    pub db: Option<u64>,
    tx: Option<OpenTx>,
    /// The db before the first entry of `selects`.
    base_db: Option<u64>,
    /// `(offset after a SELECT, its db)` for SELECTs past the acknowledged offset, so a
    /// checkpoint can name the db in effect at the offset it records.
    selects: VecDeque<(u64, Option<u64>)>,
    /// `[start, end)` of complete transactions past the acknowledged offset: a delivered
    /// offset inside one is rounded down to its start.
    txs: VecDeque<(u64, u64)>,
}

impl Position {
    pub fn new(policy: AckPolicy, offset: u64, db: Option<u64>, delivered: bool) -> Self {
        Position {
            policy,
            received: offset,
            applied: offset,
            delivered: delivered.then_some(offset),
            floor: offset,
            last_data_end: offset,
            db,
            tx: None,
            base_db: db,
            selects: VecDeque::new(),
            txs: VecDeque::new(),
        }
    }

    pub fn tx(&self) -> Option<TxId> {
        self.tx.map(|t| t.id)
    }

    /// Records a frame of `len` bytes that is not a command (an empty array).
    pub fn skip(&mut self, len: u64) {
        self.received += len;
        if self.tx.is_none() {
            self.applied = self.received;
        }
    }

    pub fn begin_tx(&mut self, start: u64) -> TxId {
        let id = TxId(start);
        self.tx = Some(OpenTx { id, start });
        id
    }

    /// Records a complete frame `[received, received+len)`; `data` marks a command that
    /// carries data (not PING, REPLCONF, SELECT, MULTI or EXEC). `ends_tx` is an EXEC that
    /// closes the open transaction.
    pub fn advance(&mut self, len: u64, data: bool, ends_tx: bool) {
        self.received += len;
        if data {
            self.last_data_end = self.received;
        }
        match self.tx {
            Some(tx) if ends_tx => {
                self.tx = None;
                self.txs.push_back((tx.start, self.received));
                self.applied = self.received;
            }
            Some(_) => {}
            None => self.applied = self.received,
        }
        self.prune();
    }

    /// Records a SELECT that has just been advanced past.
    pub fn select(&mut self, db: u64) {
        self.db = Some(db);
        self.selects.push_back((self.received, Some(db)));
    }

    pub fn deliver(&mut self, offset: u64) {
        let offset = offset.min(self.received);
        self.delivered = Some(self.delivered.map_or(offset, |d| d.max(offset)));
        self.prune();
    }

    pub fn has_delivered(&self) -> bool {
        self.delivered.is_some()
    }

    /// The offset to acknowledge to the master and to record in a checkpoint.
    pub fn ack_offset(&self) -> u64 {
        match (self.policy, self.delivered) {
            (AckPolicy::Received, _) => self.applied,
            (AckPolicy::Delivered, None) => self.floor.min(self.applied),
            (AckPolicy::Delivered, Some(d)) if d >= self.last_data_end => self.applied,
            (AckPolicy::Delivered, Some(d)) => {
                let d = d.min(self.applied).max(self.floor);
                self.txs.iter().find(|(start, end)| *start < d && d < *end).map_or(d, |(start, _)| *start)
            }
        }
    }

    /// The db in effect at `offset` (at or after the acknowledged offset).
    pub fn db_at(&self, offset: u64) -> Option<u64> {
        self.selects.iter().rev().find(|(at, _)| *at <= offset).map_or(self.base_db, |(_, db)| *db)
    }

    fn prune(&mut self) {
        // The common case, for every command outside a transaction with no SELECT pending.
        if self.selects.is_empty() && self.txs.is_empty() {
            return;
        }
        let floor = self.ack_offset();
        while let Some(&(at, db)) = self.selects.front() {
            if at > floor {
                break;
            }
            self.base_db = db;
            self.selects.pop_front();
        }
        while self.txs.front().is_some_and(|(_, end)| *end <= floor) {
            self.txs.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_offsets_inside_a_transaction_round_down() {
        let mut p = Position::new(AckPolicy::Delivered, 100, Some(0), true);
        p.advance(10, true, false); // SET 100..110
        let tx = p.begin_tx(110);
        p.advance(5, false, false); // MULTI 110..115
        p.advance(10, true, false); // SET 115..125
        assert_eq!(p.tx(), Some(tx));
        p.advance(10, true, false); // SET 125..135
        p.advance(5, false, true); // EXEC 135..140
        assert_eq!(p.applied, 140);
        p.deliver(110);
        assert_eq!(p.ack_offset(), 110);
        p.deliver(125);
        assert_eq!(p.ack_offset(), 110, "mid-transaction rounds down to before MULTI");
        p.deliver(135);
        assert_eq!(p.ack_offset(), 140, "the last data is delivered: EXEC needs no delivery");
        p.advance(14, false, false); // PING
        assert_eq!(p.ack_offset(), 154);
    }

    #[test]
    fn db_at_follows_selects() {
        let mut p = Position::new(AckPolicy::Delivered, 0, None, true);
        p.advance(10, false, false);
        p.select(3);
        p.advance(10, true, false); // SET in db 3, ends at 20
        p.advance(10, false, false);
        p.select(5);
        p.advance(10, true, false); // SET in db 5, ends at 40
        assert_eq!(p.db_at(0), None);
        assert_eq!(p.db_at(10), Some(3));
        assert_eq!(p.db_at(20), Some(3));
        assert_eq!(p.db_at(40), Some(5));
        p.deliver(20);
        assert_eq!(p.ack_offset(), 20);
        assert_eq!(p.db_at(p.ack_offset()), Some(3));
        p.deliver(40);
        assert_eq!(p.db_at(p.ack_offset()), Some(5));
    }
}
