//! Decodes an RDB file with the library alone and counts what it saw: no formatting, no output
//! per key. It gives the decoder's own speed (the floor under every `redtail rdb` format) and is
//! the target to profile.
//!
//! usage: cargo run --release -p redtail-rdb --example decode -- [--max-bytes N] [--no-verify] [--raw-values N] FILE
//!
//! `--max-bytes N` stops after about N bytes of input (whole events only), so a profiler can run
//! over a slice of a large file; the totals then cover that slice and the checksum is not checked.
//! `--raw-values N` turns on raw value capture (`Options::raw_values_up_to`, as a migration with
//! RESTORE uses it) and counts the captured values and bytes.
//!
//! Prints one line: `keys=.. items=.. elements=.. bytes=.. secs=.. mb_per_s=..`, where `elements`
//! counts list/set members, zset entries, hash fields and stream entries (one per entry).

use std::fs::File;
use std::io::Read;
use std::time::Instant;

use rdb::{Event, Item, Options, Parser, Poll, Str};

#[derive(Default)]
struct Counts {
    keys: u64,
    items: u64,
    elements: u64,
    /// Bytes of key and value strings seen, so that every string is touched once.
    str_bytes: u64,
    raw_values: u64,
    raw_bytes: u64,
}

fn str_len(s: &Str<'_>) -> u64 {
    match s {
        Str::Bytes(b) => b.len() as u64,
        Str::Int(i) => *i as u64 & 7,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut max_bytes = u64::MAX;
    let mut verify = true;
    let mut raw_values_up_to = 0;
    let mut path = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--max-bytes" => {
                max_bytes = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage());
                verify = false;
            }
            "--no-verify" => verify = false,
            "--raw-values" => raw_values_up_to = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "-h" | "--help" => usage(),
            _ if path.is_none() => path = Some(a),
            _ => usage(),
        }
    }
    let path = path.unwrap_or_else(|| usage());
    let mut file = File::open(&path).unwrap_or_else(|e| die(&format!("{path}: {e}")));
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);

    let start = Instant::now();
    let mut parser = Parser::new(Options { verify_checksum: verify, raw_values_up_to, ..Options::default() });
    parser.set_total_len(total);
    let mut c = Counts::default();
    let mut truncated = false;
    loop {
        match parser.poll() {
            Ok(Poll::Event) => {}
            Ok(Poll::NeedMore) => {
                let n = read(&mut parser, &mut file, &path);
                if n == 0 {
                    if let Err(e) = parser.finish() {
                        die(&format!("{path}: {e}"));
                    }
                    break;
                }
                continue;
            }
            Ok(Poll::Done) => break,
            Err(e) => die(&format!("{path}: {e}")),
        }
        count(&mut c, &parser.event());
        if parser.offset() >= max_bytes {
            truncated = true;
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = if truncated { parser.offset() } else { total };
    let raw = if raw_values_up_to > 0 {
        format!(" raw_values={} raw_bytes={}", c.raw_values, c.raw_bytes)
    } else {
        String::new()
    };
    println!(
        "keys={} items={} elements={} str_bytes={}{raw} bytes={} secs={:.3} mb_per_s={:.0}{}",
        c.keys,
        c.items,
        c.elements,
        c.str_bytes,
        bytes,
        secs,
        bytes as f64 / 1e6 / secs,
        if truncated { " (slice)" } else { "" }
    );
}

fn read(parser: &mut Parser, file: &mut File, path: &str) -> usize {
    parser.read_from(file as &mut dyn Read).unwrap_or_else(|e| die(&format!("{path}: {e}")))
}

fn count(c: &mut Counts, ev: &Event<'_>) {
    match ev {
        Event::Key(k) => {
            c.keys += 1;
            c.str_bytes += str_len(&k.key);
        }
        Event::Item(item) => {
            c.items += 1;
            match item {
                Item::String(s) => c.str_bytes += str_len(s),
                Item::ListElement(s) | Item::SetMember(s) => {
                    c.elements += 1;
                    c.str_bytes += str_len(s);
                }
                Item::ZsetEntry { member, .. } => {
                    c.elements += 1;
                    c.str_bytes += str_len(member);
                }
                Item::HashField { field, value, .. } => {
                    c.elements += 1;
                    c.str_bytes += str_len(field) + str_len(value);
                }
                Item::StreamEntry { fields, .. } => {
                    c.elements += 1;
                    for (f, v) in fields.clone() {
                        c.str_bytes += str_len(&f) + str_len(&v);
                    }
                }
                _ => {}
            }
        }
        Event::RawValue(raw) => {
            c.raw_values += 1;
            c.raw_bytes += raw.len() as u64;
        }
        _ => {}
    }
}

fn usage() -> ! {
    eprintln!("usage: decode [--max-bytes N] [--no-verify] [--raw-values N] FILE");
    std::process::exit(2);
}

fn die(msg: &str) -> ! {
    eprintln!("decode: {msg}");
    std::process::exit(1);
}
