//! Decoder tests on hand-made bytes: every type and encoding, and every kind of bad input.
//! Each case is also decoded one byte at a time, which must give the same result.

mod support;

use rdb::ErrorKind;
use support::*;

fn ok(bytes: &[u8]) -> Vec<String> {
    match decode(bytes) {
        Ok(ev) => ev,
        Err(e) => panic!("decode failed: {e}"),
    }
}

fn err(bytes: &[u8]) -> rdb::Error {
    match decode(bytes) {
        Ok(ev) => panic!("expected an error, got {ev:#?}"),
        Err(e) => e,
    }
}

/// The events between `begin`/`aux` and `end`, for brevity.
fn body(ev: Vec<String>) -> Vec<String> {
    ev.into_iter()
        .filter(|l| !l.starts_with("begin") && !l.starts_with("end "))
        .map(|l| l.trim_end_matches(' ').to_string())
        .collect()
}

/// Parses an expected-events literal: one event per line, items recognised by their kind.
fn lines(s: &str) -> Vec<String> {
    const ITEMS: [&str; 12] =
        ["string", "list", "set", "zset", "hash", "entry", "meta", "group", "pel", "consumer", "cpel", "module"];
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let kind = l.split(' ').next().unwrap();
            if ITEMS.contains(&kind) {
                format!("  {l}")
            } else {
                l.to_string()
            }
        })
        .collect()
}

#[test]
fn strings_in_every_form() {
    let mut int16 = vec![0xC1];
    int16.extend_from_slice(&(-300i16).to_le_bytes());
    let mut int32 = vec![0xC2];
    int32.extend_from_slice(&(70000i32).to_le_bytes());
    let bin = [0u8, 0xFF, b'\n'];
    let rdb = Rdb::redis(9)
        .aux("redis-ver", "5.0.6")
        .select(0)
        .key(0, b"raw", &s(b"hello"))
        .key(0, b"empty", &s(b""))
        .key(0, b"i8", &[0xC0, 0xF6])
        .key(0, b"i16", &int16)
        .key(0, b"i32", &int32)
        .key(0, b"lzf", &lzf_literal(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"))
        .key(0, &bin, &s(&bin))
        .finish();
    let ev = ok(&rdb);
    assert_eq!(ev[0], "begin REDIS0009");
    let mut want = lines(
        "aux redis-ver=5.0.6
         select 0
         key db=0 raw string raw exp=None len=None
           string hello
         end-key
         key db=0 empty string raw exp=None len=None
           string
         end-key
         key db=0 i8 string int exp=None len=None
           string -10
         end-key
         key db=0 i16 string int exp=None len=None
           string -300
         end-key
         key db=0 i32 string int exp=None len=None
           string 70000
         end-key
         key db=0 lzf string lzf exp=None len=None
           string aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab
         end-key",
    );
    // The binary key and value (bytes 00 FF 0A) are rendered lossily.
    want.push("key db=0 \u{0}\u{FFFD}\n string raw exp=None len=None".into());
    want.push("  string \u{0}\u{FFFD}\n".into());
    want.push("end-key".into());
    assert_eq!(body(ev), want);
}

#[test]
fn expiry_idle_and_freq_apply_to_the_next_key_only() {
    let mut secs = vec![0xFD];
    secs.extend_from_slice(&1_700_000_000i32.to_le_bytes());
    let rdb = Rdb::redis(9)
        .expire_ms(1_700_000_000_123)
        .key(0, b"a", &s(b"1"))
        .raw(&secs)
        .raw(&[0xF8])
        .raw(&len(42))
        .key(0, b"b", &s(b"2"))
        .raw(&[0xF9, 7])
        .key(0, b"c", &s(b"3"))
        .finish();
    let mut p = rdb::Parser::default();
    p.feed(&rdb);
    let mut keys = Vec::new();
    loop {
        match p.next().unwrap() {
            rdb::Step::Event(rdb::Event::Key(k)) => keys.push((k.expire_at_ms, k.idle_s, k.freq, k.offset)),
            rdb::Step::Event(_) => {}
            _ => break,
        }
    }
    assert_eq!(keys[0], (Some(1_700_000_000_123), None, None, 9));
    // The second key starts at its EXPIRETIME opcode: 9 + 9 (expire) + 1+2+2 (key a).
    assert_eq!(keys[1], (Some(1_700_000_000_000), Some(42), None, 23));
    assert_eq!(keys[2].0, None);
    assert_eq!(keys[2].1, None);
    assert_eq!(keys[2].2, Some(7));
}

#[test]
fn plain_collections() {
    let mut zset = len(4);
    for (m, sc) in [("a", &b"1.5"[..]), ("b", b"-3"), ("c", &[])] {
        zset.extend(s(m.as_bytes()));
        zset.push(sc.len() as u8);
        zset.extend_from_slice(sc);
    }
    zset.extend(s(b"d"));
    zset.push(254); // +inf
    let mut zset2 = len(2);
    zset2.extend(s(b"x"));
    zset2.extend_from_slice(&2.25f64.to_le_bytes());
    zset2.extend(s(b"y"));
    zset2.extend_from_slice(&f64::NEG_INFINITY.to_le_bytes());
    let mut list = len(3);
    list.extend(s(b"x"));
    list.extend(vec![0xC0, 5]);
    list.extend(lzf_literal(b"compressed-element-longer-than-20"));
    let mut set = len(2);
    set.extend(s(b"m1"));
    set.extend(s(b"m2"));
    let mut hash = len(1);
    hash.extend(s(b"f"));
    hash.extend(s(b"v"));
    let rdb = Rdb::redis(9)
        .key(1, b"l", &list)
        .key(2, b"s", &set)
        .key(3, b"z", &zset[..zset.len()])
        .key(5, b"z2", &zset2)
        .key(4, b"h", &hash)
        .key(1, b"emptylist", &len(0))
        .finish();
    // The type-3 zset above has an empty score text for "c": that is invalid.
    let e = err(&rdb);
    assert!(matches!(e.kind, ErrorKind::Invalid(_)), "{e}");
    assert_eq!(e.key.as_deref(), Some(&b"z"[..]));

    let mut zset = len(3);
    for (m, sc) in [("a", &b"1.5"[..]), ("b", b"-3")] {
        zset.extend(s(m.as_bytes()));
        zset.push(sc.len() as u8);
        zset.extend_from_slice(sc);
    }
    zset.extend(s(b"d"));
    zset.push(253); // nan
    let rdb = Rdb::redis(9)
        .key(1, b"l", &list)
        .key(2, b"s", &set)
        .key(3, b"z", &zset)
        .key(5, b"z2", &zset2)
        .key(4, b"h", &hash)
        .key(1, b"emptylist", &len(0))
        .finish();
    assert_eq!(
        body(ok(&rdb)),
        lines(
            "key db=0 l list linkedlist exp=None len=Some(3)
               list x
               list 5
               list compressed-element-longer-than-20
             end-key
             key db=0 s set hashtable exp=None len=Some(2)
               set m1
               set m2
             end-key
             key db=0 z zset skiplist exp=None len=Some(3)
               zset a 1.5
               zset b -3
               zset d NaN
             end-key
             key db=0 z2 zset skiplist2 exp=None len=Some(2)
               zset x 2.25
               zset y -inf
             end-key
             key db=0 h hash hashtable exp=None len=Some(1)
               hash f=v exp=None
             end-key
             key db=0 emptylist list linkedlist exp=None len=Some(0)
             end-key"
        )
    );
}

/// Integers at every ziplist encoding edge, old and new forms.
#[test]
fn ziplist_integer_edges() {
    let ints = [
        0,
        12,
        13,
        -1,
        127,
        -128,
        128,
        -129,
        32767,
        -32768,
        32768,
        8388607,
        -8388608,
        8388608,
        2147483647,
        -2147483648,
        2147483648,
        i64::MIN,
        i64::MAX,
    ];
    let entries: Vec<Entry> = ints.iter().map(|&i| Entry::I(i)).collect();
    let zl = ziplist(&entries);
    let rdb = Rdb::redis(9).key(10, b"zl", &s(&zl)).finish();
    let got = body(ok(&rdb));
    let want: Vec<String> = std::iter::once("key db=0 zl list ziplist exp=None len=None".to_string())
        .chain(ints.iter().map(|i| format!("  list {i}")))
        .chain(std::iter::once("end-key".to_string()))
        .collect();
    assert_eq!(got, want);

    // The old (Redis 2.4) forms: int16/32/64 only, with a long string.
    let long = vec![b'q'; 300];
    let zl = ziplist(&[Entry::S(&long), Entry::S(b"after-long"), Entry::I(-1)]);
    let rdb = Rdb::redis(2).key(10, b"old", &s(&zl)).raw(&[0xFF]).bytes;
    let got = body(ok(&rdb));
    assert_eq!(got[1], format!("  list {}", "q".repeat(300)));
    assert_eq!(got[2], "  list after-long");
    assert_eq!(got[3], "  list -1");
}

#[test]
fn compact_encodings() {
    let zs = ziplist(&[Entry::S(b"m"), Entry::S(b"2.5"), Entry::S(b"n"), Entry::I(-7)]);
    let zh = ziplist(&[Entry::S(b"f"), Entry::S(b"v"), Entry::S(b"g"), Entry::I(1000)]);
    let lh = listpack(&[Entry::S(b"f"), Entry::S(b"v")]);
    let lz = listpack(&[Entry::S(b"a"), Entry::I(1), Entry::S(b"b"), Entry::S(b"inf")]);
    let ls = listpack(&[Entry::S(b"x"), Entry::I(-4096), Entry::I(4095), Entry::I(1 << 40)]);
    let zm = zipmap(&[(b"k1", b"v1"), (b"k2", b"value-two")], 2);
    let rdb = Rdb::redis(11)
        .key(9, b"zm", &s(&zm))
        .key(11, b"is16", &s(&intset(2, &[-5, 7])))
        .key(11, b"is32", &s(&intset(4, &[-70000, 70000])))
        .key(11, b"is64", &s(&intset(8, &[i64::MIN, i64::MAX])))
        .key(12, b"zs", &s(&zs))
        .key(13, b"zh", &s(&zh))
        .key(16, b"lh", &s(&lh))
        .key(17, b"lz", &s(&lz))
        .key(20, b"ls", &s(&ls))
        .finish();
    assert_eq!(
        body(ok(&rdb)),
        lines(&format!(
            "key db=0 zm hash zipmap exp=None len=None
               hash k1=v1 exp=None
               hash k2=value-two exp=None
             end-key
             key db=0 is16 set intset exp=None len=None
               set -5
               set 7
             end-key
             key db=0 is32 set intset exp=None len=None
               set -70000
               set 70000
             end-key
             key db=0 is64 set intset exp=None len=None
               set {}
               set {}
             end-key
             key db=0 zs zset ziplist exp=None len=None
               zset m 2.5
               zset n -7
             end-key
             key db=0 zh hash ziplist exp=None len=None
               hash f=v exp=None
               hash g=1000 exp=None
             end-key
             key db=0 lh hash listpack exp=None len=None
               hash f=v exp=None
             end-key
             key db=0 lz zset listpack exp=None len=None
               zset a 1
               zset b inf
             end-key
             key db=0 ls set listpack exp=None len=None
               set x
               set -4096
               set 4095
               set 1099511627776
             end-key",
            i64::MIN,
            i64::MAX
        ))
    );
}

#[test]
fn quicklists_with_plain_packed_and_compressed_nodes() {
    let n1 = ziplist(&[Entry::S(b"a"), Entry::I(1)]);
    let n2 = ziplist(&[Entry::S(b"b")]);
    let mut ql = len(2);
    ql.extend(s(&n1));
    ql.extend(lzf_literal(&n2));
    let p1 = listpack(&[Entry::S(b"c"), Entry::S(b"d")]);
    let mut ql2 = len(3);
    ql2.extend(len(2));
    ql2.extend(s(&p1));
    ql2.extend(len(1));
    ql2.extend(s(b"a-plain-node"));
    ql2.extend(len(1));
    ql2.extend(lzf_literal(b"a-compressed-plain-node"));
    let rdb = Rdb::redis(10).key(14, b"q", &ql).key(18, b"q2", &ql2).finish();
    assert_eq!(
        body(ok(&rdb)),
        lines(
            "key db=0 q list quicklist exp=None len=None
               list a
               list 1
               list b
             end-key
             key db=0 q2 list quicklist2 exp=None len=None
               list c
               list d
               list a-plain-node
               list a-compressed-plain-node
             end-key"
        )
    );
}

#[test]
fn hash_field_ttls_redis_and_valkey() {
    // Redis 24: minExpire, count, then (ttl relative to minExpire, field, value).
    let min = 1_800_000_000_000i64;
    let mut h24 = min.to_le_bytes().to_vec();
    h24.extend(len(2));
    h24.extend(len(0));
    h24.extend(s(b"keep"));
    h24.extend(s(b"v1"));
    h24.extend(len(11));
    h24.extend(s(b"ttl"));
    h24.extend(s(b"v2"));
    // Redis 25: minExpire, then a listpack of field, value, absolute TTL (0 = none).
    let mut h25 = min.to_le_bytes().to_vec();
    h25.extend(s(&listpack(&[
        Entry::S(b"a"),
        Entry::S(b"1"),
        Entry::I(min + 5),
        Entry::S(b"b"),
        Entry::S(b"2"),
        Entry::I(0),
    ])));
    // Redis 22 and 23 (7.4 release candidates): absolute TTLs, no minExpire.
    let mut h22 = len(1);
    h22.extend(len(min as u64));
    h22.extend(s(b"f"));
    h22.extend(s(b"v"));
    let h23 = s(&listpack(&[Entry::S(b"f"), Entry::S(b"v"), Entry::I(min)]));
    let rdb =
        Rdb::redis(12).key(24, b"h24", &h24).key(25, b"h25", &h25).key(22, b"h22", &h22).key(23, b"h23", &h23).finish();
    assert_eq!(
        body(ok(&rdb)),
        lines(&format!(
            "key db=0 h24 hash hash_metadata exp=None len=Some(2)
               hash keep=v1 exp=None
               hash ttl=v2 exp=Some({})
             end-key
             key db=0 h25 hash listpack_ex exp=None len=None
               hash a=1 exp=Some({})
               hash b=2 exp=None
             end-key
             key db=0 h22 hash hash_metadata_pre_ga exp=None len=Some(1)
               hash f=v exp=Some({min})
             end-key
             key db=0 h23 hash listpack_ex_pre_ga exp=None len=None
               hash f=v exp=Some({min})
             end-key",
            min + 10,
            min + 5
        ))
    );

    // Valkey 9 type 22: count, then (field, value, 8-byte expiry; -1 = none).
    let mut hv = len(2);
    hv.extend(s(b"f1"));
    hv.extend(s(b"v1"));
    hv.extend_from_slice(&(-1i64).to_le_bytes());
    hv.extend(s(b"f2"));
    hv.extend(s(b"v2"));
    hv.extend_from_slice(&min.to_le_bytes());
    let rdb = Rdb::valkey().key(22, b"hv", &hv).finish();
    assert_eq!(
        body(ok(&rdb)),
        lines(&format!(
            "key db=0 hv hash hash2 exp=None len=Some(2)
               hash f1=v1 exp=None
               hash f2=v2 exp=Some({min})
             end-key"
        ))
    );
    // Valkey has no types 24/25; Redis 22 means something else there.
    let e = err(&Rdb::valkey().key(24, b"x", &h24).finish());
    assert_eq!(e.kind, ErrorKind::UnknownType { ty: 24, format: "VALKEY080".into() });
}

/// (flags, ms delta, seq delta, fields) of one stream entry.
type EntrySpec<'a> = (i64, i64, i64, &'a [(&'a [u8], &'a [u8])]);

fn stream_node(master_ms: u64, entries: &[EntrySpec<'_>], master_fields: &[&[u8]], deleted: i64) -> Vec<u8> {
    // Master entry: count, deleted, #fields, fields..., 0.
    let live = entries.iter().filter(|e| e.0 & 1 == 0).count() as i64;
    let mut lp: Vec<Entry> = vec![Entry::I(live), Entry::I(deleted), Entry::I(master_fields.len() as i64)];
    for f in master_fields {
        lp.push(Entry::S(f));
    }
    lp.push(Entry::I(0));
    for (flags, ms, seq, fields) in entries {
        lp.push(Entry::I(*flags));
        lp.push(Entry::I(*ms));
        lp.push(Entry::I(*seq));
        if flags & 2 != 0 {
            for (_, v) in fields.iter() {
                lp.push(Entry::S(v));
            }
            lp.push(Entry::I(fields.len() as i64 + 3));
        } else {
            lp.push(Entry::I(fields.len() as i64));
            for (f, v) in fields.iter() {
                lp.push(Entry::S(f));
                lp.push(Entry::S(v));
            }
            lp.push(Entry::I(2 * fields.len() as i64 + 4));
        }
    }
    let mut key = master_ms.to_be_bytes().to_vec();
    key.extend_from_slice(&0u64.to_be_bytes());
    let mut v = s(&key);
    v.extend(s(&listpack(&lp)));
    v
}

fn stream_value(ty: u8) -> Vec<u8> {
    let node = stream_node(
        1000,
        &[
            (2, 0, 0, &[(b"temp", b"20")]),
            (0, 1, 0, &[(b"other", b"x"), (b"y", b"z")]),
            (3, 2, 0, &[(b"temp", b"gone")]),
            (2, 5, 1, &[(b"temp", b"25")]),
        ],
        &[b"temp"],
        1,
    );
    let mut v = len(1);
    v.extend(node);
    v.extend(len(3)); // length
    v.extend(len(1005));
    v.extend(len(1)); // last id 1005-1
    if ty >= 19 {
        v.extend(len(1000));
        v.extend(len(0)); // first id
        v.extend(len(1002));
        v.extend(len(0)); // max deleted
        v.extend(len(4)); // entries added
    }
    v.extend(len(1)); // groups
    v.extend(s(b"g1"));
    v.extend(len(1001));
    v.extend(len(0));
    if ty >= 19 {
        v.extend(len(u64::MAX)); // entries_read unknown
    }
    v.extend(len(1)); // group PEL
    let mut id = 1001u64.to_be_bytes().to_vec();
    id.extend_from_slice(&0u64.to_be_bytes());
    v.extend_from_slice(&id);
    v.extend_from_slice(&1_700_000_000_500i64.to_le_bytes());
    v.extend(len(3));
    v.extend(len(1)); // consumers
    v.extend(s(b"alice"));
    v.extend_from_slice(&1_700_000_000_600i64.to_le_bytes());
    if ty >= 21 {
        v.extend_from_slice(&1_700_000_000_700i64.to_le_bytes());
    }
    v.extend(len(1));
    v.extend_from_slice(&id);
    v
}

#[test]
fn streams_v1_v2_v3() {
    for (ty, enc, version) in [(15u8, "stream", 9u32), (19, "stream2", 10), (21, "stream3", 11)] {
        let rdb = Rdb::redis(version).key(ty, b"st", &stream_value(ty)).finish();
        let (first, maxdel, added, read, active) = match ty {
            15 => ("1000-0", "0-0", 3, "None", 1_700_000_000_600i64),
            19 => ("1000-0", "1002-0", 4, "None", 1_700_000_000_600),
            _ => ("1000-0", "1002-0", 4, "None", 1_700_000_000_700),
        };
        assert_eq!(
            body(ok(&rdb)),
            lines(&format!(
                "key db=0 st stream {enc} exp=None len=None
                   entry 1000-0 temp=20
                   entry 1001-0 other=x,y=z
                   entry 1005-1 temp=25
                   meta len=3 last=1005-1 first={first} maxdel={maxdel} added={added} groups=1
                   group g1 last=1001-0 read={read} pel=1
                   pel 1001-0 1700000000500 3
                   consumer alice 1700000000600 {active} pel=1
                   cpel 1001-0
                 end-key"
            )),
            "type {ty}"
        );
    }
}

#[test]
fn modules_functions_and_valkey_slot_import() {
    // Module id for "mymodule1" version 2, built independently of the decoder.
    let id = module_id(b"mymodule1", 2);
    let mut value = len(id);
    value.extend([2, 7, 5]); // UINT 7, then STRING
    value.extend(s(b"payload"));
    value.push(0); // EOF
    let mut aux = vec![0xF7];
    aux.extend(len(id));
    aux.extend([2, 1]); // when = before
    aux.extend([2, 9, 0]);
    let mut func = vec![0xF5];
    func.extend(s(b"#!lua name=lib redis.register_function('f', function() return 1 end)"));
    let rdb = Rdb::redis(10).raw(&aux).raw(&func).key(7, b"m", &value).finish();
    assert_eq!(
        body(ok(&rdb)),
        lines(&format!(
            "moduleaux mymodule1 2 1 3
             function #!lua name=lib redis.register_function('f', function() return 1 end)
             key db=0 m module module2 exp=None len=None
               module mymodule1 2 {}
             end-key",
            value.len()
        ))
    );

    let mut imp = vec![0xF3];
    imp.extend(s(&[b'a'; 40]));
    imp.extend(len(2));
    imp.extend(len(0));
    imp.extend(len(100));
    imp.extend(len(200));
    imp.extend(len(16383));
    let rdb = Rdb::valkey().raw(&imp).finish();
    assert_eq!(body(ok(&rdb)), vec![format!("slotimport {} [(0, 100), (200, 16383)]", "a".repeat(40))]);
}

#[test]
fn checksum_states() {
    let good = Rdb::redis(9).key(0, b"k", &s(b"v")).finish();
    assert!(ok(&good).last().unwrap().starts_with("end Verified"));
    let none = Rdb::redis(9).key(0, b"k", &s(b"v")).finish_no_crc();
    assert_eq!(ok(&none).last().unwrap(), "end Disabled");
    let old = Rdb::redis(4).key(0, b"k", &s(b"v")).finish();
    assert_eq!(ok(&old).last().unwrap(), "end Absent");

    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let e = err(&bad);
    assert!(matches!(e.kind, ErrorKind::ChecksumMismatch { .. }), "{e}");
    assert_eq!(e.offset, (n - 8) as u64);
    assert!(e.to_string().contains("--no-verify"));
    let lax = decode_chunked(&bad, 7, rdb::Options { verify_checksum: false, ..Default::default() }, true).unwrap();
    assert!(lax.last().unwrap().starts_with("end Unchecked"));
}

#[test]
fn header_errors() {
    let e = err(b"RADIS0009\xff");
    assert!(matches!(e.kind, ErrorKind::BadMagic(_)));
    assert_eq!(e.offset, 0);
    let e = err(b"REDIS0014\xff");
    assert!(e.to_string().contains("REDIS0014"), "{e}");
    assert!(matches!(e.kind, ErrorKind::UnsupportedVersion(_)));
    let e = err(b"VALKEY987\xff");
    assert!(matches!(e.kind, ErrorKind::UnsupportedVersion(ref v) if v == "VALKEY987"));
    let e = err(b"REDIS");
    assert_eq!(e.kind, ErrorKind::Truncated);
}

#[test]
fn unknown_and_unsupported_types_are_named() {
    let e = err(&Rdb::redis(11).key(8, b"k", &s(b"v")).finish());
    assert_eq!(e.kind, ErrorKind::UnknownType { ty: 8, format: "REDIS0011".into() });
    assert_eq!(e.offset, 9);
    let e = err(&Rdb::redis(13).key(26, b"k", &s(b"v")).finish());
    assert!(matches!(e.kind, ErrorKind::UnsupportedType { ty: 26, name: "STREAM_LISTPACKS_4", .. }), "{e}");
    let e = err(&Rdb::redis(13).raw(&[0xF3, 1]).finish());
    assert!(matches!(e.kind, ErrorKind::UnsupportedOpcode { op: 0xF3, name: "KEY_META", .. }), "{e}");
    let e = err(&Rdb::redis(8).key(6, b"k", &s(b"v")).finish());
    assert_eq!(e.kind, ErrorKind::ModulePreGa);
}

#[test]
fn truncation_is_reported_with_offset_and_key() {
    let full = Rdb::redis(9).key(1, b"mylist", &[len(3), s(b"a"), s(b"b"), s(b"c")].concat()).finish();
    for cut in [10, 15, 20, full.len() - 3] {
        let e = err(&full[..cut]);
        assert_eq!(e.kind, ErrorKind::Truncated, "cut at {cut}: {e}");
        assert!(e.offset <= cut as u64);
        if cut >= 20 && cut < full.len() - 9 {
            assert_eq!(e.key.as_deref(), Some(&b"mylist"[..]), "cut at {cut}");
        }
    }
}

#[test]
fn lying_lengths_fail_fast_without_allocating() {
    // A list claiming 2^40 elements with 10 bytes left.
    let mut v = len(1 << 40);
    v.extend(s(b"only-one"));
    let e = err(&Rdb::redis(9).key(1, b"liar", &v).finish());
    assert!(matches!(e.kind, ErrorKind::LyingLength { len, .. } if len == 1 << 40), "{e}");
    assert_eq!(e.key.as_deref(), Some(&b"liar"[..]));
    // A string claiming 4 GB.
    let mut v = vec![0x80];
    v.extend_from_slice(&u32::MAX.to_be_bytes());
    v.extend_from_slice(b"abc");
    let e = err(&Rdb::redis(9).key(0, b"big", &v).finish());
    assert!(matches!(e.kind, ErrorKind::LyingLength { .. }), "{e}");
    // From an input of unknown size, the string length cap applies.
    let opts = rdb::Options { max_string: 1 << 20, ..Default::default() };
    let bytes = Rdb::redis(9).key(0, b"big", &v).finish();
    let e = decode_chunked(&bytes, 4, opts, false).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::LyingLength { .. }), "{e}");
}

#[test]
fn corrupt_blobs_name_the_key_and_offset() {
    // A ziplist whose last entry overruns the blob.
    let mut zl = ziplist(&[Entry::S(b"abc"), Entry::S(b"defg")]);
    let n = zl.len();
    zl[n - 6] = 20; // string length 20 in the second entry
    let e = err(&Rdb::redis(9).key(10, b"badzl", &s(&zl)).finish());
    assert!(matches!(e.kind, ErrorKind::Blob(_)), "{e}");
    assert_eq!(e.key.as_deref(), Some(&b"badzl"[..]));
    assert!(e.offset > 9 && e.offset < 9 + 1 + 6 + 1 + zl.len() as u64, "{e}");

    // A listpack entry with a wrong back-length.
    let mut lp = listpack(&[Entry::S(b"abc"), Entry::S(b"d")]);
    lp[6 + 4] = 9; // backlen of the first entry (1 + 3 bytes) says 9
    let e = err(&Rdb::redis(10).key(20, b"badlp", &s(&lp)).finish());
    assert!(matches!(e.kind, ErrorKind::Blob(_)), "{e}");

    // A listpack without its end byte.
    let mut lp = listpack(&[Entry::S(b"abc")]);
    let last = lp.len() - 1;
    lp[last] = 0x01;
    let e = err(&Rdb::redis(10).key(20, b"noend", &s(&lp)).finish());
    assert!(matches!(e.kind, ErrorKind::Blob(_)), "{e}");

    // An intset whose length disagrees with its size.
    let mut is = intset(2, &[1, 2, 3]);
    is[4] = 9;
    let e = err(&Rdb::redis(9).key(11, b"badis", &s(&is)).finish());
    assert!(matches!(e.kind, ErrorKind::Blob(_)), "{e}");
}

#[test]
fn malformed_lzf() {
    // A back-reference before the start of the output.
    let mut bad = vec![0xC3];
    bad.extend(len(3));
    bad.extend(len(10));
    bad.extend([0x20, 0x05, 0x00]);
    let e = err(&Rdb::redis(9).key(0, b"lz", &bad).finish());
    assert!(matches!(e.kind, ErrorKind::Blob(_)), "{e}");
    assert_eq!(e.key.as_deref(), Some(&b"lz"[..]));
    // A declared length that disagrees with the decompressed data.
    let mut short = lzf_literal(b"abcdefghij");
    short[2] = 11; // ulen
    let e = err(&Rdb::redis(9).key(0, b"lz", &short).finish());
    assert!(matches!(e.kind, ErrorKind::Blob(_)), "{e}");
    // A declared length far beyond what LZF can expand to.
    let mut huge = vec![0xC3];
    huge.extend(len(2));
    huge.extend(len(1 << 40));
    huge.extend([0x00, b'a']);
    let e = err(&Rdb::redis(9).key(0, b"lz", &huge).finish());
    assert!(matches!(e.kind, ErrorKind::Blob(_) | ErrorKind::LyingLength { .. }), "{e}");
}

#[test]
fn the_rest_after_the_rdb_is_left_for_the_caller() {
    // A diskless transfer: the RDB is followed by the 40-byte end mark and the stream.
    let mut bytes = Rdb::redis(9).key(0, b"k", &s(b"v")).finish();
    let rdb_len = bytes.len();
    bytes.extend_from_slice(&[b'x'; 40]);
    bytes.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let mut p = rdb::Parser::default();
    p.feed(&bytes);
    loop {
        match p.next().unwrap() {
            rdb::Step::Done => break,
            rdb::Step::NeedMore => panic!("all bytes were fed"),
            rdb::Step::Event(_) => {}
        }
    }
    assert_eq!(p.offset(), rdb_len as u64);
    assert_eq!(p.buffered(), &bytes[rdb_len..]);
}

#[test]
fn resize_slot_info_and_pre_ga_functions() {
    let mut pre_ga = vec![0xF6];
    pre_ga.extend(s(b"mylib"));
    pre_ga.extend(s(b"LUA"));
    pre_ga.extend(len(1));
    pre_ga.extend(s(b"a description"));
    pre_ga.extend(s(b"return 1"));
    let mut pre_ga_no_desc = vec![0xF6];
    pre_ga_no_desc.extend(s(b"other"));
    pre_ga_no_desc.extend(s(b"LUA"));
    pre_ga_no_desc.extend(len(0));
    pre_ga_no_desc.extend(s(b"return 2"));
    let mut resize = vec![0xFB];
    resize.extend(len(1000));
    resize.extend(len(70000));
    let mut slot = vec![0xF4];
    slot.extend(len(16383));
    slot.extend(len(2));
    slot.extend(len(1));
    let rdb = Rdb::redis(12)
        .raw(&pre_ga)
        .raw(&pre_ga_no_desc)
        .select(5)
        .raw(&resize)
        .raw(&slot)
        .key(0, b"k", &s(b"v"))
        .finish();
    assert_eq!(
        body(ok(&rdb)),
        lines(
            "function-pre-ga mylib return 1
             function-pre-ga other return 2
             select 5
             resize 1000 70000
             slotinfo 16383 2 1
             key db=5 k string raw exp=None len=None
               string v
             end-key"
        )
    );
}

#[test]
fn unknown_opcodes_and_bad_lengths_are_errors() {
    // 0xF2 is only defined by an unreleased Valkey version.
    let e = err(&Rdb::valkey().raw(&[0xF2, 0]).finish());
    assert!(matches!(e.kind, ErrorKind::Invalid(_)), "{e}");
    assert_eq!(e.offset, 9);
    // 0x82 is not a valid length prefix.
    let e = err(&Rdb::redis(9).raw(&[0xFE, 0x82]).finish());
    assert_eq!(e.kind, ErrorKind::BadLength(0x82));
    assert_eq!(e.offset, 10);
    // A quicklist2 container that is neither PLAIN (1) nor PACKED (2).
    let mut ql = len(1);
    ql.extend(len(3));
    ql.extend(s(b"x"));
    let e = err(&Rdb::redis(10).key(18, b"q", &ql).finish());
    assert!(matches!(e.kind, ErrorKind::Invalid(ref m) if m.contains("container 3")), "{e}");
    assert_eq!(e.key.as_deref(), Some(&b"q"[..]));
}

#[test]
fn short_non_rdb_input_is_not_an_rdb_file() {
    for input in [&b"hello\n"[..], b"{", b"REDIX", b"VALKEX"] {
        let e = err(input);
        assert!(matches!(e.kind, ErrorKind::BadMagic(_)), "{input:?}: {e}");
        assert_eq!(e.offset, 0);
    }
    // A real prefix that is cut short is a truncation, not a bad magic.
    assert_eq!(err(b"REDIS00").kind, ErrorKind::Truncated);
    assert_eq!(err(b"VALK").kind, ErrorKind::Truncated);
}
