//! Owned descriptions of events, resolved into borrowed [`Event`]s on demand.
//!
//! `Decoder::advance` parses into these (ranges, not slices) so that it returns nothing
//! borrowed; `Decoder::event` then lends out slices of the input, the LZF scratch or the
//! current blob. This split is what lets the owner of the buffer loop on "need more" without
//! fighting the borrow checker, and it costs no copies.

use crate::event::*;
use crate::value::Str;

/// Where a string lives.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SRef {
    /// Bytes of the current input slice.
    In(u32, u32),
    /// Bytes of the per-unit LZF scratch buffer.
    Scratch(u32, u32),
    /// Bytes of the current compact blob (in the input or decompressed).
    Blob(u32, u32),
    Int(i64),
}

impl SRef {
    #[inline]
    pub fn input(r: (usize, usize)) -> SRef {
        SRef::In(r.0 as u32, r.1 as u32)
    }

    /// A reference to `s`, which an iterator over `blob` returned (so it lies inside `blob`).
    #[inline]
    pub fn in_blob(blob: &[u8], s: Str<'_>) -> SRef {
        match s {
            Str::Bytes(b) => {
                let start = (b.as_ptr() as usize - blob.as_ptr() as usize) as u32;
                SRef::Blob(start, start + b.len() as u32)
            }
            Str::Int(i) => SRef::Int(i),
        }
    }
}

/// The three places a string can point into.
pub(crate) struct Bases<'a> {
    pub input: &'a [u8],
    pub scratch: &'a [u8],
    pub blob: &'a [u8],
}

impl<'a> Bases<'a> {
    #[inline]
    pub fn str(&self, r: SRef) -> Str<'a> {
        match r {
            SRef::In(s, e) => Str::Bytes(&self.input[s as usize..e as usize]),
            SRef::Scratch(s, e) => Str::Bytes(&self.scratch[s as usize..e as usize]),
            SRef::Blob(s, e) => Str::Bytes(&self.blob[s as usize..e as usize]),
            SRef::Int(i) => Str::Int(i),
        }
    }

    #[inline]
    pub fn bytes(&self, r: SRef) -> &'a [u8] {
        match self.str(r) {
            Str::Bytes(b) => b,
            Str::Int(_) => &[],
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct KeyRef {
    pub key: SRef,
    pub value_type: ValueType,
    pub encoding: Encoding,
    pub type_byte: u8,
    pub expire_at_ms: Option<i64>,
    pub idle_s: Option<u64>,
    pub freq: Option<u8>,
    pub len_hint: Option<u64>,
    pub offset: u64,
}

impl ItemRef {
    /// Whether this item is one element of the value (what `KeyEnd` counts), rather than
    /// stream metadata.
    pub fn is_element(&self) -> bool {
        matches!(
            self,
            ItemRef::String(_)
                | ItemRef::List(_)
                | ItemRef::Set(_)
                | ItemRef::Zset(..)
                | ItemRef::Hash(..)
                | ItemRef::StreamEntry { .. }
                | ItemRef::Module { .. }
        )
    }
}

#[derive(Clone, Debug)]
pub(crate) enum ItemRef {
    String(SRef),
    List(SRef),
    Set(SRef),
    Zset(SRef, f64),
    Hash(SRef, SRef, Option<i64>),
    /// An entry of the current stream node; `pairs` indexes the decoder's pair table.
    StreamEntry {
        id: StreamId,
        pairs: (u32, u32),
    },
    StreamMeta(StreamMeta),
    StreamGroup {
        name: SRef,
        last_id: StreamId,
        entries_read: Option<u64>,
        pending: u64,
    },
    StreamPending {
        id: StreamId,
        delivery_time_ms: i64,
        delivery_count: u64,
    },
    StreamConsumer {
        name: SRef,
        seen_time_ms: i64,
        active_time_ms: i64,
        pending: u64,
    },
    StreamConsumerPending(StreamId),
    Module {
        encver: u16,
        raw: SRef,
    },
}

#[derive(Clone, Debug)]
pub(crate) enum Pending {
    None,
    Begin,
    Aux(SRef, SRef),
    SelectDb(u64),
    ResizeDb(u64, u64),
    SlotInfo(u64, u64, u64),
    SlotImport(SRef, Vec<(u64, u64)>),
    ModuleAux { encver: u16, when: u64, raw: SRef },
    Function(SRef),
    FunctionPreGa { name: SRef, engine: SRef, description: Option<SRef>, code: SRef },
    Key(KeyRef),
    Item(ItemRef),
    RawValue,
    KeyEnd,
    End(Checksum),
}
