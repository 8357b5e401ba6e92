//! Streams (types 15, 19, 21): the node listpacks and the consumer-group tables
//! (redis src/rdb.c rdbSaveObject/rdbLoadObject, src/t_stream.c for the node layout).
//!
//! A node is parsed whole (nodes are small: `stream-node-max-bytes`, 4 KB by default) into a
//! table of entries whose fields point into the listpack, so entries can then be emitted one
//! at a time without copying.

use crate::cursor::{Cursor, Unit};
use crate::error::BlobError;
use crate::event::{StreamId, StreamMeta};
use crate::listpack::ListpackIter;
use crate::refs::SRef;
use crate::value::Str;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Where the decoder is inside a stream value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamPhase {
    Nodes { remaining: u64 },
    Groups { remaining: u64 },
    GroupPel { remaining: u64, groups: u64 },
    Consumers { remaining: u64, groups: u64 },
    ConsumerPel { remaining: u64, consumers: u64, groups: u64 },
}

pub(crate) struct GroupHeader {
    pub last_id: StreamId,
    pub entries_read: Option<u64>,
    pub pending: u64,
}

#[derive(Default)]
pub(crate) struct StreamTables {
    type_byte: u8,
    remaining_nodes: u64,
    first_live: Option<StreamId>,
    master_fields: Vec<SRef>,
    /// (id, start, end) into `pairs`, for the live entries of the current node.
    entries: Vec<(StreamId, u32, u32)>,
    pairs: Vec<(SRef, SRef)>,
}

/// The field/value pairs of one entry.
#[derive(Clone, Debug)]
pub struct EntryFields<'a> {
    blob: &'a [u8],
    pairs: std::slice::Iter<'a, (SRef, SRef)>,
}

impl<'a> EntryFields<'a> {
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    fn str(&self, r: SRef) -> Str<'a> {
        match r {
            SRef::Blob(s, e) => Str::Bytes(&self.blob[s as usize..e as usize]),
            SRef::Int(i) => Str::Int(i),
            // Node parsing only produces blob and integer references.
            SRef::In(..) | SRef::Scratch(..) => Str::Bytes(&[]),
        }
    }
}

impl<'a> Iterator for EntryFields<'a> {
    type Item = (Str<'a>, Str<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let (f, v) = *self.pairs.next()?;
        Some((self.str(f), self.str(v)))
    }
}

/// An integer stream field, as lpGetInteger reads it: integer-encoded, or decimal text.
fn as_int(s: Str<'_>) -> Option<i64> {
    match s {
        Str::Int(i) => Some(i),
        Str::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
    }
}

impl StreamTables {
    pub fn begin(&mut self, type_byte: u8) {
        self.type_byte = type_byte;
        self.first_live = None;
        self.entries.clear();
        self.pairs.clear();
    }

    pub fn set_remaining_nodes(&mut self, n: u64) {
        self.remaining_nodes = n;
    }

    pub fn after_node(&self) -> StreamPhase {
        StreamPhase::Nodes { remaining: self.remaining_nodes }
    }

    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    pub fn entry(&self, i: usize) -> (StreamId, (u32, u32)) {
        let (id, s, e) = self.entries[i];
        (id, (s, e))
    }

    pub fn fields<'a>(&'a self, blob: &'a [u8], range: std::ops::Range<usize>) -> crate::event::StreamFields<'a> {
        crate::event::StreamFields { inner: EntryFields { blob, pairs: self.pairs[range].iter() } }
    }

    /// Parses one node listpack: the master entry, then every entry, keeping the live ones.
    pub fn parse_node(&mut self, master: StreamId, blob: &[u8]) -> Result<(), BlobError> {
        const WHAT: &str = "stream node listpack";
        self.entries.clear();
        self.pairs.clear();
        self.master_fields.clear();
        let mut it = ListpackIter::new(blob)?;
        let end = blob.len();
        let int = |s: Str<'_>, what: &str| -> Result<i64, BlobError> {
            as_int(s).ok_or_else(|| BlobError::new(WHAT, end, format!("{what} is not an integer")))
        };
        let count = int(it.next_required()?, "entry count")?;
        let deleted = int(it.next_required()?, "deleted count")?;
        let nfields = int(it.next_required()?, "master field count")?;
        if count < 0 || deleted < 0 || nfields < 0 {
            return Err(BlobError::new(WHAT, 0, "negative count in the master entry"));
        }
        for _ in 0..nfields {
            let f = it.next_required()?;
            self.master_fields.push(SRef::in_blob(blob, f));
        }
        if int(it.next_required()?, "master terminator")? != 0 {
            return Err(BlobError::new(WHAT, 0, "master entry does not end with 0"));
        }
        let mut seen: i64 = 0;
        while let Some(flags) = it.next() {
            let flags = int(flags?, "entry flags")?;
            let ms = int(it.next_required()?, "entry ms delta")?;
            let seq = int(it.next_required()?, "entry seq delta")?;
            let id = StreamId { ms: master.ms.wrapping_add(ms as u64), seq: master.seq.wrapping_add(seq as u64) };
            let start = self.pairs.len() as u32;
            let (n, expect_lp_count) = if flags & FLAG_SAMEFIELDS != 0 {
                for i in 0..self.master_fields.len() {
                    let v = it.next_required()?;
                    self.pairs.push((self.master_fields[i], SRef::in_blob(blob, v)));
                }
                let n = self.master_fields.len() as i64;
                (n, n + 3)
            } else {
                let n = int(it.next_required()?, "entry field count")?;
                if n < 0 {
                    return Err(BlobError::new(WHAT, 0, "negative field count"));
                }
                for _ in 0..n {
                    let f = it.next_required()?;
                    let v = it.next_required()?;
                    self.pairs.push((SRef::in_blob(blob, f), SRef::in_blob(blob, v)));
                }
                (n, 2 * n + 4)
            };
            let lp_count = int(it.next_required()?, "entry element count")?;
            if lp_count != expect_lp_count {
                return Err(BlobError::new(
                    WHAT,
                    end,
                    format!("entry {id} with {n} fields says it has {lp_count} elements, not {expect_lp_count}"),
                ));
            }
            if flags & FLAG_DELETED != 0 {
                self.pairs.truncate(start as usize);
            } else {
                self.first_live.get_or_insert(id);
                self.entries.push((id, start, self.pairs.len() as u32));
            }
            seen += 1;
        }
        if seen != count + deleted {
            return Err(BlobError::new(
                WHAT,
                end,
                format!("master entry declares {} entries, the node holds {seen}", count + deleted),
            ));
        }
        Ok(())
    }

    fn id(c: &mut Cursor<'_>) -> Unit<StreamId> {
        Ok(StreamId { ms: c.length()?, seq: c.length()? })
    }

    pub fn read_meta(&self, c: &mut Cursor<'_>) -> Unit<StreamMeta> {
        let length = c.length()?;
        let last_id = Self::id(c)?;
        let (first_id, max_deleted_id, entries_added) = if self.type_byte >= 19 {
            (Self::id(c)?, Self::id(c)?, c.length()?)
        } else {
            // Type 15 predates these fields; Redis derives them the same way on load.
            (self.first_live.unwrap_or_default(), StreamId::default(), length)
        };
        let groups = c.length()?;
        c.check_count(groups, 5, "stream group count")?;
        Ok(StreamMeta { length, last_id, first_id, max_deleted_id, entries_added, groups })
    }

    /// A group header after its name; returns the phase that reads its pending list.
    pub fn read_group(&self, c: &mut Cursor<'_>, groups_after: u64) -> Unit<(GroupHeader, StreamPhase)> {
        let last_id = Self::id(c)?;
        let entries_read = if self.type_byte >= 19 {
            // -1 (unknown) is saved as the 64-bit length u64::MAX.
            Some(c.length()?).filter(|&n| n != u64::MAX)
        } else {
            None
        };
        let pending = c.length()?;
        c.check_count(pending, 25, "stream pending entry count")?;
        Ok((
            GroupHeader { last_id, entries_read, pending },
            StreamPhase::GroupPel { remaining: pending, groups: groups_after },
        ))
    }

    /// One group PEL entry: a raw 16-byte ID, delivery time and delivery count.
    pub fn read_pel_entry(c: &mut Cursor<'_>) -> Unit<(StreamId, i64, u64)> {
        let raw: [u8; 16] = c.array()?;
        let time = c.i64_le()?;
        let count = c.length()?;
        Ok((StreamId::from_be_bytes(&raw), time, count))
    }

    /// A consumer after its name: seen time, active time (type 21; older types use seen time)
    /// and the number of pending IDs that follow.
    pub fn read_consumer(&self, c: &mut Cursor<'_>) -> Unit<(i64, i64, u64)> {
        let seen = c.i64_le()?;
        let active = if self.type_byte >= 21 { c.i64_le()? } else { seen };
        let n = c.length()?;
        c.check_count(n, 16, "consumer pending count")?;
        Ok((seen, active, n))
    }
}
