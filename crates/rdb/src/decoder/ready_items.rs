//! Handing out a key's next items in one go ([`crate::Parser::ready_items`]) instead of one
//! event each.
//!
//! Going through `advance` and a sink call per element cost more than writing most elements
//! out: the per-event round trip was about a quarter of `--format json` on collections. Two
//! kinds of items can be had without it:
//! - the rest of a compact blob (listpack, ziplist, intset, stream node): it was parsed and
//!   validated whole before its first element was reported, so its other elements cannot fail
//!   and need no more input;
//! - the next elements of a plain collection (hashtable set or hash, skiplist zset, linked
//!   list) that lie whole in the buffered input: they are decoded now, and the run stops before
//!   the first one that is cut short or bad, which the next `advance` then retries or reports
//!   exactly as it would have.
//!
//! Either way the decoder ends up exactly where emitting them one by one would have left it
//! (state, offset, element count, raw capture), and the items are the same, in the same order.

use super::*;
use crate::value::Str;

/// At most this many plain elements per run, so that the run's table stays small.
const PLAIN_RUN: usize = 1024;
/// A plain run stops once its decompressed strings (which all stay in the scratch buffer until
/// the run has been handed out) take this much.
const PLAIN_RUN_SCRATCH: usize = 1 << 16;

/// Items of the current key that follow the event just handed out, as the [`Item`]s the
/// decoder would have reported one event at a time, in the same order.
pub struct ReadyItems<'a> {
    source: Source<'a>,
    /// Index of the next entry in the source.
    idx: usize,
    end: usize,
    /// Absolute offset of the input slice's first byte.
    origin: u64,
    /// [`crate::Parser::offset`] before these items.
    start_offset: u64,
}

enum Source<'a> {
    Blob {
        blob: &'a [u8],
        refs: &'a [SRef],
        scores: &'a [f64],
        stream: &'a StreamTables,
        items: BlobItems,
        /// Absolute offset just after the blob, where the last element leaves the parser.
        end_offset: u64,
    },
    /// Decoded plain elements, each with where it ends in the input slice.
    Plain { bases: Bases<'a>, run: &'a [(ItemRef, u32)] },
}

impl<'a> ReadyItems<'a> {
    /// The next item, with [`crate::Parser::offset`] as it would be just after that item's
    /// event (the elements of a blob before its last leave it where the blob starts).
    #[inline(always)]
    pub fn next_with_offset(&mut self) -> Option<(Item<'a>, u64)> {
        let i = self.idx;
        let item = self.next()?;
        let offset = match &self.source {
            Source::Blob { end_offset, .. } if self.idx >= self.end => *end_offset,
            Source::Blob { .. } => self.start_offset,
            Source::Plain { run, .. } => self.origin + u64::from(run[i].1),
        };
        Some((item, offset))
    }
}

#[inline(always)]
fn blob_str(blob: &[u8], r: SRef) -> Str<'_> {
    match r {
        SRef::Blob(s, e) => Str::Bytes(&blob[s as usize..e as usize]),
        SRef::Int(i) => Str::Int(i),
        // Blob parsing only produces blob and integer references.
        SRef::In(..) | SRef::Scratch(..) => Str::Bytes(&[]),
    }
}

impl<'a> Iterator for ReadyItems<'a> {
    type Item = Item<'a>;

    // Inlined into the consumer's loop, the item is built in registers rather than returned
    // through memory.
    #[inline(always)]
    fn next(&mut self) -> Option<Item<'a>> {
        let i = self.idx;
        if i >= self.end {
            return None;
        }
        match &self.source {
            Source::Blob { blob, refs: r, scores, stream, items, .. } => {
                let s = |r: SRef| blob_str(blob, r);
                let (item, n) = match items {
                    BlobItems::List => (Item::ListElement(s(r[i])), 1),
                    BlobItems::Set => (Item::SetMember(s(r[i])), 1),
                    BlobItems::Zset => (Item::ZsetEntry { member: s(r[i]), score: scores[i / 2] }, 2),
                    BlobItems::Hash => (Item::HashField { field: s(r[i]), value: s(r[i + 1]), expire_at_ms: None }, 2),
                    BlobItems::HashTtl => {
                        let expire_at_ms = match r[i + 2] {
                            SRef::Int(t) if t != 0 => Some(t),
                            _ => None,
                        };
                        (Item::HashField { field: s(r[i]), value: s(r[i + 1]), expire_at_ms }, 3)
                    }
                    BlobItems::StreamNode => {
                        let (id, pairs) = stream.entry(i);
                        let fields = stream.fields(blob, pairs.0 as usize..pairs.1 as usize);
                        (Item::StreamEntry { id, fields }, 1)
                    }
                };
                self.idx = i + n;
                Some(item)
            }
            Source::Plain { bases: b, run } => {
                self.idx = i + 1;
                Some(match run[i].0 {
                    ItemRef::List(s) => Item::ListElement(b.str(s)),
                    ItemRef::Set(s) => Item::SetMember(b.str(s)),
                    ItemRef::Zset(m, score) => Item::ZsetEntry { member: b.str(m), score },
                    ItemRef::Hash(f, v, expire_at_ms) => {
                        Item::HashField { field: b.str(f), value: b.str(v), expire_at_ms }
                    }
                    // A plain run holds only the elements above (see `Decoder::drain_plain`).
                    _ => {
                        self.idx = self.end;
                        return None;
                    }
                })
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.source {
            Source::Blob { items, .. } => (self.end - self.idx).div_ceil(items.group()),
            Source::Plain { .. } => self.end - self.idx,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReadyItems<'_> {}

impl BlobItems {
    /// How many blob entries make one element.
    pub(super) fn group(self) -> usize {
        match self {
            BlobItems::List | BlobItems::Set | BlobItems::StreamNode => 1,
            BlobItems::Zset | BlobItems::Hash => 2,
            BlobItems::HashTtl => 3,
        }
    }
}

/// What [`Decoder::drain`] took: which items, and how many bytes of the input are now consumed.
pub(crate) struct Drained {
    what: DrainedKind,
    start_offset: u64,
    pub consumed: usize,
}

enum DrainedKind {
    /// Blob entries from this index on.
    Blob { items: BlobItems, from: usize },
    /// The decoder's plain run.
    Plain,
}

impl Decoder {
    /// When the event just handed out for `input` was an item with more items of the same key
    /// ready after it, consumes them as emitting them one by one would have. `None` otherwise,
    /// and then nothing changes.
    pub(crate) fn drain(&mut self, input: &[u8]) -> Option<Drained> {
        // The CRC must be fed by the caller (`Parser`): `advance` hashed only up to the last
        // event, and nothing here hashes the rest.
        if !self.opts.items || !self.crc_by_caller || !matches!(self.pending, Pending::Item(_)) {
            return None;
        }
        let start_offset = self.offset;
        let what = match self.state {
            State::Blob { items, then } => {
                let from = self.blob_idx;
                let total =
                    if items == BlobItems::StreamNode { self.stream.entry_count() } else { self.blob_refs.len() };
                self.key_elements += ((total - from) / items.group()) as u64;
                self.blob_idx = total;
                self.state = self.after(then);
                self.offset = self.blob_unit_end;
                DrainedKind::Blob { items, from }
            }
            State::Plain { .. } => {
                self.drain_plain(input)?;
                DrainedKind::Plain
            }
            _ => return None,
        };
        let consumed = (self.offset - self.origin) as usize;
        if self.raw.active {
            self.capture_raw(input, consumed);
        }
        Some(Drained { what, start_offset, consumed })
    }

    /// Decodes the plain elements that lie whole in `input` after the last event into
    /// `plain_run`, moving the offset past them. `None` when not even one does.
    fn drain_plain(&mut self, input: &[u8]) -> Option<()> {
        let more = self.total.map(|t| t.saturating_sub(self.origin + input.len() as u64));
        let pos = (self.offset - self.origin) as usize;
        let mut c = Cursor { buf: input, pos, more, total: self.total, max_unit: self.opts.max_string };
        // The run's decompressed strings go after the last event's in the scratch buffer, which
        // therefore stays valid whatever happens here.
        let scratch_start = self.scratch_used;
        self.plain_run.clear();
        while let State::Plain { kind, remaining } = self.state {
            if self.plain_run.len() == PLAIN_RUN || self.scratch_used - scratch_start >= PLAIN_RUN_SCRATCH {
                break;
            }
            let at = c.pos;
            // A unit that fails leaves the state as it was: `advance` retries it (with more
            // input) or reports its error, as it would have without the run.
            if self.plain_item(&mut c, kind, remaining).is_err() {
                c.pos = at;
                break;
            }
            let Pending::Item(item) = &self.pending else { break };
            self.plain_run.push((item.clone(), c.pos as u32));
        }
        if self.plain_run.is_empty() {
            return None;
        }
        self.key_elements += self.plain_run.len() as u64;
        self.offset = self.origin + c.pos as u64;
        Some(())
    }

    /// The items that [`Decoder::drain`] took, read from the same `input` slice.
    pub(crate) fn ready_items<'a>(&'a self, input: &'a [u8], d: &Drained) -> ReadyItems<'a> {
        let (source, idx, end) = match d.what {
            DrainedKind::Blob { items, from } => (
                Source::Blob {
                    blob: self.blob_slice(input),
                    refs: &self.blob_refs,
                    scores: &self.blob_scores,
                    stream: &self.stream,
                    items,
                    end_offset: self.blob_unit_end,
                },
                from,
                self.blob_idx,
            ),
            DrainedKind::Plain => (
                Source::Plain {
                    bases: Bases { input, scratch: &self.scratch[..self.scratch_used], blob: &[] },
                    run: &self.plain_run,
                },
                0,
                self.plain_run.len(),
            ),
        };
        ReadyItems { source, idx, end, origin: self.origin, start_offset: d.start_offset }
    }
}
