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
}

impl Default for Options {
    fn default() -> Self {
        Options { verify_checksum: true, max_string: 1 << 32, items: true }
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
    stream: StreamTables,
    module_name: [u8; 9],
    pending: Pending,
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
            stream: StreamTables::default(),
            module_name: [0; 9],
            pending: Pending::None,
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
            if self.state == State::Checksum {
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
                    if self.state != State::Done {
                        self.hash(&input[hashed..pos]);
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

    fn top(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
        let start = c.pos;
        let op = c.u8()?;
        let format = self.format_or_magic();
        match op {
            0xFF => {
                self.state = State::Checksum;
                Ok(Flow::Continue)
            }
            0xFE => {
                self.db = c.length()?;
                self.pending = Pending::SelectDb(self.db);
                Ok(Flow::Event)
            }
            0xFD => {
                let secs = i32::from_le_bytes(c.array()?);
                self.prefix_start(start);
                self.prefix.expire_at_ms = Some(i64::from(secs) * 1000);
                Ok(Flow::Continue)
            }
            0xFC => {
                let ms = c.i64_le()?;
                self.prefix_start(start);
                self.prefix.expire_at_ms = Some(ms);
                Ok(Flow::Continue)
            }
            0xFB => {
                let size = c.length()?;
                let expires = c.length()?;
                self.pending = Pending::ResizeDb(size, expires);
                Ok(Flow::Event)
            }
            0xFA => {
                let k = self.read_str(c)?;
                let v = self.read_str(c)?;
                self.pending = Pending::Aux(k, v);
                Ok(Flow::Event)
            }
            0xF9 => {
                let freq = c.u8()?;
                self.prefix_start(start);
                self.prefix.freq = Some(freq);
                Ok(Flow::Continue)
            }
            0xF8 => {
                let idle = c.length()?;
                self.prefix_start(start);
                self.prefix.idle_s = Some(idle);
                Ok(Flow::Continue)
            }
            0xF7 => self.module_aux(c),
            0xF6 => {
                let name = self.read_str(c)?;
                let engine = self.read_str(c)?;
                let has_desc = c.length()?;
                let description = if has_desc != 0 { Some(self.read_str(c)?) } else { None };
                let code = self.read_str(c)?;
                self.pending = Pending::FunctionPreGa { name, engine, description, code };
                Ok(Flow::Event)
            }
            0xF5 => {
                let code = self.read_str(c)?;
                self.pending = Pending::Function(code);
                Ok(Flow::Event)
            }
            0xF4 => {
                let slot = c.length()?;
                let size = c.length()?;
                let expires = c.length()?;
                self.pending = Pending::SlotInfo(slot, size, expires);
                Ok(Flow::Event)
            }
            0xF3 if format.family == Family::Valkey => {
                let job = self.read_str(c)?;
                let n = c.length()?;
                c.check_count(n, 2, "slot ranges")?;
                let mut ranges = Vec::new();
                for _ in 0..n {
                    ranges.push((c.length()?, c.length()?));
                }
                self.pending = Pending::SlotImport(job, ranges);
                Ok(Flow::Event)
            }
            0xF3 => c.fail(start, ErrorKind::UnsupportedOpcode { op, name: "KEY_META", format: format.to_string() }),
            0xF0..=0xF2 => c.fail(start, ErrorKind::Invalid(format!("unknown opcode {op:#04x} in {format}"))),
            ty => self.key_header(c, start, ty),
        }
    }

    fn prefix_start(&mut self, at: usize) {
        if self.prefix.start.is_none() {
            self.prefix.start = Some(self.offset + at as u64);
        }
    }

    fn key_header(&mut self, c: &mut Cursor<'_>, start: usize, ty: u8) -> Unit<Flow> {
        let format = self.format_or_magic();
        let (value_type, mut encoding) = types::classify(ty, format).map_err(|k| Stop::Fail(start, k))?;
        let key = self.read_str(c)?;
        self.remember_key(c.buf, key);
        self.key_elements = 0;
        let mut len_hint = None;
        self.state = match ty {
            0 => {
                encoding = match c.buf.get(c.pos) {
                    None => return Err(Stop::Incomplete),
                    Some(0xC0..=0xC2) => Encoding::Int,
                    Some(0xC3) => Encoding::Lzf,
                    Some(_) => Encoding::Raw,
                };
                State::StringValue
            }
            1..=5 => {
                let n = c.length()?;
                let (kind, min) = match ty {
                    1 => (Plain::List, 1),
                    2 => (Plain::Set, 1),
                    3 => (Plain::Zset, 2),
                    4 => (Plain::Hash, 2),
                    _ => (Plain::Zset2, 9),
                };
                c.check_count(n, min, "collection length")?;
                len_hint = Some(n);
                self.plain_or_end(kind, n)
            }
            22 if format.is_valkey() => {
                let n = c.length()?;
                c.check_count(n, 10, "hash length")?;
                len_hint = Some(n);
                self.plain_or_end(Plain::Hash2, n)
            }
            22 => {
                let n = c.length()?;
                c.check_count(n, 3, "hash length")?;
                len_hint = Some(n);
                self.plain_or_end(Plain::HashMetadataPreGa, n)
            }
            24 => {
                let min_expire = c.i64_le()?;
                let n = c.length()?;
                c.check_count(n, 3, "hash length")?;
                len_hint = Some(n);
                self.plain_or_end(Plain::HashMetadata { min_expire }, n)
            }
            7 => {
                // Peek at the module id for the name; the value unit re-reads it so that the
                // raw payload starts at the module id.
                let mut peek = Cursor { buf: c.buf, pos: c.pos, more: c.more, total: c.total, max_unit: c.max_unit };
                let id = peek.length()?;
                self.module_name = module::name_of(id);
                State::Module
            }
            9 => State::BlobValue { kind: BlobKind::Zipmap, items: BlobItems::Hash, min_expire: None },
            10 => State::BlobValue { kind: BlobKind::Ziplist, items: BlobItems::List, min_expire: None },
            11 => State::BlobValue { kind: BlobKind::Intset, items: BlobItems::Set, min_expire: None },
            12 => State::BlobValue { kind: BlobKind::Ziplist, items: BlobItems::Zset, min_expire: None },
            13 => State::BlobValue { kind: BlobKind::Ziplist, items: BlobItems::Hash, min_expire: None },
            16 => State::BlobValue { kind: BlobKind::Listpack, items: BlobItems::Hash, min_expire: None },
            17 => State::BlobValue { kind: BlobKind::Listpack, items: BlobItems::Zset, min_expire: None },
            20 => State::BlobValue { kind: BlobKind::Listpack, items: BlobItems::Set, min_expire: None },
            23 => State::BlobValue { kind: BlobKind::Listpack, items: BlobItems::HashTtl, min_expire: None },
            25 => State::BlobValue { kind: BlobKind::Listpack, items: BlobItems::HashTtl, min_expire: Some(0) },
            14 | 18 => {
                let n = c.length()?;
                c.check_count(n, 1, "quicklist node count")?;
                State::Quicklist { remaining: n, v2: ty == 18 }
            }
            15 | 19 | 21 => {
                let n = c.length()?;
                c.check_count(n, 2, "stream node count")?;
                self.stream.begin(ty);
                State::Stream(StreamPhase::Nodes { remaining: n })
            }
            _ => unreachable!("classify accepted type {ty}"),
        };
        let key_offset = self.prefix.start.unwrap_or(self.offset + start as u64);
        let prefix = std::mem::take(&mut self.prefix);
        self.pending = Pending::Key(KeyRef {
            key,
            value_type,
            encoding,
            type_byte: ty,
            expire_at_ms: prefix.expire_at_ms,
            idle_s: prefix.idle_s,
            freq: prefix.freq,
            len_hint,
            offset: key_offset,
        });
        Ok(Flow::Event)
    }

    fn plain_or_end(&self, kind: Plain, n: u64) -> State {
        if n == 0 {
            State::KeyEnd
        } else {
            State::Plain { kind, remaining: n }
        }
    }

    fn plain_item(&mut self, c: &mut Cursor<'_>, kind: Plain, remaining: u64) -> Unit<Flow> {
        let item = match kind {
            Plain::List => ItemRef::List(self.read_str(c)?),
            Plain::Set => ItemRef::Set(self.read_str(c)?),
            Plain::Zset => {
                let m = self.read_str(c)?;
                ItemRef::Zset(m, self.string_double(c)?)
            }
            Plain::Zset2 => {
                let m = self.read_str(c)?;
                ItemRef::Zset(m, c.f64_le()?)
            }
            Plain::Hash => {
                let f = self.read_str(c)?;
                ItemRef::Hash(f, self.read_str(c)?, None)
            }
            Plain::HashMetadata { min_expire } => {
                let ttl = c.length()?;
                let f = self.read_str(c)?;
                let v = self.read_str(c)?;
                let exp = if ttl == 0 { None } else { Some((ttl as i64).wrapping_add(min_expire).wrapping_sub(1)) };
                ItemRef::Hash(f, v, exp)
            }
            Plain::HashMetadataPreGa => {
                let ttl = c.length()?;
                let f = self.read_str(c)?;
                let v = self.read_str(c)?;
                ItemRef::Hash(f, v, (ttl != 0).then_some(ttl as i64))
            }
            Plain::Hash2 => {
                let f = self.read_str(c)?;
                let v = self.read_str(c)?;
                let exp = c.i64_le()?;
                ItemRef::Hash(f, v, (exp != -1).then_some(exp))
            }
        };
        self.pending = Pending::Item(item);
        self.state = self.plain_or_end(kind, remaining - 1);
        Ok(Flow::Event)
    }

    /// A type-3 zset score: a length byte, then text; 253/254/255 mean nan/+inf/-inf.
    fn string_double(&mut self, c: &mut Cursor<'_>) -> Unit<f64> {
        let start = c.pos;
        match c.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = c.take(u64::from(n), "score")?;
                double::parse_double_text(text).ok_or_else(|| {
                    Stop::Fail(start, ErrorKind::Invalid(format!("bad score {:?}", String::from_utf8_lossy(text))))
                })
            }
        }
    }

    /// Reads a blob `str` that starts at the cursor and parses it into `blob_refs`. The unit
    /// (from `unit_start` to the end of the blob) stays unconsumed until its last element has
    /// been emitted.
    fn read_blob(
        &mut self,
        c: &mut Cursor<'_>,
        unit_start: usize,
        kind: BlobKind,
        items: BlobItems,
        then: After,
    ) -> Unit<Flow> {
        let str_start = c.pos;
        let (data_start, in_input) = match c.len()? {
            Len::Plain(n) => {
                let (s, e) = c.take_range(n, "blob")?;
                (s, Some((s, e)))
            }
            Len::Special(ENC_LZF) => {
                self.blob_len = 0;
                self.lzf_into(c, str_start, true)?;
                (str_start, None)
            }
            Len::Special(_) => {
                return c.fail(str_start, ErrorKind::Invalid("a compact blob must be a plain or LZF string".into()))
            }
        };
        let blob: &[u8] = match in_input {
            Some((s, e)) => &c.buf[s..e],
            None => &self.blob_data[..self.blob_len],
        };
        // Errors inside an uncompressed blob point at the exact byte; inside a compressed one,
        // at the string, with the position within the decompressed data in the message.
        let at = |e: &BlobError| if in_input.is_some() { data_start + e.pos } else { str_start };
        self.blob_refs.clear();
        let refs = &mut self.blob_refs;
        let res = match (kind, items) {
            (_, BlobItems::StreamNode) => unreachable!("stream nodes are parsed by the stream module"),
            (BlobKind::Zipmap, _) => zipmap::ZipmapIter::new(blob).and_then(|it| {
                for pair in it {
                    let (f, v) = pair?;
                    refs.push(SRef::in_blob(blob, f));
                    refs.push(SRef::in_blob(blob, v));
                }
                Ok(())
            }),
            (BlobKind::Intset, _) => intset::IntsetIter::new(blob).map(|it| {
                for v in it {
                    refs.push(SRef::in_blob(blob, v));
                }
            }),
            (BlobKind::Ziplist, _) => ziplist::ZiplistIter::new(blob).and_then(|it| {
                for v in it {
                    refs.push(SRef::in_blob(blob, v?));
                }
                Ok(())
            }),
            (BlobKind::Listpack, _) => listpack::ListpackIter::new(blob).and_then(|it| {
                for v in it {
                    refs.push(SRef::in_blob(blob, v?));
                }
                Ok(())
            }),
        };
        if let Err(e) = res {
            return Err(blob_err(at(&e), e));
        }
        let group = match items {
            BlobItems::List | BlobItems::Set => 1,
            BlobItems::Zset | BlobItems::Hash => 2,
            BlobItems::HashTtl => 3,
            BlobItems::StreamNode => 1,
        };
        if !self.blob_refs.len().is_multiple_of(group) {
            let what = format!("{} elements, not a multiple of {group}", self.blob_refs.len());
            return c.fail(str_start, ErrorKind::Blob(BlobError::new("compact value", 0, what)));
        }
        // Validate scores and TTLs now, so that emission cannot fail halfway.
        let bad = || ErrorKind::Invalid("a score or TTL in the blob is not a number".into());
        if items == BlobItems::Zset {
            self.blob_scores.clear();
            for pair in self.blob_refs.chunks_exact(2) {
                let score = match pair[1] {
                    SRef::Int(v) => v as f64,
                    SRef::Blob(s, e) => match double::parse_double_text(&blob[s as usize..e as usize]) {
                        Some(f) => f,
                        None => return c.fail(str_start, bad()),
                    },
                    _ => return c.fail(str_start, bad()),
                };
                self.blob_scores.push(score);
            }
        } else if items == BlobItems::HashTtl && self.blob_refs.chunks_exact(3).any(|t| !matches!(t[2], SRef::Int(_))) {
            return c.fail(str_start, bad());
        }
        self.blob_in_input = in_input.map(|(s, e)| (self.origin + s as u64, self.origin + e as u64));
        self.blob_unit_end = self.origin + c.pos as u64;
        self.blob_idx = 0;
        if self.blob_refs.is_empty() {
            self.blob_in_input = None;
            self.state = self.after(then);
            return Ok(Flow::Continue);
        }
        // Leave the unit unconsumed while its elements are emitted.
        c.pos = unit_start;
        self.state = State::Blob { items, then };
        Ok(Flow::Continue)
    }

    fn after(&self, then: After) -> State {
        match then {
            After::KeyEnd => State::KeyEnd,
            After::Quicklist { remaining, v2 } => State::Quicklist { remaining, v2 },
            After::Stream => State::Stream(self.stream.after_node()),
        }
    }

    /// The current blob, from `input` (whose first byte is at `self.origin`) or the
    /// decompression buffer.
    fn blob_slice<'a>(&'a self, input: &'a [u8]) -> &'a [u8] {
        match self.blob_in_input {
            // A blob that ended before this input slice is no longer referenced.
            Some((s, _)) if s < self.origin => &[],
            Some((s, e)) => &input[(s - self.origin) as usize..(e - self.origin) as usize],
            None => &self.blob_data[..self.blob_len],
        }
    }

    fn emit_blob(&mut self, c: &mut Cursor<'_>, items: BlobItems, then: After) -> Flow {
        let i = self.blob_idx;
        let r = &self.blob_refs;
        let (item, n) = match items {
            BlobItems::List => (ItemRef::List(r[i]), 1),
            BlobItems::Set => (ItemRef::Set(r[i]), 1),
            BlobItems::Zset => (ItemRef::Zset(r[i], self.blob_scores[i / 2]), 2),
            BlobItems::Hash => (ItemRef::Hash(r[i], r[i + 1], None), 2),
            BlobItems::HashTtl => {
                let ttl = match r[i + 2] {
                    SRef::Int(0) => None,
                    SRef::Int(t) => Some(t),
                    _ => None,
                };
                (ItemRef::Hash(r[i], r[i + 1], ttl), 3)
            }
            BlobItems::StreamNode => {
                let (id, pairs) = self.stream.entry(i);
                (ItemRef::StreamEntry { id, pairs }, 1)
            }
        };
        self.pending = Pending::Item(item);
        self.blob_idx = i + n;
        let total = if items == BlobItems::StreamNode { self.stream.entry_count() } else { self.blob_refs.len() };
        if self.blob_idx >= total {
            // Last element: consume the whole unit. `event` still reads the blob, because the
            // caller drops the consumed bytes only after it.
            c.pos = (self.blob_unit_end - self.origin) as usize;
            self.state = self.after(then);
        }
        Flow::Event
    }
}

impl Decoder {
    fn quicklist_node(&mut self, c: &mut Cursor<'_>, remaining: u64, v2: bool) -> Unit<Flow> {
        if remaining == 0 {
            self.state = State::KeyEnd;
            return Ok(Flow::Continue);
        }
        let unit_start = c.pos;
        let then = After::Quicklist { remaining: remaining - 1, v2 };
        if !v2 {
            return self.read_blob(c, unit_start, BlobKind::Ziplist, BlobItems::List, then);
        }
        match c.length()? {
            // PLAIN: one element too large for a listpack, stored as is.
            1 => {
                let s = self.read_str(c)?;
                self.pending = Pending::Item(ItemRef::List(s));
                self.state = self.after(then);
                Ok(Flow::Event)
            }
            // PACKED: a listpack of elements.
            2 => self.read_blob(c, unit_start, BlobKind::Listpack, BlobItems::List, then),
            other => c.fail(unit_start, ErrorKind::Invalid(format!("unknown quicklist container {other}"))),
        }
    }

    /// A module value: the module id, then typed opcodes up to EOF. Kept raw, because only the
    /// module itself can interpret it (redis src/rdb.c rdbLoadCheckModuleValue).
    fn module_value(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
        let start = c.pos;
        let id = c.length()?;
        module::skip_opcodes(c)?;
        self.pending =
            Pending::Item(ItemRef::Module { encver: module::encver_of(id), raw: SRef::input((start, c.pos)) });
        self.state = State::KeyEnd;
        Ok(Flow::Event)
    }

    /// MODULE_AUX: module id, `when` (as a UINT opcode and its value), then the opcodes.
    fn module_aux(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
        let id = c.length()?;
        let at = c.pos;
        let when_opcode = c.length()?;
        if when_opcode != module::OPCODE_UINT {
            return c.fail(at, ErrorKind::Invalid(format!("MODULE_AUX 'when' has opcode {when_opcode}, expected 2")));
        }
        let when = c.length()?;
        let raw_start = c.pos;
        module::skip_opcodes(c)?;
        self.module_name = module::name_of(id);
        self.pending = Pending::ModuleAux { encver: module::encver_of(id), when, raw: SRef::input((raw_start, c.pos)) };
        Ok(Flow::Event)
    }

    fn checksum(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
        let format = self.format_or_magic();
        let checksum = if format.has_checksum() {
            let at = c.pos;
            let stored = u64::from_le_bytes(c.array()?);
            let computed = self.crc.value();
            if stored == 0 {
                Checksum::Disabled
            } else if !self.opts.verify_checksum {
                Checksum::Unchecked(stored)
            } else if stored != computed {
                return c.fail(at, ErrorKind::ChecksumMismatch { stored, computed });
            } else {
                Checksum::Verified(stored)
            }
        } else {
            Checksum::Absent
        };
        self.pending = Pending::End(checksum);
        self.state = State::Done;
        Ok(Flow::Event)
    }

    fn stream_step(&mut self, c: &mut Cursor<'_>, phase: StreamPhase) -> Unit<Flow> {
        use StreamPhase as P;
        match phase {
            P::Nodes { remaining: 0 } => {
                let meta = self.stream.read_meta(c)?;
                self.pending = Pending::Item(ItemRef::StreamMeta(meta));
                self.state = State::Stream(P::Groups { remaining: meta.groups });
                Ok(Flow::Event)
            }
            P::Nodes { remaining } => {
                let unit_start = c.pos;
                let node_key_at = c.pos;
                let node_key = self.read_str(c)?;
                let master = match node_key {
                    SRef::In(s, e) if e - s == 16 => {
                        StreamId::from_be_bytes(c.buf[s as usize..e as usize].try_into().expect("16 bytes"))
                    }
                    SRef::Scratch(s, e) if e - s == 16 => {
                        StreamId::from_be_bytes(self.scratch[s as usize..e as usize].try_into().expect("16 bytes"))
                    }
                    _ => return c.fail(node_key_at, ErrorKind::Invalid("stream node key is not 16 bytes".into())),
                };
                self.stream.set_remaining_nodes(remaining - 1);
                let str_start = c.pos;
                let in_input = match c.len()? {
                    Len::Plain(n) => Some(c.take_range(n, "stream listpack")?),
                    Len::Special(ENC_LZF) => {
                        self.blob_len = 0;
                        self.lzf_into(c, str_start, true)?;
                        None
                    }
                    Len::Special(_) => {
                        return c.fail(str_start, ErrorKind::Invalid("stream listpack must be a string".into()))
                    }
                };
                let blob: &[u8] = match in_input {
                    Some((s, e)) => &c.buf[s..e],
                    None => &self.blob_data[..self.blob_len],
                };
                if let Err(e) = self.stream.parse_node(master, blob) {
                    let at = match in_input {
                        Some((s, _)) => s + e.pos,
                        None => str_start,
                    };
                    return Err(blob_err(at, e));
                }
                self.blob_in_input = in_input.map(|(s, e)| (self.origin + s as u64, self.origin + e as u64));
                self.blob_unit_end = self.origin + c.pos as u64;
                self.blob_idx = 0;
                if self.stream.entry_count() == 0 {
                    self.state = self.after(After::Stream);
                    return Ok(Flow::Continue);
                }
                c.pos = unit_start;
                self.state = State::Blob { items: BlobItems::StreamNode, then: After::Stream };
                Ok(Flow::Continue)
            }
            P::Groups { remaining: 0 } => {
                self.state = State::KeyEnd;
                Ok(Flow::Continue)
            }
            P::Groups { remaining } => {
                let name = self.read_str(c)?;
                let (group, next) = self.stream.read_group(c, remaining - 1)?;
                self.pending = Pending::Item(ItemRef::StreamGroup {
                    name,
                    last_id: group.last_id,
                    entries_read: group.entries_read,
                    pending: group.pending,
                });
                self.state = State::Stream(next);
                Ok(Flow::Event)
            }
            P::GroupPel { remaining: 0, groups } => {
                let n = c.length()?;
                c.check_count(n, 10, "stream consumer count")?;
                self.state = State::Stream(P::Consumers { remaining: n, groups });
                Ok(Flow::Continue)
            }
            P::GroupPel { remaining, groups } => {
                let (id, delivery_time_ms, delivery_count) = StreamTables::read_pel_entry(c)?;
                self.pending = Pending::Item(ItemRef::StreamPending { id, delivery_time_ms, delivery_count });
                self.state = State::Stream(P::GroupPel { remaining: remaining - 1, groups });
                Ok(Flow::Event)
            }
            P::Consumers { remaining: 0, groups } => {
                self.state = State::Stream(P::Groups { remaining: groups });
                Ok(Flow::Continue)
            }
            P::Consumers { remaining, groups } => {
                let name = self.read_str(c)?;
                let (seen_time_ms, active_time_ms, pending) = self.stream.read_consumer(c)?;
                self.pending = Pending::Item(ItemRef::StreamConsumer { name, seen_time_ms, active_time_ms, pending });
                self.state = State::Stream(P::ConsumerPel { remaining: pending, consumers: remaining - 1, groups });
                Ok(Flow::Event)
            }
            P::ConsumerPel { remaining: 0, consumers, groups } => {
                self.state = State::Stream(P::Consumers { remaining: consumers, groups });
                Ok(Flow::Continue)
            }
            P::ConsumerPel { remaining, consumers, groups } => {
                let raw: [u8; 16] = c.array()?;
                self.pending = Pending::Item(ItemRef::StreamConsumerPending(StreamId::from_be_bytes(&raw)));
                self.state = State::Stream(P::ConsumerPel { remaining: remaining - 1, consumers, groups });
                Ok(Flow::Event)
            }
        }
    }
}
