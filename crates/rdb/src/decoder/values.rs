//! Values: plain collections one element per unit, compact blobs parsed whole and then
//! emitted element by element, quicklist nodes and module values.

use super::*;

impl Decoder {
    pub(super) fn plain_item(&mut self, c: &mut Cursor<'_>, kind: Plain, remaining: u64) -> Unit<Flow> {
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
    pub(super) fn string_double(&mut self, c: &mut Cursor<'_>) -> Unit<f64> {
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
    pub(super) fn read_blob(
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

    pub(super) fn after(&self, then: After) -> State {
        match then {
            After::KeyEnd => State::KeyEnd,
            After::Quicklist { remaining, v2 } => State::Quicklist { remaining, v2 },
            After::Stream => State::Stream(self.stream.after_node()),
        }
    }

    /// The current blob, from `input` (whose first byte is at `self.origin`) or the
    /// decompression buffer.
    pub(super) fn blob_slice<'a>(&'a self, input: &'a [u8]) -> &'a [u8] {
        match self.blob_in_input {
            // A blob that ended before this input slice is no longer referenced.
            Some((s, _)) if s < self.origin => &[],
            Some((s, e)) => &input[(s - self.origin) as usize..(e - self.origin) as usize],
            None => &self.blob_data[..self.blob_len],
        }
    }

    pub(super) fn emit_blob(&mut self, c: &mut Cursor<'_>, items: BlobItems, then: After) -> Flow {
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

    pub(super) fn quicklist_node(&mut self, c: &mut Cursor<'_>, remaining: u64, v2: bool) -> Unit<Flow> {
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
    pub(super) fn module_value(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
        let start = c.pos;
        let id = c.length()?;
        module::skip_opcodes(c)?;
        self.pending =
            Pending::Item(ItemRef::Module { encver: module::encver_of(id), raw: SRef::input((start, c.pos)) });
        self.state = State::KeyEnd;
        Ok(Flow::Event)
    }
}
