//! Top-level units: opcodes, key headers (type, key, collection length) and the trailing
//! checksum.

use super::*;

impl Decoder {
    pub(super) fn top(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
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

    pub(super) fn prefix_start(&mut self, at: usize) {
        if self.prefix.start.is_none() {
            self.prefix.start = Some(self.offset + at as u64);
        }
    }

    pub(super) fn key_header(&mut self, c: &mut Cursor<'_>, start: usize, ty: u8) -> Unit<Flow> {
        let format = self.format_or_magic();
        let (value_type, mut encoding) = types::classify(ty, format).map_err(|k| Stop::Fail(start, k))?;
        let key = self.read_str(c)?;
        self.remember_key(c.buf, key);
        if self.opts.raw_values_up_to > 0 {
            self.raw.start(ty, self.offset + c.pos as u64);
        }
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

    pub(super) fn plain_or_end(&self, kind: Plain, n: u64) -> State {
        if n == 0 {
            State::KeyEnd
        } else {
            State::Plain { kind, remaining: n }
        }
    }

    /// MODULE_AUX: module id, `when` (as a UINT opcode and its value), then the opcodes.
    pub(super) fn module_aux(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
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

    pub(super) fn checksum(&mut self, c: &mut Cursor<'_>) -> Unit<Flow> {
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
}
