//! The `RESTORE` snapshot against real servers: a known data set is written, saved and decoded
//! with raw value capture, written out by the restore-mode [`RespStreamWriter`], and applied to
//! an empty server; `DEBUG DIGEST` must then agree with the source. The expected values come
//! from the servers: `DEBUG DIGEST`, `DUMP` (the payload a server itself makes) and whether a
//! real server takes a payload, which tests [`RestoreTarget::reads`] against reality.

use event::{EventSink, RespStreamWriter};
use rdb::{push_dump_footer, Event, Format, Options, Parser, Poll, RestoreTarget};
use testkit::dataset::write_dataset;
use testkit::{parse_resp, Reply, Server};

const LIMIT: usize = 1 << 20;

/// A decoded key: db, name, type byte, and its raw value when it fit the limit.
struct RawKey {
    db: u64,
    key: Vec<u8>,
    type_byte: u8,
    raw: Option<Vec<u8>>,
}

fn snapshot(server: &Server) -> Vec<u8> {
    server.cmd_str(&["SAVE"]).expect_ok();
    std::fs::read(server.rdb_path()).unwrap()
}

fn parser(rdb: &[u8], limit: usize) -> Parser {
    let mut p = Parser::new(Options { raw_values_up_to: limit, ..Options::default() });
    p.set_total_len(rdb.len() as u64);
    p.feed(rdb);
    p
}

/// Every key of `rdb` with its raw value.
fn raw_keys(rdb: &[u8]) -> (Format, Vec<RawKey>) {
    let mut p = parser(rdb, LIMIT);
    let mut format = None;
    let mut keys: Vec<RawKey> = Vec::new();
    while p.poll().unwrap() == Poll::Event {
        match p.event() {
            Event::Begin(f) => format = Some(f),
            Event::Key(k) => keys.push(RawKey { db: k.db, key: k.key.to_vec(), type_byte: k.type_byte, raw: None }),
            Event::RawValue(raw) => keys.last_mut().unwrap().raw = Some(raw.to_vec()),
            _ => {}
        }
    }
    p.finish().unwrap();
    (format.unwrap(), keys)
}

/// The commands the restore-mode writer makes of `rdb` for `target`.
fn migration(rdb: &[u8], target: RestoreTarget, limit: usize) -> Vec<u8> {
    let mut w = RespStreamWriter::new(Vec::new()).snapshot_by_restore(target, limit);
    let mut p = parser(rdb, limit);
    while p.poll().unwrap() == Poll::Event {
        let offset = p.offset();
        w.event(&p.event(), offset).unwrap();
    }
    p.finish().unwrap();
    w.finish().unwrap();
    w.into_inner().unwrap()
}

/// Applies `commands` in one pipeline; every reply must be a success.
fn apply(server: &Server, commands: &[u8]) {
    let names: Vec<String> = parse_resp(commands).into_iter().map(|c| c[0].clone()).collect();
    let mut c = server.client();
    c.send_raw(commands).unwrap();
    for name in names {
        let r = c.read_reply().unwrap();
        assert!(!r.is_error(), "{name} failed on {}: {r:?}", server.name());
    }
}

fn digest(server: &Server) -> Reply {
    let d = server.cmd_str(&["DEBUG", "DIGEST"]);
    assert!(!d.is_error(), "{}: {d:?}", server.name());
    d
}

fn target_of(server: &Server) -> RestoreTarget {
    RestoreTarget::from_info(&server.info("server")).unwrap()
}

fn payload(raw: &[u8], format: Format) -> Vec<u8> {
    let mut p = raw.to_vec();
    push_dump_footer(&mut p, format.version);
    p
}

/// Source and target of the same version: every key goes by RESTORE, each payload is what the
/// server's own DUMP returns, and the target ends with the source's digest.
fn same_version(name: &str) {
    let source = Server::start(name);
    write_dataset(&source);
    let rdb = snapshot(&source);
    let (format, keys) = raw_keys(&rdb);
    assert!(keys.iter().all(|k| k.raw.is_some()), "every key of the data set fits {LIMIT} bytes");

    // Byte for byte what DUMP makes on the same server.
    let mut c = source.client();
    for k in &keys {
        c.cmd(&[b"SELECT", k.db.to_string().as_bytes()]).unwrap().expect_ok();
        let dumped = c.cmd(&[b"DUMP", &k.key]).unwrap();
        let ours = payload(k.raw.as_deref().unwrap(), format);
        assert_eq!(
            dumped,
            Reply::Bulk(ours),
            "{name}: DUMP of {:?} (type {})",
            String::from_utf8_lossy(&k.key),
            k.type_byte
        );
    }

    let target = Server::start(name);
    let commands = migration(&rdb, target_of(&target), LIMIT);
    let restores = parse_resp(&commands).iter().filter(|c| c[0] == "RESTORE").count();
    assert_eq!(restores, keys.len(), "{name}: one RESTORE per key");
    apply(&target, &commands);
    assert_eq!(digest(&target), digest(&source), "{name}: DEBUG DIGEST after the migration");
}

#[test]
fn redis_5_0_to_itself() {
    same_version("redis-5.0");
}

#[test]
fn redis_6_2_to_itself() {
    same_version("redis-6.2");
}

#[test]
fn redis_7_0_to_itself() {
    same_version("redis-7.0");
}

#[test]
fn redis_7_4_to_itself() {
    same_version("redis-7.4");
}

#[test]
fn redis_8_2_to_itself() {
    same_version("redis-8.2");
}

#[test]
fn valkey_9_1_to_itself() {
    same_version("valkey-9.1");
}

#[test]
fn keys_over_the_limit_go_by_commands_among_restored_ones() {
    // With a 2 KiB limit the big collections and strings of the data set have no raw value,
    // and go by commands, in batches, between RESTOREs of the small keys.
    let limit = 2048;
    let source = Server::start("redis-7.4");
    write_dataset(&source);
    let rdb = snapshot(&source);
    let target = Server::start("redis-7.4");
    let commands = migration(&rdb, target_of(&target), limit);
    let names: Vec<String> = parse_resp(&commands).into_iter().map(|c| c[0].clone()).collect();
    let count = |n: &str| names.iter().filter(|c| *c == n).count();
    assert!(count("RESTORE") > 10, "{names:?}");
    for rebuilt in ["SET", "RPUSH", "SADD", "ZADD", "HSET", "HPEXPIREAT", "XADD"] {
        assert!(count(rebuilt) > 0, "no {rebuilt} in {names:?}");
    }
    apply(&target, &commands);
    assert_eq!(digest(&target), digest(&source), "DEBUG DIGEST");
}

/// Each key's payload sent to `target_name` with a plain `RESTORE`: the server takes it exactly
/// when [`RestoreTarget::reads`] says so. Returns how many it took.
fn rule_matches_reality(source_name: &str, target_name: &str) -> usize {
    let source = Server::start(source_name);
    write_dataset(&source);
    let (format, keys) = raw_keys(&snapshot(&source));
    let target = Server::start(target_name);
    let rule = target_of(&target);
    let mut c = target.client();
    let mut taken = 0;
    for k in &keys {
        let p = payload(k.raw.as_deref().unwrap(), format);
        c.cmd(&[b"SELECT", k.db.to_string().as_bytes()]).unwrap().expect_ok();
        let r = c.cmd(&[b"RESTORE", &k.key, b"0", &p, b"REPLACE"]).unwrap();
        let what = format!(
            "{format} type {} key {:?} into {target_name}: {r:?}",
            k.type_byte,
            String::from_utf8_lossy(&k.key)
        );
        assert_eq!(!r.is_error(), rule.reads(format, k.type_byte), "{what}");
        if r.is_error() {
            let Reply::Error(e) = &r else { unreachable!() };
            assert!(e.contains("DUMP payload version or checksum are wrong"), "{what}");
        } else {
            taken += 1;
        }
    }
    taken
}

#[test]
fn newer_payloads_are_refused_where_the_rule_says() {
    // 7.0 into 6.2: RDB 10 > 9, every key must go by commands.
    assert_eq!(rule_matches_reality("redis-7.0", "redis-6.2"), 0);
    // Redis 7.4's RDB 12 is foreign to Valkey 9; Valkey's 80 is newer than any Redis.
    assert_eq!(rule_matches_reality("redis-7.4", "valkey-9.1"), 0);
    assert_eq!(rule_matches_reality("valkey-9.1", "redis-8.2"), 0);
}

/// Older payloads into newer servers: every key by RESTORE, and the digest of the source.
fn across(source_name: &str, target_name: &str) {
    assert!(rule_matches_reality(source_name, target_name) > 0);
    let source = Server::start(source_name);
    write_dataset(&source);
    let rdb = snapshot(&source);
    let (_, keys) = raw_keys(&rdb);
    let target = Server::start(target_name);
    let commands = migration(&rdb, target_of(&target), LIMIT);
    let restores = parse_resp(&commands).iter().filter(|c| c[0] == "RESTORE").count();
    assert_eq!(restores, keys.len(), "{source_name} into {target_name}: one RESTORE per key");
    apply(&target, &commands);
    if source.version().product == target.version().product {
        assert_eq!(digest(&target), digest(&source), "{source_name} into {target_name}: DEBUG DIGEST");
    } else {
        same_keys(&source, &target, &keys);
    }
}

/// Key by key, for servers whose digests differ on equal data: Valkey hashes a zset score as
/// its shortest text ("-0.1") where Redis 6.2 uses 17 digits ("-0.10000000000000001"), so
/// zsets are compared by their members and scores as numbers, everything else by
/// `DEBUG DIGEST-VALUE`, and every key's TTL presence and every db's size.
fn same_keys(source: &Server, target: &Server, keys: &[RawKey]) {
    let (mut a, mut b) = (source.client(), target.client());
    let dbs: std::collections::BTreeSet<u64> = keys.iter().map(|k| k.db).collect();
    for db in dbs {
        let db_text = db.to_string();
        let select = [&b"SELECT"[..], db_text.as_bytes()];
        a.cmd(&select).unwrap().expect_ok();
        b.cmd(&select).unwrap().expect_ok();
        assert_eq!(b.cmd_str(&["DBSIZE"]).unwrap(), a.cmd_str(&["DBSIZE"]).unwrap(), "db {db} size");
        for k in keys.iter().filter(|k| k.db == db) {
            let name = String::from_utf8_lossy(&k.key);
            let ty = a.cmd(&[b"TYPE", &k.key]).unwrap();
            assert_eq!(b.cmd(&[b"TYPE", &k.key]).unwrap(), ty, "{name}");
            let cmd: &[&[u8]] = if ty == Reply::Status("zset".into()) {
                &[b"ZRANGE", &k.key, b"0", b"-1", b"WITHSCORES"]
            } else {
                &[b"DEBUG", b"DIGEST-VALUE", &k.key]
            };
            let (want, got) = (a.cmd(cmd).unwrap(), b.cmd(cmd).unwrap());
            if ty == Reply::Status("zset".into()) {
                assert_eq!(zset(&got), zset(&want), "{name}");
            } else {
                assert_eq!(got, want, "{name}");
            }
            let ttl = |c: &mut testkit::Client| c.cmd(&[b"PTTL", &k.key]).unwrap().as_int().unwrap() > 0;
            assert_eq!(ttl(&mut b), ttl(&mut a), "{name}: TTL");
        }
    }
}

/// `ZRANGE ... WITHSCORES` as (member, score) with the scores as numbers.
fn zset(reply: &Reply) -> Vec<(Vec<u8>, f64)> {
    let Reply::Array(items) = reply else { panic!("{reply:?}") };
    items
        .chunks(2)
        .map(|p| {
            let score = std::str::from_utf8(p[1].as_bytes().unwrap()).unwrap();
            (p[0].as_bytes().unwrap().to_vec(), score.parse().unwrap())
        })
        .collect()
}

#[test]
fn redis_6_2_into_7_0() {
    across("redis-6.2", "redis-7.0");
}

#[test]
fn redis_6_2_into_valkey_9_1() {
    across("redis-6.2", "valkey-9.1");
}

#[test]
fn the_version_table_matches_what_each_server_dumps() {
    for name in testkit::all_servers() {
        let server = Server::start(name);
        server.cmd_str(&["SET", "k", "v"]).expect_ok();
        let Reply::Bulk(dumped) = server.cmd_str(&["DUMP", "k"]) else { panic!("{name}: DUMP") };
        let version = u16::from_le_bytes(dumped[dumped.len() - 10..dumped.len() - 8].try_into().unwrap());
        assert_eq!(u32::from(version), target_of(&server).rdb_version, "{name}");
    }
}
