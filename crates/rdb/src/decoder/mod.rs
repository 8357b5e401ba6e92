//! The RDB state machine: bytes in, events out, no IO.
//!
//! Decoding proceeds in atomic units (an opcode, a key header, one element, one compact blob).
//! [`Decoder::advance`] parses as many units as it can from the slice it is given and stops
//! at the first event, reporting how many bytes it consumed. A unit that is cut off by the end
//! of the slice is not consumed; the caller appends bytes and calls again. Compact blobs
//! (ziplists, listpacks, ...) stay unconsumed in the caller's buffer while their elements are
//! emitted one by one, so nothing is copied.

use crate::crc64::Crc64;
use crate::cursor::{Cursor, Len, Stop, Unit, ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF};
use crate::error::{BlobError, Error, ErrorKind, Result};
use crate::event::*;
use crate::format::{Family, Format};
use crate::refs::{Bases, ItemRef, KeyRef, Pending, SRef};
use crate::stream::{StreamPhase, StreamTables};
use crate::{double, intset, listpack, lzf, module, types, ziplist, zipmap};

mod raw_value;
mod ready_items;
mod stream_steps;
mod top;
mod values;

pub use ready_items::ReadyItems;

/// What `advance` achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// An event is ready: read it with [`Decoder::event`] using the same input slice, then
    /// drop `consumed` bytes from the front of the input.
    Event { consumed: usize },
    /// More input is needed; `consumed` bytes were used up without producing an event.
    NeedMore { consumed: usize },
    /// The RDB ended (after the checksum). `consumed` bytes were used; anything after them is
    /// not part of the RDB (a diskless end mark, or the replication stream).
    Done { consumed: usize },
}

/// `advance_impl`'s result: progress, or a request to feed the CRC before the checksum.
pub(crate) enum Advance {
    Progress(Progress),
    NeedCrc { consumed: usize },
}

/// Decoder settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Check the trailing CRC64 (on by default).
    pub verify_checksum: bool,
    /// When the input's total size is unknown (a pipe or socket), the largest single string or
    /// blob accepted before the length is called a lie. Redis' own ceiling for a bulk string
    /// is `proto-max-bulk-len`, 512 MB by default.
    pub max_string: u64,
    /// Report each part of a value as an [`Event::Item`] (the default). When false, values are
    /// still decoded and validated in full (LZF, blob structure, counts), but only key-level
    /// events are reported, with the element count on [`Event::KeyEnd`]: checks and listings
    /// that never look at elements skip the per-element work of building and handing out events.
    pub items: bool,
    /// Also hand out each key's serialized value ([`Event::RawValue`]: its type byte and value
    /// bytes exactly as in the file, what `DUMP` serializes) when it is at most this many
    /// bytes; 0 (the default) turns capture off. Used to migrate keys with `RESTORE`; larger
    /// values are left to their element events, which still come for every key, so memory
    /// stays bounded by this limit.
    pub raw_values_up_to: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { verify_checksum: true, max_string: 1 << 32, items: true, raw_values_up_to: 0 }
    }
}

/// Which elements a parsed blob holds, and how to group them into items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlobItems {
    List,
    Set,
    Zset,
    Hash,
    /// Field, value, TTL triplets (Redis hash field expiration in a listpack).
    HashTtl,
    /// Parsed stream node entries.
    StreamNode,
}

/// Which compact container a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlobKind {
    Ziplist,
    Listpack,
    Intset,
    Zipmap,
}

/// Where the decoder goes after the current blob has been emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    KeyEnd,
    Quicklist { remaining: u64, v2: bool },
    Stream,
}

/// A plain (non-blob) collection, read one element per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plain {
    List,
    Set,
    Zset,
    Zset2,
    Hash,
    /// Redis 24: TTLs relative to a per-key minimum.
    HashMetadata {
        min_expire: i64,
    },
    /// Redis 22 (7.4 release candidates): absolute TTLs.
    HashMetadataPreGa,
    /// Valkey 22.
    Hash2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Magic,
    Top,
    StringValue,
    Plain {
        kind: Plain,
        remaining: u64,
    },
    /// The next unit is a blob holding the whole value.
    BlobValue {
        kind: BlobKind,
        items: BlobItems,
        min_expire: Option<i64>,
    },
    /// Emitting elements of the parsed blob.
    Blob {
        items: BlobItems,
        then: After,
    },
    Quicklist {
        remaining: u64,
        v2: bool,
    },
    Stream(StreamPhase),
    Module,
    KeyEnd,
    Checksum,
    Done,
}

/// The outcome of one unit.
enum Flow {
    Event,
    Continue,
    Done,
}

/// Key prefix opcodes seen so far; they apply to the next key only.
#[derive(Debug, Default, Clone, Copy)]
struct Prefix {
    start: Option<u64>,
    expire_at_ms: Option<i64>,
    idle_s: Option<u64>,
    freq: Option<u8>,
}

pub struct Decoder {
    opts: Options,
    /// Absolute offset of the first byte of the next input slice.
    offset: u64,
    /// Total input size, when known.
    total: Option<u64>,
    crc: Crc64,
    /// The owner of the buffer feeds the CRC with consumed bytes in bulk (see `Parser`):
    /// one call per buffer refill instead of one per event.
    crc_by_caller: bool,
    /// Bytes fed to the CRC so far, when the caller feeds it.
    crc_fed: u64,
    format: Option<Format>,
    state: State,
    db: u64,
    prefix: Prefix,
    /// The key being decoded, kept for error messages.
    key: Vec<u8>,
    in_key: bool,
    /// Elements of the current key so far.
    key_elements: u64,
    /// LZF output for the current unit: `scratch[..scratch_used]`. The vector only grows
    /// (its length is a high-water mark), so decompressing never pays for zero-filling.
    scratch: Vec<u8>,
    scratch_used: usize,
    /// Decompressed blob, when the current blob was LZF-compressed: `blob_data[..blob_len]`,
    /// grow-only like `scratch`.
    blob_data: Vec<u8>,
    blob_len: usize,
    /// The current blob's absolute byte range, when it was not compressed and so still lies
    /// in the caller's buffer.
    blob_in_input: Option<(u64, u64)>,
    /// Absolute offset where the unit holding the current blob ends.
    blob_unit_end: u64,
    /// Absolute offset of the input slice passed to the last `advance`; `event` reads that same
    /// slice, so positions are resolved against it.
    origin: u64,
    blob_refs: Vec<SRef>,
    blob_idx: usize,
    /// Scores of a zset blob, parsed once while validating it.
    blob_scores: Vec<f64>,
    /// Plain elements decoded ahead by `drain`, each with where it ends in the input slice.
    plain_run: Vec<(ItemRef, u32)>,
    stream: StreamTables,
    module_name: [u8; 9],
    pending: Pending,
    raw: raw_value::RawValue,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Options::default())
    }
}

#[inline]
fn blob_err(at: usize, e: BlobError) -> Stop {
    Stop::Fail(at, ErrorKind::Blob(e))
}

impl Decoder {
    pub fn new(opts: Options) -> Self {
        Decoder {
            opts,
            offset: 0,
            total: None,
            crc: Crc64::new(),
            crc_by_caller: false,
            crc_fed: 0,
            format: None,
            state: State::Magic,
            db: 0,
            prefix: Prefix::default(),
            key: Vec::new(),
            in_key: false,
            key_elements: 0,
            scratch: Vec::new(),
            scratch_used: 0,
            blob_data: Vec::new(),
            blob_len: 0,
            blob_in_input: None,
            blob_unit_end: 0,
            origin: 0,
            blob_refs: Vec::new(),
            blob_idx: 0,
            blob_scores: Vec::new(),
            plain_run: Vec::new(),
            stream: StreamTables::default(),
            module_name: [0; 9],
            pending: Pending::None,
            raw: raw_value::RawValue::default(),
        }
    }

    /// Tells the decoder the input's total size in bytes, so that a length that points past
    /// the end fails at once instead of waiting for bytes that will never come.
    pub fn set_total_len(&mut self, total: u64) {
        self.total = Some(total);
    }

    /// Absolute offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// The db the decoder is in (the last SELECTDB).
    pub fn db(&self) -> u64 {
        self.db
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The error to report when the input ends before the RDB does. `buffered` is the number
    /// of unconsumed bytes the caller still holds.
    pub fn truncated(&self, buffered: usize) -> Error {
        self.error_at(self.offset + buffered as u64, ErrorKind::Truncated)
    }

    fn error_at(&self, offset: u64, kind: ErrorKind) -> Error {
        Error { offset, key: self.in_key.then(|| self.key.clone()), kind }
    }

    /// Parses from `input` up to the next event. See [`Progress`].
    pub fn advance(&mut self, input: &[u8]) -> Result<Progress> {
        match self.advance_impl(input)? {
            Advance::Progress(p) => Ok(p),
            Advance::NeedCrc { .. } => unreachable!("only a caller-fed CRC asks to be fed"),
        }
    }

    /// Makes the caller responsible for feeding every consumed byte, in order, to
    /// [`Decoder::feed_crc`]; `advance_impl` then asks for the feed before the checksum.
    pub(crate) fn crc_fed_by_caller(&mut self) {
        self.crc_by_caller = true;
    }

    pub(crate) fn feed_crc(&mut self, consumed: &[u8]) {
        if self.opts.verify_checksum {
            self.crc.update(consumed);
        }
        self.crc_fed += consumed.len() as u64;
    }

    fn hash(&mut self, bytes: &[u8]) {
        if !self.crc_by_caller && self.opts.verify_checksum {
            self.crc.update(bytes);
        }
    }

    pub(crate) fn advance_impl(&mut self, input: &[u8]) -> Result<Advance> {
        self.pending = Pending::None;
        self.origin = self.offset;
        let more = self.total.map(|t| t.saturating_sub(self.offset + input.len() as u64));
        let mut pos = 0;
        // Hashing once per call rather than once per unit: each CRC call has a fixed cost that
        // dominated small units (measured at about a quarter of the run time).
        let mut hashed = 0;
        loop {
            self.scratch_used = 0;
            if matches!(self.state, State::Checksum) {
                // The stored checksum covers every byte before it.
                self.hash(&input[hashed..pos]);
                hashed = pos;
                if self.crc_by_caller && self.crc_fed < self.offset + pos as u64 {
                    self.commit(pos);
                    return Ok(Advance::NeedCrc { consumed: pos });
                }
            }
            let mut c = Cursor { buf: input, pos, more, total: self.total, max_unit: self.opts.max_string };
            let flow = match self.step(&mut c) {
                Ok(flow) => flow,
                Err(Stop::Incomplete) => {
                    self.hash(&input[hashed..pos]);
                    if self.raw.active {
                        self.capture_raw(input, pos);
                    }
                    self.commit(pos);
                    return Ok(Advance::Progress(Progress::NeedMore { consumed: pos }));
                }
                Err(Stop::Fail(at, kind)) => return Err(self.error_at(self.offset + at as u64, kind)),
            };
            pos = pos.max(c.pos);
            // Only an `Event` step has just set `pending`; a silent step leaves the last one.
            if let (Flow::Event, Pending::Item(item)) = (&flow, &self.pending) {
                self.key_elements += u64::from(item.is_element());
                if !self.opts.items {
                    continue;
                }
            }
            match flow {
                Flow::Continue => {}
                Flow::Event | Flow::Done => {
                    if !matches!(self.state, State::Done) {
                        self.hash(&input[hashed..pos]);
                    }
                    if self.raw.active {
                        self.capture_raw(input, pos);
                    }
                    self.commit(pos);
                    return Ok(Advance::Progress(if matches!(flow, Flow::Event) {
                        Progress::Event { consumed: pos }
                    } else {
                        Progress::Done { consumed: pos }
                    }));
                }
            }
        }
    }

    fn commit(&mut self, n: usize) {
        self.offset += n as u64;
    }

    /// The event produced by the last `advance`, borrowing from the same `input` slice (before
    /// the consumed bytes are dropped from it).
    pub fn event<'a>(&'a self, input: &'a [u8]) -> Event<'a> {
        let blob = self.blob_slice(input);
        let b = Bases { input, scratch: &self.scratch[..self.scratch_used], blob };
        match &self.pending {
            Pending::None => unreachable!("event() called without a ready event"),
            Pending::Begin => Event::Begin(self.format.expect("format is known after the header")),
            Pending::Aux(k, v) => Event::Aux { key: b.str(*k), value: b.str(*v) },
            Pending::SelectDb(db) => Event::SelectDb(*db),
            Pending::ResizeDb(a, e) => Event::ResizeDb { db_size: *a, expires_size: *e },
            Pending::SlotInfo(slot, size, expires) => {
                Event::SlotInfo { slot: *slot, size: *size, expires_size: *expires }
            }
            Pending::SlotImport(job, ranges) => Event::SlotImport { job: b.str(*job), ranges: ranges.clone() },
            Pending::ModuleAux { encver, when, raw } => {
                Event::ModuleAux { name: self.module_name(), encver: *encver, when: *when, raw: b.bytes(*raw) }
            }
            Pending::Function(code) => Event::Function { code: b.str(*code) },
            Pending::FunctionPreGa { name, engine, description, code } => Event::FunctionPreGa {
                name: b.str(*name),
                engine: b.str(*engine),
                description: description.map(|d| b.str(d)),
                code: b.str(*code),
            },
            Pending::Key(k) => Event::Key(KeyInfo {
                db: self.db,
                key: b.str(k.key),
                value_type: k.value_type,
                encoding: k.encoding,
                type_byte: k.type_byte,
                expire_at_ms: k.expire_at_ms,
                idle_s: k.idle_s,
                freq: k.freq,
                len_hint: k.len_hint,
                offset: k.offset,
            }),
            Pending::Item(item) => Event::Item(match item {
                ItemRef::String(s) => Item::String(b.str(*s)),
                ItemRef::List(s) => Item::ListElement(b.str(*s)),
                ItemRef::Set(s) => Item::SetMember(b.str(*s)),
                ItemRef::Zset(m, score) => Item::ZsetEntry { member: b.str(*m), score: *score },
                ItemRef::Hash(f, v, exp) => Item::HashField { field: b.str(*f), value: b.str(*v), expire_at_ms: *exp },
                ItemRef::StreamEntry { id, pairs } => Item::StreamEntry {
                    id: *id,
                    fields: self.stream.fields(b.blob, pairs.0 as usize..pairs.1 as usize),
                },
                ItemRef::StreamMeta(m) => Item::StreamMeta(*m),
                ItemRef::StreamGroup { name, last_id, entries_read, pending } => Item::StreamGroup {
                    name: b.str(*name),
                    last_id: *last_id,
                    entries_read: *entries_read,
                    pending: *pending,
                },
                ItemRef::StreamPending { id, delivery_time_ms, delivery_count } => Item::StreamPending {
                    id: *id,
                    delivery_time_ms: *delivery_time_ms,
                    delivery_count: *delivery_count,
                },
                ItemRef::StreamConsumer { name, seen_time_ms, active_time_ms, pending } => Item::StreamConsumer {
                    name: b.str(*name),
                    seen_time_ms: *seen_time_ms,
                    active_time_ms: *active_time_ms,
                    pending: *pending,
                },
                ItemRef::StreamConsumerPending(id) => Item::StreamConsumerPending { id: *id },
                ItemRef::Module { encver, raw } => {
                    Item::Module { name: self.module_name(), encver: *encver, raw: b.bytes(*raw) }
                }
            }),
            Pending::RawValue => Event::RawValue(&self.raw.buf),
            Pending::KeyEnd => Event::KeyEnd { elements: self.key_elements },
            Pending::End(c) => Event::End { checksum: *c },
        }
    }

    fn module_name(&self) -> &str {
        std::str::from_utf8(&self.module_name).unwrap_or("?????????")
    }

    fn format_or_magic(&self) -> Format {
        self.format.expect("format is set after the magic")
    }

    fn step(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
        match self.state {
            State::Magic => self.magic(c),
            State::Top => self.top(c),
            State::StringValue => {
                let s = self.read_str(c)?;
                self.pending = Pending::Item(ItemRef::String(s));
                self.state = State::KeyEnd;
                Ok(Flow::Event)
            }
            State::Plain { kind, remaining } => self.plain_item(c, kind, remaining),
            State::BlobValue { kind, items, min_expire } => {
                let unit_start = c.pos;
                if let Some(_min) = min_expire {
                    // The minimum expiry is only an index hint; every triplet carries its own
                    // absolute TTL.
                    c.i64_le()?;
                }
                self.read_blob(c, unit_start, kind, items, After::KeyEnd)
            }
            State::Blob { items, then } => Ok(self.emit_blob(c, items, then)),
            State::Quicklist { remaining, v2 } => self.quicklist_node(c, remaining, v2),
            State::Stream(phase) => self.stream_step(c, phase),
            State::Module => self.module_value(c),
            State::KeyEnd => {
                if self.finish_raw(c) {
                    // The state stays: the key ends on the next step.
                    self.pending = Pending::RawValue;
                    return Ok(Flow::Event);
                }
                self.pending = Pending::KeyEnd;
                self.in_key = false;
                self.state = State::Top;
                Ok(Flow::Event)
            }
            State::Checksum => self.checksum(c),
            State::Done => Ok(Flow::Done),
        }
    }

    fn magic(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
        // Say "not an RDB file" as soon as the first bytes rule it out, rather than waiting for
        // nine bytes that a short non-RDB input (`echo hi | redtail rdb -`) never has.
        let head = &c.buf[c.pos..c.buf.len().min(c.pos + 6)];
        if !b"REDIS".starts_with(&head[..head.len().min(5)]) && !b"VALKEY".starts_with(head) {
            return c.fail(0, ErrorKind::BadMagic(String::from_utf8_lossy(head).into_owned()));
        }
        if c.remaining() < 9 && c.more.is_some_and(|m| m > 0) {
            // Judge a short input by its bytes once they are here, not by its size alone.
            return Err(Stop::Incomplete);
        }
        let magic: [u8; 9] = c.array()?;
        let shown = String::from_utf8_lossy(&magic).into_owned();
        let format = match Format::from_magic(&magic) {
            Some(f) => f,
            None => return c.fail(0, ErrorKind::BadMagic(shown)),
        };
        if !format.is_supported() {
            return c.fail(0, ErrorKind::UnsupportedVersion(shown));
        }
        self.format = Some(format);
        self.pending = Pending::Begin;
        self.state = State::Top;
        Ok(Flow::Event)
    }

    /// Reads a `str` (plain, integer or LZF), returning where it lives.
    #[inline]
    fn read_str(&mut self, c: &mut Cursor<'_>) -> Unit<SRef> {
        let start = c.pos;
        match c.len()? {
            Len::Plain(n) => Ok(SRef::input(c.take_range(n, "string")?)),
            Len::Special(ENC_INT8) => Ok(SRef::Int(i64::from(c.u8()? as i8))),
            Len::Special(ENC_INT16) => Ok(SRef::Int(i64::from(i16::from_le_bytes(c.array()?)))),
            Len::Special(ENC_INT32) => Ok(SRef::Int(i64::from(i32::from_le_bytes(c.array()?)))),
            Len::Special(ENC_LZF) => {
                let (s, e) = self.lzf_into(c, start, false)?;
                Ok(SRef::Scratch(s as u32, e as u32))
            }
            Len::Special(x) => c.fail(start, ErrorKind::Invalid(format!("unknown string encoding {x}"))),
        }
    }

    /// Decompresses an LZF string (after its `0xC3` byte) into the scratch buffer, or into the
    /// blob buffer when `blob` is set, returning where the output lies in that buffer.
    fn lzf_into(&mut self, c: &mut Cursor<'_>, start: usize, blob: bool) -> Unit<(usize, usize)> {
        let clen = c.length()?;
        let ulen = c.length()?;
        let data = c.take(clen, "LZF string")?;
        let ulen = usize::try_from(ulen)
            .map_err(|_| Stop::Fail(start, ErrorKind::LyingLength { len: ulen, what: "LZF output" }))?;
        lzf::check_declared_len(data.len(), ulen).map_err(|e| blob_err(start, e))?;
        let (buf, used) =
            if blob { (&mut self.blob_data, &mut self.blob_len) } else { (&mut self.scratch, &mut self.scratch_used) };
        let (s, e) = (*used, *used + ulen);
        if buf.len() < e {
            buf.resize(e, 0);
        }
        lzf::decompress_into(data, &mut buf[s..e]).map_err(|e| blob_err(start, e))?;
        *used = e;
        Ok((s, e))
    }

    /// Turns a key-level string reference into owned bytes for error messages.
    fn remember_key(&mut self, input: &[u8], key: SRef) {
        self.key.clear();
        match key {
            SRef::In(s, e) => self.key.extend_from_slice(&input[s as usize..e as usize]),
            SRef::Scratch(s, e) => {
                let (s, e) = (s as usize, e as usize);
                self.key.extend_from_slice(&self.scratch[s..e]);
            }
            SRef::Blob(..) => {}
            SRef::Int(i) => self.key.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        }
        self.in_key = true;
    }
}
