//! Feeds a synthetic replication stream through the state machine and the JSON writer, into a
//! sink that discards: the CPU cost of `redtail follow --format json` per command without the
//! sockets, deterministic, so that callgrind's instruction counts compare one change with the
//! next on a noisy machine (bench/README.md, "Follow benchmark").
//!
//! usage: cargo run --release -p redtail-replica --example stream_json -- [--workload set|mix]
//!        [--commands N] [--chunk BYTES] [--out FILE]
//!
//! The stream is what a Redis 7.0 master propagates for `redis-benchmark -r 1000000 -d 64`
//! (`SELECT 0`, then SET, or SET/LPUSH/HSET/ZADD/SADD/INCR in turn, with random 12-digit key
//! suffixes from a fixed seed); it is handed over `--chunk` bytes at a time (default 16 KiB,
//! about what one socket read returns under load), with a flush of the output after each, as the
//! driver does after every read. `--out` also writes the JSON lines to a file, to check that a
//! change leaves the output byte for byte the same (compare checksums before and after).
//!
//! Prints one line: `commands=.. bytes=.. out_bytes=.. secs=.. ns_per_command=..`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use event::{CommandEvent, JsonWriter, LiveEvent, LiveSink};
use replica::{Checkpoint, CommandKind, Config, Output, ReplId, Replica, Start};

const REPLID: &str = "8e0b6e6a9b0c1d2e3f405162738495a6b7c8d9c1";

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut workload, mut commands, mut chunk) = ("mix".to_string(), 1_000_000u64, 16usize << 10);
    let mut copy = None;
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--workload" => workload = value(),
            "--commands" => commands = value().parse().unwrap_or_else(|_| usage()),
            "--chunk" => chunk = value().parse().unwrap_or_else(|_| usage()),
            "--out" => copy = Some(std::fs::File::create(value()).expect("the --out file can be created")),
            _ => usage(),
        }
    }
    let mix = match workload.as_str() {
        "set" => false,
        "mix" => true,
        _ => usage(),
    };
    let stream = synthesize(mix, commands);

    let now = Instant::now();
    let mut r = handshake(now);
    let start = Instant::now();
    let (seen, out_bytes) = follow(&mut r, &stream, chunk, now, Counting(0, copy));
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(seen, commands, "every command came out");
    println!(
        "commands={seen} bytes={} out_bytes={out_bytes} secs={secs:.3} ns_per_command={:.0}",
        stream.len(),
        secs * 1e9 / seen as f64
    );
}

/// The measured part (callgrind: `--toggle-collect='*follow*'`): what the driver and the
/// handler of `redtail follow` do with each read. Returns the data commands seen and the bytes
/// of output.
#[inline(never)]
fn follow(r: &mut Replica, stream: &[u8], chunk: usize, now: Instant, sink: Counting) -> (u64, u64) {
    let mut out = JsonWriter::new(sink);
    let mut seen = 0u64;
    for piece in stream.chunks(chunk.max(1)) {
        r.receive(piece, now);
        let mut last = None;
        while let Some(o) = r.poll_output(now).expect("a valid stream") {
            if let Output::Command(c) = o {
                last = Some(c.end_offset);
                if c.kind == CommandKind::Data {
                    seen += 1;
                    let ev = LiveEvent::Command(CommandEvent {
                        db: c.db,
                        args: &c.args,
                        replid: c.replid.as_str(),
                        start_offset: c.start_offset,
                        end_offset: c.end_offset,
                        tx: c.tx.map(|t| t.0),
                    });
                    out.live(&ev).expect("a sink that discards");
                }
            }
        }
        LiveSink::<bytes::Bytes>::flush(&mut out).expect("a sink that discards");
        if let Some(end) = last {
            r.ack_delivered(end);
        }
    }
    (seen, out.get_ref().0)
}

/// A replica past its handshake, resumed with `+CONTINUE` at offset 0 in db 0.
fn handshake(now: Instant) -> Replica {
    let replid: ReplId = REPLID.parse().expect("a valid replid");
    let config = Config {
        start: Start::Resume(Checkpoint { replid, offset: 0, db: Some(0) }),
        // No timer-driven ACKs: the clock does not move here.
        ack_busy_interval: Duration::from_secs(3600),
        ack_idle_interval: Duration::from_secs(3600),
        ..Config::default()
    };
    let mut r = Replica::new(config, now);
    let sent = |r: &mut Replica| {
        let mut bytes = Vec::new();
        while let Some(o) = r.poll_output(now).expect("a valid handshake") {
            if let Output::Transmit(t) = o {
                bytes.extend_from_slice(&t.0);
            }
        }
        bytes
    };
    sent(&mut r); // PING
    r.receive(b"+PONG\r\n", now);
    let pipeline = sent(&mut r); // the REPLCONFs, one `+OK` each
    r.receive(&b"+OK\r\n".repeat(pipeline.windows(8).filter(|w| w == b"REPLCONF").count()), now);
    assert!(sent(&mut r).windows(5).any(|w| w == b"PSYNC"), "PSYNC after the REPLCONFs");
    r.receive(b"+CONTINUE\r\n", now);
    sent(&mut r);
    assert_eq!(r.phase(), replica::Phase::Stream, "the handshake ended in the stream");
    r
}

/// The master's stream for `commands` writes: `SELECT 0`, then the commands.
fn synthesize(mix: bool, commands: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(commands as usize * 110);
    push(&mut out, &[b"SELECT", b"0"]);
    let value = [b'x'; 64];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = || {
        // xorshift64: fixed, fast, and good enough for key suffixes.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        format!("{:012}", seed % 1_000_000)
    };
    for i in 0..commands {
        let r = rand();
        match if mix { i % 6 } else { 0 } {
            0 => push(&mut out, &[b"SET", format!("key:{r}").as_bytes(), &value]),
            1 => push(&mut out, &[b"LPUSH", format!("mylist:{r}").as_bytes(), &value]),
            2 => {
                push(&mut out, &[b"HSET", format!("myhash:{r}").as_bytes(), format!("element:{r}").as_bytes(), &value])
            }
            3 => push(&mut out, &[b"ZADD", format!("myzset:{r}").as_bytes(), b"0", format!("element:{r}").as_bytes()]),
            4 => push(&mut out, &[b"SADD", format!("myset:{r}").as_bytes(), format!("element:{r}").as_bytes()]),
            _ => push(&mut out, &[b"INCR", format!("counter:{r}").as_bytes()]),
        }
    }
    out
}

fn push(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(&resp::encode_command(args));
}

/// Counts what it is given, and keeps it only in the `--out` file.
struct Counting(u64, Option<std::fs::File>);

impl Write for Counting {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        if let Some(f) = &mut self.1 {
            f.write_all(b)?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn usage() -> ! {
    eprintln!("usage: stream_json [--workload set|mix] [--commands N] [--chunk BYTES] [--out FILE]");
    std::process::exit(2)
}
