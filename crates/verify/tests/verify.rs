//! `verify` against real servers: identical data sets (copied by the servers' own RDB loading)
//! give no differences, across versions; each kind of change made on one side is reported
//! once, for the key that was changed, with the right kind.

mod support;

use support::{copy_by_rdb, keyed, verify_urls};
use testkit::dataset::{write_dataset, T2100_MS};
use testkit::Server;
use verify::Options;

fn same_data(source_name: &str, target_name: &str) {
    let source = Server::start(source_name);
    let (model, _) = write_dataset(&source);
    let target = copy_by_rdb(&source, target_name);
    let (found, summary) = verify_urls(&source.url(), &target.url(), &Options::default());
    assert!(found.is_empty(), "{source_name} -> {target_name}: {found:#?}");
    assert_eq!(summary.keys_compared, model.len() as u64, "every key of the data set was compared");
    assert_eq!(summary.target_keys_checked, model.len() as u64);
    let dbs: std::collections::BTreeSet<u64> = model.keys().map(|(db, _)| *db).collect();
    assert_eq!(summary.dbs, dbs.into_iter().collect::<Vec<_>>());
    // And the other way round.
    let (found, _) = verify_urls(&target.url(), &source.url(), &Options::default());
    assert!(found.is_empty(), "{target_name} -> {source_name}: {found:#?}");
}

#[test]
fn same_data_redis_7_0_to_7_0() {
    same_data("redis-7.0", "redis-7.0");
}

#[test]
fn same_data_redis_6_2_to_7_0() {
    same_data("redis-6.2", "redis-7.0");
}

#[test]
fn same_data_redis_2_8_to_7_0() {
    same_data("redis-2.8", "redis-7.0");
}

#[test]
fn same_data_valkey_9_1_with_field_ttls() {
    same_data("valkey-9.1", "valkey-9.1");
}

/// Runs commands on the target, each asserted to succeed.
fn on(server: &Server, db: u64, commands: &[&[&str]]) {
    server.cmd_str(&["SELECT", &db.to_string()]).expect_ok();
    for args in commands {
        let reply = server.cmd_str(args);
        assert!(!reply.is_error(), "{args:?}: {reply:?}");
    }
    server.cmd_str(&["SELECT", "0"]).expect_ok();
}

#[test]
fn each_kind_of_difference_names_its_key() {
    let source = Server::start("redis-7.0");
    write_dataset(&source);
    // A string of three 1 MiB read chunks, to be changed in its third.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    source.cmd_str(&["SELECT", "0"]).expect_ok();
    source.cmd(&[b"SET", b"s:3mb", &big]).expect_ok();
    // Streams of our own, to change one group fact in each on the target.
    on(
        &source,
        4,
        &[
            &["XADD", "st:pel", "1-1", "f", "v"],
            &["XADD", "st:pel", "1-2", "f", "v"],
            &["XGROUP", "CREATE", "st:pel", "g", "0"],
            &["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "st:pel", ">"],
            &["XADD", "st:consumers", "1-1", "f", "v"],
            &["XGROUP", "CREATE", "st:consumers", "g", "0"],
            &["XGROUP", "CREATECONSUMER", "st:consumers", "g", "c1"],
        ],
    );
    let target = copy_by_rdb(&source, "redis-7.0");
    let (found, _) = verify_urls(&source.url(), &target.url(), &Options::default());
    assert!(found.is_empty(), "{found:#?}");

    on(
        &target,
        0,
        &[
            &["DEL", "s:hello"],
            &["SET", "extra:key", "x"],
            &["DEL", "l:small"],
            &["SET", "l:small", "now a string"],
            &["SETRANGE", "s:big", "50000", "Z"],
            &["SETRANGE", "s:3mb", "2500000", "Z"],
            &["LSET", "l:big", "1500", "changed"],
            &["SREM", "set:big", "member-5"],
            &["SADD", "set:big", "member-x"],
            // s:ttl expires at T2100_MS: 5 s later is beyond the tolerance...
            &["PEXPIREAT", "s:ttl", &(T2100_MS + 5000).to_string()],
            // ...and l:big's T2100_MS + 1 moved by 500 ms is within it.
            &["PEXPIREAT", "l:big", &(T2100_MS + 501).to_string()],
            &["PEXPIRE", "s:int:3", "100000000"],
        ],
    );
    on(
        &target,
        1,
        &[&["ZADD", "z:big", "999", "zm-3"], &["HSET", "h:big", "f500", "changed"], &["SET", "db1:extra", "1"]],
    );
    on(&target, 3, &[&["XGROUP", "SETID", "st", "g2", "1000-5"], &["XADD", "st:big", "9999-0", "n", "x"]]);
    on(
        &target,
        4,
        &[
            &["XACK", "st:pel", "g", "1-2"],
            // Same number of consumers, another name.
            &["XGROUP", "DELCONSUMER", "st:consumers", "g", "c1"],
            &["XGROUP", "CREATECONSUMER", "st:consumers", "g", "c9"],
        ],
    );

    let (found, summary) = verify_urls(&source.url(), &target.url(), &Options::default());
    let expected = vec![
        (0, "extra:key".to_string(), "extra"),
        (0, "l:big".to_string(), "value"),
        (0, "l:small".to_string(), "type"),
        (0, "s:3mb".to_string(), "value"),
        (0, "s:big".to_string(), "value"),
        (0, "s:hello".to_string(), "missing"),
        (0, "s:int:3".to_string(), "ttl"),
        (0, "s:ttl".to_string(), "ttl"),
        (0, "set:big".to_string(), "value"),
        (1, "".to_string(), "key_count"),
        (1, "db1:extra".to_string(), "extra"),
        (1, "h:big".to_string(), "value"),
        (1, "z:big".to_string(), "value"),
        (3, "st".to_string(), "stream"),
        (3, "st:big".to_string(), "value"),
        (4, "st:consumers".to_string(), "stream"),
        (4, "st:pel".to_string(), "stream"),
    ];
    assert_eq!(keyed(&found), expected, "{found:#?}");
    assert_eq!(summary.differences, expected.len() as u64);

    // The details say what differs.
    let detail = |key: &str| found.iter().find(|d| d.key.as_deref() == Some(key.as_bytes())).unwrap().detail.clone();
    assert!(detail("s:big").contains("from byte 50000"), "{}", detail("s:big"));
    assert!(detail("s:3mb").contains("from byte 2500000"), "{}", detail("s:3mb"));
    assert!(detail("l:big").contains("element 1500"), "{}", detail("l:big"));
    assert!(detail("l:small").contains("list in the source, string in the target"), "{}", detail("l:small"));
    assert!(detail("set:big").contains("member-5"), "{}", detail("set:big"));
    assert!(detail("z:big").contains("zm-3") && detail("z:big").contains("999"), "{}", detail("z:big"));
    assert!(detail("h:big").contains("f500"), "{}", detail("h:big"));
    assert!(detail("st").contains("g2") && detail("st").contains("last-delivered-id"), "{}", detail("st"));
    assert!(detail("st:pel").contains("pending"), "{}", detail("st:pel"));
    assert!(detail("st:consumers").contains("c9"), "{}", detail("st:consumers"));
    assert!(detail("s:int:3").contains("no TTL in the source"), "{}", detail("s:int:3"));

    // Filters: one db, one glob.
    let only = Options { dbs: vec![1], key_globs: vec![b"z:*".to_vec()], ..Options::default() };
    let (found, summary) = verify_urls(&source.url(), &target.url(), &only);
    assert_eq!(keyed(&found), [(1, "z:big".to_string(), "value")]);
    assert_eq!((summary.keys_compared, summary.target_keys_checked), (2, 2), "z:small and z:big");
    // A tolerance wide enough for s:ttl's 5 s hides that difference.
    let lenient = Options { dbs: vec![0], key_globs: vec![b"s:ttl".to_vec()], ttl_tolerance_ms: 6000 };
    assert!(verify_urls(&source.url(), &target.url(), &lenient).0.is_empty());
}

#[test]
fn hash_field_ttl_differences_valkey_9_1() {
    let source = Server::start("valkey-9.1");
    write_dataset(&source);
    let target = copy_by_rdb(&source, "valkey-9.1");
    // hf:small's field b expires at T2100_MS + 5, hf:big's k7 at T2100_MS + 7.
    on(
        &target,
        2,
        &[
            &["HPEXPIREAT", "hf:small", &(T2100_MS + 60_000).to_string(), "FIELDS", "1", "b"],
            &["HPERSIST", "hf:big", "FIELDS", "1", "k7"],
        ],
    );
    let (found, _) = verify_urls(&source.url(), &target.url(), &Options::default());
    assert_eq!(keyed(&found), [(2, "hf:big".to_string(), "value"), (2, "hf:small".to_string(), "value")], "{found:#?}");
    for d in &found {
        assert!(d.detail.contains("field"), "{}", d.detail);
    }
    assert!(found.iter().any(|d| d.detail.contains("no TTL in the target")), "{found:#?}");
}
