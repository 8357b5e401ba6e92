//! A known data set, written to a real server through ordinary commands, with the expected
//! contents kept from the writes themselves. Tests that read the data back by other means (the
//! RDB decoder, a replica, a migration) compare against this model, never against their own
//! output.
//!
//! The data set is shaped to reach every storage encoding a server version has: small and large
//! collections, integers at every encoding edge, binary and empty strings, several dbs, TTLs,
//! streams with deletions and consumer groups, hash field TTLs (Redis 7.4+, Valkey 9) and
//! functions (7.0+).

use std::collections::{BTreeMap, BTreeSet};

use crate::{Product, Server};

pub type Bytes = Vec<u8>;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(Bytes),
    List(Vec<Bytes>),
    Set(BTreeSet<Bytes>),
    /// Scores as bit patterns so that NaN-free comparisons are exact.
    Zset(BTreeMap<Bytes, u64>),
    Hash(BTreeMap<Bytes, (Bytes, Option<i64>)>),
    Stream(StreamModel),
}

/// A consumer group: last delivered id, pending ids → consumer, consumer names.
pub type Group = (String, BTreeMap<String, Bytes>, BTreeSet<Bytes>);

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamModel {
    pub entries: Vec<(String, Vec<(Bytes, Bytes)>)>,
    pub last_id: String,
    pub groups: BTreeMap<Bytes, Group>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub value: Val,
    pub expire_at_ms: Option<i64>,
}

/// (db, key) → key.
pub type Model = BTreeMap<(u64, Bytes), Key>;

/// Far-future expiry times, so that nothing expires during the test.
pub const T2100_MS: i64 = 4_102_444_800_000;

struct Writer<'a> {
    server: &'a Server,
    db: u64,
    model: Model,
    functions: Vec<String>,
}

impl<'a> Writer<'a> {
    fn cmd(&self, args: &[&[u8]]) {
        let r = self.server.cmd(args);
        assert!(!r.is_error(), "{} failed on {}: {r:?}", String::from_utf8_lossy(args[0]), self.server.name());
    }

    fn select(&mut self, db: u64) {
        self.cmd(&[b"SELECT", db.to_string().as_bytes()]);
        self.db = db;
    }

    fn put(&mut self, key: &[u8], value: Val) {
        self.model.insert((self.db, key.to_vec()), Key { value, expire_at_ms: None });
    }

    fn expire_at(&mut self, key: &[u8], ms: i64) {
        self.cmd(&[b"PEXPIREAT", key, ms.to_string().as_bytes()]);
        self.model.get_mut(&(self.db, key.to_vec())).unwrap().expire_at_ms = Some(ms);
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.cmd(&[b"SET", key, value]);
        self.put(key, Val::Str(value.to_vec()));
    }

    fn rpush(&mut self, key: &[u8], values: &[Bytes]) {
        for chunk in values.chunks(100) {
            let mut args: Vec<&[u8]> = vec![b"RPUSH", key];
            args.extend(chunk.iter().map(|v| v.as_slice()));
            self.cmd(&args);
        }
        self.put(key, Val::List(values.to_vec()));
    }

    fn sadd(&mut self, key: &[u8], values: &[Bytes]) {
        for chunk in values.chunks(100) {
            let mut args: Vec<&[u8]> = vec![b"SADD", key];
            args.extend(chunk.iter().map(|v| v.as_slice()));
            self.cmd(&args);
        }
        self.put(key, Val::Set(values.iter().cloned().collect()));
    }

    fn zadd(&mut self, key: &[u8], members: &[(&str, Bytes)]) {
        let mut model = BTreeMap::new();
        for (score, m) in members {
            self.cmd(&[b"ZADD", key, score.as_bytes(), m]);
            let f: f64 = match *score {
                "inf" | "+inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                s => s.parse().unwrap(),
            };
            model.insert(m.clone(), f.to_bits());
        }
        self.put(key, Val::Zset(model));
    }

    fn hset(&mut self, key: &[u8], pairs: &[(Bytes, Bytes)]) {
        // HMSET works on every version (multi-field HSET needs 4.0).
        for chunk in pairs.chunks(100) {
            let mut args: Vec<&[u8]> = vec![b"HMSET", key];
            for (f, v) in chunk {
                args.push(f);
                args.push(v);
            }
            self.cmd(&args);
        }
        self.put(key, Val::Hash(pairs.iter().map(|(f, v)| (f.clone(), (v.clone(), None))).collect()));
    }

    fn hexpire_at(&mut self, key: &[u8], field: &[u8], ms: i64) {
        self.cmd(&[b"HPEXPIREAT", key, ms.to_string().as_bytes(), b"FIELDS", b"1", field]);
        if let Some(Key { value: Val::Hash(h), .. }) = self.model.get_mut(&(self.db, key.to_vec())) {
            h.get_mut(field).unwrap().1 = Some(ms);
        }
    }
}

pub fn b(s: &str) -> Bytes {
    s.as_bytes().to_vec()
}

fn seq(prefix: &str, n: usize) -> Vec<Bytes> {
    (0..n).map(|i| format!("{prefix}{i}").into_bytes()).collect()
}

/// Integers around every integer-encoding boundary (RDB INT8/16/32, ziplist and listpack
/// integer forms, intset widths), as text.
fn edge_integers() -> Vec<Bytes> {
    [
        "0",
        "1",
        "12",
        "13",
        "-1",
        "63",
        "64",
        "127",
        "128",
        "-128",
        "-129",
        "4095",
        "4096",
        "-4096",
        "-4097",
        "32767",
        "32768",
        "-32768",
        "-32769",
        "8388607",
        "8388608",
        "-8388608",
        "-8388609",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
        "12345678901",
        "123456789012",
        "00123",
        "+5",
        "1.5",
    ]
    .iter()
    .map(|s| b(s))
    .collect()
}

/// Writes the data set; returns the expected keys and function library sources.
pub fn write_dataset(server: &Server) -> (Model, Vec<String>) {
    let v = server.version();
    let redis = |maj, min| v.product == Product::Redis && v.at_least(maj, min, 0);
    let valkey9 = v.product == Product::Valkey && v.at_least(9, 0, 0);
    let streams = v.product == Product::Valkey || v.at_least(5, 0, 0);
    let mut w = Writer { server, db: 0, model: Model::new(), functions: Vec::new() };

    // Strings: plain, empty, binary, compressible (LZF), and every integer edge.
    w.select(0);
    w.set(b"s:hello", b"hello world");
    w.set(b"s:empty", b"");
    w.set(&[0xFF, 0x00, b'k', b'\n'], &[0x00, 0xFE, 0xFF, b'\r', b'\n']);
    w.set(b"s:lzf", "abcdefgh".repeat(200).as_bytes());
    w.set(b"s:utf8", "héllo ✓ 日本".as_bytes());
    w.set(b"s:big", &(0..100_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>());
    for (i, n) in edge_integers().iter().enumerate() {
        w.set(format!("s:int:{i}").as_bytes(), n);
    }
    w.set(b"s:ttl", b"expires in 2100");
    w.expire_at(b"s:ttl", T2100_MS);

    // Lists: small (ziplist/listpack), large (quicklist or linked list), one huge element.
    let mut small = edge_integers();
    small.extend([b(""), vec![0, 1, 2, 255], b("x")]);
    w.rpush(b"l:small", &small);
    w.rpush(b"l:big", &seq("element-", 2000));
    let mut with_huge = seq("e", 5);
    with_huge.push(vec![b'H'; 20_000]);
    with_huge.extend(seq("f", 5));
    w.rpush(b"l:huge-element", &with_huge);
    w.expire_at(b"l:big", T2100_MS + 1);

    // Sets: intsets of each width, small strings (listpack on 7.2+), large hashtable.
    w.sadd(b"set:int16", &[b("1"), b("-2"), b("300")]);
    w.sadd(b"set:int32", &[b("1"), b("70000"), b("-70000")]);
    w.sadd(b"set:int64", &[b("1"), b("9223372036854775807"), b("-9223372036854775808")]);
    w.sadd(b"set:small", &[b("a"), b("b"), b(""), vec![0xC0, 0x80]]);
    w.sadd(b"set:big", &seq("member-", 1000));

    // Sorted sets: small (ziplist/listpack) and large (skiplist), with edge scores.
    w.select(1);
    let scores = ["0", "-1.5", "3.25", "inf", "-inf", "1e300", "-0.1", "42", "0.3333333333333333"];
    let members: Vec<(&str, Bytes)> =
        scores.iter().enumerate().map(|(i, s)| (*s, format!("m{i}").into_bytes())).collect();
    w.zadd(b"z:small", &members);
    let big: Vec<(String, Bytes)> =
        (0..300).map(|i| (format!("{}.{}", i, i % 7), format!("zm-{i}").into_bytes())).collect();
    let big_ref: Vec<(&str, Bytes)> = big.iter().map(|(s, m)| (s.as_str(), m.clone())).collect();
    w.zadd(b"z:big", &big_ref);

    // Hashes: small (ziplist/listpack), large (hashtable), binary and empty values.
    let small_hash: Vec<(Bytes, Bytes)> =
        vec![(b("name"), b("Ada")), (b("age"), b("36")), (b("empty"), b("")), (vec![0xFF], vec![0x00])];
    w.hset(b"h:small", &small_hash);
    let big_hash: Vec<(Bytes, Bytes)> =
        (0..1000).map(|i| (format!("f{i}").into_bytes(), format!("v{i}").into_bytes())).collect();
    w.hset(b"h:big", &big_hash);
    w.hset(b"h:longvalue", &[(b("f"), vec![b'v'; 100])]);

    // Hash field TTLs.
    if redis(7, 4) || valkey9 {
        w.select(2);
        w.hset(b"hf:small", &[(b("a"), b("1")), (b("b"), b("2")), (b("c"), b("3"))]);
        w.hexpire_at(b"hf:small", b"b", T2100_MS + 5);
        let many: Vec<(Bytes, Bytes)> =
            (0..1000).map(|i| (format!("k{i}").into_bytes(), format!("{i}").into_bytes())).collect();
        w.hset(b"hf:big", &many);
        w.hexpire_at(b"hf:big", b"k7", T2100_MS + 7);
        w.hexpire_at(b"hf:big", b"k200", T2100_MS + 200);
    }

    // Streams: same-field entries, different fields, deletions, groups, PELs, consumers.
    if streams {
        w.select(3);
        let mut entries = Vec::new();
        for i in 1..=12u64 {
            let id = format!("1000-{i}");
            let fields: Vec<(Bytes, Bytes)> = if i % 4 == 0 {
                vec![(b("other"), format!("o{i}").into_bytes()), (b("x"), b(""))]
            } else {
                vec![(b("temp"), format!("{}", 20 + i).into_bytes()), (b("unit"), b("C"))]
            };
            let mut args: Vec<&[u8]> = vec![b"XADD", b"st", id.as_bytes()];
            for (f, v) in &fields {
                args.push(f);
                args.push(v);
            }
            w.cmd(&args);
            entries.push((id, fields));
        }
        for del in ["1000-3", "1000-8"] {
            w.cmd(&[b"XDEL", b"st", del.as_bytes()]);
            entries.retain(|(id, _)| id != del);
        }
        w.cmd(&[b"XGROUP", b"CREATE", b"st", b"g1", b"0"]);
        w.cmd(&[b"XGROUP", b"CREATE", b"st", b"g2", b"$"]);
        // alice reads 3 (1000-1, -2, -4), bob reads 1 (1000-5); alice acks 1000-1.
        w.cmd(&[b"XREADGROUP", b"GROUP", b"g1", b"alice", b"COUNT", b"3", b"STREAMS", b"st", b">"]);
        w.cmd(&[b"XREADGROUP", b"GROUP", b"g1", b"bob", b"COUNT", b"1", b"STREAMS", b"st", b">"]);
        w.cmd(&[b"XACK", b"st", b"g1", b"1000-1"]);
        let mut groups = BTreeMap::new();
        let pel: BTreeMap<String, Bytes> = [("1000-2", "alice"), ("1000-4", "alice"), ("1000-5", "bob")]
            .iter()
            .map(|(i, c)| (i.to_string(), b(c)))
            .collect();
        groups.insert(b("g1"), ("1000-5".to_string(), pel, [b("alice"), b("bob")].into_iter().collect()));
        groups.insert(b("g2"), ("1000-12".to_string(), BTreeMap::new(), BTreeSet::new()));
        w.put(b"st", Val::Stream(StreamModel { entries, last_id: "1000-12".into(), groups }));

        let mut big = Vec::new();
        for i in 1..=1500u64 {
            let id = format!("{}-0", 5000 + i);
            w.cmd(&[b"XADD", b"st:big", id.as_bytes(), b"n", i.to_string().as_bytes()]);
            big.push((id, vec![(b("n"), i.to_string().into_bytes())]));
        }
        w.put(b"st:big", Val::Stream(StreamModel { entries: big, last_id: "6500-0".into(), groups: BTreeMap::new() }));

        w.cmd(&[b"XADD", b"st:empty", b"7-7", b"a", b"b"]);
        w.cmd(&[b"XDEL", b"st:empty", b"7-7"]);
        w.put(
            b"st:empty",
            Val::Stream(StreamModel { entries: vec![], last_id: "7-7".into(), groups: BTreeMap::new() }),
        );
    }

    // Functions (7.0+).
    if redis(7, 0) || v.product == Product::Valkey {
        let code = "#!lua name=redtail_test\nredis.register_function('rt_one', function(keys, args) return 1 end)";
        w.cmd(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
        w.functions.push(code.to_string());
    }
    (w.model, w.functions)
}
