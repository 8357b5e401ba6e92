//! Rendering and feeding helpers for decoder tests; the bytes come from `testkit::rdb_writer`,
//! which is written from the format description rather than from the decoder.

#![allow(dead_code)]

use rdb::{Event, Item, Options, Parser, Poll, Str};
pub use testkit::rdb_writer::*;

fn show(s: &Str<'_>) -> String {
    match s {
        Str::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Str::Int(i) => i.to_string(),
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A compact, owned rendering of an event, for comparisons.
pub fn render(ev: &Event<'_>) -> String {
    match ev {
        Event::Begin(f) => format!("begin {f}"),
        Event::Aux { key, value } => format!("aux {}={}", show(key), show(value)),
        Event::SelectDb(db) => format!("select {db}"),
        Event::ResizeDb { db_size, expires_size } => format!("resize {db_size} {expires_size}"),
        Event::SlotInfo { slot, size, expires_size } => format!("slotinfo {slot} {size} {expires_size}"),
        Event::SlotImport { job, ranges } => format!("slotimport {} {ranges:?}", show(job)),
        Event::ModuleAux { name, encver, when, raw } => format!("moduleaux {name} {encver} {when} {}", raw.len()),
        Event::Function { code } => format!("function {}", show(code)),
        Event::FunctionPreGa { name, code, .. } => format!("function-pre-ga {} {}", show(name), show(code)),
        Event::Key(k) => format!(
            "key db={} {} {} {} exp={:?} len={:?}",
            k.db,
            show(&k.key),
            k.value_type.as_str(),
            k.encoding.as_str(),
            k.expire_at_ms,
            k.len_hint
        ),
        Event::Item(item) => match item {
            Item::String(v) => format!("  string {}", show(v)),
            Item::ListElement(v) => format!("  list {}", show(v)),
            Item::SetMember(v) => format!("  set {}", show(v)),
            Item::ZsetEntry { member, score } => format!("  zset {} {score}", show(member)),
            Item::HashField { field, value, expire_at_ms } => {
                format!("  hash {}={} exp={expire_at_ms:?}", show(field), show(value))
            }
            Item::StreamEntry { id, fields } => {
                let f: Vec<String> = fields.clone().map(|(f, v)| format!("{}={}", show(&f), show(&v))).collect();
                format!("  entry {id} {}", f.join(","))
            }
            Item::StreamMeta(m) => format!(
                "  meta len={} last={} first={} maxdel={} added={} groups={}",
                m.length, m.last_id, m.first_id, m.max_deleted_id, m.entries_added, m.groups
            ),
            Item::StreamGroup { name, last_id, entries_read, pending } => {
                format!("  group {} last={last_id} read={entries_read:?} pel={pending}", show(name))
            }
            Item::StreamPending { id, delivery_time_ms, delivery_count } => {
                format!("  pel {id} {delivery_time_ms} {delivery_count}")
            }
            Item::StreamConsumer { name, seen_time_ms, active_time_ms, pending } => {
                format!("  consumer {} {seen_time_ms} {active_time_ms} pel={pending}", show(name))
            }
            Item::StreamConsumerPending { id } => format!("  cpel {id}"),
            Item::Module { name, encver, raw } => format!("  module {name} {encver} {}", raw.len()),
        },
        Event::RawValue(raw) => format!("raw {}", hex(raw)),
        Event::KeyEnd { .. } => "end-key".into(),
        Event::End { checksum } => format!("end {checksum:?}"),
    }
}

/// Feeds `bytes` to a parser `chunk` bytes at a time, calling `each` at every event (which it
/// reads with `Parser::event`).
fn drive(
    bytes: &[u8],
    chunk: usize,
    opts: Options,
    known_len: bool,
    mut each: impl FnMut(&mut Parser),
) -> Result<(), rdb::Error> {
    let mut p = Parser::new(opts);
    if known_len {
        p.set_total_len(bytes.len() as u64);
    }
    let mut fed = 0;
    loop {
        match p.poll()? {
            Poll::Event => each(&mut p),
            Poll::Done => return Ok(()),
            Poll::NeedMore => {
                if fed == bytes.len() {
                    return p.finish();
                }
                let n = chunk.min(bytes.len() - fed);
                p.feed(&bytes[fed..fed + n]);
                fed += n;
            }
        }
    }
}

/// Decodes `bytes` feeding `chunk` bytes at a time, returning rendered events or the error.
pub fn decode_chunked(bytes: &[u8], chunk: usize, opts: Options, known_len: bool) -> Result<Vec<String>, rdb::Error> {
    let mut out = Vec::new();
    drive(bytes, chunk, opts, known_len, |p| out.push(render(&p.event())))?;
    Ok(out)
}

/// Decodes `bytes` fed `chunk` bytes at a time into events rendered with the parser's offset
/// after each; with `batched`, takes every batch [`Parser::ready_items`] offers, giving each of
/// its items the offset the batch reports for it.
pub fn decode_with_offsets(bytes: &[u8], chunk: usize, batched: bool) -> Result<Vec<String>, rdb::Error> {
    let mut out = Vec::new();
    drive(bytes, chunk, Options::default(), true, |p| {
        let ev = p.event();
        let mut line = render(&ev);
        if let Event::KeyEnd { elements } = ev {
            line += &format!(" elements={elements}");
        }
        out.push(format!("{line} @{}", p.offset()));
        if !batched {
            return;
        }
        if let Some(mut items) = p.ready_items() {
            while let Some((item, offset)) = items.next_with_offset() {
                out.push(format!("{} @{offset}", render(&Event::Item(item))));
            }
        }
    })?;
    Ok(out)
}

/// Decodes whole, and also byte by byte, and checks both agree (events, or error offset); then
/// checks that taking items in batches (whole, and fed in 7-byte pieces so that runs of plain
/// elements stop at a cut) gives the same events at the same offsets, or the same error.
pub fn decode(bytes: &[u8]) -> Result<Vec<String>, rdb::Error> {
    let whole = decode_chunked(bytes, usize::MAX, Options::default(), true);
    let trickle = decode_chunked(bytes, 1, Options::default(), true);
    match (&whole, &trickle) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "byte-by-byte feeding changed the events"),
        (Err(a), Err(b)) => assert_eq!(a.offset, b.offset, "byte-by-byte feeding moved the error: {a} vs {b}"),
        _ => panic!("whole: {whole:?}\ntrickle: {trickle:?}"),
    }
    for chunk in [usize::MAX, 7] {
        let one_by_one = decode_with_offsets(bytes, chunk, false);
        let batched = decode_with_offsets(bytes, chunk, true);
        match (&one_by_one, &batched) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "batches changed the events (chunk {chunk})"),
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string(), "batches changed the error (chunk {chunk})")
            }
            _ => panic!("one by one: {one_by_one:?}\nbatched: {batched:?}"),
        }
    }
    whole
}
