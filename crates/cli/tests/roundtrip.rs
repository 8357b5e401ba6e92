//! Round trip through real servers: write the known data set, `SAVE`, then
//! `redtail rdb --format resp dump.rdb | redis-cli --pipe` into an empty server of the same
//! version. The two servers must then hold the same data: `DEBUG DIGEST` covers every key,
//! value and TTL, and the key-by-key comparison names what differs when it does not.

use std::io::Write;
use std::process::{Command, Stdio};

use testkit::dataset::write_dataset;
use testkit::{Reply, Server};

fn digest(server: &Server) -> String {
    let r = server.cmd_str(&["DEBUG", "DIGEST"]);
    r.as_str().unwrap_or_else(|| panic!("DEBUG DIGEST on {}: {r:?}", server.name())).into_owned()
}

/// `DUMP`-free key comparison that works on every version: type, TTL presence and value.
fn describe(server: &Server, db: u64, key: &[u8]) -> String {
    let mut c = server.client();
    c.cmd_str(&["SELECT", &db.to_string()]).unwrap();
    let ty = c.cmd(&[b"TYPE", key]).unwrap();
    let ty = ty.as_str().unwrap().into_owned();
    let value = match ty.as_str() {
        "string" => c.cmd(&[b"GET", key]),
        "list" => c.cmd(&[b"LRANGE", key, b"0", b"-1"]),
        "set" => c.cmd(&[b"SMEMBERS", key]),
        "zset" => c.cmd(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]),
        "hash" => c.cmd(&[b"HGETALL", key]),
        "stream" => c.cmd(&[b"XRANGE", key, b"-", b"+"]),
        other => panic!("unexpected type {other}"),
    }
    .unwrap();
    let mut items = match value {
        Reply::Array(items) => items.into_iter().map(|i| format!("{i:?}")).collect(),
        other => vec![format!("{other:?}")],
    };
    match ty.as_str() {
        // Unordered replies: compare sorted members, or sorted field/value pairs.
        "set" => items.sort(),
        "hash" => {
            let mut pairs: Vec<String> = items.chunks(2).map(|p| p.join("=")).collect();
            pairs.sort();
            items = pairs;
        }
        _ => {}
    }
    if ty == "stream" {
        // Consumer groups, their pending entries and consumers, which a digest may not cover.
        let groups = c.cmd(&[b"XINFO", b"GROUPS", key]).unwrap();
        items.push(format!("{groups:?}"));
        if let Reply::Array(gs) = &groups {
            for g in gs {
                let Reply::Array(fields) = g else { continue };
                let name = fields[1].as_bytes().unwrap().to_vec();
                // Pending entries as (id, consumer, delivery count), and consumers as (name,
                // pending): idle times are wall-clock readings, not data.
                if let Reply::Array(pel) = c.cmd(&[b"XPENDING", key, &name, b"-", b"+", b"1000"]).unwrap() {
                    for e in pel {
                        let Reply::Array(e) = e else { continue };
                        items.push(format!("pel {:?} {:?} {:?}", e[0], e[1], e[3]));
                    }
                }
                if let Reply::Array(consumers) = c.cmd(&[b"XINFO", b"CONSUMERS", key, &name]).unwrap() {
                    for cons in consumers {
                        let Reply::Array(f) = cons else { continue };
                        items.push(format!("consumer {:?} {:?}", f[1], f[3]));
                    }
                }
            }
        }
    }
    let value = items.join(" ");
    let ttl = c.cmd(&[b"PTTL", key]).unwrap().as_int().unwrap() > 0;
    format!("{ty} ttl={ttl} {value}")
}

/// Whether `reply` holds `want` as one of its bulk strings, at any depth.
fn has_bulk(reply: &Reply, want: &[u8]) -> bool {
    match reply {
        Reply::Bulk(b) => b == want,
        Reply::Array(items) => items.iter().any(|i| has_bulk(i, want)),
        _ => false,
    }
}

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

    let redis_cli = testkit::require_tool("redis-cli");
    let mut pipe = Command::new(redis_cli)
        .args(["-p", &target.port().to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    pipe.stdin.take().unwrap().write_all(&redtail.stdout).unwrap();
    let out = pipe.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && report.contains("errors: 0"), "redis-cli --pipe into {name}: {report}");

    for (db, key) in model.keys() {
        let (got, want) = (describe(&target, *db, key), describe(&source, *db, key));
        if got != want {
            let common = got.bytes().zip(want.bytes()).take_while(|(a, b)| a == b).count().saturating_sub(60);
            panic!(
                "{name}: key {:?} in db {db} differs after the target was rebuilt\n got: ...{}\nwant: ...{}",
                String::from_utf8_lossy(key),
                &got[common..],
                &want[common..]
            );
        }
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
