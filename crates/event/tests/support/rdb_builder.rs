//! A minimal RDB writer for tests, written from the file format (redis src/rdb.c, listpack.c,
//! t_stream.c), not from the decoder, so that tests check the decoder and the writers against
//! independently built bytes. The CLI tests include this file too.

#![allow(dead_code)]

/// Bitwise CRC-64/Jones as in redis src/crc64.c (reflected poly 0x95ac9329ac4bc9b5, init 0).
pub fn crc64(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x95ac9329ac4bc9b5 } else { crc >> 1 };
        }
    }
    crc
}

/// An RDB length.
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

/// An RDB string (plain, length-prefixed).
pub fn s(bytes: &[u8]) -> Vec<u8> {
    let mut v = len(bytes.len() as u64);
    v.extend_from_slice(bytes);
    v
}

pub enum Lp<'a> {
    S(&'a [u8]),
    I(i64),
}

/// A listpack of short strings (< 64 bytes) and integers.
pub fn listpack(entries: &[Lp<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        let mut ent = Vec::new();
        match e {
            Lp::S(b) => {
                assert!(b.len() < 64);
                ent.push(0x80 | b.len() as u8);
                ent.extend_from_slice(b);
            }
            Lp::I(i) if (0..=127).contains(i) => ent.push(*i as u8),
            Lp::I(i) => {
                ent.push(0xF4);
                ent.extend_from_slice(&i.to_le_bytes());
            }
        }
        assert!(ent.len() < 128);
        let n = ent.len() as u8;
        body.extend(ent);
        body.push(n); // back length, one byte for entries < 128 bytes
    }
    let mut v = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
    v.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    v.extend(body);
    v.push(0xFF);
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

    /// A key: type byte, key string, then the encoded value.
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
            let crc = crc64(&self.bytes);
            self.bytes.extend_from_slice(&crc.to_le_bytes());
        }
        self.bytes
    }
}

/// The value of a stream with three entries (IDs 1000-0, 1001-0, 1005-1; a deleted 1002-0),
/// one group `g1` with one pending entry 1001-0 owned by consumer `alice`, and an idle
/// consumer `bob`. `ty` is 15, 19 or 21.
pub fn stream_value(ty: u8) -> Vec<u8> {
    // Master entry: count, deleted, #fields, fields..., 0; then per entry: flags, ms-diff,
    // seq-diff, [#fields, field, value... | values...], lp-count (t_stream.c).
    let lp = listpack(&[
        Lp::I(3),
        Lp::I(1),
        Lp::I(1),
        Lp::S(b"temp"),
        Lp::I(0),
        // 1000-0, same fields
        Lp::I(2),
        Lp::I(0),
        Lp::I(0),
        Lp::S(b"20"),
        Lp::I(4),
        // 1001-0, own fields
        Lp::I(0),
        Lp::I(1),
        Lp::I(0),
        Lp::I(2),
        Lp::S(b"other"),
        Lp::S(b"x"),
        Lp::S(b"y"),
        Lp::S(b"z"),
        Lp::I(8),
        // 1002-0, deleted
        Lp::I(3),
        Lp::I(2),
        Lp::I(0),
        Lp::S(b"gone"),
        Lp::I(4),
        // 1005-1
        Lp::I(2),
        Lp::I(5),
        Lp::I(1),
        Lp::S(b"25"),
        Lp::I(4),
    ]);
    let mut master = 1000u64.to_be_bytes().to_vec();
    master.extend_from_slice(&0u64.to_be_bytes());
    let mut v = len(1);
    v.extend(s(&master));
    v.extend(s(&lp));
    v.extend(len(3)); // length
    v.extend(len(1005));
    v.extend(len(1)); // last id
    if ty >= 19 {
        v.extend(len(1000));
        v.extend(len(0)); // first id
        v.extend(len(1002));
        v.extend(len(0)); // max deleted id
        v.extend(len(4)); // entries added
    }
    v.extend(len(1)); // groups
    v.extend(s(b"g1"));
    v.extend(len(1001));
    v.extend(len(0)); // group last id
    if ty >= 19 {
        v.extend(len(2)); // entries read
    }
    let mut id = 1001u64.to_be_bytes().to_vec();
    id.extend_from_slice(&0u64.to_be_bytes());
    v.extend(len(1)); // group PEL
    v.extend_from_slice(&id);
    v.extend_from_slice(&1_700_000_000_500i64.to_le_bytes());
    v.extend(len(3));
    v.extend(len(2)); // consumers
    for (name, pel) in [(&b"alice"[..], 1u64), (b"bob", 0)] {
        v.extend(s(name));
        v.extend_from_slice(&1_700_000_000_600i64.to_le_bytes());
        if ty >= 21 {
            v.extend_from_slice(&1_700_000_000_700i64.to_le_bytes());
        }
        v.extend(len(pel));
        if pel == 1 {
            v.extend_from_slice(&id);
        }
    }
    v
}

/// An empty stream (as `XGROUP CREATE ... MKSTREAM` leaves it), type 15.
pub fn empty_stream_value() -> Vec<u8> {
    let mut v = len(0); // no nodes
    v.extend(len(0)); // length
    v.extend(len(0));
    v.extend(len(0)); // last id 0-0
    v.extend(len(0)); // no groups
    v
}
