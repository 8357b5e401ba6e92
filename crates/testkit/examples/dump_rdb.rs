//! Loads an RDB file into a real server and prints its contents, one key per line, so decoder
//! tests can compare with values that come from Redis itself rather than from our decoder.
//!
//! usage: cargo run -p redtail-testkit --example dump_rdb -- SERVER FILE [SERVER-ARG...]
//! e.g.   cargo run -p redtail-testkit --example dump_rdb -- redis-7.4 crates/rdb/tests/assets/encodings.rdb
//!
//! Output format (documented in crates/rdb/tests/assets/README.md):
//! `db<TAB>type<TAB>key<TAB>value<TAB>ttl`, sorted by db then key bytes, where
//! - key and every string inside value are JSON strings whose code points U+0000..U+00FF are the
//!   raw bytes (so binary data survives and the mapping is one to one);
//! - value is a string for `string`; an array for `list` (in order); an array sorted by bytes for
//!   `set`; `[member, score]` pairs in server order for `zset` (score as the server prints it);
//!   `[field, value]` pairs sorted by field for `hash`; `[id, [field, value, ...]]` entries for
//!   `stream`;
//! - ttl is `-1` when the key has no expiry, else `expires` (fixture expiry times are absolute
//!   and usually long past, so only their presence is stable).

use testkit::{Reply, Server};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, file, extra @ ..] = args.as_slice() else {
        eprintln!("usage: dump_rdb SERVER FILE [SERVER-ARG...]");
        std::process::exit(2);
    };
    let mut builder = Server::builder(name).load_rdb(file);
    for a in extra {
        builder = builder.arg(a.as_str());
    }
    let server = builder.start();
    let mut lines = Vec::new();
    for db in databases(&server) {
        server.cmd_str(&["SELECT", &db.to_string()]).expect_ok();
        let mut keys = all_keys(&server);
        keys.sort();
        for key in keys {
            lines.push(format!("{db}\t{}", describe(&server, &key)));
        }
    }
    println!("# loaded by {} ({})", server.version(), server.name());
    for line in lines {
        println!("{line}");
    }
}

/// The databases that hold keys, from `INFO keyspace` (`db0:keys=3,expires=0,...`).
fn databases(server: &Server) -> Vec<u32> {
    server.info("keyspace").lines().filter_map(|l| l.strip_prefix("db")?.split(':').next()?.parse().ok()).collect()
}

/// `KEYS *`: fixtures are small, and `KEYS` exists on every version.
fn all_keys(server: &Server) -> Vec<Vec<u8>> {
    match server.cmd_str(&["KEYS", "*"]) {
        Reply::Array(items) => items.into_iter().map(|r| r.as_bytes().expect("key").to_vec()).collect(),
        other => panic!("KEYS answered {other:?}"),
    }
}

fn describe(server: &Server, key: &[u8]) -> String {
    let kind = server.cmd(&[b"TYPE", key]).as_str().expect("type").into_owned();
    let c = |args: &[&[u8]]| server.cmd(args);
    let value = match kind.as_str() {
        "string" => json(c(&[b"GET", key]).as_bytes().expect("string")),
        "list" => json_array(bulks(c(&[b"LRANGE", key, b"0", b"-1"])).iter().map(|b| json(b))),
        "set" => {
            let mut members = bulks(c(&[b"SMEMBERS", key]));
            members.sort();
            json_array(members.iter().map(|b| json(b)))
        }
        "zset" => pairs(bulks(c(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])), false),
        "hash" => pairs(bulks(c(&[b"HGETALL", key])), true),
        "stream" => match c(&[b"XRANGE", key, b"-", b"+"]) {
            Reply::Array(entries) => json_array(entries.into_iter().map(|e| match e {
                Reply::Array(mut parts) if parts.len() == 2 => {
                    let fields = bulks(parts.pop().expect("fields"));
                    let id = parts.pop().expect("id");
                    format!("[{},{}]", json(id.as_bytes().expect("id")), json_array(fields.iter().map(|b| json(b))))
                }
                other => panic!("XRANGE entry {other:?}"),
            })),
            other => panic!("XRANGE answered {other:?}"),
        },
        other => format!("\"unsupported type {other}\""),
    };
    let ttl = match c(&[b"PTTL", key]).as_int() {
        Some(-1) => "-1",
        _ => "expires",
    };
    format!("{kind}\t{}\t{value}\t{ttl}", json(key))
}

fn bulks(reply: Reply) -> Vec<Vec<u8>> {
    match reply {
        Reply::Array(items) => items.into_iter().map(|r| r.as_bytes().expect("bulk").to_vec()).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// `[a, b]` pairs from a flat reply, optionally sorted by the first element.
fn pairs(flat: Vec<Vec<u8>>, sort: bool) -> String {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    if sort {
        pairs.sort();
    }
    json_array(pairs.iter().map(|(a, b)| format!("[{},{}]", json(a), json(b))))
}

fn json_array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

/// A JSON string whose code points are the bytes (U+0000..U+00FF).
fn json(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\u{b:04x}")),
        }
    }
    out.push('"');
    out
}
