//! Comparing two servers' data: `DEBUG DIGEST` covers every key, value and TTL presence, and
//! the key-by-key description names what differs when the digests do not agree.

use std::io::Write;
use std::process::{Command, Stdio};

use testkit::{Reply, Server};

/// Sends RESP commands into `target` with `redis-cli --pipe`, which must report no errors.
#[track_caller]
pub fn pipe_into(target: &Server, commands: &[u8]) {
    let redis_cli = testkit::require_tool("redis-cli");
    let mut pipe = Command::new(redis_cli)
        .args(["-p", &target.port().to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    pipe.stdin.take().unwrap().write_all(commands).unwrap();
    let out = pipe.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.contains("errors: 0"),
        "redis-cli --pipe into {}: {report}{}",
        target.name(),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn digest(server: &Server) -> String {
    let r = server.cmd_str(&["DEBUG", "DIGEST"]);
    r.as_str().unwrap_or_else(|| panic!("DEBUG DIGEST on {}: {r:?}", server.name())).into_owned()
}

/// `DUMP`-free key comparison that works on every version: type, TTL presence and value.
pub fn describe(server: &Server, db: u64, key: &[u8]) -> String {
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
    let ttls = match (ty.as_str(), &value) {
        ("hash", Reply::Array(pairs)) if has_field_ttls(server) => field_ttls(&mut c, key, pairs),
        _ => Vec::new(),
    };
    let mut items = match value {
        Reply::Array(items) => items.into_iter().map(|i| format!("{i:?}")).collect(),
        other => vec![format!("{other:?}")],
    };
    match ty.as_str() {
        // Unordered replies: compare sorted members, or sorted field/value pairs.
        "set" => items.sort(),
        "hash" => {
            let mut pairs: Vec<String> = items
                .chunks(2)
                .enumerate()
                .map(|(i, p)| format!("{}{}", p.join("="), ttls.get(i).map_or("", String::as_str)))
                .collect();
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

/// Hash field TTLs came in Redis 7.4 and Valkey 9.0.
pub fn has_field_ttls(server: &Server) -> bool {
    let v = server.version();
    match v.product {
        testkit::Product::Valkey => v.at_least(9, 0, 0),
        testkit::Product::Redis => v.at_least(7, 4, 0),
    }
}

/// The expiry times of a hash's fields (`@<ms>`, or empty for none), in the order of its
/// `HGETALL` reply `pairs`. Valkey's `DEBUG DIGEST` leaves them out.
fn field_ttls(c: &mut testkit::Client, key: &[u8], pairs: &[Reply]) -> Vec<String> {
    let mut args: Vec<&[u8]> = vec![b"HPEXPIRETIME", key, b"FIELDS"];
    let count = (pairs.len() / 2).to_string();
    args.push(count.as_bytes());
    args.extend(pairs.iter().step_by(2).filter_map(Reply::as_bytes));
    match c.cmd(&args).unwrap() {
        Reply::Array(times) => times
            .iter()
            .map(|t| match t.as_int() {
                Some(ms) if ms >= 0 => format!("@{ms}"),
                _ => String::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `reply` holds `want` as one of its bulk strings, at any depth.
pub fn has_bulk(reply: &Reply, want: &[u8]) -> bool {
    match reply {
        Reply::Bulk(b) => b == want,
        Reply::Array(items) => items.iter().any(|i| has_bulk(i, want)),
        _ => false,
    }
}

/// The keys of `db`, sorted.
pub fn keys(server: &Server, db: u64) -> Vec<Vec<u8>> {
    let mut c = server.client();
    c.cmd_str(&["SELECT", &db.to_string()]).unwrap();
    let mut keys: Vec<Vec<u8>> = match c.cmd_str(&["KEYS", "*"]).unwrap() {
        Reply::Array(items) => items.into_iter().filter_map(|i| i.as_bytes().map(<[u8]>::to_vec)).collect(),
        other => panic!("{}: KEYS * answered {other:?}", server.name()),
    };
    keys.sort();
    keys
}

/// Asserts that `target` holds exactly the keys of `source` in dbs 0-15, with the same
/// values, then the same `DEBUG DIGEST`.
#[track_caller]
pub fn assert_same_data(source: &Server, target: &Server) {
    let name = source.name();
    for db in 0..16 {
        let (want, got) = (keys(source, db), keys(target, db));
        if want != got {
            let missing: Vec<_> =
                want.iter().filter(|k| !got.contains(k)).map(|k| String::from_utf8_lossy(k)).collect();
            let extra: Vec<_> = got.iter().filter(|k| !want.contains(k)).map(|k| String::from_utf8_lossy(k)).collect();
            panic!("{name}: db {db} differs: missing {missing:?}, extra {extra:?}");
        }
        for key in &want {
            assert_same_key(source, target, db, key);
        }
    }
    assert_eq!(digest(target), digest(source), "{name}: DEBUG DIGEST");
}

/// Asserts that one key has the same type, TTL presence and value on both servers.
#[track_caller]
pub fn assert_same_key(source: &Server, target: &Server, db: u64, key: &[u8]) {
    let (got, want) = (describe(target, db, key), describe(source, db, key));
    if got != want {
        let common = got.bytes().zip(want.bytes()).take_while(|(a, b)| a == b).count().saturating_sub(60);
        panic!(
            "{}: key {:?} in db {db} differs\n got: ...{}\nwant: ...{}",
            source.name(),
            String::from_utf8_lossy(key),
            &got[common..],
            &want[common..]
        );
    }
}

/// `redtail verify ARGS` finds no difference (exit 0).
#[track_caller]
pub fn assert_verify_clean(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redtail")).arg("verify").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "redtail verify {args:?}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
