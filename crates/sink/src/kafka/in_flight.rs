//! [`InFlight`]: which batches are fully acknowledged, so the delivered offset never passes a
//! record that is not.
//!
//! librdkafka acknowledges records per partition, so acks for different partitions (and
//! after a retry, within one) arrive in any order. Each batch counts its unacknowledged
//! records; the delivered offset is the end offset of the last batch such that it and every
//! batch before it have no record outstanding. A record that fails for good leaves its batch
//! unresolved forever: nothing after it is ever reported delivered by this producer, and the
//! failure is kept to be returned by the next `send` or `flush`.

use std::collections::VecDeque;

/// A batch whose records are not all acknowledged.
#[derive(Debug)]
struct Pending {
    /// `None` while the batch is still being produced (more records may come).
    end_offset: Option<u64>,
    outstanding: usize,
}

/// The bookkeeping; `F` describes a failed record.
#[derive(Debug)]
pub struct InFlight<F> {
    pending: VecDeque<Pending>,
    /// The sequence number of `pending[0]`.
    first_seq: u64,
    delivered: u64,
    records: usize,
    /// Bytes of those records (values and keys), which the sink's window bounds.
    bytes: usize,
    failure: Option<F>,
}

impl<F> InFlight<F> {
    /// `delivered` is where delivery starts (the checkpoint's offset).
    pub fn new(delivered: u64) -> Self {
        InFlight { pending: VecDeque::new(), first_seq: 0, delivered, records: 0, bytes: 0, failure: None }
    }

    /// Starts a batch; its records are counted with [`InFlight::add`] under the returned id.
    pub fn open(&mut self) -> u64 {
        self.pending.push_back(Pending { end_offset: None, outstanding: 0 });
        self.first_seq + self.pending.len() as u64 - 1
    }

    /// One more record of batch `seq`, of `bytes`, is handed to the producer (counted before
    /// the hand-over, because its ack can arrive before `produce` returns).
    pub fn add(&mut self, seq: u64, bytes: usize) {
        self.at(seq).outstanding += 1;
        self.records += 1;
        self.bytes += bytes;
    }

    /// The producer refused the record counted last (its queue is full, or it is invalid).
    pub fn unadd(&mut self, seq: u64, bytes: usize) {
        self.at(seq).outstanding -= 1;
        self.records -= 1;
        self.bytes -= bytes;
    }

    /// Batch `seq` has all its records; it ends at `end_offset`.
    pub fn close(&mut self, seq: u64, end_offset: u64) {
        let batch = self.at(seq);
        batch.end_offset = Some(end_offset);
        if batch.outstanding == 0 && self.pending.len() > 1 {
            // An empty (or already acknowledged) batch after others: fold it into the one
            // before, so a stream of PINGs while the broker is away does not grow the queue.
            self.pending.pop_back();
            self.pending.back_mut().expect("more than one").end_offset = Some(end_offset);
        }
        self.advance();
    }

    /// A record of batch `seq`, of `bytes`, is acknowledged.
    pub fn ack(&mut self, seq: u64, bytes: usize) {
        if let Some(batch) = self.get(seq) {
            batch.outstanding -= 1;
            self.records -= 1;
            self.bytes -= bytes;
            self.advance();
        }
    }

    /// A record of batch `seq`, of `bytes`, failed for good. The first failure is kept.
    pub fn fail(&mut self, seq: u64, bytes: usize, failure: F) {
        if self.get(seq).is_some() {
            self.records -= 1;
            self.bytes -= bytes;
        }
        self.failure.get_or_insert(failure);
    }

    /// Forgets every batch and failure (after a transaction is aborted and its records
    /// purged), with `delivered` as the new starting point.
    pub fn reset(&mut self, delivered: u64) {
        self.first_seq += self.pending.len() as u64;
        self.pending.clear();
        self.records = 0;
        self.bytes = 0;
        self.failure = None;
        self.delivered = delivered;
    }

    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Records handed to the producer and not yet acknowledged or failed.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Whether a window of `window` bytes is full: records are outstanding and they hold at
    /// least that much (so a window of 0 is full while any record is).
    pub fn window_full(&self, window: usize) -> bool {
        self.records > 0 && self.bytes >= window
    }

    pub fn failure(&self) -> Option<&F> {
        self.failure.as_ref()
    }

    fn advance(&mut self) {
        while let Some(Pending { end_offset: Some(end), outstanding: 0 }) = self.pending.front() {
            self.delivered = *end;
            self.pending.pop_front();
            self.first_seq += 1;
        }
    }

    fn at(&mut self, seq: u64) -> &mut Pending {
        self.get(seq).expect("a batch that is open")
    }

    fn get(&mut self, seq: u64) -> Option<&mut Pending> {
        let index = seq.checked_sub(self.first_seq)?;
        self.pending.get_mut(usize::try_from(index).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(f: &mut InFlight<&'static str>, records: usize, end: u64) -> u64 {
        let seq = f.open();
        for _ in 0..records {
            f.add(seq, 10);
        }
        f.close(seq, end);
        seq
    }

    #[test]
    fn an_out_of_order_ack_does_not_pass_an_earlier_record() {
        let mut f = InFlight::<&str>::new(100);
        let a = batch(&mut f, 2, 150);
        let b = batch(&mut f, 1, 170);
        f.ack(b, 10);
        assert_eq!(f.delivered(), 100);
        f.ack(a, 10);
        assert_eq!(f.delivered(), 100);
        f.ack(a, 10);
        assert_eq!((f.delivered(), f.records()), (170, 0));
    }

    #[test]
    fn empty_batches_fold_into_the_one_before() {
        let mut f = InFlight::<&str>::new(0);
        batch(&mut f, 0, 10);
        assert_eq!(f.delivered(), 10);
        let a = batch(&mut f, 1, 20);
        for end in 21..1000 {
            batch(&mut f, 0, end);
        }
        assert_eq!(f.pending.len(), 1);
        f.ack(a, 10);
        assert_eq!(f.delivered(), 999);
    }

    #[test]
    fn an_ack_before_close_waits_for_the_close() {
        let mut f = InFlight::<&str>::new(0);
        let a = f.open();
        f.add(a, 10);
        f.ack(a, 10);
        assert_eq!(f.delivered(), 0);
        f.close(a, 5);
        assert_eq!(f.delivered(), 5);
    }

    #[test]
    fn a_failure_stops_delivery_for_good() {
        let mut f = InFlight::<&str>::new(0);
        let a = batch(&mut f, 2, 10);
        let b = batch(&mut f, 1, 20);
        f.fail(a, 10, "too large");
        f.ack(a, 10);
        f.ack(b, 10);
        assert_eq!((f.delivered(), f.records(), f.failure()), (0, 0, Some(&"too large")));
        f.reset(0);
        batch(&mut f, 0, 30);
        assert!(!f.window_full(0));
        assert_eq!((f.delivered(), f.failure()), (30, None));
    }

    #[test]
    fn the_window_counts_unacknowledged_bytes() {
        let mut f = InFlight::<&str>::new(0);
        assert!(!f.window_full(0), "nothing outstanding: never full");
        let a = batch(&mut f, 3, 10);
        assert!(f.window_full(0) && f.window_full(30) && !f.window_full(31));
        f.ack(a, 10);
        assert!(f.window_full(20) && !f.window_full(21));
        f.ack(a, 10);
        f.ack(a, 10);
        assert!(!f.window_full(0));
        assert_eq!(f.delivered(), 10);
    }
}
