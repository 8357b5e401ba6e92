//! Round trip through real servers: write the known data set, `SAVE`, then
//! `redtail rdb --format resp dump.rdb | redis-cli --pipe` into an empty server of the same
//! version. The two servers must then hold the same data: `DEBUG DIGEST` covers every key,
//! value and TTL, and the key-by-key comparison names what differs when it does not.

use std::process::Command;

mod common;

use common::compare::{assert_same_key, digest, has_bulk, pipe_into};
use testkit::dataset::write_dataset;
use testkit::Server;

fn round_trip(name: &str) {
    let source = Server::start(name);
    let (model, functions) = write_dataset(&source);
    assert!(!source.cmd_str(&["SAVE"]).is_error());
    let target = Server::start(name);

    let redtail = Command::new(env!("CARGO_BIN_EXE_redtail"))
        .args(["rdb", "--format", "resp"])
        .arg(source.rdb_path())
        .output()
        .unwrap();
    assert!(redtail.status.success(), "redtail failed: {}", String::from_utf8_lossy(&redtail.stderr));

    pipe_into(&target, &redtail.stdout);

    for (db, key) in model.keys() {
        assert_same_key(&source, &target, *db, key);
    }
    assert_eq!(digest(&target), digest(&source), "{name}: DEBUG DIGEST");
    if !functions.is_empty() {
        let listed = target.cmd_str(&["FUNCTION", "LIST", "WITHCODE"]);
        for code in &functions {
            assert!(has_bulk(&listed, code.as_bytes()), "{name}: function not restored: {code}");
        }
    }
}

#[test]
fn redis_2_8() {
    round_trip("redis-2.8");
}

#[test]
fn redis_3_2() {
    round_trip("redis-3.2");
}

#[test]
fn redis_5_0() {
    round_trip("redis-5.0");
}

#[test]
fn redis_6_2() {
    round_trip("redis-6.2");
}

#[test]
fn redis_7_0() {
    round_trip("redis-7.0");
}

#[test]
fn redis_7_4() {
    round_trip("redis-7.4");
}

#[test]
fn redis_8_2() {
    round_trip("redis-8.2");
}

#[test]
fn valkey_9_1() {
    round_trip("valkey-9.1");
}
