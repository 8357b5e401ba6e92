//! The reference consumer of the follow benchmark: a replica built on the `redis-event` crate
//! (1.2.1) that writes every replicated command as one JSON line on stdout, shaped like
//! redtail's `command` events (docs/events.md) so that both do comparable work:
//!
//! ```text
//! {"event":"command","db":0,"command":"set","keys":["key:1"],"args":["key:1","xxx"]}
//! ```
//!
//! What it leaves out, because the crate does not give it: offsets and replid (the crate counts
//! the offset internally for its acks but does not pass it to the handler), and `tx` (MULTI/EXEC
//! are passed as bare markers). The commands of the benchmark's workloads (SET, INCR, LPUSH, SADD,
//! HSET, ZADD) and a few more are written from the crate's typed structs; any other command is
//! written with its Debug text under `"debug"`. Snapshot entries are only counted (the
//! benchmark attaches to an empty master): one `{"event":"snapshot","keys":N}` line at the end.
//!
//! Output: each line is written to stdout with one write call as soon as it is made, as
//! `println!` would (Rust's stdout is line-buffered): the lowest latency, at one system call per
//! command. (Measured alternatives cost more CPU, not less: a writer thread that batches lines
//! while busy needs a wake-up for nearly every line when the output is fast (/dev/null), and
//! batching until the socket has nothing more to read needs an ioctl per command; a timer flush
//! would add up to its period to the latency.)
//!
//! usage: redis-event-json [--discard] [HOST] [PORT]     (default 127.0.0.1 6379)
//!
//! `--discard` writes nothing for commands: what the crate itself costs (receiving, parsing into
//! its typed commands, offset bookkeeping, and a message to its ack thread per command).

use std::cell::RefCell;
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use redis_event::cmd::hashes::Field;
use redis_event::cmd::sorted_sets::Item;
use redis_event::cmd::strings::{ExistType, ExpireType};
use redis_event::cmd::Command;
use redis_event::config::Config;
use redis_event::listener;
use redis_event::rdb::Object;
use redis_event::{Event, EventHandler, RedisListener};

struct JsonLines {
    /// stdout (fd 1), written directly: std's stdout would buffer up to the newline, then write.
    out: ManuallyDrop<File>,
    line: Vec<u8>,
    db: i32,
    snapshot_keys: u64,
    /// `--discard`: the crate's own cost, without the JSON.
    discard: bool,
}

impl JsonLines {
    fn begin(&mut self, name: &str) {
        self.line.clear();
        self.line.extend_from_slice(b"{\"event\":\"command\",\"db\":");
        self.line.extend_from_slice(self.db.to_string().as_bytes());
        self.line.extend_from_slice(b",\"command\":\"");
        self.line.extend_from_slice(name.as_bytes());
        self.line.extend_from_slice(b"\",\"keys\":[");
    }

    /// `keys` then `args` (each key is also the first of the args, as redtail writes them).
    fn keys_args(&mut self, keys: &[&[u8]], args: &[&[u8]]) {
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            json_string(&mut self.line, k);
        }
        self.line.extend_from_slice(b"],\"args\":[");
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            json_string(&mut self.line, a);
        }
        self.line.extend_from_slice(b"]}\n");
    }

    fn command(&mut self, name: &str, keys: &[&[u8]], args: &[&[u8]]) {
        self.begin(name);
        self.keys_args(keys, args);
        self.emit();
    }

    fn line(&mut self, text: &str) {
        self.line.clear();
        self.line.extend_from_slice(text.as_bytes());
        self.line.push(b'\n');
        self.emit();
    }

    fn emit(&mut self) {
        if let Err(e) = self.out.write_all(&self.line) {
            if e.kind() == ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("redis-event-json: writing stdout: {e}");
            std::process::exit(3);
        }
    }
}

impl EventHandler for JsonLines {
    fn handle(&mut self, event: Event) {
        match event {
            Event::RDB(obj) => match obj {
                Object::BOR => {}
                Object::EOR => {
                    let text = format!("{{\"event\":\"snapshot\",\"keys\":{}}}", self.snapshot_keys);
                    self.line(&text);
                }
                _ => self.snapshot_keys += 1,
            },
            Event::AOF(_) if self.discard => {}
            Event::AOF(cmd) => self.aof(cmd),
        }
    }
}

impl JsonLines {
    fn aof(&mut self, cmd: Command) {
        match cmd {
            Command::SELECT(s) => self.db = s.db,
            Command::MULTI | Command::EXEC => {}
            Command::SET(c) => {
                let mut args: Vec<&[u8]> = vec![c.key, c.value];
                if let Some((t, v)) = &c.expire {
                    args.push(match t {
                        ExpireType::EX => b"EX",
                        ExpireType::PX => b"PX",
                    });
                    args.push(v.as_slice());
                }
                match c.exist_type {
                    Some(ExistType::NX) => args.push(b"NX"),
                    Some(ExistType::XX) => args.push(b"XX"),
                    None => {}
                }
                if c.keep_ttl == Some(true) {
                    args.push(b"KEEPTTL");
                }
                self.command("set", &[c.key], &args);
            }
            Command::INCR(c) => self.command("incr", &[c.key], &[c.key]),
            Command::LPUSH(c) => {
                let args: Vec<&[u8]> = std::iter::once(c.key).chain(c.elements.iter().copied()).collect();
                self.command("lpush", &[c.key], &args);
            }
            Command::RPUSH(c) => {
                let args: Vec<&[u8]> = std::iter::once(c.key).chain(c.elements.iter().copied()).collect();
                self.command("rpush", &[c.key], &args);
            }
            Command::SADD(c) => {
                let args: Vec<&[u8]> = std::iter::once(c.key).chain(c.members.iter().copied()).collect();
                self.command("sadd", &[c.key], &args);
            }
            Command::HSET(c) => {
                let mut args: Vec<&[u8]> = vec![c.key];
                for Field { name, value } in &c.fields {
                    args.push(name);
                    args.push(value);
                }
                self.command("hset", &[c.key], &args);
            }
            Command::ZADD(c) => {
                let mut args: Vec<&[u8]> = vec![c.key];
                match c.exist_type {
                    Some(ExistType::NX) => args.push(b"NX"),
                    Some(ExistType::XX) => args.push(b"XX"),
                    None => {}
                }
                if c.ch == Some(true) {
                    args.push(b"CH");
                }
                if c.incr == Some(true) {
                    args.push(b"INCR");
                }
                for Item { score, member } in &c.items {
                    args.push(score);
                    args.push(member);
                }
                self.command("zadd", &[c.key], &args);
            }
            Command::DEL(c) => {
                let keys: Vec<&[u8]> = c.keys.iter().map(|k| k.as_slice()).collect();
                self.command("del", &keys, &keys);
            }
            Command::Other(raw) => {
                // Unknown to the crate (REPLCONF GETACK, UNLINK on old versions, ...): the first
                // argument is taken as the key.
                if raw.name == "REPLCONF" {
                    return;
                }
                let name = raw.name.to_ascii_lowercase();
                let args: Vec<&[u8]> = raw.args.iter().map(|a| a.as_slice()).collect();
                let keys = &args[..args.len().min(1)];
                self.command(&name, keys, &args);
            }
            other => {
                let debug = format!("{:?}", other);
                let name = debug.split('(').next().unwrap_or("").to_ascii_lowercase();
                self.begin(&name);
                self.line.truncate(self.line.len() - b",\"keys\":[".len());
                self.line.extend_from_slice(b",\"debug\":");
                json_string(&mut self.line, debug.as_bytes());
                self.line.extend_from_slice(b"}\n");
                self.emit();
            }
        }
    }
}

/// A Redis string as a JSON string, or as `{"base64":"..."}` when it is not UTF-8 (the same rule
/// as redtail's event contract).
fn json_string(out: &mut Vec<u8>, s: &[u8]) {
    match std::str::from_utf8(s) {
        Ok(text) => {
            out.push(b'"');
            for &b in text.as_bytes() {
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    0..=0x1f => {
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        out.extend_from_slice(b"\\u00");
                        out.push(HEX[(b >> 4) as usize]);
                        out.push(HEX[(b & 15) as usize]);
                    }
                    _ => out.push(b),
                }
            }
            out.push(b'"');
        }
        Err(_) => {
            out.extend_from_slice(b"{\"base64\":\"");
            base64(out, s);
            out.extend_from_slice(b"\"}");
        }
    }
}

fn base64(out: &mut Vec<u8>, s: &[u8]) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in s.chunks(3) {
        let n = chunk.len();
        let v =
            (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        out.push(A[(v >> 18) as usize & 63]);
        out.push(A[(v >> 12) as usize & 63]);
        out.push(if n > 1 { A[(v >> 6) as usize & 63] } else { b'=' });
        out.push(if n > 2 { A[v as usize & 63] } else { b'=' });
    }
}

fn main() -> std::io::Result<()> {
    let mut argv = std::env::args().skip(1).peekable();
    let discard = argv.peek().map(|a| a == "--discard").unwrap_or(false);
    if discard {
        argv.next();
    }
    let host = argv.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port: u16 = match argv.next() {
        None => 6379,
        Some(p) => p.parse().unwrap_or_else(|_| {
            eprintln!("usage: redis-event-json [--discard] [HOST] [PORT]");
            std::process::exit(2)
        }),
    };

    let handler = JsonLines {
        out: ManuallyDrop::new(unsafe { File::from_raw_fd(1) }),
        line: Vec::with_capacity(256),
        db: 0,
        snapshot_keys: 0,
        discard,
    };

    let conf = Config {
        is_discard_rdb: false,
        is_aof: true,
        host,
        port,
        username: String::new(),
        password: String::new(),
        repl_id: String::from("?"),
        repl_offset: -1,
        read_timeout: None,
        write_timeout: None,
        is_tls_enabled: false,
        is_tls_insecure: false,
        identity: None,
        identity_passwd: None,
    };
    let mut builder = listener::Builder::new();
    builder.with_config(conf);
    builder.with_control_flag(Arc::new(AtomicBool::new(true)));
    builder.with_event_handler(Rc::new(RefCell::new(handler)));
    let mut l = builder.build();
    l.start()
}
