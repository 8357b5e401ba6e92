//! Streams through the decoder into the JSON and RESP writers. Stream events cannot be made by
//! hand (their fields borrow the decoder's tables), so these tests decode hand-built RDBs.

mod support {
    pub mod rdb_builder;
}

use event::{EventSink, JsonOptions, JsonWriter, RebuildWriter};
use rdb::{Parser, Poll};
use serde_json::{json, Value};
use support::rdb_builder::*;

fn drive(bytes: &[u8], sink: &mut dyn EventSink) {
    let mut p = Parser::default();
    p.feed(bytes);
    loop {
        match p.poll().unwrap() {
            Poll::Event => {
                let off = p.offset();
                sink.event(&p.event(), off).unwrap();
            }
            Poll::NeedMore => {
                p.finish().unwrap();
                unreachable!();
            }
            Poll::Done => break,
        }
    }
    sink.finish().unwrap();
}

fn json_lines(bytes: &[u8], opts: JsonOptions) -> Vec<Value> {
    let mut buf = Vec::new();
    {
        let mut w = JsonWriter::with_options(&mut buf, opts);
        drive(bytes, &mut w);
    }
    String::from_utf8(buf).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn entries() -> Value {
    json!([
        {"id":"1000-0","fields":[["temp","20"]]},
        {"id":"1001-0","fields":[["other","x"],["y","z"]]},
        {"id":"1005-1","fields":[["temp","25"]]}
    ])
}

#[test]
fn stream3_json_matches_the_contract() {
    let file = Rdb::redis(11).key(21, b"st", &stream_value(21)).finish();
    let lines = json_lines(&file, JsonOptions::default());
    assert_eq!(lines[0], json!({"event":"begin","format":"redis","rdb_version":11}));
    assert_eq!(
        lines[1],
        json!({"event":"key","db":0,"key":"st","type":"stream","encoding":"stream3","expire_at_ms":null,
               "idle_s":null,"freq":null,
               "value":{"entries":entries(),
                        "length":3,"last_id":"1005-1","first_id":"1000-0","max_deleted_id":"1002-0","entries_added":4,
                        "groups":[{"name":"g1","last_id":"1001-0","entries_read":2,
                                   "pending":[{"id":"1001-0","delivery_time_ms":1700000000500u64,"delivery_count":3}],
                                   "consumers":[
                                       {"name":"alice","seen_time_ms":1700000000600u64,"active_time_ms":1700000000700u64,"pending":["1001-0"]},
                                       {"name":"bob","seen_time_ms":1700000000600u64,"active_time_ms":1700000000700u64,"pending":[]}]}]}})
    );
    assert_eq!(lines[2]["keys"], 1);
}

#[test]
fn stream_v1_derives_the_newer_fields() {
    let file = Rdb::redis(9).key(15, b"st", &stream_value(15)).finish();
    let lines = json_lines(&file, JsonOptions::default());
    let v = &lines[1]["value"];
    assert_eq!(lines[1]["encoding"], "stream");
    assert_eq!(v["first_id"], "1000-0");
    assert_eq!(v["groups"][0]["entries_read"], Value::Null);
    let alice = &v["groups"][0]["consumers"][0];
    assert_eq!(alice["active_time_ms"], alice["seen_time_ms"]);
}

#[test]
fn stream_parts_put_groups_in_the_last_part() {
    let file = Rdb::redis(11).key(21, b"st", &stream_value(21)).finish();
    let lines = json_lines(&file, JsonOptions { chunk_elements: 2, ..JsonOptions::default() });
    let parts: Vec<&Value> = lines.iter().filter(|l| l["event"] == "key").collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["part"], 0);
    assert_eq!(parts[0]["more"], true);
    assert_eq!(parts[0]["value"], json!({"entries": entries().as_array().unwrap()[..2]}));
    assert_eq!(parts[1]["part"], 1);
    assert_eq!(parts[1]["more"], false);
    assert_eq!(parts[1]["value"]["entries"], json!([entries()[2]]));
    assert_eq!(parts[1]["value"]["groups"][0]["name"], "g1");
    assert_eq!(parts[1]["value"]["length"], 3);
}

#[test]
fn empty_stream_json() {
    let file = Rdb::redis(9).key(15, b"e", &empty_stream_value()).finish();
    let lines = json_lines(&file, JsonOptions::default());
    assert_eq!(
        lines[1]["value"],
        json!({"entries":[],"length":0,"last_id":"0-0","first_id":"0-0","max_deleted_id":"0-0","entries_added":0,"groups":[]})
    );
}

/// The commands, each as its arguments joined by spaces.
fn resp(bytes: &[u8]) -> Vec<String> {
    let mut buf = Vec::new();
    {
        let mut w = RebuildWriter::new(&mut buf);
        drive(bytes, &mut w);
    }
    testkit::parse_resp(&buf).into_iter().map(|args| args.join(" ")).collect()
}

#[test]
fn stream3_rebuild_commands() {
    let file = Rdb::redis(11).key(21, b"st", &stream_value(21)).finish();
    assert_eq!(
        resp(&file),
        [
            "SELECT 0",
            "XADD st 1000-0 temp 20",
            "XADD st 1001-0 other x y z",
            "XADD st 1005-1 temp 25",
            "XSETID st 1005-1 ENTRIESADDED 4 MAXDELETEDID 1002-0",
            "XGROUP CREATE st g1 1001-0 ENTRIESREAD 2",
            "XCLAIM st g1 alice 0 1001-0 TIME 1700000000500 RETRYCOUNT 3 JUSTID FORCE",
            "XGROUP CREATECONSUMER st g1 bob",
        ]
    );
}

#[test]
fn old_stream_rebuild_uses_the_old_syntax() {
    let file = Rdb::redis(9).key(15, b"st", &stream_value(15)).finish();
    let cmds = resp(&file);
    assert!(cmds.contains(&"XSETID st 1005-1".to_owned()), "{cmds:?}");
    assert!(cmds.contains(&"XGROUP CREATE st g1 1001-0".to_owned()), "{cmds:?}");
}

#[test]
fn empty_stream_rebuild_uses_the_maxlen_0_trick() {
    let file = Rdb::redis(9).expire_ms(1800000000000).key(15, b"e", &empty_stream_value()).finish();
    assert_eq!(resp(&file), ["SELECT 0", "XADD e MAXLEN 0 0-1 x y", "XSETID e 0-0", "PEXPIREAT e 1800000000000"]);
}
