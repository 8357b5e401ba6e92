//! A test-side RDB writer, written from the format description (the Redis source's rdb.c,
//! ziplist.c, listpack.c, intset.c and zipmap.c layouts) and not from redtail's decoder, so that
//! tests decode independently built bytes. Dev-only, like the rest of the test kit.

/// Bitwise CRC-64/Jones as in redis src/crc64.c (reflected poly 0x95ac9329ac4bc9b5, init 0).
pub fn crc64_bitwise(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x95ac9329ac4bc9b5 } else { crc >> 1 };
        }
    }
    crc
}

pub fn len(n: u64) -> Vec<u8> {
    if n < 64 {
        vec![n as u8]
    } else if n < 16384 {
        vec![0x40 | (n >> 8) as u8, n as u8]
    } else if n <= u64::from(u32::MAX) {
        let mut v = vec![0x80];
        v.extend_from_slice(&(n as u32).to_be_bytes());
        v
    } else {
        let mut v = vec![0x81];
        v.extend_from_slice(&n.to_be_bytes());
        v
    }
}

pub fn s(bytes: &[u8]) -> Vec<u8> {
    let mut v = len(bytes.len() as u64);
    v.extend_from_slice(bytes);
    v
}

/// A module id: the 9-character type name in the module charset, 6 bits a character, then
/// a 10-bit encoding version (redis src/module.c moduleTypeEncodeId).
pub fn module_id(name: &[u8; 9], encver: u64) -> u64 {
    let charset = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = 0u64;
    for ch in name {
        id = (id << 6) | charset.iter().position(|c| c == ch).expect("a module charset character") as u64;
    }
    (id << 10) | encver
}

/// An LZF string made of literal runs only (valid LZF that any decoder must accept).
pub fn lzf_literal(bytes: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    for chunk in bytes.chunks(32) {
        c.push((chunk.len() - 1) as u8);
        c.extend_from_slice(chunk);
    }
    let mut v = vec![0xC3];
    v.extend(len(c.len() as u64));
    v.extend(len(bytes.len() as u64));
    v.extend(c);
    v
}

pub enum Entry<'a> {
    S(&'a [u8]),
    I(i64),
}

/// A ziplist with the given entries (new integer forms where they fit).
pub fn ziplist(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for e in entries {
        let mut ent = Vec::new();
        if prev < 254 {
            ent.push(prev as u8);
        } else {
            ent.push(0xFE);
            ent.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match e {
            Entry::S(b) => {
                let n = b.len();
                if n < 64 {
                    ent.push(n as u8);
                } else if n < 16384 {
                    ent.push(0x40 | (n >> 8) as u8);
                    ent.push(n as u8);
                } else {
                    ent.push(0x80);
                    ent.extend_from_slice(&(n as u32).to_be_bytes());
                }
                ent.extend_from_slice(b);
            }
            Entry::I(i) => {
                let i = *i;
                if (0..=12).contains(&i) {
                    ent.push(0xF1 + i as u8);
                } else if i8::try_from(i).is_ok() {
                    ent.push(0xFE);
                    ent.push(i as i8 as u8);
                } else if i16::try_from(i).is_ok() {
                    ent.push(0xC0);
                    ent.extend_from_slice(&(i as i16).to_le_bytes());
                } else if (-(1 << 23)..(1 << 23)).contains(&i) {
                    ent.push(0xF0);
                    ent.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
                } else if i32::try_from(i).is_ok() {
                    ent.push(0xD0);
                    ent.extend_from_slice(&(i as i32).to_le_bytes());
                } else {
                    ent.push(0xE0);
                    ent.extend_from_slice(&i.to_le_bytes());
                }
            }
        }
        tail = 10 + body.len();
        prev = ent.len();
        body.extend(ent);
    }
    let total = 10 + body.len() + 1;
    let mut v = Vec::new();
    v.extend_from_slice(&(total as u32).to_le_bytes());
    v.extend_from_slice(&(tail as u32).to_le_bytes());
    v.extend_from_slice(&(entries.len().min(65535) as u16).to_le_bytes());
    v.extend(body);
    v.push(0xFF);
    v
}

fn lp_backlen(n: usize) -> Vec<u8> {
    // 7-bit groups, most significant first; every byte but the first has bit 7 set
    // (redis src/listpack.c lpEncodeBacklen, stored so it reads right to left).
    if n <= 127 {
        vec![n as u8]
    } else if n < 16383 {
        vec![(n >> 7) as u8, (n & 127) as u8 | 128]
    } else if n < 2097151 {
        vec![(n >> 14) as u8, ((n >> 7) & 127) as u8 | 128, (n & 127) as u8 | 128]
    } else {
        vec![(n >> 21) as u8, ((n >> 14) & 127) as u8 | 128, ((n >> 7) & 127) as u8 | 128, (n & 127) as u8 | 128]
    }
}

pub fn listpack(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        let mut ent = Vec::new();
        match e {
            Entry::S(b) => {
                let n = b.len();
                if n < 64 {
                    ent.push(0x80 | n as u8);
                } else if n < 4096 {
                    ent.push(0xE0 | (n >> 8) as u8);
                    ent.push(n as u8);
                } else {
                    ent.push(0xF0);
                    ent.extend_from_slice(&(n as u32).to_le_bytes());
                }
                ent.extend_from_slice(b);
            }
            Entry::I(i) => {
                let i = *i;
                if (0..=127).contains(&i) {
                    ent.push(i as u8);
                } else if (-4096..4096).contains(&i) {
                    let u = (i as u16) & 0x1FFF;
                    ent.push(0xC0 | (u >> 8) as u8);
                    ent.push(u as u8);
                } else if i16::try_from(i).is_ok() {
                    ent.push(0xF1);
                    ent.extend_from_slice(&(i as i16).to_le_bytes());
                } else if (-(1 << 23)..(1 << 23)).contains(&i) {
                    ent.push(0xF2);
                    ent.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
                } else if i32::try_from(i).is_ok() {
                    ent.push(0xF3);
                    ent.extend_from_slice(&(i as i32).to_le_bytes());
                } else {
                    ent.push(0xF4);
                    ent.extend_from_slice(&i.to_le_bytes());
                }
            }
        }
        let bl = lp_backlen(ent.len());
        body.extend(ent);
        body.extend(bl);
    }
    let total = 6 + body.len() + 1;
    let mut v = Vec::new();
    v.extend_from_slice(&(total as u32).to_le_bytes());
    v.extend_from_slice(&(entries.len().min(65535) as u16).to_le_bytes());
    v.extend(body);
    v.push(0xFF);
    v
}

/// A zipmap (redis src/zipmap.c): count byte, then `<len>key<len><free>value<free bytes>`, 0xFF.
pub fn zipmap(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
    let zlen = |n: usize| -> Vec<u8> {
        if n < 254 {
            vec![n as u8]
        } else {
            let mut v = vec![254];
            v.extend_from_slice(&(n as u32).to_le_bytes());
            v
        }
    };
    let mut v = vec![pairs.len().min(254) as u8];
    for (k, val) in pairs {
        v.extend(zlen(k.len()));
        v.extend_from_slice(k);
        v.extend(zlen(val.len()));
        v.push(free);
        v.extend_from_slice(val);
        v.extend(std::iter::repeat_n(0u8, free as usize));
    }
    v.push(0xFF);
    v
}

pub fn intset(width: u32, values: &[i64]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&width.to_le_bytes());
    v.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &x in values {
        v.extend_from_slice(&x.to_le_bytes()[..width as usize]);
    }
    v
}

/// Assembles an RDB file.
pub struct Rdb {
    pub bytes: Vec<u8>,
    version: u32,
}

impl Rdb {
    pub fn redis(version: u32) -> Rdb {
        Rdb { bytes: format!("REDIS{version:04}").into_bytes(), version }
    }

    pub fn valkey() -> Rdb {
        Rdb { bytes: b"VALKEY080".to_vec(), version: 80 }
    }

    pub fn raw(mut self, b: &[u8]) -> Rdb {
        self.bytes.extend_from_slice(b);
        self
    }

    pub fn aux(self, k: &str, v: &str) -> Rdb {
        self.raw(&[0xFA]).raw(&s(k.as_bytes())).raw(&s(v.as_bytes()))
    }

    pub fn select(self, db: u64) -> Rdb {
        self.raw(&[0xFE]).raw(&len(db))
    }

    pub fn expire_ms(self, ms: i64) -> Rdb {
        self.raw(&[0xFC]).raw(&ms.to_le_bytes())
    }

    /// A key: type byte, key string, then the already-encoded value.
    pub fn key(self, ty: u8, key: &[u8], value: &[u8]) -> Rdb {
        self.raw(&[ty]).raw(&s(key)).raw(value)
    }

    pub fn string(self, key: &[u8], value: &[u8]) -> Rdb {
        self.key(0, key, &s(value))
    }

    /// A type-1 list (one string per element).
    pub fn list(self, key: &[u8], elements: &[&[u8]]) -> Rdb {
        let mut v = len(elements.len() as u64);
        for e in elements {
            v.extend(s(e));
        }
        self.key(1, key, &v)
    }

    /// A type-2 set.
    pub fn set(self, key: &[u8], members: &[&[u8]]) -> Rdb {
        let mut v = len(members.len() as u64);
        for e in members {
            v.extend(s(e));
        }
        self.key(2, key, &v)
    }

    /// A type-4 hash.
    pub fn hash(self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Rdb {
        let mut v = len(pairs.len() as u64);
        for (f, x) in pairs {
            v.extend(s(f));
            v.extend(s(x));
        }
        self.key(4, key, &v)
    }

    /// A type-5 zset (binary double scores).
    pub fn zset(self, key: &[u8], pairs: &[(&[u8], f64)]) -> Rdb {
        let mut v = len(pairs.len() as u64);
        for (m, score) in pairs {
            v.extend(s(m));
            v.extend_from_slice(&score.to_le_bytes());
        }
        self.key(5, key, &v)
    }

    /// EOF and a correct checksum (for version ≥ 5).
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.push(0xFF);
        if self.version >= 5 {
            let crc = crc64_bitwise(&self.bytes);
            self.bytes.extend_from_slice(&crc.to_le_bytes());
        }
        self.bytes
    }

    /// EOF with a checksum of 0 ("written without one").
    pub fn finish_no_crc(mut self) -> Vec<u8> {
        self.bytes.push(0xFF);
        self.bytes.extend_from_slice(&[0; 8]);
        self.bytes
    }
}
