//! Redis' and Valkey's own test assets (tests/assets/, BSD-3), decoded and compared with what a
//! real server loaded from the same file (tests/assets/expected/, see the README there).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rdb::{ErrorKind, Event, Item, Parser, Step};

fn asset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/assets").join(name)
}

/// The expected file's strings map code points U+0000..U+00FF to raw bytes.
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).expect("code point above U+00FF")).collect()
}

fn show(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

/// One key in a canonical text form: `db type key value ttl`, with sets and hashes sorted and
/// zsets in score order, as the expected files hold them.
type Canon = BTreeMap<(u64, Vec<u8>), String>;

fn expected(name: &str) -> Option<Canon> {
    let text = std::fs::read_to_string(asset(&format!("expected/{name}.txt"))).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    if header.contains("refused") {
        return None;
    }
    let mut out = Canon::new();
    for line in lines.filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let db: u64 = cols[0].parse().unwrap();
        let ty = cols[1];
        let key = latin1(&serde_json::from_str::<String>(cols[2]).unwrap());
        let value: serde_json::Value = serde_json::from_str(cols[3]).unwrap();
        let ttl = if cols[4] == "-1" { "none" } else { "ttl" };
        let s = |v: &serde_json::Value| show(&latin1(v.as_str().unwrap()));
        let canon = match ty {
            "string" => s(&value),
            "list" | "set" => value.as_array().unwrap().iter().map(s).collect::<Vec<_>>().join(","),
            "hash" => value
                .as_array()
                .unwrap()
                .iter()
                .map(|p| format!("{}={}", s(&p[0]), s(&p[1])))
                .collect::<Vec<_>>()
                .join(","),
            "zset" => value
                .as_array()
                .unwrap()
                .iter()
                .map(|p| format!("{}={}", s(&p[0]), p[1].as_str().unwrap().parse::<f64>().unwrap()))
                .collect::<Vec<_>>()
                .join(","),
            other => panic!("unexpected type {other} in {name}"),
        };
        out.insert((db, key), format!("{ty} {canon} {ttl}"));
    }
    Some(out)
}

struct Decoded {
    keys: Canon,
    /// Keys with no elements, which servers skip on load.
    empty: Vec<Vec<u8>>,
    aux: Vec<(String, String)>,
    rest: Vec<u8>,
}

fn decode(name: &str) -> Result<Decoded, rdb::Error> {
    let mut file = std::fs::File::open(asset(name)).unwrap();
    let mut p = Parser::default();
    let mut out = Decoded { keys: Canon::new(), empty: Vec::new(), aux: Vec::new(), rest: Vec::new() };
    let mut cur: Option<(u64, Vec<u8>, &'static str, bool)> = None;
    let mut items: Vec<(Vec<u8>, String)> = Vec::new();
    loop {
        let ev = match p.next()? {
            Step::Done => break,
            Step::NeedMore => {
                if p.read_from(&mut file).unwrap() == 0 {
                    p.finish()?;
                    break;
                }
                continue;
            }
            Step::Event(ev) => ev,
        };
        match ev {
            Event::Aux { key, value } => out.aux.push((show(&key.to_vec()), show(&value.to_vec()))),
            Event::Key(k) => {
                cur = Some((k.db, k.key.to_vec(), k.value_type.as_str(), k.expire_at_ms.is_some()));
                items.clear();
            }
            Event::Item(item) => match item {
                Item::String(v) | Item::ListElement(v) | Item::SetMember(v) => {
                    items.push((v.to_vec(), show(&v.to_vec())))
                }
                Item::ZsetEntry { member, score } => {
                    // Sort key: score first, then member, as ZRANGE orders them.
                    let ord = format!("{:020.6}", score + 1e12);
                    let mut k = ord.into_bytes();
                    k.extend(member.to_vec());
                    items.push((k, format!("{}={score}", show(&member.to_vec()))));
                }
                Item::HashField { field, value, .. } => {
                    items.push((field.to_vec(), format!("{}={}", show(&field.to_vec()), show(&value.to_vec()))))
                }
                other => panic!("unexpected item {other:?}"),
            },
            Event::KeyEnd { .. } => {
                let (db, key, ty, ttl) = cur.take().unwrap();
                if items.is_empty() && ty != "string" {
                    out.empty.push(key);
                    continue;
                }
                if ty == "set" || ty == "hash" || ty == "zset" {
                    items.sort();
                }
                let canon = items.iter().map(|i| i.1.clone()).collect::<Vec<_>>().join(",");
                out.keys.insert((db, key), format!("{ty} {canon} {}", if ttl { "ttl" } else { "none" }));
            }
            _ => {}
        }
    }
    out.rest = p.buffered().to_vec();
    Ok(out)
}

fn same_as_server(name: &str) -> Decoded {
    let want = expected(name).expect("the server loaded this file");
    let got = decode(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(got.keys, want, "{name}");
    got
}

#[test]
fn old_encodings_zipmap_ziplist_intset_linkedlist() {
    let d = same_as_server("encodings.rdb");
    assert_eq!(d.keys.len(), 13);
}

#[test]
fn hash_zipmap_rdb3() {
    same_as_server("hash-zipmap.rdb");
}

#[test]
fn hash_ziplist_zset_ziplist_and_v8_quicklist() {
    same_as_server("hash-ziplist.rdb");
    same_as_server("zset-ziplist.rdb");
    same_as_server("list-quicklist.rdb");
}

#[test]
fn script_backup_aux_field() {
    let d = same_as_server("scriptbackup.rdb");
    assert!(d.aux.contains(&("lua".into(), "return redis.call('set', 'foo', 'bar')".into())), "{:?}", d.aux);
}

#[test]
fn empty_keys_are_decoded_as_empty_and_loaded_as_nothing() {
    // Redis loads this file with 0 keys, skipping each empty one; the names are those listed by
    // Redis' tests/integration/corrupt-dump.tcl.
    let d = same_as_server("corrupt_empty_keys.rdb");
    let names: Vec<String> = d.empty.iter().map(|k| show(k)).collect();
    assert_eq!(
        names,
        [
            "set",
            "hash",
            "list_ziplist",
            "zset",
            "zset_listpack",
            "hash_ziplist",
            "list_quicklist",
            "zset_ziplist",
            "list_quicklist_empty_ziplist"
        ]
    );
}

#[test]
fn corrupt_ziplist_names_the_key() {
    assert!(expected("corrupt_ziplist.rdb").is_none(), "servers refuse this file");
    let e = match decode("corrupt_ziplist.rdb") {
        Ok(_) => panic!("corrupt_ziplist.rdb decoded without error"),
        Err(e) => e,
    };
    // redis-check-rdb: "[offset 494] ... Reading key 'key:000000000091' ... Hash ziplist integrity check failed".
    assert_eq!(e.key.as_deref(), Some(&b"key:000000000091"[..]), "{e}");
    assert!(e.offset > 75 && e.offset <= 494, "{e}");
    assert!(matches!(e.kind, ErrorKind::Blob(_)), "{e}");
}

#[test]
fn future_valkey_version_is_refused_by_name() {
    let e = match decode("encodings-rdb987.rdb") {
        Ok(_) => panic!("VALKEY987 decoded"),
        Err(e) => e,
    };
    assert_eq!(e.kind, ErrorKind::UnsupportedVersion("VALKEY987".into()));
    assert_eq!(e.offset, 0);
    assert!(e.to_string().contains("VALKEY080"), "the message names what is supported: {e}");
}

#[test]
fn rdb_preamble_aof_leaves_the_command_tail() {
    let d = decode("rdb-preamble.aof").unwrap();
    let want = expected("rdb-preamble.aof").unwrap();
    // The server also applied the AOF tail (k3); the RDB part holds k1 and k2.
    let rdb_part: Canon = want.into_iter().filter(|((_, k), _)| k != b"k3").collect();
    assert_eq!(d.keys, rdb_part);
    assert_eq!(d.rest.first(), Some(&b'*'), "the RESP tail follows the RDB");
}
