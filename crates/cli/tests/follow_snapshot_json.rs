//! The snapshot of `redtail follow --format json` takes a key's elements in batches, as
//! `redtail rdb` does (`Handler::snapshot_items`). Values of every size and encoding must
//! still come out whole, in the server's order, split into parts at the chunk size like any
//! other big key. The expected values are what the test wrote.

mod common;

use std::collections::BTreeMap;

use common::follow::Follower;
use serde_json::{json, Value};
use testkit::Server;

/// Runs one command with many arguments, checking that the server took it.
fn write(server: &Server, args: Vec<String>) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reply = server.cmd_str(&args);
    assert!(!reply.is_error(), "{}: {reply:?}", args[0]);
}

fn cmd(head: &[&str], rest: impl IntoIterator<Item = String>) -> Vec<String> {
    head.iter().map(|s| s.to_string()).chain(rest).collect()
}

/// The value of each key in the snapshot, its parts joined in order, checking that the parts
/// are numbered from 0 and that only the last says `more: false`.
fn snapshot_values(events: &[Value]) -> BTreeMap<String, (Vec<Value>, usize)> {
    let mut values: BTreeMap<String, (Vec<Value>, usize)> = BTreeMap::new();
    let mut open: Option<String> = None;
    for ev in events.iter().filter(|e| e["event"] == "key") {
        let key = ev["key"].as_str().expect("text keys").to_string();
        let (value, parts) = values.entry(key.clone()).or_default();
        let part = ev.get("part").map(|p| p.as_u64().unwrap() as usize);
        assert_eq!(part.unwrap_or(0), *parts, "{key}: part numbers");
        if *parts > 0 {
            assert_eq!(open.as_deref(), Some(key.as_str()), "{key}: parts of one key are consecutive");
        }
        let more = ev.get("more").is_some_and(|m| m == true);
        open = more.then_some(key);
        value.extend(ev["value"].as_array().expect("a collection").iter().cloned());
        *parts += 1;
    }
    assert_eq!(open, None, "a key's last part says more: false");
    values
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|e| e.to_string());
    v
}

#[test]
fn snapshot_values_of_every_size_come_out_whole() {
    let master = Server::start("redis-7.0");
    // Large encodings (a quicklist of many nodes, hashtables, a skiplist): items decoded from
    // the buffered input in runs. Small ones (listpacks, an intset): the rest of a blob.
    let list: Vec<String> = (0..5000).map(|i| if i % 2 == 0 { format!("item:{i}") } else { i.to_string() }).collect();
    write(&master, cmd(&["RPUSH", "big:list"], list.iter().cloned()));
    write(&master, cmd(&["RPUSH", "small:list"], ["a", "7", "c"].map(String::from)));
    let fields: Vec<(String, String)> = (0..3000).map(|i| (format!("field:{i}"), format!("value-{}", i * 7))).collect();
    write(&master, cmd(&["HSET", "big:hash"], fields.iter().flat_map(|(f, v)| [f.clone(), v.clone()])));
    write(&master, cmd(&["HSET", "small:hash"], ["f", "v", "g", "12"].map(String::from)));
    let members: Vec<(f64, String)> = (0..2000).map(|i| (i as f64 / 4.0 - 100.0, format!("member:{i}"))).collect();
    write(&master, cmd(&["ZADD", "big:zset"], members.iter().flat_map(|(s, m)| [s.to_string(), m.clone()])));
    let set: Vec<String> = (0..1500).map(|i| format!("s{i}")).collect();
    write(&master, cmd(&["SADD", "big:set"], set.iter().cloned()));
    write(&master, cmd(&["SADD", "small:intset"], ["3", "-1", "2"].map(String::from)));

    let mut follower = Follower::start(&["--format", "json", "--chunk-elements", "700", &master.url()]);
    let events = follower.wait_for_events("the snapshot's end", |evs| evs.iter().any(|e| e["event"] == "end"));
    let (status, follower) = follower.terminate();
    assert!(status.success(), "{status}\n{}", follower.stderr());

    let values = snapshot_values(&events);
    assert_eq!(values.len(), 7, "{:?}", values.keys());
    let value = |key: &str| values[key].0.clone();
    let parts = |key: &str| values[key].1;

    assert_eq!(value("big:list"), list.iter().map(|s| json!(s)).collect::<Vec<_>>());
    assert_eq!(parts("big:list"), 5000usize.div_ceil(700));
    assert_eq!(value("small:list"), [json!("a"), json!("7"), json!("c")]);
    assert_eq!(sorted(value("big:hash")), sorted(fields.iter().map(|(f, v)| json!([f, v])).collect()), "big:hash");
    assert_eq!(parts("big:hash"), 3000usize.div_ceil(700));
    assert_eq!(sorted(value("small:hash")), [json!(["f", "v"]), json!(["g", "12"])]);
    // Scores compared as numbers: the JSON has `-100` where the test wrote -100.0.
    let mut zset: Vec<(String, f64)> =
        value("big:zset").iter().map(|e| (e[0].as_str().unwrap().to_string(), e[1].as_f64().unwrap())).collect();
    zset.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, f64)> = members.iter().map(|(s, m)| (m.clone(), *s)).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(zset, want, "big:zset");
    assert_eq!(sorted(value("big:set")), sorted(set.iter().map(|s| json!(s)).collect()));
    assert_eq!(sorted(value("small:intset")), [json!("-1"), json!("2"), json!("3")]);
}
