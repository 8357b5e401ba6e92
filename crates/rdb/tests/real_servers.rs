//! For each server version: write a known data set through ordinary commands, `SAVE`, decode
//! `dump.rdb`, and compare with what was written. The expected values come from the writes,
//! never from the decoder. The data set is shaped to reach every encoding the version has, and
//! the test checks that it did.

use std::collections::{BTreeMap, BTreeSet};

use rdb::{Event, Item, Parser, Step, Str};
use testkit::dataset::{write_dataset, Bytes, Key, Model, StreamModel, Val};
use testkit::{Product, Server};

fn text(s: &Str<'_>) -> Bytes {
    s.to_vec()
}

/// Adds one item to the key being decoded.
fn apply_item(
    cur: &mut Option<((u64, Bytes), Key)>,
    group: &mut Option<Bytes>,
    consumer: &mut Option<Bytes>,
    item: Item<'_>,
) {
    let val = &mut cur.as_mut().expect("item outside a key").1.value;
    match (val, item) {
        (Val::Str(s), Item::String(v)) => *s = text(&v),
        (Val::List(l), Item::ListElement(v)) => l.push(text(&v)),
        (Val::Set(s), Item::SetMember(v)) => {
            assert!(s.insert(text(&v)), "duplicate set member");
        }
        (Val::Zset(z), Item::ZsetEntry { member, score }) => {
            z.insert(text(&member), score.to_bits());
        }
        (Val::Hash(h), Item::HashField { field, value, expire_at_ms }) => {
            h.insert(text(&field), (text(&value), expire_at_ms));
        }
        (Val::Stream(s), Item::StreamEntry { id, fields }) => {
            s.entries.push((id.to_string(), fields.map(|(f, v)| (text(&f), text(&v))).collect()));
        }
        (Val::Stream(s), Item::StreamMeta(m)) => {
            s.last_id = m.last_id.to_string();
            assert_eq!(m.length, s.entries.len() as u64, "stream length");
        }
        (Val::Stream(s), Item::StreamGroup { name, last_id, .. }) => {
            *group = Some(text(&name));
            s.groups.insert(text(&name), (last_id.to_string(), BTreeMap::new(), BTreeSet::new()));
        }
        (Val::Stream(_), Item::StreamPending { delivery_count, .. }) => assert_eq!(delivery_count, 1),
        (Val::Stream(s), Item::StreamConsumer { name, .. }) => {
            *consumer = Some(text(&name));
            s.groups.get_mut(group.as_ref().unwrap()).unwrap().2.insert(text(&name));
        }
        (Val::Stream(s), Item::StreamConsumerPending { id }) => {
            let g = s.groups.get_mut(group.as_ref().unwrap()).unwrap();
            g.1.insert(id.to_string(), consumer.clone().unwrap());
        }
        (v, i) => panic!("item {i:?} does not fit value {v:?}"),
    }
}

/// Decodes an RDB file into the same model, plus the encodings seen. With `batched`, takes the
/// items that come in batches (`Parser::ready_items`) that way.
fn decode_file(path: &std::path::Path, batched: bool) -> (Model, Vec<String>, BTreeSet<&'static str>, String) {
    let mut file = std::fs::File::open(path).unwrap();
    let mut p = Parser::default();
    p.set_total_len(file.metadata().unwrap().len());
    let mut model = Model::new();
    let mut functions = Vec::new();
    let mut encodings = BTreeSet::new();
    let mut format = String::new();
    let mut cur: Option<((u64, Bytes), Key)> = None;
    let mut group: Option<Bytes> = None;
    let mut consumer: Option<Bytes> = None;
    loop {
        let ev = match p.next().unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
            Step::Done => break,
            Step::NeedMore => {
                if p.read_from(&mut file).unwrap() == 0 {
                    p.finish().unwrap();
                    break;
                }
                continue;
            }
            Step::Event(ev) => ev,
        };
        match ev {
            Event::Begin(f) => format = f.to_string(),
            Event::Function { code } => functions.push(String::from_utf8(code.to_vec()).unwrap()),
            Event::Key(k) => {
                encodings.insert(k.encoding.as_str());
                let value = match k.value_type {
                    rdb::ValueType::String => Val::Str(Vec::new()),
                    rdb::ValueType::List => Val::List(Vec::new()),
                    rdb::ValueType::Set => Val::Set(BTreeSet::new()),
                    rdb::ValueType::Zset => Val::Zset(BTreeMap::new()),
                    rdb::ValueType::Hash => Val::Hash(BTreeMap::new()),
                    rdb::ValueType::Stream => Val::Stream(StreamModel::default()),
                    rdb::ValueType::Module => panic!("no modules in this data set"),
                };
                cur = Some(((k.db, text(&k.key)), Key { value, expire_at_ms: k.expire_at_ms }));
            }
            Event::Item(item) => apply_item(&mut cur, &mut group, &mut consumer, item),
            Event::KeyEnd { elements } => {
                let (k, v) = cur.take().unwrap();
                let counted = match &v.value {
                    Val::Str(_) => 1,
                    Val::List(l) => l.len(),
                    Val::Set(x) => x.len(),
                    Val::Zset(z) => z.len(),
                    Val::Hash(h) => h.len(),
                    Val::Stream(st) => st.entries.len(),
                };
                assert_eq!(elements, counted as u64, "KeyEnd element count of {:?}", String::from_utf8_lossy(&k.1));
                assert!(model.insert(k, v).is_none(), "duplicate key");
            }
            _ => {}
        }
        if batched {
            if let Some(items) = p.ready_items() {
                for item in items {
                    apply_item(&mut cur, &mut group, &mut consumer, item);
                }
            }
        }
    }
    (model, functions, encodings, format)
}

/// The storage encodings each server version must reach with this data set.
fn expected_encodings(server: &Server) -> (&'static str, Vec<&'static str>) {
    let v = server.version();
    if v.product == Product::Valkey && v.major < 9 {
        return (
            "REDIS0011",
            vec!["raw", "int", "lzf", "quicklist2", "listpack", "intset", "hashtable", "skiplist2", "stream3"],
        );
    }
    if v.product == Product::Valkey {
        return (
            "VALKEY080",
            vec!["raw", "int", "lzf", "quicklist2", "listpack", "intset", "hashtable", "skiplist2", "stream3", "hash2"],
        );
    }
    match (v.major, v.minor) {
        (2, _) | (3, 0) => {
            ("REDIS0006", vec!["raw", "int", "lzf", "ziplist", "linkedlist", "intset", "hashtable", "skiplist"])
        }
        (3, _) => ("REDIS0007", vec!["raw", "int", "lzf", "ziplist", "quicklist", "intset", "hashtable", "skiplist"]),
        (5, _) | (6, _) => (
            "REDIS0009",
            vec!["raw", "int", "lzf", "ziplist", "quicklist", "intset", "hashtable", "skiplist2", "stream"],
        ),
        (7, 0) => (
            "REDIS0010",
            vec!["raw", "int", "lzf", "quicklist2", "listpack", "intset", "hashtable", "skiplist2", "stream2"],
        ),
        (7, 2) => (
            "REDIS0011",
            vec!["raw", "int", "lzf", "quicklist2", "listpack", "intset", "hashtable", "skiplist2", "stream3"],
        ),
        _ => (
            "REDIS0012",
            vec![
                "raw",
                "int",
                "lzf",
                "quicklist2",
                "listpack",
                "intset",
                "hashtable",
                "skiplist2",
                "stream3",
                "hash_metadata",
                "listpack_ex",
            ],
        ),
    }
}

fn check(name: &str) {
    let server = Server::start(name);
    let (expected, functions) = write_dataset(&server);
    assert!(!server.cmd_str(&["SAVE"]).is_error());
    let (got, got_functions, encodings, format) = decode_file(server.rdb_path(), false);
    let batched = decode_file(server.rdb_path(), true);
    assert_eq!(
        (&batched.0, &batched.1, &batched.2, &batched.3),
        (&got, &got_functions, &encodings, &format),
        "{name}: batches"
    );

    let (want_format, want_encodings) = expected_encodings(&server);
    assert_eq!(format, want_format, "{name}: RDB format");
    for enc in want_encodings {
        assert!(encodings.contains(enc), "{name}: the data set did not reach encoding {enc}; got {encodings:?}");
    }
    assert_eq!(got_functions, functions, "{name}: functions");
    let want_keys: Vec<_> = expected.keys().collect();
    let got_keys: Vec<_> = got.keys().collect();
    assert_eq!(got_keys, want_keys, "{name}: key set");
    for (k, want) in &expected {
        assert_eq!(&got[k], want, "{name}: key {:?} in db {}", String::from_utf8_lossy(&k.1), k.0);
    }
}

#[test]
fn redis_2_8() {
    check("redis-2.8");
}

#[test]
fn redis_3_2() {
    check("redis-3.2");
}

#[test]
fn redis_5_0() {
    check("redis-5.0");
}

#[test]
fn redis_6_2() {
    check("redis-6.2");
}

#[test]
fn redis_7_0() {
    check("redis-7.0");
}

#[test]
fn redis_7_4() {
    check("redis-7.4");
}

#[test]
fn redis_8_2() {
    check("redis-8.2");
}

#[test]
fn valkey_9_1() {
    check("valkey-9.1");
}

// The rest of the matrix; CI installs the servers above only. Run these after
// `scripts/install-test-servers.sh all` with `cargo test -- --ignored`.

#[test]
#[ignore = "full matrix: needs scripts/install-test-servers.sh redis-3.0"]
fn redis_3_0() {
    check("redis-3.0");
}

#[test]
#[ignore = "full matrix: needs scripts/install-test-servers.sh redis-6.0"]
fn redis_6_0() {
    check("redis-6.0");
}

#[test]
#[ignore = "full matrix: needs scripts/install-test-servers.sh redis-7.2"]
fn redis_7_2() {
    check("redis-7.2");
}

#[test]
#[ignore = "full matrix: needs scripts/install-test-servers.sh redis-8.0"]
fn redis_8_0() {
    check("redis-8.0");
}

#[test]
#[ignore = "full matrix: needs scripts/install-test-servers.sh valkey-8.0"]
fn valkey_8_0() {
    check("valkey-8.0");
}

#[test]
#[ignore = "full matrix: needs scripts/install-test-servers.sh valkey-8.1"]
fn valkey_8_1() {
    check("valkey-8.1");
}

#[test]
#[ignore = "full matrix: needs scripts/install-test-servers.sh valkey-9.0"]
fn valkey_9_0() {
    check("valkey-9.0");
}
